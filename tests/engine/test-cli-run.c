/* test-cli-run.c — `still run`, `chat`, `logits`, `bench` and `make-model`,
 * run as a person would: the built binary ($STILL_CLI) is spawned on the
 * fixtures and its output compared with llama.cpp's reference outputs
 * (greedy ids and text, logits), the rendered chat templates, and the shapes
 * of the real R1 distills. Small models and short runs only (fast under
 * ASan too). */
#include "cli-harness.h"
#include "gguf.h"
#include "test-common.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *tmp_dir; /* cli_harness_tmp_dir() */

/* ---- running the CLI ------------------------------------------------------ */

static const char *cli_path(void)
{
  const char *cli = g_getenv("STILL_CLI");
  if (!cli || !*cli) g_test_skip("STILL_CLI is not set (run through meson test)");
  return cli && *cli ? cli : NULL;
}

static void assert_ok(const cli_result *r)
{
  if (r->exit_code != 0) g_test_message("exit %d, stderr: %s", r->exit_code, r->err);
  g_assert_cmpint(r->exit_code, ==, 0);
}

/* Failure as promised: exit 1 (not a crash), nothing on stdout, one line on stderr. */
static void assert_fails(const cli_result *r, const char *what)
{
  if (r->exit_code != 1 || r->out[0])
    g_test_message("%s: exit %d, stdout '%s', stderr: %s", what, r->exit_code, r->out, r->err);
  g_assert_cmpint(r->exit_code, ==, 1);
  g_assert_cmpstr(r->out, ==, "");
  gsize n = strlen(r->err);
  g_assert_cmpuint(n, >, 8);
  g_assert_cmpint(r->err[n - 1], ==, '\n');
  if (memchr(r->err, '\n', n - 1)) g_test_message("%s: more than one line: %s", what, r->err);
  g_assert_null(memchr(r->err, '\n', n - 1));
  g_assert_true(g_str_has_prefix(r->err, "still: "));
}

/* ---- helpers ---------------------------------------------------------------- */

static char *ids_text(GArray *ids)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ids->len; i++) g_string_append_printf(s, i ? " %d" : "%d", g_array_index(ids, int, i));
  return g_string_free(s, FALSE);
}

/* The line of stderr that starts with prefix (g_free), or NULL. */
static char *find_line(const char *text, const char *prefix)
{
  char **lines = g_strsplit(text, "\n", -1);
  char *found = NULL;
  for (char **l = lines; *l && !found; l++)
    if (g_str_has_prefix(*l, prefix)) found = g_strdup(*l);
  g_strfreev(lines);
  return found;
}

/* "(N cached)" of a stats line. */
static int cached_of(const char *line)
{
  const char *p = strchr(line, '(');
  g_assert_nonnull(p);
  return atoi(p + 1);
}

static float *read_floats(const char *path, gsize *n)
{
  gsize len = 0;
  char *data = test_read_file(path, &len);
  g_assert_nonnull(data);
  g_assert_cmpuint(len % 4, ==, 0);
  *n = len / 4;
  return (float *)data;
}

static char *tmp_path(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}

/* ---- help ------------------------------------------------------------------- */

static void test_help(void)
{
  static const char *const cmds[] = {"run", "chat", "logits", "bench", "make-model"};
  for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
    cli_result r;
    if (!run_cli(&r, cmds[i], "--help")) return;
    assert_ok(&r);
    char *want = g_strdup_printf("Usage: still %s", cmds[i]);
    g_assert_true(g_str_has_prefix(r.out, want));
    g_free(want);
    g_assert_cmpstr(r.err, ==, "");
    cli_result_clear(&r);
  }
  cli_result r;
  if (!run_cli(&r, "--help")) return;
  for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) g_assert_nonnull(strstr(r.out, cmds[i]));
  cli_result_clear(&r);
}

/* ---- run: greedy output of stories260K equals llama.cpp's ----------------- */

