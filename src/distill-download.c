/* distill-download.c — one resumable, verified download (see distill-download.h).
 *
 * How a SIGKILL, a crash or a reboot loses (almost) nothing
 * ---------------------------------------------------------
 * - Bytes are read from the network DISTILL_DOWNLOAD_CHUNK (64 KiB) at a time and each chunk is
 *   written to DEST.part (pwrite, in a worker thread) before the next read is started. The part
 *   on disk is therefore always an exact prefix of the file, and at most one chunk that had
 *   arrived is not on disk yet when the process dies: a resume re-fetches ≤ 64 KiB.
 * - GChecksum cannot save its state, so the hash is never persisted: a resumed download first
 *   re-hashes the part (GTask worker thread, so the main loop keeps running) and continues the
 *   same GChecksum with the new bytes. The hash state can never disagree with the part.
 * - Every checkpoint-bytes (4 MiB) or 2 s the part is fsync'd and the state file is rewritten
 *   (atomically, durably) with checkpoint = the fsync'd length and this boot's id. After a process
 *   kill the page cache still holds every written byte, so the whole part is trusted. After a
 *   reboot (the boot id changed) only the fsync'd checkpoint is: the part is cut back to it.
 * - The state file is written before the first byte of a new part, so a part always has one
 *   (it pins the commit, size and sha256 the bytes belong to).
 *
 * Network: GET {hub}/{repo}/resolve/{commit or revision}/{file} without following redirects;
 * the hub's 302 carries commit/sha256/size; the CDN URL is then fetched with Range: bytes=N-.
 * 206 continues, 200 restarts from 0 (the server ignored the range), 416 means "nothing past N":
 * verify. Drops, short bodies, 408/429/5xx and network errors are retried with exponential
 * backoff and jitter (Retry-After honoured) until give-up-seconds of failure without progress.
 * A 403 from the CDN (expired signed URL) re-resolves through the hub once. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "distill-download-io.h"
#include "distill-download.h"

#define CHECKPOINT_INTERVAL_US (2 * G_USEC_PER_SEC)
#define SPEED_SAMPLE_US (500 * 1000)
#define SPEED_TAU_S 3.0
#define NOTIFY_INTERVAL_US (100 * 1000)
#define BACKOFF_BASE_MS 1000.0
#define BACKOFF_MAX_MS 30000.0
#define MAX_REDIRECTS 10

typedef enum { STOP_NONE, STOP_PAUSE, STOP_CANCEL } StopRequest;

struct _DistillDownload {
  GObject parent_instance;

  DistillHub *hub;
  char *repo, *file, *revision;
  char *dest_path, *part_path, *state_path;

  /* what the hub said (or the state file remembered) */
  char *commit;
  char *sha256; /* expected LFS sha256 */
  char *etag;   /* expected etag: sha256, or git blob sha1 of a small file */
  gint64 total;
  char *cdn_url; /* signed URL of the last redirect; memory only, it expires */
  DistillDownloadStateFile *record;
  gboolean record_dirty;

  /* the part file: valid while part_ready */
  gboolean part_ready;
  int fd;
  gint64 offset; /* bytes in the part, all hashed into checksum */
  GChecksum *checksum;
  gint64 checkpoint_offset, checkpoint_time;

  /* what the user sees */
  DistillDownloadState state;
  char *message;
  double speed;
  gint64 eta;
  gint64 sample_time, sample_bytes, notify_time;

  /* retries */
  guint failures;
  gint64 failing_since; /* monotonic µs of the first failure since the last progress; 0: none */
  gboolean reresolved;  /* the CDN 403 re-resolve was used in this failure streak */
  guint redirects;
  gboolean space_checked;

  /* settings */
  guint give_up_seconds;
  double time_scale;
  gint64 reserve_bytes;
  gint64 checkpoint_bytes;

  /* the run */
  GMainContext *context;
  GTask *run_task;
  GCancellable *user_cancellable;
  gulong user_cancel_id;
  GCancellable *attempt_cancellable;
  guint busy; /* async operations in flight (0 or 1) */
  StopRequest stop_request;
  GSource *retry_source;
  GSource *tick_source; /* while RUNNING: refreshes speed/ETA once a second */
  SoupMessage *msg;
  GInputStream *body;
};

G_DEFINE_FINAL_TYPE(DistillDownload, distill_download, G_TYPE_OBJECT)
G_DEFINE_QUARK(distill-download-error-quark, distill_download_error)

GType distill_download_state_get_type(void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {DISTILL_DOWNLOAD_QUEUED, "DISTILL_DOWNLOAD_QUEUED", "queued"},
    {DISTILL_DOWNLOAD_RUNNING, "DISTILL_DOWNLOAD_RUNNING", "running"},
    {DISTILL_DOWNLOAD_PAUSED, "DISTILL_DOWNLOAD_PAUSED", "paused"},
    {DISTILL_DOWNLOAD_VERIFYING, "DISTILL_DOWNLOAD_VERIFYING", "verifying"},
    {DISTILL_DOWNLOAD_DONE, "DISTILL_DOWNLOAD_DONE", "done"},
    {DISTILL_DOWNLOAD_FAILED, "DISTILL_DOWNLOAD_FAILED", "failed"},
    {DISTILL_DOWNLOAD_FAILED_VERIFICATION, "DISTILL_DOWNLOAD_FAILED_VERIFICATION", "failed-verification"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("DistillDownloadState", values));
  return type;
}

enum {
  PROP_0,
  PROP_HUB,
  PROP_REPO,
  PROP_FILE,
  PROP_REVISION,
  PROP_DESTINATION,
  PROP_STATE,
  PROP_MESSAGE,
  PROP_BYTES_DONE,
  PROP_TOTAL,
  PROP_SPEED,
  PROP_ETA,
  PROP_COMMIT,
  PROP_SHA256,
  PROP_GIVE_UP_SECONDS,
  PROP_TIME_SCALE,
  PROP_RESERVE_BYTES,
  PROP_CHECKPOINT_BYTES,
  N_PROPS
};
static GParamSpec *props[N_PROPS];

static void start_attempt(DistillDownload *self);
static void send_request(DistillDownload *self, const char *url);
static void read_next(DistillDownload *self);
static void begin_finish(DistillDownload *self);
static void attempt_failed(DistillDownload *self, GError *error, gint64 retry_after);
static void fail_run(DistillDownload *self, DistillDownloadState state, GError *error);
static void stop_now(DistillDownload *self);

/* ---- small helpers ----------------------------------------------------------------------- */

static gboolean is_hex(const char *s, gsize len)
{
  if (s == NULL || strlen(s) != len) return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit(s[i])) return FALSE;
  return TRUE;
}

static void set_message(DistillDownload *self, const char *message)
{
  if (g_strcmp0(self->message, message) == 0) return;
  g_free(self->message);
  self->message = g_strdup(message);
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_MESSAGE]);
}

static void update_progress(DistillDownload *self, gboolean force);

static gboolean tick_cb(gpointer data)
{
  /* keeps speed and ETA honest while no byte arrives (a stall, a retry wait) */
  update_progress(data, FALSE);
  return G_SOURCE_CONTINUE;
}

static void set_state(DistillDownload *self, DistillDownloadState state)
{
  if (self->state == state) return;
  self->state = state;
  if (state == DISTILL_DOWNLOAD_RUNNING && self->tick_source == NULL) {
    self->tick_source = g_timeout_source_new_seconds(1);
    g_source_set_callback(self->tick_source, tick_cb, self, NULL);
    g_source_attach(self->tick_source, self->context);
  } else if (state != DISTILL_DOWNLOAD_RUNNING && self->tick_source) {
    g_source_destroy(self->tick_source);
    g_clear_pointer(&self->tick_source, g_source_unref);
  }
  if (state != DISTILL_DOWNLOAD_RUNNING) {
    self->speed = 0;
    self->eta = -1;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SPEED]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ETA]);
  }
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_STATE]);
}

