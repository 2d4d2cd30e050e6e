/* vulkan/vk.h — the Vulkan compute backend (internal to the engine).
 *
 * A still_vk is one logical device with one compute queue. Work is recorded
 * into one command buffer (still_vk_begin … ops … still_vk_submit) and the
 * submit waits on a fence; ops are separated by full compute barriers.
 * Buffers are device-local; when that memory is also host-visible
 * (integrated GPUs, lavapipe) they are mapped and written directly, else
 * uploads and downloads go through a host-visible staging buffer.
 * Offsets and sizes given to ops are in floats (activations) or bytes
 * (weights, multiple of 4).
 *
 * Only compiled with STILL_HAVE_VULKAN; every failure is a still_status with
 * a plain message, never an abort.
 */
#ifndef STILL_VULKAN_VK_H
#define STILL_VULKAN_VK_H

#include "still.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct still_vk still_vk;

typedef struct {
  uint64_t handle; /* VkBuffer */
  uint64_t memory; /* VkDeviceMemory */
  void *map;       /* host pointer when the memory is host-visible, else NULL */
  size_t size;
  uint64_t alloc_size; /* bytes of device memory behind it */
} still_vk_buffer;

typedef struct {
  /* NULL or "": choose (discrete, then integrated, then others; a
   * CPU-emulated device such as lavapipe only when it is the only one).
   * Else a Vulkan index ("0"), "Vulkan1", or a part of the device name. */
  const char *device;
  bool force_staging;   /* never map device memory (tests the staging path) */
  bool no_pipeline_cache; /* neither read nor write the on-disk pipeline cache */
} still_vk_params;

still_status still_vk_open(const still_vk_params *p, still_vk **out, still_error *err);
void still_vk_close(still_vk *vk);

const char *still_vk_device_name(const still_vk *vk);
/* The largest buffer a shader may see (bytes; every buffer is bound whole):
 * still_vk_buffer_new refuses larger ones with STILL_ERR_UNSUPPORTED. */
uint64_t still_vk_max_buffer_bytes(const still_vk *vk);
int still_vk_device_index(const still_vk *vk);
bool still_vk_cpu_emulated(const still_vk *vk);
uint32_t still_vk_subgroup_size(const still_vk *vk);
/* True when prefill products may run on tensor cores (VK_NV_cooperative_matrix). */
bool still_vk_has_coopmat(const still_vk *vk);
/* Path of the on-disk pipeline cache ("" when none is used). */
const char *still_vk_pipeline_cache_path(const still_vk *vk);

/* Device memory of the buffers made by still_vk_buffer_new that are alive
 * now (bytes the driver allocated, alignment included; the host-visible
 * staging buffer of copies is not device memory and is not counted), and the
 * most that has been alive at once since still_vk_open (*peak, may be NULL). */
uint64_t still_vk_memory_usage(const still_vk *vk, uint64_t *peak);

/* Buffers (size rounded up to 4 bytes; contents undefined). */
still_status still_vk_buffer_new(still_vk *vk, size_t size, still_vk_buffer *out, still_error *err);
void still_vk_buffer_free(still_vk *vk, still_vk_buffer *b);
/* Copy to / from a buffer now (waits; not inside begin/submit). */
still_status still_vk_upload(still_vk *vk, still_vk_buffer *b, size_t offset, const void *src, size_t n,
                             still_error *err);
still_status still_vk_download(still_vk *vk, const still_vk_buffer *b, size_t offset, void *dst, size_t n,
                               still_error *err);

/* Recording. */
still_status still_vk_begin(still_vk *vk, still_error *err);
still_status still_vk_submit(still_vk *vk, still_error *err); /* submit and wait */
/* Hand what is recorded so far to the GPU without waiting and go on
 * recording (the GPU works while the host records the rest); ops keep
 * their order, and still_vk_submit waits for all of it. At most 7 per
 * begin/submit (more are no-ops); STILL_VK_FLUSH=0 makes it a no-op. */
still_status still_vk_flush(still_vk *vk, still_error *err);

