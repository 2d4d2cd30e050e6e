/* test-vk-forward.c — whole layers on the Vulkan device (lavapipe in the
 * 'vulkan' suite) against llama.cpp's reference logits of every fixture
 * model (fixtures README, "Expected tolerances": the GPU keeps activations
 * in F32, like the CPU engine's oracle), with all layers on the GPU and
 * with half of them; stories260K's 200 greedy ids from BOS; the offload
 * line; the fallback to fewer layers and to the CPU.
 */
#include "still.h"

#include "gguf.h"
#include "fit.h"
#include "model.h"
#include "types.h"
#include "vulkan/vk-forward.h"
#include "vulkan/vk-internal.h"
#include "vk-coop-emulated.h"
#include "lavapipe-cache.h"

#include "../engine/test-common.h"
#include "../engine/cli-harness.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

typedef struct {
  char *name, *type;
  int n_vocab, n_prompt;
  int32_t *prompt;
  float *last;
  int32_t *bos_greedy;
  int n_bos_greedy;
} reference;

static int32_t *int_array(const cJSON *a, int *n)
{
  *n = cJSON_GetArraySize(a);
  int32_t *v = g_new(int32_t, *n > 0 ? *n : 1);
  for (int i = 0; i < *n; i++) v[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
  return v;
}

static reference *ref_load(const char *name)
{
  char *rel = g_strdup_printf("reference/%s.json", name);
  char *path = test_fixture_path(rel);
  g_free(rel);
  if (!path) return NULL;
  gsize len;
  char *text = test_read_file(path, &len);
  cJSON *j = cJSON_ParseWithLength(text, len);
  g_free(text);
  g_assert_nonnull(j);
  reference *r = g_new0(reference, 1);
  r->name = g_strdup(name);
  r->type = g_strdup(cJSON_GetObjectItem(j, "type")->valuestring);
  r->n_vocab = cJSON_GetObjectItem(j, "n_vocab")->valueint;
  r->prompt = int_array(cJSON_GetObjectItem(j, "prompt_ids"), &r->n_prompt);
  const cJSON *fb = cJSON_GetObjectItem(j, "from_bos");
  if (fb) r->bos_greedy = int_array(cJSON_GetObjectItem(fb, "greedy_200_ids"), &r->n_bos_greedy);
  char *dir = g_path_get_dirname(path);
  char *lf = g_build_filename(dir, cJSON_GetObjectItem(j, "last_logits_file")->valuestring, NULL);
  gsize flen;
  r->last = (float *)test_read_file(lf, &flen);
  g_assert_cmpuint(flen, ==, (gsize)r->n_vocab * 4);
  g_free(lf), g_free(dir), g_free(path);
  cJSON_Delete(j);
  return r;
}

static void ref_free(reference *r)
{
  if (!r) return;
  g_free(r->name), g_free(r->type), g_free(r->prompt), g_free(r->last), g_free(r->bos_greedy);
  g_free(r);
}

/* the same table as tests/engine/test-forward.c */
static double tolerance_for(const char *type)
{
  if (strcmp(type, "F32") == 0) return 1e-4;
  if (strcmp(type, "F16") == 0) return 0.006;
  if (strcmp(type, "BF16") == 0) return 0.051;
  if (strstr(type, "_K")) return 0.25;
  return 0.19;
}

static still_session *new_session_on(still_model *m, int n_gpu_layers, int n_batch, const char *device,
                                     const char *split)
{
  still_session_params sp = still_session_params_default();
  sp.device = device;
  sp.split = split;
  sp.n_threads = 2;
  sp.kv_type = STILL_KV_F32; /* as the references */
  sp.n_ctx = 256;
  sp.n_batch = n_batch;
  sp.n_gpu_layers = n_gpu_layers;
  return test_session_new(m, &sp);
}

static still_session *new_session(still_model *m, int n_gpu_layers, int n_batch)
{
  return new_session_on(m, n_gpu_layers, n_batch, NULL, NULL);
}

/* (infinite when either side is not a number: fmax would skip a NaN) */
static double max_abs_diff(const float *a, const float *b, int n)
{
  double d = 0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(a[i]) || !isfinite(b[i])) return INFINITY;
    d = fmax(d, fabs((double)a[i] - b[i]));
  }
  return d;
}

static int n_layers_of(const char *offload)
{
  /* "offload: N/M layers …" → M */
  const char *slash = strchr(offload, '/');
  g_assert_nonnull(slash);
  return atoi(slash + 1);
}

static bool collect(int32_t token, const char *text, size_t len, void *user)
{
  (void)text, (void)len;
  if (token >= 0) g_array_append_val((GArray *)user, token);
  return true;
}

/* The reference's greedy ids from BOS (stories260K), generated in s. */
static void check_bos_greedy(still_session *s, const reference *r)
{
  still_sampling sp = still_sampling_greedy();
  sp.max_tokens = r->n_bos_greedy;
  sp.ignore_eog = true;
  GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  const int32_t bos = 1;
  still_error err = {0};
  g_assert_cmpint(still_session_generate(s, &bos, 1, &sp, collect, ids, NULL, &err), ==, STILL_OK);
  g_assert_cmpint((int)ids->len, ==, r->n_bos_greedy);
  g_assert_cmpmem(ids->data, sizeof(int32_t) * ids->len, r->bos_greedy, sizeof(int32_t) * r->n_bos_greedy);
  g_array_free(ids, TRUE);
}

/* A fixture model and its reference logits; false (nothing kept) when
 * either file is missing: test_fixture_path has then skipped the test (or
 * failed it, with CI=true). */
static bool load_case(const char *name, reference **r, still_model **m)
{
  *m = NULL;
  if (!(*r = ref_load(name))) return false;
  if (!(*m = test_load_fixture_model(name, false))) {
    ref_free(*r);
    *r = NULL;
    return false;
  }
  return true;
}

static void check_model(gconstpointer data)
{
  const char *name = data;
  reference *r;
  still_model *m;
  if (!load_case(name, &r, &m)) return;
  const double tol = tolerance_for(r->type);
  float *lg = g_new(float, r->n_vocab);

  /* n_gpu_layers -1 (all), then half; a batch of 7 so that later batches
   * attend to keys cached by earlier ones (pos0 > 0) */
  still_session *probe = new_session(m, 0, 7);
  const int n_layer = n_layers_of(still_session_offload(probe));
  g_assert_nonnull(strstr(still_session_offload(probe), "CPU only"));
  still_session_free(probe);
  /* third: all layers with the whole prompt in one batch, so the GPU takes
   * the tiled matrix × matrix path (8 tokens or more) */
  const int splits[3] = {-1, n_layer / 2, -1};
  g_assert_cmpint(r->n_prompt, >=, 8);
  for (int k = 0; k < 3; k++) {
    still_session *s = new_session(m, splits[k], k == 2 ? 64 : 7);
    const char *off = still_session_offload(s);
    g_test_message("%s, n_gpu_layers %d: %s", name, splits[k], off);
    /* every fixture type has a shader: all the asked layers go to the GPU */
    char *want = g_strdup_printf("offload: %d/%d layers on Vulkan", splits[k] < 0 ? n_layer : splits[k], n_layer);
    g_assert_true(g_str_has_prefix(off, want));
    g_free(want);
    still_error err = {0};
    g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, lg, NULL, &err), ==, STILL_OK);
    double d = max_abs_diff(lg, r->last, r->n_vocab);
    g_test_message("%s (%s), n_gpu_layers %d: max |diff| %.3g (tolerance %.3g)", name, r->type, splits[k], d, tol);
    g_assert_cmpfloat(d, <=, tol);

    /* decode one more token on top of the cached prompt (the GPU cache holds
     * it) and compare with the CPU engine; once, with all layers on the GPU */
    if (k == 0) {
      int32_t next = 0;
      for (int i = 1; i < r->n_vocab; i++)
        if (lg[i] > lg[next]) next = i;
      int32_t ids2[64];
      g_assert_cmpint(r->n_prompt, <, 63);
      memcpy(ids2, r->prompt, sizeof(int32_t) * (size_t)r->n_prompt);
      ids2[r->n_prompt] = next;
      float *a = g_new(float, r->n_vocab), *b = g_new(float, r->n_vocab);
      g_assert_cmpint(still_session_logits(s, ids2, (size_t)r->n_prompt + 1, false, a, NULL, &err), ==, STILL_OK);
      still_session *cpu = new_session(m, 0, 7);
      g_assert_cmpint(still_session_logits(cpu, ids2, (size_t)r->n_prompt + 1, false, b, NULL, &err), ==, STILL_OK);
      double dc = max_abs_diff(a, b, r->n_vocab);
      g_test_message("%s: next token vs the CPU engine: max |diff| %.3g", name, dc);
      g_assert_cmpfloat(dc, <=, 2 * tol);
      still_session_free(cpu);
      g_free(a), g_free(b);
    }
    still_session_free(s);
  }

  /* stories260K: 200 greedy ids from BOS, all layers on the GPU */
  if (r->bos_greedy) {
    still_session *s = new_session(m, -1, 7);
    check_bos_greedy(s, r);
    still_session_free(s);
  }
  g_free(lg);
  still_model_free(m);
  ref_free(r);
}

/* --split: the layers over two logical devices (lavapipe opened twice:
 * "--device 0,0"), two VkDevice objects with the residual stream copied
 * between them through host memory; the same logits as one device. Also a
 * split with some layers on the CPU, and bad lists. */
static void check_split(gconstpointer data)
{
  const char *name = data;
  reference *r;
  still_model *m;
  if (!load_case(name, &r, &m)) return;
  const double tol = tolerance_for(r->type);
  float *one = g_new(float, r->n_vocab), *two = g_new(float, r->n_vocab);
  still_error err = {0};
  const char *off;
  for (int batch = 7; batch <= 64; batch += 57) { /* matrix × vector and tiled matrix × matrix */
    still_session *s1 = new_session(m, -1, batch);
    g_assert_cmpint(still_session_logits(s1, r->prompt, (size_t)r->n_prompt, false, one, NULL, &err), ==, STILL_OK);
    const int n_layer = n_layers_of(still_session_offload(s1));
    still_session_free(s1);
    still_session *s2 = new_session_on(m, -1, batch, "0,0", "1,1");
    off = still_session_offload(s2);
    g_test_message("%s, batch %d: %s", name, batch, off);
    /* "offload: 5/5 layers on Vulkan0 (llvmpipe …) 3 + Vulkan0 (llvmpipe …) 2" */
    char *want = g_strdup_printf("offload: %d/%d layers on Vulkan0 (", n_layer, n_layer);
    g_assert_true(g_str_has_prefix(off, want));
    g_free(want);
    want = g_strdup_printf(") %d + Vulkan0 (", (n_layer + 1) / 2);
    g_assert_nonnull(strstr(off, want));
    g_free(want);
    want = g_strdup_printf(") %d", n_layer / 2);
    g_assert_true(g_str_has_suffix(off, want));
    g_free(want);
    g_assert_cmpint(still_session_logits(s2, r->prompt, (size_t)r->n_prompt, false, two, NULL, &err), ==, STILL_OK);
    double d = max_abs_diff(one, two, r->n_vocab);
    g_test_message("%s, batch %d: split vs one device: max |diff| %.3g", name, batch, d);
    g_assert_cmpfloat(d, <=, 1e-5); /* the same ops in the same order: only the boundary copy differs */
    g_assert_cmpfloat(max_abs_diff(two, r->last, r->n_vocab), <=, tol);
    /* decode on top: both devices' KV caches hold their layers' keys */
    int32_t ids2[64];
    memcpy(ids2, r->prompt, sizeof(int32_t) * (size_t)r->n_prompt);
    ids2[r->n_prompt] = 1;
    g_assert_cmpint(still_session_logits(s2, ids2, (size_t)r->n_prompt + 1, false, two, NULL, &err), ==, STILL_OK);
    still_session *cpu = new_session(m, 0, batch);
    g_assert_cmpint(still_session_logits(cpu, ids2, (size_t)r->n_prompt + 1, false, one, NULL, &err), ==, STILL_OK);
    g_assert_cmpfloat(max_abs_diff(one, two, r->n_vocab), <=, 2 * tol);
    still_session_free(cpu);
    still_session_free(s2);

    /* the first layer on the CPU, the rest 2:1 over two devices */
    still_session *s3 = new_session_on(m, n_layer - 1, batch, "0,0", "2,1");
    off = still_session_offload(s3);
    g_test_message("%s: %s", name, off);
    want = g_strdup_printf("offload: %d/%d layers on Vulkan0 (", n_layer - 1, n_layer);
    g_assert_true(g_str_has_prefix(off, want));
    g_free(want);
    if (n_layer - 1 >= 2) g_assert_nonnull(strstr(off, " + Vulkan0 (")); /* 2 of 3 layers or more: both devices */
    g_assert_cmpint(still_session_logits(s3, r->prompt, (size_t)r->n_prompt, false, two, NULL, &err), ==, STILL_OK);
    g_assert_cmpfloat(max_abs_diff(two, r->last, r->n_vocab), <=, tol);
    still_session_free(s3);
  }
  /* a share of 0: that device gets no layers and is not opened */
  still_session *s4 = new_session_on(m, -1, 7, "0,0", "0,1");
  g_assert_null(strstr(still_session_offload(s4), " + "));
  g_assert_nonnull(strstr(still_session_offload(s4), "layers on Vulkan0 ("));
  still_session_free(s4);
  /* bad lists: the session runs on the CPU and the offload line says why */
  static const char *const bad[][2] = {{"0,0", "1,x"}, {"0,0,0", "1,1"}, {"0", "1,1"}, {"0,0", "0,0"}};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    still_session *s = new_session_on(m, -1, 7, bad[i][0], bad[i][1]);
    off = still_session_offload(s);
    g_test_message("--device %s --split %s: %s", bad[i][0], bad[i][1], off);
    g_assert_true(g_str_has_prefix(off, "offload: 0/"));
    g_assert_nonnull(strstr(off, "running on the CPU"));
    still_session_free(s);
  }
  g_free(one), g_free(two);
  still_model_free(m);
  ref_free(r);
}

/* Logits of every position (still logits --all): the GPU keeps only a few
 * rows of logits at a time and sends the rest in rounds; every row must
 * match the CPU engine's, for a prompt in one batch and in batches of 7. */
static void test_all_logits(gconstpointer data)
{
  const char *name = data;
  reference *r;
  still_model *m;
  if (!load_case(name, &r, &m)) return;
  const double tol = tolerance_for(r->type);
  const size_t n = (size_t)r->n_prompt * (size_t)r->n_vocab;
  float *gpu = g_new(float, n), *cpu = g_new(float, n);
  still_error err = {0};
  still_session *c = new_session(m, 0, 64);
  g_assert_cmpint(still_session_logits(c, r->prompt, (size_t)r->n_prompt, true, cpu, NULL, &err), ==, STILL_OK);
  still_session_free(c);
  g_assert_cmpint(r->n_prompt, >, 8); /* more rows than the GPU holds at once */
  for (int batch = 7; batch <= 64; batch += 57) {
    still_session *s = new_session(m, -1, batch);
    for (size_t i = 0; i < n; i++) gpu[i] = NAN;
    g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, true, gpu, NULL, &err), ==, STILL_OK);
    still_session_free(s);
    for (int t = 0; t < r->n_prompt; t++) {
      double d = max_abs_diff(gpu + (size_t)t * r->n_vocab, cpu + (size_t)t * r->n_vocab, r->n_vocab);
      if (!(d <= tol)) g_test_message("%s, batch %d, position %d: max |diff| %.3g", name, batch, t, d);
      g_assert_cmpfloat(d, <=, tol);
    }
  }
  g_free(gpu), g_free(cpu);
  still_model_free(m);
  ref_free(r);
}

/* Every position's logits of the prompt in session s (n_prompt × n_vocab). */
static float *all_logits(still_session *s, const reference *r)
{
  float *out = g_new(float, (size_t)r->n_prompt * r->n_vocab);
  still_error err = {0};
  g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, true, out, NULL, &err), ==, STILL_OK);
  return out;
}

