/* catalog.c — the built-in R1 catalog (see catalog.h).
 *
 * Quality of a quantized model. Only two kinds of published numbers exist:
 * benchmark scores of the full-precision distills, and the perplexity
 * increase each quantization causes (R1-Distill-Llama-70B on wiki.test:
 * Q8_0 +0.03 %, Q6_K +0.47 %, Q5_K_M +1.23 %, Q4_K_M +4.83 %, Q3_K_M
 * +18.75 %, Q2_K +68.73 %). We combine them as
 *
 *     quality = benchmark_mean / sqrt(1 + ppl_increase)
 *
 * i.e. a relative benchmark loss of about half the relative perplexity
 * increase for small changes (Q4_K_M: −2.3 %, Q5_K_M: −0.6 %), growing for
 * large ones (Q3_K_M: −8.2 %, Q2_K: −23 %). This is a heuristic, chosen
 * because reported reasoning-benchmark losses of Q4_K_M R1 distills are a
 * point or two, well under the 4.8 % perplexity change, while Q2_K output
 * is known to break down. benchmark_mean is the plain mean of AIME 2024
 * pass@1, MATH-500, GPQA Diamond and LiveCodeBench (four different skills,
 * all on a 0–100 scale).
 */
#include "catalog.h"

#include <math.h>
#include <string.h>

#define GB(x) ((uint64_t)((x) * 1e9 + 0.5))

/* file sizes: index = still_quant_mix (Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K, Q8_0, F16) */
static const still_catalog_model models[] = {
  {"qwen-1.5b", "deepseek-r1:1.5b", 1.8, 28.9, 52.7, 83.9, 33.8, 16.9, 954,
   {GB(0.753), GB(0.924), 1117320576u, GB(1.29), GB(1.46), GB(1.89), GB(3.56)}},
  {"qwen-7b", "deepseek-r1:7b", 7.6, 55.5, 83.3, 92.8, 49.1, 37.6, 1189,
   {GB(3.02), GB(3.81), 4683073216u, GB(5.44), GB(6.25), GB(8.1), GB(15.2)}},
  {"llama-8b", "deepseek-r1:8b-llama-distill-q4_K_M", 8.0, 50.4, 80.0, 89.1, 49.0, 39.6, 1205,
   {GB(3.18), GB(4.02), GB(4.92), GB(5.73), GB(6.6), GB(8.54), GB(16.1)}},
  {"qwen-14b", "deepseek-r1:14b", 14.8, 69.7, 80.0, 93.9, 59.1, 53.1, 1481,
   {GB(5.77), GB(7.34), 8988109920u, GB(10.5), GB(12.1), GB(15.7), GB(29.5)}},
  {"qwen-32b", "deepseek-r1:32b", 32.8, 72.6, 83.3, 94.3, 62.1, 57.2, 1691,
   {GB(12.3), 15935047584u, GB(19.9), GB(23.3), 26886154144u, GB(34.8), GB(65.5)}},
  {"llama-70b", "deepseek-r1:70b", 70.6, 70.0, 86.7, 94.5, 65.2, 57.5, 1633,
   {GB(26.4), GB(34.3), GB(42.5), GB(49.9), GB(57.9), GB(74.9), 0}},
};
#define N_MODELS (sizeof models / sizeof models[0])

static const still_catalog_quant quants[] = {
  {STILL_MIX_Q2_K, 68.73},  {STILL_MIX_Q3_K_M, 18.75}, {STILL_MIX_Q4_K_M, 4.83}, {STILL_MIX_Q5_K_M, 1.23},
  {STILL_MIX_Q6_K, 0.47},   {STILL_MIX_Q8_0, 0.03},    {STILL_MIX_F16, 0.0},
};
#define N_QUANTS (sizeof quants / sizeof quants[0])

size_t still_catalog_n_models(void)
{
  return N_MODELS;
}

const still_catalog_model *still_catalog_model_at(size_t i)
{
  return i < N_MODELS ? &models[i] : NULL;
}

const still_catalog_model *still_catalog_find(const char *shape_id)
{
  for (size_t i = 0; shape_id && i < N_MODELS; i++)
    if (strcmp(models[i].shape_id, shape_id) == 0) return &models[i];
  return NULL;
}

size_t still_catalog_n_quants(void)
{
  return N_QUANTS;
}

const still_catalog_quant *still_catalog_quant_at(size_t i)
{
  return i < N_QUANTS ? &quants[i] : NULL;
}

double still_catalog_benchmark_mean(const still_catalog_model *m)
{
  return (m->aime2024 + m->math500 + m->gpqa_diamond + m->livecodebench) / 4.0;
}

double still_catalog_quality(const still_catalog_model *m, still_quant_mix mix)
{
  double ppl = -1.0;
  for (size_t i = 0; i < N_QUANTS; i++)
    if (quants[i].mix == mix) ppl = quants[i].ppl_increase_pct;
  if (ppl < 0) return 0.0;
  return still_catalog_benchmark_mean(m) / sqrt(1.0 + ppl / 100.0);
}