/* Copies inside the recording (between begin and submit), so that inputs,
 * ops and outputs of a token take one submit and one wait.
 *
 * upload_rec: src is copied now (into a region of the staging buffer, or
 * straight into b when b is mapped), and the copy into b is recorded: ops
 * recorded after it see the data. When b is mapped the data is there at
 * once, so ops recorded *before* it must not read the region in this submit.
 *
 * download_rec: the region as the ops recorded before it leave it is copied
 * to dst after the submit's fence (dst must stay valid until then; when the
 * submit fails, dst is left as it was). When b is mapped the region is read
 * after the submit, so ops recorded after it must not write the region.
 *
 * Copies to a buffer that is not mapped take staging space: at most
 * still_vk_rec_space() bytes per submit, each copy costing
 * still_vk_rec_cost(); beyond it (or with STILL_VK_ONESUBMIT=0, when the
 * space is 0) use still_vk_upload/download outside the recording. At most
 * 32 downloads per submit. */
still_status still_vk_upload_rec(still_vk *vk, still_vk_buffer *b, size_t offset, const void *src, size_t n,
                                 still_error *err);
still_status still_vk_download_rec(still_vk *vk, const still_vk_buffer *b, size_t offset, void *dst, size_t n,
                                   still_error *err);
size_t still_vk_rec_cost(const still_vk *vk, const still_vk_buffer *b, size_t n);
size_t still_vk_rec_space(const still_vk *vk); /* left in this submit (all of it outside begin/submit) */
/* Ops run one after another: each sees what the previous ones wrote (a
 * barrier before every op). Call this just before recording an op that reads
 * nothing the op before it writes, and writes nothing that op reads or
 * writes (q, k and v from the same normed input, say): the GPU may then run
 * the two at the same time. Applies to the next op only, which must be one
 * that records a dispatch (not a no-op such as an absent bias). */
void still_vk_concurrent_next(still_vk *vk);

/* True when matvec supports the weight type. */
bool still_vk_matvec_supported(uint32_t type);

/* y[v][r] = sum_c W[r][c] · x[v][c] for r < nrows, v < n_vec. W rows are
 * row_bytes apart from byte w_off; x vectors x_stride floats apart from
 * x_off; y vectors y_stride floats apart from y_off. */
typedef struct {
  uint32_t type;
  uint32_t ncols, nrows, n_vec;
  size_t w_off, row_bytes;
  uint32_t x_off, x_stride, y_off, y_stride;
  /* x's buffer also holds the vectors rounded to 8 bits (by still_vk_round8
   * or still_vk_add_rms_norm's round8) from word xq_off, xq_stride words
   * apart (n_vec > 1). Where the product takes an integer dot path (one
   * vector: matvec_dot.comp; a batch: still_vk_matmul_dot) it reads them
   * instead of rounding x in every workgroup or not at all; elsewhere it
   * reads x as usual. The rounded region must not meet y. */
  bool x_rounded;
  uint32_t xq_off;
  uint32_t xq_stride; /* words between the rounded vectors of a batch (still_vk_matmul_dot) */
} still_vk_matvec_args;
still_status still_vk_matvec(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                             const still_vk_matvec_args *a, still_error *err);

/* Decode epilogues, one dispatch instead of two or three: y = W·x + bias
 * (bias: nrows floats; may be NULL), and with up_off > 0 the SwiGLU
 * y = silu(W·x) · (U·x) where U's rows lie up_off bytes after W's in the same
 * buffer (the FFN's gate and up matrices uploaded together). Only for what
 * still_vk_matvec_fusable says (the common weight types at decode batch
 * sizes); else STILL_ERR_UNSUPPORTED and the caller records the plain ops.
 * STILL_VK_FUSE=0 turns it off. */
bool still_vk_matvec_fusable(const still_vk *vk, const still_vk_matvec_args *a);
/* Fused ops are on (STILL_VK_FUSE=0 turns off all of them: these epilogues
 * and the residual add + RMSNorm of still_vk_add_rms_norm in the forward pass). */
bool still_vk_fuse(const still_vk *vk);
still_status still_vk_matvec_fused(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x,
                                   still_vk_buffer *y, const still_vk_buffer *bias, size_t up_off,
                                   const still_vk_matvec_args *a, still_error *err);

