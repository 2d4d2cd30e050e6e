/* gguf.c — GGUF v2/v3 reader.
 *
 * Layout (little-endian): "GGUF" u32 version u64 n_tensors u64 n_kv,
 * n_kv × (string key, u32 type, value), n_tensors × (string name, u32 n_dims,
 * u64 ne[n_dims], u32 type, u64 offset), padding to the alignment, data.
 * A string is a u64 length + bytes; an array is u32 elem_type + u64 n + elems.
 *
 * Everything read points into the mapping (or the caller's buffer): nothing
 * is copied, strings are not NUL-terminated. The only allocations are the kv
 * and tensor tables, one gguf_str table per string array and one gguf_value
 * table per nested array, all from a per-file arena.
 *
 * Every length and count is checked against the bytes that remain before
 * anything is allocated or read, so hostile files give an error message,
 * never a crash or a huge malloc.
 */
#include "gguf.h"

#include "types.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

/* Sanity caps: real models have ~20-60 keys and up to a few thousand tensors.
 * Far larger counts are corrupt headers, rejected before anything is parsed. */
#define MAX_KV_COUNT (1u << 20)
#define MAX_TENSOR_COUNT (1u << 20)
#define MAX_ARRAY_DEPTH 16
/* Lengths and counts needing more than this (1 GB; real headers are a few MB)
 * are corrupt, not cut short. */
#define MAX_PLAUSIBLE_BYTES (1ull << 30)
/* Smallest possible encodings, used to reject counts that cannot fit. */
#define MIN_KV_BYTES 13     /* u64 key length, u32 type, 1-byte value */
#define MIN_TENSOR_BYTES 24 /* u64 name length, u32 n_dims, u32 type, u64 offset */
#define MIN_NESTED_BYTES 12 /* u32 elem_type, u64 n */

/* ---- arena: every table of one gguf_file, freed at once ----------------- */

typedef struct arena_chunk {
  struct arena_chunk *next;
  size_t used, cap;
  max_align_t data[];
} arena_chunk;

typedef struct {
  arena_chunk *head; /* small allocations come from head; big ones get a chunk of their own behind it */
} arena;

#define ARENA_CHUNK_BYTES (64 * 1024)

static void *arena_alloc(arena *a, size_t n)
{
  if (n > SIZE_MAX - 64) return NULL;
  n = (n + 15) & ~(size_t)15;
  if (n == 0) n = 16;
  if (n > ARENA_CHUNK_BYTES / 4) {
    arena_chunk *c = malloc(sizeof *c + n);
    if (!c) return NULL;
    c->used = c->cap = n;
    if (a->head) {
      c->next = a->head->next;
      a->head->next = c;
    } else {
      c->next = NULL;
      a->head = c;
    }
    return c->data;
  }
  if (!a->head || a->head->cap - a->head->used < n) {
    arena_chunk *c = malloc(sizeof *c + ARENA_CHUNK_BYTES);
    if (!c) return NULL;
    c->used = 0;
    c->cap = ARENA_CHUNK_BYTES;
    c->next = a->head;
    a->head = c;
  }
  void *p = (unsigned char *)a->head->data + a->head->used;
  a->head->used += n;
  return p;
}

