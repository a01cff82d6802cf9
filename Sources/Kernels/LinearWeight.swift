import CKernels
import CkptSupport
import COneDNN

/// A weight matrix w [N, K] (PyTorch's `nn.Linear` layout), packed once at load into the layout
/// its engine's product reads, for y[M, N] = x[M, K] · wᵀ (+ bias) (+ y).
///
/// Determinism: a product is cut into pieces of fixed shape — blocks of `rowBlock` rows (the last
/// one shorter) by panels of `panelWidth` outputs — that the threads take one at a time, each
/// running on one thread. A piece's result depends only on its inputs and shape, never on the
/// thread that runs it, so products are the same bits at any thread count. Where oneDNN's panels
/// give every bit of its product over all outputs (`ckpt_dnnl_weights_sliceable`, probed per shape),
/// the weights are packed once and a product on one thread, or of enough row blocks, runs them as
/// whole rows instead: one call per run of up to `blocksPerRun` blocks, whose output rows need no
/// copying, and the same bits (oneDNN's AVX-512 kernels sum a row alike in a call of any row count). A product of a single
/// row (decoding one token) runs, where it can, as one loop per thread over the packed weights,
/// each thread claiming runs of 64 outputs (`ckpt_dnnl_row_share`): again each output's bits do not
/// depend on the thread that computes it, and they are the primitive's. A row's result does
/// not depend on the other rows of its product either (the batch invariance that features and
/// servers need): `LinearWeightTests` checks it for every row count up to two blocks on both
/// engines. A shorter last block runs as it is only on oneDNN's kernels whose rows do not depend on
/// the row count, else it is padded to a whole one; on OpenBLAS kernels that round a row by its
/// place in the block (`BLAS.roundsEveryRowAlike`), each row is a product of its own. The exception
/// is a product of a single row (decoding one token) on OpenBLAS or oneDNN's AVX2 route: it runs as
/// such, and may differ in the last bits from that row in a larger product.
public final class LinearWeight: @unchecked Sendable {
    /// K and N.
    public let inputs: Int, outputs: Int
    public let engine: MatmulEngine
    public let precision: Precision
    /// Whether the engine runs products in `precision` itself. Else (OpenBLAS, or a CPU without
    /// the instructions) the weights and each product's rows are rounded (bf16) or quantized (int8)
    /// as the precision says, and the product runs in f32: the same numbers, slower.
    public let native: Bool
    /// Rows of x per piece.
    public static let rowBlock = 64
    /// The most row blocks a product over whole rows runs in one call. Weights read from the L3
    /// (a model's layers do not fit a core's L2) cost a call of one 64-row block about 6 % of its
    /// rate against one of four blocks (bf16, MiniLM's shapes, one thread per core, on an AMD EPYC
    /// Zen 4); eight blocks were no faster than four.
    static let blocksPerRun = 4
    /// Outputs per piece: narrow enough that a product of a few rows spreads over the threads.
    public static let panelWidth = Int(CKPT_DNNL_PANEL_WIDTH)
    /// The most outputs packed as one matrix for whole rows. Its probe multiplies a matrix of the
    /// same shape once per process, which for a vocabulary's worth of outputs (GPT-2's 50,257)
    /// would cost more load time and memory (300 MB) than whole rows would save.
    static let wholeRowsOutputs = 8192

    private let panels: [Panel]
    /// The panel of all outputs, where the panels are slices of one sliceable pack.
    private let whole: Panel?
    /// Whether products take x in the precision's own element type (bf16 bits, u8) rather than as
    /// f32 values: oneDNN's bf16 and int8 kernels, but not bf16 weights multiplied widened to f32.
    private let takesReducedInputs: Bool
    /// int8: each output's weight scale, and the sum of its quantized weights (for the rows' zero points).
    private let columnScales: [Float], columnSums: [Int32]
    /// The panels as `ckpt_dnnl_row_share` reads them, where its loop runs over all of them (else nil):
    /// a product of one row then runs as one loop per thread.
    private let rowPanels: UnsafeMutablePointer<ckpt_dnnl_panel>?
    /// Whether `copyWeights(ofOutput:into:)` gives back the weights the products read: f32 and bf16
    /// ones (never int8's quantized values), in OpenBLAS's plain panels, oneDNN's blocks of 64
    /// outputs or its plain layouts (its GEMM-based products, as on AVX2). A model whose token
    /// table is also its output layer then keeps the table only here.
    public let weightsReadable: Bool

