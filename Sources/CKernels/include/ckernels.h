#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

/// Rows the softmax-regression pass takes at a time (its scratch sizes are multiples of this).
#define CKPT_SOFTMAX_REGRESSION_BLOCK 32

/// One pass of multinomial logistic regression over rows [begin, end) of x: for each row, the
/// logits W·x + b, their log-softmax, the weighted loss, and the gradient contributions.
///   x: [n, d] float32 row-major; labels: [n]; weights: [n] (sample weight / n);
///   theta: W [k, d] then b [k], float64; gradient: [k·d + k], float64, overwritten;
///   coarse_w: NULL, or W rounded to float32 [k, d]: the logits are then summed in float32, which
///   is faster and moves the loss by ~1e-9 relative (enough while a step changes it by far more);
///   work: 2·BLOCK·k doubles and scratch: BLOCK·k + k·d floats (BLOCK = CKPT_SOFTMAX_REGRESSION_BLOCK).
/// Returns the summed weighted loss of the rows. Softmax and loss in float64, the weight gradient
/// summed in float32 over 64 rows at a time, then in float64; the row order is fixed, so the result
/// does not depend on the machine's vector width beyond rounding of the dot products.
double ckpt_softmax_regression_pass(const float *x, const int32_t *labels, const double *weights,
                                    int64_t begin, int64_t end, int64_t d, int64_t k,
                                    const double *theta, const float *coarse_w, double *gradient, double *work,
                                    float *scratch);

/// Reads floats [0, n) once, front to back, and returns their sum: a streaming read at the speed of
/// memory when the buffer is far larger than the caches (what measures memory read bandwidth).
/// Sixteen-wide partial sums keep the loop vectorised and bound by loads, not by adds.
float ckpt_stream_sum(const float *x, int64_t n);

/// The precisions of the vector multiply-add peak.
typedef enum { CKPT_PEAK_F32, CKPT_PEAK_BF16, CKPT_PEAK_INT8 } ckpt_peak_precision;

/// Multiply-adds one instruction of `precision`'s peak loop does on this CPU: f32 16 (AVX-512 FMA)
/// or 8 (AVX2 FMA), bf16 32 (VDPBF16PS), int8 64 (VPDPBUSD); 0 where the CPU lacks the instruction.
int ckpt_vector_peak_multiply_adds(ckpt_peak_precision precision);
/// Independent chains of multiply-adds kept in registers (no memory traffic) in the loop below.
int ckpt_vector_peak_chains(void);
/// Runs `steps` steps of the peak loop, one instruction per chain a step, and returns the sum of
/// every accumulator lane: steps × chains × multiply-adds × the product, each product 2^-20 in
/// f32 and bf16 and 2 in int8 (exact for steps < 2^23). 0 where the CPU lacks the instruction.
double ckpt_vector_peak_run(ckpt_peak_precision precision, int64_t steps);

/// Element-wise activations (transformers' ACT2FN names in the comments).
typedef enum {
    CKPT_GELU_ERF,   ///< "gelu": x·Φ(x) with the exact normal CDF, erf within 1.5e-7 absolute
    CKPT_GELU_TANH,  ///< "gelu_new" / "gelu_pytorch_tanh": the tanh approximation, within 3e-7 of tanhf's
    CKPT_RELU,       ///< "relu"
    CKPT_TANH,       ///< "tanh", within 3e-7 of tanhf
} ckpt_activation;

/// x[rows, n] ← activation(x + bias) per row, in place; bias [n] may be NULL.
void ckpt_bias_activation(float *x, int64_t rows, int64_t n, const float *bias, ckpt_activation activation);

/// Softmax of each row of x[rows, stride] over its first n entries (max-subtracted); entries
/// n ..< stride become 0 (masked keys, whose weight is exactly zero in the reference too).
void ckpt_softmax_rows(float *x, int64_t rows, int64_t n, int64_t stride);

/// One attention head's scores: scores[i][j] = scale · Σ_c q[i][c]·k[j][c] for i < rows, j < keys,
/// summed in c order with fused multiply-adds, so that each score is the same bits whatever the
/// rows beside it and the CPU's vector width. Rows of q and k are ldq and ldk apart, of scores
/// `stride` (≥ keys rounded up to 16; the scores from keys to that are 0). kt: scratch of
/// d·stride floats (k transposed).
void ckpt_attention_scores(const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys, int64_t d, float scale,
                           float *scores, int64_t stride, float *kt);

/// One query's scores over `keys` keys (rows ldk apart): scores[j] = scale · Σ_c q[c]·k[j][c], each
/// sum as sixteen partial sums (lane l over channels c ≡ l mod 16 in order, fused multiply-adds)
/// added pairwise (lane l + lane l + 8, then + 4, + 2, + 1), so the same bits for any key count,
/// split or vector width. For a decoded token: each cached key is read once.
void ckpt_attention_query_scores(const float *q, const float *k, int64_t ldk, int64_t keys, int64_t d, float scale, float *scores);

