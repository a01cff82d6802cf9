import CKernels
import CkptSupport
import COneDNN

/// How a `LinearWeight` packs its weights at load: oneDNN's panels (one sliceable pack of all
/// outputs, or a pack per panel), the f32 values an f32 product reads, and int8's per-output sums.
extension LinearWeight {
    /// `panels` for `ckpt_dnnl_row_share`, or nil where its loop does not run over them all.
    static func rowPanels(_ panels: [Panel], whole: Panel?) -> UnsafeMutablePointer<ckpt_dnnl_panel>? {
        guard panels.allSatisfy({ $0.packed.map { ckpt_dnnl_row_shareable($0) != 0 } ?? false }) else { return nil }
        let rowPanels = UnsafeMutablePointer<ckpt_dnnl_panel>.allocate(capacity: panels.count)
        for (i, panel) in panels.enumerated() {
            rowPanels[i] = ckpt_dnnl_panel(weights: panel.packed, origin: Int64(origin(panel, whole: whole)), first: Int64(panel.first),
                                           width: Int64(panel.width))
        }
        return rowPanels
    }

    /// oneDNN's panels: slices of one pack of all outputs where that is exact (then also the
    /// panel of all of them), else a pack per panel; nil where `pack(first, width)` packs none.
    static func onednnPanels(outputs: Int, _ pack: (_ first: Int, _ width: Int) -> OpaquePointer?) -> (panels: [Panel], whole: Panel?)? {
        if outputs <= wholeRowsOutputs, let all = pack(0, outputs) {
            if ckpt_dnnl_weights_sliceable(all) != 0 {
                let panels = panelSpans(outputs).map { Panel(first: $0, width: $1, plain: nil, packed: all) }
                return (panels, Panel(first: 0, width: outputs, plain: nil, packed: all))
            }
            ckpt_dnnl_weights_free(all)
        }
        var panels: [Panel] = []
        for (first, width) in panelSpans(outputs) {
            guard let packed = pack(first, width) else {
                for panel in panels { ckpt_dnnl_weights_free(panel.packed) }
                return nil
            }
            panels.append(Panel(first: first, width: width, plain: nil, packed: packed))
        }
        return (panels, nil)
    }

    /// Each panel's first output and width.
    static func panelSpans(_ outputs: Int) -> [(first: Int, width: Int)] {
        stride(from: 0, to: outputs, by: panelWidth).map { ($0, min(panelWidth, outputs - $0)) }
    }

    /// The panel's first column in its pack: its own first output in the pack of all outputs, else 0.
    static func origin(_ panel: Panel, whole: Panel?) -> Int { whole == nil ? 0 : panel.first }

    /// The sum of each row of quantized weights [outputs, inputs] (each output's, for the zero points of x's rows).
    static func rowSums(_ values: [Int8], inputs: Int) -> [Int32] {
        values.withUnsafeBufferPointer { v in
            (0..<(v.count / inputs)).map { j in
                var sum: Int32 = 0
                for i in (j * inputs)..<((j + 1) * inputs) { sum += Int32(v[i]) }
                return sum
            }
        }
    }

    /// Panels packed by oneDNN for bf16 or int8 products, or nil where it has no such product here.
    static func nativePanels(_ source: Source, _ quantized: Int8Weights?, outputs: Int, inputs: Int,
                             precision: Precision) -> (panels: [Panel], whole: Panel?)? {
        let target: Int32
        switch precision {
        case .f32: return nil
        case .bf16: target = Int32(CKPT_DNNL_BF16)
        case .int8:
            guard ckpt_dnnl_int8_native() != 0 else { return nil }
            target = Int32(CKPT_DNNL_INT8)
        }
        func pack(_ base: UnsafeRawPointer, type: Int32, elementSize: Int) -> (panels: [Panel], whole: Panel?)? {
            onednnPanels(outputs: outputs) { first, width in
                ckpt_dnnl_pack(base + first * inputs * elementSize, type, Int64(inputs), Int64(width), Int64(rowBlock), target)
            }
        }
        if let quantized { return quantized.values.withUnsafeBytes { pack($0.baseAddress!, type: Int32(CKPT_DNNL_INT8), elementSize: 1) } }
        switch source {
        case .f32(let w): return pack(w, type: Int32(CKPT_DNNL_F32), elementSize: 4)
        case .bf16(let w): return pack(w, type: Int32(CKPT_DNNL_BF16), elementSize: 2)
        case .int8(let q): return withValues(q.dequantized(inputs: inputs)) { pack($0, type: Int32(CKPT_DNNL_F32), elementSize: 4) }
        }
    }

    /// The weights as f32 values for an f32 product: as they are (f32), rounded to bf16, or the
    /// quantized values themselves (int8, whose scales are applied after the product).
    static func f32Values<T>(_ source: Source, _ quantized: Int8Weights?, outputs: Int, inputs: Int, precision: Precision,
                             _ body: (UnsafePointer<Float>) -> T) -> T {
        let count = outputs * inputs
        if let quantized { return withValues(quantized.values.map(Float.init), body) }
        switch source {
        case .f32(let w) where precision == .bf16:
            let rounded = FloatBuffer(count)
            ckpt_round_to_bf16(w, rounded.p, Int64(count))
            return body(rounded.p)
        case .f32(let w): return body(w)
        case .bf16(let w): return widened(w, count: count, body)
        case .int8(let q): return withValues(q.dequantized(inputs: inputs), body)
        }
    }

    static func widened<T>(_ w: UnsafePointer<UInt16>, count: Int, _ body: (UnsafePointer<Float>) -> T) -> T {
        let wide = FloatBuffer(count)
        ckpt_from_bf16(w, wide.p, Int64(count))
        return body(wide.p)
    }

    static func withValues<T>(_ values: [Float], _ body: (UnsafePointer<Float>) -> T) -> T {
        values.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
