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

#endif
