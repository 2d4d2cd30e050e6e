#version 450
/* attention_coop.comp — causal attention with GQA for prompt batches on
 * tensor cores (VK_NV_cooperative_matrix): attention_tile.comp's work, with
 * the two products of each tile, S = Q·Kᵀ and O += P·V, done as 16 × 16 ×
 * 16 float16 × float16 + float32 matrix products.
 *
 * Rows as in attention_tile.comp: with g = n_head / n_head_kv, row r of KV
 * head kvh is (token r / g, query head kvh·g + r % g), so the rows of all g
 * heads of a group and of several tokens share each K and V tile. A
 * workgroup (128 threads, four subgroups of 32) takes BR = 64 rows; each
 * subgroup owns 16 of them and their outputs as float32 accumulators for
 * the whole key loop. The queries (scaled, as float16) stay in shared
 * memory of their own, and each product loads the matrices it multiplies
 * right before it, from memory that nothing writes over in between, as the
 * tensor-core prefill (matmul_coop.glsl), which runs right on NVIDIA's
 * driver, does. The first version of this shader did not: it held the
 * queries as matrices across the key loop (loaded once, under a condition,
 * from space the K and V tiles then took over) and indexed its outputs'
 * blocks with a loop's variable. On an H200 its results were wrong, and
 * changed from run to run; they stayed the same once the blocks were
 * indexed by constants only, so the cause is not known. This version waits
 * for a GPU to check it. Per tile of BC = 32 keys:
 * - the K tile is converted to float16 in shared memory (keys past the
 *   tile's last causal limit as zeros);
 * - each subgroup computes its 16 × 32 scores (two accumulators over the
 *   head dim in steps of 16) and stores them in its scratch;
 * - the V tile takes the K tile's place; meanwhile the lanes take a row and
 *   16 keys each: the causal mask (row r sees keys up to pos0 + r / g), the
 *   tile's max and the weights exp(s − m_ref) as float16 (P), with the row
 *   sum over those same rounded weights;
 * - O += P·V (two 16-key steps for each 16 dims of V).
 * The running max m_ref is moved only when a tile's max exceeds it by more
 * than LAZY (8: weights stay below e⁸ ≈ 2981, far inside float16); then
 * the outputs so far are multiplied by exp(m_old − m_new) through the
 * subgroup's scratch (stored, scaled per row, loaded back). The first keys
 * need no such step (nothing is accumulated yet), so it is rare: cooperative
 * matrices have no per-row scaling of their own, and binary operations
 * between two of them crash the SPIR-V optimizer of Debian 12's glslc.
 * At the end each output is divided by its row sum on its way out through
 * the scratch.
 *
 * -DPV_LANES (STILL_VK_ATTN_COOP=2) keeps only the scores on the tensor
 * cores: each lane sums P·V for its row and half of the value dims in
 * float32 registers (the same float16 weights and values), so no
 * accumulator matrix is kept, stored or loaded back, and the running max's
 * rescale is a multiplication per lane. Half the products off the tensor
 * cores; a second design for the GPU that failed the first.
 *
 * Needs (host, vk-ops.c: still_vk_attention_coop_ok): the device's 16 × 16 ×
 * 16 configuration (vk->coopmat_n 16), subgroups of 32, 39.8 KiB of shared
 * memory, head dims multiples of 16 up to 128; an F16 (-DKV_F16) or Q8_0
 * (-DKV_Q8_0) cache in attention_tile.comp's layout (kv_quads.glsl: an F32
 * cache keeps that shader's float32, the precision its user asked for); the
 * same push constants. Shared memory: the queries 64 × 136 halves (17 KiB),
 * the K or V tile 32 × 136 halves (8.5 KiB), scores and scratch 4 × 512
 * floats (8 KiB), weights 4 × 16 × 40 halves (5 KiB), row values 2 × 128 +
 * 64 floats and a flag of 4 words: 39.8 KiB (the emulation keeps the queries
 * in registers: 22.8 KiB, within lavapipe's 32). Each shared variable is a
 * multiple of 16 bytes, and so are the strides and offsets of the matrix
 * loads and stores. */
