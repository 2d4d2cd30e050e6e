/* distill-secret.h — small secrets (API keys) kept out of GSettings.
 *
 * With libsecret and a running Secret Service (GNOME Keyring, KWallet …) the secret is stored
 * in the user's keyring under the schema "io.github.distillapp.Distill.Secret" with one
 * attribute "id". Without one (no libsecret at build time, no session bus, no service — tests,
 * headless servers) it is kept in a file readable only by the user:
 * $XDG_CONFIG_HOME/distill/secrets.ini, mode 0600.
 *
 * All calls are synchronous and short (the keyring is asked with a timeout of a few seconds).
 * DISTILL_SECRET_BACKEND=file forces the file (tests). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The secret stored under id; NULL when none. Caller frees (g_free). */
char *distill_secret_lookup(const char *id);
/* Store (or replace) the secret under id; label is what a keyring manager shows. */
gboolean distill_secret_store(const char *id, const char *label, const char *secret, GError **error);
/* Forget the secret under id (keyring and file). */
void distill_secret_clear(const char *id);

/* TRUE when secrets go to the keyring, FALSE when to the file (say so in the UI). */
gboolean distill_secret_uses_keyring(void);
/* The fallback file (for messages). Caller frees. */
char *distill_secret_file_path(void);

G_END_DECLS
