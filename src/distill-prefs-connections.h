/* distill-prefs-connections.h — Preferences → Connections: the remote engines
 * (OpenAI-compatible endpoints: vLLM, SGLang, Ollama, llama-server, hosted
 * providers) whose models the chat's model picker offers next to local ones.
 * Add, edit (with a "Test Connection" button that lists the models or says
 * why not), remove after a confirmation. Names and URLs go to GSettings
 * (remote-endpoints), API keys to the secret store (distill-secret.h). */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DISTILL_TYPE_PREFS_CONNECTIONS (distill_prefs_connections_get_type())
G_DECLARE_FINAL_TYPE(DistillPrefsConnections, distill_prefs_connections, DISTILL, PREFS_CONNECTIONS,
                     AdwPreferencesPage)

/* settings NULL: the app's. */
GtkWidget *distill_prefs_connections_new(GSettings *settings);

/* Store a connection as the Add dialog does (id NULL: a new one). Returns the
 * id, or NULL and a plain-words error (bad URL, empty name). */
char *distill_prefs_connections_save(GSettings *settings, const char *id, const char *name, const char *base_url,
                                     const char *api_key, GError **error);
/* Forget a connection and its key. */
void distill_prefs_connections_remove(GSettings *settings, const char *id);

G_END_DECLS
