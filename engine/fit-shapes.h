/* fit-shapes.h — the real shapes of the DeepSeek-R1 distills and synthetic
 * GGUF headers built from them.
 *
 * A "shape" is what a model's config.json says (widths, layers, heads,
 * vocabulary). With a quantization mixture (llama.cpp's rules for Q4_K_M
 * and friends, see fit-shapes.c) it gives every tensor's name, type and
 * dimensions, so tensor byte counts come out as in the published files
 * without downloading them. The fit estimator and the recommender use the
 * header-only form; `still make-model` can reuse the same table and tensor
 * walk to write full random-weight files.
 */
#ifndef STILL_FIT_SHAPES_H
#define STILL_FIT_SHAPES_H

#include "gguf.h"
#include "still.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *id;         /* "qwen-1.5b", "llama-8b", … */
  const char *name;       /* "DeepSeek-R1-Distill-Qwen-1.5B" */
  const char *arch;       /* GGUF general.architecture: "qwen2", "llama", "qwen3" */
  int32_t n_embd;
  int32_t n_layer;
  int32_t n_head;
  int32_t n_head_kv;
  int32_t head_dim;       /* key and value head width */
  int32_t n_ff;
  int32_t n_vocab;
  int32_t n_ctx_train;
  float rope_base;
  float rms_eps;
  bool qkv_bias;          /* qwen2: attn_q/k/v biases */
  bool qk_norm;           /* qwen3: per-head attn_q_norm / attn_k_norm */
  bool rope_freqs;        /* llama3 rope scaling stored as rope_freqs.weight */
  bool tied_embeddings;   /* no output.weight: the output reuses token_embd */
  bool confirmed;         /* false: some values are base-model guesses (catalog-facts marks them '?') */
} still_model_shape;

size_t still_shape_count(void);
const still_model_shape *still_shape_at(size_t i);
/* By id ("qwen-14b") or by full name (case-insensitive); NULL when unknown. */
const still_model_shape *still_shape_find(const char *id_or_name);

/* Quantization mixtures as llama-quantize makes them (no importance matrix). */
typedef enum {
  STILL_MIX_Q2_K = 0,
  STILL_MIX_Q3_K_M,
  STILL_MIX_Q4_K_M,
  STILL_MIX_Q5_K_M,
  STILL_MIX_Q6_K,
  STILL_MIX_Q8_0,
  STILL_MIX_F16,
  STILL_MIX_F32,
  STILL_MIX_COUNT
} still_quant_mix;

const char *still_mix_name(still_quant_mix mix); /* "Q4_K_M" */
int still_mix_from_name(const char *name);       /* case-insensitive; -1 when unknown */
uint32_t still_mix_file_type(still_quant_mix mix); /* llama.cpp general.file_type id (15 = Q4_K_M) */

/* One tensor of a shape: GGUF name, ggml type, dims (ne[0] = row length). */
typedef struct {
  char name[48];
  uint32_t type;
  uint32_t n_dims;
  int64_t ne[2];
  int layer;              /* -1 for tensors outside the blocks */
} still_shape_tensor;

/* Call fn for every tensor of the model in llama.cpp's file order
 * (token_embd, blocks, output_norm, output). Stops early and returns false
 * when fn returns false. */
typedef bool (*still_shape_tensor_fn)(const still_shape_tensor *t, void *user);
bool still_shape_for_each_tensor(const still_model_shape *s, still_quant_mix mix, still_shape_tensor_fn fn,
                                 void *user);

/* Tensor bytes of the whole model in this mixture (0 on overflow). */
uint64_t still_shape_tensor_bytes(const still_model_shape *s, still_quant_mix mix);

/* Add the shape's metadata (architecture keys, general.file_type, name) to
 * a writer. with_vocab: also tokenizer.ggml.model and a tokens array of
 * n_vocab short placeholder strings (makes the header ~1–2 MB, like a real one). */
void still_shape_add_metadata(gguf_writer *w, const still_model_shape *s, still_quant_mix mix, bool with_vocab);

/* Header bytes (metadata + tensor infos, no data) of the shape in this
 * mixture, malloc'd (*buf, *len; caller frees). */
still_status still_shape_build_header(const still_model_shape *s, still_quant_mix mix, bool with_vocab, void **buf,
                                      size_t *len, still_error *err);

#endif /* STILL_FIT_SHAPES_H */
