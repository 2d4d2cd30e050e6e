/* distill-catalog.c — the curated model list and the scan of local GGUF files. */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "distill-catalog.h"
#include "distill-hub.h"

#define CATALOG_RESOURCE "/io/github/distillapp/Distill/catalog.json"
#define OLLAMA_MODEL_MEDIA_TYPE "application/vnd.ollama.image.model"

struct _DistillCatalog {
  gatomicrefcount ref;
  GPtrArray *models; /* DistillCatalogModel */
};

static void quant_free(DistillCatalogQuant *q)
{
  g_free(q->name);
  g_free(q->sha256);
  g_strfreev(q->files);
  g_free(q);
}

static void model_free(DistillCatalogModel *m)
{
  g_free(m->id);
  g_free(m->name);
  g_free(m->repo);
  g_free(m->params);
  g_free(m->license);
  g_free(m->upstream_license);
  g_free(m->base_model);
  g_free(m->ollama_tag);
  g_free(m->recommended_quant);
  g_ptr_array_unref(m->quants);
  g_free(m);
}

static char *dup_member(JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member(o, key);
  if (n == NULL || json_node_get_value_type(n) != G_TYPE_STRING) return NULL;
  return g_strdup(json_node_get_string(n));
}

static gboolean is_hex64(const char *s)
{
  if (s == NULL || strlen(s) != 64) return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isxdigit(*p)) return FALSE;
  return TRUE;
}

static DistillCatalogQuant *parse_quant(JsonNode *node, const char *model_id, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("A quantization of %s is not an object"), model_id);
    return NULL;
  }
  JsonObject *o = json_node_get_object(node);
  DistillCatalogQuant *q = g_new0(DistillCatalogQuant, 1);
  q->name = dup_member(o, "name");
  q->size = json_object_get_int_member_with_default(o, "size", 0);
  q->sha256 = dup_member(o, "sha256");
  JsonArray *files = json_object_has_member(o, "files") ? json_object_get_array_member(o, "files") : NULL;
  GStrvBuilder *b = g_strv_builder_new();
  if (files != NULL)
    for (guint i = 0; i < json_array_get_length(files); i++) {
      const char *f = json_array_get_string_element(files, i);
      if (f != NULL && *f) g_strv_builder_add(b, f);
    }
  q->files = g_strv_builder_end(b);
  g_strv_builder_unref(b);
  if (q->name == NULL || q->files[0] == NULL || q->size < 0 || (q->sha256 != NULL && !is_hex64(q->sha256))) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                _("A quantization of %s lacks a name or files, or has a bad size or sha256"), model_id);
    quant_free(q);
    return NULL;
  }
  return q;
}

static DistillCatalogModel *parse_model(JsonNode *node, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("A catalog entry is not an object"));
    return NULL;
  }
  JsonObject *o = json_node_get_object(node);
  DistillCatalogModel *m = g_new0(DistillCatalogModel, 1);
  m->quants = g_ptr_array_new_with_free_func((GDestroyNotify)quant_free);
  m->id = dup_member(o, "id");
  m->name = dup_member(o, "name");
  m->repo = dup_member(o, "repo");
  m->params = dup_member(o, "params");
  m->license = dup_member(o, "license");
  m->upstream_license = dup_member(o, "upstream_license");
  m->base_model = dup_member(o, "base_model");
  m->ollama_tag = dup_member(o, "ollama_tag");
  m->recommended_quant = dup_member(o, "recommended_quant");
  m->unconfirmed = json_object_get_boolean_member_with_default(o, "unconfirmed", FALSE);
  if (m->id == NULL || m->name == NULL || m->repo == NULL) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("A catalog entry lacks its id, name or repo"));
    model_free(m);
    return NULL;
  }
  if (json_object_has_member(o, "scores") && JSON_NODE_HOLDS_OBJECT(json_object_get_member(o, "scores"))) {
    JsonObject *s = json_object_get_object_member(o, "scores");
    m->scores.aime2024 = json_object_get_double_member_with_default(s, "aime2024", 0);
    m->scores.aime2024_cons64 = json_object_get_double_member_with_default(s, "aime2024_cons64", 0);
    m->scores.math500 = json_object_get_double_member_with_default(s, "math500", 0);
    m->scores.gpqa_diamond = json_object_get_double_member_with_default(s, "gpqa_diamond", 0);
    m->scores.livecodebench = json_object_get_double_member_with_default(s, "livecodebench", 0);
    m->scores.codeforces = (int)json_object_get_int_member_with_default(s, "codeforces", 0);
    m->scores.known = TRUE;
  }
  JsonNode *qn = json_object_get_member(o, "quants");
  if (qn == NULL || !JSON_NODE_HOLDS_ARRAY(qn) || json_array_get_length(json_node_get_array(qn)) == 0) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("Catalog entry %s has no quantizations"), m->id);
    model_free(m);
    return NULL;
  }
  JsonArray *qa = json_node_get_array(qn);
  for (guint i = 0; i < json_array_get_length(qa); i++) {
    DistillCatalogQuant *q = parse_quant(json_array_get_element(qa, i), m->id, error);
    if (q == NULL) {
      model_free(m);
      return NULL;
    }
    g_ptr_array_add(m->quants, q);
  }
  return m;
}

