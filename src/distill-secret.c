/* distill-secret.c — secrets in the keyring (libsecret) or in a 0600 file. See the header. */
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>

#include "distill-secret.h"

#if HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#define FILE_GROUP_PREFIX "id:"
#define KEYRING_TIMEOUT_US (5 * G_USEC_PER_SEC)

static GMutex file_lock;

/* ==== the fallback file ==== */

char *distill_secret_file_path(void)
{
  return g_build_filename(g_get_user_config_dir(), "distill", "secrets.ini", NULL);
}

/* Key file group names may not hold '[', ']' or control characters: escape the id. */
static char *file_group(const char *id)
{
  g_autofree char *escaped = g_uri_escape_string(id, NULL, FALSE);
  return g_strconcat(FILE_GROUP_PREFIX, escaped, NULL);
}

static GKeyFile *file_load(void)
{
  g_autofree char *path = distill_secret_file_path();
  GKeyFile *kf = g_key_file_new();
  /* missing or damaged: start from an empty file (a damaged one is replaced on the next store) */
  g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL);
  return kf;
}

static gboolean file_save(GKeyFile *kf, GError **error)
{
  g_autofree char *path = distill_secret_file_path();
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int err = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), _("Could not create the folder %s: %s"), dir,
                g_strerror(err));
    return FALSE;
  }
  gsize len = 0;
  g_autofree char *data = g_key_file_to_data(kf, &len, NULL);
  /* written to a new file and renamed over the old one, created with mode 0600 */
  return g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}

static char *file_lookup(const char *id)
{
  g_mutex_lock(&file_lock);
  g_autoptr(GKeyFile) kf = file_load();
  g_autofree char *group = file_group(id);
  char *secret = g_key_file_get_string(kf, group, "secret", NULL);
  g_mutex_unlock(&file_lock);
  if (secret != NULL && *secret == '\0') g_clear_pointer(&secret, g_free);
  return secret;
}

static gboolean file_store(const char *id, const char *label, const char *secret, GError **error)
{
  g_mutex_lock(&file_lock);
  g_autoptr(GKeyFile) kf = file_load();
  g_autofree char *group = file_group(id);
  if (label != NULL) g_key_file_set_string(kf, group, "label", label);
  g_key_file_set_string(kf, group, "secret", secret);
  gboolean ok = file_save(kf, error);
  g_mutex_unlock(&file_lock);
  return ok;
}

static void file_clear(const char *id)
{
  g_mutex_lock(&file_lock);
  g_autofree char *path = distill_secret_file_path();
  if (g_file_test(path, G_FILE_TEST_EXISTS)) {
    g_autoptr(GKeyFile) kf = file_load();
    g_autofree char *group = file_group(id);
    if (g_key_file_remove_group(kf, group, NULL)) file_save(kf, NULL);
  }
  g_mutex_unlock(&file_lock);
}

/* ==== the keyring ==== */
#if HAVE_LIBSECRET

static const SecretSchema *secret_schema(void)
{
  static const SecretSchema schema = {
    "io.github.distillapp.Distill.Secret",
    SECRET_SCHEMA_NONE,
    {
      {"id", SECRET_SCHEMA_ATTRIBUTE_STRING},
      {NULL, 0},
    },
  };
  return &schema;
}

/* Is a Secret Service there to ask? Checked once per process, without starting a session bus
 * (g_bus_get would try X11 autolaunch) and without waiting on a service that is not there. */
static gboolean probe_keyring(void)
{
  const char *address = g_getenv("DBUS_SESSION_BUS_ADDRESS");
  if (address == NULL || *address == '\0') {
    g_autofree char *socket = g_build_filename(g_get_user_runtime_dir(), "bus", NULL);
    if (!g_file_test(socket, G_FILE_TEST_EXISTS)) return FALSE;
  }
  g_autoptr(GDBusConnection) bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, NULL);
  if (bus == NULL) return FALSE;
  g_autoptr(GVariant) owned =
    g_dbus_connection_call_sync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "NameHasOwner", g_variant_new("(s)", "org.freedesktop.secrets"),
                                G_VARIANT_TYPE("(b)"), G_DBUS_CALL_FLAGS_NONE, 2000, NULL, NULL);
  gboolean has_owner = FALSE;
  if (owned != NULL) g_variant_get(owned, "(b)", &has_owner);
  if (has_owner) return TRUE;
  g_autoptr(GVariant) names =
    g_dbus_connection_call_sync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "ListActivatableNames", NULL, G_VARIANT_TYPE("(as)"), G_DBUS_CALL_FLAGS_NONE, 2000,
                                NULL, NULL);
  if (names == NULL) return FALSE;
  g_autofree const char **list = NULL;
  g_variant_get(names, "(^a&s)", &list);
  return list != NULL && g_strv_contains(list, "org.freedesktop.secrets");
}

/* One keyring call on its own thread, so that a keyring that does not answer costs at most
 * KEYRING_TIMEOUT_US; the thread finishes on its own afterwards (the job is reference counted). */
typedef enum { OP_LOOKUP, OP_STORE, OP_CLEAR } KeyringOp;

