/// How inputs longer than a model takes are cut, as the reference's `truncation` settings say.
public struct Truncation: Sendable, Equatable {
    public enum Strategy: String, Sendable { case longestFirst = "LongestFirst", onlyFirst = "OnlyFirst", onlySecond = "OnlySecond" }
    public var maxLength: Int
    public var strategy: Strategy = .longestFirst
    /// Cut from the left (keep the end) instead of the right.
    public var fromLeft = false

    public init(maxLength: Int, strategy: Strategy = .longestFirst, fromLeft: Bool = false) {
        self.maxLength = maxLength
        self.strategy = strategy
        self.fromLeft = fromLeft
    }

    /// Truncates `first` (and `second`) so that together they hold at most `budget` tokens, with
    /// the reference's rule for pairs: the shorter keeps its length if the longer can fit beside
    /// it, else both are cut to half the budget (the second taking the odd token).
    func apply(_ first: inout Encoding, _ second: inout Encoding?, budget: Int) {
        let total = first.count + (second?.count ?? 0)
        guard total > budget else { return }
        guard var other = second else {
            first.truncate(to: max(0, budget), fromLeft: fromLeft)
            return
        }
        switch strategy {
        case .longestFirst:
            var n1 = first.count, n2 = other.count
            let swapped = n1 > n2
            if swapped { swap(&n1, &n2) }
            n2 = n1 > budget ? n1 : max(n1, budget - n1)
            if n1 + n2 > budget {
                n1 = budget / 2
                n2 = n1 + budget % 2
            }
            if swapped { swap(&n1, &n2) }
            first.truncate(to: n1, fromLeft: fromLeft)
            other.truncate(to: n2, fromLeft: fromLeft)
        case .onlyFirst:
            first.truncate(to: max(0, first.count - (total - budget)), fromLeft: fromLeft)
        case .onlySecond:
            other.truncate(to: max(0, other.count - (total - budget)), fromLeft: fromLeft)
        }
        second = other
    }
}

/// How a batch is padded to one length, as the reference's `padding` settings say.
public struct Padding: Sendable, Equatable {
    public enum Length: Sendable, Equatable { case longest, fixed(Int) }
    public var length: Length = .longest
    public var padID: Int32 = 0
    public var padTypeID: Int32 = 0
    public var multipleOf: Int?
    public var left = false

    public init(length: Length = .longest, padID: Int32 = 0, padTypeID: Int32 = 0, multipleOf: Int? = nil, left: Bool = false) {
        self.length = length
        self.padID = padID
        self.padTypeID = padTypeID
        self.multipleOf = multipleOf
        self.left = left
    }

    /// Pads every encoding to the batch's target length (mask 0, offsets (0, 0)).
    public func apply(_ batch: inout [Encoding]) {
        var target: Int
        switch length {
        case .longest: target = batch.map(\.count).max() ?? 0
        case .fixed(let n): target = n
        }
        if let m = multipleOf, m > 0, target % m != 0 { target += m - target % m }
        for i in batch.indices where batch[i].count < target {
            let n = target - batch[i].count
            var pad = Encoding()
            pad.ids = [Int32](repeating: padID, count: n)
            pad.typeIds = [Int32](repeating: padTypeID, count: n)
            pad.offsets = [Range<Int>](repeating: 0..<0, count: n)
            pad.attentionMask = [Int32](repeating: 0, count: n)
            pad.specialTokensMask = [Int32](repeating: 1, count: n)
            if left {
                pad.append(contentsOf: batch[i])
                batch[i] = pad
            } else {
                batch[i].append(contentsOf: pad)
            }
        }
    }
}
