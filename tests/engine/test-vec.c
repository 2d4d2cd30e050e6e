/* test-vec.c — CPU dot products and activation quantizers, every type on
 * every ISA this machine supports (scalar, AVX2, AVX-512, AVX-512 VNNI).
 *
 * Three independent checks:
 *  1. each SIMD kernel equals the scalar kernel (integer parts are exact,
 *     only the order of float additions differs: 1e-5 of Σ|w·a|);
 *  2. the scalar kernel equals the double-precision dot product of the
 *     dequantized weights and activations, where the dequantizers are the
 *     ones in quants/ (written separately: the two decoders check each
 *     other);
 *  3. hand-made blocks with known answers, and quantizer edge cases (ties,
 *     zeros, sign of the largest value), bit-identical across ISAs.
 * Weights are both random bytes (every bit pattern, with finite fp16
 * scales) and the output of the reference quantizers.
 */
#include "test-common.h"

#include "cpu/cpu-features.h"
#include "cpu/vec.h"
#include "gguf.h"
#include "quants/blocks.h"
#include "types.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- deterministic random numbers ------------------------------------ */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng_next(void)
{
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_uniform(void) /* [0, 1) */
{
  return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
}

static float rng_normal(void)
{
  double u = rng_uniform(), v = rng_uniform();
  if (u < 1e-300) u = 1e-300;
  return (float)(sqrt(-2.0 * log(u)) * cos(2.0 * G_PI * v));
}

/* random finite fp16 with magnitude in [2^-8, 2^-1] and random sign */
static still_half rng_scale(void)
{
  float mag = ldexpf(1.0f + (float)rng_uniform(), -(int)(1 + rng_next() % 8));
  if (rng_next() & 1) mag = -mag;
  return still_fp32_to_fp16(mag);
}

/* ---- helpers --------------------------------------------------------- */

static const uint32_t weight_types[] = {
  STILL_TYPE_F32,  STILL_TYPE_F16,  STILL_TYPE_BF16, STILL_TYPE_Q4_0,   STILL_TYPE_Q4_1,
  STILL_TYPE_Q5_0, STILL_TYPE_Q5_1, STILL_TYPE_Q8_0, STILL_TYPE_Q2_K,   STILL_TYPE_Q3_K,
  STILL_TYPE_Q4_K, STILL_TYPE_Q5_K, STILL_TYPE_Q6_K, STILL_TYPE_IQ4_NL, STILL_TYPE_IQ4_XS,
};

static size_t row_bytes(uint32_t type, int64_t n)
{
  uint64_t bytes;
  g_assert_true(still_type_bytes(type, (uint64_t)n, &bytes));
  return (size_t)bytes;
}

/* Random bytes for a row, then the fp16 scale fields made finite. */
static void random_row_bytes(uint32_t type, void *dst, int64_t n)
{
  const still_type_traits *t = still_type_get(type);
  const size_t bytes = row_bytes(type, n);
  uint8_t *p = dst;
  for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)rng_next();
  if (!t->quantized) {
    /* float types: random normal values, not random bit patterns (NaN/inf) */
    float *tmp = g_new(float, n);
    for (int64_t i = 0; i < n; i++) tmp[i] = rng_normal();
    t->from_float(tmp, dst, n);
    g_free(tmp);
    return;
  }
  const int64_t nb = n / t->block_size;
  for (int64_t b = 0; b < nb; b++) {
    void *blk = p + (size_t)b * t->type_size;
    switch (type) {
    case STILL_TYPE_Q4_0: ((block_q4_0 *)blk)->d = rng_scale(); break;
    case STILL_TYPE_Q4_1: ((block_q4_1 *)blk)->d = rng_scale(); ((block_q4_1 *)blk)->m = rng_scale(); break;
    case STILL_TYPE_Q5_0: ((block_q5_0 *)blk)->d = rng_scale(); break;
    case STILL_TYPE_Q5_1: ((block_q5_1 *)blk)->d = rng_scale(); ((block_q5_1 *)blk)->m = rng_scale(); break;
    case STILL_TYPE_Q8_0: ((block_q8_0 *)blk)->d = rng_scale(); break;
    case STILL_TYPE_Q2_K: ((block_q2_K *)blk)->d = rng_scale(); ((block_q2_K *)blk)->dmin = rng_scale(); break;
    case STILL_TYPE_Q3_K: ((block_q3_K *)blk)->d = rng_scale(); break;
    case STILL_TYPE_Q4_K: ((block_q4_K *)blk)->d = rng_scale(); ((block_q4_K *)blk)->dmin = rng_scale(); break;
    case STILL_TYPE_Q5_K: ((block_q5_K *)blk)->d = rng_scale(); ((block_q5_K *)blk)->dmin = rng_scale(); break;
    case STILL_TYPE_Q6_K: ((block_q6_K *)blk)->d = rng_scale(); break;
    case STILL_TYPE_IQ4_NL: ((block_iq4_nl *)blk)->d = rng_scale(); break;
    case STILL_TYPE_IQ4_XS: ((block_iq4_xs *)blk)->d = rng_scale(); break;
    default: g_assert_not_reached();
    }
  }
}

