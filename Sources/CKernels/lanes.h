#ifndef CKPT_LANES_H
#define CKPT_LANES_H

// What the kernels share: how they are compiled, and how they reduce their partial results.

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

#endif
