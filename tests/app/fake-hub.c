/* fake-hub.c — see fake-hub.h. */
#include <gio/gio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "fake-hub.h"

#define TREE_PAGE 2

typedef struct {
  char *repo, *path;
  GBytes *content;
  gboolean lfs;
  char *sha256;
  char *git_oid;
} FakeFile;

struct _FakeHub {
  SoupServer *server;
  guint port;
  char *endpoint;
  GPtrArray *files;
  GHashTable *gated;   /* repo → token */
  GHashTable *renames; /* old repo → new repo */
  FakeHubFaults faults;
  guint next_drop;
  guint sig_next;   /* signature number of the next CDN URL */
  guint sig_valid;  /* URLs with a smaller number have expired */
  GArray *requests; /* FakeHubRequest */
  guint resolves;
  guint trees;
  gboolean saw_auth_on_hub;
  GList *jobs;
  guint restart_source;
  GPtrArray *repo_infos; /* RepoInfo */
  guint searches;
  char *last_search;
  GList *delayed; /* SoupServerMessage paused by slow_search */
  FakeHubClientProbe probe;
  gpointer probe_data;
};

typedef struct {
  char *repo;
  gint64 downloads, likes;
  char *last_modified;
} RepoInfo;

static void repo_info_free(RepoInfo *r)
{
  g_free(r->repo);
  g_free(r->last_modified);
  g_free(r);
}

typedef struct {
  FakeHub *hub;
  SoupServerMessage *msg;
  GBytes *content;
  gint64 start, end; /* the served range [start, end) */
  gint64 pos;        /* next offset to hand to libsoup */
  gint64 limit;      /* hand out bytes up to here only */
  gboolean cut;      /* at limit: cut the connection */
  gboolean cutting;
  guint req_index;
  guint source;
} BodyJob;

static void fake_file_free(FakeFile *f)
{
  g_free(f->repo);
  g_free(f->path);
  g_bytes_unref(f->content);
  g_free(f->sha256);
  g_free(f->git_oid);
  g_free(f);
}

GBytes *fake_hub_make_content(gsize size, guint32 seed)
{
  guint8 *data = g_malloc(size ? size : 1);
  guint32 x = seed ? seed : 0x9e3779b9u;
  for (gsize i = 0; i < size; i++) {
    /* xorshift32: cheap, deterministic, and not compressible or periodic at these sizes */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    data[i] = (guint8)(x >> 24);
  }
  return g_bytes_new_take(data, size);
}

char *fake_hub_sha256(GBytes *content)
{
  return g_compute_checksum_for_bytes(G_CHECKSUM_SHA256, content);
}

static char *git_blob_oid(GBytes *content)
{
  g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA1);
  g_autofree char *header = g_strdup_printf("blob %" G_GSIZE_FORMAT, g_bytes_get_size(content));
  g_checksum_update(sum, (const guchar *)header, strlen(header) + 1);
  g_checksum_update(sum, g_bytes_get_data(content, NULL), g_bytes_get_size(content));
  return g_strdup(g_checksum_get_string(sum));
}

void fake_hub_add_file(FakeHub *hub, const char *repo, const char *path, GBytes *content, gboolean lfs)
{
  FakeFile *f = g_new0(FakeFile, 1);
  f->repo = g_strdup(repo);
  f->path = g_strdup(path);
  f->content = g_bytes_ref(content);
  f->lfs = lfs;
  f->sha256 = fake_hub_sha256(content);
  f->git_oid = git_blob_oid(content);
  g_ptr_array_add(hub->files, f);
}

void fake_hub_set_gated(FakeHub *hub, const char *repo, const char *token)
{
  g_hash_table_replace(hub->gated, g_strdup(repo), g_strdup(token));
}

void fake_hub_add_rename(FakeHub *hub, const char *old_repo, const char *new_repo)
{
  g_hash_table_replace(hub->renames, g_strdup(old_repo), g_strdup(new_repo));
}

const char *fake_hub_endpoint(FakeHub *hub) { return hub->endpoint; }
FakeHubFaults *fake_hub_faults(FakeHub *hub) { return &hub->faults; }
GArray *fake_hub_requests(FakeHub *hub) { return hub->requests; }
guint fake_hub_resolve_count(FakeHub *hub) { return hub->resolves; }
guint fake_hub_tree_count(FakeHub *hub) { return hub->trees; }
gboolean fake_hub_saw_auth_on_hub(FakeHub *hub) { return hub->saw_auth_on_hub; }

