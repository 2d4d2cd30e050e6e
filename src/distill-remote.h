/* distill-remote.h — remote engines: any OpenAI-compatible HTTP endpoint
 * (vLLM, SGLang, Ollama's /v1, llama.cpp's llama-server, hosted providers).
 *
 *   GET  {base}/models            the models it serves
 *   POST {base}/chat/completions  stream: true, answered as server-sent events
 *
 * A remote answer is a DistillGeneration like a local one (see
 * distill_generation_new_external()), so the chat page streams it, stops it,
 * stores it and shows its stats the same way. Reasoning the server splits off
 * (`reasoning_content`, as vLLM's and SGLang's deepseek_r1 parsers send it, or
 * `reasoning`, as Ollama names it) is put into the text as a leading
 * "<think>\n…\n</think>\n\n" block; a model that writes <think> into the text
 * itself needs nothing: the message row splits it either way.
 *
 * Endpoints are stored in GSettings (`remote-endpoints`, a(sss): id, name,
 * base URL); their API keys in the secret store under the endpoint's id. */
#pragma once

#include <gio/gio.h>

#include "distill-engine.h"

G_BEGIN_DECLS

#define DISTILL_REMOTE_ERROR (distill_remote_error_quark())
GQuark distill_remote_error_quark(void);

typedef enum {
  DISTILL_REMOTE_ERROR_BAD_URL,      /* the base URL is not an http(s) URL */
  DISTILL_REMOTE_ERROR_UNREACHABLE,  /* could not connect (refused, no route, name unknown) */
  DISTILL_REMOTE_ERROR_TIMEOUT,      /* no answer within the connect timeout, or silence within the idle timeout */
  DISTILL_REMOTE_ERROR_HTTP,         /* an HTTP error status (4xx/5xx) */
  DISTILL_REMOTE_ERROR_UNAUTHORIZED, /* 401/403: the API key is missing or wrong */
  DISTILL_REMOTE_ERROR_CLOSED,       /* the stream ended before the answer was complete */
  DISTILL_REMOTE_ERROR_BAD_REPLY,    /* an answer that is not what the API promises */
  DISTILL_REMOTE_ERROR_SERVER,       /* the server reported an error inside the stream */
} DistillRemoteError;

/* ---- endpoints ---------------------------------------------------------------- */

typedef struct {
  char *id;       /* stable, also the secret's key */
  char *name;     /* shown to people: "Lab cluster" */
  char *base_url; /* "http://host:8000/v1" */
} DistillRemoteEndpoint;

DistillRemoteEndpoint *distill_remote_endpoint_new(const char *id, const char *name, const char *base_url);
DistillRemoteEndpoint *distill_remote_endpoint_copy(const DistillRemoteEndpoint *e);
void distill_remote_endpoint_free(DistillRemoteEndpoint *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillRemoteEndpoint, distill_remote_endpoint_free)

/* All endpoints of the `remote-endpoints` key (DistillRemoteEndpoint*). */
GPtrArray *distill_remote_endpoints_load(GSettings *settings);
void distill_remote_endpoints_save(GSettings *settings, GPtrArray *endpoints);
DistillRemoteEndpoint *distill_remote_endpoint_find(GSettings *settings, const char *id);
/* A fresh id for a new endpoint. */
char *distill_remote_endpoint_make_id(void);
/* Check and tidy a base URL as typed ("host:8000/v1/" → "http://host:8000/v1").
 * NULL and a plain-words error when it cannot be used. */
char *distill_remote_normalize_base_url(const char *text, GError **error);
/* "NAME (endpoint)": how an answer's model is stored in the history. */
char *distill_remote_model_label(const char *model, const char *endpoint_name);

/* ---- server-sent events --------------------------------------------------------
 * An incremental parser (https://html.spec.whatwg.org/#event-stream-interpretation):
 * lines end with \n, \r\n or \r, even when cut between reads; "data:" with or
 * without the space; several data lines join with \n; comments (":") and other
 * fields are skipped; a blank line dispatches the event. */
typedef struct _DistillSseParser DistillSseParser;
typedef void (*DistillSseEventFn)(const char *event, const char *data, gpointer user_data);

DistillSseParser *distill_sse_parser_new(DistillSseEventFn callback, gpointer user_data);
void distill_sse_parser_feed(DistillSseParser *p, const char *bytes, gsize len);
/* The stream ended: an event still being collected is dispatched (some servers
 * close right after the last "data:" line without the blank line). */
void distill_sse_parser_finish(DistillSseParser *p);
void distill_sse_parser_free(DistillSseParser *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillSseParser, distill_sse_parser_free)

/* ---- a chat completion stream, as text ---------------------------------------
 * Turns the bytes of a streamed /chat/completions answer into the text the
 * chat shows (reasoning wrapped in <think> … </think>), with the usage. */
