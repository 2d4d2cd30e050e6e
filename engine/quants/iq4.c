/* iq4.c — the non-linear 4-bit types IQ4_NL and IQ4_XS.
 *
 * A 4-bit code selects one of 16 fixed values, spaced more tightly near
 * zero where weights are dense:
 *   {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}
 * Codes are packed like Q4_0: in each group of 32 values, byte j holds
 * value j in its low nibble and value j + 16 in its high nibble.
 *
 *  IQ4_NL  blocks of 32, one fp16 d: x = d * table[code].
 *  IQ4_XS  super-blocks of 256 = 8 groups of 32, one fp16 d and a 6-bit
 *          scale per group: low 4 bits in scales_l[g/2] (low nibble for even
 *          g), high 2 bits in scales_h at bit 2g. x = d * (scale - 32) *
 *          table[code]. */
#include "quants.h"

#include "quant-utils.h"

#include <string.h>

static const int8_t iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
static const float iq4_mid[15] = {-115.5f, -93.5f, -74.0f, -57.0f, -42.0f, -28.5f, -16.0f, -4.5f,
                                   7.0f,    19.0f,  31.5f,  45.5f,  61.0f,  79.0f,  101.0f};
static const quant_grid grid_iq4 = {iq4_values, iq4_mid, 16, -127, 113};

/* Dequantize / pack 32 codes with the "byte j = value j | value j+16 << 4" layout. */
static void unpack_32(const uint8_t *qs, float dl, float *dst)
{
  for (int j = 0; j < 16; j++) {
    dst[j] = dl * (float)iq4_values[qs[j] & 0x0F];
    dst[j + 16] = dl * (float)iq4_values[qs[j] >> 4];
  }
}

static void pack_32(const uint8_t *codes, uint8_t *qs)
{
  for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(codes[j] | (codes[j + 16] << 4));
}

void still_dequantize_iq4_nl(const void *src, float *dst, int64_t n)
{
  const block_iq4_nl *b = src;
  for (int64_t i = 0; i < n / QK4_NL; i++, dst += QK4_NL) unpack_32(b[i].qs, quant_half_to_float(b[i].d), dst);
}

void still_quantize_iq4_nl(const float *src, void *dst, int64_t n)
{
  block_iq4_nl *b = dst;
  for (int64_t i = 0; i < n / QK4_NL; i++, src += QK4_NL) {
    uint8_t codes[QK4_NL];
    const float d = still_quant_fit_sym(src, QK4_NL, &grid_iq4, NULL);
    b[i].d = quant_float_to_half(d);
    /* codes for the scale actually stored */
    still_quant_assign_sym(src, QK4_NL, &grid_iq4, quant_half_to_float(b[i].d), codes);
    pack_32(codes, b[i].qs);
  }
}

void still_dequantize_iq4_xs(const void *src, float *dst, int64_t n)
{
  const block_iq4_xs *b = src;
  for (int64_t i = 0; i < n / QK_K; i++, dst += QK_K) {
    const float d = quant_half_to_float(b[i].d);
    for (int g = 0; g < QK_K / 32; g++) {
      const int ls = ((b[i].scales_l[g / 2] >> (4 * (g & 1))) & 0x0F) | (((b[i].scales_h >> (2 * g)) & 3) << 4);
      unpack_32(b[i].qs + 16 * g, d * (float)(ls - 32), dst + 32 * g);
    }
  }
}

void still_quantize_iq4_xs(const float *src, void *dst, int64_t n)
{
  block_iq4_xs *b = dst;
  for (int64_t i = 0; i < n / QK_K; i++, src += QK_K) {
    uint8_t codes[QK_K];
    int ls[QK_K / 32];
    const float d = still_quant_superblock_sym(src, 32, &grid_iq4, -32, 31, codes, ls);
    b[i].d = quant_float_to_half(d);
    uint16_t scales_h = 0;
    memset(b[i].scales_l, 0, sizeof b[i].scales_l);
    for (int g = 0; g < QK_K / 32; g++) {
      const int v = ls[g] + 32; /* 0..63 */
      b[i].scales_l[g / 2] |= (uint8_t)((v & 0x0F) << (4 * (g & 1)));
      scales_h |= (uint16_t)((v >> 4) << (2 * g));
      pack_32(codes + 32 * g, b[i].qs + 16 * g);
    }
    b[i].scales_h = scales_h;
  }
}
