/* distill-hub.c — Hugging Face Hub client: resolve metadata, tree listing, errors in plain words.
 *
 * Facts used (see huggingface_hub's file_download.py / hf_api.py):
 * - GET|HEAD {E}/{repo}/resolve/{rev}/{file} answers 302 with Location (signed CDN URL) and the
 *   metadata on the 302 itself: X-Repo-Commit, X-Linked-Etag (LFS sha256, quoted), X-Linked-Size.
 *   Small non-LFS files come back directly (200, ETag = git blob sha1).
 * - Renamed repos answer with a relative redirect on the hub: follow it.
 * - GET {E}/api/models/{repo}/tree/{rev}?recursive=true → [{type, path, size, oid, lfs:{oid,size}}],
 *   paginated with Link: <…>; rel="next".
 * - 401: no/invalid token (also for private and missing repos); 403: gated, access not granted. */
#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "distill-hub.h"

#define MAX_HUB_REDIRECTS 5
#define MAX_TREE_PAGES 200

struct _DistillHub {
  GObject parent_instance;

  char *endpoint; /* without a trailing slash */
  GUri *endpoint_uri;
  char *token;
  SoupSession *session;
};

G_DEFINE_FINAL_TYPE(DistillHub, distill_hub, G_TYPE_OBJECT)

G_DEFINE_QUARK(distill-hub-error-quark, distill_hub_error)

void distill_hub_file_info_free(DistillHubFileInfo *info)
{
  if (info == NULL) return;
  g_free(info->commit);
  g_free(info->etag);
  g_free(info->sha256);
  g_free(info->location);
  g_free(info);
}

void distill_hub_entry_free(DistillHubEntry *entry)
{
  if (entry == NULL) return;
  g_free(entry->path);
  g_free(entry->oid);
  g_free(entry->sha256);
  g_free(entry);
}

static void distill_hub_finalize(GObject *object)
{
  DistillHub *self = DISTILL_HUB(object);
  g_free(self->endpoint);
  g_clear_pointer(&self->endpoint_uri, g_uri_unref);
  if (self->token) memset(self->token, 0, strlen(self->token));
  g_free(self->token);
  g_clear_object(&self->session);
  G_OBJECT_CLASS(distill_hub_parent_class)->finalize(object);
}

static void distill_hub_class_init(DistillHubClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = distill_hub_finalize;
}

static void distill_hub_init(DistillHub *self)
{
  /* timeout: seconds without any I/O on a connection before libsoup gives up on it; the
   * downloader retries after that, so a stalled CDN connection does not hang forever. */
  self->session = soup_session_new_with_options("user-agent", "Distill/" PACKAGE_VERSION,
                                                "timeout", 30,
                                                NULL);
  /* We want the exact bytes the hub hashed: no gzip/deflate decoding. */
  soup_session_remove_feature_by_type(self->session, SOUP_TYPE_CONTENT_DECODER);
}

DistillHub *distill_hub_new_for_endpoint(const char *endpoint)
{
  DistillHub *self = g_object_new(DISTILL_TYPE_HUB, NULL);
  if (endpoint == NULL || *endpoint == '\0') endpoint = g_getenv("HF_ENDPOINT");
  if (endpoint == NULL || *endpoint == '\0') endpoint = DISTILL_HUB_DEFAULT_ENDPOINT;

  GUri *uri = g_uri_parse(endpoint, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL || g_uri_get_host(uri) == NULL ||
      (g_strcmp0(g_uri_get_scheme(uri), "http") != 0 && g_strcmp0(g_uri_get_scheme(uri), "https") != 0)) {
    /* A broken HF_ENDPOINT must not turn into requests to random places; fall back. */
    g_clear_pointer(&uri, g_uri_unref);
    endpoint = DISTILL_HUB_DEFAULT_ENDPOINT;
    uri = g_uri_parse(endpoint, G_URI_FLAGS_ENCODED, NULL);
  }
  self->endpoint_uri = uri;
  self->endpoint = g_strdup(endpoint);
  gsize len = strlen(self->endpoint);
  while (len > 0 && self->endpoint[len - 1] == '/') self->endpoint[--len] = '\0';

  distill_hub_set_token(self, g_getenv("HF_TOKEN"));
  return self;
}

