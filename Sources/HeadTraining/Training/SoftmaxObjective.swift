import CkptSupport
import Kernels
import CKernels
import Transformers

/// The objective of a multinomial logistic regression with an L2 penalty, as scikit-learn's
/// `LogisticRegression(solver="lbfgs")` minimises it (scaled by 1/n, which leaves the minimum
/// where it is):
///
///     L(W, b) = (1/n) Σᵢ sᵢ · −log softmax(W·xᵢ + b)[yᵢ] + (λ/2)·‖W‖²
///
/// with sample weights sᵢ (1, or the class weights) and λ = 1 / (C·n) for scikit-learn's C. The
/// intercept b is not penalised. Parameters are packed as W [K, D] then b [K], in double
/// precision; features stay float32 (widened as they are read for the logits, or, for a coarse
/// evaluation, multiplied by W rounded to float32; the weight gradient is summed in float32 over
/// short runs of rows, see CKernels). Rows are cut into slices fixed by the
/// row count alone, whose sums are added in order, so the result is the same at any thread count;
/// threads take the slices one at a time, so a core that stalls delays one slice, not a fixed share.
struct SoftmaxObjective: @unchecked Sendable {
    let x: [Float]             // [N, D]
    let labels: [Int32]        // [N], class indices
    let rowWeights: [Double]   // sᵢ / n
    let rows: Int, dimension: Int, classes: Int
    let penalty: Double
    let threads: Int
    let slices: Int

    init(features: FeatureMatrix, labels: [Int], classes: Int, sampleWeights: [Double], penalty: Double, threads: Int) {
        x = features.values
        self.labels = labels.map(Int32.init)
        rowWeights = sampleWeights.map { $0 / Double(features.rows) }
        rows = features.rows
        dimension = features.dimension
        self.classes = classes
        self.penalty = penalty
        self.threads = max(1, threads)
        // At least 256 rows a slice, so the per-slice setup and sums stay small next to the pass.
        slices = max(1, min(8, features.rows / 256))
    }

    var parameterCount: Int { classes * (dimension + 1) }

    /// L(θ), writing ∇L(θ) into `gradient`. `coarse`: logits summed in float32 (about 1.4× faster;
    /// L moves by ~1e-9 relative, which matters only where steps change it by less).
    func evaluate(_ theta: [Double], _ gradient: inout [Double], coarse: Bool) -> Double {
        let P = parameterCount, K = classes
        // Each slice's pass writes all of its part (the kernel zeroes its sums first).
        var partial = [Double](unsafeUninitializedCapacity: slices * P) { _, count in count = slices * P }
        var losses = [Double](repeating: 0, count: slices)
        let coarseWeights = coarse ? theta[0..<(K * dimension)].map(Float.init) : []
        x.withUnsafeBufferPointer { x in labels.withUnsafeBufferPointer { y in rowWeights.withUnsafeBufferPointer { s in
            theta.withUnsafeBufferPointer { theta in partial.withUnsafeMutableBufferPointer { partial in
                losses.withUnsafeMutableBufferPointer { losses in coarseWeights.withUnsafeBufferPointer { coarseWeights in
                    let pass = Pass(x: x.baseAddress!, y: y.baseAddress!, s: s.baseAddress!, theta: theta.baseAddress!,
                                    coarseWeights: coarse ? coarseWeights.baseAddress : nil,
                                    partial: partial.baseAddress!, losses: losses.baseAddress!, objective: self)
                    Parallel.forEachIndex(slices, threads: threads) { pass.run(slice: $0) }
                } }
            } }
        } } }
        let loss = losses.reduce(0, +)
        var squares = 0.0
        partial.withUnsafeBufferPointer { partial in theta.withUnsafeBufferPointer { theta in
            gradient.withUnsafeMutableBufferPointer { gradient in
                Self.sumSlices(partial, count: slices, into: UnsafeMutableBufferPointer(rebasing: gradient[0..<P]))
                for j in 0..<(K * dimension) {
                    gradient[j] += penalty * theta[j]
                    squares += theta[j] * theta[j]
                }
            }
        } }
        return loss + penalty / 2 * squares
    }

    /// gradient[j] = ((0 + part₀[j]) + part₁[j]) + …, the slices' parts (each `gradient.count`
    /// long, one after another in `parts`) added in slice order, eight elements at a time.
    private static func sumSlices(_ parts: UnsafeBufferPointer<Double>, count: Int, into gradient: UnsafeMutableBufferPointer<Double>) {
        typealias Lanes = SIMD8<Double>
        let P = gradient.count
        func lanes(_ p: UnsafePointer<Double>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
        var j = 0
        while j + Lanes.scalarCount <= P {
            var sum = Lanes()
            for slice in 0..<count { sum += lanes(parts.baseAddress! + slice * P + j) }
            UnsafeMutableRawPointer(gradient.baseAddress! + j).storeBytes(of: sum, as: Lanes.self)
            j += Lanes.scalarCount
        }
        for j in j..<P { gradient[j] = (0..<count).reduce(0) { $0 + parts[$1 * P + j] } }
    }

    /// The pointers one evaluation's threads share; each slice writes only its own part of
    /// `partial` and its own entry of `losses`.
    private struct Pass: @unchecked Sendable {
        let x: UnsafePointer<Float>, y: UnsafePointer<Int32>, s: UnsafePointer<Double>, theta: UnsafePointer<Double>
        let coarseWeights: UnsafePointer<Float>?
        let partial: UnsafeMutablePointer<Double>, losses: UnsafeMutablePointer<Double>
        let objective: SoftmaxObjective

        func run(slice: Int) {
            let o = objective
            let block = Int(CKPT_SOFTMAX_REGRESSION_BLOCK)
            var work = [Double](repeating: 0, count: 2 * block * o.classes)
            var scratch = [Float](repeating: 0, count: (block + o.dimension) * o.classes)
            losses[slice] = ckpt_softmax_regression_pass(
                x, y, s, Int64(o.rows * slice / o.slices), Int64(o.rows * (slice + 1) / o.slices),
                Int64(o.dimension), Int64(o.classes), theta, coarseWeights, partial + slice * o.parameterCount, &work, &scratch)
        }
    }
}