/// `ckpt_attention_query_scores` over keys held as bf16 bits (a bf16 key-value cache), widened
/// exactly: the same bits as on the keys widened to f32.
void ckpt_attention_query_scores_bf16_keys(const float *q, const uint16_t *k, int64_t ldk, int64_t keys, int64_t d, float scale, float *scores);

/// One query's context over values held as bf16 bits: out[c] = Σ_j p[j]·v[j][c], the same bits as
/// `ckpt_attention_context` gives for one row on the values widened to f32.
void ckpt_attention_query_context_bf16_values(const float *p, const uint16_t *v, int64_t ldv, int64_t keys, int64_t d, float *out);

/// One attention head's context: out[i][c] = Σ_j p[i][j]·v[j][c] for i < rows, c < d, summed in
/// key order with fused multiply-adds (the same bits whatever the rows beside it and the CPU's
/// vector width). Rows of p, v and out are ldp, ldv and ldo apart.
void ckpt_attention_context(const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys, int64_t d, float *out,
                            int64_t ldo);

/// Whether this CPU runs the bf16 attention kernels below: it has VDPBF16PS (AVX512-BF16).
int ckpt_attention_bf16_runs(void);

/// Whether they are faster than the f32 ones here: VDPBF16PS issues at twice the f32
/// multiply-add rate (AMD cores; Intel cores issue it on one port where f32 FMAs issue on two).
int ckpt_attention_bf16_gains(void);

/// The uint32 scratch the bf16 attention kernels take for `rows` queries over `keys` keys of d channels.
int64_t ckpt_attention_bf16_scratch(int64_t rows, int64_t keys, int64_t d);

/// The uint32s of `keys` keys of d channels packed for `ckpt_attention_scores_bf16_packed`.
int64_t ckpt_attention_bf16_packed_keys(int64_t keys, int64_t d);

/// The uint32s of `keys` values of d channels packed for `ckpt_attention_context_bf16_packed`.
int64_t ckpt_attention_bf16_packed_values(int64_t keys, int64_t d);

/// The uint32 scratch the packed kernels take for `rows` queries over up to `keys` keys of d channels.
int64_t ckpt_attention_bf16_row_scratch(int64_t rows, int64_t keys, int64_t d);

/// Packs `keys` keys of d channels (rows ldk apart), rounded to bf16, for the scores' product.
void ckpt_attention_bf16_pack_keys(const float *k, int64_t ldk, int64_t keys, int64_t d, uint32_t *key_pairs);

/// `ckpt_attention_bf16_pack_keys` over keys held as bf16 bits: the same packing as of the keys widened to f32.
void ckpt_attention_bf16_pack_key_bits(const uint16_t *k, int64_t ldk, int64_t keys, int64_t d, uint32_t *key_pairs);

/// Packs `keys` values of d channels (rows ldv apart), rounded to bf16, for the context's product.
void ckpt_attention_bf16_pack_values(const float *v, int64_t ldv, int64_t keys, int64_t d, uint32_t *value_pairs);

/// `ckpt_attention_bf16_pack_values` over values held as bf16 bits.
void ckpt_attention_bf16_pack_value_bits(const uint16_t *v, int64_t ldv, int64_t keys, int64_t d, uint32_t *value_pairs);

/// `ckpt_attention_scores_bf16` over the first `keys` of `packed_keys` keys packed by
/// `ckpt_attention_bf16_pack_keys`: the same bits as over those keys alone. Score rows get
/// `keys` rounded up to 16 entries (scores of later keys, or zeros, past `keys`).
void ckpt_attention_scores_bf16_packed(const float *q, int64_t ldq, const uint32_t *key_pairs, int64_t packed_keys, int64_t rows,
                                       int64_t keys, int64_t d, float scale, float *scores, int64_t stride, uint32_t *scratch);

/// `ckpt_attention_context_bf16` over the first `keys` values packed by
/// `ckpt_attention_bf16_pack_values`. Where `keys` is odd, the value after the last one is
/// multiplied by p's zero entry rather than being zero itself (the same sums while it is finite).
void ckpt_attention_context_bf16_packed(const float *p, int64_t ldp, const uint32_t *value_pairs, int64_t rows, int64_t keys, int64_t d,
                                        float *out, int64_t ldo, uint32_t *scratch);

/// `ckpt_attention_scores` with q and k rounded to bf16 (nearest, ties to even) and each pair of
/// channels' exact products added to the f32 sum by VDPBF16PS, pairs in channel order. Only where
/// `ckpt_attention_bf16_runs()`.
void ckpt_attention_scores_bf16(const float *q, int64_t ldq, const float *k, int64_t ldk, int64_t rows, int64_t keys, int64_t d, float scale,
                                float *scores, int64_t stride, uint32_t *scratch);

/// `ckpt_attention_context` with p and v rounded to bf16 and summed by VDPBF16PS, pairs of keys in
/// order. Only where `ckpt_attention_bf16_runs()`.
void ckpt_attention_context_bf16(const float *p, int64_t ldp, const float *v, int64_t ldv, int64_t rows, int64_t keys, int64_t d, float *out,
                                 int64_t ldo, uint32_t *scratch);

