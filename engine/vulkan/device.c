/* vulkan/device.c — enumerate Vulkan physical devices for the hardware
 * probe (see device.h). Only reads properties: no logical device is
 * created, so this is cheap and safe to call from the app's UI code.
 *
 * Free memory: VK_EXT_memory_budget gives, per heap, a budget (what this
 * process may allocate, the driver's view of the heap minus other
 * processes' use) and our own usage; free = budget − usage summed over the
 * device-local heaps. Without the extension only the heap sizes are known,
 * and a card that already drives a desktop has less free than that: the
 * note says so and free_known stays false.
 */
#include "vulkan/device.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_note(char *note, size_t size, const char *fmt, const char *arg)
{
  if (!note || size == 0) return;
  char one[512];
  snprintf(one, sizeof one, fmt, arg);
  if (strstr(note, one)) return; /* said already (one GPU listed by two drivers) */
  size_t used = strlen(note);
  if (used + 3 >= size) return;
  if (used) {
    snprintf(note + used, size - used, "; ");
    used += 2;
  }
  snprintf(note + used, size - used, "%s", one);
}

#ifndef STILL_HAVE_VULKAN

int still_vk_enumerate(still_gpu *gpus, int cap, bool *vulkan_ok, char *note, size_t note_size)
{
  (void)gpus;
  (void)cap;
  if (vulkan_ok) *vulkan_ok = false;
  if (note && note_size) {
    note[0] = '\0';
    add_note(note, note_size, "%s", "built without Vulkan: no GPU is used");
  }
  return 0;
}

#else

#include "vulkan/vk-internal.h"

#include "util.h"

#ifndef VK_API_VERSION_MAJOR
#define VK_API_VERSION_MAJOR(v) VK_VERSION_MAJOR(v)
#define VK_API_VERSION_MINOR(v) VK_VERSION_MINOR(v)
#define VK_API_VERSION_PATCH(v) VK_VERSION_PATCH(v)
#endif

/* One VkInstance for the life of the process. Creating and destroying an
 * instance loads and unloads the driver each time; on an NVIDIA H200
 * (driver 580) vkCreateInstance began to fail with
 * VK_ERROR_INCOMPATIBLE_DRIVER after about 20 such cycles in one process
 * (the cause is not known). The app lists the devices at start, in its
 * preferences and benchmarks, and opens a context per model it loads: with
 * one instance the driver is loaded once for all of them. */
static pthread_mutex_t instance_lock = PTHREAD_MUTEX_INITIALIZER;
static VkInstance the_instance = VK_NULL_HANDLE;
static uint32_t the_version;        /* its apiVersion */
static char the_driver_note[400];   /* how NVIDIA's driver was reached, or why not (nvidia_fallback) */

/* ---- NVIDIA's Vulkan driver on a machine without a display ----
 * The driver's manifest (nvidia_icd.json) names libGLX_nvidia.so.0. On a
 * headless machine that library can fail to start Vulkan (the loader says
 * "Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'", and
 * no GPU is listed): this happened on an H200 server VM (driver 580, no
 * nvidia_modeset module), where the same driver's libEGL_nvidia.so.0,
 * named in a manifest of our own, listed the GPU and ran every test. So
 * where an NVIDIA kernel driver is loaded (/proc/driver/nvidia/version)
 * and Vulkan lists no GPU, a second instance is made with that manifest
 * added (VK_ADD_DRIVER_FILES, read by the loader from 1.3.207 on; Debian
 * 12's loader has no VK_LUNARG_direct_driver_loading) and kept where it
 * lists a GPU; else the variable is taken away again and the first
 * instance (if any) kept. Tried once per process, under instance_lock.
 * setenv is not safe against another thread's getenv: this happens once,
 * and only on such a machine. Where it worked the variable stays set, so
 * programs started from this one reach the driver the same way. Not where
 * the user chose the drivers (VK_ICD_FILENAMES, VK_DRIVER_FILES,
 * VK_ADD_DRIVER_FILES, VK_LOADER_DRIVERS_SELECT or _DISABLE set) or with
 * STILL_VK_NVIDIA_EGL=0. Test hooks: STILL_VK_NVIDIA_VERSION_FILE (instead
 * of /proc/driver/nvidia/version), STILL_VK_NVIDIA_EGL (the library to
 * name), STILL_VK_NVIDIA_EGL_CPU_OK=1 (a CPU device there counts as the
 * GPU: lavapipe plays the EGL library). */

