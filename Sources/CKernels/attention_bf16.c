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

int64_t ckpt_attention_bf16_packed_keys(int64_t keys, int64_t d) { return (d + 1) / 2 * whole_vectors(keys); }

int64_t ckpt_attention_bf16_packed_values(int64_t keys, int64_t d) { return (keys + 1) / 2 * whole_vectors(d); }

int64_t ckpt_attention_bf16_row_scratch(int64_t rows, int64_t keys, int64_t d) {
    int64_t longer = keys > d ? keys : d;
    return rows * whole_vectors((longer + 1) / 2);
}

int64_t ckpt_attention_bf16_scratch(int64_t rows, int64_t keys, int64_t d) {
    int64_t keys_packed = ckpt_attention_bf16_packed_keys(keys, d), values_packed = ckpt_attention_bf16_packed_values(keys, d);
    return (keys_packed > values_packed ? keys_packed : values_packed) + ckpt_attention_bf16_row_scratch(rows, keys, d);
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

// The mask of the first `count` (clamped to 0 ..< 32) 16-bit lanes.
INLINE __mmask32 first_halves(int64_t count) {
    return count <= 0 ? 0 : count >= 2 * LANES ? (__mmask32)0xffffffffu : (__mmask32)((1u << count) - 1);
}

// Keys in the layout the scores' product reads: key_pairs[p][j] holds key j's channels 2p and
// 2p + 1, rows whole_vectors(keys) apart, zeros for the padding keys. `pairs_of(j, p0)` gives the
// 16 pairs p0 ... of key j; 16 keys' worth are transposed at a time.
#define PACK_KEYS(pairs_of)                                                                                              \
    do {                                                                                                                 \
        int64_t pairs = (d + 1) / 2, padded_keys = whole_vectors(keys);                                                  \
        for (int64_t first = 0; first < padded_keys; first += LANES)                                                     \
            for (int64_t p0 = 0; p0 < pairs; p0 += LANES) {                                                              \
                u32x16 v[LANES];                                                                                         \
                for (int r = 0; r < LANES; r++) v[r] = first + r < keys ? (u32x16)pairs_of(first + r, p0) : (u32x16){}; \
                TRANSPOSE_16(v);                                                                                         \
                for (int64_t p = p0; p < pairs && p < p0 + LANES; p++)                                                   \
                    memcpy(key_pairs + p * padded_keys + first, &v[p - p0], sizeof v[0]);                                \
            }                                                                                                            \
    } while (0)

BF16 void ckpt_attention_bf16_pack_keys(const float *k, int64_t ldk, int64_t keys, int64_t d, uint32_t *key_pairs) {
#define FROM_VALUES(j, p0) pairs_vector(k + (j) * ldk + 2 * (p0), d - 2 * (p0))
    PACK_KEYS(FROM_VALUES);
#undef FROM_VALUES
}

BF16 void ckpt_attention_bf16_pack_key_bits(const uint16_t *k, int64_t ldk, int64_t keys, int64_t d, uint32_t *key_pairs) {
    // A key's bits already sit in pairs: channel 2p in the low half of its pth 32 bits.
#define FROM_BITS(j, p0) _mm512_maskz_loadu_epi16(first_halves(d - 2 * (p0)), k + (j) * ldk + 2 * (p0))
    PACK_KEYS(FROM_BITS);
#undef FROM_BITS
}

// Values in the layout the context's product reads: value_pairs[t][c] holds channel c of values
// 2t (low half) and 2t + 1 (high half), rows whole_vectors(d) apart, zeros past the last value and
// channel. `halves_of(j, c, present)` gives channels c ... of value j as 16 bf16s zero-extended to 32 bits.
#define PACK_VALUES(halves_of)                                                                                          \
    do {                                                                                                                \
        int64_t padded_d = whole_vectors(d);                                                                            \
        for (int64_t t = 0; t < (keys + 1) / 2; t++) {                                                                  \
            int odd_present = 2 * t + 1 < keys;                                                                         \
            for (int64_t c = 0; c < padded_d; c += LANES) {                                                             \
                __mmask16 present = first_lanes(d - c);                                                                 \
                __m512i low = halves_of(2 * t, c, present);                                                             \
                __m512i high = halves_of(2 * t + 1, c, odd_present ? present : 0);                                      \
                _mm512_storeu_si512(value_pairs + t * padded_d + c, _mm512_or_si512(low, _mm512_slli_epi32(high, 16))); \
            }                                                                                                           \
        }                                                                                                               \
    } while (0)

BF16 void ckpt_attention_bf16_pack_values(const float *v, int64_t ldv, int64_t keys, int64_t d, uint32_t *value_pairs) {
#define FROM_VALUES(j, c, present) _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(present, v + (j) * ldv + (c))))
    PACK_VALUES(FROM_VALUES);
#undef FROM_VALUES
}

BF16 void ckpt_attention_bf16_pack_value_bits(const uint16_t *v, int64_t ldv, int64_t keys, int64_t d, uint32_t *value_pairs) {
#define FROM_BITS(j, c, present) _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(present, v + (j) * ldv + (c)))
    PACK_VALUES(FROM_BITS);
#undef FROM_BITS
}

BF16 void ckpt_attention_scores_bf16_packed(const float *q, int64_t ldq, const uint32_t *key_pairs, int64_t packed_keys, int64_t rows,
                                            int64_t keys, int64_t d, float scale, float *scores, int64_t stride, uint32_t *scratch) {
    int64_t pairs = (d + 1) / 2, query_stride = whole_vectors(pairs);
    for (int64_t r = 0; r < rows; r++) row_pairs(q + r * ldq, d, scratch + r * query_stride);
    product(scratch, query_stride, key_pairs, whole_vectors(packed_keys), rows, pairs, whole_vectors(keys), scale, scores, stride);
}

BF16 void ckpt_attention_context_bf16_packed(const float *p, int64_t ldp, const uint32_t *value_pairs, int64_t rows, int64_t keys, int64_t d,
                                             float *out, int64_t ldo, uint32_t *scratch) {
    int64_t pairs = (keys + 1) / 2, weight_stride = whole_vectors(pairs);
    for (int64_t r = 0; r < rows; r++) row_pairs(p + r * ldp, keys, scratch + r * weight_stride);
    product(scratch, weight_stride, value_pairs, whole_vectors(d), rows, pairs, d, 1, out, ldo);
}

void ckpt_attention_scores_bf16(const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys, int64_t d, float scale,
                                float *scores, int64_t stride, uint32_t *scratch) {
    ckpt_attention_bf16_pack_keys(k, ldk, keys, d, scratch);
    ckpt_attention_scores_bf16_packed(q, ldq, scratch, keys, rows, keys, d, scale, scores, stride,
                                      scratch + ckpt_attention_bf16_packed_keys(keys, d));
}

void ckpt_attention_context_bf16(const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys, int64_t d, float *out,
                                 int64_t ldo, uint32_t *scratch) {
    ckpt_attention_bf16_pack_values(v, ldv, keys, d, scratch);
    ckpt_attention_context_bf16_packed(p, ldp, scratch, rows, keys, d, out, ldo, scratch + ckpt_attention_bf16_packed_values(keys, d));
}
