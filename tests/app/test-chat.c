/* test-chat.c — the real chat page in a window, with stories260K (no chat
 * template in the file: ChatML is used, which is fine for a story model):
 * type, press Enter, watch the answer stream in, stop, regenerate, edit and
 * resend, rename, search, delete, and find everything again after closing
 * and reopening the page on the same history file.
 *
 * With DISTILL_SCREENSHOTS=DIR set, PNG screenshots of the main states are
 * written there (welcome, streaming, finished, narrow). */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "distill-application.h"
#include "distill-chat-page.h"
#include "distill-chat-settings.h"
#include "distill-message-row.h"
#include "distill-resources.h"
#include "distill-window.h"
#include "test-util.h"

static char *tmp_dir;
static char *db_path;
static char *stories;
static char *tiny_r1; /* tiny random-weight model with the R1-distill template */
static DistillEngine *engine;

/* ---- driving the main loop ---- */

/* ---- finding widgets as a person would: by what they are called ---- */

static GtkWidget *find_named(GtkWidget *root, const char *name)
{
  if (g_strcmp0(gtk_widget_get_name(root), name) == 0) return root;
  for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *w = find_named(c, name);
    if (w) return w;
  }
  return NULL;
}

static GtkWidget *find_type(GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE(root, type)) return root;
  for (GtkWidget *c = gtk_widget_get_first_child(root); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *w = find_type(c, type);
    if (w) return w;
  }
  return NULL;
}

static GPtrArray *rows_of(GtkWidget *page)
{
  GtkWidget *box = find_named(page, "messages");
  g_assert_nonnull(box);
  GPtrArray *rows = g_ptr_array_new();
  for (GtkWidget *c = gtk_widget_get_first_child(box); c; c = gtk_widget_get_next_sibling(c))
    if (DISTILL_IS_MESSAGE_ROW(c)) g_ptr_array_add(rows, c);
  return rows;
}

static DistillMessageRow *last_row(GtkWidget *page)
{
  g_autoptr(GPtrArray) rows = rows_of(page);
  return rows->len ? rows->pdata[rows->len - 1] : NULL;
}

/* ---- screenshots ---- */

/* window: a GtkNative (a window, or a popover: those are surfaces of their own) */
static void screenshot(GtkWidget *window, const char *name)
{
  const char *dir = g_getenv("DISTILL_SCREENSHOTS");
  if (!dir) return;
  spin(300); /* let the last frames land */
  g_mkdir_with_parents(dir, 0755);
  GdkPaintable *paintable = gtk_widget_paintable_new(window);
  int w = gtk_widget_get_width(window), h = gtk_widget_get_height(window);
  GtkSnapshot *snapshot = gtk_snapshot_new();
  gdk_paintable_snapshot(paintable, snapshot, w, h);
  GskRenderNode *node = gtk_snapshot_free_to_node(snapshot);
  GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(window));
  GdkTexture *texture = gsk_renderer_render_texture(renderer, node, &GRAPHENE_RECT_INIT(0, 0, w, h));
  g_autofree char *file = g_strdup_printf("%s/%s.png", dir, name);
  gdk_texture_save_to_png(texture, file);
  g_test_message("screenshot %s", file);
  g_object_unref(texture);
  gsk_render_node_unref(node);
  g_object_unref(paintable);
}

/* ---- the page in a window ---- */

static gboolean is_mapped(gpointer w) { return gtk_widget_get_mapped(GTK_WIDGET(w)); }

static gboolean engine_ready(gpointer data)
{
  return distill_engine_get_state(engine) == DISTILL_ENGINE_READY;
}

static GtkWidget *open_page(DistillHistory *history, GtkWidget **window_out, int width)
{
  GtkWidget *win = adw_window_new();
  gtk_window_set_default_size(GTK_WINDOW(win), width, 720);
  GtkWidget *page = distill_chat_page_new(engine, history);
  adw_window_set_content(ADW_WINDOW(win), page);
  gtk_window_present(GTK_WINDOW(win));
  g_assert_true(wait_for(is_mapped, page, 5000));
  spin(100);
  *window_out = win;
  return page;
}

static gboolean window_gone(gpointer weak) { return *(gpointer *)weak == NULL; }

static void close_window(GtkWidget *win)
{
  gpointer weak = win;
  g_object_add_weak_pointer(G_OBJECT(win), &weak);
  gtk_window_destroy(GTK_WINDOW(win));
  g_assert_true(wait_for(window_gone, &weak, 5000));
}

static DistillHistory *open_history(void)
{
  g_autoptr(GError) error = NULL;
  DistillHistory *h = distill_history_open(db_path, &error);
  g_assert_no_error(error);
  return h;
}

static void type_text(GtkWidget *page, const char *text)
{
  GtkTextView *composer = GTK_TEXT_VIEW(find_named(page, "composer"));
  g_assert_nonnull(composer);
  gtk_widget_grab_focus(GTK_WIDGET(composer));
  gtk_text_buffer_set_text(gtk_text_view_get_buffer(composer), text, -1);
}

