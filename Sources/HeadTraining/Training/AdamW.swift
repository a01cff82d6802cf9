#if canImport(Glibc)
import Glibc
#endif

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

    /// One update of every layer's weight and bias from their gradients, in place.
    mutating func update(_ layers: inout [DenseLayer], gradients: [(weight: [Float], bias: [Float])]) {
        step += 1
        let bias1 = 1 - powf(beta1, Float(step)), bias2 = 1 - powf(beta2, Float(step))
        for l in layers.indices {
            apply(&layers[l].weight, gradients[l].weight, slot: 2 * l, correction1: bias1, correction2: bias2)
            apply(&layers[l].bias, gradients[l].bias, slot: 2 * l + 1, correction1: bias1, correction2: bias2)
        }
    }

    private mutating func apply(_ parameter: inout [Float], _ gradient: [Float], slot: Int, correction1: Float, correction2: Float) {
        if slot == moments.count {
            moments.append([Float](repeating: 0, count: parameter.count))
            squares.append(moments[slot])
        }
        let (beta1, beta2, epsilon) = (beta1, beta2, epsilon)
        let stepSize = learningRate / correction1, decay = 1 - learningRate * weightDecay
        // Take the moment buffers out while writing them, so that the writes do not copy them.
        var (m, v) = (moments[slot], squares[slot])
        (moments[slot], squares[slot]) = ([], [])
        m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
                parameter.withUnsafeMutableBufferPointer { theta in
                    for i in theta.indices {
                        let g = gradient[i]
                        m[i] = beta1 * m[i] + (1 - beta1) * g
                        v[i] = beta2 * v[i] + (1 - beta2) * g * g
                        theta[i] = theta[i] * decay - stepSize * m[i] / ((v[i] / correction2).squareRoot() + epsilon)
                    }
                }
            }
        }
        (moments[slot], squares[slot]) = (m, v)
    }
}
