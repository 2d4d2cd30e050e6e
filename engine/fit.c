/* fit.c — "will it fit": memory and speed of a model on a machine, from the
 * GGUF header alone; and the catalog recommendation.
 *
 * ---- What memory a run needs -----------------------------------------------------
 * weights   exact bytes of every tensor from the tensor infos. Tensors named
 *           blk.N.* belong to layer N. token_embd stays on the CPU (each token
 *           reads one row, as in llama.cpp); output.weight + output_norm (and
 *           any other tensor outside the blocks, e.g. rope_freqs) go with the
 *           last layer: on the GPU as soon as one layer is there. With tied
 *           embeddings (no output.weight) the output matmul reads token_embd,
 *           so an offloaded output needs a GPU copy of token_embd as well.
 *           RAM counts the weights as *resident*: the file is mmap'd, so the
 *           CPU-side embedding table only needs the pages of the rows a
 *           context can touch (at most n_ctx distinct tokens, a row touching
 *           1 + row_bytes/4096 pages on average), unless the CPU also runs
 *           the tied output (then all of it). The kernel's fault-around maps
 *           up to 64 KiB per touched row on top, but those are clean file
 *           pages it drops under pressure at no cost to speed. Page tables of
 *           the mapping add 8 bytes per 4 KiB page (weights / 512).
 * KV cache  2 × n_layer × n_ctx × n_head_kv × head_dim × bytes(kv type)
 *           (f16 2, f32 4, q8_0 34/32), exactly what kv-cache.c allocates;
 *           each layer's part lives with that layer.
 * compute   CPU: the buffers engine/graph.c allocates for a batch of
 *           nb = min(n_batch, n_ctx) tokens (session default n_batch 512):
 *             activations nb·4·(3·n_embd + n_q + n_k + n_v + n_att + 2·n_ff + n_rot)
 *               (x, xb, xb2, q, k, v, att, hb, hb2, rope cos/sin)
 *             quantized activations, one buffer per activation type the
 *               weights use (Q8_K for K-quants, Q8_0, …): nb·bytes(type, max_in)
 *             attention scratch per thread: scores, probabilities and
 *               converted queries of a tile of query tokens
 *               (still_graph_attention_scratch_bytes, graph.c) + a
 *               dequantized row of max_in floats
 *             logits n_vocab·4 (session) and the cached token ids n_ctx·4.
 *           When every layer runs on a GPU the CPU keeps only the embedding
 *           rows of a batch and the logits: nb·n_embd·4 + n_vocab·4.
 *           GPU (per GPU holding layers): the same activations (xb as wide
 *           as the attention output where that is wider) for a batch of
 *           min(n_batch, n_ctx) tokens, plus attention scores for that
 *           batch over blocks of at most STILL_FIT_GPU_KQ_BLOCK keys
 *           (n_head·nb·min(n_ctx, 1024)·4: the GPU kernels must not
 *           materialise the whole n_ctx × n_ctx score matrix, which would be
 *           gigabytes at long contexts), the split attention's partial
 *           results at decode (4 tokens × n_head × (2 + head_dim_v) floats
 *           per chunk of 64 keys of the context), the rows of xb, att and hb
 *           rounded to 8 bits for the integer dot products, 1.25 bytes a
 *           value;
 *           the GPU holding the output layer also keeps STILL_FIT_GPU_LOGITS_ROWS
 *           rows of logits, n_vocab·4 each (LOGITS_ROWS in vk-forward.c:
 *           more rows go through in rounds).
 * overhead  CPU: 32 MiB runtime (code, libraries, thread stacks, allocator
 *           slack) + the tokenizer: 192 bytes per vocabulary entry (measured:
 *           the Qwen2 vocab-only GGUF costs 23 MB with its header, 151,936
 *           tokens; Llama-3's 29 MB for 128,256 tokens with more merges).
 *           GPU: 256 MiB per GPU used (Vulkan device, pipelines, staging
 *           buffers).
 *           Check against the engine: a random-weight file of the real
 *           Qwen-1.5B Q4_K_M shape run by still (ctx 2048, 512-token prompt +
 *           16 tokens, no tokenizer) peaked at 1.038 GiB RSS (970 MiB file
 *           pages: 935 MiB of weights without token_embd + 35 MiB of
 *           fault-around for 528 embedding rows; 92 MiB anonymous: compute
 *           57 MiB + the touched part of the KV cache); this model says
 *           1.09 GiB for the full context with the tokenizer.
 * margin    every pool keeps 5 % of its free memory + 256 MiB unused (other
 *           programs, fragmentation, estimate error).
 *
 * ---- Placement -------------------------------------------------------------------
 * The first n_layer − g layers run on the CPU, the last g on the GPU(s); we
 * take the largest g whose GPU and RAM needs fit (needs are monotonic in g,
 * so the first fit counting down is the best). Several GPUs share the g
 * layers in proportion to their usable free memory; the last one holds the
 * output. Integrated GPUs are skipped when a discrete one exists; software
 * (CPU) Vulkan devices are never used. A unified GPU shares RAM: its layers
 * and the CPU's part must fit in one pool together.
 * A given placement (still_fit_params.split / n_gpu_layers, `still fit
 * --split 3,1 -ngl N`) is instead estimated exactly as a session would make
 * it: the GPUs a split runs on (machine_fixed), the layer ranges of
 * gpu-split.c (the code vk-forward.c cuts them with), the output with the
 * last GPU holding layers. When it does not fit, the message names the GPU
 * (or the RAM) that overflows and what would fit: the same layers
 * rebalanced (as the estimator's own placement moves them), written as a
 * split of layer counts (counts as shares give exactly those counts), and the
 * most GPU layers that fit with the given shares.
 * A GPU keeps its layers' KV cache in the session's type, as the CPU: F16,
 * F32, or Q8_0 (34 bytes per 32 values; vk-forward.c's Q8_0 cache, for
 * head sizes that are multiples of 32 — the only ones a Q8_0 cache takes).
 *
 * ---- Speed (an estimate) ---------------------------------------------------------
 * Decoding is memory-bound: each token reads every weight once (token_embd:
 * one row) plus the KV cache (counted at half the context). Time per token =
 * Σ_devices bytes_read / (bandwidth × efficiency) + a fixed time per layer on
 * a GPU (kernel launches and synchronisation: about ten kernels per layer),
 * STILL_FIT_GPU_LAYER_LATENCY_MS / sqrt(bandwidth) ms — faster cards are
 * newer and launch faster — but no less than STILL_FIT_GPU_LAYER_MIN_MS,
 * measured with this engine on an H200 (without it the estimate was 1.6×
 * the measured 8B decode there; with it 1.15×; test_speed_measured).
 * Efficiency 0.9 on GPUs and 0.5 on the CPU. The GPU
 * constants were fitted to the 24 published single-user speeds of
 * llama.cpp-class engines in published-figures.md (1.5B on a GTX 1060 up to
 * 70B on an RTX 6000 Ada and Apple M3/M4 Max): every estimate is within a
 * factor of 1.42 of its published figure and their geometric mean ratio is
 * about 1.06 (test_speed_published). Bandwidth alone (no per-layer time)
 * overestimated small models by 2.4× and underestimated 70B by 2×. The CPU
 * figure matches 1.5B ≈ 15 tok/s on a dual-channel DDR4 i3. GPU bandwidth
 * comes from a table of known cards (hw.c), else a default per device kind;
 * CPU bandwidth is assumed (STILL_DEFAULT_CPU_BANDWIDTH_GBS) unless measured
 * or given, and a measured RAM figure also stands for an integrated GPU not
 * in the table (still_hardware_set_memory_bandwidth; conservative: the
 * efficiency above then applies to an achieved, not a peak, figure).
 */
#include "fit.h"

#include "catalog.h"
#include "cpu/vec.h"
#include "fit-shapes.h"
#include "gpu-split.h"
#include "graph.h"
#include "kv-cache.h"
#include "types.h"
#include "util.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPU_UBATCH 512
/* rows of logits the GPU holding the output keeps (LOGITS_ROWS in vulkan/vk-forward.c) */
#define STILL_FIT_GPU_LOGITS_ROWS 8
/* The split attention of decode keeps partial results for up to 4 tokens
 * (SPLIT_ATTENTION_TOKENS in vk-forward.c) per query head and chunk of
 * keys: chunks of a workgroup's keys (vk-ops.c split_chunk: 64 threads is
 * the smallest default, on CPU devices; 128 on GPUs), at least 64 chunks. */
#define STILL_FIT_GPU_SPLIT_TOKENS 4
#define STILL_FIT_GPU_SPLIT_CHUNK 64
#define STILL_FIT_GPU_SPLIT_MIN_CHUNKS 64
#define CTX_STEP 256

/* ---- model facts ------------------------------------------------------------------ */

static bool get_dim(const gguf_file *f, const char *arch, const char *suffix, int32_t *out)
{
  char key[128];
  snprintf(key, sizeof key, "%s.%s", arch, suffix);
  uint32_t v;
  if (!gguf_get_u32(f, key, &v) || v > INT32_MAX) return false;
  *out = (int32_t)v;
  return true;
}

/* "blk.17.attn_q.weight" → 17; -1 when the name is not a block tensor. */
static int64_t block_index(gguf_str name)
{
  if (name.len < 6 || memcmp(name.ptr, "blk.", 4) != 0) return -1;
  int64_t n = 0;
  uint64_t i = 4;
  for (; i < name.len && name.ptr[i] >= '0' && name.ptr[i] <= '9'; i++) {
    n = n * 10 + (name.ptr[i] - '0');
    if (n > INT32_MAX) return -1;
  }
  if (i == 4 || i >= name.len || name.ptr[i] != '.') return -1;
  return n;
}

static void note_act_type(still_fit_model *m, uint32_t wtype)
{
  uint32_t a = still_vec_dot_type(wtype);
  if (a == STILL_TYPE_F32 || a == STILL_TYPE_COUNT) return;
  for (int i = 0; i < m->n_act_types; i++)
    if (m->act_types[i] == a) return;
  if (m->n_act_types < (int)(sizeof m->act_types / sizeof m->act_types[0])) m->act_types[m->n_act_types++] = a;
}

void still_fit_model_free(still_fit_model *m)
{
  if (!m) return;
  free(m->layer_bytes);
  m->layer_bytes = NULL;
}

/* Metadata from the first header (a split model's first part holds all of
 * it), tensors from every header in turn: shards[0..n_shards) in part order. */
