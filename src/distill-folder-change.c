/* distill-folder-change.c — see distill-folder-change.h. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-download.h"
#include "distill-folder-change.h"
#include "distill-model-mover.h"

typedef struct {
  GtkWindow *parent;     /* weak */
  GSettings *settings;
  AdwActionRow *row;     /* weak */
  char *old_subtitle;
  char *old_dir, *new_dir;
  GStrv in_use;
} FolderChange;

static char *last_result;
static guint n_running;

const char *distill_folder_change_last_result(void) { return last_result; }
guint distill_folder_change_n_running(void) { return n_running; }

static void folder_change_free(FolderChange *c)
{
  if (c->parent) g_object_remove_weak_pointer(G_OBJECT(c->parent), (gpointer *)&c->parent);
  if (c->row) g_object_remove_weak_pointer(G_OBJECT(c->row), (gpointer *)&c->row);
  g_clear_object(&c->settings);
  g_free(c->old_subtitle);
  g_free(c->old_dir);
  g_free(c->new_dir);
  g_strfreev(c->in_use);
  g_free(c);
}

static char *current_dir(GSettings *settings)
{
  g_autofree char *folder = g_settings_get_string(settings, "models-folder");
  return *folder ? g_steal_pointer(&folder) : distill_download_default_directory();
}

static void tell(FolderChange *c, const char *heading, const char *body)
{
  g_free(last_result);
  last_result = g_strdup_printf("%s\n%s", heading, body);
  GtkWidget *d = adw_message_dialog_new(c->parent, heading, body);
  adw_message_dialog_add_response(ADW_MESSAGE_DIALOG(d), "close", _("_Close"));
  gtk_window_present(GTK_WINDOW(d));
}

static void on_progress(guint64 done, guint64 total, const char *file, gpointer data)
{
  FolderChange *c = data;
  if (c->row == NULL || total == 0) return;
  int pct = (int)(100.0 * (double)done / (double)total);
  /* Translators: moving the models to another folder, in percent */
  g_autofree char *text = g_strdup_printf(_("Moving the models… %d%%"), pct);
  adw_action_row_set_subtitle(c->row, text);
  (void)file;
}

static void moved(GObject *src, GAsyncResult *res, gpointer data)
{
  (void)src;
  FolderChange *c = data;
  n_running--;
  guint n = 0;
  g_auto(GStrv) skipped = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = distill_model_mover_move_finish(res, &n, &skipped, &error);
  if (c->row) {
    gtk_widget_set_sensitive(GTK_WIDGET(c->row), TRUE);
    adw_action_row_set_subtitle(c->row, c->old_subtitle);
  }
  if (!ok) {
    tell(c, _("The Models Were Not Moved"), error->message);
  } else {
    /* the Library, the chat's model list and new downloads follow the setting */
    g_settings_set_string(c->settings, "models-folder", c->new_dir);
    if (skipped && skipped[0]) {
      g_autofree char *list = g_strjoinv("\n", skipped);
      g_autofree char *body = g_strdup_printf(
        g_dngettext(GETTEXT_PACKAGE, "%u file was moved. Some stayed in the old folder:\n%s",
                    "%u files were moved. Some stayed in the old folder:\n%s", n),
        n, list);
      tell(c, _("Some Models Stayed Behind"), body);
    } else {
      g_free(last_result);
      last_result = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%u file was moved.", "%u files were moved.", n), n);
    }
  }
  folder_change_free(c);
}

static void on_response(AdwMessageDialog *dialog, const char *response, FolderChange *c)
{
  (void)dialog;
  if (g_strcmp0(response, "keep") == 0) {
    g_settings_set_string(c->settings, "models-folder", c->new_dir);
    folder_change_free(c);
  } else if (g_strcmp0(response, "move") == 0) {
    n_running++;
    if (c->row) {
      c->old_subtitle = g_strdup(adw_action_row_get_subtitle(c->row));
      gtk_widget_set_sensitive(GTK_WIDGET(c->row), FALSE);
      adw_action_row_set_subtitle(c->row, _("Moving the models…"));
    }
    distill_model_mover_move_async(c->old_dir, c->new_dir, (const char *const *)c->in_use, on_progress, c, NULL,
                                   moved, c);
  } else {
    folder_change_free(c);
  }
}

AdwMessageDialog *distill_folder_change_run(GtkWindow *parent, GSettings *settings, const char *new_dir,
                                            const char *const *in_use, AdwActionRow *status_row)
{
  g_autofree char *old_dir = current_dir(settings);
  g_autofree char *a = g_canonicalize_filename(old_dir, NULL);
  g_autofree char *b = g_canonicalize_filename(new_dir, NULL);
  if (g_strcmp0(a, b) == 0) return NULL;
  guint64 bytes = 0;
  g_autoptr(GPtrArray) files = distill_model_mover_list(old_dir, &bytes);
  if (files->len == 0) {
    g_settings_set_string(settings, "models-folder", new_dir);
    return NULL;
  }
  FolderChange *c = g_new0(FolderChange, 1);
  c->parent = parent;
  if (parent) g_object_add_weak_pointer(G_OBJECT(parent), (gpointer *)&c->parent);
  c->row = status_row;
  if (status_row) g_object_add_weak_pointer(G_OBJECT(status_row), (gpointer *)&c->row);
  c->settings = g_object_ref(settings);
  c->old_dir = g_steal_pointer(&a);
  c->new_dir = g_steal_pointer(&b);
  c->in_use = g_strdupv((char **)in_use);
  g_autofree char *size = g_format_size(bytes);
  g_autofree char *body = g_strdup_printf(
    g_dngettext(GETTEXT_PACKAGE,
                "The current models folder has %u model file (%s). Move it to %s? If you leave it where it is, "
                "the Library no longer lists it.",
                "The current models folder has %u model files (%s). Move them to %s? If you leave them where "
                "they are, the Library no longer lists them.",
                files->len),
    files->len, size, c->new_dir);
  GtkWidget *d = adw_message_dialog_new(parent, _("Move the Models to the New Folder?"), body);
  adw_message_dialog_add_responses(ADW_MESSAGE_DIALOG(d), "cancel", _("_Cancel"), "keep", _("_Leave Them"), "move",
                                   _("_Move"), NULL);
  adw_message_dialog_set_response_appearance(ADW_MESSAGE_DIALOG(d), "move", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response(ADW_MESSAGE_DIALOG(d), "move");
  adw_message_dialog_set_close_response(ADW_MESSAGE_DIALOG(d), "cancel");
  g_signal_connect(d, "response", G_CALLBACK(on_response), c);
  gtk_window_present(GTK_WINDOW(d));
  return ADW_MESSAGE_DIALOG(d);
}
