/* gemm-avx512.c — multi-token kernels for the AVX-512 levels (see gemm.h).
 * Built with the same flags as vec-avx512.c; the VNNI variants are only
 * handed out when features.c found AVX512-VNNI.
 *
 * The integer sums are those of vec-avx512.c (the same values meet in the
 * same int32 lane; with VNNI, vpdpwssd replaces a madd + add pair). The work
 * that depends on the weights alone (unpacking nibbles and high bits,
 * expanding scales) is done once per block and shared by the tokens of a
 * tile. Q8_0/Q4_0 also keep vec_dot's float steps (same bits); the
 * K-quants move the activation-sum term out of the block loop (below), so
 * their last bits differ from vec_dot — per element the code is the same
 * whatever the tile, which is what gemm.h promises.
 */
#include "cpu/gemm-internal.h"
#include "cpu/vec-internal.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && \
    defined(__AVX512VNNI__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "cpu/vec-x86.h"

/* Tokens per tile: their accumulators plus one decoded block fit the 32
 * vector registers. Every driver below takes the tokens in tiles (outer
 * loop; what the tile's activations need is prepared once) and then every
 * row of the call (inner loop): the caller passes as many rows as stay in
 * L2, the tile's activations stay in L1/L2. Each tile size is its own
 * inlined copy of the same per-element code, so no element depends on the
 * tile it falls in. */
#define NT_MAX 8
_Static_assert(NT_MAX == 8, "the tile switches below list 1..8 tokens");
/* Rows of up to KQ_MAX_BLOCKS super-blocks (STILL_GEMM_MAX_N values). */
#define KQ_MAX_BLOCKS (STILL_GEMM_MAX_N / QK_K)

/* The weights stream from memory once per token in decode, and the
 * hardware prefetcher alone keeps too few lines in flight for one core to
 * reach its bandwidth: ask for the bytes PREFETCH_AHEAD ahead of the block
 * in hand (the rows of a matrix are contiguous, so this runs on into the
 * next rows; prefetches never fault). Measured on a 1.5B Q4_K_M: decode
 * 7.4 → 11 tokens per CPU-second. */
#define PREFETCH_AHEAD 4096

STILL_INLINE void prefetch_weights(const void *p, size_t bytes)
{
  for (size_t l = 0; l < bytes; l += 64) _mm_prefetch((const char *)p + PREFETCH_AHEAD + l, _MM_HINT_T0);
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
 * K-quants × Q8_K
 *
 * The integer part is vec_dot's (same int32 lanes), scaled per block by
 * dy·d into one float accumulator per token. The term that depends on the
 * activation sums — Q4_K/Q5_K's mins, Q6_K's −32 offset — is moved out of
 * the block loop: it is a float dot product of a weight vector
 * (dmin·m_j, or 32·d·sc_j, per block) with an activation vector (dy·bsum
 * pairs, or dy·bsum, per block) that is prepared once per token for every
 * row of the call. Inside the block loop that leaves per token only the
 * multiplies and one float step, so 8 tokens fit in registers.
 * ====================================================================== */

/* Token tiles outer: prepare their activation-sum vectors (a[t]: nbp
 * blocks of A floats, the padding block zero), then every row. Long rows
 * (the FFN down matrix) take 4 tokens at a time so that their activations
 * stay in L1 (measured: +5 % Q4_K, +12 % Q6_K at n = 8960). */
#define KQ_TILE_L1_BYTES (40 * 1024)
#define KQ_DRIVER(name, micro, prep, A, vnni)                                                                     \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    const int64_t nb = n / QK_K, nbp = (nb + 1) & ~(int64_t)1;                                                    \
    float a[NT_MAX * KQ_MAX_BLOCKS * (A)] __attribute__((aligned(64)));                                           \
    const int tile = (size_t)nb * sizeof(block_q8_K) * NT_MAX > KQ_TILE_L1_BYTES ? NT_MAX / 2 : NT_MAX;          \
    for (int t0 = 0; t0 < n_tok; t0 += tile) {                                                                    \
      const int nt = n_tok - t0 < tile ? n_tok - t0 : tile;                                                       \
      const char *xt = (const char *)x + (size_t)t0 * x_stride;                                                   \
      float *yt = y + t0 * y_stride;                                                                              \
      for (int t = 0; t < nt; t++) prep((const block_q8_K *)(xt + (size_t)t * x_stride), a + t * nbp * (A), nb);  \
      for (int64_t r = 0; r < n_rows; r++) {                                                                      \
        const void *wr = (const char *)w + (size_t)r * w_stride;                                                  \
        switch (nt) {                                                                                             \
        case 8: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 8, vnni); break;                                 \
        case 7: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 7, vnni); break;                                 \
        case 6: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 6, vnni); break;                                 \
        case 5: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 5, vnni); break;                                 \
        case 4: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 4, vnni); break;                                 \
        case 3: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 3, vnni); break;                                 \
        case 2: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 2, vnni); break;                                 \
        default: micro(nb, wr, xt, x_stride, a, yt + r, y_stride, 1, vnni); break;                                \
        }                                                                                                         \
      }                                                                                                           \
    }                                                                                                             \
  }

/* Q4_K/Q5_K: dy·(bsum[2j] + bsum[2j+1]), the activation sum of sub-block j. */
static void prep_pairs(const block_q8_K *y, float *a, int64_t nb)
{
  for (int64_t b = 0; b < nb; b++) {
    const __m256i s = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), _mm256_set1_epi16(1));
    _mm256_store_ps(a + 8 * b, _mm256_mul_ps(_mm256_set1_ps(y[b].d), _mm256_cvtepi32_ps(s)));
  }
  if (nb & 1) _mm256_store_ps(a + 8 * nb, _mm256_setzero_ps());
}

