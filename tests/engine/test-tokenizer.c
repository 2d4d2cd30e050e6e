/* test-tokenizer.c — the tokenizers against llama.cpp's outputs:
 *   - every case of the fixtures' vocab/NAME.gguf.inp / .out (no BOS, no special parsing);
 *   - prompt_text_token_ids of every reference/MODEL.json (BOS as the model says);
 *   - greedy_text of the references (token pieces concatenated: tests the detokenizer);
 *   - special tokens with parse_special on and off, BOS/EOS/EOG ids;
 *   - detokenize(tokenize(x)) == x, streaming detokenizing of split characters,
 *     invalid UTF-8, capacity handling, load errors on bad vocabularies;
 *   - throughput (printed, not asserted).
 */
#include "test-common.h"

#include "gguf.h"
#include "tokenizer/vocab-private.h" /* the pre-tokenizer, tested on its own */
#include "tokenizer/vocab.h"

#include <cjson/cJSON.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */

static still_vocab *load_vocab_path(const char *path)
{
  gguf_file *f = NULL;
  still_error err = {0};
  if (gguf_open(path, &f, &err) != STILL_OK) {
    g_test_message("cannot open %s: %s", path, err.message);
    g_test_fail();
    return NULL;
  }
  still_vocab *v = NULL;
  if (still_vocab_load(f, &v, &err) != STILL_OK) {
    g_test_message("cannot load the vocabulary of %s: %s", path, err.message);
    g_test_fail();
  }
  gguf_close(f); /* the vocab must not need the file any more */
  return v;
}

/* NULL (test skipped/failed) when the fixture is missing. */
static still_vocab *load_fixture_vocab(const char *relative)
{
  char *path = test_fixture_path(relative);
  if (!path) return NULL;
  still_vocab *v = load_vocab_path(path);
  g_free(path);
  return v;
}

/* Tokenizes into a GArray of gint32 (asserting success). */
static GArray *tokenize(const still_vocab *v, const char *text, size_t len, bool add_bos, bool parse_special)
{
  still_error err = {0};
  int64_t n = still_vocab_tokenize(v, text, len, add_bos, parse_special, NULL, 0, &err);
  if (n < 0) g_test_message("tokenize failed: %s", err.message);
  g_assert_cmpint(n, >=, 0);
  GArray *a = g_array_sized_new(FALSE, TRUE, sizeof(gint32), (guint)n);
  g_array_set_size(a, (guint)n);
  int64_t n2 = still_vocab_tokenize(v, text, len, add_bos, parse_special, (int32_t *)(void *)a->data, n, &err);
  g_assert_cmpint(n2, ==, n);
  return a;
}

static char *ids_to_string(const gint32 *ids, size_t n)
{
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < n; i++) g_string_append_printf(s, "%s%d", i ? " " : "", ids[i]);
  return g_string_free(s, FALSE);
}

/* Concatenated pieces (no leading-space removal), the way llama.cpp's
 * token_to_piece outputs are glued together by its tools. */
static GString *pieces(const still_vocab *v, const gint32 *ids, size_t n, bool render_special)
{
  GString *s = g_string_new(NULL);
  char buf[256];
  for (size_t i = 0; i < n; i++) {
    int32_t k = still_vocab_piece(v, ids[i], render_special, buf, sizeof buf);
    g_assert_cmpint(k, <=, (int32_t)sizeof buf);
    g_string_append_len(s, buf, k);
  }
  return s;
}

/* ---- fixture vocab cases ------------------------------------------------- */

typedef struct {
  const char *file;
  bool roundtrip; /* detokenize(tokenize(x)) == x */
} vocab_case;

static void test_vocab_file(gconstpointer data)
{
  const vocab_case *vc = data;
  char *rel = g_strdup_printf("vocab/%s", vc->file);
  char *rel_inp = g_strdup_printf("vocab/%s.inp", vc->file);
  char *rel_out = g_strdup_printf("vocab/%s.out", vc->file);
  char *inp_path = test_fixture_path(rel_inp);
  char *out_path = inp_path ? test_fixture_path(rel_out) : NULL;
  still_vocab *v = out_path ? load_fixture_vocab(rel) : NULL;
  if (!v) goto done;

  gsize inp_len = 0, out_len = 0;
  char *inp = test_read_file(inp_path, &inp_len);
  char *outs = test_read_file(out_path, &out_len);
  g_assert_nonnull(inp);
  g_assert_nonnull(outs);

  /* cases: text followed by "\n__ggml_vocab_test__\n" */
  static const char SEP[] = "\n__ggml_vocab_test__\n";
  GPtrArray *cases = g_ptr_array_new_with_free_func(g_free);
  const char *p = inp, *end = inp + inp_len;
  for (;;) {
    const char *s = g_strstr_len(p, end - p, SEP);
    if (!s) break;
    g_ptr_array_add(cases, g_strndup(p, s - p));
    p = s + strlen(SEP);
  }
  g_assert_true(p == end); /* the file ends with a separator */
  char **lines = g_strsplit(outs, "\n", -1);
  guint n_lines = g_strv_length(lines);
  if (n_lines > 0 && lines[n_lines - 1][0] == '\0') n_lines--; /* final newline */
  g_assert_cmpuint(n_lines, ==, cases->len);

  guint pass = 0, rt_pass = 0;
  for (guint i = 0; i < cases->len; i++) {
    const char *text = g_ptr_array_index(cases, i);
    GArray *got = tokenize(v, text, strlen(text), false, false);
    char *got_s = ids_to_string((const gint32 *)(void *)got->data, got->len);
    char *want_s = g_strstrip(g_strdup(lines[i]));
    if (strcmp(got_s, want_s) == 0) {
      pass++;
    } else {
      char *esc = g_strescape(text, NULL);
      g_test_message("%s case %u \"%s\":\n  want %s\n  got  %s", vc->file, i, esc, want_s, got_s);
      g_free(esc);
    }
    if (vc->roundtrip) {
      char *back = still_vocab_detokenize(v, (const int32_t *)(void *)got->data, got->len, false);
      g_assert_nonnull(back);
      if (strcmp(back, text) == 0) {
        rt_pass++;
      } else {
        char *e1 = g_strescape(text, NULL), *e2 = g_strescape(back, NULL);
        g_test_message("%s case %u round trip: \"%s\" came back as \"%s\"", vc->file, i, e1, e2);
        g_free(e1);
        g_free(e2);
      }
      g_free(back);
    }
    g_free(got_s);
    g_free(want_s);
    g_array_free(got, TRUE);
  }
  g_test_message("%s: %u/%u cases match llama.cpp (pre-tokenizer %s)", vc->file, pass, cases->len,
                 still_vocab_pre_name(v));
  if (vc->roundtrip) g_test_message("%s: %u/%u cases round-trip through detokenize", vc->file, rt_pass, cases->len);
  g_assert_cmpuint(pass, ==, cases->len);
  if (vc->roundtrip) g_assert_cmpuint(rt_pass, ==, cases->len);

  g_strfreev(lines);
  g_ptr_array_free(cases, TRUE);
  g_free(inp);
  g_free(outs);
  still_vocab_free(v);
done:
  g_free(inp_path);
  g_free(out_path);
  g_free(rel);
  g_free(rel_inp);
  g_free(rel_out);
}

