/* vulkan/vk-forward.h — the last layers of the forward pass (and the output
 * layer) on a Vulkan device. graph.c runs the first layers on the CPU and
 * hands the residual stream over; the weights of the GPU layers are uploaded
 * once here, and those layers keep their own KV cache on the device.
 *
 * Built without Vulkan, still_vk_forward_new fails with STILL_ERR_UNSUPPORTED.
 */
#ifndef STILL_VULKAN_VK_FORWARD_H
#define STILL_VULKAN_VK_FORWARD_H

#include "model.h"
#include "still.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef struct still_vk_forward still_vk_forward;

/* Most devices one model is split across. */
#define STILL_VK_MAX_SPLIT 8

/* Layers [first_layer, n_layer) and the output layer on device (NULL/"":
 * the default choice, see vk.h). kv_type: the session's cache type; the
 * device cache is F32 for F32, Q8_0 for Q8_0 (head sizes multiples of 32),
 * else F16 (still_vk_forward_kv_type).
 *
 * Several devices: device is a comma-separated list ("0,1"; the same device
 * twice opens it as two logical devices) and/or split gives their shares
 * ("3,1"; NULL/"": equal shares). A split without a device list takes the
 * Vulkan devices in order (GPUs; CPU-emulated ones only when there is
 * nothing else). The layers are cut into consecutive runs by cumulative
 * share, like llama.cpp's --tensor-split by layers; each device holds its
 * layers' weights and KV cache, the output layer goes with the last, and
 * the residual stream passes between devices through host memory. */
still_status still_vk_forward_new(const still_model *m, const char *device, const char *split, int first_layer,
                                  int32_t n_ctx, int32_t n_batch, uint32_t kv_type, still_vk_forward **out,
                                  still_error *err);
void still_vk_forward_free(still_vk_forward *f);

/* "Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))"; split: "Vulkan0 (…) 14 + Vulkan1 (…) 14" */
const char *still_vk_forward_device(const still_vk_forward *f);
/* Devices (logical) in use: 1, or more for a split. */
int still_vk_forward_n_devices(const still_vk_forward *f);
/* What the device's decode and prompt paths are and how they were chosen
 * (still_vk_tune: "measured: …", "cached: …", "defaults (why): …"). */
const char *still_vk_forward_tuning(const still_vk_forward *f);
/* Chooses the device's decode and prompt paths for this model, timed there or read back from
 * the cache (still_vk_tune; one device only, a split keeps the defaults), and says how in
 * still_vk_forward_tuning. An error: the device failed while timing (it is then no use).
 * on_step (may be NULL) hears STILL_STEP_GPU_TUNE before anything is timed. */
still_status still_vk_forward_tune(still_vk_forward *f, still_step_fn on_step, void *step_user, still_error *err);
/* True when the token embeddings are looked up on the device (the output
 * matrix is tied to them and the first layer is on the device that holds
 * it): then still_vk_forward_run can take token ids instead of x. */
bool still_vk_forward_embeds(const still_vk_forward *f);
/* Device memory held now (weights, KV cache, activations) and the most held
 * at once (*peak, may be NULL); 0 for NULL or without Vulkan. */
uint64_t still_vk_forward_device_bytes(const still_vk_forward *f, uint64_t *peak);

/* x: the residual stream [n_tok][n_embd] after the CPU layers, tokens at
 * positions pos0…; or x NULL and tokens (ids in [0, n_vocab)) when
 * still_vk_forward_embeds: the lookup runs on the device.
 * rope_cos/rope_sin: [n_tok][n_rot/2] (graph.c's tables).
 * out (may be NULL): logits of tokens [first_out, n_tok), n_vocab each. */
/* cancel (may be NULL): read during a prompt batch too, about every 0.2 s of
 * GPU work (STILL_VK_CANCEL_SLICE_MS); a cancel leaves the device's cache rows
 * of this batch half written, so the caller counts none of its tokens. */
still_status still_vk_forward_run(still_vk_forward *f, const float *x, const int32_t *tokens, int n_tok, int32_t pos0,
                                  const float *rope_cos, const float *rope_sin, int first_out, float *out,
                                  const atomic_bool *cancel, still_error *err);
/* Tests: hook runs each time a prompt batch has waited for the GPU to read the cancel
 * (part: the device of a split; layers_done: that part's layers done so far). */
void still_vk_forward_set_slice_hook(still_vk_forward *f, void (*hook)(void *user, int part, int layers_done),
                                     void *user);

/* ---- the device KV cache from the host (saved prompt prefixes) ----
 * Each layer on a device keeps K and V row-wise: [pos][n_head_kv * head_dim]
 * in the device cache type, F32, F16 or Q8_0 (34-byte blocks along the row:
 * the bytes of the CPU's Q8_0 rows). */

/* Layers [first, n_layer) are on the device(s). */
int still_vk_forward_first_layer(const still_vk_forward *f);
/* The device cache type (a still_type id): F32 for an F32 session, Q8_0 for
 * Q8_0 when the head sizes are multiples of 32 (and STILL_VK_KV_Q8_0=0 is
 * not set), else F16. */
uint32_t still_vk_forward_kv_type(const still_vk_forward *f);
/* Bytes of one position's key row (values false) or value row (true). */
size_t still_vk_forward_kv_row_bytes(const still_vk_forward *f, bool values);
/* Copy positions [pos0, pos0 + n) of a layer's keys and values (k, v: n
 * rows of still_vk_forward_kv_row_bytes; either may be NULL) from / to the
 * device that holds the layer. Not during still_vk_forward_run. */
still_status still_vk_forward_kv_read(still_vk_forward *f, int layer, int32_t pos0, int32_t n, void *k, void *v,
                                      still_error *err);
still_status still_vk_forward_kv_write(still_vk_forward *f, int layer, int32_t pos0, int32_t n, const void *k,
                                       const void *v, still_error *err);

#endif
