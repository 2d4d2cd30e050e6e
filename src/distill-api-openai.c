/* distill-api-openai.c — the OpenAI wire format (see the header).
 *
 * Field rules follow OpenAI's API reference where the local server can honour them; what the
 * engine cannot do (images, tools, n > 1, token-id prompts) is refused with a 400 that says so,
 * rather than silently ignored. Unknown fields are ignored, like vLLM does. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "distill-api-openai.h"
#include "distill-reasoning.h"

G_DEFINE_QUARK(distill-api-error-quark, distill_api_error)

#define KEY_PREFIX "sk-distill-"

void distill_api_request_free(DistillApiRequest *req)
{
  if (!req) return;
  g_free(req->model);
  if (req->roles) g_ptr_array_unref(req->roles);
  if (req->contents) g_ptr_array_unref(req->contents);
  g_free(req->prompt);
  g_strfreev(req->stop);
  g_free(req);
}

/* ==== parsing ==== */

static gboolean fail(GError **error, char **param, const char *name, const char *message)
{
  g_set_error_literal(error, DISTILL_API_ERROR, DISTILL_API_ERROR_INVALID_REQUEST, message);
  if (param) *param = g_strdup(name);
  return FALSE;
}

/* The member, or NULL when absent or null. */
static JsonNode *member(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  return n && !JSON_NODE_HOLDS_NULL(n) ? n : NULL;
}

static gboolean is_number(JsonNode *n)
{
  if (!JSON_NODE_HOLDS_VALUE(n)) return FALSE;
  GType t = json_node_get_value_type(n);
  return t == G_TYPE_INT64 || t == G_TYPE_DOUBLE;
}

static gboolean is_integer(JsonNode *n)
{
  return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64;
}

static gboolean is_string(JsonNode *n)
{
  return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING;
}

static gboolean is_bool(JsonNode *n)
{
  return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN;
}

/* A message's content: a string, null, or an array of {"type":"text","text":…} parts. */
static char *message_text(JsonNode *content, GError **error, char **param)
{
  if (content == NULL || JSON_NODE_HOLDS_NULL(content)) return g_strdup("");
  if (is_string(content)) return g_strdup(json_node_get_string(content));
  if (!JSON_NODE_HOLDS_ARRAY(content)) {
    fail(error, param, "messages", _("The content of a message must be text or a list of text parts."));
    return NULL;
  }
  JsonArray *parts = json_node_get_array(content);
  GString *text = g_string_new(NULL);
  for (guint i = 0; i < json_array_get_length(parts); i++) {
    JsonNode *part = json_array_get_element(parts, i);
    JsonObject *po = JSON_NODE_HOLDS_OBJECT(part) ? json_node_get_object(part) : NULL;
    JsonNode *type = po ? member(po, "type") : NULL;
    JsonNode *t = po ? member(po, "text") : NULL;
    if (!type || !is_string(type) || g_strcmp0(json_node_get_string(type), "text") != 0 || !t || !is_string(t)) {
      g_string_free(text, TRUE);
      fail(error, param, "messages",
           _("Only text parts are supported in messages: this server runs text-only models."));
      return NULL;
    }
    g_string_append(text, json_node_get_string(t));
  }
  return g_string_free(text, FALSE);
}

static gboolean parse_messages(DistillApiRequest *req, JsonObject *root, GError **error, char **param)
{
  JsonNode *node = member(root, "messages");
  if (!node) return fail(error, param, "messages", _("The request has no \"messages\": send the conversation as a list of messages."));
  if (!JSON_NODE_HOLDS_ARRAY(node)) return fail(error, param, "messages", _("\"messages\" must be a list of messages."));
  JsonArray *arr = json_node_get_array(node);
  if (json_array_get_length(arr) == 0) return fail(error, param, "messages", _("\"messages\" is empty: send at least one message."));
  req->roles = g_ptr_array_new_with_free_func(g_free);
  req->contents = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *m = json_array_get_element(arr, i);
    if (!JSON_NODE_HOLDS_OBJECT(m)) return fail(error, param, "messages", _("Each message must be an object with a \"role\" and a \"content\"."));
    JsonObject *mo = json_node_get_object(m);
    JsonNode *role = member(mo, "role");
    if (!role || !is_string(role)) return fail(error, param, "messages", _("Each message needs a \"role\": system, user or assistant."));
    const char *r = json_node_get_string(role);
    if (g_str_equal(r, "developer")) r = "system"; /* OpenAI's newer name for the system message */
    if (!g_str_equal(r, "system") && !g_str_equal(r, "user") && !g_str_equal(r, "assistant"))
      return fail(error, param, "messages", _("A message has a role this server does not support: use system, user or assistant."));
    char *text = message_text(member(mo, "content"), error, param);
    if (!text) return FALSE;
    g_ptr_array_add(req->roles, g_strdup(r));
    g_ptr_array_add(req->contents, text);
  }
  return TRUE;
}

