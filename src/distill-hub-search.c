/* distill-hub-search.c — search the Hub for GGUF repos, with fit verdicts and downloads.
 *
 * Lifetimes: results are rebuilt for every answer. Everything asynchronous that belongs to the
 * shown results (file listings, header fetches) runs on results_cancellable, which is cancelled
 * before the results are freed; GTask's finish functions then report G_IO_ERROR_CANCELLED even
 * when the work had already finished, so a callback never touches freed entries. The search
 * request itself has its own cancellable and a generation number: an answer to an older query
 * is dropped even if it raced the cancellation. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "distill-catalog.h"
#include "distill-hub-search.h"
#include "distill-library-page.h"
#include "distill-remote-fit.h"

typedef struct _RepoEntry RepoEntry;

typedef struct {
  RepoEntry *repo;
  char *name;
  GStrv files;
  gint64 size;
  AdwActionRow *row;
  GtkLabel *verdict_label;
  GtkWidget *button;
  char *item_id;
  gboolean split, header_failed;
  gboolean incomplete; /* a split model with parts missing on the Hub: not offered */
  GBytes *header;
  guint64 header_file_size;
  GPtrArray *part_headers; /* split models: every part's header (GBytes), in part order */
  GArray *part_sizes;      /* guint64, the parts' sizes */
  char *parts_error;       /* split models: why a part's header could not be read */
  still_fit fit;
  gboolean fit_known;
} FileItem;

struct _RepoEntry {
  DistillHubSearch *self;
  DistillHubModel *model;
  char *subtitle;
  AdwExpanderRow *row;
  GtkWidget *placeholder; /* "Listing files…" / an error, inside the expander */
  GPtrArray *items;       /* FileItem */
  gboolean listing, listed;
};

struct _DistillHubSearch {
  AdwBin parent_instance;

  GtkSearchEntry *entry;
  GtkSpinner *spinner;
  GtkLabel *message_label;
  GtkListBox *results_list;

  DistillHub *hub;
  DistillHardware *hardware;
  DistillDownloadManager *manager;
  char *models_dir;

  guint debounce_source;
  GCancellable *search_cancellable;
  guint generation;
  const char *status;
  char *message;
  GPtrArray *repos;              /* RepoEntry, in result order */
  GCancellable *results_cancellable;
  GQueue header_queue;           /* FileItem waiting for its header */
  gboolean header_busy;
};

G_DEFINE_FINAL_TYPE(DistillHubSearch, distill_hub_search, ADW_TYPE_BIN)

static void file_item_free(FileItem *f)
{
  g_free(f->name);
  g_strfreev(f->files);
  g_free(f->item_id);
  g_clear_pointer(&f->header, g_bytes_unref);
  g_clear_pointer(&f->part_headers, g_ptr_array_unref);
  g_clear_pointer(&f->part_sizes, g_array_unref);
  g_free(f->parts_error);
  g_free(f);
}

static void repo_entry_free(RepoEntry *r)
{
  distill_hub_model_free(r->model);
  g_free(r->subtitle);
  g_ptr_array_unref(r->items);
  g_free(r);
}

/* ---- small helpers ---- */

static char *compact_number(gint64 n)
{
  if (n < 0) return g_strdup("?");
  if (n < 1000) return g_strdup_printf("%" G_GINT64_FORMAT, n);
  if (n < 1000000) return g_strdup_printf(_("%.1fk"), n / 1000.0);
  return g_strdup_printf(_("%.1fM"), n / 1000000.0);
}

static char *result_subtitle(DistillHubModel *m)
{
  g_autofree char *downloads = compact_number(m->downloads);
  g_autofree char *likes = compact_number(m->likes);
  g_autofree char *date = m->last_modified ? g_date_time_format(m->last_modified, "%x") : g_strdup("?");
  /* Translators: a search result: downloads, likes, date of the last change */
  char *s = g_strdup_printf(_("%s downloads · %s likes · updated %s"), downloads, likes, date);
  if (m->gated) {
    char *g = g_strdup_printf(_("%s · gated: needs a Hugging Face token with access"), s);
    g_free(s);
    s = g;
  }
  return s;
}

