/* distill-download.h — one resumable, verified download of one file of a Hugging Face repo.
 *
 * The file is written to DEST.part with a JSON state file DEST.part.json beside it (see
 * distill-download-state.h). Nothing downloaded is ever thrown away silently: on any failure
 * the part is kept and a later run resumes it with an HTTP Range request. When all bytes are
 * there, size and SHA-256 are checked against the hub's, and only then is DEST.part renamed to
 * DEST. A mismatch leaves the part in place and the state "failed-verification".
 *
 * Everything runs on the thread-default main context of the caller of run_async (libsoup 3
 * async I/O); writing, fsync and hashing run in GTask worker threads. */
#pragma once

#include <gio/gio.h>

#include "distill-hub.h"

G_BEGIN_DECLS

typedef enum {
  DISTILL_DOWNLOAD_QUEUED,
  DISTILL_DOWNLOAD_RUNNING,
  DISTILL_DOWNLOAD_PAUSED,              /* also after cancel: the part is kept, resume continues */
  DISTILL_DOWNLOAD_VERIFYING,
  DISTILL_DOWNLOAD_DONE,
  DISTILL_DOWNLOAD_FAILED,              /* message says why; the part is kept */
  DISTILL_DOWNLOAD_FAILED_VERIFICATION, /* all bytes there, but size or sha256 differ; part kept */
} DistillDownloadState;

GType distill_download_state_get_type(void);
#define DISTILL_TYPE_DOWNLOAD_STATE (distill_download_state_get_type())

#define DISTILL_DOWNLOAD_ERROR (distill_download_error_quark())
GQuark distill_download_error_quark(void);

typedef enum {
  DISTILL_DOWNLOAD_ERROR_NO_SPACE,     /* not enough free space before starting, or ENOSPC */
  DISTILL_DOWNLOAD_ERROR_VERIFICATION, /* size or checksum mismatch */
  DISTILL_DOWNLOAD_ERROR_GAVE_UP,      /* the network kept failing for give-up-seconds */
  DISTILL_DOWNLOAD_ERROR_IO,           /* the part file could not be written */
  DISTILL_DOWNLOAD_ERROR_EXISTS,       /* DEST exists and does not match the hub's checksum */
  DISTILL_DOWNLOAD_ERROR_BUSY,         /* run_async while already running */
} DistillDownloadError;

/* Bytes requested per read: also the most that a SIGKILL can lose (received, not yet written). */
#define DISTILL_DOWNLOAD_CHUNK (64 * 1024)

#define DISTILL_TYPE_DOWNLOAD (distill_download_get_type())
G_DECLARE_FINAL_TYPE(DistillDownload, distill_download, DISTILL, DOWNLOAD, GObject)

/* dest_path: where the verified file ends up (its folder is created if needed). revision NULL:
 * "main". Errors in repo/file names are reported by run_async. */
DistillDownload *distill_download_new(DistillHub *hub, const char *repo, const char *file,
                                      const char *revision, const char *dest_path);

/* Runs until the file is verified (TRUE), or fails (FALSE + error: DISTILL_DOWNLOAD_ERROR,
 * DISTILL_HUB_ERROR for auth/not found, G_IO_ERROR_CANCELLED after cancel or when cancellable
 * fires). Pausing does not finish it: resume continues the same run. */
void distill_download_run_async(DistillDownload *self, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
gboolean distill_download_run_finish(DistillDownload *self, GAsyncResult *result, GError **error);

/* Stop the transfer, checkpoint the part (fsync + state file), state PAUSED. */
void distill_download_pause(DistillDownload *self);
void distill_download_resume(DistillDownload *self);
/* Stop like pause, then finish the run with G_IO_ERROR_CANCELLED. The part is kept. */
void distill_download_cancel(DistillDownload *self);

/* After FAILED_VERIFICATION, the user's two choices: keep the file as it is (the part is renamed
 * to DEST), or throw the part away so that the next run starts over. Not while running. */
gboolean distill_download_keep_unverified(DistillDownload *self, GError **error);
gboolean distill_download_discard_partial(DistillDownload *self, GError **error);

DistillDownloadState distill_download_get_state(DistillDownload *self);
const char *distill_download_get_message(DistillDownload *self);
gint64 distill_download_get_bytes_done(DistillDownload *self);
gint64 distill_download_get_total(DistillDownload *self);      /* -1: not known yet */
double distill_download_get_speed(DistillDownload *self);      /* bytes/s, smoothed */
gint64 distill_download_get_eta(DistillDownload *self);        /* seconds, -1: unknown */
const char *distill_download_get_destination(DistillDownload *self);
const char *distill_download_get_partial_path(DistillDownload *self);
const char *distill_download_get_state_path(DistillDownload *self);
const char *distill_download_get_commit(DistillDownload *self);
const char *distill_download_get_sha256(DistillDownload *self); /* the expected one */
const char *distill_download_get_repo(DistillDownload *self);
const char *distill_download_get_file(DistillDownload *self);

/* $XDG_DATA_HOME/distill/models: where `distill pull` puts files by default. */
char *distill_download_default_directory(void);

G_END_DECLS
