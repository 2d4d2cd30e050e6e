/* test-util.h — small helpers shared by the app tests. */
#pragma once

#include <glib.h>

/* The fixture model NAME (in $STILL_FIXTURES_DIR/models), or NULL when the fixtures are not there:
 * the test then skips, except with CI=true, where a missing fixture is an error. Caller frees. */
char *test_fixture_model(const char *name);

#define NEED_FIXTURE(var, name)                                                                                        \
  g_autofree char *var = test_fixture_model(name);                                                                     \
  if (!var) {                                                                                                          \
    g_test_skip("fixtures not found (set STILL_FIXTURES_DIR)");                                                        \
    return;                                                                                                            \
  }

/* Iterate the default main context until cond(data) is true or timeout_ms passed (a timer keeps
 * waking the loop, so a missing event fails the test instead of hanging it). FALSE on timeout. */
gboolean wait_for(gboolean (*cond)(gpointer), gpointer data, guint timeout_ms);

/* Remove a folder and everything in it (symbolic links as links, not followed); a missing
 * folder is no error. */
void test_remove_tree(const char *path);

/* Iterate the default main context for ms milliseconds. */
void spin(guint ms);
