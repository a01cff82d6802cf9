/// GPT-2's pre-tokenization pattern, as a hand-written scanner rather than a regex engine:
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// The alternatives are tried in order at each position; classes come from `CharacterTable`
/// (read off the reference). A run of whitespace followed by a non-space leaves its last
/// character to start the next piece — which is how " word" keeps its space.
enum GPT2PreTokenizer {
    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20

    /// Calls `piece` with the index range of each piece of `scalars`.
    static func split(_ scalars: [UInt32], piece: (Range<Int>) -> Void) {
        let table = CharacterTable.shared
        let n = scalars.count
        @inline(__always) func flags(_ i: Int) -> CharacterTable.Flags { table.flags(scalars[i]) }
        @inline(__always) func isOther(_ f: CharacterTable.Flags) -> Bool {
            !f.contains(.gpt2Space) && !f.contains(.gpt2Letter) && !f.contains(.gpt2Number)
        }
        var i = 0
        while i < n {
            if scalars[i] == apostrophe, let length = contraction(scalars, at: i) {
                piece(i..<(i + length))
                i += length
                continue
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
            let body = scalars[i] == space && i + 1 < n ? i + 1 : i
            let first = flags(body)
            let runClass: ((CharacterTable.Flags) -> Bool)?
            if first.contains(.gpt2Letter) {
                runClass = { $0.contains(.gpt2Letter) }
            } else if first.contains(.gpt2Number) {
                runClass = { $0.contains(.gpt2Number) }
            } else if isOther(first) {
                runClass = isOther
            } else {
                runClass = nil
            }
            if let runClass {
                var end = body + 1
                while end < n && runClass(flags(end)) { end += 1 }
                piece(i..<end)
                i = end
                continue
            }
            // `\s+(?!\S)|\s+`: a whitespace run; before a non-space, all but its last character.
            var end = i + 1
            while end < n && flags(end).contains(.gpt2Space) { end += 1 }
            if end < n && end - i > 1 { end -= 1 }
            piece(i..<end)
            i = end
        }
    }

    /// Length of the contraction ('s 't 'm 'd 're 've 'll) at `i`, if one starts there.
    private static func contraction(_ s: [UInt32], at i: Int) -> Int? {
        guard i + 1 < s.count else { return nil }
        switch s[i + 1] {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        case 0x72, 0x76:  // re ve
            return i + 2 < s.count && s[i + 2] == 0x65 ? 3 : nil
        case 0x6C:  // ll
            return i + 2 < s.count && s[i + 2] == 0x6C ? 3 : nil
        default: return nil
        }
    }
}
