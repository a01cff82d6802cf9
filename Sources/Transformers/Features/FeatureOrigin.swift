import CkptSupport
import Kernels
import TensorFormats

/// How features were made: the model that encoded the texts, its pooling and the precision of its
/// products. `ckpt embed` records it in a .safetensors output's `__metadata__` (`ckpt.features.model`,
/// `.pooling`, `.precision`), so that a head trained on that file knows it as if it had encoded the
/// texts itself, and features made another way are told apart from it.
public struct FeatureOrigin: Equatable, Sendable {
    /// The model directory or .gguf file (absolute).
    public var model: String
    public var pooling: PoolingSettings
    public var precision: Precision

    public init(model: String, pooling: PoolingSettings, precision: Precision) {
        self.model = model
        self.pooling = pooling
        self.precision = precision
    }

    static let modelKey = "ckpt.features.model", poolingKey = "ckpt.features.pooling", precisionKey = "ckpt.features.precision"

    /// The `__metadata__` entries that record this origin.
    public var metadata: [(String, String)] {
        [(Self.modelKey, model), (Self.poolingKey, pooling.json.compactText), (Self.precisionKey, precision.rawValue)]
    }

    /// The origin `metadata` records; nil when it records none (features from elsewhere).
    public init?(metadata: [(String, String)]) throws(FeatureSettingsError) {
        let entries = Dictionary(metadata.filter { $0.0.hasPrefix("ckpt.features.") }, uniquingKeysWith: { first, _ in first })
        if entries.isEmpty { return nil }
        for key in [Self.modelKey, Self.poolingKey, Self.precisionKey] where entries[key] == nil { throw .incomplete(missing: key) }
        guard let pooling = try? JSON.parse(entries[Self.poolingKey]!) else { throw .notJSON(key: Self.poolingKey) }
        self.init(model: entries[Self.modelKey]!, pooling: try PoolingSettings(recorded: pooling),
                  precision: try Precision(recorded: .string(entries[Self.precisionKey]!)))
    }

    /// The origin recorded in the features file at `path` (only .safetensors files carry one).
    public init?(file path: String) throws {
        let checkpoint = try Checkpoint(path: path)
        do { try self.init(metadata: checkpoint.metadata) } catch { throw FormatError(file: path, error) }
    }

    /// The first setting in which features made with (`pooling`, `precision`) differ from features
    /// made with (`otherPooling`, `otherPrecision`), described for each side, e.g. ("precision int8",
    /// "precision f32"); nil when none that both sides record differs.
    public static func difference(pooling: PoolingSettings?, precision: Precision?,
                                  from otherPooling: PoolingSettings?, _ otherPrecision: Precision?) -> (this: String, other: String)? {
        if let pooling, let otherPooling, pooling != otherPooling {
            return ("pooling \(pooling.json.compactText)", "pooling \(otherPooling.json.compactText)")
        }
        if let precision, let otherPrecision, precision != otherPrecision {
            return ("precision \(precision.rawValue)", "precision \(otherPrecision.rawValue)")
        }
        return nil
    }

    /// The first setting in which these features differ from features made with (`pooling`, `precision`).
    public func difference(from pooling: PoolingSettings?, _ precision: Precision?) -> (this: String, other: String)? {
        Self.difference(pooling: self.pooling, precision: self.precision, from: pooling, precision)
    }
}

extension PoolingSettings {
    /// Settings as `json` writes them (head.json, a features file's metadata), read back.
    public init(recorded json: JSON) throws(FeatureSettingsError) {
        let modes = try (json["modes"]?.array ?? []).map { (m: JSON) throws(FeatureSettingsError) -> PoolingMode in
            guard let mode = m.string.flatMap(PoolingMode.init(rawValue:)) else { throw .unknownPoolingMode(m.compactText) }
            return mode
        }
        guard !modes.isEmpty else { throw .noPoolingModes }
        guard let normalize = json["normalize"]?.bool else { throw .notABool(key: "normalize", json["normalize"]?.compactText ?? "missing") }
        var maxLength: Int?
        if let limit = json["max_length"], limit != .null { maxLength = try PoolingSettings.tokenLimit(limit, key: "max_length") }
        self.init(modes: modes, normalize: normalize, maxLength: maxLength)
    }

    /// A recorded limit of tokens per text: a whole number, at least 2 (a special token at each end).
    static func tokenLimit(_ json: JSON, key: String) throws(FeatureSettingsError) -> Int {
        guard let limit = json.int, limit >= 2 else { throw .badTokenLimit(key: key, json.compactText) }
        return limit
    }
}

extension Precision {
    /// A precision as head.json and a features file's metadata record it.
    public init(recorded json: JSON) throws(FeatureSettingsError) {
        guard let precision = json.string.flatMap(Precision.init(rawValue:)) else { throw .unknownPrecision(json.compactText) }
        self = precision
    }
}

/// Recorded feature settings that cannot be used: head.json's, a features file's metadata, a model's
/// `sentence_bert_config.json`.
public enum FeatureSettingsError: Error, CustomStringConvertible, Sendable {
    case incomplete(missing: String)
    case notJSON(key: String)
    case unknownPoolingMode(String)
    case noPoolingModes
    case notABool(key: String, String)
    case badTokenLimit(key: String, String)
    case unknownPrecision(String)

    public var description: String {
        switch self {
        case .incomplete(let key): return "its metadata records how the features were made but lacks '\(key)'"
        case .notJSON(let key): return "metadata '\(key)' is not JSON"
        case .unknownPoolingMode(let mode): return "unknown pooling mode \(mode) (known: \(PoolingMode.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .noPoolingModes: return "the pooling names no mode"
        case .notABool(let key, let value): return "'\(key)' is \(value); it must be true or false"
        case .badTokenLimit(let key, let value): return "'\(key)' is \(value); it must be a whole number of tokens, at least 2"
        case .unknownPrecision(let name): return "unknown precision \(name) (known: \(Precision.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}
