/* cli-bench-standard.c — `still bench --standard`: the published two-prompt
 * benchmark, so that a machine can be compared with published tok/s tables.
 *
 * The method, step by step:
 *   1. the model is loaded first (not timed);
 *   2. one untimed warm-up: prompt 1 with 1 generated token; an error there
 *      ends the benchmark with a message and exit status 1;
 *   3. R timed runs (default 3) of each standard prompt (engine/bench-standard.c),
 *      each from an empty cache (still_session_reset), at most 512 generated
 *      tokens in a 2048-token context, the prompt rendered with the model's
 *      chat template as one user message plus the generation prompt; sampling
 *      as the model recommends (still_sampling_for_model) with seed = run + 1,
 *      so that a run can be repeated.
 * Per run: prompt and generation tok/s from the engine's own counts and times
 * (still_stats: prompt tokens / prompt seconds, decode passes / generation
 * seconds, as llama.cpp's timings), time to first token, total time, tokens,
 * peak RSS (the high-water mark is reset before every run), peak device
 * memory, and for prompt 1 whether the final answer says 75 km/h. Averages are
 * taken over the raw per-run values, never over rounded ones.
 *
 * Ctrl+C (SIGINT) cancels the run in progress (still_session_cancel) and the
 * command exits with status 1 and a message.
 */
#include "cli-common.h"
#include "cli-run.h"

#include "cpu/threadpool.h"
#include "model.h"
#include "types.h"

#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

static const char standard_usage[] =
  "Usage: still bench --standard -m FILE [OPTIONS]\n"
  "\n"
  "The published two-prompt benchmark: after one untimed warm-up, R timed runs\n"
  "of each standard prompt (an average-speed word problem and a binary search\n"
  "function), each from an empty cache, at most 512 generated tokens in a\n"
  "2048-token context, sampling as the model recommends with seed = run number.\n"
  "Prints prompt and generation tok/s, time to first token, total time, peak\n"
  "RAM and VRAM per run and their averages, and whether the answer to the\n"
  "word problem is right (75 km/h).\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE     the GGUF model\n"
  "  -r, --runs R         timed runs of each prompt (default 3)\n"
  "  -n, --max-tokens N   generated tokens at most (default 512, the method's;\n"
  "                       fewer only for quick checks: not comparable then)\n"
  "  -t, --threads N      threads (default: physical cores)\n"
  "  --kv-type T          KV cache type: f16 (default), f32, q8_0\n"
  "  -ngl, --gpu-layers N run the last N layers on the GPU (-1: all; default: as\n"
  "                       many as fit, from the fit estimate, split like it over\n"
  "                       several GPUs; 0 without a GPU)\n"
  "  --device D           Vulkan device: index, part of its name or uuid:HEX (see\n"
  "                       'still devices --json');\n"
  "                       naming one without --gpu-layers puts all layers on it;\n"
  "                       several: 0,1 (with --split, or equal shares)\n"
  "  --split A,B[,...]    spread the GPU layers over several devices in these\n"
  "                       proportions\n"
  "  --json               print one JSON object instead of a table\n"
  "  -h, --help           show this help\n"
  "\n"
  "Progress goes to standard error; Ctrl+C stops the benchmark.\n";

/* ---- one run ---------------------------------------------------------------- */

typedef struct {
  char *text;
  size_t len, cap;
  bool oom;
} text_buf;

static bool collect_token(int32_t token, const char *text, size_t len, void *user)
{
  (void)token;
  text_buf *b = user;
  if (text && len > 0 && !b->oom) {
    if (b->len + len + 1 > b->cap) {
      size_t nc = b->cap ? b->cap * 2 : 4096;
      while (nc < b->len + len + 1) nc *= 2;
      char *nb = realloc(b->text, nc);
      if (!nb) b->oom = true;
      else {
        b->text = nb;
        b->cap = nc;
      }
    }
    if (!b->oom) {
      memcpy(b->text + b->len, text, len);
      b->len += len;
      b->text[b->len] = '\0';
    }
  }
  return !cli_sigint_interrupted();
}

