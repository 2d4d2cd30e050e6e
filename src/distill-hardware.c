/* distill-hardware.c — the probe off the main thread, and the user's corrections. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "distill-download.h"
#include "distill-hardware.h"

#define GB 1000000000.0

struct _DistillHardware {
  GObject parent_instance;

  GSettings *settings;
  char *models_dir;
  still_hardware detected;
  gboolean ready;
  gboolean simulated; /* set_simulated's values: a refresh keeps them */
  guint refreshing;   /* refresh probes in flight */
};

G_DEFINE_FINAL_TYPE(DistillHardware, distill_hardware, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void on_setting_changed(DistillHardware *self)
{
  if (self->ready) g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

static void distill_hardware_finalize(GObject *object)
{
  DistillHardware *self = DISTILL_HARDWARE(object);
  g_signal_handlers_disconnect_by_data(self->settings, self);
  g_clear_object(&self->settings);
  g_free(self->models_dir);
  G_OBJECT_CLASS(distill_hardware_parent_class)->finalize(object);
}

static void distill_hardware_class_init(DistillHardwareClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = distill_hardware_finalize;
  /* The detected values or the corrections changed: fit verdicts must be recomputed. */
  signals[SIGNAL_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                         NULL, G_TYPE_NONE, 0);
}

static void distill_hardware_init(DistillHardware *self)
{
  (void)self;
}

DistillHardware *distill_hardware_new(GSettings *settings, const char *models_dir)
{
  DistillHardware *self = g_object_new(DISTILL_TYPE_HARDWARE, NULL);
  self->settings = settings ? g_object_ref(settings) : g_settings_new(APP_ID);
  g_signal_connect_swapped(self->settings, "changed::reserve-vram-gb", G_CALLBACK(on_setting_changed), self);
  g_signal_connect_swapped(self->settings, "changed::ram-limit-gb", G_CALLBACK(on_setting_changed), self);
  if (models_dir != NULL) {
    self->models_dir = g_strdup(models_dir);
  } else {
    g_autofree char *folder = g_settings_get_string(self->settings, "models-folder");
    self->models_dir = *folder ? g_steal_pointer(&folder) : distill_download_default_directory();
  }
  return self;
}

typedef struct {
  still_hardware hw;
  char *models_dir;
  double stored_bw;   /* cpu-bandwidth-gbs */
  char *stored_cpu;   /* cpu-bandwidth-cpu */
  gboolean measured;  /* the bandwidth was measured by this probe (to be stored) */
} ProbeData;

/* The buffer of the bandwidth measurement: far larger than any CPU cache, small enough to be quick
 * (about a tenth of a second) and harmless on a machine short of memory. */
#define BANDWIDTH_TEST_BYTES ((uint64_t)256 << 20)

static void default_probe_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)user_data;
  g_autoptr(GError) error = NULL;
  if (!distill_hardware_probe_finish(DISTILL_HARDWARE(src), res, &error)) g_message("%s", error->message);
}

static void on_models_folder_changed(DistillHardware *self)
{
  g_autofree char *folder = g_settings_get_string(self->settings, "models-folder");
  g_free(self->models_dir);
  self->models_dir = *folder ? g_steal_pointer(&folder) : distill_download_default_directory();
  /* the free disk space is the new folder's */
  distill_hardware_probe_async(self, NULL, default_probe_done, NULL);
}

DistillHardware *distill_hardware_get_default(void)
{
  static DistillHardware *instance;
  if (instance == NULL) {
    instance = distill_hardware_new(NULL, NULL);
    g_signal_connect_swapped(instance->settings, "changed::models-folder", G_CALLBACK(on_models_folder_changed),
                             instance);
    distill_hardware_probe_async(instance, NULL, default_probe_done, NULL);
  }
  return instance;
}

static void probe_data_free(ProbeData *d)
{
  g_free(d->models_dir);
  g_free(d->stored_cpu);
  g_free(d);
}

