/* distill-prefs-server.c — the "API Server" preferences page (see the header).
 *
 * The page edits GSettings only (api-server-enabled, api-server-port, api-cors-origins); the
 * application's DistillApiServer follows them (distill_api_server_follow_settings) and the page
 * shows the server's state from its properties. The key lives in distill-secret. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "distill-application.h"
#include "distill-prefs-server.h"
#include "distill-secret.h"

#define HIDDEN_KEY "••••••••••••••••••••••••"

struct _DistillPrefsServer {
  AdwPreferencesPage parent_instance;
  GSettings *settings;
  DistillApiServer *server; /* may be NULL */
  char *key;                /* the key shown (NULL: none yet) */

  GtkSwitch *enabled;
  AdwActionRow *status_row;
  GtkSpinButton *port;
  AdwActionRow *url_row;
  AdwActionRow *key_row;
  GtkToggleButton *reveal;
  GtkButton *copy_key;
  GtkButton *new_key;
  GtkLabel *storage;
  AdwEntryRow *origins;
};

G_DEFINE_FINAL_TYPE(DistillPrefsServer, distill_prefs_server, ADW_TYPE_PREFERENCES_PAGE)

static void toast(DistillPrefsServer *self, const char *text)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  if (ADW_IS_PREFERENCES_WINDOW(root)) adw_preferences_window_add_toast(ADW_PREFERENCES_WINDOW(root), adw_toast_new(text));
}

static void copy_text(DistillPrefsServer *self, const char *text)
{
  gdk_clipboard_set_text(gtk_widget_get_clipboard(GTK_WIDGET(self)), text);
}

/* ---- showing the state ---- */

static char *current_url(DistillPrefsServer *self)
{
  if (self->server && distill_api_server_get_running(self->server)) return distill_api_server_get_url(self->server);
  return g_strdup_printf("http://127.0.0.1:%d/v1", g_settings_get_int(self->settings, "api-server-port"));
}

static void show_status(DistillPrefsServer *self)
{
  gboolean enabled = g_settings_get_boolean(self->settings, "api-server-enabled");
  const char *error = self->server ? distill_api_server_get_last_error(self->server) : NULL;
  g_autofree char *text = NULL;
  if (!enabled) {
    text = g_strdup(_("Off. Turn it on to let programs on this computer use your models."));
  } else if (self->server && distill_api_server_get_running(self->server)) {
    guint n = distill_api_server_get_request_count(self->server);
    text = g_strdup_printf(ngettext("Running: %u request answered so far.", "Running: %u requests answered so far.", n), n);
  } else if (error) {
    text = g_strdup_printf(_("Not running: %s"), error);
  } else if (self->server == NULL) {
    text = g_strdup(_("The server starts with the app."));
  } else {
    text = g_strdup(_("Starting…"));
  }
  adw_action_row_set_subtitle(self->status_row, text);
  g_autofree char *url = current_url(self);
  adw_action_row_set_subtitle(self->url_row, url);
}

static void show_key(DistillPrefsServer *self)
{
  gboolean env = distill_api_server_key_from_environment();
  if (self->key == NULL) {
    adw_action_row_set_subtitle(self->key_row, _("None yet: one is made when the server first starts."));
  } else if (gtk_toggle_button_get_active(self->reveal)) {
    adw_action_row_set_subtitle(self->key_row, self->key);
  } else {
    adw_action_row_set_subtitle(self->key_row, HIDDEN_KEY);
  }
  gtk_widget_set_sensitive(GTK_WIDGET(self->reveal), self->key != NULL);
  gtk_widget_set_sensitive(GTK_WIDGET(self->copy_key), self->key != NULL);
  gtk_widget_set_sensitive(GTK_WIDGET(self->new_key), !env);
  gtk_button_set_icon_name(GTK_BUTTON(self->reveal), gtk_toggle_button_get_active(self->reveal)
                                                       ? "view-conceal-symbolic"
                                                       : "view-reveal-symbolic");
  gtk_widget_set_tooltip_text(GTK_WIDGET(self->reveal), gtk_toggle_button_get_active(self->reveal) ? _("Hide the key")
                                                                                                    : _("Show the key"));
  g_autofree char *file = distill_secret_file_path();
  g_autofree char *where = NULL;
  if (env)
    where = g_strdup(_("The key is set by the DISTILL_API_KEY environment variable; the stored key is not used."));
  else if (distill_secret_uses_keyring())
    where = g_strdup(_("The key is kept in your keyring."));
  else
    where = g_strdup_printf(_("No keyring was found, so the key is kept in %s, readable only by you."), file);
  gtk_label_set_text(self->storage, where);
}

