/* types.c — the traits table: one row per tensor type. */
#include "types.h"

#include "quants/quants.h"

#include <string.h>
#include <strings.h>

#define ROW(id, nm, bs, ts, q, fn) \
  [id] = {.name = nm, .block_size = bs, .type_size = ts, .quantized = q, \
          .to_float = still_dequantize_##fn, .from_float = still_quantize_##fn}

static const still_type_traits type_table[STILL_TYPE_COUNT] = {
  ROW(STILL_TYPE_F32, "F32", 1, 4, false, f32),
  ROW(STILL_TYPE_F16, "F16", 1, 2, false, f16),
  ROW(STILL_TYPE_BF16, "BF16", 1, 2, false, bf16),
  ROW(STILL_TYPE_Q4_0, "Q4_0", QK4_0, sizeof(block_q4_0), true, q4_0),
  ROW(STILL_TYPE_Q4_1, "Q4_1", QK4_1, sizeof(block_q4_1), true, q4_1),
  ROW(STILL_TYPE_Q5_0, "Q5_0", QK5_0, sizeof(block_q5_0), true, q5_0),
  ROW(STILL_TYPE_Q5_1, "Q5_1", QK5_1, sizeof(block_q5_1), true, q5_1),
  ROW(STILL_TYPE_Q8_0, "Q8_0", QK8_0, sizeof(block_q8_0), true, q8_0),
  ROW(STILL_TYPE_Q8_1, "Q8_1", QK8_1, sizeof(block_q8_1), true, q8_1),
  ROW(STILL_TYPE_Q2_K, "Q2_K", QK_K, sizeof(block_q2_K), true, q2_K),
  ROW(STILL_TYPE_Q3_K, "Q3_K", QK_K, sizeof(block_q3_K), true, q3_K),
  ROW(STILL_TYPE_Q4_K, "Q4_K", QK_K, sizeof(block_q4_K), true, q4_K),
  ROW(STILL_TYPE_Q5_K, "Q5_K", QK_K, sizeof(block_q5_K), true, q5_K),
  ROW(STILL_TYPE_Q6_K, "Q6_K", QK_K, sizeof(block_q6_K), true, q6_K),
  ROW(STILL_TYPE_Q8_K, "Q8_K", QK_K, sizeof(block_q8_K), true, q8_K),
  ROW(STILL_TYPE_IQ4_NL, "IQ4_NL", QK4_NL, sizeof(block_iq4_nl), true, iq4_nl),
  ROW(STILL_TYPE_IQ4_XS, "IQ4_XS", QK_K, sizeof(block_iq4_xs), true, iq4_xs),
};

const still_type_traits *still_type_get(uint32_t type)
{
  if (type >= STILL_TYPE_COUNT || type_table[type].name == NULL) return NULL;
  return &type_table[type];
}

const char *still_type_name(uint32_t type)
{
  const still_type_traits *t = still_type_get(type);
  return t ? t->name : "unknown";
}

int still_type_from_name(const char *name)
{
  if (!name) return -1;
  for (int i = 0; i < STILL_TYPE_COUNT; i++)
    if (type_table[i].name && strcasecmp(type_table[i].name, name) == 0) return i;
  return -1;
}

bool still_type_bytes(uint32_t type, uint64_t n, uint64_t *out)
{
  const still_type_traits *t = still_type_get(type);
  if (!t || n % (uint64_t)t->block_size != 0) return false;
  uint64_t blocks = n / (uint64_t)t->block_size;
  return !__builtin_mul_overflow(blocks, (uint64_t)t->type_size, out);
}

const char *still_file_type_name(uint32_t ftype)
{
  /* llama.cpp's LLAMA_FTYPE_* numbering as stored in general.file_type */
  switch (ftype) {
  case 0: return "F32";
  case 1: return "F16";
  case 2: return "Q4_0";
  case 3: return "Q4_1";
  case 7: return "Q8_0";
  case 8: return "Q5_0";
  case 9: return "Q5_1";
  case 10: return "Q2_K";
  case 11: return "Q3_K_S";
  case 12: return "Q3_K_M";
  case 13: return "Q3_K_L";
  case 14: return "Q4_K_S";
  case 15: return "Q4_K_M";
  case 16: return "Q5_K_S";
  case 17: return "Q5_K_M";
  case 18: return "Q6_K";
  case 21: return "Q2_K_S";
  case 25: return "IQ4_NL";
  case 30: return "IQ4_XS";
  case 32: return "BF16";
  default: return "unknown";
  }
}