/* Activations: normal values, some blocks scaled up or down, a few outliers
 * (as in real hidden states). */
static void random_activations(float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++) x[i] = rng_normal();
  for (int64_t i = 0; i < n; i += 32) {
    const float s = ldexpf(1.0f, (int)(rng_next() % 9) - 4);
    for (int64_t j = i; j < i + 32 && j < n; j++) x[j] *= s;
  }
  if (n > 8)
    for (int k = 0; k < 3; k++) x[rng_next() % (uint64_t)n] *= 20.0f;
}

static double dot_double(const float *a, const float *b, int64_t n, double *abs_sum)
{
  double s = 0.0, m = 0.0;
  for (int64_t i = 0; i < n; i++) {
    s += (double)a[i] * b[i];
    m += fabs((double)a[i] * b[i]);
  }
  *abs_sum = m;
  return s;
}

/* Q4_1 / Q5_1 use s = fp16(d·Σq) of the Q8_1 block for the offset term,
 * where d is the float scale before its own rounding to fp16; the
 * dequantized activations use fp16(d). Two fp16 roundings: the offset term
 * differs by up to |m|·|s|·2^-10 per block (plus fp16 subnormal steps). */
static double offset_slack(uint32_t wtype, const void *x, const void *y, int64_t n)
{
  if (wtype != STILL_TYPE_Q4_1 && wtype != STILL_TYPE_Q5_1) return 0.0;
  const block_q8_1 *yb = y;
  double slack = 0.0;
  for (int64_t b = 0; b < n / 32; b++) {
    const still_half m = wtype == STILL_TYPE_Q4_1 ? ((const block_q4_1 *)x)[b].m : ((const block_q5_1 *)x)[b].m;
    const double am = fabs(still_fp16_to_fp32(m));
    slack += am * fabs(still_fp16_to_fp32(yb[b].s)) * ldexp(1.01, -10) + am * ldexp(1.0, -23);
  }
  return slack;
}

typedef struct {
  double worst_simd; /* max |simd - scalar| / Σ|w·a| seen */
  double worst_ref;  /* max |scalar - dequant| / Σ|w·a| seen */
} error_stats;

