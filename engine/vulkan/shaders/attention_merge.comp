#version 450
/* attention_merge.comp — the second half of attention_split.comp: for each
 * (token, query head) the chunks' partial results (max m_c, weight sum l_c,
 * output a_c = Σ exp(s - m_c)·V) combine into
 *   o = Σ_c exp(m_c - M)·a_c / Σ_c exp(m_c - M)·l_c,   M = max_c m_c.
 * One workgroup per (token, head); threads take output dims. Every chunk the
 * token sees holds at least one key, so every m_c is finite. */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer O { float o[]; };

layout(push_constant) uniform Params {
  uint n_tok, n_head, head_dim_v, pos0, n_chunks, chunk; /* chunk: keys per chunk */
  uint o_off, o_stride;
} p;

void main()
{
  const uint item = group_row();
  if (item >= p.n_tok * p.n_head) return;
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
    o[p.o_off + t * p.o_stride + h * p.head_dim_v + d] = a / l;
  }
}
