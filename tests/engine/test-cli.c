/* test-cli.c — the `still` command line tool, run as a person would: the
 * built binary ($STILL_CLI) is spawned on the fixtures and its output compared
 * with the fixture facts (models/manifest.json, reference JSONs, vocab test
 * pairs, rendered chat templates). Also unit tests of the SIZE parser. */
#include "cli-common.h"
#include "cli-harness.h"
#include "gguf.h"
#include "test-common.h"
#include "types.h"

#include <cJSON.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *tmp_dir; /* cli_harness_tmp_dir() */

/* ---- running the CLI ------------------------------------------------------ */

/* Success: exit 0, and nothing on stderr unless allowed. */
static void assert_ok(const cli_result *r, gboolean stderr_allowed)
{
  if (r->exit_code != 0) g_test_message("stderr: %s", r->err);
  g_assert_cmpint(r->exit_code, ==, 0);
  if (!stderr_allowed) g_assert_cmpstr(r->err, ==, "");
}

/* Failure as promised: exit status 1 (not a crash), nothing on stdout, and
 * exactly one line on stderr. Returns that line. */
static const char *assert_fails(const cli_result *r)
{
  if (r->exit_code != 1) g_test_message("exit %d, stderr: %s", r->exit_code, r->err);
  g_assert_cmpint(r->exit_code, ==, 1);
  g_assert_cmpstr(r->out, ==, "");
  gsize n = strlen(r->err);
  g_assert_cmpuint(n, >, 1);
  g_assert_cmpint(r->err[n - 1], ==, '\n');
  g_assert_null(memchr(r->err, '\n', n - 1));
  g_assert_true(g_str_has_prefix(r->err, "still: "));
  return r->err;
}

/* ---- fixture helpers ------------------------------------------------------ */

static cJSON *info_json(const char *path, cli_result *r)
{
  if (!run_cli(r, "info", path, "--json")) return NULL;
  g_assert_cmpint(r->exit_code, ==, 0);
  cJSON *j = cJSON_Parse(r->out);
  g_assert_nonnull(j);
  return j;
}

static void assert_special(const cJSON *info, const char *which, int id, const char *text)
{
  const cJSON *sp = cJSON_GetObjectItemCaseSensitive(info, "special_tokens");
  g_assert_true(cJSON_IsObject(sp));
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(sp, which);
  if (id < 0) {
    g_assert_true(cJSON_IsNull(t));
    return;
  }
  g_assert_true(cJSON_IsObject(t));
  g_assert_cmpint((int)json_num(t, "id"), ==, id);
  if (text) g_assert_cmpstr(json_str(t, "text"), ==, text);
}

static char *write_tmp(const char *name, const char *data, gssize len)
{
  char *path = g_build_filename(tmp_dir, name, NULL);
  GError *error = NULL;
  g_assert_true(g_file_set_contents(path, data, len, &error));
  g_assert_no_error(error);
  return path;
}

/* ---- help / version ------------------------------------------------------- */

static void test_help(void)
{
  cli_result r;
  if (!run_cli(&r, "--help")) return;
  assert_ok(&r, FALSE);
  static const char *const cmds[] = {"info", "tokenize", "detokenize", "template"};
  for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
    char *needle = g_strdup_printf("\n  %s ", cmds[i]);
    g_assert_nonnull(strstr(r.out, needle));
    g_free(needle);
  }
  cli_result_clear(&r);

  run_cli(&r, "--version");
  assert_ok(&r, FALSE);
  g_assert_cmpstr(r.out, ==, "still " STILL_VERSION "\n");
  cli_result_clear(&r);

  for (guint i = 0; i < G_N_ELEMENTS(cmds); i++) {
    run_cli(&r, cmds[i], "--help");
    assert_ok(&r, FALSE);
    char *prefix = g_strdup_printf("Usage: still %s ", cmds[i]);
    g_assert_true(g_str_has_prefix(r.out, prefix));
    g_free(prefix);
    cli_result_clear(&r);
  }
}

/* ---- SIZE parsing (unit test of cli-common.c) ----------------------------- */

static void test_size(void)
{
  static const struct {
    const char *text;
    guint64 want;
  } good[] = {
    {"0", 0},
    {"4096", 4096},
    {"512B", 512},
    {"1K", 1024},
    {"1k", 1024},
    {"512M", 512ull << 20},
    {"24G", 24ull << 30},
    {"24g", 24ull << 30},
    {"2T", 2ull << 40},
    {"1GiB", 1ull << 30},
    {"8MiB", 8ull << 20},
    {"1KB", 1000},
    {"10kb", 10000},
    {"512MB", 512000000ull},
    {"1.2GB", 1200000000ull},
    {"1TB", 1000000000000ull},
    {"0.5K", 512},
    {"1.5G", 1610612736ull},
    {"1.25M", 1310720ull},
    {"2.0", 2},
    {"0.1G", 107374182ull},  /* 107374182.4 rounds down */
    {"0.7G", 751619277ull},  /* 751619276.8 rounds up */
    {"18446744073709551615", G_MAXUINT64},
    {"16777215T", 16777215ull << 40},
  };
  for (guint i = 0; i < G_N_ELEMENTS(good); i++) {
    guint64 v = 12345;
    char why[128] = "";
    gboolean ok = cli_parse_size(good[i].text, (uint64_t *)&v, why, sizeof why);
    if (!ok) g_test_message("'%s': %s", good[i].text, why);
    g_assert_true(ok);
    g_assert_cmpuint(v, ==, good[i].want);
  }
  static const char *const bad[] = {
    "", "G", "-1", "+1", "1.5", "1.", ".5G", "abc", "12X", "1 G", " 1G", "1G ", "1GG", "1e9",
    "18446744073709551616", "99999999999999999999", "16777216T", "20000000TB", "0x10", "1,5G",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    guint64 v = 777;
    char why[128] = "";
    gboolean ok = cli_parse_size(bad[i], (uint64_t *)&v, why, sizeof why);
    if (ok) g_test_message("'%s' was accepted as %" G_GUINT64_FORMAT, bad[i], v);
    g_assert_false(ok);
    g_assert_cmpuint(v, ==, 777); /* untouched */
    g_assert_cmpuint(strlen(why), >, 0);
    g_assert_null(strchr(why, '\n'));
  }
  g_assert_false(cli_parse_size(NULL, NULL, NULL, 0));
}

