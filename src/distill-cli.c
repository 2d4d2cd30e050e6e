/* distill-cli.c — `distill pull ORG/REPO FILE [--dir DIR] [--revision REV] [--restart]` and
 * `distill fit ORG/REPO FILE [--ctx N]` (see fit_main below) and
 * `distill serve [--port N] [--model FILE.gguf|ID] [--api-key KEY]` (see serve_main below).
 *
 * Downloads one file with DistillDownload on a plain GMainLoop (no display needed), shows
 * progress (one updating line on a terminal, a plain line every few seconds otherwise) and
 * exits 0 only when the file is complete and its size and SHA-256 match the hub's.
 * Exit status: 0 verified, 1 failed (the part is kept: run again to resume), 2 usage,
 * 3 failed verification (the part is kept), 130 interrupted (Ctrl+C; run again to resume). */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "distill-api-server.h"
#include "distill-chat-settings.h"
#include "distill-cli.h"
#include "distill-download.h"
#include "distill-hardware.h"
#include "distill-hub.h"
#include "distill-remote-fit.h"
#include "distill-secret.h"

#define TTY_REFRESH_US (100 * 1000)
#define PLAIN_REFRESH_US (3 * G_USEC_PER_SEC)

typedef struct {
  GMainLoop *loop;
  GCancellable *cancellable;
  DistillDownload *download;
  gboolean tty;
  gboolean line_open; /* a progress line without newline is on the terminal */
  gint64 last_print;
  int status;
  gboolean interrupted;
} PullRun;

gboolean distill_cli_handles(const char *command)
{
  return g_strcmp0(command, "pull") == 0 || g_strcmp0(command, "fit") == 0 || g_strcmp0(command, "serve") == 0;
}

static char *format_eta(gint64 seconds)
{
  if (seconds < 0) return g_strdup("--:--");
  if (seconds >= 3600)
    return g_strdup_printf("%" G_GINT64_FORMAT ":%02d:%02d", seconds / 3600, (int)(seconds / 60 % 60),
                           (int)(seconds % 60));
  return g_strdup_printf("%d:%02d", (int)(seconds / 60), (int)(seconds % 60));
}

static char *progress_line(DistillDownload *d)
{
  gint64 done = distill_download_get_bytes_done(d), total = distill_download_get_total(d);
  g_autofree char *done_s = g_format_size((guint64)done);
  g_autofree char *speed_s = g_format_size((guint64)distill_download_get_speed(d));
  g_autofree char *eta_s = format_eta(distill_download_get_eta(d));
  gboolean moving = distill_download_get_state(d) == DISTILL_DOWNLOAD_RUNNING && distill_download_get_speed(d) > 0;
  if (total <= 0)
    return moving ? g_strdup_printf("%s  %s/s", done_s, speed_s) : g_strdup(done_s);
  g_autofree char *total_s = g_format_size((guint64)total);
  double pct = 100.0 * (double)done / (double)total;
  if (!moving) return g_strdup_printf("%s / %s  %5.1f%%", done_s, total_s, pct);
  /* Translators: progress line: bytes done / total, percent, speed, time left */
  return g_strdup_printf(_("%s / %s  %5.1f%%  %s/s  ETA %s"), done_s, total_s, pct, speed_s, eta_s);
}

static void end_line(PullRun *run)
{
  if (run->line_open) {
    fputs("\n", stdout);
    fflush(stdout);
    run->line_open = FALSE;
  }
}

static void print_progress(PullRun *run, gboolean force)
{
  gint64 now = g_get_monotonic_time();
  if (!force && now - run->last_print < (run->tty ? TTY_REFRESH_US : PLAIN_REFRESH_US)) return;
  if (!force && (distill_download_get_state(run->download) != DISTILL_DOWNLOAD_RUNNING ||
                 (distill_download_get_bytes_done(run->download) == 0 && distill_download_get_total(run->download) < 0)))
    return;
  run->last_print = now;
  g_autofree char *line = progress_line(run->download);
  if (run->tty) {
    fprintf(stdout, "\r\033[K%s", line);
    run->line_open = TRUE;
  } else {
    fprintf(stdout, "%s\n", line);
  }
  fflush(stdout);
}

static void on_progress(GObject *object, GParamSpec *pspec, PullRun *run)
{
  print_progress(run, FALSE);
}

