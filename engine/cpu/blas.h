/* blas.h — prompt matmuls of F32 / F16 / BF16 weights through OpenBLAS's
 * cblas_sgemm (built only when meson found OpenBLAS: STILL_HAVE_BLAS).
 *
 * For a batch of many tokens a float matmul is compute-bound, and a tuned
 * SGEMM (cache-blocked, register-tiled, packed panels) beats our own
 * multi-token kernels there. Decode and short batches stay on the vec_dot
 * kernels (gemm.h): below STILL_BLAS_MIN_TOKENS_F32 / _F16 tokens
 * (measured, see blas.c) SGEMM's packing does not pay.
 *
 * How: the weight rows of every job are cut into fixed panels (the panel
 * size depends only on the row length). F16 / BF16 panels are widened to
 * F32 into a per-thread scratch buffer (never the whole matrix: an 8B
 * model's ffn matrices are 235 MB in F32); F32 panels are used in place.
 * Each panel is one single-threaded cblas_sgemm call against the F32
 * activations (not rounded to F16/BF16 as vec_dot's activations are), run
 * by the workers of our own thread pool; OpenBLAS itself is set to one
 * thread so that its threads never compete with ours.
 *
 * Contract: every output element comes from the same sgemm call shape
 * (panel rows, n_tok, n_in) whatever the thread count, so 1 or 16 threads
 * give the same bits. It is NOT the bits of vec_dot: with BLAS, F32 / F16 /
 * BF16 prompt batches of >= still_blas_min_tokens() tokens (32 for F32,
 * 64 for F16/BF16) are within float rounding of
 * the token-by-token (vec_dot) results, and a batch's results may depend on
 * its size.
 *
 * When: by default only if OpenBLAS runs AVX2/AVX-512-class kernels on this
 * CPU (a DYNAMIC_ARCH OpenBLAS that does not know the CPU model falls back
 * to SSE kernels slower than ours; OPENBLAS_CORETYPE=SkylakeX fixes that).
 * Environment, read when the context is made (still_blas_new, i.e. at
 * session creation): STILL_BLAS=0 turns it off (bit-exact vec_dot path
 * everywhere), STILL_BLAS=1 turns it on whatever the OpenBLAS core,
 * STILL_BLAS_MIN_TOKENS=N sets the threshold of every type (tests).
 */
#ifndef STILL_CPU_BLAS_H
#define STILL_CPU_BLAS_H

#include "cpu/threadpool.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Tokens from which a batch goes to SGEMM (see blas.c for the numbers):
 * F32 weights; F16 and BF16 weights (the widening costs a little more). */
#define STILL_BLAS_MIN_TOKENS_F32 32
#define STILL_BLAS_MIN_TOKENS_F16 64

typedef struct still_blas still_blas;

/* One matrix of a matmul: y[t * n_out + r] = row r of w · x[t]. */
typedef struct {
  uint32_t type;      /* STILL_TYPE_F32 / F16 / BF16; other types are refused */
  const void *w;      /* n_out rows of row_bytes */
  size_t row_bytes;
  int64_t n_out;
  float *y;           /* [n_tok][n_out] */
} still_blas_job;

#ifdef STILL_HAVE_BLAS

/* A context for one graph: n_threads as its pool, rows of at most max_in
 * values. NULL when BLAS is turned off (STILL_BLAS=0, or a slow OpenBLAS
 * core without STILL_BLAS=1) or memory is short;
 * callers then use their own kernels. */
still_blas *still_blas_new(int n_threads, int64_t max_in);
void still_blas_free(still_blas *b); /* NULL is fine */

/* Whether a matmul of this weight type and batch would go to SGEMM. */
bool still_blas_wanted(const still_blas *b, uint32_t wtype, int n_tok);
int still_blas_min_tokens(const still_blas *b, uint32_t wtype); /* 0 when b is NULL */

/* y_j = W_j · x for all jobs (all take the same input x, [n_tok][n_in]
 * floats) on the pool tp (same thread count as given to still_blas_new, or
 * fewer). Returns false, having done nothing, when b is NULL, a job is not
 * still_blas_wanted (type, batch below its threshold) or n_in is larger
 * than max_in. */
bool still_blas_matmul(still_blas *b, still_threadpool *tp, const float *x, int64_t n_in, int n_tok,
                       const still_blas_job *jobs, int n_jobs);

#else /* built without OpenBLAS: never used */

static inline still_blas *still_blas_new(int n_threads, int64_t max_in)
{
  (void)n_threads;
  (void)max_in;
  return NULL;
}
static inline void still_blas_free(still_blas *b)
{
  (void)b;
}
static inline bool still_blas_wanted(const still_blas *b, uint32_t wtype, int n_tok)
{
  (void)b;
  (void)wtype;
  (void)n_tok;
  return false;
}
static inline int still_blas_min_tokens(const still_blas *b, uint32_t wtype)
{
  (void)b;
  (void)wtype;
  return 0;
}
static inline bool still_blas_matmul(still_blas *b, still_threadpool *tp, const float *x, int64_t n_in, int n_tok,
                                     const still_blas_job *jobs, int n_jobs)
{
  (void)b;
  (void)tp;
  (void)x;
  (void)n_in;
  (void)n_tok;
  (void)jobs;
  (void)n_jobs;
  return false;
}

#endif /* STILL_HAVE_BLAS */

#endif /* STILL_CPU_BLAS_H */
