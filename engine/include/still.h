/* still.h — the public interface of the "still" inference engine.
 *
 * Plain C11, no GLib. This is the only engine header the app includes.
 * Every function that can fail returns a still_status and, where it takes
 * one, fills a still_error with a message in plain words.
 */
#ifndef STILL_H
#define STILL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STILL_VERSION "0.1.0"

typedef enum {
  STILL_OK = 0,
  STILL_ERR_IO,          /* a file could not be opened, read or written */
  STILL_ERR_FORMAT,      /* the bytes are not what they should be (bad magic, bad value) */
  STILL_ERR_TRUNCATED,   /* the data ends early (or, for a header buffer: more bytes needed) */
  STILL_ERR_UNSUPPORTED, /* a version, tensor type, architecture … we do not handle */
  STILL_ERR_NOMEM,       /* out of memory */
  STILL_ERR_INVALID_ARG, /* a caller passed something impossible */
  STILL_ERR_CANCELLED,   /* still_session_cancel() was called */
  STILL_ERR_CONTEXT_FULL,/* the context window is full */
  STILL_ERR_BACKEND,     /* a compute backend failed (driver error, device lost …) */
} still_status;

/* A message in plain words, filled by functions that fail. */
typedef struct {
  still_status status;
  char message[512];
} still_error;

const char *still_status_name(still_status s);

/* ==== models and sessions ====================================================
 * A still_model holds the mmap'd weights, the hyper-parameters, the tokenizer
 * and the chat template; it is read-only once loaded and may be shared by
 * several sessions (one thread per session). A still_session owns a KV cache,
 * a thread pool and the sampler state of one conversation.
 */
typedef struct still_model still_model;
typedef struct still_session still_session;

/* Progress of a long operation, fraction in [0, 1]. Return false to cancel. */
typedef bool (*still_progress_fn)(float fraction, void *user);

typedef struct {
  bool prefetch; /* read every weight page once while loading (reports progress); default false */
  bool no_vocab; /* skip the tokenizer (evaluation from token ids only); default false */
} still_load_params;

still_load_params still_load_params_default(void);

/* Open a GGUF model (architectures qwen2, llama, qwen3). The weights stay
 * mmap'd. cb may be NULL. On failure *out is NULL and err says why in plain
 * words ("architecture 'gemma2' is not supported; supported: qwen2, llama, qwen3"). */
still_status still_model_load(const char *path, const still_load_params *p, still_progress_fn cb, void *user,
                              still_model **out, still_error *err);
void still_model_free(still_model *m);

typedef struct {
  const char *arch;            /* "qwen2", "llama", "qwen3" */
  const char *name;            /* general.name, else the file name */
  const char *file_type;       /* "Q4_K_M", … from general.file_type; "unknown" when absent */
  const char *template_family; /* "r1-distill", "r1-0528", "qwen3", "llama3", "chatml" */
  bool template_known;         /* the GGUF template was recognised */
  bool is_r1;                  /* template family r1-distill or r1-0528: use still_sampling_r1() */
  bool has_vocab;
  uint64_t n_params;           /* weights (element count of every tensor) */
  uint64_t file_size;          /* bytes, all shards */
  uint64_t weight_bytes;       /* bytes of tensor data */
  int32_t n_vocab;             /* logits per position */
  int32_t n_ctx_train;
  int32_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
  float rope_base;
  const char *rope_scaling;    /* "none", "llama3", "yarn" */
} still_model_info;

const still_model_info *still_model_get_info(const still_model *m);

/* ---- tokens (need the vocab) ---- */
/* Tokenize len bytes. Writes at most cap ids and returns how many the text needs
 * (call again with a bigger buffer when larger than cap); -1 on error. */
int64_t still_tokenize(const still_model *m, const char *text, size_t len, bool add_bos, bool parse_special,
                       int32_t *out, int64_t cap, still_error *err);
/* Whole sequence to malloc'd UTF-8 (invalid bytes → U+FFFD); NULL without vocab. */
char *still_detokenize(const still_model *m, const int32_t *ids, size_t n, bool render_special);
int32_t still_token_bos(const still_model *m); /* -1 when none */
int32_t still_token_eos(const still_model *m);
bool still_token_is_eog(const still_model *m, int32_t id);
/* The raw chat template text from the GGUF (NUL-terminated), NULL when absent. */
const char *still_model_chat_template(const still_model *m);

