/* test-api-server.c — the local OpenAI-compatible server, with libsoup as the client (the wire
 * format on its own is tested in test-api-openai.c): a real server on a free port of
 * 127.0.0.1 with the stories260K fixture (no chat template: everything is "content") and
 * tiny-qwen2 (DeepSeek-R1 template: "reasoning_content"): answers streamed and not streamed
 * agree with each other and with the engine's own greedy output, usage counts, stop strings,
 * max_tokens, raw completions, auth, errors, CORS, a client that goes away, two requests in
 * order, the secret store, and `distill serve` as a subprocess. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <adwaita.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "distill-api-openai.h"
#include "distill-api-server.h"
#include "distill-engine.h"
#include "distill-prefs-server.h"
#include "distill-reasoning.h"
#include "distill-secret.h"
#include "test-util.h"

#define KEY "sk-distill-test-key"
#define STORIES "stories260K"
#define R1_MODEL "tiny-qwen2-Q8_0"

static char *fixtures_models(void)
{
  const char *dir = g_getenv("STILL_FIXTURES_DIR");
  g_autofree char *path = g_build_filename(dir ? dir : "", "models", "stories260K.gguf", NULL);
  if (!dir || !g_file_test(path, G_FILE_TEST_EXISTS)) {
    if (g_strcmp0(g_getenv("CI"), "true") == 0) g_error("fixture %s is missing", path);
    return NULL;
  }
  return g_build_filename(dir, "models", NULL);
}

#define NEED_FIXTURES(var)                                                                                             \
  g_autofree char *var = fixtures_models();                                                                            \
  if (!var) {                                                                                                          \
    g_test_skip("fixtures not found (set STILL_FIXTURES_DIR)");                                                        \
    return;                                                                                                            \
  }

/* ==== the secret store ==== */

static void test_secret(void)
{
  g_assert_false(distill_secret_uses_keyring()); /* DISTILL_SECRET_BACKEND=file in main() */
  g_assert_null(distill_secret_lookup("test-id"));
  g_autoptr(GError) error = NULL;
  g_assert_true(distill_secret_store("test-id", "A test", "s3cret\nwith [odd] = chars", &error));
  g_assert_no_error(error);
  g_assert_true(distill_secret_store("remote:http://gpu-box:8000/v1", NULL, "other", &error));
  g_autofree char *got = distill_secret_lookup("test-id");
  g_assert_cmpstr(got, ==, "s3cret\nwith [odd] = chars");
  g_autofree char *other = distill_secret_lookup("remote:http://gpu-box:8000/v1");
  g_assert_cmpstr(other, ==, "other");
  /* only the user may read the file */
  g_autofree char *path = distill_secret_file_path();
  GStatBuf st;
  g_assert_cmpint(g_stat(path, &st), ==, 0);
  g_assert_cmpint(st.st_mode & 0777, ==, 0600);
  g_assert_true(g_str_has_prefix(path, g_get_user_config_dir()));
  distill_secret_clear("test-id");
  g_assert_null(distill_secret_lookup("test-id"));
  g_autofree char *still = distill_secret_lookup("remote:http://gpu-box:8000/v1");
  g_assert_cmpstr(still, ==, "other");
  distill_secret_clear("remote:http://gpu-box:8000/v1");

  /* the server key: made once, then the same */
  gboolean generated = FALSE;
  g_autofree char *k1 = distill_api_key_load_or_create(&generated, &error);
  g_assert_no_error(error);
  g_assert_true(generated);
  g_assert_true(g_str_has_prefix(k1, "sk-distill-"));
  g_autofree char *k2 = distill_api_key_load_or_create(&generated, &error);
  g_assert_false(generated);
  g_assert_cmpstr(k1, ==, k2);
  g_autofree char *k3 = distill_api_key_renew(&error);
  g_assert_cmpstr(k3, !=, k1);
  g_autofree char *k4 = distill_secret_lookup(DISTILL_API_KEY_SECRET_ID);
  g_assert_cmpstr(k4, ==, k3);
  distill_secret_clear(DISTILL_API_KEY_SECRET_ID);
}

/* ==== a real server ==== */

typedef struct {
  DistillEngine *engine;
  DistillApiServer *server;
  SoupSession *session;
  char *base;
  GPtrArray *done_status; /* guint of each "request-done" */
  GArray *done_waiting;   /* guint: the requests still waiting in the server's queue at each "request-done" */
  GString *done_paths;    /* the path of each "request-done", one per line */
} Fixture;

static void on_request_done(DistillApiServer *s, const char *method, const char *path, guint status, Fixture *f)
{
  g_ptr_array_add(f->done_status, GUINT_TO_POINTER(status));
  const guint waiting = distill_api_server_get_n_waiting(s);
  g_array_append_val(f->done_waiting, waiting);
  g_string_append_printf(f->done_paths, "%s\n", path);
}

typedef struct {
  gboolean done, ok;
  GError *error;
} LoadWait;

static void loaded(GObject *source, GAsyncResult *res, gpointer data)
{
  LoadWait *lw = data;
  lw->ok = distill_engine_load_finish(DISTILL_ENGINE(source), res, &lw->error);
  lw->done = TRUE;
}

static gboolean load_done(gpointer data) { return ((LoadWait *)data)->done; }

static void fixture_init(Fixture *f, const char *models_dir, const char *model)
{
  memset(f, 0, sizeof *f);
  f->engine = distill_engine_new();
  if (model) {
    g_autofree char *file = g_strconcat(model, ".gguf", NULL);
    g_autofree char *path = g_build_filename(models_dir, file, NULL);
    LoadWait lw = {0};
    distill_engine_load_async(f->engine, path, NULL, loaded, &lw);
    g_assert_true(wait_for(load_done, &lw, 30000));
    g_assert_no_error(lw.error);
  }
  f->server = distill_api_server_new(f->engine);
  g_object_set(f->server, "models-folder", models_dir, "api-key", KEY, NULL);
  f->done_status = g_ptr_array_new();
  f->done_waiting = g_array_new(FALSE, FALSE, sizeof(guint));
  f->done_paths = g_string_new(NULL);
  g_signal_connect(f->server, "request-done", G_CALLBACK(on_request_done), f);
  g_autoptr(GError) error = NULL;
  g_assert_true(distill_api_server_start(f->server, 0, &error));
  g_assert_no_error(error);
  g_assert_true(distill_api_server_get_running(f->server));
  g_assert_cmpint(distill_api_server_get_port(f->server), >, 0);
  f->base = g_strdup_printf("http://127.0.0.1:%d", distill_api_server_get_port(f->server));
  g_autofree char *url = distill_api_server_get_url(f->server);
  g_autofree char *expect = g_strconcat(f->base, "/v1", NULL);
  g_assert_cmpstr(url, ==, expect);
  f->session = soup_session_new_with_options("timeout", 60, "proxy-resolver", NULL, NULL);
}

static void fixture_clear(Fixture *f)
{
  g_object_unref(f->session);
  distill_api_server_stop(f->server);
  g_assert_false(distill_api_server_get_running(f->server));
  g_object_unref(f->server);
  g_object_unref(f->engine);
  g_ptr_array_unref(f->done_status);
  g_array_unref(f->done_waiting);
  g_string_free(f->done_paths, TRUE);
  g_free(f->base);
}

typedef struct {
  gboolean done;
  guint status;
  GBytes *body;
  GError *error;
  SoupMessage *msg;
  JsonParser *parser;
  int *order;        /* optional: completion order */
  int order_value;
} Reply;

