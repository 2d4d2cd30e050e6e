/* norm_tail.glsl — -DNORM_TAIL for matvec_team.comp and matvec_dot.comp (one
 * input vector): the residual add and RMSNorm after the product, done by the
 * product's last workgroup to finish instead of add_rms_norm.comp's own
 * dispatch (one launch and barrier fewer, twice per decode layer):
 *   x = x + y            (binding 4, the residual stream, written back)
 *   h = x / sqrt(mean(x²) + eps) · g   (g: binding 5, h: binding 6)
 * and with t_flags bit 0, h rounded to 8 bits as well (act8.glsl's layout,
 * from word t_q of binding 6). y is the product's whole output (nrows
 * values from y_off); offsets t_res, t_g and t_h count vec4s.
 *
 * Counting, as attention_split.comp -DMERGE does: each workgroup, after its
 * rows of y are written, meets a workgroup barrier that orders buffer memory
 * at device scope, then its first thread adds 1 to counter t_cnt (binding 7)
 * with acquire-release semantics at device scope. The workgroup that brings
 * it to the number of workgroups in the grid (every one counts, those
 * without rows too) sees every row of y (y is coherent), does the norm and
 * sets the counter back to 0 for the next dispatch. No workgroup waits for
 * another. The includer declares Params (with the t_* fields), Y as
 * coherent, common.glsl and act8.glsl, and calls norm_tail() at the end of
 * main() from every thread, with no thread returned before. */
#extension GL_KHR_memory_scope_semantics : require

layout(std430, binding = 2) coherent buffer Y4 { vec4 tail_y4[]; };
/* (coherent: the 8-bit rounding reads rows other threads of the workgroup wrote) */
layout(std430, binding = 4) coherent buffer Res { vec4 tail_res[]; };
layout(std430, binding = 5) readonly buffer NormW { vec4 tail_g[]; };
layout(std430, binding = 6) writeonly buffer H { vec4 tail_h[]; };
layout(std430, binding = 6) writeonly buffer HQ { uint tail_hq[]; };
layout(std430, binding = 6) writeonly buffer HD { vec2 tail_hd[]; };
layout(std430, binding = 7) coherent buffer Count { uint tail_cnt[]; };

shared uint tail_last;

void norm_tail()
{
  const uint tid = gl_LocalInvocationID.x;
  /* this workgroup's rows out to the device, then counted in (the release of the count covers
   * every thread's writes through the barrier before it, its acquire every thread's reads
   * through the barrier after it) */
  controlBarrier(gl_ScopeWorkgroup, gl_ScopeDevice, gl_StorageSemanticsBuffer | gl_StorageSemanticsShared,
                 gl_SemanticsAcquireRelease);
  const uint groups = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_NumWorkGroups.z;
  if (tid == 0u)
    tail_last =
      atomicAdd(tail_cnt[p.t_cnt], 1u, gl_ScopeDevice, gl_StorageSemanticsBuffer, gl_SemanticsAcquireRelease) ==
          groups - 1u
        ? 1u
        : 0u;
  controlBarrier(gl_ScopeWorkgroup, gl_ScopeDevice, gl_StorageSemanticsBuffer | gl_StorageSemanticsShared,
                 gl_SemanticsAcquireRelease);
  if (tail_last == 0u) return; /* the whole workgroup */
  if (tid == 0u) atomicExchange(tail_cnt[p.t_cnt], 0u);
  const uint n4 = p.nrows / 4u, yb = p.y_off / 4u;
  float ss = 0.0;
  for (uint i = tid; i < n4; i += WG_SIZE) {
    const vec4 v = tail_res[p.t_res + i] + tail_y4[yb + i];
    tail_res[p.t_res + i] = v;
    ss += dot(v, v);
  }
  ss = wg_sum(ss);
  const float scale = inversesqrt(ss / float(p.nrows) + p.t_eps);
  /* (each thread reads back what it wrote itself) */
  for (uint i = tid; i < n4; i += WG_SIZE) tail_h[p.t_h + i] = tail_res[p.t_res + i] * scale * tail_g[p.t_g + i];
  if ((p.t_flags & 1u) != 0u) {
    /* blocks of 32 by one thread each: the residual rows other threads wrote */
    controlBarrier(gl_ScopeWorkgroup, gl_ScopeWorkgroup, gl_StorageSemanticsBuffer, gl_SemanticsAcquireRelease);
    for (uint b = tid; b < p.nrows / 32u; b += WG_SIZE) {
      vec4 v[8];
      for (uint i = 0u; i < 8u; i++) v[i] = tail_res[p.t_res + 8u * b + i] * scale * tail_g[p.t_g + 8u * b + i];
      uint w[8];
      const vec2 ds = act8_block(v, w);
      for (uint i = 0u; i < 8u; i++) tail_hq[p.t_q + 8u * b + i] = w[i];
      tail_hd[(p.t_q + p.nrows / 4u) / 2u + b] = ds;
    }
  }
}