#ifndef COOP_EMULATE
#extension GL_NV_cooperative_matrix : require
#endif
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 128) in;

layout(std430, binding = 0) readonly buffer Q { float q[]; };
#include "kv_quads.glsl"
layout(std430, binding = 3) writeonly buffer O { float o[]; };

layout(push_constant) uniform Params {
  uint n_tok, n_head, n_head_kv, head_dim_k, head_dim_v;
  uint pos0;            /* position of token 0; token t sees keys 0..pos0+t */
  uint q_off, q_stride; /* floats */
  uint k_off, v_off;    /* elements: start of this layer's cache */
  uint o_off, o_stride;
  float scale;
} p;

#define BR 64u          /* rows per workgroup: 16 per subgroup */
#define BC 32u          /* keys per tile */
#define HEAD_MAX 128    /* head dims, multiples of 16 (a plain number: the preprocessor reads it) */
#define DMAX uint(HEAD_MAX)
#define NB (DMAX / 16u) /* 16-wide blocks of a head */
#define DS (DMAX + 8u)  /* row stride of the Q, K and V tiles (halves) */
#define PS (BC + 8u)    /* row stride of the weights (halves) */
#define SCR 512u        /* floats of scratch per subgroup: 16 × BC scores, or a 16 × 16 block */
#define LAZY 8.0
#define NTHREADS 128u

/* the K tile, then the V tile (key c's dims at c·DS) */
shared float16_t kv_[BC * DS];
#ifndef COOP_EMULATE
/* the BR rows' queries times scale (row r's dims at r·DS), written once */
shared float16_t qs_[BR * DS];
#endif
shared float ss_[4u * SCR];
shared float16_t ps_[4u * 16u * PS];
shared float pm_[NTHREADS], pl_[NTHREADS]; /* per lane of each subgroup: its half row's max, its sum */
#ifndef PV_LANES
shared float sl_[BR];                      /* the rows' sums, at the end */
/* [0]: a row of the workgroup moves its running max. Four words, not one: every shared
 * variable here is a multiple of 16 bytes, so that wherever the driver places them (the
 * shader cannot say where), the matrices' rows start 16-byte aligned as the cooperative
 * loads and stores require (VUID-RuntimeSpirv-OpCooperativeMatrixLoadNV-06324). A single
 * 4-byte word placed first would shift every array after it by 4 bytes; the first version
 * declared one, and its results on an H200 were wrong (not known to be why; tests/vulkan
 * checks the sizes in the SPIR-V). */
shared uint rescale_[4];
#endif

#ifdef COOP_EMULATE
/* the tests' copy (tests/vulkan/vk-coop-emulated.c.in): the three matrix
 * operations by hand, as matmul_coop.glsl emulates them; subgroups are then
 * 32 consecutive threads, and lane l holds elements l + 32·t (t < 8) of an
 * accumulator, (m, n) = (e % 16, e / 16): its row is l % 16 */
#define SG_ID (gl_LocalInvocationID.x / 32u)
#define SG_LANE (gl_LocalInvocationID.x % 32u)
uint coop_at(uint off, uint stride, bool col_major, uint r, uint c)
{
  return off + (col_major ? c * stride + r : r * stride + c);
}
#else
#define SG_ID gl_SubgroupID
#define SG_LANE gl_SubgroupInvocationID
#define ACC fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define HALF fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#endif

/* Where the matrix operations find their matrices (offset, stride, column-major), for
 * subgroup sg: the queries (A: row, dim), a K block (B: dim, key: each key's dims
 * contiguous), the scores (C: row, key), the weights (A: row, key), a V block (B: key,
 * dim) and the scratch block (C: row, dim). */
#define Q_AT(i) (sg * 16u) * DS + 16u * (i), DS, false
#define K_AT(c, i) (16u * (c)) * DS + 16u * (i), DS, true
#define S_AT(c) sg * SCR + 16u * (c), BC, false
#define P_AT(c) sg * 16u * PS + 16u * (c), PS, false
#define V_AT(c, j) (16u * (c)) * DS + 16u * (j), DS, false
#define B_AT sg * SCR, 16u, false
/* an accumulator to the scratch block and back (the emulation: lane l's elements l + 32·t are
 * (row l % 16 = r, column l / 16 + 2t)) */
