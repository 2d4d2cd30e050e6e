/* test-prefix-state.c — saved prompt prefixes (still_session_save_prefix /
 * still_session_load_prefix, format in engine/kv-cache.h): a loaded prefix
 * gives the same tokens and bit-identical logits as the session that
 * evaluated it, partial reuse, every KV cache type, and refusal of files of
 * another model, truncated, corrupt or from a newer format version.
 *
 * With STILL_TEST_LAVAPIPE=1 (the vulkan suite) /prefix/gpu-layers checks
 * prefixes saved and loaded with layers on the GPU (all, half, a split over
 * two devices, none) in every KV cache type, and damaged files there.
 */
#include "test-common.h"

#include "still.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define N_PROMPT 40

typedef struct {
  int32_t ids[256];
  int n;
} collected;

static still_session *new_session_gpu(still_model *m, still_kv_type kv, int n_ctx, int n_gpu_layers)
{
  still_session_params sp = still_session_params_default();
  sp.n_threads = 2;
  sp.kv_type = kv;
  sp.n_ctx = n_ctx;
  sp.n_gpu_layers = n_gpu_layers;
  return test_session_new(m, &sp);
}

static still_session *new_session(still_model *m, still_kv_type kv, int n_ctx)
{
  return new_session_gpu(m, kv, n_ctx, 0);
}

/* A fixed pseudo-random prompt of ids in [0, n_vocab). */
static void make_prompt(int32_t *ids, int n, int n_vocab, uint32_t seed)
{
  for (int i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    ids[i] = (int32_t)((seed >> 8) % (uint32_t)n_vocab);
  }
}

static bool collect_token(int32_t token, const char *text, size_t len, void *user)
{
  (void)text, (void)len;
  collected *c = user;
  if (token >= 0 && c->n < 256) c->ids[c->n++] = token;
  return true;
}

static void greedy(still_session *s, const int32_t *prompt, int n, int max_tokens, collected *c, still_stats *stats)
{
  still_sampling sp = still_sampling_greedy();
  sp.max_tokens = max_tokens;
  sp.ignore_eog = true;
  still_error err = {0};
  c->n = 0;
  still_status st = still_session_generate(s, prompt, (size_t)n, &sp, collect_token, c, stats, &err);
  if (st != STILL_OK) g_test_message("generate: %s", err.message);
  g_assert_cmpint(st, ==, STILL_OK);
}

static void logits(still_session *s, const int32_t *ids, int n, float *out, still_stats *stats)
{
  still_error err = {0};
  still_status st = still_session_logits(s, ids, (size_t)n, false, out, stats, &err);
  if (st != STILL_OK) g_test_message("logits: %s", err.message);
  g_assert_cmpint(st, ==, STILL_OK);
}

static void save_ok(still_session *s, const char *path)
{
  still_error err = {0};
  still_status st = still_session_save_prefix(s, path, &err);
  if (st != STILL_OK) g_test_message("save: %s", err.message);
  g_assert_cmpint(st, ==, STILL_OK);
}

static void load_ok(still_session *s, const char *path)
{
  still_error err = {0};
  still_status st = still_session_load_prefix(s, path, &err);
  if (st != STILL_OK) g_test_message("load: %s", err.message);
  g_assert_cmpint(st, ==, STILL_OK);
}

/* Load must fail with `want` and a message, and leave n_past at `n_past`. */
static void load_fails(still_session *s, const char *path, still_status want, int n_past)
{
  still_error err = {0};
  still_status st = still_session_load_prefix(s, path, &err);
  if (st != want) g_test_message("load of %s: status %d (want %d): %s", path, st, want, err.message);
  g_assert_cmpint(st, ==, want);
  g_assert_cmpuint(strlen(err.message), >, 0);
  g_assert_cmpint(still_session_n_past(s), ==, n_past);
}

static char *tmp_dir(void)
{
  GError *e = NULL;
  char *dir = g_dir_make_tmp("still-prefix-XXXXXX", &e);
  g_assert_no_error(e);
  return dir;
}

static void remove_dir(char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    char *p = g_build_filename(dir, name, NULL);
    g_remove(p);
    g_free(p);
  }
  if (d) g_dir_close(d);
  g_rmdir(dir);
  g_free(dir);
}

