/* test-blas.c — the OpenBLAS prompt path (cpu/blas.h): F32 / F16 / BF16
 * matmuls through cblas_sgemm.
 *
 * Contract under test: every element within float rounding of the exact
 * product (double-precision oracle over the exactly widened weights and the
 * F32 activations: |err| <= 1e-5·Σ|w·x|) at ragged shapes (tokens 1, 31,
 * 32, 33, 100; rows not a multiple of the panel; several jobs of mixed
 * types in one call); bit for bit the same on 1, 2 and 3 threads; the token
 * threshold and STILL_BLAS=0 respected. Then whole models from the
 * fixtures: with BLAS on, the logits stay within the fixtures README's
 * tolerance of llama.cpp, do not depend on the thread count, and are within
 * rounding (not bits) of token-by-token evaluation; with STILL_BLAS=0 a
 * prompt batch gives exactly the bits of token-by-token evaluation.
 *
 * OpenBLAS is forced on (STILL_BLAS=1): the default also needs a fast
 * OpenBLAS core, which an unknown CPU model does not get. Built without
 * OpenBLAS every test skips.
 */
#include "test-common.h"

#include "cpu/blas.h"
#include "cpu/threadpool.h"
#include "still.h"
#include "types.h"
#include "util.h"

#include <cJSON.h>
#include <math.h>
#include <string.h>

#ifdef STILL_HAVE_BLAS

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng_next(void)
{
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static float rng_uniform(void) /* [-1, 1) */
{
  return (float)((double)(rng_next() >> 11) * (2.0 / 9007199254740992.0) - 1.0);
}

/* A weight matrix of n_out rows of n values, type F32/F16/BF16, and its
 * exact float values. */
typedef struct {
  uint32_t type;
  int64_t n, n_out;
  size_t row_bytes;
  void *data;
  float *f; /* widened */
} matrix;

static matrix make_matrix(uint32_t type, int64_t n, int64_t n_out)
{
  matrix m = {.type = type, .n = n, .n_out = n_out};
  const size_t es = type == STILL_TYPE_F32 ? 4 : 2;
  m.row_bytes = (size_t)n * es;
  m.data = g_malloc(m.row_bytes * (size_t)n_out);
  m.f = g_new(float, (size_t)(n * n_out));
  for (int64_t i = 0; i < n * n_out; i++) {
    float v = rng_uniform();
    if (type == STILL_TYPE_F32) {
      ((float *)m.data)[i] = v;
      m.f[i] = v;
    } else if (type == STILL_TYPE_F16) {
      uint16_t h = still_fp32_to_fp16(v);
      ((uint16_t *)m.data)[i] = h;
      m.f[i] = still_fp16_to_fp32(h);
    } else {
      uint16_t h = still_fp32_to_bf16(v);
      ((uint16_t *)m.data)[i] = h;
      m.f[i] = still_bf16_to_fp32(h);
    }
  }
  return m;
}

static void free_matrix(matrix *m)
{
  g_free(m->data);
  g_free(m->f);
}

/* Every y[t][r] against the double-precision product. */
static void check_oracle(const matrix *m, const float *x, int n_tok, const float *y)
{
  for (int t = 0; t < n_tok; t++)
    for (int64_t r = 0; r < m->n_out; r++) {
      double s = 0, mag = 0;
      const float *w = m->f + r * m->n, *xt = x + (int64_t)t * m->n;
      for (int64_t k = 0; k < m->n; k++) {
        s += (double)w[k] * xt[k];
        mag += fabs((double)w[k] * xt[k]);
      }
      const double got = y[(int64_t)t * m->n_out + r];
      if (!(fabs(got - s) <= 1e-5 * mag + 1e-30)) {
        g_test_message("%s n=%" G_GINT64_FORMAT " rows=%" G_GINT64_FORMAT " tokens=%d: y[%d][%" G_GINT64_FORMAT
                       "] = %.9g, expected %.9g (Σ|w·x| %.3g)",
                       still_type_name(m->type), m->n, m->n_out, n_tok, t, r, got, s, mag);
        g_assert_not_reached();
      }
    }
}

static void force_blas(int min_tokens)
{
  g_setenv("STILL_BLAS", "1", TRUE);
  if (min_tokens > 0) {
    char v[16];
    g_snprintf(v, sizeof v, "%d", min_tokens);
    g_setenv("STILL_BLAS_MIN_TOKENS", v, TRUE);
  } else {
    g_unsetenv("STILL_BLAS_MIN_TOKENS");
  }
}

/* ---- kernels on random data ------------------------------------------------------- */

static void test_oracle(void)
{
  force_blas(1);
  static const uint32_t types[] = {STILL_TYPE_F32, STILL_TYPE_F16, STILL_TYPE_BF16};
  static const int toks[] = {1, 31, 32, 33, 100};
  /* n 64: 256-row panels (300 rows: 256 + 44); n 20000: 64-row panels
   * (130 rows: 64 + 64 + 2); n 1003 and 77: odd lengths (the widening's tails) */
  static const struct {
    int64_t n, rows;
  } shapes[] = {{64, 300}, {1003, 37}, {77, 1}, {20000, 130}};
  still_threadpool *pools[3] = {still_threadpool_new(1), still_threadpool_new(2), still_threadpool_new(3)};
  still_blas *b = still_blas_new(3, 20000);
  g_assert_nonnull(b);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_F32), ==, 1);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_BF16), ==, 1);
  for (size_t ti = 0; ti < G_N_ELEMENTS(types); ti++)
    for (size_t si = 0; si < G_N_ELEMENTS(shapes); si++) {
      const int64_t n = shapes[si].n, rows = shapes[si].rows;
      matrix m = make_matrix(types[ti], n, rows);
      for (size_t ki = 0; ki < G_N_ELEMENTS(toks); ki++) {
        const int nt = toks[ki];
        if (n * nt > 20000 * 40) continue; /* keep the big row length quick */
        float *x = g_new(float, (size_t)(n * nt));
        for (int64_t i = 0; i < n * nt; i++) x[i] = rng_uniform();
        float *y[3];
        for (int p = 0; p < 3; p++) {
          y[p] = g_new(float, (size_t)(rows * nt));
          memset(y[p], 0xff, sizeof(float) * (size_t)(rows * nt)); /* NaN: every element must be written */
          still_blas_job job = {.type = m.type, .w = m.data, .row_bytes = m.row_bytes, .n_out = rows, .y = y[p]};
          g_assert_true(still_blas_matmul(b, pools[p], x, n, nt, &job, 1));
        }
        check_oracle(&m, x, nt, y[0]);
        /* the thread count changes no bit */
        g_assert_cmpmem(y[1], sizeof(float) * (size_t)(rows * nt), y[0], sizeof(float) * (size_t)(rows * nt));
        g_assert_cmpmem(y[2], sizeof(float) * (size_t)(rows * nt), y[0], sizeof(float) * (size_t)(rows * nt));
        for (int p = 0; p < 3; p++) g_free(y[p]);
        g_free(x);
      }
      free_matrix(&m);
    }
  still_blas_free(b);
  for (int p = 0; p < 3; p++) still_threadpool_free(pools[p]);
}

