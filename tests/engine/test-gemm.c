/* test-gemm.c — the multi-token kernels (cpu/gemm.h) against vec_dot.
 *
 * Contract under test (gemm.h): y[t][r] does not depend on the tile — the
 * whole call equals one call per element, bit for bit (graph.c relies on
 * it: a prompt gives the same logits in one batch, in batches of 5 or token
 * by token, on any number of threads) — and stays within 1e-5·Σ|w·a| of the
 * scalar vec_dot oracle; with VNNI, Q8_0/Q4_0 equal their vec_dot exactly. Every type, every ISA up to
 * still_cpu_best_isa() (cap it with STILL_ISA=avx2 … to test lower levels
 * on a bigger machine), tokens 1..9 (full tiles and every tail) and 17, 64, row counts
 * that are not multiples of anything (also spanning several of the K-quant
 * kernels' row chunks), strided rows and outputs, random bit patterns and
 * real quantizer output.
 */
#include "test-common.h"

#include "cpu/gemm.h"
#include "cpu/vec.h"
#include "quants/blocks.h"
#include "types.h"
#include "util.h"

#include <math.h>
#include <string.h>

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint64_t rng_next(void)
{
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static float rng_normal(void)
{
  double u = (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
  double v = (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
  if (u < 1e-300) u = 1e-300;
  return (float)(sqrt(-2.0 * log(u)) * cos(2.0 * G_PI * v));
}

static still_half rng_scale(void)
{
  float mag = ldexpf(1.0f + (float)(rng_next() % 1024) / 1024.0f, -(int)(1 + rng_next() % 8));
  return still_fp32_to_fp16(rng_next() & 1 ? -mag : mag);
}

static const uint32_t weight_types[] = {
  STILL_TYPE_Q4_K, STILL_TYPE_Q6_K, STILL_TYPE_Q5_K, STILL_TYPE_Q8_0, STILL_TYPE_Q4_0, STILL_TYPE_F16,
  STILL_TYPE_F32,  STILL_TYPE_BF16, STILL_TYPE_Q4_1, STILL_TYPE_Q5_0, STILL_TYPE_Q5_1, STILL_TYPE_Q2_K,
  STILL_TYPE_Q3_K, STILL_TYPE_IQ4_NL, STILL_TYPE_IQ4_XS,
};

static size_t row_bytes(uint32_t type, int64_t n)
{
  uint64_t b = 0;
  g_assert_true(still_type_bytes(type, (uint64_t)n, &b));
  return (size_t)b;
}

/* Finite fp16 scales at the offsets each block type keeps them. */
static void fix_scales(uint32_t type, void *blk)
{
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

/* One weight row: random bytes (every bit pattern) or, with real, the
 * reference quantizer's output of normal values. */
static void random_row(uint32_t type, void *dst, int64_t n, bool real)
{
  const still_type_traits *t = still_type_get(type);
  if (real || !t->quantized) {
    float *v = g_new(float, n);
    for (int64_t i = 0; i < n; i++) v[i] = rng_normal() * (t->quantized ? 0.05f : 1.0f);
    t->from_float(v, dst, n);
    g_free(v);
    return;
  }
  uint8_t *p = dst;
  for (size_t i = 0; i < row_bytes(type, n); i++) p[i] = (uint8_t)rng_next();
  for (int64_t b = 0; b < n / t->block_size; b++) fix_scales(type, p + (size_t)b * t->type_size);
}

/* Activations as in hidden states: blocks at different scales, outliers. */
static void random_activations(float *x, int64_t n)
{
  for (int64_t i = 0; i < n; i++) x[i] = rng_normal();
  for (int64_t i = 0; i < n; i += 32) {
    const float s = ldexpf(1.0f, (int)(rng_next() % 9) - 4);
    for (int64_t j = i; j < i + 32 && j < n; j++) x[j] *= s;
  }
  for (int k = 0; k < 2; k++) x[rng_next() % (uint64_t)n] *= 20.0f;
}

typedef struct {
  int64_t n;          /* values per row */
  int64_t rows;
  int tok;
  size_t w_stride;    /* >= row bytes */
  size_t x_stride;
  int64_t y_stride;   /* >= rows */
} shape;

/* Σ|w·a| per element, from the dequantized values: the scale of the
 * allowed float rounding difference to the scalar kernel. */
static double abs_dot(uint32_t wtype, const void *w, const void *x, int64_t n)
{
  const still_type_traits *wt = still_type_get(wtype), *xt = still_type_get(still_vec_dot_type(wtype));
  float *a = g_new(float, n), *b = g_new(float, n);
  wt->to_float(w, a, n);
  xt->to_float(x, b, n);
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += fabs((double)a[i] * b[i]);
  g_free(a);
  g_free(b);
  return s;
}

/* gemm.h: Q8_0 and Q4_0 keep vec_dot's float steps exactly with VNNI. */
static bool same_as_vec_dot(uint32_t wtype, still_isa isa)
{
  return (wtype == STILL_TYPE_Q8_0 || wtype == STILL_TYPE_Q4_0) && still_vec_dot_isa(wtype, isa) == STILL_ISA_AVX512_VNNI;
}

static void check_shape(uint32_t wtype, const shape *sh, bool real, int *n_kernels, double *worst)
{
  const uint32_t vtype = still_vec_dot_type(wtype);
  const size_t wb = row_bytes(wtype, sh->n), xb = row_bytes(vtype, sh->n);
  g_assert_cmpuint(sh->w_stride, >=, wb);
  g_assert_cmpuint(sh->x_stride, >=, xb);
  /* poison the gaps between rows: a kernel that reads past its row would
   * pick them up (and ASan sees reads past the buffers) */
  char *w = g_malloc(sh->w_stride * (size_t)sh->rows);
  char *x = g_malloc(sh->x_stride * (size_t)sh->tok);
  memset(w, 0x7f, sh->w_stride * (size_t)sh->rows);
  memset(x, 0x7f, sh->x_stride * (size_t)sh->tok);
  for (int64_t r = 0; r < sh->rows; r++) random_row(wtype, w + (size_t)r * sh->w_stride, sh->n, real);
  float *act = g_new(float, sh->n);
  for (int t = 0; t < sh->tok; t++) {
    random_activations(act, sh->n);
    if (vtype == STILL_TYPE_F32) memcpy(x + (size_t)t * sh->x_stride, act, sizeof(float) * (size_t)sh->n);
    else still_get_quantize_row(vtype, STILL_ISA_SCALAR)(act, x + (size_t)t * sh->x_stride, sh->n);
  }
  g_free(act);

  const size_t ny = (size_t)sh->y_stride * (size_t)sh->tok;
  float *ref = g_new(float, ny), *got = g_new(float, ny), *want = g_new(float, ny);
  const still_vec_dot_fn scalar = still_get_vec_dot(wtype, STILL_ISA_SCALAR);
  for (int t = 0; t < sh->tok; t++)
    for (int64_t r = 0; r < sh->rows; r++)
      scalar(sh->n, &ref[t * sh->y_stride + r], w + (size_t)r * sh->w_stride, x + (size_t)t * sh->x_stride);

  for (int isa = 0; isa <= (int)still_cpu_best_isa(); isa++) {
    const still_vec_dot_fn dot = still_get_vec_dot(wtype, (still_isa)isa);
    const still_gemm_fn fn = still_get_gemm(wtype, (still_isa)isa);
    if (fn) (*n_kernels)++;
    for (size_t i = 0; i < ny; i++) got[i] = want[i] = -12345.0f; /* the gaps must stay untouched */
    /* one call per element: the value the whole call must reproduce */
    for (int t = 0; t < sh->tok; t++)
      for (int64_t r = 0; r < sh->rows; r++)
        still_gemm_run(fn, dot, sh->n, 1, 1, w + (size_t)r * sh->w_stride, 0, x + (size_t)t * sh->x_stride, 0,
                       &want[t * sh->y_stride + r], 0);
    still_gemm_run(fn, dot, sh->n, sh->rows, sh->tok, w, sh->w_stride, x, sh->x_stride, got, sh->y_stride);
    for (int t = 0; t < sh->tok; t++)
      for (int64_t r = 0; r < sh->y_stride; r++) {
        const size_t i = (size_t)t * sh->y_stride + r;
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
          g_error("%s %s n=%" G_GINT64_FORMAT " rows=%" G_GINT64_FORMAT " tokens=%d: y[%d][%" G_GINT64_FORMAT
                  "] = %.9g, alone %.9g (must be bit-identical whatever the tile)",
                  still_type_name(wtype), still_isa_name((still_isa)isa), sh->n, sh->rows, sh->tok, t, r, got[i],
                  want[i]);
        if (r >= sh->rows) continue;
        const void *wr = w + (size_t)r * sh->w_stride, *xt = x + (size_t)t * sh->x_stride;
        if (same_as_vec_dot(wtype, (still_isa)isa)) {
          float v;
          dot(sh->n, &v, wr, xt);
          if (memcmp(&v, &got[i], sizeof v) != 0)
            g_error("%s %s: y[%d][%" G_GINT64_FORMAT "] = %.9g, vec_dot %.9g (documented identical)",
                    still_type_name(wtype), still_isa_name((still_isa)isa), t, r, got[i], v);
        }
        const double mag = abs_dot(wtype, wr, xt, sh->n), tol = 1e-5 * mag + 1e-30;
        if (!(fabs((double)got[i] - ref[i]) <= tol))
          g_error("%s %s: y[%d][%" G_GINT64_FORMAT "] = %.9g, scalar %.9g (tolerance %.3g)", still_type_name(wtype),
                  still_isa_name((still_isa)isa), t, r, got[i], ref[i], tol);
        if (mag > 0) *worst = MAX(*worst, fabs((double)got[i] - ref[i]) / mag);
      }
  }
  g_free(ref);
  g_free(got);
  g_free(want);
  g_free(w);
  g_free(x);
}

static void test_gemm_type(gconstpointer data)
{
  const uint32_t wtype = GPOINTER_TO_UINT(data);
  const still_type_traits *wt = still_type_get(wtype);
  const int bs = wt->block_size == 1 ? 32 : wt->block_size;
  const uint32_t vtype = still_vec_dot_type(wtype);
  int n_kernels = 0;
  double worst = 0;
  /* lengths: one block, odd block counts (the paired loops' tails), a
   * real width; float types also ragged lengths (masked tails); rows long
   * enough that the kernels take fewer tokens per tile (K-quants past 40 KB
   * of activations per 8 tokens, Q8_0/Q4_0 past 128 KB of prepared pairs) */
  int64_t lengths[8];
  int nl = 0;
  lengths[nl++] = bs;
  lengths[nl++] = 3 * bs;
  lengths[nl++] = 6 * bs;
  if (wt->block_size == 1) {
    lengths[nl++] = 100;
    lengths[nl++] = 17;
    lengths[nl++] = 129;
  } else if (bs == 32) {
    lengths[nl++] = 17 * bs;
    lengths[nl++] = 181 * bs;
    lengths[nl++] = 257 * bs;
  } else {
    lengths[nl++] = 19 * bs;
  }
  for (int li = 0; li < nl; li++) {
    const int64_t n = lengths[li];
    for (int tok = 1; tok <= 9; tok++) {
      const int64_t rows = 1 + (tok * 3 + li) % 7; /* 1..7 */
      shape sh = {.n = n, .rows = rows, .tok = tok, .w_stride = row_bytes(wtype, n), .x_stride = row_bytes(vtype, n),
                  .y_stride = rows};
      check_shape(wtype, &sh, tok % 2 == 0, &n_kernels, &worst);
      /* strided: gaps after every weight row, activation row and output row */
      sh.w_stride += 64 + 16 * (size_t)tok; /* rows stay aligned as in a file */
      sh.x_stride += 32;
      sh.y_stride += 3;
      check_shape(wtype, &sh, tok % 2 == 1, &n_kernels, &worst);
    }
  }
  const still_isa best = still_cpu_best_isa();
  g_test_message("%s: multi-token kernel in %d of the checks, worst |gemm-scalar|/sum|wa| = %.2e (best isa %s: %s, "
                 "vec_dot at %s)",
                 wt->name, n_kernels, worst, still_isa_name(best),
                 still_get_gemm(wtype, best) ? "multi-token kernel" : "vec_dot fallback",
                 still_isa_name(still_vec_dot_isa(wtype, best)));
}

/* Prompt-sized calls: 17 and 64 tokens (several full tiles and a ragged
 * last one, for every tile size of the kernels), row counts that are not
 * multiples of any row tile, against one call per element (bit for bit)
 * and the scalar oracle, as check_shape does. */
static void test_gemm_many_tokens(gconstpointer data)
{
  const uint32_t wtype = GPOINTER_TO_UINT(data);
  const still_type_traits *wt = still_type_get(wtype);
  const int bs = wt->block_size == 1 ? 32 : wt->block_size;
  const uint32_t vtype = still_vec_dot_type(wtype);
  const int toks[] = {17, 64};
  const int64_t rows[] = {13, 5};
  const int64_t lengths[] = {3 * (int64_t)bs, wt->block_size == 1 ? 161 : 2 * (int64_t)bs};
  int n_kernels = 0;
  double worst = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(toks); i++) {
    const int64_t n = lengths[i];
    shape sh = {.n = n, .rows = rows[i], .tok = toks[i], .w_stride = row_bytes(wtype, n) + 64,
                .x_stride = row_bytes(vtype, n) + 32, .y_stride = rows[i] + 1};
    check_shape(wtype, &sh, i == 0, &n_kernels, &worst);
  }
  g_test_message("%s: %d checks with a kernel, worst %.2e", wt->name, n_kernels, worst);
}

/* Many rows: the K-quant kernels expand the scales of a chunk of rows at
 * once (a few hundred blocks) and walk it in tiles of up to 8 tokens, so
 * row counts that span several chunks with a ragged last one, and token
 * counts with a ragged last tile, against one call per element. */
static void test_gemm_many_rows(gconstpointer data)
{
  const uint32_t wtype = GPOINTER_TO_UINT(data);
  const still_type_traits *wt = still_type_get(wtype);
  const int bs = wt->block_size == 1 ? 32 : wt->block_size;
  const uint32_t vtype = still_vec_dot_type(wtype);
  const int64_t lengths[] = {19 * (int64_t)bs, STILL_GEMM_MAX_N}; /* the longest row: fewest tokens per tile */
  const int64_t rows[] = {61, 9};
  const int toks[] = {11, 8};
  int n_kernels = 0;
  double worst = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(lengths); i++) {
    const int64_t n = wt->block_size == 1 ? lengths[i] / 8 + 3 : lengths[i];
    shape sh = {.n = n, .rows = rows[i], .tok = toks[i], .w_stride = row_bytes(wtype, n) + 32 * (size_t)i,
                .x_stride = row_bytes(vtype, n), .y_stride = rows[i] + 2};
    check_shape(wtype, &sh, i == 1, &n_kernels, &worst);
  }
  g_test_message("%s: %d checks with a kernel, worst %.2e", wt->name, n_kernels, worst);
}

/* Every weight type has a multi-token kernel at every SIMD level (the
 * rarer types through the AVX2 kernels, as their vec_dot). */
static void test_gemm_coverage(void)
{
  const still_isa best = still_cpu_best_isa();
  for (size_t i = 0; i < G_N_ELEMENTS(weight_types); i++)
    for (int isa = STILL_ISA_SCALAR; isa <= (int)best; isa++) {
      if (isa == STILL_ISA_SCALAR) g_assert_null(still_get_gemm(weight_types[i], (still_isa)isa));
      else g_assert_nonnull(still_get_gemm(weight_types[i], (still_isa)isa));
    }
  g_assert_null(still_get_gemm(STILL_TYPE_Q8_K, best));
  g_assert_null(still_get_gemm(1000, best));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/gemm/coverage", test_gemm_coverage);
  for (size_t i = 0; i < G_N_ELEMENTS(weight_types); i++) {
    char *path = g_strdup_printf("/gemm/%s", still_type_name(weight_types[i]));
    g_test_add_data_func(path, GUINT_TO_POINTER(weight_types[i]), test_gemm_type);
    g_free(path);
    path = g_strdup_printf("/gemm/many-tokens/%s", still_type_name(weight_types[i]));
    g_test_add_data_func(path, GUINT_TO_POINTER(weight_types[i]), test_gemm_many_tokens);
    g_free(path);
    path = g_strdup_printf("/gemm/many-rows/%s", still_type_name(weight_types[i]));
    g_test_add_data_func(path, GUINT_TO_POINTER(weight_types[i]), test_gemm_many_rows);
    g_free(path);
  }
  return g_test_run();
}
