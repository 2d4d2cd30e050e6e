/* gemm-avx2.c — multi-token kernels for the AVX2 level (see gemm.h). Built
 * with the same flags as vec-avx2.c (-mavx2 -mfma -mf16c).
 *
 * The integer sums are exact (the same products as vec-avx2.c, possibly
 * in other int32 lanes); the work that depends on the weights alone —
 * unpacking nibbles and high bits, broadcasting scales — is done once per
 * block for the tokens of a tile (K-quants: the scales once per call for a
 * chunk of rows). With 16 vector registers the loops go chunk by chunk
 * through a block keeping one int32 sum per token, rather than holding a
 * whole decoded block. The float steps are grouped differently from
 * vec_dot (below), so the last bits differ from it; per element the code
 * is the same whatever the tile, which is what gemm.h promises.
 *
 * Where the time goes (prompt of 128 tokens, 1.5B Q4_K_M, one thread):
 * ~70 % Q4_K and ~17 % Q6_K kernels. The Q4_K block is ~3 vector µops per
 * 32 products and token (vpmaddubsw, vpmaddwd with the sub-block scale,
 * vpaddd) plus the per-block float step; the remaining overhead — decode,
 * scale expansion, float steps — is what the tiling below amortizes.
 */
#include "cpu/gemm-internal.h"
#include "cpu/vec-internal.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "cpu/vec-x86.h"

/* Tokens per tile of the Q2_K/Q3_K/IQ4_XS kernels (their sums and
 * accumulators fit the 16 registers); the others have their own below. */
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
 * Q8_0 / Q4_0 × Q8_0, two blocks per register: the low 128-bit half holds
 * 16 values of block b, the high half the same 16 values of block b + 1,
 * so after maddubs and the int16-pair sums int32 lanes 0..3 belong to
 * block b and 4..7 to b + 1 — the float steps (convert, scale dx·dy,
 * accumulate) run once per pair of blocks without a horizontal fold. The
 * activations of a tile are rearranged into that layout once (lane_q8),
 * with the dy of each lane and, for Q4_0, the −8·Σa of each lane. An odd
 * last block is paired with zeros. The integer sums are exact; the float
 * grouping differs from vec_dot (last bits), never from tile to tile.
 * ====================================================================== */

typedef struct {
  int8_t q[64];  /* values 0..15 of b | of b+1, then 16..31 of b | of b+1 */
  float d[8];    /* dy_b ×4 | dy_b+1 ×4 */
} lane_q8;

typedef struct {
  int8_t q[64];
  float d[8];
  int32_t off[8]; /* −8·Σa over the values of each int32 lane */
} lane_q4;

/* Bytes of rearranged activations per tile at most: fewer tokens per tile
 * for long rows (the tile never changes a result). */
#define LANE_TILE_BYTES (128 * 1024)
/* Tokens per tile: accumulators in registers beside the pair's weights. */
#define LANE_NT 6
_Static_assert(LANE_TILE_BYTES / sizeof(lane_q4) >= (STILL_GEMM_MAX_N / QK8_0 + 1) / 2, "a token of the longest row fits");

/* 16 bytes at p (block b) and at p1 (block b + 1, NULL: zeros) as the two halves. */
STILL_INLINE __m256i load_lanes(const void *p0, const void *p1)
{
  const __m256i lo = _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p0));
  return _mm256_inserti128_si256(lo, p1 ? _mm_loadu_si128((const __m128i *)p1) : _mm_setzero_si128(), 1);
}

STILL_INLINE __m256 lane_scales(float d0, float d1)
{
  return _mm256_set_m128(_mm_set1_ps(d1), _mm_set1_ps(d0));
}

STILL_INLINE void prep_lane_common(const block_q8_0 *y, int64_t b, int64_t nb, __m256i *a0, __m256i *a1, float *d)
{
  const bool two = b + 1 < nb;
  *a0 = load_lanes(y[b].qs, two ? y[b + 1].qs : NULL);
  *a1 = load_lanes(y[b].qs + 16, two ? y[b + 1].qs + 16 : NULL);
  _mm256_store_ps(d, lane_scales(x86_h2f(y[b].d), two ? x86_h2f(y[b + 1].d) : 0.0f));
}

static void prep_lane_q8(const char *row, lane_q8 *out, int64_t nb)
{
  const block_q8_0 *y = (const block_q8_0 *)row;
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    __m256i a0, a1;
    prep_lane_common(y, b, nb, &a0, &a1, out[p].d);
    _mm256_store_si256((__m256i *)out[p].q, a0);
    _mm256_store_si256((__m256i *)(out[p].q + 32), a1);
  }
}

static void prep_lane_q4(const char *row, lane_q4 *out, int64_t nb)
{
  const block_q8_0 *y = (const block_q8_0 *)row;
  const __m256i eight = _mm256_set1_epi8(8);
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    __m256i a0, a1;
    prep_lane_common(y, b, nb, &a0, &a1, out[p].d);
    _mm256_store_si256((__m256i *)out[p].q, a0);
    _mm256_store_si256((__m256i *)(out[p].q + 32), a1);
    const __m256i s8 = _mm256_add_epi32(x86_sum_pairs_i16(_mm256_maddubs_epi16(eight, a0)),
                                        x86_sum_pairs_i16(_mm256_maddubs_epi16(eight, a1)));
    _mm256_store_si256((__m256i *)out[p].off, _mm256_sub_epi32(_mm256_setzero_si256(), s8));
  }
}

