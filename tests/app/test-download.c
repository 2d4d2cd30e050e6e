/* test-download.c — the Hugging Face client and DistillDownload against a fake hub with faults,
 * and `distill pull` killed with SIGKILL and run again.
 *
 * Every download test checks the final bytes (sha256), the user-visible state and message, and
 * — from the ranges the fake server logged and the client's progress it sampled (not the bytes
 * the server pushed into socket buffers, which a client under load may never read) — that no
 * byte range was fetched twice beyond one chunk (64 KiB) per resume. No display is needed. */
#include "config.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "distill-download-state.h"
#include "distill-download.h"
#include "distill-hub.h"
#include "fake-hub.h"
#include "test-util.h"

#define REPO "distill-test/tiny-GGUF"
#define MODEL "tiny-Q4_K_M.gguf"
#define MODEL_SIZE (2 * 1024 * 1024 + 12345)
#define GATED_REPO "gated-org/secret-GGUF"
#define GATED_FILE "secret.gguf"
#define TOKEN "hf_test_token_123"
#define CHUNK DISTILL_DOWNLOAD_CHUNK

typedef struct {
  FakeHub *fake;
  DistillHub *hub;
  char *dir;
  GBytes *model;
  char *model_sha;
  GBytes *small;
  GBytes *gated;
  DistillDownload *current; /* weak: the last download made, probed by the fake hub */
} Fixture;

/* ---- helpers ------------------------------------------------------------------------------- */

static gboolean set_flag(gpointer data)
{
  *(gboolean *)data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Run the main context until *flag, failing the test after timeout_ms. */
static void iterate_until(gboolean *flag, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add(timeout_ms, set_flag, &timed_out);
  while (!*flag && !timed_out) g_main_context_iteration(NULL, TRUE);
  if (!timed_out) g_source_remove(id);
  g_assert_false(timed_out);
}

static void sleep_ms(guint ms)
{
  gboolean done = FALSE;
  g_timeout_add(ms, set_flag, &done);
  while (!done) g_main_context_iteration(NULL, TRUE);
}

typedef struct {
  gboolean done, ok;
  GError *error;
} RunResult;

static void run_cb(GObject *source, GAsyncResult *result, gpointer data)
{
  RunResult *r = data;
  r->ok = distill_download_run_finish(DISTILL_DOWNLOAD(source), result, &r->error);
  r->done = TRUE;
}

static gboolean run_download(DistillDownload *d, GCancellable *cancellable, GError **error)
{
  RunResult r = {0};
  distill_download_run_async(d, cancellable, run_cb, &r);
  iterate_until(&r.done, 25000);
  if (r.error) g_propagate_error(error, r.error);
  return r.ok;
}

static DistillDownload *new_download(Fixture *fx, const char *repo, const char *file)
{
  g_autofree char *dest = g_build_filename(fx->dir, file, NULL);
  DistillDownload *d = distill_download_new(fx->hub, repo, file, NULL, dest);
  /* fast backoff (1 s → 10 ms) and give-up (300 s → 3 s) */
  g_object_set(d, "time-scale", 0.01, "reserve-bytes", (gint64)0, NULL);
  if (fx->current) g_object_remove_weak_pointer(G_OBJECT(fx->current), (gpointer *)&fx->current);
  fx->current = d;
  g_object_add_weak_pointer(G_OBJECT(d), (gpointer *)&fx->current);
  return d;
}

static void assert_file_equals(const char *path, GBytes *expected)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_file_get_contents(path, &data, &len, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(len, ==, g_bytes_get_size(expected));
  g_autofree char *want = fake_hub_sha256(expected);
  g_autofree char *got = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)data, len);
  g_assert_cmpstr(got, ==, want);
}

static gint64 file_size(const char *path)
{
  struct stat st;
  if (g_stat(path, &st) != 0) return -1;
  return st.st_size;
}

/* The fake hub's client probe: how far the current download really got — the bytes in its part
 * (written by the worker thread) or its own count, whichever is ahead. Not what the server wrote:
 * under load the server can push hundreds of KiB into socket buffers that the client never reads
 * before the connection goes away, and those bytes were never "fetched" by the client. */
static gint64 probe_client(gpointer data)
{
  Fixture *fx = data;
  if (fx->current == NULL) return -1;
  gint64 on_disk = file_size(distill_download_get_partial_path(fx->current));
  return MAX(on_disk, distill_download_get_bytes_done(fx->current));
}

static void assert_done(DistillDownload *d, GBytes *content)
{
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_DONE);
  assert_file_equals(distill_download_get_destination(d), content);
  g_assert_false(g_file_test(distill_download_get_partial_path(d), G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(distill_download_get_state_path(d), G_FILE_TEST_EXISTS));
  g_assert_cmpint(distill_download_get_bytes_done(d), ==, (gint64)g_bytes_get_size(content));
  g_assert_cmpint(distill_download_get_total(d), ==, (gint64)g_bytes_get_size(content));
}

/* Body requests (200/206) of the log; returns how many. Asserts that each one started at most
 * max_overlap bytes before the end of what the client already had (its part/bytes-done, sampled
 * by the fake hub while the earlier requests ran and when this one arrived), and never sent
 * Authorization. Without a probe sample, every byte the server wrote counts as received. */
static guint assert_ranges(FakeHub *fake, gint64 max_overlap)
{
  GArray *log = fake_hub_requests(fake);
  gint64 served_end = 0;   /* the end of what the server wrote to its sockets */
  gint64 received_end = 0; /* the end of what the client had actually got */
  guint bodies = 0;
  for (guint i = 0; i < log->len; i++) {
    FakeHubRequest *r = &g_array_index(log, FakeHubRequest, i);
    g_assert_false(r->had_auth);
    gboolean body = r->status == 200 || r->status == 206;
    if (body) {
      if (bodies > 0) {
        gint64 overlap = received_end - r->start;
        if (overlap > max_overlap)
          g_error("request %u starts at %" G_GINT64_FORMAT " but the client already had %" G_GINT64_FORMAT
                  " bytes (%" G_GINT64_FORMAT " served)",
                  i, r->start, received_end, served_end);
      }
      served_end = MAX(served_end, r->start + r->sent);
      bodies++;
    }
    gint64 got = r->received >= 0 ? r->received : (body ? r->start + r->sent : 0);
    /* the probe is real: the client never has more than the server wrote */
    if (body) g_assert_cmpint(got, <=, served_end);
    received_end = MAX(received_end, got);
    g_test_message("request %u: status %u, start %" G_GINT64_FORMAT ", sent %" G_GINT64_FORMAT
                   ", client had %" G_GINT64_FORMAT,
                   i, r->status, r->start, r->sent, r->received);
  }
  return bodies;
}

static guint count_status(FakeHub *fake, guint status)
{
  GArray *log = fake_hub_requests(fake);
  guint n = 0;
  for (guint i = 0; i < log->len; i++)
    if (g_array_index(log, FakeHubRequest, i).status == status) n++;
  return n;
}

/* ---- fixture ------------------------------------------------------------------------------- */