/* ---- chat ---- */
typedef struct {
  const char *role;    /* "system", "user", "assistant"; others ("tool", …) rendered as the
                        * template does (rendered, or skipped). NULL is treated as "". */
  const char *content; /* UTF-8, NUL-terminated; NULL is treated as "" */
} still_message;

/* Render a conversation with the model's chat template (recognised from the
 * GGUF; ChatML when absent or unknown), the model's BOS/EOS texts passed to
 * it. Tokenize the result with parse_special = true; the R1 templates write
 * the BOS text themselves, so drop a second BOS if add_bos doubled it.
 * Returns a malloc'd string (caller frees), NULL when m is NULL or out of memory. */
char *still_chat_render(const still_model *m, const still_message *msgs, size_t n, bool add_generation_prompt);
/* True when the rendered generation prompt already opens the reasoning block
 * (R1 distills end it with "<think>\n"): the streamed text starts inside it. */
bool still_chat_starts_in_think(const still_model *m);

/* ---- sessions ---- */
typedef enum {
  STILL_KV_F16 = 0, /* default: half the memory of F32, like llama.cpp's default */
  STILL_KV_F32 = 1,
  STILL_KV_Q8_0 = 2, /* needs a head size that is a multiple of 32 */
} still_kv_type;

/* Steps of still_session_new that take seconds, so that a caller can say why
 * it waits (still_session_params.on_step). */
typedef enum {
  STILL_STEP_GPU_TUNE = 1, /* timing the GPU's shaders for this model: the first time this model's shapes
                            * meet this GPU and driver (a few seconds; remembered after, see
                            * still_session_gpu_tuning) */
} still_step;
typedef void (*still_step_fn)(still_step step, void *user);

typedef struct {
  int32_t n_ctx;     /* context window in tokens; 0: min(training context, 4096) */
  int32_t n_threads; /* 0: physical cores */
  int32_t n_batch;   /* prompt tokens per forward pass; 0: 512 */
  still_kv_type kv_type;
  int32_t n_gpu_layers; /* the last N layers (and the output layer) on a Vulkan GPU; 0: none (default); -1: all.
                         * When the GPU cannot take them: fewer layers, then the CPU (see still_session_offload) */
  const char *device;   /* Vulkan device: NULL/"" the default choice (discrete, then integrated), an index
                         * ("1", "Vulkan1") or part of its name; copied, may be freed after still_session_new.
                         * Several devices: a comma-separated list ("0,1"; the same one twice opens it twice) */
  const char *split;    /* shares of the GPU layers per device, like llama.cpp's --tensor-split ("3,1");
                         * NULL/"": one device, or equal shares for a device list. Without a device list the
                         * Vulkan devices are taken in order. Each device holds its layers and their KV cache */
  still_step_fn on_step; /* called on the thread of still_session_new as such a step starts (it must not call
                          * into this library: the tuner holds a lock then); NULL: none */
  void *step_user;
} still_session_params;

still_session_params still_session_params_default(void);

#define STILL_SEED_RANDOM UINT64_MAX

typedef struct {
  float temperature;     /* <= 0: greedy (argmax, lowest id wins ties) */
  int32_t top_k;         /* <= 0: off */
  float top_p;           /* >= 1: off */
  float min_p;           /* <= 0: off */
  float repeat_penalty;  /* 1: off; > 1 penalises tokens of the last repeat_last_n */
  int32_t repeat_last_n; /* tokens of history the penalty looks at (prompt included) */
  uint64_t seed;         /* STILL_SEED_RANDOM: from the clock */
  int32_t max_tokens;    /* <= 0: until end of generation, cancel or a full context */
  bool ignore_eog;       /* keep going after end-of-generation tokens (tests, benchmarks) */
} still_sampling;

/* temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, no penalty, random seed, no limit. */
still_sampling still_sampling_default(void);
/* Greedy decoding (temperature 0), everything else off. */
still_sampling still_sampling_greedy(void);
/* DeepSeek-R1 recommendations: temperature 0.6, top_p 0.95 (top_k and min_p off). */
still_sampling still_sampling_r1(void);
/* still_sampling_r1() when the model's template is an R1 distill, else still_sampling_default(). */
still_sampling still_sampling_for_model(const still_model *m);

