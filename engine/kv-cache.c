/* kv-cache.c — allocation and stores of the KV cache (layout in kv-cache.h). */
#include "kv-cache.h"

#include "types.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

void still_kv_cache_read(const still_kv_cache *kv, int layer, int32_t pos, int32_t n, float *k, float *v)
{
  const still_type_traits *tr = still_type_get(kv->type);
  const int64_t nk = (int64_t)kv->n_head_kv * kv->head_dim_k, nv = (int64_t)kv->n_head_kv * kv->head_dim_v;
  const char *kbase = (const char *)kv->k[layer] + (size_t)pos * kv->k_pos_bytes;
  for (int32_t i = 0; i < n; i++) tr->to_float(kbase + (size_t)i * kv->k_pos_bytes, k + i * nk, nk);

  if (!kv->v_trans) {
    const char *vbase = (const char *)kv->v[layer] + (size_t)pos * kv->v_pos_bytes;
    for (int32_t i = 0; i < n; i++) tr->to_float(vbase + (size_t)i * kv->v_pos_bytes, v + i * nv, nv);
    return;
  }
  /* transposed: value j of position pos+i is row j, column pos+i */
  if (kv->type == STILL_TYPE_F32) {
    const float *vt = kv->v[layer];
    for (int64_t j = 0; j < nv; j++)
      for (int32_t i = 0; i < n; i++) v[i * nv + j] = vt[j * kv->n_ctx + pos + i];
  } else {
    const uint16_t *vt = kv->v[layer];
    for (int64_t j = 0; j < nv; j++)
      for (int32_t i = 0; i < n; i++) v[i * nv + j] = still_fp16_to_fp32(vt[j * kv->n_ctx + pos + i]);
  }
}

/* ---- saved prefixes (format in kv-cache.h) ------------------------------------ */

static const char KV_MAGIC[8] = {'S', 'T', 'I', 'L', 'L', 'K', 'V', 'P'};
#define KV_HEADER_SIZE 128
#define KV_HEADER_SUM_AT 120

static void put_u32(unsigned char *p, uint32_t v)
{
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}

static uint64_t get_u64(const unsigned char *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

/* One multiply per 8 bytes: fast enough to checksum gigabytes of cache
 * while it is written or read. */
static inline uint64_t hash_mix(uint64_t h, uint64_t w)
{
  h ^= w;
  h *= 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}

void still_hash64_init(still_hash64 *hs)
{
  hs->h = 0x6A09E667F3BCC909ull;
  hs->carry = 0;
  hs->n_carry = 0;
  hs->len = 0;
}

void still_hash64_update(still_hash64 *hs, const void *data, size_t n)
{
  const unsigned char *p = data;
  hs->len += n;
  while (n > 0 && hs->n_carry > 0) { /* finish a partial word first */
    hs->carry |= (uint64_t)*p++ << (8 * hs->n_carry);
    n--;
    if (++hs->n_carry == 8) {
      hs->h = hash_mix(hs->h, hs->carry);
      hs->carry = 0;
      hs->n_carry = 0;
    }
  }
  uint64_t h = hs->h;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t w;
    memcpy(&w, p, 8); /* little-endian hosts: the same words as get_u64 */
    h = hash_mix(h, w);
  }
  hs->h = h;
  for (; n > 0; n--) hs->carry |= (uint64_t)*p++ << (8 * hs->n_carry++);
}

uint64_t still_hash64_final(const still_hash64 *hs)
{
  uint64_t h = hash_mix(hs->h, hs->carry ^ ((uint64_t)hs->n_carry << 56));
  h = hash_mix(h, hs->len);
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  return h ^ (h >> 33);
}

/* The K/V bytes of positions 0..n-1, as a list of chunks: each layer's keys,
 * then its values (one chunk, or one per row of the transposed layout). */
typedef struct {
  const still_kv_cache *kv;
  int32_t n;
  int layer;
  int part; /* 0: K, 1: V (row index in v_row) */
  int64_t v_row;
} kv_chunks;

