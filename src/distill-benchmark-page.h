#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DISTILL_TYPE_BENCHMARK_PAGE (distill_benchmark_page_get_type())
G_DECLARE_FINAL_TYPE(DistillBenchmarkPage, distill_benchmark_page, DISTILL, BENCHMARK_PAGE, AdwBin)

G_END_DECLS
