/* blas.c — F32 / F16 / BF16 prompt matmuls through cblas_sgemm (see blas.h).
 *
 * Layout: activations x are [n_tok][n_in] row-major, a weight panel is
 * [rows][n_in] row-major, the output y is [n_tok][n_out]; so for the panel
 * of rows [r0, r0 + nr):
 *     y[:, r0 : r0 + nr] = x · panelᵀ
 * i.e. cblas_sgemm(RowMajor, NoTrans, Trans, M = n_tok, N = nr, K = n_in,
 *                  x, lda = n_in, panel, ldb = n_in, y + r0, ldc = n_out).
 *
 * Measured (issue #5) on the project's 2-core Emerald Rapids VM, OpenBLAS
 * 0.3.21 forced to its SkylakeX kernels, r1-qwen-1.5b shapes, CPU time of
 * one thread, GFLOP/s SGEMM vs our AVX-512 kernels:
 *   F16 1536→8960:  32 tok 51 vs 64, 48 tok 71 vs 68, 64 tok 78 vs 71, 128 tok 95 vs 73
 *   F16 8960→1536:  32 tok 53 vs 66, 64 tok 58 vs 62, 96 tok 75 vs 64, 512 tok 100 vs 55
 *   F16 1536→2048:  32 tok 48 vs 63, 64 tok 68 vs 69, 128 tok 94 vs 71
 *   F32 1536→8960:  32 tok 60 vs 56, 64 tok 83 vs 60, 512 tok 122 vs 64
 * (BF16 as F16.) Below those points the per-call packing of the
 * activations (and for F16/BF16 the widening) eats the gain, hence
 * STILL_BLAS_MIN_TOKENS_F32 = 32 and _F16 = 64.
 *
 * Threads: the panels are work items handed out by an atomic counter to the
 * workers of our pool; each calls sgemm with OpenBLAS set to one thread. Who
 * computes a panel does not matter: its call has the same shape and inputs
 * whatever the thread count, so the bits do not depend on it. Letting
 * OpenBLAS thread one big call instead would leave our workers idle during
 * the F16 → F32 widening, or fight OpenBLAS's own busy-waiting threads for
 * the cores when we widen in parallel.
 */
#include "cpu/blas.h"

#include "cpu/vec.h"
#include "types.h"
#include "util.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86_TARGETS 1
#endif

/* Panel rows: large panels amortize sgemm's packing of the activations
 * (n_tok × n_in floats per call: 256-row panels ran ffn_down of a 1.5B,
 * 8960 wide, at 512 tokens 10 % faster than 112-row ones), small ones keep
 * the F32 scratch small (8 MiB a thread).
 * The F32 panel stays within PANEL_BYTES, between PANEL_MIN_ROWS and
 * PANEL_MAX_ROWS rows, a multiple of 16 (OpenBLAS's register tiles). */
#define PANEL_BYTES (8u << 20)
#define PANEL_MIN_ROWS 64
#define PANEL_MAX_ROWS 256
#define MAX_JOBS 8
/* Concurrent single-threaded sgemm calls each take one of OpenBLAS's
 * memory buffers, of which an old build has only max(50, 2 × its
 * MAX_THREADS) and aborts when they run out: more threads than this use our
 * own kernels. */
#define MAX_BLAS_THREADS 32

struct still_blas {
  int n_threads;
  int64_t max_in;
  int min_tokens[2];    /* F32; F16 and BF16 */
  float *scratch;       /* [n_threads][scratch_len] widened panels; NULL until an F16/BF16 matmul */
  size_t scratch_len;   /* floats per thread */
};

/* ---- row widening --------------------------------------------------------------- */

#ifdef HAVE_X86_TARGETS
__attribute__((target("avx2,f16c"))) static void f16_row_avx2(const uint16_t *src, float *dst, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
  for (; i < n; i++) dst[i] = still_fp16_to_fp32(src[i]);
}

__attribute__((target("avx2"))) static void bf16_row_avx2(const uint16_t *src, float *dst, int64_t n)
{
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
    _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(v, 16));
  }
  for (; i < n; i++) dst[i] = still_bf16_to_fp32(src[i]);
}
#endif