/* One row: every ISA against scalar, scalar against the dequantized dot. */
static void check_row(uint32_t wtype, const void *x, const float *act, int64_t n, error_stats *st)
{
  const uint32_t vtype = still_vec_dot_type(wtype);
  const still_type_traits *vt = still_type_get(vtype);
  const still_type_traits *wt = still_type_get(wtype);
  g_assert_nonnull(vt);
  const size_t ybytes = row_bytes(vtype, n);
  void *y = g_malloc(ybytes);
  void *y2 = g_malloc(ybytes);
  still_get_quantize_row(vtype, STILL_ISA_SCALAR)(act, y, n);

  /* the dequantized reference */
  float *wf = g_new(float, n), *af = g_new(float, n);
  wt->to_float(x, wf, n);
  vt->to_float(y, af, n);
  double mag;
  const double exact = dot_double(wf, af, n, &mag);

  float ref;
  still_get_vec_dot(wtype, STILL_ISA_SCALAR)(n, &ref, x, y);
  const double tol_ref = 1e-5 * mag + offset_slack(wtype, x, y, n) + 1e-30;
  if (!(fabs(ref - exact) <= tol_ref))
    g_error("%s n=%" G_GINT64_FORMAT ": scalar vec_dot %.9g, dequantized dot %.9g (tolerance %.3g)",
            still_type_name(wtype), n, ref, exact, tol_ref);
  if (mag > 0) st->worst_ref = MAX(st->worst_ref, fabs(ref - exact) / mag);

  for (int isa = STILL_ISA_AVX2; isa <= (int)still_cpu_best_isa(); isa++) {
    /* the activation quantizer of this ISA must give the same bytes */
    still_get_quantize_row(vtype, (still_isa)isa)(act, y2, n);
    if (memcmp(y, y2, ybytes) != 0)
      g_error("%s: %s activation quantizer differs from scalar (n=%" G_GINT64_FORMAT ")", vt->name,
              still_isa_name((still_isa)isa), n);
    float got;
    still_get_vec_dot(wtype, (still_isa)isa)(n, &got, x, y);
    const double tol = 1e-5 * mag + 1e-30;
    if (!(fabs((double)got - ref) <= tol))
      g_error("%s n=%" G_GINT64_FORMAT " %s: %.9g, scalar %.9g (tolerance %.3g)", still_type_name(wtype), n,
              still_isa_name((still_isa)isa), got, ref, tol);
    if (mag > 0) st->worst_simd = MAX(st->worst_simd, fabs((double)got - ref) / mag);
  }
  g_free(wf);
  g_free(af);
  g_free(y);
  g_free(y2);
}

static void test_vec_dot_type(gconstpointer data)
{
  const uint32_t wtype = GPOINTER_TO_UINT(data);
  const still_type_traits *wt = still_type_get(wtype);
  g_assert_nonnull(wt);
  const int bs = wt->block_size;
  /* lengths in values: one block, odd block counts (tails of unrolled and
   * paired loops), a realistic row; float types also get ragged lengths */
  int64_t lengths[12];
  int n_lengths = 0;
  if (bs == 1) {
    const int64_t fl[] = {1, 7, 15, 17, 33, 63, 65, 100, 256, 4096, 4099};
    for (size_t i = 0; i < G_N_ELEMENTS(fl); i++) lengths[n_lengths++] = fl[i];
  } else {
    const int64_t blocks[] = {1, 2, 3, 5, 8, 19};
    for (size_t i = 0; i < G_N_ELEMENTS(blocks); i++) lengths[n_lengths++] = blocks[i] * bs;
    lengths[n_lengths++] = 4096 > bs ? 4096 : bs;
  }
  error_stats st = {0};
  for (int li = 0; li < n_lengths; li++) {
    const int64_t n = lengths[li];
    const size_t bytes = row_bytes(wtype, n);
    void *x = g_malloc(bytes);
    float *act = g_new(float, n), *wsrc = g_new(float, n);
    const int trials = n >= 4096 ? 3 : 8;
    for (int t = 0; t < trials; t++) {
      random_activations(act, n);
      /* random bit patterns */
      random_row_bytes(wtype, x, n);
      check_row(wtype, x, act, n, &st);
      /* what a real model file holds: the reference quantizer's output */
      for (int64_t i = 0; i < n; i++) wsrc[i] = rng_normal() * 0.05f;
      wt->from_float(wsrc, x, n);
      check_row(wtype, x, act, n, &st);
    }
    g_free(x);
    g_free(act);
    g_free(wsrc);
  }
  g_test_message("%s: worst |simd-scalar|/sum|wa| = %.2e, worst |scalar-dequant|/sum|wa| = %.2e (best isa %s)",
                 wt->name, st.worst_simd, st.worst_ref, still_isa_name(still_cpu_best_isa()));
}