static int dir_entries(const char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  int n = 0;
  while (d && g_dir_read_name(d)) n++;
  if (d) g_dir_close(d);
  return n;
}

/* ---- round trip: identical logits and tokens -------------------------------------- */

static void roundtrip_type(still_model *m, still_kv_type kv, const char *dir)
{
  const still_model_info *in = still_model_get_info(m);
  const int nv = in->n_vocab;
  int32_t prompt[N_PROMPT];
  make_prompt(prompt, N_PROMPT, nv, 7);
  float *la = g_new(float, nv), *lb = g_new(float, nv);
  still_stats st;
  char *path = g_build_filename(dir, "p.kv", NULL);

  /* a: evaluates 24 tokens and saves them, then goes on uninterrupted */
  still_session *a = new_session(m, kv, 0);
  logits(a, prompt, 24, la, &st);
  save_ok(a, path);
  g_assert_cmpint(dir_entries(dir), ==, 1); /* no temporary file left behind */
  logits(a, prompt, 32, la, &st);
  g_assert_cmpint(st.prompt_cached, ==, 24);

  /* b: a new session that loads the prefix evaluates only the new tokens, bit for bit the same */
  still_session *b = new_session(m, kv, 0);
  load_ok(b, path);
  g_assert_cmpint(still_session_n_past(b), ==, 24);
  g_assert_nonnull(still_session_tokens(b));
  g_assert_cmpmem(still_session_tokens(b), 24 * sizeof(int32_t), prompt, 24 * sizeof(int32_t));
  logits(b, prompt, 32, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 24);
  g_assert_cmpint(st.prompt_tokens, ==, 8);
  g_assert_cmpmem(la, sizeof(float) * nv, lb, sizeof(float) * nv);

  /* greedy generation from the loaded prefix = from the session that evaluated it */
  collected ca = {0}, cb = {0};
  still_session *c = new_session(m, kv, 0);
  logits(c, prompt, 24, la, &st);
  greedy(c, prompt, 24, 16, &ca, &st);
  g_assert_cmpint(st.prompt_cached, ==, 24); /* the logits of the same prompt are kept */
  still_session *d = new_session(m, kv, 0);
  load_ok(d, path);
  greedy(d, prompt, 24, 16, &cb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 23);
  g_assert_cmpint(st.prompt_tokens, ==, 1);
  g_assert_cmpint(ca.n, ==, 16);
  g_assert_cmpmem(ca.ids, sizeof(int32_t) * ca.n, cb.ids, sizeof(int32_t) * cb.n);
  /* and the logits after the generated tokens agree too */
  int32_t follow[N_PROMPT + 16];
  memcpy(follow, prompt, 24 * sizeof(int32_t));
  memcpy(follow + 24, ca.ids, 16 * sizeof(int32_t));
  logits(c, follow, 40, la, &st);
  g_assert_cmpint(st.prompt_cached, ==, 39);
  logits(d, follow, 40, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 39);
  g_assert_cmpmem(la, sizeof(float) * nv, lb, sizeof(float) * nv);

  /* a session with a larger context loads it as well */
  still_session *e = new_session(m, kv, 512);
  load_ok(e, path);
  logits(e, prompt, 32, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 24);
  logits(a, prompt, 32, la, &st);
  g_assert_cmpmem(la, sizeof(float) * nv, lb, sizeof(float) * nv);

  /* saving over an existing file replaces it (the 40 tokens of d) */
  save_ok(d, path);
  g_assert_cmpint(dir_entries(dir), ==, 1);
  load_ok(e, path);
  g_assert_cmpint(still_session_n_past(e), ==, 40);

  still_session_free(a);
  still_session_free(b);
  still_session_free(c);
  still_session_free(d);
  still_session_free(e);
  g_remove(path);
  g_free(path);
  g_free(la);
  g_free(lb);
}

static void test_roundtrip(void)
{
  still_model *m = test_load_fixture_model("tiny-qwen2-F32", false);
  if (!m) return;
  char *dir = tmp_dir();
  const still_kv_type types[] = {STILL_KV_F32, STILL_KV_F16, STILL_KV_Q8_0};
  for (size_t i = 0; i < G_N_ELEMENTS(types); i++) roundtrip_type(m, types[i], dir);
  remove_dir(dir);
  still_model_free(m);
}