static still_status model_from_shards(const gguf_file *const *shards, int n_shards, still_fit_model *m,
                                     still_error *err)
{
  memset(m, 0, sizeof *m);
  if (!shards || n_shards <= 0 || !shards[0])
    return still_set_error(err, STILL_ERR_INVALID_ARG, "no header to estimate from");
  const gguf_file *f = shards[0];
  gguf_str arch;
  if (!gguf_get_str(f, "general.architecture", &arch) || arch.len == 0 || arch.len >= sizeof m->arch)
    return still_set_error(err, STILL_ERR_FORMAT, "this GGUF file does not say which architecture it is "
                                                  "(general.architecture is missing): it is not a model");
  memcpy(m->arch, arch.ptr, arch.len);
  m->arch[arch.len] = '\0';
  for (char *p = m->arch; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) *p = '?';

  static const struct {
    const char *key;
    size_t off;
  } required[] = {
    {"block_count", offsetof(still_fit_model, n_layer)},
    {"embedding_length", offsetof(still_fit_model, n_embd)},
    {"feed_forward_length", offsetof(still_fit_model, n_ff)},
    {"attention.head_count", offsetof(still_fit_model, n_head)},
  };
  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
    int32_t *dst = (int32_t *)((char *)m + required[i].off);
    if (!get_dim(f, m->arch, required[i].key, dst) || *dst <= 0)
      return still_set_error(err, STILL_ERR_FORMAT, "the model header has no usable %s.%s", m->arch,
                             required[i].key);
  }
  if (m->n_layer > 4096 || m->n_head > 65536 || m->n_embd > (1 << 24) || m->n_ff > (1 << 26))
    return still_set_error(err, STILL_ERR_FORMAT, "the model header has impossible sizes (%d layers, width %d)",
                           m->n_layer, m->n_embd);
  if (!get_dim(f, m->arch, "attention.head_count_kv", &m->n_head_kv)) m->n_head_kv = m->n_head;
  if (m->n_head_kv <= 0 || m->n_head_kv > m->n_head)
    return still_set_error(err, STILL_ERR_FORMAT, "the model header has %d key/value heads for %d heads",
                           m->n_head_kv, m->n_head);
  int32_t def_hd = m->n_embd / m->n_head;
  if (!get_dim(f, m->arch, "attention.key_length", &m->head_dim_k)) m->head_dim_k = def_hd;
  if (!get_dim(f, m->arch, "attention.value_length", &m->head_dim_v)) m->head_dim_v = def_hd;
  if (m->head_dim_k <= 0 || m->head_dim_v <= 0 || m->head_dim_k > 65536 || m->head_dim_v > 65536)
    return still_set_error(err, STILL_ERR_FORMAT, "the model header has an impossible head size");
  if (!get_dim(f, m->arch, "rope.dimension_count", &m->n_rot) || m->n_rot <= 0 || m->n_rot > m->head_dim_k)
    m->n_rot = m->head_dim_k;
  if (!get_dim(f, m->arch, "context_length", &m->n_ctx_train)) m->n_ctx_train = 0;

  /* vocabulary: the tokenizer's token count, else the embedding's rows */
  const gguf_value *tokens = gguf_get_arr(f, "tokenizer.ggml.tokens", GGUF_TYPE_COUNT);
  if (tokens && tokens->v.arr.n > 0 && tokens->v.arr.n <= INT32_MAX) m->n_vocab = (int32_t)tokens->v.arr.n;

  m->layer_bytes = calloc((size_t)m->n_layer, sizeof *m->layer_bytes);
  if (!m->layer_bytes) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  bool has_output = false, has_embd = false;
  uint32_t embd_type = 0;
  for (int sh = 0; sh < n_shards; sh++)
  for (uint64_t i = 0; i < gguf_n_tensors(shards[sh]); i++) {
    const gguf_tensor *t = gguf_tensor_at(shards[sh], i);
    uint64_t n = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++)
      if (!still_mul_u64(n, (uint64_t)(t->ne[d] > 0 ? t->ne[d] : 1), &n)) n = UINT64_MAX;
    m->n_params += n;
    if (!still_add_u64(m->weights_bytes, t->size, &m->weights_bytes)) {
      still_fit_model_free(m);
      return still_set_error(err, STILL_ERR_FORMAT, "the tensors of this header add up to an impossible size");
    }
    int64_t layer = block_index(t->name);
    if (layer >= 0) {
      if (layer >= m->n_layer) {
        still_fit_model_free(m);
        return still_set_error(err, STILL_ERR_FORMAT,
                               "the header has a tensor of layer %" PRId64 " but the model has only %d layers",
                               layer, m->n_layer);
      }
      m->layer_bytes[layer] += t->size;
      if (t->n_dims >= 2) note_act_type(m, t->type);
    } else if (gguf_str_eq(t->name, "token_embd.weight")) {
      if (!has_embd) embd_type = t->type;
      has_embd = true;
      m->embd_bytes = t->size;
      m->embd_row_bytes = t->ne[1] > 0 ? t->size / (uint64_t)t->ne[1] : t->size;
      if (m->n_vocab == 0 && t->ne[1] > 0 && t->ne[1] <= INT32_MAX) m->n_vocab = (int32_t)t->ne[1];
    } else {
      if (gguf_str_eq(t->name, "output.weight")) {
        has_output = true;
        note_act_type(m, t->type);
      }
      m->output_bytes += t->size;
    }
  }
  if (m->n_vocab == 0) get_dim(f, m->arch, "vocab_size", &m->n_vocab);
  if (m->n_vocab <= 0) {
    still_fit_model_free(m);
    return still_set_error(err, STILL_ERR_FORMAT,
                           "the vocabulary size is unknown: the header has neither tokenizer.ggml.tokens nor "
                           "a token_embd.weight tensor");
  }
  m->tied = !has_output && has_embd;
  if (m->tied) note_act_type(m, embd_type);
  return STILL_OK;
}

still_status still_fit_model_from_header(const gguf_file *f, still_fit_model *m, still_error *err)
{
  return model_from_shards(&f, 1, m, err);
}

/* ---- formulas ---------------------------------------------------------------------- */

static uint32_t kv_ggml_type(still_kv_type t)
{
  return t == STILL_KV_F32 ? STILL_TYPE_F32 : t == STILL_KV_Q8_0 ? STILL_TYPE_Q8_0 : STILL_TYPE_F16;
}

uint64_t still_fit_kv_bytes(const still_fit_model *m, int32_t n_ctx, still_kv_type kv_type)
{
  if (n_ctx <= 0) return 0;
  return still_kv_cache_bytes(kv_ggml_type(kv_type), m->n_layer, n_ctx, m->n_head_kv, m->head_dim_k, m->head_dim_v);
}

static uint64_t kv_layer_bytes(const still_fit_model *m, int32_t n_ctx, still_kv_type kv_type)
{
  if (n_ctx <= 0) return 0;
  return still_kv_cache_bytes(kv_ggml_type(kv_type), 1, n_ctx, m->n_head_kv, m->head_dim_k, m->head_dim_v);
}

static int64_t max_matmul_in(const still_fit_model *m)
{
  int64_t n_att = (int64_t)m->n_head * m->head_dim_v, max_in = m->n_embd;
  if (n_att > max_in) max_in = n_att;
  if (m->n_ff > max_in) max_in = m->n_ff;
  return max_in;
}

/* x, xb, xb2, q, k, v, att, hb, hb2, rope cos/sin: floats per token. */
static uint64_t activation_floats_per_token(const still_fit_model *m)
{
  uint64_t n_q = (uint64_t)m->n_head * m->head_dim_k, n_k = (uint64_t)m->n_head_kv * m->head_dim_k,
           n_v = (uint64_t)m->n_head_kv * m->head_dim_v, n_att = (uint64_t)m->n_head * m->head_dim_v;
  return 3 * (uint64_t)m->n_embd + n_q + n_k + n_v + n_att + 2 * (uint64_t)m->n_ff + 2 * (uint64_t)(m->n_rot / 2);
}

uint64_t still_fit_cpu_compute_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_batch, int n_threads,
                                     still_kv_type kv_type)
{
  if (n_batch <= 0) n_batch = 512;
  if (n_ctx > 0 && n_batch > n_ctx) n_batch = n_ctx;
  if (n_threads < 1) n_threads = 1;
  const uint64_t nb = (uint64_t)n_batch, nt = (uint64_t)n_threads, ctx = (uint64_t)(n_ctx > 0 ? n_ctx : 0);
  const int64_t max_in = max_matmul_in(m);
  uint64_t total = nb * 4 * activation_floats_per_token(m) + (uint64_t)(m->n_rot / 2) * 8;
  for (int i = 0; i < m->n_act_types; i++) {
    uint64_t rb;
    if (!still_type_bytes(m->act_types[i], (uint64_t)max_in, &rb)) rb = (uint64_t)max_in * 4;
    total += nb * rb + 64;
  }
  uint64_t vrow = (uint64_t)max_in;
  if ((uint64_t)m->head_dim_v > vrow) vrow = (uint64_t)m->head_dim_v;
  if ((uint64_t)m->head_dim_k > vrow) vrow = (uint64_t)m->head_dim_k;
  total += nt * vrow * 4 + still_graph_attention_scratch_bytes(m->n_head, m->n_head_kv, m->head_dim_k, n_ctx, n_batch,
                                                                  n_threads, kv_ggml_type(kv_type));
  total += (uint64_t)m->n_vocab * 4 + ctx * 4;
  return total;
}

/* One row of n values rounded to 8 bits on the GPU (act8.glsl): n/4 words
 * of codes and n/32 pairs of floats (scale, sum), on whole 16 bytes. */
static uint64_t round8_row_bytes(uint64_t n) { return 4 * ((n / 4 + n / 16 + 3) & ~(uint64_t)3); }

/* xb holds the norm output and, for models whose attention is wider than
 * the model (Qwen3-0.6B: 16 heads of 128 over 1024), the products' widest
 * input: vk-forward.c's max_in */
static uint64_t gpu_xb_width(const still_fit_model *m)
{
  const uint64_t n_att = (uint64_t)m->n_head * m->head_dim_v;
  return (uint64_t)m->n_embd > n_att ? (uint64_t)m->n_embd : n_att;
}

uint64_t still_fit_gpu_round8_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_ubatch)
{
  if (n_ubatch <= 0) n_ubatch = GPU_UBATCH;
  if (n_ctx > 0 && n_ubatch > n_ctx) n_ubatch = n_ctx;
  const uint64_t n_att = (uint64_t)m->n_head * m->head_dim_v;
  return (uint64_t)n_ubatch *
           (round8_row_bytes(gpu_xb_width(m)) + round8_row_bytes(n_att) + round8_row_bytes((uint64_t)m->n_ff)) +
         3 * 16;
}