DistillCatalog *distill_catalog_new_from_data(const char *json, gssize len, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, json, len, error)) return NULL;
  JsonNode *root = json_parser_get_root(parser);
  JsonNode *models = root && JSON_NODE_HOLDS_OBJECT(root) ? json_object_get_member(json_node_get_object(root), "models")
                                                          : NULL;
  if (models == NULL || !JSON_NODE_HOLDS_ARRAY(models)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("The catalog has no list of models"));
    return NULL;
  }
  DistillCatalog *self = g_new0(DistillCatalog, 1);
  g_atomic_ref_count_init(&self->ref);
  self->models = g_ptr_array_new_with_free_func((GDestroyNotify)model_free);
  JsonArray *arr = json_node_get_array(models);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    DistillCatalogModel *m = parse_model(json_array_get_element(arr, i), error);
    if (m == NULL) {
      distill_catalog_unref(self);
      return NULL;
    }
    g_ptr_array_add(self->models, m);
  }
  return self;
}

DistillCatalog *distill_catalog_new_builtin(GError **error)
{
  g_autoptr(GBytes) bytes = g_resources_lookup_data(CATALOG_RESOURCE, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (bytes == NULL) return NULL;
  gsize len = 0;
  const char *data = g_bytes_get_data(bytes, &len);
  return distill_catalog_new_from_data(data, (gssize)len, error);
}

DistillCatalog *distill_catalog_ref(DistillCatalog *self)
{
  g_atomic_ref_count_inc(&self->ref);
  return self;
}

void distill_catalog_unref(DistillCatalog *self)
{
  if (self == NULL) return;
  if (g_atomic_ref_count_dec(&self->ref)) {
    g_ptr_array_unref(self->models);
    g_free(self);
  }
}

guint distill_catalog_get_n_models(DistillCatalog *self)
{
  return self->models->len;
}

DistillCatalogModel *distill_catalog_get_model(DistillCatalog *self, guint i)
{
  g_return_val_if_fail(i < self->models->len, NULL);
  return g_ptr_array_index(self->models, i);
}

DistillCatalogModel *distill_catalog_find_model(DistillCatalog *self, const char *id)
{
  for (guint i = 0; i < self->models->len; i++) {
    DistillCatalogModel *m = g_ptr_array_index(self->models, i);
    if (g_strcmp0(m->id, id) == 0) return m;
  }
  return NULL;
}

DistillCatalogQuant *distill_catalog_model_find_quant(DistillCatalogModel *model, const char *quant)
{
  for (guint i = 0; i < model->quants->len; i++) {
    DistillCatalogQuant *q = g_ptr_array_index(model->quants, i);
    if (quant != NULL && g_ascii_strcasecmp(q->name, quant) == 0) return q;
  }
  return NULL;
}

static DistillHubEntry *find_entry(GPtrArray *entries, const char *path)
{
  for (guint i = 0; i < entries->len; i++) {
    DistillHubEntry *e = g_ptr_array_index(entries, i);
    if (!e->is_dir && g_strcmp0(e->path, path) == 0) return e;
  }
  return NULL;
}

guint distill_catalog_apply_tree(DistillCatalog *self, const char *repo, GPtrArray *entries)
{
  g_return_val_if_fail(self != NULL, 0);
  guint refreshed = 0, size_changed = 0, sha_changed = 0;
  for (guint i = 0; entries != NULL && i < self->models->len; i++) {
    DistillCatalogModel *m = g_ptr_array_index(self->models, i);
    if (g_strcmp0(m->repo, repo) != 0) continue;
    for (guint j = 0; j < m->quants->len; j++) {
      DistillCatalogQuant *q = g_ptr_array_index(m->quants, j);
      gint64 total = 0;
      gboolean all = TRUE;
      for (guint k = 0; q->files[k] != NULL && all; k++) {
        DistillHubEntry *e = find_entry(entries, q->files[k]);
        if (e == NULL || e->size < 0) all = FALSE;
        else total += e->size;
      }
      if (!all) continue; /* not (yet) on the Hub under this name: the hints stay */
      if (q->size != total) {
        g_debug("%s %s: %" G_GINT64_FORMAT " bytes on the Hub, %" G_GINT64_FORMAT " in the catalog", m->name,
                q->name, total, q->size);
        size_changed++;
      }
      q->size = total;
      if (q->files[1] == NULL) {
        const char *sha = find_entry(entries, q->files[0])->sha256;
        if (sha != NULL && g_ascii_strcasecmp(sha, q->sha256 ? q->sha256 : "") != 0) {
          if (q->sha256 != NULL) {
            g_debug("%s %s: sha256 %s on the Hub, %s in the catalog", m->name, q->name, sha, q->sha256);
            sha_changed++;
          }
          g_free(q->sha256);
          q->sha256 = g_ascii_strdown(sha, -1);
        }
      }
      q->from_hub = TRUE;
      refreshed++;
    }
  }
  /* one line per repo: the catalog is a hint, re-uploads are expected, but worth knowing */
  if (size_changed > 0 || sha_changed > 0)
    g_message("The Hub's files of %s differ from the built-in catalog (%u sizes, %u checksums); using the Hub's.",
              repo, size_changed, sha_changed);
  return refreshed;
}

gboolean distill_catalog_match_file(DistillCatalog *self, const char *basename, DistillCatalogModel **model,
                                    DistillCatalogQuant **quant)
{
  for (guint i = 0; self != NULL && basename != NULL && i < self->models->len; i++) {
    DistillCatalogModel *m = g_ptr_array_index(self->models, i);
    for (guint j = 0; j < m->quants->len; j++) {
      DistillCatalogQuant *q = g_ptr_array_index(m->quants, j);
      for (guint k = 0; q->files[k] != NULL; k++) {
        g_autofree char *base = g_path_get_basename(q->files[k]);
        if (g_ascii_strcasecmp(base, basename) == 0) {
          if (model) *model = m;
          if (quant) *quant = q;
          return TRUE;
        }
      }
    }
  }
  return FALSE;
}

/* ==== local files ==== */

void distill_local_model_free(DistillLocalModel *m)
{
  if (m == NULL) return;
  g_free(m->path);
  g_free(m->display_name);
  g_free(m->model_id);
  g_free(m->quant);
  g_free(m);
}

gboolean distill_parse_shard_name(const char *basename, guint *index, guint *count, char **stem)
{
  /* NAME-00001-of-00003.gguf: 5 digits each, as llama.cpp's gguf-split writes them */
  static const char suffix[] = "-00000-of-00000.gguf";
  size_t len = strlen(basename), slen = strlen(suffix);
  if (len <= slen || !g_str_has_suffix(basename, ".gguf")) return FALSE;
  const char *s = basename + len - slen;
  if (s[0] != '-' || strncmp(s + 6, "-of-", 4) != 0) return FALSE;
  guint idx = 0, cnt = 0;
  for (int i = 1; i <= 5; i++) {
    if (!g_ascii_isdigit(s[i]) || !g_ascii_isdigit(s[i + 9])) return FALSE;
    idx = idx * 10 + (guint)(s[i] - '0');
    cnt = cnt * 10 + (guint)(s[i + 9] - '0');
  }
  if (idx < 1 || cnt < 1 || idx > cnt) return FALSE;
  if (index) *index = idx;
  if (count) *count = cnt;
  if (stem) *stem = g_strndup(basename, (gsize)(s - basename));
  return TRUE;
}

/* g_ptr_array_sort passes pointers to the elements (GLib 2.74 has no _sort_values) */
static int compare_strings(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static gint64 file_size(const char *path)
{
  GStatBuf st;
  return g_stat(path, &st) == 0 ? (gint64)st.st_size : -1;
}

/* Adds one file to the list, grouping shards of one model (same folder and stem) into one item. */
static void add_gguf(GPtrArray *out, GHashTable *groups, DistillCatalog *catalog, const char *path,
                     const char *display_name, DistillLocalSource source)
{
  g_autofree char *base = g_path_get_basename(path);
  gint64 size = file_size(path);
  if (size < 0) return;
  guint idx = 1, cnt = 1;
  g_autofree char *stem = NULL;
  gboolean shard = distill_parse_shard_name(base, &idx, &cnt, &stem);
  DistillLocalModel *m = NULL;
  g_autofree char *key = NULL;
  if (shard) {
    g_autofree char *dir = g_path_get_dirname(path);
    key = g_strdup_printf("%s/%s/%u", dir, stem, cnt);
    m = g_hash_table_lookup(groups, key);
  }
  if (m == NULL) {
    m = g_new0(DistillLocalModel, 1);
    m->source = source;
    m->n_shards = cnt;
    m->display_name = g_strdup(display_name ? display_name : (shard ? stem : base));
    if (!shard && display_name == NULL && g_str_has_suffix(m->display_name, ".gguf"))
      m->display_name[strlen(m->display_name) - 5] = '\0';
    DistillCatalogModel *cm = NULL;
    DistillCatalogQuant *cq = NULL;
    if (distill_catalog_match_file(catalog, base, &cm, &cq)) {
      m->model_id = g_strdup(cm->id);
      m->quant = g_strdup(cq->name);
    }
    g_ptr_array_add(out, m);
    if (shard) g_hash_table_insert(groups, g_steal_pointer(&key), m);
  }
  m->n_present++;
  m->size += size;
  if (idx == 1 || m->path == NULL) {
    g_free(m->path);
    m->path = g_strdup(path);
  }
}

static void scan_dir(GPtrArray *out, GHashTable *groups, DistillCatalog *catalog, const char *dir, int depth,
                     DistillLocalSource source, const char *display_name)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (d == NULL) return;
  /* sorted, so results are stable (and shard 1 comes first) */
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL)
    if (name[0] != '.') g_ptr_array_add(names, g_strdup(name));
  g_ptr_array_sort(names, compare_strings);
  for (guint i = 0; i < names->len; i++) {
    const char *n = g_ptr_array_index(names, i);
    g_autofree char *path = g_build_filename(dir, n, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
      if (depth > 0) scan_dir(out, groups, catalog, path, depth - 1, source, display_name);
    } else if (g_str_has_suffix(n, ".gguf") || g_str_has_suffix(n, ".GGUF")) {
      add_gguf(out, groups, catalog, path, display_name, source);
    }
  }
}

