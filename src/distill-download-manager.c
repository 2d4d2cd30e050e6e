/* distill-download-manager.c — the download queue, persisted as a small JSON list. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <errno.h>
#include <json-glib/json-glib.h>

#include "distill-download-manager.h"
#include "distill-download.h"

typedef struct _Item Item;

typedef struct {
  Item *item; /* NULL once the item no longer waits for this run */
  gboolean discard;
} Run;

struct _Item {
  DistillDownloadManager *manager;
  char *id, *repo, *label, *message;
  char *dir; /* the models folder when the item was added: it finishes there */
  GStrv files;
  DistillItemState state;
  gboolean verification_failed; /* FAILED because the bytes do not match the Hub's sha256/size */
  guint shard;
  gint64 shards_done;
  DistillDownload *download;
  GCancellable *cancellable;
  Run *run;
};

struct _DistillDownloadManager {
  GObject parent_instance;
  DistillHub *hub;
  char *models_dir;
  char *state_file;
  GPtrArray *items; /* Item */
  guint max_parallel;
  GApplication *app; /* weak */
  guint inhibit_cookie;
};

G_DEFINE_FINAL_TYPE(DistillDownloadManager, distill_download_manager, G_TYPE_OBJECT)

enum { SIGNAL_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void start_item(Item *it);

static void item_free(Item *it)
{
  if (it->run) it->run->item = NULL;
  if (it->cancellable) g_cancellable_cancel(it->cancellable);
  g_clear_object(&it->cancellable);
  if (it->download) {
    g_signal_handlers_disconnect_by_data(it->download, it);
    /* a paused run waits for resume and ignores the cancellable: stop it for real, so that its
     * part file (and lock) is released now; the part is kept for the next session */
    if (it->run != NULL || it->state == DISTILL_ITEM_PAUSED) distill_download_cancel(it->download);
  }
  g_clear_object(&it->download);
  g_free(it->id);
  g_free(it->repo);
  g_free(it->label);
  g_free(it->message);
  g_free(it->dir);
  g_strfreev(it->files);
  g_free(it);
}

static Item *find_item(DistillDownloadManager *self, const char *id)
{
  for (guint i = 0; i < self->items->len; i++) {
    Item *it = g_ptr_array_index(self->items, i);
    if (g_strcmp0(it->id, id) == 0) return it;
  }
  return NULL;
}

/* Unfinished items only; a running one is saved as paused (after a restart the user resumes it). */
static void save(DistillDownloadManager *self)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "version");
  json_builder_add_int_value(b, 1);
  json_builder_set_member_name(b, "downloads");
  json_builder_begin_array(b);
  for (guint i = 0; i < self->items->len; i++) {
    Item *it = g_ptr_array_index(self->items, i);
    if (it->state == DISTILL_ITEM_DONE) continue;
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "repo");
    json_builder_add_string_value(b, it->repo);
    json_builder_set_member_name(b, "label");
    json_builder_add_string_value(b, it->label ? it->label : "");
    json_builder_set_member_name(b, "dir");
    json_builder_add_string_value(b, it->dir);
    json_builder_set_member_name(b, "state");
    json_builder_add_string_value(b, it->state == DISTILL_ITEM_QUEUED ? "queued" : "paused");
    json_builder_set_member_name(b, "files");
    json_builder_begin_array(b);
    for (guint k = 0; it->files[k]; k++) json_builder_add_string_value(b, it->files[k]);
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  g_autofree char *text = json_generator_to_data(gen, NULL);
  g_autofree char *dir = g_path_get_dirname(self->state_file);
  g_autoptr(GError) error = NULL;
  if (g_mkdir_with_parents(dir, 0700) != 0 || !g_file_set_contents(self->state_file, text, -1, &error))
    g_message("could not save the download list: %s", error ? error->message : g_strerror(errno));
}

static Item *new_item(DistillDownloadManager *self, const char *repo, const char *const *files, const char *label)
{
  Item *it = g_new0(Item, 1);
  it->manager = self;
  it->repo = g_strdup(repo);
  it->files = g_strdupv((char **)files);
  it->label = g_strdup(label);
  it->dir = g_strdup(self->models_dir);
  it->id = g_strdup_printf("%s/%s", repo, files[0]);
  g_ptr_array_add(self->items, it);
  return it;
}