/* ---- reference prompts (tiny models + stories260K) ----------------------- */

static GArray *json_ids(const cJSON *arr)
{
  g_assert_true(cJSON_IsArray(arr));
  GArray *a = g_array_new(FALSE, TRUE, sizeof(gint32));
  const cJSON *it;
  cJSON_ArrayForEach(it, arr)
  {
    gint32 id = (gint32)it->valuedouble;
    g_array_append_val(a, id);
  }
  return a;
}

/* Streams ids through the detokenizer, flushing at the end. */
static char *stream_text(const still_vocab *v, const GArray *ids, bool render_special)
{
  still_detok *d = still_detok_new(v, render_special);
  g_assert_nonnull(d);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ids->len; i++) {
    size_t len;
    const char *t = still_detok_push(d, g_array_index(ids, gint32, i), &len);
    g_assert_nonnull(t);
    g_assert_true(g_utf8_validate(t, (gssize)len, NULL));
    g_string_append_len(s, t, (gssize)len);
  }
  size_t len;
  const char *t = still_detok_flush(d, &len);
  g_string_append_len(s, t, (gssize)len);
  still_detok_free(d);
  return g_string_free(s, FALSE);
}

static void check_reference(const char *json_path, guint *n_files, guint *n_pass)
{
  gsize len;
  char *text = test_read_file(json_path, &len);
  g_assert_nonnull(text);
  cJSON *root = cJSON_Parse(text);
  g_assert_nonnull(root);
  const char *model = cJSON_GetStringValue(cJSON_GetObjectItem(root, "model"));
  const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(root, "prompt_text"));
  g_assert_nonnull(model);
  g_assert_nonnull(prompt);
  char *rel = g_strdup_printf("models/%s", model);
  still_vocab *v = load_fixture_vocab(rel);
  g_free(rel);
  if (!v) goto out;

  GArray *want = json_ids(cJSON_GetObjectItem(root, "prompt_text_token_ids"));
  GArray *got = tokenize(v, prompt, strlen(prompt), true, false);
  char *ws = ids_to_string((const gint32 *)(void *)want->data, want->len);
  char *gs = ids_to_string((const gint32 *)(void *)got->data, got->len);
  (*n_files)++;
  if (strcmp(ws, gs) == 0)
    (*n_pass)++;
  else
    g_test_message("%s: prompt tokens differ\n  want %s\n  got  %s", model, ws, gs);
  g_assert_cmpstr(gs, ==, ws);
  g_free(ws);
  g_free(gs);

  /* generated text = the pieces of the greedy ids (specials not rendered) */
  GArray *greedy = json_ids(cJSON_GetObjectItem(root, "greedy_ids"));
  char *gtext = stream_text(v, greedy, false);
  g_assert_cmpstr(gtext, ==, cJSON_GetStringValue(cJSON_GetObjectItem(root, "greedy_text")));
  g_free(gtext);
  g_array_free(greedy, TRUE);

  const cJSON *from_bos = cJSON_GetObjectItem(root, "from_bos");
  if (from_bos) {
    GArray *g200 = json_ids(cJSON_GetObjectItem(from_bos, "greedy_200_ids"));
    char *t200 = stream_text(v, g200, false);
    g_assert_cmpstr(t200, ==, cJSON_GetStringValue(cJSON_GetObjectItem(from_bos, "greedy_200_text")));
    g_free(t200);
    g_array_free(g200, TRUE);
  }

  g_array_free(want, TRUE);
  g_array_free(got, TRUE);
  still_vocab_free(v);
out:
  cJSON_Delete(root);
  g_free(text);
}

static void test_reference_prompts(void)
{
  char *dir_path = test_fixture_path("reference");
  if (!dir_path) return;
  GDir *dir = g_dir_open(dir_path, 0, NULL);
  g_assert_nonnull(dir);
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)))
    if (g_str_has_suffix(name, ".json")) g_ptr_array_add(names, g_strdup(name));
  g_dir_close(dir);
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  g_assert_cmpuint(names->len, >, 0);
  guint n_files = 0, n_pass = 0;
  for (guint i = 0; i < names->len; i++) {
    char *p = g_build_filename(dir_path, (const char *)g_ptr_array_index(names, i), NULL);
    check_reference(p, &n_files, &n_pass);
    g_free(p);
  }
  g_test_message("reference prompts: %u/%u match llama.cpp", n_pass, n_files);
  g_ptr_array_free(names, TRUE);
  g_free(dir_path);
}

/* ---- pre-tokenizer splits ------------------------------------------------- */

static void collect_piece(void *user, const char *piece, size_t len)
{
  GString *s = user;
  g_string_append_c(s, '[');
  g_string_append_len(s, piece, (gssize)len);
  g_string_append_c(s, ']');
}

