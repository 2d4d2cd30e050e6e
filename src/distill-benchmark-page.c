/* distill-benchmark-page.c — the Benchmark view of the main window.
 *
 * Top: the installed models to measure (the files the Library finds: the
 * models folder, the Hugging Face cache, Ollama's store, imported files),
 * runs per prompt, Run / Cancel and a progress bar. The run itself is a
 * DistillBenchmark on the app's one engine; the benchmarked model stays
 * loaded (the chat page follows the engine's state).
 *
 * Below: the stored results (history database) as a table — one row of
 * averages per benchmark of a model, opened to show the averages per prompt
 * and every run — and a chart of generation speed beside published figures
 * for other hardware (data/published-figures.json). */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-bench-chart.h"
#include "distill-benchmark-page.h"
#include "distill-benchmark.h"
#include "distill-catalog.h"
#include "distill-download.h"
#include "still.h"

struct _DistillBenchmarkPage {
  AdwBin parent_instance;

  /* template children */
  AdwToastOverlay *toast_overlay;
  AdwPreferencesGroup *models_group;
  GtkSpinButton *runs_spin;
  GtkButton *run_button;
  GtkButton *cancel_button;
  GtkRevealer *progress_revealer;
  GtkProgressBar *progress_bar;
  GtkLabel *message_label;
  GtkMenuButton *export_button;
  GtkStack *results_stack;
  GtkGrid *results_grid;
  DistillBenchChart *chart;

  DistillEngine *engine;
  DistillHistory *history;
  DistillBenchmark *bench;
  DistillCatalog *catalog;
  char *models_dir;
  gboolean set_up;

  GPtrArray *model_rows;  /* GtkWidget*, rows in models_group */
  GHashTable *checked;    /* path → the user's choice (GINT_TO_POINTER 1/2: on/off) */
  GPtrArray *runs;        /* stored DistillBenchRun* */
  GPtrArray *figures;     /* DistillPublishedFigure* */
  GtkFileChooserNative *export_dialog;
  char *export_format;
  gboolean show_vram; /* a result used a GPU: the table has a GPU memory column */
};

G_DEFINE_FINAL_TYPE(DistillBenchmarkPage, distill_benchmark_page, ADW_TYPE_BIN)

static void update_actions(DistillBenchmarkPage *self);

static void toast(DistillBenchmarkPage *self, const char *text)
{
  AdwToast *t = adw_toast_new(text);
  adw_toast_set_timeout(t, 5);
  adw_toast_overlay_add_toast(self->toast_overlay, t);
}

static void show_message(DistillBenchmarkPage *self, const char *text, gboolean is_error)
{
  gtk_label_set_text(self->message_label, text ? text : "");
  gtk_widget_set_visible(GTK_WIDGET(self->message_label), text != NULL);
  if (is_error) gtk_widget_add_css_class(GTK_WIDGET(self->message_label), "error");
  else gtk_widget_remove_css_class(GTK_WIDGET(self->message_label), "error");
}

/* ==== models ===================================================================== */

static gboolean model_checked(DistillBenchmarkPage *self, const char *path)
{
  return GPOINTER_TO_INT(g_hash_table_lookup(self->checked, path)) == 1;
}

static void on_check_toggled(GtkCheckButton *check, DistillBenchmarkPage *self)
{
  const char *path = g_object_get_data(G_OBJECT(check), "path");
  g_hash_table_insert(self->checked, g_strdup(path), GINT_TO_POINTER(gtk_check_button_get_active(check) ? 1 : 2));
  update_actions(self);
}

static void add_model_row(DistillBenchmarkPage *self, DistillLocalModel *lm, const char *source)
{
  GtkWidget *row = adw_action_row_new();
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), lm->display_name);
  adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
  g_autofree char *size = g_format_size((guint64)lm->size);
  /* Translators: where a model file was found, and its size: "Models folder · 4.7 GB" */
  g_autofree char *sub = g_strdup_printf(_("%1$s · %2$s"), source, size);
  adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
  gtk_widget_set_tooltip_text(row, lm->path);
  GtkWidget *check = gtk_check_button_new();
  gtk_widget_set_valign(check, GTK_ALIGN_CENTER);
  gtk_accessible_update_property(GTK_ACCESSIBLE(check), GTK_ACCESSIBLE_PROPERTY_LABEL, lm->display_name, -1);
  g_object_set_data_full(G_OBJECT(check), "path", g_strdup(lm->path), g_free);
  gtk_check_button_set_active(GTK_CHECK_BUTTON(check), model_checked(self, lm->path));
  g_signal_connect_object(check, "toggled", G_CALLBACK(on_check_toggled), self, 0);
  adw_action_row_add_prefix(ADW_ACTION_ROW(row), check);
  adw_action_row_set_activatable_widget(ADW_ACTION_ROW(row), check);
  adw_preferences_group_add(self->models_group, row);
  g_ptr_array_add(self->model_rows, row);
}

