/* distill-chat-settings.c — per-chat settings as JSON; model files on disk. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "distill-chat-settings.h"

void distill_chat_settings_reset(DistillChatSettings *cs, int n_ctx)
{
  g_free(cs->system_prompt);
  cs->temperature = 0.6;
  cs->top_p = 0.95;
  cs->max_tokens = 0;
  cs->n_ctx = n_ctx;
  cs->reasoning_budget = 0;
  cs->system_prompt = g_strdup("");
  cs->context_used = 0;
}

void distill_chat_settings_clear(DistillChatSettings *cs)
{
  g_clear_pointer(&cs->system_prompt, g_free);
}

void distill_chat_settings_load(DistillChatSettings *cs, const char *json, int n_ctx_default)
{
  distill_chat_settings_reset(cs, n_ctx_default);
  if (!json) return;
  g_autoptr(JsonParser) p = json_parser_new();
  if (!json_parser_load_from_data(p, json, -1, NULL)) return;
  JsonNode *root = json_parser_get_root(p);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) return;
  JsonObject *o = json_node_get_object(root);
  cs->temperature = CLAMP(json_object_get_double_member_with_default(o, "temperature", cs->temperature), 0, 2);
  cs->top_p = CLAMP(json_object_get_double_member_with_default(o, "top_p", cs->top_p), 0.05, 1);
  cs->max_tokens = (int)CLAMP(json_object_get_int_member_with_default(o, "max_tokens", 0), 0, 1 << 20);
  cs->n_ctx = (int)CLAMP(json_object_get_int_member_with_default(o, "context_size", n_ctx_default), 256, 1 << 20);
  cs->reasoning_budget = (int)CLAMP(json_object_get_int_member_with_default(o, "reasoning_budget", 0), 0, 1 << 20);
  cs->context_used = (int)CLAMP(json_object_get_int_member_with_default(o, "context_used", 0), 0, 1 << 20);
  const char *sys = json_object_get_string_member_with_default(o, "system_prompt", "");
  g_free(cs->system_prompt);
  cs->system_prompt = g_strdup(sys ? sys : "");
}

char *distill_chat_settings_to_json(const DistillChatSettings *cs)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "temperature");
  json_builder_add_double_value(b, cs->temperature);
  json_builder_set_member_name(b, "top_p");
  json_builder_add_double_value(b, cs->top_p);
  json_builder_set_member_name(b, "max_tokens");
  json_builder_add_int_value(b, cs->max_tokens);
  json_builder_set_member_name(b, "context_size");
  json_builder_add_int_value(b, cs->n_ctx);
  json_builder_set_member_name(b, "reasoning_budget");
  json_builder_add_int_value(b, cs->reasoning_budget);
  json_builder_set_member_name(b, "system_prompt");
  json_builder_add_string_value(b, cs->system_prompt ? cs->system_prompt : "");
  json_builder_set_member_name(b, "context_used");
  json_builder_add_int_value(b, cs->context_used);
  json_builder_end_object(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, NULL);
}

/* ---- model files ---- */

static gboolean is_first_shard_or_single(const char *name)
{
  /* "model-00002-of-00003.gguf": only the first part stands for the model */
  const char *of = strstr(name, "-of-");
  if (!of || of - name < 6) return TRUE;
  return strncmp(of - 6, "-00001", 6) == 0;
}

static void scan(const char *dir, int depth, GPtrArray *out)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  if (!d) return;
  const char *name;
  while ((name = g_dir_read_name(d))) {
    if (name[0] == '.') continue;
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
      if (depth < 3) scan(path, depth + 1, out);
    } else if (g_str_has_suffix(name, ".gguf") && is_first_shard_or_single(name)) {
      g_ptr_array_add(out, g_steal_pointer(&path));
    }
  }
}

static int compare_basenames(gconstpointer a, gconstpointer b)
{
  g_autofree char *x = g_path_get_basename(*(char *const *)a);
  g_autofree char *y = g_path_get_basename(*(char *const *)b);
  return g_utf8_collate(x, y);
}

GPtrArray *distill_find_model_files(const char *folder)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  if (folder) scan(folder, 0, out);
  g_ptr_array_sort(out, compare_basenames);
  return out;
}

char *distill_model_display_name(const char *path)
{
  g_autofree char *base = g_path_get_basename(path);
  if (g_str_has_suffix(base, ".gguf")) base[strlen(base) - 5] = '\0';
  return g_steal_pointer(&base);
}
