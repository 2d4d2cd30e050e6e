/* distill-engine.c — the engine wrapper.
 *
 * One worker thread owns the still_model and its still_session; the main
 * thread talks to it through a command queue and never waits for it. Results
 * come back with g_main_context_invoke on the context that created the
 * engine. Streamed text is collected under a mutex and handed to the main
 * context at most ~60 times a second, however fast tokens come, so the UI
 * does the same amount of work for a 3000 tok/s toy model and a 5 tok/s 32B.
 *
 * Lifetimes: the worker never holds a reference to the engine (so disposing
 * the engine can stop and join it); what it sends back to the main context
 * carries a weak reference. Each generation is its own object, referenced by
 * the worker until it has finished.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <still.h>
#include <string.h>
#include <utime.h> /* g_utime */

#include "distill-engine.h"
#include "distill-reasoning.h"

G_DEFINE_QUARK(distill-engine-error-quark, distill_engine_error)

GType distill_engine_state_get_type(void)
{
  static gsize type = 0;
  if (g_once_init_enter(&type)) {
    static const GEnumValue values[] = {
      {DISTILL_ENGINE_EMPTY, "DISTILL_ENGINE_EMPTY", "empty"},
      {DISTILL_ENGINE_LOADING, "DISTILL_ENGINE_LOADING", "loading"},
      {DISTILL_ENGINE_READY, "DISTILL_ENGINE_READY", "ready"},
      {0, NULL, NULL},
    };
    g_once_init_leave(&type, g_enum_register_static("DistillEngineState", values));
  }
  return type;
}

#define FLUSH_INTERVAL_US (G_USEC_PER_SEC / 60)

/* Run func on the thread that iterates ctx. Not g_main_context_invoke():
 * from a thread whose thread-default context is that same (global default)
 * context, invoke() may acquire it and call func right there, on the worker. */
static void post_to_context(GMainContext *ctx, int priority, GSourceFunc func, gpointer data, GDestroyNotify destroy)
{
  GSource *src = g_idle_source_new();
  g_source_set_priority(src, priority);
  g_source_set_callback(src, func, data, destroy);
  g_source_set_static_name(src, "[distill] engine result");
  g_source_attach(src, ctx);
  g_source_unref(src);
}

/* ==== requests =============================================================== */

DistillGenerateRequest *distill_generate_request_new(void)
{
  DistillGenerateRequest *req = g_new0(DistillGenerateRequest, 1);
  req->roles = g_ptr_array_new_with_free_func(g_free);
  req->contents = g_ptr_array_new_with_free_func(g_free);
  req->temperature = -1;
  req->top_p = -1;
  req->seed = G_MAXUINT64;
  return req;
}

void distill_generate_request_add_message(DistillGenerateRequest *req, const char *role, const char *content)
{
  g_ptr_array_add(req->roles, g_strdup(role));
  g_ptr_array_add(req->contents, g_strdup(content ? content : ""));
}

void distill_generate_request_free(DistillGenerateRequest *req)
{
  if (!req) return;
  g_ptr_array_unref(req->roles);
  g_ptr_array_unref(req->contents);
  g_free(req->raw_prompt);
  g_free(req);
}

int distill_generate_default_reserve(int n_ctx, int max_tokens)
{
  /* an R1 answer with its reasoning easily takes a thousand tokens or more;
   * never more than half the context, so some history always fits */
  int reserve = max_tokens > 0 ? max_tokens : 2048;
  return MAX(1, MIN(reserve, n_ctx / 2));
}

/* ==== one generation ========================================================= */

struct _DistillGeneration {
  GObject parent_instance;

  GMainContext *context;
  DistillGenerateRequest *req;
  gint64 created_us;
  gboolean ignore_eog;
  int n_threads;
  int n_gpu_layers;
  int kv_type; /* still_kv_type */
  char *device;
  char *split;

  gint stop; /* atomic: distill_generation_stop() was called */

  GMutex lock;         /* guards the fields below */
  GString *pending;    /* text not yet delivered */
  int pending_tokens;  /* tokens so far, for the next delta */
  gboolean flush_scheduled;
  gint64 last_flush_us;
  still_session *running; /* the session while generating (for cancel) */
  GCancellable *cancellable; /* external generations: cancelled by distill_generation_stop() */

  /* written by the worker before "finished" is dispatched */
  gboolean starts_in_think;
  DistillStopReason stop_reason;
  DistillGenerationStats stats;
  GError *error;
  gboolean finished; /* main thread only */
};

G_DEFINE_FINAL_TYPE(DistillGeneration, distill_generation, G_TYPE_OBJECT)

enum { GEN_PROMPT_READY, GEN_DELTA, GEN_FINISHED, GEN_GPU_TUNING, N_GEN_SIGNALS };
static guint gen_signals[N_GEN_SIGNALS];

static void distill_generation_finalize(GObject *object)
{
  DistillGeneration *self = DISTILL_GENERATION(object);
  g_main_context_unref(self->context);
  distill_generate_request_free(self->req);
  g_free(self->device);
  g_free(self->split);
  g_string_free(self->pending, TRUE);
  g_clear_error(&self->error);
  g_clear_object(&self->cancellable);
  g_mutex_clear(&self->lock);
  G_OBJECT_CLASS(distill_generation_parent_class)->finalize(object);
}

