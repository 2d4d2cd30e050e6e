#version 450
/* matvec_dot.comp — y = W·x for ONE input vector (decode) with 8-bit integer
 * dot products, for Q4_0, Q4_K, Q5_K, Q6_K and Q8_0 weights.
 *
 * Why: matvec_team.comp turns every weight into a float and multiplies it
 * with a float activation; on an H200 that shader is bound by that work
 * (the same time with the weights read from cache as from memory) and by
 * its registers (142 for Q4_K with 4 rows). Here the activations are first
 * rounded to 8 bits per block of 32 values (scale d = max|x| / 127, as
 * llama.cpp's q8_1), and four weights meet four activations in one
 * instruction (OpSDot, SPV_KHR_integer_dot_product, core in Vulkan 1.3;
 * the host uses this shader only where the device has the feature).
 *
 * Each workgroup rounds the activations itself, in chunks of CHUNK values,
 * into shared memory (no extra dispatch, no extra buffer): every workgroup
 * reads the whole vector anyway. A team of 32 threads takes ROWS
 * neighbouring rows and reads each pass's activations once for all of them;
 * p.n_sub teams may share a row (matrices with few rows). The partial sums
 * meet in shared memory (no assumption on the subgroup size).
 *
 * Per type, one pass of a team:
 * - Q5_K (rows on 16 bytes): 4 blocks, 8 threads per block (see below);
 * - Q4_0: 8 blocks of 32, 4 threads per block, 8 values each;
 * - Q4_K (rows on 16 bytes): 8 blocks of 256, 4 threads per block; thread
 *   c = lane % 4 takes 64-value chunk c (32 bytes: low nibbles are values
 *   64c + 0…31, high nibbles 64c + 32…63), two 16-byte reads;
 * - Q6_K: 2 blocks, 16 threads per block, 16 values each (as matvec_team);
 * - Q8_0: 8 blocks of 32, 4 threads per block, 8 values each.
 * Push constants and epilogues (bias, SwiGLU) are matvec_team.comp's.
 *
 * -DPREROUNDED: the vector was rounded beforehand (add_rms_norm.comp or
 * quantize_q8.comp, act8.glsl's layout, from word x_off of binding 1): no
 * rounding, no chunks, no shared copy; the teams read the codes and scales
 * straight from the buffer (all workgroups read the same few KiB: caches).
 *
 * -DNVEC=n (with PREROUNDED): a prefill batch for devices without tensor
 * cores, n vectors per workgroup (gl_WorkGroupID.z: which n of the batch),
 * vector j rounded from word x_off + j · x_stride: each team loads a pass of
 * its rows' weights once and multiplies it with every vector of the group.
 * Plain products only (no bias, no SwiGLU).
 *
 * -DNORM_TAIL (one vector, plain products): the residual add and RMSNorm
 * after the product, by its last workgroup (norm_tail.glsl). */
#extension GL_EXT_spirv_intrinsics : require
#extension GL_EXT_control_flow_attributes : require
#ifdef NVEC
#define PREROUNDED
#endif
#include "common.glsl"
#include "act8.glsl"

layout(std430, binding = 0) readonly buffer W { uint w[]; };
layout(std430, binding = 0) readonly buffer W4 { uvec4 w4[]; };
#ifdef PREROUNDED
layout(std430, binding = 1) readonly buffer XQ { uint xg[]; };
layout(std430, binding = 1) readonly buffer XQ4 { uvec4 xg4[]; };
layout(std430, binding = 1) readonly buffer XDS { vec2 xds[]; };
#else
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };
#endif
#ifdef NORM_TAIL
/* read back by the last workgroup (norm_tail.glsl) */
layout(std430, binding = 2) coherent buffer Y { float y[]; };
#else
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
#endif
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };

#include "words.glsl"

layout(push_constant) uniform Params {
  uint ncols;
  uint nrows;
  uint w_off;     /* byte offset of row 0 */
  uint row_bytes;
  uint x_off;     /* float offset of the vector (PREROUNDED: word offset of the rounded one) */
  uint x_stride;  /* NVEC: words between rounded vectors; else unused (one vector) */
  uint y_off;
  uint y_stride;  /* NVEC: floats between output vectors; else unused */
  uint n_vec;     /* NVEC: the batch; else 1 */
  uint n_sub;     /* teams per row */
  uint flags;     /* bit 1: bias; 2: SwiGLU (up rows up_off bytes after the gate rows) */
  uint up_off;
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
#include "norm_tail.glsl"
#endif

/* OpSDot on 4 packed signed bytes */
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4450)
int sdot_packed(uint a, uint b, spirv_literal uint format);
int dot4(uint a, uint b) { return sdot_packed(a, b, 0u); }