typedef struct {
  gint ref;
  KeyringOp op;
  char *id, *label, *secret;
  GMutex lock;
  GCond cond;
  gboolean done, ok;
  char *result;
  GError *error;
} KeyringJob;

static void job_unref(KeyringJob *job)
{
  if (!g_atomic_int_dec_and_test(&job->ref)) return;
  g_free(job->id);
  g_free(job->label);
  if (job->secret) memset(job->secret, 0, strlen(job->secret));
  g_free(job->secret);
  if (job->result) memset(job->result, 0, strlen(job->result));
  g_free(job->result);
  g_clear_error(&job->error);
  g_mutex_clear(&job->lock);
  g_cond_clear(&job->cond);
  g_free(job);
}

static gpointer job_thread(gpointer data)
{
  KeyringJob *job = data;
  GError *error = NULL;
  char *result = NULL;
  gboolean ok = FALSE;
  switch (job->op) {
  case OP_LOOKUP:
    result = secret_password_lookup_sync(secret_schema(), NULL, &error, "id", job->id, NULL);
    ok = error == NULL;
    break;
  case OP_STORE:
    ok = secret_password_store_sync(secret_schema(), SECRET_COLLECTION_DEFAULT, job->label, job->secret, NULL,
                                    &error, "id", job->id, NULL);
    break;
  case OP_CLEAR:
    secret_password_clear_sync(secret_schema(), NULL, &error, "id", job->id, NULL);
    ok = error == NULL;
    break;
  }
  g_mutex_lock(&job->lock);
  job->result = result;
  job->error = error;
  job->ok = ok;
  job->done = TRUE;
  g_cond_signal(&job->cond);
  g_mutex_unlock(&job->lock);
  job_unref(job);
  return NULL;
}

/* Runs op; FALSE with error when it failed or timed out. */
static gboolean keyring_run(KeyringOp op, const char *id, const char *label, const char *secret, char **result,
                            GError **error)
{
  KeyringJob *job = g_new0(KeyringJob, 1);
  job->ref = 2;
  job->op = op;
  job->id = g_strdup(id);
  job->label = g_strdup(label);
  job->secret = g_strdup(secret);
  g_mutex_init(&job->lock);
  g_cond_init(&job->cond);
  g_thread_unref(g_thread_new("distill-secret", job_thread, job));

  gint64 deadline = g_get_monotonic_time() + KEYRING_TIMEOUT_US;
  g_mutex_lock(&job->lock);
  while (!job->done)
    if (!g_cond_wait_until(&job->cond, &job->lock, deadline)) break;
  gboolean done = job->done, ok = job->ok;
  if (done && result) *result = g_steal_pointer(&job->result);
  if (done && !ok && job->error) g_propagate_error(error, g_steal_pointer(&job->error));
  else if (!done) g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, _("The keyring did not answer."));
  else if (!ok) g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The keyring refused the request."));
  g_mutex_unlock(&job->lock);
  job_unref(job);
  return done && ok;
}
#endif /* HAVE_LIBSECRET */

gboolean distill_secret_uses_keyring(void)
{
#if HAVE_LIBSECRET
  static gsize once = 0;
  static gboolean available = FALSE;
  if (g_strcmp0(g_getenv("DISTILL_SECRET_BACKEND"), "file") == 0) return FALSE;
  if (g_once_init_enter(&once)) {
    available = probe_keyring();
    g_once_init_leave(&once, 1);
  }
  return available;
#else
  return FALSE;
#endif
}

/* ==== the API ==== */

char *distill_secret_lookup(const char *id)
{
  g_return_val_if_fail(id != NULL, NULL);
#if HAVE_LIBSECRET
  if (distill_secret_uses_keyring()) {
    char *secret = NULL;
    g_autoptr(GError) error = NULL;
    if (keyring_run(OP_LOOKUP, id, NULL, NULL, &secret, &error) && secret != NULL && *secret != '\0') return secret;
    g_free(secret);
    if (error) g_debug("keyring lookup of %s: %s", id, error->message);
    /* not there: it may have been stored in the file while the keyring was away */
  }
#endif
  return file_lookup(id);
}

gboolean distill_secret_store(const char *id, const char *label, const char *secret, GError **error)
{
  g_return_val_if_fail(id != NULL, FALSE);
  g_return_val_if_fail(secret != NULL, FALSE);
#if HAVE_LIBSECRET
  if (distill_secret_uses_keyring()) {
    g_autoptr(GError) local = NULL;
    if (keyring_run(OP_STORE, id, label ? label : id, secret, NULL, &local)) {
      file_clear(id); /* one copy only, in the keyring */
      return TRUE;
    }
    g_debug("keyring store of %s: %s; using the file", id, local->message);
  }
#endif
  return file_store(id, label, secret, error);
}

void distill_secret_clear(const char *id)
{
  g_return_if_fail(id != NULL);
#if HAVE_LIBSECRET
  if (distill_secret_uses_keyring()) {
    g_autoptr(GError) error = NULL;
    if (!keyring_run(OP_CLEAR, id, NULL, NULL, NULL, &error)) g_debug("keyring clear of %s: %s", id, error->message);
  }
#endif
  file_clear(id);
}