static void distill_generation_class_init(DistillGenerationClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = distill_generation_finalize;
  gen_signals[GEN_PROMPT_READY] = g_signal_new("prompt-ready", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                               NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_INT, G_TYPE_INT);
  gen_signals[GEN_DELTA] = g_signal_new("delta", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_INT);
  gen_signals[GEN_FINISHED] = g_signal_new("finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                           NULL, G_TYPE_NONE, 0);
  /* the engine times the GPU's shaders for this model before the answer (the first time this
   * model meets this GPU: a few seconds more than usual) */
  gen_signals[GEN_GPU_TUNING] = g_signal_new("gpu-tuning", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                                             NULL, NULL, G_TYPE_NONE, 0);
}

static void distill_generation_init(DistillGeneration *self)
{
  g_mutex_init(&self->lock);
  self->pending = g_string_new(NULL);
}

void distill_generation_stop(DistillGeneration *self)
{
  g_return_if_fail(DISTILL_IS_GENERATION(self));
  g_atomic_int_set(&self->stop, 1);
  /* the engine clears its own cancel flag when a call starts, so the stop
   * flag above also covers the moment between two calls (reasoning budget) */
  g_mutex_lock(&self->lock);
  if (self->running) still_session_cancel(self->running);
  GCancellable *cancellable = self->cancellable ? g_object_ref(self->cancellable) : NULL;
  g_mutex_unlock(&self->lock);
  /* outside the lock: "cancelled" handlers run right here */
  if (cancellable) {
    g_cancellable_cancel(cancellable);
    g_object_unref(cancellable);
  }
}

gboolean distill_generation_is_finished(DistillGeneration *self)
{
  g_return_val_if_fail(DISTILL_IS_GENERATION(self), FALSE);
  return self->finished;
}

DistillStopReason distill_generation_get_stop_reason(DistillGeneration *self)
{
  g_return_val_if_fail(DISTILL_IS_GENERATION(self), DISTILL_STOP_NONE);
  return self->finished ? self->stop_reason : DISTILL_STOP_NONE;
}

const DistillGenerationStats *distill_generation_get_stats(DistillGeneration *self)
{
  g_return_val_if_fail(DISTILL_IS_GENERATION(self), NULL);
  return &self->stats;
}

const GError *distill_generation_get_error(DistillGeneration *self)
{
  g_return_val_if_fail(DISTILL_IS_GENERATION(self), NULL);
  return self->finished ? self->error : NULL;
}

gboolean distill_generation_starts_in_think(DistillGeneration *self)
{
  g_return_val_if_fail(DISTILL_IS_GENERATION(self), FALSE);
  return self->starts_in_think;
}

/* main context: deliver what was collected */
static void flush_pending(DistillGeneration *self)
{
  g_mutex_lock(&self->lock);
  char *text = NULL;
  int tokens = self->pending_tokens;
  if (self->pending->len > 0) {
    text = g_strndup(self->pending->str, self->pending->len);
    g_string_truncate(self->pending, 0);
  }
  self->flush_scheduled = FALSE;
  self->last_flush_us = g_get_monotonic_time();
  g_mutex_unlock(&self->lock);
  if (text) g_signal_emit(self, gen_signals[GEN_DELTA], 0, text, tokens);
  g_free(text);
}

static gboolean flush_cb(gpointer data)
{
  flush_pending(DISTILL_GENERATION(data));
  return G_SOURCE_REMOVE;
}

/* worker: queue text, and a delivery if none is on its way */
static void push_text(DistillGeneration *self, const char *text, size_t len, int tokens)
{
  g_mutex_lock(&self->lock);
  if (text && len) g_string_append_len(self->pending, text, (gssize)len);
  self->pending_tokens = tokens;
  if (!self->flush_scheduled) {
    self->flush_scheduled = TRUE;
    gint64 wait = self->last_flush_us + FLUSH_INTERVAL_US - g_get_monotonic_time();
    GSource *src = wait > 1000 ? g_timeout_source_new((guint)(wait / 1000)) : g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, flush_cb, g_object_ref(self), g_object_unref);
    g_source_set_static_name(src, "[distill] generation text");
    g_source_attach(src, self->context);
    g_source_unref(src);
  }
  g_mutex_unlock(&self->lock);
}

typedef struct {
  DistillGeneration *gen;
  int prompt_tokens, dropped, n_ctx;
} PromptReady;

static gboolean prompt_ready_cb(gpointer data)
{
  PromptReady *p = data;
  g_signal_emit(p->gen, gen_signals[GEN_PROMPT_READY], 0, p->prompt_tokens, p->dropped, p->n_ctx);
  return G_SOURCE_REMOVE;
}

static void prompt_ready_free(gpointer data)
{
  PromptReady *p = data;
  g_object_unref(p->gen);
  g_free(p);
}

static gboolean gpu_tuning_cb(gpointer data)
{
  g_signal_emit(data, gen_signals[GEN_GPU_TUNING], 0);
  return G_SOURCE_REMOVE;
}

/* ==== the engine ============================================================== */

typedef enum { CMD_LOAD, CMD_UNLOAD, CMD_GENERATE, CMD_FORGET, CMD_QUIT } CommandKind;

typedef struct {
  CommandKind kind;
  GTask *task;            /* CMD_LOAD */
  char *path;             /* CMD_LOAD */
  DistillGeneration *gen; /* CMD_GENERATE */
  gint64 chat_id;         /* CMD_FORGET */
} Command;

/* What the worker owns. Reference-counted (g_atomic_rc_box): messages on
 * their way to the main context keep it alive after the engine is gone. */
typedef struct {
  GAsyncQueue *queue;
  GWeakRef engine;      /* for messages back to the main context */
  GMainContext *context;
  gint quitting;        /* atomic: the engine is being finalized */
  GMutex lock;          /* guards current */
  DistillGeneration *current;
  still_model *model;
  still_session *session;
  int session_ctx;      /* the n_ctx asked for when the session was made */
  int session_threads;  /* and the other settings it was made with */
  int session_gpu_layers;
  int session_kv_type;
  char *session_device;
  char *session_split;
  char *prefix_dir;     /* $XDG_CACHE_HOME/distill/prefix: saved caches of chats */
  gint64 cache_chat;    /* the chat whose history the session's cache holds (0: none or unknown) */
  gboolean cache_dirty; /* the cache changed since it was saved or restored */
} Worker;

static void worker_clear(Worker *w)
{
  g_free(w->session_device);
  g_free(w->session_split);
  g_free(w->prefix_dir);
  g_async_queue_unref(w->queue);
  g_weak_ref_clear(&w->engine);
  g_main_context_unref(w->context);
  g_mutex_clear(&w->lock);
}

static void worker_release(Worker *w)
{
  g_atomic_rc_box_release_full(w, (GDestroyNotify)worker_clear);
}

struct _DistillEngine {
  GObject parent_instance;

  Worker *worker;
  GThread *thread;
  GMainContext *context;

  DistillEngineState state;
  double load_progress;
  guint loads_pending;
  guint active; /* generations queued or running */
  char *model_path;
  char *model_name;
  char *template_family;
  gboolean is_r1;
  int n_ctx_train;
  gboolean ignore_eog;
  int n_threads;
  int n_gpu_layers;
  int kv_type;
  char *device;
  char *split;
};

G_DEFINE_FINAL_TYPE(DistillEngine, distill_engine, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_LOAD_PROGRESS,
  PROP_MODEL_PATH,
  PROP_MODEL_NAME,
  PROP_BUSY,
  PROP_IGNORE_EOG,
  PROP_N_THREADS,
  PROP_GPU_LAYERS,
  PROP_KV_TYPE,
  PROP_DEVICE,
  PROP_SPLIT,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void command_free(Command *c)
{
  g_clear_object(&c->task);
  g_free(c->path);
  g_clear_object(&c->gen);
  g_free(c);
}

static void push_command(DistillEngine *self, Command *c)
{
  g_async_queue_push(self->worker->queue, c);
}

/* ---- plain-words errors ---- */

static GError *load_error(const char *path, const still_error *err)
{
  g_autofree char *name = g_path_get_basename(path);
  switch (err->status) {
  case STILL_ERR_IO:
    return g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_IO, _("Could not read “%s”: %s."), name,
                       err->message);
  case STILL_ERR_NOMEM:
    return g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_NO_MEMORY,
                       _("There is not enough free memory to load “%s”."), name);
  case STILL_ERR_CANCELLED:
    return g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_CANCELLED, _("Loading “%s” was cancelled."),
                       name);
  case STILL_ERR_UNSUPPORTED:
    return g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_BAD_MODEL,
                       _("“%s” is a kind of model Distill cannot run: %s."), name, err->message);
  default:
    return g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_BAD_MODEL,
                       _("“%s” is not a model file Distill can read: %s."), name, err->message);
  }
}