/* The activations of the integer dot products rounded once beforehand
 * against the products rounding them themselves. The base: the prompt one
 * token at a time (decode, rounding in the products), with every dot type
 * (STILL_VK_DOT_TYPES=all) so that decode and the batched prefill round the
 * same products, and attention.comp for decode and prompts alike
 * (STILL_VK_ATTN_SPLIT=0, STILL_VK_ATTN_TILE=0: the split and tiled kernels
 * sum in other orders, and a float that differs in its last bit can round
 * to the next 8-bit step, which moves later positions by about 0.05
 * through the KV cache). Against it, decode with STILL_VK_DOT_PREROUND=1
 * and 2, and the whole prompt in one batch on the batched dot products
 * (STILL_VK_MATMUL=dot); then decode on the split attention (whose merge
 * rounds at PREROUND=2 and for batches on the dot products) at 0 against 2
 * and against batches of 3 and 4 on the batched dot products: the same
 * floats are rounded, the same 8-bit values meet the same weights, and on
 * lavapipe the logits are bit for bit the same. A stale or misplaced rounded vector, even in one layer or one group
 * of 8 vectors, moves every position after it. At most an eighth of the
 * positions may differ by more than DOT_ROUNDING_CLOSE (a device whose
 * sums for Q6_K or Q8_0 run in another order than decode's may still round
 * one value the other way). */
#define DOT_ROUNDING_CLOSE 1e-3

/* One comparison of test_dot_rounding: every position's logits with
 * var=value (read when a session opens its device), the prompt in batches
 * of n_batch, against base. */
static void check_rounding_mode(const char *name, const char *what, still_model *m, const reference *r,
                                const float *base, const char *var, const char *value, int n_batch)
{
  g_setenv(var, value, TRUE);
  still_session *s = new_session(m, -1, n_batch);
  g_unsetenv(var);
  float *got = all_logits(s, r);
  still_session_free(s);
  double most = 0;
  int apart = 0;
  for (int t = 0; t < r->n_prompt; t++) {
    const double d = max_abs_diff(got + (size_t)t * r->n_vocab, base + (size_t)t * r->n_vocab, r->n_vocab);
    most = fmax(most, d);
    apart += d > DOT_ROUNDING_CLOSE;
  }
  g_test_message("%s, %s%s=%s in batches of %d against rounding in the products: max |diff| %.3g, %d of %d "
                 "positions over %.0e",
                 name, what, var, value, n_batch, most, apart, r->n_prompt, DOT_ROUNDING_CLOSE);
  g_assert_cmpfloat(most, <=, tolerance_for(r->type));
  g_assert_cmpint(apart, <=, r->n_prompt / 8);
  g_free(got);
}

typedef struct {
  const char *var, *value;
  int n_batch;
} rounding_mode;

static void test_dot_rounding(gconstpointer data)
{
  const char *name = data;
  reference *r;
  still_model *m;
  if (!load_case(name, &r, &m)) return;
  /* read when a session opens its device */
  g_setenv("STILL_VK_DOT_TYPES", "all", TRUE);
  g_setenv("STILL_VK_ATTN_SPLIT", "0", TRUE);
  g_setenv("STILL_VK_ATTN_TILE", "0", TRUE);
  still_session *s = new_session(m, -1, 1);
  float *base = all_logits(s, r);
  still_session_free(s);
  static const rounding_mode modes[] = {
    {"STILL_VK_DOT_PREROUND", "1", 1}, {"STILL_VK_DOT_PREROUND", "2", 1}, {"STILL_VK_MATMUL", "dot", 64}};
  for (size_t k = 0; k < G_N_ELEMENTS(modes); k++)
    check_rounding_mode(name, "", m, r, base, modes[k].var, modes[k].value, modes[k].n_batch);
  /* Decode on the split attention, whose merge rounds the attention output
   * at PREROUND=2 (attention_merge.comp -DROUND8), against decode on the
   * split attention rounding in the products: the same floats again. */
  g_unsetenv("STILL_VK_ATTN_SPLIT");
  s = new_session(m, -1, 1);
  float *split_base = all_logits(s, r);
  still_session_free(s);
  /* and batches of 3 and 4 tokens (the split attention's most) on the
   * batched dot products, whose merge rounds for them too */
  static const rounding_mode split_modes[] = {
    {"STILL_VK_DOT_PREROUND", "2", 1}, {"STILL_VK_MATMUL", "dot", 3}, {"STILL_VK_MATMUL", "dot", 4}};
  for (size_t k = 0; k < G_N_ELEMENTS(split_modes); k++)
    check_rounding_mode(name, "split attention, ", m, r, split_base, split_modes[k].var, split_modes[k].value,
                        split_modes[k].n_batch);
  g_free(split_base);
  g_unsetenv("STILL_VK_DOT_TYPES");
  g_unsetenv("STILL_VK_ATTN_TILE");
  g_free(base);
  still_model_free(m);
  ref_free(r);
}

/* A copy of a fixture model without output.weight: the output layer is then
 * tied to token_embd (arch.c), as in Qwen3-0.6B or Llama-3.2-1B. */
static char *write_tied_copy(const char *name)
{
  char *rel = g_strdup_printf("models/%s.gguf", name);
  char *path = test_fixture_path(rel);
  g_free(rel);
  if (!path) return NULL;
  gguf_file *f = NULL;
  still_error err = {0};
  g_assert_cmpint(gguf_open(path, &f, &err), ==, STILL_OK);
  gguf_writer *w = gguf_writer_new();
  for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
    const gguf_kv *kv = gguf_kv_at(f, i);
    char *key = g_strndup(kv->key.ptr, kv->key.len);
    gguf_writer_add_value(w, key, &kv->value);
    g_free(key);
  }
  int copied = 0;
  for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
    const gguf_tensor *t = gguf_tensor_at(f, i);
    if (gguf_str_eq(t->name, "output.weight")) continue;
    char *tn = g_strndup(t->name.ptr, t->name.len);
    gguf_writer_add_tensor(w, tn, t->type, t->n_dims, t->ne, t->data);
    g_free(tn);
    copied++;
  }
  g_assert_cmpint(copied, >=, (int)gguf_n_tensors(f) - 1); /* some fixtures are tied already */
  char *out = g_build_filename(g_get_tmp_dir(), "still-vk-tied-XXXXXX.gguf", NULL);
  int fd = g_mkstemp(out);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
  g_assert_cmpint(gguf_writer_write_file(w, out, &err), ==, STILL_OK);
  gguf_writer_free(w);
  gguf_close(f);
  g_free(path);
  return out;
}

/* Tied embeddings with every layer on the GPU: the token lookup runs on the
 * device (get_rows from the output matrix it already holds) and the logits
 * match the CPU engine on the same model. */
static void test_tied_embeddings(gconstpointer data)
{
  const char *name = data;
  char *path = write_tied_copy(name);
  if (!path) return;
  still_load_params lp = still_load_params_default();
  lp.no_vocab = true;
  still_model *m = NULL;
  still_error err = {0};
  g_assert_cmpint(still_model_load(path, &lp, NULL, NULL, &m, &err), ==, STILL_OK);
  g_assert_true(m->output.data == m->tok_embd.data); /* really tied */
  reference *r = ref_load(name);
  g_assert_nonnull(r);
  const double tol = tolerance_for(r->type);

  /* the lookup is on the device only when the first layer is there too */
  still_vk_forward *f = NULL;
  const still_status fst = still_vk_forward_new(m, NULL, NULL, 0, 64, 8, STILL_TYPE_F32, &f, &err);
  if (fst != STILL_OK) g_test_message("still_vk_forward_new: %s", err.message);
  g_assert_cmpint(fst, ==, STILL_OK);
  g_assert_true(still_vk_forward_embeds(f));
  still_vk_forward_free(f);
  g_assert_cmpint(still_vk_forward_new(m, NULL, NULL, 1, 64, 8, STILL_TYPE_F32, &f, &err), ==, STILL_OK);
  g_assert_false(still_vk_forward_embeds(f));
  still_vk_forward_free(f);
  g_assert_cmpint(still_vk_forward_new(m, "0,0", "1,1", 0, 64, 8, STILL_TYPE_F32, &f, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_forward_n_devices(f), ==, 2);
  g_assert_false(still_vk_forward_embeds(f)); /* the table sits on the last device, the first layer on the first */
  still_vk_forward_free(f);

  float *gpu = g_new(float, r->n_vocab), *cpu = g_new(float, r->n_vocab);
  for (int batch = 7; batch <= 64; batch += 57) {
    still_session *s = new_session(m, -1, batch);
    g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, gpu, NULL, &err), ==, STILL_OK);
    still_session_free(s);
    s = new_session(m, 0, batch);
    g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, cpu, NULL, &err), ==, STILL_OK);
    still_session_free(s);
    double d = max_abs_diff(gpu, cpu, r->n_vocab);
    g_test_message("%s tied, batch %d: GPU (lookup on the device) vs CPU: max |diff| %.3g", name, batch, d);
    g_assert_cmpfloat(d, <=, tol);
  }
  g_free(gpu), g_free(cpu);
  still_model_free(m);
  ref_free(r);
  g_remove(path);
  g_free(path);
}

/* The CLI: `still devices --json` marks lavapipe CPU-emulated; `still logits
 * -ngl -1` says where the layers went and writes the same logits as the CPU
 * within the F32 tolerance. */
/* Run the CLI (argv; env NULL: this process's), which must succeed (ok) or fail, and return what
 * it wrote on standard error (g_free it); *out, when out is not NULL, what it printed. */
static char *cli_run(char **argv, char **env, bool ok, char **out)
{
  char *text = NULL, *errs = NULL;
  int status = 0;
  g_assert_true(g_spawn_sync(NULL, argv, env, G_SPAWN_DEFAULT, NULL, NULL, &text, &errs, &status, NULL));
  const bool succeeded = g_spawn_check_wait_status(status, NULL);
  if (ok && !succeeded) g_error("still %s failed: %s", argv[1], errs);
  g_assert_true(succeeded == ok);
  if (out) *out = text;
  else g_free(text);
  return errs;
}

/* Run the CLI, which must succeed, and parse what it printed. */
static cJSON *cli_json(char **argv, char **env)
{
  char *out = NULL;
  g_free(cli_run(argv, env, true, &out));
  cJSON *j = cJSON_Parse(out);
  g_assert_nonnull(j);
  g_free(out);
  return j;
}

/* `still devices --json` with env: the number of devices, the note (g_free it) and whether a
 * device is not a CPU one (gpu, may be NULL). */
static int devices_with(const char *cli, char **env, char **note, bool *gpu)
{
  char *argv[] = {(char *)cli, "devices", "--json", NULL};
  cJSON *j = cli_json(argv, env);
  const cJSON *devs = cJSON_GetObjectItem(j, "devices");
  const int n = cJSON_GetArraySize(devs);
  if (gpu) {
    *gpu = false;
    for (int i = 0; i < n; i++)
      *gpu = *gpu || strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(devs, i), "kind")->valuestring, "cpu") != 0;
  }
  const cJSON *nt = cJSON_GetObjectItem(j, "note");
  *note = g_strdup(cJSON_IsString(nt) ? nt->valuestring : "");
  cJSON_Delete(j);
  return n;
}

/* NVIDIA's Vulkan driver through its EGL library where its manifest's GLX library lists no GPU
 * (device.c, nvidia_fallback), with lavapipe playing that library and a made-up
 * /proc/driver/nvidia/version: kept where it lists the device, undone where not, and never
 * where the drivers are chosen in the environment or the switch is off. */
static void test_nvidia_egl(void)
{
  const char *cli = g_getenv("STILL_CLI");
  const char *manifest = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
  if (!cli || !g_file_test(manifest, G_FILE_TEST_EXISTS)) {
    g_test_skip("needs STILL_CLI and lavapipe's manifest in /usr/share/vulkan/icd.d");
    return;
  }
  gsize len;
  char *text = test_read_file(manifest, &len);
  cJSON *m = cJSON_Parse(text);
  g_assert_nonnull(m);
  char *lib = g_strdup(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "ICD"), "library_path")->valuestring);
  cJSON_Delete(m), g_free(text);
  char *dir = g_dir_make_tmp("still-nvidia-egl-XXXXXX", NULL);
  char *ver = g_build_filename(dir, "version", NULL);
  g_assert_true(g_file_set_contents(
    ver, "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\nGCC version: 12\n",
    -1, NULL));
  char **base = g_get_environ();
  base = g_environ_unsetenv(base, "VK_ICD_FILENAMES");
  base = g_environ_unsetenv(base, "VK_DRIVER_FILES");
  base = g_environ_unsetenv(base, "VK_ADD_DRIVER_FILES");
  base = g_environ_unsetenv(base, "VK_LOADER_DRIVERS_SELECT");
  base = g_environ_unsetenv(base, "VK_LOADER_DRIVERS_DISABLE");
  base = g_environ_setenv(base, "XDG_CACHE_HOME", dir, TRUE);
  char *nowhere = g_build_filename(dir, "no-such-file", NULL);
  base = g_environ_setenv(base, "STILL_VK_NVIDIA_VERSION_FILE", nowhere, TRUE);
  char *note;
  bool gpu;
  /* the machine's own drivers, no NVIDIA kernel driver: nothing said */
  const int n0 = devices_with(cli, base, &note, &gpu);
  g_assert_null(strstr(note, "NVIDIA kernel driver"));
  g_free(note);
  if (gpu) { /* (nothing to fall back from) */
    g_test_skip("this machine's own Vulkan drivers list a GPU");
    goto out;
  }
  char **env = g_environ_setenv(g_strdupv(base), "STILL_VK_NVIDIA_VERSION_FILE", ver, TRUE);
  env = g_environ_setenv(env, "STILL_VK_NVIDIA_EGL", lib, TRUE);
  /* the library lists no GPU (a CPU device does not count): undone, and why said */
  g_assert_cmpint(devices_with(cli, env, &note, NULL), ==, n0);
  g_test_message("no GPU through it: %s", note);
  g_assert_nonnull(strstr(note, "the NVIDIA kernel driver 550.54.14 is loaded, but its Vulkan driver does not start "
                                "(nor through the library named)"));
  g_free(note);
  /* it lists one: kept, one device more (lavapipe twice: the same GPU), and said */
  char **env_ok = g_environ_setenv(g_strdupv(env), "STILL_VK_NVIDIA_EGL_CPU_OK", "1", TRUE);
  g_assert_cmpint(devices_with(cli, env_ok, &note, NULL), ==, n0 + 1);
  g_test_message("through it: %s", note);
  char *said = g_strdup_printf("Vulkan's installed drivers listed no GPU though the NVIDIA kernel driver 550.54.14 "
                               "is loaded; NVIDIA's Vulkan driver was loaded from %s instead",
                               lib);
  g_assert_nonnull(strstr(note, said));
  g_free(note), g_free(said);
  char *icd = g_build_filename(dir, "distill", "nvidia-egl-icd.json", NULL);
  text = test_read_file(icd, &len);
  g_assert_nonnull(strstr(text, lib));
  g_free(text);
  /* and a model runs on the device it added (the last; lavapipe is taken only when named) */
  reference *r = ref_load("stories260K");
  if (r) {
    char *model = test_fixture_path("models/stories260K.gguf");
    char *last = g_strdup_printf("%d", n0);
    char *argv_run[] = {(char *)cli, "bench", "-m",   model, "-ngl", "99", "--device", last,
                        "-p",        "8",     "-n",   "2",   "-r",   "1",  NULL};
    char *errs = cli_run(argv_run, env_ok, true, NULL);
    char *where = g_strdup_printf("offload: 5/5 layers on Vulkan%d (llvmpipe", n0);
    g_assert_nonnull(strstr(errs, where));
    g_free(where), g_free(last);
    g_free(errs), g_free(model);
    ref_free(r);
  }
  /* the drivers chosen in the environment, or the switch off: as they are, nothing said */
  char **env_chosen = g_environ_setenv(g_strdupv(env_ok), "VK_ICD_FILENAMES", manifest, TRUE);
  g_assert_cmpint(devices_with(cli, env_chosen, &note, NULL), ==, 1);
  g_assert_null(strstr(note, "NVIDIA kernel driver"));
  g_free(note);
  char **env_off = g_environ_setenv(g_strdupv(env_ok), "STILL_VK_NVIDIA_EGL", "0", TRUE);
  g_assert_cmpint(devices_with(cli, env_off, &note, NULL), ==, n0);
  g_assert_null(strstr(note, "NVIDIA kernel driver"));
  g_free(note);
  /* the test hook only at 1 */
  char **env_hook0 = g_environ_setenv(g_strdupv(env), "STILL_VK_NVIDIA_EGL_CPU_OK", "0", TRUE);
  g_assert_cmpint(devices_with(cli, env_hook0, &note, NULL), ==, n0);
  g_free(note);
  g_strfreev(env_hook0), g_strfreev(env_chosen), g_strfreev(env_off), g_strfreev(env_ok), g_strfreev(env);
  g_free(icd);
