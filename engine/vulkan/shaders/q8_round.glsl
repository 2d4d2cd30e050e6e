/* q8_round.glsl — the Q8_0 quantizer's rounding, exactly as the CPU does it
 * (engine/quants/legacy.c): d = fp16(amax / 127), id = 127 / amax, codes
 * round-half-even(x · id) clamped to ±127. Vulkan allows 2.5 ULP for a
 * division and leaves the rounding of packHalf2x16 open, so both are done
 * exactly here (a candidate quotient checked with an exact product, an
 * integer fp16 rounding). Multiplication is correctly rounded in Vulkan;
 * `precise` keeps the compiler from fusing the products of the checks.
 * Used by kv_store_q8_0.comp and rope_store.comp. */

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

/* The fp16 bits of block scale d and the multiplier id for a block whose
 * largest magnitude is amax (0 for an all-zero block; inf kept as inf). */
void q8_block_params(float amax, out uint dh, out float id)
{
  const bool ok = amax != 0.0 && !isinf(amax);
  dh = ok ? f32_to_f16(div_rn(amax, 127.0)) : (isinf(amax) ? f32_to_f16(amax) : 0u);
  id = ok ? div_rn(127.0, amax) : 0.0;
}

/* The code of value x in a block of multiplier id, as a byte. */
uint q8_code(float x, float id)
{
  precise float v = x * id;
  v = clamp(v, -127.0, 127.0);
  return uint(int(roundEven(v))) & 0xFFu;
}
