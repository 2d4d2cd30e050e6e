/* test-bench-standard.c — the published two-prompt benchmark: the prompts,
 * the check of the word problem's answer (a table of replies written the
 * ways models write them), the peak RSS probe, and `still bench --standard`
 * run as a person would on the stories260K fixture (every field, averages
 * recomputed from the per-run values, reproducible seeds, Ctrl+C, bad files).
 * /bench-standard/vulkan runs on lavapipe from the vulkan suite. */
#include "cli-harness.h"
#include "still.h"
#include "test-common.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- prompts ------------------------------------------------------------------ */

static void test_prompts(void)
{
  g_assert_cmpint(STILL_BENCH_N_PROMPTS, ==, 2);
  g_assert_cmpint(STILL_BENCH_MAX_TOKENS, ==, 512);
  g_assert_cmpint(STILL_BENCH_N_CTX, ==, 2048);
  g_assert_cmpstr(still_bench_prompt(0), ==,
                  "Solve step by step: A train travels 120 km at 60 km/h, then 180 km at 90 km/h. What is the "
                  "average speed for the entire journey?");
  g_assert_cmpstr(still_bench_prompt(1), ==,
                  "Write a Python function that implements binary search on a sorted list, including edge case "
                  "handling and type hints.");
  g_assert_cmpstr(still_bench_prompt_name(0), ==, "average-speed");
  g_assert_cmpstr(still_bench_prompt_name(1), ==, "binary-search");
  g_assert_null(still_bench_prompt(-1));
  g_assert_null(still_bench_prompt(2));
  g_assert_null(still_bench_prompt_name(2));
  g_assert_null(still_bench_prompt_name(-1));
}

/* ---- the answer check ------------------------------------------------------------ */

typedef struct {
  const char *text;
  bool ok;
} answer_case;

static const answer_case answer_cases[] = {
  /* plain statements of 75 km/h */
  {"The average speed is 75 km/h.", true},
  {"Average speed = 300 km / 4 h = 75 km/hr", true},
  {"So the train averages 75 kilometers per hour.", true},
  {"So the train averages 75 kilometres per hour over the journey.", true},
  {"Average speed: 75 km per hour", true},
  {"The answer is 75km/h", true},
  {"It is 75 kph.", true},
  {"**Answer:** 75 km/h", true},
  {"The average speed for the entire journey is **75 km/h**.", true},
  {"The average speed is 75.0 km/h.", true},
  /* LaTeX */
  {"Therefore the average speed is \\boxed{75}.", true},
  {"\\[\n\\boxed{75 \\text{ km/h}}\n\\]", true},
  {"$$v = \\frac{300 \\text{ km}}{4 \\text{ h}} = 75\\,\\text{km/h}$$", true},
  {"The average speed is $75 \\, \\text{km/h}$.", true},
  {"The average speed is \\( 75 \\mathrm{~km} / \\mathrm{h} \\).", true},
  {"v = 75\\ \\text{km}\\cdot\\text{h}^{-1}", true},
  {"\\boxed{\\dfrac{300}{4} = 75}", true},
  /* reasoning, then the final answer after </think> */
  {"Maybe it is (60+90)/2 = 75? No: the harmonic mean 2*60*90/150 = 72 km/h... wait, the distances differ. "
   "Time is 2 h and 2 h, so 300/4 = 75 km/h.\n</think>\n\nThe average speed is **75 km/h**.",
   true},
  {"The harmonic mean would be 72 km/h, but the times are 2 h each.</think>\n\\boxed{75\\text{ km/h}}", true},
  {"Let me compute: 300 km over 4 hours is 75 km/h.\n</think>\nThe average speed is 72 km/h.", false},
  {"I get 75 km/h.</think>\n\\boxed{72}", false},
  {"75 km/h</think>", false}, /* nothing after the reasoning: no answer */
  /* given speeds restated after the answer do not count */
  {"The average speed is 75 km/h (the train ran at 60 km/h and then at 90 km/h).", true},
  /* the final answer weighs both: the last one counts */
  {"First I thought 72 km/h, but the correct average speed is 75 km/h.", true},
  {"It is 75 km/h if you average the speeds; the real answer is 72 km/h.", false},
  {"\\boxed{72}\nWait, that is wrong.\n\\boxed{75}", true},
  {"\\boxed{75}\nHmm, actually \\boxed{72}", false},
  /* Chinese around the number */
  {"因此，整个行程的平均速度是75 km/h。", true},
  {"所以平均速度为 **75 公里/小时**。", true},
  {"答：火车的平均速度是每小时75公里。", true},
  {"平均速度 = 300 ÷ 4 = 72 千米/小时", false},
  {"思考完毕</think>\n最终答案：\\boxed{75}", true},
  /* wrong numbers */
  {"The average speed is 72 km/h.", false},
  {"The average speed is 175 km/h.", false},
  {"The average speed is 75.5 km/h.", false},
  {"The average speed is 7.5 km/h.", false},
  {"The average speed is 1,075 km/h.", false},
  {"\\boxed{72 \\text{ km/h}}", false},
  {"The average speed is 74 kilometers per hour.", false},
  {"Once upon a time there was a little train.", false},
  {"", false},
  /* no unit: the last number in bold, else the last number */
  {"Total distance 300, total time 4, so the answer is **75**.", true},
  {"300 / 4 = 75", true},
  {"300 / 4 = 75, or is it 72", false},
  {"The train took 75 minutes.", false}, /* a number with another unit is no answer */
  {"It covers 75 km in the first hour.", false},
};

