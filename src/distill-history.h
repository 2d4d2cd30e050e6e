/* distill-history.h — the chat store: SQLite with an FTS5 index, one row per
 * message, written as it is created and updated while it streams. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DISTILL_HISTORY_ERROR (distill_history_error_quark())
GQuark distill_history_error_quark(void);

typedef enum {
  DISTILL_HISTORY_ERROR_OPEN,       /* the file could not be opened or created */
  DISTILL_HISTORY_ERROR_TOO_NEW,    /* written by a newer Distill (unknown schema version) */
  DISTILL_HISTORY_ERROR_CORRUPT,    /* not a history database, or damaged */
  DISTILL_HISTORY_ERROR_NOT_FOUND,  /* no such chat or message */
  DISTILL_HISTORY_ERROR_FAILED,     /* any other SQLite failure (disk full …) */
} DistillHistoryError;

/* The schema version this build writes. */
#define DISTILL_HISTORY_SCHEMA_VERSION 4

typedef enum {
  DISTILL_MESSAGE_COMPLETE = 0,  /* finished normally */
  DISTILL_MESSAGE_STREAMING = 1, /* being written (after a crash: interrupted) */
  DISTILL_MESSAGE_STOPPED = 2,   /* the user pressed Stop */
  DISTILL_MESSAGE_CUT = 3,       /* out of tokens or context: the text ends early */
  DISTILL_MESSAGE_FAILED = 4,    /* an error; note says which */
} DistillMessageState;

typedef struct {
  gint64 id;
  char *title;
  gint64 created; /* µs since the epoch (g_get_real_time) */
  gint64 updated;
  char *settings; /* per-chat settings as JSON, or NULL */
  char *snippet;  /* search results only: the matching text around the hit */
} DistillChatInfo;

typedef struct {
  gint64 id;
  gint64 chat_id;
  char *role;    /* "system", "user", "assistant", or "notice" (said by the app, never sent to the model) */
  char *content; /* the whole text (an answer includes its reasoning) */
  gint64 created;
  DistillMessageState state;
  gboolean starts_in_think; /* the prompt opened the reasoning block (see distill-reasoning.h) */
  char *model;              /* model name for answers, or NULL */
  char *note;               /* e.g. the error in plain words, or NULL */
  int gen_tokens;
  double tok_s;
  double ttft_s;
  double reasoning_s;
} DistillMessage;

DistillChatInfo *distill_chat_info_copy(const DistillChatInfo *info);
void distill_chat_info_free(DistillChatInfo *info);
DistillMessage *distill_message_new(const char *role, const char *content);
DistillMessage *distill_message_copy(const DistillMessage *msg);
void distill_message_free(DistillMessage *msg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillChatInfo, distill_chat_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillMessage, distill_message_free)

#define DISTILL_TYPE_HISTORY (distill_history_get_type())
G_DECLARE_FINAL_TYPE(DistillHistory, distill_history, DISTILL, HISTORY, GObject)

/* $XDG_DATA_HOME/distill/history.db */
char *distill_history_default_path(void);

/* Open (creating the file and its folder when missing) and migrate to the
 * current schema. Signals: "chats-changed" after a chat is created, renamed,
 * deleted or touched (a new message). */
DistillHistory *distill_history_open(const char *path, GError **error);
const char *distill_history_get_path(DistillHistory *self);
int distill_history_get_schema_version(DistillHistory *self);

gint64 distill_history_create_chat(DistillHistory *self, const char *title, GError **error);
gboolean distill_history_rename_chat(DistillHistory *self, gint64 chat_id, const char *title, GError **error);
gboolean distill_history_delete_chat(DistillHistory *self, gint64 chat_id, GError **error);
gboolean distill_history_set_chat_settings(DistillHistory *self, gint64 chat_id, const char *json, GError **error);
DistillChatInfo *distill_history_get_chat(DistillHistory *self, gint64 chat_id, GError **error);
/* Newest (last activity) first. Array of DistillChatInfo*, freed with the array. */
GPtrArray *distill_history_list_chats(DistillHistory *self, GError **error);