static void rescan_models(DistillBenchmarkPage *self)
{
  for (guint i = 0; i < self->model_rows->len; i++)
    adw_preferences_group_remove(self->models_group, g_ptr_array_index(self->model_rows, i));
  g_ptr_array_set_size(self->model_rows, 0);

  GPtrArray *lists[4] = {distill_scan_models_dir(self->catalog, self->models_dir),
                         distill_scan_hf_cache(self->catalog, NULL), distill_scan_ollama(self->catalog, NULL),
                         distill_scan_imported(self->catalog, NULL)};
  const char *sources[] = {N_("Models folder"), N_("Hugging Face cache"), N_("Ollama"), N_("Imported, used in place")};
  /* by default the model in use is measured (else the first one) */
  const char *current = distill_engine_get_model_path(self->engine);
  gboolean any_choice = FALSE, current_listed = FALSE;
  for (guint l = 0; l < G_N_ELEMENTS(lists); l++)
    for (guint i = 0; i < lists[l]->len; i++) {
      DistillLocalModel *lm = g_ptr_array_index(lists[l], i);
      any_choice = any_choice || g_hash_table_contains(self->checked, lm->path);
      current_listed = current_listed || g_strcmp0(lm->path, current) == 0;
    }
  const char *first_default = NULL;
  for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
    for (guint i = 0; i < lists[l]->len; i++) {
      DistillLocalModel *lm = g_ptr_array_index(lists[l], i);
      if (lm->n_present < lm->n_shards) continue; /* incomplete download */
      if (!any_choice && !first_default) {
        first_default = current_listed ? current : lm->path;
        g_hash_table_insert(self->checked, g_strdup(first_default), GINT_TO_POINTER(1));
      }
      add_model_row(self, lm, _(sources[l]));
    }
    g_ptr_array_unref(lists[l]);
  }
  if (self->model_rows->len == 0) {
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("No models found"));
    g_autofree char *sub = g_strdup_printf(_("Download a model in the Library, or put GGUF files in %s."),
                                           self->models_dir);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
    adw_preferences_group_add(self->models_group, row);
    g_ptr_array_add(self->model_rows, row);
  }
  update_actions(self);
}

/* The checked models, in the order shown. */
static GStrv checked_paths(DistillBenchmarkPage *self)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  for (guint i = 0; i < self->model_rows->len; i++) {
    GtkWidget *row = g_ptr_array_index(self->model_rows, i);
    GtkWidget *check = adw_action_row_get_activatable_widget(ADW_ACTION_ROW(row));
    if (check && gtk_check_button_get_active(GTK_CHECK_BUTTON(check)))
      g_strv_builder_add(b, g_object_get_data(G_OBJECT(check), "path"));
  }
  return g_strv_builder_end(b);
}

/* ==== the results table ================================================================ */

enum {
  COL_EXPAND,
  COL_MODEL,
  COL_QUANT,
  COL_BACKEND,
  COL_PROMPT_SPEED,
  COL_GEN_SPEED,
  COL_TTFT,
  COL_TOTAL,
  COL_TOKENS,
  COL_RSS,
  COL_VRAM,
  COL_ANSWER,
  N_COLS
};

/* tokens per second; the unit is in the column's header */
static char *format_speed(double tok_s)
{
  if (tok_s >= 1000) return g_strdup_printf("%'.0f", tok_s);
  return g_strdup_printf("%.1f", tok_s);
}

static char *format_seconds(double s)
{
  /* Translators: a duration in milliseconds */
  if (s < 10) return g_strdup_printf(_("%.0f ms"), s * 1000);
  /* Translators: a duration in seconds */
  return g_strdup_printf(_("%.1f s"), s);
}

static char *format_total(double s)
{
  /* Translators: a duration in seconds */
  return g_strdup_printf(s < 1 ? _("%.2f s") : _("%.1f s"), s);
}

static char *format_tokens(double n)
{
  if (n == (double)(gint64)n) return g_strdup_printf("%'" G_GINT64_FORMAT, (gint64)n);
  return g_strdup_printf("%.1f", n);
}

static char *format_bytes(double bytes)
{
  if (bytes <= 0) return g_strdup("—");
  return g_format_size((guint64)(bytes + 0.5));
}

