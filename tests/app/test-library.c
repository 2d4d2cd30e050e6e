/* test-library.c — the Library page in a window, against the fake hub: verdicts on every row,
 * the recommended model highlighted, one-click download into a temp models folder, pause /
 * resume / cancel, delete with confirmation, a verdict from a remote header, and screenshots. */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "distill-catalog.h"
#include "distill-download-manager.h"
#include "distill-hardware.h"
#include "distill-library-page.h"
#include "distill-preferences.h"
#include "distill-resources.h"
#include "fake-hub.h"
#include "fit-shapes.h"
#include "gguf.h"
#include "util.h"

#define GB 1000000000ull
#define R15 "unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF"
#define F15 "DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf"
#define R7 "unsloth/DeepSeek-R1-Distill-Qwen-7B-GGUF"
#define F7 "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf"
#define F7Q8 "DeepSeek-R1-Distill-Qwen-7B-Q8_0.gguf"

static FakeHub *hub;
static char *tmp_root, *models_dir;
static GtkWindow *window;
static DistillLibraryPage *page;
static DistillHardware *hardware;
static GSettings *settings;

static void spin_until(gboolean (*cond)(void), guint timeout_ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (!cond()) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
    if (g_get_monotonic_time() >= end) {
      GArray *r = fake_hub_requests(hub);
      for (guint i = 0; i < r->len; i++) {
        FakeHubRequest *q = &g_array_index(r, FakeHubRequest, i);
        g_test_message("request %u: start %" G_GINT64_FORMAT " sent %" G_GINT64_FORMAT " status %u", i, q->start,
                       q->sent, q->status);
      }
      g_test_message("qwen-7b Q4_K_M: %s, %s", distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"),
                     distill_library_page_get_progress_text(page, "qwen-7b", "Q4_K_M"));
    }
    g_assert_cmpint(g_get_monotonic_time(), <, end);
  }
}

static void spin_ms(guint ms)
{
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  while (g_get_monotonic_time() < end) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
  }
}

static void click(const char *model, const char *quant, const char *which)
{
  GtkWidget *b = distill_library_page_get_quant_button(page, model, quant, which);
  g_assert_nonnull(b);
  g_assert_true(gtk_widget_get_visible(b));
  g_signal_emit_by_name(b, "clicked");
}

static void screenshot_of(GtkWindow *win, const char *name)
{
  const char *dir = g_getenv("DISTILL_SHOTS_DIR");
  if (dir == NULL) return;
  spin_ms(300);
  GtkWidget *w = GTK_WIDGET(win);
  GdkPaintable *p = gtk_widget_paintable_new(w);
  int width = gtk_widget_get_width(w), height = gtk_widget_get_height(w);
  GtkSnapshot *snap = gtk_snapshot_new();
  gdk_paintable_snapshot(p, snap, width, height);
  GskRenderNode *node = gtk_snapshot_free_to_node(snap);
  if (node == NULL) return;
  GskRenderer *r = gtk_native_get_renderer(GTK_NATIVE(w));
  GdkTexture *tex = gsk_renderer_render_texture(r, node, &GRAPHENE_RECT_INIT(0, 0, width, height));
  g_mkdir_with_parents(dir, 0755);
  g_autofree char *file = g_strdup_printf("%s/library-%s.png", dir, name);
  gdk_texture_save_to_png(tex, file);
  g_object_unref(tex);
  gsk_render_node_unref(node);
  g_object_unref(p);
}

