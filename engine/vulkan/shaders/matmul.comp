#version 450
/* matmul.comp — Y = W·X for a batch of vectors (prefill), one weight type
 * chosen by -DTYPE_xxx (the same dequant.glsl as matvec.comp).
 *
 * Each workgroup computes a tile of TILE_M output rows × TILE_N vectors.
 * The K dimension is walked in steps of TILE_K: every step the workgroup
 * dequantizes a TILE_M × TILE_K slice of the weights and loads a TILE_N ×
 * TILE_K slice of the activations into shared memory, so each weight value
 * is read and dequantized once per TILE_N vectors (matvec.comp: once per 4).
 * 64 threads compute (4 rows × 8 vectors each); a workgroup larger than 64
 * (a device whose subgroup is wider) helps with the loads only.
 * No subgroup operations: any subgroup size works. Shared memory:
 * (TILE_K × (TILE_M + 1) + TILE_K × (TILE_N + 1)) floats = 12.6 KiB. */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint ncols;      /* values per row (multiple of BLOCK_SIZE) */
  uint nrows;
  uint w_off;      /* byte offset of row 0 (multiple of 4) */
  uint row_bytes;  /* bytes per row */
  uint x_off;      /* float offset of vector 0 */
  uint x_stride;   /* floats between vectors */
  uint y_off;
  uint y_stride;
  uint n_vec;
} p;

#include "dequant.glsl"

#define TILE_M 64u
#define TILE_N 32u
#define TILE_K 32u
#define TM 4u /* rows per thread */
#define TN 8u /* vectors per thread */

/* k-major with one float of padding per line against bank conflicts */
shared float ws[TILE_K * (TILE_M + 1u)];
shared float xs[TILE_K * (TILE_N + 1u)];

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * TILE_M;
  const uint vec0 = gl_WorkGroupID.y * TILE_N;
  /* thread (tr, tc) owns rows row0 + tr + 16·i and vectors vec0 + tc + 4·j:
   * neighbouring threads read neighbouring shared-memory words */
  const uint tr = tid % 16u, tc = tid / 16u;
  const bool computes = tid < 64u;

  float acc[TM * TN];
  for (uint i = 0u; i < TM * TN; i++) acc[i] = 0.0;

  for (uint k0 = 0u; k0 < p.ncols; k0 += TILE_K) {
    /* weights: TILE_M × TILE_K values, consecutive threads along k of one row */
    for (uint i = tid; i < TILE_M * TILE_K; i += WG_SIZE) {
      const uint r = i / TILE_K, kk = i % TILE_K;
      const uint row = row0 + r, k = k0 + kk;
      float v = 0.0;
      if (row < p.nrows && k < p.ncols) {
        const uint b = p.w_off + row * p.row_bytes + (k / BLOCK_SIZE) * BLOCK_BYTES;
        v = dequant(b, k % BLOCK_SIZE);
      }
      ws[kk * (TILE_M + 1u) + r] = v;
    }
    /* activations: TILE_N × TILE_K floats */
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
        float a[TM], bv[TN];
        for (uint i = 0u; i < TM; i++) a[i] = ws[kk * (TILE_M + 1u) + tr + 16u * i];
        for (uint j = 0u; j < TN; j++) bv[j] = xs[kk * (TILE_N + 1u) + tc + 4u * j];
        for (uint i = 0u; i < TM; i++)
          for (uint j = 0u; j < TN; j++) acc[i * TN + j] += a[i] * bv[j];
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
