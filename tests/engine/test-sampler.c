/* test-sampler.c — the sampler chain on hand-made distributions. */
#include "test-common.h"

#include "sampler.h"
#include "still.h"

#include <math.h>
#include <string.h>

#define N_DRAWS 4000

/* logits = ln(p) so that softmax gives p back */
static void logits_from_probs(const double *p, float *logits, int n)
{
  for (int i = 0; i < n; i++) logits[i] = p[i] > 0 ? (float)log(p[i]) : -INFINITY;
}

/* Draw N_DRAWS tokens with one sampler and count them. */
static void draw_counts(const still_sampling *sp, const float *logits, int n, int *counts)
{
  still_sampler *s = still_sampler_new(sp, n);
  g_assert_nonnull(s);
  memset(counts, 0, sizeof(int) * (size_t)n);
  for (int i = 0; i < N_DRAWS; i++) {
    int32_t t = still_sampler_sample(s, logits);
    g_assert_cmpint(t, >=, 0);
    g_assert_cmpint(t, <, n);
    counts[t]++;
  }
  still_sampler_free(s);
}

static still_sampling sampling_t1(void)
{
  still_sampling sp = still_sampling_greedy();
  sp.temperature = 1.0f;
  sp.seed = 1234;
  return sp;
}

static void test_greedy_ties(void)
{
  float logits[] = {1.0f, 3.0f, 3.0f, 2.0f, 3.0f};
  g_assert_cmpint(still_argmax(logits, 5), ==, 1);
  still_sampling sp = still_sampling_greedy();
  still_sampler *s = still_sampler_new(&sp, 5);
  for (int i = 0; i < 10; i++) g_assert_cmpint(still_sampler_sample(s, logits), ==, 1);
  still_sampler_free(s);
  float neg[] = {-5.0f, -1.0f, -1.0f};
  g_assert_cmpint(still_argmax(neg, 3), ==, 1);
}

static void test_temperature(void)
{
  const double p[] = {0.5, 0.3, 0.15, 0.05};
  float logits[4];
  int counts[4];
  logits_from_probs(p, logits, 4);
  still_sampling sp = sampling_t1();
  draw_counts(&sp, logits, 4, counts);
  for (int i = 0; i < 4; i++) {
    double f = (double)counts[i] / N_DRAWS;
    g_assert_cmpfloat(fabs(f - p[i]), <, 0.03); /* ~4 standard deviations */
  }
  /* a very low temperature is (almost surely) the argmax */
  sp.temperature = 0.01f;
  draw_counts(&sp, logits, 4, counts);
  g_assert_cmpint(counts[0], ==, N_DRAWS);
  /* a high temperature flattens: the rarest token gets much more than 5% */
  sp.temperature = 3.0f;
  draw_counts(&sp, logits, 4, counts);
  g_assert_cmpint(counts[3], >, N_DRAWS * 0.15);
}

static void test_top_k(void)
{
  const double p[] = {0.1, 0.4, 0.05, 0.3, 0.15};
  float logits[5];
  int counts[5];
  logits_from_probs(p, logits, 5);
  still_sampling sp = sampling_t1();
  sp.top_k = 2; /* ids 1 and 3 */
  draw_counts(&sp, logits, 5, counts);
  g_assert_cmpint(counts[0] + counts[2] + counts[4], ==, 0);
  g_assert_cmpfloat(fabs((double)counts[1] / N_DRAWS - 0.4 / 0.7), <, 0.03);
  sp.top_k = 1;
  draw_counts(&sp, logits, 5, counts);
  g_assert_cmpint(counts[1], ==, N_DRAWS);
}

static void test_top_p(void)
{
  const double p[] = {0.15, 0.5, 0.05, 0.3};
  float logits[4];
  int counts[4];
  logits_from_probs(p, logits, 4);
  still_sampling sp = sampling_t1();
  sp.top_p = 0.7f; /* 0.5 < 0.7 <= 0.8: ids 1 and 3 */
  draw_counts(&sp, logits, 4, counts);
  g_assert_cmpint(counts[0] + counts[2], ==, 0);
  g_assert_cmpfloat(fabs((double)counts[1] / N_DRAWS - 0.5 / 0.8), <, 0.03);
  sp.top_p = 0.45f; /* the best alone reaches it */
  draw_counts(&sp, logits, 4, counts);
  g_assert_cmpint(counts[1], ==, N_DRAWS);
  sp.top_p = 0.9f; /* 0.5+0.3+0.15 = 0.95: three tokens, not the 0.05 one */
  draw_counts(&sp, logits, 4, counts);
  g_assert_cmpint(counts[2], ==, 0);
  g_assert_cmpint(counts[0], >, 0);

  /* a flat distribution over many tokens: the nucleus is larger than the
   * first partial sort (256), ties are ordered by id, so exactly ids
   * 0..900 of 1000 may appear for top_p 0.9005 (901 × 0.001) */
  enum { N = 1000 };
  static float flat[N];
  static int fc[N];
  for (int i = 0; i < N; i++) flat[i] = 0.25f;
  sp.top_p = 0.9005f;
  draw_counts(&sp, flat, N, fc);
  int seen_high = 0, seen_low = 0;
  for (int i = 0; i < N; i++) {
    if (i > 900) seen_high += fc[i];
    else if (fc[i]) seen_low++;
  }
  g_assert_cmpint(seen_high, ==, 0);
  g_assert_cmpint(seen_low, >, 800);
}