/* ---- info ----------------------------------------------------------------- */

typedef struct {
  const char *file;
  const char *arch;
  const char *name_prefix;
  int n_layers, n_embd, n_head, n_head_kv, n_ctx, n_vocab;
  const char *family;
  gboolean known;
  const char *file_type; /* NULL: absent */
  int bos, eos;
  const char *bos_text, *eos_text;
  gboolean add_bos;
} model_facts;

/* Known facts from the fixtures README (and the R1/Qwen token tables). */
static const model_facts models[] = {
  {"stories260K.gguf", "llama", "llama", 5, 64, 8, 4, 2048, 512, "chatml", FALSE, NULL, 1, 2, "<s>", "</s>", TRUE},
  {"tiny-qwen2-Q4_K_M.gguf", "qwen2", "tiny-qwen2", 2, 256, 4, 2, 4096, 8000, "r1-distill", TRUE, "Q4_K_M", 7903,
   7900, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", TRUE},
  {"tiny-llama-Q8_0.gguf", "llama", "tiny-llama", 2, 256, 4, 2, 4096, 8000, "r1-distill", TRUE, "Q8_0", 7900, 7901,
   "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", TRUE},
  {"tiny-qwen3-Q8_0.gguf", "qwen3", "tiny-qwen3", 2, 256, 4, 2, 4096, 8000, "qwen3", TRUE, "Q8_0", 7900, 7902,
   "<|endoftext|>", "<|im_end|>", FALSE},
};

static void test_info_models(void)
{
  cJSON *manifest = fixture_json("models/manifest.json");
  if (!manifest) return;
  for (guint i = 0; i < G_N_ELEMENTS(models); i++) {
    const model_facts *m = &models[i];
    char *rel = g_build_filename("models", m->file, NULL);
    char *path = test_fixture_path(rel);
    g_free(rel);
    if (!path) break;
    g_test_message("info %s", m->file);
    cli_result r;
    cJSON *info = info_json(path, &r);
    if (!info) {
      g_free(path);
      break;
    }
    /* the warning for an unknown template, and nothing else on stderr */
    if (m->known) g_assert_cmpstr(r.err, ==, "");
    else g_assert_cmpstr(r.err, ==, "still: warning: no known chat template: using ChatML\n");

    const cJSON *man = cJSON_GetObjectItemCaseSensitive(manifest, m->file);
    g_assert_nonnull(man);
    g_assert_cmpstr(json_str(info, "file"), ==, path);
    g_assert_cmpstr(json_str(info, "arch"), ==, json_str(man, "architecture"));
    g_assert_cmpstr(json_str(info, "arch"), ==, m->arch);
    g_assert_true(g_str_has_prefix(json_str(info, "name"), m->name_prefix));
    g_assert_cmpfloat(json_num(info, "file_bytes"), ==, json_num(man, "bytes"));
    g_assert_cmpint((int)json_num(info, "gguf_version"), ==, 3);
    g_assert_cmpint((int)json_num(info, "shards"), ==, 1);

    /* parameter count and type mix from the manifest's tensor list */
    const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(man, "tensors");
    GHashTable *counts = g_hash_table_new(g_str_hash, g_str_equal);
    double n_params = 0;
    int n_tensors = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tensors)
    {
      double n = 1;
      const cJSON *d;
      cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(t, "ne")) n *= d->valuedouble;
      n_params += n;
      n_tensors++;
      const char *type = json_str(t, "type");
      g_hash_table_insert(counts, (gpointer)type,
                          GINT_TO_POINTER(GPOINTER_TO_INT(g_hash_table_lookup(counts, type)) + 1));
    }
    g_assert_cmpfloat(json_num(info, "n_params"), ==, n_params);
    g_assert_cmpint((int)json_num(info, "n_tensors"), ==, n_tensors);
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(info, "types");
    g_assert_true(cJSON_IsObject(types));
    g_assert_cmpint(cJSON_GetArraySize(types), ==, (int)g_hash_table_size(counts));
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, counts);
    while (g_hash_table_iter_next(&it, &k, &v)) g_assert_cmpint((int)json_num(types, k), ==, GPOINTER_TO_INT(v));
    g_hash_table_destroy(counts);

    const cJSON *ft = cJSON_GetObjectItemCaseSensitive(info, "file_type");
    if (m->file_type) g_assert_cmpstr(ft->valuestring, ==, m->file_type);
    else g_assert_true(cJSON_IsNull(ft));
    g_assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(man, "general.file_type")) == (m->file_type == NULL));

    g_assert_cmpint((int)json_num(info, "n_layers"), ==, m->n_layers);
    g_assert_cmpint((int)json_num(info, "n_embd"), ==, m->n_embd);
    g_assert_cmpint((int)json_num(info, "n_head"), ==, m->n_head);
    g_assert_cmpint((int)json_num(info, "n_head_kv"), ==, m->n_head_kv);
    g_assert_cmpint((int)json_num(info, "n_ctx_train"), ==, m->n_ctx);
    g_assert_cmpint((int)json_num(info, "vocab_size"), ==, m->n_vocab);
    g_assert_cmpstr(json_str(info, "template_family"), ==, m->family);
    g_assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(info, "template_known")));
    g_assert_cmpint(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "template_known")), ==, m->known);
    g_assert_cmpint(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "add_bos")), ==, m->add_bos);
    assert_special(info, "bos", m->bos, m->bos_text);
    assert_special(info, "eos", m->eos, m->eos_text);
    if (g_str_has_prefix(m->file, "tiny-qwen3")) assert_special(info, "eot", 7902, "<|im_end|>");
    cJSON_Delete(info);
    cli_result_clear(&r);
    g_free(path);
  }
  cJSON_Delete(manifest);
}

