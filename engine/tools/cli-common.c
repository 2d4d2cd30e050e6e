/* cli-common.c — option parsing, errors, sizes, input and output helpers of
 * the `still` command line tool. See cli-common.h. */
#include "cli-common.h"

#include "gpu-split.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- errors ------------------------------------------------------------- */

/* Print prefix + message on one line: a message may quote user text or a
 * library message that contains newlines, and callers (tests, the app)
 * rely on exactly one line. */
static void print_one_line(const char *prefix, const char *fmt, va_list ap)
{
  char msg[1024];
  vsnprintf(msg, sizeof msg, fmt, ap);
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  fflush(stdout); /* keep stdout/stderr order sensible on a terminal */
  fprintf(stderr, "%s%s\n", prefix, msg);
}

int cli_fail(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  print_one_line("still: ", fmt, ap);
  va_end(ap);
  return 1;
}

void cli_warn(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  print_one_line("still: warning: ", fmt, ap);
  va_end(ap);
}

/* ---- options -------------------------------------------------------------- */

static const cli_option *find_option(const cli_option *opts, size_t n, const char *name, size_t name_len)
{
  for (size_t i = 0; i < n; i++) {
    const char *l = opts[i].long_name, *s = opts[i].short_name;
    if (l && strlen(l) == name_len && strncmp(l, name, name_len) == 0) return &opts[i];
    if (s && strlen(s) == name_len && strncmp(s, name, name_len) == 0) return &opts[i];
  }
  return NULL;
}

cli_args_result cli_parse_args(int argc, char **argv, const cli_option *opts, size_t n_opts, const char *usage,
                               char ***positional, int *n_positional)
{
  const char *cmd = argc > 0 ? argv[0] : "still";
  char **pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pos);
  int n_pos = 0;
  bool only_positional = false;
  if (!pos) {
    cli_fail("out of memory");
    return CLI_ARGS_ERROR;
  }
  for (int i = 1; i < argc; i++) {
    char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == '\0') { /* "-" is standard input */
      pos[n_pos++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_positional = true;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(usage, stdout);
      free(pos);
      return CLI_ARGS_HELP;
    }
    /* "--name=value" carries its value inline */
    const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
    size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
    const cli_option *o = find_option(opts, n_opts, a, name_len);
    if (!o) {
      cli_fail("unknown option '%.*s' for 'still %s' (see 'still %s --help')", (int)name_len, a, cmd, cmd);
      free(pos);
      return CLI_ARGS_ERROR;
    }
    if (o->kind == CLI_OPT_FLAG) {
      if (eq) {
        cli_fail("option '%.*s' takes no value", (int)name_len, a);
        free(pos);
        return CLI_ARGS_ERROR;
      }
      *o->flag = !o->negate;
      continue;
    }
    if (eq) {
      *o->value = eq + 1;
    } else if (i + 1 < argc) {
      *o->value = argv[++i];
    } else {
      cli_fail("option '%s' needs a value (see 'still %s --help')", a, cmd);
      free(pos);
      return CLI_ARGS_ERROR;
    }
  }
  *positional = pos;
  *n_positional = n_pos;
  return CLI_ARGS_OK;
}

/* ---- sizes ---------------------------------------------------------------- */

static bool size_fail(char *why, size_t why_size, const char *fmt, const char *text)
{
  if (why && why_size) snprintf(why, why_size, fmt, text);
  return false;
}

int cli_check_gpu_args(const char *device, const char *split)
{
  if (device && !*device) return cli_fail("option --device is empty: give an index, part of a name or uuid:HEX");
  if (split && !*split) return cli_fail("option --split is empty: give shares separated by commas, like 3,1");
  char items[STILL_GPU_SPLIT_MAX][STILL_GPU_DEVICE_TEXT];
  double shares[STILL_GPU_SPLIT_MAX];
  int n = 0;
  still_error err = {0};
  if (still_gpu_device_list_parse(device, items, STILL_GPU_SPLIT_MAX, &n, &err) != STILL_OK)
    return cli_fail("option --device: %s", err.message);
  if (still_gpu_split_parse(split, shares, STILL_GPU_SPLIT_MAX, &n, &err) != STILL_OK)
    return cli_fail("option --split: %s", err.message);
  if (still_gpu_split_check(device, split, NULL, NULL, NULL, NULL, &err) != STILL_OK)
    return cli_fail("options --device and --split: %s", err.message);
  return 0;
}

