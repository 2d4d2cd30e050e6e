/* vec-generic.c — plain C dot products and activation quantizers.
 *
 * These are the oracle for the SIMD files and the fallback on every
 * machine. Each kernel decodes the blocks itself (independently of the
 * dequantizers in quants/, so the two check each other), sums the integer
 * products of a block exactly in integers, then applies the float scales;
 * the sum over blocks is kept in double so that this file is as close to
 * the exact value as it reasonably can be.
 */
#include "cpu/vec-internal.h"

#include "util.h"

#include <math.h>
#include <string.h>

static inline float h2f(still_half h)
{
  return still_fp16_to_fp32(h);
}

/* ======================================================================
 * Activation quantizers (the formulas llama.cpp's reference code uses, so
 * results stay comparable with its outputs).
 * ====================================================================== */

/* Q8_0: d = max|x| / 127, q = round-half-away(x / d). */
static void quantize_row_q8_0(const float *x, void *vy, int64_t n)
{
  block_q8_0 *y = vy;
  for (int64_t b = 0; b < n / QK8_0; b++, x += QK8_0) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = still_fp32_to_fp16(d);
    for (int j = 0; j < QK8_0; j++) y[b].qs[j] = (int8_t)roundf(x[j] * id);
  }
}

/* Q8_1: like Q8_0 plus s = d * Σq (stored as fp16), the term that the
 * offsets ("m") of Q4_1/Q5_1 multiply. */
static void quantize_row_q8_1(const float *x, void *vy, int64_t n)
{
  block_q8_1 *y = vy;
  for (int64_t b = 0; b < n / QK8_1; b++, x += QK8_1) {
    float amax = 0.0f;
    for (int j = 0; j < QK8_1; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < QK8_1; j++) {
      y[b].qs[j] = (int8_t)roundf(x[j] * id);
      sum += y[b].qs[j];
    }
    y[b].d = still_fp32_to_fp16(d);
    y[b].s = still_fp32_to_fp16(d * (float)sum);
  }
}

/* Q8_K: the value of largest magnitude maps to -127 (scale -127/max, so q
 * stays within ±127), round to nearest even; d = 1/scale is kept as float,
 * bsums are the sums of each 16 quants (used for the K-quants' mins). */
static void quantize_row_q8_K(const float *x, void *vy, int64_t n)
{
  block_q8_K *y = vy;
  for (int64_t b = 0; b < n / QK_K; b++, x += QK_K) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QK_K; j++) {
      const float ax = fabsf(x[j]);
      if (ax > amax) {
        amax = ax;
        max = x[j];
      }
    }
    if (amax == 0.0f) {
      memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < QK_K; j++) {
      int v = (int)nearbyintf(iscale * x[j]);
      y[b].qs[j] = (int8_t)(v < 127 ? v : 127);
    }
    for (int g = 0; g < QK_K / 16; g++) {
      int sum = 0;
      for (int j = 0; j < 16; j++) sum += y[b].qs[16 * g + j];
      y[b].bsums[g] = (int16_t)sum;
    }
    y[b].d = 1.0f / iscale;
  }
}

static void quantize_row_f32(const float *x, void *y, int64_t n)
{
  if (n > 0) memmove(y, x, (size_t)n * sizeof(float));
}

static void quantize_row_f16(const float *x, void *vy, int64_t n)
{
  uint16_t *y = vy;
  for (int64_t i = 0; i < n; i++) y[i] = still_fp32_to_fp16(x[i]);
}

static void quantize_row_bf16(const float *x, void *vy, int64_t n)
{
  uint16_t *y = vy;
  for (int64_t i = 0; i < n; i++) y[i] = still_fp32_to_bf16(x[i]);
}

/* ======================================================================
 * 32-value blocks × Q8_0 / Q8_1
 * ====================================================================== */

/* Q4_0: value j (0..15) is the low nibble of qs[j], value j+16 the high
 * nibble; weight = d * (q - 8). */
static void vec_dot_q4_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_0 *x = vx;
  const block_q8_0 *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK4_0; b++) {
    int isum = 0;
    for (int j = 0; j < 16; j++) {
      isum += ((x[b].qs[j] & 0x0f) - 8) * y[b].qs[j];
      isum += ((x[b].qs[j] >> 4) - 8) * y[b].qs[j + 16];
    }
    sum += (double)h2f(x[b].d) * h2f(y[b].d) * isum;
  }
  *s = (float)sum;
}

