/* cli-run.c — `still run`, `still chat` and `still logits`: text generation
 * from a prompt, an interactive terminal chat, and raw logits for checks
 * against reference implementations. Also the helpers of cli-run.h shared
 * with bench and make-model.
 *
 * Prompts follow llama.cpp's conventions so that outputs can be compared:
 *   -p TEXT        tokenized with the BOS the model asks for (metadata
 *                  add_bos_token, else the tokenizer's default), special
 *                  token text not parsed; -p "" is BOS alone;
 *   --prompt-ids   evaluated exactly as given;
 *   --chat         rendered with the model's chat template (which writes
 *                  the BOS text itself for the R1 templates), tokenized with
 *                  special tokens parsed and without adding a second BOS.
 */
#include "cli-common.h"
#include "cli-run.h"

#include "chat-template.h"
#include "model.h"
#include "tokenizer/vocab.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ==== shared helpers (cli-run.h) ========================================== */

int cli_run_int(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out)
{
  if (!text) return 0;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end != '\0' || text[0] == ' ')
    return cli_fail("option %s needs a whole number, not '%.40s'", opt, text);
  if (errno == ERANGE || v < min || v > max)
    return cli_fail("option %s must be between %" PRId64 " and %" PRId64 ", not %.40s", opt, min, max, text);
  *out = (int64_t)v;
  return 0;
}

int cli_run_i32(const char *opt, const char *text, int32_t min, int32_t max, int32_t *out)
{
  int64_t v = *out;
  if (cli_run_int(opt, text, min, max, &v)) return 1;
  *out = (int32_t)v;
  return 0;
}

int cli_run_float(const char *opt, const char *text, double min, double max, float *out)
{
  if (!text) return 0;
  errno = 0;
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || text[0] == ' ' || !isfinite(v))
    return cli_fail("option %s needs a number, not '%.40s'", opt, text);
  if (v < min || v > max) return cli_fail("option %s must be between %g and %g, not %.40s", opt, min, max, text);
  *out = (float)v;
  return 0;
}

int cli_run_u64(const char *opt, const char *text, uint64_t *out)
{
  if (!text) return 0;
  errno = 0;
  char *end = NULL;
  if (text[0] < '0' || text[0] > '9') return cli_fail("option %s needs a whole number >= 0, not '%.40s'", opt, text);
  unsigned long long v = strtoull(text, &end, 10);
  if (*end != '\0') return cli_fail("option %s needs a whole number >= 0, not '%.40s'", opt, text);
  if (errno == ERANGE) return cli_fail("option %s is too large: %.40s", opt, text);
  *out = (uint64_t)v;
  return 0;
}

int cli_run_kv_type(const char *text, still_kv_type *out)
{
  if (!text) return 0;
  if (strcasecmp(text, "f16") == 0) *out = STILL_KV_F16;
  else if (strcasecmp(text, "f32") == 0) *out = STILL_KV_F32;
  else if (strcasecmp(text, "q8_0") == 0) *out = STILL_KV_Q8_0;
  else return cli_fail("unknown KV cache type '%.40s' (known: f16, f32, q8_0)", text);
  return 0;
}

const char *cli_run_kv_type_name(still_kv_type t)
{
  switch (t) {
  case STILL_KV_F16: return "f16";
  case STILL_KV_F32: return "f32";
  case STILL_KV_Q8_0: return "q8_0";
  default: return "unknown";
  }
}

int cli_run_load_model(const char *path, bool no_vocab, still_model **out)
{
  *out = NULL;
  still_load_params lp = still_load_params_default();
  lp.no_vocab = no_vocab;
  still_error err = {0};
  if (still_model_load(path, &lp, NULL, NULL, out, &err) != STILL_OK) {
    const char *why = err.message[0] ? err.message : "cannot load the model";
    /* which file, where the message does not say it already ("this file ends early") */
    return strstr(why, path) ? cli_fail("%s", why) : cli_fail("%s: %s", path, why);
  }
  return 0;
}

static double rate(double n, double s)
{
  return s > 0 ? n / s : 0.0;
}

static const char *stop_name(still_stop_reason r)
{
  switch (r) {
  case STILL_STOP_NONE: return "none";
  case STILL_STOP_EOG: return "end of generation";
  case STILL_STOP_MAX_TOKENS: return "token limit";
  case STILL_STOP_CALLBACK: return "stopped";
  case STILL_STOP_CANCELLED: return "cancelled";
  case STILL_STOP_CONTEXT_FULL: return "context full";
  case STILL_STOP_ERROR: return "error";
  }
  return "?";
}

void cli_run_print_stats(const char *prefix, const still_stats *st)
{
  /* decode rate: single-token passes over their time (the first generated
   * token comes from the prompt pass) */
  double tg = st->gen_evals > 0 ? rate(st->gen_evals, st->gen_s) : rate(st->gen_tokens, st->gen_s);
  fflush(stdout);
  fprintf(stderr,
          "%sprompt: %" PRId32 " tokens (%" PRId32 " cached), %.2f tok/s | generated: %" PRId32
          " tokens, %.2f tok/s | TTFT: %.1f ms | stop: %s\n",
          prefix ? prefix : "", st->prompt_tokens, st->prompt_cached, rate(st->prompt_tokens, st->prompt_s),
          st->gen_tokens, tg, st->ttft_s * 1e3, stop_name(st->stop));
}

/* ==== options common to run and chat ====================================== */

typedef struct {
  const char *temp, *top_p, *top_k, *min_p, *repeat_penalty, *repeat_last_n, *seed, *n_predict;
  const char *threads, *ctx, *kv_type, *batch;
  const char *gpu_layers, *device, *split;
  bool ignore_eos;
} gen_opts;

