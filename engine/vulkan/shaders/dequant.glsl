/* dequant.glsl — read one value of a weight block. The weights are bound
 * as 32-bit words (no 8/16-bit storage extension needed); blocks are not
 * word aligned (Q4_0 is 18 bytes), so bytes are picked out with shifts.
 * Block layouts are those of GGUF (engine/quants/blocks.h).
 *
 * Needs: a buffer `W` with `uint w[]` declared before inclusion.
 * Defines BLOCK_SIZE (values per block), BLOCK_BYTES and
 * float dequant(uint block_byte_offset, uint j) for j < BLOCK_SIZE. */

uint rd8(uint o) { return (w[o >> 2] >> ((o & 3u) * 8u)) & 0xffu; }
/* 16-bit fields of every block type sit at even offsets: never split across words */
uint rd16(uint o) { return (w[o >> 2] >> ((o & 2u) * 8u)) & 0xffffu; }
float rdhalf(uint o) { return unpackHalf2x16(rd16(o)).x; }
int rds8(uint o) { return int(rd8(o) << 24) >> 24; }
uint rd32u(uint o) { return rd8(o) | (rd8(o + 1u) << 8) | (rd8(o + 2u) << 16) | (rd8(o + 3u) << 24); }

#if defined(TYPE_F32)
#define BLOCK_SIZE 1u
#define IS_SCALAR 1
#define BLOCK_BYTES 4u
float dequant(uint b, uint j) { return uintBitsToFloat(w[b >> 2]); }

#elif defined(TYPE_F16)
#define BLOCK_SIZE 1u
#define IS_SCALAR 1
#define BLOCK_BYTES 2u
float dequant(uint b, uint j) { return rdhalf(b); }

#elif defined(TYPE_BF16)
#define BLOCK_SIZE 1u
#define IS_SCALAR 1
#define BLOCK_BYTES 2u
float dequant(uint b, uint j) { return uintBitsToFloat(rd16(b) << 16); }

#elif defined(TYPE_Q8_0)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 34u
float dequant(uint b, uint j) { return rdhalf(b) * float(rds8(b + 2u + j)); }

#elif defined(TYPE_Q4_0)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 18u
float dequant(uint b, uint j)
{
  uint q = (rd8(b + 2u + (j & 15u)) >> ((j >> 4) * 4u)) & 15u;
  return rdhalf(b) * (float(q) - 8.0);
}

#elif defined(TYPE_Q4_1)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 20u
float dequant(uint b, uint j)
{
  uint q = (rd8(b + 4u + (j & 15u)) >> ((j >> 4) * 4u)) & 15u;
  return rdhalf(b) * float(q) + rdhalf(b + 2u);
}

#elif defined(TYPE_Q5_0)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 22u
float dequant(uint b, uint j)
{
  uint q = (rd8(b + 6u + (j & 15u)) >> ((j >> 4) * 4u)) & 15u;
  q |= ((rd32u(b + 2u) >> j) & 1u) << 4;
  return rdhalf(b) * (float(q) - 16.0);
}

#elif defined(TYPE_Q5_1)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 24u
float dequant(uint b, uint j)
{
  uint q = (rd8(b + 8u + (j & 15u)) >> ((j >> 4) * 4u)) & 15u;
  q |= ((rd32u(b + 4u) >> j) & 1u) << 4;
  return rdhalf(b) * float(q) + rdhalf(b + 2u);
}

#elif defined(TYPE_IQ4_NL)
#define BLOCK_SIZE 32u
#define BLOCK_BYTES 18u
const float iq4_values[16] = float[16](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
                                       1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);