/* Both at once: listeners of either notification see the new state and its message. */
static void set_state_message(DistillDownload *self, DistillDownloadState state, const char *message)
{
  g_object_freeze_notify(G_OBJECT(self));
  set_state(self, state);
  set_message(self, message);
  g_object_thaw_notify(G_OBJECT(self));
}

static void set_total(DistillDownload *self, gint64 total)
{
  if (self->total == total) return;
  self->total = total;
  g_object_notify_by_pspec(G_OBJECT(self), props[PROP_TOTAL]);
}

static void replace_string(char **field, const char *value)
{
  if (g_strcmp0(*field, value) == 0) return;
  g_free(*field);
  *field = g_strdup(value);
}

static char *format_progress(DistillDownload *self)
{
  g_autofree char *done = g_format_size((guint64)self->offset);
  if (self->total < 0) return g_steal_pointer(&done);
  g_autofree char *total = g_format_size((guint64)self->total);
  /* Translators: "1.2 GB of 4.7 GB" */
  return g_strdup_printf(_("%s of %s"), done, total);
}

static gint64 scaled_us(DistillDownload *self, double ms)
{
  return (gint64)(ms * 1000.0 * self->time_scale);
}

/* Progress, smoothed speed and ETA; notifications at most every NOTIFY_INTERVAL_US. */
static void update_progress(DistillDownload *self, gboolean force)
{
  gint64 now = g_get_monotonic_time();
  if (self->sample_time == 0) {
    self->sample_time = now;
    self->sample_bytes = self->offset;
  } else if (now - self->sample_time >= SPEED_SAMPLE_US) {
    double dt = (now - self->sample_time) / (double)G_USEC_PER_SEC;
    double inst = (self->offset - self->sample_bytes) / dt;
    /* exponential moving average with a time constant of about SPEED_TAU_S, whatever the gap */
    double alpha = dt / (SPEED_TAU_S + dt);
    self->speed = self->speed <= 0 ? inst : self->speed + alpha * (inst - self->speed);
    self->sample_time = now;
    self->sample_bytes = self->offset;
    self->eta = (self->total >= 0 && self->speed > 1) ? (gint64)((self->total - self->offset) / self->speed) : -1;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SPEED]);
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_ETA]);
  }
  if (force || now - self->notify_time >= NOTIFY_INTERVAL_US) {
    self->notify_time = now;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_BYTES_DONE]);
  }
}

static void clear_request(DistillDownload *self)
{
  g_clear_object(&self->body);
  g_clear_object(&self->msg);
}

static DistillDownloadStateFile *record_snapshot(DistillDownload *self, gint64 checkpoint)
{
  DistillDownloadStateFile *s = distill_download_state_file_new();
  const DistillDownloadStateFile *r = self->record;
  s->url = distill_hub_build_resolve_url(self->hub, self->repo, self->revision, self->file);
  s->repo = g_strdup(self->repo);
  s->file = g_strdup(self->file);
  s->revision = g_strdup(self->revision);
  s->commit = g_strdup(self->commit);
  s->size = self->total;
  s->sha256 = g_strdup(self->sha256);
  s->etag = g_strdup(self->etag);
  s->checkpoint = checkpoint;
  s->boot_id = g_strdup(distill_download_state_boot_id());
  if (r) {
    s->verification_failed = r->verification_failed;
    s->actual_sha256 = g_strdup(r->actual_sha256);
  }
  return s;
}

