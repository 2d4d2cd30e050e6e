/* test-forward.c — the CPU forward pass against llama.cpp's references
 * (the JSON files in ../shared/fixtures/reference, see the fixtures README), plus
 * sessions: prefix reuse, cancel, context full, KV cache types, load errors.
 */
#include "test-common.h"

#include "gguf.h"
#include "model.h"
#include "still.h"
#include "types.h"

#include <cJSON.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* ---- fixtures ------------------------------------------------------------------ */

typedef struct {
  char *name;          /* "tiny-qwen2-Q8_0" */
  char *type;          /* "Q8_0" */
  int n_vocab;
  int32_t *prompt;
  int n_prompt;
  int32_t greedy[32];
  double margins[32];
  int n_greedy;
  struct {
    int pos;
    int32_t id[16];
    double logit[16];
  } top[4];
  int n_top;
  float *last;         /* [n_vocab] */
  int32_t *bos_greedy; /* stories260K: 200 ids after [1] */
  int n_bos_greedy;
  char *greedy_text;
} reference;

/* Max abs logit difference allowed for the file's weight type (fixtures
 * README, "Expected tolerances": exact dequantization + F32 activations). */
static double tolerance_for(const char *type)
{
  if (strcmp(type, "F32") == 0) return 1e-4;
  if (strcmp(type, "F16") == 0) return 0.006;
  if (strcmp(type, "BF16") == 0) return 0.051;
  if (strstr(type, "_K")) return 0.25;
  return 0.19; /* Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 */
}

static void ref_free(reference *r)
{
  if (!r) return;
  g_free(r->name);
  g_free(r->type);
  g_free(r->prompt);
  g_free(r->last);
  g_free(r->bos_greedy);
  g_free(r->greedy_text);
  g_free(r);
}

