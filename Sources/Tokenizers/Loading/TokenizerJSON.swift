import CkptSupport

/// Builds a tokenizer from a Hugging Face `tokenizer.json` (BERT and GPT-2/RoBERTa families).
/// Every component is read; one this implementation does not support is refused by name, never
/// ignored.
enum TokenizerJSON {
    static func load(_ json: JSON) throws -> Tokenizer {
        guard let modelJSON = json["model"], modelJSON.object != nil else { throw TokenizerError.missingField("a \"model\"") }
        let addedTokens = try (json["added_tokens"]?.array ?? []).map(addedToken)
        let normalizer = try self.normalizer(json["normalizer"])
        let preTokenizer = try preTokenizerKind(json["pre_tokenizer"])
        let model: Tokenizer.Model
        switch modelJSON["type"]?.string {
        case "WordPiece":
            guard preTokenizer == .bert else { throw TokenizerError.unsupportedComponent("WordPiece with pre_tokenizer \(preTokenizer)") }
            let vocabulary = try VocabularyFiles.vocabularyFromJSON(modelJSON["vocab"] ?? .null)
            model = .wordPiece(try WordPiece(vocabulary: vocabulary, unknownToken: modelJSON["unk_token"]?.string ?? "[UNK]",
                                             continuingSubwordPrefix: modelJSON["continuing_subword_prefix"]?.string ?? "##",
                                             maxInputCharsPerWord: modelJSON["max_input_chars_per_word"]?.int ?? 100))
        case "BPE":
            guard case .byteLevel(let options) = preTokenizer else {
                throw TokenizerError.unsupportedComponent("BPE without the ByteLevel pre_tokenizer (\(preTokenizer))")
            }
            // Options that change BPE's output must be off (null, "" or false, as converters write them).
            for field in ["dropout", "continuing_subword_prefix", "end_of_word_suffix", "byte_fallback"] {
                if let value = modelJSON[field], ![.null, .string(""), .bool(false)].contains(value) {
                    throw TokenizerError.unsupportedComponent("BPE \(field) = \(value.compactText)")
                }
            }
            let vocabulary = try VocabularyFiles.vocabularyFromJSON(modelJSON["vocab"] ?? .null)
            let pairs = try (modelJSON["merges"]?.array ?? []).enumerated().map { number, merge -> (String, String) in
                if let text = merge.string { return try VocabularyFiles.mergePair(text, number: number + 1) }
                if let parts = merge.array, parts.count == 2, let a = parts[0].string, let b = parts[1].string { return (a, b) }
                throw TokenizerError.invalidMerges("merge \(number + 1) is neither \"a b\" nor [\"a\", \"b\"]")
            }
            let bpe = try BytePairEncoding(vocabulary: vocabulary, merges: BytePairEncoding.mergeTable(pairs, vocabulary: vocabulary),
                                           unknownToken: modelJSON["unk_token"]?.string, ignoreMerges: modelJSON["ignore_merges"]?.bool ?? false)
            model = .bytePair(bpe, options)
        case let other:
            throw TokenizerError.unsupportedComponent("model \(other ?? "without a type")")
        }
        return Tokenizer(model: model, normalizer: normalizer, addedTokens: addedTokens,
                         postProcessor: try postProcessor(json["post_processor"], addedTokens: addedTokens, model: model),
                         decoder: try decoder(json["decoder"]), truncation: try truncation(json["truncation"]),
                         padding: try padding(json["padding"]))
    }

    private static func addedToken(_ json: JSON) throws -> AddedToken {
        guard let content = json["content"]?.string, let id = json["id"]?.int, let id32 = Int32(exactly: id) else {
            throw TokenizerError.missingField("content and id in an added token")
        }
        if json["single_word"]?.bool == true { throw TokenizerError.unsupportedComponent("added token '\(content)' with single_word") }
        return AddedToken(content: content, id: id32, special: json["special"]?.bool ?? false,
                          leftStrip: json["lstrip"]?.bool ?? false, rightStrip: json["rstrip"]?.bool ?? false)
    }

    private static func normalizer(_ json: JSON?) throws -> BertNormalizer? {
        guard let json, json != .null else { return nil }
        guard json["type"]?.string == "BertNormalizer" else {
            throw TokenizerError.unsupportedComponent("normalizer \(json["type"]?.string ?? json.compactText)")
        }
        return BertNormalizer(cleanText: json["clean_text"]?.bool ?? true, handleChineseChars: json["handle_chinese_chars"]?.bool ?? true,
                              stripAccents: json["strip_accents"]?.bool, lowercase: json["lowercase"]?.bool ?? true)
    }

    enum PreTokenizerKind: Equatable, CustomStringConvertible {
        case bert
        case byteLevel(Tokenizer.ByteLevelOptions)
        case none

        var description: String {
            switch self {
            case .bert: return "BertPreTokenizer"
            case .byteLevel: return "ByteLevel"
            case .none: return "none"
            }
        }
    }

