#include "ckernels.h"
#include <immintrin.h>

// CRC-32 (zlib's: reflected polynomial 0xEDB88320) by carry-less multiplication, after Intel's
// "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ": four 128-bit lanes fold 64 bytes
// per step, fold into one lane, then reduce 128 → 64 → 32 bits (Barrett). The constants are
// x^k mod P for the fold distances, bit-reflected, as in that paper's appendix.

int ckpt_crc32_fold_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}

__attribute__((target("pclmul,sse4.1")))
uint32_t ckpt_crc32_fold(uint32_t crc, const uint8_t *data, int64_t length) {
    const __m128i fold512 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);   // x^(512+32), x^(512−32)
    const __m128i fold128 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);   // x^(128+32), x^(128−32)
    const __m128i fold64 = _mm_set_epi64x(0, 0x0163cd6124);               // x^64 mod P
    const __m128i barrett = _mm_set_epi64x(0x01f7011641, 0x01db710641);   // μ, P
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i a = _mm_loadu_si128((const __m128i *)(data + 0)), b = _mm_loadu_si128((const __m128i *)(data + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(data + 32)), d = _mm_loadu_si128((const __m128i *)(data + 48));
    a = _mm_xor_si128(a, _mm_cvtsi32_si128((int)~crc));
    data += 64;
    length -= 64;

#define FOLD(x, k, next) _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x11), _mm_clmulepi64_si128(x, k, 0x00)), next)
    for (; length >= 64; data += 64, length -= 64) {
        a = FOLD(a, fold512, _mm_loadu_si128((const __m128i *)(data + 0)));
        b = FOLD(b, fold512, _mm_loadu_si128((const __m128i *)(data + 16)));
        c = FOLD(c, fold512, _mm_loadu_si128((const __m128i *)(data + 32)));
        d = FOLD(d, fold512, _mm_loadu_si128((const __m128i *)(data + 48)));
    }
    a = FOLD(a, fold128, b);
    a = FOLD(a, fold128, c);
    a = FOLD(a, fold128, d);
    for (; length >= 16; data += 16, length -= 16) a = FOLD(a, fold128, _mm_loadu_si128((const __m128i *)data));
#undef FOLD

    // 128 → 64 bits, then 64 → 32 (the low 32 bits times x^64 mod P).
    __m128i t = _mm_clmulepi64_si128(a, fold128, 0x10);
    a = _mm_xor_si128(_mm_srli_si128(a, 8), t);
    t = _mm_srli_si128(a, 4);
    a = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(a, low32), fold64, 0x00), t);
    // Barrett reduction to 32 bits.
    t = _mm_clmulepi64_si128(_mm_and_si128(a, low32), barrett, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
    a = _mm_xor_si128(a, t);
    return ~(uint32_t)_mm_extract_epi32(a, 1);
}
