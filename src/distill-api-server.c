/* distill-api-server.c — the local OpenAI-compatible server (see the header).
 *
 * One Job per generation request. Jobs wait in a queue and run one at a time: resolve the
 * model (load it when another one is in memory), queue the generation on the engine, and turn
 * its "delta" signals into the response. The SoupServerMessage stays paused while a job waits
 * or runs; a streamed answer is written chunk by chunk (append + unpause). The message's
 * "finished" signal before the answer is complete means the client went away: the job's
 * generation is stopped (or the job leaves the queue). */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "distill-api-openai.h"
#include "distill-api-server.h"
#include "distill-chat-settings.h"
#include "distill-hardware.h"
#include "distill-load-settings.h"
#include "distill-secret.h"

typedef struct _Job Job;

/* Requests beyond this many waiting get 503: a client in a loop should not queue hours of work. */
#define DEFAULT_MAX_WAITING 32

struct _DistillApiServer {
  GObject parent_instance;
  DistillEngine *engine;
  char *models_folder;
  char *api_key;
  GStrv allowed_origins;
  SoupServer *soup;
  int port;
  guint request_count;
  char *last_error;
  GQueue queue;  /* Job*, waiting */
  Job *current;  /* loading its model or generating */
  guint next_source;
  guint64 serial;
  GSettings *settings; /* followed, see distill_api_server_follow_settings */
  GSettings *load_settings; /* how models run (GPU layers, threads, KV type, context); NULL: settings */
  guint max_waiting;
};

G_DEFINE_FINAL_TYPE(DistillApiServer, distill_api_server, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ENGINE,
  PROP_MODELS_FOLDER,
  PROP_API_KEY,
  PROP_ALLOWED_ORIGINS,
  PROP_RUNNING,
  PROP_PORT,
  PROP_REQUEST_COUNT,
  PROP_LAST_ERROR,
  PROP_MAX_WAITING,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

enum { SIG_REQUEST_DONE, N_SIGNALS };
static guint signals[N_SIGNALS];

struct _Job {
  DistillApiServer *server;   /* not a reference: the server frees its jobs */
  SoupServerMessage *msg;     /* a reference; NULL once the client is gone or answered */
  gulong finished_id;
  char *path;
  DistillApiRequest *req;
  char *model_id;             /* what the answer says in "model" */
  char *model_path;           /* the file to have in memory */
  char *id;                   /* "chatcmpl-…" / "cmpl-…" */
  gint64 created;
  DistillGeneration *gen;
  GCancellable *load_cancel;
  DistillApiDeltas *deltas;
  GString *content, *reasoning; /* non-streamed: the whole answer; streamed: this delta */
  gboolean reasoning_on;
  gboolean too_long;           /* the history did not fit: answer 400 */
  int prompt_tokens, n_ctx;
  gboolean stream_started;     /* 200 and the headers are out */
  gboolean gone;               /* the client went away before its answer was complete */
};

static void run_next_soon(DistillApiServer *self);

/* ==== small helpers ==== */

static void set_last_error(DistillApiServer *self, const char *message)
{
  if (g_strcmp0(self->last_error, message) == 0) return;
  g_free(self->last_error);
  self->last_error = g_strdup(message);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_LAST_ERROR]);
}

static char *models_folder(DistillApiServer *self)
{
  if (self->models_folder && *self->models_folder) return g_strdup(self->models_folder);
  GSettingsSchemaSource *source = g_settings_schema_source_get_default();
  g_autoptr(GSettingsSchema) schema = source ? g_settings_schema_source_lookup(source, APP_ID, TRUE) : NULL;
  if (schema && g_settings_schema_has_key(schema, "models-folder")) {
    g_autoptr(GSettings) settings = g_settings_new(APP_ID);
    g_autofree char *dir = g_settings_get_string(settings, "models-folder");
    if (dir && *dir) return g_steal_pointer(&dir);
  }
  return g_build_filename(g_get_user_data_dir(), "distill", "models", NULL);
}

GPtrArray *distill_api_server_list_models(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *dir = models_folder(self);
  g_autoptr(GPtrArray) files = distill_find_model_files(dir);
  const char *loaded = distill_engine_get_model_path(self->engine);
  for (guint i = 0; i <= files->len; i++) {
    const char *path = i < files->len ? g_ptr_array_index(files, i) : loaded;
    if (path == NULL) continue;
    char *id = distill_api_model_id(path);
    if (g_hash_table_contains(seen, id)) { /* the same name twice: the first one answers to it */
      g_free(id);
      continue;
    }
    g_hash_table_add(seen, id);
    char **pair = g_new0(char *, 3);
    pair[0] = g_strdup(id);
    pair[1] = g_strdup(path);
    g_ptr_array_add(out, pair);
  }
  return out;
}

/* CORS: only for listed origins, and only the request's own origin is echoed. */
static gboolean origin_allowed(DistillApiServer *self, const char *origin)
{
  if (origin == NULL || self->allowed_origins == NULL) return FALSE;
  for (guint i = 0; self->allowed_origins[i]; i++) {
    const char *o = self->allowed_origins[i];
    if (g_str_equal(o, "*") || g_ascii_strcasecmp(o, origin) == 0) return TRUE;
  }
  return FALSE;
}