static char *backend_text(const DistillBenchRun *r)
{
  if (r->device && *r->device)
    /* Translators: backend and GPU: "Vulkan · AMD Radeon RX 7900" */
    return g_strdup_printf(_("%1$s · %2$s"), r->backend, r->device);
  /* Translators: backend and CPU threads: "CPU · 8 threads" */
  return g_strdup_printf(ngettext("%1$s · %2$d thread", "%1$s · %2$d threads", r->threads), r->backend, r->threads);
}

/* The grid column of a column: the GPU memory column is left out when no
 * result used a GPU. */
static int grid_column(DistillBenchmarkPage *self, int col)
{
  return !self->show_vram && col > COL_VRAM ? col - 1 : col;
}

static GtkWidget *cell_span(DistillBenchmarkPage *self, int col, int span, int row, const char *text, gboolean numeric)
{
  if (col == COL_VRAM && !self->show_vram) return NULL;
  GtkWidget *l = gtk_label_new(text);
  gtk_label_set_xalign(GTK_LABEL(l), numeric ? 1.0f : 0.0f);
  gtk_widget_set_margin_top(l, 6);
  gtk_widget_set_margin_bottom(l, 6);
  if (numeric) gtk_widget_add_css_class(l, "numeric");
  gtk_grid_attach(self->results_grid, l, grid_column(self, col), row, span, 1);
  return l;
}

static GtkWidget *cell(DistillBenchmarkPage *self, int col, int row, const char *text, gboolean numeric)
{
  return cell_span(self, col, 1, row, text, numeric);
}

/* The averages of one set of runs into the numeric columns of a row. */
static void average_cells(DistillBenchmarkPage *self, int row, const DistillBenchAverages *a, GPtrArray *bind)
{
  g_autofree char *ps = format_speed(a->prompt_tok_s);
  g_autofree char *gs = format_speed(a->gen_tok_s);
  g_autofree char *ttft = format_seconds(a->ttft_s);
  g_autofree char *total = format_total(a->total_s);
  g_autofree char *tokens = format_tokens(a->gen_tokens);
  g_autofree char *rss = format_bytes(a->peak_rss_bytes);
  g_autofree char *vram = format_bytes(a->peak_vram_bytes);
  GtkWidget *cells[] = {
    cell(self, COL_PROMPT_SPEED, row, ps, TRUE), cell(self, COL_GEN_SPEED, row, gs, TRUE),
    cell(self, COL_TTFT, row, ttft, TRUE),       cell(self, COL_TOTAL, row, total, TRUE),
    cell(self, COL_TOKENS, row, tokens, TRUE),   cell(self, COL_RSS, row, rss, TRUE),
    cell(self, COL_VRAM, row, vram, TRUE),
  };
  for (guint i = 0; bind && i < G_N_ELEMENTS(cells); i++)
    if (cells[i]) g_ptr_array_add(bind, cells[i]);
}

static void on_expand_toggled(GtkToggleButton *toggle, gpointer data)
{
  GPtrArray *widgets = g_object_get_data(G_OBJECT(toggle), "detail-widgets");
  gboolean open = gtk_toggle_button_get_active(toggle);
  for (guint i = 0; widgets && i < widgets->len; i++) gtk_widget_set_visible(g_ptr_array_index(widgets, i), open);
  gtk_button_set_icon_name(GTK_BUTTON(toggle), open ? "pan-down-symbolic" : "pan-end-symbolic");
  gtk_widget_set_tooltip_text(GTK_WIDGET(toggle), open ? _("Hide Each Run") : _("Show Each Run"));
}

static char *answer_summary(const DistillBenchAverages *a)
{
  if (a->answers_checked == 0) return g_strdup("—");
  /* Translators: how many answers to the average-speed prompt said 75 km/h, e.g. "2 of 3 right" */
  return g_strdup_printf(ngettext("%1$d of %2$d right", "%1$d of %2$d right", a->answers_checked), a->answers_ok,
                         a->answers_checked);
}

