#version 450
/* matvec.comp — y = W·x for one weight type (chosen by -DTYPE_xxx).
 * One workgroup per output row (rows over a 2D grid); z indexes groups of
 * up to NV input vectors, so a prefill batch shares one dispatch and each
 * weight value is dequantized once for NV vectors.
 * Threads stride over the row's blocks, dequantize in registers and the
 * partial dots are reduced with subgroup ops. */
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

#define NV 4u

#include "dequant.glsl"

void main()
{
  const uint row = group_row();
  if (row >= p.nrows) return; /* whole workgroup leaves together */
  const uint v0 = gl_WorkGroupID.z * NV;
  const uint nv = min(NV, p.n_vec - v0);
  const uint xb = p.x_off + v0 * p.x_stride;
  const uint rb = p.w_off + row * p.row_bytes;
  const uint nblocks = p.ncols / BLOCK_SIZE;
  float acc[NV];
  for (uint k = 0u; k < NV; k++) acc[k] = 0.0;
#if defined(IS_SCALAR)
  for (uint i = gl_LocalInvocationID.x; i < p.ncols; i += WG_SIZE) {
    const float wv = dequant(rb + i * BLOCK_BYTES, 0u);
    for (uint k = 0u; k < nv; k++) acc[k] += wv * x[xb + k * p.x_stride + i];
  }
#else
  /* each thread takes a 32-value slice of a block, so K-quant rows with few
   * blocks still keep every thread busy */
  const uint slices = BLOCK_SIZE / 32u;
  for (uint s = gl_LocalInvocationID.x; s < nblocks * slices; s += WG_SIZE) {
    uint blk = s / slices, j0 = (s % slices) * 32u;
    uint bo = rb + blk * BLOCK_BYTES;
    uint xo = xb + blk * BLOCK_SIZE + j0;
    for (uint j = 0u; j < 32u; j++) {
      const float wv = dequant(bo, j0 + j);
      for (uint k = 0u; k < nv; k++) acc[k] += wv * x[xo + k * p.x_stride + j];
    }
  }
#endif
  for (uint k = 0u; k < nv; k++) {
    const float t = wg_sum(acc[k]); /* nv is uniform: every thread takes part */
    if (gl_LocalInvocationID.x == 0u) y[p.y_off + (v0 + k) * p.y_stride + row] = t;
  }
}
