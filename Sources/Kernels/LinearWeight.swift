import CkptSupport
import COneDNN

/// A weight matrix w [N, K] (PyTorch's `nn.Linear` layout), packed once at load into the layout
/// its engine's product reads, for y[M, N] = x[M, K] · wᵀ (+ bias) (+ y).
///
/// Determinism: a product is cut into pieces of fixed shape — blocks of `rowBlock` rows (the last
/// one shorter) by panels of `panelWidth` outputs — that the threads take one at a time, each
/// running on one thread. A piece's result depends only on its inputs and shape, never on the
/// thread that runs it, so products are the same bits at any thread count. A row's result does
/// not depend on the other rows of its product either (the batch invariance that features and
/// servers need): `LinearWeightTests` checks it for every row count up to two blocks on both
/// engines. A shorter last block runs as it is only on oneDNN's kernels whose rows do not depend on
/// the row count, else it is padded to a whole one. The exception is a product of a single row
/// (decoding one token) on OpenBLAS or oneDNN's AVX2 route: it runs as such, and may differ in the
/// last bits from that row in a larger product.
public final class LinearWeight: @unchecked Sendable {
    /// K and N.
    public let inputs: Int, outputs: Int
    public let engine: MatmulEngine
    /// Rows of x per piece.
    public static let rowBlock = 64
    /// Outputs per piece: narrow enough that one decoded token's product (M = 1) spreads over the threads.
    public static let panelWidth = 128

    private let panels: [Panel]

    private struct Panel {
        let first: Int, width: Int
        /// Plain rows first ..< first + width of w (OpenBLAS), or
        let plain: UnsafeMutablePointer<Float>?
        /// the panel in oneDNN's layout.
        let packed: OpaquePointer?
    }

    /// Packs `weight` ([outputs, inputs], row-major; read only during the call). oneDNN is used
    /// only where it runs (`OneDNNProducts.available`), else OpenBLAS.
    public init(_ weight: UnsafePointer<Float>, outputs: Int, inputs: Int, engine: MatmulEngine = .current) {
        precondition(outputs > 0 && inputs > 0, "LinearWeight: empty matrix [\(outputs), \(inputs)]")
        self.inputs = inputs
        self.outputs = outputs
        let engine: MatmulEngine = engine == .onednn && OneDNNProducts.available ? .onednn : .openblas
        self.engine = engine
        panels = stride(from: 0, to: outputs, by: Self.panelWidth).map { first in
            let width = min(Self.panelWidth, outputs - first), rows = weight + first * inputs
            guard engine == .openblas else {
                // oneDNN runs here, so packing fails only for lack of memory.
                let packed = ckpt_dnnl_pack(rows, Int64(inputs), Int64(width), Int64(Self.rowBlock))
                precondition(packed != nil, "LinearWeight: oneDNN could not pack a [\(width), \(inputs)] panel")
                return Panel(first: first, width: width, plain: nil, packed: packed)
            }
            let plain = UnsafeMutablePointer<Float>.allocate(capacity: width * inputs)
            plain.initialize(from: rows, count: width * inputs)
            return Panel(first: first, width: width, plain: plain, packed: nil)
        }
    }

    /// Packs an array [outputs, inputs].
    public convenience init(_ weight: [Float], outputs: Int, inputs: Int, engine: MatmulEngine = .current) {
        precondition(weight.count == outputs * inputs, "LinearWeight: \(weight.count) values are not [\(outputs), \(inputs)]")
        // A pointer may not outlive withUnsafeBufferPointer's closure, and self.init cannot run inside one.
        let copy = UnsafeMutableBufferPointer<Float>.allocate(capacity: weight.count)
        defer { copy.deallocate() }
        _ = copy.initialize(from: weight)
        self.init(copy.baseAddress!, outputs: outputs, inputs: inputs, engine: engine)
    }

    deinit {
        for panel in panels {
            panel.plain?.deallocate()
            if let packed = panel.packed { ckpt_dnnl_weights_free(packed) }
        }
    }

    /// Bytes of the packed weights.
    public var bytes: Int {
        panels.reduce(0) { $0 + ($1.packed.map { Int(ckpt_dnnl_weights_bytes($0)) } ?? $1.width * inputs * 4) }
    }

