#include "test-common.h"

#include <glib/gstdio.h>

#include <stdlib.h>
#include <string.h>

const char *test_fixtures_dir(void)
{
  static char *dir;
  if (!dir) {
    const char *env = g_getenv("STILL_FIXTURES_DIR");
    dir = g_strdup(env && *env ? env : "../shared/fixtures");
  }
  char *readme = g_build_filename(dir, "README.md", NULL);
  gboolean ok = g_file_test(readme, G_FILE_TEST_IS_REGULAR);
  g_free(readme);
  if (ok) return dir;
  if (g_strcmp0(g_getenv("CI"), "true") == 0) {
    g_test_message("test fixtures not found at %s (CI=true: they are required)", dir);
    g_test_fail();
  } else {
    g_test_skip_printf("test fixtures not found at %s; skipping", dir);
  }
  return NULL;
}

char *test_fixture_path(const char *relative)
{
  const char *dir = test_fixtures_dir();
  if (!dir) return NULL;
  char *p = g_build_filename(dir, relative, NULL);
  if (!g_file_test(p, G_FILE_TEST_EXISTS)) {
    if (g_strcmp0(g_getenv("CI"), "true") == 0) {
      g_test_message("fixture %s is missing", p);
      g_test_fail();
    } else {
      g_test_skip_printf("fixture %s is missing; skipping", p);
    }
    g_free(p);
    return NULL;
  }
  return p;
}

char *test_read_file(const char *path, gsize *len)
{
  char *data = NULL;
  GError *error = NULL;
  if (!g_file_get_contents(path, &data, len, &error)) {
    g_test_message("cannot read %s: %s", path, error->message);
    g_error_free(error);
    g_test_fail();
    return NULL;
  }
  return data;
}

void test_remove_tree(const char *path)
{
  GDir *d = g_dir_open(path, 0, NULL);
  if (d) {
    const char *n;
    while ((n = g_dir_read_name(d))) {
      char *p = g_build_filename(path, n, NULL);
      if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK)) test_remove_tree(p);
      else g_unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(path);
}

char *test_fixture_model_path(const char *name)
{
  char *rel = g_strdup_printf("models/%s.gguf", name);
  char *p = test_fixture_path(rel);
  g_free(rel);
  return p;
}

still_model *test_load_fixture_model(const char *name, bool vocab)
{
  char *path = test_fixture_model_path(name);
  if (!path) return NULL;
  still_load_params lp = still_load_params_default();
  lp.no_vocab = !vocab;
  still_model *m = NULL;
  still_error err = {0};
  still_status st = still_model_load(path, &lp, NULL, NULL, &m, &err);
  if (st != STILL_OK) g_test_message("loading %s: %s", path, err.message);
  g_assert_cmpint(st, ==, STILL_OK);
  g_free(path);
  return m;
}

still_session *test_session_new(still_model *m, const still_session_params *sp)
{
  still_session *s = NULL;
  still_error err = {0};
  still_status st = still_session_new(m, sp, &s, &err);
  if (st != STILL_OK) g_test_message("session: %s", err.message);
  g_assert_cmpint(st, ==, STILL_OK);
  return s;
}
