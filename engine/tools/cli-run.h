/* cli-run.h — helpers shared by the subcommands that load a model and run
 * it (run, chat, logits in cli-run.c; bench in cli-bench.c; make-model in
 * cli-make-model.c): number and option value parsing with one-line errors,
 * token id lists, KV cache types, model loading.
 *
 * Every int-returning helper returns 0 on success or 1 after printing one
 * line with cli_fail(), so callers can `if (helper(...)) return 1;`.
 */
#ifndef STILL_CLI_RUN_H
#define STILL_CLI_RUN_H

#include "still.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An integer option value in [min, max]; opt names the option in the message.
 * text NULL leaves *out unchanged (option not given). */
int cli_run_int(const char *opt, const char *text, int64_t min, int64_t max, int64_t *out);
/* The same into an int32_t. */
int cli_run_i32(const char *opt, const char *text, int32_t min, int32_t max, int32_t *out);
/* A finite number in [min, max]. */
int cli_run_float(const char *opt, const char *text, double min, double max, float *out);
/* An unsigned 64-bit integer (decimal). */
int cli_run_u64(const char *opt, const char *text, uint64_t *out);

/* "f16", "f32", "q8_0" (case-insensitive). */
int cli_run_kv_type(const char *text, still_kv_type *out);
const char *cli_run_kv_type_name(still_kv_type t);

/* Load a model; no_vocab skips the tokenizer. */
int cli_run_load_model(const char *path, bool no_vocab, still_model **out);

/* -ngl not given (nor --device/--split): as many layers as the fit estimate
 * (engine/fit.c) puts on this machine's GPU for sp's context, batch and KV
 * type; 0 when there is no usable GPU (software Vulkan drivers such as
 * lavapipe are never chosen) or the probe fails. The estimate keeps a safety
 * margin; when it spreads layers over several GPUs, the largest share is
 * used (the session runs on one device unless --split says otherwise). */
void cli_run_auto_gpu_layers(const still_model *m, still_session_params *sp);

/* Print generation statistics as one line on stderr (prefix may be NULL). */
void cli_run_print_stats(const char *prefix, const still_stats *st);

/* 0 when the session's offload line is still `at_start`; else (the GPU
 * failed during the runs and its layers went on on the CPU) an error
 * message and 1: a benchmark must not report timings that mix the two. */
int cli_run_bench_gpu_intact(const char *at_start, const still_session *s);

#endif /* STILL_CLI_RUN_H */
