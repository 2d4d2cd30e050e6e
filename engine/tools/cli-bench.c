/* cli-bench.c — `still bench`: prompt processing (pp) and token generation
 * (tg) speed, measured the way llama-bench does so that both tools can be
 * compared on the same file, machine and thread count:
 *
 *   pp: a prompt of p token ids (BOS first when the model adds one, then
 *       pseudo-random valid ids) evaluated from an empty cache in batches;
 *       tok/s = p / time of that evaluation.
 *   tg: n single-token forward passes from an empty cache, each feeding a
 *       pseudo-random id (no sampling is timed); tok/s = n / time.
 *
 * One untimed warm-up (a full pp run and a 1-token tg run), then r timed
 * runs each; mean and sample standard deviation of the r tok/s values. The
 * cache is emptied before every run (still_session_reset: the session's KV
 * cache starts over, as a fresh session's would).
 *
 * --membw measures the read bandwidth of the memory the weights were read
 * from and reports the decode efficiency: the weight bytes a decode step has
 * to read (every tensor except token_embd, which is a row lookup, unless it
 * doubles as the tied output matrix) × tg tok/s ÷ bandwidth. 100 % would be
 * a decode that is limited by memory bandwidth alone. With every layer on
 * one GPU that is the GPU's own memory (shaders streaming a buffer in it,
 * still_measure_gpu_bandwidth; the vendor's figure too where hw.c's table
 * knows the card); else this machine's RAM with the same thread count (a
 * streaming sum over a buffer far larger than the caches), and with layers
 * on both no efficiency is given: no one bandwidth limits such a decode.
 */
#include "cli-common.h"
#include "cli-run.h"

#include "cpu/threadpool.h"
#include "cpu/vec.h"
#include "hw.h"
#include "model.h"
#include "tokenizer/vocab.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char bench_usage[] =
  "Usage: still bench -m FILE [OPTIONS]\n"
  "\n"
  "Measure prompt processing (pp) and generation (tg) speed like llama-bench:\n"
  "one untimed warm-up, then R timed runs from an empty cache; mean +- sd.\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE     the GGUF model\n"
  "  -p, --n-prompt N     prompt tokens of the pp test (default 512; 0 = skip)\n"
  "  -n, --n-gen N        tokens of the tg test (default 128; 0 = skip)\n"
  "  -d, --n-depth N      tokens already in the cache when each test starts\n"
  "                       (filled untimed; like llama-bench -d): speed at a\n"
  "                       long context\n"  "  -r, --repetitions R  timed runs of each test (default 3)\n"
  "  -t, --threads N      threads (default: physical cores)\n"
  "  -b, --batch-size N   prompt tokens per forward pass (default 512)\n"
  "  --kv-type T          KV cache type: f16 (default), f32, q8_0\n"
  "  -ngl, --gpu-layers N run the last N layers on the GPU (-1: all; default: as\n"
  "                       many as fit, from the fit estimate, split like it over\n"
  "                       several GPUs; 0 without a GPU)\n"
  "  --device D           Vulkan device: index, part of its name or uuid:HEX (see\n"
  "                       'still devices --json');\n"
  "                       several: 0,1 (with --split, or equal shares)\n"
  "  --split A,B[,...]    spread the GPU layers over several devices in these\n"
  "                       proportions\n"
  "  --membw              also measure the memory read bandwidth and print the\n"
  "                       decode efficiency (weight bytes per token x tg tok/s\n"
  "                       / bandwidth): the GPU's memory when every layer ran\n"
  "                       on one GPU, else the RAM's\n"
  "  --membw-size SIZE    buffer of the bandwidth test (default 1G; it must be\n"
  "                       much larger than the CPU or GPU caches)\n"
  "  --json               print one JSON object instead of a table\n"
  "  --standard           the published two-prompt benchmark instead (see\n"
  "                       'still bench --standard --help')\n"
  "  -h, --help           show this help\n";

typedef struct {
  double mean, sd;
  double *v;
  int n;
} bench_result;

static void summarize(bench_result *r)
{
  double sum = 0;
  for (int i = 0; i < r->n; i++) sum += r->v[i];
  r->mean = r->n ? sum / r->n : 0;
  double ss = 0;
  for (int i = 0; i < r->n; i++) ss += (r->v[i] - r->mean) * (r->v[i] - r->mean);
  r->sd = r->n > 1 ? sqrt(ss / (r->n - 1)) : 0; /* sample sd, as llama-bench */
}

