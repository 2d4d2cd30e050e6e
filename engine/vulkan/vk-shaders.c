/* vulkan/vk-shaders.c — embeds the generated SPIR-V (see vk-shaders.h). */
#include "vulkan/vk-shaders.h"

static const uint32_t spv_matvec_f32[] =
#include "vulkan/matvec_f32.spv.h"
;
static const uint32_t spv_matvec_f16[] =
#include "vulkan/matvec_f16.spv.h"
;
static const uint32_t spv_matvec_bf16[] =
#include "vulkan/matvec_bf16.spv.h"
;
static const uint32_t spv_matvec_q8_0[] =
#include "vulkan/matvec_q8_0.spv.h"
;
static const uint32_t spv_matvec_q4_0[] =
#include "vulkan/matvec_q4_0.spv.h"
;
static const uint32_t spv_matvec_q4_1[] =
#include "vulkan/matvec_q4_1.spv.h"
;
static const uint32_t spv_matvec_q5_0[] =
#include "vulkan/matvec_q5_0.spv.h"
;
static const uint32_t spv_matvec_q5_1[] =
#include "vulkan/matvec_q5_1.spv.h"
;
static const uint32_t spv_matvec_iq4_nl[] =
#include "vulkan/matvec_iq4_nl.spv.h"
;
static const uint32_t spv_matvec_q4_k[] =
#include "vulkan/matvec_q4_k.spv.h"
;
static const uint32_t spv_matvec_q5_k[] =
#include "vulkan/matvec_q5_k.spv.h"
;
static const uint32_t spv_matvec_q6_k[] =
#include "vulkan/matvec_q6_k.spv.h"
;
static const uint32_t spv_rms_norm[] =
#include "vulkan/rms_norm.spv.h"
;
static const uint32_t spv_add_rms_norm[] =
#include "vulkan/add_rms_norm.spv.h"
;
static const uint32_t spv_add_rms_norm_v4[] =
#include "vulkan/add_rms_norm_v4.spv.h"
;
static const uint32_t spv_add[] =
#include "vulkan/add.spv.h"
;
static const uint32_t spv_mul[] =
#include "vulkan/mul.spv.h"
;
static const uint32_t spv_swiglu[] =
#include "vulkan/swiglu.spv.h"
;
static const uint32_t spv_copy[] =
#include "vulkan/copy.spv.h"
;
static const uint32_t spv_rope[] =
#include "vulkan/rope.spv.h"
;
static const uint32_t spv_attention_f32[] =
#include "vulkan/attention_f32.spv.h"
;
static const uint32_t spv_attention_f16[] =
#include "vulkan/attention_f16.spv.h"
;
static const uint32_t spv_attention_split_f32[] =
#include "vulkan/attention_split_f32.spv.h"
;
static const uint32_t spv_attention_split_f16[] =
#include "vulkan/attention_split_f16.spv.h"
;
static const uint32_t spv_attention_split_q8_0[] =
#include "vulkan/attention_split_q8_0.spv.h"
;
static const uint32_t spv_attention_fold_f32[] =
#include "vulkan/attention_fold_f32.spv.h"
;
static const uint32_t spv_attention_fold_f16[] =
#include "vulkan/attention_fold_f16.spv.h"
;
static const uint32_t spv_attention_fold_q8_0[] =
#include "vulkan/attention_fold_q8_0.spv.h"
;
static const uint32_t spv_attention_fold_merge_f32[] =
#include "vulkan/attention_fold_merge_f32.spv.h"
;
static const uint32_t spv_attention_fold_merge_f16[] =
#include "vulkan/attention_fold_merge_f16.spv.h"
;
static const uint32_t spv_attention_fold_merge_q8_0[] =
#include "vulkan/attention_fold_merge_q8_0.spv.h"
;
static const uint32_t spv_attention_merge[] =
#include "vulkan/attention_merge.spv.h"
;
static const uint32_t spv_attention_tile_f32[] =
#include "vulkan/attention_tile_f32.spv.h"
;
static const uint32_t spv_attention_tile_f16[] =
#include "vulkan/attention_tile_f16.spv.h"
;
static const uint32_t spv_attention_tile_q8_0[] =
#include "vulkan/attention_tile_q8_0.spv.h"
;
static const uint32_t spv_attention_coop_f16[] =
#include "vulkan/attention_coop_f16.spv.h"
;
static const uint32_t spv_attention_coop_q8_0[] =
#include "vulkan/attention_coop_q8_0.spv.h"
;
static const uint32_t spv_attention_coop_lanes_f16[] =
#include "vulkan/attention_coop_lanes_f16.spv.h"
;
static const uint32_t spv_attention_coop_lanes_q8_0[] =
#include "vulkan/attention_coop_lanes_q8_0.spv.h"
;
static const uint32_t spv_coop_probe_prefill[] =
#include "vulkan/coop_probe_prefill.spv.h"
;
static const uint32_t spv_coop_probe_scores[] =
#include "vulkan/coop_probe_scores.spv.h"
;
static const uint32_t spv_coop_probe_values[] =
#include "vulkan/coop_probe_values.spv.h"
;
static const uint32_t spv_coop_probe_a_col[] =
#include "vulkan/coop_probe_a_col.spv.h"
;
static const uint32_t spv_coop_probe_c_row[] =
#include "vulkan/coop_probe_c_row.spv.h"
;
static const uint32_t spv_coop_probe_c_col[] =
#include "vulkan/coop_probe_c_col.spv.h"
;
static const uint32_t spv_coop_probe_lone[] =
#include "vulkan/coop_probe_lone.spv.h"
;
static const uint32_t spv_matmul_wide_f16[] =
#include "vulkan/matmul_wide_f16.spv.h"
;
static const uint32_t spv_matmul_wide_q8_0[] =
#include "vulkan/matmul_wide_q8_0.spv.h"
;
static const uint32_t spv_matmul_wide_q4_0[] =
#include "vulkan/matmul_wide_q4_0.spv.h"
;
static const uint32_t spv_matmul_wide_q4_k[] =
#include "vulkan/matmul_wide_q4_k.spv.h"
;
static const uint32_t spv_matmul_wide_q5_k[] =
#include "vulkan/matmul_wide_q5_k.spv.h"
;
static const uint32_t spv_matmul_wide_q6_k[] =
#include "vulkan/matmul_wide_q6_k.spv.h"
;
static const uint32_t spv_matmul_wide_q2_k[] =
#include "vulkan/matmul_wide_q2_k.spv.h"
;
static const uint32_t spv_matmul_wide_q3_k[] =
#include "vulkan/matmul_wide_q3_k.spv.h"
;
static const uint32_t spv_matmul_wide_iq4_xs[] =
#include "vulkan/matmul_wide_iq4_xs.spv.h"
;
static const uint32_t spv_matmul_wide_q4_1[] =
#include "vulkan/matmul_wide_q4_1.spv.h"
;
static const uint32_t spv_matmul_wide_q5_0[] =
#include "vulkan/matmul_wide_q5_0.spv.h"
;
static const uint32_t spv_matmul_wide_q5_1[] =
#include "vulkan/matmul_wide_q5_1.spv.h"
;
static const uint32_t spv_matmul_wide_iq4_nl[] =
#include "vulkan/matmul_wide_iq4_nl.spv.h"
;
static const uint32_t spv_kv_store_f16[] =
#include "vulkan/kv_store_f16.spv.h"
;
static const uint32_t spv_attention_q8_0[] =
#include "vulkan/attention_q8_0.spv.h"
;
static const uint32_t spv_kv_store_q8_0[] =
#include "vulkan/kv_store_q8_0.spv.h"
;
static const uint32_t spv_rope_store_f32[] =
#include "vulkan/rope_store_f32.spv.h"
;
static const uint32_t spv_rope_store_f16[] =
#include "vulkan/rope_store_f16.spv.h"
;
static const uint32_t spv_rope_store_q8_0[] =
#include "vulkan/rope_store_q8_0.spv.h"
;
static const uint32_t spv_matvec_iq4_xs[] =
#include "vulkan/matvec_iq4_xs.spv.h"
;
static const uint32_t spv_matvec_q2_k[] =
#include "vulkan/matvec_q2_k.spv.h"
;
static const uint32_t spv_matvec_q3_k[] =
#include "vulkan/matvec_q3_k.spv.h"
;

