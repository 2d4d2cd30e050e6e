/* distill-folder-change.h — changing the models folder from Preferences, with "move the models".
 *
 * When the current folder holds models, the user is asked: move them to the new folder (with
 * progress in status_row, off the main thread, see distill-model-mover.h), leave them where they
 * are, or cancel. The models-folder setting changes only when the move succeeded (or the user
 * chose to leave the files); the Library and the download manager follow the setting at once.
 * Files in use (the loaded model) stay behind, and the user is told why. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Returns the question dialog (owned by GTK), or NULL when nothing had to be asked (no models
 * in the current folder, or the same folder): then the setting has already changed.
 * in_use: paths not to move (may be NULL). status_row may be NULL. */
AdwMessageDialog *distill_folder_change_run(GtkWindow *parent, GSettings *settings, const char *new_dir,
                                            const char *const *in_use, AdwActionRow *status_row);

/* Tests: the heading and body of the last result dialog (after a move), or NULL; the number of
 * moves still running. */
const char *distill_folder_change_last_result(void);
guint distill_folder_change_n_running(void);

G_END_DECLS
