/* graph.c — the forward pass (recipe in graph.h).
 *
 * Data layout: every activation buffer holds one row per token of the
 * batch, rows contiguous ([n_tok][width]). Matmuls and attention run on
 * the thread pool; so do, for a prompt, the per-token steps (norms, biases,
 * rope, residual adds: tokens split across threads) and SwiGLU. Every value
 * is computed by exactly one thread with the same code whatever the split,
 * so the thread count changes no bit.
 * Batch size: with our kernels (gemm.h) a prompt in one batch gives the bits
 * of token-by-token evaluation. Built with OpenBLAS, F32/F16/BF16 matmuls of
 * at least still_blas_min_tokens() (32 / 64) tokens go to SGEMM instead (matmul_blas,
 * cpu/blas.h): within float rounding of token-by-token, still independent of
 * the thread count; STILL_BLAS=0 restores the bit-exact path.
 */
#include "graph.h"

#include "cpu/blas.h"
#include "cpu/gemm.h"
#include "cpu/threadpool.h"
#include "types.h"
#include "util.h"
#include "vulkan/vk-forward.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define MAX_QTYPES 8   /* distinct activation types one model may need */
#define ROW_TILE_BYTES (256 * 1024) /* weight rows kept in L2 while the tokens pass */
#define ATT_TILE_MAX 8                  /* query tokens per attention item */
#define ATT_SCORES_BYTES (1024 * 1024)  /* scores of one attention item, at most */
#define SWIGLU_PARALLEL_MIN 4096 /* values worth a pool run (decode's n_ff is 8960 on a 1.5B) */
#define TOKENS_PARALLEL_MIN 4    /* tokens worth a pool run for the per-token steps */

typedef struct {
  uint32_t type;
  void *data; /* [n_batch] rows of the widest input, quantized */
  still_quantize_row_fn quantize;
} qbuf;

struct still_graph {
  const still_model *m;
  still_kv_cache *kv;
  still_threadpool *tp;
  int n_threads;
  still_blas *blas; /* F32/F16/BF16 prompt matmuls through SGEMM; NULL: off (cpu/blas.h) */
  int32_t n_batch;

  /* activations, [n_batch][width] */
  float *x;    /* residual stream [n_embd] */
  float *xb;   /* normed input of a matmul [n_embd] */
  float *xb2;  /* matmul output added to the residual [n_embd] */
  float *q;    /* [n_head * head_dim_k] */
  float *k;    /* [n_head_kv * head_dim_k] */
  float *v;    /* [n_head_kv * head_dim_v] */
  float *att;  /* attention output [n_head * head_dim_v] */
  float *hb;   /* [n_ff] gate, then silu(gate) * up */
  float *hb2;  /* [n_ff] up */
  float *rope_cos, *rope_sin; /* [n_batch][n_rot/2] */

  qbuf qb[MAX_QTYPES];
  int n_qb;

  /* rope: frequency of pair i (radians per position) and magnitude */
  double *rope_freq; /* [n_rot/2] */
  float rope_mscale;

  /* attention kernels for the cache type */
  still_vec_dot_fn kq_dot;        /* key row · query (query converted to the cache type) */
  still_gemm_fn kq_gemm;          /* the same for many keys × queries (NULL: per element) */
  still_quantize_row_fn q_conv;   /* float query → cache type (NULL for F32: copied) */
  size_t q_row_bytes;             /* one converted query */
  still_vec_dot_fn v_dot;         /* transposed V: row · probabilities (F32/F16) */
  still_gemm_fn v_gemm;
  still_quantize_row_fn p_conv;   /* probabilities → F16 for an F16 cache */
  int att_tile;                   /* query tokens per attention item */

  /* per-thread scratch */
  float *scores;     /* [n_threads][att_tile * heads per kv head][n_ctx] */
  size_t scores_len;
  uint16_t *p16;     /* [n_threads][heads per kv head][n_ctx] probabilities as F16 */
  void *qconv;       /* [n_threads][att_tile * heads per kv head][q_row_bytes] */
  size_t qconv_bytes;
  float *vrow;       /* [n_threads][max(head_dim_v, max matmul input)] dequantized rows */
  size_t vrow_len;

  /* GPU placement (still_graph_set_gpu_layers): layers [gpu_first, n_layer)
   * and the output layer run on the device; NULL: all on the CPU */
  still_vk_forward *gpu;
  int gpu_first;
  char offload[768];
  int gpu_failures; /* times the GPU failed and its layers moved to the CPU (gpu_failed) */
};

/* ---- small ops (calling thread) ------------------------------------------------ */

/* out = x / sqrt(mean(x²) + eps) · w, as llama.cpp: sum of squares in double,
 * scale in float, then the weight multiply. */