/* Store msg in the chat; sets msg->id, msg->chat_id and msg->created. */
gboolean distill_history_add_message(DistillHistory *self, gint64 chat_id, DistillMessage *msg, GError **error);
/* Write content, state, stats and note of msg (by msg->id). */
gboolean distill_history_update_message(DistillHistory *self, const DistillMessage *msg, GError **error);
/* In order. Array of DistillMessage*, freed with the array. */
GPtrArray *distill_history_get_messages(DistillHistory *self, gint64 chat_id, GError **error);
/* Delete the message and every later one of its chat (edit and resend, regenerate). */
gboolean distill_history_delete_messages_from(DistillHistory *self, gint64 message_id, GError **error);

/* Chats whose messages (or title) contain every word of query, newest first,
 * each with a snippet of the first hit. Case-insensitive for ASCII letters;
 * any script (the index is by trigrams, so Chinese works without spaces). */
GPtrArray *distill_history_search(DistillHistory *self, const char *query, GError **error);

/* The chat as a Markdown document / as JSON (UTF-8, caller frees). */
char *distill_history_export_markdown(DistillHistory *self, gint64 chat_id, GError **error);
char *distill_history_export_json(DistillHistory *self, gint64 chat_id, GError **error);

/* ==== benchmark results ======================================================
 * One row per timed run of the standard benchmark (distill-benchmark.h). The
 * runs of one benchmark of one model share a bench_id; a benchmark is stored
 * whole (one transaction) once all its runs are done, never in part. */
typedef struct {
  gint64 id;
  gint64 bench_id;      /* set by distill_history_add_bench_runs() */
  gint64 created;       /* µs since the epoch: when the benchmark of this model started */
  char *model_path;
  char *model_name;     /* the file name without ".gguf" */
  char *quant;          /* "Q4_K_M"; "unknown" when the file does not say */
  char *backend;        /* "CPU", "Vulkan" or "CPU + Vulkan" */
  char *device;         /* the GPU's name; "" on the CPU */
  char *offload;        /* the engine's own words: "offload: 0/28 layers on a GPU (CPU only)" */
  char *version;        /* engine version */
  int threads;          /* CPU threads */
  int prompt;           /* index of the standard prompt */
  char *prompt_name;    /* its stable name: "average-speed" */
  int run;              /* 1-based, within the prompt */
  guint64 seed;
  int prompt_tokens;    /* evaluated */
  int gen_tokens;
  double prompt_tok_s;  /* prompt tokens / prompt time (the engine's counts and times) */
  double gen_tok_s;     /* generated tokens / generation time */
  double ttft_s;        /* time to the first token */
  double total_s;       /* prompt + generation time */
  guint64 peak_rss_bytes;
  guint64 peak_vram_bytes; /* 0 on the CPU */
  int answer_ok;        /* prompt 0: 1 when the answer says 75 km/h, else 0; other prompts: -1 */
} DistillBenchRun;

DistillBenchRun *distill_bench_run_new(void);
DistillBenchRun *distill_bench_run_copy(const DistillBenchRun *run);
void distill_bench_run_free(DistillBenchRun *run);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillBenchRun, distill_bench_run_free)

/* Store the runs (DistillBenchRun*) of one benchmark together: all or none.
 * Sets their id and bench_id; returns the bench_id, 0 on error. */
gint64 distill_history_add_bench_runs(DistillHistory *self, GPtrArray *runs, GError **error);
/* Every stored run: newest benchmark first, then by prompt and run. Array of
 * DistillBenchRun*, freed with the array. */
GPtrArray *distill_history_list_bench_runs(DistillHistory *self, GError **error);
/* Delete the runs of one benchmark; bench_id 0: every benchmark result. */
gboolean distill_history_delete_bench_runs(DistillHistory *self, gint64 bench_id, GError **error);

G_END_DECLS