/* ---- loading ---- */

typedef struct {
  Worker *w;
  double fraction;
} LoadProgress;

static void load_progress_free(gpointer data)
{
  LoadProgress *p = data;
  worker_release(p->w);
  g_free(p);
}

static gboolean load_progress_cb(gpointer data)
{
  LoadProgress *p = data;
  g_autoptr(DistillEngine) self = g_weak_ref_get(&p->w->engine);
  if (self && self->state == DISTILL_ENGINE_LOADING && p->fraction > self->load_progress) {
    self->load_progress = p->fraction;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_LOAD_PROGRESS]);
  }
  return G_SOURCE_REMOVE;
}

typedef struct {
  Worker *w;
  GCancellable *cancellable;
  double last_sent;
} LoadCtx;

/* worker: the engine's load progress; returns false to cancel */
static bool on_load_progress(float fraction, void *user)
{
  LoadCtx *lc = user;
  if (fraction >= lc->last_sent + 0.01 || fraction >= 1.0f) {
    lc->last_sent = fraction;
    LoadProgress *p = g_new0(LoadProgress, 1);
    p->w = g_atomic_rc_box_acquire(lc->w);
    p->fraction = fraction;
    post_to_context(lc->w->context, G_PRIORITY_DEFAULT, load_progress_cb, p, load_progress_free);
  }
  return !g_cancellable_is_cancelled(lc->cancellable) && !g_atomic_int_get(&lc->w->quitting);
}

typedef struct {
  char *path, *name, *family;
  gboolean is_r1;
  int n_ctx_train;
} LoadedInfo;

static void loaded_info_free(gpointer data)
{
  LoadedInfo *i = data;
  g_free(i->path);
  g_free(i->name);
  g_free(i->family);
  g_free(i);
}

static void prefix_save(Worker *w);

static void worker_free_model(Worker *w)
{
  prefix_save(w); /* another model, unload, quit: the chat can go on from its cache later */
  w->cache_chat = 0;
  g_clear_pointer(&w->session, still_session_free);
  g_clear_pointer(&w->model, still_model_free);
  w->session_ctx = 0;
}

/* The result of a load goes back to the main context, which returns the
 * task there: every reference to the task (and through it to the engine) is
 * dropped on the main thread, never on the worker. */
typedef struct {
  GTask *task;
  LoadedInfo *info;
  GError *error;
} LoadResult;

static gboolean load_result_cb(gpointer data)
{
  LoadResult *r = data;
  if (r->error) g_task_return_error(r->task, g_steal_pointer(&r->error));
  else g_task_return_pointer(r->task, g_steal_pointer(&r->info), loaded_info_free);
  return G_SOURCE_REMOVE;
}

static void load_result_free(gpointer data)
{
  LoadResult *r = data;
  g_object_unref(r->task);
  if (r->info) loaded_info_free(r->info);
  g_clear_error(&r->error);
  g_free(r);
}

static void post_load_result(Worker *w, Command *c, LoadedInfo *info, GError *error)
{
  LoadResult *r = g_new0(LoadResult, 1);
  r->task = g_steal_pointer(&c->task);
  r->info = info;
  r->error = error;
  post_to_context(w->context, G_PRIORITY_DEFAULT, load_result_cb, r, load_result_free);
}

G_GNUC_PRINTF(4, 5)
static void post_load_error(Worker *w, Command *c, DistillEngineError code, const char *format, ...)
{
  va_list args;
  va_start(args, format);
  GError *error = g_error_new_valist(DISTILL_ENGINE_ERROR, code, format, args);
  va_end(args);
  post_load_result(w, c, NULL, error);
}

static void worker_load(Worker *w, Command *c)
{
  worker_free_model(w);
  GCancellable *cancellable = g_task_get_cancellable(c->task);
  if (g_cancellable_is_cancelled(cancellable)) {
    return post_load_error(w, c, DISTILL_ENGINE_ERROR_CANCELLED, _("Loading the model was cancelled."));
  }
  if (!g_file_test(c->path, G_FILE_TEST_EXISTS)) {
    return post_load_error(w, c, DISTILL_ENGINE_ERROR_NOT_FOUND, _("There is no model file at “%s”."), c->path);
  }
  if (g_file_test(c->path, G_FILE_TEST_IS_DIR)) {
    return post_load_error(w, c, DISTILL_ENGINE_ERROR_BAD_MODEL, _("“%s” is a folder, not a model file."), c->path);
  }
  still_load_params lp = still_load_params_default();
  lp.prefetch = TRUE; /* read the weights now, with progress, rather than during the first answer */
  LoadCtx lc = {w, cancellable, -1};
  still_error err = {0};
  still_status rc = still_model_load(c->path, &lp, on_load_progress, &lc, &w->model, &err);
  if (rc == STILL_OK && g_cancellable_is_cancelled(cancellable)) {
    worker_free_model(w);
    rc = err.status = STILL_ERR_CANCELLED;
  }
  if (rc != STILL_OK) {
    if (g_cancellable_is_cancelled(cancellable)) err.status = STILL_ERR_CANCELLED;
    post_load_result(w, c, NULL, load_error(c->path, &err));
    return;
  }
  const still_model_info *info = still_model_get_info(w->model);
  if (!info->has_vocab) {
    worker_free_model(w);
    g_autofree char *name = g_path_get_basename(c->path);
    return post_load_error(w, c, DISTILL_ENGINE_ERROR_BAD_MODEL,
                           _("“%s” has no tokenizer, so it cannot be used for chat."), name);
  }
  LoadedInfo *li = g_new0(LoadedInfo, 1);
  li->path = g_strdup(c->path);
  li->name = g_strdup(info->name && *info->name ? info->name : c->path);
  li->family = g_strdup(info->template_family);
  li->is_r1 = info->is_r1;
  li->n_ctx_train = info->n_ctx_train;
  post_load_result(w, c, li, NULL);
}

/* ---- generating ---- */

typedef struct {
  DistillGeneration *gen;
  GArray *ids;                 /* generated token ids (for the reasoning-budget continuation) */
  DistillReasoningSplit *split;/* only its state is used: are we inside the reasoning? */
  int tokens;                  /* streamed so far, all calls */
  int reasoning_tokens;
  int budget;
  gboolean budget_hit;
  gint64 first_token_us;
} RunCtx;

static bool on_token(int32_t token, const char *text, size_t len, void *user)
{
  RunCtx *rc = user;
  if (token >= 0) {
    g_array_append_val(rc->ids, token);
    rc->tokens++;
    if (rc->first_token_us == 0) rc->first_token_us = g_get_monotonic_time();
    if (distill_reasoning_split_get_state(rc->split) == DISTILL_REASONING_THINKING) rc->reasoning_tokens++;
  }
  if (text && len) distill_reasoning_split_feed(rc->split, text, (gssize)len, NULL, NULL);
  push_text(rc->gen, text, len, rc->tokens);
  if (g_atomic_int_get(&rc->gen->stop)) return false;
  if (rc->budget > 0 && rc->reasoning_tokens >= rc->budget &&
      distill_reasoning_split_get_state(rc->split) == DISTILL_REASONING_THINKING) {
    rc->budget_hit = TRUE;
    return false;
  }
  return true;
}

