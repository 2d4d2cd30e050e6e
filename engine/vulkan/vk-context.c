/* vulkan/vk-context.c — the Vulkan context: instance, device choice, compute
 * queue, buffers, one recording command buffer, pipelines from the embedded
 * SPIR-V with specialization constants, descriptor sets and the on-disk
 * pipeline cache. See vk.h. Ops are in vk-ops.c.
 */
#include "vulkan/vk-internal.h"

#include "types.h"
#include "util.h"

#include <ctype.h>
#include <pthread.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *result_words(VkResult r)
{
  switch (r) {
  case VK_ERROR_OUT_OF_HOST_MEMORY: return "out of memory";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
  case VK_ERROR_INITIALIZATION_FAILED: return "the driver failed to start";
  case VK_ERROR_DEVICE_LOST: return "the device was lost (driver reset or crash)";
  case VK_ERROR_INCOMPATIBLE_DRIVER: return "no compatible Vulkan driver";
  case VK_ERROR_EXTENSION_NOT_PRESENT: return "a Vulkan extension is missing";
  case VK_ERROR_FEATURE_NOT_PRESENT: return "a Vulkan feature is missing";
  case VK_ERROR_TOO_MANY_OBJECTS: return "too many Vulkan objects";
  case VK_ERROR_OUT_OF_POOL_MEMORY: return "out of descriptor pool memory";
  default: return "Vulkan driver error";
  }
}

still_status still_vk_fail(still_error *err, VkResult r, const char *what)
{
  still_status st = (r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY) ? STILL_ERR_NOMEM
                                                                                         : STILL_ERR_BACKEND;
  return still_set_error(err, st, "Vulkan: %s failed: %s (VkResult %d)", what, result_words(r), (int)r);
}

/* ---- device choice ------------------------------------------------------ */

static int type_rank(VkPhysicalDeviceType t)
{
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
  case VK_PHYSICAL_DEVICE_TYPE_OTHER: return 1;
  default: return 0; /* CPU (lavapipe): only when nothing else */
  }
}

static bool name_matches(const char *want, const char *name)
{
  /* case-insensitive substring */
  size_t n = strlen(want), m = strlen(name);
  for (size_t i = 0; i + n <= m; i++) {
    size_t k = 0;
    while (k < n && tolower((unsigned char)name[i + k]) == tolower((unsigned char)want[k])) k++;
    if (k == n) return true;
  }
  return false;
}

static bool parse_index(const char *s, int *out)
{
  if (strncasecmp(s, "vulkan", 6) == 0) s += 6;
  if (!*s) return false;
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < 0 || v > 1000) return false;
  *out = (int)v;
  return true;
}

/* "uuid:" and the 32 hex digits of a deviceUUID (still_gpu_selector; dashes and nvidia-smi's
 * "GPU-" are allowed). Returns 1 for a UUID, 0 when s is no "uuid:", -1 when it is malformed. */
static int parse_uuid(const char *s, uint8_t out[VK_UUID_SIZE])
{
  if (strncasecmp(s, "uuid:", 5) != 0) return 0;
  s += 5;
  if (strncasecmp(s, "GPU-", 4) == 0) s += 4;
  int n = 0;
  for (; *s; s++) {
    if (*s == '-') continue;
    const int v = isdigit((unsigned char)*s) ? *s - '0'
                  : isxdigit((unsigned char)*s) ? tolower((unsigned char)*s) - 'a' + 10
                                                : -1;
    if (v < 0 || n >= 2 * (int)VK_UUID_SIZE) return -1;
    if (n % 2 == 0) out[n / 2] = (uint8_t)(v << 4);
    else out[n / 2] |= (uint8_t)v;
    n++;
  }
  return n == 2 * (int)VK_UUID_SIZE ? 1 : -1;
}

/* "; " and what the instance's making found of NVIDIA's driver (still_vk_driver_note), for the
 * end of an error that no GPU is used; "" where it found nothing to say. */
static const char *driver_note(char *buf, size_t cap)
{
  char note[400];
  still_vk_driver_note(note, sizeof note);
  snprintf(buf, cap, "%s%s", note[0] ? "; " : "", note);
  return buf;
}

/* A device's deviceUUID into out; false where it has none to give (Vulkan 1.0). */
static bool device_uuid(VkPhysicalDevice pd, uint8_t out[VK_UUID_SIZE])
{
  VkPhysicalDeviceIDProperties idp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &idp};
  vkGetPhysicalDeviceProperties2(pd, &p2);
  if (p2.properties.apiVersion < VK_API_VERSION_1_1) return false;
  memcpy(out, idp.deviceUUID, VK_UUID_SIZE);
  return true;
}

static still_status choose_device(still_vk *vk, const char *want, still_error *err)
{
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(vk->instance, &n, NULL);
  if (r != VK_SUCCESS) return still_vk_fail(err, r, "listing devices");
  char why[404];
  if (n == 0) return still_set_error(err, STILL_ERR_BACKEND, "Vulkan: no device found%s", driver_note(why, sizeof why));
  VkPhysicalDevice *pds = calloc(n, sizeof *pds);
  if (!pds) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  r = vkEnumeratePhysicalDevices(vk->instance, &n, pds);
  if (r < 0) {
    free(pds);
    return still_vk_fail(err, r, "listing devices");
  }
  int chosen = -1;
  if (want && *want) {
    int idx;
    uint8_t uuid[VK_UUID_SIZE];
    const int is_uuid = parse_uuid(want, uuid);
    if (is_uuid < 0) {
      free(pds);
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "Vulkan: \"%s\" is not a device UUID (uuid: and 32 hex digits, see `still devices --json`)",
                             want);
    }
    if (is_uuid) {
      for (uint32_t i = 0; i < n && chosen < 0; i++) {
        uint8_t have[VK_UUID_SIZE];
        if (device_uuid(pds[i], have) && memcmp(have, uuid, VK_UUID_SIZE) == 0) chosen = (int)i;
      }
    } else if (parse_index(want, &idx)) {
      if ((uint32_t)idx < n) chosen = idx;
    } else {
      /* of the devices whose name matches (`--device radeon` on a machine with an integrated
       * and a discrete Radeon), the first of the best kind, as without a name */
      int best_rank = -1;
      for (uint32_t i = 0; i < n; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(pds[i], &p);
        const int rank = type_rank(p.deviceType);
        if (name_matches(want, p.deviceName) && rank > best_rank) best_rank = rank, chosen = (int)i;
      }
    }
    if (chosen < 0) {
      free(pds);
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "Vulkan: no device \"%s\" (%u device%s; see `still devices`)", want, n,
                             n == 1 ? "" : "s");
    }
  } else {
    int best_rank = -1;
    for (uint32_t i = 0; i < n; i++) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(pds[i], &p);
      int rank = type_rank(p.deviceType);
      if (rank > best_rank) best_rank = rank, chosen = (int)i;
    }
    /* a CPU-emulated device only when it is the only one (listed more than once, by two
     * driver manifests, it is still one: the same deviceUUID) */
    bool several = false;
    if (best_rank == 0 && n > 1) {
      uint8_t first[VK_UUID_SIZE], other[VK_UUID_SIZE];
      several = !device_uuid(pds[0], first); /* (no UUID to tell) */
      for (uint32_t i = 1; i < n && !several; i++)
        several = !device_uuid(pds[i], other) || memcmp(first, other, VK_UUID_SIZE) != 0;
      if (!several) chosen = 0;
    }
    if (several) {
      free(pds);
      return still_set_error(err, STILL_ERR_BACKEND,
                             "Vulkan: only CPU-emulated devices found; name one with --device to use it%s",
                             driver_note(why, sizeof why));
    }
  }
  vk->physical = pds[chosen];
  vk->device_index = chosen;
  free(pds);
  return STILL_OK;
}

/* ---- pipeline cache on disk ------------------------------------------- */

/* $XDG_CACHE_HOME/distill/NAME, else ~/.cache/distill/NAME; false (buf
 * empty) when neither is set. */
bool still_vk_cache_file(const char *name, char *buf, size_t cap)
{
  buf[0] = '\0';
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  int n = -1;
  if (xdg && *xdg) n = snprintf(buf, cap, "%s/distill/%s", xdg, name);
  else if (home && *home) n = snprintf(buf, cap, "%s/.cache/distill/%s", home, name);
  if (n < 0 || (size_t)n >= cap) buf[0] = '\0';
  return buf[0] != '\0';
}

/* Writes a cache file whole: mkdir -p of its folder, then a temp name
 * renamed over it, so a crash or a process beside this one never leaves
 * half a file. */
bool still_vk_write_file_atomic(const char *path, const void *data, size_t len)
{
  char dir[1024];
  if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) return false;
  for (char *s = dir + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      mkdir(dir, 0755);
      *s = '/';
    }
  /* (the count: two threads of one process writing at once) */
  static atomic_uint seq;
  char tmp[1060];
  snprintf(tmp, sizeof tmp, "%s.tmp%d-%u", path, (int)getpid(), atomic_fetch_add(&seq, 1u));
  FILE *f = fopen(tmp, "wb");
  if (!f) return false;
  bool ok = fwrite(data, 1, len, f) == len;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    remove(tmp);
    return false;
  }
  return true;
}

/* One file per kind of device (vendor and device id): a split over two different GPUs keeps
 * both sets of pipelines (one shared file would hold the last closed device's only, and the
 * other would build its own again at every load). */
static void cache_path(still_vk *vk)
{
  char name[64];
  snprintf(name, sizeof name, "vk-pipeline-cache-%04x-%04x.bin", vk->props.vendorID, vk->props.deviceID);
  still_vk_cache_file(name, vk->cache_path, sizeof vk->cache_path);
}

/* The data is only given to the driver when its header names this device
 * and driver (a stale or foreign file is ignored, never trusted). */
static void *load_cache(still_vk *vk, size_t *len)
{
  *len = 0;
  if (!vk->cache_path[0]) return NULL;
  FILE *f = fopen(vk->cache_path, "rb");
  if (!f) return NULL;
  void *data = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long size = ftell(f);
    if (size >= 32 && size < (64L << 20) && fseek(f, 0, SEEK_SET) == 0) {
      data = malloc((size_t)size);
      if (data && fread(data, 1, (size_t)size, f) == (size_t)size) *len = (size_t)size;
    }
  }
  fclose(f);
  if (*len) {
    const uint8_t *b = data;
    uint32_t hdr_size, version, vendor, device;
    memcpy(&hdr_size, b, 4);
    memcpy(&version, b + 4, 4);
    memcpy(&vendor, b + 8, 4);
    memcpy(&device, b + 12, 4);
    if (hdr_size < 32 || hdr_size > *len || version != VK_PIPELINE_CACHE_HEADER_VERSION_ONE ||
        vendor != vk->props.vendorID || device != vk->props.deviceID ||
        memcmp(b + 16, vk->props.pipelineCacheUUID, VK_UUID_SIZE) != 0)
      *len = 0;
  }
  if (!*len) {
    free(data);
    return NULL;
  }
  return data;
}