static int32_t *int_array(const cJSON *a, int *n)
{
  *n = cJSON_GetArraySize(a);
  int32_t *ids = g_new0(int32_t, *n > 0 ? *n : 1);
  for (int i = 0; i < *n; i++) ids[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
  return ids;
}

static reference *ref_load(const char *json_path)
{
  gsize len;
  char *text = test_read_file(json_path, &len);
  if (!text) return NULL;
  cJSON *j = cJSON_ParseWithLength(text, len);
  g_free(text);
  g_assert_nonnull(j);
  reference *r = g_new0(reference, 1);
  const char *model = cJSON_GetObjectItem(j, "model")->valuestring;
  r->name = g_strndup(model, strlen(model) - strlen(".gguf"));
  r->type = g_strdup(cJSON_GetObjectItem(j, "type")->valuestring);
  r->n_vocab = cJSON_GetObjectItem(j, "n_vocab")->valueint;
  r->prompt = int_array(cJSON_GetObjectItem(j, "prompt_ids"), &r->n_prompt);
  int n;
  int32_t *g = int_array(cJSON_GetObjectItem(j, "greedy_ids"), &n);
  g_assert_cmpint(n, ==, 32);
  memcpy(r->greedy, g, sizeof r->greedy);
  g_free(g);
  r->n_greedy = n;
  const cJSON *m = cJSON_GetObjectItem(j, "greedy_top2_margins");
  g_assert_cmpint(cJSON_GetArraySize(m), ==, 32);
  for (int i = 0; i < 32; i++) r->margins[i] = cJSON_GetArrayItem(m, i)->valuedouble;
  const cJSON *tl = cJSON_GetObjectItem(j, "top_logits");
  r->n_top = cJSON_GetArraySize(tl);
  g_assert_cmpint(r->n_top, ==, 4);
  for (int p = 0; p < r->n_top; p++) {
    const cJSON *e = cJSON_GetArrayItem(tl, p);
    r->top[p].pos = cJSON_GetObjectItem(e, "pos")->valueint;
    const cJSON *t16 = cJSON_GetObjectItem(e, "top16");
    for (int i = 0; i < 16; i++) {
      const cJSON *pair = cJSON_GetArrayItem(t16, i);
      r->top[p].id[i] = (int32_t)cJSON_GetArrayItem(pair, 0)->valuedouble;
      r->top[p].logit[i] = cJSON_GetArrayItem(pair, 1)->valuedouble;
    }
  }
  const cJSON *gt = cJSON_GetObjectItem(j, "greedy_text");
  if (cJSON_IsString(gt)) r->greedy_text = g_strdup(gt->valuestring);
  const cJSON *fb = cJSON_GetObjectItem(j, "from_bos");
  if (fb) r->bos_greedy = int_array(cJSON_GetObjectItem(fb, "greedy_200_ids"), &r->n_bos_greedy);

  char *dir = g_path_get_dirname(json_path);
  char *lf = g_build_filename(dir, cJSON_GetObjectItem(j, "last_logits_file")->valuestring, NULL);
  gsize flen;
  r->last = (float *)test_read_file(lf, &flen);
  g_assert_cmpuint(flen, ==, (gsize)r->n_vocab * 4);
  g_free(lf);
  g_free(dir);
  cJSON_Delete(j);
  return r;
}

static still_session *new_session(still_model *m, int n_threads, still_kv_type kv, int n_ctx, int n_batch)
{
  still_session_params sp = still_session_params_default();
  sp.n_threads = n_threads;
  sp.kv_type = kv;
  sp.n_ctx = n_ctx;
  sp.n_batch = n_batch;
  return test_session_new(m, &sp);
}

static double max_abs_diff(const float *a, const float *b, int n)
{
  double d = 0;
  for (int i = 0; i < n; i++) {
    double x = fabs((double)a[i] - (double)b[i]);
    if (!(x <= d)) d = x; /* NaN propagates as a failure */
  }
  return d;
}

typedef struct {
  int32_t ids[256];
  int n;
  GString *text;
} collected;

static bool collect_token(int32_t token, const char *text, size_t len, void *user)
{
  collected *c = user;
  if (token >= 0 && c->n < 256) c->ids[c->n++] = token;
  if (c->text && text) g_string_append_len(c->text, text, (gssize)len);
  return true;
}

static still_status greedy(still_session *s, const int32_t *prompt, int n, int max_tokens, collected *c,
                           still_stats *stats)
{
  still_sampling sp = still_sampling_greedy();
  sp.max_tokens = max_tokens;
  sp.ignore_eog = true;
  still_error err = {0};
  c->n = 0;
  still_status st = still_session_generate(s, prompt, (size_t)n, &sp, collect_token, c, stats, &err);
  if (st != STILL_OK) g_test_message("generate: %s", err.message);
  return st;
}

/* ---- the reference check of one model ---------------------------------------------- */

static void check_reference(gconstpointer data)
{
  const char *json_name = data;
  char *rel = g_strdup_printf("reference/%s", json_name);
  char *json_path = test_fixture_path(rel);
  g_free(rel);
  if (!json_path) return;
  reference *r = ref_load(json_path);
  g_free(json_path);
  const double tol = tolerance_for(r->type);
  still_model *m = test_load_fixture_model(r->name, false);
  if (!m) {
    ref_free(r);
    return;
  }
  const int nv = r->n_vocab;
  g_assert_cmpint(still_model_get_info(m)->n_vocab, ==, nv);

  float *last[3] = {g_new(float, nv), g_new(float, nv), NULL};
  collected runs[3];
  memset(runs, 0, sizeof runs);
  for (int ti = 0; ti < 2; ti++) {
    int threads = ti + 1;
    still_session *s = new_session(m, threads, STILL_KV_F32, 0, 0);
    still_error err = {0};

    /* 1. last-position logits */
    still_stats st;
    g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, last[ti], &st, &err), ==, STILL_OK);
    g_assert_cmpint(st.prompt_tokens, ==, r->n_prompt);
    double d = max_abs_diff(last[ti], r->last, nv);
    g_test_message("%s, %d thread(s): last-position max |diff| = %.3g (tolerance %.3g)", r->name, threads, d, tol);
    g_assert_cmpfloat(d, <=, tol);

    /* 2. top-16 of the last 4 positions: values within tolerance, and the
     * ranking wherever the reference gap to the neighbours exceeds 2·tol */
    float *all = g_new(float, (size_t)nv * r->n_prompt);
    g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, true, all, NULL, &err), ==, STILL_OK);
    g_assert_cmpfloat(max_abs_diff(all + (size_t)(r->n_prompt - 1) * nv, last[ti], nv), <=, 1e-6);
    int ranked = 0;
    for (int p = 0; p < r->n_top; p++) {
      const float *lg = all + (size_t)r->top[p].pos * nv;
      for (int i = 0; i < 16; i++) {
        double ours = lg[r->top[p].id[i]];
        g_assert_cmpfloat(fabs(ours - r->top[p].logit[i]), <=, tol);
        bool clear_above = i == 0 || r->top[p].logit[i - 1] - r->top[p].logit[i] > 2 * tol;
        bool clear_below = i == 15 || r->top[p].logit[i] - r->top[p].logit[i + 1] > 2 * tol;
        if (clear_above && clear_below) {
          /* exactly i tokens of the whole vocabulary score higher */
          int higher = 0;
          for (int v = 0; v < nv; v++)
            if (lg[v] > ours) higher++;
          g_assert_cmpint(higher, ==, i);
          ranked++;
        }
      }
    }
    g_free(all);

    /* 3. greedy continuation, free running: must equal the reference until
     * a step whose margin is within 2·tol (a legitimate near-tie) differs */
    g_assert_cmpint(greedy(s, r->prompt, r->n_prompt, 32, &runs[ti], &st), ==, STILL_OK);
    g_assert_cmpint(runs[ti].n, ==, 32);
    g_assert_cmpint(st.gen_tokens, ==, 32);
    g_assert_cmpint(st.gen_evals, ==, 31);
    /* the logits calls left the prompt and its logits cached: nothing is evaluated again */
    g_assert_cmpint(st.prompt_cached, ==, r->n_prompt);
    g_assert_cmpint(st.prompt_tokens, ==, 0);
    int agree = 0;
    while (agree < 32 && runs[ti].ids[agree] == r->greedy[agree]) agree++;
    if (agree < 32) g_assert_cmpfloat(r->margins[agree], <=, 2 * tol);
    if (strcmp(r->type, "F32") == 0) g_assert_cmpint(agree, ==, 32);

    /* 4. teacher-forced: feed the reference ids, the argmax must match at
     * every step whose margin exceeds 2·tol */
    int nf = r->n_prompt + 31;
    int32_t *forced = g_new(int32_t, nf);
    memcpy(forced, r->prompt, sizeof(int32_t) * r->n_prompt);
    memcpy(forced + r->n_prompt, r->greedy, sizeof(int32_t) * 31);
    float *fl = g_new(float, (size_t)nv * nf);
    g_assert_cmpint(still_session_logits(s, forced, (size_t)nf, true, fl, NULL, &err), ==, STILL_OK);
    int checked = 0;
    for (int i = 0; i < 32; i++) {
      if (r->margins[i] <= 2 * tol) continue;
      int32_t am = 0;
      const float *lg = fl + (size_t)(r->n_prompt - 1 + i) * nv;
      for (int v = 1; v < nv; v++)
        if (lg[v] > lg[am]) am = v;
      g_assert_cmpint(am, ==, r->greedy[i]);
      checked++;
    }
    g_free(fl);
    g_free(forced);
    g_test_message("%s, %d thread(s): ranks checked %d, greedy agrees for %d/32, teacher-forced argmax %d steps",
                   r->name, threads, ranked, agree, checked);

    /* 5. stories260K: 200 greedy tokens from BOS, exactly */
    if (r->bos_greedy && ti == 0) {
      collected c = {0};
      int32_t bos = 1;
      g_assert_cmpint(greedy(s, &bos, 1, r->n_bos_greedy, &c, NULL), ==, STILL_OK);
      g_assert_cmpint(c.n, ==, r->n_bos_greedy);
      g_assert_cmpmem(c.ids, sizeof(int32_t) * c.n, r->bos_greedy, sizeof(int32_t) * r->n_bos_greedy);
    }
    still_session_free(s);
  }
  /* threads 1 and 2 compute every value the same way */
  g_assert_cmpmem(last[0], sizeof(float) * nv, last[1], sizeof(float) * nv);
  g_assert_cmpmem(runs[0].ids, sizeof(int32_t) * 32, runs[1].ids, sizeof(int32_t) * 32);
  g_free(last[0]);
  g_free(last[1]);
  still_model_free(m);
  ref_free(r);
}

