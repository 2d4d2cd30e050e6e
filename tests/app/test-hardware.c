/* test-hardware.c — DistillHardware with simulated values: the user's corrections from
 * GSettings (reserved VRAM, RAM limit), "changed" notifications, the description, and a real
 * probe off the main thread. */
#include <gio/gio.h>
#include <string.h>

#include "distill-hardware.h"

#define GB 1000000000ULL

static int changed_count;
static void on_changed(DistillHardware *hw, gpointer data)
{
  (void)hw;
  (void)data;
  changed_count++;
}

static void test_simulated_corrections(void)
{
  g_autoptr(GSettings) settings = g_settings_new("io.github.distillapp.Distill");
  g_settings_set_double(settings, "reserve-vram-gb", 0);
  g_settings_set_double(settings, "ram-limit-gb", 0);
  g_autoptr(DistillHardware) hw = distill_hardware_new(settings, "/tmp");
  g_assert_cmpstr(distill_hardware_get_models_dir(hw), ==, "/tmp");
  g_signal_connect(hw, "changed", G_CALLBACK(on_changed), NULL);
  changed_count = 0;

  still_hardware eff;
  g_assert_false(distill_hardware_is_ready(hw));
  g_assert_false(distill_hardware_get_effective(hw, &eff));
  g_assert_null(distill_hardware_get_detected(hw));

  still_hardware sim;
  uint64_t vram[2] = {8 * GB, 12 * GB};
  still_hardware_simulated(&sim, 32 * GB, 2, vram, false, 0, 0);
  distill_hardware_set_simulated(hw, &sim);
  g_assert_cmpint(changed_count, ==, 1);
  g_assert_true(distill_hardware_is_ready(hw));
  g_assert_true(distill_hardware_get_effective(hw, &eff));
  g_assert_cmpuint(eff.gpus[0].free_bytes, ==, 8 * GB);
  g_assert_cmpuint(eff.ram_free, ==, 32 * GB);

  /* reserve 2 GB on every GPU; a reserve larger than free leaves 0, never wraps around */
  g_settings_set_double(settings, "reserve-vram-gb", 2.0);
  g_assert_cmpint(changed_count, ==, 2);
  distill_hardware_get_effective(hw, &eff);
  g_assert_cmpuint(eff.gpus[0].free_bytes, ==, 6 * GB);
  g_assert_cmpuint(eff.gpus[1].free_bytes, ==, 10 * GB);
  g_assert_cmpuint(distill_hardware_get_detected(hw)->gpus[0].free_bytes, ==, 8 * GB); /* untouched */
  g_settings_set_double(settings, "reserve-vram-gb", 9.0);
  distill_hardware_get_effective(hw, &eff);
  g_assert_cmpuint(eff.gpus[0].free_bytes, ==, 0);
  g_assert_cmpuint(eff.gpus[1].free_bytes, ==, 3 * GB);

  /* cap the RAM models may use */
  g_settings_set_double(settings, "ram-limit-gb", 16.0);
  g_assert_cmpint(changed_count, ==, 4);
  distill_hardware_get_effective(hw, &eff);
  g_assert_cmpuint(eff.ram_free, ==, 16 * GB);
  g_settings_set_double(settings, "ram-limit-gb", 0);
  distill_hardware_get_effective(hw, &eff);
  g_assert_cmpuint(eff.ram_free, ==, 32 * GB);

  /* the corrections change the fit verdict of a model */
  g_settings_set_double(settings, "reserve-vram-gb", 0);
  g_autofree char *text = distill_hardware_describe(&eff);
  g_assert_nonnull(strstr(text, "GPU:"));
  g_assert_nonnull(strstr(text, "Memory:"));
  g_settings_reset(settings, "reserve-vram-gb");
  g_settings_reset(settings, "ram-limit-gb");
}

static void test_describe_totals_only(void)
{
  still_hardware sim;
  uint64_t vram[1] = {4 * GB};
  still_hardware_simulated(&sim, 8 * GB, 1, vram, false, 0, 0);
  sim.gpus[0].free_known = false;
  g_strlcpy(sim.gpus[0].name, "Test GPU", sizeof sim.gpus[0].name);
  g_autofree char *text = distill_hardware_describe(&sim);
  g_assert_nonnull(strstr(text, "Test GPU"));
  g_assert_nonnull(strstr(text, "only the total is known"));
  sim.n_gpus = 0;
  g_strlcpy(sim.gpu_note, "no Vulkan driver", sizeof sim.gpu_note);
  g_autofree char *text2 = distill_hardware_describe(&sim);
  g_assert_nonnull(strstr(text2, "no Vulkan driver"));
  /* a software renderer only: listed, and why no GPU is usable said too */
  sim.n_gpus = 1;
  sim.gpus[0].cpu_emulated = true;
  g_strlcpy(sim.gpus[0].name, "llvmpipe", sizeof sim.gpus[0].name);
  g_strlcpy(sim.gpu_note, "the NVIDIA kernel driver 580.159.04 is loaded, but its Vulkan driver does not start",
            sizeof sim.gpu_note);
  g_autofree char *text3 = distill_hardware_describe(&sim);
  g_assert_nonnull(strstr(text3, "GPU: llvmpipe (software, not used)"));
  g_assert_nonnull(strstr(text3, "GPU: none usable — the NVIDIA kernel driver 580.159.04 is loaded"));
  /* a real GPU beside it: its caveats are not a reason */
  sim.n_gpus = 2;
  sim.gpus[1] = sim.gpus[0];
  sim.gpus[1].cpu_emulated = false;
  g_strlcpy(sim.gpus[1].name, "Test GPU", sizeof sim.gpus[1].name);
  g_autofree char *text4 = distill_hardware_describe(&sim);
  g_assert_null(strstr(text4, "none usable"));
}