/* Tokenize the whole text (growing the buffer as needed). */
static GArray *tokenize(const still_model *m, const char *text, gboolean add_bos, still_error *err)
{
  size_t len = strlen(text);
  GArray *ids = g_array_sized_new(FALSE, FALSE, sizeof(int32_t), (guint)len + 8);
  int64_t cap = (int64_t)len + 8;
  g_array_set_size(ids, (guint)cap);
  int64_t n = still_tokenize(m, text, len, add_bos, true, (int32_t *)ids->data, cap, err);
  if (n > cap) {
    g_array_set_size(ids, (guint)n);
    n = still_tokenize(m, text, len, add_bos, true, (int32_t *)ids->data, n, err);
  }
  if (n < 0) {
    g_array_unref(ids);
    return NULL;
  }
  g_array_set_size(ids, (guint)n);
  /* the R1 templates write the BOS text and the tokenizer adds one too */
  int32_t bos = still_token_bos(m);
  if (ids->len >= 2 && bos >= 0 && g_array_index(ids, int32_t, 0) == bos && g_array_index(ids, int32_t, 1) == bos)
    g_array_remove_index(ids, 0);
  return ids;
}

/* Render messages[first..] (system messages always kept) and tokenize. */
static GArray *render_from(const still_model *m, DistillGenerateRequest *req, guint first, still_error *err)
{
  g_autoptr(GArray) msgs = g_array_new(FALSE, FALSE, sizeof(still_message));
  for (guint i = 0; i < req->roles->len; i++) {
    const char *role = g_ptr_array_index(req->roles, i);
    if (i < first && !g_str_equal(role, "system")) continue;
    still_message sm = {role, g_ptr_array_index(req->contents, i)};
    g_array_append_val(msgs, sm);
  }
  g_autofree char *text = still_chat_render(m, (still_message *)msgs->data, msgs->len, true);
  if (!text) {
    g_strlcpy(err->message, "out of memory", sizeof err->message);
    err->status = STILL_ERR_NOMEM;
    return NULL;
  }
  return tokenize(m, text, TRUE, err);
}

/* Index of the start of the next turn to leave out (the next user message
 * after `first`), or -1 when only the last user message is left. */
static int next_turn(DistillGenerateRequest *req, guint first)
{
  guint n = req->roles->len;
  /* the last user message is never left out */
  guint last_user = n;
  for (guint i = n; i-- > 0;)
    if (g_str_equal(g_ptr_array_index(req->roles, i), "user")) {
      last_user = i;
      break;
    }
  for (guint i = first + 1; i < n; i++) {
    const char *role = g_ptr_array_index(req->roles, i);
    if (g_str_equal(role, "user")) return i <= last_user ? (int)i : -1;
  }
  return -1;
}

/* ---- saved caches of chats ----
 * The session keeps one chat's tokens: turning to another chat would evaluate
 * its whole history again (minutes for a long chat on the CPU). So the cache
 * of the chat being left is saved to prefix/<chat id>.kv, and the one of the
 * chat being continued restored when there is one; the engine then reuses
 * whatever part of it the new prompt shares. Files are private (0600), and
 * the folder is kept under PREFIX_CAP_BYTES by deleting the least recently
 * used. */
#define PREFIX_MIN_TOKENS 256            /* shorter histories are evaluated again quickly */
#define PREFIX_CAP_BYTES (2ull << 30)    /* all saved caches together */

static char *prefix_path(Worker *w, gint64 chat)
{
  g_autofree char *name = g_strdup_printf("%" G_GINT64_FORMAT ".kv", chat);
  return g_build_filename(w->prefix_dir, name, NULL);
}

typedef struct {
  char *path;
  gint64 mtime;
  guint64 size;
} PrefixFile;

static int prefix_file_newer_first(gconstpointer a, gconstpointer b)
{
  const PrefixFile *x = a, *y = b;
  return x->mtime > y->mtime ? -1 : x->mtime < y->mtime ? 1 : 0;
}

/* Delete the least recently used saved caches beyond the cap, and temporary
 * files a crash left behind (only this thread writes here, and not now). */
static void prefix_trim(Worker *w)
{
  GDir *dir = g_dir_open(w->prefix_dir, 0, NULL);
  if (!dir) return;
  g_autoptr(GArray) files = g_array_new(FALSE, FALSE, sizeof(PrefixFile));
  const char *name;
  while ((name = g_dir_read_name(dir))) {
    g_autofree char *path = g_build_filename(w->prefix_dir, name, NULL);
    if (strstr(name, ".kv.tmp-")) {
      g_remove(path);
      continue;
    }
    GStatBuf st;
    if (!g_str_has_suffix(name, ".kv") || g_stat(path, &st) != 0) continue;
    PrefixFile f = {g_steal_pointer(&path), (gint64)st.st_mtime, (guint64)st.st_size};
    g_array_append_val(files, f);
  }
  g_dir_close(dir);
  g_array_sort(files, prefix_file_newer_first);
  guint64 total = 0;
  for (guint i = 0; i < files->len; i++) {
    PrefixFile *f = &g_array_index(files, PrefixFile, i);
    total += f->size;
    if (total > PREFIX_CAP_BYTES) g_remove(f->path);
    g_free(f->path);
  }
}

/* Save the cache for the chat it belongs to, when it is worth it. */
static void prefix_save(Worker *w)
{
  if (!w->session || w->cache_chat == 0 || !w->cache_dirty || !w->prefix_dir) return;
  w->cache_dirty = FALSE;
  if (still_session_n_past(w->session) < PREFIX_MIN_TOKENS) return;
  if (g_mkdir_with_parents(w->prefix_dir, 0700) != 0) return;
  g_autofree char *path = prefix_path(w, w->cache_chat);
  still_error err = {0};
  /* a full disk: the chat is evaluated again later, nothing worse */
  if (still_session_save_prefix(w->session, path, &err) != STILL_OK)
    g_debug("not saving the cache of chat %" G_GINT64_FORMAT ": %s", w->cache_chat, err.message);
  prefix_trim(w);
}

/* Before evaluating a history of `chat`: when the cache holds another chat,
 * save that one and restore this one's saved cache, if any. */
static void prefix_switch(Worker *w, gint64 chat)
{
  if (chat == w->cache_chat) return;
  prefix_save(w);
  w->cache_chat = chat;
  w->cache_dirty = FALSE;
  if (chat == 0 || !w->prefix_dir) return;
  g_autofree char *path = prefix_path(w, chat);
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) return;
  still_error err = {0};
  still_status rc = still_session_load_prefix(w->session, path, &err);
  if (rc == STILL_OK) {
    g_utime(path, NULL); /* recently used: kept longest */
    return;
  }
  g_debug("not restoring the cache of chat %" G_GINT64_FORMAT ": %s", chat, err.message);
  /* another model or KV cache type, damaged, a newer format: of no use any more */
  if (rc != STILL_ERR_IO) g_remove(path);
}

