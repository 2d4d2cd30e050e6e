#version 450
/* matvec_team.comp — y = W·x for the weight types of the common GGUF
 * mixtures (F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), of the smaller files
 * (Q2_K, Q3_K, IQ4_XS) and the other blocks of 32 (Q4_1, Q5_0, Q5_1,
 * IQ4_NL), written for real GPUs.
 *
 * Decode is memory-bound, and on a GPU that means bytes in flight: by
 * Little's law an H200 (4.4 TB/s, ~0.7 µs loaded latency) needs about 3 MB
 * of reads outstanding at any time. The first version of this shader had
 * each thread wait for one 4-byte word per pass (about 0.5 MB in flight,
 * 370 GB/s measured on Q4_K). Now:
 * - every pass is split in a load step and a compute step, and the main
 *   loop loads two passes before computing either, so each thread has two
 *   passes of reads outstanding (loads use clamped indices, never branch:
 *   an out-of-range pass reads valid memory and is weighted by 0);
 * - Q4_K and Q5_K rows that start on 16 bytes (every weight the forward
 *   pass uploads) are read as 16-byte vectors, 32 values per thread;
 * - Q6_K threads take 16 values of one block (both nibbles of the same
 *   bytes) instead of 8, so no two threads read the same words;
 * - a row may be shared by p.n_sub teams of 32 threads that take turns
 *   over its passes (more threads in flight for matrices with few rows).
 * Scales are decoded once per 4 to 32 values (4: Q2_K, Q3_K, Q6_K), and a
 * K-quant minimum is applied once per 4 to 16 values: sum(q·x)·d·sc −
 * dmin·m·sum(x).
 *
 * A workgroup holds WG_SIZE / 32 teams: WG_SIZE / (32 · n_sub) rows (ROWS
 * times as many with flags bit 3). z
 * indexes groups of up to NV input vectors (a short prompt shares the weight
 * reads). The partial sums of a row meet in shared memory, so the shader
 * makes no assumption about how the device cuts the workgroup into
 * subgroups (8 on lavapipe, 32 on NVIDIA, 64 on older AMD).
 * Push constants: those of matvec.comp plus n_sub, flags and up_off; vk-ops.c
 * chooses this shader when the row layout allows it (see still_vk_matvec).
 * Two epilogues save the forward pass a dispatch each at decode:
 * flags bit 1: y = W·x + bias (binding 3: a row's bias; Qwen's q, k, v);
 * flags bit 2: y = silu(W·x) · (U·x), U's rows up_off bytes after W's (the
 * gate and up matrices of the FFN uploaded as one buffer): SwiGLU.
 * flags bit 3 (one input vector): a team takes ROWS neighbouring rows (2;
 * the matvec_team4_* variants are built with ROWS=4) and reads the
 * activations once for all of them (rows_passes).
 * -DNORM_TAIL (one vector, plain products): the residual add and RMSNorm
 * after the product, by its last workgroup (norm_tail.glsl). */
#include "common.glsl"

layout(std430, binding = 0) readonly buffer W { uint w[]; };
/* the same weights as 16-byte vectors (aligned K-quant rows) */
layout(std430, binding = 0) readonly buffer W4 { uvec4 w4[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
/* the same activations as vec4: four floats per load when the offsets allow */
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
#ifdef NORM_TAIL
/* read back by the last workgroup (norm_tail.glsl) */
layout(std430, binding = 2) coherent buffer Y { float y[]; };
#else
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#endif
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };

#include "words.glsl"

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
  uint n_sub;      /* teams per row: 1, 2, 4 … (WG_SIZE / 32 at most) */
  uint flags;      /* bit 0: w_off and row_bytes are multiples of 16; 1: bias; 2: SwiGLU; 3: ROWS rows */
  uint up_off;     /* SwiGLU: bytes from a gate row to its up row */
#ifdef NORM_TAIL
  /* norm_tail.glsl: the residual add and RMSNorm by the last workgroup */
  uint t_res, t_g, t_h; /* vec4s: the residual row, the norm weight, the normed row */
  uint t_q;             /* words: the normed row rounded to 8 bits (t_flags bit 0) */
  uint t_cnt;           /* the counter */
  uint t_flags;
  float t_eps;
#endif
} p;
#ifdef NORM_TAIL
#include "act8.glsl"
#include "norm_tail.glsl"
#endif

#define NV 4u
#define TEAM 32u
/* rows per team with flags bit 3 (at most NV: their sums use acc[]) */
#ifndef ROWS
#define ROWS 2
#endif
/* passes loaded ahead for each of those rows: two, or one with four rows
 * (four loads in flight per thread either way; registers are the limit).
 * Specialization constant 2 (STILL_VK_MATVEC_AHEAD=N, 0: this default)
 * sets it for tuning. */