static void load(DistillDownloadManager *self)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_file(parser, self->state_file, NULL)) return;
  JsonNode *root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) return;
  JsonNode *list = json_object_get_member(json_node_get_object(root), "downloads");
  if (list == NULL || !JSON_NODE_HOLDS_ARRAY(list)) return;
  JsonArray *arr = json_node_get_array(list);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *n = json_array_get_element(arr, i);
    if (!JSON_NODE_HOLDS_OBJECT(n)) continue;
    JsonObject *o = json_node_get_object(n);
    const char *repo = json_object_get_string_member_with_default(o, "repo", NULL);
    JsonNode *fn = json_object_get_member(o, "files");
    if (repo == NULL || fn == NULL || !JSON_NODE_HOLDS_ARRAY(fn)) continue;
    g_autoptr(GStrvBuilder) sb = g_strv_builder_new();
    JsonArray *fa = json_node_get_array(fn);
    gboolean ok = json_array_get_length(fa) > 0;
    for (guint k = 0; k < json_array_get_length(fa); k++) {
      const char *f = json_array_get_string_element(fa, k);
      if (f == NULL || !distill_hub_check_file_name(f, NULL)) ok = FALSE;
      else g_strv_builder_add(sb, f);
    }
    g_auto(GStrv) files = g_strv_builder_end(sb);
    g_autofree char *id = ok ? g_strdup_printf("%s/%s", repo, files[0]) : NULL;
    if (!ok || !distill_hub_check_repo_id(repo, NULL) || find_item(self, id) != NULL) continue;
    Item *it = new_item(self, repo, (const char *const *)files,
                        json_object_get_string_member_with_default(o, "label", NULL));
    /* the folder its part files are in (lists saved before there was one: the current folder) */
    const char *dir = json_object_get_string_member_with_default(o, "dir", NULL);
    if (dir != NULL && g_path_is_absolute(dir)) {
      g_free(it->dir);
      it->dir = g_strdup(dir);
    }
    it->state = g_strcmp0(json_object_get_string_member_with_default(o, "state", ""), "queued") == 0
                  ? DISTILL_ITEM_QUEUED
                  : DISTILL_ITEM_PAUSED;
  }
}

static void update_inhibit(DistillDownloadManager *self)
{
  gboolean want = distill_download_manager_get_n_running(self) > 0;
  if (want && self->inhibit_cookie == 0 && GTK_IS_APPLICATION(self->app))
    self->inhibit_cookie = gtk_application_inhibit(GTK_APPLICATION(self->app), NULL, GTK_APPLICATION_INHIBIT_SUSPEND,
                                                   _("Downloading models"));
  else if (!want && self->inhibit_cookie != 0) {
    if (GTK_IS_APPLICATION(self->app)) gtk_application_uninhibit(GTK_APPLICATION(self->app), self->inhibit_cookie);
    self->inhibit_cookie = 0;
  }
}

static void changed(Item *it, gboolean persist)
{
  DistillDownloadManager *self = it->manager;
  if (persist) save(self);
  update_inhibit(self);
  g_signal_emit(self, signals[SIGNAL_CHANGED], 0, it->id);
}

static void notify_done(Item *it)
{
  DistillDownloadManager *self = it->manager;
  if (!GTK_IS_APPLICATION(self->app)) return;
  GtkWindow *win = gtk_application_get_active_window(GTK_APPLICATION(self->app));
  if (win != NULL && gtk_window_is_active(win)) return; /* the user sees the row change */
  g_autoptr(GNotification) n = g_notification_new(_("Download finished"));
  g_autofree char *body = g_strdup_printf(_("%s is ready to use."), it->label ? it->label : it->files[0]);
  g_notification_set_body(n, body);
  g_application_send_notification(self->app, "download-finished", n);
}

static void start_next(DistillDownloadManager *self)
{
  for (guint i = 0; i < self->items->len && distill_download_manager_get_n_running(self) < self->max_parallel; i++) {
    Item *it = g_ptr_array_index(self->items, i);
    if (it->state == DISTILL_ITEM_QUEUED) start_item(it);
  }
}

