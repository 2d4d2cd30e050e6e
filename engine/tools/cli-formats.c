/* cli-formats.c — the `still` subcommands that look at a GGUF file without
 * running it: info, tokenize, detokenize, template.
 *
 * `still info FILE --json` prints one JSON object. Its keys are stable (new
 * keys may be added; existing ones keep their name, type and meaning):
 *
 *   file             string   the path as given
 *   arch             string   general.architecture ("qwen2", "llama", "qwen3"), null if absent
 *   name             string   general.name, null if absent
 *   gguf_version     number   GGUF format version (2 or 3)
 *   n_params         number   parameter count: sum of the element counts of all tensors
 *   n_tensors        number   tensor count (all shards)
 *   types            object   tensor type name ("F32", "Q4_K", …) → number of tensors of that type
 *   file_type        string   general.file_type as llama.cpp names it ("Q4_K_M"), "unknown" for an
 *                             id we do not know, null when the key is absent
 *   file_bytes       number   size in bytes of the file (all shards together)
 *   shards           number   1 for a single file, N for a split model
 *   n_ctx_train      number   <arch>.context_length            (null if absent, same below)
 *   n_layers         number   <arch>.block_count
 *   n_embd           number   <arch>.embedding_length
 *   n_ff             number   <arch>.feed_forward_length
 *   n_head           number   <arch>.attention.head_count
 *   n_head_kv        number   <arch>.attention.head_count_kv (= n_head when absent, as in llama.cpp)
 *   vocab_size       number   tokens in tokenizer.ggml.tokens; without a tokenizer, ne[1] of
 *                             token_embd.weight (null when neither exists)
 *   tokenizer        string   tokenizer.ggml.model ("gpt2" = byte-level BPE, "llama" = SentencePiece), or null
 *   tokenizer_pre    string   tokenizer.ggml.pre (BPE pre-tokenizer name), or null
 *   add_bos          bool     whether the tokenizer adds BOS to a prompt (null without a tokenizer)
 *   special_tokens   object   {"bos": T, "eos": T, "eot": T}, each T = {"id": number, "text": string}
 *                             or null when the model has none (text is the raw vocabulary string)
 *   template_family  string   chat template family used: "r1-distill", "r1-0528", "qwen3", "llama3",
 *                             "chatml" (ChatML is also the fallback)
 *   template_known   bool     false when tokenizer.chat_template is absent or not recognised (then
 *                             template_family is "chatml" and a warning goes to stderr)
 *
 * Human output (without --json) shows the same facts as aligned "key: value" lines.
 *
 * Choices documented for the other commands:
 *   tokenize     no BOS and no parsing of CONTROL token text unless asked (--add-bos,
 *                --parse-special); USER_DEFINED tokens such as <think> are always matched (the
 *                tokenizer's rule). Several TEXT arguments are joined with single spaces.
 *   detokenize   renders special (control) tokens as their text by default, like llama.cpp's
 *                detokenizer, so `tokenize --parse-special | detokenize` gives the text back;
 *                --no-render-special leaves them out. Prints the text exactly (no newline added);
 *                invalid UTF-8 comes out as U+FFFD.
 *   template     prints the rendered prompt exactly (no newline added).
 */
#include "cli-common.h"

#include "chat-template.h"
#include "gguf.h"
#include "tokenizer/vocab.h"
#include "types.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- opening a model ------------------------------------------------------ */

/* A GGUF file plus its tokenizer (NULL when the file has none or, where the
 * caller allows it, when it failed to load). */
typedef struct {
  const char *path;
  gguf_file *f;
  still_vocab *vocab;
  char vocab_error[512]; /* why vocab is NULL although the file has a tokenizer */
} cli_model;

static void model_close(cli_model *m)
{
  if (m->vocab) still_vocab_free(m->vocab);
  if (m->f) gguf_close(m->f);
  m->vocab = NULL;
  m->f = NULL;
}

/* Open path. need_vocab: a tokenizer is required (an error otherwise);
 * want_vocab: load it if present (failure is noted in vocab_error).
 * Returns 0 or 1 (message printed). */
