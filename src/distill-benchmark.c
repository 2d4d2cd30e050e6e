/* distill-benchmark.c — the standard benchmark as a small state machine on
 * the main context, driving the shared engine worker:
 *
 *   for each model:  LOAD (untimed) → WARM-UP (1 token, errors checked)
 *                    → RUN prompt 0 × runs → RUN prompt 1 × runs → store
 *
 * Each step is one asynchronous engine call; its callback starts the next
 * step, so the UI never waits. Cancel stops the generation in flight (the
 * engine checks between tokens) or the load, and the runs of the model that
 * was not finished are dropped. Also here: averages, export and the published
 * figures, as plain functions the tests call directly. */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "distill-benchmark.h"
#include "distill-catalog.h"
#include "distill-hardware.h"
#include "distill-load-settings.h"
#include "distill-offload.h"
#include "still.h"

/* ==== averages ===================================================================== */

void distill_bench_average(GPtrArray *runs, int prompt, DistillBenchAverages *out)
{
  memset(out, 0, sizeof *out);
  if (!runs) return;
  for (guint i = 0; i < runs->len; i++) {
    const DistillBenchRun *r = g_ptr_array_index(runs, i);
    if (prompt >= 0 && r->prompt != prompt) continue;
    out->n_runs++;
    out->prompt_tok_s += r->prompt_tok_s;
    out->gen_tok_s += r->gen_tok_s;
    out->ttft_s += r->ttft_s;
    out->total_s += r->total_s;
    out->gen_tokens += r->gen_tokens;
    out->peak_rss_bytes += (double)r->peak_rss_bytes;
    out->peak_vram_bytes += (double)r->peak_vram_bytes;
    if (r->answer_ok >= 0) {
      out->answers_checked++;
      if (r->answer_ok > 0) out->answers_ok++;
    }
  }
  if (out->n_runs == 0) return;
  const double n = out->n_runs;
  out->prompt_tok_s /= n;
  out->gen_tok_s /= n;
  out->ttft_s /= n;
  out->total_s /= n;
  out->gen_tokens /= n;
  out->peak_rss_bytes /= n;
  out->peak_vram_bytes /= n;
}

GPtrArray *distill_bench_group(GPtrArray *runs)
{
  GPtrArray *groups = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);
  g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (guint i = 0; runs && i < runs->len; i++) {
    DistillBenchRun *r = g_ptr_array_index(runs, i);
    GPtrArray *g = g_hash_table_lookup(by_id, &r->bench_id);
    if (!g) {
      g = g_ptr_array_new();
      g_ptr_array_add(groups, g);
      g_hash_table_insert(by_id, &r->bench_id, g);
    }
    g_ptr_array_add(g, r);
  }
  return groups;
}

void distill_bench_backend_from_offload(const char *offload, char **backend, char **device)
{
  DistillOffload o;
  distill_offload_parse(offload, &o);
  *backend = g_strdup(o.gpu_layers <= 0 ? "CPU" : o.gpu_layers < o.n_layers ? "CPU + Vulkan" : "Vulkan");
  *device = distill_offload_devices(&o);
  distill_offload_clear(&o);
}

const char *distill_bench_prompt_label(int prompt)
{
  static const struct {
    const char *name;
    const char *label;
  } labels[] = {
    {"average-speed", N_("average speed")},
    {"binary-search", N_("binary search")},
  };
  const char *name = still_bench_prompt_name(prompt);
  if (!name) return "";
  for (guint i = 0; i < G_N_ELEMENTS(labels); i++)
    if (g_str_equal(name, labels[i].name)) return _(labels[i].label);
  return name;
}

/* Which standard prompt, so every text that names one is a whole sentence of its own: the
 * prompt's name is never slotted into a sentence, where a translation may need it declined,
 * reordered or joined to its noun. */
typedef enum { PROMPT_AVERAGE_SPEED, PROMPT_BINARY_SEARCH, PROMPT_OTHER } PromptKind;

static PromptKind prompt_kind(int prompt)
{
  const char *name = still_bench_prompt_name(prompt);
  if (g_strcmp0(name, "average-speed") == 0) return PROMPT_AVERAGE_SPEED;
  if (g_strcmp0(name, "binary-search") == 0) return PROMPT_BINARY_SEARCH;
  return PROMPT_OTHER;
}

char *distill_bench_prompt_mean_label(int prompt, int n_runs)
{
  switch (prompt_kind(prompt)) {
  case PROMPT_AVERAGE_SPEED:
    /* Translators: the averages of the benchmark's "average speed" prompt over %d runs */
    return g_strdup_printf(ngettext("average speed, mean of %d run", "average speed, mean of %d runs",
                                    n_runs),
                           n_runs);
  case PROMPT_BINARY_SEARCH:
    /* Translators: the averages of the benchmark's "binary search" prompt over %d runs */
    return g_strdup_printf(ngettext("binary search, mean of %d run", "binary search, mean of %d runs",
                                    n_runs),
                           n_runs);
  case PROMPT_OTHER:
  default:
    /* Translators: the averages of a benchmark prompt over %2$d runs; %1$s is the prompt's
     * identifier (e.g. "long-context"), not translated */
    return g_strdup_printf(ngettext("prompt “%1$s”, mean of %2$d run", "prompt “%1$s”, mean of %2$d runs", n_runs),
                           still_bench_prompt_name(prompt), n_runs);
  }
}

