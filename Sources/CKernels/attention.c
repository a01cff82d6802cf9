#include "ckernels.h"
#include "lanes.h"
#include <string.h>

// Attention's two products for one head, row by row: each output is one sum in a fixed order
// (fused multiply-adds, in channel or key order), so that a row's result depends only on its own
// operands, never on the rows beside it, the tiling, or the instruction set (every version fuses
// its multiply-adds). A sentence's head is a few dozen queries by a few dozen keys, where a
// library GEMM's set-up per call costs as much as the arithmetic.

#pragma clang diagnostic ignored "-Wpsabi"
typedef float f32x16 __attribute__((vector_size(64)));

#define INLINE __attribute__((always_inline)) static inline
// The loops over a tile's rows and vectors (constants where each tile is inlined) unrolled, so
// that its accumulators stay in registers.
#define UNROLLED _Pragma("clang loop unroll(full)")

// Rows per tile: eight rows by two vectors keep sixteen sums in registers, each loaded vector feeding eight FMAs.
enum { LANES = 16, ROW_TILE = 8 };

INLINE f32x16 load16(const float *p) { f32x16 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store16(float *p, f32x16 v) { memcpy(p, &v, sizeof v); }
INLINE f32x16 fma16(f32x16 a, f32x16 b, f32x16 c) { return __builtin_elementwise_fma(a, b, c); }
INLINE f32x16 splat16(float x) { return (f32x16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// `tile` rows of scores over `vectors` · 16 keys from `first`, from kt [d][stride].
INLINE void score_tile(const float *q, int64_t ldq, const float *kt, int64_t stride, int64_t d, int tile, int vectors, int64_t first,
                       float scale, float *scores) {
    f32x16 acc[ROW_TILE][2] = {};
    for (int64_t c = 0; c < d; c++) {
        f32x16 keys[2];
        UNROLLED for (int v = 0; v < vectors; v++) keys[v] = load16(kt + c * stride + first + v * LANES);
        UNROLLED for (int r = 0; r < tile; r++) {
            f32x16 x = splat16(q[r * ldq + c]);
            UNROLLED for (int v = 0; v < vectors; v++) acc[r][v] = fma16(x, keys[v], acc[r][v]);
        }
    }
    UNROLLED for (int r = 0; r < tile; r++)
        UNROLLED for (int v = 0; v < vectors; v++) store16(scores + r * stride + first + v * LANES, acc[r][v] * scale);
}

// `tile` rows of scores over keys [0, padded).
INLINE void score_rows(const float *q, int64_t ldq, const float *kt, int64_t stride, int64_t d, int tile, int64_t padded, float scale,
                       float *scores) {
    int64_t first = 0;
    for (; first + 2 * LANES <= padded; first += 2 * LANES) score_tile(q, ldq, kt, stride, d, tile, 2, first, scale, scores);
    if (first < padded) score_tile(q, ldq, kt, stride, d, tile, 1, first, scale, scores);
}

INLINE void ckpt_attention_scores_body(ckpt_isa isa, const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys,
                                       int64_t d, float scale, float *scores, int64_t stride, float *kt) {
    (void)isa;
    int64_t padded = (keys + LANES - 1) / LANES * LANES;
    for (int64_t j = 0; j < keys; j++)
        for (int64_t c = 0; c < d; c++) kt[c * stride + j] = k[j * ldk + c];
    for (int64_t c = 0; c < d; c++)
        for (int64_t j = keys; j < padded; j++) kt[c * stride + j] = 0;
    int64_t i = 0;
    for (; i + ROW_TILE <= rows; i += ROW_TILE) score_rows(q + i * ldq, ldq, kt, stride, d, ROW_TILE, padded, scale, scores + i * stride);
    for (; i < rows; i++) score_rows(q + i * ldq, ldq, kt, stride, d, 1, padded, scale, scores + i * stride);
}

ISA_VERSIONED(void, ckpt_attention_scores,
              (const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys, int64_t d, float scale, float *scores,
               int64_t stride, float *kt),
              q, ldq, k, ldk, rows, keys, d, scale, scores, stride, kt)

// `tile` rows of out's channels [first, first + vectors · 16).
INLINE void context_tile(const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t keys, int tile, int vectors, int64_t first,
                         float *out, int64_t ldo) {
    f32x16 acc[ROW_TILE][2] = {};
    for (int64_t j = 0; j < keys; j++) {
        f32x16 values[2];
        UNROLLED for (int u = 0; u < vectors; u++) values[u] = load16(v + j * ldv + first + u * LANES);
        UNROLLED for (int r = 0; r < tile; r++) {
            f32x16 x = splat16(p[r * ldp + j]);
            UNROLLED for (int u = 0; u < vectors; u++) acc[r][u] = fma16(x, values[u], acc[r][u]);
        }
    }
    UNROLLED for (int r = 0; r < tile; r++)
        UNROLLED for (int u = 0; u < vectors; u++) store16(out + r * ldo + first + u * LANES, acc[r][u]);
}

// `tile` rows of out: channels 32 or 16 at a time, the last d mod 16 one by one.
INLINE void context_rows(const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t keys, int64_t d, int tile, float *out,
                         int64_t ldo) {
    int64_t first = 0;
    for (; first + 2 * LANES <= d; first += 2 * LANES) context_tile(p, ldp, v, ldv, keys, tile, 2, first, out, ldo);
    if (first + LANES <= d) {
        context_tile(p, ldp, v, ldv, keys, tile, 1, first, out, ldo);
        first += LANES;
    }
    for (int r = 0; r < tile; r++)
        for (int64_t c = first; c < d; c++) {
            float sum = 0;
            for (int64_t j = 0; j < keys; j++) sum = __builtin_fmaf(p[r * ldp + j], v[j * ldv + c], sum);
            out[r * ldo + c] = sum;
        }
}

INLINE void ckpt_attention_context_body(ckpt_isa isa, const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys,
                                        int64_t d, float *out, int64_t ldo) {
    (void)isa;
    int64_t i = 0;
    for (; i + ROW_TILE <= rows; i += ROW_TILE) context_rows(p + i * ldp, ldp, v, ldv, keys, d, ROW_TILE, out + i * ldo, ldo);
    for (; i < rows; i++) context_rows(p + i * ldp, ldp, v, ldv, keys, d, 1, out + i * ldo, ldo);
}

ISA_VERSIONED(void, ckpt_attention_context,
              (const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys, int64_t d, float *out, int64_t ldo),
              p, ldp, v, ldv, rows, keys, d, out, ldo)
