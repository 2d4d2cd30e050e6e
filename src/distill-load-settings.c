/* distill-load-settings.c — a model's load settings from GSettings, and what they mean for the
 * engine. */
#include "config.h"

#include <string.h>

#include "distill-load-settings.h"

#define KEY_MODELS "model-load-settings"

still_kv_type distill_load_settings_kv_type(const char *name)
{
  if (g_strcmp0(name, "f32") == 0) return STILL_KV_F32;
  if (g_strcmp0(name, "q8_0") == 0) return STILL_KV_Q8_0;
  return STILL_KV_F16;
}

static const char *kv_name(const char *name)
{
  switch (distill_load_settings_kv_type(name)) {
  case STILL_KV_F32: return "f32";
  case STILL_KV_Q8_0: return "q8_0";
  default: return "f16";
  }
}

char *distill_load_settings_model_key(const char *model_path)
{
  return model_path ? g_path_get_basename(model_path) : NULL;
}

void distill_load_settings_get_defaults(GSettings *settings, DistillLoadSettings *out)
{
  memset(out, 0, sizeof *out);
  out->gpu_layers = g_settings_get_int(settings, "default-gpu-layers");
  out->threads = g_settings_get_int(settings, "default-cpu-threads");
  g_autofree char *kv = g_settings_get_string(settings, "default-kv-type");
  g_strlcpy(out->kv_type, kv_name(kv), sizeof out->kv_type);
  out->context_size = g_settings_get_int(settings, "default-context-size");
}

void distill_load_settings_set_defaults(GSettings *settings, const DistillLoadSettings *ls)
{
  g_settings_delay(settings);
  g_settings_set_int(settings, "default-gpu-layers", MAX(ls->gpu_layers, DISTILL_GPU_LAYERS_AUTO));
  g_settings_set_int(settings, "default-cpu-threads", MAX(ls->threads, 0));
  g_settings_set_string(settings, "default-kv-type", kv_name(ls->kv_type));
  g_settings_set_int(settings, "default-context-size", CLAMP(ls->context_size, 512, 1048576));
  g_settings_apply(settings);
}

/* The model's own dictionary (a{sv}), or NULL. */
static GVariant *lookup_model(GSettings *settings, const char *model_path)
{
  g_autofree char *key = distill_load_settings_model_key(model_path);
  if (key == NULL) return NULL;
  g_autoptr(GVariant) all = g_settings_get_value(settings, KEY_MODELS);
  return g_variant_lookup_value(all, key, G_VARIANT_TYPE_VARDICT);
}

gboolean distill_load_settings_has_model(GSettings *settings, const char *model_path)
{
  g_autoptr(GVariant) own = lookup_model(settings, model_path);
  return own != NULL;
}

void distill_load_settings_get(GSettings *settings, const char *model_path, DistillLoadSettings *out)
{
  distill_load_settings_get_defaults(settings, out);
  g_autoptr(GVariant) own = lookup_model(settings, model_path);
  if (own == NULL) return;
  out->own = TRUE;
  /* values out of range (a hand-edited setting) fall back to the defaults */
  gint32 i;
  const char *s;
  if (g_variant_lookup(own, "gpu-layers", "i", &i) && i >= DISTILL_GPU_LAYERS_AUTO) out->gpu_layers = i;
  if (g_variant_lookup(own, "threads", "i", &i) && i >= 0) out->threads = i;
  if (g_variant_lookup(own, "kv-type", "&s", &s)) g_strlcpy(out->kv_type, kv_name(s), sizeof out->kv_type);
  if (g_variant_lookup(own, "context-size", "i", &i) && i >= 512) out->context_size = i;
}

