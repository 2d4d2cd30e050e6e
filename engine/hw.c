/* hw.c — what this machine has: RAM (and the cgroup limit a container or a
 * flatpak sandbox puts on it), CPU, free disk, GPUs (vulkan/device.c).
 *
 * Free RAM for a model is MemAvailable (the kernel's estimate of what can be
 * allocated without swapping: free pages + reclaimable cache), lowered to the
 * room left under a cgroup memory limit when there is one. The cgroup room
 * is max − (current − inactive_file): memory.current counts page cache that
 * the kernel would drop before hitting the limit, so the inactive part of it
 * is subtracted (the simple max − current would call a container with a big
 * read cache full). Swap is reported but never counted as free: a model
 * whose weights swap runs at disk speed.
 */
#include "hw.h"

#include "cpu/cpu-features.h"
#include "cpu/threadpool.h"
#include "util.h"
#include "vulkan/device.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* ---- small file helpers ------------------------------------------------------------ */

/* Read a small text file (at most cap-1 bytes) into buf, NUL-terminated. */
static bool read_text(const char *root, const char *path, char *buf, size_t cap)
{
  char full[PATH_MAX];
  if ((size_t)snprintf(full, sizeof full, "%s%s", root ? root : "", path) >= sizeof full) return false;
  FILE *fp = fopen(full, "re");
  if (!fp) return false;
  size_t n = fread(buf, 1, cap - 1, fp);
  bool ok = !ferror(fp);
  fclose(fp);
  buf[n] = '\0';
  return ok;
}

/* Like read_text for files of unknown size (cpuinfo): malloc'd, or NULL. */
static char *read_text_alloc(const char *root, const char *path, size_t max)
{
  char full[PATH_MAX];
  if ((size_t)snprintf(full, sizeof full, "%s%s", root ? root : "", path) >= sizeof full) return NULL;
  FILE *fp = fopen(full, "re");
  if (!fp) return NULL;
  size_t cap = 16384, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t n = fread(buf + len, 1, cap - 1 - len, fp);
    len += n;
    if (n == 0 || len >= max) break;
    if (len == cap - 1) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(fp);
  if (buf) buf[len] = '\0';
  return buf;
}

/* ---- /proc/meminfo ----------------------------------------------------------------- */

bool still_hw_parse_meminfo(const char *text, still_meminfo *out)
{
  memset(out, 0, sizeof *out);
  if (!text) return false;
  uint64_t buffers = 0, cached = 0;
  bool has_free = false;
  for (const char *line = text; *line;) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    const char *colon = memchr(line, ':', len);
    if (colon) {
      size_t klen = (size_t)(colon - line);
      const char *p = colon + 1;
      while (p < line + len && (*p == ' ' || *p == '\t')) p++;
      char *end = (char *)p;
      errno = 0;
      unsigned long long v = p < line + len && isdigit((unsigned char)*p) ? strtoull(p, &end, 10) : 0;
      if (end != p && errno == 0 && end <= line + len) {
        while (end < line + len && *end == ' ') end++;
        /* values are in kB (KiB) when a unit is given; HugePages_* have none */
        uint64_t bytes = v;
        if (end + 2 <= line + len && (end[0] == 'k' || end[0] == 'K') && (end[1] == 'B' || end[1] == 'b')) {
          if (!still_mul_u64(v, 1024, &bytes)) bytes = UINT64_MAX;
        }
#define IS(k) (klen == sizeof(k) - 1 && memcmp(line, k, klen) == 0)
        if (IS("MemTotal")) {
          out->mem_total = bytes;
          out->has_total = true;
        } else if (IS("MemFree")) {
          out->mem_free = bytes;
          has_free = true;
        } else if (IS("MemAvailable")) {
          out->mem_available = bytes;
          out->has_available = true;
        } else if (IS("Buffers")) {
          buffers = bytes;
        } else if (IS("Cached")) {
          cached = bytes;
        } else if (IS("SwapTotal")) {
          out->swap_total = bytes;
        } else if (IS("SwapFree")) {
          out->swap_free = bytes;
        }
#undef IS
      }
    }
    line = eol ? eol + 1 : line + len;
  }
  if (!out->has_available && has_free) {
    uint64_t a = out->mem_free;
    if (!still_add_u64(a, buffers, &a) || !still_add_u64(a, cached, &a)) a = UINT64_MAX;
    out->mem_available = a < out->mem_total ? a : out->mem_total;
  }
  return out->has_total;
}

