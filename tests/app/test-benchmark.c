/* test-benchmark.c — the Benchmark view's pieces: averages over raw per-run
 * values (checked against figures computed by hand), the backend read from
 * the engine's offload line, CSV/JSON export, results kept in the history
 * across a reopen, a whole benchmark of the stories260K fixture through the
 * engine worker, cancel, a failing load, the published figures, the chart
 * rendered with 0, 1 and 5 bars, and the page showing stored results. */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "distill-bench-chart.h"
#include "distill-benchmark-page.h"
#include "distill-benchmark.h"
#include "distill-load-settings.h"
#include "distill-offload.h"
#include "distill-resources.h"
#include "still.h"
#include "test-util.h"

static char *temp_dir(void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp("distill-bench-XXXXXX", &error);
  g_assert_no_error(error);
  return dir;
}

/* ---- recorded runs (values as an engine might report them) ---- */

static DistillBenchRun *make_run(gint64 bench, const char *model, int prompt, int run, double pts, double gts,
                                 double ttft, double total, int tokens, guint64 rss, int answer)
{
  DistillBenchRun *r = distill_bench_run_new();
  r->bench_id = bench;
  r->created = G_GINT64_CONSTANT(1764110400) * G_USEC_PER_SEC; /* 2025-11-25 22:40 UTC */
  r->model_path = g_strdup_printf("/models/%s.gguf", model);
  r->model_name = g_strdup(model);
  r->quant = g_strdup("Q4_K_M");
  r->backend = g_strdup("CPU");
  r->device = g_strdup("");
  r->offload = g_strdup("offload: 0/28 layers on a GPU (CPU only)");
  r->version = g_strdup("0.1.0");
  r->threads = 8;
  r->prompt = prompt;
  r->prompt_name = g_strdup(still_bench_prompt_name(prompt));
  r->run = run;
  r->seed = (guint64)run;
  r->prompt_tokens = 30;
  r->gen_tokens = tokens;
  r->prompt_tok_s = pts;
  r->gen_tok_s = gts;
  r->ttft_s = ttft;
  r->total_s = total;
  r->peak_rss_bytes = rss;
  r->answer_ok = answer;
  return r;
}

/* Two prompts × three runs. The generation speeds 10.26, 20.26, 30.26 average
 * to 20.26 exactly; averaging the rounded 10.3, 20.3, 30.3 would give 20.3. */
static GPtrArray *sample_runs(gint64 bench, const char *model)
{
  GPtrArray *runs = g_ptr_array_new_with_free_func((GDestroyNotify)distill_bench_run_free);
  g_ptr_array_add(runs, make_run(bench, model, 0, 1, 100.04, 10.26, 0.0625, 50.0, 512, 1000, 1));
  g_ptr_array_add(runs, make_run(bench, model, 0, 2, 100.04, 20.26, 0.0625, 25.0, 500, 2000, 0));
  g_ptr_array_add(runs, make_run(bench, model, 0, 3, 100.04, 30.26, 0.0625, 17.0, 300, 3000, 1));
  g_ptr_array_add(runs, make_run(bench, model, 1, 1, 201.0, 9.0, 0.25, 40.0, 512, 4000, -1));
  g_ptr_array_add(runs, make_run(bench, model, 1, 2, 202.0, 10.0, 0.375, 41.0, 511, 5000, -1));
  g_ptr_array_add(runs, make_run(bench, model, 1, 3, 203.0, 11.0, 0.5, 42.0, 510, 6000, -1));
  return runs;
}