void distill_load_settings_set_model(GSettings *settings, const char *model_path, const DistillLoadSettings *ls)
{
  g_autofree char *key = distill_load_settings_model_key(model_path);
  g_return_if_fail(key != NULL);
  g_autoptr(GVariant) all = g_settings_get_value(settings, KEY_MODELS);
  GVariantBuilder b;
  g_variant_builder_init(&b, G_VARIANT_TYPE("a{sa{sv}}"));
  GVariantIter iter;
  const char *name;
  GVariant *dict;
  g_variant_iter_init(&iter, all);
  while (g_variant_iter_next(&iter, "{&s@a{sv}}", &name, &dict)) {
    if (!g_str_equal(name, key)) g_variant_builder_add(&b, "{s@a{sv}}", name, dict);
    g_variant_unref(dict);
  }
  if (ls != NULL) {
    GVariantBuilder d;
    g_variant_builder_init(&d, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add(&d, "{sv}", "gpu-layers", g_variant_new_int32(MAX(ls->gpu_layers, DISTILL_GPU_LAYERS_AUTO)));
    g_variant_builder_add(&d, "{sv}", "threads", g_variant_new_int32(MAX(ls->threads, 0)));
    g_variant_builder_add(&d, "{sv}", "kv-type", g_variant_new_string(kv_name(ls->kv_type)));
    g_variant_builder_add(&d, "{sv}", "context-size", g_variant_new_int32(MAX(ls->context_size, 512)));
    g_variant_builder_add(&b, "{s@a{sv}}", key, g_variant_builder_end(&d));
  }
  g_settings_set_value(settings, KEY_MODELS, g_variant_builder_end(&b));
}

int distill_load_settings_get_context_size(GSettings *settings, const char *model_path)
{
  DistillLoadSettings ls;
  distill_load_settings_get(settings, model_path, &ls);
  return ls.context_size;
}

/* ---- Auto GPU layers ---- */

/* One remembered estimate: the chat asks before every answer, and reading a big model's header
 * (its vocabulary) takes a while. */
static struct {
  char *key;
  DistillGpuPlacement placement;
  /* the GPUs the estimate may use, in its order, and their usable memory (MiB): a fixed number of
   * layers goes over them in those proportions when Auto puts none on a GPU */
  int n_gpus;
  int gpu[STILL_MAX_GPUS];
  guint64 usable_mib[STILL_MAX_GPUS];
} fit_cache;

static char *fit_key(const char *path, const still_hardware *hw, int n_ctx, const char *kv_type)
{
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_autoptr(GFileInfo) info =
    g_file_query_info(file, G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_TIME_MODIFIED, 0, NULL, NULL);
  GString *k = g_string_new(path);
  if (info)
    g_string_append_printf(k, "|%" G_GINT64_FORMAT "|%" G_GUINT64_FORMAT, g_file_info_get_size(info),
                           g_file_info_get_attribute_uint64(info, G_FILE_ATTRIBUTE_TIME_MODIFIED));
  g_string_append_printf(k, "|%d|%s|%" G_GUINT64_FORMAT "|%d", n_ctx, kv_name(kv_type), hw->ram_free, hw->n_gpus);
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++)
    g_string_append_printf(k, "|%d:%d:%d:%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT ":%g", hw->gpus[i].kind,
                           hw->gpus[i].cpu_emulated, hw->gpus[i].unified, hw->gpus[i].free_bytes,
                           hw->gpus[i].max_buffer_bytes, hw->gpus[i].bandwidth_gbs);
  return g_string_free(k, FALSE);
}

/* The estimate for model_path on hw, remembered in fit_cache; FALSE when the header cannot be read. */
static gboolean estimate(const char *model_path, const still_hardware *hw, int n_ctx, const char *kv_type)
{
  g_autofree char *key = fit_key(model_path, hw, n_ctx, kv_type);
  if (fit_cache.key && g_str_equal(fit_cache.key, key)) return TRUE;
  still_fit_params p = still_fit_params_default();
  p.n_ctx = n_ctx > 0 ? n_ctx : 0;
  p.kv_type = distill_load_settings_kv_type(kv_type);
  still_fit fit;
  still_error err = {0};
  if (still_fit_estimate_file(model_path, hw, &p, &fit, &err) != STILL_OK) {
    /* the engine will say what is wrong with the file when it loads it */
    g_debug("fit estimate of %s: %s", model_path, err.message);
    return FALSE;
  }
  g_free(fit_cache.key);
  memset(&fit_cache, 0, sizeof fit_cache);
  fit_cache.key = g_steal_pointer(&key);
  DistillGpuPlacement *pl = &fit_cache.placement;
  pl->n_layers = fit.n_layers;
  pl->gpu_layers = CLAMP(fit.gpu_layers, 0, fit.n_layers);
  /* "2", or "0,1" and its split "14,14": the GPUs of the estimate that have layers; one GPU that is
   * the engine's own choice stays unnamed, so the engine picks it as it always has */
  pl->n_devices = still_fit_device_args(&fit, still_hardware_default_gpu(hw), pl->device, sizeof pl->device,
                                        pl->split, sizeof pl->split);
  if (pl->n_devices == 0) pl->gpu_layers = 0;
  for (int i = 0; i < fit.n_devices && i < STILL_MAX_GPUS; i++) {
    if (fit.devices[i].usable_bytes < (1 << 20)) continue;
    fit_cache.gpu[fit_cache.n_gpus] = fit.devices[i].gpu;
    fit_cache.usable_mib[fit_cache.n_gpus] = fit.devices[i].usable_bytes >> 20;
    fit_cache.n_gpus++;
  }
  return TRUE;
}

void distill_load_settings_auto_placement(const char *model_path, const still_hardware *hw, int n_ctx,
                                          const char *kv_type, DistillGpuPlacement *out)
{
  memset(out, 0, sizeof *out);
  if (model_path == NULL) return;
  /* without the hardware, the layers are still worth knowing (the preferences show them) */
  still_hardware none;
  if (hw == NULL) {
    still_hardware_simulated(&none, 0, 0, NULL, false, 0, 0);
    hw = &none;
  }
  /* the estimate's own placement: every GPU it puts layers on (a split when there are several,
   * so a model runs where the library's "will it fit" verdict says); software renderers never
   * take layers there */
  if (estimate(model_path, hw, n_ctx, kv_type)) *out = fit_cache.placement;
}

