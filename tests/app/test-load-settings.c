/* test-load-settings.c — per-model load settings: the defaults and a model's own settings in
 * GSettings, what they set on the engine (Auto GPU layers from the fit estimate on simulated
 * hardware), a changed KV cache type making a new session, the Models preferences page writing
 * the settings, and the reasoning-expanded preference in new message rows. */
#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>
#include <unistd.h>

#include "distill-benchmark.h"
#include "distill-chat-page.h"
#include "distill-engine.h"
#include "distill-hardware.h"
#include "distill-load-settings.h"
#include "distill-message-row.h"
#include "distill-preferences.h"
#include "distill-prefs-models.h"
#include "distill-resources.h"
#include "fit-shapes.h"
#include "test-util.h"

#define GB 1000000000ULL

static GSettings *fresh_settings(void)
{
  GSettings *s = g_settings_new(APP_ID);
  const char *keys[] = {"default-gpu-layers", "default-cpu-threads", "default-kv-type", "default-context-size",
                        "model-load-settings", "reasoning-expanded", "reserve-vram-gb", "ram-limit-gb"};
  for (guint i = 0; i < G_N_ELEMENTS(keys); i++) g_settings_reset(s, keys[i]);
  return s;
}

/* ---- stored settings ---- */

static void test_defaults(void)
{
  g_autoptr(GSettings) s = fresh_settings();
  DistillLoadSettings ls;
  distill_load_settings_get(s, NULL, &ls);
  g_assert_false(ls.own);
  g_assert_cmpint(ls.gpu_layers, ==, DISTILL_GPU_LAYERS_AUTO);
  g_assert_cmpint(ls.threads, ==, DISTILL_THREADS_AUTO);
  g_assert_cmpstr(ls.kv_type, ==, "f16");
  g_assert_cmpint(ls.context_size, ==, 4096);

  ls.gpu_layers = 0;
  ls.threads = 3;
  g_strlcpy(ls.kv_type, "q8_0", sizeof ls.kv_type);
  ls.context_size = 8192;
  distill_load_settings_set_defaults(s, &ls);
  g_assert_cmpint(g_settings_get_int(s, "default-gpu-layers"), ==, 0);
  g_assert_cmpint(g_settings_get_int(s, "default-cpu-threads"), ==, 3);
  g_autofree char *kv = g_settings_get_string(s, "default-kv-type");
  g_assert_cmpstr(kv, ==, "q8_0");
  /* the context default is the existing key the chat uses */
  g_assert_cmpint(g_settings_get_int(s, "default-context-size"), ==, 8192);
  /* a model without its own settings gets the defaults */
  DistillLoadSettings m;
  distill_load_settings_get(s, "/models/some-model.gguf", &m);
  g_assert_false(m.own);
  g_assert_cmpint(m.threads, ==, 3);
  g_assert_cmpint(distill_load_settings_get_context_size(s, "/models/some-model.gguf"), ==, 8192);
}

static void test_per_model(void)
{
  g_autoptr(GSettings) s = fresh_settings();
  DistillLoadSettings own = {.gpu_layers = 12, .threads = 2, .kv_type = "f32", .context_size = 16384};
  distill_load_settings_set_model(s, "/somewhere/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", &own);
  DistillLoadSettings b = {.gpu_layers = 0, .threads = 0, .kv_type = "f16", .context_size = 2048};
  distill_load_settings_set_model(s, "/other/b.gguf", &b);

  /* keyed by file name: the same file in another folder has the same settings */
  DistillLoadSettings ls;
  distill_load_settings_get(s, "/elsewhere/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", &ls);
  g_assert_true(ls.own);
  g_assert_cmpint(ls.gpu_layers, ==, 12);
  g_assert_cmpint(ls.threads, ==, 2);
  g_assert_cmpstr(ls.kv_type, ==, "f32");
  g_assert_cmpint(ls.context_size, ==, 16384);
  g_assert_cmpint(distill_load_settings_get_context_size(s, "/x/b.gguf"), ==, 2048);
  g_assert_cmpint(distill_load_settings_get_context_size(s, "/x/c.gguf"), ==, 4096);
  g_assert_true(distill_load_settings_has_model(s, "/x/b.gguf"));
  g_assert_false(distill_load_settings_has_model(s, "/x/c.gguf"));

  /* replacing one model's settings keeps the others */
  own.threads = 6;
  distill_load_settings_set_model(s, "/somewhere/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", &own);
  distill_load_settings_get(s, "/x/DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", &ls);
  g_assert_cmpint(ls.threads, ==, 6);
  g_assert_true(distill_load_settings_has_model(s, "/x/b.gguf"));
  g_autoptr(GVariant) all = g_settings_get_value(s, "model-load-settings");
  g_assert_cmpuint(g_variant_n_children(all), ==, 2);

  /* dropping them brings back the defaults */
  distill_load_settings_set_model(s, "/x/b.gguf", NULL);
  g_assert_false(distill_load_settings_has_model(s, "/x/b.gguf"));
  distill_load_settings_get(s, "/x/b.gguf", &ls);
  g_assert_false(ls.own);
  g_assert_cmpint(ls.gpu_layers, ==, DISTILL_GPU_LAYERS_AUTO);

  /* a hand-edited value out of range falls back to the default; a partial dict too */
  g_settings_set_value(s, "model-load-settings",
                       g_variant_new_parsed("{'odd.gguf': {'threads': <-5>, 'kv-type': <'q8_0'>}}"));
  distill_load_settings_get(s, "/x/odd.gguf", &ls);
  g_assert_true(ls.own);
  g_assert_cmpint(ls.threads, ==, DISTILL_THREADS_AUTO);
  g_assert_cmpstr(ls.kv_type, ==, "q8_0");
  g_assert_cmpint(ls.gpu_layers, ==, DISTILL_GPU_LAYERS_AUTO);
  g_settings_reset(s, "model-load-settings");
}

/* ---- → engine properties ---- */

