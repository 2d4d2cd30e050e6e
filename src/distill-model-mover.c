/* distill-model-mover.c — see distill-model-mover.h. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "distill-catalog.h"
#include "distill-model-mover.h"

#define COPY_BUFFER (1024 * 1024)
#define SPACE_MARGIN (64ull * 1024 * 1024) /* keep the target filesystem from running full */
#define TEMP_SUFFIX ".distill-moving"
#define PROGRESS_INTERVAL_US (100 * 1000)

G_DEFINE_QUARK(distill-mover-error-quark, distill_mover_error)

static guint64 free_space_for_tests = G_MAXUINT64;

void distill_model_mover_set_free_space_for_tests(guint64 bytes)
{
  free_space_for_tests = bytes;
}

static gboolean is_gguf(const char *name)
{
  return g_str_has_suffix(name, ".gguf") || g_str_has_suffix(name, ".GGUF");
}

static void list_dir(const char *root, const char *rel, int depth, GPtrArray *out, guint64 *bytes)
{
  g_autofree char *dir_path = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
  g_autoptr(GDir) dir = g_dir_open(dir_path, 0, NULL);
  if (dir == NULL) return;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(dir)) != NULL) g_ptr_array_add(names, g_strdup(name));
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index(names, i);
    g_autofree char *child_rel = rel ? g_build_filename(rel, n, NULL) : g_strdup(n);
    g_autofree char *path = g_build_filename(root, child_rel, NULL);
    GStatBuf st;
    if (g_lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth == 0 && n[0] != '.') list_dir(root, child_rel, depth + 1, out, bytes);
    } else if (S_ISREG(st.st_mode) && is_gguf(n)) {
      g_ptr_array_add(out, g_steal_pointer(&child_rel));
      if (bytes) *bytes += (guint64)st.st_size;
    }
  }
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

GPtrArray *distill_model_mover_list(const char *from_dir, guint64 *bytes)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  if (bytes) *bytes = 0;
  list_dir(from_dir, NULL, 0, out, bytes);
  g_ptr_array_sort(out, compare_strings);
  return out;
}

/* ---- progress, posted to the caller's context ---- */

typedef struct {
  gatomicrefcount ref;
  gint finished; /* atomic: set before the callback runs; later posts are dropped */
  DistillMoveProgressFunc func;
  gpointer data;
  GMainContext *context;
} ProgressShared;

static ProgressShared *progress_ref(ProgressShared *p)
{
  g_atomic_ref_count_inc(&p->ref);
  return p;
}

static void progress_unref(ProgressShared *p)
{
  if (!g_atomic_ref_count_dec(&p->ref)) return;
  g_main_context_unref(p->context);
  g_free(p);
}

typedef struct {
  ProgressShared *shared;
  guint64 done, total;
  char *file;
} ProgressPost;

static void progress_post_free(ProgressPost *p)
{
  progress_unref(p->shared);
  g_free(p->file);
  g_free(p);
}

static gboolean progress_dispatch(gpointer data)
{
  ProgressPost *p = data;
  if (!g_atomic_int_get(&p->shared->finished) && p->shared->func)
    p->shared->func(p->done, p->total, p->file, p->shared->data);
  return G_SOURCE_REMOVE;
}

/* ---- the job ---- */

typedef struct {
  char *from, *to;
  GStrv in_use;
  ProgressShared *progress;
  gint64 last_post;
  guint n_moved;
  GPtrArray *skipped; /* char* messages */
  GAsyncReadyCallback callback;
  gpointer user_data;
} MoveJob;

static void move_job_free(MoveJob *j)
{
  g_free(j->from);
  g_free(j->to);
  g_strfreev(j->in_use);
  progress_unref(j->progress);
  g_ptr_array_unref(j->skipped);
  g_free(j);
}

static void post_progress(MoveJob *j, guint64 done, guint64 total, const char *file, gboolean force)
{
  gint64 now = g_get_monotonic_time();
  if (!force && now - j->last_post < PROGRESS_INTERVAL_US) return;
  j->last_post = now;
  ProgressPost *p = g_new0(ProgressPost, 1);
  p->shared = progress_ref(j->progress);
  p->done = done;
  p->total = total;
  p->file = g_strdup(file);
  g_main_context_invoke_full(j->progress->context, G_PRIORITY_DEFAULT, progress_dispatch, p,
                             (GDestroyNotify)progress_post_free);
}

