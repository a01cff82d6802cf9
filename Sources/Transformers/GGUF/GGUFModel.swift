import CkptSupport
import TensorFormats
import Tokenizers

/// A BERT or GPT-2 GGUF file, written by ckpt or by llama.cpp's converter, read as the Hugging Face
/// model directory it stands for: the `config.json`, the tokenizer and the sentence-embedding
/// settings rebuilt from its metadata (`GGUFKeys` where llama.cpp has no key), and its tensors
/// under Hugging Face names and layouts (GPT-2's Conv1D weights transposed back; Q8_0 dequantized),
/// with the head tensors ckpt keeps in metadata (`GGUFKeys.heads`) after them.
public struct GGUFModel {
    public let file: GGUFFile
    public let family: ModelFamily
    /// The `config.json` the file stands for.
    public let config: JSON
    /// The tensors under Hugging Face names.
    public let checkpoint: Checkpoint
    public let pooling: PoolingSettings
    /// The vocabulary as Hugging Face spells it (WordPiece continuations with "##").
    let tokens: [String]
    let lowercase: Bool

    public init(path: String) throws {
        let file = try GGUFFile(path: path)
        self.file = file
        func fail(_ error: GGUFImportError) -> FormatError { FormatError(file: path, error) }
        func count(_ key: String) throws -> Int {
            guard let value = file[key]?.int, value > 0 else { throw fail(.missingKey(key)) }
            return value
        }
        func number(_ key: String, default value: Float) -> JSON { .number("\(file[key]?.double.map(Float.init) ?? value)") }
        let architecture = file["general.architecture"]?.string ?? ""
        guard let family = ModelFamily(rawValue: architecture) else { throw fail(.unsupportedArchitecture(architecture)) }
        self.family = family
        let prefix = file[GGUFKeys.tensorPrefix]?.string ?? ""
        let a = architecture + "."
        let layers = try count(a + "block_count")
        var names = (family == .bert ? GGUFNames.bert(layers: layers) : GGUFNames.gpt2(layers: layers)).map {
            RenamedReader.Entry(name: prefix + $0.hf, source: $0.gguf, transpose: $0.transpose)
        }
        guard let embedding = file.tensors.first(where: { $0.name == "token_embd.weight" }), embedding.shape.count == 2 else {
            throw FormatError(file: path, CheckpointError.noSuchTensor("token_embd.weight"))
        }
        let vocabularySize = embedding.shape[0]
        // GPT-2's untied output is presented as lm_head: no head may take that name either.
        let heads = try Self.heads(file, besides: Set(names.map(\.name) + [GGUFNames.lmHead]), fail: fail)
        var fields: [(String, JSON)] = [("model_type", .string(architecture))]
        switch family {
        case .bert:
            let typeCount = file["tokenizer.ggml.token_type_count"]?.int ?? file.tensors.first { $0.name == "token_types.weight" }?.shape.first ?? 2
            let maskedLM = heads.contains { $0.name == "cls.predictions.bias" }
            fields = [("architectures", .array([.string(maskedLM ? "BertForMaskedLM" : "BertModel")]))] + fields + [
                ("vocab_size", .number("\(vocabularySize)")), ("hidden_size", .number("\(try count(a + "embedding_length"))")),
                ("num_hidden_layers", .number("\(layers)")), ("num_attention_heads", .number("\(try count(a + "attention.head_count"))")),
                ("intermediate_size", .number("\(try count(a + "feed_forward_length"))")),
                ("max_position_embeddings", .number("\(try count(a + "context_length"))")), ("type_vocab_size", .number("\(typeCount)")),
                ("layer_norm_eps", number(a + "attention.layer_norm_epsilon", default: 1e-12)),
                ("hidden_act", .string(file[GGUFKeys.activation]?.string ?? "gelu")),
                ("pad_token_id", .number("\(file["tokenizer.ggml.padding_token_id"]?.int ?? 0)")),
            ]
        case .gpt2:
            let endOfText = file["tokenizer.ggml.eos_token_id"]?.int ?? 50256
            let tied = Self.outputIsTokenEmbedding(file)
            if !tied { names.append(RenamedReader.Entry(name: GGUFNames.lmHead, source: GGUFNames.output, transpose: false)) }
            fields = [("architectures", .array([.string("GPT2LMHeadModel")]))] + fields + [
                ("vocab_size", .number("\(vocabularySize)")), ("n_embd", .number("\(try count(a + "embedding_length"))")),
                ("n_layer", .number("\(layers)")), ("n_head", .number("\(try count(a + "attention.head_count"))")),
                ("n_inner", .number("\(try count(a + "feed_forward_length"))")), ("n_positions", .number("\(try count(a + "context_length"))")),
                ("layer_norm_epsilon", number(a + "attention.layer_norm_epsilon", default: 1e-5)),
                ("activation_function", .string(file[GGUFKeys.activation]?.string ?? "gelu_new")),
                ("bos_token_id", .number("\(file["tokenizer.ggml.bos_token_id"]?.int ?? endOfText)")), ("eos_token_id", .number("\(endOfText)")),
                ("tie_word_embeddings", .bool(tied)),
            ]
        }
        config = .object(fields)
        checkpoint = Checkpoint(reader: try RenamedReader(file, entries: names, resident: heads))
        pooling = try Self.pooling(file, family: family, fail: fail)
        (tokens, lowercase) = try Self.vocabulary(file, fail: fail)
    }

