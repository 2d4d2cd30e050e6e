#version 450
/* kv_store_f16.comp — convert n floats (n even) to F16 pairs into a cache
 * buffer of packed halves: y word i = (a[2i], a[2i+1]). */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) writeonly buffer Y { uint y[]; };

layout(push_constant) uniform Params {
  uint n_pairs;
  uint a_off; /* floats */
  uint y_off; /* words (= halves / 2) */
} p;

void main()
{
  const uint i = group_row() * WG_SIZE + gl_LocalInvocationID.x;
  if (i >= p.n_pairs) return;
  y[p.y_off + i] = packHalf2x16(vec2(a[p.a_off + 2u * i], a[p.a_off + 2u * i + 1u]));
}