static int add_group_rows(DistillBenchmarkPage *self, GPtrArray *group, int row)
{
  const DistillBenchRun *first = g_ptr_array_index(group, 0);
  DistillBenchAverages all;
  distill_bench_average(group, -1, &all);

  /* the summary row */
  GtkWidget *toggle = gtk_toggle_button_new();
  gtk_button_set_icon_name(GTK_BUTTON(toggle), "pan-end-symbolic");
  gtk_widget_add_css_class(toggle, "flat");
  gtk_widget_set_valign(toggle, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text(toggle, _("Show Each Run"));
  gtk_grid_attach(self->results_grid, toggle, COL_EXPAND, row, 1, 1);

  GtkWidget *name_box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  gtk_widget_set_valign(name_box, GTK_ALIGN_CENTER);
  gtk_widget_set_margin_top(name_box, 6);
  gtk_widget_set_margin_bottom(name_box, 6);
  GtkWidget *name = gtk_label_new(first->model_name);
  gtk_label_set_xalign(GTK_LABEL(name), 0);
  gtk_label_set_ellipsize(GTK_LABEL(name), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars(GTK_LABEL(name), 34);
  gtk_label_set_width_chars(GTK_LABEL(name), 16);
  gtk_widget_add_css_class(name, "heading"); /* the benchmark's own row stands out from its runs */
  gtk_widget_set_tooltip_text(name, first->model_path);
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_local(first->created / G_USEC_PER_SEC);
  g_autofree char *date = when ? g_date_time_format(when, "%x %H:%M") : g_strdup("");
  /* Translators: when a benchmark ran, and the engine version: "11/25/26 22:40:12 · engine 0.1.0" */
  g_autofree char *sub = g_strdup_printf(_("%1$s · engine %2$s"), date, first->version);
  GtkWidget *sub_label = gtk_label_new(sub);
  gtk_label_set_xalign(GTK_LABEL(sub_label), 0);
  gtk_widget_add_css_class(sub_label, "caption");
  gtk_widget_add_css_class(sub_label, "dim-label");
  gtk_widget_set_tooltip_text(sub_label, first->offload);
  gtk_box_append(GTK_BOX(name_box), name);
  gtk_box_append(GTK_BOX(name_box), sub_label);
  gtk_grid_attach(self->results_grid, name_box, COL_MODEL, row, 1, 1);
  gtk_accessible_update_property(GTK_ACCESSIBLE(toggle), GTK_ACCESSIBLE_PROPERTY_LABEL, first->model_name, -1);

  cell(self, COL_QUANT, row, first->quant, FALSE);
  g_autofree char *backend = backend_text(first);
  cell(self, COL_BACKEND, row, backend, FALSE);
  average_cells(self, row, &all, NULL);
  g_autofree char *answers = answer_summary(&all);
  cell(self, COL_ANSWER, row, answers, FALSE);
  row++;

  /* the detail rows, shown when the summary is opened */
  GPtrArray *detail = g_ptr_array_new();
  for (int p = 0; p < STILL_BENCH_N_PROMPTS; p++) {
    DistillBenchAverages a;
    distill_bench_average(group, p, &a);
    if (a.n_runs == 0) continue;
    g_autofree char *what = distill_bench_prompt_mean_label(p, a.n_runs);
    /* under the model's name, across the quantization and backend columns */
    g_ptr_array_add(detail, cell_span(self, COL_MODEL, COL_BACKEND - COL_MODEL + 1, row, what, FALSE));
    average_cells(self, row, &a, detail);
    g_autofree char *ans = answer_summary(&a);
    g_ptr_array_add(detail, cell(self, COL_ANSWER, row, ans, FALSE));
    row++;
    for (guint i = 0; i < group->len; i++) {
      const DistillBenchRun *r = g_ptr_array_index(group, i);
      if (r->prompt != p) continue;
      g_autofree char *label = distill_bench_prompt_run_label(p, r->run);
      GtkWidget *rl = cell_span(self, COL_MODEL, COL_BACKEND - COL_MODEL + 1, row, label, FALSE);
      gtk_widget_set_margin_start(rl, 12);
      gtk_widget_add_css_class(rl, "dim-label");
      g_ptr_array_add(detail, rl);
      DistillBenchAverages one;
      GPtrArray single = {.pdata = (gpointer *)&r, .len = 1};
      distill_bench_average(&single, -1, &one);
      average_cells(self, row, &one, detail);
      const char *ans_text = r->answer_ok < 0 ? "—" : r->answer_ok ? _("Right: 75 km/h") : _("Not 75 km/h");
      g_ptr_array_add(detail, cell(self, COL_ANSWER, row, ans_text, FALSE));
      row++;
    }
  }
  for (guint i = 0; i < detail->len; i++) gtk_widget_set_visible(g_ptr_array_index(detail, i), FALSE);
  g_object_set_data_full(G_OBJECT(toggle), "detail-widgets", detail, (GDestroyNotify)g_ptr_array_unref);
  g_signal_connect(toggle, "toggled", G_CALLBACK(on_expand_toggled), NULL);
  return row;
}

static void rebuild_table(DistillBenchmarkPage *self)
{
  GtkWidget *c;
  while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->results_grid))))
    gtk_grid_remove(self->results_grid, c);
  const char *headers[N_COLS] = {
    [COL_EXPAND] = "",
    [COL_MODEL] = _("Model"),
    [COL_QUANT] = _("Quantization"),
    [COL_BACKEND] = _("Backend"),
    /* Translators: column of prompt evaluation speeds, in tokens per second */
    [COL_PROMPT_SPEED] = _("Prompt tok/s"),
    /* Translators: column of generation speeds, in tokens per second */
    [COL_GEN_SPEED] = _("Generation tok/s"),
    /* Translators: column: time to the first token */
    [COL_TTFT] = _("First Token"),
    [COL_TOTAL] = _("Total Time"),
    /* Translators: column: tokens generated */
    [COL_TOKENS] = _("Tokens"),
    /* Translators: column: peak resident memory of the process */
    [COL_RSS] = _("Peak RAM"),
    /* Translators: column: peak GPU memory */
    [COL_VRAM] = _("Peak VRAM"),
    [COL_ANSWER] = _("Answer"),
  };
  self->show_vram = FALSE;
  for (guint i = 0; self->runs && i < self->runs->len; i++)
    self->show_vram |= ((DistillBenchRun *)g_ptr_array_index(self->runs, i))->peak_vram_bytes > 0;
  for (int col = 0; col < N_COLS; col++) {
    gboolean numeric = col >= COL_PROMPT_SPEED && col <= COL_VRAM;
    GtkWidget *h = cell(self, col, 0, headers[col], numeric);
    if (!h) continue;
    /* "Generation tok/s" on two lines: the numbers under it are narrow */
    gtk_label_set_wrap(GTK_LABEL(h), TRUE);
    gtk_label_set_max_width_chars(GTK_LABEL(h), 10);
    gtk_label_set_justify(GTK_LABEL(h), numeric ? GTK_JUSTIFY_RIGHT : GTK_JUSTIFY_LEFT);
    gtk_widget_set_valign(h, GTK_ALIGN_END);
    if (col == COL_ANSWER) gtk_widget_set_hexpand(h, TRUE); /* the table fills its card */
    gtk_widget_add_css_class(h, "caption-heading");
    gtk_widget_add_css_class(h, "dim-label");
  }
  g_autoptr(GPtrArray) groups = distill_bench_group(self->runs);
  int row = 1;
  for (guint g = 0; g < groups->len; g++) {
    GtkWidget *sep = gtk_separator_new(GTK_ORIENTATION_HORIZONTAL);
    gtk_grid_attach(self->results_grid, sep, 0, row++, grid_column(self, N_COLS), 1);
    row = add_group_rows(self, g_ptr_array_index(groups, g), row);
  }
  gtk_stack_set_visible_child_name(self->results_stack, groups->len ? "table" : "empty");
}

