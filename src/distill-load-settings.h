/* distill-load-settings.h — how a model is run: GPU layers, CPU threads, the type of its
 * context memory (KV cache) and the context size of new chats.
 *
 * The defaults for all models are GSettings keys (default-gpu-layers, default-cpu-threads,
 * default-kv-type, default-context-size); a model may have its own settings in
 * model-load-settings (a{sa{sv}} keyed by the model's file name: "gpu-layers" i, "threads" i,
 * "kv-type" s, "context-size" i; a key left out falls back to the default).
 *
 * "Auto" GPU layers are computed with the fit estimator (still_fit_estimate) from the model's
 * header and the hardware with the user's corrections: the layers that fit on the GPUs the
 * estimate uses, split over them by its placement. */
#pragma once

#include <gio/gio.h>

#include "distill-engine.h"
#include "still.h"

G_BEGIN_DECLS

#define DISTILL_GPU_LAYERS_AUTO (-1) /* as many as fit (fit estimate) */
#define DISTILL_THREADS_AUTO 0       /* one per physical core */

typedef struct {
  gboolean own;     /* the model has its own settings (else these are the defaults) */
  int gpu_layers;   /* DISTILL_GPU_LAYERS_AUTO, 0: CPU only, or a number of layers */
  int threads;      /* DISTILL_THREADS_AUTO or a number */
  char kv_type[8];  /* "f16", "f32" or "q8_0" */
  int context_size; /* tokens, for new chats */
} DistillLoadSettings;

/* The key of a model in model-load-settings: its file name. */
char *distill_load_settings_model_key(const char *model_path);

/* The settings that apply to model_path (NULL: the defaults). */
void distill_load_settings_get(GSettings *settings, const char *model_path, DistillLoadSettings *out);
/* The defaults only. */
void distill_load_settings_get_defaults(GSettings *settings, DistillLoadSettings *out);
void distill_load_settings_set_defaults(GSettings *settings, const DistillLoadSettings *ls);
/* Give model_path its own settings (ls), or (ls NULL) drop them so the defaults apply. */
void distill_load_settings_set_model(GSettings *settings, const char *model_path, const DistillLoadSettings *ls);
gboolean distill_load_settings_has_model(GSettings *settings, const char *model_path);

/* The context size for a new chat with model_path (its own setting, else default-context-size). */
int distill_load_settings_get_context_size(GSettings *settings, const char *model_path);

/* Where a model's layers go: how many on the GPUs, and on which ("device" and "split" as the
 * engine's properties of those names take them). */
typedef struct {
  int gpu_layers;   /* on all GPUs together */
  int n_layers;     /* the model's layers (0 when the header cannot be read) */
  int n_devices;    /* GPUs the layers go on (0: none known; the engine's default choice) */
  char device[64];  /* "": the engine's default choice (also when that is the one GPU used); one index
                     * ("1"); a list for a split ("0,1") */
  char split[64];   /* "" or the shares per listed device ("14,14", layers; usable MiB when nothing fits) */
} DistillGpuPlacement;

/* The fit estimate's placement of model_path at n_ctx tokens (0: the model's default) with
 * kv_type on hw: the layers that fit on every GPU the estimate uses, as a split over them when
 * there are several, so the chat runs where the library's verdict says. hw NULL (not known yet)
 * or no usable GPU: no GPU layers. */
void distill_load_settings_auto_placement(const char *model_path, const still_hardware *hw, int n_ctx,
                                          const char *kv_type, DistillGpuPlacement *out);
/* gpu_layers fixed by the user (at most the model's layers), over the GPUs of the Auto placement
 * in the proportions of its layers on each (when nothing fits on a GPU: over the GPUs the estimate
 * may use, by their usable memory); without hw or such a GPU, on the engine's default device. */
void distill_load_settings_fixed_placement(const char *model_path, const still_hardware *hw, int n_ctx,
                                           const char *kv_type, int gpu_layers, DistillGpuPlacement *out);
/* The auto placement's GPU layers. n_layers_out (may be NULL): the model's layers (0 when the
 * header cannot be read). */
int distill_load_settings_auto_gpu_layers(const char *model_path, const still_hardware *hw, int n_ctx,
                                          const char *kv_type, int *n_layers_out);

/* Set the engine's "gpu-layers", "device", "split", "n-threads" and "kv-type" for model_path (GPU
 * layers placed as above, for a context of n_ctx tokens; 0: the model's setting). The engine reads them
 * when a generation is queued; when they change, it makes a new session. Returns the GPU layers set. */
int distill_load_settings_apply(GSettings *settings, const char *model_path, int n_ctx, DistillEngine *engine,
                                const still_hardware *hw);

/* "f16" → STILL_KV_F16 …; unknown names: F16. */
still_kv_type distill_load_settings_kv_type(const char *name);

G_END_DECLS