static uint32_t count_devices(VkInstance inst)
{
  uint32_t n = 0;
  if (!inst || vkEnumeratePhysicalDevices(inst, &n, NULL) != VK_SUCCESS) n = 0;
  return n;
}

static bool lists_gpu(VkInstance inst, bool cpu_counts)
{
  uint32_t n = 0;
  if (!inst || vkEnumeratePhysicalDevices(inst, &n, NULL) != VK_SUCCESS || n == 0) return false;
  VkPhysicalDevice *pds = calloc(n, sizeof *pds);
  bool gpu = false;
  if (pds && vkEnumeratePhysicalDevices(inst, &n, pds) >= 0)
    for (uint32_t i = 0; i < n && !gpu; i++) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties(pds[i], &p);
      gpu = cpu_counts || p.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU;
    }
  free(pds);
  return gpu;
}

/* The kernel module's version from the file ("NVRM version: NVIDIA UNIX … Kernel Module  580.159.04
 * Release Build …"): false where there is no such file (no NVIDIA driver loaded). */
static bool nvidia_kernel_version(char *ver, size_t cap)
{
  const char *path = getenv("STILL_VK_NVIDIA_VERSION_FILE");
  FILE *f = fopen(path && *path ? path : "/proc/driver/nvidia/version", "r");
  if (!f) return false;
  char line[512] = "";
  if (!fgets(line, sizeof line, f)) line[0] = '\0';
  fclose(f);
  snprintf(ver, cap, "%s", "(of unknown version)");
  char *save = NULL;
  for (char *t = strtok_r(line, " \t\n", &save); t; t = strtok_r(NULL, " \t\n", &save)) {
    unsigned a, b;
    if (sscanf(t, "%u.%u", &a, &b) == 2 && strspn(t, "0123456789.") == strlen(t)) {
      snprintf(ver, cap, "%s", t);
      break;
    }
  }
  return true;
}

static bool module_loaded(const char *name)
{
  FILE *f = fopen("/proc/modules", "r");
  if (!f) return true; /* unknown: nothing said */
  char line[256];
  bool found = false;
  const size_t n = strlen(name);
  while (!found && fgets(line, sizeof line, f)) found = strncmp(line, name, n) == 0 && line[n] == ' ';
  fclose(f);
  return found;
}

static VkResult create_instance(VkInstance *out, uint32_t *version)
{
  /* vkEnumerateInstanceVersion exists from loader 1.1 on; ask for it by name */
  uint32_t loader = VK_API_VERSION_1_0;
  PFN_vkEnumerateInstanceVersion enum_version =
    (PFN_vkEnumerateInstanceVersion)vkGetInstanceProcAddr(NULL, "vkEnumerateInstanceVersion");
  if (enum_version && enum_version(&loader) != VK_SUCCESS) loader = VK_API_VERSION_1_0;
  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "still",
    .applicationVersion = 1,
    .pEngineName = "still",
    .engineVersion = 1,
    /* a 1.0 loader refuses any other version; 1.1 and later take 1.2 and
     * leave what a device offers to the device's own version */
    .apiVersion = loader < VK_API_VERSION_1_1 ? VK_API_VERSION_1_0 : VK_API_VERSION_1_2,
  };
  VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
  VkResult r = vkCreateInstance(&ci, NULL, out);
  if (r != VK_SUCCESS) *out = VK_NULL_HANDLE;
  *version = app.apiVersion;
  return r;
}

/* Where Vulkan lists no GPU on a machine with an NVIDIA kernel driver, once per process: a second
 * instance with the driver's EGL library in a manifest of our own, kept (the first destroyed) when
 * it lists a GPU; else the first kept. What was found is said in the_driver_note. */