static int model_open(cli_model *m, const char *path, bool want_vocab, bool need_vocab)
{
  memset(m, 0, sizeof *m);
  m->path = path;
  if (!path) return cli_fail("no model given: pass -m FILE");
  /* Checked here so that the message names the path in the usual words. */
  struct stat st;
  if (stat(path, &st) != 0) return cli_fail("cannot open '%s': %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) return cli_fail("'%s' is a folder, not a GGUF file", path);

  still_error err = {0};
  if (gguf_open(path, &m->f, &err) != STILL_OK) {
    m->f = NULL;
    const char *why = err.message[0] ? err.message : still_status_name(err.status);
    /* the reader's message may name the file already */
    return strstr(why, path) ? cli_fail("%s", why) : cli_fail("'%s': %s", path, why);
  }
  if (!want_vocab && !need_vocab) return 0;
  if (!gguf_find(m->f, "tokenizer.ggml.tokens")) {
    if (need_vocab) {
      int rc = cli_fail("'%s' has no tokenizer (no tokenizer.ggml.tokens)", path);
      model_close(m);
      return rc;
    }
    return 0;
  }
  memset(&err, 0, sizeof err);
  if (still_vocab_load(m->f, &m->vocab, &err) != STILL_OK) {
    m->vocab = NULL;
    snprintf(m->vocab_error, sizeof m->vocab_error, "%s",
             err.message[0] ? err.message : still_status_name(err.status));
    if (need_vocab) {
      int rc = cli_fail("cannot load the tokenizer of '%s': %s", path, m->vocab_error);
      model_close(m);
      return rc;
    }
  }
  return 0;
}

/* ---- facts about a model -------------------------------------------------- */

typedef struct {
  bool present;
  int64_t id;
  const char *text; /* raw vocabulary string, NULL when unknown */
  size_t text_len;
} special_token;

/* An integer hyper-parameter "<arch>.<suffix>". Some models store per-layer
 * arrays (e.g. head counts): then the largest element is reported. */
static bool get_hparam(const gguf_file *f, const char *arch, const char *suffix, uint64_t *out)
{
  if (!arch) return false;
  char key[256];
  snprintf(key, sizeof key, "%s.%s", arch, suffix);
  if (gguf_get_u64(f, key, out)) return true;
  const gguf_value *v = gguf_find(f, key);
  if (!v || v->type != GGUF_TYPE_ARRAY || v->v.arr.n == 0) return false;
  uint64_t best = 0, x;
  for (uint64_t i = 0; i < v->v.arr.n; i++) {
    if (!gguf_arr_u64(v, i, &x)) return false;
    if (x > best) best = x;
  }
  *out = best;
  return true;
}

/* Special token from the vocab when loaded, else straight from the metadata. */
static special_token get_special(const cli_model *m, const char *which)
{
  special_token t = {0};
  if (m->vocab) {
    int32_t id = strcmp(which, "bos") == 0   ? still_vocab_bos(m->vocab)
                 : strcmp(which, "eos") == 0 ? still_vocab_eos(m->vocab)
                                             : still_vocab_eot(m->vocab);
    if (id >= 0 && id < still_vocab_n_tokens(m->vocab)) {
      t.present = true;
      t.id = id;
      t.text = still_vocab_token_text(m->vocab, id);
      t.text_len = t.text ? strlen(t.text) : 0;
    }
    return t;
  }
  char key[64];
  snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", which);
  uint64_t id;
  if (!gguf_get_u64(m->f, key, &id)) return t;
  const gguf_value *tokens = gguf_get_arr(m->f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
  if (tokens) {
    if (id >= tokens->v.arr.n) return t; /* e.g. 0xFFFFFFFF for "none" */
    t.text = tokens->v.arr.strs[id].ptr;
    t.text_len = (size_t)tokens->v.arr.strs[id].len;
  } else if (id > INT32_MAX) {
    return t;
  }
  t.present = true;
  t.id = (int64_t)id;
  return t;
}

/* The chat template text of the file as a C string (malloc'd) or NULL. */
static char *get_template_text(const gguf_file *f)
{
  gguf_str s;
  if (!gguf_get_str(f, "tokenizer.chat_template", &s)) return NULL;
  return gguf_str_dup(s);
}

static char *get_str_dup(const gguf_file *f, const char *key)
{
  gguf_str s;
  if (!gguf_get_str(f, key, &s)) return NULL;
  return cli_utf8_sanitize(s.ptr, (size_t)s.len);
}

typedef struct {
  char *arch, *name, *tokenizer, *tokenizer_pre;
  uint32_t version;
  uint64_t n_params, n_tensors, file_bytes;
  int shards;
  uint64_t type_counts[STILL_TYPE_COUNT];
  uint64_t unknown_types; /* tensors of a type id we have no row for */
  bool has_file_type;
  uint32_t file_type;
  struct {
    bool present;
    uint64_t v;
  } n_ctx_train, n_layers, n_embd, n_ff, n_head, n_head_kv, vocab_size;
  bool has_add_bos, add_bos;
  special_token bos, eos, eot;
  still_template_family family;
  bool template_known;
} model_facts;

static void facts_free(model_facts *x)
{
  free(x->arch);
  free(x->name);
  free(x->tokenizer);
  free(x->tokenizer_pre);
}

#define HPARAM(field, suffix) x->field.present = get_hparam(f, x->arch, suffix, &x->field.v)

static void gather_facts(const cli_model *m, model_facts *x)
{
  const gguf_file *f = m->f;
  memset(x, 0, sizeof *x);
  x->arch = get_str_dup(f, "general.architecture");
  x->name = get_str_dup(f, "general.name");
  x->tokenizer = get_str_dup(f, "tokenizer.ggml.model");
  x->tokenizer_pre = get_str_dup(f, "tokenizer.ggml.pre");
  x->version = gguf_version(f);
  x->file_bytes = gguf_file_size(f);
  x->shards = gguf_n_shards(f);
  x->n_tensors = gguf_n_tensors(f);
  for (uint64_t i = 0; i < x->n_tensors; i++) {
    const gguf_tensor *t = gguf_tensor_at(f, i);
    uint64_t n = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) /* the reader has checked that this does not overflow */
      n *= (uint64_t)(t->ne[d] > 0 ? t->ne[d] : 1);
    x->n_params += n;
    if (still_type_get(t->type)) x->type_counts[t->type]++;
    else x->unknown_types++;
  }
  uint64_t ft;
  if (gguf_get_u64(f, "general.file_type", &ft) && ft <= UINT32_MAX) {
    x->has_file_type = true;
    x->file_type = (uint32_t)ft;
  }
  HPARAM(n_ctx_train, "context_length");
  HPARAM(n_layers, "block_count");
  HPARAM(n_embd, "embedding_length");
  HPARAM(n_ff, "feed_forward_length");
  HPARAM(n_head, "attention.head_count");
  HPARAM(n_head_kv, "attention.head_count_kv");
  if (!x->n_head_kv.present && x->n_head.present) x->n_head_kv = x->n_head;

  const gguf_value *tokens = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
  if (m->vocab) {
    x->vocab_size.present = true;
    x->vocab_size.v = (uint64_t)still_vocab_n_tokens(m->vocab);
    x->has_add_bos = true;
    x->add_bos = still_vocab_add_bos(m->vocab);
  } else if (tokens) {
    x->vocab_size.present = true;
    x->vocab_size.v = tokens->v.arr.n;
    bool b;
    if (gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b)) {
      x->has_add_bos = true;
      x->add_bos = b;
    }
  } else {
    const gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
    if (emb && emb->n_dims >= 2) {
      x->vocab_size.present = true;
      x->vocab_size.v = (uint64_t)emb->ne[1];
    }
  }
  x->bos = get_special(m, "bos");
  x->eos = get_special(m, "eos");
  x->eot = get_special(m, "eot");

  char *tmpl = get_template_text(f);
  x->family = still_template_detect(tmpl, &x->template_known);
  free(tmpl);
}

