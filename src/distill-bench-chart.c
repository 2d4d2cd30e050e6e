/* distill-bench-chart.c — horizontal bars of tokens per second.
 *
 * One row per bar: on the left the label and, under it in a dimmer line, the
 * detail (where it was measured); on the right the bar on a linear scale
 * from 0 with "nice" grid steps, and its value after it. Results measured
 * here are solid in the accent colour; published figures are lighter, hatched
 * and their detail starts with "Published", so they differ in more than
 * colour. Colours come from the widget's style, so dark mode works.
 *
 * Everything is drawn with cairo inside one snapshot node. For screen
 * readers the widget is an image whose description lists every bar. */
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "distill-bench-chart.h"

typedef struct {
  char *label;
  char *detail;
  double value;
  double high;
  gboolean published;
} Bar;

struct _DistillBenchChart {
  GtkWidget parent_instance;
  GArray *bars; /* Bar */
};

G_DEFINE_FINAL_TYPE(DistillBenchChart, distill_bench_chart, GTK_TYPE_WIDGET)

/* geometry, in pixels */
#define ROW_HEIGHT 44
#define ROW_GAP 6
#define BAR_HEIGHT 18
#define AXIS_HEIGHT 24
#define PAD 12
#define LABEL_GAP 16

static void bar_clear(Bar *b)
{
  g_free(b->label);
  g_free(b->detail);
}

/* "12.3", "1,234" — the value as people read it (locale digits grouping) */
static char *format_tok_s(double v)
{
  if (v >= 100 || v == floor(v)) return g_strdup_printf("%'.0f", v);
  if (v >= 10) return g_strdup_printf("%.1f", v);
  return g_strdup_printf("%.2f", v);
}

static char *bar_value_text(const Bar *b)
{
  g_autofree char *lo = format_tok_s(b->value);
  if (b->high > b->value) {
    g_autofree char *hi = format_tok_s(b->high);
    /* Translators: a published range of generation speeds, e.g. "90–110 tok/s" */
    return g_strdup_printf(_("%1$s–%2$s tok/s"), lo, hi);
  }
  /* Translators: a generation speed, e.g. "143.2 tok/s" */
  return g_strdup_printf(_("%s tok/s"), lo);
}

/* An axis tick: as many decimals as the step needs. */
static char *format_tick(double v, double step)
{
  if (step >= 1) return g_strdup_printf("%'.0f", v);
  int decimals = (int)ceil(-log10(step));
  return g_strdup_printf("%.*f", CLAMP(decimals, 1, 4), v);
}

/* The smallest 1, 2 or 5 × 10^k step that splits max into at most 5 parts. */
static double nice_step(double max)
{
  if (max <= 0) return 1;
  double raw = max / 5;
  double mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  double step = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return step * mag;
}

static double scale_max(DistillBenchChart *self, double *step_out)
{
  double max = 0;
  for (guint i = 0; i < self->bars->len; i++) {
    const Bar *b = &g_array_index(self->bars, Bar, i);
    max = MAX(max, MAX(b->value, b->high));
  }
  double step = nice_step(max);
  *step_out = step;
  return MAX(step, ceil(max / step) * step);
}

GtkWidget *distill_bench_chart_new(void)
{
  return g_object_new(DISTILL_TYPE_BENCH_CHART, NULL);
}

static void update_accessible(DistillBenchChart *self)
{
  g_autofree char *desc = distill_bench_chart_describe(self);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, desc, -1);
}

