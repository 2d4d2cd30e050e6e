/* gguf.h — GGUF v2/v3 reader (mmap'd file, split models, or a caller's
 * buffer holding only the first bytes of a file) and writer.
 *
 * Format: github.com/ggml-org/ggml/blob/master/docs/gguf.md. Little-endian.
 * All strings returned point into the mapped file or the caller's buffer and
 * are NOT NUL-terminated: use the length. The gguf_file owns the mapping.
 */
#ifndef STILL_GGUF_H
#define STILL_GGUF_H

#include "still.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" read as a little-endian u32 */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

typedef enum {
  GGUF_TYPE_UINT8 = 0,
  GGUF_TYPE_INT8 = 1,
  GGUF_TYPE_UINT16 = 2,
  GGUF_TYPE_INT16 = 3,
  GGUF_TYPE_UINT32 = 4,
  GGUF_TYPE_INT32 = 5,
  GGUF_TYPE_FLOAT32 = 6,
  GGUF_TYPE_BOOL = 7,
  GGUF_TYPE_STRING = 8,
  GGUF_TYPE_ARRAY = 9,
  GGUF_TYPE_UINT64 = 10,
  GGUF_TYPE_INT64 = 11,
  GGUF_TYPE_FLOAT64 = 12,
  GGUF_TYPE_COUNT
} gguf_type;

typedef struct {
  const char *ptr; /* not NUL-terminated */
  uint64_t len;
} gguf_str;

typedef struct gguf_value gguf_value;
struct gguf_value {
  gguf_type type;
  union {
    uint64_t u64; /* every unsigned integer type and bool, widened */
    int64_t i64;  /* every signed integer type, widened */
    double f64;   /* FLOAT32 and FLOAT64, widened */
    gguf_str str;
    struct {
      gguf_type elem_type;
      uint64_t n;
      /* Numeric arrays: pointer to the n raw little-endian elements in the file
       * (unaligned; read with memcpy or the gguf_arr_* helpers).
       * STRING arrays: strs[i] for i < n (allocated by the reader).
       * ARRAY arrays (nested): elems[i] for i < n (allocated by the reader). */
      const void *data;
      gguf_str *strs;
      gguf_value *elems;
    } arr;
  } v;
};

typedef struct {
  gguf_str key;
  gguf_value value;
} gguf_kv;

typedef struct {
  gguf_str name;
  uint32_t n_dims;
  int64_t ne[GGUF_MAX_DIMS]; /* unused dims are 1 */
  uint32_t type;             /* ggml type id (see types.h) */
  uint64_t offset;           /* from the start of the data section of its shard */
  uint64_t size;             /* bytes of data, computed from the type traits */
  int shard;                 /* 0 for single files; index of the split shard */
  const void *data;          /* NULL when only the header is present */
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Open and mmap a GGUF file (read-only, MAP_PRIVATE; tensor data is not
 * copied). Split models (NAME-00001-of-0000N.gguf, keys split.count /
 * split.no (0-based) / split.tensors.count) open as one model from any
 * shard's path: every part in the same folder is opened and checked, and
 * their tensors merged (gguf_tensor.shard says which part; metadata comes
 * from the first part). Errors, all with a message in plain words:
 *   STILL_ERR_IO           cannot open/map, or "part 2 of 3 is missing: NAME-00002-of-00003.gguf"
 *   STILL_ERR_FORMAT       not GGUF, corrupt header, bad tensor info, duplicate key/tensor
 *   STILL_ERR_TRUNCATED    "this file ends early: it ends at 1.2 GB of an expected 4.7 GB"
 *   STILL_ERR_UNSUPPORTED  GGUF v1, big-endian, newer version, unknown tensor type
 * Errors inside another part start with "part N of M (file name): ". */
still_status gguf_open(const char *path, gguf_file **out, still_error *err);
/* The part naming of split models: NAME-00001-of-00003.gguf → the length of NAME (with its
 * folder), the part (1-based) and the count. False when path is not named like a part. */
bool gguf_split_name_parse(const char *path, size_t *prefix_len, unsigned *part, unsigned *count);

/* Parse a buffer holding the first `len` bytes of a GGUF file whose total
 * size is `file_size` (0 if unknown). The buffer must stay alive as long as
 * the gguf_file. The buffer may end right after the tensor infos (no padding,
 * no data).
 *
 * When the header and tensor infos do not fit in the buffer: returns
 * STILL_ERR_TRUNCATED with *need_bytes set to an estimate of the total length
 * needed (always > len): the end of the string/array being read when its
 * length is known (extrapolated from the elements read so far for string
 * arrays and tensor infos), else twice len. Fetch that many and call again.
 * *need_bytes is 0 (and the status STILL_ERR_TRUNCATED, message "this file
 * ends early …") when file_size is known and the header does not fit in the
 * whole file: more bytes will not help.
 *
 * A tensor's data pointer is set when all its bytes are in the buffer, else
 * NULL. When file_size is known, tensors must lie inside it (an error
 * otherwise, as for gguf_open). */
still_status gguf_parse_buffer(const void *buf, size_t len, uint64_t file_size, gguf_file **out,
                               size_t *need_bytes, still_error *err);

void gguf_close(gguf_file *f);

uint32_t gguf_version(const gguf_file *f);
uint64_t gguf_alignment(const gguf_file *f);
uint64_t gguf_data_offset(const gguf_file *f); /* of the first shard */
uint64_t gguf_file_size(const gguf_file *f);   /* all shards together */
int gguf_n_shards(const gguf_file *f);
/* Bytes of header (everything before tensor data), summed over shards. */
uint64_t gguf_header_bytes(const gguf_file *f);
/* Size the file(s) must have: data offset + end of the last tensor (header
 * end when there are no tensors), summed over shards. gguf_file_size returns
 * this too for a buffer parsed with file_size 0. */
uint64_t gguf_expected_size(const gguf_file *f);

/* Metadata (of the first shard). */
uint64_t gguf_n_kv(const gguf_file *f);
const gguf_kv *gguf_kv_at(const gguf_file *f, uint64_t i);
const gguf_value *gguf_find(const gguf_file *f, const char *key);

/* Typed getters: return false when absent or not convertible
 * (any integer type converts to any other when the value fits; f32 accepts
 * floats and integers; bool only BOOL; str only STRING). */
bool gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
bool gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
bool gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
bool gguf_get_i32(const gguf_file *f, const char *key, int32_t *out);
bool gguf_get_f32(const gguf_file *f, const char *key, float *out);
bool gguf_get_bool(const gguf_file *f, const char *key, bool *out);
bool gguf_get_str(const gguf_file *f, const char *key, gguf_str *out);
/* An array value: NULL when absent, not an array, or its elements are not of
 * elem_type (pass GGUF_TYPE_COUNT to accept any element type). */
const gguf_value *gguf_get_arr(const gguf_file *f, const char *key, gguf_type elem_type);

/* Read element i of a numeric array value (widened), false if out of range. */
bool gguf_arr_u64(const gguf_value *arr, uint64_t i, uint64_t *out);
bool gguf_arr_i64(const gguf_value *arr, uint64_t i, int64_t *out);
bool gguf_arr_f32(const gguf_value *arr, uint64_t i, float *out);

/* Tensors (of every shard, in file order). */
uint64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, uint64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name);
/* Sum of all tensor data sizes. */
uint64_t gguf_tensor_bytes(const gguf_file *f);

