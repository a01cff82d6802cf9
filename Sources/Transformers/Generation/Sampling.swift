import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// Problems with sampling settings (usage errors: the CLI reports them before loading anything).
public enum SamplingError: Error, CustomStringConvertible, Sendable, Equatable {
    case temperature(Float)
    case topK(Int)
    case topP(Float)

    public var description: String {
        switch self {
        case .temperature(let t): return "the temperature must be a finite number ≥ 0 (0 is greedy), not \(t)"
        case .topK(let k): return "top-k must be at least 1, not \(k)"
        case .topP(let p): return "top-p must be in (0, 1], not \(p)"
        }
    }
}

/// How the next token is chosen: greedy (temperature 0) or sampled from the softmax of
/// logits / temperature, restricted to the `topK` most likely tokens and then to the smallest set
/// whose probability reaches `topP` — transformers' temperature, top-k and top-p warpers, in that order.
public struct SamplingSettings: Sendable, Equatable {
    public var temperature: Float
    public var topK: Int?
    public var topP: Float?
    /// Seeds the sampler; the same seed gives the same tokens on every run.
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int? = nil, topP: Float? = nil, seed: UInt64 = 0) throws {
        guard temperature.isFinite, temperature >= 0 else { throw SamplingError.temperature(temperature) }
        if let topK, topK < 1 { throw SamplingError.topK(topK) }
        if let topP, !(topP > 0 && topP <= 1) { throw SamplingError.topP(topP) }
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
    }

    public var isGreedy: Bool { temperature == 0 }
}

/// Picks next tokens from logits under `SamplingSettings`, with its own seeded generator.
struct Sampler {
    let settings: SamplingSettings
    var random: SeededRandom

    init(_ settings: SamplingSettings) {
        self.settings = settings
        random = SeededRandom(seed: settings.seed)
    }

    mutating func next(_ logits: [Float]) -> Int32 {
        if settings.isGreedy { return Self.argmax(logits) }
        // Candidates as (id, logit / temperature), most likely first; ties keep the lower id first.
        var candidates = Ranking.top(of: logits).map { (id: Int32($0), value: logits[$0] / settings.temperature) }
        if let k = settings.topK, k < candidates.count {
            // top-k keeps every token scoring at least the k-th best (ties at the cut stay, as in transformers).
            let threshold = candidates[k - 1].value
            candidates = Array(candidates.prefix { $0.value >= threshold })
        }
        let peak = candidates[0].value
        var probabilities = candidates.map { exp(Double($0.value - peak)) }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        if let p = settings.topP, p < 1 {
            // transformers removes the tokens whose cumulative probability, summed from the least
            // likely up, stays within 1 − p; the most likely token always stays.
            var fromBottom = 0.0, keep = candidates.count
            for i in stride(from: candidates.count - 1, to: 0, by: -1) {
                fromBottom += probabilities[i]
                if fromBottom <= 1 - Double(p) { keep = i } else { break }
            }
            candidates.removeSubrange(keep...)
            probabilities.removeSubrange(keep...)
        }
        let draw = Double(random.next() >> 11) * 0x1p-53 * probabilities.reduce(0, +)
        var cumulative = 0.0
        for (candidate, probability) in zip(candidates, probabilities) {
            cumulative += probability
            if draw < cumulative { return candidate.id }
        }
        return candidates[candidates.count - 1].id
    }

    /// The first index of the largest logit (as torch.argmax).
    static func argmax(_ logits: [Float]) -> Int32 {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return Int32(best)
    }
}
