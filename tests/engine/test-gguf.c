/* test-gguf.c — GGUF reader and writer.
 *
 * Fixtures: every model and vocab file is read and compared with
 * models/manifest.json and the facts in fixtures/README.md. The writer is
 * checked by round trips; bad input is built byte by byte.
 */
#include "test-common.h"

#include "gguf.h"
#include "types.h"
#include "util.h"

#include <cJSON.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------- */

static char *make_tmp_dir(void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp("still-gguf-XXXXXX", &error);
  g_assert_no_error(error);
  return dir;
}

static void remove_tmp_dir(char *dir)
{
  GDir *d = g_dir_open(dir, 0, NULL);
  if (d) {
    const char *name;
    while ((name = g_dir_read_name(d))) {
      char *p = g_build_filename(dir, name, NULL);
      g_unlink(p);
      g_free(p);
    }
    g_dir_close(d);
  }
  g_rmdir(dir);
  g_free(dir);
}

static void assert_contains(const char *msg, const char *word)
{
  if (!strstr(msg, word)) g_error("message \"%s\" does not contain \"%s\"", msg, word);
}

static gboolean str_is(gguf_str s, const char *c) { return gguf_str_eq(s, c); }

/* A raw GGUF builder for hand-made (often broken) files. */
static void b_u32(GByteArray *b, uint32_t v) { g_byte_array_append(b, (const guint8 *)&v, 4); }
static void b_u64(GByteArray *b, uint64_t v) { g_byte_array_append(b, (const guint8 *)&v, 8); }
static void b_strn(GByteArray *b, const char *s, size_t n)
{
  b_u64(b, n);
  g_byte_array_append(b, (const guint8 *)s, (guint)n);
}
static void b_str(GByteArray *b, const char *s) { b_strn(b, s, strlen(s)); }

static GByteArray *b_header(uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
  GByteArray *b = g_byte_array_new();
  g_byte_array_append(b, (const guint8 *)"GGUF", 4);
  b_u32(b, version);
  b_u64(b, n_tensors);
  b_u64(b, n_kv);
  return b;
}

static void b_kv_u32(GByteArray *b, const char *key, uint32_t v)
{
  b_str(b, key);
  b_u32(b, GGUF_TYPE_UINT32);
  b_u32(b, v);
}

static void b_kv_str(GByteArray *b, const char *key, const char *v)
{
  b_str(b, key);
  b_u32(b, GGUF_TYPE_STRING);
  b_str(b, v);
}

static void b_tensor(GByteArray *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                     uint64_t offset)
{
  b_str(b, name);
  b_u32(b, n_dims);
  for (uint32_t i = 0; i < n_dims; i++) b_u64(b, ne[i]);
  b_u32(b, type);
  b_u64(b, offset);
}

static void b_data(GByteArray *b, uint32_t alignment, size_t n)
{
  while (b->len % alignment) g_byte_array_append(b, (const guint8 *)"", 1);
  for (size_t i = 0; i < n; i++) {
    guint8 x = (guint8)(i * 7);
    g_byte_array_append(b, &x, 1);
  }
}

/* The standard small file: one kv, one F32 tensor [64, 2], 512 bytes of data. */
static GByteArray *b_good(void)
{
  GByteArray *b = b_header(3, 1, 1);
  b_kv_str(b, "general.architecture", "llama");
  uint64_t ne[] = {64, 2};
  b_tensor(b, "blk.0.attn_q.weight", 2, ne, STILL_TYPE_F32, 0);
  b_data(b, 32, 512);
  return b;
}

static char *write_tmp(const char *dir, const char *name, const void *data, size_t len)
{
  char *p = g_build_filename(dir, name, NULL);
  GError *error = NULL;
  g_file_set_contents(p, data, (gssize)len, &error);
  g_assert_no_error(error);
  return p;
}

/* Both ways in (a caller's buffer with a known size, and a file) must give
 * the same status and a message with every word. */
static void expect_bad(GByteArray *b, still_status want, const char *const *words)
{
  still_error err = {0};
  gguf_file *f = NULL;
  size_t need = 123;
  still_status st = gguf_parse_buffer(b->data, b->len, b->len, &f, &need, &err);
  g_assert_null(f);
  g_assert_cmpstr(still_status_name(st), ==, still_status_name(want));
  g_assert_cmpuint(strlen(err.message), >, 0);
  for (int i = 0; words[i]; i++) assert_contains(err.message, words[i]);
  if (st == STILL_ERR_TRUNCATED) g_assert_cmpuint(need, ==, 0);

  char *dir = make_tmp_dir();
  char *path = write_tmp(dir, "bad.gguf", b->data, b->len);
  memset(&err, 0, sizeof err);
  st = gguf_open(path, &f, &err);
  g_assert_null(f);
  g_assert_cmpstr(still_status_name(st), ==, still_status_name(want));
  for (int i = 0; words[i]; i++) assert_contains(err.message, words[i]);
  g_free(path);
  remove_tmp_dir(dir);
}

#define WORDS(...) ((const char *const[]){__VA_ARGS__, NULL})

static gguf_file *open_ok(const char *path)
{
  still_error err = {0};
  gguf_file *f = NULL;
  still_status st = gguf_open(path, &f, &err);
  if (st != STILL_OK) g_error("gguf_open(%s): %s", path, err.message);
  g_assert_nonnull(f);
  return f;
}

/* ---- fixtures ------------------------------------------------------------ */

static void check_against_manifest(const char *path, const cJSON *m)
{
  gguf_file *f = open_ok(path);
  const cJSON *bytes = cJSON_GetObjectItemCaseSensitive(m, "bytes");
  g_assert_true(cJSON_IsNumber(bytes));
  g_assert_cmpuint(gguf_file_size(f), ==, (uint64_t)bytes->valuedouble);
  g_assert_cmpuint(gguf_expected_size(f), <=, gguf_file_size(f));
  g_assert_cmpint(gguf_n_shards(f), ==, 1);
  g_assert_true(gguf_version(f) == 2 || gguf_version(f) == 3);
  g_assert_cmpuint(gguf_data_offset(f) % gguf_alignment(f), ==, 0);
  g_assert_cmpuint(gguf_header_bytes(f), ==, gguf_data_offset(f));

  gguf_str arch;
  const cJSON *jarch = cJSON_GetObjectItemCaseSensitive(m, "architecture");
  g_assert_true(gguf_get_str(f, "general.architecture", &arch));
  g_assert_true(str_is(arch, jarch->valuestring));

  const cJSON *ft = cJSON_GetObjectItemCaseSensitive(m, "general.file_type");
  uint32_t file_type;
  if (cJSON_IsNull(ft)) {
    g_assert_false(gguf_get_u32(f, "general.file_type", &file_type));
  } else {
    g_assert_true(gguf_get_u32(f, "general.file_type", &file_type));
    g_assert_cmpuint(file_type, ==, (uint32_t)ft->valuedouble);
  }

  const cJSON *tensors = cJSON_GetObjectItemCaseSensitive(m, "tensors");
  g_assert_cmpuint(gguf_n_tensors(f), ==, (uint64_t)cJSON_GetArraySize(tensors));
  uint64_t sum = 0;
  const cJSON *jt;
  cJSON_ArrayForEach(jt, tensors)
  {
    const gguf_tensor *t = gguf_find_tensor(f, jt->string);
    if (!t) g_error("%s: tensor %s not found", path, jt->string);
    g_assert_true(str_is(t->name, jt->string));
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(jt, "type");
    g_assert_cmpstr(still_type_name(t->type), ==, type->valuestring);
    const cJSON *ne = cJSON_GetObjectItemCaseSensitive(jt, "ne");
    g_assert_cmpuint(t->n_dims, ==, (uint32_t)cJSON_GetArraySize(ne));
    for (int d = 0; d < GGUF_MAX_DIMS; d++) {
      int64_t want = d < cJSON_GetArraySize(ne) ? (int64_t)cJSON_GetArrayItem(ne, d)->valuedouble : 1;
      g_assert_cmpint(t->ne[d], ==, want);
    }
    uint64_t n = (uint64_t)t->ne[0] * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3], size;
    g_assert_true(still_type_bytes(t->type, n, &size));
    g_assert_cmpuint(t->size, ==, size);
    g_assert_nonnull(t->data);
    g_assert_cmpint(t->shard, ==, 0);
    g_assert_cmpuint(t->offset % gguf_alignment(f), ==, 0);
    sum += t->size;
  }
  g_assert_cmpuint(gguf_tensor_bytes(f), ==, sum);
  /* file order, and every tensor lies after the header */
  for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
    const gguf_tensor *t = gguf_tensor_at(f, i);
    char *name = gguf_str_dup(t->name);
    g_assert_true(gguf_find_tensor(f, name) == t);
    g_free(name);
    g_assert_cmpuint(gguf_data_offset(f) + t->offset + t->size, <=, gguf_file_size(f));
  }
  g_assert_null(gguf_tensor_at(f, gguf_n_tensors(f)));
  g_assert_null(gguf_find_tensor(f, "no.such.tensor"));

  /* The same bytes through the buffer parser give the same tensors. */
  gsize len;
  char *data = test_read_file(path, &len);
  gguf_file *g = NULL;
  still_error err = {0};
  size_t need;
  g_assert_cmpint(gguf_parse_buffer(data, len, len, &g, &need, &err), ==, STILL_OK);
  g_assert_cmpuint(gguf_n_tensors(g), ==, gguf_n_tensors(f));
  g_assert_cmpuint(gguf_n_kv(g), ==, gguf_n_kv(f));
  for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
    const gguf_tensor *a = gguf_tensor_at(f, i), *b = gguf_tensor_at(g, i);
    g_assert_cmpuint(a->offset, ==, b->offset);
    g_assert_true((const char *)b->data - data == (ptrdiff_t)(gguf_data_offset(g) + b->offset));
    g_assert_cmpint(memcmp(a->data, b->data, (size_t)a->size), ==, 0);
  }
  gguf_close(g);
  g_free(data);
  gguf_close(f);
}

