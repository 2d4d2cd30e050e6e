/* kv-cache.h — per-layer key/value storage of one session.
 *
 * Keys are stored row-wise: K[layer][pos][kv_head][head_dim_k], so the
 * attention scores of one head are dot products of contiguous rows.
 * Values are stored transposed for F32/F16 (V[layer][kv_head*head_dim_v][pos],
 * as llama.cpp does without flash attention: out[d] is then one dot product
 * over positions) and row-wise for Q8_0 (blocks run along head_dim).
 * `tokens` remembers the ids whose keys/values are stored, so a new prompt
 * can reuse their common prefix.
 */
#ifndef STILL_KV_CACHE_H
#define STILL_KV_CACHE_H

#include "still.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t type;       /* STILL_TYPE_F32, STILL_TYPE_F16 or STILL_TYPE_Q8_0 */
  int32_t n_layer;
  int32_t n_ctx;       /* positions */
  int32_t n_head_kv;
  int32_t head_dim_k;
  int32_t head_dim_v;
  bool v_trans;        /* V stored [kv_head*head_dim_v][n_ctx] */
  size_t k_head_bytes; /* bytes of one head's key row */
  size_t v_head_bytes; /* bytes of one head's value row (row-wise layout only) */
  size_t k_pos_bytes;  /* bytes of all heads at one position */
  size_t v_pos_bytes;
  size_t v_elem_bytes; /* transposed layout: bytes of one value (4 or 2) */
  void **k;            /* [n_layer] */
  void **v;            /* [n_layer] */
  int32_t *tokens;     /* [n_ctx] ids stored so far */
  int32_t n_past;      /* positions 0..n_past-1 are valid */
} still_kv_cache;

/* type: a still_type id. Fails with a plain message when the type cannot hold
 * these heads (Q8_0 needs head sizes that are multiples of 32). */
still_status still_kv_cache_init(still_kv_cache *kv, uint32_t type, int32_t n_layer, int32_t n_ctx, int32_t n_head_kv,
                                 int32_t head_dim_k, int32_t head_dim_v, still_error *err);
void still_kv_cache_free(still_kv_cache *kv);
/* Bytes the cache needs, for estimates before allocating. */
uint64_t still_kv_cache_bytes(uint32_t type, int32_t n_layer, int32_t n_ctx, int32_t n_head_kv, int32_t head_dim_k,
                              int32_t head_dim_v);

/* Store the keys and values of n consecutive positions starting at pos
 * (k: n rows of n_head_kv*head_dim_k floats; v likewise). */
void still_kv_cache_store(still_kv_cache *kv, int layer, int32_t pos, int32_t n, const float *k, const float *v);

/* The key row of one head at one position (type kv->type, k_head_bytes). */
static inline const void *still_kv_k_row(const still_kv_cache *kv, int layer, int32_t pos, int head)
{
  return (const char *)kv->k[layer] + (size_t)pos * kv->k_pos_bytes + (size_t)head * kv->k_head_bytes;
}

/* Transposed layout: the values of dim d of a head over positions 0..n_ctx-1. */
static inline const void *still_kv_v_trans_row(const still_kv_cache *kv, int layer, int head, int d)
{
  return (const char *)kv->v[layer] +
         ((size_t)head * kv->head_dim_v + (size_t)d) * (size_t)kv->n_ctx * kv->v_elem_bytes;
}

/* Row-wise layout: the value row of one head at one position. */
static inline const void *still_kv_v_row(const still_kv_cache *kv, int layer, int32_t pos, int head)
{
  return (const char *)kv->v[layer] + (size_t)pos * kv->v_pos_bytes + (size_t)head * kv->v_head_bytes;
}

#endif /* STILL_KV_CACHE_H */
