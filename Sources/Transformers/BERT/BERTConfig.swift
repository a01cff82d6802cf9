import CkptSupport
import Kernels
import TensorFormats

/// A BERT encoder's dimensions, read from a Hugging Face `config.json`.
public struct BERTConfig: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    var activation: RowKernels.Activation

    public var headSize: Int { hiddenSize / heads }

    /// Reads `config.json` in `directory`.
    public init(directory: String) throws {
        let file = try ConfigFile.read(directory)
        try self.init(json: file.json, path: file.path)
    }

    init(json: JSON, path: String) throws {
        let config = ConfigFile(json: json, path: path)
        try config.require(.bert)
        vocabularySize = try config.positiveInt("vocab_size")
        hiddenSize = try config.positiveInt("hidden_size")
        layers = try config.positiveInt("num_hidden_layers")
        heads = try config.positiveInt("num_attention_heads")
        intermediateSize = try config.positiveInt("intermediate_size")
        maxPositions = try config.positiveInt("max_position_embeddings")
        typeVocabularySize = json["type_vocab_size"]?.int ?? 2
        layerNormEpsilon = Float(json["layer_norm_eps"]?.double ?? 1e-12)
        activation = try config.activation("hidden_act", fallback: "gelu")
        if let kind = json["position_embedding_type"]?.string, kind != "absolute" {
            throw config.unsupported("position_embedding_type \"\(kind)\" (only \"absolute\")")
        }
        guard hiddenSize % heads == 0 else {
            throw config.unsupported("hidden_size \(hiddenSize) not divisible by \(heads) heads")
        }
    }
}

extension BERTConfig {
    /// Matrix-product FLOPs of one forward pass over a padded batch [B, T]: the Q/K/V, output and
    /// feed-forward projections and the two attention products, per layer (2 per multiply-add).
    package func forwardFLOPs(batch B: Int, length T: Int) -> Double {
        let N = Double(B * T), C = Double(hiddenSize), I = Double(intermediateSize)
        let projections = 2 * N * (4 * C * C + 2 * C * I)
        let attention = 2 * 2 * Double(B) * Double(T) * Double(T) * C
        return Double(layers) * (projections + attention)
    }
}
