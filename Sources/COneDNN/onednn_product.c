#include "ckpt_onednn.h"
#include "ckernels.h"
#include <oneapi/dnnl/dnnl.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

// libgomp's, declared here because clang's include path has no omp.h. oneDNN (Debian's build uses
// OpenMP) sizes each primitive's parallel region by this thread's OpenMP limit: set to 1 on every
// thread that calls in, so that oneDNN never starts threads and never splits a reduction.
extern void omp_set_num_threads(int);

struct ckpt_dnnl_weights {
    int precision;            // CKPT_DNNL_F32, _BF16 or _INT8
    dnnl_memory_desc_t desc;  // the packed layout
    dnnl_memory_t memory;     // owns the packed data
    const float *data;        // its data
    int64_t k, n;
    // When the layout is blocks of 64 outputs, each [K / g][64][g] for groups of g = 1 (f32), 2
    // (bf16) or 4 (s8) consecutive k, K padded ("BA16a64b", "BA16a64b2a", "BA16a64b4a"): the
    // elements between one block and the next; else 0.
    int64_t block_stride;
    int64_t k_padded;
    // bf16 weights whose block products run widened to f32 (`bf16_widened`): the f32 layout they are
    // widened into, piece by piece, for oneDNN's f32 kernel.
    int widen;
    dnnl_memory_desc_t wide_desc;
    uint64_t id;  // unique for the process: which weights a thread's widened copy holds
    // The run of k over which oneDNN's kernel sums before adding the partial sums in order
    // (0: the row product does not reproduce it).
    int64_t row_chunk;
    // Whether products of a panel's columns can read them straight from these weights, with every
    // bit of the product over all columns (`ckpt_dnnl_weights_sliceable`).
    int sliceable;
};

enum { OUTPUT_BLOCK = 64 };

// Whether `desc` is W [k, n] as consecutive blocks of 64 outputs, each [k_padded / g][64][g]
// row-major (g = 1 for f32, 2 for bf16, 4 for s8).
static int64_t output_block_stride(const dnnl_memory_desc_t *desc) {
    const dnnl_blocking_desc_t *b = &desc->format_desc.blocking;
    int64_t group = desc->data_type == dnnl_f32 ? 1 : desc->data_type == dnnl_bf16 ? 2 : desc->data_type == dnnl_s8 ? 4 : 0;
    if (desc->format_kind != dnnl_blocked || !group || b->inner_nblks != (group == 1 ? 2 : 3)) return 0;
    if (b->inner_idxs[0] != 0 || b->inner_blks[0] != 16 || b->inner_idxs[1] != 1 || b->inner_blks[1] != OUTPUT_BLOCK) return 0;
    if (group > 1 && (b->inner_idxs[2] != 0 || b->inner_blks[2] != group)) return 0;
    if (desc->extra.flags != 0) return 0;  // no compensation data after the blocks
    if (b->strides[0] != 16 * group * OUTPUT_BLOCK || b->strides[1] != desc->padded_dims[0] * OUTPUT_BLOCK) return 0;
    return b->strides[1];
}

struct ckpt_dnnl_product {
    dnnl_primitive_t primitive;
    dnnl_memory_desc_t x, y, bias, scratch;
    // The layout of the columns it reads: all of the weights', or a slice of them (`slice`).
    dnnl_memory_desc_t w;
    int slice;
    const char *implementation;
    uint64_t id;  // unique for the process: the key of each thread's memory objects for it
    int accumulate;
};

static dnnl_engine_t shared_engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static void create_engine(void) {
    if (dnnl_engine_create(&shared_engine, dnnl_cpu, 0) != dnnl_success) shared_engine = NULL;
}

static dnnl_engine_t engine(void) {
    pthread_once(&engine_once, create_engine);
    return shared_engine;
}

// One stream per thread (streams are not shared between threads), made on the thread's first call.
static dnnl_stream_t thread_stream(void) {
    static _Thread_local dnnl_stream_t stream;
    if (!stream) {
        omp_set_num_threads(1);
        if (dnnl_stream_create(&stream, engine(), dnnl_stream_default_flags) != dnnl_success) stream = NULL;
    }
    return stream;
}

static void matrix(dnnl_memory_desc_t *desc, int64_t rows, int64_t columns, dnnl_data_type_t type) {
    dnnl_dims_t dims = {rows, columns};
    dnnl_memory_desc_init_by_tag(desc, 2, dims, type, dnnl_ab);
}

// The element types of x, W and y for each precision: bf16 products write f32; int8 ones multiply
// u8 rows by s8 weights into s32 sums, which the caller turns into f32 (`ckpt_dequantize_rows`).
static const dnnl_data_type_t input_type[] = {dnnl_f32, dnnl_bf16, dnnl_u8};
static const dnnl_data_type_t weight_type[] = {dnnl_f32, dnnl_bf16, dnnl_s8};
static const dnnl_data_type_t output_type[] = {dnnl_f32, dnnl_f32, dnnl_s32};
static const size_t element_bytes[] = {4, 2, 1};  // of weights and x in each precision

// The primitive descriptor for y[rows, n] = x[rows, k] · W[k, n], W's layout left to oneDNN.
static dnnl_primitive_desc_t describe(int64_t rows, int64_t k, int64_t n, int has_bias, int accumulate, int precision) {
    dnnl_memory_desc_t x, w, b, y;
    matrix(&x, rows, k, input_type[precision]);
    dnnl_dims_t wdims = {k, n};
    dnnl_memory_desc_init_by_tag(&w, 2, wdims, weight_type[precision], dnnl_format_tag_any);
    matrix(&b, 1, n, dnnl_f32);
    matrix(&y, rows, n, output_type[precision]);
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &x, &w, has_bias ? &b : NULL, &y) != dnnl_success) return NULL;
    dnnl_primitive_attr_t attr;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_post_ops_t post = NULL;
    if (accumulate) {
        dnnl_post_ops_create(&post);
        dnnl_post_ops_append_sum(post, 1.0f);
        dnnl_primitive_attr_set_post_ops(attr, post);
    }
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_primitive_desc_create(&pd, &desc, attr, engine(), NULL) != dnnl_success) pd = NULL;
    if (post) dnnl_post_ops_destroy(post);
    dnnl_primitive_attr_destroy(attr);
    return pd;
}

