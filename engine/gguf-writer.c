/* gguf-writer.c — GGUF v3 (or v2) writer.
 *
 * Metadata is serialised into one byte buffer as it is added; tensors are
 * only described (name, type, shape, where the data comes from) until the
 * file is written, so multi-GB tensor data is streamed from the caller's
 * pointer or write callback and never buffered here.
 *
 * Adding functions return nothing: the first problem (a duplicate key, an
 * impossible tensor shape, out of memory) is remembered and reported by
 * gguf_writer_write_file / gguf_writer_write_header.
 */
#include "gguf.h"

#include "types.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  uint8_t *p;
  size_t len, cap;
  bool failed;
} bytes;

typedef struct {
  char *key;
  size_t start, end; /* serialised key + type + value within w->meta */
} wkv;

typedef struct {
  char *name;
  uint32_t type;
  uint32_t n_dims;
  int64_t ne[GGUF_MAX_DIMS];
  const void *data;
  gguf_tensor_write_fn fn;
  void *user;
  uint64_t size, offset;
} wtensor;

struct gguf_writer {
  uint32_t version;
  uint32_t alignment;
  bytes meta;
  wkv *kvs;
  size_t n_kv, cap_kv;
  wtensor *tensors;
  size_t n_tensors, cap_tensors;
  still_status failed; /* first error while adding, reported on write */
  char failed_msg[256];
};

static void fail(gguf_writer *w, still_status st, const char *fmt, const char *arg)
{
  if (w->failed != STILL_OK) return;
  w->failed = st;
  snprintf(w->failed_msg, sizeof w->failed_msg, fmt, arg);
}

static void put(bytes *b, const void *src, size_t n)
{
  if (b->failed) return;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) {
      if (cap > SIZE_MAX / 2) {
        b->failed = true;
        return;
      }
      cap *= 2;
    }
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->failed = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, src, n);
  b->len += n;
}

static void put_u32(bytes *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(bytes *b, uint64_t v) { put(b, &v, 8); }

static void put_str(bytes *b, const char *s, uint64_t len)
{
  put_u64(b, len);
  put(b, s, (size_t)len);
}

gguf_writer *gguf_writer_new(void)
{
  gguf_writer *w = calloc(1, sizeof *w);
  if (!w) return NULL;
  w->version = 3;
  w->alignment = GGUF_DEFAULT_ALIGNMENT;
  return w;
}

void gguf_writer_free(gguf_writer *w)
{
  if (!w) return;
  for (size_t i = 0; i < w->n_kv; i++) free(w->kvs[i].key);
  for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
  free(w->kvs);
  free(w->tensors);
  free(w->meta.p);
  free(w);
}

void gguf_writer_set_version(gguf_writer *w, uint32_t version)
{
  if (version != 2 && version != 3) {
    fail(w, STILL_ERR_INVALID_ARG, "the writer can write GGUF versions 2 and 3, not %s", version == 1 ? "1" : "other");
    return;
  }
  w->version = version;
}

static ssize_t find_kv(const gguf_writer *w, const char *key)
{
  for (size_t i = 0; i < w->n_kv; i++)
    if (strcmp(w->kvs[i].key, key) == 0) return (ssize_t)i;
  return -1;
}

/* Start a key/value: key string + type tag. Returns false (and remembers
 * the problem) when the key cannot be added. */
static bool begin_kv(gguf_writer *w, const char *key, gguf_type type)
{
  if (!key) {
    fail(w, STILL_ERR_INVALID_ARG, "a metadata key is NULL%s", "");
    return false;
  }
  if (find_kv(w, key) >= 0) {
    fail(w, STILL_ERR_INVALID_ARG, "the metadata key \"%s\" was added twice", key);
    return false;
  }
  if (w->n_kv == w->cap_kv) {
    size_t cap = w->cap_kv ? w->cap_kv * 2 : 32;
    wkv *k = realloc(w->kvs, cap * sizeof *k);
    if (!k) {
      fail(w, STILL_ERR_NOMEM, "out of memory while adding %s", key);
      return false;
    }
    w->kvs = k;
    w->cap_kv = cap;
  }
  char *dup = strdup(key);
  if (!dup) {
    fail(w, STILL_ERR_NOMEM, "out of memory while adding %s", key);
    return false;
  }
  wkv *kv = &w->kvs[w->n_kv++];
  kv->key = dup;
  kv->start = w->meta.len;
  put_str(&w->meta, key, strlen(key));
  put_u32(&w->meta, (uint32_t)type);
  return true;
}

static void end_kv(gguf_writer *w)
{
  w->kvs[w->n_kv - 1].end = w->meta.len;
  if (w->meta.failed) fail(w, STILL_ERR_NOMEM, "out of memory while adding metadata%s", "");
}

static void add_scalar(gguf_writer *w, const char *key, gguf_type type, const void *v, size_t n)
{
  if (!begin_kv(w, key, type)) return;
  put(&w->meta, v, n);
  end_kv(w);
}

void gguf_writer_add_u8(gguf_writer *w, const char *key, uint8_t v) { add_scalar(w, key, GGUF_TYPE_UINT8, &v, 1); }
void gguf_writer_add_i8(gguf_writer *w, const char *key, int8_t v) { add_scalar(w, key, GGUF_TYPE_INT8, &v, 1); }
void gguf_writer_add_u16(gguf_writer *w, const char *key, uint16_t v) { add_scalar(w, key, GGUF_TYPE_UINT16, &v, 2); }
void gguf_writer_add_i16(gguf_writer *w, const char *key, int16_t v) { add_scalar(w, key, GGUF_TYPE_INT16, &v, 2); }
void gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t v)
{
  /* general.alignment written directly also sets the alignment used. */
  if (key && strcmp(key, "general.alignment") == 0 && v != 0 && (v & (v - 1)) == 0 && find_kv(w, key) < 0)
    w->alignment = v;
  add_scalar(w, key, GGUF_TYPE_UINT32, &v, 4);
}
void gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t v) { add_scalar(w, key, GGUF_TYPE_INT32, &v, 4); }
void gguf_writer_add_u64(gguf_writer *w, const char *key, uint64_t v) { add_scalar(w, key, GGUF_TYPE_UINT64, &v, 8); }
void gguf_writer_add_i64(gguf_writer *w, const char *key, int64_t v) { add_scalar(w, key, GGUF_TYPE_INT64, &v, 8); }
void gguf_writer_add_f32(gguf_writer *w, const char *key, float v) { add_scalar(w, key, GGUF_TYPE_FLOAT32, &v, 4); }
void gguf_writer_add_f64(gguf_writer *w, const char *key, double v) { add_scalar(w, key, GGUF_TYPE_FLOAT64, &v, 8); }

