/* test-show-file.c — "Show in Files" on a private session bus (GTestDBus) with a fake
 * org.freedesktop.FileManager1 that records ShowItems calls: the file's URI is sent; when the
 * file manager answers with an error, or nobody owns the name, the folder is opened instead. */
#include <gtk/gtk.h>
#include <string.h>

#include "distill-show-file.h"

static const char introspection[] =
  "<node>"
  "  <interface name='org.freedesktop.FileManager1'>"
  "    <method name='ShowItems'>"
  "      <arg type='as' name='URIs' direction='in'/>"
  "      <arg type='s' name='StartupId' direction='in'/>"
  "    </method>"
  "    <method name='ShowFolders'>"
  "      <arg type='as' name='URIs' direction='in'/>"
  "      <arg type='s' name='StartupId' direction='in'/>"
  "    </method>"
  "  </interface>"
  "</node>";

static GPtrArray *calls; /* "METHOD URI" */
static gboolean fail_calls;
static char *fallback_uri;
static guint fallback_calls;

static void method_call(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                        const char *method, GVariant *params, GDBusMethodInvocation *inv, gpointer data)
{
  (void)c, (void)sender, (void)path, (void)iface, (void)data;
  g_autofree const char **uris = NULL;
  const char *startup = NULL;
  g_variant_get(params, "(^a&s&s)", &uris, &startup);
  for (guint i = 0; uris && uris[i]; i++) g_ptr_array_add(calls, g_strdup_printf("%s %s", method, uris[i]));
  g_assert_nonnull(startup);
  if (fail_calls)
    g_dbus_method_invocation_return_dbus_error(inv, "org.freedesktop.DBus.Error.Failed", "no window today");
  else
    g_dbus_method_invocation_return_value(inv, NULL);
}

static const GDBusInterfaceVTable vtable = {method_call, NULL, NULL, {0}};

static gboolean fallback(GtkWindow *parent, const char *uri)
{
  (void)parent;
  g_free(fallback_uri);
  fallback_uri = g_strdup(uri);
  fallback_calls++;
  return TRUE;
}

static GAsyncResult *result;
static void done(GObject *src, GAsyncResult *res, gpointer data)
{
  (void)src, (void)data;
  result = g_object_ref(res);
}

static DistillShowFileResult show(const char *path, GError **error)
{
  g_clear_object(&result);
  distill_show_file_async(NULL, path, NULL, done, NULL);
  gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  while (result == NULL) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
    g_assert_cmpint(g_get_monotonic_time(), <, end);
  }
  DistillShowFileResult r = distill_show_file_finish(result, error);
  g_clear_object(&result);
  return r;
}

static GDBusConnection *service_bus;
static guint owner_id, object_id;
static gboolean name_owned;

static void on_name_acquired(GDBusConnection *c, const char *name, gpointer data)
{
  (void)c, (void)name, (void)data;
  name_owned = TRUE;
}

static void start_service(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *address = g_dbus_address_get_for_bus_sync(G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error(error);
  /* a connection of its own: the file manager is another process in real life */
  service_bus = g_dbus_connection_new_for_address_sync(
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL,
    &error);
  g_assert_no_error(error);
  g_autoptr(GDBusNodeInfo) info = g_dbus_node_info_new_for_xml(introspection, &error);
  g_assert_no_error(error);
  object_id = g_dbus_connection_register_object(service_bus, DISTILL_FILE_MANAGER_PATH, info->interfaces[0], &vtable,
                                                NULL, NULL, &error);
  g_assert_no_error(error);
  owner_id = g_bus_own_name_on_connection(service_bus, DISTILL_FILE_MANAGER_BUS_NAME, G_BUS_NAME_OWNER_FLAGS_NONE,
                                          on_name_acquired, NULL, NULL, NULL);
  gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
  while (!name_owned) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
    g_assert_cmpint(g_get_monotonic_time(), <, end);
  }
}

static void stop_service(void)
{
  g_bus_unown_name(owner_id);
  g_dbus_connection_unregister_object(service_bus, object_id);
  g_dbus_connection_close_sync(service_bus, NULL, NULL);
  g_clear_object(&service_bus);
  name_owned = FALSE;
  /* let the bus notice the name is gone */
  for (int i = 0; i < 50; i++) {
    g_main_context_iteration(NULL, FALSE);
    g_usleep(2000);
  }
}

static void test_no_service_opens_folder(void)
{
  g_autoptr(GError) error = NULL;
  fallback_calls = 0;
  g_assert_cmpint(show("/tmp/models/A Model-Q4_K_M.gguf", &error), ==, DISTILL_SHOW_FILE_FOLDER);
  g_assert_no_error(error);
  g_assert_cmpuint(fallback_calls, ==, 1);
  g_assert_cmpstr(fallback_uri, ==, "file:///tmp/models");
}

static void test_show_items(void)
{
  start_service();
  g_autoptr(GError) error = NULL;
  fallback_calls = 0;
  g_ptr_array_set_size(calls, 0);
  g_assert_cmpint(show("/tmp/models/A Model-Q4_K_M.gguf", &error), ==, DISTILL_SHOW_FILE_SELECTED);
  g_assert_no_error(error);
  g_assert_cmpuint(calls->len, ==, 1);
  /* ShowItems with the file's URI (escaped), so the file manager selects it */
  g_assert_cmpstr(g_ptr_array_index(calls, 0), ==, "ShowItems file:///tmp/models/A%20Model-Q4_K_M.gguf");
  g_assert_cmpuint(fallback_calls, ==, 0);

  /* the file manager fails: the folder is opened instead */
  fail_calls = TRUE;
  g_assert_cmpint(show("/tmp/models/B.gguf", &error), ==, DISTILL_SHOW_FILE_FOLDER);
  g_assert_no_error(error);
  g_assert_cmpuint(calls->len, ==, 2);
  g_assert_cmpuint(fallback_calls, ==, 1);
  g_assert_cmpstr(fallback_uri, ==, "file:///tmp/models");
  fail_calls = FALSE;
  stop_service();
}

int main(int argc, char **argv)
{
  /* the private bus first: everything after this talks to it */
  GTestDBus *bus = g_test_dbus_new(G_TEST_DBUS_NONE);
  g_test_dbus_up(bus);
  g_test_init(&argc, &argv, NULL);
  calls = g_ptr_array_new_with_free_func(g_free);
  distill_show_file_set_fallback_for_tests(fallback);
  g_test_add_func("/show-file/no-service-opens-folder", test_no_service_opens_folder);
  g_test_add_func("/show-file/show-items", test_show_items);
  int rc = g_test_run();
  g_ptr_array_unref(calls);
  g_free(fallback_uri);
  g_test_dbus_down(bus);
  g_object_unref(bus);
  return rc;
}
