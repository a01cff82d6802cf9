import CkptSupport
import Foundation
import Kernels

/// t-SNE (van der Maaten & Hinton 2008) as openTSNE runs it by default: perplexity-calibrated
/// affinities over exact nearest neighbours (`Affinities`), PCA initialisation rescaled to a
/// standard deviation of 1e-4 with 1% jitter, `exaggerationIterations` steps with the affinities
/// exaggerated 12× and learning rate N / 12, then `iterations` steps at learning rate N; momentum
/// 0.8, delta-bar-delta gains (+0.2 / ×0.8, at least 0.01), steps capped at length 5, the
/// embedding re-centred after each step. Repulsion by Barnes–Hut (θ = 0.5). Every per-point sum
/// runs in a fixed order, so the result is the same bits at any thread count.
public struct TSNE: Sendable {
    public struct Settings: Sendable {
        public var perplexity: Double = 30
        /// Steps after early exaggeration (openTSNE's `n_iter`).
        public var iterations: Int = 750
        public var exaggerationIterations: Int = 250
        public var exaggeration: Double = 12
        public var theta: Double = 0.5
        public var seed: UInt64 = 0
        public init() {}
    }

    /// [N, 2] row-major.
    public let embedding: [Double]
    /// KL(P ‖ Q) of the final embedding, with Q normalised over all pairs exactly.
    public let klDivergence: Double

    /// Embeds `rows` feature rows of `dimension` (row-major) in two dimensions.
    public init(_ features: [Float], rows N: Int, dimension D: Int, settings: Settings = Settings(), threads: Int) throws {
        guard Double(N - 1) >= 3 * settings.perplexity else { throw AnalysisError.tooFewPoints(points: N, perplexity: settings.perplexity) }
        guard settings.perplexity > 0 else { throw AnalysisError.badInput("the perplexity must be positive") }
        let affinities = Affinities(features, rows: N, dimension: D, perplexity: settings.perplexity, threads: threads)
        var y = Self.initialisation(features, rows: N, dimension: D, seed: settings.seed, threads: threads)
        var optimiser = Optimiser(points: N)
        optimiser.run(&y, affinities, steps: settings.exaggerationIterations, exaggeration: settings.exaggeration,
                      learningRate: Double(N) / settings.exaggeration, theta: settings.theta, threads: threads)
        optimiser.run(&y, affinities, steps: settings.iterations, exaggeration: 1, learningRate: Double(N), theta: settings.theta, threads: threads)
        embedding = y
        klDivergence = Self.klDivergence(y, affinities, points: N, threads: threads)
    }

    /// PCA coordinates scaled so the first has standard deviation 1e-4, plus normal jitter of 1% of that.
    private static func initialisation(_ features: [Float], rows N: Int, dimension D: Int, seed: UInt64, threads: Int) -> [Double] {
        let pca = PCA(features, rows: N, dimension: D, components: 2, threads: threads)
        var y = pca.transform(features, rows: N)
        let first = stride(from: 0, to: 2 * N, by: 2).map { y[$0] }
        let mean = first.reduce(0, +) / Double(N)
        let deviation = (first.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(N)).squareRoot()
        let scale = deviation > 0 ? 1e-4 / deviation : 1
        var random = SeededRandom(seed: seed)
        for i in y.indices { y[i] = y[i] * scale + 1e-6 * random.nextGaussian() }
        return y
    }

    /// KL(P ‖ Q) = Σ p_ij log(p_ij / q_ij), q_ij = w_ij / Σ_{k≠l} w_kl, w = 1 / (1 + ‖y_i − y_j‖²).
    static func klDivergence(_ y: [Double], _ p: Affinities, points N: Int, threads: Int) -> Double {
        var rowSums = [Double](repeating: 0, count: N)
        rowSums.withUnsafeMutableBufferPointer { sums in
            let sums = UncheckedSendable(sums.baseAddress!)
            Parallel.forEachIndex(N, threads: threads) { i in
                var s = 0.0
                for j in 0..<N where j != i {
                    let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                    s += 1 / (1 + dx * dx + dy * dy)
                }
                sums.value[i] = s
            }
        }
        let logZ = log(rowSums.reduce(0, +))
        var kl = 0.0
        for i in 0..<N {
            for e in p.rowStart[i]..<p.rowStart[i + 1] where p.values[e] > 0 {
                let j = Int(p.columns[e])
                let dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1]
                kl += p.values[e] * (log(p.values[e]) + log(1 + dx * dx + dy * dy) + logZ)
            }
        }
        return kl
    }
}

