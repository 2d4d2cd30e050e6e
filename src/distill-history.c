/* distill-history.c — the chat store in SQLite.
 *
 * Tables: schema_migrations (one row per applied version), chats, messages
 * and messages_fts, an external-content FTS5 index kept in step by triggers.
 * The index uses the trigram tokenizer: substring search that works for any
 * script (Chinese has no spaces for a word tokenizer to split on).
 *
 * Durability: WAL journal with synchronous=NORMAL. A commit survives the app
 * being killed (not a power cut, which may lose the last commits); the chat
 * page writes a streaming answer at least once a second.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <sqlite3.h>
#include <string.h>

#include "distill-history.h"
#include "distill-reasoning.h"

G_DEFINE_QUARK(distill-history-error-quark, distill_history_error)

struct _DistillHistory {
  GObject parent_instance;
  sqlite3 *db;
  char *path;
  int schema_version;
};

G_DEFINE_FINAL_TYPE(DistillHistory, distill_history, G_TYPE_OBJECT)

enum { SIGNAL_CHATS_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- migrations ------------------------------------------------------------
 * migrations[v - 1] takes the schema from version v - 1 to v. Append only:
 * a released step never changes. */
static const char *const migrations[] = {
  /* 1: chats and messages */
  "CREATE TABLE chats ("
  "  id INTEGER PRIMARY KEY,"
  "  title TEXT NOT NULL DEFAULT '',"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL);"
  "CREATE TABLE messages ("
  "  id INTEGER PRIMARY KEY,"
  "  chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,"
  "  role TEXT NOT NULL,"
  "  content TEXT NOT NULL DEFAULT '',"
  "  created_at INTEGER NOT NULL);"
  "CREATE INDEX messages_by_chat ON messages(chat_id, id);",

  /* 2: per-chat settings; state and statistics of answers */
  "ALTER TABLE chats ADD COLUMN settings TEXT;"
  "ALTER TABLE messages ADD COLUMN state INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE messages ADD COLUMN starts_in_think INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE messages ADD COLUMN model TEXT;"
  "ALTER TABLE messages ADD COLUMN note TEXT;"
  "ALTER TABLE messages ADD COLUMN gen_tokens INTEGER NOT NULL DEFAULT 0;"
  "ALTER TABLE messages ADD COLUMN tok_s REAL NOT NULL DEFAULT 0;"
  "ALTER TABLE messages ADD COLUMN ttft_s REAL NOT NULL DEFAULT 0;"
  "ALTER TABLE messages ADD COLUMN reasoning_s REAL NOT NULL DEFAULT 0;"
  "CREATE INDEX chats_by_update ON chats(updated_at);",

  /* 3: full-text search over message text */
  "CREATE VIRTUAL TABLE messages_fts USING fts5("
  "  content, content='messages', content_rowid='id', tokenize='trigram');"
  "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
  "  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);"
  "END;"
  "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
  "  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
  "END;"
  "CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN"
  "  INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);"
  "  INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);"
  "END;"
  "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');",

  /* 4: results of the standard benchmark, one row per timed run */
  "CREATE TABLE benchmark_runs ("
  "  id INTEGER PRIMARY KEY,"
  "  bench_id INTEGER NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  model_path TEXT NOT NULL DEFAULT '',"
  "  model_name TEXT NOT NULL DEFAULT '',"
  "  quant TEXT NOT NULL DEFAULT '',"
  "  backend TEXT NOT NULL DEFAULT '',"
  "  device TEXT NOT NULL DEFAULT '',"
  "  offload TEXT NOT NULL DEFAULT '',"
  "  version TEXT NOT NULL DEFAULT '',"
  "  threads INTEGER NOT NULL DEFAULT 0,"
  "  prompt INTEGER NOT NULL,"
  "  prompt_name TEXT NOT NULL DEFAULT '',"
  "  run INTEGER NOT NULL,"
  "  seed INTEGER NOT NULL DEFAULT 0,"
  "  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
  "  gen_tokens INTEGER NOT NULL DEFAULT 0,"
  "  prompt_tok_s REAL NOT NULL DEFAULT 0,"
  "  gen_tok_s REAL NOT NULL DEFAULT 0,"
  "  ttft_s REAL NOT NULL DEFAULT 0,"
  "  total_s REAL NOT NULL DEFAULT 0,"
  "  peak_rss_bytes INTEGER NOT NULL DEFAULT 0,"
  "  peak_vram_bytes INTEGER NOT NULL DEFAULT 0,"
  "  answer_ok INTEGER NOT NULL DEFAULT -1);"
  "CREATE INDEX benchmark_runs_by_bench ON benchmark_runs(bench_id, prompt, run);",
};
G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == DISTILL_HISTORY_SCHEMA_VERSION);

/* ---- small helpers ---------------------------------------------------------- */

/* what: a whole translated sentence ("Could not save the message."); the reason is added after it. */
static gboolean fail(DistillHistory *self, GError **error, const char *what)
{
  int code = sqlite3_errcode(self->db);
  DistillHistoryError e = DISTILL_HISTORY_ERROR_FAILED;
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) e = DISTILL_HISTORY_ERROR_CORRUPT;
  if (code == SQLITE_FULL)
    g_set_error(error, DISTILL_HISTORY_ERROR, e, "%s %s", what, _("The disk is full."));
  else
    g_set_error(error, DISTILL_HISTORY_ERROR, e, "%s (%s)", what, sqlite3_errmsg(self->db));
  return FALSE;
}