/* ---- cgroups ----------------------------------------------------------------------- */

bool still_hw_parse_cgroup_value(const char *text, uint64_t *out, bool *unlimited)
{
  *out = 0;
  *unlimited = false;
  if (!text) return false;
  while (*text == ' ' || *text == '\t') text++;
  if (strncmp(text, "max", 3) == 0) {
    const char *e = text + 3;
    while (*e == ' ' || *e == '\t' || *e == '\n' || *e == '\r') e++;
    if (*e) return false;
    *unlimited = true;
    *out = UINT64_MAX;
    return true;
  }
  if (!isdigit((unsigned char)*text)) return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0) return false;
  while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') end++;
  if (*end) return false;
  *out = v;
  /* cgroup v1 writes "no limit" as the largest page-aligned signed 64-bit value */
  if (v >= (1ull << 62)) *unlimited = true;
  return true;
}

bool still_hw_parse_memory_stat(const char *text, const char *key, uint64_t *out)
{
  if (!text || !key) return false;
  size_t klen = strlen(key);
  for (const char *line = text; *line;) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len > klen && memcmp(line, key, klen) == 0 && line[klen] == ' ') {
      char *end;
      errno = 0;
      unsigned long long v = strtoull(line + klen + 1, &end, 10);
      if (errno == 0 && end != line + klen + 1) {
        *out = v;
        return true;
      }
    }
    line = eol ? eol + 1 : line + len;
  }
  return false;
}

bool still_hw_cgroup_path(const char *text, bool v2, char *out, size_t size)
{
  if (!text || size == 0) return false;
  for (const char *line = text; *line;) {
    const char *eol = strchr(line, '\n');
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    /* "hierarchy-ID:controller-list:path" */
    const char *c1 = memchr(line, ':', len);
    const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(line + len - c1 - 1)) : NULL;
    if (c1 && c2) {
      const char *ctl = c1 + 1;
      size_t ctl_len = (size_t)(c2 - ctl);
      bool match = false;
      if (v2) {
        match = c1 - line == 1 && line[0] == '0' && ctl_len == 0;
      } else {
        for (const char *p = ctl; p < c2;) {
          const char *comma = memchr(p, ',', (size_t)(c2 - p));
          const char *e = comma ? comma : c2;
          if (e - p == 6 && memcmp(p, "memory", 6) == 0) match = true;
          p = e + 1;
        }
      }
      size_t plen = (size_t)(line + len - c2 - 1);
      if (match && plen > 0 && c2[1] == '/' && plen < size) {
        memcpy(out, c2 + 1, plen);
        out[plen] = '\0';
        return true;
      }
    }
    line = eol ? eol + 1 : line + len;
  }
  return false;
}

uint64_t still_hw_cgroup_room(uint64_t max, uint64_t current, uint64_t reclaimable)
{
  uint64_t used = current > reclaimable ? current - reclaimable : 0;
  return max > used ? max - used : 0;
}

/* Look at the cgroup folder mount+path and every parent up to mount: the
 * tightest limit wins (a parent's limit caps its children). Returns true when
 * some level has a limit; *room, *max, *current describe that level. */
