import CkptSupport
import Kernels
import TensorFormats
import Tokenizers

/// Where a model comes from: a Hugging Face model directory (`config.json`, weights in any
/// supported format, tokenizer files, sentence-transformers settings) or a `.gguf` file read as the
/// directory it stands for (`GGUFModel`). Every model command takes either.
public struct ModelSource {
    public let path: String
    public let family: ModelFamily
    let config: ConfigFile
    private let gguf: GGUFModel?

    /// Reads `path`'s configuration (the weights are opened by `checkpoint()`).
    public init(path: String) throws {
        self.path = path
        if Self.isGGUF(path) {
            let model = try GGUFModel(path: path)
            gguf = model
            family = model.family
            config = ConfigFile(json: model.config, path: path)
        } else {
            gguf = nil
            config = try ConfigFile.read(path)
            family = try ModelFamily(config)
        }
    }

    /// Whether `path` names a GGUF file rather than a model directory.
    static func isGGUF(_ path: String) -> Bool { path.hasSuffix(".gguf") && !FileSystem.isDirectory(path) }

    /// The tokenizer of a model directory (tokenizer files alone will do) or of a GGUF file.
    public static func tokenizer(path: String) throws -> Tokenizer {
        try isGGUF(path) ? ModelSource(path: path).tokenizer() : Tokenizer(directory: path)
    }

    /// The weights, under Hugging Face names.
    public func checkpoint() throws -> Checkpoint { try gguf?.checkpoint ?? Checkpoint(path: path) }

    public func tokenizer() throws -> Tokenizer { try gguf?.tokenizer() ?? Tokenizer(directory: path) }

    /// The sentence-embedding settings (see `PoolingSettings`; a GGUF file's from its metadata).
    public func poolingSettings() throws -> PoolingSettings {
        try gguf?.pooling ?? PoolingSettings(directory: path, defaultMode: family.defaultPooling)
    }

    /// The precision its checkpoint is stored for (`Precision.stored(in:configDType:)`), which its
    /// model runs in when not told one.
    public func storedPrecision() throws -> Precision { try storedPrecision(of: checkpoint()) }

    /// The same, from its checkpoint already opened.
    public func storedPrecision(of checkpoint: Checkpoint) -> Precision { .stored(in: checkpoint, configDType: config.dtype) }

    /// The model's encoder, packed for products in `precision` (nil: `storedPrecision()`): the
    /// layers that make hidden states, without the output heads they never use (`OutputHeads`).
    public func loadEncoder(precision: Precision? = nil) throws -> any TokenEncoder {
        switch family {
        case .bert: try BERT(source: self, precision: precision, heads: .omitted)
        case .gpt2: try GPT2(source: self, precision: precision, heads: .omitted)
        }
    }
}