typedef struct {
    int64_t row_chunk;
    int sliceable;
} shape_probe;
static shape_probe probe_shape(int64_t k, int64_t n, int64_t rows, int precision);
static int panels_read_slices(const ckpt_dnnl_weights *weights, int64_t rows);

static uint64_t next_id(void) {
    static uint64_t last;
    return __atomic_add_fetch(&last, 1, __ATOMIC_RELAXED);
}

static int widened;
static pthread_once_t widened_once = PTHREAD_ONCE_INIT;
// A fixed function of the CPU, never of a timing: the two routes round the same operands but add
// them in different orders, so a choice that could flip between runs would change a run's bits.
// Without VDPBF16PS oneDNN computes bf16 products in slow emulation. On Intel cores without AMX,
// VDPBF16PS issues on one port where f32 FMAs issue on two, and oneDNN's bf16 kernel ran at about
// half its f32 kernel's rate (80 / 155 against 146 / 280 GFLOP/s at 1 / 2 threads on an Intel Xeon,
// family 6 model 207, where AMX is not exposed): there f32 kernels over widened weights are faster.
// With AMX, or on AMD cores (twice the f32 rate on a Zen 5), the bf16 kernel is.
static void choose_widening(void) {
    if (!engine()) return;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if ((isa & dnnl_cpu_isa_avx512_core) != dnnl_cpu_isa_avx512_core) return;  // no block layouts, so no kernels of ours
    int bf16 = (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
    int amx = (isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx;
    widened = !bf16 || (__builtin_cpu_is("intel") && !amx);
}

int ckpt_dnnl_bf16_widened(void) {
    pthread_once(&widened_once, choose_widening);
    return widened;
}

static ckpt_dnnl_weights *pack(const void *w, int source_type, int64_t k, int64_t n, int64_t rows, int precision);

ckpt_dnnl_weights *ckpt_dnnl_pack(const void *w, int source_type, int64_t k, int64_t n, int64_t rows, int precision) {
    if (precision < CKPT_DNNL_F32 || precision > CKPT_DNNL_INT8 || (precision == CKPT_DNNL_INT8) != (source_type == CKPT_DNNL_INT8)) return NULL;
    ckpt_dnnl_weights *packed = pack(w, source_type, k, n, rows, precision);
    if (packed && packed->block_stride && precision == CKPT_DNNL_INT8) {
        // int8 sums are exact in any order: the layouts decide.
        packed->row_chunk = packed->k_padded;
        packed->sliceable = panels_read_slices(packed, rows);
    } else if (packed && packed->block_stride) {
        shape_probe found = probe_shape(k, n, rows, precision);
        packed->row_chunk = found.row_chunk;
        packed->sliceable = found.sliceable;
    }
    return packed;
}

static ckpt_dnnl_weights *pack(const void *w, int source_type, int64_t k, int64_t n, int64_t rows, int precision) {
    if (!engine() || !thread_stream()) return NULL;
    dnnl_primitive_desc_t pd = describe(rows, k, n, precision != CKPT_DNNL_INT8, 0, precision);
    if (!pd) return NULL;
    ckpt_dnnl_weights *packed = calloc(1, sizeof *packed);
    packed->precision = precision;
    packed->id = next_id();
    packed->desc = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    packed->k = k;
    packed->n = n;
    packed->block_stride = output_block_stride(&packed->desc);
    packed->k_padded = packed->desc.padded_dims[0];
    dnnl_primitive_desc_destroy(pd);
    // w [n, k] row-major is W [k, n] with the "ba" tag.
    dnnl_memory_desc_t plain;
    dnnl_dims_t dims = {k, n};
    dnnl_memory_desc_init_by_tag(&plain, 2, dims, weight_type[source_type], dnnl_ba);
    dnnl_memory_t source = NULL;
    dnnl_primitive_desc_t reorder_pd = NULL;
    dnnl_primitive_t reorder = NULL;
    int ok = dnnl_memory_create(&packed->memory, &packed->desc, engine(), DNNL_MEMORY_ALLOCATE) == dnnl_success
        && dnnl_memory_create(&source, &plain, engine(), (void *)w) == dnnl_success
        && dnnl_reorder_primitive_desc_create(&reorder_pd, &plain, engine(), &packed->desc, engine(), NULL) == dnnl_success
        && dnnl_primitive_create(&reorder, reorder_pd) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, packed->memory}};
        ok = dnnl_primitive_execute(reorder, thread_stream(), 2, args) == dnnl_success && dnnl_stream_wait(thread_stream()) == dnnl_success;
    }
    if (reorder) dnnl_primitive_destroy(reorder);
    if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
    if (source) dnnl_memory_destroy(source);
    void *data = NULL;
    if (ok) ok = dnnl_memory_get_data_handle(packed->memory, &data) == dnnl_success && data;
    if (!ok) {
        ckpt_dnnl_weights_free(packed);
        return NULL;
    }
    packed->data = data;
    if (precision == CKPT_DNNL_BF16 && packed->block_stride && ckpt_dnnl_bf16_widened()) {
        // The f32 kernel's layout for this shape: blocks of 64 outputs over at most the bf16 rows.
        dnnl_primitive_desc_t wide = describe(rows, k, n, 1, 0, CKPT_DNNL_F32);
        if (wide) {
            packed->wide_desc = *dnnl_primitive_desc_query_md(wide, dnnl_query_weights_md, 0);
            packed->widen = output_block_stride(&packed->wide_desc) != 0 && packed->wide_desc.padded_dims[0] <= packed->k_padded;
            dnnl_primitive_desc_destroy(wide);
        }
    }
    return packed;
}

void ckpt_dnnl_weights_free(ckpt_dnnl_weights *weights) {
    if (!weights) return;
    if (weights->memory) dnnl_memory_destroy(weights->memory);
    free(weights);
}

int64_t ckpt_dnnl_weights_inputs(const ckpt_dnnl_weights *weights) { return weights->k; }

int64_t ckpt_dnnl_weights_outputs(const ckpt_dnnl_weights *weights) { return weights->n; }

int ckpt_dnnl_weights_precision(const ckpt_dnnl_weights *weights) { return weights->precision; }

