/* util.h — small shared helpers of the engine: errors, checked arithmetic,
 * UTF-8 validation, half-precision conversion, human-readable sizes. */
#ifndef STILL_UTIL_H
#define STILL_UTIL_H

#include "still.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define STILL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define STILL_PRINTF(a, b)
#endif

/* Fill err (may be NULL) and return status. */
still_status still_set_error(still_error *err, still_status status, const char *fmt, ...) STILL_PRINTF(3, 4);

/* Checked arithmetic: return false on overflow. */
static inline bool still_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }
static inline bool still_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }

/* True when the n bytes at s are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool still_utf8_valid(const char *s, size_t n);

/* True when the environment variable is set to "0" (an A/B or test switch turned off). */
bool still_env_is_zero(const char *name);
/* True when the environment variable is set and not empty. */
bool still_env_set(const char *name);
/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 if it is invalid or incomplete within n. */
size_t still_utf8_seq_len(const char *s, size_t n);

/* "1.2 GB", "512 MB", "4.7 GB": decimal units as file managers show them. buf >= 32 bytes. */
const char *still_format_bytes(uint64_t bytes, char *buf, size_t size);

/* IEEE half / bfloat16 <-> float, exact (round to nearest even on the way down). */
float still_fp16_to_fp32(uint16_t h);
uint16_t still_fp32_to_fp16(float f);
float still_bf16_to_fp32(uint16_t h);
uint16_t still_fp32_to_bf16(float f);

/* Monotonic clock in seconds / microseconds. */
double still_time_s(void);
int64_t still_time_us(void);

#endif /* STILL_UTIL_H */
