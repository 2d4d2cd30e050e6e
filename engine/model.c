/* model.c — load a GGUF model: check the architecture, read and validate
 * the hyper-parameters, map every tensor (no copies: the weights stay in the
 * mmap'd file) and check its shape, load the tokenizer and template.
 */
#include "model.h"

#include "chat-template.h"
#include "types.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds that keep every size computation far from overflow while
 * leaving room for any model we could ever run. */
#define MAX_EMBD (1 << 16)
#define MAX_LAYERS 1024
#define MAX_HEADS 1024
#define MAX_HEAD_DIM 1024
#define MAX_FF (1 << 20)
#define MAX_VOCAB (1 << 22)
#define MAX_CTX (1 << 24)

still_load_params still_load_params_default(void)
{
  return (still_load_params){.prefetch = false, .no_vocab = false};
}

void still_tensor_bind_kernels(still_tensor *t, still_isa isa)
{
  t->vec_dot_type = still_vec_dot_type(t->type);
  t->vec_dot = still_get_vec_dot(t->type, isa);
  /* The fast path needs both halves: the kernel and the activation quantizer. */
  if (t->vec_dot && t->vec_dot_type != STILL_TYPE_F32 && !still_get_quantize_row(t->vec_dot_type, isa))
    t->vec_dot = NULL;
}

/* ---- hyper-parameters ----------------------------------------------------- */

typedef struct {
  const gguf_file *f;
  const char *arch;
  still_error *err;
} hp_reader;

static void arch_key(char *buf, size_t size, const char *arch, const char *key)
{
  snprintf(buf, size, "%s.%s", arch, key);
}

/* Read an integer key; absent → *out = def (required: error). */
static bool read_i32(hp_reader *r, const char *key, bool required, int32_t def, int32_t *out)
{
  char name[160];
  arch_key(name, sizeof name, r->arch, key);
  const gguf_value *v = gguf_find(r->f, name);
  if (!v) {
    if (required) {
      still_set_error(r->err, STILL_ERR_FORMAT, "the model has no '%s' value", name);
      return false;
    }
    *out = def;
    return true;
  }
  int64_t x;
  if (v->type == GGUF_TYPE_ARRAY) {
    still_set_error(r->err, STILL_ERR_UNSUPPORTED, "'%s' differs per layer, which this engine does not support",
                    name);
    return false;
  }
  if (!gguf_get_i64(r->f, name, &x) || x < 0 || x > INT32_MAX) {
    still_set_error(r->err, STILL_ERR_FORMAT, "'%s' is not a valid count", name);
    return false;
  }
  *out = (int32_t)x;
  return true;
}

static bool read_f32(hp_reader *r, const char *key, float def, float *out)
{
  char name[160];
  arch_key(name, sizeof name, r->arch, key);
  if (!gguf_find(r->f, name)) {
    *out = def;
    return true;
  }
  float x;
  if (!gguf_get_f32(r->f, name, &x) || !isfinite(x)) {
    still_set_error(r->err, STILL_ERR_FORMAT, "'%s' is not a valid number", name);
    return false;
  }
  *out = x;
  return true;
}

static bool in_range(still_error *err, const char *what, int32_t v, int32_t lo, int32_t hi)
{
  if (v >= lo && v <= hi) return true;
  still_set_error(err, STILL_ERR_FORMAT, "the model's %s (%d) is outside the possible range %d..%d", what, v, lo, hi);
  return false;
}

