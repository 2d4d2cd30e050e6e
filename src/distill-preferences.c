/* distill-preferences.c — the preferences window with the "This Computer" page. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-download.h"
#include "distill-engine.h"
#include "distill-folder-change.h"
#include "distill-preferences.h"
#include "distill-prefs-models.h"
#include "distill-prefs-connections.h"
#include "distill-prefs-server.h"

struct _DistillPreferences {
  AdwPreferencesWindow parent_instance;

  AdwPreferencesGroup *detected_group;
  GtkButton *probe_button;
  GtkSpinButton *reserve_spin;
  GtkSpinButton *ram_spin;
  AdwActionRow *folder_row;
  GtkButton *folder_button;

  DistillHardware *hardware;
  GSettings *settings;
  GPtrArray *detected_rows; /* GtkWidget in detected_group */
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE(DistillPreferences, distill_preferences, ADW_TYPE_PREFERENCES_WINDOW)

static GtkWidget *add_row(DistillPreferences *self, const char *name, const char *title, const char *subtitle)
{
  GtkWidget *row = adw_action_row_new();
  gtk_widget_set_name(row, name);
  adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
  adw_action_row_set_subtitle(ADW_ACTION_ROW(row), subtitle);
  adw_action_row_set_subtitle_lines(ADW_ACTION_ROW(row), 3);
  adw_preferences_group_add(self->detected_group, row);
  g_ptr_array_add(self->detected_rows, row);
  return row;
}

static void show_detected(DistillPreferences *self)
{
  for (guint i = 0; i < self->detected_rows->len; i++)
    adw_preferences_group_remove(self->detected_group, g_ptr_array_index(self->detected_rows, i));
  g_ptr_array_set_size(self->detected_rows, 0);
  const still_hardware *hw = distill_hardware_get_detected(self->hardware);
  if (hw == NULL) {
    add_row(self, "probing", _("Looking at this computer…"), "");
    return;
  }
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++) {
    const still_gpu *g = &hw->gpus[i];
    g_autofree char *name = g_strdup_printf("gpu-%d", i);
    g_autofree char *total = g_format_size(g->total_bytes);
    g_autofree char *free_s = g_format_size(g->free_bytes);
    g_autofree char *sub = NULL;
    if (g->duplicate && g->duplicate_of >= 0 && g->duplicate_of < i)
      /* Translators: one GPU that two drivers both list; %s is the name of its first listing, above */
      sub = g_strdup_printf(_("The same GPU as “%s” above, listed again by another driver: counted once"),
                            hw->gpus[g->duplicate_of].name);
    else if (g->cpu_emulated) sub = g_strdup_printf(_("Software renderer, not used for models · %s"), total);
    else if (g->free_known && g->api_version[0])
      sub = g_strdup_printf(_("%s free of %s · Vulkan %s"), free_s, total, g->api_version);
    else if (g->free_known) sub = g_strdup_printf(_("%s free of %s"), free_s, total);
    else sub = g_strdup_printf(_("%s in total; only the total is known (the driver does not report free memory)"),
                               total);
    add_row(self, name, g->name, sub);
  }
  if (distill_hardware_usable_gpus(hw) == 0)
    add_row(self, "gpu-none", _("No usable GPU"), hw->gpu_note[0] ? hw->gpu_note : _("Models run on the CPU"));
  g_autofree char *ram_free = g_format_size(hw->ram_free);
  g_autofree char *ram_total = g_format_size(hw->ram_total);
  g_autofree char *ram = hw->cgroup_limited ? g_strdup_printf(_("%s available of %s (a container limit applies)"),
                                                              ram_free, ram_total)
                                            : g_strdup_printf(_("%s available of %s"), ram_free, ram_total);
  add_row(self, "ram", _("Memory"), ram);
  /* Translators: separates the instruction sets in "AVX2 · AVX-512 · VNNI" */
  g_autofree char *features = distill_hardware_cpu_features(hw, _(" · "));
  g_autofree char *cpu =
    features ? /* Translators: core count, thread count, then the processor's vector instruction sets
                * as a list such as "AVX2 · AVX-512" (names are not translated) */
               g_strdup_printf(_("%1$d cores, %2$d threads · %3$s"), hw->cpu_cores, hw->cpu_threads, features)
             : /* Translators: the processor's core count and thread count */
               g_strdup_printf(_("%1$d cores, %2$d threads"), hw->cpu_cores, hw->cpu_threads);
  add_row(self, "cpu", hw->cpu_name[0] ? hw->cpu_name : _("Processor"), cpu);
  g_autofree char *disk_free = g_format_size(hw->disk_free);
  g_autofree char *disk = hw->disk_known ? g_strdup_printf(_("%s free at the models folder"), disk_free)
                                         : g_strdup(_("Not known"));
  add_row(self, "disk", _("Disk"), disk);
}

static void probe_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)user_data;
  g_autoptr(GError) error = NULL;
  if (!distill_hardware_probe_finish(DISTILL_HARDWARE(src), res, &error)) g_message("%s", error->message);
}

static void on_probe_clicked(DistillPreferences *self)
{
  distill_hardware_probe_async(self->hardware, NULL, probe_done, NULL);
}

