/* vec-avx2.c — AVX2 + FMA + F16C kernels (built with -mavx2 -mfma -mf16c,
 * only called after features.c has checked cpuid and XCR0).
 *
 * Integer dot products use maddubs (u8 × s8 → pairs of int16) and madd
 * (int16 × int16 → int32); the weight quants are made unsigned where the
 * format allows (Q4_K, Q5_K, Q6_K, Q4_0) and the offset is subtracted once
 * per block via the activation sums. Results equal the scalar kernels up to
 * the order of float additions.
 *
 * The short inner loops carry `#pragma GCC unroll`: unrolled, their shift
 * counts and shuffle masks become immediates and hoisted constants (this
 * doubled Q2_K/Q3_K and gave 10-25 % on the other K-quants).
 */
#include "cpu/vec-internal.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "cpu/vec-x86.h"
#include "util.h"

#include <math.h>

/* ======================================================================
 * Activation quantizers — bit-identical to vec-generic.c
 * ====================================================================== */

/* One block of 32: d, the 32 quants, and their sum. */
STILL_INLINE int quantize_block32(const float *x, int8_t *q, float *d_out)
{
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int k = 0; k < 4; k++) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, x86_abs_f32x8(v[k]));
  }
  const float d = x86_hmax_f32x8(amax) / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const __m256 idv = _mm256_set1_ps(id);
  __m256i iv[4];
  for (int k = 0; k < 4; k++) iv[k] = _mm256_cvtps_epi32(x86_round_half_away_f32x8(_mm256_mul_ps(v[k], idv)));
  _mm256_storeu_si256((__m256i *)q, x86_pack_i32x32_to_i8(iv[0], iv[1], iv[2], iv[3]));
  *d_out = d;
  return x86_hsum_i32x8(_mm256_add_epi32(_mm256_add_epi32(iv[0], iv[1]), _mm256_add_epi32(iv[2], iv[3])));
}

static void quantize_row_q8_0(const float *x, void *vy, int64_t n)
{
  block_q8_0 *y = vy;
  for (int64_t b = 0; b < n / QK8_0; b++) {
    float d;
    quantize_block32(x + QK8_0 * b, y[b].qs, &d);
    y[b].d = still_fp32_to_fp16(d);
  }
}

static void quantize_row_q8_1(const float *x, void *vy, int64_t n)
{
  block_q8_1 *y = vy;
  for (int64_t b = 0; b < n / QK8_1; b++) {
    float d;
    const int sum = quantize_block32(x + QK8_1 * b, y[b].qs, &d);
    y[b].d = still_fp32_to_fp16(d);
    y[b].s = still_fp32_to_fp16(d * (float)sum);
  }
}

static void quantize_row_q8_K(const float *x, void *vy, int64_t n)
{
  block_q8_K *y = vy;
  for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
    __m256 amaxv = _mm256_setzero_ps();
    for (int k = 0; k < QK_K; k += 8) amaxv = _mm256_max_ps(amaxv, x86_abs_f32x8(_mm256_loadu_ps(x + k)));
    const float amax = x86_hmax_f32x8(amaxv);
    if (amax == 0.0f) {
      memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    /* the first value of largest magnitude, with its sign (as the scalar code) */
    float max = 0.0f;
    for (int j = 0; j < QK_K; j++)
      if (fabsf(x[j]) == amax) {
        max = x[j];
        break;
      }
    const float iscale = -127.0f / max;
    const __m256 is = _mm256_set1_ps(iscale);
    const __m256i lim = _mm256_set1_epi32(127);
    for (int g = 0; g < QK_K; g += 32) {
      __m256i iv[4];
      for (int k = 0; k < 4; k++) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + g + 8 * k), is);
        iv[k] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)), lim);
      }
      _mm256_storeu_si256((__m256i *)(y[b].qs + g), x86_pack_i32x32_to_i8(iv[0], iv[1], iv[2], iv[3]));
      y[b].bsums[g / 16] = (int16_t)x86_hsum_i32x8(_mm256_add_epi32(iv[0], iv[1]));
      y[b].bsums[g / 16 + 1] = (int16_t)x86_hsum_i32x8(_mm256_add_epi32(iv[2], iv[3]));
    }
    y[b].d = 1.0f / iscale;
  }
}