#define GEN_OPTIONS(g)                                                                     \
  {.long_name = "--temp", .kind = CLI_OPT_VALUE, .value = &(g).temp},                      \
    {.long_name = "--top-p", .kind = CLI_OPT_VALUE, .value = &(g).top_p},                  \
    {.long_name = "--top-k", .kind = CLI_OPT_VALUE, .value = &(g).top_k},                  \
    {.long_name = "--min-p", .kind = CLI_OPT_VALUE, .value = &(g).min_p},                  \
    {.long_name = "--repeat-penalty", .kind = CLI_OPT_VALUE, .value = &(g).repeat_penalty}, \
    {.long_name = "--repeat-last-n", .kind = CLI_OPT_VALUE, .value = &(g).repeat_last_n},   \
    {.long_name = "--seed", .short_name = "-s", .kind = CLI_OPT_VALUE, .value = &(g).seed}, \
    {.long_name = "--n-predict", .short_name = "-n", .kind = CLI_OPT_VALUE, .value = &(g).n_predict}, \
    {.long_name = "--threads", .short_name = "-t", .kind = CLI_OPT_VALUE, .value = &(g).threads},     \
    {.long_name = "--ctx-size", .short_name = "-c", .kind = CLI_OPT_VALUE, .value = &(g).ctx},        \
    {.long_name = "--batch-size", .short_name = "-b", .kind = CLI_OPT_VALUE, .value = &(g).batch},    \
    {.long_name = "--kv-type", .kind = CLI_OPT_VALUE, .value = &(g).kv_type},                         \
    {.long_name = "--ignore-eos", .kind = CLI_OPT_FLAG, .flag = &(g).ignore_eos},                    \
    {.long_name = "--gpu-layers", .short_name = "-ngl", .kind = CLI_OPT_VALUE, .value = &(g).gpu_layers}, \
    {.long_name = "--device", .kind = CLI_OPT_VALUE, .value = &(g).device},                      \
    {.long_name = "--split", .kind = CLI_OPT_VALUE, .value = &(g).split}

/* options of the Vulkan backend (run, chat, logits; bench has its own copy) */
#define GPU_USAGE                                                                            \
  "  -ngl, --gpu-layers N   run the last N layers on the GPU (-1: all; default: as many\n"   \
  "                         as fit, from the fit estimate, split like it over several\n"  \
  "                         GPUs; 0 without a usable GPU)\n"                             \
  "  --device D             Vulkan device: index, part of its name or uuid:HEX (see\n"      \
  "                         'still devices --json');\n"                                  \
  "                         naming one without --gpu-layers puts all layers on it;\n"  \
  "                         several: 0,1 (with --split, or equal shares)\n"             \
  "  --split A,B[,...]      spread the GPU layers over several devices in these\n"    \
  "                         proportions (e.g. 3,1; default devices: 0, 1, ...)\n"

#define GEN_USAGE                                                                            \
  "  -n, --n-predict N      generate at most N tokens (default: until the end of\n"          \
  "                         generation or a full context)\n"                                 \
  "  --temp T               temperature; 0 = greedy (default: 0.6 for R1 models,\n"         \
  "                         else 0.8)\n"                                                     \
  "  --top-p P              nucleus sampling (default 0.95; 1 = off)\n"                      \
  "  --top-k K              keep the K most likely tokens (0 = off)\n"                       \
  "  --min-p P              drop tokens below P x the best probability (0 = off)\n"         \
  "  --repeat-penalty R     penalise recent tokens (1 = off, the default)\n"                 \
  "  --repeat-last-n N      how many recent tokens the penalty looks at (64)\n"              \
  "  -s, --seed S           random seed (default: from the clock)\n"                         \
  "  --ignore-eos           keep generating after end-of-generation tokens\n"                \
  "  -t, --threads N        threads (default: physical cores)\n"                             \
  "  -c, --ctx-size N       context window in tokens (default: min(trained, 4096))\n"        \
  "  -b, --batch-size N     prompt tokens per forward pass (default 512)\n"                  \
  "  --kv-type T            KV cache type: f16 (default), f32, q8_0\n"                    \
  GPU_USAGE

/* Turn the option strings into session and sampling parameters. */
static int apply_gen_opts(const gen_opts *g, const still_model *m, still_session_params *sp, still_sampling *smp)
{
  *sp = still_session_params_default();
  *smp = still_sampling_for_model(m);
  int64_t n_predict = -1;
  if (cli_run_int("--n-predict", g->n_predict, -1, INT32_MAX, &n_predict)) return 1;
  smp->max_tokens = n_predict < 0 ? 0 : (int32_t)n_predict;
  if (n_predict == 0) return cli_fail("option --n-predict must be at least 1 (or -1 for no limit)");
  if (cli_run_float("--temp", g->temp, 0.0, 100.0, &smp->temperature)) return 1;
  if (cli_run_float("--top-p", g->top_p, 0.0, 1.0, &smp->top_p)) return 1;
  if (cli_run_i32("--top-k", g->top_k, 0, INT32_MAX, &smp->top_k)) return 1;
  if (cli_run_float("--min-p", g->min_p, 0.0, 1.0, &smp->min_p)) return 1;
  if (cli_run_float("--repeat-penalty", g->repeat_penalty, 0.0, 100.0, &smp->repeat_penalty)) return 1;
  if (cli_run_i32("--repeat-last-n", g->repeat_last_n, 0, INT32_MAX, &smp->repeat_last_n)) return 1;
  if (g->seed && cli_run_u64("--seed", g->seed, &smp->seed)) return 1;
  if (smp->repeat_penalty != 1.0f && smp->repeat_last_n <= 0 && !g->repeat_last_n) smp->repeat_last_n = 64;
  smp->ignore_eog = g->ignore_eos;
  if (cli_run_i32("--threads", g->threads, 1, 1024, &sp->n_threads)) return 1;
  if (cli_run_i32("--ctx-size", g->ctx, 0, 1 << 24, &sp->n_ctx)) return 1;
  if (cli_run_i32("--batch-size", g->batch, 1, 1 << 16, &sp->n_batch)) return 1;
  if (cli_run_kv_type(g->kv_type, &sp->kv_type)) return 1;
  if (cli_run_i32("--gpu-layers", g->gpu_layers, -1, 1 << 20, &sp->n_gpu_layers)) return 1;
  if (cli_check_gpu_args(g->device, g->split)) return 1;
  sp->device = g->device;
  sp->split = g->split;
  sp->on_step = cli_say_step;
  if ((g->device || g->split) && !g->gpu_layers) sp->n_gpu_layers = -1; /* naming a device means using it */
  if (!g->device && !g->split && !g->gpu_layers) cli_run_auto_gpu_layers(m, sp);
  return 0;
}