/* Q6_K: dy·bsum[k] for the 16 sub-blocks of 16. */
static void prep_sums(const block_q8_K *y, float *a, int64_t nb)
{
  for (int64_t b = 0; b < nb; b++) {
    const __m512i s = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)y[b].bsums));
    _mm512_store_ps(a + 16 * b, _mm512_mul_ps(_mm512_set1_ps(y[b].d), _mm512_cvtepi32_ps(s)));
  }
  if (nb & 1) _mm512_store_ps(a + 16 * nb, _mm512_setzero_ps());
}

/* One token's integer block sum against four decoded 64-value registers. */
STILL_INLINE __m512i kq_isum(const __m512i q[4], const __m512i s[4], const int8_t *a, const bool vnni)
{
  __m512i isum = _mm512_madd_epi16(_mm512_maddubs_epi16(q[0], _mm512_loadu_si512((const void *)a)), s[0]);
#pragma GCC unroll 3
  for (int c = 1; c < 4; c++) isum = madd_acc(isum, _mm512_maddubs_epi16(q[c], _mm512_loadu_si512((const void *)(a + 64 * c))), s[c], vnni);
  return isum;
}

/* The block loop's float step for every token of the tile. */
STILL_INLINE void kq_tokens(const __m512i q[4], const __m512i s[4], __m512 d, const char *x, size_t xs, int64_t b,
                            __m512 *acc, const int nt, const bool vnni)
{
  /* hide that d is a splat: otherwise the compiler forms dy·d as a scalar
   * product plus a register broadcast (two uops) instead of one vmulps
   * with a broadcast load of dy */
  __asm__("" : "+v"(d));
#pragma GCC unroll 8
  for (int t = 0; t < nt; t++) {
    const block_q8_K *yb = (const block_q8_K *)(x + (size_t)t * xs) + b;
    /* the block after next of this token (292 bytes: 5 lines): +4 % */
    for (int l = 0; l < 5; l++) _mm_prefetch((const char *)(yb + 2) + 64 * l, _MM_HINT_T0);
    const __m512i isum = kq_isum(q, s, yb->qs, vnni);
    acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(yb->d), d), _mm512_cvtepi32_ps(isum), acc[t]);
  }
}

/* acc[t] −= Σ_b wv[b]·a_t[b] over nbp blocks of A floats (zmm-wide steps),
 * then the result of each token. */
STILL_INLINE void kq_finish(const float *wv, const float *a, int64_t nbp, const int A, __m512 *acc, float *y, int64_t ys,
                            const int nt)
{
  for (int64_t k = 0; k < nbp * A; k += 16) {
    const __m512 wk = _mm512_load_ps(wv + k);
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) acc[t] = _mm512_fnmadd_ps(wk, _mm512_load_ps(a + t * nbp * A + k), acc[t]);
  }
  for (int t = 0; t < nt; t++) y[t * ys] = _mm512_reduce_add_ps(acc[t]);
}

/* Scales of a Q4_K/Q5_K block: the four scale vectors of its 64-value
 * registers, and dmin·m_j into wmin[0..8). */
STILL_INLINE void q45k_scales(const uint8_t scales[K_SCALE_SIZE], still_half dmin, __m512i scv[4], float *wmin)
{
  uint64_t sc8, mn8;
  still_q4k_unpack_scales64(scales, &sc8, &mn8);
  const __m256 m = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)mn8)));
  _mm256_store_ps(wmin, _mm256_mul_ps(_mm256_set1_ps(x86_h2f(dmin)), m));
  const __m512i sc = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
#pragma GCC unroll 4
  for (int c = 0; c < 4; c++) scv[c] = _mm512_permutexvar_epi16(idx_halves(2 * c), sc);
}

STILL_INLINE void q4k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *a, float *y, int64_t ys,
                            const int nt, const bool vnni)
{
  const block_q4_K *w = vw;
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  float wmin[KQ_MAX_BLOCKS * 8] __attribute__((aligned(64)));
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m512i q[4], scv[4];
    prefetch_weights(w + b, sizeof *w);
    q45k_scales(w[b].scales, w[b].dmin, scv, wmin + 8 * b);
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) q[c] = unpack_nibbles32(w[b].qs + 32 * c);
    kq_tokens(q, scv, _mm512_set1_ps(x86_h2f(w[b].d)), x, xs, b, acc, nt, vnni);
  }
  if (nb & 1) _mm256_store_ps(wmin + 8 * nb, _mm256_setzero_ps());
  kq_finish(wmin, a, nbp, 8, acc, y, ys, nt);
}

STILL_INLINE void q5k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *a, float *y, int64_t ys,
                            const int nt, const bool vnni)
{
  const block_q5_K *w = vw;
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  const __m512i one = _mm512_set1_epi8(1);
  float wmin[KQ_MAX_BLOCKS * 8] __attribute__((aligned(64)));
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m512i q[4], scv[4];
    prefetch_weights(w + b, sizeof *w);
    q45k_scales(w[b].scales, w[b].dmin, scv, wmin + 8 * b);
    /* qh in both halves; register c takes bit 2c (low half) and 2c+1 (high half) */
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)w[b].qh));
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m512i h = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, idx_halves(2 * c)), one), 4);
      q[c] = _mm512_or_si512(unpack_nibbles32(w[b].qs + 32 * c), h);
    }
    kq_tokens(q, scv, _mm512_set1_ps(x86_h2f(w[b].d)), x, xs, b, acc, nt, vnni);
  }
  if (nb & 1) _mm256_store_ps(wmin + 8 * nb, _mm256_setzero_ps());
  kq_finish(wmin, a, nbp, 8, acc, y, ys, nt);
}

