/* test-common.h — shared helpers for the engine tests (GLib g_test). */
#ifndef STILL_TEST_COMMON_H
#define STILL_TEST_COMMON_H

#include <glib.h>
#include <stdbool.h>

#include "still.h"

/* The fixtures folder ($STILL_FIXTURES_DIR, else ../shared/fixtures).
 * When it is missing: with CI=true the test fails with a clear message,
 * otherwise the current test is skipped with a message and NULL returned. */
const char *test_fixtures_dir(void);

/* Path of a file in the fixtures (g_free it), or NULL after skipping/failing like above. */
char *test_fixture_path(const char *relative);

/* Read a whole file (g_free the result); fails the test if it cannot be read. */
char *test_read_file(const char *path, gsize *len);

/* Remove a folder and everything in it (symbolic links as links, not followed). */
void test_remove_tree(const char *path);

/* Path of fixture model NAME (models/NAME.gguf; g_free it), or NULL after skipping/failing as above. */
char *test_fixture_model_path(const char *name);

/* Load fixture model NAME (with its vocabulary when vocab); NULL when the
 * file is missing (the test has been skipped, or failed with CI=true); a
 * load error fails the test. */
still_model *test_load_fixture_model(const char *name, bool vocab);

/* A session with these parameters; failing to make one fails the test, with
 * the engine's message. */
still_session *test_session_new(still_model *m, const still_session_params *sp);

#endif
