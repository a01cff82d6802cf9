#include "ckernels.h"
#include "lanes.h"
#include <math.h>
#include <string.h>

// The pass takes rows in blocks of CKPT_SOFTMAX_REGRESSION_BLOCK (32): the block's logits, then its
// softmax and loss, then its share of the weight gradient, while the next block is prefetched. The
// logits and the gradient are both register-blocked so that each loaded vector feeds several FMAs,
// and the softmax, exp and log run across the block's rows as branch-free loops that vectorise.
// (32 rows beat 16 and 8, which keep a block of 384 features in L1 between its two reads, by
// 5-10%: the per-block work is spread over more rows, and the block comes from L2 quickly enough.)
enum { BLOCK = CKPT_SOFTMAX_REGRESSION_BLOCK, ROW_PAIR = 2, FLUSH = 2 * BLOCK };

// GCC/Clang vector types: each version of the pass lowers them to its own instruction set (one
// AVX-512 register, two AVX2 registers, four SSE registers). Only always-inlined helpers take them,
// so no vector crosses a call boundary and the ABI note clang gives for the narrower versions does
// not apply.
#pragma clang diagnostic ignored "-Wpsabi"
typedef float f32x16 __attribute__((vector_size(64)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef double f64x8 __attribute__((vector_size(64)));


INLINE f32x16 load_f32x16(const float *p) { f32x16 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store_f32x16(float *p, f32x16 v) { memcpy(p, &v, sizeof v); }
INLINE f64x8 load_f64x8(const double *p) { f64x8 v; memcpy(&v, p, sizeof v); return v; }
INLINE f64x8 widen_f32x8(const float *p) { f32x8 v; memcpy(&v, p, sizeof v); return __builtin_convertvector(v, f64x8); }

// exp(x) for x ≤ 0, branch-free so that a loop over it vectorises: x = n·ln2 + r with |r| ≤ ln2/2
// (ln2 in two parts, so n·ln2 is exact), e^r by its Taylor series to r¹³ (truncation below 2⁻⁵³
// for |r| ≤ 0.35), times 2ⁿ made in the exponent bits. Within 1 ulp of libm's exp (2·10⁶ random
// points of [−745, 0] compared when written); below −708 it returns 0, where a softmax term no
// longer changes a sum that is ≥ 1.
INLINE double exp_nonpositive(double x) {
    const double clamped = x < -708 ? -708 : x;
    const double n = __builtin_rint(clamped * 1.4426950408889634);
    const double r = (clamped - n * 0.693147180369123816490) - n * 1.90821492927058770002e-10;
    double p = 1.0 / 6227020800;
    p = p * r + 1.0 / 479001600; p = p * r + 1.0 / 39916800; p = p * r + 1.0 / 3628800;
    p = p * r + 1.0 / 362880;    p = p * r + 1.0 / 40320;    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;       p = p * r + 1.0 / 120;      p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;         p = p * r + 0.5;            p = p * r + 1.0;
    p = p * r + 1.0;
    const int64_t bits = ((int64_t)n + 1023) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -708 ? 0 : p * scale;
}

// log(x) for finite x > 0, branch-free: x = m·2ᵉ with m in [√½, √2), log m = 2·atanh(f) with
// f = (m − 1)/(m + 1), |f| ≤ 0.172, by its series to f²³ (truncation below 2⁻⁵³). Within 2 ulp of
// libm's log (2·10⁶ random points compared when written).
INLINE double log_positive(double x) {
    int64_t bits;
    memcpy(&bits, &x, sizeof bits);
    // Counting the exponent from √½'s bit pattern puts every mantissa in [√½, √2).
    const int64_t e = (bits - 0x3fe6a09e667f3bcdLL) >> 52;
    const int64_t mantissa_bits = bits - (e << 52);
    double m;
    memcpy(&m, &mantissa_bits, sizeof m);
    const double f = (m - 1) / (m + 1), f2 = f * f;
    double p = 2.0 / 23;
    p = p * f2 + 2.0 / 21; p = p * f2 + 2.0 / 19; p = p * f2 + 2.0 / 17; p = p * f2 + 2.0 / 15;
    p = p * f2 + 2.0 / 13; p = p * f2 + 2.0 / 11; p = p * f2 + 2.0 / 9;  p = p * f2 + 2.0 / 7;
    p = p * f2 + 2.0 / 5;  p = p * f2 + 2.0 / 3;  p = p * f2 + 2.0;
    return (double)e * 0.693147180369123816490 + (f * p + (double)e * 1.90821492927058770002e-10);
}

TRANSPOSED_SUMS(transposed_sums_f32x16, f32x16, 16, F32X16_PAIR_SHUFFLES)
TRANSPOSED_SUMS(transposed_sums_f64x8, f64x8, 8,
    SHUFFLE_CASE(4, low = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11);
                    high = __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15))
    SHUFFLE_CASE(2, low = __builtin_shufflevector(a, b, 0, 1, 4, 5, 8, 9, 12, 13);
                    high = __builtin_shufflevector(a, b, 2, 3, 6, 7, 10, 11, 14, 15))
    SHUFFLE_CASE(1, low = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
                    high = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)))