GPtrArray *distill_scan_models_dir(DistillCatalog *catalog, const char *models_dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_local_model_free);
  g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  scan_dir(out, groups, catalog, models_dir, 1, DISTILL_LOCAL_LIBRARY, NULL);
  return out;
}

static char *default_hf_hub_dir(void)
{
  const char *v = g_getenv("HF_HUB_CACHE");
  if (v != NULL && *v) return g_strdup(v);
  v = g_getenv("HF_HOME");
  if (v != NULL && *v) return g_build_filename(v, "hub", NULL);
  return g_build_filename(g_get_user_cache_dir(), "huggingface", "hub", NULL);
}

GPtrArray *distill_scan_hf_cache(DistillCatalog *catalog, const char *hub_dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_local_model_free);
  g_autofree char *dir = hub_dir ? g_strdup(hub_dir) : default_hf_hub_dir();
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (d == NULL) return out;
  const char *name;
  g_autoptr(GPtrArray) repos = g_ptr_array_new_with_free_func(g_free);
  while ((name = g_dir_read_name(d)) != NULL)
    if (g_str_has_prefix(name, "models--")) g_ptr_array_add(repos, g_strdup(name));
  g_ptr_array_sort(repos, compare_strings);
  for (guint i = 0; i < repos->len; i++) {
    g_autofree char *snapshots = g_build_filename(dir, g_ptr_array_index(repos, i), "snapshots", NULL);
    g_autoptr(GDir) sd = g_dir_open(snapshots, 0, NULL);
    if (sd == NULL) continue;
    g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const char *commit;
    /* Snapshot files are symlinks into blobs/; g_stat follows them, so sizes are the blobs'. */
    while ((commit = g_dir_read_name(sd)) != NULL) {
      g_autofree char *snap = g_build_filename(snapshots, commit, NULL);
      scan_dir(out, groups, catalog, snap, 2, DISTILL_LOCAL_HF_CACHE, NULL);
    }
  }
  return out;
}

