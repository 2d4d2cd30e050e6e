/* distill-remote.c — OpenAI-compatible remote engines; see distill-remote.h.
 *
 * Everything runs on the main context with libsoup's async API: no threads.
 * A streamed answer is read 8 KiB at a time; each piece goes through the SSE
 * parser and the chunk interpreter (DistillRemoteStream), and the text that
 * comes out is handed to the external DistillGeneration, which coalesces it
 * like a local one.
 *
 * Timeouts are ours, not the session's: one from sending the request until
 * the answer's headers arrive, one between two reads of the body (a stream
 * that goes silent). Either cancels the request and says so in plain words.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "distill-remote.h"
#include "distill-secret.h"

G_DEFINE_QUARK(distill-remote-error-quark, distill_remote_error)

/* ==== endpoints ==================================================================== */

DistillRemoteEndpoint *distill_remote_endpoint_new(const char *id, const char *name, const char *base_url)
{
  DistillRemoteEndpoint *e = g_new0(DistillRemoteEndpoint, 1);
  e->id = g_strdup(id ? id : "");
  e->name = g_strdup(name ? name : "");
  e->base_url = g_strdup(base_url ? base_url : "");
  return e;
}

DistillRemoteEndpoint *distill_remote_endpoint_copy(const DistillRemoteEndpoint *e)
{
  return e ? distill_remote_endpoint_new(e->id, e->name, e->base_url) : NULL;
}

void distill_remote_endpoint_free(DistillRemoteEndpoint *e)
{
  if (!e) return;
  g_free(e->id);
  g_free(e->name);
  g_free(e->base_url);
  g_free(e);
}

GPtrArray *distill_remote_endpoints_load(GSettings *settings)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_remote_endpoint_free);
  g_autoptr(GVariant) v = g_settings_get_value(settings, "remote-endpoints");
  GVariantIter iter;
  const char *id, *name, *url;
  g_variant_iter_init(&iter, v);
  while (g_variant_iter_next(&iter, "(&s&s&s)", &id, &name, &url))
    if (*id && *url) g_ptr_array_add(out, distill_remote_endpoint_new(id, name, url));
  return out;
}

void distill_remote_endpoints_save(GSettings *settings, GPtrArray *endpoints)
{
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("a(sss)"));
  for (guint i = 0; endpoints && i < endpoints->len; i++) {
    DistillRemoteEndpoint *e = endpoints->pdata[i];
    g_variant_builder_add(&b, "(sss)", e->id, e->name, e->base_url);
  }
  g_settings_set_value(settings, "remote-endpoints", g_variant_builder_end(&b));
}

DistillRemoteEndpoint *distill_remote_endpoint_find(GSettings *settings, const char *id)
{
  g_autoptr(GPtrArray) all = distill_remote_endpoints_load(settings);
  for (guint i = 0; i < all->len; i++) {
    DistillRemoteEndpoint *e = all->pdata[i];
    if (g_strcmp0(e->id, id) == 0) return distill_remote_endpoint_copy(e);
  }
  return NULL;
}

char *distill_remote_endpoint_make_id(void)
{
  g_autofree char *uuid = g_uuid_string_random();
  return g_strconcat("remote-", uuid, NULL);
}

char *distill_remote_normalize_base_url(const char *text, GError **error)
{
  g_autofree char *s = g_strstrip(g_strdup(text ? text : ""));
  if (*s && !strstr(s, "://")) {
    char *with = g_strconcat("http://", s, NULL);
    g_free(s);
    s = with;
  }
  gsize len = strlen(s);
  while (len > 0 && s[len - 1] == '/') s[--len] = '\0';
  g_autoptr(GUri) uri = *s ? g_uri_parse(s, G_URI_FLAGS_NONE, NULL) : NULL;
  const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
  const char *host = uri ? g_uri_get_host(uri) : NULL;
  if (!uri || !host || !*host || (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) ||
      g_uri_get_query(uri) || g_uri_get_fragment(uri)) {
    g_set_error(error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_BAD_URL,
                _("“%s” is not a web address Distill can use. Write it like http://gpu-box:8000/v1."),
                text ? text : "");
    return NULL;
  }
  return g_steal_pointer(&s);
}

char *distill_remote_model_label(const char *model, const char *endpoint_name)
{
  /* Translators: a remote model and the connection it is served by, e.g. "deepseek-r1 (Lab cluster)" */
  return g_strdup_printf(_("%1$s (%2$s)"), model, endpoint_name);
}

/* ==== server-sent events ============================================================= */

struct _DistillSseParser {
  GString *line;  /* the line being collected */
  GString *data;  /* data of the event being collected */
  GString *event; /* its type ("" = "message") */
  gboolean has_data;
  gboolean skip_lf; /* the last line ended with \r: a \n right after it belongs to it */
  gboolean started; /* past a possible byte-order mark */
  DistillSseEventFn callback;
  gpointer user_data;
};

DistillSseParser *distill_sse_parser_new(DistillSseEventFn callback, gpointer user_data)
{
  DistillSseParser *p = g_new0(DistillSseParser, 1);
  p->line = g_string_new(NULL);
  p->data = g_string_new(NULL);
  p->event = g_string_new(NULL);
  p->callback = callback;
  p->user_data = user_data;
  return p;
}

void distill_sse_parser_free(DistillSseParser *p)
{
  if (!p) return;
  g_string_free(p->line, TRUE);
  g_string_free(p->data, TRUE);
  g_string_free(p->event, TRUE);
  g_free(p);
}

static void sse_dispatch(DistillSseParser *p)
{
  if (p->has_data) p->callback(p->event->len ? p->event->str : "message", p->data->str, p->user_data);
  g_string_truncate(p->data, 0);
  g_string_truncate(p->event, 0);
  p->has_data = FALSE;
}