static void test_answer_check(void)
{
  int n_ok = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(answer_cases); i++) {
    const answer_case *c = &answer_cases[i];
    bool want = c->ok;
    bool got = still_bench_answer_ok(0, c->text);
    if (got != want) g_test_message("case %zu: '%s': expected %s, got %s", i, c->text, want ? "ok" : "not ok",
                                    got ? "ok" : "not ok");
    g_assert_cmpint(got, ==, want);
    n_ok += got;
  }
  g_assert_cmpuint(G_N_ELEMENTS(answer_cases), >=, 25);
  g_assert_cmpint(n_ok, >=, 10);
  /* only prompt 0 has an answer to check */
  g_assert_false(still_bench_answer_ok(1, "The average speed is 75 km/h."));
  g_assert_false(still_bench_answer_ok(-1, "The average speed is 75 km/h."));
  g_assert_false(still_bench_answer_ok(0, NULL));
  /* an unclosed box cut off by the token limit still counts */
  g_assert_true(still_bench_answer_ok(0, "\\boxed{75"));
  g_assert_false(still_bench_answer_ok(0, "\\boxed{72 \\text{km/"));
}

/* ---- peak RSS ------------------------------------------------------------------------ */

static void test_peak_rss(void)
{
  uint64_t before = still_peak_rss_bytes();
  g_assert_cmpuint(before, >, 0);
  const size_t n = (size_t)64 << 20;
  /* mmap, not malloc: free() under ASan keeps memory in quarantine */
  char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  g_assert_true(p != MAP_FAILED);
  for (size_t i = 0; i < n; i += 4096) p[i] = (char)i;
  uint64_t peak = still_peak_rss_bytes();
  g_assert_cmpuint(peak, >=, n);
  munmap(p, n);
  /* a high-water mark stays (the kernel's RSS counters are approximate: a
   * little slack) */
  g_assert_cmpuint(still_peak_rss_bytes(), >=, n);
  if (!still_peak_rss_reset()) {
    g_test_skip("this kernel does not allow resetting the peak RSS (/proc/self/clear_refs)");
    return;
  }
  uint64_t after = still_peak_rss_bytes();
  g_test_message("peak RSS: %" G_GUINT64_FORMAT " before, %" G_GUINT64_FORMAT " with 64 MiB, %" G_GUINT64_FORMAT
                 " after the reset",
                 before, peak, after);
  g_assert_cmpuint(after, >, 0);
  g_assert_cmpuint(after + (48u << 20), <=, peak);
}

/* ---- the CLI ------------------------------------------------------------------------------ */

static const char *const run_numbers[] = {"prompt_tokens", "prompt_tok_s", "gen_tok_s", "ttft_ms", "total_s",
                                          "gen_tokens", "peak_rss_bytes", "peak_vram_bytes"};

static const cJSON *field(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!v) g_error("field '%s' is missing", key);
  return v;
}

static void assert_rel(double got, double want, const char *what)
{
  double tol = 1e-9 * fmax(fabs(want), 1e-300);
  if (fabs(got - want) > tol) g_test_message("%s: %.17g, recomputed %.17g", what, got, want);
  g_assert_cmpfloat(fabs(got - want), <=, tol);
}