bool gguf_str_eq(gguf_str s, const char *cstr);
/* Copy to a NUL-terminated malloc'd string (caller frees). */
char *gguf_str_dup(gguf_str s);

const char *gguf_type_name(gguf_type t);

/* ---- writer ---------------------------------------------------------------
 * Build metadata and tensor list in memory, then write header + aligned data.
 * Tensor data is supplied by pointer (not copied) or by a callback that
 * writes rows on demand (for multi-GB random models). */
typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);
void gguf_writer_set_version(gguf_writer *w, uint32_t version); /* default 3 */
void gguf_writer_set_alignment(gguf_writer *w, uint32_t alignment); /* also writes general.alignment */

void gguf_writer_add_u8(gguf_writer *w, const char *key, uint8_t v);
void gguf_writer_add_i8(gguf_writer *w, const char *key, int8_t v);
void gguf_writer_add_u16(gguf_writer *w, const char *key, uint16_t v);
void gguf_writer_add_i16(gguf_writer *w, const char *key, int16_t v);
void gguf_writer_add_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_writer_add_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_writer_add_u64(gguf_writer *w, const char *key, uint64_t v);
void gguf_writer_add_i64(gguf_writer *w, const char *key, int64_t v);
void gguf_writer_add_f32(gguf_writer *w, const char *key, float v);
void gguf_writer_add_f64(gguf_writer *w, const char *key, double v);
void gguf_writer_add_bool(gguf_writer *w, const char *key, bool v);
void gguf_writer_add_str(gguf_writer *w, const char *key, const char *v);
void gguf_writer_add_str_n(gguf_writer *w, const char *key, const char *v, size_t len);
/* Numeric array: n elements of elem_type, raw little-endian in data (copied). */
void gguf_writer_add_arr(gguf_writer *w, const char *key, gguf_type elem_type, const void *data, uint64_t n);
void gguf_writer_add_str_arr(gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* Copy a value (any type, nested arrays included) read from another file. */
void gguf_writer_add_value(gguf_writer *w, const char *key, const gguf_value *v);

typedef still_status (*gguf_tensor_write_fn)(void *user, const char *name, FILE *out, uint64_t size,
                                             still_error *err);
/* ne[0..n_dims-1]; data (not copied, may be NULL when write_fn is given). */
void gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                            const void *data);
void gguf_writer_add_tensor_fn(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims, const int64_t *ne,
                               gguf_tensor_write_fn fn, void *user);

still_status gguf_writer_write_file(gguf_writer *w, const char *path, still_error *err);
/* Header only (metadata + tensor infos, no padding, no data): for tests of header-bytes parsing. */
still_status gguf_writer_write_header(gguf_writer *w, const char *path, still_error *err);
/* The same header bytes into a malloc'd buffer (*out, *len; caller frees). */
still_status gguf_writer_write_header_mem(gguf_writer *w, void **out, size_t *len, still_error *err);

#endif /* STILL_GGUF_H */
