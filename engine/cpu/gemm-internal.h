/* gemm-internal.h — the per-ISA lookups of the multi-token kernels (see
 * gemm.h), called by gemm.c only. Each returns NULL when that ISA has no
 * kernel for the type or the file was built without the ISA. */
#ifndef STILL_CPU_GEMM_INTERNAL_H
#define STILL_CPU_GEMM_INTERNAL_H

#include "cpu/gemm.h"

#include <stdbool.h>
#include <stdint.h>

still_gemm_fn still_gemm_avx2(uint32_t wtype);
still_gemm_fn still_gemm_avx512(uint32_t wtype, bool vnni);

#endif /* STILL_CPU_GEMM_INTERNAL_H */