static void rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
  double sum = 0.0;
  for (int64_t i = 0; i < n; i++) sum += (double)x[i] * (double)x[i];
  float scale = 1.0f / sqrtf((float)(sum / (double)n) + eps);
  for (int64_t i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

static void add_inplace(float *x, const float *y, int64_t n)
{
  for (int64_t i = 0; i < n; i++) x[i] += y[i];
}

/* h = silu(h) * u, silu(x) = x / (1 + e^-x) */
static void swiglu(float *h, const float *u, int64_t n)
{
  for (int64_t i = 0; i < n; i++) h[i] = h[i] / (1.0f + expf(-h[i])) * u[i];
}

/* Rotate the first n_rot dims of each of n_heads heads of one token. */
static void rope_token(float *vec, int n_heads, int head_dim, int n_rot, still_rope_mode mode, const float *cs,
                       const float *sn)
{
  const int half = n_rot / 2;
  for (int h = 0; h < n_heads; h++) {
    float *p = vec + (int64_t)h * head_dim;
    for (int i = 0; i < half; i++) {
      int a = mode == STILL_ROPE_NEOX ? i : 2 * i;
      int b = mode == STILL_ROPE_NEOX ? i + half : 2 * i + 1;
      float x0 = p[a], x1 = p[b];
      p[a] = x0 * cs[i] - x1 * sn[i];
      p[b] = x0 * sn[i] + x1 * cs[i];
    }
  }
}

/* ---- rope setup ------------------------------------------------------------------ */

/* YaRN (Peng et al. 2023), in the form llama.cpp uses for GGUF models:
 * pair i has base frequency f_i = base^(-2i/n_rot); extrapolated theta = pos·f_i,
 * interpolated theta = pos·f_i/factor; a linear ramp over the "correction
 * dims" mixes them (high frequencies keep extrapolation, low ones
 * interpolate), and both cos and sin are scaled by
 * attn_factor · (1 + 0.1·ln(factor)). */
static double yarn_corr_dim(int n_rot, int orig_ctx, double beta, double base)
{
  const double pi = 3.14159265358979323846;
  return n_rot * log(orig_ctx / (beta * 2.0 * pi)) / (2.0 * log(base));
}

static void setup_rope(still_graph *g, int32_t n_ctx)
{
  const still_hparams *hp = &g->m->hp;
  const int half = hp->n_rot / 2;
  bool yarn = hp->rope_scaling == STILL_ROPE_SCALING_YARN && n_ctx > hp->rope_orig_ctx;
  double lo = 0, hi = 0;
  if (yarn) {
    lo = floor(yarn_corr_dim(hp->n_rot, hp->rope_orig_ctx, hp->yarn_beta_fast, hp->rope_base));
    hi = ceil(yarn_corr_dim(hp->n_rot, hp->rope_orig_ctx, hp->yarn_beta_slow, hp->rope_base));
    if (lo < 0) lo = 0;
    if (hi > hp->n_rot - 1) hi = hp->n_rot - 1;
  }
  g->rope_mscale = 1.0f;
  for (int i = 0; i < half; i++) {
    double f = pow((double)hp->rope_base, -2.0 * i / hp->n_rot);
    if (g->m->rope_freqs.data) f /= g->m->rope_freqs.data[i]; /* llama3 */
    if (yarn) {
      double y = (i - lo) / fmax(0.001, hi - lo);
      double ramp = 1.0 - fmin(1.0, fmax(0.0, y)); /* 1: extrapolate, 0: interpolate */
      double scale = 1.0 / hp->rope_factor;
      f *= scale * (1.0 - ramp) + ramp;
    }
    g->rope_freq[i] = f;
  }
  if (yarn) g->rope_mscale = (float)(hp->yarn_attn_factor * (1.0 + 0.1 * log(hp->rope_factor)));
}

static void rope_tables(still_graph *g, int32_t pos0, int n_tok)
{
  const int half = g->m->hp.n_rot / 2;
  for (int t = 0; t < n_tok; t++) {
    double pos = (double)(pos0 + t);
    for (int i = 0; i < half; i++) {
      double th = pos * g->rope_freq[i];
      g->rope_cos[t * half + i] = (float)cos(th) * g->rope_mscale;
      g->rope_sin[t * half + i] = (float)sin(th) * g->rope_mscale;
    }
  }
}

/* ---- matmul ---------------------------------------------------------------------- */

typedef struct {
  const still_tensor *w;
  float *y;              /* [n_tok][w->n_out] */
} mm_job;

typedef struct {
  still_graph *g;
  const float *x;        /* [n_tok][n_in] */
  int64_t n_in;
  int n_tok;
  const mm_job *jobs;
  int n_jobs;
  int64_t total_rows;
} mm_task;

static qbuf *find_qbuf(still_graph *g, uint32_t type)
{
  for (int i = 0; i < g->n_qb; i++)
    if (g->qb[i].type == type) return &g->qb[i];
  return NULL;
}

static bool uses_kernel(const still_tensor *w)
{
  return w->vec_dot != NULL;
}

/* The activations of job j as the kernel wants them: row t at the returned
 * pointer + t * row_bytes. */
static const void *mm_input(const mm_task *mt, const still_tensor *w, size_t *row_bytes)
{
  if (w->vec_dot_type == STILL_TYPE_F32) {
    *row_bytes = (size_t)mt->n_in * sizeof(float);
    return mt->x;
  }
  uint64_t rb = 0;
  still_type_bytes(w->vec_dot_type, (uint64_t)mt->n_in, &rb);
  *row_bytes = (size_t)rb;
  return find_qbuf(mt->g, w->vec_dot_type)->data;
}

/* Phase 1: quantize the activations into every type the jobs need (tokens
 * split across threads). */
static void mm_quantize_fn(int ith, int nth, void *user)
{
  const mm_task *mt = user;
  for (int i = 0; i < mt->g->n_qb; i++) {
    const qbuf *qb = &mt->g->qb[i];
    bool needed = false;
    for (int j = 0; j < mt->n_jobs; j++)
      if (uses_kernel(mt->jobs[j].w) && mt->jobs[j].w->vec_dot_type == qb->type) needed = true;
    if (!needed) continue;
    uint64_t rb = 0;
    still_type_bytes(qb->type, (uint64_t)mt->n_in, &rb);
    for (int t = ith; t < mt->n_tok; t += nth)
      qb->quantize(mt->x + (int64_t)t * mt->n_in, (char *)qb->data + (size_t)t * rb, mt->n_in);
  }
}

/* Rows [r0, r1) of one job, in tiles of rows that stay in L2 while the
 * kernel passes every token over them (it takes the tokens a few at a time,
 * their activations in L1). Decode is the same call with one token. Per
 * element the kernel's result does not depend on the tiling (gemm.h), so
 * neither the split across threads nor the batch size changes any bit. */
static void mm_rows(const mm_task *mt, const mm_job *job, int64_t r0, int64_t r1, int ith)
{
  const still_tensor *w = job->w;
  const int64_t n_out = w->n_out;
  if (uses_kernel(w)) {
    size_t rb;
    const char *in = mm_input(mt, w, &rb);
    const still_gemm_fn gemm = still_get_gemm(w->type, mt->g->m->isa);
    int64_t tile = (int64_t)(ROW_TILE_BYTES / w->row_bytes);
    if (tile < 8) tile = 8;
    if (mt->n_tok == 1) tile = r1 - r0; /* decode: every row is read once anyway */
    for (int64_t r = r0; r < r1; r += tile) {
      const int64_t nr = r1 - r < tile ? r1 - r : tile;
      still_gemm_run(gemm, w->vec_dot, w->n_in, nr, mt->n_tok, (const char *)w->data + (size_t)r * w->row_bytes,
                     w->row_bytes, in, rb, job->y + r, n_out);
    }
    return;
  }
  /* No kernel for this type: dequantize each row once, dot in F32. */
  const still_type_traits *tr = still_type_get(w->type);
  float *row = mt->g->vrow + (size_t)ith * mt->g->vrow_len;
  for (int64_t i = r0; i < r1; i++) {
    tr->to_float((const char *)w->data + (size_t)i * w->row_bytes, row, w->n_in);
    for (int t = 0; t < mt->n_tok; t++) {
      const float *xt = mt->x + (int64_t)t * mt->n_in;
      float s = 0.0f;
      for (int64_t k = 0; k < w->n_in; k++) s += row[k] * xt[k];
      job->y[(int64_t)t * n_out + i] = s;
    }
  }
}

/* Phase 2: the rows of all jobs, as one range split evenly across threads. */
static void mm_dot_fn(int ith, int nth, void *user)
{
  const mm_task *mt = user;
  int64_t per = (mt->total_rows + nth - 1) / nth;
  int64_t begin = per * ith, end = begin + per < mt->total_rows ? begin + per : mt->total_rows;
  int64_t base = 0;
  for (int j = 0; j < mt->n_jobs && begin < end; j++) {
    int64_t n = mt->jobs[j].w->n_out;
    int64_t lo = begin > base ? begin : base, hi = end < base + n ? end : base + n;
    if (lo < hi) mm_rows(mt, &mt->jobs[j], lo - base, hi - base, ith);
    base += n;
  }
}

/* The whole matmul through SGEMM when every job qualifies (F32/F16/BF16
 * weights, a batch of at least the BLAS threshold): within float rounding of
 * the kernels below, not their bits (cpu/blas.h). */
static bool matmul_blas(still_graph *g, const float *x, int n_tok, const mm_job *jobs, int n_jobs)
{
  still_blas_job bj[3];
  if (!g->blas || n_jobs > 3) return false;
  for (int j = 0; j < n_jobs; j++) {
    const still_tensor *w = jobs[j].w;
    if (!still_blas_wanted(g->blas, w->type, n_tok)) return false;
    bj[j] = (still_blas_job){.type = w->type, .w = w->data, .row_bytes = w->row_bytes, .n_out = w->n_out, .y = jobs[j].y};
  }
  return still_blas_matmul(g->blas, g->tp, x, jobs[0].w->n_in, n_tok, bj, n_jobs);
}

/* y_j = W_j · x for every job (all W_j take the same input x of n_tok rows). */
static void matmul(still_graph *g, const float *x, int n_tok, const mm_job *jobs, int n_jobs)
{
  if (matmul_blas(g, x, n_tok, jobs, n_jobs)) return;
  mm_task mt = {.g = g, .x = x, .n_in = jobs[0].w->n_in, .n_tok = n_tok, .jobs = jobs, .n_jobs = n_jobs};
  bool quantize = false;
  for (int j = 0; j < n_jobs; j++) {
    mt.total_rows += jobs[j].w->n_out;
    if (uses_kernel(jobs[j].w) && jobs[j].w->vec_dot_type != STILL_TYPE_F32) quantize = true;
  }
  if (quantize) {
    if (n_tok == 1 || g->n_threads == 1) mm_quantize_fn(0, 1, &mt);
    else still_threadpool_run(g->tp, mm_quantize_fn, &mt);
  }
  still_threadpool_run(g->tp, mm_dot_fn, &mt);
}

/* ---- attention ---------------------------------------------------------------------
 *
 * One item is a KV head and a tile of query tokens: the queries of every
 * head sharing that KV head (GQA) for those tokens are scored against the
 * keys in one multi-token kernel call (keys as rows, queries as tokens; the
 * tile's last token sees the most keys, the earlier ones ignore the extra
 * scores), then each query gets its softmax over its own causal range, and
 * per token the values are weighted for all its heads in one call
 * (transposed V rows × probability rows). Decode is the same with a tile of
 * one token; every score and output is computed by the same code whatever
 * the tile, so batch size and thread count change no bit. */

typedef struct {
  still_graph *g;
  int layer;
  int32_t pos0;
  int n_tok;
  int n_items;
  int n_parts; /* the query heads of a KV head split into this many items */
} att_task;

/* Dot of n floats, the fallback when the cache type has no kernel. */
static float dot_f32(const float *a, const float *b, int64_t n)
{
  float s = 0.0f;
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

/* sc[0..n) = softmax(sc · scale) in F32, the sum in double */
static void softmax_scaled(float *sc, int32_t n, float scale)
{
  for (int32_t j = 0; j < n; j++) sc[j] *= scale;
  float max = sc[0];
  for (int32_t j = 1; j < n; j++)
    if (sc[j] > max) max = sc[j];
  double sum = 0.0;
  for (int32_t j = 0; j < n; j++) {
    float e = expf(sc[j] - max);
    sc[j] = e;
    sum += e;
  }
  const float inv = (float)(1.0 / sum);
  for (int32_t j = 0; j < n; j++) sc[j] *= inv;
}

/* KV head kvh, its query heads [h0, h0 + nh) of the G sharing it, query
 * tokens [t0, t0 + nt) of the batch. */
static void attention_tile(still_graph *g, int ith, int layer, int kvh, int h0, int nh, int t0, int nt, int32_t pos0)
{
  const still_hparams *hp = &g->m->hp;
  const still_kv_cache *kv = g->kv;
  const int hd_k = hp->head_dim_k, hd_v = hp->head_dim_v;
  const int G = hp->n_head / hp->n_head_kv;
  const int64_t n_q = (int64_t)hp->n_head * hd_k, n_att = (int64_t)hp->n_head * hd_v;
  const size_t n_ctx = (size_t)kv->n_ctx;
  const int nq = nt * nh; /* query i: token t0 + i / nh, head kvh·G + h0 + i % nh */
  char *qb = (char *)g->qconv + (size_t)ith * g->qconv_bytes;
  float *sc = g->scores + (size_t)ith * g->scores_len; /* row i: scores of query i */
  float *deq = g->vrow + (size_t)ith * g->vrow_len;
  const float scale = 1.0f / sqrtf((float)hd_k);
  const int32_t n_kv_max = pos0 + t0 + nt;

  /* scores = K·q; the query is converted to the cache type first, as
   * llama.cpp's matmul does for an F16/Q8_0 K */
  if (g->kq_dot) {
    for (int i = 0; i < nq; i++) {
      const float *q = g->q + (int64_t)(t0 + i / nh) * n_q + (int64_t)(kvh * G + h0 + i % nh) * hd_k;
      if (g->q_conv) g->q_conv(q, qb + (size_t)i * g->q_row_bytes, hd_k);
      else memcpy(qb + (size_t)i * g->q_row_bytes, q, (size_t)hd_k * sizeof(float));
    }
    still_gemm_run(g->kq_gemm, g->kq_dot, hd_k, n_kv_max, nq, still_kv_k_row(kv, layer, 0, kvh), kv->k_pos_bytes, qb,
                   g->q_row_bytes, sc, (int64_t)n_ctx);
  } else {
    const still_type_traits *tr = still_type_get(kv->type);
    for (int32_t j = 0; j < n_kv_max; j++) {
      tr->to_float(still_kv_k_row(kv, layer, j, kvh), deq, hd_k);
      for (int i = 0; i < nq; i++)
        sc[(size_t)i * n_ctx + j] =
            dot_f32(deq, g->q + (int64_t)(t0 + i / nh) * n_q + (int64_t)(kvh * G + h0 + i % nh) * hd_k, hd_k);
    }
  }

  for (int t = 0; t < nt; t++) {
    const int32_t n_kv = pos0 + t0 + t + 1; /* causal: this token sees positions 0..pos */
    float *st = sc + (size_t)t * nh * n_ctx;
    for (int h = 0; h < nh; h++) softmax_scaled(st + (size_t)h * n_ctx, n_kv, scale);
    float *out = g->att + (int64_t)(t0 + t) * n_att + (int64_t)(kvh * G + h0) * hd_v; /* its nh heads, contiguous */

    /* out[h][d] = Σ_j p_h[j] · V_j[d] */
    if (kv->v_trans) {
      const void *p = st;
      size_t p_stride = n_ctx * sizeof(float);
      if (kv->type == STILL_TYPE_F16) {
        uint16_t *p16 = g->p16 + (size_t)ith * G * n_ctx;
        for (int h = 0; h < nh; h++) g->p_conv(st + (size_t)h * n_ctx, p16 + (size_t)h * n_ctx, n_kv);
        p = p16;
        p_stride = n_ctx * sizeof(uint16_t);
      }
      still_gemm_run(g->v_gemm, g->v_dot, n_kv, hd_v, nh, still_kv_v_trans_row(kv, layer, kvh, 0),
                     n_ctx * kv->v_elem_bytes, p, p_stride, out, hd_v);
    } else {
      const still_type_traits *tr = still_type_get(kv->type);
      for (int i = 0; i < nh * hd_v; i++) out[i] = 0.0f;
      for (int32_t j = 0; j < n_kv; j++) {
        tr->to_float(still_kv_v_row(kv, layer, j, kvh), deq, hd_v);
        for (int h = 0; h < nh; h++) {
          const float pj = st[(size_t)h * n_ctx + j];
          for (int d = 0; d < hd_v; d++) out[h * hd_v + d] += pj * deq[d];
        }
      }
    }
  }
}

static void attention_fn(int ith, int nth, void *user)
{
  const att_task *at = user;
  const still_hparams *hp = &at->g->m->hp;
  const int n_kv_head = hp->n_head_kv, G = hp->n_head / hp->n_head_kv, tile = at->g->att_tile;
  const int per_tile = n_kv_head * at->n_parts;
  /* interleaved: later tokens see more keys, so contiguous ranges would
   * give the last thread most of the prompt's work */
  for (int item = ith; item < at->n_items; item += nth) {
    const int t0 = item / per_tile * tile;
    const int nt = at->n_tok - t0 < tile ? at->n_tok - t0 : tile;
    const int kvh = item % per_tile / at->n_parts, part = item % at->n_parts;
    int64_t h0, h1;
    still_split_range(G, part, at->n_parts, &h0, &h1);
    attention_tile(at->g, ith, at->layer, kvh, (int)h0, (int)(h1 - h0), t0, nt, at->pos0);
  }
}

/* Attention of the batch's tokens. Items are a tile of query tokens × a KV
 * head; when that gives fewer items than threads (decode, few KV heads:
 * a 1.5B has 2) each KV head's query heads are split over several items,
 * which read the same keys and values. A score, a softmax and an output
 * value are each computed by one item with the same code (the kernels'
 * results do not depend on how many queries a call takes, gemm.h), so the
 * split changes no bit. */
static void attention_all(still_graph *g, int il, int32_t pos0, int n_tok)
{
  const still_hparams *hp = &g->m->hp;
  const int G = hp->n_head / hp->n_head_kv;
  const int base = (n_tok + g->att_tile - 1) / g->att_tile * hp->n_head_kv;
  int parts = 1;
  if (base < g->n_threads) parts = (g->n_threads + base - 1) / base;
  if (parts > G) parts = G;
  att_task at = {.g = g, .layer = il, .pos0 = pos0, .n_tok = n_tok, .n_items = base * parts, .n_parts = parts};
  still_threadpool_run(g->tp, attention_fn, &at);
}

/* ---- SwiGLU on the pool --------------------------------------------------------------
 * With a prompt, silu's expf over n_tok × n_ff values is a few % of the
 * time and would run on one thread; elements are independent, so any split
 * gives the same bits. */

typedef struct {
  still_graph *g;
  int64_t n;
} swiglu_task;

static void swiglu_fn(int ith, int nth, void *user)
{
  const swiglu_task *st = user;
  int64_t begin, end;
  still_split_range(st->n, ith, nth, &begin, &end);
  swiglu(st->g->hb + begin, st->g->hb2 + begin, end - begin);
}

/* hb = silu(hb) * hb2 over n values */
static void swiglu_all(still_graph *g, int64_t n)
{
  swiglu_task st = {.g = g, .n = n};
  if (n < SWIGLU_PARALLEL_MIN || g->n_threads == 1) swiglu_fn(0, 1, &st);
  else still_threadpool_run(g->tp, swiglu_fn, &st);
}

/* ---- per-token steps on the pool ------------------------------------------------------
 * Norms, biases, rope and residual adds work on one token's row at a time;
 * with a prompt they would run on one thread for n_tok rows (a few % of
 * the prefill time). Each token's row is handled by one thread with the
 * same code as alone, so any split gives the same bits. */

typedef struct tok_task tok_task;
struct tok_task {
  still_graph *g;
  int il;
  int n_tok;
  const float *norm_w;  /* residual_step: xb = rmsnorm(x)·norm_w after the add (NULL: no norm) */
  bool add;             /* residual_step: x += xb2 first */
  void (*step)(const tok_task *tt, int t);
};

static void tokens_fn(int ith, int nth, void *user)
{
  const tok_task *tt = user;
  int64_t begin, end;
  still_split_range(tt->n_tok, ith, nth, &begin, &end);
  for (int64_t t = begin; t < end; t++) tt->step(tt, (int)t);
}

static void run_tokens(tok_task *tt)
{
  if (tt->n_tok < TOKENS_PARALLEL_MIN || tt->g->n_threads == 1) tokens_fn(0, 1, tt);
  else still_threadpool_run(tt->g->tp, tokens_fn, tt);
}

/* x_t += xb2_t (add), then xb_t = rmsnorm(x_t) · norm_w (norm_w set). */
static void residual_step(const tok_task *tt, int t)
{
  still_graph *g = tt->g;
  const still_hparams *hp = &g->m->hp;
  const int64_t n_embd = hp->n_embd;
  float *xt = g->x + (int64_t)t * n_embd;
  if (tt->add) add_inplace(xt, g->xb2 + (int64_t)t * n_embd, n_embd);
  if (tt->norm_w) rmsnorm(g->xb + (int64_t)t * n_embd, xt, tt->norm_w, n_embd, hp->rms_eps);
}

static void residual_norm(still_graph *g, int n_tok, bool add, const float *norm_w)
{
  tok_task tt = {.g = g, .n_tok = n_tok, .norm_w = norm_w, .add = add, .step = residual_step};
  run_tokens(&tt);
}

/* After the Q/K/V matmuls: biases, qwen3's per-head q/k norms, rope. */
static void qkv_post_step(const tok_task *tt, int t)
{
  still_graph *g = tt->g;
  const still_model *m = g->m;
  const still_hparams *hp = &m->hp;
  const still_layer *L = &m->layers[tt->il];
  const int64_t n_q = (int64_t)hp->n_head * hp->head_dim_k, n_k = (int64_t)hp->n_head_kv * hp->head_dim_k,
                n_v = (int64_t)hp->n_head_kv * hp->head_dim_v;
  const int half = hp->n_rot / 2;
  float *qt = g->q + t * n_q, *kt = g->k + t * n_k;
  if (L->bq.data) add_inplace(qt, L->bq.data, n_q);
  if (L->bk.data) add_inplace(kt, L->bk.data, n_k);
  if (L->bv.data) add_inplace(g->v + t * n_v, L->bv.data, n_v);
  if (m->arch->qk_norm) {
    for (int h = 0; h < hp->n_head; h++)
      rmsnorm(qt + h * hp->head_dim_k, qt + h * hp->head_dim_k, L->q_norm.data, hp->head_dim_k, hp->rms_eps);
    for (int h = 0; h < hp->n_head_kv; h++)
      rmsnorm(kt + h * hp->head_dim_k, kt + h * hp->head_dim_k, L->k_norm.data, hp->head_dim_k, hp->rms_eps);
  }
  const float *cs = g->rope_cos + t * half, *sn = g->rope_sin + t * half;
  rope_token(qt, hp->n_head, hp->head_dim_k, hp->n_rot, m->arch->rope, cs, sn);
  rope_token(kt, hp->n_head_kv, hp->head_dim_k, hp->n_rot, m->arch->rope, cs, sn);
}

/* ---- the layer recipe --------------------------------------------------------------- */

static void embed_tokens(still_graph *g, const int32_t *tokens, int n_tok)
{
  const still_tensor *te = &g->m->tok_embd;
  const still_type_traits *tr = still_type_get(te->type);
  for (int t = 0; t < n_tok; t++)
    tr->to_float((const char *)te->data + (size_t)tokens[t] * te->row_bytes, g->x + (int64_t)t * te->n_in, te->n_in);
}

static void layer_forward(still_graph *g, int il, int32_t pos0, int n_tok)
{
  const still_model *m = g->m;
  const still_hparams *hp = &m->hp;
  const still_layer *L = &m->layers[il];

  /* attention block */
  residual_norm(g, n_tok, false, L->attn_norm.data);
  mm_job qkv[3] = {{&L->wq, g->q}, {&L->wk, g->k}, {&L->wv, g->v}};
  matmul(g, g->xb, n_tok, qkv, 3);
  tok_task post = {.g = g, .il = il, .n_tok = n_tok, .step = qkv_post_step};
  run_tokens(&post);
  still_kv_cache_store(g->kv, il, pos0, n_tok, g->k, g->v);
  attention_all(g, il, pos0, n_tok);
  mm_job o = {&L->wo, g->xb2};
  matmul(g, g->att, n_tok, &o, 1);

  /* feed-forward block: the residual add and its norm in one pass */
  residual_norm(g, n_tok, true, L->ffn_norm.data);
  mm_job gu[2] = {{&L->w_gate, g->hb}, {&L->w_up, g->hb2}};
  matmul(g, g->xb, n_tok, gu, 2);
  swiglu_all(g, (int64_t)n_tok * hp->n_ff);
  mm_job down = {&L->w_down, g->xb2};
  matmul(g, g->hb, n_tok, &down, 1);
  residual_norm(g, n_tok, true, NULL);
}

static still_status forward_batch(still_graph *g, const int32_t *tokens, int n_tok, int first_out, float *out,
                                  const atomic_bool *cancel, still_error *err);

/* The GPU failed in the middle of a batch (a lost device, a driver error,
 * device memory gone): its layers move to the CPU for good, and the offload
 * line says so. Their cache entries of the tokens before this batch went
 * with the device, so those tokens are read again, every layer on the CPU
 * (the CPU layers' entries come out the same), and then this batch. A
 * cancel on the way leaves the cache holding the tokens read so far. */
static still_status gpu_failed(still_graph *g, const int32_t *tokens, int n_tok, int first_out, float *out,
                               const atomic_bool *cancel, still_error *err)
{
  const int n_layer = g->m->hp.n_layer;
  char why[sizeof err->message];
  snprintf(why, sizeof why, "%s", err && err->message[0] ? err->message : "the GPU failed");
  still_vk_forward_free(g->gpu);
  g->gpu = NULL;
  g->gpu_failures++;
  snprintf(g->offload, sizeof g->offload, "offload: 0/%d layers on a GPU (%s; running on the CPU from then on)",
           n_layer, why);
  /* from here the cache holds nothing valid for the former GPU layers */
  const int32_t n_past = g->kv->n_past;
  g->kv->n_past = 0;
  int32_t *hist = n_past > 0 ? malloc((size_t)n_past * sizeof *hist) : NULL;
  if (n_past > 0 && !hist) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  if (hist) memcpy(hist, g->kv->tokens, (size_t)n_past * sizeof *hist);
  if (err) *err = (still_error){0};
  const still_status st = n_past > 0 ? still_graph_eval(g, hist, n_past, false, NULL, cancel, err) : STILL_OK;
  free(hist);
  return st == STILL_OK ? forward_batch(g, tokens, n_tok, first_out, out, cancel, err) : st;
}

/* One batch of at most n_batch tokens. out: logits rows for tokens
 * [first_out, n_tok) (NULL: none). */
static still_status forward_batch(still_graph *g, const int32_t *tokens, int n_tok, int first_out, float *out,
                                  const atomic_bool *cancel, still_error *err)
{
  const still_model *m = g->m;
  const still_hparams *hp = &m->hp;
  const int32_t pos0 = g->kv->n_past;
  /* before each batch too: with every layer on the GPU the loop below has no layer to check at */
  if (cancel && atomic_load_explicit(cancel, memory_order_relaxed))
    return still_set_error(err, STILL_ERR_CANCELLED, "cancelled");
  /* all layers on a device that holds the (tied) embedding table: the lookup runs there */
  const bool gpu_embd = g->gpu && g->gpu_first == 0 && still_vk_forward_embeds(g->gpu);
  if (!gpu_embd) embed_tokens(g, tokens, n_tok);
  rope_tables(g, pos0, n_tok);
  const int n_cpu = g->gpu ? g->gpu_first : hp->n_layer;
  for (int il = 0; il < n_cpu; il++) {
    if (cancel && atomic_load_explicit(cancel, memory_order_relaxed))
      return still_set_error(err, STILL_ERR_CANCELLED, "cancelled");
    layer_forward(g, il, pos0, n_tok);
  }
  if (g->gpu) { /* the remaining layers and the output layer */
    still_status st = still_vk_forward_run(g->gpu, gpu_embd ? NULL : g->x, tokens, n_tok, pos0, g->rope_cos,
                                           g->rope_sin, first_out, out, cancel, err);
    /* a driver failure or device memory gone: on the CPU from here on
     * (STILL_GPU_FALLBACK=0, for the GPU tests: return the error) */
    if ((st == STILL_ERR_BACKEND || st == STILL_ERR_NOMEM) && !still_env_is_zero("STILL_GPU_FALLBACK"))
      return gpu_failed(g, tokens, n_tok, first_out, out, cancel, err);
    if (st != STILL_OK) return st;
  } else if (out && first_out < n_tok) {
    const int64_t n_embd = hp->n_embd;
    int n_out = n_tok - first_out;
    for (int t = 0; t < n_out; t++)
      rmsnorm(g->xb + t * n_embd, g->x + (first_out + t) * n_embd, m->output_norm.data, n_embd, hp->rms_eps);
    mm_job lo = {&m->output, out};
    matmul(g, g->xb, n_out, &lo, 1);
  }
  memcpy(g->kv->tokens + pos0, tokens, (size_t)n_tok * sizeof *tokens);
  g->kv->n_past = pos0 + n_tok;
  return STILL_OK;
}

still_status still_graph_eval(still_graph *g, const int32_t *tokens, int32_t n, bool all_logits, float *logits,
                              const atomic_bool *cancel, still_error *err)
{
  const int32_t n_vocab = g->m->hp.n_vocab;
  if (n <= 0) return still_set_error(err, STILL_ERR_INVALID_ARG, "no tokens to evaluate");
  for (int32_t i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= n_vocab)
      return still_set_error(err, STILL_ERR_INVALID_ARG, "token id %d is out of range (the vocabulary has %d tokens)",
                             tokens[i], n_vocab);
  if ((int64_t)g->kv->n_past + n > g->kv->n_ctx)
    return still_set_error(err, STILL_ERR_CONTEXT_FULL,
                           "the context window is full: %d tokens are cached and %d more do not fit in %d",
                           g->kv->n_past, n, g->kv->n_ctx);
  for (int32_t off = 0; off < n; off += g->n_batch) {
    int nb = n - off < g->n_batch ? n - off : g->n_batch;
    bool last = off + nb == n;
    float *out = NULL;
    int first_out = nb;
    if (logits && all_logits) {
      out = logits + (size_t)off * n_vocab;
      first_out = 0;
    } else if (logits && last) {
      out = logits;
      first_out = nb - 1;
    }
    still_status st = forward_batch(g, tokens + off, nb, first_out, out, cancel, err);
    if (st != STILL_OK) return st;
  }
  return STILL_OK;
}

/* ---- build / free ------------------------------------------------------------------- */

/* Query tokens per attention item: as many as keep one item's scores
 * within ATT_SCORES_BYTES, 1..ATT_TILE_MAX, at most a batch. */
static int att_tile_for(int G, int32_t n_ctx, int32_t n_batch)
{
  int64_t tile = (int64_t)(ATT_SCORES_BYTES / ((size_t)G * (size_t)n_ctx * sizeof(float)));
  if (tile > ATT_TILE_MAX) tile = ATT_TILE_MAX;
  if (tile > n_batch) tile = n_batch;
  return tile < 1 ? 1 : (int)tile;
}

/* Bytes of one converted query (the cache type, or F32 floats). */
static uint64_t att_query_bytes(uint32_t kv_type, int32_t head_dim_k)
{
  uint64_t b = (uint64_t)head_dim_k * sizeof(float);
  if (kv_type != STILL_TYPE_F32 && still_get_quantize_row(kv_type, STILL_ISA_SCALAR))
    still_type_bytes(kv_type, (uint64_t)head_dim_k, &b);
  return b;
}

uint64_t still_graph_attention_scratch_bytes(int32_t n_head, int32_t n_head_kv, int32_t head_dim_k, int32_t n_ctx,
                                             int32_t n_batch, int32_t n_threads, uint32_t kv_type)
{
  if (n_head_kv < 1 || n_head < n_head_kv || n_ctx < 1 || n_threads < 1) return 0;
  if (n_batch < 1) n_batch = 512;
  if (n_batch > n_ctx) n_batch = n_ctx;
  const uint64_t G = (uint64_t)(n_head / n_head_kv), nt = (uint64_t)n_threads, ctx = (uint64_t)n_ctx;
  const uint64_t tile = (uint64_t)att_tile_for((int)G, n_ctx, n_batch);
  return nt * tile * G * ctx * sizeof(float) + nt * G * ctx * sizeof(uint16_t) +
         nt * tile * G * att_query_bytes(kv_type, head_dim_k) + 64;
}

/* Register the activation type a weight needs (one buffer per type). */
static bool add_qtype(still_graph *g, const still_tensor *w)
{
  if (!w->data || !w->vec_dot || w->vec_dot_type == STILL_TYPE_F32 || find_qbuf(g, w->vec_dot_type)) return true;
  if (g->n_qb == MAX_QTYPES) return false;
  g->qb[g->n_qb++] = (qbuf){.type = w->vec_dot_type, .quantize = still_get_quantize_row(w->vec_dot_type, g->m->isa)};
  return true;
}

still_status still_graph_new(const still_model *m, still_kv_cache *kv, int32_t n_batch, int32_t n_threads,
                             still_graph **out, still_error *err)
{
  *out = NULL;
  const still_hparams *hp = &m->hp;
  if (n_batch < 1) n_batch = 512;
  if (n_batch > kv->n_ctx) n_batch = kv->n_ctx;
  still_graph *g = calloc(1, sizeof *g);
  if (!g) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  g->m = m;
  g->kv = kv;
  g->n_batch = n_batch;
  g->tp = still_threadpool_new(n_threads);
  if (!g->tp) {
    free(g);
    return still_set_error(err, STILL_ERR_NOMEM, "could not start the worker threads");
  }
  g->n_threads = still_threadpool_n_threads(g->tp);

  const size_t nb = (size_t)n_batch;
  const int64_t n_q = (int64_t)hp->n_head * hp->head_dim_k, n_k = (int64_t)hp->n_head_kv * hp->head_dim_k,
                n_v = (int64_t)hp->n_head_kv * hp->head_dim_v, n_att = (int64_t)hp->n_head * hp->head_dim_v;
  int64_t max_in = hp->n_embd;
  if (n_att > max_in) max_in = n_att;
  if (hp->n_ff > max_in) max_in = hp->n_ff;
  g->x = malloc(nb * hp->n_embd * sizeof(float));
  g->xb = malloc(nb * hp->n_embd * sizeof(float));
  g->xb2 = malloc(nb * hp->n_embd * sizeof(float));
  g->q = malloc(nb * n_q * sizeof(float));
  g->k = malloc(nb * n_k * sizeof(float));
  g->v = malloc(nb * n_v * sizeof(float));
  g->att = malloc(nb * n_att * sizeof(float));
  g->hb = malloc(nb * hp->n_ff * sizeof(float));
  g->hb2 = malloc(nb * hp->n_ff * sizeof(float));
  g->rope_cos = malloc(nb * (hp->n_rot / 2) * sizeof(float));
  g->rope_sin = malloc(nb * (hp->n_rot / 2) * sizeof(float));
  g->rope_freq = malloc((size_t)(hp->n_rot / 2) * sizeof(double));
  const size_t nt = (size_t)g->n_threads;
  /* attention items: a KV head × a tile of query tokens, whose scores
   * (ATT_SCORES_BYTES at most) sit in one thread's scratch; the sizes are
   * still_graph_attention_scratch_bytes()'s */
  const int G = hp->n_head / hp->n_head_kv;
  g->att_tile = att_tile_for(G, kv->n_ctx, n_batch);
  g->scores_len = (size_t)g->att_tile * G * kv->n_ctx;
  g->scores = malloc(nt * g->scores_len * sizeof(float));
  g->p16 = malloc(nt * G * kv->n_ctx * sizeof(uint16_t));
  g->vrow_len = (size_t)(max_in > hp->head_dim_v ? max_in : hp->head_dim_v);
  if (hp->head_dim_k > (int64_t)g->vrow_len) g->vrow_len = hp->head_dim_k;
  g->vrow = malloc(nt * g->vrow_len * sizeof(float));
  g->blas = still_blas_new(g->n_threads, max_in); /* NULL (off) is fine */
  if (!g->x || !g->xb || !g->xb2 || !g->q || !g->k || !g->v || !g->att || !g->hb || !g->hb2 || !g->rope_cos ||
      !g->rope_sin || !g->rope_freq || !g->scores || !g->p16 || !g->vrow)
    goto nomem;

  /* one quantized-activation buffer per vec_dot_type the weights use */
  bool ok = add_qtype(g, &m->output);
  for (int il = 0; il < hp->n_layer && ok; il++) {
    const still_layer *L = &m->layers[il];
    const still_tensor *ws[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    for (size_t i = 0; i < sizeof ws / sizeof ws[0] && ok; i++) ok = add_qtype(g, ws[i]);
  }
  if (!ok) {
    still_graph_free(g);
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "this model mixes too many weight types");
  }
  /* rows of the widest input, rounded up to whole 256-value blocks (every
   * block size divides 256) */
  const uint64_t max_in_blocks = ((uint64_t)max_in + 255) / 256 * 256;
  for (int i = 0; i < g->n_qb; i++) {
    uint64_t rb = 0;
    still_type_bytes(g->qb[i].type, max_in_blocks, &rb);
    g->qb[i].data = malloc(nb * (size_t)rb + 64);
    if (!g->qb[i].data) goto nomem;
  }

  /* attention kernels for the cache type */
  g->kq_dot = still_get_vec_dot(kv->type, m->isa);
  if (kv->type != STILL_TYPE_F32) {
    g->q_conv = still_get_quantize_row(kv->type, m->isa);
    if (!g->q_conv) g->kq_dot = NULL; /* without the converter use the fallback */
  }
  if (!g->kq_dot) g->q_conv = NULL;
  g->kq_gemm = g->kq_dot ? still_get_gemm(kv->type, m->isa) : NULL;
  g->q_row_bytes = (size_t)att_query_bytes(kv->type, hp->head_dim_k);
  g->qconv_bytes = (size_t)g->att_tile * G * g->q_row_bytes;
  g->qconv = malloc(nt * g->qconv_bytes + 64);
  if (!g->qconv) goto nomem;
  if (kv->v_trans) {
    g->v_dot = still_get_vec_dot(kv->type, m->isa);
    g->v_gemm = still_get_gemm(kv->type, m->isa);
    g->p_conv = kv->type == STILL_TYPE_F16 ? still_get_quantize_row(STILL_TYPE_F16, m->isa) : NULL;
    if (!g->v_dot || (kv->type == STILL_TYPE_F16 && !g->p_conv)) {
      still_graph_free(g);
      return still_set_error(err, STILL_ERR_UNSUPPORTED, "no CPU kernel for this KV cache type");
    }
  }

  setup_rope(g, kv->n_ctx);
  snprintf(g->offload, sizeof g->offload, "offload: 0/%d layers on a GPU (CPU only)", hp->n_layer);
  *out = g;
  return STILL_OK;

nomem:
  still_graph_free(g);
  return still_set_error(err, STILL_ERR_NOMEM, "out of memory for the compute buffers (batch of %d tokens)", n_batch);
}

void still_graph_free(still_graph *g)
{
  if (!g) return;
  if (g->tp) still_threadpool_free(g->tp);
  still_blas_free(g->blas);
  still_vk_forward_free(g->gpu);
  free(g->x);
  free(g->xb);
  free(g->xb2);
  free(g->q);
  free(g->k);
  free(g->v);
  free(g->att);
  free(g->hb);
  free(g->hb2);
  free(g->rope_cos);
  free(g->rope_sin);
  free(g->rope_freq);
  free(g->scores);
  free(g->p16);
  free(g->vrow);
  free(g->qconv);
  for (int i = 0; i < g->n_qb; i++) free(g->qb[i].data);
  free(g);
}

int still_graph_n_threads(const still_graph *g)
{
  return g->n_threads;
}

/* ---- GPU placement ---------------------------------------------------------------- */

still_status still_graph_set_gpu_layers(still_graph *g, int n_gpu_layers, const char *device, still_error *err)
{
  return still_graph_set_gpu_split(g, n_gpu_layers, device, NULL, NULL, NULL, err);
}

still_status still_graph_set_gpu_split(still_graph *g, int n_gpu_layers, const char *device, const char *split,
                                       still_step_fn on_step, void *step_user, still_error *err)
{
  const int n_layer = g->m->hp.n_layer;
  still_vk_forward_free(g->gpu);
  g->gpu = NULL;
  if (n_gpu_layers < 0 || n_gpu_layers > n_layer) n_gpu_layers = n_layer;
  snprintf(g->offload, sizeof g->offload, "offload: 0/%d layers on a GPU (CPU only)", n_layer);
  if (n_gpu_layers == 0) return STILL_OK;
  /* On failure for want of device memory (the fit estimate a little
   * optimistic, another program's allocations), the most layers that fit:
   * 1, 2, 4, 8 … fewer than asked until a count fits, then halves of the gap
   * between the most that fitted and the fewest that did not, and the most
   * that fitted loaded again when the last try took more. One or two tries
   * when the estimate was a little off; at worst about 2·log2(N) + 2 device
   * openings and uploads (28 layers: 12, where only 4 fit; 80 layers: 14).
   * Halving the count each time took 14 layers where 27 fit. Another failure
   * ends the search: with a count that fitted, that count (a device of a split
   * that only opens at larger counts may be what fails), else the CPU. (A
   * split of 3 or more shares can give a device fewer layers at a larger
   * count, so the search may end a layer short there.) */
  still_error first = {0};
  int best = 0, fail = n_gpu_layers + 1, held = 0, n = n_gpu_layers, drop = 1;
  for (;;) {
    while (n > best && n < fail) {
      still_vk_forward_free(g->gpu); /* the device memory of the count held before, if any */
      g->gpu = NULL;
      held = 0;
      still_error e = {0};
      still_status st =
        still_vk_forward_new(g->m, device, split, n_layer - n, g->kv->n_ctx, g->n_batch, g->kv->type, &g->gpu, &e);
      if (st == STILL_OK) {
        best = held = n;
      } else {
        g->gpu = NULL;
        if (!first.message[0] || (st != STILL_ERR_NOMEM && best == 0)) first = e;
        /* (another failure: no count above the best that fitted is tried again) */
        fail = st != STILL_ERR_NOMEM && best > 0 ? best + 1 : n;
        if (st != STILL_ERR_NOMEM) break;
      }
      if (best == 0) { /* none fitted yet: further down, faster and faster */
        n = n_gpu_layers - drop;
        drop *= 2;
        if (n >= fail) n = fail - 1;
        if (n < 1) n = 1;
      } else
        n = best + (fail - best) / 2;
    }
    if (best == 0 || held == best) break;
    /* the last try took more than fits: the most that did, again (should it no longer fit, the
     * search goes on below it) */
    n = best;
    best = 0;
  }
  if (best > 0) {
    /* the shader paths for this model, timed on the device once the count is settled
     * (vk-tune.c); a device that fails there is a failed device */
    still_error e = {0};
    if (still_vk_forward_tune(g->gpu, on_step, step_user, &e) != STILL_OK) first = e, best = 0;
  }
  if (best > 0) {
    g->gpu_first = n_layer - best;
    snprintf(g->offload, sizeof g->offload, "offload: %d/%d layers on %.500s%s%.200s", best, n_layer,
             still_vk_forward_device(g->gpu), best < n_gpu_layers ? " (fewer than asked: " : "",
             best < n_gpu_layers ? first.message : "");
    if (best < n_gpu_layers) strncat(g->offload, ")", sizeof g->offload - strlen(g->offload) - 1);
    return STILL_OK;
  }
  still_vk_forward_free(g->gpu);
  g->gpu = NULL;
  snprintf(g->offload, sizeof g->offload, "offload: 0/%d layers on a GPU (%.500s; running on the CPU)", n_layer,
           first.message);
  if (err) *err = first;
  return first.status ? first.status : STILL_ERR_BACKEND;
}

int still_graph_gpu_failures(const still_graph *g)
{
  return g ? g->gpu_failures : 0;
}

const char *still_graph_offload(const still_graph *g)
{
  return g->offload;
}

const char *still_graph_gpu_tuning(const still_graph *g)
{
  return g && g->gpu ? still_vk_forward_tuning(g->gpu) : "";
}

uint64_t still_graph_device_bytes(const still_graph *g, uint64_t *peak)
{
  return still_vk_forward_device_bytes(g ? g->gpu : NULL, peak);
}

struct still_vk_forward *still_graph_gpu(const still_graph *g)
{
  return g ? g->gpu : NULL;
}
