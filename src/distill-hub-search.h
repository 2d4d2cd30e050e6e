/* distill-hub-search.h — "Search Hugging Face" in the Library view: other GGUF repositories on
 * the Hub, with the same "will it fit" check as the curated models.
 *
 * Typing searches /api/models?search=…&filter=gguf after a pause (300 ms); a newer query cancels
 * the older request and results of an older query are never shown. Each result (repo id,
 * downloads, likes, last change) expands into its GGUF files from the tree API: split shards
 * (NAME-0000K-of-0000N.gguf) form one item, each item has a fit verdict from its remote header
 * (Range requests, cached; the same check as the catalog rows) and a Download button that hands
 * the files to the download manager. Errors are said in plain words (offline, 429 with the wait,
 * 5xx); an empty result says so. */
#pragma once

#include <adwaita.h>

#include "distill-download-manager.h"
#include "distill-hardware.h"
#include "distill-hub.h"

G_BEGIN_DECLS

#define DISTILL_HUB_SEARCH_DEBOUNCE_MS 300

#define DISTILL_TYPE_HUB_SEARCH (distill_hub_search_get_type())
G_DECLARE_FINAL_TYPE(DistillHubSearch, distill_hub_search, DISTILL, HUB_SEARCH, AdwBin)

GtkWidget *distill_hub_search_new(void);

/* Any may be NULL until known; the widget keeps references. */
void distill_hub_search_set_services(DistillHubSearch *self, DistillHub *hub, DistillHardware *hardware,
                                     DistillDownloadManager *manager, const char *models_dir);
void distill_hub_search_set_models_dir(DistillHubSearch *self, const char *models_dir);

/* What typing does: sets the entry's text; the search starts after the debounce. */
void distill_hub_search_set_query(DistillHubSearch *self, const char *text);

/* ---- state, for tests ---- */
/* "idle", "searching", "results", "empty", "error" */
const char *distill_hub_search_get_status(DistillHubSearch *self);
/* The line shown under the entry (error or empty message), "" when none. */
const char *distill_hub_search_get_message(DistillHubSearch *self);
guint distill_hub_search_get_n_results(DistillHubSearch *self);
const char *distill_hub_search_get_result_id(DistillHubSearch *self, guint i);
/* "12.3k downloads · 45 likes · updated …" */
const char *distill_hub_search_get_result_subtitle(DistillHubSearch *self, guint i);
/* Expand a result (lists its files). FALSE when repo is not among the results. */
gboolean distill_hub_search_open_repo(DistillHubSearch *self, const char *repo);
/* Items of an opened repo; -1 while its files are being listed (or it failed). */
int distill_hub_search_get_n_files(DistillHubSearch *self, const char *repo);
/* The item's name ("X-Q4_K_M.gguf", or the stem of a split model), its files (owned by the
 * widget, NULL-terminated), total size; NULL when out of range. */
const char *distill_hub_search_get_file_name(DistillHubSearch *self, const char *repo, guint i,
                                             const char *const **files, gint64 *size);
/* "gpu", "partial", "cpu", "no" (split models too, from every part's header); "split" for a
 * split model that could not be checked (parts missing on the Hub, or a part's header unreadable);
 * "unreadable" when the header could not be read; NULL while checking. Free with g_free. */
char *distill_hub_search_get_file_verdict(DistillHubSearch *self, const char *repo, guint i);
GtkWidget *distill_hub_search_get_file_button(DistillHubSearch *self, const char *repo, guint i);

G_END_DECLS
