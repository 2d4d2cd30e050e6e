/* cli-make-model.c — `still make-model`: write a random-weight GGUF with
 * the exact tensor shapes of a real DeepSeek-R1 distill, for benchmarks and
 * tests without downloading gigabytes.
 *
 * Shapes, tensor order and the per-tensor quantization mixtures (Q4_K_M
 * etc.) come from engine/fit-shapes.c, the same table the fit estimator
 * uses. Plain types (F16, Q8_0, Q4_0, …) put every matrix in that type;
 * quantized ones other than Q8_0 give the output matrix Q6_K, as
 * llama-quantize does. 1-D tensors (norms, biases, rope_freqs) are F32.
 * The vocabulary (tokens, merges, types, pre-tokenizer, chat template,
 * special ids) is copied from a vocab GGUF and padded with [PADn] UNUSED
 * tokens up to the shape's vocabulary size.
 *
 * Weights. Quantizing billions of random values with the scalar K-quant
 * quantizers runs at about 6 M values/s here (an 8B Q4_K_M model would take
 * over 20 minutes), so each (type, std) gets a pool of 2^20 random values
 * quantized once, and every row is assembled from runs of pool blocks at
 * random offsets (32 values or one block per run, whichever is larger).
 * The result has the statistics of independent random weights block by
 * block (normal values, std chosen below) and costs a memcpy per block, so
 * writing is limited by the disk. Rows are streamed through the GGUF
 * writer's tensor callback: memory stays bounded by a row and the pools.
 *
 * Distributions (chosen so that activations stay in a normal range at any
 * real width and depth): matrices N(0, s) with s = 1/sqrt(row length)
 * clamped to [0.02, 0.06], so that a matrix-vector product keeps the scale
 * of its input; token embedding N(0, 0.02); norm weights 1 + N(0, 0.05);
 * biases N(0, 0.02); rope_freqs the Llama-3.1 divisors (factor 8, low 1,
 * high 4, original context 8192).
 */
#include "cli-common.h"
#include "cli-run.h"

#include "fit-shapes.h"
#include "gguf.h"
#include "model.h"
#include "types.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char make_model_usage[] =
  "Usage: still make-model --shape NAME --type TYPE --vocab VOCAB.gguf -o FILE [OPTIONS]\n"
  "\n"
  "Write a model with random weights and the exact tensor shapes of a real\n"
  "DeepSeek-R1 distill, for benchmarks and tests. The vocabulary is copied from\n"
  "VOCAB.gguf (a vocab-only GGUF works) and padded to the shape's size.\n"
  "\n"
  "Options:\n"
  "  --shape NAME     r1-qwen-1.5b, r1-qwen-7b, r1-llama-8b, r1-qwen-14b,\n"
  "                   r1-qwen-32b, r1-llama-70b, r1-qwen3-8b (the r1- is optional)\n"
  "  --type TYPE      a llama.cpp mixture: Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K,\n"
  "                   Q8_0, F16, F32; or a plain type for every matrix: BF16,\n"
  "                   Q4_0, Q4_1, Q5_0, Q5_1, Q3_K, Q4_K, Q5_K, IQ4_NL, IQ4_XS\n"
  "  --vocab FILE     the GGUF whose tokenizer to copy\n"
  "  -o, --out FILE   the GGUF to write\n"
  "  --layers N       only the first N blocks (small test models of a real width)\n"
  "  --seed S         random seed (default 42)\n"
  "  -h, --help       show this help\n";

/* ---- random numbers --------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* uniform in [0, n) (Lemire's multiply-shift; n < 2^32) */
static uint32_t rand_below(uint64_t *s, uint32_t n)
{
  return (uint32_t)(((splitmix64(s) >> 32) * (uint64_t)n) >> 32);
}

