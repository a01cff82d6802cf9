/// AdamW as PyTorch's `torch.optim.AdamW` computes it (decoupled weight decay on every parameter,
/// bias-corrected moments): θ ← θ·(1 − lr·wd) − lr·m̂ / (√v̂ + ε).
struct AdamW {
    var learningRate: Float
    var weightDecay: Float
    var beta1: Float = 0.9
    var beta2: Float = 0.999
    var epsilon: Float = 1e-8
    private var step = 0
    private var moments: [[Float]] = []
    private var squares: [[Float]] = []

    init(learningRate: Float, weightDecay: Float) {
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }

    /// One update of every parameter tensor from its gradient (same order on every call).
    mutating func update(_ parameters: inout [[Float]], gradients: [[Float]]) {
        if moments.isEmpty {
            moments = parameters.map { [Float](repeating: 0, count: $0.count) }
            squares = moments
        }
        step += 1
        let correction1 = 1 - Float.exponential(Float(step) * Float.logarithm(beta1))
        let correction2 = 1 - Float.exponential(Float(step) * Float.logarithm(beta2))
        let stepSize = learningRate / correction1
        let decay = 1 - learningRate * weightDecay
        let (beta1, beta2, epsilon) = (beta1, beta2, epsilon)
        for p in parameters.indices {
            parameters[p].withUnsafeMutableBufferPointer { theta in
                moments[p].withUnsafeMutableBufferPointer { m in
                    squares[p].withUnsafeMutableBufferPointer { v in
                        gradients[p].withUnsafeBufferPointer { g in
                            for i in theta.indices {
                                m[i] = beta1 * m[i] + (1 - beta1) * g[i]
                                v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
                                theta[i] = theta[i] * decay - stepSize * m[i] / ((v[i] / correction2).squareRoot() + epsilon)
                            }
                        }
                    }
                }
            }
        }
    }
}
