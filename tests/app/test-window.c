/* test-window.c — the main window opens and closes without warnings, keeps
 * its size and view in GSettings, and its actions work. */
#include "config.h"

#include <gtk/gtk.h>

#include "distill-application.h"
#include "distill-chat-page.h"
#include "distill-library-page.h"
#include "distill-preferences.h"
#include "distill-window.h"
#include "test-util.h"

static void iterate(void)
{
  while (g_main_context_pending(NULL)) g_main_context_iteration(NULL, FALSE);
}

static gboolean is_mapped(gpointer w) { return gtk_widget_get_mapped(GTK_WIDGET(w)); }

static void count_paint(GdkFrameClock *clock, guint *n) { (*n)++; }
static gboolean painted(gpointer n) { return *(guint *)n > 0; }

/* Wait until the window has been drawn once: icons, CSS and templates are
 * only loaded when drawing, and any warning they raise is fatal here. */
static void wait_painted(GtkWidget *widget)
{
  guint n = 0;
  GdkFrameClock *clock = gtk_widget_get_frame_clock(widget);
  gulong id = g_signal_connect(clock, "after-paint", G_CALLBACK(count_paint), &n);
  gtk_widget_queue_draw(widget);
  g_assert_true(wait_for(painted, &n, 5000));
  g_signal_handler_disconnect(clock, id);
}

static DistillApplication *app;

static DistillWindow *open_window(void)
{
  DistillWindow *win = distill_window_new(app);
  gtk_window_present(GTK_WINDOW(win));
  g_assert_true(wait_for(is_mapped, win, 5000));
  wait_painted(GTK_WIDGET(win));
  return win;
}

static gboolean window_gone(gpointer weak) { return *(gpointer *)weak == NULL; }

static void close_window(DistillWindow *win)
{
  gpointer weak = win;
  g_object_add_weak_pointer(G_OBJECT(win), &weak);
  gtk_window_close(GTK_WINDOW(win));
  g_assert_true(wait_for(window_gone, &weak, 5000));
}

static void test_open_close(void)
{
  DistillWindow *win = open_window();
  g_assert_cmpstr(gtk_window_get_title(GTK_WINDOW(win)), ==, "Distill");
  g_assert_true(ADW_IS_APPLICATION_WINDOW(win));
  iterate();
  close_window(win);
}

static void test_views(void)
{
  DistillWindow *win = open_window();
  const char *views[] = {"library", "benchmark", "chat"};
  for (guint i = 0; i < G_N_ELEMENTS(views); i++) {
    g_assert_true(gtk_widget_activate_action(GTK_WIDGET(win), "win.view", "s", views[i]));
    wait_painted(GTK_WIDGET(win));
    g_assert_cmpstr(distill_window_get_view(win), ==, views[i]);
  }
  /* an unknown view name changes nothing */
  distill_window_set_view(win, "nonsense");
  g_assert_cmpstr(distill_window_get_view(win), ==, "chat");
  close_window(win);
}

static void test_state_persisted(void)
{
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);

  DistillWindow *win = open_window();
  gtk_window_set_default_size(GTK_WINDOW(win), 812, 633);
  distill_window_set_view(win, "benchmark");
  iterate();
  close_window(win);

  g_assert_cmpint(g_settings_get_int(settings, "window-width"), ==, 812);
  g_assert_cmpint(g_settings_get_int(settings, "window-height"), ==, 633);
  g_assert_cmpstr(g_settings_get_string(settings, "last-view"), ==, "benchmark");

  /* a new window comes back the same */
  win = open_window();
  int w, h;
  gtk_window_get_default_size(GTK_WINDOW(win), &w, &h);
  g_assert_cmpint(w, ==, 812);
  g_assert_cmpint(h, ==, 633);
  g_assert_cmpstr(distill_window_get_view(win), ==, "benchmark");
  distill_window_set_view(win, "chat");
  close_window(win);
}

