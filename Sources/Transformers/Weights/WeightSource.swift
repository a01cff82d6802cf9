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
    /// The memory behind `staging`.
    private var stagingBuffers: [FloatBuffer?] = [nil, nil, nil]
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
        guard let view = try floatView(name, shape) else { return [UInt16](repeating: 0, count: shape.reduce(1, *)) }
        return Self.bf16Bits(of: view)
    }

    /// `view`'s elements as bf16 bits (see `bf16Tensor`).
    private static func bf16Bits(of view: TensorView) -> [UInt16] {
        [UInt16](unsafeUninitializedCapacity: view.info.elementCount) { buffer, initialized in
            readBF16(view, into: buffer.baseAddress!, buffer: nil)
            initialized = view.info.elementCount
        }
    }

    /// `view`'s elements as bf16 bits (see `bf16Tensor`) into `output`, read as
    /// `TensorView.readReleasingPages` reads them into `buffer`.
    private static func readBF16(_ view: TensorView, into output: UnsafeMutablePointer<UInt16>, buffer: UnsafeMutableRawPointer?) {
        view.readReleasingPages(buffer: buffer) { elements, bytes in
            ElementConversion.cast(bytes, from: view.dtype, to: .BF16, count: elements.count, threads: 1,
                                   into: UnsafeMutableRawBufferPointer(start: output + elements.lowerBound, count: elements.count * 2))
        }
    }

    /// `view`'s elements as f32 (as `floats` decodes them) into `output`, chunks read into `buffer`.
    private static func readF32(_ view: TensorView, into output: UnsafeMutablePointer<Float>, buffer: UnsafeMutableRawPointer?) {
        view.decode(into: UnsafeMutableBufferPointer(start: output, count: view.info.elementCount), buffer: buffer)
    }

    /// The token embedding table `name` [vocabulary, width] (`TokenTable`), rows read for bf16
    /// products rounded to bf16 (int8 quantizes the linear layers only, as PyTorch's
    /// `quantize_dynamic` does): the checkpoint's own bytes, kept, where they are mapped or already
    /// hold what the products read; bf16 bits otherwise. A missing table is recorded, as by `tensor`.
    func tokenTable(_ name: String, _ shape: [Int]) throws -> TokenTable {
        guard let view = try floatView(name, shape) else { return .bf16([UInt16](repeating: 0, count: shape.reduce(1, *))) }
        guard view.isMapped || precision != .bf16 || view.dtype == .BF16 else { return .bf16(Self.bf16Bits(of: view)) }
        return .stored(view, roundedToBF16: precision == .bf16)
    }

    /// The token table `name` [vocabulary, width] and the output product packed from it (GPT-2's
    /// tied `wte`, BERT's masked-LM decoder), as `linear` packs weights; the table is read from
    /// that product's weights where they hold the same values (f32 and bf16 products; int8 ones
    /// are quantized), else as `tokenTable` reads it. The staging memory a table-sized weight may
    /// have needed is freed before the caller reads the layers.
    func tiedTokenTable(_ name: String, _ shape: [Int]) throws -> (TokenTable, LinearWeight) {
        let output = try outputLinear(name, shape)
        return (output.weightsReadable ? .output(output) : try tokenTable(name, shape), output)
    }

    /// The output product `name` [vocabulary, width] (an untied language-model head, or the tied
    /// table's), as `linear` packs it; then the table-sized staging memory it needed is freed, so
    /// that the layers read after it reuse memory of their own size.
    func outputLinear(_ name: String, _ shape: [Int]) throws -> LinearWeight {
        defer { stagingBuffers = stagingBuffers.map { _ in nil } }
        return try linear(name, outputs: shape[0], inputs: shape[1])
    }

    /// The view of the float tensor `name`, checked to have `shape`; nil (and recorded as missing)
    /// if the checkpoint has no such tensor.
    private func floatView(_ name: String, _ shape: [Int]) throws -> TensorView? {
        guard let stored = resolve(name) else {
            if !missing.contains(name) { missing.append(name) }  // a tied table is asked for twice
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

    /// The linear weight `name` of `shape` as stored, its outputs along `outputAxis`: int8 with its
    /// scales (`name_scale`, F32, one per output: `Int8Scheme`); bf16 bits when the model
    /// multiplies in bf16 (as `bf16Tensor` reads them), f32 otherwise. `stackedLinear` reads
    /// through it only int8 checkpoints' weights and missing ones (recorded, as zeros).
    private func matrix(_ name: String, _ shape: [Int], outputAxis: Int = 0) throws -> WeightMatrix {
        guard let stored = resolve(name), dtypes[stored] == .I8 else {
            return precision == .bf16 ? .bf16(try bf16Tensor(name, shape)) : .f32(try floats(name, shape))
        }
        let view = try checkpoint.tensor(named: stored)
        guard view.shape == shape else {
            throw FormatError(file: checkpoint.path, WeightError.shapeMismatch(name: stored, expected: shape, found: view.shape))
        }
        used.insert(stored)
        let values = try Int8Scheme.scales(of: stored, outputs: shape[outputAxis], in: checkpoint.reader)
        used.insert(stored + Int8Scheme.scaleSuffix)
        return .int8(Int8Weights(values: view.elements(as: Int8.self), scales: values))
    }

    /// The linear weight `name`, packed for the model's precision: nn.Linear's [outputs, inputs],
    /// or [inputs, outputs] where `storedInputsFirst` (GPT-2's Conv1D), transposed at load.
    func linear(_ name: String, outputs: Int, inputs: Int, storedInputsFirst: Bool = false) throws -> LinearWeight {
        try stackedLinear([name], outputs: outputs, inputs: inputs, storedInputsFirst: storedInputsFirst)
    }

    /// The linear weights `names`, each read as `linear` reads it, stacked by outputs into one
    /// [names.count × outputs, inputs] weight (BERT's query, key and value), packed for the model's precision.
    ///
    /// The packing reads f32 (f32 products, and int8 ones, which quantize it) or bf16 bits rounded
    /// as `bf16Tensor` rounds them, copied out of the checkpoint (`TensorView.readReleasingPages`,
    /// which leaves no mapped pages resident) into memory every weight reuses (`staging`), never
    /// into a copy per weight: glibc kept such copies, once freed, as heap that later weights did
    /// not fit (about 30 MB at the end of loading a bert-base).
    func stackedLinear(_ names: [String], outputs: Int, inputs: Int, storedInputsFirst: Bool = false) throws -> LinearWeight {
        let shape = storedInputsFirst ? [inputs, outputs] : [outputs, inputs], stackedOutputs = names.count * outputs
        guard names.allSatisfy({ resolve($0).flatMap { dtypes[$0] }.map { $0 != .I8 } ?? false }) else {
            // int8 checkpoints' weights with their scales, and missing tensors (recorded), as `matrix` reads them.
            let parts = try names.map { name in
                let matrix = try matrix(name, shape, outputAxis: storedInputsFirst ? 1 : 0)
                return storedInputsFirst ? matrix.transposed(rows: inputs, columns: outputs) : matrix
            }
            return WeightMatrix.stacking(parts).linear(outputs: stackedOutputs, inputs: inputs, precision: precision)
        }
        let views = try names.compactMap { try floatView($0, shape) }
        func packing<Element: BitwiseCopyable>(read: (TensorView, UnsafeMutablePointer<Element>, UnsafeMutableRawPointer?) -> Void,
                                               _ pack: (UnsafePointer<Element>) -> LinearWeight.Source) -> LinearWeight {
            let elements = UnsafePointer(staged(views, outputs: outputs, inputs: inputs, storedInputsFirst: storedInputsFirst, read: read))
            return LinearWeight(pack(elements), outputs: stackedOutputs, inputs: inputs, precision: precision)
        }
        return precision == .bf16 ? packing(read: Self.readBF16) { .bf16($0) } : packing(read: Self.readF32) { .f32($0) }
    }

    /// `views` (each [outputs, inputs], or [inputs, outputs] where `storedInputsFirst`) read by
    /// `read` into `staging`, by outputs, one after the other, each chunk of the file copied into
    /// the same memory.
    private func staged<Element: BitwiseCopyable>(_ views: [TensorView], outputs: Int, inputs: Int, storedInputsFirst: Bool,
                                                  read: (TensorView, UnsafeMutablePointer<Element>, UnsafeMutableRawPointer?) -> Void)
        -> UnsafeMutablePointer<Element> {
        let count = outputs * inputs, stacked = staging(0, count: views.count * count, of: Element.self)
        for (index, view) in views.enumerated() {
            let chunk = UnsafeMutableRawPointer(staging(2, count: view.chunkBytes, of: UInt8.self))
            guard storedInputsFirst else {
                read(view, stacked + index * count, chunk)
                continue
            }
            let byInput = staging(1, count: count, of: Element.self)
            read(view, byInput, chunk)
            transpose(byInput, rows: inputs, columns: outputs, into: stacked + index * count)
        }
        return stacked
    }

    /// `count` elements of memory reused by every weight staged in `slot` (0: as packed, 1: as
    /// stored, before a transpose, 2: a chunk of the file), so that its pages are faulted in once
    /// per load, not per weight, and no weight-sized memory passes through malloc.
    private func staging<Element>(_ slot: Int, count: Int, of: Element.Type) -> UnsafeMutablePointer<Element> {
        let floats = (count * MemoryLayout<Element>.stride + 3) / 4
        if (stagingBuffers[slot]?.count ?? 0) < floats { stagingBuffers[slot] = FloatBuffer(floats) }
        return UnsafeMutableRawPointer(stagingBuffers[slot]!.p).bindMemory(to: Element.self, capacity: count)
    }

    /// Throws the list of missing tensors, if any.
    func finish() throws {
        if !missing.isEmpty { throw FormatError(file: checkpoint.path, WeightError.missing(missing)) }
    }

    /// Tensors in the checkpoint that the model did not read (heads of other tasks, buffers).
    public var unused: [String] { checkpoint.tensors.map(\.name).filter { !used.contains($0) } }
}