/* Q4_1: weight = d * q + m; Σ(d q + m) dy a = d dy Σ q a + m (dy Σ a) = … + m s. */
static void vec_dot_q4_1_q8_1(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_1 *x = vx;
  const block_q8_1 *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK4_1; b++) {
    int isum = 0;
    for (int j = 0; j < 16; j++) {
      isum += (x[b].qs[j] & 0x0f) * y[b].qs[j];
      isum += (x[b].qs[j] >> 4) * y[b].qs[j + 16];
    }
    sum += (double)h2f(x[b].d) * h2f(y[b].d) * isum + (double)h2f(x[b].m) * h2f(y[b].s);
  }
  *s = (float)sum;
}

/* Q5_0 / Q5_1: a fifth bit per value in the 32-bit little-endian qh: bit j
 * for value j (low nibbles), bit j+16 for value j+16 (high nibbles). */
static inline uint32_t load_qh(const uint8_t qh[4])
{
  return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

static void vec_dot_q5_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q5_0 *x = vx;
  const block_q8_0 *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK5_0; b++) {
    const uint32_t qh = load_qh(x[b].qh);
    int isum = 0;
    for (int j = 0; j < 16; j++) {
      const int q0 = (x[b].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
      const int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
      isum += (q0 - 16) * y[b].qs[j] + (q1 - 16) * y[b].qs[j + 16];
    }
    sum += (double)h2f(x[b].d) * h2f(y[b].d) * isum;
  }
  *s = (float)sum;
}

static void vec_dot_q5_1_q8_1(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q5_1 *x = vx;
  const block_q8_1 *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK5_1; b++) {
    const uint32_t qh = load_qh(x[b].qh);
    int isum = 0;
    for (int j = 0; j < 16; j++) {
      const int q0 = (x[b].qs[j] & 0x0f) | (int)((qh >> j) & 1) << 4;
      const int q1 = (x[b].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
      isum += q0 * y[b].qs[j] + q1 * y[b].qs[j + 16];
    }
    sum += (double)h2f(x[b].d) * h2f(y[b].d) * isum + (double)h2f(x[b].m) * h2f(y[b].s);
  }
  *s = (float)sum;
}

static void vec_dot_q8_0_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q8_0 *x = vx;
  const block_q8_0 *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK8_0; b++) {
    int isum = 0;
    for (int j = 0; j < QK8_0; j++) isum += x[b].qs[j] * y[b].qs[j];
    sum += (double)h2f(x[b].d) * h2f(y[b].d) * isum;
  }
  *s = (float)sum;
}

/* IQ4_NL: the Q4_0 layout, but each nibble indexes the non-linear grid. */
static void vec_dot_iq4_nl_q8_0(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_iq4_nl *x = vx;
  const block_q8_0 *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK4_NL; b++) {
    int isum = 0;
    for (int j = 0; j < 16; j++) {
      isum += still_iq4nl_grid[x[b].qs[j] & 0x0f] * y[b].qs[j];
      isum += still_iq4nl_grid[x[b].qs[j] >> 4] * y[b].qs[j + 16];
    }
    sum += (double)h2f(x[b].d) * h2f(y[b].d) * isum;
  }
  *s = (float)sum;
}

/* ======================================================================
 * K-quants (256-value super-blocks) × Q8_K
 * ====================================================================== */

/* Q2_K: value e = 128h + 32j + k (h < 2, j < 4, k < 32) is bits 2j..2j+1 of
 * qs[32h + k]; its sub-block of 16 is 8h + 2j + k/16, whose byte in scales
 * holds the scale (low nibble) and the min (high nibble).
 * weight = d * scale * q - dmin * min. */
static void vec_dot_q2_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q2_K *x = vx;
  const block_q8_K *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK_K; b++) {
    const int8_t *a = y[b].qs;
    int isum = 0, msum = 0;
    for (int g = 0; g < 16; g++) msum += (x[b].scales[g] >> 4) * y[b].bsums[g];
    for (int h = 0; h < 2; h++)
      for (int j = 0; j < 4; j++)
        for (int half = 0; half < 2; half++) {
          const int sc = x[b].scales[8 * h + 2 * j + half] & 0x0f;
          int part = 0;
          for (int k = 16 * half; k < 16 * half + 16; k++)
            part += ((x[b].qs[32 * h + k] >> (2 * j)) & 3) * a[128 * h + 32 * j + k];
          isum += sc * part;
        }
    const double dy = y[b].d;
    sum += dy * h2f(x[b].d) * isum - dy * h2f(x[b].dmin) * msum;
  }
  *s = (float)sum;
}

/* Q3_K: as Q2_K for the low two bits; the third bit of value e is bit
 * (4h + j) of hmask[k], and a clear bit means subtract 4 (q in -4..3).
 * weight = d * scale * q with signed 6-bit scales. */