static void arena_free(arena *a)
{
  arena_chunk *c = a->head;
  while (c) {
    arena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
}

/* ---- string index: open addressing over gguf_str at offset 0 of a record - */

typedef struct {
  uint32_t *slots; /* record index + 1; 0 = empty */
  uint64_t mask;
} str_index;

static uint64_t hash_bytes(const char *s, uint64_t n)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (uint64_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

static bool str_equal(gguf_str a, const char *b, uint64_t blen)
{
  return a.len == blen && (blen == 0 || memcmp(a.ptr, b, blen) == 0);
}

#define REC_STR(base, stride, i) (*(const gguf_str *)((const char *)(base) + (size_t)(i) * (stride)))

/* Builds the index; returns the index of the first duplicate, or -1. */
static int64_t str_index_build(str_index *ix, const void *base, size_t stride, uint64_t n, bool *nomem)
{
  uint64_t cap = 16;
  while (cap < n * 2) cap *= 2;
  ix->slots = calloc(cap, sizeof *ix->slots);
  *nomem = ix->slots == NULL;
  if (!ix->slots) return -1;
  ix->mask = cap - 1;
  for (uint64_t i = 0; i < n; i++) {
    gguf_str s = REC_STR(base, stride, i);
    uint64_t h = hash_bytes(s.ptr, s.len) & ix->mask;
    while (ix->slots[h]) {
      if (str_equal(REC_STR(base, stride, ix->slots[h] - 1), s.ptr, s.len)) return (int64_t)i;
      h = (h + 1) & ix->mask;
    }
    ix->slots[h] = (uint32_t)(i + 1);
  }
  return -1;
}

static int64_t str_index_find(const str_index *ix, const void *base, size_t stride, const char *key)
{
  if (!ix->slots || !key) return -1;
  size_t len = strlen(key);
  uint64_t h = hash_bytes(key, len) & ix->mask;
  while (ix->slots[h]) {
    uint32_t i = ix->slots[h] - 1;
    if (str_equal(REC_STR(base, stride, i), key, len)) return i;
    h = (h + 1) & ix->mask;
  }
  return -1;
}

/* ---- the file ------------------------------------------------------------ */

typedef struct {
  void *map; /* NULL for a caller's buffer */
  size_t map_len;
  const uint8_t *base;
  uint64_t avail;     /* bytes present */
  uint64_t file_size; /* real size of the file; 0 when unknown */
  uint32_t version;
  uint64_t alignment;
  uint64_t info_end;    /* end of the tensor infos */
  uint64_t data_offset; /* info_end rounded up to the alignment */
  uint64_t data_end;    /* largest offset + size of its tensors */
  uint64_t n_tensors;
  gguf_kv *kvs;
  uint64_t n_kv;
  str_index kv_index;
} shard;

struct gguf_file {
  shard *shards;
  int n_shards;
  gguf_tensor *tensors;
  uint64_t n_tensors, cap_tensors;
  str_index tensor_index;
  uint64_t tensor_bytes;
  arena ar;
};

/* ---- reader -------------------------------------------------------------- */

typedef struct {
  const uint8_t *base;
  uint64_t avail; /* bytes present */
  uint64_t limit; /* real size of the file; UINT64_MAX when unknown */
  uint64_t pos;
  /* When more bytes would help (a buffer ends inside the header): */
  uint64_t need;   /* estimate of the total bytes needed */
  bool need_known; /* need came from a known length, not a guess */
  bool hard;       /* the file itself ends inside its header: more bytes will not come */
  arena *ar;
  still_error *err;
  gguf_str key;     /* the metadata key being read, for messages */
  int64_t tensor_i; /* the tensor info being read, or -1 */
} reader;

static const char *where(reader *r, char *buf, size_t size)
{
  if (r->tensor_i >= 0)
    snprintf(buf, size, " (in the info of tensor #%lld)", (long long)r->tensor_i);
  else if (r->key.ptr)
    snprintf(buf, size, " (in the metadata value \"%.*s\")", (int)(r->key.len > 80 ? 80 : r->key.len), r->key.ptr);
  else
    buf[0] = 0;
  return buf;
}

/* A read of n bytes at r->pos does not fit in what we have. */
static still_status past_end(reader *r, uint64_t n)
{
  uint64_t end;
  if (n > MAX_PLAUSIBLE_BYTES || !still_add_u64(r->pos, n, &end)) {
    char w[160];
    return still_set_error(r->err, STILL_ERR_FORMAT, "the header holds an impossible length of %llu bytes%s",
                           (unsigned long long)n, where(r, w, sizeof w));
  }
  if (end > r->limit) {
    char a[32], w[160];
    r->hard = true;
    return still_set_error(r->err, STILL_ERR_TRUNCATED, "this file ends early: it ends at %s, inside its header%s",
                           still_format_bytes(r->limit, a, sizeof a), where(r, w, sizeof w));
  }
  r->need = end > r->need ? end : r->need;
  return STILL_ERR_TRUNCATED;
}

static inline still_status take(reader *r, uint64_t n, const uint8_t **out)
{
  if (n <= r->avail - r->pos) {
    *out = r->base + r->pos;
    r->pos += n;
    return STILL_OK;
  }
  return past_end(r, n);
}

static still_status rd_u32(reader *r, uint32_t *v)
{
  const uint8_t *p = NULL;
  still_status st = take(r, 4, &p);
  if (st == STILL_OK) memcpy(v, p, 4);
  return st;
}

static still_status rd_u64(reader *r, uint64_t *v)
{
  const uint8_t *p = NULL;
  still_status st = take(r, 8, &p);
  if (st == STILL_OK) memcpy(v, p, 8);
  return st;
}

static still_status rd_str(reader *r, gguf_str *s)
{
  uint64_t len;
  const uint8_t *p = NULL;
  still_status st = rd_u64(r, &len);
  if (st != STILL_OK) return st;
  if ((st = take(r, len, &p)) != STILL_OK) {
    if (!r->hard) r->need_known = true;
    return st;
  }
  s->ptr = (const char *)p;
  s->len = len;
  return STILL_OK;
}

/* Bytes that can still follow r->pos in the real file. */
static uint64_t bytes_left(const reader *r)
{
  return r->limit == UINT64_MAX ? UINT64_MAX : r->limit - r->pos;
}

/* Raise the estimate of the bytes needed to the extrapolated end of a
 * length-known item started at p0, of which done of n parts took the bytes
 * up to r->pos (min_part: least bytes per part). */
static void need_extrapolate(reader *r, uint64_t p0, uint64_t done, uint64_t n, uint64_t min_part)
{
  if (r->hard) return;
  double per = done > 0 ? (double)(r->pos - p0) / (double)done : (double)min_part * 2;
  if (per < (double)min_part) per = (double)min_part;
  double est = (double)p0 + per * (double)n * 1.02 + 64;
  uint64_t e = est >= 1.8e19 ? UINT64_MAX : (uint64_t)est;
  if (e > r->need) r->need = e;
  r->need_known = true;
}

static size_t type_width(uint32_t t)
{
  switch (t) {
  case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
  case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
  case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
  case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
  default: return 0;
  }
}

static still_status nomem(reader *r)
{
  return still_set_error(r->err, STILL_ERR_NOMEM, "out of memory while reading the GGUF header");
}

/* A count whose smallest encoding (min_bytes; 0 when that overflows) does
 * not fit in the rest of the file. Plausible counts mean the file was cut
 * short (the common case: an interrupted download); absurd ones (beyond
 * 1 GB) a corrupt header. */
static still_status too_many(reader *r, uint64_t n, uint64_t min_bytes, const char *what)
{
  char a[32], w[160];
  if (min_bytes == 0 || min_bytes > MAX_PLAUSIBLE_BYTES || r->limit == UINT64_MAX)
    return still_set_error(r->err, STILL_ERR_FORMAT, "the header claims %llu %s, an impossible number%s",
                           (unsigned long long)n, what, where(r, w, sizeof w));
  r->hard = true;
  return still_set_error(r->err, STILL_ERR_TRUNCATED,
                         "this file ends early: it ends at %s, inside its header, which lists %llu %s%s",
                         still_format_bytes(r->limit, a, sizeof a), (unsigned long long)n, what,
                         where(r, w, sizeof w));
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
  uint64_t c;
  return still_add_u64(a, b, &c) ? c : UINT64_MAX;
}

static still_status read_array(reader *r, gguf_value *v, int depth);

static still_status read_value(reader *r, uint32_t type, gguf_value *v, int depth)
{
  const uint8_t *p = NULL;
  still_status st;
  v->type = (gguf_type)type;
  switch (type) {
  case GGUF_TYPE_UINT8:
  case GGUF_TYPE_BOOL:
    if ((st = take(r, 1, &p)) != STILL_OK) return st;
    v->v.u64 = type == GGUF_TYPE_BOOL ? p[0] != 0 : p[0];
    return STILL_OK;
  case GGUF_TYPE_INT8:
    if ((st = take(r, 1, &p)) != STILL_OK) return st;
    v->v.i64 = (int8_t)p[0];
    return STILL_OK;
  case GGUF_TYPE_UINT16: {
    uint16_t x;
    if ((st = take(r, 2, &p)) != STILL_OK) return st;
    memcpy(&x, p, 2);
    v->v.u64 = x;
    return STILL_OK;
  }
  case GGUF_TYPE_INT16: {
    int16_t x;
    if ((st = take(r, 2, &p)) != STILL_OK) return st;
    memcpy(&x, p, 2);
    v->v.i64 = x;
    return STILL_OK;
  }
  case GGUF_TYPE_UINT32: {
    uint32_t x;
    if ((st = rd_u32(r, &x)) != STILL_OK) return st;
    v->v.u64 = x;
    return STILL_OK;
  }
  case GGUF_TYPE_INT32: {
    int32_t x;
    if ((st = take(r, 4, &p)) != STILL_OK) return st;
    memcpy(&x, p, 4);
    v->v.i64 = x;
    return STILL_OK;
  }
  case GGUF_TYPE_FLOAT32: {
    float x;
    if ((st = take(r, 4, &p)) != STILL_OK) return st;
    memcpy(&x, p, 4);
    v->v.f64 = x;
    return STILL_OK;
  }
  case GGUF_TYPE_UINT64:
    return rd_u64(r, &v->v.u64);
  case GGUF_TYPE_INT64:
    if ((st = take(r, 8, &p)) != STILL_OK) return st;
    memcpy(&v->v.i64, p, 8);
    return STILL_OK;
  case GGUF_TYPE_FLOAT64:
    if ((st = take(r, 8, &p)) != STILL_OK) return st;
    memcpy(&v->v.f64, p, 8);
    return STILL_OK;
  case GGUF_TYPE_STRING:
    return rd_str(r, &v->v.str);
  case GGUF_TYPE_ARRAY:
    return read_array(r, v, depth + 1);
  default: {
    char w[160];
    return still_set_error(r->err, STILL_ERR_FORMAT, "a metadata value has an unknown type %u%s", type,
                           where(r, w, sizeof w));
  }
  }
}

/* The body of an array (after its own type tag): elem_type, n, elements. */
static still_status read_array(reader *r, gguf_value *v, int depth)
{
  char w[160];
  uint32_t et;
  uint64_t n;
  still_status st;
  v->type = GGUF_TYPE_ARRAY;
  memset(&v->v.arr, 0, sizeof v->v.arr);
  if (depth > MAX_ARRAY_DEPTH)
    return still_set_error(r->err, STILL_ERR_FORMAT, "arrays are nested more than %d deep%s", MAX_ARRAY_DEPTH,
                           where(r, w, sizeof w));
  if ((st = rd_u32(r, &et)) != STILL_OK) return st;
  if ((st = rd_u64(r, &n)) != STILL_OK) return st;
  if (et >= GGUF_TYPE_COUNT)
    return still_set_error(r->err, STILL_ERR_FORMAT, "an array has an unknown element type %u%s", et,
                           where(r, w, sizeof w));
  v->v.arr.elem_type = (gguf_type)et;
  v->v.arr.n = n;
  uint64_t p0 = r->pos;

  size_t width = type_width(et);
  if (width) {
    uint64_t bytes;
    const uint8_t *p = NULL;
    if (!still_mul_u64(n, width, &bytes)) bytes = 0;
    if (bytes == 0 ? n != 0 : (bytes > bytes_left(r) || bytes > MAX_PLAUSIBLE_BYTES))
      return too_many(r, n, bytes, "array elements");
    if ((st = take(r, bytes, &p)) != STILL_OK) {
      if (!r->hard) r->need_known = true;
      return st;
    }
    v->v.arr.data = p;
    return STILL_OK;
  }

  uint64_t min_part = et == GGUF_TYPE_STRING ? 8 : MIN_NESTED_BYTES;
  uint64_t min_bytes;
  if (!still_mul_u64(n, min_part, &min_bytes)) min_bytes = 0;
  if (min_bytes == 0 ? n != 0 : (min_bytes > bytes_left(r) || min_bytes > MAX_PLAUSIBLE_BYTES))
    return too_many(r, n, min_bytes, "array elements");
  if (min_bytes > r->avail - r->pos) {
    /* Not even the length fields are here: ask for more before allocating. */
    if (r->pos + min_bytes > r->need) r->need = r->pos + min_bytes;
    need_extrapolate(r, p0, 0, n, min_part);
    return STILL_ERR_TRUNCATED;
  }
  if (n == 0) return STILL_OK;

  if (et == GGUF_TYPE_STRING) {
    gguf_str *strs = arena_alloc(r->ar, (size_t)n * sizeof *strs);
    if (!strs) return nomem(r);
    /* The hot loop of a 150k-token vocabulary: keep it tight. */
    const uint8_t *base = r->base;
    uint64_t pos = r->pos, avail = r->avail;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t len;
      if (avail - pos < 8) {
        r->pos = pos;
        st = past_end(r, 8);
        need_extrapolate(r, p0, i, n, min_part);
        return st;
      }
      memcpy(&len, base + pos, 8);
      pos += 8;
      if (len > avail - pos) {
        r->pos = pos;
        st = past_end(r, len);
        need_extrapolate(r, p0, i, n, min_part);
        return st;
      }
      strs[i].ptr = (const char *)base + pos;
      strs[i].len = len;
      pos += len;
    }
    r->pos = pos;
    v->v.arr.strs = strs;
    return STILL_OK;
  }

  /* Nested arrays (et == ARRAY): each element is an array body. */
  gguf_value *elems = arena_alloc(r->ar, (size_t)n * sizeof *elems);
  if (!elems) return nomem(r);
  memset(elems, 0, (size_t)n * sizeof *elems);
  v->v.arr.elems = elems;
  for (uint64_t i = 0; i < n; i++) {
    if ((st = read_array(r, &elems[i], depth + 1)) != STILL_OK) {
      if (st == STILL_ERR_TRUNCATED) need_extrapolate(r, p0, i, n, min_part);
      return st;
    }
  }
  return STILL_OK;
}

/* ---- value conversion ---------------------------------------------------- */

static bool is_unsigned(gguf_type t)
{
  return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_UINT64;
}

static bool is_signed(gguf_type t)
{
  return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}

static bool value_u64(const gguf_value *v, uint64_t *out)
{
  if (is_unsigned(v->type)) {
    *out = v->v.u64;
    return true;
  }
  if (is_signed(v->type) && v->v.i64 >= 0) {
    *out = (uint64_t)v->v.i64;
    return true;
  }
  return false;
}

static bool value_i64(const gguf_value *v, int64_t *out)
{
  if (is_signed(v->type)) {
    *out = v->v.i64;
    return true;
  }
  if (is_unsigned(v->type) && v->v.u64 <= (uint64_t)INT64_MAX) {
    *out = (int64_t)v->v.u64;
    return true;
  }
  return false;
}

/* ---- tensor types -------------------------------------------------------- */

/* Names of ggml types this version cannot read, for a better message. */
static const char *other_ggml_type_name(uint32_t t)
{
  switch (t) {
  case 4: return "Q4_2 (removed from ggml)";
  case 5: return "Q4_3 (removed from ggml)";
  case 16: return "IQ2_XXS";
  case 17: return "IQ2_XS";
  case 18: return "IQ3_XXS";
  case 19: return "IQ1_S";
  case 21: return "IQ3_S";
  case 22: return "IQ2_S";
  case 24: return "I8";
  case 25: return "I16";
  case 26: return "I32";
  case 27: return "I64";
  case 28: return "F64";
  case 29: return "IQ1_M";
  default: return NULL;
  }
}

static void supported_types(char *buf, size_t size)
{
  size_t used = 0;
  buf[0] = 0;
  for (uint32_t t = 0; t < STILL_TYPE_COUNT; t++) {
    const still_type_traits *tr = still_type_get(t);
    if (!tr) continue;
    int k = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", tr->name);
    if (k < 0 || (size_t)k >= size - used) break;
    used += (size_t)k;
  }
}

/* ---- one tensor info ----------------------------------------------------- */

static still_status read_tensor_info(reader *r, gguf_tensor *t, uint64_t alignment)
{
  still_status st;
  uint32_t n_dims, type;
  if ((st = rd_str(r, &t->name)) != STILL_OK) return st;
  /* Names are looked up as C strings: a NUL inside would make them unfindable. */
  if (!still_utf8_valid(t->name.ptr, t->name.len) || memchr(t->name.ptr, 0, (size_t)t->name.len))
    return still_set_error(r->err, STILL_ERR_FORMAT, "tensor #%lld has a name that is not valid UTF-8 text",
                           (long long)r->tensor_i);
  int nl = (int)(t->name.len > 120 ? 120 : t->name.len);
  const char *nm = t->name.ptr;
  if ((st = rd_u32(r, &n_dims)) != STILL_OK) return st;
  if (n_dims > GGUF_MAX_DIMS)
    return still_set_error(r->err, STILL_ERR_FORMAT, "tensor %.*s has %u dimensions; at most %d are allowed", nl,
                           nm, n_dims, GGUF_MAX_DIMS);
  t->n_dims = n_dims;
  uint64_t n_elems = 1;
  for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
  for (uint32_t d = 0; d < n_dims; d++) {
    uint64_t ne;
    if ((st = rd_u64(r, &ne)) != STILL_OK) return st;
    if (ne == 0)
      return still_set_error(r->err, STILL_ERR_FORMAT, "tensor %.*s has a zero size in dimension %u", nl, nm, d);
    if (ne > (uint64_t)INT64_MAX)
      return still_set_error(r->err, STILL_ERR_FORMAT, "tensor %.*s has a negative size in dimension %u", nl, nm,
                             d);
    if (!still_mul_u64(n_elems, ne, &n_elems) || n_elems > (uint64_t)INT64_MAX)
      return still_set_error(r->err, STILL_ERR_FORMAT,
                             "tensor %.*s has more elements than can be counted (its dimensions overflow)", nl, nm);
    t->ne[d] = (int64_t)ne;
  }
  if ((st = rd_u32(r, &type)) != STILL_OK) return st;
  t->type = type;
  const still_type_traits *tr = still_type_get(type);
  if (!tr) {
    char list[256];
    supported_types(list, sizeof list);
    const char *other = other_ggml_type_name(type);
    if (other)
      return still_set_error(r->err, STILL_ERR_UNSUPPORTED,
                             "tensor %.*s has type %s (%u), which this version does not support; it supports %s", nl,
                             nm, other, type, list);
    return still_set_error(r->err, STILL_ERR_UNSUPPORTED,
                           "tensor %.*s has an unknown type %u; this version supports %s", nl, nm, type, list);
  }
  if ((uint64_t)t->ne[0] % (uint64_t)tr->block_size != 0)
    return still_set_error(r->err, STILL_ERR_FORMAT,
                           "tensor %.*s has rows of %lld values, not a whole number of %s blocks of %d", nl, nm,
                           (long long)t->ne[0], tr->name, tr->block_size);
  if (!still_type_bytes(type, n_elems, &t->size))
    return still_set_error(r->err, STILL_ERR_FORMAT, "tensor %.*s is too large (its byte size overflows)", nl, nm);
  if ((st = rd_u64(r, &t->offset)) != STILL_OK) return st;
  if (t->offset % alignment != 0)
    return still_set_error(r->err, STILL_ERR_FORMAT,
                           "tensor %.*s has a misaligned data offset %llu (not a multiple of the alignment %llu)", nl,
                           nm, (unsigned long long)t->offset, (unsigned long long)alignment);
  t->data = NULL;
  return STILL_OK;
}

/* ---- one shard ----------------------------------------------------------- */

static void describe_start(const uint8_t *p, uint64_t n, char *buf, size_t size)
{
  /* Show the first bytes as text when printable ("PK\x03\x04" style otherwise). */
  size_t used = 0;
  buf[used++] = '"';
  for (uint64_t i = 0; i < n && i < 8 && used + 6 < size; i++) {
    unsigned c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      buf[used++] = (char)c;
    else
      used += (size_t)snprintf(buf + used, size - used, "\\x%02X", c);
  }
  buf[used++] = '"';
  buf[used] = 0;
}

static bool grow_tensors(gguf_file *f)
{
  if (f->n_tensors < f->cap_tensors) return true;
  uint64_t cap = f->cap_tensors ? f->cap_tensors * 2 : 64;
  gguf_tensor *t = realloc(f->tensors, (size_t)cap * sizeof *t);
  if (!t) return false;
  f->tensors = t;
  f->cap_tensors = cap;
  return true;
}

/* Parse the header of one shard held in s->base[0..avail) into s and f. */
static still_status parse_shard(gguf_file *f, shard *s, int shard_no, uint64_t *need, still_error *err)
{
  reader rd = {
    .base = s->base,
    .avail = s->avail,
    .limit = s->file_size ? s->file_size : UINT64_MAX,
    .ar = &f->ar,
    .err = err,
    .tensor_i = -1,
  };
  reader *r = &rd;
  still_status st;
  char a[32], b[32];
  *need = 0;

  /* magic + version */
  uint64_t k = r->avail < 4 ? r->avail : 4;
  if (memcmp(r->base, "GGUF", (size_t)k) != 0) {
    char start[64];
    describe_start(r->base, r->avail, start, sizeof start);
    return still_set_error(err, STILL_ERR_FORMAT, "not a GGUF file: it starts with %s instead of \"GGUF\"", start);
  }
  if (r->limit < 4)
    return still_set_error(err, STILL_ERR_FORMAT, "not a GGUF file: it is only %llu bytes long",
                           (unsigned long long)r->limit);

  uint32_t magic, version;
  uint64_t n_tensors, n_kv;
  if ((st = rd_u32(r, &magic)) != STILL_OK) goto truncated;
  if ((st = rd_u32(r, &version)) != STILL_OK) goto truncated;
  if (version != 0 && (version & 0xFFFF) == 0)
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "this GGUF file is big-endian; only little-endian GGUF files are supported");
  if (version == 1)
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "this is a GGUF version 1 file, an old format from 2023 that is not supported "
                           "(versions 2 and 3 are); download a newer copy of the model");
  if (version != 2 && version != 3)
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "unsupported GGUF version %u (versions 2 and 3 are supported)", version);
  s->version = version;
  if ((st = rd_u64(r, &n_tensors)) != STILL_OK) goto truncated;
  if ((st = rd_u64(r, &n_kv)) != STILL_OK) goto truncated;
  if (n_kv > MAX_KV_COUNT || n_kv > bytes_left(r) / MIN_KV_BYTES) {
    if (n_kv > MAX_KV_COUNT)
      return still_set_error(err, STILL_ERR_FORMAT, "the header claims %llu metadata entries; that is not plausible",
                             (unsigned long long)n_kv);
    return too_many(r, n_kv, n_kv * MIN_KV_BYTES, "metadata entries");
  }
  if (n_tensors > MAX_TENSOR_COUNT || n_tensors > bytes_left(r) / MIN_TENSOR_BYTES) {
    if (n_tensors > MAX_TENSOR_COUNT)
      return still_set_error(err, STILL_ERR_FORMAT, "the header claims %llu tensors; that is not plausible",
                             (unsigned long long)n_tensors);
    return too_many(r, n_tensors, n_tensors * MIN_TENSOR_BYTES, "tensors");
  }

  /* metadata: the table grows with what is actually read, so a bogus count
   * in a buffer of unknown size cannot make us allocate much. */
  uint64_t cap_kv = 0;
  for (uint64_t i = 0; i < n_kv; i++) {
    if (s->n_kv == cap_kv) {
      cap_kv = cap_kv ? cap_kv * 2 : 32;
      if (cap_kv > n_kv) cap_kv = n_kv;
      gguf_kv *kvs = arena_alloc(&f->ar, (size_t)cap_kv * sizeof *kvs);
      if (!kvs) return nomem(r);
      if (s->n_kv) memcpy(kvs, s->kvs, (size_t)s->n_kv * sizeof *kvs);
      s->kvs = kvs;
    }
    gguf_kv *kv = &s->kvs[s->n_kv];
    uint32_t type;
    r->key = (gguf_str){0};
    if ((st = rd_str(r, &kv->key)) != STILL_OK) goto truncated;
    if (!still_utf8_valid(kv->key.ptr, kv->key.len) || memchr(kv->key.ptr, 0, (size_t)kv->key.len))
      return still_set_error(err, STILL_ERR_FORMAT, "metadata key #%llu is not valid UTF-8 text",
                             (unsigned long long)i);
    r->key = kv->key;
    if ((st = rd_u32(r, &type)) != STILL_OK) goto truncated;
    if (type >= GGUF_TYPE_COUNT)
      return still_set_error(err, STILL_ERR_FORMAT, "the metadata value \"%.*s\" has an unknown type %u",
                             (int)(kv->key.len > 80 ? 80 : kv->key.len), kv->key.ptr, type);
    if ((st = read_value(r, type, &kv->value, 0)) != STILL_OK) goto truncated;
    s->n_kv++;
  }
  r->key = (gguf_str){0};

  bool oom;
  int64_t dup = str_index_build(&s->kv_index, s->kvs, sizeof(gguf_kv), s->n_kv, &oom);
  if (oom) return nomem(r);
  if (dup >= 0)
    return still_set_error(err, STILL_ERR_FORMAT, "the metadata key \"%.*s\" appears twice",
                           (int)(s->kvs[dup].key.len > 80 ? 80 : s->kvs[dup].key.len), s->kvs[dup].key.ptr);

  /* general.alignment */
  s->alignment = GGUF_DEFAULT_ALIGNMENT;
  int64_t ai = str_index_find(&s->kv_index, s->kvs, sizeof(gguf_kv), "general.alignment");
  if (ai >= 0) {
    uint64_t al;
    if (!value_u64(&s->kvs[ai].value, &al))
      return still_set_error(err, STILL_ERR_FORMAT,
                             "general.alignment must be a non-negative integer, but it is a %s",
                             gguf_type_name(s->kvs[ai].value.type));
    if (al == 0 || (al & (al - 1)) != 0 || al > (1u << 30))
      return still_set_error(err, STILL_ERR_FORMAT, "general.alignment is %llu; it must be a power of two (at most 2^30)",
                             (unsigned long long)al);
    s->alignment = al;
  }

  /* tensor infos */
  uint64_t t0 = f->n_tensors, p0 = r->pos;
  for (uint64_t i = 0; i < n_tensors; i++) {
    if (!grow_tensors(f)) return nomem(r);
    gguf_tensor *t = &f->tensors[f->n_tensors];
    r->tensor_i = (int64_t)i;
    if ((st = read_tensor_info(r, t, s->alignment)) != STILL_OK) {
      if (st == STILL_ERR_TRUNCATED) need_extrapolate(r, p0, i, n_tensors, MIN_TENSOR_BYTES + 8);
      goto truncated;
    }
    t->shard = shard_no;
    f->n_tensors++;
  }
  r->tensor_i = -1;
  s->n_tensors = n_tensors;
  s->info_end = r->pos;
  uint64_t pad = (s->alignment - s->info_end % s->alignment) % s->alignment;
  if (!still_add_u64(s->info_end, pad, &s->data_offset))
    return still_set_error(err, STILL_ERR_FORMAT, "the header is too large");

  /* where the data lies */
  uint64_t sum = 0;
  const gguf_tensor *last = NULL;
  s->data_end = 0;
  for (uint64_t i = t0; i < f->n_tensors; i++) {
    gguf_tensor *t = &f->tensors[i];
    uint64_t end, abs_end;
    if (!still_add_u64(t->offset, t->size, &end) || !still_add_u64(s->data_offset, end, &abs_end))
      return still_set_error(err, STILL_ERR_FORMAT,
                             "tensor %.*s lies outside the file: its data offset %llu is impossibly large",
                             (int)(t->name.len > 120 ? 120 : t->name.len), t->name.ptr,
                             (unsigned long long)t->offset);
    if (end > s->data_end) {
      s->data_end = end;
      last = t;
    }
    sum = sat_add(sum, t->size);
    if (abs_end <= s->avail) t->data = s->base + s->data_offset + t->offset;
  }
  uint64_t expected = n_tensors ? s->data_offset + s->data_end : s->info_end;
  if (s->file_size && expected > s->file_size) {
    /* Tensors packed one after the other (a cut download) vs an offset
     * pointing far away (a corrupt header). */
    uint64_t slack = n_tensors * s->alignment;
    if (s->data_end <= sat_add(sum, slack)) {
      still_format_bytes(s->file_size, a, sizeof a), still_format_bytes(expected, b, sizeof b);
      if (strcmp(a, b) == 0) /* (the sizes round alike: in bytes) */
        return still_set_error(err, STILL_ERR_TRUNCATED, "this file ends early: it has %llu bytes of an expected %llu",
                               (unsigned long long)s->file_size, (unsigned long long)expected);
      return still_set_error(err, STILL_ERR_TRUNCATED, "this file ends early: it ends at %s of an expected %s", a, b);
    }
    return still_set_error(err, STILL_ERR_FORMAT,
                           "tensor %.*s lies outside the file: its data ends at %s, but the file is only %s",
                           (int)(last->name.len > 120 ? 120 : last->name.len), last->name.ptr,
                           still_format_bytes(expected, b, sizeof b), still_format_bytes(s->file_size, a, sizeof a));
  }
  return STILL_OK;

