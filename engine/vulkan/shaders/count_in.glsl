/* count_in.glsl — "the last workgroup to finish does the rest", for
 * attention_split.comp -DMERGE and norm_tail.glsl. The includer defines
 * COUNT_BINDING (the counters' storage buffer, every counter 0 between
 * dispatches). No workgroup waits for another.
 *
 * count_in(slot, total), called by every thread of the workgroup after its
 * writes: a workgroup barrier that orders buffer memory at device scope, then
 * one atomicAdd on counter slot with acquire-release semantics at device
 * scope (GL_KHR_memory_scope_semantics; no Vulkan memory model needed), then
 * a barrier again. The release of the count covers every thread's writes
 * through the barrier before it, its acquire every thread's reads through the
 * barrier after it, so the workgroup that brings the count to total (the
 * answer true, for all its threads) sees what the others wrote, where it
 * reads it from coherent buffers. That one calls count_reset(slot) for the
 * next dispatch, which the host's barrier between dispatches orders after
 * this one. */
#extension GL_KHR_memory_scope_semantics : require

layout(std430, binding = COUNT_BINDING) coherent buffer Count { uint count_slots[]; };

shared uint count_last;

bool count_in(uint slot, uint total)
{
  controlBarrier(gl_ScopeWorkgroup, gl_ScopeDevice, gl_StorageSemanticsBuffer | gl_StorageSemanticsShared,
                 gl_SemanticsAcquireRelease);
  if (gl_LocalInvocationID.x == 0u)
    count_last = atomicAdd(count_slots[slot], 1u, gl_ScopeDevice, gl_StorageSemanticsBuffer,
                           gl_SemanticsAcquireRelease) == total - 1u
                   ? 1u
                   : 0u;
  controlBarrier(gl_ScopeWorkgroup, gl_ScopeDevice, gl_StorageSemanticsBuffer | gl_StorageSemanticsShared,
                 gl_SemanticsAcquireRelease);
  return count_last != 0u;
}

void count_reset(uint slot)
{
  if (gl_LocalInvocationID.x == 0u) atomicExchange(count_slots[slot], 0u);
}
