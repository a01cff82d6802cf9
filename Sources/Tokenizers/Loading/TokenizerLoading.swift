import CkptSupport

extension Tokenizer {
    /// Loads the tokenizer of a model directory: `tokenizer.json` when present, else `vocab.txt`
    /// (WordPiece; `do_lower_case` from `tokenizer_config.json`, default true), else `vocab.json`
    /// + `merges.txt` (GPT-2 byte-level BPE), else a single `*.tiktoken` file.
    public convenience init(directory: String) throws {
        let dir = FileSystem.directoryPrefix(directory)
        let candidates = ["tokenizer.json", "vocab.txt", "vocab.json"]
        if let name = candidates.first(where: { FileSystem.exists(dir + $0) }) {
            try self.init(file: dir + name)
        } else if let tiktoken = TokenizerFiles.list(dir).first(where: { $0.hasSuffix(".tiktoken") }) {
            try self.init(file: dir + tiktoken)
        } else {
            throw FormatError(file: directory, TokenizerError.noTokenizerFiles(lookedFor: "tokenizer.json, vocab.txt, vocab.json + merges.txt, *.tiktoken"))
        }
    }

    /// Loads a tokenizer file: `tokenizer.json`, `vocab.txt`, `vocab.json` (with `merges.txt`
    /// beside it) or `*.tiktoken` (GPT-2's `<|endoftext|>` is added after the ranks, as tiktoken's
    /// gpt2 encoding does).
    public convenience init(file path: String) throws {
        let directory = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
        func mapped<T>(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> T) throws -> T {
            let file = try MappedFile(path: path)
            return try withExtendedLifetime(file) { try attributing(to: path) { try body(file.bytes) } }
        }
        let tokenizer: Tokenizer
        if path.hasSuffix(".json") && !path.hasSuffix("vocab.json") {
            tokenizer = try mapped(path, TokenizerFileContents.tokenizerJSON)
        } else if path.hasSuffix(".txt") {
            tokenizer = try mapped(path) { try TokenizerFileContents.wordPieceVocabulary($0, lowercase: TokenizerFiles.doLowerCase(directory), source: path) }
        } else if path.hasSuffix(".json") {
            let vocabulary = try mapped(path) { try VocabularyFiles.vocabularyFromJSON(JSON.parse($0)) }
            tokenizer = try mapped(directory + "merges.txt") { try TokenizerFileContents.bytePair(vocabulary: vocabulary, merges: $0, source: path) }
        } else if path.hasSuffix(".tiktoken") {
            tokenizer = try mapped(path) { try TokenizerFileContents.tiktoken($0, source: path) }
        } else {
            throw FormatError(file: path, TokenizerError.noTokenizerFiles(lookedFor: "tokenizer.json, vocab.txt, vocab.json, *.tiktoken"))
        }
        self.init(model: tokenizer.model, normalizer: tokenizer.normalizer, addedTokens: tokenizer.addedTokens,
                  postProcessor: tokenizer.postProcessor, decoder: tokenizer.decoder, truncation: tokenizer.truncation,
                  padding: tokenizer.padding)
    }

    static let endOfText = "<|endoftext|>"

    /// BERT's WordPiece tokenizer over `tokens` (id = position, continuations spelled "##…"), as
    /// a `vocab.txt` of those lines gives it. `source` names where the tokens come from, for errors.
    public static func wordPiece(tokens: [String], lowercase: Bool, source: String) throws -> Tokenizer {
        let vocabulary = try attributing(to: source) { try Vocabulary(tokens.enumerated().map { ($1, Int32($0)) }) }
        return try bert(vocabulary: vocabulary, lowercase: lowercase, path: source)
    }

    /// GPT-2's byte-level BPE tokenizer over `tokens` (id = position, in byte-level spelling) and
    /// `merges` ("left right", by rank), as `vocab.json` + `merges.txt` give it; `<|endoftext|>` is
    /// `endOfText` when given.
    public static func bytePair(tokens: [String], merges: [String], endOfText: Int32?, source: String) throws -> Tokenizer {
        try attributing(to: source) {
            let vocabulary = try Vocabulary(tokens.enumerated().map { ($1, Int32($0)) })
            let pairs = try merges.enumerated().map { try VocabularyFiles.mergePair($1, number: $0 + 1) }
            return try gpt2(vocabulary: vocabulary, merges: BytePairEncoding.mergeTable(pairs, vocabulary: vocabulary), endOfText: endOfText, path: source)
        }
    }

