/* vec-avx512.c — AVX-512 (F/BW/VL/DQ) kernels, plus AVX512-VNNI ones
 * (vpdpbusd: u8 × s8, four products summed straight into int32) where that
 * saves instructions: Q8_0 and Q4_0. Built with -mavx512f -mavx512bw
 * -mavx512vl -mavx512dq -mavx512vnni -mavx2 -mfma -mf16c; the VNNI kernels
 * are only handed out when features.c found VNNI, the others need
 * F/BW/VL/DQ. Types without a kernel here use the AVX2 ones (vec.c falls
 * back level by level); for Q4_K/Q5_K the scale multiply needs a madd
 * anyway, so dpbusd would not save an instruction and one kernel serves
 * both levels.
 *
 * Layout trick for the K-quants: one 512-bit register holds 64 consecutive
 * activations, and the weight nibbles are rearranged to match (the low
 * nibbles of 32 bytes in the low half, their high nibbles in the high half)
 * so activations are always read in order with plain loads.
 */
#include "cpu/vec-internal.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512DQ__) && \
    defined(__AVX512VNNI__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "cpu/vec-x86.h"
#include "util.h"

#include <math.h>

/* ======================================================================
 * Activation quantizers — bit-identical to vec-generic.c
 * ====================================================================== */

STILL_INLINE __m512 abs_f32x16(__m512 v)
{
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32(0x7fffffff)));
}

/* roundf() semantics, exactly (see x86_round_half_away_f32x8). */
STILL_INLINE __m512 round_half_away_f32x16(__m512 v)
{
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __mmask16 up = _mm512_cmp_ps_mask(abs_f32x16(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_castsi512_ps(
      _mm512_or_si512(_mm512_and_si512(_mm512_castps_si512(v), _mm512_set1_epi32((int)0x80000000u)),
                      _mm512_castps_si512(_mm512_set1_ps(1.0f))));
  return _mm512_mask_add_ps(t, up, t, one);
}

STILL_INLINE int quantize_block32(const float *x, int8_t *q, float *d_out)
{
  const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(abs_f32x16(v0), abs_f32x16(v1)));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const __m512 idv = _mm512_set1_ps(id);
  const __m512i i0 = _mm512_cvtps_epi32(round_half_away_f32x16(_mm512_mul_ps(v0, idv)));
  const __m512i i1 = _mm512_cvtps_epi32(round_half_away_f32x16(_mm512_mul_ps(v1, idv)));
  _mm_storeu_si128((__m128i *)q, _mm512_cvtepi32_epi8(i0));
  _mm_storeu_si128((__m128i *)(q + 16), _mm512_cvtepi32_epi8(i1));
  *d_out = d;
  return _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
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
    __m512 amaxv = _mm512_setzero_ps();
    for (int k = 0; k < QK_K; k += 16) amaxv = _mm512_max_ps(amaxv, abs_f32x16(_mm512_loadu_ps(x + k)));
    const float amax = _mm512_reduce_max_ps(amaxv);
    if (amax == 0.0f) {
      memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    /* the first value of largest magnitude, with its sign */
    float max = 0.0f;
    const __m512 am = _mm512_set1_ps(amax);
    for (int k = 0; k < QK_K; k += 16) {
      const __mmask16 hit = _mm512_cmp_ps_mask(abs_f32x16(_mm512_loadu_ps(x + k)), am, _CMP_EQ_OQ);
      if (hit) {
        max = x[k + __builtin_ctz(hit)];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m512 is = _mm512_set1_ps(iscale);
    const __m512i lim = _mm512_set1_epi32(127);
    for (int g = 0; g < QK_K / 16; g++) {
      const __m512 v = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x + 16 * g), is),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512i iv = _mm512_min_epi32(_mm512_cvtps_epi32(v), lim);
      _mm_storeu_si128((__m128i *)(y[b].qs + 16 * g), _mm512_cvtepi32_epi8(iv));
      y[b].bsums[g] = (int16_t)_mm512_reduce_add_epi32(iv);
    }
    y[b].d = 1.0f / iscale;
  }
}

static void quantize_row_f16(const float *x, void *vy, int64_t n)
{
  uint16_t *y = vy;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(y + i), _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(y + i, m, h);
  }
}

STILL_INLINE __m256i bf16_round16(__m512 v)
{
  const __m512i u = _mm512_castps_si512(v);
  const __m512i hi = _mm512_srli_epi32(u, 16);
  const __m512i bias = _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1)));
  const __m512i r = _mm512_srli_epi32(_mm512_add_epi32(u, bias), 16);
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
  return _mm512_cvtepi32_epi16(_mm512_mask_or_epi32(r, nan, hi, _mm512_set1_epi32(64)));
}

