/* distill-library-page.c — the Library view of the main window.
 *
 * One expander row per catalog model (verdict of its recommended quant in the title row), one
 * action row per quantization inside it (size, verdict, Download / progress / Pause / Resume /
 * Cancel / Delete / Open folder), a details row (license, parameters, published scores), a
 * "Recommended" row on top from still_recommend(), and the models found on disk.
 *
 * Verdicts: first an estimate from the model's known shape (engine fit-shapes: a synthetic
 * header of the real tensor table), replaced by the one from the file's own header once it was
 * fetched (Range requests, cached on disk; fetched when a model is expanded).
 *
 * Below the catalog: "Search Hugging Face" (distill-hub-search.c). Local files are checked in a
 * worker thread (distill-local-fit.c). The models-folder setting is followed at once (rescan;
 * new downloads go there). "Show in Files" asks the file manager over D-Bus
 * (distill-show-file.c). Sizes and sha256 are refreshed from the Hub's tree API. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "distill-catalog.h"
#include "distill-download-manager.h"
#include "distill-download.h"
#include "distill-library-page.h"
#include "distill-local-fit.h"
#include "distill-remote-fit.h"
#include "distill-show-file.h"
#include "fit-shapes.h"

typedef enum { QUANT_AVAILABLE, QUANT_DOWNLOADING, QUANT_PAUSED, QUANT_INSTALLED } QuantState;
static const char *const state_names[] = {"available", "downloading", "paused", "installed"};

typedef struct _ModelEntry ModelEntry;
typedef struct _QuantEntry QuantEntry;

struct _QuantEntry {
  DistillLibraryPage *page;
  ModelEntry *model_entry;
  DistillCatalogModel *model;
  DistillCatalogQuant *quant;
  AdwActionRow *row;
  GtkLabel *verdict_label;
  GtkWidget *download_button, *pause_button, *resume_button, *cancel_button, *delete_button, *open_button;
  GtkWidget *keep_button; /* after a failed verification: keep the file as it is */
  GtkProgressBar *progress;
  char *progress_text;
  char *size_text;
  char *error_text;
  QuantState state;
  still_fit fit;
  gboolean fit_known, fit_from_header, header_requested;
  char *item_id;            /* the download manager's id: "repo/first-file" */
};

struct _ModelEntry {
  DistillCatalogModel *model;
  AdwExpanderRow *row;
  GtkLabel *verdict_label;
  GtkWidget *recommended_label; /* a star icon */
  GPtrArray *quants; /* QuantEntry */
};

struct _DistillLibraryPage {
  AdwBin parent_instance;

  GtkBox *content;
  AdwPreferencesGroup *recommended_group;
  AdwActionRow *recommended_row;
  GtkButton *recommended_button;
  AdwPreferencesGroup *models_group;
  AdwPreferencesGroup *local_group;

  DistillCatalog *catalog;
  DistillHardware *hardware;
  DistillHub *hub;
  DistillDownloadManager *manager;
  char *models_dir;
  GPtrArray *models;       /* ModelEntry */
  GPtrArray *local_rows;   /* GtkWidget, children of local_group */
  GPtrArray *local_checks; /* LocalCheck, parallel to local_rows */
  guint local_generation;  /* bumped by every rescan */
  GCancellable *local_cancellable;
  guint local_fit_delay_ms;
  char *recommended;       /* "qwen-7b/Q4_K_M" */
  QuantEntry *recommended_entry;
  AdwMessageDialog *dialog;
  GQueue header_queue;     /* QuantEntry waiting for a header fetch */
  gboolean header_busy;
  GCancellable *cancellable;
  int metered_override; /* -1: ask GNetworkMonitor */
  DistillHubSearch *search;
  GSettings *settings;  /* models-folder: followed without a restart */
};

/* Downloads larger than this ask first on a metered connection. */
#define METERED_ASK_BYTES (500 * 1000 * 1000)

G_DEFINE_FINAL_TYPE(DistillLibraryPage, distill_library_page, ADW_TYPE_BIN)

static void quant_entry_free(QuantEntry *q)
{
  g_free(q->item_id);
  g_free(q->progress_text);
  g_free(q->size_text);
  g_free(q->error_text);
  g_free(q);
}

static void model_entry_free(ModelEntry *m)
{
  g_ptr_array_unref(m->quants);
  g_free(m);
}

/* ---- lookups ---- */

static QuantEntry *find_quant(DistillLibraryPage *self, const char *model_id, const char *quant)
{
  for (guint i = 0; self->models && i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    if (g_strcmp0(m->model->id, model_id) != 0) continue;
    for (guint j = 0; j < m->quants->len; j++) {
      QuantEntry *q = g_ptr_array_index(m->quants, j);
      if (g_ascii_strcasecmp(q->quant->name, quant) == 0) return q;
    }
  }
  return NULL;
}

/* Where a file of a quant is: in the folder its download went to when the download manager
 * knows it and it is there (a download finishes in the folder it started in, even after the
 * models folder changed), else in the models folder. */
static char *quant_file_path(DistillLibraryPage *self, const char *item_id, const char *file)
{
  const char *dir = self->manager && item_id ? distill_download_manager_get_item_dir(self->manager, item_id) : NULL;
  if (dir != NULL && g_strcmp0(dir, self->models_dir) != 0) {
    char *path = g_build_filename(dir, file, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) return path;
    g_free(path);
  }
  return g_build_filename(self->models_dir, file, NULL);
}

static gboolean quant_on_disk(DistillLibraryPage *self, DistillCatalogQuant *q, const char *item_id)
{
  for (guint i = 0; q->files[i] != NULL; i++) {
    g_autofree char *path = quant_file_path(self, item_id, q->files[i]);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) return FALSE;
  }
  return TRUE;
}

/* ---- verdicts ---- */

static const char *verdict_text(still_fit_verdict v)
{
  switch (v) {
  /* short: the pill sits beside the title, also in a phone-sized window */
  case STILL_FIT_GPU: return C_("verdict", "GPU");
  case STILL_FIT_PARTIAL: return C_("verdict", "Partly GPU");
  case STILL_FIT_CPU: return C_("verdict", "CPU only");
  case STILL_FIT_NO: return C_("verdict", "Won’t fit");
  }
  return "";
}

void distill_library_set_verdict_label(GtkLabel *label, const still_fit *fit, gboolean known, gboolean estimate)
{
  gtk_widget_remove_css_class(GTK_WIDGET(label), "success");
  gtk_widget_remove_css_class(GTK_WIDGET(label), "warning");
  gtk_widget_remove_css_class(GTK_WIDGET(label), "error");
  if (!known) {
    gtk_label_set_text(label, _("Checking…"));
    gtk_widget_set_tooltip_text(GTK_WIDGET(label), NULL);
    return;
  }
  g_autofree char *text =
    /* Translators: a fit verdict ("GPU") that is an estimate from the model's shape */
    estimate ? g_strdup_printf(_("%s · est."), verdict_text(fit->verdict)) : g_strdup(verdict_text(fit->verdict));
  gtk_label_set_text(label, text);
  g_autofree char *tip = estimate ? g_strdup_printf(_("%s (an estimate from the model’s known shape)"), fit->message)
                                  : g_strdup(fit->message);
  gtk_widget_set_tooltip_text(GTK_WIDGET(label), tip);
  gtk_widget_add_css_class(GTK_WIDGET(label), fit->verdict == STILL_FIT_GPU       ? "success"
                                              : fit->verdict == STILL_FIT_NO      ? "error"
                                                                                  : "warning");
}

