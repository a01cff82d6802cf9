import CkptSupport
import TensorFormats

/// Joins the parts of a sharded feature run into one file after checking their manifests: the same
/// input, model and settings, every shard K of N present once, contiguous rows covering the input,
/// and each part's bytes as its manifest recorded. `.npy` and `.safetensors` parts are streamed into
/// one [rows, dimension] array ("features"; from .safetensors parts with the first part's metadata,
/// their `FeatureOrigin`), `.jsonl` parts concatenated. Nothing is written unless
/// every check passes.
public enum ShardMerge {
    /// Merges `parts` (in any order) into `output`; returns the manifests in shard order.
    @discardableResult
    public static func merge(_ parts: [String], into output: String, overwrite: Bool) throws -> [ShardManifest] {
        let ordered = try checked(parts)
        let format = ordered[0].manifest.format
        let outputFormat = output.split(separator: ".").last.map(String.init) ?? ""
        guard outputFormat == format else { throw FormatError(file: output, ShardError.formatMismatch(output: outputFormat, parts: format)) }
        let rows = ordered.reduce(0) { $0 + $1.manifest.rows }, dimension = ordered[0].manifest.dimension
        switch format {
        case "jsonl":
            let file = try AtomicOutputFile(path: output, overwrite: overwrite)
            for part in ordered {
                let mapped = try MappedFile(path: part.path)
                try withExtendedLifetime(mapped) { try file.write(mapped.bytes) }
            }
            try file.commit()
        case "npy":
            try NPYWriter.write(shape: [rows, dimension], to: output, overwrite: overwrite) { emit in
                for part in ordered { try emitFeatures(of: part.path, emit) }
            }
        default:
            let info = TensorInfo(name: "features", dtype: .F32, shape: [rows, dimension])
            try SafeTensorsWriter.write([OutgoingTensor(info: info) { emit in
                for part in ordered { try emitFeatures(of: part.path, emit) }
            }], metadata: try Checkpoint(path: ordered[0].path).metadata, to: output, overwrite: overwrite)
        }
        return ordered.map(\.manifest)
    }

    /// The parts in shard order with their manifests, every check passed.
    static func checked(_ parts: [String]) throws -> [(path: String, manifest: ShardManifest)] {
        guard !parts.isEmpty else { throw ShardError.noParts }
        let read = try parts.map { (path: $0, manifest: try ShardManifest(part: $0)) }
        let reference = read[0]
        for part in read {
            for (mine, theirs) in zip(part.manifest.sharedSettings, reference.manifest.sharedSettings) where mine.value != theirs.value {
                throw FormatError(file: part.path, ShardError.differs(setting: mine.name, this: mine.value, others: theirs.value, reference: reference.path))
            }
            let found = try ShardManifest.checksum(file: part.path)
            guard found == part.manifest.outputChecksum else {
                throw FormatError(file: part.path, ShardError.corrupt(found: found, expected: part.manifest.outputChecksum))
            }
        }
        var byShard: [Int: (path: String, manifest: ShardManifest)] = [:]
        for part in read {
            if let other = byShard[part.manifest.shard] {
                throw FormatError(file: part.path, ShardError.duplicate(shard: part.manifest.shard, shards: part.manifest.shards, other: other.path))
            }
            byShard[part.manifest.shard] = part
        }
        let N = reference.manifest.shards
        var ordered: [(path: String, manifest: ShardManifest)] = []
        var end = 0
        for k in 0..<N {
            guard let part = byShard[k] else { throw FormatError(file: reference.path, ShardError.missingShard(k, of: N)) }
            guard part.manifest.firstRow == end else { throw FormatError(file: part.path, ShardError.gap(firstRow: part.manifest.firstRow, expected: end)) }
            end += part.manifest.rows
            ordered.append(part)
        }
        guard end == reference.manifest.inputRows else { throw FormatError(file: reference.path, ShardError.incomplete(rows: end, expected: reference.manifest.inputRows)) }
        return ordered
    }

    /// Emits the bytes of the one feature tensor of an .npy or .safetensors part (mapped while it is read).
    private static func emitFeatures(of path: String, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let checkpoint = try Checkpoint(path: path)
        let view = try checkpoint.tensor(named: checkpoint.tensors[0].name)
        try withExtendedLifetime(view) { try emit(view.bytes) }
    }
}
