#ifndef CKPT_LANES_H
#define CKPT_LANES_H

// What the kernels share: how they are compiled, and how they reduce their partial results.

#define INLINE __attribute__((always_inline)) static inline

// Loops over a tile's rows and vectors (constants where each tile is inlined) unrolled, so that
// its accumulators stay in registers.
#define UNROLLED _Pragma("clang loop unroll(full)")

// The last rows of a product (fewer than its row tile of 8) as one tile of their own count, a
// constant in each case so that its sums stay in registers: one row at a time, each row's chain of
// dependent multiply-adds left the FMA units idle.
#define LAST_TILE(count, run)    \
    switch (count) {             \
    case 1: run(1); break;       \
    case 2: run(2); break;       \
    case 3: run(3); break;       \
    case 4: run(4); break;       \
    case 5: run(5); break;       \
    case 6: run(6); break;       \
    case 7: run(7); break;       \
    }

// Compiled once per instruction set and chosen at load time (GCC/Clang function multiversioning),
// so one binary runs everywhere and uses AVX-512 or AVX2 where the CPU has them. The loops are
// plain arithmetic with no calls, so each clone vectorises them for its own vector width;
// reductions keep sixteen (or more) partial results so they vectorise without -ffast-math.
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))

// The instruction sets an ISA_VERSIONED kernel is compiled for.
typedef enum { ISA_BASELINE, ISA_AVX2_FMA, ISA_AVX512 } ckpt_isa;