static void screenshot(const char *name)
{
  screenshot_of(window, name);
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

static void set_machine(uint64_t ram, uint64_t vram)
{
  still_hardware hw;
  still_hardware_simulated(&hw, ram, vram ? 1 : 0, &vram, false, 0, 0);
  distill_hardware_set_simulated(hardware, &hw);
}

static void test_verdicts(void)
{
  set_machine(16 * GB, 8 * GB);
  const char *models[] = {"qwen-1.5b", "qwen-7b", "llama-8b", "qwen-14b", "qwen-32b", "llama-70b", "qwen3-8b"};
  const char *quants[] = {"Q2_K", "Q4_K_M", "Q8_0", "F16"};
  for (guint i = 0; i < G_N_ELEMENTS(models); i++)
    for (guint j = 0; j < G_N_ELEMENTS(quants); j++) {
      g_autofree char *v = distill_library_page_get_verdict(page, models[i], quants[j]);
      g_assert_nonnull(v);
      g_assert_true(g_str_has_suffix(v, "(estimate)"));
      g_assert_cmpstr(distill_library_page_get_quant_state(page, models[i], quants[j]), ==, "available");
    }
  g_autofree char *small = distill_library_page_get_verdict(page, "qwen-1.5b", "Q4_K_M");
  g_assert_cmpstr(small, ==, "gpu (estimate)");
  g_autofree char *huge = distill_library_page_get_verdict(page, "llama-70b", "F16");
  g_assert_cmpstr(huge, ==, "no (estimate)");
  g_autofree char *mid = distill_library_page_get_verdict(page, "qwen-14b", "Q8_0");
  g_assert_cmpstr(mid, ==, "partial (estimate)");

  const char *rec = distill_library_page_get_recommended(page);
  g_assert_nonnull(rec);
  g_auto(GStrv) parts = g_strsplit(rec, "/", 2);
  g_assert_true(distill_library_page_is_highlighted(page, parts[0]));
  guint highlighted = 0;
  for (guint i = 0; i < G_N_ELEMENTS(models); i++) highlighted += distill_library_page_is_highlighted(page, models[i]);
  g_assert_cmpuint(highlighted, ==, 1);
  g_assert_true(gtk_widget_get_sensitive(distill_library_page_get_recommended_button(page)));
  screenshot("verdicts");

  /* a small machine: verdicts and the recommendation follow */
  set_machine(3 * GB, 0);
  g_autofree char *v2 = distill_library_page_get_verdict(page, "qwen-14b", "Q4_K_M");
  g_assert_cmpstr(v2, ==, "no (estimate)");
  g_autofree char *v3 = distill_library_page_get_verdict(page, "qwen-1.5b", "Q4_K_M");
  g_assert_cmpstr(v3, ==, "cpu (estimate)");
  g_assert_true(g_str_has_prefix(distill_library_page_get_recommended(page), "qwen-1.5b/"));
  g_assert_true(distill_library_page_is_highlighted(page, "qwen-1.5b"));

  /* a user correction (reserve VRAM) changes the verdict */
  set_machine(16 * GB, 8 * GB);
  g_settings_set_double(settings, "reserve-vram-gb", 7.5);
  g_autofree char *v4 = distill_library_page_get_verdict(page, "qwen-7b", "Q4_K_M");
  g_assert_cmpstr(v4, !=, "gpu (estimate)");
  g_settings_set_double(settings, "reserve-vram-gb", 0);
  g_autofree char *v5 = distill_library_page_get_verdict(page, "qwen-7b", "Q4_K_M");
  g_assert_cmpstr(v5, ==, "gpu (estimate)");
}

static gboolean q15_installed(void)
{
  return g_strcmp0(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), "installed") == 0;
}

static gboolean sizes_refreshed(void)
{
  /* g_format_size puts a no-break space before the unit */
  return g_strcmp0(distill_library_page_get_size_text(page, "qwen-7b", "Q4_K_M"), "4.2\u00a0MB") == 0;
}

static gboolean q14_available(void)
{
  return g_strcmp0(distill_library_page_get_quant_state(page, "qwen-14b", "Q4_K_M"), "available") == 0;
}

static void test_download_and_delete(void)
{
  /* sizes come from the hub's tree API once it answered (the catalog's are hints) */
  spin_until(sizes_refreshed, 10000);
  g_assert_cmpstr(distill_library_page_get_size_text(page, "qwen-7b", "Q4_K_M"), ==, "4.2\u00a0MB");
  g_assert_cmpstr(distill_library_page_get_size_text(page, "qwen-14b", "Q4_K_M"), ==, "9.0\u00a0GB"); /* not on the hub */

  /* on a metered connection a big download asks first: "cancel" starts nothing */
  distill_library_page_set_metered_override(page, 1);
  click("qwen-14b", "Q4_K_M", "download");
  AdwMessageDialog *md = distill_library_page_get_dialog(page);
  g_assert_nonnull(md);
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-14b", "Q4_K_M"), ==, "available");
  adw_message_dialog_response(md, "cancel");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-14b", "Q4_K_M"), ==, "available");
  spin_ms(50);
  click("qwen-14b", "Q4_K_M", "download");
  md = distill_library_page_get_dialog(page);
  g_assert_nonnull(md);
  adw_message_dialog_response(md, "download");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-14b", "Q4_K_M"), ==, "downloading");
  spin_until(q14_available, 20000); /* not on the fake hub: it fails, and says so */
  /* small files do not ask */
  click("qwen-1.5b", "Q4_K_M", "download");
  g_assert_null(distill_library_page_get_dialog(page));
  spin_until(q15_installed, 20000);
  click("qwen-1.5b", "Q4_K_M", "delete");
  adw_message_dialog_response(distill_library_page_get_dialog(page), "delete");
  distill_library_page_set_metered_override(page, 0);
  spin_ms(50);

  guint local_before = distill_library_page_get_n_local(page);
  click("qwen-1.5b", "Q4_K_M", "download");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "downloading");
  spin_until(q15_installed, 20000);
  g_autofree char *path = g_build_filename(models_dir, F15, NULL);
  g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
  g_assert_true(gtk_widget_get_visible(distill_library_page_get_quant_button(page, "qwen-1.5b", "Q4_K_M", "open")));
  g_assert_false(gtk_widget_get_visible(distill_library_page_get_quant_button(page, "qwen-1.5b", "Q4_K_M", "download")));

  /* delete asks first; "cancel" keeps the file */
  click("qwen-1.5b", "Q4_K_M", "delete");
  AdwMessageDialog *d = distill_library_page_get_dialog(page);
  g_assert_nonnull(d);
  adw_message_dialog_response(d, "cancel");
  g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "installed");
  spin_ms(50);
  click("qwen-1.5b", "Q4_K_M", "delete");
  d = distill_library_page_get_dialog(page);
  g_assert_nonnull(d);
  adw_message_dialog_response(d, "delete");
  g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "available");
  g_assert_cmpuint(distill_library_page_get_n_local(page), ==, local_before);
  spin_ms(50);
}

