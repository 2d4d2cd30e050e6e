/* act8.glsl — activations rounded to 8 bits for matvec_dot.comp's integer
 * dot products, per block of 32 values: scale d = max|x| / 127, codes
 * round-half-even(x · 127 / max|x|) clamped to ±127, and d · Σcodes (the
 * K-quants' minimum term), as llama.cpp's q8_1 keeps them. Every producer
 * (matvec_dot.comp itself, quantize_q8.comp, add_rms_norm.comp, the
 * attention's merge) rounds with these functions, so a vector comes out the
 * same whoever rounds it; act8_block where one thread rounds a whole block.
 *
 * A rounded vector of n values (n a multiple of 32) kept in a buffer, from
 * word q (a multiple of 4): n / 4 words of four codes (value 4i + j in byte
 * j of word i), then the n / 32 pairs (d, d · Σcodes) as vec2, from word
 * q + n / 4. */

/* the multiplier of a block whose largest magnitude is amax */
float act8_inv(float amax) { return amax > 0.0 ? 127.0 / amax : 0.0; }

/* the block's scale */
float act8_scale(float amax) { return amax / 127.0; }

/* four values as four codes in one word; their sum is added to s */
uint act8_pack(vec4 v, float id, inout int s)
{
  const ivec4 q = ivec4(clamp(roundEven(v * id), -127.0, 127.0));
  s += q.x + q.y + q.z + q.w;
  return uint(q.x & 255) | (uint(q.y & 255) << 8) | (uint(q.z & 255) << 16) | (uint(q.w & 255) << 24);
}

float act8_amax(vec4 v)
{
  const vec4 a = abs(v);
  return max(max(a.x, a.y), max(a.z, a.w));
}

/* One block of 32 values (v: 8 × 4, in order) rounded by one thread: its 8 words of codes into
 * w, and (d, d · Σcodes) returned. */
vec2 act8_block(in vec4 v[8], out uint w[8])
{
  float amax = 0.0;
  for (uint i = 0u; i < 8u; i++) amax = max(amax, act8_amax(v[i]));
  const float id = act8_inv(amax);
  int s = 0;
  for (uint i = 0u; i < 8u; i++) w[i] = act8_pack(v[i], id, s);
  const float d = act8_scale(amax);
  return vec2(d, d * float(s));
}