void fake_hub_set_client_probe(FakeHub *hub, FakeHubClientProbe probe, gpointer user_data)
{
  hub->probe = probe;
  hub->probe_data = user_data;
}

/* Raise request `index`'s received mark to what the client has now. */
static void sample_client(FakeHub *hub, guint index)
{
  if (hub->probe == NULL || index >= hub->requests->len) return;
  FakeHubRequest *r = &g_array_index(hub->requests, FakeHubRequest, index);
  gint64 now = hub->probe(hub->probe_data);
  if (now > r->received) r->received = now;
}

gint64 fake_hub_last_sent(FakeHub *hub)
{
  if (hub->requests->len == 0) return 0;
  return g_array_index(hub->requests, FakeHubRequest, hub->requests->len - 1).sent;
}

void fake_hub_clear_log(FakeHub *hub)
{
  g_array_set_size(hub->requests, 0);
  hub->resolves = 0;
  hub->trees = 0;
  hub->saw_auth_on_hub = FALSE;
}

static FakeFile *find_file(FakeHub *hub, const char *repo, const char *path)
{
  for (guint i = 0; i < hub->files->len; i++) {
    FakeFile *f = g_ptr_array_index(hub->files, i);
    if (g_strcmp0(f->repo, repo) == 0 && (path == NULL || g_strcmp0(f->path, path) == 0)) return f;
  }
  return NULL;
}

static FakeFile *find_by_sha(FakeHub *hub, const char *sha)
{
  for (guint i = 0; i < hub->files->len; i++) {
    FakeFile *f = g_ptr_array_index(hub->files, i);
    if (g_strcmp0(f->sha256, sha) == 0) return f;
  }
  return NULL;
}

static void set_text(SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status(msg, status, NULL);
  soup_server_message_set_response(msg, "text/plain", SOUP_MEMORY_COPY, text, strlen(text));
}

/* ---- server lifetime ---------------------------------------------------------------------- */

static void handler(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                    gpointer data);

static void listen_now(FakeHub *hub)
{
  GError *error = NULL;
  if (!soup_server_listen_local(hub->server, hub->port, SOUP_SERVER_LISTEN_IPV4_ONLY, &error))
    g_error("fake hub: cannot listen on port %u: %s", hub->port, error->message);
  if (hub->port == 0) {
    GSList *uris = soup_server_get_uris(hub->server);
    hub->port = (guint)g_uri_get_port(uris->data);
    g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
  }
}

FakeHub *fake_hub_new(void)
{
  FakeHub *hub = g_new0(FakeHub, 1);
  hub->files = g_ptr_array_new_with_free_func((GDestroyNotify)fake_file_free);
  hub->gated = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  hub->renames = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  hub->requests = g_array_new(FALSE, TRUE, sizeof(FakeHubRequest));
  hub->repo_infos = g_ptr_array_new_with_free_func((GDestroyNotify)repo_info_free);
  hub->faults.corrupt_at = -1;
  hub->faults.stall_at = -1;
  hub->sig_next = 1;
  hub->sig_valid = 1;
  hub->server = soup_server_new("server-header", "FakeHub", NULL);
  soup_server_add_handler(hub->server, NULL, handler, hub, NULL);
  listen_now(hub);
  hub->endpoint = g_strdup_printf("http://127.0.0.1:%u", hub->port);
  return hub;
}

static void job_free(BodyJob *job)
{
  if (job->source) g_source_remove(job->source);
  g_bytes_unref(job->content);
  g_object_unref(job->msg);
  g_free(job);
}

void fake_hub_free(FakeHub *hub)
{
  if (hub->restart_source) g_source_remove(hub->restart_source);
  soup_server_disconnect(hub->server);
  g_list_free_full(g_steal_pointer(&hub->jobs), (GDestroyNotify)job_free);
  g_object_unref(hub->server);
  g_ptr_array_unref(hub->files);
  g_hash_table_unref(hub->gated);
  g_hash_table_unref(hub->renames);
  g_array_unref(hub->requests);
  g_free(hub->faults.retry_after);
  g_free(hub->faults.search_retry_after);
  g_free(hub->faults.slow_search);
  for (GList *l = hub->delayed; l; l = l->next) {
    g_source_remove_by_user_data(l->data);
    g_object_unref(l->data);
  }
  g_list_free(hub->delayed);
  g_ptr_array_unref(hub->repo_infos);
  g_free(hub->last_search);
  g_free(hub->endpoint);
  g_free(hub);
}

