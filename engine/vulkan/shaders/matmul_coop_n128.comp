#version 450
/* matmul_coop_n128.comp — tensor-core prefill, 16 × 16 × 16 matrices, tiles of 64 rows × 128 vectors
 * (see matmul_coop.glsl). */
#define VECS_N 128
#include "matmul_coop.glsl"
