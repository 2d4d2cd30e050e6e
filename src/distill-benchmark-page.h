/* distill-benchmark-page.h — the Benchmark view: pick installed models, run
 * the published two-prompt benchmark (distill-benchmark.h) with progress and
 * cancel, see the stored results as a table and a chart beside published
 * figures, export them as CSV or JSON. */
#pragma once

#include <adwaita.h>

#include "distill-engine.h"
#include "distill-history.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_BENCHMARK_PAGE (distill_benchmark_page_get_type())
G_DECLARE_FINAL_TYPE(DistillBenchmarkPage, distill_benchmark_page, DISTILL, BENCHMARK_PAGE, AdwBin)

/* The engine, the history the results are stored in and the models folder
 * (NULL: the models-folder setting, else the default). Without a call, the
 * page uses the app's engine and history when it is first shown. */
void distill_benchmark_page_set_services(DistillBenchmarkPage *self, DistillEngine *engine, DistillHistory *history,
                                         const char *models_dir);

/* For tests: reread the models and the stored results now. */
void distill_benchmark_page_refresh(DistillBenchmarkPage *self);

G_END_DECLS