static bool nvidia_tried;

static VkResult nvidia_fallback(VkResult r)
{
  char ver[64];
  if (nvidia_tried || lists_gpu(the_instance, false) || !nvidia_kernel_version(ver, sizeof ver)) return r;
  nvidia_tried = true;
  const char *egl_env = getenv("STILL_VK_NVIDIA_EGL");
  if (still_env_is_zero("STILL_VK_NVIDIA_EGL") || still_env_set("VK_ICD_FILENAMES") || still_env_set("VK_DRIVER_FILES") ||
      still_env_set("VK_ADD_DRIVER_FILES") || still_env_set("VK_LOADER_DRIVERS_SELECT") ||
      still_env_set("VK_LOADER_DRIVERS_DISABLE"))
    return r; /* the drivers are as chosen */
  const char *lib = egl_env && *egl_env ? egl_env : "libEGL_nvidia.so.0";
  const char *cpu_ok = getenv("STILL_VK_NVIDIA_EGL_CPU_OK");
  bool tried = false, fit = true;
  for (const char *c = lib; *c; c++) fit = fit && (unsigned char)*c >= 0x20 && *c != '"' && *c != '\\';
  char json[1024], text[600];
  const int len = snprintf(text, sizeof text,
                           "{\n  \"file_format_version\": \"1.0.0\",\n  \"ICD\": {\n    \"library_path\": \"%s\",\n"
                           "    \"api_version\": \"1.2.0\"\n  }\n}\n",
                           lib);
  if (fit && len > 0 && (size_t)len < sizeof text && still_vk_cache_file("nvidia-egl-icd.json", json, sizeof json) &&
      still_vk_write_file_atomic(json, text, (size_t)len)) {
    tried = true;
    /* the loader reads the drivers afresh at each vkCreateInstance: the first stays until the
     * second is known to be better */
    VkInstance second = VK_NULL_HANDLE;
    uint32_t v2 = 0;
    setenv("VK_ADD_DRIVER_FILES", json, 1);
    const bool hook = cpu_ok && strcmp(cpu_ok, "1") == 0; /* (a device more, from the library named) */
    if (create_instance(&second, &v2) == VK_SUCCESS && lists_gpu(second, hook) &&
        (!hook || count_devices(second) > count_devices(the_instance))) {
      if (the_instance) vkDestroyInstance(the_instance, NULL);
      the_instance = second, the_version = v2;
      snprintf(the_driver_note, sizeof the_driver_note,
               "Vulkan's installed drivers listed no GPU though the NVIDIA kernel driver %s is loaded; "
               "NVIDIA's Vulkan driver was loaded from %s instead",
               ver, lib);
      return VK_SUCCESS;
    }
    if (second) vkDestroyInstance(second, NULL);
    unsetenv("VK_ADD_DRIVER_FILES");
  }
  const char *how = !tried ? "" : egl_env && *egl_env ? " (nor through the library named)"
                                                       : " (through libGLX_nvidia.so.0 or libEGL_nvidia.so.0)";
  snprintf(the_driver_note, sizeof the_driver_note,
           "the NVIDIA kernel driver %s is loaded, but its Vulkan driver does not start%s: check that NVIDIA's "
           "Vulkan driver is installed (Debian: nvidia-vulkan-icd) and that its version is the kernel module's%s",
           ver, how, module_loaded("nvidia_modeset") ? "" : "; the nvidia_modeset kernel module is not loaded");
  return r;
}

void still_vk_driver_note(char *buf, size_t cap)
{
  pthread_mutex_lock(&instance_lock);
  snprintf(buf, cap, "%s", the_driver_note);
  pthread_mutex_unlock(&instance_lock);
}

