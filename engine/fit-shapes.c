/* fit-shapes.c — real shapes of the R1 distills and synthetic headers.
 *
 * Shapes come from the original config.json files (see
 * ../shared/catalog-facts.md §1.1). Qwen2 configs have no head_dim key:
 * hidden / heads = 128 for every model here.
 *
 * The quantization mixtures follow llama-quantize's per-tensor rules as
 * documented by its behaviour on real files (and visible in the tiny
 * fixture models' manifest): K-quant files keep a Q6_K output matrix; Q4_K_M
 * and Q5_K_M give Q6_K to attn_v and ffn_down in "more bits" layers (the
 * first and last eighth of the blocks and every third one in between, i.e.
 * about half of them); Q3_K_M uses Q5_K for the first two attn_v, Q4_K for
 * the other attn_v and for every attn_output and ffn_down; Q2_K uses Q3_K
 * for attn_output and ffn_down and Q4_K (Q3_K when there are fewer than 4
 * query heads per KV head) for attn_v. For 80-layer models (llama.cpp's
 * "70B" class) attn_v tensors of Q3_K/Q4_K are raised to Q5_K because eight
 * query heads share them. 1-D tensors (norms, biases, rope_freqs) stay F32.
 * With tied embeddings token_embd plays the output's role and gets its type.
 * The resulting sizes land within a few percent of the published files
 * (checked in tests/engine/test-fit.c).
 */
#include "fit-shapes.h"

#include "types.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const still_model_shape shapes[] = {
  {.id = "qwen-1.5b", .name = "DeepSeek-R1-Distill-Qwen-1.5B", .arch = "qwen2", .n_embd = 1536, .n_layer = 28,
   .n_head = 12, .n_head_kv = 2, .head_dim = 128, .n_ff = 8960, .n_vocab = 151936, .n_ctx_train = 131072,
   .rope_base = 10000.0f, .rms_eps = 1e-6f, .qkv_bias = true, .confirmed = true},
  {.id = "qwen-7b", .name = "DeepSeek-R1-Distill-Qwen-7B", .arch = "qwen2", .n_embd = 3584, .n_layer = 28,
   .n_head = 28, .n_head_kv = 4, .head_dim = 128, .n_ff = 18944, .n_vocab = 152064, .n_ctx_train = 131072,
   .rope_base = 10000.0f, .rms_eps = 1e-6f, .qkv_bias = true, .confirmed = true},
  {.id = "llama-8b", .name = "DeepSeek-R1-Distill-Llama-8B", .arch = "llama", .n_embd = 4096, .n_layer = 32,
   .n_head = 32, .n_head_kv = 8, .head_dim = 128, .n_ff = 14336, .n_vocab = 128256, .n_ctx_train = 131072,
   .rope_base = 500000.0f, .rms_eps = 1e-5f, .rope_freqs = true, .confirmed = true},
  {.id = "qwen-14b", .name = "DeepSeek-R1-Distill-Qwen-14B", .arch = "qwen2", .n_embd = 5120, .n_layer = 48,
   .n_head = 40, .n_head_kv = 8, .head_dim = 128, .n_ff = 13824, .n_vocab = 152064, .n_ctx_train = 131072,
   .rope_base = 1000000.0f, .rms_eps = 1e-5f, .qkv_bias = true, .confirmed = true},
  {.id = "qwen-32b", .name = "DeepSeek-R1-Distill-Qwen-32B", .arch = "qwen2", .n_embd = 5120, .n_layer = 64,
   .n_head = 40, .n_head_kv = 8, .head_dim = 128, .n_ff = 27648, .n_vocab = 152064, .n_ctx_train = 131072,
   .rope_base = 1000000.0f, .rms_eps = 1e-5f, .qkv_bias = true, .confirmed = true},
  {.id = "llama-70b", .name = "DeepSeek-R1-Distill-Llama-70B", .arch = "llama", .n_embd = 8192, .n_layer = 80,
   .n_head = 64, .n_head_kv = 8, .head_dim = 128, .n_ff = 28672, .n_vocab = 128256, .n_ctx_train = 131072,
   .rope_base = 500000.0f, .rms_eps = 1e-5f, .rope_freqs = true, .confirmed = true},
  /* Qwen3-8B architecture; vocabulary and rope base are the Qwen3-8B base
   * values, not confirmed for the 0528 distill (catalog-facts marks them '?'). */
  {.id = "qwen3-8b", .name = "DeepSeek-R1-0528-Qwen3-8B", .arch = "qwen3", .n_embd = 4096, .n_layer = 36,
   .n_head = 32, .n_head_kv = 8, .head_dim = 128, .n_ff = 12288, .n_vocab = 151936, .n_ctx_train = 131072,
   .rope_base = 1000000.0f, .rms_eps = 1e-6f, .qk_norm = true, .confirmed = false},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