static gboolean q7_has_bytes(void)
{
  const char *t = distill_library_page_get_progress_text(page, "qwen-7b", "Q4_K_M");
  return t != NULL && strstr(t, " of ") != NULL && !g_str_has_prefix(t, "0 bytes");
}

static const char *part_path;
static gboolean part_gone(void)
{
  return !g_file_test(part_path, G_FILE_TEST_EXISTS);
}

static void test_pause_resume_cancel(void)
{
  FakeHubFaults *f = fake_hub_faults(hub);
  f->trickle_bytes = 16 * 1024;
  f->trickle_ms = 20;
  GtkWidget *expander =
    gtk_widget_get_ancestor(distill_library_page_get_quant_button(page, "qwen-7b", "Q4_K_M", "download"),
                            ADW_TYPE_EXPANDER_ROW);
  adw_expander_row_set_expanded(ADW_EXPANDER_ROW(expander), TRUE);
  click("qwen-7b", "Q4_K_M", "download");
  spin_until(q7_has_bytes, 20000);
  g_assert_nonnull(strstr(distill_library_page_get_progress_text(page, "qwen-7b", "Q4_K_M"), "/s"));
  screenshot("downloading");
  click("qwen-7b", "Q4_K_M", "pause");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"), ==, "paused");
  g_assert_true(g_str_has_prefix(distill_library_page_get_progress_text(page, "qwen-7b", "Q4_K_M"), "Paused"));
  click("qwen-7b", "Q4_K_M", "resume");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"), ==, "downloading");
  spin_ms(100);
  click("qwen-7b", "Q4_K_M", "cancel");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"), ==, "available");
  g_autofree char *part = g_build_filename(models_dir, F7 ".part", NULL);
  part_path = part;
  spin_until(part_gone, 5000);
  g_autofree char *dest = g_build_filename(models_dir, F7, NULL);
  g_assert_false(g_file_test(dest, G_FILE_TEST_EXISTS));
  f->trickle_bytes = 0;
  f->trickle_ms = 0;
  adw_expander_row_set_expanded(ADW_EXPANDER_ROW(expander), FALSE);
}

static gboolean q8_from_header(void)
{
  g_autofree char *v = distill_library_page_get_verdict(page, "qwen-7b", "Q8_0");
  return v != NULL && strstr(v, "estimate") == NULL;
}

static void test_remote_header_on_expand(void)
{
  /* expanding a model fetches its files' headers; the served Q8_0 is a real (tiny) GGUF */
  GtkWidget *b = distill_library_page_get_quant_button(page, "qwen-7b", "Q8_0", "download");
  GtkWidget *expander = gtk_widget_get_ancestor(b, ADW_TYPE_EXPANDER_ROW);
  g_assert_nonnull(expander);
  adw_expander_row_set_expanded(ADW_EXPANDER_ROW(expander), TRUE);
  spin_until(q8_from_header, 20000);
  g_autofree char *v = distill_library_page_get_verdict(page, "qwen-7b", "Q8_0");
  g_assert_cmpstr(v, ==, "gpu");
  screenshot("expanded");
  /* the narrow (phone-sized) layout */
  gtk_window_set_default_size(window, 360, 700);
  spin_ms(300);
  screenshot("narrow");
  gtk_window_set_default_size(window, 900, 900);
  adw_expander_row_set_expanded(ADW_EXPANDER_ROW(expander), FALSE);
}

static const char *row_subtitle(DistillPreferences *prefs, const char *name)
{
  GtkWidget *row = distill_preferences_get_widget(prefs, name);
  g_assert_nonnull(row);
  return adw_action_row_get_subtitle(ADW_ACTION_ROW(row));
}

