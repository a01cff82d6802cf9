import CkptSupport
import Dispatch

/// A text tokenizer that gives the ids, type ids, attention masks and offsets of the reference
/// (Hugging Face tokenizers; tiktoken for GPT-2): WordPiece for BERT, byte-level BPE for GPT-2 and
/// RoBERTa. Load one with `Tokenizer(directory:)` or `Tokenizer(file:)`.
///
/// Thread-safe: `encodeBatch` encodes on several threads at once.
public final class Tokenizer: Sendable {
    enum Model: Sendable {
        case wordPiece(WordPiece)
        case bytePair(BytePairEncoding, ByteLevelOptions)
    }

    struct ByteLevelOptions: Sendable, Equatable {
        var addPrefixSpace = false
        var useRegex = true
    }

    enum Decoder: Sendable {
        case wordPiece(prefix: String, cleanup: Bool)
        case byteLevel
        case joinWithSpaces
    }

    let model: Model
    let normalizer: BertNormalizer?
    let addedTokens: [AddedToken]
    let matcher: AddedTokenMatcher
    public let postProcessor: PostProcessor
    /// The special ids the post-processor puts around a single sequence; nil for a template that
    /// is not one sequence with specials around it. Read once, for `encodeIDs`.
    let singleSpecialIDs: (before: [Int32], after: [Int32])?
    let decoder: Decoder
    /// Truncation the tokenizer file asks for when preparing model inputs (not applied by `encode`).
    public let truncation: Truncation?
    /// Padding the tokenizer file asks for when preparing model inputs (not applied by `encode`).
    public let padding: Padding?

    init(model: Model, normalizer: BertNormalizer?, addedTokens: [AddedToken], postProcessor: PostProcessor,
         decoder: Decoder, truncation: Truncation?, padding: Padding?) {
        self.model = model
        self.normalizer = normalizer
        self.addedTokens = addedTokens
        self.matcher = AddedTokenMatcher(addedTokens)
        self.postProcessor = postProcessor
        if let before = postProcessor.singleSpecialIDs(afterSequence: false), let after = postProcessor.singleSpecialIDs(afterSequence: true) {
            singleSpecialIDs = (before, after)
        } else {
            singleSpecialIDs = nil
        }
        self.decoder = decoder
        self.truncation = truncation
        self.padding = padding
    }

    var vocabulary: Vocabulary {
        switch model {
        case .wordPiece(let model): return model.vocabulary
        case .bytePair(let model, _): return model.vocabulary
        }
    }

    /// Number of ids (the largest id + 1).
    public var vocabularySize: Int { max(vocabulary.tokens.count, (addedTokens.map { Int($0.id) }.max() ?? -1) + 1) }

    /// The string of token `id` (an added token's content, or the vocabulary entry).
    public func token(_ id: Int32) -> String? {
        addedTokens.first { $0.id == id }?.content ?? vocabulary.token(id)
    }

    /// The id of `token`, if it is in the vocabulary or an added token.
    public func id(of token: String) -> Int32? {
        addedTokens.first { $0.content.utf8.elementsEqual(token.utf8) }?.id ?? vocabulary.id(token)
    }

    /// Scratch buffers reused across calls on one thread (a struct passed `inout`: see
    /// `BytePairEncoding.Workspace`).
    struct Workspace {
        var bytes: [UInt8] = []
        var boundaries: [Int] = []
        var pieces: [(id: Int32, length: Int32)] = []
        var bpe = BytePairEncoding.Workspace()
        /// The text being encoded, decoded into storage kept from text to text.
        var text = ScalarText()
    }