static void sse_line(DistillSseParser *p)
{
  const char *line = p->line->str;
  if (!p->started) {
    p->started = TRUE;
    if (g_str_has_prefix(line, "\xEF\xBB\xBF")) line += 3;
  }
  if (*line == '\0') {
    sse_dispatch(p);
  } else if (*line != ':') { /* ':' starts a comment (keep-alives) */
    const char *colon = strchr(line, ':');
    g_autofree char *field = colon ? g_strndup(line, (gsize)(colon - line)) : g_strdup(line);
    const char *value = colon ? colon + 1 : "";
    if (*value == ' ') value++;
    if (g_str_equal(field, "data")) {
      if (p->has_data) g_string_append_c(p->data, '\n');
      g_string_append(p->data, value);
      p->has_data = TRUE;
    } else if (g_str_equal(field, "event")) {
      g_string_assign(p->event, value);
    } /* id, retry and unknown fields do not matter here */
  }
  g_string_truncate(p->line, 0);
}

void distill_sse_parser_feed(DistillSseParser *p, const char *bytes, gsize len)
{
  gsize i = 0;
  while (i < len) {
    if (p->skip_lf) {
      p->skip_lf = FALSE;
      if (bytes[i] == '\n') {
        i++;
        continue;
      }
    }
    /* the run up to the next line end goes in at once */
    gsize j = i;
    while (j < len && bytes[j] != '\n' && bytes[j] != '\r') j++;
    g_string_append_len(p->line, bytes + i, (gssize)(j - i));
    if (j == len) break;
    p->skip_lf = bytes[j] == '\r';
    sse_line(p);
    i = j + 1;
  }
}

void distill_sse_parser_finish(DistillSseParser *p)
{
  if (p->line->len) sse_line(p);
  sse_dispatch(p);
  p->skip_lf = FALSE;
}

/* ==== a chat completion stream ===================================================== */

typedef enum { BODY_UNKNOWN, BODY_SSE, BODY_JSON } BodyKind;

struct _DistillRemoteStream {
  DistillSseParser *sse;
  BodyKind kind;
  GString *json;     /* BODY_JSON: the whole body */
  GString *out;      /* where the text of the current feed goes (NULL: dropped) */
  gboolean in_reasoning;
  gboolean answered; /* answer text was written: later reasoning has no place any more */
  gboolean raw_r1;   /* the model starts inside its reasoning when the server does not split it */
  gboolean decided;  /* raw_r1: whether the text opens its own <think> is known */
  GString *held;     /* raw_r1: the start of the text, until it is decided */
  gboolean done;
  char *error;
  char *finish_reason;
  gboolean has_usage;
  int prompt_tokens, completion_tokens, reasoning_tokens;
  int chunks, reasoning_chunks;
};

static void put(DistillRemoteStream *s, const char *text)
{
  if (s->out) g_string_append(s->out, text);
}

static void add_reasoning(DistillRemoteStream *s, const char *text)
{
  if (!*text || s->answered) return;
  s->raw_r1 = FALSE; /* the server splits the reasoning off */
  if (!s->in_reasoning) {
    put(s, "<think>\n");
    s->in_reasoning = TRUE;
  }
  put(s, text);
  s->chunks++;
  s->reasoning_chunks++;
}

/* Raw R1 output (a server without a reasoning parser): the chat template
 * already opened the reasoning, so the text has only the closing tag. Hold
 * the start back until it shows whether it opens <think> itself (Ollama's
 * templates leave that to the model); if not, open it for the reader. */
static gboolean decide_raw_start(DistillRemoteStream *s, const char *text)
{
  g_string_append(s->held, text);
  const char *p = s->held->str;
  while (g_ascii_isspace(*p)) p++;
  gsize n = strlen(p);
  if (n < strlen("<think>") && strncmp(p, "<think>", n) == 0) return FALSE; /* not known yet */
  s->decided = TRUE;
  if (!g_str_has_prefix(p, "<think>")) put(s, "<think>\n");
  return TRUE;
}

static void add_content(DistillRemoteStream *s, const char *text)
{
  if (!*text) return; /* vLLM opens with an empty content next to the role */
  if (s->raw_r1 && !s->decided && !s->in_reasoning && !s->answered) {
    s->chunks++;
    if (!decide_raw_start(s, text)) return;
    s->answered = TRUE;
    put(s, s->held->str);
    return;
  }
  if (s->in_reasoning) {
    put(s, "\n</think>\n\n");
    s->in_reasoning = FALSE;
  }
  s->answered = TRUE;
  put(s, text);
  s->chunks++;
}

static const char *member_string(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n)
                                                                                      : NULL;
}

static JsonObject *member_object(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static int member_int(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  return n && JSON_NODE_HOLDS_VALUE(n) ? (int)json_node_get_int(n) : 0;
}

/* The message of an error object in any of the shapes servers use:
 * {"error": {"message": …}} (OpenAI, vLLM), {"error": "…"} (Ollama),
 * {"message": …, "object": "error"} (older vLLM), {"detail": "…"} (FastAPI). */
static char *error_message_of(JsonObject *o)
{
  JsonObject *e = member_object(o, "error");
  const char *m = e ? member_string(e, "message") : member_string(o, "error");
  if (!m && g_strcmp0(member_string(o, "object"), "error") == 0) m = member_string(o, "message");
  if (!m) m = member_string(o, "detail");
  if (!m && e) m = _("the server reported an error without saying what it was");
  return m ? g_strdup(m) : NULL;
}

static void handle_object(DistillRemoteStream *s, JsonObject *o)
{
  char *err = error_message_of(o);
  if (err) {
    g_free(s->error);
    s->error = err;
    return;
  }
  JsonNode *choices = json_object_get_member(o, "choices");
  if (choices && JSON_NODE_HOLDS_ARRAY(choices) && json_array_get_length(json_node_get_array(choices)) > 0) {
    JsonNode *first = json_array_get_element(json_node_get_array(choices), 0);
    JsonObject *c = JSON_NODE_HOLDS_OBJECT(first) ? json_node_get_object(first) : NULL;
    /* "delta" in a stream, "message" in a whole answer, "text" from /completions */
    JsonObject *d = member_object(c, "delta");
    if (!d) d = member_object(c, "message");
    const char *reasoning = member_string(d, "reasoning_content");
    if (!reasoning) reasoning = member_string(d, "reasoning");
    if (reasoning) add_reasoning(s, reasoning);
    const char *content = d ? member_string(d, "content") : member_string(c, "text");
    if (content) add_content(s, content);
    const char *finish = member_string(c, "finish_reason");
    if (finish) {
      g_free(s->finish_reason);
      s->finish_reason = g_strdup(finish);
    }
  }
  JsonObject *usage = member_object(o, "usage");
  if (usage) {
    s->has_usage = TRUE;
    s->prompt_tokens = member_int(usage, "prompt_tokens");
    s->completion_tokens = member_int(usage, "completion_tokens");
    s->reasoning_tokens = member_int(member_object(usage, "completion_tokens_details"), "reasoning_tokens");
  }
}

static void handle_json_text(DistillRemoteStream *s, const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, text, -1, NULL)) return; /* not JSON: nothing we know */
  JsonNode *root = json_parser_get_root(parser);
  if (root && JSON_NODE_HOLDS_OBJECT(root)) handle_object(s, json_node_get_object(root));
}

