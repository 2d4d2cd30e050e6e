/* float.c — the unquantized types: F32 (a copy), F16 and BF16 (exact
 * widening on the way up, round-to-nearest-even on the way down, both
 * done by the converters in util.c). */
#include "quants.h"

#include "util.h"

#include <string.h>

void still_dequantize_f32(const void *src, float *dst, int64_t n)
{
  if (n > 0) memmove(dst, src, (size_t)n * sizeof(float));
}

void still_quantize_f32(const float *src, void *dst, int64_t n)
{
  if (n > 0) memmove(dst, src, (size_t)n * sizeof(float));
}

void still_dequantize_f16(const void *src, float *dst, int64_t n)
{
  const uint8_t *p = src;
  for (int64_t i = 0; i < n; i++) {
    uint16_t h;
    memcpy(&h, p + 2 * i, sizeof h); /* GGUF data need not be 2-byte aligned */
    dst[i] = still_fp16_to_fp32(h);
  }
}

void still_quantize_f16(const float *src, void *dst, int64_t n)
{
  uint8_t *p = dst;
  for (int64_t i = 0; i < n; i++) {
    uint16_t h = still_fp32_to_fp16(src[i]);
    memcpy(p + 2 * i, &h, sizeof h);
  }
}

void still_dequantize_bf16(const void *src, float *dst, int64_t n)
{
  const uint8_t *p = src;
  for (int64_t i = 0; i < n; i++) {
    uint16_t h;
    memcpy(&h, p + 2 * i, sizeof h);
    dst[i] = still_bf16_to_fp32(h);
  }
}

void still_quantize_bf16(const float *src, void *dst, int64_t n)
{
  uint8_t *p = dst;
  for (int64_t i = 0; i < n; i++) {
    uint16_t h = still_fp32_to_bf16(src[i]);
    memcpy(p + 2 * i, &h, sizeof h);
  }
}