/* Q6_K, 64 values per register as in vec-avx512.c: for half h, ql[64h ..]
 * low nibbles are values 128h + 0..63, their high nibbles 128h + 64..127;
 * the 2 high bits come from qh[32h ..] at shifts 0, 2 | 4, 6. The quants
 * are used unsigned; the −32 is the separate term 32·d·sc_k · dy·bsum_k. */
STILL_INLINE void q6k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *a, float *y, int64_t ys,
                            const int nt, const bool vnni)
{
  const block_q6_K *w = vw;
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x03);
  const __m512i sidx_a = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i four = _mm512_set1_epi16(4);
  const __m512i cnt_a = _mm512_slli_epi16(idx_halves(0), 1);
  const __m512i cnt_b = _mm512_add_epi16(cnt_a, four);
  float woff[KQ_MAX_BLOCKS * 16] __attribute__((aligned(64)));
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const __m128i sc8 = _mm_loadu_si128((const __m128i *)w[b].scales);
    const __m512i sc = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(sc8));
    const float d = x86_h2f(w[b].d);
    _mm512_store_ps(woff + 16 * b, _mm512_mul_ps(_mm512_set1_ps(32.0f * d), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc8))));
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
    kq_tokens(q, s, _mm512_set1_ps(d), x, xs, b, acc, nt, vnni);
  }
  if (nb & 1) _mm512_store_ps(woff + 16 * nb, _mm512_setzero_ps());
  kq_finish(woff, a, nbp, 16, acc, y, ys, nt);
}

/* Q2_K / Q3_K (their vec_dot is AVX2 only; these kernels are the AVX-512
 * multi-token path, gemm.c hands them out above vec_dot's level). Register
 * c holds values 64c .. 64c+63: half h = c/2 of the block, the chunks j and
 * j+1 (j = 2·(c%2)), i.e. bits 2j, 2j+2 of qs[32h ..] in its two 256-bit
 * halves (Q3_K: + 4 where bit 4h+j, 4h+j+1 of hmask is set; the quants are
 * used unsigned). Its four sub-blocks of 16 take scales 4c .. 4c+3. The
 * offset terms go after the block loop as for Q6_K: Q2_K's dmin·min_k,
 * Q3_K's 4·d·sc_k, against dy·bsum_k. */
STILL_INLINE void k23_regs(const uint8_t *qs, const uint8_t *hmask, __m256i sc16, __m512i q[4], __m512i s[4])
{
  const __m512i m2 = _mm512_set1_epi8(0x03), one = _mm512_set1_epi8(1);
  const __m512i sc = _mm512_castsi256_si512(sc16);
  const __m512i sidx = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i hm = hmask ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)hmask)) : _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int c = 0; c < 4; c++) {
    const int h = c / 2, j = 2 * (c % 2);
    const __m512i qq = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(qs + 32 * h)));
    const __m512i sh = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)(2 * j))), _mm256_set1_epi16((short)(2 * j + 2)), 1);
    __m512i v = _mm512_and_si512(_mm512_srlv_epi16(qq, sh), m2);
    if (hmask) {
      const __m512i hs = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)(4 * h + j))), _mm256_set1_epi16((short)(4 * h + j + 1)), 1);
      v = _mm512_or_si512(v, _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(hm, hs), one), 2));
    }
    q[c] = v;
    s[c] = _mm512_permutexvar_epi16(_mm512_add_epi16(sidx, _mm512_set1_epi16((short)(4 * c))), sc);
  }
}

STILL_INLINE void q2k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *a, float *y, int64_t ys,
                            const int nt, const bool vnni)
{
  const block_q2_K *w = vw;
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  const __m128i m4 = _mm_set1_epi8(0x0f);
  float wmin[KQ_MAX_BLOCKS * 16] __attribute__((aligned(64)));
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const __m128i raw = _mm_loadu_si128((const __m128i *)w[b].scales);
    const __m512 mn = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_and_si128(_mm_srli_epi16(raw, 4), m4)));
    _mm512_store_ps(wmin + 16 * b, _mm512_mul_ps(_mm512_set1_ps(x86_h2f(w[b].dmin)), mn));
    __m512i q[4], s[4];
    k23_regs(w[b].qs, NULL, _mm256_cvtepu8_epi16(_mm_and_si128(raw, m4)), q, s);
    kq_tokens(q, s, _mm512_set1_ps(x86_h2f(w[b].d)), x, xs, b, acc, nt, vnni);
  }
  if (nb & 1) _mm512_store_ps(wmin + 16 * nb, _mm512_setzero_ps());
  kq_finish(wmin, a, nbp, 16, acc, y, ys, nt);
}

STILL_INLINE void q3k_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *a, float *y, int64_t ys,
                            const int nt, const bool vnni)
{
  const block_q3_K *w = vw;
  const int64_t nbp = (nb + 1) & ~(int64_t)1;
  float woff[KQ_MAX_BLOCKS * 16] __attribute__((aligned(64)));
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    uint64_t lo8, hi8;
    still_q3k_unpack_scales64(w[b].scales, &lo8, &hi8);
    const __m128i sc8 = _mm_sub_epi8(_mm_set_epi64x((long long)hi8, (long long)lo8), _mm_set1_epi8(32));
    const float d = x86_h2f(w[b].d);
    _mm512_store_ps(woff + 16 * b, _mm512_mul_ps(_mm512_set1_ps(4.0f * d), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(sc8))));
    __m512i q[4], s[4];
    k23_regs(w[b].qs, w[b].hmask, _mm256_cvtepi8_epi16(sc8), q, s);
    kq_tokens(q, s, _mm512_set1_ps(d), x, xs, b, acc, nt, vnni);
  }
  if (nb & 1) _mm512_store_ps(woff + 16 * nb, _mm512_setzero_ps());
  kq_finish(woff, a, nbp, 16, acc, y, ys, nt);
}

