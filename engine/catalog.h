/* catalog.h — the built-in R1 catalog the recommender ranks.
 *
 * Small and factual: the six original DeepSeek-R1 distills with their
 * published benchmark scores and file sizes, and the quantizations
 * offered, with the published perplexity increase of each (measured on
 * R1-Distill-Llama-70B, wiki.test). Shapes come from fit-shapes.c. The app
 * keeps its richer list (download names, hashes) in data/catalog.json.
 * Sources: ../shared/published-figures.md and catalog-facts.md.
 */
#ifndef STILL_CATALOG_H
#define STILL_CATALOG_H

#include "fit-shapes.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *shape_id;     /* fit-shapes.c id, e.g. "qwen-14b" */
  const char *ollama_tag;   /* "deepseek-r1:14b" */
  double params_b;          /* published parameter count, billions */
  /* DeepSeek's published reasoning benchmarks, pass@1 unless noted (percent) */
  double aime2024;
  double aime2024_cons64;
  double math500;
  double gpqa_diamond;
  double livecodebench;
  int codeforces_rating;
  /* published file sizes in bytes (decimal GB as the Hub shows them, exact
   * bytes where a page showed them), by still_quant_mix; 0 = not published */
  uint64_t file_bytes[STILL_MIX_F32];
} still_catalog_model;

typedef struct {
  still_quant_mix mix;
  double ppl_increase_pct;  /* perplexity increase vs F16, percent */
} still_catalog_quant;

size_t still_catalog_n_models(void);
const still_catalog_model *still_catalog_model_at(size_t i);
const still_catalog_model *still_catalog_find(const char *shape_id);

size_t still_catalog_n_quants(void);
const still_catalog_quant *still_catalog_quant_at(size_t i);

/* Mean of AIME 2024 pass@1, MATH-500, GPQA Diamond and LiveCodeBench. */
double still_catalog_benchmark_mean(const still_catalog_model *m);

/* Expected quality of a model at a quantization, in benchmark points:
 * mean / sqrt(1 + ppl_increase). See catalog.c for why. */
double still_catalog_quality(const still_catalog_model *m, still_quant_mix mix);

#endif /* STILL_CATALOG_H */