uint64_t still_fit_gpu_compute_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_ubatch)
{
  if (n_ubatch <= 0) n_ubatch = GPU_UBATCH;
  if (n_ctx > 0 && n_ubatch > n_ctx) n_ubatch = n_ctx;
  const uint64_t nb = (uint64_t)n_ubatch;
  const uint64_t keys = (uint64_t)(n_ctx < STILL_FIT_GPU_KQ_BLOCK ? (n_ctx > 0 ? n_ctx : 1) : STILL_FIT_GPU_KQ_BLOCK);
  uint64_t total = nb * 4 * (activation_floats_per_token(m) + gpu_xb_width(m) - (uint64_t)m->n_embd);
  total += (uint64_t)m->n_head * nb * keys * 4;
  /* the split attention's partial results: (max, sum, head_dim_v values)
   * per token, head and chunk, for the whole context */
  uint64_t chunks = ((uint64_t)(n_ctx > 0 ? n_ctx : 1) + STILL_FIT_GPU_SPLIT_CHUNK - 1) / STILL_FIT_GPU_SPLIT_CHUNK;
  if (chunks < STILL_FIT_GPU_SPLIT_MIN_CHUNKS) chunks = STILL_FIT_GPU_SPLIT_MIN_CHUNKS;
  total += 4ull * STILL_FIT_GPU_SPLIT_TOKENS * (uint64_t)m->n_head * chunks * (2 + (uint64_t)m->head_dim_v);
  return total + still_fit_gpu_round8_bytes(m, n_ctx, n_ubatch);
}

uint64_t still_fit_gpu_logits_bytes(const still_fit_model *m, int32_t n_ctx, int32_t n_ubatch)
{
  if (n_ubatch <= 0) n_ubatch = GPU_UBATCH;
  if (n_ctx > 0 && n_ubatch > n_ctx) n_ubatch = n_ctx;
  const uint64_t rows = (uint64_t)(n_ubatch < STILL_FIT_GPU_LOGITS_ROWS ? n_ubatch : STILL_FIT_GPU_LOGITS_ROWS);
  return rows * (uint64_t)m->n_vocab * 4;
}

uint64_t still_fit_usable(uint64_t free_bytes)
{
  uint64_t margin = free_bytes / 100 * STILL_FIT_MARGIN_PERCENT + STILL_FIT_MARGIN_BYTES;
  return free_bytes > margin ? free_bytes - margin : 0;
}

static uint64_t cpu_runtime_bytes(const still_fit_model *m)
{
  return STILL_FIT_CPU_RUNTIME_BYTES + (uint64_t)m->n_vocab * STILL_FIT_TOKENIZER_BYTES_PER_TOKEN;
}

/* ---- placement --------------------------------------------------------------------- */

typedef struct {
  int n;                        /* GPUs used for placement */
  int index[STILL_MAX_GPUS];    /* into hw->gpus */
  uint64_t usable[STILL_MAX_GPUS];
  double bw[STILL_MAX_GPUS];
  uint64_t free_bytes[STILL_MAX_GPUS]; /* before the margin (unified: the shared pool) */
  bool shared[STILL_MAX_GPUS];  /* several GPUs, this one sharing the RAM (a given split only) */
  bool unified;                 /* one GPU sharing the RAM pool */
  uint64_t pool_free;           /* unified: the shared pool before the margin */
  uint64_t ram_usable;
  double cpu_bw;
  int n_threads;
} machine;

typedef struct {
  int g;                        /* layers on GPUs */
  int per[STILL_MAX_GPUS];      /* per machine.index entry */
  int first[STILL_MAX_GPUS];    /* each GPU's first layer */
  int output;                   /* the GPU holding the output layer; -1: the CPU */
  uint64_t gpu_need[STILL_MAX_GPUS];
  uint64_t gpu_weights[STILL_MAX_GPUS], gpu_kv[STILL_MAX_GPUS], gpu_compute[STILL_MAX_GPUS];
  uint64_t cpu_need;
  uint64_t kv, compute, overhead, resident_weights;
  bool fits;
  double tok_s;
} placement;

static void machine_from_hw(const still_hardware *hw, machine *mc)
{
  memset(mc, 0, sizeof *mc);
  bool any_discrete = false;
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++)
    if (!hw->gpus[i].cpu_emulated && hw->gpus[i].free_bytes > 0 && !hw->gpus[i].unified) any_discrete = true;
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++) {
    const still_gpu *g = &hw->gpus[i];
    if (g->cpu_emulated || g->free_bytes == 0) continue;
    if (g->duplicate) continue; /* a card listed again by another driver: its memory is counted once */
    if (g->unified && any_discrete) continue; /* an iGPU next to a real card only slows it down */
    if (g->unified) {
      /* one shared pool: the GPU's view and the RAM's, whichever is smaller */
      mc->n = 1;
      mc->index[0] = i;
      mc->unified = true;
      mc->pool_free = hw->ram_free && hw->ram_free < g->free_bytes ? hw->ram_free : g->free_bytes;
      mc->free_bytes[0] = mc->pool_free;
      mc->usable[0] = still_fit_usable(mc->pool_free);
      mc->bw[0] = g->bandwidth_gbs > 0 ? g->bandwidth_gbs : 70.0;
      break;
    }
    mc->index[mc->n] = i;
    mc->free_bytes[mc->n] = g->free_bytes;
    mc->usable[mc->n] = still_fit_usable(g->free_bytes);
    mc->bw[mc->n] = g->bandwidth_gbs > 0 ? g->bandwidth_gbs : 250.0;
    mc->n++;
  }
  mc->ram_usable = mc->unified ? mc->usable[0] : still_fit_usable(hw->ram_free);
  mc->cpu_bw = hw->cpu_bandwidth_gbs > 0 ? hw->cpu_bandwidth_gbs : STILL_DEFAULT_CPU_BANDWIDTH_GBS;
  mc->n_threads = hw->cpu_cores > 0 ? hw->cpu_cores : 1;
}

/* The machine's GPUs, as a mask of mc entries (bit i: entry i). */
static unsigned all_gpus(const machine *mc)
{
  return mc->n >= 32 ? ~0u : (1u << mc->n) - 1u;
}

/* Split g layers over the GPUs of mask in proportion to their usable memory (largest remainder);
 * the others get none. */
static void split_layers(const machine *mc, unsigned mask, int g, int *per)
{
  uint64_t sum = 0;
  int n = 0;
  for (int i = 0; i < mc->n; i++)
    if (mask >> i & 1u) sum += mc->usable[i], n++;
  int given = 0;
  double rem[STILL_MAX_GPUS];
  for (int i = 0; i < mc->n; i++) {
    double share = !(mask >> i & 1u) ? 0.0 : sum ? (double)g * (double)mc->usable[i] / (double)sum : (double)g / n;
    per[i] = (int)floor(share);
    rem[i] = mask >> i & 1u ? share - per[i] : -2.0;
    given += per[i];
  }
  while (given < g && n > 0) {
    int best = -1;
    for (int i = 0; i < mc->n; i++)
      if (rem[i] > -1.5 && (best < 0 || rem[i] > rem[best])) best = i;
    per[best]++;
    rem[best] = -1.0;
    given++;
  }
}

/* Needs of one placement: g layers on the GPUs, per[i] on GPU i (NULL: in
 * proportion to their usable memory). */
static void place_split(const still_fit_model *m, const machine *mc, const still_fit_params *p, int g,
                        const int *per, placement *pl)
{
  memset(pl, 0, sizeof *pl);
  const int L = m->n_layer;
  const int32_t n_ctx = p->n_ctx;
  if (mc->n == 0) g = 0;
  pl->g = g;
  if (g > 0 && per) memcpy(pl->per, per, sizeof pl->per);
  else if (g > 0) split_layers(mc, all_gpus(mc), g, pl->per);

  const uint64_t kvl = kv_layer_bytes(m, n_ctx, p->kv_type);
  const uint64_t kv_half = kv_layer_bytes(m, n_ctx / 2 > 0 ? n_ctx / 2 : 1, p->kv_type);
  /* a GPU keeps its layers' cache in the session's type (vk-forward.c; Q8_0 needs heads of
   * multiples of 32, which still_fit_estimate checks for every Q8_0 cache) */
  const still_kv_type gpu_kv_type = p->kv_type;
  const uint64_t kvl_gpu = kv_layer_bytes(m, n_ctx, gpu_kv_type);
  const uint64_t kv_half_gpu = kv_layer_bytes(m, n_ctx / 2 > 0 ? n_ctx / 2 : 1, gpu_kv_type);
  /* a GPU part takes the session's batches as they come (vk-forward.c) */
  const uint64_t gpu_compute = still_fit_gpu_compute_bytes(m, n_ctx, p->n_batch),
                 gpu_logits = still_fit_gpu_logits_bytes(m, n_ctx, p->n_batch);
  const bool output_on_gpu = g > 0;

  /* CPU part: layers [0, L-g) */
  uint64_t cpu_w = 0;
  for (int il = 0; il < L - g; il++) cpu_w += m->layer_bytes[il];
  uint64_t rows = (uint64_t)(n_ctx < m->n_vocab ? n_ctx : m->n_vocab);
  uint64_t embd_res = rows * (m->embd_row_bytes + 4096);
  if (embd_res > m->embd_bytes || (m->tied && !output_on_gpu)) embd_res = m->embd_bytes;
  uint64_t cpu_weights = cpu_w + embd_res + (output_on_gpu ? 0 : m->output_bytes);
  cpu_weights += cpu_weights / 512; /* page tables of the mapping */
  uint64_t cpu_compute = g < L ? still_fit_cpu_compute_bytes(m, n_ctx, p->n_batch, mc->n_threads, p->kv_type)
                               : (uint64_t)(p->n_batch < n_ctx ? p->n_batch : n_ctx) * (uint64_t)m->n_embd * 4 +
                                   (uint64_t)m->n_vocab * 4;
  uint64_t cpu_over = cpu_runtime_bytes(m);
  pl->cpu_need = cpu_weights + kvl * (uint64_t)(L - g) + cpu_compute + cpu_over;
  pl->kv = kvl * (uint64_t)(L - g) + kvl_gpu * (uint64_t)g;
  pl->compute = cpu_compute;
  pl->overhead = cpu_over;
  pl->resident_weights = cpu_weights;
  double t = (double)(cpu_w + (output_on_gpu ? 0 : m->output_bytes) + m->embd_row_bytes +
                      kv_half * (uint64_t)(L - g)) /
             (mc->cpu_bw * 1e9 * STILL_FIT_CPU_EFFICIENCY);

  /* GPU parts: the next layers in order, the last GPU with layers takes the output */
  int next = L - g, last = -1;
  for (int i = 0; i < mc->n; i++)
    if (pl->per[i] > 0) last = i;
  pl->output = last;
  for (int i = 0; i < mc->n; i++) {
    pl->first[i] = next;
    if (pl->per[i] == 0) continue;
    uint64_t w = 0;
    for (int k = 0; k < pl->per[i]; k++) w += m->layer_bytes[next++];
    if (i == last) w += m->output_bytes + (m->tied ? m->embd_bytes : 0);
    const uint64_t compute = gpu_compute + (i == last ? gpu_logits : 0);
    uint64_t need = w + kvl_gpu * (uint64_t)pl->per[i] + compute + STILL_FIT_GPU_DRIVER_BYTES;
    pl->gpu_need[i] = need;
    pl->gpu_weights[i] = w;
    pl->gpu_kv[i] = kvl_gpu * (uint64_t)pl->per[i];
    pl->gpu_compute[i] = compute;
    pl->compute += compute;
    pl->overhead += STILL_FIT_GPU_DRIVER_BYTES;
    pl->resident_weights += w;
    t += (double)(w - (i == last && m->tied ? m->embd_bytes - m->embd_row_bytes : 0) +
                  kv_half_gpu * (uint64_t)pl->per[i]) /
         (mc->bw[i] * 1e9 * STILL_FIT_GPU_EFFICIENCY);
    t += pl->per[i] * fmax(STILL_FIT_GPU_LAYER_LATENCY_MS / sqrt(mc->bw[i]), STILL_FIT_GPU_LAYER_MIN_MS) * 1e-3;
  }
  pl->tok_s = t > 0 ? 1.0 / t : 0.0;

  if (mc->unified) {
    uint64_t all = pl->cpu_need + pl->gpu_need[0];
    pl->fits = all <= mc->usable[0];
  } else {
    uint64_t ram = pl->cpu_need; /* with the GPUs that share the RAM */
    for (int i = 0; i < mc->n; i++)
      if (mc->shared[i]) ram += pl->gpu_need[i];
    pl->fits = ram <= mc->ram_usable;
    for (int i = 0; i < mc->n; i++)
      if (pl->per[i] > 0 && pl->gpu_need[i] > mc->usable[i]) pl->fits = false;
  }
}

