#version 450
/* matmul_coop8.comp — tensor-core prefill with 16 × 8 × 16 matrices (see matmul_coop.glsl). */
#define COOP_N 8
#include "matmul_coop.glsl"