static void worker_forget(Worker *w, gint64 chat)
{
  if (w->cache_chat == chat) {
    w->cache_chat = 0;
    w->cache_dirty = FALSE;
  }
  if (!w->prefix_dir || chat == 0) return;
  g_autofree char *path = prefix_path(w, chat);
  g_remove(path);
}

static void finish_generation(Worker *w, DistillGeneration *gen);

/* worker: a step of the new session that takes seconds, told on the generation's context */
static void on_session_step(still_step step, void *user)
{
  DistillGeneration *gen = user;
  if (step == STILL_STEP_GPU_TUNE)
    post_to_context(gen->context, G_PRIORITY_DEFAULT, gpu_tuning_cb, g_object_ref(gen), g_object_unref);
}

static gboolean ensure_session(Worker *w, DistillGeneration *gen, int n_ctx)
{
  if (w->session && w->session_ctx == n_ctx && w->session_threads == gen->n_threads &&
      w->session_gpu_layers == gen->n_gpu_layers && w->session_kv_type == gen->kv_type &&
      g_strcmp0(w->session_device, gen->device) == 0 && g_strcmp0(w->session_split, gen->split) == 0)
    return TRUE;
  /* chats with their own context sizes: keep the cache of the one being left */
  prefix_save(w);
  w->cache_chat = 0;
  g_clear_pointer(&w->session, still_session_free);
  still_session_params sp = still_session_params_default();
  sp.n_ctx = n_ctx;
  sp.n_threads = gen->n_threads;
  sp.n_gpu_layers = gen->n_gpu_layers;
  sp.kv_type = (still_kv_type)gen->kv_type;
  sp.device = gen->device;
  sp.split = gen->split;
  sp.on_step = on_session_step;
  sp.step_user = gen;
  still_error err = {0};
  still_status rc = still_session_new(w->model, &sp, &w->session, &err);
  if (rc == STILL_OK) {
    w->session_ctx = n_ctx;
    w->session_threads = gen->n_threads;
    w->session_gpu_layers = gen->n_gpu_layers;
    w->session_kv_type = gen->kv_type;
    g_free(w->session_device);
    w->session_device = g_strdup(gen->device);
    g_free(w->session_split);
    w->session_split = g_strdup(gen->split);
    return TRUE;
  }
  gen->stop_reason = DISTILL_STOP_ERROR;
  if (rc == STILL_ERR_NOMEM)
    gen->error = g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_NO_MEMORY,
                             _("There is not enough memory for a context of %d tokens. Choose a smaller context "
                               "size in the chat settings."),
                             n_ctx);
  else
    gen->error = g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_FAILED,
                             _("Could not prepare the model for this chat: %s."), err.message);
  return FALSE;
}

static DistillStopReason map_stop(still_status rc, const still_stats *st, gboolean stopped)
{
  if (stopped || rc == STILL_ERR_CANCELLED) return DISTILL_STOP_STOPPED;
  if (rc == STILL_ERR_CONTEXT_FULL) return DISTILL_STOP_CONTEXT_FULL;
  if (rc != STILL_OK) return DISTILL_STOP_ERROR;
  switch (st->stop) {
  case STILL_STOP_MAX_TOKENS: return DISTILL_STOP_MAX_TOKENS;
  case STILL_STOP_CONTEXT_FULL: return DISTILL_STOP_CONTEXT_FULL;
  default: return DISTILL_STOP_END;
  }
}

static void worker_generate(Worker *w, DistillGeneration *gen)
{
  DistillGenerateRequest *req = gen->req;
  DistillGenerationStats *stats = &gen->stats;
  if (g_atomic_int_get(&gen->stop)) {
    gen->stop_reason = DISTILL_STOP_STOPPED;
    finish_generation(w, gen);
    return;
  }
  if (!w->model) {
    gen->stop_reason = DISTILL_STOP_ERROR;
    gen->error = g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_NO_MODEL,
                             _("No model is loaded. Choose a model first."));
    finish_generation(w, gen);
    return;
  }
  if (!ensure_session(w, gen, req->n_ctx)) {
    finish_generation(w, gen);
    return;
  }
  gen->starts_in_think = still_chat_starts_in_think(w->model);
  const int n_ctx = still_session_n_ctx(w->session);
  stats->n_ctx = n_ctx;
  stats->n_threads = gen->n_threads;
  g_strlcpy(stats->offload, still_session_offload(w->session), sizeof stats->offload);
  g_strlcpy(stats->quant, still_model_get_info(w->model)->file_type, sizeof stats->quant);
  prefix_switch(w, req->fresh ? 0 : req->chat_id);
  if (req->fresh) still_session_reset(w->session);

  /* Fit the history: leave out the oldest turns until the prompt and the
   * reserve for the answer fit in the context. */
  const int reserve = req->reserve > 0 ? MIN(req->reserve, n_ctx / 2) : distill_generate_default_reserve(n_ctx, req->max_tokens);
  still_error err = {0};
  guint first = 0;
  g_autoptr(GArray) prompt = NULL;
  if (req->raw_prompt) {
    gen->starts_in_think = FALSE;
    prompt = tokenize(w->model, req->raw_prompt, TRUE, &err);
  } else {
    prompt = render_from(w->model, req, first, &err);
  }
  while (!req->raw_prompt && prompt && (int)prompt->len + reserve > n_ctx) {
    int next = next_turn(req, first);
    if (next < 0) break;
    first = (guint)next;
    g_array_unref(prompt);
    prompt = render_from(w->model, req, first, &err);
  }
  if (!prompt) {
    gen->stop_reason = DISTILL_STOP_ERROR;
    gen->error = g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_FAILED,
                             _("Could not prepare the conversation for the model: %s."), err.message);
    finish_generation(w, gen);
    return;
  }
  for (guint i = 0; i < first; i++)
    if (!g_str_equal(g_ptr_array_index(req->roles, i), "system")) stats->dropped_messages++;
  stats->prompt_tokens = (int)prompt->len;
  if ((int)prompt->len >= n_ctx) {
    gen->stop_reason = DISTILL_STOP_ERROR;
    gen->error = g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_TOO_LONG,
                             _("This message is too long: it needs %d tokens, and the context holds %d. Make it "
                               "shorter, or raise the context size in the chat settings."),
                             (int)prompt->len, n_ctx);
    finish_generation(w, gen);
    return;
  }
  PromptReady *pr = g_new0(PromptReady, 1);
  pr->gen = g_object_ref(gen);
  pr->prompt_tokens = (int)prompt->len;
  pr->dropped = stats->dropped_messages;
  pr->n_ctx = n_ctx;
  post_to_context(gen->context, G_PRIORITY_DEFAULT, prompt_ready_cb, pr, prompt_ready_free);

  still_sampling sp = still_sampling_for_model(w->model);
  if (req->temperature >= 0) sp.temperature = (float)req->temperature;
  if (req->top_p >= 0) sp.top_p = (float)req->top_p;
  sp.seed = req->seed;
  sp.max_tokens = req->max_tokens;
  sp.ignore_eog = gen->ignore_eog;

  RunCtx run = {gen, g_array_new(FALSE, FALSE, sizeof(int32_t)), distill_reasoning_split_new(gen->starts_in_think),
                0, 0, req->reasoning_budget, FALSE, 0};
  still_stats st = {0};
  g_mutex_lock(&gen->lock);
  gen->running = w->session;
  g_mutex_unlock(&gen->lock);
  still_status rc = still_session_generate(w->session, (const int32_t *)prompt->data, prompt->len, &sp, on_token,
                                           &run, &st, &err);
  w->cache_dirty = TRUE;
  stats->prompt_evaluated = st.prompt_tokens;
  stats->prompt_cached = st.prompt_cached;
  stats->prompt_s = st.prompt_s;
  stats->gen_s = st.gen_s;

  /* The reasoning budget: close the reasoning with "</think>" and let the
   * model go on from there, now answering. The cache holds everything up to
   * the last sampled token, so only that and the closing tag are evaluated. */
  if (rc == STILL_OK && run.budget_hit && !g_atomic_int_get(&gen->stop) &&
      (req->max_tokens <= 0 || run.tokens < req->max_tokens)) {
    static const char close_text[] = "\n</think>\n\n";
    g_autoptr(GArray) close = tokenize(w->model, close_text, FALSE, &err);
    if (close) {
      stats->budget_closed = TRUE;
      distill_reasoning_split_feed(run.split, close_text, -1, NULL, NULL);
      push_text(gen, close_text, strlen(close_text), run.tokens);
      g_autoptr(GArray) next = g_array_copy(prompt);
      g_array_append_vals(next, run.ids->data, run.ids->len);
      g_array_append_vals(next, close->data, close->len);
      if (req->max_tokens > 0) sp.max_tokens = req->max_tokens - run.tokens;
      run.budget = 0;
      still_stats st2 = {0};
      rc = still_session_generate(w->session, (const int32_t *)next->data, next->len, &sp, on_token, &run, &st2,
                                  &err);
      stats->gen_s += st2.prompt_s + st2.gen_s;
      st.stop = st2.stop;
      st.n_past = st2.n_past;
    }
  }
  g_mutex_lock(&gen->lock);
  gen->running = NULL;
  g_mutex_unlock(&gen->lock);

  stats->gen_tokens = run.tokens;
  stats->reasoning_tokens = run.reasoning_tokens;
  stats->n_past = st.n_past;
  stats->ttft_s = run.first_token_us ? (double)(run.first_token_us - gen->created_us) / G_USEC_PER_SEC : 0;
  stats->tok_s = stats->gen_s > 0 ? run.tokens / stats->gen_s : 0;
  stats->peak_device_bytes = still_session_peak_device_bytes(w->session);
  /* where the layers ran by the end: a GPU that failed during this
   * generation handed them to the CPU (the line says so) */
  g_strlcpy(stats->offload, still_session_offload(w->session), sizeof stats->offload);
  gboolean stopped = g_atomic_int_get(&gen->stop) && (rc == STILL_ERR_CANCELLED || st.stop == STILL_STOP_CALLBACK);
  gen->stop_reason = map_stop(rc, &st, stopped);
  if (gen->stop_reason == DISTILL_STOP_ERROR)
    gen->error = g_error_new(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_FAILED,
                             _("The model stopped with an error: %s."), err.message);
  g_array_unref(run.ids);
  distill_reasoning_split_free(run.split);
  finish_generation(w, gen);
}