truncated:
  if (st != STILL_ERR_TRUNCATED || r->hard) return st;
  /* A buffer that ends inside the header: say how much to fetch. */
  {
    uint64_t n = r->need;
    if (!r->need_known) {
      uint64_t dbl = r->avail > UINT64_MAX / 2 ? UINT64_MAX : r->avail * 2;
      if (dbl < 64) dbl = 64;
      if (dbl > n) n = dbl;
    }
    if (n <= r->avail) n = r->avail + 1;
    if (n > r->limit) n = r->limit;
    *need = n;
    return still_set_error(err, STILL_ERR_TRUNCATED,
                           "the GGUF header does not fit in the first %s; about %s are needed",
                           still_format_bytes(r->avail, a, sizeof a), still_format_bytes(n, b, sizeof b));
  }
}

/* ---- open / close -------------------------------------------------------- */

static void shard_release(shard *s)
{
  if (s->map) munmap(s->map, s->map_len);
  free(s->kv_index.slots);
  memset(s, 0, sizeof *s);
}

void gguf_close(gguf_file *f)
{
  if (!f) return;
  for (int i = 0; i < f->n_shards; i++) shard_release(&f->shards[i]);
  free(f->shards);
  free(f->tensors);
  free(f->tensor_index.slots);
  arena_free(&f->ar);
  free(f);
}