static bool cgroup_limit(const char *root, const char *mount, const char *path, bool v2, uint64_t *room,
                         uint64_t *max_out, uint64_t *cur_out)
{
  char dir[PATH_MAX], file[PATH_MAX + 32], buf[4096];
  bool found = false;
  if ((size_t)snprintf(dir, sizeof dir, "%s%s", mount, strcmp(path, "/") == 0 ? "" : path) >= sizeof dir) return false;
  /* a namespaced container shows a path that does not exist under its own
   * mount (its cgroup is the mount root): walking up covers that too */
  for (;;) {
    snprintf(file, sizeof file, "%s/%s", dir, v2 ? "memory.max" : "memory.limit_in_bytes");
    uint64_t max, cur;
    bool unlimited;
    if (read_text(root, file, buf, sizeof buf) && still_hw_parse_cgroup_value(buf, &max, &unlimited) && !unlimited) {
      snprintf(file, sizeof file, "%s/%s", dir, v2 ? "memory.current" : "memory.usage_in_bytes");
      bool cur_unl;
      if (!read_text(root, file, buf, sizeof buf) || !still_hw_parse_cgroup_value(buf, &cur, &cur_unl)) cur = 0;
      uint64_t inactive = 0;
      snprintf(file, sizeof file, "%s/memory.stat", dir);
      if (read_text(root, file, buf, sizeof buf)) {
        if (!still_hw_parse_memory_stat(buf, v2 ? "inactive_file" : "total_inactive_file", &inactive))
          still_hw_parse_memory_stat(buf, "inactive_file", &inactive);
      }
      uint64_t r = still_hw_cgroup_room(max, cur, inactive);
      if (!found || r < *room) {
        *room = r;
        *max_out = max;
        *cur_out = cur;
      }
      found = true;
    }
    if (strcmp(dir, mount) == 0) break;
    char *slash = strrchr(dir, '/');
    if (!slash || (size_t)(slash - dir) < strlen(mount)) break;
    *slash = '\0';
  }
  return found;
}

void still_hw_probe_memory(const char *root, still_hardware *hw)
{
  char *text = read_text_alloc(root, "/proc/meminfo", 1 << 20);
  still_meminfo mi;
  if (text && still_hw_parse_meminfo(text, &mi)) {
    hw->ram_total = mi.mem_total;
    hw->ram_available = mi.mem_available;
    hw->swap_total = mi.swap_total;
    hw->swap_free = mi.swap_free;
  }
  free(text);
  hw->ram_free = hw->ram_available;
  hw->cgroup_limited = false;

  char *cg = read_text_alloc(root, "/proc/self/cgroup", 1 << 16);
  if (!cg) return;
  char path[PATH_MAX];
  uint64_t room = 0, max = 0, cur = 0;
  bool limited = false;
  if (still_hw_cgroup_path(cg, true, path, sizeof path)) {
    /* pure v2 at /sys/fs/cgroup, or the hybrid layout's v2 tree */
    limited = cgroup_limit(root, "/sys/fs/cgroup", path, true, &room, &max, &cur) ||
              cgroup_limit(root, "/sys/fs/cgroup/unified", path, true, &room, &max, &cur);
  }
  if (!limited && still_hw_cgroup_path(cg, false, path, sizeof path))
    limited = cgroup_limit(root, "/sys/fs/cgroup/memory", path, false, &room, &max, &cur);
  free(cg);
  if (!limited) return;
  hw->cgroup_limited = true;
  hw->cgroup_max = max;
  hw->cgroup_current = cur;
  if (room < hw->ram_free) hw->ram_free = room;
}

/* ---- CPU --------------------------------------------------------------------------- */

static void trim_copy(char *dst, size_t size, const char *src, size_t len)
{
  while (len && isspace((unsigned char)*src)) {
    src++;
    len--;
  }
  while (len && isspace((unsigned char)src[len - 1])) len--;
  /* collapse runs of spaces ("Intel(R) Xeon(R) CPU    E5-2680") */
  size_t o = 0;
  for (size_t i = 0; i < len && o + 1 < size; i++) {
    if (isspace((unsigned char)src[i]) && o && dst[o - 1] == ' ') continue;
    dst[o++] = isspace((unsigned char)src[i]) ? ' ' : src[i];
  }
  dst[o] = '\0';
}

/* First value of a "key : value" line of /proc/cpuinfo among keys, in order of preference. */
static bool cpuinfo_value(const char *text, const char *const *keys, size_t n_keys, char *out, size_t size)
{
  for (size_t k = 0; k < n_keys; k++) {
    size_t klen = strlen(keys[k]);
    for (const char *line = text; *line;) {
      const char *eol = strchr(line, '\n');
      size_t len = eol ? (size_t)(eol - line) : strlen(line);
      if (len > klen && strncasecmp(line, keys[k], klen) == 0) {
        const char *p = line + klen;
        while (p < line + len && (*p == ' ' || *p == '\t')) p++;
        if (p < line + len && *p == ':') {
          trim_copy(out, size, p + 1, (size_t)(line + len - p - 1));
          if (out[0]) return true;
        }
      }
      line = eol ? eol + 1 : line + len;
    }
  }
  return false;
}

