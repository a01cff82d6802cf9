import CkptSupport
import Kernels
import TensorFormats

/// Problems mapping a checkpoint's tensors onto a model.
public enum WeightError: Error, CustomStringConvertible, Sendable {
    case missing([String])
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case notFloat(name: String, dtype: DType)

    public var description: String {
        switch self {
        case .missing(let names):
            let shown = names.prefix(5).joined(separator: ", ") + (names.count > 5 ? ", … (\(names.count) in all)" : "")
            return "missing tensors: \(shown) (is this checkpoint the model its config.json names?)"
        case .shapeMismatch(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found), the config needs \(expected)"
        case .notFloat(let name, let dtype):
            return "tensor '\(name)' is \(dtype.rawValue), not a floating-point type"
        }
    }
}

/// The one way models read weights, over every checkpoint format: `tensor(name, shape)` finds the
/// tensor under the names checkpoints use for it, checks its shape and widens f16/bf16 to f32.
/// Missing tensors are collected and reported together by `finish()`; tensors never asked for
/// are listed by `unused`.
public final class WeightSource {
    let checkpoint: Checkpoint
    /// The stored type of each tensor, by stored name.
    private let dtypes: [String: DType]
    private var used = Set<String>()
    private var missing: [String] = []
    /// Prefixes tried in order for every name (e.g. "" and "bert." for BERT checkpoints).
    let prefixes: [String]
    /// The precision of the model's products with weights.
    let precision: Precision
    /// Name rewrites tried when a name is not found, in order (old → new spellings).
    let aliases: [(String, String)]

    init(checkpoint: Checkpoint, prefixes: [String], aliases: [(String, String)], precision: Precision) {
        self.checkpoint = checkpoint
        self.precision = precision
        self.dtypes = Dictionary(checkpoint.tensors.map { ($0.name, $0.dtype) }, uniquingKeysWith: { first, _ in first })
        self.prefixes = prefixes
        self.aliases = aliases
    }

    /// The stored name of `name`, if any spelling of it is in the checkpoint.
    func resolve(_ name: String) -> String? {
        var spellings = [name]
        for (from, to) in aliases where name.contains(from) { spellings.append(name.replacingAll(from, with: to)) }
        for prefix in prefixes {
            for spelling in spellings where dtypes[prefix + spelling] != nil { return prefix + spelling }
        }
        return nil
    }

    /// Whether the checkpoint holds `name` (under any spelling).
    func contains(_ name: String) -> Bool { resolve(name) != nil }

    /// The tensor `name` as f32, checked to have `shape`. A missing tensor is recorded (and zeros
    /// returned) so that every missing name is reported at once by `finish()`.
    func tensor(_ name: String, _ shape: [Int]) throws -> Parameter {
        guard let view = try floatView(name, shape) else { return Parameter([Float](repeating: 0, count: shape.reduce(1, *))) }
        return Parameter(decoding: view)
    }

    /// The tensor `name` as an f32 array, checked to have `shape`, decoded straight from the mapped
    /// file (no `Parameter` between them). A missing tensor is recorded, as by `tensor`.
    func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
        try floatView(name, shape)?.floats() ?? [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// The tensor `name` as bf16 bits, checked to have `shape`: a BF16 tensor as stored, other
    /// float types rounded to nearest even (as the bf16 products round them), with no f32 copy.
    /// A missing tensor is recorded, as by `tensor`.
    func bf16Tensor(_ name: String, _ shape: [Int]) throws -> [UInt16] {
        let count = shape.reduce(1, *)
        guard let view = try floatView(name, shape) else { return [UInt16](repeating: 0, count: count) }
        return [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            view.readReleasingPages { elements, bytes in
                ElementConversion.cast(bytes, from: view.dtype, to: .BF16, count: elements.count, threads: 1,
                                       into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[elements])))
            }
            initialized = count
        }
    }

    /// The token embedding table `name` [vocabulary, width] (`TokenTable`): bf16 bits for bf16
    /// products, and as stored where the checkpoint stores it in BF16; f32 otherwise (int8 quantizes
    /// the linear layers only, as PyTorch's `quantize_dynamic` does).
    func tokenTable(_ name: String, _ shape: [Int]) throws -> TokenTable {
        let storedInBF16 = resolve(name).flatMap { dtypes[$0] } == .BF16
        return precision == .bf16 || storedInBF16 ? .bf16(try bf16Tensor(name, shape)) : .f32(try tensor(name, shape))
    }

    /// The token table `name` [vocabulary, width] and the output product packed from it (GPT-2's
    /// tied `wte`, BERT's masked-LM decoder), the table read from the product where that holds the
    /// same values (`TokenTable.shared(with:)`). Its own copy is freed when this returns, before
    /// the caller reads more tensors.
    func tiedTokenTable(_ name: String, _ shape: [Int]) throws -> (TokenTable, LinearWeight) {
        let table = try tokenTable(name, shape)
        let output = table.linear(outputs: shape[0], inputs: shape[1], precision: precision)
        return (table.shared(with: output), output)
    }

    /// The view of the float tensor `name`, checked to have `shape`; nil (and recorded as missing)
    /// if the checkpoint has no such tensor.
    private func floatView(_ name: String, _ shape: [Int]) throws -> TensorView? {
        guard let stored = resolve(name) else {
            missing.append(name)
            return nil
        }
        used.insert(stored)
        let view = try checkpoint.tensor(named: stored)
        guard view.dtype.isFloatingPoint else { throw FormatError(file: checkpoint.path, WeightError.notFloat(name: stored, dtype: view.dtype)) }
        guard view.shape == shape else {
            throw FormatError(file: checkpoint.path, WeightError.shapeMismatch(name: stored, expected: shape, found: view.shape))
        }
        return view
    }

    /// The linear weight `name` of `shape` as stored, its outputs along `outputAxis`: bf16 bits when
    /// the model multiplies in bf16 (as `bf16Tensor` reads them), int8 with its scales (`name_scale`,
    /// F32, one per output: `Int8Scheme`), f32 otherwise.
    func matrix(_ name: String, _ shape: [Int], outputAxis: Int = 0) throws -> WeightMatrix {
        guard let stored = resolve(name), dtypes[stored] == .I8 else {
            return precision == .bf16 ? .bf16(try bf16Tensor(name, shape)) : .f32(try floats(name, shape))
        }
        let view = try checkpoint.tensor(named: stored)
        defer { view.releasePages() }
        guard view.shape == shape else {
            throw FormatError(file: checkpoint.path, WeightError.shapeMismatch(name: stored, expected: shape, found: view.shape))
        }
        used.insert(stored)
        let values = try Int8Scheme.scales(of: stored, outputs: shape[outputAxis], in: checkpoint.reader)
        used.insert(stored + Int8Scheme.scaleSuffix)
        return .int8(Int8Weights(values: view.elements(as: Int8.self), scales: values))
    }

    /// The nn.Linear weight `name` [outputs, inputs], packed for the model's precision.
    func linear(_ name: String, outputs: Int, inputs: Int) throws -> LinearWeight {
        try matrix(name, [outputs, inputs]).linear(outputs: outputs, inputs: inputs, precision: precision)
    }

    /// Throws the list of missing tensors, if any.
    func finish() throws {
        if !missing.isEmpty { throw FormatError(file: checkpoint.path, WeightError.missing(missing)) }
    }

    /// Tensors in the checkpoint that the model did not read (heads of other tasks, buffers).
    public var unused: [String] { checkpoint.tensors.map(\.name).filter { !used.contains($0) } }
}
