/* gemm.h — multi-token matrix products (prompt processing, batched
 * attention) that give exactly the vec_dot results.
 *
 * A prompt of T tokens multiplies every weight row with T activation rows.
 * Calling vec_dot T times per row decodes each quantized weight block T
 * times; these kernels decode a block once (nibbles unpacked, scales
 * expanded: the part of the work that depends only on the weights) and dot
 * it with the activations of several tokens while it sits in registers.
 *
 * Contract: for every row r < n_rows and token t < n_tok
 *     y[t * y_stride + r] = dot(n, w + r * w_stride, x + t * x_stride)
 * where the value of each element depends only on (wtype, isa, n, that row,
 * that token): not on the tile it falls in, the number of rows or tokens of
 * the call, or the strides — bit for bit. So a prompt evaluated in one
 * batch, in batches of 5 or token by token (decode uses the same kernels
 * with one token), on 1 or 16 threads, gives the same bits, and the tests
 * compare with memcmp. The integer sums are those of vec_dot; the float
 * scaling may be grouped differently (the K-quants apply their mins/offset
 * term after the block loop), so results are within float rounding of
 * still_get_vec_dot(wtype, isa) — for Q8_0 and Q4_0 with AVX512-VNNI they
 * are identical.
 * The activations are in still_vec_dot_type(wtype), as for vec_dot
 * (quantized once per matmul by still_get_quantize_row).
 * Exception, in graph.c: built with OpenBLAS, F32 / F16 / BF16 matmuls of a
 * batch of >= still_blas_min_tokens() tokens (F32 32, F16/BF16 64) go to SGEMM instead
 * (cpu/blas.h; F32 activations, weights widened per panel). Those are
 * within float rounding of these kernels, not their bits (still independent
 * of the thread count); STILL_BLAS=0 keeps every matmul on this contract.
 *
 * Not every (type, ISA) has a multi-token kernel: still_get_gemm returns
 * NULL then, and still_gemm_run falls back to one vec_dot per element (also
 * for rows longer than STILL_GEMM_MAX_N values; the decision depends on n
 * only, so it is the same for every call of a matrix).
 * Cache blocking over tokens and rows is the caller's job (graph.c): the
 * kernels walk their rows in order and, for each row, the tokens in groups
 * of a few; keep the activations of the tokens passed in one call within
 * L2 and the rows passed together within L1/L2.
 */
#ifndef STILL_CPU_GEMM_H
#define STILL_CPU_GEMM_H

#include "cpu/vec.h"

#include <stddef.h>
#include <stdint.h>

/* Longest row the kernels take (they keep per-block vectors on the stack). */
#define STILL_GEMM_MAX_N 32768

/* n: values per row (a multiple of the block size); w_stride / x_stride in
 * bytes; y_stride in floats. */
typedef void (*still_gemm_fn)(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,
                              size_t x_stride, float *y, int64_t y_stride);

/* The multi-token kernel for the ISA level that still_get_vec_dot(wtype,
 * isa) resolves to, or NULL when that level has none — except that the
 * types whose vec_dot stops at AVX2 (Q2_K, Q3_K, and with VNNI Q4_1, Q5_0,
 * Q5_1, IQ4_NL, IQ4_XS) get an AVX-512 kernel when isa allows it; those are within
 * float rounding of vec_dot, not its bits. Every type with a vec_dot has a
 * kernel at every SIMD level (scalar: NULL). */
still_gemm_fn still_get_gemm(uint32_t wtype, still_isa isa);

/* Run fn, or (fn NULL) dot once per element: the same contract either way. */
void still_gemm_run(still_gemm_fn fn, still_vec_dot_fn dot, int64_t n, int64_t n_rows, int n_tok, const void *w,
                    size_t w_stride, const void *x, size_t x_stride, float *y, int64_t y_stride);

#endif /* STILL_CPU_GEMM_H */
