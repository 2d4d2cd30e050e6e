/* distill-application.c — the AdwApplication: actions, accelerators, about. */
#include "config.h"

#include <glib/gi18n.h>

#include "distill-api-server.h"
#include "distill-application.h"
#include "distill-hardware.h"
#include "distill-preferences.h"
#include "distill-resources.h"
#include "distill-window.h"

struct _DistillApplication {
  AdwApplication parent_instance;
  DistillApiServer *api_server; /* the local API server, following its settings */
};

G_DEFINE_FINAL_TYPE(DistillApplication, distill_application, ADW_TYPE_APPLICATION)

DistillApplication *distill_application_new(void)
{
  return g_object_new(DISTILL_TYPE_APPLICATION,
                      "application-id", APP_ID,
                      "flags", G_APPLICATION_DEFAULT_FLAGS,
                      "resource-base-path", "/io/github/distillapp/Distill",
                      NULL);
}

static void distill_application_activate(GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(app));
  if (window == NULL) window = GTK_WINDOW(distill_window_new(DISTILL_APPLICATION(app)));
  gtk_window_present(window);
}

static void about_action(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DistillApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(self));
  static const char *developers[] = {"The Distill developers", NULL};

  AdwAboutWindow *about = ADW_ABOUT_WINDOW(adw_about_window_new());
  adw_about_window_set_application_name(about, _("Distill"));
  adw_about_window_set_application_icon(about, APP_ID);
  adw_about_window_set_version(about, PACKAGE_VERSION);
  adw_about_window_set_developer_name(about, _("The Distill developers"));
  adw_about_window_set_developers(about, developers);
  adw_about_window_set_copyright(about, "© 2026 The Distill developers");
  adw_about_window_set_license_type(about, GTK_LICENSE_MIT_X11);
  adw_about_window_set_comments(about, _("Download and chat with DeepSeek-R1 distilled models on your own "
                                         "computer. No server, no cloud."));
  adw_about_window_set_website(about, "https://github.com/distillapp/distill");
  adw_about_window_set_issue_url(about, "https://github.com/distillapp/distill/issues");
  /* Translators: replace with your names, one per line */
  adw_about_window_set_translator_credits(about, _("translator-credits"));
  if (window) gtk_window_set_transient_for(GTK_WINDOW(about), window);
  gtk_window_present(GTK_WINDOW(about));
}

static void preferences_action(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  (void)action;
  (void)parameter;
  DistillApplication *self = user_data;
  GtkWindow *window = gtk_application_get_active_window(GTK_APPLICATION(self));
  gtk_window_present(GTK_WINDOW(distill_preferences_new(window, distill_application_get_hardware(self), NULL)));
}

static void quit_action(GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  DistillApplication *self = user_data;
  /* Close each window (so it can save its state); the app quits with the last one. */
  g_autoptr(GList) windows = g_list_copy(gtk_application_get_windows(GTK_APPLICATION(self)));
  for (GList *l = windows; l != NULL; l = l->next) gtk_window_close(GTK_WINDOW(l->data));
}

static const GActionEntry app_actions[] = {
  {"about", about_action, NULL, NULL, NULL, {0}},
  {"preferences", preferences_action, NULL, NULL, NULL, {0}},
  {"quit", quit_action, NULL, NULL, NULL, {0}},
};

static void distill_application_startup(GApplication *app)
{
  G_APPLICATION_CLASS(distill_application_parent_class)->startup(app);

  g_action_map_add_action_entries(G_ACTION_MAP(app), app_actions, G_N_ELEMENTS(app_actions), app);
  /* look at this computer once, now, off the main thread: the library, the preferences and the
   * chat's load settings all use this one instance */
  (void)distill_application_get_hardware(DISTILL_APPLICATION(app));

  static const char *quit_accels[] = {"<primary>q", NULL};
  static const char *preferences_accels[] = {"<primary>comma", NULL};
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.preferences", preferences_accels);
  static const char *close_accels[] = {"<primary>w", NULL};
  static const char *chat_accels[] = {"<alt>1", NULL};
  static const char *library_accels[] = {"<alt>2", NULL};
  static const char *bench_accels[] = {"<alt>3", NULL};
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "app.quit", quit_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "window.close", close_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.view::chat", chat_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.view::library", library_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.view::benchmark", bench_accels);
  /* Ctrl+N and Ctrl+F work from every view: they switch to the Chat view first */
  static const char *new_chat_accels[] = {"<primary>n", NULL};
  static const char *search_accels[] = {"<primary>f", NULL};
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.new-chat", new_chat_accels);
  gtk_application_set_accels_for_action(GTK_APPLICATION(app), "win.search", search_accels);

  /* the local API server (off unless turned on in Preferences) on the app's engine */
  DistillApplication *self = DISTILL_APPLICATION(app);
  g_autoptr(GSettings) settings = g_settings_new(APP_ID);
  self->api_server = distill_api_server_new(NULL);
  distill_api_server_follow_settings(self->api_server, settings);
}

static void distill_application_shutdown(GApplication *app)
{
  DistillApplication *self = DISTILL_APPLICATION(app);
  if (self->api_server) distill_api_server_stop(self->api_server);
  g_clear_object(&self->api_server);
  G_APPLICATION_CLASS(distill_application_parent_class)->shutdown(app);
}

DistillApiServer *distill_application_get_api_server(DistillApplication *self)
{
  g_return_val_if_fail(DISTILL_IS_APPLICATION(self), NULL);
  return self->api_server;
}

DistillHardware *distill_application_get_hardware(DistillApplication *self)
{
  g_return_val_if_fail(DISTILL_IS_APPLICATION(self), NULL);
  return distill_hardware_get_default();
}

static void distill_application_class_init(DistillApplicationClass *klass)
{
  /* The resources live in a static library: register them explicitly, a
   * constructor in an unreferenced object would be dropped by the linker. */
  distill_register_resource();

  GApplicationClass *app_class = G_APPLICATION_CLASS(klass);
  app_class->activate = distill_application_activate;
  app_class->startup = distill_application_startup;
  app_class->shutdown = distill_application_shutdown;
}

static void distill_application_init(DistillApplication *self)
{
}
