/* gemm-avx2.c — multi-token kernels for the AVX2 level (see gemm.h). Built
 * with the same flags as vec-avx2.c (-mavx2 -mfma -mf16c).
 *
 * Each kernel mirrors the one-token kernel of vec-avx2.c lane for lane
 * (same int32 lanes, same float operations in the same order per output
 * element); the weight-only work — unpacking nibbles and high bits,
 * broadcasting scales — is done once per block for the NT tokens of a tile.
 * With 16 vector registers the loops go chunk by chunk through a block and
 * keep one int32 sum per token, rather than holding a whole decoded block.
 */
#include "cpu/gemm-internal.h"
#include "cpu/vec-internal.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "cpu/vec-x86.h"

#define NT_MAX 4

/* Rows in order; per row, the tokens in tiles of NT_MAX and one tail tile
 * (every tile size an inlined copy of the same per-element code). */
#define GEMM_DRIVER(name, micro)                                                                                  \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    for (int64_t r = 0; r < n_rows; r++) {                                                                        \
      const void *wr = (const char *)w + (size_t)r * w_stride;                                                    \
      int t = 0;                                                                                                  \
      for (; t + NT_MAX <= n_tok; t += NT_MAX)                                                                    \
        micro(n, wr, (const char *)x + (size_t)t * x_stride, x_stride, y + t * y_stride + r, y_stride, NT_MAX);  \
      const char *xt = (const char *)x + (size_t)t * x_stride;                                                    \
      float *yt = y + t * y_stride + r;                                                                           \
      switch (n_tok - t) {                                                                                        \
      case 3: micro(n, wr, xt, x_stride, yt, y_stride, 3); break;                                                 \
      case 2: micro(n, wr, xt, x_stride, yt, y_stride, 2); break;                                                 \
      case 1: micro(n, wr, xt, x_stride, yt, y_stride, 1); break;                                                 \
      default: break;                                                                                             \
      }                                                                                                           \
    }                                                                                                             \
  }

/* ======================================================================
 * Q8_0 / Q4_0 × Q8_0: even blocks into acc0, odd ones into acc1
 * ====================================================================== */

STILL_INLINE __m256 scale_product(__m256 dw, still_half dy)
{
  return _mm256_mul_ps(dw, _mm256_set1_ps(x86_h2f(dy)));
}

STILL_INLINE void q8_0_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt)
{
  const block_q8_0 *w = vw;
  __m256 acc[2][NT_MAX];
  for (int t = 0; t < nt; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK8_0; b++) {
    const int k = (int)(b & 1);
    const __m256i wq = _mm256_loadu_si256((const __m256i *)w[b].qs);
    const __m256i aw = _mm256_sign_epi8(wq, wq);
    const __m256 dw = _mm256_set1_ps(x86_h2f(w[b].d));
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const block_q8_0 *yb = (const block_q8_0 *)(x + (size_t)t * xs) + b;
      const __m256i sy = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)yb->qs), wq);
      const __m256i p = x86_sum_pairs_i16(_mm256_maddubs_epi16(aw, sy));
      acc[k][t] = _mm256_fmadd_ps(scale_product(dw, yb->d), _mm256_cvtepi32_ps(p), acc[k][t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(_mm256_add_ps(acc[0][t], acc[1][t]));
}

STILL_INLINE void q4_0_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt)
{
  const block_q4_0 *w = vw;
  const __m256i eight = _mm256_set1_epi8(8);
  __m256 acc[2][NT_MAX];
  for (int t = 0; t < nt; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK4_0; b++) {
    const int k = (int)(b & 1);
    const __m128i q4 = _mm_loadu_si128((const __m128i *)w[b].qs);
    const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q4, 4), q4), _mm256_set1_epi8(0x0f));
    const __m256 dw = _mm256_set1_ps(x86_h2f(w[b].d));
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const block_q8_0 *yb = (const block_q8_0 *)(x + (size_t)t * xs) + b;
      const __m256i a = _mm256_loadu_si256((const __m256i *)yb->qs);
      const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(eight, a));
      acc[k][t] = _mm256_fmadd_ps(scale_product(dw, yb->d), _mm256_cvtepi32_ps(x86_sum_pairs_i16(p)), acc[k][t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(_mm256_add_ps(acc[0][t], acc[1][t]));
}

GEMM_DRIVER(gemm_q8_0, q8_0_micro)
GEMM_DRIVER(gemm_q4_0, q4_0_micro)

/* ======================================================================
 * K-quants × Q8_K
 * ====================================================================== */

/* The mins term and the final float step of Q4_K/Q5_K, per token. */
STILL_INLINE void q45k_mins(const block_q8_K *yb, uint64_t mn8, float dmin, __m256 *accm)
{
  *accm = _mm256_fmadd_ps(_mm256_set1_ps(yb->d * dmin), _mm256_cvtepi32_ps(x86_q4k_mins_dot(mn8, yb->bsums)), *accm);
}

STILL_INLINE void q4k_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt)
{
  const block_q4_K *w = vw;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc[NT_MAX], accm[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = accm[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    uint64_t sc8, mn8;
    still_q4k_unpack_scales64(w[b].scales, &sc8, &mn8);
    const float d = x86_h2f(w[b].d), dmin = x86_h2f(w[b].dmin);
    const __m256i scb = x86_scales8_i16_both_lanes(sc8);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      q45k_mins(yb[t], mn8, dmin, &accm[t]);
      isum[t] = _mm256_setzero_si256();
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
      const __m256i lo = _mm256_and_si256(q, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      const __m256i slo = x86_bcast_i16_lane(scb, 2 * c), shi = x86_bcast_i16_lane(scb, 2 * c + 1);
#pragma GCC unroll 4
      for (int t = 0; t < nt; t++) {
        const int8_t *a = yb[t]->qs + 64 * c;
        const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)a));
        const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 32)));
        isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(plo, slo), _mm256_madd_epi16(phi, shi)));
      }
    }
    for (int t = 0; t < nt; t++) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yb[t]->d * d), _mm256_cvtepi32_ps(isum[t]), acc[t]);
  }
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]) - x86_hsum_f32x8(accm[t]);
}