void cli_run_auto_gpu_layers(const still_model *m, still_session_params *sp)
{
  /* the devices and shares of a split: sp keeps pointers to them (one session per CLI run) */
  static char devices[STILL_MAX_GPUS * 4], shares[STILL_MAX_GPUS * 12];
  sp->n_gpu_layers = 0;
  still_hardware hw;
  still_error err = {0};
  if (still_hardware_probe(&hw, NULL, &err) != STILL_OK) return;
  /* the device the engine opens when none is named: of the machine that is really there */
  const int engine_default = still_hardware_default_gpu(&hw);
  /* STILL_FIT_VRAM_FREE=SIZE[,SIZE...] (tests, what-if): decide as if this machine had these
   * discrete GPUs with SIZE free each (0: none); the session still runs on the devices that are
   * really there, by index */
  const char *sim = getenv("STILL_FIT_VRAM_FREE");
  if (sim && *sim) {
    uint64_t vram[STILL_MAX_GPUS];
    int n = 0;
    bool ok = true;
    char why[160];
    for (const char *p = sim; ok && *p; n++) {
      char item[64];
      size_t len = strcspn(p, ",");
      ok = n < STILL_MAX_GPUS && len < sizeof item;
      if (!ok) break;
      memcpy(item, p, len);
      item[len] = '\0';
      ok = cli_parse_size(item, &vram[n], why, sizeof why);
      p += len + (p[len] == ',');
    }
    if (!ok || n == 0)
      fprintf(stderr, "still: STILL_FIT_VRAM_FREE=\"%.60s\" is not a list of sizes (e.g. 8G,24G): ignored\n", sim);
    if (ok && n > 0) {
      const still_hardware real = hw;
      if (n == 1 && vram[0] == 0) n = 0;
      still_hardware_simulated(&hw, real.ram_free, n, vram, false, 0, real.cpu_bandwidth_gbs);
    }
  }
  still_fit_params fp = still_fit_params_default();
  fp.n_ctx = sp->n_ctx;
  fp.kv_type = sp->kv_type;
  fp.n_batch = sp->n_batch;
  still_fit f;
  if (still_fit_estimate(m->file, &hw, &fp, &f, &err) != STILL_OK) return;
  if (f.verdict != STILL_FIT_GPU && f.verdict != STILL_FIT_PARTIAL) return;
  sp->n_gpu_layers = f.gpu_layers;
  /* the estimate put layers on several GPUs: the same split (devices in its order, its layers
   * each), so the run is what `still fit` said; one GPU is named when the engine would pick
   * another by itself (the estimate leaves out cards without room, or an iGPU beside a card) */
  still_fit_device_args(&f, engine_default, devices, sizeof devices, shares, sizeof shares);
  if (devices[0]) sp->device = devices;
  if (shares[0]) sp->split = shares;
}

/* The offload line printed when the session started (a GPU was asked for). */
static char offload_printed[1024];

static int new_session(still_model *m, const still_session_params *p, still_session **s)
{
  still_error err = {0};
  if (still_session_new(m, p, s, &err) != STILL_OK)
    return cli_fail("cannot start a session: %s", err.message[0] ? err.message : "unknown error");
  /* where the layers went: at once when a GPU was asked for (a fallback is
   * news before a long run); CPU-only runs say it with their results
   * (print_cpu_offload), so a run that fails still prints one line */
  offload_printed[0] = '\0';
  if (p->n_gpu_layers != 0) {
    fprintf(stderr, "%s\n", still_session_offload(*s));
    snprintf(offload_printed, sizeof offload_printed, "%s", still_session_offload(*s));
  }
  return 0;
}

/* The offload line again when it changed since it was printed: the GPU
 * failed and its layers went on on the CPU. */
static void print_offload_news(const still_session *s)
{
  const char *now = still_session_offload(s);
  if (offload_printed[0] && strcmp(now, offload_printed) != 0) {
    fprintf(stderr, "%s\n", now);
    snprintf(offload_printed, sizeof offload_printed, "%s", now);
  }
}

/* "offload: 0/28 layers on a GPU (CPU only)" on stderr, for CPU-only
 * sessions; with a GPU, the news of print_offload_news. */
static void print_cpu_offload(const still_session_params *p, const still_session *s)
{
  if (p->n_gpu_layers == 0) fprintf(stderr, "%s\n", still_session_offload(s));
  else print_offload_news(s);
}

int cli_run_bench_gpu_intact(const char *at_start, const still_session *s)
{
  const char *now = still_session_offload(s);
  if (strcmp(at_start, now) == 0) return 0;
  return cli_fail("the GPU failed during the benchmark, so its results would mix GPU and CPU runs: %s", now);
}

/* Tokenize with a retry when the first guess of the size is too small. */
static int tokenize(const still_model *m, const char *text, size_t len, bool add_bos, bool parse_special,
                    int32_t **ids, size_t *n)
{
  still_error err = {0};
  int64_t cap = (int64_t)len + 8;
  *ids = NULL;
  *n = 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    int32_t *buf = malloc((size_t)cap * sizeof *buf);
    if (!buf) return cli_fail("out of memory");
    int64_t need = still_tokenize(m, text, len, add_bos, parse_special, buf, cap, &err);
    if (need < 0) {
      free(buf);
      return cli_fail("cannot tokenize the prompt: %s", err.message[0] ? err.message : "unknown error");
    }
    if (need <= cap) {
      *ids = buf;
      *n = (size_t)need;
      return 0;
    }
    free(buf);
    cap = need;
  }
  return cli_fail("cannot tokenize the prompt");
}

static void print_ids(FILE *f, const char *label, const int32_t *ids, size_t n)
{
  fflush(stdout);
  fputs(label, f);
  for (size_t i = 0; i < n; i++) fprintf(f, i ? " %" PRId32 : "%" PRId32, ids[i]);
  fputc('\n', f);
}

/* The model's chat template family (warns once when it is not known). */
static still_template_family model_family(const still_model *m)
{
  bool known = false;
  still_template_family f = still_template_detect(still_model_chat_template(m), &known);
  if (!known) cli_warn("no known chat template: using ChatML");
  return f;
}