    struct Panel {
        let first: Int, width: Int
        /// Plain rows first ..< first + width of w (OpenBLAS), or
        let plain: UnsafeMutablePointer<Float>?
        /// the panel in oneDNN's layout: a pack of its own, or (where `whole` is set) the pack of all outputs.
        let packed: OpaquePointer?
        /// OpenBLAS: each row is a product of its own, because OpenBLAS's block product of this
        /// shape rounds a row by its place in the block (`BLAS.roundsEveryRowAlike`).
        var rowByRow = false
    }

    /// The weights a `LinearWeight` is made from, [outputs, inputs] row-major, read only during `init`.
    public enum Source {
        case f32(UnsafePointer<Float>)
        /// bf16 bits, packed as they are for bf16 products.
        case bf16(UnsafePointer<UInt16>)
        /// Quantized already (an int8 checkpoint); products in int8 use them as they are, others dequantize.
        case int8(Int8Weights)
    }

    /// Packs `weight` for products in `precision` (f32 weights are quantized or rounded here).
    /// oneDNN is used only where it runs (`OneDNNProducts.available`), else OpenBLAS.
    public convenience init(_ weight: UnsafePointer<Float>, outputs: Int, inputs: Int, precision: Precision = .f32,
                            engine: MatmulEngine = .current) {
        self.init(.f32(weight), outputs: outputs, inputs: inputs, precision: precision, engine: engine)
    }

    public init(_ source: Source, outputs: Int, inputs: Int, precision: Precision = .f32, engine: MatmulEngine = .current) {
        precondition(outputs > 0 && inputs > 0, "LinearWeight: empty matrix [\(outputs), \(inputs)]")
        self.inputs = inputs
        self.outputs = outputs
        self.precision = precision
        let engine: MatmulEngine = engine == .onednn && OneDNNProducts.available ? .onednn : .openblas
        self.engine = engine
        var quantized: Int8Weights?
        if precision == .int8 {
            switch source {
            case .int8(let weights): quantized = weights
            case .f32(let w): quantized = Int8Weights(quantizing: w, outputs: outputs, inputs: inputs)
            case .bf16(let w): quantized = Self.widened(w, count: outputs * inputs) { Int8Weights(quantizing: $0, outputs: outputs, inputs: inputs) }
            }
        }
        columnScales = quantized?.scales ?? []
        columnSums = quantized.map { Self.rowSums($0.values, inputs: inputs) } ?? []
        let nativePanels = engine == .onednn ? Self.nativePanels(source, quantized, outputs: outputs, inputs: inputs, precision: precision) : nil
        native = precision == .f32 || nativePanels != nil
        takesReducedInputs = precision != .f32 && nativePanels.map { precision == .int8 || ckpt_dnnl_weights_take_f32($0.panels[0].packed) == 0 } ?? false
        (panels, whole) = nativePanels ?? Self.f32Values(source, quantized, outputs: outputs, inputs: inputs, precision: precision) { w in
            guard engine == .openblas else {
                // oneDNN runs here, so packing f32 fails only for lack of memory.
                let packed = Self.onednnPanels(outputs: outputs) { first, width in
                    ckpt_dnnl_pack(w + first * inputs, Int32(CKPT_DNNL_F32), Int64(inputs), Int64(width), Int64(Self.rowBlock), Int32(CKPT_DNNL_F32))
                }
                precondition(packed != nil, "LinearWeight: oneDNN could not pack a [\(outputs), \(inputs)] matrix")
                return packed!
            }
            let panels = Self.panelSpans(outputs).map { first, width in
                let rows = w + first * inputs
                let plain = UnsafeMutablePointer<Float>.allocate(capacity: width * inputs)
                plain.initialize(from: rows, count: width * inputs)
                return Panel(first: first, width: width, plain: plain, packed: nil,
                             rowByRow: !BLAS.roundsEveryRowAlike(rows: Self.rowBlock, inputs: inputs, outputs: width))
            }
            return (panels, nil)
        }
        rowPanels = Self.rowPanels(panels, whole: whole)
        weightsReadable = precision != .int8 && panels.allSatisfy { panel in panel.packed.map { ckpt_dnnl_weights_readable($0) != 0 } ?? true }
    }

    /// Packs an array [outputs, inputs].
    public convenience init(_ weight: [Float], outputs: Int, inputs: Int, precision: Precision = .f32, engine: MatmulEngine = .current) {
        precondition(weight.count == outputs * inputs, "LinearWeight: \(weight.count) values are not [\(outputs), \(inputs)]")
        // A pointer may not outlive withUnsafeBufferPointer's closure, and self.init cannot run inside one.
        let copy = FloatBuffer(weight.count)
        _ = UnsafeMutableBufferPointer(start: copy.p, count: weight.count).update(from: weight)
        self.init(.f32(copy.p), outputs: outputs, inputs: inputs, precision: precision, engine: engine)
    }

