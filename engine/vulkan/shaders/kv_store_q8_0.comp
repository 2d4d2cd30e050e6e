#version 450
/* kv_store_q8_0.comp — quantize n_blocks blocks of 32 floats into Q8_0
 * blocks (34 bytes: fp16 scale d, then 32 int8 codes) of a cache buffer,
 * starting at block b0 of the cache: the same bytes as the CPU quantizer
 * (engine/quants/legacy.c): d = fp16(amax / 127), codes
 * round-half-even(x · (127 / amax)) clamped to ±127.
 *
 * The buffer is read and written as 32-bit words, and 34-byte blocks share
 * words, so each invocation owns a pair of blocks (68 bytes = 17 whole
 * words): blocks 2·i and 2·i + 1. A pair half outside [b0, b0 + n_blocks)
 * keeps its old bytes (read back and rewritten: no other invocation of this
 * dispatch touches those words).
 *
 * Bit-identical results need correctly rounded divisions and fp16
 * conversion; Vulkan allows 2.5 ULP for a division and leaves the rounding
 * of packHalf2x16 open, so both are done exactly here (a candidate quotient
 * checked with an exact product, an integer fp16 rounding). Multiplication
 * is correctly rounded in Vulkan; `precise` keeps the compiler from fusing
 * the products of the checks. */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) buffer Y { uint y[]; };

layout(push_constant) uniform Params {
  uint n_blocks;
  uint a_off; /* floats: value 0 of block b0 */
  uint b0;    /* first block of the cache written */
  uint pair0; /* = b0 / 2: the first pair */
  uint n_pairs;
} p;

/* a·b = hi + lo exactly (Dekker's product, with Veltkamp's split). */
void two_prod(float a, float b, out float hi, out float lo)
{
  precise float c = 4097.0 * a;
  precise float ah = c - (c - a);
  precise float al = a - ah;
  precise float d = 4097.0 * b;
  precise float bh = d - (d - b);
  precise float bl = b - bh;
  precise float h = a * b;
  precise float l = ((ah * bh - h) + ah * bl + al * bh) + al * bl;
  hi = h;
  lo = l;
}

/* |n - q·d| for a candidate quotient q (q·d close to n: the subtraction is exact). */
float residual(float n, float d, float q)
{
  float hi, lo;
  two_prod(q, d, hi, lo);
  precise float r = (n - hi) - lo;
  return abs(r);
}

/* n / d rounded to nearest (positive finite n, d; no overflow): the
 * hardware quotient is within a few ULP, so the nearest of its neighbours
 * is the one with the smallest residual. */
float div_rn(float n, float d)
{
  const float q0 = n / d;
  const int b = floatBitsToInt(q0);
  float best = q0, best_r = residual(n, d, q0);
  for (int k = -3; k <= 3; k++) {
    if (k == 0) continue;
    const float q = intBitsToFloat(b + k);
    const float r = residual(n, d, q);
    if (r < best_r) {
      best_r = r;
      best = q;
    }
  }
  return best;
}

/* fp16 bits of f, rounded to nearest even (util.c's still_fp32_to_fp16). */
uint f32_to_f16(float f)
{
  const uint x = floatBitsToUint(f);
  const uint sign = (x >> 16) & 0x8000u;
  const uint ex = (x >> 23) & 0xFFu;
  uint mant = x & 0x7FFFFFu;
  if (ex == 0xFFu) return sign | 0x7C00u | (mant != 0u ? 0x200u | (mant >> 13) : 0u);
  const int e = int(ex) - 127 + 15;
  if (e >= 31) return sign | 0x7C00u;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000u;
    const uint shift = uint(14 - e);
    uint half_ = mant >> shift;
    const uint rem = mant & ((1u << shift) - 1u);
    const uint mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (half_ & 1u) != 0u)) half_++;
    return sign | half_;
  }
  uint half_ = sign | (uint(e) << 10) | (mant >> 13);
  const uint rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (half_ & 1u) != 0u)) half_++;
  return half_;
}

uint w[17]; /* the pair's 68 bytes */

void put_byte(uint pos, uint v)
{
  const uint wi = pos >> 2, sh = (pos & 3u) * 8u;
  w[wi] = (w[wi] & ~(0xFFu << sh)) | ((v & 0xFFu) << sh);
}

/* Quantize block blk (absolute cache block) into bytes [base, base + 34) of w. */
void quantize_block(uint blk, uint base)
{
  const uint src = p.a_off + (blk - p.b0) * 32u;
  float amax = 0.0;
  for (uint j = 0u; j < 32u; j++) amax = max(amax, abs(a[src + j]));
  const bool ok = amax != 0.0 && !isinf(amax);
  const uint dh = ok ? f32_to_f16(div_rn(amax, 127.0)) : (isinf(amax) ? f32_to_f16(amax) : 0u);
  const float id = ok ? div_rn(127.0, amax) : 0.0;
  put_byte(base, dh);
  put_byte(base + 1u, dh >> 8);
  for (uint j = 0u; j < 32u; j++) {
    precise float v = a[src + j] * id;
    v = clamp(v, -127.0, 127.0);
    put_byte(base + 2u + j, uint(int(roundEven(v))));
  }
}

void main()
{
  const uint i = group_row() * WG_SIZE + gl_LocalInvocationID.x;
  if (i >= p.n_pairs) return;
  const uint pair = p.pair0 + i, wbase = pair * 17u;
  const uint blk0 = 2u * pair, blk1 = blk0 + 1u, end = p.b0 + p.n_blocks;
  const bool in0 = blk0 >= p.b0 && blk0 < end, in1 = blk1 >= p.b0 && blk1 < end;
  for (uint k = 0u; k < 17u; k++) w[k] = (in0 && in1) ? 0u : y[wbase + k];
  if (in0) quantize_block(blk0, 0u);
  if (in1) quantize_block(blk1, 34u);
  for (uint k = 0u; k < 17u; k++) y[wbase + k] = w[k];
}