static bool kv_chunk_next(kv_chunks *c, char **ptr, size_t *len)
{
  const still_kv_cache *kv = c->kv;
  const int64_t n_rows = (int64_t)kv->n_head_kv * kv->head_dim_v;
  while (c->layer < kv->n_layer) {
    if (c->part == 0) {
      *ptr = kv->k[c->layer];
      *len = (size_t)c->n * kv->k_pos_bytes;
      c->part = 1;
      c->v_row = 0;
      return true;
    }
    if (!kv->v_trans) {
      *ptr = kv->v[c->layer];
      *len = (size_t)c->n * kv->v_pos_bytes;
      c->layer++;
      c->part = 0;
      return true;
    }
    if (c->v_row < n_rows) {
      *ptr = (char *)kv->v[c->layer] + (size_t)c->v_row * (size_t)kv->n_ctx * kv->v_elem_bytes;
      *len = (size_t)c->n * kv->v_elem_bytes;
      c->v_row++;
      return true;
    }
    c->layer++;
    c->part = 0;
  }
  return false;
}

static uint64_t kv_data_bytes(const still_kv_cache *kv, int32_t n)
{
  uint64_t per_pos = (uint64_t)kv->k_pos_bytes +
                     (kv->v_trans ? (uint64_t)kv->n_head_kv * kv->head_dim_v * kv->v_elem_bytes : kv->v_pos_bytes);
  return per_pos * (uint64_t)n * (uint64_t)kv->n_layer;
}

static void build_header(unsigned char *h, const still_kv_model_id *id, uint32_t type, uint32_t n_tokens,
                         uint64_t data_bytes)
{
  memset(h, 0, KV_HEADER_SIZE);
  memcpy(h, KV_MAGIC, 8);
  put_u32(h + 8, STILL_KV_FILE_VERSION);
  put_u32(h + 12, KV_HEADER_SIZE);
  memcpy(h + 16, id->arch, strnlen(id->arch, sizeof id->arch - 1));
  const uint32_t dims[7] = {id->n_layer, id->n_embd, id->n_head, id->n_head_kv, id->head_dim_k, id->head_dim_v,
                            id->n_vocab};
  for (int i = 0; i < 7; i++) put_u32(h + 32 + 4 * i, dims[i]);
  put_u32(h + 60, id->rope_mode);
  put_u64(h + 64, id->file_size);
  put_u64(h + 72, id->hash);
  put_u32(h + 80, type);
  put_u32(h + 84, n_tokens);
  put_u64(h + 88, data_bytes);
  still_hash64 hs;
  still_hash64_init(&hs);
  still_hash64_update(&hs, h, KV_HEADER_SUM_AT);
  put_u64(h + KV_HEADER_SUM_AT, still_hash64_final(&hs));
}

still_status still_kv_cache_save(const still_kv_cache *kv, const still_kv_model_id *id, const char *path,
                                 still_error *err)
{
  if (!kv || !id || !path || !*path) return still_set_error(err, STILL_ERR_INVALID_ARG, "no cache or file name given");
  const int32_t n = kv->n_past;
  unsigned char hdr[KV_HEADER_SIZE];
  build_header(hdr, id, kv->type, (uint32_t)n, kv_data_bytes(kv, n));

  /* a temporary file in the same folder, renamed over path once complete:
   * readers never see half a file, and a failed save keeps the old one */
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
  int fd = mkstemp(tmp); /* mode 0600: a chat's prefix is private */
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return still_set_error(err, STILL_ERR_IO, "cannot write the prefix file %s: %s", path, strerror(e));
  }
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    unlink(tmp);
    free(tmp);
    return still_set_error(err, STILL_ERR_IO, "cannot write the prefix file %s: %s", path, strerror(e));
  }
  still_hash64 hs;
  still_hash64_init(&hs);
  bool ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
  if (ok && n > 0) {
    ok = fwrite(kv->tokens, sizeof *kv->tokens, (size_t)n, f) == (size_t)n;
    still_hash64_update(&hs, kv->tokens, (size_t)n * sizeof *kv->tokens);
  }
  kv_chunks c = {.kv = kv, .n = n};
  char *ptr;
  size_t len;
  while (ok && kv_chunk_next(&c, &ptr, &len)) {
    if (len == 0) continue;
    ok = fwrite(ptr, 1, len, f) == len;
    still_hash64_update(&hs, ptr, len);
  }
  unsigned char sum[8];
  put_u64(sum, still_hash64_final(&hs));
  if (ok) ok = fwrite(sum, 1, 8, f) == 8;
  if (ok) ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
  int e = errno;
  if (fclose(f) != 0 && ok) {
    ok = false;
    e = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = false;
    e = errno;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    return still_set_error(err, STILL_ERR_IO, "could not write the prefix file %s: %s", path,
                           strerror(e ? e : EIO));
  }
  free(tmp);
  return STILL_OK;
}

