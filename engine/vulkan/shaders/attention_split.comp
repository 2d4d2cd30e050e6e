#version 450
/* attention_split.comp — the first half of attention for a few tokens
 * (decode), split along the keys ("flash decoding"). attention.comp gives one
 * workgroup to each (token, query head) and walks all keys in it: at decode
 * that is n_head workgroups (32 for Llama 8B) on a GPU with over a hundred
 * compute units, and each K/V row is read once per query head. Here:
 * - workgroup (chunk c, KV head g, token t) takes keys c·chunk … +chunk-1
 *   (chunk: WG_SIZE at long contexts, down to 16 at short ones, so that
 *   there are enough workgroups) and all the query heads that share KV
 *   head g (GQA: 4 to 8 of them), so
 *   each K and V row is read once, by n_chunks × n_head_kv workgroups;
 * - it writes, per query head, the chunk's max score m, sum of exp l and
 *   unnormalised output Σ exp(s - m)·V to `part`; attention_merge.comp
 *   combines the chunks.
 * Phase 1: WG_SIZE / chunk threads score each key against the group's
 * queries, each over a slice of the dims (16-byte reads of the K row;
 * queries in shared memory), and the slices are summed. Phase 2: per head,
 * the chunk max and the weights exp(s - m). Phase 3: threads take words of
 * the V rows (neighbours read neighbouring words) for a share of the keys;
 * the key groups' sums meet in shared memory.
 * Cache layout as attention.comp: K [pos][n_head_kv][head_dim_k], V
 * [pos][n_head_kv][head_dim_v], F32, F16 (-DKV_F16) or Q8_0 (-DKV_Q8_0, 34-byte
 * blocks); the host checks that rows start on 16 bytes (Q8_0: on a block). Part layout: [t][h][chunk][2 + head_dim_v].
 *
 * -DFOLD (one token, position pos0): rope_store.comp's work is done here
 * instead of in a dispatch of its own before (one launch and one barrier
 * fewer per layer and token). Binding 0 holds the q/k/v products as they
 * come (q, then k from k_src, v from v_src of binding 7); every workgroup
 * normalises (Qwen3) and ropes its group's queries itself (head_prep.glsl),
 * and the one whose chunk holds pos0 also makes the new key and value, writes
 * them into the cache (as rope_store.comp does, with the same code) and takes
 * them from shared memory, as the cache holds them, for that key: nothing in
 * this dispatch reads the cache row it writes.
 *
 * -DMERGE (with FOLD): attention_merge.comp's work is done here too, by the
 * last of a KV head's workgroups to finish (one more launch and barrier
 * fewer). Each workgroup writes its partial results and counts itself in on
 * the head's counter (binding 8, count_in.glsl), so the workgroup that brings
 * the count to the head's number of chunks sees every other one's partials
 * (part is coherent: no stale per-unit cache). That one merges them for its
 * group's query heads (the same arithmetic as attention_merge.comp) into
 * binding 9, rounded to 8 bits as well with flag 8 (act8.glsl's layout from
 * word r8_off), and sets the counter back to 0 for the next dispatch. No
 * workgroup waits for another. */
#include "common.glsl"
#ifdef MERGE
#define COUNT_BINDING 8 /* per KV head */
#include "count_in.glsl"
#endif

#define MAX_G 8u         /* query heads per KV head */
#define MAX_HEAD_DIM 256u

layout(std430, binding = 0) readonly buffer Q { float q[]; };
#if defined(KV_Q8_0)
/* 34-byte blocks (fp16 scale, 32 int8 codes) along each row, read as words:
 * a block starts on an even byte (host: head dims and offsets multiples of
 * 32, so a K row is whole blocks) */
layout(std430, binding = 1) readonly buffer K { uint kc[]; };
layout(std430, binding = 2) readonly buffer V { uint vc[]; };
#define K_PER_LOAD 32u
/* 16 bits at an even byte offset */
uint half16(uint w, uint byte_off) { return (byte_off & 2u) != 0u ? w >> 16 : w & 0xffffu; }
#elif defined(KV_F16)
layout(std430, binding = 1) readonly buffer K { uvec4 k4[]; }; /* 8 halves */
layout(std430, binding = 2) readonly buffer V { uint vw[]; };  /* 2 halves */
#define K_PER_LOAD 8u
#else
layout(std430, binding = 1) readonly buffer K { vec4 k4[]; };
layout(std430, binding = 2) readonly buffer V { vec2 vw[]; };  /* read as pairs, like the halves */
#define K_PER_LOAD 4u
#endif
#ifdef MERGE
/* read back by the head's last workgroup: coherent (no stale per-unit cache) */
layout(std430, binding = 3) coherent buffer Part { float part[]; };
layout(std430, binding = 9) writeonly buffer O { float o[]; };
layout(std430, binding = 9) writeonly buffer OQ { uint oq[]; };
layout(std430, binding = 9) writeonly buffer OD { vec2 od[]; };
#else
layout(std430, binding = 3) writeonly buffer Part { float part[]; };
#endif

