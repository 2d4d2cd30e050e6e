/* gemm.c — picks the multi-token kernel of a (type, ISA) pair, and the
 * per-element fallback. */
#include "cpu/gemm-internal.h"

still_gemm_fn still_get_gemm(uint32_t wtype, still_isa isa)
{
  /* the level vec_dot really uses (it falls back per type, e.g. Q4_0 has no
   * AVX-512 kernel without VNNI): the multi-token kernel comes from that
   * same level, whose integer sums it shares */
  switch (still_vec_dot_isa(wtype, isa)) {
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
