/* vulkan/vk-tune.c — the decode and prompt paths of one device, chosen by
 * timing them there.
 *
 * Which shaders are fastest differs between GPUs, drivers and weight mixes:
 * on an H200 the 8-bit integer dot products made R1-Llama-8B Q4_K_M decode
 * 34% faster and its Q4_0 11% slower (vk-context.c), matmul_team.comp made
 * Q8_0 prompts 4.8 times faster and Q4_K ones 3.9 times slower (vk-ops.c),
 * and whether rounding each vector once beforehand (STILL_VK_DOT_PREROUND)
 * or the batched dot products for prompts (STILL_VK_MATMUL=dot) pay depends
 * on the card. So instead of one table of defaults, the first time a
 * model's shapes and types meet a device, its forward pass is timed with
 * each choice and the fastest kept, one choice at a time from the defaults:
 *   1. where the device has integer dot products, each weight type of the
 *      model that has a dot shader, on that path or off it;
 *   2. then, where any type takes it, the rounding beforehand: 0, 1 or 2;
 *   3. then the rows each team of 32 threads takes at decode (4, 2 or 1): of
 *      the dot shaders where any type takes them, and of matvec_team.comp for
 *      Q8_0 and Q6_K and for the other block types where the model decodes
 *      such matrices in float (on an H200, 8B Q8_0 decoded at 162, 178 and
 *      167 tok/s with 1, 2 and 4 rows, 1.5B Q8_0 at 383, 407 and 359: it
 *      differs between models as well as GPUs);
 *   4. where the model's decode folds them (job->folds), the q/k norms,
 *      rope and KV store inside the attention's first dispatch
 *      (still_vk_attention_fold: one launch and barrier fewer per layer, a
 *      little more work in the attention's workgroups) or in one of their
 *      own; and where the device has the bindings, the fold with the chunks'
 *      merge in it too (still_vk_attention_fold_merges: one launch fewer
 *      again), after still_vk_attention_merge_check has seen it give the
 *      merge's results on this device (its counting relies on the device's
 *      memory ordering: a device it fails on never takes it, and the result
 *      says why);
 *   5. where the model's decode can take them (job->norms), the residual adds
 *      and RMSNorms done by the last workgroup of the products before them
 *      (still_vk_matvec_norm: two launches and barriers fewer per layer), after
 *      still_vk_norm_fold_check has seen them give the two dispatches' results
 *      on this device (the same counting as the merge's);
 *   6. then prompt batches: besides the default shaders (tensor cores, else
 *      matmul_team.comp for blocks of 32 and matmul.comp for the K-quants),
 *      STILL_VK_MATMUL=team and =generic where they differ from those for
 *      the model's types, =wide (matmul_wide.comp, every thread of a
 *      workgroup on a 64 × 64 tile; on lavapipe 2.2 to 3.5 times as fast as
 *      the defaults, untimed on a GPU) where the device has its 32 KiB of
 *      shared memory (these three not on tensor cores), and the batched dot
 *      products;
 *   7. where the device has tensor cores and the model's prompt attention can
 *      take them (job->attn_coop: an F16 or Q8_0 cache, head dims multiples
 *      of 16 up to 128), that attention in float32 (attention_tile.comp), on
 *      them (attention_coop.comp, design 1) or only its scores on them
 *      (design 2, -DPV_LANES), timed on a batch at job->deep_pos: they differ
 *      only in the keys before the batch; each design after
 *      still_vk_attention_coop_check has seen it give the float32 results
 *      (within float16 rounding) on this device (each its own verdict: the
 *      first failed on an H200, the second is built from fewer of the
 *      tensor cores' operations).
 *
 * Measuring: the device first runs the defaults once to build their
 * pipelines and then for a while (at least 2 runs and 0.2 s of them, at
 * most 40), so that its clocks are up before anything is compared. Each candidate then runs once to build its
 * pipelines, and after that the best path so far and the candidate run in
 * turn (decode 5 times each, prompts 2 times), so that both meet the same
 * clocks and load; each side's best time counts, and the candidate replaces
 * the best so far only when it is at least 3% faster (ties and noise keep
 * the defaults). Where the steps changed something, what they add up to is
 * compared with the defaults once more in the same way and must win there
 * too (a step that won by noise is undone), and the times reported come
 * from that comparison. A candidate whose runs fail (its shader does not build,
 * the driver refuses it) is left out and named in the result; only when
 * the best path so far then fails too is the device given up (the error is
 * returned: the caller moves the layers away, as for any GPU failure). The
 * search stops once its timed runs (not the pipeline-building ones) add up
 * to STILL_VK_TUNE_SECONDS (default 6), and keeps the best so far.
 *
 * The result is kept for the process and in $XDG_CACHE_HOME/distill/
 * vk-tune.txt, under a hash of the device (ids, driver version, pipeline
 * cache UUID), the shaders' SPIR-V, the model's shapes and types (the
 * caller's model_key) and the STILL_VK_* settings that change what runs, so
 * it is measured once per model kind and device, and again after a driver
 * or engine update. One search at a time per process (two sessions timing
 * the same GPU at once would each slow the other). graph.c asks for it once
 * its out-of-memory search has settled the layer count
 * (still_vk_forward_tune).
 *
 * A choice fixed in the environment (STILL_VK_DOT_TYPES, STILL_VK_DOT_PREROUND,
 * STILL_VK_DOT_ROWS, STILL_VK_MATVEC_ROWS, STILL_VK_ATTN_FOLD, STILL_VK_NORM_FOLD, STILL_VK_MATMUL,
 * STILL_VK_ATTN_COOP) is not tuned.
 * STILL_VK_TUNE=0 keeps the defaults, =1 tunes on CPU devices too (lavapipe:
 * the tests; off there by default, its times say nothing of a GPU), =again
 * measures again over the cached choice.
 * STILL_VK_TUNE_VERBOSE=1 prints every comparison on stderr. */
