/* distill-chat-page.c — the Chat view.
 *
 * Left: the chats, newest first, with a search over every message. Right:
 * the messages of one chat, the composer, and in the toolbar the model
 * picker, the context meter and the chat's settings.
 *
 * A question goes: composer → history (stored at once) → DistillEngine (the
 * worker renders the whole chat with the model's template, leaving out the
 * oldest turns when they no longer fit) → "delta" signals at most 60 times a
 * second → the answer row, and the history every second while it streams.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "distill-chat-page.h"
#include "distill-chat-settings.h"
#include "distill-hardware.h"
#include "distill-load-settings.h"
#include "distill-message-row.h"
#include "distill-offload.h"
#include "distill-model-picker.h"
#include "distill-remote.h"

struct _DistillChatPage {
  AdwBin parent_instance;

  DistillEngine *engine;
  DistillHistory *history;
  GSettings *settings;
  GError *history_error; /* why the history file could not be used (an in-memory one is) */

  gint64 chat_id;        /* 0: a new chat, saved with its first question */
  DistillChatSettings cs;
  gboolean filling_settings;
  int announced_dropped; /* messages left out that the chat was already told about */
  gint64 editing_id;     /* the question being edited, 0: none */
  gboolean preedit;      /* the input method is composing in the composer */
  gboolean stick_to_bottom;
  gboolean list_updating;

  /* the running generation */
  DistillGeneration *gen;
  gint64 gen_chat_id;         /* its chat (the user may open another while it stops) */
  DistillMessageRow *stream_row;
  DistillMessage *stream_msg; /* its record; id 0 until the prompt is ready */
  GString *stream_text;
  int prompt_tokens;
  gboolean dirty;
  guint save_source;

  /* models */
  GCancellable *load_cancellable;
  char *loading_path;
  gboolean has_local_models;
  DistillModelPicker *picker;
  DistillRemoteEndpoint *remote; /* a remote model is used instead of the engine's, or NULL */
  char *remote_model;
  gboolean gen_remote;           /* the running generation is remote */
  int remote_ctx;                /* the remote model's context length as its server says; 0: not known */
  GCancellable *remote_ctx_cancel;

  /* template children */
  GtkStack *main_stack;
  AdwToastOverlay *toast_overlay;
  AdwLeaflet *leaflet;
  GtkWidget *sidebar;
  GtkWidget *content;
  GtkToggleButton *search_button;
  GtkSearchBar *search_bar;
  GtkSearchEntry *search_entry;
  GtkListBox *chat_list;
  GtkMenuButton *model_button;
  GtkPopover *model_popover;
  GtkListBox *model_list;
  GtkLabel *model_label;
  GtkLabel *title_label;
  GtkWidget *context_box;
  GtkLabel *context_label;
  GtkLevelBar *context_bar;
  GtkPopover *settings_popover;
  GtkSpinButton *temperature_spin;
  GtkSpinButton *top_p_spin;
  GtkSpinButton *max_tokens_spin;
  GtkSpinButton *context_spin;
  GtkSpinButton *budget_spin;
  GtkTextView *system_view;
  GtkRevealer *load_revealer;
  GtkProgressBar *load_bar;
  GtkRevealer *context_warning;
  GtkLabel *context_warning_label;
  GtkStack *content_stack;
  GtkScrolledWindow *scroller;
  GtkBox *messages_box;
  GtkRevealer *edit_revealer;
  GtkTextView *composer_view;
  GtkStack *send_stack;
  GtkWidget *back_button;
  GtkWidget *send_button;
  GtkWidget *stop_button;
};

G_DEFINE_FINAL_TYPE(DistillChatPage, distill_chat_page, ADW_TYPE_BIN)

enum { PROP_0, PROP_ENGINE, PROP_HISTORY, N_PROPS };
static GParamSpec *props[N_PROPS];

static void update_state(DistillChatPage *self);
static void rebuild_chat_list(DistillChatPage *self);

/* ==== settings ================================================================ */

/* The model the chat uses or is about to use (NULL: none). */
static const char *current_model_path(DistillChatPage *self)
{
  return self->loading_path ? self->loading_path : distill_engine_get_model_path(self->engine);
}

/* A new chat's context size: the model's own load setting, else the default (Preferences → Models). */
static int default_context_size(DistillChatPage *self)
{
  return distill_load_settings_get_context_size(self->settings, current_model_path(self));
}

/* The model's load settings (GPU layers, threads, KV cache type) → the engine; before a load and
 * before each answer (a change makes the engine start a new session). */
static void apply_load_settings(DistillChatPage *self, const char *path, int n_ctx)
{
  still_hardware hw;
  gboolean known = distill_hardware_get_effective(distill_hardware_get_default(), &hw);
  distill_load_settings_apply(self->settings, path, n_ctx, self->engine, known ? &hw : NULL);
}

static void settings_defaults(DistillChatPage *self, DistillChatSettings *cs)
{
  distill_chat_settings_reset(cs, default_context_size(self));
}

static void settings_to_ui(DistillChatPage *self)
{
  self->filling_settings = TRUE;
  gtk_spin_button_set_value(self->temperature_spin, self->cs.temperature);
  gtk_spin_button_set_value(self->top_p_spin, self->cs.top_p);
  gtk_spin_button_set_value(self->max_tokens_spin, self->cs.max_tokens);
  gtk_spin_button_set_value(self->context_spin, self->cs.n_ctx);
  gtk_spin_button_set_value(self->budget_spin, self->cs.reasoning_budget);
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->system_view), self->cs.system_prompt, -1);
  self->filling_settings = FALSE;
}

static void settings_from_ui(DistillChatPage *self)
{
  gtk_spin_button_update(self->temperature_spin);
  self->cs.temperature = gtk_spin_button_get_value(self->temperature_spin);
  self->cs.top_p = gtk_spin_button_get_value(self->top_p_spin);
  self->cs.max_tokens = gtk_spin_button_get_value_as_int(self->max_tokens_spin);
  self->cs.n_ctx = gtk_spin_button_get_value_as_int(self->context_spin);
  self->cs.reasoning_budget = gtk_spin_button_get_value_as_int(self->budget_spin);
  GtkTextBuffer *buf = gtk_text_view_get_buffer(self->system_view);
  GtkTextIter a, b;
  gtk_text_buffer_get_bounds(buf, &a, &b);
  g_free(self->cs.system_prompt);
  self->cs.system_prompt = gtk_text_buffer_get_text(buf, &a, &b, FALSE);
  g_strstrip(self->cs.system_prompt);
}

static void toast(DistillChatPage *self, const char *text)
{
  AdwToast *t = adw_toast_new(text);
  adw_toast_set_timeout(t, 5);
  adw_toast_overlay_add_toast(self->toast_overlay, t);
}

static void save_settings(DistillChatPage *self)
{
  if (!self->chat_id) return;
  g_autofree char *json = distill_chat_settings_to_json(&self->cs);
  g_autoptr(GError) error = NULL;
  if (!distill_history_set_chat_settings(self->history, self->chat_id, json, &error)) toast(self, error->message);
}

static void settings_closed(DistillChatPage *self)
{
  settings_from_ui(self);
  save_settings(self);
  update_state(self);
}

/* ==== small helpers ============================================================= */

static char *models_folder(DistillChatPage *self)
{
  g_autofree char *dir = g_settings_get_string(self->settings, "models-folder");
  if (dir && *dir) return g_steal_pointer(&dir);
  return g_build_filename(g_get_user_data_dir(), "distill", "models", NULL);
}

/* "1.2k" style token counts for the meter */
static char *compact_count(int n)
{
  if (n < 1000) return g_strdup_printf("%d", n);
  if (n < 10000) return g_strdup_printf(_("%.1fk"), n / 1000.0);
  return g_strdup_printf(_("%.0fk"), n / 1000.0);
}

/* The first line of the first question, shortened: the chat's title. */
static char *make_title(const char *text)
{
  g_autofree char *copy = g_strdup(text);
  char *nl = strchr(g_strstrip(copy), '\n');
  if (nl) *nl = '\0';
  g_autoptr(GString) s = g_string_new(NULL);
  gboolean space = FALSE;
  for (const char *p = copy; *p; p++) {
    if (*p == ' ' || *p == '\t' || *p == '\r') {
      space = TRUE;
      continue;
    }
    if (space && s->len) g_string_append_c(s, ' ');
    space = FALSE;
    g_string_append_c(s, *p);
  }
  const glong max = 48;
  if (g_utf8_strlen(s->str, -1) > max) {
    const char *cut = g_utf8_offset_to_pointer(s->str, max - 1);
    g_string_truncate(s, (gsize)(cut - s->str));
    g_string_append(s, "…");
  }
  if (s->len == 0) g_string_append(s, _("New Chat"));
  return g_string_free(g_steal_pointer(&s), FALSE);
}