static void fixture_setup(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  fx->dir = g_dir_make_tmp("distill-download-XXXXXX", &error);
  g_assert_no_error(error);
  fx->fake = fake_hub_new();
  fx->model = fake_hub_make_content(MODEL_SIZE, 42);
  fx->model_sha = fake_hub_sha256(fx->model);
  fx->small = fake_hub_make_content(300, 7);
  fx->gated = fake_hub_make_content(200 * 1024, 9);
  g_autoptr(GBytes) shard = fake_hub_make_content(100 * 1024, 11);
  fake_hub_add_file(fx->fake, REPO, MODEL, fx->model, TRUE);
  fake_hub_add_file(fx->fake, REPO, "config.json", fx->small, FALSE);
  fake_hub_add_file(fx->fake, REPO, "Q8_0/tiny-Q8_0-00001-of-00002.gguf", shard, TRUE);
  fake_hub_add_file(fx->fake, REPO, "README.md", fx->small, FALSE);
  fake_hub_add_file(fx->fake, GATED_REPO, GATED_FILE, fx->gated, TRUE);
  fake_hub_set_gated(fx->fake, GATED_REPO, TOKEN);
  fake_hub_add_rename(fx->fake, "old-name/tiny-GGUF", REPO);
  fx->hub = distill_hub_new_for_endpoint(fake_hub_endpoint(fx->fake));
  fake_hub_set_client_probe(fx->fake, probe_client, fx);
}

static void fixture_teardown(Fixture *fx, gconstpointer data)
{
  fake_hub_set_client_probe(fx->fake, NULL, NULL);
  if (fx->current) g_object_remove_weak_pointer(G_OBJECT(fx->current), (gpointer *)&fx->current);
  fx->current = NULL;
  g_clear_object(&fx->hub);
  fake_hub_free(fx->fake);
  /* let libsoup finish closing connections before the next test */
  while (g_main_context_pending(NULL)) g_main_context_iteration(NULL, FALSE);
  test_remove_tree(fx->dir);
  g_free(fx->dir);
  g_bytes_unref(fx->model);
  g_free(fx->model_sha);
  g_bytes_unref(fx->small);
  g_bytes_unref(fx->gated);
}

/* ---- hub client ---------------------------------------------------------------------------- */

static void list_cb(GObject *source, GAsyncResult *result, gpointer data)
{
  gpointer *out = data;
  GError *error = NULL;
  out[0] = distill_hub_list_files_finish(DISTILL_HUB(source), result, &error);
  out[1] = error;
  out[2] = GINT_TO_POINTER(1);
}

static void test_hub_tree(Fixture *fx, gconstpointer data)
{
  gpointer out[3] = {0};
  distill_hub_list_files_async(fx->hub, REPO, "main", NULL, list_cb, out);
  iterate_until((gboolean *)&out[2], 5000);
  g_assert_no_error((GError *)out[1]);
  g_autoptr(GPtrArray) entries = out[0];
  /* 4 files + 1 folder over 3 pages of 2 (Link rel="next" followed) */
  g_assert_cmpuint(entries->len, ==, 5);
  gboolean seen_model = FALSE, seen_dir = FALSE, seen_small = FALSE;
  for (guint i = 0; i < entries->len; i++) {
    DistillHubEntry *e = g_ptr_array_index(entries, i);
    if (g_strcmp0(e->path, MODEL) == 0) {
      seen_model = TRUE;
      g_assert_false(e->is_dir);
      g_assert_cmpint(e->size, ==, MODEL_SIZE);
      g_assert_cmpstr(e->sha256, ==, fx->model_sha);
      g_assert_cmpuint(strlen(e->oid), ==, 40);
    } else if (g_strcmp0(e->path, "Q8_0") == 0) {
      seen_dir = TRUE;
      g_assert_true(e->is_dir);
    } else if (g_strcmp0(e->path, "config.json") == 0) {
      seen_small = TRUE;
      g_assert_null(e->sha256);
      g_assert_cmpint(e->size, ==, 300);
    }
  }
  g_assert_true(seen_model && seen_dir && seen_small);

  /* a missing repo: plain words */
  memset(out, 0, sizeof out);
  distill_hub_list_files_async(fx->hub, "nobody/nothing", "main", NULL, list_cb, out);
  iterate_until((gboolean *)&out[2], 5000);
  g_assert_null(out[0]);
  GError *missing = out[1];
  g_assert_error(missing, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH);
  g_assert_nonnull(strstr(missing->message, "gated or private"));
  g_error_free(missing);
}

static void query_cb(GObject *source, GAsyncResult *result, gpointer data)
{
  gpointer *out = data;
  GError *error = NULL;
  out[0] = distill_hub_query_file_finish(DISTILL_HUB(source), result, &error);
  out[1] = error;
  out[2] = GINT_TO_POINTER(1);
}

static DistillHubFileInfo *query(DistillHub *hub, const char *repo, const char *file, GError **error)
{
  gpointer out[3] = {0};
  distill_hub_query_file_async(hub, repo, "main", file, NULL, query_cb, out);
  iterate_until((gboolean *)&out[2], 5000);
  if (out[1]) g_propagate_error(error, out[1]);
  return out[0];
}