VkResult still_vk_instance(VkInstance *out, uint32_t *api_version)
{
  pthread_mutex_lock(&instance_lock);
  VkResult r = VK_SUCCESS;
  if (!the_instance) {
    r = create_instance(&the_instance, &the_version);
    r = nvidia_fallback(r);
    /* a driver that starts now (installed since the last try) has nothing left to explain */
    if (r == VK_SUCCESS && lists_gpu(the_instance, false) && !getenv("VK_ADD_DRIVER_FILES")) the_driver_note[0] = '\0';
  }
  *out = the_instance;
  if (api_version) *api_version = the_version;
  pthread_mutex_unlock(&instance_lock);
  return r;
}

static const char *vk_result_name(VkResult r)
{
  switch (r) {
  case VK_ERROR_INCOMPATIBLE_DRIVER: return "no compatible Vulkan driver";
  case VK_ERROR_INITIALIZATION_FAILED: return "the Vulkan driver failed to start";
  case VK_ERROR_OUT_OF_HOST_MEMORY: return "out of memory";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "out of device memory";
  case VK_ERROR_LAYER_NOT_PRESENT: return "a Vulkan layer is missing";
  case VK_ERROR_EXTENSION_NOT_PRESENT: return "a Vulkan extension is missing";
  default: return "Vulkan error";
  }
}

const char *still_vk_instance_error_words(VkResult r)
{
  if (r == VK_ERROR_OUT_OF_HOST_MEMORY)
    return "out of memory, or a Vulkan driver manifest that is not valid JSON: VK_LOADER_DEBUG=error says which";
  return vk_result_name(r);
}

bool still_vk_has_device_extension(VkPhysicalDevice pd, const char *name)
{
  uint32_t n = 0;
  if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL) != VK_SUCCESS || n == 0) return false;
  VkExtensionProperties *ext = calloc(n, sizeof *ext);
  if (!ext) return false;
  bool found = false;
  if (vkEnumerateDeviceExtensionProperties(pd, NULL, &n, ext) >= 0) /* VK_SUCCESS or VK_INCOMPLETE */
    for (uint32_t i = 0; i < n && !found; i++) found = strcmp(ext[i].extensionName, name) == 0;
  free(ext);
  return found;
}

uint64_t still_vk_max_range(const VkPhysicalDeviceProperties *props)
{
  const char *env = getenv("STILL_VK_MAX_RANGE");
  const uint64_t test = env && *env ? strtoull(env, NULL, 10) : 0;
  if (test) return test;
  return props->deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ? UINT32_MAX : props->limits.maxStorageBufferRange;
}

uint8_t still_vk_int8_dot(VkInstance inst, VkPhysicalDevice pd)
{
  if (!still_vk_has_device_extension(pd, VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME)) return STILL_INT8_DOT_NONE;
  PFN_vkGetPhysicalDeviceFeatures2 get_feat2 =
    (PFN_vkGetPhysicalDeviceFeatures2)vkGetInstanceProcAddr(inst, "vkGetPhysicalDeviceFeatures2");
  PFN_vkGetPhysicalDeviceProperties2 get_props2 =
    (PFN_vkGetPhysicalDeviceProperties2)vkGetInstanceProcAddr(inst, "vkGetPhysicalDeviceProperties2");
  if (!get_feat2 || !get_props2) return STILL_INT8_DOT_NONE;
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR df = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &df};
  get_feat2(pd, &f2);
  if (!df.shaderIntegerDotProduct) return STILL_INT8_DOT_NONE;
  VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR dp = {
    .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &dp};
  get_props2(pd, &p2);
  return dp.integerDotProduct4x8BitPackedSignedAccelerated ? STILL_INT8_DOT_HARDWARE : STILL_INT8_DOT_EMULATED;
}