typedef enum {
  STILL_STOP_NONE = 0,
  STILL_STOP_EOG,          /* the model produced an end-of-generation token (not streamed) */
  STILL_STOP_MAX_TOKENS,   /* sampling.max_tokens reached */
  STILL_STOP_CALLBACK,     /* the token callback returned false */
  STILL_STOP_CANCELLED,    /* still_session_cancel() */
  STILL_STOP_CONTEXT_FULL, /* no room for another token */
  STILL_STOP_ERROR,
} still_stop_reason;

typedef struct {
  int32_t prompt_tokens; /* prompt tokens evaluated by this call */
  int32_t prompt_cached; /* prompt tokens reused from the KV cache (common prefix) */
  double prompt_s;       /* seconds spent evaluating the prompt */
  int32_t gen_tokens;    /* tokens generated and streamed */
  int32_t gen_evals;     /* single-token forward passes after the prompt */
  double gen_s;          /* seconds from the end of the prompt to the end (sampling + decode) */
  double ttft_s;         /* seconds from the call to the first streamed token */
  int32_t n_past;        /* tokens in the KV cache afterwards */
  still_stop_reason stop;
} still_stats;

/* Called on the generating thread for every new token: its id and its text
 * (complete UTF-8; a partial character waits for the next token, so len may
 * be 0; text is NULL without vocab). Return false to stop. When generation
 * stops in the middle of a character, one last call with token -1 carries
 * the held-back bytes as U+FFFD (its return value is ignored). */
typedef bool (*still_token_fn)(int32_t token, const char *text, size_t len, void *user);

still_status still_session_new(still_model *m, const still_session_params *p, still_session **out, still_error *err);
void still_session_free(still_session *s);
/* One line saying where the layers went, e.g. "offload: 28/28 layers on Vulkan0 (llvmpipe …)" or
 * "offload: 0/28 layers on a GPU (CPU only)"; with the reason when the GPU was asked for and failed. */
const char *still_session_offload(const still_session *s);
/* How the GPU's decode and prompt shaders were chosen, e.g. "measured: dot Q4_K Q5_K, preround 1,
 * prompt default (decode 4.71 ms (defaults 5.02), … on NAME)" the first time this model kind
 * meets the GPU, "cached: …" after, "defaults (why): …" where nothing was timed; "" without GPU
 * layers. STILL_VK_TUNE=0 keeps the defaults, =again measures again (see README). */
const char *still_session_gpu_tuning(const still_session *s);
int32_t still_session_n_ctx(const still_session *s);
int32_t still_session_n_past(const still_session *s);
/* Forget the cached tokens (the next call evaluates its whole prompt). */
void still_session_reset(still_session *s);

/* Evaluate prompt[0..n) (ids as given: nothing is added) and generate.
 * The cache keeps the longest common prefix of the previous tokens and the
 * new prompt, so a chat only evaluates the new turn. Returns STILL_OK for the
 * stops EOG / MAX_TOKENS / CALLBACK, STILL_ERR_CANCELLED after
 * still_session_cancel(), STILL_ERR_CONTEXT_FULL when the prompt does not fit
 * or the context fills up (the tokens generated so far were streamed).
 * stats and err may be NULL. */
still_status still_session_generate(still_session *s, const int32_t *prompt, size_t n, const still_sampling *sp,
                                    still_token_fn on_token, void *user, still_stats *stats, still_error *err);

/* Stop a running still_session_generate/still_session_logits from any thread:
 * within one token, or between layers during a prompt (layers on a GPU: within
 * about 0.2 s of its work or one layer, whichever is longer; see
 * STILL_VK_CANCEL_SLICE_MS). The tokens of the
 * batch it stops are not kept in the cache. The flag is cleared when the next
 * call starts. */
void still_session_cancel(still_session *s);

