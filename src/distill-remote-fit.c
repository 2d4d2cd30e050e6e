/* distill-remote-fit.c — fetch a remote GGUF header with Range requests, with a disk cache. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "distill-remote-fit.h"
#include "gguf.h"
#include "still.h"
#include "util.h" /* still_set_error */

#define CACHE_MAGIC "DSTLHDR1"
#define GROW_MIN (256u * 1024)

typedef struct {
  DistillHub *hub;
  char *repo, *file;
  char *url;          /* where the bytes are served (CDN location or the resolve URL) */
  guint64 file_size;  /* 0: unknown */
  GByteArray *buf;
  gsize want;         /* total prefix length wanted */
  guint64 fetched;
  GInputStream *stream;
  gsize reading_at;   /* offset in buf the current read fills */
  guint restarts;
} FetchData;

static void fetch_data_free(FetchData *d)
{
  g_clear_object(&d->hub);
  g_free(d->repo);
  g_free(d->file);
  g_free(d->url);
  if (d->buf) g_byte_array_unref(d->buf);
  g_clear_object(&d->stream);
  g_free(d);
}

char *distill_remote_header_cache_dir(void)
{
  return g_build_filename(g_get_user_cache_dir(), "distill", "headers", NULL);
}

static char *cache_path(const char *repo, const char *file)
{
  g_autofree char *key = g_strconcat(repo, "\n", file, NULL);
  g_autofree char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
  g_autofree char *dir = distill_remote_header_cache_dir();
  g_autofree char *name = g_strconcat(hash, ".gguf-header", NULL);
  return g_build_filename(dir, name, NULL);
}

/* TRUE when the bytes hold a whole GGUF header. Only parsed, not estimated: a later part of a
 * split model has tensor infos but no model metadata (that is in the first part). */
static gboolean header_complete(const guint8 *data, gsize len, guint64 file_size, gsize *need, GError **error)
{
  still_error err = {0};
  size_t n = 0;
  gguf_file *f = NULL;
  still_status st = gguf_parse_buffer(data, len, file_size, &f, &n, &err);
  gguf_close(f);
  *need = n;
  if (st == STILL_OK) return TRUE;
  if (st == STILL_ERR_TRUNCATED && n > len) return FALSE;
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("This file's header cannot be read: %s"), err.message);
  *need = 0;
  return FALSE;
}

GBytes *distill_remote_header_lookup(const char *repo, const char *file, guint64 *file_size)
{
  g_autofree char *path = cache_path(repo, file);
  g_autofree char *contents = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &contents, &len, NULL)) return NULL;
  if (len < 16 || memcmp(contents, CACHE_MAGIC, 8) != 0) return NULL;
  guint64 size = 0;
  memcpy(&size, contents + 8, 8);
  size = GUINT64_FROM_LE(size);
  gsize need = 0;
  if (!header_complete((const guint8 *)contents + 16, len - 16, size, &need, NULL)) return NULL;
  if (file_size) *file_size = size;
  return g_bytes_new(contents + 16, len - 16);
}

static void store_cache(FetchData *d)
{
  g_autofree char *path = cache_path(d->repo, d->file);
  g_autofree char *dir = g_path_get_dirname(path);
  if (g_mkdir_with_parents(dir, 0700) != 0) return; /* a cache: failing to write it is not an error */
  GByteArray *out = g_byte_array_sized_new((guint)(d->buf->len + 16));
  g_byte_array_append(out, (const guint8 *)CACHE_MAGIC, 8);
  guint64 size = GUINT64_TO_LE(d->file_size);
  g_byte_array_append(out, (const guint8 *)&size, 8);
  g_byte_array_append(out, d->buf->data, d->buf->len);
  g_file_set_contents(path, (const char *)out->data, out->len, NULL);
  g_byte_array_unref(out);
}

static void request_more(GTask *task);

static void finish_ok(GTask *task)
{
  FetchData *d = g_task_get_task_data(task);
  store_cache(d);
  g_task_return_pointer(task, g_bytes_new(d->buf->data, d->buf->len), (GDestroyNotify)g_bytes_unref);
}

static void on_read(GObject *src, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  FetchData *d = g_task_get_task_data(task);
  GError *error = NULL;
  gsize n = 0;
  gboolean ok = g_input_stream_read_all_finish(G_INPUT_STREAM(src), res, &n, &error);
  g_input_stream_close(d->stream, NULL, NULL);
  g_clear_object(&d->stream);
  if (!ok) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  d->fetched += n;
  g_byte_array_set_size(d->buf, (guint)(d->reading_at + n));
  gsize need = 0;
  if (header_complete(d->buf->data, d->buf->len, d->file_size, &need, &error)) {
    finish_ok(task);
  } else if (error != NULL) {
    g_task_return_error(task, error);
  } else if (n == 0 || (d->file_size > 0 && d->buf->len >= d->file_size)) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("The file ends inside its header"));
  } else if (need > DISTILL_REMOTE_HEADER_MAX_BYTES) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                            _("This file's header is larger than %u MiB; not reading it"),
                            DISTILL_REMOTE_HEADER_MAX_BYTES >> 20);
  } else {
    /* need is the parser's estimate of the total; ask a little more to save round trips */
    d->want = MAX(need, d->buf->len + GROW_MIN);
    request_more(task);
    return;
  }
  g_object_unref(task);
}