static void quantize_row_f16(const float *x, void *vy, int64_t n)
{
  uint16_t *y = vy;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; i++) y[i] = still_fp32_to_fp16(x[i]);
}

/* Round to nearest even on the integer bits; NaN stays a quiet NaN (as util.c). */
STILL_INLINE __m256i bf16_round8(__m256 v)
{
  const __m256i u = _mm256_castps_si256(v);
  const __m256i hi = _mm256_srli_epi32(u, 16);
  const __m256i bias = _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(hi, _mm256_set1_epi32(1)));
  const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, bias), 16);
  const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
  return _mm256_blendv_epi8(r, _mm256_or_si256(hi, _mm256_set1_epi32(64)), nan);
}

static void quantize_row_bf16(const float *x, void *vy, int64_t n)
{
  uint16_t *y = vy;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i a = bf16_round8(_mm256_loadu_ps(x + i));
    const __m256i b = bf16_round8(_mm256_loadu_ps(x + i + 8));
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), _MM_SHUFFLE(3, 1, 2, 0));
    _mm256_storeu_si256((__m256i *)(y + i), p);
  }
  for (; i < n; i++) y[i] = still_fp32_to_bf16(x[i]);
}

/* ======================================================================
 * Float dot products
 * ====================================================================== */

static void vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy)
{
  const float *x = vx, *y = vy;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
    a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
    a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
  float sum = x86_hsum_f32x8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; i++) sum += x[i] * y[i];
  *s = sum;
}

STILL_INLINE __m256 load_f16x8(const uint16_t *p)
{
  return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static void vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy)
{
  const uint16_t *x = vx, *y = vy;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(load_f16x8(x + i), load_f16x8(y + i), a0);
    a1 = _mm256_fmadd_ps(load_f16x8(x + i + 8), load_f16x8(y + i + 8), a1);
    a2 = _mm256_fmadd_ps(load_f16x8(x + i + 16), load_f16x8(y + i + 16), a2);
    a3 = _mm256_fmadd_ps(load_f16x8(x + i + 24), load_f16x8(y + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_f16x8(x + i), load_f16x8(y + i), a0);
  float sum = x86_hsum_f32x8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; i++) sum += x86_h2f(x[i]) * x86_h2f(y[i]);
  *s = sum;
}

STILL_INLINE __m256 load_bf16x8(const uint16_t *p)
{
  const __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

static void vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy)
{
  const uint16_t *x = vx, *y = vy;
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_fmadd_ps(load_bf16x8(x + i), load_bf16x8(y + i), a0);
    a1 = _mm256_fmadd_ps(load_bf16x8(x + i + 8), load_bf16x8(y + i + 8), a1);
    a2 = _mm256_fmadd_ps(load_bf16x8(x + i + 16), load_bf16x8(y + i + 16), a2);
    a3 = _mm256_fmadd_ps(load_bf16x8(x + i + 24), load_bf16x8(y + i + 24), a3);
  }
  for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load_bf16x8(x + i), load_bf16x8(y + i), a0);
  float sum = x86_hsum_f32x8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  for (; i < n; i++) sum += still_bf16_to_fp32(x[i]) * still_bf16_to_fp32(y[i]);
  *s = sum;
}

/* ======================================================================
 * 32-value blocks
 * ====================================================================== */