static void test_average(void)
{
  g_autoptr(GPtrArray) runs = sample_runs(1, "m");
  DistillBenchAverages a;

  distill_bench_average(runs, 0, &a);
  g_assert_cmpint(a.n_runs, ==, 3);
  g_assert_cmpfloat_with_epsilon(a.gen_tok_s, 20.26, 1e-9); /* not 20.3 */
  g_assert_cmpfloat_with_epsilon(a.prompt_tok_s, 100.04, 1e-9);
  g_assert_cmpfloat_with_epsilon(a.ttft_s, 0.0625, 1e-12); /* not 0.063 from rounded milliseconds */
  g_assert_cmpfloat_with_epsilon(a.total_s, 92.0 / 3.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(a.gen_tokens, 1312.0 / 3.0, 1e-9); /* 437.33…, not an integer */
  g_assert_cmpfloat_with_epsilon(a.peak_rss_bytes, 2000.0, 1e-9);
  g_assert_cmpint(a.answers_checked, ==, 3);
  g_assert_cmpint(a.answers_ok, ==, 2);

  distill_bench_average(runs, 1, &a);
  g_assert_cmpint(a.n_runs, ==, 3);
  g_assert_cmpfloat_with_epsilon(a.gen_tok_s, 10.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(a.prompt_tok_s, 202.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(a.ttft_s, 0.375, 1e-12);
  g_assert_cmpfloat_with_epsilon(a.gen_tokens, 511.0, 1e-9);
  g_assert_cmpint(a.answers_checked, ==, 0);

  /* every run: (10.26 + 20.26 + 30.26 + 9 + 10 + 11) / 6 = 90.78 / 6 = 15.13 */
  distill_bench_average(runs, -1, &a);
  g_assert_cmpint(a.n_runs, ==, 6);
  g_assert_cmpfloat_with_epsilon(a.gen_tok_s, 15.13, 1e-9);
  g_assert_cmpfloat_with_epsilon(a.peak_rss_bytes, 3500.0, 1e-9);

  /* nothing to average */
  distill_bench_average(runs, 7, &a);
  g_assert_cmpint(a.n_runs, ==, 0);
  g_assert_cmpfloat(a.gen_tok_s, ==, 0);
  distill_bench_average(NULL, -1, &a);
  g_assert_cmpint(a.n_runs, ==, 0);

  /* grouping keeps the order benchmarks come in */
  g_autoptr(GPtrArray) more = sample_runs(5, "newer");
  g_autoptr(GPtrArray) all = g_ptr_array_new();
  for (guint i = 0; i < more->len; i++) g_ptr_array_add(all, more->pdata[i]);
  for (guint i = 0; i < runs->len; i++) g_ptr_array_add(all, runs->pdata[i]);
  g_autoptr(GPtrArray) groups = distill_bench_group(all);
  g_assert_cmpuint(groups->len, ==, 2);
  GPtrArray *g0 = groups->pdata[0];
  g_assert_cmpuint(g0->len, ==, 6);
  g_assert_cmpstr(((DistillBenchRun *)g0->pdata[0])->model_name, ==, "newer");
}

static void test_backend(void)
{
  struct {
    const char *offload, *backend, *device;
  } cases[] = {
    {"offload: 0/28 layers on a GPU (CPU only)", "CPU", ""},
    {"offload: 0/28 layers on a GPU (no Vulkan device; running on the CPU)", "CPU", ""},
    {"offload: 28/28 layers on NVIDIA GeForce RTX 4090", "Vulkan", "NVIDIA GeForce RTX 4090"},
    {"offload: 20/48 layers on AMD Radeon RX 7600 (the rest did not fit)", "CPU + Vulkan", "AMD Radeon RX 7600"},
    /* the engine's own lines (graph.c, vk-forward.c) */
    {"offload: 28/28 layers on Vulkan0 (NVIDIA GeForce RTX 4090)", "Vulkan", "NVIDIA GeForce RTX 4090"},
    {"offload: 5/5 layers on Vulkan1 (llvmpipe (LLVM 15.0.6, 256 bits))", "Vulkan", "llvmpipe (LLVM 15.0.6, 256 bits)"},
    {"offload: 24/48 layers on Vulkan0 (AMD Radeon RX 7600 (RADV NAVI33)) (fewer than asked: Vulkan: out of device "
     "memory (allocating 1.2 GB))",
     "CPU + Vulkan", "AMD Radeon RX 7600 (RADV NAVI33)"},
    {"offload: 64/64 layers on Vulkan0 (NVIDIA GeForce RTX 3090) 32 + Vulkan2 (NVIDIA GeForce RTX 3090 Ti) 32",
     "Vulkan", "NVIDIA GeForce RTX 3090 + NVIDIA GeForce RTX 3090 Ti"},
    {"offload: 16/64 layers on Vulkan0 (A (x)) 8 + Vulkan1 (B) 8 (fewer than asked: out of device memory)",
     "CPU + Vulkan", "A (x) + B"},
    {"offload: 0/28 layers on a GPU (Vulkan: no device \"2\" (1 device; see `still devices`); running on the CPU)",
     "CPU", ""},
    {"", "CPU", ""},
    {NULL, "CPU", ""},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *backend = NULL, *device = NULL;
    distill_bench_backend_from_offload(cases[i].offload, &backend, &device);
    g_assert_cmpstr(backend, ==, cases[i].backend);
    g_assert_cmpstr(device, ==, cases[i].device);
  }
}

/* The offload line in words, for the chat's statistics. */
static void test_offload_words(void)
{
  struct {
    const char *line, *words;
  } cases[] = {
    {"offload: 0/28 layers on a GPU (CPU only)", "On the CPU"},
    {"offload: 0/28 layers on a GPU (Vulkan: only CPU-emulated devices found; name one with --device to use it; "
     "running on the CPU)",
     "On the CPU: Vulkan: only CPU-emulated devices found; name one with --device to use it"},
    {"offload: 0/28 layers on a GPU (Vulkan: the device was lost (driver reset or crash) (submitting work); running "
     "on the CPU from then on)",
     "On the CPU since the GPU failed: Vulkan: the device was lost (driver reset or crash) (submitting work)"},
    {"offload: 28/28 layers on Vulkan0 (NVIDIA GeForce RTX 4090)", "All 28 layers on the GPU (NVIDIA GeForce RTX 4090)"},
    {"offload: 1/1 layers on Vulkan0 (llvmpipe (LLVM 15.0.6, 256 bits))",
     "All 1 layer on the GPU (llvmpipe (LLVM 15.0.6, 256 bits))"},
    {"offload: 24/48 layers on Vulkan0 (AMD Radeon RX 7600 (RADV NAVI33)) (fewer than asked: Vulkan: out of device "
     "memory (allocating 1.2 GB))",
     "24 of 48 layers on the GPU (AMD Radeon RX 7600 (RADV NAVI33)), the rest on the CPU (fewer than asked: Vulkan: "
     "out of device memory (allocating 1.2 GB))"},
    {"offload: 64/64 layers on Vulkan0 (NVIDIA GeForce RTX 3090) 32 + Vulkan2 (NVIDIA GeForce RTX 3090 Ti) 32",
     "All 64 layers on the GPUs: NVIDIA GeForce RTX 3090 (32 layers), NVIDIA GeForce RTX 3090 Ti (32 layers)"},
    {"offload: 9/64 layers on Vulkan0 (A) 8 + Vulkan1 (B) 1",
     "9 of 64 layers on the GPUs, the rest on the CPU: A (8 layers), B (1 layer)"},
    /* a split's line cut short: the last GPU has the layers the others do not */
    {"offload: 28/28 layers on Vulkan0 (A) 14 + Vulkan1 (", "All 28 layers on the GPUs: A (14 layers), unknown (14 layers)"},
    {"offload: 28/28 layers on Vulkan0 (A) 99999999999999999999 + Vulkan1 (B) 3",
     "All 28 layers on the GPUs: A (28 layers), B (3 layers)"},
    /* a reason with parentheses of its own, or cut short */
    {"offload: 0/28 layers on a GPU (Vulkan: no device \"x(\" (2 devices; see `still devices`); running on the CPU)",
     "On the CPU: Vulkan: no device \"x(\" (2 devices; see `still devices`)"},
    {"offload: 0/28 layers on a GPU (Vulkan: the device was lost (driver reset or cr",
     "On the CPU: Vulkan: the device was lost (driver reset or cr"},
    /* not the engine's: as it is */
    {"remote: example.org", "remote: example.org"},
    {"offload: 30/28 layers on Vulkan0 (X)", "offload: 30/28 layers on Vulkan0 (X)"},
    {"offload: 5/5 layers on Vulkan0 (unclosed", "All 5 layers on the GPU (unclosed)"},
    {"offload: 5/5 layers on Vulkan0 (llvmpipe (LLVM 15.0.6, 256 b", "All 5 layers on the GPU (llvmpipe (LLVM 15.0.6, 256 b)"},
    {"offload: 5/5 layers on Vulkan0 () 2 + Vulkan1 (B) 3", "All 5 layers on the GPUs: unknown (2 layers), B (3 layers)"},
    {"offload: 5/5 layers on Vulkan0 (Foo :)) 2 + Vulkan1 (B) 3", "All 5 layers on the GPUs: Foo :) (2 layers), B (3 layers)"},
    {"", ""},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *words = distill_offload_describe(cases[i].line);
    g_assert_cmpstr(words, ==, cases[i].words);
  }
  /* the parts */
  DistillOffload o;
  distill_offload_parse("offload: 16/64 layers on Vulkan0 (A (x)) 8 + Vulkan1 (B) 8 (fewer than asked: out of memory)",
                        &o);
  g_assert_cmpint(o.gpu_layers, ==, 16);
  g_assert_cmpint(o.n_layers, ==, 64);
  g_assert_cmpint(o.n_devices, ==, 2);
  g_assert_cmpstr(o.names[0], ==, "A (x)");
  g_assert_cmpint(o.layers[0], ==, 8);
  g_assert_cmpstr(o.names[1], ==, "B");
  g_assert_cmpint(o.layers[1], ==, 8);
  g_assert_cmpstr(o.remark, ==, "out of memory");
  g_assert_false(o.gpu_failed);
  distill_offload_clear(&o);
  distill_offload_parse(NULL, &o);
  g_assert_cmpint(o.n_layers, ==, 0);
  distill_offload_clear(&o);
}

/* ---- export ---- */

static void test_export(void)
{
  g_autoptr(GPtrArray) runs = sample_runs(3, "Model, with \"comma\"");

  g_autofree char *csv = distill_bench_export_csv(runs);
  g_auto(GStrv) lines = g_strsplit(csv, "\r\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 1 + 6 + 1); /* header, runs, "" after the last line end */
  g_assert_cmpstr(lines[7], ==, "");
  g_assert_true(g_str_has_prefix(lines[0], "bench_id,date,model,quant,backend,device,threads,version,"));
  g_assert_nonnull(strstr(lines[0], ",gen_tok_s,ttft_ms,"));
  g_assert_nonnull(strstr(lines[0], ",peak_rss_bytes,peak_vram_bytes,answer_ok,"));
  /* a field with a comma and quotes is quoted, quotes doubled */
  g_assert_true(g_str_has_prefix(lines[1], "3,2025-11-25T22:40:00Z,\"Model, with \"\"comma\"\"\",Q4_K_M,CPU,,8,0.1.0,"));
  /* raw values, full precision, '.' decimals; ttft in milliseconds */
  g_assert_nonnull(strstr(lines[1], ",0,average-speed,1,1,30,512,100.04,10.26,62.5,50,1000,0,true,"));
  g_assert_nonnull(strstr(lines[2], ",20.26,62.5,25,2000,0,false,"));
  g_assert_nonnull(strstr(lines[4], ",1,binary-search,1,1,30,512,201,9,250,40,4000,0,,"));

  g_autofree char *json = distill_bench_export_json(runs);
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) error = NULL;
  g_assert_true(json_parser_load_from_data(parser, json, -1, &error));
  g_assert_no_error(error);
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonObject *method = json_object_get_object_member(root, "method");
  g_assert_cmpint(json_object_get_int_member(method, "max_tokens"), ==, 512);
  g_assert_cmpint(json_object_get_int_member(method, "n_ctx"), ==, 2048);
  g_assert_cmpuint(json_array_get_length(json_object_get_array_member(method, "prompts")), ==, 2);
  JsonArray *jruns = json_object_get_array_member(root, "runs");
  g_assert_cmpuint(json_array_get_length(jruns), ==, 6);
  JsonObject *r0 = json_array_get_object_element(jruns, 0);
  g_assert_cmpstr(json_object_get_string_member(r0, "model"), ==, "Model, with \"comma\"");
  g_assert_cmpstr(json_object_get_string_member(r0, "prompt"), ==, "average-speed");
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(r0, "gen_tok_s"), 10.26, 1e-12);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(r0, "ttft_ms"), 62.5, 1e-9);
  g_assert_cmpint(json_object_get_int_member(r0, "peak_rss_bytes"), ==, 1000);
  g_assert_true(json_object_get_boolean_member(r0, "answer_ok"));
  g_assert_cmpstr(json_object_get_string_member(r0, "backend"), ==, "CPU");
  g_assert_cmpint(json_object_get_int_member(r0, "threads"), ==, 8);
  g_assert_cmpstr(json_object_get_string_member(r0, "version"), ==, "0.1.0");
  g_assert_cmpstr(json_object_get_string_member(r0, "quant"), ==, "Q4_K_M");
  /* prompt 2 has no answer check */
  g_assert_false(json_object_has_member(json_array_get_object_element(jruns, 3), "answer_ok"));

  JsonArray *avg = json_object_get_array_member(root, "averages");
  g_assert_cmpuint(json_array_get_length(avg), ==, 3); /* each prompt, then all */
  JsonObject *a0 = json_array_get_object_element(avg, 0);
  g_assert_cmpstr(json_object_get_string_member(a0, "prompt"), ==, "average-speed");
  g_assert_cmpint(json_object_get_int_member(a0, "runs"), ==, 3);
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(a0, "gen_tok_s"), 20.26, 1e-9);
  g_assert_cmpint(json_object_get_int_member(a0, "answers_ok"), ==, 2);
  JsonObject *a2 = json_array_get_object_element(avg, 2);
  g_assert_cmpstr(json_object_get_string_member(a2, "prompt"), ==, "all");
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(a2, "gen_tok_s"), 15.13, 1e-9);
  g_assert_cmpint(json_object_get_int_member(a2, "runs"), ==, 6);

  /* nothing stored: still valid files */
  g_autofree char *empty_csv = distill_bench_export_csv(NULL);
  g_assert_nonnull(strstr(empty_csv, "bench_id,"));
  g_autofree char *empty_json = distill_bench_export_json(NULL);
  g_assert_true(json_parser_load_from_data(parser, empty_json, -1, NULL));
}

