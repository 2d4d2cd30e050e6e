/* vulkan/vk-ops.c — record the compute ops (see vk.h). Each op checks its
 * ranges against the buffer sizes first, so a wrong call is an error
 * message, not a GPU fault. */
#include "vulkan/vk-internal.h"

#include "kv-cache.h" /* still_hash64 */
#include "types.h"
#include "util.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* rows over a 2D grid: at most 65535 workgroups per axis */
static void grid_2d(uint32_t rows, uint32_t *gx, uint32_t *gy)
{
  *gx = rows < 65535 ? rows : 65535;
  *gy = rows == 0 ? 0 : (rows + 65534) / 65535;
}

static bool fits(const still_vk_buffer *b, uint64_t end_bytes) { return b && b->handle && end_bytes <= b->size; }

/* whether bytes [a0, a1) of a and [b0, b1) of b are in one buffer and meet */
static bool meets(const still_vk_buffer *a, uint64_t a0, uint64_t a1, const still_vk_buffer *b, uint64_t b0,
                  uint64_t b1)
{
  return a && b && a->handle == b->handle && a0 < b1 && b0 < a1;
}

static int matvec_shader(uint32_t type)
{
  switch (type) {
  case STILL_TYPE_F32: return VK_SHADER_MATVEC_F32;
  case STILL_TYPE_F16: return VK_SHADER_MATVEC_F16;
  case STILL_TYPE_BF16: return VK_SHADER_MATVEC_BF16;
  case STILL_TYPE_Q8_0: return VK_SHADER_MATVEC_Q8_0;
  case STILL_TYPE_Q4_0: return VK_SHADER_MATVEC_Q4_0;
  case STILL_TYPE_Q4_1: return VK_SHADER_MATVEC_Q4_1;
  case STILL_TYPE_Q5_0: return VK_SHADER_MATVEC_Q5_0;
  case STILL_TYPE_Q5_1: return VK_SHADER_MATVEC_Q5_1;
  case STILL_TYPE_IQ4_NL: return VK_SHADER_MATVEC_IQ4_NL;
  case STILL_TYPE_Q4_K: return VK_SHADER_MATVEC_Q4_K;
  case STILL_TYPE_Q5_K: return VK_SHADER_MATVEC_Q5_K;
  case STILL_TYPE_Q6_K: return VK_SHADER_MATVEC_Q6_K;
  case STILL_TYPE_IQ4_XS: return VK_SHADER_MATVEC_IQ4_XS;
  case STILL_TYPE_Q2_K: return VK_SHADER_MATVEC_Q2_K;
  case STILL_TYPE_Q3_K: return VK_SHADER_MATVEC_Q3_K;
  default: return -1;
  }
}

bool still_vk_matvec_supported(uint32_t type) { return matvec_shader(type) >= 0; }

/* The matmul and get_rows variants are listed in the same type order as the
 * matvec ones (vk-shaders.h). */
static int family_shader(uint32_t type, still_vk_shader_id first)
{
  int mv = matvec_shader(type);
  return mv < 0 ? -1 : (int)first + (mv - (int)VK_SHADER_MATVEC_F32);
}

static still_status check_matvec(const still_vk_buffer *w, const still_vk_buffer *x, const still_vk_buffer *y,
                                 const still_vk_matvec_args *a, const char *what, still_error *err)
{
  if (matvec_shader(a->type) < 0)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no %s shader for %s weights", what,
                           still_type_name(a->type));
  const still_type_traits *tt = still_type_get(a->type);
  uint64_t row_need;
  if (!still_type_bytes(a->type, a->ncols, &row_need) || row_need > a->row_bytes || (a->w_off & 3) ||
      a->n_vec == 0)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad %s shape (%u columns of %s)", what,
                           a->ncols, tt ? tt->name : "?");
  if (!fits(w, a->w_off + (uint64_t)a->row_bytes * a->nrows) ||
      !fits(x, 4 * ((uint64_t)a->x_off + (uint64_t)a->x_stride * (a->n_vec - 1) + a->ncols)) ||
      !fits(y, 4 * ((uint64_t)a->y_off + (uint64_t)a->y_stride * (a->n_vec - 1) + a->nrows)) ||
      a->w_off + (uint64_t)a->row_bytes * a->nrows > UINT32_MAX)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: %s outside its buffers", what);
  return STILL_OK;
}

/* The types with the team layouts, in the order of each family of their
 * shaders (matvec_team, matvec_team4, matmul_team, the four matmul_coop ones
 * and matmul_wide; checked below): a type's shader is the family's first plus
 * TEAM_INDEX. */
#define TEAM_TYPES(X) X(F16) X(Q8_0) X(Q4_0) X(Q4_K) X(Q5_K) X(Q6_K) X(Q2_K) X(Q3_K) X(IQ4_XS) X(Q4_1) X(Q5_0) X(Q5_1) X(IQ4_NL)
#define TEAM_INDEX(T) (VK_SHADER_MATVEC_TEAM_##T - VK_SHADER_MATVEC_TEAM_F16)
#define TEAM_ORDER(T)                                                                                                \
  _Static_assert(VK_SHADER_MATVEC_TEAM4_##T - VK_SHADER_MATVEC_TEAM4_F16 == TEAM_INDEX(T) &&                         \
                   VK_SHADER_MATMUL_TEAM_##T - VK_SHADER_MATMUL_TEAM_F16 == TEAM_INDEX(T) &&                         \
                   VK_SHADER_MATMUL_COOP_##T - VK_SHADER_MATMUL_COOP_F16 == TEAM_INDEX(T) &&                         \
                   VK_SHADER_MATMUL_COOP8_##T - VK_SHADER_MATMUL_COOP8_F16 == TEAM_INDEX(T) &&                       \
                   VK_SHADER_MATMUL_COOP_M128_##T - VK_SHADER_MATMUL_COOP_M128_F16 == TEAM_INDEX(T) &&               \
                   VK_SHADER_MATMUL_COOP_N128_##T - VK_SHADER_MATMUL_COOP_N128_F16 == TEAM_INDEX(T) &&               \
                   VK_SHADER_MATMUL_WIDE_##T - VK_SHADER_MATMUL_WIDE_F16 == TEAM_INDEX(T),                           \
                 "the team-layout shaders of " #T " are in the same place in every family");
TEAM_TYPES(TEAM_ORDER)
/* and TEAM_TYPES lists every matvec_team shader, so no type reaches past the end of a family */
#define TEAM_ONE(T) +1
_Static_assert(VK_SHADER_MATVEC_TEAM4_F16 - VK_SHADER_MATVEC_TEAM_F16 == 0 TEAM_TYPES(TEAM_ONE),
               "TEAM_TYPES lists every matvec_team shader");

/* matvec_team.comp covers F16 and every block type when each row starts on
 * a word, or, for the types whose reads join two words (Q8_0, Q4_0, Q6_K,
 * Q3_K and the other blocks of 32), on 2 bytes; 32 threads per row, so the
 * workgroup must hold a multiple of 32. STILL_VK_MATVEC=generic keeps
 * matvec.comp for every type (a switch for comparisons). Returns the type's
 * TEAM_INDEX, or -1. */
static int team_layout_ok(const still_vk_matvec_args *a)
{
  const bool words = (a->w_off % 4) == 0 && (a->row_bytes % 4) == 0, halves = a->row_bytes % 2 == 0;
  switch (a->type) {
  case STILL_TYPE_F16: return words && a->ncols % 2 == 0 ? TEAM_INDEX(F16) : -1;
  case STILL_TYPE_Q8_0: return halves ? TEAM_INDEX(Q8_0) : -1;
  case STILL_TYPE_Q4_0: return halves ? TEAM_INDEX(Q4_0) : -1;
  case STILL_TYPE_Q4_K: return words ? TEAM_INDEX(Q4_K) : -1;
  case STILL_TYPE_Q5_K: return words ? TEAM_INDEX(Q5_K) : -1;
  case STILL_TYPE_Q6_K: return halves ? TEAM_INDEX(Q6_K) : -1;
  case STILL_TYPE_Q2_K: return words ? TEAM_INDEX(Q2_K) : -1;
  case STILL_TYPE_Q3_K: return halves ? TEAM_INDEX(Q3_K) : -1;
  case STILL_TYPE_IQ4_XS: return words ? TEAM_INDEX(IQ4_XS) : -1;
  case STILL_TYPE_Q4_1: return halves ? TEAM_INDEX(Q4_1) : -1;
  case STILL_TYPE_Q5_0: return halves ? TEAM_INDEX(Q5_0) : -1;
  case STILL_TYPE_Q5_1: return halves ? TEAM_INDEX(Q5_1) : -1;
  case STILL_TYPE_IQ4_NL: return halves ? TEAM_INDEX(IQ4_NL) : -1;
  default: return -1;
  }
}

static int team_shader(const still_vk *vk, const still_vk_matvec_args *a)
{
  if (vk->wg_size < 32 || vk->wg_size % 32 != 0 || vk->matvec_generic) return -1;
  const int k = team_layout_ok(a);
  return k < 0 ? -1 : VK_SHADER_MATVEC_TEAM_F16 + k;
}

/* matmul_team.comp: the same layouts, for the tiled prefill. Measured on an
 * H200 (pp512, 8B): Q8_0 143 → 688 tok/s with it, but Q4_K 557 → 143, so the
 * K-quants keep matmul.comp (STILL_VK_MATMUL=team forces it for them,
 * =generic turns it off). The types added since (Q2_K, Q3_K, IQ4_XS; Q4_1,
 * Q5_0, Q5_1, IQ4_NL) follow the rule of their block size, untimed. */
static int matmul_team_shader(const still_vk *vk, const still_vk_matvec_args *a)
{
  if (vk->matmul_mode == 1) return -1;
  const int k = team_layout_ok(a);
  if (k < 0) return -1;
  /* blocks of 256 values: the K-quants and IQ4_XS */
  const bool k_quant = still_type_get(a->type)->block_size == 256;
  if (k_quant && vk->matmul_mode != 2) return -1;
  return VK_SHADER_MATMUL_TEAM_F16 + k;
}

/* The shared memory of matmul_wide.comp: its weight and activation tiles, 64 × 64 floats each. */
#define MATMUL_WIDE_SHARED (2u * 64u * 64u * 4u)

/* (every desktop GPU; Vulkan promises only 16 KiB) */
bool still_vk_matmul_wide_possible(const still_vk *vk)
{
  return vk->props.limits.maxComputeSharedMemorySize >= MATMUL_WIDE_SHARED;
}

/* matmul_wide.comp (STILL_VK_MATMUL=wide): the team layouts' types, on a device with the 32 KiB
 * of shared memory its tiles take and the workgroup of 128 threads every device allows; -1
 * elsewhere (the default shaders then). */
static int matmul_wide_shader(const still_vk *vk, const still_vk_matvec_args *a)
{
  if (vk->matmul_mode != 4 || !still_vk_matmul_wide_possible(vk)) return -1;
  const int k = team_layout_ok(a);
  return k < 0 ? -1 : VK_SHADER_MATMUL_WIDE_F16 + k;
}

/* Passes of matvec_team.comp's loop over a row (the values one team of 32
 * threads covers per step, per type: see the shader). */
static uint32_t team_passes(const still_vk_matvec_args *a, bool wide)
{
  const uint32_t blocks = a->ncols / 256;
  switch (a->type) {
  case STILL_TYPE_F16: return (a->ncols + 255) / 256;
  case STILL_TYPE_Q8_0:
  case STILL_TYPE_Q4_0:
  case STILL_TYPE_Q4_1:
  case STILL_TYPE_Q5_0:
  case STILL_TYPE_Q5_1:
  case STILL_TYPE_IQ4_NL: return (a->ncols / 32 + 7) / 8;
  case STILL_TYPE_Q4_K:
  case STILL_TYPE_Q5_K: return wide ? (blocks + 3) / 4 : blocks;
  case STILL_TYPE_Q6_K:
  case STILL_TYPE_Q2_K:
  case STILL_TYPE_Q3_K: return (blocks + 1) / 2;
  case STILL_TYPE_IQ4_XS: return (blocks + 3) / 4;
  default: return 1;
  }
}

/* Teams per row: matrices with few rows share each row among 2 or 4 teams
 * so that about 8192 teams (a whole H200: 132 SMs × 64 warps) read at once,
 * as long as each team keeps at least one pair of passes (the shader loads
 * two passes at a time). STILL_VK_MATVEC_SUB=N fixes it (1, 2, 4…). */
static uint32_t team_subs(const still_vk *vk, const still_vk_matvec_args *a, uint32_t passes, uint32_t wg)
{
  const uint32_t most = wg / 32;
  if (vk->matvec_sub > 0) return vk->matvec_sub < most ? vk->matvec_sub : most;
  uint32_t n = 1;
  while (n * 2 <= most && (uint64_t)a->nrows * n < 8192 && passes >= 4 * n) n *= 2;
  return n;
}

uint64_t still_vk_dot_shared_bytes(const still_vk *vk, bool rounds)
{
  /* the rounded chunk (xq, xd, xsum: 10 KiB) where the shader rounds, the
   * rows' partial sums of two sets (red) and common.glsl's red_partial */
  return (rounds ? 10240 : 0) + 8ull * vk->dot_rows * vk->dot_wg + 4ull * (vk->dot_wg / 4 + 1);
}

/* matvec_dot.comp for one input vector where the device has 8-bit integer
 * dot products (vk->int_dot) and the workgroup's shared memory holds what
 * it needs; -1: matvec_team.comp. Only for rows matvec_team.comp takes
 * (team_shader: Q6_K, Q8_0 and Q4_0 rows of an even length). */
static int dot_shader(const still_vk *vk, const still_vk_matvec_args *a, bool wide)
{
  const uint32_t wg = vk->dot_wg;
  if (!vk->int_dot || a->n_vec != 1 || wg < 32 || wg % 32 != 0) return -1;
  if (still_vk_dot_shared_bytes(vk, true) > vk->props.limits.maxComputeSharedMemorySize) return -1;
  if (!(vk->dot_types & still_vk_dot_type_bit(a->type))) return -1;
  switch (a->type) {
  case STILL_TYPE_Q4_K: return wide ? VK_SHADER_MATVEC_DOT_Q4_K : -1;
  case STILL_TYPE_Q6_K: return VK_SHADER_MATVEC_DOT_Q6_K;
  case STILL_TYPE_Q8_0: return VK_SHADER_MATVEC_DOT_Q8_0;
  case STILL_TYPE_Q5_K: return wide ? VK_SHADER_MATVEC_DOT_Q5_K : -1;
  case STILL_TYPE_Q4_0: return VK_SHADER_MATVEC_DOT_Q4_0;
  default: return -1;
  }
}

/* The weight type of each bit of vk->dot_types (STILL_VK_DOT_TYPES), in bit order. */
static const uint32_t dot_bit_types[STILL_VK_DOT_BITS] = {STILL_TYPE_Q4_K, STILL_TYPE_Q6_K, STILL_TYPE_Q8_0,
                                                          STILL_TYPE_Q5_K, STILL_TYPE_Q4_0};

uint32_t still_vk_dot_type_bit(uint32_t type)
{
  for (int i = 0; i < STILL_VK_DOT_BITS; i++)
    if (dot_bit_types[i] == type) return 1u << i;
  return 0;
}

uint32_t still_vk_dot_bit_type(int bit) { return dot_bit_types[bit]; }

uint32_t still_vk_dot_types(const still_vk *vk) { return vk->int_dot ? vk->dot_types : 0; }

uint32_t still_vk_team_rows(const still_vk *vk, uint32_t type)
{
  return type == STILL_TYPE_Q8_0 || type == STILL_TYPE_Q6_K ? vk->team_rows_wide : vk->team_rows_small;
}

uint32_t still_vk_dot_rows(const still_vk *vk) { return vk->dot_rows; }

int still_vk_matmul_mode(const still_vk *vk) { return vk->matmul_mode; }

/* K-quant rows on 16 bytes are read as 16-byte vectors */
static bool team_wide(const still_vk *vk, const still_vk_matvec_args *a, size_t up_off)
{
  return (a->w_off % 16) == 0 && (a->row_bytes % 16) == 0 && (up_off % 16) == 0 && !vk->matvec_narrow;
}

bool still_vk_matvec_rounds_x(const still_vk *vk, const still_vk_matvec_args *a, size_t up_off)
{
  return team_shader(vk, a) >= 0 && dot_shader(vk, a, team_wide(vk, a, up_off)) >= 0;
}

/* ---- the residual add and RMSNorm in the product's last workgroup ------ */

/* The counter of norm_tail.glsl: the last of the context's (the fold's merge takes one per KV
 * head from the first). */
#define TAIL_COUNTER (STILL_VK_COUNTS_BYTES / 4 - 1)

/* What a product with norm_tail.glsl adds (still_vk_matvec_norm): the residual stream res, the
 * norm weight g, the normed row h (and its 8-bit form in h's buffer) and the counters. */
typedef struct {
  still_vk_buffer *res, *h, *counts;
  const still_vk_buffer *g;
  const still_vk_add_rms_norm_args *n;
} norm_tail;

/* The norm_tail.glsl variant of a product shader (matvec_team.comp with 2 or 4 rows per team
 * for F16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K; matvec_dot.comp, rounding or pre-rounded), or -1. */
static int tail_shader(int sh)
{
  if (sh >= VK_SHADER_MATVEC_TEAM_F16 && sh <= VK_SHADER_MATVEC_TEAM_Q6_K)
    return VK_SHADER_MATVEC_TAIL_TEAM_F16 + (sh - VK_SHADER_MATVEC_TEAM_F16);
  if (sh >= VK_SHADER_MATVEC_TEAM4_F16 && sh <= VK_SHADER_MATVEC_TEAM4_Q6_K)
    return VK_SHADER_MATVEC_TAIL_TEAM4_F16 + (sh - VK_SHADER_MATVEC_TEAM4_F16);
  if (sh >= VK_SHADER_MATVEC_DOT_Q4_K && sh <= VK_SHADER_MATVEC_DOT_Q4_0)
    return VK_SHADER_MATVEC_TAIL_DOT_Q4_K + (sh - VK_SHADER_MATVEC_DOT_Q4_K);
  if (sh >= VK_SHADER_MATVEC_DOT_PRE_Q4_K && sh <= VK_SHADER_MATVEC_DOT_PRE_Q4_0)
    return VK_SHADER_MATVEC_TAIL_DOT_PRE_Q4_K + (sh - VK_SHADER_MATVEC_DOT_PRE_Q4_K);
  return -1;
}

_Static_assert(VK_SHADER_MATVEC_TEAM_Q4_0 - VK_SHADER_MATVEC_TEAM_F16 == 2 &&
                 VK_SHADER_MATVEC_TEAM_Q6_K - VK_SHADER_MATVEC_TEAM_F16 == 5 &&
                 VK_SHADER_MATVEC_TEAM4_Q6_K - VK_SHADER_MATVEC_TEAM4_F16 == 5 &&
                 VK_SHADER_MATVEC_TAIL_TEAM_Q6_K - VK_SHADER_MATVEC_TAIL_TEAM_F16 == 5 &&
                 VK_SHADER_MATVEC_TAIL_TEAM4_Q6_K - VK_SHADER_MATVEC_TAIL_TEAM4_F16 == 5 &&
                 VK_SHADER_MATVEC_DOT_Q4_0 - VK_SHADER_MATVEC_DOT_Q4_K == 4 &&
                 VK_SHADER_MATVEC_TAIL_DOT_Q4_0 - VK_SHADER_MATVEC_TAIL_DOT_Q4_K == 4 &&
                 VK_SHADER_MATVEC_TAIL_DOT_PRE_Q4_0 - VK_SHADER_MATVEC_TAIL_DOT_PRE_Q4_K == 4,
               "the norm_tail variants are in the order of the products they extend");

/* A product's dispatch (4 buffers, 12 push words), or with tail its norm_tail.glsl variant:
 * 8 buffers and the tail's 7 words. */
static still_status dispatch_product(still_vk *vk, int sh, const still_vk_buffer *const bufs[4],
                                     const uint32_t push[12], uint32_t gx, uint32_t gy, uint32_t gz,
                                     const norm_tail *tail, still_error *err)
{
  if (!tail) return still_vk_dispatch(vk, (still_vk_shader_id)sh, bufs, 4, push, 12 * 4, gx, gy, gz, err);
  const int id = tail_shader(sh);
  if (id < 0) return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: this product has no norm in its tail");
  const still_vk_add_rms_norm_args *n = tail->n;
  uint32_t tp[19];
  memcpy(tp, push, 12 * 4);
  tp[12] = n->x_off / 4, tp[13] = n->g_off / 4, tp[14] = n->y_off / 4, tp[15] = n->round8 ? n->q_off : 0;
  tp[16] = TAIL_COUNTER, tp[17] = n->round8 ? 1u : 0u;
  memcpy(&tp[18], &n->eps, 4);
  const still_vk_buffer *tb[8] = {bufs[0], bufs[1], bufs[2], bufs[3], tail->res, tail->g, tail->h, tail->counts};
  return still_vk_dispatch(vk, (still_vk_shader_id)id, tb, 8, tp, sizeof tp, gx, gy, gz, err);
}

/* rows per team of matvec_team.comp for a (record_team) */
static uint32_t team_rows_for(const still_vk *vk, const still_vk_matvec_args *a)
{
  return a->n_vec != 1 || a->type == STILL_TYPE_F16 ? 1 : still_vk_team_rows(vk, a->type);
}

/* The shader of a product that matvec_team.comp's layouts take (team_shader; up_off: the SwiGLU
 * rows' offset, 0 without): matvec_dot.comp where it applies (its -DPREROUNDED variant for a
 * vector rounded beforehand), else matvec_team.comp with the rows per team of team_rows_for;
 * -1 where team_shader says no. record_team records it; the norm's tail variant is its own. */
static int product_shader(const still_vk *vk, const still_vk_matvec_args *a, size_t up_off)
{
  const int team = team_shader(vk, a);
  if (team < 0) return -1;
  const int dot = dot_shader(vk, a, team_wide(vk, a, up_off));
  if (dot >= 0) return a->x_rounded ? dot + (VK_SHADER_MATVEC_DOT_PRE_Q4_K - VK_SHADER_MATVEC_DOT_Q4_K) : dot;
  return team_rows_for(vk, a) == 4 ? team + (VK_SHADER_MATVEC_TEAM4_F16 - VK_SHADER_MATVEC_TEAM_F16) : team;
}

static still_status record_dot(still_vk *vk, int dot, const still_vk_buffer *w, const still_vk_buffer *x,
                               still_vk_buffer *y, const still_vk_buffer *bias, size_t up_off,
                               const still_vk_matvec_args *a, const norm_tail *tail, still_error *err)
{
  const uint32_t per_team = vk->dot_rows, blocks = a->ncols / 256;
  const uint32_t passes = a->type == STILL_TYPE_Q4_K   ? (blocks + 7) / 8
                          : a->type == STILL_TYPE_Q5_K ? (blocks + 3) / 4
                          : a->type == STILL_TYPE_Q6_K ? (blocks + 1) / 2
                                                       : (a->ncols / 32 + 7) / 8; /* Q8_0, Q4_0 */
  still_vk_matvec_args rows = *a;
  rows.nrows = (a->nrows + per_team - 1) / per_team;
  /* Teams per row: each workgroup rounds the whole vector, so sharing rows
   * among more workgroups costs more here than in matvec_team.comp. On an
   * H200 (R1-Llama-8B, tg128) a Q6_K file with Q6_K on this path gave 136
   * tok/s with team_subs' choice and 160.5 with one team per row, a Q8_0
   * file 182 (181 in float); Q4_K_M 211 either way (1.5B: 375 against 363),
   * so those keep team_subs'. STILL_VK_MATVEC_SUB still overrides. */
  /* A vector rounded beforehand (x_rounded): the -DPREROUNDED variant, and
   * no rounding to repeat, so team_subs' rule for every type. */
  const bool pre = a->x_rounded;
  const uint64_t q_end = 4 * ((uint64_t)a->xq_off + still_vk_round8_words(a->ncols));
  if (pre && ((a->xq_off & 3) || a->ncols % 32 || !fits(x, q_end) ||
              meets(x, 4ull * a->xq_off, q_end, y, 4ull * a->y_off, 4 * ((uint64_t)a->y_off + a->nrows))))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: the rounded vector lies outside its place");
  const bool one_team = !pre && (a->type == STILL_TYPE_Q6_K || a->type == STILL_TYPE_Q8_0);
  const uint32_t subs = one_team && !vk->matvec_sub ? 1 : team_subs(vk, &rows, passes, vk->dot_wg);
  const uint32_t flags = (bias ? 2u : 0u) | (up_off ? 4u : 0u);
  const uint32_t x_at = pre ? a->xq_off : a->x_off;
  const uint32_t push[12] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes, x_at, a->x_stride,
                             a->y_off, a->y_stride, 1, subs, flags, (uint32_t)up_off};
  const still_vk_buffer *bufs[4] = {w, x, y, bias ? bias : w};
  const uint32_t rows_per_group = vk->dot_wg / (32 * subs) * per_team;
  uint32_t gx, gy;
  grid_2d((a->nrows + rows_per_group - 1) / rows_per_group, &gx, &gy);
  return dispatch_product(vk, dot, bufs, push, gx, gy, 1, tail, err);
}

