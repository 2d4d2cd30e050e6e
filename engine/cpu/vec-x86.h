/* vec-x86.h — small AVX2 helpers shared by vec-avx2.c and vec-avx512.c
 * (both are compiled with at least -mavx2 -mfma -mf16c). */
#ifndef STILL_CPU_VEC_X86_H
#define STILL_CPU_VEC_X86_H

#include <immintrin.h>
#include <stdint.h>

#include "quants/blocks.h"

#define STILL_INLINE static inline __attribute__((always_inline))

STILL_INLINE float x86_h2f(still_half h)
{
  return _cvtsh_ss(h);
}

STILL_INLINE float x86_hsum_f32x8(__m256 v)
{
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

STILL_INLINE int x86_hsum_i32x8(__m256i v)
{
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

STILL_INLINE float x86_hmax_f32x8(__m256 v)
{
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

STILL_INLINE __m256 x86_abs_f32x8(__m256 v)
{
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

/* roundf() semantics (halves away from zero), exactly: t = trunc(v) and
 * v - t are exact in float, so the only decision is |v - t| >= 0.5. The
 * scalar quantizers use roundf, and the SIMD ones must match bit for bit. */
STILL_INLINE __m256 x86_round_half_away_f32x8(__m256 v)
{
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
  const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
  const __m256 up = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_add_ps(t, _mm256_and_ps(up, one));
}

/* Four vectors of 8 int32 (values 0..31 in order, each within int8) →
 * 32 int8 in order. The packs work per 128-bit lane, so undo the
 * interleave with one cross-lane permute. */
STILL_INLINE __m256i x86_pack_i32x32_to_i8(__m256i i0, __m256i i1, __m256i i2, __m256i i3)
{
  const __m256i p01 = _mm256_packs_epi32(i0, i1);
  const __m256i p23 = _mm256_packs_epi32(i2, i3);
  const __m256i b = _mm256_packs_epi16(p01, p23);
  return _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Sum of 16-bit pairs into 32-bit lanes. */
STILL_INLINE __m256i x86_sum_pairs_i16(__m256i v)
{
  return _mm256_madd_epi16(v, _mm256_set1_epi16(1));
}

/* Σ x·y over 32 signed bytes in groups of 4 → 8 int32, for |x| ≤ 128 and
 * |y| ≤ 127: maddubs needs an unsigned left operand, so move x's sign onto
 * y (|x| as unsigned: -128 becomes 128, which is right). */
STILL_INLINE __m256i x86_dot_i8x32(__m256i x, __m256i y)
{
  const __m256i ax = _mm256_sign_epi8(x, x);
  const __m256i sy = _mm256_sign_epi8(y, x);
  return x86_sum_pairs_i16(_mm256_maddubs_epi16(ax, sy));
}

/* Eight 6-bit scales (bytes of a uint64) → 8 int16 repeated in both lanes,
 * and the byte-shuffle masks that broadcast scale j to every int16 lane. */
STILL_INLINE __m256i x86_scales8_i16_both_lanes(uint64_t s8)
{
  return _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)s8)));
}

STILL_INLINE __m256i x86_bcast_i16_lane(__m256i both, int j)
{
  const short lo = (short)(2 * j), hi = (short)(2 * j + 1);
  return _mm256_shuffle_epi8(both, _mm256_set1_epi16((short)(hi << 8 | lo)));
}

/* The K-quant mins term: Σ_j m_j (bsums[2j] + bsums[2j+1]) as 8 int32. */
STILL_INLINE __m256i x86_q4k_mins_dot(uint64_t mn8, const int16_t bsums[16])
{
  const __m128i m = _mm_cvtepu8_epi16(_mm_cvtsi64_si128((long long)mn8));
  const __m256i mm = _mm256_set_m128i(_mm_unpackhi_epi16(m, m), _mm_unpacklo_epi16(m, m));
  return _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), mm);
}

#endif /* STILL_CPU_VEC_X86_H */