static void save_cache(still_vk *vk)
{
  if (!vk->cache_path[0] || !vk->pipeline_cache || !vk->cache_dirty) return;
  size_t len = 0;
  if (vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &len, NULL) != VK_SUCCESS || len == 0) return;
  void *data = malloc(len);
  if (!data) return;
  if (vkGetPipelineCacheData(vk->device, vk->pipeline_cache, &len, data) == VK_SUCCESS &&
      still_vk_write_file_atomic(vk->cache_path, data, len)) {
    /* the one file of every device of earlier versions, before the files per kind of
     * device: nothing reads it any more */
    char old[sizeof vk->cache_path];
    const char *slash = strrchr(vk->cache_path, '/');
    const int dir_len = slash ? (int)(slash - vk->cache_path) : -1;
    if (dir_len >= 0 && snprintf(old, sizeof old, "%.*s/vk-pipeline-cache.bin", dir_len, vk->cache_path) < (int)sizeof old)
      remove(old);
  }
  free(data);
}

/* ---- cooperative matrix probe (tensor-core prefill, matmul_coop.comp) ---- */

/* The features matmul_coop.comp needs besides the extension, chained into
 * vkCreateDevice when coopmat is on. */
typedef struct {
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop;
  VkPhysicalDeviceShaderFloat16Int8Features f16;
  VkPhysicalDeviceVulkanMemoryModelFeatures vmm;
} coopmat_features;

static void coopmat_chain(coopmat_features *f)
{
  memset(f, 0, sizeof *f);
  f->coop.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV;
  f->f16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
  f->vmm.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES;
  f->coop.pNext = &f->f16;
  f->f16.pNext = &f->vmm;
}

/* Sets vk->coopmat when the device can run matmul_coop.comp: the extension,
 * its feature, a 16x16x16 float16 × float16 + float32 configuration at
 * subgroup scope (else 16x8x16: matmul_coop8.comp), float16 arithmetic, the
 * Vulkan memory model, subgroups of 32 (the shader's four subgroups of 128
 * threads) and 22.5 KiB of shared memory. Quiet: no match only means the
 * portable shaders. STILL_VK_COOPMAT=list prints the device's configurations
 * and the verdict on stderr (a diagnostic for GPU runs); =8 takes 16x8x16
 * even where 16x16x16 exists (to test matmul_coop8.comp). */
/* The workgroup (128 threads) and shared memory (22.5 KiB) of matmul_coop.comp, real or
 * emulated: NULL when the device has them. */
static const char *coopmat_limits(const still_vk *vk)
{
  if (vk->props.limits.maxComputeWorkGroupSize[0] < 128 || vk->props.limits.maxComputeWorkGroupInvocations < 128 ||
      vk->props.limits.maxComputeSharedMemorySize < 23 * 1024)
    return "workgroup or shared memory limits too small";
  return NULL;
}

static const char *coopmat_verdict(still_vk *vk, bool list, bool want8)
{
  if (vk->subgroup_size != 32) return "subgroup size is not 32";
  const char *limits = coopmat_limits(vk);
  if (limits) return limits;
  if (!still_vk_has_device_extension(vk->physical, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME))
    return "no " VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;

  coopmat_features f;
  coopmat_chain(&f);
  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f.coop};
  vkGetPhysicalDeviceFeatures2(vk->physical, &f2);
  if (!f.coop.cooperativeMatrix) return "cooperativeMatrix feature off";
  if (!f.f16.shaderFloat16) return "no shaderFloat16";
  if (!f.vmm.vulkanMemoryModel) return "no vulkanMemoryModel";
  VkPhysicalDeviceCooperativeMatrixPropertiesNV cp = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_PROPERTIES_NV};
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &cp};
  vkGetPhysicalDeviceProperties2(vk->physical, &p2);
  if (!(cp.cooperativeMatrixSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT)) return "not in compute shaders";

  bool n16, n8;
  still_vk_coopmat_shapes(vk->instance, vk->physical, list, &n16, &n8);
  if (!n16 && !n8) return "no 16x16x16 or 16x8x16 float16/float32 subgroup configuration";
  vk->coopmat = true;
  vk->coopmat_n = n16 && !(want8 && n8) ? 16 : 8;
  return vk->coopmat_n == 16 ? "on (16x16x16, matmul_coop.comp)" : "on (16x8x16, matmul_coop8.comp)";
}

/* The test hook STILL_VK_COOPMAT=emulate (16x16x16) or emulate8 (16x8x16):
 * the tensor-core shaders built with their matrix operations done by hand
 * (still_vk_coop_emulated, set only by the tests) on a device without
 * cooperative matrices, as lavapipe. They need float16 in shared memory and
 * the workgroup and shared memory of the real ones. */
static const char *coopmat_emulated_verdict(still_vk *vk, bool want8)
{
  if (!still_vk_coop_emulated) return "emulation asked, but this program has no emulated shaders (tests only)";
  const char *limits = coopmat_limits(vk);
  if (limits) return limits;
  coopmat_features f;
  coopmat_chain(&f);
  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f.f16};
  vkGetPhysicalDeviceFeatures2(vk->physical, &f2);
  if (!f.f16.shaderFloat16) return "no shaderFloat16";
  vk->coopmat = vk->coopmat_emulated = true;
  vk->coopmat_n = want8 ? 8 : 16;
  return want8 ? "emulated (16x8x16, matmul_coop8.comp)" : "emulated (16x16x16, matmul_coop.comp)";
}

static void probe_coopmat(still_vk *vk)
{
  vk->coopmat = vk->coopmat_emulated = false;
  const char *env = getenv("STILL_VK_COOPMAT");
  if (env && strcmp(env, "0") == 0) return;
  const bool list = env && strcmp(env, "list") == 0;
  const bool emulate = env && (strcmp(env, "emulate") == 0 || strcmp(env, "emulate8") == 0);
  const char *verdict = emulate ? coopmat_emulated_verdict(vk, strcmp(env, "emulate8") == 0)
                                : coopmat_verdict(vk, list, env && strcmp(env, "8") == 0);
  if (emulate && !vk->coopmat) fprintf(stderr, "still: STILL_VK_COOPMAT=%s: %s\n", env, verdict);
  /* tiles of 128 rows or 128 vectors (matmul_coop_m128/n128.comp, 31 KiB of
   * shared memory, 16x16x16 only): a tuning switch until measured */
  vk->coopmat_rows = vk->coopmat_vecs = 64;
  const char *tile = getenv("STILL_VK_COOPMAT_TILE");
  if (vk->coopmat && vk->coopmat_n == 16 && tile && vk->props.limits.maxComputeSharedMemorySize >= 31 * 1024) {
    if (strcmp(tile, "m128") == 0) vk->coopmat_rows = 128;
    else if (strcmp(tile, "n128") == 0) vk->coopmat_vecs = 128;
  }
  if (list)
    fprintf(stderr, "coopmat on %s: %s, tiles of %u rows x %u vectors\n", vk->props.deviceName, verdict,
            vk->coopmat_rows, vk->coopmat_vecs);
}

bool still_vk_has_coopmat(const still_vk *vk) { return vk && vk->coopmat; }

/* ---- open / close ----------------------------------------------------- */

static int32_t find_memory_type(const still_vk *vk, uint32_t bits, VkMemoryPropertyFlags want)
{
  for (uint32_t i = 0; i < vk->mem.memoryTypeCount; i++)
    if ((bits & (1u << i)) && (vk->mem.memoryTypes[i].propertyFlags & want) == want) return (int32_t)i;
  return -1;
}

/* An A/B switch of the environment set to this value. */
static bool env_is(const char *name, const char *value)
{
  const char *v = getenv(name);
  return v && strcmp(v, value) == 0;
}

/* A tuning switch of the environment that takes a small number: its value
 * when bit n of `allowed` says n is allowed; else 0, the default (unset or
 * "0"; any other value is named on stderr with `hint`). */
static uint32_t env_choice(const char *name, uint32_t allowed, const char *hint)
{
  const char *v = getenv(name);
  if (!v || !*v || strcmp(v, "0") == 0) return 0;
  char *end;
  const unsigned long n = strtoul(v, &end, 10);
  if (*end == '\0' && n < 32 && ((allowed >> n) & 1u)) return (uint32_t)n;
  fprintf(stderr, "still: %s=%s ignored (%s)\n", name, v, hint);
  return 0;
}

/* The largest workgroup a shader here may ask of the device: 1024 threads,
 * or fewer where its limits say so. */
static uint32_t wg_most(const still_vk *vk)
{
  uint32_t most = 1024;
  if (most > vk->props.limits.maxComputeWorkGroupSize[0]) most = vk->props.limits.maxComputeWorkGroupSize[0];
  if (most > vk->props.limits.maxComputeWorkGroupInvocations) most = vk->props.limits.maxComputeWorkGroupInvocations;
  return most;
}

/* A workgroup size of the environment: a power of two from lo to hi; 0
 * when unset or outside (the caller keeps its default). */
static uint32_t env_pow2(const char *name, uint32_t lo, uint32_t hi)
{
  const char *v = getenv(name);
  if (!v || !*v) return 0;
  const unsigned long w = strtoul(v, NULL, 10);
  return w >= lo && w <= hi && (w & (w - 1)) == 0 ? (uint32_t)w : 0;
}

/* STILL_VK_DOT_TYPES: a comma-separated list of q4_k, q6_k, q8_0, q5_k,
 * q4_0 (any case, spaces around names allowed), or all; the bits of
 * still_vk_dot_type_bit. A name it does not know is named on stderr and skipped; with no
 * known name at all the default stays (STILL_VK_DOT=0 turns the path off). */
static uint32_t dot_types_env(uint32_t def)
{
  const char *v = getenv("STILL_VK_DOT_TYPES");
  if (!v || !*v) return def;
  uint32_t bits = 0;
  bool any = false;
  while (*v) {
    while (*v == ' ') v++;
    size_t n = strcspn(v, ",");
    size_t m = n;
    while (m > 0 && v[m - 1] == ' ') m--;
    bool known = false;
    if (m == 3 && strncasecmp(v, "all", 3) == 0) bits = (1u << STILL_VK_DOT_BITS) - 1, known = true;
    for (int i = 0; i < STILL_VK_DOT_BITS && !known; i++) {
      const char *name = still_type_name(still_vk_dot_bit_type(i));
      if (m == strlen(name) && strncasecmp(v, name, m) == 0) bits |= 1u << i, known = true;
    }
    if (!known && m > 0)
      fprintf(stderr, "still: STILL_VK_DOT_TYPES: \"%.*s\" ignored (q4_k, q5_k, q6_k, q8_0, q4_0 or all)\n", (int)m, v);
    any = any || known;
    v += n;
    if (*v == ',') v++;
  }
  if (!any) {
    fprintf(stderr, "still: STILL_VK_DOT_TYPES names no known type; the default types stay\n");
    return def;
  }
  return bits;
}

bool still_vk_fuse(const still_vk *vk) { return !vk->fuse_off; }

