/* vocab.c — loading the vocabulary from GGUF metadata, special tokens, and
 * the tokenize entry point (split on special tokens, then BPE or SPM).
 *
 * Behaviour follows llama.cpp's vocabulary code so that token ids match its
 * reference outputs: the same defaults for absent keys, the same special
 * token rules (USER_DEFINED always matched, CONTROL/UNKNOWN only when
 * parsing specials, longest special token first), and the same list of
 * end-of-generation token texts.
 */
#include "util.h"
#include "vocab-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text → id hash ------------------------------------------------------ */

static uint32_t hash_text(const char *s, size_t n)
{
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h ^ (h >> 15);
}

int32_t still_vocab_lookup(const still_vocab *v, const char *text, size_t len)
{
  uint32_t i = hash_text(text, len) & v->hash_mask;
  for (;;) {
    int32_t id = v->hash_ids[i];
    if (id < 0) return -1;
    if (v->text_len[id] == len && memcmp(v->text_pool + v->text_off[id], text, len) == 0) return id;
    i = (i + 1) & v->hash_mask;
  }
}

/* Later tokens with the same text replace earlier ones, as in llama.cpp. */
static void hash_insert(still_vocab *v, int32_t id)
{
  const char *t = v->text_pool + v->text_off[id];
  size_t len = v->text_len[id];
  uint32_t i = hash_text(t, len) & v->hash_mask;
  for (;;) {
    int32_t other = v->hash_ids[i];
    if (other < 0 || (v->text_len[other] == len && memcmp(v->text_pool + v->text_off[other], t, len) == 0)) {
      v->hash_ids[i] = id;
      return;
    }
    i = (i + 1) & v->hash_mask;
  }
}

/* ---- loading ------------------------------------------------------------- */

static const char *const EOT_TEXTS[] = {
    "<|eot_id|>",  "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>", /* <｜end▁of▁sentence｜> (DeepSeek) */
    "<end_of_utterance>",
};

/* Tokens that end generation, recognised by their text (llama.cpp keeps the
 * same list; a model's own EOS/EOT are added to it). */
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>",         "<|return|>",         "<|call|>",
    "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",              "_<EOT>",
    "<|end_of_text|>", "<end_of_utterance>",
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    /* fill-in-the-middle pad / repo / file separators end generation too */
    "<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<|file_sep|>",
};

static int32_t find_first_of(const still_vocab *v, const char *const *texts, size_t n_texts)
{
  /* the first in list order, so the choice does not depend on hashing */
  for (size_t i = 0; i < n_texts; i++) {
    int32_t id = still_vocab_lookup(v, texts[i], strlen(texts[i]));
    if (id >= 0) return id;
  }
  return -1;
}

static void make_control(still_vocab *v, int32_t id)
{
  if (id >= 0 && v->types[id] != STILL_TOKEN_CONTROL) v->types[id] = STILL_TOKEN_CONTROL;
}

/* A token id key: absent → *id unchanged; present but not a valid id → -1. */
static void read_id(const gguf_file *f, const char *key, int32_t n_tokens, int32_t *id)
{
  const gguf_value *val = gguf_find(f, key);
  if (!val) return;
  int64_t x;
  if (gguf_get_i64(f, key, &x) && x >= 0 && x < n_tokens)
    *id = (int32_t)x;
  else
    *id = -1; /* e.g. 0xFFFFFFFF: "none" */
}

static void read_bool(const gguf_file *f, const char *key, bool *out)
{
  bool b;
  if (gguf_get_bool(f, key, &b)) *out = b;
}

static int cmp_special(const void *a, const void *b, void *vv)
{
  const still_vocab *v = vv;
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  if (v->text_len[x] != v->text_len[y]) return v->text_len[x] > v->text_len[y] ? -1 : 1;
  return x < y ? -1 : x > y;
}