static int effective_ctx(DistillChatPage *self)
{
  /* a remote model runs with the server's context, not ours; 0 (not known): no limit is shown */
  if (self->remote) return self->remote_ctx;
  int n_ctx = self->cs.n_ctx;
  int train = distill_engine_get_n_ctx_train(self->engine);
  if (train > 0 && n_ctx > train) n_ctx = train;
  return n_ctx;
}

static GtkWindow *parent_window(DistillChatPage *self)
{
  GtkRoot *root = gtk_widget_get_root(GTK_WIDGET(self));
  return GTK_IS_WINDOW(root) ? GTK_WINDOW(root) : NULL;
}

/* ==== the context meter =========================================================== */

static void update_context_meter(DistillChatPage *self, int used)
{
  int n_ctx = effective_ctx(self);
  /* a remote model whose server does not say its context length: the tokens used, no bar */
  gtk_widget_set_visible(GTK_WIDGET(self->context_bar), n_ctx > 0);
  if (n_ctx <= 0) {
    gtk_level_bar_set_value(self->context_bar, 0);
    g_autofree char *u = compact_count(used);
    /* Translators: context tokens used when the context size is not known, e.g. "1.2k tokens" */
    g_autofree char *label = g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%s token", "%s tokens", used), u);
    gtk_label_set_label(self->context_label, label);
    gtk_widget_remove_css_class(GTK_WIDGET(self->context_bar), "context-full");
    gtk_widget_remove_css_class(GTK_WIDGET(self->context_bar), "context-warning");
    g_autofree char *tip =
      g_strdup_printf(g_dngettext(GETTEXT_PACKAGE,
                                  "Context: %d token used. The server does not say how long this model's context is.",
                                  "Context: %d tokens used. The server does not say how long this model's context is.",
                                  used),
                      used);
    gtk_widget_set_tooltip_text(self->context_box, tip);
    gtk_accessible_update_property(GTK_ACCESSIBLE(self->context_bar), GTK_ACCESSIBLE_PROPERTY_LABEL, tip, -1);
    gtk_revealer_set_reveal_child(self->context_warning, FALSE);
    return;
  }
  int reserve = distill_generate_default_reserve(n_ctx, self->cs.max_tokens);
  double fraction = n_ctx > 0 ? MIN(1.0, (double)used / n_ctx) : 0;
  gtk_level_bar_set_value(self->context_bar, fraction);
  g_autofree char *u = compact_count(used), *t = compact_count(n_ctx);
  /* Translators: context tokens used / context size, e.g. "1.2k / 4.1k" */
  g_autofree char *label = g_strdup_printf(_("%s / %s"), u, t);
  gtk_label_set_label(self->context_label, label);

  gboolean full = used + reserve > n_ctx;
  gboolean warn = !full && used + reserve > n_ctx * 0.85;
  if (full) gtk_widget_add_css_class(GTK_WIDGET(self->context_bar), "context-full");
  else gtk_widget_remove_css_class(GTK_WIDGET(self->context_bar), "context-full");
  if (warn) gtk_widget_add_css_class(GTK_WIDGET(self->context_bar), "context-warning");
  else gtk_widget_remove_css_class(GTK_WIDGET(self->context_bar), "context-warning");

  g_autofree char *tip = g_strdup_printf(_("Context: %d of %d tokens used. %d tokens are kept free for the next "
                                           "answer and its reasoning."),
                                         used, n_ctx, reserve);
  gtk_widget_set_tooltip_text(self->context_box, tip);
  gtk_accessible_update_property(GTK_ACCESSIBLE(self->context_bar), GTK_ACCESSIBLE_PROPERTY_LABEL, tip, -1);

  if (full || warn) {
    gtk_label_set_label(self->context_warning_label,
                        full ? _("The context is full: the oldest messages will be left out of the next answer. "
                                 "Start a new chat to keep everything in view.")
                             : _("The context is nearly full: soon the oldest messages will be left out."));
  }
  gtk_revealer_set_reveal_child(self->context_warning, (full || warn) && used > 0);
}

/* ==== messages ===================================================================== */

static GList *message_rows(DistillChatPage *self)
{
  GList *rows = NULL;
  for (GtkWidget *c = gtk_widget_get_first_child(GTK_WIDGET(self->messages_box)); c;
       c = gtk_widget_get_next_sibling(c))
    if (DISTILL_IS_MESSAGE_ROW(c)) rows = g_list_prepend(rows, c);
  return g_list_reverse(rows);
}

/* Regenerate only on the last answer; nothing while a generation runs. */
static void update_row_actions(DistillChatPage *self)
{
  g_autoptr(GList) rows = message_rows(self);
  DistillMessageRow *last_answer = NULL;
  for (GList *l = rows; l; l = l->next)
    if (g_str_equal(distill_message_row_get_role(l->data), "assistant")) last_answer = l->data;
    else if (g_str_equal(distill_message_row_get_role(l->data), "user")) last_answer = NULL;
  for (GList *l = rows; l; l = l->next) {
    distill_message_row_set_can_regenerate(l->data, l->data == last_answer);
    distill_message_row_set_actions_sensitive(l->data, self->gen == NULL);
  }
}

static void on_row_edit(DistillMessageRow *row, DistillChatPage *self);
static void on_row_regenerate(DistillMessageRow *row, DistillChatPage *self);

static DistillMessageRow *add_row(DistillChatPage *self, const DistillMessage *msg, GtkWidget *before)
{
  GtkWidget *row = distill_message_row_new(msg);
  g_signal_connect_object(row, "edit", G_CALLBACK(on_row_edit), self, 0);
  g_signal_connect_object(row, "regenerate", G_CALLBACK(on_row_regenerate), self, 0);
  if (before) gtk_box_insert_child_after(self->messages_box, row, gtk_widget_get_prev_sibling(before));
  else gtk_box_append(self->messages_box, row);
  gtk_stack_set_visible_child_name(self->content_stack, "messages");
  return DISTILL_MESSAGE_ROW(row);
}

static void clear_rows(DistillChatPage *self)
{
  GtkWidget *c;
  while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->messages_box))))
    gtk_box_remove(self->messages_box, c);
  gtk_stack_set_visible_child_name(self->content_stack, "empty");
}

/* Remove the row of message_id and every row after it. */
static void remove_rows_from(DistillChatPage *self, GtkWidget *first)
{
  while (first) {
    GtkWidget *next = gtk_widget_get_next_sibling(first);
    gtk_box_remove(self->messages_box, first);
    first = next;
  }
  if (!gtk_widget_get_first_child(GTK_WIDGET(self->messages_box)))
    gtk_stack_set_visible_child_name(self->content_stack, "empty");
}

static void scroll_to_bottom(DistillChatPage *self)
{
  self->stick_to_bottom = TRUE;
  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(self->scroller);
  gtk_adjustment_set_value(adj, gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj));
}

static void on_scroll_value(GtkAdjustment *adj, DistillChatPage *self)
{
  double bottom = gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj);
  self->stick_to_bottom = gtk_adjustment_get_value(adj) >= bottom - 48;
}

static void on_scroll_upper(GtkAdjustment *adj, GParamSpec *pspec, DistillChatPage *self)
{
  /* follow the answer as it grows, unless the user scrolled up to read */
  if (self->stick_to_bottom)
    gtk_adjustment_set_value(adj, gtk_adjustment_get_upper(adj) - gtk_adjustment_get_page_size(adj));
}

/* ==== chats ======================================================================== */

static void select_current_in_list(DistillChatPage *self)
{
  self->list_updating = TRUE;
  GtkListBoxRow *sel = NULL;
  for (int i = 0;; i++) {
    GtkListBoxRow *row = gtk_list_box_get_row_at_index(self->chat_list, i);
    if (!row) break;
    gint64 *id = g_object_get_data(G_OBJECT(row), "chat-id");
    if (id && *id == self->chat_id) sel = row;
  }
  if (sel) gtk_list_box_select_row(self->chat_list, sel);
  else gtk_list_box_unselect_all(self->chat_list);
  self->list_updating = FALSE;
}