static int engine_int(DistillEngine *e, const char *prop)
{
  int v;
  g_object_get(e, prop, &v, NULL);
  return v;
}

static char *engine_str(DistillEngine *e, const char *prop)
{
  char *v;
  g_object_get(e, prop, &v, NULL);
  return v;
}

static char *engine_kv(DistillEngine *e)
{
  char *v;
  g_object_get(e, "kv-type", &v, NULL);
  return v;
}

/* Apply with the effective values of a DistillHardware holding a simulated machine. */
static int apply_on(GSettings *s, const char *path, DistillEngine *e, DistillHardware *hw, const still_hardware *sim)
{
  distill_hardware_set_simulated(hw, sim);
  still_hardware eff;
  g_assert_true(distill_hardware_get_effective(hw, &eff));
  return distill_load_settings_apply(s, path, 0, e, &eff);
}

static void test_apply(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  g_autoptr(GSettings) s = fresh_settings();
  g_autoptr(DistillEngine) e = distill_engine_new();
  g_autoptr(DistillHardware) hw = distill_hardware_new(s, "/tmp");
  still_hardware sim;

  int n_layers = 0;
  distill_load_settings_auto_gpu_layers(path, NULL, 0, "f16", &n_layers);
  g_assert_cmpint(n_layers, ==, 5); /* stories260K */

  /* Auto (the default): a GPU with nothing free takes no layer */
  uint64_t none_free[1] = {0};
  still_hardware_simulated(&sim, 16 * GB, 1, none_free, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 0);
  g_assert_cmpint(engine_int(e, "gpu-layers"), ==, 0);
  /* … a huge one takes them all */
  uint64_t huge[1] = {100 * GB};
  still_hardware_simulated(&sim, 16 * GB, 1, huge, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 5);
  g_assert_cmpint(engine_int(e, "gpu-layers"), ==, 5);
  /* … unless the user keeps that memory for other apps (the corrections apply) */
  g_settings_set_double(s, "reserve-vram-gb", 100.0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 0);
  g_settings_reset(s, "reserve-vram-gb");
  /* … no GPU at all, or unknown hardware: CPU only */
  still_hardware_simulated(&sim, 16 * GB, 0, NULL, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 0);
  g_assert_cmpint(distill_load_settings_apply(s, path, 0, e, NULL), ==, 0);
  /* … a software renderer never takes layers, however much memory it reports */
  still_hardware_simulated(&sim, 16 * GB, 1, huge, false, 0, 0);
  sim.gpus[0].kind = STILL_GPU_CPU;
  sim.gpus[0].cpu_emulated = true;
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 0);
  /* … with an integrated GPU beside a discrete one, the discrete one when it has room (the
   * estimate leaves the iGPU out, as the library's verdict does), else the iGPU */
  uint64_t two[2] = {100 * GB, 0};
  still_hardware_simulated(&sim, 16 * GB, 2, two, false, 0, 0);
  sim.gpus[0].kind = STILL_GPU_INTEGRATED;
  sim.gpus[0].unified = true;
  sim.gpus[1].kind = STILL_GPU_DISCRETE;
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 5);
  g_autofree char *igpu = engine_str(e, "device");
  g_assert_cmpstr(igpu, ==, "0");
  sim.gpus[1].free_bytes = 100 * GB;
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 5);
  g_autofree char *dgpu = engine_str(e, "device"), *dsplit = engine_str(e, "split");
  g_assert_null(dgpu); /* the engine's own choice: left unnamed */
  g_assert_null(dsplit);

  /* the defaults: threads and KV type */
  g_assert_cmpint(engine_int(e, "n-threads"), ==, 0);
  g_autofree char *kv0 = engine_kv(e);
  g_assert_cmpstr(kv0, ==, "f16");

  /* None (CPU only) even with a huge GPU */
  g_settings_set_int(s, "default-gpu-layers", 0);
  still_hardware_simulated(&sim, 16 * GB, 1, huge, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 0);

  /* the model's own settings win over the defaults */
  DistillLoadSettings own = {.gpu_layers = 3, .threads = 2, .kv_type = "f32", .context_size = 1024};
  distill_load_settings_set_model(s, path, &own);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 3);
  g_assert_cmpint(engine_int(e, "gpu-layers"), ==, 3);
  g_assert_cmpint(engine_int(e, "n-threads"), ==, 2);
  g_autofree char *kv1 = engine_kv(e);
  g_assert_cmpstr(kv1, ==, "f32");
  /* a fixed number above the model's layers means all of them */
  own.gpu_layers = 40;
  distill_load_settings_set_model(s, path, &own);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 5);
  /* another model still has the defaults (and the engine's default device) */
  g_assert_cmpint(distill_load_settings_apply(s, "/nowhere/other.gguf", 0, e, NULL), ==, 0);
  g_autofree char *dev_none = engine_str(e, "device");
  g_assert_null(dev_none);
  g_assert_cmpint(engine_int(e, "n-threads"), ==, 0);
  g_autofree char *kv2 = engine_kv(e);
  g_assert_cmpstr(kv2, ==, "f16");
}

/* ---- several GPUs: the chat runs where the verdict says ---- */

/* "0,1" and "3,2" from the estimate's devices that have layers. */
static void fit_devices(const char *path, const still_hardware *hw, GString *dev, GString *split, GString *usable)
{
  still_fit_params p = still_fit_params_default();
  p.n_ctx = 512; /* default-context-size is 4096, but stories260K trained on 512: the estimate clamps */
  still_fit fit;
  still_error err = {0};
  g_assert_cmpint(still_fit_estimate_file(path, hw, &p, &fit, &err), ==, STILL_OK);
  for (int i = 0; i < fit.n_devices; i++) {
    g_string_append_printf(usable, "%s%" G_GUINT64_FORMAT, usable->len ? "," : "", fit.devices[i].usable_bytes >> 20);
    if (fit.devices[i].n_layers == 0) continue;
    g_string_append_printf(dev, "%s%d", dev->len ? "," : "", fit.devices[i].gpu);
    g_string_append_printf(split, "%s%d", split->len ? "," : "", fit.devices[i].n_layers);
  }
}