/* The F32 cache: a loaded prefix + new tokens agrees with evaluating
 * everything at once within float rounding (different batch splits). */
static void test_matches_fresh(void)
{
  still_model *m = test_load_fixture_model("tiny-qwen2-F32", false);
  if (!m) return;
  const int nv = still_model_get_info(m)->n_vocab;
  int32_t prompt[N_PROMPT];
  make_prompt(prompt, N_PROMPT, nv, 11);
  char *dir = tmp_dir();
  char *path = g_build_filename(dir, "p.kv", NULL);
  float *la = g_new(float, nv), *lb = g_new(float, nv);
  still_stats st;
  still_session *a = new_session(m, STILL_KV_F32, 0);
  logits(a, prompt, 20, la, &st);
  save_ok(a, path);
  still_session *b = new_session(m, STILL_KV_F32, 0), *f = new_session(m, STILL_KV_F32, 0);
  load_ok(b, path);
  logits(b, prompt, N_PROMPT, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 20);
  logits(f, prompt, N_PROMPT, la, &st);
  g_assert_cmpint(st.prompt_cached, ==, 0);
  double d = 0;
  for (int i = 0; i < nv; i++) d = MAX(d, fabsf(la[i] - lb[i]));
  g_test_message("loaded prefix vs one pass: max |diff| %.3g", d);
  g_assert_cmpfloat(d, <=, 1e-4);
  still_session_free(a);
  still_session_free(b);
  still_session_free(f);
  g_free(la);
  g_free(lb);
  g_free(path);
  remove_dir(dir);
  still_model_free(m);
}

/* ---- partial reuse ------------------------------------------------------------------ */

static void test_partial(void)
{
  still_model *m = test_load_fixture_model("tiny-qwen2-F32", false);
  if (!m) return;
  const int nv = still_model_get_info(m)->n_vocab;
  int32_t prompt[N_PROMPT], alt[N_PROMPT];
  make_prompt(prompt, N_PROMPT, nv, 3);
  memcpy(alt, prompt, sizeof alt);
  alt[10] = (alt[10] + 1) % nv; /* diverges inside the saved prefix */
  char *dir = tmp_dir();
  char *path = g_build_filename(dir, "p.kv", NULL);
  float *la = g_new(float, nv), *lb = g_new(float, nv);
  still_stats st;

  still_session *a = new_session(m, STILL_KV_F32, 0);
  logits(a, prompt, 24, la, &st);
  save_ok(a, path);

  /* diverging at 10: only the 10 common tokens are reused */
  still_session *b = new_session(m, STILL_KV_F32, 0);
  load_ok(b, path);
  logits(b, alt, 30, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 10);
  g_assert_cmpint(st.prompt_tokens, ==, 20);
  still_session *r = new_session(m, STILL_KV_F32, 0);
  logits(r, prompt, 10, la, &st);
  logits(r, alt, 30, la, &st);
  g_assert_cmpint(st.prompt_cached, ==, 10);
  g_assert_cmpmem(la, sizeof(float) * nv, lb, sizeof(float) * nv);

  /* a shorter prompt inside the prefix: all but its last token reused */
  still_session *c = new_session(m, STILL_KV_F32, 0);
  load_ok(c, path);
  logits(c, prompt, 16, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 15);
  g_assert_cmpint(st.prompt_tokens, ==, 1);
  still_session *f = new_session(m, STILL_KV_F32, 0);
  logits(f, prompt, 15, la, &st);
  logits(f, prompt, 16, la, &st);
  g_assert_cmpmem(la, sizeof(float) * nv, lb, sizeof(float) * nv);

  /* loading replaces what a session had cached */
  logits(f, alt, 30, la, &st);
  load_ok(f, path);
  g_assert_cmpint(still_session_n_past(f), ==, 24);
  g_assert_cmpmem(still_session_tokens(f), 24 * sizeof(int32_t), prompt, 24 * sizeof(int32_t));

  /* an empty cache saves and loads as empty */
  still_session *e = new_session(m, STILL_KV_F32, 0);
  save_ok(e, path);
  load_ok(f, path);
  g_assert_cmpint(still_session_n_past(f), ==, 0);
  g_assert_null(still_session_tokens(f));

  still_session_free(a);
  still_session_free(b);
  still_session_free(c);
  still_session_free(e);
  still_session_free(f);
  still_session_free(r);
  g_free(la);
  g_free(lb);
  g_free(path);
  remove_dir(dir);
  still_model_free(m);
}