static char *relative_date(gint64 us)
{
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(us / G_USEC_PER_SEC);
  g_autoptr(GDateTime) now = g_date_time_new_now_local();
  if (!t || !now) return g_strdup("");
  if (g_date_time_get_year(t) == g_date_time_get_year(now) &&
      g_date_time_get_day_of_year(t) == g_date_time_get_day_of_year(now))
    return g_date_time_format(t, "%H:%M");
  /* Translators: a date in the chat list, see g_date_time_format() */
  return g_date_time_format(t, _("%e %b %Y"));
}

static GtkWidget *chat_row_new(const DistillChatInfo *c)
{
  GtkWidget *row = gtk_list_box_row_new();
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new(*c->title ? c->title : _("Untitled Chat"));
  gtk_label_set_ellipsize(GTK_LABEL(title), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign(GTK_LABEL(title), 0);
  g_autofree char *date = relative_date(c->updated);
  GtkWidget *sub = gtk_label_new(c->snippet ? c->snippet : date);
  gtk_label_set_ellipsize(GTK_LABEL(sub), PANGO_ELLIPSIZE_END);
  gtk_label_set_xalign(GTK_LABEL(sub), 0);
  gtk_widget_add_css_class(sub, "caption");
  gtk_widget_add_css_class(sub, "dim-label");
  gtk_box_append(GTK_BOX(box), title);
  gtk_box_append(GTK_BOX(box), sub);
  gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
  g_object_set_data_full(G_OBJECT(row), "chat-id", g_memdup2(&c->id, sizeof c->id), g_free);
  gtk_accessible_update_property(GTK_ACCESSIBLE(row), GTK_ACCESSIBLE_PROPERTY_LABEL, c->title, -1);
  return row;
}

static void rebuild_chat_list(DistillChatPage *self)
{
  self->list_updating = TRUE;
  GtkWidget *c;
  while ((c = gtk_widget_get_first_child(GTK_WIDGET(self->chat_list)))) gtk_list_box_remove(self->chat_list, c);
  const char *query = gtk_editable_get_text(GTK_EDITABLE(self->search_entry));
  gboolean searching = gtk_search_bar_get_search_mode(self->search_bar) && query && *query;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) chats = searching ? distill_history_search(self->history, query, &error)
                                         : distill_history_list_chats(self->history, &error);
  if (!chats) {
    toast(self, error->message);
    self->list_updating = FALSE;
    return;
  }
  for (guint i = 0; i < chats->len; i++) gtk_list_box_append(self->chat_list, chat_row_new(chats->pdata[i]));
  self->list_updating = FALSE;
  select_current_in_list(self);
}

static void set_title(DistillChatPage *self, const char *title)
{
  gtk_label_set_label(self->title_label, title && *title ? title : _("New Chat"));
}

static void stop_generation(DistillChatPage *self)
{
  if (self->gen) distill_generation_stop(self->gen);
}

static void cancel_edit(DistillChatPage *self)
{
  if (!self->editing_id) return;
  self->editing_id = 0;
  gtk_revealer_set_reveal_child(self->edit_revealer, FALSE);
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->composer_view), "", 0);
}

static void new_chat(DistillChatPage *self)
{
  stop_generation(self);
  cancel_edit(self);
  self->chat_id = 0;
  self->announced_dropped = 0;
  settings_defaults(self, &self->cs);
  settings_to_ui(self);
  clear_rows(self);
  set_title(self, NULL);
  select_current_in_list(self);
  update_context_meter(self, 0);
  adw_leaflet_set_visible_child(self->leaflet, self->content);
  gtk_widget_grab_focus(GTK_WIDGET(self->composer_view));
  update_state(self);
}

void distill_chat_page_open_chat(DistillChatPage *self, gint64 chat_id)
{
  g_return_if_fail(DISTILL_IS_CHAT_PAGE(self));
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillChatInfo) info = distill_history_get_chat(self->history, chat_id, &error);
  g_autoptr(GPtrArray) msgs = info ? distill_history_get_messages(self->history, chat_id, &error) : NULL;
  if (!msgs) {
    toast(self, error->message);
    return;
  }
  stop_generation(self);
  cancel_edit(self);
  self->chat_id = chat_id;
  self->announced_dropped = 0;
  distill_chat_settings_load(&self->cs, info->settings, default_context_size(self));
  settings_to_ui(self);
  set_title(self, info->title);
  clear_rows(self);
  for (guint i = 0; i < msgs->len; i++) add_row(self, msgs->pdata[i], NULL);
  update_row_actions(self);
  update_context_meter(self, self->cs.context_used);
  select_current_in_list(self);
  adw_leaflet_set_visible_child(self->leaflet, self->content);
  scroll_to_bottom(self);
  update_state(self);
}

static void on_chat_activated(GtkListBox *list, GtkListBoxRow *row, DistillChatPage *self)
{
  gint64 *id = g_object_get_data(G_OBJECT(row), "chat-id");
  if (!id) return;
  if (*id == self->chat_id) {
    adw_leaflet_set_visible_child(self->leaflet, self->content);
    return;
  }
  distill_chat_page_open_chat(self, *id);
}

static void on_chat_selected(GtkListBox *list, GtkListBoxRow *row, DistillChatPage *self)
{
  if (self->list_updating || !row) return;
  on_chat_activated(list, row, self);
}

/* ==== models ======================================================================== */

/* GGUF files in the models folder, sorted by name. */
static GPtrArray *find_models(DistillChatPage *self)
{
  g_autofree char *dir = models_folder(self);
  GPtrArray *out = distill_find_model_files(dir);
  self->has_local_models = out->len > 0;
  return out;
}

static void on_model_popover_shown(GtkPopover *popover, DistillChatPage *self)
{
  g_autoptr(GPtrArray) models = find_models(self);
  const char *current = distill_engine_get_model_path(self->engine);
  if (current && !g_ptr_array_find_with_equal_func(models, current, g_str_equal, NULL))
    g_ptr_array_insert(models, 0, g_strdup(current));
  g_autofree char *dir = models_folder(self);
  distill_model_picker_fill(self->picker, models, dir, current, self->remote ? self->remote->id : NULL,
                            self->remote_model);
}

static void clear_remote(DistillChatPage *self)
{
  if (self->remote_ctx_cancel) g_cancellable_cancel(self->remote_ctx_cancel);
  g_clear_object(&self->remote_ctx_cancel);
  self->remote_ctx = 0;
  g_clear_pointer(&self->remote, distill_remote_endpoint_free);
  g_clear_pointer(&self->remote_model, g_free);
}

static void on_local_chosen(DistillModelPicker *picker, const char *path, DistillChatPage *self)
{
  gtk_popover_popdown(self->model_popover);
  if (g_strcmp0(path, distill_engine_get_model_path(self->engine)) != 0) {
    distill_chat_page_load_model(self, path);
  } else if (self->remote) { /* back to the model that is still loaded */
    clear_remote(self);
    g_settings_set_string(self->settings, "last-model", path);
    update_state(self);
  }
}

static void remote_ctx_known(GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(GError) error = NULL;
  int n = distill_remote_query_context_length_finish(DISTILL_REMOTE(source), res, &error);
  if (n < 0) return; /* cancelled: the page or its remote model went */
  DistillChatPage *self = data;
  self->remote_ctx = n;
  if (!self->gen) update_context_meter(self, self->cs.context_used);
}

void distill_chat_page_use_remote_model(DistillChatPage *self, const char *endpoint_id, const char *model)
{
  g_return_if_fail(DISTILL_IS_CHAT_PAGE(self));
  g_autoptr(DistillRemoteEndpoint) e = distill_remote_endpoint_find(self->settings, endpoint_id);
  if (!e) {
    toast(self, _("This connection no longer exists. Add it again in Preferences → Connections."));
    return;
  }
  stop_generation(self);
  clear_remote(self);
  self->remote = g_steal_pointer(&e);
  self->remote_model = g_strdup(model);
  /* the meter shows the server's context length: known at once when the picker listed it */
  self->remote_ctx = distill_remote_lookup_context_length(self->remote->base_url, model);
  if (self->remote_ctx <= 0) {
    self->remote_ctx_cancel = g_cancellable_new();
    g_autoptr(DistillRemote) remote = distill_remote_new_for_endpoint(self->remote);
    distill_remote_query_context_length_async(remote, model, self->remote_ctx_cancel, remote_ctx_known, self);
  }
  update_context_meter(self, self->cs.context_used);
  g_autofree char *last = g_strconcat("remote:", endpoint_id, "/", model, NULL);
  g_settings_set_string(self->settings, "last-model", last);
  update_state(self);
}

