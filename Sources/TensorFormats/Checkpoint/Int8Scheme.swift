import CkptSupport

/// ckpt's int8 checkpoints (`ckpt convert --dtype int8`): each linear layer's weight stored as I8
/// in its own layout, with its F32 scales, one per output, in a tensor named after it plus
/// `_scale`; w ≈ value · scale (symmetric, see `Int8Weights`). Embeddings, norms and biases keep
/// their type. The safetensors `__metadata__` marks the file with `metadataKey`.
public enum Int8Scheme {
    public static let metadataKey = "ckpt.quantization"
    public static let metadataValue = "int8 symmetric per output channel; scales in <weight>_scale"
    public static let scaleSuffix = "_scale"

    /// GPT-2's Conv1D layers store weights [in, out]: their outputs are the columns.
    static let columnOutputSuffixes = ["c_attn.weight", "c_proj.weight", "c_fc.weight"]

    /// The axis of a tensor's outputs when it is a linear layer's weight that int8 conversion
    /// quantizes (a 2-d floating-point `….weight` that is not an embedding table), else nil.
    public static func outputAxis(of info: TensorInfo) -> Int? {
        guard info.shape.count == 2, info.dtype.isFloatingPoint, info.name.hasSuffix(".weight") || info.name == "weight" else { return nil }
        let lowered = info.name.lowercased()
        guard !lowered.contains("embed"), !lowered.hasSuffix("wte.weight"), !lowered.hasSuffix("wpe.weight") else { return nil }
        return columnOutputSuffixes.contains(where: info.name.hasSuffix) ? 1 : 0
    }

    /// How many tensors of `infos` are int8 weights with scales beside them.
    public static func quantizedCount(_ infos: [TensorInfo]) -> Int {
        let names = Set(infos.map(\.name))
        return infos.filter { $0.dtype == .I8 && names.contains($0.name + scaleSuffix) }.count
    }

    /// `w` [rows, columns] quantized along `axis` (its outputs): the values in w's own layout, and the scales.
    static func quantize(_ w: [Float], shape: [Int], outputAxis axis: Int) -> Int8Weights {
        let rows = shape[0], columns = shape[1]
        guard axis == 1 else { return w.withUnsafeBufferPointer { Int8Weights(quantizing: $0.baseAddress!, outputs: rows, inputs: columns) } }
        let byOutput = transposed(w, rows: rows, columns: columns).withUnsafeBufferPointer {
            Int8Weights(quantizing: $0.baseAddress!, outputs: columns, inputs: rows)
        }
        return Int8Weights(values: transposed(byOutput.values, rows: columns, columns: rows), scales: byOutput.scales)
    }
}