static void test_preferences(void)
{
  still_hardware hw;
  uint64_t vram[3] = {6 * GB, 24 * GB, 24 * GB};
  still_hardware_simulated(&hw, 30 * GB, 3, vram, false, 0, 0);
  g_strlcpy(hw.gpus[0].name, "Integrated Test GPU", sizeof hw.gpus[0].name);
  g_strlcpy(hw.gpus[1].name, "Discrete Test GPU", sizeof hw.gpus[1].name);
  hw.gpus[1].free_known = false;
  /* the same card through a second driver */
  g_strlcpy(hw.gpus[2].name, "Discrete Test GPU (second driver)", sizeof hw.gpus[2].name);
  hw.gpus[2].duplicate = true;
  hw.gpus[2].duplicate_of = 1;
  hw.ram_total = 32 * GB;
  hw.cpu_cores = 8;
  hw.cpu_threads = 16;
  hw.avx2 = true;
  g_strlcpy(hw.cpu_name, "Test CPU 9000", sizeof hw.cpu_name);
  hw.disk_known = true;
  hw.disk_free = 120 * GB;
  distill_hardware_set_simulated(hardware, &hw);
  DistillPreferences *prefs = distill_preferences_new(window, hardware, settings);
  gtk_window_present(GTK_WINDOW(prefs));
  g_assert_nonnull(strstr(row_subtitle(prefs, "gpu-0"), "free of"));
  g_assert_nonnull(strstr(row_subtitle(prefs, "gpu-1"), "only the total is known"));
  g_assert_cmpstr(row_subtitle(prefs, "gpu-2"), ==,
                  "The same GPU as “Discrete Test GPU” above, listed again by another driver: counted once");
  g_assert_nonnull(strstr(row_subtitle(prefs, "cpu"), "AVX2"));
  g_assert_nonnull(strstr(row_subtitle(prefs, "ram"), "available of"));
  g_assert_nonnull(strstr(row_subtitle(prefs, "disk"), "free at the models folder"));
  /* a correction made here reaches the settings, and so the verdicts */
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(distill_preferences_get_widget(prefs, "reserve-vram")), 3.0);
  g_assert_cmpfloat(g_settings_get_double(settings, "reserve-vram-gb"), ==, 3.0);
  still_hardware eff;
  distill_hardware_get_effective(hardware, &eff);
  g_assert_cmpuint(eff.gpus[0].free_bytes, ==, 3 * GB);
  screenshot_of(GTK_WINDOW(prefs), "preferences");
  g_settings_reset(settings, "reserve-vram-gb");
  gtk_window_destroy(GTK_WINDOW(prefs));
  spin_ms(50);
  set_machine(16 * GB, 8 * GB);
}

static gboolean q7_installed(void)
{
  return g_strcmp0(distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"), "installed") == 0;
}

static gpointer old_page;
static gboolean old_page_gone(void)
{
  return old_page == NULL;
}

static gboolean part7_unlocked(void)
{
  g_autofree char *part = g_build_filename(models_dir, F7 ".part", NULL);
  int fd = open(part, O_RDWR | O_CLOEXEC);
  if (fd < 0) return TRUE;
  gboolean ok = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd); /* also drops the lock */
  return ok;
}

/* A download paused in one session shows as paused in the next one, and resumes. */
static void test_restart_shows_paused(void)
{
  FakeHubFaults *f = fake_hub_faults(hub);
  f->stall_at = 640 * 1024; /* some bytes, then nothing */
  click("qwen-7b", "Q4_K_M", "download");
  spin_until(q7_has_bytes, 20000);
  click("qwen-7b", "Q4_K_M", "pause");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"), ==, "paused");
  f->stall_at = -1;
  /* "restart": a new page (and so a new download manager) */
  g_autoptr(DistillHub) client = distill_hub_new_for_endpoint(fake_hub_endpoint(hub));
  old_page = page;
  g_object_add_weak_pointer(G_OBJECT(old_page), &old_page);
  page = g_object_new(DISTILL_TYPE_LIBRARY_PAGE, NULL);
  adw_window_set_content(ADW_WINDOW(window), GTK_WIDGET(page));
  spin_until(old_page_gone, 10000);
  /* the old run lets go of the part file (its lock) once it has wound down */
  spin_until(part7_unlocked, 10000); /* the old page, its manager and its downloads are gone */
  distill_library_page_set_services(page, hardware, client, models_dir);
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"), ==, "paused");
  g_assert_true(g_str_has_prefix(distill_library_page_get_progress_text(page, "qwen-7b", "Q4_K_M"), "Paused"));
  click("qwen-7b", "Q4_K_M", "resume");
  spin_until(q7_installed, 20000);
  g_autofree char *dest = g_build_filename(models_dir, F7, NULL);
  g_assert_true(g_file_test(dest, G_FILE_TEST_IS_REGULAR));
  click("qwen-7b", "Q4_K_M", "delete");
  adw_message_dialog_response(distill_library_page_get_dialog(page), "delete");
  g_assert_false(g_file_test(dest, G_FILE_TEST_EXISTS));
}

/* Sizes and sha256 come from the Hub's tree; a download whose bytes do not match the Hub's sha256
 * (here taken from the tree API, the resolve answer has none) is "failed verification" and the
 * part is kept. */
static GBytes *c15_content;
static const char *mgr_item;
static gboolean item_failed(void)
{
  DistillItemState st = DISTILL_ITEM_QUEUED;
  distill_download_manager_get_item(distill_library_page_get_manager(page), mgr_item, &st, NULL, NULL, NULL, NULL);
  return st == DISTILL_ITEM_FAILED;
}