static void quantize_row_bf16(const float *x, void *vy, int64_t n)
{
  uint16_t *y = vy;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(y + i), bf16_round16(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    _mm256_mask_storeu_epi16(y + i, m, bf16_round16(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

/* ======================================================================
 * Float dot products (masked tails)
 * ====================================================================== */

static void vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy)
{
  const float *x = vx, *y = vy;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), a3);
  }
  for (; i + 16 <= n; i += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), a0);
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), a1);
  }
  *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

STILL_INLINE __m512 load_f16x16(const uint16_t *p)
{
  return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static void vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy)
{
  const uint16_t *x = vx, *y = vy;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_fmadd_ps(load_f16x16(x + i), load_f16x16(y + i), a0);
    a1 = _mm512_fmadd_ps(load_f16x16(x + i + 16), load_f16x16(y + i + 16), a1);
    a2 = _mm512_fmadd_ps(load_f16x16(x + i + 32), load_f16x16(y + i + 32), a2);
    a3 = _mm512_fmadd_ps(load_f16x16(x + i + 48), load_f16x16(y + i + 48), a3);
  }
  for (; i + 16 <= n; i += 16) a0 = _mm512_fmadd_ps(load_f16x16(x + i), load_f16x16(y + i), a0);
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    const __m512 xv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, x + i));
    const __m512 yv = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, y + i));
    a1 = _mm512_fmadd_ps(xv, yv, a1);
  }
  *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

STILL_INLINE __m512 widen_bf16x16(__m256i h)
{
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static void vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy)
{
  const uint16_t *x = vx, *y = vy;
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  int64_t i = 0;
#define LD(p) widen_bf16x16(_mm256_loadu_si256((const __m256i *)(p)))
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_fmadd_ps(LD(x + i), LD(y + i), a0);
    a1 = _mm512_fmadd_ps(LD(x + i + 16), LD(y + i + 16), a1);
    a2 = _mm512_fmadd_ps(LD(x + i + 32), LD(y + i + 32), a2);
    a3 = _mm512_fmadd_ps(LD(x + i + 48), LD(y + i + 48), a3);
  }
  for (; i + 16 <= n; i += 16) a0 = _mm512_fmadd_ps(LD(x + i), LD(y + i), a0);
#undef LD
  if (i < n) {
    const __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    a1 = _mm512_fmadd_ps(widen_bf16x16(_mm256_maskz_loadu_epi16(m, x + i)), widen_bf16x16(_mm256_maskz_loadu_epi16(m, y + i)), a1);
  }
  *s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* ======================================================================
 * 32-value blocks: one block per 256-bit register with VNNI. Putting two
 * 34-byte blocks into one 512-bit register costs cross-lane inserts (port
 * 5) for the quants and the scales, and measured slower than plain AVX2;
 * EVEX vpdpbusd on ymm instead saves the maddubs+madd pair and keeps all
 * vector ports busy. Without VNNI the AVX2 kernels are used.
 * ====================================================================== */

/* Σ x·y per group of 4, x signed (≥ -128), y signed (≠ -128): |x| as
 * unsigned times y with x's sign. */
STILL_INLINE __m256i dot_s8_s8_vnni(__m256i x, __m256i y)
{
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

static void vec_dot_q8_0_vnni(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q8_0 *x = vx;
  const block_q8_0 *y = vy;
  const int64_t nb = n / QK8_0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i p0 = dot_s8_s8_vnni(_mm256_loadu_si256((const __m256i *)x[b].qs), _mm256_loadu_si256((const __m256i *)y[b].qs));
    const __m256i p1 = dot_s8_s8_vnni(_mm256_loadu_si256((const __m256i *)x[b + 1].qs), _mm256_loadu_si256((const __m256i *)y[b + 1].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b + 1].d) * x86_h2f(y[b + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
  }
  if (b < nb) {
    const __m256i p0 = dot_s8_s8_vnni(_mm256_loadu_si256((const __m256i *)x[b].qs), _mm256_loadu_si256((const __m256i *)y[b].qs));
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
  }
  *s = x86_hsum_f32x8(_mm256_add_ps(acc0, acc1));
}

/* Σ (q - 8)·y = Σ q·y − Σ 8·y, q the 32 nibbles in value order. */
STILL_INLINE __m256i dot_q4_0_vnni(const block_q4_0 *x, const block_q8_0 *y)
{
  const __m128i q = _mm_loadu_si128((const __m128i *)x->qs);
  const __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
  const __m256i a = _mm256_loadu_si256((const __m256i *)y->qs);
  const __m256i zero = _mm256_setzero_si256();
  return _mm256_sub_epi32(_mm256_dpbusd_epi32(zero, u, a), _mm256_dpbusd_epi32(zero, _mm256_set1_epi8(8), a));
}

static void vec_dot_q4_0_vnni(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_0 *x = vx;
  const block_q8_0 *y = vy;
  const int64_t nb = n / QK4_0;
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    const __m256i p0 = dot_q4_0_vnni(&x[b], &y[b]);
    const __m256i p1 = dot_q4_0_vnni(&x[b + 1], &y[b + 1]);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b + 1].d) * x86_h2f(y[b + 1].d)), _mm256_cvtepi32_ps(p1), acc1);
  }
  if (b < nb) {
    const __m256i p0 = dot_q4_0_vnni(&x[b], &y[b]);
    acc0 = _mm256_fmadd_ps(_mm256_set1_ps(x86_h2f(x[b].d) * x86_h2f(y[b].d)), _mm256_cvtepi32_ps(p0), acc0);
  }
  *s = x86_hsum_f32x8(_mm256_add_ps(acc0, acc1));
}

