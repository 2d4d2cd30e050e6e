/* main.c — entry point. Headless subcommands are dispatched before any GTK
 * initialisation (an AdwApplication needs a display); everything else lives
 * in libdistill so the tests can link it. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "distill-application.h"
#include "distill-cli.h"

int main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
  textdomain(GETTEXT_PACKAGE);

  /* `distill pull …` and friends: a plain main loop, no display needed */
  if (argc > 1 && distill_cli_handles(argv[1])) return distill_cli_main(argc, argv);

  g_autoptr(DistillApplication) app = distill_application_new();
  return g_application_run(G_APPLICATION(app), argc, argv);
}