/* When a placement overfills a GPU (the last one also holds the output
 * layer), move layers one at a time from the fullest to the GPU of mask with
 * the most room left, until it fits or no GPU has room for a layer. */
static void rebalance(const still_fit_model *m, const machine *mc, const still_fit_params *p, int g, unsigned mask,
                      placement *pl)
{
  if (pl->fits || mc->n < 2 || mc->unified || g == 0) return;
  /* the largest layer (weights_bytes / n_layer would count the embeddings and output in) */
  uint64_t layer = 0;
  for (int i = 0; i < m->n_layer; i++)
    if (m->layer_bytes[i] > layer) layer = m->layer_bytes[i];
  layer += kv_layer_bytes(m, p->n_ctx, p->kv_type);
  int per[STILL_MAX_GPUS];
  for (int moves = 0; moves < g * mc->n && !pl->fits; moves++) {
    int over = -1, room = -1;
    int64_t worst = 0, best = INT64_MIN;
    for (int i = 0; i < mc->n; i++) {
      int64_t spare = (int64_t)mc->usable[i] - (int64_t)pl->gpu_need[i];
      if (pl->per[i] > 0 && spare < worst) {
        worst = spare;
        over = i;
      }
      if (!(mask >> i & 1u)) continue; /* not a GPU this placement may use */
      /* a GPU without layers would also pay its driver overhead and compute buffers */
      if (pl->per[i] == 0)
        spare -= (int64_t)(STILL_FIT_GPU_DRIVER_BYTES + still_fit_gpu_compute_bytes(m, p->n_ctx, p->n_batch));
      if (spare > best) {
        best = spare;
        room = i;
      }
    }
    if (over < 0 || room < 0 || room == over || best < (int64_t)layer) return;
    memcpy(per, pl->per, sizeof per);
    per[over]--;
    per[room]++;
    place_split(m, mc, p, g, per, pl);
  }
}

/* Place g layers on the GPUs of mask: in proportion to free memory first, then rebalanced. */
static void place_in(const still_fit_model *m, const machine *mc, const still_fit_params *p, int g, unsigned mask,
                     placement *pl)
{
  int per[STILL_MAX_GPUS] = {0};
  split_layers(mc, mask, g, per);
  place_split(m, mc, p, g, per, pl);
  rebalance(m, mc, p, g, mask, pl);
}

static void place(const still_fit_model *m, const machine *mc, const still_fit_params *p, int g, placement *pl)
{
  place_in(m, mc, p, g, all_gpus(mc), pl);
}

static int gpus_used(const machine *mc, const placement *pl)
{
  int n = 0;
  for (int i = 0; i < mc->n; i++) n += pl->per[i] > 0;
  return n;
}

/* The least room left on a GPU the placement uses (bytes; INT64_MAX without GPU layers). */
static int64_t least_spare(const machine *mc, const placement *pl)
{
  int64_t least = INT64_MAX;
  for (int i = 0; i < mc->n; i++)
    if (pl->per[i] > 0 && (int64_t)mc->usable[i] - (int64_t)pl->gpu_need[i] < least)
      least = (int64_t)mc->usable[i] - (int64_t)pl->gpu_need[i];
  return least;
}

/* Is placement a better than b? More layers on the GPUs first; then faster by more than 2 %, or
 * as fast (within 2 %) on fewer GPUs (a split pays a hop between devices per token that the
 * estimate does not count), or on as many GPUs with more room left (an estimate is not exact, and
 * a longer context may come), then faster. */
static bool better_placement(const machine *mc, const placement *a, const placement *b)
{
  if (!a->fits) return false;
  if (!b->fits) return true;
  if (a->g != b->g) return a->g > b->g;
  const int na = gpus_used(mc, a), nb = gpus_used(mc, b);
  if (a->tok_s > b->tok_s * 1.02) return true;
  if (a->tok_s < b->tok_s * 0.98) return false;
  if (na != nb) return na < nb;
  const int64_t sa = least_spare(mc, a), sb = least_spare(mc, b);
  if (sa != sb) return sa > sb;
  return a->tok_s > b->tok_s;
}

/* The most layers on the GPU(s) that fit; pl->fits false when nothing does. Every subset of the
 * GPUs is tried too (up to STILL_FIT_SUBSET_GPUS of them): the split by memory over all of them
 * can hold fewer layers than some of them alone (a small card that takes the output layer), and a
 * slow card beside a fast one only slows a model the fast one holds whole. The best by
 * better_placement wins. */
static void best_placement(const still_fit_model *m, const machine *mc, const still_fit_params *p, placement *pl)
{
  pl->fits = false;
  for (int g = mc->n ? m->n_layer : 0; g >= 0; g--) {
    place(m, mc, p, g, pl);
    if (pl->fits) break;
  }
  if (!pl->fits) {
    place(m, mc, p, 0, pl); /* report the CPU-only need */
    return;
  }
  if (mc->n < 2 || mc->n > STILL_FIT_SUBSET_GPUS || mc->unified) return;
  for (unsigned mask = 1; mask < all_gpus(mc); mask++) {
    /* this subset's most layers, from the count the whole set holds up */
    placement q, next;
    int g = pl->g;
    place_in(m, mc, p, g, mask, &q);
    if (!q.fits) continue;
    while (g < m->n_layer) {
      place_in(m, mc, p, g + 1, mask, &next);
      if (!next.fits) break;
      q = next;
      g++;
    }
    if (better_placement(mc, &q, pl)) *pl = q;
  }
}

static bool runs_fully_on_gpu(const still_fit_model *m, const machine *mc, const still_fit_params *p, int32_t n_ctx)
{
  still_fit_params q = *p;
  q.n_ctx = n_ctx;
  placement pl;
  place(m, mc, &q, m->n_layer, &pl);
  if (pl.fits) return true;
  /* some of the GPUs alone, as best_placement may choose */
  if (mc->n < 2 || mc->n > STILL_FIT_SUBSET_GPUS || mc->unified) return false;
  for (unsigned mask = 1; mask < all_gpus(mc); mask++) {
    place_in(m, mc, &q, m->n_layer, mask, &pl);
    if (pl.fits) return true;
  }
  return false;
}

static int32_t max_ctx_on_gpu(const still_fit_model *m, const machine *mc, const still_fit_params *p)
{
  if (mc->n == 0) return 0;
  int32_t cap = m->n_ctx_train > 0 ? m->n_ctx_train : 131072;
  if (runs_fully_on_gpu(m, mc, p, cap)) return cap;
  /* invariant: lo steps fit (0: none does), hi steps do not (hi·256 >= cap, which failed) */
  int32_t lo = 0, hi = cap % CTX_STEP == 0 ? cap / CTX_STEP : cap / CTX_STEP + 1;
  while (hi - lo > 1) {
    int32_t mid = lo + (hi - lo) / 2;
    if (runs_fully_on_gpu(m, mc, p, mid * CTX_STEP)) lo = mid;
    else hi = mid;
  }
  return lo * CTX_STEP;
}

/* ---- messages ---------------------------------------------------------------------- */

static const char *fmt_speed(double tok_s, char *buf, size_t size)
{
  if (tok_s < 0.95) snprintf(buf, size, "%.1f", tok_s);
  else snprintf(buf, size, "%.0f", tok_s);
  return buf;
}

static const char *fmt_tokens(int32_t n, char *buf, size_t size)
{
  if (n >= 1000000) snprintf(buf, size, "%d,%03d,%03d", n / 1000000, n / 1000 % 1000, n % 1000);
  else if (n >= 1000) snprintf(buf, size, "%d,%03d", n / 1000, n % 1000);
  else snprintf(buf, size, "%d", n);
  return buf;
}

const char *still_fit_verdict_name(still_fit_verdict v)
{
  switch (v) {
  case STILL_FIT_GPU: return "gpu";
  case STILL_FIT_PARTIAL: return "partial";
  case STILL_FIT_CPU: return "cpu";
  default: return "no";
  }
}

still_fit_params still_fit_params_default(void)
{
  return (still_fit_params){.n_ctx = 0, .kv_type = STILL_KV_F16, .n_batch = 512};
}

/* ---- a given placement (still_fit_params.split / n_gpu_layers) -----------------------
 * The GPUs a session would use, in its order: with a split, the GPUs of
 * still_hardware in order (software ones only when there is nothing else),
 * as vk-forward.c takes them without a device list; with only a layer count,
 * the default device (vk-context.c: discrete, then integrated, virtual,
 * other; the first of the best kind; a software one only when it is the only
 * device). Unlike the estimator's own placement, integrated GPUs next to a
 * discrete one are kept: a split names them. */