static void test_fixture_models(void)
{
  char *manifest_path = test_fixture_path("models/manifest.json");
  if (!manifest_path) return;
  gsize len;
  char *text = test_read_file(manifest_path, &len);
  cJSON *manifest = cJSON_ParseWithLength(text, len);
  g_assert_nonnull(manifest);

  char *dir = g_path_get_dirname(manifest_path);
  GDir *d = g_dir_open(dir, 0, NULL);
  g_assert_nonnull(d);
  int n_files = 0;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (!g_str_has_suffix(name, ".gguf")) continue;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(manifest, name);
    if (!m) g_error("%s is not in manifest.json", name);
    char *p = g_build_filename(dir, name, NULL);
    check_against_manifest(p, m);
    g_free(p);
    n_files++;
  }
  g_dir_close(d);
  g_assert_cmpint(n_files, ==, cJSON_GetArraySize(manifest));
  g_assert_cmpint(n_files, >=, 17);
  cJSON_Delete(manifest);
  g_free(text);
  g_free(dir);
  g_free(manifest_path);
}

/* stories260K: hyper-parameters listed in fixtures/README.md */
static void test_fixture_stories(void)
{
  char *path = test_fixture_path("models/stories260K.gguf");
  if (!path) return;
  gguf_file *f = open_ok(path);
  uint32_t u;
  float x;
  g_assert_true(gguf_get_u32(f, "llama.embedding_length", &u));
  g_assert_cmpuint(u, ==, 64);
  g_assert_true(gguf_get_u32(f, "llama.block_count", &u));
  g_assert_cmpuint(u, ==, 5);
  g_assert_true(gguf_get_u32(f, "llama.attention.head_count", &u));
  g_assert_cmpuint(u, ==, 8);
  g_assert_true(gguf_get_u32(f, "llama.attention.head_count_kv", &u));
  g_assert_cmpuint(u, ==, 4);
  g_assert_true(gguf_get_u32(f, "llama.feed_forward_length", &u));
  g_assert_cmpuint(u, ==, 172);
  g_assert_true(gguf_get_u32(f, "llama.context_length", &u));
  g_assert_cmpuint(u, ==, 2048);
  g_assert_true(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &x));
  g_assert_cmpfloat_with_epsilon(x, 1e-5, 1e-9);
  g_assert_true(gguf_get_u32(f, "tokenizer.ggml.bos_token_id", &u));
  g_assert_cmpuint(u, ==, 1);
  g_assert_true(gguf_get_u32(f, "tokenizer.ggml.eos_token_id", &u));
  g_assert_cmpuint(u, ==, 2);
  const gguf_value *tokens = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
  g_assert_nonnull(tokens);
  g_assert_cmpuint(tokens->v.arr.n, ==, 512);
  g_assert_true(str_is(tokens->v.arr.strs[1], "<s>"));
  g_assert_true(str_is(tokens->v.arr.strs[2], "</s>"));
  const gguf_value *scores = gguf_get_arr(f, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32);
  g_assert_nonnull(scores);
  g_assert_cmpuint(scores->v.arr.n, ==, 512);
  float s0;
  g_assert_true(gguf_arr_f32(scores, 0, &s0));
  g_assert_false(gguf_arr_f32(scores, 512, &s0));
  g_assert_null(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_INT32));
  g_assert_nonnull(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_COUNT));
  gguf_close(f);
  g_free(path);
}

static void test_fixture_vocab(void)
{
  static const struct {
    const char *file;
    uint64_t n_tokens, n_merges;
    const char *model, *tok0;
  } cases[] = {
    {"vocab/ggml-vocab-llama-spm.gguf", 32000, 0, "llama", "<unk>"},
    {"vocab/ggml-vocab-qwen2.gguf", 151936, 151387, "gpt2", "!"},
    {"vocab/ggml-vocab-llama-bpe.gguf", 128256, 280147, "gpt2", "!"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    char *path = test_fixture_path(cases[i].file);
    if (!path) return;
    gguf_file *f = open_ok(path);
    g_assert_cmpuint(gguf_n_tensors(f), ==, 0);
    g_assert_cmpuint(gguf_tensor_bytes(f), ==, 0);
    gguf_str model;
    g_assert_true(gguf_get_str(f, "tokenizer.ggml.model", &model));
    g_assert_true(str_is(model, cases[i].model));
    const gguf_value *tokens = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
    g_assert_nonnull(tokens);
    g_assert_cmpuint(tokens->v.arr.n, ==, cases[i].n_tokens);
    g_assert_true(str_is(tokens->v.arr.strs[0], cases[i].tok0));
    for (uint64_t k = 0; k < tokens->v.arr.n; k++) g_assert_true(tokens->v.arr.strs[k].ptr != NULL);
    const gguf_value *merges = gguf_get_arr(f, "tokenizer.ggml.merges", GGUF_TYPE_STRING);
    if (cases[i].n_merges) {
      g_assert_nonnull(merges);
      g_assert_cmpuint(merges->v.arr.n, ==, cases[i].n_merges);
      /* every merge is "left right" */
      for (uint64_t k = 0; k < merges->v.arr.n; k++)
        g_assert_nonnull(memchr(merges->v.arr.strs[k].ptr, ' ', (size_t)merges->v.arr.strs[k].len));
    } else {
      g_assert_null(merges);
    }
    const gguf_value *types = gguf_get_arr(f, "tokenizer.ggml.token_type", GGUF_TYPE_INT32);
    g_assert_nonnull(types);
    g_assert_cmpuint(types->v.arr.n, ==, cases[i].n_tokens);
    /* kv_at walks the same entries find() indexes */
    for (uint64_t k = 0; k < gguf_n_kv(f); k++) {
      const gguf_kv *kv = gguf_kv_at(f, k);
      char *key = gguf_str_dup(kv->key);
      g_assert_true(gguf_find(f, key) == &kv->value);
      g_free(key);
    }
    g_assert_null(gguf_kv_at(f, gguf_n_kv(f)));
    gguf_close(f);
    g_free(path);
  }
}

/* ---- writer round trips ---------------------------------------------------- */

static void assert_values_equal(const gguf_value *a, const gguf_value *b)
{
  g_assert_cmpint(a->type, ==, b->type);
  switch (a->type) {
  case GGUF_TYPE_STRING:
    g_assert_cmpuint(a->v.str.len, ==, b->v.str.len);
    g_assert_cmpint(memcmp(a->v.str.ptr, b->v.str.ptr, (size_t)a->v.str.len), ==, 0);
    break;
  case GGUF_TYPE_FLOAT32:
  case GGUF_TYPE_FLOAT64:
    g_assert_true(a->v.f64 == b->v.f64);
    break;
  case GGUF_TYPE_ARRAY: {
    g_assert_cmpint(a->v.arr.elem_type, ==, b->v.arr.elem_type);
    g_assert_cmpuint(a->v.arr.n, ==, b->v.arr.n);
    uint64_t n = a->v.arr.n;
    if (a->v.arr.elem_type == GGUF_TYPE_STRING) {
      for (uint64_t i = 0; i < n; i++) {
        g_assert_cmpuint(a->v.arr.strs[i].len, ==, b->v.arr.strs[i].len);
        g_assert_cmpint(memcmp(a->v.arr.strs[i].ptr, b->v.arr.strs[i].ptr, (size_t)a->v.arr.strs[i].len), ==, 0);
      }
    } else if (a->v.arr.elem_type == GGUF_TYPE_ARRAY) {
      for (uint64_t i = 0; i < n; i++) assert_values_equal(&a->v.arr.elems[i], &b->v.arr.elems[i]);
    } else {
      uint64_t x, y;
      for (uint64_t i = 0; i < n; i++) {
        if (gguf_arr_u64(a, i, &x)) {
          g_assert_true(gguf_arr_u64(b, i, &y));
          g_assert_cmpuint(x, ==, y);
        }
      }
    }
    break;
  }
  default:
    g_assert_cmpuint(a->v.u64, ==, b->v.u64);
  }
}

static void add_every_value(gguf_writer *w)
{
  gguf_writer_add_str(w, "general.architecture", "llama");
  gguf_writer_add_u8(w, "t.u8", 200);
  gguf_writer_add_i8(w, "t.i8", -100);
  gguf_writer_add_u16(w, "t.u16", 65000);
  gguf_writer_add_i16(w, "t.i16", -32000);
  gguf_writer_add_u32(w, "t.u32", 4000000000u);
  gguf_writer_add_i32(w, "t.i32", -2000000000);
  gguf_writer_add_u64(w, "t.u64", UINT64_MAX);
  gguf_writer_add_i64(w, "t.i64", INT64_MIN);
  gguf_writer_add_f32(w, "t.f32", 0.15625f);
  gguf_writer_add_f64(w, "t.f64", -1.0e300);
  gguf_writer_add_bool(w, "t.true", true);
  gguf_writer_add_bool(w, "t.false", false);
  gguf_writer_add_str(w, "t.str", "héllo ｜ <think>");
  gguf_writer_add_str_n(w, "t.str_nul", "a\0b", 3);
  gguf_writer_add_str(w, "t.empty", "");
  gguf_writer_add_str(w, "ключ.ünïcode", "key in UTF-8");

  uint8_t u8s[] = {0, 1, 255};
  int8_t i8s[] = {-128, 0, 127};
  uint16_t u16s[] = {0, 65535};
  int16_t i16s[] = {-32768, 32767};
  uint32_t u32s[] = {0, 1, 4294967295u};
  int32_t i32s[] = {-1, 0, 2147483647};
  float f32s[] = {-1.5f, 0.0f, 3.25f};
  uint8_t bools[] = {1, 0, 1, 1};
  uint64_t u64s[] = {0, UINT64_MAX};
  int64_t i64s[] = {INT64_MIN, INT64_MAX};
  double f64s[] = {1e-300, -2.5};
  gguf_writer_add_arr(w, "a.u8", GGUF_TYPE_UINT8, u8s, 3);
  gguf_writer_add_arr(w, "a.i8", GGUF_TYPE_INT8, i8s, 3);
  gguf_writer_add_arr(w, "a.u16", GGUF_TYPE_UINT16, u16s, 2);
  gguf_writer_add_arr(w, "a.i16", GGUF_TYPE_INT16, i16s, 2);
  gguf_writer_add_arr(w, "a.u32", GGUF_TYPE_UINT32, u32s, 3);
  gguf_writer_add_arr(w, "a.i32", GGUF_TYPE_INT32, i32s, 3);
  gguf_writer_add_arr(w, "a.f32", GGUF_TYPE_FLOAT32, f32s, 3);
  gguf_writer_add_arr(w, "a.bool", GGUF_TYPE_BOOL, bools, 4);
  gguf_writer_add_arr(w, "a.u64", GGUF_TYPE_UINT64, u64s, 2);
  gguf_writer_add_arr(w, "a.i64", GGUF_TYPE_INT64, i64s, 2);
  gguf_writer_add_arr(w, "a.f64", GGUF_TYPE_FLOAT64, f64s, 2);
  gguf_writer_add_arr(w, "a.empty", GGUF_TYPE_INT32, NULL, 0);
  const char *strs[] = {"Ġthe", "", "<｜Assistant｜>", "a b"};
  gguf_writer_add_str_arr(w, "a.str", strs, 4);

  /* nested: [[1,2,3],[]], [["x","yz"]], [[[7]],[[8,9]]] */
  int32_t one_two_three[] = {1, 2, 3};
  gguf_value inner_i32[2] = {
    {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_INT32, .n = 3, .data = one_two_three}},
    {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_INT32, .n = 0}},
  };
  gguf_value nested_i32 = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_ARRAY, .n = 2, .elems = inner_i32}};
  gguf_writer_add_value(w, "n.i32", &nested_i32);
  gguf_str xs[] = {{"x", 1}, {"yz", 2}};
  gguf_value inner_str = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_STRING, .n = 2, .strs = xs}};
  gguf_value nested_str = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_ARRAY, .n = 1, .elems = &inner_str}};
  gguf_writer_add_value(w, "n.str", &nested_str);
  uint16_t seven = 7, eight_nine[] = {8, 9};
  gguf_value l3a = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_UINT16, .n = 1, .data = &seven}};
  gguf_value l3b = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_UINT16, .n = 2, .data = eight_nine}};
  gguf_value l2[2] = {
    {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_ARRAY, .n = 1, .elems = &l3a}},
    {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_ARRAY, .n = 1, .elems = &l3b}},
  };
  gguf_value l1 = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_ARRAY, .n = 2, .elems = l2}};
  gguf_writer_add_value(w, "n.deep", &l1);
}

