/* vulkan/vk-tune.c — the decode and prompt paths of one device, chosen by
 * timing them there.
 *
 * Which shaders are fastest differs between GPUs, drivers and weight mixes:
 * on an H200 the 8-bit integer dot products made R1-Llama-8B Q4_K_M decode
 * 34% faster and its Q4_0 11% slower (vk-context.c), and whether rounding
 * each vector once beforehand (STILL_VK_DOT_PREROUND) or the batched dot
 * products for prompts (STILL_VK_MATMUL=dot) pay depends on the card. So
 * instead of one table of defaults, the first time a model's shapes and
 * types meet a device, the forward pass is timed with each choice and the
 * fastest kept (matmul_team.comp made Q8_0 prompts 4.8 times faster there,
 * Q4_K ones 3.9 times slower: vk-ops.c):
 *   1. where the device has integer dot products, each weight type of the
 *      model that has a dot shader, on that path or off it (one at a time,
 *      from the defaults);
 *   2. then, where any type takes it, the rounding beforehand: 0, 1 or 2;
 *   3. then prompt batches: the default shaders (tensor cores, else
 *      matmul_team.comp for blocks of 32 and matmul.comp for the K-quants),
 *      STILL_VK_MATMUL=team and =generic where they differ from those for
 *      the model's types (not on tensor cores), and the batched dot products.
 * A choice replaces the one before only when it is at least 3% faster (the
 * defaults win ties and noise). Each candidate runs once to build its
 * pipelines, then decode 5 times and prompts 2 times; the best time counts.
 * The search stops after STILL_VK_TUNE_SECONDS (default 6; counted from
 * when the defaults' pipelines are built, which a session does anyway) and
 * keeps the best so far.
 *
 * The result is cached in $XDG_CACHE_HOME/distill/vk-tune.txt under a hash
 * of the device (ids, driver version, pipeline cache UUID), the shaders'
 * SPIR-V, the model's shapes and types (the caller's model_key) and every
 * other STILL_VK_* setting, so it is measured once per model kind and
 * device, and again after a driver or engine update.
 *
 * A choice fixed in the environment (STILL_VK_DOT_TYPES, STILL_VK_DOT_PREROUND,
 * STILL_VK_MATMUL) is not tuned. STILL_VK_TUNE=0 keeps the defaults, =1 tunes
 * on CPU devices too (lavapipe: the tests; off there by default, its times say
 * nothing of a GPU), =again measures again over the cached choice.
 * STILL_VK_TUNE_VERBOSE=1 prints every time measured on stderr. */
#ifdef STILL_HAVE_VULKAN

#include "vulkan/vk-internal.h"

#include "kv-cache.h" /* still_hash64 */
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define TUNE_FILE "vk-tune.txt"
#define TUNE_MARGIN 0.03
#define TUNE_MAX_LINES 256
#define DECODE_REPS 5
#define PROMPT_REPS 2

typedef struct {
  uint32_t dot_types, preround;
  int matmul_mode;
} paths;

static paths get_paths(const still_vk *vk)
{
  return (paths){.dot_types = vk->dot_types, .preround = vk->dot_preround, .matmul_mode = vk->matmul_mode};
}

static void set_paths(still_vk *vk, const paths *p)
{
  vk->dot_types = p->dot_types;
  vk->dot_preround = p->preround;
  vk->matmul_mode = p->matmul_mode;
}

static const char *const type_names[5] = {"Q4_K", "Q6_K", "Q8_0", "Q5_K", "Q4_0"};
/* STILL_VK_MATMUL's modes by number (vk->matmul_mode) */
static const char *const prompt_names[4] = {"default", "generic", "team", "dot"};

/* "dot Q4_K Q5_K, preround 1, prompt dot" (types limited to those the model has) */
static void describe(const paths *p, uint32_t present, char *buf, size_t cap)
{
  size_t n = 0;
  int w = snprintf(buf, cap, "dot");
  bool any = false;
  for (int i = 0; i < 5 && w > 0; i++)
    if ((p->dot_types & present) >> i & 1u) {
      n += (size_t)w;
      w = n < cap ? snprintf(buf + n, cap - n, " %s", type_names[i]) : 0;
      any = true;
    }
  if (w > 0) n += (size_t)w;
  if (n < cap)
    snprintf(buf + n, cap - n, "%s, preround %u, prompt %s", any ? "" : " none", p->preround,
             prompt_names[p->matmul_mode >= 0 && p->matmul_mode <= 3 ? p->matmul_mode : 0]);
}