    /// The model's tokenizer, from `tokenizer.ggml.*`.
    public func tokenizer() throws -> Tokenizer {
        if file["tokenizer.ggml.model"]?.string == "bert" {
            return try Tokenizer.wordPiece(tokens: tokens, lowercase: lowercase, source: file.path)
        }
        let merges = file["tokenizer.ggml.merges"]?.array?.compactMap(\.string) ?? []
        let endOfText = file["tokenizer.ggml.eos_token_id"]?.int.flatMap { Int32(exactly: $0) }
        return try Tokenizer.bytePair(tokens: tokens, merges: merges, endOfText: endOfText, source: file.path)
    }

    /// Whether the output matrix is absent or the token embedding's very bytes (GPT-2's tie, which
    /// llama.cpp's converter writes out as a copy).
    private static func outputIsTokenEmbedding(_ file: GGUFFile) -> Bool {
        !file.tensors.contains { $0.name == GGUFNames.output } || file.storedAlike(GGUFNames.output, "token_embd.weight")
    }

    /// The tensors listed in `ckpt.heads`, each from its shape and f32 values; their names must be
    /// distinct and not among the `presented` ones.
    private static func heads(_ file: GGUFFile, besides presented: Set<String>,
                              fail: (GGUFImportError) -> FormatError) throws -> [(name: String, shape: [Int], values: [Float])] {
        guard let listed = file[GGUFKeys.heads] else { return [] }
        guard let names = listed.array?.compactMap(\.string), names.count == listed.array?.count else {
            throw fail(.badKey(GGUFKeys.heads, "is not an array of tensor names"))
        }
        if let clash = names.first(where: { presented.contains($0) }) ?? names.enumerated().first(where: { names[..<$0.offset].contains($0.element) })?.element {
            throw fail(.badKey(GGUFKeys.heads, "names '\(clash)' twice, or a tensor the file already holds"))
        }
        return try names.map { name in
            let shapeKey = GGUFKeys.headShape(name), valuesKey = GGUFKeys.head(name)
            let listedDimensions = file[shapeKey]?.array ?? []
            let dimensions = listedDimensions.compactMap(\.int)
            guard !dimensions.isEmpty, dimensions.count == listedDimensions.count, dimensions.allSatisfy({ $0 > 0 }) else {
                throw fail(.badKey(shapeKey, "is missing or not an array of positive dimensions"))
            }
            guard case .array(.float32, let items)? = file[valuesKey] else { throw fail(.badKey(valuesKey, "is missing or not an array of float32")) }
            guard Shape.elementCount(dimensions) == items.count else {
                throw fail(.badKey(shapeKey, "does not match the \(items.count) values of \(valuesKey)"))
            }
            return (name, dimensions, items.map { if case .float32(let v) = $0 { v } else { 0 } })
        }
    }

