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

/// The outputs of the column panels that products are cut into (a multiple of 64, oneDNN's block of outputs).
enum { CKPT_DNNL_PANEL_WIDTH = 128 };

/// The precisions of a product, and the element types of the matrices given to `ckpt_dnnl_pack`.
enum { CKPT_DNNL_F32 = 0, CKPT_DNNL_BF16 = 1, CKPT_DNNL_INT8 = 2 };

/// Packs w [n, k] (row stride k), whose elements are `source_type` (f32, bf16 bits, or s8), for
/// products in `precision` (int8 needs s8 weights; f32 and bf16 take f32 or bf16 ones). NULL if
/// oneDNN cannot create such a product here (no CPU engine, or no kernel for the precision).
ckpt_dnnl_weights *ckpt_dnnl_pack(const void *w, int source_type, int64_t k, int64_t n, int64_t rows, int precision);
void ckpt_dnnl_weights_free(ckpt_dnnl_weights *weights);
/// K and N of the packed weights.
int64_t ckpt_dnnl_weights_inputs(const ckpt_dnnl_weights *weights);
int64_t ckpt_dnnl_weights_outputs(const ckpt_dnnl_weights *weights);
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
/// Whether a product may read a panel of the weights' columns (`ckpt_dnnl_product_create` with fewer
/// columns than n) with the same bits as the product over all of them: blocks of 64 outputs that a
/// narrower product reads in place, and a probe of this shape and precision whose panels gave every
/// bit of the whole. Products over such weights can be cut into panels or not, as suits the rows.
int ckpt_dnnl_weights_sliceable(const ckpt_dnnl_weights *weights);
/// Bytes the packed weights take.
int64_t ckpt_dnnl_weights_bytes(const ckpt_dnnl_weights *weights);
/// Whether `ckpt_dnnl_weights_output_row` reads these weights back: f32 or bf16 ones in blocks of 64
/// outputs or in a plain layout (int8 ones hold quantized values; other layouts are not read).
int ckpt_dnnl_weights_readable(const ckpt_dnnl_weights *weights);
/// The k weights of output `output` (w's row) as f32 into `row`: the values packed, bf16 ones widened.
void ckpt_dnnl_weights_output_row(const ckpt_dnnl_weights *weights, int64_t output, float *row);

/// A product of `rows` rows over `columns` of the weights' n outputs: all of them, or (sliceable
/// weights) a run of them from a multiple of 64 that each `ckpt_dnnl_product_run` names (oneDNN
/// writes contiguous output rows: for a strided output it would want the weights in another layout); with
/// `accumulate` the product is added to y. NULL when oneDNN would want the weights in another
/// layout for this row count (the caller then pads to the packing row count) or these columns.
ckpt_dnnl_product *ckpt_dnnl_product_create(const ckpt_dnnl_weights *weights, int64_t rows, int64_t columns, int has_bias, int accumulate);
void ckpt_dnnl_product_free(ckpt_dnnl_product *product);
/// The implementation oneDNN chose ("brg:avx512_core", "gemm:jit", ...).
const char *ckpt_dnnl_product_implementation(const ckpt_dnnl_product *product);

/// Runs the product on the calling thread over the product's columns from `first` (0 for all of
/// them): x [rows, k] contiguous and y [rows, columns] with row stride `ldy` (≥ columns), of the
/// precision's element types, and bias [columns]; a strided y is written through a buffer of the
/// thread's. Returns 0, or oneDNN's status on failure.
int ckpt_dnnl_product_run(const ckpt_dnnl_product *product, const ckpt_dnnl_weights *weights, int64_t first, const void *x, const float *bias,
                          void *y, int64_t ldy);

/// c[m, n] = alpha · a[m, k] · op(b) on the calling thread (oneDNN's GEMM, row-major): op(b) is
/// b [k, n], or b [n, k] transposed when `transpose_b`; leading dimensions given. For products
/// whose shape changes call by call (attention over a growing context), which need no primitive.
/// Returns 0, or oneDNN's status.
int ckpt_dnnl_gemm(int transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float *c, int64_t ldc);

/// A run of a product's outputs for one-row products: columns [first, first + width) of the
/// product, read from the pack `weights` from its column `origin` (a multiple of 64).
typedef struct {
    const ckpt_dnnl_weights *weights;
    int64_t origin, first, width;
} ckpt_dnnl_panel;

/// What dequantizes a one-row int8 product (as `ckpt_dequantize_rows`): the row's scale and zero
/// point, and the product's column sums and scales (all its columns).
typedef struct {
    float scale;
    int32_t zero_point;
    const int32_t *column_sums;
    const float *column_scales;
} ckpt_dnnl_int8_row;

/// Whether `ckpt_dnnl_row_share` runs over these weights: blocks of 64 outputs whose f32 or bf16
/// sums its loop reproduces, or int8 ones on VNNI. Else one-row products run the primitive.
int ckpt_dnnl_row_shareable(const ckpt_dnnl_weights *weights);

/// The product of a single row, y[n] = x[k] · wᵀ (+ bias) (+ y), over a product's `count` panels
/// (of CKPT_DNNL_PANEL_WIDTH outputs, the last one narrower; packs that are all
/// `ckpt_dnnl_row_shareable`), read straight from the packed weights by a loop: the shape of
/// decoding one token, where the weights' bytes bound the time. It is shared by the threads that
/// call it with the same `next` (0 before the first call; at most `participants` of them): each
/// converts x once, then claims runs of 64 outputs, long ones while many are left, until none are.
/// x is f32 (f32 weights, and bf16 ones that take f32), bf16 bits, or u8 values for int8 weights,
/// whose exact s32 sums are then dequantized with `int8`'s numbers (NULL for f32 and bf16). f32
/// weights (and bf16 ones widened for oneDNN's f32 kernel) are summed over k in order with one
/// fused multiply-add per term, other bf16 ones a pair of k at a time with VDPBF16PS, in runs of k
/// whose sums are then added in order, then the bias, then y: the order of oneDNN's batch-reduce
/// kernels, whose results it matches (the runs are found per shape by a probe against the
/// primitive). So every output is the same bits whichever thread computes it, and the same as the
/// primitive's. Returns 0, or -1 when out of memory.
int ckpt_dnnl_row_share(const ckpt_dnnl_panel *panels, int64_t count, int64_t participants, int64_t *next, const void *x,
                        const ckpt_dnnl_int8_row *int8, const float *bias, float *y, int accumulate);

/// One piece of an int8 product: the s32 sums of u8 rows x [rows, k] (the product's rows) with
/// `columns` of the weights from `first` (a loop over the packed weights for a single row, where it
/// runs; else the primitive), in a buffer of the thread's, then dequantized into y (row stride ldy)
/// by `ckpt_dequantize_rows` with the rows' scales and zero points and the columns' weight sums and
/// scales (all from their first row and column). Where y's rows are dense (ldy = columns) and not
/// added to, the primitive writes the sums into y itself, dequantized there in place.
/// Returns 0, or oneDNN's status.
int ckpt_dnnl_int8_piece(const ckpt_dnnl_product *product, const ckpt_dnnl_weights *weights, int64_t first, int64_t columns,
                         const uint8_t *x, const float *row_scales, const int32_t *row_zero_points, const int32_t *column_sums,
                         const float *column_scales, const float *bias, float *y, int64_t ldy, int accumulate);

#endif
