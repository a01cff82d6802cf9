#ifndef CKPT_ONEDNN_H
#define CKPT_ONEDNN_H

#include <stdint.h>

/// oneDNN's matrix product, y[m, n] = x[m, k] · wᵀ (+ bias) (+ y), behind a few calls, in three
/// precisions: f32; bf16 (x and w bf16, y f32); int8 (x u8, w s8, y the s32 sums, no bias or
/// accumulation: the caller dequantizes). Every
/// call runs on the calling thread alone: ckpt splits the work between threads itself, so that
/// no result depends on how many threads there are.

/// A weight matrix w [n, k] (nn.Linear's layout) reordered once into the layout oneDNN's product
/// of `rows` rows chooses for it.
typedef struct ckpt_dnnl_weights ckpt_dnnl_weights;
/// A product primitive for one shape (rows, k, n) over packed weights.
typedef struct ckpt_dnnl_product ckpt_dnnl_product;

/// The precisions of a product, and the element types of the matrices given to `ckpt_dnnl_pack`.
enum { CKPT_DNNL_F32 = 0, CKPT_DNNL_BF16 = 1, CKPT_DNNL_INT8 = 2 };

/// Packs w [n, k] (row stride k), whose elements are `source_type` (f32, bf16 bits, or s8), for
/// products in `precision` (int8 needs s8 weights; f32 and bf16 take f32 or bf16 ones). NULL if
/// oneDNN cannot create such a product here (no CPU engine, or no kernel for the precision).
ckpt_dnnl_weights *ckpt_dnnl_pack(const void *w, int source_type, int64_t k, int64_t n, int64_t rows, int precision);
void ckpt_dnnl_weights_free(ckpt_dnnl_weights *weights);
/// K of the packed weights.
int64_t ckpt_dnnl_weights_inputs(const ckpt_dnnl_weights *weights);
/// The precision the weights were packed for.
int ckpt_dnnl_weights_precision(const ckpt_dnnl_weights *weights);
/// Whether products over these weights take x as f32: f32 weights, and bf16 ones whose block
/// products run widened to f32 (x then holds bf16 values, rounded, as f32).
int ckpt_dnnl_weights_take_f32(const ckpt_dnnl_weights *weights);
/// Whether bf16 weights here are kept bf16 but multiplied widened to f32 by oneDNN's f32 kernel,
/// a piece at a time: where VDPBF16PS is missing, or slower per multiply-add than f32 FMAs
/// (measured once per process; the two differ by twofold or more on the CPUs measured).
int ckpt_dnnl_bf16_widened(void);
/// Whether oneDNN's int8 products run on VNNI instructions here (exact s32 sums; without them
/// oneDNN's u8 · s8 kernels may saturate 16-bit pair sums).
int ckpt_dnnl_int8_native(void);
/// Bytes the packed weights take.
int64_t ckpt_dnnl_weights_bytes(const ckpt_dnnl_weights *weights);

/// A product of `rows` rows over `weights` (oneDNN writes contiguous output rows: for a strided
/// output it would want the weights in another layout); with `accumulate` the product is added to y.
/// NULL when oneDNN would want the weights in another layout for this row count (the caller then
/// pads to the packing row count).
ckpt_dnnl_product *ckpt_dnnl_product_create(const ckpt_dnnl_weights *weights, int64_t rows, int has_bias, int accumulate);
void ckpt_dnnl_product_free(ckpt_dnnl_product *product);
/// The implementation oneDNN chose ("brg:avx512_core", "gemm:jit", ...).
const char *ckpt_dnnl_product_implementation(const ckpt_dnnl_product *product);

/// Runs the product on the calling thread: x [rows, k] contiguous and y [rows, n] with row stride
/// `ldy` (≥ n), of the precision's element types; a strided y is written through a buffer of the
/// thread's. Returns 0, or oneDNN's status on failure.
int ckpt_dnnl_product_run(const ckpt_dnnl_product *product, const ckpt_dnnl_weights *weights, const void *x, const float *bias, void *y,
                          int64_t ldy);

/// c[m, n] = alpha · a[m, k] · op(b) on the calling thread (oneDNN's GEMM, row-major): op(b) is
/// b [k, n], or b [n, k] transposed when `transpose_b`; leading dimensions given. For products
/// whose shape changes call by call (attention over a growing context), which need no primitive.
/// Returns 0, or oneDNN's status.
int ckpt_dnnl_gemm(int transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float *c, int64_t ldc);

/// The product of a single row, y[n] = x[k] · wᵀ (+ bias) (+ y), read straight from the packed
/// weights: the shape of decoding one token, where the weights' bytes bound the time. f32 weights
/// (x f32) are summed over k in order with one fused multiply-add per term, bf16 ones (x bf16 bits)
/// a pair of k at a time with VDPBF16PS, in runs of k whose sums are then added in order; then the
/// bias, then y: the order of oneDNN's batch-reduce kernels, whose row results it matches (the runs
/// are found per shape by a probe against the primitive). Returns 0, or -1 where it cannot match
/// the primitive (another layout, no such instructions): the caller then runs the primitive.
int ckpt_dnnl_row_product(const ckpt_dnnl_weights *weights, const void *x, const float *bias, float *y, int accumulate);

/// The exact s32 sums of one u8 row x[k] with int8 weights (VNNI), as the int8 primitive computes
/// them. Returns 0, or -1 where it cannot (weights not int8, another layout, no VNNI).
int ckpt_dnnl_row_sums(const ckpt_dnnl_weights *weights, const uint8_t *x, int32_t *sums);

#endif
