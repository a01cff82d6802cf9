import CkptSupport
/// A checkpoint in any supported format: a `.safetensors` file, a sharded checkpoint's
/// `*.safetensors.index.json` or `*.bin.index.json`, an `.npz` archive (or a single `.npy`
/// array), a PyTorch `.bin` / `.pt` / `.pth` file (read without running its pickle), or a Hugging
/// Face model directory holding one of those.
public final class Checkpoint {
    /// The reader for the file that was found.
    public let reader: any TensorReader

    /// Opens `path`, validating the whole header (or central directory) before returning.
    public init(path: String) throws {
        reader = try Self.openReader(path)
    }

    /// The tensors `reader` presents (e.g. a `RenamedReader`).
    public init(reader: any TensorReader) {
        self.reader = reader
    }

    public var path: String { reader.path }
    public var formatName: String { reader.formatName }
    public var tensors: [TensorInfo] { reader.tensors }
    public var metadata: [(String, String)] { reader.metadata }

    /// The data of one tensor.
    public func tensor(named name: String) throws -> TensorView { try reader.tensor(named: name) }

    /// The tensor for reading once, its checksum (if any) checked during that pass (see `TensorReader.tensorForStreaming`).
    public func tensorForStreaming(named name: String) throws -> (view: TensorView, check: DeferredChecksum?) {
        try reader.tensorForStreaming(named: name)
    }

    /// Weight files looked for in a model directory, in order of preference (safetensors before
    /// PyTorch's pickles, as transformers prefers them).
    static let directoryCandidates = [ShardedSafeTensorsWriter.indexName, ShardedSafeTensorsWriter.singleName, "model.npz",
                                      "pytorch_model.bin.index.json", "pytorch_model.bin"]
    /// Extensions of PyTorch checkpoints.
    static let pytorchExtensions = [".bin", ".pt", ".pth"]
    /// Extensions of a model directory's only weight file when no candidate is there. Not `.bin`:
    /// a directory's other `.bin` files are not weights (the Trainer's `training_args.bin`).
    static let loneFileExtensions = [".safetensors", ".npz", ".pt", ".pth"]

    private static func openReader(_ path: String) throws -> any TensorReader {
        guard FileSystem.exists(path) else { throw FormatError(file: path, CheckpointError.notFound) }
        if FileSystem.isDirectory(path) { return try openReader(weightsIn: path) }
        if path.hasSuffix(".safetensors.index.json") || path.hasSuffix(".bin.index.json") {
            return try ShardedCheckpoint(indexPath: path, openShard: openShard)
        }
        if path.hasSuffix(".safetensors") { return try SafeTensorsFile(path: path) }
        if path.hasSuffix(".npz") { return try NPZFile(path: path) }
        if path.hasSuffix(".npy") { return try NPYFile(path: path) }
        if path.hasSuffix(".gguf") { return try GGUFFile(path: path) }
        if pytorchExtensions.contains(where: path.hasSuffix) { return try PyTorchFile(path: path) }
        throw FormatError(file: path, CheckpointError.unknownFormat)
    }

    /// A file an index names: a single-file format only, so that no index can name itself.
    private static func openShard(_ path: String) throws -> any TensorReader {
        if path.hasSuffix(".safetensors") { return try SafeTensorsFile(path: path) }
        if pytorchExtensions.contains(where: path.hasSuffix) { return try PyTorchFile(path: path) }
        throw FormatError(file: path, CheckpointError.unknownFormat)
    }

    /// The weights of a model directory: the preferred names first, else the only weight file.
    private static func openReader(weightsIn directory: String) throws -> any TensorReader {
        let dir = FileSystem.directoryPrefix(directory)
        for name in directoryCandidates where FileSystem.exists(dir + name) {
            return try openReader(dir + name)
        }
        let files = FileSystem.listDirectory(dir)
        let indexes = files.filter { $0.hasSuffix(".safetensors.index.json") }
        let weights = indexes.isEmpty ? files.filter { name in loneFileExtensions.contains(where: name.hasSuffix) } : indexes
        guard !weights.isEmpty else {
            let lookedFor = directoryCandidates + loneFileExtensions.map { "*" + $0 }
            throw FormatError(file: directory, CheckpointError.noWeights(lookedFor: lookedFor.joined(separator: ", ")))
        }
        guard weights.count == 1 else { throw FormatError(file: directory, CheckpointError.severalWeightFiles(weights.sorted())) }
        return try openReader(dir + weights[0])
    }
}