/* The same product with a tiled matrix × matrix shader (tiles of 64 rows ×
 * 32 vectors in shared memory): each weight is dequantized once per 32
 * vectors instead of once per 4. Same arguments and result as matvec. */
still_status still_vk_matmul(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                             const still_vk_matvec_args *a, still_error *err);
/* matmul from this many vectors on (prefill), else matvec (decode). */
#define STILL_VK_MATMUL_MIN_VECS 8u
still_status still_vk_mul_mat(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                              const still_vk_matvec_args *a, still_error *err);

/* Embedding lookup: y[t][c] = W[ids[ids_off + t]][c] dequantized, for t <
 * n_tok (rows y_stride floats apart from y_off). Ids are uint32; an id of
 * nrows or more gives zeros. Same weight types as matvec. */
typedef struct {
  uint32_t type;
  uint32_t ncols, nrows, n_tok;
  size_t w_off, row_bytes;
  uint32_t ids_off, y_off, y_stride;
} still_vk_get_rows_args;
still_status still_vk_get_rows(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *ids, still_vk_buffer *y,
                               const still_vk_get_rows_args *a, still_error *err);

/* RMSNorm of nrows rows of n floats; g may be NULL (no weight). */
still_status still_vk_rms_norm(still_vk *vk, const still_vk_buffer *x, uint32_t x_off, uint32_t x_stride,
                               const still_vk_buffer *g, uint32_t g_off, still_vk_buffer *y, uint32_t y_off,
                               uint32_t y_stride, uint32_t n, uint32_t nrows, float eps, still_error *err);

/* Residual add fused with the RMSNorm that follows it, one workgroup per
 * row: x = x + r (written back; r NULL: no add, x untouched) and
 * y = x / sqrt(mean(x²) + eps) * g (g NULL: no weight). y must not overlap
 * x or r. Offsets and strides in floats; when they and n are multiples of
 * 4 the rows are read as vec4. With round8, y is also rounded to 8 bits
 * (as still_vk_round8) into y's buffer from word q_off, rows q_stride words
 * apart (multiples of 4, apart from y's floats): that needs the vec4 rows
 * and n a multiple of 32 (else STILL_ERR_UNSUPPORTED). */
typedef struct {
  uint32_t n, nrows;
  uint32_t x_off, x_stride, r_off, r_stride, g_off, y_off, y_stride;
  float eps;
  bool round8;
  uint32_t q_off, q_stride;
} still_vk_add_rms_norm_args;
still_status still_vk_add_rms_norm(still_vk *vk, still_vk_buffer *x, const still_vk_buffer *r,
                                   const still_vk_buffer *g, still_vk_buffer *y, const still_vk_add_rms_norm_args *a,
                                   still_error *err);

/* A decode product with the residual add and RMSNorm after it in one dispatch: y = W·x as
 * still_vk_matvec (one vector, a->n_vec 1), then, by the product's last workgroup to finish,
 * still_vk_add_rms_norm(res, y, g, h, n) for one row (n->n = a->nrows, n->nrows 1, the added
 * row is y's: n's r_off and r_stride are not read). Offsets and rows in whole vec4s; g required.
 * The workgroups count themselves in on a counter of the context (as the attention fold's
 * merge), so the last one sees every row of y. Where the product takes matvec.comp or a type
 * without such a variant (matvec_team.comp for F16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K, and the
 * dot shaders), _fits is false and the op answers STILL_ERR_UNSUPPORTED; without memory for the
 * counters it records the two dispatches instead. y must meet neither res nor h (nor h's 8-bit
 * form); g neither res nor h. still_vk_matvec_norm_ok: _fits and the switch is on
 * (STILL_VK_NORM_FOLD=1, or the tuner's choice: still_vk_norm_folds); _possible: the device has
 * the bindings (8) and fused ops are on. The floats agree with the two dispatches within float
 * rounding (the sum of squares is added in another order). */