/* The connection may have been edited or removed in the preferences since it was chosen. */
static gboolean remote_still_there(DistillChatPage *self)
{
  DistillRemoteEndpoint *e = self->remote ? distill_remote_endpoint_find(self->settings, self->remote->id) : NULL;
  if (self->remote && !e) {
    clear_remote(self);
    g_settings_set_string(self->settings, "last-model", "");
    update_state(self);
    toast(self, _("The connection of this model was removed. Choose a model again."));
    return FALSE;
  }
  if (e) { /* the name or the address may have changed */
    distill_remote_endpoint_free(self->remote);
    self->remote = e;
  }
  return TRUE;
}

static void on_remote_chosen(DistillModelPicker *picker, const char *id, const char *model, DistillChatPage *self)
{
  gtk_popover_popdown(self->model_popover);
  distill_chat_page_use_remote_model(self, id, model);
}

DistillModelPicker *distill_chat_page_get_model_picker(DistillChatPage *self)
{
  g_return_val_if_fail(DISTILL_IS_CHAT_PAGE(self), NULL);
  return self->picker;
}

static void on_model_loaded(GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(DistillChatPage) self = data;
  g_autoptr(GError) error = NULL;
  if (!distill_engine_load_finish(DISTILL_ENGINE(source), res, &error)) {
    if (g_error_matches(error, DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_CANCELLED)) return;
    if (g_error_matches(error, DISTILL_ENGINE_ERROR, DISTILL_ENGINE_ERROR_NOT_FOUND))
      g_settings_set_string(self->settings, "last-model", "");
    toast(self, error->message);
  }
  g_clear_pointer(&self->loading_path, g_free);
  update_state(self);
}

void distill_chat_page_load_model(DistillChatPage *self, const char *path)
{
  g_return_if_fail(DISTILL_IS_CHAT_PAGE(self));
  stop_generation(self);
  clear_remote(self);
  g_cancellable_cancel(self->load_cancellable);
  g_clear_object(&self->load_cancellable);
  self->load_cancellable = g_cancellable_new();
  g_free(self->loading_path);
  self->loading_path = g_strdup(path);
  g_settings_set_string(self->settings, "last-model", path);
  apply_load_settings(self, path, 0);
  /* free video memory may have changed since the app started: the first answer's placement (made
   * when it is sent, after the load) uses a fresh probe */
  distill_hardware_refresh(distill_hardware_get_default());
  distill_engine_load_async(self->engine, path, self->load_cancellable, on_model_loaded, g_object_ref(self));
  update_state(self);
}

static void open_model_file_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  gtk_popover_popdown(self->model_popover);
  distill_model_picker_open_file(self->picker, parent_window(self)); /* → "local-chosen" */
}
/* ==== state of the whole page ========================================================= */

static gboolean any_chats(DistillChatPage *self)
{
  return gtk_list_box_get_row_at_index(self->chat_list, 0) != NULL ||
         (gtk_search_bar_get_search_mode(self->search_bar) &&
          *gtk_editable_get_text(GTK_EDITABLE(self->search_entry)));
}

static void update_state(DistillChatPage *self)
{
  DistillEngineState st = distill_engine_get_state(self->engine);
  gboolean generating = self->gen != NULL;

  /* first launch: no model anywhere and nothing to read */
  g_autoptr(GVariant) endpoints = g_settings_get_value(self->settings, "remote-endpoints");
  gboolean welcome = st == DISTILL_ENGINE_EMPTY && !self->loading_path && !self->has_local_models && !any_chats(self) &&
                     !self->remote && g_variant_n_children(endpoints) == 0;
  gtk_stack_set_visible_child_name(self->main_stack, welcome ? "welcome" : "chat");

  const char *name = distill_engine_get_model_name(self->engine);
  if (self->remote) {
    gtk_label_set_label(self->model_label, self->remote_model);
    g_autofree char *tip = g_strdup_printf(_("%1$s, a remote model of %2$s"), self->remote_model, self->remote->name);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->model_button), tip);
  } else if (st == DISTILL_ENGINE_LOADING) {
    gtk_label_set_label(self->model_label, _("Loading…"));
  } else if (st == DISTILL_ENGINE_READY && name) {
    g_autofree char *shown = distill_model_display_name(distill_engine_get_model_path(self->engine));
    gtk_label_set_label(self->model_label, shown);
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->model_button), name);
  } else {
    gtk_label_set_label(self->model_label, _("Choose a Model"));
    gtk_widget_set_tooltip_text(GTK_WIDGET(self->model_button), _("Choose the Model"));
  }
  gtk_revealer_set_reveal_child(self->load_revealer, st == DISTILL_ENGINE_LOADING && !self->remote);

  gtk_stack_set_visible_child_name(self->send_stack, generating ? "stop" : "send");
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "chat.stop", generating);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "chat.send", !generating);
  gboolean saved = self->chat_id != 0;
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "chat.rename", saved);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "chat.export", saved);
  gtk_widget_action_set_enabled(GTK_WIDGET(self), "chat.delete", saved && !generating);
  update_row_actions(self);
}

static void on_load_progress(DistillEngine *engine, GParamSpec *pspec, DistillChatPage *self)
{
  double f = distill_engine_get_load_progress(engine);
  gtk_progress_bar_set_fraction(self->load_bar, f);
  g_autofree char *name = self->loading_path ? distill_model_display_name(self->loading_path) : g_strdup("");
  /* Translators: loading a model: name, percentage */
  g_autofree char *text = g_strdup_printf(_("Loading %s… %.0f%%"), name, f * 100);
  gtk_progress_bar_set_text(self->load_bar, text);
}

static void on_engine_state(DistillEngine *engine, GParamSpec *pspec, DistillChatPage *self)
{
  update_state(self);
  update_context_meter(self, self->cs.context_used);
}

/* ==== generating ======================================================================= */

static void persist_stream(DistillChatPage *self)
{
  if (!self->stream_msg || !self->stream_msg->id) return;
  g_free(self->stream_msg->content);
  self->stream_msg->content = g_strdup(self->stream_text->str);
  g_autoptr(GError) error = NULL;
  if (!distill_history_update_message(self->history, self->stream_msg, &error)) g_warning("%s", error->message);
  self->dirty = FALSE;
}

/* While an answer streams it is written at least once a second, so a crash
 * loses at most the last second of it. */
static gboolean save_tick(gpointer data)
{
  DistillChatPage *self = data;
  if (self->dirty) persist_stream(self);
  return G_SOURCE_CONTINUE;
}

/* Something the app says in a chat: stored with it, shown when it is open. */
static void add_notice(DistillChatPage *self, gint64 chat_id, const char *text, GtkWidget *before)
{
  g_autoptr(DistillMessage) m = distill_message_new("notice", text);
  if (chat_id) {
    g_autoptr(GError) error = NULL;
    if (!distill_history_add_message(self->history, chat_id, m, &error)) toast(self, error->message);
  }
  if (chat_id == self->chat_id) add_row(self, m, before);
}

/* the first answer of a model on this GPU waits for the engine to time its shaders */
static void on_gpu_tuning(DistillGeneration *gen, DistillChatPage *self)
{
  (void)gen;
  toast(self, _("Measuring your graphics card for this model (first time only)…"));
}

static void on_prompt_ready(DistillGeneration *gen, int prompt_tokens, int dropped, int n_ctx, DistillChatPage *self)
{
  self->prompt_tokens = prompt_tokens;
  /* say it when older messages stop fitting: never leave them out silently */
  if (dropped > self->announced_dropped) {
    g_autofree char *text = g_strdup_printf(
      g_dngettext(GETTEXT_PACKAGE,
                  "%1$d old message no longer fits in the context of %2$d tokens, so the model does not see it "
                  "any more.",
                  "%1$d old messages no longer fit in the context of %2$d tokens, so the model does not see "
                  "them any more.",
                  dropped),
      dropped, n_ctx);
    add_notice(self, self->gen_chat_id, text, GTK_WIDGET(self->stream_row));
    self->announced_dropped = dropped;
  }
  self->stream_msg->starts_in_think = distill_generation_starts_in_think(gen);
  g_autoptr(GError) error = NULL;
  if (!distill_history_add_message(self->history, self->gen_chat_id, self->stream_msg, &error))
    toast(self, error->message);
  distill_message_row_set_message_id(self->stream_row, self->stream_msg->id);
  distill_message_row_begin_stream(self->stream_row, self->stream_msg->starts_in_think);
  if (self->gen_chat_id == self->chat_id) update_context_meter(self, prompt_tokens);
}