static void vec_dot_q3_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q3_K *x = vx;
  const block_q8_K *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK_K; b++) {
    const int8_t *a = y[b].qs;
    int8_t sc[16];
    still_q3k_unpack_scales(x[b].scales, sc);
    int isum = 0;
    for (int h = 0; h < 2; h++)
      for (int j = 0; j < 4; j++)
        for (int half = 0; half < 2; half++) {
          int part = 0;
          for (int k = 16 * half; k < 16 * half + 16; k++) {
            int q = (x[b].qs[32 * h + k] >> (2 * j)) & 3;
            if (!((x[b].hmask[k] >> (4 * h + j)) & 1)) q -= 4;
            part += q * a[128 * h + 32 * j + k];
          }
          isum += sc[8 * h + 2 * j + half] * part;
        }
    sum += (double)y[b].d * h2f(x[b].d) * isum;
  }
  *s = (float)sum;
}

/* Q4_K: chunk c (of 4) covers values 64c .. 64c+63: the low nibbles of
 * qs[32c .. 32c+31] are values 64c + k (sub-block 2c), the high nibbles
 * values 64c + 32 + k (sub-block 2c+1). weight = d sc q - dmin m. */
static void vec_dot_q4_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q4_K *x = vx;
  const block_q8_K *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK_K; b++) {
    const int8_t *a = y[b].qs;
    uint8_t sc[8], mn[8];
    still_q4k_unpack_scales(x[b].scales, sc, mn);
    int isum = 0, msum = 0;
    for (int c = 0; c < 4; c++) {
      int lo = 0, hi = 0;
      for (int k = 0; k < 32; k++) {
        lo += (x[b].qs[32 * c + k] & 0x0f) * a[64 * c + k];
        hi += (x[b].qs[32 * c + k] >> 4) * a[64 * c + 32 + k];
      }
      isum += sc[2 * c] * lo + sc[2 * c + 1] * hi;
    }
    for (int j = 0; j < 8; j++) msum += mn[j] * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
    const double dy = y[b].d;
    sum += dy * h2f(x[b].d) * isum - dy * h2f(x[b].dmin) * msum;
  }
  *s = (float)sum;
}

/* Q5_K: Q4_K plus a fifth bit: bit 2c of qh[k] for value 64c + k, bit 2c+1
 * for value 64c + 32 + k. */
static void vec_dot_q5_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q5_K *x = vx;
  const block_q8_K *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK_K; b++) {
    const int8_t *a = y[b].qs;
    uint8_t sc[8], mn[8];
    still_q4k_unpack_scales(x[b].scales, sc, mn);
    int isum = 0, msum = 0;
    for (int c = 0; c < 4; c++) {
      int lo = 0, hi = 0;
      for (int k = 0; k < 32; k++) {
        const int q0 = (x[b].qs[32 * c + k] & 0x0f) | ((x[b].qh[k] >> (2 * c)) & 1) << 4;
        const int q1 = (x[b].qs[32 * c + k] >> 4) | ((x[b].qh[k] >> (2 * c + 1)) & 1) << 4;
        lo += q0 * a[64 * c + k];
        hi += q1 * a[64 * c + 32 + k];
      }
      isum += sc[2 * c] * lo + sc[2 * c + 1] * hi;
    }
    for (int j = 0; j < 8; j++) msum += mn[j] * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
    const double dy = y[b].d;
    sum += dy * h2f(x[b].d) * isum - dy * h2f(x[b].dmin) * msum;
  }
  *s = (float)sum;
}

/* Q6_K: half h (of 2) covers values 128h .. 128h+127; for k < 32:
 *   value 128h +      k: low nibble of ql[64h + k],      bits 0-1 of qh[32h + k]
 *   value 128h + 32 + k: low nibble of ql[64h + 32 + k], bits 2-3
 *   value 128h + 64 + k: high nibble of ql[64h + k],     bits 4-5
 *   value 128h + 96 + k: high nibble of ql[64h + 32 + k], bits 6-7
 * q = 6-bit value - 32; sub-blocks of 16 with signed 8-bit scales. */