typedef struct {
  int prompt, run;
  uint64_t seed;
  int32_t prompt_tokens, gen_tokens;
  double prompt_tok_s, gen_tok_s, ttft_ms, total_s;
  uint64_t peak_rss, peak_vram;
  bool answer_ok;
  const char *stop;
  char *text;
} run_result;

static const char *stop_name(still_stop_reason r)
{
  switch (r) {
  case STILL_STOP_EOG: return "eog";
  case STILL_STOP_MAX_TOKENS: return "max_tokens";
  case STILL_STOP_CALLBACK: return "stopped";
  case STILL_STOP_CANCELLED: return "cancelled";
  case STILL_STOP_CONTEXT_FULL: return "context_full";
  case STILL_STOP_ERROR: return "error";
  default: return "none";
  }
}

/* Render prompt i as one user message with the generation prompt and
 * tokenize it (special tokens parsed; the BOS the model wants, once). */
static int standard_prompt_ids(const still_model *m, int i, int32_t **ids, size_t *n)
{
  *ids = NULL;
  *n = 0;
  still_message msg = {.role = "user", .content = still_bench_prompt(i)};
  char *text = still_chat_render(m, &msg, 1, true);
  if (!text) return cli_fail("out of memory");
  size_t len = strlen(text);
  still_error err = {0};
  int64_t cap = (int64_t)len + 8, need = -1;
  int32_t *buf = NULL;
  for (int attempt = 0; attempt < 2; attempt++) {
    free(buf);
    buf = malloc((size_t)cap * sizeof *buf);
    if (!buf) break;
    need = still_tokenize(m, text, len, true, true, buf, cap, &err);
    if (need < 0 || need <= cap) break;
    cap = need;
  }
  free(text);
  if (!buf) return cli_fail("out of memory");
  if (need < 0 || need > cap) {
    free(buf);
    return cli_fail("cannot tokenize the benchmark prompt: %s", err.message[0] ? err.message : "unknown error");
  }
  /* the R1 templates write the BOS text themselves: drop the one add_bos doubled */
  int32_t bos = still_token_bos(m);
  if (need >= 2 && bos >= 0 && buf[0] == bos && buf[1] == bos) {
    memmove(buf, buf + 1, (size_t)(need - 1) * sizeof *buf);
    need--;
  }
  if (need == 0) {
    free(buf);
    return cli_fail("the benchmark prompt gives no tokens");
  }
  *ids = buf;
  *n = (size_t)need;
  return 0;
}

/* One generation: the warm-up (max_tokens 1, r NULL) or a timed run. */
static int generate_once(still_session *s, const still_model *m, const int32_t *ids, size_t n, int prompt,
                         int run, int32_t max_tokens, run_result *r)
{
  still_sampling smp = still_sampling_for_model(m);
  smp.seed = (uint64_t)run + 1;
  smp.max_tokens = max_tokens;
  text_buf tb = {0};
  still_stats st;
  still_error err = {0};
  still_session_reset(s); /* an empty cache: the whole prompt is evaluated */
  if (cli_sigint_interrupted()) return 1;
  if (r) still_peak_rss_reset();
  double t0 = still_time_s();
  still_status gs = still_session_generate(s, ids, n, &smp, collect_token, &tb, &st, &err);
  double total = still_time_s() - t0;
  if (cli_sigint_interrupted() || gs == STILL_ERR_CANCELLED) {
    free(tb.text);
    return 1;
  }
  if (gs != STILL_OK || st.stop == STILL_STOP_ERROR) {
    free(tb.text);
    return cli_fail("%s failed: %s", r ? "a benchmark run" : "the warm-up",
                    err.message[0] ? err.message : still_status_name(gs));
  }
  if (tb.oom) {
    free(tb.text);
    return cli_fail("out of memory");
  }
  if (!r) {
    free(tb.text);
    if (st.gen_tokens < 1 && st.stop != STILL_STOP_EOG)
      return cli_fail("the warm-up generated no token (stop: %s)", stop_name(st.stop));
    return 0;
  }
  r->prompt = prompt;
  r->run = run;
  r->seed = smp.seed;
  r->prompt_tokens = st.prompt_tokens;
  r->gen_tokens = st.gen_tokens;
  r->prompt_tok_s = st.prompt_s > 0 ? st.prompt_tokens / st.prompt_s : 0;
  /* decode speed: single-token passes over their time (the first generated
   * token comes out of the prompt pass), as llama.cpp's eval timings */
  int32_t evals = st.gen_evals > 0 ? st.gen_evals : st.gen_tokens;
  r->gen_tok_s = st.gen_s > 0 ? evals / st.gen_s : 0;
  r->ttft_ms = st.ttft_s * 1e3;
  r->total_s = total;
  r->peak_rss = still_peak_rss_bytes();
  r->peak_vram = still_session_peak_device_bytes(s);
  r->stop = stop_name(st.stop);
  r->text = tb.text ? tb.text : calloc(1, 1);
  r->answer_ok = prompt == 0 && still_bench_answer_ok(0, r->text);
  if (!r->text) return cli_fail("out of memory");
  return 0;
}

