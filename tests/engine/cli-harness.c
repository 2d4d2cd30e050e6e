#include "cli-harness.h"

#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *tmp_dir;

void cli_result_clear(cli_result *r)
{
  g_free(r->out);
  g_free(r->err);
  memset(r, 0, sizeof *r);
}

const char *cli_harness_tmp_dir(const char *name_template)
{
  if (!tmp_dir) {
    GError *error = NULL;
    tmp_dir = g_dir_make_tmp(name_template ? name_template : "still-cli-XXXXXX", &error);
    g_assert_no_error(error);
  }
  return tmp_dir;
}

void cli_harness_cleanup(void)
{
  if (!tmp_dir) return;
  GDir *d = g_dir_open(tmp_dir, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      char *p = g_build_filename(tmp_dir, name, NULL);
      g_remove(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(tmp_dir);
  g_clear_pointer(&tmp_dir, g_free);
}

/* child_setup: make the file named by user_data the child's standard input. */
static void redirect_stdin(gpointer user_data)
{
  int fd = open((const char *)user_data, O_RDONLY);
  if (fd >= 0) {
    dup2(fd, 0);
    close(fd);
  }
}

gboolean run_cli_v(cli_result *r, const char *stdin_data, gssize len, const char *const *args)
{
  memset(r, 0, sizeof *r);
  const char *cli = g_getenv("STILL_CLI");
  if (!cli || !*cli) {
    g_test_skip("STILL_CLI is not set (run through meson test)");
    return FALSE;
  }
  GPtrArray *argv = g_ptr_array_new();
  g_ptr_array_add(argv, (gpointer)cli);
  for (const char *const *a = args; *a; a++) g_ptr_array_add(argv, (gpointer)*a);
  g_ptr_array_add(argv, NULL);

  char *stdin_path = g_build_filename(cli_harness_tmp_dir(NULL), "stdin.bin", NULL);
  GError *error = NULL;
  g_assert_true(g_file_set_contents(stdin_path, stdin_data ? stdin_data : "", stdin_data ? len : 0, &error));
  int status = 0;
  gboolean ok = g_spawn_sync(NULL, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, redirect_stdin, stdin_path,
                             &r->out, &r->err, &status, &error);
  g_assert_no_error(error);
  g_assert_true(ok);
  r->out_len = strlen(r->out); /* binary-safe enough: our outputs never hold NUL */
  r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  g_ptr_array_free(argv, TRUE);
  g_free(stdin_path);
  return TRUE;
}

cJSON *fixture_json(const char *relative)
{
  char *path = test_fixture_path(relative);
  if (!path) return NULL;
  gsize len;
  char *text = test_read_file(path, &len);
  g_free(path);
  if (!text) return NULL;
  cJSON *j = cJSON_ParseWithLength(text, len);
  g_free(text);
  g_assert_nonnull(j);
  return j;
}

double json_num(const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsNumber(v)) g_error("key %s is not a number", key);
  return v->valuedouble;
}

const char *json_str(const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!cJSON_IsString(v)) g_error("key %s is not a string", key);
  return v->valuestring;
}

GArray *ids_from_line(const char *line)
{
  /* ids separated by spaces; one trailing newline allowed (the CLI prints
   * its ids on exactly one line, so a newline elsewhere fails) */
  char *copy = g_strdup(line);
  gsize n = strlen(copy);
  if (n && copy[n - 1] == '\n') copy[n - 1] = '\0';
  GArray *a = g_array_new(FALSE, FALSE, sizeof(int));
  char **parts = g_strsplit(copy, " ", -1);
  for (char **p = parts; *p; p++) {
    if (!**p) continue;
    char *end;
    long v = strtol(*p, &end, 10);
    g_assert_cmpint(*end, ==, '\0');
    int iv = (int)v;
    g_array_append_val(a, iv);
  }
  g_strfreev(parts);
  g_free(copy);
  return a;
}

GArray *ids_from_json(const cJSON *arr)
{
  g_assert_true(cJSON_IsArray(arr));
  GArray *a = g_array_new(FALSE, FALSE, sizeof(int));
  const cJSON *it;
  cJSON_ArrayForEach(it, arr)
  {
    int v = it->valueint;
    g_array_append_val(a, v);
  }
  return a;
}

void assert_same_ids(GArray *got, GArray *want, const char *what)
{
  gboolean same = got->len == want->len;
  for (guint i = 0; same && i < got->len; i++) same = g_array_index(got, int, i) == g_array_index(want, int, i);
  if (!same) {
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s: got %u ids, want %u:", what, got->len, want->len);
    for (guint i = 0; i < got->len && i < 40; i++) g_string_append_printf(s, " %d", g_array_index(got, int, i));
    g_string_append(s, " / want");
    for (guint i = 0; i < want->len && i < 40; i++) g_string_append_printf(s, " %d", g_array_index(want, int, i));
    g_test_message("%s", s->str);
    g_string_free(s, TRUE);
  }
  g_assert_true(same);
}

void cli_read_rest(int fd, GString *acc)
{
  char buf[4096];
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0) g_string_append_len(acc, buf, got);
}

GPid cli_spawn_piped(const char *const *argv, int *in_fd, int *out_fd, int *err_fd)
{
  GPid pid;
  GError *error = NULL;
  g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                                         in_fd, out_fd, err_fd, &error));
  g_assert_no_error(error);
  return pid;
}

gboolean cli_wait_for_text(int fd, GString *acc, const char *needle, int timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (!strstr(acc->str, needle)) {
    gint64 left = (end - g_get_monotonic_time()) / 1000;
    if (left <= 0) return FALSE;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int k = poll(&p, 1, (int)left);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return FALSE;
    char buf[4096];
    ssize_t got = read(fd, buf, sizeof buf);
    if (got <= 0) return FALSE;
    g_string_append_len(acc, buf, got);
  }
  return TRUE;
}

int cli_wait_exit(GPid pid, int timeout_ms)
{
  for (int waited = 0; waited < timeout_ms; waited += 10) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    g_usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -2;
}
