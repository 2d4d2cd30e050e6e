/* distill-chat-settings.h — the settings of one chat (sampling, context,
 * reasoning budget, system prompt), stored as JSON with the chat; and the
 * model files the chat can pick from. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  double temperature;
  double top_p;
  int max_tokens;       /* 0: no limit */
  int n_ctx;            /* context size in tokens */
  int reasoning_budget; /* 0: no limit */
  char *system_prompt;  /* "" for none (DeepSeek advises none for R1) */
  int context_used;     /* tokens in the context after the last answer (for the meter) */
} DistillChatSettings;

/* DeepSeek's recommendations for R1 and its distills: temperature 0.6,
 * top-p 0.95, no system prompt. */
void distill_chat_settings_reset(DistillChatSettings *cs, int n_ctx);
void distill_chat_settings_clear(DistillChatSettings *cs);
/* Defaults, then what json (may be NULL or invalid) says. */
void distill_chat_settings_load(DistillChatSettings *cs, const char *json, int n_ctx_default);
char *distill_chat_settings_to_json(const DistillChatSettings *cs);

/* GGUF files in folder and its subfolders (three levels), sorted by file
 * name; of a model split in parts only the first part. */
GPtrArray *distill_find_model_files(const char *folder);
/* The file name without ".gguf". */
char *distill_model_display_name(const char *path);

G_END_DECLS
