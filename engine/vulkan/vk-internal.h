/* vulkan/vk-internal.h — the context struct shared by vk-context.c and vk-ops.c. */
#ifndef STILL_VULKAN_VK_INTERNAL_H
#define STILL_VULKAN_VK_INTERNAL_H

#include "vulkan/vk.h"
#include "vulkan/vk-shaders.h"

#include <vulkan/vulkan.h>

/* storage buffers per op at most; devices that allow fewer per shader stage
 * (the Vulkan minimum is 4) get n_bindings = 8 or 4 and no op that needs more */
#define STILL_VK_BINDINGS 10
/* bytes of still_vk.counts: one counter per KV head (still_vk_attention_fold's merge) from the
 * first, and the last for the norm in a product's tail (still_vk_matvec_norm) */
#define STILL_VK_COUNTS_BYTES 1024
#define STILL_VK_PUSH_MAX 128 /* the minimum every device guarantees */
/* most ops in one submit (timestamps, descriptor sets outside the cache) */
#define STILL_VK_MAX_SETS 4096
#define STILL_VK_PROF_SHAPES 256

/* command buffers one begin/submit may take (still_vk_flush) */
#define STILL_VK_CMD_BUFFERS 8
/* recorded host copies waiting for one submit's fence */
#define STILL_VK_MAX_PENDING 32
/* cached descriptor sets: at most STILL_VK_CACHED_SETS alive (a 64-layer
 * model needs ~1300), in a table of twice as many slots */
#define STILL_VK_CACHED_SETS 4096
#define STILL_VK_SET_SLOTS (2 * STILL_VK_CACHED_SETS)

/* STILL_VK_PROFILE=shapes: GPU time of one shader at one shape */
typedef struct {
  uint32_t id, gx, gy, gz, p0, p1;
  uint64_t ns, calls;
} still_vk_prof_shape;

typedef struct {
  uint64_t key[STILL_VK_BINDINGS]; /* VkBuffer handles of the bindings (unused ones: binding 0's) */
  VkDescriptorSet set;
  uint8_t state; /* 0 empty, 1 live, 2 deleted (a tombstone) */
} still_vk_set_entry;

/* Cache files beside the pipeline cache (vk-context.c): the path of NAME
 * ($XDG_CACHE_HOME/distill/NAME, else ~/.cache/distill/NAME; false when
 * neither is set), and a whole-file write through a temp name. */
bool still_vk_cache_file(const char *name, char *buf, size_t cap);
bool still_vk_write_file_atomic(const char *path, const void *data, size_t len);
/* Forgets the GPU times STILL_VK_PROFILE has summed so far (vk-tune.c: its
 * candidates' runs are not the session's). */
void still_vk_profile_reset(still_vk *vk);

/* The context's counters (STILL_VK_COUNTS_BYTES, every one 0 between ops), made and zeroed in
 * the command buffer being recorded at the first call. */
still_status still_vk_counts(still_vk *vk, still_vk_buffer **out, still_error *err);

#define VKBUF(b) ((VkBuffer)(uintptr_t)(b)->handle)
#define VKMEM(b) ((VkDeviceMemory)(uintptr_t)(b)->memory)

/* rows per team of the dot shaders, by pipeline variant (still_vk.pipelines) */
#define STILL_VK_PIPE_VARIANTS 3