static still_status build_specials(still_vocab *v, still_error *err)
{
  int32_t n = 0;
  for (int32_t i = 0; i < v->n_tokens; i++) {
    uint8_t t = v->types[i];
    if ((t == STILL_TOKEN_CONTROL || t == STILL_TOKEN_USER_DEFINED || t == STILL_TOKEN_UNKNOWN) && v->text_len[i] > 0)
      n++;
  }
  v->specials = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
  v->specials_by_byte = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
  v->special_by_byte_start = calloc(257, sizeof(int32_t));
  if (!v->specials || !v->specials_by_byte || !v->special_by_byte_start)
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while loading the tokenizer");
  n = 0;
  for (int32_t i = 0; i < v->n_tokens; i++) {
    uint8_t t = v->types[i];
    if ((t == STILL_TOKEN_CONTROL || t == STILL_TOKEN_USER_DEFINED || t == STILL_TOKEN_UNKNOWN) && v->text_len[i] > 0)
      v->specials[n++] = i;
  }
  v->n_specials = n;
  qsort_r(v->specials, (size_t)n, sizeof(int32_t), cmp_special, v);

  /* index by first byte, keeping the longest-first order inside each list;
   * the lists hold positions in v->specials */
  int32_t *count = v->special_by_byte_start;
  for (int32_t k = 0; k < n; k++) count[(uint8_t)v->text_pool[v->text_off[v->specials[k]]] + 1]++;
  for (int b = 0; b < 256; b++) count[b + 1] += count[b];
  int32_t fill[256];
  for (int b = 0; b < 256; b++) fill[b] = count[b];
  for (int32_t k = 0; k < n; k++) {
    uint8_t b = (uint8_t)v->text_pool[v->text_off[v->specials[k]]];
    v->specials_by_byte[fill[b]++] = k;
  }
  return STILL_OK;
}

static still_status load_tokens(still_vocab *v, const gguf_file *f, still_error *err)
{
  const gguf_value *toks = gguf_find(f, "tokenizer.ggml.tokens");
  if (!toks)
    return still_set_error(err, STILL_ERR_FORMAT, "the model file has no vocabulary (tokenizer.ggml.tokens is missing)");
  if (toks->type != GGUF_TYPE_ARRAY || toks->v.arr.elem_type != GGUF_TYPE_STRING)
    return still_set_error(err, STILL_ERR_FORMAT, "tokenizer.ggml.tokens is not a list of strings");
  uint64_t n = toks->v.arr.n;
  if (n == 0) return still_set_error(err, STILL_ERR_FORMAT, "the model's vocabulary is empty");
  if (n > INT32_MAX / 2)
    return still_set_error(err, STILL_ERR_FORMAT, "the model's vocabulary is impossibly large (%llu tokens)",
                           (unsigned long long)n);
  v->n_tokens = (int32_t)n;

  const gguf_value *scores = gguf_find(f, "tokenizer.ggml.scores");
  if (scores) {
    if (scores->type != GGUF_TYPE_ARRAY ||
        (scores->v.arr.elem_type != GGUF_TYPE_FLOAT32 && scores->v.arr.elem_type != GGUF_TYPE_FLOAT64))
      return still_set_error(err, STILL_ERR_FORMAT, "tokenizer.ggml.scores is not a list of numbers");
    if (scores->v.arr.n != n)
      return still_set_error(err, STILL_ERR_FORMAT, "the vocabulary has %llu tokens but %llu scores",
                             (unsigned long long)n, (unsigned long long)scores->v.arr.n);
  }
  const gguf_value *types = gguf_find(f, "tokenizer.ggml.token_type");
  if (types) {
    gguf_type et = types->v.arr.elem_type;
    if (types->type != GGUF_TYPE_ARRAY || et == GGUF_TYPE_STRING || et == GGUF_TYPE_ARRAY ||
        et == GGUF_TYPE_FLOAT32 || et == GGUF_TYPE_FLOAT64 || et == GGUF_TYPE_BOOL)
      return still_set_error(err, STILL_ERR_FORMAT, "tokenizer.ggml.token_type is not a list of integers");
    if (types->v.arr.n != n)
      return still_set_error(err, STILL_ERR_FORMAT, "the vocabulary has %llu tokens but %llu token types",
                             (unsigned long long)n, (unsigned long long)types->v.arr.n);
  }

  uint64_t total = 0;
  for (uint64_t i = 0; i < n; i++) total += toks->v.arr.strs[i].len + 1;
  if (total > UINT32_MAX)
    return still_set_error(err, STILL_ERR_FORMAT, "the vocabulary's token texts are impossibly large");

  v->text_pool = malloc((size_t)total);
  v->text_off = malloc(n * sizeof(uint32_t));
  v->text_len = malloc(n * sizeof(uint32_t));
  v->scores = malloc(n * sizeof(float));
  v->types = malloc(n);
  v->is_eog = calloc(n, 1);
  uint32_t hsize = 16;
  while (hsize < 2 * n) hsize <<= 1;
  v->hash_ids = malloc((size_t)hsize * sizeof(int32_t));
  if (!v->text_pool || !v->text_off || !v->text_len || !v->scores || !v->types || !v->is_eog || !v->hash_ids)
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while loading the vocabulary");
  v->hash_mask = hsize - 1;
  memset(v->hash_ids, 0xFF, (size_t)hsize * sizeof(int32_t));

  uint32_t off = 0;
  for (uint64_t i = 0; i < n; i++) {
    gguf_str s = toks->v.arr.strs[i];
    if (s.len) memcpy(v->text_pool + off, s.ptr, (size_t)s.len);
    v->text_pool[off + s.len] = '\0';
    v->text_off[i] = off;
    v->text_len[i] = (uint32_t)s.len;
    off += (uint32_t)s.len + 1;

    float sc = 0.0f;
    if (scores) gguf_arr_f32(scores, i, &sc);
    v->scores[i] = sc;

    int64_t t = STILL_TOKEN_NORMAL;
    if (types && !gguf_arr_i64(types, i, &t)) t = STILL_TOKEN_UNDEFINED;
    v->types[i] = (t >= STILL_TOKEN_UNDEFINED && t <= STILL_TOKEN_BYTE) ? (uint8_t)t : STILL_TOKEN_UNDEFINED;

    if (s.len) hash_insert(v, (int32_t)i); /* empty texts can never be looked up */
  }
  return STILL_OK;
}