layout(constant_id = 2) const uint AHEAD_SET = 0u;
const uint AHEAD = AHEAD_SET > 0u ? AHEAD_SET : (ROWS >= 4 ? 1u : 2u);

shared float red[2u * NV * WG_SIZE];

float acc[NV];
uint nv, xb;
bool xv4; /* x_off and x_stride are multiples of 4: vec4 loads */
uint w_last; /* the last word of the weight buffer: clamped reads stay inside */

/* four activations of vector k from value v (a multiple of 4) */
vec4 xq(uint k, uint v)
{
  const uint o = xb + k * p.x_stride + v;
  return xv4 ? x4[o >> 2] : vec4(x[o], x[o + 1u], x[o + 2u], x[o + 3u]);
}

/* word i of the weights, clamped into the buffer */
uint wc(uint i) { return w[min(i, w_last)]; }
/* the 32 bits at an even byte offset, from the two words that hold them */
uint join(uint lo, uint hi, uint byte_off)
{
  const uint s = (byte_off & 3u) * 8u;
  return (lo >> s) | ((hi << 1u) << (31u - s)); /* s == 0: the second term is 0 */
}

/* The activations one thread's values of a pass multiply (xfetch), kept
 * in registers so that several rows (flags bit 3) read them once. */
vec4 xr[8];
float xs[2];

/* What one thread reads for one pass: up to 12 words, and the weight of the
 * pass (0 when it lies past the row's end). */
struct Raw {
  uvec4 a, b, c;
  float f;
};

/* ---- per type: passes per row, the load step, the compute step -------- */

#if defined(TYPE_F16)
/* 256 values per pass, 8 per thread; rows start on a word (even ncols,
 * checked on the host) */
uint n_passes() { return (p.ncols + 255u) / 256u; }
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint v0 = it * 256u + lane * 8u;
  r.f = v0 + 8u <= p.ncols ? 1.0 : 0.0;
  const uint wi = (rb >> 2) + (min(v0, p.ncols - 2u) >> 1);
  r.a = uvec4(wc(wi), wc(wi + 1u), wc(wi + 2u), wc(wi + 3u));
  return r;
}
void xfetch(uint k, uint it, uint lane)
{
  const uint v0 = it * 256u + lane * 8u;
  if (v0 + 8u <= p.ncols) xr[0] = xq(k, v0), xr[1] = xq(k, v0 + 4u);
}
float wdot(const Raw r, uint rb, uint k, uint it, uint lane)
{
  const uint v0 = it * 256u + lane * 8u;
  if (r.f != 0.0) {
    const vec4 a = vec4(unpackHalf2x16(r.a.x), unpackHalf2x16(r.a.y));
    const vec4 b = vec4(unpackHalf2x16(r.a.z), unpackHalf2x16(r.a.w));
    return dot(a, xr[0]) + dot(b, xr[1]);
  }
  float s = 0.0; /* the row's last values (ncols not a multiple of 8) */
  for (uint v = v0; v < p.ncols; v += 2u) {
    const vec2 h = unpackHalf2x16(w[(rb >> 2) + (v >> 1)]);
    s += h.x * x[xb + k * p.x_stride + v] + h.y * x[xb + k * p.x_stride + v + 1u];
  }
  return s;
}

#elif defined(TYPE_Q8_0) || defined(TYPE_Q4_0)
/* 8 blocks of 32 per pass, 4 threads per block */
#if defined(TYPE_Q8_0)
#define BLOCK_BYTES 34u
#else
#define BLOCK_BYTES 18u
#endif
uint n_passes() { return (p.ncols / 32u + 7u) / 8u; }
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 32u, blk = it * 8u + lane / 4u, part = lane % 4u;
  r.f = blk < nb ? 1.0 : 0.0;
  const uint b = rb + min(blk, nb - 1u) * BLOCK_BYTES; /* even */
#if defined(TYPE_Q8_0)
  const uint q = b + 2u + part * 8u; /* 8 bytes: values 8·part … +7 */
  r.a = uvec4(wc(b >> 2), wc(q >> 2), wc((q >> 2) + 1u), wc((q >> 2) + 2u));
#else
  const uint q = b + 2u + part * 4u; /* 4 bytes: values 4·part … +3 and 16 + the same */
  r.a = uvec4(wc(b >> 2), wc(q >> 2), wc((q >> 2) + 1u), 0u);