out:
  g_strfreev(base);
  test_remove_tree(dir);
  g_free(nowhere), g_free(ver), g_free(dir), g_free(lib);
}

/* The logits file path that `still logits` wrote against r's last-position reference. */
static void assert_logits_file(const char *path, const reference *r)
{
  gsize len;
  float *lg = (float *)test_read_file(path, &len);
  g_assert_cmpuint(len, ==, (gsize)r->n_vocab * 4);
  g_assert_cmpfloat(max_abs_diff(lg, r->last, r->n_vocab), <=, 1e-4);
  g_free(lg);
}

/* `still make-model` (cli) of shape and type, its first layers blocks, the vocabulary of the GGUF
 * vocab, into path. */
static void make_model(const char *cli, const char *shape, const char *type, int layers, const char *vocab,
                       const char *path)
{
  char n[16];
  g_snprintf(n, sizeof n, "%d", layers);
  char *argv[] = {(char *)cli, "make-model", "--shape", (char *)shape, "--type", (char *)type, "--layers", n,
                  "--vocab", (char *)vocab, "-o", (char *)path, NULL};
  g_free(cli_run(argv, NULL, true, NULL));
}

/* The least free memory (to 4 KiB) one GPU needs for every layer of model at n_ctx, by the fit
 * estimate. */
static uint64_t smallest_card_for_all(const char *model, int n_ctx, still_kv_type kv)
{
  uint64_t lo = 1u << 20, hi = 64ull << 30;
  still_fit_params p = still_fit_params_default();
  p.n_ctx = n_ctx;
  p.kv_type = kv;
  while (hi - lo > 4096) {
    uint64_t mid = lo + (hi - lo) / 2;
    still_hardware hw;
    still_hardware_simulated(&hw, 64ull << 30, 1, &mid, false, 0, 0);
    still_fit f;
    g_assert_cmpint(still_fit_estimate_file(model, &hw, &p, &f, NULL), ==, STILL_OK);
    if (f.verdict == STILL_FIT_GPU) hi = mid;
    else lo = mid;
  }
  return hi;
}

/* Decode takes rope_store.comp's work into the split attention's dispatch
 * (still_vk_attention_fold), prompt batches keep it apart, and
 * STILL_VK_ATTN_FOLD=0 gives decode the separate dispatch back: seen in the
 * shaders `still bench` ran (STILL_VK_PROFILE=1 names them), on Qwen3 (q/k
 * norms) and Llama (normal rope, q/k stacked, v apart in the Q4_K_M mix). */
static void test_decode_fold(void)
{
  const char *cli = g_getenv("STILL_CLI");
  if (!cli) {
    g_test_skip("STILL_CLI not set");
    return;
  }
  /* (tiny-qwen3 also with a Q8_0 cache: its shader variant) */
  const char *models[] = {"tiny-qwen3-Q8_0", "tiny-llama-Q4_K_M", "tiny-qwen3-Q8_0"};
  for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
    const char *kv = i == 2 ? "q8_0" : "f16";
    char *fold_shader = g_strdup_printf("spv_attention_fold_%s ", kv);
    char *merged_shader = g_strdup_printf("spv_attention_fold_merge_%s ", kv);
    char *apart_shader = g_strdup_printf("spv_rope_store_%s ", kv);
    char *rel = g_strdup_printf("models/%s.gguf", models[i]);
    char *path = test_fixture_path(rel);
    g_free(rel);
    if (!path) {
      g_free(fold_shader), g_free(merged_shader), g_free(apart_shader);
      return;
    }
    /* STILL_VK_ATTN_FOLD unset, =0 and =2 (the merge folded too) */
    static const char *const modes[] = {NULL, "0", "2"};
    for (size_t m = 0; m < G_N_ELEMENTS(modes); m++)
      for (int decode = 0; decode < 2; decode++) {
        char **env = g_environ_setenv(g_get_environ(), "STILL_VK_PROFILE", "1", TRUE);
        env = modes[m] ? g_environ_setenv(env, "STILL_VK_ATTN_FOLD", modes[m], TRUE)
                       : g_environ_unsetenv(env, "STILL_VK_ATTN_FOLD");
        char *argv[] = {(char *)cli, "bench", "-m", path, "-ngl", "99", "-r", "1", "-p", decode ? "0" : "16",
                        "-n", decode ? "3" : "0", "--kv-type", (char *)kv, NULL};
        char *errs = cli_run(argv, env, true, NULL);
        const bool folded = strstr(errs, fold_shader) != NULL, merged = strstr(errs, merged_shader) != NULL;
        /* (attention_merge.comp's plain and rounding variants alike) */
        const bool apart = strstr(errs, apart_shader) != NULL, merge = strstr(errs, "spv_attention_merge") != NULL;
        g_test_message("%s, %s cache, %s, STILL_VK_ATTN_FOLD=%s: fold %d, fold with the merge %d, rope_store %d, "
                       "merge %d",
                       models[i], kv, decode ? "tg3" : "pp16", modes[m] ? modes[m] : "(unset)", folded, merged, apart,
                       merge);
        if (!strstr(errs, "vk profile")) g_error("no profile from still bench: %s", errs);
        const bool fold_on = !modes[m] || strcmp(modes[m], "0") != 0, merge_on = modes[m] && !strcmp(modes[m], "2");
        g_assert_true(folded == (decode && fold_on && !merge_on));
        g_assert_true(merged == (decode && merge_on));
        g_assert_true(apart == !(folded || merged));
        /* at decode the split attention's merge, in a dispatch of its own unless folded */
        if (decode) g_assert_true(merge == !merged);
        g_free(errs);
        g_strfreev(env);
      }
    g_free(path), g_free(fold_shader), g_free(merged_shader), g_free(apart_shader);
  }
}

/* The calls of every shader whose name starts with prefix in a STILL_VK_PROFILE=1 table
 * ("  spv_name   N calls ..."), 0 where there is none. */
static int profile_calls_from(const char *errs, const char *prefix)
{
  char *key = g_strdup_printf("  %s", prefix);
  int n = 0;
  for (const char *at = strstr(errs, key); at; at = strstr(at + 1, key)) {
    const char *end = at + 2 + strcspn(at + 2, " \n");
    n += atoi(end);
  }
  g_free(key);
  return n;
}

/* `still bench` with STILL_VK_NORM_FOLD unset and =1, prompt and decode: the norms in the products'
 * tails (the matvec_tail shaders) at decode only with the switch, and then add_rms_norm.comp only
 * for the first layer's attention norm and the output norm (2 a token instead of 2 a layer). */
static void test_decode_norm_fold(void)
{
  const char *cli = g_getenv("STILL_CLI");
  if (!cli) {
    g_test_skip("STILL_CLI not set");
    return;
  }
  const char *models[] = {"tiny-qwen3-Q8_0", "tiny-llama-Q4_K_M"};
  for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
    char *rel = g_strdup_printf("models/%s.gguf", models[i]);
    char *path = test_fixture_path(rel);
    g_free(rel);
    if (!path) return;
    int tokens = 0; /* decode's tokens in bench's runs, from the first of them */
    for (int on = 0; on < 2; on++)
      for (int decode = 0; decode < 2; decode++) {
        char **env = g_environ_setenv(g_get_environ(), "STILL_VK_PROFILE", "1", TRUE);
        env = on ? g_environ_setenv(env, "STILL_VK_NORM_FOLD", "1", TRUE) : g_environ_unsetenv(env, "STILL_VK_NORM_FOLD");
        char *argv[] = {(char *)cli, "bench", "-m", path, "-ngl", "99", "-r", "1", "-p", decode ? "0" : "16",
                        "-n", decode ? "3" : "0", NULL};
        char *errs = cli_run(argv, env, true, NULL);
        if (!strstr(errs, "vk profile")) g_error("no profile from still bench: %s", errs);
        const int tails = profile_calls_from(errs, "spv_matvec_tail_");
        const bool tail = tails > 0;
        const int norms = profile_calls_from(errs, "spv_add_rms_norm_v4"); /* (and its _round8 variant) */
        /* per token: apart, two norms a layer and the output norm (2 layers); with the tails,
         * the first layer's attention norm and the output norm */
        g_test_message("%s, %s, STILL_VK_NORM_FOLD=%s: tail shaders %d calls, add_rms_norm %d calls", models[i],
                       decode ? "tg3" : "pp16", on ? "1" : "(unset)", tails, norms);
        g_assert_true(tail == (decode && on));
        if (decode && !on) {
          g_assert_cmpint(norms % 5, ==, 0);
          tokens = norms / 5;
          g_assert_cmpint(tokens, >=, 3);
        }
        /* and the tails: wo's in each layer, down's in each but the last */
        if (decode && on) {
          g_assert_cmpint(norms, ==, 2 * tokens);
          g_assert_cmpint(tails, ==, 3 * tokens);
        }
        g_free(errs);
        g_strfreev(env);
      }
    g_free(path);
  }
}

/* Ctrl+C while `still run` starts (here: the tuner timing lavapipe's shaders, forced on, which
 * takes seconds) ends it at once with status 130 and a line saying so, instead of after the
 * start (and the answer's first token). */
static void test_cli_sigint_starting(void)
{
  const char *cli = g_getenv("STILL_CLI");
  if (!cli) {
    g_test_skip("STILL_CLI not set");
    return;
  }
  char *path = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  if (!path) return;
  static const char *const vars[] = {"XDG_CACHE_HOME", "STILL_VK_TUNE", "STILL_VK_TUNE_SECONDS"};
  char *saved[G_N_ELEMENTS(vars)];
  for (size_t i = 0; i < G_N_ELEMENTS(vars); i++) saved[i] = g_strdup(g_getenv(vars[i]));
  char *dir = g_dir_make_tmp("still-sigint-XXXXXX", NULL);
  g_setenv("XDG_CACHE_HOME", dir, TRUE); /* (nothing cached: the tuner times) */
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  g_setenv("STILL_VK_TUNE_SECONDS", "600", TRUE);
  const char *argv[] = {cli, "run", "-m", path, "-p", "Once upon", "-n", "8", "-ngl", "99", NULL};
  int out_fd, err_fd;
  GPid pid = cli_spawn_piped(argv, NULL, &out_fd, &err_fd);
  GString *out = g_string_new(NULL), *err = g_string_new(NULL);
  g_assert_true(cli_wait_for_text(err_fd, err, "timing its shaders", 120000));
  kill(pid, SIGINT);
  const gint64 t0 = g_get_monotonic_time();
  const int code = cli_wait_exit(pid, 60000);
  const double waited = (double)(g_get_monotonic_time() - t0) / 1e6;
  cli_read_rest(out_fd, out);
  cli_read_rest(err_fd, err);
  g_test_message("exit %d after %.2f s; stderr: %s", code, waited, err->str);
  g_assert_cmpint(code, ==, 130);
  g_assert_nonnull(strstr(err->str, "still: stopped (Ctrl+C) while the session was starting"));
  g_assert_null(strstr(err->str, "offload:")); /* (the session never started) */
  g_assert_cmpuint(out->len, ==, 0);
  g_spawn_close_pid(pid);
  close(out_fd), close(err_fd);
  g_string_free(out, TRUE), g_string_free(err, TRUE);
  for (size_t i = 0; i < G_N_ELEMENTS(vars); i++) {
    if (saved[i]) g_setenv(vars[i], saved[i], TRUE);
    else g_unsetenv(vars[i]);
    g_free(saved[i]);
  }
  char *cache = g_build_filename(dir, "distill", NULL);
  char *file = g_build_filename(cache, "vk-tune.txt", NULL);
  g_remove(file), g_rmdir(cache), g_rmdir(dir);
  g_free(file), g_free(cache), g_free(dir), g_free(path);
}