static still_status read_hparams(const gguf_file *f, const still_arch *arch, still_hparams *hp, still_error *err)
{
  hp_reader r = {.f = f, .arch = arch->name, .err = err};
  memset(hp, 0, sizeof *hp);
  if (!read_i32(&r, "embedding_length", true, 0, &hp->n_embd) || !read_i32(&r, "block_count", true, 0, &hp->n_layer) ||
      !read_i32(&r, "attention.head_count", true, 0, &hp->n_head) ||
      !read_i32(&r, "feed_forward_length", true, 0, &hp->n_ff) ||
      !read_i32(&r, "context_length", true, 0, &hp->n_ctx_train))
    return err ? err->status : STILL_ERR_FORMAT;
  if (!read_i32(&r, "attention.head_count_kv", false, hp->n_head, &hp->n_head_kv)) return err->status;
  if (!in_range(err, "width (embedding_length)", hp->n_embd, 1, MAX_EMBD) ||
      !in_range(err, "layer count", hp->n_layer, 1, MAX_LAYERS) ||
      !in_range(err, "head count", hp->n_head, 1, MAX_HEADS) ||
      !in_range(err, "key/value head count", hp->n_head_kv, 1, hp->n_head) ||
      !in_range(err, "feed-forward width", hp->n_ff, 1, MAX_FF) ||
      !in_range(err, "training context", hp->n_ctx_train, 1, MAX_CTX))
    return STILL_ERR_FORMAT;
  if (hp->n_head % hp->n_head_kv != 0)
    return still_set_error(err, STILL_ERR_FORMAT,
                           "the model's %d attention heads cannot be shared evenly by %d key/value heads", hp->n_head,
                           hp->n_head_kv);
  int32_t def_head = hp->n_embd / hp->n_head;
  if (!read_i32(&r, "attention.key_length", false, def_head, &hp->head_dim_k) ||
      !read_i32(&r, "attention.value_length", false, def_head, &hp->head_dim_v))
    return err->status;
  if (!in_range(err, "key head size", hp->head_dim_k, 2, MAX_HEAD_DIM) ||
      !in_range(err, "value head size", hp->head_dim_v, 1, MAX_HEAD_DIM))
    return STILL_ERR_FORMAT;
  if (!read_i32(&r, "rope.dimension_count", false, hp->head_dim_k, &hp->n_rot)) return err->status;
  if (hp->n_rot < 2 || hp->n_rot > hp->head_dim_k || hp->n_rot % 2 != 0)
    return still_set_error(err, STILL_ERR_FORMAT,
                           "the model's rope dimension count (%d) must be even and at most the head size (%d)",
                           hp->n_rot, hp->head_dim_k);

  if (!read_f32(&r, "attention.layer_norm_rms_epsilon", 1e-5f, &hp->rms_eps) ||
      !read_f32(&r, "rope.freq_base", arch->rope_base, &hp->rope_base))
    return err->status;
  if (!(hp->rms_eps >= 0.0f && hp->rms_eps < 1.0f))
    return still_set_error(err, STILL_ERR_FORMAT, "the model's RMS-norm epsilon (%g) is not usable", hp->rms_eps);
  if (!(hp->rope_base > 1.0f))
    return still_set_error(err, STILL_ERR_FORMAT, "the model's rope frequency base (%g) is not usable",
                           hp->rope_base);

  /* Rope scaling. llama3 scaling normally arrives as the rope_freqs.weight
   * tensor (checked in load_tensors); when only keys are present we compute
   * the same factors. YaRN comes from keys only. */
  hp->rope_scaling = STILL_ROPE_SCALING_NONE;
  hp->rope_factor = 1.0f;
  hp->rope_orig_ctx = hp->n_ctx_train;
  hp->yarn_beta_fast = 32.0f;
  hp->yarn_beta_slow = 1.0f;
  char key[160];
  arch_key(key, sizeof key, arch->name, "rope.scaling.type");
  gguf_str type = {0};
  bool has_type = gguf_get_str(f, key, &type);
  float factor = 1.0f;
  if (!read_f32(&r, "rope.scaling.factor", 1.0f, &factor)) return err->status;
  if (!has_type) {
    /* older files: rope.scale_linear; linear scaling is not used by any
     * supported model and we refuse it rather than compute wrongly */
    float lin = 1.0f;
    if (!read_f32(&r, "rope.scale_linear", 1.0f, &lin)) return err->status;
    if (lin != 1.0f)
      return still_set_error(err, STILL_ERR_UNSUPPORTED, "linear rope scaling (factor %g) is not supported", lin);
  } else if (gguf_str_eq(type, "none") || (gguf_str_eq(type, "linear") && factor == 1.0f)) {
    /* nothing */
  } else if (gguf_str_eq(type, "yarn") || gguf_str_eq(type, "llama3")) {
    bool yarn = gguf_str_eq(type, "yarn");
    if (!(factor >= 1.0f && factor <= 1024.0f))
      return still_set_error(err, STILL_ERR_FORMAT, "the rope scaling factor (%g) is not usable", factor);
    int32_t orig = 0;
    if (!read_i32(&r, "rope.scaling.original_context_length", false, hp->n_ctx_train, &orig)) return err->status;
    if (!in_range(err, "original context length of the rope scaling", orig, 1, MAX_CTX)) return STILL_ERR_FORMAT;
    hp->rope_factor = factor;
    hp->rope_orig_ctx = orig;
    if (yarn) {
      hp->rope_scaling = factor > 1.0f ? STILL_ROPE_SCALING_YARN : STILL_ROPE_SCALING_NONE;
      if (!read_f32(&r, "rope.scaling.attn_factor", 1.0f, &hp->yarn_attn_factor) ||
          !read_f32(&r, "rope.scaling.yarn_beta_fast", 32.0f, &hp->yarn_beta_fast) ||
          !read_f32(&r, "rope.scaling.yarn_beta_slow", 1.0f, &hp->yarn_beta_slow))
        return err->status;
      if (!(hp->yarn_attn_factor > 0.0f && hp->yarn_attn_factor < 16.0f) || !(hp->yarn_beta_fast > 0.0f) ||
          !(hp->yarn_beta_slow > 0.0f))
        return still_set_error(err, STILL_ERR_FORMAT, "the YaRN rope parameters of this model are not usable");
    } else {
      hp->rope_scaling = STILL_ROPE_SCALING_LLAMA3;
      if (!read_f32(&r, "rope.scaling.low_freq_factor", 1.0f, &hp->rope_low_freq_factor) ||
          !read_f32(&r, "rope.scaling.high_freq_factor", 4.0f, &hp->rope_high_freq_factor))
        return err->status;
      if (!(hp->rope_low_freq_factor > 0.0f) || !(hp->rope_high_freq_factor > hp->rope_low_freq_factor))
        return still_set_error(err, STILL_ERR_FORMAT, "the llama3 rope parameters of this model are not usable");
    }
  } else {
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "rope scaling '%.*s' is not supported (supported: yarn, llama3)",
                           (int)(type.len > 64 ? 64 : type.len), type.ptr);
  }
  if (hp->yarn_attn_factor == 0.0f) hp->yarn_attn_factor = 1.0f;
  return STILL_OK;
}