static void on_progress(Item *it)
{
  g_signal_emit(it->manager, signals[SIGNAL_CHANGED], 0, it->id);
}

static void run_done(GObject *src, GAsyncResult *res, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  gboolean ok = distill_download_run_finish(DISTILL_DOWNLOAD(src), res, &error);
  if (run->discard) distill_download_discard_partial(DISTILL_DOWNLOAD(src), NULL);
  Item *it = run->item;
  g_free(run);
  if (it == NULL) return;
  it->run = NULL;
  DistillDownloadManager *self = it->manager;
  if (ok) {
    it->shards_done += distill_download_get_bytes_done(it->download);
    it->shard++;
    if (it->files[it->shard] != NULL) {
      it->state = DISTILL_ITEM_QUEUED;
      start_item(it);
      return;
    }
    it->state = DISTILL_ITEM_DONE;
    notify_done(it);
  } else if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
    it->state = DISTILL_ITEM_FAILED;
    it->verification_failed = g_error_matches(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_VERIFICATION);
    g_free(it->message);
    it->message = g_strdup(error->message);
  } else {
    it->state = DISTILL_ITEM_PAUSED;
  }
  if (it->download) g_signal_handlers_disconnect_by_data(it->download, it);
  changed(it, TRUE);
  start_next(self);
}

static void start_item(Item *it)
{
  DistillDownloadManager *self = it->manager;
  if (it->download) g_signal_handlers_disconnect_by_data(it->download, it);
  g_clear_object(&it->download);
  /* shards already complete are skipped */
  while (it->files[it->shard + 1] != NULL) {
    g_autofree char *p = g_build_filename(it->dir, it->files[it->shard], NULL);
    GStatBuf st;
    if (g_stat(p, &st) != 0) break;
    it->shards_done += st.st_size;
    it->shard++;
  }
  g_autofree char *dest = g_build_filename(it->dir, it->files[it->shard], NULL);
  it->download = distill_download_new(self->hub, it->repo, it->files[it->shard], NULL, dest);
  g_signal_connect_swapped(it->download, "notify::bytes-done", G_CALLBACK(on_progress), it);
  g_clear_object(&it->cancellable);
  it->cancellable = g_cancellable_new();
  it->run = g_new0(Run, 1);
  it->run->item = it;
  it->state = DISTILL_ITEM_RUNNING;
  distill_download_run_async(it->download, it->cancellable, run_done, it->run);
  changed(it, TRUE);
}

const char *distill_download_manager_add(DistillDownloadManager *self, const char *repo, const char *const *files,
                                         const char *label)
{
  g_return_val_if_fail(files != NULL && files[0] != NULL, NULL);
  g_autofree char *id = g_strdup_printf("%s/%s", repo, files[0]);
  Item *it = find_item(self, id);
  if (it == NULL) it = new_item(self, repo, files, label);
  if (it->state == DISTILL_ITEM_FAILED && it->verification_failed && it->download && it->run == NULL) {
    /* "download again" after a mismatch: the bad part would only fail again */
    g_autoptr(GError) error = NULL;
    if (!distill_download_discard_partial(it->download, &error)) g_message("%s", error->message);
  }
  if (it->state == DISTILL_ITEM_DONE || it->state == DISTILL_ITEM_FAILED) {
    it->verification_failed = FALSE;
    it->shard = 0;
    it->shards_done = 0;
    /* done or failed: a new run, into the folder of now */
    g_free(it->dir);
    it->dir = g_strdup(self->models_dir);
  }
  if (it->state != DISTILL_ITEM_RUNNING) it->state = DISTILL_ITEM_QUEUED;
  changed(it, TRUE);
  start_next(self);
  return it->id;
}

void distill_download_manager_pause(DistillDownloadManager *self, const char *id)
{
  Item *it = find_item(self, id);
  if (it == NULL) return;
  if (it->state == DISTILL_ITEM_RUNNING && it->download) distill_download_pause(it->download);
  if (it->state == DISTILL_ITEM_RUNNING || it->state == DISTILL_ITEM_QUEUED) {
    gboolean was_running = it->state == DISTILL_ITEM_RUNNING && it->download != NULL;
    it->state = DISTILL_ITEM_PAUSED;
    changed(it, TRUE);
    /* a paused DistillDownload keeps its run (and slot) until resumed: only free a slot when it was queued */
    if (!was_running) start_next(self);
  }
}