static void machine_add(machine *mc, const still_hardware *hw, int i)
{
  const still_gpu *g = &hw->gpus[i];
  int k = mc->n++;
  mc->index[k] = i;
  mc->free_bytes[k] = g->free_bytes;
  if (g->unified && hw->ram_free && hw->ram_free < g->free_bytes) mc->free_bytes[k] = hw->ram_free;
  mc->usable[k] = still_fit_usable(mc->free_bytes[k]);
  mc->bw[k] = g->bandwidth_gbs > 0 ? g->bandwidth_gbs : g->unified ? 70.0 : 250.0;
  mc->shared[k] = g->unified;
}

static still_status machine_fixed(const still_hardware *hw, const double *shares, int *n_shares_io, bool want_gpu,
                                  const char *split, machine *mc, still_error *err)
{
  memset(mc, 0, sizeof *mc);
  const int n_gpus = hw->n_gpus < STILL_MAX_GPUS ? hw->n_gpus : STILL_MAX_GPUS;
  if (*n_shares_io > 0) {
    /* as a session places a split (still_gpu_split_devices, also vk-forward.c's plan_split): the
     * usable GPUs in Vulkan order, the first as many as there are shares; one share, the device a
     * session opens by itself */
    int usable[STILL_MAX_GPUS];
    const int written = *n_shares_io; /* (the messages count the shares as written) */
    const int nu = still_gpu_split_devices(hw->gpus, n_gpus, shares, n_shares_io, usable);
    if (nu == 0)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the split \"%.60s\" has %d share%s, but this machine has no usable GPU", split, written,
                             written == 1 ? "" : "s");
    const int n_shares = *n_shares_io;
    if (n_shares > nu)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "the split \"%.60s\" has %d shares, but this machine has %d GPU%s: give at most one "
                             "share per GPU%s",
                             split, written, nu, nu == 1 ? "" : "s",
                             still_gpu_split_listed_again(hw->gpus, n_gpus) > 0
                               ? " (a card that two drivers list counts once)"
                               : "");
    if (n_shares == 1) {
      const int best = still_hardware_default_gpu(hw);
      if (best >= 0) machine_add(mc, hw, best);
      if (mc->n == 0)
        return still_set_error(err, STILL_ERR_INVALID_ARG, "the split \"%.60s\" has 1 share, but no GPU is usable "
                                                           "by default here (name one with --device)", split);
    } else
      for (int k = 0; k < n_shares; k++) machine_add(mc, hw, usable[k]);
  } else if (want_gpu) {
    const int best = still_hardware_default_gpu(hw); /* the device a session opens by itself */
    if (best >= 0) machine_add(mc, hw, best);
    if (mc->n == 0)
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "GPU layers were asked for, but this machine has no usable GPU");
  }
  if (mc->n == 1 && mc->shared[0]) {
    /* one GPU sharing the RAM: one pool, as in machine_from_hw */
    mc->unified = true;
    mc->shared[0] = false;
    mc->pool_free = mc->free_bytes[0];
  }
  mc->ram_usable = mc->unified ? mc->usable[0] : still_fit_usable(hw->ram_free);
  mc->cpu_bw = hw->cpu_bandwidth_gbs > 0 ? hw->cpu_bandwidth_gbs : STILL_DEFAULT_CPU_BANDWIDTH_GBS;
  mc->n_threads = hw->cpu_cores > 0 ? hw->cpu_cores : 1;
  return STILL_OK;
}

/* g layers over the fixed machine's GPUs by the shares, as a session cuts them. */
static void place_fixed(const still_fit_model *m, const machine *mc, const still_fit_params *p, int g,
                        const double *shares, placement *pl)
{
  int per[STILL_MAX_GPUS] = {0}, bounds[STILL_MAX_GPUS + 1];
  if (mc->n > 0 && g > 0) {
    still_gpu_split_bounds(shares, mc->n, m->n_layer - g, m->n_layer, bounds);
    for (int i = 0; i < mc->n; i++) per[i] = bounds[i + 1] - bounds[i];
  }
  place_split(m, mc, p, g, per, pl);
}

/* How far a GPU of the placement is over its usable memory (0: within). */
static uint64_t gpu_excess(const machine *mc, const placement *pl, int i)
{
  if (pl->per[i] == 0) return 0;
  uint64_t need = pl->gpu_need[i] + (mc->unified ? pl->cpu_need : 0);
  return need > mc->usable[i] ? need - mc->usable[i] : 0;
}

/* A given placement that does not fit: which memory overflows, what would
 * fit instead (a split of the same layers, or another layer count with the
 * same shares), in out->message. */
static void explain_overflow(const still_fit_model *m, const machine *mc, const still_fit_params *p,
                             const double *shares, const placement *pl, still_fit *out)
{
  char a[32], b[32], c[32], fix[160] = "";
  /* the same layers split otherwise: rebalance from the given split */
  out->suggested_split[0] = '\0';
  placement moved = *pl;
  rebalance(m, mc, p, pl->g, all_gpus(mc), &moved);
  if (moved.fits) {
    size_t len = 0;
    for (int i = 0; i < mc->n; i++) {
      int w = snprintf(out->suggested_split + len, sizeof out->suggested_split - len, "%s%d", i ? "," : "",
                       moved.per[i]);
      if (w < 0 || (size_t)w >= sizeof out->suggested_split - len) {
        out->suggested_split[0] = '\0';
        break;
      }
      len += (size_t)w;
    }
  }
  /* the most GPU layers with these shares that fit */
  out->suggested_gpu_layers = -1;
  for (int g = mc->n ? m->n_layer : 0; g >= 0; g--) {
    placement t;
    place_fixed(m, mc, p, g, shares, &t);
    if (t.fits) {
      out->suggested_gpu_layers = g;
      break;
    }
  }
  const int sg = out->suggested_gpu_layers;
  char ngl[64] = "";
  if (sg >= 0 && sg < pl->g) snprintf(ngl, sizeof ngl, "use fewer GPU layers (-ngl %d)", sg);
  else if (sg > pl->g) snprintf(ngl, sizeof ngl, "put more layers on the GPU%s (-ngl %d)", mc->n > 1 ? "s" : "", sg);

  int worst = -1, n_over = 0;
  for (int i = 0; i < mc->n; i++)
    if (gpu_excess(mc, pl, i) > 0) {
      n_over++;
      if (worst < 0 || gpu_excess(mc, pl, i) > gpu_excess(mc, pl, worst)) worst = i;
    }
  if (worst >= 0) {
    if (out->suggested_split[0] && ngl[0])
      snprintf(fix, sizeof fix, "move layers to the other GPUs with --split %s, or %s", out->suggested_split, ngl);
    else if (out->suggested_split[0])
      snprintf(fix, sizeof fix, "move layers to the other GPUs with --split %s", out->suggested_split);
    else if (ngl[0])
      snprintf(fix, sizeof fix, "%s", ngl);
    else
      snprintf(fix, sizeof fix, "it does not fit with any number of GPU layers");
    uint64_t need = pl->gpu_need[worst] + (mc->unified ? pl->cpu_need : 0);
    char margin[64] = "", others[48] = "";
    if (need <= mc->free_bytes[worst])
      snprintf(margin, sizeof margin, " (%s after the safety margin)", still_format_bytes(mc->usable[worst], c, sizeof c));
    if (n_over > 1) snprintf(others, sizeof others, "; %d GPUs are too full", n_over);
    snprintf(out->message, sizeof out->message, "Vulkan%d needs %s but has %s free%s%s: %s", mc->index[worst],
             still_format_bytes(need, a, sizeof a), still_format_bytes(mc->free_bytes[worst], b, sizeof b), margin,
             others, fix);
    return;
  }
  /* the GPUs are fine: the RAM part (with the GPUs that share it) is too big */
  uint64_t ram = pl->cpu_need;
  for (int i = 0; i < mc->n; i++)
    if (mc->shared[i]) ram += pl->gpu_need[i];
  const uint64_t ram_free = mc->unified ? mc->pool_free : out->ram_free;
  char margin[64] = "";
  if (ram <= ram_free)
    snprintf(margin, sizeof margin, " (%s after the safety margin)", still_format_bytes(mc->ram_usable, c, sizeof c));
  snprintf(out->message, sizeof out->message, "The CPU part needs %s of RAM but %s is free%s: %s",
           still_format_bytes(ram, a, sizeof a), still_format_bytes(ram_free, b, sizeof b), margin,
           ngl[0] ? ngl : "it does not fit with any number of GPU layers");
}

/* ---- the estimate ------------------------------------------------------------------ */

/* The result's numbers for a placement (message and verdict apart). */
static void fill_result(const still_fit_model *m, const still_hardware *hw, const machine *mc, const still_fit_params *p,
                        const placement *pl, still_fit *out)
{
  memset(out, 0, sizeof *out);
  out->n_layers = m->n_layer;
  out->n_ctx = p->n_ctx;
  out->n_ctx_train = m->n_ctx_train;
  out->n_vocab = m->n_vocab;
  out->n_params = m->n_params;
  out->weights_bytes = m->weights_bytes;
  out->kv_bytes = pl->kv;
  out->compute_bytes = pl->compute;
  out->overhead_bytes = pl->overhead;
  out->cpu_bytes = pl->cpu_need;
  out->total_bytes = pl->cpu_need;
  out->n_devices = mc->n;
  for (int i = 0; i < mc->n; i++) {
    out->gpu_layers_per[mc->index[i]] = pl->per[i];
    out->gpu_bytes[mc->index[i]] = pl->gpu_need[i];
    out->total_bytes += pl->gpu_need[i];
    out->gpu_free += mc->free_bytes[i];
    still_fit_device *d = &out->devices[i];
    d->gpu = mc->index[i];
    d->first_layer = pl->per[i] > 0 ? pl->first[i] : m->n_layer;
    d->n_layers = pl->per[i];
    d->output = pl->per[i] > 0 && i == pl->output;
    d->weights_bytes = pl->gpu_weights[i];
    d->kv_bytes = pl->gpu_kv[i];
    d->compute_bytes = pl->gpu_compute[i];
    d->overhead_bytes = pl->per[i] > 0 ? STILL_FIT_GPU_DRIVER_BYTES : 0;
    d->total_bytes = pl->gpu_need[i];
    d->free_bytes = mc->free_bytes[i];
    d->usable_bytes = mc->usable[i];
    d->fits = gpu_excess(mc, pl, i) == 0;
  }
  out->ram_free = mc->unified ? mc->pool_free : hw->ram_free;
  out->gpu_layers = pl->g;
  out->output_on_gpu = pl->g > 0;
  out->tok_s_estimate = pl->fits ? pl->tok_s : 0.0;
  out->suggested_gpu_layers = -1;
}