void still_llama3_rope_factors(const still_hparams *hp, float *out)
{
  /* Llama 3.1: wavelengths shorter than orig/high_freq_factor are kept,
   * longer than orig/low_freq_factor are divided by the factor, and the band
   * between is blended smoothly (Meta's reference formula). */
  const double pi = 3.14159265358979323846;
  double orig = hp->rope_orig_ctx, lo = hp->rope_low_freq_factor, hi = hp->rope_high_freq_factor;
  double low_wavelen = orig / lo, high_wavelen = orig / hi;
  for (int i = 0; i < hp->n_rot / 2; i++) {
    double freq = pow((double)hp->rope_base, -2.0 * i / hp->n_rot);
    double wavelen = 2.0 * pi / freq;
    double f;
    if (wavelen < high_wavelen) f = 1.0;
    else if (wavelen > low_wavelen) f = hp->rope_factor;
    else {
      double smooth = (orig / wavelen - lo) / (hi - lo);
      f = 1.0 / ((1.0 - smooth) / hp->rope_factor + smooth);
    }
    out[i] = (float)f;
  }
}

/* ---- tensors -------------------------------------------------------------- */

typedef struct {
  still_model *m;
  still_error *err;
} loader;

static const gguf_tensor *find_tensor(loader *ld, const char *name, bool required)
{
  const gguf_tensor *t = gguf_find_tensor(ld->m->file, name);
  if (!t && required) still_set_error(ld->err, STILL_ERR_FORMAT, "tensor %s is missing", name);
  return t;
}