#define TEAM 32u
/* activations rounded per chunk (a multiple of every type's pass) */
#define CHUNK 8192u

/* rows per team: specialization constant 3 (STILL_VK_DOT_ROWS), else 4 */
layout(constant_id = 3) const uint ROWS_SET = 0u;
const uint ROWS = ROWS_SET > 0u ? ROWS_SET : 4u;
/* sets of ROWS sums per thread: one per vector of the group (NVEC), else
 * the gate rows and (SwiGLU) the up rows; they meet in shared memory two
 * sets at a time */
#ifdef NVEC
#define SETS uint(NVEC)
#else
#define SETS 2u
#endif

shared float red[2u * ROWS * WG_SIZE];

/* The rounded activations: word i (4 codes), scale and sum of block b, of
 * the chunk in shared memory or (PREROUNDED) of the whole vector in the
 * buffer. XQW4 reads words i … i + 3 (i a multiple of 4). */
#ifdef PREROUNDED
uint xq_base, xd_base; /* words; vec2 units */
uint XQW(uint i) { return xg[xq_base + i]; }
uvec4 XQW4(uint i) { return xg4[(xq_base + i) >> 2]; }
float XD(uint b) { return xds[xd_base + b].x; }
float XS(uint b) { return xds[xd_base + b].y; }
#else
shared uint xq[CHUNK / 4u];    /* the chunk's activations, 4 signed bytes per word */
shared float xd[CHUNK / 32u];  /* the scale of each block of 32 */
shared float xsum[CHUNK / 32u];/* its sum, d · Σq (the K-quant minimum) */
uint XQW(uint i) { return xq[i]; }
uvec4 XQW4(uint i) { return uvec4(xq[i], xq[i + 1u], xq[i + 2u], xq[i + 3u]); }
float XD(uint b) { return xd[b]; }
float XS(uint b) { return xsum[b]; }
#endif

float acc[SETS * ROWS];
uint w_last;

uint wc(uint i) { return w[min(i, w_last)]; }
uint join(uint lo, uint hi, uint byte_off)
{
  const uint s = (byte_off & 3u) * 8u;
  return (lo >> s) | ((hi << 1u) << (31u - s));
}

#ifndef PREROUNDED
/* Round values c0 … c0 + len - 1 of the vector (len a multiple of 32) into
 * the shared arrays: one block of 32 per thread at a time. */
void quantize(uint c0, uint len)
{
  const bool v4 = (p.x_off % 4u) == 0u;
  for (uint b = gl_LocalInvocationID.x; b < len / 32u; b += WG_SIZE) {
    const uint o = p.x_off + c0 + 32u * b;
    vec4 v[8];
    for (uint i = 0u; i < 8u; i++) {
      const uint oi = o + 4u * i;
      v[i] = v4 ? x4[oi >> 2] : vec4(x[oi], x[oi + 1u], x[oi + 2u], x[oi + 3u]);
    }
    uint w[8];
    const vec2 ds = act8_block(v, w);
    for (uint i = 0u; i < 8u; i++) xq[8u * b + i] = w[i];
    xd[b] = ds.x;
    xsum[b] = ds.y;
  }
}
#endif

struct Raw {
  uvec4 a, b, c;
  float f; /* 0: a pass position past the row's last block */
};

/* the activations of one pass, shared by the team's rows */
uint xw[16];
float xdl[4], xsl[2];

