#include "test-common.h"

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