/* ---- refusals ------------------------------------------------------------------------ */

/* Another model file, architecture, KV cache type or a too small context:
 * refused, and the session keeps its cache. */
static void test_mismatch(void)
{
  still_model *m = test_load_fixture_model("tiny-qwen2-F32", false);
  if (!m) return;
  const int nv = still_model_get_info(m)->n_vocab;
  int32_t prompt[N_PROMPT];
  make_prompt(prompt, N_PROMPT, nv, 5);
  char *dir = tmp_dir();
  char *path = g_build_filename(dir, "p.kv", NULL);
  float *la = g_new(float, nv), *lb = g_new(float, nv);
  still_stats st;
  still_session *a = new_session(m, STILL_KV_F32, 0);
  logits(a, prompt, 24, la, &st);
  save_ok(a, path);

  /* same shapes, other weights; other architectures */
  const char *others[] = {"tiny-qwen2-Q8_0", "tiny-qwen2-F16", "tiny-llama-Q8_0", "tiny-qwen3-Q8_0", "stories260K"};
  for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
    still_model *o = test_load_fixture_model(others[i], false);
    if (!o) continue;
    still_session *s = new_session(o, STILL_KV_F32, 0);
    int32_t p2[8];
    make_prompt(p2, 8, still_model_get_info(o)->n_vocab, 9);
    logits(s, p2, 8, lb, &st);
    g_test_message("%s", others[i]);
    load_fails(s, path, STILL_ERR_INVALID_ARG, 8);
    g_assert_cmpmem(still_session_tokens(s), 8 * sizeof(int32_t), p2, 8 * sizeof(int32_t));
    still_session_free(s);
    still_model_free(o);
  }

  /* another KV cache type */
  still_session *h = new_session(m, STILL_KV_F16, 0);
  load_fails(h, path, STILL_ERR_INVALID_ARG, 0);
  still_session_free(h);
  /* a context too small for the saved tokens */
  still_session *small = new_session(m, STILL_KV_F32, 16);
  load_fails(small, path, STILL_ERR_CONTEXT_FULL, 0);
  still_session_free(small);
  /* the session that was refused still computes the same as before */
  still_session *b = new_session(m, STILL_KV_F32, 0);
  logits(b, prompt, 12, lb, &st);
  load_fails(b, "/nonexistent/dir/p.kv", STILL_ERR_IO, 12);
  logits(b, prompt, 24, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 12);
  logits(a, prompt, 24, la, &st);
  g_assert_cmpmem(la, sizeof(float) * nv, lb, sizeof(float) * nv);
  /* a folder that does not exist cannot be saved to; a folder is not a file */
  still_error err = {0};
  g_assert_cmpint(still_session_save_prefix(a, "/nonexistent/dir/p.kv", &err), ==, STILL_ERR_IO);
  g_assert_cmpint(still_session_load_prefix(b, dir, &err), ==, STILL_ERR_IO);
  g_assert_cmpint(still_session_load_prefix(b, NULL, &err), ==, STILL_ERR_INVALID_ARG);

  still_session_free(a);
  still_session_free(b);
  g_free(la);
  g_free(lb);
  g_free(path);
  remove_dir(dir);
  still_model_free(m);
}

static void write_bytes(const char *path, const char *data, gsize len)
{
  /* plain stdio: g_file_set_contents would fsync thousands of times */
  FILE *f = fopen(path, "wb");
  g_assert_nonnull(f);
  g_assert_cmpuint(fwrite(data, 1, len, f), ==, len);
  g_assert_cmpint(fclose(f), ==, 0);
}

/* Every truncation, byte flips all over the file, trailing bytes, another
 * magic, a newer version: refused with the right status, no crash (ASan). */
