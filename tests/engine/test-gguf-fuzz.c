/* test-gguf-fuzz.c — 10 000 deterministic mutations of real GGUF headers.
 *
 * Seeds: stories260K.gguf, a tiny model, a vocab-only file and a writer-made
 * file with every value type (nested arrays included). Each iteration flips
 * bytes, overwrites a count/length/type field with a nasty value, truncates,
 * inserts or deletes bytes, mostly inside the header, then parses the result
 * from a buffer of exactly its size (so ASan sees any read past the end) and
 * sometimes from a temp file. Every result must be OK (and then every value,
 * string and tensor must lie inside the buffer) or an error with a message.
 */
#include "test-common.h"

#include "gguf.h"
#include "types.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ITERATIONS 10000

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
  /* xorshift64*: deterministic across platforms */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static uint64_t rnd_below(uint64_t n) { return n ? rnd() % n : 0; }

typedef struct {
  const char *name;
  uint8_t *data;
  size_t len;
  size_t header_end; /* end of the tensor infos */
  GArray *fields8;   /* offsets of u64 counts and lengths */
  GArray *fields4;   /* offsets of u32 type tags and n_dims */
} seed;

static void add_field(GArray *a, const seed *s, const void *p)
{
  ptrdiff_t off = (const uint8_t *)p - s->data;
  if (off >= 0 && (size_t)off < s->len) {
    size_t o = (size_t)off;
    g_array_append_val(a, o);
  }
}

static void collect_value_fields(seed *s, const gguf_value *v, int depth)
{
  if (v->type == GGUF_TYPE_STRING) {
    add_field(s->fields8, s, v->v.str.ptr - 8);
    return;
  }
  if (v->type != GGUF_TYPE_ARRAY) return;
  uint64_t n = v->v.arr.n;
  if (v->v.arr.elem_type == GGUF_TYPE_STRING && n) {
    add_field(s->fields8, s, v->v.arr.strs[0].ptr - 16);    /* the count */
    add_field(s->fields4, s, v->v.arr.strs[0].ptr - 20);    /* the element type */
    for (uint64_t i = 0; i < n && i < 8; i++) add_field(s->fields8, s, v->v.arr.strs[i].ptr - 8);
    add_field(s->fields8, s, v->v.arr.strs[n - 1].ptr - 8); /* the last length */
  } else if (v->v.arr.elem_type == GGUF_TYPE_ARRAY) {
    for (uint64_t i = 0; i < n && i < 8; i++) collect_value_fields(s, &v->v.arr.elems[i], depth + 1);
  } else if (v->v.arr.data && n) {
    add_field(s->fields8, s, (const uint8_t *)v->v.arr.data - 8);
    add_field(s->fields4, s, (const uint8_t *)v->v.arr.data - 12);
  }
}

static void seed_init(seed *s, const char *name, uint8_t *data, size_t len)
{
  s->name = name;
  s->data = data;
  s->len = len;
  s->fields8 = g_array_new(FALSE, FALSE, sizeof(size_t));
  s->fields4 = g_array_new(FALSE, FALSE, sizeof(size_t));
  gguf_file *f = NULL;
  still_error err = {0};
  size_t need;
  if (gguf_parse_buffer(data, len, len, &f, &need, &err) != STILL_OK) g_error("seed %s: %s", name, err.message);
  size_t eight = 8, sixteen = 16, four = 4;
  g_array_append_val(s->fields8, eight);   /* n_tensors */
  g_array_append_val(s->fields8, sixteen); /* n_kv */
  g_array_append_val(s->fields4, four);    /* version */
  for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
    const gguf_kv *kv = gguf_kv_at(f, i);
    add_field(s->fields8, s, kv->key.ptr - 8);
    add_field(s->fields4, s, kv->key.ptr + kv->key.len); /* value type */
    collect_value_fields(s, &kv->value, 0);
  }
  size_t end = 24;
  for (uint64_t i = 0; i < gguf_n_tensors(f); i++) {
    const gguf_tensor *t = gguf_tensor_at(f, i);
    const uint8_t *p = (const uint8_t *)t->name.ptr;
    add_field(s->fields8, s, p - 8);
    p += t->name.len;
    add_field(s->fields4, s, p); /* n_dims */
    p += 4;
    for (uint32_t d = 0; d < t->n_dims; d++, p += 8) add_field(s->fields8, s, p);
    add_field(s->fields4, s, p); /* type */
    add_field(s->fields8, s, p + 4); /* offset */
    end = (size_t)(p + 12 - data);
  }
  if (gguf_n_tensors(f) == 0) {
    /* no tensors: the header ends with the metadata; find its end by parsing prefixes */
    size_t lo = 24, hi = len;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      gguf_file *g = NULL;
      if (gguf_parse_buffer(data, mid, 0, &g, &need, &err) == STILL_OK) {
        gguf_close(g);
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    end = lo;
  }
  s->header_end = end;
  gguf_close(f);
  g_test_message("seed %s: %zu bytes, header %zu bytes, %u length fields, %u type fields", name, len, end,
                 s->fields8->len, s->fields4->len);
}