/* Verdict and message of a placement that fits. */
static void fitting_message(const still_fit_model *m, const machine *mc, const placement *pl, still_fit *out)
{
  char sp[32], c[32];
  const char *gpu_word = gpus_used(mc, pl) > 1 ? "GPUs" : "GPU";
  if (pl->g == m->n_layer && mc->n > 0) {
    out->verdict = STILL_FIT_GPU;
    if (out->tight)
      /* the limit is the machine's (max_ctx_gpu: on any of its GPUs), whatever this placement uses */
      snprintf(out->message, sizeof out->message,
               "Runs fully on your %s (expect ~%s tok/s), but only up to %s tokens of context",
               mc->n > 1 ? "GPUs" : "GPU",
               fmt_speed(pl->tok_s, sp, sizeof sp), fmt_tokens(out->max_ctx_gpu, c, sizeof c));
    else
      snprintf(out->message, sizeof out->message, "Runs fully on your %s (expect ~%s tok/s)", gpu_word,
               fmt_speed(pl->tok_s, sp, sizeof sp));
  } else if (pl->g > 0) {
    out->verdict = STILL_FIT_PARTIAL;
    snprintf(out->message, sizeof out->message, "Runs with %d of %d layers on the %s (expect ~%s tok/s)", pl->g,
             m->n_layer, gpu_word, fmt_speed(pl->tok_s, sp, sizeof sp));
  } else {
    out->verdict = STILL_FIT_CPU;
    snprintf(out->message, sizeof out->message, "Runs on the CPU only (~%s tok/s)", fmt_speed(pl->tok_s, sp, sizeof sp));
  }
}

/* The largest single buffer the model's GPU part binds: the output matrix
 * (or the embedding table it is tied to) or one layer's K or V cache at
 * n_ctx (vk-forward.c allocates each whole). */
static uint64_t largest_gpu_buffer(const still_fit_model *m, int32_t n_ctx, still_kv_type kv_type)
{
  uint64_t most = m->tied ? m->embd_bytes : m->output_bytes;
  const uint64_t kv = kv_layer_bytes(m, n_ctx, kv_type) / 2;
  return kv > most ? kv : most;
}

/* hw without the GPUs whose shaders cannot see a buffer of the model whole
 * (still_gpu.max_buffer_bytes): a session would refuse them (vk-context.c)
 * and run on the CPU. The first such GPU's name and limit go to why. */
static void drop_narrow_gpus(const still_fit_model *m, const still_fit_params *p, still_hardware *hw, char *why,
                             size_t why_size)
{
  const uint64_t need = largest_gpu_buffer(m, p->n_ctx, p->kv_type);
  why[0] = '\0';
  for (int i = 0; i < hw->n_gpus && i < STILL_MAX_GPUS; i++) {
    still_gpu *g = &hw->gpus[i];
    if (!g->max_buffer_bytes || need <= g->max_buffer_bytes || g->free_bytes == 0) continue;
    if (!why[0]) {
      char a[32], b[32];
      snprintf(why, why_size, "not on %.80s: its shaders see at most %s of a buffer, this model needs %s", g->name,
               still_format_bytes(g->max_buffer_bytes, a, sizeof a), still_format_bytes(need, b, sizeof b));
    }
    g->free_bytes = 0; /* machine_from_hw skips it */
  }
}

static still_status estimate_model(const still_fit_model *m, const still_hardware *hw_in, const still_fit_params *p_in,
                                   still_fit *out, still_error *err)
{
  const still_hardware *hw = hw_in;
  still_fit_params p = p_in ? *p_in : still_fit_params_default();
  if (p.n_ctx < 0 || p.n_batch < 0)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "the context and batch sizes cannot be negative");
  if ((unsigned)p.kv_type > STILL_KV_Q8_0) return still_set_error(err, STILL_ERR_INVALID_ARG, "unknown KV cache type");
  if (p.n_ctx == 0) p.n_ctx = m->n_ctx_train > 0 && m->n_ctx_train < 4096 ? m->n_ctx_train : 4096;
  if (p.n_batch == 0) p.n_batch = 512;
  if (p.n_ctx > (1 << 24)) return still_set_error(err, STILL_ERR_INVALID_ARG, "a context of %d tokens is too large", p.n_ctx);
  if (still_fit_kv_bytes(m, p.n_ctx, p.kv_type) == UINT64_MAX)
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "a Q8_0 KV cache needs head sizes that are multiples of 32; this model's are %d and %d",
                           m->head_dim_k, m->head_dim_v);
  if (p.gpu_layers_set && p.n_gpu_layers < -1)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "%d GPU layers: give a count, or -1 for all", p.n_gpu_layers);
  double shares[STILL_MAX_GPUS];
  int n_shares = 0;
  still_status st = still_gpu_split_parse(p.split, shares, STILL_MAX_GPUS, &n_shares, err);
  if (st != STILL_OK) return st;
  const bool fixed = n_shares > 0 || p.gpu_layers_set;

  /* the layers a session would place: not on a GPU that cannot bind the model's buffers */
  still_hardware *narrow = NULL;
  char narrow_why[160] = "";
  if (!fixed) {
    narrow = malloc(sizeof *narrow);
    if (!narrow) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
    *narrow = *hw_in;
    drop_narrow_gpus(m, &p, narrow, narrow_why, sizeof narrow_why);
    hw = narrow;
  }
  machine mc;
  machine_from_hw(hw, &mc);
  const int32_t max_ctx = max_ctx_on_gpu(m, &mc, &p);
  int32_t train = m->n_ctx_train > 0 ? m->n_ctx_train : p.n_ctx;
  placement pl;

  if (fixed) {
    /* the placement a session with this split / layer count makes */
    int g = !p.gpu_layers_set || p.n_gpu_layers < 0 || p.n_gpu_layers > m->n_layer ? m->n_layer : p.n_gpu_layers;
    machine fm;
    st = machine_fixed(hw, shares, &n_shares, g > 0, p.split, &fm, err);
    if (st != STILL_OK) {
      free(narrow);
      return st;
    }
    if (n_shares == 0) {
      n_shares = fm.n;
      for (int i = 0; i < n_shares; i++) shares[i] = 1.0;
    }
    place_fixed(m, &fm, &p, g, shares, &pl);
    fill_result(m, hw, &fm, &p, &pl, out);
    /* the machine's limit, or that of the devices named here where it is larger (a device the
     * estimator would not take by itself, as a CPU-emulated one: else a placement that fits
     * whole would read "no context fits fully on the GPU") */
    const int32_t fixed_ctx = max_ctx_on_gpu(m, &fm, &p);
    out->max_ctx_gpu = fixed_ctx > max_ctx ? fixed_ctx : max_ctx;
    out->tight = false; /* max_ctx_gpu is the estimator's own placement's: no claim about this one */
    if (pl.fits) {
      fitting_message(m, &fm, &pl, out);
    } else {
      out->verdict = STILL_FIT_NO;
      explain_overflow(m, &fm, &p, shares, &pl, out);
    }
    return STILL_OK;
  }

  best_placement(m, &mc, &p, &pl);
  fill_result(m, hw, &mc, &p, &pl, out);
  out->max_ctx_gpu = max_ctx;
  out->tight = out->max_ctx_gpu > 0 && out->max_ctx_gpu < train / 2;
  if (!pl.fits) {
    char a[32], b[32];
    out->verdict = STILL_FIT_NO;
    out->gpu_layers = 0;
    for (int i = 0; i < STILL_MAX_GPUS; i++) out->gpu_layers_per[i] = 0;
    uint64_t free_all = mc.unified ? mc.pool_free : hw->ram_free + out->gpu_free;
    snprintf(out->message, sizeof out->message, "Does not fit: needs %s, %s free",
             still_format_bytes(out->total_bytes, a, sizeof a), still_format_bytes(free_all, b, sizeof b));
  } else {
    fitting_message(m, &mc, &pl, out);
  }
  if (narrow_why[0]) {
    const size_t used = strlen(out->message);
    snprintf(out->message + used, sizeof out->message - used, " (%s)", narrow_why);
  }
  free(narrow);
  return STILL_OK;
}

/* Appends ",%d" (or "%d" to an empty list) to list, as far as it holds. */
static void list_append(char *list, size_t size, int v)
{
  const size_t len = strlen(list);
  if (len < size) snprintf(list + len, size - len, "%s%d", len ? "," : "", v);
}

int still_fit_device_args(const still_fit *f, int unnamed_gpu, char *devices, size_t devices_size, char *shares,
                          size_t shares_size)
{
  if (devices_size) devices[0] = '\0';
  if (shares_size) shares[0] = '\0';
  int n = 0, only = -1;
  for (int i = 0; f && i < f->n_devices && i < STILL_MAX_GPUS; i++) {
    if (f->devices[i].n_layers <= 0) continue;
    only = f->devices[i].gpu;
    list_append(devices, devices_size, f->devices[i].gpu);
    list_append(shares, shares_size, f->devices[i].n_layers);
    n++;
  }
  if (n == 1 && only == unnamed_gpu && devices_size) devices[0] = '\0';
  if (n < 2 && shares_size) shares[0] = '\0';
  return n;
}

still_status still_fit_estimate(const struct gguf_file *header, const still_hardware *hw, const still_fit_params *p,
                                still_fit *out, still_error *err)
{
  if (!header || !hw || !out) return still_set_error(err, STILL_ERR_INVALID_ARG, "no header, hardware or result");
  still_fit_model m;
  still_status st = still_fit_model_from_header(header, &m, err);
  if (st != STILL_OK) return st;
  st = estimate_model(&m, hw, p, out, err);
  still_fit_model_free(&m);
  return st;
}

static still_status read_header_prefix(const char *path, char **out, size_t *out_len, still_error *err);

/* A file that ends early (a download in progress, or only the header was
 * saved): its header is all the estimate needs (read_header_prefix reads the
 * first bytes, growing the read as the parser asks, up to 256 MiB). */
static still_status estimate_partial_file(const char *path, const still_hardware *hw, const still_fit_params *p,
                                          still_fit *out, still_error *err)
{
  char *buf = NULL;
  size_t len = 0;
  still_status st = read_header_prefix(path, &buf, &len, err);
  if (st != STILL_OK) return st;
  st = still_fit_estimate_buffer(buf, len, 0, hw, p, out, NULL, err);
  if (st == STILL_ERR_TRUNCATED) still_set_error(err, st, "%s ends inside its header: it is not a usable GGUF file", path);
  free(buf);
  return st;
}

