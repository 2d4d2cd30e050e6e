/* gemm-avx2.c — multi-token kernels for the AVX2 level (see gemm.h). Built
 * with the same flags as vec-avx2.c (-mavx2 -mfma -mf16c).
 *
 * The integer sums are those of vec-avx2.c (same int32 lanes); the work
 * that depends on the weights alone — unpacking nibbles and high bits,
 * broadcasting scales — is done once per block for the tokens of a tile.
 * With 16 vector registers the loops go chunk by chunk through a block
 * keeping one int32 sum per token, rather than holding a whole decoded
 * block. The float steps are grouped differently from vec_dot (below), so
 * the last bits differ from it; per element the code is the same whatever
 * the tile, which is what gemm.h promises.
 */
#include "cpu/gemm-internal.h"
#include "cpu/vec-internal.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "cpu/vec-x86.h"

/* Tokens per tile (their sums and accumulators fit the 16 registers). */
#define NT_MAX 4
_Static_assert(NT_MAX == 4, "the tile switches below list 1..4 tokens");
/* Rows of up to KQ_MAX_BLOCKS blocks of 256 (STILL_GEMM_MAX_N values). */
#define KQ_MAX_BLOCKS (STILL_GEMM_MAX_N / QK_K)

/* See gemm-avx512.c: decode streams the weights once per token, and a
 * software prefetch this far ahead keeps enough lines in flight. */
#define PREFETCH_AHEAD 4096

STILL_INLINE void prefetch_weights(const void *p, size_t bytes)
{
  for (size_t l = 0; l < bytes; l += 64) _mm_prefetch((const char *)p + PREFETCH_AHEAD + l, _MM_HINT_T0);
}

/* Token tiles of NT_MAX outer — prep(token row, its slice of a, blocks)
 * lays out what the tile's activations need once — and every row of the
 * call inner (the caller passes as many rows as stay in L2). Every tile
 * size is an inlined copy of the same per-element code. */
#define TILE_DRIVER(name, micro, prep, block_size, per_block)                                                    \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    const int64_t nb = n / (block_size), nbp = (nb + 1) & ~(int64_t)1;                                            \
    float a[NT_MAX * (STILL_GEMM_MAX_N / (block_size) + 1) * (per_block)] __attribute__((aligned(32)));           \
    for (int t0 = 0; t0 < n_tok; t0 += NT_MAX) {                                                                  \
      const int nt = n_tok - t0 < NT_MAX ? n_tok - t0 : NT_MAX;                                                   \
      const char *xt = (const char *)x + (size_t)t0 * x_stride;                                                   \
      float *yt = y + t0 * y_stride;                                                                              \
      for (int t = 0; t < nt; t++) prep(xt + (size_t)t * x_stride, a + t * nbp * (per_block), nb);                \
      for (int64_t r = 0; r < n_rows; r++) {                                                                      \
        const void *wr = (const char *)w + (size_t)r * w_stride;                                                  \
        switch (nt) {                                                                                             \
        case 4: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 4); break;                                       \
        case 3: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 3); break;                                       \
        case 2: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 2); break;                                       \
        default: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 1); break;                                      \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
  }

/* ======================================================================
 * Q8_0 / Q4_0 × Q8_0. The integer sums of a block are vec_dot's (eight
 * int32 lanes of four products); two blocks are then folded into one
 * register (vphaddd: lanes 0,1,4,5 from the first block, 2,3,6,7 from the
 * second), so the float steps — convert, scale dx·dy, accumulate — run
 * once per pair of blocks. All of it is on the two multiply ports, and this
 * saves a quarter of their work (the last bits differ from vec_dot).
 * The prepared part: per token and block pair the scales dy in that lane
 * pattern (an odd last block is paired with a zero block).
 * ====================================================================== */

/* dy0 dy0 dy1 dy1 | dy0 dy0 dy1 dy1, the lane pattern of the folded sums. */
STILL_INLINE __m256 pair_pattern(float d0, float d1)
{
  return _mm256_blend_ps(_mm256_set1_ps(d0), _mm256_set1_ps(d1), 0xcc);
}

static void prep_pair_dy(const char *row, float *a, int64_t nb)
{
  const block_q8_0 *y = (const block_q8_0 *)row;
  for (int64_t b = 0; b < nb; b += 2)
    _mm256_store_ps(a + 4 * b, pair_pattern(x86_h2f(y[b].d), b + 1 < nb ? x86_h2f(y[b + 1].d) : 0.0f));
}

