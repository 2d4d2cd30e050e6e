#version 450
/* matmul_team.comp — Y = W·X for a batch of vectors (prefill), for the
 * types of matvec_team.comp (F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K).
 *
 * The tiling is matmul.comp's (64 rows × 32 vectors per workgroup, 64
 * threads computing 4 rows × 8 vectors each) with steps of 64 values along
 * the row. What differs is how the weight tile is filled: matmul.comp
 * decodes one value per call, re-reading its block's scales and picking
 * its byte out of a word each time; here a thread takes a whole word of
 * quants (or two halves) and writes 8 values, decoding the scales once.
 * A step of 64 values is one 64-value chunk of a K-quant block, two Q8_0 or
 * Q4_0 blocks, or 64 F16 values: 8 items of 8 values per row.
 * Shared memory: 64 × 65 + 64 × 33 floats = 24.5 KiB. */
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

/* Item `part` (0..7) of the step starting at value k0 of the row at byte rb:
 * values at step offsets ka..ka+3 (a) and kb..kb+3 (b). */
void item(uint rb, uint k0, uint part, out vec4 a, out vec4 b, out uint ka, out uint kb)
{
#if defined(TYPE_F16)
  const uint k = k0 + part * 8u;
  ka = part * 8u, kb = ka + 4u;
  a = vec4(0.0), b = vec4(0.0);
  if (k + 8u <= p.ncols) {
    const uint wi = (rb >> 2) + (k >> 1);
    a = vec4(unpackHalf2x16(w[wi]), unpackHalf2x16(w[wi + 1u]));
    b = vec4(unpackHalf2x16(w[wi + 2u]), unpackHalf2x16(w[wi + 3u]));
  } else {
    for (uint j = 0u; j < 8u && k + j < p.ncols; j++) {
      const float v = unpackHalf2x16(w[(rb >> 2) + ((k + j) >> 1)] >> (((k + j) & 1u) * 16u)).x;
      if (j < 4u) a[j] = v; else b[j - 4u] = v;
    }
  }
#elif defined(TYPE_Q8_0)
  const uint bi = part / 4u, g = part % 4u;
  ka = bi * 32u + g * 8u, kb = ka + 4u;
  a = vec4(0.0), b = vec4(0.0);
  if (k0 + bi * 32u < p.ncols) {
    const uint blk = rb + ((k0 >> 5) + bi) * 34u;
    const float d = rdhalf(blk);
    a = bytes_s8(rd32h(blk + 2u + g * 8u)) * d;
    b = bytes_s8(rd32h(blk + 6u + g * 8u)) * d;
  }
#elif defined(TYPE_Q4_0)
  const uint bi = part / 4u, g = part % 4u;
  ka = bi * 32u + g * 4u, kb = ka + 16u;
  a = vec4(0.0), b = vec4(0.0);
  if (k0 + bi * 32u < p.ncols) {
    const uint blk = rb + ((k0 >> 5) + bi) * 18u;
    const float d = rdhalf(blk);
    const uint q = rd32h(blk + 2u + g * 4u);
    a = (nibbles_lo(q) - 8.0) * d;
    b = (nibbles_hi(q) - 8.0) * d;
  }
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  /* the step is chunk (k0 % 256) / 64 of block k0 / 256 (words.glsl) */
#if defined(TYPE_Q4_K)
  const uint bw = (rb >> 2) + (k0 >> 8) * 36u;
#else
  const uint bw = (rb >> 2) + (k0 >> 8) * 44u;
#endif
  kquant_chunk(bw, (k0 & 255u) >> 6, part, a, b);
  ka = part * 4u, kb = 32u + part * 4u;
#elif defined(TYPE_Q6_K)
  /* step h4 of the block: half h4 / 2, low (even h4) or high nibbles */
  const uint h4 = (k0 & 255u) >> 6;
  q6k_quad(rb + (k0 >> 8) * 210u, h4 >> 1, h4 & 1u, part * 4u, a, b);
  ka = part * 4u, kb = 32u + part * 4u;
#else
#error matmul_team.comp: no TYPE_ given
#endif
}

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