#if defined(TYPE_Q4_K)
#define PASS_COLS 2048u
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 256u, blk = it * 8u + lane / 4u, c = lane % 4u;
  r.f = blk < nb ? 1.0 : 0.0;
  const uint b4 = (rb >> 4) + min(blk, nb - 1u) * 9u; /* 144-byte blocks */
  r.a = w4[b4];           /* d, dmin, 12 scale bytes */
  r.b = w4[b4 + 1u + 2u * c];
  r.c = w4[b4 + 2u + 2u * c];
  return r;
}
void xfetch(uint it, uint lane, uint c0)
{
  const uint blk = min(it * 8u + lane / 4u, p.ncols / 256u - 1u), c = lane % 4u;
  const uint v = blk * 256u + 64u * c - c0; /* chunk position of the thread's first value */
  for (uint j = 0u; j < 4u; j++) {
    const uvec4 q = XQW4(v / 4u + 4u * j);
    xw[4u * j] = q.x, xw[4u * j + 1u] = q.y, xw[4u * j + 2u] = q.z, xw[4u * j + 3u] = q.w;
  }
  xdl[0] = XD(v / 32u), xdl[1] = XD(v / 32u + 1u);
  xsl[0] = XS(v / 32u), xsl[1] = XS(v / 32u + 1u);
}
float wdot(const Raw r, uint lane)
{
  const uint c = lane % 4u;
  float sc0, m0, sc1, m1;
  scale_min(2u * c, r.a.y, r.a.z, r.a.w, sc0, m0);
  scale_min(2u * c + 1u, r.a.y, r.a.z, r.a.w, sc1, m1);
  const uint q[8] = uint[8](r.b.x, r.b.y, r.b.z, r.b.w, r.c.x, r.c.y, r.c.z, r.c.w);
  int lo = 0, hi = 0;
  for (uint i = 0u; i < 8u; i++) {
    lo += dot4(q[i] & 0x0f0f0f0fu, xw[i]);
    hi += dot4((q[i] >> 4) & 0x0f0f0f0fu, xw[8u + i]);
  }
  const vec2 dm = unpackHalf2x16(r.a.x) * r.f;
  return dm.x * (sc0 * xdl[0] * float(lo) + sc1 * xdl[1] * float(hi)) - dm.y * (m0 * xsl[0] + m1 * xsl[1]);
}

#elif defined(TYPE_Q5_K)
#define PASS_COLS 1024u
/* 176-byte blocks (rows on 16 bytes): d, dmin, 12 scale bytes; qh[32]: the
 * fifth bits, bit 2c (low nibbles) and 2c + 1 (high) of byte l for value l of
 * 64-value chunk c; qs[128]. 4 blocks per pass, 8 threads per block: thread
 * p8 takes chunk c = p8 / 2, half h = p8 % 2: 16 bytes of nibbles (values
 * 64c + 16h + 0…15 and the same + 32) and the 16 bytes of qh for them. */
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 256u, blk = it * 4u + lane / 8u, p8 = lane % 8u;
  r.f = blk < nb ? 1.0 : 0.0;
  const uint b4 = (rb >> 4) + min(blk, nb - 1u) * 11u;
  r.a = w4[b4];
  r.b = w4[b4 + 3u + p8];     /* nibbles */
  r.c = w4[b4 + 1u + p8 % 2u]; /* fifth bits */
  return r;
}
void xfetch(uint it, uint lane, uint c0)
{
  const uint blk = min(it * 4u + lane / 8u, p.ncols / 256u - 1u), p8 = lane % 8u;
  const uint v = blk * 256u + 64u * (p8 / 2u) + 16u * (p8 % 2u) - c0;
  const uvec4 a = XQW4(v / 4u), b = XQW4((v + 32u) / 4u);
  xw[0] = a.x, xw[1] = a.y, xw[2] = a.z, xw[3] = a.w;
  xw[4] = b.x, xw[5] = b.y, xw[6] = b.z, xw[7] = b.w;
  xdl[0] = XD(v / 32u), xdl[1] = XD(v / 32u + 1u);
  xsl[0] = XS(v / 32u), xsl[1] = XS(v / 32u + 1u);
}
float wdot(const Raw r, uint lane)
{
  const uint c = (lane % 8u) / 2u;
  float sc0, m0, sc1, m1;
  scale_min(2u * c, r.a.y, r.a.z, r.a.w, sc0, m0);
  scale_min(2u * c + 1u, r.a.y, r.a.z, r.a.w, sc1, m1);
  const uint q[4] = uint[4](r.b.x, r.b.y, r.b.z, r.b.w), h[4] = uint[4](r.c.x, r.c.y, r.c.z, r.c.w);
  int lo = 0, hi = 0;
  for (uint i = 0u; i < 4u; i++) {
    lo += dot4((q[i] & 0x0f0f0f0fu) | (((h[i] >> (2u * c)) & 0x01010101u) << 4), xw[i]);
    hi += dot4(((q[i] >> 4) & 0x0f0f0f0fu) | (((h[i] >> (2u * c + 1u)) & 0x01010101u) << 4), xw[4u + i]);
  }
  const vec2 dm = unpackHalf2x16(r.a.x) * r.f;
  /* the minimum: half of each 32-value block's sum per thread (two threads share a block) */
  return dm.x * (sc0 * xdl[0] * float(lo) + sc1 * xdl[1] * float(hi)) - 0.5 * dm.y * (m0 * xsl[0] + m1 * xsl[1]);
}

