#version 450
/* attention_tile.comp — causal attention with GQA for prompt batches,
 * tiled in shared memory (flash-attention 2 style).
 *
 * attention.comp gives one workgroup to each (token, query head), so every
 * query re-reads the whole K/V cache. Here a workgroup takes a tile of BR
 * query ROWS of one KV head: with g = n_head / n_head_kv query heads per KV
 * head, row r is (token r / g, query head kvh·g + r % g), so the rows of
 * all g heads and of several tokens share each K and V tile. Per tile of
 * BC keys:
 * - scores S = Q·Kᵀ (BR × BC): the K tile is loaded in slices of DC dims
 *   (vec4 / 4-half / Q8_0-word reads, converted to float) while each
 *   thread keeps the scores of one key for BR·BC / WG_SIZE rows in
 *   registers; Q (pre-scaled) stays in shared memory for the whole key
 *   loop; shared reads are vec4;
 * - online softmax per row (running max m, running sum l, output rescaled
 *   by exp(m_old - m_new)); each row has its own causal limit pos0 + t,
 *   keys past it score -inf; tiles past every row's limit are not visited;
 * - O += P·V: the V tile in slices of DC dims, each thread owning 4 dims of
 *   a slice for BR·16 / WG_SIZE rows (all slices: at most 64 floats per
 *   thread with 64 threads and head_dim_v 256).
 * Shared memory: Q 16 × 256 floats (16 KiB), a K/V slice 32 × 68 floats
 * (8.5 KiB), P 16 × 32 floats (2 KiB), 3 × 16 row stats: 27328 bytes for
 * every KV type and head dim up to 256, plus common.glsl's reduction
 * scratch (unused here). WG_SIZE 64, 128 or 256 (host checks). Cache layout
 * as attention.comp: K [pos][n_head_kv][hdk], V [pos][n_head_kv][hdv]; F32
 * (head dims and offsets multiples of 4), F16 (-DKV_F16, same) or Q8_0
 * (-DKV_Q8_0, multiples of 32). */
#include "common.glsl"

#define BR 16u           /* query rows per workgroup */
#define BC 32u           /* keys per tile */
#define DC 64u           /* dims per slice of a K or V tile */
#define KSTR4 (DC / 4u + 1u) /* row stride of the slice in vec4 (68 floats: 128-bit reads without bank conflicts) */
#define MAX_HEAD_DIM 256u
#define MAX_SLICES (MAX_HEAD_DIM / DC)
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

shared vec4 sq4[BR * MAX_HEAD_DIM / 4u]; /* the rows' queries times scale: [row][hdk / 4] */
shared vec4 skv4[BC * KSTR4];           /* a slice of the K or V tile: [key][dims of the slice / 4] */
shared vec4 sp4[BR * BC / 4u];          /* scores, then weights exp(s - m): [row][key / 4] */
shared float sm[BR], salpha[BR], sl[BR]; /* per row: running max, this tile's rescale, final sum */

/* Score phase: thread → key tid % BC and rows group + SCORE_GROUPS·k.
 * Output phase: thread → 4 dims (quad tid % (DC / 4)) of a slice and rows
 * group + OUT_GROUPS·k. WG_SIZE 64 … 256 (host checks). */
const uint SCORE_GROUPS = WG_SIZE / BC;
const uint SCORES_PER_THREAD = BR * BC / WG_SIZE;
const uint OUT_GROUPS = WG_SIZE / (DC / 4u);
const uint OUTS_PER_THREAD = BR * (DC / 4u) / WG_SIZE; /* vec4 per slice */
#define MAX_SCORES (BR * BC / 64u)
#define MAX_OUTS (BR * (DC / 4u) / 64u)

/* Loads dims d0 … d0 + w - 1 (w a multiple of 4, at most DC) of keys j0 …
 * j0 + BC - 1 of the K (is_k) or V cache into skv; keys at or past kv_end
 * read as zeros. */