/* The eight int32 lanes of vec_dot for block b of token t (Q8_0 weights:
 * |w| times y with w's sign; Q4_0: q·a − 8·a in int16 pairs). */
STILL_INLINE __m256i q8_0_lanes(__m256i aw, __m256i wq, const block_q8_0 *yb)
{
  const __m256i sy = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)yb->qs), wq);
  return x86_sum_pairs_i16(_mm256_maddubs_epi16(aw, sy));
}

STILL_INLINE __m256i q4_0_lanes(__m256i q, const block_q8_0 *yb)
{
  const __m256i a = _mm256_loadu_si256((const __m256i *)yb->qs);
  return x86_sum_pairs_i16(_mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(_mm256_set1_epi8(8), a)));
}

STILL_INLINE __m256i q4_0_unpack(const block_q4_0 *w)
{
  const __m128i q4 = _mm_loadu_si128((const __m128i *)w->qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q4, 4), q4), _mm256_set1_epi8(0x0f));
}

STILL_INLINE void q8_0_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *dy, float *y,
                             int64_t ys, const int nt)
{
  const block_q8_0 *w = vw;
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const bool two = b + 1 < nb;
    prefetch_weights(w + b, 2 * sizeof *w);
    const __m256i wq0 = _mm256_loadu_si256((const __m256i *)w[b].qs);
    const __m256i wq1 = two ? _mm256_loadu_si256((const __m256i *)w[b + 1].qs) : _mm256_setzero_si256();
    const __m256i aw0 = _mm256_sign_epi8(wq0, wq0), aw1 = _mm256_sign_epi8(wq1, wq1);
    const __m256 dw = pair_pattern(x86_h2f(w[b].d), two ? x86_h2f(w[b + 1].d) : 0.0f);
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const block_q8_0 *yb = (const block_q8_0 *)(x + (size_t)t * xs) + b;
      const __m256i p0 = q8_0_lanes(aw0, wq0, yb);
      const __m256i p1 = two ? q8_0_lanes(aw1, wq1, yb + 1) : _mm256_setzero_si256();
      const __m256 s = _mm256_mul_ps(dw, _mm256_load_ps(dy + (t * nbp + b) * 4));
      acc[t] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_hadd_epi32(p0, p1)), acc[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

STILL_INLINE void q4_0_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *dy, float *y,
                             int64_t ys, const int nt)
{
  const block_q4_0 *w = vw;
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const bool two = b + 1 < nb;
    prefetch_weights(w + b, 2 * sizeof *w);
    const __m256i q0 = q4_0_unpack(w + b);
    const __m256i q1 = two ? q4_0_unpack(w + b + 1) : _mm256_setzero_si256();
    const __m256 dw = pair_pattern(x86_h2f(w[b].d), two ? x86_h2f(w[b + 1].d) : 0.0f);
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const block_q8_0 *yb = (const block_q8_0 *)(x + (size_t)t * xs) + b;
      const __m256i p0 = q4_0_lanes(q0, yb);
      const __m256i p1 = two ? q4_0_lanes(q1, yb + 1) : _mm256_setzero_si256();
      const __m256 s = _mm256_mul_ps(dw, _mm256_load_ps(dy + (t * nbp + b) * 4));
      acc[t] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_hadd_epi32(p0, p1)), acc[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

TILE_DRIVER(gemm_q8_0, q8_0_micro, prep_pair_dy, QK8_0, 4)
TILE_DRIVER(gemm_q4_0, q4_0_micro, prep_pair_dy, QK8_0, 4)

/* ======================================================================
 * K-quants × Q8_K: the block loop forms vec_dot's integer sums and scales
 * them by dy·d; the activation-sum term (Q4_K/Q5_K mins, Q6_K's −32) is a
 * float dot product of per-block weight vectors with activation vectors
 * prepared once per token, done after the loop (see gemm-avx512.c).
 * ====================================================================== */

/* Q4_K/Q5_K: dy·(bsum[2j] + bsum[2j+1]) per block (8 floats). */
static void prep_pairs(const char *row, float *a, int64_t nb)
{
  const block_q8_K *y = (const block_q8_K *)row;
  for (int64_t b = 0; b < nb; b++) {
    const __m256i s = x86_sum_pairs_i16(_mm256_loadu_si256((const __m256i *)y[b].bsums));
    _mm256_store_ps(a + 8 * b, _mm256_mul_ps(_mm256_set1_ps(y[b].d), _mm256_cvtepi32_ps(s)));
  }
}

/* Q6_K: dy·bsum[k] per block (16 floats). */
static void prep_sums(const char *row, float *a, int64_t nb)
{
  const block_q8_K *y = (const block_q8_K *)row;
  for (int64_t b = 0; b < nb; b++) {
    const __m128i s0 = _mm_loadu_si128((const __m128i *)y[b].bsums), s1 = _mm_loadu_si128((const __m128i *)(y[b].bsums + 8));
    const __m256 d = _mm256_set1_ps(y[b].d);
    _mm256_store_ps(a + 16 * b, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(s0))));
    _mm256_store_ps(a + 16 * b + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(s1))));
  }
}