#endif
  r.b = uvec4(b, q, 0u, 0u);
  return r;
}
/* the first value of this thread's two groups of 4 */
uvec2 q_values(uint it, uint lane)
{
  const uint blk = min(it * 8u + lane / 4u, p.ncols / 32u - 1u), part = lane % 4u;
#if defined(TYPE_Q8_0)
  const uint v = blk * 32u + part * 8u;
  return uvec2(v, v + 4u);
#else
  const uint v = blk * 32u + part * 4u;
  return uvec2(v, v + 16u);
#endif
}
void xfetch(uint k, uint it, uint lane)
{
  const uvec2 v = q_values(it, lane);
  xr[0] = xq(k, v.x), xr[1] = xq(k, v.y);
}
float wdot(const Raw r, uint rb, uint k, uint it, uint lane)
{
  const uint b = r.b.x, q = r.b.y;
  const float d = unpackHalf2x16(r.a.x >> ((b & 2u) * 8u)).x * r.f;
#if defined(TYPE_Q8_0)
  const vec4 lo = bytes_s8(join(r.a.y, r.a.z, q)), hi = bytes_s8(join(r.a.z, r.a.w, q));
#else
  const uint qq = join(r.a.y, r.a.z, q);
  const vec4 lo = nibbles_lo(qq) - 8.0, hi = nibbles_hi(qq) - 8.0;
#endif
  return d * (dot(lo, xr[0]) + dot(hi, xr[1]));
}

#elif defined(TYPE_Q4_1) || defined(TYPE_Q5_0) || defined(TYPE_Q5_1) || defined(TYPE_IQ4_NL)
/* The other blocks of 32 values, as Q4_0: 8 blocks per pass, 4 threads per
 * block; thread part = lane % 4 takes the 4 bytes of qs at 4·part, values
 * 4·part + 0…3 (low nibbles) and 16 + the same (high nibbles). Blocks are
 * 2-byte aligned (Q5_0: 22 bytes, IQ4_NL: 18), so every read joins two words:
 * the header (d, and m at byte 2 for Q4_1 and Q5_1), Q5's fifth bits (qh,
 * bit j of value j) and the nibbles.
 * Q4_1 (20 bytes, qs at 4): d·q + m; Q5_0 (22, qh at 2, qs at 6): d·(q − 16);
 * Q5_1 (24, qh at 4, qs at 8): d·q + m; IQ4_NL (18, qs at 2): d·grid[q]. */
#if defined(TYPE_Q4_1)
#define BLOCK_BYTES 20u
#define QS_OFF 4u
#elif defined(TYPE_Q5_0)
#define BLOCK_BYTES 22u
#define QH_OFF 2u
#define QS_OFF 6u
#elif defined(TYPE_Q5_1)
#define BLOCK_BYTES 24u
#define QH_OFF 4u
#define QS_OFF 8u
#else
#define BLOCK_BYTES 18u
#define QS_OFF 2u
#endif
uint n_passes() { return (p.ncols / 32u + 7u) / 8u; }
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 32u, blk = it * 8u + lane / 4u, part = lane % 4u;
  r.f = blk < nb ? 1.0 : 0.0;
  const uint b = rb + min(blk, nb - 1u) * BLOCK_BYTES, q = (b + QS_OFF + 4u * part) >> 2; /* b even */
  r.a = uvec4(wc(b >> 2), wc((b >> 2) + 1u), wc(q), wc(q + 1u));
#if defined(QH_OFF)
  const uint h = (b + QH_OFF) >> 2;
  r.b = uvec4(wc(h), wc(h + 1u), b, 0u);
#else
  r.b.z = b;
#endif
  return r;
}
void xfetch(uint k, uint it, uint lane)
{
  const uint v = min(it * 8u + lane / 4u, p.ncols / 32u - 1u) * 32u + (lane % 4u) * 4u;
  xr[0] = xq(k, v), xr[1] = xq(k, v + 16u);
}
float wdot(const Raw r, uint rb, uint k, uint it, uint lane)
{
  const uint b = r.b.z, part = lane % 4u;
  const vec2 dm = unpackHalf2x16(join(r.a.x, r.a.y, b)) * r.f;
  const uint qs = join(r.a.z, r.a.w, b + QS_OFF); /* join takes a field's own byte offset */
#if defined(TYPE_IQ4_NL)
  return dm.x * (dot(grid_levels(qs), xr[0]) + dot(grid_levels(qs >> 4), xr[1]));
#else
  vec4 lo = nibbles_lo(qs), hi = nibbles_hi(qs);
#if defined(QH_OFF)
  const uint qh = join(r.b.x, r.b.y, b + QH_OFF);
  /* the fifth bits of values 4·part … and 16 on: bits 4·part … of qh */
  lo += 16.0 * bits4(qh >> (4u * part)), hi += 16.0 * bits4(qh >> (16u + 4u * part));
#endif
#if defined(TYPE_Q5_0)
  return dm.x * (dot(lo - 16.0, xr[0]) + dot(hi - 16.0, xr[1]));
#else
  return dm.x * (dot(lo, xr[0]) + dot(hi, xr[1])) + dm.y * dot(xr[0] + xr[1], vec4(1.0));
#endif
#endif
}