/* ---- what ran where ---------------------------------------------------------- */

/* The file's dominant weight type as llama.cpp names it: general.file_type
 * ("Q4_K_M"), else the type holding the most bytes of matrices. */
static void model_quant(const still_model *m, char *out, size_t size)
{
  const still_model_info *info = still_model_get_info(m);
  if (strcmp(info->file_type, "unknown") != 0) {
    snprintf(out, size, "%s", info->file_type);
    return;
  }
  uint64_t bytes[64] = {0};
  for (uint64_t i = 0; i < gguf_n_tensors(m->file); i++) {
    const gguf_tensor *t = gguf_tensor_at(m->file, i);
    if (t->n_dims >= 2 && t->type < 64) bytes[t->type] += t->size;
  }
  uint32_t best = 0;
  for (uint32_t t = 1; t < 64; t++)
    if (bytes[t] > bytes[best]) best = t;
  snprintf(out, size, "%s", bytes[best] ? still_type_name(best) : "unknown");
}

/* The CPU's model name from /proc/cpuinfo ("cpu" when unknown). */
static void cpu_name(char *out, size_t size)
{
  snprintf(out, size, "cpu");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) != 0) continue;
    const char *v = strchr(line, ':');
    if (!v) continue;
    v++;
    while (*v == ' ' || *v == '\t') v++;
    size_t len = strcspn(v, "\r\n");
    if (len > 0) snprintf(out, size, "%.*s", (int)len, v);
    break;
  }
  fclose(f);
}

/* Backend and device from the offload line "offload: N/M layers on DEVICE…". */
static const char *backend_device(const char *offload, char *device, size_t size)
{
  const char *on = strstr(offload, " layers on ");
  if (strncmp(offload, "offload: 0/", 11) == 0 || !on) {
    cpu_name(device, size);
    return "cpu";
  }
  on += strlen(" layers on ");
  const char *cut = strstr(on, " (fewer than asked");
  size_t len = cut ? (size_t)(cut - on) : strlen(on);
  snprintf(device, size, "%.*s", (int)len, on);
  return "vulkan";
}

/* ---- averages and output ------------------------------------------------------- */

typedef struct {
  double prompt_tokens, prompt_tok_s, gen_tok_s, ttft_ms, total_s, gen_tokens, peak_rss, peak_vram;
  int answer_ok_runs, n;
} run_average;

/* Means over the raw per-run values, summed in run order. */
static run_average average_of(const run_result *runs, int n_runs, int prompt)
{
  run_average a = {0};
  for (int i = 0; i < n_runs; i++) {
    const run_result *r = &runs[i];
    if (r->prompt != prompt) continue;
    a.prompt_tokens += r->prompt_tokens;
    a.prompt_tok_s += r->prompt_tok_s;
    a.gen_tok_s += r->gen_tok_s;
    a.ttft_ms += r->ttft_ms;
    a.total_s += r->total_s;
    a.gen_tokens += r->gen_tokens;
    a.peak_rss += (double)r->peak_rss;
    a.peak_vram += (double)r->peak_vram;
    a.answer_ok_runs += r->answer_ok;
    a.n++;
  }
  if (a.n > 0) {
    a.prompt_tokens /= a.n;
    a.prompt_tok_s /= a.n;
    a.gen_tok_s /= a.n;
    a.ttft_ms /= a.n;
    a.total_s /= a.n;
    a.gen_tokens /= a.n;
    a.peak_rss /= a.n;
    a.peak_vram /= a.n;
  }
  return a;
}