static void test_min_p(void)
{
  const double p[] = {0.5, 0.3, 0.15, 0.05};
  float logits[4];
  int counts[4];
  logits_from_probs(p, logits, 4);
  still_sampling sp = sampling_t1();
  sp.min_p = 0.2f; /* keep p >= 0.1: ids 0, 1, 2 */
  draw_counts(&sp, logits, 4, counts);
  g_assert_cmpint(counts[3], ==, 0);
  g_assert_cmpint(counts[2], >, 0);
  sp.min_p = 0.35f; /* keep p >= 0.175: ids 0, 1 */
  draw_counts(&sp, logits, 4, counts);
  g_assert_cmpint(counts[2] + counts[3], ==, 0);
  g_assert_cmpfloat(fabs((double)counts[0] / N_DRAWS - 0.5 / 0.8), <, 0.03);
}

static void test_seed(void)
{
  enum { N = 50 };
  float logits[N];
  for (int i = 0; i < N; i++) logits[i] = (float)sin(i * 1.7);
  still_sampling sp = sampling_t1();
  sp.seed = 42;
  int32_t a[64], b[64], c[64];
  still_sampler *s1 = still_sampler_new(&sp, N), *s2 = still_sampler_new(&sp, N);
  sp.seed = 43;
  still_sampler *s3 = still_sampler_new(&sp, N);
  for (int i = 0; i < 64; i++) {
    a[i] = still_sampler_sample(s1, logits);
    b[i] = still_sampler_sample(s2, logits);
    c[i] = still_sampler_sample(s3, logits);
  }
  g_assert_cmpmem(a, sizeof a, b, sizeof b);
  g_assert_true(memcmp(a, c, sizeof a) != 0);
  still_sampler_free(s1);
  still_sampler_free(s2);
  still_sampler_free(s3);

  /* the generator itself is a fixed sequence for a seed */
  still_rng r1, r2;
  still_rng_seed(&r1, 7);
  still_rng_seed(&r2, 7);
  for (int i = 0; i < 100; i++) {
    g_assert_cmpuint(still_rng_next(&r1), ==, still_rng_next(&r2));
    double u = still_rng_uniform(&r1);
    (void)still_rng_uniform(&r2);
    g_assert_cmpfloat(u, >=, 0.0);
    g_assert_cmpfloat(u, <, 1.0);
  }
}

static void test_repetition_penalty(void)
{
  float logits[] = {2.0f, 1.9f, -1.0f, -1.1f};
  still_sampling sp = still_sampling_greedy();
  sp.repeat_penalty = 1.5f;
  sp.repeat_last_n = 3;
  still_sampler *s = still_sampler_new(&sp, 4);
  g_assert_cmpint(still_sampler_sample(s, logits), ==, 0);
  still_sampler_accept(s, 0);
  still_sampler_accept(s, 0); /* counted once: 2.0 / 1.5 = 1.33 < 1.9 */
  g_assert_cmpint(still_sampler_sample(s, logits), ==, 1);
  /* the logits themselves are not modified */
  g_assert_cmpfloat(logits[0], ==, 2.0f);
  /* three more tokens push 0 out of the window of 3 */
  still_sampler_accept(s, 2);
  still_sampler_accept(s, 2);
  still_sampler_accept(s, 2);
  g_assert_cmpint(still_sampler_sample(s, logits), ==, 0);
  still_sampler_free(s);

  /* negative logits are multiplied: -1.0 * 1.5 = -1.5 < -1.1 */
  float neg[] = {-1.0f, -1.1f};
  s = still_sampler_new(&sp, 2);
  still_sampler_accept(s, 0);
  g_assert_cmpint(still_sampler_sample(s, neg), ==, 1);
  still_sampler_reset_history(s);
  g_assert_cmpint(still_sampler_sample(s, neg), ==, 0);
  still_sampler_free(s);
}

static void test_defaults(void)
{
  still_sampling r1 = still_sampling_r1();
  g_assert_cmpfloat(r1.temperature, ==, 0.6f);
  g_assert_cmpfloat(r1.top_p, ==, 0.95f);
  g_assert_cmpfloat(r1.repeat_penalty, ==, 1.0f);
  still_sampling gr = still_sampling_greedy();
  g_assert_cmpfloat(gr.temperature, ==, 0.0f);
  still_sampling d = still_sampling_default();
  g_assert_cmpfloat(d.temperature, >, 0.0f);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/sampler/greedy-ties", test_greedy_ties);
  g_test_add_func("/sampler/temperature", test_temperature);
  g_test_add_func("/sampler/top-k", test_top_k);
  g_test_add_func("/sampler/top-p", test_top_p);
  g_test_add_func("/sampler/min-p", test_min_p);
  g_test_add_func("/sampler/seed", test_seed);
  g_test_add_func("/sampler/repetition-penalty", test_repetition_penalty);
  g_test_add_func("/sampler/defaults", test_defaults);
  return g_test_run();
}