    /// BERT's tokenizer around a WordPiece vocabulary, as transformers' BertTokenizerFast builds it.
    static func bert(vocabulary: Vocabulary, lowercase: Bool, path: String) throws -> Tokenizer {
        try attributing(to: path) {
            let specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { name in
                vocabulary.id(name).map { AddedToken(content: name, id: $0, special: true) }
            }
            guard let cls = vocabulary.id("[CLS]"), let sep = vocabulary.id("[SEP]") else { throw TokenizerError.missingToken("[CLS]' or '[SEP]") }
            return Tokenizer(model: .wordPiece(try WordPiece(vocabulary: vocabulary, unknownToken: "[UNK]")),
                             normalizer: BertNormalizer(lowercase: lowercase), addedTokens: specials,
                             postProcessor: .bert(cls: cls, sep: sep), decoder: .wordPiece(prefix: "##", cleanup: true),
                             truncation: nil, padding: nil)
        }
    }

    /// GPT-2's tokenizer: byte-level BPE, no special tokens added, `<|endoftext|>` recognised in text.
    static func gpt2(vocabulary: Vocabulary, merges: MergeTable, endOfText: Int32?, path: String) throws -> Tokenizer {
        try attributing(to: path) {
            let bpe = try BytePairEncoding(vocabulary: vocabulary, merges: merges, unknownToken: nil, ignoreMerges: false)
            return Tokenizer(model: .bytePair(bpe, ByteLevelOptions()), normalizer: nil,
                             addedTokens: endOfText.map { [AddedToken(content: Self.endOfText, id: $0, special: true)] } ?? [],
                             postProcessor: .none(), decoder: .byteLevel, truncation: nil, padding: nil)
        }
    }
}

/// File-system helpers for finding tokenizer files.
enum TokenizerFiles {
    static func list(_ directory: String) -> [String] { FileSystem.listDirectory(directory).sorted() }

    /// `do_lower_case` from a `tokenizer_config.json` beside the vocabulary (default true).
    static func doLowerCase(_ directory: String) -> Bool {
        guard let file = try? MappedFile(path: directory + "tokenizer_config.json") else { return true }
        return withExtendedLifetime(file) { (try? JSON.parse(file.bytes))?["do_lower_case"]?.bool ?? true }
    }
}

/// Tokenizers from the bytes of each kind of tokenizer file (what `Tokenizer(file:)` maps, and what
/// the fuzzer feeds). Errors are thrown as they are; `source` names the file in the ones that name it.
enum TokenizerFileContents {
    static func tokenizerJSON(_ bytes: UnsafeRawBufferPointer) throws -> Tokenizer { try TokenizerJSON.load(JSON.parse(bytes)) }

    /// `vocab.txt`: one token per line, the id is the line number (from 0).
    static func wordPieceVocabulary(_ bytes: UnsafeRawBufferPointer, lowercase: Bool, source: String) throws -> Tokenizer {
        try Tokenizer.wordPiece(tokens: VocabularyFiles.lines(in: bytes).map(String.init), lowercase: lowercase, source: source)
    }

    /// A `vocab.json`'s vocabulary and `merges.txt` ("left right" per line after a `#version` line).
    static func bytePair(vocabulary: Vocabulary, merges: UnsafeRawBufferPointer, source: String) throws -> Tokenizer {
        let pairs = try VocabularyFiles.lines(in: merges).filter { !$0.hasPrefix("#version") && !$0.isEmpty }.enumerated().map { number, line in
            try VocabularyFiles.mergePair(String(line), number: number + 1)
        }
        return try Tokenizer.gpt2(vocabulary: vocabulary, merges: BytePairEncoding.mergeTable(pairs, vocabulary: vocabulary),
                                  endOfText: vocabulary.id(Tokenizer.endOfText), path: source)
    }

    /// A `.tiktoken` file; `<|endoftext|>` follows the ranks.
    static func tiktoken(_ bytes: UnsafeRawBufferPointer, source: String) throws -> Tokenizer {
        let (vocabulary, merges) = try VocabularyFiles.tiktoken(lines: VocabularyFiles.lines(in: bytes))
        return try Tokenizer.gpt2(vocabulary: vocabulary, merges: merges, endOfText: Int32(vocabulary.tokens.count), path: source)
    }
}
