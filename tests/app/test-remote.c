/* test-remote.c — remote engines against a local SoupServer that plays vLLM
 * (reasoning_content deltas, usage in the last chunk), Ollama (<think> in the
 * text, no usage, CRLF lines, comments, "data:" without the space) and
 * broken servers (500, 401, an error inside the stream, a stream that ends
 * without [DONE], a dropped connection, a stream that goes silent, one that
 * never ends, to be stopped). Then the chat page with a remote model, the
 * model picker with local and remote models, and Preferences → Connections.
 *
 * With DISTILL_SCREENSHOTS=DIR set, PNGs of the picker and the Connections
 * page are written there (remote-picker.png, connections.png). */
#include "config.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>
#include <unistd.h>

#include "distill-chat-page.h"
#include "distill-message-row.h"
#include "distill-model-picker.h"
#include "distill-preferences.h"
#include "distill-prefs-connections.h"
#include "distill-reasoning.h"
#include "distill-remote.h"
#include "distill-resources.h"
#include "distill-secret.h"
#include "test-util.h"

static char *tmp_dir;

/* ==== the fake server ===================================================================== */

typedef enum { END_DONE, END_NO_DONE, END_DROP, END_STALL, END_FOREVER } EndKind;

typedef struct {
  SoupServer *server;
  char *base; /* http://127.0.0.1:PORT/v1 */
  char *api_key;
  char *last_body; /* the last chat request's JSON */
  char *last_auth;
  guint chats;
  gboolean client_gone; /* a streaming answer's connection went away before it ended */
  guint interval_ms;
  GList *jobs;
  guint lists;       /* GET /v1/models answered */
  guint shows;       /* POST /api/show answered (Ollama's model details) */
  char *extra_model; /* listed after the two models, without a context length */
} Fake;

typedef struct {
  Fake *fake;
  SoupServerMessage *msg;
  GPtrArray *pieces; /* GBytes */
  guint next;
  EndKind end;
  guint source;
  gboolean ended;
} Job;

static Fake fake;

static void job_free(Job *job)
{
  if (job->source) g_source_remove(job->source);
  g_ptr_array_unref(job->pieces);
  g_free(job);
}

static void job_finished(SoupServerMessage *msg, Job *job)
{
  if (!job->ended) job->fake->client_gone = TRUE;
  job->fake->jobs = g_list_remove(job->fake->jobs, job);
  job->msg = NULL;
  g_signal_handlers_disconnect_by_data(msg, job);
  job_free(job);
}

static gboolean job_tick(gpointer data)
{
  Job *job = data;
  SoupMessageBody *body = soup_server_message_get_response_body(job->msg);
  if (job->next < job->pieces->len) {
    soup_message_body_append_bytes(body, job->pieces->pdata[job->next++]);
    soup_server_message_unpause(job->msg);
    return G_SOURCE_CONTINUE;
  }
  switch (job->end) {
  case END_FOREVER: {
    static const char more[] = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" more\"}}]}\n\n";
    soup_message_body_append(body, SOUP_MEMORY_STATIC, more, strlen(more));
    soup_server_message_unpause(job->msg);
    return G_SOURCE_CONTINUE;
  }
  case END_STALL: job->source = 0; return G_SOURCE_REMOVE; /* keep the connection open, say nothing */
  case END_DROP: {
    job->ended = TRUE;
    GSocket *socket = soup_server_message_get_socket(job->msg);
    if (socket) g_socket_shutdown(socket, TRUE, TRUE, NULL);
    soup_message_body_complete(body);
    soup_server_message_unpause(job->msg);
    job->source = 0;
    return G_SOURCE_REMOVE;
  }
  default:
    job->ended = TRUE;
    soup_message_body_complete(body);
    soup_server_message_unpause(job->msg);
    job->source = 0;
    return G_SOURCE_REMOVE;
  }
}

static void add_piece(GPtrArray *pieces, const char *text)
{
  g_ptr_array_add(pieces, g_bytes_new(text, strlen(text)));
}

static char *chunk(const char *model, const char *field, const char *text, const char *finish)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "id");
  json_builder_add_string_value(b, "chatcmpl-1");
  json_builder_set_member_name(b, "object");
  json_builder_add_string_value(b, "chat.completion.chunk");
  json_builder_set_member_name(b, "model");
  json_builder_add_string_value(b, model);
  json_builder_set_member_name(b, "choices");
  json_builder_begin_array(b);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "index");
  json_builder_add_int_value(b, 0);
  json_builder_set_member_name(b, "delta");
  json_builder_begin_object(b);
  if (field) {
    json_builder_set_member_name(b, field);
    json_builder_add_string_value(b, text);
  }
  json_builder_end_object(b);
  json_builder_set_member_name(b, "finish_reason");
  if (finish) json_builder_add_string_value(b, finish);
  else json_builder_add_null_value(b);
  json_builder_end_object(b);
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return json_to_string(root, FALSE);
}

/* vLLM with --reasoning-parser deepseek_r1: role first (with an empty
 * content), reasoning_content deltas, content deltas, a usage chunk, [DONE]. */
static GPtrArray *vllm_pieces(void)
{
  GPtrArray *p = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  const char *m = "vllm-r1";
  char *c;
  c = chunk(m, "content", "", NULL);
  add_piece(p, "data: "), add_piece(p, c), add_piece(p, "\n\n"), g_free(c);
  const char *reasoning[] = {"\nThe user asks 2+2.", " That is 4", ", surely."};
  for (guint i = 0; i < G_N_ELEMENTS(reasoning); i++) {
    c = chunk(m, "reasoning_content", reasoning[i], NULL);
    g_autofree char *line = g_strdup_printf("data: %s\n\n", c);
    add_piece(p, line);
    g_free(c);
  }
  const char *answer[] = {"\n\nThe answer", " is **4**", "."};
  for (guint i = 0; i < G_N_ELEMENTS(answer); i++) {
    c = chunk(m, "content", answer[i], i + 1 == G_N_ELEMENTS(answer) ? "stop" : NULL);
    g_autofree char *line = g_strdup_printf("data: %s\n\n", c);
    add_piece(p, line);
    g_free(c);
  }
  add_piece(p, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"vllm-r1\",\"choices\":[],"
               "\"usage\":{\"prompt_tokens\":17,\"total_tokens\":29,\"completion_tokens\":12}}\n\n");
  add_piece(p, "data: [DONE]\n\n");
  return p;
}

static const char vllm_text[] = "<think>\n\nThe user asks 2+2. That is 4, surely.\n</think>\n\n\n\nThe answer is **4**.";

/* Ollama's /v1 with an R1 model: the tags are in the text; CRLF line ends, a
 * comment, "data:" without the space, no usage. */
static GPtrArray *ollama_pieces(void)
{
  GPtrArray *p = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  const char *texts[] = {"<think>", "\nHmm, two", " and two.\n", "</think>\n\n", "Four", "."};
  add_piece(p, ": ping\r\n\r\n");
  for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
    g_autofree char *c = chunk("deepseek-r1:7b", "content", texts[i], i + 1 == G_N_ELEMENTS(texts) ? "stop" : NULL);
    g_autofree char *line = g_strdup_printf(i % 2 ? "data:%s\r\n\r\n" : "data: %s\r\n\r\n", c);
    add_piece(p, line);
  }
  add_piece(p, "data: [DONE]\r\n\r\n");
  return p;
}

static const char ollama_text[] = "<think>\nHmm, two and two.\n</think>\n\nFour.";

static void answer_json(SoupServerMessage *msg, guint status, const char *json)
{
  soup_server_message_set_status(msg, status, NULL);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, json, strlen(json));
}

static void start_stream(Fake *f, SoupServerMessage *msg, GPtrArray *pieces, EndKind end)
{
  soup_server_message_set_status(msg, 200, NULL);
  SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);
  soup_message_headers_set_content_type(h, "text/event-stream", NULL);
  soup_message_headers_set_encoding(h, SOUP_ENCODING_CHUNKED);
  Job *job = g_new0(Job, 1);
  job->fake = f;
  job->msg = msg;
  job->pieces = pieces;
  job->end = end;
  g_signal_connect(msg, "finished", G_CALLBACK(job_finished), job);
  f->jobs = g_list_prepend(f->jobs, job);
  job->source = g_timeout_add(f->interval_ms, job_tick, job);
  soup_server_message_pause(msg);
}