static gboolean is_cancel_error(const GError *error)
{
  return g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* ---- GObject ----------------------------------------------------------------------------- */

static void distill_download_init(DistillDownload *self)
{
  self->fd = -1;
  self->total = -1;
  self->eta = -1;
  self->give_up_seconds = 300;
  self->time_scale = 1.0;
  self->reserve_bytes = 64 * 1024 * 1024;
  self->checkpoint_bytes = 4 * 1024 * 1024;
  const char *scale = g_getenv("DISTILL_DOWNLOAD_TIME_SCALE");
  if (scale) {
    double v = g_ascii_strtod(scale, NULL);
    if (v > 0 && v <= 100) self->time_scale = v;
  }
}

static void distill_download_constructed(GObject *object)
{
  DistillDownload *self = DISTILL_DOWNLOAD(object);
  G_OBJECT_CLASS(distill_download_parent_class)->constructed(object);
  if (self->hub == NULL) self->hub = distill_hub_new();
  if (self->revision == NULL) self->revision = g_strdup("main");
  if (self->dest_path == NULL) self->dest_path = g_strdup("model.gguf");
  self->part_path = g_strconcat(self->dest_path, ".part", NULL);
  self->state_path = g_strconcat(self->part_path, ".json", NULL);
}

static void distill_download_dispose(GObject *object)
{
  DistillDownload *self = DISTILL_DOWNLOAD(object);
  if (self->retry_source) {
    g_source_destroy(self->retry_source);
    g_clear_pointer(&self->retry_source, g_source_unref);
  }
  if (self->tick_source) {
    g_source_destroy(self->tick_source);
    g_clear_pointer(&self->tick_source, g_source_unref);
  }
  clear_request(self);
  G_OBJECT_CLASS(distill_download_parent_class)->dispose(object);
}

static void distill_download_finalize(GObject *object)
{
  DistillDownload *self = DISTILL_DOWNLOAD(object);
  /* Every async step holds a reference, so nothing is in flight here, and a stop has already
   * fsync'd the part. */
  if (self->fd >= 0) close(self->fd);
  g_clear_object(&self->hub);
  g_free(self->repo);
  g_free(self->file);
  g_free(self->revision);
  g_free(self->dest_path);
  g_free(self->part_path);
  g_free(self->state_path);
  g_free(self->commit);
  g_free(self->sha256);
  g_free(self->etag);
  g_free(self->cdn_url);
  g_free(self->message);
  distill_download_state_file_free(self->record);
  g_clear_pointer(&self->checksum, g_checksum_free);
  g_clear_object(&self->attempt_cancellable);
  g_clear_object(&self->user_cancellable);
  g_clear_pointer(&self->context, g_main_context_unref);
  G_OBJECT_CLASS(distill_download_parent_class)->finalize(object);
}

static void distill_download_get_property(GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  DistillDownload *self = DISTILL_DOWNLOAD(object);
  switch (id) {
  case PROP_HUB: g_value_set_object(value, self->hub); break;
  case PROP_REPO: g_value_set_string(value, self->repo); break;
  case PROP_FILE: g_value_set_string(value, self->file); break;
  case PROP_REVISION: g_value_set_string(value, self->revision); break;
  case PROP_DESTINATION: g_value_set_string(value, self->dest_path); break;
  case PROP_STATE: g_value_set_enum(value, self->state); break;
  case PROP_MESSAGE: g_value_set_string(value, self->message); break;
  case PROP_BYTES_DONE: g_value_set_int64(value, self->offset); break;
  case PROP_TOTAL: g_value_set_int64(value, self->total); break;
  case PROP_SPEED: g_value_set_double(value, self->speed); break;
  case PROP_ETA: g_value_set_int64(value, self->eta); break;
  case PROP_COMMIT: g_value_set_string(value, self->commit); break;
  case PROP_SHA256: g_value_set_string(value, self->sha256); break;
  case PROP_GIVE_UP_SECONDS: g_value_set_uint(value, self->give_up_seconds); break;
  case PROP_TIME_SCALE: g_value_set_double(value, self->time_scale); break;
  case PROP_RESERVE_BYTES: g_value_set_int64(value, self->reserve_bytes); break;
  case PROP_CHECKPOINT_BYTES: g_value_set_int64(value, self->checkpoint_bytes); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

/* settings are G_PARAM_EXPLICIT_NOTIFY: notify only on a change */
#define SET_AND_NOTIFY(field, get)                                                                   \
  do {                                                                                               \
    __typeof__(self->field) v_ = get(value);                                                         \
    if (self->field != v_) {                                                                         \
      self->field = v_;                                                                              \
      g_object_notify_by_pspec(object, pspec);                                                       \
    }                                                                                                \
  } while (0)

static void distill_download_set_property(GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  DistillDownload *self = DISTILL_DOWNLOAD(object);
  switch (id) {
  case PROP_HUB: self->hub = g_value_dup_object(value); break;
  case PROP_REPO: self->repo = g_value_dup_string(value); break;
  case PROP_FILE: self->file = g_value_dup_string(value); break;
  case PROP_REVISION: self->revision = g_value_dup_string(value); break;
  case PROP_DESTINATION: self->dest_path = g_value_dup_string(value); break;
  case PROP_GIVE_UP_SECONDS: SET_AND_NOTIFY(give_up_seconds, g_value_get_uint); break;
  case PROP_TIME_SCALE: SET_AND_NOTIFY(time_scale, g_value_get_double); break;
  case PROP_RESERVE_BYTES: SET_AND_NOTIFY(reserve_bytes, g_value_get_int64); break;
  case PROP_CHECKPOINT_BYTES: SET_AND_NOTIFY(checkpoint_bytes, g_value_get_int64); break;
  default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void distill_download_class_init(DistillDownloadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS(klass);
  object_class->constructed = distill_download_constructed;
  object_class->dispose = distill_download_dispose;
  object_class->finalize = distill_download_finalize;
  object_class->get_property = distill_download_get_property;
  object_class->set_property = distill_download_set_property;

  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  const GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  props[PROP_HUB] = g_param_spec_object("hub", NULL, NULL, DISTILL_TYPE_HUB, co);
  props[PROP_REPO] = g_param_spec_string("repo", NULL, NULL, NULL, co);
  props[PROP_FILE] = g_param_spec_string("file", NULL, NULL, NULL, co);
  props[PROP_REVISION] = g_param_spec_string("revision", NULL, NULL, NULL, co);
  props[PROP_DESTINATION] = g_param_spec_string("destination", NULL, NULL, NULL, co);
  props[PROP_STATE] = g_param_spec_enum("state", NULL, NULL, DISTILL_TYPE_DOWNLOAD_STATE,
                                        DISTILL_DOWNLOAD_QUEUED, ro);
  props[PROP_MESSAGE] = g_param_spec_string("message", NULL, NULL, NULL, ro);
  props[PROP_BYTES_DONE] = g_param_spec_int64("bytes-done", NULL, NULL, 0, G_MAXINT64, 0, ro);
  props[PROP_TOTAL] = g_param_spec_int64("total", NULL, NULL, -1, G_MAXINT64, -1, ro);
  props[PROP_SPEED] = g_param_spec_double("speed", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  props[PROP_ETA] = g_param_spec_int64("eta", NULL, NULL, -1, G_MAXINT64, -1, ro);
  props[PROP_COMMIT] = g_param_spec_string("commit", NULL, NULL, NULL, ro);
  props[PROP_SHA256] = g_param_spec_string("sha256", NULL, NULL, NULL, ro);
  /* Give up after this long of continuous failure (no byte received). */
  props[PROP_GIVE_UP_SECONDS] = g_param_spec_uint("give-up-seconds", NULL, NULL, 0, G_MAXUINT, 300, rw);
  /* Multiplies every wait (backoff, Retry-After, give-up): tests run with 0.01. */
  props[PROP_TIME_SCALE] = g_param_spec_double("time-scale", NULL, NULL, 0.0001, 100, 1.0, rw);
  /* Free space to leave on the disk beyond the rest of the file. */
  props[PROP_RESERVE_BYTES] = g_param_spec_int64("reserve-bytes", NULL, NULL, 0, G_MAXINT64 / 4,
                                                 64 * 1024 * 1024, rw);
  props[PROP_CHECKPOINT_BYTES] = g_param_spec_int64("checkpoint-bytes", NULL, NULL, DISTILL_DOWNLOAD_CHUNK,
                                                    G_MAXINT64, 4 * 1024 * 1024, rw);
  g_object_class_install_properties(object_class, N_PROPS, props);
}

DistillDownload *distill_download_new(DistillHub *hub, const char *repo, const char *file,
                                      const char *revision, const char *dest_path)
{
  return g_object_new(DISTILL_TYPE_DOWNLOAD, "hub", hub, "repo", repo, "file", file,
                      "revision", revision && *revision ? revision : "main", "destination", dest_path, NULL);
}

/* ---- finishing the run --------------------------------------------------------------------- */

static void complete_run(DistillDownload *self, GError *error)
{
  GTask *task = g_steal_pointer(&self->run_task);
  if (self->user_cancel_id) g_cancellable_disconnect(self->user_cancellable, self->user_cancel_id);
  self->user_cancel_id = 0;
  g_clear_object(&self->user_cancellable);
  self->stop_request = STOP_NONE;
  if (task == NULL) {
    g_clear_error(&error);
    return;
  }
  if (error) g_task_return_error(task, error);
  else g_task_return_boolean(task, TRUE);
  g_object_unref(task);
}

typedef enum { AFTER_PAUSE, AFTER_CANCEL, AFTER_FAIL } AfterCheckpoint;

typedef struct {
  AfterCheckpoint after;
  DistillDownloadState state;
  GError *error;
} AfterData;

static void checkpoint_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = DISTILL_DOWNLOAD(source);
  AfterData *after = user_data;
  self->busy--;
  g_autoptr(GError) cp_error = NULL;
  if (!g_task_propagate_boolean(G_TASK(result), &cp_error))
    g_debug("checkpoint of %s failed: %s", self->part_path, cp_error->message);
  self->checkpoint_offset = self->offset;
  self->checkpoint_time = g_get_monotonic_time();

  if (after->after == AFTER_PAUSE && self->stop_request == STOP_CANCEL) after->after = AFTER_CANCEL;
  if (after->after == AFTER_FAIL) {
    /* the fd was closed by the job: a later run prepares (and re-hashes) the part again */
    self->fd = -1;
    self->part_ready = FALSE;
    g_clear_pointer(&self->checksum, g_checksum_free);
    set_state_message(self, after->state, after->error->message);
    complete_run(self, after->error);
  } else {
    g_autofree char *progress = format_progress(self);
    g_autofree char *text = g_strdup_printf(after->after == AFTER_PAUSE ? _("Paused: %s") : _("Stopped: %s"),
                                            progress);
    set_state_message(self, DISTILL_DOWNLOAD_PAUSED, text);
    if (after->after == AFTER_CANCEL)
      complete_run(self, g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The download was stopped.")));
    else
      self->stop_request = STOP_NONE;
  }
  g_free(after);
  g_object_unref(self); /* the ref held while the run waited */
}

static void run_checkpoint(DistillDownload *self, AfterCheckpoint after, DistillDownloadState state, GError *error)
{
  clear_request(self);
  AfterData *ad = g_new0(AfterData, 1);
  ad->after = after;
  ad->state = state;
  ad->error = error;
  DistillPartCheckpoint *j = g_new0(DistillPartCheckpoint, 1);
  j->fd = self->part_ready ? self->fd : -1;
  j->close_fd = after == AFTER_FAIL;
  /* A failed run that got no byte leaves nothing behind: an empty part holds no data to keep. */
  j->remove_empty = after == AFTER_FAIL && self->part_ready && self->offset == 0;
  if (self->part_ready && !j->remove_empty) j->record = record_snapshot(self, self->offset);
  j->state_path = g_strdup(self->state_path);
  j->part_path = g_strdup(self->part_path);
  if (j->record) self->record_dirty = FALSE;
  self->busy++;
  g_object_ref(self);
  GTask *task = g_task_new(self, NULL, checkpoint_done, ad);
  g_task_set_task_data(task, j, (GDestroyNotify)distill_part_checkpoint_free);
  g_task_run_in_thread(task, distill_part_checkpoint_thread);
  g_object_unref(task);
}

static void fail_run(DistillDownload *self, DistillDownloadState state, GError *error)
{
  run_checkpoint(self, AFTER_FAIL, state, error);
}

static void stop_now(DistillDownload *self)
{
  if (self->retry_source) {
    g_source_destroy(self->retry_source);
    g_clear_pointer(&self->retry_source, g_source_unref);
  }
  run_checkpoint(self, self->stop_request == STOP_CANCEL ? AFTER_CANCEL : AFTER_PAUSE, DISTILL_DOWNLOAD_PAUSED,
                 NULL);
}

/* Called at the top of every async callback: TRUE when a pause/cancel took over. */
static gboolean handle_stop(DistillDownload *self)
{
  if (self->stop_request == STOP_NONE) return FALSE;
  stop_now(self);
  return TRUE;
}

/* ---- retries ------------------------------------------------------------------------------- */

static gboolean retry_cb(gpointer data)
{
  DistillDownload *self = data;
  g_clear_pointer(&self->retry_source, g_source_unref);
  start_attempt(self);
  return G_SOURCE_REMOVE;
}

/* A failure that may go away: wait (backoff with jitter, or Retry-After) and try again, unless
 * the network has been failing for give-up-seconds without a single byte of progress. */
static void attempt_failed(DistillDownload *self, GError *error, gint64 retry_after)
{
  clear_request(self);
  if (self->stop_request != STOP_NONE) {
    g_error_free(error);
    stop_now(self);
    return;
  }
  gint64 now = g_get_monotonic_time();
  if (self->failing_since == 0) self->failing_since = now;
  self->failures++;

  double delay_ms;
  if (retry_after >= 0) {
    delay_ms = retry_after * 1000.0;
  } else {
    /* "equal jitter": half of the exponential step is fixed, half random, so retries of many
     * clients spread out while the wait still grows */
    double step = MIN(BACKOFF_MAX_MS, BACKOFF_BASE_MS * (1u << MIN(self->failures - 1, 16u)));
    delay_ms = step / 2 + g_random_double() * step / 2;
  }
  gint64 delay_us = scaled_us(self, delay_ms);
  gint64 budget_us = (gint64)(self->give_up_seconds * (double)G_USEC_PER_SEC * self->time_scale);
  gint64 elapsed = now - self->failing_since;
  /* the last wait is shortened to end at the budget, so the last try happens at the deadline;
   * a server asking us to wait past it is taken at its word */
  if (retry_after < 0 && elapsed < budget_us) delay_us = MIN(delay_us, budget_us - elapsed);
  if (elapsed >= budget_us || elapsed + delay_us > budget_us) {
    g_autofree char *progress = format_progress(self);
    guint minutes = MAX(1u, (self->give_up_seconds + 30) / 60);
    GError *fatal;
    if (retry_after >= 0 && elapsed < budget_us)
      fatal = g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_GAVE_UP,
                          /* Translators: %1$s is the file name; %2$s is why the last try failed, a
                           * complete sentence of its own ending with a period ("The server answered
                           * 503 Service Unavailable."); %3$d the wait in seconds the server asked
                           * for; %4$s how much has been downloaded, "1.2 GB of 4.7 GB" */
                          g_dngettext(GETTEXT_PACKAGE,
                                      "Could not download %1$s: %2$s The server asked to wait %3$d second, "
                                      "longer than the download keeps trying. Downloaded so far: %4$s; the "
                                      "partial download is kept, resume later.",
                                      "Could not download %1$s: %2$s The server asked to wait %3$d seconds, "
                                      "longer than the download keeps trying. Downloaded so far: %4$s; the "
                                      "partial download is kept, resume later.",
                                      (gulong)MIN(retry_after, G_MAXINT)),
                          self->file, error->message, (int)MIN(retry_after, G_MAXINT), progress);
    else
      fatal = g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_GAVE_UP,
                          /* Translators: %1$s is the file name; %2$s is why the last try failed, a
                           * complete sentence of its own ending with a period; %3$u how long it kept
                           * trying; %4$s how much has been downloaded, "1.2 GB of 4.7 GB" */
                          g_dngettext(GETTEXT_PACKAGE,
                                      "Could not download %1$s: %2$s Gave up after %3$u minute of trying. "
                                      "Downloaded so far: %4$s; the partial download is kept, resume later.",
                                      "Could not download %1$s: %2$s Gave up after %3$u minutes of trying. "
                                      "Downloaded so far: %4$s; the partial download is kept, resume later.",
                                      minutes),
                          self->file, error->message, minutes, progress);
    g_error_free(error);
    fail_run(self, DISTILL_DOWNLOAD_FAILED, fatal);
    return;
  }
  guint seconds = (guint)((delay_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
  g_autofree char *text = g_strdup_printf(
    /* Translators: %1$s is why the try failed, a complete sentence of its own ending with a period
     * ("The connection closed before the end of the file."); %2$u is the wait before the next try */
    g_dngettext(GETTEXT_PACKAGE, "%1$s Retrying in %2$u second…", "%1$s Retrying in %2$u seconds…", seconds),
    error->message, seconds);
  set_message(self, text);
  g_debug("download %s: %s", self->file, error->message);
  g_error_free(error);
  self->retry_source = g_timeout_source_new((guint)(delay_us / 1000));
  g_source_set_callback(self->retry_source, retry_cb, self, NULL);
  g_source_attach(self->retry_source, self->context);
}

static GError *network_error(const GError *error)
{
  return g_error_new(error->domain, error->code, _("The connection failed (%s)."), error->message);
}

/* Restart the part from byte 0 (the server ignored our range, or the file changed). */
static gboolean restart_from_zero(DistillDownload *self)
{
  if (self->offset > 0 && ftruncate(self->fd, 0) != 0) {
    int e = errno;
    fail_run(self, DISTILL_DOWNLOAD_FAILED, distill_part_io_error(e, _("Could not shorten %s: %s"), self->part_path));
    return FALSE;
  }
  self->offset = 0;
  self->checkpoint_offset = 0;
  g_checksum_reset(self->checksum);
  self->record_dirty = TRUE;
  update_progress(self, TRUE);
  return TRUE;
}

/* ---- the body: read, write, repeat --------------------------------------------------------- */

static void write_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = DISTILL_DOWNLOAD(source);
  DistillPartWrite *j = g_task_get_task_data(G_TASK(result));
  GError *error = NULL;
  self->busy--;
  gboolean ok = g_task_propagate_boolean(G_TASK(result), &error);
  self->offset += j->written;
  if (j->written > 0) {
    /* progress: the failure streak is over */
    self->failing_since = 0;
    self->failures = 0;
    self->reresolved = FALSE;
  }
  if (ok && j->record) {
    self->checkpoint_offset = self->offset;
    self->checkpoint_time = g_get_monotonic_time();
    self->record_dirty = FALSE;
  }
  update_progress(self, FALSE);
  if (!ok) {
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE)) {
      g_autofree char *done = g_format_size((guint64)self->offset);
      g_autofree char *total = self->total >= 0 ? g_format_size((guint64)self->total) : g_strdup("?");
      GError *full = g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_NO_SPACE,
                                 _("The disk is full: %s of %s downloaded. Free some space and resume; "
                                   "the partial download is kept."),
                                 done, total);
      g_error_free(error);
      fail_run(self, DISTILL_DOWNLOAD_FAILED, full);
    } else {
      GError *io = g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_IO, "%s", error->message);
      g_error_free(error);
      fail_run(self, DISTILL_DOWNLOAD_FAILED, io);
    }
    g_object_unref(self);
    return;
  }
  if (!handle_stop(self)) read_next(self);
  g_object_unref(self);
}

static void read_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = user_data;
  GError *error = NULL;
  self->busy--;
  GBytes *bytes = g_input_stream_read_bytes_finish(G_INPUT_STREAM(source), result, &error);
  if (bytes == NULL) {
    if (is_cancel_error(error) && self->stop_request != STOP_NONE) {
      g_error_free(error);
      stop_now(self);
    } else {
      GError *net = network_error(error);
      g_error_free(error);
      attempt_failed(self, net, -1);
    }
    g_object_unref(self);
    return;
  }
  gsize len = g_bytes_get_size(bytes);
  if (len == 0) {
    g_bytes_unref(bytes);
    if (self->total >= 0 && self->offset < self->total) {
      attempt_failed(self, g_error_new_literal(G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT,
                                               _("The connection closed before the end of the file.")),
                     -1);
    } else {
      clear_request(self);
      if (!handle_stop(self)) begin_finish(self);
    }
    g_object_unref(self);
    return;
  }

  DistillPartWrite *j = g_new0(DistillPartWrite, 1);
  j->fd = self->fd;
  j->bytes = bytes;
  j->offset = self->offset;
  j->checksum = self->checksum;
  j->state_path = g_strdup(self->state_path);
  j->part_path = g_strdup(self->part_path);
  gint64 end = self->offset + (gint64)len;
  if (end - self->checkpoint_offset >= self->checkpoint_bytes ||
      g_get_monotonic_time() - self->checkpoint_time >= CHECKPOINT_INTERVAL_US || self->record_dirty)
    j->record = record_snapshot(self, end);
  self->busy++;
  GTask *task = g_task_new(self, NULL, write_done, NULL); /* write_done gets the ref we hold */
  g_task_set_task_data(task, j, (GDestroyNotify)distill_part_write_free);
  g_task_run_in_thread(task, distill_part_write_thread);
  g_object_unref(task);
}