static void test_pretokenize(void)
{
  /* expected splits of the Hugging Face regexes (see pretokenize.c) */
  static const char TEXT[] = "Hello, y'all! I'M (normal) 12345 x.cpp   end\n =  \n";
  static const struct {
    still_pre_type type;
    const char *want;
  } cases[] = {
      {STILL_PRE_DEFAULT,
       "[Hello][,][ y]['][all][!][ I]['][M][ (][normal][)][ 12345][ x][.][cpp][  ][ end][\n][ =][  \n]"},
      {STILL_PRE_QWEN2,
       "[Hello][,][ y]['all][!][ I]['M][ (][normal][)][ ][1][2][3][4][5][ x][.cpp][  ][ end][\n][ =][  \n]"},
      {STILL_PRE_LLAMA3, "[Hello][,][ y]['all][!][ I]['M][ (][normal][)][ ][123][45][ x][.cpp][  ][ end][\n][ =][  \n]"},
  };
  for (size_t k = 0; k < 2 * G_N_ELEMENTS(cases); k++) {
    size_t i = k % G_N_ELEMENTS(cases);
    bool jit = k < G_N_ELEMENTS(cases); /* then again with the interpreter */
    still_pretok *p = NULL;
    still_error err = {0};
    g_assert_cmpint(still_pretok_new_ex(cases[i].type, jit, &p, &err), ==, STILL_OK);
    if (k == 0) g_test_message("pcre2 JIT: %s", still_pretok_uses_jit(p) ? "yes" : "no (interpreter)");
    if (!jit) g_assert_false(still_pretok_uses_jit(p));
    GString *s = g_string_new(NULL);
    g_assert_cmpint(still_pretok_split(p, TEXT, strlen(TEXT), collect_piece, s, &err), ==, STILL_OK);
    g_assert_cmpstr(s->str, ==, cases[i].want);
    /* contractions: case-insensitive for Qwen2/Llama 3, lower case only for GPT-2 */
    g_string_truncate(s, 0);
    g_assert_cmpint(still_pretok_split(p, "don'T we'LL", 11, collect_piece, s, &err), ==, STILL_OK);
    g_assert_cmpstr(s->str, ==, cases[i].type == STILL_PRE_DEFAULT ? "[don]['][T][ we]['][LL]" : "[don]['T][ we]['LL]");
    /* invalid UTF-8 bytes stay in the pieces, split like a symbol */
    g_string_truncate(s, 0);
    g_assert_cmpint(still_pretok_split(p, "ab\xFF\xFE cd", 7, collect_piece, s, &err), ==, STILL_OK);
    g_assert_cmpstr(s->str, ==, cases[i].type == STILL_PRE_DEFAULT ? "[ab][\xFF\xFE][ cd]" : "[ab][\xFF\xFE][ cd]");
    g_string_free(s, TRUE);
    still_pretok_free(p);
  }
  bool known;
  g_assert_cmpint(still_pretok_type_from_name("deepseek-r1-qwen", &known), ==, STILL_PRE_QWEN2);
  g_assert_true(known);
  g_assert_cmpint(still_pretok_type_from_name("llama-bpe", &known), ==, STILL_PRE_LLAMA3);
  g_assert_cmpint(still_pretok_type_from_name("made-up", &known), ==, STILL_PRE_DEFAULT);
  g_assert_false(known);
}

/* ---- special tokens and ids ---------------------------------------------- */

static bool contains(const GArray *a, gint32 id)
{
  for (guint i = 0; i < a->len; i++)
    if (g_array_index(a, gint32, i) == id) return true;
  return false;
}

typedef struct {
  const char *model;
  const char *pre_name;
  gint32 bos, eos;
  bool add_bos;
  const char *control;   /* a CONTROL token's text */
  gint32 control_id;
  gint32 think, end_think;
  gint32 think_ids_offset; /* unused */
} special_case;

static void test_special_tokens(gconstpointer data)
{
  const special_case *sc = data;
  char *rel = g_strdup_printf("models/%s", sc->model);
  still_vocab *v = load_fixture_vocab(rel);
  g_free(rel);
  if (!v) return;

  g_assert_cmpint(still_vocab_get_kind(v), ==, STILL_VOCAB_BPE);
  g_assert_cmpstr(still_vocab_pre_name(v), ==, sc->pre_name);
  g_assert_cmpint(still_vocab_n_tokens(v), ==, 8000);
  g_assert_cmpint(still_vocab_bos(v), ==, sc->bos);
  g_assert_cmpint(still_vocab_eos(v), ==, sc->eos);
  g_assert_cmpint(still_vocab_add_bos(v), ==, sc->add_bos);
  g_assert_true(still_vocab_is_eog(v, sc->eos));
  g_assert_false(still_vocab_is_eog(v, sc->think));
  g_assert_false(still_vocab_is_eog(v, 100));
  g_assert_false(still_vocab_is_eog(v, -1));
  g_assert_false(still_vocab_is_eog(v, 8000));
  g_assert_cmpint(still_vocab_token_type(v, sc->control_id), ==, STILL_TOKEN_CONTROL);
  g_assert_cmpint(still_vocab_token_type(v, sc->think), ==, STILL_TOKEN_USER_DEFINED);
  g_assert_cmpint(still_vocab_find(v, "<think>", 7), ==, sc->think);
  g_assert_cmpint(still_vocab_find(v, sc->control, strlen(sc->control)), ==, sc->control_id);
  g_assert_cmpstr(still_vocab_token_text(v, sc->think), ==, "<think>");

  char *text = g_strdup_printf("%sHello<think>\nhmm</think>\n\nOK", sc->control);

  /* parse_special off: the control token is plain text, <think> still a token */
  GArray *off = tokenize(v, text, strlen(text), false, false);
  g_assert_false(contains(off, sc->control_id));
  g_assert_true(contains(off, sc->think));
  g_assert_true(contains(off, sc->end_think));
  g_assert_cmpint(g_array_index(off, gint32, 0), !=, sc->control_id);
  GString *back = pieces(v, (const gint32 *)(void *)off->data, off->len, false);
  g_assert_cmpstr(back->str, ==, text);
  g_string_free(back, TRUE);

  /* parse_special on: the control token is one id at the start */
  GArray *on = tokenize(v, text, strlen(text), false, true);
  g_assert_cmpint(g_array_index(on, gint32, 0), ==, sc->control_id);
  g_assert_true(contains(on, sc->think));
  g_assert_true(contains(on, sc->end_think));
  g_assert_cmpuint(on->len, <, off->len);
  /* what follows the special token is tokenized as text of its own */
  const char *rest = text + strlen(sc->control);
  GArray *rest_ids = tokenize(v, rest, strlen(rest), false, true);
  g_assert_cmpuint(rest_ids->len + 1, ==, on->len);
  g_assert_cmpmem(rest_ids->data, rest_ids->len * sizeof(gint32), (gint32 *)(void *)on->data + 1,
                  rest_ids->len * sizeof(gint32));

  /* control tokens render only when asked */
  GString *hidden = pieces(v, (const gint32 *)(void *)on->data, on->len, false);
  GString *shown = pieces(v, (const gint32 *)(void *)on->data, on->len, true);
  g_assert_cmpstr(hidden->str, ==, rest);
  g_assert_cmpstr(shown->str, ==, text);
  char *d1 = still_vocab_detokenize(v, (const int32_t *)(void *)on->data, on->len, true);
  g_assert_cmpstr(d1, ==, text);
  g_free(d1);
  g_string_free(hidden, TRUE);
  g_string_free(shown, TRUE);

  /* add_bos follows the model */
  GArray *with_bos = tokenize(v, "Hi", 2, true, false);
  GArray *no_bos = tokenize(v, "Hi", 2, false, false);
  g_assert_cmpuint(with_bos->len, ==, no_bos->len + (sc->add_bos ? 1 : 0));
  if (sc->add_bos) g_assert_cmpint(g_array_index(with_bos, gint32, 0), ==, sc->bos);

  /* empty text: nothing, or BOS alone */
  GArray *empty = tokenize(v, "", 0, true, true);
  g_assert_cmpuint(empty->len, ==, sc->add_bos ? 1 : 0);

  g_array_free(empty, TRUE);
  g_array_free(with_bos, TRUE);
  g_array_free(no_bos, TRUE);
  g_array_free(rest_ids, TRUE);
  g_array_free(on, TRUE);
  g_array_free(off, TRUE);
  g_free(text);
  still_vocab_free(v);
}

