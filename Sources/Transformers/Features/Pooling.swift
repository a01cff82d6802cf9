import CkptSupport
import TensorFormats

/// How token states become one vector per text, as sentence-transformers' Pooling module does it.
public enum PoolingMode: String, CaseIterable, Sendable {
    /// The first token's state (the raw [CLS] state, not the pooler's).
    case cls
    /// Element-wise maximum over real tokens (padding excluded).
    case max
    /// Mean over real tokens: sum of states ÷ count of unmasked tokens.
    case mean
    /// Last real token (GPT-style models).
    case last

    /// Pools hidden [B, T, C] under mask [B, T] into [B, C].
    func pool(_ hidden: [Float], mask: [Int32], batch B: Int, length T: Int, channels C: Int) -> [Float] {
        var out = [Float](repeating: 0, count: B * C)
        for b in 0..<B {
            let count = Int(mask[(b * T)..<((b + 1) * T)].reduce(0, +))
            let row = b * C
            guard count > 0 else { continue }  // a text without tokens (GPT-2's empty text) pools to zeros
            switch self {
            case .cls:
                for c in 0..<C { out[row + c] = hidden[b * T * C + c] }
            case .last:
                for c in 0..<C { out[row + c] = hidden[(b * T + count - 1) * C + c] }
            case .mean:
                for t in 0..<T where mask[b * T + t] != 0 {
                    for c in 0..<C { out[row + c] += hidden[(b * T + t) * C + c] }
                }
                let divisor = Swift.max(Float(count), 1e-9)  // sentence-transformers clamps the count at 1e-9
                for c in 0..<C { out[row + c] /= divisor }
            case .max:
                for c in 0..<C { out[row + c] = -.greatestFiniteMagnitude }
                for t in 0..<T where mask[b * T + t] != 0 {
                    for c in 0..<C { out[row + c] = Swift.max(out[row + c], hidden[(b * T + t) * C + c]) }
                }
            }
        }
        return out
    }
}

/// A model directory's sentence-embedding settings: sentence-transformers' `modules.json`,
/// `1_Pooling/config.json` (several modes on → their outputs concatenated, in its order: CLS, max,
/// mean, last) and `sentence_bert_config.json` (`max_seq_length`), or plain defaults.
public struct PoolingSettings: Sendable, Equatable {
    public var modes: [PoolingMode]
    public var normalize: Bool
    /// Most tokens per text, special tokens included; nil: the model's position limit.
    public var maxLength: Int?
    /// The smallest limit a text may be cut to: a special token at each end.
    public static let fewestTokens = 2

    public init(modes: [PoolingMode], normalize: Bool, maxLength: Int?) {
        self.modes = modes
        self.normalize = normalize
        self.maxLength = maxLength
    }

    /// `{"modes", "normalize", "max_length"}`, as head directories and the ledger record them.
    public var json: JSON {
        .object([("modes", .array(modes.map { .string($0.rawValue) })), ("normalize", .bool(normalize)),
                 ("max_length", maxLength.map { .number("\($0)") } ?? .null)])
    }

    /// Divides `row` by max(‖row‖₂, 1e-12), as torch.nn.functional.normalize (sentence-transformers'
    /// Normalize step); the squares are summed in order, so a row gives the same bits wherever it is normalised.
    public static func normalize(_ row: UnsafeMutableBufferPointer<Float>) {
        let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
        for i in row.indices { row[i] /= norm }
    }

    /// Reads the settings of `directory`; without sentence-transformers files: `defaultMode`,
    /// no normalisation, no length limit beyond the model's.
    public init(directory: String, defaultMode: PoolingMode) throws {
        let dir = FileSystem.directoryPrefix(directory)
        func json(_ name: String) throws -> JSON? { FileSystem.exists(dir + name) ? try JSON.read(file: dir + name) : nil }
        let modules = try json("modules.json")?.array ?? []
        let poolingPath = modules.first { $0["type"]?.string?.hasSuffix("Pooling") == true }?["path"]?.string ?? "1_Pooling"
        if let pooling = try json(poolingPath + "/config.json") {
            if pooling["pooling_mode_mean_sqrt_len_tokens"]?.bool == true || pooling["pooling_mode_weightedmean_tokens"]?.bool == true {
                throw FormatError(file: dir + poolingPath + "/config.json",
                                  ConfigError.unsupported("a pooling mode other than cls, max, mean and lasttoken"))
            }
            let flags: [(String, PoolingMode)] = [("pooling_mode_cls_token", .cls), ("pooling_mode_max_tokens", .max),
                                                  ("pooling_mode_mean_tokens", .mean), ("pooling_mode_lasttoken", .last)]
            modes = flags.filter { pooling[$0.0]?.bool == true }.map(\.1)
        } else {
            modes = []
        }
        if modes.isEmpty { modes = [defaultMode] }
        normalize = modules.contains { $0["type"]?.string?.hasSuffix("Normalize") == true }
        maxLength = nil
        if let limit = try json("sentence_bert_config.json")?["max_seq_length"], limit != .null {
            do throws(FeatureSettingsError) { maxLength = try PoolingSettings.tokenLimit(limit, key: "max_seq_length") }
            catch { throw FormatError(file: dir + "sentence_bert_config.json", error) }
        }
    }
}
