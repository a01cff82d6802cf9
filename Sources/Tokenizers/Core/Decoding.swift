extension Tokenizer {
    /// Text from token ids, as the reference's `decode`: special tokens skipped unless asked for;
    /// WordPiece pieces re-joined (`##` glued, the reference's punctuation clean-up); byte-level
    /// tokens turned back into bytes, invalid UTF-8 replaced by U+FFFD.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool = true) -> String {
        let tokens = visibleTokens(ids, skipSpecialTokens: skipSpecialTokens)
        switch decoder {
        case .byteLevel:
            return String(decoding: decodeBytes(ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { i, token in
                var piece = token
                if i != 0 { piece = piece.hasPrefix(prefix) ? String(piece.dropFirst(prefix.count)) : " " + piece }
                return cleanup ? Self.cleanUp(piece) : piece
            }.joined()
        case .joinWithSpaces:
            return tokens.joined(separator: " ")
        }
    }

    /// The UTF-8 bytes `decode` would turn into text, before invalid sequences are replaced: a
    /// byte-level token may hold part of a character, completed by the next token (what a stream of
    /// generated tokens needs, see `UTF8Stream`).
    public func decodeBytes(_ ids: [Int32], skipSpecialTokens: Bool = true) -> [UInt8] {
        guard case .byteLevel = decoder else { return Array(decode(ids, skipSpecialTokens: skipSpecialTokens).utf8) }
        var bytes: [UInt8] = []
        for token in visibleTokens(ids, skipSpecialTokens: skipSpecialTokens) {
            if let raw = ByteLevel.bytes(token) { bytes += raw } else { bytes += Array(token.utf8) }
        }
        return bytes
    }

    private func visibleTokens(_ ids: [Int32], skipSpecialTokens: Bool) -> [String] {
        let special = Set(addedTokens.filter(\.special).map(\.id))
        return ids.filter { !(skipSpecialTokens && special.contains($0)) }.compactMap { token($0) }
    }

    /// The reference WordPiece decoder's clean-up of spaces before punctuation and contractions.
    static func cleanUp(_ text: String) -> String {
        var out = text
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                           (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            out = out.replacingAll(from, with: to)
        }
        return out
    }
}

extension String {
    /// Every occurrence of `target` replaced, left to right, matching UTF-8 bytes (as Rust's
    /// `str::replace` does; Swift's own matching works on grapheme clusters and would miss
    /// " ." before a combining mark).
    public func replacingAll(_ target: String, with replacement: String) -> String {
        let source = Array(utf8), pattern = Array(target.utf8), substitute = Array(replacement.utf8)
        guard !pattern.isEmpty, source.count >= pattern.count else { return self }
        var out: [UInt8] = []
        out.reserveCapacity(source.count)
        var i = 0
        while i < source.count {
            if i + pattern.count <= source.count && source[i..<(i + pattern.count)].elementsEqual(pattern) {
                out += substitute
                i += pattern.count
            } else {
                out.append(source[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