typedef struct _DistillRemoteStream DistillRemoteStream;

DistillRemoteStream *distill_remote_stream_new(void);
void distill_remote_stream_free(DistillRemoteStream *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillRemoteStream, distill_remote_stream_free)
/* The model is an R1 one (distill_remote_model_is_r1()): when the server
 * sends its raw text (no reasoning_content), the text starts inside the
 * reasoning and has only the closing </think>; an opening tag is added unless
 * the text writes one itself. */
void distill_remote_stream_set_raw_r1(DistillRemoteStream *s, gboolean raw_r1);
gboolean distill_remote_model_is_r1(const char *model);
/* Feed bytes; new text to show is appended to out (may be NULL). */
void distill_remote_stream_feed(DistillRemoteStream *s, const char *bytes, gsize len, GString *out);
/* The body ended: text still held back goes to out. */
void distill_remote_stream_finish(DistillRemoteStream *s, GString *out);
gboolean distill_remote_stream_is_done(DistillRemoteStream *s); /* [DONE] (or a finish_reason) arrived */
/* The server reported an error inside the stream (NULL: none). */
const char *distill_remote_stream_get_error(DistillRemoteStream *s);
/* "stop", "length" … of the last choice, or NULL */
const char *distill_remote_stream_get_finish_reason(DistillRemoteStream *s);
/* usage from the final chunk: FALSE when the server sent none */
gboolean distill_remote_stream_get_usage(DistillRemoteStream *s, int *prompt_tokens, int *completion_tokens,
                                         int *reasoning_tokens);
/* Pieces of text received (≈ tokens when there is no usage), and of them reasoning. */
int distill_remote_stream_get_chunks(DistillRemoteStream *s, int *reasoning_chunks);

/* ---- the client ------------------------------------------------------------------ */

#define DISTILL_TYPE_REMOTE (distill_remote_get_type())
G_DECLARE_FINAL_TYPE(DistillRemote, distill_remote, DISTILL, REMOTE, GObject)

#define DISTILL_REMOTE_CONNECT_TIMEOUT_MS 30000 /* until the answer's headers arrive */
#define DISTILL_REMOTE_IDLE_TIMEOUT_MS 120000   /* between two pieces of a streamed answer */

/* api_key NULL or "": no Authorization header. */
DistillRemote *distill_remote_new(const char *base_url, const char *api_key);
/* For the endpoint: its URL, and its key from the secret store. */
DistillRemote *distill_remote_new_for_endpoint(const DistillRemoteEndpoint *endpoint);
const char *distill_remote_get_base_url(DistillRemote *self);
/* Host (and port) as shown in messages: "gpu-box:8000". */
const char *distill_remote_get_host(DistillRemote *self);
void distill_remote_set_timeouts(DistillRemote *self, guint connect_ms, guint idle_ms);

/* GET {base}/models → model ids (char*), sorted as the server sent them. */
void distill_remote_list_models_async(DistillRemote *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
GPtrArray *distill_remote_list_models_finish(DistillRemote *self, GAsyncResult *result, GError **error);

/* ---- context lengths ----------------------------------------------------------
 * What a server says about a model's context, so a remote chat's meter shows the
 * server's limit, not the local default. Listing models (above) remembers the
 * lengths the listing carries: vLLM's "max_model_len", or "context_length" /
 * "context_window" of other servers. Remembered for the process, per base URL. */

/* The remembered context length of model at base_url; 0 when no server said one. */
int distill_remote_lookup_context_length(const char *base_url, const char *model);
void distill_remote_forget_context_lengths(void); /* for tests */

/* The model's context length: remembered, else from GET {base}/models, else
 * (Ollama, base ending in /v1) from POST {root}/api/show: its Modelfile's
 * num_ctx, or model_info["<arch>.context_length"]. 0 when the server does not
 * say (or cannot be asked): show no limit then. -1 only when cancelled. */
void distill_remote_query_context_length_async(DistillRemote *self, const char *model, GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data);
int distill_remote_query_context_length_finish(DistillRemote *self, GAsyncResult *result, GError **error);

/* The context length in an Ollama /api/show answer, 0 when it has none (for tests). */
gint64 distill_remote_parse_ollama_show(const char *json, gsize len);

/* Stream an answer to req (taken) from model. The generation's
 * stats->offload says where it ran ("remote: HOST"), and, when the server
 * sent no usage, that the token counts are approximate. */
DistillGeneration *distill_remote_generate(DistillRemote *self, const char *model, DistillGenerateRequest *req);

/* The JSON body of a request (for tests): assistant turns keep only the text
 * after their reasoning, as the R1 chat template does. */
char *distill_remote_build_request_body(const char *model, const DistillGenerateRequest *req);

G_END_DECLS