/* ---- info ----------------------------------------------------------------- */

static const char info_usage[] =
  "Usage: still info FILE [--json]\n"
  "\n"
  "Show what a GGUF model file holds: architecture, parameter count, tensor\n"
  "types, file size, context length, layers, heads, vocabulary, special\n"
  "tokens and chat template family.\n"
  "\n"
  "Options:\n"
  "  --json      print one JSON object (keys documented in README)\n"
  "  -h, --help  show this help\n";

static void json_add_special(cJSON *obj, const char *key, const special_token *t)
{
  if (!t->present) {
    cJSON_AddNullToObject(obj, key);
    return;
  }
  cJSON *o = cJSON_AddObjectToObject(obj, key);
  if (!o) return;
  cJSON_AddNumberToObject(o, "id", (double)t->id);
  cli_json_add_strn(o, "text", t->text, t->text_len);
}

static int info_json(const char *path, const model_facts *x)
{
  cJSON *root = cJSON_CreateObject();
  if (!root) return cli_fail("out of memory");
  cli_json_add_strn(root, "file", path, strlen(path));
  cli_json_add_strn(root, "arch", x->arch, x->arch ? strlen(x->arch) : 0);
  cli_json_add_strn(root, "name", x->name, x->name ? strlen(x->name) : 0);
  cli_json_add_u64(root, "gguf_version", x->version);
  cli_json_add_u64(root, "n_params", x->n_params);
  cli_json_add_u64(root, "n_tensors", x->n_tensors);
  cJSON *types = cJSON_AddObjectToObject(root, "types");
  for (uint32_t t = 0; types && t < STILL_TYPE_COUNT; t++)
    if (x->type_counts[t]) cli_json_add_u64(types, still_type_name(t), x->type_counts[t]);
  if (types && x->unknown_types) cli_json_add_u64(types, "unknown", x->unknown_types);
  if (x->has_file_type) cJSON_AddStringToObject(root, "file_type", still_file_type_name(x->file_type));
  else cJSON_AddNullToObject(root, "file_type");
  cli_json_add_u64(root, "file_bytes", x->file_bytes);
  cli_json_add_u64(root, "shards", (uint64_t)x->shards);
  cli_json_add_opt_u64(root, "n_ctx_train", x->n_ctx_train.present, x->n_ctx_train.v);
  cli_json_add_opt_u64(root, "n_layers", x->n_layers.present, x->n_layers.v);
  cli_json_add_opt_u64(root, "n_embd", x->n_embd.present, x->n_embd.v);
  cli_json_add_opt_u64(root, "n_ff", x->n_ff.present, x->n_ff.v);
  cli_json_add_opt_u64(root, "n_head", x->n_head.present, x->n_head.v);
  cli_json_add_opt_u64(root, "n_head_kv", x->n_head_kv.present, x->n_head_kv.v);
  cli_json_add_opt_u64(root, "vocab_size", x->vocab_size.present, x->vocab_size.v);
  cli_json_add_strn(root, "tokenizer", x->tokenizer, x->tokenizer ? strlen(x->tokenizer) : 0);
  cli_json_add_strn(root, "tokenizer_pre", x->tokenizer_pre, x->tokenizer_pre ? strlen(x->tokenizer_pre) : 0);
  if (x->has_add_bos) cJSON_AddBoolToObject(root, "add_bos", x->add_bos);
  else cJSON_AddNullToObject(root, "add_bos");
  cJSON *sp = cJSON_AddObjectToObject(root, "special_tokens");
  if (sp) {
    json_add_special(sp, "bos", &x->bos);
    json_add_special(sp, "eos", &x->eos);
    json_add_special(sp, "eot", &x->eot);
  }
  cJSON_AddStringToObject(root, "template_family", still_template_family_name(x->family));
  cJSON_AddBoolToObject(root, "template_known", x->template_known);
  bool ok = cli_json_print(root);
  cJSON_Delete(root);
  return ok ? 0 : cli_fail("out of memory");
}