#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
#if defined(TYPE_Q4_K)
#define BLOCK_WORDS 36u
#else
#define BLOCK_WORDS 44u
#endif
bool wide; /* rows on 16 bytes: 8 threads per block, 16-byte reads */
uint n_passes() { return wide ? (p.ncols / 256u + 3u) / 4u : p.ncols / 256u; }
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 256u;
  if (wide) {
    /* 4 blocks per pass; thread part p8 = lane % 8 takes 16 bytes of
     * nibbles: chunk c = p8 / 2 (64 values), half h = p8 % 2 */
    const uint blk = it * 4u + lane / 8u, p8 = lane % 8u;
    r.f = blk < nb ? 1.0 : 0.0;
    const uint b4 = (rb >> 4) + min(blk, nb - 1u) * (BLOCK_WORDS / 4u);
    r.a = w4[b4]; /* d, dmin, 12 scale bytes */
#if defined(TYPE_Q4_K)
    r.b = w4[b4 + 1u + p8];
#else
    r.b = w4[b4 + 3u + p8];
    r.c = w4[b4 + 1u + p8 % 2u]; /* fifth bits: qh bytes 16h … 16h+15 */
#endif
  } else {
    /* one block per pass; a thread takes one word of nibbles (words.glsl) */
    const uint c = lane / 8u, part = lane % 8u;
    r.f = it < nb ? 1.0 : 0.0;
    const uint bw = (rb >> 2) + min(it, nb - 1u) * BLOCK_WORDS;
    r.a = uvec4(w[bw], w[bw + 1u], w[bw + 2u], w[bw + 3u]);
#if defined(TYPE_Q4_K)
    r.b.x = w[bw + 4u + c * 8u + part];
#else
    r.b.x = w[bw + 12u + c * 8u + part];
    r.c.x = w[bw + 4u + part];
#endif
  }
  return r;
}
/* the fifth bits (Q5_K) of a word's 4 values: bit `bit` of each byte, as 16 */
vec4 fifth(uint h, uint bit)
{
  return 16.0 * bits_of_bytes(h >> bit);
}
void xfetch(uint k, uint it, uint lane)
{
  if (wide) {
    const uint blk = min(it * 4u + lane / 8u, p.ncols / 256u - 1u), p8 = lane % 8u;
    /* low nibbles: values 64c + 16h + 0…15; high: the same + 32 */
    const uint v = blk * 256u + 64u * (p8 / 2u) + 16u * (p8 % 2u);
    for (uint i = 0u; i < 4u; i++) xr[i] = xq(k, v + 4u * i), xr[4u + i] = xq(k, v + 32u + 4u * i);
    xs[0] = dot(xr[0] + xr[1] + xr[2] + xr[3], vec4(1.0));
    xs[1] = dot(xr[4] + xr[5] + xr[6] + xr[7], vec4(1.0));
  } else {
    const uint v = min(it, p.ncols / 256u - 1u) * 256u + (lane / 8u) * 64u + (lane % 8u) * 4u;
    xr[0] = xq(k, v), xr[1] = xq(k, v + 32u);
  }
}
float wdot(const Raw r, uint rb, uint k, uint it, uint lane)
{
  const uint c = wide ? (lane % 8u) / 2u : lane / 8u;
  float sc0, m0, sc1, m1;
  scale_min(2u * c, r.a.y, r.a.z, r.a.w, sc0, m0);
  scale_min(2u * c + 1u, r.a.y, r.a.z, r.a.w, sc1, m1);
  const vec2 dm = unpackHalf2x16(r.a.x) * r.f;
  const float da = dm.x * sc0, ma = dm.y * m0, db = dm.x * sc1, mb = dm.y * m1;
  if (wide) {
    vec4 l0 = nibbles_lo(r.b.x), l1 = nibbles_lo(r.b.y), l2 = nibbles_lo(r.b.z), l3 = nibbles_lo(r.b.w);
    vec4 h0 = nibbles_hi(r.b.x), h1 = nibbles_hi(r.b.y), h2 = nibbles_hi(r.b.z), h3 = nibbles_hi(r.b.w);
#if defined(TYPE_Q5_K)
    l0 += fifth(r.c.x, 2u * c), l1 += fifth(r.c.y, 2u * c), l2 += fifth(r.c.z, 2u * c), l3 += fifth(r.c.w, 2u * c);
    h0 += fifth(r.c.x, 2u * c + 1u), h1 += fifth(r.c.y, 2u * c + 1u);
    h2 += fifth(r.c.z, 2u * c + 1u), h3 += fifth(r.c.w, 2u * c + 1u);
#endif
    const float qa = dot(l0, xr[0]) + dot(l1, xr[1]) + dot(l2, xr[2]) + dot(l3, xr[3]);
    const float qb = dot(h0, xr[4]) + dot(h1, xr[5]) + dot(h2, xr[6]) + dot(h3, xr[7]);
    return da * qa - ma * xs[0] + db * qb - mb * xs[1];
  }
  vec4 lo = nibbles_lo(r.b.x), hi = nibbles_hi(r.b.x);
#if defined(TYPE_Q5_K)
  lo += fifth(r.c.x, 2u * c), hi += fifth(r.c.x, 2u * c + 1u);
#endif
  return dot(lo * da - ma, xr[0]) + dot(hi * db - mb, xr[1]);
}