/* Simple xorshift for reproducible token ids. */
static uint64_t next_rand(uint64_t *s)
{
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

typedef struct {
  still_session *s;
  const int32_t *tokens;
  float *logits;
  int32_t n_prompt, n_gen;
  int32_t depth; /* tokens in the cache before each timed test (untimed) */
  const char *offload; /* where the layers went at the start: a GPU failure changes it */
} bench_ctx;

/* Stops at the first GPU failure (the layers then on the CPU): the runs left
 * would only time the CPU, and their results are refused anyway. */
static int gpu_intact(const bench_ctx *b)
{
  return b->offload ? cli_run_bench_gpu_intact(b->offload, b->s) : 0;
}

/* An empty cache, then depth tokens (untimed). */
static int fill_depth(bench_ctx *b)
{
  still_error err = {0};
  still_session_reset(b->s);
  if (b->depth > 0 &&
      still_session_logits(b->s, b->tokens, (size_t)b->depth, false, b->logits, NULL, &err) != STILL_OK)
    return cli_fail("filling the cache to depth %d failed: %s", (int)b->depth, err.message);
  return 0;
}

static int run_pp(bench_ctx *b, double *tok_s)
{
  still_error err = {0};
  if (fill_depth(b)) return 1;
  double t0 = still_time_s();
  still_status st =
    still_session_logits(b->s, b->tokens, (size_t)(b->depth + b->n_prompt), false, b->logits, NULL, &err);
  double dt = still_time_s() - t0;
  if (st != STILL_OK) return cli_fail("prompt evaluation failed: %s", err.message);
  *tok_s = dt > 0 ? b->n_prompt / dt : 0;
  return gpu_intact(b);
}

/* n single-token passes: the cache grows by one each call and the prefix
 * reuse of still_session_logits evaluates only the new token. */
static int run_tg(bench_ctx *b, int32_t n, double *tok_s)
{
  still_error err = {0};
  if (fill_depth(b)) return 1;
  double t0 = still_time_s();
  for (int32_t i = 0; i < n; i++) {
    still_status st =
      still_session_logits(b->s, b->tokens, (size_t)(b->depth + i) + 1, false, b->logits, NULL, &err);
    if (st != STILL_OK) return cli_fail("generation step %d failed: %s", (int)i, err.message);
    if (gpu_intact(b)) return 1;
  }
  double dt = still_time_s() - t0;
  *tok_s = dt > 0 ? n / dt : 0;
  return 0;
}

/* Bytes of weights one decode step reads: every tensor except the token
 * embedding (one row is looked up), unless it is also the output matrix. */
static uint64_t decode_weight_bytes(const still_model *m)
{
  bool tied = m->output.data && m->output.data == m->tok_embd.data;
  uint64_t total = 0;
  for (uint64_t i = 0; i < gguf_n_tensors(m->file); i++) {
    const gguf_tensor *t = gguf_tensor_at(m->file, i);
    if (!tied && gguf_str_eq(t->name, "token_embd.weight")) continue;
    total += t->size;
  }
  return total;
}

/* ---- output -------------------------------------------------------------- */

static void json_result(cJSON *root, const char *key, const bench_result *r, bool present)
{
  if (!present) {
    cJSON_AddNullToObject(root, key);
    return;
  }
  cJSON *o = cJSON_AddObjectToObject(root, key);
  if (!o) return;
  cJSON_AddNumberToObject(o, "mean", r->mean);
  cJSON_AddNumberToObject(o, "sd", r->sd);
  cJSON *a = cJSON_AddArrayToObject(o, "samples");
  for (int i = 0; a && i < r->n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(r->v[i]));
}

/* One row of the llama-bench-like table (NULL: the separator row). Widths
 * count characters, not bytes (the "±"). */
static void print_row(const char *const *cells)
{
  static const int width[8] = {30, 10, 10, 7, 7, 10, 8, 20};
  static const bool right[8] = {false, true, true, false, true, false, true, true};
  for (int i = 0; i < 8; i++) {
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

int still_cmd_bench(int argc, char **argv)
{
  /* --standard: the published two-prompt method (cli-bench-standard.c) */
  for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
    if (strcmp(argv[i], "--standard") == 0) return still_cmd_bench_standard(argc, argv);
  const char *model = NULL, *p_text = NULL, *n_text = NULL, *r_text = NULL, *t_text = NULL, *b_text = NULL;
  const char *kv_text = NULL, *membw_size_text = NULL, *ngl_text = NULL, *device = NULL, *split = NULL;
  const char *d_text = NULL;
  bool json = false, membw = false;
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--n-prompt", .short_name = "-p", .kind = CLI_OPT_VALUE, .value = &p_text},
    {.long_name = "--n-gen", .short_name = "-n", .kind = CLI_OPT_VALUE, .value = &n_text},
    {.long_name = "--n-depth", .short_name = "-d", .kind = CLI_OPT_VALUE, .value = &d_text},
    {.long_name = "--repetitions", .short_name = "-r", .kind = CLI_OPT_VALUE, .value = &r_text},
    {.long_name = "--threads", .short_name = "-t", .kind = CLI_OPT_VALUE, .value = &t_text},
    {.long_name = "--batch-size", .short_name = "-b", .kind = CLI_OPT_VALUE, .value = &b_text},
    {.long_name = "--kv-type", .kind = CLI_OPT_VALUE, .value = &kv_text},
    {.long_name = "--json", .kind = CLI_OPT_FLAG, .flag = &json},
    {.long_name = "--membw", .kind = CLI_OPT_FLAG, .flag = &membw},
    {.long_name = "--membw-size", .kind = CLI_OPT_VALUE, .value = &membw_size_text},
    {.long_name = "--gpu-layers", .short_name = "-ngl", .kind = CLI_OPT_VALUE, .value = &ngl_text},
    {.long_name = "--device", .kind = CLI_OPT_VALUE, .value = &device},
    {.long_name = "--split", .kind = CLI_OPT_VALUE, .value = &split},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result ar = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], bench_usage, &pos, &n_pos);
  if (ar != CLI_ARGS_OK) return ar == CLI_ARGS_HELP ? 0 : 1;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (extra) return cli_fail("unexpected argument '%.60s' (see 'still bench --help')", extra);
  if (!model) return cli_fail("no model given: pass -m FILE (see 'still bench --help')");
  int32_t n_prompt = 512, n_gen = 128, reps = 3, depth = 0;
  still_session_params sp = still_session_params_default();
  if (cli_run_i32("--n-prompt", p_text, 0, 1 << 20, &n_prompt)) return 1;
  if (cli_run_i32("--n-gen", n_text, 0, 1 << 20, &n_gen)) return 1;
  if (cli_run_i32("--n-depth", d_text, 0, 1 << 20, &depth)) return 1;
  if (cli_run_i32("--repetitions", r_text, 1, 1000, &reps)) return 1;
  if (cli_run_i32("--threads", t_text, 1, STILL_MAX_THREADS, &sp.n_threads)) return 1;
  if (cli_run_i32("--batch-size", b_text, 1, 1 << 16, &sp.n_batch)) return 1;
  if (cli_run_kv_type(kv_text, &sp.kv_type)) return 1;
  if (cli_run_i32("--gpu-layers", ngl_text, -1, 1 << 20, &sp.n_gpu_layers)) return 1;
  if (cli_check_gpu_args(device, split)) return 1;
  sp.device = device;
  sp.split = split;
  sp.on_step = cli_say_step;
  if ((device || split) && !ngl_text) sp.n_gpu_layers = -1; /* naming a device means using it */
  uint64_t membw_size = (uint64_t)1 << 30;
  if (membw_size_text) {
    char why[200];
    if (!cli_parse_size(membw_size_text, &membw_size, why, sizeof why))
      return cli_fail("option --membw-size: %s", why);
    if (membw_size < ((uint64_t)1 << 20) || membw_size > ((uint64_t)1 << 40))
      return cli_fail("option --membw-size must be between 1M and 1T, not %.40s", membw_size_text);
    membw = true;
  }
  if (n_prompt == 0 && n_gen == 0) return cli_fail("nothing to measure: -p and -n are both 0");
  int32_t threads = sp.n_threads > 0 ? sp.n_threads : still_cpu_physical_cores();
  sp.n_threads = threads;

  still_model *m = NULL;
  if (cli_run_load_model(model, false, &m)) return 1;
  const still_model_info *info = still_model_get_info(m);
  int32_t n_tokens = depth + (n_prompt > n_gen ? n_prompt : n_gen);
  /* past the trained context the numbers mean nothing (and a huge -d would
   * run for hours on the CPU): refuse it plainly */
  const int32_t n_ctx_train = info->n_ctx_train; /* info lives in the model */
  if (n_ctx_train > 0 && n_tokens > n_ctx_train) {
    still_model_free(m);
    return cli_fail("the test needs %d tokens of context (depth %d + %d), but this model was trained for %d",
                    (int)n_tokens, (int)depth, (int)(n_tokens - depth), (int)n_ctx_train);
  }
  sp.n_ctx = n_tokens;
  if (!ngl_text && !device && !split) cli_run_auto_gpu_layers(m, &sp);

  int rc = 0;
  int32_t *tokens = malloc((size_t)n_tokens * sizeof *tokens);
  float *logits = malloc((size_t)info->n_vocab * sizeof *logits);
  double *samples = calloc(2 * (size_t)reps, sizeof *samples);
  if (!tokens || !logits || !samples) rc = cli_fail("out of memory");
  if (rc == 0) {
    /* BOS first when the model adds one (as llama-bench), then random ids */
    uint64_t seed = 0x5EED5EEDull;
    for (int32_t i = 0; i < n_tokens; i++) tokens[i] = (int32_t)(next_rand(&seed) % (uint64_t)info->n_vocab);
    int32_t bos = m->vocab ? still_vocab_bos(m->vocab) : -1;
    if (bos >= 0 && bos < info->n_vocab && still_vocab_add_bos(m->vocab)) tokens[0] = bos;
  }
  still_session *s = NULL;
  char offload[1024] = ""; /* where the layers went, kept past the session (--membw frees it) */
  char gpu_paths[1024] = ""; /* how the GPU's shaders were chosen (still_session_gpu_tuning) */
  if (rc == 0) {
    still_error err = {0};
    if (still_session_new(m, &sp, &s, &err) != STILL_OK) rc = cli_fail("cannot start a session: %s", err.message);
    else {
      snprintf(offload, sizeof offload, "%s", still_session_offload(s));
      fprintf(stderr, "%s\n", offload); /* CPU only too */
      snprintf(gpu_paths, sizeof gpu_paths, "%s", still_session_gpu_tuning(s));
      if (gpu_paths[0]) fprintf(stderr, "gpu paths: %s\n", gpu_paths);
    }
  }
  bench_result pp = {.v = samples, .n = 0}, tg = {.v = samples ? samples + reps : NULL, .n = 0};
  bench_ctx b = {.s = s, .tokens = tokens, .logits = logits, .n_prompt = n_prompt, .n_gen = n_gen, .depth = depth,
                 .offload = offload};
  double ignored;
  if (rc == 0 && n_prompt > 0) {
    rc = run_pp(&b, &ignored); /* warm-up */
    for (int i = 0; rc == 0 && i < reps; i++) rc = run_pp(&b, &pp.v[pp.n++]);
    summarize(&pp);
  }
  if (rc == 0 && n_gen > 0) {
    rc = run_tg(&b, 1, &ignored); /* warm-up */
    for (int i = 0; rc == 0 && i < reps; i++) rc = run_tg(&b, n_gen, &tg.v[tg.n++]);
    summarize(&tg);
  }
  if (rc == 0) rc = cli_run_bench_gpu_intact(offload, s);
  double bw = 0, spec = 0;
  uint64_t bw_bytes = 0, per_token = decode_weight_bytes(m);
  double efficiency = 0, efficiency_spec = 0;
  /* where the layers ran, from the offload line: "offload: N/M layers on
   * Vulkan1 (name)" (N > 0: the Vulkan backend ran them; a split that used
   * several devices joins them with " + "). The bandwidth is of the memory
   * the weights were read from: every layer on one GPU, none, or both. */
  int on_gpu = 0, n_layers = 0;
  if (sscanf(offload, "offload: %d/%d", &on_gpu, &n_layers) != 2) on_gpu = n_layers = 0;
  const char *on_dev = strstr(offload, " layers on Vulkan");
  if (!on_dev) on_gpu = 0;
  char ran_on[32] = ""; /* "Vulkan1": still_vk_open takes it as a device name */
  if (on_dev && sscanf(on_dev + strlen(" layers on "), "%31[A-Za-z0-9]", ran_on) != 1) ran_on[0] = '\0';
  const bool one_gpu = on_gpu > 0 && on_gpu == n_layers && ran_on[0] && !strstr(offload, " + ");
  bool mixed = on_gpu > 0 && !one_gpu;
  char bw_device[256] = "";
  if (rc == 0 && membw) {
    still_session_free(s); /* give its memory back before the 1 GiB buffer */
    s = NULL;
    if (one_gpu) {
      still_error err = {0};
      bw = still_measure_gpu_bandwidth(ran_on, membw_size, &bw_bytes, bw_device, sizeof bw_device, &err);
      if (bw <= 0) {
        /* the speeds stand without it */
        fprintf(stderr, "still: cannot measure the GPU's memory bandwidth: %s\n", err.message);
        mixed = true;
      }
      bool known = false;
      const double table = still_gpu_bandwidth_gbs(bw_device, STILL_GPU_DISCRETE, &known);
      if (known) spec = table;
    } else {
      bw = still_measure_memory_bandwidth(threads, membw_size, &bw_bytes);
      if (bw <= 0) rc = cli_fail("cannot measure the memory bandwidth: out of memory");
    }
    if (rc == 0 && n_gen > 0 && !mixed && bw > 0) {
      efficiency = (double)per_token * tg.mean / (bw * 1e9);
      if (spec > 0) efficiency_spec = (double)per_token * tg.mean / (spec * 1e9);
    }
  }

  const char *isa = still_isa_name(m->isa);
  char params[32], type_label[64];
  cli_format_count(info->n_params, params, sizeof params);
  snprintf(type_label, sizeof type_label, "%s %s %s", info->arch, params, info->file_type);
  if (rc == 0 && json) {
    cJSON *root = cJSON_CreateObject();
    if (!root) rc = cli_fail("out of memory");
    else {
      cJSON_AddStringToObject(root, "model", model);
      cJSON_AddStringToObject(root, "type", info->file_type);
      cJSON_AddStringToObject(root, "arch", info->arch);
      cli_json_add_u64(root, "model_bytes", info->weight_bytes);
      cli_json_add_u64(root, "file_bytes", info->file_size);
      cli_json_add_u64(root, "n_params", info->n_params);
      cJSON_AddStringToObject(root, "backend", on_gpu > 0 ? "vulkan" : "cpu");
      cJSON_AddStringToObject(root, "device", on_gpu > 0 ? on_dev + strlen(" layers on ") : "cpu");
      cJSON_AddStringToObject(root, "offload", offload);
      if (gpu_paths[0]) cJSON_AddStringToObject(root, "gpu_paths", gpu_paths);
      else cJSON_AddNullToObject(root, "gpu_paths");
      cJSON_AddStringToObject(root, "isa", isa);
      cJSON_AddNumberToObject(root, "threads", threads);
      cJSON_AddStringToObject(root, "kv_type", cli_run_kv_type_name(sp.kv_type));
      cJSON_AddNumberToObject(root, "n_prompt", n_prompt);
      cJSON_AddNumberToObject(root, "n_gen", n_gen);
      cJSON_AddNumberToObject(root, "n_depth", depth);
      cJSON_AddNumberToObject(root, "repetitions", reps);
      json_result(root, "pp_tok_s", &pp, n_prompt > 0);
      json_result(root, "tg_tok_s", &tg, n_gen > 0);
      cli_json_add_u64(root, "weight_bytes_per_token", per_token);
      if (membw) {
        /* "gpu": the GPU's own memory (membw_device names it), "cpu": this machine's RAM */
        cJSON_AddStringToObject(root, "membw_of", one_gpu ? "gpu" : "cpu");
        if (one_gpu) cJSON_AddStringToObject(root, "membw_device", bw_device);
        else cJSON_AddNullToObject(root, "membw_device");
        if (bw > 0) cJSON_AddNumberToObject(root, "membw_gb_s", bw);
        else cJSON_AddNullToObject(root, "membw_gb_s");
        cli_json_add_u64(root, "membw_buffer_bytes", bw_bytes);
        if (n_gen > 0 && efficiency > 0) cJSON_AddNumberToObject(root, "decode_efficiency", efficiency);
        else cJSON_AddNullToObject(root, "decode_efficiency");
        /* the vendor's figure, where the card is in hw.c's table */
        if (spec > 0) cJSON_AddNumberToObject(root, "membw_spec_gb_s", spec);
        else cJSON_AddNullToObject(root, "membw_spec_gb_s");
        if (n_gen > 0 && efficiency_spec > 0) cJSON_AddNumberToObject(root, "decode_efficiency_spec", efficiency_spec);
        else cJSON_AddNullToObject(root, "decode_efficiency_spec");
      }
      if (!cli_json_print(root)) rc = cli_fail("out of memory");
      cJSON_Delete(root);
    }
  } else if (rc == 0) {
    char size[32];
    snprintf(size, sizeof size, "%.2f GiB", (double)info->weight_bytes / (1024.0 * 1024.0 * 1024.0));
    const char *backend = on_gpu > 0 ? "vulkan" : "cpu";
    print_row((const char *[]){"model", "size", "params", "backend", "threads", "isa", "test", "t/s"});
    print_row(NULL);
    for (int k = 0; k < 2; k++) {
      const bench_result *r = k == 0 ? &pp : &tg;
      int32_t count = k == 0 ? n_prompt : n_gen;
      if (count == 0) continue;
      char test[40], ts[48], th[16];
      /* "tg128 @ d4096" with a depth, as llama-bench writes it */
      if (depth > 0) snprintf(test, sizeof test, "%s%" PRId32 " @ d%" PRId32, k == 0 ? "pp" : "tg", count, depth);
      else snprintf(test, sizeof test, "%s%" PRId32, k == 0 ? "pp" : "tg", count);
      snprintf(ts, sizeof ts, "%.2f \u00b1 %.2f", r->mean, r->sd);
      snprintf(th, sizeof th, "%" PRId32, threads);
      print_row((const char *[]){type_label, size, params, backend, th, isa, test, ts});
    }
    if (membw) {
      if (one_gpu && bw <= 0) {
        printf("\nmemory read bandwidth of %s: not measured", bw_device[0] ? bw_device : ran_on);
        if (spec > 0) printf(" (its spec sheet says %.0f GB/s)", spec);
        printf("\n");
      } else if (one_gpu) {
        printf("\nmemory read bandwidth of %s: %.2f GB/s (best of 5 over %.0f MiB)", bw_device, bw,
               (double)bw_bytes / (1024.0 * 1024.0));
        if (spec > 0) printf("; its spec sheet says %.0f GB/s", spec);
        printf("\n");
      } else {
        printf("\nmemory read bandwidth: %.2f GB/s (%" PRId32 " threads, best of 5 over %.0f MiB)\n", bw, threads,
               (double)bw_bytes / (1024.0 * 1024.0));
      }
      printf("weights read per token: %.1f MB\n", (double)per_token / 1e6);
      if (n_gen > 0 && mixed && one_gpu)
        printf("decode efficiency: not given: the GPU's bandwidth could not be measured\n");
      else if (n_gen > 0 && mixed)
        printf("decode efficiency: not given: the layers ran on both the CPU and a GPU, or on several GPUs\n");
      else if (n_gen > 0 && spec > 0)
        printf("decode efficiency: %.1f%% of the measured bandwidth, %.1f%% of the spec sheet's (%.2f GB/s of weights "
               "at %.2f tok/s)\n",
               efficiency * 100.0, efficiency_spec * 100.0, (double)per_token * tg.mean / 1e9, tg.mean);
      else if (n_gen > 0)
        printf("decode efficiency: %.1f%% (%.2f GB/s of weights at %.2f tok/s)\n", efficiency * 100.0,
               (double)per_token * tg.mean / 1e9, tg.mean);
    }
  }
  still_session_free(s);
  free(samples);
  free(logits);
  free(tokens);
  still_model_free(m);
  return rc ? rc : cli_finish_output();
}
