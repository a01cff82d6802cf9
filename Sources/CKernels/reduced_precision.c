#include "ckernels.h"
#include "lanes.h"
#include <math.h>
#include <string.h>

// Round to nearest, ties to even, on the bits: bf16 is the top half of an f32. NaN becomes the
// canonical quiet NaN 0x7FC0, as PyTorch's scalar cast gives it (and FloatBits.bfloat16).
static inline uint16_t bf16_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint16_t rounded = (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1)) >> 16);
    return (bits & 0x7fffffffu) > 0x7f800000u ? 0x7fc0 : rounded;
}

// f32 → f16 bits, round to nearest even, as FloatBits.half (NumPy's rule): overflow to infinity,
// subnormals rounded on the shifted significand, NaN keeping its top ten payload bits. Written with
// selects rather than branches so that the loops over it vectorise.
static inline uint16_t f16_bits(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    uint32_t sign = (bits >> 16) & 0x8000u, m = bits & 0x7fffffffu;
    uint32_t normal = (m + 0xfffu + ((m >> 13) & 1u) - 0x38000000u) >> 13;
    // Below 2^-14: the significand × 2^(e−150) in units of 2^-24, rounded (shift 14 … 24 there;
    // clamped elsewhere, where the result is not used, to keep the shifts defined).
    int32_t shift = 126 - (int32_t)(m >> 23);
    shift = shift < 1 ? 1 : shift > 31 ? 31 : shift;
    uint32_t significand = (m & 0x7fffffu) | 0x800000u;
    uint32_t kept = significand >> shift, remainder = significand & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    uint32_t subnormal = kept + ((remainder > halfway) | ((remainder == halfway) & kept & 1u));
    uint32_t payload = (m & 0x7fffffu) >> 13;
    uint32_t nan = 0x7c00u | (payload ? payload : 1u);
    uint32_t result = m > 0x7f800000u ? nan : m >= 0x47800000u ? 0x7c00u : m < 0x33000000u ? 0u : m < 0x38800000u ? subnormal : normal;
    return (uint16_t)(sign | result);
}

MULTIVERSION
void ckpt_to_f16(const float *x, uint16_t *out, int64_t count) {
    for (int64_t i = 0; i < count; i++) out[i] = f16_bits(x[i]);
}

MULTIVERSION
void ckpt_quantize_q8_0(const float *x, uint8_t *out, int64_t blocks) {
    for (int64_t b = 0; b < blocks; b++) {
        const float *block = x + b * 32;
        float largest[32];
        for (int i = 0; i < 32; i++) largest[i] = fabsf(block[i]);
        TREE_REDUCE(largest, 32, TREE_MAX);
        float d = largest[0] / 127.0f;
        float inverse = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t scale = f16_bits(d);
        uint8_t *o = out + b * 34;
        o[0] = (uint8_t)(scale & 0xff);
        o[1] = (uint8_t)(scale >> 8);
        int8_t q[32];
        for (int i = 0; i < 32; i++) {
            // roundf (halves away from zero), exactly: v − trunc(v) is exact.
            float v = block[i] * inverse, t = truncf(v);
            q[i] = (int8_t)(int32_t)(t + (fabsf(v - t) >= 0.5f ? copysignf(1.0f, v) : 0.0f));
        }
        memcpy(o + 2, q, 32);
    }
}

MULTIVERSION
void ckpt_rows_to_bf16(const float *x, int64_t ldx, int64_t rows, int64_t n, uint16_t *out, int64_t ldo) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < n; i++) out[r * ldo + i] = bf16_bits(x[r * ldx + i]);
}

void ckpt_to_bf16(const float *x, uint16_t *out, int64_t count) { ckpt_rows_to_bf16(x, count, 1, count, out, count); }

MULTIVERSION
void ckpt_round_to_bf16(const float *x, float *out, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)bf16_bits(x[i]) << 16;
        memcpy(out + i, &bits, 4);
    }
}

void ckpt_from_bf16(const uint16_t *x, float *out, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        uint32_t bits = (uint32_t)x[i] << 16;
        memcpy(out + i, &bits, 4);
    }
}

enum { LANES = 16 };

#define TREE_MIN(a, b) ((b) < (a) ? (b) : (a))

// The lowest and highest value of a row, with 0 among them: sixteen running minima and maxima
// (plain comparisons, which vectorise), then reduced pairwise.
__attribute__((always_inline)) static inline void row_range(const float *restrict row, int64_t k, float *low, float *high) {
    float lo[LANES] = {0}, hi[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= k; i += LANES) {
        for (int l = 0; l < LANES; l++) {
            lo[l] = TREE_MIN(lo[l], row[i + l]);
            hi[l] = TREE_MAX(hi[l], row[i + l]);
        }
    }
    for (; i < k; i++) {
        lo[0] = TREE_MIN(lo[0], row[i]);
        hi[0] = TREE_MAX(hi[0], row[i]);
    }
    TREE_REDUCE(lo, LANES, TREE_MIN);
    TREE_REDUCE(hi, LANES, TREE_MAX);
    *low = lo[0];
    *high = hi[0];
}

