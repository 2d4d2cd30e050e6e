/* distill-cli.h — headless subcommands (`distill pull …`), run before any GTK initialisation. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE for the subcommands handled here ("pull", "fit", "serve"). */
gboolean distill_cli_handles(const char *command);
/* argv[1] is the subcommand. Returns the process exit status. */
int distill_cli_main(int argc, char **argv);

G_END_DECLS
