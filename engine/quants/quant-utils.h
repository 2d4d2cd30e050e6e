/* quant-utils.h — helpers shared by the scalar quantizers (internal to
 * engine/quants; not part of the engine API). */
#ifndef STILL_QUANT_UTILS_H
#define STILL_QUANT_UTILS_H

#include "blocks.h"
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* Round to nearest (ties to even) and clamp to [lo, hi]; NaN goes to lo.
 * This is the inner loop of every quantizer, so it avoids libm calls:
 * after the clamp |v| is small, and adding 1.5 * 2^23 leaves the rounded
 * integer in the low mantissa bits (float arithmetic rounds to nearest
 * even). Needs |lo|, |hi| < 2^22. */
static inline int quant_round_clamp(float v, int lo, int hi)
{
  v = v > (float)lo ? v : (float)lo; /* written so that it compiles to maxss/minss, no branch */
  v = v < (float)hi ? v : (float)hi;
  const float t = v + 12582912.0f;
  int32_t bits;
  memcpy(&bits, &t, sizeof bits);
  return (bits & 0x007FFFFF) - 0x00400000;
}

static inline float quant_half_to_float(still_half h) { return still_fp16_to_fp32(h); }
static inline still_half quant_float_to_half(float f) { return still_fp32_to_fp16(f); }
/* f rounded to the nearest fp16 value, as a float. */
static inline float quant_round_half(float f) { return still_fp16_to_fp32(still_fp32_to_fp16(f)); }

/* The value with the largest magnitude, sign kept (first one on ties; 0 when
 * all are zero or NaN). */
static inline float quant_signed_absmax(const float *x, int n)
{
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; i++) {
    const float a = fabsf(x[i]);
    if (a > amax) {
      amax = a;
      max = x[i];
    }
  }
  return max;
}

/* ---- scale searches (scale-search.c) ------------------------------------------------
 * A "grid" is the set of values a code can stand for: either the integers
 * lo..hi (table == NULL) or a sorted table of n integers (IQ4's non-linear
 * values). Codes are indexes 0..n-1 into the grid. */
typedef struct {
  const int8_t *table; /* sorted ascending, or NULL for lo..hi */
  const float *mid;    /* with a table: the n-1 midpoints between neighbours */
  int n;               /* number of codes */
  int lo, hi;          /* smallest and largest value */
} quant_grid;

/* Symmetric super-block of QK_K values: x ≈ d * ls[j] * grid[code], with
 * sub-blocks of `sub` values, integer sub-block scales ls[j] in
 * [sc_lo, sc_hi] and d an fp16 value (returned). Writes QK_K codes and
 * QK_K / sub scales. */
float still_quant_superblock_sym(const float *x, int sub, const quant_grid *g, int sc_lo, int sc_hi,
                                 uint8_t *codes, int *ls);

/* Best float scale for one block of n values with codes on the grid
 * (x ≈ scale * grid[code]); writes the codes for that scale when codes is
 * not NULL. 0 for an all-zero block. */
float still_quant_fit_sym(const float *x, int n, const quant_grid *g, uint8_t *codes);

/* Codes for a fixed scale; returns the squared error. */
float still_quant_assign_sym(const float *x, int n, const quant_grid *g, float scale, uint8_t *codes);

/* Asymmetric super-block: x ≈ d * ls[j] * q - dmin * lm[j], q in 0..nmax,
 * ls and lm in 0..smax, d and dmin fp16 values >= 0 (d returned, dmin in
 * *dmin_out). */
float still_quant_superblock_asym(const float *x, int sub, int nmax, int smax, uint8_t *q, uint8_t *ls,
                                  uint8_t *lm, float *dmin_out);

#endif /* STILL_QUANT_UTILS_H */
