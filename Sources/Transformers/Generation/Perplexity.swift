#if canImport(Glibc)
import Glibc
#endif

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
        let V = config.vocabularySize
        let cache = makeCache(capacity: ids.count)
        var previousEnd = 0
        for begin in Swift.stride(from: 0, to: ids.count, by: stride) {
            let end = min(begin + config.maxPositions, ids.count)
            cache.reset()
            let logits = self.logits(Array(ids[begin..<end]), cache: cache, allPositions: true, threads: threads)
            // Targets not scored by an earlier window: positions max(previousEnd, begin + 1) ..< end.
            for target in max(previousEnd, begin + 1)..<end {
                let row = (target - 1 - begin) * V
                var peak = -Float.infinity
                for v in 0..<V { peak = max(peak, logits[row + v]) }
                var sum = 0.0
                for v in 0..<V { sum += exp(Double(logits[row + v] - peak)) }
                score.totalNLL += log(sum) + Double(peak) - Double(logits[row + Int(ids[target])])
                score.predicted += 1
            }
            previousEnd = end
            if end == ids.count { break }
        }
        return score
    }
}
