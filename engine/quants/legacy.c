/* legacy.c — the 32-value block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
 *
 * Layouts (see blocks.h): one fp16 scale d (plus an fp16 offset m for the
 * _1 types) and 32 codes. The 4-bit codes are packed two per byte: byte j
 * holds value j in its low nibble and value j + 16 in its high nibble. The
 * 5-bit types keep the fifth bit of value j in bit j of the 32-bit
 * little-endian word qh.
 *
 *   Q4_0: x = d * (q - 8)      q in 0..15
 *   Q4_1: x = d * q + m        q in 0..15
 *   Q5_0: x = d * (q - 16)     q in 0..31
 *   Q5_1: x = d * q + m        q in 0..31
 *   Q8_0: x = d * q            q in -128..127 (the quantizer uses -127..127)
 *   Q8_1: as Q8_0, plus s = d * sum(q) for the dot products
 *
 * The quantizers for the weight types (Q4_0 .. Q5_1) are plain rounding on
 * the block's range, done exactly the way llama.cpp's reference quantizer
 * does it (scale from the unrounded range, codes rounded half up), so that
 * quantizing an F32 model gives the same bytes as llama-quantize. They are
 * stable: quantizing the dequantized values again gives the same bytes. */
#include "quants.h"

#include "quant-utils.h"

#include <math.h>
#include <string.h>

/* floor(v + 0.5) clamped to [lo, hi] for lo >= 0: round half up, as the
 * reference quantizer's (int8_t)(v + 0.5f) truncation does. NaN gives lo. */
static inline int round_half_up_clamp(float v, int lo, int hi)
{
  v += 0.5f;
  v = v > (float)lo ? v : (float)lo;
  v = v < (float)hi ? v : (float)hi;
  return (int)v; /* in range and non-negative: truncation is floor */
}

static void min_max(const float *x, int n, float *lo, float *hi)
{
  float mn = INFINITY, mx = -INFINITY;
  for (int i = 0; i < n; i++) {
    if (x[i] < mn) mn = x[i];
    if (x[i] > mx) mx = x[i];
  }
  if (!(mn <= mx)) mn = mx = 0.0f; /* n == 0 or all NaN */
  *lo = mn;
  *hi = mx;
}

/* ---- Q4_0 ---------------------------------------------------------------- */

void still_dequantize_q4_0(const void *src, float *dst, int64_t n)
{
  const block_q4_0 *b = src;
  for (int64_t i = 0; i < n / QK4_0; i++, dst += QK4_0) {
    const float d = quant_half_to_float(b[i].d);
    for (int j = 0; j < QK4_0 / 2; j++) {
      dst[j] = d * (float)((b[i].qs[j] & 0x0F) - 8);
      dst[j + QK4_0 / 2] = d * (float)((b[i].qs[j] >> 4) - 8);
    }
  }
}