static gboolean exec(DistillHistory *self, const char *sql, GError **error, const char *what)
{
  if (sqlite3_exec(self->db, sql, NULL, NULL, NULL) != SQLITE_OK) return fail(self, error, what);
  return TRUE;
}

static sqlite3_stmt *prepare(DistillHistory *self, const char *sql, GError **error, const char *what)
{
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK) {
    fail(self, error, what);
    return NULL;
  }
  return st;
}

static void finalize_stmt(sqlite3_stmt *st) { sqlite3_finalize(st); }
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, finalize_stmt)

static char *column_dup(sqlite3_stmt *st, int col)
{
  const unsigned char *t = sqlite3_column_text(st, col);
  return t ? g_strdup((const char *)t) : NULL;
}

/* ---- boxed-ish records -------------------------------------------------------- */

DistillChatInfo *distill_chat_info_copy(const DistillChatInfo *info)
{
  DistillChatInfo *c = g_new0(DistillChatInfo, 1);
  *c = *info;
  c->title = g_strdup(info->title);
  c->settings = g_strdup(info->settings);
  c->snippet = g_strdup(info->snippet);
  return c;
}

void distill_chat_info_free(DistillChatInfo *info)
{
  if (!info) return;
  g_free(info->title);
  g_free(info->settings);
  g_free(info->snippet);
  g_free(info);
}

DistillMessage *distill_message_new(const char *role, const char *content)
{
  DistillMessage *m = g_new0(DistillMessage, 1);
  m->role = g_strdup(role);
  m->content = g_strdup(content ? content : "");
  return m;
}

DistillMessage *distill_message_copy(const DistillMessage *msg)
{
  DistillMessage *m = g_new0(DistillMessage, 1);
  *m = *msg;
  m->role = g_strdup(msg->role);
  m->content = g_strdup(msg->content);
  m->model = g_strdup(msg->model);
  m->note = g_strdup(msg->note);
  return m;
}

void distill_message_free(DistillMessage *msg)
{
  if (!msg) return;
  g_free(msg->role);
  g_free(msg->content);
  g_free(msg->model);
  g_free(msg->note);
  g_free(msg);
}

/* ---- opening ------------------------------------------------------------------ */

char *distill_history_default_path(void)
{
  return g_build_filename(g_get_user_data_dir(), "distill", "history.db", NULL);
}

static int read_version(DistillHistory *self, GError **error)
{
  g_autoptr(sqlite3_stmt) st = prepare(self, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", error,
                                       _("Could not read the history version."));
  if (!st) return -1;
  if (sqlite3_step(st) != SQLITE_ROW) {
    fail(self, error, _("Could not read the history version."));
    return -1;
  }
  return sqlite3_column_int(st, 0);
}

static gboolean migrate(DistillHistory *self, GError **error)
{
  if (!exec(self, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  "  version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
            error, _("Could not prepare the history.")))
    return FALSE;
  int version = read_version(self, error);
  if (version < 0) return FALSE;
  if (version > DISTILL_HISTORY_SCHEMA_VERSION) {
    g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_TOO_NEW,
                _("The chat history in “%s” was written by a newer version of Distill. Update Distill to "
                  "open it."),
                self->path);
    return FALSE;
  }
  for (int v = version + 1; v <= DISTILL_HISTORY_SCHEMA_VERSION; v++) {
    if (!exec(self, "BEGIN IMMEDIATE", error, _("Could not update the history."))) return FALSE;
    g_autofree char *record =
      g_strdup_printf("INSERT INTO schema_migrations(version, applied_at) VALUES (%d, %" G_GINT64_FORMAT ")", v,
                      g_get_real_time());
    if (sqlite3_exec(self->db, migrations[v - 1], NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(self->db, record, NULL, NULL, NULL) != SQLITE_OK) {
      fail(self, error, _("Could not update the history to the current format."));
      sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
      return FALSE;
    }
    if (!exec(self, "COMMIT", error, _("Could not update the history."))) return FALSE;
  }
  self->schema_version = DISTILL_HISTORY_SCHEMA_VERSION;
  return TRUE;
}

DistillHistory *distill_history_open(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int saved = errno;
    g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_OPEN,
                _("Could not create the folder “%s” for the chat history: %s."), dir, g_strerror(saved));
    return NULL;
  }
  g_autoptr(DistillHistory) self = g_object_new(DISTILL_TYPE_HISTORY, NULL);
  self->path = g_strdup(path);
  if (sqlite3_open_v2(path, &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
    g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_OPEN,
                _("Could not open the chat history “%s”: %s."), path,
                self->db ? sqlite3_errmsg(self->db) : "out of memory");
    return NULL;
  }
  sqlite3_busy_timeout(self->db, 2000);
  /* the first statement reads the file: a file that is not a database fails here */
  if (sqlite3_exec(self->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
    int code = sqlite3_errcode(self->db);
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
      g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_CORRUPT,
                  _("“%s” is not a chat history file, or it is damaged."), path);
    else
      g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_OPEN,
                  _("Could not open the chat history “%s”: %s."), path, sqlite3_errmsg(self->db));
    return NULL;
  }
  if (!exec(self, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON", error, _("Could not open the history."))) return NULL;
  if (!migrate(self, error)) return NULL;
  return g_steal_pointer(&self);
}

const char *distill_history_get_path(DistillHistory *self)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  return self->path;
}

