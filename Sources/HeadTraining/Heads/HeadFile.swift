import CkptSupport
import Kernels
import TensorFormats
import Transformers

/// A trained head with what is needed to use it again: the model and feature settings it was
/// trained on, the training settings and validation metrics. On disk, a directory holding
/// `head.safetensors` and `head.json`. The tensors: `weight`/`bias` for a linear head, `0.*`/`2.*`
/// for an MLP (the names `nn.Linear` and `nn.Sequential` give them); `centroids` [classes, dim]
/// for a centroid head; `features` [rows, dim] (normalised) and `labels` [rows] (int64 class
/// indices) for a kNN head, whose `k` and `voting` head.json keeps under `neighbours`.
public struct SavedHead: Sendable {
    public var head: ClassifierHead
    /// The model directory the features came from (absolute). This and the next two are nil for
    /// precomputed features that do not record their `FeatureOrigin`.
    public var model: String?
    /// Pooling, normalisation and length limit of those features.
    public var pooling: PoolingSettings?
    /// The precision of the model products that made the training features; `predict` and
    /// `evaluate` encode in it unless told otherwise.
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
        switch kind {
        case .linear: return ["weight", "bias"]
        case .mlp: return ["0.weight", "0.bias", "2.weight", "2.bias"]
        case .centroid: return ["centroids"]
        case .knn: return ["features", "labels"]
        }
    }

    /// Name, shape, dtype and bytes of each tensor `head` is saved as.
    private static func tensors(of head: ClassifierHead) -> [(String, [Int], DType, [UInt8])] {
        let names = tensorNames(head.kind)
        func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        switch head.model {
        case .network(let layers):
            let arrays = layers.flatMap { [($0.weight, [$0.outputs, $0.inputs]), ($0.bias, [$0.outputs])] }
            return zip(names, arrays).map { ($0, $1.1, .F32, bytes($1.0)) }
        case .centroid(let c):
            return [(names[0], [c.classes, c.dimension], .F32, bytes(c.centroids))]
        case .neighbours(let n):
            return [(names[0], [n.memory.rows, n.memory.dimension], .F32, bytes(n.memory.values)),
                    (names[1], [n.labels.count], .I64, bytes(n.labels.map { Int64($0).littleEndian }))]
        }
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
        let tensors = SavedHead.tensors(of: head).map { name, shape, dtype, bytes in
            OutgoingTensor(info: TensorInfo(name: name, dtype: dtype, shape: shape)) { emit in try bytes.withUnsafeBytes { try emit($0) } }
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
        if case .neighbours(let n) = head.model {
            members.append(("neighbours", .object([("k", .number("\(n.k)")), ("voting", .string(n.voting.rawValue))])))
        }
        members += [("pooling", pooling?.json ?? .null), ("precision", precision.map { .string($0.rawValue) } ?? .null),
                    ("training", training), ("validation", validation ?? .null)]
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
        guard let kind = json["kind"]?.string.flatMap(HeadKind.init(rawValue:)) else {
            throw bad("'kind' must be one of " + HeadKind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
        }
        guard let labels = json["labels"]?.array?.compactMap(\.string), labels.count >= 2, Set(labels).count == labels.count else {
            throw bad("'labels' must list at least two distinct class names")
        }
        let checkpoint = try Checkpoint(path: weightsPath)
        head = try SavedHead.model(kind, labels: labels, json: json, checkpoint: checkpoint, file: weightsPath, bad: bad)
        model = json["model"]?.string
        do throws(FeatureSettingsError) {
            if let p = json["pooling"], p != .null { pooling = try PoolingSettings(recorded: p) }
            if let p = json["precision"], p != .null { precision = try Precision(recorded: p) }
        } catch {
            throw bad(error.description)
        }
        training = json["training"] ?? .null
        validation = json["validation"].flatMap { $0 == .null ? nil : $0 }
    }

    /// The head of `kind` held by `checkpoint`, its shapes checked against each other and the labels.
    private static func model(_ kind: HeadKind, labels: [String], json: JSON, checkpoint: Checkpoint, file: String,
                              bad: (String) -> FormatError) throws -> ClassifierHead {
        let names = tensorNames(kind)
        let tensors = try names.map { try checkpoint.tensor(named: $0) }
        func misfit() -> FormatError {
            FormatError(file: file, HeadTrainingError.badHeadFile(
                zip(names, tensors).map { "'\($0)' \($1.dtype) \($1.shape)" }.joined(separator: " and ") + " do not form a \(kind.rawValue) head of \(labels.count) classes"))
        }
        switch kind {
        case .linear, .mlp:
            var layers: [DenseLayer] = []
            for l in 0..<(names.count / 2) {
                let weight = tensors[2 * l], bias = tensors[2 * l + 1]
                guard weight.shape.count == 2, bias.shape == [weight.shape[0]], weight.dtype.isFloatingPoint, bias.dtype.isFloatingPoint,
                      layers.last.map({ $0.outputs == weight.shape[1] }) ?? true else { throw misfit() }
                layers.append(DenseLayer(inputs: weight.shape[1], outputs: weight.shape[0], weight: weight.floats(), bias: bias.floats()))
            }
            guard layers.last!.outputs == labels.count else {
                throw bad("\(labels.count) labels but the last layer has \(layers.last!.outputs) outputs")
            }
            return ClassifierHead(labels: labels, layers: layers)
        case .centroid:
            let c = tensors[0]
            guard c.dtype.isFloatingPoint, c.shape.count == 2, c.shape[0] == labels.count, c.shape[1] > 0 else { throw misfit() }
            return ClassifierHead(labels: labels, model: .centroid(NearestCentroid(dimension: c.shape[1], centroids: c.floats())))
        case .knn:
            let (x, y) = (tensors[0], tensors[1])
            guard x.dtype.isFloatingPoint, x.shape.count == 2, x.shape[0] > 0, x.shape[1] > 0, y.dtype == .I64, y.shape == [x.shape[0]] else { throw misfit() }
            let classIndices = (0..<x.shape[0]).map { Int(Int64(littleEndian: y.bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            guard classIndices.allSatisfy({ (0..<labels.count).contains($0) }) else {
                throw FormatError(file: file, HeadTrainingError.badHeadFile("'labels' holds class indices outside 0..<\(labels.count)"))
            }
            guard let k = json["neighbours"]?["k"]?.int, k >= 1,
                  let voting = json["neighbours"]?["voting"]?.string.flatMap(NeighbourVoting.init(rawValue:)) else {
                throw bad("a knn head needs 'neighbours': {\"k\": at least 1, \"voting\": \"uniform\" or \"similarity\"}")
            }
            let memory = FeatureMatrix(rows: x.shape[0], dimension: x.shape[1], values: x.floats())
            return ClassifierHead(labels: labels, model: .neighbours(NearestNeighbours(memory: memory, labels: classIndices, classes: labels.count, k: k, voting: voting)))
        }
    }
}