static void test_info_vocab(void)
{
  static const struct {
    const char *file, *arch, *tokenizer;
    int n_vocab, bos, eos;
    const char *bos_text;
  } vocabs[] = {
    {"vocab/ggml-vocab-llama-spm.gguf", "llama", "llama", 32000, 1, 2, "<s>"},
    {"vocab/ggml-vocab-qwen2.gguf", "qwen2", "gpt2", 151936, 151643, 151643, "<|endoftext|>"},
    {"vocab/ggml-vocab-llama-bpe.gguf", "llama", "gpt2", 128256, 128000, 128001, "<|begin_of_text|>"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(vocabs); i++) {
    char *path = test_fixture_path(vocabs[i].file);
    if (!path) return;
    cli_result r;
    cJSON *info = info_json(path, &r);
    if (!info) return;
    g_assert_cmpstr(r.err, ==, "still: warning: no known chat template: using ChatML\n");
    g_assert_cmpstr(json_str(info, "arch"), ==, vocabs[i].arch);
    g_assert_cmpstr(json_str(info, "tokenizer"), ==, vocabs[i].tokenizer);
    g_assert_cmpint((int)json_num(info, "vocab_size"), ==, vocabs[i].n_vocab);
    g_assert_cmpfloat(json_num(info, "n_params"), ==, 0);
    g_assert_cmpint((int)json_num(info, "n_tensors"), ==, 0);
    g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(info, "types")), ==, 0);
    g_assert_cmpstr(json_str(info, "template_family"), ==, "chatml");
    g_assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info, "template_known")));
    assert_special(info, "bos", vocabs[i].bos, vocabs[i].bos_text);
    assert_special(info, "eos", vocabs[i].eos, NULL);
    cJSON_Delete(info);
    cli_result_clear(&r);
    g_free(path);
  }
}

static void test_info_human(void)
{
  char *path = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  if (!path) return;
  cli_result r;
  if (!run_cli(&r, "info", path)) return;
  assert_ok(&r, FALSE);
  /* aligned "key: value" lines: every value starts in the same column */
  char **lines = g_strsplit(r.out, "\n", -1);
  int column = -1, n = 0;
  for (char **l = lines; *l && **l; l++, n++) {
    const char *colon = strchr(*l, ':');
    g_assert_nonnull(colon);
    const char *value = colon + 1;
    while (*value == ' ') value++;
    int c = (int)(value - *l);
    if (column < 0) column = c;
    g_assert_cmpint(c, ==, column);
  }
  g_assert_cmpint(n, >=, 15);
  g_strfreev(lines);
  g_assert_nonnull(strstr(r.out, "architecture:"));
  g_assert_nonnull(strstr(r.out, " qwen2\n"));
  g_assert_nonnull(strstr(r.out, " Q4_K_M\n"));
  g_assert_nonnull(strstr(r.out, " r1-distill\n"));
  g_assert_nonnull(strstr(r.out, " 4.0 MB (4039328 bytes)\n"));
  g_assert_nonnull(strstr(r.out, " 7903 '<｜begin▁of▁sentence｜>'\n"));
  cli_result_clear(&r);
  g_free(path);

  /* parameter count for people: stories260K has 292,800 parameters (sum of the manifest shapes) */
  path = test_fixture_path("models/stories260K.gguf");
  if (!path) return;
  run_cli(&r, "info", path);
  assert_ok(&r, TRUE);
  g_assert_nonnull(strstr(r.out, " 292.80 K\n"));
  g_assert_nonnull(strstr(r.out, " chatml (fallback)\n"));
  g_assert_cmpstr(r.err, ==, "still: warning: no known chat template: using ChatML\n");
  cli_result_clear(&r);
  g_free(path);
}

/* A GGUF without tokenizer: vocab size comes from token_embd.weight; the
 * tokenizer commands refuse it in one line. */
