/* test-util.c — small helpers shared by the app tests. */
#include "test-util.h"
#include <glib/gstdio.h>

char *test_fixture_model(const char *name)
{
  const char *dir = g_getenv("STILL_FIXTURES_DIR");
  g_autofree char *path = g_build_filename(dir ? dir : "", "models", name, NULL);
  if (!dir || !g_file_test(path, G_FILE_TEST_EXISTS)) {
    if (g_strcmp0(g_getenv("CI"), "true") == 0) g_error("fixture %s is missing", path);
    return NULL;
  }
  return g_steal_pointer(&path);
}

static gboolean keep_waking(gpointer data)
{
  (void)data;
  return G_SOURCE_CONTINUE;
}

gboolean wait_for(gboolean (*cond)(gpointer), gpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  guint waker = g_timeout_add(20, keep_waking, NULL);
  gboolean ok = TRUE;
  while (!cond(data)) {
    if (g_get_monotonic_time() > end) {
      ok = FALSE;
      break;
    }
    g_main_context_iteration(NULL, TRUE);
  }
  g_source_remove(waker);
  return ok;
}

void spin(guint ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  guint waker = g_timeout_add(10, keep_waking, NULL);
  while (g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
  g_source_remove(waker);
}

void test_remove_tree(const char *path)
{
  g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name(dir))) {
    g_autofree char *child = g_build_filename(path, name, NULL);
    if (g_file_test(child, G_FILE_TEST_IS_DIR) && !g_file_test(child, G_FILE_TEST_IS_SYMLINK)) test_remove_tree(child);
    else g_unlink(child);
  }
  g_rmdir(path);
}