static still_status load_special_ids(still_vocab *v, const gguf_file *f, still_error *err)
{
  int32_t n = v->n_tokens;
  /* llama.cpp's defaults for SentencePiece vocabularies that do not say */
  bool spm = v->kind == STILL_VOCAB_SPM;
  v->bos = spm && n > 1 ? 1 : -1;
  v->eos = spm && n > 2 ? 2 : -1;
  v->unk = spm ? 0 : -1;
  v->eot = v->eom = v->pad = -1;
  read_id(f, "tokenizer.ggml.bos_token_id", n, &v->bos);
  read_id(f, "tokenizer.ggml.eos_token_id", n, &v->eos);
  read_id(f, "tokenizer.ggml.eot_token_id", n, &v->eot);
  read_id(f, "tokenizer.ggml.eom_token_id", n, &v->eom);
  read_id(f, "tokenizer.ggml.unknown_token_id", n, &v->unk);
  read_id(f, "tokenizer.ggml.padding_token_id", n, &v->pad);

  v->add_bos = spm || v->pre == STILL_PRE_LLAMA3;
  v->add_eos = false;
  v->add_space_prefix = spm;
  read_bool(f, "tokenizer.ggml.add_bos_token", &v->add_bos);
  read_bool(f, "tokenizer.ggml.add_eos_token", &v->add_eos);
  read_bool(f, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix);

  /* end of turn / message by text when the file does not name them */
  if (v->eot < 0) {
    v->eot = find_first_of(v, EOT_TEXTS, sizeof EOT_TEXTS / sizeof EOT_TEXTS[0]);
    make_control(v, v->eot);
  }
  if (v->eom < 0) {
    static const char *const eom[] = {"<|eom_id|>"};
    v->eom = find_first_of(v, eom, 1);
    make_control(v, v->eom);
  }
  for (size_t i = 0; i < sizeof EOG_TEXTS / sizeof EOG_TEXTS[0]; i++) {
    int32_t id = still_vocab_lookup(v, EOG_TEXTS[i], strlen(EOG_TEXTS[i]));
    if (id < 0) continue;
    v->is_eog[id] = 1;
    make_control(v, id); /* as llama.cpp: an end-of-generation token is a control token */
  }
  if (v->eos >= 0) v->is_eog[v->eos] = 1;
  if (v->eot >= 0) v->is_eog[v->eot] = 1;
  if (v->eom >= 0) v->is_eog[v->eom] = 1;

  if (v->add_bos && v->bos < 0) v->add_bos = false; /* nothing to add */
  if (v->add_eos && v->eos < 0) v->add_eos = false;
  (void)err;
  return STILL_OK;
}