static void reply_free(Reply *r)
{
  if (!r) return;
  g_clear_pointer(&r->body, g_bytes_unref);
  g_clear_error(&r->error);
  g_clear_object(&r->msg);
  g_clear_object(&r->parser);
  g_free(r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Reply, reply_free)

static void on_read(GObject *src, GAsyncResult *res, gpointer data)
{
  Reply *r = data;
  r->body = soup_session_send_and_read_finish(SOUP_SESSION(src), res, &r->error);
  r->status = soup_message_get_status(r->msg);
  if (r->order) r->order_value = ++*r->order;
  r->done = TRUE;
}

static gboolean reply_done(gpointer data) { return ((Reply *)data)->done; }

static Reply *start_request(Fixture *f, const char *method, const char *path, const char *key, const char *body,
                            gssize len)
{
  Reply *r = g_new0(Reply, 1);
  g_autofree char *uri = g_strconcat(f->base, path, NULL);
  r->msg = soup_message_new(method, uri);
  if (key) {
    g_autofree char *auth = g_strconcat("Bearer ", key, NULL);
    soup_message_headers_replace(soup_message_get_request_headers(r->msg), "Authorization", auth);
  }
  if (body) {
    g_autoptr(GBytes) bytes = g_bytes_new(body, len < 0 ? strlen(body) : (gsize)len);
    soup_message_set_request_body_from_bytes(r->msg, "application/json", bytes);
  }
  soup_session_send_and_read_async(f->session, r->msg, G_PRIORITY_DEFAULT, NULL, on_read, r);
  return r;
}

static Reply *request(Fixture *f, const char *method, const char *path, const char *key, const char *body)
{
  Reply *r = start_request(f, method, path, key, body, -1);
  g_assert_true(wait_for(reply_done, r, 90000));
  g_assert_no_error(r->error);
  return r;
}

static const char *reply_text(Reply *r)
{
  return r->body ? g_bytes_get_data(r->body, NULL) : NULL;
}

static JsonObject *reply_json(Reply *r)
{
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data(r->body, &len);
  r->parser = json_parser_new();
  if (!json_parser_load_from_data(r->parser, data, (gssize)len, &error))
    g_error("not JSON (%s): %.*s", error->message, (int)len, data);
  JsonNode *root = json_parser_get_root(r->parser);
  g_assert_true(JSON_NODE_HOLDS_OBJECT(root));
  return json_node_get_object(root);
}

/* An error reply: status, OpenAI's shape, and the type/code. */
static void assert_error(Reply *r, guint status, const char *type, const char *code)
{
  if (r->status != status) g_error("expected %u, got %u: %s", status, r->status, reply_text(r));
  const char *ctype = soup_message_headers_get_content_type(soup_message_get_response_headers(r->msg), NULL);
  g_assert_cmpstr(ctype, ==, "application/json");
  JsonObject *o = reply_json(r);
  JsonObject *e = json_object_get_object_member(o, "error");
  g_assert_nonnull(e);
  g_assert_cmpuint(strlen(json_object_get_string_member(e, "message")), >, 10);
  g_assert_cmpstr(json_object_get_string_member(e, "type"), ==, type);
  if (code) g_assert_cmpstr(json_object_get_string_member_with_default(e, "code", NULL), ==, code);
}

static char *chat_body(const char *model, const char *question, int max_tokens, gboolean stream, const char *extra)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  if (model) {
    json_builder_set_member_name(b, "model");
    json_builder_add_string_value(b, model);
  }
  json_builder_set_member_name(b, "messages");
  json_builder_begin_array(b);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "role");
  json_builder_add_string_value(b, "user");
  json_builder_set_member_name(b, "content");
  json_builder_add_string_value(b, question);
  json_builder_end_object(b);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "temperature");
  json_builder_add_int_value(b, 0);
  json_builder_set_member_name(b, "seed");
  json_builder_add_int_value(b, 7);
  if (max_tokens > 0) {
    json_builder_set_member_name(b, "max_tokens");
    json_builder_add_int_value(b, max_tokens);
  }
  json_builder_set_member_name(b, "stream");
  json_builder_add_boolean_value(b, stream);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *json = json_to_string(root, FALSE);
  if (!extra) return g_steal_pointer(&json);
  json[strlen(json) - 1] = '\0'; /* add members before the closing brace */
  return g_strconcat(json, ",", extra, "}", NULL);
}

/* The engine's own answer, straight from DistillEngine (greedy). */
typedef struct {
  GString *text;
  gboolean finished;
} Direct;

static void direct_delta(DistillGeneration *g, const char *text, int tokens, Direct *d) { g_string_append(d->text, text); }
static void direct_finished(DistillGeneration *g, Direct *d) { d->finished = TRUE; }
static gboolean direct_done(gpointer data) { return ((Direct *)data)->finished; }

static char *engine_answer(DistillEngine *e, const char *question, const char *raw, int max_tokens,
                           DistillGenerationStats *stats, DistillStopReason *why)
{
  DistillGenerateRequest *req = distill_generate_request_new();
  if (raw) req->raw_prompt = g_strdup(raw);
  else distill_generate_request_add_message(req, "user", question);
  req->temperature = 0;
  req->seed = 7;
  req->max_tokens = max_tokens;
  if (max_tokens > 0) req->reserve = max_tokens;
  Direct d = {g_string_new(NULL), FALSE};
  g_autoptr(DistillGeneration) g = distill_engine_generate(e, req);
  g_signal_connect(g, "delta", G_CALLBACK(direct_delta), &d);
  g_signal_connect(g, "finished", G_CALLBACK(direct_finished), &d);
  g_assert_true(wait_for(direct_done, &d, 60000));
  if (stats) *stats = *distill_generation_get_stats(g);
  if (why) *why = distill_generation_get_stop_reason(g);
  return g_string_free(d.text, FALSE);
}

/* A streamed reply, parsed strictly: "data: {json}\n\n" events, "data: [DONE]\n\n" last, nothing
 * after. Returns the JSON objects in order (a JsonArray of them). */
static JsonArray *parse_sse(Reply *r)
{
  g_assert_cmpuint(r->status, ==, 200);
  const char *ctype = soup_message_headers_get_content_type(soup_message_get_response_headers(r->msg), NULL);
  g_assert_cmpstr(ctype, ==, "text/event-stream");
  gsize len = 0;
  const char *data = g_bytes_get_data(r->body, &len);
  g_assert_true(g_utf8_validate(data, (gssize)len, NULL));
  g_autofree char *text = g_strndup(data, len);
  g_assert_true(g_str_has_suffix(text, "data: [DONE]\n\n"));
  g_auto(GStrv) events = g_strsplit(text, "\n\n", -1);
  guint n = g_strv_length(events);
  g_assert_cmpuint(n, >=, 3);
  g_assert_cmpstr(events[n - 1], ==, ""); /* the text ends with the last event's blank line */
  g_assert_cmpstr(events[n - 2], ==, "data: [DONE]");
  JsonArray *out = json_array_new();
  for (guint i = 0; i + 2 < n; i++) {
    g_assert_true(g_str_has_prefix(events[i], "data: "));
    g_assert_null(strchr(events[i], '\n')); /* one line per event */
    g_autoptr(JsonParser) p = json_parser_new();
    g_autoptr(GError) error = NULL;
    if (!json_parser_load_from_data(p, events[i] + 6, -1, &error)) g_error("event %u is not JSON: %s", i, events[i]);
    g_assert_true(JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)));
    json_array_add_element(out, json_node_copy(json_parser_get_root(p)));
  }
  return out;
}

typedef struct {
  GString *content, *reasoning;
  char *finish_reason;
  gboolean has_usage;
  int prompt_tokens, completion_tokens, total_tokens;
  gboolean saw_reasoning_field;
} Streamed;

static void streamed_clear(Streamed *s)
{
  g_string_free(s->content, TRUE);
  g_string_free(s->reasoning, TRUE);
  g_free(s->finish_reason);
}

/* Put a chat (or completion) stream back together, checking each chunk's shape. */
static Streamed collect_stream(Reply *r, gboolean chat, gboolean include_usage)
{
  Streamed s = {g_string_new(NULL), g_string_new(NULL)};
  g_autoptr(JsonArray) events = parse_sse(r);
  guint n = json_array_get_length(events);
  const char *id = NULL;
  for (guint i = 0; i < n; i++) {
    JsonObject *o = json_array_get_object_element(events, i);
    g_assert_cmpstr(json_object_get_string_member(o, "object"), ==, chat ? "chat.completion.chunk" : "text_completion");
    if (id == NULL) id = json_object_get_string_member(o, "id");
    g_assert_cmpstr(json_object_get_string_member(o, "id"), ==, id); /* one id for the whole stream */
    JsonArray *choices = json_object_get_array_member(o, "choices");
    if (include_usage) {
      g_assert_true(json_object_has_member(o, "usage"));
      JsonNode *u = json_object_get_member(o, "usage");
      if (!JSON_NODE_HOLDS_NULL(u)) {
        g_assert_cmpuint(i, ==, n - 1); /* the usage chunk is the last one, with no choices */
        g_assert_cmpuint(json_array_get_length(choices), ==, 0);
        JsonObject *uo = json_node_get_object(u);
        s.has_usage = TRUE;
        s.prompt_tokens = (int)json_object_get_int_member(uo, "prompt_tokens");
        s.completion_tokens = (int)json_object_get_int_member(uo, "completion_tokens");
        s.total_tokens = (int)json_object_get_int_member(uo, "total_tokens");
        continue;
      }
    } else {
      g_assert_false(json_object_has_member(o, "usage"));
    }
    g_assert_cmpuint(json_array_get_length(choices), ==, 1);
    JsonObject *c = json_array_get_object_element(choices, 0);
    g_assert_cmpint(json_object_get_int_member(c, "index"), ==, 0);
    const char *finish = json_object_get_string_member_with_default(c, "finish_reason", NULL);
    if (finish) {
      g_assert_null(s.finish_reason); /* once */
      s.finish_reason = g_strdup(finish);
    } else {
      g_assert_null(s.finish_reason); /* nothing but usage after the finish */
    }
    if (chat) {
      JsonObject *delta = json_object_get_object_member(c, "delta");
      g_assert_nonnull(delta);
      if (i == 0) g_assert_cmpstr(json_object_get_string_member(delta, "role"), ==, "assistant");
      else g_assert_false(json_object_has_member(delta, "role"));
      if (json_object_has_member(delta, "content"))
        g_string_append(s.content, json_object_get_string_member(delta, "content"));
      if (json_object_has_member(delta, "reasoning_content")) {
        s.saw_reasoning_field = TRUE;
        g_string_append(s.reasoning, json_object_get_string_member(delta, "reasoning_content"));
      }
    } else {
      g_string_append(s.content, json_object_get_string_member(c, "text"));
    }
  }
  g_assert_nonnull(s.finish_reason);
  return s;
}