static void on_sent(GObject *src, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  FetchData *d = g_task_get_task_data(task);
  GError *error = NULL;
  SoupMessage *msg = soup_session_get_async_result_message(SOUP_SESSION(src), res);
  GInputStream *stream = soup_session_send_finish(SOUP_SESSION(src), res, &error);
  if (stream == NULL) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  guint status = soup_message_get_status(msg);
  gsize from = d->buf->len;
  if (status == SOUP_STATUS_OK) {
    from = 0; /* the server ignored the Range: the body starts at byte 0 */
  } else if (status != SOUP_STATUS_PARTIAL_CONTENT) {
    g_input_stream_close(stream, NULL, NULL);
    g_object_unref(stream);
    g_task_return_error(task, distill_hub_error_for_status(d->hub, msg, d->repo, "main", d->file));
    g_object_unref(task);
    return;
  }
  if (d->file_size == 0) {
    goffset start = 0, end = 0, total = 0;
    if (soup_message_headers_get_content_range(soup_message_get_response_headers(msg), &start, &end, &total) &&
        total > 0)
      d->file_size = (guint64)total;
  }
  d->stream = stream;
  d->reading_at = from;
  g_byte_array_set_size(d->buf, (guint)d->want);
  g_input_stream_read_all_async(stream, d->buf->data + from, d->want - from, G_PRIORITY_DEFAULT,
                                g_task_get_cancellable(task), on_read, task);
}

static void request_more(GTask *task)
{
  FetchData *d = g_task_get_task_data(task);
  if (d->file_size > 0 && d->want > d->file_size) d->want = (gsize)d->file_size;
  SoupMessage *msg = soup_message_new(SOUP_METHOD_GET, d->url);
  if (msg == NULL) {
    g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL, _("Bad download address"));
    g_object_unref(task);
    return;
  }
  distill_hub_prepare_message(d->hub, msg);
  soup_message_headers_set_range(soup_message_get_request_headers(msg), (goffset)d->buf->len,
                                 (goffset)d->want - 1);
  soup_session_send_async(distill_hub_get_session(d->hub), msg, G_PRIORITY_DEFAULT, g_task_get_cancellable(task),
                          on_sent, task);
  g_object_unref(msg);
}

static void on_queried(GObject *src, GAsyncResult *res, gpointer user_data)
{
  GTask *task = user_data;
  FetchData *d = g_task_get_task_data(task);
  GError *error = NULL;
  g_autoptr(DistillHubFileInfo) info = distill_hub_query_file_finish(DISTILL_HUB(src), res, &error);
  if (info == NULL) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  d->file_size = info->size > 0 ? (guint64)info->size : 0;
  d->url = info->location ? g_strdup(info->location)
                          : distill_hub_build_resolve_url(d->hub, d->repo, info->commit ? info->commit : "main",
                                                          d->file);
  request_more(task);
}

void distill_remote_header_fetch_async(DistillHub *hub, const char *repo, const char *file, gboolean use_cache,
                                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_remote_header_fetch_async);
  FetchData *d = g_new0(FetchData, 1);
  d->hub = g_object_ref(hub);
  d->repo = g_strdup(repo);
  d->file = g_strdup(file);
  d->buf = g_byte_array_new();
  d->want = DISTILL_REMOTE_HEADER_FIRST_BYTES;
  g_task_set_task_data(task, d, (GDestroyNotify)fetch_data_free);
  GError *error = NULL;
  if (!distill_hub_check_repo_id(repo, &error) || !distill_hub_check_file_name(file, &error)) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  if (use_cache) {
    guint64 size = 0;
    GBytes *cached = distill_remote_header_lookup(repo, file, &size);
    if (cached != NULL) {
      d->file_size = size;
      g_task_return_pointer(task, cached, (GDestroyNotify)g_bytes_unref);
      g_object_unref(task);
      return;
    }
  }
  distill_hub_query_file_async(hub, repo, "main", file, cancellable, on_queried, task);
}

