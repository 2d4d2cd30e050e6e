/* matmul_coop.glsl — the body of matmul_coop.comp and matmul_coop8.comp:
 * Y = W·X for a batch of vectors (prefill) on tensor cores through
 * VK_NV_cooperative_matrix, for the types of matmul_team.comp (F16 and
 * every block type; -DTYPE_xxx). Same bindings and push constants as
 * matmul.comp. matmul_coop.comp multiplies 16 × 16 × 16 matrices,
 * matmul_coop8.comp 16 × 8 × 16 ones (COOP_N 8) for devices without the
 * former.
 *
 * A workgroup computes 64 rows × 64 vectors (or 128 × 64, 64 × 128: see
 * ROWS_M, VECS_N). Every step of 64 values along the row it decodes the
 * weight tile word-wise (items.glsl, as matmul_team.comp does) into
 * shared memory as float16, converts the activation tile to float16 next to
 * it, and its four subgroups each multiply their quarter of the tile (32 ×
 * 32 for 64 × 64) as accumulators of 16 × N (fp16 × fp16 + fp32) over four
 * 16-deep slices. Edges: rows past nrows, vectors past
 * n_vec and values past ncols are zeros in the tiles; results go out through
 * a small shared scratch per subgroup, copied to Y with bounds checks.
 *
 * Needs (checked by the host, vk-context.c / vk-ops.c): 128 threads in
 * subgroups of 32 (four subgroups), 16×N×16 float16/float32 cooperative
 * matrices at subgroup scope, shaderFloat16 (float16 in shared memory) and
 * the Vulkan memory model (glslang declares it for every cooperative-matrix
 * shader). Shared memory: (ROWS_M + VECS_N) × 72 halves + 4 × 256 floats =
 * 22.5 KiB for 64 × 64, 31 KiB for the wider tiles.
 *
 * In matrix terms C (M rows × N vectors) = A (M × K, the weights, row-major
 * in as_: element (m, k) at m·SA + k) × B (K × N, the activations; bs_ holds
 * vector n's values contiguously: element (k, n) at n·SB + k, column-major).
 * Strides and offsets of coopMatLoadNV/StoreNV count array elements (halves
 * or floats); every row start is a multiple of 8 halves (16 bytes). */
#ifndef COOP_EMULATE
#extension GL_NV_cooperative_matrix : require
#endif
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 128) in;

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
/* the same activations as vec4, when x_off and x_stride are multiples of 4
 * (as in the forward pass) */
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

/* Tile: ROWS_M rows × VECS_N vectors (64 × 64; matmul_coop_m128.comp and
 * matmul_coop_n128.comp take 128 rows or 128 vectors: each weight decoded
 * for more vectors or each activation converted for more rows, in fewer,
 * bigger workgroups). Plain integers: the preprocessor reads them too. */
#ifndef ROWS_M
#define ROWS_M 64
#endif
#ifndef VECS_N
#define VECS_N 64
#endif
#define TILE_M uint(ROWS_M)
#define TILE_N uint(VECS_N)
#define TILE_K 64u
/* 8 halves of padding per line: lines stay 16-byte aligned and neighbouring
 * lines start in different shared-memory banks */
#define SA (TILE_K + 8u)
#define SB (TILE_K + 8u)
#define NTHREADS 128u
/* N of the 16 × N × 16 matrices: 16, or 8 (-DCOOP_N=8) for devices that
 * only offer 16 × 8 × 16 */
#ifndef COOP_N
#define COOP_N 16
#endif
#define CN uint(COOP_N)
/* each subgroup owns a quarter of the tile: (ROWS_M / 2) rows × (VECS_N / 2)
 * vectors, as MI × NJ accumulators of 16 × N */
#define MI (TILE_M / 32u)
#define NJ (TILE_N / 2u / CN)
#define NJ_INT (VECS_N / 2 / COOP_N)
#if (ROWS_M != 64 && ROWS_M != 128) || (VECS_N != 64 && VECS_N != 128) || ROWS_M + VECS_N > 192
#error matmul_coop.glsl: tiles of 64 or 128 rows and vectors, at most 192 together (32 KiB of shared memory)
#endif
#define ET ((16u * CN) / 32u)  /* elements per lane of one accumulator (emulation) */

#include "words.glsl"

shared float16_t as_[TILE_M * SA];
shared float16_t bs_[TILE_N * SB];
shared float cs_[4u * 256u];

#include "items.glsl"

/* COOP_EMULATE (never built into the engine; the test programs' copies,
 * tests/vulkan/vk-coop-emulated.c.in, run on lavapipe, which has
 * no cooperative matrices): the same tiles and indexing with the three
 * matrix operations done by hand, exactly as this shader reads them: A
 * row-major, B and the stored C column-major, element offsets and strides in
 * array elements. Subgroups are then 32 consecutive threads. */