static bool split_file_name(const char *path, size_t *prefix_len, unsigned *part, unsigned *count);
static still_status estimate_split_headers(const char *path, size_t prefix_len, unsigned count,
                                           const still_hardware *hw, const still_fit_params *p, still_fit *out,
                                           still_error *err);

still_status still_fit_estimate_file(const char *path, const still_hardware *hw, const still_fit_params *p,
                                     still_fit *out, still_error *err)
{
  if (!path) return still_set_error(err, STILL_ERR_INVALID_ARG, "no file given");
  gguf_file *f = NULL;
  still_status st = gguf_open(path, &f, err);
  if (st == STILL_ERR_TRUNCATED) {
    size_t prefix_len;
    unsigned part, count;
    if (split_file_name(path, &prefix_len, &part, &count) && count > 1)
      return estimate_split_headers(path, prefix_len, count, hw, p, out, err);
    return estimate_partial_file(path, hw, p, out, err);
  }
  if (st != STILL_OK) return st;
  st = still_fit_estimate(f, hw, p, out, err);
  gguf_close(f);
  return st;
}

still_status still_fit_estimate_buffer(const void *buf, size_t len, uint64_t file_size, const still_hardware *hw,
                                       const still_fit_params *p, still_fit *out, size_t *need_bytes,
                                       still_error *err)
{
  size_t need = 0;
  if (need_bytes) *need_bytes = 0;
  if (!buf) return still_set_error(err, STILL_ERR_INVALID_ARG, "no header bytes given");
  gguf_file *f = NULL;
  still_status st = gguf_parse_buffer(buf, len, file_size, &f, &need, err);
  if (st != STILL_OK) {
    if (need_bytes) *need_bytes = need;
    return st;
  }
  st = still_fit_estimate(f, hw, p, out, err);
  gguf_close(f);
  return st;
}

/* ---- split models ------------------------------------------------------------------
 * A split model (NAME-00001-of-00003.gguf …, written by llama.cpp's gguf-split)
 * has one header per part: each lists the tensors stored in that part, with
 * split.no (0-based), split.count and, in the first, split.tensors.count; the
 * first part also holds all the model's metadata. The estimate merges the
 * tensor infos of every part and then runs exactly as for one file. */

static bool header_u64(const gguf_file *f, const char *key, bool *present, uint64_t *out)
{
  *present = gguf_find(f, key) != NULL;
  return *present && gguf_get_u64(f, key, out);
}

/* split.count and split.no of one parsed header (1 and 0 for a file that is not split). */
static still_status split_numbers(const gguf_file *f, int given, int n_given, uint64_t *count, uint64_t *no,
                                  still_error *err)
{
  bool present;
  *count = 1;
  *no = 0;
  if (!header_u64(f, "split.count", &present, count)) {
    if (present) return still_set_error(err, STILL_ERR_FORMAT, "header %d of the %d given has a split.count that is not a number", given + 1, n_given);
    *count = 1;
  }
  if (*count == 0 || *count > 99999)
    return still_set_error(err, STILL_ERR_FORMAT, "header %d of the %d given says the model has %" PRIu64 " parts",
                           given + 1, n_given, *count);
  if (*count == 1) return STILL_OK;
  if (!header_u64(f, "split.no", &present, no))
    return still_set_error(err, STILL_ERR_FORMAT,
                           "header %d of the %d given belongs to a model split in %" PRIu64
                           " parts but does not say which part it is (split.no is %s)",
                           given + 1, n_given, *count, present ? "not a number" : "missing");
  if (*no >= *count)
    return still_set_error(err, STILL_ERR_FORMAT, "header %d of the %d given says it is part %" PRIu64 " of %" PRIu64,
                           given + 1, n_given, *no + 1, *count);
  return STILL_OK;
}

/* The parsed headers of every part, in part order, checked to be one model. */
static still_status order_shards(gguf_file **parsed, int n, const gguf_file **ordered, int *n_parts, still_error *err)
{
  uint64_t count0 = 0;
  for (int i = 0; i < n; i++) {
    uint64_t count, no;
    still_status st = split_numbers(parsed[i], i, n, &count, &no, err);
    if (st != STILL_OK) return st;
    if (i == 0) {
      count0 = count;
    } else if (count != count0) {
      if (count0 == 1 || count == 1)
        return still_set_error(err, STILL_ERR_FORMAT,
                               "these headers belong to different models: one is a whole model, another a part of "
                               "a model split in %" PRIu64 " parts",
                               count0 == 1 ? count : count0);
      return still_set_error(err, STILL_ERR_FORMAT,
                             "these headers belong to different models: one is split in %" PRIu64
                             " parts, another in %" PRIu64 " (split.count differs)",
                             count0, count);
    }
    if (no < (uint64_t)n) {
      if (ordered[no]) {
        if (count0 == 1) return still_set_error(err, STILL_ERR_INVALID_ARG, "%d headers were given for a model that is not split", n);
        return still_set_error(err, STILL_ERR_INVALID_ARG, "part %" PRIu64 " of %" PRIu64 " was given twice", no + 1, count0);
      }
      ordered[no] = parsed[i];
    }
  }
  /* n headers, count0 parts, no duplicates: a part numbered >= n means one below n is missing */
  for (uint64_t k = 0; k < count0; k++)
    if (k >= (uint64_t)n || !ordered[k])
      return still_set_error(err, STILL_ERR_INVALID_ARG, "shard %" PRIu64 " of %" PRIu64 " is missing", k + 1,
                             count0);
  if ((uint64_t)n > count0)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "%d headers were given for a model split in %" PRIu64 " parts",
                           n, count0);
  *n_parts = (int)count0;

  /* every tensor listed once, and as many as the first part announces */
  uint64_t total = 0, announced;
  bool present;
  char name[256];
  for (int k = 0; k < *n_parts; k++) {
    total += gguf_n_tensors(ordered[k]);
    for (int j = 0; j < k; j++) /* names within one part are already unique (the parser checks) */
      for (uint64_t i = 0; i < gguf_n_tensors(ordered[k]); i++) {
        gguf_str nm = gguf_tensor_at(ordered[k], i)->name;
        if (nm.len >= sizeof name) continue;
        memcpy(name, nm.ptr, nm.len);
        name[nm.len] = '\0';
        if (gguf_find_tensor(ordered[j], name))
          return still_set_error(err, STILL_ERR_FORMAT, "the tensor %.120s is in part %d and in part %d", name, j + 1,
                                 k + 1);
      }
  }
  if (*n_parts > 1 && header_u64(ordered[0], "split.tensors.count", &present, &announced) && announced != total)
    return still_set_error(err, STILL_ERR_FORMAT,
                           "the split model should have %" PRIu64 " tensors, but its %d parts hold %" PRIu64,
                           announced, *n_parts, total);
  return STILL_OK;
}

still_status still_fit_estimate_buffers(const void *const *bufs, const size_t *lens, const uint64_t *file_sizes,
                                        int n, const still_hardware *hw, const still_fit_params *p, still_fit *out,
                                        size_t *need_bytes, still_error *err)
{
  if (need_bytes && n > 0)
    for (int i = 0; i < n; i++) need_bytes[i] = 0;
  if (!bufs || !lens || n <= 0) return still_set_error(err, STILL_ERR_INVALID_ARG, "no header bytes given");
  if (n > 99999) return still_set_error(err, STILL_ERR_INVALID_ARG, "too many headers given (%d)", n);
  if (!hw || !out) return still_set_error(err, STILL_ERR_INVALID_ARG, "no hardware or result");
  gguf_file **parsed = calloc((size_t)n, sizeof *parsed);
  const gguf_file **ordered = calloc((size_t)n, sizeof *ordered);
  if (!parsed || !ordered) {
    free(parsed);
    free(ordered);
    return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  }
  still_status st = STILL_OK;
  int n_truncated = 0, first_truncated = -1;
  still_error first_e = {0};
  for (int i = 0; i < n && st == STILL_OK; i++) {
    if (!bufs[i]) {
      st = still_set_error(err, STILL_ERR_INVALID_ARG, "header %d of the %d given has no bytes", i + 1, n);
      break;
    }
    size_t need = 0;
    still_error e = {0};
    still_status s = gguf_parse_buffer(bufs[i], lens[i], file_sizes ? file_sizes[i] : 0, &parsed[i], &need, &e);
    if (s == STILL_ERR_TRUNCATED) {
      /* keep going: the caller may fetch the missing bytes of every part at once */
      if (need_bytes) need_bytes[i] = need;
      if (n_truncated++ == 0) {
        first_truncated = i;
        first_e = e;
      }
    } else if (s != STILL_OK) {
      if (n == 1) st = still_set_error(err, s, "%s", e.message);
      else st = still_set_error(err, s, "header %d of the %d given: %s", i + 1, n, e.message);
    }
  }
  if (st == STILL_OK && n_truncated > 0) {
    if (n == 1) st = still_set_error(err, STILL_ERR_TRUNCATED, "%s", first_e.message);
    else if (n_truncated == 1)
      st = still_set_error(err, STILL_ERR_TRUNCATED, "header %d of the %d given is incomplete: %s", first_truncated + 1,
                           n, first_e.message);
    else
      st = still_set_error(err, STILL_ERR_TRUNCATED, "%d of the %d headers given are incomplete (header %d: %s)",
                           n_truncated, n, first_truncated + 1, first_e.message);
  }
  int n_parts = 0;
  if (st == STILL_OK) st = order_shards(parsed, n, ordered, &n_parts, err);
  if (st == STILL_OK) {
    still_fit_model m;
    st = model_from_shards(ordered, n_parts, &m, err);
    if (st == STILL_OK) st = estimate_model(&m, hw, p, out, err);
    still_fit_model_free(&m);
  }
  for (int i = 0; i < n; i++) gguf_close(parsed[i]);
  free(parsed);
  free(ordered);
  return st;
}

/* A part's name: the naming gguf_open uses to find a split model's parts. */
static bool split_file_name(const char *path, size_t *prefix_len, unsigned *part, unsigned *count)
{
  return gguf_split_name_parse(path, prefix_len, part, count) && *part >= 1 && *part <= *count;
}

/* The first bytes of a file, grown as the parser asks until its header parses
 * (up to 256 MiB). STILL_OK also when the file ends inside its header: the
 * estimate then says what is missing. */