static void check_every_value(gguf_file *f)
{
  uint64_t u;
  int64_t i;
  uint32_t u32;
  int32_t i32;
  float x;
  bool b;
  gguf_str s;
  g_assert_true(gguf_get_u64(f, "t.u8", &u) && u == 200);
  g_assert_true(gguf_get_i64(f, "t.i8", &i) && i == -100);
  g_assert_false(gguf_get_u64(f, "t.i8", &u));
  g_assert_true(gguf_get_u32(f, "t.u16", &u32) && u32 == 65000);
  g_assert_true(gguf_get_i32(f, "t.i16", &i32) && i32 == -32000);
  g_assert_true(gguf_get_u32(f, "t.u32", &u32) && u32 == 4000000000u);
  g_assert_false(gguf_get_i32(f, "t.u32", &i32));
  g_assert_true(gguf_get_i64(f, "t.u32", &i) && i == 4000000000ll);
  g_assert_true(gguf_get_i32(f, "t.i32", &i32) && i32 == -2000000000);
  g_assert_true(gguf_get_u64(f, "t.u64", &u) && u == UINT64_MAX);
  g_assert_false(gguf_get_i64(f, "t.u64", &i));
  g_assert_false(gguf_get_u32(f, "t.u64", &u32));
  g_assert_true(gguf_get_i64(f, "t.i64", &i) && i == INT64_MIN);
  g_assert_true(gguf_get_f32(f, "t.f32", &x) && x == 0.15625f);
  g_assert_true(gguf_find(f, "t.f32")->type == GGUF_TYPE_FLOAT32);
  g_assert_true(gguf_find(f, "t.f64")->v.f64 == -1.0e300);
  g_assert_true(gguf_get_f32(f, "t.u8", &x) && x == 200.0f);
  g_assert_true(gguf_get_bool(f, "t.true", &b) && b);
  g_assert_true(gguf_get_bool(f, "t.false", &b) && !b);
  g_assert_false(gguf_get_bool(f, "t.u8", &b));
  g_assert_false(gguf_get_u64(f, "t.true", &u));
  g_assert_true(gguf_get_str(f, "t.str", &s) && str_is(s, "héllo ｜ <think>"));
  g_assert_true(gguf_get_str(f, "t.str_nul", &s) && s.len == 3 && memcmp(s.ptr, "a\0b", 3) == 0);
  g_assert_true(gguf_get_str(f, "t.empty", &s) && s.len == 0);
  g_assert_true(gguf_get_str(f, "ключ.ünïcode", &s));
  g_assert_false(gguf_get_str(f, "t.u8", &s));
  g_assert_false(gguf_get_u64(f, "t.str", &u));
  g_assert_null(gguf_find(f, "t.missing"));
  g_assert_false(gguf_get_u64(f, "t.missing", &u));

  const gguf_value *a = gguf_get_arr(f, "a.i8", GGUF_TYPE_INT8);
  g_assert_true(gguf_arr_i64(a, 0, &i) && i == -128);
  g_assert_false(gguf_arr_u64(a, 0, &u));
  g_assert_true(gguf_arr_u64(a, 2, &u) && u == 127);
  g_assert_false(gguf_arr_i64(a, 3, &i));
  a = gguf_get_arr(f, "a.u8", GGUF_TYPE_UINT8);
  g_assert_true(gguf_arr_u64(a, 2, &u) && u == 255);
  a = gguf_get_arr(f, "a.u16", GGUF_TYPE_UINT16);
  g_assert_true(gguf_arr_u64(a, 1, &u) && u == 65535);
  a = gguf_get_arr(f, "a.i16", GGUF_TYPE_INT16);
  g_assert_true(gguf_arr_i64(a, 0, &i) && i == -32768);
  a = gguf_get_arr(f, "a.u32", GGUF_TYPE_UINT32);
  g_assert_true(gguf_arr_u64(a, 2, &u) && u == 4294967295u);
  a = gguf_get_arr(f, "a.i32", GGUF_TYPE_INT32);
  g_assert_true(gguf_arr_i64(a, 0, &i) && i == -1);
  g_assert_true(gguf_arr_f32(a, 2, &x) && x == 2147483647.0f);
  a = gguf_get_arr(f, "a.f32", GGUF_TYPE_FLOAT32);
  g_assert_true(gguf_arr_f32(a, 0, &x) && x == -1.5f);
  g_assert_true(gguf_arr_f32(a, 2, &x) && x == 3.25f);
  g_assert_false(gguf_arr_u64(a, 0, &u));
  a = gguf_get_arr(f, "a.bool", GGUF_TYPE_BOOL);
  g_assert_cmpuint(a->v.arr.n, ==, 4);
  g_assert_cmpint(((const uint8_t *)a->v.arr.data)[1], ==, 0);
  a = gguf_get_arr(f, "a.u64", GGUF_TYPE_UINT64);
  g_assert_true(gguf_arr_u64(a, 1, &u) && u == UINT64_MAX);
  g_assert_false(gguf_arr_i64(a, 1, &i));
  a = gguf_get_arr(f, "a.i64", GGUF_TYPE_INT64);
  g_assert_true(gguf_arr_i64(a, 0, &i) && i == INT64_MIN);
  a = gguf_get_arr(f, "a.f64", GGUF_TYPE_FLOAT64);
  g_assert_true(gguf_arr_f32(a, 1, &x) && x == -2.5f);
  a = gguf_get_arr(f, "a.empty", GGUF_TYPE_INT32);
  g_assert_nonnull(a);
  g_assert_cmpuint(a->v.arr.n, ==, 0);
  g_assert_false(gguf_arr_i64(a, 0, &i));
  a = gguf_get_arr(f, "a.str", GGUF_TYPE_STRING);
  g_assert_cmpuint(a->v.arr.n, ==, 4);
  g_assert_true(str_is(a->v.arr.strs[0], "Ġthe"));
  g_assert_true(str_is(a->v.arr.strs[1], ""));
  g_assert_true(str_is(a->v.arr.strs[2], "<｜Assistant｜>"));
  g_assert_true(str_is(a->v.arr.strs[3], "a b"));
  g_assert_false(gguf_arr_u64(a, 0, &u));

  a = gguf_get_arr(f, "n.i32", GGUF_TYPE_ARRAY);
  g_assert_nonnull(a);
  g_assert_cmpuint(a->v.arr.n, ==, 2);
  g_assert_cmpint(a->v.arr.elems[0].v.arr.elem_type, ==, GGUF_TYPE_INT32);
  g_assert_true(gguf_arr_i64(&a->v.arr.elems[0], 2, &i) && i == 3);
  g_assert_cmpuint(a->v.arr.elems[1].v.arr.n, ==, 0);
  a = gguf_get_arr(f, "n.str", GGUF_TYPE_ARRAY);
  g_assert_true(str_is(a->v.arr.elems[0].v.arr.strs[1], "yz"));
  a = gguf_get_arr(f, "n.deep", GGUF_TYPE_ARRAY);
  const gguf_value *deep = &a->v.arr.elems[1].v.arr.elems[0];
  g_assert_true(gguf_arr_u64(deep, 1, &u) && u == 9);
}

typedef struct {
  float f32[64 * 3];
  uint16_t f16[8 * 2 * 3];
  uint8_t q8[2 * 34];
  float f4d[2 * 2 * 2 * 2];
} tensor_data;

static void fill_tensor_data(tensor_data *d)
{
  for (size_t i = 0; i < G_N_ELEMENTS(d->f32); i++) d->f32[i] = (float)i * 0.5f - 3.0f;
  for (size_t i = 0; i < G_N_ELEMENTS(d->f16); i++) d->f16[i] = still_fp32_to_fp16((float)i);
  for (size_t i = 0; i < sizeof d->q8; i++) d->q8[i] = (uint8_t)(i * 13 + 1);
  for (size_t i = 0; i < G_N_ELEMENTS(d->f4d); i++) d->f4d[i] = (float)-i;
}