static void seed_free(seed *s)
{
  g_array_free(s->fields8, TRUE);
  g_array_free(s->fields4, TRUE);
  g_free(s->data);
}

/* A writer-made file with every value type, nested arrays and a few tensors. */
static uint8_t *make_synthetic(size_t *len)
{
  gguf_writer *w = gguf_writer_new();
  gguf_writer_set_alignment(w, 64);
  gguf_writer_add_str(w, "general.architecture", "llama");
  gguf_writer_add_u8(w, "a", 1);
  gguf_writer_add_i8(w, "b", -1);
  gguf_writer_add_u16(w, "c", 2);
  gguf_writer_add_i16(w, "d", -2);
  gguf_writer_add_i32(w, "e", -3);
  gguf_writer_add_u64(w, "f", 4);
  gguf_writer_add_i64(w, "g", -4);
  gguf_writer_add_f32(w, "h", 0.5f);
  gguf_writer_add_f64(w, "i", 0.25);
  gguf_writer_add_bool(w, "j", true);
  int32_t ints[] = {1, 2, 3, 4};
  gguf_writer_add_arr(w, "k", GGUF_TYPE_INT32, ints, 4);
  const char *strs[] = {"x", "", "yz", "Ġw"};
  gguf_writer_add_str_arr(w, "l", strs, 4);
  gguf_str xs[] = {{"p", 1}, {"qr", 2}};
  gguf_value inner[3] = {
    {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_INT32, .n = 4, .data = ints}},
    {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_STRING, .n = 2, .strs = xs}},
    {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_UINT8, .n = 0}},
  };
  gguf_value mid = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_ARRAY, .n = 3, .elems = inner}};
  gguf_value outer = {.type = GGUF_TYPE_ARRAY, .v.arr = {.elem_type = GGUF_TYPE_ARRAY, .n = 1, .elems = &mid}};
  gguf_writer_add_value(w, "m", &outer);
  static float data[256 * 2];
  static uint8_t q[8 * 34];
  int64_t ne1[] = {256, 2}, ne2[] = {256}, ne3[] = {2, 2, 2, 2};
  gguf_writer_add_tensor(w, "blk.0.attn_q.weight", STILL_TYPE_F32, 2, ne1, data);
  gguf_writer_add_tensor(w, "blk.0.q8", STILL_TYPE_Q8_0, 1, ne2, q);
  gguf_writer_add_tensor(w, "blk.0.q4k", STILL_TYPE_Q4_K, 1, ne2, q);
  gguf_writer_add_tensor(w, "four", STILL_TYPE_F32, 4, ne3, data);
  char *dir = g_dir_make_tmp("still-gguf-fuzz-XXXXXX", NULL);
  char *path = g_build_filename(dir, "synthetic.gguf", NULL);
  still_error err = {0};
  if (gguf_writer_write_file(w, path, &err) != STILL_OK) g_error("writer: %s", err.message);
  gguf_writer_free(w);
  gsize n;
  char *bytes = test_read_file(path, &n);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
  *len = n;
  return (uint8_t *)bytes;
}

