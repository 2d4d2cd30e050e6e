/* vulkan/vk-ops.c — record the compute ops (see vk.h). Each op checks its
 * ranges against the buffer sizes first, so a wrong call is an error
 * message, not a GPU fault. */
#include "vulkan/vk-internal.h"

#include "types.h"
#include "util.h"

#include <string.h>

/* rows over a 2D grid: at most 65535 workgroups per axis */
static void grid_2d(uint32_t rows, uint32_t *gx, uint32_t *gy)
{
  *gx = rows < 65535 ? rows : 65535;
  *gy = rows == 0 ? 0 : (rows + 65534) / 65535;
}

static bool fits(const still_vk_buffer *b, uint64_t end_bytes) { return b && b->handle && end_bytes <= b->size; }

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

/* matvec_team.comp covers the types of the common mixtures when each row
 * starts on a word (the shader reads whole 32-bit words); 32 threads per
 * row, so the workgroup must hold a multiple of 32. STILL_VK_MATVEC=generic
 * keeps matvec.comp for every type (a switch for comparisons). */
static int team_layout_ok(const still_vk_matvec_args *a)
{
  const bool words = (a->w_off % 4) == 0 && (a->row_bytes % 4) == 0;
  switch (a->type) {
  case STILL_TYPE_F16: return words && a->ncols % 2 == 0 ? 0 : -1;
  case STILL_TYPE_Q8_0: return a->row_bytes % 2 == 0 ? 1 : -1;
  case STILL_TYPE_Q4_0: return a->row_bytes % 2 == 0 ? 2 : -1;
  case STILL_TYPE_Q4_K: return words ? 3 : -1;
  case STILL_TYPE_Q5_K: return words ? 4 : -1;
  case STILL_TYPE_Q6_K: return a->row_bytes % 2 == 0 ? 5 : -1;
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
 * =generic turns it off). */
static int matmul_team_shader(const still_vk *vk, const still_vk_matvec_args *a)
{
  if (vk->matmul_mode == 1) return -1;
  const int k = team_layout_ok(a);
  if (k < 0) return -1;
  const bool k_quant = a->type == STILL_TYPE_Q4_K || a->type == STILL_TYPE_Q5_K || a->type == STILL_TYPE_Q6_K;
  if (k_quant && vk->matmul_mode != 2) return -1;
  return VK_SHADER_MATMUL_TEAM_F16 + k;
}

still_status still_vk_matvec(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                             const still_vk_matvec_args *a, still_error *err)
{
  still_status st = check_matvec(w, x, y, a, "matrix×vector", err);
  if (st != STILL_OK) return st;
  const uint32_t push[9] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes,
                            a->x_off, a->x_stride, a->y_off, a->y_stride, a->n_vec};
  const still_vk_buffer *bufs[3] = {w, x, y};
  uint32_t gx, gy;
  const int team = team_shader(vk, a);
  if (team >= 0) {
    /* matvec_team.comp: one row per 32 threads */
    const uint32_t rows_per_group = vk->wg_size / 32;
    grid_2d((a->nrows + rows_per_group - 1) / rows_per_group, &gx, &gy);
    return still_vk_dispatch(vk, (still_vk_shader_id)team, bufs, 3, push, sizeof push, gx, gy, (a->n_vec + 3) / 4,
                             err);
  }
  const int sh = matvec_shader(a->type);
  grid_2d(a->nrows, &gx, &gy);
  /* 4 vectors per workgroup (NV in matvec.comp) */
  return still_vk_dispatch(vk, (still_vk_shader_id)sh, bufs, 3, push, sizeof push, gx, gy, (a->n_vec + 3) / 4, err);
}