static char *default_ollama_dir(void)
{
  const char *v = g_getenv("OLLAMA_MODELS");
  if (v != NULL && *v) return g_strdup(v);
  return g_build_filename(g_get_home_dir(), ".ollama", "models", NULL);
}

/* The blob path of the model layer of one manifest, or NULL. */
static char *ollama_model_blob(const char *models_dir, const char *manifest_path)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_file(parser, manifest_path, NULL)) return NULL;
  JsonNode *root = json_parser_get_root(parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) return NULL;
  JsonNode *layers = json_object_get_member(json_node_get_object(root), "layers");
  if (layers == NULL || !JSON_NODE_HOLDS_ARRAY(layers)) return NULL;
  JsonArray *arr = json_node_get_array(layers);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    JsonNode *ln = json_array_get_element(arr, i);
    if (!JSON_NODE_HOLDS_OBJECT(ln)) continue;
    JsonObject *l = json_node_get_object(ln);
    const char *type = json_object_get_string_member_with_default(l, "mediaType", NULL);
    const char *digest = json_object_get_string_member_with_default(l, "digest", NULL);
    if (g_strcmp0(type, OLLAMA_MODEL_MEDIA_TYPE) != 0 || digest == NULL || !g_str_has_prefix(digest, "sha256:") ||
        !is_hex64(digest + 7))
      continue;
    g_autofree char *blob = g_strdup_printf("sha256-%s", digest + 7); /* files use '-' for ':' */
    return g_build_filename(models_dir, "blobs", blob, NULL);
  }
  return NULL;
}

