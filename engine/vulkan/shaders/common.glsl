/* common.glsl — shared declarations of every compute shader.
 * Specialization constants: 0 = workgroup size (threads along x),
 * 1 = subgroup size of the device (8 on lavapipe, 32/64 on GPUs).
 * Reductions: subgroupAdd inside a subgroup, then one shared slot per
 * subgroup; WG_SIZE / 4 slots cover every subgroup size >= 4. */
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint WG_SIZE = 64;
layout(constant_id = 1) const uint SUBGROUP_SIZE = 32;

shared float red_partial[WG_SIZE / 4 + 1];

/* Sum of v over the whole workgroup, returned to every thread. */
float wg_sum(float v)
{
  float s = subgroupAdd(v);
  if (gl_NumSubgroups == 1) return s;
  barrier();
  if (subgroupElect()) red_partial[gl_SubgroupID] = s;
  barrier();
  float t = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; i++) t += red_partial[i];
  barrier();
  return t;
}

float wg_max(float v)
{
  float s = subgroupMax(v);
  if (gl_NumSubgroups == 1) return s;
  barrier();
  if (subgroupElect()) red_partial[gl_SubgroupID] = s;
  barrier();
  float t = red_partial[0];
  for (uint i = 1; i < gl_NumSubgroups; i++) t = max(t, red_partial[i]);
  barrier();
  return t;
}

/* A row index over a 2D grid: dispatches are limited to 65535 groups per axis. */
uint group_row()
{
  return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
}