STILL_INLINE void q8_0_lane_micro(int64_t nb, const void *vw, const lane_q8 *a, int64_t np, float *y, int64_t ys,
                                  const int nt)
{
  const block_q8_0 *w = vw;
  __m256 acc[LANE_NT];
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    const bool two = b + 1 < nb;
    prefetch_weights(w + b, 2 * sizeof *w);
    const __m256i w0 = load_lanes(w[b].qs, two ? w[b + 1].qs : NULL);
    const __m256i w1 = load_lanes(w[b].qs + 16, two ? w[b + 1].qs + 16 : NULL);
    const __m256i u0 = _mm256_sign_epi8(w0, w0), u1 = _mm256_sign_epi8(w1, w1);
    const __m256 dw = lane_scales(x86_h2f(w[b].d), two ? x86_h2f(w[b + 1].d) : 0.0f);
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      const lane_q8 *ap = a + t * np + p;
      const __m256i s0 = _mm256_sign_epi8(_mm256_load_si256((const __m256i *)ap->q), w0);
      const __m256i s1 = _mm256_sign_epi8(_mm256_load_si256((const __m256i *)(ap->q + 32)), w1);
      const __m256i isum = _mm256_add_epi32(x86_sum_pairs_i16(_mm256_maddubs_epi16(u0, s0)),
                                            x86_sum_pairs_i16(_mm256_maddubs_epi16(u1, s1)));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_load_ps(ap->d)), _mm256_cvtepi32_ps(isum), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

STILL_INLINE void q4_0_lane_micro(int64_t nb, const void *vw, const lane_q4 *a, int64_t np, float *y, int64_t ys,
                                  const int nt)
{
  const block_q4_0 *w = vw;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc[LANE_NT];
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    const bool two = b + 1 < nb;
    prefetch_weights(w + b, 2 * sizeof *w);
    /* low nibbles: values 0..15, high nibbles: 16..31 of each block */
    const __m256i raw = load_lanes(w[b].qs, two ? w[b + 1].qs : NULL);
    const __m256i u0 = _mm256_and_si256(raw, m4), u1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
    const __m256 dw = lane_scales(x86_h2f(w[b].d), two ? x86_h2f(w[b + 1].d) : 0.0f);
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      const lane_q4 *ap = a + t * np + p;
      const __m256i p0 = x86_sum_pairs_i16(_mm256_maddubs_epi16(u0, _mm256_load_si256((const __m256i *)ap->q)));
      const __m256i p1 = x86_sum_pairs_i16(_mm256_maddubs_epi16(u1, _mm256_load_si256((const __m256i *)(ap->q + 32))));
      const __m256i isum = _mm256_add_epi32(_mm256_add_epi32(p0, p1), _mm256_load_si256((const __m256i *)ap->off));
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_load_ps(ap->d)), _mm256_cvtepi32_ps(isum), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

/* Token tiles outer (rearranged once), rows inner. */
#define LANE_DRIVER(name, micro, prep, lane_t)                                                                    \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    const int64_t nb = n / QK8_0, np = (nb + 1) / 2;                                                              \
    lane_t a[LANE_TILE_BYTES / sizeof(lane_t)] __attribute__((aligned(32)));                                      \
    int tile = (int)(LANE_TILE_BYTES / sizeof(lane_t) / (size_t)np);                                              \
    if (tile > LANE_NT) tile = LANE_NT;                                                                           \
    for (int t0 = 0; t0 < n_tok; t0 += tile) {                                                                    \
      const int nt = n_tok - t0 < tile ? n_tok - t0 : tile;                                                       \
      const char *xt = (const char *)x + (size_t)t0 * x_stride;                                                   \
      float *yt = y + t0 * y_stride;                                                                              \
      for (int t = 0; t < nt; t++) prep(xt + (size_t)t * x_stride, a + t * np, nb);                               \
      for (int64_t r = 0; r < n_rows; r++) {                                                                      \
        const void *wr = (const char *)w + (size_t)r * w_stride;                                                  \
        switch (nt) {                                                                                             \
        case 6: micro(nb, wr, a, np, yt + r, y_stride, 6); break;                                                 \
        case 5: micro(nb, wr, a, np, yt + r, y_stride, 5); break;                                                 \
        case 4: micro(nb, wr, a, np, yt + r, y_stride, 4); break;                                                 \
        case 3: micro(nb, wr, a, np, yt + r, y_stride, 3); break;                                                 \
        case 2: micro(nb, wr, a, np, yt + r, y_stride, 2); break;                                                 \
        default: micro(nb, wr, a, np, yt + r, y_stride, 1); break;                                                \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
  }
_Static_assert(LANE_NT == 6, "the tile switch above lists 1..6 tokens");

LANE_DRIVER(gemm_q8_0, q8_0_lane_micro, prep_lane_q8, lane_q8)
LANE_DRIVER(gemm_q4_0, q4_0_lane_micro, prep_lane_q4, lane_q4)

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
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) acc[t] = _mm256_fnmadd_ps(wk, _mm256_load_ps(a + t * nbp * A + k), acc[t]);
  }
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