/* Human output: lines collected first so that the values line up. */
typedef struct {
  char *key[32];
  char *value[32];
  int n;
} info_lines;

static void add_line(info_lines *l, const char *key, const char *fmt, ...) STILL_PRINTF(3, 4);
static void add_line(info_lines *l, const char *key, const char *fmt, ...)
{
  if (l->n >= 32) return;
  va_list ap;
  va_start(ap, fmt);
  char *v = NULL;
  if (vasprintf(&v, fmt, ap) < 0) v = NULL;
  va_end(ap);
  if (!v) return;
  l->key[l->n] = strdup(key);
  l->value[l->n] = v;
  l->n++;
}

static void add_opt_line(info_lines *l, const char *key, bool present, uint64_t v)
{
  if (present) add_line(l, key, "%" PRIu64, v);
  else add_line(l, key, "(not set)");
}

static void add_special_line(info_lines *l, const char *key, const special_token *t)
{
  if (!t->present) {
    add_line(l, key, "none");
    return;
  }
  if (!t->text) {
    add_line(l, key, "%" PRId64, t->id);
    return;
  }
  char *esc = cli_escape(t->text, t->text_len);
  add_line(l, key, "%" PRId64 " '%s'", t->id, esc ? esc : "?");
  free(esc);
}

static int info_human(const char *path, const model_facts *x)
{
  info_lines l = {0};
  char buf[64], buf2[64];
  add_line(&l, "file", "%s", path);
  add_line(&l, "name", "%s", x->name ? x->name : "(not set)");
  add_line(&l, "architecture", "%s", x->arch ? x->arch : "(not set)");
  add_line(&l, "parameters", "%s", cli_format_count(x->n_params, buf, sizeof buf));
  add_line(&l, "quantization", "%s", x->has_file_type ? still_file_type_name(x->file_type) : "(not set)");

  /* "13 F32, 10 Q4_K, 2 Q6_K" */
  char types[512] = "";
  size_t used = 0;
  for (uint32_t t = 0; t < STILL_TYPE_COUNT; t++)
    if (x->type_counts[t] && used < sizeof types)
      used += (size_t)snprintf(types + used, sizeof types - used, "%s%" PRIu64 " %s", used ? ", " : "",
                               x->type_counts[t], still_type_name(t));
  if (x->unknown_types && used < sizeof types)
    snprintf(types + used, sizeof types - used, "%s%" PRIu64 " unknown", used ? ", " : "", x->unknown_types);
  add_line(&l, "tensors", "%" PRIu64 "%s%s%s", x->n_tensors, x->n_tensors ? " (" : "", types,
           x->n_tensors ? ")" : "");
  add_line(&l, "file size", "%s (%" PRIu64 " bytes)", still_format_bytes(x->file_bytes, buf2, sizeof buf2),
           x->file_bytes);
  add_line(&l, "shards", "%d", x->shards);
  add_opt_line(&l, "context length", x->n_ctx_train.present, x->n_ctx_train.v);
  add_opt_line(&l, "layers", x->n_layers.present, x->n_layers.v);
  add_opt_line(&l, "embedding length", x->n_embd.present, x->n_embd.v);
  add_opt_line(&l, "feed-forward length", x->n_ff.present, x->n_ff.v);
  add_opt_line(&l, "heads", x->n_head.present, x->n_head.v);
  add_opt_line(&l, "kv heads", x->n_head_kv.present, x->n_head_kv.v);
  if (x->vocab_size.present) {
    if (x->tokenizer)
      add_line(&l, "vocabulary", "%" PRIu64 " tokens (%s%s%s)", x->vocab_size.v, x->tokenizer,
               x->tokenizer_pre ? ", pre-tokenizer " : "", x->tokenizer_pre ? x->tokenizer_pre : "");
    else add_line(&l, "vocabulary", "%" PRIu64 " tokens (no tokenizer in the file)", x->vocab_size.v);
  } else {
    add_line(&l, "vocabulary", "(unknown)");
  }
  if (x->has_add_bos) add_line(&l, "adds BOS", "%s", x->add_bos ? "yes" : "no");
  add_special_line(&l, "BOS", &x->bos);
  add_special_line(&l, "EOS", &x->eos);
  add_special_line(&l, "EOT", &x->eot);
  add_line(&l, "chat template", "%s%s", still_template_family_name(x->family),
           x->template_known ? "" : " (fallback)");

  int width = 0;
  for (int i = 0; i < l.n; i++)
    if ((int)strlen(l.key[i]) > width) width = (int)strlen(l.key[i]);
  for (int i = 0; i < l.n; i++) {
    printf("%s:%*s %s\n", l.key[i], width - (int)strlen(l.key[i]), "", l.value[i]);
    free(l.key[i]);
    free(l.value[i]);
  }
  return 0;
}

