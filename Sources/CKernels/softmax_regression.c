#include "ckernels.h"
#include "lanes.h"
#include <math.h>
#include <string.h>

// The pass takes rows in blocks of CKPT_SOFTMAX_REGRESSION_BLOCK (16 rows of 384 float32 features:
// 24 KB, in L1 with the weights): the block's logits, then its softmax and loss, then its share of
// the weight gradient, while the next block is prefetched. The logits and the gradient are both
// register-blocked so that each loaded vector feeds several FMAs, and the exp and log run over the
// whole block as branch-free loops that vectorise.
enum { BLOCK = CKPT_SOFTMAX_REGRESSION_BLOCK, ROW_PAIR = 2, FLUSH = 4 * BLOCK };

// GCC/Clang vector types: each clone of the pass lowers them to its own instruction set (one
// AVX-512 register, two AVX2 registers, four SSE registers). Only always-inlined helpers take them,
// so no vector crosses a call boundary and the ABI note clang gives for the narrower clones does
// not apply.
#pragma clang diagnostic ignored "-Wpsabi"
typedef float f32x16 __attribute__((vector_size(64)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef double f64x8 __attribute__((vector_size(64)));
typedef double f64x4 __attribute__((vector_size(32)));

#define INLINE __attribute__((always_inline)) static inline

INLINE f32x16 load_f32x16(const float *p) { f32x16 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store_f32x16(float *p, f32x16 v) { memcpy(p, &v, sizeof v); }
INLINE f64x8 load_f64x8(const double *p) { f64x8 v; memcpy(&v, p, sizeof v); return v; }
INLINE f64x8 widen_f32x8(const float *p) { f32x8 v; memcpy(&v, p, sizeof v); return __builtin_convertvector(v, f64x8); }

INLINE double sum_f64x8(f64x8 v) {
    const f64x4 half = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
    return (half[0] + half[2]) + (half[1] + half[3]);
}
INLINE double sum_f32x16(f32x16 v) {
    const f32x8 half = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                       __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    return sum_f64x8(__builtin_convertvector(half, f64x8));
}

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

// Logits of ROWS consecutive rows for CLASSES classes, summed in T (VEC: LANES of them): one
// accumulator vector per (row, class); each weight vector is loaded once for all the rows, each
// row's features loaded (and widened to T) once for all the classes. Written to z[r·k + c].
#define LOGIT_GROUP(name, T, VEC, LANES, LOAD_X, LOAD_W, SUM, ROWS, CLASSES)                          \
    INLINE void name(const T *w, int64_t d, const float *x, double *z, int64_t k) {                    \
        VEC acc[ROWS][CLASSES] = {};                                                                   \
        int64_t j = 0;                                                                                 \
        for (; j + LANES <= d; j += LANES) {                                                           \
            VEC xv[ROWS];                                                                              \
            for (int r = 0; r < ROWS; r++) xv[r] = LOAD_X(x + r * d + j);                              \
            for (int c = 0; c < CLASSES; c++) {                                                        \
                const VEC wv = LOAD_W(w + c * d + j);                                                  \
                for (int r = 0; r < ROWS; r++) acc[r][c] += wv * xv[r];                                \
            }                                                                                          \
        }                                                                                              \
        /* Unrolled and kept scalar: vectorising across classes would gather the accumulators. */    \
        _Pragma("clang loop vectorize(disable) unroll(full)")                                         \
        for (int r = 0; r < ROWS; r++)                                                                 \
            _Pragma("clang loop vectorize(disable) unroll(full)")                                     \
            for (int c = 0; c < CLASSES; c++) {                                                        \
                double tail = 0;                                                                       \
                for (int64_t t = j; t < d; t++) tail += (double)w[c * d + t] * x[r * d + t];           \
                z[r * k + c] = SUM(acc[r][c]) + tail;                                                  \
            }                                                                                          \
    }

// All k logits of ROWS rows, classes taken six, two and one at a time (six keeps twelve
// accumulators for a row pair: registers to spare on AVX-512, no spills).
#define LOGIT_ROWS(name, T, VEC, LANES, LOAD_X, LOAD_W, SUM, ROWS)                                     \
    LOGIT_GROUP(name##_6, T, VEC, LANES, LOAD_X, LOAD_W, SUM, ROWS, 6)                                 \
    LOGIT_GROUP(name##_2, T, VEC, LANES, LOAD_X, LOAD_W, SUM, ROWS, 2)                                 \
    LOGIT_GROUP(name##_1, T, VEC, LANES, LOAD_X, LOAD_W, SUM, ROWS, 1)                                 \
    INLINE void name(const T *w, int64_t d, int64_t k, const float *x, double *z) {                    \
        int64_t c = 0;                                                                                 \
        for (; c + 6 <= k; c += 6) name##_6(w + c * d, d, x, z + c, k);                                \
        for (; c + 2 <= k; c += 2) name##_2(w + c * d, d, x, z + c, k);                                \
        for (; c < k; c++) name##_1(w + c * d, d, x, z + c, k);                                        \
    }
LOGIT_ROWS(logits_of_pair, double, f64x8, 8, widen_f32x8, load_f64x8, sum_f64x8, ROW_PAIR)
LOGIT_ROWS(logits_of_row, double, f64x8, 8, widen_f32x8, load_f64x8, sum_f64x8, 1)
LOGIT_ROWS(coarse_logits_of_pair, float, f32x16, 16, load_f32x16, load_f32x16, sum_f32x16, ROW_PAIR)
LOGIT_ROWS(coarse_logits_of_row, float, f32x16, 16, load_f32x16, load_f32x16, sum_f32x16, 1)

// The block's share of the weight gradient, Σ_r g[r][c]·x[r], for CLASSES classes, 32 columns at a
// time: 2 × CLASSES float32 vectors summed over the block's rows in registers, then added to the
// float32 sums once. The same chunk of the next block's rows (`ahead` of them) is prefetched as
// this one is read.
#define GRADIENT_GROUP(name, CLASSES)                                                                 \
    INLINE void name(const float *x, int64_t rows, int64_t ahead, int64_t d, const float *g, int64_t k, float *sums) { \
        int64_t j = 0;                                                                                 \
        for (; j + 32 <= d; j += 32) {                                                                 \
            f32x16 acc[CLASSES][2] = {};                                                               \
            for (int64_t r = 0; r < rows; r++) {                                                       \
                const f32x16 low = load_f32x16(x + r * d + j), high = load_f32x16(x + r * d + j + 16); \
                if (r < ahead) {                                                                       \
                    __builtin_prefetch(x + (r + BLOCK) * d + j);                                       \
                    __builtin_prefetch(x + (r + BLOCK) * d + j + 16);                                  \
                }                                                                                      \
                for (int c = 0; c < CLASSES; c++) {                                                    \
                    acc[c][0] += g[r * k + c] * low;                                                   \
                    acc[c][1] += g[r * k + c] * high;                                                  \
                }                                                                                      \
            }                                                                                          \
            for (int c = 0; c < CLASSES; c++) {                                                        \
                store_f32x16(sums + c * d + j, load_f32x16(sums + c * d + j) + acc[c][0]);             \
                store_f32x16(sums + c * d + j + 16, load_f32x16(sums + c * d + j + 16) + acc[c][1]);   \
            }                                                                                          \
        }                                                                                              \
        for (; j < d; j++)                                                                             \
            for (int c = 0; c < CLASSES; c++) {                                                        \
                float s = 0;                                                                           \
                for (int64_t r = 0; r < rows; r++) s += g[r * k + c] * x[r * d + j];                   \
                sums[c * d + j] += s;                                                                  \
            }                                                                                          \
    }
GRADIENT_GROUP(gradient_of_6, 6)
GRADIENT_GROUP(gradient_of_2, 2)
GRADIENT_GROUP(gradient_of_1, 1)

// Logits are summed in float64 from theta, or in float32 from coarse_w (see ckernels.h); the
// softmax and loss are float64 either way. The weight gradient is summed in float32 over FLUSH
// rows, then added to the float64 gradient: its rounding, ~1e-11, is far below any stopping
// tolerance.
MULTIVERSION
double ckpt_softmax_regression_pass(const float *x, const int32_t *labels, const double *weights,
                                    int64_t begin, int64_t end, int64_t d, int64_t k,
                                    const double *theta, const float *coarse_w, double *gradient, double *z,
                                    float *scratch) {
    const double *bias = theta + k * d;
    float *g = scratch, *sums = scratch + BLOCK * k;
    memset(gradient, 0, (size_t)(k * d + k) * sizeof(double));
    memset(sums, 0, (size_t)(k * d) * sizeof(float));
    double loss = 0;
    for (int64_t start = begin; start < end; start += BLOCK) {
        const int64_t rows = end - start < BLOCK ? end - start : BLOCK;
        const float *block = x + start * d;
        int64_t r = 0;
        if (coarse_w) {
            for (; r + ROW_PAIR <= rows; r += ROW_PAIR) coarse_logits_of_pair(coarse_w, d, k, block + r * d, z + r * k);
            for (; r < rows; r++) coarse_logits_of_row(coarse_w, d, k, block + r * d, z + r * k);
        } else {
            for (; r + ROW_PAIR <= rows; r += ROW_PAIR) logits_of_pair(theta, d, k, block + r * d, z + r * k);
            for (; r < rows; r++) logits_of_row(theta, d, k, block + r * d, z + r * k);
        }

        // −log softmax(z)[label] = peak − z[label] + log Σ exp(z − peak)
        for (r = 0; r < rows; r++) {
            double *zr = z + r * k, peak = -INFINITY;
            for (int64_t c = 0; c < k; c++) {
                zr[c] += bias[c];
                peak = zr[c] > peak ? zr[c] : peak;
            }
            loss += weights[start + r] * (peak - zr[labels[start + r]]);
            for (int64_t c = 0; c < k; c++) zr[c] -= peak;
        }
        for (int64_t i = 0; i < rows * k; i++) z[i] = exp_nonpositive(z[i]);
        double sums_of_exp[BLOCK], logs[BLOCK];
        for (r = 0; r < rows; r++) {
            double s = 0;
            for (int64_t c = 0; c < k; c++) s += z[r * k + c];
            sums_of_exp[r] = s;
        }
        for (r = 0; r < rows; r++) logs[r] = log_positive(sums_of_exp[r]);
        for (r = 0; r < rows; r++) {
            const double weight = weights[start + r], scale = weight / sums_of_exp[r];
            const int32_t label = labels[start + r];
            loss += weight * logs[r];
            for (int64_t c = 0; c < k; c++) {
                // ∂loss/∂logit_c = weight · (softmax_c − [c = label])
                const double gc = z[r * k + c] * scale - (c == label ? weight : 0.0);
                gradient[k * d + c] += gc;
                g[r * k + c] = (float)gc;
            }
        }

        const int64_t after = end - start - rows, ahead = after < BLOCK ? after : BLOCK;
        int64_t c = 0;
        for (; c + 6 <= k; c += 6) gradient_of_6(block, rows, ahead, d, g + c, k, sums + c * d);
        for (; c + 2 <= k; c += 2) gradient_of_2(block, rows, ahead, d, g + c, k, sums + c * d);
        for (; c < k; c++) gradient_of_1(block, rows, ahead, d, g + c, k, sums + c * d);
        if ((start + rows - begin) % FLUSH == 0 || start + rows == end) {
            for (int64_t j = 0; j < k * d; j++) gradient[j] += sums[j];
            memset(sums, 0, (size_t)(k * d) * sizeof(float));
        }
    }
    return loss;
}