/* dir/r1-qwen-14b-Q4_K_M.gguf: the header of R1-Distill-Qwen-14B Q4_K_M's real shape (the fit
 * estimate reads nothing else). Returns its path. */
static char *write_14b_header(const char *dir)
{
  char *path = g_build_filename(dir, "r1-qwen-14b-Q4_K_M.gguf", NULL);
  void *hdr = NULL;
  size_t hdr_len = 0;
  g_assert_cmpint(still_shape_build_header(still_shape_find("qwen-14b"), STILL_MIX_Q4_K_M, false, &hdr, &hdr_len, NULL),
                  ==, STILL_OK);
  g_assert_true(g_file_set_contents(path, hdr, (gssize)hdr_len, NULL));
  g_free(hdr);
  return path;
}

static void test_apply_several_gpus(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  g_autoptr(GSettings) s = fresh_settings();
  g_settings_set_int(s, "default-context-size", 512);
  g_autoptr(DistillEngine) e = distill_engine_new();
  g_autoptr(DistillHardware) hw = distill_hardware_new(s, "/tmp");
  still_hardware sim, eff;

  /* R1-Distill-Qwen-14B Q4_K_M (a header of its real shape: the estimate reads nothing else) on
   * two 8 GB cards: it needs both, and the chat splits it over both as the estimate does, not its
   * share of one on the first */
  g_autofree char *dir = g_dir_make_tmp("distill-split-XXXXXX", NULL);
  g_autofree char *big = write_14b_header(dir);
  uint64_t cards[2] = {8 * GB, 8 * GB};
  still_hardware_simulated(&sim, 64 * GB, 2, cards, false, 0, 0);
  g_assert_cmpint(apply_on(s, big, e, hw, &sim), ==, 48);
  g_assert_true(distill_hardware_get_effective(hw, &eff));
  g_autoptr(GString) dev = g_string_new(NULL), split = g_string_new(NULL), usable = g_string_new(NULL);
  fit_devices(big, &eff, dev, split, usable);
  g_autofree char *d1 = engine_str(e, "device"), *s1 = engine_str(e, "split");
  g_assert_cmpstr(d1, ==, "0,1");
  g_assert_cmpstr(s1, ==, split->str);
  int a0 = 0, a1 = 0;
  g_assert_cmpint(sscanf(s1, "%d,%d", &a0, &a1), ==, 2);
  g_assert_cmpint(a0, >, 0);
  g_assert_cmpint(a1, >, 0);
  g_assert_cmpint(a0 + a1, ==, 48);
  g_assert_cmpint(engine_int(e, "gpu-layers"), ==, 48);
  /* where the probe knows the cards' UUIDs, the engine gets those: the session opens later, and an
   * index could by then point at another card */
  for (int i = 0; i < 2; i++) {
    memset(sim.gpus[i].uuid, 0xa0 + i, sizeof sim.gpus[i].uuid);
    sim.gpus[i].uuid_known = true;
  }
  g_assert_cmpint(apply_on(s, big, e, hw, &sim), ==, 48);
  g_autofree char *du = engine_str(e, "device"), *su = engine_str(e, "split");
  g_assert_cmpstr(du, ==, "uuid:a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0,uuid:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1");
  g_assert_cmpstr(su, ==, s1);
  /* one UUID for both (one card that two drivers list): the indices, which tell them apart */
  memset(sim.gpus[1].uuid, 0xa0, sizeof sim.gpus[1].uuid);
  g_assert_cmpint(apply_on(s, big, e, hw, &sim), ==, 48);
  g_autofree char *dd = engine_str(e, "device");
  g_assert_cmpstr(dd, ==, "0,1");

  /* a software renderer listed first is never part of it */
  uint64_t three[3] = {8 * GB, 8 * GB, 8 * GB};
  still_hardware_simulated(&sim, 64 * GB, 3, three, false, 0, 0);
  sim.gpus[0].kind = STILL_GPU_CPU;
  sim.gpus[0].cpu_emulated = true;
  g_assert_cmpint(apply_on(s, big, e, hw, &sim), ==, 48);
  g_autofree char *d2 = engine_str(e, "device"), *s2 = engine_str(e, "split");
  g_assert_cmpstr(d2, ==, "1,2");
  g_assert_cmpstr(s2, ==, s1);

  /* a fixed number of layers goes over the same GPUs in the proportions of Auto's layers on each
   * (so no GPU gets more than Auto gives it) */
  DistillLoadSettings own = {.gpu_layers = 20, .threads = 0, .kv_type = "f16", .context_size = 512};
  distill_load_settings_set_model(s, big, &own);
  still_hardware_simulated(&sim, 64 * GB, 2, cards, false, 0, 0);
  g_assert_cmpint(apply_on(s, big, e, hw, &sim), ==, 20);
  g_autofree char *d3 = engine_str(e, "device"), *s3 = engine_str(e, "split");
  g_assert_cmpstr(d3, ==, "0,1");
  g_assert_cmpstr(s3, ==, s1);
  g_settings_reset(s, "model-load-settings");
  g_unlink(big);
  g_rmdir(dir);

  /* stories260K fits whole on either of two equally fast cards: one card, the one with more room
   * (not the engine's own first choice, so named), no split */
  uint64_t huge[2] = {100 * GB, 300 * GB};
  still_hardware_simulated(&sim, 16 * GB, 2, huge, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 5);
  g_autofree char *d9 = engine_str(e, "device"), *s9 = engine_str(e, "split");
  g_assert_cmpstr(d9, ==, "1");
  g_assert_null(s9);
  /* a fixed count: as Auto, on that card */
  own.gpu_layers = 4;
  distill_load_settings_set_model(s, path, &own);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 4);
  g_autofree char *d10 = engine_str(e, "device"), *s10 = engine_str(e, "split");
  g_assert_cmpstr(d10, ==, "1");
  g_assert_null(s10);
  /* … and with the roomier card first, that one, unnamed (the engine's own choice) */
  uint64_t huge_first[2] = {300 * GB, 100 * GB};
  still_hardware_simulated(&sim, 16 * GB, 2, huge_first, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 4);
  g_autofree char *d11 = engine_str(e, "device");
  g_assert_null(d11);
  /* … by its UUID where the probe knows one (the engine's choice could change before the session
   * opens: a card plugged in meanwhile) */
  for (int i = 0; i < 2; i++) {
    memset(sim.gpus[i].uuid, 0xb0 + i, sizeof sim.gpus[i].uuid);
    sim.gpus[i].uuid_known = true;
  }
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 4);
  g_autofree char *d12 = engine_str(e, "device");
  g_assert_cmpstr(d12, ==, "uuid:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0");
  /* … when no layer fits on either (each has room for less than a GPU's driver overhead), over
   * both by their usable memory: the engine then takes fewer layers, down to none */
  uint64_t small[2] = {500 * 1024 * 1024ull, 520 * 1024 * 1024ull};
  still_hardware_simulated(&sim, 16 * GB, 2, small, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 4);
  g_assert_true(distill_hardware_get_effective(hw, &eff));
  g_string_truncate(dev, 0), g_string_truncate(split, 0), g_string_truncate(usable, 0);
  fit_devices(path, &eff, dev, split, usable);
  g_assert_cmpstr(split->str, ==, ""); /* Auto: none */
  g_autofree char *d8 = engine_str(e, "device"), *s8 = engine_str(e, "split");
  g_assert_cmpstr(d8, ==, "0,1");
  g_assert_cmpstr(s8, ==, usable->str);
  g_assert_nonnull(strchr(s8, ','));
  /* … on one GPU: that one, no split (unnamed when the engine picks it anyway) */
  still_hardware_simulated(&sim, 16 * GB, 1, huge, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 4);
  g_autofree char *d4 = engine_str(e, "device"), *s4 = engine_str(e, "split");
  g_assert_null(d4);
  g_assert_null(s4);
  /* … an integrated GPU beside a card with no room: the iGPU, named (the engine would take the card) */
  uint64_t igpu_card[2] = {100 * GB, 0};
  still_hardware_simulated(&sim, 16 * GB, 2, igpu_card, false, 0, 0);
  sim.gpus[0].kind = STILL_GPU_INTEGRATED;
  sim.gpus[0].unified = true;
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 4);
  g_autofree char *d7 = engine_str(e, "device"), *s7 = engine_str(e, "split");
  g_assert_cmpstr(d7, ==, "0");
  g_assert_null(s7);
  /* … without knowing the hardware: the engine's default device */
  g_assert_cmpint(distill_load_settings_apply(s, path, 0, e, NULL), ==, 4);
  g_autofree char *d5 = engine_str(e, "device"), *s5 = engine_str(e, "split");
  g_assert_null(d5);
  g_assert_null(s5);

  /* CPU only: no device, no split left over from before */
  own.gpu_layers = 0;
  distill_load_settings_set_model(s, path, &own);
  still_hardware_simulated(&sim, 16 * GB, 2, cards, false, 0, 0);
  g_assert_cmpint(apply_on(s, path, e, hw, &sim), ==, 0);
  g_autofree char *d6 = engine_str(e, "device"), *s6 = engine_str(e, "split");
  g_assert_null(d6);
  g_assert_null(s6);
  g_settings_reset(s, "model-load-settings");
  g_settings_reset(s, "default-context-size");
}

