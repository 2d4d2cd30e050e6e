#version 450
/* rms_norm.comp — y = x / sqrt(mean(x²) + eps) * g, one workgroup per row.
 * g may be absent (has_weight = 0). In place (y = x) is fine: each thread
 * writes only what it read. */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint n;       /* values per row */
  uint nrows;
  uint x_off, x_stride;
  uint g_off, has_weight;
  uint y_off, y_stride;
  float eps;
} p;

void main()
{
  const uint row = group_row();
  if (row >= p.nrows) return;
  const uint xb = p.x_off + row * p.x_stride, yb = p.y_off + row * p.y_stride;
  /* four independent loads per step: on a GPU each load waits the whole
   * memory latency, and a plain loop would wait n / WG_SIZE of them in turn */
  float s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
  uint i = gl_LocalInvocationID.x;
  for (; i + 3u * WG_SIZE < p.n; i += 4u * WG_SIZE) {
    const float a = x[xb + i], b = x[xb + i + WG_SIZE], c = x[xb + i + 2u * WG_SIZE], d = x[xb + i + 3u * WG_SIZE];
    s0 += a * a, s1 += b * b, s2 += c * c, s3 += d * d;
  }
  for (; i < p.n; i += WG_SIZE) s0 += x[xb + i] * x[xb + i];
  float ss = wg_sum((s0 + s1) + (s2 + s3));
  const float scale = inversesqrt(ss / float(p.n) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.n; i += WG_SIZE) {
    float v = x[xb + i] * scale;
    y[yb + i] = p.has_weight != 0u ? v * g[p.g_off + i] : v;
  }
}
