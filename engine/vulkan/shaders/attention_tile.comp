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
 *   (vec4 / 4-half / Q8_0-word reads, converted to float) while each thread
 *   keeps its BR·BC / WG_SIZE scores in registers; Q (pre-scaled) stays in
 *   shared memory for the whole key loop;
 * - online softmax per row (running max m, running sum l, output rescaled
 *   by exp(m_old - m_new)); each row has its own causal limit pos0 + t,
 *   keys past it score -inf; tiles past every row's limit are not visited;
 * - O += P·V: the V tile in slices of DC dims, each thread owning BR·DC /
 *   WG_SIZE outputs of a slice (all slices: at most 64 floats per thread
 *   with 64 threads and head_dim_v 256).
 * Shared memory (floats): Q BR·256, K/V slice BC·(DC+1), P BR·BC, 3·BR row
 * stats = 27 KiB for every KV type and head dim up to 256 (plus the
 * reduction scratch of common.glsl). WG_SIZE: a multiple of 64, 512 at most
 * (host checks). Cache layout as attention.comp: K [pos][n_head_kv][hdk],
 * V [pos][n_head_kv][hdv]; F32 (head dims and offsets multiples of 4),
 * F16 (-DKV_F16, same) or Q8_0 (-DKV_Q8_0, multiples of 32). */
#include "common.glsl"

#define BR 16u           /* query rows per workgroup */
#define BC 32u           /* keys per tile */
#define DC 64u           /* dims per slice of a K or V tile */
#define KSTR (DC + 1u)   /* row stride of the slice in shared memory (no bank conflicts) */
#define MAX_HEAD_DIM 256u
#define MAX_SLICES (MAX_HEAD_DIM / DC)