static void apply_cors(DistillApiServer *self, SoupServerMessage *msg)
{
  SoupMessageHeaders *in = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders *out = soup_server_message_get_response_headers(msg);
  const char *origin = soup_message_headers_get_one(in, "Origin");
  soup_message_headers_append(out, "Vary", "Origin");
  if (!origin_allowed(self, origin)) return;
  soup_message_headers_replace(out, "Access-Control-Allow-Origin", origin);
}

static void respond_json(SoupServerMessage *msg, guint status, char *json /* taken */)
{
  soup_server_message_set_status(msg, status, NULL);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, json, strlen(json));
}

static void respond_error(SoupServerMessage *msg, guint status, const char *message, const char *type,
                          const char *param, const char *code)
{
  respond_json(msg, status, distill_api_error_json(message, type, param, code));
}

static void count_request(DistillApiServer *self, SoupServerMessage *msg, const char *path)
{
  self->request_count++;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_REQUEST_COUNT]);
  g_signal_emit(self, signals[SIG_REQUEST_DONE], 0, soup_server_message_get_method(msg), path,
                soup_server_message_get_status(msg));
}

/* ==== jobs ==== */

static void on_msg_finished(SoupServerMessage *msg, Job *job);

static void job_release_msg(Job *job)
{
  if (!job->msg) return;
  g_clear_signal_handler(&job->finished_id, job->msg);
  g_clear_object(&job->msg);
}

static void job_free(Job *job)
{
  if (job->gen) {
    g_signal_handlers_disconnect_by_data(job->gen, job);
    if (!distill_generation_is_finished(job->gen)) distill_generation_stop(job->gen);
    g_object_unref(job->gen);
  }
  if (job->load_cancel) {
    g_object_set_data(G_OBJECT(job->load_cancel), "job", NULL); /* the load's callback finds no job */
    g_cancellable_cancel(job->load_cancel);
    g_object_unref(job->load_cancel);
  }
  job_release_msg(job);
  distill_api_request_free(job->req);
  distill_api_deltas_free(job->deltas);
  if (job->content) g_string_free(job->content, TRUE);
  if (job->reasoning) g_string_free(job->reasoning, TRUE);
  g_free(job->path);
  g_free(job->model_id);
  g_free(job->model_path);
  g_free(job->id);
  g_free(job);
}

/* The answer is complete (or failed): let libsoup write it, and run the next job. */
static void job_done(Job *job)
{
  DistillApiServer *self = job->server;
  if (job->gone) {
    /* logged as nginx does (499: the client closed the request) when its generation was cut
     * short or never ran; a generation that ended on its own keeps its status */
    gboolean cut = job->gen == NULL || distill_generation_get_stop_reason(job->gen) == DISTILL_STOP_STOPPED;
    self->request_count++;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_REQUEST_COUNT]);
    g_signal_emit(self, signals[SIG_REQUEST_DONE], 0, "POST", job->path, cut ? 499u : (guint)SOUP_STATUS_OK);
  } else if (job->msg) {
    SoupServerMessage *msg = g_object_ref(job->msg);
    job_release_msg(job);
    count_request(self, msg, job->path);
    soup_server_message_unpause(msg);
    g_object_unref(msg);
  }
  if (self->current == job) self->current = NULL;
  g_queue_remove(&self->queue, job);
  job_free(job);
  run_next_soon(self);
}

static void job_fail(Job *job, guint status, const char *message, const char *type, const char *code)
{
  if (job->msg && !job->stream_started) {
    respond_error(job->msg, status, message, type, NULL, code);
  } else if (job->msg) {
    /* the 200 is out already: say it in the stream (as vLLM does), then end it */
    SoupMessageBody *body = soup_server_message_get_response_body(job->msg);
    g_autofree char *json = distill_api_error_json(message, type, NULL, code);
    char *event = g_strconcat("data: ", json, "\n\n", DISTILL_API_SSE_DONE, NULL);
    soup_message_body_append_take(body, (guchar *)event, strlen(event));
    soup_message_body_complete(body);
  }
  if (status >= 500) set_last_error(job->server, message);
  job_done(job);
}

/* The client went away before its answer was complete. */
static void on_msg_finished(SoupServerMessage *msg, Job *job)
{
  DistillApiServer *self = job->server;
  job_release_msg(job);
  job->gone = TRUE;
  if (job->gen) {
    /* the engine finishes quickly now; the job ends in on_gen_finished */
    distill_generation_stop(job->gen);
  } else if (self->current != job) {
    job_done(job); /* it leaves the queue */
  }
  /* a job loading its model ends when the load does */
}

static void stream_append(Job *job, char *event /* taken */)
{
  SoupMessageBody *body = soup_server_message_get_response_body(job->msg);
  soup_message_body_append_take(body, (guchar *)event, strlen(event));
}