static void on_delta(DistillGeneration *gen, const char *text, int tokens, DistillChatPage *self)
{
  g_string_append(self->stream_text, text);
  distill_message_row_append(self->stream_row, text);
  self->dirty = TRUE;
  if (self->gen_chat_id == self->chat_id) update_context_meter(self, self->prompt_tokens + tokens);
}

/* chat.retry (the button of a failed answer's notice): answer the last question again; the
 * failed answer and its partial text are replaced. */
static void retry_action(GtkWidget *widget, const char *name, GVariant *param)
{
  (void)name;
  (void)param;
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  g_autoptr(GList) rows = message_rows(self);
  GList *last = g_list_last(rows);
  if (last && g_str_equal(distill_message_row_get_role(last->data), "assistant"))
    on_row_regenerate(last->data, self);
}

static void on_finished(DistillGeneration *gen, DistillChatPage *self)
{
  const DistillGenerationStats *st = distill_generation_get_stats(gen);
  DistillMessage *m = self->stream_msg;
  g_clear_handle_id(&self->save_source, g_source_remove);
  const GError *error = distill_generation_get_error(gen);
  switch (distill_generation_get_stop_reason(gen)) {
  case DISTILL_STOP_STOPPED: m->state = DISTILL_MESSAGE_STOPPED; break;
  case DISTILL_STOP_MAX_TOKENS:
  case DISTILL_STOP_CONTEXT_FULL: m->state = DISTILL_MESSAGE_CUT; break;
  case DISTILL_STOP_ERROR: m->state = DISTILL_MESSAGE_FAILED; break;
  default: m->state = DISTILL_MESSAGE_COMPLETE; break;
  }
  if (error) {
    g_free(m->note);
    m->note = g_strdup(error->message);
    /* the partial answer stays in the chat; Retry answers the question again */
    AdwToast *t = adw_toast_new(error->message);
    adw_toast_set_timeout(t, 10);
    adw_toast_set_button_label(t, _("_Retry"));
    adw_toast_set_action_name(t, "chat.retry");
    adw_toast_overlay_add_toast(self->toast_overlay, t);
  }
  m->gen_tokens = st->gen_tokens;
  m->tok_s = st->tok_s;
  m->ttft_s = st->ttft_s;
  /* where the layers ran, in the statistics' tooltip */
  if (st->offload[0]) {
    still_hardware hw;
    int threads = st->n_threads;
    if (self->gen_remote) threads = 0; /* the server's threads are not ours to count */
    else if (threads <= 0 && distill_hardware_get_effective(distill_hardware_get_default(), &hw)) threads = hw.cpu_cores;
    /* in words ("All 28 layers on the GPU (…)"); a remote server's line as it is */
    g_autofree char *where = self->gen_remote ? g_strdup(st->offload) : distill_offload_describe(st->offload);
    g_autofree char *details =
      threads > 0 ? g_strdup_printf(g_dngettext(GETTEXT_PACKAGE, "%1$s; %2$d CPU thread", "%1$s; %2$d CPU threads",
                                                threads),
                                    where, threads)
                  : g_strdup(where);
    distill_message_row_set_details(self->stream_row, details);
  }
  /* the streamed row saw the reasoning end: its clock is what the user saw */
  distill_message_row_finish(self->stream_row, NULL);
  m->reasoning_s = distill_message_row_get_reasoning_seconds(self->stream_row);
  g_free(m->content);
  m->content = g_strdup(self->stream_text->str);
  distill_message_row_finish(self->stream_row, m);
  if (m->id) {
    persist_stream(self);
  }
  if (distill_generation_get_stop_reason(gen) == DISTILL_STOP_CONTEXT_FULL)
    add_notice(self, self->gen_chat_id,
               _("The context is full, so the answer was cut off. Start a new chat, or raise the context size in "
                 "the chat settings."),
               NULL);
  if (st->n_past > 0 && self->gen_chat_id == self->chat_id) {
    self->cs.context_used = st->n_past;
    save_settings(self);
  }

  g_signal_handlers_disconnect_by_data(gen, self);
  g_clear_object(&self->gen);
  g_clear_object(&self->stream_row);
  g_clear_pointer(&self->stream_msg, distill_message_free);
  update_context_meter(self, self->cs.context_used);
  update_state(self);
}

/* Ask the model to answer the chat as it is in the history. */
static void start_generation(DistillChatPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(self->history, self->chat_id, &error);
  if (!msgs) {
    toast(self, error->message);
    return;
  }
  settings_from_ui(self);
  DistillGenerateRequest *req = distill_generate_request_new();
  if (self->cs.system_prompt && *self->cs.system_prompt)
    distill_generate_request_add_message(req, "system", self->cs.system_prompt);
  for (guint i = 0; i < msgs->len; i++) {
    DistillMessage *m = msgs->pdata[i];
    if (g_str_equal(m->role, "user")) distill_generate_request_add_message(req, "user", m->content);
    else if (g_str_equal(m->role, "assistant") && m->state != DISTILL_MESSAGE_FAILED && *m->content)
      distill_generate_request_add_message(req, "assistant", m->content);
  }
  req->temperature = self->cs.temperature;
  req->top_p = self->cs.top_p;
  req->max_tokens = self->cs.max_tokens;
  req->n_ctx = effective_ctx(self);
  req->reasoning_budget = self->cs.reasoning_budget;
  req->chat_id = self->chat_id; /* the worker keeps each chat's evaluated prefix on disk */

  self->stream_msg = distill_message_new("assistant", "");
  self->stream_msg->state = DISTILL_MESSAGE_STREAMING;
  /* a remote answer is stored as "MODEL (CONNECTION)" */
  self->stream_msg->model = self->remote ? distill_remote_model_label(self->remote_model, self->remote->name)
                                         : g_strdup(distill_engine_get_model_name(self->engine));
  g_string_truncate(self->stream_text, 0);
  self->prompt_tokens = 0;
  self->dirty = FALSE;
  self->stream_row = g_object_ref(add_row(self, self->stream_msg, NULL));
  distill_message_row_begin_stream(self->stream_row, !self->remote && distill_engine_get_is_r1(self->engine));

  self->gen_remote = self->remote != NULL;
  if (self->remote) {
    g_autoptr(DistillRemote) remote = distill_remote_new_for_endpoint(self->remote);
    self->gen = distill_remote_generate(remote, self->remote_model, req);
  } else {
    apply_load_settings(self, distill_engine_get_model_path(self->engine), req->n_ctx);
    self->gen = distill_engine_generate(self->engine, req);
  }
  self->gen_chat_id = self->chat_id;
  g_signal_connect(self->gen, "prompt-ready", G_CALLBACK(on_prompt_ready), self);
  g_signal_connect(self->gen, "gpu-tuning", G_CALLBACK(on_gpu_tuning), self);
  g_signal_connect(self->gen, "delta", G_CALLBACK(on_delta), self);
  g_signal_connect(self->gen, "finished", G_CALLBACK(on_finished), self);
  self->save_source = g_timeout_add(1000, save_tick, self);
  scroll_to_bottom(self);
  update_state(self);
}

static char *composer_text(DistillChatPage *self)
{
  GtkTextBuffer *buf = gtk_text_view_get_buffer(self->composer_view);
  GtkTextIter a, b;
  gtk_text_buffer_get_bounds(buf, &a, &b);
  char *text = gtk_text_buffer_get_text(buf, &a, &b, FALSE);
  return g_strstrip(text);
}

static GtkWidget *row_of_message(DistillChatPage *self, gint64 id)
{
  g_autoptr(GList) rows = message_rows(self);
  for (GList *l = rows; l; l = l->next)
    if (distill_message_row_get_message_id(l->data) == id) return l->data;
  return NULL;
}