static void load_key(DistillPrefsServer *self)
{
  g_free(self->key);
  self->key = NULL;
  const char *server_key = self->server ? distill_api_server_get_api_key(self->server) : NULL;
  if (server_key && *server_key) self->key = g_strdup(server_key);
  else if (distill_api_server_key_from_environment()) self->key = g_strdup(g_getenv("DISTILL_API_KEY"));
  else self->key = distill_secret_lookup(DISTILL_API_KEY_SECRET_ID);
  show_key(self);
}

static void show_origins(DistillPrefsServer *self)
{
  g_auto(GStrv) origins = g_settings_get_strv(self->settings, "api-cors-origins");
  g_autofree char *text = g_strjoinv(", ", origins);
  gtk_editable_set_text(GTK_EDITABLE(self->origins), text);
}

/* ---- actions ---- */

static void on_copy_url(DistillPrefsServer *self)
{
  g_autofree char *url = current_url(self);
  copy_text(self, url);
  toast(self, _("Address copied"));
}

static void on_copy_key(DistillPrefsServer *self)
{
  if (!self->key) return;
  copy_text(self, self->key);
  toast(self, _("API key copied"));
}

static void on_new_key(DistillPrefsServer *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = distill_api_key_renew(&error);
  if (key == NULL) {
    g_autofree char *text = g_strdup_printf(_("Could not store a new key: %s"), error->message);
    toast(self, text);
    return;
  }
  if (self->server) distill_api_server_set_api_key(self->server, key);
  g_free(self->key);
  self->key = g_steal_pointer(&key);
  gtk_toggle_button_set_active(self->reveal, TRUE);
  show_key(self);
  toast(self, _("New key made: programs that used the old key need the new one"));
}

static void on_origins_apply(DistillPrefsServer *self)
{
  const char *text = gtk_editable_get_text(GTK_EDITABLE(self->origins));
  g_auto(GStrv) parts = g_regex_split_simple("[\\s,]+", text, 0, 0);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  for (guint i = 0; parts[i]; i++)
    if (*parts[i]) g_strv_builder_add(b, parts[i]);
  g_auto(GStrv) origins = g_strv_builder_end(b);
  g_settings_set_strv(self->settings, "api-cors-origins", (const char *const *)origins);
}

static void on_settings_changed(GSettings *settings, const char *key, DistillPrefsServer *self)
{
  if (g_str_equal(key, "api-cors-origins")) show_origins(self);
  if (g_str_has_prefix(key, "api-")) show_status(self);
}

static void on_server_notify(DistillPrefsServer *self, GParamSpec *pspec)
{
  if (g_str_equal(pspec->name, "api-key")) load_key(self);
  else show_status(self);
}

/* ---- building ---- */

static GtkWidget *icon_button(const char *icon, const char *tooltip)
{
  GtkWidget *b = gtk_button_new_from_icon_name(icon);
  gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class(b, "flat");
  gtk_widget_set_tooltip_text(b, tooltip);
  return b;
}

static AdwPreferencesGroup *group(DistillPrefsServer *self, const char *title, const char *description)
{
  AdwPreferencesGroup *g = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
  adw_preferences_group_set_title(g, title);
  if (description) adw_preferences_group_set_description(g, description);
  adw_preferences_page_add(ADW_PREFERENCES_PAGE(self), g);
  return g;
}

