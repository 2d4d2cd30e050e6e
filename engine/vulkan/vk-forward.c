/* vulkan/vk-forward.c — GPU layers of the forward pass (see vk-forward.h).
 * The recipe is graph.h's, op for op; every layer is recorded into one
 * command buffer per batch, so a batch costs one submit and one wait. */
#include "vulkan/vk-forward.h"

#include "arch.h"
#include "gpu-split.h"
#include "kv-cache.h"
#include "types.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STILL_HAVE_VULKAN

still_status still_vk_forward_new(const still_model *m, const char *device, const char *split, int first_layer,
                                  int32_t n_ctx, int32_t n_batch, uint32_t kv_type, still_vk_forward **out,
                                  still_error *err)
{
  (void)m, (void)device, (void)split, (void)first_layer, (void)n_ctx, (void)n_batch, (void)kv_type;
  *out = NULL;
  return still_set_error(err, STILL_ERR_UNSUPPORTED, "this build has no Vulkan support");
}
void still_vk_forward_free(still_vk_forward *f) { (void)f; }
const char *still_vk_forward_device(const still_vk_forward *f)
{
  (void)f;
  return "";
}
uint64_t still_vk_forward_device_bytes(const still_vk_forward *f, uint64_t *peak)
{
  (void)f;
  if (peak) *peak = 0;
  return 0;
}
const char *still_vk_forward_tuning(const still_vk_forward *f)
{
  (void)f;
  return "";
}
still_status still_vk_forward_tune(still_vk_forward *f, still_step_fn on_step, void *step_user, still_error *err)
{
  (void)f, (void)on_step, (void)step_user, (void)err;
  return STILL_OK;
}
int still_vk_forward_n_devices(const still_vk_forward *f)
{
  (void)f;
  return 0;
}
bool still_vk_forward_embeds(const still_vk_forward *f)
{
  (void)f;
  return false;
}
still_status still_vk_forward_run(still_vk_forward *f, const float *x, const int32_t *tokens, int n_tok, int32_t pos0,
                                  const float *rope_cos, const float *rope_sin, int first_out, float *out,
                                  const atomic_bool *cancel, still_error *err)
{
  (void)f, (void)x, (void)tokens, (void)n_tok, (void)pos0, (void)rope_cos, (void)rope_sin, (void)first_out, (void)out;
  (void)cancel;
  return still_set_error(err, STILL_ERR_UNSUPPORTED, "this build has no Vulkan support");
}
int still_vk_forward_first_layer(const still_vk_forward *f)
{
  (void)f;
  return 0;
}
uint32_t still_vk_forward_kv_type(const still_vk_forward *f)
{
  (void)f;
  return STILL_TYPE_F16;
}
size_t still_vk_forward_kv_row_bytes(const still_vk_forward *f, bool values)
{
  (void)f, (void)values;
  return 0;
}
still_status still_vk_forward_kv_read(still_vk_forward *f, int layer, int32_t pos0, int32_t n, void *k, void *v,
                                      still_error *err)
{
  (void)f, (void)layer, (void)pos0, (void)n, (void)k, (void)v;
  return still_set_error(err, STILL_ERR_UNSUPPORTED, "this build has no Vulkan support");
}
still_status still_vk_forward_kv_write(still_vk_forward *f, int layer, int32_t pos0, int32_t n, const void *k,
                                       const void *v, still_error *err)
{
  (void)f, (void)layer, (void)pos0, (void)n, (void)k, (void)v;
  return still_set_error(err, STILL_ERR_UNSUPPORTED, "this build has no Vulkan support");
}
void still_vk_forward_set_slice_hook(still_vk_forward *f, void (*hook)(void *user, int part, int layers_done),
                                     void *user)
{
  (void)f, (void)hook, (void)user;
}

#else

#include "vulkan/vk.h"
#include "vulkan/device.h"

#include <errno.h>

typedef struct {
  still_vk_buffer buf;
  uint32_t type, n_in, n_out;
  size_t row_bytes;
} gpu_weight;

typedef struct {
  still_vk_buffer buf; /* absent: handle 0 */
  uint32_t n;
} gpu_vector;

/* Where a buffer of activations (xb, att, hb) keeps its vectors rounded to
 * 8 bits for the integer dot products (decode: still_vk_dot_preround;
 * prefill: still_vk_matmul_dot), after its floats. */
typedef struct {
  uint32_t off, stride; /* words: the first row; between rows (one row, or n_batch when prefill takes them) */
  bool made;            /* the layer being recorded rounded it for the products that read it next */
} round8_place;

typedef struct {
  gpu_vector attn_norm, bq, bk, bv, q_norm, k_norm, ffn_norm;
  gpu_weight wq, wk, wv, wo, w_gate, w_up, w_down;
  still_vk_buffer k_cache, v_cache;
  /* 3: wq's buffer holds the q, k and v matrices one after another (and bq
   * their biases), so one product writes [token][q | k | v]; 2: q and k
   * only (v's type differs: Q4_K_M keeps some attn_v in Q6_K); 0: apart.
   * Stacked matrices and biases have no buffer of their own (handle 0). */
  int qkv_stacked;
} gpu_layer;

/* One device of a split: its own context, its layers' weights and KV cache,
 * and its own activation buffers. The residual stream goes from one part to
 * the next through host memory. */
typedef struct {
  still_vk *vk;
  int first, end;    /* layers [first, end) */
  gpu_layer *layers; /* [end - first] */
  bool has_output;   /* the output layer (the last part) */
  bool embeds;       /* token embeddings looked up here (the tied output matrix) */
  gpu_vector output_norm;
  gpu_weight output;
  /* activations [n_batch][width] */
  still_vk_buffer x, xb, xb2, q, k, v, att, hb, hb2, rope, logits, ids;
  still_vk_buffer att_part; /* partial results of the split attention (decode) */
  bool stack_qkv; /* rope_store.comp takes this model's shape: q, k and v products may be stacked (qkv_stacked) */
  bool prompt_room; /* the rounded vectors have a whole batch's room (STILL_VK_MATMUL=dot, or the tuner may take it) */
  round8_place xb_r8, att_r8, hb_r8; /* the rounded vectors of xb, att and hb */
  bool normed_ahead; /* record_layer: the layer before did this one's attention norm (mv_norm) */
  double layer_tok_s; /* seconds per layer and token at the last wait of a prompt batch (0: none yet) */
} vk_part;

struct still_vk_forward {
  const still_model *m;
  int first;
  int32_t n_ctx, n_batch;
  uint32_t kv_type; /* device cache: F32, F16 or Q8_0 (see device_kv_type) */
  int n_parts;
  vk_part parts[STILL_VK_MAX_SPLIT];
  float *xhost; /* [n_batch][n_embd]: the residual stream between parts */
  char device[1024];
  /* still_vk_forward_tuning: what still_vk_forward_tune said (the devices without their tensor
   * cores, two at most, then the tuner's 800 characters at most) */
  char tuning[1536];
  bool one_part;    /* a single device: its paths may be tuned (still_vk_forward_tune) */
  double slice_s;   /* a cancellable prompt batch waits for the GPU about this often (run_part) */
  void (*slice_hook)(void *user, int part, int layers_done); /* tests: after each such wait */
  void *slice_user;
};

/* A prompt batch can take seconds on a slow GPU (or lavapipe), and the host
 * records all of it long before the GPU is done, so a cancel read while
 * recording changes nothing. Where the caller can cancel, run_part waits for
 * the GPU about every SLICE_S seconds of work (the rate measured on the
 * batches before; the first waits after one layer to measure it) and reads
 * the flag there. A fast GPU's batch takes less than one slice and runs as
 * one submit, as before. STILL_VK_CANCEL_SLICE_MS sets it (0: a wait after
 * every layer, for the tests; below 0: no waits). The fault hooks count
 * submits, so with STILL_VK_FAULT_SUBMIT set there are no waits unless
 * STILL_VK_CANCEL_SLICE_MS is set too (the waits' count depends on timing). */
#define SLICE_S 0.2

/* The slice (SLICE_S) as STILL_VK_CANCEL_SLICE_MS and the fault hooks have it; below 0: none. */
static double slice_seconds(void)
{
  const char *v = getenv("STILL_VK_CANCEL_SLICE_MS");
  if (!v || !*v) return still_env_set("STILL_VK_FAULT_SUBMIT") ? -1 : SLICE_S;
  char *end = NULL;
  const double ms = strtod(v, &end);
  if (end == v || *end || !isfinite(ms)) {
    fprintf(stderr, "still: STILL_VK_CANCEL_SLICE_MS=%.40s ignored (milliseconds; 0: every layer; below 0: "
                    "none)\n", v);
    return SLICE_S;
  }
  return ms / 1000.0;
}

/* Decode batches of up to this many tokens take the split attention
 * (still_vk_attention_split: chunks of keys in parallel); larger ones (the
 * prompt) take still_vk_attention (tiled: attention_tile.comp, see
 * still_vk_attention_tile_ok). */
#define SPLIT_ATTENTION_TOKENS 4

static still_vk_attention_args attention_args(const still_vk_forward *f, uint32_t n_tok, int32_t pos0)
{
  const still_hparams *hp = &f->m->hp;
  const uint32_t hdk = (uint32_t)hp->head_dim_k, hdv = (uint32_t)hp->head_dim_v;
  return (still_vk_attention_args){.kv_type = f->kv_type, .n_tok = n_tok, .n_head = (uint32_t)hp->n_head,
                                   .n_head_kv = (uint32_t)hp->n_head_kv, .head_dim_k = hdk, .head_dim_v = hdv,
                                   .pos0 = (uint32_t)pos0, .q_off = 0, .q_stride = (uint32_t)hp->n_head * hdk,
                                   .k_off = 0, .v_off = 0, .o_off = 0, .o_stride = (uint32_t)hp->n_head * hdv,
                                   .scale = 1.0f / sqrtf((float)hdk)};
}

/* Scratch of the split attention for SPLIT_ATTENTION_TOKENS tokens over the
 * whole context (4 bytes when this model's shape does not take it). */
