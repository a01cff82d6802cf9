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
        return storedOutputAxis(of: info.name)
    }

    /// The axis along which a quantized weight named `name` has its scales: 1 for GPT-2's Conv1D
    /// layers, else 0.
    static func storedOutputAxis(of name: String) -> Int { columnOutputSuffixes.contains(where: name.hasSuffix) ? 1 : 0 }

    /// The quantized weights among `infos`: I8 tensors with scales beside them.
    public static func quantizedWeights(_ infos: [TensorInfo]) -> [TensorInfo] {
        let names = Set(infos.map(\.name))
        return infos.filter { $0.dtype == .I8 && names.contains($0.name + scaleSuffix) }
    }

    /// How many tensors of `infos` are int8 weights with scales beside them.
    public static func quantizedCount(_ infos: [TensorInfo]) -> Int { quantizedWeights(infos).count }

    /// The scales of the int8 weight `weight` in `reader`, `outputs` of them: an error naming the
    /// weight if they are missing, not F32 [outputs], or not all finite numbers (one that is not
    /// would turn every value it scales, and every feature after it, into NaN or infinity).
    public static func scales(of weight: String, outputs: Int, in reader: any TensorReader) throws -> [Float] {
        let name = weight + scaleSuffix
        guard reader.tensors.contains(where: { $0.name == name }) else {
            throw FormatError(file: reader.path, Int8SchemeError.missingScale(name: weight, scale: name))
        }
        let view = try reader.tensor(named: name)
        guard view.dtype == .F32, view.shape == [outputs] else {
            throw FormatError(file: reader.path, Int8SchemeError.misshapenScale(name: weight, scale: name, expected: [outputs], found: view.shape,
                                                                               dtype: view.dtype))
        }
        let values = view.floats()
        if let output = values.firstIndex(where: { !$0.isFinite }) {
            throw FormatError(file: reader.path, Int8SchemeError.nonFiniteScale(name: weight, scale: name, output: output, value: values[output]))
        }
        return values
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

    /// `quantize` undone: value · scale in the weights' own layout [rows, columns], their scales
    /// along `axis` (the values a model multiplies with at f32).
    static func dequantize(_ weights: Int8Weights, shape: [Int], outputAxis axis: Int) -> [Float] {
        let rows = shape[0], columns = shape[1]
        guard axis == 1 else { return weights.dequantized(inputs: columns) }
        return transposed(weights.transposed(inputs: rows).dequantized(inputs: rows), rows: columns, columns: rows)
    }
}

/// Problems with an int8 weight's scales.
public enum Int8SchemeError: Error, CustomStringConvertible, Sendable {
    case missingScale(name: String, scale: String)
    case misshapenScale(name: String, scale: String, expected: [Int], found: [Int], dtype: DType)
    case nonFiniteScale(name: String, scale: String, output: Int, value: Float)

    public var description: String {
        switch self {
        case .missingScale(let name, let scale):
            return "int8 tensor '\(name)' has no scales: '\(scale)' is missing (quantized checkpoints store them next to the weight)"
        case .misshapenScale(let name, let scale, let expected, let found, let dtype):
            return "int8 tensor '\(name)': its scales '\(scale)' are \(dtype.rawValue) \(found), need F32 \(expected) (one per output)"
        case .nonFiniteScale(let name, let scale, let output, let value):
            return "int8 tensor '\(name)': its scale for output \(output) in '\(scale)' is \(value), not a finite number"
        }
    }
}