static still_status read_header_prefix(const char *path, char **out, size_t *out_len, still_error *err)
{
  *out = NULL;
  *out_len = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return still_set_error(err, STILL_ERR_IO, "cannot open %s", path);
  size_t want = 1 << 20, have = 0;
  char *buf = NULL;
  still_status st = STILL_OK;
  for (;;) {
    char *nb = realloc(buf, want);
    if (!nb) {
      st = still_set_error(err, STILL_ERR_NOMEM, "out of memory reading the header of %s", path);
      break;
    }
    buf = nb;
    have += fread(buf + have, 1, want - have, fp);
    size_t need = 0;
    gguf_file *f = NULL;
    still_error e = {0};
    still_status s = gguf_parse_buffer(buf, have, 0, &f, &need, &e);
    gguf_close(f);
    if (s != STILL_ERR_TRUNCATED || have < want || need <= have) break;
    if (need > (256u << 20)) {
      st = still_set_error(err, STILL_ERR_FORMAT, "the header of %s claims to be larger than 256 MB", path);
      break;
    }
    want = need;
  }
  fclose(fp);
  if (st != STILL_OK) {
    free(buf);
    return st;
  }
  *out = buf;
  *out_len = have;
  return STILL_OK;
}

/* A split model whose parts hold only their headers (or are still being
 * downloaded): read every part's header beside path and merge them. */
static still_status estimate_split_headers(const char *path, size_t prefix_len, unsigned count,
                                           const still_hardware *hw, const still_fit_params *p, still_fit *out,
                                           still_error *err)
{
  char **bufs = calloc(count, sizeof *bufs);
  size_t *lens = calloc(count, sizeof *lens);
  size_t plen = prefix_len + 32;
  char *part = malloc(plen);
  still_status st = STILL_OK;
  if (!bufs || !lens || !part) st = still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  for (unsigned i = 0; i < count && st == STILL_OK; i++) {
    snprintf(part, plen, "%.*s-%05u-of-%05u.gguf", (int)prefix_len, path, i + 1, count);
    FILE *probe = fopen(part, "rb");
    if (!probe) {
      const char *base = strrchr(part, '/');
      st = still_set_error(err, STILL_ERR_IO, "shard %u of %u is missing: %s", i + 1, count, base ? base + 1 : part);
      break;
    }
    fclose(probe);
    st = read_header_prefix(part, &bufs[i], &lens[i], err);
  }
  if (st == STILL_OK) {
    st = still_fit_estimate_buffers((const void *const *)bufs, lens, NULL, (int)count, hw, p, out, NULL, err);
    if (st == STILL_ERR_TRUNCATED && err) {
      char why[sizeof err->message];
      snprintf(why, sizeof why, "%s", err->message);
      still_set_error(err, st, "a part of %s ends inside its header: %s", path, why);
    }
  }
  if (bufs)
    for (unsigned i = 0; i < count; i++) free(bufs[i]);
  free(bufs);
  free(lens);
  free(part);
  return st;
}

/* ---- recommendation ---------------------------------------------------------------
 * Candidates: every catalog model × quantization, sized from synthetic
 * headers of the real shapes (fit-shapes.c), checked at n_ctx (8192: R1
 * models think at length, so a short context is not useful).
 * Tier 1: runs fully on the GPU(s) at n_ctx. Tier 2 (no tier-1 candidate):
 * fits and its speed estimate is at least 5 tok/s. Tier 3: whatever fits,
 * fastest first. Within tier 1 and 2: the best expected quality
 * (catalog.c: benchmark mean / sqrt(1 + perplexity increase)); among the
 * candidates within 0.5 points of the best, the fastest wins (half a point
 * is below what the benchmarks can resolve, speed is not). The runner-up is
 * the best candidate of another model in the same tier (else another quant). */

#define MIN_TOK_S 5.0
#define QUALITY_SLACK 0.5

typedef struct {
  const still_catalog_model *cm;
  const still_model_shape *shape;
  still_quant_mix mix;
  double quality;
  uint64_t bytes;
  still_fit fit;
  int tier; /* 1, 2, 3; 0: does not fit */
} candidate;

static void fill_pick(const candidate *c, still_pick *p)
{
  memset(p, 0, sizeof *p);
  snprintf(p->model_id, sizeof p->model_id, "%s", c->shape->id);
  snprintf(p->model_name, sizeof p->model_name, "%s", c->shape->name);
  snprintf(p->quant, sizeof p->quant, "%s", still_mix_name(c->mix));
  p->quality = c->quality;
  p->file_bytes = c->bytes;
  p->fit = c->fit;
}

/* Index of the best candidate of a tier (quality, then speed within the slack); -1 if none.
 * skip_model: ignore candidates of this model (NULL: none). */
static int best_of_tier(const candidate *c, int n, int tier, const still_catalog_model *skip_model, bool use_slack)
{
  int best = -1;
  for (int i = 0; i < n; i++) {
    if (c[i].tier != tier || c[i].cm == skip_model) continue;
    if (tier == 3) {
      if (best < 0 || c[i].fit.tok_s_estimate > c[best].fit.tok_s_estimate) best = i;
    } else if (best < 0 || c[i].quality > c[best].quality) {
      best = i;
    }
  }
  if (best < 0 || tier == 3 || !use_slack) return best;
  int pick = best;
  for (int i = 0; i < n; i++) {
    if (c[i].tier != tier || c[i].cm == skip_model) continue;
    if (c[i].quality >= c[best].quality - QUALITY_SLACK && c[i].fit.tok_s_estimate > c[pick].fit.tok_s_estimate)
      pick = i;
  }
  return pick;
}

still_status still_recommend(const still_hardware *hw, int32_t n_ctx, still_recommendation *out, still_error *err)
{
  if (!hw || !out) return still_set_error(err, STILL_ERR_INVALID_ARG, "no hardware or result");
  memset(out, 0, sizeof *out);
  if (n_ctx <= 0) n_ctx = 8192;
  out->n_ctx = n_ctx;
  const size_t n_models = still_catalog_n_models(), n_quants = still_catalog_n_quants();
  candidate *c = calloc(n_models * n_quants, sizeof *c);
  if (!c) return still_set_error(err, STILL_ERR_NOMEM, "out of memory");
  int n = 0;
  still_fit_params p = still_fit_params_default();
  p.n_ctx = n_ctx;
  still_status st = STILL_OK;
  for (size_t i = 0; i < n_models && st == STILL_OK; i++) {
    const still_catalog_model *cm = still_catalog_model_at(i);
    const still_model_shape *shape = still_shape_find(cm->shape_id);
    if (!shape) continue;
    for (size_t q = 0; q < n_quants && st == STILL_OK; q++) {
      still_quant_mix mix = still_catalog_quant_at(q)->mix;
      void *buf = NULL;
      size_t len = 0;
      st = still_shape_build_header(shape, mix, false, &buf, &len, err);
      if (st != STILL_OK) break;
      candidate *x = &c[n];
      st = still_fit_estimate_buffer(buf, len, 0, hw, &p, &x->fit, NULL, err);
      free(buf);
      if (st != STILL_OK) break;
      x->cm = cm;
      x->shape = shape;
      x->mix = mix;
      x->quality = still_catalog_quality(cm, mix);
      x->bytes = x->fit.weights_bytes;
      if (x->fit.verdict == STILL_FIT_NO) x->tier = 0;
      else if (x->fit.verdict == STILL_FIT_GPU) x->tier = 1;
      else if (x->fit.tok_s_estimate >= MIN_TOK_S) x->tier = 2;
      else x->tier = 3;
      n++;
    }
  }
  if (st != STILL_OK) {
    free(c);
    return st;
  }

  int tier = 0, pick = -1;
  for (int t = 1; t <= 3 && pick < 0; t++) {
    pick = best_of_tier(c, n, t, NULL, true);
    if (pick >= 0) tier = t;
  }
  char sp[32], a[32], b[32];
  if (pick < 0) {
    /* nothing fits: name the smallest need */
    int small = 0;
    for (int i = 1; i < n; i++)
      if (c[i].fit.total_bytes < c[small].fit.total_bytes) small = i;
    machine mc;
    machine_from_hw(hw, &mc);
    uint64_t free_all = mc.unified ? mc.pool_free : hw->ram_free;
    for (int i = 0; i < mc.n && !mc.unified; i++) free_all += hw->gpus[mc.index[i]].free_bytes;
    if (n > 0)
      snprintf(out->reason, sizeof out->reason,
               "No model of the catalog fits in this machine's free memory: the smallest, %s %s, needs %s with "
               "%d tokens of context and %s is free.",
               c[small].shape->name, still_mix_name(c[small].mix),
               still_format_bytes(c[small].fit.total_bytes, a, sizeof a), n_ctx,
               still_format_bytes(free_all, b, sizeof b));
    free(c);
    return STILL_OK;
  }
  out->found = true;
  fill_pick(&c[pick], &out->pick);
  int ru = best_of_tier(c, n, tier, c[pick].cm, true);
  if (ru < 0) {
    /* no other model in this tier: the best other quantization of the same model */
    for (int i = 0; i < n; i++)
      if (i != pick && c[i].tier == tier && (ru < 0 || c[i].quality > c[ru].quality)) ru = i;
  }
  if (ru >= 0) {
    out->has_runner_up = true;
    fill_pick(&c[ru], &out->runner_up);
  }
  const candidate *x = &c[pick];
  int top = best_of_tier(c, n, tier, NULL, false);
  const bool for_speed = top >= 0 && top != pick;
  switch (tier) {
  case 1:
    if (for_speed)
      snprintf(out->reason, sizeof out->reason,
               "%s %s runs fully on your GPU with %d tokens of context (~%s tok/s) and is the fastest model within "
               "half a point of the best expected quality that does.",
               x->shape->name, still_mix_name(x->mix), n_ctx, fmt_speed(x->fit.tok_s_estimate, sp, sizeof sp));
    else
      snprintf(out->reason, sizeof out->reason,
               "%s %s has the best expected quality of the models that run fully on your GPU with %d tokens of "
               "context (~%s tok/s).",
               x->shape->name, still_mix_name(x->mix), n_ctx, fmt_speed(x->fit.tok_s_estimate, sp, sizeof sp));
    break;
  case 2:
    snprintf(out->reason, sizeof out->reason,
             "No model runs fully on a GPU here with %d tokens of context; %s %s %s of those reaching at least "
             "5 tok/s (~%s tok/s).",
             n_ctx, x->shape->name, still_mix_name(x->mix),
             for_speed ? "is the fastest within half a point of the best expected quality"
                       : "has the best expected quality",
             fmt_speed(x->fit.tok_s_estimate, sp, sizeof sp));
    break;
  default:
    snprintf(out->reason, sizeof out->reason,
             "Nothing reaches 5 tok/s on this machine; %s %s is the fastest model that fits (~%s tok/s).",
             x->shape->name, still_mix_name(x->mix), fmt_speed(x->fit.tok_s_estimate, sp, sizeof sp));
    break;
  }
  free(c);
  return STILL_OK;
}
