#include "ckernels.h"
#include <math.h>
#include <string.h>

// Compiled once per instruction set and chosen at load time (GCC/Clang function multiversioning),
// so one binary runs everywhere and uses AVX-512 or AVX2 where the CPU has them.
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))

// Four classes at a time, sixteen partial sums each: independent FMA chains hide the FMA latency,
// and the partial sums let the compiler vectorise the reductions without -ffast-math. Always
// inlined, so that each clone of the caller compiles them for its own instruction set.
__attribute__((always_inline)) static inline void dot4(const double *w, int64_t d, const double *x, double *out) {
    double acc[4][16] = {{0}};
    int64_t j = 0;
    for (; j + 16 <= d; j += 16)
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 16; l++) acc[c][l] += w[c * d + j + l] * x[j + l];
    for (int c = 0; c < 4; c++) {
        double s = 0;
        for (int64_t t = j; t < d; t++) s += w[c * d + t] * x[t];
        for (int l = 0; l < 16; l++) s += acc[c][l];
        out[c] = s;
    }
}

__attribute__((always_inline)) static inline double dot(const double *w, const double *x, int64_t d) {
    double acc[16] = {0};
    int64_t j = 0;
    for (; j + 16 <= d; j += 16)
        for (int l = 0; l < 16; l++) acc[l] += w[j + l] * x[j + l];
    double s = 0;
    for (; j < d; j++) s += w[j] * x[j];
    for (int l = 0; l < 16; l++) s += acc[l];
    return s;
}

MULTIVERSION
double ckpt_softmax_regression_pass(const float *x, const int32_t *labels, const double *weights,
                                    int64_t begin, int64_t end, int64_t d, int64_t k,
                                    const double *theta, double *gradient, double *scratch) {
    const double *b = theta + k * d;
    double *logits = scratch, *row = scratch + k;   // row: x[i] widened once
    memset(gradient, 0, (size_t)(k * d + k) * sizeof(double));
    double loss = 0;
    for (int64_t i = begin; i < end; i++) {
        for (int64_t j = 0; j < d; j++) row[j] = (double)x[i * d + j];
        int64_t c = 0;
        for (; c + 4 <= k; c += 4) dot4(theta + c * d, d, row, logits + c);
        for (; c < k; c++) logits[c] = dot(theta + c * d, row, d);
        double peak = -INFINITY;
        for (c = 0; c < k; c++) {
            logits[c] += b[c];
            if (logits[c] > peak) peak = logits[c];
        }
        double sum = 0;
        const double label_logit = logits[labels[i]];
        for (c = 0; c < k; c++) {
            logits[c] = exp(logits[c] - peak);
            sum += logits[c];
        }
        loss += weights[i] * (peak + log(sum) - label_logit);
        for (c = 0; c < k; c++) {
            // ∂loss/∂logit_c = weight · (softmax_c − [c = label])
            const double g = weights[i] * (logits[c] / sum - (c == labels[i] ? 1.0 : 0.0));
            double *gw = gradient + c * d;
            for (int64_t j = 0; j < d; j++) gw[j] += g * row[j];
            gradient[k * d + c] += g;
        }
    }
    return loss;
}
