/* distill-chat-page.c — the Chat view of the main window. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-chat-page.h"

struct _DistillChatPage {
  AdwBin parent_instance;

  AdwStatusPage *status_page;
};

G_DEFINE_FINAL_TYPE(DistillChatPage, distill_chat_page, ADW_TYPE_BIN)

static void distill_chat_page_class_init(DistillChatPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  /* AdwBin owns and disposes its child, the template's root. */
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-chat-page.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillChatPage, status_page);
}

static void distill_chat_page_init(DistillChatPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
}