static void handle(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  Fake *f = data;
  const char *auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
  if (f->api_key) {
    g_autofree char *want = g_strconcat("Bearer ", f->api_key, NULL);
    if (g_strcmp0(auth, want) != 0) {
      answer_json(msg, 401, "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\"}}");
      return;
    }
  }
  if (g_str_equal(path, "/v1/models") && g_str_equal(soup_server_message_get_method(msg), "GET")) {
    f->lists++;
    g_autofree char *extra =
      f->extra_model ? g_strdup_printf(",{\"id\":\"%s\",\"object\":\"model\"}", f->extra_model) : g_strdup("");
    g_autofree char *json =
      g_strdup_printf("{\"object\":\"list\",\"data\":[{\"id\":\"vllm-r1\",\"object\":\"model\",\"owned_by\":\"vllm\","
                      "\"max_model_len\":32768},{\"id\":\"deepseek-r1:7b\",\"object\":\"model\",\"owned_by\":\"library\"}%s]}",
                      extra);
    answer_json(msg, 200, json);
    return;
  }
  if (g_str_equal(path, "/api/show") && g_str_equal(soup_server_message_get_method(msg), "POST")) {
    /* Ollama: the model's details; the OpenAI listing has no context length */
    f->shows++;
    g_autoptr(GBytes) asked = soup_message_body_flatten(soup_server_message_get_request_body(msg));
    g_autoptr(JsonParser) p = json_parser_new();
    const char *model = NULL;
    if (json_parser_load_from_data(p, g_bytes_get_data(asked, NULL), (gssize)g_bytes_get_size(asked), NULL) &&
        JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
      model = json_object_get_string_member_with_default(json_node_get_object(json_parser_get_root(p)), "model", NULL);
    if (g_strcmp0(model, "deepseek-r1:7b") == 0)
      answer_json(msg, 200,
                  "{\"parameters\":\"stop \\\"<｜end▁of▁sentence｜>\\\"\",\"model_info\":{\"general.architecture\":\"qwen2\","
                  "\"general.parameter_count\":7615616512,\"qwen2.context_length\":131072,\"qwen2.block_count\":28}}");
    else
      answer_json(msg, 404, "{\"error\":\"model not found\"}");
    return;
  }
  if (!g_str_equal(path, "/v1/chat/completions")) {
    answer_json(msg, 404, "{\"detail\":\"Not Found\"}");
    return;
  }
  SoupMessageBody *req = soup_server_message_get_request_body(msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten(req);
  g_free(f->last_body);
  f->last_body = g_strndup(g_bytes_get_data(bytes, NULL), g_bytes_get_size(bytes));
  g_free(f->last_auth);
  f->last_auth = g_strdup(auth);
  f->chats++;
  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_data(parser, f->last_body, -1, NULL));
  const char *model = json_object_get_string_member(json_node_get_object(json_parser_get_root(parser)), "model");
  if (g_str_equal(model, "vllm-r1")) return start_stream(f, msg, vllm_pieces(), END_DONE);
  if (g_str_equal(model, "deepseek-r1:7b")) return start_stream(f, msg, ollama_pieces(), END_DONE);
  if (g_str_equal(model, "fail-500")) {
    answer_json(msg, 500, "{\"object\":\"error\",\"message\":\"The engine crashed.\",\"type\":\"InternalServerError\",\"code\":500}");
    return;
  }
  if (g_str_equal(model, "fail-503-text")) {
    soup_server_message_set_status(msg, 503, NULL);
    soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_STATIC, "overloaded, try later", 21);
    return;
  }
  GPtrArray *partial = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  g_autofree char *c1 = chunk(model, "content", "Partial", NULL);
  g_autofree char *c2 = chunk(model, "content", " answer", NULL);
  g_autofree char *l1 = g_strdup_printf("data: %s\n\n", c1);
  g_autofree char *l2 = g_strdup_printf("data: %s\n\n", c2);
  add_piece(partial, l1);
  add_piece(partial, l2);
  if (g_str_equal(model, "error-event")) {
    add_piece(partial, "data: {\"error\":{\"message\":\"CUDA out of memory.\",\"code\":500}}\n\n");
    add_piece(partial, "data: [DONE]\n\n");
    return start_stream(f, msg, partial, END_DONE);
  }
  if (g_str_equal(model, "no-done")) return start_stream(f, msg, partial, END_NO_DONE);
  if (g_str_equal(model, "drop")) return start_stream(f, msg, partial, END_DROP);
  if (g_str_equal(model, "stall")) return start_stream(f, msg, partial, END_STALL);
  if (g_str_equal(model, "forever")) return start_stream(f, msg, partial, END_FOREVER);
  g_ptr_array_unref(partial);
  answer_json(msg, 404, "{\"error\":{\"message\":\"The model does not exist.\"}}");
}

static void fake_start(void)
{
  fake.server = soup_server_new(NULL, NULL);
  fake.interval_ms = 5;
  soup_server_add_handler(fake.server, NULL, handle, &fake, NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true(soup_server_listen_local(fake.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error));
  g_assert_no_error(error);
  GSList *uris = soup_server_get_uris(fake.server);
  fake.base = g_strdup_printf("http://127.0.0.1:%d/v1", g_uri_get_port(uris->data));
  g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
}

/* ==== driving the main loop ================================================================= */

/* ==== the stream parser ======================================================================= */

static void collect_event(const char *event, const char *data, gpointer user)
{
  g_string_append_printf(user, "[%s|%s]", event, data);
}

static void test_sse_parser(void)
{
  /* CR, LF, CRLF; a CRLF cut between two feeds; comments; multi-line data; event types; no space */
  static const char text[] = ": comment\r\n"
                             "data: one\r\n\r\n"
                             "data:two\n"
                             "data:  three\n\n"
                             "event: error\rdata: bad\r\r"
                             "id: 7\nretry: 10\ndata\n\n"
                             "data: last";
  static const char want[] = "[message|one][message|two\n three][error|bad][message|][message|last]";
  for (gsize step = 1; step <= sizeof text; step++) {
    g_autoptr(GString) got = g_string_new(NULL);
    g_autoptr(DistillSseParser) p = distill_sse_parser_new(collect_event, got);
    for (gsize i = 0; i < sizeof text - 1; i += step) distill_sse_parser_feed(p, text + i, MIN(step, sizeof text - 1 - i));
    distill_sse_parser_finish(p);
    g_assert_cmpstr(got->str, ==, want);
  }
}

static char *join_pieces(GPtrArray *pieces)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < pieces->len; i++) {
    gsize n;
    const char *d = g_bytes_get_data(pieces->pdata[i], &n);
    g_string_append_len(s, d, (gssize)n);
  }
  return g_string_free(s, FALSE);
}

/* The whole body at once and byte by byte give the same text. */
static char *stream_text(const char *body, gsize step, DistillRemoteStream **out_stream)
{
  DistillRemoteStream *s = distill_remote_stream_new();
  GString *out = g_string_new(NULL);
  gsize len = strlen(body);
  for (gsize i = 0; i < len; i += step) distill_remote_stream_feed(s, body + i, MIN(step, len - i), out);
  distill_remote_stream_finish(s, out);
  *out_stream = s;
  return g_string_free(out, FALSE);
}

static void test_stream_vllm(void)
{
  g_autoptr(GPtrArray) pieces = vllm_pieces();
  g_autofree char *body = join_pieces(pieces);
  for (gsize step = 1; step <= 64; step = step * 2 + 1) {
    DistillRemoteStream *s;
    g_autofree char *text = stream_text(body, step, &s);
    g_assert_cmpstr(text, ==, vllm_text);
    g_assert_true(distill_remote_stream_is_done(s));
    g_assert_null(distill_remote_stream_get_error(s));
    g_assert_cmpstr(distill_remote_stream_get_finish_reason(s), ==, "stop");
    int prompt, completion, reasoning;
    g_assert_true(distill_remote_stream_get_usage(s, &prompt, &completion, &reasoning));
    g_assert_cmpint(prompt, ==, 17);
    g_assert_cmpint(completion, ==, 12);
    int rchunks;
    g_assert_cmpint(distill_remote_stream_get_chunks(s, &rchunks), ==, 6);
    g_assert_cmpint(rchunks, ==, 3);
    distill_remote_stream_free(s);
    /* what the message row will show */
    g_autofree char *r = NULL, *a = NULL;
    distill_reasoning_parse(text, FALSE, &r, &a);
    g_assert_cmpstr(r, ==, "The user asks 2+2. That is 4, surely.");
    g_assert_cmpstr(a, ==, "The answer is **4**.");
  }
}

static void test_stream_ollama(void)
{
  g_autoptr(GPtrArray) pieces = ollama_pieces();
  g_autofree char *body = join_pieces(pieces);
  for (gsize step = 1; step <= 64; step = step * 2 + 1) {
    DistillRemoteStream *s;
    g_autofree char *text = stream_text(body, step, &s);
    g_assert_cmpstr(text, ==, ollama_text);
    g_assert_true(distill_remote_stream_is_done(s));
    g_assert_false(distill_remote_stream_get_usage(s, NULL, NULL, NULL));
    g_assert_cmpint(distill_remote_stream_get_chunks(s, NULL), ==, 6);
    distill_remote_stream_free(s);
    g_autofree char *r = NULL, *a = NULL;
    distill_reasoning_parse(text, FALSE, &r, &a);
    g_assert_cmpstr(r, ==, "Hmm, two and two.");
    g_assert_cmpstr(a, ==, "Four.");
  }
}

