#version 450
/* matmul_team.comp — Y = W·X for a batch of vectors (prefill), for the
 * types of matvec_team.comp (F16 and every block type; items.glsl).
 *
 * The tiling is matmul.comp's (64 rows × 32 vectors per workgroup, 64
 * threads computing 4 rows × 8 vectors each) with steps of 64 values along
 * the row. What differs is how the weight tile is filled: matmul.comp
 * decodes one value per call, re-reading its block's scales and picking
 * its byte out of a word each time; here a thread takes a whole word of
 * quants (or two halves) and writes 8 values, decoding the scales once.
 * A step of 64 values is a quarter of a block of 256 (the K-quants,
 * IQ4_XS), two blocks of 32 or 64 F16 values: 8 items of 8 values per row.
 * Shared memory: 64 × 65 + 64 × 33 floats = 24.5 KiB. */
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

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

#define TILE_M 64u
#define TILE_N 32u
#define TILE_K 64u
#define TM 4u
#define TN 8u

#include "words.glsl"

shared float ws[TILE_K * (TILE_M + 1u)];
shared float xs[TILE_K * (TILE_N + 1u)];

#include "items.glsl"

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * TILE_M;
  const uint vec0 = gl_WorkGroupID.y * TILE_N;
  const uint tr = tid % 16u, tc = tid / 16u;
  const bool computes = tid < 64u;

  float acc[TM * TN];
  for (uint i = 0u; i < TM * TN; i++) acc[i] = 0.0;

  for (uint k0 = 0u; k0 < p.ncols; k0 += TILE_K) {
    for (uint i = tid; i < TILE_M * 8u; i += WG_SIZE) {
      const uint r = i / 8u, part = i % 8u, row = row0 + r;
      vec4 a = vec4(0.0), b = vec4(0.0);
      uint ka = part * 8u, kb = ka + 4u;
      if (row < p.nrows) item(p.w_off + row * p.row_bytes, k0, part, a, b, ka, kb);
      for (uint j = 0u; j < 4u; j++) {
        ws[(ka + j) * (TILE_M + 1u) + r] = a[j];
        ws[(kb + j) * (TILE_M + 1u) + r] = b[j];
      }
    }
    for (uint i = tid; i < TILE_N * TILE_K; i += WG_SIZE) {
      const uint c = i / TILE_K, kk = i % TILE_K;
      const uint vec = vec0 + c, k = k0 + kk;
      float v = 0.0;
      if (vec < p.n_vec && k < p.ncols) v = x[p.x_off + vec * p.x_stride + k];
      xs[kk * (TILE_N + 1u) + c] = v;
    }
    barrier();
    if (computes) {
      for (uint kk = 0u; kk < TILE_K; kk++) {
        float av[TM], bv[TN];
        for (uint i = 0u; i < TM; i++) av[i] = ws[kk * (TILE_M + 1u) + tr + 16u * i];
        for (uint j = 0u; j < TN; j++) bv[j] = xs[kk * (TILE_N + 1u) + tc + 4u * j];
        for (uint i = 0u; i < TM; i++)
          for (uint j = 0u; j < TN; j++) acc[i * TN + j] += av[i] * bv[j];
      }
    }
    barrier();
  }

  if (!computes) return;
  for (uint i = 0u; i < TM; i++) {
    const uint row = row0 + tr + 16u * i;
    if (row >= p.nrows) continue;
    for (uint j = 0u; j < TN; j++) {
      const uint vec = vec0 + tc + 4u * j;
      if (vec < p.n_vec) y[p.y_off + vec * p.y_stride + row] = acc[i * TN + j];
    }
  }
}
