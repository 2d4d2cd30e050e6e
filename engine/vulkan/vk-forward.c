/* vulkan/vk-forward.c — GPU layers of the forward pass (see vk-forward.h).
 * The recipe is graph.h's, op for op; every layer is recorded into one
 * command buffer per batch, so a batch costs one submit and one wait. */
#include "vulkan/vk-forward.h"

#include "arch.h"
#include "types.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef STILL_HAVE_VULKAN

still_status still_vk_forward_new(const still_model *m, const char *device, int first_layer, int32_t n_ctx,
                                  int32_t n_batch, uint32_t kv_type, still_vk_forward **out, still_error *err)
{
  (void)m, (void)device, (void)first_layer, (void)n_ctx, (void)n_batch, (void)kv_type;
  *out = NULL;
  return still_set_error(err, STILL_ERR_UNSUPPORTED, "this build has no Vulkan support");
}
void still_vk_forward_free(still_vk_forward *f) { (void)f; }
const char *still_vk_forward_device(const still_vk_forward *f)
{
  (void)f;
  return "";
}
still_status still_vk_forward_run(still_vk_forward *f, const float *x, int n_tok, int32_t pos0, const float *rope_cos,
                                  const float *rope_sin, int first_out, float *out, still_error *err)
{
  (void)f, (void)x, (void)n_tok, (void)pos0, (void)rope_cos, (void)rope_sin, (void)first_out, (void)out;
  return still_set_error(err, STILL_ERR_UNSUPPORTED, "this build has no Vulkan support");
}

#else

#include "vulkan/vk.h"

typedef struct {
  still_vk_buffer buf;
  uint32_t type, n_in, n_out;
  size_t row_bytes;
} gpu_weight;

typedef struct {
  still_vk_buffer buf; /* absent: handle 0 */
  uint32_t n;
} gpu_vector;

typedef struct {
  gpu_vector attn_norm, bq, bk, bv, q_norm, k_norm, ffn_norm;
  gpu_weight wq, wk, wv, wo, w_gate, w_up, w_down;
  still_vk_buffer k_cache, v_cache;
} gpu_layer;

struct still_vk_forward {
  const still_model *m;
  still_vk *vk;
  int first;
  int32_t n_ctx, n_batch;
  uint32_t kv_type; /* device cache: F32 or F16 */
  gpu_layer *layers; /* [n_layer - first] */
  gpu_vector output_norm;
  gpu_weight output;
  /* activations [n_batch][width] */
  still_vk_buffer x, xb, xb2, q, k, v, att, hb, hb2, rope, logits;
  char device[320];
};

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

static still_status upload_vector(still_vk *vk, const still_vector *v, gpu_vector *g, still_error *err)
{
  memset(g, 0, sizeof *g);
  if (!v->data) return STILL_OK;
  still_status st = still_vk_buffer_new(vk, (size_t)v->n * 4, &g->buf, err);
  if (st == STILL_OK) st = still_vk_upload(vk, &g->buf, 0, v->data, (size_t)v->n * 4, err);
  g->n = (uint32_t)v->n;
  return st;
}

static void free_weight(still_vk *vk, gpu_weight *w) { still_vk_buffer_free(vk, &w->buf); }
static void free_vector(still_vk *vk, gpu_vector *v) { still_vk_buffer_free(vk, &v->buf); }

void still_vk_forward_free(still_vk_forward *f)
{
  if (!f) return;
  if (f->vk) {
    if (f->layers)
      for (int i = 0; i < f->m->hp.n_layer - f->first; i++) {
        gpu_layer *L = &f->layers[i];
        free_vector(f->vk, &L->attn_norm), free_vector(f->vk, &L->bq), free_vector(f->vk, &L->bk);
        free_vector(f->vk, &L->bv), free_vector(f->vk, &L->q_norm), free_vector(f->vk, &L->k_norm);
        free_vector(f->vk, &L->ffn_norm);
        free_weight(f->vk, &L->wq), free_weight(f->vk, &L->wk), free_weight(f->vk, &L->wv);
        free_weight(f->vk, &L->wo), free_weight(f->vk, &L->w_gate), free_weight(f->vk, &L->w_up);
        free_weight(f->vk, &L->w_down);
        still_vk_buffer_free(f->vk, &L->k_cache), still_vk_buffer_free(f->vk, &L->v_cache);
      }
    free_vector(f->vk, &f->output_norm);
    free_weight(f->vk, &f->output);
    still_vk_buffer *acts[] = {&f->x, &f->xb, &f->xb2, &f->q, &f->k, &f->v, &f->att, &f->hb, &f->hb2, &f->rope,
                               &f->logits};
    for (size_t i = 0; i < sizeof acts / sizeof *acts; i++) still_vk_buffer_free(f->vk, acts[i]);
    still_vk_close(f->vk);
  }
  free(f->layers);
  free(f);
}