bool cli_parse_size(const char *text, uint64_t *out, char *why, size_t why_size)
{
  static const char *bad = "'%s' is not a size (examples: 4096, 512M, 24G, 1.2GB)";
  if (!text || !*text) return size_fail(why, why_size, "the size is empty%s", "");
  const char *p = text;
  uint64_t whole = 0;
  int n_whole = 0;
  while (*p >= '0' && *p <= '9') {
    if (!still_mul_u64(whole, 10, &whole) || !still_add_u64(whole, (uint64_t)(*p - '0'), &whole))
      return size_fail(why, why_size, "the size '%s' is too large", text);
    p++;
    n_whole++;
  }
  /* fraction: keep up to 9 digits exactly (enough for any unit up to T) */
  uint64_t frac = 0, frac_scale = 1;
  if (*p == '.') {
    p++;
    int n_frac = 0;
    while (*p >= '0' && *p <= '9') {
      if (n_frac < 9) {
        frac = frac * 10 + (uint64_t)(*p - '0');
        frac_scale *= 10;
      }
      p++;
      n_frac++;
    }
    if (n_frac == 0) return size_fail(why, why_size, bad, text);
  }
  if (n_whole == 0) return size_fail(why, why_size, bad, text);

  /* unit */
  static const struct {
    const char *name;
    uint64_t mult;
  } units[] = {
    {"", 1}, {"B", 1},
    {"K", 1ull << 10}, {"M", 1ull << 20}, {"G", 1ull << 30}, {"T", 1ull << 40},
    {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40},
    {"KB", 1000ull}, {"MB", 1000000ull}, {"GB", 1000000000ull}, {"TB", 1000000000000ull},
  };
  uint64_t mult = 0;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcasecmp(p, units[i].name) == 0) {
      mult = units[i].mult;
      break;
    }
  if (mult == 0) return size_fail(why, why_size, bad, text);

  uint64_t value;
  if (!still_mul_u64(whole, mult, &value)) return size_fail(why, why_size, "the size '%s' is too large", text);
  if (frac) {
    /* frac/frac_scale * mult, rounded to nearest; frac < 1e9 and mult <= 2^40,
     * so split mult to stay within 64 bits */
    uint64_t q = mult / frac_scale, r = mult % frac_scale;
    uint64_t part = frac * q + (frac * r + frac_scale / 2) / frac_scale;
    if (mult == 1 && frac_scale > 1 && (frac * r) % frac_scale != 0)
      return size_fail(why, why_size, "'%s' is not a whole number of bytes", text);
    if (!still_add_u64(value, part, &value)) return size_fail(why, why_size, "the size '%s' is too large", text);
  }
  *out = value;
  return true;
}

/* ---- input ---------------------------------------------------------------- */