void distill_bench_chart_clear(DistillBenchChart *self)
{
  g_return_if_fail(DISTILL_IS_BENCH_CHART(self));
  g_array_set_size(self->bars, 0);
  update_accessible(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
}

void distill_bench_chart_add_bar(DistillBenchChart *self, const char *label, const char *detail, double value,
                                 double high, gboolean published)
{
  g_return_if_fail(DISTILL_IS_BENCH_CHART(self));
  Bar b = {
    .label = g_strdup(label ? label : ""),
    .detail = g_strdup(detail ? detail : ""),
    .value = isfinite(value) && value > 0 ? value : 0,
    .published = published,
  };
  b.high = isfinite(high) && high > b.value ? high : b.value;
  g_array_append_val(self->bars, b);
  update_accessible(self);
  gtk_widget_queue_resize(GTK_WIDGET(self));
}

guint distill_bench_chart_get_n_bars(DistillBenchChart *self)
{
  g_return_val_if_fail(DISTILL_IS_BENCH_CHART(self), 0);
  return self->bars->len;
}

char *distill_bench_chart_describe(DistillBenchChart *self)
{
  g_return_val_if_fail(DISTILL_IS_BENCH_CHART(self), NULL);
  if (self->bars->len == 0) return g_strdup(_("Generation speed: no results yet."));
  GString *s = g_string_new(_("Generation speed in tokens per second."));
  for (guint i = 0; i < self->bars->len; i++) {
    const Bar *b = &g_array_index(self->bars, Bar, i);
    g_autofree char *value = bar_value_text(b);
    g_string_append_c(s, '\n');
    if (b->published)
      /* Translators: one line of the chart's text alternative: model, hardware, speed */
      g_string_append_printf(s, _("%1$s, published for %2$s: %3$s"), b->label, b->detail, value);
    else
      /* Translators: one line of the chart's text alternative: model, where it ran, speed */
      g_string_append_printf(s, _("%1$s, measured here (%2$s): %3$s"), b->label, b->detail, value);
  }
  return g_string_free(s, FALSE);
}

/* ---- drawing ---- */

static void get_colors(GtkWidget *widget, GdkRGBA *fg, GdkRGBA *accent)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GtkStyleContext *ctx = gtk_widget_get_style_context(widget);
  gtk_style_context_get_color(ctx, fg);
  if (!gtk_style_context_lookup_color(ctx, "accent_bg_color", accent)) gdk_rgba_parse(accent, "#3584e4");
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void set_rgba(cairo_t *cr, const GdkRGBA *c, double alpha)
{
  cairo_set_source_rgba(cr, c->red, c->green, c->blue, c->alpha * alpha);
}

static char *detail_text(const Bar *b)
{
  /* Translators: the second line of a published figure in the chart: its hardware */
  return b->published ? g_strdup_printf(_("Published · %s"), b->detail) : g_strdup(b->detail);
}

/* The detail line: smaller than the label. */
static PangoLayout *detail_layout(GtkWidget *widget, const Bar *b)
{
  g_autofree char *text = detail_text(b);
  PangoLayout *l = gtk_widget_create_pango_layout(widget, text);
  PangoAttrList *attrs = pango_attr_list_new();
  pango_attr_list_insert(attrs, pango_attr_scale_new(PANGO_SCALE_SMALL));
  pango_layout_set_attributes(l, attrs);
  pango_attr_list_unref(attrs);
  return l;
}

static PangoLayout *label_layout(GtkWidget *widget, const Bar *b)
{
  PangoLayout *l = gtk_widget_create_pango_layout(widget, b->label);
  if (!b->published) {
    PangoAttrList *attrs = pango_attr_list_new();
    pango_attr_list_insert(attrs, pango_attr_weight_new(PANGO_WEIGHT_BOLD));
    pango_layout_set_attributes(l, attrs);
    pango_attr_list_unref(attrs);
  }
  return l;
}

static int label_column_width(DistillBenchChart *self, int width)
{
  int widest = 0;
  for (guint i = 0; i < self->bars->len; i++) {
    const Bar *b = &g_array_index(self->bars, Bar, i);
    g_autoptr(PangoLayout) l = label_layout(GTK_WIDGET(self), b);
    g_autoptr(PangoLayout) d = detail_layout(GTK_WIDGET(self), b);
    int w, h, dw, dh;
    pango_layout_get_pixel_size(l, &w, &h);
    pango_layout_get_pixel_size(d, &dw, &dh);
    widest = MAX(widest, MAX(w, dw));
  }
  /* long file names are ellipsized rather than squeezing the bars */
  return CLAMP(widest, 80, MAX(80, width * 2 / 5));
}

static void draw_text(cairo_t *cr, PangoLayout *l, double x, double y)
{
  cairo_move_to(cr, x, y);
  pango_cairo_show_layout(cr, l);
}

static void hatch(cairo_t *cr, double x, double y, double w, double h)
{
  cairo_save(cr);
  cairo_rectangle(cr, x, y, w, h);
  cairo_clip(cr);
  cairo_set_line_width(cr, 1.5);
  for (double t = x - h; t < x + w; t += 6) {
    cairo_move_to(cr, t, y + h);
    cairo_line_to(cr, t + h, y);
  }
  cairo_stroke(cr);
  cairo_restore(cr);
}

static void distill_bench_chart_snapshot(GtkWidget *widget, GtkSnapshot *snapshot)
{
  DistillBenchChart *self = DISTILL_BENCH_CHART(widget);
  const int width = gtk_widget_get_width(widget), height = gtk_widget_get_height(widget);
  if (width <= 0 || height <= 0) return;
  GdkRGBA fg, accent;
  get_colors(widget, &fg, &accent);
  cairo_t *cr = gtk_snapshot_append_cairo(snapshot, &GRAPHENE_RECT_INIT(0, 0, width, height));

  if (self->bars->len == 0) {
    g_autoptr(PangoLayout) l = gtk_widget_create_pango_layout(widget, _("No results yet. Run the benchmark to see "
                                                                       "your speed beside published figures."));
    pango_layout_set_width(l, (width - 2 * PAD) * PANGO_SCALE);
    pango_layout_set_alignment(l, PANGO_ALIGN_CENTER);
    pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
    int tw, th;
    pango_layout_get_pixel_size(l, &tw, &th);
    set_rgba(cr, &fg, 0.55);
    draw_text(cr, l, PAD, MAX(0, (height - th) / 2));
    cairo_destroy(cr);
    return;
  }

  const int label_w = label_column_width(self, width);
  const double x0 = PAD + label_w + LABEL_GAP;
  /* room for the value text after the longest bar */
  const double plot_w = MAX(40.0, width - x0 - PAD - 110);
  double step;
  const double max = scale_max(self, &step);
  const double plot_h = (double)self->bars->len * (ROW_HEIGHT + ROW_GAP);
  const double top = PAD;

  /* grid and axis labels */
  cairo_set_line_width(cr, 1);
  for (double v = 0; v <= max + step / 2; v += step) {
    double x = round(x0 + v / max * plot_w) + 0.5;
    set_rgba(cr, &fg, v == 0 ? 0.45 : 0.15);
    cairo_move_to(cr, x, top);
    cairo_line_to(cr, x, top + plot_h);
    cairo_stroke(cr);
    g_autofree char *t = format_tick(v, step);
    g_autoptr(PangoLayout) l = gtk_widget_create_pango_layout(widget, t);
    int tw, th;
    pango_layout_get_pixel_size(l, &tw, &th);
    set_rgba(cr, &fg, 0.6);
    draw_text(cr, l, x - tw / 2.0, top + plot_h + 4);
  }
  {
    g_autoptr(PangoLayout) l = gtk_widget_create_pango_layout(widget, _("tokens per second"));
    int tw, th;
    pango_layout_get_pixel_size(l, &tw, &th);
    set_rgba(cr, &fg, 0.6);
    draw_text(cr, l, PAD, top + plot_h + 4);
  }

  for (guint i = 0; i < self->bars->len; i++) {
    const Bar *b = &g_array_index(self->bars, Bar, i);
    const double y = top + i * (ROW_HEIGHT + ROW_GAP);

    /* label and detail */
    g_autoptr(PangoLayout) ll = label_layout(widget, b);
    pango_layout_set_width(ll, label_w * PANGO_SCALE);
    pango_layout_set_ellipsize(ll, PANGO_ELLIPSIZE_MIDDLE);
    set_rgba(cr, &fg, 1.0);
    draw_text(cr, ll, PAD, y + 2);
    g_autoptr(PangoLayout) dl = detail_layout(widget, b);
    pango_layout_set_width(dl, label_w * PANGO_SCALE);
    pango_layout_set_ellipsize(dl, PANGO_ELLIPSIZE_END);
    set_rgba(cr, &fg, 0.65);
    draw_text(cr, dl, PAD, y + ROW_HEIGHT / 2.0 + 2);

    /* the bar */
    const double by = y + (ROW_HEIGHT - BAR_HEIGHT) / 2.0;
    const double w_lo = b->value / max * plot_w, w_hi = b->high / max * plot_w;
    if (b->published) {
      /* range: solid-ish to the low end, lighter to the high end; hatched throughout */
      set_rgba(cr, &accent, 0.35);
      cairo_rectangle(cr, x0, by, w_lo, BAR_HEIGHT);
      cairo_fill(cr);
      if (w_hi > w_lo) {
        set_rgba(cr, &accent, 0.18);
        cairo_rectangle(cr, x0 + w_lo, by, w_hi - w_lo, BAR_HEIGHT);
        cairo_fill(cr);
      }
      set_rgba(cr, &fg, 0.35);
      hatch(cr, x0, by, MAX(w_hi, 1), BAR_HEIGHT);
      set_rgba(cr, &accent, 0.9);
      cairo_set_line_width(cr, 1);
      cairo_rectangle(cr, x0 + 0.5, by + 0.5, MAX(w_hi - 1, 0), BAR_HEIGHT - 1);
      cairo_stroke(cr);
      if (w_hi > w_lo) {
        /* the low end of the range, as a tick across the bar */
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, x0 + w_lo, by - 3);
        cairo_line_to(cr, x0 + w_lo, by + BAR_HEIGHT + 3);
        cairo_stroke(cr);
      }
    } else {
      set_rgba(cr, &accent, 1.0);
      cairo_rectangle(cr, x0, by, MAX(w_lo, 1), BAR_HEIGHT);
      cairo_fill(cr);
    }

    /* the value after the bar */
    g_autofree char *vt = bar_value_text(b);
    g_autoptr(PangoLayout) vl = gtk_widget_create_pango_layout(widget, vt);
    int tw, th;
    pango_layout_get_pixel_size(vl, &tw, &th);
    set_rgba(cr, &fg, b->published ? 0.75 : 1.0);
    draw_text(cr, vl, x0 + MAX(w_lo, w_hi) + 6, by + (BAR_HEIGHT - th) / 2.0);
  }
  cairo_destroy(cr);
}