static void test_vocab_ids(void)
{
  still_vocab *v = load_fixture_vocab("vocab/ggml-vocab-llama-bpe.gguf");
  if (!v) return;
  g_assert_cmpstr(still_vocab_pre_name(v), ==, "llama-bpe");
  g_assert_cmpint(still_vocab_bos(v), ==, 128000);
  g_assert_cmpint(still_vocab_eos(v), ==, 128001);
  int32_t eot = still_vocab_find(v, "<|eot_id|>", 10);
  g_assert_cmpint(eot, >, 0);
  g_assert_true(still_vocab_is_eog(v, eot));
  g_assert_true(still_vocab_is_eog(v, 128001));
  g_assert_false(still_vocab_is_eog(v, 128000));
  g_assert_cmpint(still_vocab_eot(v), ==, eot);
  g_assert_true(still_vocab_add_bos(v));
  still_vocab_free(v);

  v = load_fixture_vocab("vocab/ggml-vocab-qwen2.gguf");
  if (!v) return;
  g_assert_cmpstr(still_vocab_pre_name(v), ==, "qwen2");
  int32_t im_end = still_vocab_find(v, "<|im_end|>", 10);
  int32_t im_start = still_vocab_find(v, "<|im_start|>", 12);
  g_assert_cmpint(im_end, >, 0);
  g_assert_true(still_vocab_is_eog(v, im_end));
  g_assert_false(still_vocab_is_eog(v, im_start));
  g_assert_true(still_vocab_is_eog(v, still_vocab_find(v, "<|endoftext|>", 13)));
  g_assert_cmpint(still_vocab_token_type(v, 151935), ==, STILL_TOKEN_UNUSED);
  /* an unused token renders as nothing */
  char buf[16];
  g_assert_cmpint(still_vocab_piece(v, 151935, true, buf, sizeof buf), ==, 0);
  still_vocab_free(v);

  v = load_fixture_vocab("vocab/ggml-vocab-llama-spm.gguf");
  if (!v) return;
  g_assert_cmpint(still_vocab_get_kind(v), ==, STILL_VOCAB_SPM);
  g_assert_cmpint(still_vocab_bos(v), ==, 1);
  g_assert_cmpint(still_vocab_eos(v), ==, 2);
  g_assert_true(still_vocab_add_bos(v));
  g_assert_true(still_vocab_add_space_prefix(v));
  g_assert_true(still_vocab_is_eog(v, 2));
  g_assert_cmpint(still_vocab_token_type(v, 3), ==, STILL_TOKEN_BYTE);
  /* SPM: "Hello world" starts with the ▁ prefix and detokenizes without it */
  GArray *a = tokenize(v, "Hello world", 11, true, false);
  g_assert_cmpint(g_array_index(a, gint32, 0), ==, 1);
  GString *p = pieces(v, (const gint32 *)(void *)a->data, a->len, false);
  g_assert_cmpstr(p->str, ==, " Hello world");
  char *d = still_vocab_detokenize(v, (const int32_t *)(void *)a->data + 1, a->len - 1, false);
  g_assert_cmpstr(d, ==, "Hello world");
  g_free(d);
  g_string_free(p, TRUE);
  g_array_free(a, TRUE);
  still_vocab_free(v);
}

/* ---- detokenizer ---------------------------------------------------------- */

/* Pushes ids one by one; returns what each push gave, joined by '|'. */
static char *stream_steps(const still_vocab *v, const gint32 *ids, size_t n, bool flush)
{
  still_detok *d = still_detok_new(v, false);
  GString *s = g_string_new(NULL);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const char *t = still_detok_push(d, ids[i], &len);
    g_assert_cmpuint(strlen(t), ==, len);
    g_assert_true(g_utf8_validate(t, (gssize)len, NULL));
    g_string_append_printf(s, "%s%s", i ? "|" : "", t);
  }
  if (flush) {
    size_t len;
    const char *t = still_detok_flush(d, &len);
    g_string_append_printf(s, "|%s", t);
  }
  still_detok_free(d);
  return g_string_free(s, FALSE);
}