static gboolean parse_prompt(DistillApiRequest *req, JsonObject *root, GError **error, char **param)
{
  JsonNode *node = member(root, "prompt");
  if (!node) return fail(error, param, "prompt", _("The request has no \"prompt\": send the text to continue."));
  if (is_string(node)) {
    req->prompt = g_strdup(json_node_get_string(node));
    return TRUE;
  }
  if (JSON_NODE_HOLDS_ARRAY(node)) {
    JsonArray *arr = json_node_get_array(node);
    if (json_array_get_length(arr) == 1 && is_string(json_array_get_element(arr, 0))) {
      req->prompt = g_strdup(json_node_get_string(json_array_get_element(arr, 0)));
      return TRUE;
    }
  }
  return fail(error, param, "prompt", _("\"prompt\" must be one text (lists of prompts and token ids are not supported)."));
}

static gboolean parse_stop(DistillApiRequest *req, JsonObject *root, GError **error, char **param)
{
  JsonNode *node = member(root, "stop");
  if (!node) return TRUE;
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  guint n = 0;
  if (is_string(node)) {
    const char *s = json_node_get_string(node);
    if (*s) {
      g_strv_builder_add(b, s);
      n++;
    }
  } else if (JSON_NODE_HOLDS_ARRAY(node)) {
    JsonArray *arr = json_node_get_array(node);
    if (json_array_get_length(arr) > DISTILL_API_MAX_STOP)
      return fail(error, param, "stop", _("\"stop\" may hold at most four strings."));
    for (guint i = 0; i < json_array_get_length(arr); i++) {
      JsonNode *e = json_array_get_element(arr, i);
      if (!is_string(e)) return fail(error, param, "stop", _("\"stop\" must be a string or a list of strings."));
      const char *s = json_node_get_string(e);
      if (*s) {
        g_strv_builder_add(b, s);
        n++;
      }
    }
  } else {
    return fail(error, param, "stop", _("\"stop\" must be a string or a list of strings."));
  }
  if (n > 0) req->stop = g_strv_builder_end(b);
  return TRUE;
}

static gboolean parse_sampling(DistillApiRequest *req, JsonObject *root, GError **error, char **param)
{
  JsonNode *n;
  if ((n = member(root, "temperature"))) {
    if (!is_number(n) || json_node_get_double(n) < 0 || json_node_get_double(n) > 2)
      return fail(error, param, "temperature", _("\"temperature\" must be a number from 0 to 2."));
    req->temperature = json_node_get_double(n);
  }
  if ((n = member(root, "top_p"))) {
    if (!is_number(n) || json_node_get_double(n) <= 0 || json_node_get_double(n) > 1)
      return fail(error, param, "top_p", _("\"top_p\" must be a number above 0 and at most 1."));
    req->top_p = json_node_get_double(n);
  }
  /* max_completion_tokens is OpenAI's newer name; it wins when both are given */
  const char *names[] = {"max_tokens", "max_completion_tokens"};
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    if (!(n = member(root, names[i]))) continue;
    if (!is_integer(n) || json_node_get_int(n) < 1 || json_node_get_int(n) > G_MAXINT / 2)
      return fail(error, param, names[i], i == 0 ? _("\"max_tokens\" must be a whole number of at least 1.")
                                                 : _("\"max_completion_tokens\" must be a whole number of at least 1."));
    req->max_tokens = (int)json_node_get_int(n);
  }
  if ((n = member(root, "seed"))) {
    if (!is_integer(n)) return fail(error, param, "seed", _("\"seed\" must be a whole number."));
    req->has_seed = TRUE;
    req->seed = (guint64)json_node_get_int(n);
    if (req->seed == G_MAXUINT64) req->seed = 0; /* the engine reads G_MAXUINT64 as "random" */
  }
  if ((n = member(root, "n"))) {
    if (!is_integer(n) || json_node_get_int(n) != 1)
      return fail(error, param, "n", _("Only one answer per request is supported (\"n\" must be 1)."));
  }
  return TRUE;
}