static void test_info_no_tokenizer(void)
{
  gguf_writer *w = gguf_writer_new();
  gguf_writer_add_str(w, "general.architecture", "llama");
  gguf_writer_add_u32(w, "llama.block_count", 1);
  gguf_writer_add_u32(w, "llama.attention.head_count", 2);
  static float emb[8 * 3];
  int64_t ne[2] = {8, 3};
  gguf_writer_add_tensor(w, "token_embd.weight", STILL_TYPE_F32, 2, ne, emb);
  char *path = g_build_filename(tmp_dir, "no-tokenizer.gguf", NULL);
  still_error err = {0};
  still_status st = gguf_writer_write_file(w, path, &err);
  gguf_writer_free(w);
  if (st != STILL_OK) {
    g_test_message("gguf writer: %s", err.message);
    g_assert_cmpint(st, ==, STILL_OK);
  }
  cli_result r;
  cJSON *info = info_json(path, &r);
  if (!info) return;
  g_assert_cmpint((int)json_num(info, "vocab_size"), ==, 3);
  g_assert_cmpint((int)json_num(info, "n_params"), ==, 24);
  g_assert_cmpint((int)json_num(info, "n_layers"), ==, 1);
  g_assert_cmpint((int)json_num(info, "n_head_kv"), ==, 2); /* defaults to n_head */
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(info, "n_ctx_train")));
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(info, "tokenizer")));
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(info, "file_type")));
  assert_special(info, "bos", -1, NULL);
  cJSON_Delete(info);
  cli_result_clear(&r);

  run_cli(&r, "tokenize", "-m", path, "hello");
  g_assert_nonnull(strstr(assert_fails(&r), "no tokenizer"));
  cli_result_clear(&r);
  run_cli(&r, "detokenize", "-m", path, "1");
  assert_fails(&r);
  cli_result_clear(&r);
  g_free(path);

  /* a tokenizer kind we cannot load: info still works from the raw metadata
   * (with a warning), the tokenizer commands fail in one line */
  w = gguf_writer_new();
  gguf_writer_add_str(w, "general.architecture", "llama");
  gguf_writer_add_str(w, "tokenizer.ggml.model", "no-such-tokenizer");
  static const char *const toks[] = {"<pad>", "<bos>", "x"};
  gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", toks, 3);
  gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 1);
  gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 0xFFFFFFFFu); /* "none" */
  path = g_build_filename(tmp_dir, "odd-tokenizer.gguf", NULL);
  g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_OK);
  gguf_writer_free(w);
  info = info_json(path, &r);
  if (!info) return;
  g_assert_nonnull(strstr(r.err, "still: warning: cannot load the tokenizer"));
  g_assert_cmpint((int)json_num(info, "vocab_size"), ==, 3);
  g_assert_cmpstr(json_str(info, "tokenizer"), ==, "no-such-tokenizer");
  assert_special(info, "bos", 1, "<bos>");
  assert_special(info, "eos", -1, NULL);
  cJSON_Delete(info);
  cli_result_clear(&r);
  run_cli(&r, "tokenize", "-m", path, "x");
  assert_fails(&r);
  cli_result_clear(&r);
  g_free(path);
}

/* A model split in two files (llama.cpp's gguf-split naming and keys): info
 * on either part describes the whole model. */
static void test_info_split(void)
{
  char *paths[2];
  guint64 total_bytes = 0;
  for (int part = 0; part < 2; part++) {
    gguf_writer *w = gguf_writer_new();
    if (part == 0) {
      gguf_writer_add_str(w, "general.architecture", "qwen2");
      gguf_writer_add_u32(w, "qwen2.block_count", 2);
    }
    gguf_writer_add_u16(w, "split.no", (uint16_t)part);
    gguf_writer_add_u16(w, "split.count", 2);
    gguf_writer_add_i32(w, "split.tensors.count", 2);
    static float data[32 * 4];
    int64_t ne[2] = {32, part == 0 ? 4 : 2};
    gguf_writer_add_tensor(w, part == 0 ? "token_embd.weight" : "output.weight", STILL_TYPE_F32, 2, ne, data);
    char *name = g_strdup_printf("split-%05d-of-00002.gguf", part + 1);
    paths[part] = g_build_filename(tmp_dir, name, NULL);
    g_free(name);
    still_error err = {0};
    g_assert_cmpint(gguf_writer_write_file(w, paths[part], &err), ==, STILL_OK);
    gguf_writer_free(w);
    GStatBuf st;
    g_assert_cmpint(g_stat(paths[part], &st), ==, 0);
    total_bytes += (guint64)st.st_size;
  }
  for (int part = 0; part < 2; part++) {
    cli_result r;
    cJSON *info = info_json(paths[part], &r);
    if (!info) return;
    g_assert_cmpint((int)json_num(info, "shards"), ==, 2);
    g_assert_cmpint((int)json_num(info, "n_tensors"), ==, 2);
    g_assert_cmpint((int)json_num(info, "n_params"), ==, 32 * 4 + 32 * 2);
    g_assert_cmpfloat(json_num(info, "file_bytes"), ==, (double)total_bytes);
    g_assert_cmpstr(json_str(info, "arch"), ==, "qwen2");
    g_assert_cmpint((int)json_num(info, "n_layers"), ==, 2);
    g_assert_cmpint((int)json_num(info, "vocab_size"), ==, 4); /* no tokenizer: ne[1] of token_embd */
    cJSON_Delete(info);
    cli_result_clear(&r);
  }
  /* one part missing: a plain error */
  g_remove(paths[1]);
  cli_result r;
  run_cli(&r, "info", paths[0]);
  assert_fails(&r);
  cli_result_clear(&r);
  g_free(paths[0]);
  g_free(paths[1]);
}

/* ---- tokenize ------------------------------------------------------------- */

