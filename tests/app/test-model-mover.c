/* test-model-mover.c — moving the models folder: same-filesystem renames and cross-filesystem
 * copies (/dev/shm is another filesystem here when it exists) move every file; a failure half way
 * (a target path that cannot be created) leaves all originals in place and no copies behind; too
 * little free space is refused with the amount needed; the model in use stays, with a message;
 * the Preferences flow (question → move → the models-folder setting follows). */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "distill-folder-change.h"
#include "distill-model-mover.h"
#include "distill-resources.h"

static char *tmp_root;

static void spin_ms(guint ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  while (g_get_monotonic_time() < end) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
  }
}

static void write_file(const char *dir, const char *rel, gsize size, guint8 seed)
{
  g_autofree char *path = g_build_filename(dir, rel, NULL);
  g_autofree char *parent = g_path_get_dirname(path);
  g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
  guint8 *data = g_malloc(size);
  for (gsize i = 0; i < size; i++) data[i] = (guint8)(seed + i * 7);
  g_assert_true(g_file_set_contents(path, (const char *)data, (gssize)size, NULL));
  g_free(data);
}

static gboolean same_content(const char *dir, const char *rel, gsize size, guint8 seed)
{
  g_autofree char *path = g_build_filename(dir, rel, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &data, &len, NULL) || len != size) return FALSE;
  for (gsize i = 0; i < size; i++)
    if ((guint8)data[i] != (guint8)(seed + i * 7)) return FALSE;
  return TRUE;
}

/* a folder like the models folder: two single files, a split model in a sub-folder, a partial
 * download (stays), a file that is not a model (stays) */
static const struct {
  const char *rel;
  gsize size;
  guint8 seed;
} model_files[] = {
  {"A-Q4_K_M.gguf", 300000, 1},
  {"B-Q8_0.gguf", 200000, 2},
  {"big/C-F16-00001-of-00002.gguf", 150000, 3},
  {"big/C-F16-00002-of-00002.gguf", 100000, 4},
};

static void make_models(const char *dir)
{
  for (guint i = 0; i < G_N_ELEMENTS(model_files); i++)
    write_file(dir, model_files[i].rel, model_files[i].size, model_files[i].seed);
  write_file(dir, "D-Q4_0.gguf.part", 1000, 5);
  write_file(dir, "notes.txt", 10, 6);
}

static gboolean all_in(const char *dir)
{
  for (guint i = 0; i < G_N_ELEMENTS(model_files); i++)
    if (!same_content(dir, model_files[i].rel, model_files[i].size, model_files[i].seed)) return FALSE;
  return TRUE;
}

static gboolean none_in(const char *dir)
{
  for (guint i = 0; i < G_N_ELEMENTS(model_files); i++) {
    g_autofree char *path = g_build_filename(dir, model_files[i].rel, NULL);
    g_autofree char *tmp = g_strconcat(path, ".distill-moving", NULL);
    if (g_file_test(path, G_FILE_TEST_EXISTS) || g_file_test(tmp, G_FILE_TEST_EXISTS)) return FALSE;
  }
  return TRUE;
}

typedef struct {
  GAsyncResult *result;
  guint progress_calls;
  guint64 last_done, last_total;
} Wait;

static void on_progress(guint64 done, guint64 total, const char *file, gpointer data)
{
  Wait *w = data;
  g_assert_null(w->result); /* never after the end */
  w->progress_calls++;
  g_assert_cmpuint(done, <=, total);
  w->last_done = done;
  w->last_total = total;
  (void)file;
}

static void on_done(GObject *src, GAsyncResult *res, gpointer data)
{
  (void)src;
  Wait *w = data;
  w->result = g_object_ref(res);
}

static gboolean run_move(const char *from, const char *to, const char *const *in_use, guint *n, GStrv *skipped,
                         GError **error, Wait *w)
{
  memset(w, 0, sizeof *w);
  distill_model_mover_move_async(from, to, in_use, on_progress, w, NULL, on_done, w);
  gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (w->result == NULL) {
    g_main_context_iteration(NULL, TRUE);
    g_assert_cmpint(g_get_monotonic_time(), <, end);
  }
  gboolean ok = distill_model_mover_move_finish(w->result, n, skipped, error);
  g_clear_object(&w->result);
  spin_ms(20); /* late progress posts must be dropped */
  return ok;
}

static char *new_dir(const char *base, const char *name)
{
  g_autofree char *t = g_strdup_printf("%s/%s-XXXXXX", base, name);
  char *d = g_mkdtemp(g_steal_pointer(&t));
  g_assert_nonnull(d);
  return d;
}

static void test_list(void)
{
  g_autofree char *from = new_dir(tmp_root, "list");
  make_models(from);
  guint64 bytes = 0;
  g_autoptr(GPtrArray) files = distill_model_mover_list(from, &bytes);
  g_assert_cmpuint(files->len, ==, 4);
  g_assert_cmpuint(bytes, ==, 750000);
  g_assert_cmpstr(g_ptr_array_index(files, 0), ==, "A-Q4_K_M.gguf");
  g_assert_cmpstr(g_ptr_array_index(files, 2), ==, "big/C-F16-00001-of-00002.gguf");
}

