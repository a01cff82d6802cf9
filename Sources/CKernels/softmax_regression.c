#include "ckernels.h"
#include "lanes.h"
#include <math.h>
#include <string.h>

// Dot products of one float32 feature row with CLASSES rows of float64 weights. Eight vectors of
// partial sums in every group (4 classes × 16 lanes, 2 × 32, 1 × 64): independent FMA chains
// enough to hide the FMA latency, summed as a tree (lanes.h). The row is widened as it is read,
// once per column for the whole group. Always inlined, so that each clone of the caller compiles
// them for its own instruction set.
#define DOT_GROUP(name, CLASSES, WIDTH)                                                       \
    __attribute__((always_inline)) static inline void name(const double *w, int64_t d, const float *x, double *out) { \
        double acc[CLASSES][WIDTH] = {{0}};                                                   \
        int64_t j = 0;                                                                        \
        for (; j + WIDTH <= d; j += WIDTH)                                                    \
            for (int c = 0; c < CLASSES; c++)                                                 \
                for (int l = 0; l < WIDTH; l++) acc[c][l] += w[c * d + j + l] * (double)x[j + l]; \
        for (int c = 0; c < CLASSES; c++) {                                                   \
            double s = 0;                                                                     \
            for (int64_t t = j; t < d; t++) s += w[c * d + t] * (double)x[t];                 \
            out[c] = s + tree_sum_d(acc[c], WIDTH);                                           \
        }                                                                                     \
    }
DOT_GROUP(dot4, 4, 16)
DOT_GROUP(dot2, 2, 32)
DOT_GROUP(dot1, 1, 64)

// Logits and loss are float64: the line search compares losses that differ by 1e-10 near the
// optimum, below float32's resolution. The weight gradient is summed in float32 over FLUSH rows
// (the row and the [k, d] sums stay in L1, the update is one FMA per feature and class), then
// added to the float64 gradient: its rounding, ~1e-11, is far below any stopping tolerance.
enum { FLUSH = 64 };

MULTIVERSION
double ckpt_softmax_regression_pass(const float *x, const int32_t *labels, const double *weights,
                                    int64_t begin, int64_t end, int64_t d, int64_t k,
                                    const double *theta, double *gradient, double *logits, float *partial) {
    const double *b = theta + k * d;
    memset(gradient, 0, (size_t)(k * d + k) * sizeof(double));
    double loss = 0;
    for (int64_t start = begin; start < end; start += FLUSH) {
        const int64_t stop = end - start < FLUSH ? end : start + FLUSH;
        memset(partial, 0, (size_t)(k * d) * sizeof(float));
        for (int64_t i = start; i < stop; i++) {
            const float *row = x + i * d;
            int64_t c = 0;
            for (; c + 4 <= k; c += 4) dot4(theta + c * d, d, row, logits + c);
            for (; c + 2 <= k; c += 2) dot2(theta + c * d, d, row, logits + c);
            for (; c < k; c++) dot1(theta + c * d, d, row, logits + c);
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
                const double g = weights[i] * (logits[c] / sum - (c == labels[i] ? 1.0 : 0.0));
                gradient[k * d + c] += g;
                const float gf = (float)g;
                float *gw = partial + c * d;
                for (int64_t j = 0; j < d; j++) gw[j] += gf * row[j];
            }
        }
        for (int64_t j = 0; j < k * d; j++) gradient[j] += partial[j];
    }
    return loss;
}
