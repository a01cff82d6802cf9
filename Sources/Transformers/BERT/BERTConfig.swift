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
    var activation: Kernels.Activation

    public var headSize: Int { hiddenSize / heads }

    /// Reads `config.json` in `directory`.
    public init(directory: String) throws {
        let config = try ConfigFile.read(directory)
        try self.init(json: config.json, path: config.path)
    }

    init(json: JSON, path: String) throws {
        func int(_ key: String) throws -> Int {
            guard let value = json[key]?.int, value > 0 else { throw FormatError(file: path, ConfigError.missing("a positive \"\(key)\"")) }
            return value
        }
        vocabularySize = try int("vocab_size")
        hiddenSize = try int("hidden_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        maxPositions = try int("max_position_embeddings")
        typeVocabularySize = json["type_vocab_size"]?.int ?? 2
        layerNormEpsilon = Float(json["layer_norm_eps"]?.double ?? 1e-12)
        let act = json["hidden_act"]?.string ?? "gelu"
        guard let activation = Kernels.Activation(rawValue: act) else {
            throw FormatError(file: path, ConfigError.unsupported("hidden_act \"\(act)\""))
        }
        self.activation = activation
        if let kind = json["position_embedding_type"]?.string, kind != "absolute" {
            throw FormatError(file: path, ConfigError.unsupported("position_embedding_type \"\(kind)\" (only \"absolute\")"))
        }
        guard hiddenSize % heads == 0 else {
            throw FormatError(file: path, ConfigError.unsupported("hidden_size \(hiddenSize) not divisible by \(heads) heads"))
        }
    }
}
