/* distill-api-server.h — an OpenAI-compatible HTTP server on 127.0.0.1 (libsoup), answering
 * with the models of this computer on the app's engine worker.
 *
 *   GET  /v1/models              the installed models (GGUF files of the models folder) and the
 *                                loaded one; id = file name without ".gguf"
 *   POST /v1/chat/completions    chat, streamed as server-sent events or as one JSON
 *   POST /v1/completions         raw text continuation (no chat template)
 *
 * Every request needs "Authorization: Bearer KEY". Requests run one at a time, in the order
 * they came, on the same engine as the window; a request naming another installed model loads
 * it first (at most "max-waiting" wait; more get 503). A client that goes away stops its generation.
 * See distill-api-openai.h for the wire format.
 *
 * Limits: one answer per request (n = 1), text only, no tools. Stop strings are found in the
 * text as it arrives, so "completion_tokens" may count a few tokens generated after the stop
 * string before the generation was stopped. Old turns are never dropped silently: a history
 * that does not fit the context gets 400 context_length_exceeded. */
#pragma once

#include <gio/gio.h>

#include "distill-engine.h"

G_BEGIN_DECLS

/* Not used by the common local AI servers (llama-server 8080, vLLM 8000, Ollama 11434,
 * LM Studio 1234, text-generation-webui 5000/7860). */
#define DISTILL_API_DEFAULT_PORT 8741
/* The id of the API key in distill-secret. */
#define DISTILL_API_KEY_SECRET_ID "api-server-key"
/* Request bodies larger than this are refused (413). */
#define DISTILL_API_MAX_BODY (8 * 1024 * 1024)

/* Properties:
 *   "engine"          DistillEngine, construct-only (NULL: distill_engine_get_default())
 *   "models-folder"   string: where installed models are found (NULL: the "models-folder"
 *                     setting, else $XDG_DATA_HOME/distill/models)
 *   "api-key"         string: the key clients must send; NULL/empty: every request gets 401
 *   "allowed-origins" GStrv: browser origins allowed by CORS (NULL: none)
 *   "running"         boolean, read-only
 *   "port"            int, read-only: the port listened on (0 when not running)
 *   "request-count"   uint, read-only: requests answered since start
 *   "max-waiting"     uint: requests that may wait for their turn (default 32); more get 503
 *   "last-error"      string, read-only: why the server could not start, or the last request
 *                     that failed on the server's side (plain words); NULL when none
 * Signals:
 *   "request-done" (const char *method, const char *path, guint status): a request was
 *       answered (the log of `distill serve`). */
#define DISTILL_TYPE_API_SERVER (distill_api_server_get_type())
G_DECLARE_FINAL_TYPE(DistillApiServer, distill_api_server, DISTILL, API_SERVER, GObject)

DistillApiServer *distill_api_server_new(DistillEngine *engine);

/* Listen on 127.0.0.1:port (0: any free port; read it back with _get_port). Stops first if
 * running. FALSE with a plain-words error (also kept as "last-error") when the port is taken. */
gboolean distill_api_server_start(DistillApiServer *self, int port, GError **error);
/* Stop listening, stop the running generation and drop queued requests. */
void distill_api_server_stop(DistillApiServer *self);

gboolean distill_api_server_get_running(DistillApiServer *self);
int distill_api_server_get_port(DistillApiServer *self);
/* "http://127.0.0.1:PORT/v1" while running, else NULL. Caller frees. */
char *distill_api_server_get_url(DistillApiServer *self);
guint distill_api_server_get_request_count(DistillApiServer *self);
/* Requests waiting for their turn (not counting the one running). */
guint distill_api_server_get_n_waiting(DistillApiServer *self);
const char *distill_api_server_get_last_error(DistillApiServer *self);
void distill_api_server_set_api_key(DistillApiServer *self, const char *key);
const char *distill_api_server_get_api_key(DistillApiServer *self);
void distill_api_server_set_allowed_origins(DistillApiServer *self, const char *const *origins);
void distill_api_server_set_models_folder(DistillApiServer *self, const char *folder);

/* The installed models as (id, path) pairs in listing order: the models folder, then the
 * loaded model when it is elsewhere. Caller frees (g_ptr_array_unref; elements are GStrv of 2). */
GPtrArray *distill_api_server_list_models(DistillApiServer *self);

/* Run models as these settings say (GPU layers, threads, KV type and context size per model, see
 * distill-load-settings.h) without following the api-server-* keys (`distill serve`). */
void distill_api_server_set_load_settings(DistillApiServer *self, GSettings *settings);
/* Follow the app's settings: run while "api-server-enabled" is on, on "api-server-port", with
 * "api-cors-origins"; the key is DISTILL_API_KEY when set, else the stored one (made the first
 * time the server starts). Keeps following until the server is finalized. */
void distill_api_server_follow_settings(DistillApiServer *self, GSettings *settings);
/* TRUE when the key comes from DISTILL_API_KEY (the stored key is not used). */
gboolean distill_api_server_key_from_environment(void);

/* ==== the API key ==== */
typedef enum {
  DISTILL_API_KEY_GIVEN,     /* --api-key or DISTILL_API_KEY */
  DISTILL_API_KEY_STORED,    /* from the keyring or the key file */
  DISTILL_API_KEY_GENERATED, /* new, and stored */
} DistillApiKeySource;

/* The stored key; when there is none, a new one is made and stored (generated = TRUE). NULL
 * with error when it could not be stored. */
char *distill_api_key_load_or_create(gboolean *generated, GError **error);
/* Replace the stored key with a new one. */
char *distill_api_key_renew(GError **error);

G_END_DECLS
