/* distill-download-io.h — the disk side of a download, run in GTask worker threads.
 *
 * Private to distill-download.c (split out to keep files short). Each job is a struct handed to
 * g_task_set_task_data() with its _free function, and a GTaskThreadFunc that does the work:
 * - prepare:    create the folder, open DEST.part, load its state file, cut the part back to the
 *               fsync'd checkpoint after a reboot, re-hash what is kept;
 * - write:      pwrite one chunk at its offset, hash it, and at a checkpoint fsync + save state;
 * - checkpoint: fsync + save state (pause, stop, failure), optionally close/remove an empty part;
 * - finish:     fsync, compare size and sha256 (or git blob id), rename DEST.part → DEST;
 * - hash-file:  hash a finished file (sha256 or git blob id).
 * The GChecksum in a job belongs to the download; nobody else touches it while the job runs. */
#pragma once

#include <gio/gio.h>

#include "distill-download-state.h"

G_BEGIN_DECLS

typedef struct {
  char *part_path, *state_path, *dest_path, *repo, *file, *revision;
  int fd;
  gint64 offset;
  GChecksum *checksum;
  DistillDownloadStateFile *record;
  gboolean dest_exists;
  gboolean complete; /* the whole kept part was hashed (not cut short by a pause) */
  char *note;
} DistillPartPrepare;

typedef struct {
  int fd;
  GBytes *bytes;
  gint64 offset;
  GChecksum *checksum; /* the download's; nobody else touches it while the job runs */
  DistillDownloadStateFile *record; /* non-NULL: checkpoint after the write */
  char *state_path, *part_path;
  gint64 written;
} DistillPartWrite;

typedef struct {
  int fd;
  gboolean close_fd;
  gboolean remove_empty;
  DistillDownloadStateFile *record;
  char *state_path, *part_path;
} DistillPartCheckpoint;

typedef struct {
  int fd;
  char *part_path, *dest_path, *state_path;
  GChecksum *checksum; /* borrowed */
  gint64 offset, expected_size;
  char *expected_sha256, *expected_sha1;
  DistillDownloadStateFile *record;
  /* out */
  gboolean verified;
  char *actual;
  char *problem;
} DistillPartFinish;

typedef struct {
  char *path;
  gboolean sha1_git;
  char *actual;
} DistillPartHashFile;

/* Hash the first `length` bytes of fd; returns how many could be read (stops when cancelled). */
gint64 distill_part_hash_prefix(int fd, gint64 length, GChecksum *checksum, GCancellable *cancellable);
/* A GIOError from errno; format has two %s: path, then strerror. */
GError *distill_part_io_error(int saved_errno, const char *format, const char *path);

void distill_part_prepare_free(DistillPartPrepare *job);
void distill_part_prepare_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable);
void distill_part_write_free(DistillPartWrite *job);
void distill_part_write_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable);
void distill_part_checkpoint_free(DistillPartCheckpoint *job);
void distill_part_checkpoint_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable);
void distill_part_finish_free(DistillPartFinish *job);
void distill_part_finish_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable);
void distill_part_hash_file_free(DistillPartHashFile *job);
void distill_part_hash_file_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable);

G_END_DECLS