typedef struct {
  Worker *w;
  DistillGeneration *gen;
} Finished;

static gboolean finished_cb(gpointer data)
{
  Finished *f = data;
  DistillGeneration *gen = f->gen;
  flush_pending(gen); /* every delta before "finished" */
  gen->finished = TRUE;
  g_autoptr(DistillEngine) self = g_weak_ref_get(&f->w->engine);
  if (self && self->active > 0 && --self->active == 0) g_object_notify_by_pspec(G_OBJECT(self), props[PROP_BUSY]);
  g_signal_emit(gen, gen_signals[GEN_FINISHED], 0);
  return G_SOURCE_REMOVE;
}

static void finished_free(gpointer data)
{
  Finished *f = data;
  g_object_unref(f->gen);
  worker_release(f->w);
  g_free(f);
}

static void finish_generation(Worker *w, DistillGeneration *gen)
{
  Finished *f = g_new0(Finished, 1);
  f->w = g_atomic_rc_box_acquire(w);
  f->gen = g_object_ref(gen);
  post_to_context(gen->context, G_PRIORITY_DEFAULT, finished_cb, f, finished_free);
}

static gpointer worker_main(gpointer data)
{
  Worker *w = data;
  for (;;) {
    Command *c = g_async_queue_pop(w->queue);
    switch (c->kind) {
    case CMD_LOAD: worker_load(w, c); break;
    case CMD_UNLOAD: worker_free_model(w); break;
    case CMD_FORGET: worker_forget(w, c->chat_id); break;
    case CMD_GENERATE:
      g_mutex_lock(&w->lock);
      w->current = c->gen;
      g_mutex_unlock(&w->lock);
      if (g_atomic_int_get(&w->quitting)) distill_generation_stop(c->gen);
      worker_generate(w, c->gen);
      g_mutex_lock(&w->lock);
      w->current = NULL;
      g_mutex_unlock(&w->lock);
      break;
    case CMD_QUIT:
      command_free(c);
      worker_free_model(w);
      return NULL;
    }
    command_free(c);
  }
}

/* ---- main-thread API ---- */

DistillEngine *distill_engine_new(void)
{
  return g_object_new(DISTILL_TYPE_ENGINE, NULL);
}

DistillEngine *distill_engine_get_default(void)
{
  static DistillEngine *engine;
  if (!engine) {
    engine = distill_engine_new();
    g_object_add_weak_pointer(G_OBJECT(engine), (gpointer *)&engine);
  }
  return engine;
}

static void set_state(DistillEngine *self, DistillEngineState state)
{
  if (self->state == state) return;
  self->state = state;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
}

static void clear_model_info(DistillEngine *self)
{
  g_clear_pointer(&self->model_path, g_free);
  g_clear_pointer(&self->model_name, g_free);
  g_clear_pointer(&self->template_family, g_free);
  self->is_r1 = FALSE;
  self->n_ctx_train = 0;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MODEL_PATH]);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MODEL_NAME]);
}