static bool env_set(const char *name)
{
  const char *v = getenv(name);
  return v && *v;
}

/* The cache key: the device and driver, the shaders, the model (job->model_key), the
 * settings of the environment that change what the shaders do, and the paths
 * the environment fixed. */
static uint64_t tune_key(const still_vk *vk, const still_vk_tune_job *job)
{
  still_hash64 h;
  still_hash64_init(&h);
  still_hash64_update(&h, "still-vk-tune 1", 15);
  still_hash64_update(&h, &vk->props.vendorID, 4);
  still_hash64_update(&h, &vk->props.deviceID, 4);
  still_hash64_update(&h, &vk->props.driverVersion, 4);
  still_hash64_update(&h, vk->props.pipelineCacheUUID, VK_UUID_SIZE);
  still_hash64_update(&h, vk->props.deviceName, strnlen(vk->props.deviceName, sizeof vk->props.deviceName));
  for (int i = 0; i < VK_SHADER_COUNT; i++)
    if (still_vk_shaders[i].code) still_hash64_update(&h, still_vk_shaders[i].code, still_vk_shaders[i].size);
  still_hash64_update(&h, &job->model_key, sizeof job->model_key);
  for (char **e = environ; e && *e; e++)
    if (strncmp(*e, "STILL_VK_", 9) == 0 && strncmp(*e, "STILL_VK_TUNE", 13) != 0) {
      still_hash64_update(&h, *e, strlen(*e));
      still_hash64_update(&h, "\n", 1);
    }
  const paths p = get_paths(vk);
  still_hash64_update(&h, &p, sizeof p);
  return still_hash64_final(&h);
}

/* The cached line of this key: "<16 hex> <dot_types> <preround> <matmul_mode> <what it says>". */
static bool cache_find(const char *path, uint64_t key, paths *p, char *said, size_t cap)
{
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char line[512];
  bool found = false;
  while (!found && fgets(line, sizeof line, f)) {
    unsigned long long k;
    unsigned types, pre;
    int mode, at = 0;
    if (sscanf(line, "%16llx %u %u %d %n", &k, &types, &pre, &mode, &at) < 4 || at == 0) continue;
    if ((uint64_t)k != key || types > 31 || pre > 2 || mode < 0 || mode > 3) continue;
    *p = (paths){.dot_types = types, .preround = pre, .matmul_mode = mode};
    snprintf(said, cap, "%s", line + at);
    said[strcspn(said, "\n")] = '\0';
    found = true;
  }
  fclose(f);
  return found;
}

/* Replaces this key's line (or adds it), keeping the newest TUNE_MAX_LINES. */
static void cache_store(const char *path, uint64_t key, const paths *p, const char *said)
{
  char *lines[TUNE_MAX_LINES];
  int n = 0;
  FILE *f = fopen(path, "r");
  char line[512];
  while (f && fgets(line, sizeof line, f)) {
    unsigned long long k;
    if (sscanf(line, "%16llx", &k) != 1 || (uint64_t)k == key || !strchr(line, '\n')) continue;
    if (n == TUNE_MAX_LINES - 1) {
      free(lines[0]);
      memmove(lines, lines + 1, (size_t)(n - 1) * sizeof *lines);
      n--;
    }
    if ((lines[n] = strdup(line))) n++;
  }
  if (f) fclose(f);
  size_t len = 0;
  for (int i = 0; i < n; i++) len += strlen(lines[i]);
  char mine[512];
  const int w = snprintf(mine, sizeof mine, "%016llx %u %u %d %s\n", (unsigned long long)key, p->dot_types,
                         p->preround, p->matmul_mode, said);
  char *all = malloc(len + sizeof mine);
  if (all && w > 0) {
    size_t at = 0;
    for (int i = 0; i < n; i++) {
      const size_t l = strlen(lines[i]);
      memcpy(all + at, lines[i], l);
      at += l;
    }
    memcpy(all + at, mine, (size_t)w < sizeof mine ? (size_t)w : sizeof mine - 1);
    at += (size_t)w < sizeof mine ? (size_t)w : sizeof mine - 1;
    still_vk_write_file_atomic(path, all, at);
  }
  free(all);
  for (int i = 0; i < n; i++) free(lines[i]);
}