still_status still_vk_open(const still_vk_params *p, still_vk **out, still_error *err)
{
  *out = NULL;
  still_vk_params def = {0};
  if (!p) p = &def;
  still_vk *vk = calloc(1, sizeof *vk);
  if (!vk) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  /* STILL_VK_FORCE_STAGING=1: the staging path everywhere (tests of it
   * on lavapipe and integrated GPUs, whose memory is mapped) */
  const char *fs_env = getenv("STILL_VK_FORCE_STAGING");
  vk->force_staging = p->force_staging || (fs_env && *fs_env && strcmp(fs_env, "0") != 0);
  /* A/B switches: copies recorded into the compute submit, cached descriptor sets */
  vk->rec_copies = !env_is("STILL_VK_ONESUBMIT", "0");
  /* STILL_VK_NORM_WG: tuning override of the RMSNorm workgroup (a power of two, 32 to 1024) */
  vk->norm_wg = env_pow2("STILL_VK_NORM_WG", 32, 1024);
  vk->flush_ok = !env_is("STILL_VK_FLUSH", "0");
  vk->set_cache_on = !env_is("STILL_VK_SET_CACHE", "0");
  const char *lim = getenv("STILL_VK_MEMORY_LIMIT");
  if (lim && *lim) vk->mem_limit = strtoull(lim, NULL, 10);
  still_status st = STILL_OK;
  VkResult r;

  uint32_t inst_version = 0;
  r = still_vk_instance(&vk->instance, &inst_version);
  if (r != VK_SUCCESS) {
    vk->instance = VK_NULL_HANDLE;
    char why[404];
    st = still_set_error(err, STILL_ERR_BACKEND, "Vulkan: no usable driver (%s)%s", still_vk_instance_error_words(r),
                         driver_note(why, sizeof why));
    goto fail;
  }
  if (inst_version < VK_API_VERSION_1_2) {
    st = still_set_error(err, STILL_ERR_UNSUPPORTED,
                         "Vulkan: the Vulkan loader (libvulkan) is version 1.0; version 1.1 or newer is needed");
    goto fail;
  }
  if ((st = choose_device(vk, p->device, err)) != STILL_OK) goto fail;

  vkGetPhysicalDeviceProperties(vk->physical, &vk->props);
  vkGetPhysicalDeviceMemoryProperties(vk->physical, &vk->mem);
  if (vk->props.apiVersion < VK_API_VERSION_1_2) {
    st = still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: %s supports only Vulkan %u.%u (1.2 needed)",
                         vk->props.deviceName, VK_API_VERSION_MAJOR(vk->props.apiVersion),
                         VK_API_VERSION_MINOR(vk->props.apiVersion));
    goto fail;
  }
  VkPhysicalDeviceSubgroupProperties sg = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sg};
  vkGetPhysicalDeviceProperties2(vk->physical, &p2);
  const VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  if (!(sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) || (sg.supportedOperations & need) != need ||
      sg.subgroupSize < 4) {
    st = still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: %s lacks subgroup arithmetic in compute shaders",
                         vk->props.deviceName);
    goto fail;
  }
  vk->subgroup_size = sg.subgroupSize;
  /* 64 threads (128 on real GPUs: +5% decode on an H200 over 64 and 256),
   * at least one subgroup, at most what the device allows */
  vk->wg_size = vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? 64 : 128;
  if (vk->wg_size < vk->subgroup_size) vk->wg_size = vk->subgroup_size;
  /* tuning switches for comparisons on a real GPU (see DESIGN): the batch
   * from which prefill takes the tiled matmul, and the generic matvec */
  const char *mm_env = getenv("STILL_VK_MATMUL_MIN_VECS");
  vk->matmul_min_vecs = STILL_VK_MATMUL_MIN_VECS;
  if (mm_env && *mm_env && strtoul(mm_env, NULL, 10) > 0) vk->matmul_min_vecs = (uint32_t)strtoul(mm_env, NULL, 10);
  vk->concurrent_ok = !env_is("STILL_VK_CONCURRENT", "0");
  vk->matvec_generic = env_is("STILL_VK_MATVEC", "generic");
  vk->matvec_narrow = env_is("STILL_VK_MATVEC", "narrow");
  /* tuning of matvec_team.comp: passes loaded ahead (0: the shader's
   * default), rows per team (0: per type, record_team) */
  vk->matvec_ahead = env_choice("STILL_VK_MATVEC_AHEAD", 0x1e, "1 to 4");
  const uint32_t matvec_rows = env_choice("STILL_VK_MATVEC_ROWS", 0x16, "1, 2 or 4");
  vk->team_rows_wide = matvec_rows ? matvec_rows : 2;
  vk->team_rows_small = matvec_rows ? matvec_rows : 4;
  /* rows per team of matvec_dot.comp (specialization constant 3) */
  vk->dot_rows = env_choice("STILL_VK_DOT_ROWS", 0x16, "1, 2 or 4");
  if (!vk->dot_rows) vk->dot_rows = 4;
  /* the weight types that take matvec_dot.comp: Q4_K and Q5_K; STILL_VK_DOT_TYPES=q4_k,q6_k,
   * q8_0,q5_k,q4_0 (any of them) or all. On an H200, R1-Llama-8B tg128 in float / with it:
   * Q4_K_M 158 / 212, Q5_K_M 117.6 / 185.5, Q4_0 181 / 161, Q8_0 181 / 182, Q6_K 136 / 160.5 (one
   * team per row, record_dot). Q6_K stays off until measured inside the Q4_K_M and Q5_K_M mixes
   * (alone there it gained nothing with several teams per row); Q8_0 and Q4_0 gain nothing: their
   * float decode does less per byte, and each workgroup rounds the whole vector again. */
  vk->dot_types = dot_types_env(still_vk_dot_type_bit(STILL_TYPE_Q4_K) | still_vk_dot_type_bit(STILL_TYPE_Q5_K));
  /* rounding the vector once before the dot products (still_vk_dot_preround): off until measured
   * on a GPU (lavapipe says nothing of speed) */
  vk->dot_preround = env_choice("STILL_VK_DOT_PREROUND", 0x6, "0, 1 or 2");
  vk->attn_split_off = env_is("STILL_VK_ATTN_SPLIT", "0");
  vk->rope_store_off = env_is("STILL_VK_ROPE_STORE", "0");
  vk->attn_fold_off = env_is("STILL_VK_ATTN_FOLD", "0");
  vk->attn_merge_fold = env_is("STILL_VK_ATTN_FOLD", "2");
  vk->norm_fold = env_is("STILL_VK_NORM_FOLD", "1");
  const char *fault_env = getenv("STILL_VK_FAULT_SUBMIT");
  vk->fault_submit = fault_env && *fault_env ? (uint32_t)strtoul(fault_env, NULL, 10) : 0;
  vk->attn_tile_off = env_is("STILL_VK_ATTN_TILE", "0");
  vk->attn_coop = env_choice("STILL_VK_ATTN_COOP", 0x6, "0, 1 or 2");
  /* llvmpipe's limit, a little under it (vk-ops.c, loops_cut); STILL_VK_LOOP_BUDGET: a test hook */
  const char *lb_env = getenv("STILL_VK_LOOP_BUDGET");
  vk->loop_budget = lb_env && *lb_env ? (uint32_t)strtoul(lb_env, NULL, 10) : 60000u;
  vk->fuse_off = env_is("STILL_VK_FUSE", "0");
  const char *ms_env = getenv("STILL_VK_MATVEC_SUB");
  vk->matvec_sub = ms_env && *ms_env ? (uint32_t)strtoul(ms_env, NULL, 10) : 0;
  const char *mt_env = getenv("STILL_VK_MATMUL");
  vk->matmul_mode = !mt_env                         ? 0
                    : strcmp(mt_env, "generic") == 0 ? 1
                    : strcmp(mt_env, "team") == 0    ? 2
                    : strcmp(mt_env, "dot") == 0     ? 3
                    : strcmp(mt_env, "wide") == 0    ? 4
                                                     : 0;
  /* STILL_VK_WG_SIZE: tuning override (a power of two from the subgroup size to 1024) */
  const uint32_t wg_env = env_pow2("STILL_VK_WG_SIZE", vk->subgroup_size, 1024);
  if (wg_env) vk->wg_size = wg_env;
  if (vk->wg_size > vk->props.limits.maxComputeWorkGroupSize[0]) vk->wg_size = vk->props.limits.maxComputeWorkGroupSize[0];
  /* matvec_dot.comp's own workgroup (STILL_VK_DOT_WG, as STILL_VK_WG_SIZE): each workgroup rounds the
   * whole input vector, so fewer, larger workgroups round it fewer times */
  const uint32_t dot_wg_env = env_pow2("STILL_VK_DOT_WG", 32, wg_most(vk));
  vk->dot_wg = dot_wg_env ? dot_wg_env : vk->wg_size;

  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(vk->physical, &nq, NULL);
  VkQueueFamilyProperties qf[16];
  if (nq > 16) nq = 16;
  vkGetPhysicalDeviceQueueFamilyProperties(vk->physical, &nq, qf);
  int family = -1;
  /* prefer a compute queue without graphics (async compute), else any */
  for (uint32_t i = 0; i < nq && family < 0; i++)
    if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) family = (int)i;
  for (uint32_t i = 0; i < nq && family < 0; i++)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = (int)i;
  if (family < 0) {
    st = still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: %s has no compute queue", vk->props.deviceName);
    goto fail;
  }
  vk->queue_family = (uint32_t)family;

  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                 .queueFamilyIndex = vk->queue_family,
                                 .queueCount = 1,
                                 .pQueuePriorities = &prio};
  VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, .queueCreateInfoCount = 1,
                            .pQueueCreateInfos = &qci};
  /* optional extensions of the plain device: 8-bit integer dot products
   * (matvec_dot.comp) and, with STILL_VK_PIPELINE_STATS=1, the driver's
   * statistics of every pipeline (registers, spills, instructions: what the
   * driver reports) on stderr, a diagnostic for tuning shaders on a GPU */
  const char *base_ext[2];
  uint32_t n_base = 0;
  void *chain = NULL;
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dotf = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR pef = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR,
    .pipelineExecutableInfo = VK_TRUE};
  /* the integer dot path where the device runs 4x8-bit dot products in
   * hardware, and on NVIDIA GPUs from Turing on (those with
   * VK_NV_cooperative_matrix, all with dp4a: measured faster on an H200,
   * whatever the flag says); STILL_VK_DOT=1 also where they are emulated
   * (lavapipe: the tests), =0 nowhere */
  const bool dot_forced = env_is("STILL_VK_DOT", "1") ||
                          (vk->props.vendorID == 0x10de &&
                           still_vk_has_device_extension(vk->physical, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME));
  const uint8_t int8_dot = env_is("STILL_VK_DOT", "0") ? STILL_INT8_DOT_NONE : still_vk_int8_dot(vk->instance, vk->physical);
  if (int8_dot == STILL_INT8_DOT_HARDWARE || (int8_dot == STILL_INT8_DOT_EMULATED && dot_forced)) {
    vk->int_dot = true;
    dotf.shaderIntegerDotProduct = VK_TRUE;
    base_ext[n_base++] = VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME;
    chain = &dotf;
  }
  if (env_is("STILL_VK_PIPELINE_STATS", "1")) {
    if (still_vk_has_device_extension(vk->physical, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME)) {
      vk->pipe_stats = true;
      base_ext[n_base++] = VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME;
      pef.pNext = chain;
      chain = &pef;
    } else
      fprintf(stderr, "still: STILL_VK_PIPELINE_STATS: %s does not report pipeline statistics (no %s)\n",
              vk->props.deviceName, VK_KHR_PIPELINE_EXECUTABLE_PROPERTIES_EXTENSION_NAME);
  }
  dci.pNext = chain;
  dci.ppEnabledExtensionNames = n_base ? base_ext : NULL;
  dci.enabledExtensionCount = n_base;
  /* cooperative matrix (probe_coopmat): its extension and features, and
   * without them again if the driver refuses the device */
  probe_coopmat(vk);
  coopmat_features coop_f;
  coopmat_chain(&coop_f);
  const void *plain_next = dci.pNext;
  const char *const *plain_ext = dci.ppEnabledExtensionNames;
  const uint32_t plain_n_ext = dci.enabledExtensionCount;
  const char *coop_ext[8];
  if (vk->coopmat_emulated) { /* float16 in shared memory, without the extension */
    coop_f.f16.shaderFloat16 = VK_TRUE;
    coop_f.f16.pNext = (void *)plain_next;
    dci.pNext = &coop_f.f16;
  } else if (vk->coopmat && plain_n_ext < 8) {
    for (uint32_t i = 0; i < plain_n_ext; i++) coop_ext[i] = plain_ext[i];
    coop_ext[plain_n_ext] = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
    coop_f.coop.cooperativeMatrix = VK_TRUE;
    coop_f.f16.shaderFloat16 = VK_TRUE;
    coop_f.vmm.vulkanMemoryModel = VK_TRUE;
    coop_f.vmm.pNext = (void *)plain_next;
    dci.pNext = &coop_f.coop;
    dci.ppEnabledExtensionNames = coop_ext;
    dci.enabledExtensionCount = plain_n_ext + 1;
  } else vk->coopmat = false;
  r = vkCreateDevice(vk->physical, &dci, NULL, &vk->device);
  if (r != VK_SUCCESS && vk->coopmat) {
    vk->coopmat = vk->coopmat_emulated = false;
    dci.pNext = plain_next;
    dci.ppEnabledExtensionNames = plain_ext;
    dci.enabledExtensionCount = plain_n_ext;
    r = vkCreateDevice(vk->physical, &dci, NULL, &vk->device);
  }
  if (r != VK_SUCCESS && (vk->pipe_stats || vk->int_dot)) { /* last: a device without the optional parts */
    fprintf(stderr, "still: Vulkan: %s refused a device with %s%s%s; trying without them%s\n", vk->props.deviceName,
            vk->int_dot ? "integer dot products" : "", vk->int_dot && vk->pipe_stats ? " and " : "",
            vk->pipe_stats ? "pipeline statistics" : "", vk->coopmat ? " (and without tensor cores)" : "");
    vk->pipe_stats = vk->int_dot = vk->coopmat = vk->coopmat_emulated = false;
    dci.pNext = NULL;
    dci.ppEnabledExtensionNames = NULL;
    dci.enabledExtensionCount = 0;
    r = vkCreateDevice(vk->physical, &dci, NULL, &vk->device);
  }
  if (r != VK_SUCCESS) {
    vk->device = VK_NULL_HANDLE;
    st = still_vk_fail(err, r, "creating the device");
    goto fail;
  }
  vkGetDeviceQueue(vk->device, vk->queue_family, 0, &vk->queue);

  VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                 .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                 .queueFamilyIndex = vk->queue_family};
  if ((r = vkCreateCommandPool(vk->device, &cpi, NULL, &vk->cmd_pool)) != VK_SUCCESS) {
    st = still_vk_fail(err, r, "creating a command pool");
    goto fail;
  }
  VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                     .commandPool = vk->cmd_pool,
                                     .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                     .commandBufferCount = STILL_VK_CMD_BUFFERS};
  if ((r = vkAllocateCommandBuffers(vk->device, &cai, vk->cmds)) == VK_SUCCESS) vk->cmd = vk->cmds[0];
  if (r != VK_SUCCESS) {
    st = still_vk_fail(err, r, "allocating a command buffer");
    goto fail;
  }
  VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  if ((r = vkCreateFence(vk->device, &fci, NULL, &vk->fence)) != VK_SUCCESS) {
    st = still_vk_fail(err, r, "creating a fence");
    goto fail;
  }
  const char *prof = getenv("STILL_VK_PROFILE");
  vk->prof_shapes = env_is("STILL_VK_PROFILE", "shapes");
  if (prof && *prof && strcmp(prof, "0") != 0 && qf[family].timestampValidBits > 0 &&
      vk->props.limits.timestampPeriod > 0) {
    VkQueryPoolCreateInfo qpi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                 .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                 .queryCount = STILL_VK_MAX_SETS + 1};
    if (vkCreateQueryPool(vk->device, &qpi, NULL, &vk->ts_pool) != VK_SUCCESS) vk->ts_pool = VK_NULL_HANDLE;
    vk->ts_period_ns = vk->props.limits.timestampPeriod;
    vk->ts_mask = qf[family].timestampValidBits >= 64 ? UINT64_MAX : (1ull << qf[family].timestampValidBits) - 1;
  }

  /* every buffer is bound whole: none may be larger than one binding may see */
  vk->max_range = still_vk_max_range(&vk->props);
  /* one layout for every shader: 10 storage buffers (8 or 4 where the device
   * allows fewer; ops that need more are then not used) + 128 bytes of push
   * constants */
  const uint32_t most_bindings = vk->props.limits.maxPerStageDescriptorStorageBuffers <
                                     vk->props.limits.maxDescriptorSetStorageBuffers
                                   ? vk->props.limits.maxPerStageDescriptorStorageBuffers
                                   : vk->props.limits.maxDescriptorSetStorageBuffers;
  vk->n_bindings = most_bindings >= STILL_VK_BINDINGS ? STILL_VK_BINDINGS : most_bindings >= 8 ? 8 : 4;
  /* tests: such a device */
  if (env_is("STILL_VK_MAX_BINDINGS", "4")) vk->n_bindings = 4;
  if (env_is("STILL_VK_MAX_BINDINGS", "8") && vk->n_bindings > 8) vk->n_bindings = 8;
  VkDescriptorSetLayoutBinding binds[STILL_VK_BINDINGS];
  for (uint32_t i = 0; i < vk->n_bindings; i++)
    binds[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  VkDescriptorSetLayoutCreateInfo dli = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                         .bindingCount = vk->n_bindings,
                                         .pBindings = binds};
  if ((r = vkCreateDescriptorSetLayout(vk->device, &dli, NULL, &vk->set_layout)) != VK_SUCCESS) {
    st = still_vk_fail(err, r, "creating a descriptor set layout");
    goto fail;
  }
  VkPushConstantRange pcr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = STILL_VK_PUSH_MAX};
  VkPipelineLayoutCreateInfo pli = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                    .setLayoutCount = 1,
                                    .pSetLayouts = &vk->set_layout,
                                    .pushConstantRangeCount = 1,
                                    .pPushConstantRanges = &pcr};
  if ((r = vkCreatePipelineLayout(vk->device, &pli, NULL, &vk->pipe_layout)) != VK_SUCCESS) {
    st = still_vk_fail(err, r, "creating a pipeline layout");
    goto fail;
  }
  VkDescriptorPoolSize ps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                             .descriptorCount = STILL_VK_MAX_SETS * vk->n_bindings};
  VkDescriptorPoolCreateInfo dpi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                    .maxSets = STILL_VK_MAX_SETS,
                                    .poolSizeCount = 1,
                                    .pPoolSizes = &ps};
  if ((r = vkCreateDescriptorPool(vk->device, &dpi, NULL, &vk->desc_pool)) != VK_SUCCESS) {
    st = still_vk_fail(err, r, "creating a descriptor pool");
    goto fail;
  }
  if (vk->set_cache_on) {
    /* the cached sets: freed one by one when a buffer they name is freed */
    VkDescriptorPoolSize cps = {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                .descriptorCount = STILL_VK_CACHED_SETS * vk->n_bindings};
    VkDescriptorPoolCreateInfo cpi2 = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                       .flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT,
                                       .maxSets = STILL_VK_CACHED_SETS,
                                       .poolSizeCount = 1,
                                       .pPoolSizes = &cps};
    vk->set_table = calloc(STILL_VK_SET_SLOTS, sizeof *vk->set_table);
    if (!vk->set_table || vkCreateDescriptorPool(vk->device, &cpi2, NULL, &vk->cache_pool) != VK_SUCCESS) {
      /* work without the cache */
      free(vk->set_table);
      vk->set_table = NULL;
      vk->cache_pool = VK_NULL_HANDLE;
      vk->set_cache_on = false;
    }
  }

  if (!p->no_pipeline_cache) cache_path(vk);
  size_t cache_len = 0;
  void *cache_data = load_cache(vk, &cache_len);
  vk->cache_loaded = cache_len > 0;
  VkPipelineCacheCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
                                   .initialDataSize = cache_len,
                                   .pInitialData = cache_data};
  r = vkCreatePipelineCache(vk->device, &pci, NULL, &vk->pipeline_cache);
  if (r != VK_SUCCESS && cache_len) { /* the driver refused the data: start empty */
    pci.initialDataSize = 0;
    pci.pInitialData = NULL;
    vk->cache_loaded = false;
    r = vkCreatePipelineCache(vk->device, &pci, NULL, &vk->pipeline_cache);
  }
  free(cache_data);
  if (r != VK_SUCCESS) vk->pipeline_cache = VK_NULL_HANDLE; /* work without one */

  *out = vk;
  return STILL_OK;