typedef struct {
  const char *model_name, *model_path, *quant, *backend, *device, *offload, *kv_type;
  int32_t threads, max_tokens;
  int runs_per_prompt;
} bench_meta;

static int print_json(const bench_meta *meta, const run_result *runs, int n_runs)
{
  cJSON *root = cJSON_CreateObject();
  if (!root) return cli_fail("out of memory");
  cJSON_AddStringToObject(root, "model", meta->model_name);
  cJSON_AddStringToObject(root, "model_path", meta->model_path);
  cJSON_AddStringToObject(root, "quant", meta->quant);
  cJSON_AddStringToObject(root, "backend", meta->backend);
  cJSON_AddStringToObject(root, "device", meta->device);
  cJSON_AddStringToObject(root, "offload", meta->offload);
  cJSON_AddNumberToObject(root, "threads", meta->threads);
  cJSON_AddStringToObject(root, "version", STILL_VERSION);
  cJSON_AddStringToObject(root, "kv_type", meta->kv_type);
  cJSON_AddNumberToObject(root, "n_ctx", STILL_BENCH_N_CTX);
  cJSON_AddNumberToObject(root, "max_tokens", meta->max_tokens);
  cJSON_AddNumberToObject(root, "runs_per_prompt", meta->runs_per_prompt);
  cJSON *arr = cJSON_AddArrayToObject(root, "runs");
  for (int i = 0; arr && i < n_runs; i++) {
    const run_result *r = &runs[i];
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(arr, o)) {
      cJSON_Delete(o);
      break;
    }
    cJSON_AddStringToObject(o, "prompt", still_bench_prompt_name(r->prompt));
    cJSON_AddNumberToObject(o, "run", r->run + 1);
    cli_json_add_u64(o, "seed", r->seed);
    cJSON_AddNumberToObject(o, "prompt_tokens", r->prompt_tokens);
    cJSON_AddNumberToObject(o, "prompt_tok_s", r->prompt_tok_s);
    cJSON_AddNumberToObject(o, "gen_tok_s", r->gen_tok_s);
    cJSON_AddNumberToObject(o, "ttft_ms", r->ttft_ms);
    cJSON_AddNumberToObject(o, "total_s", r->total_s);
    cJSON_AddNumberToObject(o, "gen_tokens", r->gen_tokens);
    cli_json_add_u64(o, "peak_rss_bytes", r->peak_rss);
    cli_json_add_u64(o, "peak_vram_bytes", r->peak_vram);
    if (r->prompt == 0) cJSON_AddBoolToObject(o, "answer_ok", r->answer_ok);
    else cJSON_AddNullToObject(o, "answer_ok");
    cJSON_AddStringToObject(o, "stop", r->stop);
    cli_json_add_strn(o, "text", r->text, strlen(r->text));
  }
  cJSON *avg = cJSON_AddObjectToObject(root, "averages");
  for (int p = 0; avg && p < STILL_BENCH_N_PROMPTS; p++) {
    run_average a = average_of(runs, n_runs, p);
    cJSON *o = cJSON_AddObjectToObject(avg, still_bench_prompt_name(p));
    if (!o) break;
    cJSON_AddNumberToObject(o, "runs", a.n);
    cJSON_AddNumberToObject(o, "prompt_tokens", a.prompt_tokens);
    cJSON_AddNumberToObject(o, "prompt_tok_s", a.prompt_tok_s);
    cJSON_AddNumberToObject(o, "gen_tok_s", a.gen_tok_s);
    cJSON_AddNumberToObject(o, "ttft_ms", a.ttft_ms);
    cJSON_AddNumberToObject(o, "total_s", a.total_s);
    cJSON_AddNumberToObject(o, "gen_tokens", a.gen_tokens);
    cJSON_AddNumberToObject(o, "peak_rss_bytes", a.peak_rss);
    cJSON_AddNumberToObject(o, "peak_vram_bytes", a.peak_vram);
    if (p == 0) cJSON_AddNumberToObject(o, "answer_ok_runs", a.answer_ok_runs);
    else cJSON_AddNullToObject(o, "answer_ok_runs");
  }
  bool ok = cli_json_print(root);
  cJSON_Delete(root);
  return ok ? 0 : cli_fail("out of memory");
}

