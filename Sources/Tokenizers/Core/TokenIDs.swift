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
        map(texts.count, threads: threads) { i, workspace in encodeIDs(texts[i], addSpecialTokens: addSpecialTokens, workspace: &workspace) }
    }

    func encodeIDs(_ text: String, addSpecialTokens: Bool, workspace w: inout Workspace) -> [Int32] {
        guard case .bytePair(let bpe, let options) = model, normalizer == nil, !options.addPrefixSpace, let specials = singleSpecialIDs
        else { return encode(text, pair: nil, addSpecialTokens: addSpecialTokens, maxLength: nil, workspace: &w).ids }
        w.text.load(text)
        var ids: [Int32] = []
        ids.reserveCapacity(w.text.count / 3 + 4)
        if addSpecialTokens { ids += specials.before }
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
        if addSpecialTokens { ids += specials.after }
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

    /// One pre-tokenized piece's BPE ids: its UTF-8 bytes through the model (and its cache). The
    /// byte loop is `encodeBytePairPiece`'s without the byte-to-character map, which cost this
    /// route a tenth of its time when shared.
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