static void vec_dot_q8_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q8_0 *x = vx;
  const block_q8_0 *y = vy;
  const int64_t nb = n / QK8_0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i p0 = x86_dot_i8x32(_mm256_loadu_si256((const __m256i *)x[b].qs), _mm256_loadu_si256((const __m256i *)y[b].qs));
    const __m256i p1 = x86_dot_i8x32(_mm256_loadu_si256((const __m256i *)x[b + 1].qs), _mm256_loadu_si256((const __m256i *)y[b + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b + 1].d) * x86_h2f(y[b + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
  }
  if (b < nb) {
    const __m256i p0 = x86_dot_i8x32(_mm256_loadu_si256((const __m256i *)x[b].qs), _mm256_loadu_si256((const __m256i *)y[b].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
  }
  *s = x86_hsum_f32x8(_mm256_add_ps(acc0, acc1));
}

/* 16 packed nibbles → 32 bytes in value order: low nibbles (values 0-15)
 * in the low lane, high nibbles (16-31) in the high lane. */
STILL_INLINE __m256i unpack_nibbles16(const uint8_t *qs)
{
  const __m128i q = _mm_loadu_si128((const __m128i *)qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
}

/* Σ (q - 8)·y = Σ q·y − Σ 8·y, both in int16 pairs (|pair| ≤ 2·15·127). */
STILL_INLINE __m256i dot_q4_0_block(const block_q4_0 *x, const block_q8_0 *y)
{
  const __m256i q = unpack_nibbles16(x->qs);
  const __m256i a = _mm256_loadu_si256((const __m256i *)y->qs);
  const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(_mm256_set1_epi8(8), a));
  return x86_sum_pairs_i16(p);
}

static void vec_dot_q4_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_0 *x = vx;
  const block_q8_0 *y = vy;
  const int64_t nb = n / QK4_0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i p0 = dot_q4_0_block(&x[b], &y[b]);
    const __m256i p1 = dot_q4_0_block(&x[b + 1], &y[b + 1]);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b + 1].d) * x86_h2f(y[b + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
  }
  if (b < nb) {
    const __m256i p0 = dot_q4_0_block(&x[b], &y[b]);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
  }
  *s = x86_hsum_f32x8(_mm256_add_ps(acc0, acc1));
}

/* ======================================================================
 * K-quants
 * ====================================================================== */

static void vec_dot_q4_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_K *x = vx;
  const block_q8_K *y = vy;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    uint64_t sc8, mn8;
    still_q4k_unpack_scales64(x[b].scales, &sc8, &mn8);
    const float dy = y[b].d;
    accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].dmin)), _mm256_cvtepi32_ps(x86_q4k_mins_dot(mn8, y[b].bsums)), accm);

    const __m256i scb = x86_scales8_i16_both_lanes(sc8);
    const int8_t *a = y[b].qs;
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * c));
      const __m256i lo = _mm256_and_si256(q, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(a + 64 * c)));
      const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 64 * c + 32)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(plo, x86_bcast_i16_lane(scb, 2 * c)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(phi, x86_bcast_i16_lane(scb, 2 * c + 1)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = x86_hsum_f32x8(acc) - x86_hsum_f32x8(accm);
}

static void vec_dot_q5_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q5_K *x = vx;
  const block_q8_K *y = vy;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    uint64_t sc8, mn8;
    still_q4k_unpack_scales64(x[b].scales, &sc8, &mn8);
    const float dy = y[b].d;
    accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].dmin)), _mm256_cvtepi32_ps(x86_q4k_mins_dot(mn8, y[b].bsums)), accm);

    const __m256i scb = x86_scales8_i16_both_lanes(sc8);
    const __m256i qh = _mm256_loadu_si256((const __m256i *)x[b].qh);
    const int8_t *a = y[b].qs;
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * c));
      /* bit 2c / 2c+1 of each qh byte → bit 4 of the quant (epi16 shifts
       * are fine per byte because of the mask that follows) */
      const __m256i hlo = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4);
      const __m256i hhi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), hlo);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), hhi);
      const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(a + 64 * c)));
      const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(a + 64 * c + 32)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(plo, x86_bcast_i16_lane(scb, 2 * c)));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(phi, x86_bcast_i16_lane(scb, 2 * c + 1)));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = x86_hsum_f32x8(acc) - x86_hsum_f32x8(accm);
}