static void read_next(DistillDownload *self)
{
  self->busy++;
  g_input_stream_read_bytes_async(self->body, DISTILL_DOWNLOAD_CHUNK, G_PRIORITY_DEFAULT,
                                  self->attempt_cancellable, read_done, g_object_ref(self));
}

static void space_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = user_data;
  self->busy--;
  g_autoptr(GFileInfo) info = g_file_query_filesystem_info_finish(G_FILE(source), result, NULL);
  if (handle_stop(self)) {
    g_object_unref(self);
    return;
  }
  self->space_checked = TRUE;
  if (info && g_file_info_has_attribute(info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE) && self->total >= 0) {
    guint64 free_bytes = g_file_info_get_attribute_uint64(info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE);
    guint64 needed = (guint64)MAX(0, self->total - self->offset) + (guint64)self->reserve_bytes;
    if (free_bytes < needed) {
      g_autofree char *need = g_format_size((guint64)MAX(0, self->total - self->offset));
      g_autofree char *have = g_format_size(free_bytes);
      g_autofree char *dir = g_path_get_dirname(self->dest_path);
      fail_run(self, DISTILL_DOWNLOAD_FAILED,
               g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_NO_SPACE,
                           _("Not enough free disk space for %s: it needs %s more, and only %s is free "
                             "in %s. Free some space and try again."),
                           self->file, need, have, dir));
      g_object_unref(self);
      return;
    }
  }
  read_next(self);
  g_object_unref(self);
}

