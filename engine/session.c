/* session.c — one conversation: KV cache + compute buffers + thread pool,
 * prompt prefix reuse, the generation loop with streaming and cancel. */
#include "graph.h"
#include "kv-cache.h"
#include "model.h"
#include "sampler.h"
#include "types.h"
#include "util.h"
#include "vulkan/vk-forward.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CTX 4096
#define MAX_SESSION_CTX (1 << 24)

struct still_session {
  still_model *m;
  still_kv_cache kv;
  still_graph *g;
  atomic_bool cancel;
  float *logits; /* [n_vocab] of the last generated token */
  /* [n_vocab] of the last prompt evaluated, at position prompt_n - 1, kept while the cache still
   * holds that prompt (prompt_n = 0: none). The same prompt again then starts from them instead
   * of evaluating its last token once more: a token evaluated alone is within float rounding of
   * the same token in a batch (BLAS, cpu/blas.h), not always its bits, and a repeated request
   * should give the same answer at temperature 0. (The two buffers swap, nothing is copied.) */
  float *prompt_logits;
  int32_t prompt_n;
  int prompt_gpu_failures; /* still_graph_gpu_failures when they were computed */
};

still_session_params still_session_params_default(void)
{
  return (still_session_params){.n_ctx = 0, .n_threads = 0, .n_batch = 0, .kv_type = STILL_KV_F16};
}

still_sampling still_sampling_for_model(const still_model *m)
{
  const still_model_info *in = still_model_get_info(m);
  return in && in->is_r1 ? still_sampling_r1() : still_sampling_default();
}

still_status still_session_new(still_model *m, const still_session_params *p, still_session **out, still_error *err)
{
  if (out) *out = NULL;
  if (!m || !out) return still_set_error(err, STILL_ERR_INVALID_ARG, "no model given");
  still_session_params def = still_session_params_default();
  if (!p) p = &def;
  const still_hparams *hp = &m->hp;

  int32_t n_ctx = p->n_ctx > 0 ? p->n_ctx : (hp->n_ctx_train < DEFAULT_CTX ? hp->n_ctx_train : DEFAULT_CTX);
  if (n_ctx > MAX_SESSION_CTX)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "a context of %d tokens is too large (at most %d)", n_ctx,
                           MAX_SESSION_CTX);
  uint32_t kv_type;
  switch (p->kv_type) {
  case STILL_KV_F16: kv_type = STILL_TYPE_F16; break;
  case STILL_KV_F32: kv_type = STILL_TYPE_F32; break;
  case STILL_KV_Q8_0: kv_type = STILL_TYPE_Q8_0; break;
  default: return still_set_error(err, STILL_ERR_INVALID_ARG, "unknown KV cache type %d", (int)p->kv_type);
  }
  if (p->n_threads < 0 || p->n_threads > 1024)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "%d threads is not a usable thread count", p->n_threads);
  if (p->n_batch < 0) return still_set_error(err, STILL_ERR_INVALID_ARG, "the batch size cannot be negative");

  still_session *s = calloc(1, sizeof *s);
  if (!s) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  s->m = m;
  atomic_init(&s->cancel, false);
  still_status st = still_kv_cache_init(&s->kv, kv_type, hp->n_layer, n_ctx, hp->n_head_kv, hp->head_dim_k,
                                        hp->head_dim_v, err);
  if (st != STILL_OK) {
    free(s);
    return st;
  }
  st = still_graph_new(m, &s->kv, p->n_batch > 0 ? p->n_batch : 512, p->n_threads, &s->g, err);
  if (st == STILL_OK && p->n_gpu_layers != 0) {
    /* a GPU failure is not fatal: the graph falls back and says so in its offload line */
    still_error gpu_err = {0};
    (void)still_graph_set_gpu_split(s->g, p->n_gpu_layers, p->device, p->split, p->on_step, p->step_user, &gpu_err);
  }
  if (st == STILL_OK && (!(s->logits = malloc((size_t)hp->n_vocab * sizeof(float))) ||
                         !(s->prompt_logits = malloc((size_t)hp->n_vocab * sizeof(float)))))
    st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  if (st != STILL_OK) {
    still_session_free(s);
    return st;
  }
  *out = s;
  return STILL_OK;
}

const char *still_session_offload(const still_session *s)
{
  return s ? still_graph_offload(s->g) : "";
}

