/* distill-download-io.c — worker-thread jobs of a download (see distill-download-io.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "distill-download-io.h"

#define HASH_BLOCK (1024 * 1024)

/* Hash the first `length` bytes of fd into checksum; returns how many could be read. */
gint64 distill_part_hash_prefix(int fd, gint64 length, GChecksum *checksum, GCancellable *cancellable)
{
  g_autofree guchar *buf = g_malloc(HASH_BLOCK);
  gint64 done = 0;
  while (done < length) {
    if (g_cancellable_is_cancelled(cancellable)) break;
    size_t want = (size_t)MIN((gint64)HASH_BLOCK, length - done);
    ssize_t n = pread(fd, buf, want, done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    g_checksum_update(checksum, buf, n);
    done += n;
  }
  return done;
}

static gboolean fsync_ok(int fd)
{
  /* EINVAL/EROFS: the file cannot be synced at all (a special file); nothing to wait for. */
  return fsync(fd) == 0 || errno == EINVAL || errno == EROFS;
}

GError *distill_part_io_error(int saved_errno, const char *format, const char *path)
{
  GError *error = g_error_new(G_IO_ERROR, g_io_error_from_errno(saved_errno), format, path,
                              g_strerror(saved_errno));
  return error;
}

void distill_part_prepare_free(DistillPartPrepare *j)
{
  if (j->fd >= 0) close(j->fd);
  g_free(j->part_path);
  g_free(j->state_path);
  g_free(j->dest_path);
  g_free(j->repo);
  g_free(j->file);
  g_free(j->revision);
  g_clear_pointer(&j->checksum, g_checksum_free);
  distill_download_state_file_free(j->record);
  g_free(j->note);
  g_free(j);
}

void distill_part_prepare_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DistillPartPrepare *j = data;
  g_autofree char *dir = g_path_get_dirname(j->dest_path);
  if (g_mkdir_with_parents(dir, 0755) != 0) {
    int e = errno;
    g_task_return_error(task, distill_part_io_error(e, _("Could not create the folder %s: %s"), dir));
    return;
  }
  if (g_file_test(j->dest_path, G_FILE_TEST_EXISTS) && !g_file_test(j->part_path, G_FILE_TEST_EXISTS)) {
    j->dest_exists = TRUE;
    g_task_return_boolean(task, TRUE);
    return;
  }

  j->record = distill_download_state_file_load(j->state_path, NULL);
  gboolean stale = FALSE;
  if (j->record && (g_strcmp0(j->record->repo, j->repo) != 0 || g_strcmp0(j->record->file, j->file) != 0 ||
                    g_strcmp0(j->record->revision, j->revision) != 0)) {
    /* The part belongs to another request for the same destination (another revision). */
    g_clear_pointer(&j->record, distill_download_state_file_free);
    stale = TRUE;
  }

  j->fd = g_open(j->part_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (j->fd < 0) {
    int e = errno;
    g_task_return_error(task, distill_part_io_error(e, _("Could not open %s: %s"), j->part_path));
    return;
  }
  /* One writer per part: another window or a `distill pull` of the same file would interleave
   * bytes. The lock goes away with the fd, also when the process dies. */
  /* A run of this process that was just stopped may hold it a moment longer while it winds
   * down (a cancelled read still returning): wait a little before calling it busy. */
  gboolean busy = FALSE;
  for (gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;;) {
    busy = flock(j->fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    if (!busy || g_cancellable_is_cancelled(cancellable) || g_get_monotonic_time() >= end) break;
    g_usleep(50 * 1000);
  }
  if (busy && g_cancellable_is_cancelled(cancellable)) {
    g_task_return_boolean(task, TRUE); /* paused or cancelled while waiting: j->complete stays FALSE */
    return;
  }
  if (busy) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_BUSY,
                            _("%s is already being downloaded by another Distill window or `distill pull`."),
                            j->part_path);
    return;
  }
  struct stat st;
  if (fstat(j->fd, &st) != 0) {
    int e = errno;
    g_task_return_error(task, distill_part_io_error(e, _("Could not read %s: %s"), j->part_path));
    return;
  }
  gint64 size = S_ISREG(st.st_mode) ? st.st_size : 0;
  gint64 keep = size;
  if (stale && size > 0) {
    keep = 0;
    j->note = g_strdup(_("The partial download was for another revision; starting over."));
  }
  const char *boot_id = distill_download_state_boot_id();
  if (j->record && j->record->boot_id && boot_id && strcmp(j->record->boot_id, boot_id) != 0 &&
      keep > j->record->checkpoint) {
    /* Rebooted since: only the fsync'd prefix is known to be on disk. */
    keep = j->record->checkpoint;
  }
  if (j->record && j->record->size >= 0 && keep > j->record->size) keep = 0; /* cannot be right */
  if (keep < size && ftruncate(j->fd, keep) != 0) {
    int e = errno;
    g_task_return_error(task, distill_part_io_error(e, _("Could not shorten %s: %s"), j->part_path));
    return;
  }

  j->checksum = g_checksum_new(G_CHECKSUM_SHA256);
  j->offset = distill_part_hash_prefix(j->fd, keep, j->checksum, cancellable);
  if (g_cancellable_is_cancelled(cancellable)) {
    g_task_return_boolean(task, TRUE); /* paused: j->complete stays FALSE, the part is left as it is */
    return;
  }
  if (j->offset < keep && ftruncate(j->fd, j->offset) != 0) {
    int e = errno;
    g_task_return_error(task, distill_part_io_error(e, _("Could not shorten %s: %s"), j->part_path));
    return;
  }
  j->complete = TRUE;
  g_task_return_boolean(task, TRUE);
}