#ifdef STILL_HAVE_VULKAN

#include "vulkan/vk-internal.h"

#include "kv-cache.h" /* still_hash64 */
#include "types.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define TUNE_FILE "vk-tune.txt"
#define TUNE_MARGIN 0.03
#define TUNE_MAX_LINES 256
#define TUNE_LINE 1024
#define DECODE_REPS 5
#define PROMPT_REPS 2
#define WARM_SECONDS 0.2
#define WARM_MAX_RUNS 40
#define MEMO_SLOTS 32

typedef struct {
  uint32_t dot_types, preround;
  int matmul_mode;
  /* rows per team at decode: of the dot shaders, and of matvec_team.comp for Q8_0 and Q6_K
   * (wide) and the other block types (small) */
  uint32_t dot_rows, rows_wide, rows_small;
  uint32_t fold; /* STILL_VK_ATTN_FOLD: 1 decode ropes and stores q/k/v inside the attention, 2 and merges
                  * there too, 0 apart */
  uint32_t norm; /* STILL_VK_NORM_FOLD: 1 decode's residual adds and norms in the products before them */
  uint32_t attn_coop; /* STILL_VK_ATTN_COOP: 1 prompt attention on the tensor cores, 2 only its scores */
} paths;

static paths get_paths(const still_vk *vk)
{
  return (paths){.dot_types = vk->dot_types, .preround = vk->dot_preround, .matmul_mode = vk->matmul_mode,
                 .dot_rows = vk->dot_rows, .rows_wide = vk->team_rows_wide, .rows_small = vk->team_rows_small,
                 .fold = vk->attn_fold_off ? 0u : still_vk_attention_fold_merges(vk) ? 2u : 1u,
                 .norm = vk->norm_fold ? 1u : 0u, .attn_coop = vk->attn_coop};
}

static void set_paths(still_vk *vk, const paths *p)
{
  vk->dot_types = p->dot_types;
  vk->dot_preround = p->preround;
  vk->matmul_mode = p->matmul_mode;
  vk->dot_rows = p->dot_rows;
  vk->team_rows_wide = p->rows_wide;
  vk->team_rows_small = p->rows_small;
  vk->attn_fold_off = p->fold == 0;
  vk->attn_merge_fold = p->fold == 2;
  vk->norm_fold = p->norm == 1;
  vk->attn_coop = p->attn_coop;
}

static bool rows_ok(uint32_t r) { return r == 1 || r == 2 || r == 4; }

/* The decode paths of p and q are the same (the prompt's aside). */
static bool same_decode(const paths *p, const paths *q)
{
  return p->dot_types == q->dot_types && p->preround == q->preround && p->dot_rows == q->dot_rows &&
         p->rows_wide == q->rows_wide && p->rows_small == q->rows_small && p->fold == q->fold && p->norm == q->norm;
}

/* Which rows of matvec_team.comp a model's decode meets with p's dot products (bit 0: Q8_0 or
 * Q6_K matrices in float, bit 1: other block types in float; F16 and F32 always take 1 row a
 * team), from the types of the job (still_vk_tune_job.types). */
static uint32_t float_rows_used(uint64_t types, const paths *p, uint32_t present)
{
  uint32_t used = 0;
  for (uint32_t t = 0; t < 64; t++) {
    if (!(types >> t & 1u) || t == STILL_TYPE_F32 || t == STILL_TYPE_F16 || t == STILL_TYPE_BF16) continue;
    if (p->dot_types & present & still_vk_dot_type_bit(t)) continue;
    used |= t == STILL_TYPE_Q8_0 || t == STILL_TYPE_Q6_K ? 1u : 2u;
  }
  return used;
}

/* STILL_VK_MATMUL's modes by number (vk->matmul_mode) */
static const char *const prompt_names[5] = {"default", "generic", "team", "dot", "wide"};

/* "dot Q4_K Q5_K, preround 1, prompt dot" (types limited to those the model has), and the
 * rows per team where they are not the defaults: ", dot rows 2", ", float rows 1 (Q8_0, Q6_K)",
 * ", float rows 2 (other types)"; ", rope apart" where decode does not fold rope and the KV
 * store into the attention, ", merge in the attention" where it folds the merge too, ", norms in
 * the products" where the residual adds and norms are done by the products before them; after
 * the prompt's shaders ", attention on the tensor cores" where the prompt's attention is (and
 * can be: attn, the job's attn_coop), ", the attention's scores on the tensor cores" where only
 * they are (STILL_VK_ATTN_COOP=2) */
