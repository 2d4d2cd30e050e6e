/* distill-prefs-server.h — the "API Server" preferences page: the switch that runs the local
 * OpenAI-compatible server, its port and URL, the API key (hidden until revealed; copy; make a
 * new one), the browser origins allowed by CORS, and a status line in plain words. */
#pragma once

#include <adwaita.h>

#include "distill-api-server.h"

G_BEGIN_DECLS

#define DISTILL_TYPE_PREFS_SERVER (distill_prefs_server_get_type())
G_DECLARE_FINAL_TYPE(DistillPrefsServer, distill_prefs_server, DISTILL, PREFS_SERVER, AdwPreferencesPage)

/* settings NULL: the app's; server NULL: the application's (distill_application_get_api_server),
 * or none (the page then edits the settings only). */
GtkWidget *distill_prefs_server_new(GSettings *settings, DistillApiServer *server);

/* Widgets by name, for tests: "enabled" (GtkSwitch), "port" (GtkSpinButton), "url" (AdwActionRow),
 * "key" (AdwActionRow), "reveal" (GtkToggleButton), "new-key" (GtkButton), "origins"
 * (AdwEntryRow), "status" (AdwActionRow), "storage" (GtkLabel). */
GtkWidget *distill_prefs_server_get_widget(DistillPrefsServer *self, const char *name);

G_END_DECLS