/* Check the JSON of a run with n_runs runs per prompt; returns it (cJSON_Delete). */
static cJSON *check_bench_json(const char *out, int n_runs, int max_tokens, const char *backend)
{
  cJSON *j = cJSON_Parse(out);
  if (!j) g_test_message("stdout is not JSON: %s", out);
  g_assert_nonnull(j);
  const char *strings[] = {"backend", "device", "offload", "version", "quant", "model"};
  for (size_t i = 0; i < G_N_ELEMENTS(strings); i++) g_assert_true(cJSON_IsString(field(j, strings[i])));
  g_assert_cmpstr(json_str(j, "backend"), ==, backend);
  g_assert_cmpstr(json_str(j, "version"), ==, STILL_VERSION);
  g_assert_cmpuint(strlen(json_str(j, "device")), >, 0);
  g_assert_true(g_str_has_prefix(json_str(j, "offload"), "offload: "));
  g_assert_cmpfloat(json_num(j, "threads"), >=, 1);
  g_assert_cmpfloat(json_num(j, "n_ctx"), ==, 2048);
  g_assert_cmpfloat(json_num(j, "max_tokens"), ==, max_tokens);

  const cJSON *runs = field(j, "runs");
  g_assert_true(cJSON_IsArray(runs));
  g_assert_cmpint(cJSON_GetArraySize(runs), ==, 2 * n_runs);
  const cJSON *avgs = field(j, "averages");
  g_assert_true(cJSON_IsObject(avgs));
  for (int p = 0; p < 2; p++) {
    const char *name = still_bench_prompt_name(p);
    double sums[G_N_ELEMENTS(run_numbers)] = {0};
    int count = 0, ok_runs = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, runs)
    {
      g_assert_true(cJSON_IsString(field(r, "prompt")));
      if (strcmp(json_str(r, "prompt"), name) != 0) continue;
      count++;
      g_assert_cmpfloat(json_num(r, "run"), ==, count); /* in order, from 1 */
      g_assert_cmpfloat(json_num(r, "seed"), ==, count); /* seed = run index + 1 */
      for (size_t k = 0; k < G_N_ELEMENTS(run_numbers); k++) {
        double v = json_num(r, run_numbers[k]);
        g_assert_cmpfloat(v, >=, 0);
        sums[k] += v; /* in run order, as the CLI sums them */
      }
      g_assert_cmpfloat(json_num(r, "prompt_tok_s"), >, 0);
      g_assert_cmpfloat(json_num(r, "gen_tok_s"), >, 0);
      g_assert_cmpfloat(json_num(r, "ttft_ms"), >, 0);
      g_assert_cmpfloat(json_num(r, "total_s"), >, 0);
      g_assert_cmpfloat(json_num(r, "total_s") * 1e3, >=, json_num(r, "ttft_ms"));
      g_assert_cmpfloat(json_num(r, "prompt_tokens"), >, 10);
      g_assert_cmpfloat(json_num(r, "gen_tokens"), >=, 1);
      g_assert_cmpfloat(json_num(r, "gen_tokens"), <=, max_tokens);
      g_assert_cmpfloat(json_num(r, "peak_rss_bytes"), >, 1 << 20);
      g_assert_true(cJSON_IsString(field(r, "text")));
      const cJSON *ok = field(r, "answer_ok");
      if (p == 0) {
        g_assert_true(cJSON_IsBool(ok));
        /* the CLI's verdict is the engine's check of the text it printed */
        g_assert_cmpint(cJSON_IsTrue(ok), ==, still_bench_answer_ok(0, json_str(r, "text")));
        ok_runs += cJSON_IsTrue(ok);
      } else {
        g_assert_true(cJSON_IsNull(ok));
      }
    }
    g_assert_cmpint(count, ==, n_runs);
    const cJSON *a = field(avgs, name);
    g_assert_true(cJSON_IsObject(a));
    for (size_t k = 0; k < G_N_ELEMENTS(run_numbers); k++) {
      char what[64];
      g_snprintf(what, sizeof what, "%s average of %s", name, run_numbers[k]);
      assert_rel(json_num(a, run_numbers[k]), sums[k] / n_runs, what);
    }
    if (p == 0) g_assert_cmpfloat(json_num(a, "answer_ok_runs"), ==, ok_runs);
  }
  return j;
}