/// Gradient descent with momentum and gains, its state kept across the two phases.
private struct Optimiser {
    var update: [Double], gains: [Double]

    init(points N: Int) {
        update = [Double](repeating: 0, count: 2 * N)
        gains = [Double](repeating: 1, count: 2 * N)
    }

    mutating func run(_ y: inout [Double], _ p: Affinities, steps: Int, exaggeration: Double, learningRate: Double, theta: Double, threads: Int) {
        let N = y.count / 2
        var gradient = [Double](repeating: 0, count: 2 * N)
        var sumQ = [Double](repeating: 0, count: N)
        for _ in 0..<steps {
            let tree = y.withUnsafeBufferPointer { BarnesHutTree($0.baseAddress!, count: N) }
            // Repulsion first (its normaliser Z needs every point), attraction after.
            gradient.withUnsafeMutableBufferPointer { g in
                sumQ.withUnsafeMutableBufferPointer { q in
                    let (g, q) = (UncheckedSendable(g.baseAddress!), UncheckedSendable(q.baseAddress!))
                    let points = y
                    Parallel.forEachPart(of: 0..<N, threads: threads) { part in
                        // Each level of the tree adds at most 3 pending nodes; 3 × nodes + 1 bounds any depth.
                        let stack = UnsafeMutablePointer<Int>.allocate(capacity: 3 * tree.nodes.count + 1)
                        defer { stack.deallocate() }
                        for i in part {
                            let r = tree.repulsion(x: points[2 * i], y: points[2 * i + 1], theta: theta, stack: stack)
                            g.value[2 * i] = -r.fx; g.value[2 * i + 1] = -r.fy
                            q.value[i] = r.sumQ
                        }
                    }
                }
            }
            let z = sumQ.reduce(0, +) + Double.ulpOfOne
            gradient.withUnsafeMutableBufferPointer { g in
                let g = UncheckedSendable(g.baseAddress!)
                let points = y
                Parallel.forEachPart(of: 0..<N, threads: threads) { part in
                    for i in part {
                        var ax = 0.0, ay = 0.0
                        for e in p.rowStart[i]..<p.rowStart[i + 1] {
                            let j = Int(p.columns[e])
                            let dx = points[2 * i] - points[2 * j], dy = points[2 * i + 1] - points[2 * j + 1]
                            let w = exaggeration * p.values[e] / (1 + dx * dx + dy * dy)
                            ax += w * dx; ay += w * dy
                        }
                        g.value[2 * i] = g.value[2 * i] / z + ax
                        g.value[2 * i + 1] = g.value[2 * i + 1] / z + ay
                    }
                }
            }
            step(&y, gradient, learningRate: learningRate)
        }
    }

    private mutating func step(_ y: inout [Double], _ gradient: [Double], learningRate: Double) {
        let N = y.count / 2
        for i in 0..<(2 * N) {
            // The gain grows where the step's direction flips against the gradient's, else shrinks.
            let flipped = (update[i] > 0) != (gradient[i] > 0) || (update[i] == 0) != (gradient[i] == 0)
            gains[i] = flipped ? gains[i] + 0.2 : gains[i] * 0.8 + 0.01
            update[i] = 0.8 * update[i] - learningRate * gains[i] * gradient[i]
        }
        var meanX = 0.0, meanY = 0.0
        for i in 0..<N {
            let length = (update[2 * i] * update[2 * i] + update[2 * i + 1] * update[2 * i + 1]).squareRoot()
            if length > 5 { update[2 * i] *= 5 / length; update[2 * i + 1] *= 5 / length }
            y[2 * i] += update[2 * i]; y[2 * i + 1] += update[2 * i + 1]
            meanX += y[2 * i]; meanY += y[2 * i + 1]
        }
        meanX /= Double(N); meanY /= Double(N)
        for i in 0..<N { y[2 * i] -= meanX; y[2 * i + 1] -= meanY }
    }
}
