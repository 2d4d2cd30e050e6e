/* distill-model-picker.c — see distill-model-picker.h.
 *
 * Each fill is a generation: work started for an older fill (verdicts on the
 * worker thread, model lists from servers) finds its rows gone and is
 * dropped, through the fill's cancellable and a serial number.
 */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-chat-settings.h"
#include "distill-model-picker.h"
#include "distill-remote.h"

/* a picker should not hang on a server that does not answer */
#define LIST_TIMEOUT_MS 8000
/* a connection's model list younger than this is shown without asking the server again */
#define CACHE_MAX_AGE_MS (60 * 1000)

struct _DistillModelPicker {
  GObject parent_instance;
  GtkListBox *list;   /* not owned (the popover's) */
  GSettings *settings;
  DistillHardware *hardware;
  gboolean probing;
  GCancellable *cancellable; /* of the current fill */
  guint serial;
  GPtrArray *local_rows;     /* AdwActionRow, data "path" */
  char *current_endpoint_id;
  char *current_remote_model;
};

G_DEFINE_FINAL_TYPE(DistillModelPicker, distill_model_picker, G_TYPE_OBJECT)

enum { LOCAL_CHOSEN, REMOTE_CHOSEN, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ==== verdicts =========================================================================== */

char *distill_model_picker_verdict_text(const still_fit *fit)
{
  double t = fit->tok_s_estimate;
  switch (fit->verdict) {
  case STILL_FIT_GPU: return g_strdup(_("Runs fully on your GPU"));
  case STILL_FIT_PARTIAL:
    if (t > 0) {
      g_autofree char *rate = g_strdup_printf("%.*f", t < 10 ? 1 : 0, t);
      return g_strdup_printf(_("Runs partly on your GPU, %1$d of %2$d layers (~%3$s tok/s)"), fit->gpu_layers,
                             fit->n_layers, rate);
    }
    return g_strdup_printf(_("Runs partly on your GPU, %1$d of %2$d layers"), fit->gpu_layers, fit->n_layers);
  case STILL_FIT_CPU:
    if (t > 0) {
      g_autofree char *rate = g_strdup_printf("%.*f", t < 10 ? 1 : 0, t);
      return g_strdup_printf(_("Runs on the CPU only (~%s tok/s)"), rate);
    }
    return g_strdup(_("Runs on the CPU only"));
  case STILL_FIT_NO: return g_strdup(_("Too large for the free memory of this computer"));
  }
  return g_strdup("");
}

typedef struct {
  still_hardware hw;
  GPtrArray *paths;    /* char* */
  GPtrArray *verdicts; /* char*, parallel; NULL entries: unreadable */
} VerdictJob;

static void verdict_job_free(VerdictJob *j)
{
  g_ptr_array_unref(j->paths);
  if (j->verdicts) g_ptr_array_unref(j->verdicts);
  g_free(j);
}

/* worker thread: reads the headers of the files */
static void verdicts_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  VerdictJob *j = data;
  j->verdicts = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < j->paths->len; i++) {
    if (g_cancellable_is_cancelled(cancellable)) break;
    still_fit fit;
    still_error err = {0};
    still_fit_params p = still_fit_params_default();
    if (still_fit_estimate_file(j->paths->pdata[i], &j->hw, &p, &fit, &err) == STILL_OK)
      g_ptr_array_add(j->verdicts, distill_model_picker_verdict_text(&fit));
    else
      g_ptr_array_add(j->verdicts, NULL);
  }
  g_task_return_boolean(task, TRUE);
}

static void set_local_subtitle(AdwActionRow *row, const char *verdict)
{
  const char *size = g_object_get_data(G_OBJECT(row), "size");
  if (size && verdict) {
    /* Translators: a local model's size and how it runs here, e.g. "4.7 GB · Runs fully on your GPU" */
    g_autofree char *sub = g_strdup_printf(_("%1$s · %2$s"), size, verdict);
    adw_action_row_set_subtitle(row, sub);
  } else {
    adw_action_row_set_subtitle(row, size ? size : verdict ? verdict : "");
  }
}

static void verdicts_done(GObject *source, GAsyncResult *res, gpointer data)
{
  guint serial = GPOINTER_TO_UINT(data);
  DistillModelPicker *self = DISTILL_MODEL_PICKER(source);
  VerdictJob *j = g_task_get_task_data(G_TASK(res));
  if (!g_task_propagate_boolean(G_TASK(res), NULL) || serial != self->serial || !j->verdicts) return;
  for (guint i = 0; i < self->local_rows->len && i < j->verdicts->len; i++) {
    AdwActionRow *row = self->local_rows->pdata[i];
    const char *v = j->verdicts->pdata[i];
    set_local_subtitle(row, v ? v : _("Not a model file Distill can read"));
  }
}

