/* gemm-avx512.c — multi-token kernels for the AVX-512 levels (see gemm.h).
 * Built with the same flags as vec-avx512.c; the VNNI variants are only
 * handed out when features.c found AVX512-VNNI.
 *
 * Each kernel mirrors the one-token kernel of vec-avx512.c lane for lane:
 * the same values meet in the same int32 lane (integer sums are exact, so
 * how they are added up may differ: with VNNI, vpdpwssd replaces a
 * madd + add pair), then the same float operations run in the same order
 * per output element. Only the work that depends on the weights alone
 * (unpacking nibbles and high bits, expanding scales) is done once per
 * block and shared by the NT tokens of a tile.
 */
#include "cpu/gemm-internal.h"
#include "cpu/vec-internal.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && \
    defined(__AVX512VNNI__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "cpu/vec-x86.h"

/* Tokens per tile: the accumulators of 4 tokens plus the decoded block fit
 * the 32 vector registers without spills. */
#define NT_MAX 4

/* Walk the rows; per row, the tokens in tiles of NT_MAX and a tail tile of
 * 1..3 (each tile size its own inlined copy: per element the code is the
 * same whatever the tile size, only the number of tokens differs). */
#define GEMM_DRIVER(name, micro, ...)                                                                              \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    for (int64_t r = 0; r < n_rows; r++) {                                                                        \
      const void *wr = (const char *)w + (size_t)r * w_stride;                                                    \
      int t = 0;                                                                                                  \
      for (; t + NT_MAX <= n_tok; t += NT_MAX)                                                                    \
        micro(n, wr, (const char *)x + (size_t)t * x_stride, x_stride, y + t * y_stride + r, y_stride, NT_MAX,   \
              __VA_ARGS__);                                                                                       \
      const char *xt = (const char *)x + (size_t)t * x_stride;                                                    \
      float *yt = y + t * y_stride + r;                                                                           \
      switch (n_tok - t) {                                                                                        \
      case 3: micro(n, wr, xt, x_stride, yt, y_stride, 3, __VA_ARGS__); break;                                    \
      case 2: micro(n, wr, xt, x_stride, yt, y_stride, 2, __VA_ARGS__); break;                                    \
      case 1: micro(n, wr, xt, x_stride, yt, y_stride, 1, __VA_ARGS__); break;                                    \
      default: break;                                                                                             \
      }                                                                                                           \
    }                                                                                                             \
  }

/* int32 lanes: isum + Σ pairs of p·s (the madd of vec-avx512.c), with
 * vpdpwssd on VNNI machines. */
STILL_INLINE __m512i madd_acc(__m512i isum, __m512i p, __m512i s, const bool vnni)
{
  return vnni ? _mm512_dpwssd_epi32(isum, p, s) : _mm512_add_epi32(isum, _mm512_madd_epi16(p, s));
}

/* ---- helpers equal to vec-avx512.c's ------------------------------------- */

STILL_INLINE __m512i unpack_nibbles32(const uint8_t *qs)
{
  const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qs));
  const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  return _mm512_and_si512(_mm512_srlv_epi16(q, shift), _mm512_set1_epi8(0x0f));
}

STILL_INLINE __m512i idx_halves(int first)
{
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)first)), _mm256_set1_epi16((short)(first + 1)), 1);
}

/* ======================================================================
 * Q4_K / Q5_K × Q8_K
 * ====================================================================== */

/* The decoded weight part of one Q4_K/Q5_K super-block: four 64-value
 * registers of unsigned quants, their scale vectors, the mins. */
typedef struct {
  __m512i q[4], scv[4];
  __m256i mm;
  float d, dmin;
} q45k_block;

STILL_INLINE void q45k_scales(q45k_block *blk, const uint8_t scales[K_SCALE_SIZE], still_half d, still_half dmin)
{
  uint64_t sc8, mn8;
  still_q4k_unpack_scales64(scales, &sc8, &mn8);
  const __m128i m = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
  blk->mm = _mm256_set_m128i(_mm_unpackhi_epi16(m, m), _mm_unpacklo_epi16(m, m));
  const __m512i sc = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
  for (int c = 0; c < 4; c++) blk->scv[c] = _mm512_permutexvar_epi16(idx_halves(2 * c), sc);
  blk->d = x86_h2f(d);
  blk->dmin = x86_h2f(dmin);
}

/* One token against the decoded block (vec_dot_q4_K_q8_K's loop body). */
STILL_INLINE void q45k_token(const q45k_block *blk, const block_q8_K *yb, __m512 *acc, __m256 *accm, const bool vnni)
{
  const float dy = yb->d;
  const __m256i md = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb->bsums), blk->mm);
  *accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * blk->dmin), _mm256_cvtepi32_ps(md), *accm);
  __m512i isum = _mm512_madd_epi16(_mm512_maddubs_epi16(blk->q[0], _mm512_loadu_si512((const void *)yb->qs)), blk->scv[0]);