static void test_cli_stories(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  if (!model) return;
  cli_result r;
  if (run_cli(&r, "bench", "--standard", "-m", model, "--runs", "2", "--json", "-t", "2")) {
    if (r.exit_code != 0) g_test_message("stderr: %s", r.err);
    g_assert_cmpint(r.exit_code, ==, 0);
    cJSON *j = check_bench_json(r.out, 2, 512, "cpu");
    g_assert_cmpfloat(json_num(j, "threads"), ==, 2);
    g_assert_cmpstr(json_str(j, "quant"), ==, "F32"); /* no general.file_type: every matrix is F32 */
    g_assert_cmpstr(json_str(j, "model"), ==, "llama");
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(j, "runs"))
    {
      g_assert_cmpfloat(json_num(run, "peak_vram_bytes"), ==, 0);
      /* a tiny story model does not solve word problems */
      const cJSON *ok = cJSON_GetObjectItemCaseSensitive(run, "answer_ok");
      g_assert_false(cJSON_IsTrue(ok));
    }
    /* progress on stderr, not stdout */
    g_assert_nonnull(strstr(r.err, "warm-up"));
    g_assert_nonnull(strstr(r.err, "run 2/2 of average-speed"));
    g_assert_nonnull(strstr(r.err, "run 1/2 of binary-search"));

    /* reproducible: run 1 (seed 1) of a second invocation writes the same
     * text, and it is what `still run --chat --seed 1` writes for the same
     * prompt (same template, sampling, seed and limit) */
    const char *text0 = json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "runs"), 0), "text");
    g_assert_cmpuint(strlen(text0), >, 20);
    cli_result again;
    if (run_cli(&again, "bench", "--standard", "-m", model, "--runs", "1", "--json", "-t", "1")) {
      g_assert_cmpint(again.exit_code, ==, 0);
      cJSON *j2 = cJSON_Parse(again.out);
      g_assert_nonnull(j2);
      g_assert_cmpstr(json_str(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j2, "runs"), 0), "text"), ==,
                      text0);
      cJSON_Delete(j2);
      cli_result_clear(&again);
    }
    cli_result plain;
    if (run_cli(&plain, "run", "-m", model, "--chat", "-p", still_bench_prompt(0), "--seed", "1", "-n", "512", "-c",
                "2048", "-t", "2")) {
      g_assert_cmpint(plain.exit_code, ==, 0);
      g_assert_cmpstr(plain.out, ==, text0);
      cli_result_clear(&plain);
    }
    cJSON_Delete(j);
    cli_result_clear(&r);
  }
  g_free(model);
}

static void test_cli_table(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  if (!model) return;
  cli_result r;
  if (run_cli(&r, "bench", "--standard", "-m", model, "--runs", "1", "-n", "16", "-t", "1")) {
    g_assert_cmpint(r.exit_code, ==, 0);
    g_assert_nonnull(strstr(r.out, "| prompt "));
    g_assert_nonnull(strstr(r.out, "tg t/s"));
    g_assert_nonnull(strstr(r.out, "backend: cpu"));
    g_assert_nonnull(strstr(r.out, "| average-speed |       1 |"));
    g_assert_nonnull(strstr(r.out, "| binary-search |     avg |"));
    g_assert_nonnull(strstr(r.out, "| 0/1 "));
    cli_result_clear(&r);
  }
  /* the ordinary bench still works and its help names --standard */
  if (run_cli(&r, "bench", "--help")) {
    g_assert_cmpint(r.exit_code, ==, 0);
    g_assert_nonnull(strstr(r.out, "--standard"));
    cli_result_clear(&r);
  }
  if (run_cli(&r, "bench", "--standard", "--help")) {
    g_assert_cmpint(r.exit_code, ==, 0);
    g_assert_nonnull(strstr(r.out, "--runs"));
    cli_result_clear(&r);
  }
  g_free(model);
}

static void assert_plain_failure(const cli_result *r, const char *what)
{
  if (r->exit_code != 1 || r->out[0]) g_test_message("%s: exit %d, stdout '%s', stderr '%s'", what, r->exit_code,
                                                     r->out, r->err);
  g_assert_cmpint(r->exit_code, ==, 1);
  g_assert_cmpstr(r->out, ==, "");
  g_assert_nonnull(strstr(r->err, "still: "));
}

static void test_cli_bad_input(void)
{
  const char *dir = cli_harness_tmp_dir(NULL);
  char *bad = g_build_filename(dir, "not-a-model.gguf", NULL);
  g_assert_true(g_file_set_contents(bad, "this is not a GGUF file at all, just text", -1, NULL));
  cli_result r;
  if (run_cli(&r, "bench", "--standard", "-m", bad, "--json")) {
    assert_plain_failure(&r, "a text file");
    cli_result_clear(&r);
  }
  char *missing = g_build_filename(dir, "missing.gguf", NULL);
  if (run_cli(&r, "bench", "--standard", "-m", missing)) {
    assert_plain_failure(&r, "a missing file");
    cli_result_clear(&r);
  }
  if (run_cli(&r, "bench", "--standard")) {
    assert_plain_failure(&r, "no model");
    cli_result_clear(&r);
  }
  char *model = test_fixture_path("models/stories260K.gguf");
  if (model && run_cli(&r, "bench", "--standard", "-m", model, "--runs", "0")) {
    assert_plain_failure(&r, "--runs 0");
    cli_result_clear(&r);
  }
  if (model && run_cli(&r, "bench", "--standard", "-m", model, "-n", "513")) {
    assert_plain_failure(&r, "-n 513");
    cli_result_clear(&r);
  }
  g_free(model);
  g_free(missing);
  g_free(bad);
}