static void stream_start(Job *job)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers(job->msg);
  soup_server_message_set_status(job->msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_content_type(h, "text/event-stream", NULL);
  soup_message_headers_replace(h, "Cache-Control", "no-cache");
  soup_message_headers_set_encoding(h, SOUP_ENCODING_CHUNKED);
  job->stream_started = TRUE;
  if (job->req->kind == DISTILL_API_CHAT) /* OpenAI's first chunk: the role and an empty content */
    stream_append(job, distill_api_chat_chunk(job->id, job->created, job->model_id, "assistant", "", NULL, NULL,
                                              job->req->include_usage));
  soup_server_message_unpause(job->msg);
}

/* Send what the last feed produced (streaming), or keep it (not streaming). */
static void stream_deltas(Job *job)
{
  if (!job->req->stream || !job->msg || !job->stream_started) return;
  gboolean any = FALSE;
  if (job->reasoning->len > 0) {
    stream_append(job, distill_api_chat_chunk(job->id, job->created, job->model_id, NULL, NULL, job->reasoning->str,
                                              NULL, job->req->include_usage));
    any = TRUE;
  }
  if (job->content->len > 0) {
    stream_append(job, job->req->kind == DISTILL_API_CHAT
                         ? distill_api_chat_chunk(job->id, job->created, job->model_id, NULL, job->content->str,
                                                  NULL, NULL, job->req->include_usage)
                         : distill_api_completion_chunk(job->id, job->created, job->model_id, job->content->str,
                                                        NULL, job->req->include_usage));
    any = TRUE;
  }
  g_string_truncate(job->reasoning, 0);
  g_string_truncate(job->content, 0);
  if (any) soup_server_message_unpause(job->msg);
}

static void on_prompt_ready(DistillGeneration *gen, int prompt_tokens, int dropped, int n_ctx, Job *job)
{
  job->prompt_tokens = prompt_tokens;
  job->n_ctx = n_ctx;
  if (dropped > 0) {
    /* the engine left out old turns to make room; an API client asked for all of them */
    job->too_long = TRUE;
    distill_generation_stop(gen);
    return;
  }
  gboolean starts_in_think = distill_generation_starts_in_think(gen);
  job->reasoning_on = job->req->kind == DISTILL_API_CHAT &&
                      (starts_in_think || distill_engine_get_is_r1(job->server->engine));
  job->deltas = distill_api_deltas_new((const char *const *)job->req->stop, job->reasoning_on, starts_in_think);
  if (job->req->stream && job->msg) stream_start(job);
}

static void on_delta(DistillGeneration *gen, const char *text, int tokens, Job *job)
{
  if (job->deltas == NULL || job->msg == NULL) return;
  distill_api_deltas_feed(job->deltas, text, -1, job->content, job->reasoning);
  if (distill_api_deltas_stopped(job->deltas)) distill_generation_stop(gen);
  stream_deltas(job);
}

static void on_gen_finished(DistillGeneration *gen, Job *job)
{
  if (job->msg == NULL) { /* the client is gone */
    job_done(job);
    return;
  }
  DistillStopReason why = distill_generation_get_stop_reason(gen);
  const GError *error = distill_generation_get_error(gen);
  if (job->too_long || (why == DISTILL_STOP_ERROR && g_error_matches(error, DISTILL_ENGINE_ERROR,
                                                                      DISTILL_ENGINE_ERROR_TOO_LONG))) {
    g_autofree char *message =
      job->too_long
        ? g_strdup_printf(_("This model's context holds %d tokens, and the request needs more (%d tokens of "
                            "messages plus room for the answer). Send fewer or shorter messages, or a smaller "
                            "max_tokens."),
                          job->n_ctx, job->prompt_tokens)
        : g_strdup(error->message);
    job_fail(job, SOUP_STATUS_BAD_REQUEST, message, "invalid_request_error", "context_length_exceeded");
    return;
  }
  if (why == DISTILL_STOP_ERROR) {
    job_fail(job, SOUP_STATUS_INTERNAL_SERVER_ERROR, error ? error->message : _("The model stopped with an error."),
             "server_error", NULL);
    return;
  }
  if (job->deltas == NULL) /* finished before any prompt (stopped while queued) */
    job->deltas = distill_api_deltas_new(NULL, FALSE, FALSE);
  distill_api_deltas_finish(job->deltas, job->content, job->reasoning);
  const char *finish = why == DISTILL_STOP_MAX_TOKENS || why == DISTILL_STOP_CONTEXT_FULL ? "length" : "stop";
  if (distill_api_deltas_stopped(job->deltas)) finish = "stop";
  const DistillGenerationStats *st = distill_generation_get_stats(gen);
  DistillApiUsage usage = {st->prompt_tokens, st->gen_tokens};
  gboolean chat = job->req->kind == DISTILL_API_CHAT;
  if (job->req->stream) {
    if (!job->stream_started) stream_start(job);
    stream_deltas(job);
    if (job->msg == NULL) { /* the client went away while that was written */
      job_done(job);
      return;
    }
    if (chat)
      stream_append(job, distill_api_chat_chunk(job->id, job->created, job->model_id, NULL, NULL, NULL, finish,
                                                job->req->include_usage));
    else
      stream_append(job, distill_api_completion_chunk(job->id, job->created, job->model_id, "", finish,
                                                      job->req->include_usage));
    if (job->req->include_usage)
      stream_append(job, distill_api_usage_chunk(job->id, job->created, job->model_id, chat, &usage));
    stream_append(job, g_strdup(DISTILL_API_SSE_DONE));
    soup_message_body_complete(soup_server_message_get_response_body(job->msg));
  } else if (chat) {
    /* like vLLM's deepseek_r1 parser: no answer after the reasoning → content null */
    const char *content = job->reasoning_on && job->content->len == 0 ? NULL : job->content->str;
    const char *reasoning = job->reasoning->len > 0 ? job->reasoning->str : NULL;
    respond_json(job->msg, SOUP_STATUS_OK,
                 distill_api_chat_response_json(job->id, job->created, job->model_id, content, reasoning,
                                                job->reasoning_on, finish, &usage));
  } else {
    respond_json(job->msg, SOUP_STATUS_OK,
                 distill_api_completion_response_json(job->id, job->created, job->model_id, job->content->str,
                                                      finish, &usage));
  }
  job_done(job);
}

