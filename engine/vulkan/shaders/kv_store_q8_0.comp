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
 * The rounding, bit for bit the CPU's, is q8_round.glsl's. */
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

#include "q8_round.glsl"

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
  uint dh;
  float id;
  q8_block_params(amax, dh, id);
  put_byte(base, dh);
  put_byte(base + 1u, dh >> 8);
  for (uint j = 0u; j < 32u; j++) put_byte(base + 2u + j, q8_code(a[src + j], id));
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