static void start_verdicts(DistillModelPicker *self)
{
  still_hardware hw;
  if (self->local_rows->len == 0 || !self->hardware || !distill_hardware_get_effective(self->hardware, &hw)) return;
  VerdictJob *j = g_new0(VerdictJob, 1);
  j->hw = hw;
  j->paths = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < self->local_rows->len; i++)
    g_ptr_array_add(j->paths, g_strdup(g_object_get_data(self->local_rows->pdata[i], "path")));
  GTask *task = g_task_new(self, self->cancellable, verdicts_done, GUINT_TO_POINTER(self->serial));
  g_task_set_task_data(task, j, (GDestroyNotify)verdict_job_free);
  g_task_run_in_thread(task, verdicts_thread);
  g_object_unref(task);
}

static void on_hardware_changed(DistillModelPicker *self)
{
  self->probing = FALSE;
  if (self->local_rows->len) start_verdicts(self);
}

void distill_model_picker_set_hardware(DistillModelPicker *self, DistillHardware *hardware)
{
  g_return_if_fail(DISTILL_IS_MODEL_PICKER(self));
  if (self->hardware) g_signal_handlers_disconnect_by_data(self->hardware, self);
  g_set_object(&self->hardware, hardware);
  if (hardware) g_signal_connect_swapped(hardware, "changed", G_CALLBACK(on_hardware_changed), self);
}

/* The app's shared hardware (probed once, corrections applied) unless one was set. */
static void ensure_hardware(DistillModelPicker *self)
{
  if (self->hardware) return;
  distill_model_picker_set_hardware(self, distill_hardware_get_default());
  self->probing = !distill_hardware_is_ready(self->hardware);
}

/* ==== rows ================================================================================== */

static void on_local_activated(AdwActionRow *row, DistillModelPicker *self)
{
  g_signal_emit(self, signals[LOCAL_CHOSEN], 0, (const char *)g_object_get_data(G_OBJECT(row), "path"));
}

static void on_remote_activated(AdwActionRow *row, DistillModelPicker *self)
{
  g_signal_emit(self, signals[REMOTE_CHOSEN], 0, (const char *)g_object_get_data(G_OBJECT(row), "endpoint-id"),
                (const char *)g_object_get_data(G_OBJECT(row), "model"));
}

static void add_check(AdwActionRow *row)
{
  GtkWidget *check = gtk_image_new_from_icon_name("object-select-symbolic");
  gtk_accessible_update_property(GTK_ACCESSIBLE(check), GTK_ACCESSIBLE_PROPERTY_LABEL, _("In use"), -1);
  adw_action_row_add_suffix(row, check);
}

static AdwActionRow *plain_row(const char *title, const char *subtitle)
{
  AdwActionRow *row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
  if (subtitle) adw_action_row_set_subtitle(row, subtitle);
  return row;
}

/* The "Remote" heading goes above the first row of that section. */
static void header_func(GtkListBoxRow *row, GtkListBoxRow *before, gpointer data)
{
  gboolean remote = g_object_get_data(G_OBJECT(row), "remote") != NULL;
  gboolean before_remote = before && g_object_get_data(G_OBJECT(before), "remote") != NULL;
  if (remote && !before_remote) {
    if (gtk_list_box_row_get_header(row)) return;
    GtkWidget *label = gtk_label_new(_("Remote"));
    gtk_label_set_xalign(GTK_LABEL(label), 0);
    gtk_widget_add_css_class(label, "heading");
    gtk_widget_set_margin_top(label, 12);
    gtk_widget_set_margin_bottom(label, 6);
    gtk_widget_set_margin_start(label, 6);
    gtk_list_box_row_set_header(row, label);
  } else {
    gtk_list_box_row_set_header(row, NULL);
  }
}

static void clear_list(DistillModelPicker *self)
{
  GtkWidget *c;
  while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->list)))) gtk_list_box_remove(self->list, c);
  g_ptr_array_set_size(self->local_rows, 0);
}

