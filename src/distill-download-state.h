/* distill-download-state.h — the small JSON file kept beside a download's NAME.part.
 *
 * It says what the partial file is (which repo, file, commit, size, sha256) so a later run —
 * after a crash, a SIGKILL or a reboot — can resume it safely, and how much of the part was on
 * disk for sure (fsync'd) at the last checkpoint, with the boot it was written in: after a
 * reboot the bytes past the checkpoint may not have reached the disk and are cut off. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *url;        /* the hub resolve URL */
  char *repo;
  char *file;
  char *revision;   /* what was asked for ("main") */
  char *commit;     /* what it resolved to (X-Repo-Commit); later requests use it */
  gint64 size;      /* expected size, -1 unknown */
  char *sha256;     /* expected LFS sha256, or NULL */
  char *etag;       /* the hub's etag (sha256, or git blob sha1 for small files), or NULL */
  gint64 checkpoint;/* bytes of the part known to be on disk (fsync'd) */
  char *boot_id;    /* the boot the checkpoint was written in (Linux boot_id), or NULL */
  gboolean verification_failed;
  char *actual_sha256; /* what the finished part hashed to when verification failed */
} DistillDownloadStateFile;

DistillDownloadStateFile *distill_download_state_file_new(void);
void distill_download_state_file_free(DistillDownloadStateFile *state);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillDownloadStateFile, distill_download_state_file_free)

/* NULL with G_IO_ERROR_NOT_FOUND when there is no file; NULL with G_IO_ERROR_INVALID_DATA when it
 * is not a state file we can read. */
DistillDownloadStateFile *distill_download_state_file_load(const char *path, GError **error);
char *distill_download_state_file_to_json(const DistillDownloadStateFile *state);
/* Atomic (temporary file + rename) and durable (fsync'd). Call it off the main thread. */
gboolean distill_download_state_file_save_json(const char *json, const char *path, GError **error);

/* This boot's id (/proc/sys/kernel/random/boot_id), or NULL where there is none. */
const char *distill_download_state_boot_id(void);

G_END_DECLS