static void test_cli(void)
{
  const char *cli = g_getenv("STILL_CLI");
  if (!cli) {
    g_test_skip("STILL_CLI not set");
    return;
  }
  char *argv1[] = {(char *)cli, "devices", "--json", NULL};
  cJSON *j = cli_json(argv1, NULL);
  const cJSON *devs = cJSON_GetObjectItem(j, "devices");
  g_assert_cmpint(cJSON_GetArraySize(devs), >=, 1);
  bool lavapipe = false;
  for (int i = 0; i < cJSON_GetArraySize(devs); i++) {
    const cJSON *d = cJSON_GetArrayItem(devs, i);
    if (strstr(cJSON_GetObjectItem(d, "name")->valuestring, "llvmpipe")) {
      lavapipe = cJSON_IsTrue(cJSON_GetObjectItem(d, "cpu_emulated"));
      /* its 8-bit integer dot products are emulated (the decode keeps float there by default) */
      g_assert_cmpstr(cJSON_GetObjectItem(d, "int8_dot")->valuestring, ==, "emulated");
      /* its UUID, as --device takes it */
      g_assert_true(g_str_has_prefix(cJSON_GetObjectItem(d, "uuid")->valuestring, "uuid:"));
    }
    /* the heaps: the device-local ones make up total_bytes; no budget where free_known is false */
    const cJSON *heaps = cJSON_GetObjectItem(d, "heaps");
    g_assert_cmpint(cJSON_GetArraySize(heaps), >=, 1);
    double local = 0;
    for (int h = 0; h < cJSON_GetArraySize(heaps); h++) {
      const cJSON *hp = cJSON_GetArrayItem(heaps, h);
      g_assert_cmpfloat(cJSON_GetObjectItem(hp, "size_bytes")->valuedouble, >, 0);
      if (cJSON_IsTrue(cJSON_GetObjectItem(hp, "device_local"))) local += cJSON_GetObjectItem(hp, "size_bytes")->valuedouble;
      g_assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "free_known")) == cJSON_IsNull(cJSON_GetObjectItem(hp, "budget_bytes")));
    }
    g_assert_cmpfloat(local, ==, cJSON_GetObjectItem(d, "total_bytes")->valuedouble);
    g_assert_cmpfloat(cJSON_GetObjectItem(d, "max_buffer_bytes")->valuedouble, >=, 128.0 * 1024 * 1024);
  }
  /* lavapipe where the test names its driver (the vulkan suite); on a real GPU (build-aux/gpu-check)
   * the device-independent checks below */
  const char *icd = g_getenv("VK_ICD_FILENAMES");
  const bool icd_lavapipe = icd && strstr(icd, "lvp_icd");
  if (icd_lavapipe) g_assert_true(lavapipe);
  const int n_devices = cJSON_GetArraySize(devs);
  bool any_gpu = false; /* a device that is not a CPU one: the engine's default, not lavapipe */
  for (int i = 0; i < n_devices; i++)
    any_gpu = any_gpu || !cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(devs, i), "cpu_emulated"));
  cJSON_Delete(j);

  reference *r = ref_load("stories260K");
  if (!r) return;
  char *model = test_fixture_path("models/stories260K.gguf");
  GString *ids = g_string_new(NULL);
  for (int i = 0; i < r->n_prompt; i++) g_string_append_printf(ids, "%s%d", i ? "," : "", r->prompt[i]);
  char *tmp = g_build_filename(g_get_tmp_dir(), "still-vk-logits-XXXXXX.f32", NULL);
  int fd = g_mkstemp(tmp);
  g_assert_cmpint(fd, >=, 0);
  close(fd);
  char *argv2[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--kv-type", "f32",
                   "-ngl", "-1", NULL};
  char *errs = cli_run(argv2, NULL, true, NULL);
  g_test_message("stderr: %s", errs);
  g_assert_nonnull(strstr(errs, "offload: 5/5 layers on Vulkan"));
  assert_logits_file(tmp, r);
  /* the device the engine takes by default, as the offload line names it: "Vulkan0 (llvmpipe …)" */
  const char *on = strstr(errs, "offload: 5/5 layers on ") + strlen("offload: 5/5 layers on ");
  char *first = g_strndup(on, strcspn(on, "\n"));
  const bool first_lavapipe = strstr(first, "(llvmpipe") != NULL;
  g_assert_true(first_lavapipe == !any_gpu);
  g_free(errs);
  /* that device named as `still devices` prints its name: one device, even where the name has a
   * comma ("llvmpipe (LLVM 15.0.6, 256 bits)"), not a split */
  const char *open_paren = strchr(first, '(');
  g_assert_nonnull(open_paren);
  char *name = g_strndup(open_paren + 1, strlen(open_paren + 1) - 1);
  char *argv_name[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--kv-type", "f32",
                       "--device", name, NULL};
  errs = cli_run(argv_name, NULL, true, NULL);
  g_test_message("--device \"%s\": %s", name, errs);
  char *one = g_strdup_printf("offload: 5/5 layers on %s\n", first);
  g_assert_true(g_str_has_prefix(errs, one));
  assert_logits_file(tmp, r);
  g_free(errs), g_free(one), g_free(name);
  /* a driver manifest that is not JSON: the loader says "out of host memory"; the note names the
   * manifest as a possible cause, not memory alone */
  char *bad_icd = g_build_filename(g_get_tmp_dir(), "still-bad-icd-XXXXXX.json", NULL);
  int bfd = g_mkstemp(bad_icd);
  g_assert_cmpint(bfd, >=, 0);
  g_assert_cmpint(write(bfd, "{garbage", 8), ==, 8);
  close(bfd);
  char **env_bad = g_environ_setenv(g_get_environ(), "VK_ICD_FILENAMES", bad_icd, TRUE);
  char *bad_note = NULL;
  g_assert_cmpint(devices_with(cli, env_bad, &bad_note, NULL), ==, 0);
  g_test_message("a manifest that is not JSON: %s", bad_note);
  g_assert_nonnull(strstr(bad_note, "a Vulkan driver manifest that is not valid JSON"));
  g_free(bad_note);
  g_strfreev(env_bad);
  g_remove(bad_icd);
  g_free(bad_icd);
  /* a device that does not exist: the run goes on on the CPU and says why */
  char *argv3[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--device", "nosuchgpu",
                   NULL};
  errs = cli_run(argv3, NULL, true, NULL);
  g_assert_nonnull(strstr(errs, "offload: 0/5 layers on a GPU (Vulkan: no device \"nosuchgpu\""));
  g_free(errs);
  /* bench --membw --json names the GPU it ran on (the session is gone when the bandwidth is measured) */
  char *argv_bench[] = {(char *)cli, "bench", "-m", model, "-ngl", "99", "-p", "8", "-n", "4", "-r", "1", "--membw",
                        "--membw-size", "64M", "--json", NULL};
  j = cli_json(argv_bench, NULL);
  g_assert_cmpstr(cJSON_GetObjectItem(j, "backend")->valuestring, ==, "vulkan");
  g_assert_true(g_str_has_prefix(cJSON_GetObjectItem(j, "offload")->valuestring, "offload: 5/5 layers on Vulkan"));
  /* every layer on the GPU: the efficiency is against the GPU's own memory (lavapipe: no spec sheet) */
  g_assert_cmpstr(cJSON_GetObjectItem(j, "membw_of")->valuestring, ==, "gpu");
  g_assert_nonnull(strstr(first, cJSON_GetObjectItem(j, "membw_device")->valuestring));
  g_assert_cmpfloat(cJSON_GetObjectItem(j, "membw_gb_s")->valuedouble, >, 0);
  g_assert_cmpfloat(cJSON_GetObjectItem(j, "decode_efficiency")->valuedouble, >, 0);
  if (first_lavapipe) g_assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "membw_spec_gb_s")));
  cJSON_Delete(j);
  /* some layers on each: the RAM's bandwidth is measured, no efficiency is claimed */
  char *argv_half[] = {(char *)cli, "bench", "-m", model, "-ngl", "2", "-p", "0", "-n", "4", "-r", "1", "--membw",
                       "--membw-size", "16M", "--json", NULL};
  j = cli_json(argv_half, NULL);
  g_assert_true(g_str_has_prefix(cJSON_GetObjectItem(j, "offload")->valuestring, "offload: 2/5 layers on Vulkan"));
  g_assert_cmpstr(cJSON_GetObjectItem(j, "membw_of")->valuestring, ==, "cpu");
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "decode_efficiency")));
  cJSON_Delete(j);
  /* a GPU lost during a benchmark: no result that mixes GPU and CPU runs */
  gchar **lost_env = g_environ_setenv(g_get_environ(), "STILL_VK_FAULT_SUBMIT", "3", TRUE);
  lost_env = g_environ_unsetenv(lost_env, "STILL_GPU_FALLBACK");
  char *argv_lost[] = {(char *)cli, "bench", "-m", model, "-ngl", "99", "-p", "8", "-n", "4", "-r", "1", NULL};
  errs = cli_run(argv_lost, lost_env, false, NULL);
  g_test_message("bench with a lost device: %s", errs);
  g_assert_nonnull(strstr(errs, "the GPU failed during the benchmark"));
  g_free(errs);
  /* and stops there: lost at the warm-up, no timed run (on the CPU) follows */
  lost_env = g_environ_setenv(lost_env, "STILL_VK_FAULT_SUBMIT", "1", TRUE);
  char *argv_lost_std[] = {(char *)cli, "bench", "--standard", "-m", model, "-ngl", "99", "-r", "2", NULL};
  errs = cli_run(argv_lost_std, lost_env, false, NULL);
  g_assert_nonnull(strstr(errs, "warm-up"));
  g_assert_nonnull(strstr(errs, "the GPU failed during the benchmark"));
  g_assert_null(strstr(errs, "run 1/2"));
  g_strfreev(lost_env);
  g_free(errs);
  /* CPU only: the offload line is there too (lavapipe alone is never chosen without -ngl; a real
   * GPU is, below) */
  char *argv4[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, NULL};
  errs = cli_run(argv4, NULL, true, NULL);
  if (first_lavapipe) g_assert_nonnull(strstr(errs, "offload: 0/5 layers on a GPU (CPU only)\n"));
  else g_assert_nonnull(strstr(errs, "offload: 5/5 layers on Vulkan"));
  g_free(errs);
  /* without -ngl the layers follow the fit estimate: lavapipe alone is never chosen (above); a
   * machine whose GPU has room (simulated for the estimate) gets every layer on the device there is */
  char **env_fit = g_environ_setenv(g_get_environ(), "STILL_FIT_VRAM_FREE", "24G", TRUE);
  errs = cli_run(argv4, env_fit, true, NULL);
  g_test_message("auto layers: %s", errs);
  g_assert_nonnull(strstr(errs, "offload: 5/5 layers on Vulkan"));
  g_free(errs);
  g_strfreev(env_fit);
  env_fit = g_environ_setenv(g_get_environ(), "STILL_FIT_VRAM_FREE", "0", TRUE);
  errs = cli_run(argv4, env_fit, true, NULL);
  g_assert_nonnull(strstr(errs, "offload: 0/5 layers on a GPU (CPU only)\n"));
  g_free(errs);
  g_strfreev(env_fit);
  /* two physical devices: lavapipe listed twice through two ICD files with
   * different paths; --split alone takes devices 0 and 1 */
  if (icd_lavapipe && !strchr(icd, ':') && g_file_test(icd, G_FILE_TEST_EXISTS)) {
    char *dir = g_dir_make_tmp("still-vk-icd-XXXXXX", NULL);
    g_assert_nonnull(dir);
    char *icd2 = g_build_filename(dir, "second-lavapipe.json", NULL);
    gsize icd_len;
    char *icd_text = test_read_file(icd, &icd_len);
    g_assert_true(g_file_set_contents(icd2, icd_text, (gssize)icd_len, NULL));
    char *both = g_strdup_printf("%s:%s", icd, icd2);
    char **env = g_environ_setenv(g_get_environ(), "VK_ICD_FILENAMES", both, TRUE);
    /* one device listed twice: `still devices` says the second is the first again (same deviceUUID) */
    char *argv_dev[] = {(char *)cli, "devices", "--json", NULL};
    cJSON *jd = cli_json(argv_dev, env);
    const cJSON *two = cJSON_GetObjectItem(jd, "devices");
    g_assert_cmpint(cJSON_GetArraySize(two), ==, 2);
    g_assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(two, 0), "same_gpu_as")));
    g_assert_cmpint(cJSON_GetObjectItem(cJSON_GetArrayItem(two, 1), "same_gpu_as")->valueint, ==, 0);
    cJSON_Delete(jd);
    /* … so it is the only device, and taken by default */
    char *argv_all[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--kv-type", "f32",
                        "-ngl", "99", NULL};
    errs = cli_run(argv_all, env, true, NULL);
    g_test_message("two ICDs, -ngl 99: %s", errs);
    g_assert_true(g_str_has_prefix(errs, "offload: 5/5 layers on Vulkan0 (llvmpipe"));
    g_free(errs);
    char *argv5[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--kv-type", "f32",
                     "--split", "1,1", NULL};
    errs = cli_run(argv5, env, true, NULL);
    g_test_message("two ICDs: %s", errs);
    g_assert_nonnull(strstr(errs, "offload: 5/5 layers on Vulkan0 (llvmpipe"));
    g_assert_nonnull(strstr(errs, ") 3 + Vulkan1 (llvmpipe"));
    g_free(errs);
    assert_logits_file(tmp, r);
    /* without -ngl on a machine with two cards (simulated for the estimate) that each hold a little
     * less than the whole model: the estimate's own split over both, not its share of one device */
    uint64_t whole = smallest_card_for_all(model, r->n_prompt, STILL_KV_F32);
    uint64_t each[2] = {whole - 64 * 1024, whole - 64 * 1024};
    still_hardware two_cards;
    still_hardware_simulated(&two_cards, 64ull << 30, 2, each, false, 0, 0);
    still_fit_params fp = still_fit_params_default();
    fp.n_ctx = r->n_prompt;
    fp.kv_type = STILL_KV_F32;
    still_fit fit2;
    g_assert_cmpint(still_fit_estimate_file(model, &two_cards, &fp, &fit2, NULL), ==, STILL_OK);
    g_assert_cmpint(fit2.verdict, ==, STILL_FIT_GPU);
    g_assert_cmpint(fit2.devices[0].n_layers, >, 0);
    g_assert_cmpint(fit2.devices[1].n_layers, >, 0);
    char *want = g_strdup_printf(") %d + Vulkan1 (llvmpipe", fit2.devices[0].n_layers);
    char *want_end = g_strdup_printf(") %d\n", fit2.devices[1].n_layers);
    char *sizes = g_strdup_printf("%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT, each[0], each[1]);
    char **env_two = g_environ_setenv(g_strdupv(env), "STILL_FIT_VRAM_FREE", sizes, TRUE);
    char *argv7[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--kv-type", "f32", NULL};
    errs = cli_run(argv7, env_two, true, NULL);
    g_test_message("two cards of %s bytes, auto layers: %s", sizes, errs);
    g_assert_nonnull(strstr(errs, "offload: 5/5 layers on Vulkan0 (llvmpipe"));
    g_assert_nonnull(strstr(errs, want));
    g_assert_nonnull(strstr(errs, want_end));
    g_free(errs), g_free(want), g_free(want_end), g_free(sizes);
    assert_logits_file(tmp, r);
    g_strfreev(env_two);
    /* … and when the estimate takes one card that is not the engine's own first choice (the first
     * has no room), that card is named */
    env_two = g_environ_setenv(g_strdupv(env), "STILL_FIT_VRAM_FREE", "0,8G", TRUE);
    errs = cli_run(argv7, env_two, true, NULL);
    g_test_message("second card only: %s", errs);
    g_assert_nonnull(strstr(errs, "offload: 5/5 layers on Vulkan1 (llvmpipe"));
    g_free(errs);
    g_strfreev(env_two);
    /* a list that is not one is said, not silently taken for the real machine */
    env_two = g_environ_setenv(g_strdupv(env), "STILL_FIT_VRAM_FREE", "8G,,24G", TRUE);
    errs = cli_run(argv7, env_two, true, NULL);
    g_assert_nonnull(strstr(errs, "STILL_FIT_VRAM_FREE=\"8G,,24G\" is not a list of sizes"));
    g_free(errs);
    g_strfreev(env_two);
    g_strfreev(env);
    g_remove(icd2);
    g_rmdir(dir);
    g_free(both), g_free(icd_text), g_free(icd2), g_free(dir);
  }
  /* one device: shares of nothing at the end need no device of their own, a second share does */
  char *argv_one[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--kv-type", "f32",
                      "--split", "1,0", NULL};
  errs = cli_run(argv_one, NULL, true, NULL);
  g_assert_nonnull(strstr(errs, first_lavapipe ? "offload: 5/5 layers on Vulkan0 (llvmpipe" : "offload: 5/5 layers on Vulkan0 ("));
  g_free(errs);
  assert_logits_file(tmp, r);
  argv_one[11] = "0,1";
  errs = cli_run(argv_one, NULL, true, NULL);
  if (n_devices == 1)
    g_assert_nonnull(strstr(errs, "offload: 0/5 layers on a GPU (the split \"0,1\" needs 2 Vulkan devices, 1 found"));
  g_free(errs);
  /* a bad split is refused by the CLI: exit 1, one line */
  char *argv6[] = {(char *)cli, "logits", "-m", model, "--prompt-ids", ids->str, "-o", tmp, "--split", "1,,2", NULL};
  errs = cli_run(argv6, NULL, false, NULL);
  g_assert_nonnull(strstr(errs, "--split"));
  g_free(errs);
  g_remove(tmp);
  g_free(tmp), g_free(model), g_free(first);
  g_string_free(ids, TRUE);
  ref_free(r);
}

/* --kv-type q8_0 on the GPU: the device cache is Q8_0 (kv_store_q8_0.comp,
 * attention.comp -DKV_Q8_0), smaller than F16, and the logits stay within
 * the CPU Q8_0 cache's bound against the F32-cache references
 * (tests/engine/test-forward.c, test_kv_types: 0.1, on top of the weight
 * type's tolerance for quantized models): all layers (batches of 7, and one
 * batch of 64 for the tiled path), half of them, a split over two devices,
 * and one decode step on top of the cached prompt. */