static double rand_normal(uint64_t *s)
{
  /* Box-Muller; u1 in (0, 1] so that log() is finite */
  double u1 = ((splitmix64(s) >> 11) + 1) * 0x1.0p-53;
  double u2 = (splitmix64(s) >> 11) * 0x1.0p-53;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

static uint64_t hash_name(const char *s)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

/* ---- pools of quantized random blocks ---------------------------------------- */

#define POOL_VALUES (1 << 20)
#define MAX_POOLS 64

typedef struct {
  uint32_t type;
  float std;
  uint8_t *data;
  int64_t n_blocks;
} weight_pool;

typedef enum { KIND_MATRIX, KIND_NORM, KIND_BIAS, KIND_ROPE_FREQS } tensor_kind;

typedef struct make_ctx make_ctx;

typedef struct {
  char name[48];
  uint32_t type;
  uint32_t n_dims;
  int64_t ne[2];
  tensor_kind kind;
  float std;
  make_ctx *ctx;
} tensor_job;

struct make_ctx {
  uint64_t seed;
  still_model_shape shape;
  weight_pool pools[MAX_POOLS];
  int n_pools;
  tensor_job *jobs;
  size_t n_jobs, cap_jobs;
  uint64_t total_bytes, written_bytes;
  bool progress;
  int last_percent;
};

static still_status get_pool(make_ctx *c, uint32_t type, float std, weight_pool **out, still_error *err)
{
  for (int i = 0; i < c->n_pools; i++)
    if (c->pools[i].type == type && c->pools[i].std == std) {
      *out = &c->pools[i];
      return STILL_OK;
    }
  if (c->n_pools == MAX_POOLS) return still_set_error(err, STILL_ERR_INVALID_ARG, "too many weight pools");
  const still_type_traits *tr = still_type_get(type);
  if (!tr || !tr->from_float) return still_set_error(err, STILL_ERR_UNSUPPORTED, "cannot write type %u", type);
  int64_t n = POOL_VALUES - POOL_VALUES % tr->block_size;
  float *vals = malloc((size_t)n * sizeof *vals);
  weight_pool *p = &c->pools[c->n_pools];
  p->type = type;
  p->std = std;
  p->n_blocks = n / tr->block_size;
  p->data = malloc((size_t)p->n_blocks * tr->type_size);
  if (!vals || !p->data) {
    free(vals);
    free(p->data);
    p->data = NULL;
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  }
  uint64_t s = c->seed ^ ((uint64_t)type << 40) ^ (uint64_t)(std * 1e6f);
  for (int64_t i = 0; i < n; i++) vals[i] = (float)(rand_normal(&s) * std);
  tr->from_float(vals, p->data, n);
  free(vals);
  c->n_pools++;
  *out = p;
  return STILL_OK;
}

static void report_progress(make_ctx *c, uint64_t bytes)
{
  c->written_bytes += bytes;
  if (!c->progress || c->total_bytes == 0) return;
  int pct = (int)(c->written_bytes * 100 / c->total_bytes);
  if (pct != c->last_percent) {
    c->last_percent = pct;
    fprintf(stderr, "\rwriting: %3d%%", pct);
    if (pct == 100) fputc('\n', stderr);
    fflush(stderr);
  }
}

/* 1-D tensors: generated value by value (they are small). */
static still_status write_vector(tensor_job *j, FILE *out, uint64_t size, still_error *err)
{
  int64_t n = j->ne[0] * j->ne[1];
  const still_type_traits *tr = still_type_get(j->type);
  float *vals = malloc((size_t)n * sizeof *vals);
  void *buf = malloc((size_t)size);
  if (!vals || !buf) {
    free(vals);
    free(buf);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  }
  uint64_t s = j->ctx->seed ^ hash_name(j->name);
  if (j->kind == KIND_ROPE_FREQS) {
    still_hparams hp = {0};
    hp.n_rot = (int32_t)(2 * n);
    hp.rope_base = j->ctx->shape.rope_base;
    hp.rope_factor = 8.0f;
    hp.rope_low_freq_factor = 1.0f;
    hp.rope_high_freq_factor = 4.0f;
    hp.rope_orig_ctx = 8192;
    still_llama3_rope_factors(&hp, vals);
  } else {
    for (int64_t i = 0; i < n; i++)
      vals[i] = (float)(j->kind == KIND_NORM ? 1.0 + 0.05 * rand_normal(&s) : 0.02 * rand_normal(&s));
  }
  tr->from_float(vals, buf, n);
  bool ok = fwrite(buf, 1, (size_t)size, out) == size;
  free(vals);
  free(buf);
  report_progress(j->ctx, size);
  return ok ? STILL_OK : still_set_error(err, STILL_ERR_IO, "write failed");
}

/* Matrices: rows of pool blocks at random offsets. */
static still_status write_matrix(tensor_job *j, FILE *out, uint64_t size, still_error *err)
{
  const still_type_traits *tr = still_type_get(j->type);
  weight_pool *pool = NULL;
  still_status st = get_pool(j->ctx, j->type, j->std, &pool, err);
  if (st != STILL_OK) return st;
  const int64_t bs = tr->block_size, row_blocks = j->ne[0] / bs;
  /* runs of at least 32 values: cheap copies, still random everywhere */
  int64_t run = bs >= 32 ? 1 : 32 / bs;
  if (row_blocks % run != 0) run = 1;
  const size_t row_bytes = (size_t)row_blocks * tr->type_size, run_bytes = (size_t)run * tr->type_size;
  if ((uint64_t)row_bytes * (uint64_t)j->ne[1] != size)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "unexpected size of %s", j->name);
  uint8_t *row = malloc(row_bytes);
  if (!row) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  uint64_t s = j->ctx->seed ^ hash_name(j->name);
  const uint32_t starts = (uint32_t)(pool->n_blocks - run + 1);
  for (int64_t r = 0; r < j->ne[1]; r++) {
    for (int64_t b = 0; b < row_blocks; b += run)
      memcpy(row + (size_t)b * tr->type_size, pool->data + (size_t)rand_below(&s, starts) * tr->type_size,
             run_bytes);
    if (fwrite(row, 1, row_bytes, out) != row_bytes) {
      free(row);
      return still_set_error(err, STILL_ERR_IO, "write failed");
    }
    report_progress(j->ctx, row_bytes);
  }
  free(row);
  return STILL_OK;
}

