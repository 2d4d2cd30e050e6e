/* test-hub-search.c — "Search Hugging Face": the search API client (parsing, errors in words)
 * and the search widget against the fake hub: debounced typing, stale answers dropped, a repo's
 * GGUF files with split shards grouped and fit verdicts from the remote headers, a download
 * through the download manager. Screenshot: $DISTILL_SHOTS_DIR/hub-search.png. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "distill-download-manager.h"
#include "distill-hardware.h"
#include "distill-hub-search.h"
#include "distill-hub.h"
#include "distill-resources.h"
#include "fake-hub.h"
#include "fit-shapes.h"
#include "gguf.h"
#include "util.h"

#define GB 1000000000ull
#define TINY "acme/Tiny-R1-GGUF"
#define OTHER "acme/Other-R1-GGUF"
#define UNRELATED "zeta/Unrelated-GGUF"

static FakeHub *hub;
static DistillHub *client;
static char *tmp_root, *models_dir;
static GtkWindow *window;
static DistillHubSearch *search;
static DistillHardware *hardware;
static DistillDownloadManager *manager;

static void spin_ms(guint ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  while (g_get_monotonic_time() < end) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
  }
}

static void spin_until(gboolean (*cond)(void), guint timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (!cond()) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
    if (g_get_monotonic_time() >= end)
      g_test_message("status %s, message %s", distill_hub_search_get_status(search),
                     distill_hub_search_get_message(search));
    g_assert_cmpint(g_get_monotonic_time(), <, end);
  }
}

/* A small but real GGUF (qwen2 layout), whole file. */
static GBytes *tiny_model(void)
{
  still_model_shape shape = {
    .id = "tiny", .name = "Tiny-R1", .arch = "qwen2", .n_embd = 256, .n_layer = 2, .n_head = 4, .n_head_kv = 2,
    .head_dim = 64, .n_ff = 512, .n_vocab = 512, .n_ctx_train = 4096, .rope_base = 10000.0f, .rms_eps = 1e-6f,
    .qkv_bias = true, .confirmed = true,
  };
  void *hdr = NULL;
  size_t len = 0;
  still_error err = {0};
  g_assert_cmpint(still_shape_build_header(&shape, STILL_MIX_Q8_0, true, &hdr, &len, &err), ==, STILL_OK);
  gguf_file *f = NULL;
  size_t need = 0;
  g_assert_cmpint(gguf_parse_buffer(hdr, len, 0, &f, &need, &err), ==, STILL_OK);
  uint64_t total = gguf_expected_size(f);
  gguf_close(f);
  guint8 *data = g_malloc0(total);
  memcpy(data, hdr, len);
  free(hdr);
  return g_bytes_new_take(data, total);
}

/* never called: only headers are written */
static still_status no_tensor_data(void *user, const char *name, FILE *out, uint64_t size, still_error *err)
{
  (void)user, (void)name, (void)out, (void)size, (void)err;
  return STILL_ERR_INVALID_ARG;
}

/* The same model cut in n parts as llama.cpp's gguf-split does (all metadata in the first part,
 * split.no / split.count / split.tensors.count in each, every part's own tensor infos and data). */
static GBytes **tiny_split_model(GBytes *whole, int n)
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
      gguf_writer_add_tensor_fn(w, name, t->type, t->n_dims, t->ne, no_tensor_data, NULL);
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
    free(hdr);
    parts[k] = g_bytes_new_take(data, total);
  }
  gguf_close(f);
  return parts;
}

/* The subtitle of a file item's row, from " · needs" on ("needs 1.2 GB · Runs fully on …"). */
static const char *item_needs(guint i)
{
  GtkWidget *row = gtk_widget_get_ancestor(distill_hub_search_get_file_button(search, TINY, i), ADW_TYPE_ACTION_ROW);
  g_assert_nonnull(row);
  const char *sub = adw_action_row_get_subtitle(ADW_ACTION_ROW(row));
  const char *needs = sub ? strstr(sub, " · needs ") : NULL;
  g_assert_nonnull(needs);
  return needs;
}

/* ---- the API client ---- */

