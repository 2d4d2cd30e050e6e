/* test-fit-remote.c — "will it fit" from a remote header: the fake hub serves a GGUF whose
 * header (~11 MB, bigger than the first 8 MiB request) is a small part of the file. The header
 * must be read with Range requests that stop at the header, the verdict must match the local
 * estimate, a second look must come from the cache, and `distill fit` must print it. */
#include <glib/gstdio.h>
#include <string.h>

#include "distill-hub.h"
#include "distill-remote-fit.h"
#include "fake-hub.h"
#include "fit-shapes.h"
#include "gguf.h"
#include "util.h"

#define REPO "test/Tiny-R1-GGUF"
#define FILE_NAME "Tiny-R1-Q4_K_M.gguf"
#define N_MERGES 400000

static FakeHub *hub;
static GBytes *content;
static gsize header_len;
static char *cache_home;

/* never called: only the header is written */
static still_status no_data(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  (void)user, (void)name, (void)out, (void)size;
  return still_set_error(err, STILL_ERR_INVALID_ARG, "header only");
}

static bool add_tensor(const still_shape_tensor *t, void *user)
{
  gguf_writer_add_tensor_fn(user, t->name, t->type, t->n_dims, t->ne, no_data, NULL);
  return true;
}

/* A small qwen2 model with a large tokenizer (merges dominate real headers too). */
static GBytes *make_model(gsize *hlen)
{
  still_model_shape shape = {
    .id = "tiny", .name = "Tiny-R1", .arch = "qwen2", .n_embd = 1024, .n_layer = 8, .n_head = 8, .n_head_kv = 2,
    .head_dim = 128, .n_ff = 4096, .n_vocab = 2048, .n_ctx_train = 32768, .rope_base = 10000.0f,
    .rms_eps = 1e-6f, .qkv_bias = true, .confirmed = true,
  };
  gguf_writer *w = gguf_writer_new();
  still_shape_add_metadata(w, &shape, STILL_MIX_Q4_K_M, true);
  char **merges = g_new0(char *, N_MERGES + 1);
  for (int i = 0; i < N_MERGES; i++) merges[i] = g_strdup_printf("Ġtok%06d Ġm%06d", i, i);
  gguf_writer_add_str_arr(w, "tokenizer.ggml.merges", (const char *const *)merges, N_MERGES);
  g_strfreev(merges);
  g_assert_true(still_shape_for_each_tensor(&shape, STILL_MIX_Q4_K_M, add_tensor, w));
  void *hdr = NULL;
  size_t len = 0;
  still_error err = {0};
  still_status wst = gguf_writer_write_header_mem(w, &hdr, &len, &err);
  if (wst != STILL_OK) g_error("%s", err.message);
  gguf_writer_free(w);
  /* the whole file's size, from the header's own tensor table */
  gguf_file *f = NULL;
  size_t need = 0;
  g_assert_cmpint(gguf_parse_buffer(hdr, len, 0, &f, &need, &err), ==, STILL_OK);
  uint64_t total = gguf_expected_size(f);
  gguf_close(f);
  g_assert_cmpuint(total, >, len * 4);
  guint8 *data = g_malloc0(total);
  memcpy(data, hdr, len);
  for (uint64_t i = len; i < total; i++) data[i] = (guint8)(i * 2654435761u >> 24);
  free(hdr);
  *hlen = len;
  return g_bytes_new_take(data, total);
}

typedef struct {
  GBytes *header;
  guint64 size, fetched;
  GError *error;
  gboolean done;
} Result;

static void fetched_cb(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  Result *r = user_data;
  r->header = distill_remote_header_fetch_finish(res, &r->size, &r->fetched, &r->error);
  r->done = TRUE;
}

static Result fetch(gboolean use_cache, const char *file)
{
  g_autoptr(DistillHub) client = distill_hub_new_for_endpoint(fake_hub_endpoint(hub));
  Result r = {0};
  distill_remote_header_fetch_async(client, REPO, file, use_cache, NULL, fetched_cb, &r);
  while (!r.done) g_main_context_iteration(NULL, TRUE);
  return r;
}