void load_slice(bool is_k, uint j0, uint kv_end, uint kvh, uint d0, uint w)
{
  const uint hd = is_k ? p.head_dim_k : p.head_dim_v;
  const uint row = p.n_head_kv * hd, base = (is_k ? p.k_off : p.v_off) + kvh * hd + d0;
  const uint nq = w / 4u;
  for (uint i = gl_LocalInvocationID.x; i < BC * nq; i += WG_SIZE) {
    const uint c = i / nq, qd = i % nq, j = j0 + c;
    vec4 x = vec4(0.0);
    if (j < kv_end) {
      const uint e = base + j * row + 4u * qd;
      /* a branch, not a select: only the buffer asked for is read */
      if (is_k) x = kquad(e);
      else x = vquad(e);
    }
    skv4[c * KSTR4 + qd] = x;
  }
}

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint kvh = gl_WorkGroupID.y;
  const uint g = p.n_head / p.n_head_kv, n_rows = p.n_tok * g;
  const uint row0 = gl_WorkGroupID.x * BR;
  const uint hdk = p.head_dim_k, hdv = p.head_dim_v, hdk4 = hdk / 4u;
  /* the keys this tile needs: up to the causal limit of its last row */
  const uint row_last = min(row0 + BR, n_rows) - 1u;
  const uint kv_end = p.pos0 + row_last / g + 1u;

  for (uint i = tid; i < BR * hdk4; i += WG_SIZE) {
    const uint r = i / hdk4, d = 4u * (i % hdk4), row = row0 + r;
    vec4 x = vec4(0.0);
    if (row < n_rows) {
      const uint t = row / g, h = kvh * g + row % g, b = p.q_off + t * p.q_stride + h * hdk + d;
      x = vec4(q[b], q[b + 1u], q[b + 2u], q[b + 3u]) * p.scale;
    }
    sq4[i] = x;
  }

  const uint sc = tid % BC, sg = tid / BC;
  const uint oq = tid % (DC / 4u), og = tid / (DC / 4u);
  vec4 acc[MAX_SLICES * MAX_OUTS];
  for (uint i = 0u; i < MAX_SLICES * MAX_OUTS; i++) acc[i] = vec4(0.0);
  /* row tid's running max and sum (threads tid < BR) */
  float m_run = -1.0 / 0.0, l_run = 0.0;

  for (uint j0 = 0u; j0 < kv_end; j0 += BC) {
    /* S = Q·Kᵀ over slices of the dims */
    float s[MAX_SCORES];
    for (uint k = 0u; k < MAX_SCORES; k++) s[k] = 0.0;
    for (uint d0 = 0u; d0 < hdk; d0 += DC) {
      const uint w4 = min(DC, hdk - d0) / 4u;
      barrier(); /* sq written / the previous slice no longer read */
      load_slice(true, j0, kv_end, kvh, d0, 4u * w4);
      barrier();
      for (uint dq = 0u; dq < w4; dq++) {
        const vec4 kx = skv4[sc * KSTR4 + dq];
        for (uint k = 0u; k < SCORES_PER_THREAD; k++) s[k] += dot(sq4[(sg + SCORE_GROUPS * k) * hdk4 + d0 / 4u + dq], kx);
      }
    }
    /* causal mask: row r (token t) sees keys up to pos0 + t */
    const uint j = j0 + sc;
    for (uint k = 0u; k < SCORES_PER_THREAD; k++) {
      const uint r = sg + SCORE_GROUPS * k, row = row0 + r;
      const bool ok = row < n_rows && j <= p.pos0 + row / g;
      s[k] = ok ? s[k] : -1.0 / 0.0;
      sp4[(r * BC + sc) / 4u][sc % 4u] = s[k];
    }
    barrier();
    /* per row: the new running max and the rescale of what came before */
    if (tid < BR) {
      vec4 mt = sp4[tid * (BC / 4u)];
      for (uint c = 1u; c < BC / 4u; c++) mt = max(mt, sp4[tid * (BC / 4u) + c]);
      const float m_new = max(m_run, max(max(mt.x, mt.y), max(mt.z, mt.w)));
      /* a row with no key yet (padding rows) keeps m = -inf: no exp(-inf + inf) */
      salpha[tid] = m_new == -1.0 / 0.0 ? 1.0 : exp(m_run - m_new);
      sm[tid] = m_new;
      m_run = m_new;
    }
    barrier();
    for (uint k = 0u; k < SCORES_PER_THREAD; k++) {
      const uint r = sg + SCORE_GROUPS * k;
      sp4[(r * BC + sc) / 4u][sc % 4u] = s[k] == -1.0 / 0.0 ? 0.0 : exp(s[k] - sm[r]);
    }
    barrier();
    if (tid < BR) {
      vec4 sum = vec4(0.0);
      for (uint c = 0u; c < BC / 4u; c++) sum += sp4[tid * (BC / 4u) + c];
      l_run = l_run * salpha[tid] + (sum.x + sum.y) + (sum.z + sum.w);
    }
    /* O = O·alpha + P·V over slices of the dims; keys in fours (weights
     * of keys past kv_end are 0 and their V rows were loaded as 0) */
    const uint n_in4 = (min(BC, kv_end - j0) + 3u) / 4u;
    for (uint ci = 0u; ci < MAX_SLICES; ci++) {
      const uint d0 = ci * DC;
      if (d0 >= hdv) break;
      const uint w4 = min(DC, hdv - d0) / 4u;
      barrier(); /* the previous slice is no longer read */
      load_slice(false, j0, kv_end, kvh, d0, 4u * w4);
      barrier();
      for (uint k = 0u; k < OUTS_PER_THREAD; k++) {
        const uint r = og + OUT_GROUPS * k;
        vec4 a = acc[ci * MAX_OUTS + k] * salpha[r];
        if (oq < w4)
          for (uint c4 = 0u; c4 < n_in4; c4++) {
            const vec4 pw = sp4[r * (BC / 4u) + c4];
            const uint v0 = 4u * c4 * KSTR4 + oq;
            a += pw.x * skv4[v0] + pw.y * skv4[v0 + KSTR4] + pw.z * skv4[v0 + 2u * KSTR4] + pw.w * skv4[v0 + 3u * KSTR4];
          }
        acc[ci * MAX_OUTS + k] = a;
      }
    }
    barrier(); /* sp, sm and salpha are rewritten by the next tile */
  }

  if (tid < BR) sl[tid] = l_run;
  barrier();
  for (uint ci = 0u; ci < MAX_SLICES; ci++) {
    const uint d0 = ci * DC;
    if (d0 >= hdv) break;
    const uint d = d0 + 4u * oq;
    for (uint k = 0u; k < OUTS_PER_THREAD; k++) {
      const uint r = og + OUT_GROUPS * k, row = row0 + r;
      if (row < n_rows && d < hdv) {
        const uint t = row / g, h = kvh * g + row % g, b = p.o_off + t * p.o_stride + h * hdv + d;
        const vec4 x = acc[ci * MAX_OUTS + k] / sl[r];
        o[b] = x.x, o[b + 1u] = x.y, o[b + 2u] = x.z, o[b + 3u] = x.w;
      }
    }
  }
}
