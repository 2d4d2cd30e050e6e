/* test-fit-split.c — the fit estimate of a given multi-GPU placement
 * (still_fit_params.split / n_gpu_layers, `still fit --split A,B -ngl N`).
 *
 * Expected layer ranges are computed by hand from the rule of
 * engine/gpu-split.h (bounds first + floor(n·cum/S + 0.5), the output with the
 * last GPU holding layers); expected bytes from the model facts of the header
 * (still_fit_model_from_header: per-layer tensor bytes) and the formulas of
 * fit.c. Models are synthetic headers of the real R1-distill shapes
 * (fit-shapes.c); machines are simulated. The last test checks the estimate
 * against what `still logits --split` really places on lavapipe. */
#include "cli-harness.h"
#include "fit-shapes.h"
#include "fit.h"
#include "gguf.h"
#include "gpu-split.h"
#include "test-common.h"
#include "util.h"

#include <cJSON.h>
#include <glib/gstdio.h>
#include <string.h>

#define GB 1000000000ull
#define GiB (1024ull * 1024ull * 1024ull)

/* ---- helpers ------------------------------------------------------------------------ */

static void *header_of(const char *id, size_t *len)
{
  const still_model_shape *s = still_shape_find(id);
  g_assert_nonnull(s);
  void *buf = NULL;
  g_assert_cmpint(still_shape_build_header(s, STILL_MIX_Q4_K_M, false, &buf, len, NULL), ==, STILL_OK);
  return buf;
}

/* The model facts the estimator works from (per-layer bytes, output bytes). */
static void facts_of(const void *buf, size_t len, still_fit_model *m)
{
  gguf_file *f = NULL;
  g_assert_cmpint(gguf_parse_buffer(buf, len, 0, &f, NULL, NULL), ==, STILL_OK);
  g_assert_cmpint(still_fit_model_from_header(f, m, NULL), ==, STILL_OK);
  gguf_close(f);
}

/* ngl -2: no -ngl. */
static still_status fit_with(const void *buf, size_t len, const still_hardware *hw, const char *split, int ngl,
                             still_kv_type kv, still_fit *f, still_error *err)
{
  still_fit_params p = still_fit_params_default();
  p.n_ctx = 4096;
  p.kv_type = kv;
  p.split = split;
  if (ngl != -2) {
    p.gpu_layers_set = true;
    p.n_gpu_layers = ngl;
  }
  still_status st = still_fit_estimate_buffer(buf, len, 0, hw, &p, f, NULL, err);
  if (st == STILL_OK)
    g_test_message("split %s ngl %d: %s (suggested split '%s', -ngl %d)", split ? split : "-", ngl, f->message,
                   f->suggested_split, f->suggested_gpu_layers);
  return st;
}

static still_fit fit_ok(const void *buf, size_t len, const still_hardware *hw, const char *split, int ngl)
{
  still_fit f;
  still_error err = {0};
  still_status st = fit_with(buf, len, hw, split, ngl, STILL_KV_F16, &f, &err);
  if (st != STILL_OK) g_test_message("%s", err.message);
  g_assert_cmpint(st, ==, STILL_OK);
  return f;
}

static void gpus(still_hardware *hw, int n, uint64_t each, uint64_t ram)
{
  uint64_t v[STILL_MAX_GPUS];
  for (int i = 0; i < n; i++) v[i] = each;
  still_hardware_simulated(hw, ram, n, v, false, 360, 0);
}

/* The device list's layer counts, "24,24". */
static char *counts_of(const still_fit *f)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < f->n_devices; i++) g_string_append_printf(s, "%s%d", i ? "," : "", f->devices[i].n_layers);
  return g_string_free(s, FALSE);
}

static void assert_counts(const still_fit *f, const char *want)
{
  char *got = counts_of(f);
  g_assert_cmpstr(got, ==, want);
  g_free(got);
}

/* ---- the rule ------------------------------------------------------------------------- */

static void test_bounds(void)
{
  const struct {
    double shares[4];
    int n, first, n_layer;
    int want[5];
    int output;
  } cases[] = {
    {{1, 1}, 2, 0, 48, {0, 24, 48}, 1},
    {{3, 2}, 2, 0, 48, {0, 29, 48}, 1},          /* 28.8 → 29 */
    {{3, 2}, 2, 18, 48, {18, 36, 48}, 1},        /* 30 layers: 18.0 → 18 */
    {{1, 1}, 2, 0, 5, {0, 3, 5}, 1},             /* 2.5 rounds up */
    {{1, 1, 1}, 3, 0, 5, {0, 2, 3, 5}, 2},       /* 1.67 → 2, 3.33 → 3 */
    {{3, 1, 1}, 3, 1, 5, {1, 3, 4, 5}, 2},       /* 4 layers: 2.4 → 2, 3.2 → 3 */
    {{1, 1, 1, 1}, 4, 2, 5, {2, 3, 4, 4, 5}, 3}, /* 3 layers: 0.75 → 1, 1.5 → 2, 2.25 → 2 */
    {{1, 0}, 2, 0, 4, {0, 4, 4}, 0},             /* the last device has none: the output stays on the first */
    {{0, 1}, 2, 0, 4, {0, 0, 4}, 1},
    {{0, 1}, 2, 4, 4, {4, 4, 4}, 1},             /* no GPU layers: the last share above 0 */
    {{1, 1, 1, 1}, 4, 0, 64, {0, 16, 32, 48, 64}, 3},
  };
  for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
    int b[STILL_GPU_SPLIT_MAX + 1];
    int out = still_gpu_split_bounds(cases[c].shares, cases[c].n, cases[c].first, cases[c].n_layer, b);
    for (int i = 0; i <= cases[c].n; i++) g_assert_cmpint(b[i], ==, cases[c].want[i]);
    g_assert_cmpint(out, ==, cases[c].output);
  }
}