/* ---- dispatch, features ---------------------------------------------- */

static void test_dispatch(void)
{
  const still_isa best = still_cpu_best_isa();
  g_assert_cmpint(best, <=, still_cpu_hw_isa());
  g_test_message("features: %s; best isa %s (hardware %s)", still_cpu_feature_string(), still_isa_name(best),
                 still_isa_name(still_cpu_hw_isa()));
  g_assert_nonnull(still_cpu_feature_string());
  g_assert_cmpstr(still_isa_name(STILL_ISA_SCALAR), ==, "scalar");
  g_assert_cmpstr(still_isa_name(STILL_ISA_AVX512_VNNI), ==, "avx512vnni");

  const still_cpu_features *f = still_cpu_get_features();
  if (best >= STILL_ISA_AVX2) g_assert_true(f->avx2 && f->fma && f->f16c);
  if (best >= STILL_ISA_AVX512) g_assert_true(f->avx512f && f->avx512bw && f->avx512vl && f->avx512dq);
  if (best >= STILL_ISA_AVX512_VNNI) g_assert_true(f->avx512_vnni);
  if (f->amx_tile) g_assert_true(f->amx_cpuid);
  /* the guarded trial never crashes: without AMX (or without the Linux
   * permission) the instructions fault and the guard returns false */
  const bool trial = still_cpu_amx_trial(false);
  g_test_message("AMX: cpuid %s, usable %s, trial without permission request %s", f->amx_cpuid ? "yes" : "no",
                 f->amx_tile ? "yes" : "no", trial ? "ran" : "faulted (caught)");
  if (!f->amx_cpuid) g_assert_false(trial);
  if (f->amx_tile) g_assert_true(still_cpu_amx_trial(true));

  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_Q4_0), ==, STILL_TYPE_Q8_0);
  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_IQ4_NL), ==, STILL_TYPE_Q8_0);
  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_Q5_1), ==, STILL_TYPE_Q8_1);
  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_Q6_K), ==, STILL_TYPE_Q8_K);
  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_IQ4_XS), ==, STILL_TYPE_Q8_K);
  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_BF16), ==, STILL_TYPE_BF16);
  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_Q8_K), ==, STILL_TYPE_COUNT);
  g_assert_cmpuint(still_vec_dot_type(STILL_TYPE_Q8_1), ==, STILL_TYPE_COUNT);
  g_assert_cmpuint(still_vec_dot_type(4), ==, STILL_TYPE_COUNT);
  g_assert_cmpuint(still_vec_dot_type(1000), ==, STILL_TYPE_COUNT);
  g_assert_null(still_get_vec_dot(STILL_TYPE_Q8_K, best));
  g_assert_null(still_get_vec_dot(1000, best));
  g_assert_null(still_get_quantize_row(STILL_TYPE_Q4_K, best));

  GString *cov = g_string_new("kernels:");
  for (size_t i = 0; i < G_N_ELEMENTS(weight_types); i++) {
    const uint32_t t = weight_types[i];
    for (int isa = 0; isa < STILL_ISA_COUNT; isa++) {
      /* every type has a kernel at every level (falling back), never above best */
      g_assert_nonnull(still_get_vec_dot(t, (still_isa)isa));
      const still_isa used = still_vec_dot_isa(t, (still_isa)isa);
      g_assert_cmpint(used, <=, MIN(isa, (int)best));
    }
    g_string_append_printf(cov, " %s=%s", still_type_name(t), still_isa_name(still_vec_dot_isa(t, best)));
    g_assert_nonnull(still_get_quantize_row(still_vec_dot_type(t), best));
  }
  g_test_message("%s", cov->str);
  g_string_free(cov, TRUE);
  /* asking for more than the machine has is clamped, not a crash */
  g_assert_true(still_get_vec_dot(STILL_TYPE_Q4_K, STILL_ISA_AVX512_VNNI) == still_get_vec_dot(STILL_TYPE_Q4_K, best));
}

/* ---- known answers --------------------------------------------------- */