static void build(DistillPrefsServer *self)
{
  AdwPreferencesGroup *run = group(self, _("Local API Server"),
                                   _("Editors, scripts and other programs on this computer can use your models "
                                     "through an OpenAI-compatible API. Only this computer can connect, and every "
                                     "request needs the API key."));
  AdwActionRow *enabled_row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(enabled_row), _("Run the API Server"));
  self->status_row = enabled_row;
  self->enabled = GTK_SWITCH(gtk_switch_new());
  gtk_widget_set_valign(GTK_WIDGET(self->enabled), GTK_ALIGN_CENTER);
  gtk_widget_set_name(GTK_WIDGET(self->enabled), "enabled");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->enabled), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                 _("Run the API Server"), -1);
  adw_action_row_add_suffix(enabled_row, GTK_WIDGET(self->enabled));
  adw_action_row_set_activatable_widget(enabled_row, GTK_WIDGET(self->enabled));
  gtk_widget_set_name(GTK_WIDGET(enabled_row), "status");
  adw_preferences_group_add(run, GTK_WIDGET(enabled_row));

  AdwActionRow *port_row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(port_row), _("Port"));
  adw_action_row_set_subtitle(port_row, _("Another program already using this port stops the server from starting."));
  self->port = GTK_SPIN_BUTTON(gtk_spin_button_new_with_range(1, 65535, 1));
  gtk_widget_set_valign(GTK_WIDGET(self->port), GTK_ALIGN_CENTER);
  gtk_widget_set_name(GTK_WIDGET(self->port), "port");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->port), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Port"), -1);
  adw_action_row_add_suffix(port_row, GTK_WIDGET(self->port));
  adw_preferences_group_add(run, GTK_WIDGET(port_row));

  self->url_row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->url_row), _("Address"));
  gtk_widget_add_css_class(GTK_WIDGET(self->url_row), "property");
  gtk_widget_set_name(GTK_WIDGET(self->url_row), "url");
  GtkWidget *copy_url = icon_button("edit-copy-symbolic", _("Copy the address"));
  g_signal_connect_swapped(copy_url, "clicked", G_CALLBACK(on_copy_url), self);
  adw_action_row_add_suffix(self->url_row, copy_url);
  adw_preferences_group_add(run, GTK_WIDGET(self->url_row));

  AdwPreferencesGroup *keys = group(self, _("API Key"), NULL);
  self->key_row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->key_row), _("Key"));
  gtk_widget_add_css_class(GTK_WIDGET(self->key_row), "property");
  gtk_widget_set_name(GTK_WIDGET(self->key_row), "key");
  self->reveal = GTK_TOGGLE_BUTTON(gtk_toggle_button_new());
  gtk_button_set_icon_name(GTK_BUTTON(self->reveal), "view-reveal-symbolic");
  gtk_widget_set_valign(GTK_WIDGET(self->reveal), GTK_ALIGN_CENTER);
  gtk_widget_add_css_class(GTK_WIDGET(self->reveal), "flat");
  gtk_widget_set_name(GTK_WIDGET(self->reveal), "reveal");
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->reveal), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Show the key"), -1);
  g_signal_connect_swapped(self->reveal, "toggled", G_CALLBACK(show_key), self);
  adw_action_row_add_suffix(self->key_row, GTK_WIDGET(self->reveal));
  self->copy_key = GTK_BUTTON(icon_button("edit-copy-symbolic", _("Copy the key")));
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->copy_key), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Copy the key"), -1);
  g_signal_connect_swapped(self->copy_key, "clicked", G_CALLBACK(on_copy_key), self);
  adw_action_row_add_suffix(self->key_row, GTK_WIDGET(self->copy_key));
  adw_preferences_group_add(keys, GTK_WIDGET(self->key_row));

  AdwActionRow *new_row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(new_row), _("New Key"));
  adw_action_row_set_subtitle(new_row, _("Programs that use the old key can no longer connect."));
  self->new_key = GTK_BUTTON(gtk_button_new_with_mnemonic(_("_Make a New Key")));
  gtk_widget_set_valign(GTK_WIDGET(self->new_key), GTK_ALIGN_CENTER);
  gtk_widget_set_name(GTK_WIDGET(self->new_key), "new-key");
  g_signal_connect_swapped(self->new_key, "clicked", G_CALLBACK(on_new_key), self);
  adw_action_row_add_suffix(new_row, GTK_WIDGET(self->new_key));
  adw_preferences_group_add(keys, GTK_WIDGET(new_row));

  self->storage = GTK_LABEL(gtk_label_new(NULL));
  gtk_label_set_wrap(self->storage, TRUE);
  gtk_label_set_xalign(self->storage, 0);
  gtk_widget_add_css_class(GTK_WIDGET(self->storage), "dim-label");
  gtk_widget_add_css_class(GTK_WIDGET(self->storage), "caption");
  gtk_widget_set_margin_top(GTK_WIDGET(self->storage), 12);
  gtk_widget_set_name(GTK_WIDGET(self->storage), "storage");
  adw_preferences_group_add(keys, GTK_WIDGET(self->storage));

  AdwPreferencesGroup *web = group(self, _("Browser Access"),
                                   _("Web pages may call the server from a browser only when their origin is listed "
                                     "here (CORS), for example http://localhost:3000. Separate origins with commas. "
                                     "Empty: no web page may."));
  self->origins = ADW_ENTRY_ROW(adw_entry_row_new());
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(self->origins), _("Allowed Origins"));
  adw_entry_row_set_show_apply_button(self->origins, TRUE);
  gtk_widget_set_name(GTK_WIDGET(self->origins), "origins");
  g_signal_connect_swapped(self->origins, "apply", G_CALLBACK(on_origins_apply), self);
  adw_preferences_group_add(web, GTK_WIDGET(self->origins));
}

