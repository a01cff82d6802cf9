import CkptSupport
/// The rules a shard index (`*.safetensors.index.json`, `pytorch_model.bin.index.json`) can break.
public enum ShardIndexError: Error, CustomStringConvertible, Sendable {
    case notJSON(JSONError)
    case noWeightMap
    case shardNameNotString(tensor: String)
    case unsafeShardName(String)
    case tensorNotInShard(tensor: String, shard: String)
    case duplicateTensor(String, shards: (String, String))

    public var description: String {
        switch self {
        case .notJSON(let error): return "index is not valid JSON: \(error)"
        case .noWeightMap: return "index has no \"weight_map\" object"
        case .shardNameNotString(let tensor): return "weight_map entry for '\(tensor)' is not a file name"
        case .unsafeShardName(let name): return "shard name '\(name)' must be a file name in the index's directory"
        case .tensorNotInShard(let tensor, let shard): return "weight_map puts '\(tensor)' in \(shard), which does not hold it"
        case .duplicateTensor(let name, let shards): return "tensor '\(name)' is in both \(shards.0) and \(shards.1)"
        }
    }
}

/// A checkpoint split over several files, read through its index (`{"metadata": {...},
/// "weight_map": {tensor: shard file}}`, as transformers writes it): safetensors shards
/// (`model.safetensors.index.json`) or PyTorch ones (`pytorch_model.bin.index.json`).
public final class ShardedCheckpoint: TensorReader {
    public let path: String
    public var formatName: String { "sharded \(shards.first?.formatName ?? "checkpoint") (\(shards.count) shards)" }
    public let tensors: [TensorInfo]
    /// The first shard's metadata (transformers writes the same in every safetensors shard).
    public let metadata: [(String, String)]
    private let shards: [any TensorReader]
    private let shardOfTensor: [String: Int]

    /// Opens the index at `path` and every shard it names (all validated), each with `openShard`.
    public init(indexPath path: String, openShard: (String) throws -> any TensorReader) throws {
        self.path = path
        let file = try MappedFile(path: path)
        let json: JSON
        do { json = try JSON.parse(file.bytes) } catch let error as JSONError { throw FormatError(file: path, ShardIndexError.notJSON(error)) }
        guard let weightMap = json["weight_map"]?.object else { throw FormatError(file: path, ShardIndexError.noWeightMap) }

        let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
        var shardNames: [String] = []
        var shardIndex: [String: Int] = [:]
        var mapped: [(tensor: String, shard: Int)] = []
        for (tensor, value) in weightMap {
            guard let name = value.string else { throw FormatError(file: path, ShardIndexError.shardNameNotString(tensor: tensor)) }
            guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
                throw FormatError(file: path, ShardIndexError.unsafeShardName(name))
            }
            if shardIndex[name] == nil {
                shardIndex[name] = shardNames.count
                shardNames.append(name)
            }
            mapped.append((tensor, shardIndex[name]!))
        }
        shards = try shardNames.map { try openShard(directory + $0) }

        var owner: [String: Int] = [:]
        var all: [TensorInfo] = []
        for (i, shard) in shards.enumerated() {
            for info in shard.tensors {
                if let other = owner[info.name] {
                    throw FormatError(file: path, ShardIndexError.duplicateTensor(info.name, shards: (shardNames[other], shardNames[i])))
                }
                owner[info.name] = i
                all.append(info)
            }
        }
        for (tensor, shard) in mapped where owner[tensor] != shard {
            throw FormatError(file: path, ShardIndexError.tensorNotInShard(tensor: tensor, shard: shardNames[shard]))
        }
        tensors = all
        shardOfTensor = owner
        metadata = shards.first?.metadata ?? []
    }

    public func tensor(named name: String) throws -> TensorView {
        guard let shard = shardOfTensor[name] else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        return try shards[shard].tensor(named: name)
    }

    public func tensorForStreaming(named name: String) throws -> (view: TensorView, check: DeferredChecksum?) {
        guard let shard = shardOfTensor[name] else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        return try shards[shard].tensorForStreaming(named: name)
    }
}

