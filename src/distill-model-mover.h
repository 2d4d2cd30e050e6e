/* distill-model-mover.h — move the models of one folder to another, never losing a file.
 *
 * What moves: the finished GGUF files of the models folder (top level, and split models in the
 * sub-folders one level down). Partial downloads (NAME.part + its state file) stay where they
 * are: the download manager finishes them in the folder they were started in.
 *
 * How: on the same filesystem each file is renamed (atomic; on an error the files already
 * renamed are renamed back). Across filesystems every file is first copied to a temporary name
 * in the target, flushed to disk and checked for its size; only when all copies are good are they
 * renamed into place and the originals deleted. On any error the copies are removed and the
 * originals stay untouched. A target without enough free space is refused before anything is
 * copied (the error says how much is needed). Files in use (the loaded model, all shards of a
 * split one) and files whose name already exists in the target are skipped, with a message.
 * The work runs in a worker thread; progress is reported on the caller's main context. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DISTILL_MOVER_ERROR (distill_mover_error_quark())
GQuark distill_mover_error_quark(void);

typedef enum {
  DISTILL_MOVER_ERROR_NO_SPACE,
  DISTILL_MOVER_ERROR_FAILED,
  DISTILL_MOVER_ERROR_SAME_FOLDER,
} DistillMoverError;

/* done/total bytes (total 0 when only renaming), the file being moved (relative path). */
typedef void (*DistillMoveProgressFunc)(guint64 done, guint64 total, const char *file, gpointer user_data);

/* GGUF files that would move (relative paths, in order) and their bytes. */
GPtrArray *distill_model_mover_list(const char *from_dir, guint64 *bytes);

/* in_use: paths (NULL-terminated, may be NULL) not to move. progress may be NULL; it is called
 * on the thread-default main context of the caller, and never after the callback. */
void distill_model_mover_move_async(const char *from_dir, const char *to_dir, const char *const *in_use,
                                    DistillMoveProgressFunc progress, gpointer progress_data,
                                    GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
/* TRUE when every file that was not skipped moved. n_moved: files moved; skipped (may be
 * NULL): one plain sentence per file left behind, NULL-terminated (free with g_strfreev). */
gboolean distill_model_mover_move_finish(GAsyncResult *result, guint *n_moved, GStrv *skipped, GError **error);

/* Tests: act as if the target had this many bytes free (G_MAXUINT64: ask the filesystem). */
void distill_model_mover_set_free_space_for_tests(guint64 bytes);

G_END_DECLS