static bool have_avx2(void)
{
#ifdef HAVE_X86_TARGETS
  return still_cpu_best_isa() >= STILL_ISA_AVX2; /* AVX2 level includes F16C */
#else
  return false;
#endif
}

/* nr rows of n values of type (F16 or BF16) → floats, exact. */
static void widen_rows(uint32_t type, const char *w, size_t row_bytes, int64_t nr, int64_t n, float *dst, bool simd)
{
  for (int64_t r = 0; r < nr; r++) {
    const uint16_t *src = (const uint16_t *)(w + (size_t)r * row_bytes);
    float *d = dst + r * n;
#ifdef HAVE_X86_TARGETS
    if (simd) {
      if (type == STILL_TYPE_F16) f16_row_avx2(src, d, n);
      else bf16_row_avx2(src, d, n);
      continue;
    }
#else
    (void)simd;
#endif
    if (type == STILL_TYPE_F16)
      for (int64_t i = 0; i < n; i++) d[i] = still_fp16_to_fp32(src[i]);
    else
      for (int64_t i = 0; i < n; i++) d[i] = still_bf16_to_fp32(src[i]);
  }
}

/* ---- context ---------------------------------------------------------------------- */

static bool env_off(const char *v)
{
  return v && (strcmp(v, "0") == 0 || strcasecmp(v, "off") == 0 || strcasecmp(v, "no") == 0 ||
               strcasecmp(v, "false") == 0);
}

static bool env_on(const char *v)
{
  return v && (strcmp(v, "1") == 0 || strcasecmp(v, "on") == 0 || strcasecmp(v, "yes") == 0 ||
               strcasecmp(v, "true") == 0 || strcasecmp(v, "force") == 0);
}

/* Whether OpenBLAS runs SGEMM kernels at least as wide as ours. A
 * DYNAMIC_ARCH OpenBLAS that does not know the CPU model falls back to an
 * old core: 0.3.21 (Debian 12) takes an Emerald Rapids Xeon for "Prescott"
 * and runs SSE3 kernels, 3–4 times slower than our AVX-512 F16 kernels.
 * On x86 with AVX2 we therefore want a core name of the AVX2 / AVX-512 era
 * (OPENBLAS_CORETYPE=SkylakeX in the environment fixes such a machine).
 * Elsewhere (our kernels are scalar there) any OpenBLAS core wins. */
static bool core_is_fast(void)
{
  if (still_cpu_best_isa() < STILL_ISA_AVX2) return true;
#if defined(__x86_64__) || defined(__i386__)
  static const char *const fast[] = {"haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"};
  const char *core = openblas_get_corename();
  if (!core) return false;
  for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
    if (strncasecmp(core, fast[i], strlen(fast[i])) == 0) return true;
  return false;
#else
  return true;
#endif
}

static int64_t panel_rows(int64_t n_in)
{
  int64_t rows = (int64_t)(PANEL_BYTES / ((size_t)n_in * sizeof(float)));
  rows = rows / 16 * 16;
  if (rows < PANEL_MIN_ROWS) rows = PANEL_MIN_ROWS;
  if (rows > PANEL_MAX_ROWS) rows = PANEL_MAX_ROWS;
  return rows;
}

static void set_one_thread(void)
{
  openblas_set_num_threads(1);
}

still_blas *still_blas_new(int n_threads, int64_t max_in)
{
  const char *env = getenv("STILL_BLAS");
  if (env_off(env) || n_threads < 1 || n_threads > MAX_BLAS_THREADS || max_in < 1) return NULL;
  if (!env_on(env) && !core_is_fast()) return NULL; /* STILL_BLAS=1 forces it (tests) */
  still_blas *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->n_threads = n_threads;
  b->max_in = max_in;
  b->min_tokens[0] = STILL_BLAS_MIN_TOKENS_F32;
  b->min_tokens[1] = STILL_BLAS_MIN_TOKENS_F16;
  const char *mt = getenv("STILL_BLAS_MIN_TOKENS");
  if (mt && *mt) {
    char *end;
    long v = strtol(mt, &end, 10);
    if (*end == '\0' && v >= 1 && v <= 1 << 20) b->min_tokens[0] = b->min_tokens[1] = (int)v;
  }
  /* our pool supplies the threads (see the top of this file) */
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, set_one_thread);
  return b;
}

