/* vulkan/vk-shaders.h — the SPIR-V of every compute shader, compiled by
 * glslc at build time (engine/vulkan/meson.build) and embedded here. */
#ifndef STILL_VULKAN_VK_SHADERS_H
#define STILL_VULKAN_VK_SHADERS_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
  VK_SHADER_MATVEC_F32,
  VK_SHADER_MATVEC_F16,
  VK_SHADER_MATVEC_BF16,
  VK_SHADER_MATVEC_Q8_0,
  VK_SHADER_MATVEC_Q4_0,
  VK_SHADER_MATVEC_Q4_1,
  VK_SHADER_MATVEC_Q5_0,
  VK_SHADER_MATVEC_Q5_1,
  VK_SHADER_MATVEC_IQ4_NL,
  VK_SHADER_MATVEC_Q4_K,
  VK_SHADER_MATVEC_Q5_K,
  VK_SHADER_MATVEC_Q6_K,
  VK_SHADER_MATVEC_IQ4_XS,
  VK_SHADER_MATVEC_Q2_K,
  VK_SHADER_MATVEC_Q3_K,
  VK_SHADER_RMS_NORM,
  VK_SHADER_ADD_RMS_NORM, /* add_rms_norm.comp: float and vec4 rows */
  VK_SHADER_ADD_RMS_NORM_V4,
  VK_SHADER_ADD,
  VK_SHADER_MUL,
  VK_SHADER_SWIGLU,
  VK_SHADER_COPY,
  VK_SHADER_ROPE,
  VK_SHADER_ATTENTION_F32,
  VK_SHADER_ATTENTION_F16,
  VK_SHADER_KV_STORE_F16,
  VK_SHADER_MATMUL_F32,
  VK_SHADER_MATMUL_F16,
  VK_SHADER_MATMUL_BF16,
  VK_SHADER_MATMUL_Q8_0,
  VK_SHADER_MATMUL_Q4_0,
  VK_SHADER_MATMUL_Q4_1,
  VK_SHADER_MATMUL_Q5_0,
  VK_SHADER_MATMUL_Q5_1,
  VK_SHADER_MATMUL_IQ4_NL,
  VK_SHADER_MATMUL_Q4_K,
  VK_SHADER_MATMUL_Q5_K,
  VK_SHADER_MATMUL_Q6_K,
  VK_SHADER_MATMUL_IQ4_XS,
  VK_SHADER_MATMUL_Q2_K,
  VK_SHADER_MATMUL_Q3_K,
  VK_SHADER_GET_ROWS_F32,
  VK_SHADER_GET_ROWS_F16,
  VK_SHADER_GET_ROWS_BF16,
  VK_SHADER_GET_ROWS_Q8_0,
  VK_SHADER_GET_ROWS_Q4_0,
  VK_SHADER_GET_ROWS_Q4_1,
  VK_SHADER_GET_ROWS_Q5_0,
  VK_SHADER_GET_ROWS_Q5_1,
  VK_SHADER_GET_ROWS_IQ4_NL,
  VK_SHADER_GET_ROWS_Q4_K,
  VK_SHADER_GET_ROWS_Q5_K,
  VK_SHADER_GET_ROWS_Q6_K,
  VK_SHADER_GET_ROWS_IQ4_XS,
  VK_SHADER_GET_ROWS_Q2_K,
  VK_SHADER_GET_ROWS_Q3_K,
  /* matvec_team.comp: matrix × vector for real GPUs (vk-ops.c picks them) */
  VK_SHADER_MATVEC_TEAM_F16,
  VK_SHADER_MATVEC_TEAM_Q8_0,
  VK_SHADER_MATVEC_TEAM_Q4_0,
  VK_SHADER_MATVEC_TEAM_Q4_K,
  VK_SHADER_MATVEC_TEAM_Q5_K,
  VK_SHADER_MATVEC_TEAM_Q6_K,
  /* the same with four rows per team at decode (same order) */
  VK_SHADER_MATVEC_TEAM4_F16,
  VK_SHADER_MATVEC_TEAM4_Q8_0,
  VK_SHADER_MATVEC_TEAM4_Q4_0,
  VK_SHADER_MATVEC_TEAM4_Q4_K,
  VK_SHADER_MATVEC_TEAM4_Q5_K,
  VK_SHADER_MATVEC_TEAM4_Q6_K,
  /* matvec_dot.comp: one vector with 8-bit integer dot products (devices with them) */
  VK_SHADER_MATVEC_DOT_Q4_K,
  VK_SHADER_MATVEC_DOT_Q6_K,
  VK_SHADER_MATVEC_DOT_Q8_0,
  VK_SHADER_MATVEC_DOT_Q5_K,
  VK_SHADER_MATVEC_DOT_Q4_0,
  /* matmul_team.comp, the same types for prefill (in the same order) */
  VK_SHADER_MATMUL_TEAM_F16,
  VK_SHADER_MATMUL_TEAM_Q8_0,
  VK_SHADER_MATMUL_TEAM_Q4_0,
  VK_SHADER_MATMUL_TEAM_Q4_K,
  VK_SHADER_MATMUL_TEAM_Q5_K,
  VK_SHADER_MATMUL_TEAM_Q6_K,
  /* the Q8_0 KV cache */
  VK_SHADER_ATTENTION_Q8_0,
  VK_SHADER_KV_STORE_Q8_0,
  /* matmul_coop.comp: the same types on tensor cores (VK_NV_cooperative_matrix; same order) */
  VK_SHADER_MATMUL_COOP_F16,
  VK_SHADER_MATMUL_COOP_Q8_0,
  VK_SHADER_MATMUL_COOP_Q4_0,
  VK_SHADER_MATMUL_COOP_Q4_K,
  VK_SHADER_MATMUL_COOP_Q5_K,
  VK_SHADER_MATMUL_COOP_Q6_K,
  /* matmul_coop8.comp: the same with 16x8x16 matrices (same order) */
  VK_SHADER_MATMUL_COOP8_F16,
  VK_SHADER_MATMUL_COOP8_Q8_0,
  VK_SHADER_MATMUL_COOP8_Q4_0,
  VK_SHADER_MATMUL_COOP8_Q4_K,
  VK_SHADER_MATMUL_COOP8_Q5_K,
  VK_SHADER_MATMUL_COOP8_Q6_K,
  /* matmul_coop_m128.comp / matmul_coop_n128.comp: 16x16x16, tiles of 128
   * rows or 128 vectors (STILL_VK_COOPMAT_TILE; same order) */
  VK_SHADER_MATMUL_COOP_M128_F16,
  VK_SHADER_MATMUL_COOP_M128_Q8_0,
  VK_SHADER_MATMUL_COOP_M128_Q4_0,
  VK_SHADER_MATMUL_COOP_M128_Q4_K,
  VK_SHADER_MATMUL_COOP_M128_Q5_K,
  VK_SHADER_MATMUL_COOP_M128_Q6_K,
  VK_SHADER_MATMUL_COOP_N128_F16,
  VK_SHADER_MATMUL_COOP_N128_Q8_0,
  VK_SHADER_MATMUL_COOP_N128_Q4_0,
  VK_SHADER_MATMUL_COOP_N128_Q4_K,
  VK_SHADER_MATMUL_COOP_N128_Q5_K,
  VK_SHADER_MATMUL_COOP_N128_Q6_K,
  /* attention at decode, split along the keys, and the merge of the chunks */
  VK_SHADER_ATTENTION_SPLIT_F32,
  VK_SHADER_ATTENTION_SPLIT_F16,
  VK_SHADER_ATTENTION_MERGE,
  VK_SHADER_ATTENTION_SPLIT_Q8_0,
  /* rope_store.comp: norms, rope and the KV store of a layer in one dispatch */
  VK_SHADER_ROPE_STORE_F32,
  VK_SHADER_ROPE_STORE_F16,
  VK_SHADER_ROPE_STORE_Q8_0,
  /* attention of prompt batches, tiled in shared memory (attention_tile.comp) */
  VK_SHADER_ATTENTION_TILE_F32,
  VK_SHADER_ATTENTION_TILE_F16,
  VK_SHADER_ATTENTION_TILE_Q8_0,
  /* matvec_dot.comp reading a vector rounded beforehand (same order as MATVEC_DOT) */
  VK_SHADER_MATVEC_DOT_PRE_Q4_K,
  VK_SHADER_MATVEC_DOT_PRE_Q6_K,
  VK_SHADER_MATVEC_DOT_PRE_Q8_0,
  VK_SHADER_MATVEC_DOT_PRE_Q5_K,
  VK_SHADER_MATVEC_DOT_PRE_Q4_0,
  /* the rounding for them: fused with the residual add + RMSNorm, alone, or with the attention merge */
  VK_SHADER_ADD_RMS_NORM_V4_ROUND8,
  VK_SHADER_QUANTIZE_Q8,
  VK_SHADER_ATTENTION_MERGE_ROUND8,
  /* the memory bandwidth test (vk-membw.c) */
  VK_SHADER_MEMBW_READ,
  VK_SHADER_MEMBW_FILL,
  /* matvec_dot.comp for prefill batches rounded beforehand, 8 vectors per workgroup (same order) */
  VK_SHADER_MATMUL_DOT_Q4_K,
  VK_SHADER_MATMUL_DOT_Q6_K,
  VK_SHADER_MATMUL_DOT_Q8_0,
  VK_SHADER_MATMUL_DOT_Q5_K,
  VK_SHADER_MATMUL_DOT_Q4_0,
  VK_SHADER_COUNT
} still_vk_shader_id;

typedef struct {
  const char *name;
  const uint32_t *code;
  size_t size; /* bytes */
  uint32_t push_size; /* bytes of push constants */
} still_vk_shader;

extern const still_vk_shader still_vk_shaders[VK_SHADER_COUNT];

#endif