/* One table row (NULL: the separator); widths in characters. */
#define N_COLS 10
static void print_row(const char *const *cells)
{
  static const int width[N_COLS] = {13, 7, 9, 9, 9, 8, 6, 10, 10, 7};
  static const bool right[N_COLS] = {false, true, true, true, true, true, true, true, true, false};
  for (int i = 0; i < N_COLS; i++) {
    fputs(i ? " | " : "| ", stdout);
    if (!cells) {
      for (int k = 0; k < width[i] - (right[i] ? 1 : 0); k++) putchar('-');
      if (right[i]) putchar(':');
      continue;
    }
    int chars = 0;
    for (const char *c = cells[i]; *c; c++) chars += ((unsigned char)*c & 0xC0) != 0x80;
    int pad = width[i] > chars ? width[i] - chars : 0;
    if (right[i]) printf("%*s%s", pad, "", cells[i]);
    else printf("%s%*s", cells[i], pad, "");
  }
  fputs(" |\n", stdout);
}

static void table_row(const char *prompt, const char *run, double pp, double tg, double ttft_ms, double total_s,
                      double tokens, double rss, double vram, const char *answer)
{
  char c_pp[32], c_tg[32], c_ttft[32], c_total[32], c_tok[32], c_rss[32], c_vram[32];
  snprintf(c_pp, sizeof c_pp, "%.2f", pp);
  snprintf(c_tg, sizeof c_tg, "%.2f", tg);
  snprintf(c_ttft, sizeof c_ttft, "%.0f ms", ttft_ms);
  snprintf(c_total, sizeof c_total, "%.2f s", total_s);
  snprintf(c_tok, sizeof c_tok, "%.0f", tokens);
  still_format_bytes((uint64_t)(rss + 0.5), c_rss, sizeof c_rss);
  if (vram > 0) still_format_bytes((uint64_t)(vram + 0.5), c_vram, sizeof c_vram);
  else snprintf(c_vram, sizeof c_vram, "-");
  print_row((const char *[]){prompt, run, c_pp, c_tg, c_ttft, c_total, c_tok, c_rss, c_vram, answer});
}

static void print_table(const bench_meta *meta, const run_result *runs, int n_runs)
{
  printf("model: %s (%s), still %s\n", meta->model_name, meta->quant, STILL_VERSION);
  printf("backend: %s, device: %s, threads: %" PRId32 ", KV cache: %s\n", meta->backend, meta->device,
         meta->threads, meta->kv_type);
  printf("%s\n", meta->offload);
  printf("context %d, at most %d generated tokens, %d run%s per prompt\n\n", STILL_BENCH_N_CTX,
         (int)meta->max_tokens, meta->runs_per_prompt, meta->runs_per_prompt == 1 ? "" : "s");
  print_row((const char *[]){"prompt", "run", "pp t/s", "tg t/s", "TTFT", "total", "tokens", "peak RAM",
                             "peak VRAM", "75 km/h"});
  print_row(NULL);
  for (int i = 0; i < n_runs; i++) {
    const run_result *r = &runs[i];
    char run[16];
    snprintf(run, sizeof run, "%d", r->run + 1);
    table_row(still_bench_prompt_name(r->prompt), run, r->prompt_tok_s, r->gen_tok_s, r->ttft_ms, r->total_s,
              r->gen_tokens, (double)r->peak_rss, (double)r->peak_vram,
              r->prompt == 0 ? (r->answer_ok ? "yes" : "no") : "");
  }
  print_row(NULL);
  for (int p = 0; p < STILL_BENCH_N_PROMPTS; p++) {
    run_average a = average_of(runs, n_runs, p);
    char answer[16] = "";
    if (p == 0) snprintf(answer, sizeof answer, "%d/%d", a.answer_ok_runs, a.n);
    table_row(still_bench_prompt_name(p), "avg", a.prompt_tok_s, a.gen_tok_s, a.ttft_ms, a.total_s, a.gen_tokens,
              a.peak_rss, a.peak_vram, answer);
  }
}