/* ---- history ---- */

static void test_history(void)
{
  g_autofree char *dir = temp_dir();
  g_autofree char *path = g_build_filename(dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  DistillHistory *h = distill_history_open(path, &error);
  g_assert_no_error(error);
  g_autoptr(GPtrArray) first = sample_runs(0, "older");
  g_autoptr(GPtrArray) second = sample_runs(0, "newer");
  ((DistillBenchRun *)second->pdata[0])->peak_vram_bytes = G_GUINT64_CONSTANT(12345678901);
  gint64 id1 = distill_history_add_bench_runs(h, first, &error);
  g_assert_no_error(error);
  gint64 id2 = distill_history_add_bench_runs(h, second, &error);
  g_assert_no_error(error);
  g_assert_cmpint(id1, >, 0);
  g_assert_cmpint(id2, >, id1);
  g_assert_cmpint(((DistillBenchRun *)first->pdata[5])->bench_id, ==, id1);
  g_assert_cmpint(((DistillBenchRun *)second->pdata[0])->id, >, 0);
  g_object_unref(h);

  /* reopened: everything is there, newest benchmark first, values exact */
  h = distill_history_open(path, &error);
  g_assert_no_error(error);
  g_autoptr(GPtrArray) got = distill_history_list_bench_runs(h, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(got->len, ==, 12);
  const DistillBenchRun *r = got->pdata[0];
  g_assert_cmpint(r->bench_id, ==, id2);
  g_assert_cmpstr(r->model_name, ==, "newer");
  g_assert_cmpstr(r->model_path, ==, "/models/newer.gguf");
  g_assert_cmpstr(r->quant, ==, "Q4_K_M");
  g_assert_cmpstr(r->backend, ==, "CPU");
  g_assert_cmpstr(r->device, ==, "");
  g_assert_cmpstr(r->offload, ==, "offload: 0/28 layers on a GPU (CPU only)");
  g_assert_cmpstr(r->version, ==, "0.1.0");
  g_assert_cmpstr(r->prompt_name, ==, "average-speed");
  g_assert_cmpint(r->threads, ==, 8);
  g_assert_cmpint(r->run, ==, 1);
  g_assert_cmpint(r->gen_tokens, ==, 512);
  g_assert_cmpint(r->prompt_tokens, ==, 30);
  g_assert_cmpfloat(r->gen_tok_s, ==, 10.26);
  g_assert_cmpfloat(r->ttft_s, ==, 0.0625);
  g_assert_cmpuint(r->peak_rss_bytes, ==, 1000);
  g_assert_cmpuint(r->peak_vram_bytes, ==, G_GUINT64_CONSTANT(12345678901));
  g_assert_cmpint(r->answer_ok, ==, 1);
  g_assert_cmpint(((DistillBenchRun *)got->pdata[3])->answer_ok, ==, -1);
  g_assert_cmpint(((DistillBenchRun *)got->pdata[6])->bench_id, ==, id1);
  /* the averages of what came back equal those of what went in */
  g_autoptr(GPtrArray) groups = distill_bench_group(got);
  DistillBenchAverages a;
  distill_bench_average(groups->pdata[1], 0, &a);
  g_assert_cmpfloat_with_epsilon(a.gen_tok_s, 20.26, 1e-9);

  /* delete one benchmark, then all */
  g_assert_true(distill_history_delete_bench_runs(h, id2, &error));
  g_clear_pointer(&got, g_ptr_array_unref);
  got = distill_history_list_bench_runs(h, &error);
  g_assert_cmpuint(got->len, ==, 6);
  g_assert_cmpstr(((DistillBenchRun *)got->pdata[0])->model_name, ==, "older");
  g_assert_true(distill_history_delete_bench_runs(h, 0, &error));
  g_clear_pointer(&got, g_ptr_array_unref);
  got = distill_history_list_bench_runs(h, &error);
  g_assert_cmpuint(got->len, ==, 0);
  g_object_unref(h);
  test_remove_tree(dir);
}

/* ---- a real benchmark on the engine ---- */

typedef struct {
  gboolean finished;
  int outcome;
  int run_done;
  int model_done;
  int progress;
  double last_fraction;
  gboolean fraction_went_back;
  gboolean saw_run_text;
  int runs_at_cancel;
  gboolean cancel_on_tokens;
  gboolean cancel_on_load;
  gint64 cancel_us, finished_us;
  DistillBenchmark *bench;
} Watch;

static void w_progress(DistillBenchmark *b, double fraction, const char *text, Watch *w)
{
  w->progress++;
  if (fraction + 1e-12 < w->last_fraction) w->fraction_went_back = TRUE;
  w->last_fraction = fraction;
  g_assert_cmpfloat(fraction, >=, 0);
  g_assert_cmpfloat(fraction, <=, 1);
  /* "Run 1 of 1 — average speed prompt, 12 tokens" */
  if (g_str_has_prefix(text, "Run ") && strstr(text, " prompt, ") && strstr(text, "token")) {
    w->saw_run_text = TRUE;
    int tokens = 0;
    const char *p = strstr(text, " prompt, ");
    sscanf(p, " prompt, %d", &tokens);
    if (w->cancel_on_tokens && !w->cancel_us && w->run_done >= 1 && tokens >= 3) {
      w->runs_at_cancel = w->run_done;
      w->cancel_us = g_get_monotonic_time();
      distill_benchmark_cancel(b);
    }
  }
  if (w->cancel_on_load && !w->cancel_us && g_str_has_prefix(text, "Loading ")) {
    w->cancel_us = g_get_monotonic_time();
    distill_benchmark_cancel(b);
  }
}

static void w_run_done(DistillBenchmark *b, DistillBenchRun *r, Watch *w) { w->run_done++; }
static void w_model_done(DistillBenchmark *b, GPtrArray *runs, gint64 id, Watch *w) { w->model_done++; }

static void w_finished(DistillBenchmark *b, int outcome, Watch *w)
{
  w->finished = TRUE;
  w->outcome = outcome;
  w->finished_us = g_get_monotonic_time();
}

static gboolean watch_finished(gpointer data) { return ((Watch *)data)->finished; }

static void watch(DistillBenchmark *b, Watch *w)
{
  memset(w, 0, sizeof *w);
  w->bench = b;
  g_signal_connect(b, "progress", G_CALLBACK(w_progress), w);
  g_signal_connect(b, "run-done", G_CALLBACK(w_run_done), w);
  g_signal_connect(b, "model-done", G_CALLBACK(w_model_done), w);
  g_signal_connect(b, "finished", G_CALLBACK(w_finished), w);
}

static void test_full_run(void)
{
  NEED_FIXTURE(model, "stories260K.gguf");
  g_autofree char *dir = temp_dir();
  g_autofree char *path = g_build_filename(dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  g_assert_no_error(error);
  g_autoptr(DistillEngine) engine = distill_engine_new();
  g_autoptr(DistillBenchmark) b = distill_benchmark_new(engine, h);
  Watch w;
  watch(b, &w);
  const char *models[] = {model, NULL};
  g_assert_true(distill_benchmark_start(b, models, 1, &error));
  g_assert_no_error(error);
  g_assert_true(distill_benchmark_is_running(b));
  /* a second start is refused while it runs */
  g_autoptr(GError) busy = NULL;
  g_assert_false(distill_benchmark_start(b, models, 1, &busy));
  g_assert_error(busy, G_IO_ERROR, G_IO_ERROR_BUSY);

  g_assert_true(wait_for(watch_finished, &w, 60000));
  if (w.outcome != DISTILL_BENCHMARK_COMPLETED) g_error("benchmark: %s", distill_benchmark_get_error(b)->message);
  g_assert_false(distill_benchmark_is_running(b));
  g_assert_cmpint(w.run_done, ==, STILL_BENCH_N_PROMPTS);
  g_assert_cmpint(w.model_done, ==, 1);
  g_assert_true(w.saw_run_text);
  g_assert_false(w.fraction_went_back);
  g_assert_cmpfloat(distill_benchmark_get_fraction(b), ==, 1.0);
  /* the model stays loaded for the chat */
  g_assert_cmpint(distill_engine_get_state(engine), ==, DISTILL_ENGINE_READY);
  g_assert_cmpstr(distill_engine_get_model_path(engine), ==, model);
  g_assert_false(distill_engine_is_busy(engine));

  GPtrArray *runs = distill_benchmark_get_runs(b);
  g_assert_cmpuint(runs->len, ==, 2);
  for (guint i = 0; i < runs->len; i++) {
    const DistillBenchRun *r = runs->pdata[i];
    g_assert_cmpint(r->prompt, ==, (int)i);
    g_assert_cmpstr(r->prompt_name, ==, still_bench_prompt_name((int)i));
    g_assert_cmpint(r->run, ==, 1);
    g_assert_cmpuint(r->seed, ==, 1);
    g_assert_cmpstr(r->model_path, ==, model);
    g_assert_cmpstr(r->model_name, ==, "stories260K");
    g_assert_nonnull(r->quant);
    g_assert_cmpstr(r->quant, !=, "");
    g_assert_cmpstr(r->backend, ==, "CPU");
    g_assert_cmpstr(r->device, ==, "");
    g_assert_true(g_str_has_prefix(r->offload, "offload: 0/5 layers"));
    g_assert_cmpstr(r->version, ==, STILL_VERSION);
    g_assert_cmpint(r->threads, >, 0);
    g_assert_cmpint(r->prompt_tokens, >, 10);
    g_assert_cmpint(r->gen_tokens, >, 0);
    g_assert_cmpint(r->gen_tokens, <=, STILL_BENCH_MAX_TOKENS);
    g_assert_cmpfloat(r->prompt_tok_s, >, 0);
    g_assert_cmpfloat(r->gen_tok_s, >, 0);
    g_assert_cmpfloat(r->ttft_s, >, 0);
    g_assert_cmpfloat(r->total_s, >, 0);
    g_assert_cmpfloat(r->total_s, <, 60);
    g_assert_cmpuint(r->peak_rss_bytes, >, 1024 * 1024);
    g_assert_cmpuint(r->peak_vram_bytes, ==, 0); /* CPU only */
    g_assert_cmpint(r->created, >, 0);
    g_assert_cmpint(r->bench_id, >, 0);
    /* a tiny story model does not solve the train question */
    g_assert_cmpint(r->answer_ok, ==, i == 0 ? 0 : -1);
    /* the speeds are the engine's counts over its times */
    g_assert_cmpfloat(r->gen_tok_s * (r->total_s + 1e-9), >=, r->gen_tokens * 0.999 - 1);
  }

  /* stored, and there after a reopen */
  g_clear_object(&b);
  g_clear_object(&h);
  h = distill_history_open(path, &error);
  g_assert_no_error(error);
  g_autoptr(GPtrArray) stored = distill_history_list_bench_runs(h, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(stored->len, ==, 2);
  g_assert_cmpstr(((DistillBenchRun *)stored->pdata[0])->model_name, ==, "stories260K");
  g_assert_cmpfloat(((DistillBenchRun *)stored->pdata[1])->gen_tok_s, >, 0);
  test_remove_tree(dir);
}

static void test_cancel(void)
{
  NEED_FIXTURE(model, "stories260K.gguf");
  g_autofree char *dir = temp_dir();
  g_autofree char *path = g_build_filename(dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  g_autoptr(DistillEngine) engine = distill_engine_new();
  g_autoptr(DistillBenchmark) b = distill_benchmark_new(engine, h);
  Watch w;
  watch(b, &w);
  w.cancel_on_tokens = TRUE;
  const char *models[] = {model, NULL};
  g_assert_true(distill_benchmark_start(b, models, DISTILL_BENCHMARK_MAX_RUNS, &error));
  g_assert_true(wait_for(watch_finished, &w, 60000));
  g_assert_cmpint(w.cancel_us, >, 0); /* it was cancelled in the middle of a run */
  g_assert_cmpint(w.outcome, ==, DISTILL_BENCHMARK_CANCELLED);
  g_assert_cmpint(w.finished_us - w.cancel_us, <, 2 * G_USEC_PER_SEC);
  /* the run in flight was not recorded, the model's runs were not stored */
  g_assert_cmpint(w.run_done, ==, w.runs_at_cancel);
  g_assert_cmpint(w.run_done, <, DISTILL_BENCHMARK_MAX_RUNS * STILL_BENCH_N_PROMPTS);
  g_assert_cmpint(w.model_done, ==, 0);
  g_assert_cmpuint(distill_benchmark_get_runs(b)->len, ==, 0);
  g_autoptr(GPtrArray) stored = distill_history_list_bench_runs(h, &error);
  g_assert_cmpuint(stored->len, ==, 0);
  g_assert_false(distill_benchmark_is_running(b));
  g_assert_false(distill_engine_is_busy(engine));

  /* it can run again afterwards (and a cancel while loading also ends it) */
  g_autoptr(DistillEngine) fresh = distill_engine_new();
  g_autoptr(DistillBenchmark) b2 = distill_benchmark_new(fresh, h);
  watch(b2, &w);
  w.cancel_on_load = TRUE;
  g_assert_true(distill_benchmark_start(b2, models, 1, &error));
  g_assert_true(wait_for(watch_finished, &w, 60000));
  g_assert_cmpint(w.outcome, ==, DISTILL_BENCHMARK_CANCELLED);
  g_assert_cmpint(w.run_done, ==, 0);
  g_assert_cmpint(w.finished_us - w.cancel_us, <, 2 * G_USEC_PER_SEC);
  g_clear_pointer(&stored, g_ptr_array_unref);
  stored = distill_history_list_bench_runs(h, &error);
  g_assert_cmpuint(stored->len, ==, 0);
  test_remove_tree(dir);
}

static void test_errors(void)
{
  g_autofree char *dir = temp_dir();
  g_autofree char *junk = g_build_filename(dir, "junk.gguf", NULL);
  g_assert_true(g_file_set_contents(junk, "this is not a model", -1, NULL));
  g_autoptr(DistillEngine) engine = distill_engine_new();
  g_autoptr(DistillBenchmark) b = distill_benchmark_new(engine, NULL);
  g_autoptr(GError) error = NULL;

  /* no model */
  const char *none[] = {NULL};
  g_assert_false(distill_benchmark_start(b, none, 3, &error));
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  /* a file that is not a model: stops with the reason in plain words */
  Watch w;
  watch(b, &w);
  const char *models[] = {junk, NULL};
  g_assert_true(distill_benchmark_start(b, models, 1, &error));
  g_assert_true(wait_for(watch_finished, &w, 30000));
  g_assert_cmpint(w.outcome, ==, DISTILL_BENCHMARK_FAILED);
  const GError *e = distill_benchmark_get_error(b);
  g_assert_nonnull(e);
  g_assert_true(g_str_has_prefix(e->message, "Could not load junk: "));
  g_assert_cmpint(w.run_done, ==, 0);
  test_remove_tree(dir);
}

/* A benchmark of stories260K on lavapipe whose device is lost at the
 * engine's compute submit `fault` (STILL_VK_FAULT_SUBMIT; every generation
 * runs its 512 tokens). FALSE: skipped (no lavapipe, or no Vulkan in this
 * build: every run on the CPU). */
static gboolean bench_with_lost_gpu(const char *model, const char *fault, int runs, DistillBenchmark **out, Watch *w)
{
  const char *icd = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
  if (!g_file_test(icd, G_FILE_TEST_EXISTS)) {
    g_test_skip("lavapipe (mesa-vulkan-drivers) is not installed");
    return FALSE;
  }
  g_setenv("VK_ICD_FILENAMES", icd, TRUE);
  g_setenv("STILL_VK_FAULT_SUBMIT", fault, TRUE);
  g_autoptr(DistillEngine) engine = distill_engine_new();
  g_object_set(engine, "gpu-layers", 99, "ignore-eog", TRUE, NULL);
  DistillBenchmark *b = distill_benchmark_new(engine, NULL);
  watch(b, w);
  const char *models[] = {model, NULL};
  g_autoptr(GError) error = NULL;
  g_assert_true(distill_benchmark_start(b, models, runs, &error));
  g_assert_no_error(error);
  g_assert_true(wait_for(watch_finished, w, 180000));
  g_unsetenv("STILL_VK_FAULT_SUBMIT");
  g_unsetenv("VK_ICD_FILENAMES");
  *out = b;
  if (w->outcome == DISTILL_BENCHMARK_COMPLETED) {
    /* no Vulkan in this build (not a GPU lost before the timed runs: the
     * faults are past the warm-up) */
    GPtrArray *done = distill_benchmark_get_runs(b);
    g_assert_cmpuint(done->len, >, 0);
    const DistillBenchRun *r0 = done->pdata[0];
    g_assert_cmpstr(r0->backend, ==, "CPU");
    g_assert_null(strstr(r0->offload, "from then on"));
    g_test_skip("the engine ran on the CPU from the start (built without Vulkan)");
    return FALSE;
  }
  return TRUE;
}

/* A GPU that fails during a timed run: the engine goes on on the CPU, and
 * the benchmark stops in plain words instead of keeping times that mix the
 * two, whether the fault comes in the first timed run (submit 40, past the
 * one-token warm-up) or in the last (submit 700, in the second prompt's
 * run: the first one's 512 tokens took about 515 submits). */
static void test_gpu_lost(void)
{
  NEED_FIXTURE(model, "stories260K.gguf");
  static const struct {
    const char *fault;
    int runs, runs_before; /* timed runs that ended on the GPU before the fault */
  } cases[] = {{"40", 2, 0}, {"700", 1, 1}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    Watch w;
    g_autoptr(DistillBenchmark) b = NULL;
    if (!bench_with_lost_gpu(model, cases[i].fault, cases[i].runs, &b, &w)) return;
    g_assert_cmpint(w.outcome, ==, DISTILL_BENCHMARK_FAILED);
    const GError *e = distill_benchmark_get_error(b);
    g_assert_nonnull(e);
    g_test_message("fault at submit %s: %s", cases[i].fault, e->message);
    g_assert_true(g_str_has_prefix(e->message, "The GPU failed during a timed run of stories260K, so its times "
                                               "would mix GPU and CPU speeds and the benchmark stopped."));
    g_assert_nonnull(strstr(e->message, "running on the CPU from then on"));
    /* the failed run was never reported, and nothing of the model is kept */
    g_assert_cmpint(w.run_done, ==, cases[i].runs_before);
    g_assert_cmpint(w.model_done, ==, 0);
    g_assert_cmpuint(distill_benchmark_get_runs(b)->len, ==, 0);
  }
}

typedef struct {
  DistillEngine *engine;
  int runs;
  char *kv_seen[4]; /* the engine's KV type when each run ended */
} Interloper;

static void another_chat_applies(DistillBenchmark *b, gpointer run, Interloper *it)
{
  (void)b, (void)run;
  if (it->runs < 4) g_object_get(it->engine, "kv-type", &it->kv_seen[it->runs], NULL);
  it->runs++;
  g_object_set(it->engine, "gpu-layers", 0, "n-threads", 2, "kv-type", "q8_0", NULL);
}

/* Each model runs with its own load settings (GPU layers, threads, KV type from GSettings), not
 * with what the engine was last set to for another model's chat. */
static void test_load_settings(void)
{
  NEED_FIXTURE(model, "stories260K.gguf");
  const char *icd = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
  if (!g_file_test(icd, G_FILE_TEST_EXISTS)) {
    g_test_skip("lavapipe (mesa-vulkan-drivers) is not installed");
    return;
  }
  g_setenv("VK_ICD_FILENAMES", icd, TRUE);
  g_autoptr(GSettings) s = g_settings_new(APP_ID);
  DistillLoadSettings own = {.gpu_layers = 2, .threads = 1, .kv_type = "f32", .context_size = 1024};
  distill_load_settings_set_model(s, model, &own);
  g_autoptr(DistillEngine) engine = distill_engine_new();
  /* what a chat with another model left behind */
  g_object_set(engine, "gpu-layers", 0, "n-threads", 2, "kv-type", "q8_0", NULL);
  g_autoptr(DistillBenchmark) b = distill_benchmark_new(engine, NULL);
  distill_benchmark_set_load_settings(b, s);
  Watch w;
  watch(b, &w);
  /* a chat with another model sets the engine between two timed runs: the next run is still this
   * model's */
  Interloper it = {engine, 0, {NULL}};
  g_signal_connect(b, "run-done", G_CALLBACK(another_chat_applies), &it);
  const char *models[] = {model, NULL};
  g_autoptr(GError) error = NULL;
  g_assert_true(distill_benchmark_start(b, models, 1, &error));
  g_assert_no_error(error);
  g_assert_true(wait_for(watch_finished, &w, 120000));
  g_unsetenv("VK_ICD_FILENAMES");
  if (w.outcome != DISTILL_BENCHMARK_COMPLETED) g_error("benchmark: %s", distill_benchmark_get_error(b)->message);
  GPtrArray *runs = distill_benchmark_get_runs(b);
  g_assert_cmpuint(runs->len, ==, STILL_BENCH_N_PROMPTS);
  for (guint i = 0; i < runs->len; i++) {
    const DistillBenchRun *r = runs->pdata[i];
    g_test_message("%s", r->offload);
    if (strstr(r->offload, "no Vulkan support")) {
      g_test_skip("built without Vulkan");
      break;
    }
    g_assert_true(g_str_has_prefix(r->offload, "offload: 2/5 layers on Vulkan0 (llvmpipe"));
    g_assert_cmpstr(r->backend, ==, "CPU + Vulkan");
    g_assert_true(g_str_has_prefix(r->device, "llvmpipe"));
    g_assert_cmpint(r->threads, ==, 1);
  }
  g_assert_cmpint(it.runs, ==, STILL_BENCH_N_PROMPTS);
  for (int i = 0; i < it.runs && i < 4; i++) {
    g_assert_cmpstr(it.kv_seen[i], ==, "f32");
    g_free(it.kv_seen[i]);
  }
  g_settings_reset(s, "model-load-settings");
}

/* ---- published figures ---- */

static void test_published(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) figs = distill_published_figures_load(&error);
  g_assert_no_error(error);
  g_assert_cmpuint(figs->len, >=, 30);
  gboolean found_4090 = FALSE;
  for (guint i = 0; i < figs->len; i++) {
    DistillPublishedFigure *f = figs->pdata[i];
    g_assert_cmpstr(f->hardware, !=, "");
    g_assert_cmpfloat(f->tok_s_low, >, 0);
    g_assert_cmpfloat(f->tok_s_high, >=, f->tok_s_low);
    if (g_str_equal(f->model_id, "qwen-7b") && g_str_equal(f->hardware, "RTX 4090") && g_str_equal(f->quant, "Q4_K_M")) {
      found_4090 = TRUE;
      g_assert_cmpfloat(f->tok_s_low, ==, 90);
      g_assert_cmpfloat(f->tok_s_high, ==, 110);
      g_assert_cmpfloat(f->ttft_ms_low, ==, 50);
      g_assert_cmpfloat(f->ttft_ms_high, ==, 80);
    }
  }
  g_assert_true(found_4090);
  g_assert_null(distill_published_figures_from_data("{\"nope\": 1}", -1, &error));
  g_assert_nonnull(error);

  struct {
    const char *path, *id;
  } ids[] = {
    {"/m/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", "qwen-7b"},
    {"/m/DeepSeek-R1-Distill-Qwen-1.5B-Q8_0.gguf", "qwen-1.5b"},
    {"/m/DeepSeek-R1-Distill-Llama-8B-Q4_K_M.gguf", "llama-8b"},
    {"/m/deepseek-r1-distill-llama-70b-q4_k_m-00001-of-00002.gguf", "llama-70b"},
    {"/m/my-own-14b-finetune.gguf", "qwen-14b"},
    {"/m/stories260K.gguf", NULL},
  };
  for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
    g_autofree char *id = distill_bench_model_id_for(ids[i].path);
    g_assert_cmpstr(id, ==, ids[i].id);
  }
}

/* ---- the chart ---- */

static gboolean is_mapped(gpointer w) { return gtk_widget_get_mapped(GTK_WIDGET(w)); }

/* Draw the chart into a texture; count pixels near the accent colour. */
static gboolean laid_out(gpointer data)
{
  GtkWidget *chart = data;
  int min, nat;
  gtk_widget_measure(chart, GTK_ORIENTATION_VERTICAL, -1, &min, &nat, NULL, NULL);
  return gtk_widget_get_height(chart) == nat;
}

static guint render_chart(GtkWidget *window, GtkWidget *chart, int *width, int *height)
{
  g_assert_true(wait_for(laid_out, chart, 5000));
  *width = gtk_widget_get_width(chart);
  *height = gtk_widget_get_height(chart);
  g_assert_cmpint(*width, >, 0);
  g_assert_cmpint(*height, >, 0);
  GtkSnapshot *s = gtk_snapshot_new();
  GTK_WIDGET_GET_CLASS(chart)->snapshot(chart, s);
  g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(s);
  if (!node) return 0;
  GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(window));
  g_autoptr(GdkTexture) tex = gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, *width, *height));
  int w = gdk_texture_get_width(tex), h = gdk_texture_get_height(tex);
  g_autofree guchar *px = g_malloc((gsize)w * h * 4);
  gdk_texture_download(tex, px, (gsize)w * 4);
  guint accent = 0;
  for (int i = 0; i < w * h; i++) {
    /* BGRA premultiplied; the default accent is #3584e4 */
    guchar b = px[i * 4], g = px[i * 4 + 1], r = px[i * 4 + 2], a = px[i * 4 + 3];
    if (a > 240 && abs(r - 0x35) < 12 && abs(g - 0x84) < 12 && abs(b - 0xe4) < 12) accent++;
  }
  return accent;
}

