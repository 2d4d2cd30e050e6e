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
 * F32 / F16 × the same type: tiles of 2 rows × 4 tokens, one accumulator
 * per element over 8-value steps, the tail (n % 8 values) through a
 * zero-padded copy, reduced at the end.
 * ====================================================================== */

STILL_INLINE __m256 load8(const void *p, int64_t k, const bool half)
{
  return half ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)p + k)))
              : _mm256_loadu_ps((const float *)p + k);
}

STILL_INLINE __m256 load8_tail(const void *p, int64_t k, int64_t n, const bool half)
{
  float v[8] = {0};
  for (int64_t i = k; i < n; i++)
    v[i - k] = half ? x86_h2f(((const uint16_t *)p)[i]) : ((const float *)p)[i];
  return _mm256_loadu_ps(v);
}

STILL_INLINE void fp_micro(int64_t n, const char *w, size_t ws, const char *x, size_t xs, float *y, int64_t ys,
                           const int nr, const int nt, const bool half)
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
    for (int t = 0; t < nt; t++) xv[t] = load8(x + (size_t)t * xs, k, half);
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
      const __m256 wv = load8(w + (size_t)r * ws, k, half);
      #pragma GCC unroll 4
      for (int t = 0; t < nt; t++) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  if (k < n) {
    __m256 xv[4];
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) xv[t] = load8_tail(x + (size_t)t * xs, k, n, half);
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
      const __m256 wv = load8_tail(w + (size_t)r * ws, k, n, half);
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
                          float *y, int64_t ys, const bool half)
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
        case 4: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 4, half); break;
        case 3: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 3, half); break;
        case 2: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 2, half); break;
        default: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 2, 1, half); break;
        }
      } else {
        switch (nt) {
        case 4: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 4, half); break;
        case 3: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 3, half); break;
        case 2: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 2, half); break;
        default: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 1, half); break;
        }
      }
    }
  }
}

static void gemm_f32(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t ws, const void *x, size_t xs, float *y,
                     int64_t ys)
{
  fp_gemm(n, n_rows, n_tok, w, ws, x, xs, y, ys, false);
}

static void gemm_f16(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t ws, const void *x, size_t xs, float *y,
                     int64_t ys)
{
  fp_gemm(n, n_rows, n_tok, w, ws, x, xs, y, ys, true);
}

still_gemm_fn still_gemm_avx2(uint32_t wtype)
{
  switch (wtype) {
  case STILL_TYPE_F32: return gemm_f32;
  case STILL_TYPE_F16: return gemm_f16;
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
