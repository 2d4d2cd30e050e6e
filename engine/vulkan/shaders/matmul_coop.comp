#version 450
/* matmul_coop.comp — tensor-core prefill with 16 × 16 × 16 matrices (see matmul_coop.glsl). */
#include "matmul_coop.glsl"