static void update_quant_row(QuantEntry *q);

static void update_model_verdict(ModelEntry *m)
{
  QuantEntry *best = NULL;
  for (guint i = 0; i < m->quants->len; i++) {
    QuantEntry *q = g_ptr_array_index(m->quants, i);
    if (g_strcmp0(q->quant->name, m->model->recommended_quant) == 0) best = q;
  }
  if (best == NULL && m->quants->len > 0) best = g_ptr_array_index(m->quants, 0);
  if (best != NULL) distill_library_set_verdict_label(m->verdict_label, &best->fit, best->fit_known, !best->fit_from_header);
}

/* The estimate from the model's shape; nothing when the engine does not know the shape. */
static void estimate_quant(DistillLibraryPage *self, QuantEntry *q, const still_hardware *hw)
{
  const still_model_shape *shape = still_shape_find(q->model->id);
  int mix = still_mix_from_name(q->quant->name);
  if (shape == NULL || mix < 0) return;
  void *buf = NULL;
  size_t len = 0;
  still_error err = {0};
  if (still_shape_build_header(shape, (still_quant_mix)mix, false, &buf, &len, &err) != STILL_OK) return;
  still_fit_params p = still_fit_params_default();
  q->fit_known = still_fit_estimate_buffer(buf, len, 0, hw, &p, &q->fit, NULL, &err) == STILL_OK;
  q->fit_from_header = FALSE;
  free(buf);
  (void)self;
}

/* From the cached header of the file, when there is one. */
static gboolean fit_from_cached_header(QuantEntry *q, const still_hardware *hw)
{
  guint64 size = 0;
  g_autoptr(GBytes) header = distill_remote_header_lookup(q->model->repo, q->quant->files[0], &size);
  if (header == NULL) return FALSE;
  still_fit fit;
  still_error err = {0};
  still_fit_params p = still_fit_params_default();
  gsize len = 0;
  const void *data = g_bytes_get_data(header, &len);
  /* split models: the first shard's header lists only its own tensors; the size hint covers all */
  if (still_fit_estimate_buffer(data, len, q->quant->files[1] ? 0 : size, hw, &p, &fit, NULL, &err) != STILL_OK ||
      q->quant->files[1] != NULL)
    return FALSE;
  q->fit = fit;
  q->fit_known = TRUE;
  q->fit_from_header = TRUE;
  return TRUE;
}

static void update_recommended(DistillLibraryPage *self, const still_hardware *hw)
{
  still_recommendation rec;
  still_error err = {0};
  g_clear_pointer(&self->recommended, g_free);
  self->recommended_entry = NULL;
  if (still_recommend(hw, 0, &rec, &err) == STILL_OK && rec.found) {
    self->recommended = g_strdup_printf("%s/%s", rec.pick.model_id, rec.pick.quant);
    self->recommended_entry = find_quant(self, rec.pick.model_id, rec.pick.quant);
    g_autofree char *title = g_strdup_printf("%s · %s", rec.pick.model_name, rec.pick.quant);
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->recommended_row), title);
    adw_action_row_set_subtitle(self->recommended_row, rec.reason);
  } else {
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->recommended_row), _("No model fits this computer"));
    adw_action_row_set_subtitle(self->recommended_row, err.message[0] ? err.message : rec.reason);
  }
  for (guint i = 0; i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    gboolean mine = self->recommended_entry != NULL && self->recommended_entry->model_entry == m;
    gtk_widget_set_visible(m->recommended_label, mine);
    g_autofree char *sub = mine ? g_strdup_printf(_("Recommended · %s parameters"), m->model->params)
                                : g_strdup_printf(_("%s parameters"), m->model->params);
    adw_expander_row_set_subtitle(m->row, sub);
    if (mine) gtk_widget_add_css_class(GTK_WIDGET(m->row), "recommended-row");
    else gtk_widget_remove_css_class(GTK_WIDGET(m->row), "recommended-row");
  }
  for (guint i = 0; i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    for (guint j = 0; j < m->quants->len; j++) {
      QuantEntry *e = g_ptr_array_index(m->quants, j);
      if (e == self->recommended_entry) gtk_widget_add_css_class(e->download_button, "suggested-action");
      else gtk_widget_remove_css_class(e->download_button, "suggested-action");
    }
  }
  QuantEntry *q = self->recommended_entry;
  gtk_widget_set_sensitive(GTK_WIDGET(self->recommended_button), q != NULL && q->state == QUANT_AVAILABLE);
  gtk_button_set_label(self->recommended_button, q != NULL && q->state == QUANT_INSTALLED ? _("Installed")
                                                 : q != NULL && q->state != QUANT_AVAILABLE ? _("Downloading")
                                                                                            : _("Download"));
}

static void refresh_verdicts(DistillLibraryPage *self)
{
  still_hardware hw;
  if (self->hardware == NULL || !distill_hardware_get_effective(self->hardware, &hw)) return;
  for (guint i = 0; i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    for (guint j = 0; j < m->quants->len; j++) {
      QuantEntry *q = g_ptr_array_index(m->quants, j);
      if (!fit_from_cached_header(q, &hw)) estimate_quant(self, q, &hw);
      update_quant_row(q);
    }
    update_model_verdict(m);
  }
  update_recommended(self, &hw);
}

/* ---- remote headers (one at a time, when a model is expanded) ---- */

static void fetch_next_header(DistillLibraryPage *self);

static void header_fetched(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = distill_remote_header_fetch_finish(res, NULL, NULL, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) return; /* the page is gone */
  DistillLibraryPage *self = user_data;
  self->header_busy = FALSE;
  if (bytes != NULL) refresh_verdicts(self);
  else g_debug("header not read: %s", error->message); /* offline, not found …: the estimate stays */
  fetch_next_header(self);
}

static void fetch_next_header(DistillLibraryPage *self)
{
  if (self->header_busy) return;
  QuantEntry *q = g_queue_pop_head(&self->header_queue);
  if (q == NULL) return;
  self->header_busy = TRUE;
  distill_remote_header_fetch_async(self->hub, q->model->repo, q->quant->files[0], TRUE, self->cancellable,
                                    header_fetched, self);
}

static void on_model_expanded(AdwExpanderRow *row, GParamSpec *pspec, ModelEntry *m)
{
  (void)pspec;
  if (!adw_expander_row_get_expanded(row)) return;
  DistillLibraryPage *self = DISTILL_LIBRARY_PAGE(gtk_widget_get_ancestor(GTK_WIDGET(row), DISTILL_TYPE_LIBRARY_PAGE));
  if (self == NULL || self->hub == NULL) return;
  for (guint i = 0; i < m->quants->len; i++) {
    QuantEntry *q = g_ptr_array_index(m->quants, i);
    if (q->header_requested || q->fit_from_header || q->quant->files[1] != NULL) continue;
    q->header_requested = TRUE;
    g_queue_push_tail(&self->header_queue, q);
  }
  fetch_next_header(self);
}