static const uint32_t spv_matmul_f32[] =
#include "vulkan/matmul_f32.spv.h"
;
static const uint32_t spv_matmul_f16[] =
#include "vulkan/matmul_f16.spv.h"
;
static const uint32_t spv_matmul_bf16[] =
#include "vulkan/matmul_bf16.spv.h"
;
static const uint32_t spv_matmul_q8_0[] =
#include "vulkan/matmul_q8_0.spv.h"
;
static const uint32_t spv_matmul_q4_0[] =
#include "vulkan/matmul_q4_0.spv.h"
;
static const uint32_t spv_matmul_q4_1[] =
#include "vulkan/matmul_q4_1.spv.h"
;
static const uint32_t spv_matmul_q5_0[] =
#include "vulkan/matmul_q5_0.spv.h"
;
static const uint32_t spv_matmul_q5_1[] =
#include "vulkan/matmul_q5_1.spv.h"
;
static const uint32_t spv_matmul_iq4_nl[] =
#include "vulkan/matmul_iq4_nl.spv.h"
;
static const uint32_t spv_matmul_q4_k[] =
#include "vulkan/matmul_q4_k.spv.h"
;
static const uint32_t spv_matmul_q5_k[] =
#include "vulkan/matmul_q5_k.spv.h"
;
static const uint32_t spv_matmul_q6_k[] =
#include "vulkan/matmul_q6_k.spv.h"
;
static const uint32_t spv_matmul_iq4_xs[] =
#include "vulkan/matmul_iq4_xs.spv.h"
;
static const uint32_t spv_matmul_q2_k[] =
#include "vulkan/matmul_q2_k.spv.h"
;
static const uint32_t spv_matmul_q3_k[] =
#include "vulkan/matmul_q3_k.spv.h"
;
static const uint32_t spv_get_rows_f32[] =
#include "vulkan/get_rows_f32.spv.h"
;
static const uint32_t spv_get_rows_f16[] =
#include "vulkan/get_rows_f16.spv.h"
;
static const uint32_t spv_get_rows_bf16[] =
#include "vulkan/get_rows_bf16.spv.h"
;
static const uint32_t spv_get_rows_q8_0[] =
#include "vulkan/get_rows_q8_0.spv.h"
;
static const uint32_t spv_get_rows_q4_0[] =
#include "vulkan/get_rows_q4_0.spv.h"
;
static const uint32_t spv_get_rows_q4_1[] =
#include "vulkan/get_rows_q4_1.spv.h"
;
static const uint32_t spv_get_rows_q5_0[] =
#include "vulkan/get_rows_q5_0.spv.h"
;
static const uint32_t spv_get_rows_q5_1[] =
#include "vulkan/get_rows_q5_1.spv.h"
;
static const uint32_t spv_get_rows_iq4_nl[] =
#include "vulkan/get_rows_iq4_nl.spv.h"
;
static const uint32_t spv_get_rows_q4_k[] =
#include "vulkan/get_rows_q4_k.spv.h"
;
static const uint32_t spv_get_rows_q5_k[] =
#include "vulkan/get_rows_q5_k.spv.h"
;
static const uint32_t spv_get_rows_q6_k[] =
#include "vulkan/get_rows_q6_k.spv.h"
;
static const uint32_t spv_get_rows_iq4_xs[] =
#include "vulkan/get_rows_iq4_xs.spv.h"
;
static const uint32_t spv_get_rows_q2_k[] =
#include "vulkan/get_rows_q2_k.spv.h"
;
static const uint32_t spv_get_rows_q3_k[] =
#include "vulkan/get_rows_q3_k.spv.h"
;
static const uint32_t spv_matvec_team_f16[] =
#include "vulkan/matvec_team_f16.spv.h"
;
static const uint32_t spv_matvec_team_q8_0[] =
#include "vulkan/matvec_team_q8_0.spv.h"
;
static const uint32_t spv_matvec_team_q4_0[] =
#include "vulkan/matvec_team_q4_0.spv.h"
;
static const uint32_t spv_matvec_team_q4_k[] =
#include "vulkan/matvec_team_q4_k.spv.h"
;
static const uint32_t spv_matvec_team_q5_k[] =
#include "vulkan/matvec_team_q5_k.spv.h"
;
static const uint32_t spv_matvec_team_q6_k[] =
#include "vulkan/matvec_team_q6_k.spv.h"
;
static const uint32_t spv_matvec_team_q2_k[] =
#include "vulkan/matvec_team_q2_k.spv.h"
;
static const uint32_t spv_matvec_team_q3_k[] =
#include "vulkan/matvec_team_q3_k.spv.h"
;
static const uint32_t spv_matvec_team_iq4_xs[] =
#include "vulkan/matvec_team_iq4_xs.spv.h"
;
static const uint32_t spv_matvec_team_q4_1[] =
#include "vulkan/matvec_team_q4_1.spv.h"
;
static const uint32_t spv_matvec_team_q5_0[] =
#include "vulkan/matvec_team_q5_0.spv.h"
;
static const uint32_t spv_matvec_team_q5_1[] =
#include "vulkan/matvec_team_q5_1.spv.h"
;
static const uint32_t spv_matvec_team_iq4_nl[] =
#include "vulkan/matvec_team_iq4_nl.spv.h"
;
static const uint32_t spv_matvec_team4_f16[] =
#include "vulkan/matvec_team4_f16.spv.h"
;
static const uint32_t spv_matvec_team4_q8_0[] =
#include "vulkan/matvec_team4_q8_0.spv.h"
;
static const uint32_t spv_matvec_team4_q4_0[] =
#include "vulkan/matvec_team4_q4_0.spv.h"
;
static const uint32_t spv_matvec_team4_q4_k[] =
#include "vulkan/matvec_team4_q4_k.spv.h"
;
static const uint32_t spv_matvec_team4_q5_k[] =
#include "vulkan/matvec_team4_q5_k.spv.h"
;
static const uint32_t spv_matvec_team4_q6_k[] =
#include "vulkan/matvec_team4_q6_k.spv.h"
;
static const uint32_t spv_matvec_team4_q2_k[] =
#include "vulkan/matvec_team4_q2_k.spv.h"
;
static const uint32_t spv_matvec_team4_q3_k[] =
#include "vulkan/matvec_team4_q3_k.spv.h"
;
static const uint32_t spv_matvec_team4_iq4_xs[] =
#include "vulkan/matvec_team4_iq4_xs.spv.h"
;
static const uint32_t spv_matvec_team4_q4_1[] =
#include "vulkan/matvec_team4_q4_1.spv.h"
;
static const uint32_t spv_matvec_team4_q5_0[] =
#include "vulkan/matvec_team4_q5_0.spv.h"
;
static const uint32_t spv_matvec_team4_q5_1[] =
#include "vulkan/matvec_team4_q5_1.spv.h"
;
static const uint32_t spv_matvec_team4_iq4_nl[] =
#include "vulkan/matvec_team4_iq4_nl.spv.h"
;
static const uint32_t spv_matvec_dot_q4_k[] =
#include "vulkan/matvec_dot_q4_k.spv.h"
;
static const uint32_t spv_matvec_dot_q6_k[] =
#include "vulkan/matvec_dot_q6_k.spv.h"
;
static const uint32_t spv_matvec_dot_q8_0[] =
#include "vulkan/matvec_dot_q8_0.spv.h"
;
static const uint32_t spv_matvec_dot_q5_k[] =
#include "vulkan/matvec_dot_q5_k.spv.h"
;
static const uint32_t spv_matvec_dot_q4_0[] =
#include "vulkan/matvec_dot_q4_0.spv.h"
;
static const uint32_t spv_matvec_dot_pre_q4_k[] =
#include "vulkan/matvec_dot_pre_q4_k.spv.h"
;
static const uint32_t spv_matvec_dot_pre_q6_k[] =
#include "vulkan/matvec_dot_pre_q6_k.spv.h"
;
static const uint32_t spv_matvec_dot_pre_q8_0[] =
#include "vulkan/matvec_dot_pre_q8_0.spv.h"
;
static const uint32_t spv_matvec_dot_pre_q5_k[] =
#include "vulkan/matvec_dot_pre_q5_k.spv.h"
;
static const uint32_t spv_matvec_dot_pre_q4_0[] =
#include "vulkan/matvec_dot_pre_q4_0.spv.h"
;
static const uint32_t spv_add_rms_norm_v4_round8[] =
#include "vulkan/add_rms_norm_v4_round8.spv.h"
;
static const uint32_t spv_quantize_q8[] =
#include "vulkan/quantize_q8.spv.h"
;
static const uint32_t spv_attention_merge_round8[] =
#include "vulkan/attention_merge_round8.spv.h"
;
static const uint32_t spv_membw_read[] =
#include "vulkan/membw_read.spv.h"
;
static const uint32_t spv_membw_fill[] =
#include "vulkan/membw_fill.spv.h"
;
static const uint32_t spv_matmul_dot_q4_k[] =
#include "vulkan/matmul_dot_q4_k.spv.h"
;
static const uint32_t spv_matmul_dot_q6_k[] =
#include "vulkan/matmul_dot_q6_k.spv.h"
;
static const uint32_t spv_matmul_dot_q8_0[] =
#include "vulkan/matmul_dot_q8_0.spv.h"
;
static const uint32_t spv_matmul_dot_q5_k[] =
#include "vulkan/matmul_dot_q5_k.spv.h"
;
static const uint32_t spv_matmul_dot_q4_0[] =
#include "vulkan/matmul_dot_q4_0.spv.h"
;
static const uint32_t spv_matvec_tail_team_f16[] =
#include "vulkan/matvec_tail_team_f16.spv.h"
;
static const uint32_t spv_matvec_tail_team_q8_0[] =
#include "vulkan/matvec_tail_team_q8_0.spv.h"
;
static const uint32_t spv_matvec_tail_team_q4_0[] =
#include "vulkan/matvec_tail_team_q4_0.spv.h"
;
static const uint32_t spv_matvec_tail_team_q4_k[] =
#include "vulkan/matvec_tail_team_q4_k.spv.h"
;
static const uint32_t spv_matvec_tail_team_q5_k[] =
#include "vulkan/matvec_tail_team_q5_k.spv.h"
;
static const uint32_t spv_matvec_tail_team_q6_k[] =
#include "vulkan/matvec_tail_team_q6_k.spv.h"
;
static const uint32_t spv_matvec_tail_team4_f16[] =
#include "vulkan/matvec_tail_team4_f16.spv.h"
;
static const uint32_t spv_matvec_tail_team4_q8_0[] =
#include "vulkan/matvec_tail_team4_q8_0.spv.h"
;
static const uint32_t spv_matvec_tail_team4_q4_0[] =
#include "vulkan/matvec_tail_team4_q4_0.spv.h"
;
static const uint32_t spv_matvec_tail_team4_q4_k[] =
#include "vulkan/matvec_tail_team4_q4_k.spv.h"
;
static const uint32_t spv_matvec_tail_team4_q5_k[] =
#include "vulkan/matvec_tail_team4_q5_k.spv.h"
;
static const uint32_t spv_matvec_tail_team4_q6_k[] =
#include "vulkan/matvec_tail_team4_q6_k.spv.h"
;
static const uint32_t spv_matvec_tail_dot_q4_k[] =
#include "vulkan/matvec_tail_dot_q4_k.spv.h"
;
static const uint32_t spv_matvec_tail_dot_q6_k[] =
#include "vulkan/matvec_tail_dot_q6_k.spv.h"
;
static const uint32_t spv_matvec_tail_dot_q8_0[] =
#include "vulkan/matvec_tail_dot_q8_0.spv.h"
;
static const uint32_t spv_matvec_tail_dot_q5_k[] =
#include "vulkan/matvec_tail_dot_q5_k.spv.h"
;
static const uint32_t spv_matvec_tail_dot_q4_0[] =
#include "vulkan/matvec_tail_dot_q4_0.spv.h"
;
static const uint32_t spv_matvec_tail_dot_pre_q4_k[] =
#include "vulkan/matvec_tail_dot_pre_q4_k.spv.h"
;
static const uint32_t spv_matvec_tail_dot_pre_q6_k[] =
#include "vulkan/matvec_tail_dot_pre_q6_k.spv.h"
;
static const uint32_t spv_matvec_tail_dot_pre_q8_0[] =
#include "vulkan/matvec_tail_dot_pre_q8_0.spv.h"
;
static const uint32_t spv_matvec_tail_dot_pre_q5_k[] =
#include "vulkan/matvec_tail_dot_pre_q5_k.spv.h"
;
static const uint32_t spv_matvec_tail_dot_pre_q4_0[] =
#include "vulkan/matvec_tail_dot_pre_q4_0.spv.h"
;
static const uint32_t spv_matmul_team_f16[] =
#include "vulkan/matmul_team_f16.spv.h"
;
static const uint32_t spv_matmul_team_q8_0[] =
#include "vulkan/matmul_team_q8_0.spv.h"
;
static const uint32_t spv_matmul_team_q4_0[] =
#include "vulkan/matmul_team_q4_0.spv.h"
;
static const uint32_t spv_matmul_team_q4_k[] =
#include "vulkan/matmul_team_q4_k.spv.h"
;
static const uint32_t spv_matmul_team_q5_k[] =
#include "vulkan/matmul_team_q5_k.spv.h"
;
static const uint32_t spv_matmul_team_q6_k[] =
#include "vulkan/matmul_team_q6_k.spv.h"
;
static const uint32_t spv_matmul_team_q2_k[] =
#include "vulkan/matmul_team_q2_k.spv.h"
;
static const uint32_t spv_matmul_team_q3_k[] =
#include "vulkan/matmul_team_q3_k.spv.h"
;
static const uint32_t spv_matmul_team_iq4_xs[] =
#include "vulkan/matmul_team_iq4_xs.spv.h"
;
static const uint32_t spv_matmul_team_q4_1[] =
#include "vulkan/matmul_team_q4_1.spv.h"
;
static const uint32_t spv_matmul_team_q5_0[] =
#include "vulkan/matmul_team_q5_0.spv.h"
;
static const uint32_t spv_matmul_team_q5_1[] =
#include "vulkan/matmul_team_q5_1.spv.h"
;
static const uint32_t spv_matmul_team_iq4_nl[] =
#include "vulkan/matmul_team_iq4_nl.spv.h"
;

