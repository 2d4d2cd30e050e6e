/* test-common.h — shared helpers for the engine tests (GLib g_test). */
#ifndef STILL_TEST_COMMON_H
#define STILL_TEST_COMMON_H

#include <glib.h>

/* The fixtures folder ($STILL_FIXTURES_DIR, else ../shared/fixtures).
 * When it is missing: with CI=true the test fails with a clear message,
 * otherwise the current test is skipped with a message and NULL returned. */
const char *test_fixtures_dir(void);

/* Path of a file in the fixtures (g_free it), or NULL after skipping/failing like above. */
char *test_fixture_path(const char *relative);

/* Read a whole file (g_free the result); fails the test if it cannot be read. */
char *test_read_file(const char *path, gsize *len);

#endif
