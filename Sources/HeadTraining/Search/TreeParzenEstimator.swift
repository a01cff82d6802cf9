import Foundation
import Kernels

/// The tree-structured Parzen estimator (Bergstra et al. 2011) with Optuna's defaults: the first
/// 10 trials drawn from the priors; then the trials split into the best γ(n) = min(⌈0.1·n⌉, 25)
/// and the rest, a Parzen estimator fitted to each — per observation a product of kernels over the
/// parameters (truncated normals, bandwidths from the neighbouring observations; categorical
/// kernels leaning to the observed choice), plus the prior, observation weights ramping down
/// beyond 25 — 24 candidates drawn from the good one and the candidate with the largest
/// log l(x) − log g(x) taken. As Optuna's default multivariate TPE, the parameters every trial has
/// are drawn jointly and the rest one at a time. Log domains are modelled on the logarithm,
/// integer ones on [low − ½, high + ½] and rounded. Only `SeededRandom` draws, so a seed fixes
/// every trial.
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
        // Ranked best first, pruned trials last, ties in trial order (a stable sort, as Optuna's).
        let ranked = history.indices.sorted { a, b in
            switch (history[a].score, history[b].score) {
            case let (x?, y?): return x > y || (x == y && a < b)
            case (_?, nil): return true
            case (nil, _?): return false
            case (nil, nil): return a < b
            }
        }
        let belowCount = min((history.count + 9) / 10, 25)
        var trial: TrialParameters = [:]
        guard history.count >= startupTrials else {
            if let head = space.parameters.first(where: { $0.name == "head" }) { trial["head"] = prior(head) }
            for parameter in space.parameters(for: space.head(of: trial)) { trial[parameter.name] = prior(parameter) }
            return trial
        }
        // The parameters every trial so far has are modelled jointly (Optuna's default multivariate
        // TPE over the intersection of the trials' search spaces); the others one by one.
        let shared = space.parameters.filter { p in history.allSatisfy { $0.parameters[p.name] != nil } }
        if !shared.isEmpty {
            trial.merge(sample(shared, history: history, ranked: ranked, belowCount: belowCount)) { a, _ in a }
        }
        if trial["head"] == nil, let head = space.parameters.first(where: { $0.name == "head" }) {
            trial.merge(sample([head], history: history, ranked: ranked, belowCount: belowCount)) { a, _ in a }
        }
        for parameter in space.parameters(for: space.head(of: trial)) where trial[parameter.name] == nil {
            trial.merge(sample([parameter], history: history, ranked: ranked, belowCount: belowCount)) { a, _ in a }
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

    /// `parameters` drawn together: the good and bad trials (in ranked order) that have all of
    /// them, a mixture of product kernels fitted to each, 24 candidates from the good mixture and
    /// the one with the largest log l(x) − log g(x).
    private mutating func sample(_ parameters: [SearchParameter], history: [Observation], ranked: [Int], belowCount: Int) -> TrialParameters {
        let having = { (i: Int) in parameters.allSatisfy { history[i].parameters[$0.name] != nil } }
        let good = ranked.prefix(belowCount).filter(having), bad = ranked.dropFirst(belowCount).filter(having)
        let l = Mixture(parameters.map { kernels($0, values: good.map { history[$0].parameters }) }, weights: weights(good.count)),
            g = Mixture(parameters.map { kernels($0, values: bad.map { history[$0].parameters }) }, weights: weights(bad.count))
        var best: [Double] = [], bestScore = -Double.infinity
        for _ in 0..<candidates {
            let kernel = draw(l.weights)
            let x = l.dimensions.map { draw(from: $0, kernel: kernel) }
            let score = l.logDensity(x) - g.logDensity(x)
            if score > bestScore { (best, bestScore) = (x, score) }
        }
        var trial: TrialParameters = [:]
        for (parameter, x) in zip(parameters, best) {
            switch parameter.domain {
            case .choice(let names): trial[parameter.name] = .choice(names[Int(x)])
            case .real, .integer: trial[parameter.name] = value(x, parameter.domain)
            }
        }
        return trial
    }

    /// Optuna's observation weights: equal below 25 observations; beyond, a ramp from 1/n to 1
    /// over the first n − 25 and 1 for the last 25.
    private func weights(_ n: Int) -> [Double] {
        guard n >= 25 else { return [Double](repeating: 1, count: n) }
        let ramp = n - 25
        return (0..<ramp).map { ramp == 1 ? 1 / Double(n) : 1 / Double(n) + (1 - 1 / Double(n)) * Double($0) / Double(ramp - 1) }
            + [Double](repeating: 1, count: 25)
    }

    /// The kernels of one parameter: one per observation, then the prior's.
    enum Kernels {
        /// Truncated normals on [low, high] of the (transformed) domain.
        case numeric(mus: [Double], sigmas: [Double], low: Double, high: Double)
        /// Per kernel, the probability of each choice (by index).
        case categorical([[Double]])

        func logDensity(_ kernel: Int, _ x: Double) -> Double {
            switch self {
            case .numeric(let mus, let sigmas, let low, let high):
                let (mu, sigma) = (mus[kernel], sigmas[kernel])
                let z = (x - mu) / sigma
                let mass: Double = Kernels.cdf((high - mu) / sigma) - Kernels.cdf((low - mu) / sigma)
                let scale: Double = sigma * (2 * Double.pi).squareRoot() * max(mass, 1e-300)
                return -0.5 * z * z - log(scale)
            case .categorical(let rows): return log(max(rows[kernel][Int(x)], 1e-300))
            }
        }

        static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
    }

    /// A mixture of product kernels: kernel i is the product over the parameters of their i-th kernels.
    struct Mixture {
        let dimensions: [Kernels]
        let weights: [Double]

        init(_ dimensions: [Kernels], weights observationWeights: [Double]) {
            self.dimensions = dimensions
            let w = observationWeights + [1.0]   // the prior's weight
            let total = w.reduce(0, +)
            weights = w.map { $0 / total }
        }

        func logDensity(_ x: [Double]) -> Double {
            let terms = weights.indices.map { i in log(weights[i]) + zip(dimensions, x).map { $0.logDensity(i, $1) }.reduce(0, +) }
            let peak = terms.max()!
            return peak + log(terms.map { exp($0 - peak) }.reduce(0, +))
        }
    }

    /// Kernels of `parameter` for the observed `values`, with Optuna's bandwidths: the larger gap to
    /// the neighbouring observations (the domain's ends counting as neighbours, except for the
    /// outermost observations' outer side), clipped to [range / min(100, 1 + kernels), range].
    private func kernels(_ parameter: SearchParameter, values: [TrialParameters]) -> Kernels {
        let n = values.count
        if case .choice(let names) = parameter.domain {
            let spread = priorWeight / Double(n + 1)
            var rows = values.map { v -> [Double] in
                let chosen = names.firstIndex(of: v[parameter.name]!.choice!)!
                return names.indices.map { ((($0 == chosen) ? 1 : 0) + spread) / (1 + spread * Double(names.count)) }
            }
            rows.append([Double](repeating: 1 / Double(names.count), count: names.count))
            return .categorical(rows)
        }
        let (low, high) = bounds(parameter.domain)
        let observed = values.map { transformed($0[parameter.name]!.number!, parameter.domain) }
        var sigmas = [Double](repeating: high - low, count: n)
        if n > 0 {
            let order = observed.indices.sorted { observed[$0] < observed[$1] }
            let points: [Double] = [low] + order.map { observed[$0] } + [high]
            var sorted: [Double] = (1...n).map { i -> Double in max(points[i] - points[i - 1], points[i + 1] - points[i]) }
            if points.count >= 4 {
                sorted[0] = points[2] - points[1]
                sorted[n - 1] = points[n] - points[n - 1]
            }
            for (rank, i) in order.enumerated() { sigmas[i] = sorted[rank] }
            let minimum = (high - low) / min(100, 1 + Double(n + 1))
            sigmas = sigmas.map { min(max($0, minimum), high - low) }
        }
        return .numeric(mus: observed + [(low + high) / 2], sigmas: sigmas + [high - low], low: low, high: high)
    }

    private mutating func draw(_ p: [Double]) -> Int {
        var u = uniform(), i = 0
        while i < p.count - 1 && u >= p[i] { u -= p[i]; i += 1 }
        return i
    }

    /// A draw from kernel `kernel` of one parameter (a choice's index, or a transformed number).
    private mutating func draw(from kernels: Kernels, kernel: Int) -> Double {
        switch kernels {
        case .categorical(let rows): return Double(draw(rows[kernel]))
        case .numeric(let mus, let sigmas, let low, let high):
            for _ in 0..<100 {
                let x = mus[kernel] + sigmas[kernel] * normal()
                if x >= low && x <= high { return x }
            }
            return low + (high - low) * uniform()
        }
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