/* json-glib parses nested arrays and objects by recursion: a body of a few megabytes of "[" would
 * overflow the stack. Requests never need more than a few levels, so deeper ones are refused
 * before parsing (strings are skipped, with their escapes). */
#define MAX_JSON_DEPTH 64

static gboolean json_depth_ok(const char *p, gsize len)
{
  int depth = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = p[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_JSON_DEPTH) return FALSE;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return TRUE;
}

DistillApiRequest *distill_api_request_parse(DistillApiKind kind, const char *body, gsize len, char **param,
                                             GError **error)
{
  if (param) *param = NULL;
  if (body == NULL || len == 0) {
    g_set_error_literal(error, DISTILL_API_ERROR, DISTILL_API_ERROR_INVALID_JSON,
                        _("The request has no body: send a JSON object."));
    return NULL;
  }
  if (!g_utf8_validate_len(body, len, NULL)) {
    g_set_error_literal(error, DISTILL_API_ERROR, DISTILL_API_ERROR_INVALID_JSON,
                        _("The request body is not valid UTF-8 text."));
    return NULL;
  }
  if (!json_depth_ok(body, len)) {
    g_set_error(error, DISTILL_API_ERROR, DISTILL_API_ERROR_INVALID_JSON,
                _("The request body nests lists and objects more than %d levels deep."), MAX_JSON_DEPTH);
    return NULL;
  }
  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  g_autoptr(GError) json_error = NULL;
  if (!json_parser_load_from_data(parser, body, (gssize)len, &json_error)) {
    g_set_error(error, DISTILL_API_ERROR, DISTILL_API_ERROR_INVALID_JSON, _("The request body is not valid JSON: %s"),
                json_error->message);
    return NULL;
  }
  JsonNode *root_node = json_parser_get_root(parser);
  if (!root_node || !JSON_NODE_HOLDS_OBJECT(root_node)) {
    g_set_error_literal(error, DISTILL_API_ERROR, DISTILL_API_ERROR_INVALID_JSON,
                        _("The request body must be a JSON object."));
    return NULL;
  }
  JsonObject *root = json_node_get_object(root_node);
  g_autoptr(DistillApiRequest) req = g_new0(DistillApiRequest, 1);
  req->kind = kind;
  req->temperature = -1;
  req->top_p = -1;
  JsonNode *n;
  if ((n = member(root, "model"))) {
    if (!is_string(n)) {
      fail(error, param, "model", _("\"model\" must be the id of a model (see GET /v1/models)."));
      return NULL;
    }
    if (*json_node_get_string(n)) req->model = g_strdup(json_node_get_string(n));
  }
  if (kind == DISTILL_API_CHAT ? !parse_messages(req, root, error, param) : !parse_prompt(req, root, error, param))
    return NULL;
  if (!parse_sampling(req, root, error, param) || !parse_stop(req, root, error, param)) return NULL;
  if ((n = member(root, "stream"))) {
    if (!is_bool(n)) {
      fail(error, param, "stream", _("\"stream\" must be true or false."));
      return NULL;
    }
    req->stream = json_node_get_boolean(n);
  }
  if ((n = member(root, "stream_options"))) {
    JsonNode *u = JSON_NODE_HOLDS_OBJECT(n) ? member(json_node_get_object(n), "include_usage") : NULL;
    if (!JSON_NODE_HOLDS_OBJECT(n) || (u && !is_bool(u))) {
      fail(error, param, "stream_options", _("\"stream_options\" must be an object such as {\"include_usage\": true}."));
      return NULL;
    }
    req->include_usage = u && json_node_get_boolean(u);
  }
  return g_steal_pointer(&req);
}

/* ==== building ==== */

static char *to_json(JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, NULL);
}

