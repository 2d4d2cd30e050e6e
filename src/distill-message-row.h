/* distill-message-row.h — one message of a chat: a question bubble, an
 * answer with its reasoning folded away, or a notice from the app. */
#pragma once

#include <adwaita.h>

#include "distill-history.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_MESSAGE_ROW (distill_message_row_get_type())
G_DECLARE_FINAL_TYPE(DistillMessageRow, distill_message_row, DISTILL, MESSAGE_ROW, AdwBin)

/* A row showing msg (copied: role, text, state and statistics).
 * Signals: "edit" (a question: edit and resend), "regenerate" (the last answer). */
GtkWidget *distill_message_row_new(const DistillMessage *msg);

gint64 distill_message_row_get_message_id(DistillMessageRow *self);
void distill_message_row_set_message_id(DistillMessageRow *self, gint64 id);
const char *distill_message_row_get_role(DistillMessageRow *self);
/* The whole text (an answer with its reasoning, as the model wrote it). */
const char *distill_message_row_get_text(DistillMessageRow *self);
/* What Copy puts on the clipboard: the question, or the answer without the reasoning. */
char *distill_message_row_dup_copy_text(DistillMessageRow *self);

/* Streaming an answer: start empty, append text as it comes, then finish
 * with the final record (state and statistics). */
void distill_message_row_begin_stream(DistillMessageRow *self, gboolean starts_in_think);
void distill_message_row_append(DistillMessageRow *self, const char *delta);
void distill_message_row_finish(DistillMessageRow *self, const DistillMessage *final);
gboolean distill_message_row_is_streaming(DistillMessageRow *self);
/* Seconds the reasoning took (measured while streaming, or as stored). */
double distill_message_row_get_reasoning_seconds(DistillMessageRow *self);
/* The reasoning as shown so far. */
char *distill_message_row_dup_reasoning(DistillMessageRow *self);
/* The answer as shown so far (without the reasoning). */
char *distill_message_row_dup_answer(DistillMessageRow *self);

/* Whether the reasoning section is open; new rows follow the "reasoning-expanded" preference. */
gboolean distill_message_row_get_reasoning_expanded(DistillMessageRow *self);
/* More for the statistics' tooltip (after the model's name), e.g. where the layers ran. */
void distill_message_row_set_details(DistillMessageRow *self, const char *details);

/* Whether the Regenerate button shows (only on the last answer) and whether
 * Edit / Regenerate are usable (not while a generation runs). */
void distill_message_row_set_can_regenerate(DistillMessageRow *self, gboolean can);
void distill_message_row_set_actions_sensitive(DistillMessageRow *self, gboolean sensitive);

G_END_DECLS