/* ---- the command ------------------------------------------------------------------ */

int still_cmd_bench_standard(int argc, char **argv)
{
  const char *model = NULL, *runs_text = NULL, *max_text = NULL, *t_text = NULL, *kv_text = NULL, *ngl_text = NULL, *device = NULL,
             *split = NULL;
  bool json = false, standard = false;
  const cli_option opts[] = {
    {.long_name = "--standard", .kind = CLI_OPT_FLAG, .flag = &standard},
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--runs", .short_name = "-r", .kind = CLI_OPT_VALUE, .value = &runs_text},
    {.long_name = "--max-tokens", .short_name = "-n", .kind = CLI_OPT_VALUE, .value = &max_text},
    {.long_name = "--threads", .short_name = "-t", .kind = CLI_OPT_VALUE, .value = &t_text},
    {.long_name = "--kv-type", .kind = CLI_OPT_VALUE, .value = &kv_text},
    {.long_name = "--gpu-layers", .short_name = "-ngl", .kind = CLI_OPT_VALUE, .value = &ngl_text},
    {.long_name = "--device", .kind = CLI_OPT_VALUE, .value = &device},
    {.long_name = "--split", .kind = CLI_OPT_VALUE, .value = &split},
    {.long_name = "--json", .kind = CLI_OPT_FLAG, .flag = &json},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result ar =
    cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], standard_usage, &pos, &n_pos);
  if (ar != CLI_ARGS_OK) return ar == CLI_ARGS_HELP ? 0 : 1;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (extra) return cli_fail("unexpected argument '%.60s' (see 'still bench --standard --help')", extra);
  if (!model) return cli_fail("no model given: pass -m FILE (see 'still bench --standard --help')");
  int32_t n_runs = 3;
  still_session_params sp = still_session_params_default();
  int32_t max_tokens = STILL_BENCH_MAX_TOKENS;
  if (cli_run_i32("--runs", runs_text, 1, 1000, &n_runs)) return 1;
  if (cli_run_i32("--max-tokens", max_text, 1, STILL_BENCH_MAX_TOKENS, &max_tokens)) return 1;
  if (cli_run_i32("--threads", t_text, 1, STILL_MAX_THREADS, &sp.n_threads)) return 1;
  if (cli_run_kv_type(kv_text, &sp.kv_type)) return 1;
  if (cli_run_i32("--gpu-layers", ngl_text, -1, 1 << 20, &sp.n_gpu_layers)) return 1;
  if (cli_check_gpu_args(device, split)) return 1;
  sp.device = device;
  sp.split = split;
  sp.on_step = cli_say_step;
  if ((device || split) && !ngl_text) sp.n_gpu_layers = -1; /* naming a device means using it */
  sp.n_threads = sp.n_threads > 0 ? sp.n_threads : still_cpu_physical_cores();
  sp.n_ctx = STILL_BENCH_N_CTX;

  /* 1. the model, loaded first */
  fprintf(stderr, "loading %s…\n", model);
  still_model *m = NULL;
  if (cli_run_load_model(model, false, &m)) return 1;
  const still_model_info *info = still_model_get_info(m);
  if (!info->has_vocab) {
    still_model_free(m);
    return cli_fail("this model has no tokenizer: the benchmark needs text prompts");
  }
  if (!ngl_text && !device && !split) cli_run_auto_gpu_layers(m, &sp);

  int rc = 0;
  int32_t *ids[STILL_BENCH_N_PROMPTS] = {0};
  size_t n_ids[STILL_BENCH_N_PROMPTS] = {0};
  for (int p = 0; rc == 0 && p < STILL_BENCH_N_PROMPTS; p++) rc = standard_prompt_ids(m, p, &ids[p], &n_ids[p]);
  for (int p = 0; rc == 0 && p < STILL_BENCH_N_PROMPTS; p++)
    if (n_ids[p] + (size_t)max_tokens > STILL_BENCH_N_CTX)
      rc = cli_fail("the benchmark prompt has %zu tokens: with %d generated it does not fit %d", n_ids[p],
                    (int)max_tokens, STILL_BENCH_N_CTX);
  int total_runs = STILL_BENCH_N_PROMPTS * n_runs;
  run_result *runs = rc == 0 ? calloc((size_t)total_runs, sizeof *runs) : NULL;
  if (rc == 0 && !runs) rc = cli_fail("out of memory");

  /* Worker threads (thread pool, GPU driver) start with SIGINT blocked so
   * that the handler runs on this thread. */
  sigset_t old_mask;
  cli_sigint_block(&old_mask);
  cli_start_watch start;
  cli_sigint_start_begin(&start);
  still_session *s = NULL;
  if (rc == 0) {
    still_error err = {0};
    if (still_session_new(m, &sp, &s, &err) != STILL_OK)
      rc = cli_fail("cannot start a session: %s", err.message[0] ? err.message : "unknown error");
  }
  cli_sigint_start_end(&start);
  struct sigaction sa_old;
  cli_sigint_watch(s, false, &old_mask, &sa_old);

  char device_name[256] = "", offload_start[1024] = "";
  const char *backend = "cpu";
  if (rc == 0) {
    snprintf(offload_start, sizeof offload_start, "%s", still_session_offload(s));
    backend = backend_device(still_session_offload(s), device_name, sizeof device_name);
    fprintf(stderr, "%s\n", still_session_offload(s)); /* where the layers went (CPU only too) */
  }

  /* 2. the warm-up: 1 token, untimed, errors checked */
  if (rc == 0) {
    fprintf(stderr, "warm-up…\n");
    rc = generate_once(s, m, ids[0], n_ids[0], 0, 0, 1, NULL);
    if (rc == 0) rc = cli_run_bench_gpu_intact(offload_start, s); /* no timed run after a GPU failure */
  }
  /* 3. the timed runs: every run of prompt 1, then of prompt 2 */
  int done = 0;
  for (int p = 0; rc == 0 && p < STILL_BENCH_N_PROMPTS; p++)
    for (int r = 0; rc == 0 && r < n_runs; r++) {
      fprintf(stderr, "run %d/%d of %s…\n", (int)r + 1, (int)n_runs, still_bench_prompt_name(p));
      rc = generate_once(s, m, ids[p], n_ids[p], p, r, max_tokens, &runs[done]);
      if (rc == 0) done++;
      if (rc == 0) rc = cli_run_bench_gpu_intact(offload_start, s);
    }
  cli_sigint_restore(&sa_old);
  if (rc == 0) rc = cli_run_bench_gpu_intact(offload_start, s);
  if (cli_sigint_interrupted()) {
    /* the message of an interrupted run may already be out; one line says why */
    rc = cli_fail("the benchmark was interrupted (Ctrl+C) after %d of %d runs", done, total_runs);
  }

  if (rc == 0) {
    char quant[32];
    model_quant(m, quant, sizeof quant);
    bench_meta meta = {
      .model_name = info->name,
      .model_path = model,
      .quant = quant,
      .backend = backend,
      .device = device_name,
      .offload = still_session_offload(s),
      .kv_type = cli_run_kv_type_name(sp.kv_type),
      .threads = sp.n_threads,
      .max_tokens = max_tokens,
      .runs_per_prompt = n_runs,
    };
    if (json) rc = print_json(&meta, runs, done);
    else print_table(&meta, runs, done);
  }
  for (int i = 0; runs && i < done; i++) free(runs[i].text);
  free(runs);
  for (int p = 0; p < STILL_BENCH_N_PROMPTS; p++) free(ids[p]);
  still_session_free(s);
  still_model_free(m);
  return rc ? rc : cli_finish_output();
}
