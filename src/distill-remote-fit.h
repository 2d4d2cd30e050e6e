/* distill-remote-fit.h — "will it fit" before downloading: the first bytes of a remote GGUF.
 *
 * Reads only the GGUF header of a file on the Hub with HTTP Range requests: 8 MiB first, then as
 * far as the engine's parser says it needs (still_fit_estimate_buffer → STILL_ERR_TRUNCATED +
 * need_bytes), stopping as soon as the header parses. The bytes are cached in
 * $XDG_CACHE_HOME/distill/headers/ so that a file's header is fetched once. */
#pragma once

#include <gio/gio.h>

#include "distill-hub.h"
#include "still.h"

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

/* Every part of a split model (files: the parts in order, NAME-00001-of-0000N.gguf …): each
 * part's header is fetched as above (one part after another, each cached). Returns the headers
 * (GBytes, in the order of files); *file_sizes (may be NULL): a GArray of guint64, the parts'
 * sizes (0 if unknown). A part that cannot be read fails the whole with "Part 2 of 3 could not
 * be read: …". */
void distill_remote_headers_fetch_async(DistillHub *hub, const char *repo, const char *const *files,
                                        gboolean use_cache, GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data);
GPtrArray *distill_remote_headers_fetch_finish(GAsyncResult *result, GArray **file_sizes, guint64 *fetched,
                                               GError **error);

/* The fit of a model from the headers of all its parts (one header: a whole file), through
 * still_fit_estimate_buffers. file_sizes may be NULL. FALSE with err's message on failure. */
gboolean distill_remote_fit_estimate_parts(GPtrArray *headers, GArray *file_sizes, const still_hardware *hw,
                                           const still_fit_params *p, still_fit *out, still_error *err);

G_END_DECLS
