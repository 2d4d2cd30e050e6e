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
 * Counting, as attention_split.comp -DMERGE does (count_in.glsl): each
 * workgroup, after its rows of y are written, counts itself in on counter
 * t_cnt (binding 7). The workgroup that brings it to the number of
 * workgroups in the grid (every one counts, those without rows too) sees
 * every row of y (y is coherent), does the norm and sets the counter back to
 * 0 for the next dispatch. No workgroup waits for another. The includer
 * declares Params (with the t_* fields), Y as coherent, common.glsl and
 * act8.glsl, and calls norm_tail() at the end of main() from every thread,
 * with no thread returned before. */
#define COUNT_BINDING 7
#include "count_in.glsl"

layout(std430, binding = 2) coherent buffer Y4 { vec4 tail_y4[]; };
/* (coherent: the 8-bit rounding reads rows other threads of the workgroup wrote) */
layout(std430, binding = 4) coherent buffer Res { vec4 tail_res[]; };
layout(std430, binding = 5) readonly buffer NormW { vec4 tail_g[]; };
layout(std430, binding = 6) writeonly buffer H { vec4 tail_h[]; };
layout(std430, binding = 6) writeonly buffer HQ { uint tail_hq[]; };
layout(std430, binding = 6) writeonly buffer HD { vec2 tail_hd[]; };
void norm_tail()
{
  const uint tid = gl_LocalInvocationID.x;
  /* this workgroup's rows out to the device, then counted in; the last one norms */
  if (!count_in(p.t_cnt, gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_NumWorkGroups.z)) return; /* the whole workgroup */
  count_reset(p.t_cnt);
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
