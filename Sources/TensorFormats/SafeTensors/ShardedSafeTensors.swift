#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rules a `*.safetensors.index.json` can break.
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

/// A checkpoint split over several safetensors files, read through its index
/// (`{"metadata": {...}, "weight_map": {tensor: shard file}}`, as transformers writes it).
public final class ShardedSafeTensors: TensorReader {
    public let path: String
    public var formatName: String { "sharded safetensors (\(shards.count) shards)" }
    public let tensors: [TensorInfo]
    /// The first shard's `__metadata__` (transformers writes the same in every shard).
    public let metadata: [(String, String)]
    private let shards: [SafeTensorsFile]
    private let shardOfTensor: [String: Int]

    /// Opens the index at `path` and every shard it names (all validated).
    public init(indexPath path: String) throws {
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
        shards = try shardNames.map { try SafeTensorsFile(path: directory + $0) }

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
}

/// Writes a checkpoint into a model directory the way transformers' `save_pretrained` does: one
/// `model.safetensors` when everything fits in `maxShardSize`, else `model-0000K-of-0000N.safetensors`
/// shards and a `model.safetensors.index.json`.
public enum ShardedSafeTensorsWriter {
    public static let indexName = "model.safetensors.index.json"
    public static let singleName = "model.safetensors"

    /// Splits `tensors` into shards with huggingface_hub's rule: tensors in order, a new shard when
    /// the next tensor would push the current one past `maxShardSize`, and a tensor larger than
    /// `maxShardSize` alone in a shard of its own (placed before the shard being filled).
    static func plan(_ tensors: [OutgoingTensor], maxShardSize: Int) -> [[OutgoingTensor]] {
        var shards: [[OutgoingTensor]] = []
        var current: [OutgoingTensor] = []
        var currentSize = 0
        for tensor in tensors {
            let size = tensor.info.byteCount
            if size > maxShardSize {
                shards.append([tensor])
                continue
            }
            if currentSize + size > maxShardSize && !current.isEmpty {
                shards.append(current)
                current = []
                currentSize = 0
            }
            current.append(tensor)
            currentSize += size
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }
        return shards
    }

    /// Writes `tensors` into `directory` (created if missing). Files already there are refused
    /// unless `overwrite`; then shards of an earlier save that the new layout does not use are
    /// removed, as transformers does. On failure, every file this call wrote is removed.
    /// Returns the names of the files written.
    @discardableResult
    public static func write(_ tensors: [OutgoingTensor], metadata: [(String, String)], directory: String,
                             maxShardSize: Int, overwrite: Bool) throws -> [String] {
        let shards = plan(tensors, maxShardSize: maxShardSize)
        let names = shards.count == 1
            ? [singleName]
            : (1...shards.count).map { "model-\(fiveDigits($0))-of-\(fiveDigits(shards.count)).safetensors" }
        let dir = FileSystem.directoryPrefix(directory)
        let createdDirectory = mkdir(dir, 0o755) == 0
        var written: [String] = []
        do {
            for (shard, name) in zip(shards, names) {
                try SafeTensorsWriter.write(shard, metadata: metadata, to: dir + name, overwrite: overwrite)
                written.append(name)
            }
            if shards.count > 1 {
                let index = indexText(shards: shards, names: names)
                let output = try AtomicOutputFile(path: dir + indexName, overwrite: overwrite)
                try output.write(Array(index.utf8))
                try output.commit()
                written.append(indexName)
            }
        } catch {
            for name in written { unlink(dir + name) }
            if createdDirectory { rmdir(dir) }
            throw error
        }
        if overwrite { removeStaleShards(in: dir, keeping: Set(written)) }
        return written
    }

    private static func fiveDigits(_ n: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }

    /// The index as transformers writes it: `json.dumps(index, indent=2, sort_keys=True)`.
    static func indexText(shards: [[OutgoingTensor]], names: [String]) -> String {
        let totalSize = shards.joined().reduce(0) { $0 + $1.info.byteCount }
        let entries = zip(shards, names).flatMap { shard, name in shard.map { ($0.info.name, name) } }
            .sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) }
        var text = "{\n  \"metadata\": {\n    \"total_size\": \(totalSize)\n  },\n  \"weight_map\": {\n"
        for (i, (tensor, file)) in entries.enumerated() {
            var key = "", value = ""
            JSON.writeString(tensor, to: &key)
            JSON.writeString(file, to: &value)
            text += "    \(key): \(value)" + (i + 1 < entries.count ? ",\n" : "\n")
        }
        return text + "  }\n}\n"
    }

    private static func removeStaleShards(in dir: String, keeping: Set<String>) {
        for name in FileSystem.listDirectory(dir) where !keeping.contains(name) {
            let isShard = name.hasPrefix("model-") && name.hasSuffix(".safetensors") && name.contains("-of-")
            if isShard || name == singleName || name == indexName { unlink(dir + name) }
        }
    }
}
