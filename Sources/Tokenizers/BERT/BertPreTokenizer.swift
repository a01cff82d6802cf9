/// Splits normalized text into words the way `BertPreTokenizer` does: on whitespace (dropped) and
/// around every punctuation character (kept as a word of its own).
enum BertPreTokenizer {
    /// Calls `word` with the index range of each word in `text`.
    static func split(_ text: ScalarText, word: (Range<Int>) -> Void) {
        let table = CharacterTable.shared
        var start = 0
        for i in 0..<text.count {
            let flags = table.flags(text.scalars[i])
            if flags.contains(.bertSpace) {
                if start < i { word(start..<i) }
                start = i + 1
            } else if flags.contains(.bertPunctuation) {
                if start < i { word(start..<i) }
                word(i..<(i + 1))
                start = i + 1
            }
        }
        if start < text.count { word(start..<text.count) }
    }
}