DistillHub *distill_hub_new(void)
{
  return distill_hub_new_for_endpoint(NULL);
}

const char *distill_hub_get_endpoint(DistillHub *self)
{
  g_return_val_if_fail(DISTILL_IS_HUB(self), NULL);
  return self->endpoint;
}

void distill_hub_set_token(DistillHub *self, const char *token)
{
  g_return_if_fail(DISTILL_IS_HUB(self));
  if (self->token) memset(self->token, 0, strlen(self->token));
  g_clear_pointer(&self->token, g_free);
  if (token == NULL) return;
  g_autofree char *stripped = g_strstrip(g_strdup(token));
  /* A token with control characters would break the header: ignore it rather than send it. */
  for (const char *p = stripped; *p; p++)
    if ((unsigned char)*p < 0x21 || (unsigned char)*p == 0x7f) return;
  if (*stripped) self->token = g_steal_pointer(&stripped);
}

gboolean distill_hub_has_token(DistillHub *self)
{
  g_return_val_if_fail(DISTILL_IS_HUB(self), FALSE);
  return self->token != NULL;
}

SoupSession *distill_hub_get_session(DistillHub *self)
{
  g_return_val_if_fail(DISTILL_IS_HUB(self), NULL);
  return self->session;
}

static gboolean is_name_char(char c)
{
  return g_ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
}

gboolean distill_hub_check_repo_id(const char *repo, GError **error)
{
  const char *slash = repo ? strchr(repo, '/') : NULL;
  gboolean ok = slash != NULL && slash != repo && slash[1] != '\0' && strchr(slash + 1, '/') == NULL &&
                strlen(repo) <= 200;
  for (const char *p = repo; ok && *p; p++)
    if (*p != '/' && !is_name_char(*p)) ok = FALSE;
  /* "." and ".." as names would walk the URL path */
  if (ok && (g_str_has_prefix(repo, "./") || g_str_has_prefix(repo, "../") || g_str_has_suffix(repo, "/.") ||
             g_str_has_suffix(repo, "/..")))
    ok = FALSE;
  if (!ok)
    g_set_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_INVALID,
                _("“%s” is not a Hugging Face model name: expected ORGANIZATION/NAME, for example "
                  "unsloth/DeepSeek-R1-Distill-Qwen-1.5B-GGUF"),
                repo ? repo : "");
  return ok;
}

gboolean distill_hub_check_file_name(const char *file, GError **error)
{
  gboolean ok = file != NULL && *file != '\0' && *file != '/' && strchr(file, '\\') == NULL &&
                strlen(file) <= 1000;
  if (ok) {
    g_auto(GStrv) parts = g_strsplit(file, "/", -1);
    for (char **p = parts; ok && *p; p++)
      if (**p == '\0' || strcmp(*p, ".") == 0 || strcmp(*p, "..") == 0) ok = FALSE;
    for (const char *c = file; ok && *c; c++)
      if ((unsigned char)*c < 0x20) ok = FALSE;
  }
  if (!ok)
    g_set_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_INVALID,
                _("“%s” is not a file name inside a model repository"), file ? file : "");
  return ok;
}

char *distill_hub_build_resolve_url(DistillHub *self, const char *repo, const char *revision,
                                    const char *file)
{
  g_return_val_if_fail(DISTILL_IS_HUB(self), NULL);
  g_autofree char *rev = g_uri_escape_string(revision ? revision : "main", NULL, FALSE);
  g_autofree char *path = g_uri_escape_string(file, "/", FALSE);
  return g_strdup_printf("%s/%s/resolve/%s/%s", self->endpoint, repo, rev, path);
}

static int default_port(const char *scheme)
{
  if (g_ascii_strcasecmp(scheme ? scheme : "", "https") == 0) return 443;
  return 80;
}

