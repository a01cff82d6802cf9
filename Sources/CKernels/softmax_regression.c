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

enum { BLOCK = CKPT_SOFTMAX_REGRESSION_BLOCK, STRIP = 128 };

MULTIVERSION
double ckpt_softmax_regression_pass(const float *x, const int32_t *labels, const double *weights,
                                    int64_t begin, int64_t end, int64_t d, int64_t k,
                                    const double *theta, double *gradient, double *scratch) {
    const double *b = theta + k * d;
    // scratch: rows [BLOCK, d] widened once, then g [BLOCK, k] = ∂loss/∂logits, then k logits.
    double *rows = scratch, *g = scratch + BLOCK * d, *logits = g + BLOCK * k;
    memset(gradient, 0, (size_t)(k * d + k) * sizeof(double));
    double loss = 0;
    for (int64_t start = begin; start < end; start += BLOCK) {
        const int64_t n = end - start < BLOCK ? end - start : BLOCK;
        for (int64_t j = 0; j < n * d; j++) rows[j] = (double)x[start * d + j];
        for (int64_t r = 0; r < n; r++) {
            const double *row = rows + r * d;
            const int64_t i = start + r;
            int64_t c = 0;
            for (; c + 4 <= k; c += 4) dot4(theta + c * d, d, row, logits + c);
            for (; c < k; c++) logits[c] = dot(theta + c * d, row, d);
            double peak = -INFINITY;
            for (c = 0; c < k; c++) {
                logits[c] += b[c];
                if (logits[c] > peak) peak = logits[c];
            }
            const double label_logit = logits[labels[i]];
            double sum = 0;
            for (c = 0; c < k; c++) {
                logits[c] = exp(logits[c] - peak);
                sum += logits[c];
            }
            loss += weights[i] * (peak + log(sum) - label_logit);
            for (c = 0; c < k; c++) {
                // ∂loss/∂logit_c = weight · (softmax_c − [c = label])
                g[r * k + c] = weights[i] * (logits[c] / sum - (c == labels[i] ? 1.0 : 0.0));
                gradient[k * d + c] += g[r * k + c];
            }
        }
        // ∇W [k, d] += gᵀ [k, n] · rows [n, d], in column strips that stay in registers while every
        // row of the block is added (sixteen vectors: enough independent FMA chains to hide latency).
        for (int64_t c = 0; c < k; c++) {
            double *gw = gradient + c * d;
            int64_t j = 0;
            for (; j + STRIP <= d; j += STRIP) {
                double acc[STRIP];
                for (int l = 0; l < STRIP; l++) acc[l] = gw[j + l];
                for (int64_t r = 0; r < n; r++) {
                    const double gr = g[r * k + c];
                    for (int l = 0; l < STRIP; l++) acc[l] += gr * rows[r * d + j + l];
                }
                for (int l = 0; l < STRIP; l++) gw[j + l] = acc[l];
            }
            for (; j < d; j++)
                for (int64_t r = 0; r < n; r++) gw[j] += g[r * k + c] * rows[r * d + j];
        }
    }
    return loss;
}