KQ_DRIVER(gemm_q4_K, q4k_micro, prep_pairs, 8, false)
KQ_DRIVER(gemm_q4_K_vnni, q4k_micro, prep_pairs, 8, true)
KQ_DRIVER(gemm_q5_K, q5k_micro, prep_pairs, 8, false)
KQ_DRIVER(gemm_q5_K_vnni, q5k_micro, prep_pairs, 8, true)
KQ_DRIVER(gemm_q6_K, q6k_micro, prep_sums, 16, false)
KQ_DRIVER(gemm_q6_K_vnni, q6k_micro, prep_sums, 16, true)
KQ_DRIVER(gemm_q2_K, q2k_micro, prep_sums, 16, false)
KQ_DRIVER(gemm_q2_K_vnni, q2k_micro, prep_sums, 16, true)
KQ_DRIVER(gemm_q3_K, q3k_micro, prep_sums, 16, false)
KQ_DRIVER(gemm_q3_K_vnni, q3k_micro, prep_sums, 16, true)

/* ======================================================================
 * Q8_0 / Q4_0 × Q8_0 with VNNI, the same bits as vec_dot_q8_0_vnni /
 * vec_dot_q4_0_vnni: there even blocks go to acc0 and odd ones to acc1
 * (8 lanes each, the scale dx·dy formed in float), and the result is
 * hsum(acc0 + acc1). Here a pair of blocks fills one 512-bit register, its
 * halves being acc0 and acc1, so one vpdpbusd does 64 products.
 *
 * vpdpbusd multiplies unsigned by signed bytes. Q8_0 weights are signed,
 * so the activations go in as a + 128 and the sum starts at −128·Σw (per
 * lane, computed once per weight pair); Q4_0 weights are unsigned nibbles
 * q and the −8 offset is −8·Σa, computed once per activation pair. Both
 * give each int32 lane the exact Σ of its four products, as vec_dot.
 *
 * The activations of a token tile are first laid out for this (per pair:
 * 64 quant bytes, the 16 lane scales, for Q4_0 the −8·Σa lanes), once for
 * all the rows of the call.
 * ====================================================================== */

/* Per token and block pair: quants (64 B), scales dy ×8 | dy' ×8 (64 B),
 * and for Q4_0 the offset lanes (64 B). An odd last block is paired with a
 * zero block (quants 0, so nothing is added). */
typedef struct {
  int8_t q[64];
  float d[16];
} pair_q8;

typedef struct {
  int8_t q[64];
  float d[16];
  int32_t off[16];
} pair_q4;

/* Bytes of prepared activations per tile, at most: the tile shrinks for
 * long rows (the tile size never changes a result). */
#define PAIR_TILE_BYTES (128 * 1024)

STILL_INLINE __m512i load_pair_q(const block_q8_0 *y, int64_t b, int64_t nb)
{
  const __m256i lo = _mm256_loadu_si256((const __m256i *)y[b].qs);
  const __m256i hi = b + 1 < nb ? _mm256_loadu_si256((const __m256i *)y[b + 1].qs) : _mm256_setzero_si256();
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

STILL_INLINE __m512 pair_scales(still_half d0, still_half d1, bool has1)
{
  return _mm512_insertf32x8(_mm512_set1_ps(x86_h2f(d0)), _mm256_set1_ps(has1 ? x86_h2f(d1) : 0.0f), 1);
}

static void prep_q8_0(const block_q8_0 *y, pair_q8 *out, int64_t nb)
{
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    _mm512_storeu_si512(out[p].q, _mm512_xor_si512(load_pair_q(y, b, nb), _mm512_set1_epi8((char)0x80)));
    _mm512_storeu_ps(out[p].d, pair_scales(y[b].d, b + 1 < nb ? y[b + 1].d : 0, b + 1 < nb));
  }
}

static void prep_q4_0(const block_q8_0 *y, pair_q4 *out, int64_t nb)
{
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    const __m512i a = load_pair_q(y, b, nb);
    _mm512_storeu_si512(out[p].q, a);
    _mm512_storeu_ps(out[p].d, pair_scales(y[b].d, b + 1 < nb ? y[b + 1].d : 0, b + 1 < nb));
    const __m512i s8 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(8), a);
    _mm512_storeu_si512(out[p].off, _mm512_sub_epi32(_mm512_setzero_si512(), s8));
  }
}

/* The result of vec_dot from the two halves of acc. */
STILL_INLINE float pair_result(__m512 acc)
{
  return x86_hsum_f32x8(_mm256_add_ps(_mm512_castps512_ps256(acc), _mm512_extractf32x8_ps(acc, 1)));
}

STILL_INLINE void q8_0_micro(int64_t nb, const void *vw, const pair_q8 *a, int64_t np, float *y, int64_t ys, const int nt)
{
  const block_q8_0 *w = vw;
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    prefetch_weights(w + b, 2 * sizeof *w);
    const __m512i wq = load_pair_q(w, b, nb);
    const __m512i corr = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), wq));
    const __m512 dw = pair_scales(w[b].d, b + 1 < nb ? w[b + 1].d : 0, b + 1 < nb);
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      const pair_q8 *ap = a + t * np + p;
      const __m512i isum = _mm512_dpbusd_epi32(corr, _mm512_loadu_si512(ap->q), wq);
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_loadu_ps(ap->d)), _mm512_cvtepi32_ps(isum), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = pair_result(acc[t]);
}

