/* distill-offload.h — the engine's offload line ("offload: 28/28 layers on Vulkan0 (NAME)") read
 * back: where a session's layers run, for the benchmark records and the chat's statistics.
 *
 * The engine writes the line (engine/graph.c, engine/vulkan/vk-forward.c):
 *   offload: 0/28 layers on a GPU (CPU only)
 *   offload: 0/28 layers on a GPU (REASON; running on the CPU)
 *   offload: 0/28 layers on a GPU (REASON; running on the CPU from then on)   a GPU failed mid-way
 *   offload: 28/28 layers on Vulkan0 (NAME)
 *   offload: 20/48 layers on Vulkan1 (NAME) (fewer than asked: REASON)
 *   offload: 64/64 layers on Vulkan0 (NAME) 32 + Vulkan1 (NAME) 32             a split
 * where NAME may hold parentheses of its own ("llvmpipe (LLVM 15.0.6, 256 bits)"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DISTILL_OFFLOAD_MAX_DEVICES 16

typedef struct {
  int gpu_layers;        /* layers on GPUs; 0 when the line cannot be read */
  int n_layers;          /* the model's layers; 0 when the line cannot be read */
  int n_devices;         /* GPUs named (0 on the CPU, or when the line names none the usual way) */
  char *names[DISTILL_OFFLOAD_MAX_DEVICES]; /* their names */
  int layers[DISTILL_OFFLOAD_MAX_DEVICES];  /* their layers (a split; one GPU: all of gpu_layers) */
  char *remark;          /* the engine's words in parentheses: why fewer layers, or why the CPU
                          * ("CPU only" is no remark); NULL when none */
  gboolean gpu_failed;   /* the GPU failed during the session; the CPU runs it from then on */
} DistillOffload;

/* Reads line (NULL or "" gives zeroes). Free with distill_offload_clear. */
void distill_offload_parse(const char *line, DistillOffload *out);
void distill_offload_clear(DistillOffload *o);

/* The names of the GPUs, joined by " + " ("" on the CPU). Caller frees. */
char *distill_offload_devices(const DistillOffload *o);

/* Where the layers ran, in words for people, translated: "All 28 layers on the GPU (NVIDIA GeForce
 * RTX 4090)", "20 of 48 layers on the GPU (…), the rest on the CPU", "All 64 layers on 2 GPUs:
 * A (32 layers), B (32 layers)", "On the CPU", with the engine's remark after. A line that cannot be
 * read comes back as it is. Caller frees. */
char *distill_offload_describe(const char *line);

G_END_DECLS
