#if canImport(Glibc)
import Glibc
#endif
import Kernels

/// How well a GPT-2 predicts a text: the mean negative log-likelihood of each token given those
/// before it, and its exponential, the perplexity.
public struct PerplexityScore: Sendable, Equatable {
    /// Tokens in the text.
    public var tokens: Int
    /// Tokens predicted (all but the first).
    public var predicted: Int
    /// Summed negative log-likelihood of the predicted tokens, in nats (f64).
    public var totalNLL: Double

    public init(tokens: Int = 0, predicted: Int = 0, totalNLL: Double = 0) {
        self.tokens = tokens
        self.predicted = predicted
        self.totalNLL = totalNLL
    }

    /// Adds another text's counts (a corpus total weights every predicted token equally).
    public mutating func add(_ other: PerplexityScore) {
        tokens += other.tokens
        predicted += other.predicted
        totalNLL += other.totalNLL
    }

    /// Mean negative log-likelihood per predicted token; nil for a text of fewer than two tokens.
    public var nll: Double? { predicted > 0 ? totalNLL / Double(predicted) : nil }
    public var perplexity: Double? { nll.map { exp($0) } }
}

extension GPT2 {
    /// Scores `ids` as transformers' perplexity recipe does for texts longer than the context:
    /// windows of `maxPositions` tokens starting every `stride` tokens, each token scored once, in
    /// the first window that reaches it (so with the most context the window allows). Log-softmax
    /// in f64. Unlike the recipe's running average, every predicted token has equal weight.
    public func perplexity(_ ids: [Int32], stride: Int, threads: Int = 1) -> PerplexityScore {
        precondition(stride >= 1 && stride <= config.maxPositions, "perplexity: stride must be in 1...\(config.maxPositions)")
        var score = PerplexityScore(tokens: ids.count, predicted: 0, totalNLL: 0)
        guard ids.count > 1 else { return score }
        let C = config.hiddenSize, V = config.vocabularySize, output = loadedOutput
        let cache = makeCache(capacity: ids.count)
        let logits = FloatBuffer((2 * Self.rowsPerProduct - 1) * V)
        var previousEnd = 0
        for begin in Swift.stride(from: 0, to: ids.count, by: stride) {
            let end = min(begin + config.maxPositions, ids.count)
            cache.reset()
            let hidden = forward(Array(ids[begin..<end]), sequences: 1, cache: cache, threads: threads)
            // Targets not scored by an earlier window: positions max(previousEnd, begin + 1) ..< end,
            // each predicted by the hidden state of the position before it.
            for targets in Self.runs(of: max(previousEnd, begin + 1)..<end) {
                // A lone target's row goes with the next (the window's last position, at most).
                let first = targets.lowerBound - 1 - begin
                output.apply(hidden.p + first * C, rows: max(2, targets.count), bias: nil, into: logits.p, threads: threads)
                for (row, target) in targets.enumerated() {
                    score.totalNLL += Self.negativeLogLikelihood(logits.p + row * V, count: V, of: Int(ids[target]))
                }
                score.predicted += targets.count
            }
            previousEnd = end
            if end == ids.count { break }
        }
        return score
    }

    /// The rows of logits computed at a time (a whole row block of the products), rather than a
    /// window's [T, V] at once: 206 MB for GPT-2's 1,024 positions. Never one row alone, because a
    /// product of a single row may round differently (`LinearWeight`), and a row's bits must not
    /// depend on how its window is cut.
    static let rowsPerProduct = LinearWeight.rowBlock

    /// `targets` in runs of `rowsPerProduct`, the last run taking the remainder.
    static func runs(of targets: Range<Int>) -> [Range<Int>] {
        let count = max(1, targets.count / rowsPerProduct)
        return (0..<count).map { i in
            let start = targets.lowerBound + i * rowsPerProduct
            return start..<(i == count - 1 ? targets.upperBound : start + rowsPerProduct)
        }
    }

    /// −log softmax(logits)[target], in f64, shifted by the largest logit.
    static func negativeLogLikelihood(_ logits: UnsafePointer<Float>, count: Int, of target: Int) -> Double {
        var peak = -Float.infinity
        for v in 0..<count { peak = max(peak, logits[v]) }
        var sum = 0.0
        for v in 0..<count { sum += exp(Double(logits[v] - peak)) }
        return log(sum) + Double(peak) - Double(logits[target])
    }
}
