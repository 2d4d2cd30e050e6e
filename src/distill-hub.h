/* distill-hub.h — a small Hugging Face Hub client over libsoup 3.
 *
 * Endpoint: $HF_ENDPOINT if set (mirrors, the test server), else https://huggingface.co.
 * Token: $HF_TOKEN at creation, or distill_hub_set_token(). It is sent as
 * "Authorization: Bearer …" only to the hub's own host (scheme, host and port), never to the
 * CDN a download is redirected to, and it is never logged. Redirects are followed by hand
 * (SOUP_MESSAGE_NO_REDIRECT) so that the metadata of the hub's 302 can be read and the token
 * stays on the hub. */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define DISTILL_HUB_DEFAULT_ENDPOINT "https://huggingface.co"

#define DISTILL_HUB_ERROR (distill_hub_error_quark())
GQuark distill_hub_error_quark(void);

typedef enum {
  DISTILL_HUB_ERROR_INVALID,      /* a repo id, revision or file name we refuse to send */
  DISTILL_HUB_ERROR_AUTH,         /* 401/403: gated, private (or missing), or the token was refused */
  DISTILL_HUB_ERROR_NOT_FOUND,    /* 404: no such repo, revision or file */
  DISTILL_HUB_ERROR_RATE_LIMITED, /* 429 */
  DISTILL_HUB_ERROR_SERVER,       /* 5xx */
  DISTILL_HUB_ERROR_PROTOCOL,     /* an answer we did not expect (bad JSON, redirect loop …) */
  DISTILL_HUB_ERROR_NETWORK,      /* the hub could not be reached (offline, DNS, refused, timeout) */
} DistillHubError;

/* What the hub says about one file, read from the resolve answer itself (the 302 to the CDN
 * carries it; the CDN answer does not). */
typedef struct {
  char *commit;   /* X-Repo-Commit: the commit the revision resolved to, or NULL */
  char *etag;     /* X-Linked-Etag (else ETag), W/ and quotes stripped: sha256 for LFS files,
                     git blob sha1 for small files, or NULL */
  char *sha256;   /* etag when it is a 64-hex sha256 (lower case), else NULL */
  gint64 size;    /* X-Linked-Size, else Content-Length of a direct answer; -1 if unknown */
  char *location; /* absolute URL the content is served from (CDN), or NULL when served directly */
} DistillHubFileInfo;

void distill_hub_file_info_free(DistillHubFileInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillHubFileInfo, distill_hub_file_info_free)

/* One entry of the tree API. */
typedef struct {
  char *path;
  gboolean is_dir;
  gint64 size;    /* the real file size (lfs.size for LFS files); -1 for folders */
  char *oid;      /* git blob sha1 */
  char *sha256;   /* lfs.oid for LFS files, else NULL */
} DistillHubEntry;

void distill_hub_entry_free(DistillHubEntry *entry);

#define DISTILL_TYPE_HUB (distill_hub_get_type())
G_DECLARE_FINAL_TYPE(DistillHub, distill_hub, DISTILL, HUB, GObject)

/* Endpoint from $HF_ENDPOINT (else the default), token from $HF_TOKEN. */
DistillHub *distill_hub_new(void);
/* endpoint NULL: as distill_hub_new(). The token still comes from $HF_TOKEN. */
DistillHub *distill_hub_new_for_endpoint(const char *endpoint);

const char *distill_hub_get_endpoint(DistillHub *self);
/* NULL or "" clears it. */
void distill_hub_set_token(DistillHub *self, const char *token);
gboolean distill_hub_has_token(DistillHub *self);
SoupSession *distill_hub_get_session(DistillHub *self);

/* "org/name": one slash, letters, digits, '-', '_', '.' — anything else gets a plain-words error. */
gboolean distill_hub_check_repo_id(const char *repo, GError **error);
/* A relative path inside the repo: no "..", no leading '/', no empty parts, no backslash. */
gboolean distill_hub_check_file_name(const char *file, GError **error);

/* {endpoint}/{repo}/resolve/{revision}/{file}, every part percent-encoded (a revision such as
 * "refs/pr/1" becomes one segment). */
