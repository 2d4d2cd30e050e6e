/* distill-catalog.h — the curated list of DeepSeek-R1 distills the Library offers, and a scan of
 * the GGUF files already on this computer.
 *
 * The list lives in the GResource (data/catalog.json): per model its Hub repo, parameter count,
 * licenses, published benchmark scores and quantizations (file names — several for split models —
 * and size/sha256 hints; the Hub's tree API is the truth, see catalog-facts.md).
 *
 * The local scan finds models in the app's models folder (split shards grouped into one item),
 * in the huggingface_hub cache (models--ORG--NAME/snapshots/COMMIT/…) and in Ollama's store
 * (manifests → the layer with mediaType application/vnd.ollama.image.model → blobs/sha256-HEX),
 * so models already on disk can be used without copying. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  double aime2024, aime2024_cons64, math500, gpqa_diamond, livecodebench;
  int codeforces;
  gboolean known;
} DistillScores;

typedef struct {
  char *name;        /* "Q4_K_M" */
  gint64 size;       /* bytes, all shards together; 0 when not published (a hint) */
  char *sha256;      /* single-file quants only, a hint; NULL when not known */
  GStrv files;       /* paths in the repo: one, or the shards in order */
  gboolean from_hub; /* size (and sha256) were refreshed from the Hub's tree API */
} DistillCatalogQuant;

typedef struct {
  char *id;          /* engine shape id: "qwen-14b" */
  char *name;        /* "DeepSeek-R1-Distill-Qwen-14B" */
  char *repo;        /* "unsloth/DeepSeek-R1-Distill-Qwen-14B-GGUF" */
  char *params;      /* "14.8B" */
  char *license;     /* "MIT" */
  char *upstream_license;
  char *base_model;
  char *ollama_tag;  /* "deepseek-r1:14b" */
  char *recommended_quant;
  gboolean unconfirmed; /* file names not checked against the Hub */
  DistillScores scores;
  GPtrArray *quants; /* DistillCatalogQuant */
} DistillCatalogModel;

typedef struct _DistillCatalog DistillCatalog;

/* The built-in list (GResource /io/github/distillapp/Distill/catalog.json). */
DistillCatalog *distill_catalog_new_builtin(GError **error);
DistillCatalog *distill_catalog_new_from_data(const char *json, gssize len, GError **error);
DistillCatalog *distill_catalog_ref(DistillCatalog *self);
void distill_catalog_unref(DistillCatalog *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillCatalog, distill_catalog_unref)

guint distill_catalog_get_n_models(DistillCatalog *self);
DistillCatalogModel *distill_catalog_get_model(DistillCatalog *self, guint i);
DistillCatalogModel *distill_catalog_find_model(DistillCatalog *self, const char *id);
DistillCatalogQuant *distill_catalog_model_find_quant(DistillCatalogModel *model, const char *quant);
/* Finds the model + quant a file name belongs to (basename of any shard, case-insensitive);
 * FALSE when the file is not one of ours. */
gboolean distill_catalog_match_file(DistillCatalog *self, const char *basename, DistillCatalogModel **model,
                                    DistillCatalogQuant **quant);

/* Refresh sizes and sha256 of the quants of every model in repo from a tree listing
 * (DistillHubEntry, see distill-hub.h): the Hub is the truth (files get re-uploaded with the
 * same name); differences from data/catalog.json are logged. A quant is refreshed only when
 * all its files are in the listing. Returns how many quants were refreshed. */
guint distill_catalog_apply_tree(DistillCatalog *self, const char *repo, GPtrArray *entries);

/* ==== files on this computer ==== */
typedef enum {
  DISTILL_LOCAL_LIBRARY,  /* in the app's models folder */
  DISTILL_LOCAL_HF_CACHE, /* the huggingface_hub cache */
  DISTILL_LOCAL_OLLAMA,   /* Ollama's blob store */
  DISTILL_LOCAL_IMPORTED, /* a file the user pointed at, used in place */
} DistillLocalSource;

typedef struct {
  char *path;          /* the file to open: the only file or shard 00001 */
  char *display_name;  /* "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M" or "deepseek-r1:7b" */
  DistillLocalSource source;
  guint n_shards;      /* 1 for a single file; else the -of-N count */
  guint n_present;     /* shards found (< n_shards: incomplete) */
  gint64 size;         /* bytes of the shards found */
  char *model_id;      /* catalog model id, or NULL */
  char *quant;         /* catalog quant name, or NULL */
} DistillLocalModel;

void distill_local_model_free(DistillLocalModel *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DistillLocalModel, distill_local_model_free)

/* "name-00002-of-00005.gguf" → index 2, count 5, stem "name"; FALSE when not a shard name. */
gboolean distill_parse_shard_name(const char *basename, guint *index, guint *count, char **stem);

/* GGUF files in models_dir (and its sub-folders one level down, where split models live).
 * Shards of one model become one item. catalog may be NULL (no matching). */
GPtrArray *distill_scan_models_dir(DistillCatalog *catalog, const char *models_dir);
/* The huggingface_hub cache at hub_dir (NULL: $HF_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub). Only models--*--* repos with GGUF files in a snapshot. */
GPtrArray *distill_scan_hf_cache(DistillCatalog *catalog, const char *hub_dir);
/* Ollama's store at models_dir (NULL: $OLLAMA_MODELS, else ~/.ollama/models). Only the
 * registry.ollama.ai/library manifests; catalog models matched by tag. */
GPtrArray *distill_scan_ollama(DistillCatalog *catalog, const char *models_dir);

/* ==== imported files, used in place (no copy) ====
 * A JSON list of paths: $XDG_DATA_HOME/distill/imported.json unless list_path is given. */
char *distill_imported_list_path(void);
/* Checks that path is a readable GGUF file (magic "GGUF") and records it; TRUE when recorded
 * now or before. */
gboolean distill_imported_add(const char *list_path, const char *path, GError **error);
gboolean distill_imported_remove(const char *list_path, const char *path, GError **error);
/* The recorded files that still exist, as DistillLocalModel (source DISTILL_LOCAL_IMPORTED). */
GPtrArray *distill_scan_imported(DistillCatalog *catalog, const char *list_path);

G_END_DECLS