    /// The panel's first column in its pack (see `origin(_:whole:)`).
    private func origin(_ panel: Panel) -> Int { Self.origin(panel, whole: whole) }

    /// The panels that own their weights: the panel of all outputs where the others are its slices.
    private var owningPanels: [Panel] { whole.map { [$0] } ?? panels }

    deinit {
        rowPanels?.deallocate()
        for panel in owningPanels {
            panel.plain?.deallocate()
            if let packed = panel.packed { ckpt_dnnl_weights_free(packed) }
        }
    }

    /// Whether products of enough row blocks run as whole rows over one pack (see the type's notes).
    var runsWholeRows: Bool { whole != nil }

    /// Whether a product of one row runs as one loop per thread over the packed weights (`ckpt_dnnl_row_share`).
    var runsRowLoop: Bool { rowPanels != nil }

    /// Bytes of the packed weights (and int8's scales and sums).
    public var bytes: Int {
        owningPanels.reduce(0) { $0 + ($1.packed.map { Int(ckpt_dnnl_weights_bytes($0)) } ?? $1.width * inputs * 4) } + 8 * columnSums.count
    }

    /// The weights of output `output` (w's row) into `row` [inputs], as the products read them:
    /// f32, or bf16 values widened. Only where `weightsReadable`.
    public func copyWeights(ofOutput output: Int, into row: UnsafeMutablePointer<Float>) {
        precondition(weightsReadable && (0..<outputs).contains(output), "LinearWeight: no readable weights for output \(output)")
        let panel = panels[output / Self.panelWidth]
        if let packed = panel.packed {
            ckpt_dnnl_weights_output_row(packed, Int64(origin(panel) + output - panel.first), row)
        } else {
            row.update(from: panel.plain! + (output - panel.first) * inputs, count: inputs)
        }
    }

    /// y[M, N] = x[M, K] · wᵀ (+ bias[N]), or y += that with `accumulate`; on up to `threads`
    /// threads, with the same bits at any thread count. x and y are row-major and contiguous.
    public func apply(_ x: UnsafePointer<Float>, rows m: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
                      accumulate: Bool = false, threads: Int) {
        guard m > 0 else { return }
        if m == 1, let rowPanels { return applyRow(x, rowPanels, bias: bias, into: y, accumulate: accumulate, threads: threads) }
        let blocks = (m + Self.rowBlock - 1) / Self.rowBlock
        // Whole rows on one thread, or where there are enough blocks to share among the threads
        // (the same bits as panels).
        let wholeRows = whole != nil && (threads == 1 || blocks >= 4 * threads), columnPieces = wholeRows ? 1 : panels.count
        // Whole rows take runs of up to `blocksPerRun` full blocks per call (the same bits as one
        // call per block, see `product`), the threads' shares of them, and the short last block alone.
        let blocksPerRun = wholeRows ? max(1, min(Self.blocksPerRun, m / Self.rowBlock / threads)) : 1
        let spans = Self.runs(of: 0..<m, blocksPerRun: blocksPerRun), pieces = spans.count * columnPieces
        let rows = PreparedRows(x, rows: m, inputs: inputs, precision: precision, bits: takesReducedInputs, threads: threads)
        // Each thread writes only its own pieces of y.
        let operands = UncheckedSendable(Operands(x: x, rows: rows, y: y, bias: bias, count: m))
        // Pieces go row block by row block; widened bf16 panels go panel by panel instead, so that a
        // thread widens a panel once for the blocks it takes in a row. Either order gives the same bits.
        let panelMajor = precision == .bf16 && native && !takesReducedInputs
        Parallel.forEachIndex(pieces, threads: threads) { piece in
            let (span, panel) = panelMajor ? (piece % spans.count, piece / spans.count) : (piece / columnPieces, piece % columnPieces)
            self.run(wholeRows ? self.whole! : self.panels[panel], operands.value, rows: spans[span], accumulate: accumulate)
        }
    }