static void set_byte_tokens(still_vocab *v)
{
  for (int b = 0; b < 256; b++) {
    char buf[8];
    size_t len;
    if (v->kind == STILL_VOCAB_BPE) {
      uint32_t cp = still_bpe_byte_to_cp((uint8_t)b);
      if (cp < 0x80) {
        buf[0] = (char)cp;
        len = 1;
      } else {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        len = 2;
      }
    } else {
      len = (size_t)snprintf(buf, sizeof buf, "<0x%02X>", b);
    }
    v->byte_token[b] = still_vocab_lookup(v, buf, len);
  }
}

still_status still_vocab_load(const gguf_file *f, still_vocab **out, still_error *err)
{
  if (!out) return still_set_error(err, STILL_ERR_INVALID_ARG, "still_vocab_load: no output pointer");
  *out = NULL;
  if (!f) return still_set_error(err, STILL_ERR_INVALID_ARG, "still_vocab_load: no model file");

  gguf_str model;
  if (!gguf_get_str(f, "tokenizer.ggml.model", &model))
    return still_set_error(err, STILL_ERR_FORMAT, "the model file has no tokenizer (tokenizer.ggml.model is missing)");

  still_vocab *v = calloc(1, sizeof *v);
  if (!v) return still_set_error(err, STILL_ERR_NOMEM, "out of memory while loading the tokenizer");
  still_status st = STILL_OK;

  if (gguf_str_eq(model, "gpt2")) {
    v->kind = STILL_VOCAB_BPE;
  } else if (gguf_str_eq(model, "llama")) {
    v->kind = STILL_VOCAB_SPM;
  } else {
    st = still_set_error(err, STILL_ERR_UNSUPPORTED, "the tokenizer type \"%.*s\" is not supported (only \"gpt2\" and \"llama\")",
                         (int)(model.len > 64 ? 64 : model.len), model.ptr);
    goto fail;
  }

  /* pre-tokenizer name (only byte-level BPE uses it) */
  gguf_str pre;
  char *pre_name = gguf_get_str(f, "tokenizer.ggml.pre", &pre) ? gguf_str_dup(pre) : NULL;
  bool known = true;
  v->pre = still_pretok_type_from_name(pre_name, &known);
  if (!pre_name || !*pre_name) {
    v->pre_name = strdup("default");
  } else if (known) {
    v->pre_name = strdup(pre_name);
  } else {
    /* unknown names split like GPT-2; the name says so, for "still info" */
    size_t need = strlen(pre_name) + 64;
    v->pre_name = malloc(need);
    if (v->pre_name) snprintf(v->pre_name, need, "default (unknown pre-tokenizer \"%s\")", pre_name);
  }
  free(pre_name);
  if (!v->pre_name) {
    st = still_set_error(err, STILL_ERR_NOMEM, "out of memory while loading the tokenizer");
    goto fail;
  }
  if (v->kind == STILL_VOCAB_SPM) v->pre = STILL_PRE_DEFAULT;
  v->ignore_merges = v->kind == STILL_VOCAB_BPE && v->pre == STILL_PRE_LLAMA3;

  if ((st = load_tokens(v, f, err)) != STILL_OK) goto fail;
  if ((st = load_special_ids(v, f, err)) != STILL_OK) goto fail;
  set_byte_tokens(v);

  if (v->kind == STILL_VOCAB_BPE) {
    const gguf_value *merges = gguf_find(f, "tokenizer.ggml.merges");
    if (!merges) {
      st = still_set_error(err, STILL_ERR_FORMAT, "the BPE tokenizer has no merges (tokenizer.ggml.merges is missing)");
      goto fail;
    }
    if (merges->type != GGUF_TYPE_ARRAY || merges->v.arr.elem_type != GGUF_TYPE_STRING) {
      st = still_set_error(err, STILL_ERR_FORMAT, "tokenizer.ggml.merges is not a list of strings");
      goto fail;
    }
    if ((st = still_bpe_build_merges(v, merges->v.arr.strs, merges->v.arr.n, err)) != STILL_OK) goto fail;
    if ((st = still_pretok_new(v->pre, &v->pretok, err)) != STILL_OK) goto fail;
  }
  if (v->kind == STILL_VOCAB_SPM) still_spm_prepare(v);
  if ((st = build_specials(v, err)) != STILL_OK) goto fail;
  if ((st = still_vocab_build_pieces(v, err)) != STILL_OK) goto fail;

  *out = v;
  return STILL_OK;

fail:
  still_vocab_free(v);
  return st;
}