static void job_generate(Job *job)
{
  DistillApiRequest *r = job->req;
  DistillGenerateRequest *req = distill_generate_request_new();
  if (r->kind == DISTILL_API_CHAT) {
    for (guint i = 0; i < r->roles->len; i++)
      distill_generate_request_add_message(req, g_ptr_array_index(r->roles, i), g_ptr_array_index(r->contents, i));
  } else {
    req->raw_prompt = g_strdup(r->prompt);
  }
  req->temperature = r->temperature;
  req->top_p = r->top_p;
  req->max_tokens = r->max_tokens;
  if (r->has_seed) req->seed = r->seed;
  if (r->max_tokens > 0) req->reserve = r->max_tokens;
  /* the context size the app would use for a new chat with this model (else the engine's default) */
  GSettings *load_settings = job->server->load_settings ? job->server->load_settings : job->server->settings;
  if (load_settings) {
    req->n_ctx = distill_load_settings_get_context_size(load_settings, job->model_path);
    /* GPU layers, threads and KV type as the Preferences say for this model (the chat does the same) */
    DistillHardware *hardware = distill_hardware_get_default();
    still_hardware hw;
    gboolean known = hardware && distill_hardware_get_effective(hardware, &hw);
    distill_load_settings_apply(load_settings, job->model_path, req->n_ctx, job->server->engine,
                                known ? &hw : NULL);
  }
  job->gen = distill_engine_generate(job->server->engine, req);
  g_signal_connect(job->gen, "prompt-ready", G_CALLBACK(on_prompt_ready), job);
  g_signal_connect(job->gen, "delta", G_CALLBACK(on_delta), job);
  g_signal_connect(job->gen, "finished", G_CALLBACK(on_gen_finished), job);
}

static void on_model_loaded(GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GCancellable) cancellable = data;
  g_autoptr(GError) error = NULL;
  gboolean ok = distill_engine_load_finish(DISTILL_ENGINE(source), result, &error);
  Job *job = g_object_get_data(G_OBJECT(cancellable), "job");
  if (job == NULL) return; /* the job was dropped (server stopped) */
  g_object_set_data(G_OBJECT(cancellable), "job", NULL);
  g_clear_object(&job->load_cancel);
  if (job->msg == NULL) {
    job_done(job);
    return;
  }
  if (!ok) {
    g_autofree char *message = g_strdup_printf(_("Could not load the model %s: %s"), job->model_id, error->message);
    job_fail(job, SOUP_STATUS_INTERNAL_SERVER_ERROR, message, "server_error", "model_load_failed");
    return;
  }
  job_generate(job);
}

static void run_job(DistillApiServer *self, Job *job)
{
  self->current = job;
  if (job->model_path && g_strcmp0(job->model_path, distill_engine_get_model_path(self->engine)) != 0) {
    job->load_cancel = g_cancellable_new();
    g_object_set_data(G_OBJECT(job->load_cancel), "job", job);
    distill_engine_load_async(self->engine, job->model_path, job->load_cancel, on_model_loaded,
                              g_object_ref(job->load_cancel));
    return;
  }
  job_generate(job);
}

static gboolean run_next(gpointer data)
{
  DistillApiServer *self = data;
  self->next_source = 0;
  if (self->current) return G_SOURCE_REMOVE;
  Job *job = g_queue_pop_head(&self->queue);
  if (job) run_job(self, job);
  return G_SOURCE_REMOVE;
}

static void run_next_soon(DistillApiServer *self)
{
  if (self->next_source == 0 && self->current == NULL && !g_queue_is_empty(&self->queue))
    self->next_source = g_idle_add(run_next, self);
}

/* ==== request handling ==== */

/* The model a request names: (id, path). A NULL name means the loaded model. */
static gboolean resolve_model(DistillApiServer *self, const char *name, char **id, char **path, char **message)
{
  const char *loaded = distill_engine_get_model_path(self->engine);
  if (name == NULL) {
    if (loaded == NULL) {
      *message = g_strdup(_("No model is loaded. Name one in \"model\" (see GET /v1/models)."));
      return FALSE;
    }
    *id = distill_api_model_id(loaded);
    *path = g_strdup(loaded);
    return TRUE;
  }
  g_autoptr(GPtrArray) models = distill_api_server_list_models(self);
  for (guint i = 0; i < models->len; i++) {
    char **pair = g_ptr_array_index(models, i);
    if (g_str_equal(pair[0], name)) {
      *id = g_strdup(pair[0]);
      *path = g_strdup(pair[1]);
      return TRUE;
    }
  }
  *message = g_strdup_printf(_("The model %s is not installed here. GET /v1/models lists the installed models."),
                             name);
  return FALSE;
}

