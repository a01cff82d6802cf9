import Foundation
import Kernels

/// The tree-structured Parzen estimator (Bergstra et al. 2011) with Optuna's defaults: the first
/// 10 trials drawn from the priors, then for each parameter on its own (univariate), the trials
/// split into the best γ(n) = min(⌈0.1·n⌉, 25) and the rest, a Parzen estimator fitted to each
/// (a truncated normal per observation plus the prior, bandwidths from the neighbouring
/// observations clipped to [range / min(100, 1 + kernels), range], observation weights ramping
/// up for the most recent 25 trials), 24 candidates drawn from the good one and the candidate
/// with the largest log l(x) − log g(x) taken. Log domains are modelled on the logarithm, integer
/// ones on [low − ½, high + ½] and rounded. Only `SeededRandom` draws, so a seed fixes every trial.
struct TreeParzenEstimator {
    let space: SearchSpace
    let startupTrials = 10
    let candidates = 24
    let priorWeight = 1.0
    private var random: SeededRandom

    init(space: SearchSpace, seed: UInt64) {
        self.space = space
        random = SeededRandom(seed: seed)
    }

    /// A finished trial as the sampler sees it: its parameters and score (nil for a pruned trial,
    /// which ranks below every finished one).
    struct Observation {
        var parameters: TrialParameters
        var score: Double?
    }

    /// The next trial's parameters given every trial so far, in trial order.
    mutating func suggest(after history: [Observation]) -> TrialParameters {
        let ranked = history.indices.sorted { a, b in
            switch (history[a].score, history[b].score) {
            case let (x?, y?): return x > y || (x == y && a < b)
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return a < b
            }
        }
        let belowCount = min((history.count + 9) / 10, 25)
        let below = Set(ranked.prefix(belowCount))
        let modelled = history.count >= startupTrials
        var trial: TrialParameters = [:]
        var order = space.parameters.filter { $0.name == "head" }
        if let head = order.first {
            trial["head"] = modelled ? sample(head, history: history, below: below) : prior(head)
        }
        order = space.parameters(for: space.head(of: trial))
        for parameter in order {
            trial[parameter.name] = modelled ? sample(parameter, history: history, below: below) : prior(parameter)
        }
        return trial
    }

    private mutating func prior(_ parameter: SearchParameter) -> ParameterValue {
        switch parameter.domain {
        case .choice(let names): return .choice(names[Int(random.next() % UInt64(names.count))])
        case .real, .integer:
            let (low, high) = bounds(parameter.domain)
            return value(low + (high - low) * uniform(), parameter.domain)
        }
    }

    private mutating func sample(_ parameter: SearchParameter, history: [Observation], below: Set<Int>) -> ParameterValue {
        // Observations of this parameter, oldest first, with the group each belongs to.
        let observed = history.indices.compactMap { i in history[i].parameters[parameter.name].map { (i, $0) } }
        let good = observed.filter { below.contains($0.0) }.map(\.1), bad = observed.filter { !below.contains($0.0) }.map(\.1)
        switch parameter.domain {
        case .choice(let names):
            let l = categorical(good.map { names.firstIndex(of: $0.choice!)! }, choices: names.count)
            let g = categorical(bad.map { names.firstIndex(of: $0.choice!)! }, choices: names.count)
            var best = 0, bestScore = -Double.infinity
            for _ in 0..<candidates {
                let c = draw(l)
                let score = log(l[c]) - log(g[c])
                if score > bestScore { (best, bestScore) = (c, score) }
            }
            return .choice(names[best])
        case .real, .integer:
            let l = parzen(good.map { transformed($0.number!, parameter.domain) }, parameter.domain)
            let g = parzen(bad.map { transformed($0.number!, parameter.domain) }, parameter.domain)
            var best = 0.0, bestScore = -Double.infinity
            for _ in 0..<candidates {
                let x = draw(l)
                let score = l.logDensity(x) - g.logDensity(x)
                if score > bestScore { (best, bestScore) = (x, score) }
            }
            return value(best, parameter.domain)
        }
    }

    /// Optuna's observation weights: equal below 25 observations; beyond, a ramp from 1/n to 1
    /// over the older ones and 1 for the latest 25.
    private func weights(_ n: Int) -> [Double] {
        guard n >= 25 else { return [Double](repeating: 1, count: n) }
        let ramp = n - 25
        return (0..<ramp).map { ramp == 1 ? 1 / Double(n) : 1 / Double(n) + (1 - 1 / Double(n)) * Double($0) / Double(ramp - 1) }
            + [Double](repeating: 1, count: 25)
    }