int ckpt_dnnl_weights_take_f32(const ckpt_dnnl_weights *weights) {
    return weights->precision == CKPT_DNNL_F32 || (weights->precision == CKPT_DNNL_BF16 && weights->widen);
}

int ckpt_dnnl_int8_native(void) {
    // VNNI sums u8 · s8 pairs into s32 without the 16-bit saturation of the older instructions.
    return engine() && (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_vnni) == dnnl_cpu_isa_avx512_core_vnni;
}

int ckpt_dnnl_weights_sliceable(const ckpt_dnnl_weights *weights) { return weights->sliceable; }

int64_t ckpt_dnnl_weights_bytes(const ckpt_dnnl_weights *weights) { return (int64_t)dnnl_memory_desc_get_size(&weights->desc); }

// Whether `desc` is a plain (unblocked) layout of W [k, n], as oneDNN's GEMM-based products take it.
static int is_plain(const dnnl_memory_desc_t *desc) {
    return desc->format_kind == dnnl_blocked && desc->format_desc.blocking.inner_nblks == 0 && desc->extra.flags == 0 && desc->offset0 == 0;
}

int ckpt_dnnl_weights_readable(const ckpt_dnnl_weights *weights) {
    return weights->precision != CKPT_DNNL_INT8 && (weights->block_stride || is_plain(&weights->desc));
}

// Element `at` of the packed weights as f32 (bf16 ones widened).
static inline float packed_value(const ckpt_dnnl_weights *weights, int64_t at) {
    if (weights->precision == CKPT_DNNL_F32) return weights->data[at];
    uint32_t bits = (uint32_t)((const uint16_t *)weights->data)[at] << 16;
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

void ckpt_dnnl_weights_output_row(const ckpt_dnnl_weights *weights, int64_t output, float *row) {
    if (weights->block_stride) {
        // Output j's weight for input i sits in j's block at ((i / g) * 64 + j % 64) * g + i % g.
        int64_t group = weights->precision == CKPT_DNNL_F32 ? 1 : 2, lane = output % OUTPUT_BLOCK;
        int64_t start = output / OUTPUT_BLOCK * weights->block_stride;
        for (int64_t i = 0; i < weights->k; i++) row[i] = packed_value(weights, start + (i / group * OUTPUT_BLOCK + lane) * group + i % group);
    } else {
        const dnnl_dim_t *strides = weights->desc.format_desc.blocking.strides;
        for (int64_t i = 0; i < weights->k; i++) row[i] = packed_value(weights, i * strides[0] + output * strides[1]);
    }
}

// Whether `narrow`, the layout of a product's columns, is the slice of `weights`' blocks that
// starts at a block boundary: blocks of 64 outputs over the same padded k.
static int is_slice_layout(const dnnl_memory_desc_t *narrow, const ckpt_dnnl_weights *weights) {
    return weights->block_stride && !weights->widen && output_block_stride(narrow) == weights->block_stride
        && narrow->padded_dims[0] == weights->k_padded;
}

ckpt_dnnl_product *ckpt_dnnl_product_create(const ckpt_dnnl_weights *weights, int64_t rows, int64_t columns, int has_bias, int accumulate) {
    if (!thread_stream() || columns < 1 || columns > weights->n) return NULL;
    if (weights->precision == CKPT_DNNL_INT8 && (has_bias || accumulate)) return NULL;
    dnnl_primitive_desc_t pd = describe(rows, weights->k, columns, has_bias, accumulate, weights->widen ? CKPT_DNNL_F32 : weights->precision);
    if (!pd) return NULL;
    ckpt_dnnl_product *product = NULL;
    const dnnl_memory_desc_t *w = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    int slice = columns < weights->n;
    if (slice ? is_slice_layout(w, weights) : dnnl_memory_desc_equal(w, weights->widen ? &weights->wide_desc : &weights->desc)) {
        product = calloc(1, sizeof *product);
        product->id = next_id();
        product->accumulate = accumulate;
        product->w = *w;
        product->slice = slice;
        product->x = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
        product->y = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
        product->scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
        if (has_bias) product->bias = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1);
        const char *implementation = "";
        dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implementation);
        product->implementation = implementation;  // a static string of oneDNN's
        if (dnnl_primitive_create(&product->primitive, pd) != dnnl_success) {
            free(product);
            product = NULL;
        }
    }
    dnnl_primitive_desc_destroy(pd);
    return product;
}

void ckpt_dnnl_product_free(ckpt_dnnl_product *product) {
    if (!product) return;
    dnnl_primitive_destroy(product->primitive);
    free(product);
}

const char *ckpt_dnnl_product_implementation(const ckpt_dnnl_product *product) { return product->implementation; }

int ckpt_dnnl_gemm(int transpose_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                   int64_t ldb, float *c, int64_t ldc) {
    if (!thread_stream()) return dnnl_runtime_error;  // also holds this thread's OpenMP limit at one
    return (int)dnnl_sgemm('N', transpose_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, 0.0f, c, ldc);
}

// A thread's buffer, grown to the largest size asked for.
typedef struct {
    void *data;
    size_t capacity;
} growing_buffer;

static void *reserve(growing_buffer *buffer, size_t bytes) {
    if (bytes > buffer->capacity) {
        free(buffer->data);
        buffer->capacity = (bytes + 4095) / 4096 * 4096;
        buffer->data = aligned_alloc(64, buffer->capacity);
        if (!buffer->data) buffer->capacity = 0;
    }
    return buffer->data;
}

// The row a thread's one-row products read, `padded_bytes` long: zeros after its first `bytes`,
// which the caller fills with x's k values.
static void *padded_row(size_t bytes, size_t padded_bytes) {
    static _Thread_local growing_buffer row;
    char *data = reserve(&row, padded_bytes);
    if (data) memset(data + bytes, 0, padded_bytes - bytes);
    return data;
}

// The bias, then y, added to a block row's sums.
__attribute__((always_inline)) static inline void finish_row(const float *total, int64_t width, const float *bias, float *restrict y,
                                                             int accumulate) {
    for (int64_t j = 0; j < width; j++) {
        float value = bias ? total[j] + bias[j] : total[j];
        y[j] = accumulate ? value + y[j] : value;
    }
}