static void set_status(DistillHubSearch *self, const char *status, const char *message)
{
  self->status = status;
  g_free(self->message);
  self->message = g_strdup(message ? message : "");
  gtk_label_set_text(self->message_label, self->message);
  gtk_widget_set_visible(GTK_WIDGET(self->message_label), *self->message != '\0');
  gboolean busy = g_strcmp0(status, "searching") == 0;
  gtk_spinner_set_spinning(self->spinner, busy);
  gtk_widget_set_visible(GTK_WIDGET(self->spinner), busy);
  gtk_widget_set_visible(GTK_WIDGET(self->results_list), self->repos->len > 0);
}

static RepoEntry *find_repo(DistillHubSearch *self, const char *repo)
{
  for (guint i = 0; i < self->repos->len; i++) {
    RepoEntry *r = g_ptr_array_index(self->repos, i);
    if (g_strcmp0(r->model->id, repo) == 0) return r;
  }
  return NULL;
}

static FileItem *find_item(DistillHubSearch *self, const char *repo, guint i)
{
  RepoEntry *r = find_repo(self, repo);
  return r && r->listed && i < r->items->len ? g_ptr_array_index(r->items, i) : NULL;
}

static void clear_results(DistillHubSearch *self)
{
  /* cancel first: pending callbacks then see CANCELLED and leave the entries alone */
  g_cancellable_cancel(self->results_cancellable);
  g_clear_object(&self->results_cancellable);
  self->results_cancellable = g_cancellable_new();
  g_queue_clear(&self->header_queue);
  self->header_busy = FALSE;
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child(GTK_WIDGET(self->results_list))))
    gtk_list_box_remove(self->results_list, child);
  g_ptr_array_set_size(self->repos, 0);
}

/* ---- verdicts and buttons of file items ---- */

static gboolean item_on_disk(DistillHubSearch *self, FileItem *f)
{
  if (self->models_dir == NULL) return FALSE;
  for (guint i = 0; f->files[i]; i++) {
    g_autofree char *path = g_build_filename(self->models_dir, f->files[i], NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) return FALSE;
  }
  return TRUE;
}

static void update_item_fit(DistillHubSearch *self, FileItem *f)
{
  still_hardware hw;
  f->fit_known = FALSE;
  if (f->header != NULL && self->hardware != NULL && distill_hardware_get_effective(self->hardware, &hw)) {
    gsize len = 0;
    const void *data = g_bytes_get_data(f->header, &len);
    still_fit_params p = still_fit_params_default();
    still_error err = {0};
    f->fit_known = still_fit_estimate_buffer(data, len, f->header_file_size, &hw, &p, &f->fit, NULL, &err) == STILL_OK;
    if (!f->fit_known) f->header_failed = TRUE;
  } else if (f->part_headers != NULL && self->hardware != NULL && distill_hardware_get_effective(self->hardware, &hw)) {
    /* a split model: the tensors of every part together, as for one file */
    still_fit_params p = still_fit_params_default();
    still_error err = {0};
    f->fit_known = distill_remote_fit_estimate_parts(f->part_headers, f->part_sizes, &hw, &p, &f->fit, &err);
    if (f->fit_known) {
      g_clear_pointer(&f->parts_error, g_free);
    } else {
      g_debug("split model %s not checked: %s", f->files[0], err.message);
      g_free(f->parts_error);
      f->parts_error = g_strdup(err.message);
    }
  }
  GtkWidget *label = GTK_WIDGET(f->verdict_label);
  if (f->split && (f->incomplete || f->parts_error != NULL)) {
    /* no verdict: a part is missing on the Hub, or a part's header could not be read */
    gtk_label_set_text(f->verdict_label, C_("verdict", "Split"));
    gtk_widget_set_tooltip_text(label, f->incomplete
                                         ? _("Parts of this model are missing on Hugging Face, so it was not checked.")
                                         : _("A part of this model could not be read, so it is checked once downloaded."));
  } else if (f->header_failed) {
    gtk_label_set_text(f->verdict_label, _("Unreadable"));
    gtk_widget_set_tooltip_text(label, _("This file’s header could not be read, so it was not checked."));
  } else {
    distill_library_set_verdict_label(f->verdict_label, &f->fit, f->fit_known, FALSE);
  }
  g_autofree char *size = g_format_size((guint64)MAX(f->size, 0));
  guint n = g_strv_length(f->files);
  g_autofree char *size_text = n > 1 ? g_strdup_printf(_("%s in %u parts"), size, n) : g_strdup(size);
  if (f->fit_known) {
    g_autofree char *need = g_format_size(f->fit.total_bytes);
    g_autofree char *sub = g_strdup_printf(_("%s · needs %s · %s"), size_text, need, f->fit.message);
    adw_action_row_set_subtitle(f->row, sub);
  } else {
    adw_action_row_set_subtitle(f->row, size_text);
  }
}

