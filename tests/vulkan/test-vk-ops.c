/* test-vk-ops.c — the Vulkan context and every compute op against the CPU
 * result on random data (runs on lavapipe in the 'vulkan' suite).
 *
 * Matrix × vector: the reference is the dot product in double of the
 * *dequantized* weights (the CPU's scalar to_float), so the only difference
 * left is float summation order: the NMSE bound is tight (1e-9) and a wrong
 * bit in any dequant function fails it by orders of magnitude.
 */
#include "hw.h"
#include "types.h"
#include "util.h"
#include "vulkan/vk.h"
#include "vulkan/vk-internal.h"
#include "vk-coop-emulated.h"
#include "lavapipe-cache.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static still_vk *open_or_skip(const still_vk_params *p)
{
  still_error err = {0};
  still_vk *vk = NULL;
  if (still_vk_open(p, &vk, &err) != STILL_OK) {
    if (g_getenv("STILL_TEST_REQUIRE_VULKAN") || g_strcmp0(g_getenv("CI"), "true") == 0)
      g_error("no Vulkan device: %s", err.message);
    g_test_skip(err.message);
    return NULL;
  }
  return vk;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) /* uniform in [-1, 1) */
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static double nmse(const float *got, const double *want, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    double d = (double)got[i] - want[i];
    num += d * d;
    den += want[i] * want[i];
  }
  return den > 0 ? num / den : num;
}

static void test_open(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  g_test_message("device %d: %s, subgroup size %u", still_vk_device_index(vk), still_vk_device_name(vk),
                 still_vk_subgroup_size(vk));
  g_assert_cmpuint(still_vk_subgroup_size(vk), >=, 4);
  g_assert_true(still_vk_device_name(vk)[0] != '\0');
  still_vk_close(vk);

  /* a device that does not exist: a plain error, no crash */
  still_error err = {0};
  still_vk *none = NULL;
  still_vk_params bad = {.device = "no-such-gpu-xyz", .no_pipeline_cache = true};
  g_assert_cmpint(still_vk_open(&bad, &none, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_null(none);
  g_assert_nonnull(strstr(err.message, "no-such-gpu-xyz"));
  bad.device = "Vulkan57";
  g_assert_cmpint(still_vk_open(&bad, &none, &err), ==, STILL_ERR_INVALID_ARG);
  /* by index and by name */
  still_vk_params by_index = {.device = "0", .no_pipeline_cache = true};
  vk = open_or_skip(&by_index);
  g_assert_nonnull(vk);
  char name[64];
  snprintf(name, sizeof name, "%.5s", still_vk_device_name(vk));
  still_vk_close(vk);
  still_vk_params by_name = {.device = name, .no_pipeline_cache = true};
  vk = open_or_skip(&by_name);
  g_assert_nonnull(vk);
  g_assert_cmpint(still_vk_device_index(vk), ==, 0);
  still_vk_close(vk);
}

/* upload/download through mapped memory and through the staging buffer */
static void test_buffers(gconstpointer data)
{
  const bool staging = GPOINTER_TO_INT(data);
  still_vk_params p = {.force_staging = staging, .no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  still_error err = {0};
  still_vk_buffer b;
  const size_t n = 100003; /* odd size: rounded up inside */
  g_assert_cmpint(still_vk_buffer_new(vk, n, &b, &err), ==, STILL_OK);
  g_assert_true(staging ? b.map == NULL : true);
  uint8_t *src = g_malloc(n), *dst = g_malloc0(n);
  for (size_t i = 0; i < n; i++) src[i] = (uint8_t)(i * 7 + 3);
  g_assert_cmpint(still_vk_upload(vk, &b, 0, src, n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &b, 0, dst, n, &err), ==, STILL_OK);
  g_assert_cmpmem(src, n, dst, n);
  g_assert_cmpint(still_vk_download(vk, &b, 5, dst, 11, &err), ==, STILL_OK);
  g_assert_cmpmem(src + 5, 11, dst, 11);
  /* out of range: refused with a message */
  g_assert_cmpint(still_vk_upload(vk, &b, n, src, 16, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err.message, "outside"));
  still_vk_buffer_free(vk, &b);
  g_free(src);
  g_free(dst);
  still_vk_close(vk);
}

static void test_out_of_memory(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  still_error err = {0};
  still_vk_buffer b;
  /* far beyond any device: a status and a message, never a crash (a
   * device whose bindings see less than the buffer says so only for
   * buffers its memory could hold, below) */
  still_status st = still_vk_buffer_new(vk, (size_t)1 << 46, &b, &err);
  g_assert_cmpint(st, ==, STILL_ERR_NOMEM); /* what the fallback to fewer layers looks for */
  g_assert_true(err.message[0] != '\0');
  g_test_message("64 TiB buffer: %s", err.message);
  still_vk_close(vk);

  /* a device whose shaders see at most 1 MiB of a buffer (maxStorageBufferRange, set by the test hook) */
  g_setenv("STILL_VK_MAX_RANGE", "1048576", TRUE);
  vk = open_or_skip(&p);
  g_unsetenv("STILL_VK_MAX_RANGE");
  g_assert_cmpuint(still_vk_max_buffer_bytes(vk), ==, 1048576);
  g_assert_cmpint(still_vk_buffer_new(vk, (size_t)1 << 20, &b, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &b);
  err = (still_error){0};
  g_assert_cmpint(still_vk_buffer_new(vk, (size_t)2 << 20, &b, &err), ==, STILL_ERR_UNSUPPORTED);
  g_test_message("2 MiB buffer: %s", err.message);
  g_assert_nonnull(strstr(err.message, "lets a shader see at most"));
  /* larger than every memory heap: still out of memory, as the fallback to fewer layers expects */
  uint64_t heap = 0;
  for (uint32_t i = 0; i < vk->mem.memoryHeapCount; i++)
    if (vk->mem.memoryHeaps[i].size > heap) heap = vk->mem.memoryHeaps[i].size;
  err = (still_error){0};
  g_assert_cmpint(still_vk_buffer_new(vk, (size_t)(heap + heap / 2), &b, &err), ==, STILL_ERR_NOMEM);
  g_test_message("%.1f GiB buffer: %s", (double)(heap + heap / 2) / (1 << 30), err.message);
  still_vk_close(vk);
}

/* The GPU's memory read bandwidth (still_measure_gpu_bandwidth, membw.comp):
 * a buffer of the asked size, the device's name, a figure above 0 (the
 * reads' XOR matched the pattern) and not far above what the memory can
 * give: on lavapipe, which reads this machine's RAM, 8 times what the CPU
 * streams from it; on a GPU in hw.c's table, its spec sheet's figure; a
 * device that is not there: 0 and why. */
static void test_gpu_bandwidth(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const bool emulated = still_vk_cpu_emulated(vk);
  still_vk_close(vk);
  still_error err = {0};
  uint64_t used = 0;
  char name[256];
  const double gbs = still_measure_gpu_bandwidth(NULL, (uint64_t)96 << 20, &used, name, sizeof name, &err);
  uint64_t cpu_used = 0;
  const double cpu = still_measure_memory_bandwidth(0, (uint64_t)512 << 20, &cpu_used);
  g_test_message("%s: %.2f GB/s over %" G_GUINT64_FORMAT " bytes (the CPU: %.2f GB/s)", name, gbs, used, cpu);
  g_assert_cmpfloat(gbs, >, 0);
  g_assert_cmpuint(used, ==, (uint64_t)96 << 20);
  g_assert_true(name[0] != '\0');
  bool known = false;
  const double spec = still_gpu_bandwidth_gbs(name, STILL_GPU_DISCRETE, &known);
  if (emulated && cpu > 0) g_assert_cmpfloat(gbs, <, 8 * cpu);
  if (!emulated && known) g_assert_cmpfloat(gbs, <, 1.15 * spec);
  g_assert_cmpfloat(still_measure_gpu_bandwidth("nosuchgpu", 0, &used, name, sizeof name, &err), ==, 0);
  g_assert_nonnull(strstr(err.message, "no device \"nosuchgpu\""));
  g_assert_cmpuint(used, ==, 0);
}

typedef struct {
  uint32_t type;
  int ncols, nrows, n_vec;
  bool matmul; /* the tiled matrix × matrix shader instead of matrix × vector */
  bool aligned_x; /* x offset and stride multiples of 4 (the shaders' vec4 loads), as in the forward pass */
  bool w16;       /* weights at byte 16: matvec_team's 16-byte K-quant reads (the forward pass's layout) */
  int subs;       /* STILL_VK_MATVEC_SUB for this case (0: the shader's own choice) */
} matvec_case;

/* The weight types of matmul_coop.comp (the tensor-core prefill): F16 and every block type. */
static bool coop_type(uint32_t type)
{
  return type != STILL_TYPE_F32 && type != STILL_TYPE_BF16;
}

/* matmul_coop.comp multiplies float16 weights and activations with float32
 * sums. Rounding a value to float16 errs by at most 2^-11 relative (rms
 * 2^-11/sqrt(3) = 2.8e-4 for values spread over a binade); both factors
 * rounded independently give products off by ~4e-4 rms, and a sum of such
 * independent errors has an NMSE of ~(4e-4)^2 = 1.6e-7 (the F16 weights are
 * exact: ~8e-8); the shader's arithmetic emulated on lavapipe gave 3e-8 to
 * 1e-7 on these cases. The bound leaves a margin of 100; one wrong value in a
 * row of 256 already gives ~4e-3, a wrong tile far more. */
#define COOP_MAX_NMSE 1e-5

/* A matrix × vectors problem as the matvec/matmul tests build it: random
 * weights of `type` quantized from byte w_off, their dequantized values,
 * vectors at an offset with a stride (multiples of 4 when aligned_x: the
 * shaders' vec4 loads, as in the forward pass; else odd), the product in
 * double on the dequantized weights, and device buffers holding it all, y
 * filled with 1234.5 so that writes outside the results show. */
typedef struct {
  int nc, nr, nv;
  size_t y_len;
  float *wdq, *x, *y;
  uint8_t *wq;
  double *want;
  still_vk_buffer bw, bx, by;
  still_vk_matvec_args a; /* the shapes, for still_vk_matvec / _matmul */
  uint32_t xq_off, xq_stride; /* room for the vectors rounded to 8 bits in bx, after them (words) */
} mv_problem;

static void mv_problem_init(mv_problem *pb, still_vk *vk, uint32_t type, int nc, int nr, int nv, size_t w_off,
                            bool aligned_x)
{
  const still_type_traits *tt = still_type_get(type);
  g_assert_nonnull(tt);
  uint64_t row_bytes;
  g_assert_true(still_type_bytes(type, (uint64_t)nc, &row_bytes));
  pb->nc = nc, pb->nr = nr, pb->nv = nv;
  float *wf = g_new(float, (size_t)nc * nr);
  pb->wdq = g_new(float, (size_t)nc * nr);
  pb->wq = g_malloc0(w_off + row_bytes * nr);
  for (size_t i = 0; i < (size_t)nc * nr; i++) wf[i] = frand() * (1.0f + (i % 7));
  for (int r = 0; r < nr; r++) {
    tt->from_float(wf + (size_t)r * nc, pb->wq + w_off + row_bytes * r, nc);
    tt->to_float(pb->wq + w_off + row_bytes * r, pb->wdq + (size_t)r * nc, nc);
  }
  g_free(wf);
  const uint32_t x_off = aligned_x ? 4 : 3, x_stride = (uint32_t)nc + (aligned_x ? 4 : 5), y_off = 1,
                 y_stride = (uint32_t)nr + 2;
  pb->x = g_new0(float, x_off + (size_t)x_stride * nv);
  for (int v = 0; v < nv; v++)
    for (int i = 0; i < nc; i++) pb->x[x_off + (size_t)v * x_stride + i] = frand();
  pb->want = g_new(double, (size_t)nr * nv);
  for (int v = 0; v < nv; v++)
    for (int r = 0; r < nr; r++) {
      double s = 0;
      const float *wr = pb->wdq + (size_t)r * nc, *xv = pb->x + x_off + (size_t)v * x_stride;
      for (int i = 0; i < nc; i++) s += (double)wr[i] * xv[i];
      pb->want[(size_t)v * nr + r] = s;
    }

  still_error err = {0};
  pb->y_len = y_off + (size_t)y_stride * nv;
  g_assert_cmpint(still_vk_buffer_new(vk, w_off + row_bytes * nr, &pb->bw, &err), ==, STILL_OK);
  pb->xq_off = (uint32_t)((x_off + (size_t)x_stride * nv + 3) & ~(size_t)3);
  pb->xq_stride = ((still_vk_round8_words((uint32_t)nc) + 3) & ~3u) + 4; /* 4 words of gap */
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)pb->xq_off + (size_t)pb->xq_stride * nv), &pb->bx, &err), ==,
                  STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * pb->y_len, &pb->by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &pb->bw, 0, pb->wq, w_off + row_bytes * nr, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &pb->bx, 0, pb->x, 4 * (x_off + (size_t)x_stride * nv), &err), ==, STILL_OK);
  pb->y = g_new(float, pb->y_len);
  for (size_t i = 0; i < pb->y_len; i++) pb->y[i] = 1234.5f; /* gaps must stay untouched */
  g_assert_cmpint(still_vk_upload(vk, &pb->by, 0, pb->y, 4 * pb->y_len, &err), ==, STILL_OK);
  pb->a = (still_vk_matvec_args){.type = type, .ncols = (uint32_t)nc, .nrows = (uint32_t)nr, .n_vec = (uint32_t)nv,
                                 .w_off = w_off, .row_bytes = row_bytes, .x_off = x_off, .x_stride = x_stride,
                                 .y_off = y_off, .y_stride = y_stride};
}

/* The results [nv][nr] after the recorded op ran (g_free them), with the
 * first `gaps` floats after each vector's rows and the one before the first
 * checked untouched. */
static float *mv_problem_result(mv_problem *pb, still_vk *vk, int gaps)
{
  still_error err = {0};
  g_assert_cmpint(still_vk_download(vk, &pb->by, 0, pb->y, 4 * pb->y_len, &err), ==, STILL_OK);
  const int nr = pb->nr;
  float *got = g_new(float, (size_t)nr * pb->nv);
  for (int v = 0; v < pb->nv; v++) {
    const float *yv = pb->y + pb->a.y_off + (size_t)v * pb->a.y_stride;
    memcpy(got + (size_t)v * nr, yv, 4 * (size_t)nr);
    for (int k = 0; k < gaps; k++) g_assert_cmpfloat(yv[nr + k], ==, 1234.5f);
  }
  g_assert_cmpfloat(pb->y[0], ==, 1234.5f);
  return got;
}

/* matvec_dot.comp rounds the activations to 8 bits per block of 32 (scale
 * max|x| / 127, ties to even) before its integer dot products: the values
 * it multiplies, computed here the same way. */
static void round_like_dot(const float *x, int n, float *out)
{
  for (int b = 0; b < n; b += 32) {
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[b + i]));
    const float d = amax / 127.0f, id = amax > 0 ? 127.0f / amax : 0.0f;
    for (int i = 0; i < 32; i++) out[b + i] = fminf(fmaxf(nearbyintf(x[b + i] * id), -127.0f), 127.0f) * d;
  }
}

/* With rounded activations the GPU's 1 / scale may differ from the host's
 * in the last bit and round a value the other way (one value off by one
 * step of 1/127 of its block's largest); a wrong weight decode gives 1e-3
 * and more. */
#define DOT_MAX_NMSE 1e-7

/* A vector rounded on the GPU (still_vk_round8's layout: n / 4 words of
 * codes, then a scale and a sum per block of 32) against the floats it came
 * from: per block d = max|x| / 127 (a GPU division may be 2.5 ULP off), each
 * code the rounding of x · 127 / max|x| (the GPU's multiplier may differ from
 * the host's in the last bit and round a near-tie the other way: at most one
 * step, for a few values), and the sum exactly d · Σcodes of the codes as
 * written. A wrong layout or block gives codes off by many steps. */
static void check_round8(const float *x, const uint32_t *q, int n)
{
  const float *ds = (const float *)(q + n / 4);
  int off = 0;
  for (int b = 0; b < n / 32; b++) {
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = fmaxf(amax, fabsf(x[32 * b + i]));
    const float d = ds[2 * b], want_d = amax / 127.0f, id = amax > 0 ? 127.0f / amax : 0.0f;
    g_assert_cmpfloat(fabsf(d - want_d), <=, 4e-7f * want_d);
    int sum = 0;
    for (int i = 0; i < 32; i++) {
      const int v = 32 * b + i;
      const int code = (int8_t)(uint8_t)(q[v / 4] >> (8 * (v % 4)));
      const int want = (int)fminf(fmaxf(nearbyintf(x[v] * id), -127.0f), 127.0f);
      g_assert_cmpint(abs(code - want), <=, 1);
      off += code != want;
      sum += code;
    }
    g_assert_cmpfloat(ds[2 * b + 1], ==, d * (float)sum);
  }
  g_assert_cmpint(off, <=, n / 256 + 1);
}

/* Whether the op rounds the activations (matmul: only where it falls back
 * to the matrix × vector shaders, workgroups under 64 without tensor cores) */
static bool op_rounds_x(const still_vk *vk, const still_vk_matvec_args *a, bool matmul, size_t up_off)
{
  if (matmul && (still_vk_has_coopmat(vk) || vk->wg_size >= 64)) return false;
  return still_vk_matvec_rounds_x(vk, a, up_off);
}

/* the reference of a problem with rounded activations */
static void mv_problem_round_x(mv_problem *pb)
{
  float *xr = g_new(float, pb->nc);
  for (int v = 0; v < pb->nv; v++) {
    round_like_dot(pb->x + pb->a.x_off + (size_t)v * pb->a.x_stride, pb->nc, xr);
    for (int r = 0; r < pb->nr; r++) {
      double s = 0;
      const float *wr = pb->wdq + (size_t)r * pb->nc;
      for (int i = 0; i < pb->nc; i++) s += (double)wr[i] * xr[i];
      pb->want[(size_t)v * pb->nr + r] = s;
    }
  }
  g_free(xr);
}

/* y back to its marks, so that a second op on the problem shows no result of the first */
static void mv_problem_reset_y(mv_problem *pb, still_vk *vk)
{
  still_error err = {0};
  for (size_t i = 0; i < pb->y_len; i++) pb->y[i] = 1234.5f;
  g_assert_cmpint(still_vk_upload(vk, &pb->by, 0, pb->y, 4 * pb->y_len, &err), ==, STILL_OK);
}

static void mv_problem_free(mv_problem *pb, still_vk *vk)
{
  still_vk_buffer_free(vk, &pb->bw);
  still_vk_buffer_free(vk, &pb->bx);
  still_vk_buffer_free(vk, &pb->by);
  g_free(pb->wdq), g_free(pb->wq), g_free(pb->x), g_free(pb->y), g_free(pb->want);
}