static void test_chart(void)
{
  GtkWidget *window = gtk_window_new();
  gtk_window_set_default_size(GTK_WINDOW(window), 700, 500);
  GtkWidget *chart = distill_bench_chart_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 0);
  gtk_widget_set_valign(chart, GTK_ALIGN_START); /* its natural height, not the window's */
  gtk_box_append(GTK_BOX(box), chart);
  gtk_window_set_child(GTK_WINDOW(window), box);
  gtk_window_present(GTK_WINDOW(window));
  g_assert_true(wait_for(is_mapped, chart, 5000));
  DistillBenchChart *c = DISTILL_BENCH_CHART(chart);
  int w, h0, h1, h5;

  /* no bars: a message, no bar colour */
  guint accent0 = render_chart(window, chart, &w, &h0);
  g_assert_cmpuint(accent0, ==, 0);
  g_autofree char *d0 = distill_bench_chart_describe(c);
  g_assert_cmpstr(d0, ==, "Generation speed: no results yet.");

  /* one bar measured here */
  distill_bench_chart_add_bar(c, "stories260K", "F32 · CPU · 2 threads · this computer", 1234.5, 0, FALSE);
  guint accent1 = render_chart(window, chart, &w, &h1);
  g_assert_cmpuint(accent1, >, 100); /* a solid bar */
  g_assert_cmpint(h1, >, h0 / 2);
  g_autofree char *d1 = distill_bench_chart_describe(c);
  g_assert_true(strstr(d1, "stories260K, measured here (F32 · CPU · 2 threads · this computer): 1,234 tok/s") ||
                   strstr(d1, "stories260K, measured here (F32 · CPU · 2 threads · this computer): 1235 tok/s") ||
                   strstr(d1, "stories260K, measured here (F32 · CPU · 2 threads · this computer): 1234 tok/s"));

  /* five: two here, three published (hatched, a range among them) */
  distill_bench_chart_add_bar(c, "R1-Distill-Qwen-7B-Q4_K_M", "Q4_K_M · CPU · 8 threads · this computer", 12.3, 0, FALSE);
  distill_bench_chart_add_bar(c, "DeepSeek-R1-Distill-Qwen-7B Q4_K_M", "RTX 4090, Ollama", 90, 110, TRUE);
  distill_bench_chart_add_bar(c, "DeepSeek-R1-Distill-Qwen-7B Q4_K_M", "M3 Max 48 GB", 35, 45, TRUE);
  distill_bench_chart_add_bar(c, "DeepSeek-R1-Distill-Qwen-7B", "RTX 3090", 0.0, 0, TRUE);
  g_assert_cmpuint(distill_bench_chart_get_n_bars(c), ==, 5);
  guint accent5 = render_chart(window, chart, &w, &h5);
  g_assert_cmpint(h5, >, h1);
  g_assert_cmpuint(accent5, >, accent1 / 2);
  g_autofree char *d5 = distill_bench_chart_describe(c);
  g_auto(GStrv) lines = g_strsplit(d5, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, 6);
  g_assert_cmpstr(lines[3], ==, "DeepSeek-R1-Distill-Qwen-7B Q4_K_M, published for RTX 4090, Ollama: 90–110 tok/s");
  g_assert_cmpstr(lines[4], ==, "DeepSeek-R1-Distill-Qwen-7B Q4_K_M, published for M3 Max 48 GB: 35–45 tok/s");

  /* back to none */
  distill_bench_chart_clear(c);
  g_assert_cmpuint(distill_bench_chart_get_n_bars(c), ==, 0);
  g_assert_cmpuint(render_chart(window, chart, &w, &h0), ==, 0);

  /* a very narrow chart still draws (labels ellipsized) */
  distill_bench_chart_add_bar(c, "a-very-long-model-file-name-that-does-not-fit-anywhere-at-all", "x", 5, 0, FALSE);
  gtk_window_set_default_size(GTK_WINDOW(window), 200, 300);
  render_chart(window, chart, &w, &h1);
  gtk_window_destroy(GTK_WINDOW(window));
}

