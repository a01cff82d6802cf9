#if canImport(Glibc)
import CkptSupport
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