static void test_same_filesystem(void)
{
  g_autofree char *from = new_dir(tmp_root, "from");
  g_autofree char *parent = new_dir(tmp_root, "to");
  g_autofree char *to = g_build_filename(parent, "models", NULL); /* created by the move */
  make_models(from);
  guint n = 0;
  g_auto(GStrv) skipped = NULL;
  g_autoptr(GError) error = NULL;
  Wait w;
  g_assert_true(run_move(from, to, NULL, &n, &skipped, &error, &w));
  g_assert_no_error(error);
  g_assert_cmpuint(n, ==, 4);
  g_assert_cmpuint(g_strv_length(skipped), ==, 0);
  g_assert_true(all_in(to));
  g_assert_true(none_in(from));
  /* partial downloads and other files stay; the emptied sub-folder goes */
  g_autofree char *part = g_build_filename(from, "D-Q4_0.gguf.part", NULL);
  g_autofree char *notes = g_build_filename(from, "notes.txt", NULL);
  g_autofree char *big = g_build_filename(from, "big", NULL);
  g_assert_true(g_file_test(part, G_FILE_TEST_EXISTS));
  g_assert_true(g_file_test(notes, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(big, G_FILE_TEST_EXISTS));
}

static void test_same_filesystem_failure_rolls_back(void)
{
  g_autofree char *from = new_dir(tmp_root, "from");
  g_autofree char *to = new_dir(tmp_root, "to");
  make_models(from);
  /* "big" is a file in the target: the split model's folder cannot be made there, after the
   * single files were already renamed */
  write_file(to, "big", 3, 9);
  guint n = 0;
  g_autoptr(GError) error = NULL;
  Wait w;
  g_assert_false(run_move(from, to, NULL, &n, NULL, &error, &w));
  g_assert_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED);
  g_assert_nonnull(strstr(error->message, "Nothing was moved"));
  g_assert_cmpuint(n, ==, 0);
  g_assert_true(all_in(from));
  g_assert_true(none_in(to));
}

/* /dev/shm is a tmpfs: another filesystem than the temp folder on most machines */
static char *other_fs_dir(void)
{
  GStatBuf a, b;
  if (g_stat(tmp_root, &a) != 0 || g_stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev ||
      access("/dev/shm", W_OK) != 0)
    return NULL;
  return new_dir("/dev/shm", "distill-mover");
}

static void rm_rf(const char *path)
{
  g_autoptr(GFile) f = g_file_new_for_path(path);
  g_autoptr(GFileEnumerator) e = g_file_enumerate_children(f, G_FILE_ATTRIBUTE_STANDARD_NAME, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (e) {
    GFileInfo *info;
    while ((info = g_file_enumerator_next_file(e, NULL, NULL)) != NULL) {
      g_autofree char *child = g_build_filename(path, g_file_info_get_name(info), NULL);
      if (g_file_test(child, G_FILE_TEST_IS_DIR)) rm_rf(child);
      else g_unlink(child);
      g_object_unref(info);
    }
  }
  g_rmdir(path);
}

static void test_other_filesystem(void)
{
  g_autofree char *other = other_fs_dir();
  if (other == NULL) {
    g_test_skip("no second filesystem (/dev/shm) to copy to");
    return;
  }
  g_autofree char *from = new_dir(tmp_root, "from");
  make_models(from);

  /* too little space: refused before anything is copied, saying how much is needed */
  distill_model_mover_set_free_space_for_tests(100000);
  guint n = 0;
  g_autoptr(GError) error = NULL;
  Wait w;
  g_assert_false(run_move(from, other, NULL, &n, NULL, &error, &w));
  g_assert_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_NO_SPACE);
  g_assert_nonnull(strstr(error->message, "MB")); /* the amount needed, in words */
  g_assert_true(all_in(from));
  g_assert_true(none_in(other));
  g_clear_error(&error);
  distill_model_mover_set_free_space_for_tests(G_MAXUINT64);

  /* a failure half way through the copies: every copy is removed, the originals stay */
  write_file(other, "big", 3, 9);
  g_assert_false(run_move(from, other, NULL, &n, NULL, &error, &w));
  g_assert_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_FAILED);
  g_assert_true(all_in(from));
  g_assert_true(none_in(other));
  g_clear_error(&error);
  g_autofree char *blocker = g_build_filename(other, "big", NULL);
  g_unlink(blocker);

  /* success: copied, verified, and only then the originals removed; progress was reported */
  g_auto(GStrv) skipped = NULL;
  g_assert_true(run_move(from, other, NULL, &n, &skipped, &error, &w));
  g_assert_no_error(error);
  g_assert_cmpuint(n, ==, 4);
  g_assert_true(all_in(other));
  g_assert_true(none_in(from));
  g_assert_cmpuint(w.progress_calls, >, 0);
  rm_rf(other);
}