bool still_vk_norm_fold_possible(const still_vk *vk);
bool still_vk_norm_folds(const still_vk *vk);
bool still_vk_matvec_norm_fits(const still_vk *vk, const still_vk_matvec_args *a, const still_vk_add_rms_norm_args *n);
bool still_vk_matvec_norm_ok(const still_vk *vk, const still_vk_matvec_args *a, const still_vk_add_rms_norm_args *n);
still_status still_vk_matvec_norm(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x,
                                  still_vk_buffer *y, const still_vk_matvec_args *a, still_vk_buffer *res,
                                  const still_vk_buffer *g, still_vk_buffer *h, const still_vk_add_rms_norm_args *n,
                                  still_error *err);
/* Runs a product with the norm in its tail and the two dispatches on the same random inputs
 * (4096 rows of Q8_0 over 1024 columns, the normed row rounded to 8 bits) four times, the
 * outputs filled with NaNs before each run with the tail, and compares the products, the
 * residual rows, the normed rows and their 8-bit forms (within float rounding) and the counter
 * (back at 0): a device whose memory ordering the counting does not suit fails, as does one
 * without the bindings. Once per context, as still_vk_attention_merge_check (a check that could
 * not run is not kept); false with why filled when it fails. Outside begin/submit. */
bool still_vk_norm_fold_check(still_vk *vk, char *why, size_t cap);

/* Activations rounded to 8 bits for the integer dot products of the
 * matrix × vector path (matvec_dot.comp), per block of 32 values: the
 * codes (n / 4 words of four signed bytes), then per block its scale and
 * d · Σcodes (two floats): still_vk_round8_words(n) words for n values (a
 * multiple of 32). still_vk_round8 rounds nrows rows of x (floats from
 * x_off, x_stride apart) into q from word q_off, q_stride words apart
 * (multiples of 4; x and q may be one buffer if the regions do not meet). */
uint32_t still_vk_round8_words(uint32_t n);
still_status still_vk_round8(still_vk *vk, const still_vk_buffer *x, uint32_t x_off, uint32_t x_stride,
                             still_vk_buffer *q, uint32_t q_off, uint32_t q_stride, uint32_t n, uint32_t nrows,
                             still_error *err);
/* Whether the forward pass rounds the inputs of those products once,
 * before them (STILL_VK_DOT_PREROUND): 0 no, each product's workgroups
 * round the vector themselves; 1 the norm outputs (in the same dispatch
 * as the norm); 2 also the attention and SwiGLU outputs (one more dispatch
 * each). */
uint32_t still_vk_dot_preround(const still_vk *vk);
/* Prefill on the integer dot products (matvec_dot.comp -DNVEC: each pass
 * of weights multiplied with 8 vectors), for batches of 2 or more vectors
 * rounded beforehand (x_rounded, xq_stride): still_vk_matmul and
 * still_vk_mul_mat take it where still_vk_matmul_dot says so, on devices
 * with the dot products where STILL_VK_MATMUL=dot asks for it
 * (still_vk_matmul_dot_on; not yet timed against matmul.comp). */
bool still_vk_matmul_dot_on(const still_vk *vk);
bool still_vk_matmul_dot(const still_vk *vk, const still_vk_matvec_args *a);
/* Whether this device can take STILL_VK_MATMUL=wide (matmul_wide.comp: the tiles of prompt
 * batches without tensor cores in 64 × 64 outputs, every thread on 32 of them): the 32 KiB of
 * shared memory it needs. */
bool still_vk_matmul_wide_possible(const still_vk *vk);
/* Whether the matrix × vector of these arguments (up_off: a fused SwiGLU's)
 * takes that path, rounding the activations to 8 bits (matvec_dot.comp):
 * the forward pass asks it before rounding a vector once for its products;
 * tests compare with a reference that rounds the same way. */
bool still_vk_matvec_rounds_x(const still_vk *vk, const still_vk_matvec_args *a, size_t up_off);

typedef enum { STILL_VK_ADD, STILL_VK_MUL, STILL_VK_SWIGLU, STILL_VK_COPY } still_vk_binary_op;
/* y = a op b over n floats; b_mod > 0 broadcasts b (index i % b_mod); COPY ignores b. */
still_status still_vk_binary(still_vk *vk, still_vk_binary_op op, const still_vk_buffer *a, uint32_t a_off,
                             const still_vk_buffer *b, uint32_t b_off, uint32_t b_mod, still_vk_buffer *y,
                             uint32_t y_off, uint32_t n, still_error *err);