static bool check_data(loader *ld, const gguf_tensor *t, const char *name)
{
  const still_type_traits *tr = still_type_get(t->type);
  if (!tr || !tr->to_float) {
    still_set_error(ld->err, STILL_ERR_UNSUPPORTED, "tensor %s has type %s (id %u), which is not supported", name,
                    still_type_name(t->type), t->type);
    return false;
  }
  if (!t->data) {
    still_set_error(ld->err, STILL_ERR_TRUNCATED, "the data of tensor %s is not in the file", name);
    return false;
  }
  return true;
}

/* A matrix of n_out rows of n_in values. */
static bool load_matrix(loader *ld, const char *name, bool required, int64_t n_in, int64_t n_out, still_tensor *out)
{
  memset(out, 0, sizeof *out);
  const gguf_tensor *t = find_tensor(ld, name, required);
  if (!t) return !required;
  if (!check_data(ld, t, name)) return false;
  if (t->n_dims > 2 || t->ne[0] != n_in || t->ne[1] != n_out || t->ne[2] != 1 || t->ne[3] != 1) {
    still_set_error(ld->err, STILL_ERR_FORMAT,
                    "tensor %s has shape [%lld, %lld] but this model needs [%lld, %lld]", name,
                    (long long)t->ne[0], (long long)t->ne[1], (long long)n_in, (long long)n_out);
    return false;
  }
  uint64_t row_bytes, total;
  if (!still_type_bytes(t->type, (uint64_t)n_in, &row_bytes) || !still_mul_u64(row_bytes, (uint64_t)n_out, &total) ||
      total > t->size) {
    still_set_error(ld->err, STILL_ERR_FORMAT, "tensor %s: rows of %lld values do not fit type %s", name,
                    (long long)n_in, still_type_name(t->type));
    return false;
  }
  out->name = t->name.ptr;
  out->name_len = (int)t->name.len;
  out->data = t->data;
  out->type = t->type;
  out->n_in = n_in;
  out->n_out = n_out;
  out->row_bytes = (size_t)row_bytes;
  still_tensor_bind_kernels(out, ld->m->isa);
  return true;
}

/* A 1-D F32 vector (converted when stored as F16/BF16 or misaligned). */
static bool load_vector(loader *ld, const char *name, bool required, int64_t n, still_vector *out)
{
  memset(out, 0, sizeof *out);
  const gguf_tensor *t = find_tensor(ld, name, required);
  if (!t) return !required;
  if (!check_data(ld, t, name)) return false;
  if (t->ne[0] != n || t->ne[1] != 1 || t->ne[2] != 1 || t->ne[3] != 1) {
    still_set_error(ld->err, STILL_ERR_FORMAT, "tensor %s has %lld x %lld values but this model needs %lld", name,
                    (long long)t->ne[0], (long long)t->ne[1], (long long)n);
    return false;
  }
  out->n = n;
  if (t->type == STILL_TYPE_F32 && ((uintptr_t)t->data % sizeof(float)) == 0) {
    out->data = t->data;
    return true;
  }
  const still_type_traits *tr = still_type_get(t->type);
  float *copy = malloc((size_t)n * sizeof(float));
  float **owned = realloc(ld->m->owned, (size_t)(ld->m->n_owned + 1) * sizeof *owned);
  if (!copy || !owned) {
    free(copy);
    if (owned) ld->m->owned = owned;
    still_set_error(ld->err, STILL_ERR_NOMEM, "out of memory loading tensor %s", name);
    return false;
  }
  ld->m->owned = owned;
  owned[ld->m->n_owned++] = copy;
  if (n % tr->block_size != 0) {
    still_set_error(ld->err, STILL_ERR_FORMAT, "tensor %s: %lld values do not fit type %s", name, (long long)n,
                    tr->name);
    return false;
  }
  tr->to_float(t->data, copy, n);
  out->data = copy;
  return true;
}