/* Save the cached prefix (the tokens in the KV cache and their keys/values,
 * only the filled positions, in the cache's type) to path, written to a
 * temporary file and renamed over path when complete. Load it into a session
 * of the same model file, KV cache type and rope scaling (another context
 * size is fine when the tokens fit): the next still_session_generate /
 * still_session_logits then reuses the common prefix as if it had been
 * evaluated (its results are identical). A file saved for another model, a
 * corrupt, truncated or newer-format file is refused with an error in plain
 * words (STILL_ERR_INVALID_ARG, _FORMAT, _TRUNCATED, _UNSUPPORTED,
 * _CONTEXT_FULL, _IO); the cache is then left as it was, or empty when the
 * damage is found after the header. Layers on a GPU (one device or a
 * split) are saved and loaded through their device caches: the file is the
 * same as a CPU-only session's, so a prefix saved with GPU layers loads on
 * the CPU and the reverse. Format: engine/kv-cache.h. */
still_status still_session_save_prefix(still_session *s, const char *path, still_error *err);
still_status still_session_load_prefix(still_session *s, const char *path, still_error *err);
/* The token ids in the cache (still_session_n_past() of them); NULL when empty.
 * Valid until the next call on the session. */
const int32_t *still_session_tokens(const still_session *s);

/* Evaluate ids[0..n) and copy logits: of the last position (n_vocab floats)
 * or, with all_positions, of every position (n * n_vocab floats; the whole
 * sequence is evaluated again, no prefix reuse). */
still_status still_session_logits(still_session *s, const int32_t *ids, size_t n, bool all_positions, float *out,
                                  still_stats *stats, still_error *err);

/* ==== hardware, "will it fit", recommendation =================================
 * still_hardware_probe() looks at this machine (GPUs through Vulkan, RAM,
 * cgroup limits, CPU, free disk). still_fit_estimate() predicts from a GGUF
 * header alone (no tensor data needed: a file's first bytes fetched with an
 * HTTP Range request are enough) how a model would run on a machine: fully
 * on the GPU, partly offloaded, on the CPU, or not at all. still_recommend()
 * ranks the built-in catalog of R1 distills × quantizations for a machine.
 * All speeds are rough estimates from memory bandwidth (see engine/fit.c).
 */
#define STILL_MAX_GPUS 8
#define STILL_DEFAULT_CPU_BANDWIDTH_GBS 40.0 /* assumed RAM bandwidth when not measured */

typedef enum {
  STILL_GPU_OTHER = 0,
  STILL_GPU_DISCRETE,
  STILL_GPU_INTEGRATED,
  STILL_GPU_VIRTUAL,
  STILL_GPU_CPU, /* a Vulkan driver running on the CPU (lavapipe, SwiftShader) */
} still_gpu_kind;

#define STILL_MAX_GPU_HEAPS 16 /* VK_MAX_MEMORY_HEAPS */

/* One memory heap of a GPU, as the driver reports it. */
typedef struct {
  uint64_t size_bytes;
  uint64_t budget_bytes; /* what this process may use now, other processes' use allowed for
                          * (VK_EXT_memory_budget heapBudget); 0 when not known */
  uint64_t used_bytes;   /* what this process uses of it (heapUsage); 0 when not known */
  bool device_local;     /* the GPU's own memory (VRAM; on an integrated GPU, its share of the RAM) */
  bool host_visible;     /* the CPU can map memory of this heap (a resizable BAR, or system RAM) */
} still_gpu_heap;