/* ---- a changed KV type makes a new session ---- */

typedef struct {
  gboolean done, ok;
  GError *error;
} LoadWait;

static void loaded(GObject *source, GAsyncResult *res, gpointer data)
{
  LoadWait *lw = data;
  lw->ok = distill_engine_load_finish(DISTILL_ENGINE(source), res, &lw->error);
  lw->done = TRUE;
}
static gboolean load_done(gpointer data) { return ((LoadWait *)data)->done; }
static gboolean gen_done(gpointer data) { return distill_generation_is_finished(data); }

static DistillGenerationStats answer(DistillEngine *e)
{
  g_autoptr(DistillGenerateRequest) req = distill_generate_request_new();
  distill_generate_request_add_message(req, "user", "Once upon a time there was a little dog named Max.");
  req->temperature = 0;
  req->max_tokens = 4;
  req->seed = 1;
  g_autoptr(DistillGeneration) g = distill_engine_generate(e, g_steal_pointer(&req));
  g_assert_true(wait_for(gen_done, g, 60000));
  g_assert_null(distill_generation_get_error(g));
  return *distill_generation_get_stats(g);
}

static void test_kv_change_new_session(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  g_autoptr(GSettings) s = fresh_settings();
  g_autoptr(DistillEngine) e = distill_engine_new();
  LoadWait lw = {0};
  distill_load_settings_apply(s, path, 0, e, NULL);
  distill_engine_load_async(e, path, NULL, loaded, &lw);
  g_assert_true(wait_for(load_done, &lw, 30000));
  g_assert_no_error(lw.error);

  distill_load_settings_apply(s, path, 0, e, NULL);
  DistillGenerationStats a = answer(e);
  g_assert_cmpint(a.prompt_tokens, >, 4);
  g_assert_cmpstr(a.offload, !=, "");
  g_test_message("%s", a.offload);
  /* the same settings: the session and its cached prompt are kept */
  distill_load_settings_apply(s, path, 0, e, NULL);
  DistillGenerationStats b = answer(e);
  g_assert_cmpint(b.prompt_cached, >, 0);

  /* the model gets its own KV type: a new session, nothing cached */
  DistillLoadSettings own;
  distill_load_settings_get_defaults(s, &own);
  g_strlcpy(own.kv_type, "f32", sizeof own.kv_type);
  own.threads = 1;
  distill_load_settings_set_model(s, path, &own);
  distill_load_settings_apply(s, path, 0, e, NULL);
  DistillGenerationStats c = answer(e);
  g_assert_cmpint(c.prompt_cached, ==, 0);
  g_assert_cmpint(c.prompt_evaluated, ==, c.prompt_tokens);
  g_assert_cmpint(c.n_threads, ==, 1);
  /* and the next answer reuses that new session */
  distill_load_settings_apply(s, path, 0, e, NULL);
  DistillGenerationStats d = answer(e);
  g_assert_cmpint(d.prompt_cached, >, 0);
  g_settings_reset(s, "model-load-settings");
}