static void add_tensors(gguf_writer *w, const tensor_data *d)
{
  int64_t ne1[] = {64, 3}, ne2[] = {8, 2, 3}, ne3[] = {64}, ne4[] = {2, 2, 2, 2};
  gguf_writer_add_tensor(w, "blk.0.attn_q.weight", STILL_TYPE_F32, 2, ne1, d->f32);
  gguf_writer_add_tensor(w, "blk.0.f16", STILL_TYPE_F16, 3, ne2, d->f16);
  gguf_writer_add_tensor(w, "blk.0.q8", STILL_TYPE_Q8_0, 1, ne3, d->q8);
  gguf_writer_add_tensor(w, "four.dims", STILL_TYPE_F32, 4, ne4, d->f4d);
}

static void check_tensors(gguf_file *f, const tensor_data *d, uint64_t alignment)
{
  g_assert_cmpuint(gguf_n_tensors(f), ==, 4);
  const gguf_tensor *t = gguf_find_tensor(f, "blk.0.attn_q.weight");
  g_assert_cmpuint(t->size, ==, sizeof d->f32);
  g_assert_cmpint(t->ne[1], ==, 3);
  g_assert_cmpint(memcmp(t->data, d->f32, sizeof d->f32), ==, 0);
  t = gguf_find_tensor(f, "blk.0.f16");
  g_assert_cmpuint(t->n_dims, ==, 3);
  g_assert_cmpint(t->ne[2], ==, 3);
  g_assert_cmpint(t->ne[3], ==, 1);
  g_assert_cmpint(memcmp(t->data, d->f16, sizeof d->f16), ==, 0);
  t = gguf_find_tensor(f, "blk.0.q8");
  g_assert_cmpuint(t->type, ==, STILL_TYPE_Q8_0);
  g_assert_cmpuint(t->size, ==, 68);
  g_assert_cmpint(memcmp(t->data, d->q8, sizeof d->q8), ==, 0);
  t = gguf_find_tensor(f, "four.dims");
  g_assert_cmpuint(t->n_dims, ==, 4);
  g_assert_cmpint(memcmp(t->data, d->f4d, sizeof d->f4d), ==, 0);
  for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
    t = gguf_tensor_at(f, i);
    g_assert_cmpuint(t->offset % alignment, ==, 0);
    g_assert_cmpuint((uintptr_t)t->data % alignment, ==, 0); /* the mapping is page aligned */
  }
  g_assert_cmpuint(gguf_alignment(f), ==, alignment);
  g_assert_cmpuint(gguf_data_offset(f) % alignment, ==, 0);
  g_assert_cmpuint(gguf_tensor_bytes(f), ==, sizeof d->f32 + sizeof d->f16 + sizeof d->q8 + sizeof d->f4d);
}

static void round_trip(uint32_t version, uint32_t alignment)
{
  char *dir = make_tmp_dir();
  char *path = g_build_filename(dir, "rt.gguf", NULL);
  tensor_data d;
  fill_tensor_data(&d);
  gguf_writer *w = gguf_writer_new();
  if (version) gguf_writer_set_version(w, version);
  if (alignment) gguf_writer_set_alignment(w, alignment);
  add_every_value(w);
  add_tensors(w, &d);
  still_error err = {0};
  g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_OK);
  gguf_writer_free(w);

  gguf_file *f = open_ok(path);
  g_assert_cmpuint(gguf_version(f), ==, version ? version : 3);
  check_every_value(f);
  check_tensors(f, &d, alignment ? alignment : 32);
  uint32_t al;
  g_assert_cmpint(gguf_get_u32(f, "general.alignment", &al), ==, alignment != 0);

  /* Copy every value with add_value into a second file: same metadata bytes. */
  gguf_writer *w2 = gguf_writer_new();
  if (version) gguf_writer_set_version(w2, version);
  for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
    const gguf_kv *kv = gguf_kv_at(f, i);
    char *key = gguf_str_dup(kv->key);
    gguf_writer_add_value(w2, key, &kv->value);
    g_free(key);
  }
  add_tensors(w2, &d);
  char *path2 = g_build_filename(dir, "rt2.gguf", NULL);
  g_assert_cmpint(gguf_writer_write_file(w2, path2, &err), ==, STILL_OK);
  gguf_writer_free(w2);
  gsize l1, l2;
  char *b1 = test_read_file(path, &l1), *b2 = test_read_file(path2, &l2);
  g_assert_cmpuint(l1, ==, l2);
  g_assert_cmpint(memcmp(b1, b2, l1), ==, 0);
  gguf_file *g = open_ok(path2);
  for (uint64_t i = 0; i < gguf_n_kv(f); i++) assert_values_equal(&gguf_kv_at(f, i)->value, &gguf_kv_at(g, i)->value);
  gguf_close(g);
  g_free(b1);
  g_free(b2);
  g_free(path2);
  gguf_close(f);
  g_free(path);
  remove_tmp_dir(dir);
}

static void test_round_trip_v3(void) { round_trip(0, 0); }
static void test_round_trip_v2(void) { round_trip(2, 0); }
static void test_round_trip_align64(void) { round_trip(0, 64); }
static void test_round_trip_align4096(void) { round_trip(3, 4096); }

/* A write callback streaming rows, and one that leaves a sparse hole. */
typedef struct {
  int calls;
} stream_state;

static still_status write_rows(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  stream_state *s = user;
  s->calls++;
  float row[16];
  for (uint64_t off = 0; off < size; off += sizeof row) {
    for (int i = 0; i < 16; i++) row[i] = (float)(off / sizeof(float) + (uint64_t)i);
    if (fwrite(row, 1, sizeof row, out) != sizeof row) return still_set_error(err, STILL_ERR_IO, "write");
  }
  return STILL_OK;
}

static still_status write_hole(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  return fseeko(out, (off_t)size, SEEK_CUR) == 0 ? STILL_OK : still_set_error(err, STILL_ERR_IO, "seek");
}

static still_status write_short(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  fputc(1, out);
  return STILL_OK;
}

static still_status write_fails(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  return still_set_error(err, STILL_ERR_CANCELLED, "stopped by the test");
}

static void test_writer_stream(void)
{
  char *dir = make_tmp_dir();
  char *path = g_build_filename(dir, "stream.gguf", NULL);
  stream_state s = {0};
  gguf_writer *w = gguf_writer_new();
  int64_t ne[] = {16, 1000};
  gguf_writer_add_tensor_fn(w, "rows", STILL_TYPE_F32, 2, ne, write_rows, &s);
  gguf_writer_add_tensor_fn(w, "hole", STILL_TYPE_F32, 2, ne, write_hole, NULL);
  still_error err = {0};
  g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_OK);
  gguf_writer_free(w);
  g_assert_cmpint(s.calls, ==, 1);
  gguf_file *f = open_ok(path);
  const gguf_tensor *t = gguf_find_tensor(f, "rows");
  const float *x = t->data;
  for (int i = 0; i < 16000; i++) g_assert_cmpfloat(x[i], ==, (float)i);
  t = gguf_find_tensor(f, "hole");
  x = t->data;
  g_assert_cmpfloat(x[15999], ==, 0.0f); /* the hole reads as zeros and the file has its full length */
  g_assert_cmpuint(gguf_file_size(f), >=, gguf_expected_size(f));
  gguf_close(f);

  /* a callback that writes the wrong number of bytes, and one that fails */
  w = gguf_writer_new();
  gguf_writer_add_tensor_fn(w, "short", STILL_TYPE_F32, 2, ne, write_short, NULL);
  g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_ERR_INVALID_ARG);
  assert_contains(err.message, "short");
  assert_contains(err.message, "wrote 1 bytes instead of 64000");
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS)); /* no half-written file left */
  gguf_writer_free(w);
  w = gguf_writer_new();
  gguf_writer_add_tensor_fn(w, "t", STILL_TYPE_F32, 2, ne, write_fails, NULL);
  g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_ERR_CANCELLED);
  assert_contains(err.message, "stopped by the test");
  gguf_writer_free(w);
  g_free(path);
  remove_tmp_dir(dir);
}

static void test_writer_errors(void)
{
  still_error err = {0};
  gguf_writer *w = gguf_writer_new();
  gguf_writer_add_u32(w, "k", 1);
  gguf_writer_add_str(w, "k", "again");
  g_assert_cmpint(gguf_writer_write_file(w, "/nonexistent/x.gguf", &err), ==, STILL_ERR_INVALID_ARG);
  assert_contains(err.message, "\"k\" was added twice");
  gguf_writer_free(w);

  w = gguf_writer_new();
  int64_t ne[] = {48, 2};
  float data[96] = {0};
  gguf_writer_add_tensor(w, "blk.0.x", STILL_TYPE_Q4_0, 2, ne, data);
  g_assert_cmpint(gguf_writer_write_file(w, "/tmp/unused.gguf", &err), ==, STILL_ERR_INVALID_ARG);
  assert_contains(err.message, "blk.0.x");
  gguf_writer_free(w);

  w = gguf_writer_new();
  gguf_writer_add_tensor(w, "t", 99, 2, ne, data);
  g_assert_cmpint(gguf_writer_write_file(w, "/tmp/unused.gguf", &err), ==, STILL_ERR_INVALID_ARG);
  assert_contains(err.message, "unknown type");
  gguf_writer_free(w);

  w = gguf_writer_new();
  int64_t ne2[] = {32, 0};
  gguf_writer_add_tensor(w, "t", STILL_TYPE_F32, 2, ne2, data);
  g_assert_cmpint(gguf_writer_write_file(w, "/tmp/unused.gguf", &err), ==, STILL_ERR_INVALID_ARG);
  gguf_writer_free(w);

  w = gguf_writer_new();
  gguf_writer_set_alignment(w, 48);
  g_assert_cmpint(gguf_writer_write_file(w, "/tmp/unused.gguf", &err), ==, STILL_ERR_INVALID_ARG);
  assert_contains(err.message, "power of two");
  gguf_writer_free(w);
  w = gguf_writer_new();
  gguf_writer_set_version(w, 1);
  g_assert_cmpint(gguf_writer_write_file(w, "/tmp/unused.gguf", &err), ==, STILL_ERR_INVALID_ARG);
  assert_contains(err.message, "versions 2 and 3");
  gguf_writer_free(w);
  g_assert_false(g_file_test("/tmp/unused.gguf", G_FILE_TEST_EXISTS));

  w = gguf_writer_new();
  gguf_writer_add_str(w, "general.name", "x");
  g_assert_cmpint(gguf_writer_write_file(w, "/nonexistent-dir/x.gguf", &err), ==, STILL_ERR_IO);
  assert_contains(err.message, "/nonexistent-dir/x.gguf");
  if (g_file_test("/dev/full", G_FILE_TEST_EXISTS)) {
    int64_t big[] = {1024, 1024};
    float *zeros = g_new0(float, 1024 * 1024);
    gguf_writer_add_tensor(w, "big", STILL_TYPE_F32, 2, big, zeros);
    g_assert_cmpint(gguf_writer_write_file(w, "/dev/full", &err), ==, STILL_ERR_IO);
    assert_contains(err.message, "the disk is full while writing /dev/full");
    g_free(zeros);
  }
  gguf_writer_free(w);
}