static void fill_local(DistillModelPicker *self, GPtrArray *paths, const char *folder, const char *current)
{
  if (paths->len == 0) {
    gtk_list_box_append(self->list, GTK_WIDGET(plain_row(_("No models found"), folder)));
    return;
  }
  for (guint i = 0; i < paths->len; i++) {
    const char *path = paths->pdata[i];
    g_autofree char *name = distill_model_display_name(path);
    AdwActionRow *row = plain_row(name, NULL);
    g_autoptr(GFile) f = g_file_new_for_path(path);
    g_autoptr(GFileInfo) fi = g_file_query_info(f, G_FILE_ATTRIBUTE_STANDARD_SIZE, 0, NULL, NULL);
    if (fi) g_object_set_data_full(G_OBJECT(row), "size", g_format_size(g_file_info_get_size(fi)), g_free);
    set_local_subtitle(row, NULL);
    gtk_widget_set_tooltip_text(GTK_WIDGET(row), path);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), TRUE);
    if (g_strcmp0(path, current) == 0) add_check(row);
    g_object_set_data_full(G_OBJECT(row), "path", g_strdup(path), g_free);
    g_signal_connect_object(row, "activated", G_CALLBACK(on_local_activated), self, 0);
    gtk_list_box_append(self->list, GTK_WIDGET(row));
    g_ptr_array_add(self->local_rows, row);
  }
}

/* ---- remote ---- */

/* The model lists of the connections, kept between fills and shared by every picker: a fill
 * shows a list at once, without waiting for the network, and asks the server again in the
 * background only when the list is older than cache_max_age_us. An answer replaces the rows
 * (a server that stopped answering replaces them with the row saying why). */
typedef struct {
  char *base_url; /* the list is for this address: an edited connection asks again */
  GStrv models;
  gint64 time_us;
} CachedList;

static GHashTable *list_cache; /* endpoint id → CachedList */
static gint64 cache_max_age_us = CACHE_MAX_AGE_MS * 1000;

static void cached_list_free(CachedList *c)
{
  g_free(c->base_url);
  g_strfreev(c->models);
  g_free(c);
}

static const CachedList *cache_lookup(const DistillRemoteEndpoint *e)
{
  const CachedList *c = list_cache ? g_hash_table_lookup(list_cache, e->id) : NULL;
  return c && g_strcmp0(c->base_url, e->base_url) == 0 ? c : NULL;
}

static void cache_store(const DistillRemoteEndpoint *e, GPtrArray *models)
{
  if (!list_cache)
    list_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)cached_list_free);
  if (!models) {
    g_hash_table_remove(list_cache, e->id);
    return;
  }
  CachedList *c = g_new0(CachedList, 1);
  c->base_url = g_strdup(e->base_url);
  c->models = g_new0(char *, models->len + 1);
  for (guint i = 0; i < models->len; i++) c->models[i] = g_strdup(models->pdata[i]);
  c->time_us = g_get_monotonic_time();
  g_hash_table_replace(list_cache, g_strdup(e->id), c);
}

void distill_model_picker_set_cache_max_age(guint ms)
{
  cache_max_age_us = (gint64)ms * 1000;
}

void distill_model_picker_forget_cache(void)
{
  g_clear_pointer(&list_cache, g_hash_table_unref);
}

typedef struct {
  DistillModelPicker *self; /* weak: the cancellable goes with a refill or dispose */
  GPtrArray *rows;          /* the endpoint's rows now ("asking…" or the cached list), replaced by the answer */
  DistillRemoteEndpoint *endpoint;
  guint serial;
} ListJob;

static void list_job_free(ListJob *j)
{
  g_ptr_array_unref(j->rows);
  distill_remote_endpoint_free(j->endpoint);
  g_free(j);
}