/* Rope in place on x: n_tok tokens x_stride floats apart from x_off, each
 * n_heads heads of head_dim; tables cs: cos [n_tok][n_rot/2] from cs_off,
 * sin the same shape from cs_off + n_tok * n_rot/2 (computed on the CPU). */
typedef struct {
  uint32_t n_tok, n_heads, head_dim, n_rot;
  bool neox;
  uint32_t x_off, x_stride, cs_off;
} still_vk_rope_args;
still_status still_vk_rope(still_vk *vk, still_vk_buffer *x, const still_vk_buffer *cs, const still_vk_rope_args *a,
                           still_error *err);

/* Store n floats from a (at a_off) into a KV cache buffer of type kv_type
 * (F32, F16 or Q8_0) at element offset y_off (even for F16, n even; Q8_0:
 * multiples of 32, the CPU quantizer's bytes, 34 per block of 32). */
still_status still_vk_kv_store(still_vk *vk, uint32_t kv_type, const still_vk_buffer *a, uint32_t a_off,
                               still_vk_buffer *cache, uint32_t y_off, uint32_t n, still_error *err);
/* A layer's attention inputs in one dispatch (rope_store.comp): per head,
 * q = rope(rms_norm(q) · q_norm) in place, K cache row = rope(rms_norm(k) ·
 * k_norm), V cache row = v; the same results as still_vk_rms_norm (q and k
 * per head, when q_norm / k_norm are given), still_vk_rope on q and k and
 * still_vk_kv_store of k and v, in one launch instead of up to six. q, k and
 * v may be regions of one buffer (the q, k and v products written side by
 * side). Offsets and strides in floats; kc_off / vc_off are cache elements
 * of token 0's row (rows of n_head_kv · head_dim). still_vk_rope_store_ok
 * says whether a shape suits (F16: even head dims and offsets; Q8_0: head
 * dims and offsets multiples of 64, so that heads are whole pairs of
 * blocks); STILL_VK_ROPE_STORE=0 (or STILL_VK_FUSE=0) turns it off. */
typedef struct {
  uint32_t kv_type;
  uint32_t n_tok, n_head, n_head_kv, head_dim_k, head_dim_v, n_rot; /* n_rot 0: no rope */
  bool neox;
  float eps; /* of the q / k norms */
  uint32_t q_off, q_stride, k_off, k_stride, v_off, v_stride;
  uint32_t cs_off; /* cos [n_tok][n_rot/2] from cs_off, then sin (as still_vk_rope) */
  uint32_t kc_off, vc_off;
} still_vk_rope_store_args;
bool still_vk_rope_store_ok(const still_vk *vk, const still_vk_rope_store_args *a);
still_status still_vk_rope_store(still_vk *vk, still_vk_buffer *q, const still_vk_buffer *k, const still_vk_buffer *v,
                                 const still_vk_buffer *cs, still_vk_buffer *kc, still_vk_buffer *vc,
                                 const still_vk_buffer *q_norm, const still_vk_buffer *k_norm,
                                 const still_vk_rope_store_args *a, still_error *err);

/* Bytes of a cache buffer of n_values values (n a multiple of 32 for Q8_0:
 * rounded up to whole pairs of blocks, which the Q8_0 store writes). */
uint64_t still_vk_kv_cache_bytes(uint32_t kv_type, uint64_t n_values);

/* Causal attention with GQA for n_tok query tokens at positions pos0.. over
 * a cache of kv_type (F32, F16 or Q8_0); k_off/v_off: element offsets of
 * position 0 of this layer (Q8_0: head dims and offsets multiples of 32);
 * rows of n_head_kv * head_dim per position. Head dims at most 256.
 * out[t][h * head_dim_v + d]. */
