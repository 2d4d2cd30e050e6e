/* distill-library-page.c — the Library view of the main window. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-library-page.h"

struct _DistillLibraryPage {
  AdwBin parent_instance;

  AdwStatusPage *status_page;
};

G_DEFINE_FINAL_TYPE(DistillLibraryPage, distill_library_page, ADW_TYPE_BIN)

static void distill_library_page_class_init(DistillLibraryPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  /* AdwBin owns and disposes its child, the template's root. */
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-library-page.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillLibraryPage, status_page);
}

static void distill_library_page_init(DistillLibraryPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
}