fail:
  still_vk_close(vk);
  return st;
}

/* STILL_VK_PROFILE: GPU time per shader over the context's life, slowest first */
void still_vk_profile_reset(still_vk *vk)
{
  memset(vk->prof_ns, 0, sizeof vk->prof_ns);
  memset(vk->prof_calls, 0, sizeof vk->prof_calls);
  vk->prof_submits = vk->prof_gpu_ns = vk->prof_wall_ns = vk->prof_record_ns = vk->prof_idle_ns = 0;
  memset(vk->prof_shape, 0, sizeof vk->prof_shape);
  vk->n_prof_shapes = 0;
  vk->prof_shapes_dropped = 0;
}

static void print_profile(const still_vk *vk)
{
  if (vk->prof_submits == 0) return;
  unsigned long long ops = 0;
  for (int i = 0; i < VK_SHADER_COUNT; i++) ops += vk->prof_calls[i];
  fprintf(stderr, "vk profile (%s): %llu submits, %llu ops (%.1f per submit), GPU busy %.1f ms of %.1f ms submit-to-done\n",
          vk->props.deviceName, (unsigned long long)vk->prof_submits, ops, (double)ops / (double)vk->prof_submits,
          vk->prof_gpu_ns / 1e6, vk->prof_wall_ns / 1e6);
  fprintf(stderr,
          "  host recording %.1f us/submit, %.1f us of it before the GPU started; descriptor sets %llu cached uses, "
          "%llu written\n",
          vk->prof_record_ns / 1e3 / (double)vk->prof_submits, vk->prof_idle_ns / 1e3 / (double)vk->prof_submits,
          (unsigned long long)vk->set_hits, (unsigned long long)vk->set_misses);
  bool done[VK_SHADER_COUNT] = {false};
  for (;;) {
    int best = -1;
    for (int i = 0; i < VK_SHADER_COUNT; i++)
      if (!done[i] && vk->prof_calls[i] && (best < 0 || vk->prof_ns[i] > vk->prof_ns[best])) best = i;
    if (best < 0) break;
    done[best] = true;
    fprintf(stderr, "  %-18s %8llu calls %10.2f ms %9.2f us/call %5.1f%%\n", still_vk_shaders[best].name,
            (unsigned long long)vk->prof_calls[best], vk->prof_ns[best] / 1e6,
            vk->prof_ns[best] / 1e3 / (double)vk->prof_calls[best],
            vk->prof_gpu_ns ? 100.0 * (double)vk->prof_ns[best] / (double)vk->prof_gpu_ns : 0.0);
  }
  if (!vk->prof_shapes) return;
  fprintf(stderr, "  by shape (grid; push constants 0 and 1: columns and rows of a matrix op), slowest first:\n");
  if (vk->prof_shapes_dropped)
    fprintf(stderr, "    (%llu dispatches of shapes past the first %d are not in this table)\n",
            (unsigned long long)vk->prof_shapes_dropped, STILL_VK_PROF_SHAPES);
  bool shown[STILL_VK_PROF_SHAPES] = {false};
  for (uint32_t k = 0; k < 40 && k < vk->n_prof_shapes; k++) {
    int best = -1;
    /* entries of a submit that failed were never timed */
    for (uint32_t i = 0; i < vk->n_prof_shapes; i++)
      if (!shown[i] && vk->prof_shape[i].calls && (best < 0 || vk->prof_shape[i].ns > vk->prof_shape[best].ns))
        best = (int)i;
    if (best < 0) break;
    shown[best] = true;
    const still_vk_prof_shape *e = &vk->prof_shape[best];
    fprintf(stderr, "    %-22s %5ux%-5ux%-3u p %6u %6u %7llu calls %9.2f us/call %5.1f%%\n",
            still_vk_shaders[e->id].name, e->gx, e->gy, e->gz, e->p0, e->p1, (unsigned long long)e->calls,
            e->ns / 1e3 / (double)e->calls, vk->prof_gpu_ns ? 100.0 * (double)e->ns / (double)vk->prof_gpu_ns : 0.0);
  }
}