typedef struct {
  uint32_t kv_type;
  uint32_t n_tok, n_head, n_head_kv, head_dim_k, head_dim_v, pos0;
  uint32_t q_off, q_stride, k_off, v_off, o_off, o_stride;
  float scale;
  /* still_vk_attention_split only: the output also rounded to 8 bits for
   * the integer dot products (act8.glsl), token t's row from word r8_off +
   * t · r8_stride of out's buffer (multiples of 4, apart from the floats);
   * head_dim_v a multiple of 32 */
  bool round8;
  uint32_t r8_off, r8_stride;
} still_vk_attention_args;
still_status still_vk_attention(still_vk *vk, const still_vk_buffer *q, const still_vk_buffer *k,
                                const still_vk_buffer *v, still_vk_buffer *out, const still_vk_attention_args *a,
                                still_error *err);
/* Whether still_vk_attention takes the tiled kernel (attention_tile.comp:
 * tiles of query rows of one KV head share each K/V tile in shared memory)
 * for this batch: at least STILL_VK_ATTN_TILE_MIN_TOKENS tokens, head dims
 * multiples of 4 (Q8_0: 32) up to 256, offsets likewise, a workgroup of a
 * multiple of 64 threads; else attention.comp. STILL_VK_ATTN_TILE=0 turns
 * it off. */
#define STILL_VK_ATTN_TILE_MIN_TOKENS 2
bool still_vk_attention_tile_ok(const still_vk *vk, const still_vk_attention_args *a);
/* Whether still_vk_attention takes the tensor cores instead (attention_coop.comp:
 * 64 query rows per workgroup, both products of each 32-key tile as 16x16x16
 * float16 matrix products with float32 sums): where the tiled kernel would run
 * over an F16 or Q8_0 cache (an F32 one keeps float32), the device has 16x16x16
 * cooperative matrices (still_vk_has_coopmat, not 16x8x16 only) and 39.8 KiB of
 * shared memory, and the head dims are multiples of 16 up to 128 (every R1
 * model's 128). Off by default: STILL_VK_ATTN_COOP=1, or the tuner; =2 takes the same with only
 * the scores on the tensor cores (-DPV_LANES). */
bool still_vk_attention_coop_ok(const still_vk *vk, const still_vk_attention_args *a);
/* … were STILL_VK_ATTN_COOP=1 (the tuner's question; on lavapipe, which runs it only emulated,
 * not where its loop limit would cut it short), and whether the device has what it needs */
bool still_vk_attention_coop_fits(const still_vk *vk, const still_vk_attention_args *a);
bool still_vk_attention_coop_possible(const still_vk *vk);
/* Runs a prompt's products (100 rows × 72 vectors of Q8_0 rows of 96 values and of Q4_K rows of
 * 256) on the tensor cores and on the float path on the same random inputs, the output filled
 * with NaNs before the first, and compares them (within float16 rounding): a driver that does
 * not run the tensor-core prefill as written fails, as does one whose tensor-core shader does not
 * run, or a device without tensor cores in use. Once per context, kept as
 * still_vk_attention_merge_check's, and once per process for a device, driver and shader code
 * (another context takes that verdict); false with why filled when it fails. Outside
 * begin/submit. */
bool still_vk_matmul_coop_check(still_vk *vk, char *why, size_t cap);
/* The tensor cores checked before a model's prompts use them (still_vk_matmul_coop_check):
 * where the check fails, this context stops using them (prompts on the other shaders, the
 * attention's tiles in float32), and false returns with why filled. True where they passed,
 * where the device has none, or where the check could not run (why says so then). */
bool still_vk_coop_verify(still_vk *vk, char *why, size_t cap);
/* Runs a prompt's attention on the tensor cores in design 1 (both products on them) or 2 (only
 * the scores: STILL_VK_ATTN_COOP's numbers) and in float32 on the same random inputs (40 tokens
 * of R1-Qwen-1.5B's heads, 6 query heads on each of 2 KV heads of 128, at position 300 of an F16
 * cache whose keys grow along the context, so that the running max moves), the output filled
 * with NaNs before the first, and compares them (within float16 rounding): a driver that does
 * not run the shader as written fails, as does a device without 16x16x16 tensor cores. Once per
 * context and design, kept as still_vk_attention_merge_check's; false with why filled when it
 * fails (a design other than 1 or 2 too, and nothing kept). Leaves vk->attn_coop as it found
 * it. Outside begin/submit. */