float dequant(uint b, uint j)
{
  uint q = (rd8(b + 2u + (j & 15u)) >> ((j >> 4) * 4u)) & 15u;
  return rdhalf(b) * iq4_values[q];
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
#define BLOCK_SIZE 256u
#if defined(TYPE_Q4_K)
#define BLOCK_BYTES 144u
#define QS_OFF 16u
#else
#define BLOCK_BYTES 176u
#define QS_OFF 48u
#endif
/* 8 sub-blocks of 32 values, each with a 6-bit scale and min packed in 12 bytes */
float dequant(uint b, uint j)
{
  uint g = j >> 6, l = j & 63u, is = 2u * g + (l >> 5);
  uint sc, m;
  if (is < 4u) {
    sc = rd8(b + 4u + is) & 63u;
    m = rd8(b + 8u + is) & 63u;
  } else {
    sc = (rd8(b + 8u + is) & 15u) | ((rd8(b + is) >> 6) << 4);
    m = (rd8(b + 8u + is) >> 4) | ((rd8(b + 4u + is) >> 6) << 4);
  }
  uint q = (rd8(b + QS_OFF + 32u * g + (l & 31u)) >> ((l >> 5) * 4u)) & 15u;
#if defined(TYPE_Q5_K)
  q |= ((rd8(b + 16u + (l & 31u)) >> is) & 1u) << 4;
#endif
  return rdhalf(b) * float(sc) * float(q) - rdhalf(b + 2u) * float(m);
}

#elif defined(TYPE_Q6_K)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 210u
/* two halves of 128; in each, four quarters of 32 take the low/high nibble of ql and 2 bits of qh */
float dequant(uint b, uint j)
{
  uint n = j >> 7, r = j & 127u, quarter = r >> 5, l = r & 31u;
  uint lo = (rd8(b + 64u * n + l + (quarter & 1u) * 32u) >> ((quarter >> 1) * 4u)) & 15u;
  uint hi = (rd8(b + 128u + 32u * n + l) >> (2u * quarter)) & 3u;
  int q = int(lo | (hi << 4)) - 32;
  int sc = rds8(b + 192u + 8u * n + (l >> 4) + 2u * quarter);
  return rdhalf(b + 208u) * float(sc) * float(q);
}

#elif defined(TYPE_IQ4_XS)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 136u
const float iq4_values[16] = float[16](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
                                       1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);
/* 8 sub-blocks of 32; 6-bit scale = 4 low bits from scales_l, 2 high from scales_h */
float dequant(uint b, uint j)
{
  uint ib = j >> 5, l = j & 31u;
  uint ls = ((rd8(b + 4u + (ib >> 1)) >> (4u * (ib & 1u))) & 15u) | (((rd16(b + 2u) >> (2u * ib)) & 3u) << 4);
  uint q = (rd8(b + 8u + 16u * ib + (l & 15u)) >> (4u * (l >> 4))) & 15u;
  return rdhalf(b) * (float(ls) - 32.0) * iq4_values[q];
}

#elif defined(TYPE_Q2_K)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 84u
/* scales[16] (4-bit scale | 4-bit min) at 0, qs[64] at 16, d at 80, dmin at 82;
 * each half of 128 takes 2 bits of qs[32] four times (shift 0, 2, 4, 6) */
float dequant(uint b, uint j)
{
  uint n = j >> 7, r = j & 127u, jj = r >> 5, l = r & 31u;
  uint sc = rd8(b + 8u * n + 2u * jj + (l >> 4));
  uint q = (rd8(b + 16u + 32u * n + l) >> (2u * jj)) & 3u;
  return rdhalf(b + 80u) * float(sc & 15u) * float(q) - rdhalf(b + 82u) * float(sc >> 4);
}

#elif defined(TYPE_Q3_K)
#define BLOCK_SIZE 256u
#define BLOCK_BYTES 110u
/* hmask[32] at 0, qs[64] at 32, 16 6-bit scales packed in 12 bytes at 96, d at 108;
 * 2 low bits from qs as in Q2_K, the third from hmask (clear bit: minus 4) */
float dequant(uint b, uint j)
{
  uint n = j >> 7, r = j & 127u, jj = r >> 5, l = r & 31u;
  uint k = 8u * n + 2u * jj + (l >> 4);
  uint lo = k < 8u ? rd8(b + 96u + k) & 15u : rd8(b + 96u + k - 8u) >> 4;
  uint hi = (rd8(b + 96u + 8u + (k & 3u)) >> (2u * (k >> 2))) & 3u;
  int sc = int(lo | (hi << 4)) - 32;
  int q = int((rd8(b + 32u + 32u * n + l) >> (2u * jj)) & 3u);
  if ((rd8(b + l) & (1u << (4u * n + jj))) == 0u) q -= 4;
  return rdhalf(b + 108u) * float(sc) * float(q);
}

#else
#error "no weight type defined"
#endif