static void record_saved(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = DISTILL_DOWNLOAD(source);
  GError *error = NULL;
  self->busy--;
  if (!g_task_propagate_boolean(G_TASK(result), &error)) {
    fail_run(self, DISTILL_DOWNLOAD_FAILED,
             g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_IO, "%s", error->message));
    g_error_free(error);
    g_object_unref(self);
    return;
  }
  self->record_dirty = FALSE;
  if (handle_stop(self)) {
    g_object_unref(self);
    return;
  }
  if (!self->space_checked) {
    g_autofree char *dir = g_path_get_dirname(self->dest_path);
    g_autoptr(GFile) file = g_file_new_for_path(dir);
    self->busy++;
    g_file_query_filesystem_info_async(file, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, G_PRIORITY_DEFAULT,
                                       self->attempt_cancellable, space_checked, g_object_ref(self));
  } else {
    read_next(self);
  }
  g_object_unref(self);
}

/* The body is about to flow: make sure the state file describes the part first. */
static void begin_body(DistillDownload *self)
{
  set_message(self, NULL);
  DistillPartCheckpoint *j = g_new0(DistillPartCheckpoint, 1);
  j->fd = -1; /* nothing new to sync in the part; only the state file */
  j->record = record_snapshot(self, self->checkpoint_offset);
  j->state_path = g_strdup(self->state_path);
  j->part_path = g_strdup(self->part_path);
  if (!self->record_dirty) {
    distill_part_checkpoint_free(j);
    self->busy++;
    GTask *task = g_task_new(self, NULL, record_saved, g_object_ref(self));
    g_task_return_boolean(task, TRUE);
    g_object_unref(task);
    return;
  }
  self->busy++;
  GTask *task = g_task_new(self, NULL, record_saved, g_object_ref(self));
  g_task_set_task_data(task, j, (GDestroyNotify)distill_part_checkpoint_free);
  g_task_run_in_thread(task, distill_part_checkpoint_thread);
  g_object_unref(task);
}

/* ---- requests ------------------------------------------------------------------------------ */

/* Take the metadata of a hub answer. FALSE: the part must restart (the file changed). */
static gboolean adopt_hub_info(DistillDownload *self, DistillHubFileInfo *info)
{
  gboolean changed = FALSE;
  if (info->commit && g_strcmp0(self->commit, info->commit) != 0) {
    replace_string(&self->commit, info->commit);
    self->record_dirty = TRUE;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_COMMIT]);
  }
  if (info->etag && g_strcmp0(self->etag, info->etag) != 0) {
    if (self->etag) changed = TRUE;
    replace_string(&self->etag, info->etag);
    replace_string(&self->sha256, info->sha256);
    self->record_dirty = TRUE;
    g_object_notify_by_pspec(G_OBJECT(self), props[PROP_SHA256]);
  }
  if (info->size >= 0 && info->size != self->total) {
    if (self->total >= 0) changed = TRUE;
    set_total(self, info->size);
    self->record_dirty = TRUE;
  }
  if (changed && self->record) {
    self->record->verification_failed = FALSE;
    g_clear_pointer(&self->record->actual_sha256, g_free);
  }
  return !changed;
}

static gboolean parse_content_range(const char *value, gint64 *start, gint64 *total)
{
  *start = -1;
  *total = -1;
  if (value == NULL) return FALSE;
  while (g_ascii_isspace(*value)) value++;
  if (g_ascii_strncasecmp(value, "bytes", 5) != 0) return FALSE;
  value += 5;
  while (g_ascii_isspace(*value)) value++;
  char *end;
  if (*value == '*') {
    end = (char *)value + 1;
  } else {
    *start = g_ascii_strtoll(value, &end, 10);
    if (end == value || *end != '-') return FALSE;
    g_ascii_strtoll(end + 1, &end, 10);
  }
  if (*end != '/') return FALSE;
  if (end[1] != '*') *total = g_ascii_strtoll(end + 1, NULL, 10);
  return TRUE;
}