/* Every stride-th case of a vocab's .inp/.out pairs, each fed through stdin. */
static void check_vocab_cases(const char *vocab, guint stride)
{
  char *rel = g_strdup_printf("vocab/%s", vocab);
  char *path = test_fixture_path(rel);
  char *inp_path = g_strdup_printf("%s.inp", path ? path : "");
  char *out_path = g_strdup_printf("%s.out", path ? path : "");
  g_free(rel);
  if (!path) return;
  gsize inp_len, out_len;
  char *inp = test_read_file(inp_path, &inp_len);
  char *outs = test_read_file(out_path, &out_len);
  char **cases = g_strsplit(inp, "\n__ggml_vocab_test__\n", -1);
  char **lines = g_strsplit(outs, "\n", -1);
  guint n_cases = g_strv_length(cases), n_lines = g_strv_length(lines);
  g_assert_cmpuint(n_cases, ==, n_lines);
  g_assert_cmpuint(n_cases, >, 10);
  guint checked = 0;
  for (guint i = 0; i + 1 < n_cases; i += stride) { /* the last piece is the empty tail */
    cli_result r;
    if (!run_cli_stdin(&r, cases[i], strlen(cases[i]), "tokenize", "-m", path, "-")) break;
    assert_ok(&r, FALSE);
    g_assert_true(g_str_has_suffix(r.out, "\n"));
    g_assert_null(memchr(r.out, '\n', r.out_len - 1));
    r.out[r.out_len - 1] = '\0';
    GArray *got = ids_from_line(r.out), *want = ids_from_line(lines[i]);
    char *what = g_strdup_printf("%s case %u", vocab, i);
    assert_same_ids(got, want, what);
    g_free(what);
    g_array_free(got, TRUE);
    g_array_free(want, TRUE);
    cli_result_clear(&r);
    checked++;
  }
  g_test_message("%s: %u cases checked", vocab, checked);
  g_strfreev(cases);
  g_strfreev(lines);
  g_free(inp);
  g_free(outs);
  g_free(inp_path);
  g_free(out_path);
  g_free(path);
}

static void test_tokenize_vocab_cases(void)
{
  check_vocab_cases("ggml-vocab-llama-spm.gguf", 1);
  check_vocab_cases("ggml-vocab-qwen2.gguf", 1);
  check_vocab_cases("ggml-vocab-llama-bpe.gguf", 1);
}

typedef struct {
  const char *model;
  const char *reference;
  gboolean add_bos;
} model_ref;

static const model_ref refs[] = {
  {"models/stories260K.gguf", "reference/stories260K.json", TRUE},
  {"models/tiny-qwen2-Q4_K_M.gguf", "reference/tiny-qwen2-Q4_K_M.json", TRUE},
  {"models/tiny-llama-Q8_0.gguf", "reference/tiny-llama-Q8_0.json", TRUE},
  {"models/tiny-qwen3-Q8_0.gguf", "reference/tiny-qwen3-Q8_0.json", FALSE},
};

static void test_tokenize_reference(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(refs); i++) {
    cJSON *ref = fixture_json(refs[i].reference);
    char *path = test_fixture_path(refs[i].model);
    if (!ref || !path) return;
    const char *text = json_str(ref, "prompt_text");
    GArray *want = ids_from_json(cJSON_GetObjectItemCaseSensitive(ref, "prompt_text_token_ids"));
    cli_result r;
    if (refs[i].add_bos) run_cli(&r, "tokenize", "-m", path, "--add-bos", text);
    else run_cli(&r, "tokenize", "-m", path, text);
    assert_ok(&r, FALSE);
    GArray *got = ids_from_line(g_strchomp(r.out));
    assert_same_ids(got, want, refs[i].model);
    g_array_free(got, TRUE);
    cli_result_clear(&r);

    /* --pieces: one "ID='PIECE'" line per token, same ids */
    if (refs[i].add_bos) run_cli(&r, "tokenize", "--pieces", "--add-bos", "-m", path, text);
    else run_cli(&r, "tokenize", "--pieces", "-m", path, text);
    assert_ok(&r, FALSE);
    char **lines = g_strsplit(r.out, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, want->len + 1);
    for (guint k = 0; k < want->len; k++) {
      char *prefix = g_strdup_printf("%d='", g_array_index(want, int, k));
      g_assert_true(g_str_has_prefix(lines[k], prefix));
      g_assert_true(g_str_has_suffix(lines[k], "'"));
      g_free(prefix);
    }
    g_strfreev(lines);
    cli_result_clear(&r);
    g_array_free(want, TRUE);
    cJSON_Delete(ref);
    g_free(path);
  }
}

/* Control tokens only with --parse-special; user-defined ones (<think>) always. */
static void test_tokenize_special(void)
{
  char *path = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  if (!path) return;
  cli_result r;
  if (!run_cli(&r, "tokenize", "-m", path, "<｜User｜>hi<think>")) return;
  assert_ok(&r, FALSE);
  GArray *ids = ids_from_line(g_strchomp(r.out));
  g_assert_cmpuint(ids->len, >, 3);
  g_assert_cmpint(g_array_index(ids, int, 0), !=, 7901);
  g_assert_cmpint(g_array_index(ids, int, ids->len - 1), ==, 7905);
  g_array_free(ids, TRUE);
  cli_result_clear(&r);

  run_cli(&r, "tokenize", "-m", path, "--parse-special", "<｜User｜>hi<think>");
  assert_ok(&r, FALSE);
  ids = ids_from_line(g_strchomp(r.out));
  g_assert_cmpint(g_array_index(ids, int, 0), ==, 7901);
  g_assert_cmpint(g_array_index(ids, int, ids->len - 1), ==, 7905);
  g_array_free(ids, TRUE);
  cli_result_clear(&r);

  /* several TEXT arguments are joined with one space */
  char *joined_out;
  run_cli(&r, "tokenize", "-m", path, "hello world");
  assert_ok(&r, FALSE);
  joined_out = g_strdup(r.out);
  cli_result_clear(&r);
  run_cli(&r, "tokenize", "-m", path, "hello", "world");
  assert_ok(&r, FALSE);
  g_assert_cmpstr(r.out, ==, joined_out);
  g_free(joined_out);
  cli_result_clear(&r);

  /* empty text from stdin: no tokens, just the newline; with BOS: the BOS alone */
  run_cli_stdin(&r, "", 0, "tokenize", "-m", path, "-");
  assert_ok(&r, FALSE);
  g_assert_cmpstr(r.out, ==, "\n");
  cli_result_clear(&r);
  run_cli_stdin(&r, "", 0, "tokenize", "-m", path, "--add-bos", "-");
  assert_ok(&r, FALSE);
  g_assert_cmpstr(r.out, ==, "7903\n");
  cli_result_clear(&r);

  /* stdin keeps the trailing newline (binary-safe): "a\n" is not "a" */
  run_cli_stdin(&r, "a\n", 2, "tokenize", "-m", path, "-");
  assert_ok(&r, FALSE);
  ids = ids_from_line(g_strchomp(r.out));
  g_assert_cmpuint(ids->len, ==, 2);
  g_array_free(ids, TRUE);
  cli_result_clear(&r);
  g_free(path);
}