static still_status load_tensors(still_model *m, still_error *err)
{
  loader ld = {.m = m, .err = err};
  const still_hparams *hp = &m->hp;
  const still_arch *a = m->arch;

  /* token_embd decides the vocabulary size of the logits */
  const gguf_tensor *te = find_tensor(&ld, "token_embd.weight", true);
  if (!te) return STILL_ERR_FORMAT;
  if (te->ne[1] < 1 || te->ne[1] > MAX_VOCAB)
    return still_set_error(err, STILL_ERR_FORMAT, "tensor token_embd.weight has an impossible vocabulary size %lld",
                           (long long)te->ne[1]);
  m->hp.n_vocab = (int32_t)te->ne[1];
  int32_t vocab_key;
  hp_reader r = {.f = m->file, .arch = a->name, .err = err};
  if (!read_i32(&r, "vocab_size", false, hp->n_vocab, &vocab_key)) return err->status;
  if (vocab_key != hp->n_vocab)
    return still_set_error(err, STILL_ERR_FORMAT, "the model says it has %d tokens but its embedding has %d rows",
                           vocab_key, hp->n_vocab);

  const int64_t n_embd = hp->n_embd, n_q = (int64_t)hp->n_head * hp->head_dim_k,
                n_k = (int64_t)hp->n_head_kv * hp->head_dim_k, n_v = (int64_t)hp->n_head_kv * hp->head_dim_v,
                n_attn_out = (int64_t)hp->n_head * hp->head_dim_v;
  if (!load_matrix(&ld, "token_embd.weight", true, n_embd, hp->n_vocab, &m->tok_embd) ||
      !load_vector(&ld, "output_norm.weight", true, n_embd, &m->output_norm) ||
      !load_matrix(&ld, "output.weight", !a->tied_embeddings, n_embd, hp->n_vocab, &m->output))
    return err->status;
  if (!m->output.data) m->output = m->tok_embd; /* tied embeddings */

  if (a->rope_freqs) {
    if (!load_vector(&ld, "rope_freqs.weight", false, hp->n_rot / 2, &m->rope_freqs)) return err->status;
    if (m->rope_freqs.data) {
      for (int i = 0; i < hp->n_rot / 2; i++)
        if (!(m->rope_freqs.data[i] > 0.0f) || !isfinite(m->rope_freqs.data[i]))
          return still_set_error(err, STILL_ERR_FORMAT, "tensor rope_freqs.weight holds an unusable factor");
      m->hp.rope_scaling = STILL_ROPE_SCALING_LLAMA3;
    }
  }
  if (hp->rope_scaling == STILL_ROPE_SCALING_LLAMA3 && !m->rope_freqs.data) {
    /* llama3 scaling from keys only: compute the factors once */
    float *f = malloc((size_t)(hp->n_rot / 2) * sizeof *f);
    float **owned = realloc(m->owned, (size_t)(m->n_owned + 1) * sizeof *owned);
    if (!f || !owned) {
      free(f);
      if (owned) m->owned = owned;
      return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    }
    m->owned = owned;
    owned[m->n_owned++] = f;
    still_llama3_rope_factors(hp, f);
    m->rope_freqs = (still_vector){.data = f, .n = hp->n_rot / 2};
  }

  m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
  if (!m->layers) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  for (int il = 0; il < hp->n_layer; il++) {
    still_layer *L = &m->layers[il];
    char n[STILL_T_LAYER_COUNT][64];
    for (int t = 0; t < STILL_T_LAYER_COUNT; t++)
      snprintf(n[t], sizeof n[t], "blk.%d.%s", il, still_layer_tensor_suffix((still_layer_tensor)t));
    if (!load_vector(&ld, n[STILL_T_ATTN_NORM], true, n_embd, &L->attn_norm) ||
        !load_matrix(&ld, n[STILL_T_ATTN_Q], true, n_embd, n_q, &L->wq) ||
        !load_matrix(&ld, n[STILL_T_ATTN_K], true, n_embd, n_k, &L->wk) ||
        !load_matrix(&ld, n[STILL_T_ATTN_V], true, n_embd, n_v, &L->wv) ||
        !load_vector(&ld, n[STILL_T_ATTN_Q_BIAS], a->qkv_bias, n_q, &L->bq) ||
        !load_vector(&ld, n[STILL_T_ATTN_K_BIAS], a->qkv_bias, n_k, &L->bk) ||
        !load_vector(&ld, n[STILL_T_ATTN_V_BIAS], a->qkv_bias, n_v, &L->bv) ||
        !load_vector(&ld, n[STILL_T_ATTN_Q_NORM], a->qk_norm, hp->head_dim_k, &L->q_norm) ||
        !load_vector(&ld, n[STILL_T_ATTN_K_NORM], a->qk_norm, hp->head_dim_k, &L->k_norm) ||
        !load_matrix(&ld, n[STILL_T_ATTN_OUT], true, n_attn_out, n_embd, &L->wo) ||
        !load_vector(&ld, n[STILL_T_FFN_NORM], true, n_embd, &L->ffn_norm) ||
        !load_matrix(&ld, n[STILL_T_FFN_GATE], true, n_embd, hp->n_ff, &L->w_gate) ||
        !load_matrix(&ld, n[STILL_T_FFN_UP], true, n_embd, hp->n_ff, &L->w_up) ||
        !load_matrix(&ld, n[STILL_T_FFN_DOWN], true, hp->n_ff, n_embd, &L->w_down))
      return err->status;
  }
  return STILL_OK;
}

