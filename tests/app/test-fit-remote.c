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
  g_test_add_func("/fit-remote/fetch-and-fit", test_fetch_and_fit);
  g_test_add_func("/fit-remote/server-ignores-range", test_server_ignores_range);
  g_test_add_func("/fit-remote/errors", test_errors);
  g_test_add_func("/fit-remote/cli", test_cli);
  int rc = g_test_run();
  fake_hub_free(hub);
  g_bytes_unref(content);
  g_free(cache_home);
  return rc;
}