/* Three jobs of mixed types in one call (as Q, K, V of a layer), outputs
 * with their own widths; a row stride larger than the row for F32 is not
 * offered by the graph, so only dense rows here. */
static void test_jobs(void)
{
  force_blas(0);
  const int64_t n = 512;
  const int nt = 70; /* above both default thresholds */
  matrix ms[3] = {make_matrix(STILL_TYPE_F16, n, 333), make_matrix(STILL_TYPE_F32, n, 17),
                  make_matrix(STILL_TYPE_BF16, n, 300)};
  float *x = g_new(float, (size_t)(n * nt));
  for (int64_t i = 0; i < n * nt; i++) x[i] = rng_uniform();
  still_threadpool *tp = still_threadpool_new(2);
  still_blas *b = still_blas_new(2, n);
  g_assert_nonnull(b);
  still_blas_job jobs[3];
  float *ys[3];
  for (int j = 0; j < 3; j++) {
    ys[j] = g_new(float, (size_t)(ms[j].n_out * nt));
    memset(ys[j], 0xff, sizeof(float) * (size_t)(ms[j].n_out * nt));
    jobs[j] = (still_blas_job){.type = ms[j].type, .w = ms[j].data, .row_bytes = ms[j].row_bytes,
                               .n_out = ms[j].n_out, .y = ys[j]};
  }
  g_assert_true(still_blas_matmul(b, tp, x, n, nt, jobs, 3));
  for (int j = 0; j < 3; j++) {
    check_oracle(&ms[j], x, nt, ys[j]);
    g_free(ys[j]);
    free_matrix(&ms[j]);
  }
  /* rows longer than the context was made for are refused */
  still_blas_job big = {.type = STILL_TYPE_F32, .w = x, .row_bytes = 2 * n * 4, .n_out = 1, .y = x};
  g_assert_false(still_blas_matmul(b, tp, x, 2 * n, nt, &big, 1));
  still_blas_free(b);
  still_threadpool_free(tp);
  g_free(x);
}