static void on_sse_event(const char *event, const char *data, gpointer user_data)
{
  DistillRemoteStream *s = user_data;
  if (g_str_equal(data, "[DONE]")) {
    s->done = TRUE;
    return;
  }
  if (s->done) return;
  if (g_str_equal(event, "error") && data[0] != '{') {
    g_free(s->error);
    s->error = g_strdup(data);
    return;
  }
  handle_json_text(s, data);
}

DistillRemoteStream *distill_remote_stream_new(void)
{
  DistillRemoteStream *s = g_new0(DistillRemoteStream, 1);
  s->sse = distill_sse_parser_new(on_sse_event, s);
  s->json = g_string_new(NULL);
  s->held = g_string_new(NULL);
  return s;
}

void distill_remote_stream_set_raw_r1(DistillRemoteStream *s, gboolean raw_r1)
{
  s->raw_r1 = raw_r1;
}

gboolean distill_remote_model_is_r1(const char *model)
{
  g_autofree char *m = g_ascii_strdown(model ? model : "", -1);
  return strstr(m, "deepseek-r1") || strstr(m, "r1-distill") || strstr(m, "deepseek-reasoner");
}

void distill_remote_stream_free(DistillRemoteStream *s)
{
  if (!s) return;
  distill_sse_parser_free(s->sse);
  g_string_free(s->json, TRUE);
  g_string_free(s->held, TRUE);
  g_free(s->error);
  g_free(s->finish_reason);
  g_free(s);
}

void distill_remote_stream_feed(DistillRemoteStream *s, const char *bytes, gsize len, GString *out)
{
  s->out = out;
  gsize i = 0;
  /* A server that ignores stream: true answers with one JSON object: the
   * first byte that is not blank space tells which it is. */
  while (s->kind == BODY_UNKNOWN && i < len) {
    if (g_ascii_isspace(bytes[i])) i++;
    else s->kind = bytes[i] == '{' ? BODY_JSON : BODY_SSE;
  }
  if (s->kind == BODY_SSE) distill_sse_parser_feed(s->sse, bytes + i, len - i);
  else if (s->kind == BODY_JSON) g_string_append_len(s->json, bytes + i, (gssize)(len - i));
  s->out = NULL;
}

void distill_remote_stream_finish(DistillRemoteStream *s, GString *out)
{
  s->out = out;
  if (s->raw_r1 && !s->decided && s->held->len) { /* only blank space or part of a tag came */
    s->decided = TRUE;
    put(s, s->held->str);
  }
  if (s->kind == BODY_SSE) {
    distill_sse_parser_finish(s->sse);
  } else if (s->kind == BODY_JSON) {
    handle_json_text(s, s->json->str);
    /* a whole answer is complete by nature; an error object is not an answer */
    if (!s->error && (s->chunks > 0 || s->finish_reason)) s->done = TRUE;
  }
  s->out = NULL;
}

gboolean distill_remote_stream_is_done(DistillRemoteStream *s)
{
  return s->done;
}

const char *distill_remote_stream_get_error(DistillRemoteStream *s)
{
  return s->error;
}

const char *distill_remote_stream_get_finish_reason(DistillRemoteStream *s)
{
  return s->finish_reason;
}

gboolean distill_remote_stream_get_usage(DistillRemoteStream *s, int *prompt_tokens, int *completion_tokens,
                                         int *reasoning_tokens)
{
  if (prompt_tokens) *prompt_tokens = s->prompt_tokens;
  if (completion_tokens) *completion_tokens = s->completion_tokens;
  if (reasoning_tokens) *reasoning_tokens = s->reasoning_tokens;
  return s->has_usage;
}

int distill_remote_stream_get_chunks(DistillRemoteStream *s, int *reasoning_chunks)
{
  if (reasoning_chunks) *reasoning_chunks = s->reasoning_chunks;
  return s->chunks;
}

/* ==== requests ======================================================================= */

/* What the model should see of an earlier answer: the R1 templates keep only
 * the text after the reasoning, and so do we (also for local answers stored
 * without the opening tag). */
static const char *answer_part(const char *content)
{
  const char *end = g_strrstr(content, "</think>");
  const char *p = end ? end + strlen("</think>") : content;
  while (*p && g_ascii_isspace(*p)) p++;
  return p;
}

char *distill_remote_build_request_body(const char *model, const DistillGenerateRequest *req)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "model");
  json_builder_add_string_value(b, model);
  json_builder_set_member_name(b, "messages");
  json_builder_begin_array(b);
  if (req->raw_prompt) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "role");
    json_builder_add_string_value(b, "user");
    json_builder_set_member_name(b, "content");
    json_builder_add_string_value(b, req->raw_prompt);
    json_builder_end_object(b);
  }
  for (guint i = 0; !req->raw_prompt && i < req->roles->len; i++) {
    const char *role = req->roles->pdata[i];
    const char *content = req->contents->pdata[i];
    if (!g_str_equal(role, "system") && !g_str_equal(role, "user") && !g_str_equal(role, "assistant")) continue;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "role");
    json_builder_add_string_value(b, role);
    json_builder_set_member_name(b, "content");
    json_builder_add_string_value(b, g_str_equal(role, "assistant") ? answer_part(content) : content);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "stream");
  json_builder_add_boolean_value(b, TRUE);
  /* the final chunk then carries the token counts (vLLM, SGLang, llama-server, Ollama, OpenAI) */
  json_builder_set_member_name(b, "stream_options");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "include_usage");
  json_builder_add_boolean_value(b, TRUE);
  json_builder_end_object(b);
  if (req->temperature >= 0) {
    json_builder_set_member_name(b, "temperature");
    json_builder_add_double_value(b, req->temperature);
  }
  if (req->top_p >= 0) {
    json_builder_set_member_name(b, "top_p");
    json_builder_add_double_value(b, req->top_p);
  }
  if (req->max_tokens > 0) {
    json_builder_set_member_name(b, "max_tokens");
    json_builder_add_int_value(b, req->max_tokens);
  }
  if (req->seed != G_MAXUINT64) {
    json_builder_set_member_name(b, "seed");
    json_builder_add_int_value(b, (gint64)(req->seed & G_MAXINT32));
  }
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return json_to_string(root, FALSE);
}