/* ---- detokenize ----------------------------------------------------------- */

static void test_detokenize(void)
{
  for (guint i = 0; i < G_N_ELEMENTS(refs); i++) {
    cJSON *ref = fixture_json(refs[i].reference);
    char *path = test_fixture_path(refs[i].model);
    if (!ref || !path) return;
    const char *text = json_str(ref, "prompt_text");
    /* the reference ids (BOS first where the model adds it) */
    GArray *ids = ids_from_json(cJSON_GetObjectItemCaseSensitive(ref, "prompt_text_token_ids"));
    guint first = refs[i].add_bos ? 1 : 0;
    GString *list = g_string_new(NULL);
    GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(args, g_strdup("detokenize"));
    g_ptr_array_add(args, g_strdup("-m"));
    g_ptr_array_add(args, g_strdup(path));
    for (guint k = first; k < ids->len; k++) {
      g_string_append_printf(list, k > first ? " %d" : "%d", g_array_index(ids, int, k));
      g_ptr_array_add(args, g_strdup_printf("%d", g_array_index(ids, int, k)));
    }
    g_ptr_array_add(args, NULL);

    /* one quoted argument */
    cli_result r;
    run_cli(&r, "detokenize", "-m", path, list->str);
    assert_ok(&r, FALSE);
    g_assert_cmpstr(r.out, ==, text);
    cli_result_clear(&r);
    /* separate arguments */
    run_cli_v(&r, NULL, 0, (const char *const *)args->pdata);
    assert_ok(&r, FALSE);
    g_assert_cmpstr(r.out, ==, text);
    cli_result_clear(&r);
    /* standard input, as a JSON-like list */
    char *bracketed = g_strdup_printf("[%s]\n", list->str);
    for (char *c = bracketed; *c; c++)
      if (*c == ' ') *c = ',';
    run_cli_stdin(&r, bracketed, strlen(bracketed), "detokenize", "-m", path, "-");
    assert_ok(&r, FALSE);
    g_assert_cmpstr(r.out, ==, text);
    cli_result_clear(&r);
    g_free(bracketed);

    /* with BOS: rendered by default, left out with --no-render-special */
    if (refs[i].add_bos) {
      char *with_bos = g_strdup_printf("%d %s", g_array_index(ids, int, 0), list->str);
      const cJSON *bos_text = NULL;
      cli_result info;
      cJSON *j = info_json(path, &info);
      bos_text = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "special_tokens"), "bos"), "text");
      run_cli(&r, "detokenize", "-m", path, with_bos);
      assert_ok(&r, FALSE);
      g_assert_true(g_str_has_prefix(r.out, bos_text->valuestring));
      g_assert_true(g_str_has_suffix(r.out, text));
      cli_result_clear(&r);
      run_cli(&r, "detokenize", "-m", path, "--no-render-special", with_bos);
      assert_ok(&r, FALSE);
      /* (SentencePiece may keep the space after a hidden BOS, as llama.cpp does) */
      g_assert_null(strstr(r.out, bos_text->valuestring));
      g_assert_true(g_str_has_suffix(r.out, text));
      cli_result_clear(&r);
      cJSON_Delete(j);
      cli_result_clear(&info);
      g_free(with_bos);
    }
    g_ptr_array_free(args, TRUE);
    g_string_free(list, TRUE);
    g_array_free(ids, TRUE);
    cJSON_Delete(ref);
    g_free(path);
  }

  /* the greedy outputs of the references: llama.cpp's pieces, special tokens
   * not rendered (those whose text has no U+FFFD, to avoid depending on how
   * invalid UTF-8 is replaced) */
  static const char *const greedy[][2] = {
    {"models/stories260K.gguf", "reference/stories260K.json"},
    {"models/tiny-llama-Q8_0.gguf", "reference/tiny-llama-Q8_0.json"},
    {"models/tiny-qwen3-Q8_0.gguf", "reference/tiny-qwen3-Q8_0.json"},
    {"models/tiny-qwen2-Q8_0.gguf", "reference/tiny-qwen2-Q8_0.json"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(greedy); i++) {
    cJSON *ref = fixture_json(greedy[i][1]);
    char *model = test_fixture_path(greedy[i][0]);
    if (!ref || !model) return;
    char *list = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(ref, "greedy_ids"));
    cli_result r;
    run_cli(&r, "detokenize", "-m", model, "--no-render-special", list);
    assert_ok(&r, FALSE);
    g_assert_cmpstr(r.out, ==, json_str(ref, "greedy_text"));
    cli_result_clear(&r);
    cJSON_free(list);
    cJSON_Delete(ref);
    g_free(model);
  }

  /* bad ids: one line naming the id and the vocabulary size */
  char *path = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  if (!path) return;
  cli_result r;
  run_cli(&r, "detokenize", "-m", path, "1 2 8000");
  const char *msg = assert_fails(&r);
  g_assert_nonnull(strstr(msg, "8000"));
  g_assert_nonnull(strstr(msg, "8000 tokens"));
  cli_result_clear(&r);
  static const char *const bad[] = {"-1", "12abc", "abc", "99999999999999999999", "1.5", "0x10"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    run_cli(&r, "detokenize", "-m", path, "1", bad[i]);
    assert_fails(&r);
    cli_result_clear(&r);
  }
  /* the tiny vocab round-trips its own tokenization of non-ASCII text */
  const char *text = "Ünïcödé 你好 🙂 tabs\tand\nnewlines";
  run_cli(&r, "tokenize", "-m", path, text);
  assert_ok(&r, FALSE);
  char *ids = g_strdup(g_strchomp(r.out));
  cli_result_clear(&r);
  run_cli(&r, "detokenize", "-m", path, ids);
  assert_ok(&r, FALSE);
  g_assert_cmpstr(r.out, ==, text);
  cli_result_clear(&r);
  g_free(ids);
  g_free(path);
}