/* Render messages and tokenize them as a chat prompt: special tokens parsed,
 * no BOS added on top of the one the template writes; models that want a
 * BOS but whose template does not write one (ChatML fallback) get it first. */
static int chat_prompt(const still_model *m, still_template_family fam, const still_message *msgs, size_t n_msgs,
                       int32_t **ids, size_t *n)
{
  int32_t bos = still_token_bos(m);
  char *bos_text = bos >= 0 ? still_detokenize(m, &bos, 1, true) : NULL;
  int32_t eos = still_token_eos(m);
  char *eos_text = eos >= 0 ? still_detokenize(m, &eos, 1, true) : NULL;
  char *text = still_template_render(fam, msgs, n_msgs, true, bos_text, eos_text);
  free(bos_text);
  free(eos_text);
  if (!text) return cli_fail("out of memory");
  int rc = tokenize(m, text, strlen(text), false, true, ids, n);
  free(text);
  if (rc) return rc;
  if (bos >= 0 && m->vocab && still_vocab_add_bos(m->vocab) && (*n == 0 || (*ids)[0] != bos)) {
    int32_t *bigger = realloc(*ids, (*n + 1) * sizeof **ids);
    if (!bigger) {
      free(*ids);
      return cli_fail("out of memory");
    }
    memmove(bigger + 1, bigger, *n * sizeof *bigger);
    bigger[0] = bos;
    *ids = bigger;
    (*n)++;
  }
  return 0;
}

/* ==== run ================================================================= */

static const char run_usage[] =
  "Usage: still run -m FILE (-p TEXT | --prompt-ids \"1 2 3\") [OPTIONS]\n"
  "\n"
  "Generate text after a prompt and stream it to standard output. A timing\n"
  "line (prompt and generation speed, time to first token) goes to standard\n"
  "error at the end. Ctrl+C stops the answer there (the timing line follows,\n"
  "--save-prefix still saves, exit status 130); a second Ctrl+C quits at once.\n"
  "\n"
  "Prompt:\n"
  "  -m, --model FILE       the GGUF model\n"
  "  -p, --prompt TEXT      text; the BOS token is added when the model asks for\n"
  "                         it (so -p \"\" starts from BOS alone)\n"
  "  --prompt-ids IDS       token ids, evaluated exactly as given\n"
  "  --chat                 wrap the prompt in the model's chat template (one\n"
  "                         user turn and the assistant's generation prompt)\n"
  "  --system TEXT          a system message for --chat\n"
  "  --load-prefix FILE     start from a prefix saved with --save-prefix (same\n"
  "                         model and --kv-type): only the tokens after the part\n"
  "                         it shares with the prompt are evaluated; a file that\n"
  "                         does not fit gives a warning and a full evaluation\n"
  "  --save-prefix FILE     save the cache (prompt and generated tokens) at the end\n"
  "\n"
  "Generation:\n" GEN_USAGE
  "\n"
  "Output:\n"
  "  --ids                  print the generated token ids on one line instead\n"
  "  --verbose-prompt       print the prompt's token ids to standard error\n"
  "  --quiet                no timing line (nor the CPU-only offload line, nor\n"
  "                         the note that the GPU's shaders are being timed)\n"
  "  -h, --help             show this help\n";

typedef struct {
  bool ids;
  int32_t n_printed;
  bool ends_newline;
  bool write_failed;
} run_out;

static bool run_on_token(int32_t token, const char *text, size_t len, void *user)
{
  run_out *o = user;
  if (o->ids) {
    if (token < 0) return true; /* held-back bytes of a cut character: not a token */
    if (printf(o->n_printed ? " %" PRId32 : "%" PRId32, token) < 0) o->write_failed = true;
    o->n_printed++;
  } else if (text && len > 0) {
    if (!cli_write(text, len)) o->write_failed = true;
    o->ends_newline = text[len - 1] == '\n';
    o->n_printed++;
  }
  if (fflush(stdout) != 0) o->write_failed = true;
  /* (a Ctrl+C before the call started, whose cancel the call cleared) */
  return !o->write_failed && !cli_sigint_interrupted();
}