static size_t split_attention_bytes(const still_vk_forward *f, const vk_part *P)
{
  const still_vk_attention_args a = attention_args(f, 1, 0);
  if (!still_vk_attention_split_ok(P->vk, &a)) return 4;
  return 4 * (size_t)still_vk_attention_part_floats(P->vk, SPLIT_ATTENTION_TOKENS, a.n_head, a.head_dim_v,
                                                    (uint32_t)f->n_ctx);
}

static still_status upload_weight(still_vk *vk, const still_tensor *t, gpu_weight *w, still_error *err)
{
  if (!still_vk_matvec_supported(t->type))
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no shader for %s weights (%.*s)",
                           still_type_name(t->type), t->name_len, t->name ? t->name : "");
  if ((t->row_bytes & 3) && t->n_out > 1) {
    /* rows must start on 4-byte boundaries for the shader's word reads:
     * repack with padded rows */
    size_t padded = (t->row_bytes + 3) & ~(size_t)3;
    char *tmp = calloc((size_t)t->n_out, padded);
    if (!tmp) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    for (int64_t r = 0; r < t->n_out; r++)
      memcpy(tmp + (size_t)r * padded, (const char *)t->data + (size_t)r * t->row_bytes, t->row_bytes);
    still_status st = still_vk_buffer_new(vk, padded * (size_t)t->n_out, &w->buf, err);
    if (st == STILL_OK) st = still_vk_upload(vk, &w->buf, 0, tmp, padded * (size_t)t->n_out, err);
    free(tmp);
    w->row_bytes = padded;
    if (st != STILL_OK) return st;
  } else {
    size_t bytes = t->row_bytes * (size_t)t->n_out;
    still_status st = still_vk_buffer_new(vk, bytes, &w->buf, err);
    if (st == STILL_OK) st = still_vk_upload(vk, &w->buf, 0, t->data, bytes, err);
    if (st != STILL_OK) return st;
    w->row_bytes = t->row_bytes;
  }
  w->type = t->type;
  w->n_in = (uint32_t)t->n_in;
  w->n_out = (uint32_t)t->n_out;
  return STILL_OK;
}

/* Matrices that can share one buffer, one after another, and be read as
 * one matrix of all their rows: same type and row size, word-aligned rows
 * (no padding on upload), and the whole within the shaders' 32-bit byte
 * offsets and what the device lets a shader see of one buffer (a device
 * with less than 4 GiB of that takes them apart rather than refuse them). */
static bool can_stack(const still_vk *vk, const still_tensor *a, const still_tensor *b, int n_total)
{
  const uint64_t most = still_vk_max_buffer_bytes(vk) < UINT32_MAX ? still_vk_max_buffer_bytes(vk) : UINT32_MAX;
  return a->type == b->type && a->n_in == b->n_in && a->row_bytes == b->row_bytes && (a->row_bytes % 4) == 0 &&
         still_vk_matvec_supported(a->type) && (uint64_t)a->row_bytes * (uint64_t)a->n_out * (uint64_t)n_total <= most;
}

/* Upload n matrices into one buffer, rows of t[0] first, as one gpu_weight
 * of all their rows in w[0]; w[1..n) get the shapes of their own part and
 * no buffer (handle 0). */
static still_status upload_stacked(still_vk *vk, const still_tensor *const *t, int n, gpu_weight *const *w,
                                   still_error *err)
{
  size_t total = 0;
  uint32_t rows = 0;
  for (int i = 0; i < n; i++) total += t[i]->row_bytes * (size_t)t[i]->n_out, rows += (uint32_t)t[i]->n_out;
  still_status st = still_vk_buffer_new(vk, total, &w[0]->buf, err);
  for (size_t off = 0, i = 0; st == STILL_OK && i < (size_t)n; off += t[i]->row_bytes * (size_t)t[i]->n_out, i++)
    st = still_vk_upload(vk, &w[0]->buf, off, t[i]->data, t[i]->row_bytes * (size_t)t[i]->n_out, err);
  if (st != STILL_OK) return st;
  for (int i = 0; i < n; i++) {
    w[i]->type = t[i]->type;
    w[i]->n_in = (uint32_t)t[i]->n_in;
    w[i]->n_out = i == 0 ? rows : (uint32_t)t[i]->n_out;
    w[i]->row_bytes = t[i]->row_bytes;
    if (i > 0) memset(&w[i]->buf, 0, sizeof w[i]->buf);
  }
  return STILL_OK;
}

/* The FFN's gate and up matrices in one buffer, gate rows first, when they
 * have the same type and shape and 16-byte aligned rows: one dispatch at
 * decode then computes silu(gate·x) · (up·x) (still_vk_matvec_fused). *up
 * gets no buffer of its own (handle 0); it is read at gate_up_offset, and
 * gate keeps its own row count (the fused shader takes the halves). */
static bool pair_gate_up(const still_vk *vk, const still_tensor *g, const still_tensor *u)
{
  return g->n_out == u->n_out && (g->row_bytes % 16) == 0 && can_stack(vk, g, u, 2);
}

static still_status upload_gate_up(still_vk *vk, const still_tensor *g, const still_tensor *u, gpu_weight *wg,
                                   gpu_weight *wu, still_error *err)
{
  const still_tensor *t[2] = {g, u};
  gpu_weight *w[2] = {wg, wu};
  still_status st = upload_stacked(vk, t, 2, w, err);
  wg->n_out = (uint32_t)g->n_out;
  return st;
}

/* How many of q, k and v to stack (gpu_layer.qkv_stacked): biases on all
 * stacked ones or on none. */
static int qkv_stack_count(const still_vk *vk, const still_layer *S)
{
  const bool bq = S->bq.data != NULL;
  if (!can_stack(vk, &S->wq, &S->wk, 3) || bq != (S->bk.data != NULL)) return 0;
  if (can_stack(vk, &S->wq, &S->wv, 3) && bq == (S->bv.data != NULL)) return 3;
  return 2;
}

/* Vectors into one device vector in g[0] (g[1..n) get no buffer); absent
 * (v[0] without data): none. */
static still_status upload_stacked_vectors(still_vk *vk, const still_vector *const *v, int n, gpu_vector *const *g,
                                           still_error *err)
{
  for (int i = 0; i < n; i++) memset(g[i], 0, sizeof *g[i]);
  if (!v[0]->data) return STILL_OK;
  uint32_t total = 0;
  for (int i = 0; i < n; i++) total += (uint32_t)v[i]->n;
  still_status st = still_vk_buffer_new(vk, (size_t)total * 4, &g[0]->buf, err);
  for (size_t off = 0, i = 0; st == STILL_OK && i < (size_t)n; off += (size_t)v[i]->n * 4, i++)
    st = still_vk_upload(vk, &g[0]->buf, off, v[i]->data, (size_t)v[i]->n * 4, err);
  g[0]->n = total;
  return st;
}

static still_status upload_vector(still_vk *vk, const still_vector *v, gpu_vector *g, still_error *err)
{
  return upload_stacked_vectors(vk, &v, 1, &g, err);
}

static void free_weight(still_vk *vk, gpu_weight *w) { still_vk_buffer_free(vk, &w->buf); }
static void free_vector(still_vk *vk, gpu_vector *v) { still_vk_buffer_free(vk, &v->buf); }

static void free_part(vk_part *P)
{
  if (!P->vk) return;
  if (P->layers)
    for (int i = 0; i < P->end - P->first; i++) {
      gpu_layer *L = &P->layers[i];
      free_vector(P->vk, &L->attn_norm), free_vector(P->vk, &L->bq), free_vector(P->vk, &L->bk);
      free_vector(P->vk, &L->bv), free_vector(P->vk, &L->q_norm), free_vector(P->vk, &L->k_norm);
      free_vector(P->vk, &L->ffn_norm);
      free_weight(P->vk, &L->wq), free_weight(P->vk, &L->wk), free_weight(P->vk, &L->wv);
      free_weight(P->vk, &L->wo), free_weight(P->vk, &L->w_gate), free_weight(P->vk, &L->w_up);
      free_weight(P->vk, &L->w_down);
      still_vk_buffer_free(P->vk, &L->k_cache), still_vk_buffer_free(P->vk, &L->v_cache);
    }
  free_vector(P->vk, &P->output_norm);
  free_weight(P->vk, &P->output);
  still_vk_buffer *acts[] = {&P->x,  &P->xb,  &P->xb2,  &P->q,      &P->k,   &P->v,       &P->att,
                             &P->hb, &P->hb2, &P->rope, &P->logits, &P->ids, &P->att_part};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) still_vk_buffer_free(P->vk, acts[i]);
  still_vk_close(P->vk);
  free(P->layers);
  memset(P, 0, sizeof *P);
}

void still_vk_forward_free(still_vk_forward *f)
{
  if (!f) return;
  for (int i = 0; i < f->n_parts; i++) free_part(&f->parts[i]);
  free(f->xhost);
  free(f);
}

const char *still_vk_forward_device(const still_vk_forward *f) { return f->device; }

int still_vk_forward_n_devices(const still_vk_forward *f) { return f ? f->n_parts : 0; }

const char *still_vk_forward_tuning(const still_vk_forward *f) { return f ? f->tuning : ""; }

bool still_vk_forward_embeds(const still_vk_forward *f) { return f && f->n_parts > 0 && f->parts[0].embeds; }

uint64_t still_vk_forward_device_bytes(const still_vk_forward *f, uint64_t *peak)
{
  if (peak) *peak = 0;
  if (!f) return 0;
  /* every part allocates everything at setup, so the sum of the peaks is
   * what the devices held together at most */
  uint64_t used = 0;
  for (int i = 0; i < f->n_parts; i++) {
    uint64_t pk = 0;
    used += still_vk_memory_usage(f->parts[i].vk, &pk);
    if (peak) *peak += pk;
  }
  return used;
}

/* ---- the split: which devices, how many layers each ------------------------------ */