// One block of 64 outputs: y[j] = Σ_k x[k]·w[k][j], summed in runs of `chunk` k (fused multiply-adds
// in k order), the runs' sums added in order; then the bias, then y.
__attribute__((always_inline)) static inline void block_row(const float *restrict x, const float *restrict w, int64_t k, int64_t chunk,
                                                            int64_t width, const float *bias, float *restrict y, int accumulate) {
    float total[OUTPUT_BLOCK], acc[OUTPUT_BLOCK];
    for (int64_t first = 0; first < k; first += chunk) {
        for (int j = 0; j < OUTPUT_BLOCK; j++) acc[j] = 0;
        int64_t end = first + chunk < k ? first + chunk : k;
        for (int64_t i = first; i < end; i++) {
            const float *row = w + i * OUTPUT_BLOCK;
            for (int j = 0; j < OUTPUT_BLOCK; j++) acc[j] = __builtin_fmaf(x[i], row[j], acc[j]);
        }
        for (int j = 0; j < OUTPUT_BLOCK; j++) total[j] = first == 0 ? acc[j] : total[j] + acc[j];
    }
    finish_row(total, width, bias, y, accumulate);
}

// Columns [origin, end) of a row product (origin a multiple of 64), into y and from bias, which
// start at column `origin`.
__attribute__((target_clones("avx512f", "avx2", "default")))
static void f32_row_product(const ckpt_dnnl_weights *weights, int64_t origin, int64_t end, const float *x, const float *bias, float *y,
                            int accumulate) {
    for (int64_t first = origin; first < end; first += OUTPUT_BLOCK) {
        int64_t width = end - first < OUTPUT_BLOCK ? end - first : OUTPUT_BLOCK;
        block_row(x, weights->data + first / OUTPUT_BLOCK * weights->block_stride, weights->k, weights->row_chunk, width,
                  bias ? bias + (first - origin) : NULL, y + (first - origin), accumulate);
    }
}

// How far ahead the bf16 and int8 row loops prefetch their weights: 8 KB of a block. On an AMD EPYC
// (family 26), with each variant timed on its second pass over a decode's weights, 8 KB read 5–10 %
// more bytes per second than no prefetching in the int8 loop, and 2, 4 and 16 KB no more than 8 in
// the bf16 one. Blocks are read one at a time, as one stream: there, beyond the L3, two blocks side
// by side read 7 % (one thread) to 15 % (two) fewer bytes per second.
enum { PREFETCH_BYTES = 8192 };

// Fetches the weights that the loop over a block's pairs or quads of k will read PREFETCH_BYTES
// after the 4 × 64 bytes at `row`.
__attribute__((always_inline)) static inline void prefetch_ahead(const void *row) {
    for (int c = 0; c < 4; c++) _mm_prefetch((const char *)row + PREFETCH_BYTES + 64 * c, _MM_HINT_T0);
}

// One block of 64 outputs of a bf16 row product, from column `first`, in the order of the block
// products' kernel: runs of k whose sums are then added in order, then the bias, then y. Within a
// run, for each pair p of k, ADD_PAIR(c, pairs, p) adds to acc[c] the pair's terms for outputs
// 16c ... 16c + 15, whose (even, odd) bf16 weights are the 32-bit lanes of `pairs`.
#define BF16_BLOCK(ADD_PAIR)                                                                                      \
    do {                                                                                                          \
        const uint16_t *w = (const uint16_t *)weights->data + first / OUTPUT_BLOCK * weights->block_stride;      \
        __m512 total[4];                                                                                          \
        for (int64_t start = 0; start < weights->k_padded; start += weights->row_chunk) {                         \
            __m512 acc[4];                                                                                        \
            for (int c = 0; c < 4; c++) acc[c] = _mm512_setzero_ps();                                             \
            int64_t stop = start + weights->row_chunk < weights->k_padded ? start + weights->row_chunk : weights->k_padded; \
            for (int64_t p = start / 2; p < stop / 2; p++) {                                                      \
                const uint16_t *pairs_row = w + p * 2 * OUTPUT_BLOCK;                                             \
                prefetch_ahead(pairs_row);                                                                        \
                for (int c = 0; c < 4; c++) ADD_PAIR(c, _mm512_loadu_si512(pairs_row + 32 * c), p);               \
            }                                                                                                     \
            for (int c = 0; c < 4; c++) total[c] = start == 0 ? acc[c] : _mm512_add_ps(total[c], acc[c]);        \
        }                                                                                                         \
        float sums[OUTPUT_BLOCK];                                                                                 \
        for (int c = 0; c < 4; c++) _mm512_storeu_ps(sums + 16 * c, total[c]);                                    \
        finish_row(sums, end - first < OUTPUT_BLOCK ? end - first : OUTPUT_BLOCK, bias, y, accumulate);           \
    } while (0)

// oneDNN's bf16 kernel adds each pair's two exact products to the sum with VDPBF16PS (the odd
// term's, then the even one's, each sum rounded, subnormals flushed to zero), and so does this
// block. x holds the row's bf16 bits, padded to k_padded (an even count) with zeros. VDPBF16PS
// rather than the same arithmetic in two FMAs read 3–7 % more bytes per second on a Zen 5.
#define DOT_PAIR(c, pairs, p) acc[c] = _mm512_dpbf16_ps(acc[c], (__m512bh)_mm512_set1_epi32(x_pairs[p]), (__m512bh)(pairs))
__attribute__((target("avx512f,avx512bw,avx512bf16")))
static void bf16_pairs_block(const ckpt_dnnl_weights *weights, const uint16_t *x, int64_t first, int64_t end, const float *bias, float *y,
                             int accumulate) {
    const int32_t *x_pairs = (const int32_t *)x;
    BF16_BLOCK(DOT_PAIR);
}

// oneDNN's f32 kernel over widened weights adds the terms in k order; so does this block, with the
// weights widened (the even one of a pair is its lane's low half) and exact products in FMAs. x
// holds the row's bf16 values as f32, padded to k_padded with zeros.
#define WIDENED_PAIR(c, pairs, p)                                                                                    \
    do {                                                                                                             \
        __m512i lanes = (pairs);                                                                                     \
        acc[c] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(lanes, 16)), _mm512_set1_ps(x[2 * (p)]), acc[c]); \
        acc[c] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(lanes, high)), _mm512_set1_ps(x[2 * (p) + 1]), acc[c]); \
    } while (0)
