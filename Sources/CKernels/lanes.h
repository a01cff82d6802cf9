#ifndef CKPT_LANES_H
#define CKPT_LANES_H

// What the kernels share: how they are compiled, and how they reduce their partial results.

// Compiled once per instruction set and chosen at load time (GCC/Clang function multiversioning),
// so one binary runs everywhere and uses AVX-512 or AVX2 where the CPU has them. The loops are
// plain arithmetic with no calls, so each clone vectorises them for its own vector width;
// reductions keep sixteen (or more) partial results so they vectorise without -ffast-math.
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))

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