static void mark_remote(GtkWidget *row, const char *icon)
{
  g_object_set_data(G_OBJECT(row), "remote", GINT_TO_POINTER(1));
  GtkWidget *image = gtk_image_new_from_icon_name(icon);
  gtk_accessible_update_property(GTK_ACCESSIBLE(image), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Remote"), -1);
  adw_action_row_add_prefix(ADW_ACTION_ROW(row), image);
}

/* The rows of an endpoint's models (or of why there are none) at position (-1: the end);
 * added to rows. */
static void add_remote_rows(DistillModelPicker *self, const DistillRemoteEndpoint *e, const char *const *models,
                            const char *problem, int position, GPtrArray *rows)
{
  if (!models || !models[0]) {
    /* Translators: a connection's name, when it did not list models */
    g_autofree char *title = g_strdup_printf(_("%s is not available"), e->name);
    AdwActionRow *row = plain_row(title, models ? _("The server serves no models.") : problem);
    adw_action_row_set_subtitle_lines(row, 4);
    mark_remote(GTK_WIDGET(row), "network-offline-symbolic");
    gtk_widget_set_name(GTK_WIDGET(row), "remote-unavailable");
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
    gtk_list_box_insert(self->list, GTK_WIDGET(row), position);
    g_ptr_array_add(rows, g_object_ref(row));
    return;
  }
  for (guint i = 0; models[i]; i++) {
    const char *model = models[i];
    AdwActionRow *row = plain_row(model, e->name);
    mark_remote(GTK_WIDGET(row), "network-server-symbolic");
    g_autofree char *tip = g_strdup_printf(_("%1$s at %2$s"), model, e->base_url);
    gtk_widget_set_tooltip_text(GTK_WIDGET(row), tip);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), TRUE);
    if (g_strcmp0(e->id, self->current_endpoint_id) == 0 && g_strcmp0(model, self->current_remote_model) == 0)
      add_check(row);
    g_object_set_data_full(G_OBJECT(row), "endpoint-id", g_strdup(e->id), g_free);
    g_object_set_data_full(G_OBJECT(row), "model", g_strdup(model), g_free);
    g_signal_connect_object(row, "activated", G_CALLBACK(on_remote_activated), self, 0);
    gtk_list_box_insert(self->list, GTK_WIDGET(row), position < 0 ? -1 : position + (int)i);
    g_ptr_array_add(rows, g_object_ref(row));
  }
}

static gboolean same_models(const char *const *cached, GPtrArray *models)
{
  if (!cached || !models || g_strv_length((char **)cached) != models->len) return FALSE;
  for (guint i = 0; i < models->len; i++)
    if (g_strcmp0(cached[i], models->pdata[i]) != 0) return FALSE;
  return TRUE;
}

static void models_listed(GObject *source, GAsyncResult *res, gpointer data)
{
  ListJob *j = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = distill_remote_list_models_finish(DISTILL_REMOTE(source), res, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    list_job_free(j);
    return;
  }
  /* remembered even when this fill is gone: the next one shows it at once */
  const CachedList *before = cache_lookup(j->endpoint);
  gboolean unchanged = before && same_models((const char *const *)before->models, models);
  cache_store(j->endpoint, models);
  DistillModelPicker *self = j->self;
  if (j->serial != self->serial || j->rows->len == 0 ||
      gtk_widget_get_parent(j->rows->pdata[0]) != GTK_WIDGET(self->list)) {
    list_job_free(j);
    return;
  }
  if (unchanged && g_object_get_data(j->rows->pdata[0], "cached")) { /* the rows shown are right */
    list_job_free(j);
    return;
  }
  int position = gtk_list_box_row_get_index(GTK_LIST_BOX_ROW(j->rows->pdata[0]));
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func(g_object_unref);
  if (models) g_ptr_array_add(models, NULL);
  add_remote_rows(self, j->endpoint, models ? (const char *const *)models->pdata : NULL,
                  error ? error->message : NULL, position, rows);
  for (guint i = 0; i < j->rows->len; i++)
    if (gtk_widget_get_parent(j->rows->pdata[i]) == GTK_WIDGET(self->list))
      gtk_list_box_remove(self->list, j->rows->pdata[i]);
  list_job_free(j);
}

static void fill_remote(DistillModelPicker *self)
{
  g_autoptr(GPtrArray) endpoints = distill_remote_endpoints_load(self->settings);
  for (guint i = 0; i < endpoints->len; i++) {
    DistillRemoteEndpoint *e = endpoints->pdata[i];
    GPtrArray *rows = g_ptr_array_new_with_free_func(g_object_unref);
    const CachedList *cached = cache_lookup(e);
    if (cached) {
      add_remote_rows(self, e, (const char *const *)cached->models, NULL, -1, rows);
      for (guint k = 0; k < rows->len; k++) g_object_set_data(rows->pdata[k], "cached", GINT_TO_POINTER(1));
      if (g_get_monotonic_time() - cached->time_us < cache_max_age_us) {
        g_ptr_array_unref(rows);
        continue; /* fresh enough: no need to ask */
      }
    } else {
      /* Translators: while a connection is asked for its models */
      g_autofree char *title = g_strdup_printf(_("Asking %s for its models…"), e->name);
      AdwActionRow *row = plain_row(title, e->base_url);
      mark_remote(GTK_WIDGET(row), "network-server-symbolic");
      gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
      gtk_list_box_append(self->list, GTK_WIDGET(row));
      g_ptr_array_add(rows, g_object_ref(row));
    }
    ListJob *j = g_new0(ListJob, 1);
    j->self = self;
    j->rows = rows;
    j->endpoint = distill_remote_endpoint_copy(e);
    j->serial = self->serial;
    g_autoptr(DistillRemote) remote = distill_remote_new_for_endpoint(e);
    distill_remote_set_timeouts(remote, LIST_TIMEOUT_MS, 0);
    distill_remote_list_models_async(remote, self->cancellable, models_listed, j);
  }
}