/* ---- local models ----
 * The list is built at once (a folder listing); the fit check of each file reads its GGUF header
 * (several MB of tokenizer arrays, maybe on a slow disk), so it runs in a GTask worker thread.
 * Its results are applied on the main context, and only when they belong to the newest scan:
 * a rescan (the models folder changed, a file was deleted …) bumps local_generation. */

typedef struct {
  char *path;
  GtkLabel *label; /* NULL: no check (incomplete split model, hardware not known yet) */
  int verdict;     /* -1 checking, -2 unreadable, else still_fit_verdict */
} LocalCheck;

static void local_check_free(LocalCheck *c)
{
  g_free(c->path);
  g_free(c);
}

typedef struct {
  DistillLibraryPage *self; /* alive unless cancelled: dispose cancels local_cancellable */
  guint generation;         /* of the scan the checks belong to */
} LocalFitCall;

static void local_fit_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  LocalFitCall call = *(LocalFitCall *)user_data;
  g_free(user_data);
  guint n = 0;
  g_autofree DistillLocalFit *fits = distill_local_fit_finish(res, &n, NULL);
  if (fits == NULL) return; /* cancelled: a newer scan, or the page is gone */
  DistillLibraryPage *self = call.self;
  if (call.generation != self->local_generation) return; /* an older scan: its rows are gone */
  for (guint i = 0; i < n && i < self->local_checks->len; i++) {
    LocalCheck *c = g_ptr_array_index(self->local_checks, i);
    if (c->label == NULL || !fits[i].checked) continue;
    c->verdict = fits[i].ok ? (int)fits[i].fit.verdict : -2;
    if (fits[i].ok) {
      distill_library_set_verdict_label(c->label, &fits[i].fit, TRUE, FALSE);
    } else {
      gtk_label_set_text(c->label, _("Unreadable"));
      gtk_widget_set_tooltip_text(GTK_WIDGET(c->label), _("This file’s header could not be read."));
    }
  }
}

static void start_local_fits(DistillLibraryPage *self, const still_hardware *hw)
{
  if (self->local_cancellable) g_cancellable_cancel(self->local_cancellable);
  g_clear_object(&self->local_cancellable);
  self->local_cancellable = g_cancellable_new();
  g_autoptr(GPtrArray) paths = g_ptr_array_new();
  for (guint i = 0; i < self->local_checks->len; i++) {
    LocalCheck *c = g_ptr_array_index(self->local_checks, i);
    g_ptr_array_add(paths, c->label ? c->path : NULL);
  }
  LocalFitCall *call = g_new0(LocalFitCall, 1);
  call->self = self;
  call->generation = self->local_generation;
  distill_local_fit_async(paths, hw, self->local_fit_delay_ms, self->local_cancellable, local_fit_done, call);
}

static void on_local_show_clicked(GtkWidget *button, DistillLibraryPage *self);

static void rescan_local(DistillLibraryPage *self)
{
  for (guint i = 0; i < self->local_rows->len; i++)
    adw_preferences_group_remove(self->local_group, g_ptr_array_index(self->local_rows, i));
  g_ptr_array_set_size(self->local_rows, 0);
  g_ptr_array_set_size(self->local_checks, 0);
  self->local_generation++;
  still_hardware hw;
  gboolean hw_known = self->hardware != NULL && distill_hardware_get_effective(self->hardware, &hw);
  GPtrArray *lists[4] = {distill_scan_models_dir(self->catalog, self->models_dir),
                         distill_scan_hf_cache(self->catalog, NULL), distill_scan_ollama(self->catalog, NULL),
                         distill_scan_imported(self->catalog, NULL)};
  const char *sources[] = {N_("Models folder"), N_("Hugging Face cache"), N_("Ollama"), N_("Imported, used in place")};
  for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
    for (guint i = 0; i < lists[l]->len; i++) {
      DistillLocalModel *lm = g_ptr_array_index(lists[l], i);
      GtkWidget *row = adw_action_row_new();
      adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), lm->display_name);
      adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
      g_autofree char *size = g_format_size((guint64)lm->size);
      g_autofree char *sub = NULL;
      if (lm->n_present < lm->n_shards)
        sub = g_strdup_printf(_("%s · %s · incomplete: %u of %u parts"), _(sources[l]), size, lm->n_present,
                              lm->n_shards);
      else
        sub = g_strdup_printf("%s · %s", _(sources[l]), size);
      adw_action_row_set_subtitle(ADW_ACTION_ROW(row), sub);
      gtk_widget_set_tooltip_text(row, lm->path);
      LocalCheck *c = g_new0(LocalCheck, 1);
      c->path = g_strdup(lm->path);
      c->verdict = -1;
      if (hw_known && lm->n_present == lm->n_shards) {
        GtkWidget *label = gtk_label_new(NULL);
        gtk_widget_add_css_class(label, "verdict-pill");
        gtk_widget_set_valign(label, GTK_ALIGN_CENTER);
        distill_library_set_verdict_label(GTK_LABEL(label), NULL, FALSE, FALSE); /* "Checking…" */
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), label);
        c->label = GTK_LABEL(label);
      }
      GtkWidget *show = gtk_button_new_from_icon_name("folder-open-symbolic");
      gtk_widget_set_tooltip_text(show, _("Show in Files"));
      gtk_accessible_update_property(GTK_ACCESSIBLE(show), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Show in Files"), -1);
      gtk_widget_set_valign(show, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class(show, "flat");
      g_object_set_data_full(G_OBJECT(show), "path", g_strdup(lm->path), g_free);
      g_signal_connect(show, "clicked", G_CALLBACK(on_local_show_clicked), self);
      adw_action_row_add_suffix(ADW_ACTION_ROW(row), show);
      g_ptr_array_add(self->local_checks, c);
      adw_preferences_group_add(self->local_group, row);
      g_ptr_array_add(self->local_rows, row);
    }
    g_ptr_array_unref(lists[l]);
  }
  if (hw_known && self->local_checks->len > 0) start_local_fits(self, &hw);
  adw_preferences_group_set_description(self->local_group,
                                        self->local_rows->len > 0
                                          ? _("Models in the models folder, the Hugging Face cache and Ollama’s store, and "
                                              "files you imported: all used where they are.")
                                          : _("No models yet. Import a GGUF file, or drop one here."));
}

const char *distill_library_page_get_local_verdict(DistillLibraryPage *self, guint i)
{
  if (i >= self->local_checks->len) return NULL;
  LocalCheck *c = g_ptr_array_index(self->local_checks, i);
  if (c->verdict == -2) return "unreadable";
  return c->verdict < 0 ? NULL : still_fit_verdict_name((still_fit_verdict)c->verdict);
}

const char *distill_library_page_get_local_path(DistillLibraryPage *self, guint i)
{
  if (i >= self->local_checks->len) return NULL;
  return ((LocalCheck *)g_ptr_array_index(self->local_checks, i))->path;
}