static gboolean relisten(gpointer data)
{
  FakeHub *hub = data;
  hub->restart_source = 0;
  listen_now(hub);
  return G_SOURCE_REMOVE;
}

/* ---- streaming a body --------------------------------------------------------------------- */

static FakeHubRequest *job_request(BodyJob *job)
{
  return &g_array_index(job->hub->requests, FakeHubRequest, job->req_index);
}

static void append_piece(BodyJob *job, gint64 len)
{
  SoupMessageBody *body = soup_server_message_get_response_body(job->msg);
  GBytes *piece = g_bytes_new_from_bytes(job->content, (gsize)job->pos, (gsize)len);
  FakeHubFaults *f = &job->hub->faults;
  if (f->corrupt_at >= job->pos && f->corrupt_at < job->pos + len) {
    gsize size;
    guint8 *copy = g_bytes_unref_to_data(piece, &size);
    copy[f->corrupt_at - job->pos] ^= 0x5a;
    piece = g_bytes_new_take(copy, size);
  }
  soup_message_body_append_bytes(body, piece);
  g_bytes_unref(piece);
  job->pos += len;
  if (job->pos >= job->end) soup_message_body_complete(body);
  soup_server_message_unpause(job->msg);
}

static gboolean trickle_cb(gpointer data)
{
  BodyJob *job = data;
  gint64 len = MIN((gint64)job->hub->faults.trickle_bytes, job->limit - job->pos);
  if (len <= 0) {
    job->source = 0;
    return G_SOURCE_REMOVE;
  }
  append_piece(job, len);
  if (job->pos >= job->limit) {
    job->source = 0;
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean cut_cb(gpointer data)
{
  BodyJob *job = data;
  FakeHub *hub = job->hub;
  job->source = 0;
  if (hub->faults.expire_on_drop) hub->sig_valid = hub->sig_next;
  if (hub->faults.drop_restart_ms > 0) {
    /* the whole server goes away (all connections, the listener) and comes back later */
    soup_server_disconnect(hub->server);
    hub->restart_source = g_timeout_add(hub->faults.drop_restart_ms, relisten, hub);
    return G_SOURCE_REMOVE;
  }
  GSocket *socket = soup_server_message_get_socket(job->msg);
  if (socket) g_socket_shutdown(socket, TRUE, TRUE, NULL);
  /* let libsoup notice: it writes nothing more, reads EOF and drops the connection */
  soup_message_body_complete(soup_server_message_get_response_body(job->msg));
  soup_server_message_unpause(job->msg);
  return G_SOURCE_REMOVE;
}

static void wrote_body_data(SoupServerMessage *msg, guint size, BodyJob *job)
{
  FakeHubRequest *r = job_request(job);
  r->sent += size;
  sample_client(job->hub, job->req_index);
  if (job->cut && !job->cutting && job->start + r->sent >= job->limit) {
    job->cutting = TRUE;
    if (job->source) g_source_remove(job->source);
    job->source = g_idle_add(cut_cb, job);
  }
}

static void job_finished(SoupServerMessage *msg, BodyJob *job)
{
  job->hub->jobs = g_list_remove(job->hub->jobs, job);
  g_signal_handlers_disconnect_by_data(msg, job);
  job_free(job);
}

/* "bytes=A-" or "bytes=A-B"; *last is B, or -1 when open-ended. */
static gboolean parse_range_end(SoupServerMessage *msg, gint64 *start, gint64 *last)
{
  const char *range = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Range");
  *start = 0;
  *last = -1;
  if (range == NULL || !g_str_has_prefix(range, "bytes=")) return FALSE;
  char *end;
  *start = g_ascii_strtoll(range + 6, &end, 10);
  if (*end != '-') return FALSE;
  if (g_ascii_isdigit(end[1])) *last = g_ascii_strtoll(end + 1, NULL, 10);
  return TRUE;
}

static gboolean parse_range(SoupServerMessage *msg, gint64 *start)
{
  const char *range = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Range");
  *start = 0;
  if (range == NULL) return FALSE;
  if (!g_str_has_prefix(range, "bytes=")) return FALSE;
  char *end;
  *start = g_ascii_strtoll(range + 6, &end, 10);
  return *end == '-';
}

/* Serve f's bytes for a GET (Range aware) with all the faults. */
static void serve_body(FakeHub *hub, SoupServerMessage *msg, FakeFile *f)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers(msg);
  FakeHubFaults *faults = &hub->faults;
  gint64 size = (gint64)g_bytes_get_size(f->content);
  FakeHubRequest r = {0};
  gint64 range_last = -1;
  r.received = -1;
  /* the client comes back: what it holds now is all it got from the previous request */
  if (hub->requests->len > 0) sample_client(hub, hub->requests->len - 1);
  r.ranged = parse_range_end(msg, &r.start, &range_last);
  r.had_auth = soup_message_headers_get_one(req, "Authorization") != NULL;
  guint index = hub->requests->len;

  if (faults->fail_503 > 0) {
    faults->fail_503--;
    r.status = 503;
    g_array_append_val(hub->requests, r);
    set_text(msg, 503, "Service Unavailable");
    return;
  }
  if (faults->fail_429 > 0) {
    faults->fail_429--;
    r.status = 429;
    g_array_append_val(hub->requests, r);
    if (faults->retry_after) soup_message_headers_replace(resp, "Retry-After", faults->retry_after);
    set_text(msg, 429, "Too Many Requests");
    return;
  }
  if (r.ranged && faults->ignore_range_once) {
    faults->ignore_range_once = FALSE;
    r.ranged = FALSE;
    r.start = 0;
  }
  if (r.ranged && r.start >= size) {
    r.status = 416;
    g_array_append_val(hub->requests, r);
    g_autofree char *cr = g_strdup_printf("bytes */%" G_GINT64_FORMAT, size);
    soup_message_headers_replace(resp, "Content-Range", cr);
    set_text(msg, 416, "Range Not Satisfiable");
    return;
  }
  r.status = r.ranged ? 206 : 200;
  g_array_append_val(hub->requests, r);

  BodyJob *job = g_new0(BodyJob, 1);
  job->hub = hub;
  job->msg = g_object_ref(msg);
  job->content = g_bytes_ref(f->content);
  job->start = job->pos = r.start;
  job->end = job->limit = r.ranged && range_last >= r.start && range_last < size ? range_last + 1 : size;
  job->req_index = index;
  while (hub->next_drop < faults->n_drops && faults->drop_at[hub->next_drop] <= job->start) hub->next_drop++;
  if (hub->next_drop < faults->n_drops && faults->drop_at[hub->next_drop] < job->end) {
    job->limit = faults->drop_at[hub->next_drop++];
    job->cut = TRUE;
  } else if (faults->short_body_once) {
    faults->short_body_once = FALSE;
    job->limit = job->start + (job->end - job->start) / 2;
    job->cut = TRUE;
  } else if (faults->stall_at > job->start && faults->stall_at < job->end) {
    job->limit = faults->stall_at; /* and then nothing: the client waits on an open connection */
  }

  soup_server_message_set_status(msg, r.status, NULL);
  soup_message_headers_set_encoding(resp, SOUP_ENCODING_CONTENT_LENGTH);
  soup_message_headers_set_content_length(resp, job->end - job->start);
  soup_message_headers_set_content_type(resp, "application/octet-stream", NULL);
  if (r.ranged) soup_message_headers_set_content_range(resp, job->start, job->end - 1, size);
  soup_message_body_set_accumulate(soup_server_message_get_response_body(msg), FALSE);

  g_signal_connect(msg, "wrote-body-data", G_CALLBACK(wrote_body_data), job);
  g_signal_connect(msg, "finished", G_CALLBACK(job_finished), job);
  hub->jobs = g_list_prepend(hub->jobs, job);
  if (job->limit <= job->start) {
    /* cut before the first byte */
    job->cutting = TRUE;
    job->source = g_idle_add(cut_cb, job);
  } else if (faults->trickle_bytes > 0) {
    job->source = g_timeout_add(MAX(1u, faults->trickle_ms), trickle_cb, job);
  } else {
    append_piece(job, job->limit - job->pos);
    return;
  }
  soup_server_message_pause(msg);
}

/* ---- endpoints ---------------------------------------------------------------------------- */

static int compare_paths(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static void serve_tree(FakeHub *hub, SoupServerMessage *msg, const char *repo, GHashTable *query)
{
  hub->trees++;
  /* every file plus the folders above it, sorted by path */
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < hub->files->len; i++) {
    FakeFile *f = g_ptr_array_index(hub->files, i);
    if (g_strcmp0(f->repo, repo) != 0) continue;
    g_ptr_array_add(paths, g_strdup(f->path));
    for (const char *s = strchr(f->path, '/'); s; s = strchr(s + 1, '/')) {
      char *dir = g_strndup(f->path, s - f->path);
      if (g_hash_table_contains(seen, dir)) {
        g_free(dir);
        continue;
      }
      g_hash_table_add(seen, dir);
      g_ptr_array_add(paths, g_strconcat(dir, "/", NULL)); /* trailing '/' marks a folder */
    }
  }
  if (paths->len == 0) {
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "X-Error-Code", "RepoNotFound");
    set_text(msg, 401, "Repository not found");
    return;
  }
  g_ptr_array_sort(paths, compare_paths);
  guint cursor = 0;
  const char *c = query ? g_hash_table_lookup(query, "cursor") : NULL;
  if (c) cursor = (guint)g_ascii_strtoull(c, NULL, 10);

  GString *json = g_string_new("[");
  for (guint i = cursor; i < paths->len && i < cursor + TREE_PAGE; i++) {
    const char *p = g_ptr_array_index(paths, i);
    if (i > cursor) g_string_append(json, ",");
    if (g_str_has_suffix(p, "/")) {
      g_autofree char *dir = g_strndup(p, strlen(p) - 1);
      g_string_append_printf(json, "{\"type\":\"directory\",\"oid\":\"%040d\",\"size\":0,\"path\":\"%s\"}", 0, dir);
      continue;
    }
    FakeFile *f = find_file(hub, repo, p);
    gsize size = g_bytes_get_size(f->content);
    if (f->lfs)
      g_string_append_printf(json,
                             "{\"type\":\"file\",\"oid\":\"%s\",\"size\":%" G_GSIZE_FORMAT ",\"path\":\"%s\","
                             "\"lfs\":{\"oid\":\"%s\",\"size\":%" G_GSIZE_FORMAT ",\"pointerSize\":134}}",
                             f->git_oid, size, f->path, f->sha256, size);
    else
      g_string_append_printf(json, "{\"type\":\"file\",\"oid\":\"%s\",\"size\":%" G_GSIZE_FORMAT ",\"path\":\"%s\"}",
                             f->git_oid, size, f->path);
  }
  g_string_append(json, "]");
  if (cursor + TREE_PAGE < paths->len) {
    GUri *uri = soup_server_message_get_uri(msg);
    g_autofree char *link = g_strdup_printf("<%s%s?recursive=true&cursor=%u>; rel=\"next\"", hub->endpoint,
                                            g_uri_get_path(uri), cursor + TREE_PAGE);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Link", link);
  }
  soup_server_message_set_status(msg, 200, NULL);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, json->str, json->len);
  g_string_free(json, FALSE);
}