static void on_message(GObject *object, GParamSpec *pspec, PullRun *run)
{
  const char *message = distill_download_get_message(run->download);
  DistillDownloadState state = distill_download_get_state(run->download);
  /* the outcome is printed by pull_done; here only what happens along the way (retries …) */
  if (message == NULL || (state != DISTILL_DOWNLOAD_RUNNING && state != DISTILL_DOWNLOAD_VERIFYING)) return;
  end_line(run);
  fprintf(stderr, "%s\n", message);
  fflush(stderr);
}

static void pull_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  PullRun *run = user_data;
  DistillDownload *d = DISTILL_DOWNLOAD(source);
  g_autoptr(GError) error = NULL;
  gboolean ok = distill_download_run_finish(d, result, &error);
  if (ok) print_progress(run, TRUE);
  end_line(run);
  if (ok) {
    g_autofree char *size = g_format_size((guint64)distill_download_get_bytes_done(d));
    const char *sha = distill_download_get_sha256(d);
    fprintf(stdout, "%s\n", distill_download_get_message(d));
    if (sha)
      fprintf(stdout, _("Saved %s (%s), SHA-256 verified: %s\n"), distill_download_get_destination(d), size, sha);
    else
      fprintf(stdout, _("Saved %s (%s), verified.\n"), distill_download_get_destination(d), size);
    run->status = 0;
  } else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    fprintf(stderr, _("Stopped; %s is kept. Run the same command again to resume.\n"),
            distill_download_get_partial_path(d));
    run->status = 130;
  } else {
    fprintf(stderr, "distill pull: %s\n", error->message);
    run->status = g_error_matches(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_VERIFICATION) ? 3 : 1;
  }
  fflush(stdout);
  g_main_loop_quit(run->loop);
}

static gboolean on_signal(gpointer user_data)
{
  PullRun *run = user_data;
  if (run->interrupted) return G_SOURCE_CONTINUE;
  run->interrupted = TRUE;
  /* Stop cleanly: the download fsyncs the part and saves its state before run_async returns. */
  g_cancellable_cancel(run->cancellable);
  return G_SOURCE_CONTINUE;
}

static int pull_main(int argc, char **argv)
{
  g_autofree char *dir = NULL;
  g_autofree char *revision = NULL;
  gboolean restart = FALSE;
  GOptionEntry entries[] = {
    {"dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir, N_("Folder to save the file in (default: the model library)"),
     N_("DIR")},
    {"revision", 'r', 0, G_OPTION_ARG_STRING, &revision, N_("Branch, tag or commit (default: main)"), N_("REV")},
    {"restart", 0, 0, G_OPTION_ARG_NONE, &restart, N_("Throw away a partial download and start over"), NULL},
    {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new(_("ORGANIZATION/REPO FILE"));
  g_option_context_set_summary(context, _("Download one file of a Hugging Face model repository, resuming a "
                                          "partial download, and verify its SHA-256."));
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "distill pull: %s\n", error->message);
    return 2;
  }
  if (argc != 3) {
    fprintf(stderr, _("Usage: distill pull ORGANIZATION/REPO FILE [--dir DIR] [--revision REV] [--restart]\n"));
    return 2;
  }
  const char *repo = argv[1], *file = argv[2];
  if (!distill_hub_check_repo_id(repo, &error) || !distill_hub_check_file_name(file, &error)) {
    fprintf(stderr, "distill pull: %s\n", error->message);
    return 2;
  }
  if (dir == NULL) dir = distill_download_default_directory();
  g_autofree char *dest = g_build_filename(dir, file, NULL);

  g_autoptr(DistillHub) hub = distill_hub_new();
  g_autoptr(DistillDownload) download = distill_download_new(hub, repo, file, revision, dest);
  if (restart && !distill_download_discard_partial(download, &error)) {
    fprintf(stderr, "distill pull: %s\n", error->message);
    return 1;
  }

  PullRun run = {0};
  run.loop = g_main_loop_new(NULL, FALSE);
  run.cancellable = g_cancellable_new();
  run.download = download;
  run.tty = isatty(STDOUT_FILENO);
  run.status = 1;
  g_signal_connect(download, "notify::bytes-done", G_CALLBACK(on_progress), &run);
  g_signal_connect(download, "notify::message", G_CALLBACK(on_message), &run);
  guint sigint = g_unix_signal_add(SIGINT, on_signal, &run);
  guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &run);

  fprintf(stdout, _("Downloading %s from %s to %s\n"), file, repo, dest);
  fflush(stdout);
  distill_download_run_async(download, run.cancellable, pull_done, &run);
  g_main_loop_run(run.loop);

  g_source_remove(sigint);
  g_source_remove(sigterm);
  g_signal_handlers_disconnect_by_data(download, &run);
  g_main_loop_unref(run.loop);
  g_object_unref(run.cancellable);
  return run.status;
}

