/* test-catalog.c — the built-in catalog and the scan of local GGUF files (models folder,
 * huggingface_hub cache, Ollama store), on temp dirs with small GGUF files written by the
 * engine's writer. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "distill-catalog.h"
#include "distill-hub.h"
#include "distill-resources.h"
#include "gguf.h"

static char *make_tmp(void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp("distill-catalog-XXXXXX", &error);
  g_assert_no_error(error);
  return dir;
}

static void rm_rf(const char *path)
{
  g_autoptr(GFile) f = g_file_new_for_path(path);
  g_autoptr(GFileEnumerator) e =
    g_file_enumerate_children(f, G_FILE_ATTRIBUTE_STANDARD_NAME, G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  if (e != NULL) {
    GFileInfo *info;
    while ((info = g_file_enumerator_next_file(e, NULL, NULL)) != NULL) {
      g_autofree char *child = g_build_filename(path, g_file_info_get_name(info), NULL);
      if (g_file_info_get_file_type(info) == G_FILE_TYPE_DIRECTORY) rm_rf(child);
      else g_unlink(child);
      g_object_unref(info);
    }
  }
  g_rmdir(path);
}

/* A real (tiny) GGUF file: a few keys and one F32 tensor of n floats. */
static gint64 write_gguf(const char *path, int n)
{
  g_autofree char *dir = g_path_get_dirname(path);
  g_mkdir_with_parents(dir, 0755);
  gguf_writer *w = gguf_writer_new();
  gguf_writer_add_str(w, "general.architecture", "qwen2");
  gguf_writer_add_u32(w, "qwen2.block_count", 1);
  float *data = g_new0(float, n);
  int64_t ne[1] = {n};
  gguf_writer_add_tensor(w, "token_embd.weight", 0 /* F32 */, 1, ne, data);
  still_error err = {0};
  g_assert_cmpint(gguf_writer_write_file(w, path, &err), ==, STILL_OK);
  gguf_writer_free(w);
  g_free(data);
  GStatBuf st;
  g_assert_cmpint(g_stat(path, &st), ==, 0);
  return (gint64)st.st_size;
}

