import CkptSupport

/// An int8 checkpoint (`Int8Scheme`) as the floating-point checkpoint it stands for: each int8
/// weight with scales beside it presented as F32, value · scale along its outputs (the values
/// `--precision f32` computes with), the scale tensors and the quantization mark left out. What
/// `convert --dtype f32|f16|bf16` and GGUF export read, since neither format has a place for the
/// scales. A weight's scales are checked when it is read (`Int8Scheme.scales`).
public final class DequantizedReader: TensorReader {
    public let base: any TensorReader
    public let tensors: [TensorInfo]
    /// The names of the weights presented dequantized.
    public let dequantized: Set<String>
    public var path: String { base.path }
    public var formatName: String { base.formatName }
    public var metadata: [(String, String)] { base.metadata.filter { $0.0 != Int8Scheme.metadataKey } }

    public init(_ base: any TensorReader) {
        self.base = base
        let weights = Set(Int8Scheme.quantizedWeights(base.tensors).map(\.name))
        let scales = Set(weights.map { $0 + Int8Scheme.scaleSuffix })
        dequantized = weights
        tensors = base.tensors.compactMap { info in
            if scales.contains(info.name) { return nil }
            return weights.contains(info.name) ? TensorInfo(name: info.name, dtype: .F32, shape: info.shape) : info
        }
    }

    public func tensor(named name: String) throws -> TensorView {
        guard dequantized.contains(name) else {
            if name.hasSuffix(Int8Scheme.scaleSuffix), dequantized.contains(String(name.dropLast(Int8Scheme.scaleSuffix.count))) {
                throw FormatError(file: path, CheckpointError.noSuchTensor(name))
            }
            return try base.tensor(named: name)
        }
        let view = try base.tensor(named: name)
        defer { view.releasePages() }
        guard view.shape.count == 2 else { throw FormatError(file: path, CheckpointError.notAMatrix(name, view.shape)) }
        let axis = Int8Scheme.storedOutputAxis(of: name)
        let scales = try Int8Scheme.scales(of: name, outputs: view.shape[axis], in: base)
        var values = view.floats()
        let columns = view.shape[1]
        for i in values.indices { values[i] *= scales[axis == 0 ? i / columns : i % columns] }
        return TensorView(resident: TensorInfo(name: name, dtype: .F32, shape: view.shape), values: values)
    }
}