static void add_string_or_null(JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name(b, name);
  if (value) json_builder_add_string_value(b, value);
  else json_builder_add_null_value(b);
}

char *distill_api_error_json(const char *message, const char *type, const char *param, const char *code)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "error");
  json_builder_begin_object(b);
  add_string_or_null(b, "message", message ? message : "");
  add_string_or_null(b, "type", type ? type : "invalid_request_error");
  add_string_or_null(b, "param", param);
  add_string_or_null(b, "code", code);
  json_builder_end_object(b);
  json_builder_end_object(b);
  return to_json(b);
}

static void add_model(JsonBuilder *b, const DistillApiModelEntry *m)
{
  json_builder_begin_object(b);
  add_string_or_null(b, "id", m->id);
  add_string_or_null(b, "object", "model");
  json_builder_set_member_name(b, "created");
  json_builder_add_int_value(b, m->created);
  add_string_or_null(b, "owned_by", "distill");
  json_builder_end_object(b);
}

char *distill_api_model_json(const DistillApiModelEntry *model)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  add_model(b, model);
  return to_json(b);
}

char *distill_api_models_json(const DistillApiModelEntry *models, guint n)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_string_or_null(b, "object", "list");
  json_builder_set_member_name(b, "data");
  json_builder_begin_array(b);
  for (guint i = 0; i < n; i++) add_model(b, &models[i]);
  json_builder_end_array(b);
  json_builder_end_object(b);
  return to_json(b);
}

char *distill_api_model_id(const char *path)
{
  g_autofree char *base = g_path_get_basename(path);
  if (g_str_has_suffix(base, ".gguf")) base[strlen(base) - 5] = '\0';
  return g_steal_pointer(&base);
}

static void add_header(JsonBuilder *b, const char *id, const char *object, gint64 created, const char *model)
{
  add_string_or_null(b, "id", id);
  add_string_or_null(b, "object", object);
  json_builder_set_member_name(b, "created");
  json_builder_add_int_value(b, created);
  add_string_or_null(b, "model", model);
}

static void add_usage(JsonBuilder *b, const DistillApiUsage *usage)
{
  json_builder_set_member_name(b, "usage");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "prompt_tokens");
  json_builder_add_int_value(b, usage->prompt_tokens);
  json_builder_set_member_name(b, "completion_tokens");
  json_builder_add_int_value(b, usage->completion_tokens);
  json_builder_set_member_name(b, "total_tokens");
  json_builder_add_int_value(b, usage->prompt_tokens + usage->completion_tokens);
  json_builder_end_object(b);
}

char *distill_api_chat_response_json(const char *id, gint64 created, const char *model, const char *content,
                                     const char *reasoning, gboolean with_reasoning, const char *finish_reason,
                                     const DistillApiUsage *usage)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_header(b, id, "chat.completion", created, model);
  json_builder_set_member_name(b, "choices");
  json_builder_begin_array(b);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "index");
  json_builder_add_int_value(b, 0);
  json_builder_set_member_name(b, "message");
  json_builder_begin_object(b);
  add_string_or_null(b, "role", "assistant");
  add_string_or_null(b, "content", content);
  if (with_reasoning) add_string_or_null(b, "reasoning_content", reasoning);
  json_builder_end_object(b);
  add_string_or_null(b, "finish_reason", finish_reason);
  json_builder_end_object(b);
  json_builder_end_array(b);
  add_usage(b, usage);
  json_builder_end_object(b);
  return to_json(b);
}

/* "choices": [{index 0, text, logprobs null, finish_reason}] of /v1/completions (answer and chunk). */
static void add_text_choices(JsonBuilder *b, const char *text, const char *finish_reason)
{
  json_builder_set_member_name(b, "choices");
  json_builder_begin_array(b);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "index");
  json_builder_add_int_value(b, 0);
  add_string_or_null(b, "text", text ? text : "");
  json_builder_set_member_name(b, "logprobs");
  json_builder_add_null_value(b);
  add_string_or_null(b, "finish_reason", finish_reason);
  json_builder_end_object(b);
  json_builder_end_array(b);
}

char *distill_api_completion_response_json(const char *id, gint64 created, const char *model, const char *text,
                                           const char *finish_reason, const DistillApiUsage *usage)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_header(b, id, "text_completion", created, model);
  add_text_choices(b, text, finish_reason);
  add_usage(b, usage);
  json_builder_end_object(b);
  return to_json(b);
}