#elif defined(TYPE_Q6_K)
/* Two 210-byte blocks per pass (2-byte aligned: every read is two words
 * joined). Thread t of a block (16 per block) takes half n = t / 8 and four
 * neighbouring l from l4 = 4·(t % 8), both nibbles: for l < 32, ql[64n+l]
 * and ql[64n+32+l] hold values 128n+l, +32 (low nibbles) and +64, +96 (high
 * nibbles), qh[32n+l] their two high bits (bits 0-1, 2-3, 4-5, 6-7).
 * The four int8 scales of those values are bytes 192 + 8n + l4/16 + 0, 2,
 * 4, 6 of the block; d is at byte 208. */
uint n_passes() { return (p.ncols / 256u + 1u) / 2u; }
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 256u, blk = it * 2u + lane / 16u, t = lane % 16u;
  const uint n = t / 8u, l4 = (t % 8u) * 4u;
  r.f = blk < nb ? 1.0 : 0.0;
  const uint b = rb + min(blk, nb - 1u) * 210u;
  const uint qa = b + 64u * n + l4, qb = qa + 32u, qh = b + 128u + 32u * n + l4, sc = b + 192u + 8u * n;
  r.a = uvec4(wc(qa >> 2), wc((qa >> 2) + 1u), wc(qb >> 2), wc((qb >> 2) + 1u));
  r.b = uvec4(wc(qh >> 2), wc((qh >> 2) + 1u), wc((b + 208u) >> 2), b);
  r.c = uvec4(wc(sc >> 2), wc((sc >> 2) + 1u), wc((sc >> 2) + 2u), 0u);
  return r;
}
/* int8 byte j (0…7) of the 8 scale bytes starting at the even byte offset so */
float scale8(const Raw r, uint so, uint j)
{
  const uint o = (so & 3u) + j; /* byte of the three loaded words */
  const uint word = o < 4u ? r.c.x : o < 8u ? r.c.y : r.c.z;
  return float(int(word << (24u - 8u * (o & 3u))) >> 24);
}
void xfetch(uint k, uint it, uint lane)
{
  const uint blk = min(it * 2u + lane / 16u, p.ncols / 256u - 1u), t = lane % 16u;
  const uint v = blk * 256u + 128u * (t / 8u) + (t % 8u) * 4u;
  xr[0] = xq(k, v), xr[1] = xq(k, v + 32u), xr[2] = xq(k, v + 64u), xr[3] = xq(k, v + 96u);
}
float wdot(const Raw r, uint rb, uint k, uint it, uint lane)
{
  const uint t = lane % 16u, n = t / 8u, l4 = (t % 8u) * 4u;
  const uint b = r.b.w;
  const uint qa = join(r.a.x, r.a.y, b), qb = join(r.a.z, r.a.w, b), qh = join(r.b.x, r.b.y, b);
  const float d = unpackHalf2x16(r.b.z >> ((b & 2u) * 8u)).x * r.f;
  const uint so = b + 192u + 8u * n, j = l4 / 16u;
  /* values 128n + l4 + 0…3 (+0: qa low, +32: qb low, +64: qa high, +96: qb high) */
  const uvec4 sh = uvec4(0u, 8u, 16u, 24u);
  const uvec4 hq = (uvec4(qh) >> sh);
  const vec4 v0 = vec4(((uvec4(qa) >> sh) & 15u) | ((hq & 3u) << 4)) - 32.0;
  const vec4 v1 = vec4(((uvec4(qb) >> sh) & 15u) | (((hq >> 2) & 3u) << 4)) - 32.0;
  const vec4 v2 = vec4(((uvec4(qa) >> (sh + 4u)) & 15u) | (((hq >> 4) & 3u) << 4)) - 32.0;
  const vec4 v3 = vec4(((uvec4(qb) >> (sh + 4u)) & 15u) | (((hq >> 6) & 3u) << 4)) - 32.0;
  return d * (scale8(r, so, j) * dot(v0, xr[0]) + scale8(r, so, j + 2u) * dot(v1, xr[1]) +
              scale8(r, so, j + 4u) * dot(v2, xr[2]) + scale8(r, so, j + 6u) * dot(v3, xr[3]));
}

