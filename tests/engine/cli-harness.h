/* cli-harness.h — running the built `still` CLI from the engine tests
 * (test-cli.c, test-cli-run.c): spawn with arguments and standard input,
 * collect exit status and output; fixture JSON and token-id helpers. */
#ifndef STILL_CLI_HARNESS_H
#define STILL_CLI_HARNESS_H

#include <cJSON.h>
#include <glib.h>

typedef struct {
  char *out, *err;
  gsize out_len;
  int exit_code; /* -1 when killed by a signal */
} cli_result;

void cli_result_clear(cli_result *r);

/* A temporary folder for the test run (made on first use from the template,
 * e.g. "still-cli-XXXXXX"); cli_harness_cleanup() removes it and its files. */
const char *cli_harness_tmp_dir(const char *name_template);
void cli_harness_cleanup(void);

/* Run $STILL_CLI with args (NULL-terminated); stdin_data (NULL: empty
 * standard input; len -1: NUL-terminated) is fed through a temporary file.
 * Skips the test and returns FALSE when STILL_CLI is not set. */
gboolean run_cli_v(cli_result *r, const char *stdin_data, gssize len, const char *const *args);

#define run_cli(r, ...) run_cli_v((r), NULL, 0, (const char *const[]){__VA_ARGS__, NULL})
#define run_cli_stdin(r, data, len, ...) run_cli_v((r), (data), (len), (const char *const[]){__VA_ARGS__, NULL})

/* A process of argv (not reaped by GLib) with pipes to its standard input
 * (in_fd NULL: none), output and error; failing to start it fails the test. */
GPid cli_spawn_piped(const char *const *argv, int *in_fd, int *out_fd, int *err_fd);
/* Read fd onto acc until needle is in acc; FALSE after timeout_ms or at the end of the pipe. */
gboolean cli_wait_for_text(int fd, GString *acc, const char *needle, int timeout_ms);
/* The exit status of pid within timeout_ms; -1 when a signal ended it, -2 when it had to be killed. */
int cli_wait_exit(GPid pid, int timeout_ms);
/* Everything left to read from fd (a pipe of a process that has ended) onto acc. */
void cli_read_rest(int fd, GString *acc);

/* A fixture JSON file (relative to the fixtures folder), NULL after a skip. */
cJSON *fixture_json(const char *relative);
/* obj[key] as a number / string; the test errors out when it is not one. */
double json_num(const cJSON *obj, const char *key);
const char *json_str(const cJSON *obj, const char *key);

/* Token ids: from "1 2 3\n" text, from a JSON array; compare two lists. */
GArray *ids_from_line(const char *line);
GArray *ids_from_json(const cJSON *arr);
void assert_same_ids(GArray *got, GArray *want, const char *what);

#endif