char *cli_read_all(const char *path, size_t *len, char *why, size_t why_size)
{
  bool is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  if (!f) {
    snprintf(why, why_size, "cannot open '%s': %s", path, strerror(errno));
    return NULL;
  }
  if (!is_stdin) {
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
      snprintf(why, why_size, "'%s' is a folder, not a file", path);
      fclose(f);
      return NULL;
    }
  }
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      char *bigger = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - 1 - n, f);
    n += got;
    if (got == 0) break;
  }
  bool failed = !buf || ferror(f);
  int saved_errno = errno;
  if (!is_stdin) fclose(f);
  if (!buf) {
    snprintf(why, why_size, "out of memory reading '%s'", is_stdin ? "standard input" : path);
    return NULL;
  }
  if (failed) {
    snprintf(why, why_size, "cannot read '%s': %s", is_stdin ? "standard input" : path, strerror(saved_errno));
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

/* ---- output --------------------------------------------------------------- */

bool cli_write(const void *data, size_t n)
{
  return n == 0 || fwrite(data, 1, n, stdout) == n;
}

int cli_finish_output(void)
{
  if (fflush(stdout) != 0 || ferror(stdout)) return cli_fail("cannot write the output: %s", strerror(errno));
  return 0;
}

const char *cli_format_count(uint64_t n, char *buf, size_t size)
{
  if (n >= 1000000000000ull) snprintf(buf, size, "%.2f T", (double)n / 1e12);
  else if (n >= 1000000000ull) snprintf(buf, size, "%.2f B", (double)n / 1e9);
  else if (n >= 1000000ull) snprintf(buf, size, "%.2f M", (double)n / 1e6);
  else if (n >= 1000ull) snprintf(buf, size, "%.2f K", (double)n / 1e3);
  else snprintf(buf, size, "%llu", (unsigned long long)n);
  return buf;
}

char *cli_utf8_sanitize(const char *s, size_t n)
{
  /* worst case: every byte becomes the 3-byte U+FFFD */
  if (n > (SIZE_MAX - 1) / 3) return NULL;
  char *out = malloc(n * 3 + 1), *o = out;
  if (!out) return NULL;
  size_t i = 0;
  while (i < n) {
    size_t l = still_utf8_seq_len(s + i, n - i);
    if (l == 0) {
      memcpy(o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    } else {
      memcpy(o, s + i, l);
      o += l;
      i += l;
    }
  }
  *o = '\0';
  return out;
}

char *cli_escape(const char *s, size_t n)
{
  if (n > (SIZE_MAX - 1) / 4) return NULL;
  char *out = malloc(n * 4 + 1), *o = out;
  if (!out) return NULL;
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t l = c >= 0x80 ? still_utf8_seq_len(s + i, n - i) : 1;
    if (c >= 0x80 && l > 0) {
      memcpy(o, s + i, l);
      o += l;
      i += l;
      continue;
    }
    switch (c) {
    case '\n': *o++ = '\\'; *o++ = 'n'; break;
    case '\t': *o++ = '\\'; *o++ = 't'; break;
    case '\r': *o++ = '\\'; *o++ = 'r'; break;
    case '\\': *o++ = '\\'; *o++ = '\\'; break;
    case '\'': *o++ = '\\'; *o++ = '\''; break;
    default:
      if (c < 0x20 || c >= 0x7F) o += sprintf(o, "\\x%02X", c);
      else *o++ = (char)c;
    }
    i++;
  }
  *o = '\0';
  return out;
}

cJSON *cli_json_add_u64(cJSON *obj, const char *key, uint64_t v)
{
  return cJSON_AddNumberToObject(obj, key, (double)v);
}

cJSON *cli_json_add_opt_u64(cJSON *obj, const char *key, bool present, uint64_t v)
{
  return present ? cJSON_AddNumberToObject(obj, key, (double)v) : cJSON_AddNullToObject(obj, key);
}

cJSON *cli_json_add_strn(cJSON *obj, const char *key, const char *s, size_t n)
{
  if (!s) return cJSON_AddNullToObject(obj, key);
  char *clean = cli_utf8_sanitize(s, n);
  if (!clean) return NULL;
  cJSON *item = cJSON_AddStringToObject(obj, key, clean);
  free(clean);
  return item;
}

bool cli_json_print(const cJSON *root)
{
  char *text = cJSON_Print(root);
  if (!text) return false;
  fputs(text, stdout);
  fputc('\n', stdout);
  free(text);
  return true;
}

int cli_parse_ids(const char *text, int32_t n_vocab, int32_t **ids, size_t *n, size_t *cap)
{
  const char *p = text;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',' || *p == '[' || *p == ']') p++;
    if (!*p) return 0;
    const char *start = p;
    bool neg = *p == '-';
    if (neg || *p == '+') p++;
    uint64_t v = 0;
    bool digits = false, big = false;
    while (*p >= '0' && *p <= '9') {
      digits = true;
      if (v > 100000000000ull) big = true;
      else v = v * 10 + (uint64_t)(*p - '0');
      p++;
    }
    bool ends = !*p || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ',' || *p == ']';
    if (!digits || !ends) {
      size_t l = strcspn(start, " \t\r\n,]");
      return cli_fail("'%.*s' is not a token id", (int)(l > 40 ? 40 : l), start);
    }
    if (neg || big || v >= (uint64_t)n_vocab)
      return cli_fail("token id %.*s is out of range: the vocabulary has %" PRId32 " tokens (ids 0 to %" PRId32 ")",
                      (int)(p - start > 40 ? 40 : p - start), start, n_vocab, n_vocab - 1);
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 64;
      int32_t *bigger = realloc(*ids, nc * sizeof **ids);
      if (!bigger) return cli_fail("out of memory");
      *ids = bigger;
      *cap = nc;
    }
    (*ids)[(*n)++] = (int32_t)v;
  }
}

