/* distill-engine.h — the inference engine as a GObject: one worker thread
 * owns the model and its session; results come back on the main context. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DISTILL_ENGINE_ERROR (distill_engine_error_quark())
GQuark distill_engine_error_quark(void);

typedef enum {
  DISTILL_ENGINE_ERROR_NOT_FOUND,    /* the model file does not exist */
  DISTILL_ENGINE_ERROR_BAD_MODEL,    /* not a GGUF we can read (damaged, truncated, unsupported) */
  DISTILL_ENGINE_ERROR_IO,           /* reading failed */
  DISTILL_ENGINE_ERROR_NO_MEMORY,    /* not enough memory for the model or its context */
  DISTILL_ENGINE_ERROR_NO_MODEL,     /* generate without a loaded model */
  DISTILL_ENGINE_ERROR_TOO_LONG,     /* the last message alone does not fit in the context */
  DISTILL_ENGINE_ERROR_CANCELLED,    /* the load was cancelled */
  DISTILL_ENGINE_ERROR_FAILED,       /* anything else (backend failure …) */
} DistillEngineError;

typedef enum {
  DISTILL_ENGINE_EMPTY,   /* no model */
  DISTILL_ENGINE_LOADING, /* a load is queued or running */
  DISTILL_ENGINE_READY,   /* a model is loaded */
} DistillEngineState;

GType distill_engine_state_get_type(void);
#define DISTILL_TYPE_ENGINE_STATE (distill_engine_state_get_type())

typedef enum {
  DISTILL_STOP_NONE,
  DISTILL_STOP_END,          /* the model finished its answer */
  DISTILL_STOP_MAX_TOKENS,   /* the answer reached the token limit */
  DISTILL_STOP_CONTEXT_FULL, /* no room left in the context */
  DISTILL_STOP_STOPPED,      /* distill_generation_stop() */
  DISTILL_STOP_ERROR,        /* see distill_generation_get_error() */
} DistillStopReason;

/* ---- a generation request -------------------------------------------------- */
typedef struct {
  GPtrArray *roles;     /* char*, parallel to contents */
  GPtrArray *contents;  /* char* */
  double temperature;   /* < 0: the model's recommendation (R1: 0.6) */
  double top_p;         /* < 0: the model's recommendation (R1: 0.95) */
  int max_tokens;       /* 0: no limit */
  int n_ctx;            /* context size in tokens; 0: min(training context, 4096) */
  int reasoning_budget; /* > 0: after this many reasoning tokens, close the reasoning so the model answers */
  int reserve;          /* tokens kept free for the answer when fitting the history; 0: automatic */
  guint64 seed;         /* G_MAXUINT64: random */
  gboolean fresh;       /* evaluate the whole prompt from an empty cache (benchmarks: no prefix reuse) */
  char *raw_prompt;     /* when set: this text is the whole prompt (tokenized as-is, special tokens parsed,
                         * BOS added when the model wants one; no chat template, no history fitting);
                         * roles/contents are ignored. Freed with the request. */
  gint64 chat_id;       /* the chat this history belongs to (0: none). When the worker turns to another
                         * chat, it saves the cache of the one it leaves under
                         * $XDG_CACHE_HOME/distill/prefix/<chat_id>.kv and restores the new one's */
} DistillGenerateRequest;

DistillGenerateRequest *distill_generate_request_new(void);
void distill_generate_request_add_message(DistillGenerateRequest *req, const char *role, const char *content);
void distill_generate_request_free(DistillGenerateRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillGenerateRequest, distill_generate_request_free)

/* The tokens kept free for an answer when the history is fitted into n_ctx. */
int distill_generate_default_reserve(int n_ctx, int max_tokens);

/* ---- one running generation ------------------------------------------------
 * Signals, all on the main context of the thread that called
 * distill_engine_generate():
 *   "prompt-ready" (int prompt_tokens, int dropped_messages, int n_ctx): the
 *       history was fitted into the context; dropped_messages of the oldest
 *       messages did not fit and were left out.
 *   "delta" (const char *text, int tokens_so_far): new text, coalesced to at
 *       most ~60 emissions a second.
 *   "finished": the generation is over; read the stop reason, the stats and
 *       the error with the getters. Every "delta" comes before it.
 */
#define DISTILL_TYPE_GENERATION (distill_generation_get_type())
G_DECLARE_FINAL_TYPE(DistillGeneration, distill_generation, DISTILL, GENERATION, GObject)