static void test_hub_query(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHubFileInfo) info = query(fx->hub, REPO, MODEL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(info->commit, ==, FAKE_HUB_COMMIT);
  g_assert_cmpstr(info->sha256, ==, fx->model_sha); /* quotes stripped */
  g_assert_cmpstr(info->etag, ==, fx->model_sha);
  g_assert_cmpint(info->size, ==, MODEL_SIZE);
  g_assert_true(g_str_has_prefix(info->location, "http://localhost:"));
  g_assert_cmpuint(fake_hub_requests(fx->fake)->len, ==, 0); /* the CDN was not contacted */

  /* a renamed repo: the relative redirect is followed on the hub */
  g_autoptr(DistillHubFileInfo) renamed = query(fx->hub, "old-name/tiny-GGUF", MODEL, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(renamed->sha256, ==, fx->model_sha);

  /* a small file is answered directly: its etag is the git blob id */
  g_autoptr(DistillHubFileInfo) small = query(fx->hub, REPO, "config.json", &error);
  g_assert_no_error(error);
  g_assert_null(small->sha256);
  g_assert_cmpuint(strlen(small->etag), ==, 40);
  g_assert_cmpint(small->size, ==, 300);
  g_assert_null(small->location);

  /* missing file, gated without token */
  g_assert_null(query(fx->hub, REPO, "nope.gguf", &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NOT_FOUND);
  g_assert_nonnull(strstr(error->message, "nope.gguf"));
  g_clear_error(&error);
  g_assert_null(query(fx->hub, GATED_REPO, GATED_FILE, &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH);
  g_assert_nonnull(strstr(error->message, "token"));
  g_clear_error(&error);
  distill_hub_set_token(fx->hub, "hf_wrong");
  g_assert_null(query(fx->hub, GATED_REPO, GATED_FILE, &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH);
  g_assert_nonnull(strstr(error->message, "no access"));
  g_clear_error(&error);

  /* names we refuse to put in a URL */
  g_assert_null(query(fx->hub, "../etc", MODEL, &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_null(query(fx->hub, REPO, "../../x", &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_INVALID);
}

static void test_hub_helpers(void)
{
  g_autofree char *a = distill_hub_strip_etag("W/\"abc\"");
  g_autofree char *b = distill_hub_strip_etag("\"abc\"");
  g_autofree char *c = distill_hub_strip_etag("abc");
  g_assert_cmpstr(a, ==, "abc");
  g_assert_cmpstr(b, ==, "abc");
  g_assert_cmpstr(c, ==, "abc");

  g_autoptr(SoupMessageHeaders) h = soup_message_headers_new(SOUP_MESSAGE_HEADERS_RESPONSE);
  g_assert_cmpint(distill_hub_parse_retry_after(h), ==, -1);
  soup_message_headers_replace(h, "Retry-After", "120");
  g_assert_cmpint(distill_hub_parse_retry_after(h), ==, 120);
  g_autoptr(GDateTime) later = g_date_time_add_seconds(g_date_time_new_now_utc(), 90);
  g_autofree char *date = soup_date_time_to_string(later, SOUP_DATE_HTTP);
  soup_message_headers_replace(h, "Retry-After", date);
  gint64 wait = distill_hub_parse_retry_after(h);
  g_assert_cmpint(wait, >=, 88);
  g_assert_cmpint(wait, <=, 91);
  soup_message_headers_replace(h, "Retry-After", "soon");
  g_assert_cmpint(distill_hub_parse_retry_after(h), ==, -1);

  /* the token goes to the hub host only */
  g_autoptr(DistillHub) hub = distill_hub_new_for_endpoint("https://hub.example:8443/");
  g_assert_cmpstr(distill_hub_get_endpoint(hub), ==, "https://hub.example:8443");
  distill_hub_set_token(hub, " hf_secret \n");
  g_autoptr(SoupMessage) on_hub = soup_message_new("GET", "https://hub.example:8443/a/b/resolve/main/x");
  g_autoptr(SoupMessage) on_cdn = soup_message_new("GET", "https://cdn.example/x");
  g_autoptr(SoupMessage) other_port = soup_message_new("GET", "https://hub.example/x");
  soup_message_headers_replace(soup_message_get_request_headers(on_cdn), "Authorization", "Bearer stale");
  distill_hub_prepare_message(hub, on_hub);
  distill_hub_prepare_message(hub, on_cdn);
  distill_hub_prepare_message(hub, other_port);
  g_assert_cmpstr(soup_message_headers_get_one(soup_message_get_request_headers(on_hub), "Authorization"), ==,
                  "Bearer hf_secret");
  g_assert_null(soup_message_headers_get_one(soup_message_get_request_headers(on_cdn), "Authorization"));
  g_assert_null(soup_message_headers_get_one(soup_message_get_request_headers(other_port), "Authorization"));
  g_assert_cmpstr(soup_message_headers_get_one(soup_message_get_request_headers(on_hub), "Accept-Encoding"), ==,
                  "identity");

  g_autofree char *url = distill_hub_build_resolve_url(hub, "org/name", "refs/pr/1", "dir/a b.gguf");
  g_assert_cmpstr(url, ==, "https://hub.example:8443/org/name/resolve/refs%2Fpr%2F1/dir/a%20b.gguf");
}

/* ---- downloads ----------------------------------------------------------------------------- */

static void test_basic(Fixture *fx, gconstpointer data)
{
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_QUEUED);
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpstr(distill_download_get_commit(d), ==, FAKE_HUB_COMMIT);
  g_assert_cmpstr(distill_download_get_sha256(d), ==, fx->model_sha);
  g_assert_cmpstr(distill_download_get_message(d), ==, "Downloaded and verified.");
  g_assert_cmpuint(assert_ranges(fx->fake, 0), ==, 1);
  g_assert_cmpuint(fake_hub_resolve_count(fx->fake), ==, 1);
  g_assert_false(g_array_index(fake_hub_requests(fx->fake), FakeHubRequest, 0).ranged);

  /* again: the file is there; it is checked (HEAD + hash), not downloaded */
  fake_hub_clear_log(fx->fake);
  g_autoptr(DistillDownload) again = new_download(fx, REPO, MODEL);
  g_assert_true(run_download(again, NULL, &error));
  g_assert_no_error(error);
  g_assert_cmpint(distill_download_get_state(again), ==, DISTILL_DOWNLOAD_DONE);
  g_assert_cmpstr(distill_download_get_message(again), ==, "Already downloaded and verified.");
  g_assert_cmpuint(fake_hub_requests(fx->fake)->len, ==, 0);
}

static void test_subfolder_and_small_file(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  /* a file in a folder of the repo lands in the same folder under the destination */
  g_autoptr(DistillDownload) shard = new_download(fx, REPO, "Q8_0/tiny-Q8_0-00001-of-00002.gguf");
  g_assert_true(run_download(shard, NULL, &error));
  g_assert_no_error(error);
  g_assert_cmpint(distill_download_get_state(shard), ==, DISTILL_DOWNLOAD_DONE);
  g_assert_cmpint(file_size(distill_download_get_destination(shard)), ==, 100 * 1024);

  /* through a renamed repo (the hub's relative redirect) */
  g_autoptr(DistillDownload) renamed = new_download(fx, "old-name/tiny-GGUF", "README.md");
  g_assert_true(run_download(renamed, NULL, &error));
  g_assert_no_error(error);
  assert_done(renamed, fx->small);

  /* no checksum on the resolve answer: it comes from the tree API */
  fake_hub_faults(fx->fake)->no_etag = TRUE;
  g_autoptr(DistillDownload) tree = new_download(fx, REPO, MODEL);
  g_assert_true(run_download(tree, NULL, &error));
  g_assert_no_error(error);
  assert_done(tree, fx->model);
  g_assert_cmpuint(fake_hub_tree_count(fx->fake), ==, 3); /* three pages */
  g_assert_cmpstr(distill_download_get_sha256(tree), ==, fx->model_sha);
  fake_hub_faults(fx->fake)->no_etag = FALSE;

  /* a small non-LFS file comes straight from the hub; verified by its git blob id */
  g_autoptr(DistillDownload) small = new_download(fx, REPO, "config.json");
  g_assert_true(run_download(small, NULL, &error));
  g_assert_no_error(error);
  assert_done(small, fx->small);
}

static void test_drops(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->drop_at[0] = 300 * 1000 + 7;
  f->drop_at[1] = 900 * 1000;
  f->drop_at[2] = 1700 * 1000 + 1;
  f->n_drops = 3;
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  /* 4 body requests, each resuming exactly where the previous one was cut */
  g_assert_cmpuint(assert_ranges(fx->fake, CHUNK), ==, 4);
  GArray *log = fake_hub_requests(fx->fake);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 1).start, ==, 300 * 1000 + 7);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 2).start, ==, 900 * 1000);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 3).start, ==, 1700 * 1000 + 1);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 3).status, ==, 206);
  /* the signed CDN URL is reused while valid: one resolve only */
  g_assert_cmpuint(fake_hub_resolve_count(fx->fake), ==, 1);
}

static void test_503_burst(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->drop_at[0] = 500 * 1000;
  f->n_drops = 1;
  f->fail_503 = 0;
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  /* a burst of 4 before any byte, then a drop */
  f->fail_503 = 4;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpuint(count_status(fx->fake, 503), ==, 4);
  g_assert_cmpuint(assert_ranges(fx->fake, CHUNK), ==, 2);
}

static void test_429_retry_after(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->fail_429 = 2;
  f->retry_after = g_strdup("40"); /* × time-scale 0.01 = 0.4 s each */
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  gint64 t0 = g_get_monotonic_time();
  g_assert_true(run_download(d, NULL, &error));
  gint64 elapsed = g_get_monotonic_time() - t0;
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpuint(count_status(fx->fake, 429), ==, 2);
  g_assert_cmpint(elapsed, >=, 800 * 1000); /* waited as told, not the 10-20 ms backoff */

  /* Retry-After as an HTTP date, 60 s ahead → 0.6 s scaled */
  fake_hub_clear_log(fx->fake);
  g_autoptr(GDateTime) later = g_date_time_add_seconds(g_date_time_new_now_utc(), 60);
  g_free(f->retry_after);
  f->retry_after = soup_date_time_to_string(later, SOUP_DATE_HTTP);
  f->fail_429 = 1;
  g_autoptr(DistillDownload) d2 = new_download(fx, REPO, "Q8_0/tiny-Q8_0-00001-of-00002.gguf");
  t0 = g_get_monotonic_time();
  g_assert_true(run_download(d2, NULL, &error));
  elapsed = g_get_monotonic_time() - t0;
  g_assert_no_error(error);
  g_assert_cmpint(elapsed, >=, 500 * 1000);
}

