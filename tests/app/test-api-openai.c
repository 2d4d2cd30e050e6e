/* test-api-openai.c — the OpenAI wire format of the local API server on its own, no server:
 * request parsing (every field, and the refusals with the field named), the delta builder that
 * turns the engine's text into SSE deltas (UTF-8 cut inside characters, stop strings cut across
 * pieces, the R1 reasoning split like vLLM's deepseek_r1 parser), and API keys. */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "distill-api-openai.h"

static void test_parse(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *param = NULL;
  const char *good = "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                     "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi \"},{\"type\":\"text\",\"text\":\"there\"}]}],"
                     "\"temperature\":0,\"top_p\":0.5,\"max_tokens\":7,\"max_completion_tokens\":9,\"stop\":[\"a\",\"\",\"bc\"],"
                     "\"seed\":42,\"stream\":true,\"stream_options\":{\"include_usage\":true},\"n\":1,\"unknown\":{}}";
  g_autoptr(DistillApiRequest) r = distill_api_request_parse(DISTILL_API_CHAT, good, strlen(good), &param, &error);
  g_assert_no_error(error);
  g_assert_nonnull(r);
  g_assert_cmpstr(r->model, ==, "m");
  g_assert_cmpuint(r->roles->len, ==, 2);
  g_assert_cmpstr(g_ptr_array_index(r->roles, 0), ==, "system");
  g_assert_cmpstr(g_ptr_array_index(r->contents, 1), ==, "hi there");
  g_assert_cmpfloat(r->temperature, ==, 0);
  g_assert_cmpfloat(r->top_p, ==, 0.5);
  g_assert_cmpint(r->max_tokens, ==, 9); /* the newer name wins */
  g_assert_cmpuint(g_strv_length(r->stop), ==, 2);
  g_assert_cmpstr(r->stop[1], ==, "bc");
  g_assert_true(r->has_seed);
  g_assert_cmpuint(r->seed, ==, 42);
  g_assert_true(r->stream);
  g_assert_true(r->include_usage);

  /* defaults */
  const char *plain = "{\"messages\":[{\"role\":\"developer\",\"content\":null},{\"role\":\"user\",\"content\":\"x\"}],\"stop\":\"END\"}";
  g_autoptr(DistillApiRequest) p = distill_api_request_parse(DISTILL_API_CHAT, plain, strlen(plain), NULL, &error);
  g_assert_no_error(error);
  g_assert_null(p->model);
  g_assert_cmpstr(g_ptr_array_index(p->roles, 0), ==, "system");
  g_assert_cmpstr(g_ptr_array_index(p->contents, 0), ==, "");
  g_assert_cmpfloat(p->temperature, <, 0);
  g_assert_cmpint(p->max_tokens, ==, 0);
  g_assert_false(p->has_seed);
  g_assert_false(p->stream);
  g_assert_cmpstrv(p->stop, ((const char *[]){"END", NULL}));

  const char *completion = "{\"prompt\":[\"Once upon\"],\"max_tokens\":3}";
  g_autoptr(DistillApiRequest) c = distill_api_request_parse(DISTILL_API_COMPLETION, completion, strlen(completion), NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(c->prompt, ==, "Once upon");

  /* refused, with the field named */
  struct {
    DistillApiKind kind;
    const char *body;
    int code;
    const char *param;
  } bad[] = {
    {DISTILL_API_CHAT, "", DISTILL_API_ERROR_INVALID_JSON, NULL},
    {DISTILL_API_CHAT, "{\"messages\":", DISTILL_API_ERROR_INVALID_JSON, NULL},
    {DISTILL_API_CHAT, "[1,2]", DISTILL_API_ERROR_INVALID_JSON, NULL},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", DISTILL_API_ERROR_INVALID_JSON, NULL},
    {DISTILL_API_CHAT, "{}", DISTILL_API_ERROR_INVALID_REQUEST, "messages"},
    {DISTILL_API_CHAT, "{\"messages\":[]}", DISTILL_API_ERROR_INVALID_REQUEST, "messages"},
    {DISTILL_API_CHAT, "{\"messages\":\"hi\"}", DISTILL_API_ERROR_INVALID_REQUEST, "messages"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", DISTILL_API_ERROR_INVALID_REQUEST, "messages"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"content\":\"x\"}]}", DISTILL_API_ERROR_INVALID_REQUEST, "messages"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", DISTILL_API_ERROR_INVALID_REQUEST, "messages"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}", DISTILL_API_ERROR_INVALID_REQUEST, "temperature"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}", DISTILL_API_ERROR_INVALID_REQUEST, "temperature"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}", DISTILL_API_ERROR_INVALID_REQUEST, "max_tokens"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1.5}", DISTILL_API_ERROR_INVALID_REQUEST, "max_tokens"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", DISTILL_API_ERROR_INVALID_REQUEST, "stop"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", DISTILL_API_ERROR_INVALID_REQUEST, "stop"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", DISTILL_API_ERROR_INVALID_REQUEST, "n"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":\"yes\"}", DISTILL_API_ERROR_INVALID_REQUEST, "stream"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"model\":5}", DISTILL_API_ERROR_INVALID_REQUEST, "model"},
    {DISTILL_API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":\"1\"}", DISTILL_API_ERROR_INVALID_REQUEST, "seed"},
    {DISTILL_API_COMPLETION, "{\"prompt\":[1,2,3]}", DISTILL_API_ERROR_INVALID_REQUEST, "prompt"},
    {DISTILL_API_COMPLETION, "{\"messages\":[]}", DISTILL_API_ERROR_INVALID_REQUEST, "prompt"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) e = NULL;
    g_autofree char *name = NULL;
    g_autoptr(DistillApiRequest) none = distill_api_request_parse(bad[i].kind, bad[i].body, strlen(bad[i].body), &name, &e);
    g_assert_null(none);
    g_assert_error(e, DISTILL_API_ERROR, bad[i].code);
    g_assert_cmpstr(name, ==, bad[i].param);
    g_assert_cmpuint(strlen(e->message), >, 10);
  }
  /* nesting deep enough to overflow a recursive parser's stack is refused before parsing; strings
   * with brackets (and escaped quotes) do not count */
  gsize deep_len = 4 * 1024 * 1024;
  char *deep = g_malloc(deep_len);
  memset(deep, '[', deep_len);
  g_autoptr(GError) deep_error = NULL;
  g_autoptr(DistillApiRequest) too_deep = distill_api_request_parse(DISTILL_API_CHAT, deep, deep_len, NULL, &deep_error);
  g_assert_null(too_deep);
  g_assert_error(deep_error, DISTILL_API_ERROR, DISTILL_API_ERROR_INVALID_JSON);
  g_assert_nonnull(strstr(deep_error->message, "64"));
  g_free(deep);
  GString *brackets = g_string_new("{\"messages\":[{\"role\":\"user\",\"content\":\"");
  for (int i = 0; i < 200; i++) g_string_append(brackets, "[{\\\"");
  g_string_append(brackets, "\"}]}");
  g_autoptr(GError) brackets_error = NULL;
  g_autoptr(DistillApiRequest) in_text = distill_api_request_parse(DISTILL_API_CHAT, brackets->str, brackets->len, NULL, &brackets_error);
  g_assert_no_error(brackets_error);
  g_assert_cmpuint(strlen(g_ptr_array_index(in_text->contents, 0)), ==, 200 * 3);
  g_string_free(brackets, TRUE);

  /* a NUL inside the body is not JSON text */
  g_autoptr(GError) nul_error = NULL;
  g_autoptr(DistillApiRequest) nul = distill_api_request_parse(DISTILL_API_CHAT, "{\"a\0\":1}", 8, NULL, &nul_error);
  g_assert_null(nul);
  g_assert_nonnull(nul_error);
}

