/* distill-hardware.h — what this computer offers to a model, as the app sees it.
 *
 * The engine's probe (still_hardware_probe: Vulkan GPUs, RAM, cgroups, CPU flags, free disk at the
 * models folder) runs once at start-up on a worker thread (GTask) and again on demand. The user's
 * corrections from GSettings are applied on top: reserve-vram-gb is taken off every GPU's free
 * memory (other apps need it), ram-limit-gb (> 0) caps the memory models may use. Fit checks use
 * distill_hardware_get_effective(). */
#pragma once

#include <gio/gio.h>

#include "still.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_HARDWARE (distill_hardware_get_type())
G_DECLARE_FINAL_TYPE(DistillHardware, distill_hardware, DISTILL, HARDWARE, GObject)

/* settings NULL: the app's schema. models_dir NULL: the models-folder setting or the default. */
DistillHardware *distill_hardware_new(GSettings *settings, const char *models_dir);

/* The one instance the whole app shares (library fit badges, preferences, model load settings), so
 * a new probe or a changed correction reaches every view. Made on first use with the app's settings
 * and models folder (followed when the setting changes, with a new probe for the disk); the first
 * call starts a probe off the main thread. Owned by the library: do not unref. Main thread only. */
DistillHardware *distill_hardware_get_default(void);

/* Probe on a worker thread; "changed" is emitted on the main context when done. */
void distill_hardware_probe_async(DistillHardware *self, GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean distill_hardware_probe_finish(DistillHardware *self, GAsyncResult *result, GError **error);

/* Use these values instead of probing (tests, "what if"); emits "changed". A probe started later
 * (distill_hardware_probe_async) replaces them; a refresh does not. */
void distill_hardware_set_simulated(DistillHardware *self, const still_hardware *hw);
gboolean distill_hardware_is_simulated(DistillHardware *self);

/* Probe again in the background (free GPU and system memory change while the app runs: another
 * program takes or gives back video memory), so the placement of the next model is made with
 * today's figures; "changed" when done. Nothing while simulated values are set or a refresh runs. */
void distill_hardware_refresh(DistillHardware *self);

/* TRUE once a probe finished or simulated values were set. */
gboolean distill_hardware_is_ready(DistillHardware *self);
/* What was detected (NULL before ready). */
const still_hardware *distill_hardware_get_detected(DistillHardware *self);
/* Detected values with the user's corrections applied; FALSE (and zeroes) before ready. */
gboolean distill_hardware_get_effective(DistillHardware *self, still_hardware *out);
const char *distill_hardware_get_models_dir(DistillHardware *self);

/* A few plain lines for the preferences page and `distill fit`: GPUs with free/total memory
 * ("only the total is known" when the driver has no budget), RAM, CPU and its flags, disk. */
char *distill_hardware_describe(const still_hardware *hw);
/* The GPUs models can run on: not software renderers, each GPU once. */
int distill_hardware_usable_gpus(const still_hardware *hw);
/* "AVX2, AVX-512, VNNI": the vector instruction sets found, joined by separator; NULL when none. */
char *distill_hardware_cpu_features(const still_hardware *hw, const char *separator);

G_END_DECLS
