/* distill-prefs-connections.c — see distill-prefs-connections.h. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-prefs-connections.h"
#include "distill-remote.h"
#include "distill-secret.h"

struct _DistillPrefsConnections {
  AdwPreferencesPage parent_instance;
  GSettings *settings;
  AdwPreferencesGroup *group;
  GPtrArray *rows; /* GtkWidget in group */
};

G_DEFINE_FINAL_TYPE(DistillPrefsConnections, distill_prefs_connections, ADW_TYPE_PREFERENCES_PAGE)

/* ==== storage ============================================================================ */

char *distill_prefs_connections_save(GSettings *settings, const char *id, const char *name, const char *base_url,
                                     const char *api_key, GError **error)
{
  g_autofree char *url = distill_remote_normalize_base_url(base_url, error);
  if (!url) return NULL;
  g_autofree char *clean_name = g_strstrip(g_strdup(name ? name : ""));
  if (!*clean_name) {
    /* no name: the host says enough */
    g_autoptr(DistillRemote) r = distill_remote_new(url, NULL);
    g_free(clean_name);
    clean_name = g_strdup(distill_remote_get_host(r));
  }
  g_autoptr(GPtrArray) all = distill_remote_endpoints_load(settings);
  g_autofree char *new_id = id && *id ? g_strdup(id) : distill_remote_endpoint_make_id();
  gboolean found = FALSE;
  for (guint i = 0; i < all->len; i++) {
    DistillRemoteEndpoint *e = all->pdata[i];
    if (!g_str_equal(e->id, new_id)) continue;
    g_free(e->name);
    g_free(e->base_url);
    e->name = g_strdup(clean_name);
    e->base_url = g_strdup(url);
    found = TRUE;
  }
  if (!found) g_ptr_array_add(all, distill_remote_endpoint_new(new_id, clean_name, url));
  if (api_key && *api_key) {
    /* Translators: how the key is labelled in the keyring manager */
    g_autofree char *label = g_strdup_printf(_("Distill: API key of %s"), clean_name);
    if (!distill_secret_store(new_id, label, api_key, error)) return NULL;
  } else {
    distill_secret_clear(new_id);
  }
  distill_remote_endpoints_save(settings, all);
  return g_steal_pointer(&new_id);
}

void distill_prefs_connections_remove(GSettings *settings, const char *id)
{
  g_autoptr(GPtrArray) all = distill_remote_endpoints_load(settings);
  for (guint i = 0; i < all->len; i++)
    if (g_str_equal(((DistillRemoteEndpoint *)all->pdata[i])->id, id)) g_ptr_array_remove_index(all, i--);
  distill_remote_endpoints_save(settings, all);
  distill_secret_clear(id);
}

/* ==== the editor dialog ==================================================================== */

typedef struct {
  DistillPrefsConnections *page;
  char *id; /* NULL: a new connection */
  GtkEditable *name, *url, *key;
  GtkLabel *result;
  GtkWidget *test_button;
  GCancellable *cancellable;
} Editor;

static void editor_free(Editor *ed)
{
  g_cancellable_cancel(ed->cancellable);
  g_object_unref(ed->cancellable);
  g_object_unref(ed->page);
  g_free(ed->id);
  g_free(ed);
}

static void set_result(Editor *ed, const char *text, gboolean ok)
{
  gtk_label_set_label(ed->result, text);
  gtk_widget_remove_css_class(GTK_WIDGET(ed->result), "error");
  gtk_widget_remove_css_class(GTK_WIDGET(ed->result), "success");
  gtk_widget_add_css_class(GTK_WIDGET(ed->result), ok ? "success" : "error");
  gtk_widget_set_visible(GTK_WIDGET(ed->result), TRUE);
}