int distill_load_settings_auto_gpu_layers(const char *model_path, const still_hardware *hw, int n_ctx,
                                          const char *kv_type, int *n_layers_out)
{
  DistillGpuPlacement pl;
  distill_load_settings_auto_placement(model_path, hw, n_ctx, kv_type, &pl);
  if (n_layers_out) *n_layers_out = pl.n_layers;
  return pl.gpu_layers;
}

void distill_load_settings_fixed_placement(const char *model_path, const still_hardware *hw, int n_ctx,
                                           const char *kv_type, int gpu_layers, DistillGpuPlacement *out)
{
  memset(out, 0, sizeof *out);
  out->gpu_layers = MAX(gpu_layers, 0);
  if (model_path == NULL || out->gpu_layers == 0) return;
  still_hardware none;
  if (hw == NULL) still_hardware_simulated(&none, 0, 0, NULL, false, 0, 0);
  gboolean known = estimate(model_path, hw ? hw : &none, n_ctx, kv_type);
  /* a fixed number above the model's layers means all of them */
  if (known) {
    out->n_layers = fit_cache.placement.n_layers;
    if (out->n_layers > 0) out->gpu_layers = MIN(out->gpu_layers, out->n_layers);
  }
  /* without the hardware or a usable GPU of the estimate's: the engine's default device */
  if (!known || hw == NULL || fit_cache.n_gpus == 0) return;
  const DistillGpuPlacement *au = &fit_cache.placement;
  if (au->gpu_layers > 0) {
    /* the Auto placement's GPUs and its layers on each as the shares: at most as many layers as
     * Auto on each GPU, so a count Auto fits fits the same way (the last GPU also holds the output
     * layer, which a split by memory alone would not allow for) */
    out->n_devices = au->n_devices;
    g_strlcpy(out->device, au->device, sizeof out->device);
    g_strlcpy(out->split, au->split, sizeof out->split);
    return;
  }
  /* nothing fits on a GPU at all: over the GPUs the estimate may use, in proportion to their usable
   * memory (the engine then takes fewer layers, down to none) */
  GString *dev = g_string_new(NULL), *split = g_string_new(NULL);
  for (int i = 0; i < fit_cache.n_gpus; i++) {
    g_string_append_printf(dev, "%s%d", i ? "," : "", fit_cache.gpu[i]);
    g_string_append_printf(split, "%s%" G_GUINT64_FORMAT, i ? "," : "", fit_cache.usable_mib[i]);
  }
  out->n_devices = fit_cache.n_gpus;
  gboolean implied = fit_cache.n_gpus == 1 && fit_cache.gpu[0] == still_hardware_default_gpu(hw);
  g_strlcpy(out->device, implied ? "" : dev->str, sizeof out->device);
  g_strlcpy(out->split, fit_cache.n_gpus > 1 ? split->str : "", sizeof out->split);
  g_string_free(dev, TRUE);
  g_string_free(split, TRUE);
}

int distill_load_settings_apply(GSettings *settings, const char *model_path, int n_ctx, DistillEngine *engine,
                                const still_hardware *hw)
{
  g_return_val_if_fail(G_IS_SETTINGS(settings) && DISTILL_IS_ENGINE(engine), 0);
  DistillLoadSettings ls;
  distill_load_settings_get(settings, model_path, &ls);
  if (n_ctx <= 0) n_ctx = ls.context_size;
  DistillGpuPlacement pl = {0};
  if (ls.gpu_layers == DISTILL_GPU_LAYERS_AUTO)
    distill_load_settings_auto_placement(model_path, hw, n_ctx, ls.kv_type, &pl);
  else if (ls.gpu_layers > 0)
    distill_load_settings_fixed_placement(model_path, hw, n_ctx, ls.kv_type, ls.gpu_layers, &pl);
  /* the GPUs by their UUIDs where the probe knows them: the engine opens the session later (at the
   * first answer), and an index could by then point at another card (one plugged in meanwhile),
   * as could the engine's own choice (a discrete card plugged in beside the integrated one) */
  char named[512];
  const char *device = pl.device;
  if (pl.device[0] && still_gpu_selectors(hw, pl.device, named, sizeof named)) device = named;
  else if (!pl.device[0] && pl.gpu_layers > 0 && hw &&
           still_gpu_selector(hw, still_hardware_default_gpu(hw), named, sizeof named) > 0 &&
           g_str_has_prefix(named, "uuid:"))
    device = named;
  g_object_set(engine, "gpu-layers", pl.gpu_layers, "n-threads", ls.threads, "kv-type", ls.kv_type, "device",
               device[0] ? device : NULL, "split", pl.split[0] ? pl.split : NULL, NULL);
  return pl.gpu_layers;
}