static void test_kv_q8_0(gconstpointer data)
{
  const char *name = data;
  reference *r;
  still_model *m;
  if (!load_case(name, &r, &m)) return;
  const double tol = (strcmp(r->type, "F32") == 0 ? 0 : tolerance_for(r->type)) + 0.1;
  still_error err = {0};

  /* the device cache type, and its size against F16 (34 bytes per 32 values, not 64) */
  still_vk_forward *f = NULL;
  g_assert_cmpint(still_vk_forward_new(m, NULL, NULL, 0, 256, 8, STILL_TYPE_F16, &f, &err), ==, STILL_OK);
  g_assert_cmpuint(still_vk_forward_kv_type(f), ==, STILL_TYPE_F16);
  const uint64_t bytes_f16 = still_vk_forward_device_bytes(f, NULL);
  still_vk_forward_free(f);
  g_assert_cmpint(still_vk_forward_new(m, NULL, NULL, 0, 256, 8, STILL_TYPE_Q8_0, &f, &err), ==, STILL_OK);
  g_assert_cmpuint(still_vk_forward_kv_type(f), ==, STILL_TYPE_Q8_0);
  const uint64_t bytes_q8 = still_vk_forward_device_bytes(f, NULL);
  const uint64_t kv_f16 = 2ull * 256 * 2 * m->hp.n_layer * m->hp.n_head_kv * m->hp.head_dim_k;
  g_test_message("%s: device memory with an F16 cache %" G_GUINT64_FORMAT ", Q8_0 %" G_GUINT64_FORMAT, name, bytes_f16,
                 bytes_q8);
  g_assert_cmpuint(bytes_q8, <, bytes_f16 - kv_f16 / 4); /* at least a quarter of the F16 cache less */
  still_vk_forward_free(f);
  g_setenv("STILL_VK_KV_Q8_0", "0", TRUE); /* the switch back to F16 */
  g_assert_cmpint(still_vk_forward_new(m, NULL, NULL, 0, 256, 8, STILL_TYPE_Q8_0, &f, &err), ==, STILL_OK);
  g_unsetenv("STILL_VK_KV_Q8_0");
  g_assert_cmpuint(still_vk_forward_kv_type(f), ==, STILL_TYPE_F16);
  still_vk_forward_free(f);

  float *lg = g_new(float, r->n_vocab), *cpu = g_new(float, r->n_vocab);
  const struct {
    int n_gpu, batch;
    const char *device, *split;
  } runs[] = {{-1, 7, NULL, NULL}, {-1, 64, NULL, NULL}, {1, 7, NULL, NULL}, {-1, 7, "0,0", "1,1"}};
  for (size_t k = 0; k < G_N_ELEMENTS(runs); k++) {
    still_session_params sp = still_session_params_default();
    sp.n_threads = 2;
    sp.kv_type = STILL_KV_Q8_0;
    sp.n_ctx = 256;
    sp.n_batch = runs[k].batch;
    sp.n_gpu_layers = runs[k].n_gpu;
    sp.device = runs[k].device;
    sp.split = runs[k].split;
    still_session *s = NULL;
    g_assert_cmpint(still_session_new(m, &sp, &s, &err), ==, STILL_OK);
    g_assert_true(g_str_has_prefix(still_session_offload(s), "offload: "));
    g_assert_null(strstr(still_session_offload(s), "offload: 0/"));
    g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, lg, NULL, &err), ==, STILL_OK);
    double d = max_abs_diff(lg, r->last, r->n_vocab);
    g_test_message("%s, Q8_0 cache, %s, batch %d: max |diff| %.3g (tolerance %.3g)", name, still_session_offload(s),
                   runs[k].batch, d, tol);
    g_assert_cmpfloat(d, <=, tol);
    if (k == 0) { /* one decode step on top, against the CPU with a Q8_0 cache */
      int32_t ids2[64];
      g_assert_cmpint(r->n_prompt, <, 63);
      memcpy(ids2, r->prompt, sizeof(int32_t) * (size_t)r->n_prompt);
      ids2[r->n_prompt] = 1;
      g_assert_cmpint(still_session_logits(s, ids2, (size_t)r->n_prompt + 1, false, lg, NULL, &err), ==, STILL_OK);
      sp.n_gpu_layers = 0;
      still_session *c = NULL;
      g_assert_cmpint(still_session_new(m, &sp, &c, &err), ==, STILL_OK);
      g_assert_cmpint(still_session_logits(c, ids2, (size_t)r->n_prompt + 1, false, cpu, NULL, &err), ==, STILL_OK);
      d = max_abs_diff(lg, cpu, r->n_vocab);
      g_test_message("%s, Q8_0 cache: next token vs the CPU's Q8_0 cache: max |diff| %.3g", name, d);
      g_assert_cmpfloat(d, <=, 2 * tol);
      still_session_free(c);
    }
    still_session_free(s);
  }
  g_free(lg), g_free(cpu);
  still_model_free(m);
  ref_free(r);

  /* heads of 8 (stories260K): no Q8_0 on the device, F16 instead, no error */
  m = test_load_fixture_model("stories260K", false);
  if (!m) return;
  g_assert_cmpint(still_vk_forward_new(m, NULL, NULL, 0, 64, 8, STILL_TYPE_Q8_0, &f, &err), ==, STILL_OK);
  g_assert_cmpuint(still_vk_forward_kv_type(f), ==, STILL_TYPE_F16);
  still_vk_forward_free(f);
  still_model_free(m);
}

/* A session of m with all layers asked for the GPU, opened while the test
 * hook var=value holds (read when the device opens); its offload line goes
 * to *off, logged. */
static still_session *session_with_hook(still_model *m, const char *var, const char *value, const char **off)
{
  g_setenv(var, value, TRUE);
  still_session *s = new_session(m, -1, 7);
  g_unsetenv(var);
  *off = still_session_offload(s);
  g_test_message("%s", *off);
  return s;
}

/* s's last logits of r's prompt against the reference (lg: n_vocab floats of room). */
static void assert_reference_logits(still_session *s, const reference *r, float *lg)
{
  still_error err = {0};
  g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, lg, NULL, &err), ==, STILL_OK);
  g_assert_cmpfloat(max_abs_diff(lg, r->last, r->n_vocab), <=, 1e-4);
}

/* A device named by its UUID (still_gpu_selector, as the app names the GPUs of its placement):
 * the same device as its index, also written as nvidia-smi does ("GPU-" and dashes); an unknown
 * UUID or a malformed one: the CPU, and the offload line says why. */
static void test_device_uuid(void)
{
  reference *r = ref_load("stories260K");
  if (!r) return;
  still_hardware hw;
  still_error err = {0};
  g_assert_cmpint(still_hardware_probe(&hw, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(hw.n_gpus, >=, 1);
  if (!hw.gpus[0].uuid_known) {
    g_test_skip("the first Vulkan device reports no UUID");
    ref_free(r);
    return;
  }
  char sel[64];
  still_gpu_selector(&hw, 0, sel, sizeof sel);
  g_test_message("device 0: %s", sel);
  still_model *m = test_load_fixture_model("stories260K", false);
  float *lg = g_new(float, r->n_vocab);
  still_session *s = new_session_on(m, -1, 0, sel, NULL);
  const char *off = still_session_offload(s);
  g_test_message("%s", off);
  if (hw.n_gpus == 1 || !hw.gpus[1].uuid_known || memcmp(hw.gpus[1].uuid, hw.gpus[0].uuid, 16) != 0)
    g_assert_true(g_str_has_prefix(off, "offload: 5/5 layers on Vulkan0 ("));
  else /* the same device listed twice (two ICD files): the selector is the index */
    g_assert_cmpstr(sel, ==, "0");
  assert_reference_logits(s, r, lg);
  still_session_free(s);
  if (strncmp(sel, "uuid:", 5) == 0) {
    /* nvidia-smi's way of writing it */
    const char *h = sel + 5;
    char *dashed = g_strdup_printf("uuid:GPU-%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
    for (char *c = dashed + 9; *c; c++) *c = g_ascii_toupper(*c);
    s = new_session_on(m, -1, 0, dashed, NULL);
    g_assert_true(g_str_has_prefix(still_session_offload(s), "offload: 5/5 layers on Vulkan0 ("));
    still_session_free(s);
    g_free(dashed);
    /* another card's UUID */
    char other[64];
    g_strlcpy(other, sel, sizeof other);
    other[strlen(other) - 1] = other[strlen(other) - 1] == '0' ? '1' : '0';
    s = new_session_on(m, -1, 0, other, NULL);
    off = still_session_offload(s);
    g_test_message("%s", off);
    g_assert_true(g_str_has_prefix(off, "offload: 0/5 layers on a GPU (Vulkan: no device \"uuid:"));
    assert_reference_logits(s, r, lg);
    still_session_free(s);
  }
  s = new_session_on(m, -1, 0, "uuid:12345", NULL);
  off = still_session_offload(s);
  g_test_message("%s", off);
  g_assert_nonnull(strstr(off, "\"uuid:12345\" is not a device UUID"));
  still_session_free(s);
  g_free(lg);
  still_model_free(m);
  ref_free(r);
}

/* stories260K, its reference and a buffer for its logits, with the move to the CPU on after a GPU
 * failure (the suite turns it off): the set-up of the tests that watch that move. false when the
 * fixtures are missing (the test is then skipped). */
typedef struct {
  reference *r;
  still_model *m;
  float *lg;
  char *fallback; /* STILL_GPU_FALLBACK as it was */
} fallback_run;

static bool fallback_run_open(fallback_run *f)
{
  memset(f, 0, sizeof *f);
  if (!(f->r = ref_load("stories260K"))) return false;
  if (!(f->m = test_load_fixture_model("stories260K", false))) {
    ref_free(f->r);
    return false;
  }
  f->lg = g_new(float, f->r->n_vocab);
  f->fallback = g_strdup(g_getenv("STILL_GPU_FALLBACK"));
  g_unsetenv("STILL_GPU_FALLBACK");
  return true;
}

static void fallback_run_close(fallback_run *f)
{
  if (f->fallback) g_setenv("STILL_GPU_FALLBACK", f->fallback, TRUE);
  g_free(f->fallback);
  g_free(f->lg);
  still_model_free(f->m);
  ref_free(f->r);
}

/* Attention that lavapipe's loop limit would cut short (a context of tens of thousands of keys
 * there; here the limit is lowered with the test hook STILL_VK_LOOP_BUDGET): the GPU refuses it,
 * the layers move to the CPU and the offload line says why; the logits stay right. */
static void test_loop_limit(void)
{
  fallback_run f;
  if (!fallback_run_open(&f)) return;
  const char *off = NULL;
  still_session *s = session_with_hook(f.m, "STILL_VK_LOOP_BUDGET", "20", &off);
  const bool cpu_device = strstr(off, "llvmpipe") != NULL;
  assert_reference_logits(s, f.r, f.lg);
  off = still_session_offload(s);
  g_test_message("%s", off);
  if (cpu_device) {
    g_assert_true(g_str_has_prefix(off, "offload: 0/5 layers on a GPU (Vulkan: llvmpipe"));
    g_assert_nonnull(strstr(off, "stops a shader's loops after 65535 iterations"));
    g_assert_nonnull(strstr(off, "running on the CPU from then on"));
  } else {
    g_assert_true(g_str_has_prefix(off, "offload: 5/5 layers on Vulkan")); /* GPUs have no such limit */
  }
  still_session_free(s);
  fallback_run_close(&f);
}

/* The waits of a prompt batch for the GPU (still_vk_forward_set_slice_hook), and a cancel at
 * the cancel_at-th of them. */
typedef struct {
  int n, parts[16], done[16];
  int cancel_at;
  atomic_bool *cancel;
} slice_log;

static void log_slice(void *user, int part, int layers_done)
{
  slice_log *l = user;
  if (l->n < 16) l->parts[l->n] = part, l->done[l->n] = layers_done;
  if (++l->n == l->cancel_at) atomic_store(l->cancel, true);
}

/* m split over lavapipe twice (batches of n_batch), opened while var=value holds (read when it
 * opens), its waits going to log. */
static still_vk_forward *split_with(still_model *m, int n_batch, const char *var, const char *value, slice_log *log)
{
  still_vk_forward *f = NULL;
  still_error err = {0};
  g_setenv(var, value, TRUE);
  const still_status st = still_vk_forward_new(m, "0,0", "1,1", 0, 64, n_batch, STILL_TYPE_F32, &f, &err);
  g_unsetenv(var);
  if (st != STILL_OK) g_test_message("still_vk_forward_new: %s", err.message);
  g_assert_cmpint(st, ==, STILL_OK);
  still_vk_forward_set_slice_hook(f, log_slice, log);
  return f;
}

/* A prompt batch the caller can cancel waits for the GPU between layers, so a cancel stops it
 * in the middle (the host records a batch long before the GPU has run it): here a wait after
 * every layer (STILL_VK_CANCEL_SLICE_MS=0) on a split over two devices, and the cancel at the
 * second wait runs no further layer. The waits change no result, and the batch runs whole
 * right after a cancel. Otherwise only a batch that takes longer than a slice is cut: the first
 * one waits after one layer per device to time it, and a fast one after that not at all (a
 * slice of a minute here, so that no timing decides). Below 0, and by default under the fault
 * hooks (which count submits), no batch waits. */
static void test_cancel_slices(void)
{
  still_model *m = test_load_fixture_model("stories260K", false);
  if (!m) return;
  const still_hparams *hp = &m->hp;
  enum { N = 16 };
  const int half = hp->n_rot / 2;
  float *x = g_new(float, (size_t)N * hp->n_embd), *cs = g_new(float, (size_t)N * half),
        *sn = g_new(float, (size_t)N * half);
  GRand *rng = g_rand_new_with_seed(7);
  for (int i = 0; i < N * hp->n_embd; i++) x[i] = (float)g_rand_double_range(rng, -1, 1);
  for (int i = 0; i < N * half; i++) cs[i] = 1.0f, sn[i] = 0.0f;
  g_rand_free(rng);
  float *a = g_new(float, hp->n_vocab), *b = g_new(float, hp->n_vocab);
  still_error err = {0};
  atomic_bool cancel;
  atomic_init(&cancel, false);

  slice_log log = {.cancel = &cancel};
  still_vk_forward *f = split_with(m, N, "STILL_VK_CANCEL_SLICE_MS", "0", &log);
  /* no cancel flag: one submit per device, as before */
  g_assert_cmpint(still_vk_forward_run(f, x, NULL, N, 0, cs, sn, N - 1, a, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(log.n, ==, 0);
  /* layers [0, 3) and [3, 5): a wait after each layer but a device's last */
  g_assert_cmpint(still_vk_forward_run(f, x, NULL, N, 0, cs, sn, N - 1, b, &cancel, &err), ==, STILL_OK);
  g_assert_cmpint(log.n, ==, 3);
  g_assert_cmpint(log.parts[0], ==, 0);
  g_assert_cmpint(log.done[0], ==, 1);
  g_assert_cmpint(log.parts[1], ==, 0);
  g_assert_cmpint(log.done[1], ==, 2);
  g_assert_cmpint(log.parts[2], ==, 1);
  g_assert_cmpint(log.done[2], ==, 1);
  g_assert_cmpmem(a, hp->n_vocab * sizeof *a, b, hp->n_vocab * sizeof *b);
  /* the cancel at the second wait: nothing after it runs */
  log = (slice_log){.cancel = &cancel, .cancel_at = 2};
  memset(b, 0, hp->n_vocab * sizeof *b);
  g_assert_cmpint(still_vk_forward_run(f, x, NULL, N, 0, cs, sn, N - 1, b, &cancel, &err), ==, STILL_ERR_CANCELLED);
  g_assert_cmpint(log.n, ==, 2);
  /* one token is never cut; then the batch again, whole */
  atomic_store(&cancel, false);
  log = (slice_log){.cancel = &cancel};
  g_assert_cmpint(still_vk_forward_run(f, x, NULL, 1, 0, cs, sn, 0, b, &cancel, &err), ==, STILL_OK);
  g_assert_cmpint(log.n, ==, 0);
  g_assert_cmpint(still_vk_forward_run(f, x, NULL, N, 0, cs, sn, N - 1, b, &cancel, &err), ==, STILL_OK);
  g_assert_cmpint(log.n, ==, 3);
  g_assert_cmpmem(a, hp->n_vocab * sizeof *a, b, hp->n_vocab * sizeof *b);
  still_vk_forward_free(f);

  /* a slice of a minute (the default's rule, with no timing in the test): the first batch times one
   * layer on each device, then no batch is cut */
  log = (slice_log){.cancel = &cancel};
  f = split_with(m, N, "STILL_VK_CANCEL_SLICE_MS", "60000", &log);
  g_assert_cmpint(still_vk_forward_run(f, x, NULL, N, 0, cs, sn, N - 1, b, &cancel, &err), ==, STILL_OK);
  g_assert_cmpint(log.n, ==, 2);
  g_assert_cmpint(log.done[0], ==, 1);
  g_assert_cmpint(log.done[1], ==, 1);
  g_assert_cmpint(still_vk_forward_run(f, x, NULL, N, 0, cs, sn, N - 1, b, &cancel, &err), ==, STILL_OK);
  g_assert_cmpint(log.n, ==, 2);
  g_assert_cmpmem(a, hp->n_vocab * sizeof *a, b, hp->n_vocab * sizeof *b);
  still_vk_forward_free(f);
  /* below 0: never; and by default none where the fault hooks count submits */
  const char *never[][2] = {{"STILL_VK_CANCEL_SLICE_MS", "-1"}, {"STILL_VK_FAULT_SUBMIT", "1000000"}};
  for (int k = 0; k < 2; k++) {
    log = (slice_log){.cancel = &cancel};
    f = split_with(m, N, never[k][0], never[k][1], &log);
    g_assert_cmpint(still_vk_forward_run(f, x, NULL, N, 0, cs, sn, N - 1, b, &cancel, &err), ==, STILL_OK);
    g_assert_cmpint(log.n, ==, 0);
    still_vk_forward_free(f);
  }
  g_free(x), g_free(cs), g_free(sn), g_free(a), g_free(b);
  still_model_free(m);
}

typedef struct {
  still_session *s;
  atomic_bool done;
} canceller_ctx;

static gpointer cancel_until_done(gpointer data)
{
  canceller_ctx *c = data;
  while (!atomic_load(&c->done)) {
    still_session_cancel(c->s);
    g_usleep(50);
  }
  return NULL;
}

static bool count_tokens(int32_t token, const char *text, size_t len, void *user)
{
  (*(int *)user)++;
  return true;
}

/* A cancel while a long prompt is read with every layer on the GPU stops it at the next batch
 * (the CPU's layer loop, where the flag is also read, has no layer to run there): the batches
 * read so far stay in the cache, and the session goes on right from there. */
static void test_cancel_prompt(void)
{
  still_model *m = test_load_fixture_model("stories260K", false);
  if (!m) return;
  enum { N = 240, BATCH = 16 };
  still_session *s = new_session(m, -1, BATCH);
  g_test_message("%s", still_session_offload(s));
  g_assert_true(g_str_has_prefix(still_session_offload(s), "offload: 5/5 layers on Vulkan"));
  int32_t prompt[N];
  for (int i = 0; i < N; i++) prompt[i] = 1 + (i * 37) % 500;
  still_sampling sp = still_sampling_greedy();
  sp.max_tokens = 4;
  canceller_ctx c = {.s = s};
  GThread *t = g_thread_new("cancel", cancel_until_done, &c);
  g_usleep(2000); /* the canceller first: a call clears the flag only at its start */
  still_stats st;
  still_error err = {0};
  int n_gen = 0;
  const still_status rc = still_session_generate(s, prompt, N, &sp, count_tokens, &n_gen, &st, &err);
  atomic_store(&c.done, true);
  g_thread_join(t);
  const int32_t n_past = still_session_n_past(s);
  g_test_message("cancelled with %d of %d prompt tokens read", n_past, N);
  g_assert_cmpint(rc, ==, STILL_ERR_CANCELLED);
  g_assert_cmpint(st.stop, ==, STILL_STOP_CANCELLED);
  g_assert_cmpint(n_gen, ==, 0);
  g_assert_cmpint(n_past, <, N);
  g_assert_cmpint(n_past % BATCH, ==, 0);
  /* the same prompt again reuses what was read, and ends as a session that read it whole */
  float *a = g_new(float, 512), *b = g_new(float, 512);
  g_assert_cmpint(still_session_logits(s, prompt, N, false, a, NULL, &err), ==, STILL_OK);
  still_session *fresh = new_session(m, -1, BATCH);
  g_assert_cmpint(still_session_logits(fresh, prompt, N, false, b, NULL, &err), ==, STILL_OK);
  g_assert_cmpfloat(max_abs_diff(a, b, 512), <=, 1e-4);
  still_session_free(fresh);
  g_free(a), g_free(b);
  still_session_free(s);
  still_model_free(m);
}

/* The same prompt again after the GPU failed in between: the logits the session kept from that
 * prompt came from the GPU, and the cache has been read again on the CPU since, so the prompt's
 * last token is evaluated anew (the repeat is then the CPU's answer, whole). */
static void test_repeat_after_gpu_failure(void)
{
  fallback_run f;
  if (!fallback_run_open(&f)) return;
  const reference *r = f.r;
  const char *off = NULL;
  /* the prompt in batches of 7: submits 1 to 4; the decode's second token fails */
  still_session *s = session_with_hook(f.m, "STILL_VK_FAULT_SUBMIT", "6", &off);
  still_error err = {0};
  still_stats st;
  g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, f.lg, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, r->n_prompt);
  g_assert_null(strstr(still_session_offload(s), "CPU"));
  still_sampling sp = still_sampling_greedy();
  sp.max_tokens = 4;
  GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_assert_cmpint(still_session_generate(s, r->prompt, (size_t)r->n_prompt, &sp, collect, ids, &st, &err), ==,
                  STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 0); /* the kept logits, before the failure */
  off = still_session_offload(s);
  g_test_message("%s", off);
  g_assert_nonnull(strstr(off, "running on the CPU from then on"));
  g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, f.lg, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 1);
  g_assert_cmpfloat(max_abs_diff(f.lg, r->last, r->n_vocab), <=, 1e-4);
  /* and kept again from there */
  g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, f.lg, &st, &err), ==, STILL_OK);
  g_assert_cmpint(st.prompt_tokens, ==, 0);
  g_array_free(ids, TRUE);
  still_session_free(s);
  fallback_run_close(&f);
}

/* Too little device memory for every layer: fewer layers go to the GPU, the
 * offload line says so, and the logits are still right. */
static void test_fallback(void)
{
  reference *r = ref_load("stories260K");
  if (!r) return;
  still_model *m = test_load_fixture_model("stories260K", false);
  const char *off = NULL;
  float *lg = g_new(float, r->n_vocab);
  still_session *s = session_with_hook(m, "STILL_VK_MEMORY_LIMIT", "1200000", &off); /* 3 of the 5 layers */
  g_assert_true(g_str_has_prefix(off, "offload: 3/5 layers on Vulkan"));
  g_assert_nonnull(strstr(off, "fewer than asked"));
  g_assert_nonnull(strstr(off, "out of device memory"));
  assert_reference_logits(s, r, lg);
  still_session_free(s);
  /* the most that fit, not just fewer (halving took 2): 3 asked fit as they are, 4 do not */
  g_setenv("STILL_VK_MEMORY_LIMIT", "1200000", TRUE);
  s = new_session(m, 3, 7);
  g_assert_true(g_str_has_prefix(still_session_offload(s), "offload: 3/5 layers on Vulkan"));
  g_assert_null(strstr(still_session_offload(s), "fewer than asked"));
  still_session_free(s);
  s = new_session(m, 4, 7);
  g_assert_true(g_str_has_prefix(still_session_offload(s), "offload: 3/5 layers on Vulkan"));
  g_assert_nonnull(strstr(still_session_offload(s), "fewer than asked"));
  still_session_free(s);
  g_unsetenv("STILL_VK_MEMORY_LIMIT");
  /* where the last try takes more than fits, the most that fitted is loaded again: in half
   * that memory 5, 4 and 3 layers fail, 1 fits, 2 fail, and 1 is loaded back */
  g_setenv("STILL_VK_MEMORY_LIMIT", "600000", TRUE);
  s = new_session(m, -1, 7);
  g_unsetenv("STILL_VK_MEMORY_LIMIT");
  off = still_session_offload(s);
  g_test_message("%s", off);
  g_assert_true(g_str_has_prefix(off, "offload: 1/5 layers on Vulkan"));
  assert_reference_logits(s, r, lg);
  still_session_free(s);
  /* not even one layer fits: the CPU runs everything */
  s = session_with_hook(m, "STILL_VK_MEMORY_LIMIT", "1000", &off);
  g_assert_true(g_str_has_prefix(off, "offload: 0/5 layers on a GPU (Vulkan: out of device memory"));
  assert_reference_logits(s, r, lg);
  still_session_free(s);
  /* a device whose shaders may see less of a buffer than the output matrix
   * (128 KiB of F32; maxStorageBufferRange, here set by the test hook): no
   * layer goes there (fewer would not help: the output goes with the last),
   * said plainly, and the CPU runs everything */
  s = session_with_hook(m, "STILL_VK_MAX_RANGE", "100000", &off);
  g_assert_true(g_str_has_prefix(off, "offload: 0/5 layers on a GPU (Vulkan: "));
  g_assert_nonnull(strstr(off, "lets a shader see at most"));
  assert_reference_logits(s, r, lg);
  still_session_free(s);
  /* one that sees all of it runs every layer */
  s = session_with_hook(m, "STILL_VK_MAX_RANGE", "131072", &off);
  g_assert_true(g_str_has_prefix(off, "offload: 5/5 layers on Vulkan"));
  still_session_free(s);
  g_free(lg);
  still_model_free(m);
  ref_free(r);
}

/* The GPU failing in the middle of a run (a lost device, injected with
 * STILL_VK_FAULT_SUBMIT=N: submit N and every later one fail): the layers
 * move to the CPU, the tokens already cached are read again there, the
 * run goes on with the same result, and the offload line says what
 * happened. stories260K, 200 greedy tokens from BOS against the reference:
 * the fault in the first submit (the prompt), in decode (submit 40), with
 * all layers and with half of them on the GPU; then the session keeps
 * working (a second request reuses the cached prefix). */
static void test_device_lost(void)
{
  reference *r = ref_load("stories260K");
  if (!r) return;
  still_model *m = test_load_fixture_model("stories260K", false);
  g_assert_nonnull(r->bos_greedy);
  static const struct {
    const char *fault;
    int n_gpu_layers;
  } cases[] = {{"1", -1}, {"40", -1}, {"40", 2}, {"199", -1}};
  /* the suite turns the fallback off (STILL_GPU_FALLBACK=0): on for this test */
  char *fallback = g_strdup(g_getenv("STILL_GPU_FALLBACK"));
  g_unsetenv("STILL_GPU_FALLBACK");
  for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
    g_setenv("STILL_VK_FAULT_SUBMIT", cases[c].fault, TRUE);
    still_session *s = new_session(m, cases[c].n_gpu_layers, 7);
    g_unsetenv("STILL_VK_FAULT_SUBMIT");
    g_assert_true(g_str_has_prefix(still_session_offload(s), "offload: "));
    g_assert_null(strstr(still_session_offload(s), "CPU"));
    check_bos_greedy(s, r);
    const char *off = still_session_offload(s);
    g_test_message("fault at submit %s, %d GPU layers: %s", cases[c].fault, cases[c].n_gpu_layers, off);
    g_assert_true(g_str_has_prefix(off, "offload: 0/5 layers on a GPU ("));
    g_assert_nonnull(strstr(off, "device was lost"));
    g_assert_nonnull(strstr(off, "running on the CPU"));
    /* on: the first 100 ids again as the prompt (cached: nothing to
     * recompute), then the reference's next token */
    still_sampling sp = still_sampling_greedy();
    sp.max_tokens = 1;
    const int32_t bos = 1;
    still_error err = {0};
    still_stats st;
    GArray *more = g_array_new(FALSE, FALSE, sizeof(int32_t));
    int32_t *prompt = g_new(int32_t, 101);
    prompt[0] = bos;
    memcpy(prompt + 1, r->bos_greedy, 100 * sizeof(int32_t));
    g_assert_cmpint(still_session_generate(s, prompt, 101, &sp, collect, more, &st, &err), ==, STILL_OK);
    g_assert_cmpint((int)more->len, ==, 1);
    g_assert_cmpint(g_array_index(more, int32_t, 0), ==, r->bos_greedy[100]);
    g_assert_cmpint(st.prompt_cached, >=, 100);
    g_free(prompt);
    g_array_free(more, TRUE);
    still_session_free(s);
  }
  /* with the fallback off, the failure is the caller's */
  g_setenv("STILL_GPU_FALLBACK", "0", TRUE);
  g_setenv("STILL_VK_FAULT_SUBMIT", "2", TRUE);
  still_session *s = new_session(m, -1, 7);
  g_unsetenv("STILL_VK_FAULT_SUBMIT");
  still_sampling sp = still_sampling_greedy();
  sp.max_tokens = 8;
  GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  const int32_t bos = 1;
  still_error err = {0};
  g_assert_cmpint(still_session_generate(s, &bos, 1, &sp, collect, ids, NULL, &err), ==, STILL_ERR_BACKEND);
  g_assert_nonnull(strstr(err.message, "device was lost"));
  g_array_free(ids, TRUE);
  still_session_free(s);
  if (fallback) g_setenv("STILL_GPU_FALLBACK", fallback, TRUE);
  else g_unsetenv("STILL_GPU_FALLBACK");
  g_free(fallback);
  still_model_free(m);
  ref_free(r);
}