gboolean distill_hub_is_hub_uri(DistillHub *self, GUri *uri)
{
  g_return_val_if_fail(DISTILL_IS_HUB(self), FALSE);
  if (uri == NULL) return FALSE;
  GUri *hub = self->endpoint_uri;
  const char *a = g_uri_get_scheme(hub), *b = g_uri_get_scheme(uri);
  if (g_ascii_strcasecmp(a ? a : "", b ? b : "") != 0) return FALSE;
  if (g_ascii_strcasecmp(g_uri_get_host(hub) ? g_uri_get_host(hub) : "",
                         g_uri_get_host(uri) ? g_uri_get_host(uri) : "") != 0)
    return FALSE;
  int pa = g_uri_get_port(hub) > 0 ? g_uri_get_port(hub) : default_port(a);
  int pb = g_uri_get_port(uri) > 0 ? g_uri_get_port(uri) : default_port(b);
  return pa == pb;
}

void distill_hub_prepare_message(DistillHub *self, SoupMessage *msg)
{
  g_return_if_fail(DISTILL_IS_HUB(self));
  SoupMessageHeaders *headers = soup_message_get_request_headers(msg);
  soup_message_add_flags(msg, SOUP_MESSAGE_NO_REDIRECT);
  soup_message_headers_replace(headers, "Accept-Encoding", "identity");
  if (self->token && distill_hub_is_hub_uri(self, soup_message_get_uri(msg))) {
    g_autofree char *value = g_strconcat("Bearer ", self->token, NULL);
    soup_message_headers_replace(headers, "Authorization", value);
  } else {
    /* Another host (the CDN): the token must not travel there. */
    soup_message_headers_remove(headers, "Authorization");
  }
}

char *distill_hub_strip_etag(const char *etag)
{
  if (etag == NULL) return NULL;
  const char *p = etag;
  while (g_ascii_isspace(*p)) p++;
  if (g_str_has_prefix(p, "W/") || g_str_has_prefix(p, "w/")) p += 2;
  g_autofree char *copy = g_strstrip(g_strdup(p));
  gsize len = strlen(copy);
  if (len >= 2 && copy[0] == '"' && copy[len - 1] == '"') {
    copy[len - 1] = '\0';
    return g_strdup(copy + 1);
  }
  return g_steal_pointer(&copy);
}

static gboolean is_hex(const char *s, gsize len)
{
  if (s == NULL || strlen(s) != len) return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit(s[i])) return FALSE;
  return TRUE;
}

DistillHubFileInfo *distill_hub_file_info_from_message(SoupMessage *msg)
{
  SoupMessageHeaders *h = soup_message_get_response_headers(msg);
  DistillHubFileInfo *info = g_new0(DistillHubFileInfo, 1);
  info->size = -1;

  const char *commit = soup_message_headers_get_one(h, "X-Repo-Commit");
  if (commit && *commit) info->commit = g_strstrip(g_strdup(commit));

  const char *etag = soup_message_headers_get_one(h, "X-Linked-Etag");
  if (etag == NULL) etag = soup_message_headers_get_one(h, "ETag");
  info->etag = distill_hub_strip_etag(etag);
  if (info->etag && *info->etag == '\0') g_clear_pointer(&info->etag, g_free);
  if (info->etag && is_hex(info->etag, 64)) info->sha256 = g_ascii_strdown(info->etag, -1);

  const char *linked = soup_message_headers_get_one(h, "X-Linked-Size");
  if (linked) {
    g_autofree char *copy = g_strstrip(g_strdup(linked));
    guint64 v;
    if (g_ascii_string_to_unsigned(copy, 10, 0, G_MAXINT64, &v, NULL)) info->size = (gint64)v;
  }

  guint status = soup_message_get_status(msg);
  const char *location = soup_message_headers_get_one(h, "Location");
  if (SOUP_STATUS_IS_REDIRECTION(status) && location) {
    GUri *resolved = g_uri_parse_relative(soup_message_get_uri(msg), location, SOUP_HTTP_URI_FLAGS, NULL);
    if (resolved) {
      info->location = g_uri_to_string(resolved);
      g_uri_unref(resolved);
    }
  } else if (info->size < 0 && status == SOUP_STATUS_OK) {
    goffset len = soup_message_headers_get_content_length(h);
    if (len > 0 || soup_message_headers_get_encoding(h) == SOUP_ENCODING_CONTENT_LENGTH) info->size = len;
  }
  return info;
}