void still_vk_coopmat_shapes(VkInstance inst, VkPhysicalDevice pd, bool list, bool *n16, bool *n8)
{
  *n16 = *n8 = false;
  if (!still_vk_has_device_extension(pd, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME)) return;
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get =
    (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)vkGetInstanceProcAddr(
      inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
  uint32_t n = 0;
  if (!get || get(pd, &n, NULL) != VK_SUCCESS || n == 0 || n > 1024) return;
  VkCooperativeMatrixPropertiesNV *props = calloc(n, sizeof *props);
  if (!props) return;
  for (uint32_t i = 0; i < n; i++) props[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
  if (get(pd, &n, props) >= 0) /* VK_SUCCESS or VK_INCOMPLETE */
    for (uint32_t i = 0; i < n; i++) {
      const VkCooperativeMatrixPropertiesNV *c = &props[i];
      if (list)
        fprintf(stderr, "coopmat: %ux%ux%u A %d B %d C %d D %d scope %d (component 0 = f16, 1 = f32; scope 3 = subgroup)\n",
                c->MSize, c->NSize, c->KSize, (int)c->AType, (int)c->BType, (int)c->CType, (int)c->DType, (int)c->scope);
      const bool fits = c->MSize == 16 && c->KSize == 16 && c->AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                        c->BType == VK_COMPONENT_TYPE_FLOAT16_NV && c->CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                        c->DType == VK_COMPONENT_TYPE_FLOAT32_NV && c->scope == VK_SCOPE_SUBGROUP_NV;
      *n16 = *n16 || (fits && c->NSize == 16);
      *n8 = *n8 || (fits && c->NSize == 8);
    }
  free(props);
}

static still_gpu_kind kind_of(VkPhysicalDeviceType t)
{
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return STILL_GPU_DISCRETE;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return STILL_GPU_INTEGRATED;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return STILL_GPU_VIRTUAL;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return STILL_GPU_CPU;
  default: return STILL_GPU_OTHER;
  }
}

int still_vk_enumerate(still_gpu *gpus, int cap, bool *vulkan_ok, char *note, size_t note_size)
{
  if (vulkan_ok) *vulkan_ok = false;
  if (note && note_size) note[0] = '\0';

  VkInstance inst = VK_NULL_HANDLE;
  uint32_t inst_version = VK_API_VERSION_1_0;
  VkResult r = still_vk_instance(&inst, &inst_version);
  char driver_note[sizeof the_driver_note];
  still_vk_driver_note(driver_note, sizeof driver_note);
  if (driver_note[0]) add_note(note, note_size, "%s", driver_note);
  if (r != VK_SUCCESS) {
    add_note(note, note_size, "no GPU found through Vulkan (%s)", still_vk_instance_error_words(r));
    return 0;
  }
  const bool v11 = inst_version >= VK_API_VERSION_1_1;
  if (vulkan_ok) *vulkan_ok = true;

  PFN_vkGetPhysicalDeviceMemoryProperties2 get_mem2 =
    v11 ? (PFN_vkGetPhysicalDeviceMemoryProperties2)vkGetInstanceProcAddr(inst, "vkGetPhysicalDeviceMemoryProperties2")
        : NULL;
  PFN_vkGetPhysicalDeviceProperties2 get_props2 =
    v11 ? (PFN_vkGetPhysicalDeviceProperties2)vkGetInstanceProcAddr(inst, "vkGetPhysicalDeviceProperties2") : NULL;

  uint32_t n_pd = 0;
  VkPhysicalDevice *pds = NULL;
  r = vkEnumeratePhysicalDevices(inst, &n_pd, NULL);
  if (r == VK_SUCCESS && n_pd > 0) {
    pds = calloc(n_pd, sizeof *pds);
    if (!pds || (r = vkEnumeratePhysicalDevices(inst, &n_pd, pds)) < 0) n_pd = 0;
  }
  if (n_pd == 0) add_note(note, note_size, "%s", "Vulkan works but lists no device");

  int n = 0;
  for (uint32_t i = 0; i < n_pd && n < cap; i++) {
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(pds[i], &props);
    still_gpu *g = &gpus[n++];
    memset(g, 0, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", props.deviceName);
    g->kind = kind_of(props.deviceType);
    g->cpu_emulated = g->kind == STILL_GPU_CPU;
    g->unified = g->kind == STILL_GPU_INTEGRATED || g->kind == STILL_GPU_CPU;
    g->vendor_id = props.vendorID;
    g->device_id = props.deviceID;
    snprintf(g->api_version, sizeof g->api_version, "%u.%u.%u", VK_API_VERSION_MAJOR(props.apiVersion),
             VK_API_VERSION_MINOR(props.apiVersion), VK_API_VERSION_PATCH(props.apiVersion));
    /* one GPU listed twice (two drivers, or one driver's ICD file twice) has one deviceUUID */
    if (get_props2 && props.apiVersion >= VK_API_VERSION_1_1) {
      VkPhysicalDeviceIDProperties idp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES};
      VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &idp};
      get_props2(pds[i], &p2);
      static const uint8_t zero[VK_UUID_SIZE];
      if (memcmp(idp.deviceUUID, zero, VK_UUID_SIZE) != 0) {
        memcpy(g->uuid, idp.deviceUUID, sizeof g->uuid);
        g->uuid_known = true;
        for (int k = 0; k < n - 1; k++)
          if (gpus[k].uuid_known && !gpus[k].duplicate && memcmp(gpus[k].uuid, g->uuid, sizeof g->uuid) == 0) {
            g->duplicate = true;
            g->duplicate_of = k;
            break;
          }
      }
    }

    const bool budget = get_mem2 && props.apiVersion >= VK_API_VERSION_1_1 &&
                        still_vk_has_device_extension(pds[i], VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    VkPhysicalDeviceMemoryBudgetPropertiesEXT mb = {.sType =
                                                      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 mp2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
                                             .pNext = budget ? &mb : NULL};
    VkPhysicalDeviceMemoryProperties *mp = &mp2.memoryProperties;
    if (get_mem2 && props.apiVersion >= VK_API_VERSION_1_1) get_mem2(pds[i], &mp2);
    else vkGetPhysicalDeviceMemoryProperties(pds[i], mp);

    uint64_t total = 0, free_bytes = 0;
    uint32_t n_heaps = mp->memoryHeapCount < VK_MAX_MEMORY_HEAPS ? mp->memoryHeapCount : VK_MAX_MEMORY_HEAPS;
    if (n_heaps > STILL_MAX_GPU_HEAPS) n_heaps = STILL_MAX_GPU_HEAPS;
    g->n_heaps = n_heaps;
    for (uint32_t h = 0; h < n_heaps; h++) {
      still_gpu_heap *heap = &g->heaps[h];
      heap->size_bytes = mp->memoryHeaps[h].size;
      heap->device_local = (mp->memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
      for (uint32_t t = 0; t < mp->memoryTypeCount && t < VK_MAX_MEMORY_TYPES; t++)
        if (mp->memoryTypes[t].heapIndex == h && (mp->memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT))
          heap->host_visible = true;
      if (budget) {
        heap->budget_bytes = mb.heapBudget[h];
        heap->used_bytes = mb.heapUsage[h];
      }
      if (!heap->device_local) continue;
      uint64_t size = heap->size_bytes;
      total += size;
      if (budget) {
        uint64_t b = mb.heapBudget[h] < size ? mb.heapBudget[h] : size;
        free_bytes += b > mb.heapUsage[h] ? b - mb.heapUsage[h] : 0;
      }
    }
    bool n16, n8;
    still_vk_coopmat_shapes(inst, pds[i], false, &n16, &n8);
    g->matrix_cores = n16 || n8;
    if (v11 && props.apiVersion >= VK_API_VERSION_1_1) g->int8_dot = still_vk_int8_dot(inst, pds[i]);
    g->total_bytes = total;
    g->max_buffer_bytes = still_vk_max_range(&props);
    g->free_known = budget;
    g->free_bytes = budget ? free_bytes : total;
    /* (not for a software renderer, which runs no model unless named: it would read as the reason
     * no GPU is usable) */
    if (!budget && !g->cpu_emulated)
      add_note(note, note_size, "free memory unknown for %s: only totals are known", g->name);
  }
  if ((uint32_t)n < n_pd) add_note(note, note_size, "%s", "more GPUs than this build lists");
  free(pds);
  return n; /* the instance is the process's (still_vk_instance): kept */
}

#endif /* STILL_HAVE_VULKAN */