/* The default threshold, other types, STILL_BLAS=0. */
static void test_switches(void)
{
  force_blas(0);
  const int64_t n = 64;
  matrix m = make_matrix(STILL_TYPE_F16, n, 10);
  float *x = g_new(float, (size_t)(n * 100));
  for (int64_t i = 0; i < n * 100; i++) x[i] = rng_uniform();
  float y[100 * 10];
  still_threadpool *tp = still_threadpool_new(2);
  still_blas *b = still_blas_new(2, n);
  g_assert_nonnull(b);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_F32), ==, STILL_BLAS_MIN_TOKENS_F32);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_F16), ==, STILL_BLAS_MIN_TOKENS_F16);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_BF16), ==, STILL_BLAS_MIN_TOKENS_F16);
  const int below = STILL_BLAS_MIN_TOKENS_F16 - 1;
  still_blas_job job = {.type = m.type, .w = m.data, .row_bytes = m.row_bytes, .n_out = 10, .y = y};
  /* below the threshold: refused, nothing written */
  memset(y, 0x5a, sizeof y);
  g_assert_false(still_blas_wanted(b, STILL_TYPE_F16, below));
  g_assert_false(still_blas_matmul(b, tp, x, n, below, &job, 1));
  for (size_t i = 0; i < G_N_ELEMENTS(y); i++) g_assert_cmpuint(((uint32_t *)y)[i], ==, 0x5a5a5a5au);
  /* at the threshold: done */
  g_assert_true(still_blas_wanted(b, STILL_TYPE_F16, STILL_BLAS_MIN_TOKENS_F16));
  g_assert_true(still_blas_matmul(b, tp, x, n, STILL_BLAS_MIN_TOKENS_F16, &job, 1));
  check_oracle(&m, x, STILL_BLAS_MIN_TOKENS_F16, y);
  /* F32 from its own, lower threshold; one job below its threshold refuses the call */
  g_assert_true(still_blas_wanted(b, STILL_TYPE_F32, STILL_BLAS_MIN_TOKENS_F32));
  g_assert_false(still_blas_wanted(b, STILL_TYPE_F32, STILL_BLAS_MIN_TOKENS_F32 - 1));
  g_assert_false(still_blas_wanted(b, STILL_TYPE_F16, STILL_BLAS_MIN_TOKENS_F32));
  still_blas_job mixed[2] = {job, job};
  mixed[1].type = STILL_TYPE_F32;
  mixed[1].w = x; /* 10 rows of 64 floats */
  mixed[1].row_bytes = n * sizeof(float);
  g_assert_false(still_blas_matmul(b, tp, x, n, STILL_BLAS_MIN_TOKENS_F32, mixed, 2));
  /* quantized types never */
  g_assert_false(still_blas_wanted(b, STILL_TYPE_Q8_0, 100));
  g_assert_false(still_blas_wanted(b, STILL_TYPE_Q4_K, 100));
  still_blas_job q = job;
  q.type = STILL_TYPE_Q8_0;
  g_assert_false(still_blas_matmul(b, tp, x, n, 40, &q, 1));
  /* a pool larger than the context's thread count: refused (scratch per thread) */
  still_threadpool *tp3 = still_threadpool_new(3);
  g_assert_false(still_blas_matmul(b, tp3, x, n, 40, &job, 1));
  still_threadpool_free(tp3);
  still_blas_free(b);
  /* STILL_BLAS=0: no context at all */
  g_setenv("STILL_BLAS", "0", TRUE);
  g_assert_null(still_blas_new(2, n));
  g_setenv("STILL_BLAS", "off", TRUE);
  g_assert_null(still_blas_new(2, n));
  g_setenv("STILL_BLAS", "1", TRUE);
  g_setenv("STILL_BLAS_MIN_TOKENS", "7", TRUE);
  b = still_blas_new(2, n);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_F32), ==, 7);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_F16), ==, 7);
  still_blas_free(b);
  g_setenv("STILL_BLAS_MIN_TOKENS", "junk", TRUE); /* ignored */
  b = still_blas_new(2, n);
  g_assert_cmpint(still_blas_min_tokens(b, STILL_TYPE_F16), ==, STILL_BLAS_MIN_TOKENS_F16);
  still_blas_free(b);
  g_unsetenv("STILL_BLAS_MIN_TOKENS");
  still_threadpool_free(tp);
  free_matrix(&m);
  g_free(x);
}