/* ==== the chart ============================================================================ */

static gboolean str_in(GPtrArray *list, const char *s)
{
  return g_ptr_array_find_with_equal_func(list, s, g_str_equal, NULL);
}

static void rebuild_chart(DistillBenchmarkPage *self)
{
  distill_bench_chart_clear(self->chart);
  g_autoptr(GPtrArray) groups = distill_bench_group(self->runs);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
  /* the newest result per model, quantization and backend */
  for (guint g = 0; g < groups->len; g++) {
    GPtrArray *group = g_ptr_array_index(groups, g);
    const DistillBenchRun *first = g_ptr_array_index(group, 0);
    char *key = g_strconcat(first->model_name, "\n", first->quant, "\n", first->backend, "\n", first->device, NULL);
    if (str_in(keys, key)) {
      g_free(key);
      continue;
    }
    g_ptr_array_add(keys, key);
    DistillBenchAverages a;
    distill_bench_average(group, -1, &a);
    g_autofree char *backend = backend_text(first);
    /* Translators: where a result was measured: quantization, backend */
    g_autofree char *detail = g_strdup_printf(_("%1$s · %2$s"), first->quant, backend);
    distill_bench_chart_add_bar(self->chart, first->model_name, detail, a.gen_tok_s, 0, FALSE);
    char *id = distill_bench_model_id_for(first->model_path);
    if (id && !str_in(ids, id)) g_ptr_array_add(ids, id);
    else g_free(id);
  }
  if (!self->figures || groups->len == 0) return;
  /* published figures for the same models; for other models (a file not from the catalog) the
   * common 7B Q4_K_M as a yardstick */
  gboolean yardstick = ids->len == 0;
  if (yardstick) g_ptr_array_add(ids, g_strdup("qwen-7b"));
  for (guint i = 0; i < ids->len; i++) {
    const char *id = g_ptr_array_index(ids, i);
    DistillCatalogModel *m = self->catalog ? distill_catalog_find_model(self->catalog, id) : NULL;
    for (guint f = 0; f < self->figures->len; f++) {
      DistillPublishedFigure *fig = g_ptr_array_index(self->figures, f);
      if (!g_str_equal(fig->model_id, id)) continue;
      if (yardstick && !g_str_equal(fig->quant, "Q4_K_M")) continue;
      const char *name = m ? m->name : fig->size;
      g_autofree char *label = *fig->quant ? g_strdup_printf("%s %s", name, fig->quant) : g_strdup(name);
      g_autofree char *detail =
        *fig->runtime ? g_strdup_printf(_("%1$s, %2$s"), fig->hardware, fig->runtime) : g_strdup(fig->hardware);
      distill_bench_chart_add_bar(self->chart, label, detail, fig->tok_s_low, fig->tok_s_high, TRUE);
    }
  }
}