static void distill_bench_chart_measure(GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                                        int *natural, int *minimum_baseline, int *natural_baseline)
{
  DistillBenchChart *self = DISTILL_BENCH_CHART(widget);
  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    *minimum = 280;
    *natural = 640;
  } else {
    int h = self->bars->len == 0 ? 96 : 2 * PAD + (int)self->bars->len * (ROW_HEIGHT + ROW_GAP) + AXIS_HEIGHT;
    *minimum = *natural = h;
  }
}

/* The bar under the pointer, in words. */
static gboolean distill_bench_chart_query_tooltip(GtkWidget *widget, int x, int y, gboolean keyboard,
                                                  GtkTooltip *tooltip)
{
  DistillBenchChart *self = DISTILL_BENCH_CHART(widget);
  if (y < PAD) return FALSE;
  guint i = (guint)((y - PAD) / (ROW_HEIGHT + ROW_GAP));
  if (i >= self->bars->len) return FALSE;
  const Bar *b = &g_array_index(self->bars, Bar, i);
  g_autofree char *value = bar_value_text(b);
  g_autofree char *text = b->published
                            ? g_strdup_printf(_("%1$s, published for %2$s: %3$s"), b->label, b->detail, value)
                            : g_strdup_printf(_("%1$s, measured here (%2$s): %3$s"), b->label, b->detail, value);
  gtk_tooltip_set_text(tooltip, text);
  return TRUE;
}