    /// y[M, N] = x[M, K] · wᵀ (+ bias[N]), or y += that with `accumulate`; on up to `threads`
    /// threads, with the same bits at any thread count. x and y are row-major and contiguous.
    public func apply(_ x: UnsafePointer<Float>, rows m: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                      accumulate: Bool = false, threads: Int) {
        guard m > 0 else { return }
        let blocks = (m + Self.rowBlock - 1) / Self.rowBlock, pieces = blocks * panels.count
        // Each thread writes only its own pieces of y.
        let operands = UncheckedSendable(Operands(x: x, y: y, bias: bias, rows: m))
        Parallel.forEachIndex(pieces, threads: threads) { piece in
            let first = piece / self.panels.count * Self.rowBlock, panel = self.panels[piece % self.panels.count]
            self.run(panel, operands.value, rows: first..<min(m, first + Self.rowBlock), accumulate: accumulate)
        }
    }

    /// One piece: rows × the panel's outputs.
    private func run(_ panel: Panel, _ o: Operands, rows: Range<Int>, accumulate: Bool) {
        let x = o.x + rows.lowerBound * inputs, y = o.y + rows.lowerBound * outputs + panel.first
        let bias = o.bias.map { $0 + panel.first }
        if let packed = panel.packed, o.rows == 1, ckpt_dnnl_row_product(packed, x, bias, y, accumulate ? 1 : 0) == 0 {
            // One row (a decoded token): a loop over the packed weights is memory-bound, with none
            // of a primitive's per-call set-up.
        } else if let packed = panel.packed {
            // oneDNN's product writes whole rows of its own output only (for a strided one it would
            // want the weights in another layout). A short block runs as it is where that leaves
            // its rows' results unchanged (or where the whole product is one row), else padded.
            let exact = OneDNNProducts.product(packed, rows: rows.count, width: panel.width, bias: bias != nil, accumulate: accumulate)
                .flatMap { $0.rowInvariant || o.rows == 1 || rows.count == Self.rowBlock ? $0 : nil }
            let product = exact ?? OneDNNProducts.product(packed, rows: Self.rowBlock, width: panel.width, bias: bias != nil,
                                                          accumulate: accumulate)!
            staged(rows.count, width: panel.width, padRows: exact == nil, ownOutput: panels.count > 1, accumulate: accumulate, x, y) { x, y, _ in
                OneDNNProducts.run(product, packed, x, bias, y)
            }
        } else if o.rows == 1 {
            BLAS.linear(x, rows: 1, inputs: inputs, weight: panel.plain!, outputs: panel.width, bias: bias, into: y, accumulate: accumulate)
        } else {
            // Always whole blocks, so that every row goes through the same OpenBLAS kernel.
            staged(rows.count, width: panel.width, padRows: rows.count < Self.rowBlock, ownOutput: false, accumulate: accumulate, x, y) {
                x, y, ldy in
                BLAS.linear(x, rows: Self.rowBlock, inputs: self.inputs, weight: panel.plain!, outputs: panel.width, bias: bias, into: y,
                            ldy: ldy, accumulate: accumulate)
            }
        }
    }

    /// Runs `body(x, y, ldy)` for one piece of `rows` rows and `width` outputs of y (row stride N):
    /// with `padRows`, on a whole block (x's rows copied into zeros); with `ownOutput` or
    /// `padRows`, into an output of the piece's own, whose rows are then copied to y (y's rows
    /// copied in first when the product adds to them). Only the piece's own columns of y are
    /// touched: other threads write the other panels' columns.
    private func staged(_ rows: Int, width: Int, padRows: Bool, ownOutput: Bool, accumulate: Bool, _ x: UnsafePointer<Float>,
                        _ y: UnsafeMutablePointer<Float>, _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) {
        guard padRows || ownOutput else { return body(x, y, outputs) }
        let blockRows = padRows ? Self.rowBlock : rows
        var xs: UnsafeMutablePointer<Float>?
        if padRows {
            xs = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * inputs)
            xs!.initialize(repeating: 0, count: blockRows * inputs)
            xs!.update(from: x, count: rows * inputs)
        }
        let ys = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * width)
        defer {
            xs?.deallocate()
            ys.deallocate()
        }
        ys.initialize(repeating: 0, count: blockRows * width)
        if accumulate { for r in 0..<rows { (ys + r * width).update(from: y + r * outputs, count: width) } }
        body(xs.map { UnsafePointer($0) } ?? x, ys, width)
        for r in 0..<rows { (y + r * outputs).update(from: ys + r * width, count: width) }
    }
}

/// The pointers of one product.
private struct Operands {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
    let bias: UnsafePointer<Float>?
    let rows: Int
}