/* The devices and their shares: --device "A,B" and/or --split "a,b". */
static still_status plan_split(const char *device, const char *split, char devs[][STILL_GPU_DEVICE_TEXT],
                               double *share, int *n_out, still_error *err)
{
  /* the lists and their counts, as the CLI checks them (gpu-split.c, shared with the fit estimator) */
  _Static_assert(STILL_VK_MAX_SPLIT == STILL_GPU_SPLIT_MAX, "a split's devices are gpu-split.c's");
  int nd = 0, ns = 0;
  still_status sst = still_gpu_split_check(device, split, devs, &nd, share, &ns, err);
  if (sst != STILL_OK) return sst;
  if (ns > 1 && nd == 0) {
    /* no device named: the usable devices in Vulkan order (GPUs; CPU-emulated
     * ones only when there is nothing else) */
    still_gpu gpus[16];
    bool ok = false;
    int n = still_vk_enumerate(gpus, 16, &ok, NULL, 0);
    if (n > 16) n = 16;
    int usable[16];
    const int nu = still_gpu_split_devices(gpus, n, share, &ns, usable);
    if (nu < ns)
      return still_set_error(err, STILL_ERR_INVALID_ARG, "the split \"%s\" needs %d Vulkan devices, %d found%s", split,
                             ns, nu,
                             still_gpu_split_listed_again(gpus, n) > 0
                               ? " (a card that two drivers list counts once; name it twice with --device to "
                                 "split over it anyway)"
                               : "");
    for (int i = 0; i < ns; i++) snprintf(devs[i], STILL_GPU_DEVICE_TEXT, "%d", usable[i]);
    nd = ns;
  }
  if (nd == 0) { /* the default choice */
    devs[0][0] = '\0';
    nd = 1;
  }
  if (ns == 0)
    for (int i = 0; i < nd; i++) share[i] = 1.0; /* a device list alone: equal shares */
  *n_out = nd;
  return STILL_OK;
}

/* The output layer's rows per submit: usually one position is wanted (the
 * next token), so a whole batch of logits (512 × 152k floats = 311 MB for
 * Qwen) would mostly sit unused in VRAM; more rows (still_logits --all, a
 * perplexity run) go through in several rounds. */
#define LOGITS_ROWS 8

static int logits_rows(const still_vk_forward *f) { return f->n_batch < LOGITS_ROWS ? f->n_batch : LOGITS_ROWS; }

/* A layer's weights and vectors onto the device (its KV cache apart). */
static still_status upload_layer(vk_part *P, const still_layer *S, gpu_layer *L, still_error *err)
{
  still_vk *vk = P->vk;
  still_status st;
  L->qkv_stacked = P->stack_qkv ? qkv_stack_count(vk, S) : 0;
  if (L->qkv_stacked) {
    const still_tensor *t[3] = {&S->wq, &S->wk, &S->wv};
    gpu_weight *w[3] = {&L->wq, &L->wk, &L->wv};
    const still_vector *v[3] = {&S->bq, &S->bk, &S->bv};
    gpu_vector *g[3] = {&L->bq, &L->bk, &L->bv};
    const int n = L->qkv_stacked;
    if ((st = upload_stacked(vk, t, n, w, err)) || (st = upload_stacked_vectors(vk, v, n, g, err)) ||
        (n == 2 && ((st = upload_weight(vk, &S->wv, &L->wv, err)) || (st = upload_vector(vk, &S->bv, &L->bv, err)))))
      return st;
  } else if ((st = upload_weight(vk, &S->wq, &L->wq, err)) || (st = upload_weight(vk, &S->wk, &L->wk, err)) ||
             (st = upload_weight(vk, &S->wv, &L->wv, err)) || (st = upload_vector(vk, &S->bq, &L->bq, err)) ||
             (st = upload_vector(vk, &S->bk, &L->bk, err)) || (st = upload_vector(vk, &S->bv, &L->bv, err)))
    return st;
  if ((st = upload_vector(vk, &S->attn_norm, &L->attn_norm, err)) ||
      (st = upload_vector(vk, &S->q_norm, &L->q_norm, err)) || (st = upload_vector(vk, &S->k_norm, &L->k_norm, err)) ||
      (st = upload_vector(vk, &S->ffn_norm, &L->ffn_norm, err)) || (st = upload_weight(vk, &S->wo, &L->wo, err)) ||
      (st = upload_weight(vk, &S->w_down, &L->w_down, err)))
    return st;
  if (pair_gate_up(vk, &S->w_gate, &S->w_up)) return upload_gate_up(vk, &S->w_gate, &S->w_up, &L->w_gate, &L->w_up, err);
  if ((st = upload_weight(vk, &S->w_gate, &L->w_gate, err))) return st;
  return upload_weight(vk, &S->w_up, &L->w_up, err);
}

/* The rounded rows of a buffer of n_batch rows of `width` floats: after the floats, on whole 16 bytes. */
static round8_place place_after(size_t n_batch, size_t width)
{
  return (round8_place){.off = (uint32_t)((n_batch * width + 3) & ~(size_t)3),
                        .stride = (still_vk_round8_words((uint32_t)width) + 3) & ~3u};
}

/* the position of the tuner's batch deep in the context (vk-tune.c, step 7) */
#define TUNE_DEEP_POS 2048

/* The prompt batch still_vk_forward_tune times: a whole one, as a long prompt fills them (up to
 * 512 tokens, the default batch). Not fewer tokens: the prompt shaders' order can change with the
 * batch's size (on an H200, R1-Qwen-1.5B Q8_0's batched dot products beat the tensor cores on
 * 128 tokens, 25 ms against 35, and lost on 512: 5391 tok/s against 9620), and a long prompt is
 * where the time goes. */
#define TUNE_PROMPT_MAX 512
static uint32_t tune_prompt_tokens(const still_vk_forward *f)
{
  const int32_t n = f->n_batch < f->n_ctx ? f->n_batch : f->n_ctx;
  return (uint32_t)(n > TUNE_PROMPT_MAX ? TUNE_PROMPT_MAX : n);
}

/* What the tuner's job says of a matrix type: the dot shaders' types it has, and the prompt
 * shader families (blocks of 256 values, or F16 and blocks of 32). */
static void note_type(still_vk_tune_job *job, uint32_t type)
{
  job->dot_types |= still_vk_dot_type_bit(type);
  if (type < 64) job->types |= 1ull << type;
  const still_type_traits *ti = still_type_get(type);
  if (type == STILL_TYPE_F32 || type == STILL_TYPE_BF16 || !ti) return; /* matmul.comp only */
  if (ti->block_size == 256) job->k_quants = true;
  else job->small_blocks = true;
}

/* The same for every matrix of layers [first, end), and the output matrix when the device has it. */
static void model_types(const still_model *m, int first, int end, bool output, still_vk_tune_job *job)
{
  if (output) note_type(job, m->output.type);
  for (int il = first; il < end; il++) {
    const still_layer *S = &m->layers[il];
    const still_tensor *t[] = {&S->wq, &S->wk, &S->wv, &S->wo, &S->w_gate, &S->w_up, &S->w_down};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
      if (t[i]->data) note_type(job, t[i]->type);
  }
}

static still_status open_part(still_vk_forward *f, vk_part *P, const char *device, still_error *err)
{
  const still_model *m = f->m;
  const still_hparams *hp = &m->hp;
  still_vk_params vp = {.device = device};
  still_status st = still_vk_open(&vp, &P->vk, err);
  if (st != STILL_OK) return st;
  /* the output matrix, the largest buffer, before any layer is uploaded:
   * a device that cannot bind it whole takes no layer (buffer_alloc says
   * the same in the same words, for any buffer) */
  const uint64_t out_bytes = ((m->output.row_bytes + 3) & ~(uint64_t)3) * (uint64_t)m->output.n_out;
  if (P->has_output && out_bytes > still_vk_max_buffer_bytes(P->vk)) {
    still_vk_buffer probe = {0};
    st = still_vk_buffer_new(P->vk, (size_t)out_bytes, &probe, err);
    still_vk_buffer_free(P->vk, &probe);
    if (st != STILL_OK) return st;
  }
  const int n = P->end - P->first;
  P->layers = calloc(n > 0 ? (size_t)n : 1, sizeof *P->layers);
  if (!P->layers) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  const size_t kw = (size_t)hp->n_head_kv * hp->head_dim_k, vw = (size_t)hp->n_head_kv * hp->head_dim_v;
  /* q, k and v stack when rope_store.comp can read them side by side */
  const still_vk_rope_store_args probe = {
    .kv_type = f->kv_type, .n_tok = 1, .n_head = (uint32_t)hp->n_head, .n_head_kv = (uint32_t)hp->n_head_kv,
    .head_dim_k = (uint32_t)hp->head_dim_k, .head_dim_v = (uint32_t)hp->head_dim_v,
    .n_rot = hp->n_rot > 0 ? (uint32_t)hp->n_rot : 0, .kc_off = (uint32_t)kw, .vc_off = (uint32_t)vw};
  P->stack_qkv = still_vk_rope_store_ok(P->vk, &probe) && !still_env_is_zero("STILL_VK_STACK_QKV");
  for (int i = 0; i < n && st == STILL_OK; i++) {
    st = upload_layer(P, &m->layers[P->first + i], &P->layers[i], err);
    if (st == STILL_OK)
      st = still_vk_buffer_new(P->vk, (size_t)still_vk_kv_cache_bytes(f->kv_type, kw * (size_t)f->n_ctx),
                               &P->layers[i].k_cache, err);
    if (st == STILL_OK)
      st = still_vk_buffer_new(P->vk, (size_t)still_vk_kv_cache_bytes(f->kv_type, vw * (size_t)f->n_ctx),
                               &P->layers[i].v_cache, err);
  }
  if (st == STILL_OK && P->has_output) st = upload_vector(P->vk, &m->output_norm, &P->output_norm, err);
  if (st == STILL_OK && P->has_output) st = upload_weight(P->vk, &m->output, &P->output, err);
  /* a tied output matrix is the embedding table: when it is on the device
   * that runs the first layer, the lookup happens there too */
  P->embeds = st == STILL_OK && P->has_output && P->first == 0 && m->output.data == m->tok_embd.data &&
              m->output.type == m->tok_embd.type && m->output.n_out == m->tok_embd.n_out;
  const size_t nb = (size_t)f->n_batch * 4;
  /* stacked layers write k (and v) into q's buffer, after each token's q */
  bool k_apart = false, v_apart = false;
  int most = 0; /* the widest rows of q's buffer */
  for (int i = 0; i < n; i++) {
    const int s = P->layers[i].qkv_stacked;
    k_apart |= s < 2, v_apart |= s < 3;
    if (s > most) most = s;
  }
  const size_t q_width = (size_t)hp->n_head * hp->head_dim_k + (most >= 2 ? kw : 0) + (most == 3 ? vw : 0);
  size_t max_in = (size_t)hp->n_embd;
  if ((size_t)hp->n_head * hp->head_dim_v > max_in) max_in = (size_t)hp->n_head * hp->head_dim_v;
  /* the rounded vectors after the floats of xb, att and hb (a whole batch
   * only where prefill takes them; the fit estimate counts a whole batch:
   * still_fit_gpu_compute_bytes) */
  const size_t att_w = (size_t)hp->n_head * hp->head_dim_v;
  still_vk_tune_job types = {0};
  model_types(m, P->first, P->end, P->has_output, &types);
  P->prompt_room = still_vk_matmul_dot_on(P->vk) || (f->one_part && types.dot_types &&
                                                     still_vk_tune_may_take_matmul_dot(P->vk, tune_prompt_tokens(f)));
  const size_t q_rows = P->prompt_room ? (size_t)f->n_batch : 1;
  P->xb_r8 = place_after((size_t)f->n_batch, max_in);
  P->att_r8 = place_after((size_t)f->n_batch, att_w);
  P->hb_r8 = place_after((size_t)f->n_batch, (size_t)hp->n_ff);
  struct {
    still_vk_buffer *b;
    size_t n;
  } acts[] = {
    {&P->x, nb * hp->n_embd},
    {&P->xb, 4 * (P->xb_r8.off + q_rows * P->xb_r8.stride)},
    {&P->xb2, nb * hp->n_embd},
    {&P->q, nb * q_width},
    {&P->k, k_apart ? nb * kw : 4},
    {&P->v, v_apart ? nb * vw : 4},
    {&P->att, 4 * (P->att_r8.off + q_rows * P->att_r8.stride)},
    {&P->hb, 4 * (P->hb_r8.off + q_rows * P->hb_r8.stride)},
    {&P->hb2, nb * hp->n_ff},
    {&P->rope, nb * (size_t)(hp->n_rot > 0 ? hp->n_rot : 2)},
    {&P->logits, P->has_output ? (size_t)logits_rows(f) * 4 * hp->n_vocab : 4},
    {&P->ids, P->embeds ? nb : 4},
    {&P->att_part, split_attention_bytes(f, P)},
  };
  for (size_t i = 0; i < sizeof acts / sizeof *acts && st == STILL_OK; i++)
    st = still_vk_buffer_new(P->vk, acts[i].n, acts[i].b, err);
  return st;
}