static void test_tree_refresh_and_verification(void)
{
  spin_until(sizes_refreshed, 10000);
  g_autofree char *sha = fake_hub_sha256(c15_content);
  g_assert_cmpstr(distill_library_page_get_sha256(page, "qwen-1.5b", "Q4_K_M"), ==, sha);
  g_assert_cmpstr(distill_library_page_get_size_text(page, "qwen-1.5b", "Q4_K_M"), ==, "307.2\u00a0kB");
  FakeHubFaults *f = fake_hub_faults(hub);
  f->no_etag = TRUE;
  f->corrupt_at = 1000;
  fake_hub_clear_log(hub);
  click("qwen-1.5b", "Q4_K_M", "download");
  mgr_item = R15 "/" F15;
  spin_until(item_failed, 20000);
  g_assert_cmpuint(fake_hub_tree_count(hub), >=, 1); /* the expected sha256 came from the tree */
  const char *message = NULL;
  distill_download_manager_get_item(distill_library_page_get_manager(page), mgr_item, NULL, NULL, NULL, NULL, &message);
  g_assert_nonnull(strstr(message, "does not match the file on Hugging Face"));
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "available");
  g_autofree char *dest = g_build_filename(models_dir, F15, NULL);
  g_autofree char *part = g_build_filename(models_dir, F15 ".part", NULL);
  g_assert_false(g_file_test(dest, G_FILE_TEST_EXISTS));
  g_assert_true(g_file_test(part, G_FILE_TEST_EXISTS)); /* kept, never deleted silently */
  /* the row says so and offers both choices */
  GtkWidget *keep = distill_library_page_get_quant_button(page, "qwen-1.5b", "Q4_K_M", "keep");
  g_assert_true(gtk_widget_get_visible(keep));
  g_assert_true(gtk_widget_get_visible(distill_library_page_get_quant_button(page, "qwen-1.5b", "Q4_K_M", "download")));
  GtkWidget *row = gtk_widget_get_ancestor(keep, ADW_TYPE_ACTION_ROW);
  g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(row)), "Failed verification"));
  /* keep it as it is */
  click("qwen-1.5b", "Q4_K_M", "keep");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "installed");
  g_assert_true(g_file_test(dest, G_FILE_TEST_IS_REGULAR));
  g_assert_false(g_file_test(part, G_FILE_TEST_EXISTS));
  g_assert_false(gtk_widget_get_visible(keep));
  click("qwen-1.5b", "Q4_K_M", "delete");
  adw_message_dialog_response(distill_library_page_get_dialog(page), "delete");
  spin_ms(50);

  /* or download it again: the bad part is thrown away and the file comes anew */
  click("qwen-1.5b", "Q4_K_M", "download");
  spin_until(item_failed, 20000);
  f->no_etag = FALSE;
  f->corrupt_at = -1;
  click("qwen-1.5b", "Q4_K_M", "download");
  spin_until(q15_installed, 20000);
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_assert_true(g_file_get_contents(dest, &contents, &len, NULL));
  g_assert_cmpmem(contents, len, g_bytes_get_data(c15_content, NULL), g_bytes_get_size(c15_content));
  click("qwen-1.5b", "Q4_K_M", "delete");
  adw_message_dialog_response(distill_library_page_get_dialog(page), "delete");
  g_assert_false(g_file_test(dest, G_FILE_TEST_EXISTS));
  spin_ms(50);
}

/* The fit check of local files reads their headers in a worker thread: the main loop keeps
 * running while a (simulated) slow disk is read, and the verdict arrives afterwards. */
static guint ticks;
static gboolean tick(gpointer data)
{
  (void)data;
  ticks++;
  return G_SOURCE_CONTINUE;
}
static guint local_index;
static gboolean local_checked(void)
{
  return distill_library_page_get_local_verdict(page, local_index) != NULL;
}