static void describe(const paths *p, uint32_t present, bool attn, char *buf, size_t cap)
{
  size_t n = 0;
  int w = snprintf(buf, cap, "dot");
  bool any = false;
  for (int i = 0; i < STILL_VK_DOT_BITS && w > 0; i++)
    if ((p->dot_types & present) >> i & 1u) {
      n += (size_t)w;
      w = n < cap ? snprintf(buf + n, cap - n, " %s", still_type_name(still_vk_dot_bit_type(i))) : 0;
      any = true;
    }
  if (w > 0) n += (size_t)w;
  char rows[160] = ""; /* (the six at most take 142 characters) */
  size_t r = 0;
  if (p->dot_rows != 4) r += (size_t)snprintf(rows + r, sizeof rows - r, ", dot rows %u", p->dot_rows);
  if (p->rows_wide != 2) r += (size_t)snprintf(rows + r, sizeof rows - r, ", float rows %u (Q8_0, Q6_K)", p->rows_wide);
  if (p->rows_small != 4)
    r += (size_t)snprintf(rows + r, sizeof rows - r, ", float rows %u (other types)", p->rows_small);
  if (p->fold != 1) r += (size_t)snprintf(rows + r, sizeof rows - r, p->fold ? ", merge in the attention" : ", rope apart");
  if (p->norm && r < sizeof rows) snprintf(rows + r, sizeof rows - r, ", norms in the products");
  if (n < cap)
    snprintf(buf + n, cap - n, "%s, preround %u%s, prompt %s%s", any ? "" : " none", p->preround, rows,
             prompt_names[p->matmul_mode >= 0 && p->matmul_mode <= 4 ? p->matmul_mode : 0],
             !attn                ? ""
             : p->attn_coop == 1 ? ", attention on the tensor cores"
             : p->attn_coop == 2 ? ", the attention's scores on the tensor cores"
                                 : "");
}