/* Q6_K: the 6-bit quants are used unsigned (0..63) and the -32 offset is
 * applied once per block through the Q8_K bsums:
 *   Σ_j sc_j Σ (q - 32) a = Σ_j sc_j Σ q a − 32 Σ_j sc_j bsum_j. */
static void vec_dot_q6_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q6_K *x = vx;
  const block_q8_K *y = vy;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i m2 = _mm256_set1_epi8(0x03);
  /* scale of sub-block 2i in the low lane, 2i+1 in the high lane */
  __m256i shuf[4];
  for (int i = 0; i < 4; i++) {
    const short a = (short)((4 * i + 1) << 8 | (4 * i)), c = (short)((4 * i + 3) << 8 | (4 * i + 2));
    shuf[i] = _mm256_set_m128i(_mm_set1_epi16(c), _mm_set1_epi16(a));
  }
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    const __m256i sc = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[b].scales));
    const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), sc);
    const int8_t *a = y[b].qs;
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m256i scb = h ? _mm256_permute2x128_si256(sc, sc, 0x11) : _mm256_permute2x128_si256(sc, sc, 0x00);
      const __m256i ql0 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h));
      const __m256i ql1 = _mm256_loadu_si256((const __m256i *)(x[b].ql + 64 * h + 32));
      const __m256i qh = _mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h));
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
      q[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
      q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
      q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                             _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
#pragma GCC unroll 4
      for (int i = 0; i < 4; i++) {
        const __m256i p = _mm256_maddubs_epi16(q[i], _mm256_loadu_si256((const __m256i *)(a + 128 * h + 32 * i)));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_shuffle_epi8(scb, shuf[i])));
      }
    }
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(msum, 5));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[b].d * x86_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = x86_hsum_f32x8(acc);
}

/* ======================================================================
 * The less common types: Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, IQ4_XS
 * (AVX2 only; the AVX-512 levels fall back to these)
 * ====================================================================== */

/* Bit k of the 32-bit qh → 0x10 in byte k (the fifth bit of value k). */
STILL_INLINE __m256i q5_high_bits(const uint8_t qh[4])
{
  uint32_t bits;
  memcpy(&bits, qh, 4);
  /* byte k gets qh byte k/8, then tests bit k%8 */
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits),
                                             _mm256_setr_epi64x(0x0000000000000000ll, 0x0101010101010101ll,
                                                                0x0202020202020202ll, 0x0303030303030303ll));
  const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

static void vec_dot_q4_1_q8_1(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_1 *x = vx;
  const block_q8_1 *y = vy;
  __m256 acc = _mm256_setzero_ps();
  float summ = 0.0f;
  for (int64_t b = 0; b < n / QK4_1; b++) {
    const __m256i q = unpack_nibbles16(x[b].qs);
    const __m256i p = x86_sum_pairs_i16(_mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y[b].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p), acc);
    summ += x86_h2f(x[b].m) * x86_h2f(y[b].s);
  }
  *s = x86_hsum_f32x8(acc) + summ;
}

static void vec_dot_q5_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q5_0 *x = vx;
  const block_q8_0 *y = vy;
  const __m256i sixteen = _mm256_set1_epi8(16);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK5_0; b++) {
    const __m256i q = _mm256_or_si256(unpack_nibbles16(x[b].qs), q5_high_bits(x[b].qh));
    const __m256i a = _mm256_loadu_si256((const __m256i *)y[b].qs);
    /* Σ (q - 16) a = Σ q a − Σ 16 a, each pair within int16 */
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q, a), _mm256_maddubs_epi16(sixteen, a));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(x86_sum_pairs_i16(p)), acc);
  }
  *s = x86_hsum_f32x8(acc);
}