/* The profile's entry for this dispatch's shader and shape (-1: table
 * full). A linear search while recording: with =shapes, the host recording
 * time the profile prints includes it. */
static int16_t prof_shape_entry(still_vk *vk, uint32_t id, uint32_t gx, uint32_t gy, uint32_t gz, const void *push,
                                uint32_t push_size)
{
  uint32_t pw[2] = {0, 0};
  memcpy(pw, push, push_size < sizeof pw ? push_size : sizeof pw);
  for (uint32_t i = 0; i < vk->n_prof_shapes; i++) {
    const still_vk_prof_shape *e = &vk->prof_shape[i];
    if (e->id == id && e->gx == gx && e->gy == gy && e->gz == gz && e->p0 == pw[0] && e->p1 == pw[1])
      return (int16_t)i;
  }
  if (vk->n_prof_shapes == STILL_VK_PROF_SHAPES) {
    vk->prof_shapes_dropped++;
    return -1;
  }
  vk->prof_shape[vk->n_prof_shapes] = (still_vk_prof_shape){.id = id, .gx = gx, .gy = gy, .gz = gz,
                                                                     .p0 = pw[0], .p1 = pw[1]};
  return (int16_t)vk->n_prof_shapes++;
}

void still_vk_close(still_vk *vk)
{
  if (!vk) return;
  if (vk->device) {
    vkDeviceWaitIdle(vk->device);
    save_cache(vk);
    if (vk->ts_pool) {
      print_profile(vk);
      vkDestroyQueryPool(vk->device, vk->ts_pool, NULL);
    }
    for (int i = 0; i < VK_SHADER_COUNT; i++)
      for (int j = 0; j < STILL_VK_PIPE_VARIANTS; j++)
        if (vk->pipelines[i][j]) vkDestroyPipeline(vk->device, vk->pipelines[i][j], NULL);
    for (int i = 0; i < VK_SHADER_COUNT; i++)
      if (vk->modules[i]) vkDestroyShaderModule(vk->device, vk->modules[i], NULL);
    if (vk->pipeline_cache) vkDestroyPipelineCache(vk->device, vk->pipeline_cache, NULL);
    if (vk->desc_pool) vkDestroyDescriptorPool(vk->device, vk->desc_pool, NULL);
    if (vk->cache_pool) vkDestroyDescriptorPool(vk->device, vk->cache_pool, NULL);
    if (vk->pipe_layout) vkDestroyPipelineLayout(vk->device, vk->pipe_layout, NULL);
    if (vk->set_layout) vkDestroyDescriptorSetLayout(vk->device, vk->set_layout, NULL);
    if (vk->staging.handle) still_vk_buffer_free(vk, &vk->staging);
    if (vk->counts.handle) still_vk_buffer_free(vk, &vk->counts);
    if (vk->fence) vkDestroyFence(vk->device, vk->fence, NULL);
    if (vk->cmd_pool) vkDestroyCommandPool(vk->device, vk->cmd_pool, NULL);
    vkDestroyDevice(vk->device, NULL);
  }
  /* vk->instance is the process's shared one (still_vk_instance): kept */
  free(vk->set_table);
  free(vk);
}

uint64_t still_vk_max_buffer_bytes(const still_vk *vk) { return vk->max_range ? vk->max_range : UINT64_MAX; }

const char *still_vk_device_name(const still_vk *vk) { return vk->props.deviceName; }
int still_vk_device_index(const still_vk *vk) { return vk->device_index; }
bool still_vk_cpu_emulated(const still_vk *vk) { return vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU; }
uint32_t still_vk_subgroup_size(const still_vk *vk) { return vk->subgroup_size; }
const char *still_vk_pipeline_cache_path(const still_vk *vk) { return vk->cache_path; }
bool still_vk_pipeline_cache_loaded(const still_vk *vk) { return vk->cache_loaded; }

uint64_t still_vk_memory_usage(const still_vk *vk, uint64_t *peak)
{
  if (peak) *peak = vk ? vk->mem_peak : 0;
  return vk ? vk->mem_used : 0;
}

/* ---- buffers ------------------------------------------------------------ */

/* The memory types a buffer may take, in order (still_vk_buffer_new): n of flags and whether
 * the buffer is then mapped. Unified memory (integrated GPUs, lavapipe) is device-local and
 * host-visible: mapped and written directly; when it runs out, plain device-local memory, then
 * host memory the device reads (it is system memory there anyway). A discrete card's
 * host-visible device memory is the PCI BAR (often only 256 MiB without resizable BAR), so there
 * plain device-local memory comes first and copies go through the staging buffer, then the BAR;
 * never system memory: a layer read from it over PCIe runs slower than on the CPU, and the RAM
 * is the CPU layers' (its device memory full, the caller puts fewer layers there). Host buffers
 * (staging): host-visible memory. */
int still_vk_mem_candidates(const still_vk *vk, bool host, VkMemoryPropertyFlags flags[3], bool mapped[3])
{
  const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const VkMemoryPropertyFlags dl = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  const bool discrete = vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  int n = 0;
#define CAND(f, m) (flags[n] = (f), mapped[n] = (m), n++)
  if (host) CAND(hv, true);
  else {
    if (!vk->force_staging && !discrete) CAND(dl | hv, true);
    CAND(dl, false);
    if (!vk->force_staging && discrete) CAND(dl | hv, true);
    if (!discrete) CAND(hv, !vk->force_staging);
  }
#undef CAND
  return n;
}

/* The largest memory heap of the device, bytes. */
static uint64_t largest_heap(const still_vk *vk)
{
  uint64_t most = 0;
  for (uint32_t i = 0; i < vk->mem.memoryHeapCount; i++)
    if (vk->mem.memoryHeaps[i].size > most) most = vk->mem.memoryHeaps[i].size;
  return most;
}

static still_status buffer_alloc(still_vk *vk, size_t size, bool host, still_vk_buffer *out, still_error *err)
{
  memset(out, 0, sizeof *out);
  size = (size + 3) & ~(size_t)3;
  if (size == 0) size = 4;
  VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                            .size = size,
                            .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                     VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                            .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  VkBuffer buf;
  VkResult r = vkCreateBuffer(vk->device, &bci, NULL, &buf);
  if (r != VK_SUCCESS) return still_vk_fail(err, r, "creating a buffer");
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(vk->device, buf, &req);
  VkMemoryPropertyFlags cand_flags[3];
  bool cand_mapped[3];
  const int n_cand = still_vk_mem_candidates(vk, host, cand_flags, cand_mapped);
  int32_t type = -1;
  bool mapped = false;
  int ci = 0;
  for (; ci < n_cand && type < 0; ci++) {
    type = find_memory_type(vk, req.memoryTypeBits, cand_flags[ci]);
    mapped = cand_mapped[ci];
  }
  if (type < 0) {
    vkDestroyBuffer(vk->device, buf, NULL);
    return still_set_error(err, STILL_ERR_BACKEND, "Vulkan: no suitable memory type for a buffer");
  }
  if (!host && vk->mem_limit && vk->mem_used + req.size > vk->mem_limit) {
    vkDestroyBuffer(vk->device, buf, NULL);
    char sz[32];
    still_format_bytes((uint64_t)size, sz, sizeof sz);
    return still_set_error(err, STILL_ERR_NOMEM,
                           "Vulkan: out of device memory allocating %s on Vulkan%d (%s) (test limit)", sz,
                           vk->device_index, vk->props.deviceName);
  }
  if (!host && vk->max_range && size > vk->max_range) {
    vkDestroyBuffer(vk->device, buf, NULL);
    char sz[32], most[32];
    still_format_bytes((uint64_t)size, sz, sizeof sz);
    still_format_bytes(vk->max_range, most, sizeof most);
    /* (larger than any memory heap too: out of memory, as the fallback to fewer layers expects) */
    if (req.size > largest_heap(vk))
      return still_set_error(err, STILL_ERR_NOMEM, "Vulkan: out of device memory allocating %s on Vulkan%d (%s)", sz,
                             vk->device_index, vk->props.deviceName);
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "Vulkan: %s lets a shader see at most %s of a buffer, and this model needs one of %s "
                           "(a weight matrix, a layer's KV cache at this context, or the activations of a batch "
                           "of prompt tokens: a smaller context or batch size may fit)",
                           vk->props.deviceName, most, sz);
  }
  VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                              .allocationSize = req.size,
                              .memoryTypeIndex = (uint32_t)type};
  VkDeviceMemory mem;
  r = vkAllocateMemory(vk->device, &mai, NULL, &mem);
  while (r == VK_ERROR_OUT_OF_DEVICE_MEMORY && ci < n_cand) { /* this kind is full: the next one */
    int32_t t = find_memory_type(vk, req.memoryTypeBits, cand_flags[ci]);
    mapped = cand_mapped[ci++];
    if (t < 0 || t == (int32_t)mai.memoryTypeIndex) continue;
    mai.memoryTypeIndex = (uint32_t)t;
    r = vkAllocateMemory(vk->device, &mai, NULL, &mem);
  }
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(vk->device, buf, NULL);
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) {
      char sz[32];
      still_format_bytes((uint64_t)size, sz, sizeof sz);
      return still_set_error(err, STILL_ERR_NOMEM, "Vulkan: out of %s memory allocating %s on Vulkan%d (%s)",
                             r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? "device" : "host", sz, vk->device_index,
                             vk->props.deviceName);
    }
    return still_vk_fail(err, r, "allocating device memory");
  }
  r = vkBindBufferMemory(vk->device, buf, mem, 0);
  void *map = NULL;
  if (r == VK_SUCCESS && mapped) r = vkMapMemory(vk->device, mem, 0, VK_WHOLE_SIZE, 0, &map);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(vk->device, buf, NULL);
    vkFreeMemory(vk->device, mem, NULL);
    return still_vk_fail(err, r, "binding buffer memory");
  }
  if (!host) vk->mem_used += req.size;
  if (vk->mem_used > vk->mem_peak) vk->mem_peak = vk->mem_used;
  out->alloc_size = req.size;
  out->handle = (uint64_t)(uintptr_t)buf;
  out->memory = (uint64_t)(uintptr_t)mem;
  out->map = map;
  out->size = size;
  return STILL_OK;
}