// Logits of ROWS consecutive rows for CLASSES classes, summed in T (VEC: LANES of them): one
// accumulator vector per (class, row); each weight vector is loaded once for all the rows, each
// row's features loaded (and widened to T) once for all the classes. Written class-major,
// z[c·BLOCK + r].
#define LOGIT_GROUP(name, T, VEC, LANES, LOAD_X, LOAD_W, SUMS, ROWS, CLASSES)                         \
    INLINE void name(const T *w, int64_t d, const float *x, double *z) {                               \
        VEC acc[CLASSES * ROWS] = {};                                                                  \
        int64_t j = 0;                                                                                 \
        for (; j + LANES <= d; j += LANES) {                                                           \
            VEC xv[ROWS];                                                                              \
            for (int r = 0; r < ROWS; r++) xv[r] = LOAD_X(x + r * d + j);                              \
            for (int c = 0; c < CLASSES; c++) {                                                        \
                const VEC wv = LOAD_W(w + c * d + j);                                                  \
                for (int r = 0; r < ROWS; r++) acc[c * ROWS + r] += wv * xv[r];                        \
            }                                                                                          \
        }                                                                                              \
        double sums[CLASSES * ROWS];                                                                   \
        SUMS(acc, CLASSES * ROWS, sums);                                                               \
        for (int c = 0; c < CLASSES; c++)                                                              \
            for (int r = 0; r < ROWS; r++) {                                                           \
                double tail = 0;                                                                       \
                for (int64_t t = j; t < d; t++) tail += (double)w[c * d + t] * x[r * d + t];           \
                z[c * BLOCK + r] = sums[c * ROWS + r] + tail;                                          \
            }                                                                                          \
    }

