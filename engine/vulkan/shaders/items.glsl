/* items.glsl — the weight tile of the prefill shaders (matmul_team.comp,
 * matmul_coop.glsl): item(), 8 values of one row per call, for every
 * block type of matvec_team.comp.
 *
 * Needs: words.glsl, the push constants `p` (ncols) and
 * GL_EXT_control_flow_attributes. */

#if defined(TYPE_Q3_K)
/* scale k (0…15) of the Q3_K block at byte blk: 4 low bits from bytes 96…103,
 * 2 high bits from bytes 104…107, minus 32 */
float q3k_scale(uint blk, uint k)
{
  const uint lo = k < 8u ? rd8(blk + 96u + k) & 15u : rd8(blk + 88u + k) >> 4;
  const uint hi = (rd8(blk + 104u + (k & 3u)) >> (2u * (k >> 2))) & 3u;
  return float(int(lo | (hi << 4)) - 32);
}
#endif

/* Item `part` (0..7) of the step starting at value k0 of the row at byte rb:
 * values at step offsets ka..ka+3 (a) and kb..kb+3 (b). */
void item(uint rb, uint k0, uint part, out vec4 a, out vec4 b, out uint ka, out uint kb)
{
#if defined(TYPE_F16)
  const uint k = k0 + part * 8u;
  ka = part * 8u, kb = ka + 4u;
  a = vec4(0.0), b = vec4(0.0);
  if (k + 8u <= p.ncols) {
    const uint wi = (rb >> 2) + (k >> 1);
    a = vec4(unpackHalf2x16(w[wi]), unpackHalf2x16(w[wi + 1u]));
    b = vec4(unpackHalf2x16(w[wi + 2u]), unpackHalf2x16(w[wi + 3u]));
  } else {
    /* (a loop of 8 written out: a and b stay registers, not arrays indexed at run time) */
    [[unroll]] for (uint j = 0u; j < 8u; j++) {
      if (k + j < p.ncols) {
        const float v = unpackHalf2x16(w[(rb >> 2) + ((k + j) >> 1)] >> (((k + j) & 1u) * 16u)).x;
        if (j < 4u) a[j] = v; else b[j - 4u] = v;
      }
    }
  }
#elif defined(TYPE_Q8_0)
  const uint bi = part / 4u, g = part % 4u;
  ka = bi * 32u + g * 8u, kb = ka + 4u;
  a = vec4(0.0), b = vec4(0.0);
  if (k0 + bi * 32u < p.ncols) {
    const uint blk = rb + ((k0 >> 5) + bi) * 34u;
    const float d = rdhalf(blk);
    a = bytes_s8(rd32h(blk + 2u + g * 8u)) * d;
    b = bytes_s8(rd32h(blk + 6u + g * 8u)) * d;
  }
#elif defined(TYPE_Q4_K) || defined(TYPE_Q5_K)
  /* the step is chunk (k0 % 256) / 64 of block k0 / 256 (words.glsl) */
#if defined(TYPE_Q4_K)
  const uint bw = (rb >> 2) + (k0 >> 8) * 36u;
#else
  const uint bw = (rb >> 2) + (k0 >> 8) * 44u;
#endif
  kquant_chunk(bw, (k0 & 255u) >> 6, part, a, b);
  ka = part * 4u, kb = 32u + part * 4u;
#elif defined(TYPE_Q6_K)
  /* step h4 of the block: half h4 / 2, low (even h4) or high nibbles */
  const uint h4 = (k0 & 255u) >> 6;
  q6k_quad(rb + (k0 >> 8) * 210u, h4 >> 1, h4 & 1u, part * 4u, a, b);
  ka = part * 4u, kb = 32u + part * 4u;
#elif defined(TYPE_Q4_0) || defined(TYPE_Q4_1) || defined(TYPE_Q5_0) || defined(TYPE_Q5_1) || defined(TYPE_IQ4_NL)
  /* the 4-bit blocks of 32 (two a step): bytes 4g … 4g + 3 of block bi's
   * nibbles, values 4g … 4g + 3 (low nibbles: a) and 16 on (high: b) */
  const uint bi = part / 4u, g = part % 4u;
  ka = bi * 32u + g * 4u, kb = ka + 16u;
  a = vec4(0.0), b = vec4(0.0);
  if (k0 + bi * 32u < p.ncols) {
#if defined(TYPE_Q4_0)
    const uint blk = rb + ((k0 >> 5) + bi) * 18u, q = rd32h(blk + 2u + g * 4u);
#elif defined(TYPE_Q4_1)
    const uint blk = rb + ((k0 >> 5) + bi) * 20u, q = rd32h(blk + 4u + g * 4u);
#elif defined(TYPE_Q5_0)
    const uint blk = rb + ((k0 >> 5) + bi) * 22u, q = rd32h(blk + 6u + g * 4u), qh = rd32h(blk + 2u);
#elif defined(TYPE_Q5_1)
    const uint blk = rb + ((k0 >> 5) + bi) * 24u, q = rd32h(blk + 8u + g * 4u), qh = rd32h(blk + 4u);
#else
    const uint blk = rb + ((k0 >> 5) + bi) * 18u, q = rd32h(blk + 2u + g * 4u);
#endif
    const float d = rdhalf(blk);
#if defined(TYPE_IQ4_NL)
    a = grid_levels(q) * d;
    b = grid_levels(q >> 4) * d;
#else
    a = nibbles_lo(q), b = nibbles_hi(q);
#if defined(TYPE_Q5_0) || defined(TYPE_Q5_1)
    a += 16.0 * bits4(qh >> (4u * g)), b += 16.0 * bits4(qh >> (16u + 4u * g));
#endif
#if defined(TYPE_Q4_0)
    a = (a - 8.0) * d, b = (b - 8.0) * d;
#elif defined(TYPE_Q5_0)
    a = (a - 16.0) * d, b = (b - 16.0) * d;
#else
    const float m = rdhalf(blk + 2u);
    a = a * d + m, b = b * d + m;
#endif
#endif
  }
#elif defined(TYPE_Q2_K) || defined(TYPE_Q3_K)
  /* step s of the block: half n = s / 2, the codes at shift j = 2·(s % 2)
   * (a) and j + 1 (b) of bytes l = 4·part … + 3 of that half's 32 (values
   * 128n + 32j + l …: a, and 32 on: b) */
  const uint s = (k0 & 255u) >> 6, n = s >> 1, j = 2u * (s & 1u), l = part * 4u;
  ka = part * 4u, kb = 32u + part * 4u;
#if defined(TYPE_Q2_K)
  const uint blk = rb + (k0 >> 8) * 84u, q = rd32h(blk + 16u + 32u * n + l);
  const vec2 dm = unpackHalf2x16(rd32h(blk + 80u));
  const uint sa = rd8(blk + 8u * n + 2u * j + (l >> 4)), sb = rd8(blk + 8u * n + 2u * j + 2u + (l >> 4));
  a = crumbs(q, j) * (dm.x * float(sa & 15u)) - dm.y * float(sa >> 4);
  b = crumbs(q, j + 1u) * (dm.x * float(sb & 15u)) - dm.y * float(sb >> 4);
#else
  const uint blk = rb + (k0 >> 8) * 110u, q = rd32h(blk + 32u + 32u * n + l), hm = rd32h(blk + l);
  const float d = rdhalf(blk + 108u);
  const uint sk = 8u * n + 2u * j + (l >> 4); /* the scale of a; b's is 2 on */
  a = (crumbs(q, j) - 4.0 + 4.0 * bits_of_bytes(hm >> (4u * n + j))) * (d * q3k_scale(blk, sk));
  b = (crumbs(q, j + 1u) - 4.0 + 4.0 * bits_of_bytes(hm >> (4u * n + j + 1u))) * (d * q3k_scale(blk, sk + 2u));
#endif
#elif defined(TYPE_IQ4_XS)
  /* sub-blocks 2s and 2s + 1 of the block (s = step): bytes 4g … 4g + 3 of
   * sub-block ib's 16 */
  const uint ib = 2u * ((k0 & 255u) >> 6) + part / 4u, g = part % 4u;
  ka = (part / 4u) * 32u + g * 4u, kb = ka + 16u;
  const uint blk = rb + (k0 >> 8) * 136u, hdr = rd32h(blk);
  const uint ls = ((rd8(blk + 4u + (ib >> 1)) >> (4u * (ib & 1u))) & 15u) | (((hdr >> (16u + 2u * ib)) & 3u) << 4);
  const float dl = unpackHalf2x16(hdr).x * (float(ls) - 32.0);
  const uint q = rd32h(blk + 8u + 16u * ib + 4u * g);
  a = grid_levels(q) * dl;
  b = grid_levels(q >> 4) * dl;
#else
#error items.glsl: no TYPE_ given
#endif
}