/* Feed text in the given pieces; returns "reasoning|content". */
static char *run_deltas(const char *const *stop, gboolean reasoning, gboolean starts_in_think, const char *const *pieces,
                        gboolean *stopped)
{
  g_autoptr(DistillApiDeltas) d = distill_api_deltas_new(stop, reasoning, starts_in_think);
  GString *content = g_string_new(NULL), *thought = g_string_new(NULL);
  for (guint i = 0; pieces[i]; i++) {
    g_autoptr(GString) c = g_string_new(NULL), t = g_string_new(NULL);
    distill_api_deltas_feed(d, pieces[i], -1, c, t);
    /* every delta on its own is valid UTF-8 (it is sent as one JSON string) */
    g_assert_true(g_utf8_validate(c->str, (gssize)c->len, NULL));
    g_assert_true(g_utf8_validate(t->str, (gssize)t->len, NULL));
    g_string_append(content, c->str);
    g_string_append(thought, t->str);
  }
  distill_api_deltas_finish(d, content, thought);
  if (stopped) *stopped = distill_api_deltas_stopped(d);
  char *out = g_strdup_printf("%s|%s", thought->str, content->str);
  g_string_free(content, TRUE);
  g_string_free(thought, TRUE);
  return out;
}

static void test_deltas(void)
{
  gboolean stopped = FALSE;
  /* R1: everything up to </think> is reasoning, the tag cut across pieces */
  const char *r1[] = {"Let me th", "ink.\n</", "thi", "nk>\n\nThe answer", " is 4.", NULL};
  g_autofree char *a = run_deltas(NULL, TRUE, TRUE, r1, &stopped);
  g_assert_cmpstr(a, ==, "Let me think.\n|The answer is 4.");
  g_assert_false(stopped);
  /* a model that writes its own <think> */
  const char *own[] = {"<thi", "nk>hm</think>ok", NULL};
  g_autofree char *b = run_deltas(NULL, TRUE, FALSE, own, NULL);
  g_assert_cmpstr(b, ==, "hm|ok");
  /* reasoning off: the tags are plain text, and blank space is kept */
  const char *plain[] = {" <think>x", "</think> y", NULL};
  g_autofree char *c = run_deltas(NULL, FALSE, FALSE, plain, NULL);
  g_assert_cmpstr(c, ==, "| <think>x</think> y");
  /* a stop string cut across pieces: cut there, the rest dropped */
  const char *stop[] = {"User", NULL};
  const char *story[] = {"Once upon a time.\nUs", "er: more", " text", NULL};
  g_autofree char *d = run_deltas(stop, FALSE, FALSE, story, &stopped);
  g_assert_cmpstr(d, ==, "|Once upon a time.\n");
  g_assert_true(stopped);
  /* the earliest of several stop strings wins; a prefix that does not complete is released */
  const char *stops[] = {"zz", "c d", NULL};
  const char *abc[] = {"a b c", " z", "y c d zz", NULL};
  g_autofree char *e = run_deltas(stops, FALSE, FALSE, abc, &stopped);
  g_assert_cmpstr(e, ==, "|a b c zy ");
  g_assert_true(stopped);
  /* a stop string inside the reasoning ends it there */
  const char *think_stop[] = {"STOP", NULL};
  const char *t[] = {"plan ST", "OP more</think>answer", NULL};
  g_autofree char *f = run_deltas(think_stop, TRUE, TRUE, t, &stopped);
  g_assert_cmpstr(f, ==, "plan |");
  /* UTF-8 cut inside characters ("é" = C3 A9, "😀" = F0 9F 98 80), and bytes that are never valid */
  const char *utf[] = {"caf\xc3", "\xa9 \xf0\x9f", "\x98", "\x80!", "bad\xff.", "end\xe2\x82", NULL};
  g_autofree char *u = run_deltas(NULL, FALSE, FALSE, utf, NULL);
  g_assert_cmpstr(u, ==, "|café 😀!bad\xef\xbf\xbd.end\xef\xbf\xbd");
  /* a stop string with a multibyte character, cut in its middle */
  const char *stop_utf[] = {"é!", NULL};
  const char *su[] = {"ok \xc3", "\xa9", "! no", NULL};
  g_autofree char *s = run_deltas(stop_utf, FALSE, FALSE, su, &stopped);
  g_assert_cmpstr(s, ==, "|ok ");
  g_assert_true(stopped);
}