static void show_folder(DistillPreferences *self)
{
  g_autofree char *folder = g_settings_get_string(self->settings, "models-folder");
  g_autofree char *def = distill_download_default_directory();
  adw_action_row_set_subtitle(self->folder_row, *folder ? folder : def);
}

static void on_folder_chosen(GtkNativeDialog *dialog, int response, DistillPreferences *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    g_autofree char *path = file ? g_file_get_path(file) : NULL;
    /* asks whether to move the models there (the loaded one stays: it is in use) */
    DistillEngine *engine = distill_engine_get_default();
    const char *in_use[] = {engine ? distill_engine_get_model_path(engine) : NULL, NULL};
    if (path) distill_folder_change_run(GTK_WINDOW(self), self->settings, path, in_use, self->folder_row);
  }
  g_clear_object(&self->chooser);
}

static void on_folder_clicked(DistillPreferences *self)
{
  if (self->chooser) return;
  self->chooser = gtk_file_chooser_native_new(_("Models Folder"), GTK_WINDOW(self), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                              _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(self->chooser), TRUE);
  g_signal_connect(self->chooser, "response", G_CALLBACK(on_folder_chosen), self);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(self->chooser));
}

static void distill_preferences_dispose(GObject *object)
{
  DistillPreferences *self = DISTILL_PREFERENCES(object);
  if (self->hardware) g_signal_handlers_disconnect_by_data(self->hardware, self);
  if (self->settings) g_signal_handlers_disconnect_by_data(self->settings, self);
  if (self->chooser) {
    g_signal_handlers_disconnect_by_data(self->chooser, self);
    gtk_native_dialog_destroy(GTK_NATIVE_DIALOG(self->chooser));
  }
  g_clear_object(&self->chooser);
  g_clear_object(&self->hardware);
  g_clear_object(&self->settings);
  g_clear_pointer(&self->detected_rows, g_ptr_array_unref);
  G_OBJECT_CLASS(distill_preferences_parent_class)->dispose(object);
}

static void distill_preferences_class_init(DistillPreferencesClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = distill_preferences_dispose;
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-preferences.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillPreferences, detected_group);
  gtk_widget_class_bind_template_child(widget_class, DistillPreferences, probe_button);
  gtk_widget_class_bind_template_child(widget_class, DistillPreferences, reserve_spin);
  gtk_widget_class_bind_template_child(widget_class, DistillPreferences, ram_spin);
  gtk_widget_class_bind_template_child(widget_class, DistillPreferences, folder_row);
  gtk_widget_class_bind_template_child(widget_class, DistillPreferences, folder_button);
}

static void distill_preferences_init(DistillPreferences *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->detected_rows = g_ptr_array_new();
}

DistillPreferences *distill_preferences_new(GtkWindow *parent, DistillHardware *hardware, GSettings *settings)
{
  DistillPreferences *self = g_object_new(DISTILL_TYPE_PREFERENCES, NULL);
  if (parent) {
    gtk_window_set_transient_for(GTK_WINDOW(self), parent);
    gtk_window_set_modal(GTK_WINDOW(self), TRUE);
  }
  self->settings = settings ? g_object_ref(settings) : g_settings_new(APP_ID);
  /* the app's one instance unless told otherwise: its probe and corrections reach every view */
  self->hardware = g_object_ref(hardware ? hardware : distill_hardware_get_default());
  g_settings_bind(self->settings, "reserve-vram-gb", self->reserve_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind(self->settings, "ram-limit-gb", self->ram_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_swapped(self->settings, "changed::models-folder", G_CALLBACK(show_folder), self);
  g_signal_connect_swapped(self->hardware, "changed", G_CALLBACK(show_detected), self);
  g_signal_connect_swapped(self->probe_button, "clicked", G_CALLBACK(on_probe_clicked), self);
  g_signal_connect_swapped(self->folder_button, "clicked", G_CALLBACK(on_folder_clicked), self);
  show_folder(self);
  show_detected(self);
  if (!distill_hardware_is_ready(self->hardware)) on_probe_clicked(self);
  adw_preferences_window_add(ADW_PREFERENCES_WINDOW(self), ADW_PREFERENCES_PAGE(distill_prefs_models_new(self->settings, self->hardware, NULL)));
  adw_preferences_window_add(ADW_PREFERENCES_WINDOW(self), ADW_PREFERENCES_PAGE(distill_prefs_connections_new(self->settings)));
  adw_preferences_window_add(ADW_PREFERENCES_WINDOW(self), ADW_PREFERENCES_PAGE(distill_prefs_server_new(self->settings, NULL)));
  return self;
}

DistillHardware *distill_preferences_get_hardware(DistillPreferences *self)
{
  return self->hardware;
}

GtkWidget *distill_preferences_get_widget(DistillPreferences *self, const char *name)
{
  if (g_strcmp0(name, "reserve-vram") == 0) return GTK_WIDGET(self->reserve_spin);
  if (g_strcmp0(name, "ram-limit") == 0) return GTK_WIDGET(self->ram_spin);
  for (guint i = 0; i < self->detected_rows->len; i++) {
    GtkWidget *w = g_ptr_array_index(self->detected_rows, i);
    if (g_strcmp0(gtk_widget_get_name(w), name) == 0) return w;
  }
  return NULL;
}
