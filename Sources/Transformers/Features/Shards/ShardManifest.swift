import CkptSupport
import TensorFormats

/// What one worker of a sharded run wrote, beside its part as `PART.manifest.json`: which input
/// (a checksum of all its texts), which slice of it, with which model and settings, and a checksum
/// of the part's bytes — what `ShardMerge` checks before joining parts.
public struct ShardManifest: Equatable, Sendable {
    /// CRC-32 and count of the whole input's texts (each text's UTF-8 and a line feed), as `crc:count`.
    public var inputChecksum: String
    public var inputRows: Int
    /// The shard's index K (0-based) of `shards` N, and its rows of the input.
    public var shard: Int
    public var shards: Int
    public var firstRow: Int
    public var rows: Int
    /// `ModelFingerprint.weights` of the model.
    public var modelWeights: String
    public var pooling: String
    public var normalize: Bool
    public var maxLength: Int
    public var precision: String
    /// The part's format (npy, safetensors or jsonl) and feature length.
    public var format: String
    public var dimension: Int
    /// CRC-32 and byte count of the part file, as `crc:bytes`.
    public var outputChecksum: String

    public static let version = 1

    /// The manifest's path for a part.
    public static func path(forPart part: String) -> String { part + ".manifest.json" }

    /// The checksum of an input's texts.
    public static func checksum(texts: [String]) -> String {
        var crc: UInt32 = 0
        for text in texts { crc = Array((text + "\n").utf8).withUnsafeBytes { CRC32.update(crc, $0) } }
        return "\(String(crc, radix: 16)):\(texts.count)"
    }

    /// The checksum of a file's bytes.
    public static func checksum(file path: String) throws -> String {
        let file = try MappedFile(path: path)
        return "\(String(CRC32.of(file.bytes), radix: 16)):\(file.bytes.count)"
    }

    public init(inputChecksum: String, inputRows: Int, shard: Int, shards: Int, firstRow: Int, rows: Int, modelWeights: String,
                pooling: String, normalize: Bool, maxLength: Int, precision: String, format: String, dimension: Int, outputChecksum: String) {
        (self.inputChecksum, self.inputRows, self.shard, self.shards, self.firstRow, self.rows) = (inputChecksum, inputRows, shard, shards, firstRow, rows)
        (self.modelWeights, self.pooling, self.normalize, self.maxLength, self.precision) = (modelWeights, pooling, normalize, maxLength, precision)
        (self.format, self.dimension, self.outputChecksum) = (format, dimension, outputChecksum)
    }

    var json: JSON {
        func number(_ n: Int) -> JSON { .number(String(n)) }
        return .object([
            ("ckpt_shard_manifest", number(Self.version)),
            ("input", .object([("checksum", .string(inputChecksum)), ("rows", number(inputRows))])),
            ("shard", .object([("index", number(shard)), ("count", number(shards)), ("first_row", number(firstRow)), ("rows", number(rows))])),
            ("model", .object([("weights", .string(modelWeights))])),
            ("settings", .object([("pooling", .string(pooling)), ("normalize", .bool(normalize)), ("max_length", number(maxLength)),
                                  ("precision", .string(precision))])),
            ("output", .object([("format", .string(format)), ("dimension", number(dimension)), ("checksum", .string(outputChecksum))])),
        ])
    }

    /// Writes the manifest beside `part` (temporary file, then rename).
    public func write(forPart part: String, overwrite: Bool) throws {
        let file = try AtomicOutputFile(path: Self.path(forPart: part), overwrite: overwrite)
        try file.write(Array((json.compactText + "\n").utf8))
        try file.commit()
    }

    /// Reads the manifest of `part`; a missing or malformed one is an error naming the part.
    public init(part: String) throws {
        let path = Self.path(forPart: part)
        guard FileSystem.exists(path) else { throw FormatError(file: part, ShardError.missingManifest(path)) }
        let json = try attributing(to: path) { try JSON.read(file: path) }
        func field<T>(_ keys: [String], _ read: (JSON) -> T?) throws -> T {
            var value: JSON? = json
            for key in keys { value = value?[key] }
            guard let found = value.flatMap(read) else { throw FormatError(file: path, ShardError.badManifest(keys.joined(separator: "."))) }
            return found
        }
        guard try field(["ckpt_shard_manifest"], \.int) == Self.version else {
            throw FormatError(file: path, ShardError.badManifest("ckpt_shard_manifest (version \(Self.version) expected)"))
        }
        self.init(inputChecksum: try field(["input", "checksum"], \.string), inputRows: try field(["input", "rows"], \.int),
                  shard: try field(["shard", "index"], \.int), shards: try field(["shard", "count"], \.int),
                  firstRow: try field(["shard", "first_row"], \.int), rows: try field(["shard", "rows"], \.int),
                  modelWeights: try field(["model", "weights"], \.string), pooling: try field(["settings", "pooling"], \.string),
                  normalize: try field(["settings", "normalize"], \.bool), maxLength: try field(["settings", "max_length"], \.int),
                  precision: try field(["settings", "precision"], \.string), format: try field(["output", "format"], \.string),
                  dimension: try field(["output", "dimension"], \.int), outputChecksum: try field(["output", "checksum"], \.string))
    }

    /// The settings that every part of one run must share, by name (for messages).
    var sharedSettings: [(name: String, value: String)] {
        [("input", "\(inputChecksum) (\(inputRows) rows)"), ("shard count", "\(shards)"), ("model weights", modelWeights),
         ("pooling", pooling), ("normalize", "\(normalize)"), ("max length", "\(maxLength)"), ("precision", precision),
         ("format", format), ("dimension", "\(dimension)")]
    }
}

/// Why parts cannot be joined.
public enum ShardError: Error, Equatable, CustomStringConvertible {
    case missingManifest(String)
    case badManifest(String)
    case differs(setting: String, this: String, others: String, reference: String)
    case duplicate(shard: Int, shards: Int, other: String)
    case missingShard(Int, of: Int)
    case gap(firstRow: Int, expected: Int)
    case incomplete(rows: Int, expected: Int)
    case corrupt(found: String, expected: String)
    case formatMismatch(output: String, parts: String)
    case noParts

    public var description: String {
        switch self {
        case .missingManifest(let path): "no manifest beside it (\(path)); sharded runs write one with each part"
        case .badManifest(let field): "the manifest's '\(field)' is missing or malformed"
        case .differs(let setting, let this, let others, let reference):
            "was made with another \(setting) (\(this)) than \(reference) (\(others)): it belongs to another run"
        case .duplicate(let shard, let shards, let other): "is shard \(shard) of \(shards), as is \(other)"
        case .missingShard(let k, let n): "no part for shard \(k) of \(n)"
        case .gap(let first, let expected): "starts at row \(first), but the parts before it end at row \(expected)"
        case .incomplete(let rows, let expected): "the parts cover \(rows) rows of an input of \(expected)"
        case .corrupt(let found, let expected): "its bytes (CRC-32:size \(found)) differ from its manifest's (\(expected)): the part is truncated or changed"
        case .formatMismatch(let output, let parts): "the parts are \(parts); the output must be \(parts) too, not \(output)"
        case .noParts: "no parts to merge"
        }
    }
}