gint64 distill_hub_parse_retry_after(SoupMessageHeaders *headers)
{
  const char *value = soup_message_headers_get_one(headers, "Retry-After");
  if (value == NULL) return -1;
  g_autofree char *copy = g_strstrip(g_strdup(value));
  guint64 seconds;
  if (g_ascii_string_to_unsigned(copy, 10, 0, 7 * 24 * 3600, &seconds, NULL)) return (gint64)seconds;
  GDateTime *when = soup_date_time_new_from_http_string(copy);
  if (when == NULL) return -1;
  GDateTime *now = g_date_time_new_now_utc();
  GTimeSpan diff = g_date_time_difference(when, now);
  g_date_time_unref(when);
  g_date_time_unref(now);
  if (diff <= 0) return 0;
  return (diff + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;
}

GError *distill_hub_error_for_status(DistillHub *self, SoupMessage *msg, const char *repo,
                                     const char *revision, const char *file)
{
  guint status = soup_message_get_status(msg);
  SoupMessageHeaders *h = soup_message_get_response_headers(msg);
  const char *code = soup_message_headers_get_one(h, "X-Error-Code");
  gboolean on_hub = distill_hub_is_hub_uri(self, soup_message_get_uri(msg));
  const char *reason = soup_message_get_reason_phrase(msg);
  if (reason == NULL || *reason == '\0') reason = soup_status_get_phrase(status);
  if (reason == NULL) reason = "";

  if (status == SOUP_STATUS_UNAUTHORIZED || (status == SOUP_STATUS_FORBIDDEN && on_hub)) {
    if (!self->token)
      return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH,
                         _("The model %s is gated or private (or does not exist): set a Hugging Face "
                           "token of an account that has access to it (in Preferences, or the HF_TOKEN "
                           "environment variable), and accept the model’s conditions on its Hugging Face "
                           "page."),
                         repo);
    if (status == SOUP_STATUS_FORBIDDEN)
      return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH,
                         _("Your Hugging Face account has no access to the gated model %s yet: request "
                           "access on the model’s Hugging Face page (it may still be awaiting review), "
                           "then try again."),
                         repo);
    return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH,
                       _("Hugging Face refused your token for %s: the model is gated or private (or does "
                         "not exist) and this token has no access to it. Check the token in Preferences."),
                       repo);
  }
  if (status == SOUP_STATUS_FORBIDDEN)
    return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_AUTH,
                       _("The download server refused access to %s (HTTP 403). The download link may "
                         "have expired; try again."),
                       file ? file : repo);
  if (status == SOUP_STATUS_NOT_FOUND) {
    if (g_strcmp0(code, "RepoNotFound") == 0 || file == NULL)
      return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NOT_FOUND,
                         _("There is no model %s on Hugging Face."), repo);
    if (g_strcmp0(code, "RevisionNotFound") == 0)
      return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NOT_FOUND,
                         _("The model %s has no revision “%s”."), repo, revision ? revision : "main");
    return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NOT_FOUND,
                       _("The model %s has no file “%s” (at revision “%s”)."), repo, file,
                       revision ? revision : "main");
  }
  if (status == 429)
    return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_RATE_LIMITED,
                       _("Hugging Face is limiting the number of requests (HTTP 429); try again in a few "
                         "minutes."));
  if (status >= 500 && status < 600)
    return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_SERVER,
                       _("The server had a problem (HTTP %u %s)."), status, reason);
  return g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                     _("Unexpected answer from the server (HTTP %u %s)."), status, reason);
}