size_t still_shape_count(void)
{
  return N_SHAPES;
}

const still_model_shape *still_shape_at(size_t i)
{
  return i < N_SHAPES ? &shapes[i] : NULL;
}

const still_model_shape *still_shape_find(const char *id_or_name)
{
  if (!id_or_name) return NULL;
  for (size_t i = 0; i < N_SHAPES; i++)
    if (strcasecmp(shapes[i].id, id_or_name) == 0 || strcasecmp(shapes[i].name, id_or_name) == 0) return &shapes[i];
  return NULL;
}

/* ---- mixtures --------------------------------------------------------------------- */

static const struct {
  const char *name;
  uint32_t file_type; /* llama.cpp LLAMA_FTYPE_* */
  uint32_t base;      /* the type most tensors get */
} mixes[STILL_MIX_COUNT] = {
  [STILL_MIX_Q2_K] = {"Q2_K", 10, STILL_TYPE_Q2_K},
  [STILL_MIX_Q3_K_M] = {"Q3_K_M", 12, STILL_TYPE_Q3_K},
  [STILL_MIX_Q4_K_M] = {"Q4_K_M", 15, STILL_TYPE_Q4_K},
  [STILL_MIX_Q5_K_M] = {"Q5_K_M", 17, STILL_TYPE_Q5_K},
  [STILL_MIX_Q6_K] = {"Q6_K", 18, STILL_TYPE_Q6_K},
  [STILL_MIX_Q8_0] = {"Q8_0", 7, STILL_TYPE_Q8_0},
  [STILL_MIX_F16] = {"F16", 1, STILL_TYPE_F16},
  [STILL_MIX_F32] = {"F32", 0, STILL_TYPE_F32},
};

const char *still_mix_name(still_quant_mix mix)
{
  return (unsigned)mix < STILL_MIX_COUNT ? mixes[mix].name : "unknown";
}

int still_mix_from_name(const char *name)
{
  if (!name) return -1;
  for (int i = 0; i < STILL_MIX_COUNT; i++)
    if (strcasecmp(mixes[i].name, name) == 0) return i;
  return -1;
}

uint32_t still_mix_file_type(still_quant_mix mix)
{
  return (unsigned)mix < STILL_MIX_COUNT ? mixes[mix].file_type : 0;
}

typedef enum { T_EMBD, T_OUTPUT, T_Q, T_K, T_V, T_O, T_GATE, T_UP, T_DOWN, T_VEC } tensor_kind;

