#pragma once

#include <adwaita.h>

#include "distill-hardware.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_APPLICATION (distill_application_get_type())
G_DECLARE_FINAL_TYPE(DistillApplication, distill_application, DISTILL, APPLICATION, AdwApplication)

DistillApplication *distill_application_new(void);
/* The local API server (see distill-api-server.h); NULL before startup. */
typedef struct _DistillApiServer DistillApiServer;
DistillApiServer *distill_application_get_api_server(DistillApplication *self);

/* The one DistillHardware of the app (distill_hardware_get_default()), probed off the main
 * thread at start-up; the library, the preferences and the chat's load settings share it. */
DistillHardware *distill_application_get_hardware(DistillApplication *self);

G_END_DECLS
