#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

/// Rows the softmax-regression pass widens and accumulates at a time (sizes its scratch buffer).
#define CKPT_SOFTMAX_REGRESSION_BLOCK 32

/// One pass of multinomial logistic regression over rows [begin, end) of x: for each row, the
/// logits W·x + b, their log-softmax, the weighted loss, and the gradient contributions.
///   x: [n, d] float32 row-major; labels: [n]; weights: [n] (sample weight / n);
///   theta: W [k, d] then b [k], float64; gradient: [k·d + k], float64, overwritten;
///   scratch: CKPT_SOFTMAX_REGRESSION_BLOCK·(d + k) + k doubles.
/// Returns the summed weighted loss of the rows. Accumulates in float64; the row order is fixed,
/// so the result does not depend on the machine's vector width beyond rounding of the dot products.
double ckpt_softmax_regression_pass(const float *x, const int32_t *labels, const double *weights,
                                    int64_t begin, int64_t end, int64_t d, int64_t k,
                                    const double *theta, double *gradient, double *scratch);

/// Reads floats [0, n) once, front to back, and returns their sum: a streaming read at the speed of
/// memory when the buffer is far larger than the caches (what measures memory read bandwidth).
/// Sixteen-wide partial sums keep the loop vectorised and bound by loads, not by adds.
float ckpt_stream_sum(const float *x, int64_t n);

/// x[i] ← x·Φ(x) with the tanh approximation (GPT-2's gelu_new), in place; within 3e-7 of tanhf's.
void ckpt_gelu_tanh(float *x, int64_t n);

/// x[i] ← x·Φ(x) with the exact normal CDF (BERT's gelu), erf within 1.5e-7 absolute, in place.
void ckpt_gelu_erf(float *x, int64_t n);

/// Softmax of each row of x[rows, stride] over its first n entries (max-subtracted); entries
/// n ..< stride become 0 (masked keys, whose weight is exactly zero in the reference too).
void ckpt_softmax_rows(float *x, int64_t rows, int64_t n, int64_t stride);

/// y[rows, n] = LayerNorm(x)·γ + β per row: mean, then variance about it (two passes, as PyTorch),
/// ε inside the square root; y may be x.
void ckpt_layer_norm(const float *x, float *y, int64_t rows, int64_t n, const float *gamma, const float *beta, float epsilon);

#endif