int distill_history_get_schema_version(DistillHistory *self)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), 0);
  return self->schema_version;
}

static void chats_changed(DistillHistory *self)
{
  g_signal_emit(self, signals[SIGNAL_CHATS_CHANGED], 0);
}

/* ---- chats ----------------------------------------------------------------------- */

gint64 distill_history_create_chat(DistillHistory *self, const char *title, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), 0);
  g_autoptr(sqlite3_stmt) st =
    prepare(self, "INSERT INTO chats(title, created_at, updated_at) VALUES (?, ?, ?)", error, _("Could not create the chat."));
  if (!st) return 0;
  gint64 now = g_get_real_time();
  sqlite3_bind_text(st, 1, title ? title : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, now);
  sqlite3_bind_int64(st, 3, now);
  if (sqlite3_step(st) != SQLITE_DONE) return fail(self, error, _("Could not create the chat."));
  gint64 id = sqlite3_last_insert_rowid(self->db);
  chats_changed(self);
  return id;
}

static gboolean check_changed(DistillHistory *self, GError **error, const char *what)
{
  if (sqlite3_changes(self->db) > 0) return TRUE;
  g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND, "%s %s", what,
              _("It no longer exists."));
  return FALSE;
}

gboolean distill_history_rename_chat(DistillHistory *self, gint64 chat_id, const char *title, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), FALSE);
  g_autoptr(sqlite3_stmt) st = prepare(self, "UPDATE chats SET title = ? WHERE id = ?", error, _("Could not rename the chat."));
  if (!st) return FALSE;
  sqlite3_bind_text(st, 1, title ? title : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, chat_id);
  if (sqlite3_step(st) != SQLITE_DONE) return fail(self, error, _("Could not rename the chat."));
  if (!check_changed(self, error, _("Could not rename the chat."))) return FALSE;
  chats_changed(self);
  return TRUE;
}

gboolean distill_history_delete_chat(DistillHistory *self, gint64 chat_id, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), FALSE);
  if (!exec(self, "BEGIN", error, _("Could not delete the chat."))) return FALSE;
  /* messages first and explicitly, so the FTS triggers see every row */
  g_autoptr(sqlite3_stmt) msgs = prepare(self, "DELETE FROM messages WHERE chat_id = ?", error, _("Could not delete the chat."));
  g_autoptr(sqlite3_stmt) chat = prepare(self, "DELETE FROM chats WHERE id = ?", error, _("Could not delete the chat."));
  gboolean ok = msgs && chat;
  if (ok) {
    sqlite3_bind_int64(msgs, 1, chat_id);
    sqlite3_bind_int64(chat, 1, chat_id);
    ok = sqlite3_step(msgs) == SQLITE_DONE || fail(self, error, _("Could not delete the chat."));
    ok = ok && (sqlite3_step(chat) == SQLITE_DONE || fail(self, error, _("Could not delete the chat.")));
    ok = ok && check_changed(self, error, _("Could not delete the chat."));
  }
  if (!ok) {
    sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
  }
  if (!exec(self, "COMMIT", error, _("Could not delete the chat."))) return FALSE;
  chats_changed(self);
  return TRUE;
}

gboolean distill_history_set_chat_settings(DistillHistory *self, gint64 chat_id, const char *json, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), FALSE);
  g_autoptr(sqlite3_stmt) st =
    prepare(self, "UPDATE chats SET settings = ? WHERE id = ?", error, _("Could not save the chat settings."));
  if (!st) return FALSE;
  if (json) sqlite3_bind_text(st, 1, json, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, 1);
  sqlite3_bind_int64(st, 2, chat_id);
  if (sqlite3_step(st) != SQLITE_DONE) return fail(self, error, _("Could not save the chat settings."));
  return check_changed(self, error, _("Could not save the chat settings."));
}

#define CHAT_COLUMNS "c.id, c.title, c.created_at, c.updated_at, c.settings"

static DistillChatInfo *read_chat(sqlite3_stmt *st)
{
  DistillChatInfo *c = g_new0(DistillChatInfo, 1);
  c->id = sqlite3_column_int64(st, 0);
  c->title = column_dup(st, 1);
  if (!c->title) c->title = g_strdup("");
  c->created = sqlite3_column_int64(st, 2);
  c->updated = sqlite3_column_int64(st, 3);
  c->settings = column_dup(st, 4);
  return c;
}

DistillChatInfo *distill_history_get_chat(DistillHistory *self, gint64 chat_id, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  g_autoptr(sqlite3_stmt) st =
    prepare(self, "SELECT " CHAT_COLUMNS " FROM chats c WHERE c.id = ?", error, _("Could not read the chat."));
  if (!st) return NULL;
  sqlite3_bind_int64(st, 1, chat_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) return read_chat(st);
  if (rc == SQLITE_DONE)
    g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND, _("This chat no longer exists."));
  else
    fail(self, error, _("Could not read the chat."));
  return NULL;
}

GPtrArray *distill_history_list_chats(DistillHistory *self, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  g_autoptr(sqlite3_stmt) st = prepare(
    self, "SELECT " CHAT_COLUMNS " FROM chats c ORDER BY c.updated_at DESC, c.id DESC", error, _("Could not list the chats."));
  if (!st) return NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_chat_info_free);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) g_ptr_array_add(out, read_chat(st));
  if (rc != SQLITE_DONE) {
    fail(self, error, _("Could not list the chats."));
    return NULL;
  }
  return g_steal_pointer(&out);
}