static still_status write_tensor(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  (void)name;
  tensor_job *j = user;
  return j->kind == KIND_MATRIX ? write_matrix(j, out, size, err) : write_vector(j, out, size, err);
}

/* ---- the tensor list ------------------------------------------------------------ */

typedef struct {
  make_ctx *ctx;
  bool plain;        /* plain type: every matrix gets it (output Q6_K when quantized) */
  uint32_t plain_type;
  bool failed;
} collect_state;

static bool collect_tensor(const still_shape_tensor *t, void *user)
{
  collect_state *cs = user;
  make_ctx *c = cs->ctx;
  if (c->n_jobs == c->cap_jobs) {
    size_t nc = c->cap_jobs ? c->cap_jobs * 2 : 256;
    tensor_job *p = realloc(c->jobs, nc * sizeof *p);
    if (!p) {
      cs->failed = true;
      return false;
    }
    c->jobs = p;
    c->cap_jobs = nc;
  }
  tensor_job *j = &c->jobs[c->n_jobs++];
  memset(j, 0, sizeof *j);
  snprintf(j->name, sizeof j->name, "%s", t->name);
  j->type = t->type;
  j->n_dims = t->n_dims;
  j->ne[0] = t->ne[0];
  j->ne[1] = t->ne[1];
  j->ctx = c;
  const bool is_output = strcmp(t->name, "output.weight") == 0;
  const bool is_embd = strcmp(t->name, "token_embd.weight") == 0;
  if (t->n_dims == 1) {
    j->type = STILL_TYPE_F32;
    if (strcmp(t->name, "rope_freqs.weight") == 0) j->kind = KIND_ROPE_FREQS;
    else if (strstr(t->name, ".bias")) j->kind = KIND_BIAS;
    else j->kind = KIND_NORM;
    return true;
  }
  j->kind = KIND_MATRIX;
  if (cs->plain) {
    const still_type_traits *tr = still_type_get(cs->plain_type);
    bool output_role = is_output || (is_embd && c->shape.tied_embeddings);
    j->type = cs->plain_type;
    if (output_role && tr->quantized && cs->plain_type != STILL_TYPE_Q8_0) j->type = STILL_TYPE_Q6_K;
  }
  double s = 1.0 / sqrt((double)t->ne[0]);
  j->std = is_embd && !c->shape.tied_embeddings ? 0.02f : (float)(s < 0.02 ? 0.02 : s > 0.06 ? 0.06 : s);
  return true;
}

