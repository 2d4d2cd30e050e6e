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
  VK_SHADER_ADD,
  VK_SHADER_MUL,
  VK_SHADER_SWIGLU,
  VK_SHADER_COPY,
  VK_SHADER_ROPE,
  VK_SHADER_ATTENTION_F32,
  VK_SHADER_ATTENTION_F16,
  VK_SHADER_KV_STORE_F16,
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