/* ---- the page ---- */

/* A label with this text in the widget tree (only shown ones when visible_only). */
static GtkWidget *find_label(GtkWidget *w, const char *text, gboolean visible_only)
{
  if (visible_only && !gtk_widget_get_visible(w)) return NULL;
  if (GTK_IS_LABEL(w) && g_strcmp0(gtk_label_get_text(GTK_LABEL(w)), text) == 0) return w;
  for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *r = find_label(c, text, visible_only);
    if (r) return r;
  }
  return NULL;
}

static GtkWidget *find_toggle(GtkWidget *w)
{
  if (GTK_IS_TOGGLE_BUTTON(w)) return w;
  for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *r = find_toggle(c);
    if (r) return r;
  }
  return NULL;
}

static void test_page(void)
{
  g_autofree char *dir = temp_dir();
  g_autofree char *path = g_build_filename(dir, "history.db", NULL);
  g_autofree char *models = g_build_filename(dir, "models", NULL);
  g_mkdir(models, 0700);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  g_autoptr(GPtrArray) runs = sample_runs(0, "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M");
  g_assert_cmpint(distill_history_add_bench_runs(h, runs, &error), >, 0);
  g_autoptr(DistillEngine) engine = distill_engine_new();

  GtkWidget *window = gtk_window_new();
  gtk_window_set_default_size(GTK_WINDOW(window), 1100, 900);
  DistillBenchmarkPage *page = g_object_new(DISTILL_TYPE_BENCHMARK_PAGE, NULL);
  distill_benchmark_page_set_services(page, engine, h, models);
  gtk_window_set_child(GTK_WINDOW(window), GTK_WIDGET(page));
  gtk_window_present(GTK_WINDOW(window));
  g_assert_true(wait_for(is_mapped, page, 5000));
  while (g_main_context_iteration(NULL, FALSE)) {
  }
  /* the stored result is in the table and the chart (with published 7B figures) */
  GtkStack *stack = GTK_STACK(gtk_widget_get_template_child(GTK_WIDGET(page), DISTILL_TYPE_BENCHMARK_PAGE, "results_stack"));
  g_assert_cmpstr(gtk_stack_get_visible_child_name(stack), ==, "table");
  DistillBenchChart *chart =
    DISTILL_BENCH_CHART(gtk_widget_get_template_child(GTK_WIDGET(page), DISTILL_TYPE_BENCHMARK_PAGE, "chart"));
  g_assert_cmpuint(distill_bench_chart_get_n_bars(chart), >=, 1 + 3);
  g_autofree char *desc = distill_bench_chart_describe(chart);
  g_assert_nonnull(strstr(desc, "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M, measured here (Q4_K_M · CPU · 8 threads): 15.1 tok/s"));
  g_assert_nonnull(strstr(desc, "published for RTX 4090, Ollama: 90–110 tok/s"));
  /* the table: one summary row (overall mean generation speed 15.13 → "15.1") */
  GtkWidget *grid = GTK_WIDGET(gtk_widget_get_template_child(GTK_WIDGET(page), DISTILL_TYPE_BENCHMARK_PAGE, "results_grid"));
  g_assert_nonnull(find_label(grid, "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M", TRUE));
  g_assert_nonnull(find_label(grid, "15.1", TRUE));
  g_assert_nonnull(find_label(grid, "2 of 3 right", TRUE));
  g_assert_null(find_label(grid, "Peak VRAM", FALSE)); /* no GPU: no GPU memory column */
  /* each run shows once the row is opened */
  g_assert_null(find_label(grid, "average speed, run 2", TRUE));
  g_assert_nonnull(find_label(grid, "average speed, run 2", FALSE));
  gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(find_toggle(grid)), TRUE);
  g_assert_nonnull(find_label(grid, "average speed, run 2", TRUE));
  g_assert_nonnull(find_label(grid, "average speed, mean of 3 runs", TRUE));
  g_assert_nonnull(find_label(grid, "30.3", TRUE)); /* run 3's 30.26 */
  g_assert_nonnull(find_label(grid, "Not 75 km/h", TRUE));

  /* no models in the folder: nothing to run, but export and clear work */
  g_assert_false(gtk_widget_is_sensitive(GTK_WIDGET(
    gtk_widget_get_template_child(GTK_WIDGET(page), DISTILL_TYPE_BENCHMARK_PAGE, "run_button"))));

  /* Clear asks first; cancelling keeps the results, confirming deletes them */
  for (int confirm = 0; confirm < 2; confirm++) {
    gtk_widget_activate_action(GTK_WIDGET(page), "bench.clear", NULL);
    AdwMessageDialog *dialog = NULL;
    GListModel *tops = gtk_window_get_toplevels();
    for (guint i = 0; i < g_list_model_get_n_items(tops) && !dialog; i++) {
      g_autoptr(GObject) t = g_list_model_get_item(tops, i);
      if (ADW_IS_MESSAGE_DIALOG(t)) dialog = ADW_MESSAGE_DIALOG(t);
    }
    g_assert_nonnull(dialog);
    g_assert_cmpstr(adw_message_dialog_get_heading(dialog), ==, "Delete Every Benchmark Result?");
    adw_message_dialog_response(dialog, confirm ? "clear" : "cancel");
    gtk_window_destroy(GTK_WINDOW(dialog));
    g_autoptr(GPtrArray) left = distill_history_list_bench_runs(h, &error);
    g_assert_cmpuint(left->len, ==, confirm ? 0 : 6);
  }
  /* emptied history: the empty state */
  g_assert_cmpstr(gtk_stack_get_visible_child_name(stack), ==, "empty");
  g_assert_cmpuint(distill_bench_chart_get_n_bars(chart), ==, 0); /* no published bars without results */
  gtk_window_destroy(GTK_WINDOW(window));
  test_remove_tree(dir);
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  adw_init();
  distill_register_resource();
  g_test_add_func("/benchmark/average", test_average);
  g_test_add_func("/benchmark/backend", test_backend);
  g_test_add_func("/benchmark/offload-words", test_offload_words);
  g_test_add_func("/benchmark/export", test_export);
  g_test_add_func("/benchmark/history", test_history);
  g_test_add_func("/benchmark/published", test_published);
  g_test_add_func("/benchmark/full-run", test_full_run);
  g_test_add_func("/benchmark/cancel", test_cancel);
  g_test_add_func("/benchmark/errors", test_errors);
  g_test_add_func("/benchmark/gpu-lost", test_gpu_lost);
  g_test_add_func("/benchmark/load-settings", test_load_settings);
  g_test_add_func("/benchmark/chart", test_chart);
  g_test_add_func("/benchmark/page", test_page);
  return g_test_run();
}