int still_cmd_info(int argc, char **argv)
{
  bool json = false;
  const cli_option opts[] = {
    {.long_name = "--json", .kind = CLI_OPT_FLAG, .flag = &json},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, 1, info_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  if (n_pos != 1) {
    free(pos);
    return cli_fail(n_pos == 0 ? "no model file given (usage: still info FILE [--json])"
                               : "give exactly one model file (usage: still info FILE [--json])");
  }
  const char *path = pos[0];
  free(pos);

  cli_model m;
  if (model_open(&m, path, true, false) != 0) return 1;
  if (m.vocab_error[0]) cli_warn("cannot load the tokenizer: %s", m.vocab_error);
  model_facts x;
  gather_facts(&m, &x);
  if (!x.template_known) cli_warn("no known chat template: using ChatML");
  int rc = json ? info_json(path, &x) : info_human(path, &x);
  facts_free(&x);
  model_close(&m);
  return rc ? rc : cli_finish_output();
}

/* ---- tokenize ------------------------------------------------------------- */

static const char tokenize_usage[] =
  "Usage: still tokenize -m FILE [--add-bos] [--parse-special] [--pieces] TEXT|-\n"
  "\n"
  "Print the token ids of TEXT (several TEXT arguments are joined with spaces;\n"
  "'-' reads the exact bytes of standard input) on one line. Works on\n"
  "vocab-only GGUF files. Put '--' before a TEXT that starts with '-'.\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE  the GGUF file whose tokenizer to use\n"
  "  --add-bos         put the BOS token first (off by default)\n"
  "  --parse-special   match control-token text such as <|im_start|> (off by\n"
  "                    default; user-defined tokens like <think> always match)\n"
  "  --pieces          print one 'ID=PIECE' per line (PIECE escaped) instead\n"
  "  -h, --help        show this help\n";

int still_cmd_tokenize(int argc, char **argv)
{
  const char *model = NULL;
  bool add_bos = false, parse_special = false, pieces = false;
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--add-bos", .kind = CLI_OPT_FLAG, .flag = &add_bos},
    {.long_name = "--parse-special", .kind = CLI_OPT_FLAG, .flag = &parse_special},
    {.long_name = "--pieces", .kind = CLI_OPT_FLAG, .flag = &pieces},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], tokenize_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  if (!model) {
    free(pos);
    return cli_fail("no model given: pass -m FILE (see 'still tokenize --help')");
  }
  if (n_pos == 0) {
    free(pos);
    return cli_fail("no text given: pass TEXT, or '-' to read standard input");
  }

  /* the text: stdin, one argument, or several joined with spaces */
  char *text = NULL;
  size_t len = 0;
  if (n_pos == 1 && strcmp(pos[0], "-") == 0) {
    char why[600];
    text = cli_read_all("-", &len, why, sizeof why);
    if (!text) {
      free(pos);
      return cli_fail("%s", why);
    }
  } else {
    for (int i = 0; i < n_pos; i++) len += strlen(pos[i]) + 1;
    text = malloc(len + 1);
    if (!text) {
      free(pos);
      return cli_fail("out of memory");
    }
    len = 0;
    for (int i = 0; i < n_pos; i++) {
      if (i) text[len++] = ' ';
      size_t l = strlen(pos[i]);
      memcpy(text + len, pos[i], l);
      len += l;
    }
    text[len] = '\0';
  }
  free(pos);

  cli_model m;
  if (model_open(&m, model, true, true) != 0) {
    free(text);
    return 1;
  }
  /* A first guess that fits almost always (byte-level BPE gives at most one
   * token per byte); retried with the exact count otherwise. */
  int64_t cap = (int64_t)len + 8;
  int32_t *ids = malloc((size_t)cap * sizeof *ids);
  still_error err = {0};
  int64_t n = ids ? still_vocab_tokenize(m.vocab, text, len, add_bos, parse_special, ids, cap, &err) : -1;
  if (ids && n > cap) {
    cap = n;
    int32_t *bigger = realloc(ids, (size_t)cap * sizeof *ids);
    if (!bigger) {
      free(ids);
      ids = NULL;
    } else {
      ids = bigger;
      n = still_vocab_tokenize(m.vocab, text, len, add_bos, parse_special, ids, cap, &err);
    }
  }
  int rc = 0;
  if (!ids) rc = cli_fail("out of memory");
  else if (n < 0 || n > cap) rc = cli_fail("cannot tokenize: %s", err.message[0] ? err.message : "unknown error");
  else if (pieces) {
    char small[256];
    for (int64_t i = 0; i < n; i++) {
      int32_t need = still_vocab_piece(m.vocab, ids[i], true, small, (int32_t)sizeof small);
      char *piece = small, *big = NULL;
      if (need > (int32_t)sizeof small) {
        big = malloc((size_t)need);
        if (big) need = still_vocab_piece(m.vocab, ids[i], true, big, need);
        piece = big;
      }
      char *esc = piece && need >= 0 ? cli_escape(piece, (size_t)need) : NULL;
      printf("%" PRId32 "='%s'\n", ids[i], esc ? esc : "?");
      free(esc);
      free(big);
    }
  } else {
    for (int64_t i = 0; i < n; i++) printf(i ? " %" PRId32 : "%" PRId32, ids[i]);
    putchar('\n');
  }
  free(ids);
  free(text);
  model_close(&m);
  return rc ? rc : cli_finish_output();
}