const char *still_session_gpu_tuning(const still_session *s)
{
  return s ? still_graph_gpu_tuning(s->g) : "";
}

void still_session_free(still_session *s)
{
  if (!s) return;
  still_graph_free(s->g);
  still_kv_cache_free(&s->kv);
  free(s->logits);
  free(s->prompt_logits);
  free(s);
}

uint64_t still_session_device_bytes(const still_session *s)
{
  return s ? still_graph_device_bytes(s->g, NULL) : 0;
}

uint64_t still_session_peak_device_bytes(const still_session *s)
{
  uint64_t peak = 0;
  if (s) still_graph_device_bytes(s->g, &peak);
  return peak;
}

int32_t still_session_n_ctx(const still_session *s)
{
  return s ? s->kv.n_ctx : 0;
}

int32_t still_session_n_past(const still_session *s)
{
  return s ? s->kv.n_past : 0;
}

void still_session_reset(still_session *s)
{
  if (!s) return;
  s->kv.n_past = 0;
  s->prompt_n = 0;
}

void still_session_cancel(still_session *s)
{
  if (s) atomic_store(&s->cancel, true);
}

/* Keep the longest common prefix of the cached ids and the prompt, but
 * evaluate at least the last prompt token (its logits are needed) unless
 * they are kept from the same prompt before. Returns how many prompt tokens
 * are reused (n: all, their logits kept in s->prompt_logits). */
static int32_t reuse_prefix(still_session *s, const int32_t *ids, int32_t n)
{
  int32_t common = 0;
  while (common < s->kv.n_past && common < n && s->kv.tokens[common] == ids[common]) common++;
  /* a GPU failure since re-read the cache on the CPU: its values are no longer those the kept
   * logits came from */
  if (s->prompt_gpu_failures != still_graph_gpu_failures(s->g)) s->prompt_n = 0;
  if (common >= n && s->prompt_n == n) {
    s->kv.n_past = n;
    return n;
  }
  if (common >= n) common = n - 1;
  s->kv.n_past = common;
  if (s->prompt_n > common) s->prompt_n = 0; /* that prompt is no longer whole in the cache */
  return common;
}

/* s->prompt_logits now hold the logits of the prompt's last position, n tokens in the cache. */
static void keep_prompt_logits(still_session *s, int32_t n)
{
  s->prompt_n = n;
  s->prompt_gpu_failures = still_graph_gpu_failures(s->g);
}

static still_status check_prompt(still_session *s, const int32_t *ids, size_t n, still_error *err)
{
  if (!ids || n == 0) return still_set_error(err, STILL_ERR_INVALID_ARG, "the prompt is empty");
  if (n > (size_t)s->kv.n_ctx)
    return still_set_error(err, STILL_ERR_CONTEXT_FULL,
                           "the prompt has %zu tokens but the context window holds only %d", n, s->kv.n_ctx);
  return STILL_OK;
}

/* Evaluate the prompt (after prefix reuse): its last logits end up in s->prompt_logits. */
static still_status eval_prompt(still_session *s, const int32_t *ids, int32_t n, still_stats *st, still_error *err)
{
  double t0 = still_time_s();
  int32_t keep = reuse_prefix(s, ids, n);
  st->prompt_cached = keep;
  st->prompt_tokens = n - keep;
  still_status rc = STILL_OK;
  if (keep < n) {
    s->prompt_n = 0;
    rc = still_graph_eval(s->g, ids + keep, n - keep, false, s->logits, &s->cancel, err);
    if (rc == STILL_OK) {
      float *t = s->prompt_logits;
      s->prompt_logits = s->logits;
      s->logits = t;
      keep_prompt_logits(s, n);
    }
  }
  st->prompt_s = still_time_s() - t0;
  st->n_past = s->kv.n_past;
  if (rc != STILL_OK) st->prompt_tokens = s->kv.n_past > keep ? s->kv.n_past - keep : 0; /* those read */
  return rc;
}