/* ---- metadata ----------------------------------------------------------------------- */

/* Copy the shape's metadata (fit-shapes.c writes it) into w, leaving out
 * general.file_type when the type is not one of its mixtures. It is built
 * in a scratch writer, parsed back and copied key by key. */
static still_status copy_shape_metadata(gguf_writer *w, const still_model_shape *s, still_quant_mix mix,
                                        bool keep_file_type, still_error *err)
{
  gguf_writer *tmp = gguf_writer_new();
  if (!tmp) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  still_shape_add_metadata(tmp, s, mix, false);
  void *hdr = NULL;
  size_t len = 0;
  still_status st = gguf_writer_write_header_mem(tmp, &hdr, &len, err);
  gguf_writer_free(tmp);
  if (st != STILL_OK) return st;
  gguf_file *f = NULL;
  st = gguf_parse_buffer(hdr, len, 0, &f, NULL, err);
  for (uint64_t i = 0; st == STILL_OK && i < gguf_n_kv(f); i++) {
    const gguf_kv *kv = gguf_kv_at(f, i);
    char *key = gguf_str_dup(kv->key);
    if (!key) st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    else if (keep_file_type || strcmp(key, "general.file_type") != 0) gguf_writer_add_value(w, key, &kv->value);
    free(key);
  }
  gguf_close(f);
  free(hdr);
  return st;
}

/* Copy tokenizer.* from the vocab file, padding tokens / token_type / scores
 * to n_vocab entries ([PADn], UNUSED, 0). */
static still_status copy_vocab(gguf_writer *w, const gguf_file *v, int32_t n_vocab, const char *vocab_path,
                               still_error *err)
{
  const gguf_value *tokens = gguf_get_arr(v, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
  if (!tokens) return still_set_error(err, STILL_ERR_FORMAT, "%s has no tokenizer.ggml.tokens", vocab_path);
  uint64_t n_tok = tokens->v.arr.n;
  if (n_tok > (uint64_t)n_vocab)
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "%s has %" PRIu64 " tokens, more than the %d of this shape: use the vocabulary of "
                           "the shape's family",
                           vocab_path, n_tok, n_vocab);
  still_status st = STILL_OK;
  for (uint64_t i = 0; st == STILL_OK && i < gguf_n_kv(v); i++) {
    const gguf_kv *kv = gguf_kv_at(v, i);
    if (kv->key.len < 10 || memcmp(kv->key.ptr, "tokenizer.", 10) != 0) continue;
    char *key = gguf_str_dup(kv->key);
    if (!key) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    const gguf_value *val = &kv->value;
    if (strcmp(key, "tokenizer.ggml.tokens") == 0) {
      gguf_str *strs = malloc((size_t)n_vocab * sizeof *strs);
      char *names = malloc((size_t)(n_vocab - (int32_t)n_tok) * 24 + 1);
      if (!strs || !names) st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
      else {
        memcpy(strs, val->v.arr.strs, (size_t)n_tok * sizeof *strs);
        for (int64_t id = (int64_t)n_tok; id < n_vocab; id++) {
          char *nm = names + (size_t)(id - (int64_t)n_tok) * 24;
          int l = snprintf(nm, 24, "[PAD%" PRId64 "]", id);
          strs[id] = (gguf_str){.ptr = nm, .len = (uint64_t)l};
        }
        gguf_value nv = {.type = GGUF_TYPE_ARRAY};
        nv.v.arr.elem_type = GGUF_TYPE_STRING;
        nv.v.arr.n = (uint64_t)n_vocab;
        nv.v.arr.strs = strs;
        gguf_writer_add_value(w, key, &nv);
      }
      free(strs);
      free(names);
    } else if ((strcmp(key, "tokenizer.ggml.token_type") == 0 || strcmp(key, "tokenizer.ggml.scores") == 0) &&
               val->type == GGUF_TYPE_ARRAY) {
      bool is_type = strcmp(key, "tokenizer.ggml.token_type") == 0;
      if (val->v.arr.n != n_tok) {
        st = still_set_error(err, STILL_ERR_FORMAT, "%s: %s has %" PRIu64 " entries for %" PRIu64 " tokens",
                             vocab_path, key, val->v.arr.n, n_tok);
      } else if (is_type) {
        int32_t *a = malloc((size_t)n_vocab * sizeof *a);
        if (!a) st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
        for (int64_t id = 0; a && id < n_vocab; id++) {
          int64_t t = 5; /* UNUSED */
          if ((uint64_t)id < n_tok && !gguf_arr_i64(val, (uint64_t)id, &t)) t = 1;
          a[id] = (int32_t)t;
        }
        if (a) gguf_writer_add_arr(w, key, GGUF_TYPE_INT32, a, (uint64_t)n_vocab);
        free(a);
      } else {
        float *a = malloc((size_t)n_vocab * sizeof *a);
        if (!a) st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
        for (int64_t id = 0; a && id < n_vocab; id++) {
          float f = 0.0f;
          if ((uint64_t)id < n_tok && !gguf_arr_f32(val, (uint64_t)id, &f)) f = 0.0f;
          a[id] = f;
        }
        if (a) gguf_writer_add_arr(w, key, GGUF_TYPE_FLOAT32, a, (uint64_t)n_vocab);
        free(a);
      }
    } else {
      gguf_writer_add_value(w, key, val);
    }
    free(key);
  }
  return st;
}