static void test_matvec(gconstpointer data)
{
  const matvec_case *c = data;
  still_vk_params p = {.no_pipeline_cache = true, .force_staging = c->n_vec > 1};
  char subs[16];
  g_snprintf(subs, sizeof subs, "%d", c->subs);
  if (c->subs) g_setenv("STILL_VK_MATVEC_SUB", subs, TRUE); /* read when the context opens */
  still_vk *vk = open_or_skip(&p);
  g_unsetenv("STILL_VK_MATVEC_SUB");
  if (!vk) return;
  const int nc = c->ncols, nr = c->nrows, nv = c->n_vec;
  mv_problem pb;
  /* a non-zero weight offset is part of the test */
  mv_problem_init(&pb, vk, c->type, nc, nr, nv, c->w16 ? 16 : 8, c->aligned_x);
  still_vk_matvec_args a = pb.a;
  const bool rounded = op_rounds_x(vk, &a, c->matmul, 0);
  if (rounded) mv_problem_round_x(&pb);

  still_error err = {0};
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  if (c->matmul) g_assert_cmpint(still_vk_matmul(vk, &pb.bw, &pb.bx, &pb.by, &a, &err), ==, STILL_OK);
  else g_assert_cmpint(still_vk_matvec(vk, &pb.bw, &pb.bx, &pb.by, &a, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  float *got = mv_problem_result(&pb, vk, 1);
  double e = nmse(got, pb.want, (size_t)nr * nv);
  g_test_message("%s %s %dx%d x%d%s: NMSE %.3g", c->matmul ? "matmul" : "matvec", still_type_name(c->type), nr, nc,
                 nv, rounded ? " (8-bit activations)" : "", e);
  /* on a device with tensor cores these types go through matmul_coop.comp,
   * in float16: its bound (test_matmul_coop); STILL_VK_MATMUL=team, =wide … keep them off */
  const bool coop = c->matmul && still_vk_has_coopmat(vk) && coop_type(c->type) && still_vk_matmul_mode(vk) == 0;
  /* STILL_VK_MATMUL=wide: matmul_wide.comp made the product, for each of its types, where the
   * device has its shared memory (the rows here are all within lavapipe's loop limit for it) */
  if (c->matmul && still_vk_matmul_mode(vk) == 4 && still_vk_matmul_wide_possible(vk) && coop_type(c->type)) {
    bool made = false;
    for (int id = VK_SHADER_MATMUL_WIDE_F16; id <= VK_SHADER_MATMUL_WIDE_IQ4_NL; id++)
      made = made || vk->modules[id] != VK_NULL_HANDLE;
    g_assert_true(made);
  }
  g_assert_cmpfloat(e, <, coop ? COOP_MAX_NMSE : rounded ? DOT_MAX_NMSE : 1e-9);

  /* the same product reading the vector rounded beforehand
   * (still_vk_round8 into x's buffer, after the vectors: matvec_dot.comp
   * -DPREROUNDED), as the forward pass does with STILL_VK_DOT_PREROUND */
  if (rounded && !c->matmul && nv == 1 && nc % 32 == 0) {
    still_vk_matvec_args ar = a;
    ar.x_rounded = true, ar.xq_off = pb.xq_off;
    mv_problem_reset_y(&pb, vk);
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_round8(vk, &pb.bx, a.x_off, a.x_stride, &pb.bx, pb.xq_off, 0, (uint32_t)nc, 1, &err), ==,
                    STILL_OK);
    g_assert_cmpint(still_vk_matvec(vk, &pb.bw, &pb.bx, &pb.by, &ar, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    float *got2 = mv_problem_result(&pb, vk, 1);
    const double e2 = nmse(got2, pb.want, (size_t)nr);
    g_test_message("  rounded beforehand: NMSE %.3g", e2);
    g_assert_cmpfloat(e2, <, DOT_MAX_NMSE);
    g_free(got2);
    /* a rounded vector that ends a few words past the buffer is refused */
    ar.xq_off = pb.xq_off + pb.xq_stride * (uint32_t)nv - ((still_vk_round8_words((uint32_t)nc) + 3) & ~3u) + 4;
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_matvec(vk, &pb.bw, &pb.bx, &pb.by, &ar, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  }

  /* a batch rounded beforehand on the integer dot products
   * (STILL_VK_MATMUL=dot: still_vk_mul_mat takes matvec_dot.comp -DNVEC) */
  still_vk_matvec_args ab = a;
  ab.x_rounded = true, ab.xq_off = pb.xq_off, ab.xq_stride = pb.xq_stride;
  if (nv >= 2 && still_vk_matmul_dot(vk, &ab)) {
    mv_problem_round_x(&pb);
    mv_problem_reset_y(&pb, vk);
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_round8(vk, &pb.bx, a.x_off, a.x_stride, &pb.bx, pb.xq_off, pb.xq_stride, (uint32_t)nc,
                                    (uint32_t)nv, &err),
                    ==, STILL_OK);
    g_assert_cmpint(still_vk_mul_mat(vk, &pb.bw, &pb.bx, &pb.by, &ab, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    float *got2 = mv_problem_result(&pb, vk, 1);
    const double e2 = nmse(got2, pb.want, (size_t)nr * nv);
    g_test_message("  batch rounded beforehand: NMSE %.3g", e2);
    g_assert_cmpfloat(e2, <, DOT_MAX_NMSE);
    g_free(got2);
    /* rounded vectors past the buffer's end, or closer than a vector, are refused */
    ab.xq_off += 8; /* the last one ends 4 words past the buffer (4 words of gap between them) */
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_mul_mat(vk, &pb.bw, &pb.bx, &pb.by, &ab, &err), ==, STILL_ERR_INVALID_ARG);
    ab.xq_off -= 8, ab.xq_stride = 4;
    g_assert_cmpint(still_vk_mul_mat(vk, &pb.bw, &pb.bx, &pb.by, &ab, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  }

  /* a shape that overruns the weights is refused before recording */
  a.nrows = (uint32_t)nr + 1;
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  if (c->matmul) g_assert_cmpint(still_vk_matmul(vk, &pb.bw, &pb.bx, &pb.by, &a, &err), ==, STILL_ERR_INVALID_ARG);
  else g_assert_cmpint(still_vk_matvec(vk, &pb.bw, &pb.bx, &pb.by, &a, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);

  mv_problem_free(&pb, vk);
  g_free(got);
  still_vk_close(vk);
}

/* STILL_VK_MATMUL=wide: matmul_wide.comp makes the product (its module is made; the
 * /vk/matmul cases under that setting check its results for every type), and a device
 * without the 32 KiB of shared memory its tiles take keeps the default shaders (matmul.comp
 * for the K-quants, matmul_team.comp for blocks of 32), with the same result. */
static void test_matmul_wide(void)
{
  char *saved = g_strdup(g_getenv("STILL_VK_MATMUL"));
  g_setenv("STILL_VK_MATMUL", "wide", TRUE);
  for (int small = 0; small < 2; small++) {
    still_vk_params p = {.no_pipeline_cache = true, .force_staging = true};
    still_vk *vk = open_or_skip(&p);
    if (!vk) break;
    g_assert_cmpint(still_vk_matmul_mode(vk), ==, 4);
    if (small) vk->props.limits.maxComputeSharedMemorySize = 16384; /* Vulkan's least */
    g_assert_true(still_vk_matmul_wide_possible(vk) == !small);
    /* a K-quant (matmul.comp by default) and a block of 32 (matmul_team.comp by default) */
    static const uint32_t types[2] = {STILL_TYPE_Q6_K, STILL_TYPE_Q8_0};
    static const still_vk_shader_id wide[2] = {VK_SHADER_MATMUL_WIDE_Q6_K, VK_SHADER_MATMUL_WIDE_Q8_0};
    static const still_vk_shader_id def[2] = {VK_SHADER_MATMUL_Q6_K, VK_SHADER_MATMUL_TEAM_Q8_0};
    for (int i = 0; i < 2; i++) {
      mv_problem pb;
      /* rows and vectors past a 64 × 64 tile in both directions, activations off 4 floats */
      mv_problem_init(&pb, vk, types[i], 512, 70, 67, 8, false);
      still_error err = {0};
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_matmul(vk, &pb.bw, &pb.bx, &pb.by, &pb.a, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      float *got = mv_problem_result(&pb, vk, 1);
      const double e = nmse(got, pb.want, (size_t)70 * 67);
      g_test_message("%s, %s: NMSE %.3g", small ? "16 KiB of shared memory" : "matmul_wide.comp",
                     still_type_name(types[i]), e);
      g_assert_cmpfloat(e, <, 1e-9);
      g_assert_true((vk->modules[wide[i]] != VK_NULL_HANDLE) == !small);
      g_assert_true((vk->modules[def[i]] != VK_NULL_HANDLE) == small);
      g_free(got);
      mv_problem_free(&pb, vk);
    }
    still_vk_close(vk);
  }
  if (saved) g_setenv("STILL_VK_MATMUL", saved, TRUE);
  else g_unsetenv("STILL_VK_MATMUL");
  g_free(saved);
}

/* The memory a buffer may take (still_vk_mem_candidates): on unified memory the mapped kind,
 * then device-local, then host memory; on a discrete card device-local, then its PCI BAR, and
 * never system memory, where a layer would run slower than on the CPU (its device memory
 * full, the layer goes to the CPU: out of memory, fewer layers); staging buffers host memory. */
static void test_memory_candidates(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  const VkMemoryPropertyFlags dl = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  VkMemoryPropertyFlags f[3];
  bool m[3];
  const VkPhysicalDeviceType kind = vk->props.deviceType;
  const bool staging = vk->force_staging;
  vk->force_staging = false;
  vk->props.deviceType = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  g_assert_cmpint(still_vk_mem_candidates(vk, false, f, m), ==, 2);
  g_assert_true(f[0] == dl && !m[0] && f[1] == (dl | hv) && m[1]);
  vk->force_staging = true;
  g_assert_cmpint(still_vk_mem_candidates(vk, false, f, m), ==, 1);
  g_assert_true(f[0] == dl && !m[0]);
  g_assert_cmpint(still_vk_mem_candidates(vk, true, f, m), ==, 1);
  g_assert_true(f[0] == hv && m[0]);
  vk->force_staging = false;
  vk->props.deviceType = VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
  g_assert_cmpint(still_vk_mem_candidates(vk, false, f, m), ==, 3);
  g_assert_true(f[0] == (dl | hv) && m[0] && f[1] == dl && !m[1] && f[2] == hv && m[2]);
  vk->force_staging = true;
  g_assert_cmpint(still_vk_mem_candidates(vk, false, f, m), ==, 2);
  g_assert_true(f[0] == dl && !m[0] && f[1] == hv && !m[1]);
  vk->props.deviceType = kind, vk->force_staging = staging;
  still_vk_close(vk);
}

/* The tests above reach matvec_dot.comp only where the library says it is
 * taken (still_vk_matvec_rounds_x): check that it is, where it should be.
 * Lavapipe emulates 8-bit integer dot products: with STILL_VK_DOT=1 (the
 * suite's setting) the path must be on there. */
static void test_matvec_dot_taken(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const bool off = g_strcmp0(g_getenv("STILL_VK_DOT"), "0") == 0;
  const bool forced = g_strcmp0(g_getenv("STILL_VK_DOT"), "1") == 0;
  if (off) g_assert_false(vk->int_dot);
  else if (forced && vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU) g_assert_true(vk->int_dot);
  /* an R1-Llama-8B projection as the forward pass uploads it */
  still_vk_matvec_args a = {.type = STILL_TYPE_Q4_K, .ncols = 4096, .nrows = 64, .n_vec = 1, .w_off = 256,
                            .row_bytes = 2304, .x_stride = 4096, .y_stride = 64};
  /* settings under which the library rightly keeps matvec_team.comp (or matvec.comp) */
  const bool other = vk->matvec_generic || vk->matvec_narrow || vk->wg_size % 32 != 0 || vk->dot_wg % 32 != 0 ||
                     still_vk_dot_shared_bytes(vk, true) > vk->props.limits.maxComputeSharedMemorySize;
  if (!vk->int_dot || other) {
    g_assert_false(still_vk_matvec_rounds_x(vk, &a, 0));
    g_test_skip(off      ? "STILL_VK_DOT=0"
                : other  ? "settings that keep the float matrix-vector shaders"
                         : "no 8-bit integer dot products in hardware here (STILL_VK_DOT=1 takes them anyway)");
    still_vk_close(vk);
    return;
  }
  const bool wg_ok = true, q4k = (vk->dot_types & 1) != 0;
  g_assert_true(still_vk_matvec_rounds_x(vk, &a, 0) == q4k);
  g_assert_true(still_vk_matvec_rounds_x(vk, &a, 64 * 2304) == q4k); /* SwiGLU */
  still_vk_matvec_args b = a;
  b.n_vec = 2; /* several vectors: matvec_team.comp */
  g_assert_false(still_vk_matvec_rounds_x(vk, &b, 0));
  b = a;
  b.w_off = 260; /* rows not on 16 bytes */
  g_assert_false(still_vk_matvec_rounds_x(vk, &b, 0));
  b = a;
  b.type = STILL_TYPE_Q5_1, b.row_bytes = 3072; /* no dot shader */
  g_assert_false(still_vk_matvec_rounds_x(vk, &b, 0));
  /* the other types only where STILL_VK_DOT_TYPES names them */
  const struct {
    uint32_t type, row_bytes, bit;
  } others[] = {{STILL_TYPE_Q6_K, 3360, 2}, {STILL_TYPE_Q8_0, 4352, 4}, {STILL_TYPE_Q5_K, 2816, 8},
                {STILL_TYPE_Q4_0, 2304, 16}};
  for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
    b = a;
    b.type = others[i].type, b.row_bytes = others[i].row_bytes;
    g_assert_true(still_vk_matvec_rounds_x(vk, &b, 0) == (wg_ok && (vk->dot_types & others[i].bit) != 0));
  }
  still_vk_close(vk);
}

/* The rows per team that the tuner switches within one context (vk-tune.c): the dot
 * shaders' (a specialization constant: one pipeline per value, kept side by side) and
 * matvec_team.comp's for Q8_0/Q6_K and for the other types, each product right after each
 * switch, there and back again. */
static void test_matvec_rows_switch(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  if (!vk->int_dot || still_env_set("STILL_VK_MATVEC") || still_env_set("STILL_VK_WG_SIZE") ||
      still_env_set("STILL_VK_DOT_WG")) {
    g_test_skip("no integer dot products, or settings that keep other shaders");
    still_vk_close(vk);
    return;
  }
  static const struct {
    uint32_t type;
    int nc, nr;
    bool dot;
  } cases[] = {{STILL_TYPE_Q4_K, 1536, 67, true}, {STILL_TYPE_Q6_K, 1280, 66, true},  {STILL_TYPE_Q8_0, 544, 37, true},
               {STILL_TYPE_Q5_K, 1536, 5, true},  {STILL_TYPE_Q4_0, 544, 34, true},  {STILL_TYPE_Q6_K, 1280, 66, false},
               {STILL_TYPE_Q8_0, 544, 37, false}, {STILL_TYPE_Q3_K, 1280, 33, false}, {STILL_TYPE_Q4_K, 1536, 35, false}};
  static const uint32_t rows[] = {4, 2, 1, 4, 1, 2};
  still_error err = {0};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    vk->dot_types = cases[i].dot ? 0x1f : 0;
    mv_problem pb;
    mv_problem_init(&pb, vk, cases[i].type, cases[i].nc, cases[i].nr, 1, 16, false);
    const still_vk_matvec_args a = pb.a;
    g_assert_true(still_vk_matvec_rounds_x(vk, &a, 0) == cases[i].dot);
    if (cases[i].dot) mv_problem_round_x(&pb);
    for (size_t j = 0; j < G_N_ELEMENTS(rows); j++) {
      vk->dot_rows = vk->team_rows_wide = vk->team_rows_small = rows[j];
      g_assert_cmpuint(cases[i].dot ? still_vk_dot_rows(vk) : still_vk_team_rows(vk, cases[i].type), ==, rows[j]);
      mv_problem_reset_y(&pb, vk);
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_matvec(vk, &pb.bw, &pb.bx, &pb.by, &a, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      float *got = mv_problem_result(&pb, vk, 1);
      const double e = nmse(got, pb.want, (size_t)cases[i].nr);
      g_test_message("%s %s, %u rows a team: NMSE %.3g", still_type_name(cases[i].type),
                     cases[i].dot ? "dot" : "float", rows[j], e);
      g_assert_cmpfloat(e, <, cases[i].dot ? DOT_MAX_NMSE : 1e-9);
      g_free(got);
    }
    mv_problem_free(&pb, vk);
  }
  /* each rows value of a dot shader has its own pipeline */
  for (int v = 0; v < STILL_VK_PIPE_VARIANTS; v++) g_assert_true(vk->pipelines[VK_SHADER_MATVEC_DOT_Q4_K][v] != NULL);
  still_vk_close(vk);
}

/* Embedding lookup: every row id picked (repeats, the last row, an id out
 * of range) must equal the CPU's scalar dequantization of that row. */
static void test_get_rows(gconstpointer data)
{
  const uint32_t type = GPOINTER_TO_UINT(data);
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const still_type_traits *tt = still_type_get(type);
  g_assert_nonnull(tt);
  const int nc = 512, nr = 29, n_tok = 9;
  uint64_t row_bytes;
  g_assert_true(still_type_bytes(type, (uint64_t)nc, &row_bytes));
  const size_t w_off = 4;
  float *wf = g_new(float, (size_t)nc * nr);
  float *wdq = g_new(float, (size_t)nc * nr);
  uint8_t *wq = g_malloc0(w_off + row_bytes * nr);
  for (size_t i = 0; i < (size_t)nc * nr; i++) wf[i] = frand() * (1.0f + (i % 5));
  for (int r = 0; r < nr; r++) {
    tt->from_float(wf + (size_t)r * nc, wq + w_off + row_bytes * r, nc);
    tt->to_float(wq + w_off + row_bytes * r, wdq + (size_t)r * nc, nc);
  }
  const uint32_t ids[1 + 9] = {777, 3, 0, 28, 3, 17, 28, 1, 5, (uint32_t)nr}; /* [0] skipped by ids_off; last: out of range */
  const uint32_t y_off = 2, y_stride = (uint32_t)nc + 3;
  const size_t y_len = y_off + (size_t)y_stride * n_tok;
  still_error err = {0};
  still_vk_buffer bw, bi, by;
  g_assert_cmpint(still_vk_buffer_new(vk, w_off + row_bytes * nr, &bw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, sizeof ids, &bi, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * y_len, &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bw, 0, wq, w_off + row_bytes * nr, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bi, 0, ids, sizeof ids, &err), ==, STILL_OK);
  float *y = g_new(float, y_len);
  for (size_t i = 0; i < y_len; i++) y[i] = 1234.5f;
  g_assert_cmpint(still_vk_upload(vk, &by, 0, y, 4 * y_len, &err), ==, STILL_OK);
  still_vk_get_rows_args a = {.type = type, .ncols = (uint32_t)nc, .nrows = (uint32_t)nr, .n_tok = (uint32_t)n_tok,
                              .w_off = w_off, .row_bytes = row_bytes, .ids_off = 1, .y_off = y_off,
                              .y_stride = y_stride};
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_get_rows(vk, &bw, &bi, &by, &a, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &by, 0, y, 4 * y_len, &err), ==, STILL_OK);
  g_assert_cmpfloat(y[0], ==, 1234.5f);
  double worst = 0;
  for (int t = 0; t < n_tok; t++) {
    const float *got = y + y_off + (size_t)t * y_stride;
    g_assert_cmpfloat(got[nc], ==, 1234.5f); /* the gap after a row stays untouched */
    if (ids[1 + t] >= (uint32_t)nr) {
      for (int i = 0; i < nc; i++) g_assert_cmpfloat(got[i], ==, 0.0f);
      continue;
    }
    const float *want = wdq + (size_t)ids[1 + t] * nc;
    double num = 0, den = 0;
    for (int i = 0; i < nc; i++) {
      num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
      den += (double)want[i] * want[i];
    }
    if (num / den > worst) worst = num / den;
  }
  g_test_message("get_rows %s: worst row NMSE %.3g", tt->name, worst);
  g_assert_cmpfloat(worst, <, 1e-12); /* the same float arithmetic, up to fused multiply-adds */

  /* ids beyond the id buffer are refused before recording */
  a.ids_off = 2;
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_get_rows(vk, &bw, &bi, &by, &a, &err), ==, STILL_ERR_INVALID_ARG);
  a.ids_off = 1, a.type = STILL_TYPE_Q8_K;
  g_assert_cmpint(still_vk_get_rows(vk, &bw, &bi, &by, &a, &err), ==, STILL_ERR_UNSUPPORTED);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &bw);
  still_vk_buffer_free(vk, &bi);
  still_vk_buffer_free(vk, &by);
  g_free(wf), g_free(wdq), g_free(wq), g_free(y);
  still_vk_close(vk);
}

/* Relative speed of the two product shaders on one prefill-sized product
 * (1536 × 8960 Q4_K, 128 vectors: the FFN up matrix of a 1.5B model). Only
 * with STILL_VK_BENCH=1: timings on lavapipe say little about a GPU. */
static void bench_matmul(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  /* STILL_VK_BENCH_TYPE: another weight type than Q4_K (by its name: Q8_0, Q6_K …) */
  uint32_t type = STILL_TYPE_Q4_K;
  const char *tname = g_getenv("STILL_VK_BENCH_TYPE");
  for (uint32_t t = 0; tname && t < 64; t++)
    if (still_type_get(t) && g_ascii_strcasecmp(still_type_get(t)->name, tname) == 0) type = t;
  const uint32_t nc = 1536, nr = 8960, nv = 128;
  const still_type_traits *tt = still_type_get(type);
  uint64_t row_bytes;
  g_assert_true(still_type_bytes(type, nc, &row_bytes));
  float *row = g_new(float, nc);
  uint8_t *wq = g_malloc0(row_bytes * nr);
  for (uint32_t r = 0; r < nr; r++) {
    for (uint32_t i = 0; i < nc; i++) row[i] = frand();
    tt->from_float(row, wq + row_bytes * r, nc);
  }
  float *x = g_new(float, (size_t)nc * nv);
  for (size_t i = 0; i < (size_t)nc * nv; i++) x[i] = frand();
  still_error err = {0};
  still_vk_buffer bw, bx, by;
  g_assert_cmpint(still_vk_buffer_new(vk, row_bytes * nr, &bw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4ull * nc * nv, &bx, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4ull * nr * nv, &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bw, 0, wq, row_bytes * nr, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bx, 0, x, 4ull * nc * nv, &err), ==, STILL_OK);
  still_vk_matvec_args a = {.type = type, .ncols = nc, .nrows = nr, .n_vec = nv, .row_bytes = row_bytes,
                            .x_stride = nc, .y_stride = nr};
  double secs[2];
  for (int k = 0; k < 2; k++) {
    for (int rep = 0; rep < 2; rep++) { /* the first builds the pipeline */
      gint64 t0 = g_get_monotonic_time();
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      if (k) g_assert_cmpint(still_vk_matmul(vk, &bw, &bx, &by, &a, &err), ==, STILL_OK);
      else g_assert_cmpint(still_vk_matvec(vk, &bw, &bx, &by, &a, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      secs[k] = (g_get_monotonic_time() - t0) / 1e6;
    }
  }
  g_test_message("%s %ux%u x%u vectors: matvec %.3f s, matmul %.3f s (%.2fx)", tt->name, nr, nc, nv, secs[0],
                 secs[1], secs[0] / secs[1]);
  printf("# %s %ux%u x%u vectors: matvec %.3f s, matmul %.3f s (%.2fx)\n", tt->name, nr, nc, nv, secs[0], secs[1],
         secs[0] / secs[1]);
  still_vk_buffer_free(vk, &bw);
  still_vk_buffer_free(vk, &bx);
  still_vk_buffer_free(vk, &by);
  g_free(row), g_free(wq), g_free(x);
  still_vk_close(vk);
}

/* The tensor-core prefill (matmul_coop.comp, VK_NV_cooperative_matrix) of
 * each of its types against the double-precision product of the CPU's
 * dequantized weights: shapes across the 64 × 64 tiles (rows 37, 130, 200 and
 * 64; 8, 37, 70 and 512 vectors), steps of 64 values that end inside a row
 * (17 Q8_0/Q4_0 blocks, 202 F16 values) and rows of up to 4096 values.
 * Skipped where the device has no cooperative matrices (lavapipe), unless
 * STILL_VK_COOPMAT=emulate runs the emulated shaders (vk-ops-coop-emulated). */
typedef struct {
  uint32_t type;
  int ncols, nrows, n_vec;
  bool aligned_x; /* x offset and stride multiples of 4: the shader's vec4 loads */
} coop_case;

static void test_matmul_coop(gconstpointer data)
{
  const coop_case *c = data;
  still_vk_params p = {.no_pipeline_cache = true, .force_staging = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  /* asked for the emulated shaders (vk-coop-emulated.c.in), the test must
   * get them, in the tiles asked for: never a quiet skip */
  g_assert_cmpstr(vk_coop_emulation_wrong(vk), ==, NULL);
  if (!still_vk_has_coopmat(vk)) {
    char *why = g_strdup_printf("%s has no usable VK_NV_cooperative_matrix (or STILL_VK_COOPMAT=0)",
                                still_vk_device_name(vk));
    g_test_skip(why);
    g_free(why);
    still_vk_close(vk);
    return;
  }
  const int nc = c->ncols, nr = c->nrows, nv = c->n_vec;
  mv_problem pb;
  mv_problem_init(&pb, vk, c->type, nc, nr, nv, 12, c->aligned_x);
  still_error err = {0};
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_matmul(vk, &pb.bw, &pb.bx, &pb.by, &pb.a, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  float *got = mv_problem_result(&pb, vk, 2);
  double worst = 0; /* the largest error relative to the row's scale, for the log */
  for (size_t i = 0; i < (size_t)nr * nv; i++) {
    g_assert_true(isfinite(got[i]));
    const double d = fabs(got[i] - pb.want[i]) / sqrt((double)nc);
    if (d > worst) worst = d;
  }
  const double e = nmse(got, pb.want, (size_t)nr * nv);
  g_test_message("matmul-coop (16x%ux16, tiles %ux%u) %s %dx%d x%d%s: NMSE %.3g, worst error / sqrt(ncols) %.3g",
                 vk->coopmat_n, vk->coopmat_rows, vk->coopmat_vecs, still_type_name(c->type), nr, nc, nv,
                 c->aligned_x ? " (vec4 loads)" : "", e, worst);
  g_assert_cmpfloat(e, <, COOP_MAX_NMSE);

  mv_problem_free(&pb, vk);
  g_free(got);
  still_vk_close(vk);
}

/* still_vk_matvec_fused: y = W·x + bias, and the SwiGLU of a gate and an
 * up matrix stored in one buffer (gate rows, then up rows), against the CPU
 * on the dequantized weights. */
typedef struct {
  uint32_t type;
  int ncols, nrows, n_vec;
  bool swiglu;
} fused_case;

static void test_matvec_fused(gconstpointer data)
{
  const fused_case *c = data;
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const still_type_traits *tt = still_type_get(c->type);
  const int nc = c->ncols, nr = c->nrows, nv = c->n_vec, mats = c->swiglu ? 2 : 1;
  uint64_t row_bytes;
  g_assert_true(still_type_bytes(c->type, (uint64_t)nc, &row_bytes));
  const size_t total_rows = (size_t)nr * mats;
  float *wf = g_new(float, (size_t)nc * total_rows), *wdq = g_new(float, (size_t)nc * total_rows);
  uint8_t *wq = g_malloc0(row_bytes * total_rows);
  for (size_t i = 0; i < (size_t)nc * total_rows; i++) wf[i] = frand() * 0.2f;
  for (size_t r = 0; r < total_rows; r++) {
    tt->from_float(wf + r * nc, wq + row_bytes * r, nc);
    tt->to_float(wq + row_bytes * r, wdq + r * nc, nc);
  }
  float *x = g_new(float, (size_t)nc * nv), *b = g_new(float, nr);
  for (size_t i = 0; i < (size_t)nc * nv; i++) x[i] = frand();
  for (int r = 0; r < nr; r++) b[r] = frand();
  still_vk_matvec_args a = {.type = c->type, .ncols = (uint32_t)nc, .nrows = (uint32_t)nr, .n_vec = (uint32_t)nv,
                            .w_off = 0, .row_bytes = row_bytes, .x_off = 0, .x_stride = (uint32_t)nc,
                            .y_off = 0, .y_stride = (uint32_t)nr};
  const bool rounded = still_vk_matvec_rounds_x(vk, &a, c->swiglu ? row_bytes * (size_t)nr : 0);
  float *xr = g_new(float, (size_t)nc * nv); /* the activations the shader multiplies */
  for (int v = 0; v < nv; v++)
    if (rounded) round_like_dot(x + (size_t)v * nc, nc, xr + (size_t)v * nc);
    else memcpy(xr + (size_t)v * nc, x + (size_t)v * nc, 4 * (size_t)nc);
  double *want = g_new(double, (size_t)nr * nv);
  for (int v = 0; v < nv; v++)
    for (int r = 0; r < nr; r++) {
      double s[2] = {0, 0};
      for (int m = 0; m < mats; m++)
        for (int i = 0; i < nc; i++) s[m] += (double)wdq[((size_t)m * nr + r) * nc + i] * xr[(size_t)v * nc + i];
      want[(size_t)v * nr + r] = c->swiglu ? s[0] / (1.0 + exp(-s[0])) * s[1] : s[0] + b[r];
    }
  g_free(xr);
  still_error err = {0};
  still_vk_buffer bw, bx, by, bb;
  g_assert_cmpint(still_vk_buffer_new(vk, row_bytes * total_rows, &bw, &err), ==, STILL_OK);
  /* x, then room for one vector rounded to 8 bits */
  const uint32_t xq_off = (uint32_t)(((size_t)nc * nv + 3) & ~(size_t)3);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)xq_off + still_vk_round8_words((uint32_t)nc)), &bx, &err), ==,
                  STILL_OK);
  /* 8 marked floats after the results: nothing may be written past the last row */
  const size_t n_out = (size_t)nr * nv;
  const float marks[8] = {-7.5f, -7.5f, -7.5f, -7.5f, -7.5f, -7.5f, -7.5f, -7.5f};
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (n_out + 8), &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &by, 4 * n_out, marks, sizeof marks, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)nr, &bb, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bw, 0, wq, row_bytes * total_rows, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bx, 0, x, 4 * (size_t)nc * nv, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bb, 0, b, 4 * (size_t)nr, &err), ==, STILL_OK);
  if (!still_vk_matvec_fusable(vk, &a)) {
    g_test_skip("no fused matrix×vector on this device (workgroup under 32 threads)");
  } else {
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_matvec_fused(vk, &bw, &bx, &by, c->swiglu ? NULL : &bb,
                                          c->swiglu ? row_bytes * (size_t)nr : 0, &a, &err),
                    ==, STILL_OK);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    float *got = g_new(float, n_out + 8);
    g_assert_cmpint(still_vk_download(vk, &by, 0, got, 4 * (n_out + 8), &err), ==, STILL_OK);
    for (int i = 0; i < 8; i++) g_assert_cmpfloat(got[n_out + (size_t)i], ==, -7.5f);
    const double e = nmse(got, want, n_out);
    g_test_message("fused %s %s %dx%d x%d%s: NMSE %.3g", c->swiglu ? "swiglu" : "bias", tt->name, nr, nc, nv,
                   rounded ? " (8-bit activations)" : "", e);
    g_assert_cmpfloat(e, <, rounded ? DOT_MAX_NMSE : 1e-9);
    /* the same reading the vector rounded beforehand (still_vk_round8) */
    if (rounded && nv == 1 && nc % 32 == 0) {
      still_vk_matvec_args ar = a;
      ar.x_rounded = true, ar.xq_off = xq_off;
      for (size_t i = 0; i < n_out; i++) got[i] = 1234.5f; /* no result of the first run may stay */
      g_assert_cmpint(still_vk_upload(vk, &by, 0, got, 4 * n_out, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_round8(vk, &bx, 0, (uint32_t)nc, &bx, xq_off, 0, (uint32_t)nc, 1, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_matvec_fused(vk, &bw, &bx, &by, c->swiglu ? NULL : &bb,
                                            c->swiglu ? row_bytes * (size_t)nr : 0, &ar, &err),
                      ==, STILL_OK);
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_download(vk, &by, 0, got, 4 * (n_out + 8), &err), ==, STILL_OK);
      for (int i = 0; i < 8; i++) g_assert_cmpfloat(got[n_out + (size_t)i], ==, -7.5f);
      const double e2 = nmse(got, want, n_out);
      g_test_message("  rounded beforehand: NMSE %.3g", e2);
      g_assert_cmpfloat(e2, <, DOT_MAX_NMSE);
    }
    g_free(got);
    /* an up matrix past the buffer's end is refused */
    if (c->swiglu) {
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_matvec_fused(vk, &bw, &bx, &by, NULL, row_bytes * (size_t)nr + 16, &a, &err), ==,
                      STILL_ERR_INVALID_ARG);
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    }
  }
  still_vk_buffer_free(vk, &bw), still_vk_buffer_free(vk, &bx), still_vk_buffer_free(vk, &by);
  still_vk_buffer_free(vk, &bb);
  still_vk_close(vk);
  g_free(wf), g_free(wdq), g_free(wq), g_free(x), g_free(b), g_free(want);
}

/* ---- the residual add and RMSNorm in a product's last workgroup ---- */

typedef struct {
  uint32_t type;
  int ncols, nrows;
  bool round8; /* the normed row rounded to 8 bits too */
  bool pre;    /* the product reads its vector rounded beforehand, where it takes the dot products */
} norm_tail_case;

static const float NORM_MARK = -7.5f;

/* still_vk_matvec_norm against still_vk_matvec + still_vk_add_rms_norm on the same device and
 * against the host: the product's rows as the product alone writes them, the residual row the
 * float sum of the old one and those rows, the normed row that of the sum, its 8-bit form that
 * of the normed floats, nothing written past any range, the counters back at 0. The outputs are
 * filled with NaNs before each run (a last workgroup that merges nothing, or too early, shows),
 * and it runs three times (the counter must be set back each time for the next run to norm). */
