#version 450
/* quantize_q8.comp — rows of activations rounded to 8 bits for
 * matvec_dot.comp (act8.glsl: the rounding and the layout), one thread per
 * block of 32 values. For the inputs of products that no op before them
 * rounds on its way out (the attention output, the SwiGLU output): the
 * product then reads the rounded vector instead of every workgroup rounding
 * the whole vector again. Row r goes to word q_off + r · q_stride; x and q
 * may be regions of one buffer that do not overlap. */
#include "common.glsl"
#include "act8.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Q { uint q[]; };
layout(std430, binding = 1) writeonly buffer QD { vec2 qd[]; };

layout(push_constant) uniform Params {
  uint n;        /* values per row, a multiple of 32 */
  uint nrows;
  uint x_off;    /* floats */
  uint x_stride;
  uint q_off;    /* words, multiples of 4 */
  uint q_stride;
} p;

void main()
{
  const uint row = gl_WorkGroupID.y, b = gl_WorkGroupID.x * WG_SIZE + gl_LocalInvocationID.x;
  if (row >= p.nrows || b >= p.n / 32u) return;
  const uint xo = p.x_off + row * p.x_stride + 32u * b;
  const bool v4 = (xo % 4u) == 0u;
  vec4 v[8];
  for (uint i = 0u; i < 8u; i++) {
    const uint o = xo + 4u * i;
    v[i] = v4 ? x4[o >> 2] : vec4(x[o], x[o + 1u], x[o + 2u], x[o + 3u]);
  }
  uint w[8];
  const vec2 ds = act8_block(v, w);
  const uint qb = p.q_off + row * p.q_stride;
  for (uint i = 0u; i < 8u; i++) q[qb + 8u * b + i] = w[i];
  qd[(qb + p.n / 4u) / 2u + b] = ds;
}