static void test_stream_utf8(void)
{
  /* SPM byte tokens: <0xXX> is id 3 + XX in the Llama-2 vocab */
  still_vocab *v = load_fixture_vocab("vocab/ggml-vocab-llama-spm.gguf");
  if (!v) return;
  g_assert_cmpint(still_vocab_find(v, "<0xF0>", 6), ==, 3 + 0xF0);
  gint32 emoji[] = {3 + 0xF0, 3 + 0x9F, 3 + 0x98, 3 + 0x80}; /* 😀 */
  char *s = stream_steps(v, emoji, 4, true);
  g_assert_cmpstr(s, ==, "|||\xF0\x9F\x98\x80|");
  g_free(s);
  /* cut off: the tail comes out as one U+FFFD on flush */
  s = stream_steps(v, emoji, 2, true);
  g_assert_cmpstr(s, ==, "||\xEF\xBF\xBD");
  g_free(s);
  /* a byte that can never start a character is replaced at once; a new
   * character start after an incomplete one ends the incomplete one */
  gint32 bad[] = {3 + 0xFF, 3 + 0xE2, 3 + 0x41};
  s = stream_steps(v, bad, 3, true);
  g_assert_cmpstr(s, ==, "\xEF\xBF\xBD||\xEF\xBF\xBD" "A|");
  g_free(s);
  /* whole-sequence detokenize does the same replacement */
  char *d = still_vocab_detokenize(v, emoji, 3, false);
  g_assert_cmpstr(d, ==, "\xEF\xBF\xBD");
  g_free(d);
  still_vocab_free(v);

  /* byte-level BPE: "é" (C3 A9) split over its two byte tokens */
  v = load_fixture_vocab("vocab/ggml-vocab-qwen2.gguf");
  if (!v) return;
  gint32 e[2] = {still_vocab_find(v, "\xC3\x83", 2) /* Ã = byte C3 */, still_vocab_find(v, "\xC2\xA9", 2) /* © = A9 */};
  g_assert_cmpint(e[0], >=, 0);
  g_assert_cmpint(e[1], >=, 0);
  s = stream_steps(v, e, 2, true);
  g_assert_cmpstr(s, ==, "|\xC3\xA9|");
  g_free(s);
  /* a 4-byte character from tokenization, fed back token by token */
  const char *text = "a\xF0\x9F\xA4\x94z \xE6\xBC\xA2\xE5\xAD\x97";
  GArray *ids = tokenize(v, text, strlen(text), false, false);
  char *st = stream_text(v, ids, false);
  g_assert_cmpstr(st, ==, text);
  g_free(st);
  g_array_free(ids, TRUE);
  still_vocab_free(v);
}

static void test_invalid_utf8(void)
{
  static const char *const files[] = {"vocab/ggml-vocab-qwen2.gguf", "vocab/ggml-vocab-llama-bpe.gguf",
                                      "vocab/ggml-vocab-llama-spm.gguf"};
  static const struct {
    const char *s;
    size_t n;
  } texts[] = {
      {"abc\xFF\xFE" "def", 8},
      {"\x80", 1},
      {"tail \xE2\x82", 7},
      {"\xC0\xAF overlong", 11},
      {"\xED\xA0\x80 surrogate", 13},
      {"nul\0byte", 8},
      {"\xF4\x90\x80\x80 too high, 's 'S 'LL", 24},
      {"x\xE6\xBC" "<think>\xA2", 11},
  };
  for (size_t f = 0; f < G_N_ELEMENTS(files); f++) {
    still_vocab *v = load_fixture_vocab(files[f]);
    if (!v) return;
    bool spm = still_vocab_get_kind(v) == STILL_VOCAB_SPM;
    for (size_t t = 0; t < G_N_ELEMENTS(texts); t++) {
      GArray *ids = tokenize(v, texts[t].s, texts[t].n, false, false);
      g_assert_cmpuint(ids->len, >, 0);
      for (guint i = 0; i < ids->len; i++) {
        g_assert_cmpint(g_array_index(ids, gint32, i), >=, 0);
        g_assert_cmpint(g_array_index(ids, gint32, i), <, still_vocab_n_tokens(v));
      }
      /* the raw bytes come back exactly (SPM: after the ▁ prefix) */
      GString *p = pieces(v, (const gint32 *)(void *)ids->data, ids->len, false);
      const char *cmp = p->str;
      gsize cmp_len = p->len;
      if (spm) {
        g_assert_true(cmp_len > 0 && cmp[0] == ' ');
        cmp++;
        cmp_len--;
      }
      g_assert_cmpmem(cmp, cmp_len, texts[t].s, texts[t].n);
      /* detokenize gives valid UTF-8 */
      char *d = still_vocab_detokenize(v, (const int32_t *)(void *)ids->data, ids->len, false);
      g_assert_true(g_utf8_validate(d, -1, NULL));
      g_free(d);
      g_string_free(p, TRUE);
      g_array_free(ids, TRUE);
    }
    still_vocab_free(v);
  }
}