/* ---- load ----------------------------------------------------------------- */

static const char *rope_scaling_name(still_rope_scaling s)
{
  switch (s) {
  case STILL_ROPE_SCALING_LLAMA3: return "llama3";
  case STILL_ROPE_SCALING_YARN: return "yarn";
  default: return "none";
  }
}

/* Touch every page of the weights once so that the first prompt does not
 * wait for the disk; reports progress. Returns false when cancelled. */
static bool prefetch_weights(still_model *m, still_progress_fn cb, void *user)
{
  uint64_t total = gguf_tensor_bytes(m->file), done = 0, next_report = 0;
  volatile unsigned char sink = 0;
  for (uint64_t i = 0; i < gguf_n_tensors(m->file); i++) {
    const gguf_tensor *t = gguf_tensor_at(m->file, i);
    if (!t->data) continue;
    const unsigned char *p = t->data;
    for (uint64_t off = 0; off < t->size; off += 4096) {
      sink ^= p[off];
      done += (t->size - off) < 4096 ? (t->size - off) : 4096;
      if (cb && done >= next_report) {
        if (!cb(total ? (float)((double)done / (double)total) : 1.0f, user)) return false;
        next_report = done + total / 100 + 1;
      }
    }
  }
  (void)sink;
  return true;
}

static void fill_info(still_model *m, const char *path)
{
  still_model_info *in = &m->info;
  const still_hparams *hp = &m->hp;
  in->arch = m->arch->name;
  in->name = m->name;
  uint32_t ftype;
  snprintf(m->file_type, sizeof m->file_type, "%s",
           gguf_get_u32(m->file, "general.file_type", &ftype) ? still_file_type_name(ftype) : "unknown");
  in->file_type = m->file_type;
  bool known = false;
  still_template_family fam = still_template_detect(m->chat_template, &known);
  in->template_family = still_template_family_name(fam);
  in->template_known = known;
  in->is_r1 = known && (fam == STILL_TEMPLATE_R1_DISTILL || fam == STILL_TEMPLATE_R1_0528);
  in->has_vocab = m->vocab != NULL;
  uint64_t n_params = 0;
  for (uint64_t i = 0; i < gguf_n_tensors(m->file); i++) {
    const gguf_tensor *t = gguf_tensor_at(m->file, i);
    uint64_t ne = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) ne *= (uint64_t)(t->ne[d] > 0 ? t->ne[d] : 1);
    n_params += ne;
  }
  in->n_params = n_params;
  in->file_size = gguf_file_size(m->file);
  in->weight_bytes = gguf_tensor_bytes(m->file);
  in->n_vocab = hp->n_vocab;
  in->n_ctx_train = hp->n_ctx_train;
  in->n_embd = hp->n_embd;
  in->n_layer = hp->n_layer;
  in->n_head = hp->n_head;
  in->n_head_kv = hp->n_head_kv;
  in->head_dim = hp->head_dim_k;
  in->n_ff = hp->n_ff;
  in->rope_base = hp->rope_base;
  in->rope_scaling = rope_scaling_name(hp->rope_scaling);
  (void)path;
}