typedef struct {
  char name[256];
  still_gpu_kind kind;
  bool cpu_emulated;     /* software device (kind CPU): listed, never used to place layers */
  bool unified;          /* shares system RAM with the CPU (integrated GPUs, Apple silicon) */
  uint32_t vendor_id, device_id;
  char api_version[24];  /* "1.3.239" */
  uint64_t total_bytes;  /* device-local memory heaps together */
  uint64_t free_bytes;   /* budget − usage of those heaps (VK_EXT_memory_budget), else total_bytes */
  bool free_known;       /* false: the driver has no memory budget, only totals are known */
  double bandwidth_gbs;  /* memory bandwidth in GB/s: a table of known cards, else a default by kind, or the
                          * RAM's measured figure (bandwidth_measured) */
  bool bandwidth_known;  /* true when the card was found in the table */
  bool bandwidth_measured; /* bandwidth_gbs is this machine's RAM read bandwidth as the CPU measured it
                          * (still_hardware_set_memory_bandwidth: lavapipe, an integrated GPU not in the
                          * table): a lower bound for what the GPU reads */
  bool matrix_cores;     /* VK_NV_cooperative_matrix with fp16 inputs and fp32 sums: prefill on tensor cores */
  uint64_t max_buffer_bytes; /* the largest buffer a shader may see (maxStorageBufferRange: the engine binds
                          * each weight matrix and layer KV cache whole); 0: not known (simulated machines) */
  uint8_t int8_dot;      /* 8-bit integer dot products (VK_KHR_shader_integer_dot_product), which the decode
                          * of Q4_K and Q5_K uses: STILL_INT8_DOT_NONE, _EMULATED (by the driver) or _HARDWARE */
  uint32_t n_heaps;      /* its memory heaps (0: not known, simulated machines) */
  still_gpu_heap heaps[STILL_MAX_GPU_HEAPS];
  uint8_t uuid[16];      /* VkPhysicalDeviceIDProperties.deviceUUID: the same for one GPU whatever driver lists it */
  bool uuid_known;
  bool duplicate;        /* the same GPU as entry duplicate_of (an earlier one), listed again by another driver
                          * (RADV and AMDVLK, Dozen …) or ICD file: the fit estimate's placement leaves it out,
                          * so one card's memory is not counted twice, and a --split without --device takes
                          * the card once; --device may still name both entries */
  int32_t duplicate_of;
} still_gpu;

enum { STILL_INT8_DOT_NONE = 0, STILL_INT8_DOT_EMULATED = 1, STILL_INT8_DOT_HARDWARE = 2 };

typedef struct {
  /* memory, bytes */
  uint64_t ram_total;      /* MemTotal */
  uint64_t ram_available;  /* MemAvailable */
  uint64_t swap_total, swap_free;
  bool cgroup_limited;     /* a cgroup memory limit applies (container, flatpak, systemd slice) */
  uint64_t cgroup_max, cgroup_current;
  uint64_t ram_free;       /* what a model may use: min(MemAvailable, cgroup max − current) */
  /* CPU */
  char cpu_name[128];
  int32_t cpu_cores;       /* physical cores (>= 1) */
  int32_t cpu_threads;     /* logical CPUs online (>= 1) */
  bool avx2, avx512, vnni; /* usable (cpuid and OS agree); vnni: AVX512-VNNI or AVX-VNNI */
  double cpu_bandwidth_gbs;/* RAM bandwidth used by the speed estimate (assumed unless set) */
  bool cpu_bandwidth_measured;
  /* disk */
  bool disk_known;
  uint64_t disk_free;      /* bytes an unprivileged user may still write at the models folder */
  /* GPUs, in Vulkan enumeration order */
  int32_t n_gpus;
  still_gpu gpus[STILL_MAX_GPUS];
  bool vulkan;             /* built with Vulkan and an instance could be created */
  char gpu_note[512];      /* why no GPU is listed, or a caveat ("free memory unknown: …"); "" if none */
} still_hardware;

/* Probe this machine. models_dir may be NULL (disk_known false). A machine
 * without a GPU or without Vulkan is not an error (n_gpus 0, gpu_note says why). */
still_status still_hardware_probe(still_hardware *hw, const char *models_dir, still_error *err);

/* A made-up machine for "what if" estimates and tests: ram_free bytes of RAM,
 * n_gpus GPUs with vram_free[i] bytes free each (bandwidth gpu_bandwidth_gbs,
 * <= 0: default for the kind). unified: one GPU that shares the RAM (its
 * vram_free[0] is the shared pool; ram_free 0 means the same pool).
 * cpu_bandwidth_gbs <= 0: STILL_DEFAULT_CPU_BANDWIDTH_GBS. */
void still_hardware_simulated(still_hardware *hw, uint64_t ram_free, int n_gpus, const uint64_t *vram_free,
                              bool unified, double gpu_bandwidth_gbs, double cpu_bandwidth_gbs);

/* This machine's RAM read bandwidth, measured (still_measure_memory_bandwidth:
 * gbs > 0): the CPU's figure, and that of the GPUs that read the same memory
 * where no table knows them better: a Vulkan driver on the CPU, and an
 * integrated GPU that shares the RAM and is not in hw.c's table (its guess
 * by kind gives way to the measurement, a conservative stand-in: the CPU's
 * streaming read, below the GPU's on some APUs; bandwidth_measured). */
