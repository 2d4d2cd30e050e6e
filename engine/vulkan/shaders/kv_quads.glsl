/* kv_quads.glsl — the KV cache as the prompt attentions read it
 * (attention_tile.comp, attention_coop.comp): K at binding 1, V at binding 2,
 * laid out [pos][n_head_kv][head_dim]; kquad(e) / vquad(e) give elements
 * e … e + 3 (e a multiple of 4) as floats. F32 (the default), F16
 * (-DKV_F16: e and the layer's offset multiples of 4) or Q8_0 (-DKV_Q8_0:
 * rows of whole 34-byte blocks, read as words). */
#if defined(KV_Q8_0)
/* 34-byte blocks (fp16 scale, 32 int8 codes) read as words, as attention.comp */
layout(std430, binding = 1) readonly buffer K { uint kc[]; };
layout(std430, binding = 2) readonly buffer V { uint vc[]; };
#define Q8_SCALE(buf, blk) unpackHalf2x16(((blk) & 1u) != 0u ? buf[((blk) * 34u) >> 2] >> 16 : buf[((blk) * 34u) >> 2]).x
/* four codes at an even byte offset */
#define Q8_WORD(buf, off) (((off) & 2u) != 0u ? (buf[(off) >> 2] >> 16) | (buf[((off) >> 2) + 1u] << 16) : buf[(off) >> 2])
/* elements e … e + 3 (e a multiple of 4): inside one block */
vec4 q8_codes(uint w) { return vec4(ivec4(w << 24, w << 16, w << 8, w) >> 24); }
vec4 kquad(uint e)
{
  const uint blk = e >> 5, off = blk * 34u + 2u + (e & 31u);
  return Q8_SCALE(kc, blk) * q8_codes(Q8_WORD(kc, off));
}
vec4 vquad(uint e)
{
  const uint blk = e >> 5, off = blk * 34u + 2u + (e & 31u);
  return Q8_SCALE(vc, blk) * q8_codes(Q8_WORD(vc, off));
}
#elif defined(KV_F16)
layout(std430, binding = 1) readonly buffer K { uvec2 k2[]; }; /* 4 halves */
layout(std430, binding = 2) readonly buffer V { uvec2 v2[]; };
vec4 kquad(uint e) { const uvec2 w = k2[e >> 2]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
vec4 vquad(uint e) { const uvec2 w = v2[e >> 2]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
#else
layout(std430, binding = 1) readonly buffer K { vec4 k4[]; };
layout(std430, binding = 2) readonly buffer V { vec4 v4[]; };
vec4 kquad(uint e) { return k4[e >> 2]; }
vec4 vquad(uint e) { return v4[e >> 2]; }
#endif
