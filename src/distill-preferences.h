/* distill-preferences.h — the preferences window. Its "This Computer" page shows what was
 * detected (GPUs with free/total memory, or "only the total is known", RAM, CPU and its flags,
 * free disk at the models folder) and lets the user correct it: video memory kept free for other
 * apps, a cap on the memory models may use, the models folder. */
#pragma once

#include <adwaita.h>

#include "distill-hardware.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_PREFERENCES (distill_preferences_get_type())
G_DECLARE_FINAL_TYPE(DistillPreferences, distill_preferences, DISTILL, PREFERENCES, AdwPreferencesWindow)

/* hardware NULL: the app's (distill_hardware_get_default()). settings NULL: the app's. */
DistillPreferences *distill_preferences_new(GtkWindow *parent, DistillHardware *hardware, GSettings *settings);
DistillHardware *distill_preferences_get_hardware(DistillPreferences *self);

/* for tests: the rows of the detected values ("gpu-0", "ram", "cpu", "disk"), the spin buttons
 * ("reserve-vram", "ram-limit") */
GtkWidget *distill_preferences_get_widget(DistillPreferences *self, const char *name);

G_END_DECLS