/* Ollama names the split-off reasoning "reasoning"; a server that ignores
 * stream: true answers with one JSON object; an error object inside the stream. */
static void test_stream_variants(void)
{
  DistillRemoteStream *s;
  g_autofree char *t1 = stream_text("data: {\"choices\":[{\"delta\":{\"reasoning\":\"Think.\"}}]}\n\n"
                                    "data: {\"choices\":[{\"delta\":{\"content\":\"Done.\"},\"finish_reason\":\"length\"}]}\n\n"
                                    "data: [DONE]\n\n",
                                    7, &s);
  g_assert_cmpstr(t1, ==, "<think>\nThink.\n</think>\n\nDone.");
  g_assert_cmpstr(distill_remote_stream_get_finish_reason(s), ==, "length");
  distill_remote_stream_free(s);

  g_autofree char *t2 = stream_text("  {\"id\":\"x\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"reasoning_content\":"
                                    "\"Why.\",\"content\":\"Because.\"},\"finish_reason\":\"stop\"}],"
                                    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}",
                                    5, &s);
  g_assert_cmpstr(t2, ==, "<think>\nWhy.\n</think>\n\nBecause.");
  g_assert_true(distill_remote_stream_is_done(s));
  g_assert_true(distill_remote_stream_get_usage(s, NULL, NULL, NULL));
  distill_remote_stream_free(s);

  g_autofree char *t3 = stream_text("data: {\"choices\":[{\"delta\":{\"content\":\"Half\"}}]}\n\n"
                                    "data: {\"error\":\"model runner crashed\"}\n\n",
                                    1, &s);
  g_assert_cmpstr(t3, ==, "Half");
  g_assert_cmpstr(distill_remote_stream_get_error(s), ==, "model runner crashed");
  g_assert_false(distill_remote_stream_is_done(s));
  distill_remote_stream_free(s);
}

static char *raw_r1_text(const char *body, gsize step)
{
  g_autoptr(DistillRemoteStream) s = distill_remote_stream_new();
  distill_remote_stream_set_raw_r1(s, TRUE);
  GString *out = g_string_new(NULL);
  gsize len = strlen(body);
  for (gsize i = 0; i < len; i += step) distill_remote_stream_feed(s, body + i, MIN(step, len - i), out);
  distill_remote_stream_finish(s, out);
  g_assert_true(distill_remote_stream_is_done(s));
  return g_string_free(out, FALSE);
}

/* An R1 model behind a server without a reasoning parser: its text starts
 * inside the reasoning (the template opened it) and has only </think>. */
static void test_stream_raw_r1(void)
{
  g_assert_true(distill_remote_model_is_r1("deepseek-ai/DeepSeek-R1"));
  g_assert_true(distill_remote_model_is_r1("DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf"));
  g_assert_true(distill_remote_model_is_r1("deepseek-r1:7b"));
  g_assert_false(distill_remote_model_is_r1("qwen2.5:7b"));
  g_assert_false(distill_remote_model_is_r1("gpt-4o"));
  static const char raw[] = "data: {\"choices\":[{\"delta\":{\"content\":\"\\n\"}}]}\n\n"
                            "data: {\"choices\":[{\"delta\":{\"content\":\"Let me\"}}]}\n\n"
                            "data: {\"choices\":[{\"delta\":{\"content\":\" think.\\n</think>\\n\\n\"}}]}\n\n"
                            "data: {\"choices\":[{\"delta\":{\"content\":\"Four.\"}}]}\n\ndata: [DONE]\n\n";
  /* the model writes its own <think> (Ollama): nothing is added, even with the tag cut in pieces */
  static const char own[] = "data: {\"choices\":[{\"delta\":{\"content\":\" <th\"}}]}\n\n"
                            "data: {\"choices\":[{\"delta\":{\"content\":\"ink>Hmm.</think>\"}}]}\n\n"
                            "data: {\"choices\":[{\"delta\":{\"content\":\"Ok.\"}}]}\n\ndata: [DONE]\n\n";
  for (gsize step = 1; step <= 64; step = step * 2 + 1) {
    g_autofree char *t = raw_r1_text(raw, step);
    g_assert_cmpstr(t, ==, "<think>\n\nLet me think.\n</think>\n\nFour.");
    g_autofree char *r = NULL, *a = NULL;
    distill_reasoning_parse(t, FALSE, &r, &a);
    g_assert_cmpstr(r, ==, "Let me think.");
    g_assert_cmpstr(a, ==, "Four.");
    g_autofree char *t2 = raw_r1_text(own, step);
    g_assert_cmpstr(t2, ==, " <think>Hmm.</think>Ok.");
    /* a server that splits the reasoning off: the guess does not apply */
    g_autoptr(GPtrArray) pieces = vllm_pieces();
    g_autofree char *body = join_pieces(pieces);
    g_autofree char *t3 = raw_r1_text(body, step);
    g_assert_cmpstr(t3, ==, vllm_text);
  }
}

static void test_request_body(void)
{
  g_autoptr(DistillGenerateRequest) req = distill_generate_request_new();
  distill_generate_request_add_message(req, "system", "Be brief.");
  distill_generate_request_add_message(req, "user", "2+2?");
  /* a remote answer (with its tags) and a local R1 one (no opening tag): only the answers go back */
  distill_generate_request_add_message(req, "assistant", "<think>\nadd\n</think>\n\n4.");
  distill_generate_request_add_message(req, "user", "3+3?");
  distill_generate_request_add_message(req, "assistant", "adding\n</think>\n\n6.");
  distill_generate_request_add_message(req, "user", "And 4+4?");
  req->temperature = 0.6;
  req->max_tokens = 100;
  g_autofree char *body = distill_remote_build_request_body("m", req);
  g_autoptr(JsonParser) parser = json_parser_new();
  g_assert_true(json_parser_load_from_data(parser, body, -1, NULL));
  JsonObject *o = json_node_get_object(json_parser_get_root(parser));
  g_assert_cmpstr(json_object_get_string_member(o, "model"), ==, "m");
  g_assert_true(json_object_get_boolean_member(o, "stream"));
  g_assert_true(json_object_get_boolean_member(json_object_get_object_member(o, "stream_options"), "include_usage"));
  g_assert_cmpfloat_with_epsilon(json_object_get_double_member(o, "temperature"), 0.6, 1e-9);
  g_assert_false(json_object_has_member(o, "top_p"));
  g_assert_false(json_object_has_member(o, "seed"));
  g_assert_cmpint(json_object_get_int_member(o, "max_tokens"), ==, 100);
  JsonArray *msgs = json_object_get_array_member(o, "messages");
  g_assert_cmpint(json_array_get_length(msgs), ==, 6);
  g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(msgs, 2), "content"), ==, "4.");
  g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(msgs, 4), "content"), ==, "6.");
  g_assert_cmpstr(json_object_get_string_member(json_array_get_object_element(msgs, 5), "content"), ==, "And 4+4?");
}