/* ---- messages --------------------------------------------------------------------- */

gboolean distill_history_add_message(DistillHistory *self, gint64 chat_id, DistillMessage *msg, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), FALSE);
  g_return_val_if_fail(msg != NULL && msg->role != NULL, FALSE);
  if (!exec(self, "BEGIN", error, _("Could not save the message."))) return FALSE;
  g_autoptr(sqlite3_stmt) st = prepare(self,
                                       "INSERT INTO messages(chat_id, role, content, created_at, state, "
                                       "starts_in_think, model, note, gen_tokens, tok_s, ttft_s, reasoning_s) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                       error, _("Could not save the message."));
  g_autoptr(sqlite3_stmt) touch =
    prepare(self, "UPDATE chats SET updated_at = ? WHERE id = ?", error, _("Could not save the message."));
  gboolean ok = st && touch;
  gint64 now = g_get_real_time();
  if (ok) {
    sqlite3_bind_int64(st, 1, chat_id);
    sqlite3_bind_text(st, 2, msg->role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, msg->content ? msg->content : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int(st, 5, msg->state);
    sqlite3_bind_int(st, 6, msg->starts_in_think ? 1 : 0);
    sqlite3_bind_text(st, 7, msg->model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, msg->note, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 9, msg->gen_tokens);
    sqlite3_bind_double(st, 10, msg->tok_s);
    sqlite3_bind_double(st, 11, msg->ttft_s);
    sqlite3_bind_double(st, 12, msg->reasoning_s);
    /* the foreign key turns an unknown chat id into a constraint failure */
    ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok && sqlite3_errcode(self->db) == SQLITE_CONSTRAINT) {
      g_set_error(error, DISTILL_HISTORY_ERROR, DISTILL_HISTORY_ERROR_NOT_FOUND, _("This chat no longer exists."));
    } else if (!ok) {
      fail(self, error, _("Could not save the message."));
    }
  }
  if (ok) {
    msg->id = sqlite3_last_insert_rowid(self->db);
    sqlite3_bind_int64(touch, 1, now);
    sqlite3_bind_int64(touch, 2, chat_id);
    ok = sqlite3_step(touch) == SQLITE_DONE || fail(self, error, _("Could not save the message."));
  }
  if (!ok) {
    sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
  }
  if (!exec(self, "COMMIT", error, _("Could not save the message."))) return FALSE;
  msg->chat_id = chat_id;
  msg->created = now;
  chats_changed(self);
  return TRUE;
}

gboolean distill_history_update_message(DistillHistory *self, const DistillMessage *msg, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), FALSE);
  g_return_val_if_fail(msg != NULL, FALSE);
  g_autoptr(sqlite3_stmt) st = prepare(self,
                                       "UPDATE messages SET content = ?, state = ?, model = ?, note = ?, "
                                       "gen_tokens = ?, tok_s = ?, ttft_s = ?, reasoning_s = ? WHERE id = ?",
                                       error, _("Could not save the message."));
  if (!st) return FALSE;
  sqlite3_bind_text(st, 1, msg->content ? msg->content : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 2, msg->state);
  sqlite3_bind_text(st, 3, msg->model, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, msg->note, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(st, 5, msg->gen_tokens);
  sqlite3_bind_double(st, 6, msg->tok_s);
  sqlite3_bind_double(st, 7, msg->ttft_s);
  sqlite3_bind_double(st, 8, msg->reasoning_s);
  sqlite3_bind_int64(st, 9, msg->id);
  if (sqlite3_step(st) != SQLITE_DONE) return fail(self, error, _("Could not save the message."));
  return check_changed(self, error, _("Could not save the message."));
}

GPtrArray *distill_history_get_messages(DistillHistory *self, gint64 chat_id, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  g_autoptr(sqlite3_stmt) st = prepare(self,
                                       "SELECT id, chat_id, role, content, created_at, state, starts_in_think, "
                                       "model, note, gen_tokens, tok_s, ttft_s, reasoning_s "
                                       "FROM messages WHERE chat_id = ? ORDER BY id",
                                       error, _("Could not read the chat."));
  if (!st) return NULL;
  sqlite3_bind_int64(st, 1, chat_id);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_message_free);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    DistillMessage *m = g_new0(DistillMessage, 1);
    m->id = sqlite3_column_int64(st, 0);
    m->chat_id = sqlite3_column_int64(st, 1);
    m->role = column_dup(st, 2);
    m->content = column_dup(st, 3);
    if (!m->content) m->content = g_strdup("");
    m->created = sqlite3_column_int64(st, 4);
    m->state = (DistillMessageState)sqlite3_column_int(st, 5);
    m->starts_in_think = sqlite3_column_int(st, 6) != 0;
    m->model = column_dup(st, 7);
    m->note = column_dup(st, 8);
    m->gen_tokens = sqlite3_column_int(st, 9);
    m->tok_s = sqlite3_column_double(st, 10);
    m->ttft_s = sqlite3_column_double(st, 11);
    m->reasoning_s = sqlite3_column_double(st, 12);
    g_ptr_array_add(out, m);
  }
  if (rc != SQLITE_DONE) {
    fail(self, error, _("Could not read the chat."));
    return NULL;
  }
  return g_steal_pointer(&out);
}

