#version 450
/* add_rms_norm.comp — the residual add fused with the RMSNorm after it, one
 * workgroup per row:
 *   x = x + r            (written back; flag 1, else x is only read)
 *   y = x / sqrt(mean(x²) + eps) * g   (g: flag 2, else no weight)
 * -DVEC4: offsets, strides and n in vec4 units (the host picks it when all
 * of them are multiples of 4 floats), else in floats.
 *
 * Decode runs one row: the kernel is a chain of memory latencies, so every
 * load of the first K × WG_SIZE values (x, r and g) is issued before any is
 * used and the values stay in registers across the reduction (subgroupAdd,
 * then one shared-memory step); a row wider than that (more than 8192
 * floats with 256 threads and vec4) is finished by a plain loop. y must not
 * overlap x or r. */
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

#ifdef VEC4
#define T vec4
#define LANES 4u
#else
#define T float
#define LANES 1u
#endif

layout(std430, binding = 0) buffer X { T x[]; };
layout(std430, binding = 1) readonly buffer R { T r[]; };
layout(std430, binding = 2) readonly buffer G { T g[]; };
layout(std430, binding = 3) writeonly buffer Y { T y[]; };

layout(push_constant) uniform Params {
  uint n;      /* values per row (T units) */
  uint nrows;
  uint x_off, x_stride, r_off, r_stride, g_off, y_off, y_stride;
  uint flags;  /* 1: add r, 2: multiply by g */
  float eps;
} p;

/* values per thread held in registers */
#define K 8u

void main()
{
  const uint row = group_row();
  if (row >= p.nrows) return; /* the whole workgroup: no thread is left at a barrier */
  const uint xb = p.x_off + row * p.x_stride, rb = p.r_off + row * p.r_stride, yb = p.y_off + row * p.y_stride;
  const bool add = (p.flags & 1u) != 0u, weight = (p.flags & 2u) != 0u;
  const uint t = gl_LocalInvocationID.x;

  T v[K], rv[K], w[K];
  [[unroll]] for (uint k = 0u; k < K; k++) {
    const uint i = t + k * WG_SIZE;
    v[k] = i < p.n ? x[xb + i] : T(0.0);
  }
  if (add) {
    [[unroll]] for (uint k = 0u; k < K; k++) {
      const uint i = t + k * WG_SIZE;
      rv[k] = i < p.n ? r[rb + i] : T(0.0);
    }
  }
  if (weight) {
    [[unroll]] for (uint k = 0u; k < K; k++) {
      const uint i = t + k * WG_SIZE;
      w[k] = i < p.n ? g[p.g_off + i] : T(0.0);
    }
  }
  float ss = 0.0;
  [[unroll]] for (uint k = 0u; k < K; k++) {
    if (add) v[k] += rv[k];
    ss += dot(v[k], v[k]); /* zero past the row's end */
  }
  /* a wide row: the rest, written back now and read again below (a
   * thread reads only what it wrote itself) */
  for (uint i = t + K * WG_SIZE; i < p.n; i += WG_SIZE) {
    T a = x[xb + i];
    if (add) {
      a += r[rb + i];
      x[xb + i] = a;
    }
    ss += dot(a, a);
  }
  ss = wg_sum(ss);
  const float scale = inversesqrt(ss / float(p.n * LANES) + p.eps);
  [[unroll]] for (uint k = 0u; k < K; k++) {
    const uint i = t + k * WG_SIZE;
    if (i < p.n) {
      if (add) x[xb + i] = v[k];
      const T o = v[k] * scale;
      y[yb + i] = weight ? o * w[k] : o;
    }
  }
  for (uint i = t + K * WG_SIZE; i < p.n; i += WG_SIZE) {
    const T o = x[xb + i] * scale;
    y[yb + i] = weight ? o * g[p.g_off + i] : o;
  }
}