int still_cmd_run(int argc, char **argv)
{
  const char *model = NULL, *prompt = NULL, *prompt_ids = NULL, *system = NULL;
  const char *load_prefix = NULL, *save_prefix = NULL;
  bool chat = false, ids_out = false, verbose_prompt = false, quiet = false;
  gen_opts g = {0};
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--load-prefix", .kind = CLI_OPT_VALUE, .value = &load_prefix},
    {.long_name = "--save-prefix", .kind = CLI_OPT_VALUE, .value = &save_prefix},
    {.long_name = "--prompt", .short_name = "-p", .kind = CLI_OPT_VALUE, .value = &prompt},
    {.long_name = "--prompt-ids", .kind = CLI_OPT_VALUE, .value = &prompt_ids},
    {.long_name = "--system", .kind = CLI_OPT_VALUE, .value = &system},
    {.long_name = "--chat", .kind = CLI_OPT_FLAG, .flag = &chat},
    {.long_name = "--ids", .kind = CLI_OPT_FLAG, .flag = &ids_out},
    {.long_name = "--verbose-prompt", .kind = CLI_OPT_FLAG, .flag = &verbose_prompt},
    {.long_name = "--quiet", .short_name = "-q", .kind = CLI_OPT_FLAG, .flag = &quiet},
    GEN_OPTIONS(g),
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], run_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (extra) return cli_fail("unexpected argument '%.60s' (see 'still run --help')", extra);
  if (!model) return cli_fail("no model given: pass -m FILE (see 'still run --help')");
  if (!prompt && !prompt_ids) return cli_fail("no prompt given: pass -p TEXT or --prompt-ids IDS");
  if (prompt && prompt_ids) return cli_fail("pass either -p TEXT or --prompt-ids IDS, not both");
  if (chat && prompt_ids) return cli_fail("--chat needs a text prompt (-p), not token ids");
  if (system && !chat) return cli_fail("--system only applies with --chat");

  still_model *m = NULL;
  if (cli_run_load_model(model, false, &m)) return 1;
  const still_model_info *info = still_model_get_info(m);
  still_session_params sp;
  still_sampling smp;
  int32_t *ids = NULL;
  size_t n = 0;
  int rc = apply_gen_opts(&g, m, &sp, &smp);
  if (quiet) sp.on_step = NULL; /* (--quiet: only the answer and errors) */
  if (rc == 0 && prompt && !info->has_vocab)
    rc = cli_fail("this model has no tokenizer: pass the prompt as --prompt-ids");
  if (rc == 0) {
    if (prompt_ids) {
      size_t cap = 0;
      rc = cli_parse_ids(prompt_ids, info->n_vocab, &ids, &n, &cap);
    } else if (chat) {
      still_message msgs[2];
      size_t nm = 0;
      if (system) msgs[nm++] = (still_message){.role = "system", .content = system};
      msgs[nm++] = (still_message){.role = "user", .content = prompt};
      rc = chat_prompt(m, model_family(m), msgs, nm, &ids, &n);
    } else {
      rc = tokenize(m, prompt, strlen(prompt), true, false, &ids, &n);
    }
  }
  if (rc == 0 && n == 0)
    rc = cli_fail(prompt_ids ? "the prompt has no token ids" : "the prompt is empty and the model adds no BOS token");
  if (rc == 0 && verbose_prompt) print_ids(stderr, "prompt ids: ", ids, n);

  /* Ctrl+C stops the answer (the text so far stays, the statistics follow) and a second one
   * ends the process at once; the session's threads start with it blocked (cli-common.h) */
  sigset_t old_mask;
  struct sigaction sa_old;
  cli_sigint_block(&old_mask);
  cli_start_watch start;
  cli_sigint_start_begin(&start);
  still_session *s = NULL;
  if (rc == 0) rc = new_session(m, &sp, &s);
  cli_sigint_start_end(&start);
  cli_sigint_watch(s, true, &old_mask, &sa_old);
  if (rc == 0 && load_prefix) {
    still_error err = {0};
    if (still_session_load_prefix(s, load_prefix, &err) != STILL_OK)
      cli_warn("%s; evaluating the whole prompt", err.message);
  }
  if (rc == 0) {
    run_out out = {.ids = ids_out};
    still_stats st = {0};
    still_error err = {0};
    /* (a Ctrl+C while loading the prefix: nothing to generate) */
    still_status gs = cli_sigint_interrupted() ? STILL_ERR_CANCELLED
                                               : still_session_generate(s, ids, n, &smp, run_on_token, &out, &st, &err);
    if (out.n_printed > 0 && (ids_out || (isatty(STDOUT_FILENO) && !out.ends_newline))) putchar('\n');
    const bool stopped = cli_sigint_interrupted() && (gs == STILL_ERR_CANCELLED || st.stop == STILL_STOP_CALLBACK);
    if (stopped) st.stop = STILL_STOP_CANCELLED; /* (whether the callback or the session saw it first) */
    if (out.write_failed || ferror(stdout)) rc = cli_fail("cannot write the output: %s", strerror(errno));
    else if (gs == STILL_ERR_CONTEXT_FULL && st.gen_tokens == 0 && st.prompt_tokens == 0)
      rc = cli_fail("%s", err.message);
    else if (gs != STILL_OK && gs != STILL_ERR_CONTEXT_FULL && !stopped)
      rc = cli_fail("generation failed: %s", err.message[0] ? err.message : still_status_name(gs));
    else {
      if (gs == STILL_ERR_CONTEXT_FULL) cli_warn("%s", err.message);
      if (stopped && st.gen_tokens > 0)
        fprintf(stderr, "still: stopped (Ctrl+C) after %d token%s\n", (int)st.gen_tokens, st.gen_tokens == 1 ? "" : "s");
      else if (stopped)
        fprintf(stderr, "still: stopped (Ctrl+C) while reading the prompt\n");
      if (!quiet) print_cpu_offload(&sp, s);
      if (!quiet) cli_run_print_stats(NULL, &st);
      if (stopped) rc = 130; /* as a shell reports a process that Ctrl+C ended */
    }
    /* the cache holds what was read, also when stopped: its prefix is as good as any (but an
     * empty one does not replace a file) */
    if (rc == 130 && save_prefix && still_session_n_past(s) == 0)
      cli_warn("nothing was read before Ctrl+C: %s is left as it was", save_prefix);
    else if ((rc == 0 || rc == 130) && save_prefix && still_session_save_prefix(s, save_prefix, &err) != STILL_OK)
      rc = cli_fail("%s", err.message);
  }
  cli_sigint_restore(&sa_old);
  still_session_free(s);
  free(ids);
  still_model_free(m);
  if (rc == 130) return cli_finish_output() ? 1 : 130;
  return rc ? rc : cli_finish_output();
}

/* ==== logits ============================================================== */

static const char logits_usage[] =
  "Usage: still logits -m FILE --prompt-ids \"1 2 3\" --out FILE.f32 [OPTIONS]\n"
  "\n"
  "Evaluate token ids (exactly as given) and write the logits as raw\n"
  "little-endian float32: n_vocab values of the last position, or with --all\n"
  "n_ids x n_vocab values (position by position).\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE     the GGUF model\n"
  "  --prompt-ids IDS     token ids separated by spaces or commas\n"
  "  -o, --out FILE       where to write the logits ('-': standard output)\n"
  "  --all                logits of every position\n"
  "  -t, --threads N      threads (default: physical cores)\n"
  "  --kv-type T          KV cache type: f16 (default), f32, q8_0\n"
  GPU_USAGE
  "  -h, --help           show this help\n";