char *distill_bench_prompt_run_label(int prompt, int run)
{
  switch (prompt_kind(prompt)) {
  case PROMPT_AVERAGE_SPEED:
    /* Translators: one timed run of the benchmark's "average speed" prompt; %d is the run number */
    return g_strdup_printf(_("average speed, run %d"), run);
  case PROMPT_BINARY_SEARCH:
    /* Translators: one timed run of the benchmark's "binary search" prompt; %d is the run number */
    return g_strdup_printf(_("binary search, run %d"), run);
  case PROMPT_OTHER:
  default:
    /* Translators: one timed run of a benchmark prompt; %1$s is the prompt's identifier
     * (e.g. "long-context"), not translated; %2$d is the run number */
    return g_strdup_printf(_("prompt “%1$s”, run %2$d"), still_bench_prompt_name(prompt), run);
  }
}

/* "Run 2 of 3 — average speed prompt, 57 tokens", with the model's file name in front when
 * several models are benchmarked (model != NULL). */
static char *run_progress_text(const char *model, int prompt, int run, int runs, int tokens)
{
  const char *id = still_bench_prompt_name(prompt);
  switch (prompt_kind(prompt)) {
  case PROMPT_AVERAGE_SPEED:
    if (model)
      /* Translators: progress of a benchmark of several models: %1$s is a model's file name, then the
       * run number, the runs per prompt and the tokens generated so far */
      return g_strdup_printf(ngettext("%1$s: run %2$d of %3$d — average speed prompt, %4$d token",
                                      "%1$s: run %2$d of %3$d — average speed prompt, %4$d tokens", tokens),
                             model, run, runs, tokens);
    /* Translators: benchmark progress: run number, runs per prompt, tokens generated so far */
    return g_strdup_printf(ngettext("Run %1$d of %2$d — average speed prompt, %3$d token",
                                    "Run %1$d of %2$d — average speed prompt, %3$d tokens", tokens),
                           run, runs, tokens);
  case PROMPT_BINARY_SEARCH:
    if (model)
      /* Translators: progress of a benchmark of several models: %1$s is a model's file name, then the
       * run number, the runs per prompt and the tokens generated so far */
      return g_strdup_printf(ngettext("%1$s: run %2$d of %3$d — binary search prompt, %4$d token",
                                      "%1$s: run %2$d of %3$d — binary search prompt, %4$d tokens", tokens),
                             model, run, runs, tokens);
    /* Translators: benchmark progress: run number, runs per prompt, tokens generated so far */
    return g_strdup_printf(ngettext("Run %1$d of %2$d — binary search prompt, %3$d token",
                                    "Run %1$d of %2$d — binary search prompt, %3$d tokens", tokens),
                           run, runs, tokens);
  case PROMPT_OTHER:
  default:
    if (model)
      /* Translators: progress of a benchmark of several models: %1$s is a model's file name, then the
       * run number, the runs per prompt, the prompt's identifier (not translated) and the tokens
       * generated so far */
      return g_strdup_printf(ngettext("%1$s: run %2$d of %3$d — prompt “%4$s”, %5$d token",
                                      "%1$s: run %2$d of %3$d — prompt “%4$s”, %5$d tokens", tokens),
                             model, run, runs, id ? id : "", tokens);
    /* Translators: benchmark progress: run number, runs per prompt, the prompt's identifier (not
     * translated), tokens generated so far */
    return g_strdup_printf(ngettext("Run %1$d of %2$d — prompt “%3$s”, %4$d token",
                                    "Run %1$d of %2$d — prompt “%3$s”, %4$d tokens", tokens),
                           run, runs, id ? id : "", tokens);
  }
}

/* ==== export ========================================================================= */

static void csv_field(GString *s, const char *text)
{
  if (!text) text = "";
  if (strpbrk(text, ",\"\n\r") == NULL) {
    g_string_append(s, text);
    return;
  }
  g_string_append_c(s, '"');
  for (const char *p = text; *p; p++) {
    if (*p == '"') g_string_append_c(s, '"');
    g_string_append_c(s, *p);
  }
  g_string_append_c(s, '"');
}

/* The shortest text that reads back as the same double, with '.' as the
 * decimal point whatever the locale ("10.26", not "10.259999999999999"). */
static char *format_double(double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 15; digits <= 17; digits++) {
    g_ascii_formatd(buf, sizeof buf, digits == 15 ? "%.15g" : digits == 16 ? "%.16g" : "%.17g", v);
    if (g_ascii_strtod(buf, NULL) == v) break;
  }
  return g_strdup(buf);
}