/* The device cache type for the session's: F32 for F32; Q8_0 for Q8_0 when
 * the head dims are whole blocks (kv_store_q8_0.comp, attention.comp
 * -DKV_Q8_0) and STILL_VK_KV_Q8_0=0 is not set; else F16. */
static uint32_t device_kv_type(const still_hparams *hp, uint32_t kv_type)
{
  if (kv_type == STILL_TYPE_F32) return STILL_TYPE_F32;
  if (kv_type == STILL_TYPE_Q8_0 && hp->head_dim_k % 32 == 0 && hp->head_dim_v % 32 == 0 &&
      !still_env_is_zero("STILL_VK_KV_Q8_0"))
    return STILL_TYPE_Q8_0;
  return STILL_TYPE_F16;
}

still_status still_vk_forward_new(const still_model *m, const char *device, const char *split, int first_layer,
                                  int32_t n_ctx, int32_t n_batch, uint32_t kv_type, still_vk_forward **out,
                                  still_error *err)
{
  *out = NULL;
  const still_hparams *hp = &m->hp;
  if (first_layer < 0 || first_layer > hp->n_layer || n_ctx < 1 || n_batch < 1)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad layer split");
  if (hp->head_dim_k > 256 || hp->head_dim_v > 256)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: head size %d is above the shader's 256",
                           hp->head_dim_k);
  char devs[STILL_VK_MAX_SPLIT][STILL_GPU_DEVICE_TEXT];
  double share[STILL_VK_MAX_SPLIT];
  int n_dev = 0;
  still_status st = plan_split(device, split, devs, share, &n_dev, err);
  if (st != STILL_OK) return st;

  still_vk_forward *f = calloc(1, sizeof *f);
  if (!f) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  f->m = m;
  f->first = first_layer;
  f->n_ctx = n_ctx;
  f->n_batch = n_batch;
  f->slice_s = slice_seconds();
  f->kv_type = device_kv_type(hp, kv_type);

  /* layers by cumulative share, like llama.cpp's --tensor-split by layers
   * (gpu-split.c, shared with the fit estimator); a device with no layers is
   * not opened; the output layer goes with the last */
  int bounds[STILL_VK_MAX_SPLIT + 1];
  const int last_used = still_gpu_split_bounds(share, n_dev, first_layer, hp->n_layer, bounds);
  int n_used = 0;
  for (int i = 0; i < n_dev; i++) n_used += bounds[i + 1] > bounds[i] || i == last_used;
  f->one_part = n_used == 1;
  for (int i = 0; i < n_dev && st == STILL_OK; i++) {
    if (bounds[i + 1] == bounds[i] && i != last_used) continue;
    vk_part *P = &f->parts[f->n_parts++];
    P->first = bounds[i];
    P->end = bounds[i + 1];
    P->has_output = i == last_used;
    st = open_part(f, P, devs[i], err);
  }
  if (st == STILL_OK && f->n_parts > 1 &&
      !(f->xhost = malloc((size_t)n_batch * hp->n_embd * sizeof *f->xhost)))
    st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  if (st != STILL_OK) {
    still_vk_forward_free(f);
    return st;
  }
  /* "Vulkan0 (name)" for one device; "Vulkan0 (name) 14 + Vulkan1 (name) 14" for a split */
  size_t len = 0;
  for (int i = 0; i < f->n_parts; i++) {
    const vk_part *P = &f->parts[i];
    int w = snprintf(f->device + len, sizeof f->device - len, "%sVulkan%d (%s)", i ? " + " : "",
                     still_vk_device_index(P->vk), still_vk_device_name(P->vk));
    if (w > 0 && (size_t)w < sizeof f->device - len) len += (size_t)w;
    if (f->n_parts > 1) {
      w = snprintf(f->device + len, sizeof f->device - len, " %d", P->end - P->first);
      if (w > 0 && (size_t)w < sizeof f->device - len) len += (size_t)w;
    }
  }
  *out = f;
  return STILL_OK;
}

/* ---- recording -------------------------------------------------------------------- */

static still_vk_matvec_args mv_args(const gpu_weight *w, int n_tok, uint32_t x_off)
{
  return (still_vk_matvec_args){.type = w->type, .ncols = w->n_in, .nrows = w->n_out, .n_vec = (uint32_t)n_tok,
                                .w_off = 0, .row_bytes = w->row_bytes, .x_off = x_off, .x_stride = w->n_in,
                                .y_off = 0, .y_stride = w->n_out};
}

/* Whether the product of w over n_tok vectors (up_off: with the SwiGLU
 * rows) reads them rounded to 8 bits beforehand: at decode where
 * still_vk_dot_preround asks for it and the product takes the integer dot
 * path; for a prompt batch where still_vk_matmul_dot takes it. */
static bool reads_round8(vk_part *P, const gpu_weight *w, int n_tok, size_t up_off)
{
  if (!w->buf.handle || w->n_in % 32) return false;
  still_vk_matvec_args a = mv_args(w, n_tok, 0);
  if (n_tok > 1) return still_vk_matmul_dot(P->vk, &a);
  return still_vk_dot_preround(P->vk) > 0 && still_vk_matvec_rounds_x(P->vk, &a, up_off);
}

/* where buffer x keeps its rounded vectors (NULL: it keeps none) */
static const round8_place *place_of(const vk_part *P, const still_vk_buffer *x)
{
  return x == &P->xb ? &P->xb_r8 : x == &P->att ? &P->att_r8 : x == &P->hb ? &P->hb_r8 : NULL;
}

/* the rounded form of x's vectors, where this layer made it */
static void use_round8(const vk_part *P, const still_vk_buffer *x, still_vk_matvec_args *a)
{
  const round8_place *q = place_of(P, x);
  if (!q || !q->made || a->x_off != 0) return;
  a->x_rounded = true;
  a->xq_off = q->off;
  a->xq_stride = q->stride;
}

static still_status mv(vk_part *P, const gpu_weight *w, const still_vk_buffer *x, still_vk_buffer *y, int n_tok,
                       uint32_t x_off, still_error *err)
{
  still_vk_matvec_args a = mv_args(w, n_tok, x_off);
  use_round8(P, x, &a);
  return still_vk_mul_mat(P->vk, &w->buf, x, y, &a, err); /* tiled matrix × matrix from 8 tokens on */
}

/* Whether the product of a takes the fused matrix × vector shader (bias or
 * SwiGLU in the same dispatch): where it allows it, and not for a batch
 * rounded beforehand, which goes to the integer dot products instead. */
static bool fused_product(vk_part *P, const still_vk_matvec_args *a, int n_tok)
{
  return still_vk_matvec_fusable(P->vk, a) && !(a->x_rounded && n_tok > 1 && still_vk_matmul_dot(P->vk, a));
}

/* y = W·x + b in one dispatch when the shader allows it, else two. The
 * caller's barrier hints cover the pair as one op. */
static still_status mv_bias(vk_part *P, const gpu_weight *w, const gpu_vector *b, const still_vk_buffer *x,
                            still_vk_buffer *y, int n_tok, still_error *err)
{
  still_vk_matvec_args a = mv_args(w, n_tok, 0);
  use_round8(P, x, &a);
  if (!b->buf.handle) return still_vk_mul_mat(P->vk, &w->buf, x, y, &a, err);
  if (fused_product(P, &a, n_tok))
    return still_vk_matvec_fused(P->vk, &w->buf, x, y, &b->buf, 0, &a, err);
  still_status st = still_vk_mul_mat(P->vk, &w->buf, x, y, &a, err);
  if (st != STILL_OK) return st;
  return still_vk_binary(P->vk, STILL_VK_ADD, y, 0, &b->buf, 0, b->n, y, 0, (uint32_t)n_tok * b->n, err);
}