#elif defined(TYPE_Q6_K)
#define PASS_COLS 512u
/* see matvec_team.comp: thread t of a block takes half n = t / 8 and four
 * neighbouring l from l4 = 4·(t % 8), both nibbles: values 128n + l4 +
 * 0…3, and the same + 32, + 64, + 96 */
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
void xfetch(uint it, uint lane, uint c0)
{
  const uint blk = min(it * 2u + lane / 16u, p.ncols / 256u - 1u), t = lane % 16u;
  const uint v = blk * 256u + 128u * (t / 8u) + (t % 8u) * 4u - c0;
  for (uint g = 0u; g < 4u; g++) xw[g] = XQW((v + 32u * g) / 4u), xdl[g] = XD((v + 32u * g) / 32u);
}
float scale8(const Raw r, uint so, uint j)
{
  const uint o = (so & 3u) + j;
  const uint word = o < 4u ? r.c.x : o < 8u ? r.c.y : r.c.z;
  return float(int(word << (24u - 8u * (o & 3u))) >> 24);
}
/* 6-bit values 0…63 in each byte, minus 32, as signed bytes (no borrow
 * between bytes: every byte is at least 0x80 before the subtraction) */
uint minus32(uint u) { return ((u | 0x80808080u) - 0x20202020u) ^ 0x80808080u; }
float wdot(const Raw r, uint lane)
{
  const uint t = lane % 16u, n = t / 8u, l4 = (t % 8u) * 4u;
  const uint b = r.b.w;
  const uint qa = join(r.a.x, r.a.y, b), qb = join(r.a.z, r.a.w, b), qh = join(r.b.x, r.b.y, b);
  const float d = unpackHalf2x16(r.b.z >> ((b & 2u) * 8u)).x * r.f;
  const uint so = b + 192u + 8u * n, j = l4 / 16u;
  const uint u0 = (qa & 0x0f0f0f0fu) | ((qh & 0x03030303u) << 4);
  const uint u1 = (qb & 0x0f0f0f0fu) | (((qh >> 2) & 0x03030303u) << 4);
  const uint u2 = ((qa >> 4) & 0x0f0f0f0fu) | (((qh >> 4) & 0x03030303u) << 4);
  const uint u3 = ((qb >> 4) & 0x0f0f0f0fu) | (((qh >> 6) & 0x03030303u) << 4);
  return d * (scale8(r, so, j) * xdl[0] * float(dot4(minus32(u0), xw[0])) +
              scale8(r, so, j + 2u) * xdl[1] * float(dot4(minus32(u1), xw[1])) +
              scale8(r, so, j + 4u) * xdl[2] * float(dot4(minus32(u2), xw[2])) +
              scale8(r, so, j + 6u) * xdl[3] * float(dot4(minus32(u3), xw[3])));
}

