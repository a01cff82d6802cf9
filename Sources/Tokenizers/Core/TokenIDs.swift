import Dispatch

extension Tokenizer {
    /// The ids `encode(text, addSpecialTokens:)` gives, without the rest of the encoding: for
    /// callers that need ids only (a language model's prompt, `tokenize --format ids`), as
    /// tiktoken's `encode_ordinary` gives them. Byte-level BPE with no normalizer computes no
    /// offsets, type ids or masks on the way; other tokenizers take the ids of `encode`.
    public func encodeIDs(_ text: String, addSpecialTokens: Bool = true) -> [Int32] {
        var workspace = Workspace()
        return encodeIDs(text, addSpecialTokens: addSpecialTokens, workspace: &workspace)
    }

    /// `encodeIDs` of each text on up to `threads` threads; results in input order.
    public func encodeIDsBatch(_ texts: [String], addSpecialTokens: Bool = true, threads: Int) -> [[Int32]] {
        guard !texts.isEmpty else { return [] }
        return [[Int32]](unsafeUninitializedCapacity: texts.count) { results, initialized in
            let chunks = max(1, min(threads, texts.count))
            let output = UncheckedSendable(results.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                var workspace = Workspace()
                for i in (texts.count * chunk / chunks)..<(texts.count * (chunk + 1) / chunks) {
                    (output.value + i).initialize(to: encodeIDs(texts[i], addSpecialTokens: addSpecialTokens, workspace: &workspace))
                }
            }
            initialized = texts.count
        }
    }

    func encodeIDs(_ text: String, addSpecialTokens: Bool, workspace w: inout Workspace) -> [Int32] {
        guard case .bytePair(let bpe, let options) = model, normalizer == nil, !options.addPrefixSpace else {
            return encode(text, pair: nil, addSpecialTokens: addSpecialTokens, maxLength: nil, workspace: &w).ids
        }
        w.text.load(text)
        var ids: [Int32] = []
        ids.reserveCapacity(w.text.count / 3 + 4)
        if addSpecialTokens { appendSpecials(of: postProcessor.single, sequence: false, to: &ids) }
        let scalars = w.text.scalars
        if matcher.mayMatch(scalars) {
            for segment in matcher.split(scalars) {
                switch segment {
                case .added(let token, _): ids.append(token.id)
                case .text(let range): appendTextIDs(Array(scalars[range]), bpe, options, to: &ids, &w)
                }
            }
        } else {
            appendTextIDs(scalars, bpe, options, to: &ids, &w)
        }
        if addSpecialTokens { appendSpecials(of: postProcessor.single, sequence: true, to: &ids) }
        return ids
    }

    /// Ids of text between added tokens: pre-tokenized into pieces (unless the regex is off), each through BPE.
    private func appendTextIDs(_ scalars: [UInt32], _ bpe: BytePairEncoding, _ options: ByteLevelOptions, to ids: inout [Int32],
                               _ w: inout Workspace) {
        if options.useRegex {
            GPT2PreTokenizer.split(scalars) { appendPieceIDs(scalars, $0, bpe, to: &ids, &w) }
        } else if !scalars.isEmpty {
            appendPieceIDs(scalars, 0..<scalars.count, bpe, to: &ids, &w)
        }
    }

    /// The special ids of `template` before its sequence (or, with `sequence`, after it).
    private func appendSpecials(of template: [PostProcessor.Piece], sequence after: Bool, to ids: inout [Int32]) {
        var past = false
        for piece in template {
            switch piece {
            case .sequence: past = true
            case .special(let special, _) where past == after: ids += special
            case .special: break
            }
        }
    }

    /// One pre-tokenized piece's BPE ids: its UTF-8 bytes through the model (and its cache).
    private func appendPieceIDs(_ scalars: [UInt32], _ range: Range<Int>, _ bpe: BytePairEncoding, to ids: inout [Int32],
                                _ w: inout Workspace) {
        w.bytes.removeAll(keepingCapacity: true)
        for i in range { appendUTF8(scalars[i], to: &w.bytes) }
        w.pieces.removeAll(keepingCapacity: true)
        w.bytes.withUnsafeBytes { bpe.tokenize($0, workspace: &w.bpe, into: &w.pieces) }
        w.pieces.withUnsafeBufferPointer { pieces in
            for piece in pieces { ids.append(piece.id) }
        }
    }
}
