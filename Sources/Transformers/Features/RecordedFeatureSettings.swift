import CkptSupport
import Kernels

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

    /// A recorded limit of tokens per text: a whole number, at least `fewestTokens`.
    static func tokenLimit(_ json: JSON, key: String) throws(FeatureSettingsError) -> Int {
        guard let limit = json.int, limit >= fewestTokens else { throw .badTokenLimit(key: key, json.compactText) }
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
        case .badTokenLimit(let key, let value): return "'\(key)' is \(value); it must be a whole number of tokens, at least \(PoolingSettings.fewestTokens)"
        case .unknownPrecision(let name): return "unknown precision \(name) (known: \(Precision.allCases.map(\.rawValue).joined(separator: ", ")))"
        }
    }
}