static void test_done(GObject *source, GAsyncResult *res, gpointer data)
{
  Editor *ed = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = distill_remote_list_models_finish(DISTILL_REMOTE(source), res, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) return;
  gtk_widget_set_sensitive(ed->test_button, TRUE);
  if (!models) {
    set_result(ed, error->message, FALSE);
    return;
  }
  g_ptr_array_add(models, NULL);
  g_autofree char *list = g_strjoinv(", ", (char **)models->pdata);
  guint n = models->len - 1;
  g_autofree char *text =
    n == 0 ? g_strdup(_("Connected, but the server serves no models."))
           : g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "Connected: %1$u model (%2$s).", "Connected: %1$u models (%2$s).", n),
                             n, list);
  set_result(ed, text, n > 0);
}

static void on_test_clicked(GtkButton *button, Editor *ed)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = distill_remote_normalize_base_url(gtk_editable_get_text(ed->url), &error);
  if (!url) {
    set_result(ed, error->message, FALSE);
    return;
  }
  g_autoptr(DistillRemote) remote = distill_remote_new(url, gtk_editable_get_text(ed->key));
  distill_remote_set_timeouts(remote, 10000, 0);
  gtk_label_set_label(ed->result, _("Asking the server for its models…"));
  gtk_widget_remove_css_class(GTK_WIDGET(ed->result), "error");
  gtk_widget_remove_css_class(GTK_WIDGET(ed->result), "success");
  gtk_widget_set_visible(GTK_WIDGET(ed->result), TRUE);
  gtk_widget_set_sensitive(ed->test_button, FALSE);
  distill_remote_list_models_async(remote, ed->cancellable, test_done, ed);
}

static void refill(DistillPrefsConnections *self);

static void on_editor_response(AdwMessageDialog *dialog, const char *response, Editor *ed)
{
  if (!g_str_equal(response, "save")) return;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = distill_prefs_connections_save(ed->page->settings, ed->id, gtk_editable_get_text(ed->name),
                                                       gtk_editable_get_text(ed->url), gtk_editable_get_text(ed->key),
                                                       &error);
  if (!id) {
    GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(ed->page));
    if (ADW_IS_PREFERENCES_WINDOW(root))
      adw_preferences_window_add_toast(ADW_PREFERENCES_WINDOW(root), adw_toast_new(error->message));
  }
}

static void on_url_changed(GtkEditable *url, AdwMessageDialog *dialog)
{
  adw_message_dialog_set_response_enabled(dialog, "save", distill_remote_normalize_base_url(gtk_editable_get_text(url), NULL) != NULL);
}

static GtkEditable *entry_row(GtkWidget *list, GtkWidget *row, const char *title, const char *text, const char *name)
{
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), title);
  gtk_editable_set_text(GTK_EDITABLE(row), text ? text : "");
  gtk_widget_set_name(row, name);
  gtk_list_box_append(GTK_LIST_BOX(list), row);
  return GTK_EDITABLE(row);
}