static void test_parse(void)
{
  const char *json = "[{\"_id\":\"1\",\"id\":\"unsloth/DeepSeek-R1-Distill-Qwen-7B-GGUF\",\"downloads\":123456,"
                     "\"likes\":78,\"lastModified\":\"2025-01-20T14:29:49.000Z\",\"gated\":false},"
                     "{\"modelId\":\"bartowski/Model-GGUF\",\"downloads\":1.5e3,\"gated\":\"manual\"},"
                     "{\"id\":\"../../etc\"},{\"id\":42},\"junk\",{\"likes\":3}]";
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = distill_hub_parse_search(json, -1, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(models->len, ==, 2); /* the bad ids and the non-objects are skipped */
  DistillHubModel *a = g_ptr_array_index(models, 0);
  g_assert_cmpstr(a->id, ==, "unsloth/DeepSeek-R1-Distill-Qwen-7B-GGUF");
  g_assert_cmpint(a->downloads, ==, 123456);
  g_assert_cmpint(a->likes, ==, 78);
  g_assert_nonnull(a->last_modified);
  g_assert_cmpint(g_date_time_get_year(a->last_modified), ==, 2025);
  g_assert_cmpint(g_date_time_get_day_of_month(a->last_modified), ==, 20);
  g_assert_false(a->gated);
  DistillHubModel *b = g_ptr_array_index(models, 1);
  g_assert_cmpstr(b->id, ==, "bartowski/Model-GGUF");
  g_assert_cmpint(b->downloads, ==, 1500);
  g_assert_cmpint(b->likes, ==, -1);
  g_assert_null(b->last_modified);
  g_assert_true(b->gated);

  g_autoptr(GPtrArray) empty = distill_hub_parse_search("[]", -1, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(empty->len, ==, 0);

  const char *bad[] = {"", "{\"error\":\"x\"}", "[{\"id\":\"a/b\",", "null"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) e = NULL;
    g_autoptr(GPtrArray) none = distill_hub_parse_search(bad[i], -1, &e);
    g_assert_null(none);
    g_assert_error(e, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL);
  }
}

static GAsyncResult *async_result;
static gboolean have_result(void)
{
  return async_result != NULL;
}
static void got_result(GObject *src, GAsyncResult *res, gpointer data)
{
  (void)src, (void)data;
  async_result = g_object_ref(res);
}

static GPtrArray *search_now(DistillHub *h, const char *query, gint64 *retry_after, GError **error)
{
  g_clear_object(&async_result);
  distill_hub_search_models_async(h, query, 0, NULL, got_result, NULL);
  spin_until(have_result, 10000);
  GPtrArray *out = distill_hub_search_models_finish(h, async_result, retry_after, error);
  g_clear_object(&async_result);
  return out;
}

static void test_api_search(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) r = search_now(client, "r1", NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(r->len, ==, 2);
  /* most downloaded first */
  g_assert_cmpstr(((DistillHubModel *)g_ptr_array_index(r, 0))->id, ==, TINY);
  g_assert_cmpint(((DistillHubModel *)g_ptr_array_index(r, 0))->downloads, ==, 54321);
  g_assert_cmpstr(((DistillHubModel *)g_ptr_array_index(r, 1))->id, ==, OTHER);
  const char *q = fake_hub_last_search_query(hub);
  g_assert_nonnull(strstr(q, "search=r1"));
  g_assert_nonnull(strstr(q, "filter=gguf"));
  g_assert_nonnull(strstr(q, "expand=lastModified"));

  g_autoptr(GPtrArray) none = search_now(client, "no such model", NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(none->len, ==, 0);

  FakeHubFaults *f = fake_hub_faults(hub);
  f->search_status = 500;
  g_autoptr(GPtrArray) r500 = search_now(client, "r1", NULL, &error);
  g_assert_null(r500);
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_SERVER);
  g_assert_nonnull(strstr(error->message, "HTTP 500"));
  g_clear_error(&error);

  f->search_status = 429;
  f->search_retry_after = g_strdup("7");
  gint64 wait = 0;
  g_autoptr(GPtrArray) r429 = search_now(client, "r1", &wait, &error);
  g_assert_null(r429);
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_RATE_LIMITED);
  g_assert_cmpint(wait, ==, 7);
  g_assert_nonnull(strstr(error->message, "7 seconds"));
  g_clear_error(&error);
  f->search_status = 0;
  g_clear_pointer(&f->search_retry_after, g_free);

  f->search_malformed = TRUE;
  g_autoptr(GPtrArray) broken = search_now(client, "r1", NULL, &error);
  g_assert_null(broken);
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL);
  g_clear_error(&error);
  f->search_malformed = FALSE;

  /* offline: nothing listens there */
  g_autoptr(DistillHub) offline = distill_hub_new_for_endpoint("http://127.0.0.1:9");
  g_autoptr(GPtrArray) off = search_now(offline, "r1", NULL, &error);
  g_assert_null(off);
  g_assert_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NETWORK);
  g_assert_nonnull(strstr(error->message, "internet connection"));
}