_Static_assert(VK_SHADER_MATVEC_DOT_PRE_Q4_0 - VK_SHADER_MATVEC_DOT_PRE_Q4_K ==
                 VK_SHADER_MATVEC_DOT_Q4_0 - VK_SHADER_MATVEC_DOT_Q4_K,
               "the pre-rounded dot shaders are in the order of the others");

uint32_t still_vk_round8_words(uint32_t n) { return n / 4 + n / 16; }

uint32_t still_vk_dot_preround(const still_vk *vk) { return vk->int_dot ? vk->dot_preround : 0; }

still_status still_vk_round8(still_vk *vk, const still_vk_buffer *x, uint32_t x_off, uint32_t x_stride,
                             still_vk_buffer *q, uint32_t q_off, uint32_t q_stride, uint32_t n, uint32_t nrows,
                             still_error *err)
{
  if (nrows == 0 || n == 0) return STILL_OK;
  const uint64_t last = nrows - 1, words = still_vk_round8_words(n);
  if (n % 32 || (q_off & 3) || (q_stride & 3) || (nrows > 1 && q_stride < words) || nrows > 65535)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad shape for rounding activations (%u values)", n);
  const uint64_t x_end = 4 * ((uint64_t)x_off + (uint64_t)x_stride * last + n),
                 q_end = 4 * ((uint64_t)q_off + (uint64_t)q_stride * last + words);
  if (!fits(x, x_end) || !fits(q, q_end) || meets(x, 4ull * x_off, x_end, q, 4ull * q_off, q_end))
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "Vulkan: rounding activations outside its buffers or onto them");
  const uint32_t push[6] = {n, nrows, x_off, x_stride, q_off, q_stride};
  const still_vk_buffer *bufs[2] = {x, q};
  const uint32_t blocks = n / 32;
  return still_vk_dispatch(vk, VK_SHADER_QUANTIZE_Q8, bufs, 2, push, sizeof push,
                           (blocks + vk->wg_size - 1) / vk->wg_size, nrows, 1, err);
}

/* matvec_team.comp with its epilogue (bias NULL, up_off 0: plain W·x), or
 * matvec_dot.comp where it applies: product_shader's choice, for rows team_shader takes. */
static still_status record_team(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x,
                                still_vk_buffer *y, const still_vk_buffer *bias, size_t up_off,
                                const still_vk_matvec_args *a, const norm_tail *tail, still_error *err)
{
  const int sh = product_shader(vk, a, up_off);
  if ((sh >= VK_SHADER_MATVEC_DOT_Q4_K && sh <= VK_SHADER_MATVEC_DOT_Q4_0) ||
      (sh >= VK_SHADER_MATVEC_DOT_PRE_Q4_K && sh <= VK_SHADER_MATVEC_DOT_PRE_Q4_0))
    return record_dot(vk, sh, w, x, y, bias, up_off, a, tail, err);
  const bool wide = team_wide(vk, a, up_off);
  /* one input vector: each team takes 2 or 4 rows (4: the matvec_team4
   * variants) and reads the activations once for all of them (not F16,
   * whose rows may end inside a pass). Measured on an H200, tg128, rows per
   * team 1 / 2 / 4: R1-Llama-8B Q4_K_M 114 / 141 / 158 tok/s, Q8_0 162 /
   * 178 / 167; R1-Qwen-1.5B Q4_K_M 283 / 332 / 337, Q8_0 383 / 407 / 359.
   * So 4 for the 4- and 5-bit types, 2 for Q8_0 and Q6_K (whose wider rows
   * need more registers per pass); STILL_VK_MATVEC_ROWS overrides. The
   * others (Q2_K, Q3_K, IQ4_XS, and Q4_1, Q5_0, Q5_1, IQ4_NL like Q4_0)
   * read fewer bytes a pass than Q6_K: 4 too (not yet timed on a GPU).
   * Those are the defaults of vk->team_rows_wide and team_rows_small:
   * STILL_VK_MATVEC_ROWS overrides both, and the tuner times the others on
   * the user's GPU (vk-tune.c). */
  const uint32_t per_team = team_rows_for(vk, a);
  const bool multi = per_team > 1;
  still_vk_matvec_args rows = *a;
  rows.nrows = (a->nrows + per_team - 1) / per_team; /* teams count groups of rows */
  const uint32_t subs = team_subs(vk, &rows, team_passes(a, wide), vk->wg_size);
  const uint32_t flags = (wide ? 1u : 0u) | (bias ? 2u : 0u) | (up_off ? 4u : 0u) | (multi ? 8u : 0u);
  const uint32_t push[12] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes, a->x_off, a->x_stride,
                             a->y_off, a->y_stride, a->n_vec, subs, flags, (uint32_t)up_off};
  const still_vk_buffer *bufs[4] = {w, x, y, bias ? bias : w};
  /* n_sub teams of 32 threads per row */
  const uint32_t rows_per_group = vk->wg_size / (32 * subs) * per_team;
  uint32_t gx, gy;
  grid_2d((a->nrows + rows_per_group - 1) / rows_per_group, &gx, &gy);
  return dispatch_product(vk, sh, bufs, push, gx, gy, (a->n_vec + 3) / 4, tail, err);
}

still_status still_vk_matvec(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                             const still_vk_matvec_args *a, still_error *err)
{
  still_status st = check_matvec(w, x, y, a, "matrix×vector", err);
  if (st != STILL_OK) return st;
  if (team_shader(vk, a) >= 0) return record_team(vk, w, x, y, NULL, 0, a, NULL, err);
  const uint32_t push[9] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes,
                            a->x_off, a->x_stride, a->y_off, a->y_stride, a->n_vec};
  const still_vk_buffer *bufs[3] = {w, x, y};
  uint32_t gx, gy;
  const int sh = matvec_shader(a->type);
  grid_2d(a->nrows, &gx, &gy);
  /* 4 vectors per workgroup (NV in matvec.comp) */
  return still_vk_dispatch(vk, (still_vk_shader_id)sh, bufs, 3, push, sizeof push, gx, gy, (a->n_vec + 3) / 4, err);
}