/* The Add / Edit dialog; returned for tests. */
static GtkWidget *open_editor(DistillPrefsConnections *self, const DistillRemoteEndpoint *e)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG(adw_message_dialog_new(
    GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, e ? _("Edit Connection") : _("Add a Connection"),
    _("An OpenAI-compatible server: vLLM, SGLang, llama.cpp’s llama-server, Ollama (its address ends with /v1) or "
      "a hosted provider.")));
  Editor *ed = g_new0(Editor, 1);
  ed->page = g_object_ref(self);
  ed->id = e ? g_strdup(e->id) : NULL;
  ed->cancellable = g_cancellable_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *list = gtk_list_box_new();
  gtk_list_box_set_selection_mode(GTK_LIST_BOX(list), GTK_SELECTION_NONE);
  gtk_widget_add_css_class(list, "boxed-list");
  ed->name = entry_row(list, adw_entry_row_new(), _("Name"), e ? e->name : NULL, "connection-name");
  ed->url = entry_row(list, adw_entry_row_new(), _("Address (base URL)"), e ? e->base_url : "http://", "connection-url");
  g_autofree char *key = e ? distill_secret_lookup(e->id) : NULL;
  ed->key = entry_row(list, adw_password_entry_row_new(), _("API key (optional)"), key, "connection-key");
  gtk_box_append(GTK_BOX(box), list);
  ed->test_button = gtk_button_new_with_mnemonic(_("_Test Connection"));
  gtk_widget_set_halign(ed->test_button, GTK_ALIGN_START);
  gtk_widget_set_name(ed->test_button, "connection-test");
  g_signal_connect(ed->test_button, "clicked", G_CALLBACK(on_test_clicked), ed);
  gtk_box_append(GTK_BOX(box), ed->test_button);
  ed->result = GTK_LABEL(gtk_label_new(NULL));
  gtk_label_set_wrap(ed->result, TRUE);
  gtk_label_set_xalign(ed->result, 0);
  gtk_widget_set_name(GTK_WIDGET(ed->result), "connection-result");
  gtk_widget_set_visible(GTK_WIDGET(ed->result), FALSE);
  gtk_box_append(GTK_BOX(box), GTK_WIDGET(ed->result));
  adw_message_dialog_set_extra_child(dialog, box);
  adw_message_dialog_add_responses(dialog, "cancel", _("_Cancel"), "save", e ? _("_Save") : _("_Add"), NULL);
  adw_message_dialog_set_response_appearance(dialog, "save", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response(dialog, "save");
  adw_message_dialog_set_close_response(dialog, "cancel");
  g_signal_connect(ed->url, "changed", G_CALLBACK(on_url_changed), dialog);
  on_url_changed(ed->url, dialog);
  g_signal_connect_data(dialog, "response", G_CALLBACK(on_editor_response), ed, (GClosureNotify)(void (*)(void))editor_free, 0);
  gtk_window_present(GTK_WINDOW(dialog));
  return GTK_WIDGET(dialog);
}

/* ==== the list ================================================================================ */

static void on_remove_response(AdwMessageDialog *dialog, const char *response, DistillPrefsConnections *self)
{
  if (!g_str_equal(response, "remove")) return;
  distill_prefs_connections_remove(self->settings, g_object_get_data(G_OBJECT(dialog), "id"));
}

static void on_remove_clicked(GtkButton *button, DistillPrefsConnections *self)
{
  const char *id = g_object_get_data(G_OBJECT(button), "id");
  g_autoptr(DistillRemoteEndpoint) e = distill_remote_endpoint_find(self->settings, id);
  if (!e) return;
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  g_autofree char *heading = g_strdup_printf(_("Remove “%s”?"), e->name);
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG(
    adw_message_dialog_new(GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL, heading,
                           _("Its models leave the model picker and its API key is forgotten. Chats that used it "
                             "are kept.")));
  adw_message_dialog_add_responses(dialog, "cancel", _("_Cancel"), "remove", _("_Remove"), NULL);
  adw_message_dialog_set_response_appearance(dialog, "remove", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response(dialog, "cancel");
  adw_message_dialog_set_close_response(dialog, "cancel");
  g_object_set_data_full(G_OBJECT(dialog), "id", g_strdup(id), g_free);
  g_signal_connect_object(dialog, "response", G_CALLBACK(on_remove_response), self, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void on_edit_clicked(GtkButton *button, DistillPrefsConnections *self)
{
  g_autoptr(DistillRemoteEndpoint) e =
    distill_remote_endpoint_find(self->settings, g_object_get_data(G_OBJECT(button), "id"));
  if (e) open_editor(self, e);
}

static void on_add_clicked(GtkButton *button, DistillPrefsConnections *self)
{
  open_editor(self, NULL);
}

static GtkWidget *icon_button(const char *icon, const char *label, const char *id)
{
  GtkWidget *b = gtk_button_new_from_icon_name(icon);
  gtk_widget_set_valign(b, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class(b, "flat");
  gtk_widget_set_tooltip_text(b, label);
  gtk_accessible_update_property(GTK_ACCESSIBLE(b), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  g_object_set_data_full(G_OBJECT(b), "id", g_strdup(id), g_free);
  return b;
}

static void refill(DistillPrefsConnections *self)
{
  for (guint i = 0; i < self->rows->len; i++) adw_preferences_group_remove(self->group, self->rows->pdata[i]);
  g_ptr_array_set_size(self->rows, 0);
  g_autoptr(GPtrArray) all = distill_remote_endpoints_load(self->settings);
  for (guint i = 0; i < all->len; i++) {
    DistillRemoteEndpoint *e = all->pdata[i];
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(row), FALSE);
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), e->name);
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row), e->base_url);
    adw_action_row_add_prefix(ADW_ACTION_ROW(row), gtk_image_new_from_icon_name("network-server-symbolic"));
    g_autofree char *edit_label = g_strdup_printf(_("Edit %s"), e->name);
    g_autofree char *remove_label = g_strdup_printf(_("Remove %s"), e->name);
    GtkWidget *edit = icon_button("document-edit-symbolic", edit_label, e->id);
    GtkWidget *remove = icon_button("user-trash-symbolic", remove_label, e->id);
    g_signal_connect_object(edit, "clicked", G_CALLBACK(on_edit_clicked), self, 0);
    g_signal_connect_object(remove, "clicked", G_CALLBACK(on_remove_clicked), self, 0);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), edit);
    adw_action_row_add_suffix(ADW_ACTION_ROW(row), remove);
    adw_preferences_group_add(self->group, row);
    g_ptr_array_add(self->rows, row);
  }
  if (all->len == 0) {
    GtkWidget *row = adw_action_row_new();
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(row), _("No connections yet"));
    adw_action_row_set_subtitle(ADW_ACTION_ROW(row),
                                _("Add a server to use models this computer cannot hold, such as the full "
                                  "DeepSeek-R1 on a vLLM cluster."));
    adw_preferences_group_add(self->group, row);
    g_ptr_array_add(self->rows, row);
  }
}