static float dot_at(uint32_t wtype, still_isa isa, int64_t n, const void *x, const void *y)
{
  float s = NAN;
  still_get_vec_dot(wtype, isa)(n, &s, x, y);
  return s;
}

static void test_known_values(void)
{
  /* Q4_0 × Q8_0: d = 1, low nibbles 8 (weight 0), high nibbles 9 (weight 1);
   * activations d = 1, q = 1..32 → Σ q[16..31] = 17 + … + 32 = 392 */
  block_q4_0 x40[2];
  block_q8_0 y80[2];
  for (int b = 0; b < 2; b++) {
    x40[b].d = 0x3C00;
    memset(x40[b].qs, 0x98, sizeof x40[b].qs);
    y80[b].d = b == 0 ? 0x3C00 : 0x4000; /* second block scaled by 2 */
    for (int j = 0; j < 32; j++) y80[b].qs[j] = (int8_t)(j + 1);
  }
  /* Q8_0 × Q8_0 with the -128 weight the SIMD sign trick must get right */
  block_q8_0 x80[1];
  x80[0].d = 0x3C00;
  for (int j = 0; j < 32; j++) x80[0].qs[j] = (int8_t)(j % 2 ? -128 : 1);
  /* Σ q (odd j: -128·(j+1), even j: j+1) = Σ_{even j} (j+1) − 128 Σ_{odd j} (j+1) = 256 − 128·272 */
  const float q80 = 256.0f - 128.0f * 272.0f;

  /* Q4_K × Q8_K: d = 1, dmin = 0.5, all scales 1, all mins 2, nibbles
   * low 1 / high 3 → weights 1·1 − 0.5·2 = 0 and 3 − 1 = 2 for the 128
   * high-nibble values; activations d = 1, q = 1 → 256 */
  block_q4_K x4k;
  x4k.d = 0x3C00;
  x4k.dmin = 0x3800;
  memset(x4k.scales, 1, 4);
  memset(x4k.scales + 4, 2, 4);
  memset(x4k.scales + 8, 0x21, 4);
  memset(x4k.qs, 0x31, sizeof x4k.qs);
  block_q8_K y8k;
  y8k.d = 1.0f;
  memset(y8k.qs, 1, sizeof y8k.qs);
  for (int g = 0; g < 16; g++) y8k.bsums[g] = 16;

  /* Q6_K: d = 1, scales = 1, all 6-bit values 33 (ql nibbles 1, qh bits 2)
   * → weight 1 everywhere; activations 1 → 256 */
  block_q6_K x6k;
  x6k.d = 0x3C00;
  memset(x6k.scales, 1, sizeof x6k.scales);
  memset(x6k.ql, 0x11, sizeof x6k.ql);
  memset(x6k.qh, 0xAA, sizeof x6k.qh);

  /* F16: 1.5 · 2 over 10 values = 30 */
  uint16_t h1[10], h2[10];
  for (int i = 0; i < 10; i++) {
    h1[i] = still_fp32_to_fp16(1.5f);
    h2[i] = still_fp32_to_fp16(2.0f);
  }

  for (int isa = 0; isa <= (int)still_cpu_best_isa(); isa++) {
    const still_isa i = (still_isa)isa;
    g_assert_cmpfloat(dot_at(STILL_TYPE_Q4_0, i, 32, x40, y80), ==, 392.0f);
    g_assert_cmpfloat(dot_at(STILL_TYPE_Q4_0, i, 64, x40, y80), ==, 392.0f * 3);
    g_assert_cmpfloat(dot_at(STILL_TYPE_Q8_0, i, 32, x80, y80), ==, q80);
    g_assert_cmpfloat(dot_at(STILL_TYPE_Q4_K, i, 256, &x4k, &y8k), ==, 256.0f);
    g_assert_cmpfloat(dot_at(STILL_TYPE_Q6_K, i, 256, &x6k, &y8k), ==, 256.0f);
    g_assert_cmpfloat(dot_at(STILL_TYPE_F16, i, 10, h1, h2), ==, 30.0f);
  }
}