/* ---- checking a result ----------------------------------------------------- */

static volatile uint64_t sink;

static void touch(const void *p, uint64_t n, const uint8_t *buf, size_t len)
{
  if (n == 0) return;
  const uint8_t *b = p;
  g_assert_true(b >= buf && n <= len && b - buf <= (ptrdiff_t)(len - n));
  sink += b[0] + b[n - 1];
}

static void check_value(const gguf_value *v, const uint8_t *buf, size_t len, int depth)
{
  g_assert_cmpint(depth, <, 40);
  switch (v->type) {
  case GGUF_TYPE_STRING:
    touch(v->v.str.ptr, v->v.str.len, buf, len);
    break;
  case GGUF_TYPE_ARRAY: {
    uint64_t n = v->v.arr.n;
    gguf_type et = v->v.arr.elem_type;
    g_assert_cmpint(et, <, GGUF_TYPE_COUNT);
    if (n == 0) break;
    if (et == GGUF_TYPE_STRING) {
      for (uint64_t i = 0; i < n; i += (i < 32 || i + 32 >= n) ? 1 : (n / 64 + 1))
        touch(v->v.arr.strs[i].ptr, v->v.arr.strs[i].len, buf, len);
    } else if (et == GGUF_TYPE_ARRAY) {
      for (uint64_t i = 0; i < n && i < 64; i++) check_value(&v->v.arr.elems[i], buf, len, depth + 1);
      check_value(&v->v.arr.elems[n - 1], buf, len, depth + 1);
    } else {
      uint64_t u;
      int64_t x;
      float fl;
      (void)gguf_arr_u64(v, 0, &u);
      (void)gguf_arr_i64(v, n - 1, &x);
      (void)gguf_arr_f32(v, n / 2, &fl);
      touch(v->v.arr.data, 1, buf, len);
    }
    break;
  }
  default:
    g_assert_cmpint(v->type, <, GGUF_TYPE_COUNT);
  }
}

static void check_ok(gguf_file *f, const uint8_t *buf, size_t len, uint64_t file_size)
{
  for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
    const gguf_kv *kv = gguf_kv_at(f, i);
    touch(kv->key.ptr, kv->key.len, buf, len);
    check_value(&kv->value, buf, len, 0);
  }
  for (uint64_t i = 0; i < gguf_n_tensors(f) && i < 256; i++) {
    const gguf_tensor *t = gguf_tensor_at(f, i);
    touch(t->name.ptr, t->name.len, buf, len);
    g_assert_cmpuint(t->n_dims, <=, GGUF_MAX_DIMS);
    g_assert_nonnull(still_type_get(t->type));
    if (t->data) touch(t->data, t->size, buf, len);
    char *name = gguf_str_dup(t->name);
    g_assert_true(gguf_find_tensor(f, name) == t);
    free(name);
  }
  g_assert_cmpuint(gguf_alignment(f) & (gguf_alignment(f) - 1), ==, 0);
  if (file_size) g_assert_cmpuint(gguf_expected_size(f), <=, file_size);
  uint32_t u;
  (void)gguf_get_u32(f, "general.alignment", &u);
}

static int n_ok, n_err, n_trunc, n_files;

/* Parse buf[0..len) (a buffer of exactly len bytes) as given, and check. */
static void parse_and_check(const uint8_t *buf, size_t len, uint64_t file_size)
{
  gguf_file *f = NULL;
  still_error err = {0};
  size_t need = 0;
  still_status st = gguf_parse_buffer(buf, len, file_size, &f, &need, &err);
  if (st == STILL_OK) {
    g_assert_nonnull(f);
    check_ok(f, buf, len, file_size);
    gguf_close(f);
    n_ok++;
    return;
  }
  g_assert_null(f);
  if (err.message[0] == 0) g_error("status %s without a message (len %zu)", still_status_name(st), len);
  if (st == STILL_ERR_TRUNCATED) {
    n_trunc++;
    if (file_size == 0) g_assert_cmpuint(need, >, len); /* more bytes always help */
    else if (need) g_assert_cmpuint(need, <=, file_size);
  } else {
    n_err++;
  }
}