#ifdef COOP_EMULATE
/* the emulation's outer loops stay loops (all unrolled, lavapipe took
 * some 20 s to compile each variant); the inner ones are unrolled, as
 * llvmpipe ends a thread's loops after 65535 iterations in all */
#define K_SLICES [[dont_unroll]]
#define SG_ID (gl_LocalInvocationID.x / 32u)
#define SG_LANE (gl_LocalInvocationID.x % 32u)
#define SG_SIZE 32u
#else
#define K_SLICES [[unroll]]
#define SG_ID gl_SubgroupID
#define SG_LANE gl_SubgroupInvocationID
#define SG_SIZE gl_SubgroupSize
#endif

/* Where the three matrix operations find their matrices in shared memory:
 * offset, stride (array elements) and layout, as passed to
 * coopMatLoadNV/coopMatStoreNV; the emulation places each element by the
 * extension's rule from the same arguments (coop_at), so that a change to
 * them changes both. A: the weights, 16 × 16, row-major; B: the
 * activations, 16 values × COOP_N vectors, column-major (each vector's
 * values contiguous in bs_); C: an accumulator stored column-major into the
 * subgroup's 16 × COOP_N scratch. */
#define A_AT(i) (qm + 16u * (i)) * SA + kk, SA, false
#define B_AT(j) (qn + CN * (j)) * SB + kk, SB, true
#define C_AT sg * 256u, 16u, true
#ifdef COOP_EMULATE
/* element (r, c) of the matrix at (off, stride, col_major) */
uint coop_at(uint off, uint stride, bool col_major, uint r, uint c)
{
  return off + (col_major ? c * stride + r : r * stride + c);
}
#endif

/* float16 saturates at 65504: clamp so that a huge activation gives a large
 * finite product, not inf·0 = NaN */
float16_t to_half(float v) { return float16_t(clamp(v, -65504.0, 65504.0)); }

/* Accumulator (i, j) of subgroup sg (rows row0 + qm + 16·i.., vectors vec0 +
 * qn + N·j..) to Y: stored column-major into the subgroup's 16 × N scratch
 * (element (m, n) at n·16 + m), then copied with bounds checks, neighbouring
 * lanes on neighbouring rows of Y. */
#ifdef COOP_EMULATE
void out_tile(float m[ET], uint i, uint j, uint row0, uint vec0, uint qm, uint qn, uint sg)
#else
void out_tile(fcoopmatNV<32, gl_ScopeSubgroup, 16, COOP_N> m, uint i, uint j, uint row0, uint vec0, uint qm, uint qn,
              uint sg)
#endif
{
  const uint lane = SG_LANE;
#ifdef COOP_EMULATE
  for (uint t = 0u; t < ET; t++) {
    const uint e = lane + 32u * t;
    cs_[coop_at(C_AT, e & 15u, e >> 4)] = m[t];
  }
#else
  coopMatStoreNV(m, cs_, C_AT);
#endif
  barrier();
  for (uint e = lane; e < 16u * CN; e += SG_SIZE) {
    const uint row = row0 + qm + i * 16u + (e & 15u);
    const uint vec = vec0 + qn + j * CN + (e >> 4);
    if (row < p.nrows && vec < p.n_vec) y[p.y_off + vec * p.y_stride + row] = cs_[sg * 256u + e];
  }
  barrier();
}

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.x * TILE_M;
  const uint vec0 = gl_WorkGroupID.y * TILE_N;
  /* subgroup s owns rows 32·(s % 2).. and vectors 32·(s / 2).. of the tile */
  const uint sg = SG_ID;
  const uint qm = (sg & 1u) * (TILE_M / 2u), qn = (sg >> 1) * (TILE_N / 2u);
  const bool xv4 = ((p.x_off | p.x_stride) & 3u) == 0u;

#ifdef COOP_EMULATE
  /* lane l holds elements l + 32·t (t < ET) of each 16 × COOP_N
   * accumulator, as (m, n) = (e % 16, e / 16) */
  float acc[MI][NJ][ET];
  for (uint i = 0u; i < MI; i++)
    for (uint j = 0u; j < NJ; j++)
      for (uint t = 0u; t < ET; t++) acc[i][j][t] = 0.0;
#else
  /* the loops over accumulators are unrolled: cooperative matrices live in
   * registers, an array of them is only indexed by constants */
  fcoopmatNV<32, gl_ScopeSubgroup, 16, COOP_N> acc[MI][NJ];
  [[unroll]] for (uint i = 0u; i < MI; i++)
    [[unroll]] for (uint j = 0u; j < NJ; j++) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, 16, COOP_N>(0.0);