gboolean distill_history_delete_messages_from(DistillHistory *self, gint64 message_id, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), FALSE);
  g_autoptr(sqlite3_stmt) st =
    prepare(self, "DELETE FROM messages WHERE chat_id = (SELECT chat_id FROM messages WHERE id = ?1) AND id >= ?1",
            error, _("Could not delete the messages."));
  if (!st) return FALSE;
  sqlite3_bind_int64(st, 1, message_id);
  if (sqlite3_step(st) != SQLITE_DONE) return fail(self, error, _("Could not delete the messages."));
  return check_changed(self, error, _("Could not delete the messages."));
}

/* ---- search ------------------------------------------------------------------------ */

/* Split the query into words (blank-separated). */
static GStrv query_words(const char *query)
{
  g_auto(GStrv) parts = g_strsplit_set(query, " \t\n\r", -1);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  for (char **p = parts; *p; p++)
    if (**p) g_strv_builder_add(b, *p);
  return g_strv_builder_end(b);
}

/* "…text around the first hit…", about 30 characters either side. */
static char *make_snippet(const char *content, const char *word)
{
  g_autofree char *hay = g_ascii_strdown(content, -1);
  g_autofree char *needle = g_ascii_strdown(word, -1);
  const char *hit = strstr(hay, needle);
  glong at = hit ? g_utf8_pointer_to_offset(hay, hit) : 0;
  glong total = g_utf8_strlen(content, -1);
  glong start = MAX(0, at - 30), end = MIN(total, at + (glong)g_utf8_strlen(word, -1) + 30);
  const char *s = g_utf8_offset_to_pointer(content, start);
  const char *e = g_utf8_offset_to_pointer(content, end);
  g_autofree char *middle = g_strndup(s, (gsize)(e - s));
  for (char *p = middle; *p; p++)
    if (*p == '\n' || *p == '\t' || *p == '\r') *p = ' ';
  return g_strdup_printf("%s%s%s", start > 0 ? "…" : "", g_strstrip(middle), end < total ? "…" : "");
}

/* LIKE pattern for a word: %word% with the wildcards in it escaped. */
static char *like_pattern(const char *word)
{
  GString *s = g_string_new("%");
  for (const char *p = word; *p; p++) {
    if (*p == '%' || *p == '_' || *p == '\\') g_string_append_c(s, '\\');
    g_string_append_c(s, *p);
  }
  g_string_append_c(s, '%');
  return g_string_free(s, FALSE);
}

static int compare_newest_first(gconstpointer a, gconstpointer b)
{
  const DistillChatInfo *x = *(DistillChatInfo *const *)a, *y = *(DistillChatInfo *const *)b;
  if (x->updated != y->updated) return x->updated > y->updated ? -1 : 1;
  return x->id > y->id ? -1 : x->id < y->id ? 1 : 0;
}

GPtrArray *distill_history_search(DistillHistory *self, const char *query, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_chat_info_free);
  g_auto(GStrv) words = query_words(query ? query : "");
  guint n = g_strv_length(words);
  if (n == 0) return g_steal_pointer(&out);

  /* Words of three characters or more go through the trigram index as
   * quoted phrases; shorter ones cannot use trigrams, so they are matched
   * with LIKE over the same table (a scan, fine for a personal history). */
  GString *match = g_string_new(NULL);
  GString *sql = g_string_new("SELECT " CHAT_COLUMNS ", m.content FROM messages_fts f "
                              "JOIN messages m ON m.id = f.rowid JOIN chats c ON c.id = m.chat_id "
                              "WHERE m.role != 'notice'");
  g_autoptr(GPtrArray) likes = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < n; i++) {
    if (g_utf8_strlen(words[i], -1) >= 3) {
      g_autofree char *escaped = NULL;
      g_auto(GStrv) q = g_strsplit(words[i], "\"", -1);
      escaped = g_strjoinv("\"\"", q);
      g_string_append_printf(match, "%s\"%s\"", match->len ? " AND " : "", escaped);
    } else {
      g_ptr_array_add(likes, like_pattern(words[i]));
      g_string_append(sql, " AND f.content LIKE ? ESCAPE '\\'");
    }
  }
  if (match->len) g_string_append(sql, " AND messages_fts MATCH ?");
  g_string_append(sql, " ORDER BY c.updated_at DESC, c.id DESC, m.id");

  g_autoptr(sqlite3_stmt) st = prepare(self, sql->str, error, _("Could not search the chats."));
  g_string_free(sql, TRUE);
  if (!st) {
    g_string_free(match, TRUE);
    return NULL;
  }
  int k = 1;
  for (guint i = 0; i < likes->len; i++) sqlite3_bind_text(st, k++, g_ptr_array_index(likes, i), -1, SQLITE_TRANSIENT);
  if (match->len) sqlite3_bind_text(st, k++, match->str, -1, SQLITE_TRANSIENT);
  g_string_free(match, TRUE);

  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    gint64 id = sqlite3_column_int64(st, 0);
    if (g_hash_table_contains(seen, &id)) continue; /* one hit per chat: its first message */
    g_hash_table_add(seen, g_memdup2(&id, sizeof id));
    DistillChatInfo *c = read_chat(st);
    const char *content = (const char *)sqlite3_column_text(st, 5);
    c->snippet = make_snippet(content ? content : "", words[0]);
    g_ptr_array_add(out, c);
  }
  if (rc != SQLITE_DONE) {
    fail(self, error, _("Could not search the chats."));
    return NULL;
  }

  /* chats whose title matches every word, when no message did */
  g_autoptr(GPtrArray) all = distill_history_list_chats(self, error);
  if (!all) return NULL;
  for (guint i = 0; i < all->len; i++) {
    DistillChatInfo *c = g_ptr_array_index(all, i);
    if (g_hash_table_contains(seen, &c->id)) continue;
    g_autofree char *title = g_ascii_strdown(c->title, -1);
    gboolean all_words = TRUE;
    for (guint w = 0; w < n && all_words; w++) {
      g_autofree char *word = g_ascii_strdown(words[w], -1);
      all_words = strstr(title, word) != NULL;
    }
    if (all_words) g_ptr_array_add(out, distill_chat_info_copy(c));
  }
  /* newest first across both kinds of hit */
  g_ptr_array_sort(out, compare_newest_first);
  return g_steal_pointer(&out);
}