#ifdef COOP_EMULATE
#define TO_SCRATCH(m) for (uint t = 0u; t < 8u; t++) ss_[coop_at(B_AT, r, half_ + 2u * t)] = m[t]
#define FROM_SCRATCH(m) for (uint t = 0u; t < 8u; t++) m[t] = ss_[coop_at(B_AT, r, half_ + 2u * t)]
#else
#define TO_SCRATCH(m) coopMatStoreNV(m, ss_, B_AT)
#define FROM_SCRATCH(m) coopMatLoadNV(m, ss_, B_AT)
#endif

/* A step for each 16-wide block j of the outputs, written out by name: glslc leaves a loop
 * with barriers inside rolled, and its index into the array of cooperative matrices would
 * then be a variable (the first version did that, matmul_coop.glsl never does; the same
 * results came out wrong on an H200 without it; tests/vulkan checks the SPIR-V for it).
 * NB blocks. */
#if HEAD_MAX != 128
#error "ALL_BLOCKS names DMAX / 16 blocks"
#endif
#define ALL_BLOCKS(STEP) STEP(0u) STEP(1u) STEP(2u) STEP(3u) STEP(4u) STEP(5u) STEP(6u) STEP(7u)

/* float16 saturates at 65504: clamp, so that a huge value stays finite */
float16_t to_half(float v) { return float16_t(clamp(v, -65504.0, 65504.0)); }

/* Keys j0 … j0 + BC − 1 of the K cache (or of the V cache) into the tile as float16;
 * keys at or past kv_end as zeros. */
void load_tile(uint j0, uint kv_end, uint kvh, bool is_v)
{
  const uint hd = is_v ? p.head_dim_v : p.head_dim_k, w4 = hd / 4u;
  const uint base = (is_v ? p.v_off : p.k_off) + kvh * hd, row = p.n_head_kv * hd;
  for (uint i = gl_LocalInvocationID.x; i < BC * w4; i += NTHREADS) {
    const uint c = i / w4, d = 4u * (i % w4), j = j0 + c;
    vec4 x = vec4(0.0);
    if (j < kv_end) {
      /* a branch, not a select: only the buffer asked for is read */
      if (is_v) x = vquad(base + j * row + d);
      else x = kquad(base + j * row + d);
    }
    const uint at = c * DS + d;
    kv_[at] = to_half(x.x), kv_[at + 1u] = to_half(x.y), kv_[at + 2u] = to_half(x.z), kv_[at + 3u] = to_half(x.w);
  }
}