static char *sse(char *json)
{
  char *event = g_strconcat("data: ", json, "\n\n", NULL);
  g_free(json);
  return event;
}

char *distill_api_chat_chunk(const char *id, gint64 created, const char *model, const char *role,
                             const char *content, const char *reasoning, const char *finish_reason,
                             gboolean usage_null)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_header(b, id, "chat.completion.chunk", created, model);
  json_builder_set_member_name(b, "choices");
  json_builder_begin_array(b);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "index");
  json_builder_add_int_value(b, 0);
  json_builder_set_member_name(b, "delta");
  json_builder_begin_object(b);
  if (role) add_string_or_null(b, "role", role);
  if (content) add_string_or_null(b, "content", content);
  if (reasoning) add_string_or_null(b, "reasoning_content", reasoning);
  json_builder_end_object(b);
  add_string_or_null(b, "finish_reason", finish_reason);
  json_builder_end_object(b);
  json_builder_end_array(b);
  if (usage_null) {
    json_builder_set_member_name(b, "usage");
    json_builder_add_null_value(b);
  }
  json_builder_end_object(b);
  return sse(to_json(b));
}

char *distill_api_completion_chunk(const char *id, gint64 created, const char *model, const char *text,
                                   const char *finish_reason, gboolean usage_null)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_header(b, id, "text_completion", created, model);
  add_text_choices(b, text, finish_reason);
  if (usage_null) {
    json_builder_set_member_name(b, "usage");
    json_builder_add_null_value(b);
  }
  json_builder_end_object(b);
  return sse(to_json(b));
}

char *distill_api_usage_chunk(const char *id, gint64 created, const char *model, gboolean chat,
                              const DistillApiUsage *usage)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_header(b, id, chat ? "chat.completion.chunk" : "text_completion", created, model);
  json_builder_set_member_name(b, "choices");
  json_builder_begin_array(b);
  json_builder_end_array(b);
  add_usage(b, usage);
  json_builder_end_object(b);
  return sse(to_json(b));
}

/* ==== deltas ==== */

struct _DistillApiDeltas {
  GString *raw;     /* bytes of a UTF-8 character cut at the end of the last chunk */
  GString *held;    /* valid text that may still begin a stop string */
  GStrv stop;
  gsize stop_max;   /* longest stop string, bytes */
  gboolean stopped;
  gboolean reasoning;
  DistillReasoningSplit *split;
};

DistillApiDeltas *distill_api_deltas_new(const char *const *stop, gboolean reasoning, gboolean starts_in_think)
{
  DistillApiDeltas *self = g_new0(DistillApiDeltas, 1);
  self->raw = g_string_new(NULL);
  self->held = g_string_new(NULL);
  self->stop = stop ? g_strdupv((char **)stop) : NULL;
  for (guint i = 0; self->stop && self->stop[i]; i++) self->stop_max = MAX(self->stop_max, strlen(self->stop[i]));
  self->reasoning = reasoning;
  if (reasoning) self->split = distill_reasoning_split_new(starts_in_think);
  return self;
}

void distill_api_deltas_free(DistillApiDeltas *self)
{
  if (!self) return;
  g_string_free(self->raw, TRUE);
  g_string_free(self->held, TRUE);
  g_strfreev(self->stop);
  distill_reasoning_split_free(self->split);
  g_free(self);
}

gboolean distill_api_deltas_stopped(DistillApiDeltas *self)
{
  return self->stopped;
}

/* Valid text on to the reasoning splitter (or straight to content). */
static void emit(DistillApiDeltas *self, const char *text, gsize len, GString *content, GString *reasoning)
{
  if (len == 0) return;
  if (self->split) distill_reasoning_split_feed(self->split, text, (gssize)len, reasoning, content);
  else if (content) g_string_append_len(content, text, (gssize)len);
}

/* Length of the incomplete UTF-8 character at the end of p[0..n) (0 when it ends cleanly or
 * with bytes that can never become valid: those are replaced now). */