/* ---- whole models ----------------------------------------------------------------- */

typedef struct {
  int32_t *prompt;
  int n_prompt;
  float *last;
  int n_vocab;
} reference;

static bool ref_load(const char *name, reference *r)
{
  char *rel = g_strdup_printf("reference/%s.json", name);
  char *path = test_fixture_path(rel);
  g_free(rel);
  if (!path) return false;
  gsize len;
  char *text = test_read_file(path, &len);
  cJSON *j = cJSON_ParseWithLength(text, len);
  g_free(text);
  g_assert_nonnull(j);
  r->n_vocab = cJSON_GetObjectItem(j, "n_vocab")->valueint;
  const cJSON *ids = cJSON_GetObjectItem(j, "prompt_ids");
  r->n_prompt = cJSON_GetArraySize(ids);
  r->prompt = g_new(int32_t, r->n_prompt);
  for (int i = 0; i < r->n_prompt; i++) r->prompt[i] = (int32_t)cJSON_GetArrayItem(ids, i)->valuedouble;
  char *dir = g_path_get_dirname(path);
  char *lf = g_build_filename(dir, cJSON_GetObjectItem(j, "last_logits_file")->valuestring, NULL);
  gsize flen;
  r->last = (float *)test_read_file(lf, &flen);
  g_assert_cmpuint(flen, ==, (gsize)r->n_vocab * 4);
  g_free(lf);
  g_free(dir);
  g_free(path);
  cJSON_Delete(j);
  return true;
}

/* All-position logits of ids with a fresh session (the BLAS switches are
 * read here, when the session is made). */
static float *logits_all(still_model *m, int n_threads, int n_batch, const int32_t *ids, int n, int n_vocab)
{
  still_session_params sp = still_session_params_default();
  sp.n_threads = n_threads;
  sp.n_batch = n_batch;
  sp.kv_type = STILL_KV_F32;
  still_session *s = NULL;
  still_error err = {0};
  g_assert_cmpint(still_session_new(m, &sp, &s, &err), ==, STILL_OK);
  float *out = g_new(float, (size_t)n * n_vocab);
  g_assert_cmpint(still_session_logits(s, ids, (size_t)n, true, out, NULL, &err), ==, STILL_OK);
  still_session_free(s);
  return out;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
  double d = 0;
  for (size_t i = 0; i < n; i++) {
    double x = fabs((double)a[i] - (double)b[i]);
    if (!(x <= d)) d = x; /* NaN propagates as a failure */
  }
  return d;
}

typedef struct {
  const char *name;
  double ref_tol;   /* fixtures README, against llama.cpp's last-position logits */
  double exact_tol; /* BLAS batch against our token-by-token (vec_dot) logits */
} model_case;