static void test_urls(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = distill_remote_normalize_base_url("  gpu-box:8000/v1/ ", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(a, ==, "http://gpu-box:8000/v1");
  g_autofree char *b = distill_remote_normalize_base_url("https://api.example.com/v1", NULL);
  g_assert_cmpstr(b, ==, "https://api.example.com/v1");
  g_assert_null(distill_remote_normalize_base_url("ftp://x/v1", &error));
  g_assert_error(error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_BAD_URL);
  g_assert_nonnull(strstr(error->message, "http://gpu-box:8000/v1"));
  g_clear_error(&error);
  g_assert_null(distill_remote_normalize_base_url("", &error));
  g_clear_error(&error);
  g_autofree char *label = distill_remote_model_label("deepseek-r1", "Lab");
  g_assert_cmpstr(label, ==, "deepseek-r1 (Lab)");
}

/* ==== generations fed from outside ================================================================ */

typedef struct {
  GString *order; /* P (prompt-ready), D (delta), F (finished) */
  GString *text;
  int tokens;
} ExtWatch;

static void ext_prompt(DistillGeneration *g, int p, int d, int n, ExtWatch *w)
{
  g_string_append_c(w->order, 'P');
  g_assert_cmpint(p, ==, 11);
  g_assert_cmpint(d, ==, 1);
  g_assert_cmpint(n, ==, 4096);
}

static void ext_delta(DistillGeneration *g, const char *text, int tokens, ExtWatch *w)
{
  g_string_append_c(w->order, 'D');
  g_string_append(w->text, text);
  w->tokens = tokens;
}

static void ext_finished(DistillGeneration *g, ExtWatch *w) { g_string_append_c(w->order, 'F'); }

static gboolean ext_done(gpointer data) { return strchr(((ExtWatch *)data)->order->str, 'F') != NULL; }

static void test_external_generation(void)
{
  ExtWatch w = {g_string_new(NULL), g_string_new(NULL), 0};
  g_autoptr(DistillGeneration) gen = distill_generation_new_external(TRUE);
  g_assert_true(distill_generation_starts_in_think(gen));
  /* fed right away: the handlers connected after still see everything, in order */
  distill_generation_external_prompt_ready(gen, 11, 1, 4096);
  for (int i = 0; i < 200; i++) distill_generation_external_delta(gen, "ab", i + 1);
  DistillGenerationStats stats = {0};
  stats.gen_tokens = 200;
  stats.tok_s = 50;
  distill_generation_external_finish(gen, DISTILL_STOP_MAX_TOKENS, &stats, NULL);
  distill_generation_external_delta(gen, "late", 201); /* after finish: ignored */
  g_signal_connect(gen, "prompt-ready", G_CALLBACK(ext_prompt), &w);
  g_signal_connect(gen, "delta", G_CALLBACK(ext_delta), &w);
  g_signal_connect(gen, "finished", G_CALLBACK(ext_finished), &w);
  g_assert_false(distill_generation_is_finished(gen));
  g_assert_true(wait_for(ext_done, &w, 2000));
  spin(100);
  /* 200 deltas fed at once arrive coalesced: one delivery */
  g_assert_cmpstr(w.order->str, ==, "PDF");
  g_assert_cmpuint(w.text->len, ==, 400);
  g_assert_cmpint(w.tokens, ==, 200);
  g_assert_true(distill_generation_is_finished(gen));
  g_assert_cmpint(distill_generation_get_stop_reason(gen), ==, DISTILL_STOP_MAX_TOKENS);
  g_assert_cmpint(distill_generation_get_stats(gen)->gen_tokens, ==, 200);
  g_assert_null(distill_generation_get_error(gen));

  /* stop cancels the feeder's cancellable; an error is copied */
  g_autoptr(DistillGeneration) gen2 = distill_generation_new_external(FALSE);
  GCancellable *c = distill_generation_get_cancellable(gen2);
  g_assert_false(g_cancellable_is_cancelled(c));
  distill_generation_stop(gen2);
  g_assert_true(g_cancellable_is_cancelled(c));
  g_autoptr(GError) e = g_error_new_literal(DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_CLOSED, "gone");
  distill_generation_external_finish(gen2, DISTILL_STOP_ERROR, NULL, e);
  g_string_truncate(w.order, 0);
  g_signal_connect(gen2, "finished", G_CALLBACK(ext_finished), &w);
  g_assert_true(wait_for(ext_done, &w, 2000));
  g_assert_error(distill_generation_get_error(gen2), DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_CLOSED);
  g_string_free(w.order, TRUE);
  g_string_free(w.text, TRUE);
}

/* ==== the client against the fake server ======================================================= */

typedef struct {
  GPtrArray *models;
  GError *error;
  gboolean done;
} ListResult;

static void listed(GObject *source, GAsyncResult *res, gpointer data)
{
  ListResult *r = data;
  r->models = distill_remote_list_models_finish(DISTILL_REMOTE(source), res, &r->error);
  r->done = TRUE;
}

static gboolean list_done(gpointer data) { return ((ListResult *)data)->done; }

static void test_list_models(void)
{
  fake.api_key = g_strdup("sk-test");
  g_autoptr(DistillRemote) good = distill_remote_new(fake.base, "sk-test");
  ListResult r = {0};
  distill_remote_list_models_async(good, NULL, listed, &r);
  g_assert_true(wait_for(list_done, &r, 5000));
  g_assert_no_error(r.error);
  g_assert_cmpint(r.models->len, ==, 2);
  g_assert_cmpstr(r.models->pdata[0], ==, "vllm-r1");
  g_assert_cmpstr(r.models->pdata[1], ==, "deepseek-r1:7b");
  g_ptr_array_unref(r.models);

  /* a wrong key: the status in plain words, and where to fix it */
  g_autoptr(DistillRemote) bad = distill_remote_new(fake.base, "sk-wrong");
  ListResult r2 = {0};
  distill_remote_list_models_async(bad, NULL, listed, &r2);
  g_assert_true(wait_for(list_done, &r2, 5000));
  g_assert_error(r2.error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_UNAUTHORIZED);
  g_autofree char *want = g_strdup_printf("The server at %s answered 401 Unauthorized: Incorrect API key provided. "
                                          "Check the API key in Preferences → Connections.",
                                          distill_remote_get_host(bad));
  g_assert_cmpstr(r2.error->message, ==, want);
  g_clear_error(&r2.error);
  g_clear_pointer(&fake.api_key, g_free);

  /* not an OpenAI API (the base URL without /v1) */
  g_autofree char *wrong_base = g_strndup(fake.base, strlen(fake.base) - 3);
  g_autoptr(DistillRemote) wrong = distill_remote_new(wrong_base, NULL);
  ListResult r3 = {0};
  distill_remote_list_models_async(wrong, NULL, listed, &r3);
  g_assert_true(wait_for(list_done, &r3, 5000));
  g_assert_nonnull(r3.error);
  g_assert_nonnull(strstr(r3.error->message, "404"));
  g_clear_error(&r3.error);

  /* nobody listening */
  g_autoptr(DistillRemote) off = distill_remote_new("http://127.0.0.1:1/v1", NULL);
  ListResult r4 = {0};
  distill_remote_list_models_async(off, NULL, listed, &r4);
  g_assert_true(wait_for(list_done, &r4, 10000));
  g_assert_error(r4.error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_UNREACHABLE);
  g_assert_cmpstr(r4.error->message, ==, "Could not connect to the server at 127.0.0.1:1: nothing answers there. Is "
                                        "the server running, and is the port right?");
  g_clear_error(&r4.error);
}

typedef struct {
  int n;
  GError *error;
  gboolean done;
} LengthResult;

static void length_known(GObject *source, GAsyncResult *res, gpointer data)
{
  LengthResult *r = data;
  r->n = distill_remote_query_context_length_finish(DISTILL_REMOTE(source), res, &r->error);
  r->done = TRUE;
}

static gboolean length_done(gpointer data) { return ((LengthResult *)data)->done; }

static int query_length(DistillRemote *remote, const char *model)
{
  LengthResult r = {0};
  distill_remote_query_context_length_async(remote, model, NULL, length_known, &r);
  g_assert_true(wait_for(length_done, &r, 10000));
  g_assert_no_error(r.error);
  return r.n;
}

static void test_context_length(void)
{
  distill_remote_forget_context_lengths();
  g_autoptr(DistillRemote) remote = distill_remote_new(fake.base, NULL);
  g_assert_cmpint(distill_remote_lookup_context_length(fake.base, "vllm-r1"), ==, 0);

  /* listing the models remembers vLLM's max_model_len; the Ollama entry has none */
  ListResult r = {0};
  distill_remote_list_models_async(remote, NULL, listed, &r);
  g_assert_true(wait_for(list_done, &r, 5000));
  g_assert_no_error(r.error);
  g_ptr_array_unref(r.models);
  g_assert_cmpint(distill_remote_lookup_context_length(fake.base, "vllm-r1"), ==, 32768);
  g_assert_cmpint(distill_remote_lookup_context_length(fake.base, "deepseek-r1:7b"), ==, 0);
  /* per server: the same name elsewhere is not known */
  g_assert_cmpint(distill_remote_lookup_context_length("http://elsewhere:8000/v1", "vllm-r1"), ==, 0);

  /* known: answered without asking the server */
  guint lists = fake.lists, shows = fake.shows;
  g_assert_cmpint(query_length(remote, "vllm-r1"), ==, 32768);
  g_assert_cmpint(fake.lists, ==, lists);
  g_assert_cmpint(fake.shows, ==, shows);

  /* Ollama: not in the listing, so /api/show is asked: model_info["qwen2.context_length"] */
  g_assert_cmpint(query_length(remote, "deepseek-r1:7b"), ==, 131072);
  g_assert_cmpint(fake.shows, ==, shows + 1);
  g_assert_cmpint(distill_remote_lookup_context_length(fake.base, "deepseek-r1:7b"), ==, 131072);
  g_assert_cmpint(query_length(remote, "deepseek-r1:7b"), ==, 131072);
  g_assert_cmpint(fake.shows, ==, shows + 1); /* remembered */

  /* a model nobody reports a length for: 0 ("no limit"), never an error */
  g_assert_cmpint(query_length(remote, "fail-500"), ==, 0);
  g_assert_cmpint(distill_remote_lookup_context_length(fake.base, "fail-500"), ==, 0);
  /* a base URL that is not …/v1: there is no Ollama API to ask */
  g_autofree char *odd_base = g_strconcat(fake.base, "/../v1x", NULL);
  g_autoptr(DistillRemote) odd = distill_remote_new(odd_base, NULL);
  shows = fake.shows;
  g_assert_cmpint(query_length(odd, "deepseek-r1:7b"), ==, 0);
  g_assert_cmpint(fake.shows, ==, shows);
  /* nobody listening: 0 as well */
  g_autoptr(DistillRemote) off = distill_remote_new("http://127.0.0.1:1/v1", NULL);
  g_assert_cmpint(query_length(off, "vllm-r1"), ==, 0);

  /* cancelled: -1 and the cancellation */
  g_autoptr(GCancellable) cancel = g_cancellable_new();
  LengthResult c = {0};
  distill_remote_query_context_length_async(remote, "another", cancel, length_known, &c);
  g_cancellable_cancel(cancel);
  g_assert_true(wait_for(length_done, &c, 5000));
  g_assert_cmpint(c.n, ==, -1);
  g_assert_error(c.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&c.error);

  /* the shapes of /api/show answers */
  static const struct {
    const char *json;
    gint64 want;
  } shows_cases[] = {
    {"{\"model_info\":{\"general.architecture\":\"llama\",\"llama.context_length\":8192}}", 8192},
    /* the Modelfile's num_ctx is what the server runs the model with */
    {"{\"parameters\":\"stop \\\"x\\\"\\nnum_ctx                        16384\\ntemperature 0.6\",\"model_info\":"
     "{\"general.architecture\":\"qwen2\",\"qwen2.context_length\":131072}}",
     16384},
    {"{\"model_info\":{\"general.architecture\":\"qwen2\",\"llama.context_length\":8192}}", 0},
    {"{\"model_info\":{\"general.architecture\":\"qwen2\",\"qwen2.context_length\":\"big\"}}", 0},
    {"{\"model_info\":{\"general.architecture\":\"qwen2\",\"qwen2.context_length\":-5}}", 0},
    {"{\"model_info\":{\"general.architecture\":\"qwen2\",\"qwen2.context_length\":1e30}}", 0},
    {"{\"parameters\":\"num_ctx\"}", 0},
    {"[1,2]", 0},
    {"not json", 0},
    {"", 0},
  };
  for (guint i = 0; i < G_N_ELEMENTS(shows_cases); i++)
    g_assert_cmpint(distill_remote_parse_ollama_show(shows_cases[i].json, strlen(shows_cases[i].json)), ==,
                    shows_cases[i].want);
  g_assert_cmpint(distill_remote_parse_ollama_show(NULL, 0), ==, 0);
}

typedef struct {
  GString *text;
  guint deltas;
  int last_tokens;
  gboolean prompt_ready;
  gboolean finished;
  gboolean delta_after_finish;
} Watch;

static void on_prompt_ready(DistillGeneration *g, int p, int d, int n, Watch *w) { w->prompt_ready = TRUE; }

static void on_delta(DistillGeneration *g, const char *text, int tokens, Watch *w)
{
  if (w->finished) w->delta_after_finish = TRUE;
  g_assert_true(w->prompt_ready);
  g_string_append(w->text, text);
  w->deltas++;
  w->last_tokens = tokens;
}

static void on_finished(DistillGeneration *g, Watch *w) { w->finished = TRUE; }

static gboolean watch_finished(gpointer data) { return ((Watch *)data)->finished; }
static gboolean watch_has_text(gpointer data) { return ((Watch *)data)->text->len > 0; }

static DistillGeneration *generate(DistillRemote *remote, const char *model, Watch *w)
{
  DistillGenerateRequest *req = distill_generate_request_new();
  distill_generate_request_add_message(req, "user", "What is 2+2?");
  w->text = g_string_new(NULL);
  DistillGeneration *gen = distill_remote_generate(remote, model, req);
  g_signal_connect(gen, "prompt-ready", G_CALLBACK(on_prompt_ready), w);
  g_signal_connect(gen, "delta", G_CALLBACK(on_delta), w);
  g_signal_connect(gen, "finished", G_CALLBACK(on_finished), w);
  return gen;
}

static void watch_clear(Watch *w)
{
  g_string_free(w->text, TRUE);
}

static void test_stream_from_server(void)
{
  fake.api_key = g_strdup("sk-test");
  g_autoptr(DistillRemote) remote = distill_remote_new(fake.base, "sk-test");
  Watch w = {0};
  g_autoptr(DistillGeneration) gen = generate(remote, "vllm-r1", &w);
  g_assert_true(wait_for(watch_finished, &w, 10000));
  g_assert_true(distill_generation_is_finished(gen));
  g_assert_cmpint(distill_generation_get_stop_reason(gen), ==, DISTILL_STOP_END);
  g_assert_null(distill_generation_get_error(gen));
  g_assert_cmpstr(w.text->str, ==, vllm_text);
  g_assert_false(w.delta_after_finish);
  g_assert_false(distill_generation_starts_in_think(gen));
  const DistillGenerationStats *st = distill_generation_get_stats(gen);
  g_assert_cmpint(st->gen_tokens, ==, 12);
  g_assert_cmpint(st->prompt_tokens, ==, 17);
  g_assert_cmpint(st->n_past, ==, 29);
  g_assert_cmpint(st->reasoning_tokens, ==, 3);
  g_assert_cmpfloat(st->tok_s, >, 0);
  g_assert_cmpfloat(st->ttft_s, >, 0);
  g_autofree char *where = g_strdup_printf("remote: %s", distill_remote_get_host(remote));
  g_assert_cmpstr(st->offload, ==, where);
  /* what the server was sent */
  g_assert_cmpstr(fake.last_auth, ==, "Bearer sk-test");
  g_assert_nonnull(strstr(fake.last_body, "\"stream\":true"));
  g_assert_nonnull(strstr(fake.last_body, "\"content\":\"What is 2+2?\""));
  watch_clear(&w);
  g_clear_pointer(&fake.api_key, g_free);

  /* Ollama: <think> in the text, no usage → counted pieces, marked approximate */
  g_autoptr(DistillRemote) ollama = distill_remote_new(fake.base, NULL);
  Watch w2 = {0};
  g_autoptr(DistillGeneration) gen2 = generate(ollama, "deepseek-r1:7b", &w2);
  g_assert_true(wait_for(watch_finished, &w2, 10000));
  g_assert_cmpint(distill_generation_get_stop_reason(gen2), ==, DISTILL_STOP_END);
  g_assert_cmpstr(w2.text->str, ==, ollama_text);
  g_assert_null(fake.last_auth);
  const DistillGenerationStats *st2 = distill_generation_get_stats(gen2);
  g_assert_cmpint(st2->gen_tokens, ==, 6);
  g_assert_nonnull(strstr(st2->offload, "approximate"));
  watch_clear(&w2);
}

static void expect_error(const char *model, int code, const char *message, const char *partial)
{
  g_autoptr(DistillRemote) remote = distill_remote_new(fake.base, NULL);
  distill_remote_set_timeouts(remote, 5000, 1000);
  Watch w = {0};
  g_autoptr(DistillGeneration) gen = generate(remote, model, &w);
  g_assert_true(wait_for(watch_finished, &w, 10000));
  g_assert_cmpint(distill_generation_get_stop_reason(gen), ==, DISTILL_STOP_ERROR);
  const GError *error = distill_generation_get_error(gen);
  g_assert_error(error, DISTILL_REMOTE_ERROR, code);
  g_autofree char *want = g_strdup_printf(message, distill_remote_get_host(remote));
  g_assert_cmpstr(error->message, ==, want);
  g_assert_cmpstr(w.text->str, ==, partial);
  watch_clear(&w);
}

static void test_errors(void)
{
  expect_error("fail-500", DISTILL_REMOTE_ERROR_HTTP,
               "The server at %s answered 500 Internal Server Error: The engine crashed.", "");
  expect_error("fail-503-text", DISTILL_REMOTE_ERROR_HTTP,
               "The server at %s answered 503 Service Unavailable: overloaded, try later.", "");
  fake.api_key = g_strdup("sk-right");
  expect_error("vllm-r1", DISTILL_REMOTE_ERROR_UNAUTHORIZED,
               "The server at %s answered 401 Unauthorized: Incorrect API key provided. Check the API key in "
               "Preferences → Connections.",
               "");
  g_clear_pointer(&fake.api_key, g_free);
  expect_error("error-event", DISTILL_REMOTE_ERROR_SERVER,
               "The server at %s stopped the answer with an error: CUDA out of memory.", "Partial answer");
  expect_error("no-done", DISTILL_REMOTE_ERROR_CLOSED,
               "The connection to the server at %s was closed before the answer was complete. The answer so far "
               "is kept.",
               "Partial answer");
}

static void test_dropped(void)
{
  g_autoptr(DistillRemote) remote = distill_remote_new(fake.base, NULL);
  Watch w = {0};
  g_autoptr(DistillGeneration) gen = generate(remote, "drop", &w);
  g_assert_true(wait_for(watch_finished, &w, 10000));
  g_assert_cmpint(distill_generation_get_stop_reason(gen), ==, DISTILL_STOP_ERROR);
  const GError *error = distill_generation_get_error(gen);
  g_assert_error(error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_CLOSED);
  g_assert_nonnull(strstr(error->message, "was closed before the answer was complete"));
  g_assert_cmpstr(w.text->str, ==, "Partial answer");
  watch_clear(&w);
}

static gboolean client_gone(gpointer data) { return fake.client_gone; }

static void test_idle_timeout(void)
{
  g_autoptr(DistillRemote) remote = distill_remote_new(fake.base, NULL);
  distill_remote_set_timeouts(remote, 5000, 1000);
  Watch w = {0};
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(DistillGeneration) gen = generate(remote, "stall", &w);
  g_assert_true(wait_for(watch_finished, &w, 10000));
  double waited = (g_get_monotonic_time() - t0) / 1e6;
  g_assert_cmpfloat(waited, >=, 0.9);
  g_assert_cmpfloat(waited, <, 5);
  g_assert_cmpint(distill_generation_get_stop_reason(gen), ==, DISTILL_STOP_ERROR);
  const GError *error = distill_generation_get_error(gen);
  g_assert_error(error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_TIMEOUT);
  g_autofree char *want = g_strdup_printf("The server at %s sent nothing for 1 second, so Distill stopped waiting. The "
                                          "answer so far is kept.",
                                          distill_remote_get_host(remote));
  g_assert_cmpstr(error->message, ==, want);
  g_assert_cmpstr(w.text->str, ==, "Partial answer");
  watch_clear(&w);
}

static void test_stop(void)
{
  fake.client_gone = FALSE;
  g_autoptr(DistillRemote) remote = distill_remote_new(fake.base, NULL);
  Watch w = {0};
  g_autoptr(DistillGeneration) gen = generate(remote, "forever", &w);
  g_assert_true(wait_for(watch_has_text, &w, 5000));
  spin(100);
  g_assert_false(w.finished);
  distill_generation_stop(gen);
  g_assert_true(wait_for(watch_finished, &w, 2000));
  g_assert_cmpint(distill_generation_get_stop_reason(gen), ==, DISTILL_STOP_STOPPED);
  g_assert_null(distill_generation_get_error(gen));
  g_assert_true(g_str_has_prefix(w.text->str, "Partial answer more"));
  /* the request really went: the server sees the connection close */
  g_assert_true(wait_for(client_gone, NULL, 5000));
  watch_clear(&w);
  distill_generation_stop(gen); /* again, after the end: nothing happens */
}

/* ==== the app ================================================================================== */

static GtkWidget *find_type(GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE(root, type)) return root;
  for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *w = find_type(c, type);
    if (w) return w;
  }
  return NULL;
}