/* ---- the engine runs the split it is given ---- */

static char *lavapipe_dir; /* main(): a second lavapipe ICD file here, so Vulkan lists two devices */

static void on_text(DistillGeneration *g, const char *text, int tokens, GString *out)
{
  (void)g, (void)tokens;
  g_string_append(out, text);
}

static DistillGenerationStats answer_text(DistillEngine *e, GString *text)
{
  g_autoptr(DistillGenerateRequest) req = distill_generate_request_new();
  distill_generate_request_add_message(req, "user", "Once upon a time there was a little dog named Max.");
  req->temperature = 0;
  req->max_tokens = 12;
  req->seed = 1;
  g_autoptr(DistillGeneration) g = distill_engine_generate(e, g_steal_pointer(&req));
  g_signal_connect(g, "delta", G_CALLBACK(on_text), text);
  g_assert_true(wait_for(gen_done, g, 120000));
  g_assert_null(distill_generation_get_error(g));
  return *distill_generation_get_stats(g);
}

/* stories260K over two lavapipe devices as the "device" and "split" properties say: the same
 * greedy text as on the CPU, the layers where the split puts them, a changed split a new session,
 * and the benchmark's device naming both. */
static void test_split_runs(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  if (lavapipe_dir == NULL) {
    g_test_skip("lavapipe (mesa-vulkan-drivers) is not installed, or VK_ICD_FILENAMES was set from outside");
    return;
  }
  g_autoptr(DistillEngine) e = distill_engine_new();
  LoadWait lw = {0};
  g_object_set(e, "kv-type", "f32", "gpu-layers", 0, NULL);
  distill_engine_load_async(e, path, NULL, loaded, &lw);
  g_assert_true(wait_for(load_done, &lw, 30000));
  g_assert_no_error(lw.error);

  g_autoptr(GString) cpu = g_string_new(NULL), split = g_string_new(NULL), other = g_string_new(NULL);
  DistillGenerationStats a = answer_text(e, cpu);
  g_assert_cmpint(a.gen_tokens, >, 4);
  g_assert_true(g_str_has_prefix(a.offload, "offload: 0/5 "));

  g_object_set(e, "gpu-layers", 5, "device", "0,1", "split", "2,3", NULL);
  DistillGenerationStats b = answer_text(e, split);
  g_test_message("%s", b.offload);
  if (g_str_has_prefix(b.offload, "offload: 0/5 ") && strstr(b.offload, "no Vulkan support")) {
    g_test_skip("built without Vulkan");
    return;
  }
  g_assert_true(g_str_has_prefix(b.offload, "offload: 5/5 layers on Vulkan0 ("));
  g_assert_nonnull(strstr(b.offload, ") 2 + Vulkan1 ("));
  g_assert_true(g_str_has_suffix(b.offload, ") 3"));
  g_assert_cmpint(b.prompt_cached, ==, 0);
  g_assert_cmpstr(split->str, ==, cpu->str);
  g_autofree char *backend = NULL, *device = NULL;
  distill_bench_backend_from_offload(b.offload, &backend, &device);
  g_assert_cmpstr(backend, ==, "Vulkan");
  g_auto(GStrv) names = g_strsplit(device, " + ", -1);
  g_assert_cmpuint(g_strv_length(names), ==, 2);
  g_assert_cmpstr(names[0], ==, names[1]);
  g_assert_nonnull(strstr(names[0], "llvmpipe"));

  /* another split: a new session, cut as it says */
  g_object_set(e, "split", "4,1", NULL);
  DistillGenerationStats c = answer_text(e, other);
  g_assert_nonnull(strstr(c.offload, ") 4 + Vulkan1 ("));
  g_assert_true(g_str_has_suffix(c.offload, ") 1"));
  g_assert_cmpint(c.prompt_cached, ==, 0);
  g_assert_cmpstr(other->str, ==, cpu->str);
}

/* ---- the chat page applies them ---- */

static GtkWidget *find_named(GtkWidget *root, const char *name)
{
  if (g_strcmp0(gtk_widget_get_name(root), name) == 0) return root;
  for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *w = find_named(c, name);
    if (w) return w;
  }
  return NULL;
}

static gboolean has_tooltip_with(GtkWidget *w, const char *text);
static gboolean engine_ready(gpointer e) { return distill_engine_get_state(e) == DISTILL_ENGINE_READY; }
static gboolean page_idle(gpointer p) { return !distill_chat_page_is_generating(p); }