static void test_local_fit_off_main_thread(void)
{
  set_machine(16 * GB, 8 * GB);
  g_autofree char *path = g_build_filename(tmp_root, "slow-disk", "slow-model.gguf", NULL);
  g_autofree char *dir = g_path_get_dirname(path);
  g_mkdir_with_parents(dir, 0755);
  g_autoptr(GBytes) tiny = tiny_model();
  g_assert_true(g_file_set_contents(path, g_bytes_get_data(tiny, NULL), (gssize)g_bytes_get_size(tiny), NULL));
  distill_library_page_set_local_fit_delay(page, 1000);
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(GError) error = NULL;
  g_assert_true(distill_library_page_import_file(page, path, &error));
  /* the rows are there at once, the import did not wait for the headers */
  g_assert_cmpint(g_get_monotonic_time() - t0, <, 1000 * 1000);
  guint n = distill_library_page_get_n_local(page);
  local_index = G_MAXUINT;
  for (guint i = 0; i < n; i++)
    if (g_strcmp0(distill_library_page_get_local_path(page, i), path) == 0) local_index = i;
  g_assert_cmpuint(local_index, <, n);
  g_assert_null(distill_library_page_get_local_verdict(page, local_index)); /* "Checking…" */
  ticks = 0;
  guint source = g_timeout_add(10, tick, NULL);
  gint64 longest = 0;
  while (!local_checked()) {
    gint64 a = g_get_monotonic_time();
    g_main_context_iteration(NULL, FALSE);
    longest = MAX(longest, g_get_monotonic_time() - a);
    g_usleep(1000);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 20 * G_USEC_PER_SEC);
  }
  g_test_message("longest iteration %" G_GINT64_FORMAT " us", longest);
  g_source_remove(source);
  g_test_message("local check: %u ticks, %" G_GINT64_FORMAT " ms, row %u of %u", ticks,
                 (g_get_monotonic_time() - t0) / 1000, local_index, n);
  g_assert_cmpstr(distill_library_page_get_local_verdict(page, local_index), ==, "gpu");
  /* the main loop ran on while the header was read (a frame of this long page can take 300 ms
   * on a busy machine, so not every 10 ms tick is seen) */
  g_assert_cmpuint(ticks, >=, 20);
  /* a rescan while an old check runs: the old results never land on the new rows */
  guint generation_rows = distill_library_page_get_n_local(page);
  g_assert_true(distill_library_page_import_file(page, path, &error)); /* rescans */
  g_assert_null(distill_library_page_get_local_verdict(page, local_index));
  spin_until(local_checked, 20000);
  g_assert_cmpuint(distill_library_page_get_n_local(page), ==, generation_rows);
  distill_library_page_set_local_fit_delay(page, 0);
  g_assert_true(distill_imported_remove(NULL, path, NULL));
}

/* Changing the models-folder setting takes effect at once: the library rescans, new downloads go
 * to the new folder, a download already running finishes where it started. */
static const char *want_installed_model, *want_installed_quant;
static gboolean quant_installed(void)
{
  return g_strcmp0(distill_library_page_get_quant_state(page, want_installed_model, want_installed_quant),
                   "installed") == 0;
}
static gboolean running_has_bytes(void)
{
  gint64 done = 0;
  distill_download_manager_get_item(distill_library_page_get_manager(page), R7 "/" F7, NULL, &done, NULL, NULL, NULL);
  return done > 0;
}

static void test_models_folder_change(void)
{
  g_autofree char *dir2 = g_build_filename(tmp_root, "models2", NULL);
  g_mkdir_with_parents(dir2, 0755);
  g_autofree char *there = g_build_filename(dir2, F15, NULL);
  g_assert_true(g_file_set_contents(there, g_bytes_get_data(c15_content, NULL), (gssize)g_bytes_get_size(c15_content), NULL));
  DistillDownloadManager *manager = distill_library_page_get_manager(page);

  /* a slow download runs in the old folder */
  FakeHubFaults *f = fake_hub_faults(hub);
  f->trickle_bytes = 64 * 1024;
  f->trickle_ms = 20;
  click("qwen-7b", "Q4_K_M", "download");
  spin_until(running_has_bytes, 20000);

  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "available");
  g_settings_set_string(settings, "models-folder", dir2);
  /* no restart: the page, its download manager and the search follow */
  g_assert_cmpstr(distill_library_page_get_models_dir(page), ==, dir2);
  g_assert_cmpstr(distill_download_manager_get_models_dir(manager), ==, dir2);
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "installed");
  gboolean listed = FALSE;
  for (guint i = 0; i < distill_library_page_get_n_local(page); i++)
    if (g_strcmp0(distill_library_page_get_local_path(page, i), there) == 0) listed = TRUE;
  g_assert_true(listed);
  /* the running one finishes in the folder it started in */
  g_assert_cmpstr(distill_download_manager_get_item_dir(manager, R7 "/" F7), ==, models_dir);
  want_installed_model = "qwen-7b";
  want_installed_quant = "Q4_K_M";
  spin_until(quant_installed, 30000);
  f->trickle_bytes = 0; /* (not while a body is trickling: the fake hub would stop sending) */
  f->trickle_ms = 0;
  g_autofree char *old7 = g_build_filename(models_dir, F7, NULL);
  g_autofree char *new7 = g_build_filename(dir2, F7, NULL);
  g_assert_true(g_file_test(old7, G_FILE_TEST_IS_REGULAR));
  g_assert_false(g_file_test(new7, G_FILE_TEST_EXISTS));
  /* a new download goes to the new folder */
  click("qwen-7b", "Q8_0", "download");
  want_installed_quant = "Q8_0";
  spin_until(quant_installed, 20000);
  g_autofree char *new8 = g_build_filename(dir2, F7Q8, NULL);
  g_autofree char *old8 = g_build_filename(models_dir, F7Q8, NULL);
  g_assert_true(g_file_test(new8, G_FILE_TEST_IS_REGULAR));
  g_assert_false(g_file_test(old8, G_FILE_TEST_EXISTS));
  click("qwen-7b", "Q8_0", "delete");
  adw_message_dialog_response(distill_library_page_get_dialog(page), "delete");
  g_assert_false(g_file_test(new8, G_FILE_TEST_EXISTS));

  /* back to the default folder */
  g_settings_reset(settings, "models-folder");
  g_assert_cmpstr(distill_library_page_get_models_dir(page), ==, models_dir);
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-1.5b", "Q4_K_M"), ==, "available");
  g_assert_cmpstr(distill_library_page_get_quant_state(page, "qwen-7b", "Q4_K_M"), ==, "installed");
  g_unlink(there);
  click("qwen-7b", "Q4_K_M", "delete"); /* removes old7 and rescans */
  adw_message_dialog_response(distill_library_page_get_dialog(page), "delete");
  g_assert_false(g_file_test(old7, G_FILE_TEST_EXISTS));
  spin_ms(50);
}