static void test_fetch_and_fit(void)
{
  fake_hub_clear_log(hub);
  Result r = fetch(FALSE, FILE_NAME);
  g_assert_no_error(r.error);
  g_assert_nonnull(r.header);
  gsize file_size = g_bytes_get_size(content);
  g_assert_cmpuint(r.size, ==, file_size);
  /* grew past the first 8 MiB, stopped near the header end, far below the file size */
  g_assert_cmpuint(header_len, >, DISTILL_REMOTE_HEADER_FIRST_BYTES);
  g_assert_cmpuint(g_bytes_get_size(r.header), >=, header_len);
  g_assert_cmpuint(r.fetched, ==, g_bytes_get_size(r.header));
  g_assert_cmpuint(r.fetched, <, header_len + 2 * 1024 * 1024);
  g_assert_cmpuint(r.fetched, <, file_size / 4);
  GArray *reqs = fake_hub_requests(hub);
  g_assert_cmpuint(reqs->len, >=, 2);
  gint64 sent = 0;
  for (guint i = 0; i < reqs->len; i++) {
    FakeHubRequest *q = &g_array_index(reqs, FakeHubRequest, i);
    g_assert_true(q->ranged);
    g_assert_cmpuint(q->status, ==, 206);
    sent += q->sent;
  }
  g_assert_cmpint(sent, ==, (gint64)r.fetched);
  g_assert_cmpmem(g_bytes_get_data(r.header, NULL), header_len, g_bytes_get_data(content, NULL), header_len);

  /* the verdict from the fetched bytes equals the one from the whole file */
  still_hardware hw;
  uint64_t vram = 4000000000ull;
  still_hardware_simulated(&hw, 16000000000ull, 1, &vram, false, 0, 0);
  still_fit a, b;
  still_error err = {0};
  g_assert_cmpint(still_fit_estimate_buffer(g_bytes_get_data(r.header, NULL), g_bytes_get_size(r.header), r.size, &hw,
                                            NULL, &a, NULL, &err), ==, STILL_OK);
  g_assert_cmpint(still_fit_estimate_buffer(g_bytes_get_data(content, NULL), file_size, file_size, &hw, NULL, &b,
                                            NULL, &err), ==, STILL_OK);
  g_assert_cmpint(a.verdict, ==, STILL_FIT_GPU);
  g_assert_cmpint(a.verdict, ==, b.verdict);
  g_assert_cmpuint(a.total_bytes, ==, b.total_bytes);
  g_bytes_unref(r.header);

  /* again: from the cache, no request */
  fake_hub_clear_log(hub);
  guint resolves = fake_hub_resolve_count(hub);
  Result c = fetch(TRUE, FILE_NAME);
  g_assert_no_error(c.error);
  g_assert_cmpuint(c.fetched, ==, 0);
  g_assert_cmpuint(c.size, ==, file_size);
  g_assert_cmpuint(fake_hub_requests(hub)->len, ==, 0);
  g_assert_cmpuint(fake_hub_resolve_count(hub), ==, resolves);
  g_bytes_unref(c.header);
}

static void test_server_ignores_range(void)
{
  fake_hub_clear_log(hub);
  fake_hub_faults(hub)->ignore_range_once = TRUE;
  Result r = fetch(FALSE, FILE_NAME);
  g_assert_no_error(r.error);
  g_assert_cmpuint(g_bytes_get_size(r.header), >=, header_len);
  g_assert_cmpmem(g_bytes_get_data(r.header, NULL), header_len, g_bytes_get_data(content, NULL), header_len);
  g_assert_cmpuint(r.fetched, <, g_bytes_get_size(content) / 4); /* it stopped reading the 200 body */
  g_bytes_unref(r.header);
}

/* ---- split models ---- */

#define SPLIT_FMT "split/Tiny-R1-Q4_K_M-%05d-of-00003.gguf"
#define GAP_FMT "gap/Tiny-R1-Q4_K_M-%05d-of-00003.gguf" /* part 2 is not on the hub */

/* The model cut in n parts as llama.cpp's gguf-split does: all metadata (the 11 MB tokenizer
 * included) in the first part, split.no / split.count / split.tensors.count in each, every part's
 * own tensor infos and data. */
