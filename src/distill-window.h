#pragma once

#include <adwaita.h>

#include "distill-application.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_WINDOW (distill_window_get_type())
G_DECLARE_FINAL_TYPE(DistillWindow, distill_window, DISTILL, WINDOW, AdwApplicationWindow)

DistillWindow *distill_window_new(DistillApplication *application);

/* The visible view: "chat", "library" or "benchmark". */
const char *distill_window_get_view(DistillWindow *self);
void distill_window_set_view(DistillWindow *self, const char *name);

G_END_DECLS