void distill_library_page_set_local_fit_delay(DistillLibraryPage *self, guint ms)
{
  self->local_fit_delay_ms = ms;
}

/* ---- downloads ---- */

static char *format_eta(gint64 s)
{
  if (s < 0) return g_strdup("--:--");
  if (s >= 3600) return g_strdup_printf("%d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
  return g_strdup_printf("%d:%02d", (int)(s / 60), (int)(s % 60));
}

static void update_progress(QuantEntry *q)
{
  g_clear_pointer(&q->progress_text, g_free);
  DistillLibraryPage *self = q->page;
  gint64 done = 0, total = -1;
  double speed = 0;
  gint64 eta = -1;
  if (self->manager == NULL || (q->state != QUANT_DOWNLOADING && q->state != QUANT_PAUSED) ||
      !distill_download_manager_get_item(self->manager, q->item_id, NULL, &done, &total, NULL, NULL)) {
    q->progress_text = g_strdup("");
    return;
  }
  distill_download_manager_get_rate(self->manager, q->item_id, &speed, &eta);
  if (total <= 0) total = q->quant->size;
  g_autofree char *done_s = g_format_size((guint64)done);
  g_autofree char *total_s = g_format_size((guint64)MAX(total, 0));
  g_autofree char *speed_s = g_format_size((guint64)speed);
  g_autofree char *eta_s = format_eta(eta);
  if (q->state == QUANT_PAUSED)
    /* Translators: download progress while paused: bytes done of total */
    q->progress_text = g_strdup_printf(_("Paused · %s of %s"), done_s, total_s);
  else if (done == 0 && speed <= 0)
    q->progress_text = g_strdup(_("Waiting…"));
  else
    /* Translators: download progress: bytes done of total, speed, time left */
    q->progress_text = g_strdup_printf(_("%s of %s · %s/s · %s left"), done_s, total_s, speed_s, eta_s);
  if (total > 0) gtk_progress_bar_set_fraction(q->progress, CLAMP((double)done / (double)total, 0.0, 1.0));
}

static void update_quant_row(QuantEntry *q)
{
  update_progress(q);
  g_autofree char *fit_text = NULL;
  if (q->fit_known) {
    g_autofree char *need = g_format_size(q->fit.total_bytes);
    fit_text = g_strdup_printf(_("needs %s · %s"), need, q->fit.message);
  }
  const char *parts[4] = {q->size_text, NULL, NULL, NULL};
  int n = 1;
  if (q->state == QUANT_DOWNLOADING || q->state == QUANT_PAUSED) parts[n++] = q->progress_text;
  else if (q->error_text) parts[n++] = q->error_text;
  else if (fit_text) parts[n++] = fit_text;
  g_autofree char *subtitle = g_strjoinv("\n", (char **)parts);
  adw_action_row_set_subtitle(q->row, subtitle);
  distill_library_set_verdict_label(q->verdict_label, &q->fit, q->fit_known, !q->fit_from_header);
  gtk_widget_set_visible(q->download_button, q->state == QUANT_AVAILABLE);
  gtk_widget_set_visible(q->keep_button, q->state == QUANT_AVAILABLE && q->page->manager != NULL &&
                                           distill_download_manager_get_verification_failed(q->page->manager, q->item_id));
  gtk_widget_set_visible(q->pause_button, q->state == QUANT_DOWNLOADING);
  gtk_widget_set_visible(q->resume_button, q->state == QUANT_PAUSED);
  gtk_widget_set_visible(q->cancel_button, q->state == QUANT_DOWNLOADING || q->state == QUANT_PAUSED);
  gtk_widget_set_visible(GTK_WIDGET(q->progress), q->state == QUANT_DOWNLOADING || q->state == QUANT_PAUSED);
  gtk_widget_set_visible(q->delete_button, q->state == QUANT_INSTALLED);
  gtk_widget_set_visible(q->open_button, q->state == QUANT_INSTALLED);
}

static void set_state(QuantEntry *q, QuantState state)
{
  q->state = state;
  update_quant_row(q);
  if (q->page->recommended_entry == q) {
    still_hardware hw;
    if (distill_hardware_get_effective(q->page->hardware, &hw)) update_recommended(q->page, &hw);
  }
}

/* The manager's item changed: mirror its state on the row. */
static void sync_from_manager(QuantEntry *q)
{
  DistillLibraryPage *self = q->page;
  DistillItemState st;
  const char *message = NULL;
  if (!distill_download_manager_get_item(self->manager, q->item_id, &st, NULL, NULL, NULL, &message)) {
    /* not (or no longer) in the queue */
    set_state(q, quant_on_disk(self, q->quant, q->item_id) ? QUANT_INSTALLED : QUANT_AVAILABLE);
    return;
  }
  switch (st) {
  case DISTILL_ITEM_QUEUED:
  case DISTILL_ITEM_RUNNING: set_state(q, QUANT_DOWNLOADING); break;
  case DISTILL_ITEM_PAUSED: set_state(q, QUANT_PAUSED); break;
  case DISTILL_ITEM_DONE:
    /* done, unless the file was deleted since */
    if (q->state != QUANT_INSTALLED && quant_on_disk(self, q->quant, q->item_id)) {
      set_state(q, QUANT_INSTALLED);
      rescan_local(self);
    } else if (q->state == QUANT_INSTALLED && !quant_on_disk(self, q->quant, q->item_id)) {
      set_state(q, QUANT_AVAILABLE);
    }
    break;
  case DISTILL_ITEM_FAILED:
    g_free(q->error_text);
    q->error_text = distill_download_manager_get_verification_failed(self->manager, q->item_id)
                      /* Translators: the downloaded bytes do not match the Hub's checksum */
                      ? g_strdup_printf(_("Failed verification: %s"), message ? message : "")
                      : g_strdup_printf(_("Download failed: %s"), message ? message : "");
    g_debug("%s: %s", q->item_id, q->error_text);
    set_state(q, QUANT_AVAILABLE);
    break;
  }
}

static void on_manager_changed(DistillLibraryPage *self, const char *id)
{
  for (guint i = 0; self->models && i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    for (guint j = 0; j < m->quants->len; j++) {
      QuantEntry *q = g_ptr_array_index(m->quants, j);
      if (g_strcmp0(q->item_id, id) == 0) sync_from_manager(q);
    }
  }
}

static void start_download(QuantEntry *q)
{
  if (q->state != QUANT_AVAILABLE || q->page->manager == NULL) return;
  g_clear_pointer(&q->error_text, g_free);
  g_autofree char *label = g_strdup_printf("%s %s", q->model->name, q->quant->name);
  distill_download_manager_add(q->page->manager, q->model->repo, (const char *const *)q->quant->files, label);
  sync_from_manager(q);
}

static void on_metered_response(AdwMessageDialog *dialog, const char *response, QuantEntry *q)
{
  DistillLibraryPage *self = q->page;
  if (self->dialog == dialog) self->dialog = NULL;
  if (g_strcmp0(response, "download") == 0) start_download(q);
}

static gboolean connection_metered(DistillLibraryPage *self)
{
  if (self->metered_override >= 0) return self->metered_override > 0;
  return g_network_monitor_get_network_metered(g_network_monitor_get_default());
}

static void on_download_clicked(QuantEntry *q)
{
  DistillLibraryPage *self = q->page;
  if (q->state != QUANT_AVAILABLE || self->manager == NULL) return;
  /* a big download on a metered connection (a phone hotspot …) may cost money: ask first */
  if (!connection_metered(self) || (q->quant->size > 0 && q->quant->size < METERED_ASK_BYTES)) {
    start_download(q);
    return;
  }
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  g_autofree char *body = NULL;
  if (q->quant->size > 0) {
    g_autofree char *size = g_format_size((guint64)q->quant->size);
    /* Translators: %1$s is a model's name, %2$s its quantization ("Q4_K_M"), %3$s the download size
     * ("4.7 GB") */
    body = g_strdup_printf(_("The download of %1$s (%2$s) is %3$s. Your connection is metered; downloading it "
                             "may cost money or use up a data plan."),
                           q->model->name, q->quant->name, size);
  } else {
    /* Translators: %1$s is a model's name, %2$s its quantization ("Q4_K_M"); its size is not known */
    body = g_strdup_printf(_("The download of %1$s (%2$s) is several gigabytes. Your connection is metered; "
                             "downloading it may cost money or use up a data plan."),
                           q->model->name, q->quant->name);
  }
  GtkWidget *dialog =
    adw_message_dialog_new(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, _("Download on a Metered Connection?"), body);
  adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "download", _("_Download"),
                                   NULL);
  adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "download", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  g_signal_connect(dialog, "response", G_CALLBACK(on_metered_response), q);
  self->dialog = ADW_MESSAGE_DIALOG(dialog);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void on_pause_clicked(QuantEntry *q)
{
  if (q->state != QUANT_DOWNLOADING || q->page->manager == NULL) return;
  distill_download_manager_pause(q->page->manager, q->item_id);
}

static void on_resume_clicked(QuantEntry *q)
{
  if (q->state != QUANT_PAUSED || q->page->manager == NULL) return;
  distill_download_manager_resume(q->page->manager, q->item_id);
}

/* Cancel means "I do not want it": the partial data goes too (pause keeps it). */
static void on_cancel_clicked(QuantEntry *q)
{
  if (q->page->manager == NULL) return;
  distill_download_manager_cancel(q->page->manager, q->item_id);
  sync_from_manager(q);
}

static void delete_files(QuantEntry *q)
{
  for (guint i = 0; q->quant->files[i] != NULL; i++) {
    g_autofree char *path = quant_file_path(q->page, q->item_id, q->quant->files[i]);
    g_unlink(path);
    if (strchr(q->quant->files[i], '/') != NULL) { /* split models live in their own folder: remove it once empty */
      g_autofree char *dir = g_path_get_dirname(path);
      g_rmdir(dir);
    }
  }
  set_state(q, QUANT_AVAILABLE);
  rescan_local(q->page);
}

static void on_delete_response(AdwMessageDialog *dialog, const char *response, QuantEntry *q)
{
  DistillLibraryPage *self = q->page;
  if (self->dialog == dialog) self->dialog = NULL;
  if (g_strcmp0(response, "delete") == 0) delete_files(q);
}

static void on_delete_clicked(QuantEntry *q)
{
  DistillLibraryPage *self = q->page;
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  /* Translators: %1$s is a model ("DeepSeek-R1-Distill-Qwen-7B"), %2$s its file's quantization ("Q4_K_M") */
  g_autofree char *heading = g_strdup_printf(_("Delete the %2$s file of %1$s?"), q->model->name, q->quant->name);
  g_autofree char *size = g_format_size((guint64)q->quant->size);
  g_autofree char *body =
    g_strdup_printf(_("The file will be removed from this computer, freeing about %s. You can download it again."),
                    size);
  GtkWidget *dialog = adw_message_dialog_new(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, heading, body);
  adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(dialog), "cancel", _("_Cancel"), "delete", _("_Delete"), NULL);
  adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(dialog), "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(dialog), "cancel");
  g_signal_connect(dialog, "response", G_CALLBACK(on_delete_response), q);
  self->dialog = ADW_MESSAGE_DIALOG(dialog);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void file_shown(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src, (void)user_data;
  g_autoptr(GError) error = NULL;
  if (distill_show_file_finish(res, &error) == DISTILL_SHOW_FILE_FAILED &&
      !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_message("could not show the file: %s", error->message);
}

/* The file manager with the file selected (FileManager1.ShowItems), else its folder. */
static void show_in_files(DistillLibraryPage *self, const char *path)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  distill_show_file_async(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, path, self->cancellable, file_shown, NULL);
}

static void on_open_clicked(QuantEntry *q)
{
  g_autofree char *path = quant_file_path(q->page, q->item_id, q->quant->files[0]);
  show_in_files(q->page, path);
}

static void on_local_show_clicked(GtkWidget *button, DistillLibraryPage *self)
{
  const char *path = g_object_get_data(G_OBJECT(button), "path");
  if (path) show_in_files(self, path);
}

static void on_keep_clicked(QuantEntry *q)
{
  DistillLibraryPage *self = q->page;
  if (self->manager == NULL) return;
  g_autoptr(GError) error = NULL;
  if (!distill_download_manager_keep_unverified(self->manager, q->item_id, &error)) {
    g_free(q->error_text);
    q->error_text = g_strdup(error->message);
  } else {
    g_clear_pointer(&q->error_text, g_free);
  }
  sync_from_manager(q);
}

static void on_recommended_clicked(DistillLibraryPage *self)
{
  if (self->recommended_entry != NULL) on_download_clicked(self->recommended_entry);
}

/* ---- import (used in place: nothing is copied) ---- */

gboolean distill_library_page_import_file(DistillLibraryPage *self, const char *path, GError **error)
{
  if (!distill_imported_add(NULL, path, error)) return FALSE;
  rescan_local(self);
  return TRUE;
}

static void show_import_error(DistillLibraryPage *self, const char *message)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  GtkWidget *dialog = adw_message_dialog_new(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                             _("Could Not Import"), message);
  adw_message_dialog_add_response(ADW_MESSAGE_DIALOG(dialog), "close", _("_Close"));
  gtk_window_present(GTK_WINDOW(dialog));
}