static void test_chat_page_applies(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  g_autoptr(GSettings) s = fresh_settings();
  DistillLoadSettings own = {.gpu_layers = 0, .threads = 1, .kv_type = "f32", .context_size = 1024};
  distill_load_settings_set_model(s, path, &own);
  g_autofree char *dir = g_dir_make_tmp("distill-chat-XXXXXX", NULL);
  g_autofree char *db = g_build_filename(dir, "history.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) history = distill_history_open(db, &error);
  g_assert_no_error(error);
  g_autoptr(DistillEngine) e = distill_engine_new();

  GtkWidget *win = adw_window_new();
  gtk_window_set_default_size(GTK_WINDOW(win), 900, 700);
  GtkWidget *page = distill_chat_page_new(e, history);
  adw_window_set_content(ADW_WINDOW(win), page);
  gtk_window_present(GTK_WINDOW(win));

  /* loading the model sets its threads and KV type on the engine */
  distill_chat_page_load_model(DISTILL_CHAT_PAGE(page), path);
  g_assert_cmpint(engine_int(e, "n-threads"), ==, 1);
  g_autofree char *kv = engine_kv(e);
  g_assert_cmpstr(kv, ==, "f32");
  g_assert_true(wait_for(engine_ready, e, 30000));
  /* a new chat takes the model's own context size */
  g_assert_true(gtk_widget_activate_action(page, "chat.new", NULL));
  GtkSpinButton *ctx = GTK_SPIN_BUTTON(find_named(page, "context-size"));
  g_assert_nonnull(ctx);
  g_assert_cmpint(gtk_spin_button_get_value_as_int(ctx), ==, 1024);

  /* the settings changed in between are applied before the answer */
  own.threads = 2;
  distill_load_settings_set_model(s, path, &own);
  GtkTextView *composer = GTK_TEXT_VIEW(find_named(page, "composer"));
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(composer), "Once upon a time", -1);
  g_assert_true(gtk_widget_activate_action(page, "chat.send", NULL));
  g_assert_cmpint(engine_int(e, "n-threads"), ==, 2);
  g_assert_true(wait_for(page_idle, page, 60000));
  /* where the layers ran is in the answer's statistics tooltip (a notice may follow the answer) */
  GtkWidget *messages = find_named(page, "messages");
  GtkWidget *last = NULL;
  for (GtkWidget *c = gtk_widget_get_first_child(messages); c; c = gtk_widget_get_next_sibling(c))
    if (DISTILL_IS_MESSAGE_ROW(c) && g_strcmp0(distill_message_row_get_role(DISTILL_MESSAGE_ROW(c)), "assistant") == 0)
      last = c;
  g_assert_nonnull(last);
  g_assert_true(has_tooltip_with(last, "On the CPU; 2 CPU threads"));
  g_assert_true(has_tooltip_with(last, "2 CPU threads"));

  gtk_window_destroy(GTK_WINDOW(win));
  g_clear_object(&history);
  g_autofree char *wal = g_strconcat(db, "-wal", NULL), *shm = g_strconcat(db, "-shm", NULL);
  g_unlink(db);
  g_unlink(wal);
  g_unlink(shm);
  g_rmdir(dir);
  g_settings_reset(s, "model-load-settings");
  g_settings_reset(s, "last-model");
}

/* ---- the Models preferences page ---- */

static void test_prefs_page(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  g_autoptr(GSettings) s = fresh_settings();
  /* a models folder with the fixture model in it (a link: fixtures are never copied) */
  g_autofree char *dir = g_dir_make_tmp("distill-models-XXXXXX", NULL);
  g_autofree char *link = g_build_filename(dir, "stories260K.gguf", NULL);
  g_assert_cmpint(symlink(path, link), ==, 0);
  /* and a header of R1-Distill-Qwen-14B Q4_K_M's real shape, which two 8 GB cards share */
  g_autofree char *big = write_14b_header(dir);
  g_autoptr(DistillHardware) hw = distill_hardware_new(s, dir);
  uint64_t huge[1] = {100 * GB};
  still_hardware sim;
  still_hardware_simulated(&sim, 16 * GB, 1, huge, false, 0, 0);
  sim.cpu_cores = 6;
  distill_hardware_set_simulated(hw, &sim);

  GtkWidget *window = gtk_window_new();
  GtkWidget *page = distill_prefs_models_new(s, hw, dir);
  gtk_window_set_child(GTK_WINDOW(window), page);
  gtk_window_present(GTK_WINDOW(window));
  DistillPrefsModels *p = DISTILL_PREFS_MODELS(page);

  /* defaults: GPU layers "None (CPU only)" */
  AdwComboRow *gpu_mode = ADW_COMBO_ROW(distill_prefs_models_get_widget(p, "gpu-mode"));
  g_assert_cmpuint(adw_combo_row_get_selected(gpu_mode), ==, 0); /* Automatic */
  adw_combo_row_set_selected(gpu_mode, 1);
  g_assert_cmpint(g_settings_get_int(s, "default-gpu-layers"), ==, 0);
  /* a fixed number shows the spin button, which writes the number */
  GtkWidget *gpu_spin = distill_prefs_models_get_widget(p, "gpu-layers");
  g_assert_false(gtk_widget_get_visible(gtk_widget_get_ancestor(gpu_spin, ADW_TYPE_ACTION_ROW)));
  adw_combo_row_set_selected(gpu_mode, 2);
  g_assert_true(gtk_widget_get_visible(gtk_widget_get_ancestor(gpu_spin, ADW_TYPE_ACTION_ROW)));
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(gpu_spin), 7);
  g_assert_cmpint(g_settings_get_int(s, "default-gpu-layers"), ==, 7);
  /* threads: Automatic says how many cores */
  AdwComboRow *threads_mode = ADW_COMBO_ROW(distill_prefs_models_get_widget(p, "threads-mode"));
  g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(threads_mode)), "6"));
  adw_combo_row_set_selected(threads_mode, 1);
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(distill_prefs_models_get_widget(p, "threads")), 4);
  g_assert_cmpint(g_settings_get_int(s, "default-cpu-threads"), ==, 4);
  /* KV type: F32, explained in words */
  AdwComboRow *kv = ADW_COMBO_ROW(distill_prefs_models_get_widget(p, "kv-type"));
  adw_combo_row_set_selected(kv, 1);
  g_autofree char *kv_s = g_settings_get_string(s, "default-kv-type");
  g_assert_cmpstr(kv_s, ==, "f32");
  g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(kv)), "twice"));
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(distill_prefs_models_get_widget(p, "context-size")), 8192);
  g_assert_cmpint(g_settings_get_int(s, "default-context-size"), ==, 8192);
  /* a change made elsewhere shows */
  g_settings_set_int(s, "default-gpu-layers", -1);
  g_assert_cmpuint(adw_combo_row_get_selected(gpu_mode), ==, 0);

  /* the installed model: off (defaults) until switched on, then its own settings start as the defaults */
  AdwExpanderRow *row = ADW_EXPANDER_ROW(distill_prefs_models_get_widget(p, "stories260K.gguf"));
  g_assert_nonnull(row);
  g_assert_false(adw_expander_row_get_enable_expansion(row));
  g_assert_nonnull(strstr(adw_expander_row_get_subtitle(row), "5 layers"));
  AdwComboRow *m_gpu = ADW_COMBO_ROW(distill_prefs_models_get_widget(p, "stories260K.gguf/gpu-mode"));
  /* Auto on this simulated GPU: all 5 */
  g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(m_gpu)), "5 of its 5"));
  /* … on two 8 GB cards: stories260K on one of them; the 14B shared over both (as the chat will
   * run them) */
  uint64_t cards[2] = {8 * GB, 8 * GB};
  still_hardware two;
  still_hardware_simulated(&two, 16 * GB, 2, cards, false, 0, 0);
  two.cpu_cores = 6;
  distill_hardware_set_simulated(hw, &two);
  AdwComboRow *big_gpu = ADW_COMBO_ROW(distill_prefs_models_get_widget(p, "r1-qwen-14b-Q4_K_M.gguf/gpu-mode"));
  g_assert_nonnull(big_gpu);
  g_test_message("%s", adw_action_row_get_subtitle(ADW_ACTION_ROW(big_gpu)));
  g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(big_gpu)), "48 of its 48 layers, shared over 2 GPUs"));
  g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(m_gpu)), "5 of its 5 layers."));
  g_assert_nonnull(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(gpu_mode)), "free memory of the GPUs"));
  distill_hardware_set_simulated(hw, &sim);
  g_assert_null(strstr(adw_action_row_get_subtitle(ADW_ACTION_ROW(big_gpu)), "shared"));
  adw_expander_row_set_enable_expansion(row, TRUE);
  g_assert_true(distill_load_settings_has_model(s, path));
  DistillLoadSettings ls;
  distill_load_settings_get(s, path, &ls);
  g_assert_cmpint(ls.threads, ==, 4);
  AdwComboRow *m_kv = ADW_COMBO_ROW(distill_prefs_models_get_widget(p, "stories260K.gguf/kv-type"));
  adw_combo_row_set_selected(m_kv, 0);
  distill_load_settings_get(s, path, &ls);
  g_assert_cmpstr(ls.kv_type, ==, "f16");
  /* the spin button goes up to the model's layers */
  GtkSpinButton *m_layers = GTK_SPIN_BUTTON(distill_prefs_models_get_widget(p, "stories260K.gguf/gpu-layers"));
  double lower, upper;
  gtk_spin_button_get_range(m_layers, &lower, &upper);
  g_assert_cmpfloat(upper, ==, 5);
  /* the defaults did not change */
  g_autofree char *kv_d = g_settings_get_string(s, "default-kv-type");
  g_assert_cmpstr(kv_d, ==, "f32");
  /* switched off: the defaults again */
  adw_expander_row_set_enable_expansion(row, FALSE);
  g_assert_false(distill_load_settings_has_model(s, path));

  /* reasoning-expanded is on this page */
  GtkSwitch *sw = GTK_SWITCH(distill_prefs_models_get_widget(p, "reasoning-expanded"));
  gtk_switch_set_active(sw, TRUE);
  g_assert_true(g_settings_get_boolean(s, "reasoning-expanded"));
  gtk_switch_set_active(sw, FALSE);

  gtk_window_destroy(GTK_WINDOW(window));
  g_unlink(link);
  g_unlink(big);
  g_rmdir(dir);
  g_settings_reset(s, "default-cpu-threads");
  g_settings_reset(s, "default-kv-type");
  g_settings_reset(s, "default-context-size");
}