/* ---- the tests ---- */

static void test_models(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  g_autoptr(Reply) r = request(&f, "GET", "/v1/models", KEY, NULL);
  g_assert_cmpuint(r->status, ==, 200);
  JsonObject *o = reply_json(r);
  g_assert_cmpstr(json_object_get_string_member(o, "object"), ==, "list");
  JsonArray *data = json_object_get_array_member(o, "data");
  gboolean stories = FALSE, r1 = FALSE;
  for (guint i = 0; i < json_array_get_length(data); i++) {
    JsonObject *m = json_array_get_object_element(data, i);
    g_assert_cmpstr(json_object_get_string_member(m, "object"), ==, "model");
    g_assert_cmpint(json_object_get_int_member(m, "created"), >, 1600000000);
    g_assert_cmpstr(json_object_get_string_member(m, "owned_by"), ==, "distill");
    stories |= g_str_equal(json_object_get_string_member(m, "id"), STORIES);
    r1 |= g_str_equal(json_object_get_string_member(m, "id"), R1_MODEL);
  }
  g_assert_true(stories);
  g_assert_true(r1);

  g_autoptr(Reply) one = request(&f, "GET", "/v1/models/" STORIES, KEY, NULL);
  g_assert_cmpuint(one->status, ==, 200);
  g_assert_cmpstr(json_object_get_string_member(reply_json(one), "id"), ==, STORIES);
  g_autoptr(Reply) none = request(&f, "GET", "/v1/models/no-such-model", KEY, NULL);
  assert_error(none, 404, "invalid_request_error", "model_not_found");

  /* a loaded model outside the models folder is listed too */
  g_autofree char *empty = g_dir_make_tmp("distill-api-XXXXXX", NULL);
  distill_api_server_set_models_folder(f.server, empty);
  g_autoptr(Reply) loaded_only = request(&f, "GET", "/v1/models", KEY, NULL);
  JsonArray *only = json_object_get_array_member(reply_json(loaded_only), "data");
  g_assert_cmpuint(json_array_get_length(only), ==, 1);
  g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(only, 0), "id"), ==, STORIES);
  g_rmdir(empty);
  g_assert_cmpuint(distill_api_server_get_request_count(f.server), ==, 4);
  fixture_clear(&f);
}

static void test_auth(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  g_autofree char *body = chat_body(NULL, "Once upon a time", 4, FALSE, NULL);
  g_autoptr(Reply) missing = request(&f, "POST", "/v1/chat/completions", NULL, body);
  assert_error(missing, 401, "authentication_error", "invalid_api_key");
  g_assert_cmpstr(soup_message_headers_get_one(soup_message_get_response_headers(missing->msg), "WWW-Authenticate"), ==,
                  "Bearer");
  g_autoptr(Reply) wrong = request(&f, "POST", "/v1/chat/completions", "sk-distill-wrong", body);
  assert_error(wrong, 401, "authentication_error", "invalid_api_key");
  g_autoptr(Reply) prefix = request(&f, "GET", "/v1/models", "sk-distill-test-ke", NULL);
  assert_error(prefix, 401, "authentication_error", NULL);
  g_autoptr(Reply) ok = request(&f, "POST", "/v1/chat/completions", KEY, body);
  g_assert_cmpuint(ok->status, ==, 200);
  /* no key set: nothing gets in */
  distill_api_server_set_api_key(f.server, NULL);
  g_autoptr(Reply) nokey = request(&f, "GET", "/v1/models", KEY, NULL);
  assert_error(nokey, 401, "authentication_error", NULL);
  fixture_clear(&f);
}

static void test_bad_requests(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  g_autoptr(Reply) garbage = request(&f, "POST", "/v1/chat/completions", KEY, "{\"messages\": [oops");
  assert_error(garbage, 400, "invalid_request_error", "invalid_json");
  g_autoptr(Reply) empty = request(&f, "POST", "/v1/chat/completions", KEY, "");
  assert_error(empty, 400, "invalid_request_error", "invalid_json");
  g_autoptr(Reply) no_messages = request(&f, "POST", "/v1/chat/completions", KEY, "{\"model\":\"" STORIES "\"}");
  assert_error(no_messages, 400, "invalid_request_error", NULL);
  g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(reply_json(no_messages), "error"), "param"), ==,
                  "messages");
  g_autofree char *unknown = chat_body("no-such-model", "hi", 4, FALSE, NULL);
  g_autoptr(Reply) unknown_model = request(&f, "POST", "/v1/chat/completions", KEY, unknown);
  assert_error(unknown_model, 400, "invalid_request_error", "model_not_found");
  /* invalid UTF-8 and random bytes */
  Reply *bad_utf8 = start_request(&f, "POST", "/v1/chat/completions", KEY,
                                  "{\"messages\":[{\"role\":\"user\",\"content\":\"\xc3\x28\"}]}", -1);
  g_assert_true(wait_for(reply_done, bad_utf8, 30000));
  assert_error(bad_utf8, 400, "invalid_request_error", "invalid_json");
  reply_free(bad_utf8);
  guint8 noise[4096];
  GRand *rand = g_rand_new_with_seed(11);
  for (guint i = 0; i < sizeof noise; i++) noise[i] = (guint8)g_rand_int_range(rand, 0, 256);
  g_rand_free(rand);
  Reply *random = start_request(&f, "POST", "/v1/completions", KEY, (const char *)noise, sizeof noise);
  g_assert_true(wait_for(reply_done, random, 30000));
  assert_error(random, 400, "invalid_request_error", "invalid_json");
  reply_free(random);
  /* nesting that would overflow the parser's stack */
  gsize deep_len = 2 * 1024 * 1024;
  char *deep = g_malloc(deep_len);
  for (gsize i = 0; i < deep_len; i += 5) memcpy(deep + i, "{\"a\":", MIN(5, deep_len - i));
  Reply *nested = start_request(&f, "POST", "/v1/chat/completions", KEY, deep, (gssize)deep_len);
  g_assert_true(wait_for(reply_done, nested, 30000));
  g_free(deep);
  assert_error(nested, 400, "invalid_request_error", "invalid_json");
  reply_free(nested);
  /* paths and methods */
  g_autoptr(Reply) nowhere = request(&f, "GET", "/v1/nothing", KEY, NULL);
  assert_error(nowhere, 404, "invalid_request_error", "not_found");
  g_autoptr(Reply) root = request(&f, "GET", "/", NULL, NULL);
  assert_error(root, 404, "invalid_request_error", NULL);
  g_autoptr(Reply) get_chat = request(&f, "GET", "/v1/chat/completions", KEY, NULL);
  assert_error(get_chat, 405, "invalid_request_error", "method_not_allowed");
  g_assert_cmpstr(soup_message_headers_get_one(soup_message_get_response_headers(get_chat->msg), "Allow"), ==,
                  "POST, OPTIONS");
  g_autoptr(Reply) post_models = request(&f, "POST", "/v1/models", KEY, "{}");
  assert_error(post_models, 405, "invalid_request_error", NULL);
  /* a body over the limit is refused before it is read */
  gsize huge_len = DISTILL_API_MAX_BODY + 1024;
  char *huge = g_malloc(huge_len);
  memset(huge, ' ', huge_len);
  Reply *big = start_request(&f, "POST", "/v1/chat/completions", KEY, huge, (gssize)huge_len);
  g_assert_true(wait_for(reply_done, big, 60000));
  g_free(huge);
  if (big->error == NULL) assert_error(big, 413, "invalid_request_error", NULL);
  else g_assert_cmpuint(big->status, ==, 413); /* the server may close before the client is done sending */
  reply_free(big);
  /* the server still answers */
  g_autofree char *body = chat_body(STORIES, "Once upon a time", 3, FALSE, NULL);
  g_autoptr(Reply) ok = request(&f, "POST", "/v1/chat/completions", KEY, body);
  g_assert_cmpuint(ok->status, ==, 200);
  fixture_clear(&f);
}

/* A body sent without Content-Length (chunked), and a malformed request line, over a raw socket. */
static char *raw_exchange(Fixture *f, const char *request_text)
{
  g_autoptr(GSocketClient) client = g_socket_client_new();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) conn =
    g_socket_client_connect_to_host(client, "127.0.0.1", (guint16)distill_api_server_get_port(f->server), NULL, &error);
  g_assert_no_error(error);
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
  g_assert_true(g_output_stream_write_all(out, request_text, strlen(request_text), NULL, NULL, &error));
  /* the server runs on this thread: read without blocking it */
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(conn));
  GString *got = g_string_new(NULL);
  gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time() < end && strstr(got->str, "\r\n\r\n") == NULL) {
    g_main_context_iteration(NULL, FALSE);
    char buf[512];
    gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in), buf, sizeof buf, NULL, NULL);
    if (n > 0) g_string_append_len(got, buf, n);
    else if (n == 0) break;
    else g_usleep(1000);
  }
  return g_string_free(got, FALSE);
}