    /// A product of one row (a decoded token) over `rowPanels`: each thread converts the row once,
    /// then claims runs of outputs in one loop over the packed weights, memory-bound, with none of a
    /// primitive's per-call set-up and no call per panel.
    private func applyRow(_ x: UnsafePointer<Float>, _ rowPanels: UnsafeMutablePointer<ckpt_dnnl_panel>, bias: UnsafePointer<Float>?,
                          into y: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int) {
        let rows = PreparedRows(x, rows: 1, inputs: inputs, precision: precision, bits: takesReducedInputs, threads: 1)
        columnSums.withUnsafeBufferPointer { columnSums in
            columnScales.withUnsafeBufferPointer { columnScales in
                var dequantization = ckpt_dnnl_int8_row(scale: 0, zero_point: 0, column_sums: columnSums.baseAddress,
                                                        column_scales: columnScales.baseAddress)
                let row: UnsafeRawPointer
                switch rows.form {
                case .f32(let values): row = UnsafeRawPointer(values ?? x)
                case .bf16(let bits): row = UnsafeRawPointer(bits)
                case .int8(let q, _, let scales, let zeros):
                    (row, dequantization.scale, dequantization.zero_point) = (UnsafeRawPointer(q), scales[0], zeros[0])
                }
                withUnsafePointer(to: dequantization) { dequantization in
                    let int8 = precision == .int8 ? dequantization : nil
                    let operands = UncheckedSendable((rowPanels, row, int8, bias, y))
                    Parallel.share(threads: threads) { next in
                        let (rowPanels, row, int8, bias, y) = operands.value
                        let status = ckpt_dnnl_row_share(rowPanels, Int64(self.panels.count), Int64(threads), next, row, int8, bias, y,
                                                         accumulate ? 1 : 0)
                        precondition(status == 0, "LinearWeight: out of memory for a row's product")
                    }
                }
            }
        }
    }

    /// `rows` cut into runs of up to `blocksPerRun` full blocks of `rowBlock` rows, then the short
    /// last block alone.
    private static func runs(of rows: Range<Int>, blocksPerRun: Int) -> [Range<Int>] {
        let fullEnd = rows.lowerBound + rows.count / rowBlock * rowBlock, length = blocksPerRun * rowBlock
        let full = stride(from: rows.lowerBound, to: fullEnd, by: length).map { $0..<min(fullEnd, $0 + length) }
        return fullEnd < rows.upperBound ? full + [fullEnd..<rows.upperBound] : full
    }

    /// One piece: rows × the panel's outputs.
    private func run(_ panel: Panel, _ o: Operands, rows: Range<Int>, accumulate: Bool) {
        let y = o.y + rows.lowerBound * outputs + panel.first, bias = o.bias.map { $0 + panel.first }
        let start = rows.lowerBound * inputs
        switch o.rows.form {
        case .f32(let values):
            product(panel, (values ?? o.x) + start, rows: rows.count, productRows: o.count, bias: bias, y, ldy: outputs, accumulate: accumulate)
        case .bf16(let values):
            product(panel, values + start, rows: rows.count, productRows: o.count, bias: bias, y, ldy: outputs, accumulate: accumulate)
        case .int8(let q, let values, let scales, let zeros):
            columnSums.withUnsafeBufferPointer { columnSums in
                columnScales.withUnsafeBufferPointer { columnScales in
                    let (rowScales, rowZeros) = (scales + rows.lowerBound, zeros + rows.lowerBound)
                    let (sumsOfColumns, scalesOfColumns) = (columnSums.baseAddress! + panel.first, columnScales.baseAddress! + panel.first)
                    guard let values else {
                        // Integer sums are exact, so a block of any row count gives each row the same result.
                        guard let product = OneDNNProducts.product(panel.packed!, rows: rows.count, width: panel.width, bias: false, accumulate: false)
                        else {
                            // A run of blocks whose row count needs another layout.
                            precondition(rows.count > Self.rowBlock, "LinearWeight: oneDNN has no int8 product of \(rows.count) rows")
                            for block in Self.runs(of: rows, blocksPerRun: 1) { run(panel, o, rows: block, accumulate: accumulate) }
                            return
                        }
                        return OneDNNProducts.succeeded(
                            ckpt_dnnl_int8_piece(product.pointer, panel.packed!, Int64(origin(panel)), Int64(panel.width), q + start, rowScales,
                                                 rowZeros, sumsOfColumns, scalesOfColumns, bias, y, Int64(outputs), accumulate ? 1 : 0))
                    }
                    let products = FloatBuffer(rows.count * panel.width)
                    product(panel, values + start, rows: rows.count, productRows: o.count, bias: nil, products.p, ldy: panel.width, accumulate: false)
                    let sums = (0..<rows.count * panel.width).map { Int32(products.p[$0].rounded(.toNearestOrEven)) }
                    ckpt_dequantize_rows(sums, Int64(rows.count), Int64(panel.width), rowScales, rowZeros, sumsOfColumns, scalesOfColumns, bias, y,
                                         Int64(outputs), accumulate ? 1 : 0)
                }
            }
        }
    }

