/* distill-chat-page.h — the Chat view: chats in a sidebar, the messages of
 * one chat, the composer, the model picker and the chat's settings. */
#pragma once

#include <adwaita.h>

#include "distill-engine.h"
#include "distill-history.h"
#include "distill-model-picker.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_CHAT_PAGE (distill_chat_page_get_type())
G_DECLARE_FINAL_TYPE(DistillChatPage, distill_chat_page, DISTILL, CHAT_PAGE, AdwBin)

/* engine NULL: the app's engine (distill_engine_get_default()); history
 * NULL: the history at distill_history_default_path(). */
GtkWidget *distill_chat_page_new(DistillEngine *engine, DistillHistory *history);

DistillEngine *distill_chat_page_get_engine(DistillChatPage *self);
DistillHistory *distill_chat_page_get_history(DistillChatPage *self);
/* The chat shown (0: a new chat not saved yet). */
gint64 distill_chat_page_get_chat_id(DistillChatPage *self);
void distill_chat_page_open_chat(DistillChatPage *self, gint64 chat_id);
gboolean distill_chat_page_is_generating(DistillChatPage *self);
/* Load a model file (as the model picker does). */
void distill_chat_page_load_model(DistillChatPage *self, const char *path);
/* Use a model of a remote connection (Preferences → Connections) instead. */
void distill_chat_page_use_remote_model(DistillChatPage *self, const char *endpoint_id, const char *model);
DistillModelPicker *distill_chat_page_get_model_picker(DistillChatPage *self);

G_END_DECLS
