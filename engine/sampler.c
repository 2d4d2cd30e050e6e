/* sampler.c — repetition penalty, top-k, top-p, min-p, temperature, seeded
 * draw; greedy argmax. See sampler.h for the order of the chain. */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int32_t id;
  float logit;
  float p;
} candidate;

struct still_sampler {
  still_sampling params;
  int32_t n_vocab;
  still_rng rng;
  candidate *cand;  /* [n_vocab] */
  float *penalized; /* [n_vocab] working copy of the logits */
  int32_t *history; /* ring of the last repeat_last_n tokens */
  int32_t hist_cap, hist_len, hist_head;
  uint8_t *seen;    /* [n_vocab] marks while applying the penalty */
};

/* ---- rng -------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void still_rng_seed(still_rng *r, uint64_t seed)
{
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
  return (x << k) | (x >> (64 - k));
}

uint64_t still_rng_next(still_rng *r)
{
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double still_rng_uniform(still_rng *r)
{
  return (double)(still_rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- public defaults ------------------------------------------------------ */

still_sampling still_sampling_greedy(void)
{
  return (still_sampling){
    .temperature = 0.0f, .top_k = 0, .top_p = 1.0f, .min_p = 0.0f, .repeat_penalty = 1.0f, .repeat_last_n = 64,
    .seed = STILL_SEED_RANDOM, .max_tokens = 0, .ignore_eog = false,
  };
}

still_sampling still_sampling_default(void)
{
  still_sampling s = still_sampling_greedy();
  s.temperature = 0.8f;
  s.top_k = 40;
  s.top_p = 0.95f;
  s.min_p = 0.05f;
  return s;
}

still_sampling still_sampling_r1(void)
{
  /* DeepSeek's recommendation for the R1 distills (model cards and
   * generation_config.json): temperature 0.6, top-p 0.95. */
  still_sampling s = still_sampling_greedy();
  s.temperature = 0.6f;
  s.top_p = 0.95f;
  return s;
}

/* ---- sampler ---------------------------------------------------------------- */

still_sampler *still_sampler_new(const still_sampling *p, int32_t n_vocab)
{
  if (!p || n_vocab < 1) return NULL;
  still_sampler *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->params = *p;
  s->n_vocab = n_vocab;
  s->hist_cap = p->repeat_last_n > 0 ? p->repeat_last_n : 0;
  s->cand = malloc((size_t)n_vocab * sizeof *s->cand);
  s->penalized = malloc((size_t)n_vocab * sizeof *s->penalized);
  s->seen = calloc((size_t)n_vocab, 1);
  s->history = malloc((size_t)(s->hist_cap > 0 ? s->hist_cap : 1) * sizeof *s->history);
  if (!s->cand || !s->penalized || !s->seen || !s->history) {
    still_sampler_free(s);
    return NULL;
  }
  uint64_t seed = p->seed;
  if (seed == STILL_SEED_RANDOM) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)s;
  }
  still_rng_seed(&s->rng, seed);
  return s;
}

void still_sampler_free(still_sampler *s)
{
  if (!s) return;
  free(s->cand);
  free(s->penalized);
  free(s->seen);
  free(s->history);
  free(s);
}

void still_sampler_accept(still_sampler *s, int32_t token)
{
  if (!s || s->hist_cap == 0) return;
  s->history[s->hist_head] = token;
  s->hist_head = (s->hist_head + 1) % s->hist_cap;
  if (s->hist_len < s->hist_cap) s->hist_len++;
}

void still_sampler_reset_history(still_sampler *s)
{
  if (!s) return;
  s->hist_len = 0;
  s->hist_head = 0;
}

int32_t still_argmax(const float *x, int32_t n)
{
  int32_t best = 0;
  for (int32_t i = 1; i < n; i++)
    if (x[i] > x[best]) best = i; /* strict: the lowest id keeps a tie */
  return best;
}

/* Higher logit first; equal logits by lower id (deterministic order). */
static int cmp_candidate(const void *a, const void *b)
{
  const candidate *x = a, *y = b;
  if (x->logit != y->logit) return x->logit > y->logit ? -1 : 1;
  return (x->id > y->id) - (x->id < y->id);
}

/* Move the k best candidates (by cmp_candidate) to the front, sorted.
 * A bounded insertion into a sorted front keeps this O(n·log k)-ish for the
 * small k we use; large k falls back to a full sort. */
