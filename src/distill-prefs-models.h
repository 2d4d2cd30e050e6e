/* distill-prefs-models.h — the "Models" preferences page: how models are run (GPU layers, CPU
 * threads, context memory type, context size) for all models and, optionally, per installed
 * model; and whether answers show their reasoning expanded. See distill-load-settings.h. */
#pragma once

#include <adwaita.h>

#include "distill-hardware.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_PREFS_MODELS (distill_prefs_models_get_type())
G_DECLARE_FINAL_TYPE(DistillPrefsModels, distill_prefs_models, DISTILL, PREFS_MODELS, AdwPreferencesPage)

/* settings NULL: the app's; hardware NULL: distill_hardware_get_default(). models_dir NULL: the
 * hardware's models folder. */
GtkWidget *distill_prefs_models_new(GSettings *settings, DistillHardware *hardware, const char *models_dir);

/* Widgets by name, for tests: "gpu-mode", "gpu-layers", "threads-mode", "threads", "kv-type",
 * "context-size", "reasoning-expanded" (the defaults; prefix "MODEL-FILE-NAME/" for a model's own
 * rows, and "MODEL-FILE-NAME" alone for its expander row). */
GtkWidget *distill_prefs_models_get_widget(DistillPrefsModels *self, const char *name);

G_END_DECLS
