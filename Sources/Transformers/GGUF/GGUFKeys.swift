/// The metadata keys ckpt adds to the GGUF files it writes, for what llama.cpp has no key for but
/// a model needs to be rebuilt exactly; llama.cpp ignores them. A file without them (written by
/// llama.cpp's converter) reads with the defaults each names.
enum GGUFKeys {
    /// Pooling modes joined by "+" ("mean", "cls+mean"); default: from `bert.pooling_type`, else the family's.
    static let pooling = "ckpt.pooling"
    /// Whether features are L2-normalised (sentence-transformers' Normalize step); default false.
    static let normalize = "ckpt.normalize"
    /// sentence-transformers' `max_seq_length`; default: the context length.
    static let maxSeqLength = "ckpt.max_seq_length"
    /// WordPiece's lower-casing; default true (llama.cpp lower-cases BERT input).
    static let lowercase = "ckpt.do_lower_case"
    /// config.json's activation (`hidden_act`, `activation_function`); default BERT "gelu", GPT-2 "gelu_new".
    static let activation = "ckpt.hidden_act"
    /// The prefix the source checkpoint kept its tensors under ("bert.", "transformer."); default none.
    static let tensorPrefix = "ckpt.tensor_prefix"
    /// Written with `--with-heads`: the names of the BERT head tensors llama.cpp has no tensor for
    /// (the pooler, the masked-LM head), each stored as `head(name)` (its f32 values, row-major)
    /// and `headShape(name)`; default none.
    static let heads = "ckpt.heads"
    static func head(_ name: String) -> String { "ckpt.head." + name }
    static func headShape(_ name: String) -> String { "ckpt.head." + name + ".shape" }
}