    /// A piece's f32 (or native bf16) product of `rows` rows of x into y (row stride `ldy`), in a
    /// product of `productRows` rows in all.
    private func product<Element: Numeric>(_ panel: Panel, _ x: UnsafePointer<Element>, rows: Int, productRows: Int, bias: UnsafePointer<Float>?,
                                           _ y: UnsafeMutablePointer<Float>, ldy: Int, accumulate: Bool) {
        let first = origin(panel)
        if let packed = panel.packed {
            // A short block, or a run of several, runs as it is where that leaves its rows' results
            // unchanged (or where the whole product is one row); else a run goes block by block
            // and a short block is padded.
            if let exact = OneDNNProducts.product(packed, rows: rows, width: panel.width, bias: bias != nil, accumulate: accumulate),
               exact.rowInvariant || productRows == 1 || rows == Self.rowBlock {
                OneDNNProducts.run(exact, packed, first: first, x, bias, y, ldy: ldy)
            } else if rows > Self.rowBlock {
                for block in Self.runs(of: 0..<rows, blocksPerRun: 1) {
                    product(panel, x + block.lowerBound * inputs, rows: block.count, productRows: productRows, bias: bias, y + block.lowerBound * ldy,
                            ldy: ldy, accumulate: accumulate)
                }
            } else {
                let product = OneDNNProducts.product(packed, rows: Self.rowBlock, width: panel.width, bias: bias != nil, accumulate: accumulate)!
                staged(rows, width: panel.width, ldy: ldy, padRows: true, accumulate: accumulate, x, y) { x, y, ldy in
                    OneDNNProducts.run(product, packed, first: first, x, bias, y, ldy: ldy)
                }
            }
        } else if productRows == 1 || panel.rowByRow {
            // One row (a decoded token), or a kernel that rounds a row by its place in the block:
            // each row its own matrix-vector product.
            let x = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)  // OpenBLAS runs f32 only
            for row in 0..<rows {
                BLAS.linear(x + row * inputs, rows: 1, inputs: inputs, weight: panel.plain!, outputs: panel.width, bias: bias,
                            into: y + row * ldy, accumulate: accumulate)
            }
        } else {
            // Always whole blocks, so that every row goes through the same OpenBLAS kernel.
            staged(rows, width: panel.width, ldy: ldy, padRows: rows < Self.rowBlock, accumulate: accumulate, x, y) {
                x, y, ldy in
                let x = UnsafeRawPointer(x).assumingMemoryBound(to: Float.self)
                BLAS.linear(x, rows: Self.rowBlock, inputs: self.inputs, weight: panel.plain!, outputs: panel.width, bias: bias, into: y,
                            ldy: ldy, accumulate: accumulate)
            }
        }
    }

    /// Runs `body(x, y, ldy)` for one piece of `rows` rows and `width` outputs of y (row stride
    /// ldy): with `padRows`, on a whole block (x's rows copied into zeros) into an output of the
    /// piece's own, whose rows are then copied to y (y's rows copied in first when the product adds
    /// to them). Only the piece's own columns of y are touched: other threads write the other
    /// panels' columns.
    private func staged<Element: Numeric>(_ rows: Int, width: Int, ldy: Int, padRows: Bool, accumulate: Bool,
                                          _ x: UnsafePointer<Element>, _ y: UnsafeMutablePointer<Float>,
                                          _ body: (UnsafePointer<Element>, UnsafeMutablePointer<Float>, Int) -> Void) {
        guard padRows else { return body(x, y, ldy) }
        let xs = UnsafeMutablePointer<Element>.allocate(capacity: Self.rowBlock * inputs)
        xs.initialize(repeating: 0, count: Self.rowBlock * inputs)
        xs.update(from: x, count: rows * inputs)
        let ys = UnsafeMutablePointer<Float>.allocate(capacity: Self.rowBlock * width)
        defer {
            xs.deallocate()
            ys.deallocate()
        }
        ys.initialize(repeating: 0, count: Self.rowBlock * width)
        if accumulate { for r in 0..<rows { (ys + r * width).update(from: y + r * ldy, count: width) } }
        body(xs, ys, width)
        for r in 0..<rows { (y + r * ldy).update(from: ys + r * width, count: width) }
    }
}