static still_status map_file(const char *path, shard *s, int *open_errno, still_error *err)
{
  *open_errno = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *open_errno = errno;
    return still_set_error(err, STILL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  }
  struct stat stb;
  if (fstat(fd, &stb) != 0) {
    int e = errno;
    close(fd);
    return still_set_error(err, STILL_ERR_IO, "cannot read %s: %s", path, strerror(e));
  }
  if (!S_ISREG(stb.st_mode)) {
    close(fd);
    return still_set_error(err, STILL_ERR_IO, "%s is not a regular file", path);
  }
  if (stb.st_size == 0) {
    close(fd);
    return still_set_error(err, STILL_ERR_FORMAT, "not a GGUF file: %s is empty", path);
  }
  if ((uint64_t)stb.st_size > SIZE_MAX) {
    close(fd);
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "%s is too large to map on this system", path);
  }
  void *map = mmap(NULL, (size_t)stb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED)
    return still_set_error(err, e == ENOMEM ? STILL_ERR_NOMEM : STILL_ERR_IO, "cannot map %s into memory: %s", path,
                           strerror(e));
  s->map = map;
  s->map_len = (size_t)stb.st_size;
  s->base = map;
  s->avail = s->file_size = (uint64_t)stb.st_size;
  return STILL_OK;
}