static const uint32_t spv_matmul_coop_f16[] =
#include "vulkan/matmul_coop_f16.spv.h"
;
static const uint32_t spv_matmul_coop_q8_0[] =
#include "vulkan/matmul_coop_q8_0.spv.h"
;
static const uint32_t spv_matmul_coop_q4_0[] =
#include "vulkan/matmul_coop_q4_0.spv.h"
;
static const uint32_t spv_matmul_coop_q4_k[] =
#include "vulkan/matmul_coop_q4_k.spv.h"
;
static const uint32_t spv_matmul_coop_q5_k[] =
#include "vulkan/matmul_coop_q5_k.spv.h"
;
static const uint32_t spv_matmul_coop_q6_k[] =
#include "vulkan/matmul_coop_q6_k.spv.h"
;
static const uint32_t spv_matmul_coop_q2_k[] =
#include "vulkan/matmul_coop_q2_k.spv.h"
;
static const uint32_t spv_matmul_coop_q3_k[] =
#include "vulkan/matmul_coop_q3_k.spv.h"
;
static const uint32_t spv_matmul_coop_iq4_xs[] =
#include "vulkan/matmul_coop_iq4_xs.spv.h"
;
static const uint32_t spv_matmul_coop_q4_1[] =
#include "vulkan/matmul_coop_q4_1.spv.h"
;
static const uint32_t spv_matmul_coop_q5_0[] =
#include "vulkan/matmul_coop_q5_0.spv.h"
;
static const uint32_t spv_matmul_coop_q5_1[] =
#include "vulkan/matmul_coop_q5_1.spv.h"
;
static const uint32_t spv_matmul_coop_iq4_nl[] =
#include "vulkan/matmul_coop_iq4_nl.spv.h"
;
static const uint32_t spv_matmul_coop8_f16[] =
#include "vulkan/matmul_coop8_f16.spv.h"
;
static const uint32_t spv_matmul_coop8_q8_0[] =
#include "vulkan/matmul_coop8_q8_0.spv.h"
;
static const uint32_t spv_matmul_coop8_q4_0[] =
#include "vulkan/matmul_coop8_q4_0.spv.h"
;
static const uint32_t spv_matmul_coop8_q4_k[] =
#include "vulkan/matmul_coop8_q4_k.spv.h"
;
static const uint32_t spv_matmul_coop8_q5_k[] =
#include "vulkan/matmul_coop8_q5_k.spv.h"
;
static const uint32_t spv_matmul_coop8_q6_k[] =
#include "vulkan/matmul_coop8_q6_k.spv.h"
;
static const uint32_t spv_matmul_coop8_q2_k[] =
#include "vulkan/matmul_coop8_q2_k.spv.h"
;
static const uint32_t spv_matmul_coop8_q3_k[] =
#include "vulkan/matmul_coop8_q3_k.spv.h"
;
static const uint32_t spv_matmul_coop8_iq4_xs[] =
#include "vulkan/matmul_coop8_iq4_xs.spv.h"
;
static const uint32_t spv_matmul_coop8_q4_1[] =
#include "vulkan/matmul_coop8_q4_1.spv.h"
;
static const uint32_t spv_matmul_coop8_q5_0[] =
#include "vulkan/matmul_coop8_q5_0.spv.h"
;
static const uint32_t spv_matmul_coop8_q5_1[] =
#include "vulkan/matmul_coop8_q5_1.spv.h"
;
static const uint32_t spv_matmul_coop8_iq4_nl[] =
#include "vulkan/matmul_coop8_iq4_nl.spv.h"
;
static const uint32_t spv_matmul_coop_m128_f16[] =
#include "vulkan/matmul_coop_m128_f16.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q8_0[] =
#include "vulkan/matmul_coop_m128_q8_0.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q4_0[] =
#include "vulkan/matmul_coop_m128_q4_0.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q4_k[] =
#include "vulkan/matmul_coop_m128_q4_k.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q5_k[] =
#include "vulkan/matmul_coop_m128_q5_k.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q6_k[] =
#include "vulkan/matmul_coop_m128_q6_k.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q2_k[] =
#include "vulkan/matmul_coop_m128_q2_k.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q3_k[] =
#include "vulkan/matmul_coop_m128_q3_k.spv.h"
;
static const uint32_t spv_matmul_coop_m128_iq4_xs[] =
#include "vulkan/matmul_coop_m128_iq4_xs.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q4_1[] =
#include "vulkan/matmul_coop_m128_q4_1.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q5_0[] =
#include "vulkan/matmul_coop_m128_q5_0.spv.h"
;
static const uint32_t spv_matmul_coop_m128_q5_1[] =
#include "vulkan/matmul_coop_m128_q5_1.spv.h"
;
static const uint32_t spv_matmul_coop_m128_iq4_nl[] =
#include "vulkan/matmul_coop_m128_iq4_nl.spv.h"
;
static const uint32_t spv_matmul_coop_n128_f16[] =
#include "vulkan/matmul_coop_n128_f16.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q8_0[] =
#include "vulkan/matmul_coop_n128_q8_0.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q4_0[] =
#include "vulkan/matmul_coop_n128_q4_0.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q4_k[] =
#include "vulkan/matmul_coop_n128_q4_k.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q5_k[] =
#include "vulkan/matmul_coop_n128_q5_k.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q6_k[] =
#include "vulkan/matmul_coop_n128_q6_k.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q2_k[] =
#include "vulkan/matmul_coop_n128_q2_k.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q3_k[] =
#include "vulkan/matmul_coop_n128_q3_k.spv.h"
;
static const uint32_t spv_matmul_coop_n128_iq4_xs[] =
#include "vulkan/matmul_coop_n128_iq4_xs.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q4_1[] =
#include "vulkan/matmul_coop_n128_q4_1.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q5_0[] =
#include "vulkan/matmul_coop_n128_q5_0.spv.h"
;
static const uint32_t spv_matmul_coop_n128_q5_1[] =
#include "vulkan/matmul_coop_n128_q5_1.spv.h"
;
static const uint32_t spv_matmul_coop_n128_iq4_nl[] =
#include "vulkan/matmul_coop_n128_iq4_nl.spv.h"
;

