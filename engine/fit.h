/* fit.h — the "will it fit" estimator's pieces (public entry points are in
 * still.h: still_fit_estimate*, still_recommend). Exposed for tests and the
 * CLI; the formulas are documented in fit.c.
 */
#ifndef STILL_FIT_H
#define STILL_FIT_H

#include "gguf.h"
#include "still.h"

#include <stdbool.h>
#include <stdint.h>

#define STILL_MIB (1024ull * 1024ull)

/* Safety margin kept free on every memory pool: 5 % of its free memory + 256 MiB. */
#define STILL_FIT_MARGIN_PERCENT 5
#define STILL_FIT_MARGIN_BYTES (256 * STILL_MIB)
/* Fixed costs (see fit.c for what they cover). */
#define STILL_FIT_CPU_RUNTIME_BYTES (32 * STILL_MIB)
#define STILL_FIT_TOKENIZER_BYTES_PER_TOKEN 192
#define STILL_FIT_GPU_DRIVER_BYTES (256 * STILL_MIB)
/* Up to this many GPUs, the estimate also tries every subset of them (at most 255) */
#define STILL_FIT_SUBSET_GPUS 8
/* GPU attention works on blocks of at most this many keys at a time. */
#define STILL_FIT_GPU_KQ_BLOCK 1024
/* Share of the peak memory bandwidth a decode step reaches (GPU: fitted to
 * published speeds together with the per-layer latency below, see fit.c). */
#define STILL_FIT_GPU_EFFICIENCY 0.9
#define STILL_FIT_CPU_EFFICIENCY 0.5
/* Fixed time per layer on a GPU per token: STILL_FIT_GPU_LAYER_LATENCY_MS /
 * sqrt(bandwidth in GB/s) milliseconds (0.13 ms on an RTX 4090, 0.29 ms on a GTX 1060). */
#define STILL_FIT_GPU_LAYER_LATENCY_MS 4.0
/* ... but at least this (ms): this engine's Vulkan decode measured on an NVIDIA H200 (4.8 TB/s),
 * where the formula above gives 0.058 ms and R1 8B/1.5B decode showed 0.08-0.12 ms per layer
 * beyond the weights' reading time. Only cards above about 1.8 TB/s reach the floor. */
#define STILL_FIT_GPU_LAYER_MIN_MS 0.095

/* What the estimator needs from a header. */
typedef struct {
  char arch[32];
  int32_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim_k, head_dim_v, n_rot, n_vocab, n_ctx_train;
  uint64_t *layer_bytes;   /* [n_layer]: tensors named blk.N.* */
  uint64_t embd_bytes;     /* token_embd.weight (stays on the CPU: a row lookup) */
  uint64_t embd_row_bytes;
  uint64_t output_bytes;   /* output.weight, output_norm and other tensors outside the blocks */
  bool tied;               /* no output.weight: the output matmul reads token_embd */
  uint64_t weights_bytes;  /* every tensor */
  uint64_t n_params;
  uint32_t act_types[8];   /* activation types the CPU matmuls quantize to (graph.c's qbufs) */
  int n_act_types;
} still_fit_model;

/* Read the facts from a parsed header; errors in plain words (missing keys,
 * tensors of layers the model does not have). Free with still_fit_model_free. */
still_status still_fit_model_from_header(const gguf_file *f, still_fit_model *m, still_error *err);
void still_fit_model_free(still_fit_model *m);

/* KV cache bytes of all layers at n_ctx (kv_type a still_kv_type); UINT64_MAX
 * when the type cannot hold the heads (Q8_0 needs multiples of 32). */
uint64_t still_fit_kv_bytes(const still_fit_model *m, int32_t n_ctx, still_kv_type kv_type);

/* Compute buffers of the CPU graph (engine/graph.c + the session's logits)
 * and of a GPU holding layers. n_threads: CPU worker threads. */
uint64_t still_fit_cpu_compute_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_batch, int n_threads,
                                     still_kv_type kv_type);
uint64_t still_fit_gpu_compute_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_ubatch);
/* Its part for the activations rounded to 8 bits (the inputs of the
 * integer dot products: a whole micro-batch of rows of xb, att and hb, as
 * STILL_VK_MATMUL=dot keeps them; the other paths keep one row each). */
uint64_t still_fit_gpu_round8_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_ubatch);
/* The logits the GPU holding the output layer keeps on top of its compute
 * buffers: min(8, n_ubatch) rows (vk-forward.c sends more in rounds). */
uint64_t still_fit_gpu_logits_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_ubatch);

/* Free memory minus the safety margin (0 when the margin is larger). */
uint64_t still_fit_usable(uint64_t free_bytes);

#endif /* STILL_FIT_H */