bool still_vk_attention_coop_check(still_vk *vk, uint32_t design, char *why, size_t cap);
/* Whether still_vk_attention would refuse a's context on this device: lavapipe ends a shader's
 * loops after 65535 iterations, which attention over a long context needs more of. */
bool still_vk_attention_loops_cut(const still_vk *vk, const still_vk_attention_args *a);

/* Attention for a few tokens (decode) split along the keys: chunks of keys
 * in parallel workgroups, each reading a K/V row once for all the query
 * heads that share it, then a merge (two dispatches; "part" is scratch of
 * still_vk_attention_part_floats floats for n_kv = pos0 + n_tok keys), which
 * also rounds the output when a->round8. Same result as still_vk_attention
 * within float rounding. F32, F16 and Q8_0 caches;
 * still_vk_attention_split_ok says whether a shape suits (else
 * STILL_ERR_UNSUPPORTED). STILL_VK_ATTN_SPLIT=0 turns it off. */
bool still_vk_attention_split_ok(const still_vk *vk, const still_vk_attention_args *a);
/* Whether the merge can round this shape's output (a->round8). */
bool still_vk_attention_split_rounds(const still_vk *vk, const still_vk_attention_args *a);
uint64_t still_vk_attention_part_floats(const still_vk *vk, uint32_t n_tok, uint32_t n_head, uint32_t head_dim_v,
                                        uint32_t n_kv);
still_status still_vk_attention_split(still_vk *vk, const still_vk_buffer *q, const still_vk_buffer *k,
                                      const still_vk_buffer *v, still_vk_buffer *part, still_vk_buffer *out,
                                      const still_vk_attention_args *a, still_error *err);
/* Decode (one token, at a->pos0) with still_vk_rope_store's work done in
 * the split attention's first dispatch (attention_split.comp -DFOLD): one
 * launch and one barrier fewer per layer. rs describes the q/k/v products
 * as still_vk_rope_store takes them (n_tok 1; q and k in qk, v in v_src,
 * which may be qk; kc_off / vc_off the row of pos0), a the attention (its
 * q_off / q_stride are rs's). The cache row and the output are those of
 * still_vk_rope_store + still_vk_attention_split within float rounding (the
 * same code: the same bytes where the driver compiles both alike).
 * still_vk_attention_fold_ok says whether both suit (and agree);
 * STILL_VK_ATTN_FOLD=0 turns it off. */
bool still_vk_attention_fold_ok(const still_vk *vk, const still_vk_attention_args *a,
                                const still_vk_rope_store_args *rs);
/* The same but for the switch (STILL_VK_ATTN_FOLD, or the tuner's choice): whether the shapes suit. */
bool still_vk_attention_fold_fits(const still_vk *vk, const still_vk_attention_args *a,
                                  const still_vk_rope_store_args *rs);
/* Whether decode folds where it can now (STILL_VK_ATTN_FOLD, or the tuner's choice). */
bool still_vk_attention_folds(const still_vk *vk);
/* Whether the fold also merges the chunks' partial results, in the last workgroup of each KV
 * head to finish (STILL_VK_ATTN_FOLD=2, or the tuner's choice): attention_merge.comp's
 * dispatch is then left out. _possible: whether the device can (10 bindings an op). */
bool still_vk_attention_fold_merges(const still_vk *vk);
bool still_vk_attention_merge_fold_possible(const still_vk *vk);
/* Runs the fold with and without the merge on the same random inputs (6 or 4 query heads on
 * each of 2 KV heads of 128, 1001 and 301 keys, F32 cache, 8-bit rounding on) a few times, the
 * scratch and the output filled with NaNs before each merged run, and compares the outputs (the
 * floats and their 8-bit forms, within float rounding) and the counters (back at 0): a device
 * whose memory ordering the merge's counting does not suit fails, as does one without the
 * bindings. Once per context (a pass or a fail is kept; a check that could not run, out of
 * memory say, is not); false with why filled when it fails. Outside begin/submit. */