static GtkWidget *find_named(GtkWidget *root, const char *name)
{
  if (g_strcmp0(gtk_widget_get_name(root), name) == 0) return root;
  for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *w = find_named(c, name);
    if (w) return w;
  }
  return NULL;
}

/* an action row titled title (and, when given, with that subtitle) */
static GtkWidget *find_row(GtkWidget *root, const char *title, const char *subtitle)
{
  if (ADW_IS_ACTION_ROW(root) && g_strcmp0(adw_preferences_row_get_title(ADW_PREFERENCES_ROW(root)), title) == 0 &&
      (!subtitle || g_strcmp0(adw_action_row_get_subtitle(ADW_ACTION_ROW(root)), subtitle) == 0))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *w = find_row(c, title, subtitle);
    if (w) return w;
  }
  return NULL;
}

static void screenshot(GtkWidget *window, const char *name)
{
  const char *dir = g_getenv("DISTILL_SCREENSHOTS");
  if (!dir) return;
  spin(300);
  g_mkdir_with_parents(dir, 0755);
  GdkPaintable *paintable = gtk_widget_paintable_new(window);
  int w = gtk_widget_get_width(window), h = gtk_widget_get_height(window);
  GtkSnapshot *snapshot = gtk_snapshot_new();
  gdk_paintable_snapshot(paintable, snapshot, w, h);
  GskRenderNode *node = gtk_snapshot_free_to_node(snapshot);
  GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(window));
  GdkTexture *texture = gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, w, h));
  g_autofree char *file = g_strdup_printf("%s/%s.png", dir, name);
  gdk_texture_save_to_png(texture, file);
  g_test_message("screenshot %s", file);
  g_object_unref(texture);
  gsk_render_node_unref(node);
  g_object_unref(paintable);
}