/* ---- sessions ---------------------------------------------------------------------------- */

static reference *load_ref(const char *name)
{
  char *rel = g_strdup_printf("reference/%s.json", name);
  char *p = test_fixture_path(rel);
  g_free(rel);
  if (!p) return NULL;
  reference *r = ref_load(p);
  g_free(p);
  return r;
}

/* ---- repeats ------------------------------------------------------------------------------ */

/* With BLAS on (forced here for batches of 2 or more), a token evaluated alone is within float
 * rounding of the same token in a batch, not its bits. The same prompt asked again starts from
 * the logits kept from its evaluation, so the answer repeats bit for bit; a shorter prompt, or a
 * cache that no longer holds the prompt, evaluates again. */
static void test_repeat_with_blas(void)
{
  reference *r = load_ref("tiny-qwen2-F32");
  if (!r) return;
  still_model *m = test_load_fixture_model(r->name, false);
  g_setenv("STILL_BLAS", "1", TRUE);
  g_setenv("STILL_BLAS_MIN_TOKENS", "2", TRUE);
  still_session *s = new_session(m, 2, STILL_KV_F16, 0, 0);
  still_session *fresh = new_session(m, 2, STILL_KV_F16, 0, 0);
  g_unsetenv("STILL_BLAS");
  g_unsetenv("STILL_BLAS_MIN_TOKENS");
#ifndef STILL_HAVE_BLAS
  g_test_message("built without OpenBLAS: the kernels keep every bit anyway; only the kept logits are checked");
#endif
  const int nv = r->n_vocab;
  float *a = g_new(float, nv), *b = g_new(float, nv);
  still_stats st;
  still_error err = {0};
  collected c1 = {0}, c2 = {0}, c3 = {0};

  g_assert_cmpint(greedy(s, r->prompt, 24, 24, &c1, &st), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 24);
  g_assert_cmpint(greedy(s, r->prompt, 24, 24, &c2, &st), ==, STILL_OK);
  g_assert_cmpint(st.prompt_cached, ==, 24);
  g_assert_cmpint(st.prompt_tokens, ==, 0);
  g_assert_cmpmem(c1.ids, sizeof(int32_t) * c1.n, c2.ids, sizeof(int32_t) * c2.n);
  /* the same as a session that never saw another request */
  g_assert_cmpint(greedy(fresh, r->prompt, 24, 24, &c3, &st), ==, STILL_OK);
  g_assert_cmpmem(c1.ids, sizeof(int32_t) * c1.n, c3.ids, sizeof(int32_t) * c3.n);

  /* logits: the kept ones, bit for bit, and those of a fresh session */
  g_assert_cmpint(still_session_logits(fresh, r->prompt, 24, false, a, &st, &err), ==, STILL_OK);
  g_assert_cmpint(still_session_logits(s, r->prompt, 24, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 0);
  g_assert_cmpmem(a, sizeof(float) * nv, b, sizeof(float) * nv);

  /* a prefix of it is evaluated (its last token alone): within rounding, and no longer kept */
  g_assert_cmpint(still_session_logits(s, r->prompt, 20, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_cached, ==, 19);
  g_assert_cmpint(st.prompt_tokens, ==, 1);
  g_assert_cmpint(still_session_logits(s, r->prompt, 24, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_cached, ==, 20);
  g_assert_cmpint(st.prompt_tokens, ==, 4);
  g_assert_cmpfloat(max_abs_diff(a, b, nv), <=, 1e-3);
  /* a reset forgets them too */
  still_session_reset(s);
  g_assert_cmpint(still_session_logits(s, r->prompt, 24, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 24);
  g_assert_cmpmem(a, sizeof(float) * nv, b, sizeof(float) * nv);

  g_free(a);
  g_free(b);
  still_session_free(s);
  still_session_free(fresh);
  still_model_free(m);
  ref_free(r);
}

/* ---- thread splits ------------------------------------------------------------------------ */

/* More threads than KV heads (the tiny models have 2, with 2 query heads
 * each): decode splits a KV head's query heads over threads, and a prompt
 * runs its per-token steps (norms, biases, rope, residual adds) on the pool.
 * Every value must still come out bit for bit as on one thread: all-position
 * logits of the prompt (one batch, and in batches of 5) and 24 greedy
 * tokens, with the default F16 cache (probabilities converted per head). */
static void test_thread_splits(void)
{
  const char *names[] = {"tiny-qwen2-Q4_K_M", "tiny-qwen3-Q8_0"};
  for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
    char *json = g_strdup_printf("%s", names[k]);
    reference *r = load_ref(json);
    g_free(json);
    if (!r) return;
    still_model *m = test_load_fixture_model(r->name, false);
    const int nv = r->n_vocab, np = r->n_prompt;
    const int threads[] = {1, 3, 5, 3};
    const int batches[] = {0, 0, 0, 5};
    float *first = NULL;
    collected c0 = {0};
    for (size_t i = 0; i < G_N_ELEMENTS(threads); i++) {
      still_session *s = new_session(m, threads[i], STILL_KV_F16, 0, batches[i]);
      still_error err = {0};
      float *all = g_new(float, (size_t)nv * np);
      g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)np, true, all, NULL, &err), ==, STILL_OK);
      still_session_free(s);
      s = new_session(m, threads[i], STILL_KV_F16, 0, batches[i]);
      collected c = {0};
      g_assert_cmpint(greedy(s, r->prompt, np, 24, &c, NULL), ==, STILL_OK);
      g_assert_cmpint(c.n, ==, 24);
      still_session_free(s);
      if (i == 0) {
        first = all;
        c0 = c;
        continue;
      }
      g_test_message("%s: %d threads, batch %d", r->name, threads[i], batches[i]);
      g_assert_cmpmem(all, sizeof(float) * (size_t)nv * np, first, sizeof(float) * (size_t)nv * np);
      g_assert_cmpmem(c.ids, sizeof(int32_t) * c.n, c0.ids, sizeof(int32_t) * c0.n);
      g_free(all);
    }
    g_free(first);
    still_model_free(m);
    ref_free(r);
  }
}