static void update_item_button(DistillHubSearch *self, FileItem *f)
{
  DistillItemState st;
  gint64 done = 0, total = -1;
  const char *label = _("Download");
  gboolean sensitive = self->manager != NULL && !f->incomplete;
  g_autofree char *progress = NULL;
  const char *message = NULL;
  gtk_widget_set_tooltip_text(f->button, NULL);
  if (self->manager && distill_download_manager_get_item(self->manager, f->item_id, &st, &done, &total, NULL, &message)) {
    switch (st) {
    case DISTILL_ITEM_QUEUED:
    case DISTILL_ITEM_RUNNING:
      if (total > 0) {
        /* Translators: a download in progress, in percent */
        progress = g_strdup_printf(_("Downloading %d%%"), (int)(100.0 * (double)done / (double)total));
        label = progress;
      } else {
        label = _("Downloading…");
      }
      sensitive = FALSE;
      break;
    case DISTILL_ITEM_PAUSED:
      label = _("Paused");
      sensitive = FALSE;
      break;
    case DISTILL_ITEM_DONE:
      label = _("Installed");
      sensitive = FALSE;
      break;
    case DISTILL_ITEM_FAILED:
      label = _("Download Again");
      gtk_widget_set_tooltip_text(f->button, message); /* why it failed, in words */
      break;
    }
  } else if (item_on_disk(self, f)) {
    label = _("Installed");
    sensitive = FALSE;
  }
  gtk_button_set_label(GTK_BUTTON(f->button), label);
  gtk_widget_set_sensitive(f->button, sensitive);
}

static void on_manager_changed(DistillHubSearch *self, const char *id)
{
  for (guint i = 0; i < self->repos->len; i++) {
    RepoEntry *r = g_ptr_array_index(self->repos, i);
    for (guint j = 0; j < r->items->len; j++) {
      FileItem *f = g_ptr_array_index(r->items, j);
      if (id == NULL || g_strcmp0(f->item_id, id) == 0) update_item_button(self, f);
    }
  }
}

static void refresh_all(DistillHubSearch *self)
{
  for (guint i = 0; i < self->repos->len; i++) {
    RepoEntry *r = g_ptr_array_index(self->repos, i);
    for (guint j = 0; j < r->items->len; j++) {
      FileItem *f = g_ptr_array_index(r->items, j);
      update_item_fit(self, f);
      update_item_button(self, f);
    }
  }
}

static void on_download_clicked(FileItem *f)
{
  DistillHubSearch *self = f->repo->self;
  if (self->manager == NULL) return;
  g_autofree char *label = g_strdup_printf("%s %s", f->repo->model->id, f->name);
  distill_download_manager_add(self->manager, f->repo->model->id, (const char *const *)f->files, label);
  update_item_button(self, f);
}