/* ---- export -------------------------------------------------------------------------- */

static const char *state_name(DistillMessageState s)
{
  switch (s) {
  case DISTILL_MESSAGE_COMPLETE: return "complete";
  case DISTILL_MESSAGE_STREAMING: return "interrupted";
  case DISTILL_MESSAGE_STOPPED: return "stopped";
  case DISTILL_MESSAGE_CUT: return "cut";
  case DISTILL_MESSAGE_FAILED: return "failed";
  }
  return "unknown";
}

static char *iso_time(gint64 us)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
  return t ? g_date_time_format_iso8601(t) : g_strdup("");
}

static gboolean load_chat(DistillHistory *self, gint64 chat_id, DistillChatInfo **chat, GPtrArray **msgs,
                          GError **error)
{
  *chat = distill_history_get_chat(self, chat_id, error);
  if (!*chat) return FALSE;
  *msgs = distill_history_get_messages(self, chat_id, error);
  if (!*msgs) {
    g_clear_pointer(chat, distill_chat_info_free);
    return FALSE;
  }
  return TRUE;
}

/* Markdown quote block of text ("> " before every line). */
static void append_quoted(GString *s, const char *text)
{
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (char **l = lines; *l; l++) g_string_append_printf(s, ">%s%s\n", **l ? " " : "", *l);
}

char *distill_history_export_markdown(DistillHistory *self, gint64 chat_id, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  g_autoptr(DistillChatInfo) chat = NULL;
  g_autoptr(GPtrArray) msgs = NULL;
  if (!load_chat(self, chat_id, &chat, &msgs, error)) return NULL;

  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "# %s\n\n", *chat->title ? chat->title : _("Untitled chat"));
  g_autoptr(GDateTime) created = g_date_time_new_from_unix_local(chat->created / G_USEC_PER_SEC);
  g_autofree char *when = created ? g_date_time_format(created, "%Y-%m-%d %H:%M") : g_strdup("");
  /* Translators: %s is a date and time */
  g_autofree char *started = g_strdup_printf(_("Chat started %s"), when);
  g_string_append_printf(s, "*%s*\n\n", started);
  for (guint i = 0; i < msgs->len; i++) {
    DistillMessage *m = g_ptr_array_index(msgs, i);
    if (g_str_equal(m->role, "notice")) {
      append_quoted(s, m->content);
      g_string_append_c(s, '\n');
      continue;
    }
    if (g_str_equal(m->role, "user")) {
      g_string_append_printf(s, "## %s\n\n%s\n\n", _("You"), m->content);
    } else if (g_str_equal(m->role, "system")) {
      g_string_append_printf(s, "## %s\n\n%s\n\n", _("System prompt"), m->content);
    } else {
      g_autofree char *reasoning = NULL, *answer = NULL;
      distill_reasoning_parse(m->content, m->starts_in_think, &reasoning, &answer);
      if (m->model && *m->model) g_string_append_printf(s, "## %s (%s)\n\n", _("Assistant"), m->model);
      else g_string_append_printf(s, "## %s\n\n", _("Assistant"));
      if (*reasoning) {
        g_string_append_printf(s, "<details>\n<summary>%s</summary>\n\n", _("Reasoning"));
        append_quoted(s, reasoning);
        g_string_append(s, "\n</details>\n\n");
      }
      if (*answer) g_string_append_printf(s, "%s\n\n", answer);
      if (m->state == DISTILL_MESSAGE_STOPPED) g_string_append_printf(s, "*%s*\n\n", _("(stopped)"));
      else if (m->state == DISTILL_MESSAGE_CUT) g_string_append_printf(s, "*%s*\n\n", _("(cut off)"));
      else if (m->state == DISTILL_MESSAGE_FAILED && m->note) g_string_append_printf(s, "*%s*\n\n", m->note);
    }
  }
  while (s->len > 0 && s->str[s->len - 1] == '\n') g_string_truncate(s, s->len - 1);
  g_string_append_c(s, '\n');
  return g_string_free(s, FALSE);
}