static char *composer_text(GtkWidget *page)
{
  GtkTextBuffer *buf = gtk_text_view_get_buffer(GTK_TEXT_VIEW(find_named(page, "composer")));
  GtkTextIter a, b;
  gtk_text_buffer_get_bounds(buf, &a, &b);
  return gtk_text_buffer_get_text(buf, &a, &b, FALSE);
}

/* Press a key in the composer: the key event goes to its capture-phase key
 * controller (GTK 4 has no public way to synthesize a whole key event). */
static gboolean press_key(GtkWidget *page, guint keyval, GdkModifierType mods)
{
  GtkWidget *composer = find_named(page, "composer");
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers(composer);
  for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
    g_autoptr(GtkEventController) c = g_list_model_get_item(controllers, i);
    if (GTK_IS_EVENT_CONTROLLER_KEY(c) && gtk_event_controller_get_propagation_phase(c) == GTK_PHASE_CAPTURE) {
      gboolean handled = FALSE;
      g_signal_emit_by_name(c, "key-pressed", keyval, 0, mods, &handled);
      return handled;
    }
  }
  g_assert_not_reached();
  return FALSE;
}


/* Press a shortcut of the page (its own shortcut controllers, as the window
 * would when the keys are pressed). Returns whether it was handled. */
static gboolean press_shortcut(GtkWidget *page, const char *keys)
{
  g_autoptr(GtkShortcutTrigger) want = gtk_shortcut_trigger_parse_string(keys);
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers(page);
  for (guint i = 0; i < g_list_model_get_n_items(controllers); i++) {
    g_autoptr(GtkEventController) c = g_list_model_get_item(controllers, i);
    if (!GTK_IS_SHORTCUT_CONTROLLER(c)) continue;
    for (guint k = 0; k < g_list_model_get_n_items(G_LIST_MODEL(c)); k++) {
      g_autoptr(GtkShortcut) sc = g_list_model_get_item(G_LIST_MODEL(c), k);
      if (gtk_shortcut_trigger_equal(gtk_shortcut_get_trigger(sc), want))
        return gtk_shortcut_action_activate(gtk_shortcut_get_action(sc), GTK_SHORTCUT_ACTION_EXCLUSIVE, page,
                                            gtk_shortcut_get_arguments(sc));
    }
  }
  g_error("no shortcut %s on the page", keys);
  return FALSE;
}

static void got_text(GObject *source, GAsyncResult *res, gpointer data)
{
  *(char **)data = gdk_clipboard_read_text_finish(GDK_CLIPBOARD(source), res, NULL);
  if (!*(char **)data) *(char **)data = g_strdup("");
}

static gboolean have_text(gpointer data) { return *(char **)data != NULL; }

static char *clipboard_text(GtkWidget *w)
{
  char *text = NULL;
  gdk_clipboard_read_text_async(gtk_widget_get_clipboard(w), NULL, got_text, &text);
  g_assert_true(wait_for(have_text, &text, 5000));
  return text;
}
static gboolean not_generating(gpointer page) { return !distill_chat_page_is_generating(page); }

static gboolean has_streamed_text(gpointer page)
{
  DistillMessageRow *row = last_row(page);
  return row && g_str_equal(distill_message_row_get_role(row), "assistant") &&
         strlen(distill_message_row_get_text(row)) > 0;
}

static GPtrArray *stored_messages(DistillChatPage *page)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *msgs = distill_history_get_messages(distill_chat_page_get_history(page),
                                                 distill_chat_page_get_chat_id(page), &error);
  g_assert_no_error(error);
  return msgs;
}

static const char *main_view(GtkWidget *page)
{
  GtkStack *stack = GTK_STACK(find_type(page, GTK_TYPE_STACK));
  return gtk_stack_get_visible_child_name(stack);
}

/* ---- tests ---- */

