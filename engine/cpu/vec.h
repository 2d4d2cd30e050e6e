/* vec.h — CPU dot-product kernels with runtime ISA dispatch.
 *
 * Decode is a matrix × vector product: every weight row (a quantized type)
 * is dotted with the activations, which are quantized ONCE per matmul into
 * the weight type's "vec_dot_type" (as llama.cpp does, so results stay close
 * to its references):
 *   Q4_0, Q5_0, Q8_0, IQ4_NL        → Q8_0 activations
 *   Q4_1, Q5_1                      → Q8_1 activations
 *   Q2_K … Q6_K, IQ4_XS             → Q8_K activations
 *   F16 → F16 activations, BF16 → BF16 activations, F32 → F32.
 * Every kernel has a plain scalar version (vec-generic.c) that is the
 * oracle for the AVX2 / AVX-512 (+VNNI) versions, tested on random data.
 *
 * Definitions (all kernels compute exactly this; only the order of the
 * float additions differs between ISAs):
 *   within a block the products of the integer quants are summed exactly in
 *   integers, then scaled by the block's float scales (fp16 → float):
 *     Q4_0·Q8_0  Σ_b dx·dy·Σ(q−8)·a          Q4_1·Q8_1  Σ_b dx·dy·Σq·a + mx·sy
 *     Q4_K·Q8_K  Σ_b dy·(d·Σ_j sc_j·Σq·a − dmin·Σ_j m_j·bsum_j)   (and so on)
 *   F16/BF16/F32: Σ x·y of the widened values.
 *
 * Buffers need no particular alignment. Activations must be finite. The
 * quantized activations of Q8_0/Q8_K never contain −128 (the quantizers use
 * ±127), which the SIMD kernels rely on; only pass activations made by the
 * still_get_quantize_row() functions.
 */
#ifndef STILL_CPU_VEC_H
#define STILL_CPU_VEC_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  STILL_ISA_SCALAR = 0,
  STILL_ISA_AVX2 = 1,        /* AVX2 + FMA + F16C */
  STILL_ISA_AVX512 = 2,      /* AVX-512 F/BW/VL/DQ, without VNNI instructions */
  STILL_ISA_AVX512_VNNI = 3, /* AVX-512 F/BW/VL/DQ + AVX512-VNNI (dpbusd) */
  STILL_ISA_COUNT
} still_isa;

/* Best ISA the CPU and OS allow (cpuid + xgetbv), capped by the STILL_ISA
 * environment variable ("scalar", "avx2", "avx512", "avx512vnni"; read once)
 * for tests and benchmarks. */
still_isa still_cpu_best_isa(void);
/* Best ISA the hardware allows, ignoring STILL_ISA. */
still_isa still_cpu_hw_isa(void);
const char *still_isa_name(still_isa isa); /* "scalar", "avx2", "avx512", "avx512vnni" */

/* s = dot(x[0..n), y[0..n)) where x is a row of type wtype and y the
 * activations already quantized to still_vec_dot_type(wtype). n is a
 * multiple of the block size. */
typedef void (*still_vec_dot_fn)(int64_t n, float *s, const void *x, const void *y);
/* Quantize n floats of activations into type vtype (row-wise). */
typedef void (*still_quantize_row_fn)(const float *x, void *y, int64_t n);

/* The activation type for weights of type wtype; STILL_TYPE_COUNT (40) when
 * the type has no kernel (e.g. Q8_1 / Q8_K, which are activation formats). */
uint32_t still_vec_dot_type(uint32_t wtype);
/* NULL when the type has no kernel. isa is clamped to still_cpu_best_isa();
 * types without a kernel at that level fall back to the next lower ISA, down
 * to scalar. */
still_vec_dot_fn still_get_vec_dot(uint32_t wtype, still_isa isa);
still_quantize_row_fn still_get_quantize_row(uint32_t vtype, still_isa isa);
/* The ISA whose kernel still_get_vec_dot(wtype, isa) really returns
 * (benchmarks and the CLI report it); STILL_ISA_COUNT when there is none. */
still_isa still_vec_dot_isa(uint32_t wtype, still_isa isa);
still_isa still_quantize_row_isa(uint32_t vtype, still_isa isa);

#endif /* STILL_CPU_VEC_H */
