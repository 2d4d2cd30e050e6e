/* distill-benchmark.h — the published two-prompt benchmark, run in the app
 * through the shared engine worker, and what is done with its results
 * (averages, export, the published figures they are compared with).
 *
 * The method (engine/include/still.h, "the standard benchmark"): per model,
 * the model is loaded first (untimed), then one untimed 1-token warm-up whose
 * error is checked, then `runs` timed runs of each standard prompt, each from
 * an empty cache (no prefix reuse), at most STILL_BENCH_MAX_TOKENS generated
 * tokens in a STILL_BENCH_N_CTX context, seed = run number, the model's own
 * sampling. Every figure comes from the engine's own counts and times. */
#pragma once

#include <gio/gio.h>

#include "distill-engine.h"
#include "distill-history.h"

G_BEGIN_DECLS

/* ==== results (pure functions) =============================================== */

typedef struct {
  int n_runs;
  /* means over the raw per-run values (never over rounded ones) */
  double prompt_tok_s;
  double gen_tok_s;
  double ttft_s;
  double total_s;
  double gen_tokens;
  double peak_rss_bytes;
  double peak_vram_bytes;
  int answers_checked; /* runs of prompt 0 */
  int answers_ok;      /* of which said 75 km/h */
} DistillBenchAverages;

/* Averages of the runs (DistillBenchRun*) of the given prompt; prompt < 0:
 * of every run. n_runs 0 (and every mean 0) when there is none. */
void distill_bench_average(GPtrArray *runs, int prompt, DistillBenchAverages *out);

/* The runs split by bench_id, in the order they come (the history lists the
 * newest first). Array of GPtrArray* of DistillBenchRun* (borrowed from runs,
 * which must outlive the result). */
GPtrArray *distill_bench_group(GPtrArray *runs);

/* From the engine's offload line ("offload: 0/28 layers on a GPU (CPU only)",
 * "offload: 28/28 layers on Vulkan0 (NVIDIA GeForce RTX 4090)", a split "offload: 48/48 layers on
 * Vulkan0 (A) 24 + Vulkan1 (B) 24"): the backend ("CPU", "Vulkan", "CPU + Vulkan") and the
 * device: its name, the names joined by " + " for a split, "" on the CPU. */
void distill_bench_backend_from_offload(const char *offload, char **backend, char **device);

/* A short human name for the standard prompt ("average speed"), translated. */
const char *distill_bench_prompt_label(int prompt);
/* Whole translated labels naming a prompt: "average speed, mean of 3 runs" and
 * "average speed, run 2" (never a name slotted into a sentence). Caller frees. */
char *distill_bench_prompt_mean_label(int prompt, int n_runs);
char *distill_bench_prompt_run_label(int prompt, int run);

/* Export: CSV with a header line and one line per run; JSON with a "runs"
 * array (one object per run, every field) and "averages" (per benchmark: each
 * prompt and all runs together). UTF-8, caller frees. */
char *distill_bench_export_csv(GPtrArray *runs);
char *distill_bench_export_json(GPtrArray *runs);

/* ==== published figures ======================================================= */

typedef struct {
  char *model_id;   /* catalog id: "qwen-7b" */
  char *size;       /* "7B" */
  char *quant;      /* "Q4_K_M"; "" when the source does not say */
  char *hardware;   /* "RTX 4090" */
  char *runtime;    /* "Ollama"; "" when the source does not say */
  double tok_s_low, tok_s_high;
  double ttft_ms_low, ttft_ms_high; /* 0 when not published */
} DistillPublishedFigure;

void distill_published_figure_free(DistillPublishedFigure *f);

/* The figures in data/published-figures.json (GResource), or in json. Array
 * of DistillPublishedFigure*. */
GPtrArray *distill_published_figures_load(GError **error);
GPtrArray *distill_published_figures_from_data(const char *json, gssize len, GError **error);

/* The catalog model a file is (its id, "qwen-7b"), from the catalog's file
 * names, else from the size in the name ("…-7B-…"); NULL when unknown. */
char *distill_bench_model_id_for(const char *path);

/* ==== running it ================================================================
 * Signals (main context):
 *   "progress" (double fraction, const char *text): what is being done now.
 *   "run-done" (gpointer DistillBenchRun*): a timed run was recorded.
 *   "model-done" (gpointer GPtrArray* of DistillBenchRun*, gint64 bench_id):
 *       every run of one model is done (and stored when there is a history;
 *       bench_id 0 otherwise).
 *   "finished" (int DistillBenchmarkOutcome): the benchmark is over; the
 *       engine is idle. Runs of a model left unfinished are dropped, never
 *       stored in part. On failure distill_benchmark_get_error() says why.
 * The benchmarked (last) model stays loaded in the engine.
 */
typedef enum {
  DISTILL_BENCHMARK_COMPLETED,
  DISTILL_BENCHMARK_CANCELLED,
  DISTILL_BENCHMARK_FAILED,
} DistillBenchmarkOutcome;

#define DISTILL_BENCHMARK_MAX_RUNS 5

#define DISTILL_TYPE_BENCHMARK (distill_benchmark_get_type())
G_DECLARE_FINAL_TYPE(DistillBenchmark, distill_benchmark, DISTILL, BENCHMARK, GObject)

/* history may be NULL (results are then not stored). */
DistillBenchmark *distill_benchmark_new(DistillEngine *engine, DistillHistory *history);

/* Run each model with its load settings from settings (GPU layers and the GPUs they go on,
 * threads, KV cache type; distill-load-settings.h) at the benchmark's context, as a chat with
 * it would run, on the hardware DistillHardware's default instance reports. NULL (the default):
 * the engine's properties as they are. */
void distill_benchmark_set_load_settings(DistillBenchmark *self, GSettings *settings);

/* Start with the model files and the runs per prompt (1 … DISTILL_BENCHMARK_MAX_RUNS).
 * FALSE with error when one is already running, the engine is busy with a
 * chat, or there is no model. */
gboolean distill_benchmark_start(DistillBenchmark *self, const char *const *model_paths, int runs, GError **error);
/* Stop: the running generation stops within a token (a load in progress is
 * cancelled); "finished" follows with DISTILL_BENCHMARK_CANCELLED. */
void distill_benchmark_cancel(DistillBenchmark *self);
gboolean distill_benchmark_is_running(DistillBenchmark *self);
double distill_benchmark_get_fraction(DistillBenchmark *self);
const char *distill_benchmark_get_text(DistillBenchmark *self);
/* Runs of the models completed by this benchmark (DistillBenchRun*). */
GPtrArray *distill_benchmark_get_runs(DistillBenchmark *self);
const GError *distill_benchmark_get_error(DistillBenchmark *self);

G_END_DECLS