static void distill_prefs_server_dispose(GObject *object)
{
  DistillPrefsServer *self = DISTILL_PREFS_SERVER(object);
  if (self->settings) g_signal_handlers_disconnect_by_data(self->settings, self);
  if (self->server) g_signal_handlers_disconnect_by_data(self->server, self);
  g_clear_object(&self->settings);
  g_clear_object(&self->server);
  G_OBJECT_CLASS(distill_prefs_server_parent_class)->dispose(object);
}

static void distill_prefs_server_finalize(GObject *object)
{
  DistillPrefsServer *self = DISTILL_PREFS_SERVER(object);
  if (self->key) memset(self->key, 0, strlen(self->key));
  g_free(self->key);
  G_OBJECT_CLASS(distill_prefs_server_parent_class)->finalize(object);
}

static void distill_prefs_server_class_init(DistillPrefsServerClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = distill_prefs_server_dispose;
  G_OBJECT_CLASS(klass)->finalize = distill_prefs_server_finalize;
}

static void distill_prefs_server_init(DistillPrefsServer *self)
{
  adw_preferences_page_set_title(ADW_PREFERENCES_PAGE(self), _("API Server"));
  adw_preferences_page_set_icon_name(ADW_PREFERENCES_PAGE(self), "network-transmit-receive-symbolic");
  adw_preferences_page_set_name(ADW_PREFERENCES_PAGE(self), "api-server");
  build(self);
}

GtkWidget *distill_prefs_server_new(GSettings *settings, DistillApiServer *server)
{
  DistillPrefsServer *self = g_object_new(DISTILL_TYPE_PREFS_SERVER, NULL);
  self->settings = settings ? g_object_ref(settings) : g_settings_new(APP_ID);
  if (server == NULL) {
    GApplication *app = g_application_get_default();
    if (app && DISTILL_IS_APPLICATION(app)) server = distill_application_get_api_server(DISTILL_APPLICATION(app));
  }
  self->server = server ? g_object_ref(server) : NULL;
  g_settings_bind(self->settings, "api-server-enabled", self->enabled, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind(self->settings, "api-server-port", self->port, "value", G_SETTINGS_BIND_DEFAULT);
  g_signal_connect(self->settings, "changed", G_CALLBACK(on_settings_changed), self);
  if (self->server) g_signal_connect_swapped(self->server, "notify", G_CALLBACK(on_server_notify), self);
  show_origins(self);
  load_key(self);
  show_status(self);
  return GTK_WIDGET(self);
}

GtkWidget *distill_prefs_server_get_widget(DistillPrefsServer *self, const char *name)
{
  g_return_val_if_fail(DISTILL_IS_PREFS_SERVER(self), NULL);
  struct {
    const char *name;
    gpointer widget;
  } all[] = {
    {"enabled", self->enabled}, {"port", self->port},       {"url", self->url_row},
    {"key", self->key_row},     {"reveal", self->reveal},   {"new-key", self->new_key},
    {"origins", self->origins}, {"status", self->status_row}, {"storage", self->storage},
  };
  for (guint i = 0; i < G_N_ELEMENTS(all); i++)
    if (g_str_equal(all[i].name, name)) return GTK_WIDGET(all[i].widget);
  return NULL;
}