/* ---- remote headers: one at a time ---- */

static void fetch_next_header(DistillHubSearch *self);

static void header_fetched(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  g_autoptr(GError) error = NULL;
  guint64 size = 0;
  g_autoptr(GBytes) bytes = distill_remote_header_fetch_finish(res, &size, NULL, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) return; /* the item is gone */
  FileItem *f = user_data;
  DistillHubSearch *self = f->repo->self;
  self->header_busy = FALSE;
  if (bytes != NULL) {
    f->header = g_steal_pointer(&bytes);
    f->header_file_size = size ? size : (guint64)MAX(f->size, 0);
  } else {
    g_debug("header of %s not read: %s", f->files[0], error->message);
    f->header_failed = TRUE;
  }
  update_item_fit(self, f);
  fetch_next_header(self);
}

static void part_headers_fetched(GObject *src, GAsyncResult *res, gpointer user_data)
{
  (void)src;
  g_autoptr(GError) error = NULL;
  GArray *sizes = NULL;
  GPtrArray *headers = distill_remote_headers_fetch_finish(res, &sizes, NULL, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) return; /* the item is gone */
  FileItem *f = user_data;
  DistillHubSearch *self = f->repo->self;
  self->header_busy = FALSE;
  if (headers != NULL) {
    f->part_headers = headers;
    f->part_sizes = sizes;
  } else {
    g_debug("headers of %s not read: %s", f->files[0], error->message);
    f->parts_error = g_strdup(error->message);
  }
  update_item_fit(self, f);
  fetch_next_header(self);
}

static void fetch_next_header(DistillHubSearch *self)
{
  if (self->header_busy || self->hub == NULL) return;
  FileItem *f;
  do f = g_queue_pop_head(&self->header_queue);
  while (f != NULL && f->incomplete); /* a split model with parts missing on the Hub: nothing to check */
  if (f == NULL) return;
  self->header_busy = TRUE;
  if (f->split)
    distill_remote_headers_fetch_async(self->hub, f->repo->model->id, (const char *const *)f->files, TRUE,
                                       self->results_cancellable, part_headers_fetched, f);
  else
    distill_remote_header_fetch_async(self->hub, f->repo->model->id, f->files[0], TRUE, self->results_cancellable,
                                      header_fetched, f);
}

/* ---- the files of a repo ---- */

static int compare_strings(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static FileItem *add_item(RepoEntry *r, const char *name, GStrv files, gint64 size)
{
  DistillHubSearch *self = r->self;
  FileItem *f = g_new0(FileItem, 1);
  f->repo = r;
  f->name = g_strdup(name);
  f->files = files;
  f->size = size;
  f->split = g_strv_length(files) > 1;
  f->item_id = g_strdup_printf("%s/%s", r->model->id, files[0]);
  f->row = ADW_ACTION_ROW(adw_action_row_new());
  adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(f->row), FALSE);
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(f->row), name);
  adw_action_row_set_subtitle_lines(f->row, 3);
  f->verdict_label = GTK_LABEL(gtk_label_new(NULL));
  gtk_widget_add_css_class(GTK_WIDGET(f->verdict_label), "verdict-pill");
  gtk_widget_set_valign(GTK_WIDGET(f->verdict_label), GTK_ALIGN_CENTER);
  adw_action_row_add_suffix(f->row, GTK_WIDGET(f->verdict_label));
  f->button = gtk_button_new_with_label(_("Download"));
  gtk_widget_set_valign(f->button, GTK_ALIGN_CENTER);
  g_signal_connect_swapped(f->button, "clicked", G_CALLBACK(on_download_clicked), f);
  adw_action_row_add_suffix(f->row, f->button);
  g_ptr_array_add(r->items, f);
  adw_expander_row_add_row(r->row, GTK_WIDGET(f->row));
  update_item_fit(self, f);
  update_item_button(self, f);
  g_queue_push_tail(&self->header_queue, f); /* split models too: every part's header */
  return f;
}