STILL_INLINE void q4_0_micro(int64_t nb, const void *vw, const pair_q4 *a, int64_t np, float *y, int64_t ys, const int nt)
{
  const block_q4_0 *w = vw;
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    prefetch_weights(w + b, 2 * sizeof *w);
    /* block b's 32 nibbles in value order (low nibbles first) in the low half */
    const __m128i q0 = _mm_loadu_si128((const __m128i *)w[b].qs);
    const __m128i q1 = b + 1 < nb ? _mm_loadu_si128((const __m128i *)w[b + 1].qs) : _mm_setzero_si128();
    const __m512i qq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_srli_epi16(q0, 4), q0)),
                                          _mm256_set_m128i(_mm_srli_epi16(q1, 4), q1), 1);
    const __m512i u = _mm512_and_si512(qq, m4);
    const __m512 dw = pair_scales(w[b].d, b + 1 < nb ? w[b + 1].d : 0, b + 1 < nb);
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      const pair_q4 *ap = a + t * np + p;
      const __m512i isum = _mm512_dpbusd_epi32(_mm512_loadu_si512(ap->off), u, _mm512_loadu_si512(ap->q));
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_loadu_ps(ap->d)), _mm512_cvtepi32_ps(isum), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = pair_result(acc[t]);
}

/* Token tiles outer (prepared once), rows inner. */
#define PAIR_DRIVER(name, micro, prep, pair_t)                                                                    \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    const int64_t nb = n / QK8_0, np = (nb + 1) / 2;                                                              \
    pair_t a[PAIR_TILE_BYTES / sizeof(pair_t)] __attribute__((aligned(64)));                                      \
    int tile = (int)(PAIR_TILE_BYTES / sizeof(pair_t) / (size_t)np);                                              \
    if (tile > NT_MAX) tile = NT_MAX;                                                                             \
    for (int t0 = 0; t0 < n_tok; t0 += tile) {                                                                    \
      const int nt = n_tok - t0 < tile ? n_tok - t0 : tile;                                                       \
      const char *xt = (const char *)x + (size_t)t0 * x_stride;                                                   \
      float *yt = y + t0 * y_stride;                                                                              \
      for (int t = 0; t < nt; t++) prep((const block_q8_0 *)(xt + (size_t)t * x_stride), a + t * np, nb);        \
      for (int64_t r = 0; r < n_rows; r++) {                                                                      \
        const void *wr = (const char *)w + (size_t)r * w_stride;                                                  \
        switch (nt) {                                                                                             \
        case 8: micro(nb, wr, a, np, yt + r, y_stride, 8); break;                                                 \
        case 7: micro(nb, wr, a, np, yt + r, y_stride, 7); break;                                                 \
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

PAIR_DRIVER(gemm_q8_0_vnni, q8_0_micro, prep_q8_0, pair_q8)
PAIR_DRIVER(gemm_q4_0_vnni, q4_0_micro, prep_q4_0, pair_q4)
_Static_assert(PAIR_TILE_BYTES / sizeof(pair_q4) >= (STILL_GEMM_MAX_N / QK8_0 + 1) / 2, "a token of the longest row fits");

/* ======================================================================
 * Q4_1, Q5_0, Q5_1, IQ4_NL × Q8_0/Q8_1 with VNNI, built like Q4_0/Q8_0
 * above (a pair of blocks per register, the halves summed at the end).
 * Their vec_dot is AVX2 only, so these are not vec_dot's bits; gemm.c
 * hands them out above vec_dot's level. The weights of a pair are decoded
 * once per row: nibbles (+ fifth bits) unsigned for Q4_1/Q5_x — Q5_0's −16
 * is −16·Σa per lane, prepared with the activations as Q4_0's −8 —, and
 * for IQ4_NL signed grid values against activations + 128 as Q8_0. Q4_1 and
 * Q5_1 add m·s (Q8_1's s = dy·Σa) after the block loop: a float dot
 * product of the row's m with the token's s, 16 blocks per fma (inside the
 * loop it cost a full-width fma per pair of blocks for two useful lanes).
 * ====================================================================== */

enum { LEG_Q4_1, LEG_Q5_0, LEG_Q5_1, LEG_IQ4_NL };

/* Q8_1 activations per pair: quants and dy lanes (pair_q8 without the
 * + 128); the block sums s go to a separate array per token (below). */
typedef pair_q8 pair_q81;

/* Floats of the m·s term per token: one per block, zero-padded to a
 * multiple of 16 (it is a dot product over the row after the block loop). */
#define MS_STRIDE (STILL_GEMM_MAX_N / QK8_1 + 16)

static void prep_q81(const block_q8_1 *y, pair_q81 *out, float *s, int64_t nb)
{
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    const bool two = b + 1 < nb;
    const __m256i lo = _mm256_loadu_si256((const __m256i *)y[b].qs);
    const __m256i hi = two ? _mm256_loadu_si256((const __m256i *)y[b + 1].qs) : _mm256_setzero_si256();
    _mm512_storeu_si512(out[p].q, _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1));
    _mm512_storeu_ps(out[p].d, pair_scales(y[b].d, two ? y[b + 1].d : 0, two));
  }
  for (int64_t b = 0; b < nb; b++) s[b] = x86_h2f(y[b].s);
  for (int64_t b = nb; b < (nb + 15) / 16 * 16; b++) s[b] = 0.0f;
}

/* As prep_q4_0 with the −16 of Q5_0. */
static void prep_q5_0(const block_q8_0 *y, pair_q4 *out, int64_t nb)
{
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    const __m512i a = load_pair_q(y, b, nb);
    _mm512_storeu_si512(out[p].q, a);
    _mm512_storeu_ps(out[p].d, pair_scales(y[b].d, b + 1 < nb ? y[b + 1].d : 0, b + 1 < nb));
    const __m512i s16 = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(16), a);
    _mm512_storeu_si512(out[p].off, _mm512_sub_epi32(_mm512_setzero_si512(), s16));
  }
}