/* ==== distill fit ORG/REPO FILE [--ctx N] ====
 * Reads only the remote file's GGUF header (Range requests, cached), estimates how it would run
 * on this computer and prints the verdict. Exit 0 when the header was read (whatever the
 * verdict), 1 when it could not be, 2 usage. DISTILL_SIMULATE_HARDWARE="RAM_GB[,VRAM_GB…]"
 * replaces the probe (tests, "what if"). */
typedef struct {
  GMainLoop *loop;
  GPtrArray *headers; /* GBytes, one per part */
  GArray *file_sizes; /* guint64 */
  guint64 fetched;
  GError *error;
} FitRun;

static void fit_fetched(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  FitRun *run = user_data;
  run->headers = distill_remote_headers_fetch_finish(res, &run->file_sizes, &run->fetched, &run->error);
  g_main_loop_quit(run->loop);
}

/* The files of a model: every part of a split one (NAME-00001-of-00003.gguf → its 3 parts), else the file. */
static GStrv model_parts(const char *file)
{
  g_autoptr(GRegex) re = g_regex_new("^(.*)-([0-9]{5})-of-([0-9]{5})\\.gguf$", 0, 0, NULL);
  g_autoptr(GMatchInfo) mi = NULL;
  GStrvBuilder *b = g_strv_builder_new();
  if (g_regex_match(re, file, 0, &mi)) {
    g_autofree char *prefix = g_match_info_fetch(mi, 1);
    g_autofree char *count_s = g_match_info_fetch(mi, 3);
    guint count = (guint)g_ascii_strtoull(count_s, NULL, 10);
    for (guint i = 1; i <= count && count <= 999; i++) {
      g_autofree char *part = g_strdup_printf("%s-%05u-of-%05u.gguf", prefix, i, count);
      g_strv_builder_add(b, part);
    }
  }
  GStrv out = g_strv_builder_end(b);
  g_strv_builder_unref(b);
  if (out[0] == NULL) {
    g_strfreev(out);
    out = g_new0(char *, 2);
    out[0] = g_strdup(file);
  }
  return out;
}

static gboolean fit_hardware(still_hardware *hw, GError **error)
{
  const char *sim = g_getenv("DISTILL_SIMULATE_HARDWARE");
  if (sim != NULL && *sim) {
    g_auto(GStrv) parts = g_strsplit(sim, ",", STILL_MAX_GPUS + 1);
    uint64_t vram[STILL_MAX_GPUS] = {0};
    int n = 0;
    for (int i = 1; parts[i] != NULL && n < STILL_MAX_GPUS; i++) vram[n++] = (uint64_t)(g_ascii_strtod(parts[i], NULL) * 1e9);
    still_hardware_simulated(hw, (uint64_t)(g_ascii_strtod(parts[0], NULL) * 1e9), n, vram, false, 0, 0);
    return TRUE;
  }
  g_autofree char *dir = distill_download_default_directory();
  GSettingsSchemaSource *source = g_settings_schema_source_get_default();
  g_autoptr(GSettingsSchema) schema = source ? g_settings_schema_source_lookup(source, APP_ID, TRUE) : NULL;
  still_error err = {0};
  if (schema == NULL) { /* not installed (run from a build folder): no user corrections */
    if (still_hardware_probe(hw, NULL, &err) == STILL_OK) return TRUE;
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
    return FALSE;
  }
  g_autoptr(DistillHardware) service = distill_hardware_new(NULL, NULL);
  still_hardware probed;
  if (still_hardware_probe(&probed, NULL, &err) != STILL_OK) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err.message);
    return FALSE;
  }
  distill_hardware_set_simulated(service, &probed);
  return distill_hardware_get_effective(service, hw);
}

