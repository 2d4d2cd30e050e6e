/* test-history.c — the SQLite chat store: chats and messages, search,
 * reopening, migrations from older schema versions, export. */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>

#include "distill-history.h"
#include "test-util.h"

typedef struct {
  char *dir;
  char *path;
  DistillHistory *history;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp("distill-history-XXXXXX", NULL);
  g_assert_nonnull(f->dir);
  /* a folder that does not exist yet: open creates it */
  f->path = g_build_filename(f->dir, "sub", "history.db", NULL);
  g_autoptr(GError) error = NULL;
  f->history = distill_history_open(f->path, &error);
  g_assert_no_error(error);
  g_assert_nonnull(f->history);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
  g_clear_object(&f->history);
  test_remove_tree(f->dir);
  g_free(f->path);
  g_free(f->dir);
}

static gint64 add(DistillHistory *h, gint64 chat, const char *role, const char *content)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillMessage) m = distill_message_new(role, content);
  g_assert_true(distill_history_add_message(h, chat, m, &error));
  g_assert_no_error(error);
  g_assert_cmpint(m->id, >, 0);
  g_assert_cmpint(m->chat_id, ==, chat);
  return m->id;
}

static void on_changed(DistillHistory *h, int *count) { (*count)++; }

static void test_create_update(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  int changed = 0;
  g_signal_connect(f->history, "chats-changed", G_CALLBACK(on_changed), &changed);
  g_assert_cmpint(distill_history_get_schema_version(f->history), ==, DISTILL_HISTORY_SCHEMA_VERSION);

  gint64 a = distill_history_create_chat(f->history, "First", &error);
  g_assert_no_error(error);
  gint64 b = distill_history_create_chat(f->history, "Second", &error);
  g_assert_no_error(error);
  g_assert_cmpint(changed, ==, 2);

  add(f->history, a, "user", "What is 2+2?");
  /* an answer is stored when it starts and updated while it streams */
  g_autoptr(DistillMessage) answer = distill_message_new("assistant", "");
  answer->state = DISTILL_MESSAGE_STREAMING;
  answer->starts_in_think = TRUE;
  answer->model = g_strdup("DeepSeek-R1-Distill-Qwen-1.5B");
  g_assert_true(distill_history_add_message(f->history, a, answer, &error));
  g_free(answer->content);
  answer->content = g_strdup("Two plus two.\n</think>\n\nIt is **4**.");
  answer->state = DISTILL_MESSAGE_COMPLETE;
  answer->gen_tokens = 17;
  answer->tok_s = 41.5;
  answer->ttft_s = 0.25;
  answer->reasoning_s = 1.5;
  g_assert_true(distill_history_update_message(f->history, answer, &error));
  g_assert_no_error(error);

  /* chat a had activity last: it comes first */
  g_autoptr(GPtrArray) chats = distill_history_list_chats(f->history, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(chats->len, ==, 2);
  g_assert_cmpint(((DistillChatInfo *)chats->pdata[0])->id, ==, a);
  g_assert_cmpint(((DistillChatInfo *)chats->pdata[1])->id, ==, b);

  g_autoptr(GPtrArray) msgs = distill_history_get_messages(f->history, a, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(msgs->len, ==, 2);
  DistillMessage *m0 = msgs->pdata[0], *m1 = msgs->pdata[1];
  g_assert_cmpstr(m0->role, ==, "user");
  g_assert_cmpstr(m0->content, ==, "What is 2+2?");
  g_assert_cmpstr(m1->role, ==, "assistant");
  g_assert_cmpstr(m1->content, ==, answer->content);
  g_assert_cmpint(m1->state, ==, DISTILL_MESSAGE_COMPLETE);
  g_assert_true(m1->starts_in_think);
  g_assert_cmpstr(m1->model, ==, "DeepSeek-R1-Distill-Qwen-1.5B");
  g_assert_cmpint(m1->gen_tokens, ==, 17);
  g_assert_cmpfloat(m1->tok_s, ==, 41.5);
  g_assert_cmpfloat(m1->ttft_s, ==, 0.25);
  g_assert_cmpfloat(m1->reasoning_s, ==, 1.5);

  /* settings JSON round trip */
  g_assert_true(distill_history_set_chat_settings(f->history, b, "{\"temperature\":0.6}", &error));
  g_autoptr(DistillChatInfo) info = distill_history_get_chat(f->history, b, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(info->settings, ==, "{\"temperature\":0.6}");

  /* a message for a chat that does not exist */
  g_autoptr(DistillMessage) orphan = distill_message_new("user", "x");
  g_assert_false(distill_history_add_message(f->history, 9999, orphan, &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND);
  g_clear_error(&error);
  g_autoptr(GPtrArray) still_two = distill_history_get_messages(f->history, a, NULL);
  g_assert_cmpuint(still_two->len, ==, 2);
}

static void test_rename_delete(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = distill_history_create_chat(f->history, "Old name", &error);
  gint64 b = distill_history_create_chat(f->history, "Keep", &error);
  add(f->history, a, "user", "unique-word-alpha in chat a");
  add(f->history, b, "user", "chat b text");

  g_assert_true(distill_history_rename_chat(f->history, a, "New name", &error));
  g_autoptr(DistillChatInfo) info = distill_history_get_chat(f->history, a, &error);
  g_assert_cmpstr(info->title, ==, "New name");

  g_assert_true(distill_history_delete_chat(f->history, a, &error));
  g_assert_no_error(error);
  g_assert_null(distill_history_get_chat(f->history, a, &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND);
  g_clear_error(&error);
  /* its messages are gone, from the table and from the index */
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(f->history, a, &error);
  g_assert_cmpuint(msgs->len, ==, 0);
  g_autoptr(GPtrArray) hits = distill_history_search(f->history, "unique-word-alpha", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(hits->len, ==, 0);
  g_autoptr(GPtrArray) chats = distill_history_list_chats(f->history, &error);
  g_assert_cmpuint(chats->len, ==, 1);

  /* deleting or renaming a chat that is gone is an error, not a crash */
  g_assert_false(distill_history_delete_chat(f->history, a, &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_false(distill_history_rename_chat(f->history, a, "x", &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND);
  g_clear_error(&error);
}

static void test_delete_from(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = distill_history_create_chat(f->history, "Edit", &error);
  gint64 other = distill_history_create_chat(f->history, "Other", &error);
  add(f->history, a, "user", "q1");
  add(f->history, a, "assistant", "a1");
  gint64 q2 = add(f->history, a, "user", "q2");
  add(f->history, a, "assistant", "a2 with replaced-text");
  add(f->history, other, "user", "other chat, later id");
  /* edit q2: q2 and everything after it in this chat go, other chats stay */
  g_assert_true(distill_history_delete_messages_from(f->history, q2, &error));
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(f->history, a, &error);
  g_assert_cmpuint(msgs->len, ==, 2);
  g_assert_cmpstr(((DistillMessage *)msgs->pdata[1])->content, ==, "a1");
  g_autoptr(GPtrArray) others = distill_history_get_messages(f->history, other, &error);
  g_assert_cmpuint(others->len, ==, 1);
  g_autoptr(GPtrArray) hits = distill_history_search(f->history, "replaced-text", &error);
  g_assert_cmpuint(hits->len, ==, 0);
}

static guint count_hits(DistillHistory *h, const char *q)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = distill_history_search(h, q, &error);
  g_assert_no_error(error);
  return hits->len;
}

static void test_search(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = distill_history_create_chat(f->history, "Physics", &error);
  gint64 b = distill_history_create_chat(f->history, "Cooking", &error);
  gint64 c = distill_history_create_chat(f->history, "數學", &error);
  add(f->history, a, "user", "Explain the photoelectric effect.");
  add(f->history, a, "assistant", "Light knocks electrons out of a metal.");
  add(f->history, b, "user", "How long do I boil an egg?");
  add(f->history, b, "assistant", "About 9 minutes for a hard-boiled egg.");
  add(f->history, c, "user", "請問二加二等於多少？");
  g_autoptr(DistillMessage) streaming = distill_message_new("assistant", "");
  g_assert_true(distill_history_add_message(f->history, c, streaming, &error));
  g_free(streaming->content);
  streaming->content = g_strdup("二加二等於四。");
  g_assert_true(distill_history_update_message(f->history, streaming, &error));

  g_autoptr(GPtrArray) hits = distill_history_search(f->history, "electrons", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(hits->len, ==, 1);
  DistillChatInfo *hit = hits->pdata[0];
  g_assert_cmpint(hit->id, ==, a);
  g_assert_nonnull(strstr(hit->snippet, "electrons"));

  /* case-insensitive, substring, every word must match (in one message) */
  g_assert_cmpuint(count_hits(f->history, "PHOTOELECTRIC"), ==, 1);
  g_assert_cmpuint(count_hits(f->history, "boil egg"), ==, 1);
  g_assert_cmpuint(count_hits(f->history, "boil electrons"), ==, 0);
  /* words shorter than a trigram */
  g_assert_cmpuint(count_hits(f->history, "9"), ==, 1);
  g_assert_cmpuint(count_hits(f->history, "of a"), ==, 1);
  /* Chinese without spaces, including the text written while streaming */
  g_assert_cmpuint(count_hits(f->history, "等於四"), ==, 1);
  g_assert_cmpuint(count_hits(f->history, "二加二"), ==, 1);
  /* FTS syntax in the query is text, not an error */
  g_assert_cmpuint(count_hits(f->history, "\"quoted AND NOT"), ==, 0);
  g_assert_cmpuint(count_hits(f->history, "100%"), ==, 0);
  g_assert_cmpuint(count_hits(f->history, "   "), ==, 0);
  /* titles match too */
  g_assert_cmpuint(count_hits(f->history, "cooking"), ==, 1);
  /* one hit per chat even when several messages match */
  g_assert_cmpuint(count_hits(f->history, "egg"), ==, 1);
  /* notices (said by the app) are not searched */
  add(f->history, b, "notice", "zebra notice");
  g_assert_cmpuint(count_hits(f->history, "zebra"), ==, 0);
}

static void test_reopen(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = distill_history_create_chat(f->history, "Survivor", &error);
  add(f->history, a, "user", "Still here after reopening?");
  g_clear_object(&f->history);

  f->history = distill_history_open(f->path, &error);
  g_assert_no_error(error);
  g_autoptr(GPtrArray) chats = distill_history_list_chats(f->history, &error);
  g_assert_cmpuint(chats->len, ==, 1);
  g_assert_cmpstr(((DistillChatInfo *)chats->pdata[0])->title, ==, "Survivor");
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(f->history, a, &error);
  g_assert_cmpuint(msgs->len, ==, 1);
  g_assert_cmpstr(((DistillMessage *)msgs->pdata[0])->content, ==, "Still here after reopening?");
  g_assert_cmpuint(count_hits(f->history, "reopening"), ==, 1);
}

/* A child process writes a message and is killed (SIGKILL) without closing
 * the database: the message is there when the file is opened again. */
static void killed_child(void)
{
  if (!g_test_subprocess()) return; /* only runs as the child of /history/killed */
  DistillHistory *h = distill_history_open(g_getenv("DISTILL_TEST_DB"), NULL);
  g_assert_nonnull(h);
  g_autoptr(DistillMessage) m = distill_message_new("assistant", "partial answer before the crash");
  m->state = DISTILL_MESSAGE_STREAMING;
  g_assert_true(distill_history_add_message(h, g_ascii_strtoll(g_getenv("DISTILL_TEST_CHAT"), NULL, 10), m, NULL));
  g_free(m->content);
  m->content = g_strdup("partial answer before the crash, a bit longer");
  g_assert_true(distill_history_update_message(h, m, NULL));
  kill(getpid(), SIGKILL);
}

static void test_killed(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = distill_history_create_chat(f->history, "Crash", &error);
  g_clear_object(&f->history);
  g_setenv("DISTILL_TEST_DB", f->path, TRUE);
  g_autofree char *chat = g_strdup_printf("%" G_GINT64_FORMAT, a);
  g_setenv("DISTILL_TEST_CHAT", chat, TRUE);
  g_test_trap_subprocess("/history/killed-child", 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed();

  f->history = distill_history_open(f->path, &error);
  g_assert_no_error(error);
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(f->history, a, &error);
  g_assert_cmpuint(msgs->len, ==, 1);
  DistillMessage *m = msgs->pdata[0];
  g_assert_cmpstr(m->content, ==, "partial answer before the crash, a bit longer");
  g_assert_cmpint(m->state, ==, DISTILL_MESSAGE_STREAMING);
}

static void exec_sql(sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) g_error("%s: %s", sql, msg);
}

/* A version 1 file (as the first release wrote it) opens, migrates to the
 * current version, keeps its data and becomes searchable. */
static void test_migrate_v1(Fixture *f, gconstpointer data)
{
  g_clear_object(&f->history);
  g_autofree char *path = g_build_filename(f->dir, "v1.db", NULL);
  sqlite3 *db = NULL;
  g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
  exec_sql(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);"
               "INSERT INTO schema_migrations VALUES (1, 0);"
               "CREATE TABLE chats (id INTEGER PRIMARY KEY, title TEXT NOT NULL DEFAULT '',"
               "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
               "CREATE TABLE messages (id INTEGER PRIMARY KEY,"
               "  chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
               "  role TEXT NOT NULL, content TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL);"
               "CREATE INDEX messages_by_chat ON messages(chat_id, id);"
               "INSERT INTO chats VALUES (7, 'Old chat', 1000000, 2000000);"
               "INSERT INTO messages VALUES (1, 7, 'user', 'an old question about volcanoes', 1000000);"
               "INSERT INTO messages VALUES (2, 7, 'assistant', 'hmm</think>Lava.', 1500000);");
  sqlite3_close(db);

  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  g_assert_no_error(error);
  g_assert_cmpint(distill_history_get_schema_version(h), ==, DISTILL_HISTORY_SCHEMA_VERSION);
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(h, 7, &error);
  g_assert_cmpuint(msgs->len, ==, 2);
  DistillMessage *m = msgs->pdata[1];
  g_assert_cmpstr(m->content, ==, "hmm</think>Lava.");
  g_assert_cmpint(m->state, ==, DISTILL_MESSAGE_COMPLETE); /* the new columns' defaults */
  g_assert_cmpint(m->gen_tokens, ==, 0);
  /* rows from before the index exist are found (the migration rebuilt it) */
  g_assert_cmpuint(count_hits(h, "volcanoes"), ==, 1);
  /* and the triggers keep it up to date */
  add(h, 7, "user", "and geysers?");
  g_assert_cmpuint(count_hits(h, "geysers"), ==, 1);
  g_clear_object(&h);

  /* every step was recorded once */
  g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
  sqlite3_stmt *st = NULL;
  sqlite3_prepare_v2(db, "SELECT group_concat(version) FROM (SELECT version FROM schema_migrations ORDER BY 1)", -1,
                     &st, NULL);
  g_assert_cmpint(sqlite3_step(st), ==, SQLITE_ROW);
  g_assert_cmpstr((const char *)sqlite3_column_text(st, 0), ==, "1,2,3,4");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

static void test_too_new_and_bad(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_clear_object(&f->history);
  sqlite3 *db = NULL;
  g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
  exec_sql(db, "INSERT INTO schema_migrations VALUES (99, 0)");
  sqlite3_close(db);
  g_assert_null(distill_history_open(f->path, &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_TOO_NEW);
  g_assert_nonnull(strstr(error->message, "newer version of Distill"));
  g_clear_error(&error);

  /* not a database at all */
  g_autofree char *junk = g_build_filename(f->dir, "junk.db", NULL);
  char bytes[4096];
  memset(bytes, 'x', sizeof bytes);
  g_assert_true(g_file_set_contents(junk, bytes, sizeof bytes, NULL));
  g_assert_null(distill_history_open(junk, &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_CORRUPT);
  g_assert_nonnull(strstr(error->message, "not a chat history file"));
  g_clear_error(&error);

  /* a folder that cannot be created (a file is in the way) */
  g_autofree char *blocked = g_build_filename(junk, "history.db", NULL);
  g_assert_null(distill_history_open(blocked, &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_OPEN);
  g_clear_error(&error);
}

static void test_export(Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 a = distill_history_create_chat(f->history, "Arithmetic", &error);
  add(f->history, a, "user", "What is 2+2?");
  g_autoptr(DistillMessage) answer = distill_message_new("assistant", "Simple sum.\nTwo and two.\n</think>\n\n**4**");
  answer->starts_in_think = TRUE;
  answer->model = g_strdup("R1-Test");
  answer->gen_tokens = 12;
  answer->tok_s = 30.0;
  g_assert_true(distill_history_add_message(f->history, a, answer, &error));
  add(f->history, a, "notice", "The oldest messages were left out.");

  g_autofree char *md = distill_history_export_markdown(f->history, a, &error);
  g_assert_no_error(error);
  g_assert_true(g_str_has_prefix(md, "# Arithmetic\n"));
  g_assert_nonnull(strstr(md, "## You\n\nWhat is 2+2?\n"));
  g_assert_nonnull(strstr(md, "## Assistant (R1-Test)\n"));
  /* the reasoning is folded away, quoted line by line; the answer is plain */
  g_assert_nonnull(strstr(md, "<details>\n<summary>Reasoning</summary>\n\n> Simple sum.\n> Two and two.\n\n</details>"));
  g_assert_nonnull(strstr(md, "\n**4**\n"));
  g_assert_null(strstr(md, "</think>"));
  g_assert_nonnull(strstr(md, "> The oldest messages were left out."));

  g_autofree char *json = distill_history_export_json(f->history, a, &error);
  g_assert_no_error(error);
  g_autoptr(JsonParser) p = json_parser_new();
  g_assert_true(json_parser_load_from_data(p, json, -1, &error));
  JsonObject *root = json_node_get_object(json_parser_get_root(p));
  g_assert_cmpstr(json_object_get_string_member(root, "title"), ==, "Arithmetic");
  JsonArray *msgs = json_object_get_array_member(root, "messages");
  g_assert_cmpuint(json_array_get_length(msgs), ==, 3);
  JsonObject *m1 = json_array_get_object_element(msgs, 1);
  g_assert_cmpstr(json_object_get_string_member(m1, "role"), ==, "assistant");
  g_assert_cmpstr(json_object_get_string_member(m1, "content"), ==, "**4**");
  g_assert_cmpstr(json_object_get_string_member(m1, "reasoning"), ==, "Simple sum.\nTwo and two.");
  g_assert_cmpstr(json_object_get_string_member(m1, "model"), ==, "R1-Test");
  JsonObject *stats = json_object_get_object_member(m1, "stats");
  g_assert_cmpint(json_object_get_int_member(stats, "tokens"), ==, 12);
  g_assert_cmpfloat(json_object_get_double_member(stats, "tokens_per_second"), ==, 30.0);

  g_assert_null(distill_history_export_json(f->history, 12345, &error));
  g_assert_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD("/history/create-update", test_create_update);
  ADD("/history/rename-delete", test_rename_delete);
  ADD("/history/delete-from", test_delete_from);
  ADD("/history/search", test_search);
  ADD("/history/reopen", test_reopen);
  ADD("/history/killed", test_killed);
  g_test_add_func("/history/killed-child", killed_child);
  ADD("/history/migrate-v1", test_migrate_v1);
  ADD("/history/too-new-and-bad", test_too_new_and_bad);
  ADD("/history/export", test_export);
  return g_test_run();
}