/* ==== the client ====================================================================== */

struct _DistillRemote {
  GObject parent_instance;
  SoupSession *session;
  char *base_url;
  char *host;
  char *api_key;
  guint connect_ms, idle_ms;
};

G_DEFINE_FINAL_TYPE(DistillRemote, distill_remote, G_TYPE_OBJECT)

static void distill_remote_finalize(GObject *object)
{
  DistillRemote *self = DISTILL_REMOTE(object);
  g_clear_object(&self->session);
  g_free(self->base_url);
  g_free(self->host);
  g_free(self->api_key);
  G_OBJECT_CLASS(distill_remote_parent_class)->finalize(object);
}

static void distill_remote_class_init(DistillRemoteClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = distill_remote_finalize;
}

static void distill_remote_init(DistillRemote *self)
{
  self->connect_ms = DISTILL_REMOTE_CONNECT_TIMEOUT_MS;
  self->idle_ms = DISTILL_REMOTE_IDLE_TIMEOUT_MS;
  /* our own timeouts (below) know connecting from waiting between chunks */
  self->session = soup_session_new_with_options("timeout", 0, "user-agent", "Distill/" PACKAGE_VERSION, NULL);
}

DistillRemote *distill_remote_new(const char *base_url, const char *api_key)
{
  DistillRemote *self = g_object_new(DISTILL_TYPE_REMOTE, NULL);
  g_autofree char *norm = distill_remote_normalize_base_url(base_url, NULL);
  self->base_url = norm ? g_steal_pointer(&norm) : g_strdup(base_url ? base_url : "");
  g_autoptr(GUri) uri = g_uri_parse(self->base_url, G_URI_FLAGS_NONE, NULL);
  if (uri && g_uri_get_host(uri)) {
    int port = g_uri_get_port(uri);
    self->host = port > 0 ? g_strdup_printf("%s:%d", g_uri_get_host(uri), port) : g_strdup(g_uri_get_host(uri));
  } else {
    self->host = g_strdup(self->base_url);
  }
  self->api_key = api_key && *api_key ? g_strdup(api_key) : NULL;
  return self;
}

DistillRemote *distill_remote_new_for_endpoint(const DistillRemoteEndpoint *endpoint)
{
  g_autofree char *key = distill_secret_lookup(endpoint->id);
  return distill_remote_new(endpoint->base_url, key);
}

const char *distill_remote_get_base_url(DistillRemote *self)
{
  g_return_val_if_fail(DISTILL_IS_REMOTE(self), NULL);
  return self->base_url;
}

const char *distill_remote_get_host(DistillRemote *self)
{
  g_return_val_if_fail(DISTILL_IS_REMOTE(self), NULL);
  return self->host;
}

void distill_remote_set_timeouts(DistillRemote *self, guint connect_ms, guint idle_ms)
{
  g_return_if_fail(DISTILL_IS_REMOTE(self));
  self->connect_ms = connect_ms ? connect_ms : DISTILL_REMOTE_CONNECT_TIMEOUT_MS;
  self->idle_ms = idle_ms ? idle_ms : DISTILL_REMOTE_IDLE_TIMEOUT_MS;
}

static SoupMessage *new_message(DistillRemote *self, const char *method, const char *path, const char *body,
                                GError **error)
{
  g_autofree char *url = g_strconcat(self->base_url, "/", path, NULL);
  SoupMessage *msg = soup_message_new(method, url);
  if (!msg) {
    g_set_error(error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_BAD_URL,
                _("“%s” is not a web address Distill can use. Write it like http://gpu-box:8000/v1."),
                self->base_url);
    return NULL;
  }
  SoupMessageHeaders *h = soup_message_get_request_headers(msg);
  if (self->api_key) {
    g_autofree char *auth = g_strconcat("Bearer ", self->api_key, NULL);
    soup_message_headers_replace(h, "Authorization", auth);
  }
  soup_message_headers_replace(h, "Accept", body ? "text/event-stream, application/json" : "application/json");
  if (body) {
    g_autoptr(GBytes) bytes = g_bytes_new(body, strlen(body));
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
  }
  return msg;
}

/* ---- errors in plain words ---- */

static char *short_body_text(GBytes *body)
{
  if (!body || g_bytes_get_size(body) == 0) return NULL;
  gsize len;
  const char *data = g_bytes_get_data(body, &len);
  g_autofree char *text = g_strndup(data, MIN(len, 64 * 1024));
  g_autoptr(JsonParser) parser = json_parser_new();
  if (json_parser_load_from_data(parser, text, -1, NULL)) {
    JsonNode *root = json_parser_get_root(parser);
    return root && JSON_NODE_HOLDS_OBJECT(root) ? error_message_of(json_node_get_object(root)) : NULL;
  }
  /* plain text is worth showing; a web page is not */
  g_strstrip(text);
  if (!*text || text[0] == '<' || !g_utf8_validate(text, -1, NULL)) return NULL;
  if (g_utf8_strlen(text, -1) > 200) {
    char *cut = g_utf8_offset_to_pointer(text, 200);
    *cut = '\0';
    return g_strconcat(text, "…", NULL);
  }
  return g_steal_pointer(&text);
}

