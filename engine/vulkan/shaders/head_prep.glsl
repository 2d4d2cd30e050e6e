/* head_prep.glsl — one attention head's inputs made ready, shared by
 * rope_store.comp (every head of a batch) and attention_split.comp -DFOLD
 * (decode: the heads of one KV group, without a dispatch of their own):
 * RMSNorm with q_norm / k_norm (Qwen3), rope with the CPU's cos/sin tables,
 * and a key or value head written into the cache as F32, F16 (-DKV_F16) or
 * Q8_0 (-DKV_Q8_0, the CPU quantizer's bytes). The two shaders run the same
 * code here, so a folded decode step writes the cache rows the separate
 * dispatch would, up to how the driver compiles each (the subgroup size it
 * gives the norm's sum, fused multiply-adds).
 *
 * Needs before inclusion: common.glsl; SX, the shared float array the heads
 * are in; buffers cs (cos/sin), qn, kn (norm weights); and the cache
 * writers put_f(bool key, uint i, float x) (KV_F32) or put_w(bool key,
 * uint i, uint word) (else). */

#define FLAG_NEOX 1u
#define FLAG_QNORM 2u
#define FLAG_KNORM 4u

#if defined(KV_Q8_0)
#include "q8_round.glsl"
shared uint s_dh[MAX_HEAD_DIM / 32u];
shared float s_id[MAX_HEAD_DIM / 32u];
#endif

/* RMSNorm of the head at SX[base …+hd) with q_norm (query) or k_norm: each
 * thread rescales the elements i ≡ tid (mod WG_SIZE) (the caller's barrier
 * before: they may have been loaded by others). Workgroup-uniform call. */
void head_norm(uint base, uint hd, bool query, float eps)
{
  const uint tid = gl_LocalInvocationID.x;
  float ss = 0.0;
  for (uint i = tid; i < hd; i += WG_SIZE) ss += SX[base + i] * SX[base + i];
  const float scale = inversesqrt(wg_sum(ss) / float(hd) + eps);
  for (uint i = tid; i < hd; i += WG_SIZE) SX[base + i] = SX[base + i] * scale * (query ? qn[i] : kn[i]);
}

/* Rope of pair i (< n_rot / 2) of the head at SX[base …]: neox pairs (i,
 * i + n_rot/2), else (2i, 2i + 1); cos at cs[c0 + i], sin at cs[s0 + i]. */
void head_rope_pair(uint base, uint i, uint n_rot, bool neox, uint c0, uint s0)
{
  const uint half_rot = n_rot / 2u;
  const uint a = base + (neox ? i : 2u * i), b = base + (neox ? i + half_rot : 2u * i + 1u);
  const float c = cs[c0 + i], s = cs[s0 + i];
  const float x0 = SX[a], x1 = SX[b];
  SX[a] = x0 * c - x1 * s;
  SX[b] = x0 * s + x1 * c;
}

/* The key (key) or value head at SX[base …+hd) into the cache from element
 * e0 (Q8_0: e0 and hd multiples of 64, so no two heads share a word). With
 * keep, SX then holds what the cache does (F16: the halves; Q8_0: scale ×
 * code), for a reader that takes the head from there instead. Workgroup-
 * uniform call; a barrier before it (SX written by others). */
void head_put(bool key, uint e0, uint hd, uint base, bool keep)
{
  const uint tid = gl_LocalInvocationID.x;
#if defined(KV_F32)
  for (uint i = tid; i < hd; i += WG_SIZE) put_f(key, e0 + i, SX[base + i]);
#elif defined(KV_F16)
  for (uint i = tid; i < hd / 2u; i += WG_SIZE) {
    const uint word = packHalf2x16(vec2(SX[base + 2u * i], SX[base + 2u * i + 1u]));
    put_w(key, e0 / 2u + i, word);
    if (keep) {
      const vec2 h = unpackHalf2x16(word); /* (packHalf2x16 rounds as the device likes) */
      SX[base + 2u * i] = h.x;
      SX[base + 2u * i + 1u] = h.y;
    }
  }
#else
  /* block scales first (one thread per block), then the words of the
   * head's pairs of blocks, one thread per word */
  for (uint b = tid; b < hd / 32u; b += WG_SIZE) {
    float amax = 0.0;
    for (uint j = 0u; j < 32u; j++) amax = max(amax, abs(SX[base + 32u * b + j]));
    uint dh;
    float id;
    q8_block_params(amax, dh, id);
    s_dh[b] = dh;
    s_id[b] = id;
  }
  barrier();
  const uint w0 = e0 / 64u * 17u, n_words = hd / 64u * 17u;
  for (uint w = tid; w < n_words; w += WG_SIZE) {
    const uint pair = w / 17u, wp = w % 17u;
    uint word = 0u;
    for (uint c = 0u; c < 4u; c++) {
      const uint byte_in_pair = 4u * wp + c;
      const uint blk = 2u * pair + (byte_in_pair >= 34u ? 1u : 0u);
      const uint off = byte_in_pair >= 34u ? byte_in_pair - 34u : byte_in_pair;
      const uint bv = off < 2u ? (s_dh[blk] >> (8u * off)) & 0xFFu : q8_code(SX[base + 32u * blk + off - 2u], s_id[blk]);
      word |= bv << (8u * c);
    }
    put_w(key, w0 + w, word);
  }
  if (keep) {
    barrier(); /* every word is made from SX */
    for (uint i = tid; i < hd; i += WG_SIZE) {
      const uint code = q8_code(SX[base + i], s_id[i / 32u]);
      SX[base + i] = unpackHalf2x16(s_dh[i / 32u]).x * float(int(code << 24) >> 24);
    }
  }
#endif
}