/* STILL_VK_TUNE: 0, 1 or again; NULL for anything else (the default). */
static const char *tune_mode(void)
{
  const char *v = getenv("STILL_VK_TUNE");
  if (v && (strcmp(v, "0") == 0 || strcmp(v, "1") == 0 || strcmp(v, "again") == 0)) return v;
  return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The STILL_VK_* settings that change what runs, sorted: not this file's own, nor the
 * diagnostics that only print (STILL_VK_PROFILE, STILL_VK_PIPELINE_STATS). */
static void hash_settings(still_hash64 *h)
{
  size_t n = 0;
  for (char **e = environ; e && *e; e++) n++;
  char **v = malloc((n ? n : 1) * sizeof *v);
  size_t k = 0;
  for (char **e = environ; v && e && *e; e++)
    if (strncmp(*e, "STILL_VK_", 9) == 0 && strncmp(*e, "STILL_VK_TUNE", 13) != 0 &&
        strncmp(*e, "STILL_VK_PROFILE=", 17) != 0 && strncmp(*e, "STILL_VK_PIPELINE_STATS=", 24) != 0)
      v[k++] = *e;
  if (v) qsort(v, k, sizeof *v, cmp_str);
  for (size_t i = 0; i < k; i++) {
    still_hash64_update(h, v[i], strlen(v[i]));
    still_hash64_update(h, "\n", 1);
  }
  free(v);
}

/* The cache key: the device and driver, the shaders, the model (job->model_key) and the
 * prompt batch it times, the settings of the environment, and the defaults (with the
 * paths the environment fixed). */
static uint64_t tune_key(const still_vk *vk, const still_vk_tune_job *job)
{
  still_hash64 h;
  still_hash64_init(&h);
  still_hash64_update(&h, "still-vk-tune 7", 15);
  still_hash64_update(&h, &vk->props.vendorID, 4);
  still_hash64_update(&h, &vk->props.deviceID, 4);
  still_hash64_update(&h, &vk->props.driverVersion, 4);
  still_hash64_update(&h, vk->props.pipelineCacheUUID, VK_UUID_SIZE);
  still_hash64_update(&h, vk->props.deviceName, strnlen(vk->props.deviceName, sizeof vk->props.deviceName));
  for (int i = 0; i < VK_SHADER_COUNT; i++)
    if (still_vk_shaders[i].code) still_hash64_update(&h, still_vk_shaders[i].code, still_vk_shaders[i].size);
  /* the job as still_vk_tune reads it, and what the device offers it */
  const uint64_t model[15] = {job->model_key,    job->n_prompt, job->dot_types, job->prompt_dot, job->k_quants,
                              job->small_blocks, job->types,    vk->int_dot,    vk->coopmat,    job->folds,
                              still_vk_attention_merge_fold_possible(vk), job->norms,
                              still_vk_norm_fold_possible(vk), job->attn_coop,
                              job->attn_coop ? job->deep_pos : 0 /* (the context's size, only where timed) */};
  still_hash64_update(&h, model, sizeof model);
  hash_settings(&h);
  const paths p = get_paths(vk);
  const uint32_t d[9] = {p.dot_types,  p.preround,   (uint32_t)p.matmul_mode, p.dot_rows, p.rows_wide,
                         p.rows_small, p.fold,        p.norm,                   p.attn_coop};
  still_hash64_update(&h, d, sizeof d);
  return still_hash64_final(&h);
}

/* One line of the cache file into buf; false at the end. A line longer than
 * the buffer is read to its end and given back empty (no line of ours is). */
static bool read_line(FILE *f, char *buf, size_t cap)
{
  if (!fgets(buf, (int)cap, f)) return false;
  if (!strchr(buf, '\n') && !feof(f)) {
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {}
    buf[0] = '\0';
  }
  return true;
}

/* A cache line: "<16 hex> <dot_types> <preround> <matmul_mode> <dot_rows> <rows_wide>
 * <rows_small> <fold> <norm> <attn_coop> <what it says>". */
static bool parse_line(const char *line, uint64_t *key, paths *p, const char **said)
{
  unsigned long long k;
  unsigned types, pre, dr, rw, rs, fold, norm, coop;
  int mode, at = 0;
  if (sscanf(line, "%16llx %u %u %d %u %u %u %u %u %u %n", &k, &types, &pre, &mode, &dr, &rw, &rs, &fold, &norm,
             &coop, &at) < 10 ||
      at == 0)
    return false;
  if (types >> STILL_VK_DOT_BITS || pre > 2 || mode < 0 || mode > 4 || !rows_ok(dr) || !rows_ok(rw) ||
      !rows_ok(rs) || fold > 2 || norm > 1 || coop > 2)
    return false;
  *key = (uint64_t)k;
  *p = (paths){.dot_types = types, .preround = pre, .matmul_mode = mode, .dot_rows = dr, .rows_wide = rw,
               .rows_small = rs, .fold = fold, .norm = norm, .attn_coop = coop};
  *said = line + at;
  return true;
}

static bool cache_find(const char *path, uint64_t key, paths *p, char *said, size_t cap)
{
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char line[TUNE_LINE];
  bool found = false;
  while (!found && read_line(f, line, sizeof line)) {
    uint64_t k;
    const char *s;
    if (!parse_line(line, &k, p, &s) || k != key) continue;
    snprintf(said, cap, "%s", s);
    said[strcspn(said, "\n")] = '\0';
    found = true;
  }
  fclose(f);
  return found;
}

/* Replaces this key's line (or adds it), keeping the newest TUNE_MAX_LINES well-formed lines. */
static bool cache_store(const char *path, uint64_t key, const paths *p, const char *said)
{
  char *lines[TUNE_MAX_LINES];
  int n = 0;
  FILE *f = fopen(path, "r");
  char line[TUNE_LINE];
  while (f && read_line(f, line, sizeof line)) {
    uint64_t k;
    paths q;
    const char *s;
    if (!strchr(line, '\n') || !parse_line(line, &k, &q, &s) || k == key) continue;
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
  char mine[TUNE_LINE];
  int w = snprintf(mine, sizeof mine, "%016llx %u %u %d %u %u %u %u %u %u %.900s\n", (unsigned long long)key,
                   p->dot_types, p->preround, p->matmul_mode, p->dot_rows, p->rows_wide, p->rows_small, p->fold,
                   p->norm, p->attn_coop, said);
  if (w < 0 || (size_t)w >= sizeof mine) w = 0;
  char *all = malloc(len + (size_t)w + 1);
  bool ok = all && w > 0;
  if (ok) {
    size_t at = 0;
    for (int i = 0; i < n; i++) {
      const size_t l = strlen(lines[i]);
      memcpy(all + at, lines[i], l);
      at += l;
    }
    memcpy(all + at, mine, (size_t)w);
    ok = still_vk_write_file_atomic(path, all, at + (size_t)w);
  }
  free(all);
  for (int i = 0; i < n; i++) free(lines[i]);
  return ok;
}

/* ---- the choices this process could not save (no cache folder, or not writable): kept
 * here, so that a process measures each once (the out-of-memory search of graph.c opens
 * the device once per layer count it tries) ---- */

static pthread_mutex_t tune_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
  uint64_t key;
  paths p;
  char said[480];
} memo[MEMO_SLOTS];
static int memo_n, memo_next;

static bool memo_find(uint64_t key, paths *p, char *said, size_t cap)
{
  for (int i = 0; i < memo_n; i++)
    if (memo[i].key == key) {
      *p = memo[i].p;
      snprintf(said, cap, "%s", memo[i].said);
      return true;
    }
  return false;
}

static void memo_drop(uint64_t key)
{
  for (int i = 0; i < memo_n; i++)
    if (memo[i].key == key) memo[i].key ^= ~(uint64_t)0; /* (no key of a real line: a hash of another one) */
}

static void memo_store(uint64_t key, const paths *p, const char *said)
{
  int slot = memo_next;
  for (int i = 0; i < memo_n; i++)
    if (memo[i].key == key) slot = i;
  if (slot == memo_next) {
    memo_next = (memo_next + 1) % MEMO_SLOTS;
    if (memo_n < MEMO_SLOTS) memo_n++;
  }
  memo[slot].key = key;
  memo[slot].p = *p;
  snprintf(memo[slot].said, sizeof memo[slot].said, "%s", said);
}

/* ---- the search ---- */

typedef struct {
  still_vk *vk;
  const still_vk_tune_job *job;
  double spent, budget; /* seconds of timed runs so far, and the most */
  int runs;              /* every run, the pipeline-building ones too */
  bool verbose, out_of_time;
  uint32_t present;
  char failed[200]; /* the first candidate that failed, and why */
} tuner;

/* What a run times: a decode token, a prompt batch at the start of the context, or one deep
 * in it (at job->deep_pos: the prompt's attention over that many keys) */
enum { RUN_DECODE, RUN_PROMPT, RUN_DEEP };
static const char *const run_names[3] = {"decode", "prompt", "prompt deep"};

static still_status run_once(tuner *t, const paths *p, int kind, bool timed, double *s, still_error *err)
{
  set_paths(t->vk, p);
  *s = INFINITY;
  still_status st = t->job->run(t->job->ctx, kind != RUN_DECODE, kind == RUN_DEEP ? t->job->deep_pos : 0, s, err);
  t->runs++;
  if (st == STILL_OK && timed) t->spent += *s;
  return st;
}

/* Runs the defaults once to build their pipelines, then until the device's clocks are up:
 * at least 2 runs and WARM_SECONDS of them, at most WARM_MAX_RUNS. */
static still_status warm_up(tuner *t, const paths *p, int kind, still_error *err)
{
  double s, sum = 0;
  still_status st = run_once(t, p, kind, false, &s, err);
  for (int i = 0; st == STILL_OK && i < WARM_MAX_RUNS && (i < 2 || sum < WARM_SECONDS); i++) {
    st = run_once(t, p, kind, false, &s, err);
    sum += s;
  }
  return st;
}

/* The incumbent *cur (best so far) against cand, run in turn after cand's pipelines are
 * built; cand replaces it when at least TUNE_MARGIN faster. *t_cur: the incumbent's best
 * time here (or cand's when it won); *t_inc_here: the incumbent's. A candidate that fails is
 * left out (named in t->failed) after the incumbent is seen to work still; the error is
 * returned only when the incumbent fails. */
static still_status compare(tuner *t, paths *cur, const paths *cand, int kind, double *t_cur, double *t_inc_here,
                            still_error *err)
{
  *t_inc_here = INFINITY;
  if (t->out_of_time) return STILL_OK;
  double s, best_i = INFINITY, best_c = INFINITY;
  still_error cerr = {0};
  still_status cst = run_once(t, cand, kind, false, &s, &cerr);
  /* in turn, each side first every other time */
  for (int r = 0; r < 2 * (kind != RUN_DECODE ? PROMPT_REPS : DECODE_REPS) && cst == STILL_OK; r++) {
    if ((r & 1) == (r >> 1 & 1)) {
      still_status st = run_once(t, cur, kind, true, &s, err);
      if (st != STILL_OK) return st;
      if (s < best_i) best_i = s;
    } else {
      cst = run_once(t, cand, kind, true, &s, &cerr);
      if (cst == STILL_OK && s < best_c) best_c = s;
    }
  }
  char dc[256], di[256];
  describe(cand, t->present, t->job->attn_coop, dc, sizeof dc);
  describe(cur, t->present, t->job->attn_coop, di, sizeof di);
  if (cst != STILL_OK) {
    if (!t->failed[0]) snprintf(t->failed, sizeof t->failed, "%.90s failed: %.90s", dc, cerr.message);
    if (t->verbose) fprintf(stderr, "still: tune %s: %s: failed: %s\n", run_names[kind], dc, cerr.message);
    /* the device must still run the incumbent */
    still_status st = run_once(t, cur, kind, false, &s, err);
    if (st != STILL_OK) return st;
    set_paths(t->vk, cur);
    return STILL_OK;
  }
  if (t->verbose)
    fprintf(stderr, "still: tune %s: %s: %.3f ms against %.3f ms (%s)\n", run_names[kind], dc, best_c * 1e3,
            best_i * 1e3, di);
  *t_inc_here = best_i;
  if (best_c < best_i * (1 - TUNE_MARGIN)) *cur = *cand, *t_cur = best_c;
  else *t_cur = best_i;
  set_paths(t->vk, cur);
  if (t->spent > t->budget) t->out_of_time = true;
  return STILL_OK;
}

/* A device check's verdict on an op (what: "the merge in the attention", "the norms in the
 * products", "the attention on the tensor cores", "the attention's scores on the tensor cores"):
 * where it failed, named in t->failed (the first such) and said when verbose. */
static bool verdict(tuner *t, bool passed, const char *what, const char *why)
{
  if (passed) return true;
  if (!t->failed[0]) snprintf(t->failed, sizeof t->failed, "%s: %.120s", what, why);
  if (t->verbose) fprintf(stderr, "still: tune: %s: %s\n", what, why);
  return false;
}

/* Whether an op checked on the device may be a candidate here: the device has what it needs
 * (possible) and its device check passes on it. */
static bool checked(tuner *t, bool possible, bool (*check)(still_vk *, char *, size_t), const char *what)
{
  if (!possible) return false;
  char why[160];
  return verdict(t, check(t->vk, why, sizeof why), what, why);
}

static bool merge_checked(tuner *t)
{
  return checked(t, still_vk_attention_merge_fold_possible(t->vk), still_vk_attention_merge_check,
                 "the merge in the attention");
}

static bool norm_checked(tuner *t)
{
  return checked(t, still_vk_norm_fold_possible(t->vk), still_vk_norm_fold_check, "the norms in the products");
}

static bool coop_checked(tuner *t, uint32_t design)
{
  /* (asked where job->attn_coop, which the device's tensor cores are part of; the check says
   * where they are missing) */
  char why[160];
  return verdict(t, still_vk_attention_coop_check(t->vk, design, why, sizeof why),
                 design == 1 ? "the attention on the tensor cores" : "the attention's scores on the tensor cores",
                 why);
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

bool still_vk_tune_may_take_matmul_dot(const still_vk *vk, uint32_t n_prompt)
{
  return !why_not(vk) && vk->int_dot && vk->matmul_mode == 0 && !still_env_set("STILL_VK_MATMUL") &&
         n_prompt >= vk->matmul_min_vecs;
}

/* "decode 4.71 ms (defaults 5.02), " from the paired runs of the choice and the defaults,
 * "decode 5.02 ms (the defaults), " where the choice is the defaults; empty, untimed. */
static void said_time(char *buf, size_t cap, const char *what, double chosen, double defaults, bool same)
{
  buf[0] = '\0';
  if (!isfinite(chosen)) return;
  if (same || !isfinite(defaults)) snprintf(buf, cap, "%s %.2f ms (the defaults), ", what, chosen * 1e3);
  else snprintf(buf, cap, "%s %.2f ms (defaults %.2f), ", what, chosen * 1e3, defaults * 1e3);
}

/* The choices the environment sets (not tuned). */
typedef struct {
  bool types, pre, matmul, dot_rows, rows, fold, norm, attn;
} fixed_paths;

static fixed_paths env_fixed(void)
{
  return (fixed_paths){.types = still_env_set("STILL_VK_DOT_TYPES"), .pre = still_env_set("STILL_VK_DOT_PREROUND"),
                       .matmul = still_env_set("STILL_VK_MATMUL"), .dot_rows = still_env_set("STILL_VK_DOT_ROWS"),
                       .rows = still_env_set("STILL_VK_MATVEC_ROWS"), .fold = still_env_set("STILL_VK_ATTN_FOLD"),
                       .norm = still_env_set("STILL_VK_NORM_FOLD"), .attn = still_env_set("STILL_VK_ATTN_COOP")};
}

static still_status search(still_vk *vk, const still_vk_tune_job *job, const paths *def, const fixed_paths *fixed,
                           uint32_t present, bool decode, const int *modes, int n_modes, bool deep, char *said,
                           size_t cap, paths *out, still_error *err)
{
  const char *budget_env = getenv("STILL_VK_TUNE_SECONDS"), *verbose_env = getenv("STILL_VK_TUNE_VERBOSE");
  tuner t = {.vk = vk, .job = job, .budget = 6, .present = present,
             .verbose = verbose_env && *verbose_env && strcmp(verbose_env, "0") != 0};
  if (budget_env && *budget_env && atof(budget_env) > 0) t.budget = atof(budget_env);
  const double t0 = still_time_s();
  paths cur = *def;
  double t_dec = INFINITY, t_dec_def = INFINITY, t_prompt = INFINITY, t_prompt_def = INFINITY, here = INFINITY;
  double t_deep = INFINITY, t_deep_def = INFINITY;
  still_status st = STILL_OK;
  if (decode) {
    st = warm_up(&t, &cur, RUN_DECODE, err);
    /* 1. each type's path, one at a time */
    for (int i = 0; i < STILL_VK_DOT_BITS && st == STILL_OK && !fixed->types; i++) {
      if (!(present >> i & 1u)) continue;
      paths cand = cur;
      cand.dot_types ^= 1u << i;
      st = compare(&t, &cur, &cand, RUN_DECODE, &t_dec, &here, err);
      if (!isfinite(t_dec_def)) t_dec_def = here;
    }
    /* 2. the rounding beforehand, where a type of the model takes the dot path */
    for (uint32_t pre = 0; pre <= 2 && st == STILL_OK && !fixed->pre && (cur.dot_types & present); pre++) {
      if (pre == cur.preround) continue;
      paths cand = cur;
      cand.preround = pre;
      st = compare(&t, &cur, &cand, RUN_DECODE, &t_dec, &here, err);
      if (!isfinite(t_dec_def)) t_dec_def = here;
    }
    /* 3. rows per team: of the dot shaders where a type takes them, then of matvec_team.comp
     * for each kind of rows (Q8_0 and Q6_K, the others) the model decodes in float */
    static const uint32_t row_choices[3] = {4, 2, 1};
    for (int i = 0; i < 3 && st == STILL_OK && !fixed->dot_rows && (cur.dot_types & present); i++) {
      if (row_choices[i] == cur.dot_rows) continue;
      paths cand = cur;
      cand.dot_rows = row_choices[i];
      st = compare(&t, &cur, &cand, RUN_DECODE, &t_dec, &here, err);
      if (!isfinite(t_dec_def)) t_dec_def = here;
    }
    for (int kind = 0; kind < 2 && !fixed->rows; kind++)
      for (int i = 0; i < 3 && st == STILL_OK && (float_rows_used(job->types, &cur, present) >> kind & 1u); i++) {
        paths cand = cur;
        uint32_t *r = kind == 0 ? &cand.rows_wide : &cand.rows_small;
        if (row_choices[i] == *r) continue;
        *r = row_choices[i];
        st = compare(&t, &cur, &cand, RUN_DECODE, &t_dec, &here, err);
        if (!isfinite(t_dec_def)) t_dec_def = here;
      }
    /* 4. rope and the KV store inside the attention or in a dispatch of their own, and the
     * merge inside it too where this device gives it the merge's results */
    const uint32_t fold0 = cur.fold; /* (each other choice is compared once, with the best so far) */
    for (uint32_t fold = 0; fold <= 2 && st == STILL_OK && job->folds && !fixed->fold; fold++) {
      if (fold == fold0 || fold == cur.fold || (fold == 2 && !merge_checked(&t))) continue;
      paths cand = cur;
      cand.fold = fold;
      st = compare(&t, &cur, &cand, RUN_DECODE, &t_dec, &here, err);
      if (!isfinite(t_dec_def)) t_dec_def = here;
    }
    /* 5. the residual adds and norms in the last workgroup of the products before them, where
     * this device gives them the two dispatches' results */
    if (st == STILL_OK && job->norms && !fixed->norm && norm_checked(&t)) {
      paths cand = cur;
      cand.norm = !cur.norm;
      st = compare(&t, &cur, &cand, RUN_DECODE, &t_dec, &here, err);
      if (!isfinite(t_dec_def)) t_dec_def = here;
    }
    /* the choice against the defaults once more, in turn: each step won against the one before,
     * together they must still win against where they started (else the defaults) */
    paths start = *def;
    start.matmul_mode = cur.matmul_mode;
    if (st == STILL_OK && !t.out_of_time && !same_decode(&start, &cur)) {
      paths cand = cur;
      cur = start;
      st = compare(&t, &cur, &cand, RUN_DECODE, &t_dec, &t_dec_def, err);
    }
  }
  /* 6. prompt batches */
  if (n_modes && st == STILL_OK && !t.out_of_time) {
    double s;
    st = run_once(&t, &cur, RUN_PROMPT, false, &s, err); /* its pipelines, and the clocks up */
    for (int i = 0; i < n_modes && st == STILL_OK; i++) {
      paths cand = cur;
      cand.matmul_mode = modes[i];
      st = compare(&t, &cur, &cand, RUN_PROMPT, &t_prompt, &here, err);
      if (!isfinite(t_prompt_def)) t_prompt_def = here;
    }
    if (st == STILL_OK && !t.out_of_time && cur.matmul_mode != def->matmul_mode && n_modes > 1) {
      paths cand = cur;
      cur.matmul_mode = def->matmul_mode;
      st = compare(&t, &cur, &cand, RUN_PROMPT, &t_prompt, &t_prompt_def, err);
    }
  }
  /* 7. the prompt's attention in float32, on the tensor cores (design 1) or only its scores on
   * them (2), each design after its device check; timed on a batch deep in the context (the
   * keys before it are what they differ in) */
  int n_deep = 0; /* designs compared */
  const uint32_t coop0 = cur.attn_coop; /* (each other choice is compared once, with the best so far) */
  for (uint32_t design = 0; design <= 2 && deep && st == STILL_OK && !t.out_of_time; design++) {
    if (design == coop0 || design == cur.attn_coop || (design && !coop_checked(&t, design))) continue;
    if (n_deep == 0) {
      double s;
      /* its pipelines (and, where nothing ran before it, the device's clocks up) */
      st = decode || n_modes ? run_once(&t, &cur, RUN_DEEP, false, &s, err) : warm_up(&t, &cur, RUN_DEEP, err);
      if (st != STILL_OK) break;
    }
    paths cand = cur;
    cand.attn_coop = design;
    st = compare(&t, &cur, &cand, RUN_DEEP, &t_deep, &here, err);
    if (!isfinite(t_deep_def)) t_deep_def = here;
    n_deep++;
  }
  /* the choice reached through two comparisons against the defaults once more, in turn */
  if (n_deep > 1 && st == STILL_OK && !t.out_of_time && cur.attn_coop != def->attn_coop) {
    paths cand = cur;
    cur.attn_coop = def->attn_coop;
    st = compare(&t, &cur, &cand, RUN_DEEP, &t_deep, &t_deep_def, err);
  }
  if (st != STILL_OK) return st;
  if (t.verbose) { /* what the search cost this load */
    fprintf(stderr, "still: tune: %d runs, %.2f s timed, %.2f s in all\n", t.runs, t.spent, still_time_s() - t0);
  }
  *out = cur;
  char dec_ms[64], prompt_ms[64], deep_ms[80], deep_what[48], failed[160] = "";
  said_time(dec_ms, sizeof dec_ms, "decode", t_dec, t_dec_def, same_decode(&cur, def));
  said_time(prompt_ms, sizeof prompt_ms, "prompt batch", t_prompt, t_prompt_def, cur.matmul_mode == def->matmul_mode);
  snprintf(deep_what, sizeof deep_what, "prompt batch at %u", job->deep_pos);
  said_time(deep_ms, sizeof deep_ms, deep_what, t_deep, t_deep_def, cur.attn_coop == def->attn_coop);
  /* (bounded: 63 + 63 + 79 + 152 + 27 + 3 + 80 characters fit the 480 of the caller's) */
  if (t.failed[0]) snprintf(failed, sizeof failed, "%.150s, ", t.failed);
  snprintf(said, cap, "%s%s%s%s%son %.80s", dec_ms, prompt_ms, deep_ms, failed,
           t.out_of_time ? "stopped at the time limit, " : "", vk->props.deviceName);
  /* the candidates' dispatches are not the session's (STILL_VK_PROFILE) */
  still_vk_profile_reset(vk);
  return STILL_OK;
}

still_status still_vk_tune(still_vk *vk, const still_vk_tune_job *job, char *summary, size_t cap, still_error *err)
{
  const char *mode = tune_mode(), *mode_env = getenv("STILL_VK_TUNE");
  if (!mode && mode_env && *mode_env) fprintf(stderr, "still: STILL_VK_TUNE=%s ignored (0, 1 or again)\n", mode_env);
  const paths def = get_paths(vk);
  const uint32_t present = vk->int_dot ? job->dot_types : 0;
  char d[256];
  describe(&def, present, job->attn_coop, d, sizeof d);
  const fixed_paths fixed = env_fixed();
  /* what there is to choose: the decode paths where a type of the model has a dot shader, and
   * the prompt shaders that differ from the defaults for its types (matmul_team_shader,
   * matmul_coop_shader, matmul_dot_shader in vk-ops.c): with tensor cores only the dot
   * products; else matmul_team.comp for the K-quants (=team), matmul.comp for the other
   * blocks (=generic), and matmul_wide.comp for both (=wide) */
  const bool on_dot = (def.dot_types & present) != 0;
  const bool decode = (present && !fixed.types) || (on_dot && (!fixed.pre || !fixed.dot_rows)) ||
                      (!fixed.rows && float_rows_used(job->types, &def, present)) || (job->folds && !fixed.fold) ||
                      (job->norms && !fixed.norm);
  /* the prompt's attention: on the tensor cores or not, where it can be and a batch fits deep in
   * the context */
  const bool deep = job->attn_coop && job->deep_pos > 0 && !fixed.attn;
  int modes[4], n_modes = 0;
  if (job->n_prompt >= vk->matmul_min_vecs && !fixed.matmul && def.matmul_mode == 0) {
    if (!vk->coopmat && job->k_quants) modes[n_modes++] = 2;
    if (!vk->coopmat && job->small_blocks) modes[n_modes++] = 1;
    if (!vk->coopmat && (job->k_quants || job->small_blocks) && still_vk_matmul_wide_possible(vk))
      modes[n_modes++] = 4;
    if (present && job->prompt_dot) modes[n_modes++] = 3;
  }
  const char *why = why_not(vk);
  if (!why && !decode && !n_modes && !deep)
    why = fixed.types && fixed.pre && fixed.matmul && fixed.dot_rows && fixed.rows && (fixed.fold || !job->folds) &&
              (fixed.norm || !job->norms) && (fixed.attn || !job->attn_coop)
            ? "all set in the environment"
            : "no other path for this model";
  if (why) {
    snprintf(summary, cap, "defaults (%s): %s", why, d);
    return STILL_OK;
  }

  char path[1024];
  const bool has_file = still_vk_cache_file(TUNE_FILE, path, sizeof path);
  const bool again = mode && strcmp(mode, "again") == 0;
  const uint64_t key = tune_key(vk, job);
  paths p;
  char said[480];
  pthread_mutex_lock(&tune_lock);
  still_status st = STILL_OK;
  if (!again && (memo_find(key, &p, said, sizeof said) || (has_file && cache_find(path, key, &p, said, sizeof said)))) {
    set_paths(vk, &p);
    describe(&p, present, job->attn_coop, d, sizeof d);
    snprintf(summary, cap, "cached: %s (%s)", d, said);
    pthread_mutex_unlock(&tune_lock);
    return STILL_OK;
  }
  if (job->on_step) job->on_step(STILL_STEP_GPU_TUNE, job->step_user); /* seconds of timed runs follow */
  if ((st = search(vk, job, &def, &fixed, present, decode, modes, n_modes, deep, said, sizeof said, &p, err)) !=
      STILL_OK) {
    set_paths(vk, &def); /* the defaults, and nothing kept */
  } else {
    set_paths(vk, &p);
    const bool saved = has_file && cache_store(path, key, &p, said);
    if (saved) memo_drop(key); /* (an older choice this process could not save) */
    else memo_store(key, &p, said);
    describe(&p, present, job->attn_coop, d, sizeof d);
    snprintf(summary, cap, "measured: %s (%s%s)", d, said,
             saved ? "" : has_file ? "; not saved: the cache file cannot be written" : "; not saved: no cache folder");
  }
  pthread_mutex_unlock(&tune_lock);
  return st;
}

#endif /* STILL_HAVE_VULKAN */