static void test_run_greedy(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  cJSON *ref = fixture_json("reference/stories260K.json");
  if (!model || !ref) {
    g_free(model);
    cJSON_Delete(ref);
    return;
  }
  const cJSON *from_bos = cJSON_GetObjectItemCaseSensitive(ref, "from_bos");
  GArray *want = ids_from_json(cJSON_GetObjectItemCaseSensitive(from_bos, "greedy_200_ids"));
  g_assert_cmpuint(want->len, ==, 200);

  /* the BOS id as given */
  cli_result r;
  if (!run_cli(&r, "run", "-m", model, "--prompt-ids", "1", "-n", "200", "--temp", "0", "--ids", "-t", "1")) goto out;
  assert_ok(&r);
  GArray *got = ids_from_line(r.out);
  assert_same_ids(got, want, "run --prompt-ids 1");
  g_array_free(got, TRUE);
  /* the timing line: 1 prompt token, 200 generated */
  char *stats = find_line(r.err, "prompt: ");
  g_assert_nonnull(stats);
  g_assert_true(g_str_has_prefix(stats, "prompt: 1 tokens (0 cached), "));
  g_assert_nonnull(strstr(stats, "generated: 200 tokens, "));
  g_assert_nonnull(strstr(stats, "TTFT: "));
  g_free(stats);
  cli_result_clear(&r);

  /* -p "": the tokenizer adds BOS (SentencePiece default) and nothing else */
  if (!run_cli(&r, "run", "-m", model, "-p", "", "-n", "200", "--temp", "0", "--ids", "--quiet")) goto out;
  assert_ok(&r);
  g_assert_cmpstr(r.err, ==, "");
  got = ids_from_line(r.out);
  assert_same_ids(got, want, "run -p \"\"");
  g_array_free(got, TRUE);
  cli_result_clear(&r);

  /* streamed text equals llama.cpp's concatenated pieces */
  if (!run_cli(&r, "run", "-m", model, "-p", "", "-n", "200", "--temp", "0", "-q")) goto out;
  assert_ok(&r);
  g_assert_cmpstr(r.out, ==, json_str(from_bos, "greedy_200_text"));
  cli_result_clear(&r);

  /* -n limits, --verbose-prompt shows the BOS */
  if (!run_cli(&r, "run", "-m", model, "-p", "", "-n", "5", "--temp", "0", "--ids", "--verbose-prompt", "-q")) goto out;
  assert_ok(&r);
  got = ids_from_line(r.out);
  g_assert_cmpuint(got->len, ==, 5);
  for (guint i = 0; i < 5; i++) g_assert_cmpint(g_array_index(got, int, i), ==, g_array_index(want, int, i));
  g_array_free(got, TRUE);
  g_assert_cmpstr(r.err, ==, "prompt ids: 1\n");
  cli_result_clear(&r);

  /* sampling with a seed is reproducible */
  cli_result r2;
  if (!run_cli(&r, "run", "-m", model, "-p", "Once", "-n", "30", "--temp", "1.0", "--seed", "7", "--ids", "-q"))
    goto out;
  if (!run_cli(&r2, "run", "-m", model, "-p", "Once", "-n", "30", "--temp", "1.0", "--seed", "7", "--ids", "-q"))
    goto out;
  assert_ok(&r);
  assert_ok(&r2);
  g_assert_cmpstr(r.out, ==, r2.out);
  cli_result_clear(&r2);
  cli_result_clear(&r);
out:
  g_array_free(want, TRUE);
  cJSON_Delete(ref);
  g_free(model);
}

/* ---- logits: tiny-qwen2-F32 against the reference --------------------------- */

static void test_logits(void)
{
  char *model = test_fixture_path("models/tiny-qwen2-F32.gguf");
  char *last = test_fixture_path("reference/tiny-qwen2-F32.last.f32");
  cJSON *ref = fixture_json("reference/tiny-qwen2-F32.json");
  if (!model || !last || !ref) goto out;
  GArray *ids = ids_from_json(cJSON_GetObjectItemCaseSensitive(ref, "prompt_ids"));
  g_assert_cmpuint(ids->len, ==, 24);
  char *ids_arg = ids_text(ids);
  g_array_free(ids, TRUE);
  char *out_last = tmp_path("last.f32"), *out_all = tmp_path("all.f32");
  gsize n_ref = 0, n_last = 0, n_all = 0;
  float *want = read_floats(last, &n_ref);
  g_assert_cmpuint(n_ref, ==, 8000);

  cli_result r;
  if (run_cli(&r, "logits", "-m", model, "--prompt-ids", ids_arg, "--out", out_last, "--kv-type", "f32")) {
    assert_ok(&r);
    cli_result_clear(&r);
    float *got = read_floats(out_last, &n_last);
    g_assert_cmpuint(n_last, ==, 8000);
    double max_diff = 0;
    for (gsize i = 0; i < n_ref; i++) max_diff = fmax(max_diff, fabs((double)got[i] - want[i]));
    g_test_message("last position: max |diff| %.3g", max_diff);
    g_assert_cmpfloat(max_diff, <, 1e-4);
    g_free(got);
  }
  if (run_cli(&r, "logits", "-m", model, "--prompt-ids", ids_arg, "-o", out_all, "--all", "--kv-type", "f32",
              "-t", "2")) {
    assert_ok(&r);
    cli_result_clear(&r);
    float *got = read_floats(out_all, &n_all);
    g_assert_cmpuint(n_all, ==, 24 * 8000);
    double max_diff = 0;
    for (gsize i = 0; i < n_ref; i++) max_diff = fmax(max_diff, fabs((double)got[23 * 8000 + i] - want[i]));
    g_assert_cmpfloat(max_diff, <, 1e-4);
    /* earlier positions: the reference top-16 logits */
    const cJSON *tops = cJSON_GetObjectItemCaseSensitive(ref, "top_logits"), *t;
    int checked = 0;
    cJSON_ArrayForEach(t, tops)
    {
      int pos = (int)json_num(t, "pos");
      const cJSON *pair;
      cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(t, "top16"))
      {
        int id = cJSON_GetArrayItem(pair, 0)->valueint;
        double v = cJSON_GetArrayItem(pair, 1)->valuedouble;
        g_assert_cmpfloat(fabs(got[(gsize)pos * 8000 + (gsize)id] - v), <, 1e-4);
        checked++;
      }
    }
    g_assert_cmpint(checked, ==, 64);
    g_free(got);
  }
  g_free(want);
  g_free(out_last);
  g_free(out_all);
  g_free(ids_arg);
