#version 450
/* coop_probe.comp — one 16 × 16 × 16 cooperative-matrix product per subgroup, D = A₀·B₀ +
 * A₁·B₁ + C, through shared memory in the layouts and strides the tensor-core shaders use, to
 * see which of them a driver runs as written (tests/vulkan: /vk/coop-probe). Never run by the
 * engine itself: a diagnostic, because an H200 ran the tensor-core prefill right and the
 * tensor-core attention wrong, and the two differ in which of these operations they use.
 *
 * Built once per combination (defines, 0 or 1):
 * - A_COL, B_COL: the float16 A and B tiles column-major (else row-major);
 * - C_LOAD: C loaded from shared memory (else zero), C_COL: column-major;
 * - D_COL: D stored column-major (else row-major);
 * - LONE: a 4-byte shared variable declared before the tiles and used (whether the driver
 *   then still aligns the tiles' rows to the 16 bytes the loads need).
 * The prefill: A row-major, B column-major, D column-major with stride 16, no C. The
 * attention: D row-major (its scores, stride 32, and its outputs' scratch, 16), C loaded
 * row-major (the outputs' rescale), B row-major (the values, stride 136).
 *
 * Push constants: the strides of the A, B, C and D tiles (array elements: halves for A and B,
 * floats for C and D; multiples of 8 halves or 4 floats, 16 bytes). Each tile holds its blocks
 * (8 of A and B: subgroup s takes 2s and 2s + 1; 4 of C and D) side by side, stride / 16 to a
 * band of 16 lines, then band after band (block_at); the host keeps them inside the arrays.
 * Input (binding 0, float): A's 8 blocks, then B's 8, then C's 4, 256 values each, row r of a
 * block at 16 r (the canonical layout the host computes with); output (binding 1): D's 4 blocks
 * the same way, then at 1024 the lone variable's value read back (LONE: 12345). */
#ifndef COOP_EMULATE
#extension GL_NV_cooperative_matrix : require
#endif
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_control_flow_attributes : require

layout(local_size_x = 128) in;

layout(std430, binding = 0) readonly buffer In { float x[]; };
layout(std430, binding = 1) writeonly buffer Out { float y[]; };

layout(push_constant) uniform Params {
  uint sa, sb, sc, sd;
} p;

#ifndef A_COL
#define A_COL 0
#endif
#ifndef B_COL
#define B_COL 0
#endif
#ifndef C_LOAD
#define C_LOAD 0
#endif
#ifndef C_COL
#define C_COL 0
#endif
#ifndef D_COL
#define D_COL 0
#endif
#if A_COL
#define A_MAJOR true
#else
#define A_MAJOR false
#endif
#if B_COL
#define B_MAJOR true
#else
#define B_MAJOR false
#endif
#if C_COL
#define C_MAJOR true
#else
#define C_MAJOR false
#endif
#if D_COL
#define D_MAJOR true
#else
#define D_MAJOR false
#endif

#ifdef LONE
shared uint lone_;
#endif
shared float16_t a_[4096];
shared float16_t b_[4096];
shared float c_[1536];
shared float d_[1536];

/* where block b of a tile of stride s starts */
uint block_at(uint b, uint s)
{
  const uint per = s / 16u;
  return (b % per) * 16u + (b / per) * 16u * s;
}

/* element (r, c) of the matrix at (off, stride, col_major) */
uint at(uint off, uint s, bool col_major, uint r, uint c)
{
  return off + (col_major ? c * s + r : r * s + c);
}

#ifdef COOP_EMULATE
#define SG_ID (gl_LocalInvocationID.x / 32u)
#define SG_LANE (gl_LocalInvocationID.x % 32u)
#else
#define SG_ID gl_SubgroupID
#define SG_LANE gl_SubgroupInvocationID
#define ACC fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define HALF fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#endif

void main()
{
  const uint tid = gl_LocalInvocationID.x, sg = SG_ID;
#ifdef LONE
  if (tid == 0u) lone_ = 12345u;
#endif
  for (uint i = tid; i < 2048u; i += 128u) {
    const uint b = i / 256u, r = (i % 256u) / 16u, c = i % 16u;
    a_[at(block_at(b, p.sa), p.sa, A_MAJOR, r, c)] = float16_t(x[i]);
    b_[at(block_at(b, p.sb), p.sb, B_MAJOR, r, c)] = float16_t(x[2048u + i]);
  }
  for (uint i = tid; i < 1024u; i += 128u) {
    const uint b = i / 256u, r = (i % 256u) / 16u, c = i % 16u;
    c_[at(block_at(b, p.sc), p.sc, C_MAJOR, r, c)] = x[4096u + i];
  }
  barrier();
#ifdef COOP_EMULATE
  /* lane l holds elements e = l + 32·t, (m, n) = (e % 16, e / 16), as the other shaders'
   * emulations */
  for (uint t = 0u; t < 8u; t++) {
    const uint e = SG_LANE + 32u * t, m = e % 16u, n = e / 16u;
    float s = C_LOAD != 0 ? c_[at(block_at(sg, p.sc), p.sc, C_MAJOR, m, n)] : 0.0;
    for (uint step = 0u; step < 2u; step++)
      for (uint k = 0u; k < 16u; k++)
        s += float(a_[at(block_at(2u * sg + step, p.sa), p.sa, A_MAJOR, m, k)]) *
             float(b_[at(block_at(2u * sg + step, p.sb), p.sb, B_MAJOR, k, n)]);
    d_[at(block_at(sg, p.sd), p.sd, D_MAJOR, m, n)] = s;
  }
#else
  ACC acc = ACC(0.0);
#if C_LOAD
  coopMatLoadNV(acc, c_, block_at(sg, p.sc), p.sc, C_MAJOR);
#endif
  [[unroll]] for (uint step = 0u; step < 2u; step++) {
    HALF a, b;
    coopMatLoadNV(a, a_, block_at(2u * sg + step, p.sa), p.sa, A_MAJOR);
    coopMatLoadNV(b, b_, block_at(2u * sg + step, p.sb), p.sb, B_MAJOR);
    acc = coopMatMulAddNV(a, b, acc);
  }
  coopMatStoreNV(acc, d_, block_at(sg, p.sd), p.sd, D_MAJOR);
#endif
  barrier();
  for (uint i = tid; i < 1024u; i += 128u) {
    const uint b = i / 256u, r = (i % 256u) / 16u, c = i % 16u;
    y[i] = d_[at(block_at(b, p.sd), p.sd, D_MAJOR, r, c)];
  }
#ifdef LONE
  if (tid == 0u) y[1024] = float(lone_);
#else
  if (tid == 0u) y[1024] = 12345.0;
#endif
}
