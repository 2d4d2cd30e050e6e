/* sampler.h — choose the next token from the logits.
 *
 * Order of the chain (as llama.cpp's default): repetition penalty → top-k →
 * top-p → min-p → temperature → draw. With temperature <= 0 the choice is
 * the argmax after the penalty (lowest id wins a tie). top-p and min-p look
 * at the distribution before temperature.
 */
#ifndef STILL_SAMPLER_H
#define STILL_SAMPLER_H

#include "still.h"

#include <stdint.h>

typedef struct still_sampler still_sampler;

/* NULL on out of memory. */
still_sampler *still_sampler_new(const still_sampling *p, int32_t n_vocab);
void still_sampler_free(still_sampler *s);

/* Remember a token for the repetition penalty (prompt tokens and generated ones). */
void still_sampler_accept(still_sampler *s, int32_t token);
/* Forget the history (new conversation). */
void still_sampler_reset_history(still_sampler *s);

/* Pick a token from n_vocab logits (not modified). */
int32_t still_sampler_sample(still_sampler *s, const float *logits);

/* Argmax, lowest id on ties. */
int32_t still_argmax(const float *x, int32_t n);

/* The random generator: xoshiro256** seeded through splitmix64. */
typedef struct {
  uint64_t s[4];
} still_rng;
void still_rng_seed(still_rng *r, uint64_t seed);
uint64_t still_rng_next(still_rng *r);
/* Uniform in [0, 1) with 53 bits. */
double still_rng_uniform(still_rng *r);

#endif /* STILL_SAMPLER_H */