still_status still_session_logits(still_session *s, const int32_t *ids, size_t n, bool all_positions, float *out,
                                  still_stats *stats, still_error *err)
{
  still_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  if (!s || !out) return still_set_error(err, STILL_ERR_INVALID_ARG, "no session or output buffer given");
  atomic_store(&s->cancel, false);
  still_status rc = check_prompt(s, ids, n, err);
  if (rc != STILL_OK) return rc;
  if (all_positions) {
    double t0 = still_time_s();
    s->kv.n_past = 0;
    s->prompt_n = 0;
    rc = still_graph_eval(s->g, ids, (int32_t)n, true, out, &s->cancel, err);
    if (rc == STILL_OK) {
      memcpy(s->prompt_logits, out + (n - 1) * (size_t)s->m->hp.n_vocab, (size_t)s->m->hp.n_vocab * sizeof(float));
      keep_prompt_logits(s, (int32_t)n);
    }
    stats->prompt_tokens = (int32_t)n;
    stats->prompt_s = still_time_s() - t0;
    stats->n_past = s->kv.n_past;
  } else {
    rc = eval_prompt(s, ids, (int32_t)n, stats, err);
    if (rc == STILL_OK) memcpy(out, s->prompt_logits, (size_t)s->m->hp.n_vocab * sizeof(float));
  }
  stats->stop = rc == STILL_OK ? STILL_STOP_NONE : rc == STILL_ERR_CANCELLED ? STILL_STOP_CANCELLED : STILL_STOP_ERROR;
  return rc;
}

still_status still_session_generate(still_session *s, const int32_t *prompt, size_t n, const still_sampling *sp,
                                    still_token_fn on_token, void *user, still_stats *stats, still_error *err)
{
  still_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  if (!s) return still_set_error(err, STILL_ERR_INVALID_ARG, "no session given");
  atomic_store(&s->cancel, false);
  const double t_start = still_time_s();
  still_sampling greedy = still_sampling_greedy();
  if (!sp) sp = &greedy;
  still_status rc = check_prompt(s, prompt, n, err);
  if (rc != STILL_OK) {
    stats->stop = STILL_STOP_CONTEXT_FULL;
    return rc;
  }

  const still_model *m = s->m;
  still_sampler *smp = still_sampler_new(sp, m->hp.n_vocab);
  still_detok *dt = m->vocab ? still_detok_new(m->vocab, false) : NULL;
  if (!smp || (m->vocab && !dt)) {
    still_sampler_free(smp);
    if (dt) still_detok_free(dt);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  }
  size_t hist0 = sp->repeat_last_n > 0 && n > (size_t)sp->repeat_last_n ? n - (size_t)sp->repeat_last_n : 0;
  for (size_t i = hist0; i < n; i++) still_sampler_accept(smp, prompt[i]);

  rc = eval_prompt(s, prompt, (int32_t)n, stats, err);
  const double t_gen = still_time_s();
  stats->stop = STILL_STOP_NONE;
  const float *lg = s->prompt_logits; /* then those of each generated token */
  while (rc == STILL_OK) {
    int32_t tok = still_sampler_sample(smp, lg);
    if (!sp->ignore_eog && still_token_is_eog(m, tok)) {
      stats->stop = STILL_STOP_EOG;
      break;
    }
    still_sampler_accept(smp, tok);
    size_t len = 0;
    const char *text = dt ? still_detok_push(dt, tok, &len) : NULL;
    if (stats->gen_tokens == 0) stats->ttft_s = still_time_s() - t_start;
    stats->gen_tokens++;
    if (on_token && !on_token(tok, text, len, user)) {
      stats->stop = STILL_STOP_CALLBACK;
      break;
    }
    if (sp->max_tokens > 0 && stats->gen_tokens >= sp->max_tokens) {
      stats->stop = STILL_STOP_MAX_TOKENS;
      break;
    }
    if (atomic_load(&s->cancel)) {
      rc = still_set_error(err, STILL_ERR_CANCELLED, "cancelled");
      break;
    }
    if (s->kv.n_past >= s->kv.n_ctx) {
      rc = still_set_error(err, STILL_ERR_CONTEXT_FULL,
                           "the context window (%d tokens) is full after %d generated tokens", s->kv.n_ctx,
                           stats->gen_tokens);
      break;
    }
    rc = still_graph_eval(s->g, &tok, 1, false, s->logits, &s->cancel, err);
    lg = s->logits;
    if (rc == STILL_OK) stats->gen_evals++;
  }
  /* a character cut in the middle by the stop: flush it (as U+FFFD) */
  if (dt && stats->gen_tokens > 0) {
    size_t len = 0;
    const char *rest = still_detok_flush(dt, &len);
    if (len > 0 && on_token) on_token(-1, rest, len, user);
  }
  stats->gen_s = still_time_s() - t_gen;
  stats->n_past = s->kv.n_past;
  if (rc == STILL_ERR_CANCELLED) stats->stop = STILL_STOP_CANCELLED;
  else if (rc == STILL_ERR_CONTEXT_FULL) stats->stop = STILL_STOP_CONTEXT_FULL;
  else if (rc != STILL_OK) stats->stop = STILL_STOP_ERROR;
  still_sampler_free(smp);
  if (dt) still_detok_free(dt);
  return rc;
}