/* ---- the device's paths, timed (vk-tune.c) ----------------------------------------------
 * STILL_VK_TUNE=1 (lavapipe is a CPU device: off there by default) on tiny-qwen2-Q4_K_M, with
 * the cache in a folder of its own: whatever the timing picks gives the reference logits and
 * the CPU's next token; the choice is cached, read back, measured again when asked, rebuilt
 * from a damaged file; choices fixed in the environment stay; a failure while timing is the
 * GPU failure it is. */
static void count_step(still_step step, void *user)
{
  g_assert_cmpint(step, ==, STILL_STEP_GPU_TUNE);
  (*(int *)user)++;
}

/* (the last session's count of STILL_STEP_GPU_TUNE told: 1 where it timed, else 0) */
static int tune_steps;

static char *tune_session_kv(still_model *m, still_session **s, still_kv_type kv)
{
  still_session_params sp = still_session_params_default();
  sp.n_threads = 2;
  sp.kv_type = kv;
  sp.n_ctx = 256;
  sp.n_batch = 64;
  sp.n_gpu_layers = -1;
  sp.on_step = count_step;
  sp.step_user = &tune_steps;
  tune_steps = 0;
  *s = test_session_new(m, &sp);
  const char *t = still_session_gpu_tuning(*s);
  g_test_message("%s", t);
  g_assert_cmpint(tune_steps, ==, g_str_has_prefix(t, "measured: ") ? 1 : 0);
  g_assert_true(g_str_has_prefix(still_session_offload(*s), "offload: 2/2 layers on Vulkan"));
  /* the paths chosen: "KIND: PATHS (…)" or "defaults (why): PATHS" */
  const char *colon = strstr(t, ": ");
  g_assert_nonnull(colon);
  const char *end = strstr(colon, " (");
  return end ? g_strndup(colon + 2, (gsize)(end - colon - 2)) : g_strdup(colon + 2);
}

static char *tune_session(still_model *m, still_session **s) { return tune_session_kv(m, s, STILL_KV_F32); }

static char **tune_file_lines(const char *file, int *n)
{
  char *text = test_read_file(file, NULL);
  g_assert_nonnull(text);
  char **lines = g_strsplit(text, "\n", -1);
  g_free(text);
  *n = 0;
  while (lines[*n] && lines[*n][0]) (*n)++;
  g_assert_null(lines[*n] ? lines[*n + 1] : NULL); /* whole lines only, the last one ended */
  return lines;
}

/* The key of the cache's one line. */
static void tune_file_key(const char *file, char key[17])
{
  int n;
  char **lines = tune_file_lines(file, &n);
  g_assert_cmpint(n, ==, 1);
  g_strlcpy(key, lines[0], 17);
  g_strfreev(lines);
}

