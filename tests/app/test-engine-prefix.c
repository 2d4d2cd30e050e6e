/* test-engine-prefix.c — DistillEngine keeps the prompt cache of each chat:
 * turning to another chat saves the cache of the one left under
 * $XDG_CACHE_HOME/distill/prefix/<chat id>.kv, coming back (or a new engine,
 * as after a restart) restores it so the history is not evaluated again;
 * forgetting a chat deletes its file; a damaged file is dropped. */
#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>

#include "distill-engine.h"
#include "test-util.h"

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

static DistillEngine *engine_with(const char *path)
{
  DistillEngine *e = distill_engine_new();
  LoadWait lw = {0};
  distill_engine_load_async(e, path, NULL, loaded, &lw);
  g_assert_true(wait_for(load_done, &lw, 30000));
  g_assert_no_error(lw.error);
  g_assert_true(lw.ok);
  return e;
}

typedef struct {
  GString *text;
  gboolean finished;
} Collect;

static void on_delta(DistillGeneration *g, const char *text, int tokens, Collect *c) { g_string_append(c->text, text); }
static void on_finished(DistillGeneration *g, Collect *c) { c->finished = TRUE; }
static gboolean is_finished(gpointer data) { return ((Collect *)data)->finished; }

/* Run a request to the end; returns its stats (copied) and the answer (g_free it). */
static DistillGenerationStats run(DistillEngine *e, DistillGenerateRequest *req, char **answer)
{
  Collect c = {g_string_new(NULL), FALSE};
  gint64 chat = req->chat_id;
  g_autoptr(DistillGeneration) g = distill_engine_generate(e, req);
  g_signal_connect(g, "delta", G_CALLBACK(on_delta), &c);
  g_signal_connect(g, "finished", G_CALLBACK(on_finished), &c);
  g_assert_true(wait_for(is_finished, &c, 60000));
  g_assert_null(distill_generation_get_error(g));
  DistillGenerationStats st = *distill_generation_get_stats(g);
  g_test_message("chat %" G_GINT64_FORMAT ": %d prompt tokens, %d reused", chat, st.prompt_tokens,
                 st.prompt_cached);
  if (answer) *answer = g_string_free(c.text, FALSE);
  else g_string_free(c.text, TRUE);
  return st;
}

static DistillGenerateRequest *chat_request(gint64 chat_id, const char *first, const char *reply, const char *next)
{
  DistillGenerateRequest *req = distill_generate_request_new();
  distill_generate_request_add_message(req, "user", first);
  if (reply) {
    distill_generate_request_add_message(req, "assistant", reply);
    distill_generate_request_add_message(req, "user", next);
  }
  req->temperature = 0;
  req->max_tokens = 4;
  req->chat_id = chat_id;
  return req;
}

static char *repeat(const char *sentence, int n)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < n; i++) g_string_append(s, sentence);
  return g_string_free(s, FALSE);
}

static char *saved(gint64 chat)
{
  g_autofree char *name = g_strdup_printf("%" G_GINT64_FORMAT ".kv", chat);
  return g_build_filename(g_get_user_cache_dir(), "distill", "prefix", name, NULL);
}

static gboolean file_gone(gpointer path) { return !g_file_test(path, G_FILE_TEST_EXISTS); }

static void clear_prefix_dir(void)
{
  g_autofree char *dir = g_build_filename(g_get_user_cache_dir(), "distill", "prefix", NULL);
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, name, NULL);
    g_remove(p);
  }
  if (d) g_dir_close(d);
}

static void test_switch_chats(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  /* never the user's own cache folder */
  g_assert_nonnull(g_getenv("XDG_CACHE_HOME"));
  clear_prefix_dir();
  g_autofree char *long1 = repeat("The little dog ran to the park and played with a ball. ", 30);
  g_autofree char *long2 = repeat("Lily saw a big red kite in the garden and she smiled. ", 30);
  g_autofree char *file1 = saved(1), *file2 = saved(2), *file3 = saved(3);

  DistillEngine *e = engine_with(path);
  g_autofree char *reply1 = NULL, *reply2 = NULL;
  DistillGenerationStats s1 = run(e, chat_request(1, long1, NULL, NULL), &reply1);
  g_assert_cmpint(s1.prompt_tokens, >=, 300);
  g_assert_cmpint(s1.prompt_cached, ==, 0);
  g_assert_false(g_file_test(file1, G_FILE_TEST_EXISTS)); /* nothing saved while the chat goes on */

  /* another chat: the first one's cache is saved */
  DistillGenerationStats s2 = run(e, chat_request(2, long2, NULL, NULL), &reply2);
  g_assert_cmpint(s2.prompt_cached, <, 30); /* the chat template's start only */
  g_assert_true(g_file_test(file1, G_FILE_TEST_IS_REGULAR));

  /* back to the first: its history comes from the file, only the new turn is evaluated */
  DistillGenerationStats s3 = run(e, chat_request(1, long1, reply1, "What did the dog do next?"), NULL);
  g_assert_cmpint(s3.prompt_cached, >=, s1.prompt_tokens);
  g_assert_cmpint(s3.prompt_tokens - s3.prompt_cached, <, 80); /* the new turn */
  g_assert_true(g_file_test(file2, G_FILE_TEST_IS_REGULAR));

  /* a chat without an id is not saved; forgetting a chat deletes its file */
  run(e, chat_request(0, long2, NULL, NULL), NULL);
  distill_engine_forget_chat(e, 1);
  g_assert_true(wait_for(file_gone, file1, 10000));

  /* a damaged file: refused and deleted, the chat is evaluated as usual */
  g_assert_true(g_file_set_contents(file3, "STILLKVP not really", -1, NULL));
  DistillGenerationStats s4 = run(e, chat_request(3, long1, NULL, NULL), NULL);
  g_assert_cmpint(s4.prompt_cached, <, 30);
  g_assert_false(g_file_test(file3, G_FILE_TEST_EXISTS));
  g_object_unref(e); /* quitting saves chat 3's cache */
  g_assert_true(g_file_test(file3, G_FILE_TEST_IS_REGULAR));

  /* as after a restart: a new engine continues chat 2 from its saved cache */
  e = engine_with(path);
  DistillGenerationStats s5 = run(e, chat_request(2, long2, reply2, "Where did the kite go?"), NULL);
  g_assert_cmpint(s5.prompt_cached, >=, s2.prompt_tokens);
  g_object_unref(e);
  clear_prefix_dir();
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  g_test_add_func("/engine-prefix/switch-chats", test_switch_chats);
  return g_test_run();
}