/* acc[t] −= Σ_b wv[b]·a_t[b] over nb blocks of A floats, then the results. */
STILL_INLINE void kq_finish(const float *wv, const float *a, int64_t nb, const int A, __m256 *acc, float *y, int64_t ys,
                            const int nt)
{
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  for (int64_t k = 0; k < nb * A; k += 8) {
    const __m256 wk = _mm256_load_ps(wv + k);
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) acc[t] = _mm256_fnmadd_ps(wk, _mm256_load_ps(a + t * nbp * A + k), acc[t]);
  }
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

/* isum[t] += the 64 values of sub-blocks 2c, 2c+1 (lo, hi: their unsigned
 * quants; slo, shi: their scales in every int16 lane). */
STILL_INLINE void q45k_chunk(__m256i lo, __m256i hi, __m256i slo, __m256i shi, const block_q8_K *const *yb, int c,
                             __m256i *isum, const int nt)
{
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) {
    const int8_t *a = yb[t]->qs + 64 * c;
    const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)a));
    const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 32)));
    isum[t] = _mm256_add_epi32(isum[t], _mm256_add_epi32(_mm256_madd_epi16(plo, slo), _mm256_madd_epi16(phi, shi)));
    /* keep the sum in a register chunk by chunk: left alone, the compiler
     * reassociates the integer adds into a tree over the whole block and
     * spills the partial products (measured 40 % slower) */
    __asm__("" : "+x"(isum[t]));
  }
}

/* acc[t] += dy·d · isum[t] (d kept opaque so that dy·d is one vmulps with a
 * broadcast load, see gemm-avx512.c). */
STILL_INLINE void kq_scale(const block_q8_K *const *yb, __m256 d, const __m256i *isum, __m256 *acc, const int nt)
{
  __asm__("" : "+x"(d));
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++)
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_broadcast_ss(&yb[t]->d), d), _mm256_cvtepi32_ps(isum[t]), acc[t]);
}

/* dmin·m_j of a Q4_K/Q5_K block into wmin[0..8); its scales, both lanes. */
STILL_INLINE __m256i q45k_scales(const uint8_t scales[K_SCALE_SIZE], still_half dmin, float *wmin)
{
  uint64_t sc8, mn8;
  still_q4k_unpack_scales64(scales, &sc8, &mn8);
  const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mn8)));
  _mm256_store_ps(wmin, _mm256_mul_ps(_mm256_set1_ps(x86_h2f(dmin)), m));
  return x86_scales8_i16_both_lanes(sc8);
}

STILL_INLINE void q4k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *amin, float *y,
                            int64_t ys, const int nt)
{
  const block_q4_K *w = vw;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  float wmin[KQ_MAX_BLOCKS * 8] __attribute__((aligned(32)));
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const __m256i scb = q45k_scales(w[b].scales, w[b].dmin, wmin + 8 * b);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
      q45k_chunk(_mm256_and_si256(q, m4), _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), x86_bcast_i16_lane(scb, 2 * c),
                 x86_bcast_i16_lane(scb, 2 * c + 1), yb, c, isum, nt);
    }
    kq_scale(yb, _mm256_set1_ps(x86_h2f(w[b].d)), isum, acc, nt);
  }
  kq_finish(wmin, amin, nb, 8, acc, y, ys, nt);
}

STILL_INLINE void q5k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *amin, float *y,
                            int64_t ys, const int nt)
{
  const block_q5_K *w = vw;
  const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  float wmin[KQ_MAX_BLOCKS * 8] __attribute__((aligned(32)));
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const __m256i scb = q45k_scales(w[b].scales, w[b].dmin, wmin + 8 * b);
    const __m256i qh = _mm256_loadu_si256((const __m256i *)w[b].qh);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(w[b].qs + 32 * c));
      /* bit 2c / 2c+1 of each qh byte → bit 4 of the quant */
      const __m256i hlo = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
      const __m256i hhi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
      q45k_chunk(_mm256_or_si256(_mm256_and_si256(q, m4), hlo),
                 _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), hhi), x86_bcast_i16_lane(scb, 2 * c),
                 x86_bcast_i16_lane(scb, 2 * c + 1), yb, c, isum, nt);
    }
    kq_scale(yb, _mm256_set1_ps(x86_h2f(w[b].d)), isum, acc, nt);
  }
  kq_finish(wmin, amin, nb, 8, acc, y, ys, nt);
}

