/* distill-download-state.c — load/save the JSON state file beside a NAME.part. */
#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "distill-download-state.h"

#define STATE_VERSION 1

DistillDownloadStateFile *distill_download_state_file_new(void)
{
  DistillDownloadStateFile *s = g_new0(DistillDownloadStateFile, 1);
  s->size = -1;
  return s;
}

void distill_download_state_file_free(DistillDownloadStateFile *s)
{
  if (s == NULL) return;
  g_free(s->url);
  g_free(s->repo);
  g_free(s->file);
  g_free(s->revision);
  g_free(s->commit);
  g_free(s->sha256);
  g_free(s->etag);
  g_free(s->boot_id);
  g_free(s->actual_sha256);
  g_free(s);
}

static char *dup_string_member(JsonObject *o, const char *name)
{
  JsonNode *node = json_object_get_member(o, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
    return NULL;
  return g_strdup(json_node_get_string(node));
}

static gint64 int_member(JsonObject *o, const char *name, gint64 fallback)
{
  JsonNode *node = json_object_get_member(o, name);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
    return fallback;
  return json_node_get_int(node);
}

DistillDownloadStateFile *distill_download_state_file_load(const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &data, &len, error)) {
    /* g_file_get_contents reports G_FILE_ERROR; turn "missing" into the GIO code callers test */
    if (error && *error && (*error)->domain == G_FILE_ERROR && (*error)->code == G_FILE_ERROR_NOENT) {
      g_clear_error(error);
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no state file");
    }
    return NULL;
  }
  g_autoptr(JsonParser) parser = json_parser_new();
  if (len > 1024 * 1024 || !json_parser_load_from_data(parser, data, (gssize)len, NULL) ||
      json_parser_get_root(parser) == NULL || !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s is not a download state file", path);
    return NULL;
  }
  JsonObject *o = json_node_get_object(json_parser_get_root(parser));
  if (int_member(o, "version", 0) != STATE_VERSION) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s has an unknown version", path);
    return NULL;
  }
  DistillDownloadStateFile *s = distill_download_state_file_new();
  s->url = dup_string_member(o, "url");
  s->repo = dup_string_member(o, "repo");
  s->file = dup_string_member(o, "file");
  s->revision = dup_string_member(o, "revision");
  s->commit = dup_string_member(o, "commit");
  s->size = int_member(o, "size", -1);
  s->sha256 = dup_string_member(o, "sha256");
  s->etag = dup_string_member(o, "etag");
  s->checkpoint = MAX(0, int_member(o, "checkpoint", 0));
  s->boot_id = dup_string_member(o, "boot_id");
  JsonNode *vf = json_object_get_member(o, "verification_failed");
  s->verification_failed = vf && JSON_NODE_HOLDS_VALUE(vf) &&
                           json_node_get_value_type(vf) == G_TYPE_BOOLEAN && json_node_get_boolean(vf);
  s->actual_sha256 = dup_string_member(o, "actual_sha256");
  if (s->size < -1) s->size = -1;
  return s;
}

static void add_string(JsonBuilder *b, const char *name, const char *value)
{
  if (value == NULL) return;
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, value);
}

char *distill_download_state_file_to_json(const DistillDownloadStateFile *s)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "version");
  json_builder_add_int_value(b, STATE_VERSION);
  add_string(b, "url", s->url);
  add_string(b, "repo", s->repo);
  add_string(b, "file", s->file);
  add_string(b, "revision", s->revision);
  add_string(b, "commit", s->commit);
  json_builder_set_member_name(b, "size");
  json_builder_add_int_value(b, s->size);
  add_string(b, "sha256", s->sha256);
  add_string(b, "etag", s->etag);
  json_builder_set_member_name(b, "checkpoint");
  json_builder_add_int_value(b, s->checkpoint);
  add_string(b, "boot_id", s->boot_id);
  json_builder_set_member_name(b, "verification_failed");
  json_builder_add_boolean_value(b, s->verification_failed);
  add_string(b, "actual_sha256", s->actual_sha256);
  json_builder_end_object(b);

  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  return json_generator_to_data(gen, NULL);
}

gboolean distill_download_state_file_save_json(const char *json, const char *path, GError **error)
{
  return g_file_set_contents_full(path, json, -1,
                                  G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, error);
}

const char *distill_download_state_boot_id(void)
{
  static char *boot_id = NULL;
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    char *data = NULL;
    if (g_file_get_contents("/proc/sys/kernel/random/boot_id", &data, NULL, NULL)) {
      g_strstrip(data);
      if (*data == '\0') g_clear_pointer(&data, g_free);
    }
    boot_id = data;
    g_once_init_leave(&once, 1);
  }
  return boot_id;
}
