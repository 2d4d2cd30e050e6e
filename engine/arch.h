/* arch.h — the per-architecture recipe table (qwen2, llama, qwen3).
 *
 * Everything that differs between the supported architectures is one row
 * here: which optional tensors a layer has, how rope pairs dimensions, and
 * the defaults of keys a GGUF may leave out. model.c reads hyper-parameters
 * with the "<arch>.<key>" names and graph.c follows the flags.
 */
#ifndef STILL_ARCH_H
#define STILL_ARCH_H

#include <stdbool.h>

typedef enum {
  STILL_ROPE_NORMAL = 0, /* rotate pairs (x[2i], x[2i+1]) — llama */
  STILL_ROPE_NEOX = 1,   /* rotate pairs (x[i], x[i + n_rot/2]) — qwen2, qwen3 */
} still_rope_mode;

typedef struct {
  const char *name;       /* general.architecture */
  still_rope_mode rope;
  bool qkv_bias;          /* blk.N.attn_{q,k,v}.bias are required */
  bool qk_norm;           /* blk.N.attn_{q,k}_norm.weight: per-head RMSNorm of q and k before rope */
  bool rope_freqs;        /* may carry rope_freqs.weight (llama3 rope scaling factors) */
  bool tied_embeddings;   /* output.weight may be absent: the output reuses token_embd.weight */
  float rope_base;        /* default of <arch>.rope.freq_base when absent */
} still_arch;

/* NULL when the architecture is not supported. */
const still_arch *still_arch_find(const char *name);
/* "qwen2, llama, qwen3" */
const char *still_arch_supported_list(void);

/* Tensor names of one layer, formatted "blk.%d.<suffix>". */
typedef enum {
  STILL_T_ATTN_NORM,
  STILL_T_ATTN_Q,
  STILL_T_ATTN_K,
  STILL_T_ATTN_V,
  STILL_T_ATTN_Q_BIAS,
  STILL_T_ATTN_K_BIAS,
  STILL_T_ATTN_V_BIAS,
  STILL_T_ATTN_Q_NORM,
  STILL_T_ATTN_K_NORM,
  STILL_T_ATTN_OUT,
  STILL_T_FFN_NORM,
  STILL_T_FFN_GATE,
  STILL_T_FFN_UP,
  STILL_T_FFN_DOWN,
  STILL_T_LAYER_COUNT
} still_layer_tensor;

const char *still_layer_tensor_suffix(still_layer_tensor t); /* "attn_q.weight" */

#endif /* STILL_ARCH_H */