#elif defined(TYPE_Q2_K) || defined(TYPE_Q3_K)
/* Two blocks per pass, 16 threads per block, as Q6_K (and the same
 * activations, xfetch): thread t takes half n = t / 8 and four neighbouring
 * l from l4 = 4·(t % 8) at each of the four 2-bit shifts j, values 128n +
 * 32j + l4 + 0…3. Their codes are one word of qs (byte 32n + l, bits 2j),
 * their scales those of sub-blocks (16 values) 8n + 2j + l4 / 16.
 * Q2_K (84 bytes; rows on a word): scales[16] at 0 (scale | min << 4),
 * qs at 16, d and dmin at 80: a value is d·sc·q − dmin·m.
 * Q3_K (110 bytes; rows on 2 bytes, reads joined as for Q6_K): hmask[32]
 * at 0 (bit 4n + j of byte l: the code's third bit; clear means minus 4),
 * qs at 32, 16 6-bit scales (minus 32) packed in 12 bytes at 96, d at 108:
 * a value is d·sc·(q − 4 + 4·h). */
#if defined(TYPE_Q2_K)
#define BLOCK_BYTES 84u
#else
#define BLOCK_BYTES 110u
#endif
uint n_passes() { return (p.ncols / 256u + 1u) / 2u; }
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 256u, blk = it * 2u + lane / 16u, t = lane % 16u;
  const uint n = t / 8u, l4 = (t % 8u) * 4u;
  r.f = blk < nb ? 1.0 : 0.0;
  const uint b = rb + min(blk, nb - 1u) * BLOCK_BYTES;
#if defined(TYPE_Q2_K)
  const uint bw = b >> 2;
  /* qs word, the 8 scale bytes of half n, d and dmin */
  r.a = uvec4(wc(bw + 4u + 8u * n + t % 8u), wc(bw + 2u * n), wc(bw + 2u * n + 1u), wc(bw + 20u));
#else
  const uint hm = b + l4, qs = b + 32u + 32u * n + l4, sc = (b + 96u) >> 2;
  r.a = uvec4(wc(hm >> 2), wc((hm >> 2) + 1u), wc(qs >> 2), wc((qs >> 2) + 1u));
  r.b = uvec4(wc(sc), wc(sc + 1u), wc(sc + 2u), wc(sc + 3u)); /* the 12 scale bytes and d */
  r.c.x = b;
#endif
  return r;
}
void xfetch(uint k, uint it, uint lane)
{
  const uint blk = min(it * 2u + lane / 16u, p.ncols / 256u - 1u), t = lane % 16u;
  const uint v = blk * 256u + 128u * (t / 8u) + (t % 8u) * 4u;
  xr[0] = xq(k, v), xr[1] = xq(k, v + 32u), xr[2] = xq(k, v + 64u), xr[3] = xq(k, v + 96u);
}
float wdot(const Raw r, uint rb, uint k, uint it, uint lane)
{
  const uint t = lane % 16u, s = (t % 8u) / 4u;
  float sum = 0.0;
#if defined(TYPE_Q2_K)
  const vec2 dm = unpackHalf2x16(r.a.w) * r.f;
  for (uint j = 0u; j < 4u; j++) {
    const uint sm = byte_of(j < 2u ? r.a.y : r.a.z, (2u * j + s) & 3u);
    sum += dm.x * float(sm & 15u) * dot(crumbs(r.a.x, j), xr[j]) - dm.y * float(sm >> 4) * dot(xr[j], vec4(1.0));
  }
  return sum;
#else
  const uint n = t / 8u, b = r.c.x;
  const uint hm = join(r.a.x, r.a.y, b), qs = join(r.a.z, r.a.w, b);
  const float d = unpackHalf2x16(r.b.w >> ((b & 2u) * 8u)).x * r.f;
  /* the 12 scale bytes as 3 words (no indexing of a vector by a run-time value) */
  const uint s0 = join(r.b.x, r.b.y, b), s1 = join(r.b.y, r.b.z, b), s2 = join(r.b.z, r.b.w, b);
  for (uint j = 0u; j < 4u; j++) {
    /* scale sk = 8n + 2j + s: its low 4 bits are the low (n = 0) or high
     * (n = 1) nibble of byte 2j + s, its high 2 bits those at 2·(sk / 4) of
     * byte 8 + sk % 4 */
    const uint sk = 8u * n + 2u * j + s;
    const uint lo = (byte_of(j < 2u ? s0 : s1, (2u * j + s) & 3u) >> (4u * n)) & 15u;
    const uint hi = (byte_of(s2, sk & 3u) >> (2u * (sk >> 2))) & 3u;
    const vec4 q = crumbs(qs, j) + 4.0 * bits_of_bytes(hm >> (4u * n + j)) - 4.0;
    sum += float(int(lo | (hi << 4)) - 32) * dot(q, xr[j]);
  }
  return d * sum;
#endif
}

