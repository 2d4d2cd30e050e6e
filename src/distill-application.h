#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DISTILL_TYPE_APPLICATION (distill_application_get_type())
G_DECLARE_FINAL_TYPE(DistillApplication, distill_application, DISTILL, APPLICATION, AdwApplication)

DistillApplication *distill_application_new(void);

G_END_DECLS