static void test_matvec_norm(gconstpointer data)
{
  const norm_tail_case *c = data;
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const still_type_traits *tt = still_type_get(c->type);
  const int nc = c->ncols, nr = c->nrows;
  uint64_t row_bytes;
  g_assert_true(still_type_bytes(c->type, (uint64_t)nc, &row_bytes));
  uint8_t *wq = g_malloc0(row_bytes * nr);
  float *wf = g_new(float, (size_t)nc);
  for (int r = 0; r < nr; r++) {
    for (int i = 0; i < nc; i++) wf[i] = frand() * 0.2f;
    tt->from_float(wf, wq + row_bytes * r, nc);
  }
  const float eps = 1e-6f;
  float *x = g_new(float, (size_t)nc), *res0 = g_new(float, (size_t)nr + 8), *g = g_new(float, (size_t)nr + 4);
  for (int i = 0; i < nc; i++) x[i] = frand();
  /* the residual row from float 4, marks after it */
  for (int i = 0; i < nr + 8; i++) res0[i] = i < 4 || i >= nr + 4 ? NORM_MARK : frand() * 4;
  for (int i = 0; i < nr + 4; i++) g[i] = frand() + 0.5f;
  /* h: the normed row from float 4, then its 8-bit form from q_off, marks around both */
  const uint32_t q_off = (uint32_t)((4 + nr + 4 + 3) & ~3), q_words = still_vk_round8_words((uint32_t)nr);
  const size_t h_len = q_off + (size_t)q_words + 4;
  const uint32_t xq_off = (uint32_t)((nc + 3) & ~3);
  still_error err = {0};
  still_vk_buffer bw, bx, by, bres, bg, bh;
  g_assert_cmpint(still_vk_buffer_new(vk, row_bytes * nr, &bw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)xq_off + still_vk_round8_words((uint32_t)nc)), &bx, &err), ==,
                  STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)nr + 8), &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)nr + 8), &bres, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)nr + 4), &bg, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * h_len, &bh, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bw, 0, wq, row_bytes * nr, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bx, 0, x, 4 * (size_t)nc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bg, 0, g, 4 * ((size_t)nr + 4), &err), ==, STILL_OK);
  still_vk_matvec_args a = {.type = c->type, .ncols = (uint32_t)nc, .nrows = (uint32_t)nr, .n_vec = 1,
                            .w_off = 0, .row_bytes = row_bytes, .x_off = 0, .x_stride = (uint32_t)nc,
                            .y_off = 0, .y_stride = (uint32_t)nr};
  const bool pre = c->pre && still_vk_matvec_rounds_x(vk, &a, 0) && nc % 32 == 0;
  if (pre) a.x_rounded = true, a.xq_off = xq_off;
  still_vk_add_rms_norm_args n = {.n = (uint32_t)nr, .nrows = 1, .x_off = 4, .x_stride = (uint32_t)nr,
                                  .r_off = 0, .r_stride = (uint32_t)nr, .g_off = 4, .y_off = 4,
                                  .y_stride = (uint32_t)nr, .eps = eps, .round8 = c->round8, .q_off = q_off};
  if (!still_vk_matvec_norm_fits(vk, &a, &n)) {
    g_test_skip("no norm in a product's tail here (matvec.comp, or fewer than 8 bindings)");
  } else {
    float *fill = g_new(float, h_len), *y_ref = g_new(float, (size_t)nr + 8), *res_ref = g_new(float, (size_t)nr + 8);
    float *h_ref = g_new(float, h_len), *y = g_new(float, (size_t)nr + 8), *res = g_new(float, (size_t)nr + 8);
    float *h = g_new(float, h_len);
    /* the two dispatches */
    for (size_t i = 0; i < h_len; i++) fill[i] = i < (size_t)nr ? 1234.5f : NORM_MARK;
    g_assert_cmpint(still_vk_upload(vk, &by, 0, fill, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload(vk, &bres, 0, res0, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
    for (size_t i = 0; i < h_len; i++) fill[i] = NORM_MARK;
    g_assert_cmpint(still_vk_upload(vk, &bh, 0, fill, 4 * h_len, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    if (pre) g_assert_cmpint(still_vk_round8(vk, &bx, 0, (uint32_t)nc, &bx, xq_off, 0, (uint32_t)nc, 1, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_matvec(vk, &bw, &bx, &by, &a, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_add_rms_norm(vk, &bres, &by, &bg, &bh, &n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &by, 0, y_ref, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &bres, 0, res_ref, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &bh, 0, h_ref, 4 * h_len, &err), ==, STILL_OK);
    for (int run = 0; run < 3; run++) {
      /* NaNs where the op writes, marks around */
      for (size_t i = 0; i < h_len; i++) fill[i] = i < (size_t)nr ? NAN : NORM_MARK;
      g_assert_cmpint(still_vk_upload(vk, &by, 0, fill, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_upload(vk, &bres, 0, res0, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
      for (size_t i = 0; i < h_len; i++)
        fill[i] = (i >= 4 && i < 4 + (size_t)nr) || (c->round8 && i >= q_off && i < q_off + q_words) ? NAN : NORM_MARK;
      g_assert_cmpint(still_vk_upload(vk, &bh, 0, fill, 4 * h_len, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      if (pre) g_assert_cmpint(still_vk_round8(vk, &bx, 0, (uint32_t)nc, &bx, xq_off, 0, (uint32_t)nc, 1, &err), ==, STILL_OK);
      const int before = vk->n_dispatch;
      g_assert_cmpint(still_vk_matvec_norm(vk, &bw, &bx, &by, &a, &bres, &bg, &bh, &n, &err), ==, STILL_OK);
      g_assert_cmpint(vk->n_dispatch - before, ==, 1);
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_download(vk, &by, 0, y, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_download(vk, &bres, 0, res, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_download(vk, &bh, 0, h, 4 * h_len, &err), ==, STILL_OK);
      for (int i = 0; i < 8; i++) g_assert_cmpfloat(y[nr + i], ==, NORM_MARK);
      for (int i = 0; i < 4; i++) {
        g_assert_cmpfloat(res[i], ==, NORM_MARK);
        g_assert_cmpfloat(res[nr + 4 + i], ==, NORM_MARK);
      }
      for (size_t i = 0; i < h_len; i++)
        if (!((i >= 4 && i < 4 + (size_t)nr) || (c->round8 && i >= q_off && i < q_off + q_words)))
          g_assert_cmpfloat(h[i], ==, NORM_MARK);
      /* the product: as alone */
      double *want = g_new(double, (size_t)nr);
      for (int i = 0; i < nr; i++) want[i] = y_ref[i];
      const double ey = nmse(y, want, (size_t)nr);
      /* the residual: the float sum, exactly */
      double ss = 0;
      for (int i = 0; i < nr; i++) {
        g_assert_cmpfloat(res[4 + i], ==, res0[4 + i] + y[i]);
        ss += (double)res[4 + i] * res[4 + i];
      }
      /* the norm: as the host computes it from that sum, and as add_rms_norm.comp did */
      const double scale = 1.0 / sqrt(ss / nr + eps);
      for (int i = 0; i < nr; i++) want[i] = (double)res[4 + i] * scale * g[4 + i];
      const double eh = nmse(h + 4, want, (size_t)nr);
      for (int i = 0; i < nr; i++) want[i] = h_ref[4 + i];
      const double eh2 = nmse(h + 4, want, (size_t)nr);
      g_free(want);
      if (run == 0)
        g_test_message("%s %dx%d%s%s: product NMSE %.3g, norm %.3g (host) %.3g (apart)", tt->name, nr, nc,
                       pre ? " pre-rounded" : "", c->round8 ? " round8" : "", ey, eh, eh2);
      g_assert_cmpfloat(ey, <, 1e-12);
      g_assert_cmpfloat(eh, <, 1e-11);
      g_assert_cmpfloat(eh2, <, 1e-11);
      if (c->round8) check_round8(h + 4, (const uint32_t *)(h + q_off), nr);
      uint32_t counts[STILL_VK_COUNTS_BYTES / 4];
      g_assert_cmpint(still_vk_download(vk, &vk->counts, 0, counts, sizeof counts, &err), ==, STILL_OK);
      for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) g_assert_cmpuint(counts[i], ==, 0);
    }
    /* without the counters (their memory could not be had): the two dispatches, the same
     * results as they give */
    vk->counts_failed = true;
    g_assert_cmpint(still_vk_upload(vk, &bres, 0, res0, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    if (pre) g_assert_cmpint(still_vk_round8(vk, &bx, 0, (uint32_t)nc, &bx, xq_off, 0, (uint32_t)nc, 1, &err), ==, STILL_OK);
    const int before = vk->n_dispatch;
    g_assert_cmpint(still_vk_matvec_norm(vk, &bw, &bx, &by, &a, &bres, &bg, &bh, &n, &err), ==, STILL_OK);
    g_assert_cmpint(vk->n_dispatch - before, ==, 2);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    vk->counts_failed = false;
    g_assert_cmpint(still_vk_download(vk, &by, 0, y, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &bres, 0, res, 4 * ((size_t)nr + 8), &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &bh, 0, h, 4 * h_len, &err), ==, STILL_OK);
    g_assert_cmpmem(y, 4 * (size_t)nr, y_ref, 4 * (size_t)nr);
    g_assert_cmpmem(res, 4 * ((size_t)nr + 8), res_ref, 4 * ((size_t)nr + 8));
    g_assert_cmpmem(h + 4, 4 * (size_t)nr, h_ref + 4, 4 * (size_t)nr);
    if (c->round8) g_assert_cmpmem(h + q_off, 4 * (size_t)q_words, h_ref + q_off, 4 * (size_t)q_words);
    /* refused: the normed row onto the product's, the residual onto it, the 8-bit form onto
     * the normed floats; and without a weight */
    still_vk_add_rms_norm_args bad = n;
    bad.y_off = 0;
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_matvec_norm(vk, &bw, &bx, &by, &a, &bres, &bg, &by, &bad, &err), ==, STILL_ERR_INVALID_ARG);
    bad = n, bad.x_off = 4;
    g_assert_cmpint(still_vk_matvec_norm(vk, &bw, &bx, &by, &a, &by, &bg, &bh, &bad, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_cmpint(still_vk_matvec_norm(vk, &bw, &bx, &by, &a, &bres, NULL, &bh, &n, &err), ==, STILL_ERR_UNSUPPORTED);
    if (c->round8) {
      bad = n, bad.q_off = 8;
      g_assert_cmpint(still_vk_matvec_norm(vk, &bw, &bx, &by, &a, &bres, &bg, &bh, &bad, &err), ==,
                      STILL_ERR_INVALID_ARG);
    }
    /* a row past the residual buffer */
    bad = n, bad.x_off = 12;
    g_assert_cmpint(still_vk_matvec_norm(vk, &bw, &bx, &by, &a, &bres, &bg, &bh, &bad, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    g_free(fill), g_free(y_ref), g_free(res_ref), g_free(h_ref), g_free(y), g_free(res), g_free(h);
  }
  still_vk_buffer_free(vk, &bw), still_vk_buffer_free(vk, &bx), still_vk_buffer_free(vk, &by);
  still_vk_buffer_free(vk, &bres), still_vk_buffer_free(vk, &bg), still_vk_buffer_free(vk, &bh);
  still_vk_close(vk);
  g_free(wq), g_free(wf), g_free(x), g_free(res0), g_free(g);
}

/* still_vk_norm_fold_check: passes here and keeps its answer, leaves the switch as it was and the
 * counters at 0; without counters it could not run (not kept); without the bindings it fails
 * and says why. */
static void test_norm_fold_check(void)
{
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  char why[160] = "unset";
  g_assert_true(still_vk_norm_fold_possible(vk));
  g_assert_false(vk->norm_fold);
  g_assert_true(still_vk_norm_fold_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "");
  g_assert_cmpint(vk->norm_checked, ==, 1);
  g_assert_false(vk->norm_fold);
  still_error err = {0};
  uint32_t counts[STILL_VK_COUNTS_BYTES / 4];
  g_assert_cmpint(still_vk_download(vk, &vk->counts, 0, counts, sizeof counts, &err), ==, STILL_OK);
  for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) g_assert_cmpuint(counts[i], ==, 0);
  /* kept: a second call runs nothing */
  vk->norm_checked = -1;
  g_strlcpy(vk->norm_failed, "kept", sizeof vk->norm_failed);
  g_assert_false(still_vk_norm_fold_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "kept");
  still_vk_close(vk);

  vk = open_or_skip(NULL);
  g_assert_nonnull(vk);
  vk->counts_failed = true;
  g_assert_false(still_vk_norm_fold_check(vk, why, sizeof why));
  g_assert_true(g_str_has_prefix(why, "its check could not run: "));
  g_assert_cmpint(vk->norm_checked, ==, 0);
  vk->counts_failed = false;
  g_assert_true(still_vk_norm_fold_check(vk, why, sizeof why));
  still_vk_close(vk);

  g_setenv("STILL_VK_MAX_BINDINGS", "4", TRUE);
  g_setenv("STILL_VK_NORM_FOLD", "1", TRUE);
  vk = open_or_skip(NULL);
  g_unsetenv("STILL_VK_MAX_BINDINGS");
  g_unsetenv("STILL_VK_NORM_FOLD");
  g_assert_nonnull(vk);
  g_assert_true(vk->norm_fold);
  g_assert_false(still_vk_norm_fold_possible(vk));
  g_assert_false(still_vk_norm_folds(vk));
  g_assert_false(still_vk_norm_fold_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "the device allows fewer than 8 storage buffers a shader");
  still_vk_close(vk);
}

/* Types and shapes without the tail: said plainly, nothing recorded. */
static void test_matvec_norm_unsupported(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  still_error err = {0};
  still_vk_buffer b;
  g_assert_cmpint(still_vk_buffer_new(vk, 1 << 20, &b, &err), ==, STILL_OK);
  uint64_t rb;
  g_assert_true(still_type_bytes(STILL_TYPE_Q2_K, 256, &rb));
  still_vk_matvec_args a = {.type = STILL_TYPE_Q2_K, .ncols = 256, .nrows = 64, .n_vec = 1, .row_bytes = rb,
                            .x_stride = 256, .y_stride = 64};
  still_vk_add_rms_norm_args n = {.n = 64, .nrows = 1, .x_off = 0, .g_off = 0, .y_off = 0, .eps = 1e-6f};
  g_assert_false(still_vk_matvec_norm_fits(vk, &a, &n)); /* Q2_K: no such variant */
  a.type = STILL_TYPE_Q8_0;
  g_assert_true(still_type_bytes(STILL_TYPE_Q8_0, 256, &a.row_bytes));
  a.n_vec = 2;
  g_assert_false(still_vk_matvec_norm_fits(vk, &a, &n)); /* decode only */
  a.n_vec = 1, a.nrows = 62, n.n = 62;
  g_assert_false(still_vk_matvec_norm_fits(vk, &a, &n)); /* whole vec4s */
  a.nrows = 64, n.n = 64, n.round8 = true, n.q_off = 2;
  g_assert_false(still_vk_matvec_norm_fits(vk, &a, &n)); /* the 8-bit form on a word of 4 */
  n.q_off = 4;
  g_assert_true(still_vk_matvec_norm_fits(vk, &a, &n));
  n.n = 32;
  g_assert_false(still_vk_matvec_norm_fits(vk, &a, &n)); /* the norm over the product's rows */
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_matvec_norm(vk, &b, &b, &b, &a, &b, &b, &b, &n, &err), ==, STILL_ERR_UNSUPPORTED);
  g_assert_cmpint(vk->n_dispatch, ==, 0);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_nonnull(strstr(err.message, "tail"));
  still_vk_buffer_free(vk, &b);
  still_vk_close(vk);
}

/* Many contexts opened and closed in turn, as the app does when the user
 * switches models: each must open (a leak of driver objects per context
 * would make a later open fail), and use its device once. */
static void test_reopen(void)
{
  for (int i = 0; i < 40; i++) {
    still_vk_params p = {.no_pipeline_cache = true};
    still_error err = {0};
    still_vk *vk = NULL;
    if (still_vk_open(&p, &vk, &err) != STILL_OK) {
      if (i == 0) { /* no device at all: the usual skip */
        (void)open_or_skip(&p);
        return;
      }
      g_error("context %d of 40 did not open after %d that did: %s", i + 1, i, err.message);
    }
    still_vk_buffer b;
    const float one = 1.0f;
    float back = 0;
    g_assert_cmpint(still_vk_buffer_new(vk, 4096, &b, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload(vk, &b, 0, &one, 4, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &b, 0, &back, 4, &err), ==, STILL_OK);
    g_assert_cmpfloat(back, ==, 1.0f);
    still_vk_buffer_free(vk, &b);
    still_vk_close(vk);
  }
}

static void test_matvec_unsupported(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  still_error err = {0};
  still_vk_buffer b;
  g_assert_cmpint(still_vk_buffer_new(vk, 4096, &b, &err), ==, STILL_OK);
  still_vk_matvec_args a = {.type = STILL_TYPE_Q8_K, .ncols = 256, .nrows = 1, .n_vec = 1, .row_bytes = 292};
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_matvec(vk, &b, &b, &b, &a, &err), ==, STILL_ERR_UNSUPPORTED);
  g_assert_nonnull(strstr(err.message, "Q8_K"));
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &b);
  still_vk_close(vk);
}

static void test_rms_norm(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const int n = 1000, rows = 5;
  const float eps = 1e-5f;
  float *x = g_new(float, (size_t)n * rows), *g = g_new(float, n), *y = g_new(float, (size_t)n * rows * 2);
  for (int i = 0; i < n * rows; i++) x[i] = frand() * 3;
  for (int i = 0; i < n; i++) g[i] = frand();
  still_error err = {0};
  still_vk_buffer bx, bg, by;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n * rows, &bx, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &bg, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 8 * (size_t)n * rows, &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bx, 0, x, 4 * (size_t)n * rows, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bg, 0, g, 4 * (size_t)n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  /* with the weight into the first half, without into the second */
  g_assert_cmpint(still_vk_rms_norm(vk, &bx, 0, n, &bg, 0, &by, 0, n, n, rows, eps, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_rms_norm(vk, &bx, 0, n, NULL, 0, &by, n * rows, n, n, rows, eps, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &by, 0, y, 8 * (size_t)n * rows, &err), ==, STILL_OK);
  double *want = g_new(double, (size_t)n * rows * 2);
  for (int r = 0; r < rows; r++) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += (double)x[r * n + i] * x[r * n + i];
    double s = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) {
      want[r * n + i] = x[r * n + i] * s * g[i];
      want[n * rows + r * n + i] = x[r * n + i] * s;
    }
  }
  double e = nmse(y, want, (size_t)n * rows * 2);
  g_test_message("rms_norm NMSE %.3g", e);
  g_assert_cmpfloat(e, <, 1e-10);
  still_vk_buffer_free(vk, &bx), still_vk_buffer_free(vk, &bg), still_vk_buffer_free(vk, &by);
  g_free(x), g_free(g), g_free(y), g_free(want);
  still_vk_close(vk);
}

static void test_binary(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const int n = 70001, bm = 96; /* not a multiple of the workgroup size */
  float *a = g_new(float, n), *b = g_new(float, n), *y = g_new(float, 4 * (size_t)n);
  for (int i = 0; i < n; i++) a[i] = frand() * 6, b[i] = frand() * 2;
  still_error err = {0};
  still_vk_buffer ba, bb, by;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &ba, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &bb, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 16 * (size_t)n, &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &ba, 0, a, 4 * (size_t)n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bb, 0, b, 4 * (size_t)n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &ba, 0, &bb, 0, 0, &by, 0, n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_binary(vk, STILL_VK_MUL, &ba, 0, &bb, 0, 0, &by, n, n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_binary(vk, STILL_VK_SWIGLU, &ba, 0, &bb, 0, 0, &by, 2 * n, n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &ba, 0, &bb, 5, bm, &by, 3 * n, n, &err), ==, STILL_OK);
  /* in place, after the ops that read a: y = a + a reads the updated a */
  g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &ba, 0, &ba, 0, 0, &ba, 0, n, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &by, 0, y, 16 * (size_t)n, &err), ==, STILL_OK);
  double *want = g_new(double, 4 * (size_t)n);
  for (int i = 0; i < n; i++) {
    want[i] = (double)a[i] + b[i];
    want[n + i] = (double)a[i] * b[i];
    want[2 * n + i] = a[i] / (1.0 + exp(-(double)a[i])) * b[i];
    want[3 * n + i] = (double)a[i] + b[5 + i % bm];
  }
  for (int k = 0; k < 4; k++) {
    double e = nmse(y + (size_t)k * n, want + (size_t)k * n, n);
    g_test_message("binary op %d NMSE %.3g", k, e);
    g_assert_cmpfloat(e, <, 1e-12);
  }
  float *a2 = g_new(float, n);
  g_assert_cmpint(still_vk_download(vk, &ba, 0, a2, 4 * (size_t)n, &err), ==, STILL_OK);
  for (int i = 0; i < n; i++) g_assert_cmpfloat(a2[i], ==, a[i] + a[i]);
  still_vk_buffer_free(vk, &ba), still_vk_buffer_free(vk, &bb), still_vk_buffer_free(vk, &by);
  g_free(a), g_free(b), g_free(y), g_free(want), g_free(a2);
  still_vk_close(vk);
}

/* the CPU's rope (graph.c rope_token) */
static void rope_ref(float *vec, int n_heads, int head_dim, int n_rot, bool neox, const float *cs, const float *sn)
{
  const int half = n_rot / 2;
  for (int h = 0; h < n_heads; h++) {
    float *p = vec + (int64_t)h * head_dim;
    for (int i = 0; i < half; i++) {
      int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
      float x0 = p[a], x1 = p[b];
      p[a] = x0 * cs[i] - x1 * sn[i];
      p[b] = x0 * sn[i] + x1 * cs[i];
    }
  }
}

static void test_rope(gconstpointer data)
{
  const bool neox = GPOINTER_TO_INT(data);
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const int n_tok = 3, n_heads = 5, head_dim = 64, n_rot = 48, stride = n_heads * head_dim + 7, half = n_rot / 2;
  const int pos0 = 1000;
  float *x = g_new(float, (size_t)n_tok * stride), *ref = g_new(float, (size_t)n_tok * stride);
  float *tab = g_new(float, 2 * (size_t)n_tok * half);
  for (int i = 0; i < n_tok * stride; i++) x[i] = ref[i] = frand();
  for (int t = 0; t < n_tok; t++)
    for (int i = 0; i < half; i++) {
      /* rope_freqs-style factor on some pairs, as llama3 */
      double f = pow(10000.0, -2.0 * i / n_rot) / (i % 3 == 0 ? 4.0 : 1.0);
      tab[t * half + i] = (float)cos((pos0 + t) * f);
      tab[n_tok * half + t * half + i] = (float)sin((pos0 + t) * f);
    }
  for (int t = 0; t < n_tok; t++)
    rope_ref(ref + (size_t)t * stride, n_heads, head_dim, n_rot, neox, tab + t * half, tab + n_tok * half + t * half);
  still_error err = {0};
  still_vk_buffer bx, bc;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * stride, &bx, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 8 * (size_t)n_tok * half, &bc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bx, 0, x, 4 * (size_t)n_tok * stride, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bc, 0, tab, 8 * (size_t)n_tok * half, &err), ==, STILL_OK);
  still_vk_rope_args a = {.n_tok = n_tok, .n_heads = n_heads, .head_dim = head_dim, .n_rot = n_rot, .neox = neox,
                          .x_off = 0, .x_stride = stride, .cs_off = 0};
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_rope(vk, &bx, &bc, &a, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &bx, 0, x, 4 * (size_t)n_tok * stride, &err), ==, STILL_OK);
  double *want = g_new(double, (size_t)n_tok * stride);
  for (int i = 0; i < n_tok * stride; i++) want[i] = ref[i];
  double e = nmse(x, want, (size_t)n_tok * stride);
  g_test_message("rope %s NMSE %.3g", neox ? "neox" : "normal", e);
  g_assert_cmpfloat(e, <, 1e-12);
  still_vk_buffer_free(vk, &bx), still_vk_buffer_free(vk, &bc);
  g_free(x), g_free(ref), g_free(tab), g_free(want);
  still_vk_close(vk);
}

typedef struct {
  uint32_t kv_type;
  int n_tok, pos0;
  bool split;            /* still_vk_attention_split (decode) instead of still_vk_attention */
  int n_head, n_head_kv; /* 0: 6 and 2 */
  int hd_k, hd_v;        /* 0: 64 and 48 */
  bool tile_off;         /* opened with STILL_VK_ATTN_TILE=0: attention.comp for every batch */
  int ramp;              /* K rows grow along the keys (row j times 1 + ramp·j / n_kv): scores whose max
                          * moves up by more than attention_coop.comp's lazy margin from tile to tile */
  int zero;              /* 1: queries all 0, 2: keys all 0: every score 0, every row the mean of the values
                          * it sees (on a GPU that fails the random cases, says which product goes wrong) */
} att_case;

/* Whether still_vk_attention should take attention_tile.comp for this
 * batch (the tests check that the cases meant for it do go through it). */
static bool tile_expected(const still_vk *vk, uint32_t kv_type, int n_tok, int hd_k, int hd_v, bool tile_off)
{
  const int align = kv_type == STILL_TYPE_Q8_0 ? 32 : 4;
  /* the tiles take workgroups of 64, 128 or 256 threads */
  return !tile_off && vk->wg_size % 64 == 0 && vk->wg_size <= 256 && n_tok >= STILL_VK_ATTN_TILE_MIN_TOKENS &&
         hd_k % align == 0 && hd_v % align == 0 && hd_k <= 256 && hd_v <= 256;
}

/* Whether it should take attention_coop.comp (the tensor cores; emulated on lavapipe with
 * STILL_VK_COOPMAT=emulate) instead, asked for with STILL_VK_ATTN_COOP=1: over F16 and Q8_0
 * caches, head dims multiples of 16 up to 128; emulated, not over the 16000 keys of the long
 * cases (past lavapipe's loop limit for it: the tiles are asked instead). */
static bool coop_expected(const still_vk *vk, uint32_t kv_type, int n_tok, int pos0, int hd_k, int hd_v,
                          bool tile_off)
{
  const char *env = g_getenv("STILL_VK_ATTN_COOP");
  const bool asked = env && (strcmp(env, "1") == 0 || strcmp(env, "2") == 0);
  return tile_expected(vk, kv_type, n_tok, hd_k, hd_v, tile_off) && kv_type != STILL_TYPE_F32 && asked &&
         still_vk_has_coopmat(vk) && vk->coopmat_n == 16 && hd_k % 16 == 0 &&
         hd_v % 16 == 0 && hd_k <= 128 && hd_v <= 128 &&
         !(vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU && pos0 + n_tok > 8000);
}

/* The bound on the attention's NMSE against the exact sums: float rounding, or on the
 * tensor cores float16 queries, keys, values and weights (measured: up to 4e-8 on lavapipe) */
static double attention_bound(bool coop) { return coop ? 2e-6 : 1e-10; }

static float round_f16(float v) { return still_fp16_to_fp32(still_fp32_to_fp16(v)); }

/* Causal attention with GQA in double precision (want: zeroed, n_tok × n_head × hd_v): q
 * [t][n_head][hd_k], k [j][n_head_kv][hd_k], v [j][n_head_kv][hd_v]; half_q: the scaled
 * queries rounded to float16 first, as the tensor cores take them. */
static void attention_reference(const float *q, const float *k, const float *v, double *want, int n_tok, int pos0,
                                int n_head, int n_head_kv, int hd_k, int hd_v, float scale, bool half_q)
{
  const int kw = n_head_kv * hd_k, vw = n_head_kv * hd_v, qw = n_head * hd_k, ow = n_head * hd_v;
  double *sc = g_new(double, pos0 + n_tok);
  for (int t = 0; t < n_tok; t++)
    for (int h = 0; h < n_head; h++) {
      const int kvh = h / (n_head / n_head_kv), nk = pos0 + t + 1;
      double mx = -INFINITY, sum = 0;
      for (int j = 0; j < nk; j++) {
        double s = 0;
        for (int d = 0; d < hd_k; d++) {
          const float qd = q[(size_t)t * qw + h * hd_k + d];
          s += (half_q ? round_f16(qd * scale) : (double)qd * scale) * k[(size_t)j * kw + kvh * hd_k + d];
        }
        sc[j] = s;
        if (sc[j] > mx) mx = sc[j];
      }
      for (int j = 0; j < nk; j++) sum += (sc[j] = exp(sc[j] - mx));
      for (int j = 0; j < nk; j++)
        for (int d = 0; d < hd_v; d++)
          want[(size_t)t * ow + h * hd_v + d] += sc[j] / sum * v[(size_t)j * vw + kvh * hd_v + d];
    }
  g_free(sc);
}

/* The split attention again with the merge rounding its output to 8 bits
 * (a->round8), into a buffer that keeps the floats first and the rounded
 * rows after them (as the forward pass's att): the floats those of the run
 * without rounding (o) within float rounding (another build of the merge),
 * each token's row rounded exactly as quantize_q8.comp rounds the same
 * floats (and as the host does, within a step), the words between rows
 * untouched; shapes it cannot round refused. */
static void check_split_round8(still_vk *vk, const still_vk_buffer *bq, const still_vk_buffer *bk,
                               const still_vk_buffer *bv, still_vk_buffer *bpart, const still_vk_attention_args *a,
                               const float *o)
{
  const uint32_t n_tok = a->n_tok, ow = a->n_head * a->head_dim_v, words = still_vk_round8_words(ow);
  const uint32_t r8_stride = ((words + 3) & ~3u) + 4, r8_off = ((n_tok * ow + 3) & ~3u) + 8;
  const size_t len = r8_off + (size_t)r8_stride * n_tok;
  uint32_t *got = g_new(uint32_t, len);
  for (size_t i = 0; i < len; i++) got[i] = 0xdeadbeefu;
  still_error err = {0};
  still_vk_buffer br;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * len, &br, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &br, 0, got, 4 * len, &err), ==, STILL_OK);
  still_vk_attention_args ra = *a;
  ra.round8 = true, ra.r8_off = r8_off, ra.r8_stride = r8_stride;
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  if (!still_vk_attention_split_rounds(vk, a)) {
    g_assert_cmpuint(a->head_dim_v % 32, !=, 0);
    g_assert_cmpint(still_vk_attention_split(vk, bq, bk, bv, bpart, &br, &ra, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    still_vk_buffer_free(vk, &br);
    g_free(got);
    return;
  }
  g_assert_cmpint(still_vk_attention_split(vk, bq, bk, bv, bpart, &br, &ra, &err), ==, STILL_OK);
  /* quantize_q8.comp's rounding of the same floats, into a buffer of its own */
  still_vk_buffer bw;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)r8_stride * n_tok, &bw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_round8(vk, &br, 0, ow, &bw, 0, r8_stride, ow, n_tok, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &br, 0, got, 4 * len, &err), ==, STILL_OK);
  uint32_t *want = g_new(uint32_t, (size_t)r8_stride * n_tok);
  g_assert_cmpint(still_vk_download(vk, &bw, 0, want, 4 * (size_t)r8_stride * n_tok, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &bw);
  float *got_f = g_new(float, (size_t)n_tok * ow);
  memcpy(got_f, got, 4 * (size_t)n_tok * ow);
  double *o_d = g_new(double, (size_t)n_tok * ow);
  for (size_t i = 0; i < (size_t)n_tok * ow; i++) o_d[i] = o[i];
  g_assert_cmpfloat(nmse(got_f, o_d, (size_t)n_tok * ow), <, 1e-12);
  g_free(o_d);
  for (uint32_t i = n_tok * ow; i < r8_off; i++) g_assert_cmphex(got[i], ==, 0xdeadbeefu);
  for (uint32_t t = 0; t < n_tok; t++) {
    const uint32_t *row = got + r8_off + (size_t)t * r8_stride;
    g_assert_cmpint(memcmp(row, want + (size_t)t * r8_stride, 4 * (size_t)words), ==, 0);
    check_round8(got_f + (size_t)t * ow, row, (int)ow);
    for (uint32_t i = words; i < r8_stride; i++) g_assert_cmphex(row[i], ==, 0xdeadbeefu);
  }
  g_free(want), g_free(got_f);
  g_test_message("split attention: the merge's rounded output, %u tokens of %u values: ok", n_tok, ow);

  /* refused: a misplaced row, rows onto the floats, rows past the end, rows
   * too close, the unsplit attention asked to round */
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  still_vk_attention_args bad = ra;
  bad.r8_off = r8_off + 2;
  g_assert_cmpint(still_vk_attention_split(vk, bq, bk, bv, bpart, &br, &bad, &err), ==, STILL_ERR_INVALID_ARG);
  bad.r8_off = (n_tok * ow - 1) & ~3u;
  g_assert_cmpint(still_vk_attention_split(vk, bq, bk, bv, bpart, &br, &bad, &err), ==, STILL_ERR_INVALID_ARG);
  bad.r8_off = r8_off + r8_stride;
  g_assert_cmpint(still_vk_attention_split(vk, bq, bk, bv, bpart, &br, &bad, &err), ==, STILL_ERR_INVALID_ARG);
  if (n_tok > 1) {
    bad = ra;
    bad.r8_stride = words - 4;
    g_assert_cmpint(still_vk_attention_split(vk, bq, bk, bv, bpart, &br, &bad, &err), ==, STILL_ERR_INVALID_ARG);
  }
  g_assert_cmpint(still_vk_attention(vk, bq, bk, bv, &br, &ra, &err), ==, STILL_ERR_UNSUPPORTED);
  /* (and, rounding or not, an output onto the scratch of the chunks) */
  g_assert_cmpint(still_vk_attention_split(vk, bq, bk, bv, bpart, bpart, a, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpstr(err.message, ==, "Vulkan: attention output onto its scratch");
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &br);
  g_free(got);
}

/* Attention with GQA over a cache filled through kv_store, against softmax in double. */
static void test_attention(gconstpointer data)
{
  const att_case *c = data;
  still_vk_params p = {.no_pipeline_cache = true};
  if (c->tile_off) g_setenv("STILL_VK_ATTN_TILE", "0", TRUE);
  still_vk *vk = open_or_skip(&p);
  if (c->tile_off) g_unsetenv("STILL_VK_ATTN_TILE");
  if (!vk) return;
  const bool f16 = c->kv_type == STILL_TYPE_F16;
  const int n_head = c->n_head ? c->n_head : 6, n_head_kv = c->n_head_kv ? c->n_head_kv : 2;
  const int hd_k = c->hd_k ? c->hd_k : 64, hd_v = c->hd_v ? c->hd_v : 48, n_tok = c->n_tok, pos0 = c->pos0;
  const int n_kv = pos0 + n_tok, kw = n_head_kv * hd_k, vw = n_head_kv * hd_v, qw = n_head * hd_k, ow = n_head * hd_v;
  const uint32_t layer_off = 64; /* the cache of "layer 1" starts after some other data */
  float *q = g_new(float, (size_t)n_tok * qw), *k = g_new(float, (size_t)n_kv * kw), *v = g_new(float, (size_t)n_kv * vw);
  for (size_t i = 0; i < (size_t)n_tok * qw; i++) q[i] = c->zero == 1 ? 0.0f : frand() * 2;
  for (size_t i = 0; i < (size_t)n_kv * kw; i++)
    k[i] = c->zero == 2 ? 0.0f : frand() * 2 * (1 + (float)c->ramp * (float)(i / kw) / n_kv);
  for (size_t i = 0; i < (size_t)n_kv * vw; i++) v[i] = frand();
  const float scale = 1.0f / sqrtf((float)hd_k);

  still_error err = {0};
  still_vk_buffer bq, bk, bv, bo, bsrc;
  const size_t es = f16 ? 2 : 4;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * qw, &bq, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, es * (layer_off + (size_t)n_kv * kw), &bk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, es * (layer_off + (size_t)n_kv * vw), &bv, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * ow, &bo, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)n_kv * (kw + vw)), &bsrc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bq, 0, q, 4 * (size_t)n_tok * qw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bsrc, 0, k, 4 * (size_t)n_kv * kw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bsrc, 4 * (size_t)n_kv * kw, v, 4 * (size_t)n_kv * vw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_kv_store(vk, c->kv_type, &bsrc, 0, &bk, layer_off, n_kv * kw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_kv_store(vk, c->kv_type, &bsrc, n_kv * kw, &bv, layer_off, n_kv * vw, &err), ==, STILL_OK);
  still_vk_attention_args a = {.kv_type = c->kv_type, .n_tok = n_tok, .n_head = n_head, .n_head_kv = n_head_kv,
                               .head_dim_k = hd_k, .head_dim_v = hd_v, .pos0 = pos0, .q_off = 0, .q_stride = qw,
                               .k_off = layer_off, .v_off = layer_off, .o_off = 0, .o_stride = ow, .scale = scale};
  still_vk_buffer bpart = {0};
  /* workgroups wider than the GPUs' 128 (STILL_VK_WG_SIZE=256) leave too
   * little scratch for the split: the forward pass then falls back to
   * still_vk_attention, and so does this test */
  const bool split = c->split && (vk->wg_size <= 128 || still_vk_attention_split_ok(vk, &a));
  if (split) {
    g_assert_true(still_vk_attention_split_ok(vk, &a));
    const uint64_t pf = still_vk_attention_part_floats(vk, n_tok, n_head, hd_v, n_kv);
    g_assert_cmpint(still_vk_buffer_new(vk, 4 * pf, &bpart, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_attention_split(vk, &bq, &bk, &bv, &bpart, &bo, &a, &err), ==, STILL_OK);
  } else {
    g_assert_cmpint(still_vk_attention_tile_ok(vk, &a), ==,
                    tile_expected(vk, c->kv_type, n_tok, hd_k, hd_v, c->tile_off));
    g_assert_cmpint(still_vk_attention_coop_ok(vk, &a), ==,
                    coop_expected(vk, c->kv_type, n_tok, pos0, hd_k, hd_v, c->tile_off));
    if (still_vk_attention_loops_cut(vk, &a)) {
      /* lavapipe over a long context: refused in plain words rather than cut short */
      g_assert_cmpint(vk->props.deviceType, ==, VK_PHYSICAL_DEVICE_TYPE_CPU);
      g_assert_cmpint(still_vk_attention(vk, &bq, &bk, &bv, &bo, &a, &err), ==, STILL_ERR_BACKEND);
      g_test_message("%s", err.message);
      g_assert_nonnull(strstr(err.message, "65535"));
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      still_vk_buffer_free(vk, &bq), still_vk_buffer_free(vk, &bk), still_vk_buffer_free(vk, &bv);
      still_vk_buffer_free(vk, &bo), still_vk_buffer_free(vk, &bsrc);
      g_free(q), g_free(k), g_free(v);
      still_vk_close(vk);
      return;
    }
    g_assert_cmpint(still_vk_attention(vk, &bq, &bk, &bv, &bo, &a, &err), ==, STILL_OK);
  }
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  float *o = g_new(float, (size_t)n_tok * ow);
  g_assert_cmpint(still_vk_download(vk, &bo, 0, o, 4 * (size_t)n_tok * ow, &err), ==, STILL_OK);

  /* the exact sums of what the shaders read: the cache's values (F16: rounded), and on the
   * tensor cores the scaled queries and every K and V value as float16 */
  const bool coop = !split && still_vk_attention_coop_ok(vk, &a);
  if (coop) {
    /* the design asked for ran, not the other (STILL_VK_ATTN_COOP=2: only the scores on them) */
    const bool lanes = g_strcmp0(g_getenv("STILL_VK_ATTN_COOP"), "2") == 0;
    g_assert_cmpint(vk->attn_coop, ==, lanes ? 2 : 1);
    const still_vk_shader_id first = VK_SHADER_ATTENTION_COOP_F16, second = VK_SHADER_ATTENTION_COOP_LANES_F16;
    g_assert_true(vk->modules[lanes ? second : first] != VK_NULL_HANDLE);
    g_assert_true(vk->modules[lanes ? first : second] == VK_NULL_HANDLE);
  }
  for (size_t i = 0; i < (size_t)n_kv * kw; i++) k[i] = f16 || coop ? round_f16(k[i]) : k[i];
  for (size_t i = 0; i < (size_t)n_kv * vw; i++) v[i] = f16 || coop ? round_f16(v[i]) : v[i];
  double *want = g_new0(double, (size_t)n_tok * ow);
  attention_reference(q, k, v, want, n_tok, pos0, n_head, n_head_kv, hd_k, hd_v, scale, coop);
  double e = nmse(o, want, (size_t)n_tok * ow);
  g_test_message("attention%s %s n_tok %d pos0 %d heads %d/%d dims %d/%d%s NMSE %.3g", split ? " (split)" : "",
                 f16 ? "F16" : "F32", n_tok, pos0, n_head, n_head_kv, hd_k, hd_v,
                 coop ? " (tensor cores)" : !split && still_vk_attention_tile_ok(vk, &a) ? " (tiled)" : "", e);
  g_assert_cmpfloat(e, <, attention_bound(coop));
  if (split) check_split_round8(vk, &bq, &bk, &bv, &bpart, &a, o);

  /* a query that would read past the cache is refused */
  a.pos0 = pos0 + 1;
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  if (split)
    g_assert_cmpint(still_vk_attention_split(vk, &bq, &bk, &bv, &bpart, &bo, &a, &err), ==, STILL_ERR_INVALID_ARG);
  else
    g_assert_cmpint(still_vk_attention(vk, &bq, &bk, &bv, &bo, &a, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  if (split) still_vk_buffer_free(vk, &bpart);
  still_vk_buffer_free(vk, &bq), still_vk_buffer_free(vk, &bk), still_vk_buffer_free(vk, &bv);
  still_vk_buffer_free(vk, &bo), still_vk_buffer_free(vk, &bsrc);
  g_free(q), g_free(k), g_free(v), g_free(o), g_free(want);
  still_vk_close(vk);
}

/* ---- the Q8_0 KV cache -------------------------------------------------------------- */

/* Values whose Q8_0 codes and scales sit near rounding boundaries: blocks
 * of mixed magnitudes, exact halves of the code step, zeros, ±amax ties. */
static void q8_test_values(float *x, int n_blocks)
{
  for (int b = 0; b < n_blocks; b++) {
    float *v = x + 32 * b;
    const float mag = powf(10.0f, 4.0f * frand()); /* 1e-4 … 1e4 */
    for (int j = 0; j < 32; j++) v[j] = frand() * mag;
    switch (b % 6) {
    case 1: /* codes exactly halfway: amax 127, values k + 0.5 */
      v[0] = 127.0f;
      for (int j = 1; j < 32; j++) v[j] = (float)((int)(frand() * 120)) + 0.5f;
      break;
    case 2: memset(v, 0, 32 * sizeof *v); break; /* an all-zero block: scale 0 */
    case 3: v[5] = 3.0f * mag, v[9] = -3.0f * mag; break; /* the same |amax| twice, opposite signs */
    case 4: /* a scale amax/127 just around an fp16 rounding point */
      v[7] = 127.0f * (1.0f + (1.0f + 2.0f * (float)(b % 5)) / 2048.0f) * mag;
      break;
    default: break;
    }
  }
}

/* kv_store into a Q8_0 cache: the same bytes as the CPU quantizer
 * (engine/quants), and blocks outside the stored range keep their bytes
 * (the shader rewrites whole pairs of blocks). */
static void test_kv_store_q8_0(void)
{
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  const still_type_traits *tq = still_type_get(STILL_TYPE_Q8_0);
  enum { NB = 601 }; /* odd: the last pair is half used */
  float *a = g_new(float, 32 * NB), *b = g_new(float, 32 * NB);
  q8_test_values(a, NB);
  q8_test_values(b, NB);
  unsigned char *want = g_malloc(34 * NB), *got = g_malloc(34 * NB), *wb = g_malloc(34 * NB);
  tq->from_float(a, want, 32 * NB);
  tq->from_float(b, wb, 32 * NB);

  still_error err = {0};
  still_vk_buffer src, cache;
  const uint64_t cache_bytes = still_vk_kv_cache_bytes(STILL_TYPE_Q8_0, 32 * NB);
  g_assert_cmpuint(cache_bytes, >=, 34 * NB);
  g_assert_cmpuint(cache_bytes % 4, ==, 0);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * 32 * NB * 2, &src, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, cache_bytes, &cache, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &src, 0, a, 4 * 32 * NB, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &src, 4 * 32 * NB, b, 4 * 32 * NB, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &src, 0, &cache, 0, 32 * NB, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &cache, 0, got, 34 * NB, &err), ==, STILL_OK);
  int bad = 0;
  for (int i = 0; i < 34 * NB; i++)
    if (got[i] != want[i] && bad++ < 5) g_test_message("block %d byte %d: %02x, the CPU %02x", i / 34, i % 34, got[i], want[i]);
  g_assert_cmpint(bad, ==, 0);

  /* ranges that start and end inside a pair (odd first block, odd count),
   * and on pair boundaries; source offsets inside the second array */
  static const int ranges[][2] = {{7, 20}, {8, 13}, {1, 1}, {600, 1}, {0, 3}, {4, 4}};
  for (size_t r = 0; r < G_N_ELEMENTS(ranges); r++) {
    const int b0 = ranges[r][0], nb = ranges[r][1];
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &src, 32 * NB + 32 * b0, &cache, 32 * b0, 32 * nb, &err),
                    ==, STILL_OK);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    memcpy(want + 34 * b0, wb + 34 * b0, 34 * (size_t)nb);
    g_assert_cmpint(still_vk_download(vk, &cache, 0, got, 34 * NB, &err), ==, STILL_OK);
    g_assert_cmpmem(got, 34 * NB, want, 34 * NB);
  }
  /* refused: not whole blocks, past the cache */
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &src, 0, &cache, 16, 32, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &src, 0, &cache, 0, 48, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &src, 0, &cache, 32 * 601, 64, &err), ==,
                  STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &src), still_vk_buffer_free(vk, &cache);
  g_free(a), g_free(b), g_free(want), g_free(got), g_free(wb);
  still_vk_close(vk);
}

/* rope_store.comp against the CPU: q normed (per head, with its weight)
 * and roped in place; k normed, roped and stored, v stored, at positions
 * pos0.. of F32 / F16 / Q8_0 caches; rows outside the batch untouched.
 * data: {kv_type, n_tok, pos0, head_dim, norm, neox, packed}; packed: q, k
 * and v side by side in one buffer (the layout of the fused q/k/v product). */
typedef struct {
  uint32_t kv_type;
  int n_tok, pos0, head_dim, norm, neox, packed;
} rope_store_case;

static void rms_ref(float *x, int n, const float *g, float eps)
{
  double ss = 0;
  for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
  const float scale = (float)(1.0 / sqrt(ss / n + eps));
  for (int i = 0; i < n; i++) x[i] = x[i] * scale * g[i];
}

/* cache values of row r (n_values each) as floats */
static void cache_row(uint32_t kv_type, const unsigned char *c, int r, int n, float *out)
{
  if (kv_type == STILL_TYPE_F32) memcpy(out, c + (size_t)r * n * 4, (size_t)n * 4);
  else if (kv_type == STILL_TYPE_F16)
    for (int i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, c + ((size_t)r * n + i) * 2, 2);
      out[i] = still_fp16_to_fp32(h);
    }
  else still_type_get(STILL_TYPE_Q8_0)->to_float(c + (size_t)r * n / 32 * 34, out, n);
}

static void test_rope_store(gconstpointer data)
{
  const rope_store_case *c = data;
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  const int n_tok = c->n_tok, pos0 = c->pos0, hd = c->head_dim, n_head = 6, n_kv = 2, n_rot = hd - 16;
  const int half = n_rot / 2, n_q = n_head * hd, n_k = n_kv * hd, n_ctx = pos0 + n_tok + 3;
  const int q_stride = c->packed ? n_q + 2 * n_k : n_q, k_stride = c->packed ? q_stride : n_k;
  const int k_base = c->packed ? n_q : 0, v_base = c->packed ? n_q + n_k : 0;
  const float eps = 1e-6f;
  float *q = g_new(float, (size_t)n_tok * q_stride), *k = g_new(float, (size_t)n_tok * k_stride);
  float *v = g_new(float, (size_t)n_tok * k_stride);
  float *tab = g_new(float, 2 * (size_t)n_tok * half), *qn = g_new(float, hd), *kn = g_new(float, hd);
  float *qa = c->packed ? q : NULL; /* packed: k and v live in q's rows */
  for (int i = 0; i < n_tok * q_stride; i++) q[i] = 3 * frand();
  for (int i = 0; i < n_tok * k_stride; i++) k[i] = 3 * frand(), v[i] = 3 * frand();
  for (int i = 0; i < hd; i++) qn[i] = 1 + 0.5f * frand(), kn[i] = 1 + 0.5f * frand();
  for (int t = 0; t < n_tok; t++)
    for (int i = 0; i < half; i++) {
      double f = pow(10000.0, -2.0 * i / n_rot);
      tab[t * half + i] = (float)cos((pos0 + t) * f);
      tab[n_tok * half + t * half + i] = (float)sin((pos0 + t) * f);
    }
  /* the CPU: reference q, k and v rows */
  float *rq = g_new(float, (size_t)n_tok * n_q), *rk = g_new(float, (size_t)n_tok * n_k);
  float *rv = g_new(float, (size_t)n_tok * n_k);
  for (int t = 0; t < n_tok; t++) {
    const float *sq = (qa ? qa : q) + (size_t)t * q_stride;
    const float *sk = (qa ? qa + k_base : k) + (size_t)t * k_stride, *sv = (qa ? qa + v_base : v) + (size_t)t * k_stride;
    memcpy(rq + (size_t)t * n_q, sq, 4 * (size_t)n_q);
    memcpy(rk + (size_t)t * n_k, sk, 4 * (size_t)n_k);
    memcpy(rv + (size_t)t * n_k, sv, 4 * (size_t)n_k);
    if (c->norm) {
      for (int h = 0; h < n_head; h++) rms_ref(rq + (size_t)t * n_q + h * hd, hd, qn, eps);
      for (int h = 0; h < n_kv; h++) rms_ref(rk + (size_t)t * n_k + h * hd, hd, kn, eps);
    }
    rope_ref(rq + (size_t)t * n_q, n_head, hd, n_rot, c->neox, tab + t * half, tab + n_tok * half + t * half);
    rope_ref(rk + (size_t)t * n_k, n_kv, hd, n_rot, c->neox, tab + t * half, tab + n_tok * half + t * half);
  }

  still_error err = {0};
  still_vk_buffer bq, bk, bv, bc, bkc, bvc, bqn, bkn;
  const size_t cache_bytes = (size_t)still_vk_kv_cache_bytes(c->kv_type, (uint64_t)n_ctx * n_k);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * q_stride, &bq, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * k_stride, &bk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * k_stride, &bv, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 8 * (size_t)n_tok * half, &bc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, cache_bytes, &bkc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, cache_bytes, &bvc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)hd, &bqn, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)hd, &bkn, &err), ==, STILL_OK);
  unsigned char *fill = g_malloc(cache_bytes), *got_k = g_malloc(cache_bytes), *got_v = g_malloc(cache_bytes);
  memset(fill, 0x5a, cache_bytes);
  g_assert_cmpint(still_vk_upload(vk, &bq, 0, q, 4 * (size_t)n_tok * q_stride, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bk, 0, k, 4 * (size_t)n_tok * k_stride, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bv, 0, v, 4 * (size_t)n_tok * k_stride, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bc, 0, tab, 8 * (size_t)n_tok * half, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bkc, 0, fill, cache_bytes, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bvc, 0, fill, cache_bytes, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bqn, 0, qn, 4 * (size_t)hd, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bkn, 0, kn, 4 * (size_t)hd, &err), ==, STILL_OK);

  still_vk_rope_store_args a = {.kv_type = c->kv_type, .n_tok = n_tok, .n_head = n_head, .n_head_kv = n_kv,
                                .head_dim_k = hd, .head_dim_v = hd, .n_rot = n_rot, .neox = c->neox, .eps = eps,
                                .q_off = 0, .q_stride = q_stride, .k_off = k_base, .k_stride = k_stride,
                                .v_off = v_base, .v_stride = k_stride, .cs_off = 0,
                                .kc_off = (uint32_t)(pos0 * n_k), .vc_off = (uint32_t)(pos0 * n_k)};
  g_assert_true(still_vk_rope_store_ok(vk, &a));
  still_vk_buffer *kb = c->packed ? &bq : &bk, *vb = c->packed ? &bq : &bv;
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_rope_store(vk, &bq, kb, vb, &bc, &bkc, &bvc, c->norm ? &bqn : NULL, c->norm ? &bkn : NULL,
                                      &a, &err),
                  ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  float *gq = g_new(float, (size_t)n_tok * q_stride);
  g_assert_cmpint(still_vk_download(vk, &bq, 0, gq, 4 * (size_t)n_tok * q_stride, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &bkc, 0, got_k, cache_bytes, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &bvc, 0, got_v, cache_bytes, &err), ==, STILL_OK);

  /* q in place (and, packed, the k and v parts of its rows untouched) */
  float *row = g_new(float, n_k);
  double *want = g_new(double, (size_t)n_tok * n_q);
  float *gotq = g_new(float, (size_t)n_tok * n_q);
  for (int t = 0; t < n_tok; t++)
    for (int i = 0; i < n_q; i++) want[(size_t)t * n_q + i] = rq[(size_t)t * n_q + i], gotq[(size_t)t * n_q + i] = gq[(size_t)t * q_stride + i];
  const double eq = nmse(gotq, want, (size_t)n_tok * n_q);
  if (c->packed)
    for (int t = 0; t < n_tok; t++)
      g_assert_cmpmem(gq + (size_t)t * q_stride + n_q, 8 * n_k, q + (size_t)t * q_stride + n_q, 8 * n_k);
  /* the cache rows: K against the CPU's values (within the type's rounding), V exact */
  const int fill_rows[] = {0, pos0 - 1, pos0 + n_tok, n_ctx - 1};
  /* bytes of a cache row */
  const size_t rb =
    c->kv_type == STILL_TYPE_Q8_0 ? (size_t)n_k / 32 * 34 : (size_t)n_k * (c->kv_type == STILL_TYPE_F32 ? 4 : 2);
  double num = 0, den = 0;
  for (int t = 0; t < n_tok; t++) {
    cache_row(c->kv_type, got_k, pos0 + t, n_k, row);
    for (int i = 0; i < n_k; i++) {
      double d = row[i] - rk[(size_t)t * n_k + i];
      num += d * d, den += (double)rk[(size_t)t * n_k + i] * rk[(size_t)t * n_k + i];
    }
    unsigned char *wv = g_malloc(cache_bytes);
    if (c->kv_type == STILL_TYPE_F32) memcpy(wv, rv + (size_t)t * n_k, rb);
    else if (c->kv_type == STILL_TYPE_F16)
      for (int i = 0; i < n_k; i++) {
        uint16_t h = still_fp32_to_fp16(rv[(size_t)t * n_k + i]);
        memcpy(wv + 2 * i, &h, 2);
      }
    else still_type_get(STILL_TYPE_Q8_0)->from_float(rv + (size_t)t * n_k, wv, n_k);
    g_assert_cmpmem(got_v + (size_t)(pos0 + t) * rb, rb, wv, rb);
    g_free(wv);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(fill_rows); i++) {
    const int r = fill_rows[i];
    if (r < 0 || (r >= pos0 && r < pos0 + n_tok)) continue;
    g_assert_cmpmem(got_k + (size_t)r * rb, rb, fill + (size_t)r * rb, rb);
    g_assert_cmpmem(got_v + (size_t)r * rb, rb, fill + (size_t)r * rb, rb);
  }
  const double ek = num / den;
  const double bound_k = c->kv_type == STILL_TYPE_F32 ? 1e-12 : c->kv_type == STILL_TYPE_F16 ? 1e-6 : 1e-3;
  g_test_message("rope_store %s n_tok %d pos0 %d hd %d%s: q NMSE %.3g, K NMSE %.3g", still_type_name(c->kv_type),
                 n_tok, pos0, hd, c->norm ? " normed" : "", eq, ek);
  g_assert_cmpfloat(eq, <, 1e-12);
  g_assert_cmpfloat(ek, <, bound_k);

  /* refused: past the cache; a Q8_0 head that is not whole pairs of blocks */
  still_vk_rope_store_args bad = a;
  bad.kc_off = (uint32_t)(n_ctx * n_k);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_rope_store(vk, &bq, kb, vb, &bc, &bkc, &bvc, NULL, NULL, &bad, &err), ==,
                  STILL_ERR_INVALID_ARG);
  bad = a;
  bad.kc_off += 32;
  if (c->kv_type == STILL_TYPE_Q8_0) {
    g_assert_false(still_vk_rope_store_ok(vk, &bad));
    g_assert_cmpint(still_vk_rope_store(vk, &bq, kb, vb, &bc, &bkc, &bvc, NULL, NULL, &bad, &err), ==,
                    STILL_ERR_UNSUPPORTED);
  }
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);

  still_vk_buffer *bs[] = {&bq, &bk, &bv, &bc, &bkc, &bvc, &bqn, &bkn};
  for (size_t i = 0; i < G_N_ELEMENTS(bs); i++) still_vk_buffer_free(vk, bs[i]);
  g_free(q), g_free(k), g_free(v), g_free(tab), g_free(qn), g_free(kn), g_free(rq), g_free(rk), g_free(rv);
  g_free(fill), g_free(got_k), g_free(got_v), g_free(gq), g_free(row), g_free(want), g_free(gotq);
  still_vk_close(vk);
}