static void test_parse(void)
{
  double s[STILL_GPU_SPLIT_MAX];
  int n = -1;
  still_error err = {0};
  g_assert_cmpint(still_gpu_split_parse(NULL, s, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_OK);
  g_assert_cmpint(n, ==, 0);
  g_assert_cmpint(still_gpu_split_parse(" 3 , 1.5", s, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_OK);
  g_assert_cmpint(n, ==, 2);
  g_assert_cmpfloat(s[0], ==, 3.0);
  g_assert_cmpfloat(s[1], ==, 1.5);
  static const char *const bad[] = {"1,,2", "0,0", "x", "1,-1", "1e10", "1,2,", "1,1,1,1,1,1,1,1,1", "2x"};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    err = (still_error){0};
    g_assert_cmpint(still_gpu_split_parse(bad[i], s, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err.message, "the split \""));
  }
  g_assert_cmpstr(err.message, ==, "the split \"2x\": \"2x\" is not a share (a number, 0 or more)");
  char *lng = g_strdup_printf("1.%070d,1", 0);
  g_assert_cmpint(still_gpu_split_parse(lng, s, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err.message, ": an item of 72 characters is not a share"));
  g_free(lng);
}

/* --device lists: commas inside parentheses belong to a name ("llvmpipe (LLVM 15.0.6, 256
 * bits)", as `still devices` prints it); and the lists together with --split. */
static void test_device_list(void)
{
  char d[STILL_GPU_SPLIT_MAX][STILL_GPU_DEVICE_TEXT];
  int n = -1;
  still_error err = {0};
  g_assert_cmpint(still_gpu_device_list_parse(NULL, d, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_OK);
  g_assert_cmpint(n, ==, 0);
  g_assert_cmpint(still_gpu_device_list_parse("", d, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_OK);
  g_assert_cmpint(n, ==, 0);
  g_assert_cmpint(still_gpu_device_list_parse(" 0 , uuid:ab ,RTX 4090", d, STILL_GPU_SPLIT_MAX, &n, &err), ==,
                  STILL_OK);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpstr(d[0], ==, "0");
  g_assert_cmpstr(d[1], ==, "uuid:ab");
  g_assert_cmpstr(d[2], ==, "RTX 4090");
  g_assert_cmpint(still_gpu_device_list_parse("llvmpipe (LLVM 15.0.6, 256 bits)", d, STILL_GPU_SPLIT_MAX, &n, &err), ==,
                  STILL_OK);
  g_assert_cmpint(n, ==, 1);
  g_assert_cmpstr(d[0], ==, "llvmpipe (LLVM 15.0.6, 256 bits)");
  g_assert_cmpint(still_gpu_device_list_parse("a (b, (c, d)), 1,x)y,z", d, STILL_GPU_SPLIT_MAX, &n, &err), ==,
                  STILL_OK);
  g_assert_cmpint(n, ==, 4);
  g_assert_cmpstr(d[0], ==, "a (b, (c, d))");
  g_assert_cmpstr(d[1], ==, "1");
  g_assert_cmpstr(d[2], ==, "x)y"); /* (a stray closing parenthesis opens nothing) */
  g_assert_cmpstr(d[3], ==, "z");
  static const char *const empty[] = {"0,", ",1", "0,,1", "0, ,1"};
  for (size_t i = 0; i < G_N_ELEMENTS(empty); i++) {
    g_assert_cmpint(still_gpu_device_list_parse(empty[i], d, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err.message, "has an empty item"));
  }
  g_assert_cmpint(still_gpu_device_list_parse("0,1,2,3,4,5,6,7,8", d, STILL_GPU_SPLIT_MAX, &n, &err), ==,
                  STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==, "the device list \"0,1,2,3,4,5,6,7,8\" names more than 8 devices");
  char *lng = g_strnfill(STILL_GPU_DEVICE_TEXT, 'x');
  g_assert_cmpint(still_gpu_device_list_parse(lng, d, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err.message, "is 256 bytes long: no device name is longer than 255"));
  lng[STILL_GPU_DEVICE_TEXT - 1] = '\0';
  g_assert_cmpint(still_gpu_device_list_parse(lng, d, STILL_GPU_SPLIT_MAX, &n, &err), ==, STILL_OK);
  g_free(lng);
  /* together */
  static const char *const ok[][2] = {{NULL, NULL}, {"0", NULL}, {NULL, "3,1"}, {"0,1", "3,1"}, {"0,1", NULL},
                                      {"0", "1"},   {"1", "1"}};
  for (size_t i = 0; i < G_N_ELEMENTS(ok); i++)
    g_assert_cmpint(still_gpu_split_check(ok[i][0], ok[i][1], NULL, NULL, NULL, NULL, &err), ==, STILL_OK);
  /* the lists as parsed, for the caller */
  double sh[STILL_GPU_SPLIT_MAX];
  int nd = -1, ns = -1;
  g_assert_cmpint(still_gpu_split_check("0, llvmpipe (a, b)", "3,1", d, &nd, sh, &ns, &err), ==, STILL_OK);
  g_assert_cmpint(nd, ==, 2);
  g_assert_cmpstr(d[1], ==, "llvmpipe (a, b)");
  g_assert_cmpint(ns, ==, 2);
  g_assert_cmpfloat(sh[0], ==, 3.0);
  g_assert_cmpint(still_gpu_split_check("0", "1,1", NULL, NULL, NULL, NULL, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==, "the split \"1,1\" has 2 shares: name as many devices with --device (e.g. 0,1)");
  g_assert_cmpint(still_gpu_split_check("0,1", "1,1,1", NULL, NULL, NULL, NULL, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==, "2 devices but 3 shares in the split \"1,1,1\"");
  g_assert_cmpint(still_gpu_split_check("0,", "1,1", NULL, NULL, NULL, NULL, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err.message, "empty item"));
  g_assert_cmpint(still_gpu_split_check("0,1", "1,x", NULL, NULL, NULL, NULL, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err.message, "is not a share"));
}

/* ---- placements -------------------------------------------------------------------- */

/* Per-device layers and bytes of a split, by hand from the model facts. */
static void test_per_device(void)
{
  size_t len;
  void *buf = header_of("qwen-14b", &len);
  still_fit_model m;
  facts_of(buf, len, &m);
  g_assert_cmpint(m.n_layer, ==, 48);
  still_hardware hw;
  gpus(&hw, 2, 8 * GiB, 64 * GB);

  still_fit f = fit_ok(buf, len, &hw, "3,2", -2);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_GPU);
  g_assert_true(g_str_has_prefix(f.message, "Runs fully on your GPUs (expect ~"));
  assert_counts(&f, "29,19");
  g_assert_cmpint(f.gpu_layers, ==, 48);
  g_assert_cmpint(f.gpu_layers_per[0], ==, 29);
  g_assert_cmpint(f.gpu_layers_per[1], ==, 19);
  const uint64_t kv_layer = 4096ull * 4096; /* 196608 bytes per token / 48 layers, 4096 tokens, f16 */
  const uint64_t compute = still_fit_gpu_compute_bytes(&m, 4096, 512);
  /* the GPU with the output also keeps 8 rows of logits (LOGITS_ROWS in vk-forward.c) */
  const uint64_t logits = still_fit_gpu_logits_bytes(&m, 4096, 512);
  g_assert_cmpuint(logits, ==, 8ull * (uint64_t)m.n_vocab * 4);
  g_assert_cmpuint(still_fit_gpu_logits_bytes(&m, 4096, 3), ==, 3ull * (uint64_t)m.n_vocab * 4);
  uint64_t w0 = 0, w1 = 0;
  for (int l = 0; l < 29; l++) w0 += m.layer_bytes[l];
  for (int l = 29; l < 48; l++) w1 += m.layer_bytes[l];
  w1 += m.output_bytes; /* output.weight + output_norm go with the last GPU */
  const still_fit_device *d = f.devices;
  g_assert_cmpint(f.n_devices, ==, 2);
  g_assert_cmpint(d[0].gpu, ==, 0);
  g_assert_cmpint(d[0].first_layer, ==, 0);
  g_assert_false(d[0].output);
  g_assert_cmpuint(d[0].weights_bytes, ==, w0);
  g_assert_cmpuint(d[0].kv_bytes, ==, 29 * kv_layer);
  g_assert_cmpuint(d[0].compute_bytes, ==, compute);
  g_assert_cmpuint(d[0].overhead_bytes, ==, STILL_FIT_GPU_DRIVER_BYTES);
  g_assert_cmpuint(d[0].total_bytes, ==, w0 + 29 * kv_layer + compute + STILL_FIT_GPU_DRIVER_BYTES);
  g_assert_cmpint(d[1].gpu, ==, 1);
  g_assert_cmpint(d[1].first_layer, ==, 29);
  g_assert_true(d[1].output);
  g_assert_cmpuint(d[1].weights_bytes, ==, w1);
  g_assert_cmpuint(d[1].kv_bytes, ==, 19 * kv_layer);
  g_assert_cmpuint(d[1].compute_bytes, ==, compute + logits);
  g_assert_cmpuint(d[1].total_bytes, ==, w1 + 19 * kv_layer + compute + logits + STILL_FIT_GPU_DRIVER_BYTES);
  for (int i = 0; i < 2; i++) {
    g_assert_cmpuint(d[i].free_bytes, ==, 8 * GiB);
    g_assert_cmpuint(d[i].usable_bytes, ==, still_fit_usable(8 * GiB));
    g_assert_true(d[i].fits);
    g_assert_cmpuint(f.gpu_bytes[i], ==, d[i].total_bytes);
  }
  g_assert_cmpuint(f.kv_bytes, ==, 48 * kv_layer);
  g_assert_cmpstr(f.suggested_split, ==, "");
  g_assert_cmpint(f.suggested_gpu_layers, ==, -1);

  /* "1,1" is the estimator's own placement on two equal cards: the same numbers */
  still_fit_params p = still_fit_params_default();
  p.n_ctx = 4096;
  still_fit own;
  g_assert_cmpint(still_fit_estimate_buffer(buf, len, 0, &hw, &p, &own, NULL, NULL), ==, STILL_OK);
  f = fit_ok(buf, len, &hw, "1,1", -2);
  assert_counts(&own, "24,24");
  assert_counts(&f, "24,24");
  g_assert_cmpuint(f.total_bytes, ==, own.total_bytes);
  g_assert_cmpuint(f.cpu_bytes, ==, own.cpu_bytes);
  g_assert_cmpuint(f.gpu_bytes[0], ==, own.gpu_bytes[0]);
  g_assert_cmpuint(f.gpu_bytes[1], ==, own.gpu_bytes[1]);
  g_assert_cmpfloat(f.tok_s_estimate, ==, own.tok_s_estimate);

  /* with -ngl: the last N layers, the rest on the CPU */
  f = fit_ok(buf, len, &hw, "3,2", 30);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_PARTIAL);
  g_assert_true(g_str_has_prefix(f.message, "Runs with 30 of 48 layers on the GPUs (expect ~"));
  assert_counts(&f, "18,12");
  g_assert_cmpint(f.devices[0].first_layer, ==, 18);
  g_assert_cmpint(f.devices[1].first_layer, ==, 36);
  /* -1 and more than the model has: all */
  assert_counts((f = fit_ok(buf, len, &hw, "3,2", -1), &f), "29,19");
  assert_counts((f = fit_ok(buf, len, &hw, "3,2", 500), &f), "29,19");
  /* 0: the CPU only */
  f = fit_ok(buf, len, &hw, "3,2", 0);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_CPU);
  assert_counts(&f, "0,0");
  g_assert_false(f.output_on_gpu);
  /* a share of 0: that GPU gets nothing; the output with the last GPU holding layers */
  f = fit_ok(buf, len, &hw, "1,0", -2);
  assert_counts(&f, "48,0");
  g_assert_true(f.devices[0].output);
  g_assert_cmpuint(f.devices[1].total_bytes, ==, 0);

  /* four GPUs, 64 layers (32B) */
  g_free(buf);
  still_fit_model_free(&m);
  buf = header_of("qwen-32b", &len);
  gpus(&hw, 4, 8 * GiB, 64 * GB);
  f = fit_ok(buf, len, &hw, "1,1,1,1", -2);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_GPU);
  assert_counts(&f, "16,16,16,16");
  g_assert_true(f.devices[3].output);
  f = fit_ok(buf, len, &hw, "2,1,1,1", 40); /* 16, 24, 32, 40 */
  assert_counts(&f, "16,8,8,8");
  g_assert_cmpint(f.devices[0].first_layer, ==, 24);
  g_free(buf);
}

/* A GPU keeps a Q8_0 cache in Q8_0 too (vk-forward.c): 34 bytes per 32 values on every device. */
static void test_q8_cache_on_gpu(void)
{
  size_t len;
  void *buf = header_of("qwen-14b", &len);
  still_hardware hw;
  gpus(&hw, 2, 8 * GiB, 64 * GB);
  still_fit f;
  g_assert_cmpint(fit_with(buf, len, &hw, "1,1", 40, STILL_KV_Q8_0, &f, NULL), ==, STILL_OK);
  const uint64_t f16_layer = 4096ull * 4096, q8_layer = f16_layer / 2 * 34 / 32;
  g_assert_cmpuint(f.devices[0].kv_bytes, ==, 20 * q8_layer);
  g_assert_cmpuint(f.devices[1].kv_bytes, ==, 20 * q8_layer);
  g_assert_cmpuint(f.kv_bytes, ==, 48 * q8_layer);
  /* and less than the F16 cache's on each GPU */
  still_fit h;
  g_assert_cmpint(fit_with(buf, len, &hw, "1,1", 40, STILL_KV_F16, &h, NULL), ==, STILL_OK);
  g_assert_cmpuint(h.devices[0].kv_bytes, ==, 20 * f16_layer);
  g_assert_cmpuint(f.devices[0].total_bytes, ==, h.devices[0].total_bytes - 20 * (f16_layer - q8_layer));
  g_free(buf);
}

/* A GPU that overflows is named, with what would fit instead. */
static void test_overflow(void)
{
  size_t len;
  void *buf = header_of("qwen-14b", &len);
  still_hardware hw;
  uint64_t v[2] = {8 * GB, 4 * GB};
  still_hardware_simulated(&hw, 64 * GB, 2, v, false, 360, 0);
  still_fit f = fit_ok(buf, len, &hw, "1,1", -2);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_NO);
  g_assert_cmpfloat(f.tok_s_estimate, ==, 0.0);
  g_assert_true(f.devices[0].fits);
  g_assert_false(f.devices[1].fits);
  g_assert_cmpuint(f.devices[1].total_bytes, >, still_fit_usable(4 * GB));
  char need[32];
  still_format_bytes(f.devices[1].total_bytes, need, sizeof need);
  g_assert_cmpstr(need, ==, "5.5 GB");
  g_assert_cmpstr(f.suggested_split, !=, "");
  g_assert_cmpint(f.suggested_gpu_layers, >, 0);
  g_assert_cmpint(f.suggested_gpu_layers, <, 48);
  char *want = g_strdup_printf("Vulkan1 needs 5.5 GB but has 4.0 GB free: move layers to the other GPUs with --split "
                               "%s, or use fewer GPU layers (-ngl %d)",
                               f.suggested_split, f.suggested_gpu_layers);
  g_assert_cmpstr(f.message, ==, want);
  g_free(want);
  /* the suggestions hold: that split fits with all layers, and so does that layer count
   * with the given split, but one layer more does not */
  char split[64];
  g_strlcpy(split, f.suggested_split, sizeof split);
  int ngl = f.suggested_gpu_layers;
  still_fit s = fit_ok(buf, len, &hw, split, -2);
  g_assert_cmpint(s.verdict, ==, STILL_FIT_GPU);
  g_assert_cmpint(s.gpu_layers, ==, 48);
  char *c = counts_of(&s);
  g_assert_cmpstr(c, ==, split); /* layer counts as shares give exactly those counts */
  g_free(c);
  g_assert_cmpint(fit_ok(buf, len, &hw, "1,1", ngl).verdict, ==, STILL_FIT_PARTIAL);
  g_assert_cmpint(fit_ok(buf, len, &hw, "1,1", ngl + 1).verdict, ==, STILL_FIT_NO);

  /* one GPU too small: no other GPU to move to; "after the safety margin" when the need
   * is under the free memory but over the usable part */
  uint64_t one = 6 * GB;
  still_hardware_simulated(&hw, 64 * GB, 1, &one, false, 360, 0);
  f = fit_ok(buf, len, &hw, NULL, -1);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_NO);
  g_assert_cmpstr(f.suggested_split, ==, "");
  want = g_strdup_printf("Vulkan0 needs 9.8 GB but has 6.0 GB free: use fewer GPU layers (-ngl %d)",
                         f.suggested_gpu_layers);
  g_assert_cmpstr(f.message, ==, want);
  g_free(want);
  one = f.devices[0].total_bytes + 100 * 1000 * 1000; /* free, but not after the margin */
  still_hardware_simulated(&hw, 64 * GB, 1, &one, false, 360, 0);
  f = fit_ok(buf, len, &hw, NULL, -1);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_NO);
  g_assert_nonnull(strstr(f.message, " free ("));
  g_assert_nonnull(strstr(f.message, " after the safety margin): use fewer GPU layers (-ngl "));

  /* the RAM overflows: the CPU part is named, with more GPU layers as the way out */
  g_free(buf);
  buf = header_of("qwen-32b", &len);
  uint64_t two[2] = {8 * GiB, 8 * GiB};
  still_hardware_simulated(&hw, 8 * GiB, 2, two, false, 360, 0);
  f = fit_ok(buf, len, &hw, "1,1", 20);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_NO);
  g_assert_true(g_str_has_prefix(f.message, "The CPU part needs "));
  g_assert_cmpint(f.suggested_gpu_layers, >, 20);
  want = g_strdup_printf(": put more layers on the GPUs (-ngl %d)", f.suggested_gpu_layers);
  g_assert_true(g_str_has_suffix(f.message, want));
  g_free(want);
  g_assert_cmpint(fit_ok(buf, len, &hw, "1,1", f.suggested_gpu_layers).verdict, !=, STILL_FIT_NO);
  g_free(buf);
}