void still_hardware_set_memory_bandwidth(still_hardware *hw, double gbs);

/* The GPU a session takes when no device is named (the Vulkan backend's rule): the first of the
 * highest kind, discrete before integrated before virtual before other; a software one
 * (cpu_emulated) only when it is the only device. -1: none. */
int still_hardware_default_gpu(const still_hardware *hw);

/* A GPU's selector for still_session_params.device and --device: "uuid:" and the 32 hex digits
 * of its deviceUUID when hw knows one that no other entry of hw has (not the same GPU listed
 * twice), else its index ("1"). An index can point at another card once GPUs come or go (an
 * eGPU, a driver installed); the UUID names the same card. Returns the length it needs. */
int still_gpu_selector(const still_hardware *hw, int index, char *out, size_t size);
/* "uuid:" and g's deviceUUID in hex (a selector of that GPU); "" when the driver gave none.
 * Returns the length it needs. */
int still_gpu_uuid_string(const still_gpu *g, char *out, size_t size);
/* A device list of indices ("0,1", as still_fit_device_args writes it) with every index named by
 * still_gpu_selector; other entries are copied. false when out is too small (out is then ""). */
bool still_gpu_selectors(const still_hardware *hw, const char *devices, char *out, size_t size);

typedef struct {
  int32_t n_ctx;         /* context in tokens; 0: min(trained context, 4096) */
  still_kv_type kv_type; /* default F16 */
  int32_t n_batch;       /* prompt tokens per pass; 0: 512 (the session default) */
  /* A given placement instead of the most layers that fit: what a session
   * with these still_session_params.split / n_gpu_layers would do (exactly
   * its layer ranges, engine/gpu-split.h). */
  const char *split;     /* shares per GPU ("3,1"; NULL/"": none): one per GPU a split runs on, i.e. the
                          * GPUs of still_hardware in order (a duplicate entry left out), software (lavapipe)
                          * ones only when there is nothing else; another count is STILL_ERR_INVALID_ARG.
                          * Without gpu_layers_set:
                          * all layers (as `still run --split`) */
  bool gpu_layers_set;   /* n_gpu_layers below is the placement (false: as above) */
  int32_t n_gpu_layers;  /* the last N layers on the GPU(s), -1: all; without split on the default
                          * device (discrete, then integrated, then others) */
} still_fit_params;

still_fit_params still_fit_params_default(void);

typedef enum {
  STILL_FIT_GPU = 0, /* every layer on the GPU(s) */
  STILL_FIT_PARTIAL, /* some layers on the GPU(s), the rest on the CPU */
  STILL_FIT_CPU,     /* everything on the CPU */
  STILL_FIT_NO,      /* does not fit in free memory */
} still_fit_verdict;

const char *still_fit_verdict_name(still_fit_verdict v); /* "gpu", "partial", "cpu", "no" */

/* One GPU of a placement: its layers and what it needs. */
typedef struct {
  int32_t gpu;             /* index into still_hardware.gpus ("Vulkan<gpu>") */
  int32_t first_layer;     /* its layers: [first_layer, first_layer + n_layers) */
  int32_t n_layers;
  bool output;             /* holds the output layer (the last GPU with layers) */
  uint64_t weights_bytes;  /* its layers' tensors (+ output.weight, output_norm; tied: token_embd) */
  uint64_t kv_bytes;       /* KV cache of its layers at n_ctx (on a GPU: F16, or F32 for an F32 cache) */
  uint64_t compute_bytes;  /* compute buffers (0 without layers) */
  uint64_t overhead_bytes; /* driver, pipelines, staging (0 without layers) */
  uint64_t total_bytes;    /* the sum of the four */
  uint64_t free_bytes;     /* free memory of the GPU (unified: the shared pool) */
  uint64_t usable_bytes;   /* free minus the safety margin: total_bytes must stay within it */
  bool fits;
} still_fit_device;