static void open_and_check(const char *dir, const uint8_t *buf, size_t len)
{
  char *path = g_build_filename(dir, "fuzz.gguf", NULL);
  GError *error = NULL;
  g_file_set_contents(path, (const char *)buf, (gssize)len, &error);
  g_assert_no_error(error);
  gguf_file *f = NULL;
  still_error err = {0};
  still_status st = gguf_open(path, &f, &err);
  if (st == STILL_OK) {
    /* the mapping is the file: check against a fresh read of it */
    g_assert_nonnull(f);
    g_assert_cmpuint(gguf_file_size(f), ==, len);
    gguf_close(f);
  } else {
    g_assert_null(f);
    if (err.message[0] == 0) g_error("gguf_open: status %s without a message", still_status_name(st));
  }
  n_files++;
  g_unlink(path);
  g_free(path);
}

/* ---- mutations ---------------------------------------------------------------- */

static uint64_t nasty_u64(uint64_t orig, size_t len)
{
  switch (rnd_below(12)) {
  case 0: return 0;
  case 1: return 1;
  case 2: return UINT64_MAX;
  case 3: return 1ull << 63;
  case 4: return (1ull << 32) + rnd_below(4);
  case 5: return orig + 1;
  case 6: return orig - 1;
  case 7: return orig * 2 + 1;
  case 8: return len;
  case 9: return len - rnd_below(64);
  case 10: return rnd_below(1u << 16);
  default: return rnd();
  }
}

static uint32_t nasty_u32(uint32_t orig)
{
  switch (rnd_below(8)) {
  case 0: return 0;
  case 1: return orig + 1;
  case 2: return orig - 1;
  case 3: return GGUF_TYPE_ARRAY;
  case 4: return GGUF_TYPE_STRING;
  case 5: return (uint32_t)rnd_below(40);
  case 6: return UINT32_MAX;
  default: return (uint32_t)rnd();
  }
}

/* A position, mostly inside the header. */
static size_t pick_pos(const seed *s)
{
  if (rnd_below(10) < 9) return (size_t)rnd_below(s->header_end);
  return (size_t)rnd_below(s->len);
}

/* Mutate buf (a copy of the seed, same size) in place; returns nothing, the
 * caller restores from the seed. */
static void mutate_in_place(const seed *s, uint8_t *buf)
{
  int n_mut = 1 + (int)rnd_below(3);
  for (int m = 0; m < n_mut; m++) {
    uint64_t kind = rnd_below(10);
    if (kind < 4) { /* byte flips */
      size_t pos = pick_pos(s);
      buf[pos] ^= (uint8_t)(1u << rnd_below(8));
      if (rnd_below(2)) buf[pick_pos(s)] = (uint8_t)rnd();
    } else if (kind < 8 && s->fields8->len) { /* a count or length */
      size_t pos = g_array_index(s->fields8, size_t, rnd_below(s->fields8->len));
      if (pos + 8 > s->len) continue;
      uint64_t v;
      memcpy(&v, buf + pos, 8);
      v = nasty_u64(v, s->len);
      memcpy(buf + pos, &v, 8);
    } else if (s->fields4->len) { /* a type tag or n_dims */
      size_t pos = g_array_index(s->fields4, size_t, rnd_below(s->fields4->len));
      if (pos + 4 > s->len) continue;
      uint32_t v;
      memcpy(&v, buf + pos, 4);
      v = nasty_u32(v);
      memcpy(buf + pos, &v, 4);
    }
  }
}

static void restore(const seed *s, uint8_t *buf) { memcpy(buf, s->data, s->len); }