static void send_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  if (self->gen) return;
  g_autofree char *text = composer_text(self);
  if (!*text || !remote_still_there(self)) return;
  if (!self->remote && distill_engine_get_state(self->engine) != DISTILL_ENGINE_READY) {
    toast(self, distill_engine_get_state(self->engine) == DISTILL_ENGINE_LOADING
                  ? _("The model is still loading. Send again when it is ready.")
                  : _("Choose a model first."));
    if (distill_engine_get_state(self->engine) == DISTILL_ENGINE_EMPTY) gtk_menu_button_popup(self->model_button);
    return;
  }
  g_autoptr(GError) error = NULL;
  /* an edited question replaces itself and everything after it */
  if (self->editing_id) {
    GtkWidget *row = row_of_message(self, self->editing_id);
    if (!distill_history_delete_messages_from(self->history, self->editing_id, &error)) {
      toast(self, error->message);
      return;
    }
    remove_rows_from(self, row);
    self->editing_id = 0;
    self->announced_dropped = 0;
    gtk_revealer_set_reveal_child(self->edit_revealer, FALSE);
  }
  if (!self->chat_id) {
    g_autofree char *title = make_title(text);
    self->chat_id = distill_history_create_chat(self->history, title, &error);
    if (!self->chat_id) {
      toast(self, error->message);
      return;
    }
    settings_from_ui(self);
    save_settings(self);
    set_title(self, title);
    select_current_in_list(self);
  }
  g_autoptr(DistillMessage) q = distill_message_new("user", text);
  if (!distill_history_add_message(self->history, self->chat_id, q, &error)) {
    toast(self, error->message);
    return;
  }
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->composer_view), "", 0);
  add_row(self, q, NULL);
  start_generation(self);
}

static void stop_action(GtkWidget *widget, const char *name, GVariant *param)
{
  stop_generation(DISTILL_CHAT_PAGE(widget));
}

static void on_row_regenerate(DistillMessageRow *row, DistillChatPage *self)
{
  if (!self->gen && !remote_still_there(self)) return;
  if (self->gen || (!self->remote && distill_engine_get_state(self->engine) != DISTILL_ENGINE_READY)) {
    if (!self->gen) toast(self, _("Choose a model first."));
    return;
  }
  /* the answer (and any notice after the question) goes, the question stays */
  GtkWidget *first = GTK_WIDGET(row);
  for (GtkWidget *p = gtk_widget_get_prev_sibling(first); p; p = gtk_widget_get_prev_sibling(p)) {
    if (!DISTILL_IS_MESSAGE_ROW(p) || g_str_equal(distill_message_row_get_role(DISTILL_MESSAGE_ROW(p)), "user"))
      break;
    first = p;
  }
  gint64 id = distill_message_row_get_message_id(DISTILL_MESSAGE_ROW(first));
  g_autoptr(GError) error = NULL;
  if (id && !distill_history_delete_messages_from(self->history, id, &error)) {
    toast(self, error->message);
    return;
  }
  remove_rows_from(self, first);
  start_generation(self);
}

static void on_row_edit(DistillMessageRow *row, DistillChatPage *self)
{
  if (self->gen) return;
  self->editing_id = distill_message_row_get_message_id(row);
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(self->composer_view), distill_message_row_get_text(row), -1);
  gtk_revealer_set_reveal_child(self->edit_revealer, TRUE);
  gtk_widget_grab_focus(GTK_WIDGET(self->composer_view));
}

static void cancel_edit_action(GtkWidget *widget, const char *name, GVariant *param)
{
  cancel_edit(DISTILL_CHAT_PAGE(widget));
}

/* ==== chat actions ====================================================================== */

static void new_chat_action(GtkWidget *widget, const char *name, GVariant *param)
{
  new_chat(DISTILL_CHAT_PAGE(widget));
}

static void search_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  gtk_toggle_button_set_active(self->search_button, TRUE);
  adw_leaflet_set_visible_child(self->leaflet, self->sidebar);
  gtk_widget_grab_focus(GTK_WIDGET(self->search_entry));
}

static void on_search_changed(DistillChatPage *self)
{
  rebuild_chat_list(self);
}

static void on_rename_response(AdwMessageDialog *dialog, const char *response, DistillChatPage *self)
{
  if (g_strcmp0(response, "rename") != 0) return;
  GtkEditable *entry = GTK_EDITABLE(adw_message_dialog_get_extra_child(dialog));
  g_autofree char *title = g_strstrip(g_strdup(gtk_editable_get_text(entry)));
  gint64 *id = g_object_get_data(G_OBJECT(dialog), "chat-id");
  g_autoptr(GError) error = NULL;
  if (!*title) return;
  if (!distill_history_rename_chat(self->history, *id, title, &error)) toast(self, error->message);
  else if (*id == self->chat_id) set_title(self, title);
}

static void rename_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  if (!self->chat_id) return;
  AdwMessageDialog *dialog =
    ADW_MESSAGE_DIALOG(adw_message_dialog_new(parent_window(self), _("Rename Chat"), NULL));
  GtkWidget *entry = gtk_entry_new();
  gtk_editable_set_text(GTK_EDITABLE(entry), gtk_label_get_label(self->title_label));
  gtk_entry_set_activates_default(GTK_ENTRY(entry), TRUE);
  gtk_accessible_update_property(GTK_ACCESSIBLE(entry), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Chat name"), -1);
  adw_message_dialog_set_extra_child(dialog, entry);
  adw_message_dialog_add_responses(dialog, "cancel", _("_Cancel"), "rename", _("_Rename"), NULL);
  adw_message_dialog_set_response_appearance(dialog, "rename", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response(dialog, "rename");
  adw_message_dialog_set_close_response(dialog, "cancel");
  g_object_set_data_full(G_OBJECT(dialog), "chat-id", g_memdup2(&self->chat_id, sizeof self->chat_id), g_free);
  g_signal_connect_object(dialog, "response", G_CALLBACK(on_rename_response), self, 0);
  gtk_window_present(GTK_WINDOW(dialog));
  gtk_widget_grab_focus(entry);
}

static void on_delete_response(AdwMessageDialog *dialog, const char *response, DistillChatPage *self)
{
  if (g_strcmp0(response, "delete") != 0) return;
  gint64 *id = g_object_get_data(G_OBJECT(dialog), "chat-id");
  g_autoptr(GError) error = NULL;
  if (!distill_history_delete_chat(self->history, *id, &error)) {
    toast(self, error->message);
    return;
  }
  distill_engine_forget_chat(self->engine, *id); /* its saved prefix holds the chat's tokens */
  if (*id == self->chat_id) new_chat(self);
}

static void delete_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  if (!self->chat_id || self->gen) return;
  g_autofree char *body = g_strdup_printf(_("“%s” and all its messages will be deleted. This cannot be undone."),
                                          gtk_label_get_label(self->title_label));
  AdwMessageDialog *dialog =
    ADW_MESSAGE_DIALOG(adw_message_dialog_new(parent_window(self), _("Delete This Chat?"), body));
  adw_message_dialog_add_responses(dialog, "cancel", _("_Cancel"), "delete", _("_Delete"), NULL);
  adw_message_dialog_set_response_appearance(dialog, "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response(dialog, "cancel");
  adw_message_dialog_set_close_response(dialog, "cancel");
  g_object_set_data_full(G_OBJECT(dialog), "chat-id", g_memdup2(&self->chat_id, sizeof self->chat_id), g_free);
  g_signal_connect_object(dialog, "response", G_CALLBACK(on_delete_response), self, 0);
  gtk_window_present(GTK_WINDOW(dialog));
}

static void on_exported(GObject *source, GAsyncResult *res, gpointer data)
{
  g_autoptr(DistillChatPage) self = data;
  g_autoptr(GError) error = NULL;
  if (!g_file_replace_contents_finish(G_FILE(source), res, NULL, &error)) {
    g_autofree char *msg = g_strdup_printf(_("Could not export the chat: %s"), error->message);
    toast(self, msg);
    return;
  }
  toast(self, _("Chat exported"));
}

static void on_export_response(GtkNativeDialog *dialog, int response, DistillChatPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT) {
    g_autoptr(GFile) file = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(dialog));
    gboolean json = GPOINTER_TO_INT(g_object_get_data(G_OBJECT(dialog), "json"));
    gint64 *id = g_object_get_data(G_OBJECT(dialog), "chat-id");
    g_autoptr(GError) error = NULL;
    char *text = json ? distill_history_export_json(self->history, *id, &error)
                      : distill_history_export_markdown(self->history, *id, &error);
    if (!text) {
      toast(self, error->message);
    } else {
      GBytes *bytes = g_bytes_new_take(text, strlen(text));
      g_file_replace_contents_bytes_async(file, bytes, NULL, FALSE, G_FILE_CREATE_REPLACE_DESTINATION, NULL,
                                          on_exported, g_object_ref(self));
      g_bytes_unref(bytes);
    }
  }
  gtk_native_dialog_destroy(dialog);
  g_object_unref(dialog);
}