/* isum[t] += the 64 values of sub-blocks 2c, 2c+1 (lo, hi: their unsigned
 * quants; slo, shi: their scales in every int16 lane). */
STILL_INLINE void q45k_chunk(__m256i lo, __m256i hi, __m256i slo, __m256i shi, const block_q8_K *const *yb, int c,
                             __m256i *isum, const int nt)
{
#pragma GCC unroll 8
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
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++)
    acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_broadcast_ss(&yb[t]->d), d), _mm256_cvtepi32_ps(isum[t]), acc[t]);
}

/* ----------------------------------------------------------------------
 * Q4_K, Q5_K, Q6_K: the weight-side work that does not depend on the
 * token — unpacking the 6-bit scales and mins into int16 broadcast
 * operands and floats — is done once per call for a chunk of rows
 * (KQ_PREP_BLOCKS blocks: their expanded scales stay in L1/L2 beside the
 * weights), not once per tile of tokens; the token loop then walks the
 * chunk's rows KQ_NT tokens at a time with the nibble decode shared by
 * them. Per element the integer sums and float steps are the same code
 * whatever the chunk or tile (gemm.h).
 * ---------------------------------------------------------------------- */

/* Tokens per tile of these kernels: 8 int32 sums stay in registers, the
 * float accumulators are touched once per block. */
#define KQ_NT 8
/* Blocks of the row chunk whose scales are expanded at once (≥ one row:
 * a row has at most KQ_MAX_BLOCKS blocks). */
#define KQ_PREP_BLOCKS 512
_Static_assert(KQ_PREP_BLOCKS >= KQ_MAX_BLOCKS, "a row chunk holds at least one row");

/* Q4_K/Q5_K blocks of a chunk, expanded: sc[8·i + j] has scale j of block
 * i in both int16 halves (one vpbroadcastd load per sub-block); mn the
 * floats dmin·m_j (the mins term, after the block loop); d the block scale. */
typedef struct {
  uint32_t sc[KQ_PREP_BLOCKS * 8] __attribute__((aligned(32)));
  float mn[KQ_PREP_BLOCKS * 8] __attribute__((aligned(32)));
  float d[KQ_PREP_BLOCKS];
} q45k_prep;

/* The first 16 bytes of a block_q4_K and a block_q5_K are the same: d,
 * dmin, scales[12]. */
/* One block's entries (sc[0..8), mn[0..8), *d), stored for a chunk of
 * rows; a single token (decode) expands them in the row loop instead, with
 * the same values — and so the same results. */
STILL_INLINE void q45k_mins(uint64_t mn8, still_half dmin, float *mn)
{
  const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mn8)));
  _mm256_store_ps(mn, _mm256_mul_ps(_mm256_set1_ps(x86_h2f(dmin)), m));
}

STILL_INLINE void q45k_block_scales(const block_q4_K *blk, uint32_t *sc, float *mn, float *d)
{
  uint64_t sc8, mn8;
  still_q4k_unpack_scales64(blk->scales, &sc8, &mn8);
  const __m256i s = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sc8));
  _mm256_store_si256((__m256i *)sc, _mm256_or_si256(s, _mm256_slli_epi32(s, 16)));
  q45k_mins(mn8, blk->dmin, mn);
  *d = x86_h2f(blk->d);
}

STILL_INLINE void q45k_prep_rows(const char *w, size_t ws, size_t bsize, int64_t nr, int64_t nb, q45k_prep *p)
{
  for (int64_t r = 0; r < nr; r++)
    for (int64_t b = 0; b < nb; b++) {
      const int64_t i = r * nb + b;
      q45k_block_scales((const block_q4_K *)(w + (size_t)r * ws + (size_t)b * bsize), p->sc + 8 * i, p->mn + 8 * i,
                        p->d + i);
    }
}

/* Long rows go in column chunks of KQ_KC blocks, all rows of the chunk
 * per column chunk, so that the activations of a tile (KQ_NT tokens ×
 * KQ_KC blocks of 292 bytes) stay in L1 while the rows pass; between
 * chunks each row's accumulators wait in memory (accm). The float steps
 * of an element are the same sequence either way. */
#define KQ_KC 8

STILL_INLINE void kq_acc_load(__m256 *acc, const __m256 *accm, int64_t b0, const int nt)
{
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) acc[t] = b0 ? accm[t] : _mm256_setzero_ps();
}

STILL_INLINE void kq_acc_store(const __m256 *acc, __m256 *accm, const int nt)
{
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) accm[t] = acc[t];
}

/* One row of a Q4_K (qh NULL) or Q5_K block row: qs/qh of block b at
 * qs + b·bsize, qh + b·bsize. */