int still_cmd_logits(int argc, char **argv)
{
  const char *model = NULL, *prompt_ids = NULL, *out_path = NULL, *threads = NULL, *kv_type = NULL;
  const char *gpu_layers = NULL, *device = NULL, *split = NULL;
  bool all = false;
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--prompt-ids", .kind = CLI_OPT_VALUE, .value = &prompt_ids},
    {.long_name = "--out", .short_name = "-o", .kind = CLI_OPT_VALUE, .value = &out_path},
    {.long_name = "--all", .kind = CLI_OPT_FLAG, .flag = &all},
    {.long_name = "--threads", .short_name = "-t", .kind = CLI_OPT_VALUE, .value = &threads},
    {.long_name = "--kv-type", .kind = CLI_OPT_VALUE, .value = &kv_type},
    {.long_name = "--gpu-layers", .short_name = "-ngl", .kind = CLI_OPT_VALUE, .value = &gpu_layers},
    {.long_name = "--device", .kind = CLI_OPT_VALUE, .value = &device},
    {.long_name = "--split", .kind = CLI_OPT_VALUE, .value = &split},
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], logits_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (extra) return cli_fail("unexpected argument '%.60s' (see 'still logits --help')", extra);
  if (!model) return cli_fail("no model given: pass -m FILE (see 'still logits --help')");
  if (!prompt_ids) return cli_fail("no token ids given: pass --prompt-ids IDS");
  if (!out_path) return cli_fail("no output file given: pass --out FILE.f32");
  still_session_params sp = still_session_params_default();
  if (cli_run_i32("--threads", threads, 1, 1024, &sp.n_threads)) return 1;
  if (cli_run_kv_type(kv_type, &sp.kv_type)) return 1;
  if (cli_run_i32("--gpu-layers", gpu_layers, -1, 1 << 20, &sp.n_gpu_layers)) return 1;
  if (cli_check_gpu_args(device, split)) return 1;
  sp.device = device;
  sp.split = split;
  sp.on_step = cli_say_step;
  if ((device || split) && !gpu_layers) sp.n_gpu_layers = -1;

  still_model *m = NULL;
  if (cli_run_load_model(model, true, &m)) return 1;
  const still_model_info *info = still_model_get_info(m);
  int32_t *ids = NULL;
  size_t n = 0;
  size_t cap = 0;
  int rc = cli_parse_ids(prompt_ids, info->n_vocab, &ids, &n, &cap);
  if (rc == 0 && n == 0) rc = cli_fail("--prompt-ids holds no token ids");
  /* the context holds exactly the ids (nothing is generated) */
  if (rc == 0 && n > (1u << 24)) rc = cli_fail("too many token ids (%zu; at most %u)", n, 1u << 24);
  if (rc == 0) sp.n_ctx = (int32_t)n;
  if (rc == 0 && !device && !split && !gpu_layers) cli_run_auto_gpu_layers(m, &sp);
  float *logits = NULL;
  size_t n_floats = 0;
  if (rc == 0) {
    n_floats = (all ? n : 1) * (size_t)info->n_vocab;
    if (!(logits = malloc(n_floats * sizeof *logits))) rc = cli_fail("out of memory for %zu logits", n_floats);
  }
  still_session *s = NULL;
  if (rc == 0) rc = new_session(m, &sp, &s);
  if (rc == 0) {
    still_error err = {0};
    if (still_session_logits(s, ids, n, all, logits, NULL, &err) != STILL_OK)
      rc = cli_fail("cannot evaluate the ids: %s", err.message);
  }
  if (rc == 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < n_floats; i++) {
      uint32_t u;
      memcpy(&u, &logits[i], 4);
      u = __builtin_bswap32(u);
      memcpy(&logits[i], &u, 4);
    }
#endif
    bool to_stdout = strcmp(out_path, "-") == 0;
    FILE *f = to_stdout ? stdout : fopen(out_path, "wb");
    if (!f) rc = cli_fail("cannot create %s: %s", out_path, strerror(errno));
    else {
      bool ok = fwrite(logits, sizeof *logits, n_floats, f) == n_floats;
      ok = (to_stdout ? fflush(f) == 0 : fclose(f) == 0) && ok;
      if (!ok) {
        rc = cli_fail("cannot write %s: %s", to_stdout ? "the output" : out_path, strerror(errno));
        if (!to_stdout) unlink(out_path);
      }
    }
  }
  if (rc == 0) print_cpu_offload(&sp, s);
  still_session_free(s);
  free(logits);
  free(ids);
  still_model_free(m);
  return rc;
}

/* ==== chat ================================================================ */

static const char chat_usage[] =
  "Usage: still chat -m FILE [OPTIONS]\n"
  "\n"
  "Chat with a model in the terminal. Each line you type is one user turn;\n"
  "the conversation is kept (the cache of the previous turns is reused, so\n"
  "only the new part is evaluated). For reasoning models the thinking between\n"
  "<think> and </think> is shown dimmed on a terminal.\n"
  "\n"
  "Ctrl+C stops a reply; Ctrl+C twice at the prompt, /exit or end of input\n"
  "(Ctrl+D) quits; /reset starts a new conversation. Standard input may be a\n"
  "pipe (one message per line).\n"
  "\n"
  "Options:\n"
  "  -m, --model FILE       the GGUF model\n"
  "  --system TEXT          a system message at the start of the conversation\n"
  "  --stats                print timing and cache reuse of every turn to\n"
  "                         standard error\n" GEN_USAGE
  "  -h, --help             show this help\n";

/* SIGINT does two async-signal-safe things: a semaphore post, which a
 * watcher thread turns into still_session_cancel() while a reply is being
 * generated, and a byte into a self-pipe, which the prompt's poll() sees
 * (no race between checking a flag and blocking in read). */
static sem_t chat_sigsem;
static int chat_sigpipe[2] = {-1, -1};

static void chat_on_sigint(int sig)
{
  (void)sig;
  int e = errno;
  sem_post(&chat_sigsem);
  if (chat_sigpipe[1] >= 0) {
    char b = 1;
    ssize_t w = write(chat_sigpipe[1], &b, 1);
    (void)w; /* a full pipe already says "interrupted" */
  }
  errno = e;
}

static void drain_fd(int fd)
{
  char buf[64];
  while (fd >= 0 && read(fd, buf, sizeof buf) > 0) {
  }
}

/* Lines of standard input, read with read() so that poll() on the fd tells
 * the truth (no stdio buffer in between). */
typedef struct {
  char *buf;
  size_t len, cap;
  bool eof;
  char *line; /* the last line returned (NUL-terminated, no newline) */
} line_reader;