static void handle_models(DistillApiServer *self, SoupServerMessage *msg, const char *path)
{
  g_autoptr(GPtrArray) models = distill_api_server_list_models(self);
  g_autofree DistillApiModelEntry *entries = g_new0(DistillApiModelEntry, models->len + 1);
  for (guint i = 0; i < models->len; i++) {
    char **pair = g_ptr_array_index(models, i);
    entries[i].id = pair[0];
    GStatBuf st;
    entries[i].created = g_stat(pair[1], &st) == 0 ? (gint64)st.st_mtime : 0;
  }
  const char *one = g_str_has_prefix(path, "/v1/models/") ? path + strlen("/v1/models/") : NULL;
  if (one == NULL) {
    respond_json(msg, SOUP_STATUS_OK, distill_api_models_json(entries, models->len));
    return;
  }
  for (guint i = 0; i < models->len; i++) {
    if (!g_str_equal(entries[i].id, one)) continue;
    respond_json(msg, SOUP_STATUS_OK, distill_api_model_json(&entries[i]));
    return;
  }
  g_autofree char *message = g_strdup_printf(_("The model %s is not installed here."), one);
  respond_error(msg, SOUP_STATUS_NOT_FOUND, message, "invalid_request_error", "model", "model_not_found");
}

static void handle_generate(DistillApiServer *self, SoupServerMessage *msg, const char *path, DistillApiKind kind)
{
  SoupMessageBody *body = soup_server_message_get_request_body(msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten(body);
  gsize len = 0;
  const char *data = g_bytes_get_data(bytes, &len);
  g_autofree char *param = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillApiRequest) req = distill_api_request_parse(kind, data, len, &param, &error);
  if (req == NULL) {
    respond_error(msg, SOUP_STATUS_BAD_REQUEST, error->message, "invalid_request_error", param,
                  error->code == DISTILL_API_ERROR_INVALID_JSON ? "invalid_json" : NULL);
    return;
  }
  if (g_queue_get_length(&self->queue) >= self->max_waiting) {
    guint waiting = g_queue_get_length(&self->queue);
    g_autofree char *busy =
      g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "The server is busy: %u request is waiting. Try again later.",
                                  "The server is busy: %u requests are waiting. Try again later.", waiting),
                      waiting);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After", "5");
    respond_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, busy, "server_error", NULL, "server_busy");
    return;
  }
  g_autofree char *model_id = NULL, *model_path = NULL, *message = NULL;
  if (!resolve_model(self, req->model, &model_id, &model_path, &message)) {
    respond_error(msg, SOUP_STATUS_BAD_REQUEST, message, "invalid_request_error", "model", "model_not_found");
    return;
  }
  Job *job = g_new0(Job, 1);
  job->server = self;
  job->msg = g_object_ref(msg);
  job->path = g_strdup(path);
  job->req = g_steal_pointer(&req);
  job->model_id = g_steal_pointer(&model_id);
  job->model_path = g_steal_pointer(&model_path);
  job->id = g_strdup_printf("%s-%016" G_GINT64_MODIFIER "x%04x", kind == DISTILL_API_CHAT ? "chatcmpl" : "cmpl",
                            g_get_real_time(), (guint)(++self->serial & 0xffff));
  job->created = g_get_real_time() / G_USEC_PER_SEC;
  job->content = g_string_new(NULL);
  job->reasoning = g_string_new(NULL);
  job->finished_id = g_signal_connect(msg, "finished", G_CALLBACK(on_msg_finished), job);
  soup_server_message_pause(msg);
  g_queue_push_tail(&self->queue, job);
  run_next_soon(self);
}

/* Before the body is read: refuse bodies that are too large (or of unknown length). */
static void early_handler(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                          gpointer data)
{
  DistillApiServer *self = data;
  SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
  SoupEncoding enc = soup_message_headers_get_encoding(h);
  gboolean refuse = enc == SOUP_ENCODING_CHUNKED ||
                    (enc == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length(h) > DISTILL_API_MAX_BODY);
  /* libsoup still reads the body of a refused request before it answers: let it pass through
   * without keeping it in memory */
  if (refuse) soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
  if (enc == SOUP_ENCODING_CHUNKED) {
    apply_cors(self, msg);
    respond_error(msg, SOUP_STATUS_LENGTH_REQUIRED, _("Send the request body with a Content-Length."),
                  "invalid_request_error", NULL, NULL);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
    count_request(self, msg, path);
  } else if (enc == SOUP_ENCODING_CONTENT_LENGTH && soup_message_headers_get_content_length(h) > DISTILL_API_MAX_BODY) {
    apply_cors(self, msg);
    g_autofree char *limit = g_format_size(DISTILL_API_MAX_BODY);
    g_autofree char *message = g_strdup_printf(_("The request body is too large: the limit is %s."), limit);
    respond_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, message, "invalid_request_error", NULL, NULL);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection", "close");
    count_request(self, msg, path);
  }
}