static const char *kv_type_label(uint32_t type)
{
  return type == STILL_TYPE_F32 ? "F32" : type == STILL_TYPE_F16 ? "F16" : type == STILL_TYPE_Q8_0 ? "Q8_0" : "?";
}

/* Check a header (got: bytes read of it, file_size: of the whole file)
 * against the cache and model; fills *n_tokens. */
static still_status check_header(const unsigned char *h, size_t got, uint64_t file_size, const still_kv_cache *kv,
                                 const still_kv_model_id *id, const char *path, uint32_t *n_tokens, still_error *err)
{
  if (got < 8) {
    if (memcmp(h, KV_MAGIC, got) == 0)
      return still_set_error(err, STILL_ERR_TRUNCATED, "the prefix file %s ends early (%zu bytes)", path, got);
    return still_set_error(err, STILL_ERR_FORMAT, "%s is not a saved prompt prefix", path);
  }
  if (memcmp(h, KV_MAGIC, 8) != 0)
    return still_set_error(err, STILL_ERR_FORMAT, "%s is not a saved prompt prefix", path);
  if (got < 16)
    return still_set_error(err, STILL_ERR_TRUNCATED, "the prefix file %s ends early (%zu bytes)", path, got);
  uint32_t version = get_u32(h + 8);
  if (version > STILL_KV_FILE_VERSION)
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "the prefix file %s was saved by a newer version of the engine (format %u; this one "
                           "reads format %d)",
                           path, version, STILL_KV_FILE_VERSION);
  if (version == 0 || get_u32(h + 12) != KV_HEADER_SIZE)
    return still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s has an impossible header", path);
  if (got < KV_HEADER_SIZE)
    return still_set_error(err, STILL_ERR_TRUNCATED, "the prefix file %s ends early (%zu bytes)", path, got);
  still_hash64 hs;
  still_hash64_init(&hs);
  still_hash64_update(&hs, h, KV_HEADER_SUM_AT);
  if (still_hash64_final(&hs) != get_u64(h + KV_HEADER_SUM_AT))
    return still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s is corrupt (its header checksum is wrong)",
                           path);
  for (int i = 96; i < KV_HEADER_SUM_AT; i++)
    if (h[i] != 0) return still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s has an impossible header", path);

  char arch[17];
  memcpy(arch, h + 16, 16);
  arch[16] = '\0';
  if (strnlen((const char *)h + 16, 16) == 16)
    return still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s has an impossible header", path);
  if (strcmp(arch, id->arch) != 0)
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "the prefix file %s was saved for a model of architecture '%s', not '%s'", path, arch,
                           id->arch);
  const uint32_t want[7] = {id->n_layer, id->n_embd, id->n_head, id->n_head_kv, id->head_dim_k, id->head_dim_v,
                            id->n_vocab};
  static const char *const what[7] = {"layers", "embedding width", "heads", "key/value heads", "key head size",
                                      "value head size", "vocabulary size"};
  for (int i = 0; i < 7; i++) {
    uint32_t have = get_u32(h + 32 + 4 * i);
    if (have != want[i])
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the prefix file %s was saved for another model (%s %u; this model has %u)", path,
                             what[i], have, want[i]);
  }
  if (get_u64(h + 64) != id->file_size || get_u64(h + 72) != id->hash)
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "the prefix file %s was saved for another model file (same shapes, different weights)",
                           path);
  if (get_u32(h + 60) != id->rope_mode)
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "the prefix file %s was saved with a context size that changes the rope scaling (YaRN "
                           "%s there, %s here)",
                           path, get_u32(h + 60) ? "on" : "off", id->rope_mode ? "on" : "off");
  uint32_t type = get_u32(h + 80);
  if (type != STILL_TYPE_F32 && type != STILL_TYPE_F16 && type != STILL_TYPE_Q8_0)
    return still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s has an unknown KV cache type %u", path, type);
  if (type != kv->type)
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "the prefix file %s was saved with a KV cache of type %s; this session uses %s", path,
                           kv_type_label(type), kv_type_label(kv->type));
  uint32_t n = get_u32(h + 84);
  if (n > (uint32_t)kv->n_ctx)
    return still_set_error(err, STILL_ERR_CONTEXT_FULL,
                           "the prefix file %s holds %u tokens but this session's context holds only %d", path, n,
                           kv->n_ctx);
  uint64_t data = kv_data_bytes(kv, (int32_t)n);
  if (get_u64(h + 88) != data)
    return still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s has an impossible header", path);
  uint64_t expect = KV_HEADER_SIZE + 4 * (uint64_t)n + data + 8;
  if (file_size < expect)
    return still_set_error(err, STILL_ERR_TRUNCATED,
                           "the prefix file %s ends early: it has %llu bytes of an expected %llu", path,
                           (unsigned long long)file_size, (unsigned long long)expect);
  if (file_size > expect)
    return still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s has %llu bytes after its end", path,
                           (unsigned long long)(file_size - expect));
  *n_tokens = n;
  return STILL_OK;
}