void cli_say_step(still_step step, void *user)
{
  (void)user;
  if (step == STILL_STEP_GPU_TUNE)
    fprintf(stderr, "still: the first run of this model on this GPU: timing its shaders (a few seconds, once)\n");
}

/* ---- Ctrl+C --------------------------------------------------------------- */

static atomic_bool sigint_seen;
static still_session *_Atomic sigint_target;
/* handlers between reading sigint_target and their last use of the session */
static atomic_int sigint_busy;

/* (may run on any thread: only atomics and still_session_cancel, which stores one) */
static void on_sigint(int sig)
{
  (void)sig;
  atomic_fetch_add(&sigint_busy, 1);
  atomic_store(&sigint_seen, true);
  still_session *s = atomic_load(&sigint_target);
  if (s) still_session_cancel(s);
  atomic_fetch_sub(&sigint_busy, 1);
}

void cli_sigint_block(sigset_t *old_mask)
{
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  pthread_sigmask(SIG_BLOCK, &block, old_mask);
}

void cli_sigint_watch(still_session *s, bool once, const sigset_t *old_mask, struct sigaction *old_action)
{
  atomic_store(&sigint_seen, false);
  /* a process started to ignore Ctrl+C (a shell's background job) goes on ignoring it */
  if (sigaction(SIGINT, NULL, old_action) == 0 && old_action->sa_handler == SIG_IGN) {
    pthread_sigmask(SIG_SETMASK, old_mask, NULL);
    return;
  }
  atomic_store(&sigint_target, s);
  struct sigaction sa = {0};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART | (once ? SA_RESETHAND : 0);
  sigaction(SIGINT, &sa, old_action);
  pthread_sigmask(SIG_SETMASK, old_mask, NULL);
}

bool cli_sigint_interrupted(void) { return atomic_load(&sigint_seen); }

/* (async-signal-safe: a write and _exit) */
static void stopped_starting(int sig)
{
  (void)sig;
  static const char msg[] = "\nstill: stopped (Ctrl+C) while the session was starting\n";
  ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)w;
  _exit(130);
}

static void *start_watch_main(void *arg)
{
  (void)arg;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  int sig = 0;
  /* (a cancellation point: cli_sigint_start_end ends the wait) */
  if (sigwait(&set, &sig) == 0 && sig == SIGINT) stopped_starting(sig);
  return NULL;
}

void cli_sigint_start_begin(cli_start_watch *w)
{
  w->on = w->thread_on = false;
  /* a background job started to ignore Ctrl+C goes on ignoring it */
  if (sigaction(SIGINT, NULL, &w->old) != 0 || w->old.sa_handler == SIG_IGN) return;
  struct sigaction sa = {0};
  sa.sa_handler = stopped_starting;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) != 0) return;
  w->on = true;
  /* (made with SIGINT blocked, as sigwait wants; without the thread, Ctrl+C waits for the start) */
  w->thread_on = pthread_create(&w->thread, NULL, start_watch_main, NULL) == 0;
}

void cli_sigint_start_end(cli_start_watch *w)
{
  if (!w->on) return;
  if (w->thread_on) {
    pthread_cancel(w->thread);
    pthread_join(w->thread, NULL);
  }
  sigaction(SIGINT, &w->old, NULL);
  w->on = w->thread_on = false;
}

void cli_sigint_restore(const struct sigaction *old_action)
{
  atomic_store(&sigint_target, NULL); /* first: the session may be freed next */
  /* a handler already running on another thread may still hold the session: wait for it (a
   * few instructions; one that starts now reads NULL, and one that interrupts this thread
   * ends before the loop goes on) */
  while (atomic_load(&sigint_busy) > 0) sched_yield();
  sigaction(SIGINT, old_action, NULL);
}