out:
  cJSON_Delete(ref);
  g_free(model);
  g_free(last);
}

/* ---- run --chat renders the template ---------------------------------------- */

static void check_chat_case(const char *model, const cJSON *cases, const char *name)
{
  const cJSON *c = NULL, *it;
  cJSON_ArrayForEach(it, cases)
  if (strcmp(json_str(it, "name"), name) == 0) c = it;
  g_assert_nonnull(c);
  const char *system = NULL, *user = NULL;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c, "messages"))
  {
    if (strcmp(json_str(it, "role"), "system") == 0) system = json_str(it, "content");
    if (strcmp(json_str(it, "role"), "user") == 0) user = json_str(it, "content");
  }
  g_assert_nonnull(user);
  /* the expected rendering, tokenized with special tokens parsed */
  cli_result tok;
  if (!run_cli_stdin(&tok, json_str(c, "expected"), -1, "tokenize", "-m", model, "--parse-special", "-")) return;
  assert_ok(&tok);
  GArray *want = ids_from_line(tok.out);
  cli_result_clear(&tok);

  cli_result r;
  gboolean ran = system ? run_cli(&r, "run", "-m", model, "--chat", "--system", system, "-p", user, "-n", "2",
                                  "--temp", "0", "--verbose-prompt", "-q")
                        : run_cli(&r, "run", "-m", model, "--chat", "-p", user, "-n", "2", "--temp", "0",
                                  "--verbose-prompt", "-q");
  if (ran) {
    assert_ok(&r);
    char *line = find_line(r.err, "prompt ids: ");
    g_assert_nonnull(line);
    GArray *got = ids_from_line(line + strlen("prompt ids: "));
    assert_same_ids(got, want, name);
    /* exactly one BOS (7903), first */
    g_assert_cmpint(g_array_index(got, int, 0), ==, 7903);
    for (guint i = 1; i < got->len; i++) g_assert_cmpint(g_array_index(got, int, i), !=, 7903);
    g_array_free(got, TRUE);
    g_free(line);
    cli_result_clear(&r);
  }
  g_array_free(want, TRUE);
}

static void test_run_chat(void)
{
  char *model = test_fixture_path("models/tiny-qwen2-Q8_0.gguf");
  cJSON *tmpl = fixture_json("chat-templates/deepseek-r1-distill-qwen.json");
  if (model && tmpl) {
    const cJSON *cases = cJSON_GetObjectItemCaseSensitive(tmpl, "cases");
    check_chat_case(model, cases, "single_user");
    check_chat_case(model, cases, "system_user");
    check_chat_case(model, cases, "non_ascii_user");
  }
  cJSON_Delete(tmpl);
  g_free(model);
}

/* ---- chat: piped turns, prefix reuse, /reset ------------------------------- */

static void test_chat_pipe(void)
{
  char *model = test_fixture_path("models/tiny-qwen2-Q8_0.gguf");
  if (!model) return;
  cli_result r;
  if (run_cli_stdin(&r, "Hello there\nAnd a second question?\n/reset\nStart again\n", -1, "chat", "-m", model, "-n",
                    "6", "--temp", "0", "--stats", "-t", "1")) {
    assert_ok(&r);
    char *t1 = find_line(r.err, "turn 1: prompt: "), *t2 = find_line(r.err, "turn 2: prompt: ");
    char *t3 = find_line(r.err, "turn 3: prompt: ");
    g_assert_nonnull(t1);
    g_assert_nonnull(t2);
    g_assert_nonnull(t3);
    g_test_message("%s\n%s\n%s", t1, t2, t3);
    g_assert_cmpint(cached_of(t1 + 8), ==, 0);
    /* the second turn reuses the first turn's cache (template prefix + turn 1) */
    g_assert_cmpint(cached_of(t2 + 8), >=, 8);
    g_assert_nonnull(strstr(t2, "generated: 6 tokens"));
    /* after /reset nothing is reused */
    g_assert_cmpint(cached_of(t3 + 8), ==, 0);
    /* three replies, each starting inside the R1 reasoning block */
    int replies = 0;
    for (const char *p = r.out; (p = strstr(p, "<think>\n")); p++) replies++;
    g_assert_cmpint(replies, ==, 3);
    g_free(t1);
    g_free(t2);
    g_free(t3);
    cli_result_clear(&r);
  }
  /* /exit stops before the rest; empty input exits cleanly */
  if (run_cli_stdin(&r, "/exit\nnot read\n", -1, "chat", "-m", model, "-n", "2", "--stats")) {
    assert_ok(&r);
    g_assert_null(strstr(r.err, "turn 1"));
    cli_result_clear(&r);
  }
  if (run_cli_stdin(&r, "", -1, "chat", "-m", model)) {
    assert_ok(&r);
    cli_result_clear(&r);
  }
  g_free(model);
}