char *distill_hub_build_resolve_url(DistillHub *self, const char *repo, const char *revision,
                                    const char *file);

/* TRUE when uri points at the hub itself (same scheme, host and port as the endpoint). */
gboolean distill_hub_is_hub_uri(DistillHub *self, GUri *uri);

/* Set up a request: no automatic redirects, Accept-Encoding: identity, and the token when
 * (and only when) the request goes to the hub's own host. Call it again after changing the URI. */
void distill_hub_prepare_message(DistillHub *self, SoupMessage *msg);

/* Read X-Repo-Commit / X-Linked-Etag / X-Linked-Size / Location of a hub answer. Location is
 * resolved against the request URI. */
DistillHubFileInfo *distill_hub_file_info_from_message(SoupMessage *msg);

/* W/"abc" → abc. */
char *distill_hub_strip_etag(const char *etag);

/* Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), else -1. */
gint64 distill_hub_parse_retry_after(SoupMessageHeaders *headers);

/* The plain-words error for a failed hub answer (401, 403, 404, 429, 5xx, other). */
GError *distill_hub_error_for_status(DistillHub *self, SoupMessage *msg, const char *repo,
                                     const char *revision, const char *file);

/* HEAD the resolve URL without following the redirect to the CDN (relative redirects on the
 * hub itself — renamed repos — are followed). */
void distill_hub_query_file_async(DistillHub *self, const char *repo, const char *revision,
                                  const char *file, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);
DistillHubFileInfo *distill_hub_query_file_finish(DistillHub *self, GAsyncResult *result,
                                                  GError **error);

/* GET {E}/api/models/{repo}/tree/{revision}?recursive=true, following Link rel="next" pages.
 * Returns a GPtrArray of DistillHubEntry (owns them). */
void distill_hub_list_files_async(DistillHub *self, const char *repo, const char *revision,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);
GPtrArray *distill_hub_list_files_finish(DistillHub *self, GAsyncResult *result, GError **error);

/* ---- search ---------------------------------------------------------------------------
 * GET {E}/api/models?search=QUERY&filter=gguf&sort=downloads&direction=-1&limit=N
 *     &expand=downloads&expand=likes&expand=lastModified&expand=gated
 * One page only (the most downloaded N): the user refines the query rather than paging. */
typedef struct {
  char *id;            /* "org/name" */
  gint64 downloads;    /* -1 when not given */
  gint64 likes;        /* -1 when not given */
  GDateTime *last_modified; /* NULL when not given */
  gboolean gated;
} DistillHubModel;

void distill_hub_model_free(DistillHubModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillHubModel, distill_hub_model_free)

#define DISTILL_HUB_SEARCH_LIMIT 30

/* Parse a search answer: a JSON array of models. Entries without a valid repo id are skipped;
 * anything else than an array is a DISTILL_HUB_ERROR_PROTOCOL error. */
GPtrArray *distill_hub_parse_search(const char *json, gssize len, GError **error);

/* limit 0: DISTILL_HUB_SEARCH_LIMIT. Errors in plain words: DISTILL_HUB_ERROR_NETWORK (offline),
 * _RATE_LIMITED (the message says how long to wait when the hub sent Retry-After; see
 * distill_hub_search_models_finish), _SERVER (5xx), _PROTOCOL (not JSON). */
void distill_hub_search_models_async(DistillHub *self, const char *query, guint limit, GCancellable *cancellable,
                                     GAsyncReadyCallback callback, gpointer user_data);
/* A GPtrArray of DistillHubModel (owns them), maybe empty. retry_after (may be NULL): seconds
 * the hub asked to wait on 429, else -1. */
GPtrArray *distill_hub_search_models_finish(DistillHub *self, GAsyncResult *result, gint64 *retry_after,
                                            GError **error);

/* Turn a transport error of libsoup/GIO (no answer at all) into a plain-words
 * DISTILL_HUB_ERROR_NETWORK error; cancellation and hub errors pass through unchanged. */
GError *distill_hub_wrap_network_error(DistillHub *self, GError *error);

G_END_DECLS