/* ---- HEAD resolve ---------------------------------------------------------------------- */

typedef struct {
  char *repo, *revision, *file;
  guint redirects;
  SoupMessage *msg;
} QueryData;

static void query_data_free(QueryData *d)
{
  g_free(d->repo);
  g_free(d->revision);
  g_free(d->file);
  g_clear_object(&d->msg);
  g_free(d);
}

static void query_send(GTask *task, const char *url);

static void query_sent(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  DistillHub *self = g_task_get_source_object(task);
  QueryData *d = g_task_get_task_data(task);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
  if (body == NULL) {
    g_task_return_error(task, error);
    return;
  }
  guint status = soup_message_get_status(d->msg);
  g_autoptr(DistillHubFileInfo) info = distill_hub_file_info_from_message(d->msg);

  if (SOUP_STATUS_IS_REDIRECTION(status) && info->location) {
    g_autoptr(GUri) target = g_uri_parse(info->location, SOUP_HTTP_URI_FLAGS, NULL);
    if (target && distill_hub_is_hub_uri(self, target)) {
      /* a renamed repo: the hub points at the new name, ask there */
      if (++d->redirects > MAX_HUB_REDIRECTS) {
        g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                                _("Hugging Face sent too many redirects for %s."), d->repo);
        return;
      }
      query_send(g_steal_pointer(&task), info->location);
      return;
    }
    g_task_return_pointer(task, g_steal_pointer(&info), (GDestroyNotify)distill_hub_file_info_free);
    return;
  }
  if (status == SOUP_STATUS_OK) {
    g_task_return_pointer(task, g_steal_pointer(&info), (GDestroyNotify)distill_hub_file_info_free);
    return;
  }
  g_task_return_error(task, distill_hub_error_for_status(self, d->msg, d->repo, d->revision, d->file));
}

static void query_send(GTask *task, const char *url)
{
  DistillHub *self = g_task_get_source_object(task);
  QueryData *d = g_task_get_task_data(task);
  g_clear_object(&d->msg);
  d->msg = soup_message_new(SOUP_METHOD_HEAD, url);
  if (d->msg == NULL) {
    g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                            _("Invalid address: %s"), url);
    g_object_unref(task);
    return;
  }
  distill_hub_prepare_message(self, d->msg);
  soup_session_send_and_read_async(self->session, d->msg, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable(task), query_sent, task);
}

void distill_hub_query_file_async(DistillHub *self, const char *repo, const char *revision,
                                  const char *file, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_HUB(self));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_hub_query_file_async);
  GError *error = NULL;
  if (!distill_hub_check_repo_id(repo, &error) || !distill_hub_check_file_name(file, &error)) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  QueryData *d = g_new0(QueryData, 1);
  d->repo = g_strdup(repo);
  d->revision = g_strdup(revision ? revision : "main");
  d->file = g_strdup(file);
  g_task_set_task_data(task, d, (GDestroyNotify)query_data_free);
  g_autofree char *url = distill_hub_build_resolve_url(self, repo, d->revision, file);
  query_send(task, url);
}