static gguf_file *file_new(int n_shards)
{
  gguf_file *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->shards = calloc((size_t)n_shards, sizeof *f->shards);
  if (!f->shards) {
    free(f);
    return NULL;
  }
  f->n_shards = n_shards;
  return f;
}

/* After all shards are parsed: tensor index and totals. */
static still_status finish_file(gguf_file *f, still_error *err)
{
  bool oom;
  int64_t dup = str_index_build(&f->tensor_index, f->tensors, sizeof(gguf_tensor), f->n_tensors, &oom);
  if (oom) return still_set_error(err, STILL_ERR_NOMEM, "out of memory while indexing tensors");
  if (dup >= 0) {
    const gguf_tensor *t = &f->tensors[dup];
    return still_set_error(err, STILL_ERR_FORMAT, "the tensor name %.*s appears twice",
                           (int)(t->name.len > 120 ? 120 : t->name.len), t->name.ptr);
  }
  f->tensor_bytes = 0;
  for (uint64_t i = 0; i < f->n_tensors; i++) f->tensor_bytes = sat_add(f->tensor_bytes, f->tensors[i].size);
  return STILL_OK;
}

still_status gguf_parse_buffer(const void *buf, size_t len, uint64_t file_size, gguf_file **out, size_t *need_bytes,
                               still_error *err)
{
  if (out) *out = NULL;
  if (need_bytes) *need_bytes = 0;
  if (!out || (!buf && len > 0))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "gguf_parse_buffer: no buffer or no output");
  if (file_size && len > file_size) len = (size_t)file_size;
  gguf_file *f = file_new(1);
  if (!f) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  shard *s = &f->shards[0];
  static const uint8_t empty[1];
  s->base = buf ? buf : empty;
  s->avail = len;
  s->file_size = file_size;
  uint64_t need = 0;
  still_status st = parse_shard(f, s, 0, &need, err);
  if (st == STILL_OK) st = finish_file(f, err);
  if (st != STILL_OK) {
    if (need_bytes) *need_bytes = need > SIZE_MAX ? SIZE_MAX : (size_t)need;
    gguf_close(f);
    return st;
  }
  *out = f;
  return STILL_OK;
}