    /// Tokenizes `text` (and `pair`), adding special tokens as the post-processor says; with
    /// `maxLength`, truncates to at most that many tokens (special tokens included) with the
    /// tokenizer's truncation strategy (longest first by default).
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true, maxLength: Int? = nil) -> Encoding {
        var workspace = Workspace()
        return encode(text, pair: pair, addSpecialTokens: addSpecialTokens, maxLength: maxLength, workspace: &workspace)
    }

    func encode(_ text: String, pair: String?, addSpecialTokens: Bool, maxLength: Int?, workspace: inout Workspace) -> Encoding {
        var first = encodeSequence(text, &workspace)
        var second: Encoding? = nil
        if let pair { second = encodeSequence(pair, &workspace) }
        if let maxLength {
            let strategy = truncation ?? Truncation(maxLength: maxLength)
            let added = addSpecialTokens ? postProcessor.addedCount(pair: second != nil) : 0
            Truncation(maxLength: maxLength, strategy: strategy.strategy, fromLeft: strategy.fromLeft)
                .apply(&first, &second, budget: max(0, maxLength - added))
        }
        return postProcessor.apply(consume first, second, addSpecialTokens: addSpecialTokens)
    }

    /// Encodes `texts` (with `pairs`, when given) on up to `threads` threads; results in input order.
    public func encodeBatch(_ texts: [String], pairs: [String]? = nil, addSpecialTokens: Bool = true,
                            maxLength: Int? = nil, threads: Int) -> [Encoding] {
        precondition(pairs == nil || pairs!.count == texts.count, "encodeBatch: one pair per text")
        return map(texts.count, threads: threads) { i, workspace in
            encode(texts[i], pair: pairs?[i], addSpecialTokens: addSpecialTokens, maxLength: maxLength, workspace: &workspace)
        }
    }

    /// `body(i, workspace)` for every i in 0..<count, in contiguous chunks on up to `threads`
    /// threads (one workspace each), each result built in place in the array's storage.
    func map<T>(_ count: Int, threads: Int, _ body: @Sendable (Int, inout Workspace) -> T) -> [T] {
        guard count > 0 else { return [] }
        return [T](unsafeUninitializedCapacity: count) { results, initialized in
            let chunks = max(1, min(threads, count))
            let output = UncheckedSendable(results.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                var workspace = Workspace()
                for i in (count * chunk / chunks)..<(count * (chunk + 1) / chunks) { (output.value + i).initialize(to: body(i, &workspace)) }
            }
            initialized = count
        }
    }

    /// One sequence through added-token splitting, normalization, pre-tokenization and the model.
    private func encodeSequence(_ text: String, _ w: inout Workspace) -> Encoding {
        var encoding = Encoding()
        w.text.load(text)
        let all = w.text
        encoding.reserveCapacity(all.count / 3 + 4)
        guard matcher.mayMatch(all.scalars) else {
            encodeText(all, into: &encoding, &w)
            return encoding
        }
        let segments = matcher.split(all.scalars)
        for segment in segments {
            switch segment {
            case .added(let token, let range):
                encoding.append(id: token.id, offsets: range, special: token.special)
            case .text(let range):
                encodeText(ScalarText(all, range), into: &encoding, &w)
            }
        }
        return encoding
    }

    private func encodeText(_ text: ScalarText, into encoding: inout Encoding, _ w: inout Workspace) {
        switch model {
        case .wordPiece(let wordPiece):
            let normalized = normalizer?.normalize(text) ?? text
            BertPreTokenizer.split(normalized) { word in
                wordPiece.tokenize(normalized, word, into: &encoding, bytes: &w.bytes, boundaries: &w.boundaries)
            }
        case .bytePair(let bpe, let options):
            var text = normalizer?.normalize(text) ?? text
            if options.addPrefixSpace, let first = text.scalars.first, first != 0x20 {
                text.scalars.insert(0x20, at: 0)
                text.origins.insert(text.origins[0], at: 0)
            }
            if options.useRegex {
                GPT2PreTokenizer.split(text.scalars) { encodeBytePairPiece(text, $0, bpe, into: &encoding, &w) }
            } else if text.count > 0 {
                encodeBytePairPiece(text, 0..<text.count, bpe, into: &encoding, &w)
            }
        }
    }

    /// BPE on one pre-tokenized piece; offsets follow the reference: a token's byte range becomes
    /// [character holding its first byte, character holding its last byte + 1), so the two halves
    /// of a split character both cover it.
    private func encodeBytePairPiece(_ text: ScalarText, _ range: Range<Int>, _ bpe: BytePairEncoding,
                                     into encoding: inout Encoding, _ w: inout Workspace) {
        w.bytes.removeAll(keepingCapacity: true)
        w.boundaries.removeAll(keepingCapacity: true)  // byte → scalar index within the piece; empty if all ASCII
        var ascii = true
        for i in range {
            let scalar = text.scalars[i]
            if scalar < 0x80 {
                w.bytes.append(UInt8(scalar))
                if !ascii { w.boundaries.append(i - range.lowerBound) }
                continue
            }
            if ascii {
                ascii = false
                w.boundaries.append(contentsOf: 0..<w.bytes.count)
            }
            let before = w.bytes.count
            appendUTF8(scalar, to: &w.bytes)
            w.boundaries.append(contentsOf: repeatElement(i - range.lowerBound, count: w.bytes.count - before))
        }
        w.pieces.removeAll(keepingCapacity: true)
        w.bytes.withUnsafeBytes { bpe.tokenize($0, workspace: &w.bpe, into: &w.pieces) }
        w.boundaries.withUnsafeBufferPointer { boundaries in
            w.pieces.withUnsafeBufferPointer { pieces in
                w.bytes.withUnsafeBufferPointer { bytes in
                    appendPieces(pieces, bytes: bytes, boundaries: boundaries, text, range, into: &encoding)
                }
            }
        }
    }

    /// The tokens of one piece with their character offsets (see `encodeBytePairPiece`).
    private func appendPieces(_ pieces: UnsafeBufferPointer<(id: Int32, length: Int32)>, bytes: UnsafeBufferPointer<UInt8>,
                              boundaries: UnsafeBufferPointer<Int>, _ text: ScalarText, _ range: Range<Int>, into encoding: inout Encoding) {
        func characterIndex(ofByte b: Int) -> Int {
            Int(text.origins[range.lowerBound + (boundaries.isEmpty ? b : boundaries[b])])
        }
        var byte = 0
        for piece in pieces {
            let start = byte, end = byte + Int(piece.length)
            var first = characterIndex(ofByte: start)
            var last = characterIndex(ofByte: end - 1) + 1
            if postProcessor.trimOffsets {
                // ByteLevel's trim_offsets, on the original offsets as the reference does it (so the
                // space the pre-tokenizer inserted still moves the start): leading and trailing
                // spaces leave the range, except one inserted prefix space on the first token.
                var leading = 0
                while start + leading < end && bytes[start + leading] == 0x20 { leading += 1 }
                var trailing = 0
                while end - trailing > start && bytes[end - trailing - 1] == 0x20 { trailing += 1 }
                let isFirst = encoding.count == 0 || first == 0
                if isFirst && postProcessor.addPrefixSpace && leading == 1 { leading = 0 }
                if leading > 0 { first = min(first + leading, last) }
                if trailing > 0 && last >= trailing { last = max(last - trailing, first) }
            }
            encoding.append(id: piece.id, offsets: first..<last)
            byte += Int(piece.length)
        }
    }
}