static void test_builtin(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillCatalog) cat = distill_catalog_new_builtin(&error);
  g_assert_no_error(error);
  g_assert_nonnull(cat);
  g_assert_cmpuint(distill_catalog_get_n_models(cat), ==, 7);
  const char *ids[] = {"qwen-1.5b", "qwen-7b", "llama-8b", "qwen-14b", "qwen-32b", "llama-70b", "qwen3-8b"};
  for (guint i = 0; i < G_N_ELEMENTS(ids); i++) {
    DistillCatalogModel *m = distill_catalog_find_model(cat, ids[i]);
    g_assert_nonnull(m);
    g_assert_cmpstr(m->license, ==, "MIT");
    g_assert_nonnull(m->upstream_license);
    g_assert_nonnull(m->params);
    g_assert_true(g_str_has_suffix(m->repo, "-GGUF"));
    const char *quants[] = {"Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16"};
    for (guint j = 0; j < G_N_ELEMENTS(quants); j++) {
      DistillCatalogQuant *q = distill_catalog_model_find_quant(m, quants[j]);
      g_assert_nonnull(q);
      g_assert_true(g_str_has_suffix(q->files[0], ".gguf"));
      g_assert_nonnull(strstr(q->files[0], quants[j]));
    }
    g_assert_cmpstr(m->recommended_quant, ==, "Q4_K_M");
  }
  DistillCatalogModel *q14 = distill_catalog_find_model(cat, "qwen-14b");
  g_assert_true(q14->scores.known);
  g_assert_cmpfloat_with_epsilon(q14->scores.gpqa_diamond, 59.1, 1e-9);
  g_assert_cmpfloat_with_epsilon(q14->scores.aime2024, 69.7, 1e-9);
  g_assert_cmpint(q14->scores.codeforces, ==, 1481);
  g_assert_cmpstr(q14->repo, ==, "unsloth/DeepSeek-R1-Distill-Qwen-14B-GGUF");
  /* exact bytes where a page showed them */
  DistillCatalogQuant *q = distill_catalog_model_find_quant(distill_catalog_find_model(cat, "qwen-1.5b"), "q4_k_m");
  g_assert_cmpint(q->size, ==, 1117320576);
  g_assert_cmpstr(q->sha256, ==, "c2c43b6018cf7700ce0ddee8807deb1a9a26758ef878232f3a142d16df81f0fe");
  g_assert_cmpstr(q->files[0], ==, "DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf");
  /* split models: shards in a sub-folder, in order */
  DistillCatalogQuant *q8 = distill_catalog_model_find_quant(distill_catalog_find_model(cat, "llama-70b"), "Q8_0");
  g_assert_cmpuint(g_strv_length(q8->files), ==, 2);
  g_assert_cmpstr(q8->files[0], ==,
                  "DeepSeek-R1-Distill-Llama-70B-Q8_0/DeepSeek-R1-Distill-Llama-70B-Q8_0-00001-of-00002.gguf");
  DistillCatalogQuant *f16 = distill_catalog_model_find_quant(distill_catalog_find_model(cat, "llama-70b"), "F16");
  g_assert_cmpuint(g_strv_length(f16->files), ==, 3);
  g_assert_null(f16->sha256);
  /* the 0528 model has no published distill scores in our sources and is marked unconfirmed */
  DistillCatalogModel *q3 = distill_catalog_find_model(cat, "qwen3-8b");
  g_assert_true(q3->unconfirmed);
  g_assert_false(q3->scores.known);

  DistillCatalogModel *m = NULL;
  DistillCatalogQuant *mq = NULL;
  g_assert_true(distill_catalog_match_file(cat, "DeepSeek-R1-Distill-Llama-70B-Q6_K-00002-of-00002.gguf", &m, &mq));
  g_assert_cmpstr(m->id, ==, "llama-70b");
  g_assert_cmpstr(mq->name, ==, "Q6_K");
  g_assert_false(distill_catalog_match_file(cat, "other.gguf", &m, &mq));
}