static void request_sent(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = user_data;
  GError *error = NULL;
  self->busy--;
  GInputStream *stream = soup_session_send_finish(SOUP_SESSION(source), result, &error);
  if (stream == NULL) {
    if (is_cancel_error(error) && self->stop_request != STOP_NONE) {
      g_error_free(error);
      stop_now(self);
    } else if (error->domain == G_TLS_ERROR) {
      fail_run(self, DISTILL_DOWNLOAD_FAILED,
               g_error_new(error->domain, error->code, _("Secure connection failed: %s"), error->message));
      g_error_free(error);
    } else {
      attempt_failed(self, network_error(error), -1);
      g_error_free(error);
    }
    g_object_unref(self);
    return;
  }
  self->body = stream;
  if (handle_stop(self)) {
    g_object_unref(self);
    return;
  }

  SoupMessage *msg = self->msg;
  guint status = soup_message_get_status(msg);
  SoupMessageHeaders *headers = soup_message_get_response_headers(msg);
  gboolean from_hub = distill_hub_is_hub_uri(self->hub, soup_message_get_uri(msg));

  if (SOUP_STATUS_IS_REDIRECTION(status) && soup_message_headers_get_one(headers, "Location")) {
    g_autoptr(DistillHubFileInfo) info = distill_hub_file_info_from_message(msg);
    if (from_hub && !adopt_hub_info(self, info) && !restart_from_zero(self)) goto out;
    if (info->location == NULL || ++self->redirects > MAX_REDIRECTS) {
      fail_run(self, DISTILL_DOWNLOAD_FAILED,
               g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                           _("The server sent too many redirects for %s."), self->file));
      goto out;
    }
    g_autoptr(GUri) target = g_uri_parse(info->location, SOUP_HTTP_URI_FLAGS, NULL);
    if (target && !distill_hub_is_hub_uri(self->hub, target)) replace_string(&self->cdn_url, info->location);
    clear_request(self);
    send_request(self, info->location);
    goto out;
  }

  if (from_hub && (status == SOUP_STATUS_OK || status == SOUP_STATUS_PARTIAL_CONTENT)) {
    /* served by the hub itself (a small file): its headers are the metadata */
    g_autoptr(DistillHubFileInfo) info = distill_hub_file_info_from_message(msg);
    if (status == SOUP_STATUS_PARTIAL_CONTENT) info->size = -1; /* Content-Length is the rest only */
    if (!adopt_hub_info(self, info) && !restart_from_zero(self)) goto out;
  }

  if (status == SOUP_STATUS_OK) {
    if (self->offset > 0 && !restart_from_zero(self)) goto out; /* the range was ignored */
    if (self->total < 0 && soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH)
      set_total(self, soup_message_headers_get_content_length(headers));
    self->redirects = 0;
    begin_body(self);
    goto out;
  }

  if (status == SOUP_STATUS_PARTIAL_CONTENT) {
    gint64 start, total;
    parse_content_range(soup_message_headers_get_one(headers, "Content-Range"), &start, &total);
    if (start != self->offset) {
      attempt_failed(self, g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                                       _("The server sent another part of the file than the one asked for.")),
                     -1);
      goto out;
    }
    if (total >= 0 && self->total < 0) set_total(self, total);
    if (total >= 0 && total != self->total) {
      attempt_failed(self, g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                                       _("The server and Hugging Face disagree about the file size.")),
                     -1);
      goto out;
    }
    self->redirects = 0;
    begin_body(self);
    goto out;
  }

  if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE) {
    gint64 start, total;
    parse_content_range(soup_message_headers_get_one(headers, "Content-Range"), &start, &total);
    if (total < 0) total = self->total;
    if (total >= 0 && self->offset == total) {
      /* nothing left to fetch: the part is complete (killed while verifying, or so) */
      if (self->total < 0) set_total(self, total);
      clear_request(self);
      begin_finish(self);
    } else if (total >= 0 && self->offset > total) {
      if (restart_from_zero(self)) {
        clear_request(self);
        start_attempt(self);
      }
    } else {
      attempt_failed(self, g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL,
                                       _("The server refused the range of the file we asked for.")),
                     -1);
    }
    goto out;
  }

  if (status == SOUP_STATUS_FORBIDDEN && !from_hub && !self->reresolved) {
    /* Signed CDN URLs expire: ask the hub for a fresh one, once per failure streak. */
    self->reresolved = TRUE;
    g_clear_pointer(&self->cdn_url, g_free);
    clear_request(self);
    start_attempt(self);
    goto out;
  }

  if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
    gint64 retry_after = distill_hub_parse_retry_after(headers);
    GError *e = distill_hub_error_for_status(self->hub, msg, self->repo, self->revision, self->file);
    if (status == 408) {
      g_clear_error(&e);
      e = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_TIMED_OUT, _("The server timed out."));
    }
    /* a CDN that keeps failing may be a bad edge: the next try goes through the hub again */
    if (!from_hub && self->failures >= 2) g_clear_pointer(&self->cdn_url, g_free);
    attempt_failed(self, e, retry_after);
    goto out;
  }

  /* 401/403 from the hub, 404, a second CDN 403, anything else: trying again will not help */
  fail_run(self, DISTILL_DOWNLOAD_FAILED,
           distill_hub_error_for_status(self->hub, msg, self->repo, self->revision, self->file));
out:
  g_object_unref(self);
}

static void send_request(DistillDownload *self, const char *url)
{
  clear_request(self);
  self->msg = soup_message_new(SOUP_METHOD_GET, url);
  if (self->msg == NULL) {
    fail_run(self, DISTILL_DOWNLOAD_FAILED,
             g_error_new(DISTILL_HUB_ERROR, DISTILL_HUB_ERROR_PROTOCOL, _("Invalid address: %s"), url));
    return;
  }
  distill_hub_prepare_message(self->hub, self->msg);
  if (self->offset > 0)
    soup_message_headers_set_range(soup_message_get_request_headers(self->msg), self->offset, -1);
  self->busy++;
  soup_session_send_async(distill_hub_get_session(self->hub), self->msg, G_PRIORITY_DEFAULT,
                          self->attempt_cancellable, request_sent, g_object_ref(self));
}

static void send_first_request(DistillDownload *self)
{
  if (self->cdn_url) {
    send_request(self, self->cdn_url);
    return;
  }
  /* Pin the commit once known, so a resume never mixes bytes of two versions of the file. */
  g_autofree char *url = distill_hub_build_resolve_url(self->hub, self->repo,
                                                        self->commit ? self->commit : self->revision, self->file);
  self->redirects = 0;
  send_request(self, url);
}

/* ---- a file that is already there -------------------------------------------------------- */

static void existing_hashed(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = DISTILL_DOWNLOAD(source);
  DistillPartHashFile *j = g_task_get_task_data(G_TASK(result));
  GError *error = NULL;
  self->busy--;
  if (handle_stop(self)) {
    g_object_unref(self);
    return;
  }
  if (!g_task_propagate_boolean(G_TASK(result), &error)) {
    fail_run(self, DISTILL_DOWNLOAD_FAILED,
             g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_IO, "%s", error->message));
    g_error_free(error);
  } else if (g_ascii_strcasecmp(j->actual, self->sha256 ? self->sha256 : self->etag) == 0) {
    set_state_message(self, DISTILL_DOWNLOAD_DONE, _("Already downloaded and verified."));
    complete_run(self, NULL);
  } else {
    fail_run(self, DISTILL_DOWNLOAD_FAILED,
             g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_EXISTS,
                         _("%s already exists and is not the file on Hugging Face (its checksum differs). "
                           "Move it away to download the file again."),
                         self->dest_path));
  }
  g_object_unref(self);
}