void distill_download_manager_resume(DistillDownloadManager *self, const char *id)
{
  Item *it = find_item(self, id);
  if (it == NULL || it->state != DISTILL_ITEM_PAUSED) return;
  if (it->download != NULL && it->run != NULL) {
    distill_download_resume(it->download);
    it->state = DISTILL_ITEM_RUNNING;
    changed(it, TRUE);
  } else {
    it->state = DISTILL_ITEM_QUEUED; /* after a restart: a new run resumes the part file */
    changed(it, TRUE);
    start_next(self);
  }
}

void distill_download_manager_cancel(DistillDownloadManager *self, const char *id)
{
  Item *it = find_item(self, id);
  if (it == NULL) return;
  if (it->run) {
    it->run->discard = TRUE;
    it->run->item = NULL;
    it->run = NULL;
  } else {
    /* not running: remove the part files now */
    for (guint k = 0; it->files[k]; k++) {
      g_autofree char *dest = g_build_filename(it->dir, it->files[k], NULL);
      g_autoptr(DistillDownload) d = distill_download_new(self->hub, it->repo, it->files[k], NULL, dest);
      distill_download_discard_partial(d, NULL);
    }
  }
  if (it->download) {
    g_signal_handlers_disconnect_by_data(it->download, it);
    if (it->cancellable) g_cancellable_cancel(it->cancellable);
    distill_download_cancel(it->download);
  }
  g_autofree char *gone = g_strdup(it->id);
  g_ptr_array_remove(self->items, it);
  save(self);
  update_inhibit(self);
  g_signal_emit(self, signals[SIGNAL_CHANGED], 0, gone);
  start_next(self);
}

void distill_download_manager_start_queued(DistillDownloadManager *self)
{
  start_next(self);
}

GStrv distill_download_manager_list(DistillDownloadManager *self)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  for (guint i = 0; i < self->items->len; i++) g_strv_builder_add(b, ((Item *)g_ptr_array_index(self->items, i))->id);
  return g_strv_builder_end(b);
}

gboolean distill_download_manager_get_item(DistillDownloadManager *self, const char *id, DistillItemState *state,
                                           gint64 *done, gint64 *total, const char **label, const char **message)
{
  Item *it = find_item(self, id);
  if (it == NULL) return FALSE;
  if (state) *state = it->state;
  if (it->files[it->shard] == NULL) {
    /* every file is done: shards_done counts them all (and shard is past the end) */
    if (done) *done = it->shards_done;
    if (total) *total = it->shards_done;
  } else {
    gint64 d = it->shards_done + (it->download ? distill_download_get_bytes_done(it->download) : 0);
    gint64 t = it->download ? distill_download_get_total(it->download) : -1;
    if (done) *done = d;
    if (total) *total = t > 0 && it->files[it->shard + 1] == NULL ? it->shards_done + t : -1;
  }
  if (label) *label = it->label;
  if (message) *message = it->message;
  return TRUE;
}

gboolean distill_download_manager_get_rate(DistillDownloadManager *self, const char *id, double *speed, gint64 *eta)
{
  Item *it = find_item(self, id);
  if (it == NULL) return FALSE;
  if (speed) *speed = it->download && it->state == DISTILL_ITEM_RUNNING ? distill_download_get_speed(it->download) : 0;
  if (eta) *eta = it->download && it->state == DISTILL_ITEM_RUNNING ? distill_download_get_eta(it->download) : -1;
  return TRUE;
}

guint distill_download_manager_get_n_running(DistillDownloadManager *self)
{
  guint n = 0;
  for (guint i = 0; i < self->items->len; i++) {
    Item *it = g_ptr_array_index(self->items, i);
    /* a paused DistillDownload still holds its slot (its run is open) */
    if (it->state == DISTILL_ITEM_RUNNING || (it->state == DISTILL_ITEM_PAUSED && it->run != NULL)) n++;
  }
  return n;
}

gboolean distill_download_manager_is_inhibiting(DistillDownloadManager *self)
{
  return self->inhibit_cookie != 0;
}