/* GGUF files of a tree listing as items: single files, and split shards grouped by stem. */
static void build_items(RepoEntry *r, GPtrArray *entries)
{
  g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  g_autoptr(GPtrArray) singles = g_ptr_array_new();
  g_autoptr(GHashTable) sizes = g_hash_table_new(g_str_hash, g_str_equal);
  for (guint i = 0; i < entries->len; i++) {
    DistillHubEntry *e = g_ptr_array_index(entries, i);
    if (e->is_dir || !g_str_has_suffix(e->path, ".gguf") || !distill_hub_check_file_name(e->path, NULL)) continue;
    g_hash_table_insert(sizes, e->path, e);
    g_autofree char *base = g_path_get_basename(e->path);
    guint index = 0, count = 0;
    g_autofree char *stem = NULL;
    if (distill_parse_shard_name(base, &index, &count, &stem) && count > 1) {
      g_autofree char *dir = g_path_get_dirname(e->path);
      g_autofree char *key = g_strdup_printf("%s\n%s\n%u", dir, stem, count);
      GPtrArray *g = g_hash_table_lookup(groups, key);
      if (g == NULL) {
        g = g_ptr_array_new();
        g_hash_table_insert(groups, g_steal_pointer(&key), g);
      }
      g_ptr_array_add(g, e->path);
    } else {
      g_ptr_array_add(singles, e->path);
    }
  }
  /* one sorted list of (name, files) */
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < singles->len; i++) g_ptr_array_add(names, g_strdup(g_ptr_array_index(singles, i)));
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init(&it, groups);
  /* a group sorts by its display name, "DIR/STEM", and carries its key after a \x01 */
  while (g_hash_table_iter_next(&it, &key, &value)) {
    g_auto(GStrv) kp = g_strsplit(key, "\n", 3);
    g_autofree char *shown = g_strcmp0(kp[0], ".") == 0 ? g_strdup(kp[1]) : g_build_filename(kp[0], kp[1], NULL);
    g_ptr_array_add(names, g_strconcat(shown, "\x01", key, NULL));
  }
  g_ptr_array_sort(names, compare_strings);
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index(names, i);
    const char *marker = strchr(n, '\x01');
    if (marker == NULL) {
      DistillHubEntry *e = g_hash_table_lookup(sizes, n);
      char *files[] = {(char *)n, NULL};
      add_item(r, n, g_strdupv(files), e->size);
      continue;
    }
    GPtrArray *g = g_hash_table_lookup(groups, marker + 1);
    g_ptr_array_sort(g, compare_strings);
    g_auto(GStrv) parts = g_strsplit(marker + 1, "\n", 3);
    guint count = (guint)g_ascii_strtoull(parts[2], NULL, 10);
    gint64 total = 0;
    GStrvBuilder *b = g_strv_builder_new();
    for (guint k = 0; k < g->len; k++) {
      const char *p = g_ptr_array_index(g, k);
      total += MAX(((DistillHubEntry *)g_hash_table_lookup(sizes, p))->size, 0);
      g_strv_builder_add(b, p);
    }
    GStrv files = g_strv_builder_end(b);
    g_strv_builder_unref(b);
    g_autofree char *name = g_strcmp0(parts[0], ".") == 0 ? g_strdup(parts[1]) : g_build_filename(parts[0], parts[1], NULL);
    if (g->len != count) {
      /* a part is missing on the Hub: the model cannot be used; say so instead of offering it */
      g_autofree char *label = g_strdup_printf(_("%s (incomplete on Hugging Face: %u of %u parts)"), name, g->len, count);
      FileItem *f = add_item(r, label, files, total);
      f->incomplete = TRUE;
      update_item_fit(r->self, f);
      update_item_button(r->self, f);
      continue;
    }
    add_item(r, name, files, total);
  }
}