static void reload_results(DistillBenchmarkPage *self)
{
  if (!self->history) return;
  g_autoptr(GError) error = NULL;
  GPtrArray *runs = distill_history_list_bench_runs(self->history, &error);
  if (!runs) {
    toast(self, error->message);
    return;
  }
  g_clear_pointer(&self->runs, g_ptr_array_unref);
  self->runs = runs;
  rebuild_table(self);
  rebuild_chart(self);
  update_actions(self);
}

/* ==== running ================================================================================ */

static void update_actions(DistillBenchmarkPage *self)
{
  gboolean running = self->bench && distill_benchmark_is_running(self->bench);
  gboolean any_checked = FALSE;
  for (guint i = 0; i < self->model_rows->len && !any_checked; i++) {
    GtkWidget *check = adw_action_row_get_activatable_widget(ADW_ACTION_ROW(g_ptr_array_index(self->model_rows, i)));
    any_checked = check && gtk_check_button_get_active(GTK_CHECK_BUTTON(check));
  }
  gboolean have_results = self->runs && self->runs->len > 0;
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "bench.run", !running && any_checked);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "bench.cancel", running);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "bench.clear", !running && have_results);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "bench.export", have_results);
  gtk_widget_set_sensitive(GTK_WIDGET(self->export_button), have_results);
  gtk_widget_set_visible(GTK_WIDGET(self->cancel_button), running);
  gtk_widget_set_sensitive(GTK_WIDGET(self->models_group), !running);
  gtk_widget_set_sensitive(GTK_WIDGET(self->runs_spin), !running);
}

static void on_progress(DistillBenchmark *bench, double fraction, const char *text, DistillBenchmarkPage *self)
{
  gtk_progress_bar_set_fraction(self->progress_bar, fraction);
  gtk_progress_bar_set_text(self->progress_bar, text);
}

static void on_model_done(DistillBenchmark *bench, GPtrArray *runs, gint64 bench_id, DistillBenchmarkPage *self)
{
  reload_results(self);
}

static void on_finished(DistillBenchmark *bench, int outcome, DistillBenchmarkPage *self)
{
  switch (outcome) {
  case DISTILL_BENCHMARK_COMPLETED:
    gtk_revealer_set_reveal_child(self->progress_revealer, FALSE);
    show_message(self, NULL, FALSE);
    toast(self, _("The benchmark is done."));
    break;
  case DISTILL_BENCHMARK_CANCELLED:
    gtk_revealer_set_reveal_child(self->progress_revealer, FALSE);
    show_message(self, _("The benchmark was cancelled. The runs of the model it was measuring were not kept."), FALSE);
    break;
  default: {
    const GError *e = distill_benchmark_get_error(bench);
    gtk_revealer_set_reveal_child(self->progress_revealer, FALSE);
    show_message(self, e ? e->message : _("The benchmark stopped with an error."), TRUE);
    break;
  }
  }
  update_actions(self);
}

static void run_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillBenchmarkPage *self = DISTILL_BENCHMARK_PAGE(widget);
  g_auto(GStrv) paths = checked_paths(self);
  g_autoptr(GError) error = NULL;
  show_message(self, NULL, FALSE);
  gtk_progress_bar_set_fraction(self->progress_bar, 0);
  gtk_progress_bar_set_text(self->progress_bar, NULL);
  if (!distill_benchmark_start(self->bench, (const char *const *)paths, gtk_spin_button_get_value_as_int(self->runs_spin),
                               &error)) {
    show_message(self, error->message, TRUE);
    return;
  }
  if (distill_benchmark_is_running(self->bench)) gtk_revealer_set_reveal_child(self->progress_revealer, TRUE);
  update_actions(self);
}

