/* distill-api-openai.h — the OpenAI wire format of the local API server, as pure functions:
 * parse a request body, build responses, stream chunks and errors, and turn the engine's text
 * stream into deltas (valid UTF-8 only, stop strings cut, reasoning split like vLLM's
 * deepseek_r1 reasoning parser). Nothing here touches the network or the engine, so all of it
 * is testable on its own. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DISTILL_API_ERROR (distill_api_error_quark())
GQuark distill_api_error_quark(void);

typedef enum {
  DISTILL_API_ERROR_INVALID_JSON,    /* the body is not JSON / not UTF-8 */
  DISTILL_API_ERROR_INVALID_REQUEST, /* a field is missing or has the wrong type/value */
} DistillApiErrorCode;

typedef enum {
  DISTILL_API_CHAT,       /* POST /v1/chat/completions */
  DISTILL_API_COMPLETION, /* POST /v1/completions */
} DistillApiKind;

#define DISTILL_API_MAX_STOP 4 /* as OpenAI: at most four stop strings */

typedef struct {
  DistillApiKind kind;
  char *model;          /* NULL: the loaded model */
  GPtrArray *roles;     /* chat: char*, parallel to contents */
  GPtrArray *contents;  /* chat: char* */
  char *prompt;         /* completion */
  double temperature;   /* < 0: not given (the model's recommendation) */
  double top_p;         /* < 0: not given */
  int max_tokens;       /* 0: not given */
  GStrv stop;           /* NULL or up to DISTILL_API_MAX_STOP non-empty strings */
  gboolean has_seed;
  guint64 seed;
  gboolean stream;
  gboolean include_usage; /* stream_options.include_usage */
} DistillApiRequest;

/* Parses a request body. On error the message names the field, in plain words, and *param
 * (when not NULL) is set to the field's name (for the "param" of the error JSON). */
DistillApiRequest *distill_api_request_parse(DistillApiKind kind, const char *body, gsize len, char **param,
                                             GError **error);
void distill_api_request_free(DistillApiRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillApiRequest, distill_api_request_free)

/* {"error":{"message":…,"type":…,"param":…|null,"code":…|null}} */
char *distill_api_error_json(const char *message, const char *type, const char *param, const char *code);

/* One entry of GET /v1/models. */
typedef struct {
  const char *id;
  gint64 created; /* unix seconds (file time) */
} DistillApiModelEntry;
/* {"object":"list","data":[{"id","object":"model","created","owned_by":"distill"}…]} */
char *distill_api_models_json(const DistillApiModelEntry *models, guint n);
/* One model: {"id","object":"model","created","owned_by"} (GET /v1/models/ID). */
char *distill_api_model_json(const DistillApiModelEntry *model);

/* A stable id for a model file: its name without ".gguf". */
char *distill_api_model_id(const char *path);

/* "stop" / "length" (NULL: still running) */
typedef struct {
  int prompt_tokens;
  int completion_tokens;
} DistillApiUsage;

/* The non-streaming answers. reasoning: NULL for models without reasoning (the field is left
 * out); content NULL → JSON null. */
char *distill_api_chat_response_json(const char *id, gint64 created, const char *model, const char *content,
                                     const char *reasoning, gboolean with_reasoning, const char *finish_reason,
                                     const DistillApiUsage *usage);
char *distill_api_completion_response_json(const char *id, gint64 created, const char *model, const char *text,
                                           const char *finish_reason, const DistillApiUsage *usage);

/* One SSE event "data: {json}\n\n" of a stream.
 * Chat: role (first chunk only) / content / reasoning may each be NULL (left out of the delta);
 * finish_reason NULL → null; usage_null: write "usage":null (include_usage requested).
 * A usage-only chunk: distill_api_chat_usage_chunk (choices []). */
char *distill_api_chat_chunk(const char *id, gint64 created, const char *model, const char *role,
                             const char *content, const char *reasoning, const char *finish_reason,
                             gboolean usage_null);
char *distill_api_completion_chunk(const char *id, gint64 created, const char *model, const char *text,
                                   const char *finish_reason, gboolean usage_null);
char *distill_api_usage_chunk(const char *id, gint64 created, const char *model, gboolean chat,
                              const DistillApiUsage *usage);
#define DISTILL_API_SSE_DONE "data: [DONE]\n\n"

/* ==== from engine text to deltas ====
 * Feed the engine's text as it streams (cut anywhere, even inside a UTF-8 character). What is
 * safe to send goes to content / reasoning: complete, valid UTF-8 (invalid bytes become U+FFFD),
 * never a part of a stop string (the text that could still begin one is held back), and — when
 * reasoning is on — split at </think> (the text before it is reasoning, see distill-reasoning.h).
 * Once a stop string is seen everything after it is dropped and _stopped() turns TRUE. */
typedef struct _DistillApiDeltas DistillApiDeltas;

DistillApiDeltas *distill_api_deltas_new(const char *const *stop, gboolean reasoning, gboolean starts_in_think);
void distill_api_deltas_free(DistillApiDeltas *self);
void distill_api_deltas_feed(DistillApiDeltas *self, const char *text, gssize len, GString *content,
                             GString *reasoning);
/* The stream ended: release what was held back. */
void distill_api_deltas_finish(DistillApiDeltas *self, GString *content, GString *reasoning);
gboolean distill_api_deltas_stopped(DistillApiDeltas *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillApiDeltas, distill_api_deltas_free)

/* Constant-time comparison of an Authorization header value with "Bearer KEY". */
gboolean distill_api_check_bearer(const char *header, const char *key);

/* A new API key: "sk-distill-" + 44 base64url characters (33 random bytes). */
char *distill_api_generate_key(void);

G_END_DECLS