/* ---- template ------------------------------------------------------------- */

static void check_template_cases(const char *json_file, const char *model)
{
  cJSON *spec = fixture_json(json_file);
  char *path = test_fixture_path(model);
  if (!spec || !path) return;
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive(spec, "cases");
  g_assert_cmpint(cJSON_GetArraySize(cases), >=, 4);
  const cJSON *c;
  int n = 0;
  cJSON_ArrayForEach(c, cases)
  {
    char *messages = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c, "messages"));
    char *msg_path = write_tmp("messages.json", messages, -1);
    gboolean gen = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "add_generation_prompt"));
    const char *expected = json_str(c, "expected");
    cli_result r;
    if (gen) run_cli(&r, "template", "-m", path, "--messages", msg_path);
    else run_cli(&r, "template", "-m", path, "--messages", msg_path, "--no-generation-prompt");
    assert_ok(&r, FALSE);
    if (strcmp(r.out, expected) != 0) g_test_message("%s / %s: got\n%s\nwant\n%s", json_file, json_str(c, "name"), r.out, expected);
    g_assert_cmpstr(r.out, ==, expected);
    cli_result_clear(&r);
    /* the same through standard input */
    run_cli_stdin(&r, messages, strlen(messages), "template", "-m", path, "--messages", "-",
                  gen ? "--template-family" : "--no-generation-prompt",
                  gen ? (strstr(json_file, "qwen3") ? "qwen3" : "r1-distill") : NULL);
    assert_ok(&r, FALSE);
    g_assert_cmpstr(r.out, ==, expected);
    cli_result_clear(&r);
    cJSON_free(messages);
    g_free(msg_path);
    n++;
  }
  g_test_message("%s: %d cases", json_file, n);
  cJSON_Delete(spec);
  g_free(path);
}

static void test_template(void)
{
  check_template_cases("chat-templates/deepseek-r1-distill-qwen.json", "models/tiny-qwen2-Q4_K_M.gguf");
  check_template_cases("chat-templates/deepseek-r1-distill-llama.json", "models/tiny-llama-Q8_0.gguf");
  check_template_cases("chat-templates/qwen3.json", "models/tiny-qwen3-Q8_0.gguf");

  /* --template-family chatml on an R1 model: the plain ChatML rendering,
   * which for one user turn equals the Qwen3 template's expected string */
  cJSON *q3 = fixture_json("chat-templates/qwen3.json");
  char *path = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  if (!q3 || !path) return;
  const cJSON *c0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(q3, "cases"), 0);
  g_assert_cmpstr(json_str(c0, "name"), ==, "single_user");
  char *messages = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c0, "messages"));
  cli_result r;
  run_cli_stdin(&r, messages, strlen(messages), "template", "-m", path, "--messages", "-", "--template-family",
                "chatml");
  assert_ok(&r, FALSE);
  g_assert_cmpstr(r.out, ==, json_str(c0, "expected"));
  cli_result_clear(&r);

  /* a vocab file has no template: ChatML with the warning */
  char *vocab = test_fixture_path("vocab/ggml-vocab-qwen2.gguf");
  if (vocab) {
    run_cli_stdin(&r, messages, strlen(messages), "template", "-m", vocab, "--messages", "-");
    assert_ok(&r, TRUE);
    g_assert_cmpstr(r.out, ==, json_str(c0, "expected"));
    g_assert_cmpstr(r.err, ==, "still: warning: no known chat template: using ChatML\n");
    cli_result_clear(&r);
    g_free(vocab);
  }
  cJSON_free(messages);
  cJSON_Delete(q3);
  g_free(path);
}

/* ---- bad input: exit 1, one line ----------------------------------------- */