static void test_damaged(void)
{
  still_model *m = test_load_fixture_model("tiny-qwen2-F32", false);
  if (!m) return;
  const int nv = still_model_get_info(m)->n_vocab;
  int32_t prompt[N_PROMPT];
  make_prompt(prompt, N_PROMPT, nv, 13);
  char *dir = tmp_dir();
  char *path = g_build_filename(dir, "p.kv", NULL), *bad = g_build_filename(dir, "bad.kv", NULL);
  float *la = g_new(float, nv), *lb = g_new(float, nv);
  still_stats st;
  still_session *a = new_session(m, STILL_KV_F16, 0);
  logits(a, prompt, 6, la, &st);
  save_ok(a, path);
  gsize len = 0;
  char *good = test_read_file(path, &len);
  g_assert_cmpuint(len, ==, 128 + 6 * 4 + 2 * 6 * (2 * 64 * 2 * 2) + 8);

  still_session *s = new_session(m, STILL_KV_F16, 0);
  int32_t other[4];
  make_prompt(other, 4, nv, 21);
  logits(s, other, 4, lb, &st);

  /* every length short of the whole: the header or the size says so before the cache is touched */
  for (gsize l = 0; l < len; l++) {
    write_bytes(bad, good, l);
    still_error err = {0};
    still_status rc = still_session_load_prefix(s, bad, &err);
    if (rc != STILL_ERR_TRUNCATED) g_test_message("length %" G_GSIZE_FORMAT ": %d %s", l, rc, err.message);
    g_assert_cmpint(rc, ==, STILL_ERR_TRUNCATED);
    g_assert_cmpint(still_session_n_past(s), ==, 4);
  }
  /* a byte more */
  char *longer = g_malloc(len + 1);
  memcpy(longer, good, len);
  longer[len] = 0;
  write_bytes(bad, longer, len + 1);
  load_fails(s, bad, STILL_ERR_FORMAT, 4);
  g_free(longer);

  /* a flipped bit anywhere: never accepted. In the header: refused before
   * the cache is touched; after it: the checksum catches it (cache emptied) */
  char *copy = g_malloc(len);
  for (gsize i = 0; i < len; i += i < 160 ? 1 : 37) {
    memcpy(copy, good, len);
    copy[i] ^= (char)(1u << (i % 8));
    write_bytes(bad, copy, len);
    logits(s, other, 4, lb, &st);
    still_error err = {0};
    still_status rc = still_session_load_prefix(s, bad, &err);
    if (rc == STILL_OK) g_test_message("flip at %" G_GSIZE_FORMAT " accepted", i);
    g_assert_cmpint(rc, !=, STILL_OK);
    g_assert_cmpuint(strlen(err.message), >, 0);
    if (i < 128) g_assert_cmpint(still_session_n_past(s), ==, 4);
    else if (i < 128 + 6 * 4) { /* a token id: out of range (cache kept) or the checksum (emptied) */
      g_assert_cmpint(rc, ==, STILL_ERR_FORMAT);
      g_assert_true(still_session_n_past(s) == 4 || still_session_n_past(s) == 0);
    } else {
      g_assert_cmpint(rc, ==, STILL_ERR_FORMAT);
      g_assert_cmpint(still_session_n_past(s), ==, 0);
    }
  }
  /* and the session works normally afterwards */
  logits(s, prompt, 8, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 0);
  still_session *f = new_session(m, STILL_KV_F16, 0);
  logits(f, prompt, 8, la, &st);
  g_assert_cmpmem(la, sizeof(float) * nv, lb, sizeof(float) * nv);
  still_session_free(f);

  /* not a prefix file at all; a newer version (its header may differ: refused as such) */
  memcpy(copy, good, len);
  memcpy(copy, "GGUF", 4);
  write_bytes(bad, copy, len);
  load_fails(s, bad, STILL_ERR_FORMAT, 8);
  memcpy(copy, good, len);
  copy[8] = 2;
  write_bytes(bad, copy, len);
  load_fails(s, bad, STILL_ERR_UNSUPPORTED, 8);
  write_bytes(bad, copy, 64); /* a short one too */
  load_fails(s, bad, STILL_ERR_UNSUPPORTED, 8);
  still_error err = {0};
  g_assert_cmpint(still_session_load_prefix(s, bad, &err), ==, STILL_ERR_UNSUPPORTED);
  g_assert_nonnull(strstr(err.message, "newer"));

  /* the good file still loads */
  load_ok(s, path);
  g_assert_cmpint(still_session_n_past(s), ==, 6);

  g_free(copy);
  g_free(good);
  still_session_free(a);
  still_session_free(s);
  g_free(la);
  g_free(lb);
  g_free(path);
  g_free(bad);
  remove_dir(dir);
  still_model_free(m);
}