still_status still_kv_cache_load(still_kv_cache *kv, const still_kv_model_id *id, const char *path, still_error *err)
{
  if (!kv || !id || !path || !*path) return still_set_error(err, STILL_ERR_INVALID_ARG, "no cache or file name given");
  FILE *f = fopen(path, "rb");
  if (!f) return still_set_error(err, STILL_ERR_IO, "cannot open the prefix file %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return still_set_error(err, STILL_ERR_IO, "%s is not a readable file", path);
  }
  unsigned char hdr[KV_HEADER_SIZE];
  size_t got = fread(hdr, 1, sizeof hdr, f);
  uint32_t n = 0;
  still_status rc = check_header(hdr, got, (uint64_t)st.st_size, kv, id, path, &n, err);
  if (rc != STILL_OK) {
    fclose(f);
    return rc;
  }
  int32_t *tokens = malloc(((size_t)n + 1) * sizeof *tokens);
  if (!tokens) {
    fclose(f);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  }
  still_hash64 hs;
  still_hash64_init(&hs);
  if (n > 0 && fread(tokens, sizeof *tokens, n, f) != n) {
    rc = still_set_error(err, STILL_ERR_TRUNCATED, "the prefix file %s ends early", path);
    goto out;
  }
  still_hash64_update(&hs, tokens, (size_t)n * sizeof *tokens);
  for (uint32_t i = 0; i < n; i++)
    if (tokens[i] < 0 || (uint32_t)tokens[i] >= id->n_vocab) {
      rc = still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s is corrupt (token id %d is out of range)", path,
                           tokens[i]);
      goto out;
    }

  /* from here on the cache is overwritten: it is empty until the end checks out */
  kv->n_past = 0;
  kv_chunks c = {.kv = kv, .n = (int32_t)n};
  char *ptr;
  size_t len;
  while (kv_chunk_next(&c, &ptr, &len)) {
    if (len == 0) continue;
    if (fread(ptr, 1, len, f) != len) {
      rc = still_set_error(err, ferror(f) ? STILL_ERR_IO : STILL_ERR_TRUNCATED,
                           "the prefix file %s could not be read to its end", path);
      goto out;
    }
    still_hash64_update(&hs, ptr, len);
  }
  unsigned char sum[8];
  if (fread(sum, 1, 8, f) != 8) {
    rc = still_set_error(err, STILL_ERR_TRUNCATED, "the prefix file %s ends early", path);
    goto out;
  }
  if (get_u64(sum) != still_hash64_final(&hs)) {
    rc = still_set_error(err, STILL_ERR_FORMAT, "the prefix file %s is corrupt (its checksum is wrong)", path);
    goto out;
  }
  if (n > 0) memcpy(kv->tokens, tokens, (size_t)n * sizeof *tokens);
  kv->n_past = (int32_t)n;

out:
  free(tokens);
  fclose(f);
  return rc;
}
