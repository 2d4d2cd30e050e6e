/* vec-internal.h — what the per-ISA kernel files share: their lookup
 * functions (called by the dispatcher in vec.c) and small block-decoding
 * helpers that are facts of the GGUF formats. Not for use outside cpu/. */
#ifndef STILL_CPU_VEC_INTERNAL_H
#define STILL_CPU_VEC_INTERNAL_H

#include "cpu/vec.h"
#include "quants/blocks.h"
#include "types.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Each returns NULL when that ISA has no kernel for the type, or when the
 * file was built for a machine without the ISA (non-x86 builds). */
still_vec_dot_fn still_vec_dot_generic(uint32_t wtype);
still_quantize_row_fn still_quantize_row_generic(uint32_t vtype);
still_vec_dot_fn still_vec_dot_avx2(uint32_t wtype);
still_quantize_row_fn still_quantize_row_avx2(uint32_t vtype);
still_vec_dot_fn still_vec_dot_avx512(uint32_t wtype, bool vnni);
still_quantize_row_fn still_quantize_row_avx512(uint32_t vtype);

/* IQ4_NL / IQ4_XS: a 4-bit index into this fixed non-linear grid. */
static const int8_t still_iq4nl_grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

/* Q4_K / Q5_K: 12 bytes hold eight 6-bit scales and eight 6-bit mins.
 * Bytes 0-3: scales 0-3 (low 6 bits); bytes 4-7: mins 0-3 (low 6 bits);
 * bytes 8-11: low nibble = low 4 bits of scales 4-7, high nibble = low
 * 4 bits of mins 4-7; the top 2 bits of bytes 0-3 / 4-7 give the high 2
 * bits of scales 4-7 / mins 4-7. Done on 32-bit words, 4 values at a time. */
static inline void still_q4k_unpack_scales(const uint8_t s[K_SCALE_SIZE], uint8_t sc[8], uint8_t mn[8])
{
  uint32_t a0, a1, a2;
  memcpy(&a0, s, 4);
  memcpy(&a1, s + 4, 4);
  memcpy(&a2, s + 8, 4);
  const uint32_t sc_lo = a0 & 0x3f3f3f3fu;
  const uint32_t mn_lo = a1 & 0x3f3f3f3fu;
  const uint32_t sc_hi = (a2 & 0x0f0f0f0fu) | (((a0 >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((a2 >> 4) & 0x0f0f0f0fu) | (((a1 >> 6) & 0x03030303u) << 4);
  memcpy(sc, &sc_lo, 4);
  memcpy(sc + 4, &sc_hi, 4);
  memcpy(mn, &mn_lo, 4);
  memcpy(mn + 4, &mn_hi, 4);
}

/* The same, as two 64-bit words (byte j = value j), for SIMD code that
 * moves them straight into a register (no store-to-load stall). */
static inline void still_q4k_unpack_scales64(const uint8_t s[K_SCALE_SIZE], uint64_t *sc, uint64_t *mn)
{
  uint32_t a0, a1, a2;
  memcpy(&a0, s, 4);
  memcpy(&a1, s + 4, 4);
  memcpy(&a2, s + 8, 4);
  const uint32_t sc_lo = a0 & 0x3f3f3f3fu;
  const uint32_t mn_lo = a1 & 0x3f3f3f3fu;
  const uint32_t sc_hi = (a2 & 0x0f0f0f0fu) | (((a0 >> 6) & 0x03030303u) << 4);
  const uint32_t mn_hi = ((a2 >> 4) & 0x0f0f0f0fu) | (((a1 >> 6) & 0x03030303u) << 4);
  *sc = (uint64_t)sc_lo | (uint64_t)sc_hi << 32;
  *mn = (uint64_t)mn_lo | (uint64_t)mn_hi << 32;
}

/* Q3_K: sixteen 6-bit scales (stored +32) in 12 bytes. Low 4 bits of scale
 * i are the low (i < 8) or high (i >= 8) nibble of byte i % 8; its top two
 * bits are bits 2*(i/4) .. 2*(i/4)+1 of byte 8 + i % 4. */
static inline void still_q3k_unpack_scales(const uint8_t s[12], int8_t out[16])
{
  for (int i = 0; i < 16; i++) {
    const int lo = i < 8 ? (s[i] & 0x0f) : (s[i - 8] >> 4);
    const int hi = (s[8 + (i & 3)] >> (2 * (i >> 2))) & 3;
    out[i] = (int8_t)((lo | (hi << 4)) - 32);
  }
}

/* The same sixteen scales as unsigned 0..63 (subtract 32 after widening),
 * bytes of two uint64 (scales 0-7, 8-15), on 32-bit words for SIMD code:
 * byte k of group g (scale 4g + k) takes its top bits from byte 8 + k. */
static inline void still_q3k_unpack_scales64(const uint8_t s[12], uint64_t *lo8, uint64_t *hi8)
{
  uint32_t a0, a1, a2;
  memcpy(&a0, s, 4);
  memcpy(&a1, s + 4, 4);
  memcpy(&a2, s + 8, 4);
  const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
  const uint32_t g0 = (a0 & m4) | ((a2 & m2) << 4);
  const uint32_t g1 = (a1 & m4) | (((a2 >> 2) & m2) << 4);
  const uint32_t g2 = ((a0 >> 4) & m4) | (((a2 >> 4) & m2) << 4);
  const uint32_t g3 = ((a1 >> 4) & m4) | (((a2 >> 6) & m2) << 4);
  *lo8 = (uint64_t)g0 | (uint64_t)g1 << 32;
  *hi8 = (uint64_t)g2 | (uint64_t)g3 << 32;
}

/* IQ4_XS: 6-bit scale of sub-block ib (of 8), stored +32: low 4 bits in a
 * nibble of scales_l, high 2 bits in scales_h. */
static inline int still_iq4xs_scale(const block_iq4_xs *x, int ib)
{
  const int lo = (x->scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0f;
  const int hi = (x->scales_h >> (2 * ib)) & 3;
  return (lo | (hi << 4)) - 32;
}

#endif /* STILL_CPU_VEC_INTERNAL_H */
