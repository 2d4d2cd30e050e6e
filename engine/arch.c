/* arch.c — one row per supported architecture. Adding an architecture of
 * the same family (pre-norm decoder, GQA attention, SwiGLU) is one row here
 * plus, if it has a new layer feature, one flag and its use in graph.c. */
#include "arch.h"

#include <stddef.h>
#include <string.h>

static const still_arch arch_table[] = {
  /* DeepSeek-R1-Distill-Qwen (Qwen2.5): q/k/v projections carry biases.
   * (Small Qwen2.5 models tie their embeddings, as llama.cpp allows.) */
  {.name = "qwen2", .rope = STILL_ROPE_NEOX, .qkv_bias = true, .tied_embeddings = true, .rope_base = 10000.0f},
  /* DeepSeek-R1-Distill-Llama (Llama 3.1 / 3.3): llama3 rope scaling, tied
   * embeddings in small llamas (and in our test models). */
  {.name = "llama", .rope = STILL_ROPE_NORMAL, .rope_freqs = true, .tied_embeddings = true, .rope_base = 10000.0f},
  /* DeepSeek-R1-0528-Qwen3-8B: per-head RMSNorm of q and k, no biases. */
  {.name = "qwen3", .rope = STILL_ROPE_NEOX, .qk_norm = true, .tied_embeddings = true, .rope_base = 10000.0f},
};

const still_arch *still_arch_find(const char *name)
{
  if (!name) return NULL;
  for (size_t i = 0; i < sizeof arch_table / sizeof arch_table[0]; i++)
    if (strcmp(arch_table[i].name, name) == 0) return &arch_table[i];
  return NULL;
}

const char *still_arch_supported_list(void)
{
  return "qwen2, llama, qwen3";
}

static const char *const layer_suffix[STILL_T_LAYER_COUNT] = {
  [STILL_T_ATTN_NORM] = "attn_norm.weight",
  [STILL_T_ATTN_Q] = "attn_q.weight",
  [STILL_T_ATTN_K] = "attn_k.weight",
  [STILL_T_ATTN_V] = "attn_v.weight",
  [STILL_T_ATTN_Q_BIAS] = "attn_q.bias",
  [STILL_T_ATTN_K_BIAS] = "attn_k.bias",
  [STILL_T_ATTN_V_BIAS] = "attn_v.bias",
  [STILL_T_ATTN_Q_NORM] = "attn_q_norm.weight",
  [STILL_T_ATTN_K_NORM] = "attn_k_norm.weight",
  [STILL_T_ATTN_OUT] = "attn_output.weight",
  [STILL_T_FFN_NORM] = "ffn_norm.weight",
  [STILL_T_FFN_GATE] = "ffn_gate.weight",
  [STILL_T_FFN_UP] = "ffn_up.weight",
  [STILL_T_FFN_DOWN] = "ffn_down.weight",
};

const char *still_layer_tensor_suffix(still_layer_tensor t)
{
  return (t >= 0 && t < STILL_T_LAYER_COUNT) ? layer_suffix[t] : "?";
}