static void cancel_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillBenchmarkPage *self = DISTILL_BENCHMARK_PAGE(widget);
  distill_benchmark_cancel(self->bench);
  gtk_progress_bar_set_text(self->progress_bar, _("Stopping…"));
}

/* ==== clear and export ================================================================== */

static void on_clear_response(AdwMessageDialog *dialog, const char *response, DistillBenchmarkPage *self)
{
  if (g_strcmp0(response, "clear") != 0) return;
  g_autoptr(GError) error = NULL;
  if (!distill_history_delete_bench_runs(self->history, 0, &error)) toast(self, error->message);
  reload_results(self);
}

static void clear_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillBenchmarkPage *self = DISTILL_BENCHMARK_PAGE(widget);
  GtkRoot *root = gtk_widget_get_root(widget);
  GtkWidget *dialog = adw_message_dialog_new(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                             _("Delete Every Benchmark Result?"),
                                             _("The results of every benchmark run on this computer are deleted. "
                                               "Export them first if you want to keep them."));
  adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "clear", _("_Delete"), NULL);
  adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "clear", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  g_signal_connect_object(dialog, "response", G_CALLBACK(on_clear_response), self, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void on_export_response(GtkNativeDialog *dialog, int response, DistillBenchmarkPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autofree char *text = g_str_equal(self->export_format, "csv") ? distill_bench_export_csv(self->runs)
                                                                     : distill_bench_export_json(self->runs);
    g_autoptr(GError) error = NULL;
    if (file && g_file_replace_contents(file, text, strlen(text), NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                        NULL, &error)) {
      g_autofree char *shown = g_file_get_parse_name(file);
      /* Translators: %s is a file path */
      g_autofree char *msg = g_strdup_printf(_("Saved the results to %s."), shown);
      toast(self, msg);
    } else if (error) {
      /* Translators: %s is the reason */
      g_autofree char *msg = g_strdup_printf(_("Could not save the results: %s"), error->message);
      toast(self, msg);
    }
  }
  gtk_native_dialog_destroy(dialog);
  g_clear_object(&self->export_dialog);
}

static void export_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillBenchmarkPage *self = DISTILL_BENCHMARK_PAGE(widget);
  const char *format = g_variant_get_string(param, NULL);
  if (!self->runs || self->runs->len == 0) return;
  g_free(self->export_format);
  self->export_format = g_strdup(g_str_equal(format, "csv") ? "csv" : "json");
  GtkRoot *root = gtk_widget_get_root(widget);
  if (self->export_dialog) gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->export_dialog));
  g_clear_object(&self->export_dialog);
  self->export_dialog =
    gtk_file_chooser_native_new(_("Export Benchmark Results"), GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(self->export_dialog),
                                    g_str_equal(self->export_format, "csv") ? "distill-benchmark.csv"
                                                                            : "distill-benchmark.json");
  GtkFileFilter *filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, g_str_equal(self->export_format, "csv") ? _("CSV files") : _("JSON files"));
  gtk_file_filter_add_pattern(filter, g_str_equal(self->export_format, "csv") ? "*.csv" : "*.json");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(self->export_dialog), filter);
  g_object_unref(filter);
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->export_dialog), TRUE);
  g_signal_connect_object(self->export_dialog, "response", G_CALLBACK(on_export_response), self, 0);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->export_dialog));
}

/* ==== services ============================================================================ */

void distill_benchmark_page_set_services(DistillBenchmarkPage *self, DistillEngine *engine, DistillHistory *history,
                                         const char *models_dir)
{
  g_return_if_fail(DISTILL_IS_BENCHMARK_PAGE(self));
  g_return_if_fail(DISTILL_IS_ENGINE(engine));
  if (self->bench) {
    distill_benchmark_cancel(self->bench);
    g_signal_handlers_disconnect_by_data(self->bench, self);
    g_clear_object(&self->bench);
  }
  g_set_object(&self->engine, engine);
  g_set_object(&self->history, history);
  g_free(self->models_dir);
  if (models_dir) {
    self->models_dir = g_strdup(models_dir);
  } else {
    g_autoptr(GSettings) settings = g_settings_new(APP_ID);
    g_autofree char *folder = g_settings_get_string(settings, "models-folder");
    self->models_dir = folder && *folder ? g_steal_pointer(&folder) : distill_download_default_directory();
  }
  self->bench = distill_benchmark_new(engine, history);
  /* each model as its chats run it: its GPU layers, threads and KV cache type from Preferences */
  g_autoptr(GSettings) load_settings = g_settings_new(APP_ID);
  distill_benchmark_set_load_settings(self->bench, load_settings);
  g_signal_connect(self->bench, "progress", G_CALLBACK(on_progress), self);
  g_signal_connect(self->bench, "model-done", G_CALLBACK(on_model_done), self);
  g_signal_connect(self->bench, "finished", G_CALLBACK(on_finished), self);
  self->set_up = TRUE;
  distill_benchmark_page_refresh(self);
}

