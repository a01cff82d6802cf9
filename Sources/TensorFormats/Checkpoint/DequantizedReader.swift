import CkptSupport

extension Checkpoint {
    /// This checkpoint with its int8 weights (`Int8Scheme`) presented as the f32 weights they stand
    /// for (`DequantizedReader`); itself when it has none. What `convert --dtype f32|f16|bf16` and
    /// GGUF export read, since neither format has a place for the scales.
    public var dequantized: Checkpoint {
        let weights = Int8Scheme.quantizedWeights(tensors)
        return weights.isEmpty ? self : Checkpoint(reader: DequantizedReader(reader, weights: Set(weights.map(\.name))))
    }
}

/// An int8 checkpoint as the floating-point checkpoint it stands for: each int8 weight with scales
/// beside it presented as F32, value · scale along its outputs (`Int8Scheme.dequantize`, the values
/// `--precision f32` computes with), the scale tensors and the quantization mark left out. A
/// weight's scales are checked when it is read (`Int8Scheme.scales`).
final class DequantizedReader: TensorReader {
    let base: any TensorReader
    let tensors: [TensorInfo]
    /// The names of the weights presented dequantized.
    private let weights: Set<String>
    var path: String { base.path }
    var formatName: String { base.formatName }
    var metadata: [(String, String)] { base.metadata.filter { $0.0 != Int8Scheme.metadataKey } }

    init(_ base: any TensorReader, weights: Set<String>) {
        self.base = base
        self.weights = weights
        let scales = Set(weights.map { $0 + Int8Scheme.scaleSuffix })
        tensors = base.tensors.compactMap { info in
            if scales.contains(info.name) { return nil }
            return weights.contains(info.name) ? TensorInfo(name: info.name, dtype: .F32, shape: info.shape) : info
        }
    }

    func tensor(named name: String) throws -> TensorView {
        guard weights.contains(name) else {
            if name.hasSuffix(Int8Scheme.scaleSuffix), weights.contains(String(name.dropLast(Int8Scheme.scaleSuffix.count))) {
                throw FormatError(file: path, CheckpointError.noSuchTensor(name))
            }
            return try base.tensor(named: name)
        }
        let view = try base.tensor(named: name)
        guard view.shape.count == 2 else { throw FormatError(file: path, CheckpointError.notAMatrix(name, view.shape)) }
        let axis = Int8Scheme.storedOutputAxis(of: name)
        let scales = try Int8Scheme.scales(of: name, outputs: view.shape[axis], in: base)
        let values = Int8Scheme.dequantize(Int8Weights(values: view.elements(as: Int8.self), scales: scales), shape: view.shape, outputAxis: axis)
        return TensorView(resident: TensorInfo(name: name, dtype: .F32, shape: view.shape), values: values)
    }
}