__attribute__((target("avx512f,avx512bw")))
static void bf16_widened_block(const ckpt_dnnl_weights *weights, const float *x, int64_t first, int64_t end, const float *bias, float *y,
                               int accumulate) {
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    BF16_BLOCK(WIDENED_PAIR);
}

// Columns [origin, end) (origin a multiple of 64), as f32_row_product; x as `loop_row` gives it.
static void bf16_row_product(const ckpt_dnnl_weights *weights, int64_t origin, int64_t end, const void *x, const float *bias, float *y,
                             int accumulate) {
    for (int64_t first = origin; first < end; first += OUTPUT_BLOCK) {
        const float *block_bias = bias ? bias + (first - origin) : NULL;
        if (weights->widen) bf16_widened_block(weights, x, first, end, block_bias, y + (first - origin), accumulate);
        else bf16_pairs_block(weights, x, first, end, block_bias, y + (first - origin), accumulate);
    }
}

// Whether [first, first + columns) is a range of whole blocks of these weights' columns (the last may end at n).
static int block_range(const ckpt_dnnl_weights *weights, int64_t first, int64_t columns) {
    return first >= 0 && first % OUTPUT_BLOCK == 0 && columns > 0 && first + columns <= weights->n;
}

// Whether the row loops run over these weights: blocks of 64 outputs, with the summation runs of
// oneDNN's kernel found (f32, bf16), or int8 ones on VNNI.
static int row_loops_run(const ckpt_dnnl_weights *weights) {
    if (!weights->block_stride) return 0;
    if (weights->precision == CKPT_DNNL_INT8) return ckpt_dnnl_int8_native();
    return weights->row_chunk != 0;
}

// x[k] as the row loops over these weights read it: for f32 weights x itself; else a copy, in a
// buffer of the thread's padded with zeros to k_padded, of the values the products take (f32 for
// widened bf16 weights, bf16 bits for the others, u8 for int8). NULL when out of memory.
static const void *loop_row(const ckpt_dnnl_weights *weights, const void *x) {
    if (weights->precision == CKPT_DNNL_F32) return x;
    size_t element = weights->precision == CKPT_DNNL_INT8 ? 1 : weights->widen ? sizeof(float) : sizeof(uint16_t);
    void *padded = padded_row(element * (size_t)weights->k, element * (size_t)weights->k_padded);
    if (padded) memcpy(padded, x, element * (size_t)weights->k);
    return padded;
}

// Columns [origin, end) of an f32 or bf16 row product over a row from `loop_row` (origin a multiple
// of 64), into y and from bias, which start at column `origin`.
static void row_columns(const ckpt_dnnl_weights *weights, int64_t origin, int64_t end, const void *row, const float *bias, float *y,
                        int accumulate) {
    if (weights->precision == CKPT_DNNL_F32) f32_row_product(weights, origin, end, row, bias, y, accumulate);
    else bf16_row_product(weights, origin, end, row, bias, y, accumulate);
}

// The product of a single row x (f32 values, or bf16 bits for the bf16 kernel) over columns
// [first, first + columns) of f32 or bf16 weights, as `ckpt_dnnl_row_share` computes them.
// Returns 0, or -1 where the loop does not run over these weights (or out of memory).
static int row_product(const ckpt_dnnl_weights *weights, int64_t first, int64_t columns, const void *x, const float *bias, float *y,
                       int accumulate) {
    if (weights->precision == CKPT_DNNL_INT8 || !row_loops_run(weights) || !block_range(weights, first, columns)) return -1;
    const void *row = loop_row(weights, x);
    if (!row) return -1;
    row_columns(weights, first, first + columns, row, bias, y, accumulate);
    return 0;
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void int8_row_sums(const ckpt_dnnl_weights *weights, int64_t origin, int64_t end, const uint8_t *x, int32_t *sums) {
    const int8_t *data = (const int8_t *)weights->data;
    const int32_t *quads = (const int32_t *)x;
    for (int64_t first = origin; first < end; first += OUTPUT_BLOCK) {
        const int8_t *w = data + first / OUTPUT_BLOCK * weights->block_stride;
        __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int64_t q = 0; q < weights->k_padded / 4; q++) {
            __m512i xq = _mm512_set1_epi32(quads[q]);
            const int8_t *quads_row = w + q * 4 * OUTPUT_BLOCK;
            prefetch_ahead(quads_row);
            for (int c = 0; c < 4; c++) acc[c] = _mm512_dpbusd_epi32(acc[c], xq, _mm512_loadu_si512(quads_row + 64 * c));
        }
        int32_t block[OUTPUT_BLOCK];
        for (int c = 0; c < 4; c++) _mm512_storeu_si512(block + 16 * c, acc[c]);
        int64_t width = end - first < OUTPUT_BLOCK ? end - first : OUTPUT_BLOCK;
        memcpy(sums + (first - origin), block, sizeof *block * (size_t)width);
    }
}

// The exact s32 sums of one u8 row x[k] with columns [first, first + columns) of int8 weights
// (first a multiple of 64; VNNI), as the int8 primitive computes them. Returns 0, or -1 where it
// cannot (weights not int8, another layout, no VNNI, out of memory).
static int row_sums(const ckpt_dnnl_weights *weights, int64_t first, int64_t columns, const uint8_t *x, int32_t *sums) {
    if (weights->precision != CKPT_DNNL_INT8 || !row_loops_run(weights) || !block_range(weights, first, columns)) return -1;
    const void *row = loop_row(weights, x);
    if (!row) return -1;
    int8_row_sums(weights, first, first + columns, row, sums);
    return 0;
}

