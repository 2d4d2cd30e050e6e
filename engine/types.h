/* types.h — one traits row per tensor type (ggml type ids, as stored in GGUF).
 *
 * Every type has a scalar reference to_float (dequantize) and from_float
 * (quantize). These scalar versions are the oracle for any SIMD version.
 * Block layouts are bit-compatible with ggml / GGUF files.
 */
#ifndef STILL_TYPES_H
#define STILL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  STILL_TYPE_F32 = 0,
  STILL_TYPE_F16 = 1,
  STILL_TYPE_Q4_0 = 2,
  STILL_TYPE_Q4_1 = 3,
  /* 4, 5: removed Q4_2 / Q4_3 */
  STILL_TYPE_Q5_0 = 6,
  STILL_TYPE_Q5_1 = 7,
  STILL_TYPE_Q8_0 = 8,
  STILL_TYPE_Q8_1 = 9,
  STILL_TYPE_Q2_K = 10,
  STILL_TYPE_Q3_K = 11,
  STILL_TYPE_Q4_K = 12,
  STILL_TYPE_Q5_K = 13,
  STILL_TYPE_Q6_K = 14,
  STILL_TYPE_Q8_K = 15,
  STILL_TYPE_IQ4_NL = 20,
  STILL_TYPE_IQ4_XS = 23,
  STILL_TYPE_BF16 = 30,
  STILL_TYPE_COUNT = 40 /* table size; ids without a row are unknown */
} still_type;

#define STILL_QK_K 256 /* super-block size of the K-quants */

typedef void (*still_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*still_from_float_fn)(const float *src, void *dst, int64_t n);

typedef struct {
  const char *name;        /* "Q4_K", as llama.cpp prints it */
  int32_t block_size;      /* values per block (1 for F32/F16/BF16) */
  size_t type_size;        /* bytes per block */
  bool quantized;
  still_to_float_fn to_float;     /* scalar reference; n is a multiple of block_size */
  still_from_float_fn from_float; /* scalar reference; n is a multiple of block_size */
} still_type_traits;

/* NULL when the id is not a type we know. */
const still_type_traits *still_type_get(uint32_t type);
const char *still_type_name(uint32_t type); /* "unknown" when not known */
/* Look up by name (case-insensitive, "q4_k" or "Q4_K"); -1 when unknown. */
int still_type_from_name(const char *name);

/* Bytes of n values of the type; false on overflow or n not a multiple of the block size. */
bool still_type_bytes(uint32_t type, uint64_t n, uint64_t *out);

/* llama.cpp's general.file_type ids → "Q4_K_M" etc. ("unknown" when not known). */
const char *still_file_type_name(uint32_t ftype);

#endif /* STILL_TYPES_H */