struct still_vk {
  VkInstance instance;
  VkPhysicalDevice physical;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  int device_index;
  uint32_t subgroup_size, wg_size;
  uint32_t n_bindings; /* storage buffers of the descriptor set layout: STILL_VK_BINDINGS, or 8 or 4 where the device allows fewer */
  uint32_t norm_wg; /* STILL_VK_NORM_WG (0: 256, the default of the RMSNorm shaders) */
  uint32_t matmul_min_vecs; /* STILL_VK_MATMUL_MIN_VECS (default STILL_VK_MATMUL_MIN_VECS) */
  bool matvec_generic;
  bool fuse_off;        /* STILL_VK_FUSE=0: no fused ops (bias, SwiGLU, residual add + RMSNorm) */
  bool attn_split_off;  /* STILL_VK_ATTN_SPLIT=0: attention.comp at decode too */
  uint32_t fault_submit; /* STILL_VK_FAULT_SUBMIT=N (tests): compute submit N and every later one fail as a lost device would */
  uint32_t n_submits;
  bool rope_store_off;  /* STILL_VK_ROPE_STORE=0: separate norm, rope and store dispatches (no rope_store.comp) */
  bool attn_fold_off;   /* STILL_VK_ATTN_FOLD=0: decode ropes and stores q/k/v in a dispatch of its own (rope_store.comp) */
  bool attn_merge_fold; /* STILL_VK_ATTN_FOLD=2 (or the tuner's): the fold also merges the chunks (no attention_merge.comp) */
  bool norm_fold;       /* STILL_VK_NORM_FOLD=1 (or the tuner's): decode's residual add and RMSNorm in the last
                         * workgroup of the product before them (still_vk_matvec_norm) */
  int norm_checked;     /* still_vk_norm_fold_check: 0 not yet, 1 passed, -1 failed */
  char norm_failed[160];
  int merge_checked;    /* still_vk_attention_merge_check: 0 not yet, 1 passed, -1 failed */
  char merge_failed[160];
  int coop_checked[2]; /* still_vk_attention_coop_check: the same, for designs 1 and 2 */
  char coop_failed[2][160];
  int mm_coop_checked;  /* still_vk_matmul_coop_check: the same */
  char mm_coop_failed[160];
  /* counters the fold's merge leaves at 0 (zeroed when made: still_vk_counts); counts_failed:
   * it could not be made (not tried again) */
  still_vk_buffer counts;
  bool counts_failed;
  bool attn_tile_off;   /* STILL_VK_ATTN_TILE=0: attention.comp for prompt batches too */
  uint32_t attn_coop;   /* STILL_VK_ATTN_COOP: prompt attention on tensor cores where it fits
                         * (attention_coop.comp, still_vk_attention_coop_ok): 1 both its products,
                         * 2 only the scores (-DPV_LANES); 0 the float32 tiles; the tuner's */
  uint32_t loop_budget; /* loop iterations a shader invocation may run (CPU devices: lavapipe's limit; vk-ops.c) */
  bool int_dot;        /* 8-bit integer dot products enabled (matvec_dot.comp); STILL_VK_DOT=0: off */
  uint32_t dot_rows;   /* rows per team of matvec_dot.comp (4, 2 or 1): STILL_VK_DOT_ROWS, else 4; the tuner's */
  uint32_t dot_wg;     /* its workgroup: STILL_VK_DOT_WG, else wg_size */
  uint32_t dot_preround; /* inputs rounded once before the dot products (STILL_VK_DOT_PREROUND) */
  uint32_t dot_types;  /* the types that take it, by still_vk_dot_type_bit (STILL_VK_DOT_TYPES; default Q4_K, Q5_K) */
  uint32_t matvec_ahead; /* STILL_VK_MATVEC_AHEAD: passes matvec_team.comp loads ahead per row (0: its default) */
  /* rows per team of matvec_team.comp at decode (one input vector; F16: 1): for Q8_0 and Q6_K
   * (team_rows_wide, default 2) and the other block types (team_rows_small, default 4);
   * STILL_VK_MATVEC_ROWS=1, 2 or 4 sets both; the tuner's (vk-tune.c) */
  uint32_t team_rows_wide, team_rows_small;
  bool matvec_narrow;   /* STILL_VK_MATVEC=narrow: no 16-byte K-quant reads in matvec_team */
  uint32_t matvec_sub;  /* STILL_VK_MATVEC_SUB: teams per row (0: chosen per matrix) */
  int matmul_mode; /* STILL_VK_MATMUL: 0 default, 1 generic (matmul.comp only), 2 team (matmul_team.comp too for K-quants), 3 dot, 4 wide (matmul_wide.comp) */ /* STILL_VK_MATVEC=generic: matvec.comp for every type */
  /* VK_NV_cooperative_matrix (tensor cores) for the prefill matmul: the
   * extension, 16x16x16 (or 16x8x16) fp16·fp16+fp32 subgroup matrices, shaderFloat16 and
   * the Vulkan memory model all present and enabled, subgroups of 32;
   * STILL_VK_COOPMAT=0 leaves it off (probe in vk-context.c) */
  bool coopmat;
  /* the test hook STILL_VK_COOPMAT=emulate: coopmat on a device without
   * the extension, through still_vk_coop_emulated (vk-shaders.h) */
  bool coopmat_emulated;
  bool pipe_stats; /* STILL_VK_PIPELINE_STATS=1: the driver's statistics of each pipeline on stderr */
  uint32_t coopmat_n; /* N of its 16xNx16 matrices: 16 (matmul_coop.comp) or 8 (matmul_coop8.comp) */
  uint32_t coopmat_rows, coopmat_vecs; /* its tile: 64x64, or 128x64 / 64x128 (STILL_VK_COOPMAT_TILE=m128|n128) */
  uint32_t queue_family;
  VkDevice device;
  VkQueue queue;
  VkCommandPool cmd_pool;
  VkCommandBuffer cmd; /* the one being recorded: cmds[n_flushed] */
  /* still_vk_flush hands the commands recorded so far to the GPU and goes
   * on in the next buffer, so the GPU works while the host records the rest */
  VkCommandBuffer cmds[STILL_VK_CMD_BUFFERS];
  int n_flushed;  /* buffers submitted since begin (without the fence) */
  bool flush_ok;  /* STILL_VK_FLUSH=0 turns still_vk_flush into a no-op */
  int64_t first_submit_us;
  VkFence fence;
  VkDescriptorSetLayout set_layout;
  VkPipelineLayout pipe_layout;
  VkDescriptorPool desc_pool;
  VkPipelineCache pipeline_cache;
  VkShaderModule modules[VK_SHADER_COUNT];
  /* [id][still_vk_pipe_variant]: the dot shaders have one per rows-per-team value (their
   * specialization constant), so the tuner switches between them without building again */
  VkPipeline pipelines[VK_SHADER_COUNT][STILL_VK_PIPE_VARIANTS];
  bool recording;
  VkPipeline bound_pipe; /* what the command buffer has bound (redundant binds skipped) */
  VkDescriptorSet bound_set;
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
  /* the most bytes of a buffer one shader binding may see (still_vk_max_range) */
  uint64_t max_range;
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
  uint64_t prof_record_ns; /* host time from begin to submit (recording) */
  uint64_t prof_idle_ns;   /* of it, before the first commands went to the GPU */
  /* STILL_VK_PROFILE=shapes: the time per shader and shape too (grid and
   * the first two push constants: columns and rows for the matrix ops) */
  still_vk_prof_shape prof_shape[STILL_VK_PROF_SHAPES];
  uint32_t n_prof_shapes;
  uint64_t prof_shapes_dropped; /* dispatches of shapes that found the table full */
  bool prof_shapes;
  int16_t ts_shape[STILL_VK_MAX_SETS]; /* the dispatch's prof_shape entry, -1: none (table full) */
  int64_t record_t0_us;

