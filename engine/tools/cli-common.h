/* cli-common.h — shared pieces of the `still` command line tool: option
 * parsing, one-line error messages, SIZE parsing, reading files or standard
 * input, and small JSON / formatting helpers (cJSON).
 *
 * Conventions every subcommand follows:
 *   - a subcommand is `int still_cmd_NAME(int argc, char **argv)` where
 *     argv[0] is the subcommand name; it returns the process exit status;
 *   - exit status 0 on success, 1 on any bad input, with exactly ONE line on
 *     stderr ("still: <plain words>") printed by cli_fail();
 *   - `--help` / `-h` prints the usage text on stdout and exits 0.
 */
#ifndef STILL_CLI_COMMON_H
#define STILL_CLI_COMMON_H

#include <cJSON.h>

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "still.h"
#include "util.h"

/* ---- subcommands (implemented in cli-*.c, dispatched from still.c) ------- */
int still_cmd_info(int argc, char **argv);
int still_cmd_tokenize(int argc, char **argv);
int still_cmd_detokenize(int argc, char **argv);
int still_cmd_template(int argc, char **argv);
int still_cmd_run(int argc, char **argv);        /* cli-run.c */
int still_cmd_chat(int argc, char **argv);       /* cli-run.c */
int still_cmd_logits(int argc, char **argv);     /* cli-run.c */
int still_cmd_bench(int argc, char **argv);      /* cli-bench.c */
int still_cmd_bench_standard(int argc, char **argv); /* cli-bench-standard.c (bench --standard) */
int still_cmd_make_model(int argc, char **argv); /* cli-make-model.c */
int still_cmd_devices(int argc, char **argv);    /* cli-devices.c */
int still_cmd_fit(int argc, char **argv);
int still_cmd_hw(int argc, char **argv);
int still_cmd_recommend(int argc, char **argv);

/* ---- errors ------------------------------------------------------------- */

/* Print "still: MESSAGE" as one line on stderr (newlines in the message are
 * turned into spaces) and return 1, the exit status for bad input. */
int cli_fail(const char *fmt, ...) STILL_PRINTF(1, 2);
/* Print "still: warning: MESSAGE" as one line on stderr. */
void cli_warn(const char *fmt, ...) STILL_PRINTF(1, 2);

/* ---- options -------------------------------------------------------------- */

typedef enum {
  CLI_OPT_FLAG,  /* sets *flag = true (or false for an option listed with negate) */
  CLI_OPT_VALUE, /* takes one value: "--name VALUE", "--name=VALUE" or "-n VALUE" */
} cli_opt_kind;

typedef struct {
  const char *long_name;  /* "--json" */
  const char *short_name; /* "-m", or NULL */
  cli_opt_kind kind;
  bool *flag;          /* CLI_OPT_FLAG */
  bool negate;         /* CLI_OPT_FLAG: set *flag = false instead */
  const char **value;  /* CLI_OPT_VALUE: points into argv; the last one given wins */
} cli_option;

typedef enum {
  CLI_ARGS_OK = 0,
  CLI_ARGS_ERROR, /* a message was printed: exit 1 */
  CLI_ARGS_HELP,  /* the usage was printed: exit 0 */
} cli_args_result;

/* Parse argv[1..argc-1] against opts. Options and positional arguments may be
 * mixed; "--" ends the options; a lone "-" is positional (standard input).
 * Positional arguments are collected into positional[] (room for argc
 * entries, allocated; free it) and their count in *n_positional.
 * `--help`/`-h` prints usage on stdout and gives CLI_ARGS_HELP. */
cli_args_result cli_parse_args(int argc, char **argv, const cli_option *opts, size_t n_opts, const char *usage,
                               char ***positional, int *n_positional);

/* --device D[,E…] and --split A,B[,C…] before any session is made: the same
 * rules as the engine's (still_gpu_split_check: at most 8 devices and shares,
 * shares numbers >= 0 and not all 0, as many devices as shares where both
 * list several), and --device not empty. Returns 0, or 1 with the message
 * printed. NULL is fine for either (not given). */
int cli_check_gpu_args(const char *device, const char *split);

/* still_session_params.on_step for the commands: one line on stderr saying why
 * the session takes a while to start. */
void cli_say_step(still_step step, void *user);