typedef struct {
  still_vk *vk;
  const still_vk_tune_job *job;
  double t0, budget;
  bool verbose, out_of_time;
  uint32_t present;
} tuner;

/* The best of reps timed runs of p (after one that builds its pipelines). */
static still_status time_paths(tuner *t, const paths *p, bool prompt, double *best, still_error *err)
{
  set_paths(t->vk, p);
  double s = 0;
  still_status st = t->job->run(t->job->ctx, prompt, &s, err);
  /* the time limit counts from the defaults' pipelines built: a session builds them anyway */
  if (t->t0 == 0) t->t0 = still_time_s();
  *best = INFINITY;
  for (int r = 0; r < (prompt ? PROMPT_REPS : DECODE_REPS) && st == STILL_OK; r++) {
    st = t->job->run(t->job->ctx, prompt, &s, err);
    if (s < *best) *best = s;
  }
  if (t->verbose && st == STILL_OK) {
    char d[160];
    describe(p, t->present, d, sizeof d);
    fprintf(stderr, "still: tune %s: %s: %.3f ms\n", prompt ? "prompt" : "decode", d, *best * 1e3);
  }
  if (still_time_s() - t->t0 > t->budget) t->out_of_time = true;
  return st;
}

/* Times cand against the best so far (*cur, *t_cur) and keeps the faster. */
static still_status try_paths(tuner *t, const paths *cand, bool prompt, paths *cur, double *t_cur,
                              still_error *err)
{
  if (t->out_of_time) return STILL_OK;
  double s;
  still_status st = time_paths(t, cand, prompt, &s, err);
  if (st == STILL_OK && s < *t_cur * (1 - TUNE_MARGIN)) *cur = *cand, *t_cur = s;
  return st;
}

/* STILL_VK_TUNE: 0, 1 or again; NULL for anything else (the default). */
static const char *tune_mode(void)
{
  const char *v = getenv("STILL_VK_TUNE");
  if (v && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0 || strcmp(v, "again") == 0)) return v;
  return NULL;
}

/* Why still_vk_tune times nothing on this device, or NULL. */
static const char *why_not(const still_vk *vk)
{
  const char *mode = tune_mode();
  const bool forced = mode && strcmp(mode, "0") != 0;
  if (mode && strcmp(mode, "0") == 0) return "STILL_VK_TUNE=0";
  if (vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU && !forced) return "a CPU device";
  return NULL;
}

bool still_vk_tune_may_take_matmul_dot(const still_vk *vk)
{
  return !why_not(vk) && vk->int_dot && vk->matmul_mode == 0 && !env_set("STILL_VK_MATMUL");
}