    /// The mixture over choices: each observation's kernel puts most mass on its own choice, the
    /// prior kernel spreads evenly.
    private func categorical(_ observed: [Int], choices: Int) -> [Double] {
        let w = weights(observed.count) + [priorWeight]
        let total = w.reduce(0, +)
        let spread = priorWeight / Double(observed.count + 1)
        var p = [Double](repeating: w.last! / total / Double(choices), count: choices)
        for (i, c) in observed.enumerated() {
            for j in 0..<choices { p[j] += w[i] / total * ((j == c ? 1 : 0) + spread) / (1 + spread * Double(choices)) }
        }
        return p
    }

    private mutating func draw(_ p: [Double]) -> Int {
        var u = uniform(), i = 0
        while i < p.count - 1 && u >= p[i] { u -= p[i]; i += 1 }
        return i
    }

    /// Truncated normal kernels on the (transformed) domain.
    struct Parzen {
        var mus: [Double], sigmas: [Double], weights: [Double]
        var low: Double, high: Double

        func logDensity(_ x: Double) -> Double {
            var total = 0.0
            for i in mus.indices {
                let z = (x - mus[i]) / sigmas[i]
                let upper: Double = Parzen.cdf((high - mus[i]) / sigmas[i]), lower: Double = Parzen.cdf((low - mus[i]) / sigmas[i])
                let scale: Double = sigmas[i] * (2 * Double.pi).squareRoot() * max(upper - lower, 1e-300)
                total += weights[i] * exp(-0.5 * z * z) / scale
            }
            return log(max(total, 1e-300))
        }

        static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
    }

    private func parzen(_ observed: [Double], _ domain: ParameterDomain) -> Parzen {
        let (low, high) = bounds(domain)
        let n = observed.count
        var sigmas = [Double](repeating: high - low, count: n)
        if n > 0 {
            let order = observed.indices.sorted { observed[$0] < observed[$1] }
            let points: [Double] = [low] + order.map { observed[$0] } + [high]
            var sorted: [Double] = (1...n).map { i -> Double in max(points[i] - points[i - 1], points[i + 1] - points[i]) }
            if points.count >= 4 {   // Optuna leaves the end points out of the outermost bandwidths
                sorted[0] = points[2] - points[1]
                sorted[n - 1] = points[n] - points[n - 1]
            }
            for (rank, i) in order.enumerated() { sigmas[i] = sorted[rank] }
            let minimum = (high - low) / min(100, 1 + Double(n + 1))
            sigmas = sigmas.map { min(max($0, minimum), high - low) }
        }
        let w = weights(n) + [priorWeight]
        let total = w.reduce(0, +)
        return Parzen(mus: observed + [(low + high) / 2], sigmas: sigmas + [high - low], weights: w.map { $0 / total }, low: low, high: high)
    }

    private mutating func draw(_ p: Parzen) -> Double {
        let kernel = draw(p.weights)
        for _ in 0..<100 {
            let x = p.mus[kernel] + p.sigmas[kernel] * normal()
            if x >= p.low && x <= p.high { return x }
        }
        return p.low + (p.high - p.low) * uniform()
    }

    private func bounds(_ domain: ParameterDomain) -> (Double, Double) {
        switch domain {
        case .real(let low, let high, let log): return log ? (Foundation.log(low), Foundation.log(high)) : (low, high)
        case .integer(let low, let high, let log):
            let (a, b) = (Double(low) - 0.5, Double(high) + 0.5)
            return log ? (Foundation.log(max(a, 0.5)), Foundation.log(b)) : (a, b)
        case .choice: preconditionFailure("a choice has no numeric bounds")
        }
    }

    private func transformed(_ x: Double, _ domain: ParameterDomain) -> Double {
        switch domain {
        case .real(_, _, let log), .integer(_, _, let log): return log ? Foundation.log(x) : x
        case .choice: preconditionFailure("a choice has no numeric value")
        }
    }

    private func value(_ x: Double, _ domain: ParameterDomain) -> ParameterValue {
        switch domain {
        case .real(let low, let high, let log): return .number(min(max(log ? exp(x) : x, low), high))
        case .integer(let low, let high, let log):
            return .number(Double(min(max(Int((log ? exp(x) : x).rounded()), low), high)))
        case .choice: preconditionFailure("a choice has no numeric value")
        }
    }

    private mutating func uniform() -> Double { Double(random.next() >> 11) * 0x1p-53 }

    /// A standard normal draw (Box–Muller).
    private mutating func normal() -> Double {
        let u = 1 - uniform(), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