/* Bit k of the little-endian 32-bit qh → 0x10 in byte k. */
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

/* Two blocks' 32 nibbles each, in value order (low nibbles first). */
STILL_INLINE __m512i nibble_pair(const uint8_t *qs0, const uint8_t *qs1)
{
  const __m128i q0 = _mm_loadu_si128((const __m128i *)qs0);
  const __m128i q1 = qs1 ? _mm_loadu_si128((const __m128i *)qs1) : _mm_setzero_si128();
  const __m512i qq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(_mm_srli_epi16(q0, 4), q0)),
                                        _mm256_set_m128i(_mm_srli_epi16(q1, 4), q1), 1);
  return _mm512_and_si512(qq, _mm512_set1_epi8(0x0f));
}

STILL_INLINE void leg_micro(int64_t nb, const void *vw, const void *va, const float *ms, int64_t np, float *y,
                            int64_t ys, const int nt, const int k)
{
  /* Q4_1/Q5_1: the m of every block of the row, for the m·s term that
   * follows the block loop (one fma per 16 blocks rather than one per
   * pair of blocks inside it) */
  float wm[MS_STRIDE] __attribute__((aligned(64)));
  const size_t wsize = k == LEG_Q4_1 ? sizeof(block_q4_1)
                       : k == LEG_Q5_0 ? sizeof(block_q5_0)
                       : k == LEG_Q5_1 ? sizeof(block_q5_1)
                                       : sizeof(block_iq4_nl);
  const __m512i grid = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)still_iq4nl_grid));
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0, p = 0; b < nb; b += 2, p++) {
    const bool two = b + 1 < nb;
    prefetch_weights((const char *)vw + (size_t)b * wsize, 2 * wsize);
    __m512i u, corr = _mm512_setzero_si512();
    __m512 dw;
    if (k == LEG_Q4_1 || k == LEG_Q5_1) {
      still_half d0, d1, m0, m1;
      const uint8_t *qs0, *qs1;
      if (k == LEG_Q4_1) {
        const block_q4_1 *w = (const block_q4_1 *)vw + b;
        d0 = w[0].d, m0 = w[0].m, qs0 = w[0].qs;
        d1 = two ? w[1].d : 0, m1 = two ? w[1].m : 0, qs1 = two ? w[1].qs : NULL;
        u = nibble_pair(qs0, qs1);
      } else {
        const block_q5_1 *w = (const block_q5_1 *)vw + b;
        d0 = w[0].d, m0 = w[0].m, qs0 = w[0].qs;
        d1 = two ? w[1].d : 0, m1 = two ? w[1].m : 0, qs1 = two ? w[1].qs : NULL;
        const __m256i h1 = two ? fifth_bits(w[1].qh) : _mm256_setzero_si256();
        u = _mm512_or_si512(nibble_pair(qs0, qs1), _mm512_inserti64x4(_mm512_castsi256_si512(fifth_bits(w[0].qh)), h1, 1));
      }
      dw = pair_scales(d0, d1, two);
      wm[b] = x86_h2f(m0);
      if (two) wm[b + 1] = x86_h2f(m1);
    } else if (k == LEG_Q5_0) {
      const block_q5_0 *w = (const block_q5_0 *)vw + b;
      const __m256i h1 = two ? fifth_bits(w[1].qh) : _mm256_setzero_si256();
      u = _mm512_or_si512(nibble_pair(w[0].qs, two ? w[1].qs : NULL),
                          _mm512_inserti64x4(_mm512_castsi256_si512(fifth_bits(w[0].qh)), h1, 1));
      dw = pair_scales(w[0].d, two ? w[1].d : 0, two);
    } else {
      const block_iq4_nl *w = (const block_iq4_nl *)vw + b;
      u = _mm512_shuffle_epi8(grid, nibble_pair(w[0].qs, two ? w[1].qs : NULL)); /* signed; 0 past the end */
      if (!two) u = _mm512_maskz_mov_epi8((__mmask64)0xffffffffull, u);
      corr = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), u));
      dw = pair_scales(w[0].d, two ? w[1].d : 0, two);
    }
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      if (k == LEG_Q4_1 || k == LEG_Q5_1) {
        const pair_q81 *ap = (const pair_q81 *)va + t * np + p;
        const __m512i isum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, _mm512_loadu_si512(ap->q));
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_loadu_ps(ap->d)), _mm512_cvtepi32_ps(isum), acc[t]);
      } else if (k == LEG_Q5_0) {
        const pair_q4 *ap = (const pair_q4 *)va + t * np + p;
        const __m512i isum = _mm512_dpbusd_epi32(_mm512_loadu_si512(ap->off), u, _mm512_loadu_si512(ap->q));
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_loadu_ps(ap->d)), _mm512_cvtepi32_ps(isum), acc[t]);
      } else {
        const pair_q8 *ap = (const pair_q8 *)va + t * np + p;
        const __m512i isum = _mm512_dpbusd_epi32(corr, _mm512_loadu_si512(ap->q), u);
        acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_loadu_ps(ap->d)), _mm512_cvtepi32_ps(isum), acc[t]);
      }
    }
  }
  if (k == LEG_Q4_1 || k == LEG_Q5_1) {
    const int64_t nbs = (nb + 15) / 16 * 16;
    for (int64_t b = nb; b < nbs; b++) wm[b] = 0.0f;
    for (int64_t b = 0; b < nbs; b += 16) {
      const __m512 m = _mm512_load_ps(wm + b);
#pragma GCC unroll 8
      for (int t = 0; t < nt; t++) acc[t] = _mm512_fmadd_ps(m, _mm512_loadu_ps(ms + t * MS_STRIDE + b), acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = pair_result(acc[t]);
}

#define LEG_MICRO(name, kind)                                                                                     \
  STILL_INLINE void name(int64_t nb, const void *vw, const void *a, int64_t np, float *y, int64_t ys, const int nt) \
  {                                                                                                               \
    leg_micro(nb, vw, a, NULL, np, y, ys, nt, kind);                                                              \
  }
LEG_MICRO(q4_1_micro, LEG_Q4_1)
LEG_MICRO(q5_0_micro, LEG_Q5_0)
LEG_MICRO(q5_1_micro, LEG_Q5_1)
LEG_MICRO(iq4_nl_micro, LEG_IQ4_NL)

/* Q4_1/Q5_1 (Q8_1 activations): PAIR_DRIVER with the per-token block sums
 * of the m·s term beside the pairs. */
#define Q81_DRIVER(name, kind)                                                                                    \
  static void name(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t w_stride, const void *x,          \
                   size_t x_stride, float *y, int64_t y_stride)                                                    \
  {                                                                                                               \
    const int64_t nb = n / QK8_1, np = (nb + 1) / 2;                                                              \
    pair_q81 a[PAIR_TILE_BYTES / sizeof(pair_q81)] __attribute__((aligned(64)));                                  \
    float s[NT_MAX * MS_STRIDE] __attribute__((aligned(64)));                                                     \
    int tile = (int)(PAIR_TILE_BYTES / sizeof(pair_q81) / (size_t)np);                                            \
    if (tile > NT_MAX) tile = NT_MAX;                                                                             \
    for (int t0 = 0; t0 < n_tok; t0 += tile) {                                                                    \
      const int nt = n_tok - t0 < tile ? n_tok - t0 : tile;                                                       \
      const char *xt = (const char *)x + (size_t)t0 * x_stride;                                                   \
      float *yt = y + t0 * y_stride;                                                                              \
      for (int t = 0; t < nt; t++)                                                                                \
        prep_q81((const block_q8_1 *)(const void *)(xt + (size_t)t * x_stride), a + t * np, s + t * MS_STRIDE, nb); \
      for (int64_t r = 0; r < n_rows; r++) {                                                                      \
        const void *wr = (const char *)w + (size_t)r * w_stride;                                                  \
        switch (nt) {                                                                                             \
        case 8: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 8, kind); break;                                    \
        case 7: leg_micro(nb, wr, a, s, np, yt + r, y_stride, 7, kind); break;                                    \
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

Q81_DRIVER(gemm_q4_1_vnni, LEG_Q4_1)
PAIR_DRIVER(gemm_q5_0_vnni, q5_0_micro, prep_q5_0, pair_q4)
Q81_DRIVER(gemm_q5_1_vnni, LEG_Q5_1)
PAIR_DRIVER(gemm_iq4_nl_vnni, iq4_nl_micro, prep_q8_0, pair_q8)

/* ======================================================================
 * IQ4_XS × Q8_K with VNNI (its vec_dot is AVX2 only; gemm.c hands this
 * out above vec_dot's level). Register c holds sub-blocks 2c, 2c+1 (64
 * grid values, signed); as for Q8_0 the activations go in as a + 128 and
 * each int32 lane starts at −128·Σw (computed once per row block), so
 * vpdpbusd gives each lane its exact Σ w·a. The sub-block scales are
 * applied in float (d·scale per half register), then dy per token.
 * ====================================================================== */

STILL_INLINE void iq4xs_micro(int64_t nb, const void *vw, const char *x, size_t xs, const float *unused, float *y,
                              int64_t ys, const int nt, const bool vnni)
{
  (void)unused;
  (void)vnni;
  const block_iq4_xs *w = vw;
  const __m512i grid = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)still_iq4nl_grid));
  const __m512i x80 = _mm512_set1_epi8((char)0x80);
  __m512 acc[NT_MAX];
  for (int t = 0; t < nt; t++) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    prefetch_weights(w + b, sizeof *w);
    const float d = x86_h2f(w[b].d);
    __m512i wq[4], corr[4];
    __m512 scf[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      wq[c] = _mm512_shuffle_epi8(grid, nibble_pair(w[b].qs + 32 * c, w[b].qs + 32 * c + 16));
      corr[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), x80, wq[c]));
      scf[c] = _mm512_insertf32x8(_mm512_set1_ps(d * (float)still_iq4xs_scale(&w[b], 2 * c)),
                                  _mm256_set1_ps(d * (float)still_iq4xs_scale(&w[b], 2 * c + 1)), 1);
    }
#pragma GCC unroll 8
    for (int t = 0; t < nt; t++) {
      const block_q8_K *yb = (const block_q8_K *)(x + (size_t)t * xs) + b;
      for (int l = 0; l < 5; l++) _mm_prefetch((const char *)(yb + 2) + 64 * l, _MM_HINT_T0);
      __m512 sum = _mm512_setzero_ps();
#pragma GCC unroll 4
      for (int c = 0; c < 4; c++) {
        const __m512i a = _mm512_xor_si512(_mm512_loadu_si512((const void *)(yb->qs + 64 * c)), x80);
        sum = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(corr[c], a, wq[c])), scf[c], sum);
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(yb->d), sum, acc[t]);
    }
  }
  for (int t = 0; t < nt; t++) y[t * ys] = _mm512_reduce_add_ps(acc[t]);
}

