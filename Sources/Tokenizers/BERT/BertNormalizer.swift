/// BERT's normalizer, as Hugging Face tokenizers' `BertNormalizer` applies it, in its order:
/// clean text (drop NUL, U+FFFD, control and format characters; whitespace becomes a space),
/// spaces around CJK ideographs, accent stripping (NFD, then non-spacing marks removed), then
/// lower-casing. Each step works character by character, so every output scalar keeps the origin
/// of the character it came from.
public struct BertNormalizer: Sendable, Equatable {
    public var cleanText = true
    public var handleChineseChars = true
    /// Strip accents; the reference strips them whenever it lower-cases unless told otherwise.
    public var stripAccents: Bool
    public var lowercase = true

    public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents ?? lowercase
        self.lowercase = lowercase
    }

    func normalize(_ text: ScalarText) -> ScalarText {
        let table = CharacterTable.shared
        var out = ScalarText()
        out.scalars.reserveCapacity(text.count + 8)
        out.origins.reserveCapacity(text.count + 8)
        var stripped: [UInt32] = []
        var lowered: [UInt32] = []
        for i in 0..<text.count {
            var scalar = text.scalars[i]
            let origin = text.origins[i]
            let flags = table.flags(scalar)
            if cleanText {
                if flags.contains(.cleanRemoved) { continue }
                if flags.contains(.cleanSpace) { scalar = 0x20 }
            }
            // Fast path: nothing to rewrite.
            if !flags.contains(.cjk) && !flags.contains(.hasStripMapping) && !flags.contains(.hasLowerMapping) {
                out.append(scalar, origin: origin)
                continue
            }
            let spaced = handleChineseChars && flags.contains(.cjk)
            if spaced { out.append(0x20, origin: origin) }
            stripped.removeAll(keepingCapacity: true)
            if stripAccents { table.appendStripped(scalar, to: &stripped) } else { stripped.append(scalar) }
            for piece in stripped {
                if lowercase {
                    lowered.removeAll(keepingCapacity: true)
                    table.appendLowercased(piece, to: &lowered)
                    for s in lowered { out.append(s, origin: origin) }
                } else {
                    out.append(piece, origin: origin)
                }
            }
            if spaced { out.append(0x20, origin: origin) }
        }
        return out
    }
}