static char *iso_time(gint64 us)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
  return dt ? g_date_time_format_iso8601(dt) : g_strdup("");
}

static const char *const csv_columns[] = {
  "bench_id", "date", "model", "quant", "backend", "device", "threads", "version", "offload", "prompt", "prompt_name",
  "run", "seed", "prompt_tokens", "gen_tokens", "prompt_tok_s", "gen_tok_s", "ttft_ms", "total_s", "peak_rss_bytes",
  "peak_vram_bytes", "answer_ok", "model_path",
};

char *distill_bench_export_csv(GPtrArray *runs)
{
  GString *s = g_string_new(NULL);
  for (guint c = 0; c < G_N_ELEMENTS(csv_columns); c++) {
    if (c) g_string_append_c(s, ',');
    g_string_append(s, csv_columns[c]);
  }
  g_string_append(s, "\r\n");
  for (guint i = 0; runs && i < runs->len; i++) {
    const DistillBenchRun *r = g_ptr_array_index(runs, i);
    g_autofree char *date = iso_time(r->created);
    g_autofree char *pts = format_double(r->prompt_tok_s);
    g_autofree char *gts = format_double(r->gen_tok_s);
    g_autofree char *ttft = format_double(r->ttft_s * 1000.0);
    g_autofree char *total = format_double(r->total_s);
    g_string_append_printf(s, "%" G_GINT64_FORMAT ",%s,", r->bench_id, date);
    csv_field(s, r->model_name);
    g_string_append_c(s, ',');
    csv_field(s, r->quant);
    g_string_append_c(s, ',');
    csv_field(s, r->backend);
    g_string_append_c(s, ',');
    csv_field(s, r->device);
    g_string_append_printf(s, ",%d,", r->threads);
    csv_field(s, r->version);
    g_string_append_c(s, ',');
    csv_field(s, r->offload);
    g_string_append_printf(s, ",%d,", r->prompt);
    csv_field(s, r->prompt_name);
    g_string_append_printf(s, ",%d,%" G_GUINT64_FORMAT ",%d,%d,%s,%s,%s,%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%s,",
                           r->run, r->seed, r->prompt_tokens, r->gen_tokens, pts, gts, ttft, total, r->peak_rss_bytes,
                           r->peak_vram_bytes, r->answer_ok < 0 ? "" : r->answer_ok ? "true" : "false");
    csv_field(s, r->model_path);
    g_string_append(s, "\r\n");
  }
  return g_string_free(s, FALSE);
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, value ? value : "");
}

static void add_double(JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_double_value(b, value);
}

static void add_int(JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

static void add_averages(JsonBuilder *b, const DistillBenchRun *first, GPtrArray *group, int prompt)
{
  DistillBenchAverages a;
  distill_bench_average(group, prompt, &a);
  if (a.n_runs == 0) return;
  json_builder_begin_object(b);
  add_int(b, "bench_id", first->bench_id);
  add_string(b, "model", first->model_name);
  add_string(b, "quant", first->quant);
  add_string(b, "backend", first->backend);
  add_string(b, "prompt", prompt >= 0 ? still_bench_prompt_name(prompt) : "all");
  add_int(b, "runs", a.n_runs);
  add_double(b, "prompt_tok_s", a.prompt_tok_s);
  add_double(b, "gen_tok_s", a.gen_tok_s);
  add_double(b, "ttft_ms", a.ttft_s * 1000.0);
  add_double(b, "total_s", a.total_s);
  add_double(b, "gen_tokens", a.gen_tokens);
  add_double(b, "peak_rss_bytes", a.peak_rss_bytes);
  add_double(b, "peak_vram_bytes", a.peak_vram_bytes);
  if (a.answers_checked > 0) {
    add_int(b, "answers_checked", a.answers_checked);
    add_int(b, "answers_ok", a.answers_ok);
  }
  json_builder_end_object(b);
}

char *distill_bench_export_json(GPtrArray *runs)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "method");
  json_builder_begin_object(b);
  add_int(b, "max_tokens", STILL_BENCH_MAX_TOKENS);
  add_int(b, "n_ctx", STILL_BENCH_N_CTX);
  json_builder_set_member_name(b, "prompts");
  json_builder_begin_array(b);
  for (int p = 0; p < STILL_BENCH_N_PROMPTS; p++) {
    json_builder_begin_object(b);
    add_string(b, "name", still_bench_prompt_name(p));
    add_string(b, "text", still_bench_prompt(p));
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "runs");
  json_builder_begin_array(b);
  for (guint i = 0; runs && i < runs->len; i++) {
    const DistillBenchRun *r = g_ptr_array_index(runs, i);
    g_autofree char *date = iso_time(r->created);
    json_builder_begin_object(b);
    add_int(b, "bench_id", r->bench_id);
    add_string(b, "date", date);
    add_string(b, "model", r->model_name);
    add_string(b, "model_path", r->model_path);
    add_string(b, "quant", r->quant);
    add_string(b, "backend", r->backend);
    add_string(b, "device", r->device);
    add_int(b, "threads", r->threads);
    add_string(b, "version", r->version);
    add_string(b, "offload", r->offload);
    add_string(b, "prompt", r->prompt_name);
    add_int(b, "prompt_index", r->prompt);
    add_int(b, "run", r->run);
    add_int(b, "seed", (gint64)r->seed);
    add_int(b, "prompt_tokens", r->prompt_tokens);
    add_int(b, "gen_tokens", r->gen_tokens);
    add_double(b, "prompt_tok_s", r->prompt_tok_s);
    add_double(b, "gen_tok_s", r->gen_tok_s);
    add_double(b, "ttft_ms", r->ttft_s * 1000.0);
    add_double(b, "total_s", r->total_s);
    add_int(b, "peak_rss_bytes", (gint64)r->peak_rss_bytes);
    add_int(b, "peak_vram_bytes", (gint64)r->peak_vram_bytes);
    if (r->answer_ok >= 0) {
      json_builder_set_member_name(b, "answer_ok");
      json_builder_add_boolean_value(b, r->answer_ok > 0);
    }
    json_builder_end_object(b);
  }
  json_builder_end_array(b);

  json_builder_set_member_name(b, "averages");
  json_builder_begin_array(b);
  g_autoptr(GPtrArray) groups = distill_bench_group(runs);
  for (guint g = 0; g < groups->len; g++) {
    GPtrArray *group = g_ptr_array_index(groups, g);
    const DistillBenchRun *first = g_ptr_array_index(group, 0);
    for (int p = 0; p < STILL_BENCH_N_PROMPTS; p++) add_averages(b, first, group, p);
    add_averages(b, first, group, -1);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);

  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_indent(gen, 2);
  return json_generator_to_data(gen, NULL);
}