MULTIVERSION
void ckpt_quantize_rows(const float *restrict x, int64_t rows, int64_t k, uint8_t *restrict q, float *restrict scales,
                        int32_t *restrict zero_points) {
    for (int64_t r = 0; r < rows; r++) {
        const float *restrict row = x + r * k;
        float low, high;
        row_range(row, k, &low, &high);
        float scale = (high - low) / 255.0f;
        if (!(scale > 0) || !isfinite(scale)) scale = 1;
        float zero = rintf(-low / scale);
        zero = zero < 0 ? 0 : zero > 255 ? 255 : zero;
        float inverse = 1.0f / scale;
        uint8_t *restrict out = q + r * k;
        // rintf rounds to nearest, ties to even (the default rounding mode), and vectorizes.
        for (int64_t i = 0; i < k; i++) {
            float value = rintf(row[i] * inverse) + zero;
            value = value < 0 ? 0 : value > 255 ? 255 : value;
            out[i] = (uint8_t)(int32_t)value;
        }
        scales[r] = scale;
        zero_points[r] = (int32_t)zero;
    }
}

INLINE float dequantized(int32_t sum, int32_t zero, int32_t column_sum, float scale, float column_scale) {
    return (float)(sum - zero * column_sum) * (scale * column_scale);
}

// One row of dequantization; `with_bias` and `accumulate` are constants where it is inlined, so
// each of the four loops is plain arithmetic. (A bias tested inside the loop was compiled to masked
// loads, which from a null bias took a Zen 4 about ten times as long as the loop without them.)
INLINE void dequantize_row(const int32_t *restrict sum, int64_t n, float scale, int32_t zero, const int32_t *restrict column_sums,
                           const float *restrict column_scales, const float *restrict bias, float *restrict out, int with_bias,
                           int accumulate) {
    for (int64_t j = 0; j < n; j++) {
        float value = dequantized(sum[j], zero, column_sums[j], scale, column_scales[j]);
        if (with_bias) value += bias[j];
        out[j] = accumulate ? out[j] + value : value;
    }
}

// A row's sums replaced by their values, element by element (copied through memcpy: the same
// bytes are read as s32 and written as f32).
INLINE void dequantize_row_in_place(char *row, int64_t n, float scale, int32_t zero, const int32_t *restrict column_sums,
                                    const float *restrict column_scales, const float *restrict bias, int with_bias) {
    for (int64_t j = 0; j < n; j++) {
        int32_t sum;
        memcpy(&sum, row + 4 * j, 4);
        float value = dequantized(sum, zero, column_sums[j], scale, column_scales[j]);
        if (with_bias) value += bias[j];
        memcpy(row + 4 * j, &value, 4);
    }
}

MULTIVERSION
void ckpt_dequantize_rows(const int32_t *restrict sums, int64_t rows, int64_t n, const float *restrict row_scales,
                          const int32_t *restrict row_zero_points, const int32_t *restrict column_sums, const float *restrict column_scales,
                          const float *restrict bias, float *restrict y, int64_t ldy, int accumulate) {
    for (int64_t r = 0; r < rows; r++) {
        const int32_t *restrict sum = sums + r * n;
        float *restrict out = y + r * ldy;
        float scale = row_scales[r];
        int32_t zero = row_zero_points[r];
        if (bias && accumulate) dequantize_row(sum, n, scale, zero, column_sums, column_scales, bias, out, 1, 1);
        else if (bias) dequantize_row(sum, n, scale, zero, column_sums, column_scales, bias, out, 1, 0);
        else if (accumulate) dequantize_row(sum, n, scale, zero, column_sums, column_scales, bias, out, 0, 1);
        else dequantize_row(sum, n, scale, zero, column_sums, column_scales, bias, out, 0, 0);
    }
}

MULTIVERSION
void ckpt_dequantize_rows_in_place(void *y, int64_t rows, int64_t n, const float *restrict row_scales, const int32_t *restrict row_zero_points,
                                   const int32_t *restrict column_sums, const float *restrict column_scales, const float *restrict bias) {
    for (int64_t r = 0; r < rows; r++) {
        char *row = (char *)y + r * n * 4;
        if (bias) dequantize_row_in_place(row, n, row_scales[r], row_zero_points[r], column_sums, column_scales, bias, 1);
        else dequantize_row_in_place(row, n, row_scales[r], row_zero_points[r], column_sums, column_scales, bias, 0);
    }
}

MULTIVERSION
void ckpt_quantize_channels(const float *restrict w, int64_t outputs, int64_t inputs, int8_t *restrict values, float *restrict scales) {
    for (int64_t j = 0; j < outputs; j++) {
        const float *restrict row = w + j * inputs;
        float largest[LANES] = {0};
        int64_t i = 0;
        for (; i + LANES <= inputs; i += LANES) {
            for (int l = 0; l < LANES; l++) largest[l] = TREE_MAX(largest[l], fabsf(row[i + l]));
        }
        for (; i < inputs; i++) largest[0] = TREE_MAX(largest[0], fabsf(row[i]));
        TREE_REDUCE(largest, LANES, TREE_MAX);
        float scale = largest[0] > 0 && isfinite(largest[0]) ? largest[0] / 127 : 1;
        scales[j] = scale;
        int8_t *restrict out = values + j * inputs;
        for (i = 0; i < inputs; i++) {
            float q = rintf(row[i] / scale);
            q = q != q ? 0 : q < -127 ? -127 : q > 127 ? 127 : q;
            out[i] = (int8_t)(int32_t)q;
        }
    }
}