#pragma GCC unroll 3
  for (int c = 1; c < 4; c++)
    isum = madd_acc(isum, _mm512_maddubs_epi16(blk->q[c], _mm512_loadu_si512((const void *)(yb->qs + 64 * c))), blk->scv[c], vnni);
  *acc = _mm512_fmadd_ps(_mm512_set1_ps(dy * blk->d), _mm512_cvtepi32_ps(isum), *acc);
}

STILL_INLINE void q4k_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt,
                            const bool vnni)
{
  const block_q4_K *w = vw;
  __m512 acc[NT_MAX];
  __m256 accm[NT_MAX];
  for (int t = 0; t < nt; t++) {
    acc[t] = _mm512_setzero_ps();
    accm[t] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < n / QK_K; b++) {
    q45k_block blk;
    q45k_scales(&blk, w[b].scales, w[b].d, w[b].dmin);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) blk.q[c] = unpack_nibbles32(w[b].qs + 32 * c);
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) q45k_token(&blk, (const block_q8_K *)(x + (size_t)t * xs) + b, &acc[t], &accm[t], vnni);
  }
  for (int t = 0; t < nt; t++) y[t * ys] = _mm512_reduce_add_ps(acc[t]) - x86_hsum_f32x8(accm[t]);
}

STILL_INLINE void q5k_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt,
                            const bool vnni)
{
  const block_q5_K *w = vw;
  const __m512i one = _mm512_set1_epi8(1);
  __m512 acc[NT_MAX];
  __m256 accm[NT_MAX];
  for (int t = 0; t < nt; t++) {
    acc[t] = _mm512_setzero_ps();
    accm[t] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < n / QK_K; b++) {
    q45k_block blk;
    q45k_scales(&blk, w[b].scales, w[b].d, w[b].dmin);
    /* qh in both halves; chunk c takes bit 2c (low half) and 2c+1 (high half) */
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)w[b].qh));
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m512i h = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, idx_halves(2 * c)), one), 4);
      blk.q[c] = _mm512_or_si512(unpack_nibbles32(w[b].qs + 32 * c), h);
    }
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) q45k_token(&blk, (const block_q8_K *)(x + (size_t)t * xs) + b, &acc[t], &accm[t], vnni);
  }
  for (int t = 0; t < nt; t++) y[t * ys] = _mm512_reduce_add_ps(acc[t]) - x86_hsum_f32x8(accm[t]);
}

GEMM_DRIVER(gemm_q4_K, q4k_micro, false)
GEMM_DRIVER(gemm_q4_K_vnni, q4k_micro, true)
GEMM_DRIVER(gemm_q5_K, q5k_micro, false)
GEMM_DRIVER(gemm_q5_K_vnni, q5k_micro, true)

/* ======================================================================
 * Q6_K × Q8_K (vec_dot_q6_K_q8_K: unsigned quants, -32 through the bsums)
 * ====================================================================== */

STILL_INLINE void q6k_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt,
                            const bool vnni)
{
  const block_q6_K *w = vw;
  const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x03);
  const __m512i sidx_a = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i four = _mm512_set1_epi16(4);
  const __m512i cnt_a = _mm512_slli_epi16(idx_halves(0), 1);
  const __m512i cnt_b = _mm512_add_epi16(cnt_a, four);
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w[b].scales));
    const __m512i sc = _mm512_castsi256_si512(sc16);
    const float dx = x86_h2f(w[b].d);
    __m512i q[4], s[4];
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m512i ql = _mm512_loadu_si512((const void *)(w[b].ql + 64 * h));
      const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(w[b].qh + 32 * h)));
      q[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, cnt_a), m2), 4));
      q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                     _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, cnt_b), m2), 4));
      const __m512i ia = _mm512_add_epi16(sidx_a, _mm512_set1_epi16((short)(8 * h)));
      s[2 * h] = _mm512_permutexvar_epi16(ia, sc);
      s[2 * h + 1] = _mm512_permutexvar_epi16(_mm512_add_epi16(ia, four), sc);
    }
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const block_q8_K *yb = (const block_q8_K *)(x + (size_t)t * xs) + b;
      const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb->bsums), sc16);
      __m512i isum = _mm512_madd_epi16(_mm512_maddubs_epi16(q[0], _mm512_loadu_si512((const void *)yb->qs)), s[0]);