const char *still_vk_forward_device(const still_vk_forward *f) { return f->device; }

still_status still_vk_forward_new(const still_model *m, const char *device, int first_layer, int32_t n_ctx,
                                  int32_t n_batch, uint32_t kv_type, still_vk_forward **out, still_error *err)
{
  *out = NULL;
  const still_hparams *hp = &m->hp;
  if (first_layer < 0 || first_layer > hp->n_layer || n_ctx < 1 || n_batch < 1)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad layer split");
  if (hp->head_dim_k > 256 || hp->head_dim_v > 256)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: head size %d is above the shader's 256",
                           hp->head_dim_k);
  still_vk_forward *f = calloc(1, sizeof *f);
  if (!f) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  f->m = m;
  f->first = first_layer;
  f->n_ctx = n_ctx;
  f->n_batch = n_batch;
  f->kv_type = kv_type == STILL_TYPE_F32 ? STILL_TYPE_F32 : STILL_TYPE_F16;
  still_vk_params vp = {.device = device};
  still_status st = still_vk_open(&vp, &f->vk, err);
  if (st != STILL_OK) goto fail;
  snprintf(f->device, sizeof f->device, "Vulkan%d (%s)", still_vk_device_index(f->vk), still_vk_device_name(f->vk));

  const int n_gpu = hp->n_layer - first_layer;
  f->layers = calloc(n_gpu > 0 ? (size_t)n_gpu : 1, sizeof *f->layers);
  if (!f->layers) {
    st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    goto fail;
  }
  const size_t kw = (size_t)hp->n_head_kv * hp->head_dim_k, vw = (size_t)hp->n_head_kv * hp->head_dim_v;
  const size_t es = f->kv_type == STILL_TYPE_F32 ? 4 : 2;
  for (int i = 0; i < n_gpu && st == STILL_OK; i++) {
    const still_layer *S = &m->layers[first_layer + i];
    gpu_layer *L = &f->layers[i];
    if ((st = upload_vector(f->vk, &S->attn_norm, &L->attn_norm, err)) ||
        (st = upload_vector(f->vk, &S->bq, &L->bq, err)) || (st = upload_vector(f->vk, &S->bk, &L->bk, err)) ||
        (st = upload_vector(f->vk, &S->bv, &L->bv, err)) ||
        (st = upload_vector(f->vk, &S->q_norm, &L->q_norm, err)) ||
        (st = upload_vector(f->vk, &S->k_norm, &L->k_norm, err)) ||
        (st = upload_vector(f->vk, &S->ffn_norm, &L->ffn_norm, err)) ||
        (st = upload_weight(f->vk, &S->wq, &L->wq, err)) || (st = upload_weight(f->vk, &S->wk, &L->wk, err)) ||
        (st = upload_weight(f->vk, &S->wv, &L->wv, err)) || (st = upload_weight(f->vk, &S->wo, &L->wo, err)) ||
        (st = upload_weight(f->vk, &S->w_gate, &L->w_gate, err)) ||
        (st = upload_weight(f->vk, &S->w_up, &L->w_up, err)) ||
        (st = upload_weight(f->vk, &S->w_down, &L->w_down, err)) ||
        (st = still_vk_buffer_new(f->vk, es * kw * (size_t)n_ctx, &L->k_cache, err)) ||
        (st = still_vk_buffer_new(f->vk, es * vw * (size_t)n_ctx, &L->v_cache, err)))
      break;
  }
  if (st == STILL_OK) st = upload_vector(f->vk, &m->output_norm, &f->output_norm, err);
  if (st == STILL_OK) st = upload_weight(f->vk, &m->output, &f->output, err);
  const size_t nb = (size_t)n_batch * 4;
  size_t max_in = (size_t)hp->n_embd;
  if ((size_t)hp->n_head * hp->head_dim_v > max_in) max_in = (size_t)hp->n_head * hp->head_dim_v;
  struct {
    still_vk_buffer *b;
    size_t n;
  } acts[] = {
    {&f->x, nb * hp->n_embd},
    {&f->xb, nb * max_in},
    {&f->xb2, nb * hp->n_embd},
    {&f->q, nb * hp->n_head * hp->head_dim_k},
    {&f->k, nb * kw},
    {&f->v, nb * vw},
    {&f->att, nb * hp->n_head * hp->head_dim_v},
    {&f->hb, nb * hp->n_ff},
    {&f->hb2, nb * hp->n_ff},
    {&f->rope, nb * (size_t)(hp->n_rot > 0 ? hp->n_rot : 2)},
    {&f->logits, nb * hp->n_vocab},
  };
  for (size_t i = 0; i < sizeof acts / sizeof *acts && st == STILL_OK; i++)
    st = still_vk_buffer_new(f->vk, acts[i].n, acts[i].b, err);
  if (st != STILL_OK) goto fail;
  *out = f;
  return STILL_OK;

