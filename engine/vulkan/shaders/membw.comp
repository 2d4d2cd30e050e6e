#version 450
/* membw.comp — the read bandwidth of the device's own memory
 * (still_measure_gpu_bandwidth, vk-membw.c). -DFILL writes every 16-byte
 * word i of the buffer once (membw_word(i)), so that the reads touch real
 * memory, not pages that are not there yet. -DREAD: every thread streams
 * words i, i + threads, i + 2·threads… (neighbouring threads read
 * neighbouring words) and folds them with XOR; each workgroup stores the
 * XOR of its threads' values in o[workgroup], which the host checks against
 * the pattern (a shader that skipped reads would be caught, not timed). */
#include "common.glsl"

#ifdef READ
layout(std430, binding = 0) readonly buffer A { uvec4 a[]; };
#else
layout(std430, binding = 0) writeonly buffer A { uvec4 a[]; };
#endif
layout(std430, binding = 1) writeonly buffer O { uint o[]; };

layout(push_constant) uniform Params {
  uint n;       /* 16-byte words */
  uint threads; /* workgroups × WG_SIZE */
} p;

shared uint part_xor[WG_SIZE / 4 + 1];

void main()
{
  const uint id = gl_GlobalInvocationID.x;
#ifdef READ
  uint acc = 0u;
  for (uint i = id; i < p.n; i += p.threads) {
    const uvec4 v = a[i];
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  acc = subgroupXor(acc);
  if (subgroupElect()) part_xor[gl_SubgroupID] = acc;
  barrier();
  if (gl_LocalInvocationID.x == 0u) {
    uint w = 0u;
    for (uint s = 0u; s < gl_NumSubgroups; s++) w ^= part_xor[s];
    o[gl_WorkGroupID.x] = w;
  }
#else
  /* four values that do not cancel in the XOR (vk-membw.c pattern_xor) */
  for (uint i = id; i < p.n; i += p.threads)
    a[i] = uvec4(i * 2654435761u, (i ^ 0x5bd1e995u) * 0x85ebca6bu, (i >> 3) * 0xc2b2ae35u + 1u, ~i ^ (i << 7));
#endif
}