static void test_actions_registered(void)
{
  g_assert_true(g_action_map_lookup_action(G_ACTION_MAP(app), "about") != NULL);
  g_assert_true(g_action_map_lookup_action(G_ACTION_MAP(app), "quit") != NULL);
  g_auto(GStrv) accels = gtk_application_get_accels_for_action(GTK_APPLICATION(app), "app.quit");
  g_assert_cmpstr(accels[0], ==, "<Control>q");

  DistillWindow *win = open_window();
  /* the shortcuts window comes from gtk/help-overlay.ui in the resources */
  g_assert_true(gtk_application_window_get_help_overlay(GTK_APPLICATION_WINDOW(win)) != NULL);
  /* the about window opens and closes cleanly */
  g_action_group_activate_action(G_ACTION_GROUP(app), "about", NULL);
  iterate();
  GListModel *toplevels = gtk_window_get_toplevels();
  GtkWindow *about = NULL;
  for (guint i = 0; i < g_list_model_get_n_items(toplevels); i++) {
    g_autoptr(GtkWindow) t = g_list_model_get_item(toplevels, i);
    if (ADW_IS_ABOUT_WINDOW(t)) about = t;
  }
  g_assert_nonnull(about);
  g_assert_cmpstr(adw_about_window_get_application_name(ADW_ABOUT_WINDOW(about)), ==, "Distill");
  gtk_window_destroy(about);
  iterate();
  close_window(win);
}


static GtkWidget *find_of_type(GtkWidget *w, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE(w, type)) return w;
  for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *found = find_of_type(c, type);
    if (found) return found;
  }
  return NULL;
}

static GtkWindow *find_toplevel(GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels();
  for (guint i = 0; i < g_list_model_get_n_items(toplevels); i++) {
    g_autoptr(GtkWindow) t = g_list_model_get_item(toplevels, i);
    if (G_TYPE_CHECK_INSTANCE_TYPE(t, type)) return t;
  }
  return NULL;
}

static void test_shortcuts(void)
{
  /* Ctrl+N, Ctrl+F and Ctrl+, are app accelerators: they work from every view */
  struct {
    const char *action, *accel;
  } want[] = {{"win.new-chat", "<Control>n"}, {"win.search", "<Control>f"}, {"app.preferences", "<Control>comma"}};
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    g_auto(GStrv) accels = gtk_application_get_accels_for_action(GTK_APPLICATION(app), want[i].action);
    g_assert_nonnull(accels[0]);
    g_assert_cmpstr(accels[0], ==, want[i].accel);
  }

  DistillWindow *win = open_window();
  GtkWidget *chat = find_of_type(GTK_WIDGET(win), DISTILL_TYPE_CHAT_PAGE);
  g_assert_nonnull(chat);

  /* Ctrl+N from the Library: the Chat view with a new chat, the composer focused */
  distill_window_set_view(win, "library");
  wait_painted(GTK_WIDGET(win));
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(win), "win.new-chat", NULL));
  wait_painted(GTK_WIDGET(win));
  g_assert_cmpstr(distill_window_get_view(win), ==, "chat");
  g_assert_cmpint(distill_chat_page_get_chat_id(DISTILL_CHAT_PAGE(chat)), ==, 0);
  GtkWidget *focus = gtk_root_get_focus(GTK_ROOT(win));
  g_assert_nonnull(focus);
  g_assert_true(GTK_IS_TEXT_VIEW(focus));
  g_assert_cmpstr(gtk_widget_get_name(focus), ==, "composer");

  /* Ctrl+F from the Benchmark view: the Chat view, the sidebar's search entry focused */
  distill_window_set_view(win, "benchmark");
  wait_painted(GTK_WIDGET(win));
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(win), "win.search", NULL));
  wait_painted(GTK_WIDGET(win));
  g_assert_cmpstr(distill_window_get_view(win), ==, "chat");
  focus = gtk_root_get_focus(GTK_ROOT(win));
  g_assert_nonnull(focus);
  g_assert_nonnull(gtk_widget_get_ancestor(focus, GTK_TYPE_SEARCH_ENTRY));
  g_assert_true(gtk_widget_is_ancestor(focus, chat));
  /* … but in the Library it searches models (Hugging Face) when the Library has a search entry */
  distill_window_set_view(win, "library");
  wait_painted(GTK_WIDGET(win));
  GtkWidget *library = find_of_type(GTK_WIDGET(win), DISTILL_TYPE_LIBRARY_PAGE);
  GtkWidget *library_entry = find_of_type(library, GTK_TYPE_SEARCH_ENTRY);
  g_assert_true(gtk_widget_activate_action(GTK_WIDGET(win), "win.search", NULL));
  if (library_entry && gtk_widget_get_visible(library_entry)) {
    g_test_message("Ctrl+F in the Library focuses its search entry");
    g_assert_cmpstr(distill_window_get_view(win), ==, "library");
    focus = gtk_root_get_focus(GTK_ROOT(win));
    g_assert_true(focus == library_entry || gtk_widget_is_ancestor(focus, library_entry));
  } else {
    g_assert_cmpstr(distill_window_get_view(win), ==, "chat");
  }

  /* Ctrl+, : the preferences, with the Models page */
  g_action_group_activate_action(G_ACTION_GROUP(app), "preferences", NULL);
  iterate();
  GtkWindow *prefs = find_toplevel(DISTILL_TYPE_PREFERENCES);
  g_assert_nonnull(prefs);
  g_assert_nonnull(find_of_type(GTK_WIDGET(prefs), g_type_from_name("DistillPrefsModels")));
  gtk_window_destroy(prefs);
  iterate();

  /* the shortcuts window lists them */
  GtkWidget *overlay = GTK_WIDGET(gtk_application_window_get_help_overlay(GTK_APPLICATION_WINDOW(win)));
  gboolean new_chat = FALSE, search = FALSE, preferences = FALSE;
  GPtrArray *stack = g_ptr_array_new();
  g_ptr_array_add(stack, overlay);
  while (stack->len > 0) {
    GtkWidget *w = g_ptr_array_steal_index(stack, stack->len - 1);
    if (GTK_IS_SHORTCUTS_SHORTCUT(w)) {
      g_autofree char *action = NULL;
      g_object_get(w, "action-name", &action, NULL);
      new_chat |= g_strcmp0(action, "win.new-chat") == 0;
      search |= g_strcmp0(action, "win.search") == 0;
      preferences |= g_strcmp0(action, "app.preferences") == 0;
    }
    for (GtkWidget *c = gtk_widget_get_first_child(w); c; c = gtk_widget_get_next_sibling(c)) g_ptr_array_add(stack, c);
  }
  g_ptr_array_unref(stack);
  g_assert_true(new_chat && search && preferences);
  close_window(win);
}