/* hb = silu(gate·xb) · (up·xb): one dispatch when gate and up share a buffer
 * (pair_gate_up) and the shader allows it, else gate, up and the SwiGLU op. */
static still_status ffn_gate_up(vk_part *P, const gpu_layer *L, int n_tok, uint32_t n_ff, still_error *err)
{
  const bool paired = L->w_up.buf.handle == 0;
  const still_vk_buffer *ub = paired ? &L->w_gate.buf : &L->w_up.buf;
  still_vk_matvec_args ga = mv_args(&L->w_gate, n_tok, 0), ua = mv_args(&L->w_up, n_tok, 0);
  use_round8(P, &P->xb, &ga), use_round8(P, &P->xb, &ua);
  if (paired) ua.w_off = (size_t)L->w_gate.n_out * L->w_gate.row_bytes;
  if (paired && fused_product(P, &ga, n_tok))
    return still_vk_matvec_fused(P->vk, &L->w_gate.buf, &P->xb, &P->hb, NULL, ua.w_off, &ga, err);
  still_status st = still_vk_mul_mat(P->vk, &L->w_gate.buf, &P->xb, &P->hb, &ga, err);
  still_vk_concurrent_next(P->vk);
  if (st == STILL_OK) st = still_vk_mul_mat(P->vk, ub, &P->xb, &P->hb2, &ua, err);
  if (st == STILL_OK)
    st = still_vk_binary(P->vk, STILL_VK_SWIGLU, &P->hb, 0, &P->hb2, 0, 0, &P->hb, 0, (uint32_t)n_tok * n_ff, err);
  return st;
}

/* add_rms_norm.comp's arguments for rows [row0, row0 + n) of the residual stream x (and of the
 * pending residual xb2) into xb's rows from 0, rounded to 8 bits into xb's place for them too
 * where round8 and the rows take it (whole blocks of 32) */
static still_vk_add_rms_norm_args norm_args(const still_vk_forward *f, const vk_part *P, uint32_t row0, uint32_t n,
                                            bool round8)
{
  const uint32_t n_embd = (uint32_t)f->m->hp.n_embd;
  return (still_vk_add_rms_norm_args){.n = n_embd, .nrows = n, .x_off = row0 * n_embd, .x_stride = n_embd,
                                      .r_off = row0 * n_embd, .r_stride = n_embd, .g_off = 0, .y_off = 0,
                                      .y_stride = n_embd, .eps = f->m->hp.rms_eps,
                                      .round8 = round8 && n_embd % 32 == 0, .q_off = P->xb_r8.off,
                                      .q_stride = P->xb_r8.stride};
}

/* RMSNorm of rows [row0, row0 + n) of the residual stream x into xb, with
 * weight g. Fused (still_vk_fuse) by add_rms_norm.comp, which first adds the
 * pending residual xb2 to those rows of x when add is set. round8 (products
 * that read them rounded next, reads_round8): xb's rows are also rounded to
 * 8 bits, in the same dispatch when fused. */
static still_status norm_rows(still_vk_forward *f, vk_part *P, const gpu_vector *g, bool add, uint32_t row0,
                              uint32_t n, bool round8, still_error *err)
{
  const uint32_t n_embd = (uint32_t)f->m->hp.n_embd;
  const still_vk_add_rms_norm_args a = norm_args(f, P, row0, n, round8);
  P->xb_r8.made = a.round8;
  if (!still_vk_fuse(P->vk)) {
    still_status st = still_vk_rms_norm(P->vk, &P->x, a.x_off, n_embd, &g->buf, 0, &P->xb, 0, n_embd, n_embd, n,
                                        a.eps, err);
    if (st == STILL_OK && a.round8)
      st = still_vk_round8(P->vk, &P->xb, 0, n_embd, &P->xb, P->xb_r8.off, P->xb_r8.stride, n_embd, n, err);
    return st;
  }
  return still_vk_add_rms_norm(P->vk, &P->x, add ? &P->xb2 : NULL, &g->buf, &P->xb, &a, err);
}

/* Decode: w's product of x_in into xb2 with the residual add and the RMSNorm of g after it
 * (norm_rows' work: x += xb2, xb = norm(x) · g, and its rounded form where round8) in the
 * product's last workgroup (still_vk_matvec_norm), where the switch (STILL_VK_NORM_FOLD or the
 * tuner's) and the product's shader allow it. *done: whether it was recorded; else nothing is,
 * and the caller records them apart. */
static still_status mv_norm(still_vk_forward *f, vk_part *P, const gpu_weight *w, const still_vk_buffer *x_in,
                            const gpu_vector *g, bool round8, int n_tok, bool *done, still_error *err)
{
  *done = false;
  if (n_tok != 1 || !still_vk_fuse(P->vk) || !still_vk_norm_folds(P->vk)) return STILL_OK;
  still_vk_matvec_args a = mv_args(w, 1, 0);
  use_round8(P, x_in, &a);
  const still_vk_add_rms_norm_args n = norm_args(f, P, 0, 1, round8);
  if (!still_vk_matvec_norm_ok(P->vk, &a, &n)) return STILL_OK;
  P->xb_r8.made = n.round8;
  *done = true;
  return still_vk_matvec_norm(P->vk, &w->buf, x_in, &P->xb2, &a, &P->x, &g->buf, &P->xb, &n, err);
}

/* Whether decode's wo or down product of layer L takes a shader with the norm in its tail
 * (still_vk_matvec_norm_fits), whatever the switch says now (the tuner sets it). */
static bool decode_norms(const still_vk_forward *f, const vk_part *P, const gpu_layer *L)
{
  const still_vk_add_rms_norm_args n = norm_args(f, P, 0, 1, false);
  const still_vk_matvec_args wo = mv_args(&L->wo, 1, 0), down = mv_args(&L->w_down, 1, 0);
  return still_vk_fuse(P->vk) &&
         (still_vk_matvec_norm_fits(P->vk, &wo, &n) || still_vk_matvec_norm_fits(P->vk, &down, &n));
}

/* Whether a product of the attention inputs (xb) reads the vector rounded. */
static bool attention_inputs_round8(vk_part *P, const gpu_layer *L, int n_tok)
{
  const int s = L->qkv_stacked;
  return reads_round8(P, &L->wq, n_tok, 0) || (s < 2 && reads_round8(P, &L->wk, n_tok, 0)) ||
         (s < 3 && reads_round8(P, &L->wv, n_tok, 0));
}

/* The same for the FFN's gate and up products (paired: one SwiGLU product
 * where it is fusable, see ffn_gate_up). */
static bool ffn_inputs_round8(vk_part *P, const gpu_layer *L, int n_tok)
{
  if (L->w_up.buf.handle == 0) {
    const size_t up_off = (size_t)L->w_gate.n_out * L->w_gate.row_bytes;
    const still_vk_matvec_args ga = mv_args(&L->w_gate, n_tok, 0);
    return reads_round8(P, &L->w_gate, n_tok, still_vk_matvec_fusable(P->vk, &ga) ? up_off : 0);
  }
  return reads_round8(P, &L->w_gate, n_tok, 0) || reads_round8(P, &L->w_up, n_tok, 0);
}

/* Whether w's product reads the rows of n values before it (att or hb)
 * rounded by the op that makes them or by a dispatch of their own: prompt
 * batches, and decode with STILL_VK_DOT_PREROUND=2. round8_alone is that
 * dispatch. */
static bool rounds_after(vk_part *P, const gpu_weight *w, uint32_t n, int n_tok)
{
  return (n_tok > 1 || still_vk_dot_preround(P->vk) >= 2) && n % 32 == 0 && reads_round8(P, w, n_tok, 0);
}

static still_status round8_alone(vk_part *P, const gpu_weight *w, still_vk_buffer *buf, round8_place *q, uint32_t n,
                                 int n_tok, still_error *err)
{
  q->made = rounds_after(P, w, n, n_tok);
  return q->made ? still_vk_round8(P->vk, buf, 0, n, buf, q->off, q->stride, n, (uint32_t)n_tok, err) : STILL_OK;
}

#define TRY(expr)                                                                                                     \
  do {                                                                                                                \
    if ((st = (expr)) != STILL_OK) goto done;                                                                         \
  } while (0)

/* rope_store.comp's arguments for layer L's q/k/v products of nt tokens at pos0 (stacked as
 * L->qkv_stacked says: [token][q | k | v], [token][q | k] or apart). */
static still_vk_rope_store_args rope_args(const still_vk_forward *f, const gpu_layer *L, uint32_t nt, int32_t pos0)
{
  const still_model *m = f->m;
  const still_hparams *hp = &m->hp;
  const uint32_t hdk = (uint32_t)hp->head_dim_k, hdv = (uint32_t)hp->head_dim_v;
  const uint32_t n_q = (uint32_t)hp->n_head * hdk, n_k = (uint32_t)hp->n_head_kv * hdk,
                 n_v = (uint32_t)hp->n_head_kv * hdv;
  const int s = L->qkv_stacked;
  const uint32_t stride = n_q + (s >= 2 ? n_k : 0) + (s == 3 ? n_v : 0);
  return (still_vk_rope_store_args){
    .kv_type = f->kv_type, .n_tok = nt, .n_head = (uint32_t)hp->n_head, .n_head_kv = (uint32_t)hp->n_head_kv,
    .head_dim_k = hdk, .head_dim_v = hdv, .n_rot = hp->n_rot > 0 ? (uint32_t)hp->n_rot : 0,
    .neox = m->arch->rope == STILL_ROPE_NEOX, .eps = hp->rms_eps, .q_off = 0, .q_stride = stride,
    .k_off = s >= 2 ? n_q : 0, .k_stride = s >= 2 ? stride : n_k, .v_off = s == 3 ? n_q + n_k : 0,
    .v_stride = s == 3 ? stride : n_v, .cs_off = 0, .kc_off = (uint32_t)pos0 * n_k, .vc_off = (uint32_t)pos0 * n_v};
}