static void vec_dot_q5_1_q8_1(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q5_1 *x = vx;
  const block_q8_1 *y = vy;
  __m256 acc = _mm256_setzero_ps();
  float summ = 0.0f;
  for (int64_t b = 0; b < n / QK5_1; b++) {
    const __m256i q = _mm256_or_si256(unpack_nibbles16(x[b].qs), q5_high_bits(x[b].qh));
    const __m256i p = x86_sum_pairs_i16(_mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)y[b].qs)));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p), acc);
    summ += x86_h2f(x[b].m) * x86_h2f(y[b].s);
  }
  *s = x86_hsum_f32x8(acc) + summ;
}

/* The non-linear grid in both lanes, for a pshufb lookup of the nibbles. */
STILL_INLINE __m256i iq4_grid(void)
{
  return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)still_iq4nl_grid));
}

static void vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_iq4_nl *x = vx;
  const block_q8_0 *y = vy;
  const __m256i grid = iq4_grid();
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK4_NL; b++) {
    const __m256i w = _mm256_shuffle_epi8(grid, unpack_nibbles16(x[b].qs)); /* |w| ≤ 127 */
    const __m256i p = x86_dot_i8x32(w, _mm256_loadu_si256((const __m256i *)y[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p), acc);
  }
  *s = x86_hsum_f32x8(acc);
}

static void vec_dot_iq4_xs_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_iq4_xs *x = vx;
  const block_q8_K *y = vy;
  const __m256i grid = iq4_grid();
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int ib = 0; ib < 8; ib++) {
      const __m256i w = _mm256_shuffle_epi8(grid, unpack_nibbles16(x[b].qs + 16 * ib));
      const __m256i a = _mm256_loadu_si256((const __m256i *)(y[b].qs + 32 * ib));
      /* pairs of |w|·|a| ≤ 2·127·127 fit int16 */
      const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_set1_epi16((short)still_iq4xs_scale(&x[b], ib))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[b].d * x86_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = x86_hsum_f32x8(acc);
}

/* pshufb masks putting int16 scale 2i in the low lane and 2i+1 in the high
 * lane (for 32 values = two sub-blocks of 16, as in Q2_K/Q3_K/Q6_K). */
STILL_INLINE __m256i pair_scale_shuffle(int i)
{
  const short a = (short)((4 * i + 1) << 8 | (4 * i)), c = (short)((4 * i + 3) << 8 | (4 * i + 2));
  return _mm256_set_m128i(_mm_set1_epi16(c), _mm_set1_epi16(a));
}

static void vec_dot_q2_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q2_K *x = vx;
  const block_q8_K *y = vy;
  const __m256i m2 = _mm256_set1_epi8(0x03);
  const __m128i m4 = _mm_set1_epi8(0x0f);
  const __m256i shuf[4] = {pair_scale_shuffle(0), pair_scale_shuffle(1), pair_scale_shuffle(2), pair_scale_shuffle(3)};
  __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)x[b].scales);
    const __m256i sc = _mm256_cvtepu8_epi16(_mm_and_si128(raw, m4));
    const __m256i mn = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), m4));
    const float dy = y[b].d;
    const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), mn);
    accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].dmin)), _mm256_cvtepi32_ps(msum), accm);
    const int8_t *a = y[b].qs;
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m256i scb = h ? _mm256_permute2x128_si256(sc, sc, 0x11) : _mm256_permute2x128_si256(sc, sc, 0x00);
      const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * h));
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        const __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m2);
        const __m256i p = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i *)(a + 128 * h + 32 * j)));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_shuffle_epi8(scb, shuf[j])));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = x86_hsum_f32x8(acc) - x86_hsum_f32x8(accm);
}

/* Q3_K: the quants are used unsigned, q + 4 in 0..7 (low two bits plus 4
 * when the hmask bit is set), and the 4 comes back via the bsums. */