static void serve_resolve(FakeHub *hub, SoupServerMessage *msg, const char *repo, const char *rev,
                          const char *file)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders *resp = soup_server_message_get_response_headers(msg);
  hub->resolves++;
  const char *auth = soup_message_headers_get_one(req, "Authorization");
  if (auth) hub->saw_auth_on_hub = TRUE;

  const char *renamed = g_hash_table_lookup(hub->renames, repo);
  if (renamed) {
    g_autofree char *escaped_rev = g_uri_escape_string(rev, NULL, FALSE);
    g_autofree char *escaped_file = g_uri_escape_string(file, "/", FALSE);
    g_autofree char *location = g_strdup_printf("/%s/resolve/%s/%s", renamed, escaped_rev, escaped_file);
    soup_message_headers_replace(resp, "Location", location);
    set_text(msg, 307, "Moved");
    return;
  }
  if (find_file(hub, repo, NULL) == NULL) {
    soup_message_headers_replace(resp, "X-Error-Code", "RepoNotFound");
    set_text(msg, 401, "Repository not found");
    return;
  }
  const char *token = g_hash_table_lookup(hub->gated, repo);
  if (token) {
    g_autofree char *want = g_strconcat("Bearer ", token, NULL);
    if (auth == NULL || g_strcmp0(auth, want) != 0) {
      soup_message_headers_replace(resp, "X-Error-Code", "GatedRepo");
      set_text(msg, auth ? 403 : 401, auth ? "Not in the authorized list" : "Access to this model is restricted");
      return;
    }
  }
  if (g_strcmp0(rev, "main") != 0 && g_strcmp0(rev, FAKE_HUB_COMMIT) != 0) {
    soup_message_headers_replace(resp, "X-Error-Code", "RevisionNotFound");
    set_text(msg, 404, "Revision not found");
    return;
  }
  FakeFile *f = find_file(hub, repo, file);
  if (f == NULL) {
    soup_message_headers_replace(resp, "X-Error-Code", "EntryNotFound");
    set_text(msg, 404, "Entry not found");
    return;
  }
  soup_message_headers_replace(resp, "X-Repo-Commit", FAKE_HUB_COMMIT);
  if (f->lfs) {
    g_autofree char *etag = g_strdup_printf("\"%s\"", f->sha256);
    g_autofree char *size = g_strdup_printf("%" G_GSIZE_FORMAT, g_bytes_get_size(f->content));
    g_autofree char *location = g_strdup_printf("http://localhost:%u/cdn/%s?sig=%u&Expires=1", hub->port,
                                                f->sha256, hub->sig_next++);
    if (!hub->faults.no_etag) {
      soup_message_headers_replace(resp, "X-Linked-Etag", etag);
      soup_message_headers_replace(resp, "ETag", "W/\"0000000000000000000000000000000000000000\"");
    }
    soup_message_headers_replace(resp, "X-Linked-Size", size);
    soup_message_headers_replace(resp, "Location", location);
    set_text(msg, 302, "Found. Redirecting");
    return;
  }
  g_autofree char *etag = g_strdup_printf("\"%s\"", f->git_oid);
  soup_message_headers_replace(resp, "ETag", etag);
  if (soup_server_message_get_method(msg) == SOUP_METHOD_HEAD) {
    soup_server_message_set_status(msg, 200, NULL);
    soup_server_message_set_response(msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                     g_bytes_get_data(f->content, NULL), g_bytes_get_size(f->content));
    return;
  }
  serve_body(hub, msg, f);
}