/* ---- header-only buffers --------------------------------------------------- */

static char *write_small(const char *dir, const char *name, bool header_only, size_t *file_len)
{
  char *path = g_build_filename(dir, name, NULL);
  tensor_data d;
  fill_tensor_data(&d);
  gguf_writer *w = gguf_writer_new();
  add_every_value(w);
  add_tensors(w, &d);
  still_error err = {0};
  if (header_only)
    g_assert_cmpint(gguf_writer_write_header(w, path, &err), ==, STILL_OK);
  else
    g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_OK);
  gguf_writer_free(w);
  gsize len;
  g_free(test_read_file(path, &len));
  *file_len = len;
  return path;
}

static void test_header_only(void)
{
  char *dir = make_tmp_dir();
  size_t full_len, hdr_len;
  char *full = write_small(dir, "full.gguf", false, &full_len);
  char *hdr = write_small(dir, "hdr.gguf", true, &hdr_len);
  g_assert_cmpuint(hdr_len, <, full_len);
  gsize len;
  char *buf = test_read_file(hdr, &len);
  gguf_file *f = NULL;
  still_error err = {0};
  size_t need = 1;
  g_assert_cmpint(gguf_parse_buffer(buf, len, 0, &f, &need, &err), ==, STILL_OK);
  g_assert_cmpuint(need, ==, 0);
  check_every_value(f);
  g_assert_cmpuint(gguf_n_tensors(f), ==, 4);
  for (uint64_t i = 0; i < 4; i++) g_assert_null(gguf_tensor_at(f, i)->data);
  g_assert_cmpuint(gguf_header_bytes(f), >=, len);
  g_assert_cmpuint(gguf_header_bytes(f), <, len + 32);
  g_assert_cmpuint(gguf_expected_size(f), ==, full_len);
  g_assert_cmpuint(gguf_file_size(f), ==, full_len); /* unknown size: the expected one */
  gguf_close(f);
  /* with the real size known it is fine too */
  g_assert_cmpint(gguf_parse_buffer(buf, len, full_len, &f, &need, &err), ==, STILL_OK);
  g_assert_cmpuint(gguf_file_size(f), ==, full_len);
  gguf_close(f);

  /* as a file, the header alone is a model that ends early */
  g_assert_cmpint(gguf_open(hdr, &f, &err), ==, STILL_ERR_TRUNCATED);
  char a[32], b[32];
  assert_contains(err.message, "this file ends early");
  assert_contains(err.message, still_format_bytes(hdr_len, a, sizeof a));
  assert_contains(err.message, still_format_bytes(full_len, b, sizeof b));
  g_free(buf);

  /* a buffer that holds some tensors but not all: data only for complete ones */
  buf = test_read_file(full, &len);
  gguf_file *whole = open_ok(full);
  const gguf_tensor *t1 = gguf_tensor_at(whole, 1);
  size_t cut = (size_t)(gguf_data_offset(whole) + t1->offset + t1->size);
  g_assert_cmpint(gguf_parse_buffer(buf, cut, len, &f, &need, &err), ==, STILL_OK);
  g_assert_nonnull(gguf_tensor_at(f, 0)->data);
  g_assert_nonnull(gguf_tensor_at(f, 1)->data);
  g_assert_null(gguf_tensor_at(f, 2)->data);
  g_assert_cmpint(memcmp(gguf_tensor_at(f, 1)->data, t1->data, (size_t)t1->size), ==, 0);
  gguf_close(f);
  gguf_close(whole);
  g_free(buf);
  g_free(full);
  g_free(hdr);
  remove_tmp_dir(dir);
}

/* Every prefix of a header is TRUNCATED with a need beyond it; the full header parses. */
static void truncate_every_length(const char *buf, size_t hdr_len, size_t file_len)
{
  for (size_t len = 0; len < hdr_len; len++) {
    gguf_file *f = NULL;
    still_error err = {0};
    size_t need = 0;
    /* a copy of exactly len bytes, so ASan catches any read past it */
    char *copy = g_memdup2(buf, len ? len : 1);
    still_status st = gguf_parse_buffer(copy, len, 0, &f, &need, &err);
    if (st != STILL_ERR_TRUNCATED) g_error("length %zu: status %s (%s)", len, still_status_name(st), err.message);
    g_assert_null(f);
    g_assert_cmpuint(need, >, len);
    g_assert_cmpuint(strlen(err.message), >, 0);
    st = gguf_parse_buffer(copy, len, file_len, &f, &need, &err);
    g_assert_cmpint(st, ==, STILL_ERR_TRUNCATED);
    g_assert_cmpuint(need, >, len);
    g_assert_cmpuint(need, <=, file_len);
    g_free(copy);
  }
  gguf_file *f = NULL;
  still_error err = {0};
  size_t need;
  g_assert_cmpint(gguf_parse_buffer(buf, hdr_len, 0, &f, &need, &err), ==, STILL_OK);
  gguf_close(f);
}

static void test_truncated_buffers(void)
{
  char *dir = make_tmp_dir();
  size_t hdr_len, full_len;
  char *hdr = write_small(dir, "hdr.gguf", true, &hdr_len);
  g_free(write_small(dir, "full.gguf", false, &full_len));
  gsize len;
  char *buf = test_read_file(hdr, &len);
  truncate_every_length(buf, hdr_len, full_len);
  g_free(buf);
  g_free(hdr);
  remove_tmp_dir(dir);

  /* the same over the real header of stories260K (512 tokens) */
  char *path = test_fixture_path("models/stories260K.gguf");
  if (!path) return;
  gguf_file *f = open_ok(path);
  size_t info_end = (size_t)gguf_data_offset(f);
  gguf_close(f);
  buf = test_read_file(path, &len);
  /* the header without its padding: find the real end by parsing shorter prefixes */
  size_t end = info_end;
  while (end > 0) {
    still_error err = {0};
    size_t need;
    if (gguf_parse_buffer(buf, end - 1, 0, &f, &need, &err) != STILL_OK) break;
    gguf_close(f);
    end--;
  }
  g_assert_cmpuint(end, >, info_end - 32);
  truncate_every_length(buf, end, len);
  g_free(buf);
  g_free(path);
}

/* Growing a buffer by need_bytes reaches the whole header in a few steps. */
static void test_need_bytes_converges(void)
{
  char *path = test_fixture_path("vocab/ggml-vocab-qwen2.gguf");
  if (!path) return;
  gsize len;
  char *buf = test_read_file(path, &len);
  size_t have = 64 * 1024;
  int rounds = 0;
  for (;;) {
    gguf_file *f = NULL;
    still_error err = {0};
    size_t need = 0;
    still_status st = gguf_parse_buffer(buf, have, 0, &f, &need, &err);
    rounds++;
    if (st == STILL_OK) {
      gguf_close(f);
      break;
    }
    g_assert_cmpint(st, ==, STILL_ERR_TRUNCATED);
    g_assert_cmpuint(need, >, have);
    g_assert_cmpuint(rounds, <, 12);
    have = need < len ? need : len;
  }
  g_test_message("qwen2 vocab header (%zu bytes): parsed after %d fetches", have, rounds);
  g_assert_cmpuint(rounds, <=, 8);
  g_free(buf);
  g_free(path);
}

/* ---- bad input ------------------------------------------------------------- */

static void test_bad_magic_version(void)
{
  GByteArray *b = g_byte_array_new();
  static const char zip[] = "PK\x03\x04zip file contents here..";
  g_byte_array_append(b, (const guint8 *)zip, sizeof zip - 1);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("not a GGUF file", "PK\\x03\\x04"));
  g_byte_array_set_size(b, 2);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("not a GGUF file"));
  g_byte_array_set_size(b, 0);
  g_byte_array_append(b, (const guint8 *)"GG", 2);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("not a GGUF file", "2 bytes"));
  g_byte_array_unref(b);

  char *dir = make_tmp_dir();
  char *p = write_tmp(dir, "empty.gguf", "", 0);
  gguf_file *f = NULL;
  still_error err = {0};
  g_assert_cmpint(gguf_open(p, &f, &err), ==, STILL_ERR_FORMAT);
  assert_contains(err.message, "empty");
  g_free(p);
  p = g_build_filename(dir, "missing.gguf", NULL);
  g_assert_cmpint(gguf_open(p, &f, &err), ==, STILL_ERR_IO);
  assert_contains(err.message, "missing.gguf");
  g_free(p);
  g_assert_cmpint(gguf_open(dir, &f, &err), ==, STILL_ERR_IO);
  assert_contains(err.message, "not a regular file");
  remove_tmp_dir(dir);

  b = b_header(1, 0, 0);
  expect_bad(b, STILL_ERR_UNSUPPORTED, WORDS("version 1", "not supported"));
  g_byte_array_unref(b);
  b = b_header(4, 0, 0);
  expect_bad(b, STILL_ERR_UNSUPPORTED, WORDS("version 4"));
  g_byte_array_unref(b);
  b = b_header(0, 0, 0);
  expect_bad(b, STILL_ERR_UNSUPPORTED, WORDS("version 0"));
  g_byte_array_unref(b);
  b = b_header(0x03000000u, 0, 0); /* version 3 written big-endian */
  expect_bad(b, STILL_ERR_UNSUPPORTED, WORDS("big-endian"));
  g_byte_array_unref(b);

  /* v2 is fine, also with no tensors and no padding */
  b = b_header(2, 0, 1);
  b_kv_u32(b, "x", 1);
  gguf_file *g = NULL;
  size_t need;
  g_assert_cmpint(gguf_parse_buffer(b->data, b->len, b->len, &g, &need, &err), ==, STILL_OK);
  g_assert_cmpuint(gguf_version(g), ==, 2);
  g_assert_cmpuint(gguf_expected_size(g), ==, b->len);
  gguf_close(g);
  g_byte_array_unref(b);

  /* the good file is good */
  b = b_good();
  g_assert_cmpint(gguf_parse_buffer(b->data, b->len, b->len, &g, &need, &err), ==, STILL_OK);
  gguf_close(g);
  g_byte_array_unref(b);
}