/* ======================================================================
 * K-quants
 * ====================================================================== */

/* 32 bytes of nibbles → 64 bytes: low nibbles then high nibbles, i.e.
 * values 64c .. 64c+63 of a Q4_K/Q5_K chunk in order. The bytes are
 * broadcast to both halves by the load itself and shifted by 0 or 4 per
 * half: no cross-lane shuffle (port 5 is the bottleneck of these loops). */
STILL_INLINE __m512i unpack_nibbles32(const uint8_t *qs)
{
  const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qs));
  const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  return _mm512_and_si512(_mm512_srlv_epi16(q, shift), _mm512_set1_epi8(0x0f));
}

/* int16 lane k ← scale (k / 16) + first: the per-chunk scale vector for
 * madd, where each half of the register is one sub-block of 32. */
STILL_INLINE __m512i idx_halves(int first)
{
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)first)), _mm256_set1_epi16((short)(first + 1)), 1);
}

/* The shared body of Q4_K and Q5_K: 64 unsigned quants (≤ 31) times 64
 * activations, each half scaled by its sub-block's scale (scv). */
STILL_INLINE __m512i q45k_chunk(__m512i q, const int8_t *a, __m512i scv)
{
  const __m512i p = _mm512_maddubs_epi16(q, _mm512_loadu_si512((const void *)a));
  return _mm512_madd_epi16(p, scv);
}

static void vec_dot_q4_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_K *x = vx;
  const block_q8_K *y = vy;
  const __m512i idx0 = idx_halves(0), idx1 = idx_halves(2), idx2 = idx_halves(4), idx3 = idx_halves(6);
  __m512 acc = _mm512_setzero_ps();
  __m256 accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    uint64_t sc8, mn8;
    still_q4k_unpack_scales64(x[b].scales, &sc8, &mn8);
    const float dy = y[b].d;
    accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].dmin)), _mm256_cvtepi32_ps(x86_q4k_mins_dot(mn8, y[b].bsums)), accm);
    const __m512i sc = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    const int8_t *a = y[b].qs;
    __m512i isum = q45k_chunk(unpack_nibbles32(x[b].qs), a, _mm512_permutexvar_epi16(idx0, sc));
    isum = _mm512_add_epi32(isum, q45k_chunk(unpack_nibbles32(x[b].qs + 32), a + 64, _mm512_permutexvar_epi16(idx1, sc)));
    isum = _mm512_add_epi32(isum, q45k_chunk(unpack_nibbles32(x[b].qs + 64), a + 128, _mm512_permutexvar_epi16(idx2, sc)));
    isum = _mm512_add_epi32(isum, q45k_chunk(unpack_nibbles32(x[b].qs + 96), a + 192, _mm512_permutexvar_epi16(idx3, sc)));
    acc = _mm512_fmadd_ps(_mm512_set1_ps(dy * x86_h2f(x[b].d)), _mm512_cvtepi32_ps(isum), acc);
  }
  *s = _mm512_reduce_add_ps(acc) - x86_hsum_f32x8(accm);
}

static void vec_dot_q5_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q5_K *x = vx;
  const block_q8_K *y = vy;
  const __m512i one = _mm512_set1_epi8(1);
  __m512 acc = _mm512_setzero_ps();
  __m256 accm = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    uint64_t sc8, mn8;
    still_q4k_unpack_scales64(x[b].scales, &sc8, &mn8);
    const float dy = y[b].d;
    accm = _mm256_fmadd_ps(_mm256_set1_ps(dy * x86_h2f(x[b].dmin)), _mm256_cvtepi32_ps(x86_q4k_mins_dot(mn8, y[b].bsums)), accm);
    const __m512i sc = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)sc8)));
    /* qh in both halves; chunk c takes bit 2c (low half) and 2c+1 (high half) */
    const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)x[b].qh));
    const int8_t *a = y[b].qs;
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      const __m512i shifts = idx_halves(2 * c);
      const __m512i h = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, shifts), one), 4);
      const __m512i q = _mm512_or_si512(unpack_nibbles32(x[b].qs + 32 * c), h);
      isum = _mm512_add_epi32(isum, q45k_chunk(q, a + 64 * c, _mm512_permutexvar_epi16(shifts, sc)));
    }
    acc = _mm512_fmadd_ps(_mm512_set1_ps(dy * x86_h2f(x[b].d)), _mm512_cvtepi32_ps(isum), acc);
  }
  *s = _mm512_reduce_add_ps(acc) - x86_hsum_f32x8(accm);
}

