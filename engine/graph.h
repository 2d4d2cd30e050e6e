/* graph.h — the forward pass on the CPU.
 *
 * One recipe for the three architectures (flags from arch.c):
 *   x = token_embd[id]
 *   per layer:  h = rmsnorm(x)·attn_norm
 *               q, k, v = Wq·h (+bq), Wk·h (+bk), Wv·h (+bv)
 *               [qwen3] q, k = per-head rmsnorm(q)·q_norm, rmsnorm(k)·k_norm
 *               q, k = rope(q), rope(k);  store k, v in the KV cache
 *               a = softmax(q·Kᵀ/√d + causal mask)·V   (GQA: kv head = head / (n_head/n_head_kv))
 *               x += Wo·a
 *               h = rmsnorm(x)·ffn_norm;  x += Wdown·(silu(Wgate·h) ⊙ Wup·h)
 *   logits = Woutput·(rmsnorm(x)·output_norm)
 * Matmuls quantize their input once to the weight's vec_dot_type (as
 * llama.cpp does) and split the weight rows across the thread pool
 * (multi-token kernels, cpu/gemm.h); attention splits (KV head, tile of
 * query tokens) items. Every value is computed the same way
 * whatever the thread count, so results do not depend on it.
 */
#ifndef STILL_GRAPH_H
#define STILL_GRAPH_H

#include "kv-cache.h"
#include "model.h"

#include <stdatomic.h>
#include <stdbool.h>

typedef struct still_graph still_graph;

/* n_batch: most tokens per forward pass; n_threads <= 0: physical cores.
 * n_ctx: the context the session runs at (decides YaRN: applied only when
 * n_ctx exceeds the model's original context). */
still_status still_graph_new(const still_model *m, still_kv_cache *kv, int32_t n_batch, int32_t n_threads,
                             still_graph **out, still_error *err);
void still_graph_free(still_graph *g);
int still_graph_n_threads(const still_graph *g);

/* Bytes of the per-thread attention scratch still_graph_new allocates for
 * these shapes (scores, F16 probabilities, converted queries), for the
 * memory estimates of fit.c. kv_type: a still_type id (F16, F32, Q8_0). */
uint64_t still_graph_attention_scratch_bytes(int32_t n_head, int32_t n_head_kv, int32_t head_dim_k, int32_t n_ctx,
                                             int32_t n_batch, int32_t n_threads, uint32_t kv_type);

/* Evaluate tokens[0..n) at positions kv->n_past … and append them to the
 * cache. logits: with all_logits, n × n_vocab floats (one row per token);
 * otherwise n_vocab floats of the last token; may be NULL when no logits
 * are wanted. Checks *cancel (may be NULL) between layers: on cancel the
 * batch in progress is dropped (the cache keeps what came before it) and
 * STILL_ERR_CANCELLED is returned. */
still_status still_graph_eval(still_graph *g, const int32_t *tokens, int32_t n, bool all_logits, float *logits,
                              const atomic_bool *cancel, still_error *err);

/* Run the last n_gpu_layers layers and the output layer on a Vulkan device
 * (device: NULL/"" the default choice, an index or a name part; < 0 or more
 * than n_layer: all). On failure it retries with half as many layers while
 * the device is short of memory; when nothing can go on the GPU the graph
 * stays on the CPU and the error is returned (the graph still works).
 * 0 layers: CPU only. */
still_status still_graph_set_gpu_layers(still_graph *g, int n_gpu_layers, const char *device, still_error *err);
/* The same across several devices: device a comma-separated list and/or
 * split their shares ("1,1"), see still_vk_forward_new. A bad list is an
 * error like a missing device (the graph stays on the CPU). on_step (may be
 * NULL) hears the steps that take seconds (still_step) as they start. */
still_status still_graph_set_gpu_split(still_graph *g, int n_gpu_layers, const char *device, const char *split,
                                       still_step_fn on_step, void *step_user, still_error *err);
/* One line saying where the layers went: "offload: 28/28 layers on Vulkan0 (…)". */
const char *still_graph_offload(const still_graph *g);
/* still_session_gpu_tuning */
const char *still_graph_gpu_tuning(const still_graph *g);
/* How many times the GPU failed and its layers moved to the CPU (the cache was then read again
 * there, so values kept from before are from other numbers). */
int still_graph_gpu_failures(const still_graph *g);
/* Device memory of the GPU layers now and at most (*peak, may be NULL); 0 on the CPU. */
uint64_t still_graph_device_bytes(const still_graph *g, uint64_t *peak);
/* The GPU layers (layers [still_vk_forward_first_layer, n_layer) and their
 * KV cache, vk-forward.h), or NULL when every layer runs on the CPU. */
struct still_vk_forward *still_graph_gpu(const still_graph *g);

#endif /* STILL_GRAPH_H */
