import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Row-wise and element-wise kernels, in f32, on contiguous row-major buffers.
public enum Kernels {
    /// x[rows, n] ← LayerNorm(x + residual) · γ + β, per row (BERT's post-norm). `residual` may be nil.
    static func addLayerNorm(_ x: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>?, rows: Int, n: Int,
                             gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float) {
        if let residual {
            for i in 0..<(rows * n) { x[i] += residual[i] }
        }
        layerNorm(x, into: x, rows: rows, n: n, gamma: gamma, beta: beta, epsilon: epsilon)
    }

    /// y[rows, n] = LayerNorm(x) · γ + β, per row; mean and variance in f32, two passes (as PyTorch
    /// computes them), ε inside the square root. `y` may be `x`.
    static func layerNorm(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                          gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float) {
        ckpt_layer_norm(x, y, Int64(rows), Int64(n), gamma, beta, epsilon)
    }

    enum Activation: String {
        /// x · Φ(x) with the exact normal CDF (BERT's `gelu`).
        case gelu
        /// The tanh approximation (GPT-2's `gelu_new`).
        case geluNew = "gelu_new"
        /// PyTorch's name for the same tanh approximation.
        case geluPyTorchTanh = "gelu_pytorch_tanh"
        case relu
        case tanh
    }

    static func apply(_ activation: Activation, _ x: UnsafeMutablePointer<Float>, count: Int) {
        switch activation {
        case .gelu:
            ckpt_gelu_erf(x, Int64(count))
        case .geluNew, .geluPyTorchTanh:
            ckpt_gelu_tanh(x, Int64(count))
        case .relu:
            for i in 0..<count { x[i] = max(0, x[i]) }
        case .tanh:
            for i in 0..<count { x[i] = tanhf(x[i]) }
        }
    }

    /// Softmax over each row of `x[rows, n]`, max-subtracted for stability.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        softmaxRows(x, rows: rows, n: n, stride: n)
    }

    /// Softmax of each row of x[rows, stride] over its first `n` entries; entries n ..< stride
    /// become 0 (padding or future keys, whose weight is exactly zero in the reference too).
    /// exp within 2 ulp (a polynomial, vectorised; see CKernels).
    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, stride: Int) {
        ckpt_softmax_rows(x, Int64(rows), Int64(n), Int64(stride))
    }

    /// Softmax over each row of `x[rows, n]` held in an array.
    public static func softmaxRows(_ x: inout [Float], n: Int) {
        guard n > 0, !x.isEmpty else { return }
        x.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: $0.count / n, n: n) }
    }
}