static void files_listed(GObject *src, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = distill_hub_list_files_finish(DISTILL_HUB(src), res, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) return; /* the results are gone */
  RepoEntry *r = user_data;
  DistillHubSearch *self = r->self;
  r->listing = FALSE;
  if (entries == NULL) {
    g_autoptr(GError) plain = distill_hub_wrap_network_error(self->hub, g_steal_pointer(&error));
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(r->placeholder), plain->message);
    return;
  }
  r->listed = TRUE;
  adw_expander_row_remove(r->row, r->placeholder);
  r->placeholder = NULL;
  build_items(r, entries);
  if (r->items->len == 0) {
    r->placeholder = adw_action_row_new();
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(r->placeholder), FALSE);
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(r->placeholder), _("This repository has no GGUF files."));
    adw_expander_row_add_row(r->row, r->placeholder);
  }
  fetch_next_header(self);
}

static void on_repo_expanded(AdwExpanderRow *row, GParamSpec *pspec, RepoEntry *r)
{
  (void)pspec;
  DistillHubSearch *self = r->self;
  if (!adw_expander_row_get_expanded(row) || r->listing || r->listed || self->hub == NULL) return;
  r->listing = TRUE;
  adw_preferences_row_set_title(ADW_PREFERENCES_ROW(r->placeholder), _("Listing files…"));
  distill_hub_list_files_async(self->hub, r->model->id, "main", self->results_cancellable, files_listed, r);
}

/* ---- searching ---- */

static void show_results(DistillHubSearch *self, GPtrArray *models)
{
  clear_results(self);
  for (guint i = 0; i < models->len; i++) {
    RepoEntry *r = g_new0(RepoEntry, 1);
    r->self = self;
    r->model = g_steal_pointer(&models->pdata[i]);
    r->items = g_ptr_array_new_with_free_func((GDestroyNotify)file_item_free);
    r->subtitle = result_subtitle(r->model);
    r->row = ADW_EXPANDER_ROW(adw_expander_row_new());
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(r->row), FALSE);
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(r->row), r->model->id);
    adw_expander_row_set_subtitle(r->row, r->subtitle);
    r->placeholder = adw_action_row_new();
    adw_preferences_row_set_use_markup(ADW_PREFERENCES_ROW(r->placeholder), FALSE);
    adw_preferences_row_set_title(ADW_PREFERENCES_ROW(r->placeholder), _("Listing files…"));
    adw_expander_row_add_row(r->row, r->placeholder);
    g_signal_connect(r->row, "notify::expanded", G_CALLBACK(on_repo_expanded), r);
    gtk_list_box_append(self->results_list, GTK_WIDGET(r->row));
    g_ptr_array_add(self->repos, r);
  }
}

typedef struct {
  DistillHubSearch *self;
  guint generation; /* of the query this request answers */
} SearchCall;

static void search_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  SearchCall *call = user_data;
  DistillHubSearch *self = call->self; /* alive unless cancelled: dispose cancels the search */
  guint generation = call->generation;
  g_free(call);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) models = distill_hub_search_models_finish(DISTILL_HUB(src), res, NULL, &error);
  if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) return; /* a newer query, or the widget is gone */
  if (generation != self->generation) return; /* an older query: never shown */
  g_clear_object(&self->search_cancellable);
  if (models == NULL) {
    clear_results(self);
    set_status(self, "error", error->message);
    return;
  }
  show_results(self, models);
  if (self->repos->len == 0) {
    g_autofree char *text = g_strdup_printf(_("No GGUF models on Hugging Face match “%s”."),
                                            gtk_editable_get_text(GTK_EDITABLE(self->entry)));
    set_status(self, "empty", text);
  } else {
    set_status(self, "results", NULL);
  }
}

