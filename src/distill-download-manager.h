/* distill-download-manager.h — the queue of model downloads.
 *
 * An item is one model file or a split model (several shards, downloaded in order, shown as one).
 * At most max-parallel items run at once (1 or 2); the rest wait, queued. The list of unfinished
 * items is kept in $XDG_DATA_HOME/distill/downloads.json so that paused and queued downloads
 * survive a restart (a download that was running comes back paused: the part file resumes).
 * While anything runs, suspend is inhibited (when an application was given), and a finished
 * download raises a notification when the application's window is not focused. */
#pragma once

#include <gio/gio.h>

#include "distill-hub.h"

G_BEGIN_DECLS

typedef enum {
  DISTILL_ITEM_QUEUED,
  DISTILL_ITEM_RUNNING,
  DISTILL_ITEM_PAUSED,
  DISTILL_ITEM_DONE,
  DISTILL_ITEM_FAILED,
} DistillItemState;

#define DISTILL_TYPE_DOWNLOAD_MANAGER (distill_download_manager_get_type())
G_DECLARE_FINAL_TYPE(DistillDownloadManager, distill_download_manager, DISTILL, DOWNLOAD_MANAGER, GObject)

/* models_dir: where files land; state_file NULL: $XDG_DATA_HOME/distill/downloads.json.
 * The saved list is read at once (items come back queued or paused, nothing starts until
 * distill_download_manager_start_queued()). */
DistillDownloadManager *distill_download_manager_new(DistillHub *hub, const char *models_dir, const char *state_file);
/* app (a GtkApplication, may be NULL): for the suspend inhibitor and notifications. */
void distill_download_manager_set_application(DistillDownloadManager *self, GApplication *app);
void distill_download_manager_set_max_parallel(DistillDownloadManager *self, guint n); /* 1 or 2 */

/* Adds (or returns the existing) item for repo + files (NULL-terminated, shards in order) and
 * starts it when a slot is free. Returns the item id ("repo/first-file"). */
const char *distill_download_manager_add(DistillDownloadManager *self, const char *repo, const char *const *files,
                                         const char *label);
void distill_download_manager_pause(DistillDownloadManager *self, const char *id);
void distill_download_manager_resume(DistillDownloadManager *self, const char *id);
/* Stops it, removes its partial files and forgets it. */
void distill_download_manager_cancel(DistillDownloadManager *self, const char *id);
/* Starts queued items up to max-parallel. */
void distill_download_manager_start_queued(DistillDownloadManager *self);

/* ids of the known items, in order (free with g_strfreev) */
GStrv distill_download_manager_list(DistillDownloadManager *self);
gboolean distill_download_manager_get_item(DistillDownloadManager *self, const char *id, DistillItemState *state,
                                           gint64 *done, gint64 *total, const char **label, const char **message);
/* bytes/s (smoothed) and seconds left (-1: unknown) of the shard being downloaded */
gboolean distill_download_manager_get_rate(DistillDownloadManager *self, const char *id, double *speed, gint64 *eta);
guint distill_download_manager_get_n_running(DistillDownloadManager *self);
gboolean distill_download_manager_is_inhibiting(DistillDownloadManager *self);
const char *distill_download_manager_get_state_file(DistillDownloadManager *self);

/* TRUE when the item failed because its bytes do not match the Hub's size or sha256 (the part
 * file is kept). The user's two choices: add it again (the bad part is discarded and the file is
 * downloaded anew), or keep it as it is: */
gboolean distill_download_manager_get_verification_failed(DistillDownloadManager *self, const char *id);
gboolean distill_download_manager_keep_unverified(DistillDownloadManager *self, const char *id, GError **error);

/* Where NEW items go from now on. Items already known (running, paused, queued) keep the folder
 * they were added with: their part files are there; the list file remembers it. */
void distill_download_manager_set_models_dir(DistillDownloadManager *self, const char *models_dir);
const char *distill_download_manager_get_models_dir(DistillDownloadManager *self);
/* The folder an item's files go to, or NULL. */
const char *distill_download_manager_get_item_dir(DistillDownloadManager *self, const char *id);

G_END_DECLS