void distill_part_write_free(DistillPartWrite *j)
{
  g_bytes_unref(j->bytes);
  distill_download_state_file_free(j->record);
  g_free(j->state_path);
  g_free(j->part_path);
  g_free(j);
}

static gboolean checkpoint(int fd, DistillDownloadStateFile *record, const char *state_path,
                           const char *part_path, GError **error)
{
  if (fd >= 0 && !fsync_ok(fd)) {
    int e = errno;
    g_propagate_error(error, distill_part_io_error(e, _("Could not write %s: %s"), part_path));
    return FALSE;
  }
  if (record == NULL) return TRUE;
  g_autofree char *json = distill_download_state_file_to_json(record);
  return distill_download_state_file_save_json(json, state_path, error);
}

void distill_part_write_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DistillPartWrite *j = data;
  gsize len = 0;
  const guchar *buf = g_bytes_get_data(j->bytes, &len);
  while ((gsize)j->written < len) {
    ssize_t n = pwrite(j->fd, buf + j->written, len - j->written, j->offset + j->written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      /* keep the hash in step with what did reach the file */
      g_checksum_update(j->checksum, buf, j->written);
      g_task_return_error(task, distill_part_io_error(e, _("Could not write %s: %s"), j->part_path));
      return;
    }
    j->written += n;
  }
  g_checksum_update(j->checksum, buf, len);
  GError *error = NULL;
  if (j->record && !checkpoint(j->fd, j->record, j->state_path, j->part_path, &error)) {
    g_task_return_error(task, error);
    return;
  }
  g_task_return_boolean(task, TRUE);
}

void distill_part_checkpoint_free(DistillPartCheckpoint *j)
{
  distill_download_state_file_free(j->record);
  g_free(j->state_path);
  g_free(j->part_path);
  g_free(j);
}

void distill_part_checkpoint_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DistillPartCheckpoint *j = data;
  GError *error = NULL;
  gboolean ok = checkpoint(j->fd, j->record, j->state_path, j->part_path, &error);
  if (j->close_fd && j->fd >= 0) close(j->fd);
  if (j->remove_empty) {
    struct stat st;
    if (g_lstat(j->part_path, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_size == 0)) {
      g_unlink(j->part_path);
      g_unlink(j->state_path);
    }
  }
  if (ok) g_task_return_boolean(task, TRUE);
  else g_task_return_error(task, error);
}

void distill_part_finish_free(DistillPartFinish *j)
{
  g_free(j->part_path);
  g_free(j->dest_path);
  g_free(j->state_path);
  g_free(j->expected_sha256);
  g_free(j->expected_sha1);
  distill_download_state_file_free(j->record);
  g_free(j->actual);
  g_free(j->problem);
  g_free(j);
}