/* llama.cpp general.file_type id of a plain type, -1 when there is none. */
static int plain_file_type(uint32_t type)
{
  for (uint32_t ft = 0; ft < 64; ft++)
    if (strcmp(still_file_type_name(ft), still_type_name(type)) == 0) return (int)ft;
  return -1;
}

int still_cmd_make_model(int argc, char **argv)
{
  const char *shape_name = NULL, *type_name = NULL, *vocab_path = NULL, *out_path = NULL;
  const char *layers_text = NULL, *seed_text = NULL;
  const cli_option opts[] = {
    {.long_name = "--shape", .kind = CLI_OPT_VALUE, .value = &shape_name},
    {.long_name = "--type", .kind = CLI_OPT_VALUE, .value = &type_name},
    {.long_name = "--vocab", .kind = CLI_OPT_VALUE, .value = &vocab_path},
    {.long_name = "--out", .short_name = "-o", .kind = CLI_OPT_VALUE, .value = &out_path},
    {.long_name = "--layers", .kind = CLI_OPT_VALUE, .value = &layers_text},
    {.long_name = "--seed", .kind = CLI_OPT_VALUE, .value = &seed_text},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result ar =
    cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], make_model_usage, &pos, &n_pos);
  if (ar != CLI_ARGS_OK) return ar == CLI_ARGS_HELP ? 0 : 1;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (extra) return cli_fail("unexpected argument '%.60s' (see 'still make-model --help')", extra);
  if (!shape_name) return cli_fail("no shape given: pass --shape NAME (see 'still make-model --help')");
  if (!type_name) return cli_fail("no type given: pass --type TYPE (e.g. Q4_K_M)");
  if (!vocab_path) return cli_fail("no vocabulary given: pass --vocab VOCAB.gguf");
  if (!out_path) return cli_fail("no output file given: pass -o FILE");

  const still_model_shape *shape = still_shape_find(shape_name);
  if (!shape && strncasecmp(shape_name, "r1-", 3) == 0) shape = still_shape_find(shape_name + 3);
  if (!shape) {
    char known[256] = "";
    for (size_t i = 0; i < still_shape_count(); i++) {
      size_t l = strlen(known);
      snprintf(known + l, sizeof known - l, "%sr1-%s", i ? ", " : "", still_shape_at(i)->id);
    }
    return cli_fail("unknown shape '%.40s' (known: %s)", shape_name, known);
  }
  make_ctx c = {.seed = 42, .shape = *shape, .last_percent = -1};
  if (cli_run_u64("--seed", seed_text, &c.seed)) return 1;
  int32_t layers = shape->n_layer;
  if (cli_run_i32("--layers", layers_text, 1, shape->n_layer, &layers)) return 1;
  c.shape.n_layer = layers;

  int mix = still_mix_from_name(type_name);
  collect_state cs = {.ctx = &c};
  if (mix < 0) {
    int t = still_type_from_name(type_name);
    if (t < 0 || t == STILL_TYPE_Q8_1 || t == STILL_TYPE_Q8_K)
      return cli_fail("unknown or unsupported type '%.40s' (see 'still make-model --help')", type_name);
    cs.plain = true;
    cs.plain_type = (uint32_t)t;
    mix = STILL_MIX_F32; /* only for the tensor walk and metadata */
  }

  gguf_file *vf = NULL;
  still_error err = {0};
  if (gguf_open(vocab_path, &vf, &err) != STILL_OK) return cli_fail("%s", err.message);

  gguf_writer *w = gguf_writer_new();
  int rc = 0;
  if (!w) rc = cli_fail("out of memory");
  if (rc == 0 && !still_shape_for_each_tensor(&c.shape, (still_quant_mix)mix, collect_tensor, &cs))
    rc = cli_fail("out of memory");
  /* every matrix row must be whole blocks of its type */
  for (size_t i = 0; rc == 0 && i < c.n_jobs; i++) {
    const tensor_job *j = &c.jobs[i];
    uint64_t bytes;
    if (!still_type_bytes(j->type, (uint64_t)j->ne[0], &bytes) ||
        !still_type_bytes(j->type, (uint64_t)j->ne[0] * (uint64_t)j->ne[1], &bytes))
      rc = cli_fail("type %s cannot hold %s: its rows of %" PRId64 " values are not whole blocks",
                    still_type_name(j->type), j->name, j->ne[0]);
    else c.total_bytes += bytes;
  }
  if (rc == 0) {
    still_status st = copy_shape_metadata(w, &c.shape, (still_quant_mix)mix, !cs.plain, &err);
    if (st == STILL_OK && cs.plain) {
      int ft = plain_file_type(cs.plain_type);
      if (ft >= 0) gguf_writer_add_u32(w, "general.file_type", (uint32_t)ft);
      if (still_type_get(cs.plain_type)->quantized) gguf_writer_add_u32(w, "general.quantization_version", 2);
    }
    if (st == STILL_OK) {
      char desc[200];
      snprintf(desc, sizeof desc,
               "random weights (seed %" PRIu64 ") with the shapes of %s%s, made by still make-model", c.seed,
               shape->name, layers < shape->n_layer ? " (fewer layers)" : "");
      gguf_writer_add_str(w, "general.description", desc);
      st = copy_vocab(w, vf, c.shape.n_vocab, vocab_path, &err);
    }
    if (st != STILL_OK) rc = cli_fail("%s", err.message);
  }
  if (rc == 0) {
    for (size_t i = 0; i < c.n_jobs; i++) {
      const tensor_job *j = &c.jobs[i];
      gguf_writer_add_tensor_fn(w, j->name, j->type, j->n_dims, j->ne, write_tensor, &c.jobs[i]);
    }
    c.progress = isatty(STDERR_FILENO);
    double t0 = still_time_s();
    if (gguf_writer_write_file(w, out_path, &err) != STILL_OK) {
      if (c.progress && c.last_percent >= 0 && c.last_percent < 100) fputc('\n', stderr);
      rc = cli_fail("%s", err.message);
    } else {
      char size[32], params[32];
      uint64_t n_params = 0;
      for (size_t i = 0; i < c.n_jobs; i++) n_params += (uint64_t)(c.jobs[i].ne[0] * c.jobs[i].ne[1]);
      still_format_bytes(c.total_bytes, size, sizeof size);
      printf("wrote %s: %s %s, %d layers, %s parameters, %s of weights, %zu tensors in %.1f s\n", out_path,
             shape->name, cs.plain ? still_type_name(cs.plain_type) : still_mix_name((still_quant_mix)mix),
             layers, cli_format_count(n_params, params, sizeof params), size, c.n_jobs, still_time_s() - t0);
    }
  }
  for (int i = 0; i < c.n_pools; i++) free(c.pools[i].data);
  free(c.jobs);
  gguf_writer_free(w);
  gguf_close(vf);
  return rc ? rc : cli_finish_output();
}