static GBytes **split_model(GBytes *whole, int n)
{
  gsize whole_len = 0;
  const void *whole_data = g_bytes_get_data(whole, &whole_len);
  gguf_file *f = NULL;
  still_error err = {0};
  g_assert_cmpint(gguf_parse_buffer(whole_data, whole_len, 0, &f, NULL, &err), ==, STILL_OK);
  uint64_t nt = gguf_n_tensors(f);
  GBytes **parts = g_new0(GBytes *, n + 1);
  for (int k = 0; k < n; k++) {
    gguf_writer *w = gguf_writer_new();
    if (k == 0)
      for (uint64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        g_autofree char *key = g_strndup(kv->key.ptr, kv->key.len);
        gguf_writer_add_value(w, key, &kv->value);
      }
    gguf_writer_add_u16(w, "split.no", (uint16_t)k);
    gguf_writer_add_u16(w, "split.count", (uint16_t)n);
    gguf_writer_add_i32(w, "split.tensors.count", (int32_t)nt);
    for (uint64_t i = 0; i < nt; i++) {
      if ((int)(i * (uint64_t)n / nt) != k) continue;
      const gguf_tensor *t = gguf_tensor_at(f, i);
      g_autofree char *name = g_strndup(t->name.ptr, t->name.len);
      gguf_writer_add_tensor_fn(w, name, t->type, t->n_dims, t->ne, no_data, NULL);
    }
    void *hdr = NULL;
    size_t len = 0;
    g_assert_cmpint(gguf_writer_write_header_mem(w, &hdr, &len, &err), ==, STILL_OK);
    gguf_writer_free(w);
    gguf_file *pf = NULL;
    g_assert_cmpint(gguf_parse_buffer(hdr, len, 0, &pf, NULL, &err), ==, STILL_OK);
    uint64_t total = gguf_expected_size(pf);
    gguf_close(pf);
    guint8 *data = g_malloc0(total);
    memcpy(data, hdr, len);
    for (uint64_t i = len; i < total; i++) data[i] = (guint8)(i * 2654435761u >> 24);
    free(hdr);
    parts[k] = g_bytes_new_take(data, total);
  }
  gguf_close(f);
  return parts;
}

typedef struct {
  GPtrArray *headers;
  GArray *sizes;
  guint64 fetched;
  GError *error;
  gboolean done;
} PartsResult;

static void parts_fetched_cb(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  PartsResult *r = user_data;
  r->headers = distill_remote_headers_fetch_finish(res, &r->sizes, &r->fetched, &r->error);
  r->done = TRUE;
}

static PartsResult fetch_parts(gboolean use_cache, const char *fmt)
{
  g_autoptr(DistillHub) client = distill_hub_new_for_endpoint(fake_hub_endpoint(hub));
  char *files[4] = {0};
  for (int k = 0; k < 3; k++) files[k] = g_strdup_printf(fmt, k + 1);
  PartsResult r = {0};
  distill_remote_headers_fetch_async(client, REPO, (const char *const *)files, use_cache, NULL, parts_fetched_cb, &r);
  while (!r.done) g_main_context_iteration(NULL, TRUE);
  for (int k = 0; k < 3; k++) g_free(files[k]);
  return r;
}

static void test_split(void)
{
  fake_hub_clear_log(hub);
  PartsResult r = fetch_parts(FALSE, SPLIT_FMT);
  g_assert_no_error(r.error);
  g_assert_nonnull(r.headers);
  g_assert_cmpuint(r.headers->len, ==, 3);
  g_assert_cmpuint(r.sizes->len, ==, 3);
  guint64 total = 0;
  for (guint k = 0; k < 3; k++) total += g_array_index(r.sizes, guint64, k);
  g_assert_cmpuint(total, >, g_bytes_get_size(content));
  /* only the headers came over the network, with Range requests (several for the first part) */
  g_assert_cmpuint(r.fetched, <, header_len + 2 * 1024 * 1024 + 2 * DISTILL_REMOTE_HEADER_FIRST_BYTES);
  g_assert_cmpuint(r.fetched, <, total / 2);
  GArray *reqs = fake_hub_requests(hub);
  g_assert_cmpuint(reqs->len, >=, 4);
  for (guint i = 0; i < reqs->len; i++) g_assert_true(g_array_index(reqs, FakeHubRequest, i).ranged);

  /* the estimate from the three headers equals the whole file's, on several machines */
  uint64_t vram = 4000000000ull;
  still_hardware machines[2];
  still_hardware_simulated(&machines[0], 16000000000ull, 1, &vram, false, 0, 0);
  still_hardware_simulated(&machines[1], 8000000000ull, 0, NULL, false, 0, 0);
  gsize file_size = g_bytes_get_size(content);
  for (int m = 0; m < 2; m++) {
    still_fit a, b;
    still_error err = {0};
    gboolean ok = distill_remote_fit_estimate_parts(r.headers, r.sizes, &machines[m], NULL, &a, &err);
    if (!ok) g_test_message("%s", err.message);
    g_assert_true(ok);
    g_assert_cmpint(still_fit_estimate_buffer(g_bytes_get_data(content, NULL), file_size, file_size, &machines[m],
                                              NULL, &b, NULL, &err), ==, STILL_OK);
    g_assert_cmpint(a.verdict, ==, b.verdict);
    g_assert_cmpint(a.gpu_layers, ==, b.gpu_layers);
    g_assert_cmpuint(a.weights_bytes, ==, b.weights_bytes);
    g_assert_cmpuint(a.total_bytes, ==, b.total_bytes);
    g_assert_cmpstr(a.message, ==, b.message);
  }
  /* the first part alone does not pass for the model */
  g_autoptr(GPtrArray) first = g_ptr_array_new();
  g_ptr_array_add(first, g_ptr_array_index(r.headers, 0));
  still_fit c;
  still_error err = {0};
  g_assert_false(distill_remote_fit_estimate_parts(first, NULL, &machines[0], NULL, &c, &err));
  g_assert_cmpstr(err.message, ==, "shard 2 of 3 is missing");
  g_ptr_array_unref(r.headers);
  g_array_unref(r.sizes);

  /* again: every part from the cache */
  fake_hub_clear_log(hub);
  r = fetch_parts(TRUE, SPLIT_FMT);
  g_assert_no_error(r.error);
  g_assert_cmpuint(r.headers->len, ==, 3);
  g_assert_cmpuint(r.fetched, ==, 0);
  g_assert_cmpuint(fake_hub_requests(hub)->len, ==, 0);
  g_ptr_array_unref(r.headers);
  g_array_unref(r.sizes);

  /* a part missing on the hub: which one, in words */
  r = fetch_parts(FALSE, GAP_FMT);
  g_assert_null(r.headers);
  g_assert_error(r.error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NOT_FOUND);
  g_assert_true(g_str_has_prefix(r.error->message, "Part 2 of 3 could not be read: "));
  g_clear_error(&r.error);
}

