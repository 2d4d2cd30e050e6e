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

typedef struct {
  DistillModelPicker *self; /* weak: the cancellable goes with a refill or dispose */
  GtkWidget *placeholder;   /* the endpoint's "asking…" row, replaced by the answer */
  DistillRemoteEndpoint *endpoint;
  guint serial;
} ListJob;

static void list_job_free(ListJob *j)
{
  g_object_unref(j->placeholder);
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

static void models_listed(GObject *source, GAsyncResult *res, gpointer data)
{
  ListJob *j = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = distill_remote_list_models_finish(DISTILL_REMOTE(source), res, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || j->serial != j->self->serial ||
      gtk_widget_get_parent(j->placeholder) == NULL) {
    list_job_free(j);
    return;
  }
  DistillModelPicker *self = j->self;
  GtkWidget *after = j->placeholder;
  if (!models || models->len == 0) {
    /* Translators: a connection's name, when it did not list models */
    g_autofree char *title = g_strdup_printf(_("%s is not available"), j->endpoint->name);
    AdwActionRow *row = plain_row(title, models ? _("The server serves no models.") : error->message);
    adw_action_row_set_subtitle_lines(row, 4);
    mark_remote(GTK_WIDGET(row), "network-offline-symbolic");
    gtk_widget_set_name(GTK_WIDGET(row), "remote-unavailable");
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
    gtk_list_box_insert(self->list, GTK_WIDGET(row), gtk_list_box_row_get_index(GTK_LIST_BOX_ROW(after)) + 1);
  }
  for (guint i = 0; models && i < models->len; i++) {
    const char *model = models->pdata[i];
    AdwActionRow *row = plain_row(model, j->endpoint->name);
    mark_remote(GTK_WIDGET(row), "network-server-symbolic");
    g_autofree char *tip = g_strdup_printf(_("%1$s at %2$s"), model, j->endpoint->base_url);
    gtk_widget_set_tooltip_text(GTK_WIDGET(row), tip);
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), TRUE);
    if (g_strcmp0(j->endpoint->id, self->current_endpoint_id) == 0 && g_strcmp0(model, self->current_remote_model) == 0)
      add_check(row);
    g_object_set_data_full(G_OBJECT(row), "endpoint-id", g_strdup(j->endpoint->id), g_free);
    g_object_set_data_full(G_OBJECT(row), "model", g_strdup(model), g_free);
    g_signal_connect_object(row, "activated", G_CALLBACK(on_remote_activated), self, 0);
    gtk_list_box_insert(self->list, GTK_WIDGET(row), gtk_list_box_row_get_index(GTK_LIST_BOX_ROW(after)) + 1);
    after = GTK_WIDGET(row);
  }
  gtk_list_box_remove(self->list, j->placeholder);
  list_job_free(j);
}

static void fill_remote(DistillModelPicker *self)
{
  g_autoptr(GPtrArray) endpoints = distill_remote_endpoints_load(self->settings);
  for (guint i = 0; i < endpoints->len; i++) {
    DistillRemoteEndpoint *e = endpoints->pdata[i];
    /* Translators: while a connection is asked for its models */
    g_autofree char *title = g_strdup_printf(_("Asking %s for its models…"), e->name);
    AdwActionRow *row = plain_row(title, e->base_url);
    mark_remote(GTK_WIDGET(row), "network-server-symbolic");
    gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(row), FALSE);
    gtk_list_box_append(self->list, GTK_WIDGET(row));
    ListJob *j = g_new0(ListJob, 1);
    j->self = self;
    j->placeholder = g_object_ref(GTK_WIDGET(row));
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