/* Attention over a Q8_0 cache filled through kv_store, against softmax in
 * double over the CPU's dequantized Q8_0 keys and values (so only float
 * summation order differs), and against the unquantized values (the Q8_0
 * error itself, a loose bound). data: n_tok, pos0, split, n_head, n_head_kv,
 * head dim (0: 8, 2, and dims 64/96), STILL_VK_ATTN_TILE=0. */
static void test_attention_q8_0(gconstpointer data)
{
  const int *c = data;
  if (c[6]) g_setenv("STILL_VK_ATTN_TILE", "0", TRUE);
  still_vk *vk = open_or_skip(NULL);
  if (c[6]) g_unsetenv("STILL_VK_ATTN_TILE");
  if (!vk) return;
  const int n_head = c[3] ? c[3] : 8, n_head_kv = c[4] ? c[4] : 2, hd_k = c[5] ? c[5] : 64, hd_v = c[5] ? c[5] : 96;
  const int n_tok = c[0], pos0 = c[1];
  const int n_kv = pos0 + n_tok, kw = n_head_kv * hd_k, vw = n_head_kv * hd_v, qw = n_head * hd_k, ow = n_head * hd_v;
  const uint32_t k_off = 96, v_off = 32; /* layers start on odd and even blocks */
  float *q = g_new(float, (size_t)n_tok * qw), *k = g_new(float, (size_t)n_kv * kw), *v = g_new(float, (size_t)n_kv * vw);
  for (size_t i = 0; i < (size_t)n_tok * qw; i++) q[i] = frand() * 2;
  for (size_t i = 0; i < (size_t)n_kv * kw; i++) k[i] = frand() * 2;
  for (size_t i = 0; i < (size_t)n_kv * vw; i++) v[i] = frand();
  /* what the cache holds: the CPU's Q8_0 round trip */
  const still_type_traits *tq = still_type_get(STILL_TYPE_Q8_0);
  float *kq = g_new(float, (size_t)n_kv * kw), *vq = g_new(float, (size_t)n_kv * vw);
  void *tmp = g_malloc((size_t)n_kv * (kw + vw) / 32 * 34);
  tq->from_float(k, tmp, (int64_t)n_kv * kw);
  tq->to_float(tmp, kq, (int64_t)n_kv * kw);
  tq->from_float(v, tmp, (int64_t)n_kv * vw);
  tq->to_float(tmp, vq, (int64_t)n_kv * vw);
  g_free(tmp);
  const float scale = 1.0f / sqrtf((float)hd_k);

  still_error err = {0};
  still_vk_buffer bq, bk, bv, bo, bsrc;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * qw, &bq, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, still_vk_kv_cache_bytes(STILL_TYPE_Q8_0, k_off + (uint64_t)n_kv * kw), &bk, &err),
                  ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, still_vk_kv_cache_bytes(STILL_TYPE_Q8_0, v_off + (uint64_t)n_kv * vw), &bv, &err),
                  ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_tok * ow, &bo, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * ((size_t)n_kv * (kw + vw)), &bsrc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bq, 0, q, 4 * (size_t)n_tok * qw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bsrc, 0, k, 4 * (size_t)n_kv * kw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bsrc, 4 * (size_t)n_kv * kw, v, 4 * (size_t)n_kv * vw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  /* the cache filled in two stores, as a prefill then a decode would */
  const uint32_t first = (uint32_t)(n_kv > 1 ? n_kv - 1 : n_kv);
  g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &bsrc, 0, &bk, k_off, first * kw, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &bsrc, n_kv * kw, &bv, v_off, first * vw, &err), ==, STILL_OK);
  if (first < (uint32_t)n_kv) {
    g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &bsrc, first * kw, &bk, k_off + first * kw, kw, &err), ==,
                    STILL_OK);
    g_assert_cmpint(still_vk_kv_store(vk, STILL_TYPE_Q8_0, &bsrc, n_kv * kw + first * vw, &bv, v_off + first * vw, vw,
                                      &err),
                    ==, STILL_OK);
  }
  still_vk_attention_args aa = {.kv_type = STILL_TYPE_Q8_0, .n_tok = n_tok, .n_head = n_head, .n_head_kv = n_head_kv,
                                .head_dim_k = hd_k, .head_dim_v = hd_v, .pos0 = pos0, .q_off = 0, .q_stride = qw,
                                .k_off = k_off, .v_off = v_off, .o_off = 0, .o_stride = ow, .scale = scale};
  still_vk_buffer bpart = {0};
  if (c[2]) { /* the split attention of decode (attention_split.comp) */
    g_assert_true(still_vk_attention_split_ok(vk, &aa));
    g_assert_cmpint(still_vk_buffer_new(vk, 4 * still_vk_attention_part_floats(vk, n_tok, n_head, hd_v, n_kv), &bpart,
                                        &err),
                    ==, STILL_OK);
    g_assert_cmpint(still_vk_attention_split(vk, &bq, &bk, &bv, &bpart, &bo, &aa, &err), ==, STILL_OK);
  } else {
    g_assert_cmpint(still_vk_attention_tile_ok(vk, &aa), ==,
                    tile_expected(vk, STILL_TYPE_Q8_0, n_tok, hd_k, hd_v, c[6]));
    g_assert_cmpint(still_vk_attention_coop_ok(vk, &aa), ==,
                    coop_expected(vk, STILL_TYPE_Q8_0, n_tok, pos0, hd_k, hd_v, c[6]));
    g_assert_cmpint(still_vk_attention(vk, &bq, &bk, &bv, &bo, &aa, &err), ==, STILL_OK);
  }
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  float *o = g_new(float, (size_t)n_tok * ow);
  g_assert_cmpint(still_vk_download(vk, &bo, 0, o, 4 * (size_t)n_tok * ow, &err), ==, STILL_OK);
  if (c[2]) check_split_round8(vk, &bq, &bk, &bv, &bpart, &aa, o);
  if (c[2]) still_vk_buffer_free(vk, &bpart);

  /* on the tensor cores, the dequantized values as float16 */
  const bool coop = !c[2] && still_vk_attention_coop_ok(vk, &aa);
  if (coop) {
    for (size_t i = 0; i < (size_t)n_kv * kw; i++) kq[i] = round_f16(kq[i]);
    for (size_t i = 0; i < (size_t)n_kv * vw; i++) vq[i] = round_f16(vq[i]);
  }
  for (int pass = 0; pass < 2; pass++) {
    double *want = g_new0(double, (size_t)n_tok * ow);
    attention_reference(q, pass == 0 ? kq : k, pass == 0 ? vq : v, want, n_tok, pos0, n_head, n_head_kv, hd_k, hd_v,
                        scale, coop && pass == 0);
    double e = nmse(o, want, (size_t)n_tok * ow);
    g_test_message("attention%s Q8_0 n_tok %d pos0 %d heads %d/%d dims %d/%d%s: NMSE %.3g vs the %s values",
                   c[2] ? " (split)" : "", n_tok, pos0, n_head, n_head_kv, hd_k, hd_v,
                   coop ? " (tensor cores)" : !c[2] && still_vk_attention_tile_ok(vk, &aa) ? " (tiled)" : "", e,
                   pass == 0 ? "dequantized" : "unquantized");
    g_assert_cmpfloat(e, <, pass == 0 ? attention_bound(coop) : 1e-3);
    g_free(want);
  }

  /* refused: offsets or head sizes that are not whole blocks, a read past the cache */
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  still_vk_attention_args bad = aa;
  bad.k_off = 16;
  g_assert_cmpint(still_vk_attention(vk, &bq, &bk, &bv, &bo, &bad, &err), ==, STILL_ERR_INVALID_ARG);
  bad = aa;
  bad.head_dim_v = 48;
  g_assert_cmpint(still_vk_attention(vk, &bq, &bk, &bv, &bo, &bad, &err), ==, STILL_ERR_INVALID_ARG);
  bad = aa;
  bad.pos0 = pos0 + 1;
  g_assert_cmpint(still_vk_attention(vk, &bq, &bk, &bv, &bo, &bad, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &bq), still_vk_buffer_free(vk, &bk), still_vk_buffer_free(vk, &bv);
  still_vk_buffer_free(vk, &bo), still_vk_buffer_free(vk, &bsrc);
  g_free(q), g_free(k), g_free(v), g_free(kq), g_free(vq), g_free(o);
  still_vk_close(vk);
}

/* ---- the search of still_vk_tune (vk-tune.c), with made-up times ----
 * A model with Q4_K and Q6_K matrices whose decode is 10 % faster with Q6_K on the dot
 * products, 20 % slower with Q4_K off them, 5 % faster rounded once per layer (preround 1)
 * and 1 % more with 2 (under the 3 % a change must win by), 4 % faster with 2 rows a team
 * of the dot shaders and 10 % slower with 1, 5 % faster with 1 row a team for Q8_0 and Q6_K
 * in float and with 2 for the other types in float; and whose prompts are 10 % faster on
 * matmul_team.comp (STILL_VK_MATMUL=team), 20 % on the batched dot products, and on
 * matmul_wide.comp (=wide, a candidate where the device has its shared memory) as fast as on
 * the defaults unless the case says otherwise.
 * Runs: 3 to warm the device up (1 that builds the pipelines, then 2); per decode candidate 1 to build it, then 5 each of it and
 * the best so far in turn; per prompt candidate 1 + 2 × 2, after 1 of the defaults; and where
 * the choice differs from the defaults, one more such comparison of the two (decode, and
 * prompts where more than one candidate was timed). The decode candidates: each type with a
 * dot shader on or off them, the prerounds where a type takes them, the dot shaders' 2 other
 * rows per team where a type takes them, the 2 other rows of each kind of float rows the
 * model has (its types not on the dot products), and, where its decode folds rope and the KV
 * store into the attention (job.folds), those apart and (where the device has the bindings and
 * passes still_vk_attention_merge_check) the merge folded too. */
typedef struct {
  still_vk *vk;
  int calls, lost_from;
  bool fail_pre2; /* runs with preround 2 fail (a shader the driver refuses) */
  double gain;    /* 1: the gains above; smaller: the same, shrunk */
  int glitch_from, glitch_to; /* runs (counted from 1) that take half the time they should (noise) */
  double apart; /* decode with rope and the KV store apart from the attention: this much slower */
  double merged; /* decode with the merge in the attention too: this much slower */
  double normed; /* decode with the norms in the products: this much slower */
  uint32_t deep_pos; /* the job's: where its deep prompt batch runs (twice a batch's time) */
  double deep_coop;  /* that batch with the prompt attention on the tensor cores: this much slower */
  double deep_lanes; /* … with only its scores on them (STILL_VK_ATTN_COOP=2): this much slower */
  double wide;       /* prompts on matmul_wide.comp: this much faster */
  int deep_runs;
} tune_fake;

static still_status tune_fake_run(void *ctx, bool prompt, uint32_t pos0, double *seconds, still_error *err)
{
  tune_fake *f = ctx;
  f->calls++;
  /* a batch at the start, or at the job's position deep in the context */
  g_assert_true(pos0 == 0 || (prompt && pos0 == f->deep_pos));
  if (pos0) f->deep_runs++;
  if (f->lost_from && f->calls >= f->lost_from) return still_set_error(err, STILL_ERR_BACKEND, "made-up device loss");
  if (f->fail_pre2 && still_vk_dot_preround(f->vk) == 2)
    return still_set_error(err, STILL_ERR_BACKEND, "made-up shader failure");
  double t = 1.0;
  if (prompt) {
    const int mode = still_vk_matmul_mode(f->vk);
    t *= mode == 3 ? 1 - 0.2 * f->gain : mode == 2 ? 1 - 0.1 * f->gain : mode == 4 ? 1 - f->wide : 1;
    if (pos0) t *= 2 * (f->vk->attn_coop == 1 ? 1 + f->deep_coop : f->vk->attn_coop == 2 ? 1 + f->deep_lanes : 1);
  } else {
    const uint32_t types = still_vk_dot_types(f->vk), pre = still_vk_dot_preround(f->vk);
    if (types & 2) t *= 1 - 0.1 * f->gain;
    if (!(types & 1)) t *= 1 + 0.2 * f->gain;
    if (pre >= 1) t *= 1 - 0.05 * f->gain;
    if (pre == 2) t *= 1 - 0.01 * f->gain;
    const uint32_t dot_rows = still_vk_dot_rows(f->vk);
    if (dot_rows == 2) t *= 1 - 0.04 * f->gain;
    if (dot_rows == 1) t *= 1 + 0.1 * f->gain;
    if (still_vk_team_rows(f->vk, STILL_TYPE_Q6_K) == 1) t *= 1 - 0.05 * f->gain;
    if (still_vk_team_rows(f->vk, STILL_TYPE_Q3_K) == 2) t *= 1 - 0.05 * f->gain;
    if (!still_vk_attention_folds(f->vk)) t *= 1 + f->apart;
    if (still_vk_attention_fold_merges(f->vk)) t *= 1 + f->merged;
    if (still_vk_norm_folds(f->vk)) t *= 1 + f->normed;
  }
  if (f->calls >= f->glitch_from && f->calls <= f->glitch_to) t *= 0.5;
  *seconds = t;
  return STILL_OK;
}

typedef struct {
  uint32_t dot_types;
  uint64_t types; /* still_vk_tune_job.types; 0: Q4_K and Q6_K, as far as dot_types has them */
  double gain;
  int lost_from;
  bool fail_pre2;
  int glitch_from, glitch_to;
  bool folds;   /* still_vk_tune_job.folds */
  double apart; /* tune_fake.apart */
  double merged; /* tune_fake.merged */
  const char *merge_fails; /* the device fails still_vk_attention_merge_check, saying this */
  bool norms;     /* still_vk_tune_job.norms */
  double normed;  /* tune_fake.normed */
  const char *norm_fails; /* the device fails still_vk_norm_fold_check, saying this */
  bool attn_coop;     /* still_vk_tune_job.attn_coop */
  uint32_t deep_pos;  /* … and deep_pos */
  double deep_coop;   /* tune_fake.deep_coop */
  double deep_lanes;  /* tune_fake.deep_lanes */
  /* the device fails still_vk_attention_coop_check for design 1, for design 2, saying this
   * (else it passes) */
  const char *coop_fails, *lanes_fails;
  double wide; /* tune_fake.wide */
} tune_case;

static still_status tune_fake_with(still_vk **vk, tune_case c, int *calls, char *summary, size_t cap)
{
  if (*vk) still_vk_close(*vk);
  still_vk_params p = {.no_pipeline_cache = true};
  *vk = open_or_skip(&p);
  g_assert_nonnull(*vk);
  if (c.merge_fails) { /* (its answer, as if it had run) */
    (*vk)->merge_checked = -1;
    g_strlcpy((*vk)->merge_failed, c.merge_fails, sizeof (*vk)->merge_failed);
  }
  if (c.norm_fails) {
    (*vk)->norm_checked = -1;
    g_strlcpy((*vk)->norm_failed, c.norm_fails, sizeof (*vk)->norm_failed);
  }
  if (c.attn_coop) { /* (lavapipe runs the tensor cores only emulated: the check's answer as if it had run) */
    for (int d = 0; d < 2; d++) {
      const char *fails = d ? c.lanes_fails : c.coop_fails;
      (*vk)->coop_checked[d] = fails ? -1 : 1;
      g_strlcpy((*vk)->coop_failed[d], fails ? fails : "", sizeof (*vk)->coop_failed[d]);
    }
  }
  tune_fake f = {.vk = *vk, .lost_from = c.lost_from, .fail_pre2 = c.fail_pre2, .gain = c.gain,
                 .glitch_from = c.glitch_from, .glitch_to = c.glitch_to, .apart = c.apart, .merged = c.merged,
                 .normed = c.normed, .deep_pos = c.deep_pos, .deep_coop = c.deep_coop, .deep_lanes = c.deep_lanes,
                 .wide = c.wide};
  const uint64_t types = c.types   ? c.types
                         : (c.dot_types & 1 ? 1ull << STILL_TYPE_Q4_K : 0) | (c.dot_types & 2 ? 1ull << STILL_TYPE_Q6_K : 0);
  still_vk_tune_job job = {.run = tune_fake_run, .ctx = &f, .dot_types = c.dot_types, .types = types, .n_prompt = 64,
                           .prompt_dot = true, .k_quants = true, .model_key = 42 + c.dot_types + types,
                           .folds = c.folds, .norms = c.norms, .attn_coop = c.attn_coop, .deep_pos = c.deep_pos};
  still_error err = {0};
  summary[0] = '\0';
  const still_status st = still_vk_tune(*vk, &job, summary, cap, &err);
  *calls = f.calls;
  /* the deep batch only where the job has one, and its attention can change */
  if (!c.attn_coop || !c.deep_pos || g_getenv("STILL_VK_ATTN_COOP")) g_assert_cmpint(f.deep_runs, ==, 0);
  g_test_message("%d runs: %s %s", f.calls, summary, err.message);
  return st;
}