fail:
  still_vk_forward_free(f);
  return st;
}

static still_status mv(still_vk_forward *f, const gpu_weight *w, const still_vk_buffer *x, still_vk_buffer *y,
                       int n_tok, uint32_t x_off, still_error *err)
{
  still_vk_matvec_args a = {.type = w->type, .ncols = w->n_in, .nrows = w->n_out, .n_vec = (uint32_t)n_tok,
                            .w_off = 0, .row_bytes = w->row_bytes, .x_off = x_off, .x_stride = w->n_in,
                            .y_off = 0, .y_stride = w->n_out};
  return still_vk_matvec(f->vk, &w->buf, x, y, &a, err);
}

static still_status bias(still_vk_forward *f, const gpu_vector *b, still_vk_buffer *y, int n_tok, still_error *err)
{
  if (!b->buf.handle) return STILL_OK;
  return still_vk_binary(f->vk, STILL_VK_ADD, y, 0, &b->buf, 0, b->n, y, 0, (uint32_t)n_tok * b->n, err);
}

#define TRY(expr)                                                                                                     \
  do {                                                                                                                \
    if ((st = (expr)) != STILL_OK) goto done;                                                                         \
  } while (0)

static still_status record_layer(still_vk_forward *f, int il, int n_tok, int32_t pos0, still_error *err)
{
  const still_model *m = f->m;
  const still_hparams *hp = &m->hp;
  gpu_layer *L = &f->layers[il - f->first];
  still_vk *vk = f->vk;
  const uint32_t n_embd = (uint32_t)hp->n_embd, hdk = (uint32_t)hp->head_dim_k, hdv = (uint32_t)hp->head_dim_v;
  const uint32_t n_q = (uint32_t)hp->n_head * hdk, n_k = (uint32_t)hp->n_head_kv * hdk,
                 n_v = (uint32_t)hp->n_head_kv * hdv, n_att = (uint32_t)hp->n_head * hdv;
  const uint32_t nt = (uint32_t)n_tok;
  still_status st = STILL_OK;

  TRY(still_vk_rms_norm(vk, &f->x, 0, n_embd, &L->attn_norm.buf, 0, &f->xb, 0, n_embd, n_embd, nt, hp->rms_eps, err));
  TRY(mv(f, &L->wq, &f->xb, &f->q, n_tok, 0, err));
  TRY(mv(f, &L->wk, &f->xb, &f->k, n_tok, 0, err));
  TRY(mv(f, &L->wv, &f->xb, &f->v, n_tok, 0, err));
  TRY(bias(f, &L->bq, &f->q, n_tok, err));
  TRY(bias(f, &L->bk, &f->k, n_tok, err));
  TRY(bias(f, &L->bv, &f->v, n_tok, err));
  if (m->arch->qk_norm) {
    TRY(still_vk_rms_norm(vk, &f->q, 0, hdk, &L->q_norm.buf, 0, &f->q, 0, hdk, hdk, nt * hp->n_head, hp->rms_eps, err));
    TRY(still_vk_rms_norm(vk, &f->k, 0, hdk, &L->k_norm.buf, 0, &f->k, 0, hdk, hdk, nt * hp->n_head_kv, hp->rms_eps,
                          err));
  }
  if (hp->n_rot > 0) {
    still_vk_rope_args ra = {.n_tok = nt, .n_heads = (uint32_t)hp->n_head, .head_dim = hdk,
                             .n_rot = (uint32_t)hp->n_rot, .neox = m->arch->rope == STILL_ROPE_NEOX,
                             .x_off = 0, .x_stride = n_q, .cs_off = 0};
    TRY(still_vk_rope(vk, &f->q, &f->rope, &ra, err));
    ra.n_heads = (uint32_t)hp->n_head_kv;
    ra.x_stride = n_k;
    TRY(still_vk_rope(vk, &f->k, &f->rope, &ra, err));
  }
  TRY(still_vk_kv_store(vk, f->kv_type, &f->k, 0, &L->k_cache, (uint32_t)pos0 * n_k, nt * n_k, err));
  TRY(still_vk_kv_store(vk, f->kv_type, &f->v, 0, &L->v_cache, (uint32_t)pos0 * n_v, nt * n_v, err));
  still_vk_attention_args aa = {.kv_type = f->kv_type, .n_tok = nt, .n_head = (uint32_t)hp->n_head,
                                .n_head_kv = (uint32_t)hp->n_head_kv, .head_dim_k = hdk, .head_dim_v = hdv,
                                .pos0 = (uint32_t)pos0, .q_off = 0, .q_stride = n_q, .k_off = 0, .v_off = 0,
                                .o_off = 0, .o_stride = n_att, .scale = 1.0f / sqrtf((float)hdk)};
  TRY(still_vk_attention(vk, &f->q, &L->k_cache, &L->v_cache, &f->att, &aa, err));
  TRY(mv(f, &L->wo, &f->att, &f->xb2, n_tok, 0, err));
  TRY(still_vk_binary(vk, STILL_VK_ADD, &f->x, 0, &f->xb2, 0, 0, &f->x, 0, nt * n_embd, err));

  TRY(still_vk_rms_norm(vk, &f->x, 0, n_embd, &L->ffn_norm.buf, 0, &f->xb, 0, n_embd, n_embd, nt, hp->rms_eps, err));
  TRY(mv(f, &L->w_gate, &f->xb, &f->hb, n_tok, 0, err));
  TRY(mv(f, &L->w_up, &f->xb, &f->hb2, n_tok, 0, err));
  TRY(still_vk_binary(vk, STILL_VK_SWIGLU, &f->hb, 0, &f->hb2, 0, 0, &f->hb, 0, nt * (uint32_t)hp->n_ff, err));
  TRY(mv(f, &L->w_down, &f->hb, &f->xb2, n_tok, 0, err));
  TRY(still_vk_binary(vk, STILL_VK_ADD, &f->x, 0, &f->xb2, 0, 0, &f->x, 0, nt * n_embd, err));
done:
  return st;
}