static void probe_thread(GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  (void)source;
  (void)cancellable;
  ProbeData *d = task_data;
  still_error err = {0};
  /* The folder may not exist yet: the disk check then looks at the nearest existing parent. */
  g_autofree char *dir = g_strdup(d->models_dir);
  while (dir != NULL && !g_file_test(dir, G_FILE_TEST_IS_DIR)) {
    char *parent = g_path_get_dirname(dir);
    if (g_strcmp0(parent, dir) == 0) {
      g_free(parent);
      g_clear_pointer(&dir, g_free);
      break;
    }
    g_free(dir);
    dir = parent;
  }
  if (still_hardware_probe(&d->hw, dir, &err) != STILL_OK) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not look at this computer: %s"),
                            err.message);
    return;
  }
  /* The CPU speed estimates follow the memory bandwidth: measured once per processor (the
   * figure is kept in the settings), instead of an assumed typical value. */
  double bw = 0;
  if (d->stored_bw > 0 && g_strcmp0(d->stored_cpu, d->hw.cpu_name) == 0) {
    bw = d->stored_bw;
  } else {
    bw = still_measure_memory_bandwidth(0, BANDWIDTH_TEST_BYTES, NULL);
    d->measured = bw > 0;
  }
  /* (and the GPUs that read the same memory: lavapipe, an integrated GPU not in the table) */
  if (bw > 0) still_hardware_set_memory_bandwidth(&d->hw, bw);
  g_task_return_boolean(task, TRUE);
}

void distill_hardware_probe_async(DistillHardware *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_HARDWARE(self));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_hardware_probe_async);
  ProbeData *d = g_new0(ProbeData, 1);
  d->models_dir = g_strdup(self->models_dir);
  d->stored_bw = g_settings_get_double(self->settings, "cpu-bandwidth-gbs");
  d->stored_cpu = g_settings_get_string(self->settings, "cpu-bandwidth-cpu");
  g_task_set_task_data(task, d, (GDestroyNotify)probe_data_free);
  g_task_run_in_thread(task, probe_thread);
  g_object_unref(task);
}

gboolean distill_hardware_probe_finish(DistillHardware *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
  GTask *task = G_TASK(result);
  if (!g_task_propagate_boolean(task, error)) return FALSE;
  ProbeData *d = g_task_get_task_data(task);
  if (d->measured) {
    g_settings_set_double(self->settings, "cpu-bandwidth-gbs", d->hw.cpu_bandwidth_gbs);
    g_settings_set_string(self->settings, "cpu-bandwidth-cpu", d->hw.cpu_name);
  }
  self->detected = d->hw;
  self->ready = TRUE;
  self->simulated = FALSE;
  g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
  return TRUE;
}

static void refresh_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)user_data;
  DistillHardware *self = DISTILL_HARDWARE(src);
  self->refreshing--;
  g_autoptr(GError) error = NULL;
  /* values simulated in the meantime win */
  if (self->simulated) return;
  if (!distill_hardware_probe_finish(self, res, &error)) g_message("%s", error->message);
}

void distill_hardware_refresh(DistillHardware *self)
{
  g_return_if_fail(DISTILL_IS_HARDWARE(self));
  if (self->simulated || self->refreshing > 0) return;
  self->refreshing++;
  /* the task keeps self alive until it is done */
  distill_hardware_probe_async(self, NULL, refresh_done, NULL);
}

gboolean distill_hardware_is_simulated(DistillHardware *self)
{
  g_return_val_if_fail(DISTILL_IS_HARDWARE(self), FALSE);
  return self->simulated;
}

void distill_hardware_set_simulated(DistillHardware *self, const still_hardware *hw)
{
  g_return_if_fail(DISTILL_IS_HARDWARE(self) && hw != NULL);
  self->detected = *hw;
  self->ready = TRUE;
  self->simulated = TRUE;
  g_signal_emit(self, signals[SIGNAL_CHANGED], 0);
}

gboolean distill_hardware_is_ready(DistillHardware *self)
{
  return self->ready;
}

const still_hardware *distill_hardware_get_detected(DistillHardware *self)
{
  return self->ready ? &self->detected : NULL;
}

const char *distill_hardware_get_models_dir(DistillHardware *self)
{
  return self->models_dir;
}

gboolean distill_hardware_get_effective(DistillHardware *self, still_hardware *out)
{
  memset(out, 0, sizeof *out);
  if (!self->ready) return FALSE;
  *out = self->detected;
  double reserve_gb = g_settings_get_double(self->settings, "reserve-vram-gb");
  double ram_gb = g_settings_get_double(self->settings, "ram-limit-gb");
  uint64_t reserve = reserve_gb > 0 ? (uint64_t)(reserve_gb * GB) : 0;
  for (int i = 0; i < out->n_gpus && i < STILL_MAX_GPUS; i++) {
    still_gpu *g = &out->gpus[i];
    g->free_bytes = g->free_bytes > reserve ? g->free_bytes - reserve : 0;
  }
  if (ram_gb > 0) {
    uint64_t cap = (uint64_t)(ram_gb * GB);
    if (out->ram_free == 0 || cap < out->ram_free || out->ram_free > out->ram_total) out->ram_free = cap;
    else out->ram_free = MIN(out->ram_free, cap);
  }
  return TRUE;
}