/* Q6_K: unsigned 6-bit quants; the −32 is the term 32·d·sc_k · dy·bsum_k. */
STILL_INLINE void q6k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *asum, float *y,
                            int64_t ys, const int nt)
{
  const block_q6_K *w = vw;
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  __m256i shuf[4];
  for (int i = 0; i < 4; i++) {
    const short a = (short)((4 * i + 1) << 8 | (4 * i)), c = (short)((4 * i + 3) << 8 | (4 * i + 2));
    shuf[i] = _mm256_set_m128i(_mm_set1_epi16(c), _mm_set1_epi16(a));
  }
  float woff[KQ_MAX_BLOCKS * 16] __attribute__((aligned(32)));
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const __m128i sc8 = _mm_loadu_si128((const __m128i *)w[b].scales);
    const __m256i sc = _mm256_cvtepi8_epi16(sc8);
    const float dx = x86_h2f(w[b].d);
    const __m256 d32 = _mm256_set1_ps(32.0f * dx);
    _mm256_store_ps(woff + 16 * b, _mm256_mul_ps(d32, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc8))));
    _mm256_store_ps(woff + 16 * b + 8, _mm256_mul_ps(d32, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8)))));
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
#pragma GCC unroll 4
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
          __asm__("" : "+x"(isum[t])); /* see q45k_chunk */
        }
      }
    }
    kq_scale(yb, _mm256_set1_ps(dx), isum, acc, nt);
  }
  kq_finish(woff, asum, nb, 16, acc, y, ys, nt);
}

TILE_DRIVER(gemm_q4_K, q4k_micro, prep_pairs, QK_K, 8)
TILE_DRIVER(gemm_q5_K, q5k_micro, prep_pairs, QK_K, 8)
TILE_DRIVER(gemm_q6_K, q6k_micro, prep_sums, QK_K, 16)

/* ======================================================================
 * The less common types (their vec_dot exists at the AVX2 level only, so
 * the AVX-512 levels use these too — gemm.c follows vec_dot's level).
 *
 * Q4_1, Q5_0, Q5_1, IQ4_NL: 32-value blocks like Q4_0 — a block's weights
 * are decoded once (nibbles, fifth bits, grid lookup), the integer lanes
 * per token are vec_dot's, and two blocks are folded into one register for
 * the float steps as in q4_0_micro. Q4_1/Q5_1 add their m·s term (the
 * weight offset times the activation block sum, Q8_1's s) in lanes 0 and 1
 * of the same accumulator.
 * ====================================================================== */

enum { LEG_Q4_1, LEG_Q5_0, LEG_Q5_1, LEG_IQ4_NL };

/* Q8_1 activations: per pair of blocks the dy lane pattern (8 floats) and
 * s0, s1, 0 … (8 floats). */
static void prep_pair_dy_s(const char *row, float *a, int64_t nb)
{
  const block_q8_1 *y = (const block_q8_1 *)row;
  for (int64_t b = 0; b < nb; b += 2) {
    const bool two = b + 1 < nb;
    _mm256_store_ps(a + 8 * b, pair_pattern(x86_h2f(y[b].d), two ? x86_h2f(y[b + 1].d) : 0.0f));
    _mm256_store_ps(a + 8 * b + 8, _mm256_setr_ps(x86_h2f(y[b].s), two ? x86_h2f(y[b + 1].s) : 0.0f, 0, 0, 0, 0, 0, 0));
  }
}

/* Bit k of the little-endian 32-bit qh → 0x10 in byte k (value k's fifth bit). */
STILL_INLINE __m256i fifth_bits(const uint8_t qh[4])
{
  uint32_t bits;
  memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                             _mm256_setr_epi64x(0x0000000000000000ll, 0x0101010101010101ll,
                                                                0x0202020202020202ll, 0x0303030303030303ll));
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

STILL_INLINE __m256i nibbles32(const uint8_t qs[16])
{
  const __m128i q4 = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q4, 4), q4), _mm256_set1_epi8(0x0f));
}