// All k logits of ROWS rows, classes taken six (AVX-512) or three (AVX2, baseline), then two and
// one at a time: a row pair's accumulators fill but do not overflow the registers (twelve of
// thirty-two on AVX-512; six of two registers each of AVX2's sixteen).
#define LOGIT_ROWS(name, T, VEC, LANES, LOAD_X, LOAD_W, SUMS, ROWS)                                    \
    LOGIT_GROUP(name##_6, T, VEC, LANES, LOAD_X, LOAD_W, SUMS, ROWS, 6)                                \
    LOGIT_GROUP(name##_3, T, VEC, LANES, LOAD_X, LOAD_W, SUMS, ROWS, 3)                                \
    LOGIT_GROUP(name##_2, T, VEC, LANES, LOAD_X, LOAD_W, SUMS, ROWS, 2)                                \
    LOGIT_GROUP(name##_1, T, VEC, LANES, LOAD_X, LOAD_W, SUMS, ROWS, 1)                                \
    INLINE void name(ckpt_isa isa, const T *w, int64_t d, int64_t k, const float *x, double *z) {      \
        int64_t c = 0;                                                                                 \
        if (isa == ISA_AVX512)                                                                         \
            for (; c + 6 <= k; c += 6) name##_6(w + c * d, d, x, z + c * BLOCK);                       \
        else                                                                                           \
            for (; c + 3 <= k; c += 3) name##_3(w + c * d, d, x, z + c * BLOCK);                       \
        for (; c + 2 <= k; c += 2) name##_2(w + c * d, d, x, z + c * BLOCK);                           \
        for (; c < k; c++) name##_1(w + c * d, d, x, z + c * BLOCK);                                   \
    }
LOGIT_ROWS(logits_of_pair, double, f64x8, 8, widen_f32x8, load_f64x8, transposed_sums_f64x8, ROW_PAIR)
LOGIT_ROWS(logits_of_row, double, f64x8, 8, widen_f32x8, load_f64x8, transposed_sums_f64x8, 1)
LOGIT_ROWS(coarse_logits_of_pair, float, f32x16, 16, load_f32x16, load_f32x16, transposed_sums_f32x16, ROW_PAIR)
LOGIT_ROWS(coarse_logits_of_row, float, f32x16, 16, load_f32x16, load_f32x16, transposed_sums_f32x16, 1)

// The block's share of the weight gradient, Σ_r g[c][r]·x[r], for CLASSES classes, 16·VECTORS
// columns at a time: CLASSES × VECTORS float32 vectors summed over the block's rows in registers,
// then added to the float32 sums once. The same chunk of the next block's rows (`ahead` of them) is
// prefetched as this one is read. On AVX-512, six classes take two vectors (twelve accumulators;
// three or four were no faster), fewer classes four; AVX2 and the baseline, with half the
// registers and vectors of two (or four) registers, take half as many.
#define GRADIENT_CHUNK(name, CLASSES, VECTORS)                                                        \
    INLINE void name(const float *x, int64_t rows, int64_t ahead, int64_t d, const float *g, float *sums) { \
        f32x16 acc[CLASSES][VECTORS] = {};                                                             \
        for (int64_t r = 0; r < rows; r++) {                                                           \
            f32x16 xv[VECTORS];                                                                        \
            for (int v = 0; v < VECTORS; v++) xv[v] = load_f32x16(x + r * d + 16 * v);                 \
            if (r < ahead)                                                                             \
                for (int v = 0; v < VECTORS; v++) __builtin_prefetch(x + (r + BLOCK) * d + 16 * v);    \
            for (int c = 0; c < CLASSES; c++)                                                          \
                for (int v = 0; v < VECTORS; v++) acc[c][v] += g[c * BLOCK + r] * xv[v];               \
        }                                                                                              \
        for (int c = 0; c < CLASSES; c++)                                                              \
            for (int v = 0; v < VECTORS; v++)                                                          \
                store_f32x16(sums + c * d + 16 * v, load_f32x16(sums + c * d + 16 * v) + acc[c][v]);   \
    }
#define GRADIENT_GROUP(name, CLASSES, VECTORS)                                                        \
    GRADIENT_CHUNK(name##_chunk, CLASSES, VECTORS)                                                     \
    GRADIENT_CHUNK(name##_tail, CLASSES, 1)                                                            \
    INLINE void name(const float *x, int64_t rows, int64_t ahead, int64_t d, const float *g, float *sums) { \
        int64_t j = 0;                                                                                 \
        for (; j + 16 * VECTORS <= d; j += 16 * VECTORS) name##_chunk(x + j, rows, ahead, d, g, sums + j); \
        for (; j + 16 <= d; j += 16) name##_tail(x + j, rows, ahead, d, g, sums + j);                  \
        for (; j < d; j++)                                                                             \
            for (int c = 0; c < CLASSES; c++) {                                                        \
                float s = 0;                                                                           \
                for (int64_t r = 0; r < rows; r++) s += g[c * BLOCK + r] * x[r * d + j];               \
                sums[c * d + j] += s;                                                                  \
            }                                                                                          \
    }
GRADIENT_GROUP(gradient_of_6, 6, 2)
GRADIENT_GROUP(gradient_of_2, 2, 4)
GRADIENT_GROUP(gradient_of_1, 1, 4)
GRADIENT_GROUP(narrow_gradient_of_6, 6, 1)
GRADIENT_GROUP(narrow_gradient_of_2, 2, 2)
GRADIENT_GROUP(narrow_gradient_of_1, 1, 2)

// The block's share of the weight gradient for all k classes, six, two and one at a time.
#define GRADIENT_OF_ALL(of_6, of_2, of_1)                                                              \
    do {                                                                                               \
        int64_t c = 0;                                                                                 \
        for (; c + 6 <= k; c += 6) of_6(x, rows, ahead, d, g + c * BLOCK, sums + c * d);               \
        for (; c + 2 <= k; c += 2) of_2(x, rows, ahead, d, g + c * BLOCK, sums + c * d);               \
        for (; c < k; c++) of_1(x, rows, ahead, d, g + c * BLOCK, sums + c * d);                       \
    } while (0)
INLINE void block_gradient(ckpt_isa isa, const float *x, int64_t rows, int64_t ahead, int64_t d, int64_t k,
                           const float *g, float *sums) {
    if (isa == ISA_AVX512) GRADIENT_OF_ALL(gradient_of_6, gradient_of_2, gradient_of_1);
    else GRADIENT_OF_ALL(narrow_gradient_of_6, narrow_gradient_of_2, narrow_gradient_of_1);
}

// Logits are summed in float64 from theta, or in float32 from coarse_w (see ckernels.h); the
// softmax and loss are float64 either way, computed class by class across the block's rows so that
// they vectorise (logits and their gradient are kept class-major for that), with the loss and the
// bias gradient summed per row position over the blocks and only at the end across positions. The
// weight gradient is summed in float32 over FLUSH rows, then added to the float64 gradient: its
// rounding, ~1e-11, is far below any stopping tolerance.
INLINE double ckpt_softmax_regression_pass_body(ckpt_isa isa, const float *x, const int32_t *labels,
                                                const double *weights, int64_t begin, int64_t end, int64_t d,
                                                int64_t k, const double *theta, const float *coarse_w,
                                                double *gradient, double *work, float *scratch) {
    const double *bias = theta + k * d;
    double *z = work, *bias_lanes = work + BLOCK * k;
    float *g = scratch, *sums = scratch + BLOCK * k;
    double loss_lanes[BLOCK] = {};
    memset(gradient, 0, (size_t)(k * d + k) * sizeof(double));
    memset(bias_lanes, 0, (size_t)(BLOCK * k) * sizeof(double));
    memset(sums, 0, (size_t)(k * d) * sizeof(float));
    for (int64_t start = begin; start < end; start += BLOCK) {
        const int64_t rows = end - start < BLOCK ? end - start : BLOCK;
        const float *block = x + start * d;
        const int32_t *y = labels + start;
        const double *s = weights + start;
        int64_t r = 0;
        if (coarse_w) {
            for (; r + ROW_PAIR <= rows; r += ROW_PAIR) coarse_logits_of_pair(isa, coarse_w, d, k, block + r * d, z + r);
            for (; r < rows; r++) coarse_logits_of_row(isa, coarse_w, d, k, block + r * d, z + r);
        } else {
            for (; r + ROW_PAIR <= rows; r += ROW_PAIR) logits_of_pair(isa, theta, d, k, block + r * d, z + r);
            for (; r < rows; r++) logits_of_row(isa, theta, d, k, block + r * d, z + r);
        }

        // −log softmax(z)[label] = peak − z[label] + log Σ exp(z − peak)
        double peak[BLOCK], picked[BLOCK] = {}, total[BLOCK] = {}, scale[BLOCK];
        for (r = 0; r < rows; r++) peak[r] = -INFINITY;
        for (int64_t c = 0; c < k; c++)
            for (r = 0; r < rows; r++) {
                const double v = z[c * BLOCK + r] + bias[c];
                z[c * BLOCK + r] = v;
                peak[r] = v > peak[r] ? v : peak[r];
                picked[r] += y[r] == c ? v : 0;
            }
        for (int64_t c = 0; c < k; c++)
            for (r = 0; r < rows; r++) {
                const double e = exp_nonpositive(z[c * BLOCK + r] - peak[r]);
                z[c * BLOCK + r] = e;
                total[r] += e;
            }
        for (r = 0; r < rows; r++) {
            loss_lanes[r] += s[r] * (peak[r] - picked[r] + log_positive(total[r]));
            scale[r] = s[r] / total[r];
        }
        // ∂loss/∂logit_c = weight · (softmax_c − [c = label])
        for (int64_t c = 0; c < k; c++)
            for (r = 0; r < rows; r++) {
                const double gc = z[c * BLOCK + r] * scale[r] - (y[r] == c ? s[r] : 0.0);
                bias_lanes[c * BLOCK + r] += gc;
                g[c * BLOCK + r] = (float)gc;
            }

        const int64_t after = end - start - rows, ahead = after < BLOCK ? after : BLOCK;
        block_gradient(isa, block, rows, ahead, d, k, g, sums);
        if ((start + rows - begin) % FLUSH == 0 || start + rows == end) {
            for (int64_t j = 0; j < k * d; j++) gradient[j] += sums[j];
            memset(sums, 0, (size_t)(k * d) * sizeof(float));
        }
    }
    for (int64_t c = 0; c < k; c++) gradient[k * d + c] = tree_sum_d(bias_lanes + c * BLOCK, BLOCK);
    return tree_sum_d(loss_lanes, BLOCK);
}

ISA_VERSIONED(double, ckpt_softmax_regression_pass,
              (const float *x, const int32_t *labels, const double *weights, int64_t begin, int64_t end, int64_t d,
               int64_t k, const double *theta, const float *coarse_w, double *gradient, double *work, float *scratch),
              x, labels, weights, begin, end, d, k, theta, coarse_w, gradient, work, scratch)
