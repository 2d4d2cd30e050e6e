/* distill-bench-chart.h — a horizontal bar chart of generation speed
 * (tokens per second): the results measured here beside published figures
 * for other hardware, which are drawn hatched and lighter and say so. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DISTILL_TYPE_BENCH_CHART (distill_bench_chart_get_type())
G_DECLARE_FINAL_TYPE(DistillBenchChart, distill_bench_chart, DISTILL, BENCH_CHART, GtkWidget)

GtkWidget *distill_bench_chart_new(void);

void distill_bench_chart_clear(DistillBenchChart *self);
/* A bar, drawn in the order added. label: what was measured ("…-7B-Q4_K_M"),
 * detail: where ("this computer · CPU, 8 threads" / "RTX 4090, Ollama").
 * value: tok/s; published figures given as a range run from value to high
 * (high <= value: a single figure). */
void distill_bench_chart_add_bar(DistillBenchChart *self, const char *label, const char *detail, double value,
                                 double high, gboolean published);
guint distill_bench_chart_get_n_bars(DistillBenchChart *self);

/* The chart in words, one bar per line (its text alternative, also given to
 * assistive technologies as the description). Caller frees. */
char *distill_bench_chart_describe(DistillBenchChart *self);

G_END_DECLS