/* First launch: no model, no models folder content, no chats → welcome. */
static void test_welcome(void)
{
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_settings_set_string(settings, "last-model", "");
  g_autofree char *empty_dir = g_build_filename(tmp_dir, "no-models", NULL);
  g_settings_set_string(settings, "models-folder", empty_dir);
  g_autofree char *path = g_build_filename(tmp_dir, "welcome.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  g_autoptr(DistillEngine) empty = distill_engine_new();

  GtkWidget *win = adw_window_new();
  gtk_window_set_default_size(GTK_WINDOW(win), 1000, 720);
  GtkWidget *page = distill_chat_page_new(empty, h);
  adw_window_set_content(ADW_WINDOW(win), page);
  gtk_window_present(GTK_WINDOW(win));
  g_assert_true(wait_for(is_mapped, page, 5000));
  g_assert_cmpstr(main_view(page), ==, "welcome");
  /* its button opens the Library view of the window */
  GtkWidget *button = find_type(page, GTK_TYPE_BUTTON);
  g_assert_cmpstr(gtk_actionable_get_action_name(GTK_ACTIONABLE(button)), ==, "win.view");
  screenshot(win, "welcome-page-alone");
  close_window(win);
}


static gboolean is_view(gpointer data)
{
  return g_strcmp0(distill_window_get_view(data), "library") == 0;
}

/* In the app's window, first launch shows the welcome page, and its button
 * opens the Library view. */
static void test_welcome_in_window(void)
{
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_settings_set_string(settings, "last-model", "");
  g_autofree char *empty_dir = g_build_filename(tmp_dir, "no-models", NULL);
  g_settings_set_string(settings, "models-folder", empty_dir);
  g_settings_set_string(settings, "last-view", "chat");

  g_autoptr(DistillApplication) app = distill_application_new();
  g_application_set_flags(G_APPLICATION(app), G_APPLICATION_NON_UNIQUE);
  g_assert_true(g_application_register(G_APPLICATION(app), NULL, NULL));
  DistillWindow *win = distill_window_new(app);
  gtk_window_set_default_size(GTK_WINDOW(win), 1000, 720);
  gtk_window_present(GTK_WINDOW(win));
  g_assert_true(wait_for(is_mapped, win, 5000));
  GtkWidget *page = find_type(GTK_WIDGET(win), DISTILL_TYPE_CHAT_PAGE);
  g_assert_nonnull(page);
  g_assert_cmpstr(main_view(page), ==, "welcome");
  screenshot(GTK_WIDGET(win), "welcome");
  GtkWidget *button = find_type(page, GTK_TYPE_BUTTON);
  g_assert_true(gtk_widget_is_sensitive(button));
  gtk_widget_activate(button);
  g_assert_true(wait_for(is_view, win, 2000));
  g_settings_set_string(settings, "last-view", "chat");
  close_window(GTK_WIDGET(win));
}

static void test_conversation(void)
{
  if (!stories) {
    g_test_skip("fixtures not found (set STILL_FIXTURES_DIR)");
    return;
  }
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_settings_set_string(settings, "last-model", stories);
  g_autoptr(DistillHistory) history = open_history();
  GtkWidget *win;
  GtkWidget *page = open_page(history, &win, 1000);
  DistillChatPage *cp = DISTILL_CHAT_PAGE(page);
  /* the last model comes back by itself */
  g_assert_true(wait_for(engine_ready, NULL, 30000));
  g_assert_cmpstr(main_view(page), ==, "chat");
  screenshot(win, "empty-chat");

  /* the model picker lists the model in use; the settings open and close */
  GtkMenuButton *model_button = GTK_MENU_BUTTON(find_type(page, GTK_TYPE_MENU_BUTTON));
  gtk_menu_button_popup(model_button);
  spin(200);
  GtkPopover *popover = gtk_menu_button_get_popover(model_button);
  g_assert_true(gtk_widget_get_visible(GTK_WIDGET(popover)));
  GtkWidget *model_row = find_type(GTK_WIDGET(popover), ADW_TYPE_ACTION_ROW);
  g_assert_nonnull(model_row);
  g_autofree char *stories_name = g_path_get_basename(stories);
  g_assert_true(g_str_has_prefix(stories_name, adw_preferences_row_get_title(ADW_PREFERENCES_ROW(model_row))));
  screenshot(GTK_WIDGET(popover), "model-picker");
  gtk_menu_button_popdown(model_button);
  GtkWidget *settings_spin = find_named(page, "max-tokens");
  GtkMenuButton *settings_button = GTK_MENU_BUTTON(gtk_widget_get_ancestor(settings_spin, GTK_TYPE_POPOVER) ?
    gtk_widget_get_parent(gtk_widget_get_ancestor(settings_spin, GTK_TYPE_POPOVER)) : NULL);
  g_assert_true(GTK_IS_MENU_BUTTON(settings_button));
  gtk_menu_button_popup(settings_button);
  spin(200);
  screenshot(GTK_WIDGET(gtk_menu_button_get_popover(settings_button)), "settings");
  gtk_menu_button_popdown(settings_button);
  spin(100);

  /* Shift+Enter is a new line, not a send */
  type_text(page, "Once upon a time");
  g_assert_false(press_key(page, GDK_KEY_Return, GDK_SHIFT_MASK));
  g_assert_false(distill_chat_page_is_generating(cp));

  /* Enter sends; the answer streams into the last row */
  g_object_set(engine, "ignore-eog", TRUE, NULL); /* long enough to watch it stream */
  g_assert_true(press_key(page, GDK_KEY_Return, 0));
  g_assert_true(distill_chat_page_is_generating(cp));
  g_autofree char *left = composer_text(page);
  g_assert_cmpstr(left, ==, ""); /* the composer is cleared */
  g_assert_true(gtk_widget_get_visible(find_named(page, "stop-button")));
  g_assert_true(wait_for(has_streamed_text, page, 30000));
  g_assert_true(distill_chat_page_is_generating(cp));
  screenshot(win, "streaming");
  /* the chat got its title from the question and is listed */
  g_assert_cmpint(distill_chat_page_get_chat_id(cp), >, 0);
  GtkListBox *list = GTK_LIST_BOX(find_named(page, "chat-list"));
  g_assert_nonnull(gtk_list_box_get_row_at_index(list, 0));
  g_autoptr(DistillChatInfo) info = distill_history_get_chat(history, distill_chat_page_get_chat_id(cp), NULL);
  g_assert_cmpstr(info->title, ==, "Once upon a time");

  /* Stop (the button, as a person would) */
  gtk_widget_activate(find_named(page, "stop-button"));
  g_assert_true(wait_for(not_generating, page, 10000));
  {
    g_autoptr(GPtrArray) msgs = stored_messages(cp);
    g_assert_cmpuint(msgs->len, ==, 2);
    DistillMessage *a = msgs->pdata[1];
    g_assert_cmpstr(a->role, ==, "assistant");
    g_assert_cmpint(a->state, ==, DISTILL_MESSAGE_STOPPED);
    g_assert_cmpuint(strlen(a->content), >, 0);
    g_assert_cmpint(a->gen_tokens, >, 0);
    /* what the row shows is what was stored */
    g_assert_cmpstr(distill_message_row_get_text(last_row(page)), ==, a->content);
  }
  g_assert_true(gtk_widget_get_visible(find_named(page, "send-button")));

  /* Regenerate the last answer: the question stays, a new answer replaces
   * the old. (A story model seldom ends by itself: limit the answer in the
   * chat's settings.) */
  g_object_set(engine, "ignore-eog", FALSE, NULL);
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(find_named(page, "max-tokens")), 48);
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(last_row(page)), "row.regenerate", NULL));
  g_assert_true(distill_chat_page_is_generating(cp));
  g_assert_true(wait_for(not_generating, page, 60000));
  {
    g_autoptr(GPtrArray) msgs = stored_messages(cp);
    g_assert_cmpuint(msgs->len, ==, 2);
    DistillMessage *a = msgs->pdata[1];
    g_assert_true(a->state == DISTILL_MESSAGE_COMPLETE || a->state == DISTILL_MESSAGE_CUT);
    g_assert_cmpfloat(a->tok_s, >, 0);
    g_assert_cmpfloat(a->ttft_s, >, 0);
    g_assert_cmpstr(a->model, ==, distill_engine_get_model_name(engine));
  }
  g_autoptr(GPtrArray) rows = rows_of(page);
  g_assert_cmpuint(rows->len, ==, 2);
  screenshot(win, "finished");

  /* a second question */
  type_text(page, "Lily saw a big red ball.");
  g_assert_true(press_key(page, GDK_KEY_KP_Enter, 0));
  g_assert_true(wait_for(not_generating, page, 60000));
  {
    g_autoptr(GPtrArray) msgs = stored_messages(cp);
    g_assert_cmpuint(msgs->len, ==, 4);
  }

  /* copy an answer: what the row shows goes to the clipboard */
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(last_row(page)), "row.copy", NULL));
  g_autofree char *copied = clipboard_text(page);
  g_autofree char *shown_answer = distill_message_row_dup_answer(last_row(page));
  g_strstrip(shown_answer);
  g_assert_cmpstr(copied, ==, shown_answer);

  /* Esc stops an answer (and does nothing when none runs) */
  g_assert_false(press_shortcut(page, "Escape"));
  g_object_set(engine, "ignore-eog", TRUE, NULL);
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(find_named(page, "max-tokens")), 0);
  type_text(page, "Then what happened?");
  g_assert_true(press_key(page, GDK_KEY_Return, 0));
  g_assert_true(wait_for(has_streamed_text, page, 30000));
  g_assert_true(press_shortcut(page, "Escape"));
  g_assert_true(wait_for(not_generating, page, 10000));
  {
    g_autoptr(GPtrArray) msgs = stored_messages(cp);
    g_assert_cmpuint(msgs->len, ==, 6);
    g_assert_cmpint(((DistillMessage *)msgs->pdata[5])->state, ==, DISTILL_MESSAGE_STOPPED);
  }
  /* drop that turn again: regenerate-free cleanup through the history */
  {
    g_autoptr(GPtrArray) msgs = stored_messages(cp);
    gint64 chat = distill_chat_page_get_chat_id(cp);
    g_assert_true(distill_history_delete_messages_from(history, ((DistillMessage *)msgs->pdata[4])->id, NULL));
    distill_chat_page_open_chat(cp, chat);
  }
  g_object_set(engine, "ignore-eog", FALSE, NULL);
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(find_named(page, "max-tokens")), 48);

  /* edit the second question and resend: its old answer is replaced */
  g_autoptr(GPtrArray) rows2 = rows_of(page);
  g_assert_cmpuint(rows2->len, ==, 4);
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(rows2->pdata[2]), "row.edit", NULL));
  g_autofree char *editing = composer_text(page);
  g_assert_cmpstr(editing, ==, "Lily saw a big red ball.");
  type_text(page, "Tom had a little dog.");
  g_assert_true(press_key(page, GDK_KEY_Return, 0));
  g_assert_true(wait_for(not_generating, page, 60000));
  {
    g_autoptr(GPtrArray) msgs = stored_messages(cp);
    g_assert_cmpuint(msgs->len, ==, 4);
    g_assert_cmpstr(((DistillMessage *)msgs->pdata[0])->content, ==, "Once upon a time");
    g_assert_cmpstr(((DistillMessage *)msgs->pdata[2])->content, ==, "Tom had a little dog.");
    g_autoptr(GPtrArray) shown = rows_of(page);
    g_assert_cmpuint(shown->len, ==, 4);
  }

  /* remember what is shown, close, and open again on the same file */
  gint64 chat_id = distill_chat_page_get_chat_id(cp);
  g_autoptr(GPtrArray) before = stored_messages(cp);
  close_window(win);
  g_clear_object(&history);

  history = open_history();
  page = open_page(history, &win, 1000);
  cp = DISTILL_CHAT_PAGE(page);
  list = GTK_LIST_BOX(find_named(page, "chat-list"));
  GtkListBoxRow *first = gtk_list_box_get_row_at_index(list, 0);
  g_assert_nonnull(first);
  g_signal_emit_by_name(list, "row-activated", first);
  g_assert_cmpint(distill_chat_page_get_chat_id(cp), ==, chat_id);
  g_autoptr(GPtrArray) again = rows_of(page);
  g_assert_cmpuint(again->len, ==, before->len);
  for (guint i = 0; i < again->len; i++)
    g_assert_cmpstr(distill_message_row_get_text(again->pdata[i]), ==, ((DistillMessage *)before->pdata[i])->content);

  /* Ctrl+N starts a new chat; opening another chat while an answer streams
   * stops it and keeps it, in its own chat */
  g_object_set(engine, "ignore-eog", TRUE, NULL);
  g_assert_true(press_shortcut(page, "<Control>n"));
  g_assert_cmpint(distill_chat_page_get_chat_id(cp), ==, 0);
  g_autoptr(GPtrArray) empty_rows = rows_of(page);
  g_assert_cmpuint(empty_rows->len, ==, 0);
  type_text(page, "A story about a cat");
  g_assert_true(press_key(page, GDK_KEY_Return, 0));
  gint64 cat_chat = distill_chat_page_get_chat_id(cp);
  g_assert_true(wait_for(has_streamed_text, page, 30000));
  distill_chat_page_open_chat(cp, chat_id);
  g_assert_true(wait_for(not_generating, page, 10000));
  g_object_set(engine, "ignore-eog", FALSE, NULL);
  g_autoptr(GPtrArray) still_four = rows_of(page);
  g_assert_cmpuint(still_four->len, ==, 4); /* nothing of the other chat came here */
  {
    g_autoptr(GPtrArray) cat = distill_history_get_messages(history, cat_chat, NULL);
    g_assert_cmpuint(cat->len, ==, 2);
    g_assert_cmpint(((DistillMessage *)cat->pdata[1])->state, ==, DISTILL_MESSAGE_STOPPED);
    g_assert_cmpuint(strlen(((DistillMessage *)cat->pdata[1])->content), >, 0);
  }

  /* narrow: the sidebar folds away */
  gtk_window_set_default_size(GTK_WINDOW(win), 400, 720);
  spin(300);
  AdwLeaflet *leaflet = ADW_LEAFLET(find_type(page, ADW_TYPE_LEAFLET));
  g_assert_true(adw_leaflet_get_folded(leaflet));
  screenshot(win, "narrow");
  gtk_window_set_default_size(GTK_WINDOW(win), 1000, 720);
  spin(200);

  /* search finds the chat by a word of a question */
  g_assert_true(gtk_widget_activate_action(page, "chat.search", NULL));
  GtkWidget *entry = find_type(page, GTK_TYPE_SEARCH_ENTRY);
  gtk_editable_set_text(GTK_EDITABLE(entry), "little dog");
  g_signal_emit_by_name(entry, "search-changed");
  g_assert_nonnull(gtk_list_box_get_row_at_index(list, 0));
  gtk_editable_set_text(GTK_EDITABLE(entry), "zebra crossing");
  g_signal_emit_by_name(entry, "search-changed");
  g_assert_null(gtk_list_box_get_row_at_index(list, 0));
  gtk_editable_set_text(GTK_EDITABLE(entry), "");
  g_signal_emit_by_name(entry, "search-changed");
  g_assert_nonnull(gtk_list_box_get_row_at_index(list, 0));

  close_window(win);
}