void gguf_writer_add_bool(gguf_writer *w, const char *key, bool v)
{
  uint8_t b = v ? 1 : 0;
  add_scalar(w, key, GGUF_TYPE_BOOL, &b, 1);
}

void gguf_writer_add_str_n(gguf_writer *w, const char *key, const char *v, size_t len)
{
  if (!v && len) {
    fail(w, STILL_ERR_INVALID_ARG, "the string value of %s is NULL", key ? key : "a key");
    return;
  }
  if (!begin_kv(w, key, GGUF_TYPE_STRING)) return;
  put_str(&w->meta, v, len);
  end_kv(w);
}

void gguf_writer_add_str(gguf_writer *w, const char *key, const char *v)
{
  gguf_writer_add_str_n(w, key, v, v ? strlen(v) : 0);
}

static size_t elem_width(gguf_type t)
{
  switch (t) {
  case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
  case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
  case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
  case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
  default: return 0;
  }
}

void gguf_writer_add_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data, uint64_t n)
{
  size_t width = elem_width(elem_type);
  if (!width) {
    fail(w, STILL_ERR_INVALID_ARG, "gguf_writer_add_arr is for numeric arrays (key %s)", key ? key : "?");
    return;
  }
  if (n > SIZE_MAX / width || (!data && n)) {
    fail(w, STILL_ERR_INVALID_ARG, "impossible array for %s", key ? key : "?");
    return;
  }
  if (!begin_kv(w, key, GGUF_TYPE_ARRAY)) return;
  put_u32(&w->meta, (uint32_t)elem_type);
  put_u64(&w->meta, n);
  put(&w->meta, data, (size_t)n * width);
  end_kv(w);
}

void gguf_writer_add_str_arr(gguf_writer *w, const char *key, const char *const *strs, uint64_t n)
{
  if (!strs && n) {
    fail(w, STILL_ERR_INVALID_ARG, "impossible string array for %s", key ? key : "?");
    return;
  }
  if (!begin_kv(w, key, GGUF_TYPE_ARRAY)) return;
  put_u32(&w->meta, GGUF_TYPE_STRING);
  put_u64(&w->meta, n);
  for (uint64_t i = 0; i < n; i++) put_str(&w->meta, strs[i] ? strs[i] : "", strs[i] ? strlen(strs[i]) : 0);
  end_kv(w);
}