typedef struct {
  int prompt_tokens;    /* tokens of the rendered history */
  int prompt_evaluated; /* of which evaluated (the rest was reused from the cache) */
  int prompt_cached;
  int gen_tokens;       /* tokens generated */
  int reasoning_tokens; /* of which inside the reasoning block */
  double prompt_s;
  double gen_s;
  double ttft_s;        /* from the request reaching the worker to the first token */
  double tok_s;         /* generated tokens per second (decode) */
  int n_past;           /* tokens in the context afterwards */
  int n_ctx;
  int dropped_messages;
  gboolean budget_closed; /* the reasoning budget closed the reasoning */
  char offload[768];      /* where the layers ran by the end of the generation, e.g. "offload: 0/28 layers on a GPU (CPU only)" */
  int n_threads;          /* CPU threads of the session */
  char quant[16];         /* the model's file type ("Q4_K_M"; "unknown" when the file does not say) */
  guint64 peak_device_bytes; /* the most GPU memory the session has held (0 on the CPU) */
} DistillGenerationStats;

void distill_generation_stop(DistillGeneration *self);
gboolean distill_generation_is_finished(DistillGeneration *self);
DistillStopReason distill_generation_get_stop_reason(DistillGeneration *self);
const DistillGenerationStats *distill_generation_get_stats(DistillGeneration *self);
/* Set when the stop reason is DISTILL_STOP_ERROR. */
const GError *distill_generation_get_error(DistillGeneration *self);
/* Does the streamed text start inside the reasoning block (R1 distills)? */
gboolean distill_generation_starts_in_think(DistillGeneration *self);

/* ---- the engine ------------------------------------------------------------
 * Properties that say how sessions are made (read when a generation is
 * queued; when they differ from the current session's, the worker makes a new
 * session, so the cached prefix is lost):
 *   "n-threads"  int, 0: the physical cores
 *   "gpu-layers" int, the last N layers on a Vulkan GPU; 0: none (default); -1: all that fit
 *   "kv-type"    string, "f16" (default), "f32" or "q8_0"
 *   "device"     string, Vulkan device (index or part of its name), or a comma-separated list of
 *                them for a split ("0,1"); NULL: the default choice
 *   "split"      string, shares of the GPU layers per listed device ("14,14", as `still run --split`);
 *                NULL: one device, or equal shares
 */
#define DISTILL_TYPE_ENGINE (distill_engine_get_type())
G_DECLARE_FINAL_TYPE(DistillEngine, distill_engine, DISTILL, ENGINE, GObject)

DistillEngine *distill_engine_new(void);
/* One engine for the whole app (one model in memory). */
DistillEngine *distill_engine_get_default(void);

/* Load a GGUF on the worker (the previous model is freed first). Progress:
 * the "load-progress" property, notified on the main context. */
void distill_engine_load_async(DistillEngine *self, const char *path, GCancellable *cancellable,
                               GAsyncReadyCallback callback, gpointer user_data);
gboolean distill_engine_load_finish(DistillEngine *self, GAsyncResult *result, GError **error);
/* Free the model (after what is queued before). */
void distill_engine_unload(DistillEngine *self);

DistillEngineState distill_engine_get_state(DistillEngine *self);
double distill_engine_get_load_progress(DistillEngine *self);
/* Of the loaded model; NULL/0 when none. */
const char *distill_engine_get_model_path(DistillEngine *self);
const char *distill_engine_get_model_name(DistillEngine *self);
const char *distill_engine_get_template_family(DistillEngine *self);
gboolean distill_engine_get_is_r1(DistillEngine *self);
int distill_engine_get_n_ctx_train(DistillEngine *self);
gboolean distill_engine_is_busy(DistillEngine *self);

/* Queue a generation (takes req). The worker renders the messages with the
 * model's chat template, leaves out the oldest turns when they do not fit,
 * and streams the answer. The session is kept between requests, so a chat
 * only evaluates its new turn. */
DistillGeneration *distill_engine_generate(DistillEngine *self, DistillGenerateRequest *req);
/* Delete the saved prompt cache of a chat (call when the chat is deleted), after what is queued before. */
void distill_engine_forget_chat(DistillEngine *self, gint64 chat_id);

/* ---- generations fed from outside the worker (remote engines) ------------------
 * A DistillGeneration whose text comes from elsewhere (an HTTP stream), with
 * the same signals and the same ≤ 60 Hz coalescing of "delta" as a local one,
 * so the chat page treats both alike. Main context only (the context that was
 * thread-default when it was made); signals are emitted from idle sources, so
 * handlers connected right after distill_generation_new_external() see all.
 * distill_generation_stop() cancels the cancellable; the feeder then calls
 * _external_finish(DISTILL_STOP_STOPPED …). Calls after finish are ignored. */
DistillGeneration *distill_generation_new_external(gboolean starts_in_think);
void distill_generation_external_prompt_ready(DistillGeneration *g, int prompt_tokens, int dropped, int n_ctx);
void distill_generation_external_delta(DistillGeneration *g, const char *text, int tokens_so_far);
/* stats may be NULL; error is copied (set it with DISTILL_STOP_ERROR). */
void distill_generation_external_finish(DistillGeneration *g, DistillStopReason reason,
                                        const DistillGenerationStats *stats, const GError *error);
GCancellable *distill_generation_get_cancellable(DistillGeneration *g);

G_END_DECLS