STILL_INLINE void q5k_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt)
{
  const block_q5_K *w = vw;
  const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  __m256 acc[NT_MAX], accm[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = accm[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    uint64_t sc8, mn8;
    still_q4k_unpack_scales64(w[b].scales, &sc8, &mn8);
    const float d = x86_h2f(w[b].d), dmin = x86_h2f(w[b].dmin);
    const __m256i scb = x86_scales8_i16_both_lanes(sc8);
    const __m256i qh = _mm256_loadu_si256((const __m256i *)w[b].qh);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      q45k_mins(yb[t], mn8, dmin, &accm[t]);
      isum[t] = _mm256_setzero_si256();
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
      const __m256i hlo = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
      const __m256i hhi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), hlo);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), hhi);
      const __m256i slo = x86_bcast_i16_lane(scb, 2 * c), shi = x86_bcast_i16_lane(scb, 2 * c + 1);
#pragma GCC unroll 4
      for (int t = 0; t < nt; t++) {
        const int8_t *a = yb[t]->qs + 64 * c;
        const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)a));
        const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 32)));
        isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(plo, slo), _mm256_madd_epi16(phi, shi)));
      }
    }
    for (int t = 0; t < nt; t++) acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yb[t]->d * d), _mm256_cvtepi32_ps(isum[t]), acc[t]);
  }
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]) - x86_hsum_f32x8(accm[t]);
}

/* Q6_K: unsigned 6-bit quants, the -32 applied once per block through the
 * bsums (vec_dot_q6_K_q8_K). */
STILL_INLINE void q6k_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt)
{
  const block_q6_K *w = vw;
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  __m256i shuf[4];
  for (int i = 0; i < 4; i++) {
    const short a = (short)((4 * i + 1) << 8 | (4 * i)), c = (short)((4 * i + 3) << 8 | (4 * i + 2));
    shuf[i] = _mm256_set_m128i(_mm_set1_epi16(c), _mm_set1_epi16(a));
  }
  __m256 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
    const float dx = x86_h2f(w[b].d);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m256i scb = h ? _mm256_permute2x128_si256(sc, sc, 0x11) : _mm256_permute2x128_si256(sc, sc, 0x00);
      const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(w[b].ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(w[b].ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256((const __m256i *)(w[b].qh + 32 * h));
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        const __m256i ql = i & 1 ? ql1 : ql0;
        const __m256i lowq = i < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
        const __m256i q = _mm256_or_si256(lowq, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), m2), 4));
        const __m256i s = _mm256_shuffle_epi8(scb, shuf[i]);
#pragma GCC unroll 4
        for (int t = 0; t < nt; t++) {
          const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(yb[t]->qs + 128 * h + 32 * i)));
          isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, s));
        }
      }
    }
    for (int t = 0; t < nt; t++) {
      const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb[t]->bsums), sc);
      const __m256i is = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(msum, 5));
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(yb[t]->d * dx), _mm256_cvtepi32_ps(is), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

GEMM_DRIVER(gemm_q4_K, q4k_micro)
GEMM_DRIVER(gemm_q5_K, q5k_micro)
GEMM_DRIVER(gemm_q6_K, q6k_micro)

still_gemm_fn still_gemm_avx2(uint32_t wtype)
{
  switch (wtype) {
  case STILL_TYPE_Q4_0: return gemm_q4_0;
  case STILL_TYPE_Q8_0: return gemm_q8_0;
  case STILL_TYPE_Q4_K: return gemm_q4_K;
  case STILL_TYPE_Q5_K: return gemm_q5_K;
  case STILL_TYPE_Q6_K: return gemm_q6_K;
  default: return NULL;
  }
}

#else /* built without AVX2 */

still_gemm_fn still_gemm_avx2(uint32_t wtype)
{
  (void)wtype;
  return NULL;
}

#endif