// Columns [origin, end) of a one-row int8 product over a row from `loop_row`, 16 blocks of 64 at a
// time, dequantized with the row's scale and zero point into y; y, bias and the columns' sums and
// scales start at column `origin`.
static void int8_row_columns(const ckpt_dnnl_weights *weights, int64_t origin, int64_t end, const uint8_t *row, float scale,
                             int32_t zero_point, const int32_t *column_sums, const float *column_scales, const float *bias, float *y,
                             int accumulate) {
    enum { STRETCH = 16 * OUTPUT_BLOCK };
    for (int64_t first = origin; first < end; first += STRETCH) {
        int64_t width = end - first < STRETCH ? end - first : STRETCH, offset = first - origin;
        int32_t sums[STRETCH];
        int8_row_sums(weights, first, first + width, row, sums);
        ckpt_dequantize_rows(sums, 1, width, &scale, &zero_point, column_sums + offset, column_scales + offset,
                             bias ? bias + offset : NULL, y + offset, width, accumulate);
    }
}

// Claims the next run [*start, *end) of `total` items from *next for one of `participants`: half
// of a participant's share of what is left, so that runs are long while much is left and single
// items at the end, where they even out the threads' finishing times. Returns 0 when none are left.
static int claim_run(int64_t *next, int64_t total, int64_t participants, int64_t *start, int64_t *end) {
    int64_t first = __atomic_load_n(next, __ATOMIC_RELAXED), size;
    do {
        if (first >= total) return 0;
        size = (total - first) / (2 * participants);
        if (size < 1) size = 1;
    } while (!__atomic_compare_exchange_n(next, &first, first + size, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    *start = first;
    *end = first + size;
    return 1;
}

int ckpt_dnnl_row_shareable(const ckpt_dnnl_weights *weights) { return row_loops_run(weights); }

int ckpt_dnnl_row_share(const ckpt_dnnl_panel *panels, int64_t count, int64_t participants, int64_t *next, const void *x,
                        const ckpt_dnnl_int8_row *int8, const float *bias, float *y, int accumulate) {
    const ckpt_dnnl_weights *weights = panels[0].weights;  // every panel's k, precision and layout
    const void *row = loop_row(weights, x);
    if (!row) return -1;
    int64_t outputs = panels[count - 1].first + panels[count - 1].width, blocks = (outputs + OUTPUT_BLOCK - 1) / OUTPUT_BLOCK;
    for (int64_t start, end; claim_run(next, blocks, participants, &start, &end);) {
        for (int64_t first = start * OUTPUT_BLOCK, stop = end * OUTPUT_BLOCK < outputs ? end * OUTPUT_BLOCK : outputs; first < stop;) {
            const ckpt_dnnl_panel *panel = &panels[first / CKPT_DNNL_PANEL_WIDTH];
            int64_t last = panel->first + panel->width < stop ? panel->first + panel->width : stop;
            int64_t origin = panel->origin + (first - panel->first), columns = last - first;
            const float *bias_columns = bias ? bias + first : NULL;
            if (int8)
                int8_row_columns(panel->weights, origin, origin + columns, row, int8->scale, int8->zero_point, int8->column_sums + first,
                                 int8->column_scales + first, bias_columns, y + first, accumulate);
            else
                row_columns(panel->weights, origin, origin + columns, row, bias_columns, y + first, accumulate);
            first = last;
        }
    }
    return 0;
}

// Whether the panels' products of `rows` rows (the full width, and a shorter last one) read their
// columns in the layout of slices of `weights`.
static int panels_read_slices(const ckpt_dnnl_weights *weights, int64_t rows) {
    int64_t widths[2] = {weights->n < CKPT_DNNL_PANEL_WIDTH ? weights->n : CKPT_DNNL_PANEL_WIDTH, weights->n % CKPT_DNNL_PANEL_WIDTH};
    int slices = 1;
    for (int i = 0; i < 2 && slices; i++) {
        if (widths[i] == 0) continue;
        dnnl_primitive_desc_t pd = describe(rows, weights->k, widths[i], 0, 0, weights->precision);
        slices = pd && is_slice_layout(dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), weights);
        if (pd) dnnl_primitive_desc_destroy(pd);
    }
    return slices;
}

// Probe inputs of mixed signs and magnitudes, so that another order of additions shows in the bits.
static void probe_inputs(float *x, int64_t count) {
    for (int64_t i = 0; i < count; i++) x[i] = (float)((i * 7919) % 2003) / 1001.0f - 1.0f + (float)(i % 5) * 1e-3f;
}

// Whether products of a panel's columns over slices of `probe` give every bit of its product over all
// columns, on a probe block of `rows` rows: where oneDNN's kernel for the narrower product sums in
// the same order, a product can be cut into column panels (to spread a few rows over the threads)
// or not (to write whole rows, with one call per block), and its results are the same.
static int slices_exact(const ckpt_dnnl_weights *probe, int64_t rows) {
    int64_t k = probe->k, n = probe->n;
    size_t x_bytes = (size_t)(rows * k) * element_bytes[probe->precision], y_bytes = sizeof(float) * (size_t)(rows * n);
    char *x = malloc(x_bytes);
    float *xf = malloc(sizeof(float) * (size_t)(rows * k));
    void *expected = malloc(y_bytes), *y = malloc(y_bytes);
    ckpt_dnnl_product *whole = NULL;
    int exact = x && xf && expected && y && (whole = ckpt_dnnl_product_create(probe, rows, n, 0, 0));
    if (exact) {
        probe_inputs(xf, rows * k);
        if (probe->precision == CKPT_DNNL_BF16) ckpt_to_bf16(xf, (uint16_t *)x, rows * k);
        else memcpy(x, xf, x_bytes);
        exact = ckpt_dnnl_product_run(whole, probe, 0, x, NULL, expected, n) == 0;
    }
    for (int64_t first = 0; exact && first < n; first += CKPT_DNNL_PANEL_WIDTH) {
        int64_t columns = n - first < CKPT_DNNL_PANEL_WIDTH ? n - first : CKPT_DNNL_PANEL_WIDTH;
        ckpt_dnnl_product *panel = ckpt_dnnl_product_create(probe, rows, columns, 0, 0);
        exact = panel && ckpt_dnnl_product_run(panel, probe, first, x, NULL, (float *)y + first, n) == 0;
        ckpt_dnnl_product_free(panel);
    }
    exact = exact && memcmp(expected, y, y_bytes) == 0;
    ckpt_dnnl_product_free(whole);
    free(x);
    free(xf);
    free(expected);
    free(y);
    return exact;
}

// The summation runs oneDNN's kernel uses for one row of this shape and precision (f32 and bf16),
// found by trying each candidate (whole powers of two, then all of K) on a probe row against the
// primitive's own result: the row product is used only where one reproduces every bit.
static int64_t probe_row_chunk(const ckpt_dnnl_weights *probe) {
    int64_t k = probe->k, n = probe->n;
    int bf16 = probe->precision == CKPT_DNNL_BF16;
    if (bf16 && !(__builtin_cpu_supports("avx512bw") && (probe->widen || __builtin_cpu_supports("avx512bf16")))) return 0;
    float *x = malloc(sizeof(float) * k), *expected = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    uint16_t *x16 = malloc(sizeof(uint16_t) * k);
    ckpt_dnnl_product *product = x && x16 && expected && y ? ckpt_dnnl_product_create(probe, 1, n, 0, 0) : NULL;
    int64_t found = 0;
    if (product) {
        probe_inputs(x, k);
        ckpt_to_bf16(x, x16, k);
        if (probe->widen) ckpt_from_bf16(x16, x, k);  // the widened products take bf16 values as f32
        const void *row = bf16 && !probe->widen ? (const void *)x16 : (const void *)x;
        if (ckpt_dnnl_product_run(product, probe, 0, row, NULL, expected, n) == 0) {
            ckpt_dnnl_weights trial = *probe;
            int64_t limit = bf16 ? probe->k_padded : k;
            for (int64_t chunk = 16;; chunk *= 2) {
                trial.row_chunk = chunk < limit ? chunk : limit;
                if (row_product(&trial, 0, n, row, NULL, y, 0) == 0 && memcmp(y, expected, sizeof(float) * n) == 0) {
                    found = trial.row_chunk;
                    break;
                }
                if (trial.row_chunk == limit) break;
            }
        }
    }
    ckpt_dnnl_product_free(product);
    free(x);
    free(x16);
    free(expected);
    free(y);
    return found;
}

// What the probes find for f32 or bf16 weights of this shape (a probe matrix of mixed signs and
// magnitudes, since a model's own weights may hold zeros that would hide another order of
// additions), remembered per shape.
static shape_probe probe_shape(int64_t k, int64_t n, int64_t rows, int precision) {
    enum { SHAPES = 64 };
    static struct { int64_t k, n; int precision; shape_probe found; } known[SHAPES];
    static int count;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < count; i++) {
        if (known[i].k == k && known[i].n == n && known[i].precision == precision) {
            shape_probe found = known[i].found;
            pthread_mutex_unlock(&lock);
            return found;
        }
    }
    pthread_mutex_unlock(&lock);
    shape_probe found = {0, 0};
    float *w = malloc(sizeof(float) * k * n);
    ckpt_dnnl_weights *probe = NULL;
    if (w) {
        for (int64_t i = 0; i < k * n; i++) w[i] = (float)((i * 2654435761u) % 4099) / 2049.0f - 1.0f;
        probe = pack(w, CKPT_DNNL_F32, k, n, rows, precision);
    }
    if (probe && probe->block_stride) {
        found.row_chunk = probe_row_chunk(probe);
        found.sliceable = !probe->widen && panels_read_slices(probe, rows) && slices_exact(probe, rows);
    }
    ckpt_dnnl_weights_free(probe);
    free(w);
    pthread_mutex_lock(&lock);
    if (count < SHAPES) known[count++] = (typeof(known[0])){k, n, precision, found};
    pthread_mutex_unlock(&lock);
    return found;
}

