/* vulkan/vk-internal.h — the context struct shared by vk-context.c and vk-ops.c. */
#ifndef STILL_VULKAN_VK_INTERNAL_H
#define STILL_VULKAN_VK_INTERNAL_H

#include "vulkan/vk.h"
#include "vulkan/vk-shaders.h"

#include <vulkan/vulkan.h>

#define STILL_VK_BINDINGS 4
#define STILL_VK_PUSH_MAX 128 /* the minimum every device guarantees */
#define STILL_VK_MAX_SETS 4096

#define VKBUF(b) ((VkBuffer)(uintptr_t)(b)->handle)
#define VKMEM(b) ((VkDeviceMemory)(uintptr_t)(b)->memory)

struct still_vk {
  VkInstance instance;
  VkPhysicalDevice physical;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  int device_index;
  uint32_t subgroup_size, wg_size;
  uint32_t matmul_min_vecs; /* STILL_VK_MATMUL_MIN_VECS (default STILL_VK_MATMUL_MIN_VECS) */
  bool matvec_generic;
  int matmul_mode; /* STILL_VK_MATMUL: 0 default, 1 generic (matmul.comp only), 2 team (matmul_team.comp too for K-quants) */ /* STILL_VK_MATVEC=generic: matvec.comp for every type */
  uint32_t queue_family;
  VkDevice device;
  VkQueue queue;
  VkCommandPool cmd_pool;
  VkCommandBuffer cmd;
  VkFence fence;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipe_layout;
  VkDescriptorPool desc_pool;
  VkPipelineCache pipeline_cache;
  VkShaderModule modules[VK_SHADER_COUNT];
  VkPipeline pipelines[VK_SHADER_COUNT];
  bool recording;
  int n_dispatch, n_sets;
  bool skip_barrier; /* still_vk_concurrent_next */
  bool concurrent_ok; /* STILL_VK_CONCURRENT=0 turns the hint off */
  bool force_staging;
  bool cache_loaded, cache_dirty;
  char cache_path[1024];
  still_vk_buffer staging;
  /* test hook: STILL_VK_MEMORY_LIMIT=BYTES makes allocations beyond it fail as
   * out of device memory (to test the fallback to fewer layers) */
  uint64_t mem_limit, mem_used;
  uint64_t mem_peak; /* the most mem_used has been (still_vk_memory_usage) */
  /* STILL_VK_PROFILE=1: a timestamp after every dispatch; per-shader GPU time
   * is summed over the context's life and printed on stderr at close */
  VkQueryPool ts_pool;
  double ts_period_ns;
  uint64_t ts_mask;
  still_vk_shader_id ts_ids[STILL_VK_MAX_SETS];
  uint64_t prof_ns[VK_SHADER_COUNT], prof_calls[VK_SHADER_COUNT];
  uint64_t prof_submits, prof_gpu_ns, prof_wall_ns;
  uint64_t submit_t0;
};

still_status still_vk_fail(still_error *err, VkResult r, const char *what);
/* Record one dispatch of shader id over gx×gy×gz workgroups. */
still_status still_vk_dispatch(still_vk *vk, still_vk_shader_id id, const still_vk_buffer *const *bufs, int n_bufs,
                               const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz,
                               still_error *err);
bool still_vk_pipeline_cache_loaded(const still_vk *vk);

#endif