/* ---- reasoning shown or folded in new answers ---- */

static gboolean has_tooltip_with(GtkWidget *w, const char *text)
{
  const char *tip = gtk_widget_get_tooltip_text(w);
  if (tip && strstr(tip, text)) return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c))
    if (has_tooltip_with(c, text)) return TRUE;
  return FALSE;
}

static void test_reasoning_expanded(void)
{
  g_autoptr(GSettings) s = fresh_settings();
  g_autoptr(DistillMessage) m = distill_message_new("assistant", "thinking hard</think>The answer.");
  m->starts_in_think = TRUE;
  GtkWidget *a = g_object_ref_sink(distill_message_row_new(m));
  g_assert_false(distill_message_row_get_reasoning_expanded(DISTILL_MESSAGE_ROW(a)));
  g_settings_set_boolean(s, "reasoning-expanded", TRUE);
  GtkWidget *b = g_object_ref_sink(distill_message_row_new(m));
  g_assert_true(distill_message_row_get_reasoning_expanded(DISTILL_MESSAGE_ROW(b)));
  /* a streamed answer too */
  g_autoptr(DistillMessage) empty = distill_message_new("assistant", "");
  GtkWidget *c = g_object_ref_sink(distill_message_row_new(empty));
  distill_message_row_begin_stream(DISTILL_MESSAGE_ROW(c), TRUE);
  distill_message_row_append(DISTILL_MESSAGE_ROW(c), "hmm");
  g_assert_true(distill_message_row_get_reasoning_expanded(DISTILL_MESSAGE_ROW(c)));
  /* details (where the layers ran) go into the statistics' tooltip */
  distill_message_row_finish(DISTILL_MESSAGE_ROW(c), NULL);
  g_assert_false(has_tooltip_with(c, "offload:"));
  distill_message_row_set_details(DISTILL_MESSAGE_ROW(c), "offload: 0/5 layers on a GPU (CPU only)");
  g_assert_true(has_tooltip_with(c, "offload: 0/5 layers"));
  g_settings_reset(s, "reasoning-expanded");
  g_object_unref(a);
  g_object_unref(b);
  g_object_unref(c);
}


/* The whole preferences window on its Models page; DISTILL_TEST_SCREENSHOT=FILE.png saves a picture. */
static void count_paint(GdkFrameClock *clock, guint *n) { (*n)++; }
static gboolean painted(gpointer n) { return *(guint *)n > 1; }