static void prep_none(const block_q8_K *y, float *a, int64_t nb)
{
  (void)y;
  (void)a;
  (void)nb;
}

KQ_DRIVER(gemm_iq4_xs_vnni, iq4xs_micro, prep_none, 1, true)

/* ======================================================================
 * F32 / F16 / BF16 × the same type (matrices of float weights, and attention:
 * keys × queries, transposed values × probabilities). Tiles of 4 rows × 4
 * tokens, one accumulator per element over 16-value steps and a masked
 * tail, reduced at the end: the same per element whatever the tile.
 * ====================================================================== */

enum { FP_F32, FP_F16, FP_BF16 }; /* fmt: a constant in every inlined copy */

STILL_INLINE __m512 widen16(__m256i h, const int fmt)
{
  if (fmt == FP_F16) return _mm512_cvtph_ps(h);
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); /* bf16: a float's top half */
}

STILL_INLINE __m512 load16(const void *p, int64_t k, const int fmt)
{
  if (fmt == FP_F32) return _mm512_loadu_ps((const float *)p + k);
  return widen16(_mm256_loadu_si256((const __m256i *)((const uint16_t *)p + k)), fmt);
}

STILL_INLINE __m512 load16_tail(const void *p, int64_t k, __mmask16 m, const int fmt)
{
  if (fmt == FP_F32) return _mm512_maskz_loadu_ps(m, (const float *)p + k);
  return widen16(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + k), fmt);
}