/* ==== published figures ================================================================ */

void distill_published_figure_free(DistillPublishedFigure *f)
{
  if (!f) return;
  g_free(f->model_id);
  g_free(f->size);
  g_free(f->quant);
  g_free(f->hardware);
  g_free(f->runtime);
  g_free(f);
}

GPtrArray *distill_published_figures_from_data(const char *json, gssize len, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, json, len, error)) return NULL;
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonArray *arr = obj && json_object_has_member(obj, "figures") ? json_object_get_array_member(obj, "figures") : NULL;
  if (!arr) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("The published figures have no “figures” list."));
    return NULL;
  }
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_published_figure_free);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    if (!JSON_NODE_HOLDS_OBJECT(n)) continue;
    JsonObject *o = json_node_get_object(n);
    DistillPublishedFigure *f = g_new0(DistillPublishedFigure, 1);
    f->model_id = g_strdup(json_object_get_string_member_with_default(o, "model_id", ""));
    f->size = g_strdup(json_object_get_string_member_with_default(o, "size", ""));
    f->quant = g_strdup(json_object_get_string_member_with_default(o, "quant", ""));
    f->hardware = g_strdup(json_object_get_string_member_with_default(o, "hardware", ""));
    f->runtime = g_strdup(json_object_get_string_member_with_default(o, "runtime", ""));
    f->tok_s_low = json_object_get_double_member_with_default(o, "tok_s_low", 0);
    f->tok_s_high = json_object_get_double_member_with_default(o, "tok_s_high", f->tok_s_low);
    f->ttft_ms_low = json_object_get_double_member_with_default(o, "ttft_ms_low", 0);
    f->ttft_ms_high = json_object_get_double_member_with_default(o, "ttft_ms_high", f->ttft_ms_low);
    if (f->tok_s_low <= 0 || f->tok_s_high < f->tok_s_low || !*f->hardware) {
      distill_published_figure_free(f);
      continue;
    }
    g_ptr_array_add(out, f);
  }
  return out;
}

