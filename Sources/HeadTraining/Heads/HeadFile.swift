import CkptSupport
import Kernels
import TensorFormats
import Transformers

/// A trained head with what is needed to use it again: the model and feature settings it was
/// trained on, the training settings and validation metrics. On disk, a directory holding
/// `head.safetensors` (`weight`/`bias` for a linear head, `0.*`/`2.*` for an MLP: the names
/// `nn.Linear` and `nn.Sequential` give them) and `head.json`.
public struct SavedHead: Sendable {
    public var head: ClassifierHead
    /// The model directory the features came from (absolute), nil for precomputed features.
    public var model: String?
    /// Pooling, normalisation and length limit of those features, nil for precomputed features.
    public var pooling: PoolingSettings?
    /// The precision of the model products that made the training features (nil for precomputed
    /// features); `predict` and `evaluate` encode in it unless told otherwise.
    public var precision: Precision?
    public var training: JSON
    public var validation: JSON?

    public init(head: ClassifierHead, model: String?, pooling: PoolingSettings?, precision: Precision? = nil, training: JSON, validation: JSON?) {
        self.precision = precision
        self.head = head
        self.model = model
        self.pooling = pooling
        self.training = training
        self.validation = validation
    }

    private static func tensorNames(_ kind: HeadKind) -> [String] {
        kind == .linear ? ["weight", "bias"] : ["0.weight", "0.bias", "2.weight", "2.bias"]
    }

    /// Writes `head.safetensors` and `head.json` into `directory` (created if missing); existing
    /// files are replaced only with `overwrite`. Each file is written whole or not at all.
    public func save(to directory: String, overwrite: Bool) throws {
        if let failure = FileSystem.makeDirectories(directory) {
            throw FormatError(file: directory, OutputError.cannotCreate(reason: failure))
        }
        let dir = FileSystem.directoryPrefix(directory)
        for name in ["head.safetensors", "head.json"] where !overwrite && FileSystem.exists(dir + name) {
            throw FormatError(file: dir + name, OutputError.exists)
        }
        let arrays = head.layers.flatMap { [($0.weight, [$0.outputs, $0.inputs]), ($0.bias, [$0.outputs])] }
        let tensors = zip(SavedHead.tensorNames(head.kind), arrays).map { name, array in
            OutgoingTensor(info: TensorInfo(name: name, dtype: .F32, shape: array.1)) { emit in try array.0.withUnsafeBytes { try emit($0) } }
        }
        try SafeTensorsWriter.write(tensors, metadata: [("format", "pt")], to: dir + "head.safetensors", overwrite: true)
        let file = try AtomicOutputFile(path: dir + "head.json", overwrite: true)
        try file.write(Array((describe().compactText + "\n").utf8))
        try file.commit()
    }

    private func describe() -> JSON {
        var members: [(String, JSON)] = [
            ("format", .string("ckpt-head")), ("version", .number("1")), ("kind", .string(head.kind.rawValue)),
            ("labels", .array(head.labels.map { .string($0) })), ("dimension", .number("\(head.dimension)")),
            ("model", model.map { .string($0) } ?? .null),
        ]
        if let pooling {
            members.append(("pooling", .object([
                ("modes", .array(pooling.modes.map { .string($0.rawValue) })), ("normalize", .bool(pooling.normalize)),
                ("max_length", pooling.maxLength.map { .number("\($0)") } ?? .null),
            ])))
        } else {
            members.append(("pooling", .null))
        }
        members += [("precision", precision.map { .string($0.rawValue) } ?? .null), ("training", training), ("validation", validation ?? .null)]
        return .object(members)
    }

    /// Reads a head directory, checking that tensors, shapes and labels agree.
    public init(directory: String) throws {
        let dir = FileSystem.directoryPrefix(directory)
        let jsonPath = dir + "head.json", weightsPath = dir + "head.safetensors"
        for path in [jsonPath, weightsPath] where !FileSystem.exists(path) {
            throw FormatError(file: directory, HeadTrainingError.badHeadFile("no \(path.split(separator: "/").last!) here; is this a directory written by ckpt train-head?"))
        }
        let text = try MappedFile(path: jsonPath)
        let json = try withExtendedLifetime(text) { try attributing(to: jsonPath) { try JSON.parse(text.bytes) } }
        func bad(_ problem: String) -> FormatError { FormatError(file: jsonPath, HeadTrainingError.badHeadFile(problem)) }
        guard let kind = json["kind"]?.string.flatMap(HeadKind.init(rawValue:)) else { throw bad("'kind' must be \"linear\" or \"mlp\"") }
        guard let labels = json["labels"]?.array?.compactMap(\.string), labels.count >= 2, Set(labels).count == labels.count else {
            throw bad("'labels' must list at least two distinct class names")
        }
        let checkpoint = try Checkpoint(path: weightsPath)
        var layers: [DenseLayer] = []
        let names = SavedHead.tensorNames(kind)
        for l in 0..<(names.count / 2) {
            let weight = try checkpoint.tensor(named: names[2 * l]), bias = try checkpoint.tensor(named: names[2 * l + 1])
            guard weight.shape.count == 2, bias.shape == [weight.shape[0]], weight.dtype.isFloatingPoint, bias.dtype.isFloatingPoint,
                  layers.last.map({ $0.outputs == weight.shape[1] }) ?? true else {
                throw FormatError(file: weightsPath, HeadTrainingError.badHeadFile(
                    "'\(names[2 * l])' \(weight.shape) and '\(names[2 * l + 1])' \(bias.shape) do not form a layer of this head"))
            }
            layers.append(DenseLayer(inputs: weight.shape[1], outputs: weight.shape[0], weight: weight.floats(), bias: bias.floats()))
        }
        guard layers.last!.outputs == labels.count else {
            throw bad("\(labels.count) labels but the last layer has \(layers.last!.outputs) outputs")
        }
        head = ClassifierHead(labels: labels, layers: layers)
        model = json["model"]?.string
        if let p = json["pooling"], p != .null {
            let modes = try (p["modes"]?.array ?? []).map { m -> PoolingMode in
                guard let mode = m.string.flatMap(PoolingMode.init(rawValue:)) else { throw bad("unknown pooling mode \(m.compactText)") }
                return mode
            }
            guard !modes.isEmpty else { throw bad("'pooling.modes' is empty") }
            pooling = PoolingSettings(modes: modes, normalize: p["normalize"]?.bool ?? false, maxLength: p["max_length"]?.int)
        } else {
            pooling = nil
        }
        if let p = json["precision"], p != .null {
            guard let precision = p.string.flatMap(Precision.init(rawValue:)) else {
                throw bad("unknown precision \(p.compactText) (known: \(Precision.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            self.precision = precision
        }
        training = json["training"] ?? .null
        validation = json["validation"].flatMap { $0 == .null ? nil : $0 }
    }
}