/* Whether the batch of aa takes the split attention (a few tokens, its scratch made, a shape it takes). */
static bool takes_split(const vk_part *P, const still_vk_attention_args *aa)
{
  return aa->n_tok <= SPLIT_ATTENTION_TOKENS && P->att_part.size > 4 && still_vk_attention_split_ok(P->vk, aa);
}

/* Whether a decode token (at position 0) can take the split attention and with it rope_store's
 * work for layer L (as record_layer decides: q and k in one buffer, the shapes of
 * still_vk_attention_fold_ok), whatever the switch says now (the tuner sets it). */
static bool decode_folds(const still_vk_forward *f, const vk_part *P, const gpu_layer *L)
{
  const still_vk_attention_args aa = attention_args(f, 1, 0);
  const still_vk_rope_store_args rs = rope_args(f, L, 1, 0);
  return takes_split(P, &aa) && L->qkv_stacked >= 2 && still_vk_attention_fold_fits(P->vk, &aa, &rs);
}

/* q, k and v of the batch (with their biases: Qwen), the norms of q and k
 * (Qwen3), rope, and k and v into the layer's cache at pos0: q ends up in
 * P->q, q_stride floats per token. Stacked (gpu_layer.qkv_stacked), one
 * product writes [token][q | k | v] and rope_store.comp does the rest: two
 * dispatches. Else up to three products and six small ops. A decode token
 * whose split attention can do rope_store's work (fold_into, the attention's
 * arguments) leaves it to it: *folded gets rope_store's arguments, and
 * nothing after the products is recorded here. */
static still_status attention_inputs(still_vk_forward *f, vk_part *P, gpu_layer *L, uint32_t nt, int32_t pos0,
                                     uint32_t *q_stride, const still_vk_attention_args *fold_into,
                                     still_vk_rope_store_args *folded, still_error *err)
{
  const still_model *m = f->m;
  const still_hparams *hp = &m->hp;
  still_vk *vk = P->vk;
  const uint32_t hdk = (uint32_t)hp->head_dim_k, hdv = (uint32_t)hp->head_dim_v;
  const uint32_t n_q = (uint32_t)hp->n_head * hdk, n_k = (uint32_t)hp->n_head_kv * hdk,
                 n_v = (uint32_t)hp->n_head_kv * hdv;
  const int s = L->qkv_stacked;
  const still_vk_rope_store_args rs = rope_args(f, L, nt, pos0);
  const uint32_t stride = rs.q_stride;
  still_status st = STILL_OK;
  /* the products read the same input and write apart: no barrier between them */
  TRY(mv_bias(P, &L->wq, &L->bq, &P->xb, &P->q, (int)nt, err));
  if (s < 2) {
    still_vk_concurrent_next(vk);
    TRY(mv_bias(P, &L->wk, &L->bk, &P->xb, &P->k, (int)nt, err));
  }
  if (s < 3) {
    still_vk_concurrent_next(vk);
    TRY(mv_bias(P, &L->wv, &L->bv, &P->xb, &P->v, (int)nt, err));
  }
  *q_stride = stride;
  /* decode: where the split attention can take rope_store's work (q and k in one buffer), it does */
  if (fold_into && s >= 2 && still_vk_attention_fold_ok(vk, fold_into, &rs)) {
    *folded = rs;
    return STILL_OK;
  }
  if (s > 0 || still_vk_rope_store_ok(vk, &rs)) { /* stacked only where it is ok (open_part) */
    const bool qk = m->arch->qk_norm;
    return still_vk_rope_store(vk, &P->q, s >= 2 ? &P->q : &P->k, s == 3 ? &P->q : &P->v, &P->rope, &L->k_cache,
                               &L->v_cache, qk ? &L->q_norm.buf : NULL, qk ? &L->k_norm.buf : NULL, &rs, err);
  }
  if (m->arch->qk_norm) {
    TRY(still_vk_rms_norm(vk, &P->q, 0, hdk, &L->q_norm.buf, 0, &P->q, 0, hdk, hdk, nt * hp->n_head, hp->rms_eps, err));
    still_vk_concurrent_next(vk);
    TRY(still_vk_rms_norm(vk, &P->k, 0, hdk, &L->k_norm.buf, 0, &P->k, 0, hdk, hdk, nt * hp->n_head_kv, hp->rms_eps,
                          err));
  }
  if (hp->n_rot > 0) {
    still_vk_rope_args ra = {.n_tok = nt, .n_heads = (uint32_t)hp->n_head, .head_dim = hdk,
                             .n_rot = (uint32_t)hp->n_rot, .neox = m->arch->rope == STILL_ROPE_NEOX,
                             .x_off = 0, .x_stride = n_q, .cs_off = 0};
    TRY(still_vk_rope(vk, &P->q, &P->rope, &ra, err));
    ra.n_heads = (uint32_t)hp->n_head_kv;
    ra.x_stride = n_k;
    still_vk_concurrent_next(vk);
    TRY(still_vk_rope(vk, &P->k, &P->rope, &ra, err));
  }
  TRY(still_vk_kv_store(vk, f->kv_type, &P->k, 0, &L->k_cache, (uint32_t)pos0 * n_k, nt * n_k, err));
  still_vk_concurrent_next(vk);
  TRY(still_vk_kv_store(vk, f->kv_type, &P->v, 0, &L->v_cache, (uint32_t)pos0 * n_v, nt * n_v, err));
done:
  return st;
}

static still_status record_layer(still_vk_forward *f, vk_part *P, int il, int n_tok, int32_t pos0, still_error *err)
{
  const still_model *m = f->m;
  const still_hparams *hp = &m->hp;
  gpu_layer *L = &P->layers[il - P->first];
  still_vk *vk = P->vk;
  const uint32_t n_embd = (uint32_t)hp->n_embd;
  const uint32_t nt = (uint32_t)n_tok;
  still_status st = STILL_OK;

  P->att_r8.made = P->hb_r8.made = false;
  /* fused: the previous layer's FFN output (xb2) is added to x here (or was, with its down
   * product: normed_ahead) */
  if (!P->normed_ahead)
    TRY(norm_rows(f, P, &L->attn_norm, still_vk_fuse(vk) && il > P->first, 0, nt, attention_inputs_round8(P, L, n_tok),
                  err));
  P->normed_ahead = false;
  uint32_t q_stride = 0;
  still_vk_attention_args aa = attention_args(f, nt, pos0);
  const bool split = takes_split(P, &aa);
  still_vk_rope_store_args folded = {0}; /* n_tok 1: the attention does rope_store's work */
  TRY(attention_inputs(f, P, L, nt, pos0, &q_stride, split && nt == 1 ? &aa : NULL, &folded, err));
  aa.q_stride = q_stride;
  const uint32_t n_att = (uint32_t)(hp->n_head * hp->head_dim_v);
  if (split) {
    /* fused: the merge rounds the output for wo (whole blocks per head) */
    P->att_r8.made = still_vk_fuse(vk) && still_vk_attention_split_rounds(vk, &aa) &&
                     rounds_after(P, &L->wo, n_att, n_tok);
    aa.round8 = P->att_r8.made, aa.r8_off = P->att_r8.off, aa.r8_stride = P->att_r8.stride;
    if (folded.n_tok) {
      const bool qk = f->m->arch->qk_norm;
      TRY(still_vk_attention_fold(vk, &P->q, L->qkv_stacked == 3 ? &P->q : &P->v, &P->rope, &L->k_cache,
                                  &L->v_cache, qk ? &L->q_norm.buf : NULL, qk ? &L->k_norm.buf : NULL, &P->att_part,
                                  &P->att, &aa, &folded, err));
    } else {
      TRY(still_vk_attention_split(vk, &P->q, &L->k_cache, &L->v_cache, &P->att_part, &P->att, &aa, err));
    }
  } else {
    TRY(still_vk_attention(vk, &P->q, &L->k_cache, &L->v_cache, &P->att, &aa, err));
  }
  if (!P->att_r8.made) TRY(round8_alone(P, &L->wo, &P->att, &P->att_r8, n_att, n_tok, err));
  /* decode: the FFN's norm in the last workgroup of wo's product where it can be (mv_norm) */
  bool normed = false;
  TRY(mv_norm(f, P, &L->wo, &P->att, &L->ffn_norm, ffn_inputs_round8(P, L, n_tok), n_tok, &normed, err));
  if (!normed) {
    TRY(mv(P, &L->wo, &P->att, &P->xb2, n_tok, 0, err));
    if (!still_vk_fuse(vk)) TRY(still_vk_binary(vk, STILL_VK_ADD, &P->x, 0, &P->xb2, 0, 0, &P->x, 0, nt * n_embd, err));
    TRY(norm_rows(f, P, &L->ffn_norm, still_vk_fuse(vk), 0, nt, ffn_inputs_round8(P, L, n_tok), err));
  }
  TRY(ffn_gate_up(P, L, n_tok, (uint32_t)hp->n_ff, err));
  TRY(round8_alone(P, &L->w_down, &P->hb, &P->hb_r8, (uint32_t)hp->n_ff, n_tok, err));
  /* decode: the next layer's attention norm in the last workgroup of the down product, where
   * that layer is on this device too */
  if (il + 1 < P->end) {
    gpu_layer *N = L + 1;
    TRY(mv_norm(f, P, &L->w_down, &P->hb, &N->attn_norm, attention_inputs_round8(P, N, n_tok), n_tok,
                &P->normed_ahead, err));
  }
  if (!P->normed_ahead) {
    TRY(mv(P, &L->w_down, &P->hb, &P->xb2, n_tok, 0, err));
    /* fused, the add goes with the next norm (the next layer's or the output
     * norm); the last layer of a part whose stream goes on to the next
     * device finishes it here */
    if (!still_vk_fuse(vk) || (il + 1 == P->end && !P->has_output))
      TRY(still_vk_binary(vk, STILL_VK_ADD, &P->x, 0, &P->xb2, 0, 0, &P->x, 0, nt * n_embd, err));
  }
done:
  return st;
}