static gboolean is_mapped(gpointer w) { return gtk_widget_get_mapped(GTK_WIDGET(w)); }
static gboolean not_generating(gpointer page) { return !distill_chat_page_is_generating(page); }
static gboolean window_gone(gpointer weak) { return *(gpointer *)weak == NULL; }

static void close_window(GtkWidget *win)
{
  gpointer weak = win;
  g_object_add_weak_pointer(G_OBJECT(win), &weak);
  gtk_window_destroy(GTK_WINDOW(win));
  g_assert_true(wait_for(window_gone, &weak, 5000));
}

typedef struct {
  GtkWidget *root;
  const char *title, *subtitle;
} RowQuery;

static gboolean row_present(gpointer data)
{
  RowQuery *q = data;
  return find_row(q->root, q->title, q->subtitle) != NULL;
}

static void test_connections_storage(void)
{
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_autoptr(GError) error = NULL;
  g_assert_null(distill_prefs_connections_save(settings, NULL, "X", "not a url at all://", NULL, &error));
  g_assert_error(error, DISTILL_REMOTE_ERROR, DISTILL_REMOTE_ERROR_BAD_URL);
  g_clear_error(&error);
  g_autofree char *id = distill_prefs_connections_save(settings, NULL, " Lab ", "gpu-box:8000/v1/", "sk-1", &error);
  g_assert_no_error(error);
  g_autoptr(DistillRemoteEndpoint) e = distill_remote_endpoint_find(settings, id);
  g_assert_cmpstr(e->name, ==, "Lab");
  g_assert_cmpstr(e->base_url, ==, "http://gpu-box:8000/v1");
  g_autofree char *key = distill_secret_lookup(id);
  g_assert_cmpstr(key, ==, "sk-1");
  /* edit: same id, new URL, no key → the key is forgotten */
  g_autofree char *id2 = distill_prefs_connections_save(settings, id, "Lab 2", "https://api.example.com/v1", "", &error);
  g_assert_cmpstr(id2, ==, id);
  g_autoptr(GPtrArray) all = distill_remote_endpoints_load(settings);
  g_assert_cmpint(all->len, ==, 1);
  g_autofree char *gone = distill_secret_lookup(id);
  g_assert_null(gone);
  distill_prefs_connections_remove(settings, id);
  g_autoptr(GPtrArray) none = distill_remote_endpoints_load(settings);
  g_assert_cmpint(none->len, ==, 0);
}

/* The tooltip of the chat's context meter ("Context: 0 of 32768 tokens used. …"). */
static const char *meter_tip(GtkWidget *page)
{
  GtkWidget *bar = find_type(page, GTK_TYPE_LEVEL_BAR);
  g_assert_nonnull(bar);
  const char *tip = gtk_widget_get_tooltip_text(gtk_widget_get_parent(bar));
  return tip ? tip : "";
}

typedef struct {
  GtkWidget *page;
  const char *text;
} TipQuery;

static gboolean tip_says(gpointer data)
{
  TipQuery *q = data;
  return strstr(meter_tip(q->page), q->text) != NULL;
}

static guint count_rows(GtkWidget *root, const char *title)
{
  guint n = 0;
  if (ADW_IS_PREFERENCES_ROW(root) && g_strcmp0(adw_preferences_row_get_title(ADW_PREFERENCES_ROW(root)), title) == 0) n++;
  for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) n += count_rows(c, title);
  return n;
}

static gboolean lists_grew(gpointer data) { return fake.lists > GPOINTER_TO_UINT(data); }