static void test_raw_http(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  g_autofree char *chunked = raw_exchange(&f, "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              "Authorization: Bearer " KEY "\r\nTransfer-Encoding: chunked\r\n\r\n"
                                              "5\r\nhello\r\n0\r\n\r\n");
  if (!g_str_has_prefix(chunked, "HTTP/1.1 411")) g_error("chunked request got: %s", chunked);
  g_autofree char *nonsense = raw_exchange(&f, "\x01\x02 garbage \xff\r\n\r\n");
  /* libsoup answers a request it cannot parse itself, as HTTP/1.0 */
  if (!g_str_has_prefix(nonsense, "HTTP/1.0 400") && !g_str_has_prefix(nonsense, "HTTP/1.1 400"))
    g_error("garbage request got: %s", nonsense);
  /* still serving */
  g_autoptr(Reply) r = request(&f, "GET", "/v1/models", KEY, NULL);
  g_assert_cmpuint(r->status, ==, 200);
  fixture_clear(&f);
}

static void check_usage(JsonObject *o, int prompt, int completion)
{
  JsonObject *u = json_object_get_object_member(o, "usage");
  g_assert_cmpint(json_object_get_int_member(u, "prompt_tokens"), ==, prompt);
  g_assert_cmpint(json_object_get_int_member(u, "completion_tokens"), ==, completion);
  g_assert_cmpint(json_object_get_int_member(u, "total_tokens"), ==, prompt + completion);
}

static void test_chat(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  const char *question = "Once upon a time";
  const int max = 40;
  DistillGenerationStats st;
  DistillStopReason why;
  g_autofree char *expected = engine_answer(f.engine, question, NULL, max, &st, &why);
  g_assert_cmpuint(strlen(expected), >, 20);
  const char *expected_finish = why == DISTILL_STOP_MAX_TOKENS ? "length" : "stop";

  /* not streamed */
  g_autofree char *body = chat_body(STORIES, question, max, FALSE, NULL);
  g_autoptr(Reply) r = request(&f, "POST", "/v1/chat/completions", KEY, body);
  g_assert_cmpuint(r->status, ==, 200);
  JsonObject *o = reply_json(r);
  g_assert_cmpstr(json_object_get_string_member(o, "object"), ==, "chat.completion");
  g_assert_cmpstr(json_object_get_string_member(o, "model"), ==, STORIES);
  g_assert_true(g_str_has_prefix(json_object_get_string_member(o, "id"), "chatcmpl-"));
  JsonObject *choice = json_array_get_object_element(json_object_get_array_member(o, "choices"), 0);
  JsonObject *message = json_object_get_object_member(choice, "message");
  g_assert_cmpstr(json_object_get_string_member(message, "role"), ==, "assistant");
  g_assert_cmpstr(json_object_get_string_member(message, "content"), ==, expected);
  g_assert_false(json_object_has_member(message, "reasoning_content")); /* not a reasoning model */
  g_assert_cmpstr(json_object_get_string_member(choice, "finish_reason"), ==, expected_finish);
  check_usage(o, st.prompt_tokens, st.gen_tokens);

  /* streamed, with usage */
  g_autofree char *sbody = chat_body(STORIES, question, max, TRUE, "\"stream_options\":{\"include_usage\":true}");
  g_autoptr(Reply) s = request(&f, "POST", "/v1/chat/completions", KEY, sbody);
  Streamed got = collect_stream(s, TRUE, TRUE);
  g_assert_cmpstr(got.content->str, ==, expected);
  g_assert_cmpstr(got.reasoning->str, ==, "");
  g_assert_false(got.saw_reasoning_field);
  g_assert_cmpstr(got.finish_reason, ==, expected_finish);
  g_assert_true(got.has_usage);
  g_assert_cmpint(got.prompt_tokens, ==, st.prompt_tokens);
  g_assert_cmpint(got.completion_tokens, ==, st.gen_tokens);
  g_assert_cmpint(got.total_tokens, ==, st.prompt_tokens + st.gen_tokens);
  streamed_clear(&got);

  /* streamed without usage: no "usage" member at all */
  g_autofree char *plain = chat_body(NULL, question, max, TRUE, NULL); /* no model: the loaded one */
  g_autoptr(Reply) p = request(&f, "POST", "/v1/chat/completions", KEY, plain);
  Streamed got2 = collect_stream(p, TRUE, FALSE);
  g_assert_cmpstr(got2.content->str, ==, expected);
  streamed_clear(&got2);
  fixture_clear(&f);
}

static void test_length_and_stop(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  g_object_set(f.engine, "ignore-eog", TRUE, NULL); /* the stories end early otherwise */
  const char *question = "Once upon a time";
  g_autofree char *expected = engine_answer(f.engine, question, NULL, 60, NULL, NULL);

  /* max_tokens: cut, "length", exactly that many tokens */
  g_autofree char *body = chat_body(STORIES, question, 5, FALSE, NULL);
  g_autoptr(Reply) r = request(&f, "POST", "/v1/chat/completions", KEY, body);
  JsonObject *o = reply_json(r);
  JsonObject *choice = json_array_get_object_element(json_object_get_array_member(o, "choices"), 0);
  g_assert_cmpstr(json_object_get_string_member(choice, "finish_reason"), ==, "length");
  g_assert_cmpint(json_object_get_int_member(json_object_get_object_member(o, "usage"), "completion_tokens"), ==, 5);
  const char *five = json_object_get_string_member(json_object_get_object_member(choice, "message"), "content");
  g_assert_true(g_str_has_prefix(expected, five));
  g_assert_cmpuint(strlen(five), <, strlen(expected));

  /* a stop string from the middle of the known answer: everything before it, "stop" */
  gsize cut = strlen(expected) / 2;
  while (cut < strlen(expected) && expected[cut] != ' ') cut++;
  g_assert_cmpuint(cut + 4, <, strlen(expected));
  g_autofree char *stop = g_strndup(expected + cut, 4); /* " xyz" */
  const char *first = strstr(expected, stop);
  g_autofree char *before = g_strndup(expected, (gsize)(first - expected));
  for (int stream = 0; stream <= 1; stream++) {
    g_autoptr(JsonBuilder) sb = json_builder_new();
    json_builder_begin_array(sb);
    json_builder_add_string_value(sb, "never appears 123");
    json_builder_add_string_value(sb, stop);
    json_builder_end_array(sb);
    g_autoptr(JsonNode) stop_node = json_builder_get_root(sb);
    g_autofree char *stop_json = json_to_string(stop_node, FALSE);
    g_autofree char *extra = g_strconcat("\"stop\":", stop_json, NULL);
    g_autofree char *sbody = chat_body(STORIES, question, 60, stream, extra);
    g_autoptr(Reply) s = request(&f, "POST", "/v1/chat/completions", KEY, sbody);
    if (stream) {
      Streamed got = collect_stream(s, TRUE, FALSE);
      g_assert_cmpstr(got.content->str, ==, before);
      g_assert_cmpstr(got.finish_reason, ==, "stop");
      streamed_clear(&got);
    } else {
      JsonObject *so = reply_json(s);
      JsonObject *sc = json_array_get_object_element(json_object_get_array_member(so, "choices"), 0);
      g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(sc, "message"), "content"), ==, before);
      g_assert_cmpstr(json_object_get_string_member(sc, "finish_reason"), ==, "stop");
    }
  }
  g_assert_false(distill_engine_is_busy(f.engine));
  fixture_clear(&f);
}

static void test_completions(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  const char *prompt = "Once upon a time, there was a";
  DistillGenerationStats st;
  DistillStopReason why;
  g_autofree char *expected = engine_answer(f.engine, NULL, prompt, 30, &st, &why);
  g_assert_cmpuint(strlen(expected), >, 10);
  /* raw: no chat template, so it differs from the chat answer to the same text */
  g_autofree char *chat = engine_answer(f.engine, prompt, NULL, 30, NULL, NULL);
  g_assert_cmpstr(chat, !=, expected);
  const char *finish = why == DISTILL_STOP_MAX_TOKENS ? "length" : "stop";

  g_autofree char *body = g_strdup_printf("{\"model\":\"%s\",\"prompt\":\"%s\",\"max_tokens\":30,\"temperature\":0}",
                                          STORIES, prompt);
  g_autoptr(Reply) r = request(&f, "POST", "/v1/completions", KEY, body);
  g_assert_cmpuint(r->status, ==, 200);
  JsonObject *o = reply_json(r);
  g_assert_cmpstr(json_object_get_string_member(o, "object"), ==, "text_completion");
  g_assert_true(g_str_has_prefix(json_object_get_string_member(o, "id"), "cmpl-"));
  JsonObject *choice = json_array_get_object_element(json_object_get_array_member(o, "choices"), 0);
  g_assert_cmpstr(json_object_get_string_member(choice, "text"), ==, expected);
  g_assert_cmpstr(json_object_get_string_member(choice, "finish_reason"), ==, finish);
  check_usage(o, st.prompt_tokens, st.gen_tokens);

  g_autofree char *sbody = g_strdup_printf("{\"model\":\"%s\",\"prompt\":\"%s\",\"max_tokens\":30,\"temperature\":0,"
                                           "\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
                                           STORIES, prompt);
  g_autoptr(Reply) s = request(&f, "POST", "/v1/completions", KEY, sbody);
  Streamed got = collect_stream(s, FALSE, TRUE);
  g_assert_cmpstr(got.content->str, ==, expected);
  g_assert_cmpstr(got.finish_reason, ==, finish);
  g_assert_cmpint(got.completion_tokens, ==, st.gen_tokens);
  streamed_clear(&got);
  fixture_clear(&f);
}