static void test_fuzz(void)
{
  static const char *const files[] = {
    "models/stories260K.gguf",
    "models/tiny-qwen3-Q8_0.gguf",
    "vocab/ggml-vocab-llama-spm.gguf",
  };
  seed seeds[G_N_ELEMENTS(files) + 1];
  int n_seeds = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
    char *path = test_fixture_path(files[i]);
    if (!path) return;
    gsize len;
    char *data = test_read_file(path, &len);
    seed_init(&seeds[n_seeds++], files[i], (uint8_t *)data, len);
    g_free(path);
  }
  size_t syn_len;
  uint8_t *syn = make_synthetic(&syn_len);
  seed_init(&seeds[n_seeds++], "synthetic", syn, syn_len);

  /* a working copy of each seed, exactly its size */
  uint8_t *work[G_N_ELEMENTS(seeds)];
  for (int i = 0; i < n_seeds; i++) work[i] = g_memdup2(seeds[i].data, seeds[i].len);
  char *dir = g_dir_make_tmp("still-gguf-fuzz-XXXXXX", NULL);
  g_assert_nonnull(dir);

  double t0 = g_get_monotonic_time() / 1e6;
  for (int it = 0; it < N_ITERATIONS; it++) {
    /* the synthetic seed is the cheapest and the most varied: favour it */
    int si = rnd_below(10) < 4 ? n_seeds - 1 : (int)rnd_below((uint64_t)n_seeds);
    const seed *s = &seeds[si];
    uint8_t *buf = work[si];
    uint64_t kind = rnd_below(10);
    if (kind < 6) {
      /* in place, the whole file; as a file of known size or of unknown size */
      mutate_in_place(s, buf);
      parse_and_check(buf, s->len, kind < 4 ? s->len : 0);
      if (it % 40 == 0) open_and_check(dir, buf, s->len);
      restore(s, buf);
    } else if (kind < 8) {
      /* truncated (sometimes also mutated): an exact-size copy of a prefix */
      size_t len = (size_t)rnd_below(s->header_end + 256);
      if (len > s->len) len = s->len;
      if (rnd_below(3) == 0) mutate_in_place(s, buf);
      uint8_t *copy = g_malloc(len ? len : 1);
      memcpy(copy, buf, len);
      restore(s, buf);
      parse_and_check(copy, len, 0);
      parse_and_check(copy, len, rnd_below(2) ? len : s->len);
      if (it % 40 == 0) open_and_check(dir, copy, len);
      g_free(copy);
    } else {
      /* bytes inserted or deleted inside the header: a copy of the header region */
      size_t base_len = s->header_end + 64 < s->len ? s->header_end + 64 : s->len;
      size_t pos = (size_t)rnd_below(s->header_end);
      size_t k = 1 + (size_t)rnd_below(rnd_below(4) == 0 ? 64 : 8);
      bool insert = rnd_below(2) == 0;
      if (!insert && pos + k > base_len) k = base_len - pos;
      size_t len = insert ? base_len + k : base_len - k;
      uint8_t *copy = g_malloc(len ? len : 1);
      memcpy(copy, s->data, pos);
      if (insert) {
        for (size_t j = 0; j < k; j++) copy[pos + j] = (uint8_t)rnd();
        memcpy(copy + pos + k, s->data + pos, base_len - pos);
      } else {
        memcpy(copy + pos, s->data + pos + k, base_len - pos - k);
      }
      parse_and_check(copy, len, 0);
      parse_and_check(copy, len, len);
      g_free(copy);
    }
  }
  double dt = g_get_monotonic_time() / 1e6 - t0;
  g_test_message("%d iterations in %.1f s: %d parsed, %d truncated, %d other errors, %d opened as files", N_ITERATIONS,
                 dt, n_ok, n_trunc, n_err, n_files);
  /* the mutations must reach both outcomes, or the test tests nothing */
  g_assert_cmpint(n_ok, >, 500);
  g_assert_cmpint(n_err, >, 500);
  g_assert_cmpint(n_trunc, >, 500);

  g_rmdir(dir);
  g_free(dir);
  for (int i = 0; i < n_seeds; i++) {
    g_free(work[i]);
    seed_free(&seeds[i]);
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/gguf/fuzz", test_fuzz);
  return g_test_run();
}
