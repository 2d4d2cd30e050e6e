#version 450
/* matmul_coop_m128.comp — tensor-core prefill, 16 × 16 × 16 matrices, tiles of 128 rows × 64 vectors
 * (see matmul_coop.glsl). */
#define ROWS_M 128
#include "matmul_coop.glsl"