  /* copies recorded into the command buffer (still_vk_upload_rec /
   * still_vk_download_rec): regions of the staging buffer taken by this
   * submit, and the host copies done after its fence */
  bool rec_copies;       /* STILL_VK_ONESUBMIT=0 turns them off (old path) */
  size_t rec_used;       /* bytes of the staging buffer taken since begin */
  bool after_copy;       /* a copy was recorded since the last barrier after copies */
  bool compute_dirty;    /* a dispatch was recorded since the last barrier before copies */
  struct {
    void *dst;
    const void *src;
    size_t n;
  } pending[STILL_VK_MAX_PENDING];
  int n_pending;

  /* descriptor sets kept across submits, keyed by the 4 bound buffers
   * (STILL_VK_SET_CACHE=0 turns the cache off): the buffers of a model's
   * ops are the same every token, so each op's set is written once */
  bool set_cache_on;
  VkDescriptorPool cache_pool;
  still_vk_set_entry *set_table; /* [STILL_VK_SET_SLOTS], open addressing */
  uint32_t set_live, set_dead;
  uint64_t set_hits, set_misses; /* counters for tests and the profile */
};

still_status still_vk_fail(still_error *err, VkResult r, const char *what);
/* The shared memory one workgroup of matvec_dot.comp declares (bytes), at vk's rows and workgroup:
 * rounds, the variant that rounds the vector itself; else -DPREROUNDED or -DNVEC. */