GPtrArray *distill_published_figures_load(GError **error)
{
  g_autoptr(GBytes) bytes =
    g_resources_lookup_data("/io/github/distillapp/Distill/published-figures.json", G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (!bytes) return NULL;
  gsize len;
  const char *data = g_bytes_get_data(bytes, &len);
  return distill_published_figures_from_data(data, (gssize)len, error);
}

/* "…-Qwen-7B-…" → "7b"; NULL when the name has no size like that. */
static char *size_in_name(const char *name)
{
  g_autoptr(GRegex) re = g_regex_new("(?:^|[^0-9.a-z])([0-9]+(?:\\.[0-9]+)?)b(?:$|[^a-z0-9])", G_REGEX_CASELESS, 0, NULL);
  g_autoptr(GMatchInfo) mi = NULL;
  if (!g_regex_match(re, name, 0, &mi)) return NULL;
  g_autofree char *num = g_match_info_fetch(mi, 1);
  return g_strconcat(num, "b", NULL);
}

char *distill_bench_model_id_for(const char *path)
{
  if (!path) return NULL;
  g_autofree char *base = g_path_get_basename(path);
  static DistillCatalog *catalog;
  if (!catalog) catalog = distill_catalog_new_builtin(NULL);
  DistillCatalogModel *model = NULL;
  if (catalog && distill_catalog_match_file(catalog, base, &model, NULL) && model) return g_strdup(model->id);
  g_autofree char *lower = g_ascii_strdown(base, -1);
  g_autofree char *size = size_in_name(lower);
  if (!size) return NULL;
  /* the family by name; the distills of one size come in one family but 8B */
  if (strstr(lower, "qwen3")) return g_strconcat("qwen3-", size, NULL);
  if (strstr(lower, "llama") || g_str_equal(size, "8b") || g_str_equal(size, "70b"))
    return g_strconcat("llama-", size, NULL);
  return g_strconcat("qwen-", size, NULL);
}

/* ==== the state machine ===================================================================== */

enum { SIG_PROGRESS, SIG_RUN_DONE, SIG_MODEL_DONE, SIG_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

typedef enum { STEP_IDLE, STEP_LOAD, STEP_WARMUP, STEP_RUN } Step;

struct _DistillBenchmark {
  GObject parent_instance;

  DistillEngine *engine;
  DistillHistory *history;
  GSettings *load_settings; /* each model's load settings, applied before its warm-up (NULL: none) */

  /* the benchmark in progress */
  GStrv paths;
  int runs;
  guint model_i;
  Step step;
  int prompt_i, run_i; /* run_i 0-based */
  gboolean cancelled;
  GCancellable *cancellable;
  DistillGeneration *gen;
  GString *text;  /* the answer of the run in progress */
  char *offload;  /* the engine's offload line at the end of the model's warm-up: a timed run that ends with another one lost its GPU */
  int tokens;     /* generated so far in this run */
  guint64 rss_before;
  GPtrArray *set; /* runs of the model in progress */
  gint64 set_created;
  GPtrArray *done; /* runs of the models completed */
  GError *error;
  double fraction;
  char *progress_text;
};

G_DEFINE_FINAL_TYPE(DistillBenchmark, distill_benchmark, G_TYPE_OBJECT)

static void next_step(DistillBenchmark *self);

static const char *current_path(DistillBenchmark *self)
{
  return self->paths[self->model_i];
}

static char *current_name(DistillBenchmark *self)
{
  g_autofree char *base = g_path_get_basename(current_path(self));
  if (g_str_has_suffix(base, ".gguf")) base[strlen(base) - 5] = '\0';
  return g_steal_pointer(&base);
}

static int n_models(DistillBenchmark *self)
{
  return self->paths ? (int)g_strv_length(self->paths) : 0;
}

/* Share of the whole benchmark done: per model one unit for loading and the
 * warm-up, one per timed run (growing with its tokens). */
static void update_progress(DistillBenchmark *self, double load_fraction)
{
  const int per_model = 1 + STILL_BENCH_N_PROMPTS * self->runs;
  double units = (double)self->model_i * per_model;
  g_autofree char *name = current_name(self);
  g_autofree char *text = NULL;
  switch (self->step) {
  case STEP_LOAD:
    units += 0.8 * load_fraction;
    /* Translators: %s is a model's file name */
    text = g_strdup_printf(_("Loading %s…"), name);
    break;
  case STEP_WARMUP:
    units += 0.9;
    /* Translators: %s is a model's file name */
    text = g_strdup_printf(_("Warming up %s…"), name);
    break;
  case STEP_RUN: {
    units += 1 + self->prompt_i * self->runs + self->run_i + MIN(1.0, (double)self->tokens / STILL_BENCH_MAX_TOKENS);
    text = run_progress_text(n_models(self) > 1 ? name : NULL, self->prompt_i, self->run_i + 1, self->runs,
                             self->tokens);
    break;
  }
  case STEP_IDLE: return;
  }
  self->fraction = CLAMP(units / ((double)per_model * n_models(self)), 0.0, 1.0);
  g_free(self->progress_text);
  self->progress_text = g_steal_pointer(&text);
  g_signal_emit(self, signals[SIG_PROGRESS], 0, self->fraction, self->progress_text);
}

static void clear_generation(DistillBenchmark *self)
{
  if (self->gen) g_signal_handlers_disconnect_by_data(self->gen, self);
  g_clear_object(&self->gen);
}

static void finish(DistillBenchmark *self, DistillBenchmarkOutcome outcome)
{
  clear_generation(self);
  g_signal_handlers_disconnect_by_data(self->engine, self);
  g_clear_object(&self->cancellable);
  g_clear_pointer(&self->set, g_ptr_array_unref);
  self->step = STEP_IDLE;
  if (outcome == DISTILL_BENCHMARK_COMPLETED) self->fraction = 1.0;
  g_object_ref(self);
  g_signal_emit(self, signals[SIG_FINISHED], 0, (int)outcome);
  g_object_unref(self);
}

/* Stop with an error in plain words (takes error). */
static void fail(DistillBenchmark *self, GError *error)
{
  g_clear_error(&self->error);
  self->error = error;
  finish(self, DISTILL_BENCHMARK_FAILED);
}

static DistillGeneration *generate(DistillBenchmark *self, int prompt, int max_tokens, guint64 seed)
{
  if (self->load_settings) {
    /* as a chat with this model would run: its GPU layers (on the GPUs the fit estimate uses),
     * threads and KV cache type. Before every run, not once per model: the engine reads them when a
     * generation is queued, and a chat or API request in between sets them for its own model */
    still_hardware hw;
    DistillHardware *hardware = distill_hardware_get_default();
    gboolean known = hardware && distill_hardware_get_effective(hardware, &hw);
    distill_load_settings_apply(self->load_settings, current_path(self), STILL_BENCH_N_CTX, self->engine,
                                known ? &hw : NULL);
  }
  DistillGenerateRequest *req = distill_generate_request_new();
  distill_generate_request_add_message(req, "user", still_bench_prompt(prompt));
  req->fresh = TRUE; /* every run from an empty cache: no prefix reuse between runs */
  req->max_tokens = max_tokens;
  req->n_ctx = STILL_BENCH_N_CTX;
  req->seed = seed;
  /* temperature and top-p stay < 0: the model's own sampling */
  return distill_engine_generate(self->engine, req);
}

/* ---- the model: loading ---- */

static void on_load_progress(DistillEngine *engine, GParamSpec *pspec, DistillBenchmark *self)
{
  if (self->step == STEP_LOAD) update_progress(self, distill_engine_get_load_progress(engine));
}

static void on_loaded(GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(DistillBenchmark) self = data;
  g_autoptr(GError) error = NULL;
  gboolean ok = distill_engine_load_finish(DISTILL_ENGINE(source), res, &error);
  if (self->step != STEP_LOAD) return;
  if (self->cancelled) {
    finish(self, DISTILL_BENCHMARK_CANCELLED);
    return;
  }
  if (!ok) {
    g_autofree char *name = current_name(self);
    /* Translators: a model's file name, then the reason */
    fail(self, g_error_new(DISTILL_ENGINE_ERROR, error->code, _("Could not load %s: %s"), name, error->message));
    return;
  }
  self->step = STEP_WARMUP;
  next_step(self);
}

/* ---- warm-up and timed runs ---- */

static void on_delta(DistillGeneration *gen, const char *text, int tokens_so_far, DistillBenchmark *self)
{
  if (self->step != STEP_RUN) return;
  g_string_append(self->text, text);
  self->tokens = tokens_so_far;
  update_progress(self, 0);
}

static DistillBenchRun *record_run(DistillBenchmark *self, const DistillGenerationStats *st)
{
  static int physical_cores;
  DistillBenchRun *r = distill_bench_run_new();
  r->created = self->set_created;
  r->model_path = g_strdup(current_path(self));
  r->model_name = current_name(self);
  r->quant = g_strdup(*st->quant ? st->quant : "unknown");
  r->offload = g_strdup(st->offload);
  distill_bench_backend_from_offload(st->offload, &r->backend, &r->device);
  r->version = g_strdup(STILL_VERSION);
  r->threads = st->n_threads;
  if (r->threads <= 0) {
    /* the session's default: the physical cores */
    if (physical_cores == 0) {
      still_hardware hw;
      still_error err = {0};
      physical_cores = still_hardware_probe(&hw, NULL, &err) == STILL_OK ? hw.cpu_cores : -1;
    }
    r->threads = MAX(physical_cores, 0);
  }
  r->prompt = self->prompt_i;
  r->prompt_name = g_strdup(still_bench_prompt_name(self->prompt_i));
  r->run = self->run_i + 1;
  r->seed = (guint64)self->run_i + 1;
  r->prompt_tokens = st->prompt_evaluated;
  r->gen_tokens = st->gen_tokens;
  r->prompt_tok_s = st->prompt_s > 0 ? st->prompt_evaluated / st->prompt_s : 0;
  r->gen_tok_s = st->tok_s;
  r->ttft_s = st->ttft_s;
  r->total_s = st->prompt_s + st->gen_s;
  r->peak_rss_bytes = still_peak_rss_bytes();
  r->peak_vram_bytes = st->peak_device_bytes;
  r->answer_ok = self->prompt_i == 0 ? still_bench_answer_ok(0, self->text->str) : -1;
  return r;
}

static void store_set(DistillBenchmark *self)
{
  gint64 bench_id = 0;
  if (self->history) {
    g_autoptr(GError) error = NULL;
    bench_id = distill_history_add_bench_runs(self->history, self->set, &error);
    if (!bench_id) {
      fail(self, g_steal_pointer(&error));
      return;
    }
  }
  for (guint i = 0; i < self->set->len; i++)
    g_ptr_array_add(self->done, distill_bench_run_copy(g_ptr_array_index(self->set, i)));
  g_signal_emit(self, signals[SIG_MODEL_DONE], 0, self->set, bench_id);
  g_clear_pointer(&self->set, g_ptr_array_unref);
  self->model_i++;
  self->step = STEP_LOAD;
  next_step(self);
}

static void on_finished(DistillGeneration *gen, DistillBenchmark *self)
{
  g_autoptr(DistillGeneration) hold = g_object_ref(gen);
  clear_generation(self);
  DistillStopReason why = distill_generation_get_stop_reason(gen);
  if (self->cancelled || why == DISTILL_STOP_STOPPED) {
    finish(self, DISTILL_BENCHMARK_CANCELLED);
    return;
  }
  if (why == DISTILL_STOP_ERROR) {
    const GError *e = distill_generation_get_error(gen);
    g_autofree char *name = current_name(self);
    const char *reason = e ? e->message : _("The engine gave no reason.");
    if (self->step == STEP_WARMUP)
      /* Translators: a model's file name, then the reason */
      fail(self, g_error_new(DISTILL_ENGINE_ERROR, e ? e->code : DISTILL_ENGINE_ERROR_FAILED,
                             _("The warm-up of %s failed, so the benchmark stopped: %s"), name, reason));
    else
      /* Translators: a model's file name, then the reason */
      fail(self, g_error_new(DISTILL_ENGINE_ERROR, e ? e->code : DISTILL_ENGINE_ERROR_FAILED,
                             _("A timed run of %s failed, so the benchmark stopped: %s"), name, reason));
    return;
  }
  const DistillGenerationStats *st = distill_generation_get_stats(gen);
  if (self->step == STEP_WARMUP) {
    g_free(self->offload);
    self->offload = g_strdup(st->offload);
    self->step = STEP_RUN;
    self->prompt_i = 0;
    self->run_i = 0;
    next_step(self);
    return;
  }
  if (g_strcmp0(st->offload, self->offload) != 0) {
    /* the GPU failed during this run and the engine went on on the CPU:
     * its times, and an average with the other runs, would measure neither
     * (the command line refuses such a run too); the model's runs so far are
     * dropped with it */
    g_autofree char *name = current_name(self);
    /* Translators: a model's file name, then the engine's line on where the layers run now */
    fail(self, g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_FAILED,
                           _("The GPU failed during a timed run of %s, so its times would mix GPU and CPU speeds "
                             "and the benchmark stopped. The model now runs on the CPU (%s)."),
                           name, st->offload));
    return;
  }
  DistillBenchRun *r = record_run(self, st);
  g_ptr_array_add(self->set, r);
  g_signal_emit(self, signals[SIG_RUN_DONE], 0, r);
  if (++self->run_i >= self->runs) {
    self->run_i = 0;
    self->prompt_i++;
  }
  if (self->prompt_i >= STILL_BENCH_N_PROMPTS) {
    store_set(self);
    return;
  }
  next_step(self);
}

static void start_generation(DistillBenchmark *self, int prompt, int max_tokens, guint64 seed)
{
  self->gen = generate(self, prompt, max_tokens, seed);
  g_signal_connect(self->gen, "delta", G_CALLBACK(on_delta), self);
  g_signal_connect(self->gen, "finished", G_CALLBACK(on_finished), self);
}

static void next_step(DistillBenchmark *self)
{
  if (self->cancelled) {
    finish(self, DISTILL_BENCHMARK_CANCELLED);
    return;
  }
  switch (self->step) {
  case STEP_LOAD:
    if (self->model_i >= (guint)n_models(self)) {
      finish(self, DISTILL_BENCHMARK_COMPLETED);
      return;
    }
    self->set = g_ptr_array_new_with_free_func((GDestroyNotify)distill_bench_run_free);
    self->set_created = g_get_real_time();
    update_progress(self, 0);
    if (distill_engine_get_state(self->engine) == DISTILL_ENGINE_READY &&
        g_strcmp0(distill_engine_get_model_path(self->engine), current_path(self)) == 0) {
      /* already in memory: loading it again would measure nothing more */
      self->step = STEP_WARMUP;
      next_step(self);
      return;
    }
    /* the placement uses free GPU memory as it is now, not as at the app's start */
    if (self->load_settings) distill_hardware_refresh(distill_hardware_get_default());
    distill_engine_load_async(self->engine, current_path(self), self->cancellable, on_loaded, g_object_ref(self));
    return;
  case STEP_WARMUP:
    update_progress(self, 1);
    /* untimed, one token: only its error matters */
    start_generation(self, 0, 1, 1);
    return;
  case STEP_RUN:
    g_string_truncate(self->text, 0);
    self->tokens = 0;
    update_progress(self, 0);
    /* the peak of this run alone: back to what is resident now */
    still_peak_rss_reset();
    start_generation(self, self->prompt_i, STILL_BENCH_MAX_TOKENS, (guint64)self->run_i + 1);
    return;
  case STEP_IDLE: return;
  }
}

/* ---- API ---- */

void distill_benchmark_set_load_settings(DistillBenchmark *self, GSettings *settings)
{
  g_return_if_fail(DISTILL_IS_BENCHMARK(self));
  g_return_if_fail(settings == NULL || G_IS_SETTINGS(settings));
  g_set_object(&self->load_settings, settings);
}

DistillBenchmark *distill_benchmark_new(DistillEngine *engine, DistillHistory *history)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(engine), NULL);
  DistillBenchmark *self = g_object_new(DISTILL_TYPE_BENCHMARK, NULL);
  self->engine = g_object_ref(engine);
  if (history) self->history = g_object_ref(history);
  return self;
}