bool still_vk_attention_merge_check(still_vk *vk, char *why, size_t cap);
still_status still_vk_attention_fold(still_vk *vk, const still_vk_buffer *qk, const still_vk_buffer *v_src,
                                     const still_vk_buffer *cs, still_vk_buffer *kc, still_vk_buffer *vc,
                                     const still_vk_buffer *q_norm, const still_vk_buffer *k_norm,
                                     still_vk_buffer *part, still_vk_buffer *out, const still_vk_attention_args *a,
                                     const still_vk_rope_store_args *rs, still_error *err);

/* ---- the decode and prompt paths, timed on the device (vk-tune.c) ---- */

/* The types of STILL_VK_DOT_TYPES' bits (Q4_K, Q6_K, Q8_0, Q5_K, Q4_0: the
 * ones with integer dot shaders): the bit of a weight type, or 0; and the
 * type of bit i (0 <= i < STILL_VK_DOT_BITS). */
#define STILL_VK_DOT_BITS 5
uint32_t still_vk_dot_type_bit(uint32_t type);
uint32_t still_vk_dot_bit_type(int bit);
/* Those bits of the types that take the dot products at decode now. */
uint32_t still_vk_dot_types(const still_vk *vk);
/* STILL_VK_MATMUL as it is now: 0 default, 1 generic, 2 team, 3 dot, 4 wide. */
int still_vk_matmul_mode(const still_vk *vk);
/* Rows per team at decode now: of matvec_team.comp for a weight type (Q8_0
 * and Q6_K one number, the other block types another; F16 always takes 1),
 * and of the dot shaders (4, 2 or 1). */
uint32_t still_vk_team_rows(const still_vk *vk, uint32_t type);
uint32_t still_vk_dot_rows(const still_vk *vk);

typedef struct {
  /* one decode token (prompt false) or one prompt batch (true) of the
   * caller's model with the device's current paths, at position pos0 (0, or
   * deep_pos); *seconds: its wall time */
  still_status (*run)(void *ctx, bool prompt, uint32_t pos0, double *seconds, still_error *err);
  void *ctx;
  uint32_t dot_types; /* the bits (still_vk_dot_type_bit) of the types among its matrices */
  uint64_t types;     /* bit t: weight type t (below 64) is among its matrices */
  uint32_t n_prompt;  /* the tokens of its prompt batch (timed from the device's matmul_min_vecs on) */
  bool prompt_dot;    /* its buffers have a whole batch's room for rounded vectors (STILL_VK_MATMUL=dot) */
  bool k_quants;      /* its matrices have blocks of 256 values (the K-quants, IQ4_XS) */
  bool small_blocks;  /* … or F16 or blocks of 32 (matmul_team.comp's other types) */
  bool folds;         /* its decode takes still_vk_attention_fold (so the search times it against apart) */
  bool norms;         /* its decode can take still_vk_matvec_norm (timed against the norms apart) */
  bool attn_coop;     /* its prompt batch deep in the context could take the tensor cores'
                       * attention (still_vk_attention_coop_fits) */
  uint32_t deep_pos;  /* where that batch is timed (0: no room in the context) */
  uint64_t model_key; /* a hash of its shapes, types and batch size (the cache key's part) */
  still_step_fn on_step; /* (may be NULL) STILL_STEP_GPU_TUNE before the first timed run: no cached choice */
  void *step_user;
} still_vk_tune_job;

/* Chooses the paths of vk for the job's model by timing its forward pass
 * (or takes them from the cache; see vk-tune.c) and sets them. summary:
 * one line saying what was chosen and how ("measured: …", "cached: …",
 * "defaults (why): …"). An error of a timed run is returned with the
 * defaults set again. */
still_status still_vk_tune(still_vk *vk, const still_vk_tune_job *job, char *summary, size_t cap, still_error *err);
/* Whether still_vk_tune may time prompt batches of n_prompt tokens on the
 * integer dot products (still_vk_matmul_dot_on): the caller then keeps room
 * for a whole batch of rounded vectors (and says so in prompt_dot). */
bool still_vk_tune_may_take_matmul_dot(const still_vk *vk, uint32_t n_prompt);

#endif /* STILL_VULKAN_VK_H */
