/* distill-remote-fit.h — "will it fit" before downloading: the first bytes of a remote GGUF.
 *
 * Reads only the GGUF header of a file on the Hub with HTTP Range requests: 8 MiB first, then as
 * far as the engine's parser says it needs (still_fit_estimate_buffer → STILL_ERR_TRUNCATED +
 * need_bytes), stopping as soon as the header parses. The bytes are cached in
 * $XDG_CACHE_HOME/distill/headers/ so that a file's header is fetched once. */
#pragma once

#include <gio/gio.h>

#include "distill-hub.h"

G_BEGIN_DECLS

#define DISTILL_REMOTE_HEADER_FIRST_BYTES (8u * 1024 * 1024)
#define DISTILL_REMOTE_HEADER_MAX_BYTES (256u * 1024 * 1024) /* a header larger than this is refused */

/* use_cache FALSE: always ask the Hub (the result is still stored). */
void distill_remote_header_fetch_async(DistillHub *hub, const char *repo, const char *file, gboolean use_cache,
                                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
/* The header bytes (a prefix of the file that parses). file_size: the whole file's size (0 if
 * unknown); fetched: bytes that came over the network this time (0 from the cache). */
GBytes *distill_remote_header_fetch_finish(GAsyncResult *result, guint64 *file_size, guint64 *fetched,
                                           GError **error);

/* $XDG_CACHE_HOME/distill/headers */
char *distill_remote_header_cache_dir(void);
/* The cached header of repo/file, or NULL. */
GBytes *distill_remote_header_lookup(const char *repo, const char *file, guint64 *file_size);

G_END_DECLS