/* ---- Ctrl+C ------------------------------------------------------------------------------ */

static void test_cli_sigint(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  const char *cli = g_getenv("STILL_CLI");
  if (!cli || !*cli) g_test_skip("STILL_CLI is not set (run through meson test)");
  if (!model || !cli || !*cli) {
    g_free(model);
    return;
  }
  /* 1000 runs per prompt would take minutes: only Ctrl+C ends it soon */
  const char *argv[] = {cli, "bench", "--standard", "-m", model, "--runs", "1000", "--json", "-t", "1", NULL};
  int out_fd, err_fd;
  GPid pid = cli_spawn_piped(argv, NULL, &out_fd, &err_fd);
  GString *out = g_string_new(NULL), *err = g_string_new(NULL);
  /* after the warm-up, during the timed runs */
  gboolean running = cli_wait_for_text(err_fd, err, "run 2/1000 of average-speed", 60000);
  if (!running) g_test_message("stderr: %s", err->str);
  g_assert_true(running);
  gint64 t0 = g_get_monotonic_time();
  kill(pid, SIGINT);
  const int code = cli_wait_exit(pid, 10000);
  double secs = (g_get_monotonic_time() - t0) / 1e6;
  cli_read_rest(err_fd, err);
  cli_read_rest(out_fd, out);
  g_test_message("exit %d after %.2f s; stderr: %s", code, secs, err->str);
  g_assert_cmpint(code, ==, 1); /* an exit, not death by the signal */
  g_assert_cmpfloat(secs, <, 5.0);
  g_assert_nonnull(strstr(err->str, "still: the benchmark was interrupted"));
  g_assert_cmpstr(out->str, ==, ""); /* no half result on stdout */
  g_spawn_close_pid(pid);
  close(out_fd);
  close(err_fd);
  g_string_free(out, TRUE);
  g_string_free(err, TRUE);
  g_free(model);
}

/* ---- Vulkan (lavapipe; the vulkan suite sets STILL_TEST_LAVAPIPE) ------------------------- */

static void test_cli_vulkan(void)
{
  if (!g_getenv("STILL_TEST_LAVAPIPE")) {
    g_test_skip("runs in the vulkan suite (lavapipe)");
    return;
  }
  char *model = test_fixture_path("models/stories260K.gguf");
  if (!model) return;
  cli_result r;
  /* a few tokens: lavapipe is slow, the point is where the layers run and the memory count */
  if (run_cli(&r, "bench", "--standard", "-m", model, "--runs", "1", "-n", "8", "-ngl", "-1", "--json")) {
    if (r.exit_code != 0) g_test_message("stderr: %s", r.err);
    g_assert_cmpint(r.exit_code, ==, 0);
    cJSON *j = check_bench_json(r.out, 1, 8, "vulkan");
    g_assert_true(g_str_has_prefix(json_str(j, "device"), "Vulkan"));
    g_assert_true(g_str_has_prefix(json_str(j, "offload"), "offload: 5/5 layers on Vulkan"));
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(j, "runs"))
    {
      /* the weights alone are 1.1 MB of F32; the KV cache of 2048 positions adds more */
      double vram = json_num(run, "peak_vram_bytes");
      g_assert_cmpfloat(vram, >, 1.1e6);
      g_assert_cmpfloat(vram, <, 256e6);
    }
    cJSON_Delete(j);
    cli_result_clear(&r);
  }
  g_free(model);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  cli_harness_tmp_dir("still-bench-std-XXXXXX");
  g_test_add_func("/bench-standard/prompts", test_prompts);
  g_test_add_func("/bench-standard/answer-check", test_answer_check);
  g_test_add_func("/bench-standard/peak-rss", test_peak_rss);
  g_test_add_func("/bench-standard/cli/stories260K", test_cli_stories);
  g_test_add_func("/bench-standard/cli/table", test_cli_table);
  g_test_add_func("/bench-standard/cli/bad-input", test_cli_bad_input);
  g_test_add_func("/bench-standard/cli/sigint", test_cli_sigint);
  g_test_add_func("/bench-standard/vulkan", test_cli_vulkan);
  int rc = g_test_run();
  cli_harness_cleanup();
  return rc;
}