still_status still_vk_buffer_new(still_vk *vk, size_t size, still_vk_buffer *out, still_error *err)
{
  return buffer_alloc(vk, size, false, out, err);
}

static void set_cache_forget(still_vk *vk, uint64_t handle);

void still_vk_buffer_free(still_vk *vk, still_vk_buffer *b)
{
  if (!vk || !b || !b->handle) return;
  /* the driver may hand the same VkBuffer value to a later buffer: no
   * cached set may still name this one */
  set_cache_forget(vk, b->handle);
  if (vk->mem_used >= b->alloc_size && b != &vk->staging) vk->mem_used -= b->alloc_size;
  if (b->map) vkUnmapMemory(vk->device, VKMEM(b));
  vkDestroyBuffer(vk->device, VKBUF(b), NULL);
  vkFreeMemory(vk->device, VKMEM(b), NULL);
  memset(b, 0, sizeof *b);
}

#define STAGING_SIZE ((size_t)16 << 20)

static still_status ensure_staging(still_vk *vk, still_error *err)
{
  return vk->staging.handle ? STILL_OK : buffer_alloc(vk, STAGING_SIZE, true, &vk->staging, err);
}

static still_status staging_copy(still_vk *vk, const still_vk_buffer *b, size_t offset, void *host, size_t n,
                                 bool to_device, still_error *err)
{
  if (vk->recording)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: buffer copy while recording commands");
  still_status st0 = ensure_staging(vk, err);
  if (st0 != STILL_OK) return st0;
  for (size_t done = 0; done < n;) {
    size_t chunk = n - done < STAGING_SIZE ? n - done : STAGING_SIZE;
    if (to_device) memcpy(vk->staging.map, (char *)host + done, chunk);
    still_status st = still_vk_begin(vk, err);
    if (st != STILL_OK) return st;
    VkBufferCopy c = {.srcOffset = to_device ? 0 : offset + done,
                      .dstOffset = to_device ? offset + done : 0,
                      .size = chunk};
    if (to_device) {
      vkCmdCopyBuffer(vk->cmd, VKBUF(&vk->staging), VKBUF(b), 1, &c);
      /* later submits' shaders read what the copy wrote */
      VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                            .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
      vkCmdPipelineBarrier(vk->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb,
                           0, NULL, 0, NULL);
    } else vkCmdCopyBuffer(vk->cmd, VKBUF(b), VKBUF(&vk->staging), 1, &c);
    if ((st = still_vk_submit(vk, err)) != STILL_OK) return st;
    if (!to_device) memcpy((char *)host + done, vk->staging.map, chunk);
    done += chunk;
  }
  return STILL_OK;
}

static still_status check_range(const still_vk_buffer *b, size_t offset, size_t n, still_error *err)
{
  if (!b || !b->handle || offset > b->size || n > b->size - offset)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: copy of %zu bytes at %zu outside a %zu-byte buffer",
                           n, offset, b ? b->size : 0);
  return STILL_OK;
}

still_status still_vk_upload(still_vk *vk, still_vk_buffer *b, size_t offset, const void *src, size_t n,
                             still_error *err)
{
  still_status st = check_range(b, offset, n, err);
  if (st != STILL_OK || n == 0) return st;
  if (b->map) {
    memcpy((char *)b->map + offset, src, n);
    return STILL_OK;
  }
  /* vkCmdCopyBuffer wants 4-byte multiples only for fill; copies are any size */
  return staging_copy(vk, b, offset, (void *)src, n, true, err);
}

still_status still_vk_download(still_vk *vk, const still_vk_buffer *b, size_t offset, void *dst, size_t n,
                               still_error *err)
{
  still_status st = check_range(b, offset, n, err);
  if (st != STILL_OK || n == 0) return st;
  if (b->map) {
    memcpy(dst, (const char *)b->map + offset, n);
    return STILL_OK;
  }
  return staging_copy(vk, b, offset, dst, n, false, err);
}

/* ---- copies recorded into the command buffer ------------------------------ */

/* Staging regions of recorded copies start on this boundary. */
#define REC_ALIGN ((size_t)256)

static size_t rec_round(size_t n) { return (n + REC_ALIGN - 1) & ~(REC_ALIGN - 1); }

size_t still_vk_rec_cost(const still_vk *vk, const still_vk_buffer *b, size_t n)
{
  (void)vk;
  return b && b->map ? 0 : rec_round(n);
}

size_t still_vk_rec_space(const still_vk *vk)
{
  if (!vk->rec_copies) return 0;
  const size_t used = vk->recording ? vk->rec_used : 0;
  return used >= STAGING_SIZE ? 0 : STAGING_SIZE - used;
}

/* The compute ops recorded so far finish (and their writes are visible)
 * before the next copy; a copy before it finishes too (copies to or from
 * overlapping regions in turn). */
static void barrier_before_copy(still_vk *vk)
{
  VkPipelineStageFlags src = 0;
  VkAccessFlags acc = 0;
  if (vk->compute_dirty) src |= VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, acc |= VK_ACCESS_SHADER_WRITE_BIT;
  if (vk->after_copy) src |= VK_PIPELINE_STAGE_TRANSFER_BIT, acc |= VK_ACCESS_TRANSFER_WRITE_BIT;
  if (!src) return;
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = acc,
                        .dstAccessMask = VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
  vkCmdPipelineBarrier(vk->cmd, src, VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  vk->compute_dirty = false;
  vk->after_copy = false;
}

static still_status rec_take(still_vk *vk, size_t n, size_t *off, still_error *err)
{
  if (!vk->rec_copies || n > still_vk_rec_space(vk))
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "Vulkan: no staging room for a recorded copy of %zu bytes (%zu left)", n,
                           still_vk_rec_space(vk));
  still_status st = ensure_staging(vk, err);
  if (st != STILL_OK) return st;
  *off = vk->rec_used;
  vk->rec_used += rec_round(n);
  return STILL_OK;
}

still_status still_vk_counts(still_vk *vk, still_vk_buffer **out, still_error *err)
{
  *out = NULL;
  if (!vk->recording) return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: counters outside begin/submit");
  if (vk->counts_failed) return still_set_error(err, STILL_ERR_NOMEM, "Vulkan: no memory for the counters");
  if (!vk->counts.handle) {
    still_status st = still_vk_buffer_new(vk, STILL_VK_COUNTS_BYTES, &vk->counts, err);
    if (st != STILL_OK) {
      vk->counts_failed = true;
      return st;
    }
    if (vk->counts.map) {
      memset(vk->counts.map, 0, STILL_VK_COUNTS_BYTES); /* (no command has used it yet) */
    } else {
      barrier_before_copy(vk);
      vkCmdFillBuffer(vk->cmd, VKBUF(&vk->counts), 0, STILL_VK_COUNTS_BYTES, 0);
      vk->after_copy = true; /* the next dispatch waits for it */
    }
  }
  *out = &vk->counts;
  return STILL_OK;
}

still_status still_vk_upload_rec(still_vk *vk, still_vk_buffer *b, size_t offset, const void *src, size_t n,
                                 still_error *err)
{
  if (!vk->recording)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: recorded copy outside begin/submit");
  still_status st = check_range(b, offset, n, err);
  if (st != STILL_OK || n == 0) return st;
  if (b->map) { /* unified memory: written now (see vk.h) */
    memcpy((char *)b->map + offset, src, n);
    return STILL_OK;
  }
  size_t soff = 0;
  if ((st = rec_take(vk, n, &soff, err)) != STILL_OK) return st;
  memcpy((char *)vk->staging.map + soff, src, n); /* coherent memory: the submit makes it visible */
  barrier_before_copy(vk);
  VkBufferCopy c = {.srcOffset = soff, .dstOffset = offset, .size = n};
  vkCmdCopyBuffer(vk->cmd, VKBUF(&vk->staging), VKBUF(b), 1, &c);
  vk->after_copy = true; /* the next dispatch waits for it */
  return STILL_OK;
}

still_status still_vk_download_rec(still_vk *vk, const still_vk_buffer *b, size_t offset, void *dst, size_t n,
                                   still_error *err)
{
  if (!vk->recording)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: recorded copy outside begin/submit");
  still_status st = check_range(b, offset, n, err);
  if (st != STILL_OK || n == 0) return st;
  if (vk->n_pending >= STILL_VK_MAX_PENDING)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: more than %d recorded downloads in one submit",
                           STILL_VK_MAX_PENDING);
  const void *from;
  if (b->map) {
    /* read after the fence; ops recorded after this one must not write
     * the region (see vk.h) */
    from = (const char *)b->map + offset;
  } else {
    size_t soff = 0;
    if ((st = rec_take(vk, n, &soff, err)) != STILL_OK) return st;
    barrier_before_copy(vk);
    VkBufferCopy c = {.srcOffset = offset, .dstOffset = soff, .size = n};
    vkCmdCopyBuffer(vk->cmd, VKBUF(b), VKBUF(&vk->staging), 1, &c);
    vk->after_copy = true; /* later ops that write the region wait for the read */
    from = (const char *)vk->staging.map + soff;
  }
  vk->pending[vk->n_pending].dst = dst;
  vk->pending[vk->n_pending].src = from;
  vk->pending[vk->n_pending].n = n;
  vk->n_pending++;
  return STILL_OK;
}

/* ---- recording ------------------------------------------------------------ */

still_status still_vk_begin(still_vk *vk, still_error *err)
{
  if (vk->recording) return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: already recording");
  vk->n_flushed = 0;
  vk->cmd = vk->cmds[0];
  VkResult r = vkResetCommandBuffer(vk->cmd, 0);
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  if (r == VK_SUCCESS) r = vkBeginCommandBuffer(vk->cmd, &bi);
  if (r != VK_SUCCESS) return still_vk_fail(err, r, "starting a command buffer");
  vk->recording = true;
  vk->n_dispatch = 0;
  vk->rec_used = 0;
  vk->n_pending = 0;
  vk->bound_pipe = VK_NULL_HANDLE; /* a new command buffer has nothing bound */
  vk->bound_set = VK_NULL_HANDLE;
  vk->after_copy = vk->compute_dirty = false;
  if (vk->ts_pool) vk->record_t0_us = still_time_us();
  if (vk->ts_pool) {
    vkCmdResetQueryPool(vk->cmd, vk->ts_pool, 0, STILL_VK_MAX_SETS + 1);
    vkCmdWriteTimestamp(vk->cmd, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, vk->ts_pool, 0);
  }
  return STILL_OK;
}