gboolean distill_download_manager_get_verification_failed(DistillDownloadManager *self, const char *id)
{
  Item *it = find_item(self, id);
  return it != NULL && it->state == DISTILL_ITEM_FAILED && it->verification_failed;
}

gboolean distill_download_manager_keep_unverified(DistillDownloadManager *self, const char *id, GError **error)
{
  Item *it = find_item(self, id);
  if (it == NULL || it->download == NULL || !distill_download_manager_get_verification_failed(self, id)) {
    g_set_error_literal(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_BUSY,
                        _("Only a download that failed verification can be kept as it is."));
    return FALSE;
  }
  if (!distill_download_keep_unverified(it->download, error)) return FALSE;
  it->verification_failed = FALSE;
  g_clear_pointer(&it->message, g_free);
  it->shards_done += distill_download_get_bytes_done(it->download);
  it->shard++;
  if (it->files[it->shard] != NULL) {
    /* the next shard of a split model */
    it->state = DISTILL_ITEM_QUEUED;
    changed(it, TRUE);
    start_next(self);
    return TRUE;
  }
  it->state = DISTILL_ITEM_DONE;
  changed(it, TRUE);
  return TRUE;
}

void distill_download_manager_set_models_dir(DistillDownloadManager *self, const char *models_dir)
{
  g_return_if_fail(DISTILL_IS_DOWNLOAD_MANAGER(self) && models_dir != NULL);
  g_free(self->models_dir);
  self->models_dir = g_strdup(models_dir);
}

const char *distill_download_manager_get_models_dir(DistillDownloadManager *self)
{
  return self->models_dir;
}

const char *distill_download_manager_get_item_dir(DistillDownloadManager *self, const char *id)
{
  Item *it = find_item(self, id);
  return it ? it->dir : NULL;
}

const char *distill_download_manager_get_state_file(DistillDownloadManager *self)
{
  return self->state_file;
}

void distill_download_manager_set_application(DistillDownloadManager *self, GApplication *app)
{
  self->app = app;
  update_inhibit(self);
}

void distill_download_manager_set_max_parallel(DistillDownloadManager *self, guint n)
{
  self->max_parallel = CLAMP(n, 1, 2);
  start_next(self);
}

static void distill_download_manager_dispose(GObject *object)
{
  DistillDownloadManager *self = DISTILL_DOWNLOAD_MANAGER(object);
  if (self->inhibit_cookie && GTK_IS_APPLICATION(self->app))
    gtk_application_uninhibit(GTK_APPLICATION(self->app), self->inhibit_cookie);
  self->inhibit_cookie = 0;
  g_clear_pointer(&self->items, g_ptr_array_unref);
  g_clear_object(&self->hub);
  G_OBJECT_CLASS(distill_download_manager_parent_class)->dispose(object);
}

static void distill_download_manager_finalize(GObject *object)
{
  DistillDownloadManager *self = DISTILL_DOWNLOAD_MANAGER(object);
  g_free(self->models_dir);
  g_free(self->state_file);
  G_OBJECT_CLASS(distill_download_manager_parent_class)->finalize(object);
}

static void distill_download_manager_class_init(DistillDownloadManagerClass *klass)
{
  G_OBJECT_CLASS(klass)->dispose = distill_download_manager_dispose;
  G_OBJECT_CLASS(klass)->finalize = distill_download_manager_finalize;
  /* an item changed state or made progress (its id), or was removed */
  signals[SIGNAL_CHANGED] = g_signal_new("changed", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                         G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void distill_download_manager_init(DistillDownloadManager *self)
{
  self->items = g_ptr_array_new_with_free_func((GDestroyNotify)item_free);
  self->max_parallel = 1;
}

DistillDownloadManager *distill_download_manager_new(DistillHub *hub, const char *models_dir, const char *state_file)
{
  DistillDownloadManager *self = g_object_new(DISTILL_TYPE_DOWNLOAD_MANAGER, NULL);
  self->hub = g_object_ref(hub);
  self->models_dir = models_dir ? g_strdup(models_dir) : distill_download_default_directory();
  self->state_file =
    state_file ? g_strdup(state_file) : g_build_filename(g_get_user_data_dir(), "distill", "downloads.json", NULL);
  load(self);
  return self;
}