STILL_INLINE void q45k_row(int64_t nb, int64_t b0, int64_t b1, __m256 *accm, const uint8_t *qs, const uint8_t *qh,
                           size_t bsize, const uint32_t *sc, const float *mn, const float *dw, const char *x, size_t xs,
                           const float *amin, float *y, int64_t ys, const int nt)
{
  const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
  /* sc NULL: expand each block's scales here (a single token), the
   * int16 scales by pshufb from a register — the same values */
  float wmin[sc ? 8 : KQ_MAX_BLOCKS * 8] __attribute__((aligned(32)));
  float dl = 0.0f;
  __m256 acc[KQ_NT];
  kq_acc_load(acc, accm, b0, nt);
  for (int64_t b = b0; b < b1; b++) {
    const uint8_t *q4 = qs + (size_t)b * bsize;
    prefetch_weights(q4, bsize);
    __m256i scv = _mm256_setzero_si256();
    if (!sc) {
      /* the block starts qs_off before its qs (Q5_K: qh in between) */
      const size_t qs_off = qh ? offsetof(block_q5_K, qs) : offsetof(block_q4_K, qs);
      const block_q4_K *blk = (const block_q4_K *)(q4 - qs_off);
      uint64_t sc8, mn8;
      still_q4k_unpack_scales64(blk->scales, &sc8, &mn8);
      scv = x86_scales8_i16_both_lanes(sc8);
      q45k_mins(mn8, blk->dmin, wmin + 8 * b);
      dl = x86_h2f(blk->d);
    }
    const block_q8_K *yb[KQ_NT];
    __m256i isum[KQ_NT];
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
    const __m256i h = qh ? _mm256_loadu_si256((const __m256i *)(qh + (size_t)b * bsize)) : _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(q4 + 32 * c));
      __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if (qh) { /* bit 2c / 2c+1 of each qh byte → bit 4 of the quant */
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2 * c + 1), one), 4));
      }
      const __m256i slo = sc ? _mm256_set1_epi32((int)sc[8 * b + 2 * c]) : x86_bcast_i16_lane(scv, 2 * c);
      const __m256i shi = sc ? _mm256_set1_epi32((int)sc[8 * b + 2 * c + 1]) : x86_bcast_i16_lane(scv, 2 * c + 1);
      q45k_chunk(lo, hi, slo, shi, yb, c, isum, nt);
    }
    kq_scale(yb, sc ? _mm256_broadcast_ss(dw + b) : _mm256_set1_ps(dl), isum, acc, nt);
  }
  if (b1 < nb) kq_acc_store(acc, accm, nt);
  else kq_finish(sc ? mn : wmin, amin, nb, 8, acc, y, ys, nt);
}

/* pshufb masks putting int16 scale 2i in the low lane and 2i+1 in the high one. */
STILL_INLINE __m256i pair_scale_shuffle(int i)
{
  const short a = (short)((4 * i + 1) << 8 | (4 * i)), c = (short)((4 * i + 3) << 8 | (4 * i + 2));
  return _mm256_set_m128i(_mm_set1_epi16(c), _mm_set1_epi16(a));
}

/* Q6_K blocks of a chunk: per block the 8 int16 scales of each half in
 * both 128-bit lanes (sc[2i + h]); off the floats 32·d·sc_k (the −32
 * term, after the block loop); d the block scale. */
typedef struct {
  __m256i sc[KQ_PREP_BLOCKS * 2];
  float off[KQ_PREP_BLOCKS * 16] __attribute__((aligned(32)));
  float d[KQ_PREP_BLOCKS];
} q6k_prep;

/* One block's entries, as q45k_block_scales. */
STILL_INLINE void q6k_block_scales(const block_q6_K *blk, __m256i *sc2, float *off, float *d)
{
  const __m128i sc8 = _mm_loadu_si128((const __m128i *)blk->scales);
  const __m256i sc = _mm256_cvtepi8_epi16(sc8);
  sc2[0] = _mm256_permute2x128_si256(sc, sc, 0x00);
  sc2[1] = _mm256_permute2x128_si256(sc, sc, 0x11);
  const float dx = x86_h2f(blk->d);
  const __m256 d32 = _mm256_set1_ps(32.0f * dx);
  _mm256_store_ps(off, _mm256_mul_ps(d32, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc8))));
  _mm256_store_ps(off + 8, _mm256_mul_ps(d32, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8)))));
  *d = dx;
}

STILL_INLINE void q6k_prep_rows(const char *w, size_t ws, int64_t nr, int64_t nb, q6k_prep *p)
{
  for (int64_t r = 0; r < nr; r++)
    for (int64_t b = 0; b < nb; b++) {
      const int64_t i = r * nb + b;
      q6k_block_scales((const block_q6_K *)(w + (size_t)r * ws) + b, p->sc + 2 * i, p->off + 16 * i, p->d + i);
    }
}