typedef enum { LINE_OK, LINE_EOF, LINE_ERROR, LINE_INTERRUPTED } line_result;

static line_result read_line(line_reader *lr, int sigfd)
{
  for (;;) {
    char *nl = lr->len ? memchr(lr->buf, '\n', lr->len) : NULL;
    if (nl || (lr->eof && lr->len > 0)) {
      size_t n = nl ? (size_t)(nl - lr->buf) : lr->len;
      char *l = malloc(n + 1);
      if (!l) {
        errno = ENOMEM;
        return LINE_ERROR;
      }
      memcpy(l, lr->buf, n);
      l[n] = '\0';
      size_t used = n + (nl ? 1 : 0);
      memmove(lr->buf, lr->buf + used, lr->len - used);
      lr->len -= used;
      free(lr->line);
      lr->line = l;
      return LINE_OK;
    }
    if (lr->eof) return LINE_EOF;
    struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    int k = poll(p, sigfd >= 0 ? 2 : 1, -1);
    if (k < 0) {
      if (errno == EINTR) continue; /* the pipe says whether it was Ctrl+C */
      return LINE_ERROR;
    }
    if (sigfd >= 0 && (p[1].revents & POLLIN)) {
      drain_fd(sigfd);
      return LINE_INTERRUPTED;
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    if (lr->cap - lr->len < 4096) {
      size_t nc = lr->cap ? lr->cap * 2 : 8192;
      char *b = realloc(lr->buf, nc);
      if (!b) {
        errno = ENOMEM;
        return LINE_ERROR;
      }
      lr->buf = b;
      lr->cap = nc;
    }
    ssize_t got = read(STDIN_FILENO, lr->buf + lr->len, lr->cap - lr->len);
    if (got < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return LINE_ERROR;
    }
    if (got == 0) lr->eof = true;
    else lr->len += (size_t)got;
  }
}

typedef struct {
  still_session *s;
  atomic_bool generating;
  atomic_bool quit;
} chat_watch;

static void *chat_watcher(void *arg)
{
  chat_watch *w = arg;
  for (;;) {
    while (sem_wait(&chat_sigsem) != 0 && errno == EINTR) {
    }
    if (atomic_load(&w->quit)) return NULL;
    if (atomic_load(&w->generating)) still_session_cancel(w->s);
  }
}

typedef struct {
  bool tty;
  bool in_think;
  int32_t think_open, think_close; /* token ids of <think> / </think>, -1 if none */
  char *reply;                      /* generated text so far */
  size_t len, cap;
  bool ends_newline;
  bool oom;
} chat_out;

static void chat_append(chat_out *o, const char *text, size_t len)
{
  if (o->oom || len == 0) return;
  if (o->len + len + 1 > o->cap) {
    size_t nc = o->cap ? o->cap * 2 : 1024;
    while (nc < o->len + len + 1) nc *= 2;
    char *p = realloc(o->reply, nc);
    if (!p) {
      o->oom = true;
      return;
    }
    o->reply = p;
    o->cap = nc;
  }
  memcpy(o->reply + o->len, text, len);
  o->len += len;
  o->reply[o->len] = '\0';
}

#define DIM "\033[2m"
#define UNDIM "\033[0m"

static bool chat_on_token(int32_t token, const char *text, size_t len, void *user)
{
  chat_out *o = user;
  if (token >= 0 && token == o->think_open && !o->in_think) {
    o->in_think = true;
    if (o->tty) fputs(DIM, stdout);
  }
  if (text && len > 0) {
    cli_write(text, len);
    chat_append(o, text, len);
    o->ends_newline = text[len - 1] == '\n';
  }
  if (token >= 0 && token == o->think_close && o->in_think) {
    o->in_think = false;
    if (o->tty) fputs(UNDIM, stdout);
  }
  fflush(stdout);
  return true;
}

typedef struct {
  still_message *msgs; /* role strings are static, contents malloc'd */
  size_t n, cap;
} chat_history;

static bool history_add(chat_history *h, const char *role, const char *content)
{
  if (h->n == h->cap) {
    size_t nc = h->cap ? h->cap * 2 : 16;
    still_message *p = realloc(h->msgs, nc * sizeof *p);
    if (!p) return false;
    h->msgs = p;
    h->cap = nc;
  }
  char *c = strdup(content ? content : "");
  if (!c) return false;
  h->msgs[h->n++] = (still_message){.role = role, .content = c};
  return true;
}

static void history_truncate(chat_history *h, size_t n)
{
  while (h->n > n) free((char *)h->msgs[--h->n].content);
}

int still_cmd_chat(int argc, char **argv)
{
  const char *model = NULL, *system = NULL;
  bool stats = false;
  gen_opts g = {0};
  const cli_option opts[] = {
    {.long_name = "--model", .short_name = "-m", .kind = CLI_OPT_VALUE, .value = &model},
    {.long_name = "--system", .kind = CLI_OPT_VALUE, .value = &system},
    {.long_name = "--stats", .kind = CLI_OPT_FLAG, .flag = &stats},
    GEN_OPTIONS(g),
  };
  char **pos = NULL;
  int n_pos = 0;
  cli_args_result r = cli_parse_args(argc, argv, opts, sizeof opts / sizeof opts[0], chat_usage, &pos, &n_pos);
  if (r != CLI_ARGS_OK) return r == CLI_ARGS_HELP ? 0 : 1;
  const char *extra = n_pos ? pos[0] : NULL;
  free(pos);
  if (extra) return cli_fail("unexpected argument '%.60s' (see 'still chat --help')", extra);
  if (!model) return cli_fail("no model given: pass -m FILE (see 'still chat --help')");

  still_model *m = NULL;
  if (cli_run_load_model(model, false, &m)) return 1;
  const still_model_info *info = still_model_get_info(m);
  still_session_params sp;
  still_sampling smp;
  int rc = apply_gen_opts(&g, m, &sp, &smp);
  if (rc == 0 && !info->has_vocab) rc = cli_fail("this model has no tokenizer: it cannot chat");
  if (rc) {
    still_model_free(m);
    return rc;
  }
  still_template_family fam = model_family(m);
  bool stdin_tty = isatty(STDIN_FILENO), stdout_tty = isatty(STDOUT_FILENO);

  /* SIGINT is blocked while the engine's worker threads and the watcher are
   * created, so that the handler only ever runs on the main thread (it would
   * work anywhere, but a worker spinning in a barrier is no place for it). */
  sigset_t old;
  cli_sigint_block(&old);
  cli_start_watch start;
  cli_sigint_start_begin(&start);
  still_session *s = NULL;
  rc = new_session(m, &sp, &s);
  cli_sigint_start_end(&start);
  if (rc == 0) print_cpu_offload(&sp, s);
  chat_watch watch = {.s = s};
  atomic_init(&watch.generating, false);
  atomic_init(&watch.quit, false);
  pthread_t watcher;
  bool have_watcher = false;
  struct sigaction sa_old;
  if (rc == 0 && pipe(chat_sigpipe) == 0) {
    for (int i = 0; i < 2; i++) fcntl(chat_sigpipe[i], F_SETFL, fcntl(chat_sigpipe[i], F_GETFL) | O_NONBLOCK);
    if (sem_init(&chat_sigsem, 0, 0) == 0) {
      have_watcher = pthread_create(&watcher, NULL, chat_watcher, &watch) == 0;
      if (!have_watcher) sem_destroy(&chat_sigsem);
    }
    if (!have_watcher) {
      close(chat_sigpipe[0]);
      close(chat_sigpipe[1]);
      chat_sigpipe[0] = chat_sigpipe[1] = -1;
    }
  }
  if (have_watcher) {
    struct sigaction sa = {0};
    sa.sa_handler = chat_on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &sa_old);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);

  chat_history hist = {0};
  chat_out out = {.tty = stdout_tty};
  out.think_open = still_vocab_find(m->vocab, "<think>", 7);
  out.think_close = still_vocab_find(m->vocab, "</think>", 8);
  if (rc == 0 && system && !history_add(&hist, "system", system)) rc = cli_fail("out of memory");
  size_t base = hist.n; /* messages kept by /reset */
  if (rc == 0 && stdin_tty)
    fprintf(stderr, "Chatting with %s. Ctrl+C stops a reply; /reset starts over; /exit or Ctrl+D quits.\n",
            info->name);

  line_reader lr = {0};
  int prompt_sigints = 0;
  int turn = 0;
  while (rc == 0) {
    if (stdin_tty) {
      fputs(stdout_tty ? "\n\033[1m> \033[0m" : "> ", stdout);
      fflush(stdout);
    }
    line_result lres = read_line(&lr, chat_sigpipe[0]);
    if (lres == LINE_INTERRUPTED) {
      if (++prompt_sigints >= 2) break;
      fputs("\n(press Ctrl+C again or type /exit to quit)\n", stderr);
      continue;
    }
    if (lres == LINE_ERROR) {
      rc = cli_fail("cannot read standard input: %s", strerror(errno));
      break;
    }
    if (lres == LINE_EOF) break;
    prompt_sigints = 0;
    char *line = lr.line;
    size_t got = strlen(line);
    while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
    if (got == 0) continue;
    if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0) break;
    if (strcmp(line, "/reset") == 0) {
      history_truncate(&hist, base);
      still_session_reset(s);
      if (stdin_tty) fputs("(new conversation)\n", stderr);
      continue;
    }
    size_t keep = hist.n;
    if (!history_add(&hist, "user", line)) {
      rc = cli_fail("out of memory");
      break;
    }
    int32_t *ids = NULL;
    size_t n = 0;
    rc = chat_prompt(m, fam, hist.msgs, hist.n, &ids, &n);
    if (rc) break;

    out.len = 0;
    out.ends_newline = false;
    out.in_think = still_template_starts_in_think(fam);
    if (out.in_think) {
      if (out.tty) fputs(DIM, stdout);
      fputs("<think>\n", stdout);
      chat_append(&out, "<think>\n", 8);
      out.ends_newline = true;
    }
    still_stats st;
    still_error err = {0};
    atomic_store(&watch.generating, true);
    still_status gs = still_session_generate(s, ids, n, &smp, chat_on_token, &out, &st, &err);
    atomic_store(&watch.generating, false);
    drain_fd(chat_sigpipe[0]); /* a Ctrl+C during the reply was for the reply */
    free(ids);
    if (out.in_think && out.tty) fputs(UNDIM, stdout);
    if (!out.ends_newline || st.gen_tokens == 0) putchar('\n');
    fflush(stdout);
    turn++;
    if (gs == STILL_ERR_CANCELLED) fputs("(stopped)\n", stderr);
    if (gs == STILL_ERR_CONTEXT_FULL && st.gen_tokens == 0) {
      /* the conversation no longer fits: drop this turn, keep chatting */
      cli_warn("%s; type /reset to start a new conversation", err.message);
      history_truncate(&hist, keep);
      continue;
    }
    if (gs == STILL_ERR_CONTEXT_FULL) cli_warn("%s", err.message);
    else if (gs != STILL_OK && gs != STILL_ERR_CANCELLED) {
      rc = cli_fail("generation failed: %s", err.message[0] ? err.message : still_status_name(gs));
      break;
    }
    if (out.oom || !history_add(&hist, "assistant", out.reply ? out.reply : "")) {
      rc = cli_fail("out of memory");
      break;
    }
    print_offload_news(s);
    if (stats) {
      char prefix[32];
      snprintf(prefix, sizeof prefix, "turn %d: ", turn);
      cli_run_print_stats(prefix, &st);
    }
  }
  free(lr.buf);
  free(lr.line);
  free(out.reply);
  history_truncate(&hist, 0);
  free(hist.msgs);
  if (have_watcher) {
    sigaction(SIGINT, &sa_old, NULL);
    atomic_store(&watch.quit, true);
    sem_post(&chat_sigsem);
    pthread_join(watcher, NULL);
    sem_destroy(&chat_sigsem);
    close(chat_sigpipe[0]);
    close(chat_sigpipe[1]);
    chat_sigpipe[0] = chat_sigpipe[1] = -1;
  }
  still_session_free(s);
  still_model_free(m);
  return rc ? rc : cli_finish_output();
}