gboolean distill_benchmark_start(DistillBenchmark *self, const char *const *model_paths, int runs, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_BENCHMARK(self), FALSE);
  if (self->step != STEP_IDLE) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, _("A benchmark is already running."));
    return FALSE;
  }
  if (!model_paths || !model_paths[0]) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Choose at least one model to benchmark."));
    return FALSE;
  }
  if (distill_engine_is_busy(self->engine)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY,
                _("The model is busy answering a chat. Wait for the answer or stop it, then run the benchmark."));
    return FALSE;
  }
  g_strfreev(self->paths);
  self->paths = g_strdupv((char **)model_paths);
  self->runs = CLAMP(runs, 1, DISTILL_BENCHMARK_MAX_RUNS);
  self->model_i = 0;
  self->prompt_i = self->run_i = 0;
  self->cancelled = FALSE;
  self->fraction = 0;
  g_clear_error(&self->error);
  g_ptr_array_set_size(self->done, 0);
  self->cancellable = g_cancellable_new();
  g_signal_connect(self->engine, "notify::load-progress", G_CALLBACK(on_load_progress), self);
  self->step = STEP_LOAD;
  next_step(self);
  return TRUE;
}

void distill_benchmark_cancel(DistillBenchmark *self)
{
  g_return_if_fail(DISTILL_IS_BENCHMARK(self));
  if (self->step == STEP_IDLE || self->cancelled) return;
  self->cancelled = TRUE;
  /* "finished" comes when the engine has let go: the generation's own
   * "finished", or the load's callback */
  if (self->gen) distill_generation_stop(self->gen);
  if (self->cancellable) g_cancellable_cancel(self->cancellable);
}