bool still_vk_matvec_fusable(const still_vk *vk, const still_vk_matvec_args *a)
{
  return !vk->fuse_off && a->n_vec < vk->matmul_min_vecs && team_shader(vk, a) >= 0;
}

still_status still_vk_matvec_fused(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x,
                                   still_vk_buffer *y, const still_vk_buffer *bias, size_t up_off,
                                   const still_vk_matvec_args *a, still_error *err)
{
  if (!still_vk_matvec_fusable(vk, a))
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no fused matrix×vector for %s weights here",
                           still_type_name(a->type));
  still_status st = check_matvec(w, x, y, a, "matrix×vector", err);
  if (st != STILL_OK) return st;
  if (up_off) { /* the up rows must lie in the buffer too, and start on a word */
    still_vk_matvec_args up = *a;
    up.w_off += up_off;
    if ((up_off & 3) || up.w_off > UINT32_MAX || (st = check_matvec(w, x, y, &up, "matrix×vector", err)) != STILL_OK)
      return st != STILL_OK ? st : still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad SwiGLU row offset");
  }
  if (bias && !fits(bias, 4 * (uint64_t)a->nrows))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bias shorter than the matrix's rows");
  return record_team(vk, w, x, y, bias, up_off, a, NULL, err);
}

bool still_vk_norm_fold_possible(const still_vk *vk) { return vk->n_bindings >= 8 && !vk->fuse_off; }

bool still_vk_norm_folds(const still_vk *vk) { return vk->norm_fold && still_vk_norm_fold_possible(vk); }

bool still_vk_matvec_norm_fits(const still_vk *vk, const still_vk_matvec_args *a, const still_vk_add_rms_norm_args *n)
{
  return still_vk_norm_fold_possible(vk) && a->n_vec == 1 && n->nrows == 1 &&
         n->n == a->nrows && ((a->nrows | a->y_off | n->x_off | n->g_off | n->y_off) & 3) == 0 &&
         (!n->round8 || (a->nrows % 32 == 0 && (n->q_off & 3) == 0)) && tail_shader(product_shader(vk, a, 0)) >= 0;
}

bool still_vk_matvec_norm_ok(const still_vk *vk, const still_vk_matvec_args *a, const still_vk_add_rms_norm_args *n)
{
  return vk->norm_fold && still_vk_matvec_norm_fits(vk, a, n);
}

still_status still_vk_matvec_norm(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x,
                                  still_vk_buffer *y, const still_vk_matvec_args *a, still_vk_buffer *res,
                                  const still_vk_buffer *g, still_vk_buffer *h, const still_vk_add_rms_norm_args *n,
                                  still_error *err)
{
  if (!still_vk_matvec_norm_fits(vk, a, n) || !g)
    return still_set_error(err, STILL_ERR_UNSUPPORTED,
                           "Vulkan: no residual add and RMSNorm in the tail of this product (%s weights, %u rows)",
                           still_type_name(a->type), a->nrows);
  still_status st = check_matvec(w, x, y, a, "matrix×vector", err);
  if (st != STILL_OK) return st;
  /* byte ranges: the product's output, the residual row, the normed row, its 8-bit form, the weight */
  const uint64_t y0 = 4ull * a->y_off, y1 = y0 + 4ull * a->nrows, r0 = 4ull * n->x_off, r1 = r0 + 4ull * n->n,
                 h0 = 4ull * n->y_off, h1 = h0 + 4ull * n->n, g0 = 4ull * n->g_off, g1 = g0 + 4ull * n->n;
  const uint64_t q0 = n->round8 ? 4ull * n->q_off : 0, q1 = n->round8 ? q0 + 4ull * still_vk_round8_words(n->n) : 0;
  if (!fits(res, r1) || !fits(h, h1) || !fits(g, g1) || (n->round8 && !fits(h, q1)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: the product's residual add and RMSNorm outside its buffers");
  /* the last workgroup reads y and res and writes res, h (and q): no two may meet but res with itself */
  if (meets(y, y0, y1, res, r0, r1) || meets(y, y0, y1, h, h0, h1) || meets(res, r0, r1, h, h0, h1) ||
      meets(g, g0, g1, res, r0, r1) || meets(g, g0, g1, h, h0, h1) ||
      (n->round8 && (meets(h, q0, q1, y, y0, y1) || meets(h, q0, q1, res, r0, r1) || meets(h, q0, q1, h, h0, h1) ||
                     meets(h, q0, q1, g, g0, g1))))
    return still_set_error(err, STILL_ERR_INVALID_ARG,
                           "Vulkan: the product's residual add and RMSNorm would write onto what it reads");
  still_vk_buffer *counts = NULL;
  still_error cerr = {0};
  if (still_vk_counts(vk, &counts, &cerr) != STILL_OK) {
    /* no counters (out of memory): the product and the norm apart, as without the tail */
    still_vk_add_rms_norm_args apart = *n;
    apart.r_off = a->y_off, apart.r_stride = a->nrows;
    st = still_vk_matvec(vk, w, x, y, a, err);
    return st == STILL_OK ? still_vk_add_rms_norm(vk, res, y, g, h, &apart, err) : st;
  }
  const norm_tail tail = {.res = res, .h = h, .counts = counts, .g = g, .n = n};
  return record_team(vk, w, x, y, NULL, 0, a, &tail, err);
}

/* matmul_coop.comp (or matmul_coop8.comp, vk->coopmat_n): the team layouts
 * on tensor cores, in tiles of 64 rows × 64 vectors, where the device has VK_NV_cooperative_matrix (vk->coopmat,
 * probed in vk-context.c; STILL_VK_COOPMAT=0 turns it off, and so does a failed
 * still_vk_coop_verify). STILL_VK_MATMUL=generic or team also keep it off
 * (matmul_coop_shader), so that they still measure those shaders. */
static int coop_shader_of(const still_vk *vk, const still_vk_matvec_args *a)
{
  if (!vk->coopmat) return -1;
  if ((a->nrows + 63) / 64 > 65535 || (a->n_vec + 63) / 64 > 65535) return -1; /* the grid's limit */
  const int k = team_layout_ok(a);
  if (k < 0) return -1;
  const int base = vk->coopmat_n == 8        ? VK_SHADER_MATMUL_COOP8_F16
                   : vk->coopmat_rows == 128 ? VK_SHADER_MATMUL_COOP_M128_F16
                   : vk->coopmat_vecs == 128 ? VK_SHADER_MATMUL_COOP_N128_F16
                                             : VK_SHADER_MATMUL_COOP_F16;
  return base + k;
}

static int matmul_coop_shader(const still_vk *vk, const still_vk_matvec_args *a)
{
  return vk->matmul_mode != 0 ? -1 : coop_shader_of(vk, a);
}

/* matvec_dot.comp -DNVEC (matmul_dot_*): vectors per workgroup, the
 * shader's NVEC */
#define DOT_BATCH 8u

bool still_vk_matmul_dot_on(const still_vk *vk) { return vk->int_dot && vk->matmul_mode == 3; }

/* The batched integer dot shader for these arguments, or -1: the types and
 * layouts of dot_shader (every one of them: STILL_VK_DOT_TYPES is about
 * decode), its workgroup, and its shared memory (no rounded chunk). */
static int matmul_dot_shader(const still_vk *vk, const still_vk_matvec_args *a)
{
  const uint32_t wg = vk->dot_wg;
  if (!still_vk_matmul_dot_on(vk) || a->n_vec < 2 || wg < 32 || wg % 32 != 0 || team_shader(vk, a) < 0) return -1;
  if (still_vk_dot_shared_bytes(vk, false) > vk->props.limits.maxComputeSharedMemorySize) return -1;
  const bool wide = team_wide(vk, a, 0);
  switch (a->type) {
  case STILL_TYPE_Q4_K: return wide ? VK_SHADER_MATMUL_DOT_Q4_K : -1;
  case STILL_TYPE_Q6_K: return VK_SHADER_MATMUL_DOT_Q6_K;
  case STILL_TYPE_Q8_0: return VK_SHADER_MATMUL_DOT_Q8_0;
  case STILL_TYPE_Q5_K: return wide ? VK_SHADER_MATMUL_DOT_Q5_K : -1;
  case STILL_TYPE_Q4_0: return VK_SHADER_MATMUL_DOT_Q4_0;
  default: return -1;
  }
}

bool still_vk_matmul_dot(const still_vk *vk, const still_vk_matvec_args *a) { return matmul_dot_shader(vk, a) >= 0; }

static still_status record_matmul_dot(still_vk *vk, int sh, const still_vk_buffer *w, const still_vk_buffer *x,
                                      still_vk_buffer *y, const still_vk_matvec_args *a, still_error *err)
{
  const uint64_t words = still_vk_round8_words(a->ncols);
  const uint64_t q_end = 4 * ((uint64_t)a->xq_off + (uint64_t)a->xq_stride * (a->n_vec - 1) + words),
                 y_end = 4 * ((uint64_t)a->y_off + (uint64_t)a->y_stride * (a->n_vec - 1) + a->nrows);
  if ((a->xq_off & 3) || (a->xq_stride & 3) || a->xq_stride < words || a->ncols % 32 || !fits(x, q_end) ||
      meets(x, 4ull * a->xq_off, q_end, y, 4ull * a->y_off, y_end))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: the rounded vectors lie outside their place");
  /* one team per row: the batch already gives the GPU many workgroups */
  const uint32_t most = vk->dot_wg / 32;
  const uint32_t subs = vk->matvec_sub ? (vk->matvec_sub < most ? vk->matvec_sub : most) : 1;
  const uint32_t push[12] = {a->ncols,   a->nrows,   (uint32_t)a->w_off, (uint32_t)a->row_bytes,
                             a->xq_off,  a->xq_stride, a->y_off,        a->y_stride,
                             a->n_vec,   subs,         0,               0};
  const still_vk_buffer *bufs[4] = {w, x, y, w};
  const uint32_t rows_per_group = vk->dot_wg / (32 * subs) * vk->dot_rows;
  uint32_t gx, gy;
  grid_2d((a->nrows + rows_per_group - 1) / rows_per_group, &gx, &gy);
  return still_vk_dispatch(vk, (still_vk_shader_id)sh, bufs, 4, push, sizeof push, gx, gy,
                           (a->n_vec + DOT_BATCH - 1) / DOT_BATCH, err);
}

/* llvmpipe (lavapipe, a CPU device) ends every loop of a shader invocation once the loops of
 * that invocation have run 65535 iterations in all, its guard against endless loops; what was
 * left to do is silently not done. GPUs have no such limit. A shader whose loops would run that
 * long is not used there (vk->loop_budget: a little under the limit, the counts below are
 * estimates). */
static bool loops_cut(const still_vk *vk, uint64_t iterations)
{
  return vk->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU && iterations > vk->loop_budget;
}

/* matmul.comp walks a row in steps of 32 values, each step its load loops (64 × 32 weights and
 * 32 × 32 activations over the workgroup) and 32 multiply steps: with 64 threads rows longer
 * than about 26000 values (the 32B's and 70B's ffn_down: 27648, 28672) came out short. There
 * such rows take matvec.comp, whose loops are shorter. */
static bool matmul_loops_cut(const still_vk *vk, const still_vk_matvec_args *a)
{
  const uint64_t wg = vk->wg_size, per_step = (64 * 32 + wg - 1) / wg + (32 * 32 + wg - 1) / wg + 32;
  return loops_cut(vk, ((uint64_t)a->ncols + 31) / 32 * per_step);
}

/* matmul_wide.comp on lavapipe: each step of 64 values runs 65 to 69 loop iterations (the
 * products' 64 and the step; its other loops are written out), counted as 72: rows of up to
 * 53312 values. */
static bool matmul_wide_loops_cut(const still_vk *vk, const still_vk_matvec_args *a)
{
  return loops_cut(vk, ((uint64_t)a->ncols + 63) / 64 * 72);
}

/* Tiles of 64 rows × 32 vectors (TILE_M, TILE_N in matmul.comp); on tensor
 * cores 64 × 64 (matmul_coop_shader); with STILL_VK_MATMUL=wide 64 × 64 on
 * every thread of 128 (matmul_wide_shader); a batch rounded beforehand on the
 * integer dot products where still_vk_matmul_dot_on. */
still_status still_vk_matmul(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                             const still_vk_matvec_args *a, still_error *err)
{
  still_status st = check_matvec(w, x, y, a, "matrix×matrix", err);
  if (st != STILL_OK) return st;
  if (a->x_rounded) {
    const int dm = matmul_dot_shader(vk, a);
    if (dm >= 0) return record_matmul_dot(vk, dm, w, x, y, a, err);
  }
  const int coop = matmul_coop_shader(vk, a);
  if (coop >= 0) {
    /* its own 128 threads (4 subgroups of 32), whatever wg_size is */
    const uint32_t cpush[9] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes,
                               a->x_off, a->x_stride, a->y_off, a->y_stride, a->n_vec};
    const still_vk_buffer *cbufs[3] = {w, x, y};
    const uint32_t tm = vk->coopmat_rows, tn = vk->coopmat_vecs;
    return still_vk_dispatch(vk, (still_vk_shader_id)coop, cbufs, 3, cpush, sizeof cpush, (a->nrows + tm - 1) / tm,
                             (a->n_vec + tn - 1) / tn, 1, err);
  }
  const uint32_t push[9] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes,
                            a->x_off, a->x_stride, a->y_off, a->y_stride, a->n_vec};
  const still_vk_buffer *bufs[3] = {w, x, y};
  /* its own 128 threads, whatever wg_size is */
  const int wide = matmul_wide_shader(vk, a);
  if (wide >= 0 && a->nrows > 0 && !matmul_wide_loops_cut(vk, a))
    return still_vk_dispatch(vk, (still_vk_shader_id)wide, bufs, 3, push, sizeof push, (a->nrows + 63) / 64,
                             (a->n_vec + 63) / 64, 1, err);
  /* the tile needs 64 threads (4 × 8 outputs each); every device allows
   * 128, but a smaller workgroup would leave outputs unwritten */
  if (vk->wg_size < 64 || matmul_loops_cut(vk, a)) return still_vk_matvec(vk, w, x, y, a, err);
  const int team = matmul_team_shader(vk, a);
  const int sh = team >= 0 ? team : family_shader(a->type, VK_SHADER_MATMUL_F32);
  return still_vk_dispatch(vk, (still_vk_shader_id)sh, bufs, 3, push, sizeof push, (a->nrows + 63) / 64,
                           (a->n_vec + 31) / 32, 1, err);
}

still_status still_vk_mul_mat(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                              const still_vk_matvec_args *a, still_error *err)
{
  /* a batch rounded beforehand goes to the integer dot products whatever its size */
  const bool dot = a->x_rounded && a->n_vec > 1 && matmul_dot_shader(vk, a) >= 0;
  return dot || a->n_vec >= vk->matmul_min_vecs ? still_vk_matmul(vk, w, x, y, a, err)
                                                : still_vk_matvec(vk, w, x, y, a, err);
}