void main()
{
  const uint tid = gl_LocalInvocationID.x, kvh = gl_WorkGroupID.y;
  const uint g = p.n_head / p.n_head_kv, n_rows = p.n_tok * g;
  const uint row0 = gl_WorkGroupID.x * BR;
  const uint hdk = p.head_dim_k, nk = hdk / 16u, nv = p.head_dim_v / 16u;
  /* the keys this workgroup needs: up to the causal limit of its last row */
  const uint kv_end = p.pos0 + (min(row0 + BR, n_rows) - 1u) / g + 1u;
  const uint sg = SG_ID, lane = SG_LANE;
  /* this lane's row (of its subgroup's 16) and half of the tile's keys in the softmax */
  const uint r = lane % 16u, half_ = lane / 16u, row = row0 + sg * 16u + r;
  const uint row_end = row < n_rows ? p.pos0 + row / g + 1u : 0u; /* keys j < row_end are seen */

  /* the rows' queries times scale, as float16 (the emulation: the lane's row, in registers) */
#ifdef COOP_EMULATE
  float qa[DMAX];
  for (uint d = 0u; d < hdk; d++)
    qa[d] = row < n_rows ? float(to_half(q[p.q_off + (row / g) * p.q_stride + (kvh * g + row % g) * hdk + d] * p.scale))
                         : 0.0;
#ifndef PV_LANES
  float acc[NB][8];
  for (uint j = 0u; j < NB; j++)
    for (uint t = 0u; t < 8u; t++) acc[j][t] = 0.0;
#endif
#else
  for (uint i = tid; i < BR * hdk; i += NTHREADS) {
    const uint rr = i / hdk, d = i % hdk, qrow = row0 + rr;
    float x = 0.0;
    if (qrow < n_rows) x = q[p.q_off + (qrow / g) * p.q_stride + (kvh * g + qrow % g) * hdk + d] * p.scale;
    qs_[rr * DS + d] = to_half(x);
  }
#ifndef PV_LANES
  ACC acc[NB];
  [[unroll]] for (uint j = 0u; j < NB; j++) acc[j] = ACC(0.0);
#endif
#endif
#ifdef PV_LANES
  /* the lane's half of its row's outputs, dims d0 … d0 + hv − 1, in float32 */
  const uint hv = p.head_dim_v / 2u, d0 = half_ * hv;
  float ov[DMAX / 2u];
  [[unroll]] for (uint t = 0u; t < DMAX / 2u; t++) ov[t] = 0.0;
#endif
#ifndef PV_LANES
  if (tid == 0u) rescale_[0] = 0u;
#endif
  float m_ref = -1.0 / 0.0, l_run = 0.0;

  for (uint j0 = 0u; j0 < kv_end; j0 += BC) {
    barrier(); /* the queries are written (first tile); the V tile is no longer read */
    load_tile(j0, kv_end, kvh, false);
    barrier();
    /* S = Q·Kᵀ, 16 keys at a time, into the subgroup's scratch */
#ifdef COOP_EMULATE
    for (uint c = 0u; c < BC / 16u; c++)
      for (uint t = 0u; t < 8u; t++) {
        const uint n = half_ + 2u * t;
        float s = 0.0;
        for (uint i = 0u; i < nk; i++)
          [[unroll]] for (uint k = 0u; k < 16u; k++) s += qa[16u * i + k] * float(kv_[coop_at(K_AT(c, i), k, n)]);
        ss_[coop_at(S_AT(c), r, n)] = s;
      }
#else
    {
      ACC s0 = ACC(0.0), s1 = ACC(0.0);
      [[unroll]] for (uint i = 0u; i < NB; i++)
        if (i < nk) {
          HALF qm, k0, k1;
          coopMatLoadNV(qm, qs_, Q_AT(i));
          coopMatLoadNV(k0, kv_, K_AT(0u, i));
          coopMatLoadNV(k1, kv_, K_AT(1u, i));
          s0 = coopMatMulAddNV(qm, k0, s0);
          s1 = coopMatMulAddNV(qm, k1, s1);
        }
      coopMatStoreNV(s0, ss_, S_AT(0u));
      coopMatStoreNV(s1, ss_, S_AT(1u));
    }
#endif
    barrier(); /* the scores are stored; the K tile is no longer read */
    load_tile(j0, kv_end, kvh, true);
    /* the lane's 16 scores, masked, and their max */
    float sv[16];
    float mx = -1.0 / 0.0;
    for (uint i = 0u; i < 16u; i++) {
      const uint key = 16u * half_ + i;
      const float s = ss_[sg * SCR + r * BC + key];
      sv[i] = j0 + key < row_end ? s : -1.0 / 0.0;
      mx = max(mx, sv[i]);
    }
    pm_[sg * 32u + lane] = mx;
    barrier();
    /* the row's max over the tile (both halves of it compute the same); a running max
     * below it by more than LAZY moves to it, and the outputs so far follow below */
    const float m_tile = max(mx, pm_[sg * 32u + (lane ^ 16u)]);
    float alpha = 1.0;
    if (m_tile > m_ref + LAZY) {
      if (m_ref != -1.0 / 0.0) {
        alpha = exp(m_ref - m_tile);
#ifndef PV_LANES
        atomicOr(rescale_[0], 1u);
#endif
      }
      m_ref = m_tile;
    }
    float sum = 0.0;
    for (uint i = 0u; i < 16u; i++) {
      const float16_t w = sv[i] == -1.0 / 0.0 ? float16_t(0.0) : float16_t(exp(sv[i] - m_ref));
      ps_[sg * 16u * PS + r * PS + 16u * half_ + i] = w;
      sum += float(w);
    }
    pl_[sg * 32u + lane] = sum;
    barrier();
    l_run = l_run * alpha + (pl_[sg * 32u + lane] + pl_[sg * 32u + (lane ^ 16u)]);
#ifdef PV_LANES
    /* O = O·alpha + P·V for the lane's row and half of the dims, in float32 (the same float16
     * weights and values as the matrix products; no matrix of them) */
    if (alpha != 1.0)
      [[unroll]] for (uint t = 0u; t < DMAX / 2u; t++) ov[t] *= alpha;
    for (uint k = 0u; k < BC; k++) {
      const float w = float(ps_[sg * 16u * PS + r * PS + k]);
      const uint at = k * DS + d0;
      /* (one flat loop: glslc unrolls it whole, and ov stays in registers) */
      [[unroll]] for (uint t = 0u; t < DMAX / 2u; t++)
        if (t < hv) ov[t] += w * float(kv_[at + t]);
    }
#else
    if (rescale_[0] != 0u) {
      /* the outputs so far times alpha, per row, through the scratch (the scores in it are
       * read); uniform: every thread reads the same flag after the barrier */
#define RESCALE(j)                                                                      \
  if ((j) < nv) {                                                                       \
    TO_SCRATCH(acc[j]);                                                                 \
    barrier();                                                                          \
    for (uint i = 0u; i < 8u; i++) ss_[sg * SCR + r * 16u + 8u * half_ + i] *= alpha;   \
    barrier();                                                                          \
    FROM_SCRATCH(acc[j]);                                                               \
    barrier();                                                                          \
  }
      ALL_BLOCKS(RESCALE)
      /* (every thread read the flag before the first of those barriers) */
      if (tid == 0u) rescale_[0] = 0u;
    }
    /* O += P·V */
#ifdef COOP_EMULATE
    for (uint j = 0u; j < nv; j++)
      for (uint t = 0u; t < 8u; t++) {
        const uint n = half_ + 2u * t;
        float s = 0.0;
        for (uint c = 0u; c < BC / 16u; c++)
          [[unroll]] for (uint k = 0u; k < 16u; k++)
            s += float(ps_[coop_at(P_AT(c), r, k)]) * float(kv_[coop_at(V_AT(c, j), k, n)]);
        acc[j][t] += s;
      }
#else
    [[unroll]] for (uint c = 0u; c < BC / 16u; c++) {
      HALF pa;
      coopMatLoadNV(pa, ps_, P_AT(c));
      [[unroll]] for (uint j = 0u; j < NB; j++)
        if (j < nv) {
          HALF vb;
          coopMatLoadNV(vb, kv_, V_AT(c, j));
          acc[j] = coopMatMulAddNV(pa, vb, acc[j]);
        }
    }
#endif
#endif
  }

#ifdef PV_LANES
  /* out: the lane's outputs divided by its row's sum */
  if (row < n_rows)
    [[unroll]] for (uint t = 0u; t < DMAX / 2u; t++)
      if (t < hv) o[p.o_off + (row / g) * p.o_stride + (kvh * g + row % g) * p.head_dim_v + d0 + t] = ov[t] / l_run;
#else
  /* out: each 16 × 16 block through the scratch, divided by its rows' sums */
  if (half_ == 0u) sl_[sg * 16u + r] = l_run;
#define OUT(j)                                                                                        \
  if ((j) < nv) {                                                                                     \
    barrier();                                                                                        \
    TO_SCRATCH(acc[j]);                                                                               \
    barrier();                                                                                        \
    for (uint e = lane; e < 256u; e += 32u) {                                                         \
      const uint m = e / 16u, orow = row0 + sg * 16u + m;                                             \
      if (orow < n_rows)                                                                              \
        o[p.o_off + (orow / g) * p.o_stride + (kvh * g + orow % g) * p.head_dim_v + 16u * (j) + e % 16u] = \
          ss_[sg * SCR + e] / sl_[sg * 16u + m];                                                      \
    }                                                                                                 \
  }
  ALL_BLOCKS(OUT)
#endif
}