static void serve_cdn(FakeHub *hub, SoupServerMessage *msg, const char *sha, GHashTable *query)
{
  FakeFile *f = find_by_sha(hub, sha);
  const char *sig = query ? g_hash_table_lookup(query, "sig") : NULL;
  if (f == NULL || sig == NULL) {
    set_text(msg, 404, "Not found");
    return;
  }
  if ((guint)g_ascii_strtoull(sig, NULL, 10) < hub->sig_valid) {
    FakeHubRequest r = {0};
    r.received = -1;
    if (hub->requests->len > 0) sample_client(hub, hub->requests->len - 1);
    r.ranged = parse_range(msg, &r.start);
    r.status = 403;
    g_array_append_val(hub->requests, r);
    set_text(msg, 403, "Request has expired");
    return;
  }
  serve_body(hub, msg, f);
}

/* ---- search ------------------------------------------------------------------------------ */

static RepoInfo *repo_info(FakeHub *hub, const char *repo, gboolean create)
{
  for (guint i = 0; i < hub->repo_infos->len; i++) {
    RepoInfo *r = g_ptr_array_index(hub->repo_infos, i);
    if (g_strcmp0(r->repo, repo) == 0) return r;
  }
  if (!create) return NULL;
  RepoInfo *r = g_new0(RepoInfo, 1);
  r->repo = g_strdup(repo);
  r->last_modified = g_strdup("2025-02-01T10:00:00.000Z");
  g_ptr_array_add(hub->repo_infos, r);
  return r;
}

