/* distill-local-fit.h — "will it fit" for GGUF files on this computer, off the main thread.
 *
 * Reading a header means reading several MB of tokenizer arrays, perhaps from a slow or sleeping
 * disk, so the checks run in a GTask worker thread, one file after the other; the callback runs on
 * the caller's main context. Cancelling stops between files (and the result is then
 * G_IO_ERROR_CANCELLED, even when the work had finished). */
#pragma once

#include <gio/gio.h>

#include "still.h"

G_BEGIN_DECLS

typedef struct {
  gboolean checked; /* FALSE: no path was given at this index, or it was cancelled first */
  gboolean ok;      /* the header could be read */
  still_fit fit;
} DistillLocalFit;

/* paths: char*, NULL entries are skipped (their result stays unchecked). delay_ms: tests only,
 * a pause before each read (a slow disk). */
void distill_local_fit_async(GPtrArray *paths, const still_hardware *hw, guint delay_ms, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data);
/* One result per path (n_results = paths->len); free with g_free. */
DistillLocalFit *distill_local_fit_finish(GAsyncResult *result, guint *n_results, GError **error);

G_END_DECLS