static void read_profile(still_vk *vk, int64_t t0_us)
{
  uint64_t ts[STILL_VK_MAX_SETS + 1];
  const uint32_t n = (uint32_t)vk->n_dispatch + 1;
  if (vkGetQueryPoolResults(vk->device, vk->ts_pool, 0, n, sizeof(uint64_t) * n, ts, sizeof(uint64_t),
                            VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT) != VK_SUCCESS)
    return;
  vk->prof_submits++;
  vk->prof_wall_ns += (uint64_t)(still_time_us() - t0_us) * 1000u;
  for (uint32_t i = 1; i < n; i++) {
    const uint64_t d = ((ts[i] - ts[i - 1]) & vk->ts_mask);
    const uint64_t ns = (uint64_t)((double)d * vk->ts_period_ns);
    vk->prof_ns[vk->ts_ids[i - 1]] += ns;
    vk->prof_calls[vk->ts_ids[i - 1]]++;
    if (vk->prof_shapes && vk->ts_shape[i - 1] >= 0) {
      vk->prof_shape[vk->ts_shape[i - 1]].ns += ns;
      vk->prof_shape[vk->ts_shape[i - 1]].calls++;
    }
    vk->prof_gpu_ns += ns;
  }
}

/* Host time of the first submit of a begin/submit: the GPU waited for the
 * host until then (profile). */
static void note_submit(still_vk *vk)
{
  if (!vk->ts_pool || vk->n_dispatch == 0) return;
  const int64_t now = still_time_us();
  if (vk->n_flushed == 0) {
    vk->first_submit_us = now;
    vk->prof_idle_ns += (uint64_t)(now - vk->record_t0_us) * 1000u;
  }
}

still_status still_vk_flush(still_vk *vk, still_error *err)
{
  if (!vk->recording) return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: flush without begin");
  if (!vk->flush_ok || vk->n_flushed + 1 >= STILL_VK_CMD_BUFFERS) return STILL_OK; /* all in the last one */
  VkResult r = vkEndCommandBuffer(vk->cmd);
  if (r != VK_SUCCESS) return still_vk_fail(err, r, "ending a command buffer");
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vk->cmd};
  note_submit(vk);
  r = vkQueueSubmit(vk->queue, 1, &si, VK_NULL_HANDLE);
  /* the next buffer either way: still_vk_submit then ends what is recorded */
  vk->cmd = vk->cmds[++vk->n_flushed];
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  VkResult r2 = vkResetCommandBuffer(vk->cmd, 0);
  if (r2 == VK_SUCCESS) r2 = vkBeginCommandBuffer(vk->cmd, &bi);
  /* nothing is bound in a new command buffer; the barriers recorded in it
   * cover the commands of the earlier submits too (submission order) */
  vk->bound_pipe = VK_NULL_HANDLE;
  vk->bound_set = VK_NULL_HANDLE;
  if (r2 != VK_SUCCESS) {
    vkQueueWaitIdle(vk->queue);
    vk->recording = false;
    return still_vk_fail(err, r2, "starting a command buffer");
  }
  if (r != VK_SUCCESS) return still_vk_fail(err, r, "submitting work");
  return STILL_OK;
}

still_status still_vk_submit(still_vk *vk, still_error *err)
{
  if (!vk->recording) return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: submit without begin");
  vk->recording = false;
  /* make shader writes visible to the host (mapped reads) and to copies */
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
  vkCmdPipelineBarrier(vk->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  VkResult r = vkEndCommandBuffer(vk->cmd);
  if (r != VK_SUCCESS) {
    if (vk->n_flushed > 0) vkQueueWaitIdle(vk->queue); /* the flushed part may still run */
    return still_vk_fail(err, r, "ending a command buffer");
  }
  const int n_pending = vk->n_pending;
  vk->n_pending = 0;
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &vk->cmd};
  note_submit(vk);
  const int64_t t0 = vk->ts_pool ? vk->first_submit_us : 0;
  if (vk->ts_pool && vk->n_dispatch > 0) vk->prof_record_ns += (uint64_t)(still_time_us() - vk->record_t0_us) * 1000u;
  /* the fence also covers the buffers flushed before (submission order) */
  /* a lost device, for the fallback tests: counting the submits with compute work (not weight uploads) */
  if (vk->fault_submit && vk->n_dispatch > 0 && ++vk->n_submits >= vk->fault_submit) {
    if (vk->n_flushed > 0) vkQueueWaitIdle(vk->queue);
    vkResetDescriptorPool(vk->device, vk->desc_pool, 0);
    vk->n_sets = 0;
    return still_set_error(err, STILL_ERR_BACKEND, "Vulkan: submitting work failed: the device was lost (a fault "
                                                   "injected by STILL_VK_FAULT_SUBMIT)");
  }
  r = vkQueueSubmit(vk->queue, 1, &si, vk->fence);
  if (r != VK_SUCCESS) {
    if (vk->n_flushed > 0) vkQueueWaitIdle(vk->queue);
    return still_vk_fail(err, r, "submitting work");
  }
  r = vkWaitForFences(vk->device, 1, &vk->fence, VK_TRUE, UINT64_MAX);
  if (vk->ts_pool && r == VK_SUCCESS && vk->n_dispatch > 0) read_profile(vk, t0);
  VkResult r2 = vkResetFences(vk->device, 1, &vk->fence);
  vkResetDescriptorPool(vk->device, vk->desc_pool, 0);
  vk->n_sets = 0;
  if (r != VK_SUCCESS) return still_vk_fail(err, r, "waiting for the device");
  if (r2 != VK_SUCCESS) return still_vk_fail(err, r2, "resetting a fence");
  /* the recorded downloads: the device is done with them */
  for (int i = 0; i < n_pending; i++) memcpy(vk->pending[i].dst, vk->pending[i].src, vk->pending[i].n);
  return STILL_OK;
}

/* ---- pipelines and dispatch -------------------------------------------- */

/* STILL_VK_PIPELINE_STATS=1: one line per pipeline executable with every
 * statistic the driver reports (names and units are the driver's own) */
static void print_pipeline_stats(still_vk *vk, const char *name, uint32_t wg, VkPipeline pipe)
{
  PFN_vkGetPipelineExecutablePropertiesKHR get_props =
    (PFN_vkGetPipelineExecutablePropertiesKHR)vkGetDeviceProcAddr(vk->device, "vkGetPipelineExecutablePropertiesKHR");
  PFN_vkGetPipelineExecutableStatisticsKHR get_stats =
    (PFN_vkGetPipelineExecutableStatisticsKHR)vkGetDeviceProcAddr(vk->device, "vkGetPipelineExecutableStatisticsKHR");
  if (!get_props || !get_stats) return;
  VkPipelineInfoKHR pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_INFO_KHR, .pipeline = pipe};
  VkPipelineExecutablePropertiesKHR props[4];
  uint32_t n_exe = 4;
  for (uint32_t e = 0; e < n_exe; e++)
    props[e] = (VkPipelineExecutablePropertiesKHR){.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_PROPERTIES_KHR};
  VkResult r = get_props(vk->device, &pi, &n_exe, props);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) return;
  for (uint32_t e = 0; e < n_exe; e++) {
    VkPipelineExecutableInfoKHR ei = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_INFO_KHR, .pipeline = pipe, .executableIndex = e};
    VkPipelineExecutableStatisticKHR st[32];
    uint32_t n = 32;
    for (uint32_t i = 0; i < n; i++)
      st[i] = (VkPipelineExecutableStatisticKHR){.sType = VK_STRUCTURE_TYPE_PIPELINE_EXECUTABLE_STATISTIC_KHR};
    r = get_stats(vk->device, &ei, &n, st);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) continue;
    fprintf(stderr, "vk pipeline %s (wg %u, %s, subgroup %u):", name, wg, props[e].name, props[e].subgroupSize);
    for (uint32_t i = 0; i < n; i++) {
      fprintf(stderr, " %s=", st[i].name);
      switch (st[i].format) {
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_BOOL32_KHR: fprintf(stderr, "%s", st[i].value.b32 ? "yes" : "no"); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_INT64_KHR: fprintf(stderr, "%lld", (long long)st[i].value.i64); break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_UINT64_KHR:
        fprintf(stderr, "%llu", (unsigned long long)st[i].value.u64);
        break;
      case VK_PIPELINE_EXECUTABLE_STATISTIC_FORMAT_FLOAT64_KHR: fprintf(stderr, "%g", st[i].value.f64); break;
      default: fprintf(stderr, "?"); break;
      }
    }
    fputc('\n', stderr);
  }
}

/* The dot shaders (matvec_dot.comp, its batched variant and its norm_tail.glsl variants), whose
 * rows per team are a specialization constant and whose workgroup is vk->dot_wg. */
static bool dot_shader_id(still_vk_shader_id id)
{
  return (id >= VK_SHADER_MATVEC_DOT_Q4_K && id <= VK_SHADER_MATVEC_DOT_Q4_0) ||
         (id >= VK_SHADER_MATVEC_DOT_PRE_Q4_K && id <= VK_SHADER_MATVEC_DOT_PRE_Q4_0) ||
         (id >= VK_SHADER_MATMUL_DOT_Q4_K && id <= VK_SHADER_MATMUL_DOT_Q4_0) ||
         (id >= VK_SHADER_MATVEC_TAIL_DOT_Q4_K && id <= VK_SHADER_MATVEC_TAIL_DOT_PRE_Q4_0);
}

/* Which of a shader's pipelines the settings now take: for the dot shaders one per rows per
 * team (4, 2, 1), else the one. */
static int pipe_variant(const still_vk *vk, still_vk_shader_id id)
{
  if (!dot_shader_id(id)) return 0;
  return vk->dot_rows == 4 ? 0 : vk->dot_rows == 2 ? 1 : 2;
}

const still_vk_shader *still_vk_shader_source(const still_vk *vk, still_vk_shader_id id)
{
  const still_vk_shader *sh = &still_vk_shaders[id];
  if (vk->coopmat_emulated && ((id >= VK_SHADER_MATMUL_COOP_F16 && id <= VK_SHADER_MATMUL_COOP_N128_IQ4_NL) ||
                               (id >= VK_SHADER_ATTENTION_COOP_F16 && id <= VK_SHADER_COOP_PROBE_LONE))) {
    const still_vk_shader *e = still_vk_coop_emulated;
    while (e && e->name && strcmp(e->name, sh->name) != 0) e++;
    return e && e->name ? e : NULL;
  }
  return sh;
}