static void distill_bench_chart_css_changed(GtkWidget *widget, GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS(distill_bench_chart_parent_class)->css_changed(widget, change);
  gtk_widget_queue_draw(widget); /* dark mode, accent colour */
}

static void distill_bench_chart_finalize(GObject *object)
{
  DistillBenchChart *self = DISTILL_BENCH_CHART(object);
  g_array_unref(self->bars); /* the clear function frees each bar's strings */
  G_OBJECT_CLASS(distill_bench_chart_parent_class)->finalize(object);
}

static void distill_bench_chart_class_init(DistillBenchChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  object_class->finalize = distill_bench_chart_finalize;
  widget_class->snapshot = distill_bench_chart_snapshot;
  widget_class->measure = distill_bench_chart_measure;
  widget_class->query_tooltip = distill_bench_chart_query_tooltip;
  widget_class->css_changed = distill_bench_chart_css_changed;
  gtk_widget_class_set_css_name(widget_class, "benchchart");
  gtk_widget_class_set_accessible_role(widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void distill_bench_chart_init(DistillBenchChart *self)
{
  self->bars = g_array_new(FALSE, TRUE, sizeof(Bar));
  g_array_set_clear_func(self->bars, (GDestroyNotify)bar_clear);
  gtk_widget_set_has_tooltip(GTK_WIDGET(self), TRUE);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Chart of generation speeds"), -1);
  update_accessible(self);
}