/* Tiles of 64 rows × 32 vectors (TILE_M, TILE_N in matmul.comp). */
still_status still_vk_matmul(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                             const still_vk_matvec_args *a, still_error *err)
{
  still_status st = check_matvec(w, x, y, a, "matrix×matrix", err);
  if (st != STILL_OK) return st;
  /* the tile needs 64 threads (4 × 8 outputs each); every device allows
   * 128, but a smaller workgroup would leave outputs unwritten */
  if (vk->wg_size < 64) return still_vk_matvec(vk, w, x, y, a, err);
  const uint32_t push[9] = {a->ncols, a->nrows, (uint32_t)a->w_off, (uint32_t)a->row_bytes,
                            a->x_off, a->x_stride, a->y_off, a->y_stride, a->n_vec};
  const still_vk_buffer *bufs[3] = {w, x, y};
  const int team = matmul_team_shader(vk, a);
  const int sh = team >= 0 ? team : family_shader(a->type, VK_SHADER_MATMUL_F32);
  return still_vk_dispatch(vk, (still_vk_shader_id)sh, bufs, 3, push, sizeof push, (a->nrows + 63) / 64,
                           (a->n_vec + 31) / 32, 1, err);
}

still_status still_vk_mul_mat(still_vk *vk, const still_vk_buffer *w, const still_vk_buffer *x, still_vk_buffer *y,
                              const still_vk_matvec_args *a, still_error *err)
{
  return a->n_vec >= vk->matmul_min_vecs ? still_vk_matmul(vk, w, x, y, a, err)
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

still_status still_vk_kv_store(still_vk *vk, uint32_t kv_type, const still_vk_buffer *a, uint32_t a_off,
                               still_vk_buffer *cache, uint32_t y_off, uint32_t n, still_error *err)
{
  if (kv_type == STILL_TYPE_F32) return still_vk_binary(vk, STILL_VK_COPY, a, a_off, a, a_off, 0, cache, y_off, n, err);
  if (kv_type != STILL_TYPE_F16)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: a %s KV cache is not supported (F32 or F16)",
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

still_status still_vk_attention(still_vk *vk, const still_vk_buffer *q, const still_vk_buffer *k,
                                const still_vk_buffer *v, still_vk_buffer *out, const still_vk_attention_args *a,
                                still_error *err)
{
  if (a->n_tok == 0) return STILL_OK;
  const bool f16 = a->kv_type == STILL_TYPE_F16;
  if (!f16 && a->kv_type != STILL_TYPE_F32)
    return still_set_error(err, STILL_ERR_UNSUPPORTED, "Vulkan: a %s KV cache is not supported (F32 or F16)",
                           still_type_name(a->kv_type));
  if (a->n_head == 0 || a->n_head_kv == 0 || a->n_head % a->n_head_kv || a->head_dim_k == 0 ||
      a->head_dim_k > 256 || a->head_dim_v == 0 || a->head_dim_v > 256 ||
      (f16 && ((a->k_off | a->v_off) & 1)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: bad attention shape (%u heads, %u KV heads, dims %u/%u)",
                           a->n_head, a->n_head_kv, a->head_dim_k, a->head_dim_v);
  const uint64_t es = f16 ? 2 : 4, n_kv = (uint64_t)a->pos0 + a->n_tok;
  if (!fits(q, 4 * ((uint64_t)a->q_off + (uint64_t)a->q_stride * (a->n_tok - 1) + (uint64_t)a->n_head * a->head_dim_k)) ||
      !fits(out, 4 * ((uint64_t)a->o_off + (uint64_t)a->o_stride * (a->n_tok - 1) + (uint64_t)a->n_head * a->head_dim_v)) ||
      !fits(k, es * (a->k_off + n_kv * a->n_head_kv * a->head_dim_k)) ||
      !fits(v, es * (a->v_off + n_kv * a->n_head_kv * a->head_dim_v)))
    return still_set_error(err, STILL_ERR_INVALID_ARG, "Vulkan: attention outside its buffers");
  struct {
    uint32_t n_tok, n_head, n_head_kv, head_dim_k, head_dim_v, pos0, q_off, q_stride, k_off, v_off, o_off, o_stride;
    float scale;
  } push = {a->n_tok, a->n_head, a->n_head_kv, a->head_dim_k, a->head_dim_v, a->pos0, a->q_off, a->q_stride,
            a->k_off, a->v_off, a->o_off, a->o_stride, a->scale};
  const still_vk_buffer *bufs[4] = {q, k, v, out};
  uint32_t gx, gy;
  grid_2d(a->n_tok * a->n_head, &gx, &gy);
  return still_vk_dispatch(vk, f16 ? VK_SHADER_ATTENTION_F16 : VK_SHADER_ATTENTION_F32, bufs, 4, &push, sizeof push,
                           gx, gy, 1, err);
}