static void test_tune_search(void)
{
  static const char *const fixed[] = {"STILL_VK_DOT_TYPES", "STILL_VK_DOT_PREROUND", "STILL_VK_MATMUL",
                                      "STILL_VK_TUNE",      "STILL_VK_TUNE_SECONDS", "XDG_CACHE_HOME",
                                      "STILL_VK_COOPMAT",   "STILL_VK_DOT_ROWS",     "STILL_VK_MATVEC_ROWS",
                                      "STILL_VK_ATTN_FOLD", "STILL_VK_NORM_FOLD",   "STILL_VK_ATTN_COOP"};
  char *saved[G_N_ELEMENTS(fixed)];
  for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++) {
    saved[i] = g_strdup(g_getenv(fixed[i]));
    g_unsetenv(fixed[i]);
  }
  char *dir = g_dir_make_tmp("still-tune-XXXXXX", NULL);
  g_setenv("XDG_CACHE_HOME", dir, TRUE);
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  g_setenv("STILL_VK_TUNE_SECONDS", "10000", TRUE); /* (made-up seconds) */
  /* the run counts below are those of a device without tensor cores (prompts have =team to
   * try); a device with them is the last case */
  g_setenv("STILL_VK_COOPMAT", "0", TRUE);
  still_vk *vk = NULL;
  still_vk_params p = {.no_pipeline_cache = true};
  if (!(vk = open_or_skip(&p))) goto out;
  if (!still_vk_dot_types(vk)) {
    g_test_skip("no integer dot products (STILL_VK_DOT=1 takes lavapipe's)");
    goto out;
  }
  char s[1024];
  int calls;
  const tune_case full = {.dot_types = 1 | 2, .gain = 1};
  /* every choice where it wins: 3 + (6 decode candidates + the check) × 11 + 1 + (3 prompt
   * candidates + the check) × 5 (=team for the K-quants, =wide, =dot; not =generic, the same
   * shaders for them). Both types end on the dot products: no float rows to time. */
  g_assert_cmpint(tune_fake_with(&vk, full, &calls, s, sizeof s), ==, STILL_OK);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "
                                    "(defaults 1000.00), prompt batch 800.00 ms (defaults 1000.00), on "));
  g_assert_null(strstr(s, "not saved"));
  g_assert_cmpint(calls, ==, 101);
  g_assert_cmpuint(still_vk_dot_types(vk) & 3, ==, 3);
  g_assert_cmpuint(still_vk_dot_preround(vk), ==, 1);
  g_assert_cmpuint(still_vk_dot_rows(vk), ==, 2);
  g_assert_cmpint(still_vk_matmul_mode(vk), ==, 3);
  /* read back from the cache: nothing run */
  g_assert_cmpint(tune_fake_with(&vk, full, &calls, s, sizeof s), ==, STILL_OK);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms"));
  g_assert_cmpint(calls, ==, 0);
  g_assert_cmpuint(still_vk_dot_preround(vk), ==, 1);
  g_assert_cmpuint(still_vk_dot_rows(vk), ==, 2);
  g_assert_cmpint(still_vk_matmul_mode(vk), ==, 3);
  /* prompts 30 % faster on matmul_wide.comp: it beats =team and then =dot, and is kept (and
   * cached); on a device without its 32 KiB of shared memory it is not timed (5 runs fewer) */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  tune_case wide = full;
  wide.wide = 0.3;
  g_assert_cmpint(tune_fake_with(&vk, wide, &calls, s, sizeof s), ==, STILL_OK);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt wide (decode 820.80 ms "
                                    "(defaults 1000.00), prompt batch 700.00 ms (defaults 1000.00), on "));
  g_assert_cmpint(calls, ==, 101);
  g_assert_cmpint(still_vk_matmul_mode(vk), ==, 4);
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  g_assert_cmpint(tune_fake_with(&vk, wide, &calls, s, sizeof s), ==, STILL_OK);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, prompt wide (decode"));
  g_assert_cmpint(calls, ==, 0);
  g_assert_cmpint(still_vk_matmul_mode(vk), ==, 4);
  g_assert_true(still_vk_matmul_wide_possible(vk)); /* (lavapipe has 32 KiB) */
  {
    still_vk_params sp = {.no_pipeline_cache = true};
    still_vk *small = open_or_skip(&sp);
    g_assert_nonnull(small);
    small->props.limits.maxComputeSharedMemorySize = 16384; /* Vulkan's least */
    g_assert_false(still_vk_matmul_wide_possible(small));
    tune_fake f = {.vk = small, .gain = 1, .wide = 0.3};
    still_vk_tune_job job = {.run = tune_fake_run, .ctx = &f, .dot_types = 3,
                             .types = 1ull << STILL_TYPE_Q4_K | 1ull << STILL_TYPE_Q6_K, .n_prompt = 64,
                             .prompt_dot = true, .k_quants = true, .model_key = 4242};
    still_error err = {0};
    g_setenv("STILL_VK_TUNE", "again", TRUE);
    g_assert_cmpint(still_vk_tune(small, &job, s, sizeof s, &err), ==, STILL_OK);
    g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot ("));
    g_assert_cmpint(f.calls, ==, 96);
    /* (and STILL_VK_MATMUL=wide there keeps the default shaders: /vk/matmul-wide) */
    still_vk_close(small);
    g_setenv("STILL_VK_TUNE", "1", TRUE);
  }
  /* gains under 3 %: the defaults stay (measured again: STILL_VK_TUNE=again); Q6_K stays in
   * float, so its rows are timed too: 3 + 8 × 11 + 1 + 3 × 5 */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  g_assert_cmpint(tune_fake_with(&vk, (tune_case){.dot_types = 3, .gain = 0.14}, &calls, s, sizeof s), ==, STILL_OK);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K, preround 0, prompt default (decode 1000.00 ms (the "
                                    "defaults), prompt batch 1000.00 ms (the defaults), on "));
  g_assert_cmpint(calls, ==, 107);
  g_assert_cmpint(still_vk_matmul_mode(vk), ==, 0);
  g_assert_cmpuint(still_vk_dot_rows(vk), ==, 4);
  g_assert_cmpuint(still_vk_team_rows(vk, STILL_TYPE_Q6_K), ==, 2);
  g_assert_cmpuint(still_vk_team_rows(vk, STILL_TYPE_Q4_K), ==, 4);
  /* a path that fails is left out, named, and the search goes on */
  g_assert_cmpint(tune_fake_with(&vk, (tune_case){.dot_types = 3, .gain = 1, .fail_pre2 = true}, &calls, s, sizeof s),
                  ==, STILL_OK);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "
                                    "(defaults 1000.00), prompt batch 800.00 ms (defaults 1000.00), dot Q4_K Q6_K, "
                                    "preround 2, prompt default failed: made-up shader failure, on "));
  g_assert_cmpint(calls, ==, 92);
  /* a candidate that won by noise alone (its first two timed runs, calls 6 and 7, came out fast):
   * the check against the defaults undoes it, and what was chosen after it (Q4_K in float, 2
   * rows a team for it: 2 candidates more) */
  g_assert_cmpint(tune_fake_with(&vk, (tune_case){.dot_types = 1, .gain = 1, .glitch_from = 6, .glitch_to = 7}, &calls,
                                 s, sizeof s),
                  ==, STILL_OK);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K, preround 0, prompt dot (decode 1000.00 ms (the defaults), "));
  g_assert_cmpint(calls, ==, 68);
  g_assert_cmpuint(still_vk_dot_types(vk) & 1, ==, 1);
  g_assert_cmpuint(still_vk_team_rows(vk, STILL_TYPE_Q4_K), ==, 4);
  /* the device lost: its error, the defaults set again, nothing kept over the last choice */
  g_assert_cmpint(tune_fake_with(&vk, (tune_case){.dot_types = 3, .gain = 1, .lost_from = 20}, &calls, s, sizeof s),
                  ==, STILL_ERR_BACKEND);
  g_assert_cmpint(calls, <=, 21);
  g_assert_cmpuint(still_vk_dot_types(vk) & 3, ==, 1);
  g_assert_cmpuint(still_vk_dot_preround(vk), ==, 0);
  g_assert_cmpuint(still_vk_dot_rows(vk), ==, 4);
  g_assert_cmpint(still_vk_matmul_mode(vk), ==, 0);
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot"));
  /* the time limit (counted in timed runs): after the first candidate, nothing more */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  g_setenv("STILL_VK_TUNE_SECONDS", "3", TRUE);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K, preround 0, prompt default (decode 1000.00 ms (the "
                                    "defaults), stopped at the time limit, on "));
  g_assert_cmpint(calls, ==, 14);
  g_setenv("STILL_VK_TUNE_SECONDS", "10000", TRUE);
  /* a choice the environment sets stays as set, the others are timed, and the result is
   * cached under those settings */
  g_setenv("STILL_VK_DOT_PREROUND", "2", TRUE);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 2, dot rows 2, prompt dot (decode 812.59 ms "
                                    "(defaults 940.50), "));
  g_assert_cmpint(calls, ==, 79);
  g_unsetenv("STILL_VK_DOT_PREROUND");
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  g_setenv("STILL_VK_MATMUL", "team", TRUE);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt team (decode 820.80 ms"));
  g_assert_cmpint(calls, ==, 80);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, prompt team"));
  /* Q4_K in float (the types set): 2 rows a team for it wins, as do 2 for the dot shaders;
   * 3 + 4 × 11 + the check */
  g_setenv("STILL_VK_DOT_TYPES", "q6_k", TRUE);
  g_setenv("STILL_VK_DOT_PREROUND", "2", TRUE);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q6_K, preround 2, dot rows 2, float rows 2 (other types), prompt "
                                    "team (decode 926.35 ms (defaults 1015.74), on "));
  g_assert_cmpint(calls, ==, 58);
  g_assert_cmpuint(still_vk_team_rows(vk, STILL_TYPE_Q4_K), ==, 2);
  g_assert_cmpuint(still_vk_team_rows(vk, STILL_TYPE_Q8_0), ==, 2);
  /* the rows set too: nothing left to time */
  g_setenv("STILL_VK_DOT_ROWS", "1", TRUE);
  g_setenv("STILL_VK_MATVEC_ROWS", "1", TRUE);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_cmpstr(s, ==,
                  "defaults (all set in the environment): dot Q6_K, preround 2, dot rows 1, float rows 1 (Q8_0, "
                  "Q6_K), float rows 1 (other types), prompt team");
  g_assert_cmpint(calls, ==, 0);
  g_unsetenv("STILL_VK_DOT_PREROUND"), g_unsetenv("STILL_VK_DOT_TYPES"), g_unsetenv("STILL_VK_MATMUL");
  g_unsetenv("STILL_VK_DOT_ROWS"), g_unsetenv("STILL_VK_MATVEC_ROWS");
  /* a model without a type of the dot products (Q3_K and Q6_K, as Q3_K_M): the rows of its
   * float decode, 1 for Q6_K and 2 for Q3_K winning (3 + 4 × 11 + the check), and its prompt
   * shaders (1 + 3 × 5: =team, =wide, and =team against the defaults once more) */
  tune_fake_with(&vk, (tune_case){.types = 1ull << STILL_TYPE_Q3_K | 1ull << STILL_TYPE_Q6_K, .gain = 1}, &calls, s,
                 sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot none, preround 0, float rows 1 (Q8_0, Q6_K), float rows 2 (other "
                                    "types), prompt team (decode 902.50 ms (defaults 1000.00), prompt batch 900.00 ms "
                                    "(defaults 1000.00), on "));
  g_assert_cmpint(calls, ==, 74);
  g_assert_cmpuint(still_vk_team_rows(vk, STILL_TYPE_Q6_K), ==, 1);
  g_assert_cmpuint(still_vk_team_rows(vk, STILL_TYPE_Q3_K), ==, 2);
  /* the same model with STILL_VK_MATVEC_ROWS set: its prompt shaders only */
  g_setenv("STILL_VK_MATVEC_ROWS", "2", TRUE);
  tune_fake_with(&vk, (tune_case){.types = 1ull << STILL_TYPE_Q3_K | 1ull << STILL_TYPE_Q6_K, .gain = 1}, &calls, s,
                 sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot none, preround 0, float rows 2 (other types), prompt team (prompt "
                                    "batch 900.00 ms (defaults 1000.00), on "));
  g_assert_cmpint(calls, ==, 16);
  g_unsetenv("STILL_VK_MATVEC_ROWS");
  /* a model whose decode folds rope and the KV store into the attention: apart and with the
   * merge folded too are timed (11 runs each more than `full`, the merge after its check
   * passed on the device); kept folded where both are slower, apart or merged where faster
   * (and so cached), not timed where the environment sets it */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  tune_case folds = full;
  folds.folds = true, folds.apart = 0.05;
  g_assert_true(still_vk_attention_merge_fold_possible(vk)); /* (lavapipe has the bindings) */
  tune_fake_with(&vk, folds, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "
                                    "(defaults 1000.00), "));
  g_assert_cmpint(calls, ==, 123);
  g_assert_cmpint(vk->merge_checked, ==, 1);
  g_assert_true(still_vk_attention_folds(vk));
  g_assert_false(still_vk_attention_fold_merges(vk));
  folds.merged = -0.05;
  tune_fake_with(&vk, folds, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, merge in the attention, prompt "
                                    "dot (decode 779.76 ms (defaults 1000.00), "));
  g_assert_cmpint(calls, ==, 123);
  g_assert_true(still_vk_attention_fold_merges(vk));
  /* a device the merge's check fails on: not timed, and said */
  folds.merge_fails = "made-up: the device's memory ordering is not as assumed";
  tune_fake_with(&vk, folds, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "
                                    "(defaults 1000.00), "));
  g_assert_nonnull(strstr(s, "the merge in the attention: made-up: the device's memory ordering is not as assumed, on "));
  g_assert_cmpint(calls, ==, 112);
  g_assert_false(still_vk_attention_fold_merges(vk));
  folds.merge_fails = NULL, folds.merged = 0;
  folds.apart = -0.05;
  tune_fake_with(&vk, folds, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, rope apart, prompt dot (decode "
                                    "779.76 ms (defaults 1000.00), "));
  g_assert_null(strstr(s, "failed")); /* (the merge's check runs with the fold on, whatever the tuner tries) */
  g_assert_cmpint(calls, ==, 123); /* (the fold without the merge is not timed again against apart) */
  g_assert_false(still_vk_attention_folds(vk));
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  tune_fake_with(&vk, folds, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, rope apart, prompt dot"));
  g_assert_cmpint(calls, ==, 0);
  g_assert_false(still_vk_attention_folds(vk));
  g_setenv("STILL_VK_ATTN_FOLD", "0", TRUE);
  folds.apart = 0.05;
  tune_fake_with(&vk, folds, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, rope apart, prompt dot"));
  g_assert_cmpint(calls, ==, 101);
  g_setenv("STILL_VK_ATTN_FOLD", "2", TRUE);
  tune_fake_with(&vk, folds, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, merge in the attention, prompt dot"));
  g_assert_cmpint(calls, ==, 101);
  g_assert_true(still_vk_attention_fold_merges(vk));
  g_assert_cmpint(vk->merge_checked, ==, 0); /* (set in the environment: not checked) */
  g_unsetenv("STILL_VK_ATTN_FOLD");
  /* a model whose decode can take the norms in its products: timed after their check passed on
   * the device (11 runs more than `full`), kept where faster (and cached), not where slower; a
   * device the check fails on: not timed, and said; set in the environment: not timed */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  tune_case norms = full;
  norms.norms = true, norms.normed = -0.05;
  g_assert_true(still_vk_norm_fold_possible(vk));
  tune_fake_with(&vk, norms, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, norms in the products, prompt "
                                    "dot (decode 779.76 ms (defaults 1000.00), "));
  g_assert_cmpint(calls, ==, 112);
  g_assert_cmpint(vk->norm_checked, ==, 1);
  g_assert_true(still_vk_norm_folds(vk));
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  tune_fake_with(&vk, norms, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, norms in the products, prompt dot"));
  g_assert_cmpint(calls, ==, 0);
  g_assert_true(still_vk_norm_folds(vk));
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  norms.normed = 0.05;
  tune_fake_with(&vk, norms, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "
                                    "(defaults 1000.00), "));
  g_assert_cmpint(calls, ==, 112);
  g_assert_false(still_vk_norm_folds(vk));
  norms.normed = -0.05, norms.norm_fails = "made-up: the device's memory ordering is not as assumed";
  tune_fake_with(&vk, norms, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "));
  g_assert_nonnull(strstr(s, "the norms in the products: made-up: the device's memory ordering is not as assumed, on "));
  g_assert_cmpint(calls, ==, 101);
  g_assert_false(still_vk_norm_folds(vk));
  norms.norm_fails = NULL;
  g_setenv("STILL_VK_NORM_FOLD", "1", TRUE);
  tune_fake_with(&vk, norms, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, norms in the products, prompt dot"));
  g_assert_cmpint(calls, ==, 101);
  g_assert_cmpint(vk->norm_checked, ==, 0); /* (set in the environment: not checked) */
  g_assert_true(still_vk_norm_folds(vk));
  g_unsetenv("STILL_VK_NORM_FOLD");
  /* a model whose prompt attention can take the tensor cores: timed on a batch deep in the
   * context after the prompt's shaders (1 run that builds its pipelines, then for each of the two
   * designs 1 + 2 × 2: 11 more than `full`; where one was kept, it against the defaults once more:
   * 5 more), the faster kept where faster (and cached), neither where slower; not timed where the
   * environment sets it or the context has no room for the batch */
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  tune_case deep = full;
  deep.attn_coop = true, deep.deep_pos = 2048, deep.deep_coop = -0.3, deep.deep_lanes = -0.1;
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot, attention on the "
                                    "tensor cores (decode 820.80 ms (defaults 1000.00), prompt batch 800.00 ms "
                                    "(defaults 1000.00), prompt batch at 2048 1120.00 ms (defaults 1600.00), on "));
  g_assert_cmpint(calls, ==, 117);
  g_assert_cmpint(vk->attn_coop, ==, 1);
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot, attention on the tensor "
                                    "cores (decode"));
  g_assert_cmpint(calls, ==, 0);
  g_assert_cmpint(vk->attn_coop, ==, 1);
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  deep.deep_coop = 0.1, deep.deep_lanes = 0.05;
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "
                                    "(defaults 1000.00), prompt batch 800.00 ms (defaults 1000.00), prompt batch at 2048 "
                                    "1600.00 ms (the defaults), on "));
  g_assert_cmpint(calls, ==, 112);
  g_assert_cmpint(vk->attn_coop, ==, 0);
  /* the second design faster than the first: it is kept (its time and the defaults' from its
   * last comparison, with the float32 tiles) */
  deep.deep_coop = -0.1, deep.deep_lanes = -0.25;
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot, the attention's "
                                    "scores on the tensor cores (decode 820.80 ms (defaults 1000.00), prompt batch "
                                    "800.00 ms (defaults 1000.00), prompt batch at 2048 1200.00 ms (defaults 1600.00), on "));
  g_assert_cmpint(calls, ==, 117);
  g_assert_cmpint(vk->attn_coop, ==, 2);
  deep.deep_coop = -0.3, deep.deep_lanes = -0.1, deep.deep_pos = 0;
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 101);
  g_assert_cmpint(vk->attn_coop, ==, 0);
  /* a device the check fails on for design 1: only design 2 timed (and kept, faster), the
   * failure said; for both: nothing timed, the first failure said */
  deep.deep_pos = 2048, deep.coop_fails = "made-up: its output differed";
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 107);
  g_assert_cmpint(vk->attn_coop, ==, 2);
  g_assert_nonnull(strstr(s, "prompt dot, the attention's scores on the tensor cores ("));
  g_assert_nonnull(strstr(s, "the attention on the tensor cores: made-up: its output differed, on "));
  deep.lanes_fails = "made-up: its lanes differed";
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 101);
  g_assert_cmpint(vk->attn_coop, ==, 0);
  g_assert_nonnull(strstr(s, "the attention on the tensor cores: made-up: its output differed, on "));
  deep.coop_fails = NULL;
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 107);
  g_assert_cmpint(vk->attn_coop, ==, 1);
  g_assert_nonnull(strstr(s, "the attention's scores on the tensor cores: made-up: its lanes differed, on "));
  deep.lanes_fails = NULL;
  g_setenv("STILL_VK_ATTN_COOP", "0", TRUE);
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 101);
  g_assert_null(strstr(s, "tensor cores"));
  g_setenv("STILL_VK_ATTN_COOP", "1", TRUE);
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 101);
  g_assert_nonnull(strstr(s, "prompt dot, attention on the tensor cores ("));
  g_assert_cmpint(vk->attn_coop, ==, 1);
  g_setenv("STILL_VK_ATTN_COOP", "2", TRUE);
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 101);
  g_assert_nonnull(strstr(s, "prompt dot, the attention's scores on the tensor cores ("));
  g_assert_cmpint(vk->attn_coop, ==, 2);
  /* … and not said for a model whose attention cannot take them */
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_cmpint(calls, ==, 101);
  g_assert_null(strstr(s, "tensor cores"));
  /* every other choice set: the attention's alone is timed, after the device's warm-up (3 runs:
   * 1 that builds the pipelines, then 2), 1 + 2 × 2 for each design and as many for the one kept
   * against the defaults: 18; then that one set too: nothing */
  g_unsetenv("STILL_VK_ATTN_COOP");
  g_setenv("STILL_VK_DOT_TYPES", "q4_k", TRUE), g_setenv("STILL_VK_DOT_PREROUND", "0", TRUE);
  g_setenv("STILL_VK_MATMUL", "team", TRUE), g_setenv("STILL_VK_DOT_ROWS", "4", TRUE);
  g_setenv("STILL_VK_MATVEC_ROWS", "2", TRUE);
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K, preround 0, float rows 2 (other types), prompt team, attention "
                                    "on the tensor cores (prompt batch at 2048 1260.00 ms (defaults 1800.00), on "));
  g_assert_cmpint(calls, ==, 18);
  g_setenv("STILL_VK_ATTN_COOP", "0", TRUE);
  tune_fake_with(&vk, deep, &calls, s, sizeof s);
  g_assert_cmpstr(s, ==,
                  "defaults (all set in the environment): dot Q4_K, preround 0, float rows 2 (other types), prompt "
                  "team");
  g_assert_cmpint(calls, ==, 0);
  g_unsetenv("STILL_VK_DOT_TYPES"), g_unsetenv("STILL_VK_DOT_PREROUND"), g_unsetenv("STILL_VK_MATMUL");
  g_unsetenv("STILL_VK_DOT_ROWS"), g_unsetenv("STILL_VK_MATVEC_ROWS"), g_unsetenv("STILL_VK_ATTN_COOP");
  g_setenv("STILL_VK_TUNE", "1", TRUE);
  /* no cache file can be written: said, and kept for the process */
  g_setenv("XDG_CACHE_HOME", "/dev/null/cache", TRUE);
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot"));
  g_assert_nonnull(strstr(s, "; not saved: the cache file cannot be written)"));
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  g_assert_true(g_str_has_prefix(s, "cached: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot"));
  g_assert_cmpint(calls, ==, 0);
  /* tensor cores (the device's own, else emulated where it can): the prompts' only other path
   * is the dot products, so no =team, no =wide and no check of one prompt candidate against
   * the defaults (15 runs fewer) */
  g_setenv("XDG_CACHE_HOME", dir, TRUE);
  g_setenv("STILL_VK_TUNE", "again", TRUE);
  g_unsetenv("STILL_VK_COOPMAT");
  tune_fake_with(&vk, full, &calls, s, sizeof s);
  if (!still_vk_has_coopmat(vk)) {
    g_setenv("STILL_VK_COOPMAT", "emulate", TRUE);
    tune_fake_with(&vk, full, &calls, s, sizeof s);
  }
  if (still_vk_has_coopmat(vk)) {
    g_assert_true(g_str_has_prefix(s, "measured: dot Q4_K Q6_K, preround 1, dot rows 2, prompt dot (decode 820.80 ms "
                                      "(defaults 1000.00), prompt batch 800.00 ms (defaults 1000.00), on "));
    g_assert_cmpint(calls, ==, 86);
  } else {
    g_test_message("no tensor cores, emulated or not: the case with them is not checked here");
  }
out:
  if (vk) still_vk_close(vk);
  for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++) {
    if (saved[i]) g_setenv(fixed[i], saved[i], TRUE);
    else g_unsetenv(fixed[i]);
    g_free(saved[i]);
  }
  char *file = g_build_filename(dir, "distill", "vk-tune.txt", NULL);
  char *sub = g_build_filename(dir, "distill", NULL);
  g_remove(file);
  g_rmdir(sub);
  g_rmdir(dir);
  g_free(file), g_free(sub), g_free(dir);
}

/* SPIR-V opcodes the checks below read (the SPIR-V specification's numbers) */
enum {
  SPV_CONSTANT = 43, SPV_CONSTANT_NULL = 46, SPV_SPEC_CONSTANT = 50, SPV_TYPE_ARRAY = 28, SPV_TYPE_POINTER = 32,
  SPV_VARIABLE = 59, SPV_ACCESS_CHAIN = 65, SPV_IN_BOUNDS_ACCESS_CHAIN = 66, SPV_PTR_ACCESS_CHAIN = 67,
  SPV_TYPE_COOP_MATRIX_NV = 5358, SPV_TYPE_COOP_MATRIX_KHR = 4456,
};

/* Whether code is a SPIR-V module whose id bound the checks below may size their tables by (at
 * most one id per word of the module); else why says "not SPIR-V". */
static bool spirv_header_ok(const uint32_t *code, size_t words, char *why, size_t why_size)
{
  if (words >= 5 && code[0] == 0x07230203u && code[3] <= words) return true;
  g_snprintf(why, why_size, "not SPIR-V");
  return false;
}

/* Whether a shader indexes an array of cooperative matrices with anything but a constant: the
 * tensor-core prefill, which runs right on NVIDIA's driver, never does, and the first tensor-core
 * attention did (its outputs stored from a loop that glslc had left rolled) and went wrong on an
 * H200 (for a cause not found: the same results came out with constants). Writes what was found
 * into why; false when the code is not SPIR-V. Follows types (arrays of them, pointers to
 * those), the variables and the access chains into them. */
static bool spirv_indexes_coop_by_variable(const uint32_t *code, size_t words, char *why, size_t why_size)
{
  if (!spirv_header_ok(code, words, why, why_size)) return false;
  const uint32_t bound = code[3];
  /* per id: 1 a type holding cooperative matrices, 2 a pointer to one or a pointer into one
   * (variables and access chains), 4 a constant */
  guint8 *kind = g_new0(guint8, bound);
  bool found = false;
  for (size_t at = 5; at < words && !found;) {
    const uint32_t op = code[at] & 0xffffu, n = code[at] >> 16;
    if (n == 0 || at + n > words) break;
    const uint32_t *w = code + at;
#define ID_OK(i) ((i) < bound)
    if ((op == SPV_TYPE_COOP_MATRIX_NV || op == SPV_TYPE_COOP_MATRIX_KHR) && n >= 2 && ID_OK(w[1]))
      kind[w[1]] |= 1;
    else if (op == SPV_TYPE_ARRAY && n >= 3 && ID_OK(w[1]) && ID_OK(w[2]) && (kind[w[2]] & 1))
      kind[w[1]] |= 1;
    else if (op == SPV_TYPE_POINTER && n >= 4 && ID_OK(w[1]) && ID_OK(w[3]) && (kind[w[3]] & 1))
      kind[w[1]] |= 2;
    else if ((op == SPV_CONSTANT || op == SPV_CONSTANT_NULL || op == SPV_SPEC_CONSTANT) && n >= 3 && ID_OK(w[2]))
      kind[w[2]] |= 4;
    else if (op == SPV_VARIABLE && n >= 3 && ID_OK(w[1]) && ID_OK(w[2]) && (kind[w[1]] & 2))
      kind[w[2]] |= 2;
    else if ((op == SPV_ACCESS_CHAIN || op == SPV_IN_BOUNDS_ACCESS_CHAIN || op == SPV_PTR_ACCESS_CHAIN) && n >= 4 &&
             ID_OK(w[2]) && ID_OK(w[3]) && (kind[w[3]] & 2)) {
      for (uint32_t i = 4; i < n && !found; i++)
        if (!ID_OK(w[i]) || !(kind[w[i]] & 4)) {
          g_snprintf(why, why_size, "access chain %%%u into %%%u: index %%%u is not a constant", w[2], w[3], w[i]);
          found = true;
        }
      if (ID_OK(w[1]) && (kind[w[1]] & 2)) kind[w[2]] |= 2;
    }
#undef ID_OK
    at += n;
  }
  g_free(kind);
  return found;
}

/* Whether a shader with cooperative matrices declares a shared (Workgroup) variable whose size
 * is not a multiple of 16 bytes (or one whose size this cannot tell: a type other than
 * scalars, vectors and arrays of them; a struct's padding is the driver's). The driver places
 * shared variables, not the shader, and a matrix's load or store needs its pointer 16-byte
 * aligned (VUID-RuntimeSpirv-OpCooperativeMatrixLoadNV-06324): with every variable a multiple
 * of 16 bytes, its arrays start aligned in any order. Writes what was found into why; *coop:
 * whether the module has cooperative-matrix types, *sized: how many shared variables it
 * sized (so that a test can tell the check read something). */
enum { SPV_TYPE_INT = 21, SPV_TYPE_FLOAT = 22, SPV_TYPE_VECTOR = 23 };
#define SPV_WORKGROUP 4u

static bool spirv_coop_shared_misfit(const uint32_t *code, size_t words, char *why, size_t why_size, bool *coop_out,
                                     int *sized)
{
  *coop_out = false, *sized = 0;
  if (!spirv_header_ok(code, words, why, why_size)) return false;
  const uint32_t bound = code[3];
  /* per id: the size in bytes of a type (0: not known), a 32-bit constant's value, the
   * pointee of a Workgroup pointer type (+1; 0: not one) */
  guint64 *size = g_new0(guint64, bound);
  guint32 *value = g_new0(guint32, bound), *pointee = g_new0(guint32, bound);
  bool coop = false, found = false;
  char first[160] = "";
#define ID_OK(i) ((i) < bound)
  for (size_t at = 5; at < words;) {
    const uint32_t op = code[at] & 0xffffu, n = code[at] >> 16;
    if (n == 0 || at + n > words) break;
    const uint32_t *w = code + at;
    if ((op == SPV_TYPE_COOP_MATRIX_NV || op == SPV_TYPE_COOP_MATRIX_KHR) && n >= 2) coop = true;
    else if ((op == SPV_TYPE_INT || op == SPV_TYPE_FLOAT) && n >= 3 && ID_OK(w[1]) && w[2] % 8 == 0)
      size[w[1]] = w[2] / 8;
    else if (op == SPV_TYPE_VECTOR && n >= 4 && ID_OK(w[1]) && ID_OK(w[2]))
      size[w[1]] = size[w[2]] * w[3];
    else if (op == SPV_TYPE_ARRAY && n >= 4 && ID_OK(w[1]) && ID_OK(w[2]) && ID_OK(w[3]))
      size[w[1]] = size[w[2]] * value[w[3]];
    else if (op == SPV_CONSTANT && n >= 4 && ID_OK(w[2]))
      value[w[2]] = w[3];
    else if (op == SPV_TYPE_POINTER && n >= 4 && ID_OK(w[1]) && ID_OK(w[3]) && w[2] == SPV_WORKGROUP)
      pointee[w[1]] = w[3] + 1;
    else if (op == SPV_VARIABLE && n >= 4 && ID_OK(w[1]) && w[3] == SPV_WORKGROUP && pointee[w[1]] && !found) {
      const guint64 s = size[pointee[w[1]] - 1];
      if (s) (*sized)++;
      if (s == 0 || s % 16) {
        g_snprintf(first, sizeof first, "shared variable %%%u: %s", w[2],
                   s ? "its size is not a multiple of 16 bytes" : "its size is not known here");
        if (s) g_snprintf(first + strlen(first), sizeof first - strlen(first), " (%" G_GUINT64_FORMAT ")", s);
        found = true;
      }
    }
    at += n;
  }
#undef ID_OK
  g_free(size), g_free(value), g_free(pointee);
  *coop_out = coop;
  if (found && coop) g_snprintf(why, why_size, "%s", first);
  return found && coop;
}

/* Embedded shader i, seen to be SPIR-V (else the checks below would pass it unread). */
static const still_vk_shader *embedded_shader(int i)
{
  const still_vk_shader *sh = &still_vk_shaders[i];
  g_assert_nonnull(sh->code);
  g_assert_cmpuint(sh->size, >=, 20);
  g_assert_cmpuint(sh->code[0], ==, 0x07230203u);
  return sh;
}

/* Every embedded shader indexes its arrays of cooperative matrices by constants only (no
 * device needed); the check itself finds a variable index in a module made by hand. */