uint64_t still_vk_dot_shared_bytes(const still_vk *vk, bool rounds);
/* The SPIR-V that shader id runs as on this device: still_vk_shaders' own, or its emulated copy
 * (STILL_VK_COOPMAT=emulate; NULL where the test program has none). */
const still_vk_shader *still_vk_shader_source(const still_vk *vk, still_vk_shader_id id);
/* Record one dispatch of shader id over gx×gy×gz workgroups. */
still_status still_vk_dispatch(still_vk *vk, still_vk_shader_id id, const still_vk_buffer *const *bufs, int n_bufs,
                               const void *push, uint32_t push_size, uint32_t gx, uint32_t gy, uint32_t gz,
                               still_error *err);
bool still_vk_pipeline_cache_loaded(const still_vk *vk);

/* device.c: whether a physical device lists an extension; and which of the
 * subgroup-scope fp16 × fp16 → fp32 cooperative matrix shapes that
 * matmul_coop*.comp use it offers (16×16×16, 16×8×16; list: print every
 * configuration on stderr). Shared by the device listing and the context's
 * probe, so both say the same. */
/* The process's one VkInstance (device.c), shared by every context and by
 * the device listing; made on first use (Vulkan 1.2; 1.0 with a 1.0
 * loader: *api_version, may be NULL), never destroyed. A failed
 * creation is not kept: the next call tries again. */
VkResult still_vk_instance(VkInstance *out, uint32_t *api_version);
/* Why still_vk_instance failed, in plain words: the loader gives "out of host
 * memory" also for a driver manifest it cannot parse (VK_ICD_FILENAMES naming
 * a file that is not JSON), so that case says both. */
const char *still_vk_instance_error_words(VkResult r);
/* What the instance's making found of NVIDIA's driver (reached through its EGL library, or why it
 * does not start); empty where nothing was found to say. */
void still_vk_driver_note(char *buf, size_t cap);
bool still_vk_has_device_extension(VkPhysicalDevice pd, const char *name);
void still_vk_coopmat_shapes(VkInstance inst, VkPhysicalDevice pd, bool list, bool *n16, bool *n8);
/* 8-bit integer dot products of a device (Vulkan 1.1 or later): STILL_INT8_DOT_NONE, _EMULATED or
 * _HARDWARE (integerDotProduct4x8BitPackedSignedAccelerated); for still devices and matvec_dot.comp */
uint8_t still_vk_int8_dot(VkInstance inst, VkPhysicalDevice pd);
/* The largest buffer one shader binding of the device may see (every buffer is bound whole):
 * maxStorageBufferRange; on a CPU device (lavapipe reports 128 MiB but reads past it correctly) the
 * 4 GiB - 1 the shaders' 32-bit offsets reach. Test hook: STILL_VK_MAX_RANGE=BYTES on any device.
 * The context's limit and the device listing's (still_gpu.max_buffer_bytes) both come from here. */
uint64_t still_vk_max_range(const VkPhysicalDeviceProperties *props);
/* The memory types a buffer may take, in the order still_vk_buffer_new tries them (flags, and
 * whether it is then mapped): 1 to 3 of them. */
int still_vk_mem_candidates(const still_vk *vk, bool host, VkMemoryPropertyFlags flags[3], bool mapped[3]);

#endif