static void test_import(void)
{
  guint before = distill_library_page_get_n_local(page);
  g_autofree char *path = g_build_filename(tmp_root, "elsewhere", "my-model.gguf", NULL);
  g_autofree char *dir = g_path_get_dirname(path);
  g_mkdir_with_parents(dir, 0755);
  g_autoptr(GBytes) tiny = tiny_model();
  g_assert_true(g_file_set_contents(path, g_bytes_get_data(tiny, NULL), (gssize)g_bytes_get_size(tiny), NULL));
  g_autoptr(GError) error = NULL;
  g_assert_true(distill_library_page_import_file(page, path, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(distill_library_page_get_n_local(page), ==, before + 1);
  /* used in place: nothing was copied into the models folder */
  g_autofree char *copy = g_build_filename(models_dir, "my-model.gguf", NULL);
  g_assert_false(g_file_test(copy, G_FILE_TEST_EXISTS));
  g_autofree char *bad = g_build_filename(tmp_root, "elsewhere", "bad.gguf", NULL);
  g_file_set_contents(bad, "nope", -1, NULL);
  g_assert_false(distill_library_page_import_file(page, bad, &error));
  g_assert_nonnull(error);
  g_assert_cmpuint(distill_library_page_get_n_local(page), ==, before + 1);
  screenshot("imported");
}

static DistillDownloadManager *mgr;
static const char *mgr_id;
static gboolean mgr_has_bytes(void)
{
  gint64 done = 0;
  distill_download_manager_get_item(mgr, mgr_id, NULL, &done, NULL, NULL, NULL);
  return done > 0;
}
static gboolean mgr_done(void)
{
  DistillItemState st = DISTILL_ITEM_QUEUED;
  distill_download_manager_get_item(mgr, mgr_id, &st, NULL, NULL, NULL, NULL);
  return st == DISTILL_ITEM_DONE;
}

static void test_manager_persistence(void)
{
  g_autofree char *state = g_build_filename(tmp_root, "downloads.json", NULL);
  g_autoptr(DistillHub) client = distill_hub_new_for_endpoint(fake_hub_endpoint(hub));
  FakeHubFaults *f = fake_hub_faults(hub);
  f->trickle_bytes = 16 * 1024;
  f->trickle_ms = 20;
  mgr = distill_download_manager_new(client, models_dir, state);
  const char *files7[] = {F7, NULL};
  const char *files15[] = {F15, NULL};
  g_autofree char *id7 = g_strdup(distill_download_manager_add(mgr, R7, files7, "Qwen-7B Q4_K_M"));
  g_autofree char *id15 = g_strdup(distill_download_manager_add(mgr, R15, files15, "Qwen-1.5B Q4_K_M"));
  DistillItemState st;
  g_assert_true(distill_download_manager_get_item(mgr, id7, &st, NULL, NULL, NULL, NULL));
  g_assert_cmpint(st, ==, DISTILL_ITEM_RUNNING);
  g_assert_true(distill_download_manager_get_item(mgr, id15, &st, NULL, NULL, NULL, NULL));
  g_assert_cmpint(st, ==, DISTILL_ITEM_QUEUED); /* one at a time */
  g_assert_cmpuint(distill_download_manager_get_n_running(mgr), ==, 1);
  mgr_id = id7;
  spin_until(mgr_has_bytes, 20000);
  distill_download_manager_pause(mgr, id7);
  g_assert_true(distill_download_manager_get_item(mgr, id7, &st, NULL, NULL, NULL, NULL));
  g_assert_cmpint(st, ==, DISTILL_ITEM_PAUSED);
  g_assert_true(g_file_test(state, G_FILE_TEST_IS_REGULAR));
  /* "restart": a new manager reads the list */
  g_clear_object(&mgr);
  /* the paused run lets go of the part file (its lock) once it has wound down */
  spin_until(part7_unlocked, 10000);
  f->trickle_bytes = 0;
  f->trickle_ms = 0;
  /* the models folder changed meanwhile: the saved items still finish where their parts are */
  g_autofree char *elsewhere = g_build_filename(tmp_root, "other-models", NULL);
  mgr = distill_download_manager_new(client, elsewhere, state);
  g_assert_cmpstr(distill_download_manager_get_item_dir(mgr, id7), ==, models_dir);
  g_assert_cmpstr(distill_download_manager_get_item_dir(mgr, id15), ==, models_dir);
  g_auto(GStrv) ids = distill_download_manager_list(mgr);
  g_assert_cmpuint(g_strv_length(ids), ==, 2);
  const char *label = NULL;
  g_assert_true(distill_download_manager_get_item(mgr, id7, &st, NULL, NULL, &label, NULL));
  g_assert_cmpint(st, ==, DISTILL_ITEM_PAUSED);
  g_assert_cmpstr(label, ==, "Qwen-7B Q4_K_M");
  g_assert_true(distill_download_manager_get_item(mgr, id15, &st, NULL, NULL, NULL, NULL));
  g_assert_cmpint(st, ==, DISTILL_ITEM_QUEUED);
  g_assert_cmpuint(distill_download_manager_get_n_running(mgr), ==, 0); /* nothing starts by itself */
  /* resume finishes it from the part file, then the queued one runs */
  distill_download_manager_resume(mgr, id7);
  spin_until(mgr_done, 20000);
  mgr_id = id15;
  spin_until(mgr_done, 20000);
  g_autofree char *p7 = g_build_filename(models_dir, F7, NULL);
  g_autofree char *p15 = g_build_filename(models_dir, F15, NULL);
  g_assert_true(g_file_test(p7, G_FILE_TEST_IS_REGULAR));
  g_assert_true(g_file_test(p15, G_FILE_TEST_IS_REGULAR));
  g_autofree char *json = NULL;
  g_assert_true(g_file_get_contents(state, &json, NULL, NULL));
  g_assert_null(strstr(json, F7)); /* finished items leave the list */
  g_clear_object(&mgr);
  g_unlink(p7);
  g_unlink(p15);
}

int main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  tmp_root = g_dir_make_tmp("distill-library-XXXXXX", &error);
  g_assert_no_error(error);
  g_autofree char *data = g_build_filename(tmp_root, "data", NULL);
  g_autofree char *cache = g_build_filename(tmp_root, "cache", NULL);
  g_autofree char *hf = g_build_filename(tmp_root, "hf", NULL);
  g_autofree char *ollama = g_build_filename(tmp_root, "ollama", NULL);
  g_setenv("XDG_DATA_HOME", data, TRUE);
  g_setenv("XDG_CACHE_HOME", cache, TRUE);
  g_setenv("HF_HUB_CACHE", hf, TRUE);
  g_setenv("OLLAMA_MODELS", ollama, TRUE);
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
  g_autoptr(GBytes) c15 = fake_hub_make_content(300 * 1024, 1);
  c15_content = c15;
  fake_hub_add_file(hub, R15, F15, c15, TRUE);
  g_autoptr(GBytes) c7 = fake_hub_make_content(4 * 1024 * 1024, 2);
  fake_hub_add_file(hub, R7, F7, c7, TRUE);
  g_autoptr(GBytes) c7q8 = tiny_model();
  fake_hub_add_file(hub, R7, F7Q8, c7q8, TRUE);

  settings = g_settings_new("io.github.distillapp.Distill");
  hardware = distill_hardware_new(settings, models_dir);
  g_autoptr(DistillHub) client = distill_hub_new_for_endpoint(fake_hub_endpoint(hub));
  window = GTK_WINDOW(adw_window_new());
  gtk_window_set_default_size(window, 900, 900);
  page = g_object_new(DISTILL_TYPE_LIBRARY_PAGE, NULL);
  distill_library_page_set_services(page, hardware, client, models_dir);
  adw_window_set_content(ADW_WINDOW(window), GTK_WIDGET(page));
  gtk_window_present(window);

  g_test_add_func("/library/verdicts", test_verdicts);
  g_test_add_func("/library/download-and-delete", test_download_and_delete);
  /* before the trickled download: the fake hub's trickle also slows the header requests */
  g_test_add_func("/library/remote-header-on-expand", test_remote_header_on_expand);
  g_test_add_func("/library/pause-resume-cancel", test_pause_resume_cancel);
  g_test_add_func("/library/restart-shows-paused", test_restart_shows_paused);
  g_test_add_func("/library/tree-refresh-and-verification", test_tree_refresh_and_verification);
  g_test_add_func("/library/local-fit-off-main-thread", test_local_fit_off_main_thread);
  g_test_add_func("/library/models-folder-change", test_models_folder_change);
  g_test_add_func("/library/preferences", test_preferences);
  g_test_add_func("/library/import", test_import);
  g_test_add_func("/library/manager-persistence", test_manager_persistence);
  int rc = g_test_run();

  gtk_window_destroy(window);
  spin_ms(50);
  g_object_unref(hardware);
  g_object_unref(settings);
  fake_hub_free(hub);
  return rc;
}