static void test_shaders_coop_constant_index(void)
{
  char why[160];
  int coop = 0;
  for (int i = 0; i < VK_SHADER_COUNT; i++) {
    const still_vk_shader *sh = embedded_shader(i);
    why[0] = 0;
    const bool bad = spirv_indexes_coop_by_variable(sh->code, sh->size / 4, why, sizeof why);
    if (bad) g_test_message("%s: %s", sh->name, why);
    g_assert_false(bad);
    if (strstr(sh->name, "coop")) coop++;
  }
  g_test_message("%d shaders, %d of them on tensor cores", (int)VK_SHADER_COUNT, coop);
  g_assert_cmpint(coop, >=, 4);
  /* %1 uint, %2 constant 0, %3 float, %4 a 16 × 16 matrix, %5 array of 2, %6 pointer to it,
   * %7 pointer to a matrix, %8 the variable, %9 a loaded uint, then %10 = %8[%2] (fine) and
   * %11 = %8[%9] (not) */
  const uint32_t mod[] = {
    0x07230203u, 0x00010500u, 0, 12, 0,
    (3u << 16) | 21, 1, 32, /* OpTypeInt %1 32 (the signedness word dropped: not read) */
    (4u << 16) | SPV_CONSTANT, 1, 2, 0,
    (3u << 16) | 22, 3, 32,
    (6u << 16) | SPV_TYPE_COOP_MATRIX_NV, 4, 3, 2, 2, 2,
    (4u << 16) | SPV_TYPE_ARRAY, 5, 4, 2,
    (4u << 16) | SPV_TYPE_POINTER, 6, 7, 5,
    (4u << 16) | SPV_TYPE_POINTER, 7, 7, 4,
    (4u << 16) | SPV_VARIABLE, 6, 8, 7,
    (4u << 16) | 61, 1, 9, 8, /* OpLoad (stands for any value) */
    (5u << 16) | SPV_ACCESS_CHAIN, 7, 10, 8, 2,
  };
  const size_t fine = G_N_ELEMENTS(mod);
  g_assert_false(spirv_indexes_coop_by_variable(mod, fine, why, sizeof why));
  uint32_t bad[G_N_ELEMENTS(mod) + 5];
  memcpy(bad, mod, sizeof mod);
  const uint32_t chain[] = {(5u << 16) | SPV_ACCESS_CHAIN, 7, 11, 8, 9};
  memcpy(bad + fine, chain, sizeof chain);
  g_assert_true(spirv_indexes_coop_by_variable(bad, G_N_ELEMENTS(bad), why, sizeof why));
  g_assert_nonnull(strstr(why, "index %9"));
  g_assert_false(spirv_indexes_coop_by_variable(bad + 1, G_N_ELEMENTS(bad) - 1, why, sizeof why));
  g_assert_cmpstr(why, ==, "not SPIR-V");
}

/* Every embedded shader with cooperative matrices declares shared variables of multiples of 16
 * bytes only (no device needed): each shader named for tensor cores is seen to have matrix types
 * and shared variables the check sized, so that it cannot pass by reading nothing; the one probe
 * that declares a 4-byte variable on purpose is caught, as is one in a module made by hand. */
static void test_shaders_coop_shared_sizes(void)
{
  char why[160];
  int coop = 0;
  for (int i = 0; i < VK_SHADER_COUNT; i++) {
    const still_vk_shader *sh = embedded_shader(i);
    why[0] = 0;
    bool has_coop;
    int sized;
    const bool misfit = spirv_coop_shared_misfit(sh->code, sh->size / 4, why, sizeof why, &has_coop, &sized);
    if (strstr(sh->name, "coop")) {
      g_assert_true(has_coop);
      g_assert_cmpint(sized, >=, 1);
      coop++;
    }
    if (i == VK_SHADER_COOP_PROBE_LONE) { /* (on purpose: to see what a driver does with it) */
      g_assert_true(misfit);
      g_assert_nonnull(strstr(why, "(4)"));
      continue;
    }
    if (misfit) g_test_message("%s: %s", sh->name, why);
    g_assert_false(misfit);
  }
  g_assert_cmpint(coop, >=, 4);
  /* %1 uint, %2 constant 4, %3 float, %4 a matrix type (its operands are not read), %5 uint[4],
   * %6 a Workgroup pointer to it, %7 the variable (16 bytes: fine); then %8 a Workgroup pointer
   * to a uint and %9 its variable (4 bytes: not) */
  const uint32_t mod[] = {
    0x07230203u, 0x00010500u, 0, 12, 0,
    (4u << 16) | SPV_TYPE_INT, 1, 32, 0,
    (4u << 16) | SPV_CONSTANT, 1, 2, 4,
    (3u << 16) | SPV_TYPE_FLOAT, 3, 32,
    (6u << 16) | SPV_TYPE_COOP_MATRIX_NV, 4, 3, 2, 2, 2,
    (4u << 16) | SPV_TYPE_ARRAY, 5, 1, 2,
    (4u << 16) | SPV_TYPE_POINTER, 6, SPV_WORKGROUP, 5,
    (4u << 16) | SPV_VARIABLE, 6, 7, SPV_WORKGROUP,
  };
  const size_t fine = G_N_ELEMENTS(mod);
  bool has_coop;
  int sized;
  g_assert_false(spirv_coop_shared_misfit(mod, fine, why, sizeof why, &has_coop, &sized));
  g_assert_true(has_coop);
  g_assert_cmpint(sized, ==, 1);
  uint32_t bad[G_N_ELEMENTS(mod) + 8];
  memcpy(bad, mod, sizeof mod);
  const uint32_t lone[] = {(4u << 16) | SPV_TYPE_POINTER, 8, SPV_WORKGROUP, 1, (4u << 16) | SPV_VARIABLE, 8, 9,
                           SPV_WORKGROUP};
  memcpy(bad + fine, lone, sizeof lone);
  g_assert_true(spirv_coop_shared_misfit(bad, G_N_ELEMENTS(bad), why, sizeof why, &has_coop, &sized));
  g_assert_cmpstr(why, ==, "shared variable %9: its size is not a multiple of 16 bytes (4)");
  /* the same without the matrix type: a shader without cooperative matrices may */
  const size_t type_at = 5 + 4 + 4 + 3;
  g_assert_cmpuint(bad[type_at], ==, (6u << 16) | SPV_TYPE_COOP_MATRIX_NV);
  bad[type_at] = (6u << 16) | 5359u; /* (OpCooperativeMatrixLoadNV's number: an instruction read as any other) */
  g_assert_false(spirv_coop_shared_misfit(bad, G_N_ELEMENTS(bad), why, sizeof why, &has_coop, &sized));
  g_assert_false(has_coop);
}

/* The pipeline cache is written on close and read back (validated) on the next open. */
static void test_pipeline_cache(void)
{
  char *dir = g_dir_make_tmp("still-vk-cache-XXXXXX", NULL);
  g_assert_nonnull(dir);
  char *old = g_strdup(g_getenv("XDG_CACHE_HOME"));
  g_setenv("XDG_CACHE_HOME", dir, TRUE);
  char *path = NULL;
  /* the single file of earlier versions: removed once the file of the device is written */
  char *legacy = g_build_filename(dir, "distill", "vk-pipeline-cache.bin", NULL);
  char *legacy_dir = g_path_get_dirname(legacy);
  g_assert_cmpint(g_mkdir_with_parents(legacy_dir, 0755), ==, 0);
  g_assert_true(g_file_set_contents(legacy, "old pipelines", -1, NULL));

  still_vk *vk = open_or_skip(NULL);
  if (!vk) goto out;
  /* one file per kind of device */
  char *name = g_strdup_printf("vk-pipeline-cache-%04x-%04x.bin", vk->props.vendorID, vk->props.deviceID);
  path = g_build_filename(dir, "distill", name, NULL);
  g_free(name);
  g_assert_cmpstr(still_vk_pipeline_cache_path(vk), ==, path);
  g_assert_false(still_vk_pipeline_cache_loaded(vk));
  still_error err = {0};
  still_vk_buffer b;
  g_assert_cmpint(still_vk_buffer_new(vk, 4096, &b, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &b, 0, &b, 0, 0, &b, 0, 16, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &b);
  g_assert_true(g_file_test(legacy, G_FILE_TEST_EXISTS));
  still_vk_close(vk);
  g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
  g_assert_false(g_file_test(legacy, G_FILE_TEST_EXISTS));

  vk = open_or_skip(NULL);
  g_assert_true(still_vk_pipeline_cache_loaded(vk));
  still_vk_close(vk);

  /* a corrupt file (wrong header) is ignored, not handed to the driver */
  gchar *bytes;
  gsize len;
  g_assert_true(g_file_get_contents(path, &bytes, &len, NULL));
  g_assert_cmpuint(len, >=, 32);
  bytes[16] ^= 0x5a; /* pipelineCacheUUID */
  g_assert_true(g_file_set_contents(path, bytes, (gssize)len, NULL));
  g_free(bytes);
  vk = open_or_skip(NULL);
  g_assert_false(still_vk_pipeline_cache_loaded(vk));
  still_vk_close(vk);
  g_assert_true(g_file_set_contents(path, "short", 5, NULL));
  vk = open_or_skip(NULL);
  g_assert_false(still_vk_pipeline_cache_loaded(vk));
  still_vk_close(vk);

out:
  if (path) g_remove(path);
  g_remove(legacy);
  g_free(legacy);
  g_free(legacy_dir);
  char *sub = g_build_filename(dir, "distill", NULL);
  g_rmdir(sub);
  g_rmdir(dir);
  g_free(sub);
  if (old) g_setenv("XDG_CACHE_HOME", old, TRUE);
  else g_unsetenv("XDG_CACHE_HOME");
  g_free(old);
  g_free(path);
  g_free(dir);
}

/* ---- activations rounded to 8 bits (quantize_q8.comp) ---- */

typedef struct {
  int n, rows;
  uint32_t x_off, x_stride; /* floats: x_off % 4 != 0 takes the scalar loads */
  bool same_buffer;         /* the rounded rows after the floats in x's buffer (as the forward pass) */
} round8_case;

static void test_round8(gconstpointer data)
{
  const round8_case *c = data;
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const int n = c->n, rows = c->rows;
  const uint32_t words = still_vk_round8_words((uint32_t)n), q_stride = ((words + 3) & ~3u) + 8;
  const size_t x_len = c->x_off + (size_t)c->x_stride * (rows - 1) + n;
  const uint32_t q_off = c->same_buffer ? (uint32_t)((x_len + 3) & ~(size_t)3) : 4;
  const size_t q_len = q_off + (size_t)q_stride * rows;
  float *x = g_new(float, x_len);
  for (size_t i = 0; i < x_len; i++) x[i] = frand() * (float)(1 + i % 5);
  for (int i = 0; i < 32 && i < n; i++) x[c->x_off + (size_t)i] = 0.0f; /* a block of zeros: d 0, codes 0 */
  if (n >= 64) x[c->x_off + 40] = 3e5f;                               /* a block with one large value */
  uint32_t *q = g_new(uint32_t, q_len);
  for (size_t i = 0; i < q_len; i++) q[i] = 0xdeadbeefu; /* gaps stay untouched */
  still_error err = {0};
  still_vk_buffer bx, bq;
  const size_t bx_len = c->same_buffer ? q_len : x_len;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * bx_len, &bx, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bx, 0, x, 4 * x_len, &err), ==, STILL_OK);
  still_vk_buffer *qb = &bx;
  if (!c->same_buffer) {
    g_assert_cmpint(still_vk_buffer_new(vk, 4 * q_len, &bq, &err), ==, STILL_OK);
    qb = &bq;
  }
  g_assert_cmpint(still_vk_upload(vk, qb, 4 * (size_t)q_off, q + q_off, 4 * (q_len - q_off), &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_round8(vk, &bx, c->x_off, c->x_stride, qb, q_off, q_stride, (uint32_t)n, (uint32_t)rows,
                                  &err),
                  ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, qb, 4 * (size_t)q_off, q + q_off, 4 * (q_len - q_off), &err), ==, STILL_OK);
  for (int r = 0; r < rows; r++) {
    check_round8(x + c->x_off + (size_t)r * c->x_stride, q + q_off + (size_t)r * q_stride, n);
    for (uint32_t i = words; i < q_stride; i++) g_assert_cmphex(q[q_off + (size_t)r * q_stride + i], ==, 0xdeadbeefu);
  }
  const float *ds = (const float *)(q + q_off + n / 4);
  g_assert_cmpfloat(ds[0], ==, 0.0f);
  g_assert_cmpfloat(ds[1], ==, 0.0f);
  g_assert_cmphex(q[q_off], ==, 0);
  g_test_message("round8 %d x%d from %u%s: ok", n, rows, c->x_off, c->same_buffer ? ", one buffer" : "");

  /* refused: no whole blocks, a misplaced or too short destination */
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_round8(vk, &bx, c->x_off, c->x_stride, qb, q_off, q_stride, (uint32_t)n - 16, 1, &err), ==,
                  STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_round8(vk, &bx, c->x_off, c->x_stride, qb, q_off + 2, q_stride, (uint32_t)n, 1, &err), ==,
                  STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_round8(vk, &bx, c->x_off, c->x_stride, qb, q_off, q_stride, (uint32_t)n,
                                  (uint32_t)rows + 1, &err),
                  ==, STILL_ERR_INVALID_ARG);
  /* rounded rows onto the floats they come from (one buffer) */
  if (c->same_buffer)
    g_assert_cmpint(still_vk_round8(vk, &bx, c->x_off, c->x_stride, &bx, (c->x_off + 3) & ~3u, q_stride, (uint32_t)n,
                                    1, &err),
                    ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &bx);
  if (!c->same_buffer) still_vk_buffer_free(vk, &bq);
  g_free(x), g_free(q);
  still_vk_close(vk);
}

/* ---- residual add fused with RMSNorm (add_rms_norm.comp) ---- */

typedef struct {
  int n, rows;
  bool aligned; /* offsets and strides multiples of 4 (the vec4 shader when n is too) */
  bool add, weight;
  bool round8; /* y also rounded to 8 bits (after y's floats in its buffer) */
} add_norm_case;

static void test_add_rms_norm(gconstpointer data)
{
  const add_norm_case *c = data;
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const int n = c->n, rows = c->rows;
  const uint32_t pad = c->aligned ? 8 : 3;
  const uint32_t x_off = pad, x_stride = (uint32_t)n + pad, r_off = c->aligned ? 4 : 1, r_stride = (uint32_t)n + 2 * pad,
                 g_off = c->aligned ? 4 : 5, y_off = c->aligned ? 12 : 7, y_stride = (uint32_t)n + pad;
  const size_t x_len = x_off + (size_t)x_stride * rows, r_len = r_off + (size_t)r_stride * rows,
               y_floats = y_off + (size_t)y_stride * rows, g_len = g_off + (size_t)n;
  /* round8: the rows' rounded forms after y's floats, 4 spare words apart */
  const uint32_t q_off = (uint32_t)((y_floats + 3) & ~(size_t)3),
                 q_stride = c->round8 ? ((still_vk_round8_words((uint32_t)n) + 3) & ~3u) + 4 : 0;
  const size_t y_len = c->round8 ? q_off + (size_t)q_stride * rows : y_floats;
  const float eps = 1e-6f;
  float *x = g_new(float, x_len), *r = g_new(float, r_len), *g = g_new(float, g_len), *y = g_new(float, y_len);
  float *xg = g_new(float, x_len);
  for (size_t i = 0; i < x_len; i++) x[i] = frand() * 4;
  for (size_t i = 0; i < r_len; i++) r[i] = frand() * 2;
  for (size_t i = 0; i < g_len; i++) g[i] = frand() + 0.5f;
  for (size_t i = 0; i < y_len; i++) y[i] = 1234.5f; /* gaps stay untouched */
  still_error err = {0};
  still_vk_buffer bx, br, bg, by;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * x_len, &bx, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * r_len, &br, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * g_len, &bg, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * y_len, &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bx, 0, x, 4 * x_len, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &br, 0, r, 4 * r_len, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bg, 0, g, 4 * g_len, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &by, 0, y, 4 * y_len, &err), ==, STILL_OK);
  still_vk_add_rms_norm_args a = {.n = (uint32_t)n, .nrows = (uint32_t)rows, .x_off = x_off, .x_stride = x_stride,
                                  .r_off = r_off, .r_stride = r_stride, .g_off = g_off, .y_off = y_off,
                                  .y_stride = y_stride, .eps = eps, .round8 = c->round8, .q_off = q_off,
                                  .q_stride = q_stride};
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_add_rms_norm(vk, &bx, c->add ? &br : NULL, c->weight ? &bg : NULL, &by, &a, &err), ==,
                  STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &bx, 0, xg, 4 * x_len, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_download(vk, &by, 0, y, 4 * y_len, &err), ==, STILL_OK);

  double *want = g_new(double, (size_t)n * rows);
  float *got = g_new(float, (size_t)n * rows);
  for (int row = 0; row < rows; row++) {
    double ss = 0;
    for (int i = 0; i < n; i++) {
      const size_t xi = x_off + (size_t)row * x_stride + i;
      /* the sum in float, as the CPU graph and the shader do it */
      const float s = c->add ? x[xi] + r[r_off + (size_t)row * r_stride + i] : x[xi];
      g_assert_cmpfloat(xg[xi], ==, s); /* x = x + r written back (or untouched) */
      ss += (double)s * s;
    }
    const double scale = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) {
      const size_t xi = x_off + (size_t)row * x_stride + i;
      want[(size_t)row * n + i] = (double)xg[xi] * scale * (c->weight ? g[g_off + i] : 1.0f);
      got[(size_t)row * n + i] = y[y_off + (size_t)row * y_stride + i];
    }
    g_assert_cmpfloat(y[y_off + (size_t)row * y_stride + n], ==, 1234.5f);
  }
  g_assert_cmpfloat(y[0], ==, 1234.5f);
  /* the gaps of x between rows are untouched too */
  for (int row = 0; row < rows; row++)
    for (uint32_t i = (uint32_t)n; i < x_stride && x_off + (size_t)row * x_stride + i < x_len; i++)
      g_assert_cmpfloat(xg[x_off + (size_t)row * x_stride + i], ==, x[x_off + (size_t)row * x_stride + i]);
  double e = nmse(got, want, (size_t)n * rows);
  g_test_message("add_rms_norm n %d x%d%s%s%s: NMSE %.3g", n, rows, c->aligned ? " aligned" : "",
                 c->add ? " add" : "", c->weight ? " weight" : "", e);
  g_assert_cmpfloat(e, <, 1e-11);
  if (c->round8) {
    /* each row's rounded form is that of the row's floats as written; the
     * spare words between rounded rows stay untouched */
    for (int row = 0; row < rows; row++) {
      const uint32_t *q = (const uint32_t *)(y + q_off + (size_t)row * q_stride);
      check_round8(y + y_off + (size_t)row * y_stride, q, n);
      for (uint32_t i = still_vk_round8_words((uint32_t)n); i < q_stride; i++)
        g_assert_cmpfloat(y[q_off + (size_t)row * q_stride + i], ==, 1234.5f);
    }
    /* rounded rows over the floats are refused */
    still_vk_add_rms_norm_args b = a;
    b.q_off = y_off + 4;
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_add_rms_norm(vk, &bx, &br, &bg, &by, &b, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  } else {
    /* rows the vec4 shader does not take, or of no whole blocks, cannot be
     * rounded (said, not done); others need room after y's floats, which
     * this buffer has not */
    still_vk_add_rms_norm_args b = a;
    b.round8 = true, b.q_off = q_off, b.q_stride = 0, b.nrows = 1;
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    const still_status st = still_vk_add_rms_norm(vk, &bx, &br, &bg, &by, &b, &err);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    g_assert_cmpint(st, ==, !c->aligned || n % 32 ? STILL_ERR_UNSUPPORTED : STILL_ERR_INVALID_ARG);
  }

  /* a row past the buffer is refused before recording */
  a.nrows = (uint32_t)rows + 3;
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_add_rms_norm(vk, &bx, &br, &bg, &by, &a, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &bx), still_vk_buffer_free(vk, &br), still_vk_buffer_free(vk, &bg);
  still_vk_buffer_free(vk, &by);
  g_free(x), g_free(r), g_free(g), g_free(y), g_free(xg), g_free(want), g_free(got);
  still_vk_close(vk);
}

/* ---- copies recorded into the command buffer ---- */

/* Upload, op, download, op on the same region, download again, all in one
 * submit: each download sees the ops recorded before it and not the ones
 * after; nothing reaches the host before the submit. */
static void test_rec_copies(gconstpointer data)
{
  const bool staging = GPOINTER_TO_INT(data);
  still_vk_params p = {.force_staging = staging, .no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const int n = 5003;
  float *a = g_new(float, n), *b = g_new(float, n), *d1 = g_new(float, n), *d2 = g_new(float, n), *d3 = g_new(float, n);
  for (int i = 0; i < n; i++) a[i] = frand() * 3, b[i] = frand() + 2;
  still_error err = {0};
  still_vk_buffer ba, bb, by, bz;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &ba, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &bb, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n + 64, &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n + 64, &bz, &err), ==, STILL_OK);
  g_assert_true(staging ? ba.map == NULL : true);
  /* a mapped buffer is read after the submit: there no op recorded after
   * the download may write the region (vk.h); through staging the second
   * op writes it in place */
  still_vk_buffer *b2 = staging ? &by : &bz;
  if (staging) {
    g_assert_cmpuint(still_vk_rec_cost(vk, &ba, 4 * (size_t)n), >=, 4 * (size_t)n);
    g_assert_cmpuint(still_vk_rec_space(vk), >=, 1u << 20);
  } else if (ba.map) g_assert_cmpuint(still_vk_rec_cost(vk, &ba, 4 * (size_t)n), ==, 0);
  /* outside begin/submit: refused */
  g_assert_cmpint(still_vk_upload_rec(vk, &ba, 0, a, 4 * (size_t)n, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_download_rec(vk, &ba, 0, d1, 4 * (size_t)n, &err), ==, STILL_ERR_INVALID_ARG);

  for (int round = 0; round < 3; round++) { /* the staging space is reused submit after submit */
    for (int i = 0; i < n; i++) d1[i] = d2[i] = d3[i] = -7.0f;
    if (round > 0)
      for (int i = 0; i < n; i++) a[i] = frand() * 3;
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload_rec(vk, &ba, 0, a, 4 * (size_t)n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload_rec(vk, &bb, 0, b, 4 * (size_t)n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &ba, 0, &bb, 0, 0, &by, 1, n, &err), ==, STILL_OK);
    if (round == 1) g_assert_cmpint(still_vk_flush(vk, &err), ==, STILL_OK); /* the rest in a second buffer */
    g_assert_cmpint(still_vk_download_rec(vk, &by, 4, d1, 4 * (size_t)n, &err), ==, STILL_OK);
    if (round == 2) g_assert_cmpint(still_vk_flush(vk, &err), ==, STILL_OK);
    /* y = y * b after the first download */
    g_assert_cmpint(still_vk_binary(vk, STILL_VK_MUL, &by, 1, &bb, 0, 0, b2, 1, n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download_rec(vk, b2, 4, d2, 4 * (size_t)n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download_rec(vk, &ba, 0, d3, 4 * (size_t)n, &err), ==, STILL_OK);
    /* nothing is read back before the submit */
    g_assert_cmpfloat(d1[0], ==, -7.0f);
    g_assert_cmpfloat(d2[n - 1], ==, -7.0f);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    for (int i = 0; i < n; i++) {
      g_assert_cmpfloat(d1[i], ==, a[i] + b[i]);
      g_assert_cmpfloat(d2[i], ==, (a[i] + b[i]) * b[i]);
      g_assert_cmpfloat(d3[i], ==, a[i]);
    }
  }
  /* more than the staging space: refused with a message, and the submit still works */
  if (staging) {
    const size_t big = still_vk_rec_space(vk) + 4;
    still_vk_buffer bbig;
    g_assert_cmpint(still_vk_buffer_new(vk, big, &bbig, &err), ==, STILL_OK);
    void *host = g_malloc0(big);
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload_rec(vk, &bbig, 0, host, big, &err), ==, STILL_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err.message, "staging"));
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    still_vk_buffer_free(vk, &bbig);
    g_free(host);
  }
  /* too many downloads in one submit: refused */
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  still_status last = STILL_OK;
  for (int i = 0; i < 40 && last == STILL_OK; i++) last = still_vk_download_rec(vk, &ba, 0, d3, 4, &err);
  g_assert_cmpint(last, ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &ba), still_vk_buffer_free(vk, &bb), still_vk_buffer_free(vk, &by);
  still_vk_buffer_free(vk, &bz);
  g_free(a), g_free(b), g_free(d1), g_free(d2), g_free(d3);
  still_vk_close(vk);
}

/* still_vk_flush: the ops recorded before a flush run first, and those
 * after see their writes; more flushes than command buffers are no-ops;
 * outside begin/submit it is refused. */
static void test_flush(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  const int n = 3000, steps = 12;
  float *a = g_new(float, n), *y = g_new(float, n);
  for (int i = 0; i < n; i++) a[i] = (float)(i % 17) - 8.0f;
  still_error err = {0};
  still_vk_buffer ba, by;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &ba, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &by, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_flush(vk, &err), ==, STILL_ERR_INVALID_ARG);
  for (int round = 0; round < 2; round++) {
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload_rec(vk, &ba, 0, a, 4 * (size_t)n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_binary(vk, STILL_VK_COPY, &ba, 0, &ba, 0, 0, &by, 0, n, &err), ==, STILL_OK);
    for (int k = 1; k < steps; k++) { /* y += a, a flush after each */
      g_assert_cmpint(still_vk_flush(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &by, 0, &ba, 0, 0, &by, 0, n, &err), ==, STILL_OK);
    }
    g_assert_cmpint(still_vk_download_rec(vk, &by, 0, y, 4 * (size_t)n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    for (int i = 0; i < n; i++) g_assert_cmpfloat(y[i], ==, a[i] * steps);
  }
  still_vk_buffer_free(vk, &ba), still_vk_buffer_free(vk, &by);
  g_free(a), g_free(y);
  still_vk_close(vk);
}

/* STILL_VK_ONESUBMIT=0: no staging space for recorded copies (the forward
 * pass then takes the old path) */
static void test_rec_copies_off(void)
{
  g_setenv("STILL_VK_ONESUBMIT", "0", TRUE);
  still_vk_params p = {.force_staging = true, .no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  g_unsetenv("STILL_VK_ONESUBMIT");
  if (!vk) return;
  still_error err = {0};
  still_vk_buffer b;
  float v = 1.0f;
  g_assert_cmpint(still_vk_buffer_new(vk, 64, &b, &err), ==, STILL_OK);
  g_assert_cmpuint(still_vk_rec_space(vk), ==, 0);
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload_rec(vk, &b, 0, &v, 4, &err), ==, STILL_ERR_INVALID_ARG);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  still_vk_buffer_free(vk, &b);
  still_vk_close(vk);
}

/* ---- cached descriptor sets ---- */

/* The same op again uses its cached set; a freed buffer's sets are dropped,
 * so a new buffer (the driver may reuse the VkBuffer value) gets a set that
 * names it, not a stale one. */
static void test_set_cache(void)
{
  still_vk_params p = {.no_pipeline_cache = true};
  still_vk *vk = open_or_skip(&p);
  if (!vk) return;
  if (!vk->set_cache_on) {
    g_test_skip("descriptor set cache off (STILL_VK_SET_CACHE=0)");
    still_vk_close(vk);
    return;
  }
  const int n = 1000;
  float *a = g_new(float, n), *y = g_new(float, n);
  for (int i = 0; i < n; i++) a[i] = frand();
  still_error err = {0};
  still_vk_buffer ba, by;
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &ba, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &ba, 0, a, 4 * (size_t)n, &err), ==, STILL_OK);
  const uint64_t live0 = vk->set_live;
  for (int round = 0; round < 20; round++) {
    g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n, &by, &err), ==, STILL_OK);
    const uint64_t hits0 = vk->set_hits, misses0 = vk->set_misses;
    const float k = (float)round;
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    /* y = a; y = y + a, k times (the same buffers: one set) */
    g_assert_cmpint(still_vk_binary(vk, STILL_VK_COPY, &ba, 0, &ba, 0, 0, &by, 0, n, &err), ==, STILL_OK);
    for (int j = 0; j < round; j++)
      g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &by, 0, &ba, 0, 0, &by, 0, n, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &by, 0, y, 4 * (size_t)n, &err), ==, STILL_OK);
    for (int i = 0; i < n; i++) g_assert_cmpfloat(fabsf(y[i] - a[i] * (k + 1)), <=, 1e-5f * (k + 1));
    g_assert_cmpuint(vk->set_misses - misses0, ==, round > 0 ? 2 : 1);
    g_assert_cmpuint(vk->set_hits - hits0, ==, round > 1 ? (uint64_t)round - 1 : 0);
    g_assert_cmpuint(vk->set_live, ==, live0 + (round > 0 ? 2 : 1));
    still_vk_buffer_free(vk, &by); /* its sets go */
    g_assert_cmpuint(vk->set_live, ==, live0);
  }
  still_vk_buffer_free(vk, &ba);
  g_free(a), g_free(y);
  still_vk_close(vk);
}

/* Host time to record the ops of a 28-layer decode step (20 dispatches
 * per layer over ~40 buffers), with and without the set cache. Only with
 * STILL_VK_BENCH=1. */
static void bench_record(void)
{
  double us[2];
  for (int cache = 0; cache < 2; cache++) {
    g_setenv("STILL_VK_SET_CACHE", cache ? "1" : "0", TRUE);
    still_vk_params p = {.no_pipeline_cache = true};
    still_vk *vk = open_or_skip(&p);
    g_unsetenv("STILL_VK_SET_CACHE");
    if (!vk) return;
    still_error err = {0};
    enum { NB = 40 };
    still_vk_buffer b[NB];
    for (int i = 0; i < NB; i++) g_assert_cmpint(still_vk_buffer_new(vk, 4096, &b[i], &err), ==, STILL_OK);
    const int reps = 30, per = 28 * 20;
    gint64 total = 0;
    for (int rep = 0; rep < reps + 1; rep++) {
      gint64 t0 = g_get_monotonic_time();
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      for (int d = 0; d < per; d++)
        g_assert_cmpint(still_vk_binary(vk, STILL_VK_ADD, &b[d % NB], 0, &b[(d * 7 + 3) % NB], 0, 0,
                                        &b[(d * 13 + 5) % NB], 0, 4, &err), ==, STILL_OK);
      gint64 t1 = g_get_monotonic_time();
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      if (rep > 0) total += t1 - t0; /* the first builds the pipeline */
    }
    us[cache] = (double)total / reps;
    for (int i = 0; i < NB; i++) still_vk_buffer_free(vk, &b[i]);
    still_vk_close(vk);
  }
  g_test_message("recording %d dispatches: %.0f us without the set cache, %.0f us with it", 28 * 20, us[0], us[1]);
  printf("# recording 560 dispatches: %.0f us without the set cache, %.0f us with it\n", us[0], us[1]);
}

/* still_vk_matmul_coop_check: on a device with tensor cores (lavapipe: emulated) it passes, is
 * kept (for the context, and for the process: another context runs nothing), and leaves the
 * switches as it found it; without them it fails at once, saying so
 * (still_vk_coop_verify then has nothing to turn off); on a "driver" that runs the Q8_0
 * prefill as another type's, it fails, and still_vk_coop_verify turns the context's tensor
 * cores off (prompts, and the attention with them), saying why. */