// Defines the kernel `ret name params` as one of three compilations of the always-inlined
// `name##_body(isa, args...)`, picked when the library loads (an ifunc, as target_clones makes
// them): AVX-512, AVX2 with FMA, and the x86-64 baseline. Two things target_clones cannot do:
// its "avx2" version leaves FMA out (each multiply-add then takes two instructions and rounds
// twice), and it cannot give a version its own register blocking; here `isa` is a constant each
// version folds, so a body can choose its blocking by the registers that version has.
#define ISA_VERSIONED(ret, name, params, ...)                                                         \
    __attribute__((target("avx512f"))) static ret name##_avx512 params {                              \
        return name##_body(ISA_AVX512, __VA_ARGS__);                                                   \
    }                                                                                                  \
    __attribute__((target("avx2,fma"))) static ret name##_avx2_fma params {                           \
        return name##_body(ISA_AVX2_FMA, __VA_ARGS__);                                                 \
    }                                                                                                  \
    static ret name##_baseline params { return name##_body(ISA_BASELINE, __VA_ARGS__); }              \
    static ret (*name##_resolve(void)) params {                                                        \
        __builtin_cpu_init();                                                                          \
        if (__builtin_cpu_supports("avx512f")) return name##_avx512;                                   \
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return name##_avx2_fma;   \
        return name##_baseline;                                                                        \
    }                                                                                                  \
    ret name params __attribute__((ifunc(#name "_resolve")));

// Sums v[0 ..< width] (a power of two) pairwise, halving the width each step: log2(width) steps
// of element-wise adds, which vectorise, where a left-to-right sum is `width` dependent scalar adds
// (for sixteen lanes, 64 cycles of latency on every row). The order is fixed, so results are too.
// Overwrites v. Always inlined, so each clone compiles it for its own instruction set.
#define TREE_REDUCE(v, width, combine)                                   \
    do {                                                                 \
        for (int half_ = (width) / 2; half_ >= 1; half_ /= 2)            \
            for (int l_ = 0; l_ < half_; l_++) (v)[l_] = combine((v)[l_], (v)[l_ + half_]); \
    } while (0)

// n rounded up to whole vectors of 16 lanes: the length of a padded score row or packed row.
INLINE int64_t whole_vectors(int64_t n) { return (n + 15) / 16 * 16; }

#define TREE_ADD(a, b) ((a) + (b))
#define TREE_MAX(a, b) ((b) > (a) ? (b) : (a))

__attribute__((always_inline)) static inline float tree_sum_f(float *v, int width) {
    TREE_REDUCE(v, width, TREE_ADD);
    return v[0];
}

__attribute__((always_inline)) static inline double tree_sum_d(double *v, int width) {
    TREE_REDUCE(v, width, TREE_ADD);
    return v[0];
}

// One stage of a 16 × 16 transpose in registers (v: 16 vectors of 16 32-bit lanes): for each
// pair of rows `width` apart, the off-diagonal blocks of `width` lanes swapped.
#define SWAP_BLOCKS(v, width, low, high)                                      \
    _Pragma("clang loop unroll(full)") for (int i = 0; i < 16; i++)           \
        if (!(i & (width))) {                                                 \
            __typeof__((v)[0]) a = (v)[i], b = (v)[i + (width)];              \
            (v)[i] = __builtin_shufflevector(a, b, low);                      \
            (v)[i + (width)] = __builtin_shufflevector(a, b, high);           \
        }
#define LANES_8 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define LANES_8_HIGH 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define LANES_4 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define LANES_4_HIGH 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define LANES_2 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define LANES_2_HIGH 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define LANES_1 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define LANES_1_HIGH 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

// Transposes 16 vectors of 16 32-bit lanes in registers: stages of widths 8, 4, 2 and 1.
#define TRANSPOSE_16(v)                             \
    do {                                            \
        SWAP_BLOCKS(v, 8, LANES_8, LANES_8_HIGH)    \
        SWAP_BLOCKS(v, 4, LANES_4, LANES_4_HIGH)    \
        SWAP_BLOCKS(v, 2, LANES_2, LANES_2_HIGH)    \
        SWAP_BLOCKS(v, 1, LANES_1, LANES_1_HIGH)    \
    } while (0)

// Sums of n vectors, one per vector, in order: the vectors are added pairwise while being
// interleaved (the lanes of two vectors halved into one, then again), so LANES vectors reduce to one
// vector of their LANES sums in log2(LANES) rounds of two shuffles and one add each — about three
// operations per sum where reducing each vector on its own takes nine. Missing vectors of the last
// group count as zeros; one or two vectors are reduced on their own.
#define TRANSPOSED_SUMS(name, VEC, LANES, ...)                                                        \
    INLINE VEC name##_pair(VEC a, VEC b, int width) {                                                  \
        VEC low, high;                                                                                 \
        switch (width) { __VA_ARGS__ }                                                                 \
        return low + high;                                                                             \
    }                                                                                                  \
    INLINE void name(const VEC *v, int n, double *out) {                                               \
        if (n <= 2) { /* too few to interleave: each vector halved onto itself */                      \
            for (int i = 0; i < n; i++) {                                                              \
                VEC s = v[i];                                                                          \
                for (int width = LANES / 2; width >= 1; width /= 2) s = name##_pair(s, s, width);      \
                out[i] = s[0];                                                                         \
            }                                                                                          \
            return;                                                                                    \
        }                                                                                              \
        for (int group = 0; group < n; group += LANES) {                                               \
            VEC level[LANES];                                                                          \
            for (int i = 0; i < LANES; i++) level[i] = group + i < n ? v[group + i] : (VEC){};          \
            int count = LANES;                                                                         \
            for (int width = LANES / 2; width >= 1; width /= 2, count /= 2)                            \
                for (int i = 0; i < count / 2; i++) level[i] = name##_pair(level[2 * i], level[2 * i + 1], width); \
            for (int i = 0; i < LANES && group + i < n; i++) out[group + i] = level[0][i];             \
        }                                                                                              \
    }

// The pair step at each width: lanes taken `width` at a time, alternately from a and b; `low` gets
// each pair of runs' first halves, `high` their second.
#define SHUFFLE_CASE(width, ...) case width: __VA_ARGS__; break;

// The pair steps of `TRANSPOSED_SUMS` for 16 lanes.
#define F32X16_PAIR_SHUFFLES \
    SHUFFLE_CASE(8, low = __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23); \
                    high = __builtin_shufflevector(a, b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31)) \
    SHUFFLE_CASE(4, low = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27); \
                    high = __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31)) \
    SHUFFLE_CASE(2, low = __builtin_shufflevector(a, b, 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29); \
                    high = __builtin_shufflevector(a, b, 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31)) \
    SHUFFLE_CASE(1, low = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30); \
                    high = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31))

#endif