/* ---- the vulkan suite: prefixes with layers on the GPU ---------------------------------- */

typedef struct {
  int n_gpu;         /* 0 CPU only, -1 all layers, else that many */
  const char *split; /* on devices "0,0" */
} placement;

static still_session *new_session_at(still_model *m, still_kv_type kv, placement p)
{
  still_session_params sp = still_session_params_default();
  sp.n_threads = 2;
  sp.kv_type = kv;
  sp.n_ctx = 128;
  sp.n_gpu_layers = p.n_gpu;
  if (p.split) sp.device = "0,0", sp.split = p.split;
  still_session *s = test_session_new(m, &sp);
  if (p.n_gpu != 0) g_assert_null(strstr(still_session_offload(s), "offload: 0/"));
  else g_assert_cmpuint(still_session_device_bytes(s), ==, 0);
  return s;
}

static double max_diff(const float *a, const float *b, int n)
{
  double d = 0;
  for (int i = 0; i < n; i++) d = MAX(d, fabs((double)a[i] - b[i]));
  return d;
}

/* Saved with one placement, loaded with another: the device caches are read
 * and written through the session (the file is the CPU's format). After the
 * load, the next 20 prompt tokens must give the logits of a session of the
 * loading placement that evaluated the same batches without saving:
 * bit-identical when the saving placement computed the keys the same way
 * (same GPU layers), else within the cache type's bound (the GPU's and the
 * CPU's keys differ in the last bits; a Q8_0 code may then round the other
 * way). Greedy tokens after the prompt match too. */
static void gpu_roundtrip(still_model *m, still_kv_type kv, placement save_at, placement load_at, const char *path)
{
  const int nv = still_model_get_info(m)->n_vocab;
  int32_t prompt[N_PROMPT];
  make_prompt(prompt, N_PROMPT, nv, 23);
  float *la = g_new(float, nv), *lb = g_new(float, nv);
  still_stats st;
  still_session *a = new_session_at(m, kv, save_at);
  logits(a, prompt, 20, la, &st);
  save_ok(a, path);
  /* saving reads the device and changes nothing: the session goes on */
  logits(a, prompt, 24, la, &st);
  g_assert_cmpint(st.prompt_cached, ==, 20);
  still_session_free(a);

  still_session *b = new_session_at(m, kv, load_at), *f = new_session_at(m, kv, load_at);
  load_ok(b, path);
  g_assert_cmpint(still_session_n_past(b), ==, 20);
  logits(b, prompt, N_PROMPT, lb, &st);
  g_assert_cmpint(st.prompt_cached, ==, 20);
  logits(f, prompt, 20, la, &st);
  logits(f, prompt, N_PROMPT, la, &st);
  const bool same_keys = save_at.n_gpu == load_at.n_gpu;
  const double tol = kv == STILL_KV_Q8_0 ? 0.1 : kv == STILL_KV_F16 ? 0.01 : 1e-4;
  const double d = max_diff(la, lb, nv);
  g_test_message("KV %s, saved with %d GPU layers%s, loaded with %d%s: max |diff| %.3g vs never saved", 
                 kv == STILL_KV_Q8_0 ? "Q8_0" : kv == STILL_KV_F16 ? "F16" : "F32", save_at.n_gpu,
                 save_at.split ? " (split)" : "", load_at.n_gpu, load_at.split ? " (split)" : "", d);
  if (same_keys) g_assert_cmpfloat(d, ==, 0);
  else g_assert_cmpfloat(d, <=, tol);
  if (same_keys) { /* and generation goes on the same way */
    collected cb, cf;
    greedy(b, prompt, N_PROMPT, 6, &cb, &st);
    greedy(f, prompt, N_PROMPT, 6, &cf, &st);
    g_assert_cmpint(cb.n, ==, 6);
    g_assert_cmpmem(cb.ids, sizeof(int32_t) * cb.n, cf.ids, sizeof(int32_t) * cf.n);
  }
  still_session_free(b);
  still_session_free(f);
  g_free(la);
  g_free(lb);
}

