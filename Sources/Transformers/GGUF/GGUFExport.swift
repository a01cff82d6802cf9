import CkptSupport
import TensorFormats
import Tokenizers

/// Writes a BERT or GPT-2 model directory as one GGUF file laid out as llama.cpp's
/// `convert_hf_to_gguf.py` lays it out: its tensor names, its architecture keys, its tokenizer keys.
/// Norms, biases and token-type embeddings stay F32; other matrices take the chosen type (Q8_0 where
/// their rows hold whole 32-value blocks, else F16, as llama.cpp falls back). BERT's pooler and
/// masked-LM head, which llama.cpp has no tensors for, go into `ckpt.head.*` metadata when asked.
public enum GGUFExport {
    /// The type of the matrices in the file.
    public enum Target: String, Sendable, CaseIterable {
        case keep, f32, f16, bf16, q8_0
    }

    /// Writes `directory`'s model to `output`, converting on `threads` threads; `withHeads` also
    /// writes a BERT model's pooler and masked-LM head as f32 metadata arrays (`GGUFKeys.heads`).
    /// Returns how many int8 weights (`Int8Scheme`) went in dequantized.
    @discardableResult
    public static func write(modelDirectory directory: String, to output: String, target: Target, withHeads: Bool = false,
                             overwrite: Bool, threads: Int) throws -> Int {
        guard FileSystem.isDirectory(directory) else { throw FormatError(file: directory, GGUFExportError.notAModelDirectory) }
        let family = try ModelFamily(directory: directory)
        // GGUF has no place for per-channel int8 scales: an int8 checkpoint goes in as the weights it stands for.
        let stored = try Checkpoint(path: directory), checkpoint = stored.dequantized
        let tokenizer = try Tokenizer(directory: directory)
        var metadata: [(String, GGUFValue)] = []
        let mapped: [(gguf: String, source: String, transpose: Bool)]
        switch family {
        case .bert:
            let c = try BERTConfig(directory: directory)
            let settings = try PoolingSettings(directory: directory, defaultMode: family.defaultPooling)
            metadata = [("general.architecture", .string("bert")), ("general.name", .string(modelName(directory)))]
            metadata += [("bert.context_length", .uint32(UInt32(c.maxPositions))), ("bert.embedding_length", .uint32(UInt32(c.hiddenSize))),
                         ("bert.feed_forward_length", .uint32(UInt32(c.intermediateSize))), ("bert.block_count", .uint32(UInt32(c.layers))),
                         ("bert.attention.head_count", .uint32(UInt32(c.heads))),
                         ("bert.attention.layer_norm_epsilon", .float32(c.layerNormEpsilon)), ("bert.attention.causal", .bool(false)),
                         ("bert.pooling_type", .uint32(poolingType(settings.modes)))]
            mapped = try bertNames(checkpoint, layers: c.layers)
            metadata.append(("general.file_type", .uint32(fileType(target, checkpoint))))
            metadata += tokenizerKeys(tokenizer.listing, typeCount: c.typeVocabularySize)
            metadata += [(GGUFKeys.pooling, .string(settings.modes.map(\.rawValue).joined(separator: "+"))), (GGUFKeys.normalize, .bool(settings.normalize))]
            if let maxLength = settings.maxLength { metadata.append((GGUFKeys.maxSeqLength, .uint32(UInt32(maxLength)))) }
            if let lowercase = tokenizer.listing.lowercase { metadata.append((GGUFKeys.lowercase, .bool(lowercase))) }
            metadata += [(GGUFKeys.activation, .string(c.activation.rawValue)), (GGUFKeys.tensorPrefix, .string(prefix(of: mapped, BERTWeights.bertPrefix)))]
            if withHeads { metadata += try headKeys(checkpoint, carried: Set(mapped.map(\.source))) }
        case .gpt2:
            if withHeads { throw FormatError(file: directory, GGUFExportError.headsAreBERTs) }
            let c = try GPT2Config(directory: directory)
            metadata = [("general.architecture", .string("gpt2")), ("general.name", .string(modelName(directory)))]
            metadata += [("gpt2.context_length", .uint32(UInt32(c.maxPositions))), ("gpt2.embedding_length", .uint32(UInt32(c.hiddenSize))),
                         ("gpt2.feed_forward_length", .uint32(UInt32(c.intermediateSize))), ("gpt2.block_count", .uint32(UInt32(c.layers))),
                         ("gpt2.attention.head_count", .uint32(UInt32(c.heads))), ("gpt2.attention.layer_norm_epsilon", .float32(c.layerNormEpsilon))]
            mapped = try gpt2Names(checkpoint, layers: c.layers)
            metadata.append(("general.file_type", .uint32(fileType(target, checkpoint))))
            metadata += tokenizerKeys(tokenizer.listing, typeCount: nil)
            metadata.append(("tokenizer.ggml.bos_token_id", .uint32(UInt32(c.endOfText))))
            metadata.append(("tokenizer.ggml.eos_token_id", .uint32(UInt32(c.endOfText))))
            metadata += [(GGUFKeys.activation, .string(c.activation.rawValue)), (GGUFKeys.tensorPrefix, .string(prefix(of: mapped, GPT2Weights.transformerPrefix)))]
        }
        let infos = Dictionary(checkpoint.tensors.map { ($0.name, $0) }) { first, _ in first }
        let tensors = mapped.map { entry -> GGUFOutgoingTensor in
            let info = infos[entry.source]!
            let shape = entry.transpose ? Array(info.shape.reversed()) : info.shape
            let type = tensorType(entry.gguf, shape: shape, stored: info.dtype, target: target)
            return GGUFOutgoingTensor(name: entry.gguf, type: type, sourceShape: info.shape, transpose: entry.transpose) {
                try checkpoint.tensor(named: entry.source)
            }
        }
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: output, overwrite: overwrite, threads: threads)
        return Int8Scheme.quantizedCount(stored.tensors)
    }

    /// The pooler and masked-LM head tensors of a BERT checkpoint (those not among the `carried`
    /// sources) as metadata: their names, and each one's shape and f32 values.
    private static func headKeys(_ checkpoint: Checkpoint, carried: Set<String>) throws -> [(String, GGUFValue)] {
        let heads = checkpoint.tensors.filter { info in
            !carried.contains(info.name) && info.dtype.isFloatingPoint
                && BERTWeights.bertPrefix.contains { prefix in ["pooler.", "cls."].contains { info.name.hasPrefix(prefix + $0) } }
        }
        guard !heads.isEmpty else { throw FormatError(file: checkpoint.path, GGUFExportError.noHeads) }
        var keys: [(String, GGUFValue)] = [(GGUFKeys.heads, .array(.string, heads.map { .string($0.name) }))]
        for info in heads {
            keys.append((GGUFKeys.headShape(info.name), .array(.uint32, info.shape.map { .uint32(UInt32($0)) })))
            keys.append((GGUFKeys.head(info.name), .array(.float32, try checkpoint.tensor(named: info.name).floats().map { .float32($0) })))
        }
        return keys
    }

    /// The prefix the checkpoint keeps its encoder or decoder under ("" or "bert." / "transformer.").
    private static func prefix(of mapped: [(gguf: String, source: String, transpose: Bool)], _ prefixes: [String]) -> String {
        prefixes.last { !$0.isEmpty && mapped[0].source.hasPrefix($0) } ?? ""
    }

    private static func modelName(_ directory: String) -> String {
        directory.split(separator: "/").last.map(String.init) ?? directory
    }

    /// llama.cpp's pooling types: mean 1, cls 2, last 3; anything else none (0, with `ckpt.pooling` telling).
    private static func poolingType(_ modes: [PoolingMode]) -> UInt32 {
        switch modes {
        case [.mean]: 1
        case [.cls]: 2
        case [.last]: 3
        default: 0
        }
    }

    /// llama.cpp's `general.file_type`: all F32 0, mostly F16 1, mostly Q8_0 7, mostly BF16 32.
    private static func fileType(_ target: Target, _ checkpoint: Checkpoint) -> UInt32 {
        switch resolved(target, stored: checkpoint.tensors.first { $0.shape.count == 2 }?.dtype ?? .F32) {
        case .f16: 1
        case .q8_0: 7
        case .bf16: 32
        default: 0
        }
    }

    private static func resolved(_ target: Target, stored: DType) -> Target {
        guard target == .keep else { return target }
        switch stored {
        case .F16: return .f16
        case .BF16: return .bf16
        default: return .f32
        }
    }

    private static func tensorType(_ name: String, shape: [Int], stored: DType, target: Target) -> GGUFTensorType {
        if shape.count < 2 || name == "token_types.weight" { return .f32 }
        switch resolved(target, stored: stored) {
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return shape.last! % 32 == 0 ? .q8_0 : .f16
        default: return .f32
        }
    }

    /// The checkpoint name of each GGUF tensor: BERT encoders under "bert." or not, LayerNorm
    /// parameters as weight/bias or gamma/beta; the pooler and masked-LM head are not written (as llama.cpp).
    private static func bertNames(_ checkpoint: Checkpoint, layers: Int) throws -> [(gguf: String, source: String, transpose: Bool)] {
        let names = Set(checkpoint.tensors.map(\.name))
        return try GGUFNames.bert(layers: layers).map { pair in
            let source = pair.hf
            let spellings = [source, source.replacingSuffix(".LayerNorm.weight", ".LayerNorm.gamma"), source.replacingSuffix(".LayerNorm.bias", ".LayerNorm.beta")]
            for prefix in BERTWeights.bertPrefix {
                for spelling in spellings where names.contains(prefix + spelling) { return (pair.gguf, prefix + spelling, false) }
            }
            throw FormatError(file: checkpoint.path, CheckpointError.noSuchTensor(source))
        }
    }

    /// GPT-2's: Conv1D weights ([in, out]) transposed to [out, in]; the output matrix is the tied
    /// token embedding unless the checkpoint has its own `lm_head`.
    private static func gpt2Names(_ checkpoint: Checkpoint, layers: Int) throws -> [(gguf: String, source: String, transpose: Bool)] {
        let names = Set(checkpoint.tensors.map(\.name))
        func located(_ source: String) throws -> String {
            for prefix in GPT2Weights.transformerPrefix where names.contains(prefix + source) { return prefix + source }
            throw FormatError(file: checkpoint.path, CheckpointError.noSuchTensor(source))
        }
        var mapped = try GGUFNames.gpt2(layers: layers).map { ($0.gguf, try located($0.hf), $0.transpose) }
        mapped.append((GGUFNames.output, names.contains(GGUFNames.lmHead) ? GGUFNames.lmHead : try located("wte.weight"), false))
        return mapped
    }

    /// llama.cpp's tokenizer keys: `bert` (WordPiece in phantom-space form: "##x" → "x", other
    /// non-control tokens "▁" + token) or `gpt2` (byte-level tokens and merges); token types normal 1,
    /// control 3 (special added tokens), user-defined 4 (other added tokens).
    private static func tokenizerKeys(_ listing: TokenizerListing, typeCount: Int?) -> [(String, GGUFValue)] {
        let types = listing.tokens.indices.map { i -> Int32 in listing.special[i] ? 3 : listing.added[i] ? 4 : 1 }
        var keys: [(String, GGUFValue)] = []
        switch listing.model {
        case .wordPiece:
            let prefix = listing.subwordPrefix ?? "##"
            let tokens = listing.tokens.indices.map { i -> String in
                let token = listing.tokens[i]
                if types[i] == 3 { return token }
                return token.hasPrefix(prefix) ? String(token.dropFirst(prefix.count)) : "\u{2581}" + token
            }
            keys = [("tokenizer.ggml.model", .string("bert")), ("tokenizer.ggml.pre", .string("default")),
                    ("tokenizer.ggml.tokens", .array(.string, tokens.map { .string($0) })),
                    ("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) }))]
            if let typeCount { keys.append(("tokenizer.ggml.token_type_count", .uint32(UInt32(typeCount)))) }
            // As gguf's SpecialVocab: [CLS] and [SEP] also stand as BOS and EOS (the file has no CLS key).
            for (key, token) in [("bos", "[CLS]"), ("eos", "[SEP]"), ("unknown", "[UNK]"), ("seperator", "[SEP]"), ("padding", "[PAD]"), ("mask", "[MASK]")] {
                if let id = listing.tokens.firstIndex(of: token) { keys.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(id)))) }
            }
        case .bytePair:
            keys = [("tokenizer.ggml.model", .string("gpt2")), ("tokenizer.ggml.pre", .string("gpt-2")),
                    ("tokenizer.ggml.tokens", .array(.string, listing.tokens.map { .string($0) })),
                    ("tokenizer.ggml.token_type", .array(.int32, types.map { .int32($0) })),
                    ("tokenizer.ggml.merges", .array(.string, listing.merges.map { .string($0) }))]
        }
        return keys
    }
}

private extension String {
    func replacingSuffix(_ suffix: String, _ replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}

/// Why a model cannot be written as GGUF.
public enum GGUFExportError: Error, CustomStringConvertible, Sendable {
    case notAModelDirectory
    case noHeads
    case headsAreBERTs

    public var description: String {
        switch self {
        case .notAModelDirectory: "a GGUF file is written from a model directory (config.json, weights and tokenizer files)"
        case .noHeads: "--with-heads: the checkpoint has no pooler (pooler.*) or masked-LM head (cls.*) tensors to carry"
        case .headsAreBERTs: "--with-heads carries BERT's pooler and masked-LM head; a GPT-2 file always holds its output matrix"
        }
    }
}