static void check_tuned_logits(still_session *s, still_model *m, const reference *r, float *lg)
{
  still_error err = {0};
  const double tol = tolerance_for(r->type);
  g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, lg, NULL, &err), ==, STILL_OK);
  g_assert_cmpfloat(max_abs_diff(lg, r->last, r->n_vocab), <=, tol);
  int32_t ids[64];
  memcpy(ids, r->prompt, sizeof(int32_t) * (size_t)r->n_prompt);
  ids[r->n_prompt] = 0;
  for (int i = 1; i < r->n_vocab; i++)
    if (lg[i] > lg[ids[r->n_prompt]]) ids[r->n_prompt] = i;
  float *cpu_lg = g_new(float, r->n_vocab);
  still_session *cpu = new_session(m, 0, 7);
  g_assert_cmpint(still_session_logits(s, ids, (size_t)r->n_prompt + 1, false, lg, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(still_session_logits(cpu, ids, (size_t)r->n_prompt + 1, false, cpu_lg, NULL, &err), ==, STILL_OK);
  g_assert_cmpfloat(max_abs_diff(lg, cpu_lg, r->n_vocab), <=, 2 * tol);
  still_session_free(cpu);
  g_free(cpu_lg);
}

static void test_tune(void)
{
  reference *r;
  still_model *m;
  if (!load_case("tiny-qwen2-Q4_K_M", &r, &m)) return;
  g_assert_cmpint(r->n_prompt, <, 63);
  float *lg = g_new(float, r->n_vocab);
  char *dir = g_dir_make_tmp("still-tune-XXXXXX", NULL);
  char *xdg = g_strdup(g_getenv("XDG_CACHE_HOME"));
  g_setenv("XDG_CACHE_HOME", dir, TRUE);
  g_setenv("STILL_VK_TUNE_SECONDS", "600", TRUE);
  char *file = g_build_filename(dir, "distill", "vk-tune.txt", NULL);
  char *mode = g_strdup(g_getenv("STILL_VK_TUNE")), *picked = NULL;
  still_session *s;

  /* the switch at 0, and lavapipe without it: the defaults, nothing timed or cached */
  g_setenv("STILL_VK_TUNE", "0", TRUE);
  char *def = tune_session(m, &s);
  const bool cpu_device = strstr(still_session_offload(s), "(llvmpipe") != NULL;
  if (g_str_has_prefix(def, "dot none")) { /* (what is asserted below is for a device with them) */
    g_test_skip("no integer dot products (STILL_VK_DOT=1 takes lavapipe's)");
    still_session_free(s);
    goto out;
  }
  g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "defaults (STILL_VK_TUNE=0): dot Q4_K, preround 0"));
  still_session_free(s);
  g_unsetenv("STILL_VK_TUNE");
  if (cpu_device) {
    g_free(tune_session(m, &s));
    g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "defaults (a CPU device): "));
    still_session_free(s);
  }
  g_assert_false(g_file_test(file, G_FILE_TEST_EXISTS));

  /* timed: one line in the cache, the model's results right with what was picked */
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  picked = tune_session(m, &s);
  g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "measured: dot"));
  g_assert_cmpint(tune_steps, ==, 1); /* the caller was told before the timed runs */
  g_assert_nonnull(strstr(still_session_gpu_tuning(s), "prompt batch"));
  g_assert_null(strstr(still_session_gpu_tuning(s), "time limit"));
  check_tuned_logits(s, m, r, lg);
  still_session_free(s);
  char key[17];
  tune_file_key(file, key);
  int n;
  char **lines;

  /* read back */
  char *again = tune_session(m, &s);
  g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "cached: "));
  g_assert_cmpint(tune_steps, ==, 0);
  g_assert_cmpstr(again, ==, picked);
  check_tuned_logits(s, m, r, lg);
  still_session_free(s);
  g_free(again);

  /* every choice the cache can give runs right (the buffers have room for it): a line of this
   * key written by hand, for the paths lavapipe's times would not pick (dot types, preround,
   * prompt mode, then rows per team: dot, Q8_0 and Q6_K in float, the others in float; then
   * decode's rope and KV store in the attention (1), apart (0), or in it with the merge (2); then
   * the residual adds and norms apart (0) or in the products' tails (1); then the prompt's
   * attention on the tensor cores or not, read but of no effect here: the cache is F32, which keeps
   * float32; /vk-forward/tune-deep runs both) */
  static const char *const forced[] = {"31 2 3 2 1 2 0 1 1", "31 1 2 1 4 1 1 0 0", "0 0 1 4 1 2 0 1 1",
                                       "2 2 0 2 4 4 1 1 0",  "1 0 0 1 2 1 0 0 1",  "3 2 0 2 2 4 2 1 0",
                                       "0 0 2 4 1 4 2 0 1",  "3 1 0 4 2 4 1 1 0"};
  for (size_t i = 0; i < G_N_ELEMENTS(forced); i++) {
    char *line = g_strdup_printf("%s %s written by the test\n", key, forced[i]);
    g_assert_true(g_file_set_contents(file, line, -1, NULL));
    g_free(line);
    g_free(tune_session(m, &s));
    g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "cached: "));
    g_assert_true(g_str_has_suffix(still_session_gpu_tuning(s), "(written by the test)"));
    check_tuned_logits(s, m, r, lg);
    still_session_free(s);
  }
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  g_free(tune_session(m, &s));
  still_session_free(s);
  g_setenv("STILL_VK_TUNE", "1", TRUE);

  /* fewer layers of the same kinds (tiny-qwen2-Q8_0's are all alike; in Q4_K_M the second
   * layer has Q6_K matrices): the same choice, as the graph's out-of-memory search opens the
   * device once per layer count it tries */
  still_model *m8 = test_load_fixture_model("tiny-qwen2-Q8_0", false);
  g_assert_nonnull(m8);
  for (int k = 0; k < 2; k++) {
    still_session *s8 = new_session(m8, k ? 1 : -1, 64);
    g_test_message("%s: %s", still_session_offload(s8), still_session_gpu_tuning(s8));
    g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s8), k ? "cached: " : "measured: "));
    still_session_free(s8);
  }
  still_model_free(m8);
  lines = tune_file_lines(file, &n);
  g_assert_cmpint(n, ==, 2);
  g_strfreev(lines);

  /* measured again when asked, still one line each */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  g_free(tune_session(m, &s));
  g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "measured: "));
  still_session_free(s);
  lines = tune_file_lines(file, &n);
  g_assert_cmpint(n, ==, 2);
  g_strfreev(lines);

  /* a damaged file: this key's line with values out of range is not taken, nor one too long
   * to be ours, nor one without the rows, the fold, the norms or the attention's choice (an
   * older engine's); another key's line stays, the rest goes */
  char *lng = g_strnfill(2000, 'y');
  char *bad = g_strdup_printf("not a line\n%s 99 7 5 4 2 4 1 0 0 from another build\n%s 1 0 0 3 2 4 1 0 0 three rows\n"
                              "%s 1 0 0 4 2 0 1 0 0 no rows\n%s 1 0 0 4 2 4 3 0 0 fold 3\n%s 1 0 0 4 2 4 1 2 0 norm 2\n"
                              "%s 1 0 0 4 2 4 1 0 3 attention 3\n%s 1 0 0 4 2 4 1 0 without the attention\n"
                              "%s 1 0 0 4 2 4 1 without the norms\n%s 1 0 0 4 2 4 without the fold\n"
                              "%s 1 0 0 before the rows\n0123456789abcdef 1 0 0 4 2 4 1 0 0 another device\n"
                              "%s %s 1 0 0 4 2 4 1 0 0\n%s 1 0",
                              key, key, key, key, key, key, key, key, key, key, key, lng, key);
  g_free(lng);
  g_assert_true(g_file_set_contents(file, bad, -1, NULL));
  g_free(bad);
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  g_free(tune_session(m, &s));
  g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "measured: "));
  still_session_free(s);
  lines = tune_file_lines(file, &n);
  g_assert_cmpint(n, ==, 2);
  g_assert_true(g_str_has_prefix(lines[0], "0123456789abcdef 1 0 0 4 2 4 1 0 0 another device"));
  g_assert_true(g_str_has_prefix(lines[1], key));
  g_strfreev(lines);

  /* what the environment sets is not tuned (and has its own cache line); all of it set: nothing timed */
  g_setenv("STILL_VK_DOT_PREROUND", "1", TRUE);
  char *pre = tune_session(m, &s);
  g_assert_true(g_str_has_prefix(still_session_gpu_tuning(s), "measured: "));
  g_assert_nonnull(strstr(pre, ", preround 1, "));
  still_session_free(s);
  g_free(pre);
  lines = tune_file_lines(file, &n);
  g_assert_cmpint(n, ==, 3);
  g_strfreev(lines);
  g_setenv("STILL_VK_DOT_TYPES", "q6_k", TRUE);
  g_setenv("STILL_VK_MATMUL", "team", TRUE);
  g_setenv("STILL_VK_DOT_ROWS", "2", TRUE);
  g_setenv("STILL_VK_MATVEC_ROWS", "1", TRUE);
  g_setenv("STILL_VK_ATTN_FOLD", "1", TRUE);
  g_setenv("STILL_VK_NORM_FOLD", "0", TRUE);
  g_setenv("STILL_VK_ATTN_COOP", "0", TRUE);
  g_free(tune_session(m, &s));
  g_assert_cmpstr(still_session_gpu_tuning(s), ==,
                  "defaults (all set in the environment): dot Q6_K, preround 1, dot rows 2, float rows 1 (Q8_0, Q6_K), "
                  "float rows 1 (other types), prompt team");
  check_tuned_logits(s, m, r, lg);
  still_session_free(s);
  g_unsetenv("STILL_VK_DOT_PREROUND"), g_unsetenv("STILL_VK_DOT_TYPES"), g_unsetenv("STILL_VK_MATMUL");
  g_unsetenv("STILL_VK_DOT_ROWS"), g_unsetenv("STILL_VK_MATVEC_ROWS"), g_unsetenv("STILL_VK_ATTN_FOLD");
  g_unsetenv("STILL_VK_NORM_FOLD"), g_unsetenv("STILL_VK_ATTN_COOP");

  /* out of time after the first candidate: no prompt timed */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  g_setenv("STILL_VK_TUNE_SECONDS", "0.000001", TRUE);
  g_free(tune_session(m, &s));
  g_assert_nonnull(strstr(still_session_gpu_tuning(s), ", stopped at the time limit, on "));
  g_assert_null(strstr(still_session_gpu_tuning(s), "prompt batch"));
  still_session_free(s);

  /* the device lost while timing: the session runs on the CPU and says why */
  char *fallback = g_strdup(g_getenv("STILL_GPU_FALLBACK"));
  g_unsetenv("STILL_GPU_FALLBACK");
  g_setenv("STILL_VK_FAULT_SUBMIT", "3", TRUE);
  s = new_session(m, -1, 64);
  g_unsetenv("STILL_VK_FAULT_SUBMIT");
  const char *off = still_session_offload(s);
  g_test_message("%s", off);
  g_assert_true(g_str_has_prefix(off, "offload: 0/2 layers on a GPU ("));
  g_assert_nonnull(strstr(off, "device was lost"));
  g_assert_cmpstr(still_session_gpu_tuning(s), ==, "");
  g_assert_cmpint(still_session_logits(s, r->prompt, (size_t)r->n_prompt, false, lg, NULL, NULL), ==, STILL_OK);
  g_assert_cmpfloat(max_abs_diff(lg, r->last, r->n_vocab), <=, tolerance_for(r->type));
  still_session_free(s);
  if (fallback) g_setenv("STILL_GPU_FALLBACK", fallback, TRUE);
  g_free(fallback);

out:
  g_unsetenv("STILL_VK_TUNE_SECONDS");
  if (mode) g_setenv("STILL_VK_TUNE", mode, TRUE);
  else g_unsetenv("STILL_VK_TUNE");
  if (xdg) g_setenv("XDG_CACHE_HOME", xdg, TRUE);
  else g_unsetenv("XDG_CACHE_HOME");
  g_remove(file);
  char *sub = g_build_filename(dir, "distill", NULL);
  g_rmdir(sub);
  g_rmdir(dir);
  g_free(sub), g_free(file), g_free(dir), g_free(xdg), g_free(def), g_free(picked), g_free(lg), g_free(mode);
  still_model_free(m);
  ref_free(r);
}

/* A driver that runs the tensor-core prefill wrong (lavapipe's emulation with Q8_0's prefill
 * running Q4_0's code, vk_coop_emulation_broken): the session's device fails the check before
 * any timing, says so on the tuning line, and the model's logits stay right (its prompt of 24
 * tokens a batch: off the tensor cores now). */
static void test_coop_broken(void)
{
  const char *env = g_getenv("STILL_VK_COOPMAT");
  if (!env || strncmp(env, "emulate", 7) != 0) {
    g_test_skip("needs the emulated tensor cores (STILL_VK_COOPMAT=emulate)");
    return;
  }
  reference *r;
  still_model *m;
  if (!load_case("tiny-llama-Q8_0", &r, &m)) return;
  const still_vk_shader *saved = still_vk_coop_emulated;
  still_vk_shader *broken = vk_coop_emulation_broken(false);
  still_vk_coop_emulated = broken;
  still_session_params sp = still_session_params_default();
  sp.n_threads = 2;
  sp.kv_type = STILL_KV_F32;
  sp.n_ctx = 256;
  sp.n_gpu_layers = -1;
  still_session *s = test_session_new(m, &sp);
  const char *t = still_session_gpu_tuning(s);
  g_test_message("%s", t);
  g_assert_true(g_str_has_prefix(t, "tensor cores off on "));
  g_assert_nonnull(strstr(t, "its output differed from the products in float32"));
  g_assert_true(g_str_has_prefix(still_session_offload(s), "offload: 2/2 layers on Vulkan"));
  float *lg = g_new(float, r->n_vocab);
  check_tuned_logits(s, m, r, lg);
  still_session_free(s);
  still_vk_coop_emulated = saved;
  free(broken);
  g_free(lg);
  still_model_free(m);
  ref_free(r);
}

/* The tuner's prompt attention on a device with tensor cores (lavapipe's emulated ones with
 * STILL_VK_COOPMAT=emulate): with an F16 cache, which it can take, the search times it on a
 * batch deep in the context (at 192: the 256 positions less the 64-token batch), says so, and
 * the model's results are right with what it picked; the choices written into the cache by hand
 * (off, on, and only the scores on them: 2, as STILL_VK_ATTN_COOP=2) run right too. */
static void test_tune_deep(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = NULL;
  still_error verr = {0};
  const bool coop = still_vk_open(&p, &vk, &verr) == STILL_OK && still_vk_attention_coop_possible(vk);
  if (vk) still_vk_close(vk);
  if (!coop) {
    g_test_skip("no 16x16x16 tensor cores (lavapipe: STILL_VK_COOPMAT=emulate)");
    return;
  }
  reference *r;
  still_model *m;
  if (!load_case("tiny-qwen2-Q4_K_M", &r, &m)) return;
  static const char *const env[] = {"XDG_CACHE_HOME", "STILL_VK_TUNE", "STILL_VK_TUNE_SECONDS", "STILL_VK_ATTN_COOP"};
  char *saved[G_N_ELEMENTS(env)];
  for (size_t i = 0; i < G_N_ELEMENTS(env); i++) saved[i] = g_strdup(g_getenv(env[i]));
  char *dir = g_dir_make_tmp("still-tune-XXXXXX", NULL);
  g_setenv("XDG_CACHE_HOME", dir, TRUE);
  g_setenv("STILL_VK_TUNE", "1", TRUE); /* (lavapipe too) */
  g_setenv("STILL_VK_TUNE_SECONDS", "600", TRUE);
  g_unsetenv("STILL_VK_ATTN_COOP");
  char *file = g_build_filename(dir, "distill", "vk-tune.txt", NULL);
  float *lg = g_new(float, r->n_vocab);
  still_session *s;

  g_free(tune_session_kv(m, &s, STILL_KV_F16));
  const char *t = still_session_gpu_tuning(s);
  g_assert_true(g_str_has_prefix(t, "measured: "));
  g_assert_nonnull(strstr(t, "prompt batch at 192 "));
  g_assert_null(strstr(t, "failed"));
  check_tuned_logits(s, m, r, lg);
  still_session_free(s);
  char key[17];
  tune_file_key(file, key);
  for (int on = 0; on < 3; on++) { /* (2: only the scores on them, as STILL_VK_ATTN_COOP=2) */
    char *line = g_strdup_printf("%s 1 0 0 4 2 4 1 0 %d written by the test\n", key, on);
    g_assert_true(g_file_set_contents(file, line, -1, NULL));
    g_free(line);
    g_free(tune_session_kv(m, &s, STILL_KV_F16));
    t = still_session_gpu_tuning(s);
    g_assert_true(g_str_has_prefix(t, "cached: "));
    g_assert_cmpint(strstr(t, ", attention on the tensor cores (") != NULL, ==, on == 1);
    g_assert_cmpint(strstr(t, ", the attention's scores on the tensor cores (") != NULL, ==, on == 2);
    check_tuned_logits(s, m, r, lg);
    still_session_free(s);
  }

  for (size_t i = 0; i < G_N_ELEMENTS(env); i++) {
    if (saved[i]) g_setenv(env[i], saved[i], TRUE);
    else g_unsetenv(env[i]);
    g_free(saved[i]);
  }
  g_remove(file);
  char *sub = g_build_filename(dir, "distill", NULL);
  g_rmdir(sub);
  g_rmdir(dir);
  g_free(sub), g_free(file), g_free(dir), g_free(lg);
  still_model_free(m);
  ref_free(r);
}

/* The fit estimator's GPU figure for a placement (weights + KV + compute +
 * logits, as still_fit adds them for the device with the output) against
 * what the device really holds at its peak once all layers are there, for
 * a context of n_ctx: the estimate must never be below it (a "fits"
 * verdict that then runs out of VRAM is the one thing a user cannot
 * forgive), nor far above it. */