static void handler(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  DistillApiServer *self = data;
  const char *method = soup_server_message_get_method(msg);
  SoupMessageHeaders *in = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders *out = soup_server_message_get_response_headers(msg);
  apply_cors(self, msg);

  gboolean is_models = g_str_equal(path, "/v1/models") ||
                       (g_str_has_prefix(path, "/v1/models/") && strlen(path) > strlen("/v1/models/"));
  gboolean is_chat = g_str_equal(path, "/v1/chat/completions");
  gboolean is_completions = g_str_equal(path, "/v1/completions");
  if (!is_models && !is_chat && !is_completions) {
    g_autofree char *message = g_strdup_printf(_("There is nothing at %s %s. This server answers GET /v1/models, "
                                                 "POST /v1/chat/completions and POST /v1/completions."),
                                               method, path);
    respond_error(msg, SOUP_STATUS_NOT_FOUND, message, "invalid_request_error", NULL, "not_found");
    count_request(self, msg, path);
    return;
  }
  const char *allowed = is_models ? "GET, OPTIONS" : "POST, OPTIONS";
  if (method == SOUP_METHOD_OPTIONS) {
    /* CORS preflight: no key is sent with it */
    soup_message_headers_replace(out, "Allow", allowed);
    if (origin_allowed(self, soup_message_headers_get_one(in, "Origin"))) {
      soup_message_headers_replace(out, "Access-Control-Allow-Methods", allowed);
      soup_message_headers_replace(out, "Access-Control-Allow-Headers", "Authorization, Content-Type");
      soup_message_headers_replace(out, "Access-Control-Max-Age", "600");
    }
    soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
    count_request(self, msg, path);
    return;
  }
  if ((is_models && method != SOUP_METHOD_GET) || (!is_models && method != SOUP_METHOD_POST)) {
    soup_message_headers_replace(out, "Allow", allowed);
    g_autofree char *message = g_strdup_printf(_("%s is not allowed on %s: use %s."), method, path,
                                               is_models ? "GET" : "POST");
    respond_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, message, "invalid_request_error", NULL, "method_not_allowed");
    count_request(self, msg, path);
    return;
  }
  const char *auth = soup_message_headers_get_one(in, "Authorization");
  if (!distill_api_check_bearer(auth, self->api_key)) {
    soup_message_headers_replace(out, "WWW-Authenticate", "Bearer");
    respond_error(msg, SOUP_STATUS_UNAUTHORIZED,
                  auth ? _("The API key is not right. Copy the key from Distill's Preferences (API Server).")
                       : _("An API key is needed: send the header \"Authorization: Bearer KEY\" with the key from "
                           "Distill's Preferences (API Server)."),
                  "authentication_error", NULL, "invalid_api_key");
    count_request(self, msg, path);
    return;
  }
  if (is_models) {
    handle_models(self, msg, path);
    count_request(self, msg, path);
    return;
  }
  handle_generate(self, msg, path, is_chat ? DISTILL_API_CHAT : DISTILL_API_COMPLETION);
  if (soup_server_message_get_status(msg) != 0) count_request(self, msg, path); /* answered at once (an error) */
}

/* ==== start / stop ==== */

gboolean distill_api_server_start(DistillApiServer *self, int port, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), FALSE);
  distill_api_server_stop(self);
  SoupServer *soup = soup_server_new("server-header", "Distill/" PACKAGE_VERSION " ", NULL);
  soup_server_add_early_handler(soup, NULL, early_handler, self, NULL);
  soup_server_add_handler(soup, NULL, handler, self, NULL);
  g_autoptr(GError) local = NULL;
  /* 127.0.0.1 only: never reachable from other computers */
  if (port < 0 || port > 65535 || !soup_server_listen_local(soup, (guint)port, SOUP_SERVER_LISTEN_IPV4_ONLY, &local)) {
    g_autofree char *message = NULL;
    if (local == NULL)
      message = g_strdup_printf(_("Port %d is not a port number: choose one from 1 to 65535."), port);
    else if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
      message = g_strdup_printf(_("Port %d is already used by another program. Choose another port."), port);
    else if (g_error_matches(local, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
      message = g_strdup_printf(_("Port %d needs administrator rights. Choose a port above 1024."), port);
    else
      message = g_strdup_printf(_("Could not listen on port %d: %s"), port, local->message);
    set_last_error(self, message);
    g_set_error_literal(error, G_IO_ERROR, local ? local->code : G_IO_ERROR_INVALID_ARGUMENT, message);
    g_object_unref(soup);
    return FALSE;
  }
  self->soup = soup;
  GSList *uris = soup_server_get_uris(soup);
  self->port = uris ? g_uri_get_port(uris->data) : port;
  g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
  self->request_count = 0;
  set_last_error(self, NULL);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PORT]);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_REQUEST_COUNT]);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_RUNNING]);
  return TRUE;
}