static void vec_dot_q6_K_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_q6_K *x = vx;
  const block_q8_K *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK_K; b++) {
    const int8_t *a = y[b].qs;
    int isum = 0;
    for (int h = 0; h < 2; h++) {
      const uint8_t *ql = x[b].ql + 64 * h;
      const uint8_t *qh = x[b].qh + 32 * h;
      for (int quarter = 0; quarter < 4; quarter++)
        for (int half = 0; half < 2; half++) {
          int part = 0;
          for (int k = 16 * half; k < 16 * half + 16; k++) {
            const uint8_t l = ql[k + 32 * (quarter & 1)];
            const int low4 = quarter < 2 ? (l & 0x0f) : (l >> 4);
            const int q = (low4 | ((qh[k] >> (2 * quarter)) & 3) << 4) - 32;
            part += q * a[128 * h + 32 * quarter + k];
          }
          isum += x[b].scales[8 * h + 2 * quarter + half] * part;
        }
    }
    sum += (double)y[b].d * h2f(x[b].d) * isum;
  }
  *s = (float)sum;
}

/* IQ4_XS: 8 sub-blocks of 32, each laid out like an IQ4_NL block (qs[16 ib
 * ..]), with a 6-bit scale; weight = d * (scale - 32) * grid[q]. */
static void vec_dot_iq4_xs_q8_K(int64_t n, float *s, const void *vx, const void *vy)
{
  const block_iq4_xs *x = vx;
  const block_q8_K *y = vy;
  double sum = 0.0;
  for (int64_t b = 0; b < n / QK_K; b++) {
    const int8_t *a = y[b].qs;
    int isum = 0;
    for (int ib = 0; ib < 8; ib++) {
      const uint8_t *q = x[b].qs + 16 * ib;
      int part = 0;
      for (int j = 0; j < 16; j++) {
        part += still_iq4nl_grid[q[j] & 0x0f] * a[32 * ib + j];
        part += still_iq4nl_grid[q[j] >> 4] * a[32 * ib + 16 + j];
      }
      isum += still_iq4xs_scale(&x[b], ib) * part;
    }
    sum += (double)y[b].d * h2f(x[b].d) * isum;
  }
  *s = (float)sum;
}

/* ======================================================================
 * Floats
 * ====================================================================== */

static void vec_dot_f32(int64_t n, float *s, const void *vx, const void *vy)
{
  const float *x = vx, *y = vy;
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) sum += (double)x[i] * y[i];
  *s = (float)sum;
}

static void vec_dot_f16(int64_t n, float *s, const void *vx, const void *vy)
{
  const uint16_t *x = vx, *y = vy;
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) sum += (double)still_fp16_to_fp32(x[i]) * still_fp16_to_fp32(y[i]);
  *s = (float)sum;
}

static void vec_dot_bf16(int64_t n, float *s, const void *vx, const void *vy)
{
  const uint16_t *x = vx, *y = vy;
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) sum += (double)still_bf16_to_fp32(x[i]) * still_bf16_to_fp32(y[i]);
  *s = (float)sum;
}

still_vec_dot_fn still_vec_dot_generic(uint32_t wtype)
{
  switch (wtype) {
  case STILL_TYPE_F32: return vec_dot_f32;
  case STILL_TYPE_F16: return vec_dot_f16;
  case STILL_TYPE_BF16: return vec_dot_bf16;
  case STILL_TYPE_Q4_0: return vec_dot_q4_0_q8_0;
  case STILL_TYPE_Q4_1: return vec_dot_q4_1_q8_1;
  case STILL_TYPE_Q5_0: return vec_dot_q5_0_q8_0;
  case STILL_TYPE_Q5_1: return vec_dot_q5_1_q8_1;
  case STILL_TYPE_Q8_0: return vec_dot_q8_0_q8_0;
  case STILL_TYPE_IQ4_NL: return vec_dot_iq4_nl_q8_0;
  case STILL_TYPE_Q2_K: return vec_dot_q2_K_q8_K;
  case STILL_TYPE_Q3_K: return vec_dot_q3_K_q8_K;
  case STILL_TYPE_Q4_K: return vec_dot_q4_K_q8_K;
  case STILL_TYPE_Q5_K: return vec_dot_q5_K_q8_K;
  case STILL_TYPE_Q6_K: return vec_dot_q6_K_q8_K;
  case STILL_TYPE_IQ4_XS: return vec_dot_iq4_xs_q8_K;
  default: return NULL;
  }
}

still_quantize_row_fn still_quantize_row_generic(uint32_t vtype)
{
  switch (vtype) {
  case STILL_TYPE_F32: return quantize_row_f32;
  case STILL_TYPE_F16: return quantize_row_f16;
  case STILL_TYPE_BF16: return quantize_row_bf16;
  case STILL_TYPE_Q8_0: return quantize_row_q8_0;
  case STILL_TYPE_Q8_1: return quantize_row_q8_1;
  case STILL_TYPE_Q8_K: return quantize_row_q8_K;
  default: return NULL;
  }
}
