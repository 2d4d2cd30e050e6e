/* util.c — errors, UTF-8, half floats, sizes, clocks. */
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <time.h>

const char *still_status_name(still_status s)
{
  switch (s) {
  case STILL_OK: return "ok";
  case STILL_ERR_IO: return "input/output error";
  case STILL_ERR_FORMAT: return "invalid format";
  case STILL_ERR_TRUNCATED: return "data ends early";
  case STILL_ERR_UNSUPPORTED: return "not supported";
  case STILL_ERR_NOMEM: return "out of memory";
  case STILL_ERR_INVALID_ARG: return "invalid argument";
  case STILL_ERR_CANCELLED: return "cancelled";
  case STILL_ERR_CONTEXT_FULL: return "context full";
  case STILL_ERR_BACKEND: return "backend error";
  }
  return "unknown status";
}

still_status still_set_error(still_error *err, still_status status, const char *fmt, ...)
{
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

size_t still_utf8_seq_len(const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  if (n == 0) return 0;
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

bool still_utf8_valid(const char *s, size_t n)
{
  size_t i = 0;
  while (i < n) {
    size_t l = still_utf8_seq_len(s + i, n - i);
    if (l == 0) return false;
    i += l;
  }
  return true;
}

const char *still_format_bytes(uint64_t bytes, char *buf, size_t size)
{
  static const char *units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) {
    snprintf(buf, size, "%llu bytes", (unsigned long long)bytes);
    return buf;
  }
  double v = (double)bytes;
  int u = 0;
  while (v >= 1000.0 && u < 5) {
    v /= 1000.0;
    u++;
  }
  snprintf(buf, size, v < 10.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

float still_fp16_to_fp32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        mant <<= 1;
      } while ((mant & 0x400) == 0);
      mant &= 0x3FF;
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t still_fp32_to_fp16(float f)
{
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  uint32_t exp = (x >> 23) & 0xFF;
  uint32_t mant = x & 0x7FFFFF;
  if (exp == 0xFF) /* inf / nan */
    return (uint16_t)(sign | 0x7C00 | (mant ? 0x200 | (mant >> 13) : 0));
  int32_t e = (int32_t)exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7C00); /* overflow → inf */
  if (e <= 0) {                                   /* subnormal or zero */
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t half = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1FFF;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into exponent: correct */
  return (uint16_t)half;
}

float still_bf16_to_fp32(uint16_t h)
{
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t still_fp32_to_bf16(float f)
{
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFF) > 0x7F800000) /* nan: keep it a quiet nan */
    return (uint16_t)((x >> 16) | 64);
  return (uint16_t)((x + (0x7FFF + ((x >> 16) & 1))) >> 16);
}

double still_time_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int64_t still_time_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool still_env_is_zero(const char *name)
{
  const char *v = getenv(name);
  return v && strcmp(v, "0") == 0;
}

bool still_env_set(const char *name)
{
  const char *v = getenv(name);
  return v && *v;
}