static void select_top(candidate *c, int32_t n, int32_t k)
{
  if (k >= n || k > 2048) {
    qsort(c, (size_t)n, sizeof *c, cmp_candidate);
    return;
  }
  /* keep c[0..k) as a sorted list of the best seen so far */
  qsort(c, (size_t)k, sizeof *c, cmp_candidate);
  for (int32_t i = k; i < n; i++) {
    if (cmp_candidate(&c[i], &c[k - 1]) >= 0) continue;
    candidate x = c[i];
    int32_t lo = 0, hi = k - 1; /* first position where x sorts before */
    while (lo < hi) {
      int32_t mid = (lo + hi) / 2;
      if (cmp_candidate(&x, &c[mid]) < 0) hi = mid;
      else lo = mid + 1;
    }
    c[i] = c[k - 1];
    memmove(&c[lo + 1], &c[lo], (size_t)(k - 1 - lo) * sizeof *c);
    c[lo] = x;
  }
}

/* Softmax over c[0..n) into .p (F32 result, double sum). */
static void softmax_candidates(candidate *c, int32_t n, float temperature)
{
  float max = c[0].logit;
  for (int32_t i = 1; i < n; i++)
    if (c[i].logit > max) max = c[i].logit;
  double sum = 0.0;
  for (int32_t i = 0; i < n; i++) {
    float e = expf((c[i].logit - max) / temperature);
    c[i].p = e;
    sum += e;
  }
  for (int32_t i = 0; i < n; i++) c[i].p = (float)(c[i].p / sum);
}

static void apply_penalty(still_sampler *s, float *logits)
{
  float pen = s->params.repeat_penalty;
  if (pen == 1.0f || s->hist_len == 0) return;
  /* each distinct token is penalised once, however often it occurred */
  for (int32_t i = 0; i < s->hist_len; i++) {
    int32_t t = s->history[i];
    if (t < 0 || t >= s->n_vocab || s->seen[t]) continue;
    s->seen[t] = 1;
    logits[t] = logits[t] > 0.0f ? logits[t] / pen : logits[t] * pen;
  }
  for (int32_t i = 0; i < s->hist_len; i++) {
    int32_t t = s->history[i];
    if (t >= 0 && t < s->n_vocab) s->seen[t] = 0;
  }
}

int32_t still_sampler_sample(still_sampler *s, const float *logits)
{
  const still_sampling *p = &s->params;
  const int32_t n_vocab = s->n_vocab;
  float *x = s->penalized;
  memcpy(x, logits, (size_t)n_vocab * sizeof *x);
  apply_penalty(s, x);
  if (!(p->temperature > 0.0f)) return still_argmax(x, n_vocab);

  candidate *c = s->cand;
  int32_t n = 0;
  for (int32_t i = 0; i < n_vocab; i++) {
    if (isnan(x[i]) || x[i] == -INFINITY) continue; /* never drawn */
    c[n++] = (candidate){.id = i, .logit = x[i]};
  }
  if (n == 0) return still_argmax(x, n_vocab);

  /* top-k */
  if (p->top_k > 0 && p->top_k < n) {
    select_top(c, n, p->top_k);
    n = p->top_k;
  }

  /* top-p: the smallest set of best tokens whose probability reaches top_p.
   * Sort only as much as needed: try the best 256, then 4x more, … */
  bool sorted = p->top_k > 0;
  if (p->top_p < 1.0f) {
    softmax_candidates(c, n, 1.0f);
    int32_t k = n < 256 ? n : 256;
    for (;;) {
      if (!sorted || k < n) select_top(c, n, k);
      double cum = 0.0;
      int32_t keep = -1;
      for (int32_t i = 0; i < k; i++) {
        cum += c[i].p;
        if (cum >= p->top_p) {
          keep = i + 1;
          break;
        }
      }
      if (keep > 0) {
        n = keep;
        break;
      }
      if (k == n) break; /* rounding: the whole set never reaches top_p */
      k = k * 4 < n ? k * 4 : n;
    }
    sorted = true;
  }

  /* min-p: drop tokens whose probability is below min_p × the best one's */
  if (p->min_p > 0.0f && n > 1) {
    float max = c[0].logit;
    for (int32_t i = 1; i < n; i++)
      if (c[i].logit > max) max = c[i].logit;
    /* p_i / p_max = exp(l_i - l_max) */
    float cut = max + logf(p->min_p);
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
      if (c[i].logit >= cut) c[m++] = c[i];
    n = m;
  }

  /* temperature, then draw */
  softmax_candidates(c, n, p->temperature);
  double r = still_rng_uniform(&s->rng), cum = 0.0;
  for (int32_t i = 0; i < n; i++) {
    cum += c[i].p;
    if (r < cum) return c[i].id;
  }
  return c[n - 1].id;
}