/* An R1 template (tiny-qwen2): the text up to </think> is reasoning_content. The server loads
 * the model the request names, and the next request switches back. */
static void test_reasoning(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  const char *question = "What is 2 + 2?";
  g_autofree char *body = chat_body(R1_MODEL, question, 48, FALSE, NULL);
  g_autoptr(Reply) r = request(&f, "POST", "/v1/chat/completions", KEY, body);
  g_assert_cmpuint(r->status, ==, 200);
  g_autofree char *r1_file = g_strconcat(R1_MODEL, ".gguf", NULL);
  g_assert_true(g_str_has_suffix(distill_engine_get_model_path(f.engine), r1_file));
  g_assert_true(distill_engine_get_is_r1(f.engine));
  JsonObject *o = reply_json(r);
  g_assert_cmpstr(json_object_get_string_member(o, "model"), ==, R1_MODEL);
  JsonObject *choice = json_array_get_object_element(json_object_get_array_member(o, "choices"), 0);
  JsonObject *message = json_object_get_object_member(choice, "message");
  g_assert_true(json_object_has_member(message, "reasoning_content"));
  const char *reasoning = json_object_get_string_member_with_default(message, "reasoning_content", NULL);
  const char *content = json_object_get_string_member_with_default(message, "content", NULL);

  /* the engine's raw text, split the same way the app splits it */
  g_autofree char *raw = engine_answer(f.engine, question, NULL, 48, NULL, NULL);
  g_autofree char *want_reasoning = NULL, *want_answer = NULL;
  distill_reasoning_parse(raw, TRUE, &want_reasoning, &want_answer);
  g_assert_cmpuint(strlen(want_reasoning), >, 0);
  g_autofree char *got_reasoning = g_strchomp(g_strdup(reasoning ? reasoning : ""));
  g_assert_cmpstr(got_reasoning, ==, want_reasoning);
  g_assert_cmpstr(content ? content : "", ==, want_answer);
  if (*want_answer == '\0') g_assert_null(content); /* vLLM: no answer after the reasoning → null */

  /* streamed: the same split, as deltas */
  g_autofree char *sbody = chat_body(R1_MODEL, question, 48, TRUE, NULL);
  g_autoptr(Reply) s = request(&f, "POST", "/v1/chat/completions", KEY, sbody);
  Streamed got = collect_stream(s, TRUE, FALSE);
  g_assert_true(got.saw_reasoning_field);
  g_assert_cmpstr(g_strchomp(got.reasoning->str), ==, want_reasoning);
  g_assert_cmpstr(got.content->str, ==, want_answer);
  streamed_clear(&got);

  /* and back to the stories model */
  g_autofree char *back = chat_body(STORIES, "Once upon a time", 5, FALSE, NULL);
  g_autoptr(Reply) b = request(&f, "POST", "/v1/chat/completions", KEY, back);
  g_assert_cmpuint(b->status, ==, 200);
  g_assert_false(distill_engine_get_is_r1(f.engine));
  fixture_clear(&f);
}

static void test_context_overflow(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  /* far more than the 2048-token context of the stories model */
  GString *q = g_string_new(NULL);
  for (int i = 0; i < 3000; i++) g_string_append(q, "the cat sat on the mat. ");
  g_autofree char *body = chat_body(STORIES, q->str, 8, FALSE, NULL);
  g_autofree char *sbody = chat_body(STORIES, q->str, 8, TRUE, NULL);
  g_string_free(q, TRUE);
  g_autoptr(Reply) r = request(&f, "POST", "/v1/chat/completions", KEY, body);
  assert_error(r, 400, "invalid_request_error", "context_length_exceeded");
  g_autoptr(Reply) s = request(&f, "POST", "/v1/chat/completions", KEY, sbody);
  assert_error(s, 400, "invalid_request_error", "context_length_exceeded");
  /* a history that only fits by leaving turns out is refused too (an API client wants them all) */
  GString *turns = g_string_new("{\"model\":\"" STORIES "\",\"max_tokens\":8,\"messages\":[");
  for (int i = 0; i < 200; i++)
    g_string_append_printf(turns, "%s{\"role\":\"%s\",\"content\":\"the dog ran to the big red ball and saw a bird\"}",
                           i ? "," : "", i % 2 ? "assistant" : "user");
  g_string_append(turns, "]}");
  g_autoptr(Reply) t = request(&f, "POST", "/v1/chat/completions", KEY, turns->str);
  g_string_free(turns, TRUE);
  assert_error(t, 400, "invalid_request_error", "context_length_exceeded");
  g_assert_false(distill_engine_is_busy(f.engine));
  fixture_clear(&f);
}

static void test_cors(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  const char *origin = "http://localhost:3000";
  /* off by default */
  g_autofree char *models_uri = g_strconcat(f.base, "/v1/models", NULL);
  g_autoptr(SoupMessage) m1 = soup_message_new("GET", models_uri);
  Reply *r1 = g_new0(Reply, 1);
  r1->msg = g_object_ref(m1);
  soup_message_headers_replace(soup_message_get_request_headers(m1), "Origin", origin);
  soup_message_headers_replace(soup_message_get_request_headers(m1), "Authorization", "Bearer " KEY);
  soup_session_send_and_read_async(f.session, m1, G_PRIORITY_DEFAULT, NULL, on_read, r1);
  g_assert_true(wait_for(reply_done, r1, 30000));
  g_assert_cmpuint(r1->status, ==, 200);
  g_assert_null(soup_message_headers_get_one(soup_message_get_response_headers(m1), "Access-Control-Allow-Origin"));
  reply_free(r1);

  const char *origins[] = {" http://localhost:3000/ ", "https://example.org", NULL};
  distill_api_server_set_allowed_origins(f.server, origins);
  struct {
    const char *method;
    const char *origin;
    guint status;
    gboolean allowed;
  } cases[] = {
    {"GET", origin, 200, TRUE},
    {"GET", "http://evil.example", 200, FALSE},
    {"OPTIONS", origin, 204, TRUE},
    {"OPTIONS", "http://evil.example", 204, FALSE},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *uri = g_strconcat(f.base, cases[i].method[0] == 'G' ? "/v1/models" : "/v1/chat/completions", NULL);
    SoupMessage *m = soup_message_new(cases[i].method, uri);
    SoupMessageHeaders *h = soup_message_get_request_headers(m);
    soup_message_headers_replace(h, "Origin", cases[i].origin);
    if (cases[i].method[0] == 'G') soup_message_headers_replace(h, "Authorization", "Bearer " KEY);
    else {
      soup_message_headers_replace(h, "Access-Control-Request-Method", "POST");
      soup_message_headers_replace(h, "Access-Control-Request-Headers", "authorization, content-type");
    }
    Reply *r = g_new0(Reply, 1);
    r->msg = m;
    soup_session_send_and_read_async(f.session, m, G_PRIORITY_DEFAULT, NULL, on_read, r);
    g_assert_true(wait_for(reply_done, r, 30000));
    g_assert_cmpuint(r->status, ==, cases[i].status);
    SoupMessageHeaders *out = soup_message_get_response_headers(m);
    const char *acao = soup_message_headers_get_one(out, "Access-Control-Allow-Origin");
    if (cases[i].allowed) g_assert_cmpstr(acao, ==, cases[i].origin);
    else g_assert_null(acao);
    if (cases[i].method[0] == 'O' && cases[i].allowed) {
      g_assert_nonnull(strstr(soup_message_headers_get_one(out, "Access-Control-Allow-Headers"), "Authorization"));
      g_assert_nonnull(strstr(soup_message_headers_get_one(out, "Access-Control-Allow-Methods"), "POST"));
    }
    reply_free(r);
  }
  fixture_clear(&f);
}

/* ---- a client that goes away ---- */
typedef struct {
  gboolean headers;
  gboolean got_data;
  GInputStream *stream;
  GError *error;
  char buf[256];
} Partial;

static void on_partial_read(GObject *src, GAsyncResult *res, gpointer data)
{
  Partial *p = data;
  gssize n = g_input_stream_read_finish(G_INPUT_STREAM(src), res, &p->error);
  p->got_data = n > 0;
}