static still_status get_pipeline(still_vk *vk, still_vk_shader_id id, VkPipeline *out, still_error *err)
{
  const int variant = pipe_variant(vk, id);
  VkPipeline *slot = &vk->pipelines[id][variant];
  if (*slot) {
    *out = *slot;
    return STILL_OK;
  }
  const still_vk_shader *sh = still_vk_shader_source(vk, id);
  if (!sh)
    return still_set_error(err, STILL_ERR_BACKEND, "Vulkan: no emulated version of %s (STILL_VK_COOPMAT=emulate)",
                           still_vk_shaders[id].name);
  VkShaderModuleCreateInfo mci = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                  .codeSize = sh->size,
                                  .pCode = sh->code};
  VkResult r = VK_SUCCESS;
  if (!vk->modules[id] && (r = vkCreateShaderModule(vk->device, &mci, NULL, &vk->modules[id])) != VK_SUCCESS) {
    vk->modules[id] = VK_NULL_HANDLE;
    return still_vk_fail(err, r, "loading a shader");
  }
  /* RMSNorm reduces a whole row in one workgroup: more threads, fewer
   * memory latencies in turn (a per-shader size; every device allows 128,
   * most 1024) */
  uint32_t wg = dot_shader_id(id) ? vk->dot_wg : vk->wg_size;
  const bool norm = id == VK_SHADER_RMS_NORM || id == VK_SHADER_ADD_RMS_NORM || id == VK_SHADER_ADD_RMS_NORM_V4 ||
                    id == VK_SHADER_ADD_RMS_NORM_V4_ROUND8;
  if (norm && (wg < 256 || vk->norm_wg)) {
    wg = vk->norm_wg ? vk->norm_wg : 256; /* (at most 1024) */
    if (wg > wg_most(vk)) wg = wg_most(vk);
    if (wg < vk->wg_size) wg = vk->wg_size;
  }
  /* 0: workgroup size, 1: subgroup size, 2: matvec_team.comp's passes
   * loaded ahead (STILL_VK_MATVEC_AHEAD), 3: matvec_dot.comp's rows per
   * team (other shaders have no constant 2 or 3) */
  const uint32_t spec[4] = {wg, vk->subgroup_size, vk->matvec_ahead, vk->dot_rows};
  const VkSpecializationMapEntry entries[4] = {{0, 0, 4}, {1, 4, 4}, {2, 8, 4}, {3, 12, 4}};
  VkSpecializationInfo si = {.mapEntryCount = 4, .pMapEntries = entries, .dataSize = sizeof spec, .pData = spec};
  VkComputePipelineCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
              .stage = VK_SHADER_STAGE_COMPUTE_BIT,
              .module = vk->modules[id],
              .pName = "main",
              .pSpecializationInfo = &si},
    .layout = vk->pipe_layout,
  };
  if (vk->pipe_stats) ci.flags |= VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR;
  r = vkCreateComputePipelines(vk->device, vk->pipe_stats ? VK_NULL_HANDLE : vk->pipeline_cache, 1, &ci, NULL, slot);
  if (r != VK_SUCCESS) {
    *slot = VK_NULL_HANDLE;
    return still_vk_fail(err, r, "building a compute pipeline");
  }
  if (vk->pipe_stats) print_pipeline_stats(vk, sh->name, wg, *slot);
  else vk->cache_dirty = true; /* (statistics: built without the cache) */
  *out = *slot;
  return STILL_OK;
}

void still_vk_concurrent_next(still_vk *vk) { vk->skip_barrier = vk->concurrent_ok; }

/* ---- cached descriptor sets ---------------------------------------------- */

static uint32_t set_hash(const uint64_t *key)
{
  uint64_t h = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < STILL_VK_BINDINGS; i++) {
    h ^= key[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdull;
  }
  return (uint32_t)(h ^ (h >> 29)) & (STILL_VK_SET_SLOTS - 1);
}

static bool key_equal(const uint64_t *a, const uint64_t *b)
{
  for (int i = 0; i < STILL_VK_BINDINGS; i++)
    if (a[i] != b[i]) return false;
  return true;
}

/* Drop the tombstones: every live entry back at its first free slot. */
static void set_rehash(still_vk *vk)
{
  still_vk_set_entry *old = malloc(STILL_VK_SET_SLOTS * sizeof *old);
  if (!old) return; /* keep the tombstones; lookups still work */
  memcpy(old, vk->set_table, STILL_VK_SET_SLOTS * sizeof *old);
  memset(vk->set_table, 0, STILL_VK_SET_SLOTS * sizeof *old);
  for (uint32_t i = 0; i < STILL_VK_SET_SLOTS; i++) {
    if (old[i].state != 1) continue;
    uint32_t j = set_hash(old[i].key);
    while (vk->set_table[j].state) j = (j + 1) & (STILL_VK_SET_SLOTS - 1);
    vk->set_table[j] = old[i];
  }
  vk->set_dead = 0;
  free(old);
}

static void set_cache_forget(still_vk *vk, uint64_t handle)
{
  if (!vk->set_table || vk->set_live == 0) return;
  for (uint32_t i = 0; i < STILL_VK_SET_SLOTS; i++) {
    still_vk_set_entry *e = &vk->set_table[i];
    if (e->state != 1) continue;
    bool hit = false;
    for (int k = 0; k < STILL_VK_BINDINGS && !hit; k++) hit = e->key[k] == handle;
    if (!hit) continue;
    vkFreeDescriptorSets(vk->device, vk->cache_pool, 1, &e->set);
    e->state = 2;
    vk->set_live--;
    vk->set_dead++;
  }
  if (vk->set_dead > STILL_VK_SET_SLOTS / 4) set_rehash(vk);
}

static void write_set(still_vk *vk, VkDescriptorSet set, const uint64_t *key)
{
  VkDescriptorBufferInfo info[STILL_VK_BINDINGS];
  VkWriteDescriptorSet wr[STILL_VK_BINDINGS];
  for (uint32_t i = 0; i < vk->n_bindings; i++) {
    info[i] = (VkDescriptorBufferInfo){.buffer = (VkBuffer)(uintptr_t)key[i], .offset = 0, .range = VK_WHOLE_SIZE};
    wr[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                   .dstSet = set,
                                   .dstBinding = (uint32_t)i,
                                   .descriptorCount = 1,
                                   .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                   .pBufferInfo = &info[i]};
  }
  vkUpdateDescriptorSets(vk->device, vk->n_bindings, wr, 0, NULL);
}

/* The cached set for these buffers, made on first use; VK_NULL_HANDLE when
 * the cache is off or full (then the dispatch takes a per-submit set). */
static VkDescriptorSet cached_set(still_vk *vk, const uint64_t *key)
{
  if (!vk->set_table) return VK_NULL_HANDLE;
  uint32_t i = set_hash(key), free_slot = UINT32_MAX;
  for (uint32_t probes = 0; probes < STILL_VK_SET_SLOTS; probes++, i = (i + 1) & (STILL_VK_SET_SLOTS - 1)) {
    still_vk_set_entry *e = &vk->set_table[i];
    if (e->state == 0) {
      if (free_slot == UINT32_MAX) free_slot = i;
      break;
    }
    if (e->state == 2) {
      if (free_slot == UINT32_MAX) free_slot = i;
      continue;
    }
    if (key_equal(e->key, key)) {
      vk->set_hits++;
      return e->set;
    }
  }
  if (free_slot == UINT32_MAX || vk->set_live >= STILL_VK_CACHED_SETS) return VK_NULL_HANDLE;
  VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                    .descriptorPool = vk->cache_pool,
                                    .descriptorSetCount = 1,
                                    .pSetLayouts = &vk->set_layout};
  VkDescriptorSet set;
  if (vkAllocateDescriptorSets(vk->device, &ai, &set) != VK_SUCCESS) return VK_NULL_HANDLE;
  write_set(vk, set, key);
  still_vk_set_entry *e = &vk->set_table[free_slot];
  if (e->state == 2) vk->set_dead--;
  memcpy(e->key, key, sizeof e->key);
  e->set = set;
  e->state = 1;
  vk->set_live++;
  vk->set_misses++;
  return set;
}

still_status still_vk_dispatch(still_vk *vk, still_vk_shader_id id, const still_vk_buffer *const *bufs, int n_bufs,
                               const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz,
                               still_error *err)
{
  /* the hint of still_vk_concurrent_next is for this op only, dispatched or not */
  const bool skip = vk->skip_barrier;
  vk->skip_barrier = false;
  if (!vk->recording) return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: op outside begin/submit");
  if (n_bufs > (int)vk->n_bindings || push_size > STILL_VK_PUSH_MAX)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: too many op arguments");
  if (gx == 0 || gy == 0 || gz == 0) return STILL_OK;
  if (gx > 65535 || gy > 65535 || gz > 65535)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: op too large (%u×%u×%u workgroups)", gx, gy, gz);
  VkPipeline pipe = VK_NULL_HANDLE;
  still_status st = get_pipeline(vk, id, &pipe, err);
  if (st != STILL_OK) return st;
  /* one timestamp per op, and the per-submit descriptor pool's size */
  if (vk->n_dispatch >= STILL_VK_MAX_SETS)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: more than %d ops in one submit", STILL_VK_MAX_SETS);
  uint64_t key[STILL_VK_BINDINGS];
  for (int i = 0; i < STILL_VK_BINDINGS; i++) {
    /* unused bindings get the first buffer: every binding must be valid */
    const still_vk_buffer *b = bufs[i < n_bufs ? i : 0];
    if (!b || !b->handle) return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: op on a missing buffer");
    key[i] = b->handle;
  }
  VkDescriptorSet set = cached_set(vk, key);
  if (set == VK_NULL_HANDLE) { /* a set for this submit only */
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = vk->desc_pool,
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &vk->set_layout};
    VkResult r = vkAllocateDescriptorSets(vk->device, &ai, &set);
    if (r != VK_SUCCESS) return still_vk_fail(err, r, "allocating a descriptor set");
    vk->n_sets++;
    write_set(vk, set, key);
  }
  /* ops run in order: each sees the previous one's writes (unless the
   * concurrency hint says it needs none), and the copies recorded before it */
  VkPipelineStageFlags src = 0;
  VkAccessFlags acc = 0;
  if (vk->n_dispatch > 0 && !skip) src |= VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, acc |= VK_ACCESS_SHADER_WRITE_BIT;
  if (vk->after_copy) src |= VK_PIPELINE_STAGE_TRANSFER_BIT, acc |= VK_ACCESS_TRANSFER_WRITE_BIT;
  if (src) {
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = acc,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
    vkCmdPipelineBarrier(vk->cmd, src, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  }
  vk->after_copy = false;
  vk->compute_dirty = true;
  /* one pipeline layout for all: a bound set stays valid across pipelines */
  if (pipe != vk->bound_pipe) vkCmdBindPipeline(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
  if (set != vk->bound_set)
    vkCmdBindDescriptorSets(vk->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, vk->pipe_layout, 0, 1, &set, 0, NULL);
  vk->bound_pipe = pipe;
  vk->bound_set = set;
  /* the bytes the shader reads (its table size, or more when given), zero-padded */
  uint32_t pc_size = push_size > still_vk_shaders[id].push_size ? push_size : still_vk_shaders[id].push_size;
  pc_size = (pc_size + 3) & ~3u;
  if (pc_size == 0 || pc_size > STILL_VK_PUSH_MAX) pc_size = STILL_VK_PUSH_MAX;
  uint8_t pc[STILL_VK_PUSH_MAX] = {0};
  memcpy(pc, push, push_size);
  vkCmdPushConstants(vk->cmd, vk->pipe_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, pc_size, pc);
  vkCmdDispatch(vk->cmd, gx, gy, gz);
  if (vk->ts_pool) {
    vkCmdWriteTimestamp(vk->cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, vk->ts_pool, (uint32_t)vk->n_dispatch + 1);
    vk->ts_ids[vk->n_dispatch] = id;
    if (vk->prof_shapes) vk->ts_shape[vk->n_dispatch] = prof_shape_entry(vk, id, gx, gy, gz, push, push_size);
  }
  vk->n_dispatch++;
  return STILL_OK;
}