typedef struct {
  still_fit_verdict verdict;
  int32_t n_layers;
  int32_t gpu_layers;                    /* on all GPUs together; the output layer goes with the last one */
  int32_t gpu_layers_per[STILL_MAX_GPUS];/* per entry of still_hardware.gpus */
  bool output_on_gpu;
  int32_t n_ctx;                         /* the context estimated for */
  int32_t n_ctx_train;                   /* 0 when the header does not say */
  int32_t n_vocab;
  uint64_t n_params;
  uint64_t weights_bytes;  /* every tensor of the file, wherever it goes */
  uint64_t kv_bytes;       /* KV cache at n_ctx, all layers */
  uint64_t compute_bytes;  /* compute buffers (CPU + GPUs) of this placement */
  uint64_t overhead_bytes; /* runtime + per-GPU driver overhead of this placement */
  uint64_t total_bytes;    /* memory needed, CPU + GPUs (weights as resident: see fit.c) */
  uint64_t cpu_bytes;      /* of which in RAM */
  uint64_t gpu_bytes[STILL_MAX_GPUS];
  uint64_t ram_free;       /* free memory considered (before the safety margin) */
  uint64_t gpu_free;       /* all usable GPUs together (unified: the shared pool) */
  int32_t max_ctx_gpu;     /* largest context (multiple of 256, <= trained) that runs fully on the GPU(s); 0: none */
  bool tight;              /* runs fully on the GPU only with under half the trained context */
  double tok_s_estimate;   /* decode speed, a rough estimate from memory bandwidth */
  char message[256];       /* "Runs with 30 of 48 layers on the GPU (expect ~4 tok/s)" */
  /* per GPU of the placement, in placement order (layer order) */
  int32_t n_devices;
  still_fit_device devices[STILL_MAX_GPUS];
  /* a given placement (still_fit_params.split / gpu_layers_set) that does not fit: a split of the
   * same layers that does ("30,18"; "" none) and the most GPU layers that fit with the given
   * split (-1: none does) */
  char suggested_split[64];
  int32_t suggested_gpu_layers;
} still_fit;

/* Estimate from a parsed GGUF header (gguf.h; tensor data not needed). */
struct gguf_file;
still_status still_fit_estimate(const struct gguf_file *header, const still_hardware *hw, const still_fit_params *p,
                                still_fit *out, still_error *err);
/* The same for a local file (only its header is read). */
still_status still_fit_estimate_file(const char *path, const still_hardware *hw, const still_fit_params *p,
                                     still_fit *out, still_error *err);
/* The same for the first len bytes of a file (file_size 0 if unknown). When
 * the header does not fit in len bytes: STILL_ERR_TRUNCATED with *need_bytes
 * (may be NULL) set to how many bytes to fetch (0: more will not help). */
still_status still_fit_estimate_buffer(const void *buf, size_t len, uint64_t file_size, const still_hardware *hw,
                                       const still_fit_params *p, still_fit *out, size_t *need_bytes,
                                       still_error *err);
/* The same for a split model (NAME-00001-of-0000N.gguf …): bufs[i] holds the
 * first lens[i] bytes of one part (any order; each may end right after its
 * tensor infos), file_sizes[i] its size (file_sizes NULL or 0: unknown). The
 * tensor infos of all parts are merged and the estimate is exactly that of
 * the whole model as one file; metadata comes from the first part. n 1 with a
 * file that is not split is still_fit_estimate_buffer. Errors in plain words:
 * "shard 3 of 5 is missing", headers of different models (split.count
 * differs), a part given twice. When some headers do not fit their bytes:
 * STILL_ERR_TRUNCATED with need_bytes[i] (an array of n, may be NULL) set to
 * how many bytes to fetch of each such part (0 for the others, or when more
 * will not help). (still_fit_estimate_buffer given one part of a split model
 * estimates that part's tensors only.) */
still_status still_fit_estimate_buffers(const void *const *bufs, const size_t *lens, const uint64_t *file_sizes,
                                        int n, const still_hardware *hw, const still_fit_params *p, still_fit *out,
                                        size_t *need_bytes, still_error *err);

/* What a session needs to run as an estimate places the layers (still_session_params.device and
 * .split): the GPUs with layers, "0,1", and their layers each, "14,14". devices is "" when one GPU
 * has them and it is unnamed_gpu (the engine's own choice, still_hardware_default_gpu: its index
 * adds nothing; the app names it by UUID, still_gpu_selector); shares is "" unless several have
 * them. Returns how many GPUs have layers. */