void distill_part_finish_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DistillPartFinish *j = data;
  GError *error = NULL;
  if (!fsync_ok(j->fd)) {
    int e = errno;
    g_task_return_error(task, distill_part_io_error(e, _("Could not write %s: %s"), j->part_path));
    return;
  }
  g_autofree char *size_str = g_format_size_full((guint64)j->offset, G_FORMAT_SIZE_LONG_FORMAT);
  if (j->expected_size >= 0 && j->offset != j->expected_size) {
    g_autofree char *want = g_format_size_full((guint64)j->expected_size, G_FORMAT_SIZE_LONG_FORMAT);
    j->problem = g_strdup_printf(_("the file has %s but should have %s"), size_str, want);
  } else if (j->expected_sha256) {
    g_autoptr(GChecksum) copy = g_checksum_copy(j->checksum);
    j->actual = g_strdup(g_checksum_get_string(copy));
    if (g_ascii_strcasecmp(j->actual, j->expected_sha256) != 0)
      j->problem = g_strdup_printf(_("its SHA-256 is %s but Hugging Face lists %s"), j->actual, j->expected_sha256);
  } else if (j->expected_sha1) {
    /* Small non-LFS files are identified by their git blob id: sha1("blob SIZE\0" + content). */
    g_autoptr(GChecksum) sha1 = g_checksum_new(G_CHECKSUM_SHA1);
    g_autofree char *header = g_strdup_printf("blob %" G_GINT64_FORMAT, j->offset);
    g_checksum_update(sha1, (const guchar *)header, strlen(header) + 1);
    if (distill_part_hash_prefix(j->fd, j->offset, sha1, NULL) != j->offset) {
      j->problem = g_strdup(_("the file could not be read back"));
    } else {
      j->actual = g_strdup(g_checksum_get_string(sha1));
      if (g_ascii_strcasecmp(j->actual, j->expected_sha1) != 0)
        j->problem = g_strdup_printf(_("its git id is %s but Hugging Face lists %s"), j->actual, j->expected_sha1);
    }
  } else {
    j->problem = g_strdup(_("Hugging Face did not say which checksum the file should have"));
  }

  if (j->problem) {
    j->record->verification_failed = TRUE;
    g_free(j->record->actual_sha256);
    j->record->actual_sha256 = g_strdup(j->actual);
    j->record->checkpoint = j->offset;
    g_autofree char *json = distill_download_state_file_to_json(j->record);
    if (!distill_download_state_file_save_json(json, j->state_path, &error)) {
      g_task_return_error(task, error);
      return;
    }
    g_task_return_boolean(task, TRUE);
    return;
  }

  if (g_rename(j->part_path, j->dest_path) != 0) {
    int e = errno;
    g_task_return_error(task, distill_part_io_error(e, _("Could not rename the finished download to %s: %s"), j->dest_path));
    return;
  }
  /* make the rename itself durable before forgetting the state */
  g_autofree char *dir = g_path_get_dirname(j->dest_path);
  int dfd = g_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  g_unlink(j->state_path);
  j->verified = TRUE;
  g_task_return_boolean(task, TRUE);
}

void distill_part_hash_file_free(DistillPartHashFile *j)
{
  g_free(j->path);
  g_free(j->actual);
  g_free(j);
}

void distill_part_hash_file_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  DistillPartHashFile *j = data;
  int fd = g_open(j->path, O_RDONLY | O_CLOEXEC, 0);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    g_task_return_error(task, distill_part_io_error(e, _("Could not read %s: %s"), j->path));
    return;
  }
  g_autoptr(GChecksum) sum = g_checksum_new(j->sha1_git ? G_CHECKSUM_SHA1 : G_CHECKSUM_SHA256);
  if (j->sha1_git) {
    g_autofree char *header = g_strdup_printf("blob %" G_GINT64_FORMAT, (gint64)st.st_size);
    g_checksum_update(sum, (const guchar *)header, strlen(header) + 1);
  }
  gint64 n = distill_part_hash_prefix(fd, st.st_size, sum, cancellable);
  close(fd);
  if (n != st.st_size) {
    g_task_return_error(task, g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not read %s"), j->path));
    return;
  }
  j->actual = g_strdup(g_checksum_get_string(sum));
  g_task_return_boolean(task, TRUE);
}