bool gguf_split_name_parse(const char *path, size_t *prefix_len, unsigned *part, unsigned *count)
{
  static const char tail[] = "-00000-of-00000.gguf";
  size_t n = strlen(path), tl = sizeof tail - 1;
  if (n < tl) return false;
  const char *p = path + n - tl;
  for (size_t i = 0; i < tl; i++) {
    if (tail[i] == '0') {
      if (p[i] < '0' || p[i] > '9') return false;
    } else if (p[i] != tail[i]) {
      return false;
    }
  }
  *part = (unsigned)strtoul(p + 1, NULL, 10);
  *count = (unsigned)strtoul(p + 10, NULL, 10);
  *prefix_len = n - tl;
  return true;
}

static const char *base_name(const char *path)
{
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static bool shard_get_u64(const shard *s, const char *key, uint64_t *out)
{
  int64_t i = str_index_find(&s->kv_index, s->kvs, sizeof(gguf_kv), key);
  return i >= 0 && value_u64(&s->kvs[i].value, out);
}

static bool shard_has(const shard *s, const char *key)
{
  return str_index_find(&s->kv_index, s->kvs, sizeof(gguf_kv), key) >= 0;
}

static still_status open_shard(gguf_file *f, int i, const char *path, int *open_errno, still_error *err)
{
  shard *s = &f->shards[i];
  still_status st = map_file(path, s, open_errno, err);
  if (st != STILL_OK) return st;
  uint64_t need;
  return parse_shard(f, s, i, &need, err);
}

/* Open every part of a split model, first to last. */
static still_status open_split(const char *dir_prefix, size_t prefix_len, unsigned count, gguf_file **out,
                               still_error *err)
{
  gguf_file *f = file_new((int)count);
  if (!f) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  size_t plen = prefix_len + 32;
  char *path = malloc(plen);
  if (!path) {
    gguf_close(f);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  }
  still_status st = STILL_OK;
  for (unsigned i = 0; i < count && st == STILL_OK; i++) {
    snprintf(path, plen, "%.*s-%05u-of-%05u.gguf", (int)prefix_len, dir_prefix, i + 1, count);
    still_error e = {0};
    int open_errno;
    st = open_shard(f, (int)i, path, &open_errno, &e);
    if (st != STILL_OK) {
      if (open_errno == ENOENT)
        st = still_set_error(err, STILL_ERR_IO, "part %u of %u is missing: %s", i + 1, count, base_name(path));
      else
        still_set_error(err, st, "part %u of %u (%s): %s", i + 1, count, base_name(path), e.message);
      break;
    }
    const shard *s = &f->shards[i];
    uint64_t no, n;
    if (!shard_get_u64(s, "split.count", &n) || n != count) {
      st = still_set_error(err, STILL_ERR_FORMAT,
                           "part %u of %u (%s) does not belong to this model: it says it is one of %llu parts",
                           i + 1, count, base_name(path), shard_get_u64(s, "split.count", &n) ? (unsigned long long)n : 1ull);
    } else if (!shard_get_u64(s, "split.no", &no) || no != i) {
      st = still_set_error(err, STILL_ERR_FORMAT, "part %u of %u (%s) says it is part %llu", i + 1, count,
                           base_name(path),
                           shard_get_u64(s, "split.no", &no) ? (unsigned long long)no + 1 : 0ull);
    }
  }
  free(path);
  if (st == STILL_OK) {
    st = finish_file(f, err);
    uint64_t total;
    if (st == STILL_OK && shard_get_u64(&f->shards[0], "split.tensors.count", &total) && total != f->n_tensors)
      st = still_set_error(err, STILL_ERR_FORMAT, "the split model should have %llu tensors, but its %u parts hold %llu",
                           (unsigned long long)total, count, (unsigned long long)f->n_tensors);
  }
  if (st != STILL_OK) {
    gguf_close(f);
    return st;
  }
  *out = f;
  return STILL_OK;
}

still_status gguf_open(const char *path, gguf_file **out, still_error *err)
{
  if (out) *out = NULL;
  if (!path || !out) return still_set_error(err, STILL_ERR_INVALID_ARG, "gguf_open: no path or no output");
  gguf_file *f = file_new(1);
  if (!f) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  int open_errno;
  still_status st = open_shard(f, 0, path, &open_errno, err);
  if (st == STILL_OK) st = finish_file(f, err);
  if (st != STILL_OK) {
    gguf_close(f);
    return st;
  }

  uint64_t count = 1, no = 0;
  const shard *s = &f->shards[0];
  bool has_count = shard_get_u64(s, "split.count", &count);
  if (!has_count && shard_has(s, "split.count")) {
    gguf_close(f);
    return still_set_error(err, STILL_ERR_FORMAT, "split.count is not a number");
  }
  if (!has_count || count <= 1) {
    *out = f;
    return STILL_OK;
  }
  /* A split model: whichever part we were given, open them all from the first. */
  if (!shard_get_u64(s, "split.no", &no) || no >= count) {
    gguf_close(f);
    return still_set_error(err, STILL_ERR_FORMAT, "this file is part of a split model, but its split.no is %s",
                           shard_has(s, "split.no") ? "invalid" : "missing");
  }
  gguf_close(f);
  size_t prefix_len;
  unsigned part, n;
  if (count > 99999 || !gguf_split_name_parse(path, &prefix_len, &part, &n) || n != count || part != no + 1)
    return still_set_error(err, STILL_ERR_FORMAT,
                           "this file is part %llu of %llu of a split model, but its name does not end in "
                           "-%05llu-of-%05llu.gguf, so the other parts cannot be found",
                           (unsigned long long)no + 1, (unsigned long long)count, (unsigned long long)no + 1,
                           (unsigned long long)count);
  return open_split(path, prefix_len, (unsigned)count, out, err);
}

/* ---- accessors ----------------------------------------------------------- */

uint32_t gguf_version(const gguf_file *f) { return f->shards[0].version; }
uint64_t gguf_alignment(const gguf_file *f) { return f->shards[0].alignment; }
uint64_t gguf_data_offset(const gguf_file *f) { return f->shards[0].data_offset; }
int gguf_n_shards(const gguf_file *f) { return f->n_shards; }

uint64_t gguf_expected_size(const gguf_file *f)
{
  uint64_t sum = 0;
  for (int i = 0; i < f->n_shards; i++) {
    const shard *s = &f->shards[i];
    sum += s->n_tensors ? s->data_offset + s->data_end : s->info_end;
  }
  return sum;
}

uint64_t gguf_file_size(const gguf_file *f)
{
  uint64_t sum = 0;
  for (int i = 0; i < f->n_shards; i++) {
    const shard *s = &f->shards[i];
    if (!s->file_size) return gguf_expected_size(f);
    sum += s->file_size;
  }
  return sum;
}

uint64_t gguf_header_bytes(const gguf_file *f)
{
  uint64_t sum = 0;
  for (int i = 0; i < f->n_shards; i++) sum += f->shards[i].data_offset;
  return sum;
}

uint64_t gguf_n_kv(const gguf_file *f) { return f->shards[0].n_kv; }

const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i)
{
  return i < f->shards[0].n_kv ? &f->shards[0].kvs[i] : NULL;
}