static int fit_main(int argc, char **argv)
{
  const char *repo = NULL, *file = NULL;
  int ctx = 0;
  for (int i = 1; i < argc; i++) {
    if (g_strcmp0(argv[i], "--ctx") == 0 && i + 1 < argc) {
      char *end = NULL;
      gint64 v = g_ascii_strtoll(argv[++i], &end, 10);
      if (end == NULL || *end != '\0' || v < 0 || v > 1 << 24) {
        fprintf(stderr, _("distill fit: --ctx wants a number of tokens\n"));
        return 2;
      }
      ctx = (int)v;
    } else if (repo == NULL && argv[i][0] != '-') {
      repo = argv[i];
    } else if (file == NULL && argv[i][0] != '-') {
      file = argv[i];
    } else {
      repo = NULL;
      break;
    }
  }
  if (repo == NULL || file == NULL) {
    fprintf(stderr, _("Usage: distill fit ORG/REPO FILE [--ctx N]\n"));
    return 2;
  }
  g_autoptr(GError) error = NULL;
  still_hardware hw;
  if (!fit_hardware(&hw, &error)) {
    fprintf(stderr, _("distill fit: could not look at this computer: %s\n"), error->message);
    return 1;
  }
  g_autoptr(DistillHub) hub = distill_hub_new();
  FitRun run = {0};
  run.loop = g_main_loop_new(NULL, FALSE);
  g_auto(GStrv) parts = model_parts(file);
  distill_remote_headers_fetch_async(hub, repo, (const char *const *)parts, TRUE, NULL, fit_fetched, &run);
  g_main_loop_run(run.loop);
  g_main_loop_unref(run.loop);
  if (run.headers == NULL) {
    fprintf(stderr, "distill fit: %s\n", run.error->message);
    g_error_free(run.error);
    return 1;
  }
  still_fit_params params = still_fit_params_default();
  params.n_ctx = ctx;
  still_fit fit;
  still_error err = {0};
  gboolean ok = distill_remote_fit_estimate_parts(run.headers, run.file_sizes, &hw, &params, &fit, &err);
  guint64 header_bytes = 0, file_bytes = 0;
  for (guint i = 0; i < run.headers->len; i++) header_bytes += g_bytes_get_size(run.headers->pdata[i]);
  for (guint i = 0; run.file_sizes && i < run.file_sizes->len; i++) file_bytes += g_array_index(run.file_sizes, guint64, i);
  g_autofree char *hdr = g_format_size(header_bytes);
  g_autofree char *total = g_format_size(file_bytes);
  g_autofree char *fetched = g_format_size(run.fetched);
  if (run.fetched > 0)
    printf(_("Header: %s of %s (%s fetched)\n"), hdr, total, fetched);
  else
    printf(_("Header: %s of %s (from the cache)\n"), hdr, total);
  if (run.headers->len > 1)
    printf(g_dngettext(GETTEXT_PACKAGE, "A split model: %u part\n", "A split model: %u parts\n", run.headers->len),
           run.headers->len);
  g_ptr_array_unref(run.headers);
  if (run.file_sizes) g_array_unref(run.file_sizes);
  if (!ok) {
    fprintf(stderr, "distill fit: %s\n", err.message);
    return 1;
  }
  g_autofree char *need = g_format_size(fit.total_bytes);
  printf(_("Verdict: %s\n"), still_fit_verdict_name(fit.verdict));
  printf("%s\n", fit.message);
  printf(_("Context: %d tokens; memory needed: %s; GPU layers: %d of %d\n"), fit.n_ctx, need, fit.gpu_layers,
         fit.n_layers);
  if (fit.max_ctx_gpu > 0) printf(_("Largest context fully on the GPU: %d tokens\n"), fit.max_ctx_gpu);
  if (fit.verdict != STILL_FIT_NO) printf(_("Speed: about %.0f tokens/s\n"), fit.tok_s_estimate);
  return 0;
}

/* ==== distill serve [--port N] [--model FILE.gguf|ID] [--api-key KEY] ====
 * The local OpenAI-compatible API server without a window (see distill-api-server.h): loads
 * the model, prints the URL and where the key comes from, logs one line per request, and runs
 * until SIGINT/SIGTERM. Exit 0 after a clean stop, 1 when the model or the port failed, 2 usage. */