/* Block b of a row of kind k, decoded: u the unsigned left operand of
 * maddubs (quants, or |grid value| for IQ4_NL), sg the grid values whose
 * signs move onto the activations (IQ4_NL only); d and m (Q4_1/Q5_1) its
 * scales. A block past the row's end (nb odd) is all zero. */
STILL_INLINE void leg_decode(const void *vw, int64_t b, int64_t nb, const int k, __m256i *u, __m256i *sg, float *d,
                             float *m)
{
  *m = 0.0f;
  *sg = _mm256_setzero_si256();
  if (b >= nb) {
    *u = _mm256_setzero_si256();
    *d = 0.0f;
    return;
  }
  if (k == LEG_Q4_1) {
    const block_q4_1 *w = (const block_q4_1 *)vw + b;
    *u = nibbles32(w->qs);
    *d = x86_h2f(w->d);
    *m = x86_h2f(w->m);
  } else if (k == LEG_Q5_0) {
    const block_q5_0 *w = (const block_q5_0 *)vw + b;
    *u = _mm256_or_si256(nibbles32(w->qs), fifth_bits(w->qh));
    *d = x86_h2f(w->d);
  } else if (k == LEG_Q5_1) {
    const block_q5_1 *w = (const block_q5_1 *)vw + b;
    *u = _mm256_or_si256(nibbles32(w->qs), fifth_bits(w->qh));
    *d = x86_h2f(w->d);
    *m = x86_h2f(w->m);
  } else {
    const block_iq4_nl *w = (const block_iq4_nl *)vw + b;
    const __m256i grid = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)still_iq4nl_grid));
    *sg = _mm256_shuffle_epi8(grid, nibbles32(w->qs)); /* |value| ≤ 127 */
    *u = _mm256_sign_epi8(*sg, *sg);
    *d = x86_h2f(w->d);
  }
}

/* vec_dot's eight int32 lanes of one block and one token (qs: its 32
 * activation quants; zero when the block is past the row's end). */
STILL_INLINE __m256i leg_lanes(__m256i u, __m256i sg, const int8_t *qs, bool present, const int k)
{
  if (!present) return _mm256_setzero_si256();
  const __m256i a = _mm256_loadu_si256((const __m256i *)qs);
  if (k == LEG_Q5_0) /* Σ (q − 16)·a = Σ q·a − Σ 16·a, each pair within int16 */
    return x86_sum_pairs_i16(_mm256_sub_epi16(_mm256_maddubs_epi16(u, a), _mm256_maddubs_epi16(_mm256_set1_epi8(16), a)));
  if (k == LEG_IQ4_NL) return x86_sum_pairs_i16(_mm256_maddubs_epi16(u, _mm256_sign_epi8(a, sg)));
  return x86_sum_pairs_i16(_mm256_maddubs_epi16(u, a));
}

STILL_INLINE void leg_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *pre, float *y, int64_t ys,
                            const int nt, const int k)
{
  const bool q81 = k == LEG_Q4_1 || k == LEG_Q5_1; /* Q8_1 activations, m·s term */
  const int per_block = q81 ? 8 : 4;
  const size_t wsize = k == LEG_Q4_1 ? sizeof(block_q4_1)
                       : k == LEG_Q5_0 ? sizeof(block_q5_0)
                       : k == LEG_Q5_1 ? sizeof(block_q5_1)
                                       : sizeof(block_iq4_nl);
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b += 2) {
    const bool two = b + 1 < nb;
    prefetch_weights((const char *)vw + (size_t)b * wsize, 2 * wsize);
    __m256i u0, u1, s0, s1;
    float d0, d1, m0, m1;
    leg_decode(vw, b, nb, k, &u0, &s0, &d0, &m0);
    leg_decode(vw, b + 1, nb, k, &u1, &s1, &d1, &m1);
    const __m256 dw = pair_pattern(d0, d1);
    const __m256 mw = _mm256_setr_ps(m0, m1, 0, 0, 0, 0, 0, 0);
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      const char *row = x + (size_t)t * xs;
      const int8_t *a0, *a1;
      if (q81) {
        a0 = ((const block_q8_1 *)row)[b].qs;
        a1 = two ? ((const block_q8_1 *)row)[b + 1].qs : NULL;
      } else {
        a0 = ((const block_q8_0 *)row)[b].qs;
        a1 = two ? ((const block_q8_0 *)row)[b + 1].qs : NULL;
      }
      const __m256i p0 = leg_lanes(u0, s0, a0, true, k);
      const __m256i p1 = leg_lanes(u1, s1, a1, two, k);
      const float *pa = pre + (t * nbp + b) * per_block;
      const __m256 s = _mm256_mul_ps(dw, _mm256_load_ps(pa));
      acc[t] = _mm256_fmadd_ps(s, _mm256_cvtepi32_ps(_mm256_hadd_epi32(p0, p1)), acc[t]);
      if (q81) acc[t] = _mm256_fmadd_ps(mw, _mm256_load_ps(pa + 8), acc[t]);
    }
  }
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