DistillHubFileInfo *distill_hub_query_file_finish(DistillHub *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- tree listing ---------------------------------------------------------------------- */

typedef struct {
  char *repo, *revision;
  GPtrArray *entries;
  guint pages;
  SoupMessage *msg;
} TreeData;

static void tree_data_free(TreeData *d)
{
  g_free(d->repo);
  g_free(d->revision);
  g_clear_pointer(&d->entries, g_ptr_array_unref);
  g_clear_object(&d->msg);
  g_free(d);
}

/* Find the rel="next" target of a Link header: <url>; rel="next", <url2>; rel="prev" */
static char *link_next(const char *link)
{
  const char *p = link;
  while (p && *p) {
    const char *lt = strchr(p, '<');
    if (lt == NULL) return NULL;
    const char *gt = strchr(lt, '>');
    if (gt == NULL) return NULL;
    const char *end = strchr(gt, ',');
    /* a comma inside the params would be unusual; the next '<' starts the next link */
    const char *next_lt = strchr(gt, '<');
    if (end == NULL || (next_lt && next_lt < end)) end = next_lt ? next_lt : gt + strlen(gt);
    g_autofree char *params = g_strndup(gt + 1, end - gt - 1);
    g_autofree char *lower = g_ascii_strdown(params, -1);
    if (strstr(lower, "rel=\"next\"") || strstr(lower, "rel=next")) return g_strndup(lt + 1, gt - lt - 1);
    p = end;
  }
  return NULL;
}

static gboolean parse_tree_page(GBytes *body, GPtrArray *entries, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  gsize len = 0;
  const char *data = g_bytes_get_data(body, &len);
  if (!json_parser_load_from_data(parser, data ? data : "", (gssize)len, NULL) ||
      json_parser_get_root(parser) == NULL || !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(parser))) {
    g_set_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                _("Hugging Face sent a file list we could not read."));
    return FALSE;
  }
  JsonArray *array = json_node_get_array(json_parser_get_root(parser));
  for (guint i = 0; i < json_array_get_length(array); i++) {
    JsonNode *node = json_array_get_element(array, i);
    if (!JSON_NODE_HOLDS_OBJECT(node)) continue;
    JsonObject *o = json_node_get_object(node);
    const char *path = json_object_get_string_member_with_default(o, "path", NULL);
    if (path == NULL) continue;
    DistillHubEntry *e = g_new0(DistillHubEntry, 1);
    e->path = g_strdup(path);
    e->is_dir = g_strcmp0(json_object_get_string_member_with_default(o, "type", "file"), "directory") == 0;
    e->size = e->is_dir ? -1 : json_object_get_int_member_with_default(o, "size", -1);
    const char *oid = json_object_get_string_member_with_default(o, "oid", NULL);
    e->oid = g_strdup(oid);
    if (json_object_has_member(o, "lfs") && JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, "lfs"))) {
      JsonObject *lfs = json_object_get_object_member(o, "lfs");
      const char *sha = json_object_get_string_member_with_default(lfs, "oid", NULL);
      if (sha && is_hex(sha, 64)) e->sha256 = g_ascii_strdown(sha, -1);
      gint64 size = json_object_get_int_member_with_default(lfs, "size", -1);
      if (size >= 0) e->size = size;
    }
    g_ptr_array_add(entries, e);
  }
  return TRUE;
}

static void tree_fetch(GTask *task, const char *url);

static void tree_page_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  DistillHub *self = g_task_get_source_object(task);
  TreeData *d = g_task_get_task_data(task);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
  if (body == NULL) {
    g_task_return_error(task, error);
    return;
  }
  guint status = soup_message_get_status(d->msg);
  if (status != SOUP_STATUS_OK) {
    g_task_return_error(task, distill_hub_error_for_status(self, d->msg, d->repo, d->revision, NULL));
    return;
  }
  if (!parse_tree_page(body, d->entries, &error)) {
    g_task_return_error(task, error);
    return;
  }
  const char *link = soup_message_headers_get_one(soup_message_get_response_headers(d->msg), "Link");
  g_autofree char *next = link ? link_next(link) : NULL;
  if (next) {
    GUri *resolved = g_uri_parse_relative(soup_message_get_uri(d->msg), next, SOUP_HTTP_URI_FLAGS, NULL);
    if (resolved == NULL || !distill_hub_is_hub_uri(self, resolved) || ++d->pages > MAX_TREE_PAGES) {
      if (resolved) g_uri_unref(resolved);
      g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                              _("Hugging Face sent a file list we could not follow."));
      return;
    }
    g_autofree char *url = g_uri_to_string(resolved);
    g_uri_unref(resolved);
    tree_fetch(g_steal_pointer(&task), url);
    return;
  }
  g_task_return_pointer(task, g_steal_pointer(&d->entries), (GDestroyNotify)g_ptr_array_unref);
}