static void vec_dot_q3_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q3_K *x = vx;
  const block_q8_K *y = vy;
  const __m256i m2 = _mm256_set1_epi8(0x03), one = _mm256_set1_epi8(1);
  const __m256i shuf[4] = {pair_scale_shuffle(0), pair_scale_shuffle(1), pair_scale_shuffle(2), pair_scale_shuffle(3)};
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    uint64_t lo8, hi8;
    still_q3k_unpack_scales64(x[b].scales, &lo8, &hi8);
    const __m128i sc8 = _mm_set_epi64x((long long)hi8, (long long)lo8);
    const __m256i sc = _mm256_sub_epi16(_mm256_cvtepu8_epi16(sc8), _mm256_set1_epi16(32));
    const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), sc);
    const __m256i hm = _mm256_loadu_si256((const __m256i *)x[b].hmask);
    const int8_t *a = y[b].qs;
    __m256i isum = _mm256_setzero_si256();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m256i scb = h ? _mm256_permute2x128_si256(sc, sc, 0x11) : _mm256_permute2x128_si256(sc, sc, 0x00);
      const __m256i q = _mm256_loadu_si256((const __m256i *)(x[b].qs + 32 * h));
#pragma GCC unroll 4
      for (int j = 0; j < 4; j++) {
        const __m256i hb = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + j), one), 2);
        const __m256i v = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m2), hb);
        const __m256i p = _mm256_maddubs_epi16(v, _mm256_loadu_si256((const __m256i *)(a + 128 * h + 32 * j)));
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_shuffle_epi8(scb, shuf[j])));
      }
    }
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(msum, 2));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(y[b].d * x86_h2f(x[b].d)), _mm256_cvtepi32_ps(isum), acc);
  }
  *s = x86_hsum_f32x8(acc);
}

still_vec_dot_fn still_vec_dot_avx2(uint32_t wtype)
{
  switch (wtype) {
  case STILL_TYPE_F32: return vec_dot_f32;
  case STILL_TYPE_F16: return vec_dot_f16;
  case STILL_TYPE_BF16: return vec_dot_bf16;
  case STILL_TYPE_Q4_0: return vec_dot_q4_0_q8_0;
  case STILL_TYPE_Q8_0: return vec_dot_q8_0_q8_0;
  case STILL_TYPE_Q4_K: return vec_dot_q4_K_q8_K;
  case STILL_TYPE_Q5_K: return vec_dot_q5_K_q8_K;
  case STILL_TYPE_Q6_K: return vec_dot_q6_K_q8_K;
  case STILL_TYPE_Q4_1: return vec_dot_q4_1_q8_1;
  case STILL_TYPE_Q5_0: return vec_dot_q5_0_q8_0;
  case STILL_TYPE_Q5_1: return vec_dot_q5_1_q8_1;
  case STILL_TYPE_IQ4_NL: return vec_dot_iq4_nl_q8_0;
  case STILL_TYPE_Q2_K: return vec_dot_q2_K_q8_K;
  case STILL_TYPE_Q3_K: return vec_dot_q3_K_q8_K;
  case STILL_TYPE_IQ4_XS: return vec_dot_iq4_xs_q8_K;
  default: return NULL;
  }
}

still_quantize_row_fn still_quantize_row_avx2(uint32_t vtype)
{
  switch (vtype) {
  case STILL_TYPE_F16: return quantize_row_f16;
  case STILL_TYPE_BF16: return quantize_row_bf16;
  case STILL_TYPE_Q8_0: return quantize_row_q8_0;
  case STILL_TYPE_Q8_1: return quantize_row_q8_1;
  case STILL_TYPE_Q8_K: return quantize_row_q8_K;
  default: return NULL;
  }
}

#else /* built without AVX2 (not an x86 machine) */

still_vec_dot_fn still_vec_dot_avx2(uint32_t wtype)
{
  (void)wtype;
  return NULL;
}

still_quantize_row_fn still_quantize_row_avx2(uint32_t vtype)
{
  (void)vtype;
  return NULL;
}

#endif