static GError *http_error(DistillRemote *self, SoupMessage *msg, GBytes *body)
{
  guint status = soup_message_get_status(msg);
  const char *phrase = soup_message_get_reason_phrase(msg);
  if (!phrase || !*phrase) phrase = soup_status_get_phrase(status);
  if (!phrase) phrase = "";
  g_autofree char *detail = short_body_text(body);
  if (detail) {
    gsize n = strlen(detail);
    while (n > 0 && (detail[n - 1] == '.' || g_ascii_isspace(detail[n - 1]))) detail[--n] = '\0';
  }
  if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN) {
    return detail && *detail
             ? g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_UNAUTHORIZED,
                           _("The server at %1$s answered %2$u %3$s: %4$s. Check the API key in Preferences → Connections."),
                           self->host, status, phrase, detail)
             : g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_UNAUTHORIZED,
                           _("The server at %1$s answered %2$u %3$s. Check the API key in Preferences → Connections."),
                           self->host, status, phrase);
  }
  return detail && *detail ? g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_HTTP,
                                         _("The server at %1$s answered %2$u %3$s: %4$s."), self->host, status, phrase, detail)
                           : g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_HTTP,
                                         _("The server at %1$s answered %2$u %3$s."), self->host, status, phrase);
}

static GError *connect_error(DistillRemote *self, const GError *error)
{
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_UNREACHABLE,
                       _("Could not connect to the server at %s: nothing answers there. Is the server running, and "
                         "is the port right?"),
                       self->host);
  if (error->domain == G_RESOLVER_ERROR)
    return g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_UNREACHABLE,
                       _("Could not connect to the server at %s: no computer with that name was found."), self->host);
  g_autofree char *detail = g_strdup(error->message);
  gsize n = strlen(detail);
  while (n > 0 && (detail[n - 1] == '.' || g_ascii_isspace(detail[n - 1]))) detail[--n] = '\0';
  return g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_UNREACHABLE,
                     _("Could not connect to the server at %1$s: %2$s."), self->host, detail);
}

static GError *timeout_error(DistillRemote *self, gboolean streaming)
{
  guint ms = streaming ? self->idle_ms : self->connect_ms;
  guint s = MAX(1, (ms + 500) / 1000);
  if (streaming)
    return g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_TIMEOUT,
                       g_dngettext(GETTEXT_PACKAGE,
                                   "The server at %1$s sent nothing for %2$u second, so Distill stopped waiting. The "
                                   "answer so far is kept.",
                                   "The server at %1$s sent nothing for %2$u seconds, so Distill stopped waiting. The "
                                   "answer so far is kept.",
                                   s),
                       self->host, s);
  return g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_TIMEOUT,
                     g_dngettext(GETTEXT_PACKAGE, "The server at %1$s did not answer within %2$u second.",
                                 "The server at %1$s did not answer within %2$u seconds.", s),
                     self->host, s);
}

/* ---- one request with our timeouts ---- */

typedef struct {
  DistillRemote *remote;
  SoupMessage *msg;
  GCancellable *cancel;       /* ours: cancelled by the caller's, or by a timeout */
  GCancellable *outer;        /* the caller's */
  gulong outer_handler;
  GSource *timer;
  gboolean timed_out;
  gboolean streaming;         /* the headers came: the idle timeout applies */
} Call;

static void on_outer_cancelled(GCancellable *outer, gpointer data)
{
  Call *c = data;
  g_cancellable_cancel(c->cancel);
}

static gboolean on_timer(gpointer data)
{
  Call *c = data;
  c->timed_out = TRUE;
  c->timer = NULL;
  g_cancellable_cancel(c->cancel);
  return G_SOURCE_REMOVE;
}

static void call_arm_timer(Call *c, guint ms)
{
  if (c->timer) {
    g_source_destroy(c->timer);
    g_source_unref(c->timer);
  }
  c->timer = g_timeout_source_new(ms);
  g_source_set_callback(c->timer, on_timer, c, NULL);
  g_source_set_static_name(c->timer, "[distill] remote timeout");
  g_source_attach(c->timer, g_main_context_get_thread_default());
}

static void call_stop_timer(Call *c)
{
  if (!c->timer) return;
  g_source_destroy(c->timer);
  g_source_unref(c->timer);
  c->timer = NULL;
}

static Call *call_new(DistillRemote *remote, SoupMessage *msg, GCancellable *outer)
{
  Call *c = g_new0(Call, 1);
  c->remote = g_object_ref(remote);
  c->msg = msg;
  c->cancel = g_cancellable_new();
  if (outer) {
    c->outer = g_object_ref(outer);
    c->outer_handler = g_cancellable_connect(outer, G_CALLBACK(on_outer_cancelled), c, NULL);
  }
  call_arm_timer(c, remote->connect_ms);
  return c;
}

static void call_free(Call *c)
{
  call_stop_timer(c);
  if (c->outer) {
    g_cancellable_disconnect(c->outer, c->outer_handler);
    g_object_unref(c->outer);
  }
  g_object_unref(c->cancel);
  g_clear_object(&c->msg);
  g_object_unref(c->remote);
  g_free(c);
}

/* The error of a failed send or read, in plain words. */
static GError *call_error(Call *c, GError *error)
{
  if (c->timed_out) return timeout_error(c->remote, c->streaming);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) return g_error_copy(error);
  if (!c->streaming) return connect_error(c->remote, error);
  return g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_CLOSED,
                     _("The connection to the server at %1$s was closed before the answer was complete (%2$s). The "
                       "answer so far is kept."),
                     c->remote->host, error->message);
}

/* ---- context lengths the servers report ---- */

/* "BASE_URL\nMODEL" → the model's context length in tokens, as its server said. Kept for the
 * process: the chat that uses a model the picker listed knows its length without asking again.
 * Everything here runs on the main context (see the top of the file). */
static GHashTable *context_lengths;

/* Lengths past this are not believed (a typo'd or garbage field), nor anything below 1. */
#define MAX_BELIEVED_CONTEXT (64 * 1024 * 1024)

static char *context_key(const char *base_url, const char *model)
{
  return g_strconcat(base_url, "\n", model, NULL);
}