/* Ctrl+C stops a reply; two at the prompt quit. */
static void test_chat_sigint(void)
{
  char *model = test_fixture_path("models/tiny-qwen2-Q8_0.gguf");
  const char *cli = cli_path();
  if (!model || !cli) {
    g_free(model);
    return;
  }
  const char *argv[] = {cli, "chat", "-m", model, "--ignore-eos", "-c", "4096", "-t", "1", "--stats", NULL};
  int in_fd, out_fd, err_fd;
  GPid pid = cli_spawn_piped(argv, &in_fd, &out_fd, &err_fd);
  GString *out = g_string_new(NULL), *err = g_string_new(NULL);
  g_assert_cmpint(write(in_fd, "Tell me a long story\n", 21), ==, 21);
  /* the reply is streaming (it would run until the context is full) */
  gboolean streaming = cli_wait_for_text(out_fd, out, "<think>\n", 60000);
  g_assert_true(streaming);
  g_usleep(100000);
  kill(pid, SIGINT);
  gboolean stopped = cli_wait_for_text(err_fd, err, "turn 1: ", 60000);
  if (!stopped) g_test_message("stderr: %s", err->str);
  g_assert_true(stopped);
  g_assert_nonnull(strstr(err->str, "(stopped)"));
  g_assert_true(cli_wait_for_text(err_fd, err, "stop: cancelled", 5000));
  /* at the prompt: the first Ctrl+C only warns, the second quits */
  g_usleep(100000);
  kill(pid, SIGINT);
  g_assert_true(cli_wait_for_text(err_fd, err, "Ctrl+C again", 10000));
  kill(pid, SIGINT);
  int code = cli_wait_exit(pid, 20000);
  g_assert_cmpint(code, ==, 0);
  g_spawn_close_pid(pid);
  close(in_fd);
  close(out_fd);
  close(err_fd);
  g_string_free(out, TRUE);
  g_string_free(err, TRUE);
  g_free(model);
}

/* Ctrl+C stops `still run`: the text so far stays on stdout, the statistics and a line saying
 * so follow on stderr, the prefix asked for is saved, and the exit status is 130. */
static void test_run_sigint(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  const char *cli = cli_path();
  if (!model || !cli) {
    g_free(model);
    return;
  }
  char *dir = g_dir_make_tmp("still-run-sigint-XXXXXX", NULL);
  char *prefix = g_build_filename(dir, "prefix.bin", NULL);
  /* with --ignore-eos it would run until the context of 2048 is full */
  const char *argv[] = {cli,    "run", "-m", model, "-p", "Once", "--ignore-eos", "-c", "2048", "-t", "1",
                        "--save-prefix", prefix, NULL};
  int out_fd, err_fd;
  GPid pid = cli_spawn_piped(argv, NULL, &out_fd, &err_fd);
  GString *out = g_string_new(NULL), *err = g_string_new(NULL);
  g_assert_true(cli_wait_for_text(out_fd, out, " upon a time", 60000));
  kill(pid, SIGINT);
  int code = cli_wait_exit(pid, 20000);
  cli_read_rest(out_fd, out);
  cli_read_rest(err_fd, err);
  g_test_message("exit %d; stderr: %s", code, err->str);
  g_assert_cmpint(code, ==, 130);
  g_assert_nonnull(strstr(err->str, "still: stopped (Ctrl+C) after "));
  g_assert_nonnull(strstr(err->str, "stop: cancelled"));
  g_assert_true(g_file_test(prefix, G_FILE_TEST_IS_REGULAR));
  g_spawn_close_pid(pid);
  close(out_fd);
  close(err_fd);
  g_remove(prefix);
  g_rmdir(dir);
  g_string_free(out, TRUE);
  g_string_free(err, TRUE);
  g_free(prefix);
  g_free(dir);
  g_free(model);
}

/* ---- bench -------------------------------------------------------------------- */