/* llama.cpp's "use more bits" layers: first and last eighth, every third between. */
static bool more_bits(int i, int n)
{
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static uint32_t mix_type(still_quant_mix mix, const still_model_shape *s, tensor_kind kind, int il)
{
  const uint32_t base = mixes[mix].base;
  const bool kquant = mix <= STILL_MIX_Q6_K;
  const int n = s->n_layer;
  uint32_t t = base;
  switch (kind) {
  case T_VEC: return STILL_TYPE_F32;
  case T_OUTPUT: return kquant ? STILL_TYPE_Q6_K : base;
  case T_EMBD: return s->tied_embeddings && kquant ? STILL_TYPE_Q6_K : base;
  case T_V:
    if (mix == STILL_MIX_Q2_K) t = s->n_head / s->n_head_kv >= 4 ? STILL_TYPE_Q4_K : STILL_TYPE_Q3_K;
    else if (mix == STILL_MIX_Q3_K_M) t = il < 2 ? STILL_TYPE_Q5_K : STILL_TYPE_Q4_K;
    else if ((mix == STILL_MIX_Q4_K_M || mix == STILL_MIX_Q5_K_M) && more_bits(il, n)) t = STILL_TYPE_Q6_K;
    if (n == 80 && (t == STILL_TYPE_Q3_K || t == STILL_TYPE_Q4_K)) t = STILL_TYPE_Q5_K;
    return t;
  case T_DOWN:
    if (mix == STILL_MIX_Q2_K) return STILL_TYPE_Q3_K;
    if (mix == STILL_MIX_Q3_K_M) return il < n / 16 ? STILL_TYPE_Q5_K : STILL_TYPE_Q4_K;
    if ((mix == STILL_MIX_Q4_K_M || mix == STILL_MIX_Q5_K_M) && more_bits(il, n)) return STILL_TYPE_Q6_K;
    return base;
  case T_O:
    if (mix == STILL_MIX_Q2_K) return STILL_TYPE_Q3_K;
    if (mix == STILL_MIX_Q3_K_M) return STILL_TYPE_Q4_K;
    return base;
  default: return base;
  }
}

static bool emit(still_shape_tensor *t, const char *name, tensor_kind kind, const still_model_shape *s,
                 still_quant_mix mix, int il, int64_t ne0, int64_t ne1, still_shape_tensor_fn fn, void *user)
{
  snprintf(t->name, sizeof t->name, "%s", name);
  t->type = mix_type(mix, s, kind, il);
  t->n_dims = ne1 > 0 ? 2 : 1;
  t->ne[0] = ne0;
  t->ne[1] = ne1 > 0 ? ne1 : 1;
  t->layer = il;
  return fn(t, user);
}

bool still_shape_for_each_tensor(const still_model_shape *s, still_quant_mix mix, still_shape_tensor_fn fn,
                                 void *user)
{
  if (!s || !fn || (unsigned)mix >= STILL_MIX_COUNT) return false;
  still_shape_tensor t;
  const int64_t e = s->n_embd, q = (int64_t)s->n_head * s->head_dim, kv = (int64_t)s->n_head_kv * s->head_dim;
  char nm[48];
  if (!emit(&t, "token_embd.weight", T_EMBD, s, mix, -1, e, s->n_vocab, fn, user)) return false;
  if (s->rope_freqs && !emit(&t, "rope_freqs.weight", T_VEC, s, mix, -1, s->head_dim / 2, 0, fn, user)) return false;
  for (int il = 0; il < s->n_layer; il++) {
    const struct {
      const char *suffix;
      tensor_kind kind;
      int64_t ne0, ne1;
      bool present;
    } parts[] = {
      {"attn_norm.weight", T_VEC, e, 0, true},
      {"attn_q.weight", T_Q, e, q, true},
      {"attn_q.bias", T_VEC, q, 0, s->qkv_bias},
      {"attn_k.weight", T_K, e, kv, true},
      {"attn_k.bias", T_VEC, kv, 0, s->qkv_bias},
      {"attn_v.weight", T_V, e, kv, true},
      {"attn_v.bias", T_VEC, kv, 0, s->qkv_bias},
      {"attn_q_norm.weight", T_VEC, s->head_dim, 0, s->qk_norm},
      {"attn_k_norm.weight", T_VEC, s->head_dim, 0, s->qk_norm},
      {"attn_output.weight", T_O, q, e, true},
      {"ffn_norm.weight", T_VEC, e, 0, true},
      {"ffn_gate.weight", T_GATE, e, s->n_ff, true},
      {"ffn_up.weight", T_UP, e, s->n_ff, true},
      {"ffn_down.weight", T_DOWN, s->n_ff, e, true},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
      if (!parts[i].present) continue;
      snprintf(nm, sizeof nm, "blk.%d.%s", il, parts[i].suffix);
      if (!emit(&t, nm, parts[i].kind, s, mix, il, parts[i].ne0, parts[i].ne1, fn, user)) return false;
    }
  }
  if (!emit(&t, "output_norm.weight", T_VEC, s, mix, -1, e, 0, fn, user)) return false;
  if (!s->tied_embeddings && !emit(&t, "output.weight", T_OUTPUT, s, mix, -1, e, s->n_vocab, fn, user)) return false;
  return true;
}

typedef struct {
  uint64_t total;
  bool overflow;
} bytes_acc;

static bool add_bytes(const still_shape_tensor *t, void *user)
{
  bytes_acc *a = user;
  uint64_t n = (uint64_t)t->ne[0] * (uint64_t)t->ne[1], b;
  if (!still_type_bytes(t->type, n, &b) || !still_add_u64(a->total, b, &a->total)) {
    a->overflow = true;
    return false;
  }
  return true;
}

uint64_t still_shape_tensor_bytes(const still_model_shape *s, still_quant_mix mix)
{
  bytes_acc a = {0};
  if (!still_shape_for_each_tensor(s, mix, add_bytes, &a) || a.overflow) return 0;
  return a.total;
}

/* ---- metadata and headers ---------------------------------------------------------- */

void still_shape_add_metadata(gguf_writer *w, const still_model_shape *s, still_quant_mix mix, bool with_vocab)
{
  char key[96];
  const char *a = s->arch;
  gguf_writer_add_str(w, "general.architecture", a);
  gguf_writer_add_str(w, "general.name", s->name);
  gguf_writer_add_u32(w, "general.file_type", still_mix_file_type(mix));
  if (mix <= STILL_MIX_Q8_0) gguf_writer_add_u32(w, "general.quantization_version", 2);
#define KEY(suffix) (snprintf(key, sizeof key, "%s.%s", a, suffix), key)
  gguf_writer_add_u32(w, KEY("block_count"), (uint32_t)s->n_layer);
  gguf_writer_add_u32(w, KEY("context_length"), (uint32_t)s->n_ctx_train);
  gguf_writer_add_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd);
  gguf_writer_add_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff);
  gguf_writer_add_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head);
  gguf_writer_add_u32(w, KEY("attention.head_count_kv"), (uint32_t)s->n_head_kv);
  gguf_writer_add_f32(w, KEY("rope.freq_base"), s->rope_base);
  gguf_writer_add_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->rms_eps);
  if (s->head_dim * s->n_head != s->n_embd || s->qk_norm) {
    gguf_writer_add_u32(w, KEY("attention.key_length"), (uint32_t)s->head_dim);
    gguf_writer_add_u32(w, KEY("attention.value_length"), (uint32_t)s->head_dim);
  }
  if (strcmp(a, "llama") == 0) {
    gguf_writer_add_u32(w, KEY("rope.dimension_count"), (uint32_t)s->head_dim);
    gguf_writer_add_u32(w, KEY("vocab_size"), (uint32_t)s->n_vocab);
  }