static void test_bad_json(void)
{
  const char *bad[] = {
    "",
    "[]",
    "{\"models\": 3}",
    "{\"models\": [{\"id\": \"x\"}]}",
    "{\"models\": [{\"id\": \"x\", \"name\": \"X\", \"repo\": \"a/b\"}]}",
    "{\"models\": [{\"id\": \"x\", \"name\": \"X\", \"repo\": \"a/b\", \"quants\": [{\"name\": \"Q4_K_M\"}]}]}",
    "{\"models\": [{\"id\": \"x\", \"name\": \"X\", \"repo\": \"a/b\", \"quants\": [{\"name\": \"Q\", \"files\": "
    "[\"f.gguf\"], \"sha256\": \"zz\"}]}]}",
    "{\"models\": [{\"id\": \"x\", \"name\": \"X\", \"repo\": \"a/b\", \"quants\": [7]}]}",
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    DistillCatalog *c = distill_catalog_new_from_data(bad[i], -1, &error);
    g_assert_null(c);
    g_assert_nonnull(error);
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillCatalog) ok = distill_catalog_new_from_data(
    "{\"models\": [{\"id\": \"x\", \"name\": \"X\", \"repo\": \"a/b\", \"quants\": [{\"name\": \"Q\", \"files\": "
    "[\"f.gguf\"]}]}]}",
    -1, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(distill_catalog_get_n_models(ok), ==, 1);
}

static void test_shard_names(void)
{
  guint idx = 0, cnt = 0;
  g_autofree char *stem = NULL;
  g_assert_true(distill_parse_shard_name("M-Q8_0-00002-of-00003.gguf", &idx, &cnt, &stem));
  g_assert_cmpuint(idx, ==, 2);
  g_assert_cmpuint(cnt, ==, 3);
  g_assert_cmpstr(stem, ==, "M-Q8_0");
  g_assert_false(distill_parse_shard_name("M-Q8_0.gguf", NULL, NULL, NULL));
  g_assert_false(distill_parse_shard_name("M-00004-of-00003.gguf", NULL, NULL, NULL));
  g_assert_false(distill_parse_shard_name("M-00000-of-00003.gguf", NULL, NULL, NULL));
  g_assert_false(distill_parse_shard_name("M-0001a-of-00003.gguf", NULL, NULL, NULL));
  g_assert_false(distill_parse_shard_name("-00001-of-00003.gguf", NULL, NULL, NULL));
  g_assert_false(distill_parse_shard_name("M-00001-of-00003.bin", NULL, NULL, NULL));
}

static DistillLocalModel *find_local(GPtrArray *list, const char *name)
{
  for (guint i = 0; i < list->len; i++) {
    DistillLocalModel *m = g_ptr_array_index(list, i);
    if (g_strcmp0(m->display_name, name) == 0) return m;
  }
  return NULL;
}

static void test_scan_models_dir(void)
{
  g_autoptr(DistillCatalog) cat = distill_catalog_new_builtin(NULL);
  g_autofree char *dir = make_tmp();
  g_autofree char *single = g_build_filename(dir, "DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M.gguf", NULL);
  gint64 s1 = write_gguf(single, 64);
  g_autofree char *sh1 = g_build_filename(dir, "DeepSeek-R1-Distill-Llama-70B-Q6_K",
                                          "DeepSeek-R1-Distill-Llama-70B-Q6_K-00001-of-00002.gguf", NULL);
  g_autofree char *sh2 = g_build_filename(dir, "DeepSeek-R1-Distill-Llama-70B-Q6_K",
                                          "DeepSeek-R1-Distill-Llama-70B-Q6_K-00002-of-00002.gguf", NULL);
  gint64 a = write_gguf(sh2, 100); /* written first: the item must still point at shard 1 */
  gint64 b = write_gguf(sh1, 200);
  g_autofree char *other = g_build_filename(dir, "my-model.gguf", NULL);
  write_gguf(other, 8);
  g_autofree char *partial = g_build_filename(dir, "x.gguf.part", NULL);
  g_file_set_contents(partial, "abc", 3, NULL);
  g_autofree char *lonely = g_build_filename(dir, "Big-00001-of-00003.gguf", NULL);
  write_gguf(lonely, 8);

  g_autoptr(GPtrArray) list = distill_scan_models_dir(cat, dir);
  g_assert_cmpuint(list->len, ==, 4);
  DistillLocalModel *m = find_local(list, "DeepSeek-R1-Distill-Qwen-1.5B-Q4_K_M");
  g_assert_nonnull(m);
  g_assert_cmpstr(m->path, ==, single);
  g_assert_cmpint(m->size, ==, s1);
  g_assert_cmpstr(m->model_id, ==, "qwen-1.5b");
  g_assert_cmpstr(m->quant, ==, "Q4_K_M");
  g_assert_cmpint(m->source, ==, DISTILL_LOCAL_LIBRARY);
  m = find_local(list, "DeepSeek-R1-Distill-Llama-70B-Q6_K");
  g_assert_nonnull(m);
  g_assert_cmpstr(m->path, ==, sh1);
  g_assert_cmpuint(m->n_shards, ==, 2);
  g_assert_cmpuint(m->n_present, ==, 2);
  g_assert_cmpint(m->size, ==, a + b);
  g_assert_cmpstr(m->model_id, ==, "llama-70b");
  m = find_local(list, "my-model");
  g_assert_nonnull(m);
  g_assert_null(m->model_id);
  m = find_local(list, "Big");
  g_assert_nonnull(m);
  g_assert_cmpuint(m->n_shards, ==, 3);
  g_assert_cmpuint(m->n_present, ==, 1); /* incomplete */

  /* a missing folder is an empty list, not an error */
  g_autofree char *missing = g_build_filename(dir, "nope", NULL);
  g_autoptr(GPtrArray) none = distill_scan_models_dir(cat, missing);
  g_assert_cmpuint(none->len, ==, 0);
  rm_rf(dir);
}

static void test_scan_hf_cache(void)
{
  g_autoptr(DistillCatalog) cat = distill_catalog_new_builtin(NULL);
  g_autofree char *hub = make_tmp();
  const char *sha = "78272d8d32084548bd450394a560eb2d70de8232ab96a725769b1f9171235c1c";
  g_autofree char *repo = g_build_filename(hub, "models--unsloth--DeepSeek-R1-Distill-Qwen-7B-GGUF", NULL);
  g_autofree char *blob = g_build_filename(repo, "blobs", sha, NULL);
  gint64 size = write_gguf(blob, 300);
  g_autofree char *snap = g_build_filename(repo, "snapshots", "0123abcd", NULL);
  g_mkdir_with_parents(snap, 0755);
  g_autofree char *link = g_build_filename(snap, "DeepSeek-R1-Distill-Qwen-7B-Q4_K_M.gguf", NULL);
  g_autofree char *target = g_build_filename("..", "..", "blobs", sha, NULL);
  g_assert_cmpint(symlink(target, link), ==, 0);
  /* a repo without GGUF files, and a file that is not a repo */
  g_autofree char *cfg = g_build_filename(hub, "models--a--b", "snapshots", "c", "config.json", NULL);
  g_autofree char *cfgdir = g_path_get_dirname(cfg);
  g_mkdir_with_parents(cfgdir, 0755);
  g_file_set_contents(cfg, "{}", -1, NULL);
  g_autofree char *lock = g_build_filename(hub, ".locks", NULL);
  g_mkdir(lock, 0755);

  g_autoptr(GPtrArray) list = distill_scan_hf_cache(cat, hub);
  g_assert_cmpuint(list->len, ==, 1);
  DistillLocalModel *m = g_ptr_array_index(list, 0);
  g_assert_cmpstr(m->path, ==, link);
  g_assert_cmpint(m->size, ==, size);
  g_assert_cmpint(m->source, ==, DISTILL_LOCAL_HF_CACHE);
  g_assert_cmpstr(m->model_id, ==, "qwen-7b");
  g_assert_cmpstr(m->quant, ==, "Q4_K_M");

  /* $HF_HUB_CACHE is where it looks by default */
  g_setenv("HF_HUB_CACHE", hub, TRUE);
  g_autoptr(GPtrArray) list2 = distill_scan_hf_cache(cat, NULL);
  g_unsetenv("HF_HUB_CACHE");
  g_assert_cmpuint(list2->len, ==, 1);
  rm_rf(hub);
}

static void test_scan_ollama(void)
{
  g_autoptr(DistillCatalog) cat = distill_catalog_new_builtin(NULL);
  g_autofree char *dir = make_tmp();
  const char *hex = "96c415656d377afbff962f6cdb2394ab092ccbcbaab4b82525bc4ca800fe8a49";
  g_autofree char *blobname = g_strdup_printf("sha256-%s", hex);
  g_autofree char *blob = g_build_filename(dir, "blobs", blobname, NULL);
  gint64 size = write_gguf(blob, 50);
  g_autofree char *tmpl = g_build_filename(dir, "blobs", "sha256-aaaa", NULL);
  g_file_set_contents(tmpl, "{{ .Prompt }}", -1, NULL);
  g_autofree char *mdir = g_build_filename(dir, "manifests", "registry.ollama.ai", "library", "deepseek-r1", NULL);
  g_mkdir_with_parents(mdir, 0755);
  g_autofree char *manifest = g_build_filename(mdir, "7b", NULL);
  g_autofree char *json = g_strdup_printf(
    "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
    "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:%s\"},"
    "\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.template\",\"digest\":\"sha256:%s\",\"size\":13},"
    "{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:%s\",\"size\":%" G_GINT64_FORMAT "}]}",
    hex, hex, hex, size);
  g_file_set_contents(manifest, json, -1, NULL);
  /* a manifest whose blob is missing, and one that is not JSON */
  g_autofree char *m2 = g_build_filename(mdir, "14b", NULL);
  g_file_set_contents(m2,
                      "{\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:"
                      "1111111111111111111111111111111111111111111111111111111111111111\"}]}",
                      -1, NULL);
  g_autofree char *m3 = g_build_filename(mdir, "broken", NULL);
  g_file_set_contents(m3, "not json", -1, NULL);

  g_autoptr(GPtrArray) list = distill_scan_ollama(cat, dir);
  g_assert_cmpuint(list->len, ==, 1);
  DistillLocalModel *m = g_ptr_array_index(list, 0);
  g_assert_cmpstr(m->path, ==, blob);
  g_assert_cmpstr(m->display_name, ==, "deepseek-r1:7b");
  g_assert_cmpint(m->size, ==, size);
  g_assert_cmpint(m->source, ==, DISTILL_LOCAL_OLLAMA);
  g_assert_cmpstr(m->model_id, ==, "qwen-7b");
  g_assert_cmpstr(m->quant, ==, "Q4_K_M");
  rm_rf(dir);
}

static void test_imported(void)
{
  g_autoptr(DistillCatalog) cat = distill_catalog_new_builtin(NULL);
  g_autofree char *dir = make_tmp();
  g_autofree char *list = g_build_filename(dir, "state", "imported.json", NULL);
  g_autofree char *model = g_build_filename(dir, "elsewhere", "DeepSeek-R1-Distill-Llama-8B-Q5_K_M.gguf", NULL);
  gint64 size = write_gguf(model, 16);
  g_autofree char *sh1 = g_build_filename(dir, "split", "X-00001-of-00002.gguf", NULL);
  g_autofree char *sh2 = g_build_filename(dir, "split", "X-00002-of-00002.gguf", NULL);
  write_gguf(sh1, 8);
  write_gguf(sh2, 8);
  g_autofree char *text = g_build_filename(dir, "notes.gguf", NULL);
  g_file_set_contents(text, "not a model", -1, NULL);

  g_autoptr(GError) error = NULL;
  g_assert_true(distill_imported_add(list, model, &error));
  g_assert_no_error(error);
  g_assert_true(distill_imported_add(list, model, &error)); /* twice: recorded once */
  g_assert_true(distill_imported_add(list, sh1, &error));
  g_assert_false(distill_imported_add(list, text, &error));
  g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_clear_error(&error);
  g_autofree char *missing = g_build_filename(dir, "missing.gguf", NULL);
  g_assert_false(distill_imported_add(list, missing, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);

  g_autoptr(GPtrArray) items = distill_scan_imported(cat, list);
  g_assert_cmpuint(items->len, ==, 2);
  DistillLocalModel *m = find_local(items, "DeepSeek-R1-Distill-Llama-8B-Q5_K_M");
  g_assert_nonnull(m);
  g_assert_cmpstr(m->path, ==, model); /* used in place: no copy */
  g_assert_cmpint(m->size, ==, size);
  g_assert_cmpint(m->source, ==, DISTILL_LOCAL_IMPORTED);
  g_assert_cmpstr(m->model_id, ==, "llama-8b");
  m = find_local(items, "X");
  g_assert_nonnull(m);
  g_assert_cmpuint(m->n_shards, ==, 2);
  g_assert_cmpuint(m->n_present, ==, 2);
  g_assert_cmpstr(m->path, ==, sh1);

  /* a file that went away drops out of the scan; remove forgets it */
  g_unlink(sh2);
  g_unlink(sh1);
  g_autoptr(GPtrArray) items2 = distill_scan_imported(cat, list);
  g_assert_cmpuint(items2->len, ==, 1);
  g_assert_true(distill_imported_remove(list, model, &error));
  g_autoptr(GPtrArray) items3 = distill_scan_imported(cat, list);
  g_assert_cmpuint(items3->len, ==, 0);
  /* a broken list is an empty one */
  g_file_set_contents(list, "{not json", -1, NULL);
  g_autoptr(GPtrArray) items4 = distill_scan_imported(cat, list);
  g_assert_cmpuint(items4->len, ==, 0);
  rm_rf(dir);
}

static DistillHubEntry *entry(const char *path, gint64 size, const char *sha)
{
  DistillHubEntry *e = g_new0(DistillHubEntry, 1);
  e->path = g_strdup(path);
  e->size = size;
  e->sha256 = g_strdup(sha);
  e->oid = g_strdup("0123456789012345678901234567890123456789");
  return e;
}

/* Sizes and sha256 from the Hub's tree listing replace the built-in hints (the Hub wins). */
static void test_apply_tree(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DistillCatalog) c = distill_catalog_new_builtin(&error);
  g_assert_no_error(error);
  DistillCatalogModel *m = distill_catalog_find_model(c, "qwen-1.5b");
  DistillCatalogQuant *q4 = distill_catalog_model_find_quant(m, "Q4_K_M");
  DistillCatalogQuant *q8 = distill_catalog_model_find_quant(m, "Q8_0");
  g_assert_nonnull(q4->sha256);
  g_autofree char *old_sha = g_strdup(q4->sha256);
  gint64 old_q8 = q8->size;
  const char *new_sha = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func((GDestroyNotify)distill_hub_entry_free);
  g_ptr_array_add(entries, entry(q4->files[0], 1117320999, new_sha));
  g_ptr_array_add(entries, entry("README.md", 100, NULL));
  /* another repo's listing changes nothing */
  g_assert_cmpuint(distill_catalog_apply_tree(c, "someone/else", entries), ==, 0);
  g_assert_cmpstr(q4->sha256, ==, old_sha);
  g_assert_false(q4->from_hub);
  /* the Hub disagrees with catalog.json: logged, the Hub wins */
  g_test_expect_message(NULL, G_LOG_LEVEL_MESSAGE, "*differ from the built-in catalog (1 sizes, 1 checksums)*");
  g_assert_cmpuint(distill_catalog_apply_tree(c, m->repo, entries), ==, 1);
  g_test_assert_expected_messages();
  g_assert_true(q4->from_hub);
  g_assert_cmpint(q4->size, ==, 1117320999);
  g_assert_cmpstr(q4->sha256, ==, "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  /* not in the listing: the hints stay */
  g_assert_false(q8->from_hub);
  g_assert_cmpint(q8->size, ==, old_q8);

  /* a split quant: refreshed only when every shard is listed; the size is the sum */
  DistillCatalogModel *big = distill_catalog_find_model(c, "llama-70b");
  DistillCatalogQuant *split = NULL;
  for (guint i = 0; i < big->quants->len && split == NULL; i++) {
    DistillCatalogQuant *q = g_ptr_array_index(big->quants, i);
    if (q->files[1] != NULL) split = q;
  }
  g_assert_nonnull(split);
  g_autoptr(GPtrArray) shards = g_ptr_array_new_with_free_func((GDestroyNotify)distill_hub_entry_free);
  g_ptr_array_add(shards, entry(split->files[0], 1000, NULL));
  g_assert_cmpuint(distill_catalog_apply_tree(c, big->repo, shards), ==, 0);
  g_assert_false(split->from_hub);
  gint64 total = 1000;
  for (guint k = 1; split->files[k]; k++) {
    g_ptr_array_add(shards, entry(split->files[k], 2000, NULL));
    total += 2000;
  }
  g_assert_cmpuint(distill_catalog_apply_tree(c, big->repo, shards), >=, 1);
  g_assert_true(split->from_hub);
  g_assert_cmpint(split->size, ==, total);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  distill_register_resource();
  g_test_add_func("/catalog/builtin", test_builtin);
  g_test_add_func("/catalog/bad-json", test_bad_json);
  g_test_add_func("/catalog/shard-names", test_shard_names);
  g_test_add_func("/catalog/scan-models-dir", test_scan_models_dir);
  g_test_add_func("/catalog/scan-hf-cache", test_scan_hf_cache);
  g_test_add_func("/catalog/scan-ollama", test_scan_ollama);
  g_test_add_func("/catalog/imported", test_imported);
  g_test_add_func("/catalog/apply-tree", test_apply_tree);
  return g_test_run();
}
