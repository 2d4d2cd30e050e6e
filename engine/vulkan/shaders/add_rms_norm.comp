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
 * overlap x or r.
 *
 * -DROUND8 (with VEC4): y is also rounded to 8 bits for matvec_dot.comp
 * (act8.glsl's layout, row r from word q_off + r · q_stride of y's buffer),
 * so that the products after the norm need not round it themselves. The 8
 * threads of each block of 32 values meet in shared memory for its largest
 * magnitude and its sum. */
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
  uint q_off, q_stride; /* ROUND8: words */
} p;

#ifdef ROUND8
#include "act8.glsl"
layout(std430, binding = 3) writeonly buffer YQ { uint yq[]; };
layout(std430, binding = 3) writeonly buffer YD { vec2 yd[]; };
shared float r8_max[WG_SIZE];
shared int r8_sum[WG_SIZE];

/* Round the row's vec4 i (o: zero past the row's end) into the rounded row
 * from word qb. Every thread of the workgroup calls it at the same point
 * (barriers); threads 8c … 8c + 7 hold block c's 32 values (WG_SIZE is a
 * multiple of 8 and i = thread + a multiple of WG_SIZE). */
void round_out(vec4 o, uint i, uint qb)
{
  const uint t = gl_LocalInvocationID.x, c = t & ~7u;
  r8_max[t] = act8_amax(o);
  barrier();
  float amax = 0.0;
  for (uint j = 0u; j < 8u; j++) amax = max(amax, r8_max[c + j]);
  int s = 0;
  const uint word = act8_pack(o, act8_inv(amax), s);
  r8_sum[t] = s;
  barrier(); /* (also orders this call's reads of r8_max before the next call's writes) */
  if (i < p.n) {
    yq[qb + i] = word;
    if (t == c) {
      int sum = 0;
      for (uint j = 0u; j < 8u; j++) sum += r8_sum[c + j];
      const float d = act8_scale(amax);
      yd[(qb + p.n) / 2u + i / 8u] = vec2(d, d * float(sum));
    }
  }
}
#endif

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
#ifdef ROUND8
  const uint qb = p.q_off + row * p.q_stride;
#endif
  [[unroll]] for (uint k = 0u; k < K; k++) {
    const uint i = t + k * WG_SIZE;
    T o = T(0.0);
    if (i < p.n) {
      if (add) x[xb + i] = v[k];
      o = v[k] * scale;
      if (weight) o *= w[k];
      y[yb + i] = o;
    }
#ifdef ROUND8
    if (k * WG_SIZE < p.n) round_out(o, i, qb); /* the same for the whole workgroup */
#endif
  }
  /* (a loop the whole workgroup runs the same number of times: round_out's barriers) */
  for (uint base = K * WG_SIZE; base < p.n; base += WG_SIZE) {
    const uint i = base + t;
    T o = T(0.0);
    if (i < p.n) {
      o = x[xb + i] * scale;
      if (weight) o *= g[p.g_off + i];
      y[yb + i] = o;
    }
#ifdef ROUND8
    round_out(o, i, qb);
#endif
  }
}