/* ---- detokenize ----------------------------------------------------------- */

static const char detokenize_usage[] =
  "Usage: still detokenize -m FILE [--no-render-special] IDS...|-\n"
  "\n"
  "Print the text of token ids, exactly (no newline is added). Ids may be\n"
  "separate arguments or one quoted list separated by spaces or commas\n"
  "(\"[1, 2, 3]\" works too); '-' reads them from standard input.\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE      the GGUF file whose tokenizer to use\n"
  "  --render-special      show control tokens (<|im_end|> …) as text (default)\n"
  "  --no-render-special   leave control tokens out\n"
  "  -h, --help            show this help\n";

int still_cmd_detokenize(int argc, char **argv)
{
  const char *model = NULL;
  bool render_special = true;
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--render-special", .kind = CLI_OPT_FLAG, .flag = &render_special},
    {.long_name = "--no-render-special", .kind = CLI_OPT_FLAG, .flag = &render_special, .negate = true},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], detokenize_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  if (!model) {
    free(pos);
    return cli_fail("no model given: pass -m FILE (see 'still detokenize --help')");
  }
  if (n_pos == 0) {
    free(pos);
    return cli_fail("no token ids given: pass IDS, or '-' to read them from standard input");
  }
  cli_model m;
  if (model_open(&m, model, true, true) != 0) {
    free(pos);
    return 1;
  }
  int32_t n_vocab = still_vocab_n_tokens(m.vocab);
  int32_t *ids = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  if (n_pos == 1 && strcmp(pos[0], "-") == 0) {
    char why[600];
    size_t len;
    char *text = cli_read_all("-", &len, why, sizeof why);
    if (!text) rc = cli_fail("%s", why);
    else if (strlen(text) != len) rc = cli_fail("standard input holds a NUL byte: expected token ids");
    else rc = cli_parse_ids(text, n_vocab, &ids, &n, &cap);
    free(text);
  } else {
    for (int i = 0; i < n_pos && rc == 0; i++) rc = cli_parse_ids(pos[i], n_vocab, &ids, &n, &cap);
  }
  free(pos);
  if (rc == 0) {
    int32_t none = 0; /* a valid pointer for an empty list */
    char *out = still_vocab_detokenize(m.vocab, ids ? ids : &none, n, render_special);
    if (!out) rc = cli_fail("out of memory");
    else {
      cli_write(out, strlen(out));
      free(out);
    }
  }
  free(ids);
  model_close(&m);
  return rc ? rc : cli_finish_output();
}