static void on_import_response(GtkNativeDialog *chooser, int response, DistillLibraryPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GListModel) files = gtk_file_chooser_get_files(GTK_FILE_CHOOSER(chooser));
    for (guint i = 0; i < g_list_model_get_n_items(files); i++) {
      g_autoptr(GFile) f = g_list_model_get_item(files, i);
      g_autofree char *path = g_file_get_path(f);
      g_autoptr(GError) error = NULL;
      if (path && !distill_library_page_import_file(self, path, &error)) show_import_error(self, error->message);
    }
  }
  gtk_native_dialog_destroy(chooser);
  g_object_unref(chooser);
  g_object_unref(self);
}

static void on_import_clicked(DistillLibraryPage *self)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  GtkFileChooserNative *chooser =
    gtk_file_chooser_native_new(_("Import a Model"), GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL,
                                GTK_FILE_CHOOSER_ACTION_OPEN, _("_Import"), _("_Cancel"));
  gtk_file_chooser_set_select_multiple(GTK_FILE_CHOOSER(chooser), TRUE);
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, _("GGUF models"));
  gtk_file_filter_add_pattern(filter, "*.gguf");
  gtk_file_filter_add_pattern(filter, "*.GGUF");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(chooser), filter);
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(chooser), TRUE);
  g_signal_connect(chooser, "response", G_CALLBACK(on_import_response), g_object_ref(self));
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(chooser));
}