static void test_capacity_and_args(void)
{
  still_vocab *v = load_fixture_vocab("vocab/ggml-vocab-qwen2.gguf");
  if (!v) return;
  const char *text = "Hello world, this is a test of the capacity rule.";
  GArray *all = tokenize(v, text, strlen(text), false, false);
  g_assert_cmpuint(all->len, >, 4);
  int32_t small[4] = {-7, -7, -7, -7};
  still_error err = {0};
  int64_t n = still_vocab_tokenize(v, text, strlen(text), false, false, small, 3, &err);
  g_assert_cmpint(n, ==, all->len);
  g_assert_cmpmem(small, 3 * sizeof(int32_t), all->data, 3 * sizeof(int32_t));
  g_assert_cmpint(small[3], ==, -7); /* nothing past cap */
  g_assert_cmpint(still_vocab_tokenize(v, NULL, 5, false, false, NULL, 0, &err), ==, -1);
  g_assert_cmpint(err.status, ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vocab_tokenize(v, text, 3, false, false, NULL, 4, &err), ==, -1);
  /* piece: too small a buffer says how much is needed */
  int32_t hello = still_vocab_find(v, "Hello", 5);
  char buf[8];
  g_assert_cmpint(still_vocab_piece(v, hello, false, buf, 2), ==, 5);
  g_assert_cmpint(still_vocab_piece(v, hello, false, buf, sizeof buf), ==, 5);
  g_assert_cmpmem(buf, 5, "Hello", 5);
  g_assert_cmpint(still_vocab_piece(v, -1, true, buf, sizeof buf), ==, 0);
  g_assert_cmpint(still_vocab_piece(v, 1 << 30, true, buf, sizeof buf), ==, 0);
  g_assert_null(still_vocab_token_text(v, -3));
  g_assert_cmpint(still_vocab_find(v, "no such token at all", 20), ==, -1);
  /* the streaming detokenizer ignores ids out of range */
  gint32 odd[] = {-5, hello, 999999};
  char *s = stream_steps(v, odd, 3, true);
  g_assert_cmpstr(s, ==, "|Hello||");
  g_free(s);
  /* a long run of whitespace (the regex engine's stack) */
  gsize big = 200000;
  char *spaces = g_malloc(big + 2);
  memset(spaces, ' ', big);
  spaces[big] = 'x';
  spaces[big + 1] = '\0';
  GArray *ws = tokenize(v, spaces, big + 1, false, false);
  GString *back = pieces(v, (const gint32 *)(void *)ws->data, ws->len, false);
  g_assert_cmpmem(back->str, back->len, spaces, big + 1);
  g_string_free(back, TRUE);
  g_array_free(ws, TRUE);
  g_free(spaces);
  g_array_free(all, TRUE);
  still_vocab_free(v);
}

/* Random byte strings (mixed with pieces of special tokens, spaces, digits
 * and UTF-8 fragments): ids in range, and the pieces give the bytes back. */
static void test_random_roundtrip(void)
{
  static const char *const files[] = {"vocab/ggml-vocab-qwen2.gguf", "vocab/ggml-vocab-llama-bpe.gguf",
                                      "vocab/ggml-vocab-llama-spm.gguf", "models/tiny-qwen2-Q8_0.gguf"};
  static const char *const bits[] = {"<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|", "|>", " ", "  ",
                                     "\n", "\r\n", "\t", "'s", "'LL", "123456", "\xE2\x96\x81", "\xC3\xA9",
                                     "\xF0\x9F\x98", "\x80", "\xFF", "word", " Word", "\xE6\xBC\xA2\xE5\xAD\x97",
                                     "<\xEF\xBD\x9CUser\xEF\xBD\x9C>", "<s>", "</s>", "<0x41>", "..."};
  GRand *rng = g_rand_new_with_seed(1234);
  for (size_t f = 0; f < G_N_ELEMENTS(files); f++) {
    still_vocab *v = load_fixture_vocab(files[f]);
    if (!v) break;
    bool spm = still_vocab_get_kind(v) == STILL_VOCAB_SPM;
    for (int iter = 0; iter < 300; iter++) {
      GString *text = g_string_new(NULL);
      int parts = g_rand_int_range(rng, 0, 24);
      for (int k = 0; k < parts; k++) {
        if (g_rand_boolean(rng)) {
          g_string_append(text, bits[g_rand_int_range(rng, 0, G_N_ELEMENTS(bits))]);
        } else {
          int n = g_rand_int_range(rng, 1, 6);
          for (int j = 0; j < n; j++) g_string_append_c(text, (char)g_rand_int_range(rng, 1, 256));
        }
      }
      for (int parse = 0; parse < 2; parse++) {
        if (spm && parse) continue; /* each fragment after a special token gets its own ▁ */
        GArray *ids = tokenize(v, text->str, text->len, false, parse);
        for (guint i = 0; i < ids->len; i++) {
          g_assert_cmpint(g_array_index(ids, gint32, i), >=, 0);
          g_assert_cmpint(g_array_index(ids, gint32, i), <, still_vocab_n_tokens(v));
        }
        GString *back = pieces(v, (const gint32 *)(void *)ids->data, ids->len, true);
        GString *want = g_string_new_len(text->str, (gssize)text->len);
        if (spm) {
          /* SentencePiece cannot tell a written ▁ from a space; and it adds one in front */
          g_string_replace(want, "\xE2\x96\x81", " ", 0);
          if (text->len > 0) g_string_prepend_c(want, ' ');
        }
        if (!g_string_equal(back, want)) {
          char *e1 = g_strescape(want->str, NULL), *e2 = g_strescape(back->str, NULL);
          char *is = ids_to_string((const gint32 *)(void *)ids->data, ids->len);
          g_test_message("%s parse=%d: \"%s\" came back as \"%s\" (%s)", files[f], parse, e1, e2, is);
          g_free(e1);
          g_free(e2);
          g_free(is);
        }
        g_assert_cmpmem(back->str, back->len, want->str, want->len);
        g_string_free(want, TRUE);
        char *d = still_vocab_detokenize(v, (const int32_t *)(void *)ids->data, ids->len, true);
        g_assert_true(g_utf8_validate(d, -1, NULL));
        g_free(d);
        g_string_free(back, TRUE);
        g_array_free(ids, TRUE);
      }
      g_string_free(text, TRUE);
    }
    still_vocab_free(v);
  }
  g_rand_free(rng);
}

/* SPM tokenizes word by word when the vocabulary allows it (see spm.c):
 * the result must be the same as merging the whole text at once. */
static void test_spm_words(void)
{
  still_vocab *v = load_fixture_vocab("vocab/ggml-vocab-llama-spm.gguf");
  if (!v) return;
  g_assert_true(v->spm_words_independent);
  char *inp_path = test_fixture_path("vocab/ggml-vocab-llama-spm.gguf.inp");
  gsize len = 0;
  char *inp = test_read_file(inp_path, &len);
  GString *text = g_string_new(NULL);
  for (int i = 0; i < 40; i++) g_string_append_len(text, inp, (gssize)len); /* > cache threshold */
  g_string_append(text, " a  b   c\xE2\x96\x81\xE2\x96\x81x \xFF\xE2\x96 \xE2\x96\x81");
  for (int prefix = 0; prefix < 2; prefix++) {
    for (gsize cut = 0; cut < 3; cut++) {
      const char *t = text->str + cut * 7;
      gsize tl = cut == 2 ? 300 : text->len - cut * 7; /* one call below the cache threshold */
      v->add_space_prefix = prefix;
      v->spm_words_independent = true;
      GArray *words = tokenize(v, t, tl, false, false);
      v->spm_words_independent = false;
      GArray *whole = tokenize(v, t, tl, false, false);
      g_assert_cmpuint(words->len, ==, whole->len);
      g_assert_cmpmem(words->data, words->len * sizeof(gint32), whole->data, whole->len * sizeof(gint32));
      g_array_free(words, TRUE);
      g_array_free(whole, TRUE);
    }
  }
  v->spm_words_independent = true;
  g_string_free(text, TRUE);
  g_free(inp);
  g_free(inp_path);
  still_vocab_free(v);
}

