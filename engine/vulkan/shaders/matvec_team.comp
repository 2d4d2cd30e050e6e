#version 450
/* matvec_team.comp — y = W·x for the weight types of the common GGUF
 * mixtures (F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), written for real GPUs:
 * decode is memory-bound, so every load should be a whole 32-bit word that
 * neighbouring threads read side by side, and every scale should be decoded
 * once per 8 or more values (matvec.comp decodes one value per call, which
 * is fine on lavapipe and 20× too slow on an H200).
 *
 * A team of 32 threads computes one row; a workgroup holds WG_SIZE / 32
 * teams (one row each, consecutive rows). Each pass of the team's loop
 * covers 256 values of the row: one K-quant block, eight Q8_0/Q4_0 blocks
 * or 256 F16 values; each thread takes 8 of them. z indexes groups of up to
 * NV input vectors (a short prompt shares the weight reads).
 * The team's partial sums meet in shared memory, so the shader makes no
 * assumption about how the device cuts the workgroup into subgroups (8 on
 * lavapipe, 32 on NVIDIA, 64 on older AMD).
 * Same push constants and bindings as matvec.comp; vk-ops.c chooses this
 * shader when the row layout allows it (see still_vk_matvec). */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
/* the same activations as vec4: four floats per load when the offsets allow */
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

#include "words.glsl"

layout(push_constant) uniform Params {
  uint ncols;      /* values per row */
  uint nrows;
  uint w_off;      /* byte offset of row 0 (multiple of 4) */
  uint row_bytes;  /* bytes per row */
  uint x_off;      /* float offset of vector 0 */
  uint x_stride;   /* floats between vectors */
  uint y_off;
  uint y_stride;
  uint n_vec;
} p;

#define NV 4u
#define TEAM 32u
const uint ROWS = WG_SIZE >= TEAM ? WG_SIZE / TEAM : 1u;

shared float red[NV * WG_SIZE];

float acc[NV];
uint nv, xb;
bool xv4; /* x_off and x_stride are multiples of 4: vec4 loads */

/* acc[k] += dot(a, x[xi .. xi+3]) + dot(b, x[xi2 .. xi2+3]) for each vector,
 * with the weights already dequantized: the inner step of every type.
 * xi and xi2 are multiples of 4. */
void dot8(const vec4 a, uint xi, const vec4 b, uint xi2)
{
  for (uint k = 0u; k < NV; k++) {
    if (k >= nv) break;
    const uint o = xb + k * p.x_stride;
    if (xv4) {
      acc[k] += dot(a, x4[(o + xi) >> 2]) + dot(b, x4[(o + xi2) >> 2]);
    } else {
      acc[k] += a.x * x[o + xi] + a.y * x[o + xi + 1u] + a.z * x[o + xi + 2u] + a.w * x[o + xi + 3u] +
                b.x * x[o + xi2] + b.y * x[o + xi2 + 1u] + b.z * x[o + xi2 + 2u] + b.w * x[o + xi2 + 3u];
    }
  }
}