static gboolean on_drop(GtkDropTarget *target, const GValue *value, double x, double y, DistillLibraryPage *self)
{
  (void)target, (void)x, (void)y;
  if (!G_VALUE_HOLDS(value, GDK_TYPE_FILE_LIST)) return FALSE;
  gboolean any = FALSE;
  for (GSList *l = g_value_get_boxed(value); l != NULL; l = l->next) {
    g_autofree char *path = g_file_get_path(l->data);
    if (path == NULL || !(g_str_has_suffix(path, ".gguf") || g_str_has_suffix(path, ".GGUF"))) continue;
    g_autoptr(GError) error = NULL;
    if (distill_library_page_import_file(self, path, &error)) any = TRUE;
    else show_import_error(self, error->message);
  }
  return any;
}

/* ---- building the rows ---- */

static GtkWidget *icon_button(const char *icon, const char *tooltip, GCallback cb, QuantEntry *q)
{
  GtkWidget *b = gtk_button_new_from_icon_name(icon);
  gtk_widget_set_tooltip_text(b, tooltip);
  gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class(b, "flat");
  gtk_accessible_update_property(GTK_ACCESSIBLE(b), GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip, -1);
  g_signal_connect_swapped(b, "clicked", cb, q);
  return b;
}

static QuantEntry *build_quant_row(DistillLibraryPage *self, ModelEntry *m, DistillCatalogQuant *cq)
{
  QuantEntry *q = g_new0(QuantEntry, 1);
  q->page = self;
  q->model_entry = m;
  q->model = m->model;
  q->quant = cq;
  q->row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(q->row), cq->name);
  adw_action_row_set_subtitle_lines(q->row, 3);
  guint n_files = g_strv_length(cq->files);
  g_autofree char *size = cq->size > 0 ? g_format_size((guint64)cq->size) : g_strdup(_("size not published"));
  q->size_text = n_files > 1 ? g_strdup_printf(_("%s in %u parts"), size, n_files) : g_strdup(size);

  q->verdict_label = GTK_LABEL(gtk_label_new(NULL));
  gtk_widget_add_css_class(GTK_WIDGET(q->verdict_label), "verdict-pill");
  gtk_widget_set_valign(GTK_WIDGET(q->verdict_label), GTK_ALIGN_CENTER);
  adw_action_row_add_suffix(q->row, GTK_WIDGET(q->verdict_label));

  q->progress = GTK_PROGRESS_BAR(gtk_progress_bar_new());
  gtk_widget_set_valign(GTK_WIDGET(q->progress), GTK_ALIGN_CENTER);
  gtk_widget_set_size_request(GTK_WIDGET(q->progress), 80, -1);
  adw_action_row_add_suffix(q->row, GTK_WIDGET(q->progress));

  q->download_button = gtk_button_new_with_label(_("Download"));
  gtk_widget_set_valign(q->download_button, GTK_ALIGN_CENTER);
  g_signal_connect_swapped(q->download_button, "clicked", G_CALLBACK(on_download_clicked), q);
  adw_action_row_add_suffix(q->row, q->download_button);
  q->keep_button = gtk_button_new_with_label(_("Keep Anyway"));
  gtk_widget_set_valign(q->keep_button, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text(q->keep_button, _("Use the downloaded file although it does not match the file on "
                                                 "Hugging Face"));
  g_signal_connect_swapped(q->keep_button, "clicked", G_CALLBACK(on_keep_clicked), q);
  adw_action_row_add_suffix(q->row, q->keep_button);
  q->pause_button = icon_button("media-playback-pause-symbolic", _("Pause"), G_CALLBACK(on_pause_clicked), q);
  q->resume_button = icon_button("media-playback-start-symbolic", _("Resume"), G_CALLBACK(on_resume_clicked), q);
  q->cancel_button = icon_button("process-stop-symbolic", _("Cancel Download"), G_CALLBACK(on_cancel_clicked), q);
  q->open_button = icon_button("folder-open-symbolic", _("Show in Files"), G_CALLBACK(on_open_clicked), q);
  q->delete_button = icon_button("user-trash-symbolic", _("Delete"), G_CALLBACK(on_delete_clicked), q);
  adw_action_row_add_suffix(q->row, q->pause_button);
  adw_action_row_add_suffix(q->row, q->resume_button);
  adw_action_row_add_suffix(q->row, q->cancel_button);
  adw_action_row_add_suffix(q->row, q->open_button);
  adw_action_row_add_suffix(q->row, q->delete_button);

  q->item_id = g_strdup_printf("%s/%s", m->model->repo, cq->files[0]);
  q->state = quant_on_disk(self, cq, q->item_id) ? QUANT_INSTALLED : QUANT_AVAILABLE;
  update_quant_row(q);
  return q;
}

static char *details_text(DistillCatalogModel *m)
{
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, _("%s · %s parameters · License: %s (upstream: %s, from %s)"), m->repo,
                         m->params ? m->params : "?",
                         m->license ? m->license : "?", m->upstream_license ? m->upstream_license : "?",
                         m->base_model ? m->base_model : "?");
  if (m->scores.known)
    /* Translators: published benchmark scores */
    g_string_append_printf(s, _("\nPublished scores: AIME 2024 %.1f · MATH-500 %.1f · GPQA Diamond %.1f · "
                                "LiveCodeBench %.1f · CodeForces %d"),
                           m->scores.aime2024, m->scores.math500, m->scores.gpqa_diamond, m->scores.livecodebench,
                           m->scores.codeforces);
  else
    g_string_append(s, _("\nNo published distill scores."));
  if (m->unconfirmed) g_string_append(s, _(" File names not yet confirmed on the Hub."));
  return g_string_free(s, FALSE);
}