char *distill_history_export_json(DistillHistory *self, gint64 chat_id, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  g_autoptr(DistillChatInfo) chat = NULL;
  g_autoptr(GPtrArray) msgs = NULL;
  if (!load_chat(self, chat_id, &chat, &msgs, error)) return NULL;

  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "format");
  json_builder_add_string_value(b, "distill-chat");
  json_builder_set_member_name(b, "version");
  json_builder_add_int_value(b, 1);
  json_builder_set_member_name(b, "title");
  json_builder_add_string_value(b, chat->title);
  g_autofree char *created = iso_time(chat->created), *updated = iso_time(chat->updated);
  json_builder_set_member_name(b, "created");
  json_builder_add_string_value(b, created);
  json_builder_set_member_name(b, "updated");
  json_builder_add_string_value(b, updated);
  if (chat->settings) {
    g_autoptr(JsonParser) p = json_parser_new();
    if (json_parser_load_from_data(p, chat->settings, -1, NULL) && json_parser_get_root(p)) {
      json_builder_set_member_name(b, "settings");
      json_builder_add_value(b, json_node_copy(json_parser_get_root(p)));
    }
  }
  json_builder_set_member_name(b, "messages");
  json_builder_begin_array(b);
  for (guint i = 0; i < msgs->len; i++) {
    DistillMessage *m = g_ptr_array_index(msgs, i);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "role");
    json_builder_add_string_value(b, m->role);
    g_autofree char *t = iso_time(m->created);
    json_builder_set_member_name(b, "created");
    json_builder_add_string_value(b, t);
    if (g_str_equal(m->role, "assistant")) {
      g_autofree char *reasoning = NULL, *answer = NULL;
      distill_reasoning_parse(m->content, m->starts_in_think, &reasoning, &answer);
      json_builder_set_member_name(b, "content");
      json_builder_add_string_value(b, answer);
      json_builder_set_member_name(b, "reasoning");
      json_builder_add_string_value(b, reasoning);
      json_builder_set_member_name(b, "raw");
      json_builder_add_string_value(b, m->content);
      json_builder_set_member_name(b, "state");
      json_builder_add_string_value(b, state_name(m->state));
      if (m->model) {
        json_builder_set_member_name(b, "model");
        json_builder_add_string_value(b, m->model);
      }
      if (m->note) {
        json_builder_set_member_name(b, "note");
        json_builder_add_string_value(b, m->note);
      }
      json_builder_set_member_name(b, "stats");
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "tokens");
      json_builder_add_int_value(b, m->gen_tokens);
      json_builder_set_member_name(b, "tokens_per_second");
      json_builder_add_double_value(b, m->tok_s);
      json_builder_set_member_name(b, "time_to_first_token_s");
      json_builder_add_double_value(b, m->ttft_s);
      json_builder_set_member_name(b, "reasoning_s");
      json_builder_add_double_value(b, m->reasoning_s);
      json_builder_end_object(b);
    } else {
      json_builder_set_member_name(b, "content");
      json_builder_add_string_value(b, m->content);
    }
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);

  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_indent(gen, 2);
  char *text = json_generator_to_data(gen, NULL);
  return text;
}

/* ---- object --------------------------------------------------------------------------- */

static void distill_history_finalize(GObject *object)
{
  DistillHistory *self = DISTILL_HISTORY(object);
  if (self->db) sqlite3_close(self->db);
  g_free(self->path);
  G_OBJECT_CLASS(distill_history_parent_class)->finalize(object);
}