    private static func preTokenizerKind(_ json: JSON?) throws -> PreTokenizerKind {
        guard let json, json != .null else { return .none }
        switch json["type"]?.string {
        case "BertPreTokenizer": return .bert
        case "ByteLevel":
            return .byteLevel(Tokenizer.ByteLevelOptions(addPrefixSpace: json["add_prefix_space"]?.bool ?? false,
                                                         useRegex: json["use_regex"]?.bool ?? true))
        case let other: throw TokenizerError.unsupportedComponent("pre_tokenizer \(other ?? json.compactText)")
        }
    }

    private static func specialID(_ json: JSON?) throws -> Int32 {
        guard let pair = json?.array, pair.count == 2, let id = pair[1].int, let id32 = Int32(exactly: id) else {
            throw TokenizerError.missingField("[token, id] for a special token of the post_processor")
        }
        return id32
    }

    private static func postProcessor(_ json: JSON?, addedTokens: [AddedToken], model: Tokenizer.Model) throws -> PostProcessor {
        guard let json, json != .null else { return .none() }
        switch json["type"]?.string {
        case "BertProcessing":
            return .bert(cls: try specialID(json["cls"]), sep: try specialID(json["sep"]))
        case "RobertaProcessing":
            return .roberta(cls: try specialID(json["cls"]), sep: try specialID(json["sep"]),
                            trimOffsets: json["trim_offsets"]?.bool ?? true, addPrefixSpace: json["add_prefix_space"]?.bool ?? true)
        case "ByteLevel":
            return .none(trimOffsets: json["trim_offsets"]?.bool ?? true, addPrefixSpace: json["add_prefix_space"]?.bool ?? true)
        case "TemplateProcessing":
            let specials = json["special_tokens"]?.object ?? []
            func pieces(_ template: JSON?) throws -> [PostProcessor.Piece] {
                try (template?.array ?? []).map { item in
                    if let special = item["SpecialToken"] {
                        let name = special["id"]?.string ?? ""
                        guard let entry = specials.first(where: { $0.0 == name })?.1,
                              let ids = entry["ids"]?.array?.compactMap({ $0.int.flatMap { Int32(exactly: $0) } }) else {
                            throw TokenizerError.missingField("special_tokens entry for '\(name)'")
                        }
                        return .special(ids: ids, typeId: Int32(special["type_id"]?.int ?? 0))
                    }
                    if let sequence = item["Sequence"] {
                        return .sequence(second: sequence["id"]?.string == "B", typeId: Int32(sequence["type_id"]?.int ?? 0))
                    }
                    throw TokenizerError.unsupportedComponent("template piece \(item.compactText)")
                }
            }
            let single = try pieces(json["single"])
            // One text has no second sequence to place (the reference would index past its one encoding).
            if single.contains(where: { if case .sequence(second: true, _) = $0 { true } else { false } }) {
                throw TokenizerError.unsupportedComponent("a single-sequence template that places sequence B")
            }
            return PostProcessor(single: single, pair: try pieces(json["pair"]))
        case let other:
            throw TokenizerError.unsupportedComponent("post_processor \(other ?? json.compactText)")
        }
    }

    private static func decoder(_ json: JSON?) throws -> Tokenizer.Decoder {
        guard let json, json != .null else { return .joinWithSpaces }
        switch json["type"]?.string {
        case "WordPiece": return .wordPiece(prefix: json["prefix"]?.string ?? "##", cleanup: json["cleanup"]?.bool ?? true)
        case "ByteLevel": return .byteLevel
        case let other: throw TokenizerError.unsupportedComponent("decoder \(other ?? json.compactText)")
        }
    }

    private static func truncation(_ json: JSON?) throws -> Truncation? {
        guard let json, json != .null else { return nil }
        guard let maxLength = json["max_length"]?.int else { throw TokenizerError.missingField("truncation.max_length") }
        guard let strategy = Truncation.Strategy(rawValue: json["strategy"]?.string ?? "LongestFirst") else {
            throw TokenizerError.unsupportedComponent("truncation strategy \(json["strategy"]?.compactText ?? "")")
        }
        if let stride = json["stride"]?.int, stride != 0 { throw TokenizerError.unsupportedComponent("truncation stride \(stride)") }
        return Truncation(maxLength: maxLength, strategy: strategy, fromLeft: json["direction"]?.string == "Left")
    }

    private static func padding(_ json: JSON?) throws -> Padding? {
        guard let json, json != .null else { return nil }
        var padding = Padding(padID: Int32(json["pad_id"]?.int ?? 0), padTypeID: Int32(json["pad_type_id"]?.int ?? 0),
                              multipleOf: json["pad_to_multiple_of"]?.int, left: json["direction"]?.string == "Left")
        if let fixed = json["strategy"]?["Fixed"]?.int { padding.length = .fixed(fixed) }
        return padding
    }
}