static void export_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  if (!self->chat_id) return;
  gboolean json = g_str_equal(g_variant_get_string(param, NULL), "json");
  GtkFileChooserNative *dialog =
    gtk_file_chooser_native_new(json ? _("Export Chat as JSON") : _("Export Chat as Markdown"), parent_window(self),
                                GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  /* a file name from the title, without characters file systems dislike */
  g_autofree char *base = g_strdup(gtk_label_get_label(self->title_label));
  g_strdelimit(base, "/\\:*?\"<>|", '-');
  g_autofree char *file_name = g_strconcat(base, json ? ".json" : ".md", NULL);
  gtk_file_chooser_set_current_name(GTK_FILE_CHOOSER(dialog), file_name);
  g_object_set_data(G_OBJECT(dialog), "json", GINT_TO_POINTER(json));
  g_object_set_data_full(G_OBJECT(dialog), "chat-id", g_memdup2(&self->chat_id, sizeof self->chat_id), g_free);
  gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(dialog), TRUE);
  g_signal_connect_object(dialog, "response", G_CALLBACK(on_export_response), self, 0);
  gtk_native_dialog_show(GTK_NATIVE_DIALOG(dialog));
}

static void reset_settings_action(GtkWidget *widget, const char *name, GVariant *param)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  int used = self->cs.context_used;
  settings_defaults(self, &self->cs);
  self->cs.context_used = used;
  settings_to_ui(self);
  save_settings(self);
  update_context_meter(self, used);
}

/* ==== keys ================================================================================ */

/* Enter sends, Shift+Enter is a new line; while an input method composes
 * (Chinese, Japanese …) Enter belongs to it. */
static gboolean on_composer_key(GtkEventControllerKey *ctl, guint keyval, guint keycode, GdkModifierType state,
                                DistillChatPage *self)
{
  if (keyval != GDK_KEY_Return && keyval != GDK_KEY_KP_Enter && keyval != GDK_KEY_ISO_Enter) return FALSE;
  if (state & (GDK_SHIFT_MASK | GDK_CONTROL_MASK | GDK_ALT_MASK)) return FALSE;
  if (self->preedit) return FALSE;
  gtk_widget_activate_action(GTK_WIDGET(self), "chat.send", NULL);
  return TRUE;
}

static void on_preedit_changed(GtkTextView *view, const char *preedit, DistillChatPage *self)
{
  self->preedit = preedit && *preedit;
}

static gboolean escape_pressed(GtkWidget *widget, GVariant *args, gpointer data)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(widget);
  if (self->gen) {
    stop_generation(self);
    return TRUE;
  }
  if (self->editing_id) {
    cancel_edit(self);
    return TRUE;
  }
  return FALSE;
}

static gboolean shortcut_new_chat(GtkWidget *widget, GVariant *args, gpointer data)
{
  DistillChatPage *self = data;
  gtk_widget_activate_action(GTK_WIDGET(self), "win.view", "s", "chat");
  new_chat(self);
  return TRUE;
}

static gboolean shortcut_search(GtkWidget *widget, GVariant *args, gpointer data)
{
  DistillChatPage *self = data;
  if (!gtk_widget_get_mapped(GTK_WIDGET(self)) ||
      gtk_stack_get_visible_child(self->main_stack) != GTK_WIDGET(self->toast_overlay))
    return FALSE;
  gtk_widget_activate_action(GTK_WIDGET(self), "chat.search", NULL);
  return TRUE;
}

/* ==== object ============================================================================== */

GtkWidget *distill_chat_page_new(DistillEngine *engine, DistillHistory *history)
{
  return g_object_new(DISTILL_TYPE_CHAT_PAGE, "engine", engine, "history", history, NULL);
}

DistillEngine *distill_chat_page_get_engine(DistillChatPage *self)
{
  g_return_val_if_fail(DISTILL_IS_CHAT_PAGE(self), NULL);
  return self->engine;
}

DistillHistory *distill_chat_page_get_history(DistillChatPage *self)
{
  g_return_val_if_fail(DISTILL_IS_CHAT_PAGE(self), NULL);
  return self->history;
}

gint64 distill_chat_page_get_chat_id(DistillChatPage *self)
{
  g_return_val_if_fail(DISTILL_IS_CHAT_PAGE(self), 0);
  return self->chat_id;
}

gboolean distill_chat_page_is_generating(DistillChatPage *self)
{
  g_return_val_if_fail(DISTILL_IS_CHAT_PAGE(self), FALSE);
  return self->gen != NULL;
}

static void on_map(DistillChatPage *self)
{
  /* a download may have finished while another view was shown */
  g_autoptr(GPtrArray) models = find_models(self);
  update_state(self);
}

static void load_css(void)
{
  static gboolean done;
  GdkDisplay *display = gdk_display_get_default();
  if (done || !display) return;
  done = TRUE;
  GtkCssProvider *css = gtk_css_provider_new();
  gtk_css_provider_load_from_resource(css, "/io/github/distillapp/Distill/distill-chat.css");
  gtk_style_context_add_provider_for_display(display, GTK_STYLE_PROVIDER(css),
                                             GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_unref(css);
}

static void distill_chat_page_constructed(GObject *object)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(object);
  G_OBJECT_CLASS(distill_chat_page_parent_class)->constructed(object);

  if (!self->engine) self->engine = g_object_ref(distill_engine_get_default());
  if (!self->history) {
    g_autofree char *path = distill_history_default_path();
    self->history = distill_history_open(path, &self->history_error);
    if (!self->history) self->history = distill_history_open(":memory:", NULL);
  }
  g_signal_connect_object(self->history, "chats-changed", G_CALLBACK(rebuild_chat_list), self, G_CONNECT_SWAPPED);
  g_signal_connect_object(self->engine, "notify::state", G_CALLBACK(on_engine_state), self, 0);
  g_signal_connect_object(self->engine, "notify::load-progress", G_CALLBACK(on_load_progress), self, 0);

  settings_defaults(self, &self->cs);
  settings_to_ui(self);
  rebuild_chat_list(self);
  g_autoptr(GPtrArray) models = find_models(self);

  /* the model of last time comes back (unless one is loaded or loading) */
  g_autofree char *last = g_settings_get_string(self->settings, "last-model");
  const char *slash = g_str_has_prefix(last, "remote:") ? strchr(last, '/') : NULL;
  if (distill_engine_get_state(self->engine) == DISTILL_ENGINE_EMPTY && last && *last) {
    g_autofree char *endpoint_id = slash ? g_strndup(last + 7, (gsize)(slash - last - 7)) : NULL;
    g_autoptr(DistillRemoteEndpoint) e = endpoint_id ? distill_remote_endpoint_find(self->settings, endpoint_id) : NULL;
    if (e) distill_chat_page_use_remote_model(self, e->id, slash + 1);
    else if (g_file_test(last, G_FILE_TEST_EXISTS)) distill_chat_page_load_model(self, last);
    else g_settings_set_string(self->settings, "last-model", "");
  }
  set_title(self, NULL);
  update_context_meter(self, 0);
  update_state(self);
  if (self->history_error) {
    g_autofree char *msg = g_strdup_printf(_("Chats will not be saved: %s"), self->history_error->message);
    toast(self, msg);
  }
}

static void distill_chat_page_dispose(GObject *object)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(object);
  if (self->gen) {
    /* keep what was written: the answer is stored as stopped */
    g_signal_handlers_disconnect_by_data(self->gen, self);
    distill_generation_stop(self->gen);
    if (self->stream_msg) {
      self->stream_msg->state = DISTILL_MESSAGE_STOPPED;
      persist_stream(self);
    }
    g_clear_object(&self->gen);
  }
  g_clear_handle_id(&self->save_source, g_source_remove);
  g_clear_object(&self->stream_row);
  g_clear_pointer(&self->stream_msg, distill_message_free);
  g_cancellable_cancel(self->load_cancellable);
  g_clear_object(&self->load_cancellable);
  if (self->picker) {
    g_signal_handlers_disconnect_by_data(self->picker, self);
    distill_model_picker_cancel(self->picker);
  }
  g_clear_object(&self->picker);
  clear_remote(self);
  /* the engine and the history outlive the page: no more calls into it */
  if (self->engine) g_signal_handlers_disconnect_by_data(self->engine, self);
  if (self->history) g_signal_handlers_disconnect_by_data(self->history, self);
  /* (AdwBin disposes its child, the template's root: no gtk_widget_dispose_template) */
  g_clear_object(&self->engine);
  g_clear_object(&self->history);
  g_clear_object(&self->settings);
  G_OBJECT_CLASS(distill_chat_page_parent_class)->dispose(object);
}