layout(push_constant) uniform Params {
  uint n_tok, n_head, n_head_kv, head_dim_k, head_dim_v;
  uint pos0;            /* position of token 0; token t sees keys 0..pos0+t */
  uint q_off, q_stride; /* floats */
  uint k_off, v_off;    /* elements: start of this layer's cache */
  uint n_chunks;        /* chunks per (token, head) in part: of the last token */
  float scale;
  uint chunk;           /* keys per workgroup: a power of two, WG_SIZE at most */
#ifdef FOLD
  /* rope_store.comp's, for the one token */
  uint n_rot, flags;
  float eps;
  uint k_src, v_src;    /* floats: the new key heads in binding 0, the value heads in binding 7 */
  uint cs_off, sin_off; /* cos at cs_off, sin at cs_off + sin_off */
#endif
#ifdef MERGE
  uint o_off;           /* floats: the output row in binding 9 */
  uint r8_off;          /* words: its 8-bit form (flag 8) */
#endif
} p;

#ifdef FOLD
/* the group's queries (scaled), later the key groups' partial outputs
 * (2 · G · WG_SIZE floats at most: below KX); the new key at KX, its value at VX */
#define KX (MAX_G * MAX_HEAD_DIM)
#define VX (KX + MAX_HEAD_DIM)
shared float sq[MAX_G * MAX_HEAD_DIM + 2u * MAX_HEAD_DIM];
shared float s_new[MAX_G]; /* the new key's score against each query of the group */
layout(std430, binding = 4) readonly buffer CS { float cs[]; };
layout(std430, binding = 5) readonly buffer QN { float qn[]; };
layout(std430, binding = 6) readonly buffer KN { float kn[]; };
layout(std430, binding = 7) readonly buffer VS { float vsrc[]; };
/* the cache, written at pos0 */
#if defined(KV_F32)
layout(std430, binding = 1) writeonly buffer KCW { float kcw[]; };
layout(std430, binding = 2) writeonly buffer VCW { float vcw[]; };
void put_f(bool key, uint i, float x)
{
  if (key) kcw[i] = x;
  else vcw[i] = x;
}
#else
layout(std430, binding = 1) writeonly buffer KCW { uint kcw[]; };
layout(std430, binding = 2) writeonly buffer VCW { uint vcw[]; };
void put_w(bool key, uint i, uint w)
{
  if (key) kcw[i] = w;
  else vcw[i] = w;
}
#endif
#define SX sq
#include "head_prep.glsl"
#ifdef MERGE
#include "act8.glsl"
#define FLAG_ROUND8 8u
#endif
#else
/* the group's queries (scaled), later the key groups' partial outputs */
shared float sq[MAX_G * MAX_HEAD_DIM];
#endif
/* scores, then weights: [head of the group][key of the chunk] */
shared float ss[MAX_G * WG_SIZE];
shared float sm[MAX_G];

/* V elements e and e + 1 (e even) */
vec2 vpair(uint e)
{
#if defined(KV_Q8_0)
  const uint b = (e >> 5) * 34u, c = b + 2u + (e & 31u); /* c: even */
  const float d = unpackHalf2x16(half16(vc[b >> 2], b)).x;
  const uint two = half16(vc[c >> 2], c);
  return d * vec2(float(int(two << 24) >> 24), float(int(two << 16) >> 24));
#elif defined(KV_F16)
  return unpackHalf2x16(vw[e >> 1]);
#else
  return vw[e >> 1];
#endif
}