static void count_notify(GObject *object, GParamSpec *pspec, guint *n)
{
  ++*n;
}

static void test_trickle(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->trickle_bytes = 16 * 1024;
  f->trickle_ms = 5; /* ≈ 3 MB/s */
  g_autoptr(DistillDownload) d = new_download(fx, "distill-test/tiny-GGUF", MODEL);
  guint speed_notifies = 0;
  double max_speed = 0;
  g_signal_connect(d, "notify::speed", G_CALLBACK(count_notify), &speed_notifies);
  RunResult r = {0};
  distill_download_run_async(d, NULL, run_cb, &r);
  while (!r.done) {
    g_main_context_iteration(NULL, TRUE);
    max_speed = MAX(max_speed, distill_download_get_speed(d));
    if (distill_download_get_state(d) == DISTILL_DOWNLOAD_RUNNING && distill_download_get_speed(d) > 0) {
      g_assert_cmpint(distill_download_get_eta(d), >=, 0);
      g_assert_cmpint(distill_download_get_eta(d), <, 60);
    }
  }
  g_assert_true(r.ok);
  assert_done(d, fx->model);
  g_assert_cmpuint(speed_notifies, >, 0);
  /* the trickle sends ≈ 3.2 MB/s at most */
  g_assert_cmpfloat(max_speed, >, 200 * 1000);
  g_assert_cmpfloat(max_speed, <, 4.5 * 1000 * 1000);
  g_assert_cmpuint(assert_ranges(fx->fake, 0), ==, 1);
}

static void test_wrong_bytes(Fixture *fx, gconstpointer data)
{
  fake_hub_faults(fx->fake)->corrupt_at = 1234567;
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_false(run_download(d, NULL, &error));
  g_assert_error(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_VERIFICATION);
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_FAILED_VERIFICATION);
  g_assert_nonnull(strstr(distill_download_get_message(d), "does not match"));
  g_assert_nonnull(strstr(distill_download_get_message(d), ".part"));
  /* the file is kept, complete, under its .part name; nothing at the final name */
  g_assert_cmpint(file_size(distill_download_get_partial_path(d)), ==, MODEL_SIZE);
  g_assert_false(g_file_test(distill_download_get_destination(d), G_FILE_TEST_EXISTS));
  g_clear_error(&error);
  g_autoptr(DistillDownloadStateFile) st = distill_download_state_file_load(distill_download_get_state_path(d), &error);
  g_assert_no_error(error);
  g_assert_true(st->verification_failed);
  g_assert_nonnull(st->actual_sha256);
  g_assert_cmpstr(st->actual_sha256, !=, fx->model_sha);

  /* a new run says the same, without downloading anything again */
  fake_hub_clear_log(fx->fake);
  g_clear_error(&error);
  g_autoptr(DistillDownload) again = new_download(fx, REPO, MODEL);
  g_assert_false(run_download(again, NULL, &error));
  g_assert_error(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_VERIFICATION);
  g_assert_cmpuint(fake_hub_requests(fx->fake)->len, ==, 0);
  g_assert_cmpint(file_size(distill_download_get_partial_path(d)), ==, MODEL_SIZE);

  /* the user's choices: keep it anyway … */
  g_clear_error(&error);
  g_assert_true(distill_download_keep_unverified(again, &error));
  g_assert_no_error(error);
  g_assert_cmpint(file_size(distill_download_get_destination(d)), ==, MODEL_SIZE);
  g_assert_false(g_file_test(distill_download_get_state_path(d), G_FILE_TEST_EXISTS));

  /* … or (another file) throw it away and download again */
  fake_hub_faults(fx->fake)->corrupt_at = 5000;
  g_autoptr(DistillDownload) shard = new_download(fx, REPO, "Q8_0/tiny-Q8_0-00001-of-00002.gguf");
  g_clear_error(&error);
  g_assert_false(run_download(shard, NULL, &error));
  g_assert_cmpint(distill_download_get_state(shard), ==, DISTILL_DOWNLOAD_FAILED_VERIFICATION);
  fake_hub_faults(fx->fake)->corrupt_at = -1;
  g_clear_error(&error);
  g_assert_true(distill_download_discard_partial(shard, &error));
  g_assert_false(g_file_test(distill_download_get_partial_path(shard), G_FILE_TEST_EXISTS));
  g_assert_true(run_download(shard, NULL, &error));
  g_assert_no_error(error);
  g_assert_cmpint(distill_download_get_state(shard), ==, DISTILL_DOWNLOAD_DONE);
}

static void test_gated(Fixture *fx, gconstpointer data)
{
  g_autoptr(DistillDownload) d = new_download(fx, GATED_REPO, GATED_FILE);
  g_autoptr(GError) error = NULL;
  g_assert_false(run_download(d, NULL, &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH);
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_FAILED);
  g_assert_nonnull(strstr(distill_download_get_message(d), "gated or private"));
  g_assert_nonnull(strstr(distill_download_get_message(d), "token"));
  /* nothing was downloaded: nothing left behind */
  g_assert_false(g_file_test(distill_download_get_partial_path(d), G_FILE_TEST_EXISTS));
  g_assert_cmpuint(fake_hub_resolve_count(fx->fake), ==, 1); /* not retried */

  /* with the token: works, and the token never reached the CDN host */
  distill_hub_set_token(fx->hub, TOKEN);
  g_clear_error(&error);
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->gated);
  g_assert_true(fake_hub_saw_auth_on_hub(fx->fake));
  assert_ranges(fx->fake, 0); /* asserts had_auth is FALSE on every CDN request */
}

static void test_short_body(Fixture *fx, gconstpointer data)
{
  fake_hub_faults(fx->fake)->short_body_once = TRUE;
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpuint(assert_ranges(fx->fake, CHUNK), ==, 2);
  GArray *log = fake_hub_requests(fx->fake);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 1).start, ==, MODEL_SIZE / 2);
}

static void test_server_restart(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->drop_at[0] = 777 * 1000;
  f->n_drops = 1;
  f->drop_restart_ms = 400; /* connection refused for 0.4 s: several retries */
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpuint(assert_ranges(fx->fake, CHUNK), ==, 2);
  g_assert_cmpint(g_array_index(fake_hub_requests(fx->fake), FakeHubRequest, 1).start, ==, 777 * 1000);
}

static void test_cdn_403_reresolve(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->drop_at[0] = 600 * 1000;
  f->n_drops = 1;
  f->expire_on_drop = TRUE; /* the cached signed URL has expired when the client comes back */
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpuint(count_status(fx->fake, 403), ==, 1);
  g_assert_cmpuint(fake_hub_resolve_count(fx->fake), ==, 2);
  g_assert_cmpuint(assert_ranges(fx->fake, CHUNK), ==, 2);
}

