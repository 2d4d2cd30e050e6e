#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DISTILL_TYPE_CHAT_PAGE (distill_chat_page_get_type())
G_DECLARE_FINAL_TYPE(DistillChatPage, distill_chat_page, DISTILL, CHAT_PAGE, AdwBin)

G_END_DECLS
