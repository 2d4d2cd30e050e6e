/* quants.h — scalar reference quantize (from_float) and dequantize
 * (to_float) for every tensor type. These are the oracle for SIMD code.
 *
 * n is the number of values and a multiple of the type's block size (a
 * partial last block is ignored). Block data must be aligned like its block
 * struct (2 bytes; 4 for Q8_K), which GGUF tensor data always is; F16/BF16
 * need no alignment.
 *
 * Dequantizing is exactly what the GGUF/ggml format defines (layouts and
 * formulas in blocks.h, legacy.c, k-quants.c, iq4.c).
 * Quantizing:
 *   F16, BF16          round to nearest even
 *   Q4_0 .. Q5_1       llama.cpp's reference rounding: same bytes as llama-quantize
 *   Q8_0, Q8_1, Q8_K   the activation formats, computed the way llama.cpp's x86
 *                      CPU code does (Q8_0/Q8_1: x * 127 / amax rounded to even,
 *                      Q8_1 s = d * sum(q); Q8_K: the largest magnitude maps to
 *                      -128, d = 1 / iscale kept as float, bsums filled)
 *   K-quants, IQ4_*    a least-squares scale search (scale-search.c); not bit-identical
 *                      to llama.cpp, lower RMS error than its default
 * All-zero input gives all-zero output; NaN/Inf input never crashes (the
 * codes are then meaningless). */
#ifndef STILL_QUANTS_H
#define STILL_QUANTS_H

#include "blocks.h"

#include <stdint.h>

#define STILL_DECLARE_QUANT(t)                                                  \
  void still_dequantize_##t(const void *src, float *dst, int64_t n);            \
  void still_quantize_##t(const float *src, void *dst, int64_t n);

STILL_DECLARE_QUANT(f32)
STILL_DECLARE_QUANT(f16)
STILL_DECLARE_QUANT(bf16)
STILL_DECLARE_QUANT(q4_0)
STILL_DECLARE_QUANT(q4_1)
STILL_DECLARE_QUANT(q5_0)
STILL_DECLARE_QUANT(q5_1)
STILL_DECLARE_QUANT(q8_0)
STILL_DECLARE_QUANT(q8_1)
STILL_DECLARE_QUANT(q2_K)
STILL_DECLARE_QUANT(q3_K)
STILL_DECLARE_QUANT(q4_K)
STILL_DECLARE_QUANT(q5_K)
STILL_DECLARE_QUANT(q6_K)
STILL_DECLARE_QUANT(q8_K)
STILL_DECLARE_QUANT(iq4_nl)
STILL_DECLARE_QUANT(iq4_xs)

#undef STILL_DECLARE_QUANT

#endif /* STILL_QUANTS_H */