static void on_partial_sent(GObject *src, GAsyncResult *res, gpointer data)
{
  Partial *p = data;
  p->stream = soup_session_send_finish(SOUP_SESSION(src), res, &p->error);
  p->headers = TRUE;
  if (p->stream) g_input_stream_read_async(p->stream, p->buf, sizeof p->buf, G_PRIORITY_DEFAULT, NULL, on_partial_read, p);
}

static gboolean partial_data(gpointer data) { return ((Partial *)data)->got_data || ((Partial *)data)->error; }
static gboolean engine_idle(gpointer data) { return !distill_engine_is_busy(DISTILL_ENGINE(data)); }
static gboolean engine_busy(gpointer data) { return distill_engine_is_busy(DISTILL_ENGINE(data)); }
static gboolean saw_499(gpointer data)
{
  Fixture *f = data;
  for (guint i = 0; i < f->done_status->len; i++)
    if (GPOINTER_TO_UINT(g_ptr_array_index(f->done_status, i)) == 499) return TRUE;
  return FALSE;
}

static void test_disconnect(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, R1_MODEL);
  /* no end of text: it would run until its 4096-token context is full */
  g_object_set(f.engine, "ignore-eog", TRUE, NULL);
  g_autofree char *body = chat_body(R1_MODEL, "Tell me a long story.", 0, TRUE, NULL);
  g_autofree char *uri = g_strconcat(f.base, "/v1/chat/completions", NULL);
  g_autoptr(SoupMessage) m = soup_message_new("POST", uri);
  soup_message_headers_replace(soup_message_get_request_headers(m), "Authorization", "Bearer " KEY);
  g_autoptr(GBytes) bytes = g_bytes_new(body, strlen(body));
  soup_message_set_request_body_from_bytes(m, "application/json", bytes);
  Partial p = {0};
  soup_session_send_async(f.session, m, G_PRIORITY_DEFAULT, NULL, on_partial_sent, &p);
  g_assert_true(wait_for(partial_data, &p, 30000));
  g_assert_no_error(p.error);
  g_assert_true(distill_engine_is_busy(f.engine));
  /* go away mid-stream */
  gint64 gone = g_get_monotonic_time();
  g_object_unref(p.stream);
  soup_session_abort(f.session);
  g_assert_true(wait_for(engine_idle, f.engine, 10000));
  g_assert_true(wait_for(saw_499, &f, 5000)); /* the generation was stopped, not finished */
  g_test_message("idle %.0f ms after the client left", (g_get_monotonic_time() - gone) / 1000.0);

  /* the server goes on with the next request */
  g_object_set(f.engine, "ignore-eog", FALSE, NULL);
  g_autofree char *next = chat_body(R1_MODEL, "Hi", 4, FALSE, NULL);
  g_autoptr(Reply) r = request(&f, "POST", "/v1/chat/completions", KEY, next);
  g_assert_cmpuint(r->status, ==, 200);
  fixture_clear(&f);
}

static gboolean server_waiting_1(gpointer s) { return distill_api_server_get_n_waiting(s) >= 1; }
static gboolean server_waiting_2(gpointer s) { return distill_api_server_get_n_waiting(s) >= 2; }

/* Three requests at once: all answered, one after the other, in the order they came. The
 * order is the server's: the paths of its "request-done" (A and B chat, C a completion) and
 * the requests still waiting at each (2, 1, 0). The order in which the replies end on the
 * client says nothing: it may finish reading A's long stream after B's short answer. */
static void test_queue(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  /* three connections at once (libsoup opens two per host unless told) */
  g_object_unref(f.session);
  f.session = soup_session_new_with_options("timeout", 60, "proxy-resolver", NULL, "max-conns-per-host", 4, NULL);
  g_object_set(f.engine, "ignore-eog", TRUE, NULL);
  g_autofree char *want_a = engine_answer(f.engine, "Once upon a time", NULL, 1500, NULL, NULL);
  g_autofree char *want_b = engine_answer(f.engine, "The dog", NULL, 10, NULL, NULL);
  int order = 0;
  g_autofree char *a = chat_body(STORIES, "Once upon a time", 1500, TRUE, NULL);
  g_autofree char *b = chat_body(STORIES, "The dog", 10, FALSE, NULL);
  Reply *ra = start_request(&f, "POST", "/v1/chat/completions", KEY, a, -1);
  ra->order = &order;
  /* B comes while A runs (the client's two connections could otherwise arrive either way) */
  g_assert_true(wait_for(engine_busy, f.engine, 30000));
  Reply *rb = start_request(&f, "POST", "/v1/chat/completions", KEY, b, -1);
  rb->order = &order;
  g_assert_true(wait_for(server_waiting_1, f.server, 30000));
  g_autofree char *c = g_strdup_printf("{\"model\":\"%s\",\"prompt\":\"A cat\",\"max_tokens\":5,\"temperature\":0}",
                                       STORIES);
  Reply *rc = start_request(&f, "POST", "/v1/completions", KEY, c, -1);
  rc->order = &order;
  /* B and C both arrived while A ran */
  g_assert_true(wait_for(server_waiting_2, f.server, 30000));
  g_assert_cmpuint(f.done_waiting->len, ==, 0);
  g_assert_true(wait_for(reply_done, ra, 60000));
  g_assert_true(wait_for(reply_done, rb, 60000));
  g_assert_true(wait_for(reply_done, rc, 60000));
  g_assert_cmpuint(rc->status, ==, 200);
  g_assert_cmpstr(f.done_paths->str, ==, "/v1/chat/completions\n/v1/chat/completions\n/v1/completions\n");
  g_assert_cmpuint(f.done_waiting->len, ==, 3);
  g_assert_cmpuint(g_array_index(f.done_waiting, guint, 0), ==, 2); /* A done, B and C waiting */
  g_assert_cmpuint(g_array_index(f.done_waiting, guint, 1), ==, 1);
  g_assert_cmpuint(g_array_index(f.done_waiting, guint, 2), ==, 0);
  g_test_message("replies ended on the client in the order A %d, B %d, C %d", ra->order_value, rb->order_value,
                 rc->order_value);
  reply_free(rc);
  Streamed got = collect_stream(ra, TRUE, FALSE);
  g_assert_cmpstr(got.content->str, ==, want_a);
  streamed_clear(&got);
  JsonObject *o = reply_json(rb);
  JsonObject *choice = json_array_get_object_element(json_object_get_array_member(o, "choices"), 0);
  g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(choice, "message"), "content"), ==, want_b);
  reply_free(ra);
  reply_free(rb);
  fixture_clear(&f);
}

static void test_port_in_use(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, NULL);
  g_autoptr(DistillApiServer) other = distill_api_server_new(f.engine);
  g_autoptr(GError) error = NULL;
  int port = distill_api_server_get_port(f.server);
  g_assert_false(distill_api_server_start(other, port, &error));
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_autofree char *num = g_strdup_printf("%d", port);
  g_assert_nonnull(strstr(error->message, num));
  g_assert_cmpstr(distill_api_server_get_last_error(other), ==, error->message);
  g_assert_false(distill_api_server_get_running(other));
  /* no model loaded and none named: a clear 400 */
  g_autofree char *body = chat_body(NULL, "hi", 4, FALSE, NULL);
  g_autoptr(Reply) r = request(&f, "POST", "/v1/chat/completions", KEY, body);
  assert_error(r, 400, "invalid_request_error", "model_not_found");
  /* stop and start again on the same port */
  distill_api_server_stop(f.server);
  g_assert_true(distill_api_server_start(f.server, port, NULL));
  g_assert_cmpint(distill_api_server_get_port(f.server), ==, port);
  fixture_clear(&f);
}

/* ---- distill serve ---- */
typedef struct {
  GString *out;
  gboolean eof;
  GDataInputStream *in;
} Lines;

static void on_line(GObject *src, GAsyncResult *res, gpointer data)
{
  Lines *l = data;
  gsize len = 0;
  char *line = g_data_input_stream_read_line_finish_utf8(G_DATA_INPUT_STREAM(src), res, &len, NULL);
  if (!line) {
    l->eof = TRUE;
    return;
  }
  g_string_append_printf(l->out, "%s\n", line);
  g_free(line);
  g_data_input_stream_read_line_async(l->in, G_PRIORITY_DEFAULT, NULL, on_line, l);
}

static gboolean has_url(gpointer data) { return strstr(((Lines *)data)->out->str, "Press Ctrl+C") || ((Lines *)data)->eof; }
static gboolean lines_eof(gpointer data) { return ((Lines *)data)->eof; }

static int free_port(void)
{
  g_autoptr(GSocket) s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new(lo, 0);
  g_assert_true(g_socket_bind(s, any, TRUE, NULL));
  g_autoptr(GSocketAddress) bound = g_socket_get_local_address(s, NULL);
  return g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
}