void distill_model_picker_cancel(DistillModelPicker *self)
{
  g_return_if_fail(DISTILL_IS_MODEL_PICKER(self));
  self->serial++;
  if (self->cancellable) g_cancellable_cancel(self->cancellable);
  g_clear_object(&self->cancellable);
}

void distill_model_picker_fill(DistillModelPicker *self, GPtrArray *local_paths, const char *models_folder,
                               const char *current_path, const char *current_endpoint_id,
                               const char *current_remote_model)
{
  g_return_if_fail(DISTILL_IS_MODEL_PICKER(self));
  distill_model_picker_cancel(self);
  self->cancellable = g_cancellable_new();
  g_free(self->current_endpoint_id);
  g_free(self->current_remote_model);
  self->current_endpoint_id = g_strdup(current_endpoint_id);
  self->current_remote_model = g_strdup(current_remote_model);
  clear_list(self);
  fill_local(self, local_paths, models_folder, current_endpoint_id ? NULL : current_path);
  fill_remote(self);
  ensure_hardware(self);
  if (!self->probing) start_verdicts(self);
}

/* ==== a file elsewhere ======================================================================= */

static void on_open_response(GtkNativeDialog *dialog, int response, DistillModelPicker *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autofree char *path = file ? g_file_get_path(file) : NULL;
    if (path) g_signal_emit(self, signals[LOCAL_CHOSEN], 0, path);
  }
  gtk_native_dialog_destroy(dialog);
  g_object_unref(dialog);
}

void distill_model_picker_open_file(DistillModelPicker *self, GtkWindow *parent)
{
  g_return_if_fail(DISTILL_IS_MODEL_PICKER(self));
  GtkFileChooserNative *dialog = gtk_file_chooser_native_new(_("Open Model File"), parent, GTK_FILE_CHOOSER_ACTION_OPEN,
                                                             _("_Open"), _("_Cancel"));
  GtkFileFilter *filter = gtk_file_filter_new();
  gtk_file_filter_set_name(filter, _("GGUF models"));
  gtk_file_filter_add_pattern(filter, "*.gguf");
  gtk_file_filter_add_pattern(filter, "*.GGUF");
  gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(dialog), filter);
  g_object_unref(filter);
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(dialog), TRUE);
  g_signal_connect_object(dialog, "response", G_CALLBACK(on_open_response), self, 0);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

/* ==== object ================================================================================== */

static void distill_model_picker_dispose(GObject *object)
{
  DistillModelPicker *self = DISTILL_MODEL_PICKER(object);
  distill_model_picker_cancel(self);
  distill_model_picker_set_hardware(self, NULL);
  g_clear_object(&self->settings);
  G_OBJECT_CLASS(distill_model_picker_parent_class)->dispose(object);
}

static void distill_model_picker_finalize(GObject *object)
{
  DistillModelPicker *self = DISTILL_MODEL_PICKER(object);
  g_ptr_array_unref(self->local_rows);
  g_free(self->current_endpoint_id);
  g_free(self->current_remote_model);
  G_OBJECT_CLASS(distill_model_picker_parent_class)->finalize(object);
}

static void distill_model_picker_class_init(DistillModelPickerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->dispose = distill_model_picker_dispose;
  object_class->finalize = distill_model_picker_finalize;
  signals[LOCAL_CHOSEN] = g_signal_new("local-chosen", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                       NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[REMOTE_CHOSEN] = g_signal_new("remote-chosen", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                        NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static void distill_model_picker_init(DistillModelPicker *self)
{
  self->local_rows = g_ptr_array_new();
}

DistillModelPicker *distill_model_picker_new(GtkListBox *list, GSettings *settings)
{
  DistillModelPicker *self = g_object_new(DISTILL_TYPE_MODEL_PICKER, NULL);
  self->list = list;
  self->settings = g_object_ref(settings);
  gtk_list_box_set_header_func(list, header_func, NULL, NULL);
  return self;
}
