/* gemm.c — picks the multi-token kernel of a (type, ISA) pair, and the
 * per-element fallback. */
#include "cpu/gemm-internal.h"
#include "types.h"

still_gemm_fn still_get_gemm(uint32_t wtype, still_isa isa)
{
  const still_isa level = still_vec_dot_isa(wtype, isa);
  if (level == STILL_ISA_COUNT) return NULL; /* no kernel for this type */
  /* some types have AVX-512 multi-token kernels although their vec_dot
   * stops at AVX2 (Q2_K, Q3_K; Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS with VNNI): the
   * prompt path is where the wider registers pay */
  const still_isa top = isa < still_cpu_best_isa() ? isa : still_cpu_best_isa();
  if (top > level && top >= STILL_ISA_AVX512) {
    still_gemm_fn fn = still_gemm_avx512(wtype, top == STILL_ISA_AVX512_VNNI);
    if (fn) return fn;
  }
  /* otherwise the level vec_dot really uses (it falls back per type, e.g.
   * Q4_0 has no AVX-512 kernel without VNNI): the multi-token kernel comes
   * from that same level, whose integer sums it shares */
  switch (level) {
  case STILL_ISA_AVX512_VNNI: return still_gemm_avx512(wtype, true);
  case STILL_ISA_AVX512: return still_gemm_avx512(wtype, false);
  case STILL_ISA_AVX2: return still_gemm_avx2(wtype);
  default: return NULL; /* scalar or no kernel: one vec_dot per element */
  }
}

void still_gemm_run(still_gemm_fn fn, still_vec_dot_fn dot, int64_t n, int64_t n_rows, int n_tok, const void *w,
                    size_t w_stride, const void *x, size_t x_stride, float *y, int64_t y_stride)
{
  if (fn && n <= STILL_GEMM_MAX_N) {
    fn(n, n_rows, n_tok, w, w_stride, x, x_stride, y, y_stride);
    return;
  }
  for (int64_t r = 0; r < n_rows; r++) {
    const void *wr = (const char *)w + (size_t)r * w_stride;
    for (int t = 0; t < n_tok; t++) dot(n, &y[t * y_stride + r], wr, (const char *)x + (size_t)t * x_stride);
  }
}