static void start_search(DistillHubSearch *self)
{
  g_autofree char *text = g_strstrip(g_strdup(gtk_editable_get_text(GTK_EDITABLE(self->entry))));
  if (self->search_cancellable) g_cancellable_cancel(self->search_cancellable);
  g_clear_object(&self->search_cancellable);
  self->generation++;
  if (g_utf8_strlen(text, -1) < 2 || self->hub == NULL) {
    clear_results(self);
    set_status(self, "idle", *text ? _("Type at least two characters.") : NULL);
    return;
  }
  self->search_cancellable = g_cancellable_new();
  set_status(self, "searching", NULL);
  /* the generation travels with the request: its answer is checked against the newest */
  SearchCall *call = g_new0(SearchCall, 1);
  call->self = self;
  call->generation = self->generation;
  distill_hub_search_models_async(self->hub, text, 0, self->search_cancellable, search_done, call);
}

static gboolean debounce_done(gpointer data)
{
  DistillHubSearch *self = data;
  self->debounce_source = 0;
  start_search(self);
  return G_SOURCE_REMOVE;
}

static void on_entry_changed(DistillHubSearch *self)
{
  g_clear_handle_id(&self->debounce_source, g_source_remove);
  self->debounce_source = g_timeout_add(DISTILL_HUB_SEARCH_DEBOUNCE_MS, debounce_done, self);
}

/* ---- public ---- */

GtkWidget *distill_hub_search_new(void)
{
  return g_object_new(DISTILL_TYPE_HUB_SEARCH, NULL);
}

void distill_hub_search_set_services(DistillHubSearch *self, DistillHub *hub, DistillHardware *hardware,
                                     DistillDownloadManager *manager, const char *models_dir)
{
  g_return_if_fail(DISTILL_IS_HUB_SEARCH(self));
  if (self->hardware) g_signal_handlers_disconnect_by_data(self->hardware, self);
  if (self->manager) g_signal_handlers_disconnect_by_data(self->manager, self);
  g_set_object(&self->hub, hub);
  g_set_object(&self->hardware, hardware);
  g_set_object(&self->manager, manager);
  if (self->hardware) g_signal_connect_swapped(self->hardware, "changed", G_CALLBACK(refresh_all), self);
  if (self->manager) g_signal_connect_swapped(self->manager, "changed", G_CALLBACK(on_manager_changed), self);
  distill_hub_search_set_models_dir(self, models_dir);
}

void distill_hub_search_set_models_dir(DistillHubSearch *self, const char *models_dir)
{
  g_return_if_fail(DISTILL_IS_HUB_SEARCH(self));
  if (models_dir != self->models_dir) {
    g_free(self->models_dir);
    self->models_dir = g_strdup(models_dir);
  }
  refresh_all(self);
}

void distill_hub_search_set_query(DistillHubSearch *self, const char *text)
{
  gtk_editable_set_text(GTK_EDITABLE(self->entry), text ? text : "");
}

const char *distill_hub_search_get_status(DistillHubSearch *self) { return self->status; }
const char *distill_hub_search_get_message(DistillHubSearch *self) { return self->message ? self->message : ""; }
guint distill_hub_search_get_n_results(DistillHubSearch *self) { return self->repos->len; }

const char *distill_hub_search_get_result_id(DistillHubSearch *self, guint i)
{
  return i < self->repos->len ? ((RepoEntry *)g_ptr_array_index(self->repos, i))->model->id : NULL;
}

const char *distill_hub_search_get_result_subtitle(DistillHubSearch *self, guint i)
{
  return i < self->repos->len ? ((RepoEntry *)g_ptr_array_index(self->repos, i))->subtitle : NULL;
}

gboolean distill_hub_search_open_repo(DistillHubSearch *self, const char *repo)
{
  RepoEntry *r = find_repo(self, repo);
  if (r == NULL) return FALSE;
  adw_expander_row_set_expanded(r->row, TRUE);
  return TRUE;
}

