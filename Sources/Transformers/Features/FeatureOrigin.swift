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

    /// The origin recorded in an opened features file (only .safetensors files carry one); its
    /// problems name the file.
    public init?(checkpoint: Checkpoint) throws {
        do { try self.init(metadata: checkpoint.metadata) } catch { throw FormatError(file: checkpoint.path, error) }
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