/* ---- activation quantizers ------------------------------------------- */

static void quantize_all_isas(uint32_t vtype, const float *x, int64_t n, void *ref)
{
  const size_t bytes = row_bytes(vtype, n);
  still_get_quantize_row(vtype, STILL_ISA_SCALAR)(x, ref, n);
  void *got = g_malloc(bytes);
  for (int isa = STILL_ISA_AVX2; isa <= (int)still_cpu_best_isa(); isa++) {
    memset(got, 0xA5, bytes);
    still_get_quantize_row(vtype, (still_isa)isa)(x, got, n);
    if (memcmp(ref, got, bytes) != 0)
      g_error("%s quantizer on %s differs from scalar (n=%" G_GINT64_FORMAT ")", still_type_name(vtype),
              still_isa_name((still_isa)isa), n);
  }
  g_free(got);
}

static void test_quantize_edge_cases(void)
{
  float x[QK_K];
  block_q8_0 q0[QK_K / 32];
  block_q8_1 q1[QK_K / 32];
  block_q8_K qk;

  /* exact ties: amax = 127 gives d = 1, so x·id lands on .5 — Q8_0/Q8_1
   * round halves away from zero (roundf), Q8_K to even (as llama.cpp) */
  for (int j = 0; j < QK_K; j++) x[j] = (float)(j % 8) - 3.5f; /* -3.5 … 3.5 */
  for (int j = 0; j < QK_K; j += 32) x[j] = 127.0f;
  quantize_all_isas(STILL_TYPE_Q8_0, x, QK_K, q0);
  quantize_all_isas(STILL_TYPE_Q8_1, x, QK_K, q1);
  g_assert_cmpuint(q0[0].d, ==, 0x3C00);
  g_assert_cmpint(q0[0].qs[1], ==, -3);  /* -2.5 → -3 */
  g_assert_cmpint(q0[0].qs[2], ==, -2);  /* -1.5 → -2 */
  g_assert_cmpint(q0[0].qs[3], ==, -1);  /* -0.5 → -1 */
  g_assert_cmpint(q0[0].qs[4], ==, 1);   /*  0.5 → 1 */
  g_assert_cmpint(q0[0].qs[5], ==, 2);   /*  1.5 → 2 */
  g_assert_cmpint(q0[0].qs[7], ==, 4);   /*  3.5 → 4 */
  int sum = 0;
  for (int j = 0; j < 32; j++) sum += q1[0].qs[j];
  g_assert_cmpuint(q1[0].s, ==, still_fp32_to_fp16((float)sum));

  /* Q8_K: the largest magnitude is -127 → iscale = 1; halves to even */
  for (int j = 0; j < QK_K; j++) x[j] = (float)(j % 8) - 3.5f;
  x[10] = -127.0f;
  x[20] = 127.0f; /* same magnitude later: the first one decides the sign */
  quantize_all_isas(STILL_TYPE_Q8_K, x, QK_K, &qk);
  g_assert_cmpfloat(qk.d, ==, 1.0f);
  g_assert_cmpint(qk.qs[10], ==, -127);
  g_assert_cmpint(qk.qs[20], ==, 127);
  g_assert_cmpint(qk.qs[1], ==, -2); /* -2.5 → -2 */
  g_assert_cmpint(qk.qs[3], ==, 0);  /* -0.5 → -0 */
  g_assert_cmpint(qk.qs[4], ==, 0);  /*  0.5 → 0 */
  g_assert_cmpint(qk.qs[5], ==, 2);  /*  1.5 → 2 */
  for (int g = 0; g < 16; g++) {
    int s = 0;
    for (int j = 0; j < 16; j++) s += qk.qs[16 * g + j];
    g_assert_cmpint(qk.bsums[g], ==, s);
  }
  /* positive largest value: maps to -127, so d is negative */
  x[10] = 0.0f;
  quantize_all_isas(STILL_TYPE_Q8_K, x, QK_K, &qk);
  g_assert_cmpfloat(qk.d, ==, -1.0f);
  g_assert_cmpint(qk.qs[20], ==, -127);

  /* all zeros: d = 0, codes 0, bsums 0 */
  memset(x, 0, sizeof x);
  quantize_all_isas(STILL_TYPE_Q8_K, x, QK_K, &qk);
  g_assert_cmpfloat(qk.d, ==, 0.0f);
  for (int g = 0; g < 16; g++) g_assert_cmpint(qk.bsums[g], ==, 0);
  quantize_all_isas(STILL_TYPE_Q8_0, x, 32, q0);
  g_assert_cmpuint(q0[0].d, ==, 0);

  /* random data, every activation type, every ISA: identical bytes; and the
   * codes reproduce the input within half a step */
  float *big = g_new(float, 4 * QK_K);
  for (int t = 0; t < 20; t++) {
    random_activations(big, 4 * QK_K);
    block_q8_0 b0[4 * QK_K / 32];
    block_q8_1 b1[4 * QK_K / 32];
    block_q8_K bk[4];
    quantize_all_isas(STILL_TYPE_Q8_0, big, 4 * QK_K, b0);
    quantize_all_isas(STILL_TYPE_Q8_1, big, 4 * QK_K, b1);
    quantize_all_isas(STILL_TYPE_Q8_K, big, 4 * QK_K, bk);
    for (int i = 0; i < 4 * QK_K; i++) {
      float amax0 = 0, amaxk = 0;
      for (int j = i / 32 * 32; j < i / 32 * 32 + 32; j++) amax0 = fmaxf(amax0, fabsf(big[j]));
      for (int j = i / QK_K * QK_K; j < i / QK_K * QK_K + QK_K; j++) amaxk = fmaxf(amaxk, fabsf(big[j]));
      const float d0 = still_fp16_to_fp32(b0[i / 32].d);
      /* codes use the float scale amax/127, the stored one is its fp16 */
      g_assert_cmpfloat(fabsf(d0 * b0[i / 32].qs[i % 32] - big[i]), <=, 0.51f * amax0 / 127.0f + 127 * fabsf(d0 - amax0 / 127.0f));
      g_assert_cmpint(b1[i / 32].qs[i % 32], ==, b0[i / 32].qs[i % 32]);
      g_assert_cmpfloat(fabsf(bk[i / QK_K].d * bk[i / QK_K].qs[i % QK_K] - big[i]), <=, 0.501f * amaxk / 127.0f);
      g_assert_cmpint(bk[i / QK_K].qs[i % QK_K], >=, -127);
    }
  }
  /* F16 / BF16 / F32 at ragged lengths, with tiny, huge and NaN-free values */
  for (int64_t n = 1; n <= 70; n++) {
    for (int64_t i = 0; i < n; i++) {
      const int kind = (int)(rng_next() % 5);
      big[i] = kind == 0 ? rng_normal() * 1e-6f : kind == 1 ? rng_normal() * 7e4f : kind == 2 ? ldexpf(1.0f, -24) * 1.5f
                                                                                           : rng_normal();
    }
    uint16_t h[70], bf[70];
    float f[70];
    quantize_all_isas(STILL_TYPE_F16, big, n, h);
    quantize_all_isas(STILL_TYPE_BF16, big, n, bf);
    quantize_all_isas(STILL_TYPE_F32, big, n, f);
    for (int64_t i = 0; i < n; i++) {
      g_assert_cmpuint(h[i], ==, still_fp32_to_fp16(big[i]));
      g_assert_cmpuint(bf[i], ==, still_fp32_to_bf16(big[i]));
      g_assert_cmpfloat(f[i], ==, big[i]);
    }
  }
  /* BF16 keeps a NaN a NaN on every ISA (exactly as util.c) */
  float nanv[20];
  uint16_t bfn[20];
  for (int i = 0; i < 20; i++) nanv[i] = i == 17 ? NAN : (float)i;
  quantize_all_isas(STILL_TYPE_BF16, nanv, 20, bfn);
  g_assert_true(isnan(still_bf16_to_fp32(bfn[17])));
  g_free(big);
}

