/* bench-vec.c — single-thread matrix × vector speed of the dot kernels, per
 * ISA: GB/s of weight bytes streamed (a decode step is one such product per
 * weight matrix). Not a test and not built by meson; build it with
 *
 *   ninja -C build engine/libstill.a
 *   cc -std=c11 -O2 -D_GNU_SOURCE -Iengine -Iengine/include engine/cpu/bench-vec.c \
 *      build/engine/libstill.a -lm -lpthread -o /tmp/bench-vec
 *   /tmp/bench-vec [rows] [cols] [types…]      (default 4096 4096, Q4_K Q8_0 …)
 *
 * With BENCH_TOKENS=T in the environment it times the multi-token kernels
 * instead (still_gemm_run over T tokens, rows in 256 KiB tiles as graph.c
 * passes them) and prints GOP/s (2·rows·cols·T / time) beside GB/s.
 *
 * The weights are random bytes with sane fp16 scales (speed does not depend
 * on the values). Each timing includes quantizing the activations once.
 */
#include "cpu/cpu-features.h"
#include "cpu/gemm.h"
#include "cpu/vec.h"
#include "quants/blocks.h"
#include "types.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Random bytes, then every fp16 scale (the first 2 or 4 bytes of a block,
 * or the last 2 for Q2_K/Q3_K/Q6_K) set to a small finite value. */
static void fill_weights(uint32_t type, uint8_t *w, size_t bytes, int64_t n_blocks)
{
  const still_type_traits *t = still_type_get(type);
  for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)next();
  if (!t->quantized) {
    if (type == STILL_TYPE_F32)
      for (size_t i = 0; i < bytes / 4; i++) ((float *)w)[i] = (float)((int)(next() % 2001) - 1000) * 1e-3f;
    else
      for (size_t i = 0; i < bytes / 2; i++) ((uint16_t *)w)[i] = 0x3000 | (uint16_t)(next() & 0x83ff);
    return;
  }
  const uint16_t h = still_fp32_to_fp16(0.01f);
  for (int64_t b = 0; b < n_blocks; b++) {
    uint8_t *blk = w + (size_t)b * t->type_size;
    switch (type) {
    case STILL_TYPE_Q2_K: memcpy(blk + 80, &h, 2); memcpy(blk + 82, &h, 2); break;
    case STILL_TYPE_Q3_K: memcpy(blk + 108, &h, 2); break;
    case STILL_TYPE_Q6_K: memcpy(blk + 208, &h, 2); break;
    case STILL_TYPE_Q4_1: case STILL_TYPE_Q5_1: case STILL_TYPE_Q4_K: case STILL_TYPE_Q5_K:
      memcpy(blk, &h, 2);
      memcpy(blk + 2, &h, 2);
      break;
    default: memcpy(blk, &h, 2); break;
    }
  }
}

/* The multi-token kernels over n_tok tokens (see the header comment). */
static int bench_gemm(int64_t rows, int64_t cols, int n_tok, const char **types, int n_types)
{
  printf("features: %s\nmatrix %lld x %lld, %d tokens, one thread\n", still_cpu_feature_string(), (long long)rows,
         (long long)cols, n_tok);
  printf("%-6s %-11s %10s %9s\n", "type", "isa", "ms", "GOP/s");
  float *act = malloc(sizeof(float) * (size_t)cols * (size_t)n_tok);
  float *out = malloc(sizeof(float) * (size_t)rows * (size_t)n_tok);
  for (int64_t i = 0; i < cols * n_tok; i++) act[i] = (float)((int)(next() % 2001) - 1000) * 1e-3f;
  for (int ti = 0; ti < n_types; ti++) {
    const int type = still_type_from_name(types[ti]);
    const still_type_traits *t = type >= 0 ? still_type_get((uint32_t)type) : NULL;
    if (!t || still_vec_dot_type((uint32_t)type) == STILL_TYPE_COUNT || cols % t->block_size) {
      printf("%-6s (no kernel or bad size)\n", types[ti]);
      continue;
    }
    uint64_t row_bytes, ybytes;
    still_type_bytes((uint32_t)type, (uint64_t)cols, &row_bytes);
    const uint32_t vtype = still_vec_dot_type((uint32_t)type);
    still_type_bytes(vtype, (uint64_t)cols, &ybytes);
    const size_t wbytes = (size_t)row_bytes * (size_t)rows;
    uint8_t *w = aligned_alloc(64, (wbytes + 63) / 64 * 64);
    char *y = aligned_alloc(64, ((size_t)ybytes * (size_t)n_tok + 63) / 64 * 64);
    fill_weights((uint32_t)type, w, wbytes, rows * (cols / t->block_size));
    int64_t tile = (int64_t)(256 * 1024 / row_bytes);
    if (tile < 8) tile = 8;
    for (int isa = STILL_ISA_AVX2; isa <= (int)still_cpu_best_isa(); isa++) {
      const still_vec_dot_fn dot = still_get_vec_dot((uint32_t)type, (still_isa)isa);
      const still_gemm_fn gemm = still_get_gemm((uint32_t)type, (still_isa)isa);
      const still_quantize_row_fn quant = still_get_quantize_row(vtype, (still_isa)isa);
      for (int tk = 0; tk < n_tok; tk++) quant(act + tk * cols, y + (size_t)tk * ybytes, cols);
      double best = 1e30, t_total = 0;
      for (int rep = 0; rep < 50 && (rep < 3 || t_total < 1.5); rep++) {
        const double t0 = still_time_s();
        for (int64_t r = 0; r < rows; r += tile) {
          const int64_t nr = rows - r < tile ? rows - r : tile;
          still_gemm_run(gemm, dot, cols, nr, n_tok, w + (size_t)r * row_bytes, row_bytes, y, ybytes, out + r, rows);
        }
        const double dt = still_time_s() - t0;
        t_total += dt;
        if (dt < best) best = dt;
      }
      printf("%-6s %-11s %10.2f %9.2f\n", t->name, still_isa_name((still_isa)isa), best * 1e3,
             2.0 * (double)rows * (double)cols * n_tok / best / 1e9);
    }
    free(w);
    free(y);
  }
  free(act);
  free(out);
  return 0;
}