static void test_bad_ends_early(void)
{
  char *path = test_fixture_path("models/tiny-qwen2-Q4_K_M.gguf");
  if (!path) return;
  gsize len;
  char *buf = test_read_file(path, &len);
  GByteArray *b = g_byte_array_new();
  /* a download cut in the middle of the tensor data */
  g_byte_array_append(b, (const guint8 *)buf, (guint)(len / 2));
  char a[32], e[32];
  still_format_bytes(len / 2, a, sizeof a);
  still_format_bytes(len, e, sizeof e);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("this file ends early: it ends at", a, "of an expected", e));
  /* one byte short: the sizes in MB would read alike, so they are said in bytes */
  g_byte_array_set_size(b, 0);
  g_byte_array_append(b, (const guint8 *)buf, (guint)(len - 1));
  char *bytes = g_strdup_printf("it has %" G_GSIZE_FORMAT " bytes of an expected %" G_GSIZE_FORMAT, len - 1, len);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("this file ends early:", bytes));
  g_free(bytes);
  /* cut inside the header (in the token list) */
  g_byte_array_set_size(b, 40000);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("this file ends early", "inside its header", "tokenizer.ggml.tokens"));
  g_byte_array_set_size(b, 10);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("ends early", "inside its header"));
  g_byte_array_unref(b);
  g_free(buf);
  g_free(path);
}

static void test_bad_tensors(void)
{
  /* one tensor info each (data: 32-aligned, `data` bytes) */
  static const struct {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[5];
    uint32_t type;
    uint64_t offset;
    size_t data;
    still_status want;
    const char *words[8];
  } cases[] = {
    {"blk.0.attn_q.weight", 2, {64, 2}, STILL_TYPE_F32, 1ull << 40, 512, STILL_ERR_FORMAT,
     {"blk.0.attn_q.weight", "lies outside the file"}},
    {"t", 2, {64, 2}, STILL_TYPE_F32, UINT64_MAX - 31, 512, STILL_ERR_FORMAT, {"outside the file"}},
    {"blk.0.attn_q.weight", 2, {64, 2}, STILL_TYPE_F32, 4, 520, STILL_ERR_FORMAT,
     {"blk.0.attn_q.weight", "misaligned", "4"}},
    {"t5", 5, {2, 2, 2, 2, 2}, STILL_TYPE_F32, 0, 128, STILL_ERR_FORMAT, {"t5", "5 dimensions"}},
    {"z", 2, {64, 0}, STILL_TYPE_F32, 0, 0, STILL_ERR_FORMAT, {"z", "zero"}},
    {"neg", 2, {64, (uint64_t)-3}, STILL_TYPE_F32, 0, 0, STILL_ERR_FORMAT, {"neg", "negative"}},
    {"huge", 2, {1ull << 32, 1ull << 32}, STILL_TYPE_F32, 0, 0, STILL_ERR_FORMAT, {"huge", "overflow"}},
    /* elements fit in int64, bytes do not */
    {"bytes", 2, {1ull << 31, 1ull << 31}, STILL_TYPE_F32, 0, 0, STILL_ERR_FORMAT, {"bytes", "overflow"}},
    {"blk.0.attn_q.weight", 2, {64, 2}, 99, 0, 512, STILL_ERR_UNSUPPORTED,
     {"tensor blk.0.attn_q.weight has an unknown type 99", "this version supports", "F32", "F16", "Q4_K", "Q8_0",
      "BF16"}},
    /* a real ggml type this version cannot read */
    {"blk.0.ffn_up.weight", 2, {256, 2}, 16, 0, 512, STILL_ERR_UNSUPPORTED,
     {"blk.0.ffn_up.weight", "IQ2_XXS", "does not support"}},
    /* rows not a whole number of blocks */
    {"blk.1.q", 2, {48, 2}, STILL_TYPE_Q4_0, 0, 54, STILL_ERR_FORMAT, {"blk.1.q", "48", "Q4_0", "blocks of 32"}},
    {"bad\xC3(name", 2, {64, 2}, STILL_TYPE_F32, 0, 512, STILL_ERR_FORMAT, {"tensor #0", "UTF-8"}},
    {"nul\0name", 2, {64, 2}, STILL_TYPE_F32, 0, 512, STILL_ERR_FORMAT, {"tensor #0", "UTF-8"}},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    GByteArray *b = b_header(3, 1, 0);
    size_t name_len = strlen(cases[i].name);
    if (strcmp(cases[i].name, "nul") == 0) name_len = 8; /* "nul\0name": a NUL inside the name */
    b_strn(b, cases[i].name, name_len);
    b_u32(b, cases[i].n_dims);
    for (uint32_t d = 0; d < cases[i].n_dims; d++) b_u64(b, cases[i].ne[d]);
    b_u32(b, cases[i].type);
    b_u64(b, cases[i].offset);
    b_data(b, 32, cases[i].data);
    expect_bad(b, cases[i].want, cases[i].words);
    g_byte_array_unref(b);
  }

  uint64_t ne[] = {64, 2};
  /* duplicate name */
  GByteArray *b = b_header(3, 2, 0);
  b_tensor(b, "dup.weight", 2, ne, STILL_TYPE_F32, 0);
  b_tensor(b, "dup.weight", 2, ne, STILL_TYPE_F32, 512);
  b_data(b, 32, 1024);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("dup.weight", "appears twice"));
  g_byte_array_unref(b);
  /* tensor counts: too many for the file (cut short), and absurd */
  b = b_header(3, 1000000, 0);
  b_tensor(b, "t", 2, ne, STILL_TYPE_F32, 0);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("ends early", "1000000 tensors"));
  g_byte_array_unref(b);
  b = b_header(3, UINT64_MAX, 0);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("tensors", "not plausible"));
  g_byte_array_unref(b);
}

