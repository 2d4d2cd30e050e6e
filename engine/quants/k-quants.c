/* k-quants.c — the 256-value super-block types Q2_K, Q3_K, Q4_K, Q5_K,
 * Q6_K and Q8_K.
 *
 * Value k of a super-block (0..255) lives at these places (layouts in
 * blocks.h; each formula below is what the ggml file format means):
 *
 *  Q2_K  16 sub-blocks of 16. scales[k/16]: low nibble = scale, high
 *        nibble = min. 2-bit code in qs[(k/128)*32 + k%32], bits
 *        2*((k%128)/32). x = d*scale*q - dmin*min.
 *  Q3_K  16 sub-blocks of 16. Low 2 code bits as in Q2_K; the third bit is
 *        bit k/32 of hmask[k%32]; code = low - (bit ? 0 : 4), in -4..3.
 *        Scales: 16 six-bit values in 12 bytes: low 4 bits of scale i in
 *        byte i (i < 8, low nibble) or byte i-8 (high nibble); high 2 bits
 *        in byte 8 + i%4 at bit 2*(i/4). x = d*(scale-32)*code.
 *  Q4_K  8 sub-blocks of 32. Scales and mins: 6 bits each in 12 bytes
 *        (see unpack_scale_min_k4). 4-bit code in qs[(k/64)*32 + k%32],
 *        low nibble if k%64 < 32 else high. x = d*scale*q - dmin*min.
 *  Q5_K  as Q4_K plus a fifth code bit: bit k/32 of qh[k%32].
 *  Q6_K  16 sub-blocks of 16, int8 scales[k/16]. With h = k/128,
 *        c = (k%128)/32, l = k%32: low 4 bits in ql[h*64 + (c&1)*32 + l]
 *        (low nibble for c < 2, else high), high 2 bits in qh[h*32 + l] at
 *        bit 2*c; code = bits - 32. x = d*scale*code.
 *  Q8_K  float d, 256 int8 codes, bsums[j] = sum of codes 16j..16j+15.
 *        x = d*q. Used for activations only.
 *
 * The quantizers use the searches of scale-search.c. */
#include "quants.h"

#include "quant-utils.h"

#include <string.h>

/* ---- scale packing ---------------------------------------------------------- */

/* Q4_K / Q5_K: scales and mins of the 8 sub-blocks, 6 bits each. Bytes 0-3
 * hold scales 0-3, bytes 4-7 mins 0-3 (low 6 bits); scales and mins 4-7
 * keep their low 4 bits in bytes 8-11 (scale low nibble, min high nibble)
 * and their top 2 bits in the top bits of bytes 0-3 (scales) and 4-7 (mins). */
static void unpack_scale_min_k4(const uint8_t *s, uint8_t sc[8], uint8_t mn[8])
{
  for (int j = 0; j < 4; j++) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
    sc[j + 4] = (uint8_t)((s[j + 8] & 0x0F) | ((s[j] >> 6) << 4));
    mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
  }
}