static void tree_fetch(GTask *task, const char *url)
{
  DistillHub *self = g_task_get_source_object(task);
  TreeData *d = g_task_get_task_data(task);
  g_clear_object(&d->msg);
  d->msg = soup_message_new(SOUP_METHOD_GET, url);
  if (d->msg == NULL) {
    g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL, _("Invalid address: %s"), url);
    g_object_unref(task);
    return;
  }
  distill_hub_prepare_message(self, d->msg);
  soup_message_headers_replace(soup_message_get_request_headers(d->msg), "Accept", "application/json");
  soup_session_send_and_read_async(self->session, d->msg, G_PRIORITY_DEFAULT, g_task_get_cancellable(task),
                                   tree_page_done, task);
}

void distill_hub_list_files_async(DistillHub *self, const char *repo, const char *revision,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_HUB(self));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_hub_list_files_async);
  GError *error = NULL;
  if (!distill_hub_check_repo_id(repo, &error)) {
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  TreeData *d = g_new0(TreeData, 1);
  d->repo = g_strdup(repo);
  d->revision = g_strdup(revision ? revision : "main");
  d->entries = g_ptr_array_new_with_free_func((GDestroyNotify)distill_hub_entry_free);
  g_task_set_task_data(task, d, (GDestroyNotify)tree_data_free);
  g_autofree char *rev = g_uri_escape_string(d->revision, NULL, FALSE);
  g_autofree char *url = g_strdup_printf("%s/api/models/%s/tree/%s?recursive=true", self->endpoint, repo, rev);
  tree_fetch(task, url);
}

GPtrArray *distill_hub_list_files_finish(DistillHub *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- search ---------------------------------------------------------------------------- */

void distill_hub_model_free(DistillHubModel *model)
{
  if (model == NULL) return;
  g_free(model->id);
  g_clear_pointer(&model->last_modified, g_date_time_unref);
  g_free(model);
}

static gint64 int_member(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE(n)) return -1;
  GType t = json_node_get_value_type(n);
  if (t == G_TYPE_INT64) return MAX(json_node_get_int(n), 0);
  if (t == G_TYPE_DOUBLE) return (gint64)MAX(json_node_get_double(n), 0.0);
  return -1;
}

GPtrArray *distill_hub_parse_search(const char *json, gssize len, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, json ? json : "", json ? len : 0, NULL) ||
      json_parser_get_root(parser) == NULL || !JSON_NODE_HOLDS_ARRAY(json_parser_get_root(parser))) {
    g_set_error(error, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                _("Hugging Face sent search results we could not read."));
    return NULL;
  }
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_hub_model_free);
  JsonArray *array = json_node_get_array(json_parser_get_root(parser));
  for (guint i = 0; i < json_array_get_length(array); i++) {
    JsonNode *node = json_array_get_element(array, i);
    if (!JSON_NODE_HOLDS_OBJECT(node)) continue;
    JsonObject *o = json_node_get_object(node);
    JsonNode *idn = json_object_get_member(o, "id");
    if (idn == NULL) idn = json_object_get_member(o, "modelId");
    if (idn == NULL || json_node_get_value_type(idn) != G_TYPE_STRING) continue;
    const char *id = json_node_get_string(idn);
    /* what we cannot ask about later (a strange name) is not worth showing */
    if (!distill_hub_check_repo_id(id, NULL)) continue;
    DistillHubModel *m = g_new0(DistillHubModel, 1);
    m->id = g_strdup(id);
    m->downloads = int_member(o, "downloads");
    m->likes = int_member(o, "likes");
    JsonNode *lm = json_object_get_member(o, "lastModified");
    if (lm && json_node_get_value_type(lm) == G_TYPE_STRING)
      m->last_modified = g_date_time_new_from_iso8601(json_node_get_string(lm), NULL);
    JsonNode *gated = json_object_get_member(o, "gated");
    /* false, or "auto" / "manual" */
    if (gated && JSON_NODE_HOLDS_VALUE(gated))
      m->gated = json_node_get_value_type(gated) == G_TYPE_STRING ? TRUE : json_node_get_boolean(gated);
    g_ptr_array_add(out, m);
  }
  return out;
}

