/* features.c — runtime CPU feature detection (cpuid + xgetbv + AMX probe),
 * the ISA level used for kernel dispatch, and the physical core count. */
#include "cpu/cpu-features.h"
#include "cpu/threadpool.h"
#include "cpu/vec.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#define STILL_X86 1
#include <cpuid.h>
#include <setjmp.h>
#include <signal.h>
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#endif

static still_cpu_features features;
static still_isa hw_isa = STILL_ISA_SCALAR;
static still_isa capped_isa = STILL_ISA_SCALAR;
static char feature_string[256];
static pthread_once_t detect_once = PTHREAD_ONCE_INIT;

#ifdef STILL_X86

/* XCR0 bits: which register state the OS saves (and so lets us use). */
#define XCR0_SSE (1u << 1)
#define XCR0_YMM (1u << 2)
#define XCR0_OPMASK (1u << 5)
#define XCR0_ZMM_HI256 (1u << 6)
#define XCR0_HI16_ZMM (1u << 7)
#define XCR0_TILECFG (1u << 17)
#define XCR0_TILEDATA (1u << 18)

static uint64_t read_xcr0(void)
{
  uint32_t lo, hi;
  /* xgetbv with ecx = 0; encoded as bytes so no -mxsave is needed */
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

static bool cpuid_count(unsigned leaf, unsigned sub, unsigned r[4])
{
  if (__get_cpuid_max(0, NULL) < leaf) {
    r[0] = r[1] = r[2] = r[3] = 0;
    return false;
  }
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
  return true;
}

#if defined(__x86_64__) && defined(__linux__)
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static sigjmp_buf amx_jmp;
static _Thread_local volatile sig_atomic_t amx_in_trial;
static struct sigaction amx_old_ill, amx_old_segv;

/* Only the probing thread jumps back; a fault in any other thread during
 * the short trial window gets its old handler back and re-executes the
 * faulting instruction, so it is handled as if we had never been here. */
static void amx_trap(int sig)
{
  if (amx_in_trial) siglongjmp(amx_jmp, 1);
  sigaction(sig, sig == SIGILL ? &amx_old_ill : &amx_old_segv, NULL);
}

/* Ask Linux for permission to use AMX tile data, then execute ldtilecfg,
 * tilezero and tilerelease with SIGILL/SIGSEGV caught: some hypervisors
 * advertise AMX in cpuid and even grant the permission, yet fault on use.
 * The instructions are emitted as bytes so the file needs no -mamx flags. */
static bool amx_trial(bool request_permission)
{
  if (request_permission && syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) != 0) return false;

  /* palette 1, tile 0 = 1 row of 4 bytes: the smallest valid configuration */
  static _Alignas(64) uint8_t cfg[64];
  memset(cfg, 0, sizeof cfg);
  cfg[0] = 1;
  cfg[16] = 4; /* colsb[0] (uint16, little endian) */
  cfg[48] = 1; /* rows[0] */

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = amx_trap;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGILL, &sa, &amx_old_ill) != 0) return false;
  if (sigaction(SIGSEGV, &sa, &amx_old_segv) != 0) {
    sigaction(SIGILL, &amx_old_ill, NULL);
    return false;
  }
  volatile bool ok = false;
  amx_in_trial = 1;
  if (sigsetjmp(amx_jmp, 1) == 0) {
    __asm__ volatile(".byte 0xc4, 0xe2, 0x78, 0x49, 0x00\n\t" /* ldtilecfg (%rax) */
                     ".byte 0xc4, 0xe2, 0x7b, 0x49, 0xc0\n\t" /* tilezero %tmm0 */
                     ".byte 0xc4, 0xe2, 0x78, 0x49, 0xc0\n\t" /* tilerelease */
                     :
                     : "a"(cfg)
                     : "memory");
    ok = true;
  }
  amx_in_trial = 0;
  sigaction(SIGSEGV, &amx_old_segv, NULL);
  sigaction(SIGILL, &amx_old_ill, NULL);
  return ok;
}
#else
static bool amx_trial(bool request_permission)
{
  (void)request_permission;
  return false;
}
#endif