typedef struct {
  GMainLoop *loop;
  gboolean loaded;
  GError *error;
} ServeRun;

static gboolean serve_quit(gpointer user_data)
{
  g_main_loop_quit(((ServeRun *)user_data)->loop);
  return G_SOURCE_CONTINUE;
}

static void serve_loaded(GObject *source, GAsyncResult *result, gpointer user_data)
{
  ServeRun *run = user_data;
  run->loaded = distill_engine_load_finish(DISTILL_ENGINE(source), result, &run->error);
  g_main_loop_quit(run->loop);
}

static void serve_log(DistillApiServer *server, const char *method, const char *path, guint status, gpointer data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local();
  g_autofree char *stamp = g_date_time_format(now, "%H:%M:%S");
  fprintf(stderr, "%s %s %s %u\n", stamp, method, path, status);
}

/* The app's settings when its schema is installed (run from a build folder: none). */
static GSettings *serve_settings(void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default();
  g_autoptr(GSettingsSchema) schema = source ? g_settings_schema_source_lookup(source, APP_ID, TRUE) : NULL;
  if (schema == NULL || !g_settings_schema_has_key(schema, "api-server-port")) return NULL;
  return g_settings_new(APP_ID);
}

static int serve_main(int argc, char **argv)
{
  int port = -1;
  g_autofree char *model = NULL;
  g_autofree char *key_option = NULL;
  GOptionEntry entries[] = {
    {"port", 'p', 0, G_OPTION_ARG_INT, &port, N_("Port on 127.0.0.1 to listen on (default: the one set in Preferences)"),
     N_("N")},
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &model, N_("Model to load: a GGUF file or the id of an installed model"),
     N_("FILE|ID")},
    {"api-key", 'k', 0, G_OPTION_ARG_STRING, &key_option,
     N_("API key clients must send (default: $DISTILL_API_KEY, else the stored key)"), N_("KEY")},
    {NULL},
  };
  g_autoptr(GOptionContext) context = g_option_context_new(NULL);
  g_option_context_set_summary(context, _("Answer OpenAI-compatible requests (/v1/chat/completions, /v1/completions, "
                                          "/v1/models) on 127.0.0.1 with the models of this computer."));
  g_option_context_add_main_entries(context, entries, GETTEXT_PACKAGE);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse(context, &argc, &argv, &error)) {
    fprintf(stderr, "distill serve: %s\n", error->message);
    return 2;
  }
  if (argc != 1) {
    fprintf(stderr, _("Usage: distill serve [--port N] [--model FILE.gguf|ID] [--api-key KEY]\n"));
    return 2;
  }
  g_autoptr(GSettings) settings = serve_settings();
  if (port < 0) port = settings ? g_settings_get_int(settings, "api-server-port") : DISTILL_API_DEFAULT_PORT;
  if (port < 1 || port > 65535) {
    fprintf(stderr, _("distill serve: --port wants a number from 1 to 65535\n"));
    return 2;
  }

  /* the key: the option, the environment, or the stored one (made the first time) */
  g_autofree char *key = NULL;
  const char *env_key = g_getenv("DISTILL_API_KEY");
  gboolean generated = FALSE;
  DistillApiKeySource source;
  if (key_option && *key_option) {
    key = g_strdup(key_option);
    source = DISTILL_API_KEY_GIVEN;
  } else if (env_key && *env_key) {
    key = g_strdup(env_key);
    source = DISTILL_API_KEY_GIVEN;
  } else {
    key = distill_api_key_load_or_create(&generated, &error);
    if (key == NULL) {
      fprintf(stderr, _("distill serve: could not store a new API key: %s\n"), error->message);
      return 1;
    }
    source = generated ? DISTILL_API_KEY_GENERATED : DISTILL_API_KEY_STORED;
  }

  DistillEngine *engine = distill_engine_get_default();
  g_autoptr(DistillApiServer) server = distill_api_server_new(engine);
  distill_api_server_set_api_key(server, key);
  if (settings) distill_api_server_set_load_settings(server, settings);
  if (settings) {
    g_auto(GStrv) origins = g_settings_get_strv(settings, "api-cors-origins");
    distill_api_server_set_allowed_origins(server, (const char *const *)origins);
  }

  if (model) {
    g_autofree char *path = NULL;
    if (g_file_test(model, G_FILE_TEST_IS_REGULAR)) {
      path = g_strdup(model);
    } else {
      g_autoptr(GPtrArray) models = distill_api_server_list_models(server);
      for (guint i = 0; i < models->len && !path; i++) {
        char **pair = g_ptr_array_index(models, i);
        if (g_str_equal(pair[0], model)) path = g_strdup(pair[1]);
      }
    }
    if (path == NULL) {
      fprintf(stderr, _("distill serve: %s is neither a GGUF file nor the id of an installed model\n"), model);
      return 1;
    }
    g_autofree char *id = distill_model_display_name(path);
    fprintf(stdout, _("Loading %s…\n"), id);
    fflush(stdout);
    ServeRun load = {g_main_loop_new(NULL, FALSE), FALSE, NULL};
    distill_engine_load_async(engine, path, NULL, serve_loaded, &load);
    g_main_loop_run(load.loop);
    g_main_loop_unref(load.loop);
    if (!load.loaded) {
      fprintf(stderr, _("distill serve: could not load %s: %s\n"), path, load.error->message);
      g_error_free(load.error);
      return 1;
    }
  }

  /* The Preferences' Auto GPU layers need the hardware probe: finish it before serving, so no probe
   * thread (Vulkan, the bandwidth measurement) is still running when a signal ends the process. */
  if (settings) {
    DistillHardware *hardware = distill_hardware_get_default();
    gint64 give_up = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (!distill_hardware_is_ready(hardware) && g_get_monotonic_time() < give_up)
      if (!g_main_context_iteration(NULL, FALSE)) g_usleep(10000);
  }

  if (!distill_api_server_start(server, port, &error)) {
    fprintf(stderr, "distill serve: %s\n", error->message);
    return 1;
  }
  /* before anything is printed: a caller that reads the URL may signal at once */
  ServeRun run = {g_main_loop_new(NULL, FALSE), FALSE, NULL};
  guint sigint = g_unix_signal_add(SIGINT, serve_quit, &run);
  guint sigterm = g_unix_signal_add(SIGTERM, serve_quit, &run);
  g_autofree char *url = distill_api_server_get_url(server);
  fprintf(stdout, _("Distill API server: %s\n"), url);
  if (distill_engine_get_model_path(engine)) {
    g_autofree char *id = distill_model_display_name(distill_engine_get_model_path(engine));
    fprintf(stdout, _("Model: %s\n"), id);
  } else {
    fprintf(stdout, _("No model loaded: requests name one in \"model\" (GET /v1/models lists them).\n"));
  }
  g_autofree char *file = distill_secret_file_path();
  switch (source) {
  case DISTILL_API_KEY_GIVEN:
    fprintf(stdout, key_option ? _("API key: the one given with --api-key\n")
                               : _("API key: the one in DISTILL_API_KEY\n"));
    break;
  case DISTILL_API_KEY_STORED:
    if (distill_secret_uses_keyring())
      fprintf(stdout, _("API key: the stored one (in the keyring; Preferences → API Server shows it)\n"));
    else
      fprintf(stdout, _("API key: the stored one (in %s)\n"), file);
    break;
  case DISTILL_API_KEY_GENERATED:
    /* the only time the key is printed: it was made just now */
    if (distill_secret_uses_keyring())
      fprintf(stdout, _("API key (new, stored in the keyring): %s\n"), key);
    else
      fprintf(stdout, _("API key (new, stored in %s): %s\n"), file, key);
    break;
  }
  fprintf(stdout, _("Press Ctrl+C to stop.\n"));
  fflush(stdout);

  g_signal_connect(server, "request-done", G_CALLBACK(serve_log), NULL);
  g_main_loop_run(run.loop);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  g_main_loop_unref(run.loop);
  distill_api_server_stop(server);
  fprintf(stdout, _("Stopped.\n"));
  return 0;
}

int distill_cli_main(int argc, char **argv)
{
  if (g_strcmp0(argv[1], "pull") == 0) return pull_main(argc - 1, argv + 1);
  if (g_strcmp0(argv[1], "fit") == 0) return fit_main(argc - 1, argv + 1);
  if (g_strcmp0(argv[1], "serve") == 0) return serve_main(argc - 1, argv + 1);
  return 2;
}