still_status still_vk_get_rows(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *ids, still_vk_buffer *y,
                               const still_vk_get_rows_args *a, still_error *err)
{
  const int sh = family_shader(a->type, VK_SHADER_GET_ROWS_F32);
  if (sh < 0)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no embedding lookup shader for %s weights",
                           still_type_name(a->type));
  if (a->n_tok == 0) return STILL_OK;
  uint64_t row_need;
  if (!still_type_bytes(a->type, a->ncols, &row_need) || row_need > a->row_bytes || (a->w_off & 3) || a->ncols == 0)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad embedding lookup shape (%u columns of %s)",
                           a->ncols, still_type_name(a->type));
  if (!fits(w, a->w_off + (uint64_t)a->row_bytes * a->nrows) || !fits(ids, 4 * ((uint64_t)a->ids_off + a->n_tok)) ||
      !fits(y, 4 * ((uint64_t)a->y_off + (uint64_t)a->y_stride * (a->n_tok - 1) + a->ncols)) ||
      a->w_off + (uint64_t)a->row_bytes * a->nrows > UINT32_MAX)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: embedding lookup outside its buffers");
  const uint32_t push[8] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes,
                            a->ids_off, a->y_off, a->y_stride, a->n_tok};
  const still_vk_buffer *bufs[3] = {w, ids, y};
  uint32_t gx, gy;
  grid_2d(a->n_tok, &gx, &gy);
  return still_vk_dispatch(vk, (still_vk_shader_id)sh, bufs, 3, push, sizeof push, gx, gy, 1, err);
}

still_status still_vk_rms_norm(still_vk *vk, const still_vk_buffer *x, uint32_t x_off, uint32_t x_stride,
                               const still_vk_buffer *g, uint32_t g_off, still_vk_buffer *y, uint32_t y_off,
                               uint32_t y_stride, uint32_t n, uint32_t nrows, float eps, still_error *err)
{
  if (nrows == 0 || n == 0) return STILL_OK;
  if (!fits(x, 4 * ((uint64_t)x_off + (uint64_t)x_stride * (nrows - 1) + n)) ||
      !fits(y, 4 * ((uint64_t)y_off + (uint64_t)y_stride * (nrows - 1) + n)) ||
      (g && !fits(g, 4 * ((uint64_t)g_off + n))))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: RMSNorm outside its buffers");
  struct {
    uint32_t n, nrows, x_off, x_stride, g_off, has_weight, y_off, y_stride;
    float eps;
  } push = {n, nrows, x_off, x_stride, g_off, g != NULL, y_off, y_stride, eps};
  const still_vk_buffer *bufs[3] = {x, g ? g : x, y};
  uint32_t gx, gy;
  grid_2d(nrows, &gx, &gy);
  return still_vk_dispatch(vk, VK_SHADER_RMS_NORM, bufs, 3, &push, sizeof push, gx, gy, 1, err);
}

still_status still_vk_add_rms_norm(still_vk *vk, still_vk_buffer *x, const still_vk_buffer *r,
                                   const still_vk_buffer *g, still_vk_buffer *y, const still_vk_add_rms_norm_args *a,
                                   still_error *err)
{
  if (a->nrows == 0 || a->n == 0) return STILL_OK;
  const uint64_t last = a->nrows - 1;
  /* each region's end, in floats */
  const uint64_t x_end = a->x_off + (uint64_t)a->x_stride * last + a->n,
                 y_end = a->y_off + (uint64_t)a->y_stride * last + a->n,
                 r_end = a->r_off + (uint64_t)a->r_stride * last + a->n;
  if (!fits(x, 4 * x_end) || !fits(y, 4 * y_end) || (r && !fits(r, 4 * r_end)) ||
      (g && !fits(g, 4 * ((uint64_t)a->g_off + a->n))))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: residual add and RMSNorm outside its buffers");
  /* rows of whole vec4s: a quarter of the loads */
  const bool v4 = ((a->n | a->x_off | a->x_stride | a->y_off | a->y_stride | a->g_off |
                    (r ? a->r_off | a->r_stride : 0)) & 3) == 0;
  const uint32_t q = v4 ? 4 : 1;
  if (a->round8) {
    const uint64_t words = still_vk_round8_words(a->n), q_end = a->q_off + (uint64_t)a->q_stride * last + words;
    if (!v4 || a->n % 32)
      return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no rounded RMSNorm output for this row layout");
    if ((a->q_off & 3) || (a->q_stride & 3) || (a->nrows > 1 && a->q_stride < words) || !fits(y, 4 * q_end) ||
        meets(y, 4ull * a->q_off, 4 * q_end, y, 4ull * a->y_off, 4 * y_end) ||
        meets(y, 4ull * a->q_off, 4 * q_end, x, 4ull * a->x_off, 4 * x_end) ||
        (r && meets(y, 4ull * a->q_off, 4 * q_end, r, 4ull * a->r_off, 4 * r_end)))
      return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: the rounded RMSNorm output lies outside its place");
  }
  struct {
    uint32_t n, nrows, x_off, x_stride, r_off, r_stride, g_off, y_off, y_stride, flags;
    float eps;
    uint32_t q_off, q_stride;
  } push = {a->n / q, a->nrows, a->x_off / q, a->x_stride / q, r ? a->r_off / q : 0, r ? a->r_stride / q : 0,
            g ? a->g_off / q : 0, a->y_off / q, a->y_stride / q, (r ? 1u : 0u) | (g ? 2u : 0u), a->eps,
            a->round8 ? a->q_off : 0, a->round8 ? a->q_stride : 0};
  const still_vk_buffer *bufs[4] = {x, r ? r : x, g ? g : x, y};
  uint32_t gx, gy;
  grid_2d(a->nrows, &gx, &gy);
  const still_vk_shader_id id = a->round8 ? VK_SHADER_ADD_RMS_NORM_V4_ROUND8
                                : v4      ? VK_SHADER_ADD_RMS_NORM_V4
                                          : VK_SHADER_ADD_RMS_NORM;
  return still_vk_dispatch(vk, id, bufs, 4, &push, sizeof push, gx, gy, 1, err);
}