static void test_bad_metadata(void)
{
  GByteArray *b;
  uint64_t ne[] = {64, 2};

  /* duplicate key */
  b = b_header(3, 0, 2);
  b_kv_u32(b, "general.x", 1);
  b_kv_u32(b, "general.x", 2);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("general.x", "appears twice"));
  g_byte_array_unref(b);
  /* invalid UTF-8 key (overlong encoding) */
  b = b_header(3, 0, 1);
  b_kv_u32(b, "key.\xC0\xAF", 1);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("metadata key #0", "UTF-8"));
  g_byte_array_unref(b);
  /* a NUL inside a key */
  b = b_header(3, 0, 1);
  b_strn(b, "key\0x", 5);
  b_u32(b, GGUF_TYPE_UINT8);
  g_byte_array_append(b, (const guint8 *)"\1", 1);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("metadata key #0", "UTF-8"));
  g_byte_array_unref(b);
  /* alignment: zero, not a power of two, not an integer */
  static const uint32_t bad_al[] = {0, 48, 3};
  for (size_t i = 0; i < G_N_ELEMENTS(bad_al); i++) {
    b = b_header(3, 1, 1);
    b_kv_u32(b, "general.alignment", bad_al[i]);
    b_tensor(b, "t", 2, ne, STILL_TYPE_F32, 0);
    b_data(b, 64, 512);
    expect_bad(b, STILL_ERR_FORMAT, WORDS("general.alignment", "power of two"));
    g_byte_array_unref(b);
  }
  b = b_header(3, 0, 1);
  b_kv_str(b, "general.alignment", "32");
  expect_bad(b, STILL_ERR_FORMAT, WORDS("general.alignment", "integer", "string"));
  g_byte_array_unref(b);
  /* alignment 64 honoured: offset 32 is misaligned then */
  b = b_header(3, 2, 1);
  b_kv_u32(b, "general.alignment", 64);
  b_tensor(b, "a", 1, ne, STILL_TYPE_F32, 0);
  b_tensor(b, "b", 1, ne, STILL_TYPE_F32, 256 + 32);
  b_data(b, 64, 1024);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("misaligned", "64"));
  g_byte_array_unref(b);
  /* unknown value type */
  b = b_header(3, 0, 1);
  b_str(b, "general.odd");
  b_u32(b, 13);
  b_u32(b, 0);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("general.odd", "unknown type 13"));
  g_byte_array_unref(b);
  /* unknown array element type */
  b = b_header(3, 0, 1);
  b_str(b, "general.arr");
  b_u32(b, GGUF_TYPE_ARRAY);
  b_u32(b, 77);
  b_u64(b, 1);
  b_u32(b, 0);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("general.arr", "unknown element type 77"));
  g_byte_array_unref(b);
  /* kv count that cannot fit, and an absurd one */
  b = b_header(3, 0, 100);
  b_kv_u32(b, "a", 1);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("ends early", "100 metadata entries"));
  g_byte_array_unref(b);
  b = b_header(3, 0, UINT64_MAX / 2);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("metadata entries"));
  g_byte_array_unref(b);
  /* array counts that cannot fit: numeric, string, nested; and n * width overflowing */
  static const uint32_t et[] = {GGUF_TYPE_INT32, GGUF_TYPE_STRING, GGUF_TYPE_ARRAY, GGUF_TYPE_UINT64};
  static const uint64_t counts[] = {1ull << 40, 1ull << 40, 1ull << 40, 1ull << 62};
  for (size_t i = 0; i < G_N_ELEMENTS(et); i++) {
    b = b_header(3, 0, 1);
    b_str(b, "tokenizer.ggml.tokens");
    b_u32(b, GGUF_TYPE_ARRAY);
    b_u32(b, et[i]);
    b_u64(b, counts[i]);
    b_data(b, 1, 64);
    expect_bad(b, STILL_ERR_FORMAT, WORDS("tokenizer.ggml.tokens", "array elements", "impossible"));
    g_byte_array_unref(b);
  }
  /* a plausible count in a file that is too short: cut short, not corrupt */
  b = b_header(3, 0, 1);
  b_str(b, "tokenizer.ggml.tokens");
  b_u32(b, GGUF_TYPE_ARRAY);
  b_u32(b, GGUF_TYPE_STRING);
  b_u64(b, 152064);
  b_str(b, "!");
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("ends early", "152064 array elements", "tokenizer.ggml.tokens"));
  g_byte_array_unref(b);
  /* the same as a buffer of unknown size: more bytes needed, at least the length fields */
  {
    b = b_header(3, 0, 1);
    b_str(b, "tokenizer.ggml.tokens");
    b_u32(b, GGUF_TYPE_ARRAY);
    b_u32(b, GGUF_TYPE_STRING);
    b_u64(b, 152064);
    b_str(b, "!");
    gguf_file *f = NULL;
    still_error err = {0};
    size_t need = 0;
    g_assert_cmpint(gguf_parse_buffer(b->data, b->len, 0, &f, &need, &err), ==, STILL_ERR_TRUNCATED);
    g_assert_cmpuint(need, >=, b->len + 152064 * 8);
    g_byte_array_unref(b);
  }
  /* a string length past the end */
  b = b_header(3, 0, 1);
  b_str(b, "general.name");
  b_u32(b, GGUF_TYPE_STRING);
  b_u64(b, 1ull << 50);
  b_data(b, 1, 16);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("impossible length", "general.name"));
  g_byte_array_unref(b);
  b = b_header(3, 0, 1);
  b_str(b, "general.name");
  b_u32(b, GGUF_TYPE_STRING);
  b_u64(b, 1000);
  b_data(b, 1, 16);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("ends early", "general.name"));
  g_byte_array_unref(b);
  /* a string array whose last string runs past the end */
  b = b_header(3, 0, 1);
  b_str(b, "tokenizer.ggml.tokens");
  b_u32(b, GGUF_TYPE_ARRAY);
  b_u32(b, GGUF_TYPE_STRING);
  b_u64(b, 2);
  b_str(b, "ok");
  b_u64(b, 5);
  b_data(b, 1, 2);
  expect_bad(b, STILL_ERR_TRUNCATED, WORDS("ends early", "tokenizer.ggml.tokens"));
  g_byte_array_unref(b);
  /* arrays nested too deep */
  b = b_header(3, 0, 1);
  b_str(b, "deep");
  b_u32(b, GGUF_TYPE_ARRAY);
  for (int i = 0; i < 40; i++) {
    b_u32(b, GGUF_TYPE_ARRAY);
    b_u64(b, 1);
  }
  b_u32(b, GGUF_TYPE_UINT8);
  b_u64(b, 0);
  expect_bad(b, STILL_ERR_FORMAT, WORDS("deep", "nested"));
  g_byte_array_unref(b);
}

/* ---- split models ------------------------------------------------------------ */

static void write_shard(const char *dir, const char *name, int no, int count, int total_tensors, const char *gname,
                        int first_tensor, int n_tensors, const float *data)
{
  gguf_writer *w = gguf_writer_new();
  gguf_writer_add_str(w, "general.architecture", "llama");
  gguf_writer_add_str(w, "general.name", gname);
  gguf_writer_add_u16(w, "split.no", (uint16_t)no);
  gguf_writer_add_u16(w, "split.count", (uint16_t)count);
  gguf_writer_add_i32(w, "split.tensors.count", total_tensors);
  if (no == 1) gguf_writer_set_alignment(w, 64); /* each shard keeps its own alignment */
  int64_t ne[] = {32, 4};
  for (int i = first_tensor; i < first_tensor + n_tensors; i++) {
    char tname[32];
    g_snprintf(tname, sizeof tname, "blk.%d.weight", i);
    gguf_writer_add_tensor(w, tname, STILL_TYPE_F32, 2, ne, data + i * 128);
  }
  char *path = g_build_filename(dir, name, NULL);
  still_error err = {0};
  g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_OK);
  g_free(path);
  gguf_writer_free(w);
}

static void make_split(const char *dir, const float *data)
{
  /* 2 + 3 + 2 tensors */
  write_shard(dir, "model-00001-of-00003.gguf", 0, 3, 7, "first", 0, 2, data);
  write_shard(dir, "model-00002-of-00003.gguf", 1, 3, 7, "second", 2, 3, data);
  write_shard(dir, "model-00003-of-00003.gguf", 2, 3, 7, "third", 5, 2, data);
}

static void expect_open_error(const char *path, still_status want, const char *const *words)
{
  gguf_file *f = NULL;
  still_error err = {0};
  still_status st = gguf_open(path, &f, &err);
  g_assert_null(f);
  if (st != want) g_error("%s: status %s, message %s", path, still_status_name(st), err.message);
  for (int i = 0; words[i]; i++) assert_contains(err.message, words[i]);
}

static void test_split(void)
{
  char *dir = make_tmp_dir();
  float data[7 * 128];
  for (int i = 0; i < 7 * 128; i++) data[i] = (float)i;
  make_split(dir, data);

  for (int part = 1; part <= 3; part++) {
    char name[64];
    g_snprintf(name, sizeof name, "model-%05d-of-00003.gguf", part);
    char *path = g_build_filename(dir, name, NULL);
    GStatBuf stb;
    g_assert_cmpint(g_stat(path, &stb), ==, 0);
    gguf_file *f = open_ok(path); /* any part opens the whole model */
    g_assert_cmpint(gguf_n_shards(f), ==, 3);
    g_assert_cmpuint(gguf_n_tensors(f), ==, 7);
    gguf_str s;
    g_assert_true(gguf_get_str(f, "general.name", &s) && str_is(s, "first")); /* metadata of the first */
    for (int i = 0; i < 7; i++) {
      char tname[32];
      g_snprintf(tname, sizeof tname, "blk.%d.weight", i);
      const gguf_tensor *t = gguf_find_tensor(f, tname);
      g_assert_nonnull(t);
      g_assert_true(gguf_tensor_at(f, (uint64_t)i) == t); /* shard order, file order */
      g_assert_cmpint(t->shard, ==, i < 2 ? 0 : i < 5 ? 1 : 2);
      g_assert_cmpint(memcmp(t->data, data + i * 128, 512), ==, 0);
      if (t->shard == 1) g_assert_cmpuint((uintptr_t)t->data % 64, ==, 0);
    }
    g_assert_cmpuint(gguf_tensor_bytes(f), ==, 7 * 512);
    g_free(path);
    /* file size and header bytes: sums over the parts */
    uint64_t total = 0, headers = 0;
    for (int k = 1; k <= 3; k++) {
      g_snprintf(name, sizeof name, "model-%05d-of-00003.gguf", k);
      char *p = g_build_filename(dir, name, NULL);
      g_assert_cmpint(g_stat(p, &stb), ==, 0);
      total += (uint64_t)stb.st_size;
      size_t need;
      still_error err = {0};
      gsize len;
      char *buf = test_read_file(p, &len);
      gguf_file *one = NULL;
      g_assert_cmpint(gguf_parse_buffer(buf, len, len, &one, &need, &err), ==, STILL_OK);
      headers += gguf_header_bytes(one);
      gguf_close(one);
      g_free(buf);
      g_free(p);
    }
    g_assert_cmpuint(gguf_file_size(f), ==, total);
    g_assert_cmpuint(gguf_header_bytes(f), ==, headers);
    gguf_close(f);
  }

  char *p1 = g_build_filename(dir, "model-00001-of-00003.gguf", NULL);
  char *p2 = g_build_filename(dir, "model-00002-of-00003.gguf", NULL);
  char *p3 = g_build_filename(dir, "model-00003-of-00003.gguf", NULL);

  /* a missing part */
  char *moved = g_build_filename(dir, "moved.bin", NULL);
  g_assert_cmpint(g_rename(p2, moved), ==, 0);
  expect_open_error(p1, STILL_ERR_IO, WORDS("part 2 of 3 is missing: model-00002-of-00003.gguf"));
  expect_open_error(p3, STILL_ERR_IO, WORDS("part 2 of 3 is missing"));
  g_assert_cmpint(g_rename(moved, p2), ==, 0);

  /* a part that says it is another part */
  write_shard(dir, "model-00003-of-00003.gguf", 1, 3, 7, "third", 5, 2, data);
  expect_open_error(p1, STILL_ERR_FORMAT, WORDS("part 3 of 3", "says it is part 2"));
  /* a part of another model */
  write_shard(dir, "model-00003-of-00003.gguf", 2, 4, 7, "third", 5, 2, data);
  expect_open_error(p1, STILL_ERR_FORMAT, WORDS("part 3 of 3", "4 parts"));
  /* the same tensor in two parts */
  write_shard(dir, "model-00003-of-00003.gguf", 2, 3, 7, "third", 4, 2, data);
  expect_open_error(p1, STILL_ERR_FORMAT, WORDS("blk.4.weight", "appears twice"));
  /* split.tensors.count disagrees */
  write_shard(dir, "model-00003-of-00003.gguf", 2, 3, 7, "third", 5, 1, data);
  expect_open_error(p1, STILL_ERR_FORMAT, WORDS("7 tensors", "hold 6"));
  /* a part cut short */
  write_shard(dir, "model-00003-of-00003.gguf", 2, 3, 7, "third", 5, 2, data);
  GStatBuf stb;
  g_assert_cmpint(g_stat(p3, &stb), ==, 0);
  g_assert_cmpint(truncate(p3, stb.st_size - 100), ==, 0);
  expect_open_error(p1, STILL_ERR_TRUNCATED, WORDS("part 3 of 3 (model-00003-of-00003.gguf)", "ends early"));
  write_shard(dir, "model-00003-of-00003.gguf", 2, 3, 7, "third", 5, 2, data);
  gguf_close(open_ok(p1));

  /* a renamed part cannot find its siblings */
  char *renamed = g_build_filename(dir, "renamed.gguf", NULL);
  gsize len;
  char *buf = test_read_file(p2, &len);
  g_free(write_tmp(dir, "renamed.gguf", buf, len));
  g_free(buf);
  expect_open_error(renamed, STILL_ERR_FORMAT, WORDS("part 2 of 3", "-00002-of-00003.gguf"));
  /* split.count of 1 (or none) in a file named like a part: one plain file */
  gguf_writer *w = gguf_writer_new();
  gguf_writer_add_u16(w, "split.no", 0);
  gguf_writer_add_u16(w, "split.count", 1);
  char *single = g_build_filename(dir, "one-00001-of-00001.gguf", NULL);
  still_error err = {0};
  g_assert_cmpint(gguf_writer_write_file(w, single, &err), ==, STILL_OK);
  gguf_writer_free(w);
  gguf_file *f = open_ok(single);
  g_assert_cmpint(gguf_n_shards(f), ==, 1);
  gguf_close(f);

  g_free(single);
  g_free(renamed);
  g_free(moved);
  g_free(p1);
  g_free(p2);
  g_free(p3);
  remove_tmp_dir(dir);
}