char *distill_hardware_cpu_features(const still_hardware *hw, const char *separator)
{
  /* instruction set names are the same in every language: only the separator is translated */
  const char *names[3];
  guint n = 0;
  if (hw->avx2) names[n++] = "AVX2";
  if (hw->avx512) names[n++] = "AVX-512";
  if (hw->vnni) names[n++] = "VNNI";
  if (n == 0) return NULL;
  GString *list = g_string_new(names[0]);
  for (guint i = 1; i < n; i++) {
    g_string_append(list, separator);
    g_string_append(list, names[i]);
  }
  return g_string_free(list, FALSE);
}

int distill_hardware_usable_gpus(const still_hardware *hw)
{
  int n = 0;
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++) n += !hw->gpus[i].cpu_emulated && !hw->gpus[i].duplicate;
  return n;
}

char *distill_hardware_describe(const still_hardware *hw)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++) {
    const still_gpu *g = &hw->gpus[i];
    g_autofree char *total = g_format_size(g->total_bytes);
    g_autofree char *free_s = g_format_size(g->free_bytes);
    if (g->duplicate)
      /* Translators: one GPU that two drivers both list */
      g_string_append_printf(s, _("GPU: %s (listed again by another driver, counted once)\n"), g->name);
    else if (g->cpu_emulated)
      g_string_append_printf(s, _("GPU: %s (software, not used)\n"), g->name);
    else if (g->free_known)
      g_string_append_printf(s, _("GPU: %s, %s free of %s\n"), g->name, free_s, total);
    else
      g_string_append_printf(s, _("GPU: %s, %s (only the total is known)\n"), g->name, total);
  }
  /* none but a software renderer: why (an NVIDIA driver whose Vulkan part does not start, say) */
  if (distill_hardware_usable_gpus(hw) == 0 && hw->gpu_note[0])
    /* Translators: no GPU can run models; %s says why, e.g. "no Vulkan driver" */
    g_string_append_printf(s, _("GPU: none usable — %s\n"), hw->gpu_note);
  else if (hw->n_gpus == 0)
    g_string_append(s, _("GPU: none usable\n"));
  g_autofree char *ram_free = g_format_size(hw->ram_free);
  g_autofree char *ram_total = g_format_size(hw->ram_total);
  if (hw->ram_total > 0)
    g_string_append_printf(s, _("Memory: %s available of %s\n"), ram_free, ram_total);
  else
    g_string_append_printf(s, _("Memory: %s available\n"), ram_free);
  if (hw->cpu_threads > 0) {
    const char *cpu = hw->cpu_name[0] ? hw->cpu_name : _("unknown");
    /* Translators: separates the items of a list of instruction sets, "AVX2, AVX-512" */
    g_autofree char *features = distill_hardware_cpu_features(hw, _(", "));
    if (features)
      /* Translators: processor name, core count, thread count, then its vector instruction sets as a
       * list such as "AVX2, AVX-512, VNNI" (names are not translated) */
      g_string_append_printf(s, _("CPU: %1$s, %2$d cores, %3$d threads, with %4$s\n"), cpu, hw->cpu_cores,
                             hw->cpu_threads, features);
    else
      /* Translators: processor name, core count, thread count */
      g_string_append_printf(s, _("CPU: %1$s, %2$d cores, %3$d threads\n"), cpu, hw->cpu_cores, hw->cpu_threads);
  }
  if (hw->cpu_bandwidth_measured)
    g_string_append_printf(s, _("Memory bandwidth: %.0f GB/s (measured)\n"), hw->cpu_bandwidth_gbs);
  if (hw->disk_known) {
    g_autofree char *disk = g_format_size(hw->disk_free);
    g_string_append_printf(s, _("Disk: %s free at the models folder\n"), disk);
  }
  if (s->len > 0 && s->str[s->len - 1] == '\n') g_string_truncate(s, s->len - 1);
  return g_string_free(s, FALSE);
}