/* ---- saved prefixes ---------------------------------------------------------- */

const int32_t *still_session_tokens(const still_session *s)
{
  return s && s->kv.n_past > 0 ? s->kv.tokens : NULL;
}

/* Hash up to 32 bytes at the start, the middle and the end of a tensor's
 * data: cheap (a few pages per tensor of the mmap'd file) and different for
 * any two fine-tunes, which share shapes, types and offsets. */
static void hash_tensor_samples(still_hash64 *hs, const gguf_tensor *t)
{
  if (!t->data || t->size == 0) return;
  const unsigned char *d = t->data;
  const size_t size = (size_t)t->size, take = size < 32 ? size : 32, mid = size / 2;
  still_hash64_update(hs, d, take);
  still_hash64_update(hs, d + (mid >= take / 2 ? mid - take / 2 : 0), take / 2);
  still_hash64_update(hs, d + size - take, take);
}

/* What the cached keys and values depend on, besides the tokens. */
static void model_identity(const still_session *s, still_kv_model_id *id)
{
  const still_model *m = s->m;
  const still_hparams *hp = &m->hp;
  memset(id, 0, sizeof *id);
  snprintf(id->arch, sizeof id->arch, "%s", m->arch && m->arch->name ? m->arch->name : "");
  id->n_layer = (uint32_t)hp->n_layer;
  id->n_embd = (uint32_t)hp->n_embd;
  id->n_head = (uint32_t)hp->n_head;
  id->n_head_kv = (uint32_t)hp->n_head_kv;
  id->head_dim_k = (uint32_t)hp->head_dim_k;
  id->head_dim_v = (uint32_t)hp->head_dim_v;
  id->n_vocab = (uint32_t)hp->n_vocab;
  /* graph.c applies YaRN only when the context exceeds the original one */
  id->rope_mode = hp->rope_scaling == STILL_ROPE_SCALING_YARN && s->kv.n_ctx > hp->rope_orig_ctx ? 1 : 0;
  id->file_size = m->file ? gguf_file_size(m->file) : 0;

  still_hash64 hs;
  still_hash64_init(&hs);
  const float fp[4] = {hp->rms_eps, hp->rope_base, hp->rope_factor, (float)hp->n_rot};
  still_hash64_update(&hs, fp, sizeof fp);
  uint64_t nt = m->file ? gguf_n_tensors(m->file) : 0;
  for (uint64_t i = 0; i < nt; i++) {
    const gguf_tensor *t = gguf_tensor_at(m->file, i);
    still_hash64_update(&hs, t->name.ptr, (size_t)t->name.len);
    const uint64_t info[4] = {t->type, t->offset, t->size, (uint64_t)t->shard};
    still_hash64_update(&hs, info, sizeof info);
    still_hash64_update(&hs, t->ne, sizeof t->ne);
    hash_tensor_samples(&hs, t);
  }
  id->hash = still_hash64_final(&hs);
}

/* Layers on a GPU keep their keys and values on the device (vk-forward.c).
 * The CPU cache has slots for every layer, so a save first copies the GPU
 * layers' rows [0, n_past) into their slots, converted from the device
 * cache type to the session's (the same type, but V is transposed on the
 * CPU for F32/F16), and a load copies them back: the file is the one a
 * CPU-only session writes, whichever device held a layer, and loads either
 * way. Positions go in chunks of 256 to bound the host buffers
 * (STILL_KV_SYNC_CHUNK=n: n, for tests of the chunking). */
static int32_t kv_sync_chunk(void)
{
  const char *env = getenv("STILL_KV_SYNC_CHUNK");
  const long n = env ? strtol(env, NULL, 10) : 0;
  return n > 0 && n <= 4096 ? (int32_t)n : 256;
}