static void distill_history_class_init(DistillHistoryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->finalize = distill_history_finalize;

  /* A chat was created, renamed, deleted, or got a new message (its place in
   * the newest-first list may have changed). */
  signals[SIGNAL_CHATS_CHANGED] =
    g_signal_new("chats-changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void distill_history_init(DistillHistory *self)
{
}

/* ==== benchmark results ============================================================
 * Written by the Benchmark view (distill-benchmark.c): the runs of one
 * benchmark of one model are stored in one transaction once they are all
 * done, so a cancelled or failed benchmark leaves nothing half-written. */

DistillBenchRun *distill_bench_run_new(void)
{
  DistillBenchRun *r = g_new0(DistillBenchRun, 1);
  r->answer_ok = -1;
  return r;
}

DistillBenchRun *distill_bench_run_copy(const DistillBenchRun *run)
{
  DistillBenchRun *r = g_new0(DistillBenchRun, 1);
  *r = *run;
  r->model_path = g_strdup(run->model_path);
  r->model_name = g_strdup(run->model_name);
  r->quant = g_strdup(run->quant);
  r->backend = g_strdup(run->backend);
  r->device = g_strdup(run->device);
  r->offload = g_strdup(run->offload);
  r->version = g_strdup(run->version);
  r->prompt_name = g_strdup(run->prompt_name);
  return r;
}

void distill_bench_run_free(DistillBenchRun *run)
{
  if (!run) return;
  g_free(run->model_path);
  g_free(run->model_name);
  g_free(run->quant);
  g_free(run->backend);
  g_free(run->device);
  g_free(run->offload);
  g_free(run->version);
  g_free(run->prompt_name);
  g_free(run);
}

#define BENCH_COLUMNS                                                                                                  \
  "bench_id, created_at, model_path, model_name, quant, backend, device, offload, version, threads, prompt, "         \
  "prompt_name, run, seed, prompt_tokens, gen_tokens, prompt_tok_s, gen_tok_s, ttft_s, total_s, peak_rss_bytes, "     \
  "peak_vram_bytes, answer_ok"

static void bind_text_or_empty(sqlite3_stmt *st, int col, const char *text)
{
  sqlite3_bind_text(st, col, text ? text : "", -1, SQLITE_TRANSIENT);
}

gint64 distill_history_add_bench_runs(DistillHistory *self, GPtrArray *runs, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), 0);
  g_return_val_if_fail(runs != NULL && runs->len > 0, 0);
  const char *what = _("Could not save the benchmark results.");
  if (!exec(self, "BEGIN IMMEDIATE", error, what)) return 0;
  gint64 bench_id = 0;
  gboolean ok = FALSE;
  {
    g_autoptr(sqlite3_stmt) next = prepare(self, "SELECT COALESCE(MAX(bench_id), 0) + 1 FROM benchmark_runs", error, what);
    g_autoptr(sqlite3_stmt) ins =
      next ? prepare(self, "INSERT INTO benchmark_runs(" BENCH_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                     error, what)
           : NULL;
    if (next && ins) {
      if (sqlite3_step(next) == SQLITE_ROW) {
        bench_id = sqlite3_column_int64(next, 0);
        ok = TRUE;
      } else {
        fail(self, error, what);
      }
    }
    for (guint i = 0; ok && i < runs->len; i++) {
      DistillBenchRun *r = g_ptr_array_index(runs, i);
      sqlite3_reset(ins);
      sqlite3_bind_int64(ins, 1, bench_id);
      sqlite3_bind_int64(ins, 2, r->created);
      bind_text_or_empty(ins, 3, r->model_path);
      bind_text_or_empty(ins, 4, r->model_name);
      bind_text_or_empty(ins, 5, r->quant);
      bind_text_or_empty(ins, 6, r->backend);
      bind_text_or_empty(ins, 7, r->device);
      bind_text_or_empty(ins, 8, r->offload);
      bind_text_or_empty(ins, 9, r->version);
      sqlite3_bind_int(ins, 10, r->threads);
      sqlite3_bind_int(ins, 11, r->prompt);
      bind_text_or_empty(ins, 12, r->prompt_name);
      sqlite3_bind_int(ins, 13, r->run);
      sqlite3_bind_int64(ins, 14, (sqlite3_int64)r->seed);
      sqlite3_bind_int(ins, 15, r->prompt_tokens);
      sqlite3_bind_int(ins, 16, r->gen_tokens);
      sqlite3_bind_double(ins, 17, r->prompt_tok_s);
      sqlite3_bind_double(ins, 18, r->gen_tok_s);
      sqlite3_bind_double(ins, 19, r->ttft_s);
      sqlite3_bind_double(ins, 20, r->total_s);
      sqlite3_bind_int64(ins, 21, (sqlite3_int64)r->peak_rss_bytes);
      sqlite3_bind_int64(ins, 22, (sqlite3_int64)r->peak_vram_bytes);
      sqlite3_bind_int(ins, 23, r->answer_ok);
      if (sqlite3_step(ins) != SQLITE_DONE) {
        ok = fail(self, error, what);
        break;
      }
      r->id = sqlite3_last_insert_rowid(self->db);
    }
  }
  if (!ok) {
    sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    return 0;
  }
  if (!exec(self, "COMMIT", error, what)) {
    sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    return 0;
  }
  for (guint i = 0; i < runs->len; i++) ((DistillBenchRun *)g_ptr_array_index(runs, i))->bench_id = bench_id;
  return bench_id;
}

GPtrArray *distill_history_list_bench_runs(DistillHistory *self, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), NULL);
  g_autoptr(sqlite3_stmt) st =
    prepare(self, "SELECT id, " BENCH_COLUMNS " FROM benchmark_runs ORDER BY bench_id DESC, prompt, run, id", error,
            _("Could not read the benchmark results."));
  if (!st) return NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_bench_run_free);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    DistillBenchRun *r = distill_bench_run_new();
    r->id = sqlite3_column_int64(st, 0);
    r->bench_id = sqlite3_column_int64(st, 1);
    r->created = sqlite3_column_int64(st, 2);
    r->model_path = column_dup(st, 3);
    r->model_name = column_dup(st, 4);
    r->quant = column_dup(st, 5);
    r->backend = column_dup(st, 6);
    r->device = column_dup(st, 7);
    r->offload = column_dup(st, 8);
    r->version = column_dup(st, 9);
    r->threads = sqlite3_column_int(st, 10);
    r->prompt = sqlite3_column_int(st, 11);
    r->prompt_name = column_dup(st, 12);
    r->run = sqlite3_column_int(st, 13);
    r->seed = (guint64)sqlite3_column_int64(st, 14);
    r->prompt_tokens = sqlite3_column_int(st, 15);
    r->gen_tokens = sqlite3_column_int(st, 16);
    r->prompt_tok_s = sqlite3_column_double(st, 17);
    r->gen_tok_s = sqlite3_column_double(st, 18);
    r->ttft_s = sqlite3_column_double(st, 19);
    r->total_s = sqlite3_column_double(st, 20);
    r->peak_rss_bytes = (guint64)sqlite3_column_int64(st, 21);
    r->peak_vram_bytes = (guint64)sqlite3_column_int64(st, 22);
    r->answer_ok = sqlite3_column_int(st, 23);
    g_ptr_array_add(out, r);
  }
  if (rc != SQLITE_DONE) {
    fail(self, error, _("Could not read the benchmark results."));
    return NULL;
  }
  return g_steal_pointer(&out);
}

gboolean distill_history_delete_bench_runs(DistillHistory *self, gint64 bench_id, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_HISTORY(self), FALSE);
  const char *what = _("Could not delete the benchmark results.");
  g_autoptr(sqlite3_stmt) st =
    prepare(self, bench_id ? "DELETE FROM benchmark_runs WHERE bench_id = ?" : "DELETE FROM benchmark_runs", error, what);
  if (!st) return FALSE;
  if (bench_id) sqlite3_bind_int64(st, 1, bench_id);
  if (sqlite3_step(st) != SQLITE_DONE) return fail(self, error, what);
  return TRUE;
}