void still_vocab_free(still_vocab *v)
{
  if (!v) return;
  free(v->pre_name);
  free(v->text_pool);
  free(v->text_off);
  free(v->text_len);
  free(v->scores);
  free(v->types);
  free(v->is_eog);
  free(v->piece_pool);
  free(v->piece_off);
  free(v->piece_len);
  free(v->hash_ids);
  free(v->merges);
  free(v->specials);
  free(v->special_by_byte_start);
  free(v->specials_by_byte);
  still_pretok_free(v->pretok);
  free(v);
}

/* ---- accessors ----------------------------------------------------------- */

still_vocab_kind still_vocab_get_kind(const still_vocab *v) { return v->kind; }
const char *still_vocab_pre_name(const still_vocab *v) { return v->pre_name; }
int32_t still_vocab_n_tokens(const still_vocab *v) { return v->n_tokens; }
int32_t still_vocab_bos(const still_vocab *v) { return v->bos; }
int32_t still_vocab_eos(const still_vocab *v) { return v->eos; }
int32_t still_vocab_eot(const still_vocab *v) { return v->eot; }
int32_t still_vocab_pad(const still_vocab *v) { return v->pad; }
bool still_vocab_add_bos(const still_vocab *v) { return v->add_bos; }
bool still_vocab_add_eos(const still_vocab *v) { return v->add_eos; }
bool still_vocab_add_space_prefix(const still_vocab *v) { return v->add_space_prefix; }
int64_t still_vocab_n_merges(const still_vocab *v) { return v->n_merges; }

still_token_type still_vocab_token_type(const still_vocab *v, int32_t id)
{
  if (id < 0 || id >= v->n_tokens) return STILL_TOKEN_UNDEFINED;
  return (still_token_type)v->types[id];
}

const char *still_vocab_token_text(const still_vocab *v, int32_t id)
{
  if (id < 0 || id >= v->n_tokens) return NULL;
  return v->text_pool + v->text_off[id];
}

bool still_vocab_is_eog(const still_vocab *v, int32_t id) { return id >= 0 && id < v->n_tokens && v->is_eog[id]; }

int32_t still_vocab_find(const still_vocab *v, const char *text, size_t len)
{
  if (!text || len == 0) return -1;
  return still_vocab_lookup(v, text, len);
}

/* ---- tokenize ------------------------------------------------------------ */

typedef struct {
  size_t off, len; /* raw text, when token < 0 */
  int32_t token;
} fragment;

typedef struct {
  fragment *items;
  size_t n, cap;
} fragment_list;

static bool frag_push(fragment_list *l, size_t off, size_t len, int32_t token)
{
  if (l->n == l->cap) {
    size_t nc = l->cap ? l->cap * 2 : 16;
    fragment *ni = realloc(l->items, nc * sizeof *ni);
    if (!ni) return false;
    l->items = ni;
    l->cap = nc;
  }
  l->items[l->n++] = (fragment){off, len, token};
  return true;
}

static bool special_allowed(const still_vocab *v, int32_t id, bool parse_special)
{
  return parse_special || v->types[id] == STILL_TOKEN_USER_DEFINED;
}