/* ---- the widget ---- */

static const char *want_status;
static gboolean status_is(void)
{
  return g_strcmp0(distill_hub_search_get_status(search), want_status) == 0;
}

static void wait_status(const char *status)
{
  want_status = status;
  spin_until(status_is, 10000);
}

static guint search_count_goal;
static gboolean search_sent(void)
{
  return fake_hub_search_count(hub) >= search_count_goal;
}

static void test_widget_errors(void)
{
  FakeHubFaults *f = fake_hub_faults(hub);
  f->search_status = 503;
  distill_hub_search_set_query(search, "r1");
  wait_status("error");
  g_assert_nonnull(strstr(distill_hub_search_get_message(search), "HTTP 503"));
  g_assert_cmpuint(distill_hub_search_get_n_results(search), ==, 0);
  f->search_status = 429;
  f->search_retry_after = g_strdup("30");
  search_count_goal = fake_hub_search_count(hub) + 1;
  distill_hub_search_set_query(search, "r1 again");
  spin_until(search_sent, 5000);
  wait_status("error");
  g_assert_nonnull(strstr(distill_hub_search_get_message(search), "30 seconds"));
  f->search_status = 0;
  g_clear_pointer(&f->search_retry_after, g_free);

  /* nothing found: said in words */
  distill_hub_search_set_query(search, "nothing like this");
  wait_status("empty");
  g_assert_nonnull(strstr(distill_hub_search_get_message(search), "nothing like this"));
  g_assert_cmpuint(distill_hub_search_get_n_results(search), ==, 0);
  /* too short: no request */
  guint before = fake_hub_search_count(hub);
  distill_hub_search_set_query(search, "x");
  wait_status("idle");
  spin_ms(100);
  g_assert_cmpuint(fake_hub_search_count(hub), ==, before);
  g_assert_nonnull(strstr(distill_hub_search_get_message(search), "two characters"));
}

static void test_debounce_and_stale(void)
{
  /* typing quickly sends one request, for the last text */
  guint before = fake_hub_search_count(hub);
  distill_hub_search_set_query(search, "Ti");
  spin_ms(50);
  distill_hub_search_set_query(search, "Tin");
  spin_ms(50);
  distill_hub_search_set_query(search, "Tiny");
  spin_ms(DISTILL_HUB_SEARCH_DEBOUNCE_MS - 100);
  g_assert_cmpuint(fake_hub_search_count(hub), ==, before); /* not yet */
  wait_status("results");
  g_assert_cmpuint(fake_hub_search_count(hub), ==, before + 1);
  g_assert_nonnull(strstr(fake_hub_last_search_query(hub), "search=Tiny"));
  g_assert_cmpuint(distill_hub_search_get_n_results(search), ==, 1);
  g_assert_cmpstr(distill_hub_search_get_result_id(search, 0), ==, TINY);

  /* a slow answer to an older query never replaces the newer one's */
  FakeHubFaults *f = fake_hub_faults(hub);
  f->slow_search = g_strdup("R1");
  f->slow_search_ms = 700;
  before = fake_hub_search_count(hub);
  distill_hub_search_set_query(search, "R1");
  search_count_goal = before + 1;
  spin_until(search_sent, 5000); /* the slow request is out */
  g_assert_cmpstr(distill_hub_search_get_status(search), ==, "searching");
  distill_hub_search_set_query(search, "Other");
  wait_status("results");
  g_assert_cmpuint(distill_hub_search_get_n_results(search), ==, 1);
  g_assert_cmpstr(distill_hub_search_get_result_id(search, 0), ==, OTHER);
  spin_ms(1000); /* the slow answer would have arrived by now */
  g_assert_cmpuint(distill_hub_search_get_n_results(search), ==, 1);
  g_assert_cmpstr(distill_hub_search_get_result_id(search, 0), ==, OTHER);
  g_assert_cmpstr(distill_hub_search_get_status(search), ==, "results");
  g_clear_pointer(&f->slow_search, g_free);
}