static void drop_jobs(DistillApiServer *self)
{
  g_clear_handle_id(&self->next_source, g_source_remove);
  Job *job;
  while ((job = g_queue_pop_head(&self->queue))) job_free(job);
  if (self->current) {
    job_free(self->current);
    self->current = NULL;
  }
}

void distill_api_server_stop(DistillApiServer *self)
{
  g_return_if_fail(DISTILL_IS_API_SERVER(self));
  if (self->soup == NULL) return;
  drop_jobs(self);
  soup_server_disconnect(self->soup);
  g_clear_object(&self->soup);
  self->port = 0;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_PORT]);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_RUNNING]);
}

/* ==== properties ==== */

gboolean distill_api_server_get_running(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), FALSE);
  return self->soup != NULL;
}

int distill_api_server_get_port(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), 0);
  return self->port;
}

char *distill_api_server_get_url(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), NULL);
  return self->soup ? g_strdup_printf("http://127.0.0.1:%d/v1", self->port) : NULL;
}

guint distill_api_server_get_request_count(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), 0);
  return self->request_count;
}

guint distill_api_server_get_n_waiting(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), 0);
  return g_queue_get_length(&self->queue);
}

const char *distill_api_server_get_last_error(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), NULL);
  return self->last_error;
}

void distill_api_server_set_api_key(DistillApiServer *self, const char *key)
{
  g_return_if_fail(DISTILL_IS_API_SERVER(self));
  if (g_strcmp0(self->api_key, key) == 0) return;
  g_free(self->api_key);
  self->api_key = g_strdup(key);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_API_KEY]);
}

const char *distill_api_server_get_api_key(DistillApiServer *self)
{
  g_return_val_if_fail(DISTILL_IS_API_SERVER(self), NULL);
  return self->api_key;
}

void distill_api_server_set_allowed_origins(DistillApiServer *self, const char *const *origins)
{
  g_return_if_fail(DISTILL_IS_API_SERVER(self));
  g_strfreev(self->allowed_origins);
  /* kept without blanks and trailing slashes: browsers send "https://host[:port]" */
  GStrvBuilder *b = g_strv_builder_new();
  for (guint i = 0; origins && origins[i]; i++) {
    g_autofree char *o = g_strstrip(g_strdup(origins[i]));
    gsize n = strlen(o);
    while (n > 0 && o[n - 1] == '/') o[--n] = '\0';
    if (n > 0) g_strv_builder_add(b, o);
  }
  self->allowed_origins = g_strv_builder_end(b);
  g_strv_builder_unref(b);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ALLOWED_ORIGINS]);
}

void distill_api_server_set_models_folder(DistillApiServer *self, const char *folder)
{
  g_return_if_fail(DISTILL_IS_API_SERVER(self));
  if (g_strcmp0(self->models_folder, folder) == 0) return;
  g_free(self->models_folder);
  self->models_folder = g_strdup(folder);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MODELS_FOLDER]);
}