still_status still_model_load(const char *path, const still_load_params *p, still_progress_fn cb, void *user,
                              still_model **out, still_error *err)
{
  if (out) *out = NULL;
  if (!path || !out) return still_set_error(err, STILL_ERR_INVALID_ARG, "no model path given");
  still_load_params defaults = still_load_params_default();
  if (!p) p = &defaults;

  still_model *m = calloc(1, sizeof *m);
  if (!m) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  still_error local;
  if (!err) err = &local;
  still_status st = gguf_open(path, &m->file, err);
  if (st != STILL_OK) goto fail;

  gguf_str arch_name;
  if (!gguf_get_str(m->file, "general.architecture", &arch_name)) {
    st = still_set_error(err, STILL_ERR_FORMAT, "the file does not say which model architecture it holds "
                                                "(general.architecture is missing)");
    goto fail;
  }
  char arch_buf[64];
  snprintf(arch_buf, sizeof arch_buf, "%.*s", (int)(arch_name.len > 60 ? 60 : arch_name.len), arch_name.ptr);
  m->arch = arch_name.len < 60 ? still_arch_find(arch_buf) : NULL;
  if (!m->arch) {
    st = still_set_error(err, STILL_ERR_UNSUPPORTED, "architecture '%s' is not supported; supported: %s", arch_buf,
                         still_arch_supported_list());
    goto fail;
  }
  m->isa = still_cpu_best_isa();
  if ((st = read_hparams(m->file, m->arch, &m->hp, err)) != STILL_OK) goto fail;
  if ((st = load_tensors(m, err)) != STILL_OK) goto fail;

  gguf_str s;
  if (gguf_get_str(m->file, "tokenizer.chat_template", &s) && !(m->chat_template = gguf_str_dup(s))) {
    st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if (gguf_get_str(m->file, "general.name", &s) && s.len > 0) m->name = gguf_str_dup(s);
  else {
    const char *base = strrchr(path, '/');
    m->name = strdup(base ? base + 1 : path);
  }
  if (!m->name) {
    st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    goto fail;
  }
  if (!p->no_vocab) {
    if ((st = still_vocab_load(m->file, &m->vocab, err)) != STILL_OK) goto fail;
  }
  fill_info(m, path);

  if (p->prefetch && !prefetch_weights(m, cb, user)) {
    st = still_set_error(err, STILL_ERR_CANCELLED, "loading was cancelled");
    goto fail;
  }
  if (cb && !cb(1.0f, user)) {
    st = still_set_error(err, STILL_ERR_CANCELLED, "loading was cancelled");
    goto fail;
  }
  *out = m;
  return STILL_OK;

fail:
  still_model_free(m);
  return st;
}

void still_model_free(still_model *m)
{
  if (!m) return;
  for (int i = 0; i < m->n_owned; i++) free(m->owned[i]);
  free(m->owned);
  free(m->layers);
  if (m->vocab) still_vocab_free(m->vocab);
  free(m->chat_template);
  free(m->name);
  gguf_close(m->file);
  free(m);
}

const still_model_info *still_model_get_info(const still_model *m)
{
  return m ? &m->info : NULL;
}

const char *still_model_chat_template(const still_model *m)
{
  return m ? m->chat_template : NULL;
}

/* ---- tokens --------------------------------------------------------------- */

int64_t still_tokenize(const still_model *m, const char *text, size_t len, bool add_bos, bool parse_special,
                       int32_t *out, int64_t cap, still_error *err)
{
  if (!m || !m->vocab) {
    still_set_error(err, STILL_ERR_INVALID_ARG, "this model was loaded without its tokenizer");
    return -1;
  }
  return still_vocab_tokenize(m->vocab, text, len, add_bos, parse_special, out, cap, err);
}

char *still_detokenize(const still_model *m, const int32_t *ids, size_t n, bool render_special)
{
  if (!m || !m->vocab) return NULL;
  return still_vocab_detokenize(m->vocab, ids, n, render_special);
}

int32_t still_token_bos(const still_model *m)
{
  return m && m->vocab ? still_vocab_bos(m->vocab) : -1;
}

int32_t still_token_eos(const still_model *m)
{
  return m && m->vocab ? still_vocab_eos(m->vocab) : -1;
}

bool still_token_is_eog(const still_model *m, int32_t id)
{
  return m && m->vocab && still_vocab_is_eog(m->vocab, id);
}
