#include "ckernels.h"
#include "lanes.h"
#include <immintrin.h>
#include <stdbool.h>

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

typedef double (*peak_loop)(int64_t steps);

// The loop of `precision` this CPU runs, and the multiply-adds one of its instructions does;
// NULL and 0 where the CPU lacks the instruction.
static peak_loop loop_of(ckpt_peak_precision precision, int *multiply_adds) {
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f");
    peak_loop loop = NULL;
    *multiply_adds = 0;
    switch (precision) {
    case CKPT_PEAK_F32:
        if (avx512) loop = peak_f32_avx512, *multiply_adds = 16;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) loop = peak_f32_avx2, *multiply_adds = 8;
        break;
    case CKPT_PEAK_BF16:
        if (__builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw")) loop = peak_bf16, *multiply_adds = 32;
        break;
    case CKPT_PEAK_INT8:
        if (avx512 && __builtin_cpu_supports("avx512vnni")) loop = peak_int8, *multiply_adds = 64;
        break;
    }
    return loop;
}

int ckpt_vector_peak_multiply_adds(ckpt_peak_precision precision) {
    int multiply_adds;
    loop_of(precision, &multiply_adds);
    return multiply_adds;
}

double ckpt_vector_peak_run(ckpt_peak_precision precision, int64_t steps) {
    int multiply_adds;
    peak_loop loop = loop_of(precision, &multiply_adds);
    return loop ? loop(steps) : 0;
}

int ckpt_vector_peak_chains(void) { return CHAINS; }
