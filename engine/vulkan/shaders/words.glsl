/* words.glsl — weight decoding by whole 32-bit words, shared by
 * matvec_team.comp, matvec_dot.comp and the prefill items (items.glsl):
 * each thread takes several values of a block and decodes their scales once
 * (dequant.glsl, for matvec.comp and matmul.comp, decodes one value per
 * call).
 *
 * Needs: a buffer `W` with `uint w[]` declared before inclusion. */

/* 16 bits at an even byte offset (every 16-bit field of the block types is) */
uint rd16(uint o) { return (w[o >> 2] >> ((o & 2u) * 8u)) & 0xffffu; }
/* 4 bytes at an even byte offset (blocks of 18, 34 or 210 bytes are only 2-byte aligned) */
uint rd32h(uint o) { return rd16(o) | (rd16(o + 2u) << 16); }
float rdhalf(uint o) { return unpackHalf2x16(rd16(o)).x; }
/* byte i (0..3) of a word, as uint */
uint byte_of(uint v, uint i) { return (v >> (8u * i)) & 0xffu; }
/* the low / high nibbles of a word's 4 bytes, and its bytes as int8 */
vec4 nibbles_lo(uint q) { return vec4(q & 15u, (q >> 8) & 15u, (q >> 16) & 15u, (q >> 24) & 15u); }
vec4 nibbles_hi(uint q) { return vec4((q >> 4) & 15u, (q >> 12) & 15u, (q >> 20) & 15u, (q >> 28) & 15u); }
vec4 bytes_s8(uint q) { return vec4(ivec4(q << 24, q << 16, q << 8, q) >> 24); }
/* byte o (any offset) */
uint rd8(uint o) { return (w[o >> 2] >> ((o & 3u) * 8u)) & 0xffu; }
/* bits 0…3 of v (bit i → component i); bit 0 of each byte of a word (Q5's
 * fifth bits, Q3_K's third); the 2-bit codes at shift 2j of a word's bytes */
vec4 bits4(uint v) { return vec4(v & 1u, (v >> 1) & 1u, (v >> 2) & 1u, (v >> 3) & 1u); }
vec4 bits_of_bytes(uint v) { return vec4(v & 1u, (v >> 8) & 1u, (v >> 16) & 1u, (v >> 24) & 1u); }
vec4 crumbs(uint q, uint j)
{
  const uint m = (q >> (2u * j)) & 0x03030303u;
  return vec4(m & 3u, (m >> 8) & 3u, (m >> 16) & 3u, m >> 24);
}

#if defined(TYPE_IQ4_NL) || defined(TYPE_IQ4_XS)
/* The 16 levels of the non-uniform 4-bit grid as int8 bytes (-127, -104 …
 * 113; picked by selects, not by indexing a vector with a run-time value),
 * and the levels of the low nibbles of a word's 4 bytes. */
float grid_level(uint q)
{
  const uint g = q < 4u ? 0xBFAD9881u : q < 8u ? 0xF6EADDCFu : q < 12u ? 0x26190D01u : 0x71594535u;
  return float(int(g << (24u - 8u * (q & 3u))) >> 24);
}
vec4 grid_levels(uint q)
{
  return vec4(grid_level(q & 15u), grid_level((q >> 8) & 15u), grid_level((q >> 16) & 15u), grid_level((q >> 24) & 15u));
}
#endif

#if defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
/* 6-bit scale and min of sub-block j from the 12 scale bytes (3 words) */
void scale_min(uint j, uint s0, uint s1, uint s2, out float sc, out float mn)
{
  if (j < 4u) {
    sc = float(byte_of(s0, j) & 63u);
    mn = float(byte_of(s1, j) & 63u);
  } else {
    const uint b8 = byte_of(s2, j - 4u); /* scales[j + 4] */
    sc = float((b8 & 15u) | ((byte_of(s0, j - 4u) >> 6) << 4));
    mn = float((b8 >> 4) | ((byte_of(s1, j - 4u) >> 6) << 4));
  }
}

/* Chunk c (64 values) of the Q4_K/Q5_K block at word bw: word `part` (0..7)
 * of its nibbles gives values 64c + 4·part + 0..3 (a) and the same + 32 (b).
 * Q5_K's fifth bits sit in 32 bytes at word 4: bit 2c / 2c+1 of byte l. */
void kquant_chunk(uint bw, uint c, uint part, out vec4 a, out vec4 b)
{
  const vec2 dm = unpackHalf2x16(w[bw]);
  const uint s0 = w[bw + 1u], s1 = w[bw + 2u], s2 = w[bw + 3u];
  float sc0, m0, sc1, m1;
  scale_min(2u * c, s0, s1, s2, sc0, m0);
  scale_min(2u * c + 1u, s0, s1, s2, sc1, m1);
#if defined(TYPE_Q4_K)
  const uint q = w[bw + 4u + c * 8u + part];
  const vec4 lo = nibbles_lo(q), hi = nibbles_hi(q);
#else
  const uint q = w[bw + 12u + c * 8u + part];
  const uint h = w[bw + 4u + part];
  const vec4 lo = nibbles_lo(q) + 16.0 * bits_of_bytes(h >> (2u * c));
  const vec4 hi = nibbles_hi(q) + 16.0 * bits_of_bytes(h >> (2u * c + 1u));
#endif
  a = lo * (dm.x * sc0) - dm.y * m0;
  b = hi * (dm.x * sc1) - dm.y * m1;
}
#endif

#if defined(TYPE_Q6_K)
/* The Q6_K block at byte blk (210 bytes: ql[128], qh[64], int8 scales[16], d).
 * Half n (128 values): for l < 32, ql[64n+l] and ql[64n+32+l] hold values
 * 128n+l, +32 (low nibbles) and +64, +96 (high nibbles), qh[32n+l] their two
 * high bits (bits 0-1, 2-3, 4-5, 6-7). Four neighbouring l from l4, low
 * (up 0) or high (up 1) nibbles: values 128n + 64·up + l4 + 0..3 (a) and the
 * same + 32 (b). */
void q6k_quad(uint blk, uint n, uint up, uint l4, out vec4 a, out vec4 b)
{
  const uint qa = rd32h(blk + 64u * n + l4), qb = rd32h(blk + 64u * n + 32u + l4);
  const uint qh = rd32h(blk + 128u + 32u * n + l4) >> (4u * up);
  const float d = rdhalf(blk + 208u);
  const uint so = blk + 192u + 8u * n + l4 / 16u + 4u * up; /* scale of the a values; b's is at so + 2 */
  const float sa = d * float(int(rd16(so & ~1u) >> ((so & 1u) * 8u) << 24) >> 24);
  const float sb = d * float(int(rd16((so + 2u) & ~1u) >> ((so & 1u) * 8u) << 24) >> 24);
  const uint la = up == 0u ? qa : qa >> 4, lb = up == 0u ? qb : qb >> 4;
  const uvec4 ha = uvec4(qh & 3u, (qh >> 8) & 3u, (qh >> 16) & 3u, (qh >> 24) & 3u);
  const uvec4 hb = uvec4((qh >> 2) & 3u, (qh >> 10) & 3u, (qh >> 18) & 3u, (qh >> 26) & 3u);
  const uvec4 na = uvec4(la & 15u, (la >> 8) & 15u, (la >> 16) & 15u, (la >> 24) & 15u);
  const uvec4 nb = uvec4(lb & 15u, (lb >> 8) & 15u, (lb >> 16) & 15u, (lb >> 24) & 15u);
  a = (vec4(na | (ha << 4)) - 32.0) * sa;
  b = (vec4(nb | (hb << 4)) - 32.0) * sb;
}
#endif
