#version 450
/* binary.comp — element-wise ops on n floats, chosen by -DOP_xxx:
 * ADD y = a + b, MUL y = a * b, SWIGLU y = silu(a) * b (a = gate, b = up),
 * COPY y = a (b unused).
 * b may be broadcast (b_mod > 0: b index = i % b_mod, for bias vectors). */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint n;
  uint a_off, b_off, y_off;
  uint b_mod;
} p;

void main()
{
  const uint i = group_row() * WG_SIZE + gl_LocalInvocationID.x;
  if (i >= p.n) return;
  const float va = a[p.a_off + i];
  const float vb = b[p.b_off + (p.b_mod != 0u ? i % p.b_mod : i)];
#if defined(OP_ADD)
  y[p.y_off + i] = va + vb;
#elif defined(OP_MUL)
  y[p.y_off + i] = va * vb;
#elif defined(OP_COPY)
  y[p.y_off + i] = va;
#elif defined(OP_SWIGLU)
  y[p.y_off + i] = va / (1.0 + exp(-va)) * vb;
#else
#error "no op"
#endif
}