static void pack_scale_min_k4(uint8_t *s, const uint8_t sc[8], const uint8_t mn[8])
{
  for (int j = 0; j < 4; j++) {
    s[j] = (uint8_t)((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = (uint8_t)((mn[j] & 63) | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = (uint8_t)((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4));
  }
}

/* Q3_K: 16 six-bit scales, returned with the offset of 32 removed. */
static void unpack_scales_q3_K(const uint8_t *s, int sc[16])
{
  for (int i = 0; i < 16; i++) {
    const int low = i < 8 ? (s[i] & 0x0F) : (s[i - 8] >> 4);
    const int high = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    sc[i] = (low | (high << 4)) - 32;
  }
}

static void pack_scales_q3_K(uint8_t *s, const int sc[16])
{
  memset(s, 0, 12);
  for (int i = 0; i < 16; i++) {
    const int v = sc[i] + 32; /* 0..63 */
    if (i < 8) s[i] |= (uint8_t)(v & 0x0F);
    else s[i - 8] |= (uint8_t)((v & 0x0F) << 4);
    s[8 + (i & 3)] |= (uint8_t)((v >> 4) << (2 * (i >> 2)));
  }
}

/* ---- Q2_K ------------------------------------------------------------------- */

void still_dequantize_q2_K(const void *src, float *dst, int64_t n)
{
  const block_q2_K *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
    const float d = quant_half_to_float(b[i].d);
    const float dmin = quant_half_to_float(b[i].dmin);
    for (int j = 0; j < QK_K / 16; j++) {
      const float dl = d * (float)(b[i].scales[j] & 0x0F);
      const float ml = dmin * (float)(b[i].scales[j] >> 4);
      for (int k = 16 * j; k < 16 * j + 16; k++) {
        const int q = (b[i].qs[(k / 128) * 32 + k % 32] >> (2 * ((k % 128) / 32))) & 3;
        dst[k] = dl * (float)q - ml;
      }
    }
  }
}

void still_quantize_q2_K(const float *src, void *dst, int64_t n)
{
  block_q2_K *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
    uint8_t q[QK_K], ls[16], lm[16];
    float dmin;
    const float d = still_quant_superblock_asym(src, 16, 3, 15, q, ls, lm, &dmin);
    b[i].d = quant_float_to_half(d);
    b[i].dmin = quant_float_to_half(dmin);
    for (int j = 0; j < 16; j++) b[i].scales[j] = (uint8_t)(ls[j] | (lm[j] << 4));
    memset(b[i].qs, 0, sizeof b[i].qs);
    for (int k = 0; k < QK_K; k++) b[i].qs[(k / 128) * 32 + k % 32] |= (uint8_t)(q[k] << (2 * ((k % 128) / 32)));
  }
}

/* ---- Q3_K ------------------------------------------------------------------- */

static const quant_grid grid_q3 = {NULL, NULL, 8, -4, 3};

void still_dequantize_q3_K(const void *src, float *dst, int64_t n)
{
  const block_q3_K *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
    const float d = quant_half_to_float(b[i].d);
    int sc[16];
    unpack_scales_q3_K(b[i].scales, sc);
    for (int j = 0; j < QK_K / 16; j++) {
      const float dl = d * (float)sc[j];
      for (int k = 16 * j; k < 16 * j + 16; k++) {
        const int low = (b[i].qs[(k / 128) * 32 + k % 32] >> (2 * ((k % 128) / 32))) & 3;
        const int high = (b[i].hmask[k % 32] >> (k / 32)) & 1;
        dst[k] = dl * (float)(low - (high ? 0 : 4));
      }
    }
  }
}

void still_quantize_q3_K(const float *src, void *dst, int64_t n)
{
  block_q3_K *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
    uint8_t codes[QK_K]; /* 0..7 = value + 4 */
    int ls[16];
    const float d = still_quant_superblock_sym(src, 16, &grid_q3, -32, 31, codes, ls);
    b[i].d = quant_float_to_half(d);
    pack_scales_q3_K(b[i].scales, ls);
    memset(b[i].qs, 0, sizeof b[i].qs);
    memset(b[i].hmask, 0, sizeof b[i].hmask);
    for (int k = 0; k < QK_K; k++) {
      b[i].qs[(k / 128) * 32 + k % 32] |= (uint8_t)((codes[k] & 3) << (2 * ((k % 128) / 32)));
      b[i].hmask[k % 32] |= (uint8_t)((codes[k] >> 2) << (k / 32));
    }
  }
}

/* ---- Q4_K ------------------------------------------------------------------- */

void still_dequantize_q4_K(const void *src, float *dst, int64_t n)
{
  const block_q4_K *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
    const float d = quant_half_to_float(b[i].d);
    const float dmin = quant_half_to_float(b[i].dmin);
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b[i].scales, sc, mn);
    for (int j = 0; j < 8; j++) {
      const float dl = d * (float)sc[j];
      const float ml = dmin * (float)mn[j];
      const uint8_t *qs = b[i].qs + (j / 2) * 32;
      const int shift = (j & 1) * 4;
      for (int l = 0; l < 32; l++) dst[32 * j + l] = dl * (float)((qs[l] >> shift) & 0x0F) - ml;
    }
  }
}

void still_quantize_q4_K(const float *src, void *dst, int64_t n)
{
  block_q4_K *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
    uint8_t q[QK_K], ls[8], lm[8];
    float dmin;
    const float d = still_quant_superblock_asym(src, 32, 15, 63, q, ls, lm, &dmin);
    b[i].d = quant_float_to_half(d);
    b[i].dmin = quant_float_to_half(dmin);
    pack_scale_min_k4(b[i].scales, ls, lm);
    for (int c = 0; c < 4; c++)
      for (int l = 0; l < 32; l++) b[i].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

/* ---- Q5_K ------------------------------------------------------------------- */

void still_dequantize_q5_K(const void *src, float *dst, int64_t n)
{
  const block_q5_K *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
    const float d = quant_half_to_float(b[i].d);
    const float dmin = quant_half_to_float(b[i].dmin);
    uint8_t sc[8], mn[8];
    unpack_scale_min_k4(b[i].scales, sc, mn);
    for (int j = 0; j < 8; j++) {
      const float dl = d * (float)sc[j];
      const float ml = dmin * (float)mn[j];
      const uint8_t *qs = b[i].qs + (j / 2) * 32;
      const int shift = (j & 1) * 4;
      for (int l = 0; l < 32; l++) {
        const int q = ((qs[l] >> shift) & 0x0F) | (((b[i].qh[l] >> j) & 1) << 4);
        dst[32 * j + l] = dl * (float)q - ml;
      }
    }
  }
}