/* Q6_K: unsigned 6-bit quants; the −32 is the term 32·d·sc_k · dy·bsum_k. */
STILL_INLINE void q6k_row(int64_t nb, int64_t b0, int64_t b1, __m256 *accm, const block_q6_K *w, const __m256i *sc,
                          const float *off, const float *dw, const char *x, size_t xs, const float *asum, float *y,
                          int64_t ys, const int nt)
{
  const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x03);
  /* sc NULL: expand each block's scales here (a single token) */
  __m256i scl[2];
  float woff[sc ? 8 : KQ_MAX_BLOCKS * 16] __attribute__((aligned(32)));
  float dl = 0.0f;
  __m256 acc[KQ_NT];
  kq_acc_load(acc, accm, b0, nt);
  for (int64_t b = b0; b < b1; b++) {
    prefetch_weights(w + b, sizeof *w);
    const __m256i *scb = sc ? sc + 2 * b : scl;
    if (!sc) q6k_block_scales(w + b, scl, woff + 16 * b, &dl);
    const block_q8_K *yb[KQ_NT];
    __m256i isum[KQ_NT];
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      yb[t] = (const block_q8_K *)(x + (size_t)t * xs) + b;
      isum[t] = _mm256_setzero_si256();
    }
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        /* values 128h + 32i + 0..31: low nibbles of ql[64h + 32(i&1) ..] (high for i ≥ 2), bits 2i..2i+1 of qh[32h ..] */
        const __m256i ql = _mm256_loadu_si256((const __m256i *)(w[b].ql + 64 * h + 32 * (i & 1)));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(w[b].qh + 32 * h));
        const __m256i lowq = i < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
        const __m256i q = _mm256_or_si256(lowq, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * i), m2), 4));
        const __m256i s = _mm256_shuffle_epi8(scb[h], pair_scale_shuffle(i));
#pragma GCC unroll 8
        for (int t = 0; t < nt; t++) {
          const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)(yb[t]->qs + 128 * h + 32 * i)));
          isum[t] = _mm256_add_epi32(isum[t], _mm256_madd_epi16(p, s));
          __asm__("" : "+x"(isum[t])); /* see q45k_chunk */
        }
      }
    }
    kq_scale(yb, sc ? _mm256_broadcast_ss(dw + b) : _mm256_set1_ps(dl), isum, acc, nt);
  }
  if (b1 < nb) kq_acc_store(acc, accm, nt);
  else kq_finish(sc ? off : woff, asum, nb, 16, acc, y, ys, nt);
}

/* Row chunks outer (prep_w: their scales), tiles of KQ_NT tokens inner
 * (prep_x: their activation sums), then column chunks of KQ_KC blocks,
 * every row of the row chunk innermost. */
