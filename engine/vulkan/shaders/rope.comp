#version 450
/* rope.comp — rotate the first n_rot dims of every head of n_tok tokens, in
 * place. cos/sin come from tables computed on the CPU in double
 * ([n_tok][n_rot/2], with rope_freqs factors, YaRN and its magnitude already
 * in them), so large positions lose no precision in float.
 * neox: pairs (i, i + n_rot/2); normal: pairs (2i, 2i + 1).
 * One workgroup per (token, head); threads over the pairs. */
#include "common.glsl"

layout(std430, binding = 0) buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer CS { float cs[]; }; /* [n_tok][half] cos, then [n_tok][half] sin */

layout(push_constant) uniform Params {
  uint n_heads, head_dim, n_rot, neox;
  uint x_off, x_stride; /* floats between tokens */
  uint cs_off, sin_off; /* sin table = cs_off + sin_off */
  uint n_tok;
} p;

void main()
{
  const uint item = group_row();
  if (item >= p.n_tok * p.n_heads) return;
  const uint t = item / p.n_heads, h = item % p.n_heads;
  const uint half_rot = p.n_rot / 2u;
  const uint base = p.x_off + t * p.x_stride + h * p.head_dim;
  for (uint i = gl_LocalInvocationID.x; i < half_rot; i += WG_SIZE) {
    const uint a = p.neox != 0u ? i : 2u * i;
    const uint b = p.neox != 0u ? i + half_rot : 2u * i + 1u;
    const float c = cs[p.cs_off + t * half_rot + i], s = cs[p.cs_off + p.sin_off + t * half_rot + i];
    const float x0 = x[base + a], x1 = x[base + b];
    x[base + a] = x0 * c - x1 * s;
    x[base + b] = x0 * s + x1 * c;
  }
}