/* Answer a message dialog as its button would (the button also closes it). */
static void respond(AdwMessageDialog *dialog, const char *response)
{
  adw_message_dialog_response(dialog, response);
  gtk_window_destroy(GTK_WINDOW(dialog));
  spin(100);
}

/* The message dialog on screen (there is at most one). */
static AdwMessageDialog *find_dialog(void)
{
  GListModel *toplevels = gtk_window_get_toplevels();
  AdwMessageDialog *found = NULL;
  for (guint i = 0; i < g_list_model_get_n_items(toplevels); i++) {
    g_autoptr(GtkWindow) t = g_list_model_get_item(toplevels, i);
    if (ADW_IS_MESSAGE_DIALOG(t) && gtk_widget_get_visible(GTK_WIDGET(t))) {
      g_assert_null(found);
      found = ADW_MESSAGE_DIALOG(t);
    }
  }
  return found;
}

/* Rename and delete go through dialogs; delete asks first. */
static void test_rename_delete(void)
{
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_autofree char *path = g_build_filename(tmp_dir, "rename.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  gint64 id = distill_history_create_chat(h, "Old title", &error);
  g_autoptr(DistillMessage) m = distill_message_new("user", "hello");
  distill_history_add_message(h, id, m, &error);
  GtkWidget *win;
  GtkWidget *page = open_page(h, &win, 1000);
  distill_chat_page_open_chat(DISTILL_CHAT_PAGE(page), id);

  g_assert_true(gtk_widget_activate_action(page, "chat.rename", NULL));
  AdwMessageDialog *dialog = find_dialog();
  g_assert_nonnull(dialog);
  gtk_editable_set_text(GTK_EDITABLE(adw_message_dialog_get_extra_child(dialog)), "New title");
  respond(dialog, "rename");
  g_autoptr(DistillChatInfo) info = distill_history_get_chat(h, id, &error);
  g_assert_cmpstr(info->title, ==, "New title");

  /* cancelling keeps the chat */
  g_assert_true(gtk_widget_activate_action(page, "chat.delete", NULL));
  dialog = find_dialog();
  g_assert_nonnull(dialog);
  respond(dialog, "cancel");
  g_autoptr(DistillChatInfo) still = distill_history_get_chat(h, id, &error);
  g_assert_nonnull(still);

  g_assert_true(gtk_widget_activate_action(page, "chat.delete", NULL));
  dialog = find_dialog();
  respond(dialog, "delete");
  g_assert_null(distill_history_get_chat(h, id, &error));
  g_clear_error(&error);
  g_assert_cmpint(distill_chat_page_get_chat_id(DISTILL_CHAT_PAGE(page)), ==, 0);
  GtkListBox *list = GTK_LIST_BOX(find_named(page, "chat-list"));
  g_assert_null(gtk_list_box_get_row_at_index(list, 0));
  close_window(win);
}

/* A long chat in a small context: the oldest turns are left out, and the
 * chat says so in a notice (stored, so it is there after reopening). */
static void test_context_notice(void)
{
  if (!stories) {
    g_test_skip("fixtures not found (set STILL_FIXTURES_DIR)");
    return;
  }
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  g_settings_set_string(settings, "last-model", stories);
  g_autofree char *path = g_build_filename(tmp_dir, "context.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  gint64 id = distill_history_create_chat(h, "Long", &error);
  g_assert_true(distill_history_set_chat_settings(h, id, "{\"context_size\": 512, \"max_tokens\": 16}", &error));
  const char *para = "The little dog ran to the park and played with a ball. The sun was warm. "
                     "Then a cat came by, and the dog and the cat played together all day long. "
                     "When the sun went down, they went home and had a big bowl of warm milk.";
  for (int t = 0; t < 4; t++) {
    g_autoptr(DistillMessage) q = distill_message_new("user", para);
    g_autoptr(DistillMessage) a = distill_message_new("assistant", para);
    distill_history_add_message(h, id, q, &error);
    distill_history_add_message(h, id, a, &error);
  }
  GtkWidget *win;
  GtkWidget *page = open_page(h, &win, 1000);
  g_assert_true(wait_for(engine_ready, NULL, 30000));
  distill_chat_page_open_chat(DISTILL_CHAT_PAGE(page), id);
  type_text(page, "And then?");
  g_assert_true(press_key(page, GDK_KEY_Return, 0));
  g_assert_true(wait_for(not_generating, page, 60000));
  g_autoptr(GPtrArray) msgs = distill_history_get_messages(h, id, &error);
  gboolean notice = FALSE;
  for (guint i = 0; i < msgs->len; i++) {
    DistillMessage *m = msgs->pdata[i];
    if (g_str_equal(m->role, "notice")) {
      notice = TRUE;
      g_test_message("notice: %s", m->content);
      g_assert_nonnull(strstr(m->content, "no longer fit"));
      /* it comes before the answer it concerns */
      g_assert_cmpuint(i, ==, msgs->len - 2);
    }
  }
  g_assert_true(notice);
  close_window(win);
}


static gboolean model_is(gpointer path)
{
  return distill_engine_get_state(engine) == DISTILL_ENGINE_READY &&
         g_strcmp0(distill_engine_get_model_path(engine), path) == 0;
}

static gboolean reasoning_shown(gpointer page)
{
  DistillMessageRow *row = last_row(page);
  g_autofree char *r = row ? distill_message_row_dup_reasoning(row) : NULL;
  return r && strlen(r) > 20;
}

/* An R1-style model (the tiny random-weight one: its words are noise, its
 * template is the R1 distill's): the stream starts inside the reasoning,
 * which goes to the folded "Thinking…" section; the reasoning budget closes
 * it and the rest is the answer. Switching models loads on the worker. */
static void test_reasoning(void)
{
  if (!stories || !tiny_r1) {
    g_test_skip("fixtures not found (set STILL_FIXTURES_DIR)");
    return;
  }
  g_autofree char *path = g_build_filename(tmp_dir, "reasoning.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillHistory) h = distill_history_open(path, &error);
  GtkWidget *win;
  GtkWidget *page = open_page(h, &win, 1000);
  distill_chat_page_load_model(DISTILL_CHAT_PAGE(page), tiny_r1);
  g_assert_cmpint(distill_engine_get_state(engine), ==, DISTILL_ENGINE_LOADING);
  g_assert_true(wait_for(model_is, tiny_r1, 30000));
  /* one thread, through the load settings the page applies before each answer (Preferences → Models) */
  g_autoptr(GSettings) load_settings = g_settings_new(APP_ID);
  g_settings_set_int(load_settings, "default-cpu-threads", 1);
  g_object_set(engine, "ignore-eog", TRUE, NULL);
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(find_named(page, "reasoning-budget")), 300);
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(find_named(page, "max-tokens")), 500);
  /* greedy: the words of a random-weight model are noise, and sampled
   * noise can hold the end-of-thinking token anywhere (in the first few
   * tokens, or again in the answer), which made this test fail now and then */
  gtk_spin_button_set_value(GTK_SPIN_BUTTON(find_named(page, "temperature")), 0);
  type_text(page, "What is 2+2? Please reason step by step.");
  g_assert_true(press_key(page, GDK_KEY_Return, 0));
  g_assert_true(wait_for(reasoning_shown, page, 30000));
  DistillMessageRow *row = last_row(page);
  g_autofree char *answer_so_far = distill_message_row_dup_answer(row);
  if (distill_chat_page_is_generating(DISTILL_CHAT_PAGE(page)) && !*answer_so_far) screenshot(win, "thinking");
  g_assert_true(wait_for(not_generating, page, 60000));
  row = last_row(page);
  g_autofree char *reasoning = distill_message_row_dup_reasoning(row);
  g_autofree char *answer = distill_message_row_dup_answer(row);
  g_test_message("reasoning (%zu bytes) starts \"%.40s\", answer (%zu bytes) starts \"%.40s\"", strlen(reasoning),
                 reasoning, strlen(answer), answer);
  g_assert_cmpuint(strlen(reasoning), >, 0);
  g_assert_cmpuint(strlen(answer), >, 0);
  g_assert_null(strstr(answer, "</think>"));
  g_assert_cmpfloat(distill_message_row_get_reasoning_seconds(row), >, 0);
  /* the reasoning is folded away */
  GtkExpander *expander = GTK_EXPANDER(find_type(GTK_WIDGET(row), GTK_TYPE_EXPANDER));
  g_assert_true(gtk_widget_get_visible(GTK_WIDGET(expander)));
  g_assert_false(gtk_expander_get_expanded(expander));
  screenshot(win, "reasoning-folded");
  gtk_expander_set_expanded(expander, TRUE);
  screenshot(win, "reasoning-open");
  /* stored whole (reasoning and answer) and marked as starting inside the reasoning */
  g_autoptr(GPtrArray) msgs = stored_messages(DISTILL_CHAT_PAGE(page));
  DistillMessage *a = msgs->pdata[msgs->len - 1];
  g_assert_true(a->starts_in_think);
  g_assert_nonnull(strstr(a->content, "</think>"));
  g_assert_cmpfloat(a->reasoning_s, >, 0);
  g_object_set(engine, "ignore-eog", FALSE, NULL);
  g_settings_reset(load_settings, "default-cpu-threads");
  close_window(win);
}


/* Settings survive a JSON round trip; bad or missing values fall back. */
static void test_settings_json(void)
{
  DistillChatSettings cs = {0};
  distill_chat_settings_load(&cs, NULL, 4096);
  g_assert_cmpfloat(cs.temperature, ==, 0.6);
  g_assert_cmpfloat(cs.top_p, ==, 0.95);
  g_assert_cmpint(cs.n_ctx, ==, 4096);
  g_assert_cmpstr(cs.system_prompt, ==, "");
  cs.temperature = 0.3;
  cs.max_tokens = 900;
  cs.reasoning_budget = 1024;
  g_free(cs.system_prompt);
  cs.system_prompt = g_strdup("Answer in \"French\".");
  g_autofree char *json = distill_chat_settings_to_json(&cs);
  DistillChatSettings back = {0};
  distill_chat_settings_load(&back, json, 2048);
  g_assert_cmpfloat(back.temperature, ==, 0.3);
  g_assert_cmpint(back.max_tokens, ==, 900);
  g_assert_cmpint(back.reasoning_budget, ==, 1024);
  g_assert_cmpint(back.n_ctx, ==, 4096);
  g_assert_cmpstr(back.system_prompt, ==, "Answer in \"French\".");
  distill_chat_settings_load(&back, "{not json", 2048);
  g_assert_cmpint(back.n_ctx, ==, 2048);
  distill_chat_settings_load(&back, "{\"temperature\": 99, \"context_size\": -5}", 2048);
  g_assert_cmpfloat(back.temperature, ==, 2);
  g_assert_cmpint(back.n_ctx, ==, 256);
  distill_chat_settings_clear(&cs);
  distill_chat_settings_clear(&back);
}

/* The model picker lists GGUF files, in subfolders too, one entry per split model. */
static void test_model_files(void)
{
  g_autofree char *dir = g_build_filename(tmp_dir, "models", NULL);
  g_autofree char *sub = g_build_filename(dir, "org", "repo", NULL);
  g_mkdir_with_parents(sub, 0755);
  const char *files[] = {"b-Q4_K_M.gguf", "org/repo/a-Q8_0.gguf", "big-00001-of-00002.gguf", "big-00002-of-00002.gguf",
                         "notes.txt", "c.gguf.part", ".hidden.gguf"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    g_autofree char *p = g_build_filename(dir, files[i], NULL);
    g_assert_true(g_file_set_contents(p, "x", 1, NULL));
  }
  g_autoptr(GPtrArray) found = distill_find_model_files(dir);
  g_assert_cmpuint(found->len, ==, 3);
  g_autofree char *n0 = distill_model_display_name(found->pdata[0]);
  g_autofree char *n1 = distill_model_display_name(found->pdata[1]);
  g_autofree char *n2 = distill_model_display_name(found->pdata[2]);
  g_assert_cmpstr(n0, ==, "a-Q8_0");
  g_assert_cmpstr(n1, ==, "b-Q4_K_M");
  g_assert_cmpstr(n2, ==, "big-00001-of-00002");
  g_autoptr(GPtrArray) none = distill_find_model_files("/nonexistent/folder");
  g_assert_cmpuint(none->len, ==, 0);
}

int main(int argc, char **argv)
{
  /* everything the page writes by default (the app's history) goes to a temporary folder */
  tmp_dir = g_dir_make_tmp("distill-chat-XXXXXX", NULL);
  g_setenv("XDG_DATA_HOME", tmp_dir, TRUE);
  gtk_test_init(&argc, &argv, NULL);
  adw_init();
  distill_register_resource(); /* the app does this; here there is no app */
  gtk_icon_theme_add_resource_path(gtk_icon_theme_get_for_display(gdk_display_get_default()),
                                   "/io/github/distillapp/Distill/icons");
  db_path = g_build_filename(tmp_dir, "history.db", NULL);
  const char *fixtures = g_getenv("STILL_FIXTURES_DIR");
  if (fixtures) {
    stories = g_build_filename(fixtures, "models", "stories260K.gguf", NULL);
    if (!g_file_test(stories, G_FILE_TEST_EXISTS)) g_clear_pointer(&stories, g_free);
    tiny_r1 = g_build_filename(fixtures, "models", "tiny-qwen2-Q8_0.gguf", NULL);
    if (!g_file_test(tiny_r1, G_FILE_TEST_EXISTS)) g_clear_pointer(&tiny_r1, g_free);
  }
  if (!stories && g_strcmp0(g_getenv("CI"), "true") == 0) g_error("the stories260K fixture is missing");
  engine = distill_engine_new();

  g_test_add_func("/chat/settings-json", test_settings_json);
  g_test_add_func("/chat/model-files", test_model_files);
  g_test_add_func("/chat/welcome", test_welcome);
  g_test_add_func("/chat/welcome-in-window", test_welcome_in_window);
  g_test_add_func("/chat/conversation", test_conversation);
  g_test_add_func("/chat/rename-delete", test_rename_delete);
  g_test_add_func("/chat/context-notice", test_context_notice);
  g_test_add_func("/chat/reasoning", test_reasoning);
  int rc = g_test_run();

  g_object_unref(engine);
  test_remove_tree(tmp_dir);
  return rc;
}
