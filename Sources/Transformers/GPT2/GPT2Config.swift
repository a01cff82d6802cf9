import CkptSupport
import Kernels
import TensorFormats

/// A GPT-2 decoder's dimensions, read from a Hugging Face `config.json`.
public struct GPT2Config: Sendable, Equatable {
    public var vocabularySize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    /// The context length: most tokens the model can attend over.
    public var maxPositions: Int
    public var layerNormEpsilon: Float
    /// Whether the output projection is the token embedding (true unless the config says otherwise).
    public var tiedEmbeddings: Bool
    /// `<|endoftext|>`: where an empty prompt starts and where generation stops.
    public var endOfText: Int32
    var activation: RowKernels.Activation

    public var headSize: Int { hiddenSize / heads }

    /// Reads `config.json` in `directory`.
    public init(directory: String) throws {
        let file = try ConfigFile.read(directory)
        try self.init(json: file.json, path: file.path)
    }

    init(json: JSON, path: String) throws {
        let config = ConfigFile(json: json, path: path)
        try config.require(.gpt2)
        vocabularySize = try config.positiveInt("vocab_size")
        hiddenSize = try config.positiveInt("n_embd")
        layers = try config.positiveInt("n_layer")
        heads = try config.positiveInt("n_head")
        maxPositions = try config.positiveInt("n_positions", "n_ctx")
        intermediateSize = json["n_inner"]?.int ?? 4 * hiddenSize
        layerNormEpsilon = Float(json["layer_norm_epsilon"]?.double ?? 1e-5)
        tiedEmbeddings = json["tie_word_embeddings"]?.bool ?? true
        endOfText = Int32(json["eos_token_id"]?.int ?? 50256)
        activation = try config.activation("activation_function", fallback: "gelu_new")
        for flag in ["scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn", "add_cross_attention"] where json[flag]?.bool == true {
            throw config.unsupported("\(flag) true")
        }
        if json["scale_attn_weights"]?.bool == false {
            throw config.unsupported("scale_attn_weights false")
        }
        guard hiddenSize % heads == 0 else {
            throw config.unsupported("n_embd \(hiddenSize) not divisible by \(heads) heads")
        }
        guard Int(endOfText) < vocabularySize else {
            throw config.unsupported("eos_token_id \(endOfText) outside the \(vocabularySize)-token vocabulary")
        }
    }
}