/* The output norm and matrix for rows [first, first + n) of the batch, into P->logits. */
static still_status record_output(still_vk_forward *f, vk_part *P, uint32_t first, uint32_t n, still_error *err)
{
  /* fused: the last layer's FFN output is added to these rows here (the
   * rows without logits are not needed any more) */
  const bool pre = reads_round8(P, &P->output, (int)n, 0);
  P->att_r8.made = P->hb_r8.made = false;
  still_status st = norm_rows(f, P, &P->output_norm, still_vk_fuse(P->vk) && P->end > P->first, first, n, pre, err);
  return st == STILL_OK ? mv(P, &P->output, &P->xb, &P->logits, (int)n, 0, err) : st;
}

/* Layers per slice of a prompt batch of n_tok tokens (see SLICE_S): all of them where the
 * caller cannot cancel, for a single token, or where the batch takes less than a slice. The
 * rate is that of the last wait (layers only; a first one includes building the pipelines,
 * so the next batch may wait once more than it needs to, and measures again). */
static int slice_layers(const still_vk_forward *f, const vk_part *P, int n_tok, const atomic_bool *cancel)
{
  const int n = P->end - P->first;
  if (!cancel || n_tok < 2 || n < 2 || f->slice_s < 0) return n;
  if (f->slice_s == 0 || P->layer_tok_s <= 0) return 1; /* every layer; or the first, to time it */
  const double per_layer = P->layer_tok_s * n_tok, k = f->slice_s / per_layer;
  return k >= n ? n : k < 1 ? 1 : (int)k;
}

/* One part's layers (and the output layer on the last): one submit (one
 * per slice of a prompt batch that can be cancelled, see SLICE_S), and
 * one more per LOGITS_ROWS further rows of logits. The inputs (x or token
 * ids, the rope tables) and the outputs (logits; the residual stream into
 * x_out for the next part, when not NULL) are copied inside that submit
 * when the staging space holds them (on a discrete GPU a separate copy is a
 * host round trip each), else before and after it. */
static still_status run_part(still_vk_forward *f, vk_part *P, const float *x, const int32_t *tokens, int n_tok,
                             int32_t pos0, const float *rope_cos, const float *rope_sin, int first_out, float *out,
                             float *x_out, const atomic_bool *cancel, still_error *err)
{
  const still_hparams *hp = &f->m->hp;
  const size_t half = (size_t)(hp->n_rot / 2);
  const size_t x_bytes = (size_t)n_tok * hp->n_embd * 4, rope_bytes = (size_t)n_tok * half * 4;
  const bool want = P->has_output && out && first_out < n_tok;
  const uint32_t n_out = want ? (uint32_t)(n_tok - first_out) : 0, rows = (uint32_t)logits_rows(f);
  /* the first submit's copies (later rounds download fewer logits) */
  const size_t cost =
    (x ? still_vk_rec_cost(P->vk, &P->x, x_bytes) : still_vk_rec_cost(P->vk, &P->ids, (size_t)n_tok * 4)) +
    2 * still_vk_rec_cost(P->vk, &P->rope, rope_bytes) + (x_out ? still_vk_rec_cost(P->vk, &P->x, x_bytes) : 0) +
    still_vk_rec_cost(P->vk, &P->logits, (size_t)(n_out < rows ? n_out : rows) * hp->n_vocab * 4);
  const bool one = cost <= still_vk_rec_space(P->vk);
  still_status st = STILL_OK;
  if (!one) {
    if (x) st = still_vk_upload(P->vk, &P->x, 0, x, x_bytes, err);
    else st = still_vk_upload(P->vk, &P->ids, 0, tokens, (size_t)n_tok * 4, err); /* ids are >= 0: as uint32 */
    if (st == STILL_OK && half > 0) st = still_vk_upload(P->vk, &P->rope, 0, rope_cos, rope_bytes, err);
    if (st == STILL_OK && half > 0) st = still_vk_upload(P->vk, &P->rope, rope_bytes, rope_sin, rope_bytes, err);
    if (st != STILL_OK) return st;
  }
  if ((st = still_vk_begin(P->vk, err)) != STILL_OK) return st;
  if (one) {
    if (x) st = still_vk_upload_rec(P->vk, &P->x, 0, x, x_bytes, err);
    else st = still_vk_upload_rec(P->vk, &P->ids, 0, tokens, (size_t)n_tok * 4, err);
    if (st == STILL_OK && half > 0) st = still_vk_upload_rec(P->vk, &P->rope, 0, rope_cos, rope_bytes, err);
    if (st == STILL_OK && half > 0) st = still_vk_upload_rec(P->vk, &P->rope, rope_bytes, rope_sin, rope_bytes, err);
  }
  if (!x && st == STILL_OK) {
    still_vk_get_rows_args ga = {.type = P->output.type, .ncols = P->output.n_in, .nrows = P->output.n_out,
                                 .n_tok = (uint32_t)n_tok, .w_off = 0, .row_bytes = P->output.row_bytes,
                                 .ids_off = 0, .y_off = 0, .y_stride = (uint32_t)hp->n_embd};
    st = still_vk_get_rows(P->vk, &P->output.buf, &P->ids, &P->x, &ga, err);
  }
  P->normed_ahead = false;
  int per_slice = slice_layers(f, P, n_tok, cancel), slice_first = P->first;
  int64_t slice_t0 = still_time_us();
  for (int il = P->first; il < P->end && st == STILL_OK; il++) {
    st = record_layer(f, P, il, n_tok, pos0, err);
    if (st != STILL_OK || il + 1 == P->end) break;
    const int k = il - slice_first + 1;
    if (k >= per_slice) {
      /* the end of a slice: wait for the GPU, time it, and read the cancel */
      if ((st = still_vk_submit(P->vk, err)) != STILL_OK) return st;
      const int64_t now = still_time_us();
      P->layer_tok_s = (double)(now - slice_t0) * 1e-6 / ((double)k * n_tok);
      if (f->slice_hook) f->slice_hook(f->slice_user, (int)(P - f->parts), il + 1 - P->first);
      if (atomic_load_explicit(cancel, memory_order_relaxed))
        return still_set_error(err, STILL_ERR_CANCELLED, "cancelled");
      if ((st = still_vk_begin(P->vk, err)) != STILL_OK) return st;
      per_slice = slice_layers(f, P, n_tok, cancel);
      slice_first = il + 1;
      slice_t0 = now;
    } else if ((k & (k - 1)) == 0)
      /* the GPU starts on the first layers while the host records the rest:
       * after 1, 2, 4, 8… layers (each run twice as long as the one before,
       * so the host keeps ahead with few submits) */
      st = still_vk_flush(P->vk, err);
  }
  if (st == STILL_OK && x_out && one) st = still_vk_download_rec(P->vk, &P->x, 0, x_out, x_bytes, err);
  uint32_t done = 0;
  for (;;) {
    const uint32_t n = n_out - done < rows ? n_out - done : rows;
    float *dst = n > 0 ? out + (size_t)done * hp->n_vocab : NULL;
    if (st == STILL_OK && n > 0) st = record_output(f, P, (uint32_t)first_out + done, n, err);
    if (st == STILL_OK && n > 0 && one) st = still_vk_download_rec(P->vk, &P->logits, 0, dst, (size_t)n * hp->n_vocab * 4, err);
    /* always submit what was recorded, so the context is ready for the next batch */
    still_error err2 = {0};
    still_status st2 = still_vk_submit(P->vk, st == STILL_OK ? err : &err2);
    if (st == STILL_OK) st = st2;
    if (st == STILL_OK && n > 0 && !one)
      st = still_vk_download(P->vk, &P->logits, 0, dst, (size_t)n * hp->n_vocab * 4, err);
    done += n;
    if (st != STILL_OK || done >= n_out) break;
    if ((st = still_vk_begin(P->vk, err)) != STILL_OK) break;
  }
  if (st == STILL_OK && x_out && !one) st = still_vk_download(P->vk, &P->x, 0, x_out, x_bytes, err);
  return st;
}