static void test_in_use_and_conflicts(void)
{
  g_autofree char *from = new_dir(tmp_root, "from");
  g_autofree char *to = new_dir(tmp_root, "to");
  make_models(from);
  /* the loaded model is shard 1 of the split one: both shards stay */
  g_autofree char *loaded = g_build_filename(from, "big", "C-F16-00001-of-00002.gguf", NULL);
  const char *in_use[] = {loaded, NULL};
  /* and the target already has a B: never overwritten */
  write_file(to, "B-Q8_0.gguf", 5, 7);
  guint n = 0;
  g_auto(GStrv) skipped = NULL;
  g_autoptr(GError) error = NULL;
  Wait w;
  g_assert_true(run_move(from, to, in_use, &n, &skipped, &error, &w));
  g_assert_no_error(error);
  g_assert_cmpuint(n, ==, 1);
  g_assert_cmpuint(g_strv_length(skipped), ==, 3);
  g_autofree char *all = g_strjoinv("\n", skipped);
  g_assert_nonnull(strstr(all, "in use"));
  g_assert_nonnull(strstr(all, "already has a file named B-Q8_0.gguf"));
  g_assert_true(same_content(to, "A-Q4_K_M.gguf", 300000, 1));
  g_assert_true(same_content(from, "B-Q8_0.gguf", 200000, 2));
  g_assert_true(same_content(to, "B-Q8_0.gguf", 5, 7));
  g_assert_true(same_content(from, "big/C-F16-00001-of-00002.gguf", 150000, 3));
  g_assert_true(same_content(from, "big/C-F16-00002-of-00002.gguf", 100000, 4));

  /* moving into a folder inside the old one is refused */
  g_autofree char *inside = g_build_filename(from, "sub", NULL);
  g_assert_false(run_move(from, inside, NULL, &n, NULL, &error, &w));
  g_assert_error(error, DISTILL_MOVER_ERROR, DISTILL_MOVER_ERROR_SAME_FOLDER);
}

static gboolean moves_done(void)
{
  return distill_folder_change_n_running() == 0;
}

static void test_preferences_flow(void)
{
  g_autoptr(GSettings) settings = g_settings_new("io.github.distillapp.Distill");
  g_autofree char *from = new_dir(tmp_root, "pref-from");
  g_autofree char *to = new_dir(tmp_root, "pref-to");
  g_autofree char *empty = new_dir(tmp_root, "pref-empty");
  g_settings_set_string(settings, "models-folder", empty);
  /* an empty folder: nothing to ask, the setting changes at once */
  AdwMessageDialog *d = distill_folder_change_run(NULL, settings, from, NULL, NULL);
  g_assert_null(d);
  g_autofree char *now = g_settings_get_string(settings, "models-folder");
  g_assert_cmpstr(now, ==, from);

  make_models(from);
  GtkWidget *row = adw_action_row_new();
  g_object_ref_sink(row);
  /* cancel: nothing changes */
  d = distill_folder_change_run(NULL, settings, to, NULL, ADW_ACTION_ROW(row));
  g_assert_nonnull(d);
  adw_message_dialog_response(d, "cancel");
  g_autofree char *still = g_settings_get_string(settings, "models-folder");
  g_assert_cmpstr(still, ==, from);
  g_assert_true(all_in(from));
  /* move: the files go, then the setting follows */
  d = distill_folder_change_run(NULL, settings, to, NULL, ADW_ACTION_ROW(row));
  g_assert_nonnull(d);
  adw_message_dialog_response(d, "move");
  g_assert_false(gtk_widget_get_sensitive(row)); /* busy while moving */
  gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (!moves_done()) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
    g_assert_cmpint(g_get_monotonic_time(), <, end);
  }
  g_autofree char *moved = g_settings_get_string(settings, "models-folder");
  g_autofree char *canon_to = g_canonicalize_filename(to, NULL);
  g_assert_cmpstr(moved, ==, canon_to);
  g_assert_true(all_in(to));
  g_assert_true(none_in(from));
  g_assert_true(gtk_widget_get_sensitive(row));
  g_assert_nonnull(strstr(distill_folder_change_last_result(), "4 files were moved"));
  g_object_unref(row);
  g_settings_reset(settings, "models-folder");
}

int main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  tmp_root = g_dir_make_tmp("distill-mover-XXXXXX", &error);
  g_assert_no_error(error);
  gtk_test_init(&argc, &argv, NULL);
  adw_init();
  distill_register_resource();
  g_test_add_func("/mover/list", test_list);
  g_test_add_func("/mover/same-filesystem", test_same_filesystem);
  g_test_add_func("/mover/same-filesystem-failure-rolls-back", test_same_filesystem_failure_rolls_back);
  g_test_add_func("/mover/other-filesystem", test_other_filesystem);
  g_test_add_func("/mover/in-use-and-conflicts", test_in_use_and_conflicts);
  g_test_add_func("/mover/preferences-flow", test_preferences_flow);
  int rc = g_test_run();
  rm_rf(tmp_root);
  return rc;
}