static void test_prefix_reuse(void)
{
  reference *r = load_ref("tiny-qwen2-F32");
  if (!r) return;
  still_model *m = test_load_fixture_model(r->name, false);
  still_session *s = new_session(m, 2, STILL_KV_F32, 0, 0);
  const int nv = r->n_vocab;
  float *a = g_new(float, nv), *b = g_new(float, nv);
  still_stats st;
  still_error err = {0};

  /* first half, then the whole prompt: only the new half is evaluated */
  g_assert_cmpint(still_session_logits(s, r->prompt, 12, false, a, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 12);
  g_assert_cmpint(st.prompt_cached, ==, 0);
  g_assert_cmpint(still_session_logits(s, r->prompt, 24, false, a, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 12);
  g_assert_cmpint(st.prompt_cached, ==, 12);
  g_assert_cmpint(still_session_n_past(s), ==, 24);
  g_assert_cmpfloat(max_abs_diff(a, r->last, nv), <=, 1e-4);

  /* the same prompt again: its logits are kept, nothing is evaluated */
  g_assert_cmpint(still_session_logits(s, r->prompt, 24, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 0);
  g_assert_cmpint(st.prompt_cached, ==, 24);
  g_assert_cmpmem(a, sizeof(float) * nv, b, sizeof(float) * nv);

  /* a prompt that diverges at position 10: ten tokens reused */
  int32_t alt[24];
  memcpy(alt, r->prompt, sizeof alt);
  alt[10] = (alt[10] + 1) % nv;
  g_assert_cmpint(still_session_logits(s, alt, 24, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_cached, ==, 10);
  g_assert_cmpint(st.prompt_tokens, ==, 14);
  /* and back: identical to a fresh evaluation */
  g_assert_cmpint(still_session_logits(s, r->prompt, 24, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_cached, ==, 10);
  g_assert_cmpfloat(max_abs_diff(a, b, nv), <=, 1e-6);

  /* generation appends to the cache: a follow-up prompt extending
   * prompt + generated ids reuses all of them */
  collected c = {0};
  g_assert_cmpint(greedy(s, r->prompt, 24, 8, &c, &st), ==, STILL_OK);
  g_assert_cmpint(still_session_n_past(s), ==, 24 + 7);
  int32_t turn2[40];
  memcpy(turn2, r->prompt, sizeof(int32_t) * 24);
  memcpy(turn2 + 24, c.ids, sizeof(int32_t) * 8);
  turn2[32] = 13;
  g_assert_cmpint(still_session_logits(s, turn2, 33, false, b, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_cached, ==, 31);
  g_assert_cmpint(st.prompt_tokens, ==, 2);

  /* a prompt split into batches of 5 gives the same logits at every position */
  float *all1 = g_new(float, (size_t)nv * 24), *all5 = g_new(float, (size_t)nv * 24);
  still_session *s5 = new_session(m, 1, STILL_KV_F32, 0, 5);
  g_assert_cmpint(still_session_logits(s, r->prompt, 24, true, all1, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(still_session_logits(s5, r->prompt, 24, true, all5, NULL, &err), ==, STILL_OK);
  g_assert_cmpmem(all1, sizeof(float) * nv * 24, all5, sizeof(float) * nv * 24);
  still_session_free(s5);
  g_free(all1);
  g_free(all5);
  g_free(a);
  g_free(b);
  still_session_free(s);
  still_model_free(m);
  ref_free(r);
}

typedef struct {
  still_session *s;
  atomic_int tokens;
  atomic_bool done;
  int cancel_after; /* -1: cancel continuously until done */
  GMutex lock;
  GCond cond;
  bool asked, cancelled;
} cancel_ctx;

/* At the cancel_after-th token, ask the other thread to cancel and wait
 * until it did: the generation must then stop before the next token. */
static bool count_token(int32_t token, const char *text, size_t len, void *user)
{
  cancel_ctx *c = user;
  int n = atomic_fetch_add(&c->tokens, 1) + 1;
  if (n == c->cancel_after) {
    g_mutex_lock(&c->lock);
    c->asked = true;
    g_cond_broadcast(&c->cond);
    while (!c->cancelled) g_cond_wait(&c->cond, &c->lock);
    g_mutex_unlock(&c->lock);
  }
  return true;
}

static gpointer canceller(gpointer data)
{
  cancel_ctx *c = data;
  if (c->cancel_after > 0) {
    g_mutex_lock(&c->lock);
    while (!c->asked) g_cond_wait(&c->cond, &c->lock);
    still_session_cancel(c->s);
    c->cancelled = true;
    g_cond_broadcast(&c->cond);
    g_mutex_unlock(&c->lock);
    return NULL;
  }
  while (!atomic_load(&c->done)) {
    still_session_cancel(c->s);
    g_usleep(50);
  }
  return NULL;
}

static void test_cancel(void)
{
  still_model *m = test_load_fixture_model("stories260K", false);
  if (!m) return;
  still_session *s = new_session(m, 2, STILL_KV_F16, 2048, 2048);
  still_sampling sp = still_sampling_greedy();
  sp.ignore_eog = true;
  still_stats st;
  still_error err = {0};

  /* during generation: the request made while token 5 is streamed stops
   * the loop before token 6 */
  cancel_ctx c = {.s = s, .cancel_after = 5};
  g_mutex_init(&c.lock);
  g_cond_init(&c.cond);
  GThread *t = g_thread_new("cancel", canceller, &c);
  int32_t bos = 1;
  still_status rc = still_session_generate(s, &bos, 1, &sp, count_token, &c, &st, &err);
  g_thread_join(t);
  g_assert_cmpint(rc, ==, STILL_ERR_CANCELLED);
  g_assert_cmpint(st.stop, ==, STILL_STOP_CANCELLED);
  g_assert_cmpint(st.gen_tokens, ==, 5);
  g_assert_cmpint(atomic_load(&c.tokens), ==, 5);
  g_mutex_clear(&c.lock);
  g_cond_clear(&c.cond);

  /* during a long prompt (one batch, ~0.5 s): stopped between layers,
   * nothing of the batch is kept */
  enum { N = 1800 };
  int32_t *prompt = g_new(int32_t, N);
  for (int i = 0; i < N; i++) prompt[i] = 1 + (i * 37) % 500;
  still_session_reset(s);
  cancel_ctx c2 = {.s = s, .cancel_after = -1};
  t = g_thread_new("cancel", canceller, &c2);
  g_usleep(2000); /* let the canceller start first: a call clears the flag only at its start */
  double t0 = g_get_monotonic_time() / 1e6;
  rc = still_session_generate(s, prompt, N, &sp, count_token, &c2, &st, &err);
  double took = g_get_monotonic_time() / 1e6 - t0;
  atomic_store(&c2.done, true);
  g_thread_join(t);
  g_test_message("prompt cancelled after %.3f s", took);
  g_assert_cmpint(rc, ==, STILL_ERR_CANCELLED);
  g_assert_cmpint(st.gen_tokens, ==, 0);
  g_assert_cmpint(still_session_n_past(s), ==, 0);

  /* the session is still usable and gives the same logits as a fresh one */
  float *a = g_new(float, 512), *b = g_new(float, 512);
  g_assert_cmpint(still_session_logits(s, prompt, 64, false, a, NULL, &err), ==, STILL_OK);
  still_session *fresh = new_session(m, 1, STILL_KV_F16, 2048, 0);
  g_assert_cmpint(still_session_logits(fresh, prompt, 64, false, b, NULL, &err), ==, STILL_OK);
  g_assert_cmpmem(a, 512 * sizeof(float), b, 512 * sizeof(float));
  still_session_free(fresh);
  g_free(a);
  g_free(b);
  g_free(prompt);
  still_session_free(s);
  still_model_free(m);
}

static void test_context_full(void)
{
  reference *r = load_ref("tiny-qwen2-Q8_0");
  if (!r) return;
  still_model *m = test_load_fixture_model(r->name, false);
  still_session *s = new_session(m, 1, STILL_KV_F16, 32, 8);
  still_error err = {0};
  still_stats st;
  /* a prompt longer than the context: refused, nothing evaluated */
  int32_t big[40];
  for (int i = 0; i < 40; i++) big[i] = r->prompt[i % 24];
  collected c = {0};
  still_sampling sp = still_sampling_greedy();
  sp.ignore_eog = true;
  g_assert_cmpint(still_session_generate(s, big, 40, &sp, collect_token, &c, &st, &err), ==, STILL_ERR_CONTEXT_FULL);
  g_assert_nonnull(strstr(err.message, "context"));
  g_assert_cmpint(c.n, ==, 0);
  float *lg = g_new(float, r->n_vocab);
  g_assert_cmpint(still_session_logits(s, big, 33, false, lg, NULL, &err), ==, STILL_ERR_CONTEXT_FULL);

  /* generation that fills the context: 24 prompt + 8 evaluated tokens, the
   * 9th is streamed and then there is no room: an error, never truncation */
  memset(&err, 0, sizeof err);
  g_assert_cmpint(still_session_generate(s, r->prompt, 24, &sp, collect_token, &c, &st, &err), ==,
                  STILL_ERR_CONTEXT_FULL);
  g_test_message("context full: %s", err.message);
  g_assert_nonnull(strstr(err.message, "full"));
  g_assert_cmpint(st.stop, ==, STILL_STOP_CONTEXT_FULL);
  g_assert_cmpint(st.gen_tokens, ==, 9);
  g_assert_cmpint(c.n, ==, 9);
  g_assert_cmpint(still_session_n_past(s), ==, 32);
  /* out-of-range ids are refused */
  int32_t bad[2] = {1, r->n_vocab};
  g_assert_cmpint(still_session_logits(s, bad, 2, false, lg, NULL, &err), ==, STILL_ERR_INVALID_ARG);
  g_free(lg);
  still_session_free(s);
  still_model_free(m);
  ref_free(r);
}

/* F16 (default) and Q8_0 caches stay close to the F32 reference. */
static void test_kv_types(void)
{
  reference *r = load_ref("tiny-qwen2-F32");
  if (!r) return;
  still_model *m = test_load_fixture_model(r->name, false);
  float *lg = g_new(float, r->n_vocab);
  const struct {
    still_kv_type type;
    double tol;
  } cases[] = {{STILL_KV_F16, 0.01}, {STILL_KV_Q8_0, 0.1}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    still_session *s = new_session(m, 2, cases[i].type, 0, 0);
    still_error err = {0};
    g_assert_cmpint(still_session_logits(s, r->prompt, 24, false, lg, NULL, &err), ==, STILL_OK);
    double d = max_abs_diff(lg, r->last, r->n_vocab);
    g_test_message("KV cache %s: max |diff| vs F32 reference %.3g", i == 0 ? "F16" : "Q8_0", d);
    g_assert_cmpfloat(d, <=, cases[i].tol);
    collected c = {0};
    g_assert_cmpint(greedy(s, r->prompt, 24, 8, &c, NULL), ==, STILL_OK);
    for (int k = 0; k < 8 && r->margins[k] > 2 * cases[i].tol; k++) g_assert_cmpint(c.ids[k], ==, r->greedy[k]);
    still_session_free(s);
  }
  /* Q8_0 needs heads of 32: stories260K has heads of 8 */
  still_model *st = test_load_fixture_model("stories260K", false);
  still_session_params sp = still_session_params_default();
  sp.kv_type = STILL_KV_Q8_0;
  still_session *s = NULL;
  still_error err = {0};
  g_assert_cmpint(still_session_new(st, &sp, &s, &err), ==, STILL_ERR_UNSUPPORTED);
  g_assert_null(s);
  g_assert_nonnull(strstr(err.message, "Q8_0"));
  still_model_free(st);
  still_model_free(m);
  g_free(lg);
  ref_free(r);
}

/* Streaming text equals llama.cpp's concatenated pieces (needs the tokenizer). */
static void test_stream_text(void)
{
  reference *r = load_ref("tiny-qwen2-F32");
  if (!r) return;
  still_model *m = test_load_fixture_model(r->name, true);
  const still_model_info *in = still_model_get_info(m);
  g_assert_true(in->has_vocab);
  g_assert_cmpstr(in->arch, ==, "qwen2");
  g_assert_true(in->is_r1);
  still_sampling def = still_sampling_for_model(m);
  g_assert_cmpfloat(def.temperature, ==, 0.6f);
  g_assert_cmpfloat(def.top_p, ==, 0.95f);
  still_session *s = new_session(m, 2, STILL_KV_F32, 0, 0);
  collected c = {.text = g_string_new(NULL)};
  still_stats st;
  g_assert_cmpint(greedy(s, r->prompt, 24, 32, &c, &st), ==, STILL_OK);
  g_assert_cmpmem(c.ids, 32 * sizeof(int32_t), r->greedy, 32 * sizeof(int32_t));
  g_assert_cmpstr(c.text->str, ==, r->greedy_text);
  g_assert_cmpfloat(st.ttft_s, >, 0.0);
  g_assert_cmpfloat(st.ttft_s, >=, st.prompt_s);
  g_string_free(c.text, TRUE);
  still_session_free(s);
  still_model_free(m);
  ref_free(r);
}

/* ---- loading ------------------------------------------------------------------------------- */

/* Copy a fixture model with edits: skip a tensor, override one metadata
 * key's string value, or add float keys. */
typedef struct {
  const char *skip_tensor;
  const char *set_arch;
  const char *reshape_tensor; /* written with its two dims swapped */
  bool drop_rope_freqs_add_keys;
  bool add_yarn;
} edit;

static char *write_edited(const char *name, const edit *e)
{
  char *src = test_fixture_model_path(name);
  if (!src) return NULL;
  gguf_file *f = NULL;
  still_error err = {0};
  g_assert_cmpint(gguf_open(src, &f, &err), ==, STILL_OK);
  gguf_writer *w = gguf_writer_new();
  const char *arch = NULL;
  for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
    const gguf_kv *kv = gguf_kv_at(f, i);
    char *key = gguf_str_dup(kv->key);
    if (strcmp(key, "general.architecture") == 0) {
      char *a = gguf_str_dup(kv->value.v.str);
      arch = g_intern_string(a);
      free(a);
      gguf_writer_add_str(w, key, e->set_arch ? e->set_arch : arch);
    } else if (strcmp(key, "general.alignment") != 0) {
      gguf_writer_add_value(w, key, &kv->value);
    }
    free(key);
  }
  if (e->drop_rope_freqs_add_keys) {
    char k[128];
    g_snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
    gguf_writer_add_str(w, k, "llama3");
    g_snprintf(k, sizeof k, "%s.rope.scaling.factor", arch);
    gguf_writer_add_f32(w, k, 8.0f);
    g_snprintf(k, sizeof k, "%s.rope.scaling.low_freq_factor", arch);
    gguf_writer_add_f32(w, k, 1.0f);
    g_snprintf(k, sizeof k, "%s.rope.scaling.high_freq_factor", arch);
    gguf_writer_add_f32(w, k, 4.0f);
    g_snprintf(k, sizeof k, "%s.rope.scaling.original_context_length", arch);
    gguf_writer_add_u32(w, k, 8192);
  }
  if (e->add_yarn) {
    char k[128];
    g_snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
    gguf_writer_add_str(w, k, "yarn");
    g_snprintf(k, sizeof k, "%s.rope.scaling.factor", arch);
    gguf_writer_add_f32(w, k, 4.0f);
    g_snprintf(k, sizeof k, "%s.rope.scaling.original_context_length", arch);
    gguf_writer_add_u32(w, k, 1024);
  }
  for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
    const gguf_tensor *t = gguf_tensor_at(f, i);
    char *tn = gguf_str_dup(t->name);
    bool skip = (e->skip_tensor && strcmp(tn, e->skip_tensor) == 0) ||
                (e->drop_rope_freqs_add_keys && strcmp(tn, "rope_freqs.weight") == 0);
    if (!skip) {
      int64_t ne[GGUF_MAX_DIMS];
      memcpy(ne, t->ne, sizeof ne);
      if (e->reshape_tensor && strcmp(tn, e->reshape_tensor) == 0) {
        int64_t x = ne[0];
        ne[0] = ne[1];
        ne[1] = x;
      }
      gguf_writer_add_tensor(w, tn, t->type, t->n_dims, ne, t->data);
    }
    free(tn);
  }
  char *dir = g_dir_make_tmp("still-fwd-XXXXXX", NULL);
  char *out = g_build_filename(dir, "edited.gguf", NULL);
  g_assert_cmpint(gguf_writer_write_file(w, out, &err), ==, STILL_OK);
  gguf_writer_free(w);
  gguf_close(f);
  g_free(dir);
  g_free(src);
  return out;
}

static void remove_edited(char *path)
{
  char *dir = g_path_get_dirname(path);
  g_unlink(path);
  g_rmdir(dir);
  g_free(dir);
  g_free(path);
}

static still_status load_path(const char *path, still_model **m, still_error *err)
{
  still_load_params lp = still_load_params_default();
  lp.no_vocab = true;
  return still_model_load(path, &lp, NULL, NULL, m, err);
}

static void test_load_errors(void)
{
  still_model *m = NULL;
  still_error err = {0};
  char *p = write_edited("tiny-qwen2-Q8_0", &(edit){.set_arch = "gemma2"});
  if (!p) return;
  g_assert_cmpint(load_path(p, &m, &err), ==, STILL_ERR_UNSUPPORTED);
  g_assert_null(m);
  g_assert_cmpstr(err.message, ==, "architecture 'gemma2' is not supported; supported: qwen2, llama, qwen3");
  remove_edited(p);

  p = write_edited("tiny-qwen2-Q8_0", &(edit){.skip_tensor = "blk.1.ffn_up.weight"});
  g_assert_cmpint(load_path(p, &m, &err), ==, STILL_ERR_FORMAT);
  g_assert_cmpstr(err.message, ==, "tensor blk.1.ffn_up.weight is missing");
  remove_edited(p);

  p = write_edited("tiny-qwen2-Q8_0", &(edit){.skip_tensor = "blk.0.attn_k.bias"});
  g_assert_cmpint(load_path(p, &m, &err), ==, STILL_ERR_FORMAT);
  g_assert_cmpstr(err.message, ==, "tensor blk.0.attn_k.bias is missing");
  remove_edited(p);

  p = write_edited("tiny-qwen3-Q8_0", &(edit){.skip_tensor = "blk.0.attn_q_norm.weight"});
  g_assert_cmpint(load_path(p, &m, &err), ==, STILL_ERR_FORMAT);
  g_assert_cmpstr(err.message, ==, "tensor blk.0.attn_q_norm.weight is missing");
  remove_edited(p);

  p = write_edited("tiny-qwen2-F32", &(edit){.reshape_tensor = "blk.0.attn_k.weight"});
  g_assert_cmpint(load_path(p, &m, &err), ==, STILL_ERR_FORMAT);
  g_assert_nonnull(strstr(err.message, "blk.0.attn_k.weight has shape [128, 256]"));
  remove_edited(p);

  g_assert_cmpint(still_model_load("/nonexistent/model.gguf", NULL, NULL, NULL, &m, &err), !=, STILL_OK);
  g_assert_null(m);
  g_assert_cmpstr(err.message, !=, "");
}

/* llama3 rope: the factors computed from the keys equal the file's
 * rope_freqs.weight, and a file with only the keys gives the same logits. */
static void test_llama3_rope(void)
{
  reference *r = load_ref("tiny-llama-Q8_0");
  if (!r) return;
  still_model *m = test_load_fixture_model(r->name, false);
  g_assert_nonnull(m->rope_freqs.data);
  g_assert_cmpstr(still_model_get_info(m)->rope_scaling, ==, "llama3");
  still_hparams hp = m->hp;
  hp.rope_factor = 8.0f;
  hp.rope_low_freq_factor = 1.0f;
  hp.rope_high_freq_factor = 4.0f;
  hp.rope_orig_ctx = 8192;
  float f[64];
  g_assert_cmpint(hp.n_rot / 2, <=, 64);
  still_llama3_rope_factors(&hp, f);
  for (int i = 0; i < hp.n_rot / 2; i++) g_assert_cmpfloat(fabs(f[i] - m->rope_freqs.data[i]), <=, 1e-5 * f[i]);

  char *p = write_edited(r->name, &(edit){.drop_rope_freqs_add_keys = true});
  still_model *k = NULL;
  still_error err = {0};
  g_assert_cmpint(load_path(p, &k, &err), ==, STILL_OK);
  g_assert_cmpstr(still_model_get_info(k)->rope_scaling, ==, "llama3");
  float *a = g_new(float, r->n_vocab), *b = g_new(float, r->n_vocab);
  still_session *s1 = new_session(m, 1, STILL_KV_F32, 0, 0), *s2 = new_session(k, 1, STILL_KV_F32, 0, 0);
  g_assert_cmpint(still_session_logits(s1, r->prompt, 24, false, a, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(still_session_logits(s2, r->prompt, 24, false, b, NULL, &err), ==, STILL_OK);
  g_assert_cmpfloat(max_abs_diff(a, b, r->n_vocab), <=, 1e-4);
  still_session_free(s1);
  still_session_free(s2);
  still_model_free(k);
  remove_edited(p);
  still_model_free(m);
  g_free(a);
  g_free(b);
  ref_free(r);
}

/* YaRN: inactive within the original context (same logits as without the
 * keys), active beyond it (different, finite logits). */
static void test_yarn(void)
{
  reference *r = load_ref("tiny-qwen3-Q8_0");
  if (!r) return;
  still_model *m = test_load_fixture_model(r->name, false);
  char *p = write_edited(r->name, &(edit){.add_yarn = true});
  still_model *y = NULL;
  still_error err = {0};
  g_assert_cmpint(load_path(p, &y, &err), ==, STILL_OK);
  g_assert_cmpstr(still_model_get_info(y)->rope_scaling, ==, "yarn");
  const int nv = r->n_vocab;
  float *a = g_new(float, nv), *b = g_new(float, nv), *c = g_new(float, nv);
  still_session *s1 = new_session(m, 1, STILL_KV_F32, 1024, 0), *s2 = new_session(y, 1, STILL_KV_F32, 1024, 0),
                *s3 = new_session(y, 1, STILL_KV_F32, 4096, 0);
  g_assert_cmpint(still_session_logits(s1, r->prompt, 24, false, a, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(still_session_logits(s2, r->prompt, 24, false, b, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(still_session_logits(s3, r->prompt, 24, false, c, NULL, &err), ==, STILL_OK);
  g_assert_cmpmem(a, nv * sizeof(float), b, nv * sizeof(float));
  double d = max_abs_diff(a, c, nv);
  g_test_message("YaRN beyond the original context moves logits by %.3g", d);
  g_assert_cmpfloat(d, >, 1e-3);
  g_assert_cmpfloat(d, <, 100.0);
  still_session_free(s1);
  still_session_free(s2);
  still_session_free(s3);
  still_model_free(y);
  remove_edited(p);
  still_model_free(m);
  g_free(a);
  g_free(b);
  g_free(c);
  ref_free(r);
}

typedef struct {
  int calls;
  float last;
  bool monotonic;
  int stop_at; /* return false on this call (0: never) */
} progress_log;

static bool on_progress(float fraction, void *user)
{
  progress_log *p = user;
  if (fraction < p->last || fraction < 0.0f || fraction > 1.0f) p->monotonic = false;
  p->last = fraction;
  p->calls++;
  return p->stop_at == 0 || p->calls < p->stop_at;
}

/* Model info, and loading with prefetch: progress rises to 1, cancel works. */
static void test_model_info(void)
{
  char *path = test_fixture_model_path("tiny-qwen3-Q8_0");
  if (!path) return;
  still_load_params lp = still_load_params_default();
  lp.prefetch = true;
  progress_log pl = {.monotonic = true};
  still_model *m = NULL;
  still_error err = {0};
  g_assert_cmpint(still_model_load(path, &lp, on_progress, &pl, &m, &err), ==, STILL_OK);
  g_assert_true(pl.monotonic);
  g_assert_cmpint(pl.calls, >=, 2);
  g_assert_cmpfloat(pl.last, ==, 1.0f);
  const still_model_info *in = still_model_get_info(m);
  g_assert_cmpstr(in->arch, ==, "qwen3");
  g_assert_cmpstr(in->file_type, ==, "Q8_0");
  g_assert_cmpstr(in->template_family, ==, "qwen3");
  g_assert_false(in->is_r1);
  g_assert_cmpint(in->n_vocab, ==, 8000);
  g_assert_cmpint(in->n_embd, ==, 256);
  g_assert_cmpint(in->n_layer, ==, 2);
  g_assert_cmpint(in->n_head, ==, 4);
  g_assert_cmpint(in->n_head_kv, ==, 2);
  g_assert_cmpint(in->head_dim, ==, 64);
  g_assert_cmpint(in->n_ff, ==, 768);
  g_assert_cmpint(in->n_ctx_train, ==, 4096);
  g_assert_cmpfloat(in->rope_base, ==, 1000000.0f);
  g_assert_cmpstr(in->rope_scaling, ==, "none");
  g_assert_cmpuint(in->weight_bytes, >, 0);
  g_assert_cmpuint(in->weight_bytes, <, in->file_size);
  g_assert_nonnull(still_model_chat_template(m));
  g_assert_cmpint(still_token_eos(m), ==, 7902);
  g_assert_true(still_token_is_eog(m, 7902));
  /* non-R1 models get the general defaults */
  still_sampling sp = still_sampling_for_model(m);
  g_assert_cmpfloat(sp.temperature, ==, still_sampling_default().temperature);
  still_model_free(m);

  /* a progress callback that says stop cancels the load */
  progress_log stop = {.monotonic = true, .stop_at = 1};
  g_assert_cmpint(still_model_load(path, &lp, on_progress, &stop, &m, &err), ==, STILL_ERR_CANCELLED);
  g_assert_null(m);
  g_free(path);

  m = test_load_fixture_model("tiny-llama-Q4_K_M", true);
  in = still_model_get_info(m);
  g_assert_cmpstr(in->arch, ==, "llama");
  g_assert_cmpstr(in->template_family, ==, "r1-distill");
  g_assert_true(in->is_r1);
  g_assert_cmpint(still_token_bos(m), ==, 7900);
  /* tied embeddings: the output is the token embedding */
  g_assert_true(m->output.data == m->tok_embd.data);
  still_model_free(m);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  /* one test per reference file */
  const char *fx = g_getenv("STILL_FIXTURES_DIR");
  char *refdir = g_build_filename(fx && *fx ? fx : "../shared/fixtures", "reference", NULL);
  GDir *d = g_dir_open(refdir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  if (d) {
    const char *n;
    while ((n = g_dir_read_name(d)))
      if (g_str_has_suffix(n, ".json")) g_ptr_array_add(names, g_strdup(n));
    g_dir_close(d);
  }
  g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
  if (names->len == 0) g_ptr_array_add(names, g_strdup("tiny-qwen2-F32.json")); /* skips/fails cleanly */
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index(names, i);
    char *path = g_strdup_printf("/forward/reference/%.*s", (int)(strlen(n) - 5), n);
    g_test_add_data_func(path, n, check_reference);
    g_free(path);
  }
  g_test_add_func("/forward/prefix-reuse", test_prefix_reuse);
  g_test_add_func("/forward/repeat-with-blas", test_repeat_with_blas);
  g_test_add_func("/forward/thread-splits", test_thread_splits);
  g_test_add_func("/forward/cancel", test_cancel);
  g_test_add_func("/forward/context-full", test_context_full);
  g_test_add_func("/forward/kv-types", test_kv_types);
  g_test_add_func("/forward/stream-text", test_stream_text);
  g_test_add_func("/forward/load-errors", test_load_errors);
  g_test_add_func("/forward/model-info", test_model_info);
  g_test_add_func("/forward/llama3-rope", test_llama3_rope);
  g_test_add_func("/forward/yarn", test_yarn);
  int rc = g_test_run();
  g_ptr_array_free(names, TRUE);
  g_free(refdir);
  return rc;
}