static void check_model(gconstpointer data)
{
  const model_case *mc = data;
  reference r;
  if (!ref_load(mc->name, &r)) return;
  still_model *m = test_load_fixture_model(mc->name, false);
  if (!m) return;
  const int nv = r.n_vocab, np = r.n_prompt;
  const size_t all = (size_t)nv * np;

  /* STILL_BLAS=0: one batch == token by token, bit for bit */
  g_setenv("STILL_BLAS", "0", TRUE);
  float *tok = logits_all(m, 2, 1, r.prompt, np, nv);
  float *off = logits_all(m, 2, 0, r.prompt, np, nv);
  g_assert_cmpmem(off, sizeof(float) * all, tok, sizeof(float) * all);

  /* BLAS from 8 tokens: the 24-token prompt goes through SGEMM */
  force_blas(8);
  float *on1 = logits_all(m, 1, 0, r.prompt, np, nv);
  float *on2 = logits_all(m, 2, 0, r.prompt, np, nv);
  float *on3 = logits_all(m, 3, 0, r.prompt, np, nv);
  g_assert_cmpmem(on2, sizeof(float) * all, on1, sizeof(float) * all);
  g_assert_cmpmem(on3, sizeof(float) * all, on1, sizeof(float) * all);
  /* batches of 7 stay below the threshold: the vec_dot bits again */
  float *small = logits_all(m, 2, 7, r.prompt, np, nv);
  g_assert_cmpmem(small, sizeof(float) * all, tok, sizeof(float) * all);
  const double d_ref = max_abs_diff(on1 + (size_t)(np - 1) * nv, r.last, (size_t)nv);
  const double d_tok = max_abs_diff(on1, tok, all);
  g_test_message("%s with BLAS: last-position max |diff| vs llama.cpp %.3g (tolerance %.3g), vs token by token %.3g",
                 mc->name, d_ref, mc->ref_tol, d_tok);
  g_assert_cmpfloat(d_ref, <=, mc->ref_tol);
  g_assert_cmpfloat(d_tok, <=, mc->exact_tol);
  g_assert_cmpfloat(d_tok, >, 0.0); /* SGEMM really ran: its rounding differs */

  g_unsetenv("STILL_BLAS_MIN_TOKENS");
  g_free(tok);
  g_free(off);
  g_free(on1);
  g_free(on2);
  g_free(on3);
  g_free(small);
  g_free(r.prompt);
  g_free(r.last);
  still_model_free(m);
}

typedef struct {
  int32_t *ids;
  int n;
} collected;

static bool collect(int32_t token, const char *text, size_t len, void *user)
{
  (void)text;
  (void)len;
  collected *c = user;
  if (token >= 0 && c->n < 24) c->ids[c->n++] = token;
  return true;
}

/* Greedy generation after a BLAS prompt: the same ids on 1 and 2 threads. */
static void test_greedy_threads(void)
{
  reference r;
  if (!ref_load("tiny-qwen2-F16", &r)) return;
  still_model *m = test_load_fixture_model("tiny-qwen2-F16", false);
  if (!m) return;
  force_blas(8);
  int32_t ids[2][24];
  for (int ti = 0; ti < 2; ti++) {
    still_session_params sp = still_session_params_default();
    sp.n_threads = ti + 1;
    still_session *s = NULL;
    still_error err = {0};
    g_assert_cmpint(still_session_new(m, &sp, &s, &err), ==, STILL_OK);
    still_sampling smp = still_sampling_greedy();
    smp.max_tokens = 24;
    smp.ignore_eog = true;
    collected c = {ids[ti], 0};
    g_assert_cmpint(still_session_generate(s, r.prompt, (size_t)r.n_prompt, &smp, collect, &c, NULL, &err), ==,
                    STILL_OK);
    g_assert_cmpint(c.n, ==, 24);
    still_session_free(s);
  }
  g_assert_cmpmem(ids[0], sizeof ids[0], ids[1], sizeof ids[1]);
  g_unsetenv("STILL_BLAS_MIN_TOKENS");
  g_free(r.prompt);
  g_free(r.last);
  still_model_free(m);
}

#else /* built without OpenBLAS */

static void skip_all(void)
{
  g_test_skip("built without OpenBLAS (meson option blas)");
}

#endif

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#ifdef STILL_HAVE_BLAS
  /* F32: rounding of the sums only; F16/BF16: the vec_dot path rounds the
   * activations to F16/BF16, SGEMM keeps them in F32 */
  static const model_case cases[] = {
    {"tiny-qwen2-F32", 1e-4, 1e-4},
    {"stories260K", 1e-4, 1e-4},
    {"tiny-qwen2-F16", 0.006, 0.012},
    {"tiny-qwen2-BF16", 0.051, 0.1},
  };
  g_test_add_func("/blas/oracle", test_oracle);
  g_test_add_func("/blas/jobs", test_jobs);
  g_test_add_func("/blas/switches", test_switches);
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *path = g_strdup_printf("/blas/model/%s", cases[i].name);
    g_test_add_data_func(path, &cases[i], check_model);
    g_free(path);
  }
  g_test_add_func("/blas/greedy-threads", test_greedy_threads);
#else
  g_test_add_func("/blas/skipped", skip_all);
#endif
  return g_test_run();
}
