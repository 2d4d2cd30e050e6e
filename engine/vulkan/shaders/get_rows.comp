#version 450
/* get_rows.comp — embedding lookup: y[t] = dequantized row ids[t] of W,
 * one weight type chosen by -DTYPE_xxx (dequant.glsl). One workgroup per
 * token (over a 2D grid); threads stride over the columns. An id outside
 * the matrix gives a row of zeros (the CPU checks ids before; this only
 * keeps a bad id from reading outside the buffer). */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer I { uint ids[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

layout(push_constant) uniform Params {
  uint ncols;     /* values per row (multiple of BLOCK_SIZE) */
  uint nrows;
  uint w_off;     /* byte offset of row 0 (multiple of 4) */
  uint row_bytes;
  uint ids_off;   /* index of the first id */
  uint y_off;     /* float offset of output row 0 */
  uint y_stride;  /* floats between output rows */
  uint n_tok;
} p;

#include "dequant.glsl"

void main()
{
  const uint t = group_row();
  if (t >= p.n_tok) return;
  const uint id = ids[p.ids_off + t];
  const uint yo = p.y_off + t * p.y_stride;
  if (id >= p.nrows) {
    for (uint c = gl_LocalInvocationID.x; c < p.ncols; c += WG_SIZE) y[yo + c] = 0.0;
    return;
  }
  const uint rb = p.w_off + id * p.row_bytes;
  for (uint c = gl_LocalInvocationID.x; c < p.ncols; c += WG_SIZE)
    y[yo + c] = dequant(rb + (c / BLOCK_SIZE) * BLOCK_BYTES, c % BLOCK_SIZE);
}