void main()
{
  const uint c = gl_WorkGroupID.x, g = gl_WorkGroupID.y, t = gl_WorkGroupID.z;
  const uint tid = gl_LocalInvocationID.x;
  const uint G = p.n_head / p.n_head_kv;
  const uint n_kv = p.pos0 + t + 1u;
  const uint chunk = p.chunk, j0 = c * chunk;
  if (j0 >= n_kv) return; /* this token's keys end earlier: the whole workgroup leaves */
  const uint hdk = p.head_dim_k, hdv = p.head_dim_v;
  /* phase 1 work split: S = WG_SIZE / chunk threads per key, each taking
   * hdk / S dims (whole reads: the host keeps hdk / S a multiple of
   * K_PER_LOAD). Short contexts get small chunks, so more workgroups. */
  const uint S = WG_SIZE / chunk, per = hdk / S;

#ifdef FOLD
  /* the queries of the group (and, where this chunk holds it, the new key and
   * value) as rope_store.comp makes them; n_tok is 1 */
  const uint pos = p.pos0;
  const bool holds = pos >= j0 && pos - j0 < chunk; /* the same for the whole workgroup */
  for (uint i = tid; i < G * hdk; i += WG_SIZE) sq[i] = q[p.q_off + g * G * hdk + i];
  if (holds) {
    for (uint i = tid; i < hdk; i += WG_SIZE) sq[KX + i] = q[p.k_src + g * hdk + i];
    for (uint i = tid; i < hdv; i += WG_SIZE) sq[VX + i] = vsrc[p.v_src + g * hdv + i];
  }
  barrier();
  if ((p.flags & FLAG_QNORM) != 0u)
    for (uint gi = 0u; gi < G; gi++) head_norm(gi * hdk, hdk, true, p.eps);
  if (holds && (p.flags & FLAG_KNORM) != 0u) head_norm(KX, hdk, false, p.eps);
  barrier();
  if (p.n_rot > 0u) {
    const uint half_rot = p.n_rot / 2u, heads = holds ? G + 1u : G;
    for (uint i = tid; i < heads * half_rot; i += WG_SIZE) {
      const uint h = i / half_rot;
      head_rope_pair(h < G ? h * hdk : KX, i % half_rot, p.n_rot, (p.flags & FLAG_NEOX) != 0u, p.cs_off,
                     p.cs_off + p.sin_off);
    }
    barrier();
  }
  if (holds) {
    head_put(true, p.k_off + pos * p.n_head_kv * hdk + g * hdk, hdk, KX, true);
    barrier();
    head_put(false, p.v_off + pos * p.n_head_kv * hdv + g * hdv, hdv, VX, true);
  }
  for (uint i = tid; i < G * hdk; i += WG_SIZE) sq[i] *= p.scale;
  barrier();
  if (holds) {
    /* the new key's scores: each thread's share of the dims, summed in its
     * subgroup, then the subgroups' sums (in ss) by one thread per query */
    for (uint gi = 0u; gi < G; gi++) {
      float s = 0.0;
      for (uint d = tid; d < hdk; d += WG_SIZE) s += sq[KX + d] * sq[gi * hdk + d];
      s = subgroupAdd(s);
      if (subgroupElect()) ss[gi * WG_SIZE + gl_SubgroupID] = s;
    }
    barrier();
    if (tid < G) {
      float s = 0.0;
      for (uint i = 0u; i < gl_NumSubgroups; i++) s += ss[tid * WG_SIZE + i];
      s_new[tid] = s;
    }
    barrier();
  }
#else
  for (uint i = tid; i < G * hdk; i += WG_SIZE) {
    const uint gi = i / hdk, d = i % hdk;
    sq[i] = q[p.q_off + t * p.q_stride + (g * G + gi) * hdk + d] * p.scale;
  }
  barrier();
#endif

  /* phase 1: the score of key j (this thread's share of its dims) against
   * each query of the group */
  const uint j = j0 + tid / S, slice = tid % S;
  {
    float s[MAX_G];
    for (uint gi = 0u; gi < MAX_G; gi++) s[gi] = 0.0;
#ifdef FOLD
    if (j == pos) { /* the new key, from shared memory: its whole score in slice 0 */
      if (slice == 0u)
        for (uint gi = 0u; gi < G; gi++) s[gi] = s_new[gi];
    } else
#endif
    if (j < n_kv) {
      const uint kb = (p.k_off + j * p.n_head_kv * hdk + g * hdk) / K_PER_LOAD;
      for (uint d0 = slice * per; d0 < (slice + 1u) * per; d0 += K_PER_LOAD) {
#if defined(KV_Q8_0)
        /* one block: its scale, then 8 words of codes from byte b + 2 */
        const uint b = (kb + d0 / 32u) * 34u, wb = b >> 2;
        const float dk = unpackHalf2x16(half16(kc[wb], b)).x;
        uint cw[9];
        for (uint i = 0u; i < 9u; i++) cw[i] = kc[wb + i]; /* the block's bytes: b … b + 33 lie in these */
        float part[MAX_G];
        for (uint gi = 0u; gi < MAX_G; gi++) part[gi] = 0.0;
        for (uint i = 0u; i < 8u; i++) {
          /* codes 4i … 4i+3: bytes b + 2 + 4i …, a word when b % 4 == 2, else two halves */
          const uint w = (b & 2u) != 0u ? cw[i + 1u] : (cw[i] >> 16) | (cw[i + 1u] << 16);
          const vec4 kq = vec4(ivec4(w << 24, w << 16, w << 8, w) >> 24);
          for (uint gi = 0u; gi < MAX_G; gi++) {
            if (gi >= G) break;
            const uint o = gi * hdk + d0 + 4u * i;
            part[gi] += dot(kq, vec4(sq[o], sq[o + 1u], sq[o + 2u], sq[o + 3u]));
          }
        }
        for (uint gi = 0u; gi < MAX_G; gi++) s[gi] += dk * part[gi];
#elif defined(KV_F16)
        const uvec4 kw = k4[kb + d0 / 8u];
        const vec4 ka = vec4(unpackHalf2x16(kw.x), unpackHalf2x16(kw.y));
        const vec4 kc = vec4(unpackHalf2x16(kw.z), unpackHalf2x16(kw.w));
        for (uint gi = 0u; gi < MAX_G; gi++) {
          if (gi >= G) break;
          const uint o = gi * hdk + d0;
          s[gi] += dot(ka, vec4(sq[o], sq[o + 1u], sq[o + 2u], sq[o + 3u])) +
                   dot(kc, vec4(sq[o + 4u], sq[o + 5u], sq[o + 6u], sq[o + 7u]));
        }
#else
        const vec4 ka = k4[kb + d0 / 4u];
        for (uint gi = 0u; gi < MAX_G; gi++) {
          if (gi >= G) break;
          const uint o = gi * hdk + d0;
          s[gi] += dot(ka, vec4(sq[o], sq[o + 1u], sq[o + 2u], sq[o + 3u]));
        }
#endif
      }
    }
    for (uint gi = 0u; gi < G; gi++) ss[gi * WG_SIZE + tid] = s[gi];
  }
  barrier();
  /* the S slices of each key summed: key i's score at ss[gi·WG_SIZE + i] */
  if (S > 1u) {
    float s[MAX_G];
    const uint i = tid;
    for (uint gi = 0u; gi < G; gi++) {
      float sum = 0.0;
      if (i < chunk)
        for (uint k = 0u; k < S; k++) sum += ss[gi * WG_SIZE + i * S + k];
      s[gi] = sum;
    }
    barrier();
    if (i < chunk)
      for (uint gi = 0u; gi < G; gi++) ss[gi * WG_SIZE + i] = s[gi];
    barrier();
  }

  /* phase 2: per head, the chunk's max (one thread per head: WG_SIZE
   * values from shared memory), then every thread turns its key's scores
   * into weights */
  const uint n_in = min(chunk, n_kv - j0);
  if (tid < G) {
    float m0 = -1.0 / 0.0, m1 = m0;
    for (uint i = 0u; i + 1u < n_in; i += 2u) m0 = max(m0, ss[tid * WG_SIZE + i]), m1 = max(m1, ss[tid * WG_SIZE + i + 1u]);
    if ((n_in & 1u) != 0u) m0 = max(m0, ss[tid * WG_SIZE + n_in - 1u]);
    sm[tid] = max(m0, m1);
  }
  barrier();
  if (tid < chunk)
    for (uint gi = 0u; gi < G; gi++) {
      const uint o = gi * WG_SIZE + tid;
      ss[o] = tid < n_in ? exp(ss[o] - sm[gi]) : 0.0;
    }
  barrier();

  /* phase 3: Σ_j w_j · V_j. Thread → word (two dims) w of the V row and key
   * group kg; kgs groups split the chunk's keys. */
  const uint hw = hdv / 2u; /* words per V row (head_dim_v is even) */
  const uint lanes = min(hw, WG_SIZE), kgs = WG_SIZE / lanes;
  const uint lane = tid % lanes, kg = tid / lanes;
  const uint vrow = p.n_head_kv * hdv, vb = p.v_off + g * hdv; /* elements */
  for (uint w0 = 0u; w0 < hw; w0 += lanes) {
    const uint w = w0 + lane;
    vec2 acc[MAX_G];
    for (uint gi = 0u; gi < MAX_G; gi++) acc[gi] = vec2(0.0);
    if (w < hw && kg < kgs)
      for (uint i = kg; i < n_in; i += kgs) {
#ifdef FOLD
        const vec2 v = j0 + i == pos ? vec2(sq[VX + 2u * w], sq[VX + 2u * w + 1u]) : vpair(vb + (j0 + i) * vrow + 2u * w);
#else
        const vec2 v = vpair(vb + (j0 + i) * vrow + 2u * w);
#endif
        for (uint gi = 0u; gi < MAX_G; gi++) {
          if (gi >= G) break;
          acc[gi] += ss[gi * WG_SIZE + i] * v;
        }
      }
    /* the key groups' sums: group kg's in sq[(kg·G + gi)·lanes·2 …] */
    barrier(); /* sq (the queries) is no longer read; the previous round's sums are written out */
    if (w < hw && kg < kgs)
      for (uint gi = 0u; gi < G; gi++) {
        const uint o = ((kg * G + gi) * lanes + lane) * 2u;
        sq[o] = acc[gi].x, sq[o + 1u] = acc[gi].y;
      }
    barrier();
    if (kg == 0u && w < hw)
      for (uint gi = 0u; gi < G; gi++) {
        vec2 sum = vec2(0.0);
        for (uint k = 0u; k < kgs; k++) {
          const uint o = ((k * G + gi) * lanes + lane) * 2u;
          sum += vec2(sq[o], sq[o + 1u]);
        }
        const uint base = ((t * p.n_head + g * G + gi) * p.n_chunks + c) * (2u + hdv);
        part[base + 2u + 2u * w] = sum.x;
        part[base + 3u + 2u * w] = sum.y;
      }
  }
  /* the chunk's max and weight sum per head */
  if (tid < G) {
    float l = 0.0;
    for (uint i = 0u; i < n_in; i++) l += ss[tid * WG_SIZE + i];
    const uint base = ((t * p.n_head + g * G + tid) * p.n_chunks + c) * (2u + hdv);
    part[base] = sm[tid];
    part[base + 1u] = l;
  }
#ifdef MERGE
  /* this workgroup's partials out to the device, then counted in; the head's last one merges */
  const uint n_c = (n_kv + chunk - 1u) / chunk; /* the head's workgroups (the others left at the top) */
  if (!count_in(g, n_c)) return; /* the whole workgroup */
  const uint ps = 2u + hdv;
  for (uint i = tid; i < G * hdv; i += WG_SIZE) {
    const uint gi = i / hdv, d = i % hdv, base = (g * G + gi) * p.n_chunks * ps;
    float mx = -1.0 / 0.0;
    for (uint k = 0u; k < n_c; k++) mx = max(mx, part[base + k * ps]);
    float a = 0.0, l = 0.0;
    for (uint k = 0u; k < n_c; k++) {
      const float w = exp(part[base + k * ps] - mx);
      a += w * part[base + k * ps + 2u + d];
      l += w * part[base + k * ps + 1u];
    }
    const float v = a / l;
    o[p.o_off + g * G * hdv + i] = v;
    sq[i] = v; /* (free since phase 3's last barrier) */
  }
  count_reset(g);
  if ((p.flags & FLAG_ROUND8) != 0u) {
    barrier();
    /* block b of the group's G · hdv values (hdv a multiple of 32: whole blocks per head) */
    const uint n = p.n_head * hdv, blk0 = g * G * (hdv / 32u);
    for (uint b = tid; b < G * hdv / 32u; b += WG_SIZE) {
      vec4 v[8];
      for (uint i = 0u; i < 8u; i++) {
        const uint d = 32u * b + 4u * i;
        v[i] = vec4(sq[d], sq[d + 1u], sq[d + 2u], sq[d + 3u]);
      }
      uint w[8];
      const vec2 ds = act8_block(v, w);
      for (uint i = 0u; i < 8u; i++) oq[p.r8_off + 8u * (blk0 + b) + i] = w[i];
      od[(p.r8_off + n / 4u) / 2u + blk0 + b] = ds;
    }
  }
#endif
}