/* This thread's 8 values of pass `it` of a row whose first byte is rb. */
void pass(uint rb, uint it, uint lane)
{
#if defined(TYPE_F16)
  /* 256 values per pass; rows start on a word (even ncols, checked on the host) */
  const uint v0 = it * 256u + lane * 8u;
  if (v0 >= p.ncols) return;
  const uint wi = (rb >> 2) + (v0 >> 1);
  if (v0 + 8u <= p.ncols) {
    const vec2 a = unpackHalf2x16(w[wi]), b = unpackHalf2x16(w[wi + 1u]);
    const vec2 c = unpackHalf2x16(w[wi + 2u]), d = unpackHalf2x16(w[wi + 3u]);
    dot8(vec4(a, b), v0, vec4(c, d), v0 + 4u);
  } else {
    for (uint v = v0; v < p.ncols; v += 2u) {
      const vec2 h = unpackHalf2x16(w[(rb >> 2) + (v >> 1)]);
      for (uint k = 0u; k < nv; k++) acc[k] += h.x * x[xb + k * p.x_stride + v] + h.y * x[xb + k * p.x_stride + v + 1u];
    }
  }
#elif defined(TYPE_Q8_0)
  /* 8 blocks of 32 per pass, 4 threads per block, 8 values each */
  const uint blk = it * 8u + lane / 4u, part = lane % 4u;
  if (blk * 32u >= p.ncols) return;
  const uint b = rb + blk * 34u;
  const float d = rdhalf(b);
  const uint q = b + 2u + part * 8u;
  const uint v = blk * 32u + part * 8u;
  dot8(bytes_s8(rd32h(q)) * d, v, bytes_s8(rd32h(q + 4u)) * d, v + 4u);
#elif defined(TYPE_Q4_0)
  /* 8 blocks of 32 per pass; a thread takes 4 bytes: values 4t..4t+3 and 16+4t.. */
  const uint blk = it * 8u + lane / 4u, part = lane % 4u;
  if (blk * 32u >= p.ncols) return;
  const uint b = rb + blk * 18u;
  const float d = rdhalf(b);
  const uint q = rd32h(b + 2u + part * 4u);
  const uint v = blk * 32u + part * 4u;
  dot8((nibbles_lo(q) - 8.0) * d, v, (nibbles_hi(q) - 8.0) * d, v + 16u);
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  /* one 256-value block per pass (Q4_K 144 bytes, Q5_K 176: word aligned);
   * a thread takes one word of nibbles of chunk lane / 8 (words.glsl) */
  if (it * 256u >= p.ncols) return;
#if defined(TYPE_Q4_K)
  const uint bw = (rb >> 2) + it * 36u;
#else
  const uint bw = (rb >> 2) + it * 44u;
#endif
  const uint c = lane / 8u;
  vec4 a, b;
  kquant_chunk(bw, c, lane % 8u, a, b);
  const uint v = it * 256u + c * 64u + (lane % 8u) * 4u;
  dot8(a, v, b, v + 32u);
#elif defined(TYPE_Q6_K)
  /* 210 bytes (2-byte aligned); a thread takes four neighbouring l of half
   * lane / 16, low or high nibbles (words.glsl, q6k_quad) */
  if (it * 256u >= p.ncols) return;
  const uint n = lane / 16u, up = (lane / 8u) % 2u, l4 = (lane % 8u) * 4u;
  vec4 a, b;
  q6k_quad(rb + it * 210u, n, up, l4, a, b);
  const uint v = it * 256u + 128u * n + 64u * up + l4;
  dot8(a, v, b, v + 32u);
#else
#error matvec_team.comp: no TYPE_ given
#endif
}

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint team = tid / TEAM, lane = tid % TEAM;
  const uint row = group_row() * ROWS + team;
  const uint v0 = gl_WorkGroupID.z * NV;
  nv = min(NV, p.n_vec - v0);
  xb = p.x_off + v0 * p.x_stride;
  xv4 = (p.x_off % 4u) == 0u && (p.x_stride % 4u) == 0u;
  for (uint k = 0u; k < NV; k++) acc[k] = 0.0;
  if (row < p.nrows && team < ROWS) {
    const uint rb = p.w_off + row * p.row_bytes;
    const uint passes = (p.ncols + 255u) / 256u;
    for (uint it = 0u; it < passes; it++) pass(rb, it, lane);
  }
  /* the team's 32 partial sums: 4 per thread of the first 8, then one */
  for (uint k = 0u; k < NV; k++) red[k * WG_SIZE + tid] = acc[k];
  barrier();
  if (lane < 8u && team < ROWS)
    for (uint k = 0u; k < NV; k++) {
      const uint o = k * WG_SIZE + tid;
      red[o] = red[o] + red[o + 8u] + red[o + 16u] + red[o + 24u];
    }
  barrier();
  if (lane == 0u && team < ROWS && row < p.nrows)
    for (uint k = 0u; k < nv; k++) {
      const uint o = k * WG_SIZE + tid;
      y[p.y_off + (v0 + k) * p.y_stride + row] =
        red[o] + red[o + 1u] + red[o + 2u] + red[o + 3u] + red[o + 4u] + red[o + 5u] + red[o + 6u] + red[o + 7u];
    }
}