still_status still_vk_binary(still_vk *vk, still_vk_binary_op op, const still_vk_buffer *a, uint32_t a_off,
                             const still_vk_buffer *b, uint32_t b_off, uint32_t b_mod, still_vk_buffer *y,
                             uint32_t y_off, uint32_t n, still_error *err)
{
  if (n == 0) return STILL_OK;
  if (!fits(a, 4 * ((uint64_t)a_off + n)) ||
      (op != STILL_VK_COPY && !fits(b, 4 * ((uint64_t)b_off + (b_mod ? b_mod : n)))) ||
      !fits(y, 4 * ((uint64_t)y_off + n)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: element-wise op outside its buffers");
  still_vk_shader_id id = op == STILL_VK_ADD  ? VK_SHADER_ADD
                          : op == STILL_VK_MUL  ? VK_SHADER_MUL
                          : op == STILL_VK_COPY ? VK_SHADER_COPY
                                                : VK_SHADER_SWIGLU;
  const uint32_t push[5] = {n, a_off, b_off, y_off, b_mod};
  const still_vk_buffer *bufs[3] = {a, b, y};
  uint32_t gx, gy;
  grid_2d((n + vk->wg_size - 1) / vk->wg_size, &gx, &gy);
  return still_vk_dispatch(vk, id, bufs, 3, push, sizeof push, gx, gy, 1, err);
}

still_status still_vk_rope(still_vk *vk, still_vk_buffer *x, const still_vk_buffer *cs, const still_vk_rope_args *a,
                           still_error *err)
{
  if (a->n_tok == 0 || a->n_heads == 0) return STILL_OK;
  const uint32_t half = a->n_rot / 2;
  if ((a->n_rot & 1) || a->n_rot > a->head_dim || half == 0)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad rope shape (n_rot %u, head_dim %u)", a->n_rot,
                           a->head_dim);
  if (!fits(x, 4 * ((uint64_t)a->x_off + (uint64_t)a->x_stride * (a->n_tok - 1) + (uint64_t)a->n_heads * a->head_dim)) ||
      !fits(cs, 4 * ((uint64_t)a->cs_off + 2ull * a->n_tok * half)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: rope outside its buffers");
  const uint32_t push[9] = {a->n_heads, a->head_dim, a->n_rot, a->neox, a->x_off, a->x_stride,
                            a->cs_off,  a->n_tok * half, a->n_tok};
  const still_vk_buffer *bufs[2] = {x, cs};
  uint32_t gx, gy;
  grid_2d(a->n_tok * a->n_heads, &gx, &gy);
  return still_vk_dispatch(vk, VK_SHADER_ROPE, bufs, 2, push, sizeof push, gx, gy, 1, err);
}

/* Q8_0 stores: kv_store_q8_0.comp quantizes whole blocks, one invocation
 * per pair of blocks (17 words: the 34-byte blocks share words), so the
 * cache must hold whole pairs (still_vk_kv_cache_bytes rounds up). */
static still_status kv_store_q8_0(still_vk *vk, const still_vk_buffer *a, uint32_t a_off, still_vk_buffer *cache,
                                  uint32_t y_off, uint32_t n, still_error *err)
{
  if ((n % 32) || (y_off % 32))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: Q8_0 cache stores need whole blocks of 32 values");
  if (n == 0) return STILL_OK;
  const uint32_t b0 = y_off / 32, nb = n / 32, pair0 = b0 / 2, pair_end = (b0 + nb - 1) / 2 + 1;
  if (!fits(a, 4 * ((uint64_t)a_off + n)) || !fits(cache, 68 * (uint64_t)pair_end))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: KV store outside its buffers");
  const uint32_t push[5] = {nb, a_off, b0, pair0, pair_end - pair0};
  const still_vk_buffer *bufs[2] = {a, cache};
  uint32_t gx, gy;
  grid_2d((pair_end - pair0 + vk->wg_size - 1) / vk->wg_size, &gx, &gy);
  return still_vk_dispatch(vk, VK_SHADER_KV_STORE_Q8_0, bufs, 2, push, sizeof push, gx, gy, 1, err);
}

/* Also the range checks of the ops that read or write a cache: for Q8_0
 * whole pairs of blocks, which the store writes and the attention shaders
 * may read (a block's last codes are read as a word reaching 2 bytes into
 * the next block). */
uint64_t still_vk_kv_cache_bytes(uint32_t kv_type, uint64_t n_values)
{
  if (kv_type == STILL_TYPE_Q8_0) return (n_values / 32 + 1) / 2 * 68; /* whole pairs of blocks */
  return n_values * (kv_type == STILL_TYPE_F32 ? 4 : 2);
}

still_status still_vk_kv_store(still_vk *vk, uint32_t kv_type, const still_vk_buffer *a, uint32_t a_off,
                               still_vk_buffer *cache, uint32_t y_off, uint32_t n, still_error *err)
{
  if (kv_type == STILL_TYPE_F32) return still_vk_binary(vk, STILL_VK_COPY, a, a_off, a, a_off, 0, cache, y_off, n, err);
  if (kv_type == STILL_TYPE_Q8_0) return kv_store_q8_0(vk, a, a_off, cache, y_off, n, err);
  if (kv_type != STILL_TYPE_F16)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: a %s KV cache is not supported (F32, F16 or Q8_0)",
                           still_type_name(kv_type));
  if ((n & 1) || (y_off & 1))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: F16 cache stores need even sizes");
  if (n == 0) return STILL_OK;
  if (!fits(a, 4 * ((uint64_t)a_off + n)) || !fits(cache, 2 * ((uint64_t)y_off + n)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: KV store outside its buffers");
  const uint32_t push[3] = {n / 2, a_off, y_off / 2};
  const still_vk_buffer *bufs[2] = {a, cache};
  uint32_t gx, gy;
  grid_2d((n / 2 + vk->wg_size - 1) / vk->wg_size, &gx, &gy);
  return still_vk_dispatch(vk, VK_SHADER_KV_STORE_F16, bufs, 2, push, sizeof push, gx, gy, 1, err);
}

bool still_vk_rope_store_ok(const still_vk *vk, const still_vk_rope_store_args *a)
{
  const bool f16 = a->kv_type == STILL_TYPE_F16, q8 = a->kv_type == STILL_TYPE_Q8_0;
  const uint32_t hk = a->head_dim_k, hv = a->head_dim_v;
  if (vk->rope_store_off || vk->fuse_off || vk->n_bindings < 8) return false;
  if (!f16 && !q8 && a->kv_type != STILL_TYPE_F32) return false;
  if (a->n_head == 0 || a->n_head_kv == 0 || hk == 0 || hk > 256 || hv == 0 || hv > 256) return false;
  if ((a->n_rot & 1) || a->n_rot > hk) return false;
  if (f16 && ((hk | hv | a->kc_off | a->vc_off) & 1)) return false;
  if (q8 && ((hk | hv | a->kc_off | a->vc_off) % 64)) return false;
  return true;
}

/* What a rope and KV store of a (rope_store.comp, or the fold) reads: in = {q, k, v products,
 * rope table, q norm, k norm} (the table NULL without rope, the norms NULL where absent), and
 * the bytes [r[i][0], r[i][1]) of each. */
typedef struct {
  const still_vk_buffer *in[6];
  uint64_t r[6][2];
} rope_store_reads;

static rope_store_reads reads_of(const still_vk_rope_store_args *a, const still_vk_buffer *q, const still_vk_buffer *k,
                                 const still_vk_buffer *v, const still_vk_buffer *cs, const still_vk_buffer *q_norm,
                                 const still_vk_buffer *k_norm)
{
  const uint64_t last = a->n_tok - 1, half = a->n_rot / 2;
  return (rope_store_reads){
    .in = {q, k, v, half > 0 ? cs : NULL, q_norm, k_norm},
    .r = {{4 * a->q_off, 4 * (a->q_off + a->q_stride * last + (uint64_t)a->n_head * a->head_dim_k)},
          {4 * a->k_off, 4 * (a->k_off + a->k_stride * last + (uint64_t)a->n_head_kv * a->head_dim_k)},
          {4 * a->v_off, 4 * (a->v_off + a->v_stride * last + (uint64_t)a->n_head_kv * a->head_dim_v)},
          {4 * a->cs_off, 4 * (a->cs_off + 2 * a->n_tok * half)},
          {0, 4ull * a->head_dim_k},
          {0, 4ull * a->head_dim_k}}};
}

/* Whether each input there is lies in its buffer. */
static bool reads_fit(const rope_store_reads *rd)
{
  for (int i = 0; i < 6; i++)
    if (rd->in[i] && !fits(rd->in[i], rd->r[i][1])) return false;
  return true;
}

/* Whether the cache rows a rope and KV store of a writes (kc, vc) meet each other or what it
 * reads (the engine never lays them out so; a caller that did would read what the op is
 * writing). */
static bool kv_rows_meet(const still_vk_rope_store_args *a, const rope_store_reads *rd, const still_vk_buffer *kc,
                         const still_vk_buffer *vc)
{
  const uint64_t kend = a->kc_off + (uint64_t)a->n_tok * a->n_head_kv * a->head_dim_k,
                 vend = a->vc_off + (uint64_t)a->n_tok * a->n_head_kv * a->head_dim_v;
  const uint64_t w[2][2] = {{still_vk_kv_cache_bytes(a->kv_type, a->kc_off), still_vk_kv_cache_bytes(a->kv_type, kend)},
                            {still_vk_kv_cache_bytes(a->kv_type, a->vc_off), still_vk_kv_cache_bytes(a->kv_type, vend)}};
  const still_vk_buffer *out[2] = {kc, vc};
  if (meets(kc, w[0][0], w[0][1], vc, w[1][0], w[1][1])) return true;
  for (int o = 0; o < 2; o++)
    for (int i = 0; i < 6; i++)
      if (meets(out[o], w[o][0], w[o][1], rd->in[i], rd->r[i][0], rd->r[i][1])) return true;
  return false;
}

still_status still_vk_rope_store(still_vk *vk, still_vk_buffer *q, const still_vk_buffer *k, const still_vk_buffer *v,
                                 const still_vk_buffer *cs, still_vk_buffer *kc, still_vk_buffer *vc,
                                 const still_vk_buffer *q_norm, const still_vk_buffer *k_norm,
                                 const still_vk_rope_store_args *a, still_error *err)
{
  if (a->n_tok == 0) return STILL_OK;
  if (!still_vk_rope_store_ok(vk, a))
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no fused rope and KV store for this shape");
  const bool f16 = a->kv_type == STILL_TYPE_F16, q8 = a->kv_type == STILL_TYPE_Q8_0;
  const uint64_t half = a->n_rot / 2;
  const uint64_t kend = a->kc_off + (uint64_t)a->n_tok * a->n_head_kv * a->head_dim_k,
                 vend = a->vc_off + (uint64_t)a->n_tok * a->n_head_kv * a->head_dim_v;
  const rope_store_reads rd = reads_of(a, q, k, v, cs, q_norm, k_norm);
  if (!reads_fit(&rd) || !fits(kc, still_vk_kv_cache_bytes(a->kv_type, kend)) ||
      !fits(vc, still_vk_kv_cache_bytes(a->kv_type, vend)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: rope and KV store outside their buffers");
  if (kv_rows_meet(a, &rd, kc, vc))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: KV cache rows onto the rope and store's inputs");
  struct {
    uint32_t n_tok, n_head, n_head_kv, head_dim_k, head_dim_v, n_rot, flags;
    float eps;
    uint32_t q_off, q_stride, k_off, k_stride, v_off, v_stride, cs_off, sin_off, kc_off, vc_off;
  } push = {a->n_tok, a->n_head, a->n_head_kv, a->head_dim_k, a->head_dim_v, a->n_rot,
            (a->neox ? 1u : 0u) | (q_norm ? 2u : 0u) | (k_norm ? 4u : 0u), a->eps, a->q_off, a->q_stride,
            a->k_off, a->k_stride, a->v_off, a->v_stride, a->cs_off, a->n_tok * (uint32_t)half, a->kc_off,
            a->vc_off};
  /* absent inputs are bound to q, which the shader then does not read as them */
  const still_vk_buffer *bufs[8] = {q, k, v, half > 0 ? cs : q, kc, vc, q_norm ? q_norm : q, k_norm ? k_norm : q};
  uint32_t gx, gy;
  grid_2d(a->n_tok * (a->n_head + 2 * a->n_head_kv), &gx, &gy);
  const still_vk_shader_id sh = q8 ? VK_SHADER_ROPE_STORE_Q8_0 : f16 ? VK_SHADER_ROPE_STORE_F16 : VK_SHADER_ROPE_STORE_F32;
  return still_vk_dispatch(vk, sh, bufs, 8, &push, sizeof push, gx, gy, 1, err);
}

/* attention_tile.comp: BR (16) query rows per workgroup; its shared memory
 * holds 16 queries of up to 256 dims, a 32-key slice of 64 dims and the
 * 16 × 32 weights (27 KiB); its thread layouts need a workgroup of 64, 128
 * or 256 threads. */
#define ATTN_TILE_ROWS 16u
/* 16 KiB of queries + 8.5 KiB K/V slice + 2 KiB weights + row stats and common.glsl's scratch */
#define ATTN_TILE_SHARED_BYTES (28u * 1024u)

bool still_vk_attention_tile_ok(const still_vk *vk, const still_vk_attention_args *a)
{
  const bool f16 = a->kv_type == STILL_TYPE_F16, q8 = a->kv_type == STILL_TYPE_Q8_0;
  const uint32_t align = q8 ? 32 : 4;
  if (vk->attn_tile_off || (!f16 && !q8 && a->kv_type != STILL_TYPE_F32)) return false;
  if (a->n_tok < STILL_VK_ATTN_TILE_MIN_TOKENS || a->n_head_kv == 0 || a->n_head % a->n_head_kv) return false;
  if (vk->wg_size % 64 || vk->wg_size > 256) return false;
  /* its shared memory (above the 16 KiB every device has) */
  if (vk->props.limits.maxComputeSharedMemorySize < ATTN_TILE_SHARED_BYTES) return false;
  const uint64_t tiles = ((uint64_t)a->n_tok * (a->n_head / a->n_head_kv) + ATTN_TILE_ROWS - 1) / ATTN_TILE_ROWS;
  return a->head_dim_k > 0 && a->head_dim_k <= 256 && a->head_dim_k % align == 0 && a->head_dim_v > 0 &&
         a->head_dim_v <= 256 && a->head_dim_v % align == 0 && a->k_off % align == 0 && a->v_off % align == 0 &&
         tiles <= 65535 && a->n_head_kv <= 65535;
}

/* attention_coop.comp: 64 query rows per workgroup (16 per subgroup of 32), its shared
 * memory as its header counts it: the K or V tile, scores and scratch, weights, row values;
 * the queries too but in the emulation (which holds them in registers) */
#define ATTN_COOP_ROWS 64u
#define ATTN_COOP_SHARED_EMULATED (32u * 136u * 2u + 4u * 512u * 4u + 4u * 16u * 40u * 2u + (2u * 128u + 64u) * 4u + 16u)
#define ATTN_COOP_SHARED_BYTES (ATTN_COOP_SHARED_EMULATED + 64u * 136u * 2u)

bool still_vk_attention_coop_possible(const still_vk *vk)
{
  /* (vk->coopmat: subgroups of 32, or their emulation) */
  const uint32_t shared = vk->coopmat_emulated ? ATTN_COOP_SHARED_EMULATED : ATTN_COOP_SHARED_BYTES;
  return vk->coopmat && vk->coopmat_n == 16 && vk->props.limits.maxComputeSharedMemorySize >= shared;
}

bool still_vk_attention_coop_ok(const still_vk *vk, const still_vk_attention_args *a)
{
  return vk->attn_coop && still_vk_attention_coop_fits(vk, a);
}

/* Loop iterations of attention_coop.comp per thread, for lavapipe's limit (loops_cut; it runs
 * only emulated there, its matrix products as loops): per tile of 32 keys about 17 for each 16
 * dims of K and 50 for each 16 of V (26 of them where the running max moves), the loads and
 * the softmax; the queries and the output once. Counted with room to spare (-DPV_LANES: its
 * values' products are 32 iterations a tile, fewer). */
static uint64_t coop_loops(const still_vk_attention_args *a)
{
  const uint64_t n_kv = (uint64_t)a->pos0 + a->n_tok;
  return (n_kv + 31) / 32 * (18 * (a->head_dim_k / 16) + 50 * (a->head_dim_v / 16) + 60) + 450;
}

bool still_vk_attention_coop_fits(const still_vk *vk, const still_vk_attention_args *a)
{
  /* an F32 cache keeps the float32 tiles: its user asked for full precision; the tiled
   * attention's conditions are its too (the workgroup's size aside: its own is 128); where
   * lavapipe's loop limit would cut it short, the tiles may still fit */
  if (a->kv_type == STILL_TYPE_F32 || !still_vk_attention_coop_possible(vk) || !still_vk_attention_tile_ok(vk, a) ||
      loops_cut(vk, coop_loops(a)))
    return false;
  const uint64_t tiles = ((uint64_t)a->n_tok * (a->n_head / a->n_head_kv) + ATTN_COOP_ROWS - 1) / ATTN_COOP_ROWS;
  return a->head_dim_k % 16 == 0 && a->head_dim_k <= 128 && a->head_dim_v % 16 == 0 && a->head_dim_v <= 128 &&
         tiles <= 65535;
}

/* Attention over a long context on lavapipe (loops_cut): attention_tile.comp runs about
 * hdk + hdv / 4 loop iterations per tile of 32 keys with 64 threads (measured: head dims 128 went
 * wrong between 12000 and 14500 keys), attention.comp per block of WG_SIZE keys its query dot,
 * the block's V rows for each of its dims and the reductions (16000 keys with dims 128). The
 * split attention of decode keeps every workgroup to a chunk of keys. */
bool still_vk_attention_loops_cut(const still_vk *vk, const still_vk_attention_args *a)
{
  const uint64_t n_kv = (uint64_t)a->pos0 + a->n_tok, wg = vk->wg_size ? vk->wg_size : 64;
  /* (attention_coop.comp is not taken where it would be cut: still_vk_attention_coop_fits) */
  if (still_vk_attention_tile_ok(vk, a))
    return loops_cut(vk, (n_kv + 31) / 32 * (a->head_dim_k + a->head_dim_v / 4 + 16));
  const uint64_t dot = a->kv_type == STILL_TYPE_Q8_0 ? a->head_dim_k / 4 : a->head_dim_k;
  return loops_cut(vk, (n_kv + wg - 1) / wg * (dot + (a->head_dim_v + wg - 1) / wg * wg + 16));
}

still_status still_vk_attention(still_vk *vk, const still_vk_buffer *q, const still_vk_buffer *k,
                                const still_vk_buffer *v, still_vk_buffer *out, const still_vk_attention_args *a,
                                still_error *err)
{
  if (a->n_tok == 0) return STILL_OK;
  const bool f16 = a->kv_type == STILL_TYPE_F16, q8 = a->kv_type == STILL_TYPE_Q8_0;
  if (!f16 && !q8 && a->kv_type != STILL_TYPE_F32)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: a %s KV cache is not supported (F32, F16 or Q8_0)",
                           still_type_name(a->kv_type));
  if (a->round8)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: only the split attention rounds its output");
  if (a->n_head == 0 || a->n_head_kv == 0 || a->n_head % a->n_head_kv || a->head_dim_k == 0 ||
      a->head_dim_k > 256 || a->head_dim_v == 0 || a->head_dim_v > 256 ||
      (f16 && ((a->k_off | a->v_off) & 1)) ||
      (q8 && ((a->k_off | a->v_off | a->head_dim_k | a->head_dim_v) % 32)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad attention shape (%u heads, %u KV heads, dims %u/%u)",
                           a->n_head, a->n_head_kv, a->head_dim_k, a->head_dim_v);
  const uint64_t n_kv = (uint64_t)a->pos0 + a->n_tok;
  if (!fits(q, 4 * ((uint64_t)a->q_off + (uint64_t)a->q_stride * (a->n_tok - 1) + (uint64_t)a->n_head * a->head_dim_k)) ||
      !fits(out, 4 * ((uint64_t)a->o_off + (uint64_t)a->o_stride * (a->n_tok - 1) + (uint64_t)a->n_head * a->head_dim_v)) ||
      !fits(k, still_vk_kv_cache_bytes(a->kv_type, a->k_off + n_kv * a->n_head_kv * a->head_dim_k)) ||
      !fits(v, still_vk_kv_cache_bytes(a->kv_type, a->v_off + n_kv * a->n_head_kv * a->head_dim_v)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: attention outside its buffers");
  if (still_vk_attention_loops_cut(vk, a))
    return still_set_error(err, STILL_ERR_BACKEND, /* the driver's limit: the forward pass goes on on the CPU */
                           "Vulkan: %s stops a shader's loops after 65535 iterations, too few for attention over "
                           "%llu positions",
                           vk->props.deviceName, (unsigned long long)n_kv);
  struct {
    uint32_t n_tok, n_head, n_head_kv, head_dim_k, head_dim_v, pos0, q_off, q_stride, k_off, v_off, o_off, o_stride;
    float scale;
  } push = {a->n_tok, a->n_head, a->n_head_kv, a->head_dim_k, a->head_dim_v, a->pos0, a->q_off, a->q_stride,
            a->k_off, a->v_off, a->o_off, a->o_stride, a->scale};
  const still_vk_buffer *bufs[4] = {q, k, v, out};
  if (still_vk_attention_coop_ok(vk, a)) {
    /* row tiles of 64 × KV heads; the same push constants */
    const uint64_t tiles = ((uint64_t)a->n_tok * (a->n_head / a->n_head_kv) + ATTN_COOP_ROWS - 1) / ATTN_COOP_ROWS;
    const still_vk_shader_id csh = vk->attn_coop == 2 ? (q8 ? VK_SHADER_ATTENTION_COOP_LANES_Q8_0
                                                               : VK_SHADER_ATTENTION_COOP_LANES_F16)
                                   : q8                ? VK_SHADER_ATTENTION_COOP_Q8_0
                                                       : VK_SHADER_ATTENTION_COOP_F16;
    return still_vk_dispatch(vk, csh, bufs, 4, &push, sizeof push, (uint32_t)tiles, a->n_head_kv, 1, err);
  }
  if (still_vk_attention_tile_ok(vk, a)) {
    /* row tiles × KV heads; same push constants as attention.comp */
    const uint64_t tiles = ((uint64_t)a->n_tok * (a->n_head / a->n_head_kv) + ATTN_TILE_ROWS - 1) / ATTN_TILE_ROWS;
    const still_vk_shader_id tsh =
      q8 ? VK_SHADER_ATTENTION_TILE_Q8_0 : f16 ? VK_SHADER_ATTENTION_TILE_F16 : VK_SHADER_ATTENTION_TILE_F32;
    return still_vk_dispatch(vk, tsh, bufs, 4, &push, sizeof push, (uint32_t)tiles, a->n_head_kv, 1, err);
  }
  uint32_t gx, gy;
  grid_2d(a->n_tok * a->n_head, &gx, &gy);
  const still_vk_shader_id sh = q8 ? VK_SHADER_ATTENTION_Q8_0 : f16 ? VK_SHADER_ATTENTION_F16 : VK_SHADER_ATTENTION_F32;
  return still_vk_dispatch(vk, sh, bufs, 4, &push, sizeof push, gx, gy, 1, err);
}

/* attention_split.comp: at most one key per thread (chunk = the workgroup)
 * in its first phase; its shared scratch holds MAX_G (8) query heads of up
 * to 256 dims, and the key groups' sums (2 · G · WG_SIZE floats) reuse it.
 * Short contexts take smaller chunks (several threads per key) so that
 * about SPLIT_GROUPS workgroups run: at decode with 128 keys and 2 KV heads
 * (Qwen 1.5B) one chunk per head would leave the GPU idle. */
#define SPLIT_GROUPS 128u
#define SPLIT_MIN_CHUNK 16u
static uint32_t split_chunk(const still_vk *vk) { return vk->wg_size; }

/* Part scratch sized for a context of n_kv keys holds this many chunks per
 * (token, head): those of the full-size chunks, or enough for the small
 * chunks of short contexts. */
static uint64_t split_alloc_chunks(const still_vk *vk, uint32_t n_kv)
{
  const uint64_t full = (n_kv + split_chunk(vk) - 1) / split_chunk(vk);
  return full > 64 ? full : 64;
}

/* Keys per chunk for this call: halve from the workgroup size while there
 * are fewer than SPLIT_GROUPS workgroups, the chunks still fit the part
 * buffer, and each thread's share of a K row stays whole reads. */
static uint32_t split_chunk_for(const still_vk *vk, const still_vk_attention_args *a, uint64_t part_chunks)
{
  const uint32_t per_read = a->kv_type == STILL_TYPE_Q8_0 ? 32 : a->kv_type == STILL_TYPE_F16 ? 8 : 4;
  const uint64_t n_kv = (uint64_t)a->pos0 + a->n_tok;
  uint32_t chunk = split_chunk(vk);
  for (;;) {
    const uint32_t half = chunk / 2, s = vk->wg_size / half;
    const uint64_t groups = (n_kv + chunk - 1) / chunk * a->n_head_kv * a->n_tok;
    if (half < SPLIT_MIN_CHUNK || groups >= SPLIT_GROUPS || (n_kv + half - 1) / half > part_chunks ||
        a->head_dim_k % (s * per_read) != 0)
      return chunk;
    chunk = half;
  }
}

/* attention_split.comp's shared memory: the queries (8 heads of 256 floats; the fold also the
 * new key and value), the scores (8 · WG_SIZE), the maxima, common.glsl's scratch, and the
 * fold's new scores, Q8_0 block scales and the merge's flag. */
static uint32_t split_shared_bytes(const still_vk *vk, bool fold)
{
  return 4 * (8 * 256 + 8 * vk->wg_size + 8 + vk->wg_size / 4 + 1) + (fold ? 4 * (2 * 256 + 8 + 2 * 8 + 1) : 0);
}

bool still_vk_attention_split_ok(const still_vk *vk, const still_vk_attention_args *a)
{
  const uint32_t g = a->n_head_kv ? a->n_head / a->n_head_kv : 0;
  const bool f16 = a->kv_type == STILL_TYPE_F16, q8 = a->kv_type == STILL_TYPE_Q8_0;
  /* elements per read of a K row: 16 bytes, or a Q8_0 block of 32 */
  const uint32_t align = q8 ? 32 : f16 ? 8 : 4;
  if (q8 && (a->head_dim_k % 32 || a->head_dim_v % 32 || a->v_off % 32)) return false;
  return !vk->attn_split_off && (f16 || q8 || a->kv_type == STILL_TYPE_F32) && a->n_tok > 0 && a->n_head_kv > 0 &&
         a->n_head % a->n_head_kv == 0 && g >= 1 && g <= 8 && a->head_dim_k % 8 == 0 && a->head_dim_k <= 256 &&
         a->head_dim_v % 2 == 0 && a->head_dim_v <= 256 && a->k_off % align == 0 && a->v_off % 2 == 0 &&
         2 * g * vk->wg_size <= 8 * 256 && g * a->head_dim_k <= 8 * 256 &&
         split_shared_bytes(vk, false) <= vk->props.limits.maxComputeSharedMemorySize;
}

bool still_vk_attention_split_rounds(const still_vk *vk, const still_vk_attention_args *a)
{
  /* whole blocks per head, one thread of the merge's workgroup per block */
  return a->head_dim_v > 0 && a->head_dim_v % 32 == 0 && a->head_dim_v <= 256 && a->head_dim_v / 32 <= vk->wg_size;
}

uint64_t still_vk_attention_part_floats(const still_vk *vk, uint32_t n_tok, uint32_t n_head, uint32_t head_dim_v,
                                        uint32_t n_kv)
{
  return (uint64_t)n_tok * n_head * split_alloc_chunks(vk, n_kv) * (2 + head_dim_v);
}

/* The rest of a folded decode step (still_vk_attention_fold): rope_store.comp's inputs. */
typedef struct {
  const still_vk_rope_store_args *rs;
  const still_vk_buffer *v_src, *cs, *q_norm, *k_norm;
} fold_inputs;

static still_status split_run(still_vk *vk, const still_vk_buffer *q, const still_vk_buffer *k,
                              const still_vk_buffer *v, still_vk_buffer *part, still_vk_buffer *out,
                              const still_vk_attention_args *a, const fold_inputs *fold, still_error *err);

/* attention_split.comp's push constants (from n_rot: -DFOLD only; the last two: -DMERGE only) */
typedef struct {
  uint32_t n_tok, n_head, n_head_kv, head_dim_k, head_dim_v, pos0, q_off, q_stride, k_off, v_off, n_chunks;
  float scale;
  uint32_t chunk;
  uint32_t n_rot, flags;
  float eps;
  uint32_t k_src, v_src, cs_off, sin_off;
  uint32_t o_off, r8_off;
} split_push;

still_status still_vk_attention_split(still_vk *vk, const still_vk_buffer *q, const still_vk_buffer *k,
                                      const still_vk_buffer *v, still_vk_buffer *part, still_vk_buffer *out,
                                      const still_vk_attention_args *a, still_error *err)
{
  if (a->n_tok == 0) return STILL_OK;
  if (!still_vk_attention_split_ok(vk, a))
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no split attention for this shape");
  return split_run(vk, q, k, v, part, out, a, NULL, err);
}

bool still_vk_attention_fold_ok(const still_vk *vk, const still_vk_attention_args *a,
                                const still_vk_rope_store_args *rs)
{
  return !vk->attn_fold_off && still_vk_attention_fold_fits(vk, a, rs);
}

bool still_vk_attention_fold_fits(const still_vk *vk, const still_vk_attention_args *a,
                                  const still_vk_rope_store_args *rs)
{
  const uint64_t pos = a->pos0;
  return split_shared_bytes(vk, true) <= vk->props.limits.maxComputeSharedMemorySize && a->n_tok == 1 &&
         rs->n_tok == 1 && a->kv_type == rs->kv_type &&
         a->n_head == rs->n_head && a->n_head_kv == rs->n_head_kv && a->head_dim_k == rs->head_dim_k &&
         a->head_dim_v == rs->head_dim_v && rs->kc_off == a->k_off + pos * a->n_head_kv * a->head_dim_k &&
         rs->vc_off == a->v_off + pos * a->n_head_kv * a->head_dim_v && still_vk_rope_store_ok(vk, rs) &&
         still_vk_attention_split_ok(vk, a);
}

bool still_vk_attention_folds(const still_vk *vk) { return !vk->attn_fold_off; }

bool still_vk_attention_merge_fold_possible(const still_vk *vk) { return vk->n_bindings >= 10; }

bool still_vk_attention_fold_merges(const still_vk *vk)
{
  return !vk->attn_fold_off && vk->attn_merge_fold && still_vk_attention_merge_fold_possible(vk);
}

still_status still_vk_attention_fold(still_vk *vk, const still_vk_buffer *qk, const still_vk_buffer *v_src,
                                     const still_vk_buffer *cs, still_vk_buffer *kc, still_vk_buffer *vc,
                                     const still_vk_buffer *q_norm, const still_vk_buffer *k_norm,
                                     still_vk_buffer *part, still_vk_buffer *out, const still_vk_attention_args *a,
                                     const still_vk_rope_store_args *rs, still_error *err)
{
  if (!still_vk_attention_fold_ok(vk, a, rs))
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: no folded attention for this shape");
  /* (rs is of one token: fold_ok) */
  const rope_store_reads rd = reads_of(rs, qk, qk, v_src, cs, q_norm, k_norm);
  if (!reads_fit(&rd))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: rope and attention inputs outside their buffers");
  if (kv_rows_meet(rs, &rd, kc, vc))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: KV cache rows onto the rope and attention inputs");
  /* the output (and its 8-bit form) apart from the q/k/v products: with the merge folded, a
   * head's output is written while other workgroups still read the products */
  const uint64_t o[2][2] = {
    {4ull * a->o_off, 4 * ((uint64_t)a->o_off + (uint64_t)a->n_head * a->head_dim_v)},
    {4ull * a->r8_off, 4ull * a->r8_off + 4ull * still_vk_round8_words(a->n_head * a->head_dim_v)}};
  for (int w = 0; w < (a->round8 ? 2 : 1); w++)
    for (int i = 0; i < 3; i++)
      if (meets(out, o[w][0], o[w][1], rd.in[i], rd.r[i][0], rd.r[i][1]))
        return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: attention output onto its q/k/v inputs");
  const fold_inputs fold = {rs, v_src, cs, q_norm, k_norm};
  return split_run(vk, qk, kc, vc, part, out, a, &fold, err);
}

static still_status split_run(still_vk *vk, const still_vk_buffer *q, const still_vk_buffer *k,
                              const still_vk_buffer *v, still_vk_buffer *part, still_vk_buffer *out,
                              const still_vk_attention_args *a, const fold_inputs *fold, still_error *err)
{
  const bool f16 = a->kv_type == STILL_TYPE_F16, q8 = a->kv_type == STILL_TYPE_Q8_0;
  const uint64_t n_kv = (uint64_t)a->pos0 + a->n_tok;
  /* the chunks the part buffer holds for this batch decide how small they may get */
  const uint64_t per_chunk = (uint64_t)a->n_tok * a->n_head * (2 + a->head_dim_v);
  const uint64_t part_chunks = part && part->size ? part->size / 4 / per_chunk : 0;
  const uint32_t chunk = split_chunk_for(vk, a, part_chunks), n_chunks = (uint32_t)((n_kv + chunk - 1) / chunk);
  const uint64_t part_floats = per_chunk * n_chunks;
  const uint64_t o_end = 4 * ((uint64_t)a->o_off + (uint64_t)a->o_stride * (a->n_tok - 1) +
                              (uint64_t)a->n_head * a->head_dim_v);
  const uint64_t q_end = 4 * ((uint64_t)a->q_off + (uint64_t)a->q_stride * (a->n_tok - 1) +
                              (uint64_t)a->n_head * a->head_dim_k);
  if ((!fold && !fits(q, q_end)) || /* (the fold's inputs are checked by still_vk_attention_fold) */
      !fits(out, o_end) ||
      !fits(k, still_vk_kv_cache_bytes(a->kv_type, a->k_off + n_kv * a->n_head_kv * a->head_dim_k)) ||
      !fits(v, still_vk_kv_cache_bytes(a->kv_type, a->v_off + n_kv * a->n_head_kv * a->head_dim_v)) ||
      !fits(part, 4 * part_floats))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: attention outside its buffers");
  if (meets(part, 0, 4 * part_floats, out, 4ull * a->o_off, o_end))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: attention output onto its scratch");
  if (n_chunks > 65535 || a->n_tok > 65535)
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: attention over too many keys");
  if (a->round8) {
    const uint64_t n = (uint64_t)a->n_head * a->head_dim_v, words = still_vk_round8_words((uint32_t)n);
    const uint64_t r0 = 4ull * a->r8_off,
                   r1 = 4 * ((uint64_t)a->r8_off + (uint64_t)a->r8_stride * (a->n_tok - 1) + words);
    if (!still_vk_attention_split_rounds(vk, a) || (a->r8_off & 3) || (a->r8_stride & 3) ||
        (a->n_tok > 1 && a->r8_stride < words))
      return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad shape for rounding the attention output");
    if (!fits(out, r1) || meets(out, 4ull * a->o_off, o_end, out, r0, r1) ||
        meets(part, 0, 4 * part_floats, out, r0, r1))
      return still_set_error(err, STILL_ERR_INVALID_ARG,
                             "Vulkan: the rounded attention output outside its buffer or onto the floats");
  }
  split_push push = {a->n_tok, a->n_head,  a->n_head_kv, a->head_dim_k, a->head_dim_v, a->pos0, a->q_off,
                     a->q_stride, a->k_off, a->v_off,   n_chunks,      a->scale,      chunk};
  still_vk_shader_id sh =
    q8 ? VK_SHADER_ATTENTION_SPLIT_Q8_0 : f16 ? VK_SHADER_ATTENTION_SPLIT_F16 : VK_SHADER_ATTENTION_SPLIT_F32;
  const still_vk_buffer *bufs[10] = {q, k, v, part};
  int n_bufs = 4;
  size_t push_size = offsetof(split_push, n_rot);
  bool merged = false; /* the fold with attention_merge.comp's work in it: one dispatch */
  if (fold) {
    const still_vk_rope_store_args *rs = fold->rs;
    push.q_off = rs->q_off, push.q_stride = rs->q_stride;
    push.n_rot = rs->n_rot;
    push.flags = (rs->neox ? 1u : 0u) | (fold->q_norm ? 2u : 0u) | (fold->k_norm ? 4u : 0u);
    push.eps = rs->eps;
    push.k_src = rs->k_off, push.v_src = rs->v_off, push.cs_off = rs->cs_off, push.sin_off = rs->n_rot / 2;
    sh = q8 ? VK_SHADER_ATTENTION_FOLD_Q8_0 : f16 ? VK_SHADER_ATTENTION_FOLD_F16 : VK_SHADER_ATTENTION_FOLD_F32;
    /* absent inputs are bound to q, which the shader then does not read as them */
    bufs[4] = rs->n_rot > 0 ? fold->cs : q;
    bufs[5] = fold->q_norm ? fold->q_norm : q;
    bufs[6] = fold->k_norm ? fold->k_norm : q;
    bufs[7] = fold->v_src;
    n_bufs = 8;
    push_size = offsetof(split_push, o_off);
    /* the merge too, by the last workgroup of each KV head (a counter per head; without
     * them, as below) */
    still_vk_buffer *counts = NULL;
    still_error cerr = {0};
    merged = still_vk_attention_fold_merges(vk) && a->n_head_kv < TAIL_COUNTER &&
             still_vk_counts(vk, &counts, &cerr) == STILL_OK;
    if (merged) {
      sh = q8 ? VK_SHADER_ATTENTION_FOLD_MERGE_Q8_0
           : f16 ? VK_SHADER_ATTENTION_FOLD_MERGE_F16
                 : VK_SHADER_ATTENTION_FOLD_MERGE_F32;
      push.flags |= a->round8 ? 8u : 0u;
      push.o_off = a->o_off, push.r8_off = a->r8_off;
      bufs[8] = counts;
      bufs[9] = out;
      n_bufs = 10;
      push_size = sizeof push;
    }
  }
  still_status st = still_vk_dispatch(vk, sh, bufs, n_bufs, &push, push_size, n_chunks, a->n_head_kv, a->n_tok, err);
  if (st != STILL_OK || merged) return st;
  const uint32_t mpush[10] = {a->n_tok,  a->n_head,   a->head_dim_v, a->pos0,      n_chunks,
                              chunk,     a->o_off,    a->o_stride,   a->r8_off,    a->r8_stride};
  const still_vk_buffer *mbufs[2] = {part, out};
  uint32_t gx, gy;
  grid_2d(a->n_tok * a->n_head, &gx, &gy);
  return still_vk_dispatch(vk, a->round8 ? VK_SHADER_ATTENTION_MERGE_ROUND8 : VK_SHADER_ATTENTION_MERGE, mbufs, 2,
                           mpush, sizeof mpush, gx, gy, 1, err);
}

/* ---- the devices checks of the counting ops (the fold's merge, the norm in a product's tail) ---- */

/* A check's kept answer (*checked: 0 not yet, 1 passed, -1 failed, why in failed), or -1 where
 * it is to run now. A device without what it needs (possible false) fails at once, saying lacks. */
static int check_known(int *checked, char *failed, size_t fcap, bool possible, const char *lacks, char *why,
                       size_t cap)
{
  if (!*checked && !possible) {
    *checked = -1;
    snprintf(failed, fcap, "%s", lacks);
  }
  if (!*checked) return -1;
  snprintf(why, cap, "%s", failed);
  return *checked > 0;
}

/* Submits what the checks recorded since still_vk_begin; st: how the recording went. Its
 * error, else the submit's (a failed recording is still submitted, which ends it). */
static still_status submit_after(still_vk *vk, still_status st, still_error *err)
{
  still_error e2 = {0};
  const still_status st2 = still_vk_submit(vk, st == STILL_OK ? err : &e2);
  return st == STILL_OK ? st2 : st;
}

/* The checks' random values: uniform in [-1, 1), from *seed (a linear congruential step). */
static float check_rand(uint32_t *seed)
{
  *seed = *seed * 1664525u + 1013904223u;
  return (float)(*seed >> 8) / (float)(1u << 23) - 1.0f;
}

/* The largest difference |got − ref| / (1 + |ref|) over n values (a NaN: infinite). */
static double worst_difference(const float *ref, const float *got, size_t n)
{
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = fabs((double)got[i] - (double)ref[i]) / (1.0 + fabs((double)ref[i]));
    if (!(d <= worst)) worst = isnan(d) ? INFINITY : d;
  }
  return worst;
}

/* A check's verdict from its runs (st, err: whether they ran; counted: the counters back at 0;
 * worst: the largest difference from the op apart, what, which may be limit at most, else the
 * cause is named), kept in *checked and failed unless it could not run, and said in why. */
static bool check_verdict(int *checked, char *failed, size_t fcap, still_status st, const still_error *err,
                          bool counted, double worst, double limit, const char *what, const char *cause, char *why,
                          size_t cap)
{
  bool ok = false;
  if (st != STILL_OK) /* (not kept: it may run another time) */
    snprintf(failed, fcap, "its check could not run: %.90s", err->message);
  else if (!counted)
    snprintf(failed, fcap, "its counters were not left at 0");
  else if (!(worst <= limit))
    snprintf(failed, fcap, "its output differed from the %s (by %.3g): %s", what, worst, cause);
  else ok = true;
  *checked = ok ? 1 : st != STILL_OK ? 0 : -1;
  if (ok) failed[0] = '\0';
  snprintf(why, cap, "%s", failed);
  return ok;
}

#define ORDERING "the device's memory ordering is not as assumed"

/* ---- the fold's merge, checked on the device ---------------------------- */

/* One folded decode step at pos0 of the check below, into out (floats, then the 8-bit form from
 * word r8; n_out words in all, downloaded into got), with the merge folded or not. */
static still_status merge_check_run(still_vk *vk, bool merge, uint32_t pos0, still_vk_buffer *qkv,
                                    still_vk_buffer *kc, still_vk_buffer *vc, still_vk_buffer *part,
                                    still_vk_buffer *out, uint32_t n_head, uint32_t n_head_kv, uint32_t hd,
                                    uint32_t r8, size_t n_out, uint32_t *got, still_error *err)
{
  const bool was = vk->attn_merge_fold, off = vk->attn_fold_off; /* (the tuner's choice of the moment) */
  vk->attn_merge_fold = merge, vk->attn_fold_off = false;
  const uint32_t n_q = n_head * hd, n_k = n_head_kv * hd;
  const still_vk_attention_args a = {.kv_type = STILL_TYPE_F32, .n_tok = 1, .n_head = n_head, .n_head_kv = n_head_kv,
                                     .head_dim_k = hd, .head_dim_v = hd, .pos0 = pos0, .q_off = 0,
                                     .q_stride = n_q + 2 * n_k, .k_off = 0, .v_off = 0, .o_off = 0, .o_stride = n_q,
                                     .scale = 1.0f / sqrtf((float)hd), .round8 = true, .r8_off = r8, .r8_stride = 0};
  const still_vk_rope_store_args rs = {.kv_type = STILL_TYPE_F32, .n_tok = 1, .n_head = n_head,
                                       .n_head_kv = n_head_kv, .head_dim_k = hd, .head_dim_v = hd, .n_rot = 0,
                                       .eps = 1e-6f, .q_off = 0, .q_stride = n_q + 2 * n_k, .k_off = n_q,
                                       .k_stride = n_q + 2 * n_k, .v_off = n_q + n_k, .v_stride = n_q + 2 * n_k,
                                       .kc_off = pos0 * n_k, .vc_off = pos0 * n_k};
  still_status st = still_vk_begin(vk, err);
  if (st == STILL_OK) {
    st = still_vk_attention_fold(vk, qkv, qkv, qkv, kc, vc, NULL, NULL, part, out, &a, &rs, err);
    st = submit_after(vk, st, err);
  }
  vk->attn_merge_fold = was, vk->attn_fold_off = off;
  return st == STILL_OK ? still_vk_download(vk, out, 0, got, n_out * 4, err) : st;
}

/* How far the merged run's output (got) is from the plain one's (ref): the floats' largest
 * relative difference, infinite where one is NaN or where the 8-bit forms differ by more than
 * float rounding may make them (a block's scale by more than 1e-5 of it, a code by more than
 * one step, more than one code in 256 a step off) or got's block sum is not its scale times
 * its codes' sum. */
static double merge_check_distance(const uint32_t *ref, const uint32_t *got, uint32_t n_q, uint32_t r8)
{
  double worst = 0;
  for (uint32_t i = 0; i < n_q; i++) {
    float a, b;
    memcpy(&a, ref + i, 4), memcpy(&b, got + i, 4);
    const double d = fabs((double)b - (double)a) / (1.0 + fabs((double)a));
    if (isnan(d)) return INFINITY;
    if (d > worst) worst = d;
  }
  const uint32_t *rq = ref + r8, *gq = got + r8;
  uint32_t off = 0;
  for (uint32_t b = 0; b < n_q / 32; b++) {
    float rd, gd;
    memcpy(&rd, rq + n_q / 4 + 2 * b, 4), memcpy(&gd, gq + n_q / 4 + 2 * b, 4);
    if (!(fabsf(gd - rd) <= 1e-5f * fabsf(rd))) return INFINITY; /* (NaN too) */
    int sum = 0;
    for (uint32_t i = 0; i < 32; i++) {
      const uint32_t v = 32 * b + i;
      const int rc = (int8_t)(uint8_t)(rq[v / 4] >> (8 * (v % 4))), gc = (int8_t)(uint8_t)(gq[v / 4] >> (8 * (v % 4)));
      if (abs(rc - gc) > 1) return INFINITY;
      off += rc != gc;
      sum += gc;
    }
    float gs;
    memcpy(&gs, gq + n_q / 4 + 2 * b + 1, 4);
    if (gs != gd * (float)sum) return INFINITY;
  }
  return off > n_q / 256 + 1 ? INFINITY : worst;
}

bool still_vk_attention_merge_check(still_vk *vk, char *why, size_t cap)
{
  const int known = check_known(&vk->merge_checked, vk->merge_failed, sizeof vk->merge_failed,
                                still_vk_attention_merge_fold_possible(vk),
                                "the device allows fewer than 10 storage buffers a shader", why, cap);
  if (known >= 0) return known > 0;
  /* Qwen 1.5B's heads (6 query heads to a KV head, 4 where the workgroups are too wide for 6;
   * 2 KV heads of 128) over 1001 and 301 keys: tens of workgroups per head at once, the last
   * one merging what the others wrote */
  const uint32_t n_head_kv = 2, group = vk->wg_size > 128 ? 4 : 6, n_head = group * n_head_kv, hd = 128,
                 n_ctx = 1001, n_q = n_head * hd, n_k = n_head_kv * hd;
  const uint32_t r8 = (n_q + 3) / 4 * 4;
  const size_t n_out = r8 + still_vk_round8_words(n_q), n_qkv = n_q + 2 * n_k, n_cache = (size_t)n_ctx * n_k;
  const size_t n_part = still_vk_attention_part_floats(vk, 1, n_head, hd, n_ctx);
  const size_t n_nan = n_part > n_out ? n_part : n_out;
  still_vk_buffer qkv = {0}, kc = {0}, vc = {0}, part = {0}, out = {0};
  float *host = malloc((n_qkv + 2 * n_cache + n_nan) * sizeof *host);
  uint32_t *res = malloc(2 * n_out * sizeof *res), counts[STILL_VK_COUNTS_BYTES / 4];
  still_error err = {0};
  still_status st = host && res ? STILL_OK : still_set_error(&err, STILL_ERR_NOMEM, "out of memory");
  const still_vk_attention_args shape = {.kv_type = STILL_TYPE_F32, .n_tok = 1, .n_head = n_head,
                                         .n_head_kv = n_head_kv, .head_dim_k = hd, .head_dim_v = hd};
  if (st == STILL_OK && !still_vk_attention_split_ok(vk, &shape))
    st = still_set_error(&err, STILL_ERR_UNSUPPORTED, "no split attention for its heads on this device");
  float *nans = host ? host + n_qkv + 2 * n_cache : NULL;
  if (st == STILL_OK) {
    uint32_t seed = 0x9e3779b9u;
    for (size_t i = 0; i < n_qkv + 2 * n_cache; i++) host[i] = check_rand(&seed);
    for (size_t i = 0; i < n_nan; i++) nans[i] = NAN;
    st = still_vk_buffer_new(vk, n_qkv * 4, &qkv, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, n_cache * 4, &kc, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, n_cache * 4, &vc, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, n_part * 4, &part, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, n_out * 4, &out, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &qkv, 0, host, n_qkv * 4, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &kc, 0, host + n_qkv, n_cache * 4, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &vc, 0, host + n_qkv + n_cache, n_cache * 4, &err);
  }
  static const uint32_t positions[4] = {1000, 300, 1000, 1000};
  double worst = 0;
  bool counted = true;
  for (int r = 0; r < 4 && st == STILL_OK; r++) {
    st = merge_check_run(vk, false, positions[r], &qkv, &kc, &vc, &part, &out, n_head, n_head_kv, hd, r8, n_out, res,
                         &err);
    /* the scratch and the output of that run replaced by NaNs: a merge that reads a chunk
     * before its workgroup wrote it, or that writes nothing, shows */
    if (st == STILL_OK) st = still_vk_upload(vk, &part, 0, nans, n_part * 4, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &out, 0, nans, n_out * 4, &err);
    if (st == STILL_OK)
      st = merge_check_run(vk, true, positions[r], &qkv, &kc, &vc, &part, &out, n_head, n_head_kv, hd, r8, n_out,
                           res + n_out, &err);
    if (st == STILL_OK) st = still_vk_download(vk, &vk->counts, 0, counts, sizeof counts, &err);
    if (st != STILL_OK) break;
    for (size_t i = 0; i < STILL_VK_COUNTS_BYTES / 4; i++) counted = counted && counts[i] == 0;
    const double d = merge_check_distance(res, res + n_out, n_q, r8);
    if (!(d <= worst)) worst = d;
  }
  still_vk_buffer_free(vk, &qkv), still_vk_buffer_free(vk, &kc), still_vk_buffer_free(vk, &vc);
  still_vk_buffer_free(vk, &part), still_vk_buffer_free(vk, &out);
  free(host), free(res);
  return check_verdict(&vk->merge_checked, vk->merge_failed, sizeof vk->merge_failed, st, &err, counted, worst, 1e-5,
                       "merge apart", ORDERING, why, cap);
}

/* ---- the norm in a product's tail, checked on the device ------------------ */

bool still_vk_norm_fold_check(still_vk *vk, char *why, size_t cap)
{
  const int known = check_known(&vk->norm_checked, vk->norm_failed, sizeof vk->norm_failed,
                                still_vk_norm_fold_possible(vk), "the device allows fewer than 8 storage buffers a shader",
                                why, cap);
  if (known >= 0) return known > 0;
  /* R1-Llama-8B's wo (4096 rows of Q8_0; its workgroups in the hundreds), the normed row
   * rounded to 8 bits: the product, the norm and its residual in one dispatch and in two,
   * compared; the outputs NaNs before each run with the tail */
  const uint32_t nr = 4096, nc = 1024, q = nr + 4; /* out: h's floats, 4 spare, its 8-bit form */
  const size_t n_out = q + still_vk_round8_words(nr);
  uint64_t rb = 0;
  still_type_bytes(STILL_TYPE_Q8_0, nc, &rb);
  const still_type_traits *tt = still_type_get(STILL_TYPE_Q8_0);
  still_vk_buffer w = {0}, x = {0}, y = {0}, res = {0}, g = {0}, out = {0};
  float *host = malloc((nc + 2 * (size_t)nr + n_out) * sizeof *host);
  uint8_t *wq = malloc(rb * nr);
  uint32_t *got = malloc(2 * (n_out + 2 * (size_t)nr) * sizeof *got), counts[STILL_VK_COUNTS_BYTES / 4];
  still_error err = {0};
  still_status st = host && wq && got ? STILL_OK : still_set_error(&err, STILL_ERR_NOMEM, "out of memory");
  const still_vk_matvec_args a = {.type = STILL_TYPE_Q8_0, .ncols = nc, .nrows = nr, .n_vec = 1, .row_bytes = rb,
                                  .x_stride = nc, .y_stride = nr};
  const still_vk_add_rms_norm_args n = {.n = nr, .nrows = 1, .x_stride = nr, .r_stride = nr, .y_stride = nr,
                                        .eps = 1e-6f, .round8 = true, .q_off = q};
  if (st == STILL_OK && !still_vk_matvec_norm_fits(vk, &a, &n))
    st = still_set_error(&err, STILL_ERR_UNSUPPORTED, "no Q8_0 product with the norm in its tail on this device");
  /* (without counters the op records the two dispatches: nothing of the tail would be checked) */
  if (st == STILL_OK && vk->counts_failed) st = still_set_error(&err, STILL_ERR_NOMEM, "no memory for the counters");
  float *nans = host ? host + nc + 2 * (size_t)nr : NULL;
  if (st == STILL_OK) {
    uint32_t seed = 0x9e3779b9u; /* the weights (a row at a time), x, res, g */
    for (uint32_t r = 0; r < nr; r++) {
      for (uint32_t i = 0; i < nc; i++) host[i] = check_rand(&seed) * 0.1f;
      tt->from_float(host, wq + rb * r, nc);
    }
    for (size_t i = 0; i < nc + 2 * (size_t)nr; i++) host[i] = check_rand(&seed);
    for (size_t i = nc + nr; i < nc + 2 * (size_t)nr; i++) host[i] += 1.5f; /* g: no weight near 0 */
    for (size_t i = 0; i < n_out; i++) nans[i] = NAN;
    st = still_vk_buffer_new(vk, rb * nr, &w, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, 4 * (size_t)nc, &x, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, 4 * (size_t)nr, &y, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, 4 * (size_t)nr, &res, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, 4 * (size_t)nr, &g, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, 4 * n_out, &out, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &w, 0, wq, rb * nr, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &x, 0, host, 4 * (size_t)nc, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &g, 0, host + nc + nr, 4 * (size_t)nr, &err);
  }
  double worst = 0;
  bool counted = true;
  for (int r = 0; r < 4 && st == STILL_OK; r++) {
    /* each side from the same residual; got: out's words, then y's and res's */
    for (int tail = 0; tail < 2 && st == STILL_OK; tail++) {
      uint32_t *dst = got + (size_t)tail * (n_out + 2 * (size_t)nr);
      st = still_vk_upload(vk, &res, 0, host + nc, 4 * (size_t)nr, &err);
      if (st == STILL_OK && tail) st = still_vk_upload(vk, &out, 0, nans, 4 * n_out, &err);
      if (st == STILL_OK && tail) st = still_vk_upload(vk, &y, 0, nans, 4 * (size_t)nr, &err);
      if (st == STILL_OK) st = still_vk_begin(vk, &err);
      if (st == STILL_OK) {
        if (tail) st = still_vk_matvec_norm(vk, &w, &x, &y, &a, &res, &g, &out, &n, &err);
        else {
          st = still_vk_matvec(vk, &w, &x, &y, &a, &err);
          if (st == STILL_OK) st = still_vk_add_rms_norm(vk, &res, &y, &g, &out, &n, &err);
        }
        st = submit_after(vk, st, &err);
      }
      if (st == STILL_OK) st = still_vk_download(vk, &out, 0, dst, 4 * n_out, &err);
      if (st == STILL_OK) st = still_vk_download(vk, &y, 0, dst + n_out, 4 * (size_t)nr, &err);
      if (st == STILL_OK) st = still_vk_download(vk, &res, 0, dst + n_out + nr, 4 * (size_t)nr, &err);
    }
    if (st == STILL_OK) st = still_vk_download(vk, &vk->counts, 0, counts, sizeof counts, &err);
    if (st != STILL_OK) break;
    for (size_t i = 0; i < STILL_VK_COUNTS_BYTES / 4; i++) counted = counted && counts[i] == 0;
    const uint32_t *ref = got, *tl = got + n_out + 2 * (size_t)nr;
    double d = merge_check_distance(ref, tl, nr, q); /* h and its 8-bit form */
    for (size_t i = n_out; i < n_out + 2 * (size_t)nr && d <= 1e-5; i++) { /* y and res */
      float u, v;
      memcpy(&u, ref + i, 4), memcpy(&v, tl + i, 4);
      const double e = fabs((double)v - (double)u) / (1.0 + fabs((double)u));
      if (!(e <= d)) d = isnan(e) ? INFINITY : e;
    }
    if (!(d <= worst)) worst = d;
  }
  still_vk_buffer_free(vk, &w), still_vk_buffer_free(vk, &x), still_vk_buffer_free(vk, &y);
  still_vk_buffer_free(vk, &res), still_vk_buffer_free(vk, &g), still_vk_buffer_free(vk, &out);
  free(host), free(wq), free(got);
  return check_verdict(&vk->norm_checked, vk->norm_failed, sizeof vk->norm_failed, st, &err, counted, worst, 1e-5,
                       "norm apart", ORDERING, why, cap);
}

/* ---- the prompt products on the tensor cores, checked on the device ------------------------ */

/* 100 rows × 72 vectors: edges in both of a tile's directions; Q8_0 rows of 96 values (a tile
 * and a half along the row), Q4_K rows of 256 (the model files' commonest type) */
static const uint32_t mm_check_types[2] = {STILL_TYPE_Q8_0, STILL_TYPE_Q4_K}, mm_check_cols[2] = {96, 256};
#define MM_CHECK_ROWS 100u
#define MM_CHECK_VECS 72u

/* The check's verdicts in this process (a model loaded again, or another session, on the same
 * kind of device and driver does not run it again; two cards of one model share it): keyed by
 * the device's ids, its driver, and the SPIR-V of the tensor-core shaders the check runs (so
 * that the tests' broken emulations are their own). */
#define MM_MEMO_SLOTS 8
static struct {
  uint64_t key;
  int verdict; /* 1 passed, -1 failed */
  char why[160];
} mm_memo[MM_MEMO_SLOTS];
static int mm_memo_n;
static pthread_mutex_t mm_memo_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mm_check_key(const still_vk *vk)
{
  still_hash64 h;
  still_hash64_init(&h);
  still_hash64_update(&h, &vk->props.vendorID, 4);
  still_hash64_update(&h, &vk->props.deviceID, 4);
  still_hash64_update(&h, &vk->props.driverVersion, 4);
  still_hash64_update(&h, vk->props.pipelineCacheUUID, VK_UUID_SIZE);
  const uint32_t shape[3] = {vk->coopmat_n, vk->coopmat_rows, vk->coopmat_vecs};
  still_hash64_update(&h, shape, sizeof shape);
  for (int t = 0; t < 2; t++) {
    uint64_t rb = 0;
    still_type_bytes(mm_check_types[t], mm_check_cols[t], &rb);
    const still_vk_matvec_args a = {.type = mm_check_types[t], .ncols = mm_check_cols[t], .nrows = MM_CHECK_ROWS,
                                    .n_vec = MM_CHECK_VECS, .row_bytes = rb};
    const int sh = coop_shader_of(vk, &a); /* (whatever STILL_VK_MATMUL says: the check sets it aside) */
    const still_vk_shader *src = sh >= 0 ? still_vk_shader_source(vk, (still_vk_shader_id)sh) : NULL;
    if (src) still_hash64_update(&h, src->code, src->size);
  }
  return still_hash64_final(&h);
}

static bool mm_check_run(still_vk *vk, char *why, size_t cap);

bool still_vk_matmul_coop_check(still_vk *vk, char *why, size_t cap)
{
  const int known = check_known(&vk->mm_coop_checked, vk->mm_coop_failed, sizeof vk->mm_coop_failed, vk->coopmat,
                                "no tensor cores in use on this device", why, cap);
  if (known >= 0) return known > 0;
  const uint64_t key = mm_check_key(vk);
  pthread_mutex_lock(&mm_memo_lock);
  for (int i = 0; i < mm_memo_n; i++)
    if (mm_memo[i].key == key) {
      vk->mm_coop_checked = mm_memo[i].verdict;
      snprintf(vk->mm_coop_failed, sizeof vk->mm_coop_failed, "%s", mm_memo[i].why);
      pthread_mutex_unlock(&mm_memo_lock);
      snprintf(why, cap, "%s", vk->mm_coop_failed);
      return vk->mm_coop_checked > 0;
    }
  pthread_mutex_unlock(&mm_memo_lock);
  const bool ok = mm_check_run(vk, why, cap);
  if (vk->mm_coop_checked != 0) { /* (a check that could not run is not kept) */
    pthread_mutex_lock(&mm_memo_lock);
    const int slot = mm_memo_n < MM_MEMO_SLOTS ? mm_memo_n++ : (int)(key % MM_MEMO_SLOTS);
    mm_memo[slot].key = key, mm_memo[slot].verdict = vk->mm_coop_checked;
    snprintf(mm_memo[slot].why, sizeof mm_memo[slot].why, "%s", vk->mm_coop_failed);
    pthread_mutex_unlock(&mm_memo_lock);
  }
  return ok;
}

static bool mm_check_run(still_vk *vk, char *why, size_t cap)
{
  const uint32_t nr = MM_CHECK_ROWS, nv = MM_CHECK_VECS, n_out = MM_CHECK_ROWS * MM_CHECK_VECS;
  uint32_t nc_most = 0;
  uint64_t rb_most = 0;
  for (int t = 0; t < 2; t++) {
    uint64_t rb = 0;
    still_type_bytes(mm_check_types[t], mm_check_cols[t], &rb);
    if (rb > rb_most) rb_most = rb;
    if (mm_check_cols[t] > nc_most) nc_most = mm_check_cols[t];
  }
  /* host: a weight row, then the vectors (nc_most × nv), then the outputs (float path, tensor
   * cores) and the NaNs they start from */
  const size_t n_in = (size_t)nc_most * nv, n_host = n_in + 3 * (size_t)n_out;
  float *host = malloc(n_host * sizeof *host);
  uint8_t *wq = malloc(rb_most * nr);
  float *res = host ? host + n_in : NULL, *nans = host ? res + 2 * (size_t)n_out : NULL;
  still_error err = {0}, coop_err = {0};
  still_status st = host && wq ? STILL_OK : still_set_error(&err, STILL_ERR_NOMEM, "out of memory");
  still_vk_buffer w = {0}, x = {0}, y = {0};
  if (st == STILL_OK) st = still_vk_buffer_new(vk, rb_most * nr, &w, &err);
  if (st == STILL_OK) st = still_vk_buffer_new(vk, (uint64_t)n_in * 4, &x, &err);
  if (st == STILL_OK) st = still_vk_buffer_new(vk, (uint64_t)n_out * 4, &y, &err);
  if (nans)
    for (size_t i = 0; i < n_out; i++) nans[i] = NAN;
  const int mode = vk->matmul_mode; /* (STILL_VK_MATMUL=team or generic would keep the tensor cores off) */
  double worst = 0;
  bool coop_ran = true;
  uint32_t seed = 0x27d4eb2fu;
  for (int t = 0; t < 2 && st == STILL_OK && coop_ran; t++) {
    const uint32_t nc = mm_check_cols[t];
    uint64_t rb = 0;
    still_type_bytes(mm_check_types[t], nc, &rb);
    const still_type_traits *tt = still_type_get(mm_check_types[t]);
    for (uint32_t r = 0; r < nr; r++) {
      for (uint32_t i = 0; i < nc; i++) host[i] = check_rand(&seed);
      tt->from_float(host, wq + rb * r, nc);
    }
    for (size_t i = 0; i < (size_t)nc * nv; i++) host[i] = check_rand(&seed);
    st = still_vk_upload(vk, &w, 0, wq, rb * nr, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &x, 0, host, (size_t)nc * nv * 4, &err);
    const still_vk_matvec_args a = {.type = mm_check_types[t], .ncols = nc, .nrows = nr, .n_vec = nv,
                                    .row_bytes = rb, .x_stride = nc, .y_stride = nr};
    /* the float path, then the tensor cores, each into an output of NaNs; where the second does
     * not run, that is the verdict (the float path did) */
    for (int r = 0; r < 2 && st == STILL_OK; r++) {
      vk->coopmat = r == 1;
      vk->matmul_mode = r == 1 ? 0 : mode;
      still_error *e = r == 1 ? &coop_err : &err;
      still_status rs = still_vk_upload(vk, &y, 0, nans, (size_t)n_out * 4, e);
      if (rs == STILL_OK) rs = still_vk_begin(vk, e);
      if (rs == STILL_OK) {
        rs = still_vk_matmul(vk, &w, &x, &y, &a, e);
        rs = submit_after(vk, rs, e);
      }
      if (rs == STILL_OK) rs = still_vk_download(vk, &y, 0, res + (size_t)r * n_out, (size_t)n_out * 4, e);
      if (r == 1 && rs != STILL_OK) coop_ran = false;
      else st = rs;
    }
    vk->coopmat = true, vk->matmul_mode = mode;
    for (size_t i = 0; i < n_out && st == STILL_OK && coop_ran; i++)
      if (!isfinite(res[i])) st = still_set_error(&err, STILL_ERR_BACKEND, "the float path's output was not finite");
    if (st == STILL_OK && coop_ran) {
      const double d = worst_difference(res, res + n_out, n_out);
      if (!(d <= worst)) worst = d;
    }
  }
  still_vk_buffer_free(vk, &w), still_vk_buffer_free(vk, &x), still_vk_buffer_free(vk, &y);
  free(host), free(wq);
  if (st == STILL_OK && !coop_ran) { /* (kept: the same shader will not run the next time either) */
    vk->mm_coop_checked = -1;
    snprintf(vk->mm_coop_failed, sizeof vk->mm_coop_failed, "its tensor-core shader did not run: %.120s",
             coop_err.message);
    snprintf(why, cap, "%s", vk->mm_coop_failed);
    return false;
  }
  /* (float16 activations on the tensor cores: differences of a few 1e-3 at most) */
  return check_verdict(&vk->mm_coop_checked, vk->mm_coop_failed, sizeof vk->mm_coop_failed, st, &err, true, worst,
                       0.02, "products in float32", "the driver does not run its shader as written", why, cap);
}

bool still_vk_coop_verify(still_vk *vk, char *why, size_t cap)
{
  why[0] = '\0';
  if (!vk->coopmat || still_vk_matmul_coop_check(vk, why, cap)) return true;
  if (vk->mm_coop_checked == 0) return true; /* (it could not run: kept on, as before the check) */
  vk->coopmat = false; /* prompts on the other shaders, the attention's tiles in float32 */
  return false;
}

/* ---- the prompt attention on the tensor cores, checked on the device ---------------------- */

bool still_vk_attention_coop_check(still_vk *vk, uint32_t design, char *why, size_t cap)
{
  if (design != 1 && design != 2) {
    snprintf(why, cap, "no design %u of the attention on the tensor cores (1 or 2)", design);
    return false;
  }
  int *checked = &vk->coop_checked[design - 1];
  char *failed = vk->coop_failed[design - 1];
  const int known = check_known(checked, failed, sizeof vk->coop_failed[0], still_vk_attention_coop_possible(vk),
                                "the device has no 16x16x16 tensor cores", why, cap);
  if (known >= 0) return known > 0;
  /* R1-Qwen-1.5B's heads, a 40-token batch at position 300 of an F16 cache */
  const uint32_t n_head_kv = 2, n_head = 12, hd = 128, n_tok = 40, pos0 = 300, n_kv = pos0 + n_tok;
  const uint32_t n_q = n_head * hd, n_k = n_head_kv * hd;
  const size_t nq = (size_t)n_tok * n_q, nc = (size_t)n_kv * n_k;
  still_vk_buffer q = {0}, src = {0}, kc = {0}, vc = {0}, out = {0};
  float *host = malloc((nq + 2 * nc) * sizeof *host), *res = malloc(3 * nq * sizeof *res);
  still_error err = {0};
  still_status st = host && res ? STILL_OK : still_set_error(&err, STILL_ERR_NOMEM, "out of memory");
  const still_vk_attention_args a = {.kv_type = STILL_TYPE_F16, .n_tok = n_tok, .n_head = n_head,
                                     .n_head_kv = n_head_kv, .head_dim_k = hd, .head_dim_v = hd, .pos0 = pos0,
                                     .q_stride = n_q, .o_stride = n_q, .scale = 1.0f / sqrtf((float)hd)};
  const uint32_t was = vk->attn_coop; /* (the tuner's choice of the moment) */
  vk->attn_coop = design;
  if (st == STILL_OK && !still_vk_attention_coop_ok(vk, &a))
    st = still_set_error(&err, STILL_ERR_UNSUPPORTED, "no attention on the tensor cores for its shape on this device");
  if (st == STILL_OK) {
    /* keys 40 times larger at the end of the context than at its start: scores whose max moves
     * from tile to tile by more than the shader's margin, so that it rescales */
    uint32_t seed = 0x85ebca6bu;
    for (size_t i = 0; i < nq; i++) host[i] = check_rand(&seed);
    for (size_t i = 0; i < nc; i++) host[nq + i] = check_rand(&seed) * (1.0f + 40.0f * (float)(i / n_k) / n_kv);
    for (size_t i = 0; i < nc; i++) host[nq + nc + i] = check_rand(&seed);
    for (size_t i = 0; i < nq; i++) res[2 * nq + i] = NAN;
    const uint64_t cache = still_vk_kv_cache_bytes(STILL_TYPE_F16, nc);
    st = still_vk_buffer_new(vk, nq * 4, &q, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, 2 * nc * 4, &src, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, cache, &kc, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, cache, &vc, &err);
    if (st == STILL_OK) st = still_vk_buffer_new(vk, nq * 4, &out, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &q, 0, host, nq * 4, &err);
    if (st == STILL_OK) st = still_vk_upload(vk, &src, 0, host + nq, 2 * nc * 4, &err);
    if (st == STILL_OK) st = still_vk_begin(vk, &err);
    if (st == STILL_OK) {
      st = still_vk_kv_store(vk, STILL_TYPE_F16, &src, 0, &kc, 0, (uint32_t)nc, &err);
      if (st == STILL_OK) st = still_vk_kv_store(vk, STILL_TYPE_F16, &src, (uint32_t)nc, &vc, 0, (uint32_t)nc, &err);
      st = submit_after(vk, st, &err);
    }
  }
  /* in float32 (attention_tile.comp), then on the tensor cores into an output of NaNs */
  for (int r = 0; r < 2 && st == STILL_OK; r++) {
    vk->attn_coop = r == 1 ? design : 0;
    if (r == 1) st = still_vk_upload(vk, &out, 0, res + 2 * nq, nq * 4, &err);
    if (st == STILL_OK) st = still_vk_begin(vk, &err);
    if (st == STILL_OK) {
      st = still_vk_attention(vk, &q, &kc, &vc, &out, &a, &err);
      st = submit_after(vk, st, &err);
    }
    if (st == STILL_OK) st = still_vk_download(vk, &out, 0, res + r * nq, nq * 4, &err);
  }
  vk->attn_coop = was;
  const double worst = st == STILL_OK ? worst_difference(res, res + nq, nq) : 0;
  still_vk_buffer_free(vk, &q), still_vk_buffer_free(vk, &src), still_vk_buffer_free(vk, &kc);
  still_vk_buffer_free(vk, &vc), still_vk_buffer_free(vk, &out);
  free(host), free(res);
  /* (float16 queries and weights: differences of a few 1e-3 at most) */
  return check_verdict(checked, failed, sizeof vk->coop_failed[0], st, &err, true, worst, 0.02,
                       "float32 attention", "the driver does not run its shader as written", why, cap);
}
