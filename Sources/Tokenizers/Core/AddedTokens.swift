/// Tokens matched whole in the raw text before anything else runs (`[CLS]`, `<|endoftext|>`, …),
/// as the reference's added-token splitting does: leftmost match, longest first.
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int32
    public var special: Bool
    /// Whether the match swallows whitespace to its left / right.
    public var leftStrip = false
    public var rightStrip = false

    public init(content: String, id: Int32, special: Bool, leftStrip: Bool = false, rightStrip: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.leftStrip = leftStrip
        self.rightStrip = rightStrip
    }
}

struct AddedTokenMatcher: Sendable {
    private let tokens: [(scalars: [UInt32], token: AddedToken)]
    /// Whether some added token starts with this scalar (indexed by scalar value; past the end: none does).
    private let startsToken: [Bool]

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens.map { (Array($0.content.unicodeScalars.map(\.value)), $0) }.filter { !$0.0.isEmpty }
            .sorted { $0.0.count > $1.0.count }
        var starts = [Bool](repeating: false, count: Int(self.tokens.map { $0.scalars[0] }.max() ?? 0) + 1)
        for token in self.tokens { starts[Int(token.scalars[0])] = true }
        startsToken = starts
    }

    var isEmpty: Bool { tokens.isEmpty }

    enum Segment {
        case text(Range<Int>)
        case added(AddedToken, Range<Int>)
    }

    /// Whether some added token may match in `scalars`: false when none of their first scalars
    /// occurs (most texts), so that the caller can skip `split` and its segment list.
    func mayMatch(_ scalars: [UInt32]) -> Bool {
        !tokens.isEmpty && scalars.contains { Int($0) < startsToken.count && startsToken[Int($0)] }
    }

    /// Splits `scalars` into plain-text ranges and added-token matches, in order.
    func split(_ scalars: [UInt32]) -> [Segment] {
        guard !tokens.isEmpty else { return [.text(0..<scalars.count)] }
        var segments: [Segment] = []
        var textStart = 0
        var i = 0
        while i < scalars.count {
            guard Int(scalars[i]) < startsToken.count, startsToken[Int(scalars[i])],
                  let match = tokens.first(where: { i + $0.scalars.count <= scalars.count && scalars[i..<(i + $0.scalars.count)].elementsEqual($0.scalars) })
            else {
                i += 1
                continue
            }
            var start = i, end = i + match.scalars.count
            if match.token.leftStrip { while start > textStart && isSpace(scalars[start - 1]) { start -= 1 } }
            if match.token.rightStrip { while end < scalars.count && isSpace(scalars[end]) { end += 1 } }
            if textStart < start { segments.append(.text(textStart..<start)) }
            segments.append(.added(match.token, start..<end))
            textStart = end
            i = end
        }
        if textStart < scalars.count { segments.append(.text(textStart..<scalars.count)) }
        return segments
    }

    private func isSpace(_ scalar: UInt32) -> Bool { CharacterTable.shared.flags(scalar).contains(.bertSpace) }
}