static void distill_prefs_connections_dispose(GObject *object)
{
  DistillPrefsConnections *self = DISTILL_PREFS_CONNECTIONS(object);
  if (self->settings) g_signal_handlers_disconnect_by_data(self->settings, self);
  g_clear_object(&self->settings);
  g_clear_pointer(&self->rows, g_ptr_array_unref);
  G_OBJECT_CLASS(distill_prefs_connections_parent_class)->dispose(object);
}

static void distill_prefs_connections_class_init(DistillPrefsConnectionsClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = distill_prefs_connections_dispose;
}

static void distill_prefs_connections_init(DistillPrefsConnections *self)
{
  self->rows = g_ptr_array_new();
  adw_preferences_page_set_title(ADW_PREFERENCES_PAGE(self), _("Connections"));
  adw_preferences_page_set_icon_name(ADW_PREFERENCES_PAGE(self), "network-workgroup-symbolic");
  gtk_widget_set_name(GTK_WIDGET(self), "connections");
  self->group = ADW_PREFERENCES_GROUP(adw_preferences_group_new());
  adw_preferences_group_set_title(self->group, _("Remote Engines"));
  adw_preferences_group_set_description(
    self->group, _("Servers with an OpenAI-compatible API. Their models appear in the chat’s model picker, marked "
                   "as remote; answers stream, stop and are kept in the history like local ones."));
  GtkWidget *add = gtk_button_new_from_icon_name("list-add-symbolic");
  gtk_widget_add_css_class(add, "flat");
  gtk_widget_set_valign(add, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text(add, _("Add a Connection"));
  gtk_accessible_update_property(GTK_ACCESSIBLE(add), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Add a Connection"), -1);
  gtk_widget_set_name(add, "connection-add");
  g_signal_connect(add, "clicked", G_CALLBACK(on_add_clicked), self);
  adw_preferences_group_set_header_suffix(self->group, add);
  adw_preferences_page_add(ADW_PREFERENCES_PAGE(self), self->group);
}

GtkWidget *distill_prefs_connections_new(GSettings *settings)
{
  DistillPrefsConnections *self = g_object_new(DISTILL_TYPE_PREFS_CONNECTIONS, NULL);
  self->settings = settings ? g_object_ref(settings) : g_settings_new(APP_ID);
  g_signal_connect_swapped(self->settings, "changed::remote-endpoints", G_CALLBACK(refill), self);
  refill(self);
  return GTK_WIDGET(self);
}