static void test_chat_page(void)
{
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  distill_remote_forget_context_lengths();
  distill_model_picker_forget_cache();
  /* local models for the picker: the fixtures, when there */
  const char *fixtures = g_getenv("STILL_FIXTURES_DIR");
  g_autofree char *models_dir = g_build_filename(tmp_dir, "models", NULL);
  g_mkdir_with_parents(models_dir, 0755);
  const char *local_files[] = {"stories260K.gguf", "tiny-qwen2-Q8_0.gguf"};
  for (guint i = 0; fixtures && i < G_N_ELEMENTS(local_files); i++) {
    g_autofree char *from = g_build_filename(fixtures, "models", local_files[i], NULL);
    g_autofree char *to = g_build_filename(models_dir, local_files[i], NULL);
    if (g_file_test(from, G_FILE_TEST_EXISTS)) g_assert_cmpint(symlink(from, to), ==, 0);
  }
  g_settings_set_string(settings, "models-folder", models_dir);
  g_settings_set_string(settings, "last-model", "");
  fake.api_key = g_strdup("sk-chat");
  g_autoptr(GError) error = NULL;
  g_autofree char *id = distill_prefs_connections_save(settings, NULL, "Fake vLLM", fake.base, "sk-chat", &error);
  g_assert_no_error(error);
  g_autofree char *off_id = distill_prefs_connections_save(settings, NULL, "Switched off", "http://127.0.0.1:1/v1", NULL, &error);
  g_assert_no_error(error);

  g_autofree char *db = g_build_filename(tmp_dir, "remote-chat.db", NULL);
  g_autoptr(DistillHistory) history = distill_history_open(db, &error);
  g_assert_no_error(error);
  g_autoptr(DistillEngine) engine = distill_engine_new(); /* nothing loaded: remote only */
  GtkWidget *win = adw_window_new();
  gtk_window_set_default_size(GTK_WINDOW(win), 1000, 720);
  GtkWidget *page = distill_chat_page_new(engine, history);
  adw_window_set_content(ADW_WINDOW(win), page);
  gtk_window_present(GTK_WINDOW(win));
  g_assert_true(wait_for(is_mapped, page, 5000));

  /* the picker: local models first, then the remote section with the server's models */
  GtkMenuButton *model_button = GTK_MENU_BUTTON(find_type(page, GTK_TYPE_MENU_BUTTON));
  gtk_menu_button_popup(model_button);
  GtkWidget *popover = GTK_WIDGET(gtk_menu_button_get_popover(model_button));
  RowQuery q = {popover, "vllm-r1", "Fake vLLM"};
  g_assert_true(wait_for(row_present, &q, 5000));
  g_assert_nonnull(find_row(popover, "deepseek-r1:7b", "Fake vLLM"));
  RowQuery off = {popover, "Switched off is not available", NULL};
  g_assert_true(wait_for(row_present, &off, 10000));
  GtkWidget *off_row = find_row(popover, "Switched off is not available", NULL);
  g_assert_true(g_str_has_prefix(adw_action_row_get_subtitle(ADW_ACTION_ROW(off_row)), "Could not connect to the server at 127.0.0.1:1"));
  if (fixtures) {
    /* a local model with its verdict for this machine */
    GtkWidget *local = find_row(popover, "stories260K", NULL);
    g_assert_nonnull(local);
    g_assert_null(g_object_get_data(G_OBJECT(local), "remote"));
    /* the verdict comes from a worker thread once the hardware is known */
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (!strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(local)), "Runs") && g_get_monotonic_time() < end) spin(50);
    g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(local)), " · Runs "));
  }
  screenshot(popover, "remote-picker");
  g_signal_emit_by_name(find_row(popover, "vllm-r1", "Fake vLLM"), "activated");
  spin(100);
  GtkLabel *label = GTK_LABEL(find_type(GTK_WIDGET(model_button), GTK_TYPE_LABEL));
  g_assert_cmpstr(gtk_label_get_label(label), ==, "vllm-r1");
  g_autofree char *last = g_settings_get_string(settings, "last-model");
  g_autofree char *want_last = g_strdup_printf("remote:%s/vllm-r1", id);
  g_assert_cmpstr(last, ==, want_last);
  /* the context meter shows vLLM's max_model_len (from the listing), not the local default */
  g_assert_nonnull(strstr(meter_tip(page), " of 32768 tokens used"));

  /* the picker again: the kept list is there at once, and the server is not asked again */
  guint lists = fake.lists;
  gtk_menu_button_popup(model_button);
  g_assert_nonnull(find_row(popover, "vllm-r1", "Fake vLLM"));
  g_assert_nonnull(find_row(popover, "deepseek-r1:7b", "Fake vLLM"));
  spin(300);
  g_assert_cmpuint(fake.lists, ==, lists);
  g_assert_cmpuint(count_rows(popover, "vllm-r1"), ==, 1);
  gtk_popover_popdown(GTK_POPOVER(popover));
  spin(50);

  /* once the kept list is old, the picker still shows it at once, asks in the background, and
   * the answer (a new model on the server) replaces the rows */
  distill_model_picker_set_cache_max_age(0);
  fake.extra_model = g_strdup("brand-new-model");
  gtk_menu_button_popup(model_button);
  g_assert_nonnull(find_row(popover, "vllm-r1", "Fake vLLM"));
  g_assert_null(find_row(popover, "brand-new-model", NULL));
  RowQuery fresh = {popover, "brand-new-model", "Fake vLLM"};
  g_assert_true(wait_for(row_present, &fresh, 5000));
  g_assert_true(wait_for(lists_grew, GUINT_TO_POINTER(lists), 5000));
  g_assert_cmpuint(count_rows(popover, "vllm-r1"), ==, 1);
  g_assert_cmpuint(count_rows(popover, "deepseek-r1:7b"), ==, 1);
  g_assert_null(find_row(popover, "Asking Fake vLLM for its models…", NULL));
  gtk_popover_popdown(GTK_POPOVER(popover));
  spin(50);
  distill_model_picker_set_cache_max_age(60 * 1000);
  g_clear_pointer(&fake.extra_model, g_free);

  /* Ollama's model: its length comes from /api/show; a model nobody gives a length for shows
   * the tokens used and no limit, rather than a wrong one */
  distill_chat_page_use_remote_model(DISTILL_CHAT_PAGE(page), id, "deepseek-r1:7b");
  TipQuery ollama_tip = {page, " of 131072 tokens used"};
  g_assert_true(wait_for(tip_says, &ollama_tip, 5000));
  distill_chat_page_use_remote_model(DISTILL_CHAT_PAGE(page), id, "brand-new-model");
  TipQuery unknown_tip = {page, "does not say how long this model's context is"};
  g_assert_true(wait_for(tip_says, &unknown_tip, 5000));
  GtkLabel *meter_label = GTK_LABEL(find_type(gtk_widget_get_parent(find_type(page, GTK_TYPE_LEVEL_BAR)), GTK_TYPE_LABEL));
  g_assert_cmpstr(gtk_label_get_label(meter_label), ==, "0 tokens");
  g_assert_false(gtk_widget_get_visible(find_type(page, GTK_TYPE_LEVEL_BAR)));
  screenshot(win, "remote-no-context-limit");
  distill_chat_page_use_remote_model(DISTILL_CHAT_PAGE(page), id, "vllm-r1");
  g_assert_nonnull(strstr(meter_tip(page), " of 32768 tokens used"));
  g_assert_true(gtk_widget_get_visible(find_type(page, GTK_TYPE_LEVEL_BAR)));

  /* send a question: the answer streams into the view and the history, with the reasoning split */
  GtkTextView *composer = GTK_TEXT_VIEW(find_named(page, "composer"));
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(composer), "What is 2+2?", -1);
  guint chats_before = fake.chats;
  gtk_widget_activate_action(page, "chat.send", NULL);
  g_assert_true(distill_chat_page_is_generating(DISTILL_CHAT_PAGE(page)));
  g_assert_true(wait_for(not_generating, page, 10000));
  g_assert_cmpint(fake.chats, ==, chats_before + 1);
  g_assert_cmpstr(fake.last_auth, ==, "Bearer sk-chat");
  GtkWidget *box = find_named(page, "messages");
  DistillMessageRow *answer = NULL;
  for (GtkWidget *c = gtk_widget_get_first_child(box); c; c = gtk_widget_get_next_sibling(c))
    if (DISTILL_IS_MESSAGE_ROW(c)) answer = DISTILL_MESSAGE_ROW(c);
  g_assert_nonnull(answer);
  g_assert_cmpstr(distill_message_row_get_role(answer), ==, "assistant");
  g_assert_cmpstr(distill_message_row_get_text(answer), ==, vllm_text);
  g_autofree char *shown_reasoning = distill_message_row_dup_reasoning(answer);
  g_autofree char *shown_answer = distill_message_row_dup_answer(answer);
  g_assert_cmpstr(g_strstrip(shown_reasoning), ==, "The user asks 2+2. That is 4, surely.");
  g_assert_cmpstr(shown_answer, ==, "The answer is **4**.");
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(history, distill_chat_page_get_chat_id(DISTILL_CHAT_PAGE(page)), &error);
  g_assert_no_error(error);
  g_assert_cmpint(msgs->len, ==, 2);
  DistillMessage *m = msgs->pdata[1];
  g_assert_cmpstr(m->content, ==, vllm_text);
  g_assert_cmpstr(m->model, ==, "vllm-r1 (Fake vLLM)");
  g_assert_cmpint(m->state, ==, DISTILL_MESSAGE_COMPLETE);
  g_assert_cmpint(m->gen_tokens, ==, 12);
  g_assert_false(m->starts_in_think);

  /* regenerate: the earlier answer goes back without its reasoning, a new one replaces it */
  g_signal_emit_by_name(answer, "regenerate");
  g_assert_true(wait_for(not_generating, page, 10000));
  g_assert_cmpint(fake.chats, ==, chats_before + 2);
  g_autoptr(GPtrArray) msgs2 = distill_history_get_messages(history, distill_chat_page_get_chat_id(DISTILL_CHAT_PAGE(page)), &error);
  g_assert_cmpint(msgs2->len, ==, 2);

  /* a server error: kept in the chat as a failed answer with the reason */
  distill_chat_page_use_remote_model(DISTILL_CHAT_PAGE(page), id, "fail-500");
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(composer), "Again?", -1);
  gtk_widget_activate_action(page, "chat.send", NULL);
  g_assert_true(wait_for(not_generating, page, 10000));
  g_autoptr(GPtrArray) msgs3 = distill_history_get_messages(history, distill_chat_page_get_chat_id(DISTILL_CHAT_PAGE(page)), &error);
  g_assert_cmpint(msgs3->len, ==, 4);
  DistillMessage *failed = msgs3->pdata[3];
  g_assert_cmpint(failed->state, ==, DISTILL_MESSAGE_FAILED);
  g_assert_nonnull(strstr(failed->note, "answered 500 Internal Server Error: The engine crashed."));
  /* Retry (the notice's button) asks the server again and replaces the failed answer */
  guint chats_retry = fake.chats;
  distill_chat_page_use_remote_model(DISTILL_CHAT_PAGE(page), id, "vllm-r1");
  gtk_widget_activate_action(page, "chat.retry", NULL);
  g_assert_true(wait_for(not_generating, page, 10000));
  g_assert_cmpint(fake.chats, ==, chats_retry + 1);
  g_autoptr(GPtrArray) msgs4 = distill_history_get_messages(history, distill_chat_page_get_chat_id(DISTILL_CHAT_PAGE(page)), &error);
  g_assert_cmpint(msgs4->len, ==, 4);
  g_assert_cmpint(((DistillMessage *)msgs4->pdata[3])->state, ==, DISTILL_MESSAGE_COMPLETE);
  g_assert_cmpstr(((DistillMessage *)msgs4->pdata[2])->content, ==, "Again?");

  /* the connection is removed in the preferences: the chat says so instead of sending */
  distill_prefs_connections_remove(settings, id);
  guint chats_now = fake.chats;
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(composer), "Still there?", -1);
  gtk_widget_activate_action(page, "chat.send", NULL);
  g_assert_false(distill_chat_page_is_generating(DISTILL_CHAT_PAGE(page)));
  spin(100);
  g_assert_cmpint(fake.chats, ==, chats_now);
  g_assert_cmpstr(gtk_label_get_label(label), ==, "Choose a Model");

  close_window(win);
  g_clear_pointer(&fake.api_key, g_free);
  distill_prefs_connections_remove(settings, off_id);
  g_settings_set_string(settings, "last-model", "");
}