// The memory objects a thread runs one product with, made on its first run and then only pointed
// at new data: making them anew for every piece cost as long as an int8 piece's product itself.
typedef struct {
    uint64_t id;
    dnnl_memory_t x, y, bias, scratch, wide, slice;
} run_memories;

enum { CACHED_PRODUCTS = 64 };

static void release(run_memories *m) {
    if (m->x) dnnl_memory_destroy(m->x);
    if (m->y) dnnl_memory_destroy(m->y);
    if (m->bias) dnnl_memory_destroy(m->bias);
    if (m->scratch) dnnl_memory_destroy(m->scratch);
    if (m->wide) dnnl_memory_destroy(m->wide);
    if (m->slice) dnnl_memory_destroy(m->slice);
    *m = (run_memories){0};
}

// This thread's memory objects for `product` (direct-mapped by id; a collision remakes them), or
// NULL when oneDNN cannot make them.
static run_memories *memories(const ckpt_dnnl_product *product, const ckpt_dnnl_weights *weights) {
    static _Thread_local run_memories cache[CACHED_PRODUCTS];
    run_memories *m = &cache[product->id % CACHED_PRODUCTS];
    if (m->id == product->id) return m;
    release(m);
    int ok = dnnl_memory_create(&m->x, &product->x, engine(), DNNL_MEMORY_NONE) == dnnl_success
        && dnnl_memory_create(&m->y, &product->y, engine(), DNNL_MEMORY_NONE) == dnnl_success
        && (product->bias.ndims == 0 || dnnl_memory_create(&m->bias, &product->bias, engine(), DNNL_MEMORY_NONE) == dnnl_success)
        && (dnnl_memory_desc_get_size(&product->scratch) == 0
            || dnnl_memory_create(&m->scratch, &product->scratch, engine(), DNNL_MEMORY_NONE) == dnnl_success)
        && (!weights->widen || dnnl_memory_create(&m->wide, &weights->wide_desc, engine(), DNNL_MEMORY_NONE) == dnnl_success)
        && (!product->slice || dnnl_memory_create(&m->slice, &product->w, engine(), DNNL_MEMORY_NONE) == dnnl_success);
    if (!ok) {
        release(m);
        return NULL;
    }
    m->id = product->id;
    return m;
}

