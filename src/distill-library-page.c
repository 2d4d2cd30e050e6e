/* distill-library-page.c — the Library view of the main window.
 *
 * One expander row per catalog model (verdict of its recommended quant in the title row), one
 * action row per quantization inside it (size, verdict, Download / progress / Pause / Resume /
 * Cancel / Delete / Open folder), a details row (license, parameters, published scores), a
 * "Recommended" row on top from still_recommend(), and the models found on disk.
 *
 * Verdicts: first an estimate from the model's known shape (engine fit-shapes: a synthetic
 * header of the real tensor table), replaced by the one from the file's own header once it was
 * fetched (Range requests, cached on disk; fetched when a model is expanded). */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdlib.h>

#include "distill-catalog.h"
#include "distill-download-manager.h"
#include "distill-download.h"
#include "distill-library-page.h"
#include "distill-remote-fit.h"
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
  char *recommended;       /* "qwen-7b/Q4_K_M" */
  QuantEntry *recommended_entry;
  AdwMessageDialog *dialog;
  GQueue header_queue;     /* QuantEntry waiting for a header fetch */
  gboolean header_busy;
  GCancellable *cancellable;
  int metered_override; /* -1: ask GNetworkMonitor */
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

static char *dest_path(DistillLibraryPage *self, const char *file)
{
  return g_build_filename(self->models_dir, file, NULL);
}

