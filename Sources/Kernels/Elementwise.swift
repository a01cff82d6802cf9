import CKernels

/// Row-wise and element-wise kernels, in f32, on contiguous row-major buffers.
public enum RowKernels {
    /// y[rows, n] = LayerNorm(x + bias) · γ + β, per row; mean and variance in f32, two passes (as
    /// PyTorch computes them), ε inside the square root. `bias` ([n], a matrix product's, so that the
    /// product need not start from it) may be nil; `y` may be `x`.
    package static func layerNorm(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil, into y: UnsafeMutablePointer<Float>, rows: Int, n: Int,
                          gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, epsilon: Float) {
        ckpt_layer_norm(x, bias, y, Int64(rows), Int64(n), gamma, beta, epsilon)
    }

    /// Activations by their transformers (`ACT2FN`) names.
    package enum Activation: String, Sendable {
        /// x · Φ(x) with the exact normal CDF (BERT's `gelu`).
        case gelu
        /// The tanh approximation (GPT-2's `gelu_new`).
        case geluNew = "gelu_new"
        /// PyTorch's name for the same tanh approximation.
        case geluPyTorchTanh = "gelu_pytorch_tanh"
        case relu
        case tanh

        var kernel: ckpt_activation {
            switch self {
            case .gelu: CKPT_GELU_ERF
            case .geluNew, .geluPyTorchTanh: CKPT_GELU_TANH
            case .relu: CKPT_RELU
            case .tanh: CKPT_TANH
            }
        }
    }

    /// x[rows, n] ← activation(x + bias), per row, in place; `bias` ([n]) may be nil.
    package static func apply(_ activation: Activation, _ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, bias: UnsafePointer<Float>? = nil) {
        ckpt_bias_activation(x, Int64(rows), Int64(n), bias, activation.kernel)
    }

    /// Softmax over each row of `x[rows, n]`, max-subtracted for stability.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int) {
        softmaxRows(x, rows: rows, n: n, stride: n)
    }

    /// Softmax of each row of x[rows, stride] over its first `n` entries; entries n ..< stride
    /// become 0 (padding or future keys, whose weight is exactly zero in the reference too).
    /// exp within 2 ulp (a polynomial, vectorised; see CKernels).
    package static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, stride: Int) {
        ckpt_softmax_rows(x, Int64(rows), Int64(n), Int64(stride))
    }

    /// Softmax over each row of `x[rows, n]` held in an array.
    public static func softmaxRows(_ x: inout [Float], n: Int) {
        guard n > 0, !x.isEmpty else { return }
        x.withUnsafeMutableBufferPointer { softmaxRows($0.baseAddress!, rows: $0.count / n, n: n) }
    }
}
