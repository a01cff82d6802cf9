import CKernels

/// A weight matrix quantized per output channel: w[j][i] ≈ values[j][i] · scales[j], values in
/// −127…127. The one quantization ckpt makes, at load (Kernels) and in `ckpt convert --dtype int8`
/// (TensorFormats), so that a quantized checkpoint gives exactly the features of quantizing at load.
public struct Int8Weights: Sendable, Equatable {
    /// [outputs, inputs], row-major.
    public var values: [Int8]
    /// [outputs].
    public var scales: [Float]

    public init(values: [Int8], scales: [Float]) {
        self.values = values
        self.scales = scales
    }

    /// Symmetric per-channel quantization of w [outputs, inputs]: scale = max|w_j| / 127 (1 for an
    /// all-zero row), value = w / scale rounded to nearest, ties to even (`ckpt_quantize_channels`).
    public init(quantizing w: UnsafePointer<Float>, outputs: Int, inputs: Int) {
        var scales = [Float](repeating: 1, count: outputs)
        let values = [Int8](unsafeUninitializedCapacity: outputs * inputs) { values, initialized in
            scales.withUnsafeMutableBufferPointer { ckpt_quantize_channels(w, Int64(outputs), Int64(inputs), values.baseAddress!, $0.baseAddress!) }
            initialized = outputs * inputs
        }
        self.init(values: values, scales: scales)
    }

    /// Weights stored [inputs, outputs] with a scale per column (GPT-2's Conv1D) as [outputs, inputs].
    public func transposed(inputs: Int) -> Int8Weights {
        Int8Weights(values: CkptSupport.transposed(values, rows: inputs, columns: scales.count), scales: scales)
    }

    /// values · scales, [outputs, inputs].
    public func dequantized(inputs: Int) -> [Float] {
        values.indices.map { Float(values[$0]) * scales[$0 / inputs] }
    }
}