static void distill_api_server_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DistillApiServer *self = DISTILL_API_SERVER(object);
  switch (prop_id) {
  case PROP_ENGINE: g_value_set_object(value, self->engine); break;
  case PROP_MODELS_FOLDER: g_value_set_string(value, self->models_folder); break;
  case PROP_API_KEY: g_value_set_string(value, self->api_key); break;
  case PROP_ALLOWED_ORIGINS: g_value_set_boxed(value, self->allowed_origins); break;
  case PROP_RUNNING: g_value_set_boolean(value, self->soup != NULL); break;
  case PROP_PORT: g_value_set_int(value, self->port); break;
  case PROP_REQUEST_COUNT: g_value_set_uint(value, self->request_count); break;
  case PROP_LAST_ERROR: g_value_set_string(value, self->last_error); break;
  case PROP_MAX_WAITING: g_value_set_uint(value, self->max_waiting); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void distill_api_server_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DistillApiServer *self = DISTILL_API_SERVER(object);
  switch (prop_id) {
  case PROP_ENGINE: self->engine = g_value_dup_object(value); break;
  case PROP_MODELS_FOLDER: distill_api_server_set_models_folder(self, g_value_get_string(value)); break;
  case PROP_API_KEY: distill_api_server_set_api_key(self, g_value_get_string(value)); break;
  case PROP_ALLOWED_ORIGINS:
    distill_api_server_set_allowed_origins(self, (const char *const *)g_value_get_boxed(value));
    break;
  case PROP_MAX_WAITING: self->max_waiting = g_value_get_uint(value); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void distill_api_server_constructed(GObject *object)
{
  DistillApiServer *self = DISTILL_API_SERVER(object);
  G_OBJECT_CLASS(distill_api_server_parent_class)->constructed(object);
  if (self->engine == NULL) self->engine = g_object_ref(distill_engine_get_default());
}

static void distill_api_server_dispose(GObject *object)
{
  DistillApiServer *self = DISTILL_API_SERVER(object);
  distill_api_server_stop(self);
  drop_jobs(self);
  if (self->settings) g_signal_handlers_disconnect_by_data(self->settings, self);
  g_clear_object(&self->settings);
  g_clear_object(&self->load_settings);
  g_clear_object(&self->engine);
  G_OBJECT_CLASS(distill_api_server_parent_class)->dispose(object);
}

static void distill_api_server_finalize(GObject *object)
{
  DistillApiServer *self = DISTILL_API_SERVER(object);
  g_free(self->models_folder);
  g_free(self->api_key);
  g_strfreev(self->allowed_origins);
  g_free(self->last_error);
  G_OBJECT_CLASS(distill_api_server_parent_class)->finalize(object);
}

static void distill_api_server_class_init(DistillApiServerClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS(klass);
  oc->get_property = distill_api_server_get_property;
  oc->set_property = distill_api_server_set_property;
  oc->constructed = distill_api_server_constructed;
  oc->dispose = distill_api_server_dispose;
  oc->finalize = distill_api_server_finalize;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  props[PROP_ENGINE] = g_param_spec_object("engine", NULL, NULL, DISTILL_TYPE_ENGINE,
                                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_MODELS_FOLDER] = g_param_spec_string("models-folder", NULL, NULL, NULL, rw);
  props[PROP_API_KEY] = g_param_spec_string("api-key", NULL, NULL, NULL, rw);
  props[PROP_ALLOWED_ORIGINS] = g_param_spec_boxed("allowed-origins", NULL, NULL, G_TYPE_STRV, rw);
  props[PROP_RUNNING] = g_param_spec_boolean("running", NULL, NULL, FALSE, ro);
  props[PROP_PORT] = g_param_spec_int("port", NULL, NULL, 0, 65535, 0, ro);
  props[PROP_REQUEST_COUNT] = g_param_spec_uint("request-count", NULL, NULL, 0, G_MAXUINT, 0, ro);
  props[PROP_LAST_ERROR] = g_param_spec_string("last-error", NULL, NULL, NULL, ro);
  props[PROP_MAX_WAITING] = g_param_spec_uint("max-waiting", NULL, NULL, 0, 4096, DEFAULT_MAX_WAITING,
                                              G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(oc, N_PROPS, props);
  signals[SIG_REQUEST_DONE] = g_signal_new("request-done", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                           NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_UINT);
}

static void distill_api_server_init(DistillApiServer *self)
{
  g_queue_init(&self->queue);
}

DistillApiServer *distill_api_server_new(DistillEngine *engine)
{
  return g_object_new(DISTILL_TYPE_API_SERVER, "engine", engine, NULL);
}

/* ==== the API key ==== */

char *distill_api_key_renew(GError **error)
{
  g_autofree char *key = distill_api_generate_key();
  if (!distill_secret_store(DISTILL_API_KEY_SECRET_ID, _("Distill API server key"), key, error)) return NULL;
  return g_steal_pointer(&key);
}

char *distill_api_key_load_or_create(gboolean *generated, GError **error)
{
  if (generated) *generated = FALSE;
  char *key = distill_secret_lookup(DISTILL_API_KEY_SECRET_ID);
  if (key) return key;
  key = distill_api_key_renew(error);
  if (key && generated) *generated = TRUE;
  return key;
}

/* ==== following the settings ==== */

void distill_api_server_set_load_settings(DistillApiServer *self, GSettings *settings)
{
  g_return_if_fail(DISTILL_IS_API_SERVER(self));
  g_set_object(&self->load_settings, settings);
}

gboolean distill_api_server_key_from_environment(void)
{
  const char *env = g_getenv("DISTILL_API_KEY");
  return env != NULL && *env != '\0';
}

static void apply_settings(DistillApiServer *self)
{
  g_auto(GStrv) origins = g_settings_get_strv(self->settings, "api-cors-origins");
  distill_api_server_set_allowed_origins(self, (const char *const *)origins);
  if (!g_settings_get_boolean(self->settings, "api-server-enabled")) {
    distill_api_server_stop(self);
    set_last_error(self, NULL);
    return;
  }
  int port = g_settings_get_int(self->settings, "api-server-port");
  if (self->soup && self->port == port) return;
  if (self->api_key == NULL || *self->api_key == '\0') {
    g_autoptr(GError) error = NULL;
    g_autofree char *key = distill_api_server_key_from_environment() ? g_strdup(g_getenv("DISTILL_API_KEY"))
                                                                    : distill_api_key_load_or_create(NULL, &error);
    if (key == NULL) {
      g_autofree char *message = g_strdup_printf(_("Could not store a new API key: %s"), error->message);
      set_last_error(self, message);
      return;
    }
    distill_api_server_set_api_key(self, key);
  }
  distill_api_server_start(self, port, NULL); /* a failure is in "last-error" */
}

static void on_setting_changed(GSettings *settings, const char *key, DistillApiServer *self)
{
  if (g_str_has_prefix(key, "api-")) apply_settings(self);
}

void distill_api_server_follow_settings(DistillApiServer *self, GSettings *settings)
{
  g_return_if_fail(DISTILL_IS_API_SERVER(self));
  g_return_if_fail(G_IS_SETTINGS(settings));
  if (self->settings) g_signal_handlers_disconnect_by_data(self->settings, self);
  g_set_object(&self->settings, settings);
  g_signal_connect(settings, "changed", G_CALLBACK(on_setting_changed), self);
  apply_settings(self);
}