#define LEG_MICRO(name, kind)                                                                                     \
  STILL_INLINE void name(int64_t nb, const void *vw, const char *x, size_t xs, const float *pre, float *y,       \
                         int64_t ys, const int nt)                                                                \
  {                                                                                                               \
    leg_micro(nb, vw, x, xs, pre, y, ys, nt, kind);                                                               \
  }
LEG_MICRO(q4_1_micro, LEG_Q4_1)
LEG_MICRO(q5_0_micro, LEG_Q5_0)
LEG_MICRO(q5_1_micro, LEG_Q5_1)
LEG_MICRO(iq4_nl_micro, LEG_IQ4_NL)

TILE_DRIVER(gemm_q4_1, q4_1_micro, prep_pair_dy_s, QK4_1, 8)
TILE_DRIVER(gemm_q5_0, q5_0_micro, prep_pair_dy, QK5_0, 4)
TILE_DRIVER(gemm_q5_1, q5_1_micro, prep_pair_dy_s, QK5_1, 8)
TILE_DRIVER(gemm_iq4_nl, iq4_nl_micro, prep_pair_dy, QK4_NL, 4)

/* ======================================================================
 * Q2_K, Q3_K, IQ4_XS × Q8_K, laid out as Q6_K (32 values per chunk, two
 * sub-blocks of 16 with their own scale for Q2_K/Q3_K). The offset terms
 * move after the block loop as for Q6_K: Q2_K's dmin·min_k and Q3_K's
 * 4·d·sc_k (its quants are used unsigned, q + 4) against dy·bsum_k.
 * IQ4_XS has signed grid values and no offset term.
 * ====================================================================== */

/* pshufb masks putting int16 scale 2i in the low lane and 2i+1 in the high one. */
STILL_INLINE __m256i pair_scale_shuffle(int i)
{
  const short a = (short)((4 * i + 1) << 8 | (4 * i)), c = (short)((4 * i + 3) << 8 | (4 * i + 2));
  return _mm256_set_m128i(_mm_set1_epi16(c), _mm_set1_epi16(a));
}

/* 16 int16 (scales of one block) → 16 floats · f at out[0..16). */
STILL_INLINE void store_scaled16(__m256i s16, float f, float *out)
{
  const __m256 fv = _mm256_set1_ps(f);
  _mm256_store_ps(out, _mm256_mul_ps(fv, _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(s16)))));
  _mm256_store_ps(out + 8, _mm256_mul_ps(fv, _mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm256_extracti128_si256(s16, 1)))));
}

/* The 2 × 4 chunks of a Q2_K / Q3_K block: chunk (h, j) holds values
 * 128h + 32j + 0..31, bits 2j..2j+1 of qs[32h ..] (+ bit 4h + j of hmask
 * as 4 for Q3_K); its scales are 8h + 2j (first 16) and 8h + 2j + 1. */
STILL_INLINE void k23_block(const uint8_t *qs, const uint8_t *hmask, __m256i sc, const block_q8_K *const *yb,
                            __m256i *isum, const int nt)
{
  const __m256i m2 = _mm256_set1_epi8(0x03), one = _mm256_set1_epi8(1);
  const __m256i hm = hmask ? _mm256_loadu_si256((const __m256i *)hmask) : _mm256_setzero_si256();
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) {
    const __m256i scb = h ? _mm256_permute2x128_si256(sc, sc, 0x11) : _mm256_permute2x128_si256(sc, sc, 0x00);
    const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * h));
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m2);
      if (hmask) v = _mm256_or_si256(v, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one), 2));
      const __m256i s = _mm256_shuffle_epi8(scb, pair_scale_shuffle(j));
#pragma GCC unroll 4
      for (int t = 0; t < nt; t++) {
        const __m256i p = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i *)(yb[t]->qs + 128 * h + 32 * j)));
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, s));
        __asm__("" : "+x"(isum[t])); /* see q45k_chunk */
      }
    }
  }
}

