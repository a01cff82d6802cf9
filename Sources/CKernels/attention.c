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
typedef uint16_t u16x16 __attribute__((vector_size(32)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));

// Rows per tile: eight rows by two vectors keep sixteen sums in registers, each loaded vector feeding eight FMAs.
enum { LANES = 16, ROW_TILE = 8 };

INLINE f32x16 load16(const float *p) { f32x16 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store16(float *p, f32x16 v) { memcpy(p, &v, sizeof v); }
INLINE f32x16 fma16(f32x16 a, f32x16 b, f32x16 c) { return __builtin_elementwise_fma(a, b, c); }
INLINE f32x16 splat16(float x) { return (f32x16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// A row's next 16 values: f32 as they are, or bf16 bits widened (exactly) to f32.
INLINE f32x16 load_row16(const float *f32, const uint16_t *bf16, int64_t at) {
    if (!bf16) return load16(f32 + at);
    u16x16 bits;
    memcpy(&bits, bf16 + at, sizeof bits);
    u32x16 wide = __builtin_convertvector(bits, u32x16) << 16;
    f32x16 v;
    memcpy(&v, &wide, sizeof v);
    return v;
}

INLINE float load_row1(const float *f32, const uint16_t *bf16, int64_t at) {
    if (!bf16) return f32[at];
    uint32_t wide = (uint32_t)bf16[at] << 16;
    float v;
    memcpy(&v, &wide, sizeof v);
    return v;
}

// out[r][c] = scale · Σ_t a[r][t]·b[t][c] for `tile` rows and the `vectors` · 16 columns from
// `first`, summed in t order: both of attention's products (scale 1 for the context's). b is f32
// (`bf`) or bf16 bits (`bb`, a bf16 key-value cache's values).
INLINE void tile_product(const float *a, int64_t lda, const float *bf, const uint16_t *bb, int64_t ldb, int64_t depth, int tile, int vectors,
                         int64_t first, float scale, float *out, int64_t ldo) {
    f32x16 acc[ROW_TILE][4] = {};
    for (int64_t t = 0; t < depth; t++) {
        f32x16 columns[4];
        UNROLLED for (int v = 0; v < vectors; v++) columns[v] = load_row16(bf, bb, t * ldb + first + v * LANES);
        UNROLLED for (int r = 0; r < tile; r++) {
            f32x16 x = splat16(a[r * lda + t]);
            UNROLLED for (int v = 0; v < vectors; v++) acc[r][v] = fma16(x, columns[v], acc[r][v]);
        }
    }
    UNROLLED for (int r = 0; r < tile; r++)
        UNROLLED for (int v = 0; v < vectors; v++) store16(out + r * ldo + first + v * LANES, acc[r][v] * scale);
}

// `tile` rows of out's `width` columns: 32 or 16 at a time (one row: 64 first, four chains of
// multiply-adds to hide their latency), the last width mod 16 one by one.
INLINE void rows_product(const float *a, int64_t lda, const float *bf, const uint16_t *bb, int64_t ldb, int64_t depth, int64_t width, int tile,
                         float scale, float *out, int64_t ldo) {
    int64_t first = 0;
    if (tile == 1)
        for (; first + 4 * LANES <= width; first += 4 * LANES) tile_product(a, lda, bf, bb, ldb, depth, 1, 4, first, scale, out, ldo);
    for (; first + 2 * LANES <= width; first += 2 * LANES) tile_product(a, lda, bf, bb, ldb, depth, tile, 2, first, scale, out, ldo);
    if (first + LANES <= width) {
        tile_product(a, lda, bf, bb, ldb, depth, tile, 1, first, scale, out, ldo);
        first += LANES;
    }
    for (int r = 0; r < tile; r++)
        for (int64_t c = first; c < width; c++) {
            float sum = 0;
            for (int64_t t = 0; t < depth; t++) sum = __builtin_fmaf(a[r * lda + t], load_row1(bf, bb, t * ldb + c), sum);
            out[r * ldo + c] = sum * scale;
        }
}

// All `rows` rows: tiles of ROW_TILE, then the rest as one tile.
INLINE void product(const float *a, int64_t lda, const float *b, int64_t ldb, int64_t rows, int64_t depth, int64_t width, float scale,
                    float *out, int64_t ldo) {
    int64_t i = 0;
    for (; i + ROW_TILE <= rows; i += ROW_TILE) rows_product(a + i * lda, lda, b, NULL, ldb, depth, width, ROW_TILE, scale, out + i * ldo, ldo);
#define LAST_ROWS(n) rows_product(a + i * lda, lda, b, NULL, ldb, depth, width, n, scale, out + i * ldo, ldo)
    LAST_TILE(rows - i, LAST_ROWS);
}

// kt[c][j] = k[j][c] for j < keys and c < d, and 0 for keys ≤ j < padded: blocks of 16 keys (the
// last one filled out with zeros) by 16 channels transposed in registers, channels past the last
// whole vector one element at a time. (Left to the vectoriser, the element loops became scatters,
// which cost more than the scores themselves.)
INLINE void transpose_keys(const float *k, int64_t ldk, int64_t keys, int64_t d, float *kt, int64_t stride, int64_t padded) {
    for (int64_t first = 0; first < padded; first += LANES) {
        int64_t present = keys - first < LANES ? keys - first : LANES;
        int64_t c0 = 0;
        for (; c0 + LANES <= d; c0 += LANES) {
            f32x16 v[LANES];
            UNROLLED for (int r = 0; r < LANES; r++) v[r] = r < present ? load16(k + (first + r) * ldk + c0) : (f32x16){};
            TRANSPOSE_16(v);
            UNROLLED for (int r = 0; r < LANES; r++) store16(kt + (c0 + r) * stride + first, v[r]);
        }
        for (int64_t c = c0; c < d; c++)
            _Pragma("clang loop vectorize(disable)") for (int64_t r = 0; r < LANES; r++)
                kt[c * stride + first + r] = r < present ? k[(first + r) * ldk + c] : 0;
    }
}

INLINE void ckpt_attention_scores_body(ckpt_isa isa, const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys,
                                       int64_t d, float scale, float *scores, int64_t stride, float *kt) {
    (void)isa;
    int64_t padded = whole_vectors(keys);
    transpose_keys(k, ldk, keys, d, kt, stride, padded);
    product(q, ldq, kt, stride, rows, d, padded, scale, scores, stride);
}

ISA_VERSIONED(void, ckpt_attention_scores,
              (const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys, int64_t d, float scale, float *scores,
               int64_t stride, float *kt),
              q, ldq, k, ldk, rows, keys, d, scale, scores, stride, kt)

INLINE void ckpt_attention_context_body(ckpt_isa isa, const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys,
                                        int64_t d, float *out, int64_t ldo) {
    (void)isa;
    product(p, ldp, v, ldv, rows, keys, d, 1, out, ldo);
}

ISA_VERSIONED(void, ckpt_attention_context,
              (const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys, int64_t d, float *out, int64_t ldo),
              p, ldp, v, ldv, rows, keys, d, out, ldo)

TRANSPOSED_SUMS(transposed_sums_f32x16, f32x16, 16, F32X16_PAIR_SHUFFLES)

// One query's scores: scores[j] = scale · q·k[j] for j < keys, each as sixteen partial sums (lane
// l over channels l, l + 16, … in order, fused multiply-adds; channels past d count as zeros)
// added pairwise (lane l + lane l + 8, then + 4, + 2, + 1). Each key is read once, in order, where
// `ckpt_attention_scores` first transposes the keys: for a decoded token over a long cache, that
// transposition cost more than the products. Keys are f32 (`kf`) or bf16 bits (`kb`).
INLINE void query_scores(const float *q, const float *kf, const uint16_t *kb, int64_t ldk, int64_t keys, int64_t d, float scale,
                         float *scores) {
    int64_t whole = d / LANES * LANES;
    f32x16 q_tail = {};
    for (int64_t c = whole; c < d; c++) q_tail[c - whole] = q[c];
    for (int64_t first = 0; first < keys; first += LANES) {
        int n = keys - first < LANES ? (int)(keys - first) : LANES;
        f32x16 partial[LANES];
        for (int j = 0; j < n; j++) {
            int64_t row = (first + j) * ldk;
            f32x16 sum = {};
            for (int64_t c = 0; c < whole; c += LANES) sum = fma16(load16(q + c), load_row16(kf, kb, row + c), sum);
            if (whole < d) {
                f32x16 k_tail = {};
                for (int64_t c = whole; c < d; c++) k_tail[c - whole] = load_row1(kf, kb, row + c);
                sum = fma16(q_tail, k_tail, sum);
            }
            partial[j] = sum;
        }
        double sums[LANES];
        transposed_sums_f32x16(partial, n, sums);
        for (int j = 0; j < n; j++) scores[first + j] = (float)sums[j] * scale;
    }
}

INLINE void ckpt_attention_query_scores_body(ckpt_isa isa, const float *q, const float *k, int64_t ldk, int64_t keys, int64_t d, float scale,
                                             float *scores) {
    (void)isa;
    query_scores(q, k, NULL, ldk, keys, d, scale, scores);
}

ISA_VERSIONED(void, ckpt_attention_query_scores,
              (const float *q, const float *k, int64_t ldk, int64_t keys, int64_t d, float scale, float *scores),
              q, k, ldk, keys, d, scale, scores)

INLINE void ckpt_attention_query_scores_bf16_keys_body(ckpt_isa isa, const float *q, const uint16_t *k, int64_t ldk, int64_t keys, int64_t d,
                                                       float scale, float *scores) {
    (void)isa;
    query_scores(q, NULL, k, ldk, keys, d, scale, scores);
}

ISA_VERSIONED(void, ckpt_attention_query_scores_bf16_keys,
              (const float *q, const uint16_t *k, int64_t ldk, int64_t keys, int64_t d, float scale, float *scores),
              q, k, ldk, keys, d, scale, scores)

// One query's context over bf16 values: `ckpt_attention_context`'s one-row sums, over the bits.
INLINE void ckpt_attention_query_context_bf16_values_body(ckpt_isa isa, const float *p, const uint16_t *v, int64_t ldv, int64_t keys,
                                                         int64_t d, float *out) {
    (void)isa;
    rows_product(p, keys, NULL, v, ldv, keys, d, 1, 1, out, d);
}

ISA_VERSIONED(void, ckpt_attention_query_context_bf16_values,
              (const float *p, const uint16_t *v, int64_t ldv, int64_t keys, int64_t d, float *out),
              p, v, ldv, keys, d, out)