/* ---- template ------------------------------------------------------------- */

static const char template_usage[] =
  "Usage: still template -m FILE --messages FILE.json|- [--no-generation-prompt]\n"
  "                      [--template-family NAME]\n"
  "\n"
  "Render a chat as the model's chat template would, and print the prompt\n"
  "exactly (no newline is added). The messages file is a JSON array:\n"
  "  [{\"role\": \"user\", \"content\": \"Hello\"}]\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE          the GGUF file whose template and tokens to use\n"
  "  --messages FILE           the messages as JSON ('-' reads standard input)\n"
  "  --no-generation-prompt    do not end with the assistant's opening\n"
  "  --template-family NAME    use this family instead of the file's:\n"
  "                            r1-distill, r1-0528, qwen3, llama3, chatml\n"
  "  -h, --help                show this help\n";

#define N_TEMPLATE_FAMILIES ((int)STILL_TEMPLATE_LLAMA3 + 1)

/* True when the JSON text has an escaped NUL (\u0000): cJSON would cut the
 * string there silently, so such input is refused instead. */
static bool json_has_escaped_nul(const char *s, size_t n)
{
  for (size_t i = 0; i + 6 <= n; i++) {
    if (s[i] != '\\') continue;
    if (strncmp(s + i + 1, "u0000", 5) == 0) return true;
    i++; /* skip the escaped character, so "\\u0000" (escaped backslash) is not a NUL */
  }
  return false;
}

/* 1-based line and column of byte offset off, for error messages. */
static void line_col(const char *s, size_t off, int *line, int *col)
{
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < off; i++) {
    if (s[i] == '\n') {
      (*line)++;
      *col = 1;
    } else {
      (*col)++;
    }
  }
}

/* Parse and check the messages; on success *msgs points into *root's strings. */
static int parse_messages(const char *text, size_t len, const char *source, cJSON **root, still_message **msgs,
                          size_t *n)
{
  if (!still_utf8_valid(text, len)) {
    size_t i = 0;
    while (i < len) {
      size_t l = still_utf8_seq_len(text + i, len - i);
      if (!l) break;
      i += l;
    }
    return cli_fail("%s are not valid UTF-8 (bad byte at offset %zu)", source, i);
  }
  if (json_has_escaped_nul(text, len)) return cli_fail("%s hold a \\u0000 (NUL) character: not allowed", source);
  size_t skip = 0;
  while (skip < len && (text[skip] == ' ' || text[skip] == '\t' || text[skip] == '\n' || text[skip] == '\r')) skip++;
  if (skip == len) return cli_fail("%s are empty: expected a JSON array of messages", source);
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!j) {
    int line, col;
    size_t off = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    line_col(text, off, &line, &col);
    return cli_fail("%s are not valid JSON (error at line %d, column %d)", source, line, col);
  }
  /* cJSON stops after the first value: anything but whitespace after it is an error */
  if (end) {
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
    if (end < text + len) {
      int line, col;
      line_col(text, (size_t)(end - text), &line, &col);
      cJSON_Delete(j);
      return cli_fail("%s are not valid JSON: unexpected text after the array at line %d, column %d", source, line,
                      col);
    }
  }
  if (!cJSON_IsArray(j)) {
    cJSON_Delete(j);
    return cli_fail("%s must be a JSON array like [{\"role\": \"user\", \"content\": \"Hi\"}]",
                    source);
  }
  int count = cJSON_GetArraySize(j);
  still_message *out = calloc((size_t)(count > 0 ? count : 1), sizeof *out);
  if (!out) {
    cJSON_Delete(j);
    return cli_fail("out of memory");
  }
  int i = 0;
  const cJSON *item;
  cJSON_ArrayForEach(item, j)
  {
    if (!cJSON_IsObject(item)) {
      free(out);
      cJSON_Delete(j);
      return cli_fail("%s: message %d is not an object with \"role\" and \"content\"", source, i + 1);
    }
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(item, "content");
    const char *bad = !cJSON_IsString(role) ? "role" : !cJSON_IsString(content) ? "content" : NULL;
    if (bad) {
      free(out);
      cJSON_Delete(j);
      return cli_fail("%s: message %d needs a string \"%s\"", source, i + 1, bad);
    }
    /* \u escapes can still produce text that is not UTF-8 we accept */
    if (!still_utf8_valid(role->valuestring, strlen(role->valuestring)) ||
        !still_utf8_valid(content->valuestring, strlen(content->valuestring))) {
      free(out);
      cJSON_Delete(j);
      return cli_fail("%s: message %d is not valid UTF-8", source, i + 1);
    }
    out[i].role = role->valuestring;
    out[i].content = content->valuestring;
    i++;
  }
  *root = j;
  *msgs = out;
  *n = (size_t)i;
  return 0;
}

