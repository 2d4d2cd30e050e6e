#version 450
/* attention.comp — causal attention with GQA over the KV cache of one layer,
 * flash-attention style: keys are visited in blocks of WG_SIZE with an
 * online softmax (running max m, running sum l, output rescaled when m
 * grows), so no [n_ctx] score buffer is needed and the context length is
 * limited only by the cache.
 *
 * One workgroup per (token, query head). In a block, thread i scores key
 * j0 + i (full dot with the query, kept in shared memory); then threads
 * switch to output dims and accumulate p_j · V_j over the block.
 * Cache layout: K [pos][n_head_kv][head_dim_k], V [pos][n_head_kv][head_dim_v],
 * F32, F16 (-DKV_F16, stored as packed halves) or Q8_0 (-DKV_Q8_0: 34-byte
 * blocks along each row; head dims and offsets multiples of 32). */
#include "common.glsl"

#define MAX_HEAD_DIM 256

layout(std430, binding = 0) readonly buffer Q { float q[]; };
#if defined(KV_Q8_0)
/* Q8_0 blocks of 34 bytes (fp16 scale, 32 int8 codes) read as words: a
 * block starts on an even byte, so its scale is one half of a word and its
 * codes start at byte 2 of a word (even blocks) or on a word (odd ones). */
layout(std430, binding = 1) readonly buffer K { uint kc[]; };
layout(std430, binding = 2) readonly buffer V { uint vc[]; };
#define Q8_SCALE(buf, blk) unpackHalf2x16(((blk) & 1u) != 0u ? buf[((blk) * 34u) >> 2] >> 16 : buf[((blk) * 34u) >> 2]).x
/* four codes at an even byte offset */
#define Q8_WORD(buf, off) (((off) & 2u) != 0u ? (buf[(off) >> 2] >> 16) | (buf[((off) >> 2) + 1u] << 16) : buf[(off) >> 2])
float code(uint w, uint k) { return float(bitfieldExtract(int(w), int(8u * k), 8)); }
/* value element e (K or V): its block's scale times its code */
float vval(uint e)
{
  const uint blk = e >> 5, pos = blk * 34u + 2u + (e & 31u);
  return Q8_SCALE(vc, blk) * float(bitfieldExtract(int(vc[pos >> 2]), int(8u * (pos & 3u)), 8));
}
#elif defined(KV_F16)
layout(std430, binding = 1) readonly buffer K { uint kc[]; };
layout(std430, binding = 2) readonly buffer V { uint vc[]; };
float kval(uint i) { return unpackHalf2x16(kc[i >> 1])[i & 1u]; }
float vval(uint i) { return unpackHalf2x16(vc[i >> 1])[i & 1u]; }
#else
layout(std430, binding = 1) readonly buffer K { float kc[]; };
layout(std430, binding = 2) readonly buffer V { float vc[]; };
float kval(uint i) { return kc[i]; }
float vval(uint i) { return vc[i]; }
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

shared float sq[MAX_HEAD_DIM];
shared float sp[WG_SIZE];

void main()
{
  const uint item = group_row();
  if (item >= p.n_tok * p.n_head) return;
  const uint t = item / p.n_head, h = item % p.n_head;
  const uint kvh = h / (p.n_head / p.n_head_kv);
  const uint tid = gl_LocalInvocationID.x;
  const uint n_kv = p.pos0 + t + 1u;
  const uint kstride = p.n_head_kv * p.head_dim_k, vstride = p.n_head_kv * p.head_dim_v;

  for (uint d = tid; d < p.head_dim_k; d += WG_SIZE) sq[d] = q[p.q_off + t * p.q_stride + h * p.head_dim_k + d];
  barrier();

  /* each thread owns output dims tid, tid + WG_SIZE, … (at most MAX_HEAD_DIM / 8 of them) */
  float acc[MAX_HEAD_DIM / 8];
  for (uint i = 0u; i < MAX_HEAD_DIM / 8; i++) acc[i] = 0.0;
  float m = -1.0 / 0.0, l = 0.0;

  for (uint j0 = 0u; j0 < n_kv; j0 += WG_SIZE) {
    const uint j = j0 + tid;
    float s = -1.0 / 0.0;
    if (j < n_kv) {
      const uint kb = p.k_off + j * kstride + kvh * p.head_dim_k;
      float dot = 0.0;
#if defined(KV_Q8_0)
      /* head_dim_k and kb are multiples of 32: whole blocks, one scale each */
      for (uint d0 = 0u; d0 < p.head_dim_k; d0 += 32u) {
        const uint blk = (kb + d0) >> 5, c0 = blk * 34u + 2u;
        float part = 0.0;
        for (uint g = 0u; g < 8u; g++) {
          const uint w = Q8_WORD(kc, c0 + 4u * g), d = d0 + 4u * g;
          part += sq[d] * code(w, 0u) + sq[d + 1u] * code(w, 1u) + sq[d + 2u] * code(w, 2u) + sq[d + 3u] * code(w, 3u);
        }
        dot += Q8_SCALE(kc, blk) * part;
      }
#else
      for (uint d = 0u; d < p.head_dim_k; d++) dot += sq[d] * kval(kb + d);
#endif
      s = dot * p.scale;
    }
    const float m_new = max(m, wg_max(s));
    const float e = j < n_kv ? exp(s - m_new) : 0.0;
    sp[tid] = e;
    const float block_sum = wg_sum(e);
    barrier(); /* publish sp (wg_sum has no barrier with a single subgroup) */
    const float rescale = exp(m - m_new); /* 0 on the first block (m = -inf) */
    l = l * rescale + block_sum;
    m = m_new;
    const uint n_in = min(WG_SIZE, n_kv - j0);
    uint k = 0u;
    for (uint d = tid; d < p.head_dim_v; d += WG_SIZE, k++) {
      float a = acc[k] * rescale;
      for (uint jj = 0u; jj < n_in; jj++) a += sp[jj] * vval(p.v_off + (j0 + jj) * vstride + kvh * p.head_dim_v + d);
      acc[k] = a;
    }
    barrier(); /* sp is rewritten by the next block */
  }
  const float inv = 1.0 / l;
  uint k = 0u;
  for (uint d = tid; d < p.head_dim_v; d += WG_SIZE, k++) o[p.o_off + t * p.o_stride + h * p.head_dim_v + d] = acc[k] * inv;
}