/* Ctrl+C during a run. cli_sigint_block before the session's threads are made
 * (they inherit the blocked mask), then cli_sigint_watch: the handler cancels s
 * (still_session_cancel) and cli_sigint_interrupted() says so from then on.
 * once: a second Ctrl+C ends the process as usual. A process that ignores
 * SIGINT (a background job) keeps ignoring it. cli_sigint_restore puts the
 * earlier action back. The handler only stores lock-free atomics, so it may
 * run on any thread (OpenBLAS starts its own before the block). */
void cli_sigint_block(sigset_t *old_mask);
/* Ctrl+C while the session starts (between cli_sigint_block and cli_sigint_watch: loading the
 * weights, uploading them to a GPU, timing its shaders the first time, seconds in all) ends the
 * process at once, status 130, with a line saying so (nothing has been written yet that this
 * would cut short). SIGINT is blocked on this thread then, so a thread of its own waits for it
 * (sigwait); a thread that has it unblocked (OpenBLAS starts its own earlier) runs a handler
 * that does the same. cli_sigint_start_end stops the thread and puts the earlier action back;
 * a Ctrl+C after it is cli_sigint_watch's. A process that ignores SIGINT keeps ignoring it. */
typedef struct {
  pthread_t thread;
  bool on, thread_on;
  struct sigaction old;
} cli_start_watch;
void cli_sigint_start_begin(cli_start_watch *w);
void cli_sigint_start_end(cli_start_watch *w);
void cli_sigint_watch(still_session *s, bool once, const sigset_t *old_mask, struct sigaction *old_action);
bool cli_sigint_interrupted(void);
void cli_sigint_restore(const struct sigaction *old_action);

/* ---- sizes ---------------------------------------------------------------- */

/* Parse a size: plain bytes ("4096", "512B"), binary suffixes K M G T (also
 * KiB MiB GiB TiB; powers of 1024) or decimal KB MB GB TB (powers of 1000),
 * case-insensitive, with an optional fraction ("1.2GB", "0.5G"; the result is
 * rounded to the nearest byte). On failure returns false and writes a reason
 * in plain words to why (may be NULL). */
bool cli_parse_size(const char *text, uint64_t *out, char *why, size_t why_size);

/* ---- input ---------------------------------------------------------------- */

/* Read the whole file (path "-" = standard input, binary-safe) into a malloc'd
 * buffer with a NUL after the last byte. On failure returns NULL and writes a
 * plain-words message (naming the path) into why. */
/* Token ids out of text: numbers separated by whitespace or commas (brackets
 * allowed), each in [0, n_vocab). Appends to *ids (*n used, *cap allocated;
 * the caller frees *ids, also after an error). Returns 0, or 1 with the
 * message printed. */
int cli_parse_ids(const char *text, int32_t n_vocab, int32_t **ids, size_t *n, size_t *cap);

char *cli_read_all(const char *path, size_t *len, char *why, size_t why_size);

/* ---- output --------------------------------------------------------------- */

/* Write n bytes to stdout; false on a write error. */
bool cli_write(const void *data, size_t n);
/* Flush stdout and report a write error (e.g. disk full) as a failure: 0 or 1. */
int cli_finish_output(void);

/* "1.78 B", "292.35 K", "28.5 M": a parameter count for people. buf >= 32. */
const char *cli_format_count(uint64_t n, char *buf, size_t size);

/* A malloc'd copy of n bytes as valid UTF-8 (bad bytes become U+FFFD), NUL-terminated. */
char *cli_utf8_sanitize(const char *s, size_t n);

/* Append a C-style escaped form of n bytes to a malloc'd string: printable
 * ASCII and valid UTF-8 unchanged, \n \t \r \\ \' and \xNN for the rest. */
char *cli_escape(const char *s, size_t n);

/* JSON: add an unsigned integer (exact up to 2^53) / a number or null when !present. */
cJSON *cli_json_add_u64(cJSON *obj, const char *key, uint64_t v);
cJSON *cli_json_add_opt_u64(cJSON *obj, const char *key, bool present, uint64_t v);
/* A string value from n bytes (sanitized to UTF-8), or null when s is NULL. */
cJSON *cli_json_add_strn(cJSON *obj, const char *key, const char *s, size_t n);
/* Print the JSON (indented) and a newline on stdout; false on out of memory. */
bool cli_json_print(const cJSON *root);

#endif /* STILL_CLI_COMMON_H */