layout(std430, binding = 0) readonly buffer Q { float q[]; };
#if defined(KV_Q8_0)
/* 34-byte blocks (fp16 scale, 32 int8 codes) read as words, as attention.comp */
layout(std430, binding = 1) readonly buffer K { uint kc[]; };
layout(std430, binding = 2) readonly buffer V { uint vc[]; };
#define Q8_SCALE(buf, blk) unpackHalf2x16(((blk) & 1u) != 0u ? buf[((blk) * 34u) >> 2] >> 16 : buf[((blk) * 34u) >> 2]).x
/* four codes at an even byte offset */
#define Q8_WORD(buf, off) (((off) & 2u) != 0u ? (buf[(off) >> 2] >> 16) | (buf[((off) >> 2) + 1u] << 16) : buf[(off) >> 2])
/* elements e … e + 3 (e a multiple of 4): inside one block */
vec4 quad_q8(uint e, bool is_k)
{
  const uint blk = e >> 5, off = blk * 34u + 2u + (e & 31u);
  const uint w = is_k ? Q8_WORD(kc, off) : Q8_WORD(vc, off);
  const float d = is_k ? Q8_SCALE(kc, blk) : Q8_SCALE(vc, blk);
  return d * vec4(ivec4(w << 24, w << 16, w << 8, w) >> 24);
}
vec4 kquad(uint e) { return quad_q8(e, true); }
vec4 vquad(uint e) { return quad_q8(e, false); }
#elif defined(KV_F16)
layout(std430, binding = 1) readonly buffer K { uvec2 k2[]; }; /* 4 halves */
layout(std430, binding = 2) readonly buffer V { uvec2 v2[]; };
vec4 kquad(uint e) { const uvec2 w = k2[e >> 2]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
vec4 vquad(uint e) { const uvec2 w = v2[e >> 2]; return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
#else
layout(std430, binding = 1) readonly buffer K { vec4 k4[]; };
layout(std430, binding = 2) readonly buffer V { vec4 v4[]; };
vec4 kquad(uint e) { return k4[e >> 2]; }
vec4 vquad(uint e) { return v4[e >> 2]; }
#endif
layout(std430, binding = 3) writeonly buffer O { float o[]; };

layout(push_constant) uniform Params {
  uint n_tok, n_head, n_head_kv, head_dim_k, head_dim_v;
  uint pos0;            /* position of token 0; token t sees keys 0..pos0+t */
  uint q_off, q_stride; /* floats */
  uint k_off, v_off;    /* elements: start of this layer's cache */
  uint o_off, o_stride;
  float scale;
} p;

shared float sq[BR * MAX_HEAD_DIM]; /* the rows' queries times scale: [row][hdk] */
shared float skv[BC * KSTR];        /* a slice of the K or V tile: [key][dim of the slice] */
shared float sp[BR * BC];           /* scores, then weights exp(s - m): [row][key] */
shared float sm[BR], salpha[BR], sl[BR]; /* per row: running max, this tile's rescale, final sum */

/* threads per key in the score phase and per dim in the output phase */
const uint SCORE_GROUPS = WG_SIZE / BC;         /* rows r = group + SCORE_GROUPS·k */
const uint SCORES_PER_THREAD = BR * BC / WG_SIZE;
const uint OUT_GROUPS = WG_SIZE / DC;           /* rows r = group + OUT_GROUPS·k */
const uint OUTS_PER_THREAD = BR * DC / WG_SIZE; /* per slice */
#define MAX_SCORES (BR * BC / 64u)
#define MAX_OUTS (BR * DC / 64u)

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
      x = is_k ? kquad(e) : vquad(e);
    }
    const uint s = c * KSTR + 4u * qd;
    skv[s] = x.x, skv[s + 1u] = x.y, skv[s + 2u] = x.z, skv[s + 3u] = x.w;
  }
}

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint kvh = gl_WorkGroupID.y;
  const uint g = p.n_head / p.n_head_kv, n_rows = p.n_tok * g;
  const uint row0 = gl_WorkGroupID.x * BR;
  const uint hdk = p.head_dim_k, hdv = p.head_dim_v;
  /* the keys this tile needs: up to the causal limit of its last row */
  const uint row_last = min(row0 + BR, n_rows) - 1u;
  const uint kv_end = p.pos0 + row_last / g + 1u;

  for (uint i = tid; i < BR * hdk; i += WG_SIZE) {
    const uint r = i / hdk, d = i % hdk, row = row0 + r;
    float x = 0.0;
    if (row < n_rows) {
      const uint t = row / g, h = kvh * g + row % g;
      x = q[p.q_off + t * p.q_stride + h * hdk + d] * p.scale;
    }
    sq[i] = x;
  }

  /* score phase: this thread's key and rows */
  const uint sc = tid % BC, sg = tid / BC;
  /* output phase: this thread's dim in a slice and rows */
  const uint od = tid % DC, og = tid / DC;
  float acc[MAX_SLICES * MAX_OUTS];
  for (uint i = 0u; i < MAX_SLICES * MAX_OUTS; i++) acc[i] = 0.0;
  /* row tid's running max and sum (threads tid < BR) */
  float m_run = -1.0 / 0.0, l_run = 0.0;

  for (uint j0 = 0u; j0 < kv_end; j0 += BC) {
    /* S = Q·Kᵀ over slices of the dims */
    float s[MAX_SCORES];
    for (uint k = 0u; k < MAX_SCORES; k++) s[k] = 0.0;
    for (uint d0 = 0u; d0 < hdk; d0 += DC) {
      const uint w = min(DC, hdk - d0);
      barrier(); /* sq written / the previous slice no longer read */
      load_slice(true, j0, kv_end, kvh, d0, w);
      barrier();
      for (uint dd = 0u; dd < w; dd++) {
        const float kx = skv[sc * KSTR + dd];
        for (uint k = 0u; k < SCORES_PER_THREAD; k++) s[k] += sq[(sg + SCORE_GROUPS * k) * hdk + d0 + dd] * kx;
      }
    }
    /* causal mask: row r (token t) sees keys up to pos0 + t */
    const uint j = j0 + sc;
    for (uint k = 0u; k < SCORES_PER_THREAD; k++) {
      const uint r = sg + SCORE_GROUPS * k, row = row0 + r;
      const bool ok = row < n_rows && j <= p.pos0 + row / g;
      s[k] = ok ? s[k] : -1.0 / 0.0;
      sp[r * BC + sc] = s[k];
    }
    barrier();
    /* per row: the new running max and the rescale of what came before */
    if (tid < BR) {
      float mt = sp[tid * BC];
      for (uint c = 1u; c < BC; c++) mt = max(mt, sp[tid * BC + c]);
      const float m_new = max(m_run, mt);
      /* a row with no key yet (padding rows) keeps m = -inf: no exp(-inf + inf) */
      salpha[tid] = m_new == -1.0 / 0.0 ? 1.0 : exp(m_run - m_new);
      sm[tid] = m_new;
      m_run = m_new;
    }
    barrier();
    for (uint k = 0u; k < SCORES_PER_THREAD; k++) {
      const uint r = sg + SCORE_GROUPS * k;
      sp[r * BC + sc] = s[k] == -1.0 / 0.0 ? 0.0 : exp(s[k] - sm[r]);
    }
    barrier();
    if (tid < BR) {
      float sum = 0.0;
      for (uint c = 0u; c < BC; c++) sum += sp[tid * BC + c];
      l_run = l_run * salpha[tid] + sum;
    }
    /* O = O·alpha + P·V over slices of the dims */
    const uint n_in = min(BC, kv_end - j0);
    for (uint ci = 0u; ci < MAX_SLICES; ci++) {
      const uint d0 = ci * DC;
      if (d0 >= hdv) break;
      const uint w = min(DC, hdv - d0);
      barrier(); /* the previous slice is no longer read */
      load_slice(false, j0, kv_end, kvh, d0, w);
      barrier();
      for (uint k = 0u; k < OUTS_PER_THREAD; k++) {
        const uint r = og + OUT_GROUPS * k;
        float a = acc[ci * MAX_OUTS + k] * salpha[r];
        if (od < w)
          for (uint c = 0u; c < n_in; c++) a += sp[r * BC + c] * skv[c * KSTR + od];
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
    const uint d = d0 + od;
    for (uint k = 0u; k < OUTS_PER_THREAD; k++) {
      const uint r = og + OUT_GROUPS * k, row = row0 + r;
      if (row < n_rows && d < hdv) {
        const uint t = row / g, h = kvh * g + row % g;
        o[p.o_off + t * p.o_stride + h * hdv + d] = acc[ci * MAX_OUTS + k] / sl[r];
      }
    }
  }
}
