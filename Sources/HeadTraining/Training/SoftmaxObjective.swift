import CKernels
import Dispatch

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
/// short runs of rows, see CKernels). Rows are split into
/// `threads` fixed slices whose sums are added in order, so a thread count gives one result.
struct SoftmaxObjective: @unchecked Sendable {
    let x: [Float]             // [N, D]
    let labels: [Int32]        // [N], class indices
    let rowWeights: [Double]   // sᵢ / n
    let rows: Int, dimension: Int, classes: Int
    let penalty: Double
    let threads: Int

    init(features: FeatureMatrix, labels: [Int], classes: Int, sampleWeights: [Double], penalty: Double, threads: Int) {
        x = features.values
        self.labels = labels.map(Int32.init)
        rowWeights = sampleWeights.map { $0 / Double(features.rows) }
        rows = features.rows
        dimension = features.dimension
        self.classes = classes
        self.penalty = penalty
        self.threads = max(1, min(threads, features.rows / 256 + 1))
    }

    var parameterCount: Int { classes * (dimension + 1) }

    /// L(θ), writing ∇L(θ) into `gradient`. `coarse`: logits summed in float32 (about 1.4× faster;
    /// L moves by ~1e-9 relative, which matters only where steps change it by less).
    func evaluate(_ theta: [Double], _ gradient: inout [Double], coarse: Bool) -> Double {
        let P = parameterCount, K = classes
        var partial = [Double](repeating: 0, count: threads * P)
        var losses = [Double](repeating: 0, count: threads)
        let coarseWeights = coarse ? theta[0..<(K * dimension)].map(Float.init) : []
        x.withUnsafeBufferPointer { x in labels.withUnsafeBufferPointer { y in rowWeights.withUnsafeBufferPointer { s in
            theta.withUnsafeBufferPointer { theta in partial.withUnsafeMutableBufferPointer { partial in
                losses.withUnsafeMutableBufferPointer { losses in coarseWeights.withUnsafeBufferPointer { coarseWeights in
                    let pass = Pass(x: x.baseAddress!, y: y.baseAddress!, s: s.baseAddress!, theta: theta.baseAddress!,
                                    coarseWeights: coarse ? coarseWeights.baseAddress : nil,
                                    partial: partial.baseAddress!, losses: losses.baseAddress!, objective: self)
                    if threads == 1 { pass.run(0) } else { DispatchQueue.concurrentPerform(iterations: threads) { pass.run($0) } }
                } }
            } }
        } } }
        var loss = 0.0
        for worker in 0..<threads {
            loss += losses[worker]
            for j in 0..<P { gradient[j] = (worker == 0 ? 0 : gradient[j]) + partial[worker * P + j] }
        }
        var squares = 0.0
        for j in 0..<(K * dimension) {
            gradient[j] += penalty * theta[j]
            squares += theta[j] * theta[j]
        }
        return loss + penalty / 2 * squares
    }

    /// The pointers one evaluation's workers share; each writes only its own slice of `partial`
    /// and its own entry of `losses`.
    private struct Pass: @unchecked Sendable {
        let x: UnsafePointer<Float>, y: UnsafePointer<Int32>, s: UnsafePointer<Double>, theta: UnsafePointer<Double>
        let coarseWeights: UnsafePointer<Float>?
        let partial: UnsafeMutablePointer<Double>, losses: UnsafeMutablePointer<Double>
        let objective: SoftmaxObjective

        func run(_ worker: Int) {
            let o = objective
            let block = Int(CKPT_SOFTMAX_REGRESSION_BLOCK)
            var work = [Double](repeating: 0, count: 2 * block * o.classes)
            var scratch = [Float](repeating: 0, count: (block + o.dimension) * o.classes)
            losses[worker] = ckpt_softmax_regression_pass(
                x, y, s, Int64(o.rows * worker / o.threads), Int64(o.rows * (worker + 1) / o.threads),
                Int64(o.dimension), Int64(o.classes), theta, coarseWeights, partial + worker * o.parameterCount, &work, &scratch)
        }
    }
}