#undef KEY
  if (!with_vocab) return;
  /* placeholder vocabulary: the count is what matters to the estimator */
  gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
  const char **strs = malloc((size_t)s->n_vocab * sizeof *strs);
  char *pool = malloc((size_t)s->n_vocab * 8);
  if (!strs || !pool) {
    free(strs);
    free(pool);
    /* the writer has no "fail" entry point: an empty array keeps the header valid */
    gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", NULL, 0);
    return;
  }
  for (int32_t i = 0; i < s->n_vocab; i++) {
    snprintf(pool + (size_t)i * 8, 8, "t%d", i % 1000000);
    strs[i] = pool + (size_t)i * 8;
  }
  gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", strs, (uint64_t)s->n_vocab);
  free(strs);
  free(pool);
}

/* Header-only tensors still need a data source; it is never called. */
static still_status never_written(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  (void)user;
  (void)out;
  (void)size;
  return still_set_error(err, STILL_ERR_INVALID_ARG, "tensor %s of a synthetic header has no data", name);
}

static bool add_to_writer(const still_shape_tensor *t, void *user)
{
  gguf_writer_add_tensor_fn(user, t->name, t->type, t->n_dims, t->ne, never_written, NULL);
  return true;
}

still_status still_shape_build_header(const still_model_shape *s, still_quant_mix mix, bool with_vocab, void **buf,
                                      size_t *len, still_error *err)
{
  if (!s || !buf || !len || (unsigned)mix >= STILL_MIX_COUNT)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "no shape or an unknown quantization mixture");
  gguf_writer *w = gguf_writer_new();
  if (!w) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  still_shape_add_metadata(w, s, mix, with_vocab);
  still_shape_for_each_tensor(s, mix, add_to_writer, w);
  still_status st = gguf_writer_write_header_mem(w, buf, len, err);
  gguf_writer_free(w);
  return st;
}