static gboolean tiny_listed(void)
{
  return distill_hub_search_get_n_files(search, TINY) >= 0;
}

static gboolean verdicts_known(void)
{
  for (guint i = 0; i < 4; i++) {
    g_autofree char *v = distill_hub_search_get_file_verdict(search, TINY, i);
    if (v == NULL) return FALSE;
  }
  return TRUE;
}

static const char *item_id;
static gboolean item_done(void)
{
  DistillItemState st = DISTILL_ITEM_QUEUED;
  distill_download_manager_get_item(manager, item_id, &st, NULL, NULL, NULL, NULL);
  g_assert_cmpint(st, !=, DISTILL_ITEM_FAILED);
  return st == DISTILL_ITEM_DONE;
}

static void screenshot(const char *name)
{
  const char *dir = g_getenv("DISTILL_SHOTS_DIR");
  if (dir == NULL) return;
  spin_ms(300);
  GtkWidget *w = GTK_WIDGET(window);
  GdkPaintable *p = gtk_widget_paintable_new(w);
  int width = gtk_widget_get_width(w), height = gtk_widget_get_height(w);
  GtkSnapshot *snap = gtk_snapshot_new();
  gdk_paintable_snapshot(p, snap, width, height);
  GskRenderNode *node = gtk_snapshot_free_to_node(snap);
  if (node == NULL) return;
  GskRenderer *r = gtk_native_get_renderer(GTK_NATIVE(w));
  GdkTexture *tex = gsk_renderer_render_texture(r, node, &GRAPHENE_RECT_INIT(0, 0, width, height));
  g_mkdir_with_parents(dir, 0755);
  g_autofree char *file = g_strdup_printf("%s/%s.png", dir, name);
  gdk_texture_save_to_png(tex, file);
  g_object_unref(tex);
  gsk_render_node_unref(node);
  g_object_unref(p);
}