static void test_bad_input(void)
{
  char *model = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  char *readme = test_fixture_path("README.md");
  if (!model || !readme) return;
  char *missing = g_build_filename(tmp_dir, "does-not-exist.gguf", NULL);
  cli_result r;

  /* truncated copies of a real model: inside the header, and inside the tensor data */
  gsize len;
  char *data = test_read_file(model, &len);
  char *trunc_header = write_tmp("trunc-header.gguf", data, 3000);
  char *trunc_data = write_tmp("trunc-data.gguf", data, (gssize)(len / 2));
  char *trunc_magic = write_tmp("trunc-magic.gguf", data, 3);
  char *empty = write_tmp("empty.gguf", "", 0);
  g_free(data);
  char *good_msgs = write_tmp("good.json", "[{\"role\":\"user\",\"content\":\"hi\"}]", -1);

  static const char *const bad_json[] = {
    "",
    "[",
    "{\"role\":\"user\",\"content\":\"hi\"}",
    "[{\"role\":\"user\"}]",
    "[{\"role\":\"user\",\"content\":3}]",
    "[{\"role\":null,\"content\":\"x\"}]",
    "[\"hello\"]",
    "[{\"role\":\"user\",\"content\":\"hi\"}] trailing",
    "[{\"role\":\"user\",\"content\":\"a\\u0000b\"}]",
    "[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]",
    "[{\"role\":\"user\",\"content\":\"\\ud800\"}]",
    "[{\"role\":\"user\",\"content\":\"hi\"},]",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad_json); i++) {
    char *p = write_tmp("bad.json", bad_json[i], -1);
    g_test_message("bad messages #%u", i);
    run_cli(&r, "template", "-m", model, "--messages", p);
    assert_fails(&r);
    cli_result_clear(&r);
    run_cli_stdin(&r, bad_json[i], strlen(bad_json[i]), "template", "-m", model, "--messages", "-");
    assert_fails(&r);
    cli_result_clear(&r);
    g_free(p);
  }

  const char *const *cases[] = {
    (const char *const[]){NULL},
    (const char *const[]){"frobnicate", NULL},
    (const char *const[]){"--frobnicate", NULL},
    (const char *const[]){"info", NULL},
    (const char *const[]){"info", missing, NULL},
    (const char *const[]){"info", readme, NULL},
    (const char *const[]){"info", tmp_dir, NULL},
    (const char *const[]){"info", empty, NULL},
    (const char *const[]){"info", trunc_magic, NULL},
    (const char *const[]){"info", trunc_header, NULL},
    (const char *const[]){"info", trunc_data, "--json", NULL},
    (const char *const[]){"info", model, model, NULL},
    (const char *const[]){"info", model, "--bogus", NULL},
    (const char *const[]){"info", model, "--json=yes", NULL},
    (const char *const[]){"tokenize", "hello", NULL},
    (const char *const[]){"tokenize", "-m", NULL},
    (const char *const[]){"tokenize", "-m", model, NULL},
    (const char *const[]){"tokenize", "-m", missing, "hello", NULL},
    (const char *const[]){"tokenize", "-m", readme, "hello", NULL},
    (const char *const[]){"tokenize", "-m", trunc_header, "hello", NULL},
    (const char *const[]){"tokenize", "-m", model, "--frob", "hello", NULL},
    (const char *const[]){"detokenize", "-m", model, NULL},
    (const char *const[]){"detokenize", "1 2", NULL},
    (const char *const[]){"template", "-m", model, NULL},
    (const char *const[]){"template", "--messages", good_msgs, NULL},
    (const char *const[]){"template", "-m", model, "--messages", missing, NULL},
    (const char *const[]){"template", "-m", model, "--messages", tmp_dir, NULL},
    (const char *const[]){"template", "-m", missing, "--messages", good_msgs, NULL},
    (const char *const[]){"template", "-m", model, "--messages", good_msgs, "extra", NULL},
    (const char *const[]){"template", "-m", model, "--messages", good_msgs, "--template-family", "jinja", NULL},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    GString *cmd = g_string_new("still");
    for (const char *const *a = cases[i]; *a; a++) g_string_append_printf(cmd, " %s", *a);
    g_test_message("%s", cmd->str);
    run_cli_v(&r, NULL, 0, cases[i]);
    const char *line = assert_fails(&r);
    g_test_message("  -> %s", line);
    cli_result_clear(&r);
    g_string_free(cmd, TRUE);
  }

  /* the messages name what is wrong */
  run_cli(&r, "info", missing);
  g_assert_nonnull(strstr(assert_fails(&r), missing));
  cli_result_clear(&r);
  run_cli(&r, "frobnicate");
  g_assert_nonnull(strstr(assert_fails(&r), "frobnicate"));
  cli_result_clear(&r);
  run_cli(&r, "info", model, "--bogus");
  g_assert_nonnull(strstr(assert_fails(&r), "--bogus"));
  cli_result_clear(&r);

  g_free(trunc_header);
  g_free(trunc_data);
  g_free(trunc_magic);
  g_free(empty);
  g_free(good_msgs);
  g_free(missing);
  g_free(model);
  g_free(readme);
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp_dir = cli_harness_tmp_dir("still-cli-XXXXXX");

  g_test_add_func("/cli/help", test_help);
  g_test_add_func("/cli/size", test_size);
  g_test_add_func("/cli/info/models", test_info_models);
  g_test_add_func("/cli/info/vocab", test_info_vocab);
  g_test_add_func("/cli/info/human", test_info_human);
  g_test_add_func("/cli/info/no-tokenizer", test_info_no_tokenizer);
  g_test_add_func("/cli/info/split", test_info_split);
  g_test_add_func("/cli/tokenize/vocab-cases", test_tokenize_vocab_cases);
  g_test_add_func("/cli/tokenize/reference", test_tokenize_reference);
  g_test_add_func("/cli/tokenize/special", test_tokenize_special);
  g_test_add_func("/cli/detokenize", test_detokenize);
  g_test_add_func("/cli/template", test_template);
  g_test_add_func("/cli/bad-input", test_bad_input);
  int rc = g_test_run();
  cli_harness_cleanup();
  return rc;
}
