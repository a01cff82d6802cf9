/// exp and GELU as straight-line polynomial arithmetic in simple loops, which the compiler
/// vectorises (libm's `expf` / `erff` calls dominated the non-GEMM time). Rounding goes through
/// an integer conversion rather than `rounded()`, which on baseline x86-64 is a library call.
/// Accuracy: exp within 2 ulp on [-87, 88]; erf within 1.5e-7 absolute (Abramowitz & Stegun
/// 7.1.26), far inside the 1e-4 parity tolerance.
enum VectorMath {
    /// e^x: x = k·ln2 + r with |r| ≤ ln2/2 (+ rounding slack), e^r by a degree-6 polynomial,
    /// 2^k through the exponent bits.
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let clamped = min(max(x, -87.3), 88.7)
        let scaled = clamped * 1.442695041
        let k = Int32(scaled + (scaled < 0 ? -0.5 : 0.5))  // round half away from zero
        let kf = Float(k)
        let r = clamped - kf * 0.693145752 - kf * 1.42860677e-6
        var p: Float = 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        return p * Float(bitPattern: UInt32(bitPattern: (k &+ 127) &<< 23))
    }

    /// erf(x) = sign(x)·(1 − poly(t)·e^(−x²)), t = 1/(1 + 0.3275911·|x|).
    @inline(__always)
    static func erf(_ x: Float) -> Float {
        let a = abs(x)
        let t = 1 / (1 + 0.3275911 * a)
        var p: Float = 1.061405429
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let y = 1 - p * t * exp(-a * a)
        return x < 0 ? -y : y
    }

    /// x · Φ(x) = x/2 · (1 + erf(x/√2)) in place.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + erf(v * 0.70710678118654752))
        }
    }

    /// x/2 · (1 + tanh(√(2/π) · (x + 0.044715·x³))) in place (GPT-2's `gelu_new`), with
    /// tanh(z) = 1 − 2 / (e^(2z) + 1); within 2e-7 absolute of libm's tanhf.
    static func geluTanh(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let v = x[i]
            let z = 0.79788456080286536 * (v + 0.044715 * v * v * v)
            x[i] = 0.5 * v * (2 - 2 / (exp(2 * z) + 1))
        }
    }

    /// Softmax of each row of x[rows, stride] over its first `n` entries; entries n..<stride become
    /// 0 (they are padding keys, whose weight is exactly zero in the reference too).
    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, n: Int, stride: Int) {
        for r in 0..<rows {
            let row = x + r * stride
            var peak = -Float.infinity
            for i in 0..<n { peak = max(peak, row[i]) }
            var sum: Float = 0
            for i in 0..<n {
                let e = exp(row[i] - peak)
                row[i] = e
                sum += e
            }
            let inverse = 1 / sum
            for j in 0..<n { row[j] *= inverse }
            for j in n..<stride { row[j] = 0 }
        }
    }
}