static void test_matmul_coop_check(void)
{
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  char why[160] = "unset";
  if (!still_vk_has_coopmat(vk)) {
    g_assert_false(still_vk_matmul_coop_check(vk, why, sizeof why));
    g_assert_cmpstr(why, ==, "no tensor cores in use on this device");
    g_assert_cmpint(vk->mm_coop_checked, ==, -1);
    g_assert_true(still_vk_coop_verify(vk, why, sizeof why));
    g_assert_cmpstr(why, ==, "");
    still_vk_close(vk);
    return;
  }
  const int mode = vk->matmul_mode;
  g_assert_true(still_vk_matmul_coop_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "");
  g_assert_cmpint(vk->mm_coop_checked, ==, 1);
  g_assert_true(still_vk_has_coopmat(vk));
  g_assert_cmpint(vk->matmul_mode, ==, mode);
  g_assert_true(still_vk_coop_verify(vk, why, sizeof why));
  vk->mm_coop_checked = -1; /* kept: a second call runs nothing */
  g_strlcpy(vk->mm_coop_failed, "kept", sizeof vk->mm_coop_failed);
  g_assert_false(still_vk_matmul_coop_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "kept");
  still_vk_close(vk);
  /* another context on the same device takes the process's verdict: nothing runs (no
   * tensor-core prefill module made) */
  vk = open_or_skip(NULL);
  g_assert_nonnull(vk);
  g_assert_true(still_vk_matmul_coop_check(vk, why, sizeof why));
  for (int id = VK_SHADER_MATMUL_COOP_F16; id <= VK_SHADER_MATMUL_COOP_N128_IQ4_NL; id++)
    g_assert_true(vk->modules[id] == VK_NULL_HANDLE);
  still_vk_close(vk);
  /* the broken "drivers" (emulated only: a real GPU's driver is what it is): one that runs the
   * Q8_0 prefill as Q4_0's, one that cannot run it */
  const char *env = g_getenv("STILL_VK_COOPMAT");
  if (!env || strncmp(env, "emulate", 7) != 0) {
    g_test_message("the failing cases need STILL_VK_COOPMAT=emulate");
    return;
  }
  const still_vk_shader *saved = still_vk_coop_emulated;
  for (int missing = 0; missing < 2; missing++) {
    still_vk_shader *broken = vk_coop_emulation_broken(missing);
    still_vk_coop_emulated = broken;
    vk = open_or_skip(NULL);
    g_assert_nonnull(vk);
    g_assert_true(still_vk_has_coopmat(vk));
    g_assert_false(still_vk_matmul_coop_check(vk, why, sizeof why));
    g_test_message("%s", why);
    g_assert_true(g_str_has_prefix(why, missing ? "its tensor-core shader did not run: Vulkan: no emulated version of "
                                                : "its output differed from the products in float32 (by "));
    g_assert_cmpint(vk->mm_coop_checked, ==, -1);
    g_assert_true(still_vk_has_coopmat(vk)); /* (the check alone turns nothing off) */
    char why2[160];
    g_assert_false(still_vk_coop_verify(vk, why2, sizeof why2));
    g_assert_cmpstr(why2, ==, why);
    g_assert_false(still_vk_has_coopmat(vk));
    g_assert_false(still_vk_attention_coop_possible(vk));
    g_assert_true(still_vk_coop_verify(vk, why, sizeof why)); /* (nothing left to turn off) */
    still_vk_close(vk);
    still_vk_coop_emulated = saved;
    free(broken);
  }
}

/* The cooperative-matrix operations one layout at a time (coop_probe.comp): each that the
 * tensor-core shaders use, at their strides and at others, against the exact product (inputs
 * in halves and quarters: float16 and float32 hold them and every sum here exactly). On a GPU
 * whose driver runs the tensor-core attention wrong, it says which operation it gets wrong;
 * on lavapipe (STILL_VK_COOPMAT=emulate) it checks the probe and its indexing. Every wrong
 * probe is said before the test fails. */