/* TRUE when rel is (a shard of) a model in use. */
static gboolean in_use(MoveJob *j, const char *rel)
{
  g_autofree char *path = g_build_filename(j->from, rel, NULL);
  g_autofree char *base = g_path_get_basename(path);
  g_autofree char *dir = g_path_get_dirname(path);
  guint idx, count;
  g_autofree char *stem = NULL;
  gboolean shard = distill_parse_shard_name(base, &idx, &count, &stem);
  for (guint i = 0; j->in_use && j->in_use[i]; i++) {
    g_autofree char *canon = g_canonicalize_filename(j->in_use[i], NULL);
    if (g_strcmp0(canon, path) == 0) return TRUE;
    if (!shard) continue;
    g_autofree char *ubase = g_path_get_basename(canon);
    g_autofree char *udir = g_path_get_dirname(canon);
    g_autofree char *ustem = NULL;
    guint ui, uc;
    if (g_strcmp0(udir, dir) == 0 && distill_parse_shard_name(ubase, &ui, &uc, &ustem) && g_strcmp0(ustem, stem) == 0 &&
        uc == count)
      return TRUE;
  }
  return FALSE;
}

static gboolean write_all(int fd, const guint8 *buf, gsize len)
{
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return FALSE;
    buf += n;
    len -= (gsize)n;
  }
  return TRUE;
}

/* Copy src to dst (created, not overwritten), flushed to disk; TRUE when dst has src's size. */
static gboolean copy_file(MoveJob *j, const char *rel, const char *src, const char *dst, guint64 *done, guint64 total,
                          GCancellable *cancellable, GError **error)
{
  int in = g_open(src, O_RDONLY | O_CLOEXEC, 0);
  if (in < 0) {
    int e = errno;
    g_set_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED, _("Could not read %s: %s"), src, g_strerror(e));
    return FALSE;
  }
  int out = g_open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    int e = errno;
    close(in);
    g_set_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED, _("Could not write %s: %s"), dst, g_strerror(e));
    return FALSE;
  }
  guint8 *buf = g_malloc(COPY_BUFFER);
  gboolean ok = TRUE;
  int err = 0;
  for (;;) {
    if (g_cancellable_set_error_if_cancelled(cancellable, error)) {
      ok = FALSE;
      break;
    }
    ssize_t n = read(in, buf, COPY_BUFFER);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      ok = FALSE;
      break;
    }
    if (n == 0) break;
    if (!write_all(out, buf, (gsize)n)) {
      err = errno ? errno : EIO;
      ok = FALSE;
      break;
    }
    *done += (guint64)n;
    post_progress(j, *done, total, rel, FALSE);
  }
  g_free(buf);
  if (ok && fsync(out) != 0) {
    err = errno;
    ok = FALSE;
  }
  if (close(out) != 0 && ok) {
    err = errno;
    ok = FALSE;
  }
  GStatBuf a, b;
  if (ok && (g_stat(src, &a) != 0 || g_stat(dst, &b) != 0 || a.st_size != b.st_size)) {
    g_set_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED,
                _("The copy of %s does not have the size of the original."), rel);
    ok = FALSE;
  } else if (!ok && error && *error == NULL) {
    g_set_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED, _("Could not copy %s: %s"), rel,
                g_strerror(err ? err : EIO));
  }
  close(in);
  return ok;
}

static gboolean make_parent(const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0755) == 0 && g_file_test(dir, G_FILE_TEST_IS_DIR)) return TRUE;
  int e = errno;
  g_set_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED, _("Could not create the folder %s: %s"), dir,
              g_strerror(e ? e : ENOTDIR));
  return FALSE;
}