static void test_serve_cli(void)
{
  NEED_FIXTURES(dir);
  const char *bin = g_getenv("DISTILL_BIN");
  if (!bin) {
    g_test_skip("DISTILL_BIN not set");
    return;
  }
  g_autofree char *model = g_build_filename(dir, "stories260K.gguf", NULL);
  distill_secret_clear(DISTILL_API_KEY_SECRET_ID); /* the first start makes a key */
  int port = free_port();
  g_autofree char *port_s = g_strdup_printf("%d", port);
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv(launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv(launcher, "DISTILL_API_KEY");
  g_autoptr(GError) error = NULL;
  const char *argv[] = {bin, "serve", "--port", port_s, "--model", model, NULL};
  g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawnv(launcher, argv, &error);
  g_assert_no_error(error);
  Lines l = {g_string_new(NULL), FALSE, g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc))};
  g_data_input_stream_read_line_async(l.in, G_PRIORITY_DEFAULT, NULL, on_line, &l);
  g_assert_true(wait_for(has_url, &l, 30000));
  g_test_message("%s", l.out->str);
  g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d/v1", port);
  g_assert_nonnull(strstr(l.out->str, url));
  /* a new key was made and printed once */
  const char *key_at = strstr(l.out->str, "sk-distill-");
  g_assert_nonnull(key_at);
  g_autofree char *key = g_strndup(key_at, strcspn(key_at, "\n"));
  gsize key_offset = (gsize)(key_at - l.out->str); /* the string grows (and moves) as lines come */
  g_autofree char *stored = distill_secret_lookup(DISTILL_API_KEY_SECRET_ID);
  g_assert_cmpstr(key, ==, stored);

  Fixture f = {0};
  f.base = g_strdup_printf("http://127.0.0.1:%d", port);
  f.session = soup_session_new_with_options("timeout", 30, "proxy-resolver", NULL, NULL);
  g_autoptr(Reply) models = request(&f, "GET", "/v1/models", key, NULL);
  g_assert_cmpuint(models->status, ==, 200);
  g_assert_nonnull(strstr(reply_text(models), "\"stories260K\""));
  g_autofree char *body = chat_body(NULL, "Once upon a time", 8, FALSE, NULL);
  g_autoptr(Reply) chat = request(&f, "POST", "/v1/chat/completions", key, body);
  g_assert_cmpuint(chat->status, ==, 200);
  g_autoptr(Reply) denied = request(&f, "GET", "/v1/models", "sk-distill-nope", NULL);
  g_assert_cmpuint(denied->status, ==, 401);
  g_object_unref(f.session);
  g_free(f.base);

  g_subprocess_send_signal(proc, SIGTERM);
  g_assert_true(wait_for(lines_eof, &l, 10000));
  g_assert_true(g_subprocess_wait(proc, NULL, NULL));
  g_assert_true(g_subprocess_get_if_exited(proc));
  g_assert_cmpint(g_subprocess_get_exit_status(proc), ==, 0);
  /* one log line per request, and the stored key was never printed again */
  g_assert_nonnull(strstr(l.out->str, "POST /v1/chat/completions 200"));
  g_assert_nonnull(strstr(l.out->str, "GET /v1/models 401"));
  g_assert_true(strstr(l.out->str + key_offset + 1, "sk-distill-") == NULL);
  g_object_unref(l.in);
  g_string_free(l.out, TRUE);

  /* the second start uses the stored key and says where it is, without printing it */
  const char *argv_key[] = {bin, "serve", "--port", port_s, "--model", model, NULL};
  g_autoptr(GSubprocess) again = g_subprocess_launcher_spawnv(launcher, argv_key, &error);
  Lines l2 = {g_string_new(NULL), FALSE, g_data_input_stream_new(g_subprocess_get_stdout_pipe(again))};
  g_data_input_stream_read_line_async(l2.in, G_PRIORITY_DEFAULT, NULL, on_line, &l2);
  g_assert_true(wait_for(has_url, &l2, 30000));
  g_assert_null(strstr(l2.out->str, "sk-distill-"));
  g_assert_nonnull(strstr(l2.out->str, "stored"));
  g_subprocess_send_signal(again, SIGINT);
  g_assert_true(wait_for(lines_eof, &l2, 10000));
  g_assert_true(g_subprocess_wait(again, NULL, NULL));
  g_assert_true(g_subprocess_get_if_exited(again));
  g_assert_cmpint(g_subprocess_get_exit_status(again), ==, 0);
  g_object_unref(l2.in);
  g_string_free(l2.out, TRUE);

  /* usage errors and a model that is not there */
  const char *bad[] = {bin, "serve", "--model", "no-such-model", "--port", port_s, NULL};
  g_autoptr(GSubprocess) fail = g_subprocess_launcher_spawnv(launcher, bad, &error);
  g_assert_true(g_subprocess_wait(fail, NULL, NULL));
  g_assert_true(g_subprocess_get_if_exited(fail));
  g_assert_cmpint(g_subprocess_get_exit_status(fail), ==, 1);
  const char *extra[] = {bin, "serve", "stray", NULL};
  g_autoptr(GSubprocess) usage = g_subprocess_launcher_spawnv(launcher, extra, &error);
  g_assert_true(g_subprocess_wait(usage, NULL, NULL));
  g_assert_true(g_subprocess_get_if_exited(usage));
  g_assert_cmpint(g_subprocess_get_exit_status(usage), ==, 2);
}

/* ---- the Preferences page, driving a server that follows the settings ---- */
static const char *row_subtitle(DistillPrefsServer *page, const char *name)
{
  return adw_action_row_get_subtitle(ADW_ACTION_ROW(distill_prefs_server_get_widget(page, name)));
}

static void test_prefs_page(void)
{
  if (!gtk_is_initialized() && !gtk_init_check()) {
    g_test_skip("no display");
    return;
  }
  adw_init();
  distill_secret_clear(DISTILL_API_KEY_SECRET_ID);
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_settings_reset(settings, "api-server-enabled");
  g_settings_reset(settings, "api-cors-origins");
  g_assert_false(g_settings_get_boolean(settings, "api-server-enabled")); /* off by default */
  g_autoptr(DistillEngine) engine = distill_engine_new();
  g_autoptr(DistillApiServer) server = distill_api_server_new(engine);
  distill_api_server_follow_settings(server, settings);
  g_assert_false(distill_api_server_get_running(server));
  GtkWidget *w = distill_prefs_server_new(settings, server);
  g_object_ref_sink(w);
  DistillPrefsServer *page = DISTILL_PREFS_SERVER(w);
  g_assert_cmpstr(adw_preferences_page_get_title(ADW_PREFERENCES_PAGE(w)), ==, "API Server");
  g_assert_nonnull(strstr(row_subtitle(page, "status"), "Off"));
  g_assert_nonnull(strstr(row_subtitle(page, "key"), "None yet"));

  /* pick the port, turn it on: the server runs there with a new stored key */
  int port = free_port();
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(distill_prefs_server_get_widget(page, "port")), port);
  g_assert_cmpint(g_settings_get_int(settings, "api-server-port"), ==, port);
  gtk_switch_set_active(GTK_SWITCH(distill_prefs_server_get_widget(page, "enabled")), TRUE);
  g_assert_true(g_settings_get_boolean(settings, "api-server-enabled"));
  g_assert_true(distill_api_server_get_running(server));
  g_assert_cmpint(distill_api_server_get_port(server), ==, port);
  g_assert_nonnull(strstr(row_subtitle(page, "status"), "Running"));
  g_autofree char *url = g_strdup_printf("http://127.0.0.1:%d/v1", port);
  g_assert_cmpstr(row_subtitle(page, "url"), ==, url);
  g_autofree char *stored = distill_secret_lookup(DISTILL_API_KEY_SECRET_ID);
  g_assert_nonnull(stored);
  g_assert_cmpstr(distill_api_server_get_api_key(server), ==, stored);
  /* the key is hidden until revealed */
  g_assert_null(strstr(row_subtitle(page, "key"), "sk-distill-"));
  gtk_toggle_button_set_active(GTK_TOGGLE_BUTTON(distill_prefs_server_get_widget(page, "reveal")), TRUE);
  g_assert_cmpstr(row_subtitle(page, "key"), ==, stored);
  g_assert_nonnull(strstr(gtk_label_get_text(GTK_LABEL(distill_prefs_server_get_widget(page, "storage"))), "secrets.ini"));

  /* a new key: stored, used by the server, shown */
  g_signal_emit_by_name(distill_prefs_server_get_widget(page, "new-key"), "clicked");
  g_autofree char *renewed = distill_secret_lookup(DISTILL_API_KEY_SECRET_ID);
  g_assert_cmpstr(renewed, !=, stored);
  g_assert_cmpstr(distill_api_server_get_api_key(server), ==, renewed);
  g_assert_cmpstr(row_subtitle(page, "key"), ==, renewed);

  /* origins, separated by commas and blanks */
  GtkWidget *origins = distill_prefs_server_get_widget(page, "origins");
  gtk_editable_set_text(GTK_EDITABLE(origins), "http://a.example,  https://b.example ");
  g_signal_emit_by_name(origins, "apply");
  g_auto(GStrv) saved = g_settings_get_strv(settings, "api-cors-origins");
  g_assert_cmpstrv(saved, ((const char *[]){"http://a.example", "https://b.example", NULL}));
  g_auto(GStrv) allowed = NULL;
  g_object_get(server, "allowed-origins", &allowed, NULL);
  g_assert_cmpstrv(allowed, ((const char *[]){"http://a.example", "https://b.example", NULL}));

  /* a port another program holds: the status says so in plain words */
  g_autoptr(DistillApiServer) squatter = distill_api_server_new(engine);
  g_assert_true(distill_api_server_start(squatter, 0, NULL));
  int taken = distill_api_server_get_port(squatter);
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(distill_prefs_server_get_widget(page, "port")), taken);
  g_assert_false(distill_api_server_get_running(server));
  g_autofree char *taken_s = g_strdup_printf("%d", taken);
  g_assert_nonnull(strstr(row_subtitle(page, "status"), "already used"));
  g_assert_nonnull(strstr(row_subtitle(page, "status"), taken_s));
  distill_api_server_stop(squatter);

  /* off again */
  gtk_switch_set_active(GTK_SWITCH(distill_prefs_server_get_widget(page, "enabled")), FALSE);
  g_assert_false(distill_api_server_get_running(server));
  g_assert_nonnull(strstr(row_subtitle(page, "status"), "Off"));
  g_object_unref(w);
  g_settings_reset(settings, "api-server-enabled");
  g_settings_reset(settings, "api-server-port");
  g_settings_reset(settings, "api-cors-origins");
  distill_secret_clear(DISTILL_API_KEY_SECRET_ID);
}