#define KQ_DRIVER(name, prep_t, prep_w, prep_x, per_block, row_call, inline_call)                                             \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    const int64_t nb = n / QK_K, nbp = (nb + 1) & ~(int64_t)1, rc = KQ_PREP_BLOCKS / nb;                          \
    float a[KQ_NT * (KQ_MAX_BLOCKS + 1) * (per_block)] __attribute__((aligned(32)));                              \
    __m256 accb[(KQ_PREP_BLOCKS / (KQ_KC + 1) + 1) * KQ_NT]; /* rows of a chunk when nb > KQ_KC */               \
    if (n_tok == 1) { /* decode: the scales expanded in the row loop (a table would be used once) */          \
      const char *xt = (const char *)x;                                                                           \
      float *yt = y;                                                                                              \
      const int64_t kb0 = 0, kb1 = nb;                                                                            \
      __m256 *accm = accb;                                                                                        \
      prep_x(xt, a, nb);                                                                                          \
      for (int64_t r = 0; r < n_rows; r++) {                                                                      \
        const char *wr = (const char *)w + (size_t)r * w_stride;                                                  \
        inline_call(1);                                                                                           \
      }                                                                                                           \
      return;                                                                                                     \
    }                                                                                                             \
    prep_t p;                                                                                                     \
    for (int64_t r0 = 0; r0 < n_rows; r0 += rc) {                                                                 \
      const int64_t nr = n_rows - r0 < rc ? n_rows - r0 : rc;                                                     \
      const char *wc = (const char *)w + (size_t)r0 * w_stride;                                                   \
      prep_w;                                                                                                     \
      for (int t0 = 0; t0 < n_tok; t0 += KQ_NT) {                                                                 \
        const int nt = n_tok - t0 < KQ_NT ? n_tok - t0 : KQ_NT;                                                   \
        const char *xt = (const char *)x + (size_t)t0 * x_stride;                                                 \
        float *yt = y + t0 * y_stride + r0;                                                                       \
        for (int t = 0; t < nt; t++) prep_x(xt + (size_t)t * x_stride, a + t * nbp * (per_block), nb);            \
        for (int64_t kb0 = 0; kb0 < nb; kb0 += KQ_KC) {                                                           \
          const int64_t kb1 = nb - kb0 < KQ_KC ? nb : kb0 + KQ_KC;                                                \
          for (int64_t r = 0; r < nr; r++) {                                                                      \
            const char *wr = wc + (size_t)r * w_stride;                                                           \
            const int64_t i0 = r * nb;                                                                            \
            __m256 *accm = accb + (nb > KQ_KC ? r * KQ_NT : 0);                                                   \
            switch (nt) {                                                                                         \
            case 8: row_call(8); break;                                                                           \
            case 7: row_call(7); break;                                                                           \
            case 6: row_call(6); break;                                                                           \
            case 5: row_call(5); break;                                                                           \
            case 4: row_call(4); break;                                                                           \
            case 3: row_call(3); break;                                                                           \
            case 2: row_call(2); break;                                                                           \
            default: row_call(1); break;                                                                          \
            }                                                                                                     \
          }                                                                                                       \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
  }
_Static_assert(KQ_NT == 8, "the tile switch above lists 1..8 tokens");

#define Q4K_CALL(NT)                                                                                              \
  q45k_row(nb, kb0, kb1, accm, ((const block_q4_K *)wr)->qs, NULL, sizeof(block_q4_K), p.sc + 8 * i0, p.mn + 8 * i0, p.d + i0, xt, \
           x_stride, a, yt + r, y_stride, NT)
#define Q5K_CALL(NT)                                                                                              \
  q45k_row(nb, kb0, kb1, accm, ((const block_q5_K *)wr)->qs, ((const block_q5_K *)wr)->qh, sizeof(block_q5_K), p.sc + 8 * i0,     \
           p.mn + 8 * i0, p.d + i0, xt, x_stride, a, yt + r, y_stride, NT)
#define Q4K_INL(NT)                                                                                               \
  q45k_row(nb, kb0, kb1, accm, ((const block_q4_K *)wr)->qs, NULL, sizeof(block_q4_K), NULL, NULL, NULL, xt,       \
           x_stride, a, yt + r, y_stride, NT)
#define Q5K_INL(NT)                                                                                               \
  q45k_row(nb, kb0, kb1, accm, ((const block_q5_K *)wr)->qs, ((const block_q5_K *)wr)->qh, sizeof(block_q5_K),     \
           NULL, NULL, NULL, xt, x_stride, a, yt + r, y_stride, NT)
#define Q6K_INL(NT)                                                                                               \
  q6k_row(nb, kb0, kb1, accm, (const block_q6_K *)wr, NULL, NULL, NULL, xt, x_stride, a, yt + r, y_stride, NT)
#define Q6K_CALL(NT)                                                                                              \
  q6k_row(nb, kb0, kb1, accm, (const block_q6_K *)wr, p.sc + 2 * i0, p.off + 16 * i0, p.d + i0, xt, x_stride, a, yt + r, y_stride, NT)

KQ_DRIVER(gemm_q4_K, q45k_prep, q45k_prep_rows(wc, w_stride, sizeof(block_q4_K), nr, nb, &p), prep_pairs, 8, Q4K_CALL, Q4K_INL)
KQ_DRIVER(gemm_q5_K, q45k_prep, q45k_prep_rows(wc, w_stride, sizeof(block_q5_K), nr, nb, &p), prep_pairs, 8, Q5K_CALL, Q5K_INL)
KQ_DRIVER(gemm_q6_K, q6k_prep, q6k_prep_rows(wc, w_stride, nr, nb, &p), prep_sums, 16, Q6K_CALL, Q6K_INL)

/* ======================================================================
 * The less common types (their vec_dot exists at the AVX2 level only, so
 * the AVX-512 levels use these too — gemm.c follows vec_dot's level).
 *
 * Q4_1, Q5_0, Q5_1, IQ4_NL: 32-value blocks in the lane layout of Q4_0
 * above — a pair's weights are decoded once per row (nibbles, fifth bits,
 * grid lookup) into the two halves of a register; Q5_0's −16 is −16·Σa per
 * lane, prepared with the activations as Q4_0's −8; IQ4_NL's signed grid
 * values go in as |v| with their signs on the activations, as Q8_0. Q4_1
 * and Q5_1 (Q8_1 activations) add the m·s term (the weight offset times
 * Q8_1's s = dy·Σa) after the block loop: a float dot product of the row's
 * m with the token's s, 8 blocks per fma.
 * ====================================================================== */

enum { LEG_Q4_1, LEG_Q5_0, LEG_Q5_1, LEG_IQ4_NL };

/* Q8_1 activations: lane_q8 from the Q8_1 blocks; the s of each block into
 * s[0..nb), zero-padded to a multiple of 8. */
#define MS_STRIDE (STILL_GEMM_MAX_N / QK8_1 + 8)

static void prep_lane_q81(const char *row, lane_q8 *out, float *s, int64_t nb)
{
  const block_q8_1 *y = (const block_q8_1 *)row;
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    const bool two = b + 1 < nb;
    _mm256_store_si256((__m256i *)out[p].q, load_lanes(y[b].qs, two ? y[b + 1].qs : NULL));
    _mm256_store_si256((__m256i *)(out[p].q + 32), load_lanes(y[b].qs + 16, two ? y[b + 1].qs + 16 : NULL));
    _mm256_store_ps(out[p].d, lane_scales(x86_h2f(y[b].d), two ? x86_h2f(y[b + 1].d) : 0.0f));
  }
  for (int64_t b = 0; b < nb; b++) s[b] = x86_h2f(y[b].s);
  for (int64_t b = nb; b < (nb + 7) / 8 * 8; b++) s[b] = 0.0f;
}

/* As prep_lane_q4 with Q5_0's −16. */
static void prep_lane_q5(const char *row, lane_q4 *out, int64_t nb)
{
  const block_q8_0 *y = (const block_q8_0 *)row;
  const __m256i sixteen = _mm256_set1_epi8(16);
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    __m256i a0, a1;
    prep_lane_common(y, b, nb, &a0, &a1, out[p].d);
    _mm256_store_si256((__m256i *)out[p].q, a0);
    _mm256_store_si256((__m256i *)(out[p].q + 32), a1);
    const __m256i s16 = _mm256_add_epi32(x86_sum_pairs_i16(_mm256_maddubs_epi16(sixteen, a0)),
                                         x86_sum_pairs_i16(_mm256_maddubs_epi16(sixteen, a1)));
    _mm256_store_si256((__m256i *)out[p].off, _mm256_sub_epi32(_mm256_setzero_si256(), s16));
  }
}