static void test_range_ignored(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->drop_at[0] = 400 * 1000;
  f->n_drops = 1;
  f->ignore_range_once = TRUE; /* the resume gets 200 + the whole file: start over from 0 */
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  GArray *log = fake_hub_requests(fx->fake);
  g_assert_cmpuint(log->len, ==, 2);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 1).status, ==, 200);
}

/* Write a part (and optionally its state file) as an earlier run would have left it. */
static void make_part(Fixture *fx, const char *dest, gint64 length, gboolean with_state, const char *boot_id,
                      gint64 checkpoint)
{
  g_autofree char *part = g_strconcat(dest, ".part", NULL);
  g_autoptr(GError) error = NULL;
  g_assert_true(g_file_set_contents(part, g_bytes_get_data(fx->model, NULL), length, &error));
  if (!with_state) return;
  g_autoptr(DistillDownloadStateFile) st = distill_download_state_file_new();
  st->repo = g_strdup(REPO);
  st->file = g_strdup(MODEL);
  st->revision = g_strdup("main");
  st->commit = g_strdup(FAKE_HUB_COMMIT);
  st->size = MODEL_SIZE;
  st->sha256 = g_strdup(fx->model_sha);
  st->etag = g_strdup(fx->model_sha);
  st->checkpoint = checkpoint;
  st->boot_id = g_strdup(boot_id);
  g_autofree char *json = distill_download_state_file_to_json(st);
  g_autofree char *state = g_strconcat(part, ".json", NULL);
  g_assert_true(distill_download_state_file_save_json(json, state, &error));
}

static void test_resume_existing_part(Fixture *fx, gconstpointer data)
{
  g_autofree char *dest = g_build_filename(fx->dir, MODEL, NULL);
  const char *boot = distill_download_state_boot_id();
  make_part(fx, dest, 1000 * 1000 + 3, TRUE, boot, 512 * 1024);
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  GArray *log = fake_hub_requests(fx->fake);
  g_assert_cmpuint(log->len, ==, 1);
  /* same boot: everything on disk is trusted, even past the last fsync checkpoint */
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 0).start, ==, 1000 * 1000 + 3);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 0).status, ==, 206);
}

static void test_resume_after_reboot(Fixture *fx, gconstpointer data)
{
  g_autofree char *dest = g_build_filename(fx->dir, MODEL, NULL);
  make_part(fx, dest, 1500 * 1000, TRUE, "00000000-another-boot", 1024 * 1024);
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  /* another boot: only the fsync'd checkpoint is trusted */
  g_assert_cmpint(g_array_index(fake_hub_requests(fx->fake), FakeHubRequest, 0).start, ==, 1024 * 1024);
}

static void test_resume_without_state(Fixture *fx, gconstpointer data)
{
  /* a part without its state file: resumed (the final check decides) */
  g_autofree char *dest = g_build_filename(fx->dir, MODEL, NULL);
  make_part(fx, dest, 123456, FALSE, NULL, 0);
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpint(g_array_index(fake_hub_requests(fx->fake), FakeHubRequest, 0).start, ==, 123456);
}

static void test_416_complete(Fixture *fx, gconstpointer data)
{
  /* the whole file is in the part but there is no state file: Range past the end → 416 → verify */
  g_autofree char *dest = g_build_filename(fx->dir, MODEL, NULL);
  make_part(fx, dest, MODEL_SIZE, FALSE, NULL, 0);
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpuint(count_status(fx->fake, 416), ==, 1);
  g_assert_cmpuint(assert_ranges(fx->fake, 0), ==, 0);

  /* with its state file the complete part is verified without asking the network at all */
  fake_hub_clear_log(fx->fake);
  g_unlink(dest);
  make_part(fx, dest, MODEL_SIZE, TRUE, distill_download_state_boot_id(), MODEL_SIZE);
  g_autoptr(DistillDownload) d2 = new_download(fx, REPO, MODEL);
  g_assert_true(run_download(d2, NULL, &error));
  g_assert_no_error(error);
  assert_done(d2, fx->model);
  g_assert_cmpuint(fake_hub_requests(fx->fake)->len, ==, 0);
  g_assert_cmpuint(fake_hub_resolve_count(fx->fake), ==, 0);
}

typedef struct {
  DistillDownload *d;
  gint64 at;
  gboolean fired;
  void (*action)(DistillDownload *);
} AtBytes;

static void at_bytes(GObject *object, GParamSpec *pspec, AtBytes *a)
{
  if (!a->fired && distill_download_get_bytes_done(a->d) >= a->at) {
    a->fired = TRUE;
    a->action(a->d);
  }
}

/* bytes-done is notified at most every 100 ms: also look every few ms, so the action comes as
 * soon as the bytes are there, however the notifications fall */
static gboolean poll_at_bytes(gpointer data)
{
  AtBytes *a = data;
  at_bytes(NULL, NULL, a);
  return G_SOURCE_CONTINUE;
}

static gboolean is_paused(DistillDownload *d)
{
  return distill_download_get_state(d) == DISTILL_DOWNLOAD_PAUSED;
}

static void test_pause_resume(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->trickle_bytes = 32 * 1024;
  f->trickle_ms = 2;
  /* the server holds back the bytes past 1.2 MB: however late a loaded machine runs the pause,
   * it comes before the end of the file */
  f->stall_at = 1200 * 1000;
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  AtBytes a = {d, 700 * 1000, FALSE, distill_download_pause};
  g_signal_connect(d, "notify::bytes-done", G_CALLBACK(at_bytes), &a);
  guint poll = g_timeout_add(2, poll_at_bytes, &a);
  RunResult r = {0};
  distill_download_run_async(d, NULL, run_cb, &r);
  gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (!is_paused(d) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
  g_source_remove(poll);
  g_assert_true(is_paused(d));
  g_assert_false(r.done); /* pausing does not end the run */
  g_assert_true(g_str_has_prefix(distill_download_get_message(d), "Paused"));
  gint64 paused_at = distill_download_get_bytes_done(d);
  g_assert_cmpint(paused_at, >=, 700 * 1000);
  g_assert_cmpint(paused_at, <, MODEL_SIZE);
  /* the checkpoint of the pause: state file on disk, part fsync'd at exactly paused_at */
  g_assert_cmpint(file_size(distill_download_get_partial_path(d)), ==, paused_at);
  g_autoptr(DistillDownloadStateFile) st = distill_download_state_file_load(distill_download_get_state_path(d), NULL);
  g_assert_nonnull(st);
  g_assert_cmpint(st->checkpoint, ==, paused_at);
  sleep_ms(100);
  g_assert_cmpint(distill_download_get_bytes_done(d), ==, paused_at); /* really stopped */

  f->stall_at = -1;
  distill_download_resume(d);
  iterate_until(&r.done, 15000);
  g_assert_true(r.ok);
  assert_done(d, fx->model);
  g_assert_cmpuint(assert_ranges(fx->fake, CHUNK), ==, 2);
  g_assert_cmpint(g_array_index(fake_hub_requests(fx->fake), FakeHubRequest, 1).start, ==, paused_at);
}

static void cancel_it(DistillDownload *d)
{
  GCancellable *c = g_object_get_data(G_OBJECT(d), "test-cancellable");
  g_cancellable_cancel(c);
}

static void test_cancel(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->trickle_bytes = 32 * 1024;
  f->trickle_ms = 2;
  f->stall_at = 900 * 1000; /* the cancel always comes before the end, however loaded the machine */
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new();
  g_object_set_data(G_OBJECT(d), "test-cancellable", cancellable);
  AtBytes a = {d, 500 * 1000, FALSE, cancel_it};
  gulong id = g_signal_connect(d, "notify::bytes-done", G_CALLBACK(at_bytes), &a);
  guint poll = g_timeout_add(2, poll_at_bytes, &a);
  g_autoptr(GError) error = NULL;
  g_assert_false(run_download(d, cancellable, &error));
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_source_remove(poll);
  g_signal_handler_disconnect(d, id);
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_PAUSED);
  gint64 kept = file_size(distill_download_get_partial_path(d));
  g_assert_cmpint(kept, >=, 500 * 1000);
  g_assert_cmpint(kept, ==, distill_download_get_bytes_done(d));

  g_assert_cmpint(kept, <=, 900 * 1000);

  /* a new run of the same object continues */
  f->trickle_bytes = 0;
  f->stall_at = -1;
  g_clear_error(&error);
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpuint(assert_ranges(fx->fake, CHUNK), ==, 2);
}