int still_fit_device_args(const still_fit *f, int unnamed_gpu, char *devices, size_t devices_size, char *shares,
                          size_t shares_size);

typedef struct {
  char model_id[24];    /* "qwen-14b" */
  char model_name[64];  /* "DeepSeek-R1-Distill-Qwen-14B" */
  char quant[12];       /* "Q4_K_M" */
  double quality;       /* expected benchmark mean in points (see engine/fit.c) */
  uint64_t file_bytes;  /* tensor bytes of this model + quant */
  still_fit fit;        /* at the recommendation's context */
} still_pick;

typedef struct {
  bool found;
  still_pick pick;
  bool has_runner_up;
  still_pick runner_up;
  int32_t n_ctx;        /* context the candidates were checked at */
  char reason[384];     /* one sentence */
} still_recommendation;

/* Pick the model + quantization with the best expected quality that runs
 * fully on the GPU(s) with n_ctx tokens (0: 8192), else the best whose speed
 * estimate is at least 5 tok/s, else the fastest that fits. */
still_status still_recommend(const still_hardware *hw, int32_t n_ctx, still_recommendation *out, still_error *err);

/* Measure this machine's memory read bandwidth in GB/s (1e9 bytes/s): the
 * best of five streaming reads of a buffer of `bytes` (0: 1 GiB; halved while
 * it cannot be allocated; it must be far larger than the CPU caches) with
 * n_threads threads (0: the physical cores). Takes about a second and touches
 * the whole buffer. 0 on failure. *bytes_used (may be NULL): the buffer size used. */
double still_measure_memory_bandwidth(int n_threads, uint64_t bytes, uint64_t *bytes_used);

/* The same for a GPU's own memory: shaders stream a buffer of `bytes` (0:
 * 1 GiB; at most half the device's memory and what one shader binding may
 * see; halved while it cannot be allocated, down to 16 MiB) that was
 * written first, best of five passes of at least ~20 ms each. device: as
 * still_session_params.device (NULL or "": the one a session would take).
 * 0 on failure, err saying why (built without Vulkan, no such device, out
 * of memory). *bytes_used and name (the device's name, name_size bytes)
 * may be NULL. */
double still_measure_gpu_bandwidth(const char *device, uint64_t bytes, uint64_t *bytes_used, char *name,
                                   size_t name_size, still_error *err);

/* ==== the standard benchmark ==================================================
 * The published two-prompt method (engine/bench-standard.c): the model loaded
 * first, one untimed 1-token warm-up, then `runs` timed runs of each prompt
 * with at most 512 generated tokens in a 2048-token context, each from an
 * empty cache. Used by `still bench --standard` and the app's Benchmark view.
 */
#define STILL_BENCH_N_PROMPTS 2
#define STILL_BENCH_MAX_TOKENS 512
#define STILL_BENCH_N_CTX 2048

/* The i-th standard prompt (the user message, rendered with the model's chat
 * template), and a short stable name ("average-speed", "binary-search");
 * NULL when i is out of range. */
const char *still_bench_prompt(int i);
const char *still_bench_prompt_name(int i);
/* Prompt 0 only: does the final answer (the text after the reasoning when
 * there is a "</think>") say the average speed is 75 km/h? False for the
 * tempting 72 km/h, for no answer, and for i != 0. */
bool still_bench_answer_ok(int i, const char *text);

/* Peak resident memory of this process (VmHWM, bytes; 0 when unknown), and a
 * reset of that high-water mark to the current RSS (Linux: /proc/self/clear_refs;
 * false when the kernel does not allow it, then the peak covers the process's life). */
uint64_t still_peak_rss_bytes(void);
bool still_peak_rss_reset(void);
/* Device (GPU) memory the session holds now and the most it has held: weights,
 * KV cache and scratch buffers on Vulkan devices; 0 on CPU-only sessions. */
uint64_t still_session_device_bytes(const still_session *s);
uint64_t still_session_peak_device_bytes(const still_session *s);

#ifdef __cplusplus
}
#endif

#endif /* STILL_H */
