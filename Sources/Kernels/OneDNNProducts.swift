import COneDNN
import Synchronization

/// oneDNN product primitives, made once per shape and kept for the process: creating one
/// generates its machine code, which takes far longer than running it on a block.
enum OneDNNProducts {
    private struct Shape: Hashable {
        /// K, and N of the packed weights, of which the product reads `width` columns.
        let inputs: Int, outputs: Int, width: Int, rows: Int, bias: Bool, accumulate: Bool, precision: Int32
    }

    /// A product and whether a row's result in it is the same as in a product of any other row
    /// count over the same weights: true of oneDNN's batch-reduce GEMM kernels ("brg:…", chosen on
    /// AVX-512 CPUs), whose reduction order over K does not depend on the rows; oneDNN's older
    /// GEMM ("gemm:jit", its AVX2 route) rounds a short block's rows differently.
    struct Product: @unchecked Sendable {
        let pointer: OpaquePointer
        let rowInvariant: Bool

        /// The implementation oneDNN chose ("brg:avx512_core", "gemm:jit", ...).
        var implementation: String { String(cString: ckpt_dnnl_product_implementation(pointer)) }
    }

    /// Made products by shape; nil where oneDNN wants the weights in another layout for that row count.
    private static let made = Mutex<[Shape: Product?]>([:])

    /// Whether oneDNN runs products here (its CPU engine starts and packs a small matrix).
    static let available: Bool = {
        let weight = [Float](repeating: 1, count: 16 * 16)
        guard let packed = weight.withUnsafeBufferPointer({
            ckpt_dnnl_pack($0.baseAddress!, Int32(CKPT_DNNL_F32), 16, 16, 16, Int32(CKPT_DNNL_F32))
        }) else { return false }
        ckpt_dnnl_weights_free(packed)
        return true
    }()

    /// The product of `rows` rows over `width` of the outputs packed as `packed` (all of them, or a
    /// panel of sliceable weights; K from the weights), writing contiguous rows; nil when that row
    /// count or width needs another layout.
    static func product(_ packed: OpaquePointer, rows: Int, width: Int, bias: Bool, accumulate: Bool) -> Product? {
        let shape = Shape(inputs: Int(ckpt_dnnl_weights_inputs(packed)), outputs: Int(ckpt_dnnl_weights_outputs(packed)), width: width,
                          rows: rows, bias: bias, accumulate: accumulate, precision: ckpt_dnnl_weights_precision(packed))
        if let known = made.withLock({ $0[shape] }) { return known }
        // Made outside the lock (it is slow); if two threads race, the first stored one is kept.
        let fresh = ckpt_dnnl_product_create(packed, Int64(rows), Int64(width), bias ? 1 : 0, accumulate ? 1 : 0).map { pointer in
            Product(pointer: pointer, rowInvariant: String(cString: ckpt_dnnl_product_implementation(pointer)).hasPrefix("brg"))
        }
        let kept = made.withLock { table -> Product? in
            if let known = table[shape] { return known }
            table[shape] = fresh
            return fresh
        }
        if let fresh, kept?.pointer != fresh.pointer { ckpt_dnnl_product_free(fresh.pointer) }
        return kept
    }

    /// Runs a product on the calling thread over the packed outputs from `first`: x and y of the
    /// precision's element types, y's rows `ldy` elements apart (see `ckpt_dnnl_product_run`).
    /// oneDNN fails only for lack of memory here, which ckpt treats as it treats a failed allocation.
    static func run(_ product: Product, _ packed: OpaquePointer, first: Int, _ x: UnsafeRawPointer, _ bias: UnsafePointer<Float>?,
                    _ y: UnsafeMutableRawPointer, ldy: Int) {
        succeeded(ckpt_dnnl_product_run(product.pointer, packed, Int64(first), x, bias, y, Int64(ldy)))
    }

    /// Stops on a failed oneDNN call (see `run`).
    static func succeeded(_ status: Int32) {
        precondition(status == 0, "oneDNN product failed with status \(status)")
    }

    /// The implementation oneDNN chose for a product of `rows` rows of a [width, inputs] panel in
    /// `precision`; nil where it has none.
    static func implementation(inputs: Int, width: Int, rows: Int, precision: Precision = .f32) -> String? {
        let weight = [Int8](repeating: 0, count: 4 * width * inputs)
        guard let packed = weight.withUnsafeBytes({
            let (source, target) = precision == .int8 ? (CKPT_DNNL_INT8, CKPT_DNNL_INT8) : (CKPT_DNNL_F32, precision == .bf16 ? CKPT_DNNL_BF16 : CKPT_DNNL_F32)
            return ckpt_dnnl_pack($0.baseAddress!, Int32(source), Int64(inputs), Int64(width), Int64(rows), Int32(target))
        }) else { return nil }
        defer { ckpt_dnnl_weights_free(packed) }
        return product(packed, rows: rows, width: width, bias: false, accumulate: false)?.implementation
    }
}