    private static func pooling(_ file: GGUFFile, family: ModelFamily, fail: (GGUFImportError) -> FormatError) throws -> PoolingSettings {
        var modes: [PoolingMode]
        if let named = file[GGUFKeys.pooling]?.string {
            modes = try named.split(separator: "+").map { name in
                guard let mode = PoolingMode(rawValue: String(name)) else { throw fail(.badPooling(named)) }
                return mode
            }
        } else {
            // llama.cpp's pooling types: mean 1, cls 2, last 3.
            switch file[family.rawValue + ".pooling_type"]?.int {
            case 1: modes = [.mean]
            case 2: modes = [.cls]
            case 3: modes = [.last]
            default: modes = [family.defaultPooling]
            }
        }
        if modes.isEmpty { modes = [family.defaultPooling] }
        let maxLength = file[GGUFKeys.maxSeqLength]?.int
        if let maxLength, maxLength < PoolingSettings.fewestTokens {
            throw fail(.badKey(GGUFKeys.maxSeqLength, "is \(maxLength); it must be at least \(PoolingSettings.fewestTokens) tokens"))
        }
        return PoolingSettings(modes: modes, normalize: file[GGUFKeys.normalize]?.bool ?? false, maxLength: maxLength)
    }

    /// The tokens in Hugging Face's spelling: llama.cpp writes WordPiece vocabularies in
    /// "phantom space" form (control tokens as they are, "##x" as "x", any other token as "▁" + token).
    private static func vocabulary(_ file: GGUFFile, fail: (GGUFImportError) -> FormatError) throws -> (tokens: [String], lowercase: Bool) {
        guard let listed = file["tokenizer.ggml.tokens"]?.array else { throw fail(.missingKey("tokenizer.ggml.tokens")) }
        let tokens = try listed.map { value in
            guard let token = value.string else { throw fail(.badKey("tokenizer.ggml.tokens", "holds a value that is not a string")) }
            return token
        }
        switch file["tokenizer.ggml.model"]?.string {
        case "bert":
            let types = file["tokenizer.ggml.token_type"]?.array?.map(\.int) ?? []
            let spelled = tokens.enumerated().map { i, token -> String in
                if i < types.count && types[i] == 3 { return token }
                return token.hasPrefix("\u{2581}") ? String(token.dropFirst()) : "##" + token
            }
            return (spelled, file[GGUFKeys.lowercase]?.bool ?? true)
        case "gpt2":
            return (tokens, false)
        case let other:
            throw fail(.unsupportedTokenizer(other ?? "(none)"))
        }
    }
}

/// Why a GGUF file cannot be read as a model.
public enum GGUFImportError: Error, CustomStringConvertible, Sendable {
    case unsupportedArchitecture(String)
    case missingKey(String)
    case badKey(String, String)
    case badPooling(String)
    case unsupportedTokenizer(String)

    public var description: String {
        switch self {
        case .unsupportedArchitecture(let name):
            "general.architecture is \(name.isEmpty ? "missing" : "'\(name)'"); ckpt runs GGUF files of bert and gpt2 models"
        case .missingKey(let key): "the GGUF metadata lacks \(key) (a positive value), which the model needs"
        case .badKey(let key, let problem): "the GGUF metadata's \(key) \(problem)"
        case .badPooling(let value): "\(GGUFKeys.pooling) '\(value)' names a pooling other than cls, max, mean and last"
        case .unsupportedTokenizer(let model): "tokenizer.ggml.model is '\(model)'; ckpt reads the bert and gpt2 tokenizers"
        }
    }
}