#elif defined(TYPE_IQ4_XS)
/* Four 136-byte blocks per pass (rows on a word), 8 threads per block:
 * thread p8 = lane % 8 takes sub-block p8, 32 values from the 16 bytes of
 * qs at byte 8 + 16·p8 (low nibbles values 0…15, high nibbles 16…31).
 * Its 6-bit scale (minus 32) is 4 bits of scales_l (byte 4 + p8 / 2) and 2
 * of scales_h (the 16 bits at byte 2); d at byte 0. A nibble indexes the 16
 * levels of the grid (grid_levels, words.glsl). */
uint n_passes() { return (p.ncols / 256u + 3u) / 4u; }
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 256u, blk = it * 4u + lane / 8u, p8 = lane % 8u;
  r.f = blk < nb ? 1.0 : 0.0;
  const uint bw = (rb >> 2) + min(blk, nb - 1u) * 34u, q = bw + 2u + 4u * p8;
  r.a = uvec4(wc(bw), wc(bw + 1u), 0u, 0u); /* d | scales_h << 16, scales_l */
  r.b = uvec4(wc(q), wc(q + 1u), wc(q + 2u), wc(q + 3u));
  return r;
}
void xfetch(uint k, uint it, uint lane)
{
  const uint blk = min(it * 4u + lane / 8u, p.ncols / 256u - 1u);
  const uint v = blk * 256u + 32u * (lane % 8u);
  for (uint i = 0u; i < 4u; i++) xr[i] = xq(k, v + 4u * i), xr[4u + i] = xq(k, v + 16u + 4u * i);
}
float wdot(const Raw r, uint rb, uint k, uint it, uint lane)
{
  const uint p8 = lane % 8u;
  const uint ls = ((byte_of(r.a.y, p8 / 2u) >> (4u * (p8 & 1u))) & 15u) | (((r.a.x >> (16u + 2u * p8)) & 3u) << 4);
  const float dl = unpackHalf2x16(r.a.x).x * (float(ls) - 32.0) * r.f;
  float s = 0.0;
  for (uint i = 0u; i < 4u; i++) s += dot(grid_levels(r.b[i]), xr[i]) + dot(grid_levels(r.b[i] >> 4), xr[4u + i]);
  return dl * s;
}

#else
#error matvec_team.comp: no TYPE_ given
#endif

/* pass `it` of one row for every input vector */
void use_pass(const Raw r, uint rb, uint it, uint lane)
{
  for (uint k = 0u; k < NV; k++) {
    if (k >= nv) break;
    xfetch(k, it, lane);
    acc[k] += wdot(r, rb, k, it, lane);
  }
}

/* One input vector, ROWS neighbouring rows from `row` (rows past the
 * matrix's end read its last row again; their sums are not written): each
 * pass's activations are read once for all of them, dividing the activation
 * reads (8 floats per weight byte for Q4_K, from the L1 cache) by ROWS, and
 * AHEAD passes of every row are loaded before any is used. Row i's sum goes
 * to acc[i]. base: byte offset of the matrix (SwiGLU: of the up half). */
void rows_passes(uint base, uint row, uint sub, uint n_sub, uint lane)
{
  const uint passes = n_passes();
  uint rb[ROWS];
  for (uint i = 0u; i < uint(ROWS); i++) rb[i] = base + min(row + i, p.nrows - 1u) * p.row_bytes;
  for (uint it = sub; it < passes; it += AHEAD * n_sub) {
    Raw r[AHEAD * uint(ROWS)];
    for (uint a = 0u; a < AHEAD; a++)
      for (uint i = 0u; i < uint(ROWS); i++)
        r[a * uint(ROWS) + i] = load_pass(rb[i], min(it + a * n_sub, passes - 1u), lane);
    for (uint a = 0u; a < AHEAD; a++) {
      const uint ita = it + a * n_sub;
      if (ita >= passes) break;
      xfetch(0u, ita, lane);
      for (uint i = 0u; i < uint(ROWS); i++) acc[i] += wdot(r[a * uint(ROWS) + i], rb[i], 0u, ita, lane);
    }
  }
}