const gguf_value *gguf_find(const gguf_file *f, const char *key)
{
  const shard *s = &f->shards[0];
  int64_t i = str_index_find(&s->kv_index, s->kvs, sizeof(gguf_kv), key);
  return i >= 0 ? &s->kvs[i].value : NULL;
}

bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out)
{
  const gguf_value *v = gguf_find(f, key);
  return v && value_u64(v, out);
}

bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out)
{
  const gguf_value *v = gguf_find(f, key);
  return v && value_i64(v, out);
}

bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out)
{
  uint64_t x;
  if (!gguf_get_u64(f, key, &x) || x > UINT32_MAX) return false;
  *out = (uint32_t)x;
  return true;
}

bool gguf_get_i32(const gguf_file *f, const char *key, int32_t *out)
{
  int64_t x;
  if (!gguf_get_i64(f, key, &x) || x < INT32_MIN || x > INT32_MAX) return false;
  *out = (int32_t)x;
  return true;
}

bool gguf_get_f32(const gguf_file *f, const char *key, float *out)
{
  const gguf_value *v = gguf_find(f, key);
  if (!v) return false;
  if (v->type == GGUF_TYPE_FLOAT32 || v->type == GGUF_TYPE_FLOAT64) {
    *out = (float)v->v.f64;
    return true;
  }
  if (is_signed(v->type)) {
    *out = (float)v->v.i64;
    return true;
  }
  if (is_unsigned(v->type)) {
    *out = (float)v->v.u64;
    return true;
  }
  return false;
}

