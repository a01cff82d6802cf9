import Kernels
import TensorFormats

/// A model that turns a right-padded batch of token ids into one hidden state per token: what
/// the `FeatureExtractor` pools. BERT and GPT-2 are both one.
public protocol TokenEncoder: AnyObject, Sendable {
    /// Channels of a hidden state.
    var hiddenSize: Int { get }
    /// Most tokens per sequence.
    var maxPositions: Int { get }
    /// Checkpoint tensors the model did not use.
    var unusedTensors: [String] { get }
    /// The precision of the products with weights.
    var precision: Precision { get }
    /// Hidden states [B, T, C] of ids, type ids and mask, each [B, T]: the same bits for a sequence
    /// whatever batch it is in, at any thread count.
    func hiddenStates(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int) -> [Float]
    /// The attention probabilities of every layer and head for the same inputs (see `AttentionMaps`).
    func attention(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int) -> AttentionMaps
}

/// The real tokens of each sequence of a right-padded batch, from its mask [B, T] (each row ones,
/// then zeros; anything else is a programming error).
func sequenceLengths(mask: [Int32], batch B: Int, length T: Int) -> [Int] {
    let lengths = (0..<B).map { b in Int(mask[(b * T)..<((b + 1) * T)].reduce(0, +)) }
    precondition((0..<B).allSatisfy { b in (0..<T).allSatisfy { mask[b * T + $0] == ($0 < lengths[b] ? 1 : 0) } },
                 "hiddenStates: the mask must be right padding (ones, then zeros)")
    return lengths
}

extension TokenEncoder {
    /// Matrix-product FLOPs of one forward pass over [B, T] (for the bench commands).
    package func forwardFLOPs(batch B: Int, length T: Int) -> Double {
        switch self {
        case let bert as BERT: bert.config.forwardFLOPs(batch: B, length: T)
        case let gpt2 as GPT2: gpt2.forwardFLOPs(batch: B, length: T)
        default: 0
        }
    }
}

extension BERT: TokenEncoder {
    public var hiddenSize: Int { config.hiddenSize }
    public var maxPositions: Int { config.maxPositions }
}

extension GPT2: TokenEncoder {
    public var hiddenSize: Int { config.hiddenSize }
    public var maxPositions: Int { config.maxPositions }

    /// GPT-2 has no token types; the mask gives each sequence's length (right padding).
    public func hiddenStates(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int) -> [Float] {
        hiddenStates(ids: ids, batch: B, length: T, lengths: sequenceLengths(mask: mask, batch: B, length: T), threads: threads)
    }

    public func attention(ids: [Int32], typeIds: [Int32], mask: [Int32], batch B: Int, length T: Int, threads: Int) -> AttentionMaps {
        attention(ids: ids, batch: B, length: T, lengths: sequenceLengths(mask: mask, batch: B, length: T), threads: threads)
    }

    /// Projections and feed-forward per token, and the causal attention products (half of T²).
    package func forwardFLOPs(batch B: Int, length T: Int) -> Double {
        let N = Double(B * T), C = Double(config.hiddenSize), I = Double(config.intermediateSize)
        return Double(config.layers) * (2 * N * (4 * C * C + 2 * C * I) + 2 * Double(B) * Double(T) * Double(T + 1) * C)
    }
}

/// The model families ckpt runs, told apart by `config.json`'s `model_type`.
public enum ModelFamily: String, Sendable {
    case bert
    case gpt2

    /// Reads `model_type` from the directory's config.json (configs without one: GPT-2 if it has
    /// `n_embd`, else BERT).
    public init(directory: String) throws {
        try self.init(ConfigFile.read(directory))
    }

    init(_ config: ConfigFile) throws {
        let type = config.json["model_type"]?.string ?? (config.json["n_embd"] != nil ? "gpt2" : "bert")
        guard let family = ModelFamily(rawValue: type) else { throw config.unsupported("model_type \"\(type)\" (ckpt runs bert and gpt2)") }
        self = family
    }

    /// Pooling when the model directory names none: BERT's mean, GPT-2's last token.
    public var defaultPooling: PoolingMode { self == .gpt2 ? .last : .mean }
}