#endif

  for (uint k0 = 0u; k0 < p.ncols; k0 += TILE_K) {
    /* weights: 64 rows × 8 items of 8 values, 8 neighbouring threads per row */
    for (uint i = tid; i < TILE_M * 8u; i += NTHREADS) {
      const uint r = i / 8u, part = i % 8u, row = row0 + r;
      vec4 a = vec4(0.0), b = vec4(0.0);
      uint ka = part * 8u, kb = ka + 4u;
      if (row < p.nrows) item(p.w_off + row * p.row_bytes, k0, part, a, b, ka, kb);
      for (uint j = 0u; j < 4u; j++) {
        as_[r * SA + ka + j] = float16_t(a[j]);
        as_[r * SA + kb + j] = float16_t(b[j]);
      }
    }
    /* activations: 64 vectors × 64 values, neighbouring threads along k */
    if (xv4) {
      for (uint i = tid; i < TILE_N * TILE_K / 4u; i += NTHREADS) {
        const uint c = i / (TILE_K / 4u), kk = (i % (TILE_K / 4u)) * 4u;
        const uint vec = vec0 + c, k = k0 + kk;
        vec4 v = vec4(0.0);
        if (vec < p.n_vec) {
          const uint o = p.x_off + vec * p.x_stride + k;
          if (k + 4u <= p.ncols) v = x4[o >> 2];
          else
            for (uint j = 0u; j < 4u; j++)
              if (k + j < p.ncols) v[j] = x[o + j];
        }
        for (uint j = 0u; j < 4u; j++) bs_[c * SB + kk + j] = to_half(v[j]);
      }
    } else {
      for (uint i = tid; i < TILE_N * TILE_K; i += NTHREADS) {
        const uint c = i / TILE_K, kk = i % TILE_K;
        const uint vec = vec0 + c, k = k0 + kk;
        float v = 0.0;
        if (vec < p.n_vec && k < p.ncols) v = x[p.x_off + vec * p.x_stride + k];
        bs_[c * SB + kk] = to_half(v);
      }
    }
    barrier();
    K_SLICES for (uint kk = 0u; kk < TILE_K; kk += 16u) {
#ifdef COOP_EMULATE
      [[dont_unroll]] for (uint i = 0u; i < MI; i++)
        [[dont_unroll]] for (uint j = 0u; j < NJ; j++)
          [[unroll]] for (uint t = 0u; t < ET; t++) {
            const uint e = SG_LANE + 32u * t, m = e & 15u, n = e >> 4;
            float s = 0.0;
            [[unroll]] for (uint q = 0u; q < 16u; q++)
              s += float(as_[coop_at(A_AT(i), m, q)]) * float(bs_[coop_at(B_AT(j), q, n)]);
            acc[i][j][t] += s;
          }
#else
      fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> ai[MI];
      [[unroll]] for (uint i = 0u; i < MI; i++) coopMatLoadNV(ai[i], as_, A_AT(i));
      [[unroll]] for (uint j = 0u; j < NJ; j++) {
        fcoopmatNV<16, gl_ScopeSubgroup, 16, COOP_N> bj;
        coopMatLoadNV(bj, bs_, B_AT(j));
        [[unroll]] for (uint i = 0u; i < MI; i++) acc[i][j] = coopMatMulAddNV(ai[i], bj, acc[i][j]);
      }
#endif
    }
    barrier(); /* the tiles are refilled next step */
  }

  /* Out through the subgroup's scratch, one accumulator after the other
   * (written out by name: an array of cooperative matrices is only indexed by
   * constants). Every thread makes the same calls, so the barriers inside are
   * in uniform control flow. */
#define OUT(i, j) out_tile(acc[i][j], uint(i), uint(j), row0, vec0, qm, qn, sg)
  OUT(0, 0); OUT(1, 0); OUT(0, 1); OUT(1, 1);
#if ROWS_M == 128
  OUT(2, 0); OUT(3, 0); OUT(2, 1); OUT(3, 1);
#endif
#if NJ_INT > 2
  OUT(0, 2); OUT(1, 2); OUT(0, 3); OUT(1, 3);
#if ROWS_M == 128
  OUT(2, 2); OUT(3, 2); OUT(2, 3); OUT(3, 3);
#endif
#endif
#if NJ_INT > 4
  OUT(0, 4); OUT(1, 4); OUT(0, 5); OUT(1, 5); OUT(0, 6); OUT(1, 6); OUT(0, 7); OUT(1, 7);
#endif
}
