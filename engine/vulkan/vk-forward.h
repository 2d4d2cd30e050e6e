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

typedef struct still_vk_forward still_vk_forward;

/* Layers [first_layer, n_layer) and the output layer on device (NULL/"":
 * the default choice, see vk.h). kv_type: the session's cache type; the
 * device cache is F32 for F32, else F16. */
still_status still_vk_forward_new(const still_model *m, const char *device, int first_layer, int32_t n_ctx,
                                  int32_t n_batch, uint32_t kv_type, still_vk_forward **out, still_error *err);
void still_vk_forward_free(still_vk_forward *f);

/* "Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))" */
const char *still_vk_forward_device(const still_vk_forward *f);

/* x: the residual stream [n_tok][n_embd] after the CPU layers, tokens at
 * positions pos0…; rope_cos/rope_sin: [n_tok][n_rot/2] (graph.c's tables).
 * out (may be NULL): logits of tokens [first_out, n_tok), n_vocab each. */
still_status still_vk_forward_run(still_vk_forward *f, const float *x, int n_tok, int32_t pos0, const float *rope_cos,
                                  const float *rope_sin, int first_out, float *out, still_error *err);

#endif