int main(int argc, char **argv)
{
  int64_t rows = argc > 1 ? atoll(argv[1]) : 4096;
  int64_t cols = argc > 2 ? atoll(argv[2]) : 4096;
  const char *default_types[] = {"Q4_K", "Q8_0", "Q6_K", "Q5_K", "Q4_0", "F16", "F32", "BF16"};
  const char **types = argc > 3 ? (const char **)argv + 3 : default_types;
  const int n_types = argc > 3 ? argc - 3 : (int)(sizeof default_types / sizeof default_types[0]);

  const char *tok_env = getenv("BENCH_TOKENS");
  const int n_tok = tok_env ? atoi(tok_env) : 0;
  if (n_tok > 0) return bench_gemm(rows, cols, n_tok, types, n_types);
  printf("features: %s\nmatrix %lld x %lld, one thread\n", still_cpu_feature_string(), (long long)rows, (long long)cols);
  printf("%-6s %-11s %-11s %10s %9s\n", "type", "isa", "kernel", "MB", "GB/s");
  float *act = malloc(sizeof(float) * (size_t)cols);
  float *out = malloc(sizeof(float) * (size_t)rows);
  for (int64_t i = 0; i < cols; i++) act[i] = (float)((int)(next() % 2001) - 1000) * 1e-3f;

  for (int ti = 0; ti < n_types; ti++) {
    const int type = still_type_from_name(types[ti]);
    const still_type_traits *t = type >= 0 ? still_type_get((uint32_t)type) : NULL;
    if (!t || still_vec_dot_type((uint32_t)type) == STILL_TYPE_COUNT || cols % t->block_size) {
      printf("%-6s (no kernel or bad size)\n", types[ti]);
      continue;
    }
    uint64_t row_bytes, ybytes;
    still_type_bytes((uint32_t)type, (uint64_t)cols, &row_bytes);
    const uint32_t vtype = still_vec_dot_type((uint32_t)type);
    still_type_bytes(vtype, (uint64_t)cols, &ybytes);
    const size_t wbytes = (size_t)row_bytes * (size_t)rows;
    uint8_t *w = aligned_alloc(64, (wbytes + 63) / 64 * 64);
    void *y = aligned_alloc(64, (ybytes + 63) / 64 * 64);
    fill_weights((uint32_t)type, w, wbytes, rows * (cols / t->block_size));

    for (int isa = 0; isa <= (int)still_cpu_best_isa(); isa++) {
      const still_isa used = still_vec_dot_isa((uint32_t)type, (still_isa)isa);
      const still_vec_dot_fn dot = still_get_vec_dot((uint32_t)type, (still_isa)isa);
      const still_quantize_row_fn quant = still_get_quantize_row(vtype, (still_isa)isa);
      double best = 1e30;
      double t_total = 0;
      for (int rep = 0; rep < 200 && (rep < 3 || t_total < 1.0); rep++) {
        const double t0 = still_time_s();
        quant(act, y, cols);
        for (int64_t r = 0; r < rows; r++) dot(cols, &out[r], w + (size_t)r * row_bytes, y);
        const double dt = still_time_s() - t0;
        t_total += dt;
        if (dt < best) best = dt;
      }
      printf("%-6s %-11s %-11s %10.1f %9.2f\n", t->name, still_isa_name((still_isa)isa), still_isa_name(used),
             (double)wbytes / 1e6, (double)wbytes / best / 1e9);
    }
    free(w);
    free(y);
  }
  free(act);
  free(out);
  return 0;
}