gboolean distill_benchmark_is_running(DistillBenchmark *self)
{
  g_return_val_if_fail(DISTILL_IS_BENCHMARK(self), FALSE);
  return self->step != STEP_IDLE;
}

double distill_benchmark_get_fraction(DistillBenchmark *self)
{
  g_return_val_if_fail(DISTILL_IS_BENCHMARK(self), 0);
  return self->fraction;
}

const char *distill_benchmark_get_text(DistillBenchmark *self)
{
  g_return_val_if_fail(DISTILL_IS_BENCHMARK(self), NULL);
  return self->progress_text;
}

GPtrArray *distill_benchmark_get_runs(DistillBenchmark *self)
{
  g_return_val_if_fail(DISTILL_IS_BENCHMARK(self), NULL);
  return self->done;
}

const GError *distill_benchmark_get_error(DistillBenchmark *self)
{
  g_return_val_if_fail(DISTILL_IS_BENCHMARK(self), NULL);
  return self->error;
}

static void distill_benchmark_dispose(GObject *object)
{
  DistillBenchmark *self = DISTILL_BENCHMARK(object);
  if (self->gen) distill_generation_stop(self->gen);
  clear_generation(self);
  if (self->cancellable) g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  if (self->engine) g_signal_handlers_disconnect_by_data(self->engine, self);
  g_clear_object(&self->engine);
  g_clear_object(&self->load_settings);
  g_clear_object(&self->history);
  G_OBJECT_CLASS(distill_benchmark_parent_class)->dispose(object);
}