bool gguf_get_bool(const gguf_file *f, const char *key, bool *out)
{
  const gguf_value *v = gguf_find(f, key);
  if (!v || v->type != GGUF_TYPE_BOOL) return false;
  *out = v->v.u64 != 0;
  return true;
}

bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out)
{
  const gguf_value *v = gguf_find(f, key);
  if (!v || v->type != GGUF_TYPE_STRING) return false;
  *out = v->v.str;
  return true;
}

const gguf_value *gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem_type)
{
  const gguf_value *v = gguf_find(f, key);
  if (!v || v->type != GGUF_TYPE_ARRAY) return NULL;
  if (elem_type != GGUF_TYPE_COUNT && v->v.arr.elem_type != elem_type) return NULL;
  return v;
}

/* Element i of a numeric array, as its own type. */
static bool arr_elem(const gguf_value *arr, uint64_t i, gguf_value *out)
{
  if (!arr || arr->type != GGUF_TYPE_ARRAY || i >= arr->v.arr.n) return false;
  gguf_type et = arr->v.arr.elem_type;
  size_t w = type_width(et);
  if (!w || !arr->v.arr.data) return false;
  const uint8_t *p = (const uint8_t *)arr->v.arr.data + i * w;
  out->type = et;
  switch (et) {
  case GGUF_TYPE_UINT8: out->v.u64 = p[0]; break;
  case GGUF_TYPE_BOOL: out->v.u64 = p[0] != 0; break;
  case GGUF_TYPE_INT8: out->v.i64 = (int8_t)p[0]; break;
  case GGUF_TYPE_UINT16: { uint16_t x; memcpy(&x, p, 2); out->v.u64 = x; break; }
  case GGUF_TYPE_INT16: { int16_t x; memcpy(&x, p, 2); out->v.i64 = x; break; }
  case GGUF_TYPE_UINT32: { uint32_t x; memcpy(&x, p, 4); out->v.u64 = x; break; }
  case GGUF_TYPE_INT32: { int32_t x; memcpy(&x, p, 4); out->v.i64 = x; break; }
  case GGUF_TYPE_FLOAT32: { float x; memcpy(&x, p, 4); out->v.f64 = x; break; }
  case GGUF_TYPE_UINT64: memcpy(&out->v.u64, p, 8); break;
  case GGUF_TYPE_INT64: memcpy(&out->v.i64, p, 8); break;
  case GGUF_TYPE_FLOAT64: memcpy(&out->v.f64, p, 8); break;
  default: return false;
  }
  return true;
}

bool gguf_arr_u64(const gguf_value *arr, uint64_t i, uint64_t *out)
{
  gguf_value v;
  return arr_elem(arr, i, &v) && value_u64(&v, out);
}

bool gguf_arr_i64(const gguf_value *arr, uint64_t i, int64_t *out)
{
  gguf_value v;
  return arr_elem(arr, i, &v) && value_i64(&v, out);
}

bool gguf_arr_f32(const gguf_value *arr, uint64_t i, float *out)
{
  gguf_value v;
  if (!arr_elem(arr, i, &v)) return false;
  if (v.type == GGUF_TYPE_FLOAT32 || v.type == GGUF_TYPE_FLOAT64) *out = (float)v.v.f64;
  else if (is_signed(v.type)) *out = (float)v.v.i64;
  else if (is_unsigned(v.type)) *out = (float)v.v.u64;
  else return false;
  return true;
}

uint64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i)
{
  return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name)
{
  int64_t i = str_index_find(&f->tensor_index, f->tensors, sizeof(gguf_tensor), name);
  return i >= 0 ? &f->tensors[i] : NULL;
}

uint64_t gguf_tensor_bytes(const gguf_file *f) { return f->tensor_bytes; }

bool gguf_str_eq(gguf_str s, const char *cstr)
{
  return cstr && str_equal(s, cstr, strlen(cstr));
}

char *gguf_str_dup(gguf_str s)
{
  if (s.len >= SIZE_MAX) return NULL;
  char *p = malloc((size_t)s.len + 1);
  if (!p) return NULL;
  if (s.len) memcpy(p, s.ptr, (size_t)s.len);
  p[s.len] = 0;
  return p;
}

const char *gguf_type_name(gguf_type t)
{
  switch (t) {
  case GGUF_TYPE_UINT8: return "uint8";
  case GGUF_TYPE_INT8: return "int8";
  case GGUF_TYPE_UINT16: return "uint16";
  case GGUF_TYPE_INT16: return "int16";
  case GGUF_TYPE_UINT32: return "uint32";
  case GGUF_TYPE_INT32: return "int32";
  case GGUF_TYPE_FLOAT32: return "float32";
  case GGUF_TYPE_BOOL: return "bool";
  case GGUF_TYPE_STRING: return "string";
  case GGUF_TYPE_ARRAY: return "array";
  case GGUF_TYPE_UINT64: return "uint64";
  case GGUF_TYPE_INT64: return "int64";
  case GGUF_TYPE_FLOAT64: return "float64";
  default: return "unknown";
  }
}
