/* cpu-features.h — what the CPU *and the OS* let us run.
 *
 * cpuid says what the silicon has; xgetbv (XCR0) says which register state
 * the OS saves on context switch. A feature is reported only when both agree
 * (AVX2 needs YMM state, AVX-512 needs opmask + ZMM state). AMX additionally
 * needs the Linux permission call (arch_prctl ARCH_REQ_XCOMP_PERM) and must
 * survive a guarded trial run, because some VMs advertise it but fault.
 * Detection runs once (thread-safe) and is cached.
 */
#ifndef STILL_CPU_FEATURES_H
#define STILL_CPU_FEATURES_H

#include <stdbool.h>

typedef struct {
  bool avx;         /* AVX with YMM state enabled by the OS */
  bool avx2;
  bool fma;
  bool f16c;
  bool avx512f;     /* these need opmask + ZMM state in XCR0 */
  bool avx512bw;
  bool avx512vl;
  bool avx512dq;
  bool avx512_vnni;
  bool avx512_bf16;
  bool avx_vnni;    /* VEX-encoded VNNI (Alder Lake and later without AVX-512) */
  bool amx_tile;    /* cpuid + XCR0 + permission + trial all succeeded */
  bool amx_int8;
  bool amx_bf16;
  bool amx_cpuid;   /* cpuid advertises AMX-TILE (whether usable or not) */
} still_cpu_features;

/* The detected features (never NULL; all false on non-x86 machines). */
const still_cpu_features *still_cpu_get_features(void);

/* "AVX2 FMA F16C AVX512F AVX512BW AVX512VL AVX512DQ AVX512-VNNI …" for the
 * CLI; "none" when nothing of interest is usable. Static storage. */
const char *still_cpu_feature_string(void);

/* The guarded AMX trial on its own (tests use it to prove the SIGILL guard
 * works on machines without AMX): optionally asks for the Linux
 * permission, then runs ldtilecfg/tilezero/tilerelease with SIGILL and
 * SIGSEGV caught. True when the instructions ran. */
bool still_cpu_amx_trial(bool request_permission);

#endif /* STILL_CPU_FEATURES_H */