static void probe_done(GObject *src, GAsyncResult *res, gpointer data)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = distill_hardware_probe_finish(DISTILL_HARDWARE(src), res, &error);
  g_assert_no_error(error);
  g_assert_true(ok);
  *(gboolean *)data = TRUE;
}

static void test_probe(void)
{
  g_autoptr(GSettings) settings = g_settings_new("io.github.distillapp.Distill");
  /* a folder that does not exist yet: the disk check uses its nearest parent */
  g_autofree char *dir = g_build_filename(g_get_tmp_dir(), "distill-hw-missing", "models", NULL);
  g_autoptr(DistillHardware) hw = distill_hardware_new(settings, dir);
  gboolean done = FALSE;
  distill_hardware_probe_async(hw, NULL, probe_done, &done);
  while (!done) g_main_context_iteration(NULL, TRUE);
  const still_hardware *d = distill_hardware_get_detected(hw);
  g_assert_nonnull(d);
  g_assert_cmpuint(d->ram_total, >, 0);
  g_assert_cmpint(d->cpu_threads, >=, 1);
  g_assert_true(d->disk_known);
  /* the memory bandwidth was measured and kept for this processor */
  g_assert_true(d->cpu_bandwidth_measured);
  g_assert_cmpfloat(d->cpu_bandwidth_gbs, >, 0.1);
  g_assert_cmpfloat(g_settings_get_double(settings, "cpu-bandwidth-gbs"), ==, d->cpu_bandwidth_gbs);
  g_autofree char *cpu = g_settings_get_string(settings, "cpu-bandwidth-cpu");
  g_assert_cmpstr(cpu, ==, d->cpu_name);
  g_autofree char *text = distill_hardware_describe(d);
  g_assert_nonnull(strstr(text, "(measured)"));

  /* the next probe takes the stored figure instead of measuring again */
  g_settings_set_double(settings, "cpu-bandwidth-gbs", 12345.0);
  done = FALSE;
  distill_hardware_probe_async(hw, NULL, probe_done, &done);
  while (!done) g_main_context_iteration(NULL, TRUE);
  d = distill_hardware_get_detected(hw);
  g_assert_cmpfloat(d->cpu_bandwidth_gbs, ==, 12345.0);
  /* another processor: measured again */
  g_settings_set_string(settings, "cpu-bandwidth-cpu", "some other CPU");
  done = FALSE;
  distill_hardware_probe_async(hw, NULL, probe_done, &done);
  while (!done) g_main_context_iteration(NULL, TRUE);
  d = distill_hardware_get_detected(hw);
  g_assert_cmpfloat(d->cpu_bandwidth_gbs, !=, 12345.0);
  g_assert_cmpfloat(d->cpu_bandwidth_gbs, >, 0.1);
  g_settings_reset(settings, "cpu-bandwidth-gbs");
  g_settings_reset(settings, "cpu-bandwidth-cpu");
}

static void count_changed(DistillHardware *hw, int *n)
{
  (void)hw;
  (*n)++;
}

/* A refresh probes again in the background (and once at a time), but keeps simulated values. */
static void test_refresh(void)
{
  g_autoptr(GSettings) settings = g_settings_new("io.github.distillapp.Distill");
  g_autoptr(DistillHardware) hw = distill_hardware_new(settings, g_get_tmp_dir());
  int changed = 0;
  g_signal_connect(hw, "changed", G_CALLBACK(count_changed), &changed);
  still_hardware sim;
  uint64_t vram[1] = {7 * GB};
  still_hardware_simulated(&sim, 3 * GB, 1, vram, false, 0, 0);
  g_strlcpy(sim.cpu_name, "Simulated CPU", sizeof sim.cpu_name);
  distill_hardware_set_simulated(hw, &sim);
  g_assert_true(distill_hardware_is_simulated(hw));
  g_assert_cmpint(changed, ==, 1);
  distill_hardware_refresh(hw);
  for (int i = 0; i < 50; i++) g_main_context_iteration(NULL, FALSE), g_usleep(10000);
  g_assert_cmpint(changed, ==, 1);
  g_assert_cmpstr(distill_hardware_get_detected(hw)->cpu_name, ==, "Simulated CPU");

  /* a probe replaces them; a refresh after it probes again, two at once are one */
  g_settings_set_double(settings, "cpu-bandwidth-gbs", 20.0); /* no bandwidth test in this test */
  g_autofree char *cpu = NULL;
  gboolean done = FALSE;
  distill_hardware_probe_async(hw, NULL, probe_done, &done);
  while (!done) g_main_context_iteration(NULL, TRUE);
  g_assert_false(distill_hardware_is_simulated(hw));
  cpu = g_strdup(distill_hardware_get_detected(hw)->cpu_name);
  g_settings_set_string(settings, "cpu-bandwidth-cpu", cpu);
  g_assert_cmpint(changed, ==, 2);
  distill_hardware_refresh(hw);
  distill_hardware_refresh(hw);
  while (changed < 3) g_main_context_iteration(NULL, TRUE);
  for (int i = 0; i < 30; i++) g_main_context_iteration(NULL, FALSE), g_usleep(10000);
  g_assert_cmpint(changed, ==, 3);
  g_assert_cmpstr(distill_hardware_get_detected(hw)->cpu_name, ==, cpu);
  g_settings_reset(settings, "cpu-bandwidth-gbs");
  g_settings_reset(settings, "cpu-bandwidth-cpu");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/hardware/simulated-corrections", test_simulated_corrections);
  g_test_add_func("/hardware/describe-totals-only", test_describe_totals_only);
  g_test_add_func("/hardware/probe", test_probe);
  g_test_add_func("/hardware/refresh", test_refresh);
  return g_test_run();
}