#elif defined(TYPE_Q8_0) || defined(TYPE_Q4_0)
#define PASS_COLS 256u
Raw load_pass(uint rb, uint it, uint lane)
{
  Raw r;
  const uint nb = p.ncols / 32u, blk = it * 8u + lane / 4u, part = lane % 4u;
  r.f = blk < nb ? 1.0 : 0.0;
#if defined(TYPE_Q8_0)
  const uint b = rb + min(blk, nb - 1u) * 34u; /* even */
  const uint q = b + 2u + part * 8u;          /* values 8·part … +7 */
  r.a = uvec4(wc(b >> 2), wc(q >> 2), wc((q >> 2) + 1u), wc((q >> 2) + 2u));
#else
  const uint b = rb + min(blk, nb - 1u) * 18u; /* even */
  const uint q = b + 2u + part * 4u;          /* 4 bytes: values 4·part … +3 and 16 + the same */
  r.a = uvec4(wc(b >> 2), wc(q >> 2), wc((q >> 2) + 1u), 0u);
#endif
  r.b = uvec4(b, q, 0u, 0u);
  return r;
}
void xfetch(uint it, uint lane, uint c0)
{
  const uint blk = min(it * 8u + lane / 4u, p.ncols / 32u - 1u), part = lane % 4u;
#if defined(TYPE_Q8_0)
  const uint v = blk * 32u + part * 8u - c0;
  xw[0] = XQW(v / 4u), xw[1] = XQW(v / 4u + 1u);
#else
  const uint v = blk * 32u + part * 4u - c0;
  xw[0] = XQW(v / 4u), xw[1] = XQW(v / 4u + 4u);
#endif
  xdl[0] = XD(v / 32u);
}
/* 4-bit values 0…15 in each byte, minus 8, as signed bytes (as minus32 below) */
uint minus8(uint u) { return ((u | 0x80808080u) - 0x08080808u) ^ 0x80808080u; }
float wdot(const Raw r, uint lane)
{
  const uint b = r.b.x, q = r.b.y;
  const float d = unpackHalf2x16(r.a.x >> ((b & 2u) * 8u)).x * r.f;
#if defined(TYPE_Q8_0)
  const int s = dot4(join(r.a.y, r.a.z, q), xw[0]) + dot4(join(r.a.z, r.a.w, q), xw[1]);
#else
  const uint qq = join(r.a.y, r.a.z, q);
  const int s = dot4(minus8(qq & 0x0f0f0f0fu), xw[0]) + dot4(minus8((qq >> 4) & 0x0f0f0f0fu), xw[1]);
#endif
  return d * xdl[0] * float(s);
}

#else
#error matvec_dot.comp: no TYPE_ given
#endif

/* byte offsets of the ROWS rows from `row` of the matrix at byte `base`
 * (rows past the end read the last row again; their sums are not written) */
void row_bytes_of(uint base, uint row, out uint rb[ROWS])
{
  for (uint i = 0u; i < ROWS; i++) rb[i] = base + min(row + i, p.nrows - 1u) * p.row_bytes;
}

/* this team's passes of chunk [c0, c0 + len) for the rows at rb, added to
 * acc[h · ROWS …]. (Loading the first pass before the chunk is rounded, to
 * overlap the two, made R1-Llama-8B decode 16 % slower on an H200: the
 * registers it holds through the rounding.) */
void chunk_passes(uint rb[ROWS], uint h, uint c0, uint len, uint sub, uint n_sub, uint lane)
{
  const uint it_end = (c0 + len + PASS_COLS - 1u) / PASS_COLS;
  for (uint it = c0 / PASS_COLS + sub; it < it_end; it += n_sub) {
    Raw r[ROWS];
    for (uint i = 0u; i < ROWS; i++) r[i] = load_pass(rb[i], it, lane);
    xfetch(it, lane, c0);
    for (uint i = 0u; i < ROWS; i++) acc[h * ROWS + i] += wdot(r[i], lane);
  }
}

#ifdef NVEC
/* The batch: this team's passes of the rows at rb, each pass's weights
 * loaded once for the group's nv vectors (from v0), into acc[j · ROWS …]. */
void batch_passes(uint rb[ROWS], uint sub, uint n_sub, uint lane, uint v0, uint nv)
{
  const uint it_end = (p.ncols + PASS_COLS - 1u) / PASS_COLS;
  for (uint it = sub; it < it_end; it += n_sub) {
    Raw r[ROWS];
    for (uint i = 0u; i < ROWS; i++) r[i] = load_pass(rb[i], it, lane);
    [[unroll]] for (uint j = 0u; j < SETS; j++) {
      if (j >= nv) break; /* the same for the whole workgroup */
      xq_base = p.x_off + (v0 + j) * p.x_stride;
      xd_base = (xq_base + p.ncols / 4u) / 2u;
      xfetch(it, lane, 0u);
      for (uint i = 0u; i < ROWS; i++) acc[j * ROWS + i] += wdot(r[i], lane);
    }
  }
}
#endif