static void distill_benchmark_finalize(GObject *object)
{
  DistillBenchmark *self = DISTILL_BENCHMARK(object);
  g_strfreev(self->paths);
  g_string_free(self->text, TRUE);
  g_clear_pointer(&self->set, g_ptr_array_unref);
  g_clear_pointer(&self->done, g_ptr_array_unref);
  g_clear_error(&self->error);
  g_free(self->offload);
  g_free(self->progress_text);
  G_OBJECT_CLASS(distill_benchmark_parent_class)->finalize(object);
}

static void distill_benchmark_class_init(DistillBenchmarkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->dispose = distill_benchmark_dispose;
  object_class->finalize = distill_benchmark_finalize;

  signals[SIG_PROGRESS] = g_signal_new("progress", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_STRING);
  signals[SIG_RUN_DONE] = g_signal_new("run-done", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIG_MODEL_DONE] = g_signal_new("model-done", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 2, G_TYPE_POINTER, G_TYPE_INT64);
  signals[SIG_FINISHED] = g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                       G_TYPE_NONE, 1, G_TYPE_INT);
}

static void distill_benchmark_init(DistillBenchmark *self)
{
  self->text = g_string_new(NULL);
  self->done = g_ptr_array_new_with_free_func((GDestroyNotify)distill_bench_run_free);
}