still_status still_vk_forward_run(still_vk_forward *f, const float *x, int n_tok, int32_t pos0, const float *rope_cos,
                                  const float *rope_sin, int first_out, float *out, still_error *err)
{
  const still_hparams *hp = &f->m->hp;
  if (n_tok < 1 || n_tok > f->n_batch || pos0 < 0 || pos0 + n_tok > f->n_ctx)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: batch of %d tokens at %d does not fit", n_tok, pos0);
  const size_t half = (size_t)(hp->n_rot / 2);
  still_status st = still_vk_upload(f->vk, &f->x, 0, x, (size_t)n_tok * hp->n_embd * 4, err);
  if (st == STILL_OK && half > 0) st = still_vk_upload(f->vk, &f->rope, 0, rope_cos, (size_t)n_tok * half * 4, err);
  if (st == STILL_OK && half > 0)
    st = still_vk_upload(f->vk, &f->rope, (size_t)n_tok * half * 4, rope_sin, (size_t)n_tok * half * 4, err);
  if (st != STILL_OK) return st;
  if ((st = still_vk_begin(f->vk, err)) != STILL_OK) return st;
  for (int il = f->first; il < hp->n_layer && st == STILL_OK; il++) st = record_layer(f, il, n_tok, pos0, err);
  const bool want = out && first_out < n_tok;
  const uint32_t n_embd = (uint32_t)hp->n_embd, n_out = (uint32_t)(n_tok - first_out);
  if (st == STILL_OK && want) {
    st = still_vk_rms_norm(f->vk, &f->x, (uint32_t)first_out * n_embd, n_embd, &f->output_norm.buf, 0, &f->xb, 0,
                           n_embd, n_embd, n_out, hp->rms_eps, err);
    if (st == STILL_OK) st = mv(f, &f->output, &f->xb, &f->logits, (int)n_out, 0, err);
  }
  /* always submit what was recorded, so the context is ready for the next batch */
  still_error err2 = {0};
  still_status st2 = still_vk_submit(f->vk, st == STILL_OK ? err : &err2);
  if (st == STILL_OK) st = st2;
  if (st == STILL_OK && want)
    st = still_vk_download(f->vk, &f->logits, 0, out, (size_t)n_out * hp->n_vocab * 4, err);
  return st;
}

#endif /* STILL_HAVE_VULKAN */