/* the sum of row i of set `set` (0 or 1 of the pair in shared memory) over
 * the team's 32 threads and the row's n_sub teams (after the first
 * reduction step below) */
float row_sum(uint set, uint i, uint tid, uint n_sub)
{
  float s = 0.0;
  for (uint t = 0u; t < n_sub; t++) {
    const uint o = (set * ROWS + i) * WG_SIZE + tid + t * TEAM;
    s += red[o] + red[o + 1u] + red[o + 2u] + red[o + 3u] + red[o + 4u] + red[o + 5u] + red[o + 6u] + red[o + 7u];
  }
  return s;
}

void main()
{
  const uint tid = gl_LocalInvocationID.x;
  const uint n_sub = max(p.n_sub, 1u), groups = WG_SIZE / (TEAM * n_sub);
  const uint team = tid / TEAM, lane = tid % TEAM, sub = team % n_sub;
  const uint row = (group_row() * groups + team / n_sub) * ROWS;
  const bool swiglu = (p.flags & 4u) != 0u;
  const bool live = row < p.nrows && team < groups * n_sub;
  w_last = uint(w.length()) - 1u;
  for (uint k = 0u; k < SETS * ROWS; k++) acc[k] = 0.0;
  uint rb_gate[ROWS], rb_up[ROWS];
  row_bytes_of(p.w_off, row, rb_gate);
  row_bytes_of(p.w_off + p.up_off, row, rb_up);
#if defined(NVEC)
  const uint v0 = gl_WorkGroupID.z * SETS, used = min(SETS, p.n_vec - v0);
  if (live) batch_passes(rb_gate, sub, n_sub, lane, v0, used);
#elif defined(PREROUNDED)
  xq_base = p.x_off;
  xd_base = (p.x_off + p.ncols / 4u) / 2u;
  if (live) {
    chunk_passes(rb_gate, 0u, 0u, p.ncols, sub, n_sub, lane);
    if (swiglu) chunk_passes(rb_up, 1u, 0u, p.ncols, sub, n_sub, lane);
  }
#else
  for (uint c0 = 0u; c0 < p.ncols; c0 += CHUNK) {
    const uint len = min(CHUNK, p.ncols - c0);
    if (c0 > 0u) barrier(); /* every team is done with the last chunk */
    quantize(c0, len);
    barrier();
    if (live) {
      chunk_passes(rb_gate, 0u, c0, len, sub, n_sub, lane);
      if (swiglu) chunk_passes(rb_up, 1u, c0, len, sub, n_sub, lane);
    }
  }
#endif
#ifndef NVEC
  const uint used = swiglu ? 2u : 1u;
#endif
  /* the partial sums of each row, two sets at a time: 4 per thread of the
   * first 8 of a team, then one thread adds 8 per team */
  [[unroll]] for (uint j0 = 0u; j0 < SETS; j0 += 2u) {
    if (j0 >= used) break;  /* the same for the whole workgroup */
    if (j0 > 0u) barrier(); /* the last pair's sums are read */
    for (uint k = 0u; k < 2u * ROWS; k++) red[k * WG_SIZE + tid] = acc[j0 * ROWS + k];
    barrier();
    const uint pair = min(2u, used - j0);
    if (lane < 8u && live)
      for (uint k = 0u; k < pair * ROWS; k++) {
        const uint o = k * WG_SIZE + tid;
        red[o] = red[o] + red[o + 8u] + red[o + 16u] + red[o + 24u];
      }
    barrier();
    if (lane == 0u && sub == 0u && live) {
      const uint outs = min(ROWS, p.nrows - row);
      for (uint i = 0u; i < outs; i++) {
#ifdef NVEC
        for (uint h = 0u; h < pair; h++) y[p.y_off + (v0 + j0 + h) * p.y_stride + row + i] = row_sum(h, i, tid, n_sub);
#else
        const float g = row_sum(0u, i, tid, n_sub);
        float out_v = g;
        if ((p.flags & 2u) != 0u) out_v += bias[row + i];
        if (swiglu) out_v = g / (1.0 + exp(-g)) * row_sum(1u, i, tid, n_sub);
        y[p.y_off + row + i] = out_v;
#endif
      }
    }
  }
#ifdef NORM_TAIL
  norm_tail();
#endif
}