GError *distill_hub_wrap_network_error(DistillHub *self, GError *error)
{
  (void)self;
  if (error == NULL || error->domain == DISTILL_HUB_ERROR || g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  GError *wrapped;
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    wrapped = g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NETWORK,
                          _("Hugging Face did not answer in time. Check your internet connection and try again."));
  else
    wrapped = g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_NETWORK,
                          _("Could not reach Hugging Face (%s). Check your internet connection and try again."),
                          error->message);
  g_error_free(error);
  return wrapped;
}

typedef struct {
  SoupMessage *msg;
  gint64 retry_after;
} SearchData;

static void search_data_free(SearchData *d)
{
  g_clear_object(&d->msg);
  g_free(d);
}

static void search_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  DistillHub *self = g_task_get_source_object(task);
  SearchData *d = g_task_get_task_data(task);
  GError *error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
  if (body == NULL) {
    g_task_return_error(task, distill_hub_wrap_network_error(self, error));
    return;
  }
  guint status = soup_message_get_status(d->msg);
  if (status == 429) {
    d->retry_after = distill_hub_parse_retry_after(soup_message_get_response_headers(d->msg));
    if (d->retry_after > 0)
      g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_RATE_LIMITED,
                              g_dngettext(GETTEXT_PACKAGE,
                                          "Hugging Face is limiting the number of searches. Try again in %d second.",
                                          "Hugging Face is limiting the number of searches. Try again in %d seconds.",
                                          (gulong)d->retry_after),
                              (int)MIN(d->retry_after, G_MAXINT));
    else
      g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_RATE_LIMITED,
                              _("Hugging Face is limiting the number of searches. Try again in a few minutes."));
    return;
  }
  if (status >= 500 && status < 600) {
    g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_SERVER,
                            _("Hugging Face had a problem answering the search (HTTP %u). Try again later."), status);
    return;
  }
  if (status != SOUP_STATUS_OK) {
    g_task_return_error(task, distill_hub_error_for_status(self, d->msg, "", NULL, NULL));
    return;
  }
  gsize len = 0;
  const char *data = g_bytes_get_data(body, &len);
  GPtrArray *models = distill_hub_parse_search(data, (gssize)len, &error);
  if (models == NULL) g_task_return_error(task, error);
  else g_task_return_pointer(task, models, (GDestroyNotify)g_ptr_array_unref);
}

void distill_hub_search_models_async(DistillHub *self, const char *query, guint limit, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_HUB(self));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_hub_search_models_async);
  SearchData *d = g_new0(SearchData, 1);
  d->retry_after = -1;
  g_task_set_task_data(task, d, (GDestroyNotify)search_data_free);
  g_autofree char *q = g_uri_escape_string(query ? query : "", NULL, FALSE);
  g_autofree char *url =
    g_strdup_printf("%s/api/models?search=%s&filter=gguf&sort=downloads&direction=-1&limit=%u"
                    "&expand=downloads&expand=likes&expand=lastModified&expand=gated",
                    self->endpoint, q, limit ? limit : DISTILL_HUB_SEARCH_LIMIT);
  d->msg = soup_message_new(SOUP_METHOD_GET, url);
  if (d->msg == NULL) {
    g_task_return_new_error(task, DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL, _("Invalid address: %s"), url);
    g_object_unref(task);
    return;
  }
  distill_hub_prepare_message(self, d->msg);
  soup_message_headers_replace(soup_message_get_request_headers(d->msg), "Accept", "application/json");
  soup_session_send_and_read_async(self->session, d->msg, G_PRIORITY_DEFAULT, cancellable, search_done, task);
}

GPtrArray *distill_hub_search_models_finish(DistillHub *self, GAsyncResult *result, gint64 *retry_after,
                                            GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), NULL);
  SearchData *d = g_task_get_task_data(G_TASK(result));
  if (retry_after) *retry_after = d ? d->retry_after : -1;
  return g_task_propagate_pointer(G_TASK(result), error);
}