/* The body of an array value (elem type, count, elements), recursively. */
static bool put_array_body(bytes *b, const gguf_value *v, int depth)
{
  gguf_type et = v->v.arr.elem_type;
  uint64_t n = v->v.arr.n;
  if (depth > 64) return false;
  put_u32(b, (uint32_t)et);
  put_u64(b, n);
  size_t width = elem_width(et);
  if (width) {
    if (n > SIZE_MAX / width || (n && !v->v.arr.data)) return false;
    put(b, v->v.arr.data, (size_t)n * width);
  } else if (et == GGUF_TYPE_STRING) {
    if (n && !v->v.arr.strs) return false;
    for (uint64_t i = 0; i < n; i++) put_str(b, v->v.arr.strs[i].ptr, v->v.arr.strs[i].len);
  } else if (et == GGUF_TYPE_ARRAY) {
    if (n && !v->v.arr.elems) return false;
    for (uint64_t i = 0; i < n; i++)
      if (v->v.arr.elems[i].type != GGUF_TYPE_ARRAY || !put_array_body(b, &v->v.arr.elems[i], depth + 1))
        return false;
  } else {
    return false;
  }
  return true;
}

void gguf_writer_add_value(gguf_writer *w, const char *key, const gguf_value *v)
{
  if (!v) {
    fail(w, STILL_ERR_INVALID_ARG, "no value for %s", key ? key : "?");
    return;
  }
  switch (v->type) {
  case GGUF_TYPE_UINT8: gguf_writer_add_u8(w, key, (uint8_t)v->v.u64); return;
  case GGUF_TYPE_INT8: gguf_writer_add_i8(w, key, (int8_t)v->v.i64); return;
  case GGUF_TYPE_UINT16: gguf_writer_add_u16(w, key, (uint16_t)v->v.u64); return;
  case GGUF_TYPE_INT16: gguf_writer_add_i16(w, key, (int16_t)v->v.i64); return;
  case GGUF_TYPE_UINT32: gguf_writer_add_u32(w, key, (uint32_t)v->v.u64); return;
  case GGUF_TYPE_INT32: gguf_writer_add_i32(w, key, (int32_t)v->v.i64); return;
  case GGUF_TYPE_UINT64: gguf_writer_add_u64(w, key, v->v.u64); return;
  case GGUF_TYPE_INT64: gguf_writer_add_i64(w, key, v->v.i64); return;
  case GGUF_TYPE_FLOAT32: gguf_writer_add_f32(w, key, (float)v->v.f64); return;
  case GGUF_TYPE_FLOAT64: gguf_writer_add_f64(w, key, v->v.f64); return;
  case GGUF_TYPE_BOOL: gguf_writer_add_bool(w, key, v->v.u64 != 0); return;
  case GGUF_TYPE_STRING: gguf_writer_add_str_n(w, key, v->v.str.ptr, (size_t)v->v.str.len); return;
  case GGUF_TYPE_ARRAY:
    if (!begin_kv(w, key, GGUF_TYPE_ARRAY)) return;
    if (!put_array_body(&w->meta, v, 0)) {
      fail(w, STILL_ERR_INVALID_ARG, "the array value of %s is malformed", key);
      w->meta.len = w->kvs[w->n_kv - 1].start;
      free(w->kvs[--w->n_kv].key);
      return;
    }
    end_kv(w);
    return;
  default:
    fail(w, STILL_ERR_INVALID_ARG, "the value of %s has an unknown type", key ? key : "?");
  }
}

void gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment)
{
  if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
    fail(w, STILL_ERR_INVALID_ARG, "the alignment must be a power of two%s", "");
    return;
  }
  w->alignment = alignment;
  ssize_t i = find_kv(w, "general.alignment");
  if (i >= 0) {
    /* Already written by an earlier call: patch the u32 in place. */
    wkv *kv = &w->kvs[i];
    uint32_t type;
    memcpy(&type, w->meta.p + kv->end - 8, 4);
    if (type == GGUF_TYPE_UINT32) {
      memcpy(w->meta.p + kv->end - 4, &alignment, 4);
      return;
    }
  }
  gguf_writer_add_u32(w, "general.alignment", alignment);
}