void fake_hub_set_repo_info(FakeHub *hub, const char *repo, gint64 downloads, gint64 likes, const char *last_modified)
{
  RepoInfo *r = repo_info(hub, repo, TRUE);
  r->downloads = downloads;
  r->likes = likes;
  if (last_modified) {
    g_free(r->last_modified);
    r->last_modified = g_strdup(last_modified);
  }
}

guint fake_hub_search_count(FakeHub *hub) { return hub->searches; }
const char *fake_hub_last_search_query(FakeHub *hub) { return hub->last_search; }

static int by_downloads(gconstpointer a, gconstpointer b)
{
  const RepoInfo *x = *(RepoInfo *const *)a, *y = *(RepoInfo *const *)b;
  if (x->downloads != y->downloads) return x->downloads > y->downloads ? -1 : 1;
  return g_strcmp0(x->repo, y->repo);
}

static gboolean delayed_answer(gpointer data)
{
  SoupServerMessage *msg = data;
  FakeHub *hub = g_object_get_data(G_OBJECT(msg), "fake-hub");
  hub->delayed = g_list_remove(hub->delayed, msg);
  soup_server_message_unpause(msg);
  g_object_unref(msg);
  return G_SOURCE_REMOVE;
}

static void serve_search(FakeHub *hub, SoupServerMessage *msg, GHashTable *query)
{
  FakeHubFaults *f = &hub->faults;
  hub->searches++;
  g_free(hub->last_search);
  hub->last_search = g_strdup(g_uri_get_query(soup_server_message_get_uri(msg)));
  if (f->search_status) {
    if (f->search_retry_after)
      soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After",
                                   f->search_retry_after);
    set_text(msg, f->search_status, "{\"error\":\"search failed\"}");
    return;
  }
  if (f->search_malformed) {
    soup_server_message_set_status(msg, 200, NULL);
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_STATIC, "[{\"id\": \"x/y\", ",
                                     strlen("[{\"id\": \"x/y\", "));
    return;
  }
  const char *text = query ? g_hash_table_lookup(query, "search") : NULL;
  g_autofree char *needle = g_utf8_strdown(text ? text : "", -1);
  /* every repo that has files or info */
  for (guint i = 0; i < hub->files->len; i++) repo_info(hub, ((FakeFile *)g_ptr_array_index(hub->files, i))->repo, TRUE);
  g_autoptr(GPtrArray) hits = g_ptr_array_new();
  for (guint i = 0; i < hub->repo_infos->len; i++) {
    RepoInfo *r = g_ptr_array_index(hub->repo_infos, i);
    g_autofree char *name = g_utf8_strdown(r->repo, -1);
    if (strstr(name, needle)) g_ptr_array_add(hits, r);
  }
  g_ptr_array_sort(hits, by_downloads);
  GString *json = g_string_new("[");
  for (guint i = 0; i < hits->len; i++) {
    RepoInfo *r = g_ptr_array_index(hits, i);
    g_string_append_printf(json,
                           "%s{\"_id\":\"%08x\",\"id\":\"%s\",\"downloads\":%" G_GINT64_FORMAT
                           ",\"likes\":%" G_GINT64_FORMAT ",\"lastModified\":\"%s\",\"gated\":false}",
                           i ? "," : "", i, r->repo, r->downloads, r->likes, r->last_modified);
  }
  g_string_append(json, "]");
  soup_server_message_set_status(msg, 200, NULL);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, json->str, json->len);
  g_string_free(json, FALSE);
  if (f->slow_search && g_strcmp0(f->slow_search, text) == 0) {
    soup_server_message_pause(msg);
    g_object_set_data(G_OBJECT(msg), "fake-hub", hub);
    hub->delayed = g_list_prepend(hub->delayed, g_object_ref(msg));
    g_timeout_add(f->slow_search_ms, delayed_answer, msg);
  }
}