static void detect_x86(still_cpu_features *f)
{
  unsigned r1[4], r7[4], r71[4];
  if (!cpuid_count(1, 0, r1)) return;
  cpuid_count(7, 0, r7);
  if (r7[0] >= 1)
    cpuid_count(7, 1, r71);
  else
    r71[0] = r71[1] = r71[2] = r71[3] = 0;

  const unsigned ecx1 = r1[2];
  const bool osxsave = ecx1 & (1u << 27);
  const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool ymm_ok = (xcr0 & (XCR0_SSE | XCR0_YMM)) == (XCR0_SSE | XCR0_YMM);
  const uint64_t zmm_bits = XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM;
  const bool zmm_ok = ymm_ok && (xcr0 & zmm_bits) == zmm_bits;

  const unsigned ebx7 = r7[1], ecx7 = r7[2], edx7 = r7[3], eax71 = r71[0];

  f->avx = ymm_ok && (ecx1 & (1u << 28));
  f->fma = f->avx && (ecx1 & (1u << 12));
  f->f16c = f->avx && (ecx1 & (1u << 29));
  f->avx2 = f->avx && (ebx7 & (1u << 5));
  f->avx_vnni = f->avx2 && (eax71 & (1u << 4));
  f->avx512f = zmm_ok && (ebx7 & (1u << 16));
  f->avx512dq = f->avx512f && (ebx7 & (1u << 17));
  f->avx512bw = f->avx512f && (ebx7 & (1u << 30));
  f->avx512vl = f->avx512f && (ebx7 & (1u << 31));
  f->avx512_vnni = f->avx512f && (ecx7 & (1u << 11));
  f->avx512_bf16 = f->avx512f && (eax71 & (1u << 5));

  f->amx_cpuid = edx7 & (1u << 24);
  if (f->amx_cpuid) {
    const bool perm = still_cpu_amx_trial(true);
    /* after the permission call the kernel keeps tile state in XCR0 */
    const uint64_t xcr0_now = perm ? read_xcr0() : 0;
    const uint64_t tile_bits = XCR0_TILECFG | XCR0_TILEDATA;
    f->amx_tile = perm && (xcr0_now & tile_bits) == tile_bits;
    f->amx_int8 = f->amx_tile && (edx7 & (1u << 25));
    f->amx_bf16 = f->amx_tile && (edx7 & (1u << 22));
  }
}
#endif /* STILL_X86 */

bool still_cpu_amx_trial(bool request_permission)
{
#ifdef STILL_X86
  /* the trial uses process-wide state (signal handlers, the jump buffer) */
  static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&lock);
  const bool ok = amx_trial(request_permission);
  pthread_mutex_unlock(&lock);
  return ok;
#else
  (void)request_permission;
  return false;
#endif
}

static still_isa isa_from_env(const char *v, still_isa dflt)
{
  if (!v || !*v) return dflt;
  if (strcasecmp(v, "scalar") == 0 || strcasecmp(v, "generic") == 0) return STILL_ISA_SCALAR;
  if (strcasecmp(v, "avx2") == 0) return STILL_ISA_AVX2;
  if (strcasecmp(v, "avx512") == 0) return STILL_ISA_AVX512;
  if (strcasecmp(v, "avx512vnni") == 0 || strcasecmp(v, "avx512-vnni") == 0) return STILL_ISA_AVX512_VNNI;
  return dflt; /* unknown value: no cap */
}

static void append(char *buf, size_t size, const char *word)
{
  size_t len = strlen(buf);
  snprintf(buf + len, size - len, "%s%s", len ? " " : "", word);
}

static void detect(void)
{
#ifdef STILL_X86
  detect_x86(&features);
#endif
  const still_cpu_features *f = &features;
  if (f->avx2 && f->fma && f->f16c) {
    hw_isa = STILL_ISA_AVX2;
    if (f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq)
      hw_isa = f->avx512_vnni ? STILL_ISA_AVX512_VNNI : STILL_ISA_AVX512;
  }
  capped_isa = isa_from_env(getenv("STILL_ISA"), hw_isa);
  if (capped_isa > hw_isa) capped_isa = hw_isa;

  char *s = feature_string;
  const size_t n = sizeof feature_string;
  s[0] = '\0';
  static const struct {
    size_t offset;
    const char *name;
  } names[] = {
    {offsetof(still_cpu_features, avx), "AVX"},
    {offsetof(still_cpu_features, avx2), "AVX2"},
    {offsetof(still_cpu_features, fma), "FMA"},
    {offsetof(still_cpu_features, f16c), "F16C"},
    {offsetof(still_cpu_features, avx_vnni), "AVX-VNNI"},
    {offsetof(still_cpu_features, avx512f), "AVX512F"},
    {offsetof(still_cpu_features, avx512bw), "AVX512BW"},
    {offsetof(still_cpu_features, avx512vl), "AVX512VL"},
    {offsetof(still_cpu_features, avx512dq), "AVX512DQ"},
    {offsetof(still_cpu_features, avx512_vnni), "AVX512-VNNI"},
    {offsetof(still_cpu_features, avx512_bf16), "AVX512-BF16"},
    {offsetof(still_cpu_features, amx_tile), "AMX-TILE"},
    {offsetof(still_cpu_features, amx_int8), "AMX-INT8"},
    {offsetof(still_cpu_features, amx_bf16), "AMX-BF16"},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    bool on;
    memcpy(&on, (const char *)f + names[i].offset, sizeof on);
    if (on) append(s, n, names[i].name);
  }
  if (f->amx_cpuid && !f->amx_tile) append(s, n, "(AMX advertised but not usable)");
  if (!s[0]) snprintf(s, n, "none");
}