/* ---- 5 GB header parse timing (opt-in: STILL_GGUF_BENCH=1) ------------------- */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void test_bench_5gb(void)
{
  if (!g_getenv("STILL_GGUF_BENCH")) {
    g_test_skip("set STILL_GGUF_BENCH=1 to time the header parse of a 5 GB sparse file");
    return;
  }
  /* DeepSeek-R1-Distill-Qwen-7B shaped, Q4_K_M-like types. */
  const int64_t n_embd = 3584, n_ff = 18944, n_kv = 512, n_vocab = 152064, n_layer = 28;
  gguf_writer *w = gguf_writer_new();
  gguf_writer_add_str(w, "general.architecture", "qwen2");
  gguf_writer_add_str(w, "general.name", "DeepSeek R1 Distill Qwen 7B");
  gguf_writer_add_u32(w, "qwen2.block_count", (uint32_t)n_layer);
  gguf_writer_add_u32(w, "qwen2.context_length", 131072);
  gguf_writer_add_u32(w, "qwen2.embedding_length", (uint32_t)n_embd);
  gguf_writer_add_u32(w, "qwen2.feed_forward_length", (uint32_t)n_ff);
  gguf_writer_add_u32(w, "qwen2.attention.head_count", 28);
  gguf_writer_add_u32(w, "qwen2.attention.head_count_kv", 4);
  gguf_writer_add_f32(w, "qwen2.rope.freq_base", 10000.0f);
  gguf_writer_add_f32(w, "qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
  gguf_writer_add_u32(w, "general.file_type", 15);
  gguf_writer_add_str(w, "tokenizer.ggml.model", "gpt2");
  gguf_writer_add_str(w, "tokenizer.ggml.pre", "deepseek-r1-qwen");
  char **tokens = g_new(char *, (gsize)n_vocab);
  int32_t *types = g_new(int32_t, (gsize)n_vocab);
  for (int64_t i = 0; i < n_vocab; i++) {
    tokens[i] = g_strdup_printf("Ġtok%lld", (long long)i);
    types[i] = 1;
  }
  gguf_writer_add_str_arr(w, "tokenizer.ggml.tokens", (const char *const *)tokens, (uint64_t)n_vocab);
  gguf_writer_add_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n_vocab);
  const int64_t n_merges = 151387;
  for (int64_t i = 0; i < n_merges; i++) {
    g_free(tokens[i]);
    tokens[i] = g_strdup_printf("Ġt ok%lld", (long long)i);
  }
  gguf_writer_add_str_arr(w, "tokenizer.ggml.merges", (const char *const *)tokens, (uint64_t)n_merges);
  gguf_writer_add_u32(w, "tokenizer.ggml.bos_token_id", 151646);
  gguf_writer_add_u32(w, "tokenizer.ggml.eos_token_id", 151643);
  gguf_writer_add_bool(w, "tokenizer.ggml.add_bos_token", true);
  char *tmpl = g_strnfill(3000, 'x');
  gguf_writer_add_str(w, "tokenizer.chat_template", tmpl);
  g_free(tmpl);

  int64_t e2[2];
#define T2(nm, type, a, b)                                                  \
  do {                                                                      \
    e2[0] = (a);                                                            \
    e2[1] = (b);                                                            \
    gguf_writer_add_tensor_fn(w, nm, type, 2, e2, write_hole, NULL);        \
  } while (0)
#define T1(nm, a)                                                           \
  do {                                                                      \
    e2[0] = (a);                                                            \
    gguf_writer_add_tensor_fn(w, nm, STILL_TYPE_F32, 1, e2, write_hole, NULL); \
  } while (0)
  T2("token_embd.weight", STILL_TYPE_Q4_K, n_embd, n_vocab);
  for (int64_t l = 0; l < n_layer; l++) {
    char nm[64];
#define NAME(s) (g_snprintf(nm, sizeof nm, "blk.%lld." s, (long long)l), nm)
    T1(NAME("attn_norm.weight"), n_embd);
    T2(NAME("attn_q.weight"), STILL_TYPE_Q4_K, n_embd, n_embd);
    T1(NAME("attn_q.bias"), n_embd);
    T2(NAME("attn_k.weight"), STILL_TYPE_Q4_K, n_embd, n_kv);
    T1(NAME("attn_k.bias"), n_kv);
    T2(NAME("attn_v.weight"), STILL_TYPE_Q6_K, n_embd, n_kv);
    T1(NAME("attn_v.bias"), n_kv);
    T2(NAME("attn_output.weight"), STILL_TYPE_Q4_K, n_embd, n_embd);
    T1(NAME("ffn_norm.weight"), n_embd);
    T2(NAME("ffn_gate.weight"), STILL_TYPE_Q4_K, n_embd, n_ff);
    T2(NAME("ffn_up.weight"), STILL_TYPE_Q4_K, n_embd, n_ff);
    T2(NAME("ffn_down.weight"), STILL_TYPE_Q6_K, n_ff, n_embd);
#undef NAME
  }
  T1("output_norm.weight", n_embd);
  T2("output.weight", STILL_TYPE_Q6_K, n_embd, n_vocab);
#undef T1
#undef T2

  char *path = g_strdup("/tmp/still-gguf-bench-5gb.gguf");
  still_error err = {0};
  double t0 = still_time_s();
  still_status st = gguf_writer_write_file(w, path, &err);
  double t_write = still_time_s() - t0;
  gguf_writer_free(w);
  for (int64_t i = 0; i < n_vocab; i++) g_free(tokens[i]);
  g_free(tokens);
  g_free(types);
  if (st != STILL_OK) g_error("writing %s: %s", path, err.message);

  double times[20];
  gguf_file *f = NULL;
  for (int run = 0; run < 20; run++) {
    t0 = still_time_s();
    st = gguf_open(path, &f, &err);
    const gguf_tensor *t = st == STILL_OK ? gguf_find_tensor(f, "blk.27.ffn_down.weight") : NULL;
    if (run < 19) gguf_close(f);
    times[run] = still_time_s() - t0;
    g_assert_cmpint(st, ==, STILL_OK);
    g_assert_nonnull(t);
  }
  char a[32], b[32];
  g_test_message("5 GB file: %s, header %s, %llu tensors, written in %.1f s", still_format_bytes(gguf_file_size(f), a, sizeof a),
                 still_format_bytes(gguf_header_bytes(f), b, sizeof b), (unsigned long long)gguf_n_tensors(f), t_write);
  g_assert_cmpuint(gguf_file_size(f), >, 4000000000ull);
  g_assert_cmpuint(gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_STRING)->v.arr.n, ==, (uint64_t)n_vocab);
  gguf_close(f);
  qsort(times, 20, sizeof times[0], cmp_double);
  g_test_message("gguf_open + gguf_close over 20 runs: median %.2f ms, min %.2f ms, max %.2f ms", times[10] * 1e3,
                 times[0] * 1e3, times[19] * 1e3);
  g_unlink(path);
  g_free(path);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/gguf/fixtures/models", test_fixture_models);
  g_test_add_func("/gguf/fixtures/stories260K", test_fixture_stories);
  g_test_add_func("/gguf/fixtures/vocab", test_fixture_vocab);
  g_test_add_func("/gguf/round-trip/v3", test_round_trip_v3);
  g_test_add_func("/gguf/round-trip/v2", test_round_trip_v2);
  g_test_add_func("/gguf/round-trip/alignment-64", test_round_trip_align64);
  g_test_add_func("/gguf/round-trip/alignment-4096", test_round_trip_align4096);
  g_test_add_func("/gguf/writer/stream", test_writer_stream);
  g_test_add_func("/gguf/writer/errors", test_writer_errors);
  g_test_add_func("/gguf/buffer/header-only", test_header_only);
  g_test_add_func("/gguf/buffer/truncated", test_truncated_buffers);
  g_test_add_func("/gguf/buffer/need-converges", test_need_bytes_converges);
  g_test_add_func("/gguf/bad/magic-version", test_bad_magic_version);
  g_test_add_func("/gguf/bad/ends-early", test_bad_ends_early);
  g_test_add_func("/gguf/bad/tensors", test_bad_tensors);
  g_test_add_func("/gguf/bad/metadata", test_bad_metadata);
  g_test_add_func("/gguf/split", test_split);
  g_test_add_func("/gguf/bench-5gb", test_bench_5gb);
  return g_test_run();
}