static void existing_queried(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = user_data;
  GError *error = NULL;
  self->busy--;
  g_autoptr(DistillHubFileInfo) info = distill_hub_query_file_finish(DISTILL_HUB(source), result, &error);
  if (info == NULL) {
    if (is_cancel_error(error) && self->stop_request != STOP_NONE) {
      g_error_free(error);
      stop_now(self);
    } else if (error->domain == DISTILL_HUB_ERROR && error->code != DISTILL_HUB_ERROR_SERVER &&
               error->code != DISTILL_HUB_ERROR_RATE_LIMITED) {
      fail_run(self, DISTILL_DOWNLOAD_FAILED, error);
    } else if (error->domain == DISTILL_HUB_ERROR) {
      attempt_failed(self, error, -1);
    } else {
      attempt_failed(self, network_error(error), -1);
      g_error_free(error);
    }
    g_object_unref(self);
    return;
  }
  adopt_hub_info(self, info);
  if (self->etag == NULL) {
    fail_run(self, DISTILL_DOWNLOAD_FAILED,
             g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_EXISTS,
                         _("%s already exists, and Hugging Face did not say which checksum it should have."),
                         self->dest_path));
    g_object_unref(self);
    return;
  }
  set_state_message(self, DISTILL_DOWNLOAD_VERIFYING, _("Checking the file that is already there…"));
  DistillPartHashFile *j = g_new0(DistillPartHashFile, 1);
  j->path = g_strdup(self->dest_path);
  j->sha1_git = self->sha256 == NULL && is_hex(self->etag, 40);
  self->busy++;
  GTask *task = g_task_new(self, self->attempt_cancellable, existing_hashed, NULL);
  g_task_set_task_data(task, j, (GDestroyNotify)distill_part_hash_file_free);
  g_task_run_in_thread(task, distill_part_hash_file_thread);
  g_object_unref(task);
  /* existing_hashed unrefs the reference we hold */
}

/* ---- verification ---------------------------------------------------------------------- */

static void finish_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = DISTILL_DOWNLOAD(source);
  DistillPartFinish *j = g_task_get_task_data(G_TASK(result));
  GError *error = NULL;
  self->busy--;
  if (!g_task_propagate_boolean(G_TASK(result), &error)) {
    GError *io = g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_IO, "%s", error->message);
    g_error_free(error);
    fail_run(self, DISTILL_DOWNLOAD_FAILED, io);
    g_object_unref(self);
    return;
  }
  if (j->verified) {
    close(self->fd);
    self->fd = -1;
    self->part_ready = FALSE;
    g_clear_pointer(&self->checksum, g_checksum_free);
    g_clear_pointer(&self->record, distill_download_state_file_free);
    update_progress(self, TRUE);
    set_state_message(self, DISTILL_DOWNLOAD_DONE, _("Downloaded and verified."));
    complete_run(self, NULL);
  } else {
    distill_download_state_file_free(self->record);
    self->record = g_steal_pointer(&j->record);
    self->record_dirty = FALSE;
    g_autofree char *base = g_path_get_basename(self->part_path);
    GError *bad = g_error_new(DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_VERIFICATION,
                              _("The downloaded %s does not match the file on Hugging Face: %s. It was kept "
                                "as %s; download it again, or keep it anyway."),
                              self->file, j->problem, base);
    fail_run(self, DISTILL_DOWNLOAD_FAILED_VERIFICATION, bad);
  }
  g_object_unref(self);
}

static void run_finish_job(DistillDownload *self)
{
  set_state_message(self, DISTILL_DOWNLOAD_VERIFYING, _("Verifying…"));
  update_progress(self, TRUE);
  DistillPartFinish *j = g_new0(DistillPartFinish, 1);
  j->fd = self->fd;
  j->part_path = g_strdup(self->part_path);
  j->dest_path = g_strdup(self->dest_path);
  j->state_path = g_strdup(self->state_path);
  j->checksum = self->checksum;
  j->offset = self->offset;
  j->expected_size = self->total;
  j->expected_sha256 = g_strdup(self->sha256);
  if (self->sha256 == NULL && is_hex(self->etag, 40)) j->expected_sha1 = g_ascii_strdown(self->etag, -1);
  j->record = record_snapshot(self, self->offset);
  self->busy++;
  g_object_ref(self); /* dropped by finish_done */
  GTask *task = g_task_new(self, NULL, finish_done, NULL);
  g_task_set_task_data(task, j, (GDestroyNotify)distill_part_finish_free);
  g_task_run_in_thread(task, distill_part_finish_thread);
  g_object_unref(task);
}

static void tree_listed(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = user_data;
  self->busy--;
  g_autoptr(GPtrArray) entries = distill_hub_list_files_finish(DISTILL_HUB(source), result, NULL);
  for (guint i = 0; entries && i < entries->len; i++) {
    DistillHubEntry *e = g_ptr_array_index(entries, i);
    if (g_strcmp0(e->path, self->file) != 0) continue;
    replace_string(&self->sha256, e->sha256);
    replace_string(&self->etag, e->sha256 ? e->sha256 : e->oid);
    if (self->total < 0 && e->size >= 0) set_total(self, e->size);
  }
  if (handle_stop(self)) {
    g_object_unref(self);
    return;
  }
  run_finish_job(self);
  g_object_unref(self);
}

/* All bytes are there: verify (after asking the tree API when no checksum is known yet). */
static void begin_finish(DistillDownload *self)
{
  if (self->sha256 == NULL && !is_hex(self->etag, 40)) {
    self->busy++;
    distill_hub_list_files_async(self->hub, self->repo, self->commit ? self->commit : self->revision,
                                 self->attempt_cancellable, tree_listed, g_object_ref(self));
    return;
  }
  run_finish_job(self);
}

/* ---- the attempt loop ------------------------------------------------------------------ */

static void prepared(GObject *source, GAsyncResult *result, gpointer user_data)
{
  DistillDownload *self = DISTILL_DOWNLOAD(source);
  DistillPartPrepare *j = g_task_get_task_data(G_TASK(result));
  GError *error = NULL;
  self->busy--;
  if (!g_task_propagate_boolean(G_TASK(result), &error)) {
    gboolean busy = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_BUSY);
    fail_run(self, DISTILL_DOWNLOAD_FAILED,
             g_error_new(DISTILL_DOWNLOAD_ERROR, busy ? DISTILL_DOWNLOAD_ERROR_BUSY : DISTILL_DOWNLOAD_ERROR_IO, "%s",
                         error->message));
    g_error_free(error);
    g_object_unref(self);
    return;
  }
  if (!j->dest_exists && !j->complete) {
    /* a pause cut the re-hash (or the wait for the part's lock) short: forget it, the next
     * attempt prepares again */
    if (!handle_stop(self)) start_attempt(self);
    g_object_unref(self);
    return;
  }
  if (j->dest_exists) {
    if (handle_stop(self)) {
      g_object_unref(self);
      return;
    }
    self->busy++;
    distill_hub_query_file_async(self->hub, self->repo, self->revision, self->file, self->attempt_cancellable,
                                 existing_queried, self); /* takes over our ref */
    return;
  }

  self->fd = j->fd;
  j->fd = -1;
  self->part_ready = TRUE;
  g_clear_pointer(&self->checksum, g_checksum_free);
  self->checksum = g_steal_pointer(&j->checksum);
  self->offset = j->offset;
  self->checkpoint_offset = j->offset;
  self->checkpoint_time = g_get_monotonic_time();
  if (j->record) {
    DistillDownloadStateFile *r = j->record;
    if (r->commit) replace_string(&self->commit, r->commit);
    if (r->etag) {
      replace_string(&self->etag, r->etag);
      replace_string(&self->sha256, r->sha256);
    }
    if (r->size >= 0) set_total(self, r->size);
    distill_download_state_file_free(self->record);
    self->record = g_steal_pointer(&j->record);
    self->record_dirty = FALSE;
  } else {
    self->record_dirty = TRUE;
  }
  if (j->note) set_message(self, j->note);
  update_progress(self, TRUE);

  if (handle_stop(self)) {
    g_object_unref(self);
    return;
  }
  if (self->total >= 0 && self->offset == self->total && self->etag && !self->record_dirty) {
    /* complete part of a known file (killed while verifying, or a failed verification): just verify */
    begin_finish(self);
  } else {
    send_first_request(self);
  }
  g_object_unref(self);
}