static void test_gpu_layers(void)
{
  if (!g_getenv("STILL_TEST_LAVAPIPE")) {
    g_test_skip("set STILL_TEST_LAVAPIPE=1 (the vulkan suite) to run this");
    return;
  }
  still_model *m = test_load_fixture_model("tiny-qwen2-F32", false);
  if (!m) return;
  char *dir = tmp_dir();
  char *path = g_build_filename(dir, "p.kv", NULL);
  const placement cpu = {0, NULL}, all = {-1, NULL}, half = {1, NULL}, split = {-1, "1,1"};
  g_setenv("STILL_KV_SYNC_CHUNK", "7", TRUE); /* the device rows go in several chunks */
  const still_kv_type types[] = {STILL_KV_F32, STILL_KV_F16, STILL_KV_Q8_0};
  for (size_t t = 0; t < G_N_ELEMENTS(types); t++) {
    gpu_roundtrip(m, types[t], all, all, path);
    gpu_roundtrip(m, types[t], all, cpu, path);
    gpu_roundtrip(m, types[t], cpu, all, path);
    gpu_roundtrip(m, types[t], half, half, path);
  }
  gpu_roundtrip(m, STILL_KV_F16, half, cpu, path);
  gpu_roundtrip(m, STILL_KV_F16, half, all, path);
  gpu_roundtrip(m, STILL_KV_F16, split, split, path);
  gpu_roundtrip(m, STILL_KV_Q8_0, split, all, path);
  gpu_roundtrip(m, STILL_KV_F32, all, split, path);
  g_unsetenv("STILL_KV_SYNC_CHUNK");
  gpu_roundtrip(m, STILL_KV_Q8_0, half, all, path);

  /* the same file as a CPU-only session's: saved with every layer on the
   * GPU, its bytes equal a CPU save of the same cache type and tokens but
   * for the K/V values, and its size is exact */
  const int nv = still_model_get_info(m)->n_vocab;
  int32_t prompt[8];
  make_prompt(prompt, 8, nv, 17);
  float *l = g_new(float, nv);
  still_stats st;
  still_session *s = new_session_at(m, STILL_KV_F16, all);
  logits(s, prompt, 8, l, &st);
  save_ok(s, path);
  gsize len = 0;
  char *good = test_read_file(path, &len);
  g_assert_cmpuint(len, ==, 128 + 8 * 4 + 2 * 8 * (2 * 64 * 2 * 2) + 8);

  /* a damaged file is refused in plain words on a GPU session, which then works as before */
  char *bad = g_build_filename(dir, "bad.kv", NULL);
  good[len - 100] ^= 0x10; /* in the K/V data: the checksum */
  write_bytes(bad, good, len);
  load_fails(s, bad, STILL_ERR_FORMAT, 0);
  write_bytes(bad, good, len - 3);
  logits(s, prompt, 8, l, &st);
  load_fails(s, bad, STILL_ERR_TRUNCATED, 8);
  still_error err = {0};
  g_assert_cmpint(still_session_load_prefix(s, bad, &err), ==, STILL_ERR_TRUNCATED);
  g_assert_nonnull(strstr(err.message, "ends early"));
  /* another cache type: refused, the cache kept */
  still_session *q = new_session_at(m, STILL_KV_Q8_0, all);
  logits(q, prompt, 5, l, &st);
  load_fails(q, path, STILL_ERR_INVALID_ARG, 5);
  still_session_free(q);
  float *l2 = g_new(float, nv);
  still_session *f = new_session_at(m, STILL_KV_F16, all);
  load_fails(s, bad, STILL_ERR_TRUNCATED, 8);
  still_session_reset(s); /* one batch of 8, as f */
  logits(s, prompt, 8, l, &st);
  logits(f, prompt, 8, l2, &st);
  g_assert_cmpmem(l, sizeof(float) * nv, l2, sizeof(float) * nv);
  still_session_free(f);
  still_session_free(s);
  g_free(good);
  g_free(bad);
  g_free(l);
  g_free(l2);
  g_free(path);
  remove_dir(dir);
  still_model_free(m);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/prefix/roundtrip", test_roundtrip);
  g_test_add_func("/prefix/matches-fresh", test_matches_fresh);
  g_test_add_func("/prefix/partial", test_partial);
  g_test_add_func("/prefix/mismatch", test_mismatch);
  g_test_add_func("/prefix/damaged", test_damaged);
  g_test_add_func("/prefix/gpu-layers", test_gpu_layers);
  return g_test_run();
}