static void test_errors(void)
{
  Result r = fetch(FALSE, "missing.gguf");
  g_assert_null(r.header);
  g_assert_error(r.error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NOT_FOUND);
  g_clear_error(&r.error);
  r = fetch(FALSE, "notes.txt");
  g_assert_null(r.header);
  g_assert_error(r.error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error(&r.error);
  r = fetch(FALSE, "../etc/passwd");
  g_assert_null(r.header);
  g_assert_nonnull(r.error);
  g_clear_error(&r.error);
}

typedef struct {
  char *out;
  gboolean done;
} Comm;

static void communicated(GObject *src, GAsyncResult *res, gpointer user_data)
{
  Comm *c = user_data;
  g_subprocess_communicate_utf8_finish(G_SUBPROCESS(src), res, &c->out, NULL, NULL);
  c->done = TRUE;
}

/* Runs `distill fit …` while this process's main context serves the fake hub. */
static int run_cli(char **output, const char *const *args)
{
  g_autoptr(GSubprocessLauncher) l =
    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv(l, "HF_ENDPOINT", fake_hub_endpoint(hub), TRUE);
  g_subprocess_launcher_setenv(l, "XDG_CACHE_HOME", cache_home, TRUE);
  g_subprocess_launcher_setenv(l, "DISTILL_SIMULATE_HARDWARE", "16,4", TRUE);
  g_subprocess_launcher_setenv(l, "LC_ALL", "C.UTF-8", TRUE);
  g_subprocess_launcher_unsetenv(l, "HF_TOKEN");
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(l, args, &error);
  g_assert_no_error(error);
  Comm c = {0};
  g_subprocess_communicate_utf8_async(p, NULL, NULL, communicated, &c);
  while (!c.done) g_main_context_iteration(NULL, TRUE);
  g_subprocess_wait(p, NULL, NULL);
  *output = c.out;
  return g_subprocess_get_if_exited(p) ? g_subprocess_get_exit_status(p) : -1;
}

static void test_cli(void)
{
  const char *bin = g_getenv("DISTILL_BIN");
  if (bin == NULL) {
    g_test_skip("DISTILL_BIN not set");
    return;
  }
  /* a fresh cache: the CLI must fetch */
  g_autofree char *dir = distill_remote_header_cache_dir();
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
    g_autofree char *path = g_build_filename(dir, name, NULL);
    g_unlink(path);
  }
  fake_hub_clear_log(hub);
  g_autofree char *out = NULL;
  const char *args[] = {bin, "fit", REPO, FILE_NAME, "--ctx", "2048", NULL};
  int rc = run_cli(&out, args);
  g_test_message("%s", out);
  g_assert_cmpint(rc, ==, 0);
  g_assert_nonnull(strstr(out, "Verdict: gpu"));
  g_assert_nonnull(strstr(out, "fetched"));
  g_assert_nonnull(strstr(out, "Context: 2048 tokens"));
  g_assert_cmpuint(fake_hub_requests(hub)->len, >=, 2);
  /* a machine too small for it */
  g_free(g_steal_pointer(&out));
  const char *args2[] = {bin, "fit", REPO, FILE_NAME, NULL};
  rc = run_cli(&out, args2);
  g_assert_cmpint(rc, ==, 0);
  g_assert_nonnull(strstr(out, "from the cache"));
  /* a missing file: exit 1; bad usage: exit 2 */
  g_free(g_steal_pointer(&out));
  const char *args3[] = {bin, "fit", REPO, "missing.gguf", NULL};
  g_assert_cmpint(run_cli(&out, args3), ==, 1);
  g_free(g_steal_pointer(&out));
  const char *args4[] = {bin, "fit", REPO, NULL};
  g_assert_cmpint(run_cli(&out, args4), ==, 2);
  g_free(g_steal_pointer(&out));
  const char *args5[] = {bin, "fit", REPO, FILE_NAME, "--ctx", "lots", NULL};
  g_assert_cmpint(run_cli(&out, args5), ==, 2);

  /* a split model named by any part: every part's header is read, and the verdict and memory are
   * those of the whole file */
  g_free(g_steal_pointer(&out));
  const char *whole[] = {bin, "fit", REPO, FILE_NAME, "--ctx", "2048", NULL};
  g_assert_cmpint(run_cli(&out, whole), ==, 0);
  g_autofree char *whole_out = g_steal_pointer(&out);
  g_autofree char *part1 = g_strdup_printf(SPLIT_FMT, 1);
  g_autofree char *part3 = g_strdup_printf(SPLIT_FMT, 3);
  for (int k = 0; k < 2; k++) {
    const char *split[] = {bin, "fit", REPO, k == 0 ? part1 : part3, "--ctx", "2048", NULL};
    rc = run_cli(&out, split);
    g_test_message("%s", out);
    g_assert_cmpint(rc, ==, 0);
    g_assert_nonnull(strstr(out, "A split model: 3 parts"));
    const char *verdict = strstr(out, "Verdict: ");
    g_assert_nonnull(verdict);
    g_assert_cmpstr(verdict, ==, strstr(whole_out, "Verdict: "));
    g_free(g_steal_pointer(&out));
  }
  /* a part missing on the hub */
  g_autofree char *gap1 = g_strdup_printf(GAP_FMT, 1);
  const char *gap[] = {bin, "fit", REPO, gap1, NULL};
  g_assert_cmpint(run_cli(&out, gap), ==, 1);
  g_assert_nonnull(strstr(out, "Part 2 of 3"));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autoptr(GError) error = NULL;
  cache_home = g_dir_make_tmp("distill-fit-XXXXXX", &error);
  g_assert_no_error(error);
  g_setenv("XDG_CACHE_HOME", cache_home, TRUE);
  hub = fake_hub_new();
  content = make_model(&header_len);
  fake_hub_add_file(hub, REPO, FILE_NAME, content, TRUE);
  g_autoptr(GBytes) txt = g_bytes_new_static("hello", 5);
  fake_hub_add_file(hub, REPO, "notes.txt", txt, FALSE);
  GBytes **parts = split_model(content, 3);
  for (int k = 0; k < 3; k++) {
    g_autofree char *name = g_strdup_printf(SPLIT_FMT, k + 1);
    fake_hub_add_file(hub, REPO, name, parts[k], TRUE);
    g_autofree char *gap = g_strdup_printf(GAP_FMT, k + 1);
    if (k != 1) fake_hub_add_file(hub, REPO, gap, parts[k], TRUE);
    g_bytes_unref(parts[k]);
  }
  g_free(parts);
  g_test_add_func("/fit-remote/fetch-and-fit", test_fetch_and_fit);
  g_test_add_func("/fit-remote/server-ignores-range", test_server_ignores_range);
  g_test_add_func("/fit-remote/errors", test_errors);
  g_test_add_func("/fit-remote/split", test_split);
  g_test_add_func("/fit-remote/cli", test_cli);
  int rc = g_test_run();
  fake_hub_free(hub);
  g_bytes_unref(content);
  g_free(cache_home);
  return rc;
}