static void test_connections_page(void)
{
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_autoptr(GError) error = NULL;
  g_autofree char *id1 = distill_prefs_connections_save(settings, NULL, "Lab cluster (vLLM)", "http://gpu-box:8000/v1", "sk-x", &error);
  g_autofree char *id2 = distill_prefs_connections_save(settings, NULL, "Ollama on the desktop", "http://desktop:11434/v1", NULL, &error);
  g_assert_no_error(error);
  DistillPreferences *prefs = distill_preferences_new(NULL, NULL, settings);
  gtk_window_set_default_size(GTK_WINDOW(prefs), 700, 640);
  GtkWidget *page = find_named(GTK_WIDGET(prefs), "connections");
  g_assert_nonnull(page);
  adw_preferences_window_set_visible_page(ADW_PREFERENCES_WINDOW(prefs), ADW_PREFERENCES_PAGE(page));
  gtk_window_present(GTK_WINDOW(prefs));
  g_assert_true(wait_for(is_mapped, page, 5000));
  g_assert_nonnull(find_row(page, "Lab cluster (vLLM)", "http://gpu-box:8000/v1"));
  g_assert_nonnull(find_row(page, "Ollama on the desktop", "http://desktop:11434/v1"));
  screenshot(GTK_WIDGET(prefs), "connections");

  /* the list follows the settings */
  distill_prefs_connections_remove(settings, id2);
  spin(50);
  g_assert_null(find_row(page, "Ollama on the desktop", NULL));

  /* Add: the dialog's Test Connection lists the fake server's models */
  fake.api_key = g_strdup("sk-dialog");
  GtkWidget *add = find_named(page, "connection-add");
  g_assert_nonnull(add);
  g_signal_emit_by_name(add, "clicked");
  spin(200);
  GtkWidget *dialog = NULL;
  GListModel *tops = gtk_window_get_toplevels();
  for (guint i = 0; i < g_list_model_get_n_items(tops); i++) {
    g_autoptr(GObject) w = g_list_model_get_item(tops, i);
    if (ADW_IS_MESSAGE_DIALOG(w)) dialog = GTK_WIDGET(w);
  }
  g_assert_nonnull(dialog);
  gtk_editable_set_text(GTK_EDITABLE(find_named(dialog, "connection-name")), "Fake");
  gtk_editable_set_text(GTK_EDITABLE(find_named(dialog, "connection-url")), fake.base);
  gtk_editable_set_text(GTK_EDITABLE(find_named(dialog, "connection-key")), "sk-dialog");
  gtk_widget_activate(find_named(dialog, "connection-test"));
  GtkLabel *result = GTK_LABEL(find_named(dialog, "connection-result"));
  gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  while (!g_str_has_prefix(gtk_label_get_label(result), "Connected") && g_get_monotonic_time() < end) spin(20);
  g_assert_cmpstr(gtk_label_get_label(result), ==, "Connected: 2 models (vllm-r1, deepseek-r1:7b).");
  screenshot(dialog, "connection-dialog");
  adw_message_dialog_response(ADW_MESSAGE_DIALOG(dialog), "save");
  spin(100);
  g_assert_nonnull(find_row(page, "Fake", fake.base));
  g_clear_pointer(&fake.api_key, g_free);

  gtk_window_destroy(GTK_WINDOW(prefs));
  spin(100);
  g_autoptr(GPtrArray) all = distill_remote_endpoints_load(settings);
  for (guint i = 0; i < all->len; i++) distill_prefs_connections_remove(settings, ((DistillRemoteEndpoint *)all->pdata[i])->id);
}

int main(int argc, char **argv)
{
  tmp_dir = g_dir_make_tmp("distill-remote-XXXXXX", NULL);
  g_setenv("XDG_DATA_HOME", tmp_dir, TRUE);
  g_setenv("XDG_CONFIG_HOME", tmp_dir, TRUE);
  g_setenv("DISTILL_SECRET_BACKEND", "file", TRUE); /* never the user's keyring */
  gtk_test_init(&argc, &argv, NULL);
  adw_init();
  distill_register_resource();
  fake_start();

  g_test_add_func("/remote/sse-parser", test_sse_parser);
  g_test_add_func("/remote/stream-vllm", test_stream_vllm);
  g_test_add_func("/remote/stream-ollama", test_stream_ollama);
  g_test_add_func("/remote/stream-variants", test_stream_variants);
  g_test_add_func("/remote/stream-raw-r1", test_stream_raw_r1);
  g_test_add_func("/remote/request-body", test_request_body);
  g_test_add_func("/remote/urls", test_urls);
  g_test_add_func("/remote/external-generation", test_external_generation);
  g_test_add_func("/remote/list-models", test_list_models);
  g_test_add_func("/remote/context-length", test_context_length);
  g_test_add_func("/remote/stream-from-server", test_stream_from_server);
  g_test_add_func("/remote/errors", test_errors);
  g_test_add_func("/remote/dropped", test_dropped);
  g_test_add_func("/remote/idle-timeout", test_idle_timeout);
  g_test_add_func("/remote/stop", test_stop);
  g_test_add_func("/remote/connections-storage", test_connections_storage);
  g_test_add_func("/remote/chat-page", test_chat_page);
  g_test_add_func("/remote/connections-page", test_connections_page);
  int rc = g_test_run();

  for (GList *l = fake.jobs; l; l = l->next) { /* a stalled answer the client left */
    Job *job = l->data;
    g_signal_handlers_disconnect_by_data(job->msg, job);
    job_free(job);
  }
  g_list_free(fake.jobs);
  g_object_unref(fake.server);
  g_free(fake.base);
  test_remove_tree(tmp_dir);
  return rc;
}