static void remember_context_length(const char *base_url, const char *model, gint64 n)
{
  if (n <= 0 || n > MAX_BELIEVED_CONTEXT) return; /* unknown: keep what another answer said */
  if (!context_lengths) context_lengths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_replace(context_lengths, context_key(base_url, model), GINT_TO_POINTER((int)n));
}

int distill_remote_lookup_context_length(const char *base_url, const char *model)
{
  if (!context_lengths || !base_url || !model) return 0;
  g_autofree char *key = context_key(base_url, model);
  return GPOINTER_TO_INT(g_hash_table_lookup(context_lengths, key));
}

void distill_remote_forget_context_lengths(void)
{
  g_clear_pointer(&context_lengths, g_hash_table_unref);
}

/* An integer member, whether the server wrote 32768 or 32768.0; 0 when absent or not a number. */
static gint64 member_count(JsonObject *o, const char *name)
{
  JsonNode *n = o ? json_object_get_member(o, name) : NULL;
  if (!n || !JSON_NODE_HOLDS_VALUE(n)) return 0;
  GType t = json_node_get_value_type(n);
  if (t == G_TYPE_INT64) return json_node_get_int(n);
  if (t == G_TYPE_DOUBLE) {
    double d = json_node_get_double(n);
    return d >= 1 && d <= MAX_BELIEVED_CONTEXT ? (gint64)d : 0;
  }
  return 0;
}

/* The context length an entry of GET /models carries, 0 when none: vLLM writes the length it
 * serves with as "max_model_len"; LM Studio and some hosted APIs say "context_length" or
 * "context_window". (llama-server's meta.n_ctx_train is the training length, not what it was
 * started with, so it is not taken: no limit is better than a wrong one.) */
static gint64 listed_context_length(JsonObject *m)
{
  static const char *const names[] = {"max_model_len", "context_length", "context_window"};
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    gint64 n = member_count(m, names[i]);
    if (n > 0) return n;
  }
  return 0;
}

/* The context length in an Ollama POST /api/show answer: a num_ctx the model's Modelfile sets
 * ("parameters" is text, one "name value" a line) is what the server runs it with; else
 * model_info["<architecture>.context_length"], the model's own length. 0 when neither. */
gint64 distill_remote_parse_ollama_show(const char *json, gsize len)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json || !json_parser_load_from_data(parser, json, (gssize)len, NULL)) return 0;
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  const char *params = member_string(o, "parameters");
  if (params) {
    g_auto(GStrv) lines = g_strsplit(params, "\n", -1);
    for (guint i = 0; lines[i]; i++) {
      g_auto(GStrv) words = g_strsplit_set(g_strstrip(lines[i]), " \t", -1);
      guint k = 1;
      if (g_strcmp0(words[0], "num_ctx") != 0) continue;
      while (words[k] && !*words[k]) k++;
      gint64 n = words[k] ? g_ascii_strtoll(words[k], NULL, 10) : 0;
      if (n > 0 && n <= MAX_BELIEVED_CONTEXT) return n;
    }
  }
  JsonObject *info = member_object(o, "model_info");
  if (!info) return 0;
  const char *arch = member_string(info, "general.architecture");
  if (arch) {
    g_autofree char *key = g_strconcat(arch, ".context_length", NULL);
    gint64 n = member_count(info, key);
    if (n > 0 && n <= MAX_BELIEVED_CONTEXT) return n;
  }
  return 0;
}

/* ---- listing models ---- */

static void list_read_done(GObject *source, GAsyncResult *res, gpointer data)
{
  GTask *task = data;
  Call *c = g_task_get_task_data(task);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(source), res, &error);
  if (!body) {
    g_autoptr(GError) e = error;
    g_task_return_error(task, call_error(c, e));
    g_object_unref(task);
    return;
  }
  if (!SOUP_STATUS_IS_SUCCESSFUL(soup_message_get_status(c->msg))) {
    g_task_return_error(task, http_error(c->remote, c->msg, body));
    g_object_unref(task);
    return;
  }
  g_autoptr(JsonParser) parser = json_parser_new();
  gsize len;
  const char *text = g_bytes_get_data(body, &len);
  JsonNode *root = json_parser_load_from_data(parser, text ? text : "", (gssize)len, NULL)
                     ? json_parser_get_root(parser)
                     : NULL;
  JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
  JsonNode *data_node = o ? json_object_get_member(o, "data") : NULL;
  if (!data_node || !JSON_NODE_HOLDS_ARRAY(data_node)) {
    g_task_return_new_error(task, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_BAD_REPLY,
                            _("The server at %s does not answer like an OpenAI-compatible API. Is the address "
                              "right? It usually ends with /v1."),
                            c->remote->host);
    g_object_unref(task);
    return;
  }
  GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
  JsonArray *arr = json_node_get_array(data_node);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    JsonObject *m = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    const char *id = m ? member_string(m, "id") : NULL;
    if (!id || !*id) continue;
    g_ptr_array_add(ids, g_strdup(id));
    remember_context_length(c->remote->base_url, id, listed_context_length(m));
  }
  g_task_return_pointer(task, ids, (GDestroyNotify)g_ptr_array_unref);
  g_object_unref(task);
}

void distill_remote_list_models_async(DistillRemote *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_REMOTE(self));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_remote_list_models_async);
  GError *error = NULL;
  SoupMessage *msg = new_message(self, "GET", "models", NULL, &error);
  if (!msg) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  Call *c = call_new(self, msg, cancellable);
  g_task_set_task_data(task, c, (GDestroyNotify)call_free);
  soup_session_send_and_read_async(self->session, msg, G_PRIORITY_DEFAULT, c->cancel, list_read_done, task);
}

GPtrArray *distill_remote_list_models_finish(DistillRemote *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- a model's context length ---- */

typedef struct {
  DistillRemote *remote;
  char *model;
  GCancellable *cancellable;
} LengthJob;

static void length_job_free(LengthJob *j)
{
  g_object_unref(j->remote);
  g_free(j->model);
  g_clear_object(&j->cancellable);
  g_free(j);
}

static void show_read_done(GObject *source, GAsyncResult *res, gpointer data)
{
  GTask *task = data;
  LengthJob *j = g_task_get_task_data(task);
  Call *c = g_object_get_data(G_OBJECT(task), "call");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(source), res, &error);
  if (!body && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && !c->timed_out) {
    g_task_return_error(task, g_steal_pointer(&error));
    g_object_unref(task);
    return;
  }
  gint64 n = 0;
  if (body && SOUP_STATUS_IS_SUCCESSFUL(soup_message_get_status(c->msg))) {
    gsize len;
    const char *text = g_bytes_get_data(body, &len);
    n = distill_remote_parse_ollama_show(text, len);
  }
  remember_context_length(j->remote->base_url, j->model, n);
  g_task_return_int(task, distill_remote_lookup_context_length(j->remote->base_url, j->model));
  g_object_unref(task);
}