GPtrArray *distill_scan_ollama(DistillCatalog *catalog, const char *models_dir)
{
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_local_model_free);
  g_autofree char *dir = models_dir ? g_strdup(models_dir) : default_ollama_dir();
  g_autofree char *library = g_build_filename(dir, "manifests", "registry.ollama.ai", "library", NULL);
  g_autoptr(GDir) d = g_dir_open(library, 0, NULL);
  if (d == NULL) return out;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  const char *name;
  while ((name = g_dir_read_name(d)) != NULL) g_ptr_array_add(names, g_strdup(name));
  g_ptr_array_sort(names, compare_strings);
  for (guint i = 0; i < names->len; i++) {
    const char *model = g_ptr_array_index(names, i);
    g_autofree char *mdir = g_build_filename(library, model, NULL);
    g_autoptr(GDir) td = g_dir_open(mdir, 0, NULL);
    if (td == NULL) continue;
    g_autoptr(GPtrArray) tags = g_ptr_array_new_with_free_func(g_free);
    const char *tag;
    while ((tag = g_dir_read_name(td)) != NULL) g_ptr_array_add(tags, g_strdup(tag));
    g_ptr_array_sort(tags, compare_strings);
    for (guint j = 0; j < tags->len; j++) {
      g_autofree char *manifest = g_build_filename(mdir, g_ptr_array_index(tags, j), NULL);
      g_autofree char *blob = ollama_model_blob(dir, manifest);
      gint64 size = blob ? file_size(blob) : -1;
      if (size < 0) continue;
      DistillLocalModel *m = g_new0(DistillLocalModel, 1);
      m->path = g_steal_pointer(&blob);
      m->display_name = g_strdup_printf("%s:%s", model, (const char *)g_ptr_array_index(tags, j));
      m->source = DISTILL_LOCAL_OLLAMA;
      m->n_shards = m->n_present = 1;
      m->size = size;
      /* Ollama's default tags are Q4_K_M (catalog-facts §5) */
      for (guint k = 0; catalog != NULL && k < catalog->models->len; k++) {
        DistillCatalogModel *cm = g_ptr_array_index(catalog->models, k);
        if (g_strcmp0(cm->ollama_tag, m->display_name) == 0) {
          m->model_id = g_strdup(cm->id);
          m->quant = g_strdup("Q4_K_M");
        }
      }
      g_ptr_array_add(out, m);
    }
  }
  return out;
}

/* ==== imported files ==== */

char *distill_imported_list_path(void)
{
  return g_build_filename(g_get_user_data_dir(), "distill", "imported.json", NULL);
}