static void test_keys(void)
{
  g_autofree char *k1 = distill_api_generate_key();
  g_autofree char *k2 = distill_api_generate_key();
  g_assert_true(g_str_has_prefix(k1, "sk-distill-"));
  g_assert_cmpuint(strlen(k1), ==, strlen("sk-distill-") + 44);
  g_assert_cmpstr(k1, !=, k2);
  for (const char *p = k1 + strlen("sk-distill-"); *p; p++)
    g_assert_true(g_ascii_isalnum(*p) || *p == '-' || *p == '_');
  g_autofree char *header = g_strconcat("Bearer ", k1, NULL);
  g_assert_true(distill_api_check_bearer(header, k1));
  g_autofree char *lower = g_strconcat("bearer  ", k1, NULL);
  g_assert_true(distill_api_check_bearer(lower, k1));
  g_assert_false(distill_api_check_bearer(header, k2));
  g_assert_false(distill_api_check_bearer(k1, k1)); /* no "Bearer " */
  g_autofree char *shorter = g_strndup(header, strlen(header) - 1);
  g_assert_false(distill_api_check_bearer(shorter, k1));
  g_autofree char *longer = g_strconcat(header, "x", NULL);
  g_assert_false(distill_api_check_bearer(longer, k1));
  g_assert_false(distill_api_check_bearer("Bearer ", ""));
  g_assert_false(distill_api_check_bearer(NULL, k1));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/api-openai/parse", test_parse);
  g_test_add_func("/api-openai/deltas", test_deltas);
  g_test_add_func("/api-openai/keys", test_keys);
  return g_test_run();
}
