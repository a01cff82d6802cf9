#include "ckernels.h"
#include "lanes.h"
#include <immintrin.h>

// Chains of multiply-adds on registers alone. Twelve independent accumulators outnumber a
// multiply-add's latency (4–5 cycles) times the units that issue it (2), so a loop runs at the
// issue rate. The empty asm hides each accumulator from the optimiser, which could otherwise
// fold a chain of constant multiply-adds into one multiplication.
enum { CHAINS = 12 };
#define OPAQUE(v) __asm__ volatile("" : "+v"(v))

// Every product is 2^-20 (f32 and bf16) or 1 · 2 (int8), so each lane's sum is exact and the
// checksum is steps × CHAINS × multiply-adds per instruction × that product.
#define PEAK_LOOP(VEC, zero, step, lane_sum)              \
    VEC acc[CHAINS];                                      \
    UNROLLED for (int c = 0; c < CHAINS; c++) acc[c] = zero; \
    for (int64_t s = 0; s < steps; s++) {                 \
        UNROLLED for (int c = 0; c < CHAINS; c++) {       \
            acc[c] = step;                                \
            OPAQUE(acc[c]);                               \
        }                                                 \
    }                                                     \
    double sum = 0;                                       \
    for (int c = 0; c < CHAINS; c++) sum += lane_sum(acc[c]); \
    return sum;

static const float product_f32 = 0x1p-20f;

__attribute__((target("avx512f"))) static double peak_f32_avx512(int64_t steps) {
    __m512 one = _mm512_set1_ps(1.0f), p = _mm512_set1_ps(product_f32);
    PEAK_LOOP(__m512, _mm512_setzero_ps(), _mm512_fmadd_ps(one, p, acc[c]), (double)_mm512_reduce_add_ps)
}

__attribute__((target("avx2,fma"))) static float sum_f32x8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)));
}

__attribute__((target("avx2,fma"))) static double peak_f32_avx2(int64_t steps) {
    __m256 one = _mm256_set1_ps(1.0f), p = _mm256_set1_ps(product_f32);
    PEAK_LOOP(__m256, _mm256_setzero_ps(), _mm256_fmadd_ps(one, p, acc[c]), sum_f32x8)
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) static double peak_bf16(int64_t steps) {
    // bf16 bits of 1 and of 2^-20: each VDPBF16PS lane adds two products of 2^-20.
    __m512bh one = (__m512bh)_mm512_set1_epi16(0x3f80), p = (__m512bh)_mm512_set1_epi16(0x3580);
    PEAK_LOOP(__m512, _mm512_setzero_ps(), _mm512_dpbf16_ps(acc[c], one, p), (double)_mm512_reduce_add_ps)
}

__attribute__((target("avx512f,avx512vnni"))) static double peak_int8(int64_t steps) {
    // Unsigned 1 times signed 2, four products a lane.
    __m512i one = _mm512_set1_epi8(1), two = _mm512_set1_epi8(2);
    PEAK_LOOP(__m512i, _mm512_setzero_si512(), _mm512_dpbusd_epi32(acc[c], one, two), (double)_mm512_reduce_add_epi32)
}

int ckpt_vector_peak_multiply_adds(ckpt_peak_precision precision) {
    __builtin_cpu_init();
    switch (precision) {
    case CKPT_PEAK_F32:
        return __builtin_cpu_supports("avx512f") ? 16 : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 8 : 0;
    case CKPT_PEAK_BF16:
        return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") ? 32 : 0;
    case CKPT_PEAK_INT8:
        return __builtin_cpu_supports("avx512vnni") ? 64 : 0;
    }
    return 0;
}

double ckpt_vector_peak_run(ckpt_peak_precision precision, int64_t steps) {
    switch (ckpt_vector_peak_multiply_adds(precision)) {
    case 16: return peak_f32_avx512(steps);
    case 8: return peak_f32_avx2(steps);
    case 32: return peak_bf16(steps);
    case 64: return peak_int8(steps);
    }
    return 0;
}

int ckpt_vector_peak_chains(void) { return CHAINS; }