/* The worker finished a load: update the engine, then tell the caller. */
static void load_done(GObject *source, GAsyncResult *result, gpointer data)
{
  GTask *outer = data;
  DistillEngine *self = DISTILL_ENGINE(source);
  GError *error = NULL;
  LoadedInfo *li = g_task_propagate_pointer(G_TASK(result), &error);
  self->loads_pending--;
  if (li) {
    g_free(self->model_path);
    g_free(self->model_name);
    g_free(self->template_family);
    self->model_path = g_strdup(li->path);
    self->model_name = g_strdup(li->name);
    self->template_family = g_strdup(li->family);
    self->is_r1 = li->is_r1;
    self->n_ctx_train = li->n_ctx_train;
    loaded_info_free(li);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MODEL_PATH]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MODEL_NAME]);
  }
  if (self->loads_pending == 0) {
    self->load_progress = li ? 1.0 : 0.0;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_LOAD_PROGRESS]);
    set_state(self, self->model_path ? DISTILL_ENGINE_READY : DISTILL_ENGINE_EMPTY);
  }
  if (error) g_task_return_error(outer, error);
  else g_task_return_boolean(outer, TRUE);
  g_object_unref(outer);
}

void distill_engine_load_async(DistillEngine *self, const char *path, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_ENGINE(self));
  g_return_if_fail(path != NULL);
  GTask *outer = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(outer, distill_engine_load_async);
  /* the inner task is returned by the worker; the outer one after the engine's own state is updated */
  GTask *inner = g_task_new(self, cancellable, load_done, outer);
  g_task_set_check_cancellable(inner, FALSE);

  self->loads_pending++;
  /* the old model is freed before the new one is read */
  clear_model_info(self);
  self->load_progress = 0;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_LOAD_PROGRESS]);
  set_state(self, DISTILL_ENGINE_LOADING);

  Command *c = g_new0(Command, 1);
  c->kind = CMD_LOAD;
  c->task = inner;
  c->path = g_strdup(path);
  push_command(self, c);
}

gboolean distill_engine_load_finish(DistillEngine *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
  return g_task_propagate_boolean(G_TASK(result), error);
}

void distill_engine_forget_chat(DistillEngine *self, gint64 chat_id)
{
  g_return_if_fail(DISTILL_IS_ENGINE(self));
  Command *c = g_new0(Command, 1);
  c->kind = CMD_FORGET;
  c->chat_id = chat_id;
  push_command(self, c);
}

void distill_engine_unload(DistillEngine *self)
{
  g_return_if_fail(DISTILL_IS_ENGINE(self));
  Command *c = g_new0(Command, 1);
  c->kind = CMD_UNLOAD;
  push_command(self, c);
  clear_model_info(self);
  if (self->loads_pending == 0) set_state(self, DISTILL_ENGINE_EMPTY);
}

DistillGeneration *distill_engine_generate(DistillEngine *self, DistillGenerateRequest *req)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), NULL);
  g_return_val_if_fail(req != NULL, NULL);
  DistillGeneration *gen = g_object_new(DISTILL_TYPE_GENERATION, NULL);
  gen->context = g_main_context_ref_thread_default();
  gen->req = req;
  gen->created_us = g_get_monotonic_time();
  gen->ignore_eog = self->ignore_eog;
  gen->n_threads = self->n_threads;
  gen->n_gpu_layers = self->n_gpu_layers;
  gen->kv_type = self->kv_type;
  gen->device = g_strdup(self->device);
  gen->split = g_strdup(self->split);
  if (self->active++ == 0) g_object_notify_by_pspec(G_OBJECT(self), props[PROP_BUSY]);
  Command *c = g_new0(Command, 1);
  c->kind = CMD_GENERATE;
  c->gen = g_object_ref(gen);
  push_command(self, c);
  return gen;
}

DistillEngineState distill_engine_get_state(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), DISTILL_ENGINE_EMPTY);
  return self->state;
}

double distill_engine_get_load_progress(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), 0);
  return self->load_progress;
}

const char *distill_engine_get_model_path(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), NULL);
  return self->model_path;
}

const char *distill_engine_get_model_name(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), NULL);
  return self->model_name;
}

const char *distill_engine_get_template_family(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), NULL);
  return self->template_family;
}

gboolean distill_engine_get_is_r1(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), FALSE);
  return self->is_r1;
}

int distill_engine_get_n_ctx_train(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), 0);
  return self->n_ctx_train;
}

gboolean distill_engine_is_busy(DistillEngine *self)
{
  g_return_val_if_fail(DISTILL_IS_ENGINE(self), FALSE);
  return self->active > 0;
}

static const char *kv_type_name(int kv)
{
  switch (kv) {
  case STILL_KV_F32: return "f32";
  case STILL_KV_Q8_0: return "q8_0";
  default: return "f16";
  }
}

static int kv_type_from_name(const char *name)
{
  if (!name || !*name || g_ascii_strcasecmp(name, "f16") == 0) return STILL_KV_F16;
  if (g_ascii_strcasecmp(name, "f32") == 0) return STILL_KV_F32;
  if (g_ascii_strcasecmp(name, "q8_0") == 0) return STILL_KV_Q8_0;
  return -1;
}

