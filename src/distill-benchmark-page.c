/* distill-benchmark-page.c — the Benchmark view of the main window. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-benchmark-page.h"

struct _DistillBenchmarkPage {
  AdwBin parent_instance;

  AdwStatusPage *status_page;
};

G_DEFINE_FINAL_TYPE(DistillBenchmarkPage, distill_benchmark_page, ADW_TYPE_BIN)

static void distill_benchmark_page_class_init(DistillBenchmarkPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  /* AdwBin owns and disposes its child, the template's root. */
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-benchmark-page.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillBenchmarkPage, status_page);
}

static void distill_benchmark_page_init(DistillBenchmarkPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
}