still_status still_vk_forward_run(still_vk_forward *f, const float *x, const int32_t *tokens, int n_tok, int32_t pos0,
                                  const float *rope_cos, const float *rope_sin, int first_out, float *out,
                                  const atomic_bool *cancel, still_error *err)
{
  const still_hparams *hp = &f->m->hp;
  if (n_tok < 1 || n_tok > f->n_batch || pos0 < 0 || pos0 + n_tok > f->n_ctx)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: batch of %d tokens at %d does not fit", n_tok, pos0);
  if (!x && (!tokens || !still_vk_forward_embeds(f)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: no input for the GPU layers");
  if (!x)
    for (int t = 0; t < n_tok; t++)
      if (tokens[t] < 0 || tokens[t] >= hp->n_vocab)
        return still_set_error(err, STILL_ERR_INVALID_ARG, "token id %d is outside the vocabulary", (int)tokens[t]);
  still_status st = STILL_OK;
  for (int i = 0; i < f->n_parts && st == STILL_OK; i++) {
    vk_part *P = &f->parts[i];
    /* the residual stream enters the next device through host memory */
    st = run_part(f, P, i == 0 ? x : f->xhost, tokens, n_tok, pos0, rope_cos, rope_sin, first_out, out,
                  i + 1 < f->n_parts ? f->xhost : NULL, cancel, err);
  }
  return st;
}

/* ---- the device's paths, timed (vk-tune.c) ------------------------------------------ */

typedef struct {
  still_vk_forward *f;
  int n_prompt;
  float *x, *rope, *out; /* x: NULL where the device looks the tokens up; rope: cos, then sin */
  int32_t *ids;
} tune_ctx;

/* One decode token or prompt batch at position pos0 (the cache rows it writes are written again
 * before a session reads them; a batch deep in the context attends to rows no session wrote,
 * which only its time is taken from), the last row's logits fetched as a session does. Its host
 * inputs and outputs are made at the first run (a search read from the cache runs none). */
static still_status tune_run(void *ctx, bool prompt, uint32_t pos0, double *seconds, still_error *err)
{
  tune_ctx *c = ctx;
  const still_hparams *hp = &c->f->m->hp;
  const int n = prompt ? c->n_prompt : 1, most = c->n_prompt > 1 ? c->n_prompt : 1;
  const size_t half = (size_t)(hp->n_rot > 0 ? hp->n_rot / 2 : 0);
  if (!c->ids) {
    const bool embeds = still_vk_forward_embeds(c->f);
    c->ids = calloc((size_t)most, sizeof *c->ids);
    c->rope = calloc(2 * (size_t)most * half + 1, sizeof *c->rope);
    c->out = calloc((size_t)hp->n_vocab, sizeof *c->out);
    if (!embeds) c->x = calloc((size_t)most * hp->n_embd, sizeof *c->x);
    if (!c->ids || !c->rope || !c->out || (!embeds && !c->x)) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < (size_t)most * half; i++) c->rope[i] = 1.0f; /* cos 1, sin 0 */
  }
  const double t0 = still_time_s();
  still_status st =
    still_vk_forward_run(c->f, c->x, c->ids, n, (int32_t)pos0, c->rope, c->rope + (size_t)most * half, n - 1, c->out,
                         NULL, err);
  *seconds = still_time_s() - t0;
  return st;
}

static int cmp_tuple(const void *a, const void *b) { return memcmp(a, b, 8 * sizeof(uint32_t)); }

/* The matrices' types and shapes, the batch and the cache type: what the fastest paths depend
 * on besides the device (the number of layers only scales the times). */
static uint64_t model_key(const still_vk_forward *f, const vk_part *P)
{
  const still_hparams *hp = &f->m->hp;
  still_hash64 h;
  still_hash64_init(&h);
  const int32_t dims[] = {hp->n_embd, hp->n_ff, hp->n_head, hp->n_head_kv, hp->head_dim_k, hp->head_dim_v,
                          hp->n_vocab, hp->n_rot, f->n_batch, (int32_t)f->kv_type, P->has_output,
                          f->m->arch->rope, f->m->arch->qk_norm};
  still_hash64_update(&h, dims, sizeof dims);
  /* the layers' kinds (types of their matrices, stacking), each once and sorted: how many
   * layers of each the device holds only scales the times */
  const int n = P->end - P->first;
  uint32_t(*kinds)[8] = calloc(n > 0 ? (size_t)n : 1, sizeof *kinds);
  int n_kinds = 0;
  for (int il = P->first; il < P->end && kinds; il++) {
    const gpu_layer *L = &P->layers[il - P->first];
    const gpu_weight *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
    uint32_t k[8];
    for (size_t i = 0; i < 7; i++) k[i] = w[i]->buf.handle ? w[i]->type : UINT32_MAX;
    k[7] = (uint32_t)L->qkv_stacked;
    int j = 0;
    while (j < n_kinds && memcmp(kinds[j], k, sizeof k) != 0) j++;
    if (j == n_kinds) memcpy(kinds[n_kinds++], k, sizeof k);
  }
  if (kinds) {
    qsort(kinds, (size_t)n_kinds, sizeof *kinds, cmp_tuple);
    still_hash64_update(&h, kinds, (size_t)n_kinds * sizeof *kinds);
  }
  free(kinds);
  if (P->has_output) still_hash64_update(&h, &P->output.type, sizeof P->output.type);
  return still_hash64_final(&h);
}

/* First, each device's tensor cores checked (still_vk_coop_verify: a driver that gets the
 * prompt products wrong loses them, said on stderr and at the head of the tuning line). Then
 * one device only: a split keeps the defaults (each device's time is not apart in the forward
 * pass's). */
still_status still_vk_forward_tune(still_vk_forward *f, still_step_fn on_step, void *step_user, still_error *err)
{
  vk_part *P = &f->parts[0];
  /* the devices whose tensor cores failed, and why (a split over cards of one kind says it once),
   * at the head of the tuning line */
  f->tuning[0] = '\0';
  size_t n = 0;
  for (int i = 0; i < f->n_parts; i++) {
    char why[160], entry[280];
    const bool kept = still_vk_coop_verify(f->parts[i].vk, why, sizeof why);
    const char *name = still_vk_device_name(f->parts[i].vk);
    if (kept) {
      if (why[0]) fprintf(stderr, "still: %s: the tensor cores' check could not run, kept: %s\n", name, why);
      continue;
    }
    fprintf(stderr, "still: %s: prompts leave the tensor cores: %s\n", name, why);
    snprintf(entry, sizeof entry, "tensor cores off on %.80s (%.160s); ", name, why);
    if (!strstr(f->tuning, entry) && n + strlen(entry) < sizeof f->tuning - 900) {
      memcpy(f->tuning + n, entry, strlen(entry) + 1);
      n += strlen(entry);
    }
  }
  if (f->n_parts != 1) {
    snprintf(f->tuning + n, sizeof f->tuning - n, "defaults (a split over %d devices)", f->n_parts);
    return STILL_OK;
  }
  tune_ctx c = {.f = f, .n_prompt = (int)tune_prompt_tokens(f)};
  /* the dot products for prompts only where the rounded vectors have a batch's room (open_part) */
  still_vk_tune_job job = {.run = tune_run, .ctx = &c, .n_prompt = (uint32_t)c.n_prompt, .prompt_dot = P->prompt_room,
                           .model_key = model_key(f, P), .on_step = on_step, .step_user = step_user};
  model_types(f->m, P->first, P->end, P->has_output, &job);
  for (int il = P->first; il < P->end && !job.folds; il++) job.folds = decode_folds(f, P, &P->layers[il - P->first]);
  for (int il = P->first; il < P->end && !job.norms; il++) job.norms = decode_norms(f, P, &P->layers[il - P->first]);
  /* the prompt's attention timed on a batch at TUNE_DEEP_POS (or as deep as the context allows,
   * from half the batch on) */
  const int32_t room = f->n_ctx - c.n_prompt;
  job.deep_pos = room >= c.n_prompt / 2 ? (uint32_t)(room < TUNE_DEEP_POS ? room : TUNE_DEEP_POS) : 0;
  const still_vk_attention_args deep = attention_args(f, (uint32_t)c.n_prompt, (int32_t)job.deep_pos);
  /* (a batch short enough for the split attention never meets still_vk_attention) */
  job.attn_coop = P->end > P->first && job.deep_pos > 0 && !takes_split(P, &deep) &&
                  still_vk_attention_coop_fits(P->vk, &deep);
  f->tuning[n] = '\0'; /* (what still_vk_tune leaves unsaid where it fails) */
  const still_status st = still_vk_tune(P->vk, &job, f->tuning + n, sizeof f->tuning - n, err);
  free(c.ids), free(c.rope), free(c.out), free(c.x);
  return st;
}

/* ---- the KV cache from the host (saved prefixes) ------------------------------------ */

int still_vk_forward_first_layer(const still_vk_forward *f) { return f->first; }

uint32_t still_vk_forward_kv_type(const still_vk_forward *f) { return f->kv_type; }

size_t still_vk_forward_kv_row_bytes(const still_vk_forward *f, bool values)
{
  const still_hparams *hp = &f->m->hp;
  const uint64_t n = (uint64_t)hp->n_head_kv * (values ? hp->head_dim_v : hp->head_dim_k);
  /* rows are whole blocks for Q8_0, so the pair rounding of the buffer does not apply */
  return (size_t)(f->kv_type == STILL_TYPE_Q8_0 ? n / 32 * 34 : n * (f->kv_type == STILL_TYPE_F32 ? 4 : 2));
}

/* The part holding a layer, and checks of a row range. */
static still_status kv_rows(still_vk_forward *f, int layer, int32_t pos0, int32_t n, vk_part **part,
                            still_error *err)
{
  if (pos0 < 0 || n < 0 || pos0 > f->n_ctx || n > f->n_ctx - pos0)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: KV rows %d..%d are outside the %d-position cache",
                           (int)pos0, (int)(pos0 + n), (int)f->n_ctx);
  for (int i = 0; i < f->n_parts; i++)
    if (layer >= f->parts[i].first && layer < f->parts[i].end) {
      *part = &f->parts[i];
      return STILL_OK;
    }
  return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: layer %d is not on the GPU", layer);
}

still_status still_vk_forward_kv_read(still_vk_forward *f, int layer, int32_t pos0, int32_t n, void *k, void *v,
                                      still_error *err)
{
  vk_part *P = NULL;
  still_status st = kv_rows(f, layer, pos0, n, &P, err);
  if (st != STILL_OK || n == 0) return st;
  gpu_layer *L = &P->layers[layer - P->first];
  const size_t kr = still_vk_forward_kv_row_bytes(f, false), vr = still_vk_forward_kv_row_bytes(f, true);
  if (k) st = still_vk_download(P->vk, &L->k_cache, (size_t)pos0 * kr, k, (size_t)n * kr, err);
  if (st == STILL_OK && v) st = still_vk_download(P->vk, &L->v_cache, (size_t)pos0 * vr, v, (size_t)n * vr, err);
  return st;
}

still_status still_vk_forward_kv_write(still_vk_forward *f, int layer, int32_t pos0, int32_t n, const void *k,
                                       const void *v, still_error *err)
{
  vk_part *P = NULL;
  still_status st = kv_rows(f, layer, pos0, n, &P, err);
  if (st != STILL_OK || n == 0) return st;
  gpu_layer *L = &P->layers[layer - P->first];
  const size_t kr = still_vk_forward_kv_row_bytes(f, false), vr = still_vk_forward_kv_row_bytes(f, true);
  if (k) st = still_vk_upload(P->vk, &L->k_cache, (size_t)pos0 * kr, k, (size_t)n * kr, err);
  if (st == STILL_OK && v) st = still_vk_upload(P->vk, &L->v_cache, (size_t)pos0 * vr, v, (size_t)n * vr, err);
  return st;
}

void still_vk_forward_set_slice_hook(still_vk_forward *f, void (*hook)(void *user, int part, int layers_done),
                                     void *user)
{
  f->slice_hook = hook;
  f->slice_user = user;
}

#endif /* STILL_HAVE_VULKAN */
