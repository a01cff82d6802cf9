#include "ckernels.h"
#include "lanes.h"
#include <math.h>
#include <stdbool.h>

enum { LANES = 16 };

// A loop whose output element i depends only on the inputs' elements i, and whose output may be
// one of its inputs (in place): said to the vectoriser, whose overlap check at run time would
// otherwise send every in-place call to its scalar loop.
#define ELEMENTWISE _Pragma("clang loop vectorize(assume_safety)")

// e^x: x = k·ln2 + r with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^k through the exponent
// bits; within 2 ulp on [-87, 88] (inputs outside are clamped). k is rounded by adding 1.5·2^23,
// two operations where a rounding by compare, select and conversion took five.
__attribute__((always_inline)) static inline float exp_poly(float x) {
    float clamped = fminf(fmaxf(x, -87.3f), 88.7f);
    // The sum's low bits hold k (rounded to nearest, ties to even).
    const float shifter = 12582912.0f;
    float shifted = clamped * 1.442695041f + shifter;
    float kf = shifted - shifter;
    union { float f; int32_t i; } bits = { .f = shifted };
    int32_t k = bits.i - 0x4b400000;
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

// 1 + tanh(z) = 2 − 2 / (e^2z + 1)
__attribute__((always_inline)) static inline float one_plus_tanh(float z) { return 2 - 2 / (exp_poly(2 * z) + 1); }

__attribute__((always_inline)) static inline float gelu_tanh(float v) {
    return 0.5f * v * one_plus_tanh(0.79788456080286536f * (v + 0.044715f * v * v * v));
}

// erf(u) = u·P(u²)/Q(u²) on [−4, 4] (±1 beyond, within 2e-8), P of degree 6 and Q of degree 4,
// fitted for the least largest error (tools/fit_erf.py). In f32: within 3.5e-7, and within 6.6e-7
// of erf(u) relative to it. Half the time per GELU of Abramowitz & Stegun's 7.1.26 with e^(−u²).
__attribute__((always_inline)) static inline float erf_rational(float u) {
    float x = fminf(fmaxf(u, -4.0f), 4.0f), x2 = x * x;
    float p = 1.9217152952277772e-08f;
    p = p * x2 - 1.9902483151430783e-06f;
    p = p * x2 + 0.00015552235445774978f;
    p = p * x2 + 0.00429248528079087f;
    p = p * x2 + 0.05243168171872226f;
    p = p * x2 + 0.2139316424840104f;
    p = p * x2 + 1.1283786776044669f;
    float q = 0.001097898018119397f;
    q = q * x2 + 0.015549944858313578f;
    q = q * x2 + 0.12079417165259891f;
    q = q * x2 + 0.5229196412434941f;
    q = q * x2 + 1;
    return x * p / q;
}

__attribute__((always_inline)) static inline float gelu_erf(float v) { return 0.5f * v * (1 + erf_rational(v * 0.70710678118654752f)); }

// One loop per activation, so that each vectorises on its own; the bias (a matrix product's,
// added here rather than copied into the output before the product) is read per column.
#define BIAS_ACTIVATION_LOOP(f)                                         \
    for (int64_t r = 0; r < rows; r++) {                                \
        float *row = x + r * n;                                         \
        if (bias)                                                       \
            for (int64_t i = 0; i < n; i++) row[i] = f(row[i] + bias[i]); \
        else                                                            \
            for (int64_t i = 0; i < n; i++) row[i] = f(row[i]);         \
    }
#define RELU(v) fmaxf(v, 0.0f)
#define TANH(v) (one_plus_tanh(v) - 1)

MULTIVERSION
void ckpt_bias_activation(float *x, int64_t rows, int64_t n, const float *bias, ckpt_activation activation) {
    switch (activation) {
    case CKPT_GELU_ERF: BIAS_ACTIVATION_LOOP(gelu_erf); break;
    case CKPT_GELU_TANH: BIAS_ACTIVATION_LOOP(gelu_tanh); break;
    case CKPT_RELU: BIAS_ACTIVATION_LOOP(RELU); break;
    case CKPT_TANH: BIAS_ACTIVATION_LOOP(TANH); break;
    }
}

// The largest entry of row[0 ..< n], -∞ if none (a plain comparison: no NaN is the peak): whole
// blocks of LANES, then the rest as one block masked past n when `masked`, else one by one. Written
// without a branch between the two ways and apart from the exponentials' pass: in either of those
// shapes the sixteen running maxima were compiled to pairs of lanes rather than one vector.
__attribute__((always_inline)) static inline float row_peak(const float *row, int64_t n, int64_t whole, bool masked) {
    float peaks[LANES];
    for (int l = 0; l < LANES; l++) peaks[l] = -INFINITY;
    for (int64_t i = 0; i < whole; i += LANES)
        for (int l = 0; l < LANES; l++) peaks[l] = TREE_MAX(peaks[l], row[i + l]);
    int in_block = masked ? (int)(n - whole) : 0;
    int64_t one_by_one = masked ? n : whole;
    for (int l = 0; l < LANES; l++) {
        float v = l < in_block ? row[whole + l] : -INFINITY;
        peaks[l] = TREE_MAX(peaks[l], v);
    }
    for (int64_t i = one_by_one; i < n; i++) peaks[0] = TREE_MAX(peaks[0], row[i]);
    TREE_REDUCE(peaks, LANES, TREE_MAX);
    return peaks[0];
}

// Whole blocks of LANES up to n, then one block masked past n when the stride has room for it
// (its entries past n are read but given no weight), so that a row of 24 keys in a stride of 32 is
// two vector steps rather than one and eight scalar ones; only when the stride has no room is
// there a scalar remainder. Only that last block is masked, and the peak is a plain comparison
// rather than fmaxf (neither lets a NaN score be the peak): with every block masked and fmaxf's
// NaN rules in the loop, a row took twice as long (1.5 against 0.74 ns a key at 512 keys).
MULTIVERSION
void ckpt_softmax_rows(float *x, int64_t rows, int64_t n, int64_t stride) {
    int64_t whole = n / LANES * LANES;
    int keys = (int)(n - whole);  // in the masked block
    bool masked = keys > 0 && whole + LANES <= stride;
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * stride;
        float peak = row_peak(row, n, whole, masked);
        float sums[LANES] = {0};
        for (int64_t i = 0; i < whole; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float e = exp_poly(row[i + l] - peak);
                row[i + l] = e;
                sums[l] += e;
            }
        if (masked)
            for (int l = 0; l < LANES; l++) {
                bool key = l < keys;
                float e = exp_poly(key ? row[whole + l] - peak : 0);  // 0, not the unset entry: no NaN or subnormal in flight
                e = key ? e : 0;
                row[whole + l] = e;
                sums[l] += e;
            }
        else
            for (int64_t i = whole; i < n; i++) {
                row[i] = exp_poly(row[i] - peak);
                sums[0] += row[i];
            }
        float sum = tree_sum_f(sums, LANES);
        float inverse = n > 0 ? 1 / sum : 0;  // a row with no keys stays all zeros (not 0 · ∞)
        // Whole blocks of LANES, the masked one too (its entries past n hold 0 from the pass above):
        // one vector operation each. A plain loop's vector body took four vectors at a time, so a
        // row of fewer than 64 keys ran its scalar remainder (24 keys: 41 ns a row, 24 ns in
        // blocks). The loop over the blocks is kept from the vectoriser, which made it gathers and
        // scatters across the blocks.
        int64_t scaled = masked ? whole + LANES : whole, i = 0;
        _Pragma("clang loop vectorize(disable)")
        for (; i < scaled; i += LANES)
            for (int l = 0; l < LANES; l++) row[i + l] *= inverse;
        for (; i < n; i++) row[i] *= inverse;
        for (; i < stride; i++) row[i] = 0;
    }
}

MULTIVERSION
void ckpt_layer_norm(const float *x, const float *bias, float *y, int64_t rows, int64_t n, const float *gamma, const float *beta,
                     float epsilon) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * n;
        float *out = y + r * n;
        // x + bias is written out first, and the statistics read it back.
        const float *v = row;
        if (bias) {
            ELEMENTWISE for (int64_t i = 0; i < n; i++) out[i] = row[i] + bias[i];
            v = out;
        }
        float sums[LANES] = {0};
        int64_t i = 0;
        for (; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) sums[l] += v[i + l];
        float mean = 0;
        for (; i < n; i++) mean += v[i];
        mean += tree_sum_f(sums, LANES);
        mean /= (float)n;
        float squares[LANES] = {0};
        for (i = 0; i + LANES <= n; i += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = v[i + l] - mean;
                squares[l] += d * d;
            }
        float variance = 0;
        for (; i < n; i++) variance += (v[i] - mean) * (v[i] - mean);
        variance += tree_sum_f(squares, LANES);
        variance /= (float)n;
        float scale = 1 / sqrtf(variance + epsilon);
        ELEMENTWISE for (i = 0; i < n; i++) out[i] = (v[i] - mean) * scale * gamma[i] + beta[i];
    }
}