still_status still_vk_tune(still_vk *vk, const still_vk_tune_job *job, char *summary, size_t cap, still_error *err)
{
  const char *mode = tune_mode(), *mode_env = getenv("STILL_VK_TUNE");
  if (!mode && mode_env && *mode_env) fprintf(stderr, "still: STILL_VK_TUNE=%s ignored (0, 1 or again)\n", mode_env);
  const paths def = get_paths(vk);
  const uint32_t present = vk->int_dot ? job->dot_types : 0;
  char d[160];
  describe(&def, present, d, sizeof d);
  const bool types_fixed = env_set("STILL_VK_DOT_TYPES"), pre_fixed = env_set("STILL_VK_DOT_PREROUND"),
             matmul_fixed = env_set("STILL_VK_MATMUL");
  /* what there is to choose: the decode paths where a type of the model has a dot shader, and
   * the prompt shaders that differ from the defaults for its types (matmul_team_shader,
   * matmul_coop_shader, matmul_dot_shader in vk-ops.c): with tensor cores only the dot
   * products; else matmul_team.comp for the K-quants (=team), matmul.comp for the other
   * blocks (=generic) */
  const bool decode = present && !(types_fixed && pre_fixed);
  int modes[3], n_modes = 0;
  if (job->prompt && !matmul_fixed && def.matmul_mode == 0) {
    if (!vk->coopmat && job->k_quants) modes[n_modes++] = 2;
    if (!vk->coopmat && job->small_blocks) modes[n_modes++] = 1;
    if (present && job->prompt_dot) modes[n_modes++] = 3;
  }
  const char *why = why_not(vk);
  if (!why && !decode && !n_modes)
    why = types_fixed && pre_fixed && matmul_fixed ? "all set in the environment" : "no other path for this model";
  if (why) {
    snprintf(summary, cap, "defaults (%s): %s", why, d);
    return STILL_OK;
  }

  char path[1024];
  const bool cached = still_vk_cache_file(TUNE_FILE, path, sizeof path);
  const uint64_t key = tune_key(vk, job);
  paths p;
  char said[400];
  if (cached && !(mode && strcmp(mode, "again") == 0) && cache_find(path, key, &p, said, sizeof said)) {
    set_paths(vk, &p);
    describe(&p, present, d, sizeof d);
    snprintf(summary, cap, "cached: %s (%s)", d, said);
    return STILL_OK;
  }

  const char *budget_env = getenv("STILL_VK_TUNE_SECONDS");
  tuner t = {.vk = vk, .job = job, .t0 = 0, .budget = 6, .present = present,
             .verbose = env_set("STILL_VK_TUNE_VERBOSE") && strcmp(getenv("STILL_VK_TUNE_VERBOSE"), "0") != 0};
  if (budget_env && *budget_env && atof(budget_env) > 0) t.budget = atof(budget_env);
  paths cur = def;
  double t_dec = INFINITY, t_dec_def = INFINITY, t_prompt = INFINITY, t_prompt_def = INFINITY;
  still_status st = STILL_OK;
  if (decode) {
    st = time_paths(&t, &cur, false, &t_dec, err);
    t_dec_def = t_dec;
  }
  /* 1. each type's path, one at a time */
  for (int i = 0; i < 5 && st == STILL_OK && decode && !types_fixed; i++) {
    if (!(present >> i & 1u)) continue;
    paths cand = cur;
    cand.dot_types ^= 1u << i;
    st = try_paths(&t, &cand, false, &cur, &t_dec, err);
  }
  /* 2. the rounding beforehand, where a type of the model takes the dot path */
  for (uint32_t pre = 0; pre <= 2 && st == STILL_OK && decode && !pre_fixed && (cur.dot_types & present); pre++) {
    if (pre == cur.preround) continue;
    paths cand = cur;
    cand.preround = pre;
    st = try_paths(&t, &cand, false, &cur, &t_dec, err);
  }
  /* 3. prompt batches */
  if (n_modes && st == STILL_OK && !t.out_of_time) {
    st = time_paths(&t, &cur, true, &t_prompt, err);
    t_prompt_def = t_prompt;
    for (int i = 0; i < n_modes && st == STILL_OK; i++) {
      paths cand = cur;
      cand.matmul_mode = modes[i];
      st = try_paths(&t, &cand, true, &cur, &t_prompt, err);
    }
  }
  if (st != STILL_OK) {
    set_paths(vk, &def); /* untimed: the defaults, and nothing cached */
    return st;
  }
  set_paths(vk, &cur);
  describe(&cur, present, d, sizeof d);
  char dec_ms[64] = "", prompt_ms[64] = "";
  if (isfinite(t_dec))
    snprintf(dec_ms, sizeof dec_ms, "decode %.2f ms (defaults %.2f), ", t_dec * 1e3, t_dec_def * 1e3);
  if (isfinite(t_prompt))
    snprintf(prompt_ms, sizeof prompt_ms, "prompt batch %.2f ms (defaults %.2f), ", t_prompt * 1e3,
             t_prompt_def * 1e3);
  snprintf(said, sizeof said, "%s%s%son %s", dec_ms, prompt_ms, t.out_of_time ? "stopped at the time limit, " : "",
           vk->props.deviceName);
  snprintf(summary, cap, "measured: %s (%s)", d, said);
  if (cached) cache_store(path, key, &cur, said);
  return STILL_OK;
}

#endif /* STILL_HAVE_VULKAN */