static void distill_engine_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DistillEngine *self = DISTILL_ENGINE(object);
  switch (prop_id) {
  case PROP_STATE: g_value_set_enum(value, self->state); break;
  case PROP_LOAD_PROGRESS: g_value_set_double(value, self->load_progress); break;
  case PROP_MODEL_PATH: g_value_set_string(value, self->model_path); break;
  case PROP_MODEL_NAME: g_value_set_string(value, self->model_name); break;
  case PROP_BUSY: g_value_set_boolean(value, self->active > 0); break;
  case PROP_IGNORE_EOG: g_value_set_boolean(value, self->ignore_eog); break;
  case PROP_N_THREADS: g_value_set_int(value, self->n_threads); break;
  case PROP_GPU_LAYERS: g_value_set_int(value, self->n_gpu_layers); break;
  case PROP_KV_TYPE: g_value_set_string(value, kv_type_name(self->kv_type)); break;
  case PROP_DEVICE: g_value_set_string(value, self->device); break;
  case PROP_SPLIT: g_value_set_string(value, self->split); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

/* A string property where "" means the same as NULL (none): stored as NULL, notified on change. */
static void set_optional_string(GObject *object, GParamSpec *pspec, char **field, const GValue *value)
{
  const char *v = g_value_get_string(value);
  if (v && !*v) v = NULL;
  if (g_strcmp0(*field, v) == 0) return;
  g_free(*field);
  *field = g_strdup(v);
  g_object_notify_by_pspec(object, pspec);
}

static void distill_engine_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DistillEngine *self = DISTILL_ENGINE(object);
  switch (prop_id) {
  case PROP_IGNORE_EOG:
    if (self->ignore_eog != g_value_get_boolean(value)) {
      self->ignore_eog = g_value_get_boolean(value);
      g_object_notify_by_pspec(object, pspec);
    }
    break;
  case PROP_N_THREADS:
    if (self->n_threads != g_value_get_int(value)) {
      self->n_threads = g_value_get_int(value);
      g_object_notify_by_pspec(object, pspec);
    }
    break;
  case PROP_GPU_LAYERS:
    if (self->n_gpu_layers != g_value_get_int(value)) {
      self->n_gpu_layers = g_value_get_int(value);
      g_object_notify_by_pspec(object, pspec);
    }
    break;
  case PROP_KV_TYPE: {
    int kv = kv_type_from_name(g_value_get_string(value));
    if (kv < 0) {
      g_warning("unknown KV cache type \"%s\" (f16, f32 or q8_0)", g_value_get_string(value));
    } else if (self->kv_type != kv) {
      self->kv_type = kv;
      g_object_notify_by_pspec(object, pspec);
    }
    break;
  }
  case PROP_DEVICE: set_optional_string(object, pspec, &self->device, value); break;
  case PROP_SPLIT: set_optional_string(object, pspec, &self->split, value); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void distill_engine_finalize(GObject *object)
{
  DistillEngine *self = DISTILL_ENGINE(object);
  /* Stop the worker: whatever it runs now finishes at the next token (its
   * generation holds its own session pointer for that). */
  Worker *w = self->worker;
  g_atomic_int_set(&w->quitting, 1);
  g_mutex_lock(&w->lock);
  if (w->current) distill_generation_stop(w->current);
  g_mutex_unlock(&w->lock);
  Command *quit = g_new0(Command, 1);
  quit->kind = CMD_QUIT;
  g_async_queue_push_front(w->queue, quit);
  g_thread_join(self->thread);
  Command *c;
  /* what was still queued (no load can be: its task holds a reference to us) */
  while ((c = g_async_queue_try_pop(w->queue))) command_free(c);
  worker_release(w);
  g_main_context_unref(self->context);
  g_free(self->model_path);
  g_free(self->model_name);
  g_free(self->template_family);
  g_free(self->device);
  g_free(self->split);
  G_OBJECT_CLASS(distill_engine_parent_class)->finalize(object);
}

static void distill_engine_class_init(DistillEngineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->finalize = distill_engine_finalize;
  object_class->get_property = distill_engine_get_property;
  object_class->set_property = distill_engine_set_property;

  props[PROP_STATE] = g_param_spec_enum("state", NULL, NULL, DISTILL_TYPE_ENGINE_STATE, DISTILL_ENGINE_EMPTY,
                                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_LOAD_PROGRESS] = g_param_spec_double("load-progress", NULL, NULL, 0, 1, 0,
                                                  G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_MODEL_PATH] = g_param_spec_string("model-path", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_MODEL_NAME] = g_param_spec_string("model-name", NULL, NULL, NULL,
                                               G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_BUSY] = g_param_spec_boolean("busy", NULL, NULL, FALSE,
                                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Keep generating past end-of-generation tokens (tests and benchmarks). */
  props[PROP_IGNORE_EOG] = g_param_spec_boolean("ignore-eog", NULL, NULL, FALSE,
                                                G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Threads for new sessions; 0: the physical cores. */
  props[PROP_N_THREADS] = g_param_spec_int("n-threads", NULL, NULL, 0, 1024, 0,
                                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* The last N layers on a Vulkan GPU for new sessions; 0: none, -1: all that fit. */
  props[PROP_GPU_LAYERS] = g_param_spec_int("gpu-layers", NULL, NULL, -1, 4096, 0,
                                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* KV cache type of new sessions: "f16", "f32" or "q8_0". */
  props[PROP_KV_TYPE] = g_param_spec_string("kv-type", NULL, NULL, "f16",
                                            G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Vulkan device of new sessions (index or part of its name); NULL: the default choice. */
  props[PROP_DEVICE] = g_param_spec_string("device", NULL, NULL, NULL,
                                           G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /* Shares of the GPU layers per device of a device list ("14,14"), as still_session_params.split;
   * NULL: one device, or equal shares. */
  props[PROP_SPLIT] = g_param_spec_string("split", NULL, NULL, NULL,
                                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, props);
}

static void distill_engine_init(DistillEngine *self)
{
  self->context = g_main_context_ref_thread_default();
  self->worker = g_atomic_rc_box_new0(Worker);
  g_mutex_init(&self->worker->lock);
  self->worker->queue = g_async_queue_new();
  self->worker->context = g_main_context_ref(self->context);
  g_weak_ref_init(&self->worker->engine, self);
  self->worker->prefix_dir = g_build_filename(g_get_user_cache_dir(), "distill", "prefix", NULL);
  self->thread = g_thread_new("distill-engine", worker_main, self->worker);
}

/* ==== generations fed from outside the worker ================================== */

DistillGeneration *distill_generation_new_external(gboolean starts_in_think)
{
  DistillGeneration *gen = g_object_new(DISTILL_TYPE_GENERATION, NULL);
  gen->context = g_main_context_ref_thread_default();
  gen->created_us = g_get_monotonic_time();
  gen->starts_in_think = starts_in_think;
  gen->cancellable = g_cancellable_new();
  return gen;
}

GCancellable *distill_generation_get_cancellable(DistillGeneration *g)
{
  g_return_val_if_fail(DISTILL_IS_GENERATION(g), NULL);
  return g->cancellable;
}

void distill_generation_external_prompt_ready(DistillGeneration *g, int prompt_tokens, int dropped, int n_ctx)
{
  g_return_if_fail(DISTILL_IS_GENERATION(g));
  g_return_if_fail(g->cancellable != NULL);
  g->stats.prompt_tokens = prompt_tokens;
  g->stats.dropped_messages = dropped;
  g->stats.n_ctx = n_ctx;
  PromptReady *pr = g_new0(PromptReady, 1);
  pr->gen = g_object_ref(g);
  pr->prompt_tokens = prompt_tokens;
  pr->dropped = dropped;
  pr->n_ctx = n_ctx;
  post_to_context(g->context, G_PRIORITY_DEFAULT, prompt_ready_cb, pr, prompt_ready_free);
}

void distill_generation_external_delta(DistillGeneration *g, const char *text, int tokens_so_far)
{
  g_return_if_fail(DISTILL_IS_GENERATION(g));
  g_return_if_fail(g->cancellable != NULL);
  if (g->stop_reason != DISTILL_STOP_NONE) return; /* already finished */
  push_text(g, text, text ? strlen(text) : 0, tokens_so_far);
}

static gboolean external_finished_cb(gpointer data)
{
  DistillGeneration *gen = data;
  flush_pending(gen); /* every delta before "finished" */
  gen->finished = TRUE;
  g_signal_emit(gen, gen_signals[GEN_FINISHED], 0);
  return G_SOURCE_REMOVE;
}

void distill_generation_external_finish(DistillGeneration *g, DistillStopReason reason,
                                        const DistillGenerationStats *stats, const GError *error)
{
  g_return_if_fail(DISTILL_IS_GENERATION(g));
  g_return_if_fail(g->cancellable != NULL);
  if (g->stop_reason != DISTILL_STOP_NONE) return;
  g->stop_reason = reason == DISTILL_STOP_NONE ? DISTILL_STOP_END : reason;
  if (stats) g->stats = *stats;
  if (error) g->error = g_error_copy(error);
  else if (g->stop_reason == DISTILL_STOP_ERROR)
    g->error = g_error_new_literal(DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_FAILED, _("The answer stopped with an error."));
  /* after the deltas and the prompt-ready already posted (sources of the same priority run in order) */
  post_to_context(g->context, G_PRIORITY_DEFAULT, external_finished_cb, g_object_ref(g), g_object_unref);
}