static void test_coop_probe(void)
{
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  if (!still_vk_has_coopmat(vk) || vk->coopmat_n != 16) {
    g_test_skip("no 16x16x16 tensor cores (lavapipe: STILL_VK_COOPMAT=emulate)");
    still_vk_close(vk);
    return;
  }
  static const struct {
    still_vk_shader_id id;
    bool c_load;
    const char *what;
  } probes[] = {
    {VK_SHADER_COOP_PROBE_PREFILL, false, "A row-major, B column-major, D stored column-major (the prefill's)"},
    {VK_SHADER_COOP_PROBE_SCORES, false, "D stored row-major (the attention's scores and scratch)"},
    {VK_SHADER_COOP_PROBE_VALUES, false, "B row-major (the attention's values)"},
    {VK_SHADER_COOP_PROBE_A_COL, false, "A column-major"},
    {VK_SHADER_COOP_PROBE_C_ROW, true, "C loaded row-major (the attention's rescale)"},
    {VK_SHADER_COOP_PROBE_C_COL, true, "C loaded and D stored column-major"},
    {VK_SHADER_COOP_PROBE_LONE, false, "the prefill's with a 4-byte shared variable declared first"},
  };
  /* A, B (halves), C, D (floats): the prefill's, the attention's queries and keys with its
   * scores, its weights and values with its scratch, dense, and odd ones */
  static const uint32_t strides[][4] = {{72, 72, 16, 16}, {136, 136, 32, 32}, {40, 136, 16, 16},
                                        {16, 16, 16, 16}, {24, 40, 20, 36}};
  for (size_t s = 0; s < G_N_ELEMENTS(strides); s++)
    for (int i = 0; i < 4; i++) { /* (the blocks, band after band, inside the shader's arrays) */
      const uint32_t st = strides[s][i], blocks = i < 2 ? 8 : 4, per = st / 16;
      g_assert_cmpuint(st % (i < 2 ? 8 : 4), ==, 0);
      g_assert_cmpuint(per, >=, 1);
      g_assert_cmpuint((blocks + per - 1) / per * 16 * st, <=, i < 2 ? 4096 : 1536);
    }
  float in[4096 + 1024], out[1025], nan_out[1025];
  uint32_t seed = 0x9e3779b9u;
  for (int i = 0; i < 4096; i++) {
    seed = seed * 1664525u + 1013904223u;
    in[i] = (float)((int)(seed >> 24) % 9 - 4) * 0.5f;
  }
  for (int i = 4096; i < 4096 + 1024; i++) {
    seed = seed * 1664525u + 1013904223u;
    in[i] = (float)((int)(seed >> 24) % 17 - 8) * 0.25f;
  }
  for (int i = 0; i < 1025; i++) nan_out[i] = NAN;
  still_error err = {0};
  still_vk_buffer bin = {0}, bout = {0};
  g_assert_cmpint(still_vk_buffer_new(vk, sizeof in, &bin, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, sizeof out, &bout, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bin, 0, in, sizeof in, &err), ==, STILL_OK);
  int wrong_runs = 0;
  for (size_t p = 0; p < G_N_ELEMENTS(probes); p++)
    for (size_t s = 0; s < G_N_ELEMENTS(strides); s++) {
      g_assert_cmpint(still_vk_upload(vk, &bout, 0, nan_out, sizeof nan_out, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
      const still_vk_buffer *bufs[2] = {&bin, &bout};
      g_assert_cmpint(still_vk_dispatch(vk, probes[p].id, bufs, 2, strides[s], 16, 1, 1, 1, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
      g_assert_cmpint(still_vk_download(vk, &bout, 0, out, sizeof out, &err), ==, STILL_OK);
      int wrong = 0, transposed = 0; /* (the latter: values found where their transposes belong) */
      char first[160] = "";
      float want[1024];
      for (int sg = 0; sg < 4; sg++)
        for (int m = 0; m < 16; m++)
          for (int n = 0; n < 16; n++) {
            double w = probes[p].c_load ? in[4096 + 256 * sg + 16 * m + n] : 0.0;
            for (int step = 0; step < 2; step++)
              for (int k = 0; k < 16; k++)
                w += (double)in[256 * (2 * sg + step) + 16 * m + k] * in[2048 + 256 * (2 * sg + step) + 16 * k + n];
            want[256 * sg + 16 * m + n] = (float)w;
          }
      for (int i = 0; i < 1024; i++) {
        const int sg = i / 256, m = (i % 256) / 16, n = i % 16;
        if (out[i] == want[256 * sg + 16 * n + m]) transposed++;
        if (out[i] != want[i] && !wrong++)
          g_snprintf(first, sizeof first, "subgroup %d (%d, %d): %g, not %g", sg, m, n, out[i], want[i]);
      }
      if (out[1024] != 12345.0f) {
        if (!wrong++) g_snprintf(first, sizeof first, "the lone variable read back %g, not 12345", out[1024]);
      }
      if (wrong) {
        g_test_message("coop probe %s, strides %u %u %u %u: %d of 1025 values wrong, first %s%s", probes[p].what,
                       strides[s][0], strides[s][1], strides[s][2], strides[s][3], wrong, first,
                       transposed == 1024 ? " (each block transposed)" : "");
        wrong_runs++;
      }
    }
  g_test_message("coop probe: %d of %d runs wrong on %s", wrong_runs,
                 (int)(G_N_ELEMENTS(probes) * G_N_ELEMENTS(strides)), vk->props.deviceName);
  still_vk_buffer_free(vk, &bin), still_vk_buffer_free(vk, &bout);
  still_vk_close(vk);
  g_assert_cmpint(wrong_runs, ==, 0);
}

/* still_vk_attention_merge_check: passes on this device, keeps its answer, leaves the switches
 * and the counters as they were; where it cannot run (no counters) it fails without keeping
 * that; a device without 10 bindings an op (STILL_VK_MAX_BINDINGS=8) never merges in the fold,
 * whatever the switch says, and fails the check. */
/* still_vk_attention_coop_check, for each of the two designs: on a device with 16x16x16 tensor
 * cores (lavapipe: emulated, STILL_VK_COOPMAT=emulate) it passes, runs that design's shader
 * (the other's module is not made by it), is kept apart from the other design's verdict, and
 * leaves the switch as it found it; without them it fails at once, saying so, and is kept too;
 * a check that cannot run (the tiled attention it compares with switched off) says so and is
 * not kept; a design that does not exist is refused. With STILL_VK_ATTN_COOP=1 or 2 only that
 * design is checked (gpu-check runs each apart: one failing would end the run before the
 * other's). */
static void test_attention_coop_check(void)
{
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  char why[160] = "unset";
  g_assert_false(still_vk_attention_coop_check(vk, 3, why, sizeof why));
  g_assert_cmpstr(why, ==, "no design 3 of the attention on the tensor cores (1 or 2)");
  g_assert_false(still_vk_attention_coop_check(vk, 0, why, sizeof why));
  g_assert_cmpstr(why, ==, "no design 0 of the attention on the tensor cores (1 or 2)");
  if (!still_vk_attention_coop_possible(vk)) {
    for (uint32_t d = 1; d <= 2; d++) {
      g_assert_false(still_vk_attention_coop_check(vk, d, why, sizeof why));
      g_assert_cmpstr(why, ==, "the device has no 16x16x16 tensor cores");
      g_assert_cmpint(vk->coop_checked[d - 1], ==, -1);
    }
    still_vk_close(vk);
    return;
  }
  const uint32_t was = vk->attn_coop; /* (STILL_VK_ATTN_COOP, as the test runs) */
  static const still_vk_shader_id shader[2] = {VK_SHADER_ATTENTION_COOP_F16, VK_SHADER_ATTENTION_COOP_LANES_F16};
  for (uint32_t d = was ? was : 1; d <= (was ? was : 2); d++) {
    const bool other_made = vk->modules[shader[2 - d]] != VK_NULL_HANDLE;
    g_assert_true(still_vk_attention_coop_check(vk, d, why, sizeof why));
    g_assert_cmpstr(why, ==, "");
    g_assert_cmpint(vk->coop_checked[d - 1], ==, 1);
    g_assert_true(vk->modules[shader[d - 1]] != VK_NULL_HANDLE);
    g_assert_cmpint(vk->modules[shader[2 - d]] != VK_NULL_HANDLE, ==, other_made);
    g_assert_cmpint(vk->attn_coop, ==, was);
  }
  /* kept, for each design: a second call runs nothing */
  const uint32_t d = was ? was : 2, other = 3 - d;
  vk->coop_checked[d - 1] = -1;
  g_strlcpy(vk->coop_failed[d - 1], "kept", sizeof vk->coop_failed[d - 1]);
  g_assert_false(still_vk_attention_coop_check(vk, d, why, sizeof why));
  g_assert_cmpstr(why, ==, "kept");
  vk->coop_checked[other - 1] = 1;
  g_assert_true(still_vk_attention_coop_check(vk, other, why, sizeof why));
  still_vk_close(vk);
  g_setenv("STILL_VK_ATTN_TILE", "0", TRUE);
  vk = open_or_skip(NULL);
  g_unsetenv("STILL_VK_ATTN_TILE");
  g_assert_false(still_vk_attention_coop_check(vk, 1, why, sizeof why));
  g_assert_true(g_str_has_prefix(why, "its check could not run: "));
  g_assert_cmpint(vk->coop_checked[0], ==, 0);
  still_vk_close(vk);
}

static void test_attention_merge_check(void)
{
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  char why[160] = "unset";
  g_assert_true(still_vk_attention_merge_fold_possible(vk));
  vk->attn_fold_off = true; /* (as the tuner may have it when it asks) */
  g_assert_true(still_vk_attention_merge_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "");
  g_assert_cmpint(vk->merge_checked, ==, 1);
  g_assert_true(vk->attn_fold_off);
  g_assert_false(vk->attn_merge_fold);
  still_error err = {0};
  uint32_t counts[STILL_VK_COUNTS_BYTES / 4];
  g_assert_cmpint(still_vk_download(vk, &vk->counts, 0, counts, sizeof counts, &err), ==, STILL_OK);
  for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) g_assert_cmpuint(counts[i], ==, 0);
  /* kept: a second call runs nothing (its answer even where the device would say otherwise now) */
  vk->merge_checked = -1;
  g_strlcpy(vk->merge_failed, "kept", sizeof vk->merge_failed);
  g_assert_false(still_vk_attention_merge_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "kept");
  still_vk_close(vk);

  /* no counters (their memory could not be had): the merged runs take the merge apart, and the
   * check says it could not run, and may run again */
  vk = open_or_skip(NULL);
  vk->counts_failed = true;
  g_assert_false(still_vk_attention_merge_check(vk, why, sizeof why));
  g_assert_true(g_str_has_prefix(why, "its check could not run: "));
  g_assert_cmpint(vk->merge_checked, ==, 0);
  vk->counts_failed = false;
  g_assert_true(still_vk_attention_merge_check(vk, why, sizeof why));
  g_assert_cmpint(vk->merge_checked, ==, 1);
  still_vk_close(vk);

  g_setenv("STILL_VK_MAX_BINDINGS", "8", TRUE);
  g_setenv("STILL_VK_ATTN_FOLD", "2", TRUE);
  vk = open_or_skip(NULL);
  g_unsetenv("STILL_VK_MAX_BINDINGS");
  g_unsetenv("STILL_VK_ATTN_FOLD");
  g_assert_nonnull(vk);
  g_assert_cmpuint(vk->n_bindings, ==, 8);
  g_assert_true(vk->attn_merge_fold);
  g_assert_false(still_vk_attention_merge_fold_possible(vk));
  g_assert_false(still_vk_attention_fold_merges(vk));
  g_assert_true(still_vk_attention_folds(vk));
  g_assert_false(still_vk_attention_merge_check(vk, why, sizeof why));
  g_assert_cmpstr(why, ==, "the device allows fewer than 10 storage buffers a shader");
  still_vk_close(vk);
}

/* still_vk_attention_fold (decode: rope_store.comp's work done in the split
 * attention's dispatch) against still_vk_rope_store + still_vk_attention_split
 * on the same inputs: the other cache rows untouched, the new one as
 * rope_store writes it, the same output within float rounding (the new key's
 * score is summed in another order), the q/k/v products left as they were. data: {kv_type, pos0,
 * head_dim, n_head, n_head_kv, norm, neox, rot (0: none, 1: part of the head,
 * 2: all), stacked (2: v apart, 3: q, k and v in one buffer)}. The stacked ones also round the
 * output to 8 bits (the product after it reads that). Where the device can, the fold with the
 * merge in its last workgroups (still_vk_attention_fold_merges) runs a third time: the same
 * cache bytes, the same output within float rounding, one dispatch, and its counters left at 0. */
typedef struct {
  uint32_t kv_type;
  int pos0, head_dim, n_head, n_head_kv, norm, neox, rot, stacked;
} fold_case;

static void test_attention_fold(gconstpointer data)
{
  const fold_case *c = data;
  still_vk *vk = open_or_skip(NULL);
  if (!vk) return;
  const int hd = c->head_dim, n_head = c->n_head, n_kv = c->n_head_kv, pos0 = c->pos0;
  const int n_rot = c->rot == 0 ? 0 : c->rot == 1 ? hd - 16 : hd, half = n_rot / 2;
  const int n_q = n_head * hd, n_k = n_kv * hd, n_ctx = pos0 + 1 + 5;
  const int stride = n_q + n_k + (c->stacked == 3 ? n_k : 0); /* floats of the q/k(/v) product */
  const float eps = 1e-6f;
  still_vk_rope_store_args rs = {.kv_type = c->kv_type, .n_tok = 1, .n_head = n_head, .n_head_kv = n_kv,
                                 .head_dim_k = hd, .head_dim_v = hd, .n_rot = n_rot, .neox = c->neox, .eps = eps,
                                 .q_off = 0, .q_stride = stride, .k_off = n_q, .k_stride = stride,
                                 .v_off = c->stacked == 3 ? n_q + n_k : 0, .v_stride = c->stacked == 3 ? stride : n_k,
                                 .cs_off = 0, .kc_off = (uint32_t)(pos0 * n_k), .vc_off = (uint32_t)(pos0 * n_k)};
  /* the 8-bit form after the floats, from word r8 */
  const bool round8 = c->stacked == 3;
  const int r8 = (n_q + 3) / 4 * 4, n_out = round8 ? r8 + (int)still_vk_round8_words((uint32_t)n_q) : n_q;
  still_vk_attention_args aa = {.kv_type = c->kv_type, .n_tok = 1, .n_head = n_head, .n_head_kv = n_kv,
                                .head_dim_k = hd, .head_dim_v = hd, .pos0 = pos0, .q_off = 0, .q_stride = stride,
                                .k_off = 0, .v_off = 0, .o_off = 0, .o_stride = n_q, .scale = 1.0f / sqrtf((float)hd),
                                .round8 = round8, .r8_off = round8 ? (uint32_t)r8 : 0};
  g_assert_true(still_vk_rope_store_ok(vk, &rs));
  if (!still_vk_attention_split_ok(vk, &aa)) { /* (a workgroup too large for this group of heads) */
    g_assert_false(still_vk_attention_fold_ok(vk, &aa, &rs));
    g_test_skip("no split attention for this shape with this workgroup size");
    still_vk_close(vk);
    return;
  }
  g_assert_true(still_vk_attention_fold_ok(vk, &aa, &rs));
  rng_state = 0x9e3779b97f4a7c15ull ^ (uint64_t)(pos0 * 131 + hd * 7 + n_head);
  float *qk = g_new(float, stride), *vs = g_new(float, n_k), *tab = g_new(float, 2 * (size_t)(half ? half : 1));
  float *qn = g_new(float, hd), *kn = g_new(float, hd);
  for (int i = 0; i < stride; i++) qk[i] = 3 * frand();
  for (int i = 0; i < n_k; i++) vs[i] = 3 * frand();
  for (int i = 0; i < hd; i++) qn[i] = 1 + 0.5f * frand(), kn[i] = 1 + 0.5f * frand();
  for (int i = 0; i < half; i++) {
    const double f = pow(10000.0, -2.0 * i / n_rot);
    tab[i] = (float)cos(pos0 * f), tab[half + i] = (float)sin(pos0 * f);
  }
  /* the cache rows before pos0: values as the type holds them */
  const size_t rb =
    c->kv_type == STILL_TYPE_Q8_0 ? (size_t)n_k / 32 * 34 : (size_t)n_k * (c->kv_type == STILL_TYPE_F32 ? 4 : 2);
  const size_t cache_bytes = (size_t)still_vk_kv_cache_bytes(c->kv_type, (uint64_t)n_ctx * n_k);
  unsigned char *kc0 = g_malloc0(cache_bytes), *vc0 = g_malloc0(cache_bytes);
  float *row = g_new(float, n_k);
  for (int r = 0; r < n_ctx; r++)
    for (int which = 0; which < 2; which++) {
      unsigned char *dst = (which ? vc0 : kc0) + (size_t)r * rb;
      for (int i = 0; i < n_k; i++) row[i] = r == pos0 ? 0 : 2 * frand();
      if (c->kv_type == STILL_TYPE_F32) memcpy(dst, row, rb);
      else if (c->kv_type == STILL_TYPE_F16)
        for (int i = 0; i < n_k; i++) {
          const uint16_t h = still_fp32_to_fp16(row[i]);
          memcpy(dst + 2 * i, &h, 2);
        }
      else still_type_get(STILL_TYPE_Q8_0)->from_float(row, dst, n_k);
    }

  still_error err = {0};
  still_vk_buffer bqk, bvs, bc, bqn, bkn, bkc[3], bvc[3], bpart, bo[3];
  const bool merges = still_vk_attention_merge_fold_possible(vk);
  const int runs = merges ? 3 : 2;
  const uint64_t pf = still_vk_attention_part_floats(vk, 1, n_head, hd, pos0 + 1);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)stride, &bqk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_k, &bvs, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 8 * (size_t)(half ? half : 1), &bc, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)hd, &bqn, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)hd, &bkn, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_buffer_new(vk, 4 * pf, &bpart, &err), ==, STILL_OK);
  for (int i = 0; i < runs; i++) {
    g_assert_cmpint(still_vk_buffer_new(vk, cache_bytes, &bkc[i], &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_buffer_new(vk, cache_bytes, &bvc[i], &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_buffer_new(vk, 4 * (size_t)n_out, &bo[i], &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload(vk, &bkc[i], 0, kc0, cache_bytes, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_upload(vk, &bvc[i], 0, vc0, cache_bytes, &err), ==, STILL_OK);
  }
  /* stacked 3: v in the product's rows, after k; else in a buffer of its own */
  if (c->stacked == 3) memcpy(qk + n_q + n_k, vs, 4 * (size_t)n_k);
  g_assert_cmpint(still_vk_upload(vk, &bqk, 0, qk, 4 * (size_t)stride, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bvs, 0, vs, 4 * (size_t)n_k, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bc, 0, tab, 8 * (size_t)(half ? half : 1), &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bqn, 0, qn, 4 * (size_t)hd, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_upload(vk, &bkn, 0, kn, 4 * (size_t)hd, &err), ==, STILL_OK);
  const still_vk_buffer *vsrc = c->stacked == 3 ? &bqk : &bvs;

  const still_vk_buffer *qnb = c->norm ? &bqn : NULL, *knb = c->norm ? &bkn : NULL;

  /* the folds first (the q/k product must be as uploaded), then the two dispatches they replace */
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_attention_fold(vk, &bqk, vsrc, &bc, &bkc[0], &bvc[0], qnb, knb, &bpart, &bo[0], &aa, &rs,
                                          &err),
                  ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  float *got_qk = g_new(float, stride);
  g_assert_cmpint(still_vk_download(vk, &bqk, 0, got_qk, 4 * (size_t)stride, &err), ==, STILL_OK);
  g_assert_cmpmem(got_qk, 4 * (size_t)stride, qk, 4 * (size_t)stride);
  if (merges) { /* the fold with the merge in it, one dispatch (before rope_store changes q in place) */
    /* the scratch full of NaNs: a merge that reads a chunk before it is written shows */
    float *nan_part = g_new(float, pf);
    for (uint64_t i = 0; i < pf; i++) nan_part[i] = NAN;
    g_assert_cmpint(still_vk_upload(vk, &bpart, 0, nan_part, 4 * pf, &err), ==, STILL_OK);
    g_free(nan_part);
    vk->attn_merge_fold = true;
    g_assert_true(still_vk_attention_fold_merges(vk));
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_attention_fold(vk, &bqk, vsrc, &bc, &bkc[2], &bvc[2], qnb, knb, &bpart, &bo[2], &aa,
                                            &rs, &err),
                    ==, STILL_OK);
    g_assert_cmpint(vk->n_dispatch, ==, 1); /* (the counters are zeroed at their first use by a fill, not a dispatch) */
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
    vk->attn_merge_fold = false;
    uint32_t counts[STILL_VK_COUNTS_BYTES / 4];
    g_assert_cmpint(still_vk_download(vk, &vk->counts, 0, counts, sizeof counts, &err), ==, STILL_OK);
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) g_assert_cmpuint(counts[i], ==, 0);
  }

  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_rope_store(vk, &bqk, &bqk, vsrc, &bc, &bkc[1], &bvc[1], qnb, knb, &rs, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_attention_split(vk, &bqk, &bkc[1], &bvc[1], &bpart, &bo[1], &aa, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  unsigned char *ck[3], *cv[3];
  float *out[3];
  for (int i = 0; i < runs; i++) {
    ck[i] = g_malloc(cache_bytes), cv[i] = g_malloc(cache_bytes), out[i] = g_new(float, n_out);
    g_assert_cmpint(still_vk_download(vk, &bkc[i], 0, ck[i], cache_bytes, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &bvc[i], 0, cv[i], cache_bytes, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_download(vk, &bo[i], 0, out[i], 4 * (size_t)n_out, &err), ==, STILL_OK);
  }
  /* the other cache rows untouched; the new one written, as rope_store writes it: the same
   * code, so the same bytes where the driver compiles both shaders alike (lavapipe), else
   * within rounding (the norm's sum over another subgroup size, fused multiply-adds: a few
   * F16 halves or Q8_0 codes one step apart) */
  for (int r = 0; r < n_ctx; r++) {
    if (r == pos0) continue;
    for (int i = 0; i < 2; i++) {
      g_assert_cmpmem(ck[i] + (size_t)r * rb, rb, kc0 + (size_t)r * rb, rb);
      g_assert_cmpmem(cv[i] + (size_t)r * rb, rb, vc0 + (size_t)r * rb, rb);
    }
  }
  g_assert_true(memcmp(ck[0] + (size_t)pos0 * rb, kc0 + (size_t)pos0 * rb, rb) != 0);
  int bytes_apart = 0;
  for (size_t i = 0; i < rb; i++)
    bytes_apart += (ck[0][(size_t)pos0 * rb + i] != ck[1][(size_t)pos0 * rb + i]) +
                   (cv[0][(size_t)pos0 * rb + i] != cv[1][(size_t)pos0 * rb + i]);
  const double bound_row = c->kv_type == STILL_TYPE_F32 ? 1e-10 : c->kv_type == STILL_TYPE_F16 ? 1e-6 : 1e-4;
  double *want = g_new(double, n_q > n_k ? n_q : n_k);
  float *got_row = g_new(float, n_k);
  double e_row[2];
  for (int which = 0; which < 2; which++) {
    cache_row(c->kv_type, which ? cv[1] : ck[1], pos0, n_k, row);
    for (int i = 0; i < n_k; i++) want[i] = row[i];
    cache_row(c->kv_type, which ? cv[0] : ck[0], pos0, n_k, got_row);
    e_row[which] = nmse(got_row, want, (size_t)n_k);
    g_assert_cmpfloat(e_row[which], <, bound_row);
  }
  for (int i = 0; i < n_q; i++) want[i] = out[1][i];
  const double e = nmse(out[0], want, (size_t)n_q);
  g_test_message("fold %s pos0 %d hd %d heads %d/%d: output NMSE against rope_store + split %.3g; new K row %.3g, "
                 "V row %.3g (%d bytes apart)",
                 still_type_name(c->kv_type), pos0, hd, n_head, n_kv, e, e_row[0], e_row[1], bytes_apart);
  g_assert_cmpfloat(e, <, 1e-10);
  /* the 8-bit form of each run: its own floats, rounded */
  for (int i = 0; i < runs && round8; i++) check_round8(out[i], (const uint32_t *)(out[i] + r8), n_q);
  if (merges) {
    /* the fold's own cache row and every other one as the fold without the merge wrote them */
    g_assert_cmpmem(ck[2], cache_bytes, ck[0], cache_bytes);
    g_assert_cmpmem(cv[2], cache_bytes, cv[0], cache_bytes);
    for (int j = 0; j < n_q; j++) want[j] = out[0][j];
    const double em = nmse(out[2], want, (size_t)n_q);
    g_test_message("with the merge folded: output NMSE against the fold alone %.3g", em);
    g_assert_cmpfloat(em, <, 1e-12);
  }

  /* refused: two tokens; a cache row that is not pos0's; the switch off by rope_store's rules */
  still_vk_rope_store_args bad = rs;
  bad.kc_off += (uint32_t)n_k;
  g_assert_false(still_vk_attention_fold_ok(vk, &aa, &bad));
  g_assert_cmpint(still_vk_attention_fold(vk, &bqk, vsrc, &bc, &bkc[0], &bvc[0], qnb, knb, &bpart, &bo[0], &aa, &bad,
                                          &err),
                  ==, STILL_ERR_UNSUPPORTED);
  still_vk_attention_args two = aa;
  two.n_tok = 2;
  g_assert_false(still_vk_attention_fold_ok(vk, &two, &rs));
  /* refused: a cache row written onto the q/k product the op reads (rope_store, and the fold
   * where the new row is row 0) */
  still_vk_rope_store_args onto = rs;
  onto.kc_off = 0;
  g_assert_cmpint(still_vk_rope_store(vk, &bqk, &bqk, vsrc, &bc, &bqk, &bvc[1], qnb, knb, &onto, &err), ==,
                  STILL_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err.message, "onto"));
  /* refused: the output written onto the q/k/v product (the merge writes it while other
   * workgroups read that) */
  still_vk_attention_args over = aa;
  over.o_off = 0, over.round8 = false;
  g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
  g_assert_cmpint(still_vk_attention_fold(vk, &bqk, vsrc, &bc, &bkc[0], &bvc[0], qnb, knb, &bpart, &bqk, &over, &rs,
                                          &err),
                  ==, STILL_ERR_INVALID_ARG);
  g_assert_nonnull(strstr(err.message, "output onto"));
  g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  if (pos0 == 0) {
    g_assert_cmpint(still_vk_begin(vk, &err), ==, STILL_OK);
    g_assert_cmpint(still_vk_attention_fold(vk, &bqk, vsrc, &bc, &bkc[0], &bqk, qnb, knb, &bpart, &bo[0], &aa, &rs,
                                            &err),
                    ==, STILL_ERR_INVALID_ARG);
    g_assert_nonnull(strstr(err.message, "onto"));
    g_assert_cmpint(still_vk_submit(vk, &err), ==, STILL_OK);
  }

  still_vk_buffer *bs[] = {&bqk, &bvs, &bc, &bqn, &bkn, &bpart};
  for (size_t i = 0; i < G_N_ELEMENTS(bs); i++) still_vk_buffer_free(vk, bs[i]);
  for (int i = 0; i < runs; i++) {
    still_vk_buffer_free(vk, &bkc[i]), still_vk_buffer_free(vk, &bvc[i]), still_vk_buffer_free(vk, &bo[i]);
    g_free(ck[i]), g_free(cv[i]), g_free(out[i]);
  }
  g_free(qk), g_free(vs), g_free(tab), g_free(qn), g_free(kn), g_free(kc0), g_free(vc0), g_free(row);
  g_free(got_qk), g_free(want), g_free(got_row);
  still_vk_close(vk);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  lavapipe_cache_per_width();
  g_test_add_func("/vk/open", test_open);
  g_test_add_data_func("/vk/buffers/mapped", GINT_TO_POINTER(0), test_buffers);
  g_test_add_data_func("/vk/buffers/staging", GINT_TO_POINTER(1), test_buffers);
  g_test_add_func("/vk/out-of-memory", test_out_of_memory);
  g_test_add_func("/vk/gpu-bandwidth", test_gpu_bandwidth);
  g_test_add_func("/vk/pipeline-cache", test_pipeline_cache);
  g_test_add_func("/vk/shaders/coop-constant-index", test_shaders_coop_constant_index);
  g_test_add_func("/vk/shaders/coop-shared-sizes", test_shaders_coop_shared_sizes);
  g_test_add_func("/vk/tune-search", test_tune_search);
  g_test_add_func("/vk/matmul-wide", test_matmul_wide);
  g_test_add_func("/vk/memory-candidates", test_memory_candidates);
  g_test_add_func("/vk/matvec/rows-switch", test_matvec_rows_switch);
  static const uint32_t types[] = {STILL_TYPE_F32,  STILL_TYPE_F16,  STILL_TYPE_BF16, STILL_TYPE_Q8_0,
                                   STILL_TYPE_Q4_0, STILL_TYPE_Q4_1, STILL_TYPE_Q5_0, STILL_TYPE_Q5_1,
                                   STILL_TYPE_IQ4_NL, STILL_TYPE_Q4_K, STILL_TYPE_Q5_K, STILL_TYPE_Q6_K,
                                   STILL_TYPE_IQ4_XS, STILL_TYPE_Q2_K, STILL_TYPE_Q3_K};
  static matvec_case cases[G_N_ELEMENTS(types) * 2];
  for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
    /* one vector, and six vectors through the staging path with more rows */
    cases[2 * i] = (matvec_case){types[i], 512, 37, 1};
    cases[2 * i + 1] = (matvec_case){types[i], 768, 70, 6}; /* 4 + 2 vectors per workgroup */
    char *p1 = g_strdup_printf("/vk/matvec/%s", still_type_name(types[i]));
    char *p2 = g_strdup_printf("/vk/matvec/%s/batch", still_type_name(types[i]));
    g_test_add_data_func(p1, &cases[2 * i], test_matvec);
    g_test_add_data_func(p2, &cases[2 * i + 1], test_matvec);
    g_free(p1), g_free(p2);
  }
  /* matvec_team.comp passes of 256 values: rows that end inside a pass
   * (17 Q8_0/Q4_0 blocks, 300 F16 values: a thread's 8 values cut short),
   * an odd F16 width (matvec.comp instead), and a real width (1536) */
  static const matvec_case team_cases[] = {
    {STILL_TYPE_Q8_0, 544, 33, 1}, {STILL_TYPE_Q4_0, 544, 33, 5}, {STILL_TYPE_F16, 300, 35, 3},
    {STILL_TYPE_F16, 301, 9, 2},   {STILL_TYPE_Q4_K, 1536, 67, 1}, {STILL_TYPE_Q5_K, 1536, 3, 4},
    {STILL_TYPE_Q6_K, 1536, 66, 7}, {STILL_TYPE_Q8_0, 1536, 64, 1},
    /* one vector (several rows per team, STILL_VK_MATVEC_ROWS) with 1, 2
     * and 3 rows left over for the last team of 4 */
    {STILL_TYPE_Q6_K, 1536, 67, 1}, {STILL_TYPE_Q4_0, 544, 34, 1}, {STILL_TYPE_Q5_K, 1536, 5, 1},
    /* the same with vec4 loads of the activations */
    {STILL_TYPE_Q8_0, 544, 33, 1, false, true}, {STILL_TYPE_Q4_0, 544, 33, 5, false, true},
    {STILL_TYPE_F16, 300, 35, 3, false, true},  {STILL_TYPE_Q4_K, 1536, 67, 1, false, true},
    {STILL_TYPE_Q5_K, 1536, 3, 4, false, true}, {STILL_TYPE_Q6_K, 1536, 66, 7, false, true},
    /* the smaller files' types: 5 Q2_K/Q3_K blocks (the last pass of two
     * blocks half past the row; Q3_K rows of 550 bytes start on 2 bytes),
     * 5 and 6 IQ4_XS blocks (passes of four), rows left over for the last
     * team of 4, several vectors, vec4 loads */
    {STILL_TYPE_Q3_K, 1280, 33, 1}, {STILL_TYPE_Q3_K, 1280, 66, 5, false, true},
    {STILL_TYPE_Q2_K, 1280, 35, 3}, {STILL_TYPE_Q2_K, 1536, 67, 1, false, true},
    {STILL_TYPE_IQ4_XS, 1536, 67, 1}, {STILL_TYPE_IQ4_XS, 1280, 9, 2, false, true},
    {STILL_TYPE_Q3_K, 1536, 6, 1, false, true}, {STILL_TYPE_IQ4_XS, 1280, 37, 6},
    /* the other blocks of 32 (Q5_0 and IQ4_NL blocks on 2 bytes): 17 blocks
     * (the last pass holds one), rows left over for the last team of 4 */
    {STILL_TYPE_Q4_1, 544, 33, 1}, {STILL_TYPE_Q5_0, 544, 34, 1, false, true}, {STILL_TYPE_Q5_1, 544, 35, 3},
    {STILL_TYPE_IQ4_NL, 544, 33, 5, false, true}, {STILL_TYPE_Q5_0, 1056, 7, 6}, {STILL_TYPE_IQ4_NL, 1056, 67, 1},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(team_cases); i++) {
    char *path = g_strdup_printf("/vk/matvec/%s/%dx%d-x%d%s", still_type_name(team_cases[i].type),
                                 team_cases[i].nrows, team_cases[i].ncols, team_cases[i].n_vec,
                                 team_cases[i].aligned_x ? "-aligned" : "");
    g_test_add_data_func(path, &team_cases[i], test_matvec);
    g_free(path);
  }
  /* weights on 16 bytes (as uploaded by the forward pass): K-quant rows read
   * as 16-byte vectors, 4 blocks per pass (6 and 17 blocks: the last pass
   * partly past the row's end), and rows shared by 2 teams (the shader's
   * own choice for 67 rows of 17 blocks, or forced) */
  static const matvec_case wide_cases[] = {
    {STILL_TYPE_Q4_K, 1536, 67, 1, false, true, true},    {STILL_TYPE_Q4_K, 4352, 67, 3, false, true, true},
    {STILL_TYPE_Q5_K, 1536, 5, 4, false, true, true},     {STILL_TYPE_Q5_K, 4352, 33, 1, false, false, true},
    {STILL_TYPE_Q6_K, 1280, 66, 2, false, true, true},    {STILL_TYPE_Q6_K, 4352, 31, 7, false, true, true, 2},
    {STILL_TYPE_Q4_K, 4352, 9, 5, false, false, true, 2}, {STILL_TYPE_Q8_0, 4352, 40, 1, false, true, true, 2},
    {STILL_TYPE_Q4_0, 4352, 40, 6, false, true, true, 2}, {STILL_TYPE_F16, 2056, 40, 2, false, true, true, 2},
    {STILL_TYPE_Q3_K, 4352, 9, 1, false, true, true, 2},  {STILL_TYPE_Q2_K, 4352, 40, 6, false, false, true, 2},
    {STILL_TYPE_IQ4_XS, 4352, 11, 1, false, true, true, 2}, {STILL_TYPE_Q3_K, 4352, 31, 3, false, false, true},
    {STILL_TYPE_Q5_0, 4352, 9, 1, false, true, true, 2},   {STILL_TYPE_IQ4_NL, 4352, 40, 3, false, false, true, 2},
    {STILL_TYPE_Q4_1, 4352, 10, 1, false, true, true, 2},  {STILL_TYPE_Q5_1, 4352, 5, 2, false, true, true, 2},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(wide_cases); i++) {
    const matvec_case *c = &wide_cases[i];
    char *path = g_strdup_printf("/vk/matvec/%s/%dx%d-x%d%s-w16-sub%d", still_type_name(c->type), c->nrows,
                                 c->ncols, c->n_vec, c->aligned_x ? "-aligned" : "", c->subs);
    g_test_add_data_func(path, c, test_matvec);
    g_free(path);
  }
  /* one vector over more than one chunk of matvec_dot.comp's rounded
   * activations (8192 values): 34 Q4_K/Q5_K blocks (the last pass mostly
   * past the row), 33 Q6_K blocks, 257 Q8_0/Q4_0 blocks (a second chunk of
   * one block), the FFN width of R1-Llama-8B; odd rows for the last team */
  static const matvec_case long_cases[] = {
    {STILL_TYPE_Q4_K, 8704, 9, 1, false, true, true},   {STILL_TYPE_Q6_K, 8448, 7, 1, false, false, false},
    {STILL_TYPE_Q8_0, 8224, 5, 1, false, true, false},  {STILL_TYPE_Q4_K, 14336, 3, 1, false, false, true},
    {STILL_TYPE_Q6_K, 14336, 5, 1, false, true, false}, {STILL_TYPE_Q5_K, 8704, 7, 1, false, true, true},
    {STILL_TYPE_Q4_0, 8224, 6, 1, false, false, false}, {STILL_TYPE_Q5_K, 1536, 10, 1, false, false, true},
    /* 128 Q4_K blocks in four chunks: 16 passes, rows shared by 4 teams */
    {STILL_TYPE_Q4_K, 32768, 3, 1, false, true, true},
    /* the FFN width of R1-Llama-8B and ffn_down of the 32B (27648) in the smaller files' types */
    {STILL_TYPE_Q3_K, 14336, 5, 1, false, true, false}, {STILL_TYPE_Q2_K, 27648, 3, 1, false, true, true},
    {STILL_TYPE_IQ4_XS, 14336, 6, 1, false, false, true},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(long_cases); i++) {
    const matvec_case *c = &long_cases[i];
    char *path = g_strdup_printf("/vk/matvec/%s/%dx%d-x1-long%s%s", still_type_name(c->type), c->nrows, c->ncols,
                                 c->aligned_x ? "-aligned" : "", c->w16 ? "-w16" : "");
    g_test_add_data_func(path, c, test_matvec);
    g_free(path);
  }
  /* the tiled matrix × matrix: ragged shapes (vectors 1, 7, 33, 130 across
   * the 32-vector tiles; rows not a multiple of the 64-row tiles) */
  static matvec_case mm_cases[G_N_ELEMENTS(types) * 4];
  static const int mm_vecs[4] = {1, 7, 33, 130}, mm_rows[4] = {37, 70, 129, 64};
  for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
    for (int k = 0; k < 4; k++) {
      /* K-quants need 256 columns per block; 768 = 3 blocks, 24 steps of 32 */
      mm_cases[4 * i + k] = (matvec_case){types[i], k == 3 ? 1024 : 768, mm_rows[k], mm_vecs[k], true};
      char *path = g_strdup_printf("/vk/matmul/%s/%dx%d", still_type_name(types[i]), mm_rows[k], mm_vecs[k]);
      g_test_add_data_func(path, &mm_cases[4 * i + k], test_matvec);
      g_free(path);
    }
  /* K-quant rows on 16 bytes (as the forward pass uploads them), which the
   * batched integer dot products take (STILL_VK_MATMUL=dot): groups of 8
   * vectors with one left over, several groups, a ragged last one */
  static const matvec_case mm_w16[] = {{STILL_TYPE_Q4_K, 1024, 70, 9, true, true, true},
                                       {STILL_TYPE_Q5_K, 1536, 129, 130, true, true, true},
                                       {STILL_TYPE_Q4_K, 4352, 37, 33, true, true, true}};
  /* rows as long as the 32B's and 70B's ffn_down (27648, 28672 values): on lavapipe, past its
   * limit of loop iterations per invocation for matmul.comp (vk-ops.c, matmul_loops_cut) */
  static const matvec_case mm_long[] = {{STILL_TYPE_Q4_K, 27648, 37, 20, true, true, true},
                                        {STILL_TYPE_F16, 28672, 33, 9, true, true, false},
                                        {STILL_TYPE_Q8_0, 28672, 70, 33, true, true, false},
                                        {STILL_TYPE_Q5_0, 28672, 37, 20, true, true, false},
                                        {STILL_TYPE_IQ4_NL, 28672, 33, 9, true, false, false},
                                        /* 832 steps of 64 values: just inside the loop budget that
                                         * keeps matmul_wide.comp on lavapipe (vk-ops.c) */
                                        {STILL_TYPE_F16, 53248, 33, 9, true, true, false}};
  for (size_t i = 0; i < G_N_ELEMENTS(mm_long); i++) {
    char *path = g_strdup_printf("/vk/matmul/%s/%dx%d-x%d-long-rows", still_type_name(mm_long[i].type),
                                 mm_long[i].nrows, mm_long[i].ncols, mm_long[i].n_vec);
    g_test_add_data_func(path, &mm_long[i], test_matvec);
    g_free(path);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(mm_w16); i++) {
    char *path = g_strdup_printf("/vk/matmul/%s/%dx%d-x%d-w16", still_type_name(mm_w16[i].type), mm_w16[i].nrows,
                                 mm_w16[i].ncols, mm_w16[i].n_vec);
    g_test_add_data_func(path, &mm_w16[i], test_matvec);
    g_free(path);
  }
  /* scalar types: a width that ends inside a 32-column step */
  /* ... and for the 64-value steps of matmul_team.comp: 17 blocks of 32 (the
   * last step holds one block), an F16 row that ends inside a thread's 8 values */
  static const matvec_case mm_odd[] = {{STILL_TYPE_F32, 100, 65, 40, true}, {STILL_TYPE_F16, 46, 3, 9, true},
                                       {STILL_TYPE_Q8_0, 544, 70, 40, true}, {STILL_TYPE_Q4_0, 544, 65, 33, true},
                                       {STILL_TYPE_F16, 202, 66, 35, true},
                                       /* the same on activations whose offsets allow 16-byte loads (the
                                        * last values of a row one at a time) */
                                       {STILL_TYPE_F16, 206, 66, 35, true, true},
                                       /* the other blocks of 32 (Q5_0, IQ4_NL rows on 2 bytes) */
                                       {STILL_TYPE_Q4_1, 544, 65, 33, true}, {STILL_TYPE_Q5_0, 544, 70, 40, true},
                                       {STILL_TYPE_Q5_1, 544, 37, 9, true}, {STILL_TYPE_IQ4_NL, 544, 65, 33, true}};
  for (size_t i = 0; i < G_N_ELEMENTS(mm_odd); i++) {
    char *path = g_strdup_printf("/vk/matmul/%s/%d-columns", still_type_name(mm_odd[i].type), mm_odd[i].ncols);
    g_test_add_data_func(path, &mm_odd[i], test_matvec);
    g_free(path);
  }
  for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
    char *path = g_strdup_printf("/vk/get-rows/%s", still_type_name(types[i]));
    g_test_add_data_func(path, GUINT_TO_POINTER(types[i]), test_get_rows);
    g_free(path);
  }
  /* the tensor-core prefill: per type, ragged tiles, then a real prefill width */
  static const uint32_t coop_types[] = {STILL_TYPE_F16,  STILL_TYPE_Q8_0,   STILL_TYPE_Q4_0, STILL_TYPE_Q4_K,
                                        STILL_TYPE_Q5_K, STILL_TYPE_Q6_K,   STILL_TYPE_Q2_K, STILL_TYPE_Q3_K,
                                        STILL_TYPE_IQ4_XS, STILL_TYPE_Q4_1, STILL_TYPE_Q5_0, STILL_TYPE_Q5_1,
                                        STILL_TYPE_IQ4_NL};
  static coop_case coop_cases[G_N_ELEMENTS(coop_types) * 6];
  for (size_t i = 0; i < G_N_ELEMENTS(coop_types); i++) {
    const uint32_t t = coop_types[i];
    const bool blocks32 = still_type_get(t)->block_size == 32;
    const int odd = t == STILL_TYPE_F16 ? 202 : blocks32 ? 544 : 768;
    coop_cases[6 * i + 0] = (coop_case){t, 256, 37, 8, false};
    coop_cases[6 * i + 1] = (coop_case){t, 1024, 130, 37, false};
    coop_cases[6 * i + 2] = (coop_case){t, odd, 200, 70, false};
    coop_cases[6 * i + 3] = (coop_case){t, odd, 65, 9, true};
    coop_cases[6 * i + 4] = (coop_case){t, 4096, 64, 512, true};
    coop_cases[6 * i + 5] = (coop_case){t, 2048, 257, 129, true};
    for (int k = 0; k < 6; k++) {
      const coop_case *cc = &coop_cases[6 * i + k];
      char *path = g_strdup_printf("/vk/matmul-coop/%s/%dx%d-x%d%s", still_type_name(t), cc->nrows, cc->ncols,
                                   cc->n_vec, cc->aligned_x ? "-aligned" : "");
      g_test_add_data_func(path, cc, test_matmul_coop);
      g_free(path);
    }
  }
  if (g_getenv("STILL_VK_BENCH")) g_test_add_func("/vk/bench/matmul", bench_matmul);
  static const fused_case fused_cases[] = {
    {STILL_TYPE_Q4_K, 1536, 70, 1, false}, {STILL_TYPE_Q6_K, 1536, 33, 3, false}, {STILL_TYPE_Q8_0, 896, 40, 2, false},
    {STILL_TYPE_F16, 512, 17, 1, false},   {STILL_TYPE_Q4_K, 2304, 70, 1, true},  {STILL_TYPE_Q5_K, 1536, 9, 5, true},
    {STILL_TYPE_Q6_K, 1280, 66, 2, true},  {STILL_TYPE_Q4_0, 1024, 40, 7, true},  {STILL_TYPE_Q8_0, 1088, 35, 1, true},
    /* few rows of long rows: a row shared by 2 teams, and rows left over
     * for the last group of 4 (or 2) rows */
    {STILL_TYPE_Q4_K, 4352, 9, 1, true},   {STILL_TYPE_Q6_K, 4352, 7, 1, false},  {STILL_TYPE_Q8_0, 4352, 5, 1, true},
    /* two chunks of rounded activations (matvec_dot.comp) */
    {STILL_TYPE_Q4_K, 8704, 6, 1, true},   {STILL_TYPE_Q6_K, 8448, 5, 1, false},  {STILL_TYPE_Q8_0, 8224, 4, 1, true},
    {STILL_TYPE_Q5_K, 8704, 5, 1, true},   {STILL_TYPE_Q4_0, 1024, 9, 1, false},  {STILL_TYPE_Q4_0, 2048, 6, 1, true},
    {STILL_TYPE_Q8_0, 1088, 35, 1, false}, {STILL_TYPE_Q4_K, 8704, 7, 1, false},
    /* the smaller files' types (Q3_K rows of 1760 bytes: the up rows on 16 bytes; 550: on 2) */
    {STILL_TYPE_Q3_K, 4096, 9, 1, true},   {STILL_TYPE_Q3_K, 1280, 35, 2, false}, {STILL_TYPE_Q2_K, 1536, 33, 1, true},
    {STILL_TYPE_Q2_K, 2304, 7, 3, false},  {STILL_TYPE_IQ4_XS, 2304, 70, 1, true}, {STILL_TYPE_IQ4_XS, 1280, 5, 1, false},
    /* the other blocks of 32 (Q5_0 and IQ4_NL rows of 17 blocks on 2 bytes) */
    {STILL_TYPE_Q4_1, 1024, 9, 1, true},   {STILL_TYPE_Q5_0, 544, 34, 1, true},   {STILL_TYPE_Q5_1, 544, 7, 2, false},
    {STILL_TYPE_IQ4_NL, 544, 66, 1, true}, {STILL_TYPE_IQ4_NL, 1024, 5, 3, false},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(fused_cases); i++) {
    const fused_case *c = &fused_cases[i];
    char *path = g_strdup_printf("/vk/matvec-fused/%s/%s/%dx%d-x%d", c->swiglu ? "swiglu" : "bias",
                                 still_type_name(c->type), c->nrows, c->ncols, c->n_vec);
    g_test_add_data_func(path, c, test_matvec_fused);
    g_free(path);
  }
  static const norm_tail_case norm_cases[] = {
    /* R1-Qwen-1.5B's wo and down widths (1536 rows), 8B's (4096) */
    {STILL_TYPE_Q4_K, 1536, 1536, false, false}, {STILL_TYPE_Q4_K, 1536, 1536, true, true},
    {STILL_TYPE_Q6_K, 8960, 1536, true, false},  {STILL_TYPE_Q6_K, 1536, 1536, false, true},
    {STILL_TYPE_Q8_0, 1088, 4096, true, false},  {STILL_TYPE_Q8_0, 896, 896, false, true},
    {STILL_TYPE_Q5_K, 2304, 1536, true, true},   {STILL_TYPE_Q4_0, 1024, 1024, false, false},
    {STILL_TYPE_F16, 512, 896, true, false},
    /* rows left over for the last workgroup's teams, one workgroup only, and many */
    {STILL_TYPE_Q4_K, 512, 1540, false, false},  {STILL_TYPE_Q8_0, 256, 12, false, false},
    {STILL_TYPE_Q4_0, 256, 8192, true, true},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(norm_cases); i++) {
    const norm_tail_case *c = &norm_cases[i];
    char *path = g_strdup_printf("/vk/matvec-norm/%s/%dx%d%s%s", still_type_name(c->type), c->nrows, c->ncols,
                                 c->round8 ? "-round8" : "", c->pre ? "-pre" : "");
    g_test_add_data_func(path, c, test_matvec_norm);
    g_free(path);
  }
  g_test_add_func("/vk/matvec-norm/unsupported", test_matvec_norm_unsupported);
  g_test_add_func("/vk/norm-fold-check", test_norm_fold_check);
  g_test_add_func("/vk/matvec/unsupported", test_matvec_unsupported);
  g_test_add_func("/vk/matvec-dot/taken", test_matvec_dot_taken);
  g_test_add_func("/vk/reopen", test_reopen);
  g_test_add_func("/vk/rms-norm", test_rms_norm);
  /* widths of real models (attention output 4096, SwiGLU output 14336),
   * several rows, vectors that do not start on 4 floats */
  static const round8_case r8[] = {
    {4096, 1, 0, 4096, true}, {14336, 1, 4, 14336, false}, {96, 3, 3, 101, false}, {1536, 2, 8, 1540, true},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(r8); i++) {
    char *path = g_strdup_printf("/vk/round8/%d-x%d-at%u%s", r8[i].n, r8[i].rows, r8[i].x_off,
                                 r8[i].same_buffer ? "-one-buffer" : "");
    g_test_add_data_func(path, &r8[i], test_round8);
    g_free(path);
  }
  /* widths of real models (1536, 4096, 5120), ones that are no multiple
   * of 4 (the float shader), rows wider than the registers hold */
  static const add_norm_case an[] = {
    {1536, 1, true, true, true},  {4096, 3, true, true, true},   {5120, 2, true, true, true},
    {4096, 2, false, true, true}, {1001, 3, false, true, true},  {4, 1, true, true, true},
    {3, 2, false, true, true},    {5120, 1, true, false, true},  {1536, 2, true, true, false},
    {12000, 2, true, true, true}, {3001, 2, false, true, false}, {8192, 1, true, true, true},
    /* rounded to 8 bits as well (one row in the forward pass; more here),
     * rows wider than the registers hold among them */
    {4096, 1, true, true, true, true}, {1536, 3, true, true, true, true}, {12000, 2, true, true, true, true},
    {5120, 1, true, false, true, true}, {1024, 2, true, true, false, true},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(an); i++) {
    char *path = g_strdup_printf("/vk/add-rms-norm/%d-x%d%s%s%s%s", an[i].n, an[i].rows,
                                 an[i].aligned ? "-aligned" : "", an[i].add ? "" : "-no-add",
                                 an[i].weight ? "" : "-no-weight", an[i].round8 ? "-round8" : "");
    g_test_add_data_func(path, &an[i], test_add_rms_norm);
    g_free(path);
  }
  g_test_add_data_func("/vk/rec-copies/mapped", GINT_TO_POINTER(0), test_rec_copies);
  g_test_add_data_func("/vk/rec-copies/staging", GINT_TO_POINTER(1), test_rec_copies);
  g_test_add_func("/vk/rec-copies/off", test_rec_copies_off);
  g_test_add_func("/vk/flush", test_flush);
  g_test_add_func("/vk/set-cache", test_set_cache);
  if (g_getenv("STILL_VK_BENCH")) g_test_add_func("/vk/bench/record", bench_record);
  g_test_add_func("/vk/binary", test_binary);
  g_test_add_data_func("/vk/rope/normal", GINT_TO_POINTER(0), test_rope);
  g_test_add_data_func("/vk/rope/neox", GINT_TO_POINTER(1), test_rope);
  static const att_case att[] = {
    {STILL_TYPE_F32, 1, 0},    /* one key */
    {STILL_TYPE_F32, 7, 150},  /* a prefill batch across key blocks */
    {STILL_TYPE_F32, 1, 1500}, /* a long context: many blocks */
    {STILL_TYPE_F16, 5, 70},
    /* split along the keys (decode): one key, a chunk's edge, many chunks,
     * a few tokens across chunks, and the GQA groups of the R1 models (7:
     * Qwen 7B, 8: the most the shader takes) with head dim 128; 4 tokens
     * (the forward pass's most) with head dims 256 (the merge's rounding
     * then takes 8 threads); the merge also rounds where head_dim_v is a
     * multiple of 32 (check_split_round8) */
    {STILL_TYPE_F32, 1, 0, true},
    {STILL_TYPE_F32, 1, 127, true},
    {STILL_TYPE_F32, 1, 1500, true},
    {STILL_TYPE_F16, 3, 200, true},
    {STILL_TYPE_F16, 1, 1000, true, 28, 4, 128, 128},
    {STILL_TYPE_F32, 2, 300, true, 16, 2, 128, 128},
    {STILL_TYPE_F16, 1, 64, true, 8, 8, 64, 64},
    {STILL_TYPE_F16, 4, 40, true, 8, 2, 256, 256},
    /* K and V heads of other sizes (no R1 model has them; the shaders keep them apart) */
    {STILL_TYPE_F16, 1, 300, true, 8, 2, 128, 64},
    {STILL_TYPE_F32, 2, 100, true, 6, 2, 64, 128},
    /* the tiled prompt attention (attention_tile.comp: 16 query rows ×
     * 32 keys per tile, dims in slices of 64): GQA groups 6 (a token's
     * rows split across row tiles), 4, 7 and 1; a prompt continuing a
     * cached context (37 tokens at 300); prompts from position 0 whose row
     * tiles straddle the causal diagonal; rows not a multiple of the tile;
     * head dims 64, 128, 256, 80/48 (a part slice) and K ≠ V dims */
    {STILL_TYPE_F32, 37, 300, false, 12, 2, 64, 64},
    {STILL_TYPE_F16, 37, 300, false, 12, 2, 128, 128},
    {STILL_TYPE_F32, 40, 0, false, 4, 4, 128, 128},
    {STILL_TYPE_F16, 45, 0, false, 8, 2, 64, 64},
    {STILL_TYPE_F16, 130, 3, false, 14, 2, 64, 64},
    {STILL_TYPE_F32, 70, 20, false, 6, 1, 128, 64},
    {STILL_TYPE_F16, 9, 40, false, 4, 2, 256, 256},
    {STILL_TYPE_F32, 19, 5, false, 6, 2, 80, 48},
    {STILL_TYPE_F32, 2, 0, false, 6, 2, 64, 64},
    /* scores that grow along the keys (the tensor cores' lazy rescale of what came before):
     * from position 0, and continuing a context with GQA groups of 4 and 7 */
    {STILL_TYPE_F16, 40, 0, false, 8, 2, 128, 128, false, 30},
    {STILL_TYPE_F16, 23, 200, false, 14, 2, 64, 48, false, 60},
    {STILL_TYPE_F32, 40, 0, false, 8, 2, 128, 128, false, 30},
    {STILL_TYPE_F16, 70, 90, false, 8, 2, 128, 128, false, -1},
    /* a few tokens over 1500 keys, a GQA group of 8 (Qwen3-8B's, R1-Llama-70B's) */
    {STILL_TYPE_F16, 9, 1500, false, 8, 1, 128, 128},
    /* every score 0: the queries, or the keys, all 0 */
    {STILL_TYPE_F16, 40, 60, false, 8, 2, 128, 128, false, 0, 1},
    {STILL_TYPE_F16, 40, 60, false, 8, 2, 128, 128, false, 0, 2},
    /* attention.comp for batches too: switched off, a shape it does not take */
    {STILL_TYPE_F32, 37, 300, false, 12, 2, 64, 64, true},
    {STILL_TYPE_F16, 45, 0, false, 8, 2, 64, 64, true},
    {STILL_TYPE_F32, 9, 30, false, 6, 2, 62, 50},
    {STILL_TYPE_F16, 9, 30, false, 6, 2, 66, 54},
    /* long contexts, past what lavapipe's loop limit lets the tiled and the one-workgroup attention
     * finish (there they are refused; vk-ops.c, still_vk_attention_loops_cut); the split one runs */
    {STILL_TYPE_F16, 20, 16000, false, 28, 4, 128, 128},
    {STILL_TYPE_F16, 1, 16000, false, 28, 4, 128, 128},
    {STILL_TYPE_F16, 1, 20000, true, 28, 4, 128, 128},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(att); i++) {
    char dims[16] = "";
    if (att[i].hd_k) g_snprintf(dims, sizeof dims, "-d%d", att[i].hd_k);
    char ramp[16] = "";
    if (att[i].ramp) g_snprintf(ramp, sizeof ramp, "-ramp%d", att[i].ramp);
    char *path = g_strdup_printf("/vk/attention/%s/%d-at-%d%s-h%d%s%s%s%s", still_type_name(att[i].kv_type),
                                 att[i].n_tok, att[i].pos0, att[i].split ? "-split" : "",
                                 att[i].n_head ? att[i].n_head : 6, dims, att[i].tile_off ? "-tile-off" : "", ramp,
                                 att[i].zero == 1 ? "-zero-q" : att[i].zero == 2 ? "-zero-k" : "");
    g_test_add_data_func(path, &att[i], test_attention);
    g_free(path);
  }
  g_test_add_func("/vk/kv-store/Q8_0", test_kv_store_q8_0);
  g_test_add_func("/vk/attention-merge-check", test_attention_merge_check);
  g_test_add_func("/vk/attention-coop-check", test_attention_coop_check);
  g_test_add_func("/vk/coop-probe", test_coop_probe);
  g_test_add_func("/vk/matmul-coop-check", test_matmul_coop_check);
  /* kv type, pos0, head dim, heads, KV heads, norm, neox, rope (0 none, 1 part, 2 all), stacked */
  static const fold_case fold[] = {
    {STILL_TYPE_F32, 0, 64, 4, 2, 0, 1, 1, 3},     {STILL_TYPE_F32, 17, 128, 6, 1, 1, 0, 2, 2},
    {STILL_TYPE_F32, 300, 64, 8, 8, 0, 0, 0, 3},   {STILL_TYPE_F16, 15, 128, 12, 2, 0, 1, 2, 3},
    {STILL_TYPE_F16, 16, 64, 16, 2, 1, 1, 1, 2},   {STILL_TYPE_F16, 1000, 128, 8, 4, 0, 0, 2, 3},
    {STILL_TYPE_Q8_0, 0, 128, 4, 1, 1, 1, 2, 3},   {STILL_TYPE_Q8_0, 127, 64, 6, 2, 0, 0, 1, 2},
    {STILL_TYPE_Q8_0, 128, 256, 8, 1, 1, 1, 2, 3}, {STILL_TYPE_Q8_0, 700, 128, 28, 4, 0, 1, 2, 2},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(fold); i++) {
    char *path = g_strdup_printf("/vk/attention-fold/%s/at-%d-hd%d-%dx%d%s%s-rot%d-stack%d",
                                 still_type_name(fold[i].kv_type), fold[i].pos0, fold[i].head_dim, fold[i].n_head,
                                 fold[i].n_head_kv, fold[i].norm ? "-norm" : "", fold[i].neox ? "-neox" : "",
                                 fold[i].rot, fold[i].stacked);
    g_test_add_data_func(path, &fold[i], test_attention_fold);
    g_free(path);
  }
  static const rope_store_case rs[] = {
    {STILL_TYPE_F32, 1, 0, 64, 0, 1, 1},   {STILL_TYPE_F32, 7, 5, 128, 1, 0, 0},
    {STILL_TYPE_F16, 1, 9, 128, 0, 1, 0},  {STILL_TYPE_F16, 5, 3, 64, 1, 1, 1},
    {STILL_TYPE_Q8_0, 1, 11, 128, 0, 1, 1}, {STILL_TYPE_Q8_0, 6, 2, 64, 1, 0, 0},
    {STILL_TYPE_Q8_0, 3, 0, 256, 1, 1, 1},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(rs); i++) {
    char *path = g_strdup_printf("/vk/rope-store/%s/%d-at-%d-hd%d%s%s%s", still_type_name(rs[i].kv_type), rs[i].n_tok,
                                 rs[i].pos0, rs[i].head_dim, rs[i].norm ? "-norm" : "", rs[i].neox ? "-neox" : "",
                                 rs[i].packed ? "-packed" : "");
    g_test_add_data_func(path, &rs[i], test_rope_store);
    g_free(path);
  }
  /* n_tok, pos0, split, n_head, n_head_kv, head dim, tiled attention off (see test_attention_q8_0) */
  static const int att_q8[][7] = {{1, 0, 0}, {9, 150, 0}, {1, 700, 0}, {1, 0, 1}, {3, 150, 1}, {1, 700, 1},
                                  {37, 300, 0, 12, 2, 128}, {40, 0, 0, 4, 4, 64}, {21, 7, 0, 24, 4, 256},
                                  {37, 300, 0, 12, 2, 128, 1}};
  for (size_t i = 0; i < G_N_ELEMENTS(att_q8); i++) {
    char *path = g_strdup_printf("/vk/attention/Q8_0/%d-at-%d%s-h%d%s", att_q8[i][0], att_q8[i][1],
                                 att_q8[i][2] ? "-split" : "", att_q8[i][3] ? att_q8[i][3] : 8,
                                 att_q8[i][6] ? "-tile-off" : "");
    g_test_add_data_func(path, att_q8[i], test_attention_q8_0);
    g_free(path);
  }
  return g_test_run();
}