STILL_INLINE void fp_micro(int64_t n, const char *w, size_t ws, const char *x, size_t xs, float *y, int64_t ys,
                           const int nr, const int nt, const int fmt)
{
  __m512 acc[4][4];
  #pragma GCC unroll 4
  for (int r = 0; r < nr; r++)
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) acc[r][t] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    __m512 xv[4];
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) xv[t] = load16(x + (size_t)t * xs, k, fmt);
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
      const __m512 wv = load16(w + (size_t)r * ws, k, fmt);
      #pragma GCC unroll 4
      for (int t = 0; t < nt; t++) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  if (k < n) {
    const __mmask16 m = (__mmask16)((1u << (n - k)) - 1);
    __m512 xv[4];
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) xv[t] = load16_tail(x + (size_t)t * xs, k, m, fmt);
    #pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
      const __m512 wv = load16_tail(w + (size_t)r * ws, k, m, fmt);
      #pragma GCC unroll 4
      for (int t = 0; t < nt; t++) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  #pragma GCC unroll 4
  for (int r = 0; r < nr; r++)
    #pragma GCC unroll 4
    for (int t = 0; t < nt; t++) y[t * ys + r] = _mm512_reduce_add_ps(acc[r][t]);
}

/* Token tiles of 4 outer, rows in fours (the last ones one by one) inner. */
STILL_INLINE void fp_gemm(int64_t n, int64_t n_rows, int n_tok, const void *w, size_t ws, const void *x, size_t xs,
                          float *y, int64_t ys, const int fmt)
{
  for (int t0 = 0; t0 < n_tok; t0 += 4) {
    const int nt = n_tok - t0 < 4 ? n_tok - t0 : 4;
    const char *xt = (const char *)x + (size_t)t0 * xs;
    float *yt = y + t0 * ys;
    int64_t r = 0;
    for (; r + 4 <= n_rows; r += 4) {
      const char *wr = (const char *)w + (size_t)r * ws;
      switch (nt) {
      case 4: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 4, 4, fmt); break;
      case 3: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 4, 3, fmt); break;
      case 2: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 4, 2, fmt); break;
      default: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 4, 1, fmt); break;
      }
    }
    for (; r < n_rows; r++) {
      const char *wr = (const char *)w + (size_t)r * ws;
      switch (nt) {
      case 4: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 4, fmt); break;
      case 3: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 3, fmt); break;
      case 2: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 2, fmt); break;
      default: fp_micro(n, wr, ws, xt, xs, yt + r, ys, 1, 1, fmt); break;
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

still_gemm_fn still_gemm_avx512(uint32_t wtype, bool vnni)
{
  switch (wtype) {
  case STILL_TYPE_F32: return gemm_f32;
  case STILL_TYPE_F16: return gemm_f16;
  case STILL_TYPE_BF16: return gemm_bf16;
  case STILL_TYPE_Q4_K: return vnni ? gemm_q4_K_vnni : gemm_q4_K;
  case STILL_TYPE_Q5_K: return vnni ? gemm_q5_K_vnni : gemm_q5_K;
  case STILL_TYPE_Q6_K: return vnni ? gemm_q6_K_vnni : gemm_q6_K;
  case STILL_TYPE_Q2_K: return vnni ? gemm_q2_K_vnni : gemm_q2_K;
  case STILL_TYPE_Q3_K: return vnni ? gemm_q3_K_vnni : gemm_q3_K;
  case STILL_TYPE_Q8_0: return vnni ? gemm_q8_0_vnni : NULL;
  case STILL_TYPE_Q4_0: return vnni ? gemm_q4_0_vnni : NULL;
  case STILL_TYPE_Q4_1: return vnni ? gemm_q4_1_vnni : NULL;
  case STILL_TYPE_Q5_0: return vnni ? gemm_q5_0_vnni : NULL;
  case STILL_TYPE_Q5_1: return vnni ? gemm_q5_1_vnni : NULL;
  case STILL_TYPE_IQ4_NL: return vnni ? gemm_iq4_nl_vnni : NULL;
  case STILL_TYPE_IQ4_XS: return vnni ? gemm_iq4_xs_vnni : NULL;
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