static void add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                       const void *data, gguf_tensor_write_fn fn, void *user)
{
  if (!name) {
    fail(w, STILL_ERR_INVALID_ARG, "a tensor name is NULL%s", "");
    return;
  }
  for (size_t i = 0; i < w->n_tensors; i++) {
    if (strcmp(w->tensors[i].name, name) == 0) {
      fail(w, STILL_ERR_INVALID_ARG, "the tensor %s was added twice", name);
      return;
    }
  }
  const still_type_traits *tr = still_type_get(type);
  if (!tr) {
    fail(w, STILL_ERR_INVALID_ARG, "the tensor %s has an unknown type", name);
    return;
  }
  if (n_dims > GGUF_MAX_DIMS || (n_dims && !ne)) {
    fail(w, STILL_ERR_INVALID_ARG, "the tensor %s has too many dimensions", name);
    return;
  }
  wtensor t = {.type = type, .n_dims = n_dims, .data = data, .fn = fn, .user = user};
  uint64_t n = 1;
  for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) t.ne[d] = 1;
  for (uint32_t d = 0; d < n_dims; d++) {
    if (ne[d] <= 0 || !still_mul_u64(n, (uint64_t)ne[d], &n) || n > (uint64_t)INT64_MAX) {
      fail(w, STILL_ERR_INVALID_ARG, "the tensor %s has an impossible shape", name);
      return;
    }
    t.ne[d] = ne[d];
  }
  if ((uint64_t)t.ne[0] % (uint64_t)tr->block_size != 0 || !still_type_bytes(type, n, &t.size)) {
    fail(w, STILL_ERR_INVALID_ARG, "the rows of tensor %s are not a whole number of blocks of its type", name);
    return;
  }
  if (!data && !fn) {
    fail(w, STILL_ERR_INVALID_ARG, "the tensor %s has no data and no write function", name);
    return;
  }
  if (w->n_tensors == w->cap_tensors) {
    size_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
    wtensor *ts = realloc(w->tensors, cap * sizeof *ts);
    if (!ts) {
      fail(w, STILL_ERR_NOMEM, "out of memory while adding tensor %s", name);
      return;
    }
    w->tensors = ts;
    w->cap_tensors = cap;
  }
  t.name = strdup(name);
  if (!t.name) {
    fail(w, STILL_ERR_NOMEM, "out of memory while adding tensor %s", name);
    return;
  }
  w->tensors[w->n_tensors++] = t;
}

void gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                            const void *data)
{
  add_tensor(w, name, type, n_dims, ne, data, NULL, NULL);
}

void gguf_writer_add_tensor_fn(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                               gguf_tensor_write_fn fn, void *user)
{
  if (!fn) {
    fail(w, STILL_ERR_INVALID_ARG, "the tensor %s has no write function", name ? name : "?");
    return;
  }
  add_tensor(w, name, type, n_dims, ne, NULL, fn, user);
}

/* ---- writing --------------------------------------------------------------- */

static still_status io_error(const char *path, int e, still_error *err)
{
  if (e == ENOSPC || e == EDQUOT)
    return still_set_error(err, STILL_ERR_IO, "the disk is full while writing %s", path);
  return still_set_error(err, STILL_ERR_IO, "cannot write %s: %s", path, strerror(e ? e : EIO));
}

static bool write_all(FILE *fp, const void *p, size_t n)
{
  return n == 0 || fwrite(p, 1, n, fp) == n;
}

static bool write_zeros(FILE *fp, uint64_t n)
{
  static const uint8_t zeros[4096];
  while (n > 0) {
    size_t k = n > sizeof zeros ? sizeof zeros : (size_t)n;
    if (!write_all(fp, zeros, k)) return false;
    n -= k;
  }
  return true;
}

/* Header + tensor infos into one buffer; tensor offsets assigned. */
static bool build_header(gguf_writer *w, bytes *h)
{
  uint64_t off = 0;
  for (size_t i = 0; i < w->n_tensors; i++) {
    wtensor *t = &w->tensors[i];
    t->offset = off;
    uint64_t end = off + t->size;
    uint64_t pad = (w->alignment - end % w->alignment) % w->alignment;
    off = end + pad;
  }
  put(h, "GGUF", 4);
  put_u32(h, w->version);
  put_u64(h, w->n_tensors);
  put_u64(h, w->n_kv);
  put(h, w->meta.p, w->meta.len);
  for (size_t i = 0; i < w->n_tensors; i++) {
    const wtensor *t = &w->tensors[i];
    put_str(h, t->name, strlen(t->name));
    put_u32(h, t->n_dims);
    for (uint32_t d = 0; d < t->n_dims; d++) put_u64(h, (uint64_t)t->ne[d]);
    put_u32(h, t->type);
    put_u64(h, t->offset);
  }
  return !h->failed;
}

