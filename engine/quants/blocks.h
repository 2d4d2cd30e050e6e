/* blocks.h — on-disk block layouts of the quantized tensor types.
 * These are facts of the GGUF/ggml file format (bit-compatible); every
 * struct is packed to its natural size, checked by the static asserts. */
#ifndef STILL_BLOCKS_H
#define STILL_BLOCKS_H

#include <assert.h>
#include <stdint.h>

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK4_NL 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t still_half; /* IEEE binary16 bits */

typedef struct { still_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
typedef struct { still_half d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;
typedef struct { still_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;
typedef struct { still_half d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;
typedef struct { still_half d; int8_t qs[QK8_0]; } block_q8_0;
typedef struct { still_half d, s; int8_t qs[QK8_1]; } block_q8_1; /* s = d * sum(qs) */

/* K-quants: 256-value super-blocks */
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; still_half d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; still_half d; } block_q3_K;
typedef struct { still_half d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } block_q4_K;
typedef struct { still_half d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; still_half d; } block_q6_K;
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K; /* activations */

/* Non-linear 4-bit */
typedef struct { still_half d; uint8_t qs[QK4_NL / 2]; } block_iq4_nl;
typedef struct { still_half d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; } block_iq4_xs;

static_assert(sizeof(block_q4_0) == 18, "q4_0");
static_assert(sizeof(block_q4_1) == 20, "q4_1");
static_assert(sizeof(block_q5_0) == 22, "q5_0");
static_assert(sizeof(block_q5_1) == 24, "q5_1");
static_assert(sizeof(block_q8_0) == 34, "q8_0");
static_assert(sizeof(block_q8_1) == 36, "q8_1");
static_assert(sizeof(block_q2_K) == 84, "q2_K");
static_assert(sizeof(block_q3_K) == 110, "q3_K");
static_assert(sizeof(block_q4_K) == 144, "q4_K");
static_assert(sizeof(block_q5_K) == 176, "q5_K");
static_assert(sizeof(block_q6_K) == 210, "q6_K");
static_assert(sizeof(block_q8_K) == 292, "q8_K");
static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl");
static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs");

#endif /* STILL_BLOCKS_H */
