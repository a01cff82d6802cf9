#include "ckernels.h"
#include "lanes.h"

MULTIVERSION
float ckpt_stream_sum(const float *x, int64_t n) {
    float acc[64] = {0};
    int64_t i = 0;
    for (; i + 64 <= n; i += 64)
        for (int l = 0; l < 64; l++) acc[l] += x[i + l];
    float s = 0;
    for (; i < n; i++) s += x[i];
    return s + tree_sum_f(acc, 64);
}