static void build_rows(DistillLibraryPage *self)
{
  for (guint i = 0; i < distill_catalog_get_n_models(self->catalog); i++) {
    DistillCatalogModel *cm = distill_catalog_get_model(self->catalog, i);
    ModelEntry *m = g_new0(ModelEntry, 1);
    m->model = cm;
    m->quants = g_ptr_array_new_with_free_func((GDestroyNotify)quant_entry_free);
    m->row = ADW_EXPANDER_ROW(adw_expander_row_new());
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(m->row), cm->name);
    g_autofree char *sub = g_strdup_printf(_("%s parameters"), cm->params ? cm->params : "?");
    adw_expander_row_set_subtitle(m->row, sub);
    /* a star before the title marks the recommended model (the subtitle says it in words) */
    m->recommended_label = gtk_image_new_from_icon_name("starred-symbolic");
    gtk_widget_add_css_class(m->recommended_label, "accent");
    gtk_widget_set_visible(m->recommended_label, FALSE);
    adw_expander_row_add_prefix(m->row, m->recommended_label);
    m->verdict_label = GTK_LABEL(gtk_label_new(NULL));
    gtk_widget_add_css_class(GTK_WIDGET(m->verdict_label), "verdict-pill");
    gtk_widget_set_valign(GTK_WIDGET(m->verdict_label), GTK_ALIGN_CENTER);
    adw_expander_row_add_action(m->row, GTK_WIDGET(m->verdict_label));

    GtkWidget *details = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(details), _("About"));
    g_autofree char *text = details_text(cm);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(details), text);
    adw_expander_row_add_row(m->row, details);
    for (guint j = 0; j < cm->quants->len; j++) {
      QuantEntry *q = build_quant_row(self, m, g_ptr_array_index(cm->quants, j));
      g_ptr_array_add(m->quants, q);
      adw_expander_row_add_row(m->row, GTK_WIDGET(q->row));
    }
    g_signal_connect(m->row, "notify::expanded", G_CALLBACK(on_model_expanded), m);
    update_model_verdict(m);
    adw_preferences_group_add(self->models_group, GTK_WIDGET(m->row));
    g_ptr_array_add(self->models, m);
  }
}

/* ---- sizes from the Hub (the catalog's are hints: files get re-uploaded) ---- */

static void tree_listed(GObject *src, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = distill_hub_list_files_finish(DISTILL_HUB(src), res, &error);
  if (entries == NULL) {
    if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) /* else the page is gone */
      g_debug("sizes not refreshed: %s", error->message); /* offline: the hints stay */
    return;
  }
  ModelEntry *m = user_data;
  DistillLibraryPage *self = m->quants->len > 0 ? ((QuantEntry *)g_ptr_array_index(m->quants, 0))->page : NULL;
  if (self == NULL) return;
  /* the catalog entries in memory take the Hub's sizes and sha256 (downloads verify against
   * the Hub's sha256 as well: X-Linked-Etag, else this same tree listing) */
  distill_catalog_apply_tree(self->catalog, m->model->repo, entries);
  for (guint j = 0; j < m->quants->len; j++) {
    QuantEntry *q = g_ptr_array_index(m->quants, j);
    if (!q->quant->from_hub) continue;
    guint n_files = g_strv_length(q->quant->files);
    g_autofree char *size_s = g_format_size((guint64)q->quant->size);
    g_free(q->size_text);
    q->size_text = n_files > 1 ? g_strdup_printf(_("%s in %u parts"), size_s, n_files) : g_strdup(size_s);
    update_quant_row(q);
  }
}

static void refresh_sizes(DistillLibraryPage *self)
{
  for (guint i = 0; i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    distill_hub_list_files_async(self->hub, m->model->repo, "main", self->cancellable, tree_listed, m);
  }
}

const char *distill_library_page_get_sha256(DistillLibraryPage *self, const char *model_id, const char *quant)
{
  QuantEntry *q = find_quant(self, model_id, quant);
  return q ? q->quant->sha256 : NULL;
}

const char *distill_library_page_get_size_text(DistillLibraryPage *self, const char *model_id, const char *quant)
{
  QuantEntry *q = find_quant(self, model_id, quant);
  return q ? q->size_text : NULL;
}

/* ---- services ---- */

DistillHardware *distill_library_page_get_hardware(DistillLibraryPage *self)
{
  return self->hardware;
}

void distill_library_page_set_services(DistillLibraryPage *self, DistillHardware *hardware, DistillHub *hub,
                                       const char *models_dir)
{
  g_return_if_fail(DISTILL_IS_LIBRARY_PAGE(self));
  if (self->hardware) g_signal_handlers_disconnect_by_data(self->hardware, self);
  g_set_object(&self->hardware, hardware);
  g_set_object(&self->hub, hub);
  g_free(self->models_dir);
  self->models_dir = g_strdup(models_dir ? models_dir : distill_hardware_get_models_dir(hardware));
  g_signal_connect_swapped(self->hardware, "changed", G_CALLBACK(refresh_verdicts), self);
  /* the queue, with the downloads paused or queued in an earlier session */
  if (self->manager) g_signal_handlers_disconnect_by_data(self->manager, self);
  g_clear_object(&self->manager);
  self->manager = distill_download_manager_new(hub, self->models_dir, NULL);
  g_signal_connect_swapped(self->manager, "changed", G_CALLBACK(on_manager_changed), self);
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  if (GTK_IS_WINDOW(root) && gtk_window_get_application(GTK_WINDOW(root)))
    distill_download_manager_set_application(self->manager, G_APPLICATION(gtk_window_get_application(GTK_WINDOW(root))));
  for (guint i = 0; i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    for (guint j = 0; j < m->quants->len; j++) sync_from_manager(g_ptr_array_index(m->quants, j));
  }
  distill_hub_search_set_services(self->search, hub, hardware, self->manager, self->models_dir);
  refresh_verdicts(self);
  rescan_local(self);
  refresh_sizes(self);
}

void distill_library_page_set_models_dir(DistillLibraryPage *self, const char *models_dir)
{
  g_return_if_fail(DISTILL_IS_LIBRARY_PAGE(self) && models_dir != NULL);
  if (g_strcmp0(models_dir, self->models_dir) == 0) return;
  g_free(self->models_dir);
  self->models_dir = g_strdup(models_dir);
  if (self->manager) distill_download_manager_set_models_dir(self->manager, models_dir);
  distill_hub_search_set_models_dir(self->search, models_dir);
  /* installed or not, in the new folder */
  for (guint i = 0; self->manager && i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    for (guint j = 0; j < m->quants->len; j++) sync_from_manager(g_ptr_array_index(m->quants, j));
  }
  rescan_local(self);
}

static void on_models_folder_changed(DistillLibraryPage *self)
{
  if (self->manager == NULL) return; /* not set up yet: set_services reads the folder */
  g_autofree char *folder = g_settings_get_string(self->settings, "models-folder");
  g_autofree char *dir = *folder ? g_steal_pointer(&folder) : distill_download_default_directory();
  distill_library_page_set_models_dir(self, dir);
}

const char *distill_library_page_get_models_dir(DistillLibraryPage *self)
{
  return self->models_dir;
}

DistillDownloadManager *distill_library_page_get_manager(DistillLibraryPage *self)
{
  return self->manager;
}

DistillHubSearch *distill_library_page_get_search(DistillLibraryPage *self)
{
  return self->search;
}

/* Default services, made when the page is first shown (tests set their own before). */
static void distill_library_page_map(GtkWidget *widget)
{
  DistillLibraryPage *self = DISTILL_LIBRARY_PAGE(widget);
  GTK_WIDGET_CLASS(distill_library_page_parent_class)->map(widget);
  if (self->hardware == NULL) {
    /* the app's one instance (probed at start-up), shared with the preferences and the chat */
    g_autoptr(DistillHub) hub = distill_hub_new();
    distill_library_page_set_services(self, distill_hardware_get_default(), hub, NULL);
  }
}