static gboolean is_waiting(DistillDownload *d)
{
  const char *m = distill_download_get_message(d);
  return m && strstr(m, "Retrying in");
}

static void test_pause_while_waiting(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->fail_503 = 1000;
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_object_set(d, "time-scale", 1.0, NULL); /* real backoff: 0.5–1 s, then 1–2 s … */
  RunResult r = {0};
  distill_download_run_async(d, NULL, run_cb, &r);
  gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (!is_waiting(d) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
  g_assert_true(is_waiting(d));
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_RUNNING);
  guint asked = count_status(fx->fake, 503);
  /* nothing is in flight while waiting: the pause takes effect at once, no retry happens */
  distill_download_pause(d);
  end = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
  while (!is_paused(d) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
  g_assert_true(is_paused(d));
  sleep_ms(1200);
  g_assert_cmpuint(count_status(fx->fake, 503), ==, asked);
  g_assert_false(r.done);

  /* resume when the server is fine again */
  f->fail_503 = 0;
  distill_download_resume(d);
  iterate_until(&r.done, 10000);
  g_assert_true(r.ok);
  assert_done(d, fx->model);
}

static void test_cancel_while_paused(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->trickle_bytes = 32 * 1024;
  f->trickle_ms = 2;
  f->stall_at = 700 * 1000; /* the pause always comes before the end */
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  AtBytes a = {d, 300 * 1000, FALSE, distill_download_pause};
  g_signal_connect(d, "notify::bytes-done", G_CALLBACK(at_bytes), &a);
  guint poll = g_timeout_add(2, poll_at_bytes, &a);
  RunResult r = {0};
  distill_download_run_async(d, NULL, run_cb, &r);
  gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (!is_paused(d) && g_get_monotonic_time() < end) g_main_context_iteration(NULL, TRUE);
  g_source_remove(poll);
  g_assert_true(is_paused(d));
  distill_download_cancel(d);
  iterate_until(&r.done, 5000);
  g_assert_false(r.ok);
  g_assert_error(r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&r.error);
  gint64 kept = file_size(distill_download_get_partial_path(d));
  g_assert_cmpint(kept, >=, 300 * 1000);
  g_assert_true(g_file_test(distill_download_get_state_path(d), G_FILE_TEST_EXISTS));

  /* a second object for the same file cannot write into the part while the first holds it */
  g_autoptr(DistillDownload) other = new_download(fx, REPO, MODEL);
  g_autoptr(GError) error = NULL;
  g_assert_false(run_download(other, NULL, &error));
  g_assert_error(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_BUSY);
  g_assert_nonnull(strstr(distill_download_get_message(other), "already being downloaded"));
  g_assert_cmpint(file_size(distill_download_get_partial_path(d)), ==, kept); /* untouched */
  g_assert_true(g_file_test(distill_download_get_state_path(d), G_FILE_TEST_EXISTS));

  /* one cancelled while it waits for that lock (a run winding down may hold it a moment) ends
   * cancelled, not failed as busy */
  g_autoptr(DistillDownload) third = new_download(fx, REPO, MODEL);
  RunResult r3 = {0};
  distill_download_run_async(third, NULL, run_cb, &r3);
  sleep_ms(300);
  g_assert_false(r3.done); /* still waiting */
  distill_download_cancel(third);
  iterate_until(&r3.done, 5000);
  g_assert_false(r3.ok);
  g_assert_error(r3.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error(&r3.error);
  g_assert_cmpint(file_size(distill_download_get_partial_path(d)), ==, kept);
}

static void test_give_up(Fixture *fx, gconstpointer data)
{
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  f->drop_at[0] = 512 * 1024;
  f->n_drops = 1;
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_object_set(d, "give-up-seconds", 60u, NULL); /* × 0.01 = 0.6 s */
  /* every request after the first one (cut at 512 KiB) fails with 503 */
  GArray *log = fake_hub_requests(fx->fake);
  RunResult r = {0};
  distill_download_run_async(d, NULL, run_cb, &r);
  while (log->len == 0) g_main_context_iteration(NULL, TRUE);
  f->fail_503 = 100000;
  gint64 t0 = g_get_monotonic_time();
  iterate_until(&r.done, 15000);
  gint64 elapsed = g_get_monotonic_time() - t0;
  g_assert_false(r.ok);
  g_assert_error(r.error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_GAVE_UP);
  g_clear_error(&r.error);
  g_assert_cmpint(elapsed, >=, 550 * 1000);
  g_assert_cmpint(elapsed, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint(count_status(fx->fake, 503), >=, 3);
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_FAILED);
  const char *msg = distill_download_get_message(d);
  g_assert_nonnull(strstr(msg, "Gave up"));
  g_assert_nonnull(strstr(msg, "kept"));
  g_assert_nonnull(strstr(msg, "503"));
  /* the part and its state are kept */
  g_assert_cmpint(file_size(distill_download_get_partial_path(d)), ==, 512 * 1024);
  g_autoptr(DistillDownloadStateFile) st = distill_download_state_file_load(distill_download_get_state_path(d), NULL);
  g_assert_nonnull(st);
  g_assert_cmpint(st->checkpoint, ==, 512 * 1024);

  /* the server is back: a new run resumes */
  f->fail_503 = 0;
  fake_hub_clear_log(fx->fake);
  g_autoptr(GError) error = NULL;
  g_assert_true(run_download(d, NULL, &error));
  g_assert_no_error(error);
  assert_done(d, fx->model);
  g_assert_cmpint(g_array_index(fake_hub_requests(fx->fake), FakeHubRequest, 0).start, ==, 512 * 1024);
}

static void test_disk_full(Fixture *fx, gconstpointer data)
{
  /* before starting: not enough free space for the rest + the reserve */
  g_autoptr(DistillDownload) d = new_download(fx, REPO, MODEL);
  g_object_set(d, "reserve-bytes", (gint64)(G_MAXINT64 / 8), NULL);
  g_autoptr(GError) error = NULL;
  g_assert_false(run_download(d, NULL, &error));
  g_assert_error(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_NO_SPACE);
  g_assert_nonnull(strstr(distill_download_get_message(d), "Not enough free disk space"));
  g_assert_cmpint(distill_download_get_state(d), ==, DISTILL_DOWNLOAD_FAILED);
  g_clear_error(&error);

  /* ENOSPC while writing: the part is a link to /dev/full */
  if (!g_file_test("/dev/full", G_FILE_TEST_EXISTS)) {
    g_test_message("no /dev/full; ENOSPC part skipped");
    return;
  }
  g_autoptr(DistillDownload) d2 = new_download(fx, REPO, "Q8_0/tiny-Q8_0-00001-of-00002.gguf");
  g_autofree char *dir = g_path_get_dirname(distill_download_get_partial_path(d2));
  g_mkdir_with_parents(dir, 0755);
  g_assert_cmpint(symlink("/dev/full", distill_download_get_partial_path(d2)), ==, 0);
  g_assert_false(run_download(d2, NULL, &error));
  g_assert_error(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_NO_SPACE);
  const char *msg = distill_download_get_message(d2);
  g_assert_nonnull(strstr(msg, "The disk is full"));
  g_assert_nonnull(strstr(msg, "102.4")); /* g_format_size puts a no-break space before the unit */
  g_assert_nonnull(strstr(msg, "downloaded"));
  g_assert_nonnull(strstr(msg, "kept"));
}

static void test_not_found(Fixture *fx, gconstpointer data)
{
  g_autoptr(DistillDownload) d = new_download(fx, REPO, "missing.gguf");
  g_autoptr(GError) error = NULL;
  g_assert_false(run_download(d, NULL, &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NOT_FOUND);
  g_assert_nonnull(strstr(distill_download_get_message(d), "missing.gguf"));
  g_assert_cmpuint(fake_hub_resolve_count(fx->fake), ==, 1);
  g_clear_error(&error);

  g_autoptr(DistillDownload) bad = new_download(fx, "no-slash", MODEL);
  g_assert_false(run_download(bad, NULL, &error));
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_INVALID);
  g_assert_cmpint(distill_download_get_state(bad), ==, DISTILL_DOWNLOAD_FAILED);
}

static void test_state_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp("distill-state-XXXXXX", &error);
  g_autofree char *path = g_build_filename(dir, "x.part.json", NULL);
  g_assert_null(distill_download_state_file_load(path, &error));
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_clear_error(&error);

  g_autoptr(DistillDownloadStateFile) s = distill_download_state_file_new();
  s->repo = g_strdup("a/b");
  s->file = g_strdup("c.gguf");
  s->size = 5000000000;
  s->sha256 = g_strdup("ab");
  s->checkpoint = 4194304;
  s->verification_failed = TRUE;
  g_autofree char *json = distill_download_state_file_to_json(s);
  g_assert_true(distill_download_state_file_save_json(json, path, &error));
  g_autoptr(DistillDownloadStateFile) t = distill_download_state_file_load(path, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(t->repo, ==, "a/b");
  g_assert_cmpstr(t->file, ==, "c.gguf");
  g_assert_cmpint(t->size, ==, 5000000000);
  g_assert_cmpint(t->checkpoint, ==, 4194304);
  g_assert_true(t->verification_failed);
  g_assert_null(t->commit);

  const char *bad[] = {"", "[1,2]", "{\"version\": 99}", "{\"version\": 1, \"size\": \"x\", \"repo\": 5}", "{{{"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_assert_true(g_file_set_contents(path, bad[i], -1, NULL));
    DistillDownloadStateFile *u = distill_download_state_file_load(path, &error);
    if (i == 3) {
      /* wrong member types are ignored, not trusted */
      g_assert_no_error(error);
      g_assert_cmpint(u->size, ==, -1);
      g_assert_null(u->repo);
      distill_download_state_file_free(u);
    } else {
      g_assert_null(u);
      g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      g_clear_error(&error);
    }
  }
  g_unlink(path);
  g_rmdir(dir);
}

/* ---- `distill pull` ------------------------------------------------------------------------ */

static GSubprocess *spawn_pull(Fixture *fx, GError **error, ...)
{
  const char *bin = g_getenv("DISTILL_BIN");
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv(launcher, "HF_ENDPOINT", fake_hub_endpoint(fx->fake), TRUE);
  g_subprocess_launcher_setenv(launcher, "DISTILL_DOWNLOAD_TIME_SCALE", "0.01", TRUE);
  g_subprocess_launcher_unsetenv(launcher, "HF_TOKEN");
  g_subprocess_launcher_setenv(launcher, "LC_ALL", "C.UTF-8", TRUE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, (gpointer)bin);
  va_list ap;
  va_start(ap, error);
  for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) g_ptr_array_add(argv, (gpointer)a);
  va_end(ap);
  g_ptr_array_add(argv, NULL);
  return g_subprocess_launcher_spawnv(launcher, (const char *const *)argv->pdata, error);
}

typedef struct {
  gboolean done;
  char *output;
} Communicated;

static void communicated(GObject *source, GAsyncResult *result, gpointer data)
{
  Communicated *c = data;
  g_subprocess_communicate_utf8_finish(G_SUBPROCESS(source), result, &c->output, NULL, NULL);
  c->done = TRUE;
}

static void waited(GObject *source, GAsyncResult *result, gpointer data)
{
  g_subprocess_wait_finish(G_SUBPROCESS(source), result, NULL);
  *(gboolean *)data = TRUE;
}

/* Wait for the process while the fake hub keeps serving; returns its output. */
static char *wait_process(GSubprocess *proc)
{
  Communicated c = {0};
  g_subprocess_communicate_utf8_async(proc, NULL, NULL, communicated, &c);
  iterate_until(&c.done, 25000);
  gboolean exited = FALSE;
  g_subprocess_wait_async(proc, NULL, waited, &exited);
  iterate_until(&exited, 5000);
  return c.output ? c.output : g_strdup("");
}

static gint64 sent_end(FakeHub *fake)
{
  GArray *log = fake_hub_requests(fake);
  if (log->len == 0) return 0;
  FakeHubRequest *r = &g_array_index(log, FakeHubRequest, log->len - 1);
  return r->start + r->sent;
}

static void kill_and_wait(GSubprocess *proc)
{
  g_subprocess_send_signal(proc, SIGKILL);
  g_autofree char *out = wait_process(proc);
  g_assert_true(g_subprocess_get_if_signaled(proc));
  g_assert_cmpint(g_subprocess_get_term_sig(proc), ==, SIGKILL);
}

static void test_pull_sigkill_resume(Fixture *fx, gconstpointer data)
{
  if (g_getenv("DISTILL_BIN") == NULL) {
    g_test_skip("DISTILL_BIN is not set (run through meson test)");
    return;
  }
  g_autoptr(GError) error = NULL;
  FakeHubFaults *f = fake_hub_faults(fx->fake);
  GArray *log = fake_hub_requests(fx->fake);
  g_autofree char *out_dir = g_build_filename(fx->dir, "library", NULL);
  g_autofree char *dest = g_build_filename(out_dir, MODEL, NULL);
  g_autofree char *part = g_strconcat(dest, ".part", NULL);
  g_autofree char *state = g_strconcat(part, ".json", NULL);
  const gint64 stall = 700 * 1000 + 1; /* not a multiple of any chunk or checkpoint size */

  /* 1. The server sends 700,001 bytes, then nothing. Once they are all in the part, SIGKILL:
   *    far from any 4 MiB checkpoint, yet nothing that had arrived may be fetched again. */
  f->trickle_bytes = 16 * 1024;
  f->trickle_ms = 5;
  f->stall_at = stall;
  g_autoptr(GSubprocess) first = spawn_pull(fx, &error, "pull", REPO, MODEL, "--dir", out_dir, NULL);
  g_assert_no_error(error);
  gint64 deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
  while (file_size(part) < stall && g_get_monotonic_time() < deadline) g_main_context_iteration(NULL, FALSE);
  g_assert_cmpint(file_size(part), ==, stall);
  kill_and_wait(first);
  g_assert_true(g_file_test(state, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(dest, G_FILE_TEST_EXISTS));

  /* 2. Run again: it resumes exactly there. Kill it again mid-stream, while bytes flow. */
  f->stall_at = -1;
  fake_hub_clear_log(fx->fake);
  g_autoptr(GSubprocess) second = spawn_pull(fx, &error, "pull", REPO, MODEL, "--dir", out_dir, NULL);
  g_assert_no_error(error);
  deadline = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
  while (sent_end(fx->fake) < 1500 * 1000 && g_get_monotonic_time() < deadline) g_main_context_iteration(NULL, TRUE);
  g_assert_cmpuint(log->len, ==, 1);
  g_assert_true(g_array_index(log, FakeHubRequest, 0).ranged);
  g_assert_cmpint(g_array_index(log, FakeHubRequest, 0).start, ==, stall);
  kill_and_wait(second);
  gint64 sent = sent_end(fx->fake);
  gint64 part_size = file_size(part);
  g_test_message("killed with %" G_GINT64_FORMAT " bytes sent and %" G_GINT64_FORMAT " in the part", sent, part_size);
  g_assert_cmpint(sent, <, MODEL_SIZE);
  g_assert_cmpint(part_size, <=, sent);
  /* ≤ one 64 KiB chunk in the process, plus what the sockets still held when it died */
  g_assert_cmpint(sent - part_size, <=, 4 * CHUNK);

  /* 3. Third run: resumes at the end of the part, finishes, verifies, exits 0. */
  f->trickle_bytes = 0;
  fake_hub_clear_log(fx->fake);
  g_autoptr(GSubprocess) third = spawn_pull(fx, &error, "pull", REPO, MODEL, "--dir", out_dir, NULL);
  g_assert_no_error(error);
  g_autofree char *out3 = wait_process(third);
  g_test_message("third run:\n%s", out3);
  g_assert_true(g_subprocess_get_if_exited(third));
  g_assert_cmpint(g_subprocess_get_exit_status(third), ==, 0);
  g_assert_nonnull(strstr(out3, "verified"));
  g_assert_nonnull(strstr(out3, fx->model_sha));
  assert_file_equals(dest, fx->model);
  g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
  g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
  g_assert_cmpuint(log->len, ==, 1);
  FakeHubRequest *r = &g_array_index(log, FakeHubRequest, 0);
  g_assert_true(r->ranged);
  g_assert_cmpint(r->status, ==, 206);
  g_assert_cmpint(r->start, ==, part_size);
  g_assert_cmpint(r->start + r->sent, ==, MODEL_SIZE);
}

static void test_pull_errors(Fixture *fx, gconstpointer data)
{
  if (g_getenv("DISTILL_BIN") == NULL) {
    g_test_skip("DISTILL_BIN is not set (run through meson test)");
    return;
  }
  g_autoptr(GError) error = NULL;
  struct {
    const char *args[6];
    int status;
    const char *says;
  } cases[] = {
    {{"pull", NULL}, 2, "Usage"},
    {{"pull", "not-a-repo", "x.gguf", NULL}, 2, "not a Hugging Face model name"},
    {{"pull", REPO, "../x", NULL}, 2, "not a file name"},
    {{"fit", NULL}, 2, "Usage: distill fit"},
    {{"pull", GATED_REPO, GATED_FILE, "--dir", fx->dir, NULL}, 1, "gated or private"},
    {{"pull", REPO, "nothing.gguf", "--dir", fx->dir, NULL}, 1, "no file"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    const char **a = cases[i].args;
    g_autoptr(GSubprocess) p = spawn_pull(fx, &error, a[0], a[1], a[2], a[3], a[4], a[5]);
    g_assert_no_error(error);
    g_autofree char *out = wait_process(p);
    g_test_message("%s → %s", a[0], out);
    g_assert_true(g_subprocess_get_if_exited(p));
    g_assert_cmpint(g_subprocess_get_exit_status(p), ==, cases[i].status);
    g_assert_nonnull(strstr(out, cases[i].says));
  }

  /* wrong bytes: exit 3, the part is kept */
  fake_hub_faults(fx->fake)->corrupt_at = 10;
  g_autoptr(GSubprocess) p = spawn_pull(fx, &error, "pull", REPO, "Q8_0/tiny-Q8_0-00001-of-00002.gguf", "--dir",
                                        fx->dir, NULL);
  g_autofree char *out = wait_process(p);
  g_assert_cmpint(g_subprocess_get_exit_status(p), ==, 3);
  g_assert_nonnull(strstr(out, "does not match"));
  g_autofree char *part = g_build_filename(fx->dir, "Q8_0", "tiny-Q8_0-00001-of-00002.gguf.part", NULL);
  g_assert_cmpint(file_size(part), ==, 100 * 1024);

  /* --restart throws the bad part away and downloads again */
  fake_hub_faults(fx->fake)->corrupt_at = -1;
  g_autoptr(GSubprocess) p2 = spawn_pull(fx, &error, "pull", REPO, "Q8_0/tiny-Q8_0-00001-of-00002.gguf", "--dir",
                                         fx->dir, "--restart", NULL);
  g_autofree char *out2 = wait_process(p2);
  g_assert_cmpint(g_subprocess_get_exit_status(p2), ==, 0);
  g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv)
{
  g_unsetenv("HF_TOKEN");
  g_unsetenv("HF_ENDPOINT");
  g_unsetenv("DISTILL_DOWNLOAD_TIME_SCALE");
  g_setenv("LC_ALL", "C.UTF-8", TRUE);
  g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add("/download/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  g_test_add_func("/hub/helpers", test_hub_helpers);
  g_test_add("/hub/tree", Fixture, NULL, fixture_setup, test_hub_tree, fixture_teardown);
  g_test_add("/hub/query", Fixture, NULL, fixture_setup, test_hub_query, fixture_teardown);
  g_test_add_func("/download/state-file", test_state_file);
  ADD("basic", test_basic);
  ADD("subfolder-and-small-file", test_subfolder_and_small_file);
  ADD("drops", test_drops);
  ADD("503-burst", test_503_burst);
  ADD("429-retry-after", test_429_retry_after);
  ADD("trickle", test_trickle);
  ADD("wrong-bytes", test_wrong_bytes);
  ADD("gated", test_gated);
  ADD("short-body", test_short_body);
  ADD("server-restart", test_server_restart);
  ADD("cdn-403-reresolve", test_cdn_403_reresolve);
  ADD("range-ignored", test_range_ignored);
  ADD("resume-existing-part", test_resume_existing_part);
  ADD("resume-after-reboot", test_resume_after_reboot);
  ADD("resume-without-state", test_resume_without_state);
  ADD("416-complete", test_416_complete);
  ADD("pause-resume", test_pause_resume);
  ADD("cancel", test_cancel);
  ADD("pause-while-waiting", test_pause_while_waiting);
  ADD("cancel-while-paused", test_cancel_while_paused);
  ADD("give-up", test_give_up);
  ADD("disk-full", test_disk_full);
  ADD("not-found", test_not_found);
  g_test_add("/cli/pull-sigkill-resume", Fixture, NULL, fixture_setup, test_pull_sigkill_resume, fixture_teardown);
  g_test_add("/cli/pull-errors", Fixture, NULL, fixture_setup, test_pull_errors, fixture_teardown);
  return g_test_run();
}
