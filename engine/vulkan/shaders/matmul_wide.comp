#version 450
/* matmul_wide.comp — Y = W·X for a batch of vectors (prefill), for the
 * types of matmul_team.comp (F16 and every block type; items.glsl), on
 * GPUs without tensor cores (STILL_VK_MATMUL=wide; the tuner times it).
 *
 * matmul.comp and matmul_team.comp give 64 threads of a workgroup 4 rows ×
 * 8 vectors each of a 64 × 32 tile, and each of those threads reads 12
 * floats of shared memory per 32 multiply-adds; a workgroup's other threads
 * only help with the loads. Here every one of 128 threads computes 4 rows ×
 * 8 vectors of a 64 × 64 tile, and the tiles are laid out so that those
 * operands are three 16-byte reads per 32 multiply-adds. Each weight is
 * decoded once per 64 vectors instead of 32.
 *
 * Steps of 64 values along the row, as matmul_team.comp (items.glsl: 8
 * items of 8 values per row). Shared memory: the weights as [k][row] and
 * the activations as [k][vector], 64 × 64 floats each: 32 KiB (the host
 * takes this shader only where the device allows that much).
 * - Weights: thread t decodes item t / 16 of the 4 rows 4·(t % 16) … + 3,
 *   and writes each of its 8 values of the 4 rows as one vec4 (neighbouring
 *   threads, neighbouring vec4s: no bank conflicts).
 * - Activations: thread t reads 4 values of the 4 vectors 4·(t % 16) … + 3
 *   (16-byte loads where the offsets allow) and writes them turned, one vec4
 *   of 4 vectors per value, twice per step.
 * - Products: thread t has rows 4·(t % 16) … + 3 (one vec4 of the weights
 *   per value) and vectors 4·(t / 16) … + 3 and 32 + the same (two vec4s).
 * No subgroup operations: any subgroup size works. Its own workgroup of 128
 * threads, whatever STILL_VK_WG_SIZE says (every Vulkan device allows 128). */
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 128) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
/* the same activations as vec4: four floats per load when the offsets allow */
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
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
#define TILE_N 64u
#define TILE_K 64u

#include "words.glsl"
#include "items.glsl"

/* [k][row / 4] and [k][vector / 4] */
shared vec4 ws4[TILE_K * TILE_M / 4u];
shared vec4 xs4[TILE_K * TILE_N / 4u];

/* Four activations of vector vec from value k (zeros past the row's end or
 * past the last vector). */
vec4 x_quad(uint vec, uint k, bool v4)
{
  if (vec >= p.n_vec) return vec4(0.0);
  const uint o = p.x_off + vec * p.x_stride + k;
  if (v4 && k + 4u <= p.ncols) return x4[o >> 2];
  vec4 r = vec4(0.0);
  [[unroll]] for (uint j = 0u; j < 4u; j++)
    if (k + j < p.ncols) r[j] = x[o + j];
  return r;
}

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * TILE_M;
  const uint vec0 = gl_WorkGroupID.y * TILE_N;
  const uint q = tid % 16u, part = tid / 16u; /* (part: 0 … 7) */
  /* the x offsets on 4 floats: 16-byte loads */
  const bool v4 = (p.x_off & 3u) == 0u && (p.x_stride & 3u) == 0u;

  vec4 acc[8]; /* acc[j]: rows 4q … 4q + 3 of vector j (j < 4: 4·part + j; else 32 + 4·part + j - 4) */
  [[unroll]] for (uint j = 0u; j < 8u; j++) acc[j] = vec4(0.0);

  for (uint k0 = 0u; k0 < p.ncols; k0 += TILE_K) {
    /* the weights: item `part` of rows 4q … 4q + 3 */
    {
      vec4 a[4], b[4];
      uint ka = 0u, kb = 0u;
      [[unroll]] for (uint i = 0u; i < 4u; i++) {
        const uint row = row0 + 4u * q + i;
        a[i] = vec4(0.0), b[i] = vec4(0.0);
        uint ka_i, kb_i;
        /* (ka, kb depend on the part only: the rows past the end read the last row's) */
        item(p.w_off + min(row, p.nrows - 1u) * p.row_bytes, k0, part, a[i], b[i], ka_i, kb_i);
        if (row >= p.nrows) a[i] = vec4(0.0), b[i] = vec4(0.0);
        ka = ka_i, kb = kb_i;
      }
      [[unroll]] for (uint j = 0u; j < 4u; j++) {
        ws4[(ka + j) * (TILE_M / 4u) + q] = vec4(a[0][j], a[1][j], a[2][j], a[3][j]);
        ws4[(kb + j) * (TILE_M / 4u) + q] = vec4(b[0][j], b[1][j], b[2][j], b[3][j]);
      }
    }
    /* the activations: values 4s … 4s + 3 of vectors 4q … 4q + 3, s = part and part + 8 */
    [[unroll]] for (uint h = 0u; h < 2u; h++) {
      const uint s = part + 8u * h, k = k0 + 4u * s;
      vec4 v[4];
      [[unroll]] for (uint i = 0u; i < 4u; i++) v[i] = x_quad(vec0 + 4u * q + i, k, v4);
      [[unroll]] for (uint j = 0u; j < 4u; j++)
        xs4[(4u * s + j) * (TILE_N / 4u) + q] = vec4(v[0][j], v[1][j], v[2][j], v[3][j]);
    }
    barrier();
    for (uint kk = 0u; kk < TILE_K; kk++) {
      const vec4 wv = ws4[kk * (TILE_M / 4u) + q];
      const vec4 x0 = xs4[kk * (TILE_N / 4u) + part], x1 = xs4[kk * (TILE_N / 4u) + 8u + part];
      [[unroll]] for (uint j = 0u; j < 4u; j++) {
        acc[j] += wv * x0[j];
        acc[4u + j] += wv * x1[j];
      }
    }
    barrier();
  }

  /* (no continue or break in these loops: they are written out, and acc stays in registers) */
  [[unroll]] for (uint j = 0u; j < 8u; j++) {
    const uint vec = vec0 + (j < 4u ? 4u * part + j : 32u + 4u * part + j - 4u);
    const uint base = p.y_off + vec * p.y_stride;
    [[unroll]] for (uint i = 0u; i < 4u; i++) {
      const uint row = row0 + 4u * q + i;
      if (vec < p.n_vec && row < p.nrows) y[base + row] = acc[j][i];
    }
  }
}