/* Not in the listing: Ollama (which serves its OpenAI API under /v1) tells it in /api/show. */
static void ask_ollama(GTask *task)
{
  LengthJob *j = g_task_get_task_data(task);
  const char *base = j->remote->base_url;
  if (!g_str_has_suffix(base, "/v1")) {
    g_task_return_int(task, 0);
    g_object_unref(task);
    return;
  }
  g_autofree char *root = g_strndup(base, strlen(base) - 3);
  g_autofree char *url = g_strconcat(root, "/api/show", NULL);
  SoupMessage *msg = soup_message_new("POST", url);
  if (!msg) {
    g_task_return_int(task, 0);
    g_object_unref(task);
    return;
  }
  if (j->remote->api_key) {
    g_autofree char *auth = g_strconcat("Bearer ", j->remote->api_key, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", auth);
  }
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "model");
  json_builder_add_string_value(b, j->model);
  json_builder_end_object(b);
  g_autoptr(JsonNode) node = json_builder_get_root(b);
  g_autofree char *body = json_to_string(node, FALSE);
  g_autoptr(GBytes) bytes = g_bytes_new(body, strlen(body));
  soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
  Call *c = call_new(j->remote, msg, j->cancellable);
  g_object_set_data_full(G_OBJECT(task), "call", c, (GDestroyNotify)call_free);
  soup_session_send_and_read_async(j->remote->session, msg, G_PRIORITY_DEFAULT, c->cancel, show_read_done, task);
}

static void length_listed(GObject *source, GAsyncResult *res, gpointer data)
{
  GTask *task = data;
  LengthJob *j = g_task_get_task_data(task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = distill_remote_list_models_finish(DISTILL_REMOTE(source), res, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    g_task_return_error(task, g_steal_pointer(&error));
    g_object_unref(task);
    return;
  }
  int n = distill_remote_lookup_context_length(j->remote->base_url, j->model);
  if (n > 0 || !ids) { /* known now, or the server does not answer: no use asking it more */
    g_task_return_int(task, n);
    g_object_unref(task);
    return;
  }
  ask_ollama(task);
}

void distill_remote_query_context_length_async(DistillRemote *self, const char *model, GCancellable *cancellable,
                                               GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_REMOTE(self));
  g_return_if_fail(model != NULL);
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_remote_query_context_length_async);
  LengthJob *j = g_new0(LengthJob, 1);
  j->remote = g_object_ref(self);
  j->model = g_strdup(model);
  j->cancellable = cancellable ? g_object_ref(cancellable) : NULL;
  g_task_set_task_data(task, j, (GDestroyNotify)length_job_free);
  int known = distill_remote_lookup_context_length(self->base_url, model);
  if (known > 0) {
    g_task_return_int(task, known);
    g_object_unref(task);
    return;
  }
  distill_remote_list_models_async(self, cancellable, length_listed, task);
}

int distill_remote_query_context_length_finish(DistillRemote *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), -1);
  gssize n = g_task_propagate_int(G_TASK(result), error);
  return n < 0 ? -1 : (int)n;
}

/* ---- streaming an answer ---- */

typedef struct {
  Call *call;
  SoupSession *session;   /* its own: aborting it is how a stopped answer closes its connection */
  DistillGeneration *gen;
  DistillRemoteStream *stream;
  GInputStream *body;
  GByteArray *error_body; /* an HTTP error's body, read whole (capped) */
  GString *text;          /* scratch for each piece */
  gint64 start_us, first_us, last_us;
  char buf[8192];
} Stream;

static void stream_free(Stream *st)
{
  call_free(st->call);
  g_object_unref(st->session);
  g_object_unref(st->gen);
  distill_remote_stream_free(st->stream);
  g_clear_object(&st->body);
  if (st->error_body) g_byte_array_unref(st->error_body);
  g_string_free(st->text, TRUE);
  g_free(st);
}

static void stream_finish(Stream *st, DistillStopReason reason, GError *error)
{
  DistillRemote *r = st->call->remote;
  DistillGenerationStats stats = *distill_generation_get_stats(st->gen);
  int prompt = 0, completion = 0, reasoning = 0, reasoning_chunks = 0;
  int chunks = distill_remote_stream_get_chunks(st->stream, &reasoning_chunks);
  gboolean usage = distill_remote_stream_get_usage(st->stream, &prompt, &completion, &reasoning);
  if (usage) {
    stats.prompt_tokens = prompt;
    stats.prompt_evaluated = prompt;
    stats.gen_tokens = completion;
    stats.reasoning_tokens = reasoning > 0 ? reasoning : reasoning_chunks;
    stats.n_past = prompt + completion;
    g_snprintf(stats.offload, sizeof stats.offload, _("remote: %s"), r->host);
  } else {
    /* most servers send one token a chunk: close, but not exact */
    stats.gen_tokens = chunks;
    stats.reasoning_tokens = reasoning_chunks;
    g_snprintf(stats.offload, sizeof stats.offload,
               _("remote: %s · token counts are approximate (the server sent no usage)"), r->host);
  }
  /* a long host name or translation may have been cut inside a character: end at the last whole one */
  const char *valid_end = NULL;
  if (!g_utf8_validate(stats.offload, -1, &valid_end)) stats.offload[valid_end - stats.offload] = '\0';
  if (st->first_us) {
    stats.ttft_s = (double)(st->first_us - st->start_us) / G_USEC_PER_SEC;
    stats.gen_s = (double)(st->last_us - st->first_us) / G_USEC_PER_SEC;
    /* the first piece ends the wait; the rate is over the pieces after it */
    if (stats.gen_s > 0.05 && stats.gen_tokens > 1) stats.tok_s = (stats.gen_tokens - 1) / stats.gen_s;
    else if (st->last_us > st->start_us)
      stats.tok_s = stats.gen_tokens / ((double)(st->last_us - st->start_us) / G_USEC_PER_SEC);
  }
  distill_generation_external_finish(st->gen, reason, &stats, error);
  if (error) g_error_free(error);
  /* The stream's own session goes with it. Stopped, timed out or broken: this closes the connection,
   * so the server stops generating too; after [DONE] it spares a blocking read of what may follow. */
  soup_session_abort(st->session);
  stream_free(st);
}