/* this team's share of the row whose first byte is rb, added to acc */
void row_passes(uint rb, uint sub, uint n_sub, uint lane)
{
  const uint passes = n_passes();
  /* two passes loaded before either is used: twice the reads in flight */
  for (uint it = sub; it < passes; it += 2u * n_sub) {
    const uint it2 = it + n_sub;
    const Raw r1 = load_pass(rb, it, lane);
    Raw r2 = load_pass(rb, min(it2, passes - 1u), lane);
    if (it2 >= passes) r2.f = 0.0;
    use_pass(r1, rb, it, lane);
    if (it2 < passes) use_pass(r2, rb, it2, lane);
  }
}

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint n_sub = max(p.n_sub, 1u), rows = WG_SIZE / (TEAM * n_sub);
  const uint team = tid / TEAM, lane = tid % TEAM, sub = team % n_sub;
  /* ROWS rows per team (one input vector): the sums of rows row … row +
   * ROWS - 1 take the places of vectors 0 … ROWS - 1 below */
  const bool multi = (p.flags & 8u) != 0u;
  const uint per_team = multi ? uint(ROWS) : 1u;
  const uint row = (group_row() * rows + team / n_sub) * per_team;
  const uint v0 = gl_WorkGroupID.z * NV;
  const bool swiglu = (p.flags & 4u) != 0u;
  nv = min(NV, p.n_vec - v0);
  xb = p.x_off + v0 * p.x_stride;
  xv4 = (p.x_off % 4u) == 0u && (p.x_stride % 4u) == 0u;
  w_last = uint(w.length()) - 1u;
#if defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  wide = (p.flags & 1u) != 0u;
#endif
  const bool live = row < p.nrows && team < rows * n_sub;
  const uint rb = p.w_off + row * p.row_bytes;
  const uint outs = multi ? min(uint(ROWS), p.nrows - min(row, p.nrows)) : nv; /* results this team writes */
  for (uint k = 0u; k < NV; k++) acc[k] = 0.0;
  if (live) {
    if (multi) rows_passes(p.w_off, row, sub, n_sub, lane);
    else row_passes(rb, sub, n_sub, lane);
  }
  /* the row's n_sub·32 partial sums (SwiGLU: the up row's in the second
   * half): 4 per thread of the first 8 of each team, then one thread adds 8
   * per team */
  for (uint k = 0u; k < NV; k++) red[k * WG_SIZE + tid] = acc[k];
  if (swiglu) {
    for (uint k = 0u; k < NV; k++) acc[k] = 0.0;
    if (live) {
      if (multi) rows_passes(p.w_off + p.up_off, row, sub, n_sub, lane);
      else row_passes(rb + p.up_off, sub, n_sub, lane);
    }
    for (uint k = 0u; k < NV; k++) red[(NV + k) * WG_SIZE + tid] = acc[k];
  }
  barrier();
  const uint halves = swiglu ? 2u : 1u;
  if (lane < 8u && live)
    for (uint k = 0u; k < halves * NV; k++) {
      const uint o = k * WG_SIZE + tid;
      red[o] = red[o] + red[o + 8u] + red[o + 16u] + red[o + 24u];
    }
  barrier();
  if (lane == 0u && sub == 0u && live)
    for (uint k = 0u; k < outs; k++) {
      float s[2] = {0.0, 0.0};
      for (uint hf = 0u; hf < halves; hf++)
        for (uint t = 0u; t < n_sub; t++) {
          const uint o = (hf * NV + k) * WG_SIZE + tid + t * TEAM;
          s[hf] += red[o] + red[o + 1u] + red[o + 2u] + red[o + 3u] + red[o + 4u] + red[o + 5u] + red[o + 6u] +
                   red[o + 7u];
        }
      /* result k: vector v0 + k of this row, or (pair) row + k of vector 0 */
      const uint r = multi ? row + k : row, vec = multi ? 0u : v0 + k;
      float out_v = s[0];
      if ((p.flags & 2u) != 0u) out_v += bias[r];
      if (swiglu) out_v = s[0] / (1.0 + exp(-s[0])) * s[1];
      y[p.y_off + vec * p.y_stride + r] = out_v;
    }
#ifdef NORM_TAIL
  norm_tail();
#endif
}