/* ---- real weights: rows of llama.cpp-quantized fixture models ---------- */

static void test_fixture_rows(void)
{
  const char *files[] = {
    "models/tiny-qwen2-F32.gguf",   "models/tiny-qwen2-F16.gguf",    "models/tiny-qwen2-BF16.gguf",
    "models/tiny-qwen2-Q8_0.gguf",  "models/tiny-qwen2-Q4_0.gguf",   "models/tiny-qwen2-Q4_1.gguf",
    "models/tiny-qwen2-Q5_0.gguf",  "models/tiny-qwen2-Q5_1.gguf",   "models/tiny-qwen2-Q2_K.gguf",
    "models/tiny-qwen2-Q3_K_M.gguf", "models/tiny-qwen2-Q4_K_M.gguf", "models/tiny-qwen2-Q5_K_M.gguf",
    "models/tiny-qwen2-Q6_K.gguf",  "models/tiny-llama-Q4_K_M.gguf",
  };
  bool seen[STILL_TYPE_COUNT] = {false};
  int n_rows = 0;
  error_stats st = {0};
  for (size_t fi = 0; fi < G_N_ELEMENTS(files); fi++) {
    char *path = test_fixture_path(files[fi]);
    if (!path) return; /* skipped (or failed under CI) */
    gguf_file *gf = NULL;
    still_error err;
    if (gguf_open(path, &gf, &err) != STILL_OK) g_error("%s: %s", path, err.message);
    for (uint64_t ti = 0; ti < gguf_n_tensors(gf); ti++) {
      const gguf_tensor *t = gguf_tensor_at(gf, ti);
      if (t->n_dims != 2 || still_vec_dot_type(t->type) == STILL_TYPE_COUNT || !t->data) continue;
      const int64_t n = t->ne[0];
      const size_t rb = row_bytes(t->type, n);
      float *act = g_new(float, n);
      /* first, a middle and the last row */
      const int64_t rows[3] = {0, t->ne[1] / 2, t->ne[1] - 1};
      for (int r = 0; r < 3; r++) {
        random_activations(act, n);
        check_row(t->type, (const uint8_t *)t->data + (size_t)rows[r] * rb, act, n, &st);
        n_rows++;
      }
      seen[t->type] = true;
      g_free(act);
    }
    gguf_close(gf);
    g_free(path);
  }
  GString *types = g_string_new("");
  for (int t = 0; t < STILL_TYPE_COUNT; t++)
    if (seen[t]) g_string_append_printf(types, " %s", still_type_name((uint32_t)t));
  g_test_message("%d fixture rows checked, types:%s; worst |simd-scalar|/sum|wa| = %.2e, |scalar-dequant| = %.2e",
                 n_rows, types->str, st.worst_simd, st.worst_ref);
  /* the files hold at least these (llama-quantize's mixes) */
  const uint32_t must[] = {STILL_TYPE_F32, STILL_TYPE_F16, STILL_TYPE_BF16, STILL_TYPE_Q8_0, STILL_TYPE_Q4_0, STILL_TYPE_Q4_K,
                           STILL_TYPE_Q6_K, STILL_TYPE_Q5_K, STILL_TYPE_Q3_K, STILL_TYPE_Q2_K};
  for (size_t i = 0; i < G_N_ELEMENTS(must); i++) g_assert_true(seen[must[i]]);
  g_string_free(types, TRUE);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/vec/dispatch", test_dispatch);
  g_test_add_func("/vec/known-values", test_known_values);
  g_test_add_func("/vec/quantize-activations", test_quantize_edge_cases);
  g_test_add_func("/vec/fixture-rows", test_fixture_rows);
  for (size_t i = 0; i < G_N_ELEMENTS(weight_types); i++) {
    char *path = g_strdup_printf("/vec/dot/%s", still_type_name(weight_types[i]));
    g_test_add_data_func(path, GUINT_TO_POINTER(weight_types[i]), test_vec_dot_type);
    g_free(path);
  }
  return g_test_run();
}