/* ---- bad vocabularies ----------------------------------------------------- */

typedef enum {
  BAD_NONE,
  BAD_NO_MODEL,
  BAD_UNKNOWN_MODEL,
  BAD_SCORES_LEN,
  BAD_TYPES_LEN,
  BAD_MERGE_UNKNOWN,
  BAD_MERGE_NO_SPACE,
  BAD_NO_MERGES,
  BAD_TOKENS_NOT_STRINGS,
} bad_kind;

/* A small byte-level BPE vocab: the 256 byte characters + a few merges. */
static still_status write_and_load(bad_kind bad, const char *pre, uint32_t bos, still_vocab **out, still_error *err)
{
  gguf_writer *w = gguf_writer_new();
  GPtrArray *toks = g_ptr_array_new_with_free_func(g_free);
  for (int b = 0; b < 256; b++) {
    gunichar cp = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174 ? (gunichar)b : 0;
    if (!cp) {
      int n = 0;
      for (int i = 0; i < b; i++)
        if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || i >= 174)) n++;
      cp = 256 + n;
    }
    char u[8] = {0};
    g_unichar_to_utf8(cp, u);
    g_ptr_array_add(toks, g_strdup(u));
  }
  g_ptr_array_add(toks, g_strdup("he"));
  g_ptr_array_add(toks, g_strdup("ll"));
  g_ptr_array_add(toks, g_strdup("hell"));
  g_ptr_array_add(toks, g_strdup("hello"));
  g_ptr_array_add(toks, g_strdup("el"));
  g_ptr_array_add(toks, g_strdup("lo"));
  g_ptr_array_add(toks, g_strdup("<|end|>"));
  guint n = toks->len;
  int32_t *types = g_new(int32_t, n);
  float *scores = g_new0(float, n + 1); /* one spare for BAD_SCORES_LEN */
  for (guint i = 0; i < n; i++) types[i] = i == n - 1 ? 3 : 1;
  const char *merges[] = {"h e", "l l", "he ll", "hell o", bad == BAD_MERGE_UNKNOWN ? "x yz" : "e l",
                          bad == BAD_MERGE_NO_SPACE ? "hello" : "l o"};

  if (bad != BAD_NO_MODEL) gguf_writer_add_str(w, "tokenizer.ggml.model", bad == BAD_UNKNOWN_MODEL ? "bert" : "gpt2");
  if (pre) gguf_writer_add_str(w, "tokenizer.ggml.pre", pre);
  if (bad == BAD_TOKENS_NOT_STRINGS)
    gguf_writer_add_arr(w, "tokenizer.ggml.tokens", GGUF_TYPE_INT32, types, n);
  else
    gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", (const char *const *)toks->pdata, n);
  gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, bad == BAD_TYPES_LEN ? n - 1 : n);
  gguf_writer_add_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, bad == BAD_SCORES_LEN ? n + 1 : n);
  if (bad != BAD_NO_MERGES) gguf_writer_add_str_arr(w, "tokenizer.ggml.merges", merges, G_N_ELEMENTS(merges));
  gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", bos);
  gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", n - 1);

  char *dir = g_dir_make_tmp("still-tok-XXXXXX", NULL);
  char *path = g_build_filename(dir, "v.gguf", NULL);
  still_status st = gguf_writer_write_file(w, path, err);
  g_assert_cmpint(st, ==, STILL_OK);
  gguf_writer_free(w);
  gguf_file *f = NULL;
  st = gguf_open(path, &f, err);
  g_assert_cmpint(st, ==, STILL_OK);
  st = still_vocab_load(f, out, err);
  gguf_close(f);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
  g_free(types);
  g_free(scores);
  g_ptr_array_free(toks, TRUE);
  return st;
}

