#include "ckernels.h"
#include <math.h>

// Compiled once per instruction set and chosen at load time (see softmax_regression.c). The loops
// are plain arithmetic with no calls, so each clone vectorises them for its own vector width;
// reductions keep sixteen partial results so they vectorise without -ffast-math.
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
enum { LANES = 16 };

// e^x: x = k·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^k through the exponent
// bits; within 2 ulp on [-87, 88] (inputs outside are clamped).
__attribute__((always_inline)) static inline float exp_poly(float x) {
    float clamped = fminf(fmaxf(x, -87.3f), 88.7f);
    float scaled = clamped * 1.442695041f;
    int32_t k = (int32_t)(scaled + (scaled < 0 ? -0.5f : 0.5f));
    float kf = (float)k;
    float r = clamped - kf * 0.693145752f - kf * 1.42860677e-6f;
    float p = 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1;
    p = p * r + 1;
    union { uint32_t u; float f; } two_k = { .u = (uint32_t)(k + 127) << 23 };
    return p * two_k.f;
}

MULTIVERSION
void ckpt_gelu_tanh(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float z = 0.79788456080286536f * (v + 0.044715f * v * v * v);
        x[i] = 0.5f * v * (2 - 2 / (exp_poly(2 * z) + 1));  // 1 + tanh(z) = 2 − 2 / (e^2z + 1)
    }
}

MULTIVERSION
void ckpt_gelu_erf(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float u = v * 0.70710678118654752f, a = fabsf(u);
        // erf by Abramowitz & Stegun 7.1.26: 1 − poly(t)·e^(−a²), t = 1 / (1 + 0.3275911·a)
        float t = 1 / (1 + 0.3275911f * a);
        float p = 1.061405429f;
        p = p * t - 1.453152027f;
        p = p * t + 1.421413741f;
        p = p * t - 0.284496736f;
        p = p * t + 0.254829592f;
        float e = 1 - p * t * exp_poly(-a * a);
        x[i] = 0.5f * v * (1 + (u < 0 ? -e : e));
    }
}

MULTIVERSION
void ckpt_softmax_rows(float *x, int64_t rows, int64_t n, int64_t stride) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
        float peaks[LANES];
        for (int l = 0; l < LANES; l++) peaks[l] = -INFINITY;
        int64_t i = 0;
        for (; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) peaks[l] = fmaxf(peaks[l], row[i + l]);
        float peak = -INFINITY;
        for (; i < n; i++) peak = fmaxf(peak, row[i]);
        for (int l = 0; l < LANES; l++) peak = fmaxf(peak, peaks[l]);
        float sums[LANES] = {0};
        for (i = 0; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float e = exp_poly(row[i + l] - peak);
                row[i + l] = e;
                sums[l] += e;
            }
        float sum = 0;
        for (; i < n; i++) {
            row[i] = exp_poly(row[i] - peak);
            sum += row[i];
        }
        for (int l = 0; l < LANES; l++) sum += sums[l];
        float inverse = 1 / sum;
        for (i = 0; i < n; i++) row[i] *= inverse;
        for (; i < stride; i++) row[i] = 0;
    }
}

MULTIVERSION
void ckpt_layer_norm(const float *x, float *y, int64_t rows, int64_t n, const float *gamma, const float *beta, float epsilon) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * n;
        float *out = y + r * n;
        float sums[LANES] = {0};
        int64_t i = 0;
        for (; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) sums[l] += row[i + l];
        float mean = 0;
        for (; i < n; i++) mean += row[i];
        for (int l = 0; l < LANES; l++) mean += sums[l];
        mean /= (float)n;
        float squares[LANES] = {0};
        for (i = 0; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = row[i + l] - mean;
                squares[l] += d * d;
            }
        float variance = 0;
        for (; i < n; i++) variance += (row[i] - mean) * (row[i] - mean);
        for (int l = 0; l < LANES; l++) variance += squares[l];
        variance /= (float)n;
        float scale = 1 / sqrtf(variance + epsilon);
        for (i = 0; i < n; i++) out[i] = (row[i] - mean) * scale * gamma[i] + beta[i];
    }
}