static GPtrArray *imported_read(const char *list_path)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_file(parser, list_path, NULL)) return paths;
  JsonNode *root = json_parser_get_root(parser);
  JsonNode *files = root && JSON_NODE_HOLDS_OBJECT(root) ? json_object_get_member(json_node_get_object(root), "files")
                                                         : NULL;
  if (files == NULL || !JSON_NODE_HOLDS_ARRAY(files)) return paths;
  JsonArray *arr = json_node_get_array(files);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    const char *p = json_array_get_string_element(arr, i);
    if (p != NULL && g_path_is_absolute(p)) g_ptr_array_add(paths, g_strdup(p));
  }
  return paths;
}

static gboolean imported_write(const char *list_path, GPtrArray *paths, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "version");
  json_builder_add_int_value(b, 1);
  json_builder_set_member_name(b, "files");
  json_builder_begin_array(b);
  for (guint i = 0; i < paths->len; i++) json_builder_add_string_value(b, g_ptr_array_index(paths, i));
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, TRUE);
  g_autofree char *text = json_generator_to_data(gen, NULL);
  g_autofree char *dir = g_path_get_dirname(list_path);
  if (g_mkdir_with_parents(dir, 0700) != 0) {
    int e = errno;
    g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e), _("Could not create %s: %s"), dir, g_strerror(e));
    return FALSE;
  }
  return g_file_set_contents(list_path, text, -1, error);
}

static gboolean path_in(GPtrArray *paths, const char *path)
{
  for (guint i = 0; i < paths->len; i++)
    if (g_strcmp0(g_ptr_array_index(paths, i), path) == 0) return TRUE;
  return FALSE;
}

gboolean distill_imported_add(const char *list_path, const char *path, GError **error)
{
  g_autofree char *own = list_path ? NULL : distill_imported_list_path();
  const char *lp = list_path ? list_path : own;
  g_autoptr(GFile) file = g_file_new_for_path(path);
  g_autofree char *abs = g_file_get_path(file);
  g_autoptr(GFileInputStream) in = g_file_read(file, NULL, error);
  if (in == NULL) return FALSE;
  char magic[4] = {0};
  gsize n = 0;
  if (!g_input_stream_read_all(G_INPUT_STREAM(in), magic, sizeof magic, &n, NULL, error)) return FALSE;
  if (n != 4 || memcmp(magic, "GGUF", 4) != 0) {
    g_autofree char *base = g_path_get_basename(path);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("%s is not a GGUF model file"), base);
    return FALSE;
  }
  g_autoptr(GPtrArray) paths = imported_read(lp);
  if (path_in(paths, abs)) return TRUE;
  g_ptr_array_add(paths, g_strdup(abs));
  return imported_write(lp, paths, error);
}

gboolean distill_imported_remove(const char *list_path, const char *path, GError **error)
{
  g_autofree char *own = list_path ? NULL : distill_imported_list_path();
  const char *lp = list_path ? list_path : own;
  g_autoptr(GPtrArray) paths = imported_read(lp);
  for (guint i = 0; i < paths->len; i++)
    if (g_strcmp0(g_ptr_array_index(paths, i), path) == 0) {
      g_ptr_array_remove_index(paths, i);
      return imported_write(lp, paths, error);
    }
  return TRUE;
}

GPtrArray *distill_scan_imported(DistillCatalog *catalog, const char *list_path)
{
  g_autofree char *own = list_path ? NULL : distill_imported_list_path();
  g_autoptr(GPtrArray) paths = imported_read(list_path ? list_path : own);
  GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)distill_local_model_free);
  g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < paths->len; i++) {
    const char *p = g_ptr_array_index(paths, i);
    /* a split model imported by its first shard: the other shards sit beside it */
    g_autofree char *base = g_path_get_basename(p);
    guint idx = 0, cnt = 0;
    if (distill_parse_shard_name(base, &idx, &cnt, NULL) && cnt > 1) {
      g_autofree char *dir = g_path_get_dirname(p);
      for (guint k = 1; k <= cnt; k++) {
        g_autofree char *stem = NULL;
        distill_parse_shard_name(base, NULL, NULL, &stem);
        g_autofree char *name = g_strdup_printf("%s-%05u-of-%05u.gguf", stem, k, cnt);
        g_autofree char *sp = g_build_filename(dir, name, NULL);
        if (g_file_test(sp, G_FILE_TEST_IS_REGULAR)) add_gguf(out, groups, catalog, sp, NULL, DISTILL_LOCAL_IMPORTED);
      }
    } else if (g_file_test(p, G_FILE_TEST_IS_REGULAR)) {
      add_gguf(out, groups, catalog, p, NULL, DISTILL_LOCAL_IMPORTED);
    }
  }
  return out;
}
