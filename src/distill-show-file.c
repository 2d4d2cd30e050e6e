/* distill-show-file.c — see distill-show-file.h. */
#include "config.h"

#include <glib/gi18n.h>
#include <unistd.h>

#include "distill-show-file.h"

#define CALL_TIMEOUT_MS 5000

static DistillShowUriFunc fallback_for_tests;

void distill_show_file_set_fallback_for_tests(DistillShowUriFunc fn)
{
  fallback_for_tests = fn;
}

typedef struct {
  GtkWindow *parent; /* owned ref or NULL */
  char *file_uri, *folder_uri;
} ShowData;

static void show_data_free(ShowData *d)
{
  g_clear_object(&d->parent);
  g_free(d->file_uri);
  g_free(d->folder_uri);
  g_free(d);
}

static void folder_shown(GObject *src, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  if (gtk_show_uri_full_finish(GTK_WINDOW(src), res, &error)) g_task_return_int(task, DISTILL_SHOW_FILE_FOLDER);
  else g_task_return_error(task, error);
  g_object_unref(task);
}

static void show_folder(GTask *task)
{
  ShowData *d = g_task_get_task_data(task);
  if (fallback_for_tests) {
    if (fallback_for_tests(d->parent, d->folder_uri)) g_task_return_int(task, DISTILL_SHOW_FILE_FOLDER);
    else g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, _("No application could open the folder."));
    g_object_unref(task);
    return;
  }
  /* gtk_show_uri() would g_warning on failure; the _full variant lets us say it in words */
  gtk_show_uri_full(d->parent, d->folder_uri, GDK_CURRENT_TIME, g_task_get_cancellable(task), folder_shown, task);
}

static void show_items_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &error);
  if (reply != NULL) {
    g_task_return_int(task, DISTILL_SHOW_FILE_SELECTED);
    g_object_unref(task);
    return;
  }
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_task_return_error(task, g_steal_pointer(&error));
    g_object_unref(task);
    return;
  }
  g_debug("FileManager1.ShowItems failed (%s): opening the folder instead", error->message);
  show_folder(task);
}

static void bus_ready(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  GTask *task = user_data;
  ShowData *d = g_task_get_task_data(task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_finish(res, &error);
  if (bus == NULL) {
    g_debug("no session bus (%s): opening the folder instead", error->message);
    show_folder(task);
    return;
  }
  const char *uris[] = {d->file_uri, NULL};
  g_autofree char *startup_id = g_strdup_printf("distill-%" G_GINT64_FORMAT "_TIME%" G_GINT64_FORMAT,
                                                (gint64)getpid(), g_get_monotonic_time() / 1000);
  g_dbus_connection_call(bus, DISTILL_FILE_MANAGER_BUS_NAME, DISTILL_FILE_MANAGER_PATH, DISTILL_FILE_MANAGER_BUS_NAME,
                         "ShowItems", g_variant_new("(^ass)", uris, startup_id), NULL, G_DBUS_CALL_FLAGS_NONE,
                         CALL_TIMEOUT_MS, g_task_get_cancellable(task), show_items_done, task);
}

void distill_show_file_async(GtkWindow *parent, const char *path, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_show_file_async);
  ShowData *d = g_new0(ShowData, 1);
  d->parent = parent ? g_object_ref(parent) : NULL;
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_autoptr(GFile) folder = g_file_get_parent(file);
  d->file_uri = g_file_get_uri(file);
  d->folder_uri = g_file_get_uri(folder ? folder : file);
  g_task_set_task_data(task, d, (GDestroyNotify)show_data_free);
  g_bus_get(G_BUS_TYPE_SESSION, cancellable, bus_ready, task);
}

DistillShowFileResult distill_show_file_finish(GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), DISTILL_SHOW_FILE_FAILED);
  GError *e = NULL;
  gssize r = g_task_propagate_int(G_TASK(result), &e);
  if (e != NULL) {
    g_propagate_error(error, e);
    return DISTILL_SHOW_FILE_FAILED;
  }
  return (DistillShowFileResult)r;
}