void still_quantize_q5_K(const float *src, void *dst, int64_t n)
{
  block_q5_K *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
    uint8_t q[QK_K], ls[8], lm[8];
    float dmin;
    const float d = still_quant_superblock_asym(src, 32, 31, 63, q, ls, lm, &dmin);
    b[i].d = quant_float_to_half(d);
    b[i].dmin = quant_float_to_half(dmin);
    pack_scale_min_k4(b[i].scales, ls, lm);
    memset(b[i].qh, 0, sizeof b[i].qh);
    for (int c = 0; c < 4; c++)
      for (int l = 0; l < 32; l++)
        b[i].qs[32 * c + l] = (uint8_t)((q[64 * c + l] & 0x0F) | ((q[64 * c + 32 + l] & 0x0F) << 4));
    for (int k = 0; k < QK_K; k++) b[i].qh[k % 32] |= (uint8_t)((q[k] >> 4) << (k / 32));
  }
}

/* ---- Q6_K ------------------------------------------------------------------- */

static const quant_grid grid_q6 = {NULL, NULL, 64, -32, 31};

void still_dequantize_q6_K(const void *src, float *dst, int64_t n)
{
  const block_q6_K *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
    const float d = quant_half_to_float(b[i].d);
    for (int k = 0; k < QK_K; k++) {
      const int h = k / 128, c = (k % 128) / 32, l = k % 32;
      const uint8_t lo_byte = b[i].ql[h * 64 + (c & 1) * 32 + l];
      const int low = c < 2 ? (lo_byte & 0x0F) : (lo_byte >> 4);
      const int high = (b[i].qh[h * 32 + l] >> (2 * c)) & 3;
      dst[k] = d * (float)b[i].scales[k / 16] * (float)((low | (high << 4)) - 32);
    }
  }
}

void still_quantize_q6_K(const float *src, void *dst, int64_t n)
{
  block_q6_K *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
    uint8_t codes[QK_K]; /* 0..63 = value + 32 */
    int ls[16];
    const float d = still_quant_superblock_sym(src, 16, &grid_q6, -128, 127, codes, ls);
    b[i].d = quant_float_to_half(d);
    for (int j = 0; j < 16; j++) b[i].scales[j] = (int8_t)ls[j];
    memset(b[i].ql, 0, sizeof b[i].ql);
    memset(b[i].qh, 0, sizeof b[i].qh);
    for (int k = 0; k < QK_K; k++) {
      const int h = k / 128, c = (k % 128) / 32, l = k % 32;
      b[i].ql[h * 64 + (c & 1) * 32 + l] |= (uint8_t)((codes[k] & 0x0F) << (c < 2 ? 0 : 4));
      b[i].qh[h * 32 + l] |= (uint8_t)((codes[k] >> 4) << (2 * c));
    }
  }
}

/* ---- Q8_K ------------------------------------------------------------------- */

void still_dequantize_q8_K(const void *src, float *dst, int64_t n)
{
  const block_q8_K *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K)
    for (int k = 0; k < QK_K; k++) dst[k] = b[i].d * (float)b[i].qs[k];
}

void still_quantize_q8_K(const float *src, void *dst, int64_t n)
{
  block_q8_K *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
    /* The largest magnitude maps to -128, using the extra negative level;
     * values of the other sign reach at most +128 and are clamped to 127. */
    const float max = quant_signed_absmax(src, QK_K);
    const float iscale = max != 0.0f && isfinite(max) ? -128.0f / max : 0.0f;
    b[i].d = iscale != 0.0f ? 1.0f / iscale : 0.0f;
    for (int k = 0; k < QK_K; k++) b[i].qs[k] = (int8_t)quant_round_clamp(iscale * src[k], -128, 127);
    for (int j = 0; j < QK_K / 16; j++) {
      int sum = 0;
      for (int k = 16 * j; k < 16 * j + 16; k++) sum += b[i].qs[k];
      b[i].bsums[j] = (int16_t)sum;
    }
  }
}