void distill_benchmark_page_refresh(DistillBenchmarkPage *self)
{
  g_return_if_fail(DISTILL_IS_BENCHMARK_PAGE(self));
  if (!self->set_up) return;
  rescan_models(self);
  reload_results(self);
}

/* The app's engine and history, when the page is first shown (tests set their own before). */
static void distill_benchmark_page_map(GtkWidget *widget)
{
  DistillBenchmarkPage *self = DISTILL_BENCHMARK_PAGE(widget);
  GTK_WIDGET_CLASS(distill_benchmark_page_parent_class)->map(widget);
  if (!self->set_up) {
    g_autofree char *path = distill_history_default_path();
    g_autoptr(GError) error = NULL;
    g_autoptr(DistillHistory) history = distill_history_open(path, &error);
    if (!history) {
      /* Translators: %s is the reason */
      g_autofree char *msg = g_strdup_printf(_("Benchmark results will not be saved: %s"), error->message);
      toast(self, msg);
      history = distill_history_open(":memory:", NULL);
    }
    distill_benchmark_page_set_services(self, distill_engine_get_default(), history, NULL);
  } else if (!self->bench || !distill_benchmark_is_running(self->bench)) {
    /* models may have been downloaded or removed meanwhile */
    rescan_models(self);
  }
}

static void distill_benchmark_page_dispose(GObject *object)
{
  DistillBenchmarkPage *self = DISTILL_BENCHMARK_PAGE(object);
  if (self->bench) {
    g_signal_handlers_disconnect_by_data(self->bench, self);
    distill_benchmark_cancel(self->bench);
    g_clear_object(&self->bench);
  }
  if (self->export_dialog) gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->export_dialog));
  g_clear_object(&self->export_dialog);
  g_clear_object(&self->engine);
  g_clear_object(&self->history);
  g_clear_pointer(&self->catalog, distill_catalog_unref);
  G_OBJECT_CLASS(distill_benchmark_page_parent_class)->dispose(object);
}

static void distill_benchmark_page_finalize(GObject *object)
{
  DistillBenchmarkPage *self = DISTILL_BENCHMARK_PAGE(object);
  g_free(self->models_dir);
  g_free(self->export_format);
  g_clear_pointer(&self->model_rows, g_ptr_array_unref);
  g_clear_pointer(&self->checked, g_hash_table_unref);
  g_clear_pointer(&self->runs, g_ptr_array_unref);
  g_clear_pointer(&self->figures, g_ptr_array_unref);
  G_OBJECT_CLASS(distill_benchmark_page_parent_class)->finalize(object);
}

static void distill_benchmark_page_class_init(DistillBenchmarkPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = distill_benchmark_page_dispose;
  object_class->finalize = distill_benchmark_page_finalize;
  widget_class->map = distill_benchmark_page_map;

  g_type_ensure(DISTILL_TYPE_BENCH_CHART);
  /* AdwBin owns and disposes its child, the template's root. */
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-benchmark-page.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, toast_overlay);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, models_group);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, runs_spin);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, run_button);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, cancel_button);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, progress_revealer);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, progress_bar);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, message_label);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, export_button);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, results_stack);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, results_grid);
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, chart);

  gtk_widget_class_install_action(widget_class, "bench.run", NULL, run_action);
  gtk_widget_class_install_action(widget_class, "bench.cancel", NULL, cancel_action);
  gtk_widget_class_install_action(widget_class, "bench.clear", NULL, clear_action);
  gtk_widget_class_install_action(widget_class, "bench.export", "s", export_action);
}

static void distill_benchmark_page_init(DistillBenchmarkPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->model_rows = g_ptr_array_new();
  self->checked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  self->catalog = distill_catalog_new_builtin(NULL);
  g_autoptr(GError) error = NULL;
  self->figures = distill_published_figures_load(&error);
  if (!self->figures) g_message("published figures: %s", error->message);
  update_actions(self);
  distill_bench_chart_clear(self->chart);
}