void still_blas_free(still_blas *b)
{
  if (!b) return;
  free(b->scratch);
  free(b);
}

int still_blas_min_tokens(const still_blas *b, uint32_t wtype)
{
  return b ? b->min_tokens[wtype != STILL_TYPE_F32] : 0;
}

static bool type_ok(uint32_t t)
{
  return t == STILL_TYPE_F32 || t == STILL_TYPE_F16 || t == STILL_TYPE_BF16;
}

bool still_blas_wanted(const still_blas *b, uint32_t wtype, int n_tok)
{
  return b && type_ok(wtype) && n_tok >= still_blas_min_tokens(b, wtype);
}

/* ---- the run ---------------------------------------------------------------------- */

typedef struct {
  still_blas *b;
  const float *x;
  int64_t n_in;
  int n_tok;
  const still_blas_job *jobs;
  int n_jobs;
  int64_t rows;                    /* panel rows */
  int64_t first[MAX_JOBS + 1];     /* first panel of job j; first[n_jobs] = total */
  bool simd;
  atomic_llong next;               /* next panel to take */
} blas_task;

static void run_panels(int ith, int nth, void *user)
{
  (void)nth;
  blas_task *t = user;
  float *scratch = t->b->scratch ? t->b->scratch + (size_t)ith * t->b->scratch_len : NULL;
  const int64_t total = t->first[t->n_jobs];
  int j = 0;
  for (;;) {
    const int64_t p = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
    if (p >= total) break;
    while (p >= t->first[j + 1]) j++; /* panels are handed out in increasing order */
    const still_blas_job *job = &t->jobs[j];
    const int64_t r0 = (p - t->first[j]) * t->rows;
    const int64_t nr = job->n_out - r0 < t->rows ? job->n_out - r0 : t->rows;
    const char *w = (const char *)job->w + (size_t)r0 * job->row_bytes;
    const float *panel;
    int ldb;
    if (job->type == STILL_TYPE_F32) {
      panel = (const float *)w;
      ldb = (int)(job->row_bytes / sizeof(float));
    } else {
      widen_rows(job->type, w, job->row_bytes, nr, t->n_in, scratch, t->simd);
      panel = scratch;
      ldb = (int)t->n_in;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t->n_tok, (int)nr, (int)t->n_in, 1.0f, t->x, (int)t->n_in,
                panel, ldb, 0.0f, job->y + r0, (int)job->n_out);
  }
}

bool still_blas_matmul(still_blas *b, still_threadpool *tp, const float *x, int64_t n_in, int n_tok,
                       const still_blas_job *jobs, int n_jobs)
{
  if (!b || n_jobs < 1 || n_jobs > MAX_JOBS || n_in < 1 || n_in > b->max_in ||
      n_in > INT32_MAX)
    return false;
  if (still_threadpool_n_threads(tp) > b->n_threads) return false;
  bool widen = false;
  for (int j = 0; j < n_jobs; j++) {
    if (!still_blas_wanted(b, jobs[j].type, n_tok) || jobs[j].n_out < 1 || jobs[j].n_out > INT32_MAX) return false;
    if (jobs[j].type != STILL_TYPE_F32) widen = true;
    else if (jobs[j].row_bytes % sizeof(float) != 0) return false;
  }
  blas_task t = {.b = b, .x = x, .n_in = n_in, .n_tok = n_tok, .jobs = jobs, .n_jobs = n_jobs,
                 .rows = panel_rows(n_in), .simd = have_avx2()};
  if (widen) {
    const size_t need = (size_t)t.rows * (size_t)n_in;
    if (need > b->scratch_len) {
      /* grown on the calling thread, before the workers run; only the
       * widths of one model's matrices come here, so this settles at once */
      float *s = malloc((size_t)b->n_threads * need * sizeof(float));
      if (!s) return false; /* fall back to the caller's kernels */
      free(b->scratch);
      b->scratch = s;
      b->scratch_len = need;
    }
  }
  for (int j = 0; j < n_jobs; j++) t.first[j + 1] = t.first[j] + (jobs[j].n_out + t.rows - 1) / t.rows;
  atomic_init(&t.next, 0);
  still_threadpool_run(tp, run_panels, &t);
  return true;
}