/* Bit k of bits → 0x10 in byte k (the fifth bit of lane value k). */
STILL_INLINE __m256i fifth_bits32(uint32_t bits)
{
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                             _mm256_setr_epi64x(0x0000000000000000ll, 0x0101010101010101ll,
                                                                0x0202020202020202ll, 0x0303030303030303ll));
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(0x10));
}

STILL_INLINE uint32_t load_u32(const uint8_t *p)
{
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

STILL_INLINE __m256i nibbles32(const uint8_t qs[16])
{
  const __m128i q4 = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q4, 4), q4), _mm256_set1_epi8(0x0f));
}

STILL_INLINE size_t leg_wsize(const int k)
{
  return k == LEG_Q4_1 ? sizeof(block_q4_1)
         : k == LEG_Q5_0 ? sizeof(block_q5_0)
         : k == LEG_Q5_1 ? sizeof(block_q5_1)
                         : sizeof(block_iq4_nl);
}

/* The pair at block b of a row of kind k in the lane layout: u0 (values
 * 0..15 of b | of b+1) and u1 (16..31), unsigned maddubs operands; for
 * IQ4_NL g0, g1 the signed grid values whose signs go onto the activations;
 * dw the lane scales, m0 / m1 the offsets (Q4_1/Q5_1). */
STILL_INLINE void leg_pair(const void *vw, int64_t b, int64_t nb, const int k, __m256i *u0, __m256i *u1, __m256i *g0,
                           __m256i *g1, __m256 *dw, float *m0, float *m1)
{
  const bool two = b + 1 < nb;
  const size_t wsize = leg_wsize(k);
  const size_t qs_off = k == LEG_Q4_1 ? offsetof(block_q4_1, qs)
                        : k == LEG_Q5_0 ? offsetof(block_q5_0, qs)
                        : k == LEG_Q5_1 ? offsetof(block_q5_1, qs)
                                        : offsetof(block_iq4_nl, qs);
  const uint8_t *w0 = (const uint8_t *)vw + (size_t)b * wsize, *w1 = two ? w0 + wsize : NULL;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i raw = load_lanes(w0 + qs_off, two ? w1 + qs_off : NULL);
  *u0 = _mm256_and_si256(raw, m4);
  *u1 = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
  still_half d0, d1 = 0;
  memcpy(&d0, w0, sizeof d0); /* d first in every one of these blocks */
  if (two) memcpy(&d1, w1, sizeof d1);
  *dw = lane_scales(x86_h2f(d0), two ? x86_h2f(d1) : 0.0f);
  if (k == LEG_Q5_0 || k == LEG_Q5_1) {
    const size_t qh_off = k == LEG_Q5_0 ? offsetof(block_q5_0, qh) : offsetof(block_q5_1, qh);
    const uint32_t h0 = load_u32(w0 + qh_off), h1 = two ? load_u32(w1 + qh_off) : 0;
    *u0 = _mm256_or_si256(*u0, fifth_bits32((h0 & 0xffffu) | h1 << 16));
    *u1 = _mm256_or_si256(*u1, fifth_bits32(h0 >> 16 | (h1 & 0xffff0000u)));
  }
  if (k == LEG_Q4_1 || k == LEG_Q5_1) {
    const size_t m_off = k == LEG_Q4_1 ? offsetof(block_q4_1, m) : offsetof(block_q5_1, m);
    still_half h0, h1 = 0;
    memcpy(&h0, w0 + m_off, sizeof h0);
    if (two) memcpy(&h1, w1 + m_off, sizeof h1);
    *m0 = x86_h2f(h0);
    *m1 = two ? x86_h2f(h1) : 0.0f;
  }
  if (k == LEG_IQ4_NL) {
    const __m256i grid = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)still_iq4nl_grid));
    /* an absent second block decodes as grid[0], not 0: its scale and its
     * activations are zero, but keep the lanes clean */
    const __m256i keep = two ? _mm256_set1_epi8(-1) : _mm256_set_m128i(_mm_setzero_si128(), _mm_set1_epi8(-1));
    *g0 = _mm256_and_si256(_mm256_shuffle_epi8(grid, *u0), keep);
    *g1 = _mm256_and_si256(_mm256_shuffle_epi8(grid, *u1), keep);
    *u0 = _mm256_sign_epi8(*g0, *g0);
    *u1 = _mm256_sign_epi8(*g1, *g1);
  }
}

/* va: lane_q8 (Q4_1, Q5_1, IQ4_NL) or lane_q4 (Q5_0) rows of np pairs;
 * ms: the Q8_1 s of each token (MS_STRIDE apart). */
