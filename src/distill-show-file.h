/* distill-show-file.h — "Show in Files": open the file manager with a file selected.
 *
 * GTK 4.8 has no GtkFileLauncher, so this asks the file manager over D-Bus:
 * org.freedesktop.FileManager1.ShowItems(as uris, s startup_id) on the session bus (Nautilus,
 * Dolphin, Nemo, … implement it; the call starts the service if it is activatable). When the
 * call fails or nobody provides the service, the folder is opened with gtk_show_uri_full()
 * instead (no file selected, but the right place). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DISTILL_FILE_MANAGER_BUS_NAME "org.freedesktop.FileManager1"
#define DISTILL_FILE_MANAGER_PATH "/org/freedesktop/FileManager1"

typedef enum {
  DISTILL_SHOW_FILE_SELECTED, /* the file manager was asked to select the file */
  DISTILL_SHOW_FILE_FOLDER,   /* fallback: the folder was opened */
  DISTILL_SHOW_FILE_FAILED,   /* neither worked (the error says why) */
} DistillShowFileResult;

void distill_show_file_async(GtkWindow *parent, const char *path, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
DistillShowFileResult distill_show_file_finish(GAsyncResult *result, GError **error);

/* Tests: replace gtk_show_uri_full() (the fallback) by fn, which gets the folder URI and returns
 * TRUE on success. NULL restores the default. */
typedef gboolean (*DistillShowUriFunc)(GtkWindow *parent, const char *uri);
void distill_show_file_set_fallback_for_tests(DistillShowUriFunc fn);

G_END_DECLS