// bf16 weights [k_padded / 2][64][2] per block of 64 outputs written as the f32 kernel's
// [k_wide][64]: each lane pair's low half is an even k, its high half the odd k after it.
__attribute__((target("avx512f,avx512bw")))
static void widen(const ckpt_dnnl_weights *weights, float *out) {
    const uint16_t *data = (const uint16_t *)weights->data;
    const __m512i high = _mm512_set1_epi32((int)0xffff0000u);
    int64_t rows = weights->wide_desc.padded_dims[0], blocks = weights->wide_desc.padded_dims[1] / OUTPUT_BLOCK;
    for (int64_t b = 0; b < blocks; b++) {
        const uint16_t *in = data + b * weights->block_stride;
        float *o = out + b * rows * OUTPUT_BLOCK;
        for (int64_t p = 0; p < rows / 2; p++) {
            for (int c = 0; c < 4; c++) {
                __m512i pairs = _mm512_loadu_si512(in + p * 2 * OUTPUT_BLOCK + 32 * c);
                _mm512_storeu_si512(o + 2 * p * OUTPUT_BLOCK + 16 * c, _mm512_slli_epi32(pairs, 16));
                _mm512_storeu_si512(o + (2 * p + 1) * OUTPUT_BLOCK + 16 * c, _mm512_and_si512(pairs, high));
            }
        }
    }
}

static int run(const ckpt_dnnl_product *product, const ckpt_dnnl_weights *weights, int64_t first, const void *x, const float *bias, void *y) {
    dnnl_stream_t stream = thread_stream();
    if (!stream) return dnnl_runtime_error;
    static _Thread_local growing_buffer scratch_space, wide_space;
    static _Thread_local uint64_t widened_id;  // whose weights wide_space holds
    run_memories *m = memories(product, weights);
    size_t scratch_bytes = dnnl_memory_desc_get_size(&product->scratch);
    void *scratch = scratch_bytes ? reserve(&scratch_space, scratch_bytes) : NULL;
    if (!m || (scratch_bytes && !scratch)) return dnnl_out_of_memory;
    dnnl_memory_t weights_memory = weights->memory;
    if (weights->widen) {
        void *before = wide_space.data;
        float *wide = reserve(&wide_space, dnnl_memory_desc_get_size(&weights->wide_desc));
        if (!wide || dnnl_memory_set_data_handle(m->wide, wide) != dnnl_success) return dnnl_out_of_memory;
        // A thread running one panel's pieces one after another (see LinearWeight) widens it once.
        if (weights->id != widened_id || wide != before) {
            widen(weights, wide);
            widened_id = weights->id;
        }
        weights_memory = m->wide;
    } else if (product->slice) {
        if (!block_range(weights, first, product->y.dims[1])) return dnnl_invalid_arguments;
        const char *start = (const char *)weights->data + (size_t)(first / OUTPUT_BLOCK * weights->block_stride) * element_bytes[weights->precision];
        if (dnnl_memory_set_data_handle(m->slice, (void *)start) != dnnl_success) return dnnl_runtime_error;
        weights_memory = m->slice;
    } else if (first != 0 || product->y.dims[1] != weights->n) {
        return dnnl_invalid_arguments;
    }
    dnnl_exec_arg_t args[5];
    int count = 0;
    dnnl_status_t status = dnnl_memory_set_data_handle(m->x, (void *)x);
    if (status == dnnl_success) status = dnnl_memory_set_data_handle(m->y, y);
    if (bias && !m->bias) return dnnl_invalid_arguments;  // a product made without a bias
    if (status == dnnl_success && bias) status = dnnl_memory_set_data_handle(m->bias, (void *)bias);
    if (status == dnnl_success && scratch) status = dnnl_memory_set_data_handle(m->scratch, scratch);
    if (status == dnnl_success) {
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, m->x};
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, weights_memory};
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_DST, m->y};
        if (bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m->bias};
        if (scratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, m->scratch};
        status = dnnl_primitive_execute(product->primitive, stream, count, args);
        if (status == dnnl_success) status = dnnl_stream_wait(stream);
    }
    return (int)status;
}

int ckpt_dnnl_product_run(const ckpt_dnnl_product *product, const ckpt_dnnl_weights *weights, int64_t first, const void *x, const float *bias,
                          void *y, int64_t ldy) {
    int64_t rows = product->y.dims[0], n = product->y.dims[1];
    if (ldy == n) return run(product, weights, first, x, bias, y);
    // oneDNN's batch-reduce kernels write dense rows only (with a strided output it picks another
    // kernel and weight layout), so the rows go through a buffer the thread keeps (f32 or s32: 4 bytes).
    static _Thread_local growing_buffer staging_space;
    uint32_t *staging = reserve(&staging_space, (size_t)(rows * n) * 4), *out = y;
    if (!staging) return dnnl_out_of_memory;
    if (product->accumulate) {
        for (int64_t r = 0; r < rows; r++) memcpy(staging + r * n, out + r * ldy, (size_t)n * 4);
    }
    int status = run(product, weights, first, x, bias, staging);
    if (status == dnnl_success) {
        for (int64_t r = 0; r < rows; r++) memcpy(out + r * ldy, staging + r * n, (size_t)n * 4);
    }
    return status;
}

int ckpt_dnnl_int8_piece(const ckpt_dnnl_product *product, const ckpt_dnnl_weights *weights, int64_t first, int64_t columns,
                         const uint8_t *x, const float *row_scales, const int32_t *row_zero_points, const int32_t *column_sums,
                         const float *column_scales, const float *bias, float *y, int64_t ldy, int accumulate) {
    int64_t rows = product->y.dims[0];
    if (rows != 1 && !accumulate && ldy == columns) {
        // The sums take the output's place: half the bytes of a separate buffer pass through the
        // cache (a 128-row block of MiniLM's feed-forward stays in a core's L2).
        int status = ckpt_dnnl_product_run(product, weights, first, x, NULL, y, columns);
        if (status != dnnl_success) return status;
        ckpt_dequantize_rows_in_place(y, rows, columns, row_scales, row_zero_points, column_sums, column_scales, bias);
        return dnnl_success;
    }
    static _Thread_local growing_buffer sums_space;
    int32_t *sums = reserve(&sums_space, sizeof(int32_t) * (size_t)(rows * columns));
    if (!sums) return dnnl_out_of_memory;
    // Integer sums are exact, so the row loop and a block of any row count give each row the same ones.
    if (rows != 1 || row_sums(weights, first, columns, x, sums) != 0) {
        int status = ckpt_dnnl_product_run(product, weights, first, x, NULL, sums, columns);
        if (status != dnnl_success) return status;
    }
    ckpt_dequantize_rows(sums, rows, columns, row_scales, row_zero_points, column_sums, column_scales, bias, y, ldy, accumulate);
    return dnnl_success;
}
