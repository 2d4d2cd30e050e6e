/* vec.c — picks the kernel for a (type, ISA) pair: the best ISA the
 * machine allows (capped by STILL_ISA), falling back level by level to the
 * scalar code for types without a SIMD version. */
#include "cpu/vec-internal.h"

uint32_t still_vec_dot_type(uint32_t wtype)
{
  switch (wtype) {
  case STILL_TYPE_F32: return STILL_TYPE_F32;
  case STILL_TYPE_F16: return STILL_TYPE_F16;
  case STILL_TYPE_BF16: return STILL_TYPE_BF16;
  case STILL_TYPE_Q4_0:
  case STILL_TYPE_Q5_0:
  case STILL_TYPE_Q8_0:
  case STILL_TYPE_IQ4_NL: return STILL_TYPE_Q8_0;
  case STILL_TYPE_Q4_1:
  case STILL_TYPE_Q5_1: return STILL_TYPE_Q8_1;
  case STILL_TYPE_Q2_K:
  case STILL_TYPE_Q3_K:
  case STILL_TYPE_Q4_K:
  case STILL_TYPE_Q5_K:
  case STILL_TYPE_Q6_K:
  case STILL_TYPE_IQ4_XS: return STILL_TYPE_Q8_K;
  default: return STILL_TYPE_COUNT;
  }
}

static still_isa clamp_isa(still_isa isa)
{
  const still_isa best = still_cpu_best_isa();
  if ((int)isa < 0) return STILL_ISA_SCALAR;
  return isa > best ? best : isa;
}

static still_vec_dot_fn vec_dot_at(uint32_t wtype, still_isa isa)
{
  switch (isa) {
  case STILL_ISA_AVX512_VNNI: return still_vec_dot_avx512(wtype, true);
  case STILL_ISA_AVX512: return still_vec_dot_avx512(wtype, false);
  case STILL_ISA_AVX2: return still_vec_dot_avx2(wtype);
  case STILL_ISA_SCALAR: return still_vec_dot_generic(wtype);
  default: return NULL;
  }
}

static still_quantize_row_fn quantize_row_at(uint32_t vtype, still_isa isa)
{
  switch (isa) {
  case STILL_ISA_AVX512_VNNI:
  case STILL_ISA_AVX512: return still_quantize_row_avx512(vtype);
  case STILL_ISA_AVX2: return still_quantize_row_avx2(vtype);
  case STILL_ISA_SCALAR: return still_quantize_row_generic(vtype);
  default: return NULL;
  }
}

still_isa still_vec_dot_isa(uint32_t wtype, still_isa isa)
{
  if (still_vec_dot_type(wtype) == STILL_TYPE_COUNT) return STILL_ISA_COUNT;
  for (int i = clamp_isa(isa); i >= 0; i--)
    if (vec_dot_at(wtype, (still_isa)i)) return (still_isa)i;
  return STILL_ISA_COUNT;
}

still_vec_dot_fn still_get_vec_dot(uint32_t wtype, still_isa isa)
{
  still_isa used = still_vec_dot_isa(wtype, isa);
  return used == STILL_ISA_COUNT ? NULL : vec_dot_at(wtype, used);
}

still_isa still_quantize_row_isa(uint32_t vtype, still_isa isa)
{
  for (int i = clamp_isa(isa); i >= 0; i--)
    if (quantize_row_at(vtype, (still_isa)i)) return (still_isa)i;
  return STILL_ISA_COUNT;
}

still_quantize_row_fn still_get_quantize_row(uint32_t vtype, still_isa isa)
{
  still_isa used = still_quantize_row_isa(vtype, isa);
  return used == STILL_ISA_COUNT ? NULL : quantize_row_at(vtype, used);
}