/* A special token's text as a malloc'd C string, or NULL. */
static char *special_text(const special_token *t)
{
  if (!t->present || !t->text) return NULL;
  char *s = malloc(t->text_len + 1);
  if (!s) return NULL;
  memcpy(s, t->text, t->text_len);
  s[t->text_len] = '\0';
  return s;
}

int still_cmd_template(int argc, char **argv)
{
  const char *model = NULL, *messages = NULL, *family_name = NULL;
  bool no_gen = false;
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--messages", .kind = CLI_OPT_VALUE, .value = &messages},
    {.long_name = "--no-generation-prompt", .kind = CLI_OPT_FLAG, .flag = &no_gen},
    {.long_name = "--template-family", .kind = CLI_OPT_VALUE, .value = &family_name},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], template_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  int n_extra = n_pos;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (n_extra) return cli_fail("unexpected argument '%s' (see 'still template --help')", extra);
  if (!model) return cli_fail("no model given: pass -m FILE (see 'still template --help')");
  if (!messages) return cli_fail("no messages given: pass --messages FILE.json (or - for standard input)");

  int family = -1;
  if (family_name) {
    for (int f = 0; f < N_TEMPLATE_FAMILIES; f++)
      if (strcmp(family_name, still_template_family_name((still_template_family)f)) == 0) family = f;
    if (family < 0)
      return cli_fail("unknown template family '%s' (known: r1-distill, r1-0528, qwen3, llama3, chatml)",
                      family_name);
  }

  /* read + check the messages before the model: cheaper, and the error is about them */
  char why[600];
  size_t len = 0;
  char *text = cli_read_all(messages, &len, why, sizeof why);
  if (!text) return cli_fail("%s", why);
  char source[300];
  if (strcmp(messages, "-") == 0) snprintf(source, sizeof source, "the messages on standard input");
  else snprintf(source, sizeof source, "the messages in '%s'", messages);
  cJSON *root = NULL;
  still_message *msgs = NULL;
  size_t n = 0;
  int rc = parse_messages(text, len, source, &root, &msgs, &n);
  free(text);
  if (rc) return rc;

  cli_model m;
  if (model_open(&m, model, true, false) != 0) {
    free(msgs);
    cJSON_Delete(root);
    return 1;
  }
  if (family < 0) {
    char *tmpl = get_template_text(m.f);
    bool known = false;
    family = (int)still_template_detect(tmpl, &known);
    free(tmpl);
    if (!known) cli_warn("no known chat template: using ChatML");
  }
  special_token bos = get_special(&m, "bos"), eos = get_special(&m, "eos");
  char *bos_text = special_text(&bos), *eos_text = special_text(&eos);
  char *prompt = still_template_render((still_template_family)family, msgs, n, !no_gen, bos_text, eos_text);
  if (!prompt) rc = cli_fail("out of memory");
  else cli_write(prompt, strlen(prompt));
  free(prompt);
  free(bos_text);
  free(eos_text);
  free(msgs);
  cJSON_Delete(root);
  model_close(&m);
  return rc ? rc : cli_finish_output();
}