/* Many requests at once: "max-waiting" wait (3 here; 32 by default), the next gets 503; when the
 * client goes away the waiting ones leave the queue and the running one stops. */
static guint count_status(Fixture *f, guint status)
{
  guint n = 0;
  for (guint i = 0; i < f->done_status->len; i++) n += GPOINTER_TO_UINT(g_ptr_array_index(f->done_status, i)) == status;
  return n;
}

static gboolean all_done(gpointer data)
{
  GPtrArray *replies = data;
  for (guint i = 0; i < replies->len; i++)
    if (!((Reply *)g_ptr_array_index(replies, i))->done) return FALSE;
  return TRUE;
}

static gboolean three_waiting(gpointer data) { return distill_api_server_get_n_waiting(data) == 3; }
static gboolean four_gone(gpointer data) { return count_status(data, 499) == 4; }

static void test_busy(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, R1_MODEL);
  g_object_set(f.engine, "ignore-eog", TRUE, NULL);
  guint max = 0;
  g_object_get(f.server, "max-waiting", &max, NULL);
  g_assert_cmpuint(max, ==, 32);
  g_object_set(f.server, "max-waiting", 3, NULL);
  g_object_unref(f.session); /* one that opens a connection per request */
  f.session = soup_session_new_with_options("timeout", 60, "proxy-resolver", NULL, "max-conns", 16, "max-conns-per-host", 16, NULL);
  g_autofree char *body = chat_body(R1_MODEL, "Tell me a long story.", 0, TRUE, NULL);
  g_autoptr(GCancellable) cancel = g_cancellable_new();
  g_autoptr(GPtrArray) replies = g_ptr_array_new_with_free_func((GDestroyNotify)reply_free);
  gint64 t0 = g_get_monotonic_time();
  for (int i = 0; i < 4; i++) {
    Reply *r = g_new0(Reply, 1);
    g_autofree char *uri = g_strconcat(f.base, "/v1/chat/completions", NULL);
    r->msg = soup_message_new("POST", uri);
    soup_message_headers_replace(soup_message_get_request_headers(r->msg), "Authorization", "Bearer " KEY);
    g_autoptr(GBytes) bytes = g_bytes_new(body, strlen(body));
    soup_message_set_request_body_from_bytes(r->msg, "application/json", bytes);
    soup_session_send_and_read_async(f.session, r->msg, G_PRIORITY_DEFAULT, cancel, on_read, r);
    g_ptr_array_add(replies, r);
    if (i == 0) g_assert_true(wait_for(engine_busy, f.engine, 30000));
  }
  /* once the 3 others wait, one more is refused at once */
  g_assert_true(wait_for(three_waiting, f.server, 30000));
  g_autoptr(Reply) extra = request(&f, "POST", "/v1/chat/completions", KEY, body);
  assert_error(extra, 503, "server_error", "server_busy");
  g_assert_cmpstr(soup_message_headers_get_one(soup_message_get_response_headers(extra->msg), "Retry-After"), ==, "5");
  g_test_message("queue full after %.0f ms", (g_get_monotonic_time() - t0) / 1000.0);
  g_assert_true(distill_engine_is_busy(f.engine));
  /* the client gives up on all of them */
  g_cancellable_cancel(cancel);
  g_assert_true(wait_for(all_done, replies, 30000));
  g_assert_true(wait_for(engine_idle, f.engine, 10000));
  g_assert_true(wait_for(four_gone, &f, 10000));
  fixture_clear(&f);
}

/* Stopping the server while a request's model loads: the load ends (or is cancelled) and nothing
 * is left pointing at the dropped request. */
static gboolean engine_loading(gpointer data) { return distill_engine_get_state(data) == DISTILL_ENGINE_LOADING; }
static gboolean engine_settled(gpointer data) { return distill_engine_get_state(data) != DISTILL_ENGINE_LOADING; }

static void test_stop_while_loading(void)
{
  NEED_FIXTURES(dir);
  Fixture f;
  fixture_init(&f, dir, STORIES);
  g_autofree char *body = chat_body(R1_MODEL, "Hi", 4, FALSE, NULL);
  Reply *r = start_request(&f, "POST", "/v1/chat/completions", KEY, body, -1);
  g_assert_true(wait_for(engine_loading, f.engine, 30000));
  distill_api_server_stop(f.server);
  g_assert_true(wait_for(engine_settled, f.engine, 30000)); /* loaded, or the load was cancelled */
  g_assert_true(wait_for(reply_done, r, 30000));
  g_assert_nonnull(r->error); /* the connection was closed without an answer */
  reply_free(r);
  /* and it starts again */
  g_assert_true(distill_api_server_start(f.server, 0, NULL));
  g_free(f.base);
  f.base = g_strdup_printf("http://127.0.0.1:%d", distill_api_server_get_port(f.server));
  g_autoptr(Reply) again = request(&f, "POST", "/v1/chat/completions", KEY, body);
  g_assert_cmpuint(again->status, ==, 200);
  fixture_clear(&f);
}

int main(int argc, char **argv)
{
  /* secrets in a file of the test's own config folder, never the user's keyring */
  g_setenv("DISTILL_SECRET_BACKEND", "file", TRUE);
  g_autofree char *config = g_dir_make_tmp("distill-api-config-XXXXXX", NULL);
  g_setenv("XDG_CONFIG_HOME", config, TRUE); /* before GLib reads it; `distill serve` inherits it */
  /* These tests compare a reply with the engine's own answer to the same question, asked from
   * another cache state (a request before it, or none). Where the engine uses OpenBLAS for
   * F32/F16 prompt batches (a fast x86 core), a prompt evaluated as one batch of 32 tokens or
   * more is within float rounding of the same prompt evaluated in parts, not its bits (DESIGN
   * §4, engine/cpu/blas.h), and a long greedy answer from the F32 test model can then part
   * after a near-tie. The engine's own tests cover BLAS; here the kernels keep every bit. */
  g_setenv("STILL_BLAS", "0", TRUE);
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/api/secret", test_secret);
  g_test_add_func("/api/models", test_models);
  g_test_add_func("/api/auth", test_auth);
  g_test_add_func("/api/bad-requests", test_bad_requests);
  g_test_add_func("/api/raw-http", test_raw_http);
  g_test_add_func("/api/chat", test_chat);
  g_test_add_func("/api/length-and-stop", test_length_and_stop);
  g_test_add_func("/api/completions", test_completions);
  g_test_add_func("/api/reasoning", test_reasoning);
  g_test_add_func("/api/context-overflow", test_context_overflow);
  g_test_add_func("/api/cors", test_cors);
  g_test_add_func("/api/disconnect", test_disconnect);
  g_test_add_func("/api/queue", test_queue);
  g_test_add_func("/api/busy", test_busy);
  g_test_add_func("/api/stop-while-loading", test_stop_while_loading);
  g_test_add_func("/api/port-in-use", test_port_in_use);
  g_test_add_func("/api/serve", test_serve_cli);
  g_test_add_func("/api/prefs-page", test_prefs_page);
  int status = g_test_run();
  g_autofree char *secrets = distill_secret_file_path();
  g_unlink(secrets);
  g_autofree char *secrets_dir = g_path_get_dirname(secrets);
  g_rmdir(secrets_dir);
  g_rmdir(config);
  return status;
}