static void ensure_detected(void)
{
  pthread_once(&detect_once, detect);
}

const still_cpu_features *still_cpu_get_features(void)
{
  ensure_detected();
  return &features;
}

const char *still_cpu_feature_string(void)
{
  ensure_detected();
  return feature_string;
}

still_isa still_cpu_best_isa(void)
{
  ensure_detected();
  return capped_isa;
}

still_isa still_cpu_hw_isa(void)
{
  ensure_detected();
  return hw_isa;
}

const char *still_isa_name(still_isa isa)
{
  switch (isa) {
  case STILL_ISA_SCALAR: return "scalar";
  case STILL_ISA_AVX2: return "avx2";
  case STILL_ISA_AVX512: return "avx512";
  case STILL_ISA_AVX512_VNNI: return "avx512vnni";
  default: return "unknown";
  }
}

/* ---- physical cores -------------------------------------------------- */

static bool read_int_file(const char *path, long *out)
{
  FILE *fp = fopen(path, "r");
  if (!fp) return false;
  long v;
  bool ok = fscanf(fp, "%ld", &v) == 1;
  fclose(fp);
  if (ok) *out = v;
  return ok;
}

/* Count distinct (package, core) pairs among the CPUs this process may run
 * on: SMT siblings share a core and would only fight over its units, and a
 * cpuset (container, taskset) shrinks the set. */
static int count_physical_cores(void)
{
  cpu_set_t allowed;
  int n_allowed = 0;
  bool have_affinity = sched_getaffinity(0, sizeof allowed, &allowed) == 0;
  if (have_affinity) n_allowed = CPU_COUNT(&allowed);

  enum { MAX_CORES = 4096 };
  static long keys[MAX_CORES]; /* only used under pthread_once */
  int n_keys = 0;
  bool topology_ok = true;
  int n_cpus_seen = 0;

  DIR *dir = opendir("/sys/devices/system/cpu");
  if (!dir) topology_ok = false;
  struct dirent *de;
  while (topology_ok && (de = readdir(dir)) != NULL) {
    const char *name = de->d_name;
    if (strncmp(name, "cpu", 3) != 0 || !isdigit((unsigned char)name[3])) continue;
    char *end;
    long cpu = strtol(name + 3, &end, 10);
    if (*end != '\0' || cpu < 0) continue;
    if (have_affinity && (cpu >= CPU_SETSIZE || !CPU_ISSET((int)cpu, &allowed))) continue;
    char path[128];
    long core = -1, pkg = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/core_id", cpu);
    if (!read_int_file(path, &core)) {
      topology_ok = false;
      break;
    }
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%ld/topology/physical_package_id", cpu);
    read_int_file(path, &pkg);
    n_cpus_seen++;
    long key = pkg * 1000000 + core;
    bool seen = false;
    for (int i = 0; i < n_keys; i++)
      if (keys[i] == key) {
        seen = true;
        break;
      }
    if (!seen) {
      if (n_keys == MAX_CORES) {
        topology_ok = false;
        break;
      }
      keys[n_keys++] = key;
    }
  }
  if (dir) closedir(dir);

  int n = 0;
  if (topology_ok && n_cpus_seen > 0) n = n_keys;
  if (n <= 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? (int)online : 1;
    if (have_affinity && n_allowed > 0 && n_allowed < n) n = n_allowed;
  }
  return n > 0 ? n : 1;
}

static int physical_cores = 1;
static pthread_once_t cores_once = PTHREAD_ONCE_INIT;

static void detect_cores(void)
{
  physical_cores = count_physical_cores();
}

int still_cpu_physical_cores(void)
{
  pthread_once(&cores_once, detect_cores);
  return physical_cores;
}