/* One DistillHardware for the whole app: the library's fit badges, the preferences and the chat's
 * load settings see the same probe and the same corrections. */
static void test_shared_hardware(void)
{
  DistillHardware *hw = distill_application_get_hardware(app);
  g_assert_true(DISTILL_IS_HARDWARE(hw));
  g_assert_true(hw == distill_hardware_get_default());

  DistillWindow *win = open_window();
  distill_window_set_view(win, "library");
  wait_painted(GTK_WIDGET(win));
  GtkWidget *library = find_of_type(GTK_WIDGET(win), DISTILL_TYPE_LIBRARY_PAGE);
  g_assert_nonnull(library);
  g_assert_true(distill_library_page_get_hardware(DISTILL_LIBRARY_PAGE(library)) == hw);

  DistillPreferences *prefs = distill_preferences_new(GTK_WINDOW(win), NULL, NULL);
  g_assert_true(distill_preferences_get_hardware(prefs) == hw);
  gtk_window_destroy(GTK_WINDOW(prefs));
  g_action_group_activate_action(G_ACTION_GROUP(app), "preferences", NULL);
  iterate();
  prefs = DISTILL_PREFERENCES(find_toplevel(DISTILL_TYPE_PREFERENCES));
  g_assert_nonnull(prefs);
  g_assert_true(distill_preferences_get_hardware(prefs) == hw);
  gtk_window_destroy(GTK_WINDOW(prefs));
  iterate();
  distill_window_set_view(win, "chat");
  close_window(win);
}

int main(int argc, char **argv)
{
  gtk_test_init(&argc, &argv, NULL);
  adw_init();

  app = distill_application_new();
  g_application_set_flags(G_APPLICATION(app), G_APPLICATION_NON_UNIQUE);
  g_assert_true(g_application_register(G_APPLICATION(app), NULL, NULL));
  /* keep the app alive while windows come and go */
  g_application_hold(G_APPLICATION(app));

  g_test_add_func("/window/open-close", test_open_close);
  g_test_add_func("/window/views", test_views);
  g_test_add_func("/window/state-persisted", test_state_persisted);
  g_test_add_func("/window/actions", test_actions_registered);
  g_test_add_func("/window/shortcuts", test_shortcuts);
  g_test_add_func("/window/shared-hardware", test_shared_hardware);
  int rc = g_test_run();

  g_application_release(G_APPLICATION(app));
  g_object_unref(app);
  return rc;
}