/* Splits the text on special tokens the way llama.cpp does: for each special
 * token, longest first, every raw fragment is cut at each occurrence (left
 * to right). Only the tokens that occur somewhere are tried, found by one
 * pass over the text. On success *list holds the fragments in order. */
static bool partition(const still_vocab *v, const char *text, size_t len, bool parse_special, fragment_list *list)
{
  list->n = 0;
  if (!frag_push(list, 0, len, -1)) return false;
  if (v->n_specials == 0) return true;

  uint8_t *present = NULL; /* by position in v->specials */
  const int32_t *start = v->special_by_byte_start;
  for (size_t i = 0; i < len; i++) {
    uint8_t b = (uint8_t)text[i];
    for (int32_t k = start[b]; k < start[b + 1]; k++) {
      int32_t pos = v->specials_by_byte[k];
      int32_t id = v->specials[pos];
      size_t tl = v->text_len[id];
      if (tl > len - i || (present && present[pos]) || !special_allowed(v, id, parse_special)) continue;
      if (memcmp(text + i, v->text_pool + v->text_off[id], tl) != 0) continue;
      if (!present && !(present = calloc((size_t)v->n_specials, 1))) return false;
      present[pos] = 1;
    }
  }
  if (!present) return true;

  fragment_list next = {0};
  bool ok = true;
  for (int32_t pos = 0; pos < v->n_specials && ok; pos++) {
    if (!present[pos]) continue;
    int32_t id = v->specials[pos];
    const char *tt = v->text_pool + v->text_off[id];
    size_t tl = v->text_len[id];
    next.n = 0;
    for (size_t f = 0; f < list->n && ok; f++) {
      fragment fr = list->items[f];
      if (fr.token >= 0) {
        ok = frag_push(&next, 0, 0, fr.token);
        continue;
      }
      size_t off = fr.off, end = fr.off + fr.len;
      for (;;) {
        const char *m = memmem(text + off, end - off, tt, tl);
        if (!m) break;
        size_t mo = (size_t)(m - text);
        if (mo > off) ok = ok && frag_push(&next, off, mo - off, -1);
        ok = ok && frag_push(&next, 0, 0, id);
        off = mo + tl;
      }
      if (off < end) ok = ok && frag_push(&next, off, end - off, -1);
    }
    fragment_list tmp = *list;
    *list = next;
    next = tmp;
  }
  free(next.items);
  free(present);
  return ok;
}

int64_t still_vocab_tokenize(const still_vocab *v, const char *text, size_t len, bool add_bos, bool parse_special,
                             int32_t *out, int64_t cap, still_error *err)
{
  if (!v) {
    still_set_error(err, STILL_ERR_INVALID_ARG, "still_vocab_tokenize: no vocabulary");
    return -1;
  }
  if ((!text && len > 0) || cap < 0 || (!out && cap > 0)) {
    still_set_error(err, STILL_ERR_INVALID_ARG, "still_vocab_tokenize: bad arguments");
    return -1;
  }
  still_tok_out o = {out, cap, 0};
  bool add_special = add_bos;
  if (add_special && v->add_bos) still_tok_push(&o, v->bos);

  fragment_list frags = {0};
  if (len > 0 && !partition(v, text, len, parse_special, &frags)) {
    free(frags.items);
    still_set_error(err, STILL_ERR_NOMEM, "out of memory while tokenizing");
    return -1;
  }

  still_status st = STILL_OK;
  bool prev_special = true; /* SPM: the first fragment gets the space prefix */
  for (size_t i = 0; i < frags.n && st == STILL_OK; i++) {
    const fragment *fr = &frags.items[i];
    if (fr->token >= 0) {
      still_tok_push(&o, fr->token);
      prev_special = true;
      continue;
    }
    if (v->kind == STILL_VOCAB_BPE) {
      st = still_bpe_tokenize(v, text + fr->off, fr->len, &o, err);
    } else {
      st = still_spm_tokenize(v, text + fr->off, fr->len, v->add_space_prefix && prev_special, &o, err);
      prev_special = false;
    }
  }
  free(frags.items);
  if (st != STILL_OK) return -1;

  if (add_special && v->add_eos) still_tok_push(&o, v->eos);
  return o.n;
}