int distill_hub_search_get_n_files(DistillHubSearch *self, const char *repo)
{
  RepoEntry *r = find_repo(self, repo);
  return r && r->listed ? (int)r->items->len : -1;
}

const char *distill_hub_search_get_file_name(DistillHubSearch *self, const char *repo, guint i,
                                             const char *const **files, gint64 *size)
{
  FileItem *f = find_item(self, repo, i);
  if (f == NULL) return NULL;
  if (files) *files = (const char *const *)f->files;
  if (size) *size = f->size;
  return f->name;
}

char *distill_hub_search_get_file_verdict(DistillHubSearch *self, const char *repo, guint i)
{
  FileItem *f = find_item(self, repo, i);
  if (f == NULL) return NULL;
  if (f->split && (f->incomplete || f->parts_error != NULL)) return g_strdup("split");
  if (f->header_failed) return g_strdup("unreadable");
  return f->fit_known ? g_strdup(still_fit_verdict_name(f->fit.verdict)) : NULL;
}

GtkWidget *distill_hub_search_get_file_button(DistillHubSearch *self, const char *repo, guint i)
{
  FileItem *f = find_item(self, repo, i);
  return f ? f->button : NULL;
}

/* ---- GObject ---- */

static void distill_hub_search_dispose(GObject *object)
{
  DistillHubSearch *self = DISTILL_HUB_SEARCH(object);
  g_clear_handle_id(&self->debounce_source, g_source_remove);
  if (self->search_cancellable) g_cancellable_cancel(self->search_cancellable);
  g_clear_object(&self->search_cancellable);
  if (self->results_cancellable) g_cancellable_cancel(self->results_cancellable);
  g_clear_object(&self->results_cancellable);
  g_queue_clear(&self->header_queue);
  if (self->hardware) g_signal_handlers_disconnect_by_data(self->hardware, self);
  if (self->manager) g_signal_handlers_disconnect_by_data(self->manager, self);
  g_clear_object(&self->hub);
  g_clear_object(&self->hardware);
  g_clear_object(&self->manager);
  G_OBJECT_CLASS(distill_hub_search_parent_class)->dispose(object);
}

static void distill_hub_search_finalize(GObject *object)
{
  DistillHubSearch *self = DISTILL_HUB_SEARCH(object);
  g_clear_pointer(&self->repos, g_ptr_array_unref);
  g_free(self->models_dir);
  g_free(self->message);
  G_OBJECT_CLASS(distill_hub_search_parent_class)->finalize(object);
}

static void distill_hub_search_class_init(DistillHubSearchClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS(klass);
  G_OBJECT_CLASS(klass)->dispose = distill_hub_search_dispose;
  G_OBJECT_CLASS(klass)->finalize = distill_hub_search_finalize;
  gtk_widget_class_set_template_from_resource(widget_class, "/io/github/distillapp/Distill/distill-hub-search.ui");
  gtk_widget_class_bind_template_child(widget_class, DistillHubSearch, entry);
  gtk_widget_class_bind_template_child(widget_class, DistillHubSearch, spinner);
  gtk_widget_class_bind_template_child(widget_class, DistillHubSearch, message_label);
  gtk_widget_class_bind_template_child(widget_class, DistillHubSearch, results_list);
}

static void distill_hub_search_init(DistillHubSearch *self)
{
  gtk_widget_init_template(GTK_WIDGET(self));
  self->repos = g_ptr_array_new_with_free_func((GDestroyNotify)repo_entry_free);
  self->results_cancellable = g_cancellable_new();
  self->status = "idle";
  g_queue_init(&self->header_queue);
  g_signal_connect_swapped(self->entry, "changed", G_CALLBACK(on_entry_changed), self);
  set_status(self, "idle", NULL);
}