void still_quantize_q4_0(const float *src, void *dst, int64_t n)
{
  block_q4_0 *b = dst;
  for (int64_t i = 0; i < n / QK4_0; i++, src += QK4_0) {
    /* The largest magnitude goes to code 0 (value -8 d), which uses the
     * extra negative level of the asymmetric range -8..7. */
    const float max = quant_signed_absmax(src, QK4_0);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = quant_float_to_half(d);
    for (int j = 0; j < QK4_0 / 2; j++) {
      const int q0 = round_half_up_clamp(src[j] * id + 8.0f, 0, 15);
      const int q1 = round_half_up_clamp(src[j + QK4_0 / 2] * id + 8.0f, 0, 15);
      b[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
  }
}

/* ---- Q4_1 ---------------------------------------------------------------- */

void still_dequantize_q4_1(const void *src, float *dst, int64_t n)
{
  const block_q4_1 *b = src;
  for (int64_t i = 0; i < n / QK4_1; i++, dst += QK4_1) {
    const float d = quant_half_to_float(b[i].d);
    const float m = quant_half_to_float(b[i].m);
    for (int j = 0; j < QK4_1 / 2; j++) {
      dst[j] = d * (float)(b[i].qs[j] & 0x0F) + m;
      dst[j + QK4_1 / 2] = d * (float)(b[i].qs[j] >> 4) + m;
    }
  }
}

void still_quantize_q4_1(const float *src, void *dst, int64_t n)
{
  block_q4_1 *b = dst;
  for (int64_t i = 0; i < n / QK4_1; i++, src += QK4_1) {
    float lo, hi;
    min_max(src, QK4_1, &lo, &hi);
    const float d = (hi - lo) / 15.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = quant_float_to_half(d);
    b[i].m = quant_float_to_half(lo);
    for (int j = 0; j < QK4_1 / 2; j++) {
      const int q0 = round_half_up_clamp((src[j] - lo) * id, 0, 15);
      const int q1 = round_half_up_clamp((src[j + QK4_1 / 2] - lo) * id, 0, 15);
      b[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
  }
}

/* ---- Q5_0 ---------------------------------------------------------------- */

static inline uint32_t load_qh(const uint8_t qh[4])
{
  return (uint32_t)qh[0] | ((uint32_t)qh[1] << 8) | ((uint32_t)qh[2] << 16) | ((uint32_t)qh[3] << 24);
}

static inline void store_qh(uint8_t qh[4], uint32_t v)
{
  for (int k = 0; k < 4; k++) qh[k] = (uint8_t)(v >> (8 * k));
}

void still_dequantize_q5_0(const void *src, float *dst, int64_t n)
{
  const block_q5_0 *b = src;
  for (int64_t i = 0; i < n / QK5_0; i++, dst += QK5_0) {
    const float d = quant_half_to_float(b[i].d);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < QK5_0 / 2; j++) {
      const int h0 = (int)((qh >> j) & 1) << 4;
      const int h1 = (int)((qh >> (j + 16)) & 1) << 4;
      dst[j] = d * (float)(((b[i].qs[j] & 0x0F) | h0) - 16);
      dst[j + QK5_0 / 2] = d * (float)(((b[i].qs[j] >> 4) | h1) - 16);
    }
  }
}

void still_quantize_q5_0(const float *src, void *dst, int64_t n)
{
  block_q5_0 *b = dst;
  for (int64_t i = 0; i < n / QK5_0; i++, src += QK5_0) {
    const float max = quant_signed_absmax(src, QK5_0);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = quant_float_to_half(d);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_0 / 2; j++) {
      const int q0 = round_half_up_clamp(src[j] * id + 16.0f, 0, 31);
      const int q1 = round_half_up_clamp(src[j + QK5_0 / 2] * id + 16.0f, 0, 31);
      b[i].qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= (uint32_t)(q0 >> 4) << j;
      qh |= (uint32_t)(q1 >> 4) << (j + 16);
    }
    store_qh(b[i].qh, qh);
  }
}

/* ---- Q5_1 ---------------------------------------------------------------- */

void still_dequantize_q5_1(const void *src, float *dst, int64_t n)
{
  const block_q5_1 *b = src;
  for (int64_t i = 0; i < n / QK5_1; i++, dst += QK5_1) {
    const float d = quant_half_to_float(b[i].d);
    const float m = quant_half_to_float(b[i].m);
    const uint32_t qh = load_qh(b[i].qh);
    for (int j = 0; j < QK5_1 / 2; j++) {
      const int h0 = (int)((qh >> j) & 1) << 4;
      const int h1 = (int)((qh >> (j + 16)) & 1) << 4;
      dst[j] = d * (float)((b[i].qs[j] & 0x0F) | h0) + m;
      dst[j + QK5_1 / 2] = d * (float)((b[i].qs[j] >> 4) | h1) + m;
    }
  }
}

void still_quantize_q5_1(const float *src, void *dst, int64_t n)
{
  block_q5_1 *b = dst;
  for (int64_t i = 0; i < n / QK5_1; i++, src += QK5_1) {
    float lo, hi;
    min_max(src, QK5_1, &lo, &hi);
    const float d = (hi - lo) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = quant_float_to_half(d);
    b[i].m = quant_float_to_half(lo);
    uint32_t qh = 0;
    for (int j = 0; j < QK5_1 / 2; j++) {
      const int q0 = round_half_up_clamp((src[j] - lo) * id, 0, 31);
      const int q1 = round_half_up_clamp((src[j + QK5_1 / 2] - lo) * id, 0, 31);
      b[i].qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= (uint32_t)(q0 >> 4) << j;
      qh |= (uint32_t)(q1 >> 4) << (j + 16);
    }
    store_qh(b[i].qh, qh);
  }
}

/* ---- Q8_0 / Q8_1 --------------------------------------------------------- */

void still_dequantize_q8_0(const void *src, float *dst, int64_t n)
{
  const block_q8_0 *b = src;
  for (int64_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
    const float d = quant_half_to_float(b[i].d);
    for (int j = 0; j < QK8_0; j++) dst[j] = d * (float)b[i].qs[j];
  }
}

/* Symmetric 8-bit codes of one 32-value block; returns the stored scale.
 * Q8_0 and Q8_1 are the formats activations are quantized to before the
 * integer dot products; the codes are computed as llama.cpp's x86 kernels
 * do (x * 127 / amax, rounded to nearest even) so that our activations match
 * the reference ones code for code. */
static float quantize_8bit_block(const float *x, int8_t *qs, still_half *dh)
{
  float amax = 0.0f;
  for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
  *dh = quant_float_to_half(amax / 127.0f);
  const float id = amax != 0.0f && isfinite(amax) ? 127.0f / amax : 0.0f;
  for (int j = 0; j < 32; j++) qs[j] = (int8_t)quant_round_clamp(x[j] * id, -127, 127);
  return quant_half_to_float(*dh);
}

void still_quantize_q8_0(const float *src, void *dst, int64_t n)
{
  block_q8_0 *b = dst;
  for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) quantize_8bit_block(src, b[i].qs, &b[i].d);
}

void still_dequantize_q8_1(const void *src, float *dst, int64_t n)
{
  const block_q8_1 *b = src;
  for (int64_t i = 0; i < n / QK8_1; i++, dst += QK8_1) {
    const float d = quant_half_to_float(b[i].d);
    for (int j = 0; j < QK8_1; j++) dst[j] = d * (float)b[i].qs[j];
  }
}

void still_quantize_q8_1(const float *src, void *dst, int64_t n)
{
  block_q8_1 *b = dst;
  for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
    const float d = quantize_8bit_block(src, b[i].qs, &b[i].d);
    int sum = 0;
    for (int j = 0; j < QK8_1; j++) sum += b[i].qs[j];
    b[i].s = quant_float_to_half(d * (float)sum);
  }
}