static void test_repo_files(void)
{
  distill_hub_search_set_query(search, "");
  wait_status("idle");
  distill_hub_search_set_query(search, "R1");
  wait_status("results");
  g_assert_cmpuint(distill_hub_search_get_n_results(search), ==, 2);
  g_assert_cmpstr(distill_hub_search_get_result_id(search, 0), ==, TINY);
  const char *sub = distill_hub_search_get_result_subtitle(search, 0);
  g_assert_nonnull(strstr(sub, "54.3k downloads"));
  g_assert_nonnull(strstr(sub, "321 likes"));

  g_assert_true(distill_hub_search_open_repo(search, TINY));
  spin_until(tiny_listed, 10000);
  /* README.md is not a model; the two F16 shards are one item, the three Q8_0 parts another */
  g_assert_cmpint(distill_hub_search_get_n_files(search, TINY), ==, 4);
  const char *const *files = NULL;
  gint64 size = 0;
  const char *name = distill_hub_search_get_file_name(search, TINY, 0, &files, &size);
  g_assert_cmpstr(name, ==, "Tiny-R1-Q4_K_M.gguf");
  g_assert_cmpuint(g_strv_length((char **)files), ==, 1);
  name = distill_hub_search_get_file_name(search, TINY, 1, &files, &size);
  g_assert_cmpstr(name, ==, "Tiny-R1-Q8_0.gguf");
  name = distill_hub_search_get_file_name(search, TINY, 2, &files, &size);
  g_assert_cmpstr(name, ==, "f16/Tiny-R1-F16");
  g_assert_cmpuint(g_strv_length((char **)files), ==, 2);
  g_assert_cmpstr(files[0], ==, "f16/Tiny-R1-F16-00001-of-00002.gguf");
  g_assert_cmpstr(files[1], ==, "f16/Tiny-R1-F16-00002-of-00002.gguf");
  g_assert_cmpint(size, ==, 2 * 64 * 1024);
  name = distill_hub_search_get_file_name(search, TINY, 3, &files, &size);
  g_assert_cmpstr(name, ==, "split/Tiny-R1-Q8_0");
  g_assert_cmpuint(g_strv_length((char **)files), ==, 3);

  /* verdicts from the remote headers (the same check as the catalog rows) */
  spin_until(verdicts_known, 20000);
  g_autofree char *v0 = distill_hub_search_get_file_verdict(search, TINY, 0);
  g_autofree char *v2 = distill_hub_search_get_file_verdict(search, TINY, 2);
  g_assert_cmpstr(v0, ==, "gpu");
  /* F16 parts whose bytes are not GGUF: no verdict, the plain "Split" fallback */
  g_assert_cmpstr(v2, ==, "split");
  /* a real split model: a verdict from the headers of all three parts, the same estimate as the
   * whole file (Q8_0, index 1): same memory needed, same message */
  g_autofree char *v1 = distill_hub_search_get_file_verdict(search, TINY, 1);
  g_autofree char *v3 = distill_hub_search_get_file_verdict(search, TINY, 3);
  g_assert_cmpstr(v1, ==, "gpu");
  g_assert_cmpstr(v3, ==, "gpu");
  g_assert_cmpstr(item_needs(3), ==, item_needs(1));
  {
    GtkWidget *row = gtk_widget_get_ancestor(distill_hub_search_get_file_button(search, TINY, 3), ADW_TYPE_ACTION_ROW);
    g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(row)), " in 3 parts · needs "));
  }
  /* a machine without a GPU: the verdicts follow */
  still_hardware hw;
  still_hardware_simulated(&hw, 4 * GB, 0, NULL, false, 0, 0);
  distill_hardware_set_simulated(hardware, &hw);
  g_autofree char *v_cpu = distill_hub_search_get_file_verdict(search, TINY, 1);
  g_assert_cmpstr(v_cpu, ==, "cpu");
  g_autofree char *v_cpu3 = distill_hub_search_get_file_verdict(search, TINY, 3);
  g_assert_cmpstr(v_cpu3, ==, "cpu");
  g_assert_cmpstr(item_needs(3), ==, item_needs(1));
  uint64_t vram = 8 * GB;
  still_hardware_simulated(&hw, 16 * GB, 1, &vram, false, 0, 0);
  distill_hardware_set_simulated(hardware, &hw);
  g_assert_true(distill_hub_search_open_repo(search, OTHER));
  spin_ms(500);
  screenshot("hub-search");

  /* Download hands the files to the download manager */
  GtkWidget *button = distill_hub_search_get_file_button(search, TINY, 1);
  g_assert_true(gtk_widget_get_sensitive(button));
  g_signal_emit_by_name(button, "clicked");
  item_id = TINY "/Tiny-R1-Q8_0.gguf";
  spin_until(item_done, 20000);
  g_autofree char *path = g_build_filename(models_dir, "Tiny-R1-Q8_0.gguf", NULL);
  g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
  spin_ms(50);
  g_assert_cmpstr(gtk_button_get_label(GTK_BUTTON(button)), ==, "Installed");
  g_assert_false(gtk_widget_get_sensitive(button));
}

