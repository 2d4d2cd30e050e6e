/* fake-hub.h — a local SoupServer that plays the Hugging Face Hub and its CDN, with faults.
 *
 * It runs on the thread-default main context of whoever creates it (the tests iterate it
 * together with the client). The hub answers at http://127.0.0.1:PORT; LFS files are served by
 * a "CDN" at http://localhost:PORT/cdn/SHA256?sig=N, a different host name, so the client must
 * drop its token there.
 *   GET  /api/models/ORG/NAME/tree/REV?recursive=true   (2 entries a page, Link rel="next")
 *   GET|HEAD /ORG/NAME/resolve/REV/PATH                 (302 to the CDN with X-Repo-Commit,
 *        X-Linked-Etag, X-Linked-Size for LFS files; small files are served directly)
 *   GET  /cdn/SHA?sig=N                                 (Range → 206 / 416)
 *   GET  /api/models?search=Q&filter=gguf&…            (repos whose name contains Q, most downloaded
 *        first; faults: search_status, search_malformed, search_retry_after, slow_search)
 * Every CDN (and direct file) body request is logged with its range start and the bytes written. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define FAKE_HUB_COMMIT "0123456789abcdef0123456789abcdef01234567"
#define FAKE_HUB_MAX_DROPS 8

typedef struct {
  gint64 drop_at[FAKE_HUB_MAX_DROPS]; /* absolute offsets: cut the connection there, once each, in order */
  guint n_drops;
  guint drop_restart_ms;   /* >0: a drop stops the whole server, which listens again after this */
  gboolean expire_on_drop; /* a drop also expires every signed URL issued so far (403 on reuse) */
  guint fail_503;          /* the next N body requests answer 503 */
  guint fail_429;          /* the next N body requests answer 429 with Retry-After: retry_after */
  char *retry_after;
  gsize trickle_bytes;     /* >0: write the body in pieces of this size … */
  guint trickle_ms;        /* … every trickle_ms */
  gint64 corrupt_at;       /* >=0: serve a wrong byte at this offset */
  gboolean short_body_once;   /* next body: full Content-Length, but closes after half */
  gboolean ignore_range_once; /* next Range request: answer 200 with the whole file */
  gboolean no_etag;           /* resolve answers carry no X-Linked-Etag/ETag: ask the tree API */
  gint64 stall_at;            /* >=0: stop sending at this offset, keeping the connection open */
  guint search_status;        /* !=0: searches answer this status (500, 429 …) */
  char *search_retry_after;   /* Retry-After of such an answer */
  gboolean search_malformed;  /* searches answer 200 with broken JSON */
  char *slow_search;          /* a search for exactly this text answers after slow_search_ms */
  guint slow_search_ms;
} FakeHubFaults;

typedef struct {
  gint64 start;      /* range start asked for (0 without Range) */
  gint64 sent;       /* body bytes written to the socket */
  guint status;
  gboolean had_auth; /* an Authorization header arrived (it never should on the CDN) */
  gboolean ranged;   /* the request had a Range header */
  gint64 received;   /* with a client probe: the most the client had on its side (absolute end
                      * offset) while this request was the latest one, sampled at every piece
                      * the server wrote and when the next request arrived; -1 without a probe */
} FakeHubRequest;

/* Tells how far the client has got (e.g. its .part size or bytes-done), -1 when unknown. */
typedef gint64 (*FakeHubClientProbe)(gpointer user_data);

typedef struct _FakeHub FakeHub;

FakeHub *fake_hub_new(void);
void fake_hub_free(FakeHub *hub);
const char *fake_hub_endpoint(FakeHub *hub);
FakeHubFaults *fake_hub_faults(FakeHub *hub);

/* Deterministic pseudo-random content. */
GBytes *fake_hub_make_content(gsize size, guint32 seed);
char *fake_hub_sha256(GBytes *content);

/* lfs: served through the CDN redirect with an LFS sha256; else directly with a git blob id. */
void fake_hub_add_file(FakeHub *hub, const char *repo, const char *path, GBytes *content, gboolean lfs);
/* The repo answers 401 without "Authorization: Bearer TOKEN", 403 with another token. */
void fake_hub_set_gated(FakeHub *hub, const char *repo, const char *token);
/* OLD answers with a relative redirect to NEW (a renamed repo). */
void fake_hub_add_rename(FakeHub *hub, const char *old_repo, const char *new_repo);

/* Search data of a repo (a repo is found by search once it has a file, or this info). */
void fake_hub_set_repo_info(FakeHub *hub, const char *repo, gint64 downloads, gint64 likes, const char *last_modified);
guint fake_hub_search_count(FakeHub *hub);
/* The query string of the last search (e.g. "search=x&filter=gguf&…"), or NULL. */
const char *fake_hub_last_search_query(FakeHub *hub);

/* Body requests so far (FakeHubRequest), and how many resolve requests the hub answered. */
GArray *fake_hub_requests(FakeHub *hub);
guint fake_hub_resolve_count(FakeHub *hub);
guint fake_hub_tree_count(FakeHub *hub);
/* Bytes written by the body request in progress or last finished. */
gint64 fake_hub_last_sent(FakeHub *hub);
void fake_hub_clear_log(FakeHub *hub);
/* Sample the client's progress into FakeHubRequest.received (see there). NULL stops it. */
void fake_hub_set_client_probe(FakeHub *hub, FakeHubClientProbe probe, gpointer user_data);
/* TRUE when a request came to the hub host (not the CDN) carrying the token. */
gboolean fake_hub_saw_auth_on_hub(FakeHub *hub);

G_END_DECLS