GBytes *distill_remote_header_fetch_finish(GAsyncResult *result, guint64 *file_size, guint64 *fetched,
                                           GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  GTask *task = G_TASK(result);
  FetchData *d = g_task_get_task_data(task);
  GBytes *bytes = g_task_propagate_pointer(task, error);
  if (file_size) *file_size = bytes ? d->file_size : 0;
  if (fetched) *fetched = d->fetched;
  return bytes;
}

/* ---- split models: the header of every part ---- */

typedef struct {
  DistillHub *hub;
  char *repo;
  GStrv files;
  gboolean use_cache;
  guint next;          /* the part being fetched */
  GPtrArray *headers;  /* GBytes, in part order */
  GArray *sizes;       /* guint64 file sizes, in part order */
  guint64 fetched;
} PartsData;

static void parts_data_free(PartsData *d)
{
  g_clear_object(&d->hub);
  g_free(d->repo);
  g_strfreev(d->files);
  g_ptr_array_unref(d->headers);
  g_array_unref(d->sizes);
  g_free(d);
}

static void fetch_next_part(GTask *task);

static void part_fetched(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  GTask *task = user_data;
  PartsData *d = g_task_get_task_data(task);
  GError *error = NULL;
  guint64 size = 0, fetched = 0;
  GBytes *bytes = distill_remote_header_fetch_finish(res, &size, &fetched, &error);
  d->fetched += fetched;
  if (bytes == NULL) {
    guint n = g_strv_length(d->files);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
      g_task_return_error(task, error);
    } else {
      /* Translators: the first two values are numbers ("part 2 of 3"), the last is why */
      g_task_return_new_error(task, error->domain, error->code, _("Part %u of %u could not be read: %s"),
                              d->next + 1, n, error->message);
      g_error_free(error);
    }
    g_object_unref(task);
    return;
  }
  g_ptr_array_add(d->headers, bytes);
  g_array_append_val(d->sizes, size);
  d->next++;
  fetch_next_part(task);
}

static void fetch_next_part(GTask *task)
{
  PartsData *d = g_task_get_task_data(task);
  if (d->files[d->next] == NULL) {
    g_task_return_pointer(task, g_ptr_array_ref(d->headers), (GDestroyNotify)g_ptr_array_unref);
    g_object_unref(task);
    return;
  }
  /* one part after another: each grows its own Range until its header parses, and is cached */
  distill_remote_header_fetch_async(d->hub, d->repo, d->files[d->next], d->use_cache, g_task_get_cancellable(task),
                                    part_fetched, task);
}

void distill_remote_headers_fetch_async(DistillHub *hub, const char *repo, const char *const *files,
                                        gboolean use_cache, GCancellable *cancellable, GAsyncReadyCallback callback,
                                        gpointer user_data)
{
  GTask *task = g_task_new(NULL, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_remote_headers_fetch_async);
  PartsData *d = g_new0(PartsData, 1);
  d->hub = g_object_ref(hub);
  d->repo = g_strdup(repo);
  d->files = g_strdupv((char **)files);
  d->use_cache = use_cache;
  d->headers = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  d->sizes = g_array_new(FALSE, TRUE, sizeof(guint64));
  g_task_set_task_data(task, d, (GDestroyNotify)parts_data_free);
  if (d->files == NULL || d->files[0] == NULL) {
    g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("No files to read"));
    g_object_unref(task);
    return;
  }
  fetch_next_part(task);
}

GPtrArray *distill_remote_headers_fetch_finish(GAsyncResult *result, GArray **file_sizes, guint64 *fetched,
                                               GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
  GTask *task = G_TASK(result);
  PartsData *d = g_task_get_task_data(task);
  GPtrArray *headers = g_task_propagate_pointer(task, error);
  if (file_sizes) *file_sizes = headers ? g_array_ref(d->sizes) : NULL;
  if (fetched) *fetched = d->fetched;
  return headers;
}

gboolean distill_remote_fit_estimate_parts(GPtrArray *headers, GArray *file_sizes, const still_hardware *hw,
                                           const still_fit_params *p, still_fit *out, still_error *err)
{
  if (headers == NULL || headers->len == 0) {
    still_set_error(err, STILL_ERR_INVALID_ARG, "no headers");
    return FALSE;
  }
  g_autofree const void **bufs = g_new0(const void *, headers->len);
  g_autofree size_t *lens = g_new0(size_t, headers->len);
  g_autofree uint64_t *sizes = g_new0(uint64_t, headers->len);
  for (guint i = 0; i < headers->len; i++) {
    gsize len = 0;
    bufs[i] = g_bytes_get_data(g_ptr_array_index(headers, i), &len);
    lens[i] = len;
    if (file_sizes != NULL && i < file_sizes->len) sizes[i] = g_array_index(file_sizes, guint64, i);
  }
  return still_fit_estimate_buffers(bufs, lens, sizes, (int)headers->len, hw, p, out, NULL, err) == STILL_OK;
}
