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

/* The inverse: the keys and values of n consecutive positions from pos as
 * floats (the cache's values, dequantized; V gathered back when transposed). */
void still_kv_cache_read(const still_kv_cache *kv, int layer, int32_t pos, int32_t n, float *k, float *v);

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

/* ---- saved prefixes (still_session_save_prefix / _load_prefix) ----
 *
 * File format, version 1 (little-endian hosts; all integers little-endian):
 *   offset  size  field
 *        0     8  magic "STILLKVP"
 *        8     4  u32 version (1; a larger version is refused as "from a newer engine")
 *       12     4  u32 header size (128)
 *       16    16  architecture name, NUL-padded ("qwen2")
 *       32    28  u32 n_layer, n_embd, n_head, n_head_kv, head_dim_k, head_dim_v, n_vocab
 *       60     4  u32 rope mode (1 when YaRN is active at this context size: it changes the keys)
 *       64     8  u64 model file size (all shards)
 *       72     8  u64 model hash (see still_kv_model_id)
 *       80     4  u32 KV cache type (still_type id: F32 0, F16 1, Q8_0 8)
 *       84     4  u32 n_tokens
 *       88     8  u64 bytes of K/V data
 *       96    24  reserved, zero
 *      120     8  u64 checksum of bytes 0..119
 *      128        i32 token ids [n_tokens]
 *                 K/V data, per layer: K of positions 0..n_tokens-1 (row-wise, as in memory);
 *                 V row-wise likewise, or for the transposed layout (F32/F16) each of the
 *                 n_head_kv*head_dim_v rows' first n_tokens values
 *      end-8   8  u64 checksum of the token ids and the K/V data
 * Every field is checked on load; the file must have exactly the size the
 * header implies. */

/* What the K/V values depend on besides the tokens: the model's shapes and
 * weights. hash: a 64-bit hash of the tensor infos (names, types, shapes,
 * offsets) and samples of every tensor's data, so two fine-tunes of one base
 * with the same quantization differ (computed by session.c). */
typedef struct {
  char arch[16];
  uint32_t n_layer, n_embd, n_head, n_head_kv, head_dim_k, head_dim_v, n_vocab;
  uint32_t rope_mode;
  uint64_t file_size;
  uint64_t hash;
} still_kv_model_id;

#define STILL_KV_FILE_VERSION 1

/* A streaming 64-bit hash (not cryptographic: it catches corruption and
 * mismatched models, not attacks). */
typedef struct {
  uint64_t h;
  uint64_t carry;
  unsigned n_carry;
  uint64_t len;
} still_hash64;

void still_hash64_init(still_hash64 *hs);
void still_hash64_update(still_hash64 *hs, const void *data, size_t n);
uint64_t still_hash64_final(const still_hash64 *hs);

/* Write positions 0..n_past-1 (ids and K/V) to path: a temporary file in the
 * same folder, renamed over path when complete (an old file stays intact on
 * failure). */
still_status still_kv_cache_save(const still_kv_cache *kv, const still_kv_model_id *id, const char *path,
                                 still_error *err);
/* Read a file written by still_kv_cache_save into kv (n_past = its tokens).
 * Errors: STILL_ERR_IO (cannot open/read), STILL_ERR_FORMAT (not such a file,
 * corrupt: bad checksum, impossible values), STILL_ERR_TRUNCATED (ends early),
 * STILL_ERR_UNSUPPORTED (newer format version), STILL_ERR_INVALID_ARG (saved
 * for another model, rope mode or KV cache type), STILL_ERR_CONTEXT_FULL (more
 * tokens than the cache holds), STILL_ERR_NOMEM. On error the cache is left as
 * it was when the header was refused, else emptied (n_past 0). */
still_status still_kv_cache_load(still_kv_cache *kv, const still_kv_model_id *id, const char *path,
                                 still_error *err);

#endif /* STILL_KV_CACHE_H */
