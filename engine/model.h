/* model.h — a loaded model: hyper-parameters, mmap'd weights, vocab.
 *
 * Shapes follow GGUF/ggml order: a 2-D weight with ne = {n_in, n_out} is
 * stored as n_out rows of n_in values (each row a whole number of blocks),
 * and computes y[n_out] = W · x[n_in].
 */
#ifndef STILL_MODEL_H
#define STILL_MODEL_H

#include "arch.h"
#include "cpu/vec.h"
#include "gguf.h"
#include "still.h"
#include "tokenizer/vocab.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  STILL_ROPE_SCALING_NONE = 0,
  STILL_ROPE_SCALING_LLAMA3, /* per-frequency divisors (rope_freqs.weight, or computed) */
  STILL_ROPE_SCALING_YARN,   /* YaRN: interpolation ramp + magnitude scaling */
} still_rope_scaling;

typedef struct {
  int32_t n_vocab;     /* logits per position (rows of the output matrix) */
  int32_t n_ctx_train; /* context length of training */
  int32_t n_embd;      /* width of the residual stream */
  int32_t n_layer;
  int32_t n_head;      /* query heads */
  int32_t n_head_kv;   /* key/value heads; n_head % n_head_kv == 0 (GQA) */
  int32_t head_dim_k;  /* width of one query/key head (key_length) */
  int32_t head_dim_v;  /* width of one value head (value_length) */
  int32_t n_rot;       /* leading dims of a head that rope rotates (even, <= head_dim_k) */
  int32_t n_ff;        /* hidden width of the SwiGLU feed-forward */
  float rms_eps;
  float rope_base;     /* theta: frequency i is rope_base^(-2i/n_rot) */

  still_rope_scaling rope_scaling;
  float rope_factor;          /* context extension factor (llama3, yarn); 1 = none */
  int32_t rope_orig_ctx;      /* original context of the scaled rope */
  float rope_low_freq_factor; /* llama3 */
  float rope_high_freq_factor;
  float yarn_attn_factor;     /* GGUF rope.scaling.attn_factor (1 when absent) */
  float yarn_beta_fast;       /* 32 */
  float yarn_beta_slow;       /* 1 */
} still_hparams;

/* A weight matrix (or vector: n_out == 1) in the mmap'd file. */
typedef struct {
  const char *name;     /* points into the gguf_file (not NUL-terminated beyond name_len) */
  int name_len;
  const void *data;     /* NULL for absent optional tensors */
  uint32_t type;        /* still_type */
  int64_t n_in;         /* values per row (ne[0]) */
  int64_t n_out;        /* rows (ne[1]) */
  size_t row_bytes;     /* bytes of one row */
  uint32_t vec_dot_type;      /* type the activations are quantized to */
  still_vec_dot_fn vec_dot;   /* NULL: fall back to dequantize-then-dot */
} still_tensor;

/* Norm weights and biases: F32 vectors (converted at load when the file
 * stores them as F16/BF16). */
typedef struct {
  const float *data; /* NULL when absent */
  int64_t n;
} still_vector;

typedef struct {
  still_vector attn_norm;      /* [n_embd] */
  still_tensor wq;             /* [n_embd] -> [n_head * head_dim_k] */
  still_tensor wk;             /* [n_embd] -> [n_head_kv * head_dim_k] */
  still_tensor wv;             /* [n_embd] -> [n_head_kv * head_dim_v] */
  still_vector bq, bk, bv;     /* qwen2 biases, same widths as the outputs */
  still_vector q_norm, k_norm; /* qwen3: [head_dim_k] */
  still_tensor wo;             /* [n_head * head_dim_v] -> [n_embd] */
  still_vector ffn_norm;       /* [n_embd] */
  still_tensor w_gate;         /* [n_embd] -> [n_ff] */
  still_tensor w_up;           /* [n_embd] -> [n_ff] */
  still_tensor w_down;         /* [n_ff] -> [n_embd] */
} still_layer;

struct still_model {
  gguf_file *file;
  const still_arch *arch;
  still_hparams hp;
  still_isa isa;              /* CPU kernels used by this model */

  still_tensor tok_embd;      /* [n_embd] x n_vocab rows: one row per token */
  still_vector output_norm;   /* [n_embd] */
  still_tensor output;        /* [n_embd] -> [n_vocab]; == tok_embd when tied */
  still_vector rope_freqs;    /* [n_rot/2] divisors of the frequencies (llama3), or NULL */
  still_layer *layers;        /* [n_layer] */

  float **owned;              /* vectors converted to F32 at load, freed with the model */
  int n_owned;

  still_vocab *vocab;         /* NULL with no_vocab */
  char *chat_template;        /* NUL-terminated copy, or NULL */
  char *name;
  char file_type[24];
  still_model_info info;
};

/* Fill a still_tensor's kernel fields (vec_dot_type, vec_dot) for the model's ISA. */
void still_tensor_bind_kernels(still_tensor *t, still_isa isa);

/* Compute the llama3 per-frequency divisors from the hparams (factor,
 * low/high_freq_factor, original context) into out[n_rot/2]. */
void still_llama3_rope_factors(const still_hparams *hp, float *out);

#endif /* STILL_MODEL_H */