STILL_INLINE void leg_micro(int64_t nb, const void *vw, const void *va, const float *ms, int64_t np, float *y,
                            int64_t ys, const int nt, const int k)
{
  const bool q81 = k == LEG_Q4_1 || k == LEG_Q5_1;
  float wm[MS_STRIDE] __attribute__((aligned(32)));
  __m256 acc[LANE_NT];
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    prefetch_weights((const char *)vw + (size_t)b * leg_wsize(k), 2 * leg_wsize(k));
    __m256i u0, u1, g0 = _mm256_setzero_si256(), g1 = _mm256_setzero_si256();
    __m256 dw;
    float m0 = 0.0f, m1 = 0.0f;
    leg_pair(vw, b, nb, k, &u0, &u1, &g0, &g1, &dw, &m0, &m1);
    if (q81) {
      wm[b] = m0;
      wm[b + 1] = m1; /* b + 1 < MS_STRIDE; past nb it is zero */
    }
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      const lane_q8 *a8 = (const lane_q8 *)va + t * np + p;
      const lane_q4 *a4 = (const lane_q4 *)va + t * np + p;
      const int8_t *q = k == LEG_Q5_0 ? a4->q : a8->q;
      __m256i a0 = _mm256_load_si256((const __m256i *)q), a1 = _mm256_load_si256((const __m256i *)(q + 32));
      if (k == LEG_IQ4_NL) {
        a0 = _mm256_sign_epi8(a0, g0);
        a1 = _mm256_sign_epi8(a1, g1);
      }
      __m256i isum = _mm256_add_epi32(x86_sum_pairs_i16(_mm256_maddubs_epi16(u0, a0)),
                                      x86_sum_pairs_i16(_mm256_maddubs_epi16(u1, a1)));
      if (k == LEG_Q5_0) isum = _mm256_add_epi32(isum, _mm256_load_si256((const __m256i *)a4->off));
      const float *d = k == LEG_Q5_0 ? a4->d : a8->d;
      acc[t] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_load_ps(d)), _mm256_cvtepi32_ps(isum), acc[t]);
    }
  }
  if (q81) {
    const int64_t nbs = (nb + 7) / 8 * 8;
    for (int64_t b = (nb + 1) & ~(int64_t)1; b < nbs; b++) wm[b] = 0.0f;
    for (int64_t b = 0; b < nbs; b += 8) {
      const __m256 m = _mm256_load_ps(wm + b);
#pragma GCC unroll 8
      for (int t = 0; t < nt; t++) acc[t] = _mm256_fmadd_ps(m, _mm256_loadu_ps(ms + t * MS_STRIDE + b), acc[t]);
    }
  }
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) y[t * ys] = x86_hsum_f32x8(acc[t]);
}

/* LANE_DRIVER with the kind and, for Q8_1 activations, their s. */
#define LEG_DRIVER(name, kind, lane_t, prep_call)                                                                 \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    const int64_t nb = n / QK8_0, np = (nb + 1) / 2;                                                              \
    lane_t a[LANE_TILE_BYTES / sizeof(lane_t)] __attribute__((aligned(32)));                                      \
    float s[(kind == LEG_Q4_1 || kind == LEG_Q5_1) ? LANE_NT * MS_STRIDE : 1] __attribute__((aligned(32)));       \
    int tile = (int)(LANE_TILE_BYTES / sizeof(lane_t) / (size_t)np);                                              \
    if (tile > LANE_NT) tile = LANE_NT;                                                                           \
    for (int t0 = 0; t0 < n_tok; t0 += tile) {                                                                    \
      const int nt = n_tok - t0 < tile ? n_tok - t0 : tile;                                                       \
      const char *xt = (const char *)x + (size_t)t0 * x_stride;                                                   \
      float *yt = y + t0 * y_stride;                                                                              \
      for (int t = 0; t < nt; t++) {                                                                              \
        const char *row = xt + (size_t)t * x_stride;                                                              \
        prep_call;                                                                                                \
      }                                                                                                           \
      for (int64_t r = 0; r < n_rows; r++) {                                                                      \
        const void *wr = (const char *)w + (size_t)r * w_stride;                                                  \
        switch (nt) {                                                                                             \
        case 6: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 6, kind); break;                                    \
        case 5: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 5, kind); break;                                    \
        case 4: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 4, kind); break;                                    \
        case 3: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 3, kind); break;                                    \
        case 2: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 2, kind); break;                                    \
        default: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 1, kind); break;                                   \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
  }

LEG_DRIVER(gemm_q4_1, LEG_Q4_1, lane_q8, prep_lane_q81(row, a + t * np, s + t * MS_STRIDE, nb))
LEG_DRIVER(gemm_q5_0, LEG_Q5_0, lane_q4, prep_lane_q5(row, a + t * np, nb))
LEG_DRIVER(gemm_q5_1, LEG_Q5_1, lane_q8, prep_lane_q81(row, a + t * np, s + t * MS_STRIDE, nb))
LEG_DRIVER(gemm_iq4_nl, LEG_IQ4_NL, lane_q8, prep_lane_q8(row, a + t * np, nb))

/* ======================================================================
 * Q2_K, Q3_K, IQ4_XS × Q8_K, laid out as Q6_K (32 values per chunk, two
 * sub-blocks of 16 with their own scale for Q2_K/Q3_K). The offset terms
 * move after the block loop as for Q6_K: Q2_K's dmin·min_k and Q3_K's
 * 4·d·sc_k (its quants are used unsigned, q + 4) against dy·bsum_k.
 * IQ4_XS has signed grid values and no offset term.
 * ====================================================================== */

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
