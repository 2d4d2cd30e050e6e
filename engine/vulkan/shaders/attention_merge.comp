#version 450
/* attention_merge.comp — the second half of attention_split.comp: for each
 * (token, query head) the chunks' partial results (max m_c, weight sum l_c,
 * output a_c = Σ exp(s - m_c)·V) combine into
 *   o = Σ_c exp(m_c - M)·a_c / Σ_c exp(m_c - M)·l_c,   M = max_c m_c.
 * One workgroup per (token, head); threads take output dims. Every chunk the
 * token sees holds at least one key, so every m_c is finite.
 *
 * -DROUND8: the head's output is also rounded to 8 bits for the product
 * after attention (act8.glsl's rounding and layout; the token's row of
 * n_head · head_dim_v values from word q_off + t · q_stride of o's buffer),
 * so that it needs no dispatch of its own. head_dim_v is a multiple of 32:
 * a head holds whole blocks, one thread rounds each. */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer O { float o[]; };

layout(push_constant) uniform Params {
  uint n_tok, n_head, head_dim_v, pos0, n_chunks, chunk; /* chunk: keys per chunk */
  uint o_off, o_stride;
  uint q_off, q_stride; /* ROUND8: words */
} p;

#ifdef ROUND8
#include "act8.glsl"
layout(std430, binding = 1) writeonly buffer OQ { uint oq[]; };
layout(std430, binding = 1) writeonly buffer OD { vec2 od[]; };
shared float head_out[256]; /* head_dim_v <= 256 */
#endif

void main()
{
  const uint item = group_row();
  if (item >= p.n_tok * p.n_head) return; /* the whole workgroup */
  const uint t = item / p.n_head, h = item % p.n_head;
  const uint n_c = (p.pos0 + t + p.chunk) / p.chunk; /* chunks holding keys 0 … pos0 + t */
  const uint ps = 2u + p.head_dim_v, base = (t * p.n_head + h) * p.n_chunks * ps;
  float mx = -1.0 / 0.0;
  for (uint c = 0u; c < n_c; c++) mx = max(mx, part[base + c * ps]);
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim_v; d += WG_SIZE) {
    float a = 0.0, l = 0.0;
    for (uint c = 0u; c < n_c; c++) {
      const float w = exp(part[base + c * ps] - mx);
      a += w * part[base + c * ps + 2u + d];
      l += w * part[base + c * ps + 1u];
    }
    const float v = a / l;
    o[p.o_off + t * p.o_stride + h * p.head_dim_v + d] = v;
#ifdef ROUND8
    head_out[d] = v;
#endif
  }
#ifdef ROUND8
  barrier();
  const uint b = gl_LocalInvocationID.x;
  if (b < p.head_dim_v / 32u) {
    vec4 v[8];
    for (uint i = 0u; i < 8u; i++) {
      const uint d = 32u * b + 4u * i;
      v[i] = vec4(head_out[d], head_out[d + 1u], head_out[d + 2u], head_out[d + 3u]);
    }
    uint w[8];
    const vec2 ds = act8_block(v, w);
    const uint n = p.n_head * p.head_dim_v, qb = p.q_off + t * p.q_stride, blk = h * (p.head_dim_v / 32u) + b;
    for (uint i = 0u; i < 8u; i++) oq[qb + 8u * blk + i] = w[i];
    od[(qb + n / 4u) / 2u + blk] = ds;
  }
#endif
}