static void distill_chat_page_finalize(GObject *object)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(object);
  distill_chat_settings_clear(&self->cs);
  g_free(self->loading_path);
  g_string_free(self->stream_text, TRUE);
  g_clear_error(&self->history_error);
  G_OBJECT_CLASS(distill_chat_page_parent_class)->finalize(object);
}

static void distill_chat_page_get_property(GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(object);
  switch (prop_id) {
  case PROP_ENGINE: g_value_set_object(value, self->engine); break;
  case PROP_HISTORY: g_value_set_object(value, self->history); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void distill_chat_page_set_property(GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  DistillChatPage *self = DISTILL_CHAT_PAGE(object);
  switch (prop_id) {
  case PROP_ENGINE: self->engine = g_value_dup_object(value); break;
  case PROP_HISTORY: self->history = g_value_dup_object(value); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

/* for the template: the title hides when the sidebar is folded away */
static gboolean distill_not(gpointer unused, gboolean value)
{
  return !value;
}

static void distill_chat_page_class_init(DistillChatPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);

  object_class->constructed = distill_chat_page_constructed;
  object_class->dispose = distill_chat_page_dispose;
  object_class->finalize = distill_chat_page_finalize;
  object_class->get_property = distill_chat_page_get_property;
  object_class->set_property = distill_chat_page_set_property;

  props[PROP_ENGINE] = g_param_spec_object("engine", NULL, NULL, DISTILL_TYPE_ENGINE,
                                           G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_HISTORY] = g_param_spec_object("history", NULL, NULL, DISTILL_TYPE_HISTORY,
                                            G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties(object_class, N_PROPS, props);

  g_type_ensure(DISTILL_TYPE_MESSAGE_ROW);
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-chat-page.ui");
#define BIND(name) gtk_widget_class_bind_template_child(widget_class, DistillChatPage, name)
  BIND(main_stack);
  BIND(toast_overlay);
  BIND(leaflet);
  BIND(sidebar);
  BIND(content);
  BIND(search_button);
  BIND(search_bar);
  BIND(search_entry);
  BIND(chat_list);
  BIND(model_button);
  BIND(model_popover);
  BIND(model_list);
  BIND(model_label);
  BIND(title_label);
  BIND(context_box);
  BIND(context_label);
  BIND(context_bar);
  BIND(settings_popover);
  BIND(temperature_spin);
  BIND(top_p_spin);
  BIND(max_tokens_spin);
  BIND(context_spin);
  BIND(budget_spin);
  BIND(system_view);
  BIND(load_revealer);
  BIND(load_bar);
  BIND(context_warning);
  BIND(context_warning_label);
  BIND(content_stack);
  BIND(scroller);
  BIND(messages_box);
  BIND(edit_revealer);
  BIND(composer_view);
  BIND(send_stack);
  BIND(back_button);
  BIND(send_button);
  BIND(stop_button);
#undef BIND

  gtk_widget_class_bind_template_callback(widget_class, distill_not);

  gtk_widget_class_install_action(widget_class, "chat.send", NULL, send_action);
  gtk_widget_class_install_action(widget_class, "chat.retry", NULL, retry_action);
  gtk_widget_class_install_action(widget_class, "chat.stop", NULL, stop_action);
  gtk_widget_class_install_action(widget_class, "chat.new", NULL, new_chat_action);
  gtk_widget_class_install_action(widget_class, "chat.search", NULL, search_action);
  gtk_widget_class_install_action(widget_class, "chat.rename", NULL, rename_action);
  gtk_widget_class_install_action(widget_class, "chat.delete", NULL, delete_action);
  gtk_widget_class_install_action(widget_class, "chat.export", "s", export_action);
  gtk_widget_class_install_action(widget_class, "chat.open-model-file", NULL, open_model_file_action);
  gtk_widget_class_install_action(widget_class, "chat.reset-settings", NULL, reset_settings_action);
  gtk_widget_class_install_action(widget_class, "chat.cancel-edit", NULL, cancel_edit_action);
  gtk_widget_class_add_binding(widget_class, GDK_KEY_Escape, 0, escape_pressed, NULL);
}

static void back_clicked(DistillChatPage *self)
{
  adw_leaflet_set_visible_child(self->leaflet, self->sidebar);
}

static void distill_chat_page_init(DistillChatPage *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  load_css();
  self->settings = g_settings_new(APP_ID);
  self->picker = distill_model_picker_new(self->model_list, self->settings);
  g_signal_connect(self->picker, "local-chosen", G_CALLBACK(on_local_chosen), self);
  g_signal_connect(self->picker, "remote-chosen", G_CALLBACK(on_remote_chosen), self);
  g_signal_connect_object(self->settings, "changed::remote-endpoints", G_CALLBACK(update_state), self, G_CONNECT_SWAPPED);
  self->stream_text = g_string_new(NULL);
  self->stick_to_bottom = TRUE;

  /* names for tests and accessibility tools that look widgets up */
  gtk_widget_set_name(GTK_WIDGET(self->composer_view), "composer");
  gtk_widget_set_name(self->send_button, "send-button");
  gtk_widget_set_name(self->stop_button, "stop-button");
  gtk_widget_set_name(GTK_WIDGET(self->messages_box), "messages");
  gtk_widget_set_name(GTK_WIDGET(self->chat_list), "chat-list");
  gtk_widget_set_name(GTK_WIDGET(self->max_tokens_spin), "max-tokens");
  gtk_widget_set_name(GTK_WIDGET(self->context_spin), "context-size");
  gtk_widget_set_name(GTK_WIDGET(self->budget_spin), "reasoning-budget");
  gtk_widget_set_name(GTK_WIDGET(self->temperature_spin), "temperature");

  GtkEventController *keys = gtk_event_controller_key_new();
  gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
  g_signal_connect(keys, "key-pressed", G_CALLBACK(on_composer_key), self);
  gtk_widget_add_controller(GTK_WIDGET(self->composer_view), keys);
  g_signal_connect(self->composer_view, "preedit-changed", G_CALLBACK(on_preedit_changed), self);

  /* Ctrl+N and Ctrl+F work anywhere in the window (managed by it) */
  GtkEventController *shortcuts = gtk_shortcut_controller_new();
  gtk_shortcut_controller_set_scope(GTK_SHORTCUT_CONTROLLER(shortcuts), GTK_SHORTCUT_SCOPE_MANAGED);
  gtk_shortcut_controller_add_shortcut(GTK_SHORTCUT_CONTROLLER(shortcuts),
                                       gtk_shortcut_new(gtk_shortcut_trigger_parse_string("<Control>n"),
                                                        gtk_callback_action_new(shortcut_new_chat, self, NULL)));
  gtk_shortcut_controller_add_shortcut(GTK_SHORTCUT_CONTROLLER(shortcuts),
                                       gtk_shortcut_new(gtk_shortcut_trigger_parse_string("<Control>f"),
                                                        gtk_callback_action_new(shortcut_search, self, NULL)));
  gtk_widget_add_controller(GTK_WIDGET(self), shortcuts);

  g_signal_connect_swapped(self->back_button, "clicked", G_CALLBACK(back_clicked), self);
  g_signal_connect(self->chat_list, "row-activated", G_CALLBACK(on_chat_activated), self);
  g_signal_connect(self->chat_list, "row-selected", G_CALLBACK(on_chat_selected), self);
  g_signal_connect_swapped(self->search_entry, "search-changed", G_CALLBACK(on_search_changed), self);
  g_signal_connect_swapped(self->search_bar, "notify::search-mode-enabled", G_CALLBACK(on_search_changed), self);
  g_signal_connect(self->model_popover, "show", G_CALLBACK(on_model_popover_shown), self);
  g_signal_connect_swapped(self->settings_popover, "closed", G_CALLBACK(settings_closed), self);
  g_signal_connect(self, "map", G_CALLBACK(on_map), NULL);
  gtk_search_bar_set_key_capture_widget(self->search_bar, NULL);

  GtkAdjustment *adj = gtk_scrolled_window_get_vadjustment(self->scroller);
  g_signal_connect(adj, "value-changed", G_CALLBACK(on_scroll_value), self);
  g_signal_connect(adj, "notify::upper", G_CALLBACK(on_scroll_upper), self);

  /* the meter's colours are ours (context-warning / context-full), not the
   * level bar's battery-style low/high offsets */
  gtk_level_bar_remove_offset_value(self->context_bar, GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value(self->context_bar, GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value(self->context_bar, GTK_LEVEL_BAR_OFFSET_FULL);
}