static void test_bench(void)
{
  char *model = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  if (!model) return;
  cli_result r;
  if (run_cli(&r, "bench", "-m", model, "-p", "16", "-n", "8", "-r", "2", "--json", "-t", "2", "--membw-size",
              "32M")) {
    assert_ok(&r);
    cJSON *j = cJSON_Parse(r.out);
    g_assert_nonnull(j);
    for (int k = 0; k < 2; k++) {
      const cJSON *o = cJSON_GetObjectItemCaseSensitive(j, k ? "tg_tok_s" : "pp_tok_s");
      g_assert_true(cJSON_IsObject(o));
      g_assert_cmpfloat(json_num(o, "mean"), >, 0);
      g_assert_cmpfloat(json_num(o, "sd"), >=, 0);
      g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(o, "samples")), ==, 2);
    }
    g_assert_cmpfloat(json_num(j, "threads"), ==, 2);
    g_assert_cmpstr(json_str(j, "backend"), ==, "cpu");
    const char *isa = json_str(j, "isa");
    g_assert_true(g_str_has_prefix(isa, "scalar") || g_str_has_prefix(isa, "avx2") || g_str_has_prefix(isa, "avx512"));
    g_assert_cmpfloat(json_num(j, "model_bytes"), >, 1e6);
    g_assert_cmpfloat(json_num(j, "n_params"), ==, 5671168); /* the manifest's tensor sizes summed */
    g_assert_cmpstr(json_str(j, "model"), ==, model);
    g_assert_cmpstr(json_str(j, "type"), ==, "Q4_K_M");
    g_assert_cmpfloat(json_num(j, "membw_gb_s"), >, 0);
    double eff = json_num(j, "decode_efficiency");
    g_assert_cmpfloat(eff, >, 0);
    /* weights per token: everything but token_embd (8000 x 256 Q4_K = 1152000 bytes) */
    g_assert_cmpfloat(json_num(j, "weight_bytes_per_token"), ==, json_num(j, "model_bytes") - 1152000);
    cJSON_Delete(j);
    cli_result_clear(&r);
  }
  /* the human table */
  if (run_cli(&r, "bench", "-m", model, "-p", "8", "-n", "4", "-r", "1")) {
    assert_ok(&r);
    g_assert_true(g_str_has_prefix(r.out, "| model"));
    g_assert_nonnull(strstr(r.out, " pp8 |"));
    g_assert_nonnull(strstr(r.out, " tg4 |"));
    cli_result_clear(&r);
  }
  /* at a depth: the cache holds 40 tokens before each test (llama-bench -d) */
  if (run_cli(&r, "bench", "-m", model, "-p", "8", "-n", "4", "-d", "40", "-r", "1")) {
    assert_ok(&r);
    g_assert_nonnull(strstr(r.out, " pp8 @ d40 |"));
    g_assert_nonnull(strstr(r.out, " tg4 @ d40 |"));
    cli_result_clear(&r);
  }
  /* a depth past the trained context is refused before any work */
  if (run_cli(&r, "bench", "-m", model, "-p", "8", "-n", "4", "-d", "1000000", "-r", "1")) {
    g_assert_cmpint(r.exit_code, ==, 1);
    g_assert_nonnull(strstr(r.err, "trained for"));
    cli_result_clear(&r);
  }
  if (run_cli(&r, "bench", "-m", model, "-p", "0", "-n", "2", "-d", "30", "-r", "1", "--json")) {
    assert_ok(&r);
    cJSON *j = cJSON_Parse(r.out);
    g_assert_nonnull(j);
    g_assert_cmpfloat(json_num(j, "n_depth"), ==, 30);
    g_assert_cmpfloat(json_num(cJSON_GetObjectItemCaseSensitive(j, "tg_tok_s"), "mean"), >, 0);
    cJSON_Delete(j);
    cli_result_clear(&r);
  }
  g_free(model);
}

/* ---- make-model ------------------------------------------------------------------ */