int main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  tmp_root = g_dir_make_tmp("distill-hub-search-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *data = g_build_filename(tmp_root, "data", NULL);
  g_autofree char *cache = g_build_filename(tmp_root, "cache", NULL);
  g_setenv("XDG_DATA_HOME", data, TRUE);
  g_setenv("XDG_CACHE_HOME", cache, TRUE);
  g_setenv("DISTILL_DOWNLOAD_TIME_SCALE", "0.01", TRUE);
  g_unsetenv("HF_TOKEN");
  models_dir = g_build_filename(data, "distill", "models", NULL);

  gtk_test_init(&argc, &argv, NULL);
  adw_init();
  distill_register_resource();
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new();
  gtk_css_provider_load_from_resource(css, "/io/github/distillapp/Distill/style.css");
  gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  hub = fake_hub_new();
  g_autoptr(GBytes) tiny = tiny_model();
  fake_hub_add_file(hub, TINY, "Tiny-R1-Q8_0.gguf", tiny, TRUE);
  fake_hub_add_file(hub, TINY, "Tiny-R1-Q4_K_M.gguf", tiny, TRUE);
  g_autoptr(GBytes) s1 = fake_hub_make_content(64 * 1024, 11);
  g_autoptr(GBytes) s2 = fake_hub_make_content(64 * 1024, 12);
  fake_hub_add_file(hub, TINY, "f16/Tiny-R1-F16-00001-of-00002.gguf", s1, TRUE);
  fake_hub_add_file(hub, TINY, "f16/Tiny-R1-F16-00002-of-00002.gguf", s2, TRUE);
  GBytes **q8_parts = tiny_split_model(tiny, 3);
  for (int k = 0; k < 3; k++) {
    g_autofree char *part = g_strdup_printf("split/Tiny-R1-Q8_0-%05d-of-00003.gguf", k + 1);
    fake_hub_add_file(hub, TINY, part, q8_parts[k], TRUE);
    g_bytes_unref(q8_parts[k]);
  }
  g_free(q8_parts);
  g_autoptr(GBytes) readme = g_bytes_new_static("# Tiny\n", 7);
  fake_hub_add_file(hub, TINY, "README.md", readme, FALSE);
  fake_hub_add_file(hub, OTHER, "Other-R1-Q4_0.gguf", tiny, TRUE);
  fake_hub_add_file(hub, UNRELATED, "Unrelated-Q4_0.gguf", tiny, TRUE);
  fake_hub_set_repo_info(hub, TINY, 54321, 321, "2025-03-04T05:06:07.000Z");
  fake_hub_set_repo_info(hub, OTHER, 1200, 4, NULL);
  fake_hub_set_repo_info(hub, UNRELATED, 999999, 5, NULL);

  client = distill_hub_new_for_endpoint(fake_hub_endpoint(hub));
  g_autoptr(GSettings) settings = g_settings_new("io.github.distillapp.Distill");
  hardware = distill_hardware_new(settings, models_dir);
  still_hardware hw;
  uint64_t vram = 8 * GB;
  still_hardware_simulated(&hw, 16 * GB, 1, &vram, false, 0, 0);
  distill_hardware_set_simulated(hardware, &hw);
  g_autofree char *state = g_build_filename(tmp_root, "downloads.json", NULL);
  manager = distill_download_manager_new(client, models_dir, state);

  window = GTK_WINDOW(adw_window_new());
  gtk_window_set_default_size(window, 860, 760);
  search = DISTILL_HUB_SEARCH(distill_hub_search_new());
  distill_hub_search_set_services(search, client, hardware, manager, models_dir);
  GtkWidget *clamp = adw_clamp_new();
  adw_clamp_set_maximum_size(ADW_CLAMP(clamp), 820);
  gtk_widget_set_margin_top(clamp, 24);
  gtk_widget_set_margin_start(clamp, 12);
  gtk_widget_set_margin_end(clamp, 12);
  adw_clamp_set_child(ADW_CLAMP(clamp), GTK_WIDGET(search));
  GtkWidget *scroller = gtk_scrolled_window_new();
  gtk_scrolled_window_set_child(GTK_SCROLLED_WINDOW(scroller), clamp);
  adw_window_set_content(ADW_WINDOW(window), scroller);
  gtk_window_present(window);

  g_test_add_func("/hub-search/parse", test_parse);
  g_test_add_func("/hub-search/api", test_api_search);
  g_test_add_func("/hub-search/widget-errors", test_widget_errors);
  g_test_add_func("/hub-search/debounce-and-stale", test_debounce_and_stale);
  g_test_add_func("/hub-search/repo-files", test_repo_files);
  int rc = g_test_run();

  gtk_window_destroy(window);
  spin_ms(50);
  g_object_unref(manager);
  g_object_unref(hardware);
  g_object_unref(client);
  fake_hub_free(hub);
  return rc;
}