/* Q6_K, 64 values per register: for half h, ql[64h .. 64h+63] low nibbles
 * are values 128h + 0..63 and their high nibbles values 128h + 64..127, in
 * order; the matching 2 high bits come from qh[32h .. 32h+31] at shifts
 * 0, 2 (first register's halves) and 4, 6 (second register's). Quants are
 * used unsigned and the -32 comes back through the bsums (see vec-avx2.c). */
static void vec_dot_q6_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q6_K *x = vx;
  const block_q8_K *y = vy;
  const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x03);
  /* int16 lane k → scale k/8 (+4 for the second register) */
  const __m512i sidx_a = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m512i four = _mm512_set1_epi16(4);
  /* counts 0|2 for the first register, 4|6 for the second */
  const __m512i cnt_a = _mm512_slli_epi16(idx_halves(0), 1);
  const __m512i cnt_b = _mm512_add_epi16(cnt_a, four);
  __m512 acc = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / QK_K; b++) {
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[b].scales));
    const __m256i msum = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)y[b].bsums), sc16);
    const __m512i sc = _mm512_castsi256_si512(sc16);
    const int8_t *a = y[b].qs;
    __m512i isum = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
      const __m512i ql = _mm512_loadu_si512((const void *)(x[b].ql + 64 * h));
      const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(x[b].qh + 32 * h)));
      const __m512i qa = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                         _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, cnt_a), m2), 4));
      const __m512i qb = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                         _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, cnt_b), m2), 4));
      const __m512i ia = _mm512_add_epi16(sidx_a, _mm512_set1_epi16((short)(8 * h)));
      const __m512i ib = _mm512_add_epi16(ia, four);
      const __m512i pa = _mm512_maddubs_epi16(qa, _mm512_loadu_si512((const void *)(a + 128 * h)));
      const __m512i pb = _mm512_maddubs_epi16(qb, _mm512_loadu_si512((const void *)(a + 128 * h + 64)));
      isum = _mm512_add_epi32(isum, _mm512_madd_epi16(pa, _mm512_permutexvar_epi16(ia, sc)));
      isum = _mm512_add_epi32(isum, _mm512_madd_epi16(pb, _mm512_permutexvar_epi16(ib, sc)));
    }
    const __m512i corr = _mm512_castsi256_si512(_mm256_slli_epi32(msum, 5));
    isum = _mm512_sub_epi32(isum, _mm512_inserti64x4(corr, _mm256_setzero_si256(), 1));
    acc = _mm512_fmadd_ps(_mm512_set1_ps(y[b].d * x86_h2f(x[b].d)), _mm512_cvtepi32_ps(isum), acc);
  }
  *s = _mm512_reduce_add_ps(acc);
}

still_vec_dot_fn still_vec_dot_avx512(uint32_t wtype, bool vnni)
{
  switch (wtype) {
  case STILL_TYPE_F32: return vec_dot_f32;
  case STILL_TYPE_F16: return vec_dot_f16;
  case STILL_TYPE_BF16: return vec_dot_bf16;
  case STILL_TYPE_Q4_0: return vnni ? vec_dot_q4_0_vnni : NULL; /* NULL: the AVX2 kernel */
  case STILL_TYPE_Q8_0: return vnni ? vec_dot_q8_0_vnni : NULL;
  case STILL_TYPE_Q4_K: return vec_dot_q4_K_q8_K;
  case STILL_TYPE_Q5_K: return vec_dot_q5_K_q8_K;
  case STILL_TYPE_Q6_K: return vec_dot_q6_K_q8_K;
  default: return NULL;
  }
}

still_quantize_row_fn still_quantize_row_avx512(uint32_t vtype)
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

#else /* built without AVX-512 */

still_vec_dot_fn still_vec_dot_avx512(uint32_t wtype, bool vnni)
{
  (void)wtype;
  (void)vnni;
  return NULL;
}

still_quantize_row_fn still_quantize_row_avx512(uint32_t vtype)
{
  (void)vtype;
  return NULL;
}

#endif