/* Layers asked for on a machine whose only Vulkan device is CPU-emulated (lavapipe): the session
 * takes that device, the estimate places them there, and the context that fits whole on it is
 * that device's (not "no context fits fully on the GPU" under a verdict that it runs fully there). */
static void test_only_cpu_device(void)
{
  size_t len;
  void *buf = header_of("qwen-1.5b", &len);
  still_hardware hw;
  gpus(&hw, 1, 8 * GiB, 64 * GB);
  hw.gpus[0].cpu_emulated = true;
  still_fit f = fit_ok(buf, len, &hw, NULL, 99);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_GPU);
  g_assert_cmpint(f.max_ctx_gpu, >=, 4096);
  /* the estimator's own choice keeps the model off it */
  f = fit_ok(buf, len, &hw, NULL, -2);
  g_assert_cmpint(f.gpu_layers, ==, 0);
  g_assert_cmpint(f.max_ctx_gpu, ==, 0);
  g_free(buf);
}

/* Which GPUs a split counts, and the errors. */
static void test_devices_and_errors(void)
{
  size_t len;
  void *buf = header_of("qwen-7b", &len);
  still_hardware hw;
  gpus(&hw, 2, 8 * GiB, 64 * GB);
  still_fit f;
  still_error err = {0};
  g_assert_cmpint(fit_with(buf, len, &hw, "1,1,1", -2, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==,
                  "the split \"1,1,1\" has 3 shares, but this machine has 2 GPUs: give at most one share per GPU");
  /* fewer shares than GPUs, as a session places them: one share, the default GPU; more, the first
   * GPUs in Vulkan order */
  f = fit_ok(buf, len, &hw, "1", -2);
  g_assert_cmpint(f.n_devices, ==, 1);
  g_assert_cmpint(f.devices[0].n_layers, ==, f.gpu_layers);
  {
    /* an integrated GPU listed before a discrete one: one share goes to the discrete one (the
     * session's default device), "1,0" to the first in Vulkan order */
    still_hardware mixed;
    gpus(&mixed, 2, 8 * GiB, 64 * GB);
    mixed.gpus[0].kind = STILL_GPU_INTEGRATED;
    mixed.gpus[1].kind = STILL_GPU_DISCRETE;
    f = fit_ok(buf, len, &mixed, "1", -2);
    g_assert_cmpint(f.n_devices, ==, 1);
    g_assert_cmpint(f.devices[0].gpu, ==, 1);
    f = fit_ok(buf, len, &mixed, "1,0", -2);
    g_assert_cmpint(f.devices[0].gpu, ==, 0);
    g_assert_cmpint(f.devices[0].n_layers, ==, f.gpu_layers);
  }
  {
    still_hardware three;
    gpus(&three, 3, 8 * GiB, 64 * GB);
    f = fit_ok(buf, len, &three, "1,1", -2);
    g_assert_cmpint(f.n_devices, ==, 2);
    g_assert_cmpint(f.devices[0].gpu, ==, 0);
    g_assert_cmpint(f.devices[1].gpu, ==, 1);
    g_assert_cmpint(f.devices[0].n_layers + f.devices[1].n_layers, ==, f.gpu_layers);
  }
  /* shares of nothing at the end need no GPU of their own ("2,1,0" on two, "1,0,0" on one), as a
   * session places them; "0,1" names a second GPU */
  f = fit_ok(buf, len, &hw, "2,1,0", -2);
  g_assert_cmpint(f.n_devices, ==, 2);
  g_assert_cmpint(fit_with(buf, len, &hw, "2,1,1", -2, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
  {
    still_hardware one;
    gpus(&one, 1, 8 * GiB, 64 * GB);
    f = fit_ok(buf, len, &one, "1,0,0", -2);
    g_assert_cmpint(f.n_devices, ==, 1);
    g_assert_cmpint(f.devices[0].n_layers, ==, f.gpu_layers);
    g_assert_cmpint(fit_with(buf, len, &one, "0,1", -2, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
    /* the count the user wrote */
    g_assert_cmpint(fit_with(buf, len, &one, "1,1,0,0", -2, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_cmpstr(err.message, ==,
                    "the split \"1,1,0,0\" has 4 shares, but this machine has 1 GPU: give at most one share per GPU");
  }
  g_assert_cmpint(fit_with(buf, len, &hw, "1,x", -2, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(fit_with(buf, len, &hw, "1,1", -5, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
  gpus(&hw, 0, 0, 64 * GB);
  g_assert_cmpint(fit_with(buf, len, &hw, "1,1", -2, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==, "the split \"1,1\" has 2 shares, but this machine has no usable GPU");
  g_assert_cmpint(fit_with(buf, len, &hw, NULL, 10, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==, "GPU layers were asked for, but this machine has no usable GPU");
  f = fit_ok(buf, len, &hw, NULL, 0); /* -ngl 0 needs no GPU */
  g_assert_cmpint(f.verdict, ==, STILL_FIT_CPU);

  /* a software device (lavapipe) next to real GPUs is not counted, as `still run --split` skips it */
  gpus(&hw, 3, 8 * GiB, 64 * GB);
  hw.gpus[0].cpu_emulated = true;
  hw.gpus[0].kind = STILL_GPU_CPU;
  f = fit_ok(buf, len, &hw, "1,1", -2);
  g_assert_cmpint(f.n_devices, ==, 2);
  g_assert_cmpint(f.devices[0].gpu, ==, 1);
  g_assert_cmpint(f.devices[1].gpu, ==, 2);
  g_assert_cmpint(f.gpu_layers_per[0], ==, 0);
  g_assert_cmpint(f.gpu_layers_per[1], ==, 14);
  /* only software devices: those (a run would open them too) */
  gpus(&hw, 2, 2 * GiB, 64 * GB);
  hw.gpus[0].cpu_emulated = hw.gpus[1].cpu_emulated = true;
  f = fit_ok(buf, len, &hw, "1,1", 2);
  assert_counts(&f, "1,1");
  /* -ngl alone: the default device, a discrete GPU before an integrated one */
  gpus(&hw, 2, 8 * GiB, 64 * GB);
  hw.gpus[0].kind = STILL_GPU_INTEGRATED;
  f = fit_ok(buf, len, &hw, NULL, 10);
  g_assert_cmpint(f.n_devices, ==, 1);
  g_assert_cmpint(f.devices[0].gpu, ==, 1);
  g_assert_cmpint(f.devices[0].n_layers, ==, 10);
  g_assert_cmpint(f.devices[0].first_layer, ==, 18);
  g_assert_true(g_str_has_prefix(f.message, "Runs with 10 of 28 layers on the GPU (expect ~"));
  g_free(buf);
}

/* One card listed twice (two drivers: same deviceUUID) is one card: the estimate does not plan for
 * twice its memory. */
static void test_duplicate_listing(void)
{
  size_t len;
  void *buf = header_of("qwen-14b", &len); /* about 9 GB of Q4_K_M: needs two 8 GiB cards */
  still_hardware hw;
  gpus(&hw, 2, 8 * GiB, 64 * GB);
  still_fit f = fit_ok(buf, len, &hw, NULL, -2);
  g_assert_cmpint(f.n_devices, ==, 2);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_GPU);
  g_assert_cmpint(f.devices[0].n_layers, >, 0);
  g_assert_cmpint(f.devices[1].n_layers, >, 0);
  hw.gpus[1].duplicate = true;
  hw.gpus[1].duplicate_of = 0;
  f = fit_ok(buf, len, &hw, NULL, -2);
  g_assert_cmpint(f.n_devices, ==, 1);
  g_assert_cmpint(f.devices[0].gpu, ==, 0);
  g_assert_cmpint(f.verdict, ==, STILL_FIT_PARTIAL);
  g_assert_cmpuint(f.gpu_free, ==, 8 * GiB);
  /* a split takes the card once, as `still run --split` does: two shares are one too many, and the
   * message says why */
  still_error err = {0};
  g_assert_cmpint(fit_with(buf, len, &hw, "1,1", -2, STILL_KV_F16, &f, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==, "the split \"1,1\" has 2 shares, but this machine has 1 GPU: give at most one "
                                   "share per GPU (a card that two drivers list counts once)");
  f = fit_ok(buf, len, &hw, "1", -2);
  g_assert_cmpint(f.n_devices, ==, 1);
  g_assert_cmpint(f.devices[0].gpu, ==, 0);
  /* the session's list of devices for a split (vk-forward.c), the same rule */
  double shares[2] = {1, 1};
  int usable[2], n_shares = 2;
  g_assert_cmpint(still_gpu_split_devices(hw.gpus, 2, shares, &n_shares, usable), ==, 1);
  g_assert_cmpint(usable[0], ==, 0);
  g_assert_cmpint(still_gpu_split_listed_again(hw.gpus, 2), ==, 1);
  /* lavapipe listed twice (the tests' two devices) is split over as two */
  hw.gpus[0].cpu_emulated = hw.gpus[1].cpu_emulated = true;
  g_assert_cmpint(still_gpu_split_devices(hw.gpus, 2, shares, &n_shares, usable), ==, 2);
  g_assert_cmpint(still_gpu_split_listed_again(hw.gpus, 2), ==, 0);
  hw.gpus[0].cpu_emulated = hw.gpus[1].cpu_emulated = false;
  hw.gpus[1].duplicate = false;
  f = fit_ok(buf, len, &hw, "1,1", -2);
  g_assert_cmpint(f.n_devices, ==, 2);
  g_free(buf);
}

/* ---- the CLI -------------------------------------------------------------------------- */

static void assert_one_line_failure(const cli_result *r)
{
  g_assert_cmpint(r->exit_code, ==, 1);
  g_assert_cmpstr(r->out, ==, "");
  size_t n = strlen(r->err);
  g_assert_true(g_str_has_prefix(r->err, "still: "));
  g_assert_null(memchr(r->err, '\n', n - 1));
}

static void test_cli(void)
{
  size_t len;
  void *buf = header_of("qwen-14b", &len);
  char *path = g_build_filename(cli_harness_tmp_dir("still-fit-split-XXXXXX"), "14b.hdr", NULL);
  g_assert_true(g_file_set_contents(path, buf, (gssize)len, NULL));
  cli_result r;
  if (!run_cli(&r, "fit", "--header-bytes", path, "--vram-free", "8GB,4GB", "--ram-free", "64GB", "--gpu-bw", "360",
               "--ctx", "4096", "--split", "1,1", "--json"))
    goto out;
  if (r.exit_code != 0) g_test_message("%s", r.err);
  g_assert_cmpint(r.exit_code, ==, 0);
  cJSON *j = cJSON_Parse(r.out);
  g_assert_nonnull(j);
  g_assert_cmpstr(json_str(j, "verdict"), ==, "no");
  g_assert_cmpstr(json_str(j, "split"), ==, "1,1");
  g_assert_true(g_str_has_prefix(json_str(j, "message"), "Vulkan1 needs 5.5 GB but has 4.0 GB free: move layers to "
                                                          "the other GPUs with --split "));
  /* the library's answer for the same machine */
  still_hardware hw;
  uint64_t v[2] = {8 * GB, 4 * GB};
  still_hardware_simulated(&hw, 64 * GB, 2, v, false, 360, 0);
  still_fit f = fit_ok(buf, len, &hw, "1,1", -2);
  g_assert_cmpstr(json_str(j, "message"), ==, f.message);
  g_assert_cmpstr(json_str(j, "suggested_split"), ==, f.suggested_split);
  g_assert_cmpfloat(json_num(j, "suggested_gpu_layers"), ==, f.suggested_gpu_layers);
  const cJSON *devs = cJSON_GetObjectItemCaseSensitive(j, "devices");
  g_assert_true(cJSON_IsArray(devs));
  g_assert_cmpint(cJSON_GetArraySize(devs), ==, 2);
  static const char *const keys[] = {"index", "first_layer", "n_layers", "weights_bytes", "kv_bytes",
                                     "compute_bytes", "overhead_bytes", "total_bytes", "free_bytes", "usable_bytes"};
  for (int i = 0; i < 2; i++) {
    const cJSON *d = cJSON_GetArrayItem(devs, i);
    char name[16];
    snprintf(name, sizeof name, "Vulkan%d", i);
    g_assert_cmpstr(json_str(d, "device"), ==, name);
    g_assert_cmpstr(json_str(d, "name"), ==, hw.gpus[i].name);
    g_assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(d, "output")));
    g_assert_true(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(d, "fits")));
    g_assert_cmpint(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "fits")), ==, f.devices[i].fits);
    g_assert_cmpint(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "output")), ==, i == 1);
    const uint64_t want[] = {f.devices[i].gpu,           f.devices[i].first_layer,   f.devices[i].n_layers,
                             f.devices[i].weights_bytes, f.devices[i].kv_bytes,      f.devices[i].compute_bytes,
                             f.devices[i].overhead_bytes, f.devices[i].total_bytes,  f.devices[i].free_bytes,
                             f.devices[i].usable_bytes};
    for (size_t k = 0; k < G_N_ELEMENTS(keys); k++) g_assert_cmpfloat(json_num(d, keys[k]), ==, (double)want[k]);
  }
  g_assert_cmpfloat(json_num(cJSON_GetArrayItem(devs, 1), "n_layers"), ==, 24);
  cJSON_Delete(j);
  cli_result_clear(&r);

  /* -ngl with the split; no split: "split" null, the estimator's own placement */
  run_cli(&r, "fit", "--header-bytes", path, "--vram-free", "8GiB,8GiB", "--ram-free", "64GB", "--ctx", "4096",
          "--split", "3,2", "-ngl", "30", "--json");
  g_assert_cmpint(r.exit_code, ==, 0);
  j = cJSON_Parse(r.out);
  g_assert_cmpstr(json_str(j, "verdict"), ==, "partial");
  g_assert_cmpfloat(json_num(j, "gpu_layers"), ==, 30);
  devs = cJSON_GetObjectItemCaseSensitive(j, "devices");
  g_assert_cmpfloat(json_num(cJSON_GetArrayItem(devs, 0), "n_layers"), ==, 18);
  g_assert_cmpfloat(json_num(cJSON_GetArrayItem(devs, 1), "n_layers"), ==, 12);
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "suggested_split")));
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "suggested_gpu_layers")));
  cJSON_Delete(j);
  cli_result_clear(&r);
  run_cli(&r, "fit", "--header-bytes", path, "--vram-free", "8GiB,8GiB", "--ram-free", "64GB", "--json");
  g_assert_cmpint(r.exit_code, ==, 0);
  j = cJSON_Parse(r.out);
  g_assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "split")));
  g_assert_cmpint(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "devices")), ==, 2);
  cJSON_Delete(j);
  cli_result_clear(&r);

  /* human output: one line per GPU */
  run_cli(&r, "fit", "--header-bytes", path, "--vram-free", "8GB,4GB", "--ram-free", "64GB", "--split", "1,1");
  g_assert_cmpint(r.exit_code, ==, 0);
  g_assert_true(g_str_has_prefix(r.out, "Vulkan1 needs 5.5 GB but has 4.0 GB free: "));
  g_assert_nonnull(strstr(r.out, "\n  Vulkan0        layers 0-23 (24): weights "));
  g_assert_nonnull(strstr(r.out, "\n  Vulkan1        layers 24-47 (24) + output: weights "));
  g_assert_nonnull(strstr(r.out, "of 4.0 GB free: DOES NOT FIT\n"));
  cli_result_clear(&r);

  /* errors: one line each */
  run_cli(&r, "fit", "--header-bytes", path, "--vram-free", "8G,8G", "--split", "1,1,1");
  assert_one_line_failure(&r);
  g_assert_cmpstr(r.err, ==, "still: the split \"1,1,1\" has 3 shares, but this machine has 2 GPUs: give at most one share per GPU\n");
  cli_result_clear(&r);
  run_cli(&r, "fit", "--header-bytes", path, "--vram-free", "0", "--split", "1");
  assert_one_line_failure(&r);
  g_assert_nonnull(strstr(r.err, "no usable GPU"));
  cli_result_clear(&r);
  static const char *const bad[][2] = {{"--split", "1,,2"}, {"--split", "0,0"}, {"-ngl", "x"}, {"-ngl", "-3"}};
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    run_cli(&r, "fit", "--header-bytes", path, "--vram-free", "8G,8G", bad[i][0], bad[i][1]);
    assert_one_line_failure(&r);
    cli_result_clear(&r);
  }
  run_cli(&r, "fit", "--help");
  g_assert_nonnull(strstr(r.out, "--split A,B[,...]"));
  g_assert_nonnull(strstr(r.out, "-ngl, --gpu-layers N"));
  cli_result_clear(&r);