static still_status write_impl(gguf_writer *w, const char *path, bool header_only, still_error *err)
{
  if (!w || !path) return still_set_error(err, STILL_ERR_INVALID_ARG, "gguf writer: no writer or no path");
  if (w->failed != STILL_OK) return still_set_error(err, w->failed, "%s", w->failed_msg);
  bytes h = {0};
  if (!build_header(w, &h)) {
    free(h.p);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while writing %s", path);
  }
  FILE *fp = fopen(path, "wb");
  if (!fp) {
    int e = errno;
    free(h.p);
    if (e == ENOSPC || e == EDQUOT) return io_error(path, e, err);
    return still_set_error(err, STILL_ERR_IO, "cannot create %s: %s", path, strerror(e));
  }
  struct stat stb;
  bool regular = fstat(fileno(fp), &stb) == 0 && S_ISREG(stb.st_mode);
  setvbuf(fp, NULL, _IOFBF, 1 << 20);
  still_status st = STILL_OK;
  int e = 0;
  uint64_t total = h.len;

  if (!write_all(fp, h.p, h.len)) goto io_fail;
  if (!header_only) {
    uint64_t pad = (w->alignment - h.len % w->alignment) % w->alignment;
    uint64_t data_offset = h.len + pad;
    if (!write_zeros(fp, pad)) goto io_fail;
    total = data_offset;
    for (size_t i = 0; i < w->n_tensors; i++) {
      const wtensor *t = &w->tensors[i];
      uint64_t start = data_offset + t->offset;
      if (t->data) {
        /* fwrite in pieces: a size_t count may be narrower than the tensor */
        const uint8_t *p = t->data;
        for (uint64_t left = t->size; left > 0;) {
          size_t k = left > (1u << 30) ? (1u << 30) : (size_t)left;
          if (!write_all(fp, p, k)) goto io_fail;
          p += k;
          left -= k;
        }
      } else {
        still_error cb_err = {0};
        st = t->fn(t->user, t->name, fp, t->size, &cb_err);
        if (st != STILL_OK) {
          if (ferror(fp)) goto io_fail;
          still_set_error(err, st, "while writing tensor %s: %s", t->name,
                          cb_err.message[0] ? cb_err.message : still_status_name(st));
          goto fail;
        }
        if (ferror(fp)) goto io_fail;
        off_t at = ftello(fp);
        if (at < 0 || (uint64_t)at != start + t->size) {
          st = still_set_error(err, STILL_ERR_INVALID_ARG,
                               "the write function of tensor %s wrote %lld bytes instead of %llu", t->name,
                               at < 0 ? -1LL : (long long)((uint64_t)at - start), (unsigned long long)t->size);
          goto fail;
        }
      }
      uint64_t end = start + t->size;
      uint64_t tpad = (w->alignment - end % w->alignment) % w->alignment;
      if (!write_zeros(fp, tpad)) goto io_fail;
      total = end + tpad;
    }
  }
  if (fflush(fp) != 0) goto io_fail;
  /* A write callback may leave a hole at the end (sparse test files): give
   * the file its full length. */
  if (regular) {
    struct stat now;
    if (fstat(fileno(fp), &now) == 0 && (uint64_t)now.st_size < total && ftruncate(fileno(fp), (off_t)total) != 0)
      goto io_fail;
  }
  free(h.p);
  if (fclose(fp) != 0) {
    e = errno;
    if (regular) unlink(path);
    return io_error(path, e, err);
  }
  return STILL_OK;

io_fail:
  e = errno;
  st = io_error(path, e, err);
fail:
  free(h.p);
  fclose(fp);
  if (regular) unlink(path); /* no half-written model left behind */
  return st;
}

still_status gguf_writer_write_file(gguf_writer *w, const char *path, still_error *err)
{
  return write_impl(w, path, false, err);
}

still_status gguf_writer_write_header(gguf_writer *w, const char *path, still_error *err)
{
  return write_impl(w, path, true, err);
}

/* Header bytes (metadata + tensor infos, no padding, no data) into a malloc'd
 * buffer: what a Range request for the start of a file would return. */
still_status gguf_writer_write_header_mem(gguf_writer *w, void **out, size_t *len, still_error *err)
{
  if (!w || !out || !len) return still_set_error(err, STILL_ERR_INVALID_ARG, "gguf writer: no writer or no output");
  *out = NULL;
  *len = 0;
  if (w->failed != STILL_OK) return still_set_error(err, w->failed, "%s", w->failed_msg);
  bytes h = {0};
  if (!build_header(w, &h)) {
    free(h.p);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory while building a GGUF header");
  }
  *out = h.p;
  *len = h.len;
  return STILL_OK;
}
