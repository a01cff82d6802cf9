#include "ckernels.h"
#include "lanes.h"
#include <immintrin.h>
#include <string.h>

// Attention's two products for one head in bf16, with f32 sums: the operands rounded to bf16
// (nearest, ties to even), each pair's two exact products added to the sum by VDPBF16PS (the odd
// term's, then the even one's). As in attention.c each output is one sum in a fixed order (pairs
// in channel or key order), so a row's result depends only on its own operands, and a sentence's
// queries all run in one call at any length.

enum { LANES = 16, ROW_TILE = 8 };
typedef uint32_t u32x16 __attribute__((vector_size(64)));

#define BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

int ckpt_attention_bf16_runs(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
}

int ckpt_attention_bf16_gains(void) {
    // On Intel cores VDPBF16PS issues on one port where f32 FMAs issue on two: no faster than f32.
    return ckpt_attention_bf16_runs() && __builtin_cpu_is("amd");
}

int64_t ckpt_attention_bf16_scratch(int64_t rows, int64_t keys, int64_t d) {
    int64_t channel_pairs = (d + 1) / 2, key_pairs = (keys + 1) / 2;
    int64_t padded_keys = (keys + LANES - 1) / LANES * LANES, padded_d = (d + LANES - 1) / LANES * LANES;
    int64_t scores = channel_pairs * padded_keys + rows * ((channel_pairs + LANES - 1) / LANES * LANES);
    int64_t context = key_pairs * padded_d + rows * ((key_pairs + LANES - 1) / LANES * LANES);
    return scores > context ? scores : context;
}

// The mask of the first `count` (clamped to 0 ..< 16) lanes.
INLINE __mmask16 first_lanes(int64_t count) {
    return count <= 0 ? 0 : count >= LANES ? (__mmask16)0xffff : (__mmask16)((1u << count) - 1);
}

// x[0 ..< n] (n ≤ 32, zeros after) as 16 pairs of bf16 values, x[2i] in lane i's low half.
BF16 INLINE __m512i pairs_vector(const float *x, int64_t n) {
    __m512 low = _mm512_maskz_loadu_ps(first_lanes(n), x);
    __m512 high = _mm512_maskz_loadu_ps(first_lanes(n - LANES), x + LANES);
    return (__m512i)_mm512_cvtne2ps_pbh(high, low);
}

// A row's values x[0 ..< n] as ⌈n/2⌉ pairs (see `pairs_vector`), written in whole vectors of 16.
BF16 INLINE void row_pairs(const float *x, int64_t n, uint32_t *pairs) {
    for (int64_t first = 0; first < n; first += 2 * LANES) _mm512_storeu_si512(pairs + first / 2, pairs_vector(x + first, n - first));
}

// out = scale · Σ_p dpbf16(a[r][p], b[p][lanes]) for `tile` rows and `vectors` · 16 columns from
// `first`, p in order; a's rows lda pairs apart, b's rows ldb apart. `last` masks the stores of
// the final vector (columns past the output's width).
BF16 INLINE void tile_product(const uint32_t *a, int64_t lda, const uint32_t *b, int64_t ldb, int64_t depth, int tile, int vectors,
                              int64_t first, __mmask16 last, float scale, float *out, int64_t ldo) {
    __m512 acc[ROW_TILE][2];
    UNROLLED for (int r = 0; r < tile; r++) UNROLLED for (int v = 0; v < vectors; v++) acc[r][v] = _mm512_setzero_ps();
    for (int64_t p = 0; p < depth; p++) {
        __m512bh columns[2];
        UNROLLED for (int v = 0; v < vectors; v++) columns[v] = (__m512bh)_mm512_loadu_si512(b + p * ldb + first + v * LANES);
        UNROLLED for (int r = 0; r < tile; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[r * lda + p]);
            UNROLLED for (int v = 0; v < vectors; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x, columns[v]);
        }
    }
    __m512 scaling = _mm512_set1_ps(scale);
    UNROLLED for (int r = 0; r < tile; r++)
        UNROLLED for (int v = 0; v < vectors; v++)
            _mm512_mask_storeu_ps(out + r * ldo + first + v * LANES, v == vectors - 1 ? last : 0xffff, _mm512_mul_ps(acc[r][v], scaling));
}