static gsize incomplete_tail(const char *p, gsize n)
{
  for (gsize back = 1; back <= 3 && back <= n; back++) {
    guchar c = (guchar)p[n - back];
    if ((c & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
    gsize need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
    if (need > back && g_utf8_get_char_validated(p + n - back, (gssize)back) == (gunichar)-2) return back;
    return 0;
  }
  return 0;
}

/* The held text: cut at a stop string, or send what can no longer begin one. */
static void release_held(DistillApiDeltas *self, gboolean all, GString *content, GString *reasoning)
{
  GString *h = self->held;
  const char *first = NULL;
  for (guint i = 0; self->stop && self->stop[i]; i++) {
    const char *at = strstr(h->str, self->stop[i]);
    if (at && (!first || at < first)) first = at;
  }
  if (first) {
    emit(self, h->str, (gsize)(first - h->str), content, reasoning);
    g_string_truncate(h, 0);
    self->stopped = TRUE;
    return;
  }
  gsize keep = all || self->stop_max == 0 ? 0 : MIN(h->len, self->stop_max - 1);
  gsize send = h->len - keep;
  /* never cut a character: step back to its first byte */
  while (send > 0 && send < h->len && ((guchar)h->str[send] & 0xC0) == 0x80) send--;
  emit(self, h->str, send, content, reasoning);
  g_string_erase(h, 0, (gssize)send);
}

void distill_api_deltas_feed(DistillApiDeltas *self, const char *text, gssize len, GString *content,
                             GString *reasoning)
{
  if (self->stopped || text == NULL) return;
  if (len < 0) len = (gssize)strlen(text);
  g_string_append_len(self->raw, text, len);
  gsize tail = incomplete_tail(self->raw->str, self->raw->len);
  gsize ready = self->raw->len - tail;
  if (ready > 0) {
    /* invalid bytes (and NULs) become U+FFFD, so the text is one C string of valid UTF-8 */
    g_autofree char *valid = g_utf8_make_valid(self->raw->str, (gssize)ready);
    g_string_append(self->held, valid);
    g_string_erase(self->raw, 0, (gssize)ready);
  }
  release_held(self, FALSE, content, reasoning);
}

void distill_api_deltas_finish(DistillApiDeltas *self, GString *content, GString *reasoning)
{
  /* what is left is the start of one character that never ended: one U+FFFD for it */
  if (!self->stopped && self->raw->len > 0) g_string_append(self->held, "\xef\xbf\xbd");
  g_string_truncate(self->raw, 0);
  if (!self->stopped) release_held(self, TRUE, content, reasoning);
  if (self->split) distill_reasoning_split_finish(self->split, reasoning, content);
}

/* ==== keys ==== */

gboolean distill_api_check_bearer(const char *header, const char *key)
{
  if (header == NULL || key == NULL || *key == '\0') return FALSE;
  if (g_ascii_strncasecmp(header, "Bearer ", 7) != 0) return FALSE;
  const char *given = header + 7;
  while (*given == ' ') given++;
  gsize a = strlen(given), b = strlen(key);
  /* compare every byte whatever the first difference is, so the time says nothing */
  guchar diff = a != b;
  for (gsize i = 0; i < b; i++) diff |= (guchar)(key[i] ^ (i < a ? given[i] : 0));
  return diff == 0;
}

char *distill_api_generate_key(void)
{
  guint8 bytes[33];
  g_autoptr(GError) error = NULL;
  /* /dev/urandom through GIO; fall back to GRand (seeded from it by GLib) if that fails */
  g_autoptr(GFile) file = g_file_new_for_path("/dev/urandom");
  g_autoptr(GFileInputStream) in = g_file_read(file, NULL, &error);
  gsize got = 0;
  if (in) g_input_stream_read_all(G_INPUT_STREAM(in), bytes, sizeof bytes, &got, NULL, NULL);
  for (gsize i = got; i < sizeof bytes; i++) bytes[i] = (guint8)g_random_int_range(0, 256);
  g_autofree char *b64 = g_base64_encode(bytes, sizeof bytes); /* 33 bytes → 44 chars, no padding */
  for (char *p = b64; *p; p++) {
    if (*p == '+') *p = '-';
    else if (*p == '/') *p = '_';
  }
  memset(bytes, 0, sizeof bytes);
  return g_strconcat(KEY_PREFIX, b64, NULL);
}