static void start_attempt(DistillDownload *self)
{
  g_clear_object(&self->attempt_cancellable);
  self->attempt_cancellable = g_cancellable_new();
  self->sample_time = 0;
  if (self->part_ready) {
    send_first_request(self);
    return;
  }
  DistillPartPrepare *j = g_new0(DistillPartPrepare, 1);
  j->fd = -1;
  j->part_path = g_strdup(self->part_path);
  j->state_path = g_strdup(self->state_path);
  j->dest_path = g_strdup(self->dest_path);
  j->repo = g_strdup(self->repo);
  j->file = g_strdup(self->file);
  j->revision = g_strdup(self->revision);
  if (g_file_test(self->part_path, G_FILE_TEST_EXISTS))
    set_message(self, _("Checking the part already downloaded…"));
  self->busy++;
  g_object_ref(self);
  GTask *task = g_task_new(self, self->attempt_cancellable, prepared, NULL);
  g_task_set_check_cancellable(task, FALSE); /* the job reports how far it got */
  g_task_set_task_data(task, j, (GDestroyNotify)distill_part_prepare_free);
  g_task_run_in_thread(task, distill_part_prepare_thread);
  g_object_unref(task);
}

/* ---- public API ---------------------------------------------------------------------------- */

static gboolean user_cancel_idle(gpointer data)
{
  distill_download_cancel(DISTILL_DOWNLOAD(data));
  return G_SOURCE_REMOVE;
}

static void user_cancelled(GCancellable *cancellable, gpointer data)
{
  DistillDownload *self = data;
  /* may run in any thread, and inside g_cancellable_cancel(): act from our own context */
  GSource *source = g_idle_source_new();
  g_source_set_callback(source, user_cancel_idle, g_object_ref(self), g_object_unref);
  g_source_attach(source, self->context);
  g_source_unref(source);
}

void distill_download_run_async(DistillDownload *self, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail(DISTILL_IS_DOWNLOAD(self));
  GTask *task = g_task_new(self, cancellable, callback, user_data);
  g_task_set_source_tag(task, distill_download_run_async);
  if (self->run_task) {
    g_task_return_new_error(task, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_BUSY,
                            _("This download is already running."));
    g_object_unref(task);
    return;
  }
  GError *error = NULL;
  if (!distill_hub_check_repo_id(self->repo, &error) || !distill_hub_check_file_name(self->file, &error)) {
    set_state_message(self, DISTILL_DOWNLOAD_FAILED, error->message);
    g_task_return_error(task, error);
    g_object_unref(task);
    return;
  }
  g_clear_pointer(&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default();
  self->run_task = task;
  self->stop_request = STOP_NONE;
  self->failures = 0;
  self->failing_since = 0;
  self->reresolved = FALSE;
  self->space_checked = FALSE;
  if (cancellable) {
    self->user_cancellable = g_object_ref(cancellable);
    self->user_cancel_id = g_cancellable_connect(cancellable, G_CALLBACK(user_cancelled), self, NULL);
  }
  set_state(self, DISTILL_DOWNLOAD_RUNNING);
  start_attempt(self);
}

gboolean distill_download_run_finish(DistillDownload *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail(g_task_is_valid(result, self), FALSE);
  return g_task_propagate_boolean(G_TASK(result), error);
}

static void request_stop(DistillDownload *self, StopRequest request)
{
  if (self->run_task == NULL) return;
  if (self->state == DISTILL_DOWNLOAD_PAUSED && self->stop_request == STOP_NONE) {
    /* paused, nothing in flight: a cancel just ends the run */
    if (request == STOP_CANCEL)
      complete_run(self, g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The download was stopped.")));
    return;
  }
  if (self->state != DISTILL_DOWNLOAD_RUNNING && self->state != DISTILL_DOWNLOAD_VERIFYING) return;
  if (self->stop_request == STOP_CANCEL) return;
  gboolean already = self->stop_request != STOP_NONE;
  self->stop_request = request;
  if (already) return;
  set_message(self, request == STOP_PAUSE ? _("Pausing…") : _("Stopping…"));
  if (self->attempt_cancellable) g_cancellable_cancel(self->attempt_cancellable);
  if (self->busy == 0) stop_now(self); /* waiting for a retry: nothing else will notice */
}

void distill_download_pause(DistillDownload *self)
{
  g_return_if_fail(DISTILL_IS_DOWNLOAD(self));
  request_stop(self, STOP_PAUSE);
}

void distill_download_cancel(DistillDownload *self)
{
  g_return_if_fail(DISTILL_IS_DOWNLOAD(self));
  request_stop(self, STOP_CANCEL);
}

void distill_download_resume(DistillDownload *self)
{
  g_return_if_fail(DISTILL_IS_DOWNLOAD(self));
  if (self->run_task == NULL || self->state != DISTILL_DOWNLOAD_PAUSED || self->stop_request != STOP_NONE) return;
  self->failures = 0;
  self->failing_since = 0;
  self->reresolved = FALSE;
  set_state_message(self, DISTILL_DOWNLOAD_RUNNING, NULL);
  start_attempt(self);
}

gboolean distill_download_keep_unverified(DistillDownload *self, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_DOWNLOAD(self), FALSE);
  if (self->run_task || self->state != DISTILL_DOWNLOAD_FAILED_VERIFICATION) {
    g_set_error_literal(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_BUSY,
                        _("Only a download that failed verification can be kept as it is."));
    return FALSE;
  }
  if (g_rename(self->part_path, self->dest_path) != 0) {
    int e = errno;
    g_propagate_error(error, distill_part_io_error(e, _("Could not rename the download to %s: %s"), self->dest_path));
    return FALSE;
  }
  g_unlink(self->state_path);
  g_clear_pointer(&self->record, distill_download_state_file_free);
  set_state_message(self, DISTILL_DOWNLOAD_DONE, _("Kept without verification."));
  return TRUE;
}

gboolean distill_download_discard_partial(DistillDownload *self, GError **error)
{
  g_return_val_if_fail(DISTILL_IS_DOWNLOAD(self), FALSE);
  if (self->run_task) {
    g_set_error_literal(error, DISTILL_DOWNLOAD_ERROR, DISTILL_DOWNLOAD_ERROR_BUSY,
                        _("Stop the download first."));
    return FALSE;
  }
  if (g_unlink(self->part_path) != 0 && errno != ENOENT) {
    int e = errno;
    g_propagate_error(error, distill_part_io_error(e, _("Could not delete %s: %s"), self->part_path));
    return FALSE;
  }
  g_unlink(self->state_path);
  g_clear_pointer(&self->record, distill_download_state_file_free);
  g_clear_pointer(&self->etag, g_free);
  g_clear_pointer(&self->sha256, g_free);
  g_clear_pointer(&self->commit, g_free);
  g_clear_pointer(&self->cdn_url, g_free);
  set_total(self, -1);
  self->offset = 0;
  update_progress(self, TRUE);
  set_state_message(self, DISTILL_DOWNLOAD_QUEUED, NULL);
  return TRUE;
}

DistillDownloadState distill_download_get_state(DistillDownload *self) { return self->state; }
const char *distill_download_get_message(DistillDownload *self) { return self->message; }
gint64 distill_download_get_bytes_done(DistillDownload *self) { return self->offset; }
gint64 distill_download_get_total(DistillDownload *self) { return self->total; }
double distill_download_get_speed(DistillDownload *self) { return self->speed; }
gint64 distill_download_get_eta(DistillDownload *self) { return self->eta; }
const char *distill_download_get_destination(DistillDownload *self) { return self->dest_path; }
const char *distill_download_get_partial_path(DistillDownload *self) { return self->part_path; }
const char *distill_download_get_state_path(DistillDownload *self) { return self->state_path; }
const char *distill_download_get_commit(DistillDownload *self) { return self->commit; }
const char *distill_download_get_sha256(DistillDownload *self) { return self->sha256; }
const char *distill_download_get_repo(DistillDownload *self) { return self->repo; }
const char *distill_download_get_file(DistillDownload *self) { return self->file; }

char *distill_download_default_directory(void)
{
  return g_build_filename(g_get_user_data_dir(), "distill", "models", NULL);
}
