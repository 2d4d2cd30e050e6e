/* distill-window.c — the main window: header bar with a view switcher
 * (Chat, Library, Benchmark), window state kept in GSettings. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-benchmark-page.h"
#include "distill-chat-page.h"
#include "distill-library-page.h"
#include "distill-window.h"

struct _DistillWindow {
  AdwApplicationWindow parent_instance;

  GSettings *settings;

  /* template children */
  AdwToastOverlay *toast_overlay;
  AdwHeaderBar *header_bar;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewStack *stack;
  AdwViewSwitcherBar *switcher_bar;
  GtkWidget *chat_page;
  GtkWidget *library_page;
};

G_DEFINE_FINAL_TYPE(DistillWindow, distill_window, ADW_TYPE_APPLICATION_WINDOW)

static const char *const view_names[] = {"chat", "library", "benchmark"};

static gboolean is_view_name(const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS(view_names); i++)
    if (g_strcmp0(name, view_names[i]) == 0) return TRUE;
  return FALSE;
}

DistillWindow *distill_window_new(DistillApplication *application)
{
  return g_object_new(DISTILL_TYPE_WINDOW, "application", application, NULL);
}

const char *distill_window_get_view(DistillWindow *self)
{
  g_return_val_if_fail(DISTILL_IS_WINDOW(self), NULL);
  return adw_view_stack_get_visible_child_name(self->stack);
}

void distill_window_set_view(DistillWindow *self, const char *name)
{
  g_return_if_fail(DISTILL_IS_WINDOW(self));
  if (!is_view_name(name)) return;
  adw_view_stack_set_visible_child_name(self->stack, name);
}

static void view_action(GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  distill_window_set_view(DISTILL_WINDOW(widget), g_variant_get_string(parameter, NULL));
}

/* Ctrl+N: a new chat, from any view. */
static void new_chat_action(GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DistillWindow *self = DISTILL_WINDOW(widget);
  distill_window_set_view(self, "chat");
  gtk_widget_activate_action(self->chat_page, "chat.new", NULL);
}

/* The first search entry shown under widget (depth first), or NULL. */
static GtkWidget *find_search_entry(GtkWidget *widget)
{
  if (!gtk_widget_get_visible(widget)) return NULL;
  if (GTK_IS_SEARCH_ENTRY(widget)) return widget;
  for (GtkWidget *c = gtk_widget_get_first_child(widget); c; c = gtk_widget_get_next_sibling(c)) {
    GtkWidget *found = find_search_entry(c);
    if (found) return found;
  }
  return NULL;
}

/* Ctrl+F: search the chats; in the Library, its own search (a "library.search" action, else its
 * search entry: the Hugging Face search). */
static void search_action(GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  DistillWindow *self = DISTILL_WINDOW(widget);
  if (g_strcmp0(distill_window_get_view(self), "library") == 0) {
    if (gtk_widget_activate_action(self->library_page, "library.search", NULL)) return;
    GtkWidget *entry = find_search_entry(self->library_page);
    if (entry && gtk_widget_grab_focus(entry)) return;
  }
  distill_window_set_view(self, "chat");
  gtk_widget_activate_action(self->chat_page, "chat.search", NULL);
}

static void restore_state(DistillWindow *self)
{
  int width = g_settings_get_int(self->settings, "window-width");
  int height = g_settings_get_int(self->settings, "window-height");
  gtk_window_set_default_size(GTK_WINDOW(self), MAX(width, 360), MAX(height, 294));
  if (g_settings_get_boolean(self->settings, "window-maximized")) gtk_window_maximize(GTK_WINDOW(self));

  g_autofree char *view = g_settings_get_string(self->settings, "last-view");
  distill_window_set_view(self, view);
}

static void save_state(DistillWindow *self)
{
  gboolean maximized = gtk_window_is_maximized(GTK_WINDOW(self));
  g_settings_set_boolean(self->settings, "window-maximized", maximized);
  if (!maximized) {
    /* the default size tracks the unmaximized size the user chose */
    int width, height;
    gtk_window_get_default_size(GTK_WINDOW(self), &width, &height);
    g_settings_set_int(self->settings, "window-width", width);
    g_settings_set_int(self->settings, "window-height", height);
  }
  const char *view = distill_window_get_view(self);
  if (view) g_settings_set_string(self->settings, "last-view", view);
}

static gboolean distill_window_close_request(GtkWindow *window)
{
  save_state(DISTILL_WINDOW(window));
  return GTK_WINDOW_CLASS(distill_window_parent_class)->close_request(window);
}

static void distill_window_dispose(GObject *object)
{
  DistillWindow *self = DISTILL_WINDOW(object);
  gtk_widget_dispose_template(GTK_WIDGET(self), DISTILL_TYPE_WINDOW);
  g_clear_object(&self->settings);
  G_OBJECT_CLASS(distill_window_parent_class)->dispose(object);
}

static void distill_window_class_init(DistillWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS(klass);

  object_class->dispose = distill_window_dispose;
  window_class->close_request = distill_window_close_request;

  g_type_ensure(DISTILL_TYPE_CHAT_PAGE);
  g_type_ensure(DISTILL_TYPE_LIBRARY_PAGE);
  g_type_ensure(DISTILL_TYPE_BENCHMARK_PAGE);

  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-window.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillWindow, toast_overlay);
  gtk_widget_class_bind_template_child(widget_class, DistillWindow, header_bar);
  gtk_widget_class_bind_template_child(widget_class, DistillWindow, switcher_title);
  gtk_widget_class_bind_template_child(widget_class, DistillWindow, stack);
  gtk_widget_class_bind_template_child(widget_class, DistillWindow, switcher_bar);
  gtk_widget_class_bind_template_child(widget_class, DistillWindow, chat_page);
  gtk_widget_class_bind_template_child(widget_class, DistillWindow, library_page);

  gtk_widget_class_install_action(widget_class, "win.view", "s", view_action);
  gtk_widget_class_install_action(widget_class, "win.new-chat", NULL, new_chat_action);
  gtk_widget_class_install_action(widget_class, "win.search", NULL, search_action);
}

static void distill_window_init(DistillWindow *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->settings = g_settings_new(APP_ID);
  restore_state(self);
}