static void test_bad_vocab(void)
{
  still_vocab *v = NULL;
  still_error err = {0};
  g_assert_cmpint(write_and_load(BAD_NONE, "something-new", 0xFFFFFFFFu, &v, &err), ==, STILL_OK);
  g_assert_nonnull(v);
  g_assert_cmpint(still_vocab_bos(v), ==, -1); /* 0xFFFFFFFF = none */
  g_assert_false(still_vocab_add_bos(v));
  g_assert_nonnull(strstr(still_vocab_pre_name(v), "unknown"));
  g_assert_nonnull(strstr(still_vocab_pre_name(v), "something-new"));
  g_assert_true(still_vocab_is_eog(v, still_vocab_eos(v)));
  g_assert_cmpint(still_vocab_n_merges(v), ==, 6);
  /* merges in rank order: "hello" becomes one token, "help" does not */
  GArray *a = tokenize(v, "hello help", 10, true, true);
  g_assert_cmpuint(a->len, ==, 5); /* hello, Ġ, he, l, p */
  g_assert_cmpint(g_array_index(a, gint32, 0), ==, 259);
  g_assert_cmpint(g_array_index(a, gint32, 2), ==, 256);
  g_array_free(a, TRUE);
  still_vocab_free(v);

  v = NULL;
  g_assert_cmpint(write_and_load(BAD_NONE, NULL, 5, &v, &err), ==, STILL_OK);
  g_assert_cmpstr(still_vocab_pre_name(v), ==, "default");
  g_assert_cmpint(still_vocab_bos(v), ==, 5);
  still_vocab_free(v);

  static const struct {
    bad_kind kind;
    still_status status;
    const char *words;
  } cases[] = {
      {BAD_NO_MODEL, STILL_ERR_FORMAT, "tokenizer.ggml.model"},
      {BAD_UNKNOWN_MODEL, STILL_ERR_UNSUPPORTED, "bert"},
      {BAD_SCORES_LEN, STILL_ERR_FORMAT, "scores"},
      {BAD_TYPES_LEN, STILL_ERR_FORMAT, "token types"},
      {BAD_MERGE_UNKNOWN, STILL_ERR_FORMAT, "not in the vocabulary"},
      {BAD_MERGE_NO_SPACE, STILL_ERR_FORMAT, "separated by a space"},
      {BAD_NO_MERGES, STILL_ERR_FORMAT, "merges"},
      {BAD_TOKENS_NOT_STRINGS, STILL_ERR_FORMAT, "not a list of strings"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    v = NULL;
    memset(&err, 0, sizeof err);
    still_status st = write_and_load(cases[i].kind, "qwen2", 0, &v, &err);
    g_test_message("bad vocab %zu: %s", i, err.message);
    g_assert_cmpint(st, ==, cases[i].status);
    g_assert_null(v);
    g_assert_nonnull(strstr(err.message, cases[i].words));
  }
}

/* ---- throughput ------------------------------------------------------------ */

static void test_throughput(void)
{
  still_vocab *v = load_fixture_vocab("vocab/ggml-vocab-qwen2.gguf");
  if (!v) return;
  static const char PROSE[] =
      "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of "
      "foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, "
      "it was the season of Darkness, it was the spring of hope, it was the winter of despair. We had everything "
      "before us, we had nothing before us; we were all going direct to Heaven, we were all going direct the "
      "other way. In 1775, there were 2 kings with large jaws and 2 queens with plain faces on the thrones.\n\n";
  size_t target = 5u << 20;
  GString *big = g_string_sized_new(target + sizeof PROSE);
  while (big->len < target) g_string_append(big, PROSE);

  still_error err = {0};
  gint64 t0 = g_get_monotonic_time();
  int64_t n = still_vocab_tokenize(v, big->str, big->len, false, false, NULL, 0, &err);
  gint64 t1 = g_get_monotonic_time();
  g_assert_cmpint(n, >, 0);
  double mbs = (double)big->len / 1e6 / ((double)(t1 - t0) / 1e6);
  g_test_message("BPE (qwen2) throughput: %.1f MB/s on %.1f MB of repeated English prose (%lld tokens)", mbs,
                 big->len / 1e6, (long long)n);

  /* the same text in short calls (no word cache): the merge loop itself */
  t0 = g_get_monotonic_time();
  int64_t n2 = 0;
  size_t chunk = sizeof PROSE - 1, done_bytes = 0;
  for (size_t off = 0; off + chunk <= big->len && done_bytes < (1u << 20); off += chunk, done_bytes += chunk) {
    /* split the paragraph in sentences shorter than the cache threshold */
    const char *p = big->str + off, *end = p + chunk;
    while (p < end) {
      const char *q = memchr(p, ',', (size_t)(end - p));
      q = q ? q + 1 : end;
      n2 += still_vocab_tokenize(v, p, (size_t)(q - p), false, false, NULL, 0, &err);
      p = q;
    }
  }
  t1 = g_get_monotonic_time();
  g_test_message("BPE (qwen2) throughput without the word cache: %.1f MB/s (%.1f MB in short calls)",
                 (double)done_bytes / ((double)(t1 - t0)), done_bytes / 1e6);

  still_vocab *spm = load_fixture_vocab("vocab/ggml-vocab-llama-spm.gguf");
  if (spm) {
    size_t len = 1u << 20;
    t0 = g_get_monotonic_time();
    n = still_vocab_tokenize(spm, big->str, len, false, false, NULL, 0, &err);
    t1 = g_get_monotonic_time();
    g_assert_cmpint(n, >, 0);
    g_test_message("SPM (llama) throughput: %.1f MB/s on %.1f MB", (double)len / ((double)(t1 - t0)), len / 1e6);
    still_vocab_free(spm);
  }
  g_string_free(big, TRUE);
  still_vocab_free(v);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  static const vocab_case vocab_cases[] = {
      {"ggml-vocab-llama-spm.gguf", false},
      {"ggml-vocab-qwen2.gguf", true},
      {"ggml-vocab-llama-bpe.gguf", true},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(vocab_cases); i++) {
    char *name = g_strdup_printf("/tokenizer/vocab/%s", vocab_cases[i].file);
    g_test_add_data_func(name, &vocab_cases[i], test_vocab_file);
    g_free(name);
  }
  g_test_add_func("/tokenizer/pretokenize", test_pretokenize);
  g_test_add_func("/tokenizer/reference-prompts", test_reference_prompts);

  static const special_case specials[] = {
      {"tiny-qwen2-Q8_0.gguf", "deepseek-r1-qwen", 7903, 7900, true, "<\xEF\xBD\x9CUser\xEF\xBD\x9C>", 7901, 7905, 7906, 0},
      {"tiny-llama-Q8_0.gguf", "llama-bpe", 7900, 7901, true, "<\xEF\xBD\x9CUser\xEF\xBD\x9C>", 7911, 7913, 7914, 0},
      {"tiny-qwen3-Q8_0.gguf", "qwen2", 7900, 7902, false, "<|im_start|>", 7901, 7924, 7925, 0},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(specials); i++) {
    char *name = g_strdup_printf("/tokenizer/special/%s", specials[i].model);
    g_test_add_data_func(name, &specials[i], test_special_tokens);
    g_free(name);
  }
  g_test_add_func("/tokenizer/vocab-ids", test_vocab_ids);
  g_test_add_func("/tokenizer/stream-utf8", test_stream_utf8);
  g_test_add_func("/tokenizer/invalid-utf8", test_invalid_utf8);
  g_test_add_func("/tokenizer/capacity-and-args", test_capacity_and_args);
  g_test_add_func("/tokenizer/random-roundtrip", test_random_roundtrip);
  g_test_add_func("/tokenizer/spm-words", test_spm_words);
  g_test_add_func("/tokenizer/bad-vocab", test_bad_vocab);
  g_test_add_func("/tokenizer/throughput", test_throughput);
  return g_test_run();
}