static void test_make_model(void)
{
  /* the tiny model's vocabulary: 8000 tokens padded to 151936, R1 template */
  char *vocab = test_fixture_path("models/tiny-qwen2-F32.gguf");
  if (!vocab) return;
  char *out = tmp_path("qwen-1.5b-1layer.gguf");
  cli_result r;
  if (!run_cli(&r, "make-model", "--shape", "r1-qwen-1.5b", "--layers", "1", "--type", "Q4_K_M", "--vocab", vocab,
               "-o", out, "--seed", "3"))
    goto out;
  assert_ok(&r);
  cli_result_clear(&r);

  if (run_cli(&r, "info", out, "--json")) {
    assert_ok(&r);
    cJSON *j = cJSON_Parse(r.out);
    g_assert_nonnull(j);
    g_assert_cmpstr(json_str(j, "arch"), ==, "qwen2");
    g_assert_cmpfloat(json_num(j, "n_embd"), ==, 1536);
    g_assert_cmpfloat(json_num(j, "n_head"), ==, 12);
    g_assert_cmpfloat(json_num(j, "n_head_kv"), ==, 2);
    g_assert_cmpfloat(json_num(j, "n_ff"), ==, 8960);
    g_assert_cmpfloat(json_num(j, "n_layers"), ==, 1);
    g_assert_cmpfloat(json_num(j, "vocab_size"), ==, 151936);
    g_assert_cmpstr(json_str(j, "file_type"), ==, "Q4_K_M");
    g_assert_cmpstr(json_str(j, "template_family"), ==, "r1-distill");
    /* Q4_K_M of one layer (a "more bits" layer): attn_v, ffn_down and output Q6_K */
    const cJSON *types = cJSON_GetObjectItemCaseSensitive(j, "types");
    g_assert_cmpfloat(json_num(types, "F32"), ==, 6);  /* norms x3, q/k/v biases */
    g_assert_cmpfloat(json_num(types, "Q4_K"), ==, 6); /* token_embd, q, k, o, gate, up */
    g_assert_cmpfloat(json_num(types, "Q6_K"), ==, 3);
    g_assert_cmpint(cJSON_GetArraySize(types), ==, 3);
    cJSON_Delete(j);
    cli_result_clear(&r);
  }

  /* the vocabulary: copied, then padded with UNUSED [PADn] tokens */
  gguf_file *f = NULL;
  still_error err = {0};
  g_assert_cmpint(gguf_open(out, &f, &err), ==, STILL_OK);
  const gguf_value *tokens = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
  const gguf_value *types = gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_COUNT);
  g_assert_nonnull(tokens);
  g_assert_nonnull(types);
  g_assert_cmpuint(tokens->v.arr.n, ==, 151936);
  g_assert_cmpuint(types->v.arr.n, ==, 151936);
  g_assert_true(gguf_str_eq(tokens->v.arr.strs[7901], "<｜User｜>"));
  g_assert_true(gguf_str_eq(tokens->v.arr.strs[8000], "[PAD8000]"));
  g_assert_true(gguf_str_eq(tokens->v.arr.strs[151935], "[PAD151935]"));
  int64_t t;
  g_assert_true(gguf_arr_i64(types, 151935, &t));
  g_assert_cmpint(t, ==, 5);
  g_assert_true(gguf_arr_i64(types, 7901, &t));
  g_assert_cmpint(t, ==, 3);
  uint32_t bos;
  g_assert_true(gguf_get_u32(f, "tokenizer.ggml.bos_token_id", &bos));
  g_assert_cmpuint(bos, ==, 7903);
  const gguf_tensor *emb = gguf_find_tensor(f, "token_embd.weight");
  g_assert_nonnull(emb);
  g_assert_cmpint(emb->ne[0], ==, 1536);
  g_assert_cmpint(emb->ne[1], ==, 151936);
  gguf_close(f);

  /* it runs, with finite logits */
  if (run_cli(&r, "run", "-m", out, "-p", "Hello", "-n", "4", "--temp", "0", "--ids", "-q", "-t", "2")) {
    assert_ok(&r);
    GArray *ids = ids_from_line(r.out);
    g_assert_cmpuint(ids->len, ==, 4);
    for (guint i = 0; i < ids->len; i++) g_assert_cmpint(g_array_index(ids, int, i), <, 151936);
    g_array_free(ids, TRUE);
    cli_result_clear(&r);
  }
  char *lpath = tmp_path("mm.f32");
  if (run_cli(&r, "logits", "-m", out, "--prompt-ids", "7903 100 200 300", "-o", lpath)) {
    assert_ok(&r);
    cli_result_clear(&r);
    gsize n = 0;
    float *l = read_floats(lpath, &n);
    g_assert_cmpuint(n, ==, 151936);
    double ss = 0;
    for (gsize i = 0; i < n; i++) {
      g_assert_true(isfinite(l[i]));
      ss += (double)l[i] * l[i];
    }
    /* not degenerate: logits spread like a real model's (rms of order 1) */
    double rms = sqrt(ss / (double)n);
    g_test_message("logit rms %.3f", rms);
    g_assert_cmpfloat(rms, >, 0.05);
    g_assert_cmpfloat(rms, <, 20);
    g_free(l);
  }
  g_remove(lpath);
  g_free(lpath);

  /* the same seed gives the same file; another seed another one */
  char *out2 = tmp_path("again.gguf");
  if (run_cli(&r, "make-model", "--shape", "qwen-1.5b", "--layers", "1", "--type", "Q4_K_M", "--vocab", vocab, "-o",
              out2, "--seed", "3")) {
    assert_ok(&r);
    cli_result_clear(&r);
    gsize la, lb;
    char *a = test_read_file(out, &la), *b = test_read_file(out2, &lb);
    g_assert_cmpuint(la, ==, lb);
    g_assert_true(memcmp(a, b, la) == 0);
    g_free(a);
    g_free(b);
  }
  g_remove(out2);
  g_free(out2);
out:
  g_remove(out);
  g_free(out);
  g_free(vocab);
}

/* ---- bad input -------------------------------------------------------------------- */