/* The end of a successful body (or of what came of it). */
static void stream_end(Stream *st)
{
  g_string_truncate(st->text, 0);
  distill_remote_stream_finish(st->stream, st->text);
  if (st->text->len) distill_generation_external_delta(st->gen, st->text->str, distill_remote_stream_get_chunks(st->stream, NULL));
  DistillRemote *r = st->call->remote;
  const char *server_error = distill_remote_stream_get_error(st->stream);
  if (server_error) {
    g_autofree char *detail = g_strdup(server_error);
    gsize n = strlen(detail);
    while (n > 0 && (detail[n - 1] == '.' || g_ascii_isspace(detail[n - 1]))) detail[--n] = '\0';
    return stream_finish(st, DISTILL_STOP_ERROR,
                         g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_SERVER,
                                     _("The server at %1$s stopped the answer with an error: %2$s."), r->host, detail));
  }
  if (!distill_remote_stream_is_done(st->stream)) {
    return stream_finish(st, DISTILL_STOP_ERROR,
                         g_error_new(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_CLOSED,
                                     _("The connection to the server at %s was closed before the answer was "
                                       "complete. The answer so far is kept."),
                                     r->host));
  }
  const char *finish = distill_remote_stream_get_finish_reason(st->stream);
  stream_finish(st, g_strcmp0(finish, "length") == 0 ? DISTILL_STOP_MAX_TOKENS : DISTILL_STOP_END, NULL);
}

static void stream_read_done(GObject *source, GAsyncResult *res, gpointer data);

static void stream_read_next(Stream *st)
{
  call_arm_timer(st->call, st->call->remote->idle_ms);
  g_input_stream_read_async(st->body, st->buf, sizeof st->buf, G_PRIORITY_DEFAULT, st->call->cancel,
                            stream_read_done, st);
}

static void stream_failed(Stream *st, GError *error)
{
  if (g_cancellable_is_cancelled(st->call->outer) && !st->call->timed_out) {
    g_error_free(error);
    return stream_finish(st, DISTILL_STOP_STOPPED, NULL);
  }
  GError *plain = call_error(st->call, error);
  g_error_free(error);
  stream_finish(st, DISTILL_STOP_ERROR, plain);
}

static void stream_read_done(GObject *source, GAsyncResult *res, gpointer data)
{
  Stream *st = data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), res, &error);
  if (n < 0) return stream_failed(st, error);
  if (st->error_body) {
    /* an HTTP error: its body says why */
    if (n > 0 && st->error_body->len < 64 * 1024) {
      g_byte_array_append(st->error_body, (const guint8 *)st->buf, (guint)n);
      return stream_read_next(st);
    }
    g_autoptr(GBytes) body = g_bytes_new(st->error_body->data, st->error_body->len);
    return stream_finish(st, DISTILL_STOP_ERROR, http_error(st->call->remote, st->call->msg, body));
  }
  if (n == 0) return stream_end(st);
  g_string_truncate(st->text, 0);
  distill_remote_stream_feed(st->stream, st->buf, (gsize)n, st->text);
  if (st->text->len) {
    gint64 now = g_get_monotonic_time();
    if (!st->first_us) st->first_us = now;
    st->last_us = now;
    distill_generation_external_delta(st->gen, st->text->str, distill_remote_stream_get_chunks(st->stream, NULL));
  }
  /* [DONE]: the answer is complete even if the server keeps the stream open */
  if (distill_remote_stream_is_done(st->stream)) return stream_end(st);
  stream_read_next(st);
}

static void stream_sent(GObject *source, GAsyncResult *res, gpointer data)
{
  Stream *st = data;
  GError *error = NULL;
  st->body = soup_session_send_finish(st->session, res, &error);
  if (!st->body) return stream_failed(st, error);
  st->call->streaming = TRUE;
  if (!SOUP_STATUS_IS_SUCCESSFUL(soup_message_get_status(st->call->msg))) st->error_body = g_byte_array_new();
  stream_read_next(st);
}

DistillGeneration *distill_remote_generate(DistillRemote *self, const char *model, DistillGenerateRequest *req)
{
  g_return_val_if_fail(DISTILL_IS_REMOTE(self), NULL);
  g_return_val_if_fail(model != NULL && req != NULL, NULL);
  DistillGeneration *gen = distill_generation_new_external(FALSE);
  g_autofree char *body = distill_remote_build_request_body(model, req);
  distill_generate_request_free(req);
  GError *error = NULL;
  SoupMessage *msg = new_message(self, "POST", "chat/completions", body, &error);
  /* the history has no token count yet: the server's usage says it at the end */
  distill_generation_external_prompt_ready(gen, 0, 0, 0);
  if (!msg) {
    distill_generation_external_finish(gen, DISTILL_STOP_ERROR, NULL, error);
    g_error_free(error);
    return gen;
  }
  Stream *st = g_new0(Stream, 1);
  st->gen = g_object_ref(gen);
  st->call = call_new(self, msg, distill_generation_get_cancellable(gen));
  st->stream = distill_remote_stream_new();
  distill_remote_stream_set_raw_r1(st->stream, distill_remote_model_is_r1(model));
  st->text = g_string_new(NULL);
  st->start_us = g_get_monotonic_time();
  st->session = soup_session_new_with_options("timeout", 0, "user-agent", "Distill/" PACKAGE_VERSION, NULL);
  soup_session_send_async(st->session, msg, G_PRIORITY_DEFAULT, st->call->cancel, stream_sent, st);
  return gen;
}