// `tile` rows of out's `width` columns (b holds them in whole vectors): 32 at a time, then 16.
BF16 INLINE void rows_product(const uint32_t *a, int64_t lda, const uint32_t *b, int64_t ldb, int64_t depth, int64_t width, int tile,
                              float scale, float *out, int64_t ldo) {
    int64_t first = 0;
    for (; first + 2 * LANES < width; first += 2 * LANES) tile_product(a, lda, b, ldb, depth, tile, 2, first, 0xffff, scale, out, ldo);
    __mmask16 last = first_lanes(width - first - (width - first > LANES ? LANES : 0));
    if (width - first > LANES) tile_product(a, lda, b, ldb, depth, tile, 2, first, last, scale, out, ldo);
    else tile_product(a, lda, b, ldb, depth, tile, 1, first, last, scale, out, ldo);
}

BF16 static void product(const uint32_t *a, int64_t lda, const uint32_t *b, int64_t ldb, int64_t rows, int64_t depth, int64_t width,
                         float scale, float *out, int64_t ldo) {
    int64_t i = 0;
    for (; i + ROW_TILE <= rows; i += ROW_TILE) rows_product(a + i * lda, lda, b, ldb, depth, width, ROW_TILE, scale, out + i * ldo, ldo);
#define LAST_ROWS(n) rows_product(a + i * lda, lda, b, ldb, depth, width, n, scale, out + i * ldo, ldo)
    LAST_TILE(rows - i, LAST_ROWS);
#undef LAST_ROWS
}

BF16 void ckpt_attention_scores_bf16(const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys, int64_t d,
                                     float scale, float *scores, int64_t stride, uint32_t *scratch) {
    int64_t pairs = (d + 1) / 2, padded_keys = (keys + LANES - 1) / LANES * LANES;
    int64_t query_stride = (pairs + LANES - 1) / LANES * LANES;
    // key_pairs[p][j]: key j's channels 2p and 2p + 1 (zeros for the padding keys).
    uint32_t *key_pairs = scratch, *query_pairs = scratch + pairs * padded_keys;
    for (int64_t first = 0; first < padded_keys; first += LANES) {
        for (int64_t p0 = 0; p0 < pairs; p0 += LANES) {
            u32x16 v[LANES];
            for (int r = 0; r < LANES; r++)
                v[r] = first + r < keys ? (u32x16)pairs_vector(k + (first + r) * ldk + 2 * p0, d - 2 * p0) : (u32x16){};
            TRANSPOSE_16(v);
            for (int64_t p = p0; p < pairs && p < p0 + LANES; p++) memcpy(key_pairs + p * padded_keys + first, &v[p - p0], sizeof v[0]);
        }
    }
    for (int64_t r = 0; r < rows; r++) row_pairs(q + r * ldq, d, query_pairs + r * query_stride);
    product(query_pairs, query_stride, key_pairs, padded_keys, rows, pairs, padded_keys, scale, scores, stride);
}

BF16 void ckpt_attention_context_bf16(const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys, int64_t d,
                                      float *out, int64_t ldo, uint32_t *scratch) {
    int64_t pairs = (keys + 1) / 2, padded_d = (d + LANES - 1) / LANES * LANES;
    int64_t weight_stride = (pairs + LANES - 1) / LANES * LANES;
    // value_pairs[t][c]: channel c of values 2t and 2t + 1 (zero past the last key and channel).
    uint32_t *value_pairs = scratch, *weight_pairs = scratch + pairs * padded_d;
    for (int64_t t = 0; t < pairs; t++) {
        const float *even = v + 2 * t * ldv, *odd = even + ldv;
        int odd_present = 2 * t + 1 < keys;
        for (int64_t c = 0; c < padded_d; c += LANES) {
            __mmask16 present = first_lanes(d - c);
            __m512i low = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(present, even + c)));
            __m512i high = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(odd_present ? present : 0, odd + c)));
            _mm512_storeu_si512(value_pairs + t * padded_d + c, _mm512_or_si512(low, _mm512_slli_epi32(high, 16)));
        }
    }
    for (int64_t r = 0; r < rows; r++) row_pairs(p + r * ldp, keys, weight_pairs + r * weight_stride);
    product(weight_pairs, weight_stride, value_pairs, padded_d, rows, pairs, d, 1, out, ldo);
}