static still_status gpu_kv_copy(still_session *s, bool to_device, still_error *err)
{
  struct still_vk_forward *f = still_graph_gpu(s->g);
  still_kv_cache *kv = &s->kv;
  const int32_t n = kv->n_past;
  if (!f || n == 0) return STILL_OK;
  const uint32_t dt = still_vk_forward_kv_type(f);
  const still_type_traits *dtr = still_type_get(dt), *ctr = still_type_get(kv->type);
  const size_t kr = still_vk_forward_kv_row_bytes(f, false), vr = still_vk_forward_kv_row_bytes(f, true);
  const int64_t nk = (int64_t)kv->n_head_kv * kv->head_dim_k, nv = (int64_t)kv->n_head_kv * kv->head_dim_v;
  /* the same bytes on both sides: rows copy as they are */
  const bool direct = dt == kv->type && !kv->v_trans && kr == kv->k_pos_bytes && vr == kv->v_pos_bytes;
  const int32_t max_chunk = kv_sync_chunk(), chunk = n < max_chunk ? n : max_chunk;
  if (!dtr || !ctr || kr == 0 || vr == 0)
    return still_set_error(err, STILL_ERR_BACKEND, "the GPU's KV cache type %u cannot be converted", dt);
  char *kb = NULL, *vb = NULL;
  float *fk = NULL, *fv = NULL;
  if (!direct && (!(kb = malloc((size_t)chunk * kr)) || !(vb = malloc((size_t)chunk * vr)) ||
                  !(fk = malloc((size_t)chunk * (size_t)nk * sizeof *fk)) ||
                  !(fv = malloc((size_t)chunk * (size_t)nv * sizeof *fv)))) {
    free(kb), free(vb), free(fk), free(fv);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  }
  still_status st = STILL_OK;
  for (int il = still_vk_forward_first_layer(f); il < kv->n_layer && st == STILL_OK; il++)
    for (int32_t p0 = 0; p0 < n && st == STILL_OK; p0 += chunk) {
      const int32_t c = n - p0 < chunk ? n - p0 : chunk;
      char *ck = (char *)kv->k[il] + (size_t)p0 * kv->k_pos_bytes, *cv = (char *)kv->v[il] + (size_t)p0 * kv->v_pos_bytes;
      if (direct) {
        st = to_device ? still_vk_forward_kv_write(f, il, p0, c, ck, cv, err)
                       : still_vk_forward_kv_read(f, il, p0, c, ck, cv, err);
        continue;
      }
      if (!to_device) {
        if ((st = still_vk_forward_kv_read(f, il, p0, c, kb, vb, err)) != STILL_OK) break;
        dtr->to_float(kb, fk, c * nk);
        dtr->to_float(vb, fv, c * nv);
        still_kv_cache_store(kv, il, p0, c, fk, fv); /* converts, and transposes V where the CPU does */
        continue;
      }
      /* to the device: the CPU rows as floats, then the device type */
      still_kv_cache_read(kv, il, p0, c, fk, fv);
      dtr->from_float(fk, kb, c * nk);
      dtr->from_float(fv, vb, c * nv);
      st = still_vk_forward_kv_write(f, il, p0, c, kb, vb, err);
    }
  free(kb), free(vb), free(fk), free(fv);
  return st;
}

still_status still_session_save_prefix(still_session *s, const char *path, still_error *err)
{
  if (!s || !path || !*path) return still_set_error(err, STILL_ERR_INVALID_ARG, "no session or file name given");
  still_status rc = gpu_kv_copy(s, false, err);
  if (rc != STILL_OK) return rc;
  still_kv_model_id id;
  model_identity(s, &id);
  return still_kv_cache_save(&s->kv, &id, path, err);
}

still_status still_session_load_prefix(still_session *s, const char *path, still_error *err)
{
  if (!s || !path || !*path) return still_set_error(err, STILL_ERR_INVALID_ARG, "no session or file name given");
  still_kv_model_id id;
  model_identity(s, &id);
  still_status rc = still_kv_cache_load(&s->kv, &id, path, err);
  if (rc == STILL_OK || s->kv.n_past == 0) s->prompt_n = 0; /* the cache holds other values now */
  /* a refused file leaves the cache (CPU and GPU rows) as it was */
  if (rc != STILL_OK) return rc;
  rc = gpu_kv_copy(s, true, err);
  if (rc != STILL_OK) s->kv.n_past = 0; /* the GPU layers do not hold the prefix: nothing is reusable */
  return rc;
}