#define ENTRY(id, var, push) [id] = {#var, var, sizeof var, push}
const still_vk_shader still_vk_shaders[VK_SHADER_COUNT] = {
  ENTRY(VK_SHADER_MATVEC_F32, spv_matvec_f32, 36),
  ENTRY(VK_SHADER_MATVEC_F16, spv_matvec_f16, 36),
  ENTRY(VK_SHADER_MATVEC_BF16, spv_matvec_bf16, 36),
  ENTRY(VK_SHADER_MATVEC_Q8_0, spv_matvec_q8_0, 36),
  ENTRY(VK_SHADER_MATVEC_Q4_0, spv_matvec_q4_0, 36),
  ENTRY(VK_SHADER_MATVEC_Q4_1, spv_matvec_q4_1, 36),
  ENTRY(VK_SHADER_MATVEC_Q5_0, spv_matvec_q5_0, 36),
  ENTRY(VK_SHADER_MATVEC_Q5_1, spv_matvec_q5_1, 36),
  ENTRY(VK_SHADER_MATVEC_IQ4_NL, spv_matvec_iq4_nl, 36),
  ENTRY(VK_SHADER_MATVEC_Q4_K, spv_matvec_q4_k, 36),
  ENTRY(VK_SHADER_MATVEC_Q5_K, spv_matvec_q5_k, 36),
  ENTRY(VK_SHADER_MATVEC_Q6_K, spv_matvec_q6_k, 36),
  ENTRY(VK_SHADER_MATVEC_IQ4_XS, spv_matvec_iq4_xs, 36),
  ENTRY(VK_SHADER_MATVEC_Q2_K, spv_matvec_q2_k, 36),
  ENTRY(VK_SHADER_MATVEC_Q3_K, spv_matvec_q3_k, 36),
  ENTRY(VK_SHADER_RMS_NORM, spv_rms_norm, 36),
  ENTRY(VK_SHADER_ADD_RMS_NORM, spv_add_rms_norm, 44),
  ENTRY(VK_SHADER_ADD_RMS_NORM_V4, spv_add_rms_norm_v4, 44),
  ENTRY(VK_SHADER_ADD, spv_add, 20),
  ENTRY(VK_SHADER_MUL, spv_mul, 20),
  ENTRY(VK_SHADER_SWIGLU, spv_swiglu, 20),
  ENTRY(VK_SHADER_COPY, spv_copy, 20),
  ENTRY(VK_SHADER_ROPE, spv_rope, 36),
  ENTRY(VK_SHADER_ATTENTION_F32, spv_attention_f32, 52),
  ENTRY(VK_SHADER_ATTENTION_F16, spv_attention_f16, 52),
  ENTRY(VK_SHADER_ATTENTION_SPLIT_F32, spv_attention_split_f32, 52),
  ENTRY(VK_SHADER_ATTENTION_SPLIT_F16, spv_attention_split_f16, 52),
  ENTRY(VK_SHADER_ATTENTION_MERGE, spv_attention_merge, 40),
  ENTRY(VK_SHADER_ATTENTION_SPLIT_Q8_0, spv_attention_split_q8_0, 52),
  ENTRY(VK_SHADER_ATTENTION_TILE_F32, spv_attention_tile_f32, 52),
  ENTRY(VK_SHADER_ATTENTION_TILE_F16, spv_attention_tile_f16, 52),
  ENTRY(VK_SHADER_ATTENTION_TILE_Q8_0, spv_attention_tile_q8_0, 52),
  ENTRY(VK_SHADER_KV_STORE_F16, spv_kv_store_f16, 12),
  ENTRY(VK_SHADER_ATTENTION_Q8_0, spv_attention_q8_0, 52),
  ENTRY(VK_SHADER_KV_STORE_Q8_0, spv_kv_store_q8_0, 20),
  ENTRY(VK_SHADER_ROPE_STORE_F32, spv_rope_store_f32, 72),
  ENTRY(VK_SHADER_ROPE_STORE_F16, spv_rope_store_f16, 72),
  ENTRY(VK_SHADER_ROPE_STORE_Q8_0, spv_rope_store_q8_0, 72),
  ENTRY(VK_SHADER_MATMUL_F32, spv_matmul_f32, 36),
  ENTRY(VK_SHADER_MATMUL_F16, spv_matmul_f16, 36),
  ENTRY(VK_SHADER_MATMUL_BF16, spv_matmul_bf16, 36),
  ENTRY(VK_SHADER_MATMUL_Q8_0, spv_matmul_q8_0, 36),
  ENTRY(VK_SHADER_MATMUL_Q4_0, spv_matmul_q4_0, 36),
  ENTRY(VK_SHADER_MATMUL_Q4_1, spv_matmul_q4_1, 36),
  ENTRY(VK_SHADER_MATMUL_Q5_0, spv_matmul_q5_0, 36),
  ENTRY(VK_SHADER_MATMUL_Q5_1, spv_matmul_q5_1, 36),
  ENTRY(VK_SHADER_MATMUL_IQ4_NL, spv_matmul_iq4_nl, 36),
  ENTRY(VK_SHADER_MATMUL_Q4_K, spv_matmul_q4_k, 36),
  ENTRY(VK_SHADER_MATMUL_Q5_K, spv_matmul_q5_k, 36),
  ENTRY(VK_SHADER_MATMUL_Q6_K, spv_matmul_q6_k, 36),
  ENTRY(VK_SHADER_MATMUL_IQ4_XS, spv_matmul_iq4_xs, 36),
  ENTRY(VK_SHADER_MATMUL_Q2_K, spv_matmul_q2_k, 36),
  ENTRY(VK_SHADER_MATMUL_Q3_K, spv_matmul_q3_k, 36),
  ENTRY(VK_SHADER_GET_ROWS_F32, spv_get_rows_f32, 32),
  ENTRY(VK_SHADER_GET_ROWS_F16, spv_get_rows_f16, 32),
  ENTRY(VK_SHADER_GET_ROWS_BF16, spv_get_rows_bf16, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q8_0, spv_get_rows_q8_0, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q4_0, spv_get_rows_q4_0, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q4_1, spv_get_rows_q4_1, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q5_0, spv_get_rows_q5_0, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q5_1, spv_get_rows_q5_1, 32),
  ENTRY(VK_SHADER_GET_ROWS_IQ4_NL, spv_get_rows_iq4_nl, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q4_K, spv_get_rows_q4_k, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q5_K, spv_get_rows_q5_k, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q6_K, spv_get_rows_q6_k, 32),
  ENTRY(VK_SHADER_GET_ROWS_IQ4_XS, spv_get_rows_iq4_xs, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q2_K, spv_get_rows_q2_k, 32),
  ENTRY(VK_SHADER_GET_ROWS_Q3_K, spv_get_rows_q3_k, 32),
  ENTRY(VK_SHADER_MATVEC_TEAM_F16, spv_matvec_team_f16, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q8_0, spv_matvec_team_q8_0, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q4_0, spv_matvec_team_q4_0, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q4_K, spv_matvec_team_q4_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q5_K, spv_matvec_team_q5_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q6_K, spv_matvec_team_q6_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q2_K, spv_matvec_team_q2_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q3_K, spv_matvec_team_q3_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_IQ4_XS, spv_matvec_team_iq4_xs, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q4_1, spv_matvec_team_q4_1, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q5_0, spv_matvec_team_q5_0, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_Q5_1, spv_matvec_team_q5_1, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM_IQ4_NL, spv_matvec_team_iq4_nl, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_F16, spv_matvec_team4_f16, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q8_0, spv_matvec_team4_q8_0, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q4_0, spv_matvec_team4_q4_0, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q4_K, spv_matvec_team4_q4_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q5_K, spv_matvec_team4_q5_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q6_K, spv_matvec_team4_q6_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q2_K, spv_matvec_team4_q2_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q3_K, spv_matvec_team4_q3_k, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_IQ4_XS, spv_matvec_team4_iq4_xs, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q4_1, spv_matvec_team4_q4_1, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q5_0, spv_matvec_team4_q5_0, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_Q5_1, spv_matvec_team4_q5_1, 48),
  ENTRY(VK_SHADER_MATVEC_TEAM4_IQ4_NL, spv_matvec_team4_iq4_nl, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_Q4_K, spv_matvec_dot_q4_k, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_Q6_K, spv_matvec_dot_q6_k, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_Q8_0, spv_matvec_dot_q8_0, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_Q5_K, spv_matvec_dot_q5_k, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_Q4_0, spv_matvec_dot_q4_0, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_PRE_Q4_K, spv_matvec_dot_pre_q4_k, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_PRE_Q6_K, spv_matvec_dot_pre_q6_k, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_PRE_Q8_0, spv_matvec_dot_pre_q8_0, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_PRE_Q5_K, spv_matvec_dot_pre_q5_k, 48),
  ENTRY(VK_SHADER_MATVEC_DOT_PRE_Q4_0, spv_matvec_dot_pre_q4_0, 48),
  ENTRY(VK_SHADER_ADD_RMS_NORM_V4_ROUND8, spv_add_rms_norm_v4_round8, 52),
  ENTRY(VK_SHADER_QUANTIZE_Q8, spv_quantize_q8, 24),
  ENTRY(VK_SHADER_ATTENTION_MERGE_ROUND8, spv_attention_merge_round8, 40),
  ENTRY(VK_SHADER_MEMBW_READ, spv_membw_read, 8),
  ENTRY(VK_SHADER_MEMBW_FILL, spv_membw_fill, 8),
  ENTRY(VK_SHADER_MATMUL_DOT_Q4_K, spv_matmul_dot_q4_k, 48),
  ENTRY(VK_SHADER_MATMUL_DOT_Q6_K, spv_matmul_dot_q6_k, 48),
  ENTRY(VK_SHADER_MATMUL_DOT_Q8_0, spv_matmul_dot_q8_0, 48),
  ENTRY(VK_SHADER_MATMUL_DOT_Q5_K, spv_matmul_dot_q5_k, 48),
  ENTRY(VK_SHADER_MATMUL_DOT_Q4_0, spv_matmul_dot_q4_0, 48),
  ENTRY(VK_SHADER_ATTENTION_FOLD_F32, spv_attention_fold_f32, 80),
  ENTRY(VK_SHADER_ATTENTION_FOLD_F16, spv_attention_fold_f16, 80),
  ENTRY(VK_SHADER_ATTENTION_FOLD_Q8_0, spv_attention_fold_q8_0, 80),
  ENTRY(VK_SHADER_ATTENTION_FOLD_MERGE_F32, spv_attention_fold_merge_f32, 88),
  ENTRY(VK_SHADER_ATTENTION_FOLD_MERGE_F16, spv_attention_fold_merge_f16, 88),
  ENTRY(VK_SHADER_ATTENTION_FOLD_MERGE_Q8_0, spv_attention_fold_merge_q8_0, 88),
  ENTRY(VK_SHADER_MATMUL_TEAM_F16, spv_matmul_team_f16, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q8_0, spv_matmul_team_q8_0, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q4_0, spv_matmul_team_q4_0, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q4_K, spv_matmul_team_q4_k, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q5_K, spv_matmul_team_q5_k, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q6_K, spv_matmul_team_q6_k, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q2_K, spv_matmul_team_q2_k, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q3_K, spv_matmul_team_q3_k, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_IQ4_XS, spv_matmul_team_iq4_xs, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q4_1, spv_matmul_team_q4_1, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q5_0, spv_matmul_team_q5_0, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_Q5_1, spv_matmul_team_q5_1, 36),
  ENTRY(VK_SHADER_MATMUL_TEAM_IQ4_NL, spv_matmul_team_iq4_nl, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_F16, spv_matmul_coop_f16, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q8_0, spv_matmul_coop_q8_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q4_0, spv_matmul_coop_q4_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q4_K, spv_matmul_coop_q4_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q5_K, spv_matmul_coop_q5_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q6_K, spv_matmul_coop_q6_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q2_K, spv_matmul_coop_q2_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q3_K, spv_matmul_coop_q3_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_IQ4_XS, spv_matmul_coop_iq4_xs, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q4_1, spv_matmul_coop_q4_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q5_0, spv_matmul_coop_q5_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_Q5_1, spv_matmul_coop_q5_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_IQ4_NL, spv_matmul_coop_iq4_nl, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_F16, spv_matmul_coop8_f16, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q8_0, spv_matmul_coop8_q8_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q4_0, spv_matmul_coop8_q4_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q4_K, spv_matmul_coop8_q4_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q5_K, spv_matmul_coop8_q5_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q6_K, spv_matmul_coop8_q6_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q2_K, spv_matmul_coop8_q2_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q3_K, spv_matmul_coop8_q3_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_IQ4_XS, spv_matmul_coop8_iq4_xs, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q4_1, spv_matmul_coop8_q4_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q5_0, spv_matmul_coop8_q5_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_Q5_1, spv_matmul_coop8_q5_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP8_IQ4_NL, spv_matmul_coop8_iq4_nl, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_F16, spv_matmul_coop_m128_f16, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q8_0, spv_matmul_coop_m128_q8_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q4_0, spv_matmul_coop_m128_q4_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q4_K, spv_matmul_coop_m128_q4_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q5_K, spv_matmul_coop_m128_q5_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q6_K, spv_matmul_coop_m128_q6_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q2_K, spv_matmul_coop_m128_q2_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q3_K, spv_matmul_coop_m128_q3_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_IQ4_XS, spv_matmul_coop_m128_iq4_xs, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q4_1, spv_matmul_coop_m128_q4_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q5_0, spv_matmul_coop_m128_q5_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_Q5_1, spv_matmul_coop_m128_q5_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_M128_IQ4_NL, spv_matmul_coop_m128_iq4_nl, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_F16, spv_matmul_coop_n128_f16, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q8_0, spv_matmul_coop_n128_q8_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q4_0, spv_matmul_coop_n128_q4_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q4_K, spv_matmul_coop_n128_q4_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q5_K, spv_matmul_coop_n128_q5_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q6_K, spv_matmul_coop_n128_q6_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q2_K, spv_matmul_coop_n128_q2_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q3_K, spv_matmul_coop_n128_q3_k, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_IQ4_XS, spv_matmul_coop_n128_iq4_xs, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q4_1, spv_matmul_coop_n128_q4_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q5_0, spv_matmul_coop_n128_q5_0, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_Q5_1, spv_matmul_coop_n128_q5_1, 36),
  ENTRY(VK_SHADER_MATMUL_COOP_N128_IQ4_NL, spv_matmul_coop_n128_iq4_nl, 36),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM_F16, spv_matvec_tail_team_f16, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM_Q8_0, spv_matvec_tail_team_q8_0, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM_Q4_0, spv_matvec_tail_team_q4_0, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM_Q4_K, spv_matvec_tail_team_q4_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM_Q5_K, spv_matvec_tail_team_q5_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM_Q6_K, spv_matvec_tail_team_q6_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM4_F16, spv_matvec_tail_team4_f16, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM4_Q8_0, spv_matvec_tail_team4_q8_0, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM4_Q4_0, spv_matvec_tail_team4_q4_0, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM4_Q4_K, spv_matvec_tail_team4_q4_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM4_Q5_K, spv_matvec_tail_team4_q5_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_TEAM4_Q6_K, spv_matvec_tail_team4_q6_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_Q4_K, spv_matvec_tail_dot_q4_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_Q6_K, spv_matvec_tail_dot_q6_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_Q8_0, spv_matvec_tail_dot_q8_0, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_Q5_K, spv_matvec_tail_dot_q5_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_Q4_0, spv_matvec_tail_dot_q4_0, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_PRE_Q4_K, spv_matvec_tail_dot_pre_q4_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_PRE_Q6_K, spv_matvec_tail_dot_pre_q6_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_PRE_Q8_0, spv_matvec_tail_dot_pre_q8_0, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_PRE_Q5_K, spv_matvec_tail_dot_pre_q5_k, 76),
  ENTRY(VK_SHADER_MATVEC_TAIL_DOT_PRE_Q4_0, spv_matvec_tail_dot_pre_q4_0, 76),
  ENTRY(VK_SHADER_ATTENTION_COOP_F16, spv_attention_coop_f16, 52),
  ENTRY(VK_SHADER_ATTENTION_COOP_Q8_0, spv_attention_coop_q8_0, 52),
  ENTRY(VK_SHADER_ATTENTION_COOP_LANES_F16, spv_attention_coop_lanes_f16, 52),
  ENTRY(VK_SHADER_ATTENTION_COOP_LANES_Q8_0, spv_attention_coop_lanes_q8_0, 52),
  ENTRY(VK_SHADER_COOP_PROBE_PREFILL, spv_coop_probe_prefill, 16),
  ENTRY(VK_SHADER_COOP_PROBE_SCORES, spv_coop_probe_scores, 16),
  ENTRY(VK_SHADER_COOP_PROBE_VALUES, spv_coop_probe_values, 16),
  ENTRY(VK_SHADER_COOP_PROBE_A_COL, spv_coop_probe_a_col, 16),
  ENTRY(VK_SHADER_COOP_PROBE_C_ROW, spv_coop_probe_c_row, 16),
  ENTRY(VK_SHADER_COOP_PROBE_C_COL, spv_coop_probe_c_col, 16),
  ENTRY(VK_SHADER_COOP_PROBE_LONE, spv_coop_probe_lone, 16),
  ENTRY(VK_SHADER_MATMUL_WIDE_F16, spv_matmul_wide_f16, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q8_0, spv_matmul_wide_q8_0, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q4_0, spv_matmul_wide_q4_0, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q4_K, spv_matmul_wide_q4_k, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q5_K, spv_matmul_wide_q5_k, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q6_K, spv_matmul_wide_q6_k, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q2_K, spv_matmul_wide_q2_k, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q3_K, spv_matmul_wide_q3_k, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_IQ4_XS, spv_matmul_wide_iq4_xs, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q4_1, spv_matmul_wide_q4_1, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q5_0, spv_matmul_wide_q5_0, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_Q5_1, spv_matmul_wide_q5_1, 36),
  ENTRY(VK_SHADER_MATMUL_WIDE_IQ4_NL, spv_matmul_wide_iq4_nl, 36),
};

const still_vk_shader *still_vk_coop_emulated = NULL;