void still_hw_probe_cpu(const char *root, still_hardware *hw)
{
  snprintf(hw->cpu_name, sizeof hw->cpu_name, "unknown CPU");
  char *text = read_text_alloc(root, "/proc/cpuinfo", 4 << 20);
  if (text) {
    static const char *const keys[] = {"model name", "Model", "Hardware", "cpu model", "uarch", "Processor", "cpu"};
    cpuinfo_value(text, keys, sizeof keys / sizeof keys[0], hw->cpu_name, sizeof hw->cpu_name);
    free(text);
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  hw->cpu_threads = n > 0 && n < INT32_MAX ? (int32_t)n : 1;
  hw->cpu_cores = still_cpu_physical_cores();
  if (hw->cpu_cores < 1) hw->cpu_cores = 1;
  if (hw->cpu_cores > hw->cpu_threads) hw->cpu_threads = hw->cpu_cores;
  const still_cpu_features *f = still_cpu_get_features();
  hw->avx2 = f->avx2;
  hw->avx512 = f->avx512f;
  hw->vnni = f->avx512_vnni || f->avx_vnni;
  if (hw->cpu_bandwidth_gbs <= 0) hw->cpu_bandwidth_gbs = STILL_DEFAULT_CPU_BANDWIDTH_GBS;
}

/* ---- disk -------------------------------------------------------------------------- */

bool still_hw_disk_free(const char *dir, uint64_t *out)
{
  if (!dir || !*dir) return false;
  char path[PATH_MAX];
  if (strlen(dir) >= sizeof path) return false;
  strcpy(path, dir);
  for (;;) {
    struct statvfs sv;
    if (statvfs(path, &sv) == 0) {
      uint64_t b;
      if (!still_mul_u64((uint64_t)sv.f_bavail, (uint64_t)(sv.f_frsize ? sv.f_frsize : sv.f_bsize), &b)) b = UINT64_MAX;
      *out = b;
      return true;
    }
    if (errno != ENOENT && errno != ENOTDIR) return false;
    /* the models folder may not exist yet: ask about the folder it will be made in */
    char *slash = strrchr(path, '/');
    if (!slash) {
      strcpy(path, ".");
      continue;
    }
    if (slash == path) {
      if (path[1] == '\0') return false;
      path[1] = '\0';
    } else {
      *slash = '\0';
    }
  }
}

/* ---- GPUs -------------------------------------------------------------------------- */

/* Memory bandwidth of common cards, GB/s, from the vendors' spec sheets. The
 * laptop entries take the lower figure where a chip ships with several memory
 * configurations (the fit estimator's "expect ~N tok/s" must not promise more
 * than the card gives); some desktop entries are the common configuration
 * (RTX 3060: 360, the 12 GB card; the 8 GB one has 240).
 *
 * Matching (still_gpu_bandwidth_gbs): an entry matches when its text occurs in
 * the Vulkan device name, ASCII case-insensitive, at word boundaries: the
 * characters right before and after it are not letters or digits (or are the
 * start/end). So "RX 7600M" does not take "RX 7600", "RTX A1000" does not take
 * "A100", and "RX 7900 XTX" does not take "RX 7900 XT". The longest matching
 * entry wins ("RTX 4070 Ti" before "RTX 4070").
 *
 * mobile: true marks a laptop/mobile entry. A laptop/mobile name (is_mobile_name)
 * takes only such entries: its desktop namesake is a different, slower
 * configuration (an "RTX 4090 Laptop GPU" has 576 GB/s, the desktop RTX 4090
 * 1008). NVIDIA's laptop entries carry the word "Laptop" as the driver names
 * them ("NVIDIA GeForce RTX 4090 Laptop GPU"); AMD's mobile parts have their
 * own model names ("RX 7600M XT", "RX 6800S"). Left out for want of a sure
 * figure: RTX 5050 Laptop, RX 6700S, the Turing laptops and 3050 6GB/A Laptop. */
static const struct {
  const char *name;
  double gbs;
  bool mobile;
} gpu_bandwidth[] = {
  /* desktop and data-centre cards */
  {"RTX 5090", 1792}, {"RTX 5080", 960},  {"RTX 5070 Ti", 896}, {"RTX 5070", 672}, {"RTX 5060 Ti", 448},
  {"RTX 5060", 448},
  {"RTX 4090", 1008}, {"RTX 4080 SUPER", 736}, {"RTX 4080", 717}, {"RTX 4070 Ti SUPER", 672},
  {"RTX 4070 Ti", 504}, {"RTX 4070 SUPER", 504}, {"RTX 4070", 504}, {"RTX 4060 Ti", 288}, {"RTX 4060", 272},
  {"RTX 3090 Ti", 1008}, {"RTX 3090", 936}, {"RTX 3080 Ti", 912}, {"RTX 3080", 760}, {"RTX 3070 Ti", 608},
  {"RTX 3070", 448},  {"RTX 3060 Ti", 448}, {"RTX 3060", 360}, {"RTX 3050", 224}, {"RTX 2080 Ti", 616},
  {"RTX 2080 SUPER", 496}, {"RTX 2080", 448}, {"RTX 2070 SUPER", 448}, {"RTX 2070", 448},
  {"RTX 2060 SUPER", 448}, {"RTX 2060", 336}, {"GTX 1660", 192},
  {"GTX 1650", 128},  {"GTX 1080 Ti", 484}, {"GTX 1080", 320}, {"GTX 1070", 256}, {"GTX 1060", 192},
  {"GTX 960", 112},   {"TITAN RTX", 672}, {"RTX 6000 Ada", 960}, {"RTX A6000", 768}, {"Quadro RTX 8000", 672},
  {"L40S", 864},      {"A100", 1555}, {"A100-SXM4-80GB", 2039}, {"A100 80GB PCIe", 1935},
  {"H100 PCIe", 2039}, {"H100 NVL", 3900}, {"H100", 3350}, {"H200", 4800}, {"GH200", 4000},
  {"RX 7900 XTX", 960}, {"RX 7900 XT", 800}, {"RX 7900 GRE", 576}, {"RX 7800 XT", 624}, {"RX 7700 XT", 432},
  {"RX 7600 XT", 288}, {"RX 7600", 288},   {"RX 9070 XT", 640}, {"RX 9070", 640}, {"RX 9060 XT", 320},
  {"RX 6950 XT", 576}, {"RX 6900 XT", 512},
  {"RX 6800 XT", 512}, {"RX 6800", 512}, {"RX 6750 XT", 432}, {"RX 6700 XT", 384}, {"RX 6650 XT", 280},
  {"RX 6600 XT", 256}, {"RX 6600", 224}, {"RX 5700 XT", 448}, {"RX 580", 256}, {"Radeon VII", 1024},
  {"Arc A770", 560},  {"Arc A750", 512}, {"Arc B580", 456}, {"Arc B570", 380},
  /* the same as the drivers spell them: "Intel(R) Arc(tm) A770 Graphics (DG2)" */
  {"Arc(tm) A770", 560}, {"Arc(tm) A750", 512}, {"Arc(tm) B580", 456}, {"Arc(tm) B570", 380},
  {"Apple M1 Max", 400}, {"Apple M1 Pro", 200}, {"Apple M1", 68}, {"Apple M2 Max", 400}, {"Apple M2 Pro", 200},
  {"Apple M2", 100},   {"Apple M1 Ultra", 800}, {"Apple M2 Ultra", 800}, {"Apple M3 Max", 400},
  {"Apple M3 Pro", 150}, {"Apple M3 Ultra", 819}, {"Apple M3", 100}, {"Apple M4 Max", 546},
  {"Apple M4 Pro", 273}, {"Apple M4", 120},
  /* laptop GPUs (NVIDIA) */
  {"RTX 5090 Laptop", 896, true}, {"RTX 5080 Laptop", 896, true}, {"RTX 5070 Ti Laptop", 672, true},
  {"RTX 5070 Laptop", 384, true}, {"RTX 5060 Laptop", 384, true},
  {"RTX 4090 Laptop", 576, true}, {"RTX 4080 Laptop", 432, true}, {"RTX 4070 Laptop", 256, true},
  {"RTX 4060 Laptop", 256, true}, {"RTX 4050 Laptop", 192, true},
  {"RTX 3080 Ti Laptop", 512, true}, {"RTX 3080 Laptop", 384, true}, {"RTX 3070 Ti Laptop", 448, true},
  {"RTX 3070 Laptop", 384, true}, {"RTX 3060 Laptop", 336, true}, {"RTX 3050 Ti Laptop", 192, true},
  {"RTX 3050 Laptop", 192, true},
  /* mobile GPUs (AMD) */
  {"RX 7900M", 576, true}, {"RX 7600M XT", 288, true}, {"RX 7600M", 256, true}, {"RX 7600S", 256, true},
  {"RX 6850M XT", 432, true}, {"RX 6800M", 384, true}, {"RX 6800S", 256, true}, {"RX 6700M", 320, true},
  {"RX 6650M", 256, true}, {"RX 6600M", 224, true}, {"RX 6600S", 224, true},
  /* mobile GPUs (Intel), as the drivers spell them */
  {"Arc(tm) A770M", 512, true}, {"Arc(tm) A730M", 336, true}, {"Arc(tm) A370M", 112, true},
};

/* A letter or digit in ASCII (no locale: device names are matched byte-wise;
 * a byte of a UTF-8 sign such as "™" counts as a separator). */
static bool is_word_char(char c)
{
  const unsigned char u = (unsigned char)c;
  return (u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z');
}

/* True when needle occurs in hay, ASCII case-insensitive, at word boundaries:
 * no letter or digit right before or right after the occurrence. */
static bool contains_ci(const char *hay, const char *needle)
{
  const size_t n = strlen(needle);
  if (n == 0) return false;
  for (const char *p = hay; *p; p++) {
    /* strncasecmp stops at hay's end, so p[n] is read only when p has n chars */
    if (strncasecmp(p, needle, n) == 0 && (p == hay || !is_word_char(p[-1])) && !is_word_char(p[n])) return true;
  }
  return false;
}

/* A laptop/mobile GPU by its name: the word "Laptop", "Mobile" or "Max-Q"
 * (NVIDIA: "... RTX 4070 Laptop GPU", "... GTX 1060 with Max-Q Design"), or a
 * 3- or 4-digit model number with an M or S suffix right after the word "RX",
 * "GTX" or "Pro" (AMD: "RX 7600M XT", "RX 6800S", "Radeon Pro 5500M"; older
 * NVIDIA: "GTX 980M"), or after Intel's "Arc(tm) A" ("Arc(tm) A370M"). */
static bool is_mobile_name(const char *name)
{
  if (contains_ci(name, "Laptop") || contains_ci(name, "Mobile") || contains_ci(name, "Max-Q")) return true;
  static const char *const series[] = {"RX ", "GTX ", "Pro ", "Arc(tm) A", "Arc A"};
  for (const char *p = name; *p; p++) {
    if (p != name && is_word_char(p[-1])) continue;
    for (size_t s = 0; s < sizeof series / sizeof series[0]; s++) {
      const size_t len = strlen(series[s]);
      if (strncasecmp(p, series[s], len) != 0) continue;
      const char *q = p + len;
      size_t digits = 0;
      while (q[digits] >= '0' && q[digits] <= '9') digits++;
      const char suffix = (char)(q[digits] | 0x20);
      if (digits >= 3 && digits <= 4 && (suffix == 'm' || suffix == 's') && !is_word_char(q[digits + 1])) return true;
    }
  }
  return false;
}

double still_gpu_bandwidth_gbs(const char *name, still_gpu_kind kind, bool *known)
{
  const bool mobile = name && is_mobile_name(name);
  size_t best_len = 0;
  double best = 0;
  for (size_t i = 0; name && i < sizeof gpu_bandwidth / sizeof gpu_bandwidth[0]; i++) {
    if (mobile && !gpu_bandwidth[i].mobile) continue; /* a laptop's namesake desktop card is faster */
    size_t len = strlen(gpu_bandwidth[i].name);
    if (len > best_len && contains_ci(name, gpu_bandwidth[i].name)) {
      best_len = len;
      best = gpu_bandwidth[i].gbs;
    }
  }
  if (known) *known = best_len > 0;
  if (best_len) return best;
  /* conservative guesses: an entry-level discrete card (a laptop one: the
   * common 96/128-bit parts); an iGPU on dual-channel DDR5 */
  switch (kind) {
  case STILL_GPU_DISCRETE: return mobile ? 192.0 : 250.0;
  case STILL_GPU_INTEGRATED: return 70.0;
  case STILL_GPU_CPU: return STILL_DEFAULT_CPU_BANDWIDTH_GBS;
  default: return 100.0;
  }
}

const char *still_gpu_kind_name(still_gpu_kind k)
{
  switch (k) {
  case STILL_GPU_DISCRETE: return "discrete";
  case STILL_GPU_INTEGRATED: return "integrated";
  case STILL_GPU_VIRTUAL: return "virtual";
  case STILL_GPU_CPU: return "cpu";
  default: return "other";
  }
}

const char *still_int8_dot_name(uint8_t v)
{
  return v == STILL_INT8_DOT_HARDWARE ? "hardware" : v == STILL_INT8_DOT_EMULATED ? "emulated" : "none";
}

/* ---- public ------------------------------------------------------------------------ */

still_status still_hardware_probe(still_hardware *hw, const char *models_dir, still_error *err)
{
  if (!hw) return still_set_error(err, STILL_ERR_INVALID_ARG, "no hardware struct to fill");
  memset(hw, 0, sizeof *hw);
  still_hw_probe_memory("", hw);
  if (hw->ram_total == 0)
    return still_set_error(err, STILL_ERR_IO, "cannot read /proc/meminfo: the amount of memory is unknown");
  still_hw_probe_cpu("", hw);
  hw->disk_known = still_hw_disk_free(models_dir, &hw->disk_free);

  int n = still_vk_enumerate(hw->gpus, STILL_MAX_GPUS, &hw->vulkan, hw->gpu_note, sizeof hw->gpu_note);
  hw->n_gpus = n;
  for (int i = 0; i < n; i++) {
    still_gpu *g = &hw->gpus[i];
    g->bandwidth_gbs = still_gpu_bandwidth_gbs(g->name, g->kind, &g->bandwidth_known);
    /* a CPU "GPU" is as fast as the RAM it lives in */
    if (g->cpu_emulated) g->bandwidth_gbs = hw->cpu_bandwidth_gbs;
  }
  return STILL_OK;
}

void still_hardware_set_memory_bandwidth(still_hardware *hw, double gbs)
{
  if (!hw || !(gbs > 0)) return;
  hw->cpu_bandwidth_gbs = gbs;
  hw->cpu_bandwidth_measured = true;
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++) {
    still_gpu *g = &hw->gpus[i];
    if (g->cpu_emulated || (g->unified && !g->bandwidth_known)) {
      g->bandwidth_gbs = gbs;
      g->bandwidth_measured = true;
    }
  }
}

int still_hardware_default_gpu(const still_hardware *hw)
{
  if (!hw) return -1;
  const int n = hw->n_gpus < STILL_MAX_GPUS ? hw->n_gpus : STILL_MAX_GPUS;
  int best = -1, best_rank = -1;
  for (int i = 0; i < n; i++) {
    const still_gpu *g = &hw->gpus[i];
    /* as vk-context.c ranks VkPhysicalDeviceType */
    int rank = g->cpu_emulated ? 0
               : g->kind == STILL_GPU_DISCRETE   ? 4
               : g->kind == STILL_GPU_INTEGRATED ? 3
               : g->kind == STILL_GPU_VIRTUAL    ? 2
               : g->kind == STILL_GPU_CPU        ? 0
                                                 : 1;
    if (rank > best_rank) {
      best_rank = rank;
      best = i;
    }
  }
  return best_rank == 0 && n > 1 ? -1 : best;
}

int still_gpu_selector(const still_hardware *hw, int index, char *out, size_t size)
{
  const int n = hw ? (hw->n_gpus < STILL_MAX_GPUS ? hw->n_gpus : STILL_MAX_GPUS) : 0;
  bool unique = index >= 0 && index < n && hw->gpus[index].uuid_known;
  for (int i = 0; unique && i < n; i++)
    if (i != index && hw->gpus[i].uuid_known && memcmp(hw->gpus[i].uuid, hw->gpus[index].uuid, 16) == 0)
      unique = false;
  return unique ? still_gpu_uuid_string(&hw->gpus[index], out, size) : snprintf(out, size, "%d", index);
}

int still_gpu_uuid_string(const still_gpu *g, char *out, size_t size)
{
  if (!g || !g->uuid_known) return snprintf(out, size, "%s", "");
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", g->uuid[i]);
  return snprintf(out, size, "uuid:%s", hex);
}

bool still_gpu_selectors(const still_hardware *hw, const char *devices, char *out, size_t size)
{
  if (!out || size == 0) return false;
  out[0] = '\0';
  size_t len = 0;
  for (const char *p = devices ? devices : ""; *p;) {
    const char *end = strchr(p, ',');
    const size_t tok = end ? (size_t)(end - p) : strlen(p);
    char item[64];
    int need;
    bool digits = tok > 0 && tok < 4;
    for (size_t i = 0; digits && i < tok; i++) digits = p[i] >= '0' && p[i] <= '9';
    if (digits) {
      char num[4];
      memcpy(num, p, tok);
      num[tok] = '\0';
      need = still_gpu_selector(hw, atoi(num), item, sizeof item);
    } else {
      need = snprintf(item, sizeof item, "%.*s", (int)tok, p);
    }
    if (need < 0 || (size_t)need >= sizeof item || len + (len ? 1 : 0) + (size_t)need >= size) {
      out[0] = '\0';
      return false;
    }
    len += (size_t)snprintf(out + len, size - len, "%s%s", len ? "," : "", item);
    if (!end) break;
    p = end + 1;
  }
  return true;
}

void still_hardware_simulated(still_hardware *hw, uint64_t ram_free, int n_gpus, const uint64_t *vram_free,
                              bool unified, double gpu_bandwidth_gbs, double cpu_bandwidth_gbs)
{
  memset(hw, 0, sizeof *hw);
  if (n_gpus < 0) n_gpus = 0;
  if (n_gpus > STILL_MAX_GPUS) n_gpus = STILL_MAX_GPUS;
  if (unified && n_gpus > 1) n_gpus = 1;
  if (unified && n_gpus == 1 && ram_free == 0) ram_free = vram_free[0];
  hw->ram_total = hw->ram_available = hw->ram_free = ram_free;
  snprintf(hw->cpu_name, sizeof hw->cpu_name, "simulated CPU");
  hw->cpu_cores = 8;
  hw->cpu_threads = 16;
  hw->cpu_bandwidth_gbs = cpu_bandwidth_gbs > 0 ? cpu_bandwidth_gbs : STILL_DEFAULT_CPU_BANDWIDTH_GBS;
  hw->n_gpus = n_gpus;
  for (int i = 0; i < n_gpus; i++) {
    still_gpu *g = &hw->gpus[i];
    snprintf(g->name, sizeof g->name, "simulated %s GPU %d", unified ? "unified" : "discrete", i);
    g->kind = unified ? STILL_GPU_INTEGRATED : STILL_GPU_DISCRETE;
    g->unified = unified;
    g->total_bytes = g->free_bytes = vram_free[i];
    g->free_known = true;
    if (gpu_bandwidth_gbs > 0) {
      g->bandwidth_gbs = gpu_bandwidth_gbs;
      g->bandwidth_known = true;
    } else {
      g->bandwidth_gbs = still_gpu_bandwidth_gbs(NULL, g->kind, &g->bandwidth_known);
    }
  }
}