static gboolean quant_on_disk(DistillLibraryPage *self, DistillCatalogQuant *q)
{
  for (guint i = 0; q->files[i] != NULL; i++) {
    g_autofree char *path = dest_path(self, q->files[i]);
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

static void set_verdict_label(GtkLabel *label, const still_fit *fit, gboolean known, gboolean estimate)
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
  if (best != NULL) set_verdict_label(m->verdict_label, &best->fit, best->fit_known, !best->fit_from_header);
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

/* ---- local models ---- */

static void rescan_local(DistillLibraryPage *self)
{
  for (guint i = 0; i < self->local_rows->len; i++)
    adw_preferences_group_remove(self->local_group, g_ptr_array_index(self->local_rows, i));
  g_ptr_array_set_size(self->local_rows, 0);
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
      if (hw_known && lm->n_present == lm->n_shards) {
        still_fit fit;
        still_error err = {0};
        still_fit_params p = still_fit_params_default();
        GtkWidget *label = gtk_label_new(NULL);
        gtk_widget_add_css_class(label, "verdict-pill");
        gtk_widget_set_valign(label, GTK_ALIGN_CENTER);
        if (still_fit_estimate_file(lm->path, &hw, &p, &fit, &err) == STILL_OK)
          set_verdict_label(GTK_LABEL(label), &fit, TRUE, FALSE);
        else
          gtk_label_set_text(GTK_LABEL(label), _("Unreadable"));
        adw_action_row_add_suffix(ADW_ACTION_ROW(row), label);
      }
      adw_preferences_group_add(self->local_group, row);
      g_ptr_array_add(self->local_rows, row);
    }
    g_ptr_array_unref(lists[l]);
  }
  adw_preferences_group_set_description(self->local_group,
                                        self->local_rows->len > 0
                                          ? _("Models in the models folder, the Hugging Face cache and Ollama’s store, and "
                                              "files you imported: all used where they are.")
                                          : _("No models yet. Import a GGUF file, or drop one here."));
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
  set_verdict_label(q->verdict_label, &q->fit, q->fit_known, !q->fit_from_header);
  gtk_widget_set_visible(q->download_button, q->state == QUANT_AVAILABLE);
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
    set_state(q, quant_on_disk(self, q->quant) ? QUANT_INSTALLED : QUANT_AVAILABLE);
    return;
  }
  switch (st) {
  case DISTILL_ITEM_QUEUED:
  case DISTILL_ITEM_RUNNING: set_state(q, QUANT_DOWNLOADING); break;
  case DISTILL_ITEM_PAUSED: set_state(q, QUANT_PAUSED); break;
  case DISTILL_ITEM_DONE:
    if (q->state != QUANT_INSTALLED) {
      set_state(q, QUANT_INSTALLED);
      rescan_local(self);
    }
    break;
  case DISTILL_ITEM_FAILED:
    g_free(q->error_text);
    q->error_text = g_strdup_printf(_("Download failed: %s"), message ? message : "");
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
  g_autofree char *size = q->quant->size > 0 ? g_format_size((guint64)q->quant->size) : g_strdup(_("several gigabytes"));
  g_autofree char *body = g_strdup_printf(_("%s %s is %s. Your connection is metered; downloading it may cost "
                                            "money or use up a data plan."),
                                          q->model->name, q->quant->name, size);
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
    g_autofree char *path = dest_path(q->page, q->quant->files[i]);
    g_unlink(path);
    if (q->quant->files[1] != NULL) { /* split models live in their own folder: remove it once empty */
      g_autofree char *dir = g_path_get_dirname(path);
      if (g_strcmp0(dir, q->page->models_dir) != 0) g_rmdir(dir);
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
  g_autofree char *heading = g_strdup_printf(_("Delete %s %s?"), q->model->name, q->quant->name);
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

static void on_open_clicked(QuantEntry *q)
{
  g_autofree char *path = dest_path(q->page, q->quant->files[0]);
  g_autofree char *dir = g_path_get_dirname(path);
  g_autoptr(GFile) file = g_file_new_for_path(dir);
  g_autofree char *uri = g_file_get_uri(file);
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(q->page));
  gtk_show_uri(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, uri, GDK_CURRENT_TIME);
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
  q->pause_button = icon_button("media-playback-pause-symbolic", _("Pause"), G_CALLBACK(on_pause_clicked), q);
  q->resume_button = icon_button("media-playback-start-symbolic", _("Resume"), G_CALLBACK(on_resume_clicked), q);
  q->cancel_button = icon_button("process-stop-symbolic", _("Cancel Download"), G_CALLBACK(on_cancel_clicked), q);
  q->open_button = icon_button("folder-open-symbolic", _("Open Folder"), G_CALLBACK(on_open_clicked), q);
  q->delete_button = icon_button("user-trash-symbolic", _("Delete"), G_CALLBACK(on_delete_clicked), q);
  adw_action_row_add_suffix(q->row, q->pause_button);
  adw_action_row_add_suffix(q->row, q->resume_button);
  adw_action_row_add_suffix(q->row, q->cancel_button);
  adw_action_row_add_suffix(q->row, q->open_button);
  adw_action_row_add_suffix(q->row, q->delete_button);

  q->item_id = g_strdup_printf("%s/%s", m->model->repo, cq->files[0]);
  q->state = quant_on_disk(self, cq) ? QUANT_INSTALLED : QUANT_AVAILABLE;
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
  for (guint j = 0; j < m->quants->len; j++) {
    QuantEntry *q = g_ptr_array_index(m->quants, j);
    gint64 total = 0;
    gboolean all = TRUE;
    for (guint k = 0; q->quant->files[k] != NULL; k++) {
      gint64 size = -1;
      for (guint e = 0; e < entries->len; e++) {
        DistillHubEntry *entry = g_ptr_array_index(entries, e);
        if (!entry->is_dir && g_strcmp0(entry->path, q->quant->files[k]) == 0) size = entry->size;
      }
      if (size < 0) all = FALSE;
      else total += size;
    }
    if (!all) continue;
    q->quant->size = total;
    guint n_files = g_strv_length(q->quant->files);
    g_autofree char *size_s = g_format_size((guint64)total);
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

const char *distill_library_page_get_size_text(DistillLibraryPage *self, const char *model_id, const char *quant)
{
  QuantEntry *q = find_quant(self, model_id, quant);
  return q ? q->size_text : NULL;
}

/* ---- services ---- */

static void probe_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)user_data;
  g_autoptr(GError) error = NULL;
  if (!distill_hardware_probe_finish(DISTILL_HARDWARE(src), res, &error))
    g_message("hardware probe: %s", error->message);
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
  refresh_verdicts(self);
  rescan_local(self);
  refresh_sizes(self);
}

/* Default services, made when the page is first shown (tests set their own before). */
static void distill_library_page_map(GtkWidget *widget)
{
  DistillLibraryPage *self = DISTILL_LIBRARY_PAGE(widget);
  GTK_WIDGET_CLASS(distill_library_page_parent_class)->map(widget);
  if (self->hardware == NULL) {
    g_autoptr(DistillHardware) hw = distill_hardware_new(NULL, NULL);
    g_autoptr(DistillHub) hub = distill_hub_new();
    distill_library_page_set_services(self, hw, hub, NULL);
    distill_hardware_probe_async(hw, NULL, probe_done, NULL);
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
  g_clear_pointer(&self->models, g_ptr_array_unref);
  g_clear_pointer(&self->local_rows, g_ptr_array_unref);
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
  g_queue_init(&self->header_queue);
  g_autoptr(GError) error = NULL;
  self->catalog = distill_catalog_new_builtin(&error);
  if (self->catalog == NULL) {
    /* the resource is built in: this is a packaging bug */
    g_critical("The model catalog could not be read: %s", error->message);
    return;
  }
  g_signal_connect_swapped(self->recommended_button, "clicked", G_CALLBACK(on_recommended_clicked), self);
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