static guint64 free_bytes(const char *dir)
{
  if (free_space_for_tests != G_MAXUINT64) return free_space_for_tests;
  g_autoptr(GFile) f = g_file_new_for_path(dir);
  g_autoptr(GFileInfo) info = g_file_query_filesystem_info(f, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
  if (info == NULL || !g_file_info_has_attribute(info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE)) return G_MAXUINT64;
  return g_file_info_get_attribute_uint64(info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
}

/* Remove the now empty sub-folders of the old folder (split models had their own). */
static void prune_dirs(const char *from, GPtrArray *moved)
{
  for (guint i = 0; i < moved->len; i++) {
    g_autofree char *path = g_build_filename(from, g_ptr_array_index(moved, i), NULL);
    g_autofree char *dir = g_path_get_dirname(path);
    if (g_strcmp0(dir, from) != 0) g_rmdir(dir); /* fails while not empty: fine */
  }
}

static void move_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  (void)source;
  MoveJob *j = data;
  GError *error = NULL;
  g_autoptr(GPtrArray) all = distill_model_mover_list(j->from, NULL);
  g_autoptr(GPtrArray) todo = g_ptr_array_new_with_free_func(g_free);
  guint64 total = 0;
  for (guint i = 0; i < all->len; i++) {
    const char *rel = g_ptr_array_index(all, i);
    g_autofree char *dst = g_build_filename(j->to, rel, NULL);
    if (in_use(j, rel)) {
      g_ptr_array_add(j->skipped, g_strdup_printf(_("%s is in use (loaded in a chat), so it was left in the old "
                                                    "folder. Move it after loading another model."), rel));
      continue;
    }
    if (g_file_test(dst, G_FILE_TEST_EXISTS)) {
      g_ptr_array_add(j->skipped, g_strdup_printf(_("The new folder already has a file named %s, so the one in "
                                                    "the old folder was left there."), rel));
      continue;
    }
    g_autofree char *src = g_build_filename(j->from, rel, NULL);
    GStatBuf st;
    if (g_stat(src, &st) == 0) total += (guint64)st.st_size;
    g_ptr_array_add(todo, g_strdup(rel));
  }
  if (todo->len == 0) {
    g_task_return_boolean(task, TRUE);
    return;
  }
  if (g_mkdir_with_parents(j->to, 0755) != 0 || !g_file_test(j->to, G_FILE_TEST_IS_DIR)) {
    int e = errno;
    g_task_return_new_error(task, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED,
                            _("Could not create the folder %s: %s. Nothing was moved."), j->to, g_strerror(e ? e : ENOTDIR));
    return;
  }
  GStatBuf a, b;
  gboolean same_fs = g_stat(j->from, &a) == 0 && g_stat(j->to, &b) == 0 && a.st_dev == b.st_dev;

  if (same_fs) {
    /* rename each; on an error, rename back what moved so far */
    guint n = 0;
    for (; n < todo->len; n++) {
      const char *rel = g_ptr_array_index(todo, n);
      g_autofree char *src = g_build_filename(j->from, rel, NULL);
      g_autofree char *dst = g_build_filename(j->to, rel, NULL);
      post_progress(j, n, todo->len, rel, TRUE);
      if (g_cancellable_set_error_if_cancelled(cancellable, &error)) break;
      if (!make_parent(dst, &error)) break;
      if (g_rename(src, dst) != 0) {
        int e = errno;
        g_set_error(&error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED, _("Could not move %s: %s"), rel,
                    g_strerror(e));
        break;
      }
    }
    if (error != NULL) {
      for (guint k = 0; k < n; k++) {
        const char *rel = g_ptr_array_index(todo, k);
        g_autofree char *src = g_build_filename(j->from, rel, NULL);
        g_autofree char *dst = g_build_filename(j->to, rel, NULL);
        if (g_rename(dst, src) != 0) g_message("could not move %s back to %s: it stays in %s", rel, j->from, j->to);
      }
      g_prefix_error(&error, "%s ", _("Nothing was moved; the models are still in the old folder."));
      g_task_return_error(task, error);
      return;
    }
    prune_dirs(j->from, todo);
    j->n_moved = todo->len;
    g_task_return_boolean(task, TRUE);
    return;
  }

  /* another filesystem: copy everything first (the originals stay until all copies are good) */
  guint64 have = free_bytes(j->to);
  if (have != G_MAXUINT64 && have < total + SPACE_MARGIN) {
    g_autofree char *need = g_format_size(total + SPACE_MARGIN);
    g_autofree char *free_s = g_format_size(have);
    g_task_return_new_error(task, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_NO_SPACE,
                            _("The new folder needs %s of free space for the models, but only %s is free there. "
                              "Nothing was moved."),
                            need, free_s);
    return;
  }
  guint64 done = 0;
  guint copied = 0;
  for (; copied < todo->len; copied++) {
    const char *rel = g_ptr_array_index(todo, copied);
    g_autofree char *src = g_build_filename(j->from, rel, NULL);
    g_autofree char *tmp = g_strconcat(j->to, G_DIR_SEPARATOR_S, rel, TEMP_SUFFIX, NULL);
    if (!make_parent(tmp, &error)) break;
    g_unlink(tmp); /* a leftover of an interrupted move: ours to replace */
    if (!copy_file(j, rel, src, tmp, &done, total, cancellable, &error)) {
      g_unlink(tmp);
      break;
    }
  }
  if (error == NULL) {
    /* all copies are good: give them their names (same filesystem: atomic) */
    guint named = 0;
    for (; named < todo->len; named++) {
      const char *rel = g_ptr_array_index(todo, named);
      g_autofree char *tmp = g_strconcat(j->to, G_DIR_SEPARATOR_S, rel, TEMP_SUFFIX, NULL);
      g_autofree char *dst = g_build_filename(j->to, rel, NULL);
      if (g_file_test(dst, G_FILE_TEST_EXISTS) || g_rename(tmp, dst) != 0) {
        int e = errno;
        g_set_error(&error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED, _("Could not move %s: %s"), rel,
                    g_strerror(e ? e : EEXIST));
        break;
      }
    }
    if (error != NULL) {
      /* the originals are all still there: drop the copies that already got their names */
      for (guint k = 0; k < named; k++) {
        g_autofree char *dst = g_build_filename(j->to, g_ptr_array_index(todo, k), NULL);
        g_unlink(dst);
      }
      for (guint k = named; k < todo->len; k++) {
        g_autofree char *tmp = g_strconcat(j->to, G_DIR_SEPARATOR_S, g_ptr_array_index(todo, k), TEMP_SUFFIX, NULL);
        g_unlink(tmp);
      }
      copied = 0; /* nothing more to clean below */
    }
  }
  if (error != NULL) {
    for (guint k = 0; k < copied; k++) {
      g_autofree char *tmp = g_strconcat(j->to, G_DIR_SEPARATOR_S, g_ptr_array_index(todo, k), TEMP_SUFFIX, NULL);
      g_unlink(tmp);
    }
    g_prefix_error(&error, "%s ", _("Nothing was moved; the models are still in the old folder."));
    g_task_return_error(task, error);
    return;
  }
  /* every file is in the new folder: now the originals can go */
  for (guint k = 0; k < todo->len; k++) {
    const char *rel = g_ptr_array_index(todo, k);
    g_autofree char *src = g_build_filename(j->from, rel, NULL);
    if (g_unlink(src) != 0)
      g_ptr_array_add(j->skipped, g_strdup_printf(_("%s was copied to the new folder, but the old copy could not be "
                                                    "removed."), rel));
  }
  prune_dirs(j->from, todo);
  post_progress(j, total, total, NULL, TRUE);
  j->n_moved = todo->len;
  g_task_return_boolean(task, TRUE);
}

static void move_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  (void)user_data;
  MoveJob *j = g_task_get_task_data(G_TASK(result));
  g_atomic_int_set(&j->progress->finished, 1);
  j->callback(source, result, j->user_data);
}