static void check_fit_bytes(const char *name, const still_model *m, const still_fit_model *fm, int32_t n_ctx)
{
  still_error err = {0};
  const int32_t n_batch = n_ctx < 512 ? n_ctx : 512; /* as graph.c clamps it */
  still_vk_forward *f = NULL;
  g_assert_cmpint(still_vk_forward_new(m, NULL, NULL, 0, n_ctx, n_batch, STILL_TYPE_F16, &f, &err), ==, STILL_OK);
  uint64_t peak = 0;
  const uint64_t now = still_vk_forward_device_bytes(f, &peak);
  still_vk_forward_free(f);
  uint64_t weights = fm->output_bytes + (fm->tied ? fm->embd_bytes : 0);
  for (int l = 0; l < fm->n_layer; l++) weights += fm->layer_bytes[l];
  const uint64_t kv = still_fit_kv_bytes(fm, n_ctx, STILL_KV_F16);
  const uint64_t compute = still_fit_gpu_compute_bytes(fm, n_ctx, n_batch);
  const uint64_t logits = still_fit_gpu_logits_bytes(fm, n_ctx, n_batch);
  const uint64_t estimate = weights + kv + compute + logits;
  g_test_message("%s, n_ctx %d: device holds %" G_GUINT64_FORMAT " (peak %" G_GUINT64_FORMAT "), fit says %" G_GUINT64_FORMAT
                 " (weights %" G_GUINT64_FORMAT ", KV %" G_GUINT64_FORMAT ", compute %" G_GUINT64_FORMAT
                 ", logits %" G_GUINT64_FORMAT ")",
                 name, (int)n_ctx, now, peak, estimate, weights, kv, compute, logits);
  g_assert_cmpuint(peak, >=, now);
  g_assert_cmpuint(estimate, >=, peak);
  g_assert_cmpuint(estimate, <=, peak + peak / 2 + (64u << 20));

  /* the rounded rows of a whole batch (STILL_VK_MATMUL=dot, where the
   * device has integer dot products: STILL_VK_DOT=1 here) against the
   * estimate's part for them: the extra memory the mode takes is the
   * estimate's part less the one row of each buffer the other paths keep */
  g_setenv("STILL_VK_MATMUL", "dot", TRUE);
  g_assert_cmpint(still_vk_forward_new(m, NULL, NULL, 0, n_ctx, n_batch, STILL_TYPE_F16, &f, &err), ==, STILL_OK);
  g_unsetenv("STILL_VK_MATMUL");
  uint64_t peak_dot = 0;
  still_vk_forward_device_bytes(f, &peak_dot);
  still_vk_forward_free(f);
  const uint64_t r8 = still_fit_gpu_round8_bytes(fm, n_ctx, n_batch), r8_row = still_fit_gpu_round8_bytes(fm, n_ctx, 1);
  g_test_message("%s, n_ctx %d: a batch of rounded rows takes %" G_GUINT64_FORMAT " more, fit counts "
                 "%" G_GUINT64_FORMAT, name, (int)n_ctx, peak_dot - peak, r8);
  g_assert_cmpuint(peak_dot, >=, peak);
  g_assert_cmpuint(peak_dot - peak, <=, r8 - r8_row + 3 * 16);
  if (g_strcmp0(g_getenv("STILL_VK_DOT"), "1") == 0)
    g_assert_cmpuint(peak_dot - peak + r8_row, >=, r8 - 3 * 16 - 4096);
  g_assert_cmpuint(estimate - peak, >=, peak_dot - peak);
}

static void test_fit_bytes(gconstpointer data)
{
  const char *name = data;
  still_model *m = test_load_fixture_model(name, false);
  if (!m) return;
  still_error err = {0};
  still_fit_model fm;
  g_assert_cmpint(still_fit_model_from_header(m->file, &fm, &err), ==, STILL_OK);
  check_fit_bytes(name, m, &fm, 256);
  check_fit_bytes(name, m, &fm, 2048);
  still_fit_model_free(&fm);
  still_model_free(m);
}

/* The same for one layer of a real shape (still make-model: R1-Distill-
 * Qwen-1.5B, whose 12 heads make the split attention's scratch the largest
 * share of its compute buffers) up to its trained context of 131072 tokens,
 * where that scratch grows with the context (the tiny fixtures cannot show
 * it: their other buffers dwarf it). */
static void test_fit_bytes_real_shape(void)
{
  const char *cli = g_getenv("STILL_CLI");
  char *vocab = test_fixture_path("vocab/ggml-vocab-qwen2.gguf");
  if (!vocab) return;
  if (!cli) {
    g_test_skip("STILL_CLI not set");
    g_free(vocab);
    return;
  }
  char *dir = g_dir_make_tmp("still-vk-fit-XXXXXX", NULL);
  g_assert_nonnull(dir);
  char *path = g_build_filename(dir, "r1-qwen-1.5b-1-layer.gguf", NULL);
  make_model(cli, "r1-qwen-1.5b", "Q4_0", 1, vocab, path);
  still_load_params lp = still_load_params_default();
  lp.no_vocab = true;
  still_model *m = NULL;
  still_error err = {0};
  g_assert_cmpint(still_model_load(path, &lp, NULL, NULL, &m, &err), ==, STILL_OK);
  still_fit_model fm;
  g_assert_cmpint(still_fit_model_from_header(m->file, &fm, &err), ==, STILL_OK);
  g_assert_cmpint(fm.n_head, ==, 12);
  check_fit_bytes("r1-qwen-1.5b (1 layer)", m, &fm, 512);
  check_fit_bytes("r1-qwen-1.5b (1 layer)", m, &fm, 131072);
  still_fit_model_free(&fm);
  still_model_free(m);
  g_remove(path);
  g_rmdir(dir);
  g_free(path), g_free(dir), g_free(vocab);
}

/* ---- real widths ---------------------------------------------------------------------
 * The fixture models are a few hundred values wide. Every R1 shape at its real width (one or
 * two blocks of random weights from `still make-model`, the real vocabulary and output layer):
 * the last position's logits with every layer on the GPU against the CPU's, after a prompt
 * (the batched prefill) and after one more token (the decode), within the rounding of 8-bit
 * activations (the CPU rounds them to Q8_K/Q8_0 blocks, the GPU keeps floats or rounds 32 at a
 * time: about 1e-3 of the logits' energy here, measured 2e-4 to 1.4e-3), F16 within float
 * rounding. Registered when STILL_TEST_REAL_WIDTHS is set (their own test: lavapipe takes
 * a minute or two over them). */
typedef struct {
  const char *shape, *type, *vocab;
  int layers, n_prompt, gpu_layers; /* gpu_layers -1: all */
} width_case;

static double nmse_of(const float *got, const float *want, int n)
{
  double d = 0, e = 0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(got[i])) return INFINITY;
    d += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
    e += (double)want[i] * want[i];
  }
  return e > 0 ? d / e : INFINITY;
}

static void compare_width_logits(const width_case *c, const char *what, const float *gpu, const float *cpu, int nv)
{
  const double e = nmse_of(gpu, cpu, nv);
  int best = 0, second = -1;
  for (int i = 1; i < nv; i++)
    if (cpu[i] > cpu[best]) second = best, best = i;
    else if (second < 0 || cpu[i] > cpu[second]) second = i;
  int gbest = 0;
  for (int i = 1; i < nv; i++)
    if (gpu[i] > gpu[gbest]) gbest = i;
  const double margin = cpu[best] - cpu[second];
  g_test_message("%s %s %s: NMSE %.3g, max |diff| %.3g, top-1 %d/%d (margin %.3g)", c->shape, c->type, what, e,
                 max_abs_diff(gpu, cpu, nv), gbest, best, margin);
  g_assert_cmpfloat(e, <, strcmp(c->type, "F16") == 0 ? 1e-5 : 4e-3);
  if (margin > 0.5) g_assert_cmpint(gbest, ==, best);
}

static void test_real_width(gconstpointer data)
{
  const width_case *c = data;
  const char *cli = g_getenv("STILL_CLI");
  char *vocab_rel = g_strdup_printf("vocab/ggml-vocab-%s.gguf", c->vocab);
  char *vocab = test_fixture_path(vocab_rel);
  g_free(vocab_rel);
  if (!cli || !vocab) {
    g_test_skip(!cli ? "STILL_CLI not set" : "no fixtures");
    g_free(vocab);
    return;
  }
  char *dir = g_dir_make_tmp("still-width-XXXXXX", NULL);
  char *file = g_build_filename(dir, "model.gguf", NULL);
  make_model(cli, c->shape, c->type, c->layers, vocab, file);

  still_model *m = NULL;
  still_error err = {0};
  const still_status loaded = still_model_load(file, NULL, NULL, NULL, &m, &err);
  /* the mapping keeps it readable: gone from the disk even if an assertion below ends the test */
  g_unlink(file);
  g_rmdir(dir);
  g_assert_cmpint(loaded, ==, STILL_OK);
  const int nv = still_model_get_info(m)->n_vocab;
  still_session *cpu = new_session(m, 0, 0), *gpu = new_session(m, c->gpu_layers, 0);
  const char *off = still_session_offload(gpu);
  g_test_message("%s", off);
  const int on_gpu = c->gpu_layers < 0 ? c->layers : c->gpu_layers;
  char *want = g_strdup_printf("offload: %d/%d layers on Vulkan", on_gpu, c->layers);
  g_assert_true(g_str_has_prefix(off, want));
  g_free(want);

  /* a prompt of random ids (fixed), then one more */
  int32_t ids[64];
  GRand *rng = g_rand_new_with_seed(7);
  for (int i = 0; i <= c->n_prompt; i++) ids[i] = g_rand_int_range(rng, 1000, 100000);
  g_rand_free(rng);
  float *a = g_new(float, nv), *b = g_new(float, nv);
  for (int step = 0; step < 2; step++) {
    const int n = c->n_prompt + step;
    still_stats st;
    g_assert_cmpint(still_session_logits(cpu, ids, (size_t)n, false, a, NULL, &err), ==, STILL_OK);
    g_assert_cmpint(still_session_logits(gpu, ids, (size_t)n, false, b, &st, &err), ==, STILL_OK);
    g_assert_cmpint(st.prompt_tokens, ==, step ? 1 : n);
    compare_width_logits(c, step ? "decode" : "prompt", b, a, nv);
  }
  g_free(a), g_free(b);
  still_session_free(cpu);
  still_session_free(gpu);
  still_model_free(m);
  g_free(file), g_free(dir), g_free(vocab);
}

/* Asked for the emulated tensor-core prefill, the device must take it, as asked
 * (vk-coop-emulated.h): these runs would otherwise pass on the ordinary prefill. */
static void assert_coop_emulation(void)
{
  const char *want = g_getenv("STILL_VK_COOPMAT");
  if (!want || !g_str_has_prefix(want, "emulate")) return;
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = NULL;
  still_error err = {0};
  if (still_vk_open(&p, &vk, &err) != STILL_OK) g_error("STILL_VK_COOPMAT=%s: no Vulkan device: %s", want, err.message);
  const char *wrong = vk_coop_emulation_wrong(vk);
  if (wrong) g_error("%s", wrong);
  still_vk_close(vk);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  lavapipe_cache_per_width();
  assert_coop_emulation();
  static const char *models[] = {
    "stories260K",        "tiny-qwen2-F32",  "tiny-qwen2-F16",  "tiny-qwen2-BF16",    "tiny-qwen2-Q8_0",
    "tiny-qwen2-Q4_0",    "tiny-qwen2-Q4_1", "tiny-qwen2-Q5_0", "tiny-qwen2-Q5_1",    "tiny-qwen2-Q4_K_M",
    "tiny-qwen2-Q5_K_M",  "tiny-qwen2-Q6_K", "tiny-qwen2-Q2_K", "tiny-qwen2-Q3_K_M",  "tiny-llama-Q8_0",
    "tiny-llama-Q4_K_M",  "tiny-qwen3-Q8_0",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
    char *path = g_strdup_printf("/vk-forward/%s", models[i]);
    g_test_add_data_func(path, models[i], check_model);
    g_free(path);
  }
  static const char *split_models[] = {"stories260K", "tiny-qwen2-Q4_K_M", "tiny-llama-Q8_0", "tiny-qwen3-Q8_0"};
  for (size_t i = 0; i < G_N_ELEMENTS(split_models); i++) {
    char *path = g_strdup_printf("/vk-forward/split/%s", split_models[i]);
    g_test_add_data_func(path, split_models[i], check_split);
    g_free(path);
  }
  g_test_add_data_func("/vk-forward/tied-embeddings/tiny-qwen2-Q8_0", "tiny-qwen2-Q8_0", test_tied_embeddings);
  g_test_add_data_func("/vk-forward/tied-embeddings/tiny-llama-Q4_K_M", "tiny-llama-Q4_K_M", test_tied_embeddings);
  g_test_add_data_func("/vk-forward/all-logits/tiny-qwen2-Q4_K_M", "tiny-qwen2-Q4_K_M", test_all_logits);
  g_test_add_func("/vk-forward/cli", test_cli);
  g_test_add_func("/vk-forward/decode-fold", test_decode_fold);
  g_test_add_func("/vk-forward/decode-norm-fold", test_decode_norm_fold);
  g_test_add_func("/vk-forward/cli-sigint-starting", test_cli_sigint_starting);
  g_test_add_func("/vk-forward/nvidia-egl", test_nvidia_egl);
  g_test_add_func("/vk-forward/fallback", test_fallback);
  g_test_add_func("/vk-forward/device-uuid", test_device_uuid);
  g_test_add_func("/vk-forward/loop-limit", test_loop_limit);
  g_test_add_func("/vk-forward/repeat-after-gpu-failure", test_repeat_after_gpu_failure);
  g_test_add_func("/vk-forward/cancel-prompt", test_cancel_prompt);
  g_test_add_func("/vk-forward/cancel-slices", test_cancel_slices);
  g_test_add_func("/vk-forward/device-lost", test_device_lost);
  g_test_add_func("/vk-forward/tune", test_tune);
  g_test_add_func("/vk-forward/tune-deep", test_tune_deep);
  g_test_add_func("/vk-forward/coop-broken", test_coop_broken);
  static const char *fit_models[] = {"tiny-qwen2-Q4_K_M", "tiny-llama-Q4_K_M", "tiny-qwen2-Q8_0", "tiny-qwen3-Q8_0"};
  for (size_t i = 0; i < G_N_ELEMENTS(fit_models); i++) {
    char *path = g_strdup_printf("/vk-forward/fit-bytes/%s", fit_models[i]);
    g_test_add_data_func(path, fit_models[i], test_fit_bytes);
    g_free(path);
  }
  g_test_add_func("/vk-forward/fit-bytes/r1-qwen-1.5b-long-context", test_fit_bytes_real_shape);
  static const char *dot_models[] = {"tiny-qwen2-Q4_K_M", "tiny-llama-Q4_K_M", "tiny-qwen2-Q5_K_M",
                                     "tiny-qwen2-Q6_K",   "tiny-qwen3-Q8_0",   "tiny-qwen2-Q4_0"};
  for (size_t i = 0; i < G_N_ELEMENTS(dot_models); i++) {
    char *path = g_strdup_printf("/vk-forward/dot-rounding/%s", dot_models[i]);
    g_test_add_data_func(path, dot_models[i], test_dot_rounding);
    g_free(path);
  }
  static const char *q8_models[] = {"tiny-qwen2-F32", "tiny-qwen3-Q8_0", "tiny-llama-Q4_K_M"};
  for (size_t i = 0; i < G_N_ELEMENTS(q8_models); i++) {
    char *path = g_strdup_printf("/vk-forward/kv-q8_0/%s", q8_models[i]);
    g_test_add_data_func(path, q8_models[i], test_kv_q8_0);
    g_free(path);
  }
  /* every R1 shape and most mixtures (and IQ4_XS, IQ4_NL, which no fixture has); the 1.5B also half on the GPU
   * (its last layer and the output) */
  static const width_case widths[] = {
    {"r1-qwen-1.5b", "F16", "qwen2", 2, 20, -1},      {"r1-qwen-1.5b", "Q4_K_M", "qwen2", 2, 20, 1},
    {"r1-qwen-7b", "Q5_K_M", "qwen2", 1, 20, -1},     {"r1-llama-8b", "Q8_0", "llama-bpe", 1, 20, -1},
    {"r1-qwen3-8b", "Q6_K", "qwen2", 1, 20, -1},      {"r1-qwen-14b", "Q3_K_M", "qwen2", 1, 20, -1},
    {"r1-qwen-32b", "Q4_K_M", "qwen2", 1, 20, -1},    {"r1-llama-70b", "Q2_K", "llama-bpe", 1, 12, -1},
    {"r1-qwen-1.5b", "IQ4_XS", "qwen2", 2, 20, -1},    {"r1-qwen-1.5b", "IQ4_NL", "qwen2", 1, 20, -1},
  };
  if (g_getenv("STILL_TEST_REAL_WIDTHS"))
    for (size_t i = 0; i < G_N_ELEMENTS(widths); i++) {
      char *path = g_strdup_printf("/vk-forward/real-width/%s-%s%s", widths[i].shape, widths[i].type,
                                   widths[i].gpu_layers >= 0 ? "-half" : "");
      g_test_add_data_func(path, &widths[i], test_real_width);
      g_free(path);
    }
  return g_test_run();
}