out:
  g_unlink(path);
  g_free(path);
  g_free(buf);
}

/* The estimate places the layers where `still logits --split` really puts
 * them: stories260K (5 layers) over lavapipe opened several times
 * ("--device 0,0,0"), the offload line "… 2 + Vulkan0 (…) 1 + Vulkan0 (…) 2"
 * against `still fit --split` on as many simulated GPUs. */
static void test_matches_run(void)
{
  char *model = test_fixture_path("models/stories260K.gguf");
  if (!model) return;
  char *out = g_build_filename(cli_harness_tmp_dir("still-fit-split-XXXXXX"), "logits.f32", NULL);
  static const struct {
    const char *devices, *vram, *split, *ngl, *want;
  } cases[] = {
    {"0,0,0", "1G,1G,1G", "1,1,1", "-1", "2,1,2"},
    {"0,0,0", "1G,1G,1G", "3,1,1", "4", "2,1,1"},
    {"0,0", "1G,1G", "1,2", "-1", "2,3"},
    {"0,0", "1G,1G", "1,1", "-1", "3,2"},
    {"0,0,0,0", "1G,1G,1G,1G", "1,1,1,1", "3", "1,1,0,1"},
  };
  for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
    cli_result r;
    if (!run_cli(&r, "logits", "-m", model, "--prompt-ids", "1 2 3", "-o", out, "--device", cases[c].devices,
                 "--split", cases[c].split, "-ngl", cases[c].ngl))
      break;
    g_assert_cmpint(r.exit_code, ==, 0);
    /* "offload: 5/5 layers on Vulkan0 (llvmpipe …) 2 + Vulkan0 (llvmpipe …) 1 + …" */
    const char *line = strstr(r.err, "offload: ");
    g_assert_nonnull(line);
    g_test_message("--split %s -ngl %s: %.*s", cases[c].split, cases[c].ngl, (int)strcspn(line, "\n"), line);
    if (strstr(line, "layers on a GPU")) { /* no Vulkan device here */
      cli_result_clear(&r);
      g_test_skip("no Vulkan device to compare with");
      break;
    }
    GString *ran = g_string_new(NULL);
    int n_parts = 0;
    for (const char *p = line; (p = strstr(p, ") ")) != NULL;) {
      p += 2;
      if (*p < '0' || *p > '9') continue;
      g_string_append_printf(ran, "%s%d", n_parts++ ? "," : "", atoi(p));
    }
    if (n_parts == 0) g_string_append(ran, "all on one"); /* one device: no counts printed */
    cli_result_clear(&r);

    run_cli(&r, "fit", "-m", model, "--vram-free", cases[c].vram, "--ram-free", "8G", "--split", cases[c].split,
            "-ngl", cases[c].ngl, "--json");
    g_assert_cmpint(r.exit_code, ==, 0);
    cJSON *j = cJSON_Parse(r.out);
    g_assert_nonnull(j);
    const cJSON *devs = cJSON_GetObjectItemCaseSensitive(j, "devices");
    GString *est = g_string_new(NULL), *est_used = g_string_new(NULL);
    for (int i = 0; i < cJSON_GetArraySize(devs); i++) {
      int n = (int)json_num(cJSON_GetArrayItem(devs, i), "n_layers");
      g_string_append_printf(est, "%s%d", i ? "," : "", n);
      /* a device without layers is not opened by the run */
      if (n > 0) g_string_append_printf(est_used, "%s%d", est_used->len ? "," : "", n);
    }
    g_assert_cmpstr(est->str, ==, cases[c].want);
    g_assert_cmpstr(est_used->str, ==, ran->str);
    cJSON_Delete(j);
    cli_result_clear(&r);
    g_string_free(est, TRUE);
    g_string_free(est_used, TRUE);
    g_string_free(ran, TRUE);
  }
  g_unlink(out);
  g_free(out);
  g_free(model);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/fit-split/bounds", test_bounds);
  g_test_add_func("/fit-split/parse", test_parse);
  g_test_add_func("/fit-split/device-list", test_device_list);
  g_test_add_func("/fit-split/per-device", test_per_device);
  g_test_add_func("/fit-split/q8-cache-on-gpu", test_q8_cache_on_gpu);
  g_test_add_func("/fit-split/overflow", test_overflow);
  g_test_add_func("/fit-split/devices-and-errors", test_devices_and_errors);
  g_test_add_func("/fit-split/only-cpu-device", test_only_cpu_device);
  g_test_add_func("/fit-split/duplicate-listing", test_duplicate_listing);
  g_test_add_func("/fit-split/cli", test_cli);
  g_test_add_func("/fit-split/matches-run", test_matches_run);
  int rc = g_test_run();
  cli_harness_cleanup();
  return rc;
}
