/* kv-cache.c — allocation and stores of the KV cache (layout in kv-cache.h). */
#include "kv-cache.h"

#include "types.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static bool kv_sizes(uint32_t type, int32_t n_ctx, int32_t n_head_kv, int32_t head_dim_k, int32_t head_dim_v,
                     size_t *k_head, size_t *v_head, uint64_t *k_layer, uint64_t *v_layer)
{
  uint64_t kh, vh;
  if (!still_type_bytes(type, (uint64_t)head_dim_k, &kh) || !still_type_bytes(type, (uint64_t)head_dim_v, &vh))
    return false;
  uint64_t kl, vl;
  if (!still_mul_u64(kh, (uint64_t)n_head_kv, &kl) || !still_mul_u64(kl, (uint64_t)n_ctx, &kl) ||
      !still_mul_u64(vh, (uint64_t)n_head_kv, &vl) || !still_mul_u64(vl, (uint64_t)n_ctx, &vl))
    return false;
  *k_head = (size_t)kh;
  *v_head = (size_t)vh;
  *k_layer = kl;
  *v_layer = vl;
  return true;
}

uint64_t still_kv_cache_bytes(uint32_t type, int32_t n_layer, int32_t n_ctx, int32_t n_head_kv, int32_t head_dim_k,
                              int32_t head_dim_v)
{
  size_t kh, vh;
  uint64_t kl, vl, total;
  if (!kv_sizes(type, n_ctx, n_head_kv, head_dim_k, head_dim_v, &kh, &vh, &kl, &vl)) return UINT64_MAX;
  if (!still_add_u64(kl, vl, &total) || !still_mul_u64(total, (uint64_t)n_layer, &total)) return UINT64_MAX;
  return total;
}

still_status still_kv_cache_init(still_kv_cache *kv, uint32_t type, int32_t n_layer, int32_t n_ctx, int32_t n_head_kv,
                                 int32_t head_dim_k, int32_t head_dim_v, still_error *err)
{
  memset(kv, 0, sizeof *kv);
  if (type != STILL_TYPE_F32 && type != STILL_TYPE_F16 && type != STILL_TYPE_Q8_0)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "a KV cache of type %s is not supported (use F16, F32 or Q8_0)",
                           still_type_name(type));
  if (type == STILL_TYPE_Q8_0 && (head_dim_k % 32 != 0 || head_dim_v % 32 != 0))
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "a Q8_0 KV cache needs head sizes that are multiples of 32; this model's are %d and %d "
                           "(use F16)",
                           head_dim_k, head_dim_v);
  if (n_layer < 1 || n_ctx < 1 || n_head_kv < 1 || head_dim_k < 1 || head_dim_v < 1)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "impossible KV cache dimensions");
  size_t kh, vh;
  uint64_t kl, vl;
  if (!kv_sizes(type, n_ctx, n_head_kv, head_dim_k, head_dim_v, &kh, &vh, &kl, &vl) || kl > SIZE_MAX ||
      vl > SIZE_MAX)
    return still_set_error(err, STILL_ERR_NOMEM, "a context of %d tokens is too large for this model", n_ctx);

  kv->type = type;
  kv->n_layer = n_layer;
  kv->n_ctx = n_ctx;
  kv->n_head_kv = n_head_kv;
  kv->head_dim_k = head_dim_k;
  kv->head_dim_v = head_dim_v;
  kv->v_trans = type != STILL_TYPE_Q8_0;
  kv->k_head_bytes = kh;
  kv->v_head_bytes = vh;
  kv->k_pos_bytes = kh * (size_t)n_head_kv;
  kv->v_pos_bytes = vh * (size_t)n_head_kv;
  kv->v_elem_bytes = type == STILL_TYPE_F32 ? 4 : 2;
  kv->k = calloc((size_t)n_layer, sizeof *kv->k);
  kv->v = calloc((size_t)n_layer, sizeof *kv->v);
  kv->tokens = malloc((size_t)n_ctx * sizeof *kv->tokens);
  if (!kv->k || !kv->v || !kv->tokens) goto nomem;
  for (int il = 0; il < n_layer; il++) {
    /* zeroed: a transposed V row is read in whole blocks by SIMD kernels
     * only up to n_past, but keep never-written memory defined anyway */
    kv->k[il] = calloc(1, (size_t)kl);
    kv->v[il] = calloc(1, (size_t)vl);
    if (!kv->k[il] || !kv->v[il]) goto nomem;
  }
  return STILL_OK;

nomem:;
  char buf[32];
  still_kv_cache_free(kv);
  return still_set_error(err, STILL_ERR_NOMEM, "out of memory allocating the KV cache (%s for %d tokens)",
                         still_format_bytes(still_kv_cache_bytes(type, n_layer, n_ctx, n_head_kv, head_dim_k, head_dim_v),
                                            buf, sizeof buf),
                         n_ctx);
}

void still_kv_cache_free(still_kv_cache *kv)
{
  if (!kv) return;
  for (int il = 0; il < kv->n_layer; il++) {
    if (kv->k) free(kv->k[il]);
    if (kv->v) free(kv->v[il]);
  }
  free(kv->k);
  free(kv->v);
  free(kv->tokens);
  memset(kv, 0, sizeof *kv);
}

void still_kv_cache_store(still_kv_cache *kv, int layer, int32_t pos, int32_t n, const float *k, const float *v)
{
  const still_type_traits *tr = still_type_get(kv->type);
  const int64_t nk = (int64_t)kv->n_head_kv * kv->head_dim_k, nv = (int64_t)kv->n_head_kv * kv->head_dim_v;
  char *kbase = (char *)kv->k[layer] + (size_t)pos * kv->k_pos_bytes;
  /* keys: each position's row converts in one go (heads are whole blocks) */
  for (int32_t i = 0; i < n; i++) tr->from_float(k + i * nk, kbase + (size_t)i * kv->k_pos_bytes, nk);

  if (!kv->v_trans) {
    char *vbase = (char *)kv->v[layer] + (size_t)pos * kv->v_pos_bytes;
    for (int32_t i = 0; i < n; i++) tr->from_float(v + i * nv, vbase + (size_t)i * kv->v_pos_bytes, nv);
    return;
  }
  /* transposed: value j of position pos+i goes to row j, column pos+i */
  if (kv->type == STILL_TYPE_F32) {
    float *vt = kv->v[layer];
    for (int64_t j = 0; j < nv; j++)
      for (int32_t i = 0; i < n; i++) vt[j * kv->n_ctx + pos + i] = v[i * nv + j];
  } else {
    uint16_t *vt = kv->v[layer];
    for (int64_t j = 0; j < nv; j++)
      for (int32_t i = 0; i < n; i++) vt[j * kv->n_ctx + pos + i] = still_fp32_to_fp16(v[i * nv + j]);
  }
}
