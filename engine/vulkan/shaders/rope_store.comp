#version 450
/* rope_store.comp — a layer's attention inputs in one dispatch, between the
 * q/k/v products and attention: what would otherwise be up to six
 * dispatches (RMSNorm of q and of k per head for Qwen3, rope of q, rope of
 * k, the K store and the V store into the cache), each costing a launch
 * and a barrier per layer and token.
 *
 * One workgroup per (token, head item); the items of a token are its
 * n_head query heads, then its n_head_kv key heads, then its n_head_kv
 * value heads. A head is read into shared memory once; then
 *   - query heads: RMSNorm with the q_norm weight (flag QNORM), rope, and
 *     written back in place;
 *   - key heads: RMSNorm with k_norm (flag KNORM), rope, and stored into
 *     the K cache at the token's position;
 *   - value heads: stored into the V cache.
 * Rope as rope.comp: cos/sin tables [n_tok][n_rot/2] from the CPU, neox
 * pairs (i, i + n_rot/2) or normal pairs (2i, 2i + 1). RMSNorm as
 * rms_norm.comp. Cache rows: [pos][n_head_kv][head_dim] of F32, F16 (packed
 * halves; -DKV_F16) or Q8_0 (-DKV_Q8_0: 34-byte blocks, the CPU quantizer's
 * bytes via q8_round.glsl). With Q8_0 a head is whole pairs of blocks (head
 * dims and offsets multiples of 64), so no two workgroups share a word. */
#include "common.glsl"

#define MAX_HEAD_DIM 256u

layout(std430, binding = 0) buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { float k[]; };
layout(std430, binding = 2) readonly buffer V { float v[]; };
layout(std430, binding = 3) readonly buffer CS { float cs[]; };
#if defined(KV_F32)
layout(std430, binding = 4) writeonly buffer KC { float kc[]; };
layout(std430, binding = 5) writeonly buffer VC { float vc[]; };
#else
layout(std430, binding = 4) writeonly buffer KC { uint kc[]; };
layout(std430, binding = 5) writeonly buffer VC { uint vc[]; };
#endif
layout(std430, binding = 6) readonly buffer QN { float qn[]; };
layout(std430, binding = 7) readonly buffer KN { float kn[]; };

layout(push_constant) uniform Params {
  uint n_tok, n_head, n_head_kv, head_dim_k, head_dim_v, n_rot, flags;
  float eps;
  uint q_off, q_stride; /* floats: token t's query heads at q_off + t * q_stride */
  uint k_off, k_stride, v_off, v_stride;
  uint cs_off, sin_off; /* cos at cs_off, sin at cs_off + sin_off */
  uint kc_off, vc_off;  /* cache elements: the row of token 0 */
} p;

shared float s_x[MAX_HEAD_DIM];
#define SX s_x

#if defined(KV_F32)
void put_f(bool key, uint i, float x)
{
  if (key) kc[i] = x;
  else vc[i] = x;
}
#else
void put_w(bool key, uint i, uint w)
{
  if (key) kc[i] = w;
  else vc[i] = w;
}
#endif

#include "head_prep.glsl"

void main()
{
  const uint n_items = p.n_head + 2u * p.n_head_kv;
  const uint item = group_row();
  if (item >= p.n_tok * n_items) return; /* whole workgroups: uniform */
  const uint t = item / n_items, h = item % n_items, tid = gl_LocalInvocationID.x;
  const uint kind = h < p.n_head ? 0u : h < p.n_head + p.n_head_kv ? 1u : 2u; /* q, k, v */
  const uint hh = kind == 0u ? h : kind == 1u ? h - p.n_head : h - p.n_head - p.n_head_kv;
  const uint hd = kind == 2u ? p.head_dim_v : p.head_dim_k;

  if (kind == 0u)
    for (uint i = tid; i < hd; i += WG_SIZE) s_x[i] = q[p.q_off + t * p.q_stride + hh * hd + i];
  else if (kind == 1u)
    for (uint i = tid; i < hd; i += WG_SIZE) s_x[i] = k[p.k_off + t * p.k_stride + hh * hd + i];
  else
    for (uint i = tid; i < hd; i += WG_SIZE) s_x[i] = v[p.v_off + t * p.v_stride + hh * hd + i];

  /* (each thread loaded the elements it rescales) */
  if ((kind == 0u && (p.flags & FLAG_QNORM) != 0u) || (kind == 1u && (p.flags & FLAG_KNORM) != 0u))
    head_norm(0u, hd, kind == 0u, p.eps);
  barrier();

  if (kind != 2u && p.n_rot > 0u) {
    const uint half_rot = p.n_rot / 2u, c0 = p.cs_off + t * half_rot;
    for (uint i = tid; i < half_rot; i += WG_SIZE)
      head_rope_pair(0u, i, p.n_rot, (p.flags & FLAG_NEOX) != 0u, c0, c0 + p.sin_off);
    barrier();
  }

  if (kind == 0u) {
    for (uint i = tid; i < hd; i += WG_SIZE) q[p.q_off + t * p.q_stride + hh * hd + i] = s_x[i];
    return;
  }
  const bool key = kind == 1u;
  const uint e0 = (key ? p.kc_off + t * p.n_head_kv * p.head_dim_k : p.vc_off + t * p.n_head_kv * p.head_dim_v) +
                  hh * hd; /* the head's first cache element */
  head_put(key, e0, hd, 0u, false);
}