void distill_model_mover_move_async(const char *from_dir, const char *to_dir, const char *const *in_use_paths,
                                    DistillMoveProgressFunc progress, gpointer progress_data,
                                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  MoveJob *j = g_new0(MoveJob, 1);
  j->from = g_canonicalize_filename(from_dir, NULL);
  j->to = g_canonicalize_filename(to_dir, NULL);
  j->in_use = g_strdupv((char **)in_use_paths);
  j->skipped = g_ptr_array_new_with_free_func(g_free);
  j->progress = g_new0(ProgressShared, 1);
  g_atomic_ref_count_init(&j->progress->ref);
  j->progress->func = progress;
  j->progress->data = progress_data;
  j->progress->context = g_main_context_ref_thread_default();
  j->callback = callback;
  j->user_data = user_data;
  GTask *task = g_task_new(NULL, cancellable, move_done, NULL);
  g_task_set_source_tag(task, distill_model_mover_move_async);
  g_task_set_task_data(task, j, (GDestroyNotify)move_job_free);
  g_autofree char *to_in_from = g_strconcat(j->from, G_DIR_SEPARATOR_S, NULL);
  if (g_strcmp0(j->from, j->to) == 0 || g_str_has_prefix(j->to, to_in_from)) {
    g_task_return_new_error(task, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_SAME_FOLDER,
                            _("The new folder is the old folder or inside it; choose another one."));
  } else {
    g_task_run_in_thread(task, move_thread);
  }
  g_object_unref(task);
}

gboolean distill_model_mover_move_finish(GAsyncResult *result, guint *n_moved, GStrv *skipped, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
  MoveJob *j = g_task_get_task_data(G_TASK(result));
  if (n_moved) *n_moved = j->n_moved;
  if (skipped) {
    GStrvBuilder *b = g_strv_builder_new();
    for (guint i = 0; i < j->skipped->len; i++) g_strv_builder_add(b, g_ptr_array_index(j->skipped, i));
    *skipped = g_strv_builder_end(b);
    g_strv_builder_unref(b);
  }
  return g_task_propagate_boolean(G_TASK(result), error);
}