#pragma GCC unroll 3
      for (int i = 1; i < 4; i++)
        isum = madd_acc(isum, _mm512_maddubs_epi16(q[i], _mm512_loadu_si512((const void *)(yb->qs + 64 * i))), s[i], vnni);
      const __m512i corr = _mm512_castsi256_si512(_mm256_slli_epi32(msum, 5));
      isum = _mm512_sub_epi32(isum, _mm512_inserti64x4(corr, _mm256_setzero_si256(), 1));
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(yb->d * dx), _mm512_cvtepi32_ps(isum), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = _mm512_reduce_add_ps(acc[t]);
}

GEMM_DRIVER(gemm_q6_K, q6k_micro, false)
GEMM_DRIVER(gemm_q6_K_vnni, q6k_micro, true)

/* ======================================================================
 * Q8_0 / Q4_0 × Q8_0 with VNNI (vec_dot_q8_0_vnni / vec_dot_q4_0_vnni):
 * one 32-value block per 256-bit register, even blocks into acc0, odd
 * blocks into acc1, the scale product formed in float as there.
 * ====================================================================== */

/* dx·dy in every lane: the same float product as the scalar one there. */
STILL_INLINE __m256 scale_product(still_half dx, still_half dy)
{
  return _mm256_mul_ps(_mm256_set1_ps(x86_h2f(dx)), _mm256_set1_ps(x86_h2f(dy)));
}

STILL_INLINE void q8_0_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt,
                             const bool vnni)
{
  (void)vnni;
  const block_q8_0 *w = vw;
  const int64_t nb = n / QK8_0;
  __m256 acc[2][NT_MAX];
  for (int t = 0; t < nt; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const int k = (int)(b & 1); /* the accumulator vec_dot uses (its odd tail block goes to acc0 too) */
    const __m256i wq = _mm256_loadu_si256((const __m256i *)w[b].qs);
    const __m256i aw = _mm256_sign_epi8(wq, wq);
    const __m256 dw = _mm256_set1_ps(x86_h2f(w[b].d));
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const block_q8_0 *yb = (const block_q8_0 *)(x + (size_t)t * xs) + b;
      const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), aw, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)yb->qs), wq));
      acc[k][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(x86_h2f(yb->d))), _mm256_cvtepi32_ps(p), acc[k][t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(_mm256_add_ps(acc[0][t], acc[1][t]));
}

STILL_INLINE void q4_0_micro(int64_t n, const void *vw, const char *x, size_t xs, float *y, int64_t ys, const int nt,
                             const bool vnni)
{
  (void)vnni;
  const block_q4_0 *w = vw;
  const int64_t nb = n / QK4_0;
  const __m256i eight = _mm256_set1_epi8(8), zero = _mm256_setzero_si256();
  __m256 acc[2][NT_MAX];
  for (int t = 0; t < nt; t++) acc[0][t] = acc[1][t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    const int k = (int)(b & 1);
    const __m128i q = _mm_loadu_si128((const __m128i *)w[b].qs);
    const __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
    const __m256 dw = _mm256_set1_ps(x86_h2f(w[b].d));
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const block_q8_0 *yb = (const block_q8_0 *)(x + (size_t)t * xs) + b;
      const __m256i a = _mm256_loadu_si256((const __m256i *)yb->qs);
      const __m256i p = _mm256_sub_epi32(_mm256_dpbusd_epi32(zero, u, a), _mm256_dpbusd_epi32(zero, eight, a));
      acc[k][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(x86_h2f(yb->d))), _mm256_cvtepi32_ps(p), acc[k][t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(_mm256_add_ps(acc[0][t], acc[1][t]));
}

GEMM_DRIVER(gemm_q8_0_vnni, q8_0_micro, true)
GEMM_DRIVER(gemm_q4_0_vnni, q4_0_micro, true)

still_gemm_fn still_gemm_avx512(uint32_t wtype, bool vnni)
{
  switch (wtype) {
  case STILL_TYPE_Q4_K: return vnni ? gemm_q4_K_vnni : gemm_q4_K;
  case STILL_TYPE_Q5_K: return vnni ? gemm_q5_K_vnni : gemm_q5_K;
  case STILL_TYPE_Q6_K: return vnni ? gemm_q6_K_vnni : gemm_q6_K;
  case STILL_TYPE_Q8_0: return vnni ? gemm_q8_0_vnni : NULL;
  case STILL_TYPE_Q4_0: return vnni ? gemm_q4_0_vnni : NULL;
  default: return NULL;
  }
}

#else /* built without AVX-512 */

still_gemm_fn still_gemm_avx512(uint32_t wtype, bool vnni)
{
  (void)wtype;
  (void)vnni;
  return NULL;
}

#endif