static void distill_library_page_dispose(GObject *object)
{
  DistillLibraryPage *self = DISTILL_LIBRARY_PAGE(object);
  if (self->cancellable) g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
  g_queue_clear(&self->header_queue);
  if (self->hardware) g_signal_handlers_disconnect_by_data(self->hardware, self);
  g_clear_object(&self->hardware);
  if (self->manager) g_signal_handlers_disconnect_by_data(self->manager, self);
  g_clear_object(&self->manager);
  g_clear_object(&self->hub);
  if (self->settings) g_signal_handlers_disconnect_by_data(self->settings, self);
  g_clear_object(&self->settings);
  g_clear_pointer(&self->models, g_ptr_array_unref);
  g_clear_pointer(&self->local_rows, g_ptr_array_unref);
  if (self->local_cancellable) g_cancellable_cancel(self->local_cancellable);
  g_clear_object(&self->local_cancellable);
  if (self->dialog) {
    g_signal_handlers_disconnect_matched(self->dialog, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_delete_response, NULL);
    g_signal_handlers_disconnect_matched(self->dialog, G_SIGNAL_MATCH_FUNC, 0, 0, NULL, on_metered_response, NULL);
    gtk_window_destroy(GTK_WINDOW(self->dialog));
    self->dialog = NULL;
  }
  G_OBJECT_CLASS(distill_library_page_parent_class)->dispose(object);
}

static void distill_library_page_finalize(GObject *object)
{
  DistillLibraryPage *self = DISTILL_LIBRARY_PAGE(object);
  g_clear_pointer(&self->local_checks, g_ptr_array_unref);
  g_clear_pointer(&self->catalog, distill_catalog_unref);
  g_free(self->models_dir);
  g_free(self->recommended);
  G_OBJECT_CLASS(distill_library_page_parent_class)->finalize(object);
}

static void distill_library_page_class_init(DistillLibraryPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->dispose = distill_library_page_dispose;
  object_class->finalize = distill_library_page_finalize;
  widget_class->map = distill_library_page_map;

  /* AdwBin owns and disposes its child, the template's root. */
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-library-page.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillLibraryPage, content);
  gtk_widget_class_bind_template_child(widget_class, DistillLibraryPage, recommended_group);
  gtk_widget_class_bind_template_child(widget_class, DistillLibraryPage, recommended_row);
  gtk_widget_class_bind_template_child(widget_class, DistillLibraryPage, recommended_button);
  gtk_widget_class_bind_template_child(widget_class, DistillLibraryPage, models_group);
  gtk_widget_class_bind_template_child(widget_class, DistillLibraryPage, local_group);
}

static void distill_library_page_init(DistillLibraryPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->cancellable = g_cancellable_new();
  self->metered_override = -1;
  self->models = g_ptr_array_new_with_free_func((GDestroyNotify)model_entry_free);
  self->local_rows = g_ptr_array_new();
  self->local_checks = g_ptr_array_new_with_free_func((GDestroyNotify)local_check_free);
  g_queue_init(&self->header_queue);
  g_autoptr(GError) error = NULL;
  self->catalog = distill_catalog_new_builtin(&error);
  if (self->catalog == NULL) {
    /* the resource is built in: this is a packaging bug */
    g_critical("The model catalog could not be read: %s", error->message);
    return;
  }
  g_signal_connect_swapped(self->recommended_button, "clicked", G_CALLBACK(on_recommended_clicked), self);
  /* "Search Hugging Face", below the curated models */
  self->search = DISTILL_HUB_SEARCH(distill_hub_search_new());
  gtk_box_insert_child_after(self->content, GTK_WIDGET(self->search), GTK_WIDGET(self->models_group));
  self->settings = g_settings_new(APP_ID);
  g_signal_connect_swapped(self->settings, "changed::models-folder", G_CALLBACK(on_models_folder_changed), self);
  /* Import… and drag and drop of .gguf files */
  GtkWidget *import = gtk_button_new_with_mnemonic(_("_Import…"));
  gtk_widget_set_valign(import, GTK_ALIGN_CENTER);
  g_signal_connect_swapped(import, "clicked", G_CALLBACK(on_import_clicked), self);
  adw_preferences_group_set_header_suffix(self->local_group, import);
  GtkDropTarget *drop = gtk_drop_target_new(GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect(drop, "drop", G_CALLBACK(on_drop), self);
  gtk_widget_add_controller(GTK_WIDGET(self), GTK_EVENT_CONTROLLER(drop));
  build_rows(self);
}

/* ---- state accessors ---- */

const char *distill_library_page_get_quant_state(DistillLibraryPage *self, const char *model_id, const char *quant)
{
  QuantEntry *q = find_quant(self, model_id, quant);
  return q ? state_names[q->state] : NULL;
}

char *distill_library_page_get_verdict(DistillLibraryPage *self, const char *model_id, const char *quant)
{
  QuantEntry *q = find_quant(self, model_id, quant);
  if (q == NULL || !q->fit_known) return NULL;
  return g_strdup_printf("%s%s", still_fit_verdict_name(q->fit.verdict), q->fit_from_header ? "" : " (estimate)");
}

GtkWidget *distill_library_page_get_quant_button(DistillLibraryPage *self, const char *model_id, const char *quant,
                                                 const char *which)
{
  QuantEntry *q = find_quant(self, model_id, quant);
  if (q == NULL) return NULL;
  if (g_strcmp0(which, "download") == 0) return q->download_button;
  if (g_strcmp0(which, "pause") == 0) return q->pause_button;
  if (g_strcmp0(which, "resume") == 0) return q->resume_button;
  if (g_strcmp0(which, "cancel") == 0) return q->cancel_button;
  if (g_strcmp0(which, "delete") == 0) return q->delete_button;
  if (g_strcmp0(which, "open") == 0) return q->open_button;
  if (g_strcmp0(which, "keep") == 0) return q->keep_button;
  return NULL;
}

const char *distill_library_page_get_recommended(DistillLibraryPage *self)
{
  return self->recommended;
}

GtkWidget *distill_library_page_get_recommended_button(DistillLibraryPage *self)
{
  return GTK_WIDGET(self->recommended_button);
}

gboolean distill_library_page_is_highlighted(DistillLibraryPage *self, const char *model_id)
{
  for (guint i = 0; i < self->models->len; i++) {
    ModelEntry *m = g_ptr_array_index(self->models, i);
    if (g_strcmp0(m->model->id, model_id) == 0)
      return gtk_widget_has_css_class(GTK_WIDGET(m->row), "recommended-row") &&
             gtk_widget_get_visible(m->recommended_label);
  }
  return FALSE;
}

AdwMessageDialog *distill_library_page_get_dialog(DistillLibraryPage *self)
{
  return self->dialog;
}

guint distill_library_page_get_n_local(DistillLibraryPage *self)
{
  return self->local_rows->len;
}

const char *distill_library_page_get_progress_text(DistillLibraryPage *self, const char *model_id, const char *quant)
{
  QuantEntry *q = find_quant(self, model_id, quant);
  return q && q->progress_text ? q->progress_text : "";
}

void distill_library_page_set_metered_override(DistillLibraryPage *self, int metered)
{
  self->metered_override = metered < 0 ? -1 : metered > 0;
}