static void handler(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                    gpointer data)
{
  FakeHub *hub = data;
  const char *method = soup_server_message_get_method(msg);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD) {
    set_text(msg, 405, "Method not allowed");
    return;
  }
  g_auto(GStrv) parts = g_strsplit(path + (path[0] == '/'), "/", -1);
  guint n = g_strv_length(parts);
  for (guint i = 0; i < n; i++) {
    char *dec = g_uri_unescape_string(parts[i], NULL);
    if (dec) {
      g_free(parts[i]);
      parts[i] = dec;
    }
  }
  if (n == 2 && strcmp(parts[0], "cdn") == 0) {
    serve_cdn(hub, msg, parts[1], query);
    return;
  }
  if (n == 2 && strcmp(parts[0], "api") == 0 && strcmp(parts[1], "models") == 0) {
    serve_search(hub, msg, query);
    return;
  }
  if (n >= 6 && strcmp(parts[0], "api") == 0 && strcmp(parts[1], "models") == 0 && strcmp(parts[4], "tree") == 0) {
    g_autofree char *repo = g_strdup_printf("%s/%s", parts[2], parts[3]);
    serve_tree(hub, msg, repo, query);
    return;
  }
  if (n >= 5 && strcmp(parts[2], "resolve") == 0) {
    g_autofree char *repo = g_strdup_printf("%s/%s", parts[0], parts[1]);
    g_autofree char *file = g_strjoinv("/", parts + 4);
    serve_resolve(hub, msg, repo, parts[3], file);
    return;
  }
  set_text(msg, 404, "Not found");
}