static void test_bad_input(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  char *qwen = test_fixture_path("models/tiny-qwen2-Q8_0.gguf");
  char *json = test_fixture_path("reference/stories260K.json");
  char *llama_vocab = test_fixture_path("vocab/ggml-vocab-qwen2.gguf");
  if (!model || !qwen || !json || !llama_vocab) goto out;
  char *nowhere = g_build_filename(tmp_dir, "no", "such", "dir", "x.f32", NULL);
  char *mm_out = tmp_path("bad.gguf");
  const char *const cases[][16] = {
    {"run", NULL},
    {"run", "-m", model, NULL},
    {"run", "-m", "/nonexistent/model.gguf", "-p", "x", NULL},
    {"run", "-m", json, "-p", "x", NULL},
    {"run", "-m", model, "-p", "x", "--prompt-ids", "1", NULL},
    {"run", "-m", model, "--prompt-ids", "1 x", NULL},
    {"run", "-m", model, "--prompt-ids", "1 512", NULL},
    {"run", "-m", model, "--prompt-ids", "-1", NULL},
    {"run", "-m", model, "--prompt-ids", " , ", NULL},
    {"run", "-m", model, "-p", "x", "--temp", "abc", NULL},
    {"run", "-m", model, "-p", "x", "--temp", "nan", NULL},
    {"run", "-m", model, "-p", "x", "--top-p", "2", NULL},
    {"run", "-m", model, "-p", "x", "-n", "0", NULL},
    {"run", "-m", model, "-p", "x", "-t", "0", NULL},
    {"run", "-m", model, "-p", "x", "--kv-type", "q4", NULL},
    {"run", "-m", model, "-p", "x", "--seed", "-3", NULL},
    {"run", "-m", model, "-p", "x", "--system", "s", NULL},
    {"run", "-m", model, "--prompt-ids", "1", "--chat", NULL},
    {"run", "-m", model, "-p", "x", "extra", NULL},
    {"run", "-m", model, "-p", "x", "--bogus", NULL},
    {"run", "-m", model, "--prompt-ids", "1 2 3 4 5 6 7 8 9 10", "-c", "4", NULL},
    /* device lists and splits that cannot be right, refused before anything runs (not a run on
     * the CPU that looks like an answer) */
    {"run", "-m", model, "-p", "x", "--device", "0,", NULL},
    {"run", "-m", model, "-p", "x", "--device", "", NULL},
    {"run", "-m", model, "-p", "x", "--device", "0,1,2,3,4,5,6,7,8", NULL},
    {"run", "-m", model, "-p", "x", "--device", "0", "--split", "1,1", NULL},
    {"chat", "-m", qwen, "--device", "0,1", "--split", "1,1,1", NULL},
    {"logits", "-m", model, "--prompt-ids", "1", "--out", nowhere, "--device", ",1", NULL},
    {"bench", "-m", model, "--device", "0,,1", NULL},
    {"bench", "-m", model, "--standard", "--split", "", NULL},
    {"logits", "-m", model, "--prompt-ids", "1", NULL},
    {"logits", "-m", model, "--out", nowhere, NULL},
    {"logits", "-m", model, "--prompt-ids", "1 2", "--out", nowhere, NULL},
    {"logits", "-m", model, "--prompt-ids", "", "--out", nowhere, NULL},
    {"chat", NULL},
    {"chat", "-m", qwen, "--temp", "-1", NULL},
    {"chat", "-m", qwen, "stray", NULL},
    {"bench", NULL},
    {"bench", "-m", model, "-p", "0", "-n", "0", NULL},
    {"bench", "-m", model, "-r", "0", NULL},
    {"bench", "-m", model, "--membw-size", "12Q", NULL},
    {"bench", "-m", json, NULL},
    {"make-model", NULL},
    {"make-model", "--shape", "r1-qwen-2b", "--type", "Q4_K_M", "--vocab", llama_vocab, "-o", mm_out, NULL},
    {"make-model", "--shape", "r1-qwen-1.5b", "--type", "Q9_K", "--vocab", llama_vocab, "-o", mm_out, NULL},
    {"make-model", "--shape", "r1-qwen-1.5b", "--type", "Q8_K", "--vocab", llama_vocab, "-o", mm_out, NULL},
    {"make-model", "--shape", "r1-qwen-1.5b", "--type", "Q4_K_M", "--vocab", "/nonexistent.gguf", "-o", mm_out, NULL},
    {"make-model", "--shape", "r1-qwen-1.5b", "--type", "Q4_K_M", "--vocab", llama_vocab, "-o", mm_out, "--layers",
     "0", NULL},
    {"make-model", "--shape", "r1-qwen-1.5b", "--type", "Q4_K_M", "--vocab", llama_vocab, "-o", mm_out, "--layers",
     "29", NULL},
    {"make-model", "--shape", "r1-qwen-1.5b", "--type", "Q4_K_M", "--vocab", llama_vocab, NULL},
    /* the Qwen vocabulary (151936 tokens) does not fit the Llama shape (128256) */
    {"make-model", "--shape", "r1-llama-8b", "--type", "Q4_K_M", "--vocab", llama_vocab, "-o", mm_out, "--layers",
     "1", NULL},
    {"make-model", "--shape", "r1-qwen-1.5b", "--type", "Q4_K_M", "--vocab", llama_vocab, "-o", nowhere, "--layers",
     "1", NULL},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    cli_result r;
    if (!run_cli_v(&r, NULL, 0, cases[i])) break;
    char *what = g_strjoinv(" ", (char **)cases[i]);
    assert_fails(&r, what);
    g_free(what);
    cli_result_clear(&r);
  }
  /* nothing is left behind by a failed make-model */
  g_assert_false(g_file_test(mm_out, G_FILE_TEST_EXISTS));
  g_free(nowhere);
  g_free(mm_out);
out:
  g_free(model);
  g_free(qwen);
  g_free(json);
  g_free(llama_vocab);
}