STILL_INLINE void q2k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *asum, float *y,
                            int64_t ys, const int nt)
{
  const block_q2_K *w = vw;
  const __m128i m4 = _mm_set1_epi8(0x0f);
  float wmin[KQ_MAX_BLOCKS * 16] __attribute__((aligned(32)));
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const __m128i raw = _mm_loadu_si128((const __m128i *)w[b].scales);
    const __m256i sc = _mm256_cvtepu8_epi16(_mm_and_si128(raw, m4));
    store_scaled16(_mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4)), x86_h2f(w[b].dmin), wmin + 16 * b);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
    k23_block(w[b].qs, NULL, sc, yb, isum, nt);
    kq_scale(yb, _mm256_set1_ps(x86_h2f(w[b].d)), isum, acc, nt);
  }
  kq_finish(wmin, asum, nb, 16, acc, y, ys, nt);
}

STILL_INLINE void q3k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *asum, float *y,
                            int64_t ys, const int nt)
{
  const block_q3_K *w = vw;
  float woff[KQ_MAX_BLOCKS * 16] __attribute__((aligned(32)));
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    uint64_t lo8, hi8;
    still_q3k_unpack_scales64(w[b].scales, &lo8, &hi8);
    const __m256i sc = _mm256_sub_epi16(_mm256_cvtepu8_epi16(_mm_set_epi64x((long long)hi8, (long long)lo8)), _mm256_set1_epi16(32));
    const float d = x86_h2f(w[b].d);
    store_scaled16(sc, 4.0f * d, woff + 16 * b);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
    k23_block(w[b].qs, w[b].hmask, sc, yb, isum, nt);
    kq_scale(yb, _mm256_set1_ps(d), isum, acc, nt);
  }
  kq_finish(woff, asum, nb, 16, acc, y, ys, nt);
}

/* IQ4_XS: eight sub-blocks of 32 with 6-bit signed scales; the grid values
 * are signed, so |w| goes to maddubs and w's sign onto the activations. */
STILL_INLINE void iq4xs_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *unused, float *y,
                              int64_t ys, const int nt)
{
  (void)unused;
  const block_iq4_xs *w = vw;
  const __m256i grid = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)still_iq4nl_grid));
  __m256 acc[NT_MAX];
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const block_q8_K *yb[NT_MAX];
    __m256i isum[NT_MAX];
#pragma GCC unroll 4
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int ib = 0; ib < 8; ib++) {
      const __m256i v = _mm256_shuffle_epi8(grid, nibbles32(w[b].qs + 16 * ib));
      const __m256i av = _mm256_sign_epi8(v, v);
      const __m256i s = _mm256_set1_epi16((short)still_iq4xs_scale(&w[b], ib));
#pragma GCC unroll 4
      for (int t = 0; t < nt; t++) {
        const __m256i a = _mm256_loadu_si256((const __m256i *)(yb[t]->qs + 32 * ib));
        const __m256i p = _mm256_maddubs_epi16(av, _mm256_sign_epi8(a, v)); /* pairs ≤ 2·127·127 */
        isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, s));
        __asm__("" : "+x"(isum[t])); /* see q45k_chunk */
      }
    }
    kq_scale(yb, _mm256_set1_ps(x86_h2f(w[b].d)), isum, acc, nt);
  }
#pragma GCC unroll 4
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

/* IQ4_XS needs nothing prepared. */
static void prep_none(const char *row, float *a, int64_t nb)
{
  (void)row;
  (void)a;
  (void)nb;
}

TILE_DRIVER(gemm_q2_K, q2k_micro, prep_sums, QK_K, 16)
TILE_DRIVER(gemm_q3_K, q3k_micro, prep_sums, QK_K, 16)
TILE_DRIVER(gemm_iq4_xs, iq4xs_micro, prep_none, QK_K, 1)

/* ======================================================================
 * F32 / F16 / BF16 × the same type: tiles of 2 rows × 4 tokens, one
 * accumulator per element over 8-value steps, the tail (n % 8 values)
 * through a zero-padded copy, reduced at the end. fmt: FP_F32, FP_F16 or
 * FP_BF16 (a constant in every inlined copy).
 * ====================================================================== */

enum { FP_F32, FP_F16, FP_BF16 };

STILL_INLINE __m256 load8(const void *p, int64_t k, const int fmt)
{
  if (fmt == FP_F32) return _mm256_loadu_ps((const float *)p + k);
  const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)p + k));
  if (fmt == FP_F16) return _mm256_cvtph_ps(h);
  /* bf16 is the top half of a float */
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