static void test_prefs_window(void)
{
  NEED_FIXTURE(path, "stories260K.gguf");
  g_autoptr(GSettings) s = fresh_settings();
  g_autofree char *dir = g_dir_make_tmp("distill-models-XXXXXX", NULL);
  g_autofree char *link = g_build_filename(dir, "stories260K.gguf", NULL);
  g_assert_cmpint(symlink(path, link), ==, 0);
  g_settings_set_string(s, "models-folder", dir);
  g_autoptr(DistillHardware) hw = distill_hardware_new(s, dir);
  uint64_t vram[1] = {6 * GB};
  still_hardware sim;
  still_hardware_simulated(&sim, 16 * GB, 1, vram, false, 0, 0);
  sim.cpu_cores = 8;
  sim.cpu_threads = 16;
  distill_hardware_set_simulated(hw, &sim);
  DistillLoadSettings own = {.gpu_layers = 0, .threads = 4, .kv_type = "f32", .context_size = 2048};
  distill_load_settings_set_model(s, path, &own);

  /* the app's icons (the app adds this path through its resource base path) */
  gtk_icon_theme_add_resource_path(gtk_icon_theme_get_for_display(gdk_display_get_default()),
                                   "/io/github/distillapp/Distill/icons");
  DistillPreferences *prefs = distill_preferences_new(NULL, hw, s);
  gtk_window_set_default_size(GTK_WINDOW(prefs), 720, 900);
  adw_preferences_window_set_visible_page_name(ADW_PREFERENCES_WINDOW(prefs), "models");
  gtk_window_present(GTK_WINDOW(prefs));
  GtkWidget *row = NULL;
  AdwPreferencesPage *page = adw_preferences_window_get_visible_page(ADW_PREFERENCES_WINDOW(prefs));
  g_assert_true(DISTILL_IS_PREFS_MODELS(page));
  row = distill_prefs_models_get_widget(DISTILL_PREFS_MODELS(page), "stories260K.gguf");
  g_assert_true(adw_expander_row_get_enable_expansion(ADW_EXPANDER_ROW(row)));
  adw_expander_row_set_expanded(ADW_EXPANDER_ROW(row), TRUE);

  guint n = 0;
  GdkFrameClock *clock = gtk_widget_get_frame_clock(GTK_WIDGET(prefs));
  if (clock == NULL) {
    gtk_window_destroy(GTK_WINDOW(prefs));
  } else {
    gulong id = g_signal_connect(clock, "after-paint", G_CALLBACK(count_paint), &n);
    gtk_widget_queue_draw(GTK_WIDGET(prefs));
    g_assert_true(wait_for(painted, &n, 5000));
    g_signal_handler_disconnect(clock, id);
    const char *shot = g_getenv("DISTILL_TEST_SCREENSHOT");
    if (shot && *shot) {
      GtkWidget *w = GTK_WIDGET(prefs);
      GdkPaintable *paintable = gtk_widget_paintable_new(w);
      GtkSnapshot *snap = gtk_snapshot_new();
      gdk_paintable_snapshot(paintable, snap, gtk_widget_get_width(w), gtk_widget_get_height(w));
      g_autoptr(GskRenderNode) node = gtk_snapshot_free_to_node(snap);
      GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(w));
      g_autoptr(GdkTexture) tex = gsk_renderer_render_texture(renderer, node, NULL);
      g_assert_true(gdk_texture_save_to_png(tex, shot));
      g_object_unref(paintable);
    }
    gtk_window_destroy(GTK_WINDOW(prefs));
  }
  g_unlink(link);
  g_rmdir(dir);
  g_settings_reset(s, "models-folder");
  g_settings_reset(s, "model-load-settings");
}

/* Vulkan lists one device per ICD file path: a copy of lavapipe's beside the original gives two
 * (set before anything in this process makes its Vulkan instance). */
static void two_lavapipes(void)
{
  const char *icd = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
  g_autofree char *text = NULL;
  gsize len = 0;
  if (g_getenv("VK_ICD_FILENAMES") || !g_file_get_contents(icd, &text, &len, NULL)) return;
  lavapipe_dir = g_dir_make_tmp("distill-icd-XXXXXX", NULL);
  g_assert_nonnull(lavapipe_dir);
  g_autofree char *copy = g_build_filename(lavapipe_dir, "second-lavapipe.json", NULL);
  g_assert_true(g_file_set_contents(copy, text, (gssize)len, NULL));
  g_autofree char *both = g_strdup_printf("%s:%s", icd, copy);
  g_setenv("VK_ICD_FILENAMES", both, TRUE);
}

static void remove_lavapipes(void)
{
  if (lavapipe_dir == NULL) return;
  g_autofree char *copy = g_build_filename(lavapipe_dir, "second-lavapipe.json", NULL);
  g_remove(copy);
  g_rmdir(lavapipe_dir);
  g_clear_pointer(&lavapipe_dir, g_free);
}

int main(int argc, char **argv)
{
  two_lavapipes();
  gtk_test_init(&argc, &argv, NULL);
  adw_init();
  distill_register_resource(); /* the app does this; here there is no app */
  g_test_add_func("/load-settings/defaults", test_defaults);
  g_test_add_func("/load-settings/per-model", test_per_model);
  g_test_add_func("/load-settings/apply", test_apply);
  g_test_add_func("/load-settings/apply-several-gpus", test_apply_several_gpus);
  g_test_add_func("/load-settings/split-runs", test_split_runs);
  g_test_add_func("/load-settings/kv-change-new-session", test_kv_change_new_session);
  g_test_add_func("/load-settings/chat-page-applies", test_chat_page_applies);
  g_test_add_func("/load-settings/prefs-page", test_prefs_page);
  g_test_add_func("/load-settings/prefs-window", test_prefs_window);
  g_test_add_func("/load-settings/reasoning-expanded", test_reasoning_expanded);
  int rc = g_test_run();
  remove_lavapipes();
  return rc;
}