/* ---- run --save-prefix / --load-prefix --------------------------------------- */

static void test_run_prefix(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  if (!model) return;
  char *file = g_build_filename(tmp_dir, "prefix.kv", NULL);
  cli_result r;
  GArray *first = NULL;
  /* 20 greedy tokens after BOS; the cache (BOS + 19 evaluated ids) is saved */
  if (!run_cli(&r, "run", "-m", model, "--prompt-ids", "1", "-n", "20", "--temp", "0", "--ids", "-q", "--save-prefix",
               file))
    goto out;
  assert_ok(&r);
  first = ids_from_line(r.out);
  g_assert_cmpuint(first->len, ==, 20);
  g_assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR));
  cli_result_clear(&r);

  /* BOS + the first 10: all but the last prompt token come from the file, and the rest is the same */
  GString *p = g_string_new("1");
  for (guint i = 0; i < 10; i++) g_string_append_printf(p, " %d", g_array_index(first, int, i));
  if (!run_cli(&r, "run", "-m", model, "--prompt-ids", p->str, "-n", "10", "--temp", "0", "--ids", "--load-prefix",
               file)) {
    g_string_free(p, TRUE);
    goto out;
  }
  assert_ok(&r);
  char *stats = find_line(r.err, "prompt: ");
  g_assert_nonnull(stats);
  g_assert_true(g_str_has_prefix(stats, "prompt: 1 tokens (10 cached), "));
  g_free(stats);
  GArray *second = ids_from_line(r.out);
  g_assert_cmpuint(second->len, ==, 10);
  for (guint i = 0; i < 10; i++) g_assert_cmpint(g_array_index(second, int, i), ==, g_array_index(first, int, 10 + i));
  g_array_free(second, TRUE);
  cli_result_clear(&r);

  /* a file that does not fit (another KV cache type): a warning, then the whole prompt */
  gboolean ran = run_cli(&r, "run", "-m", model, "--prompt-ids", p->str, "-n", "2", "--temp", "0", "--ids",
                         "--kv-type", "f32", "--load-prefix", file);
  g_string_free(p, TRUE);
  if (!ran) goto out;
  assert_ok(&r);
  g_assert_nonnull(strstr(r.err, "still: warning: the prefix file "));
  g_assert_nonnull(strstr(r.err, "prompt: 11 tokens (0 cached), "));
  cli_result_clear(&r);

  /* a folder that does not exist: an error */
  char *nowhere = g_build_filename(tmp_dir, "no", "such", "dir", "x.kv", NULL);
  ran = run_cli(&r, "run", "-m", model, "--prompt-ids", "1", "-n", "2", "--temp", "0", "-q", "--save-prefix", nowhere);
  g_free(nowhere);
  if (!ran) goto out;
  g_assert_cmpint(r.exit_code, ==, 1);
  g_assert_nonnull(strstr(r.err, "still: cannot write the prefix file "));
  cli_result_clear(&r);
out:
  if (first) g_array_free(first, TRUE);
  g_remove(file);
  g_free(file);
  g_free(model);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp_dir = cli_harness_tmp_dir("still-cli-run-XXXXXX");

  g_test_add_func("/cli-run/help", test_help);
  g_test_add_func("/cli-run/run/greedy", test_run_greedy);
  g_test_add_func("/cli-run/run/chat-template", test_run_chat);
  g_test_add_func("/cli-run/run/prefix", test_run_prefix);
  g_test_add_func("/cli-run/logits", test_logits);
  g_test_add_func("/cli-run/chat/pipe", test_chat_pipe);
  g_test_add_func("/cli-run/chat/sigint", test_chat_sigint);
  g_test_add_func("/cli-run/run/sigint", test_run_sigint);
  g_test_add_func("/cli-run/bench", test_bench);
  g_test_add_func("/cli-run/make-model", test_make_model);
  g_test_add_func("/cli-run/bad-input", test_bad_input);
  int rc = g_test_run();
  cli_harness_cleanup();
  return rc;
}