/// y[rows, n] = LayerNorm(x + bias)·γ + β per row: mean, then variance about it (two passes, as
/// PyTorch), ε inside the square root. bias [n] may be NULL; y may be x.
void ckpt_layer_norm(const float *x, const float *bias, float *y, int64_t rows, int64_t n, const float *gamma, const float *beta,
                     float epsilon);

/// Returns *counter, then adds one, atomically: how threads sharing a list of work items each
/// claim the next one.
static inline int64_t ckpt_claim_next(int64_t *counter) { return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED); }

/// A parallel region's work for one participant, numbered 0 (the caller) ..< participants.
typedef void (*ckpt_pool_body)(void *context, int64_t participant);

/// Runs body(context, p) for p in 0 ..< participants (2 ... 127) at once: p = 0 on the calling
/// thread, the others on the process's pool threads, which wait for the next region by spinning
/// (yielding to anything else runnable) for 2 ms before they sleep. Returns when all have finished:
/// 0; or at once -1, having run nothing, when the pool is running another caller's region (a
/// nested or concurrent one) or cannot start its threads.
int ckpt_pool_run(int64_t participants, ckpt_pool_body body, void *context);

/// For a body whose participants claim the work items themselves, so that any number of them,
/// from participant 0 alone to all, does all of it. Outside the pool's threads: `ckpt_pool_run`.
/// On a thread running a part of the pool's job (a nested region): body(context, 0) here, while
/// participants of that job that have finished their own part run body(context, p) for the next
/// p < participants as they come; returns 0 once all that joined have finished.
int ckpt_pool_share(int64_t participants, ckpt_pool_body body, void *context);

/// f32 → bf16 bits, rounding to nearest (ties to even), as oneDNN and PyTorch convert.
void ckpt_to_bf16(const float *x, uint16_t *out, int64_t count);
/// `ckpt_to_bf16` of `rows` rows of n values, ldx apart in x and ldo apart in out.
void ckpt_rows_to_bf16(const float *x, int64_t ldx, int64_t rows, int64_t n, uint16_t *out, int64_t ldo);
/// Each value rounded to the nearest bf16, kept as f32 (the bf16 route of engines without bf16 products).
void ckpt_round_to_bf16(const float *x, float *out, int64_t count);
/// Whether this CPU has the instructions `ckpt_crc32_fold` needs (PCLMULQDQ, SSE4.1).
int ckpt_crc32_fold_available(void);
/// zlib's CRC-32 of `length` bytes (at least 64, a multiple of 16) continuing `crc`, by carry-less
/// multiplication. Only where `ckpt_crc32_fold_available()`.
uint32_t ckpt_crc32_fold(uint32_t crc, const uint8_t *data, int64_t length);
/// f32 → f16 bits, rounding to nearest (ties to even), as NumPy's astype(float16).
void ckpt_to_f16(const float *x, uint16_t *out, int64_t count);
/// ggml's Q8_0 (`quantize_row_q8_0_ref`) of blocks × 32 floats into blocks × 34 bytes: per block
/// d = max|x| / 127 stored as f16, then 32 int8 round-half-away(x / d).
void ckpt_quantize_q8_0(const float *x, uint8_t *out, int64_t blocks);
/// bf16 bits → f32 (exact).
void ckpt_from_bf16(const uint16_t *x, float *out, int64_t count);
/// Dynamic quantization of each row of x [rows, k] to u8, asymmetric, the range widened to hold 0:
/// scale = (max − min) / 255, zero point = round(−min / scale), q = clamp(round(x / scale) + zero point, 0, 255).
void ckpt_quantize_rows(const float *x, int64_t rows, int64_t k, uint8_t *q, float *scales, int32_t *zero_points);
/// The f32 result of a u8 · s8 product from its s32 sums [rows, n]: y = (sum − zero_r · colsum_j) ·
/// scale_r · wscale_j (+ bias_j) (+ y when `accumulate`), y with row stride ldy.
void ckpt_dequantize_rows(const int32_t *sums, int64_t rows, int64_t n, const float *row_scales, const int32_t *row_zero_points,
                          const int32_t *column_sums, const float *column_scales, const float *bias, float *y, int64_t ldy,
                          int accumulate);
/// `ckpt_dequantize_rows` without `accumulate`, where y [rows, n] (dense) holds the s32 sums and
/// takes their f32 values in their place.
void ckpt_dequantize_rows_in_place(void *y, int64_t rows, int64_t n, const float *row_scales, const int32_t *row_zero_points,
                                   const int32_t *column_sums, const float *column_scales, const float *bias);

/// Symmetric per-channel quantization of w [outputs, inputs]: scale = max|w_j| / 127 (1 for a row
/// of zeros or non-finite values), value = w / scale rounded to nearest (ties to even), clamped to ±127, NaN to 0.
void ckpt_quantize_channels(const float *w, int64_t outputs, int64_t inputs, int8_t *values, float *scales);

#endif