STILL_INLINE __m256 load8_tail(const void *p, int64_t k, int64_t n, const int fmt)
{
  float v[8] = {0};
  for (int64_t i = k; i < n; i++) {
    if (fmt == FP_F32) v[i - k] = ((const float *)p)[i];
    else if (fmt == FP_F16) v[i - k] = x86_h2f(((const uint16_t *)p)[i]);
    else {
      const uint32_t u = (uint32_t)((const uint16_t *)p)[i] << 16;
      memcpy(&v[i - k], &u, sizeof u);
    }
  }
  return _mm256_loadu_ps(v);
}

STILL_INLINE void fp_micro(int64_t n, const char *w, size_t ws, const char *x, size_t xs, float *y, int64_t ys,
                           const int nr, const int nt, const int fmt)
{
  __m256 acc[2][4];
  #pragma GCC unroll 4
  for (int r = 0; r < nr; r++)
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) acc[r][t] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= n; k += 8) {
    __m256 xv[4];
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) xv[t] = load8(x + (size_t)t * xs, k, fmt);
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
      const __m256 wv = load8(w + (size_t)r * ws, k, fmt);
      #pragma GCC unroll 4
      for (int t = 0; t < nt; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  if (k < n) {
    __m256 xv[4];
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) xv[t] = load8_tail(x + (size_t)t * xs, k, n, fmt);
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
      const __m256 wv = load8_tail(w + (size_t)r * ws, k, n, fmt);
      #pragma GCC unroll 4
      for (int t = 0; t < nt; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  #pragma GCC unroll 4
  for (int r = 0; r < nr; r++)
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) y[t * ys + r] = x86_hsum_f32x8(acc[r][t]);
}

STILL_INLINE void fp_gemm(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t ws, const void *x, size_t xs,
                          float *y, int64_t ys, const int fmt)
{
  for (int t0 = 0; t0 < n_tok; t0 += 4) {
    const int nt = n_tok - t0 < 4 ? n_tok - t0 : 4;
    const char *xt = (const char *)x + (size_t)t0 * xs;
    float *yt = y + t0 * ys;
    for (int64_t r = 0; r < n_rows; r += 2) {
      const char *wr = (const char *)w + (size_t)r * ws;
      const int nr = n_rows - r < 2 ? 1 : 2;
      if (nr == 2) {
        switch (nt) {
        case 4: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 4, fmt); break;
        case 3: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 3, fmt); break;
        case 2: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 2, fmt); break;
        default: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 1, fmt); break;
        }
      } else {
        switch (nt) {
        case 4: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 4, fmt); break;
        case 3: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 3, fmt); break;
        case 2: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 2, fmt); break;
        default: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 1, fmt); break;
        }
      }
    }
  }
}

static void gemm_f32(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t ws, const void *x, size_t xs, float *y,
                     int64_t ys)
{
  fp_gemm(n, n_rows, n_tok, w, ws, x, xs, y, ys, FP_F32);
}

static void gemm_f16(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t ws, const void *x, size_t xs, float *y,
                     int64_t ys)
{
  fp_gemm(n, n_rows, n_tok, w, ws, x, xs, y, ys, FP_F16);
}

static void gemm_bf16(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t ws, const void *x, size_t xs,
                      float *y, int64_t ys)
{
  fp_gemm(n, n_rows, n_tok, w, ws, x, xs, y, ys, FP_BF16);
}

still_gemm_fn still_gemm_avx2(uint32_t wtype)
{
  switch (wtype) {
  case STILL_TYPE_F32: return gemm_f32;
  case STILL_TYPE_F16: return gemm_f16;
  case STILL_TYPE_BF16: return gemm_bf16;
  case STILL_TYPE_Q4_0: return gemm_q4_0;
  case STILL_TYPE_Q8_0: return gemm_q8_0;
  case STILL_TYPE_Q4_K: return gemm_q4_K;
  case STILL_TYPE_Q5_K: return gemm_q5_K;
  case STILL_TYPE_Q6_K: return gemm_q6_K;
  case STILL_TYPE_Q4_1: return gemm_q4_1;
  case STILL_TYPE_Q5_0: return gemm_q5_0;
  case STILL_TYPE_Q5_1: return gemm_q5_1;
  case STILL_TYPE_IQ4_NL: return gemm_iq4_nl;
  case STILL_TYPE_Q2_K: return gemm_q2_K;
  case STILL_TYPE_Q3_K: return gemm_q3_K;
  case STILL_TYPE_IQ4_XS: return gemm_iq4_xs;
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
