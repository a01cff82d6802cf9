import CBLAS
import Synchronization

/// OpenBLAS's products, each on the calling thread alone. ckpt never lets OpenBLAS start threads
/// of its own: parallel work is split by ckpt (over rows or output panels, never over a reduction),
/// so that results do not depend on the thread count. Matrices are row-major.
package enum BLAS {
    /// OpenBLAS's thread count is process-wide; it is held at one, once, before the first product.
    private static let oneThread: Void = openblas_set_num_threads(1)

    /// y[M, N] = x[M, K] · w[N, K]ᵀ (+ bias[N]): a PyTorch `nn.Linear` over M rows at once, on plain
    /// (unpacked) weights. With `accumulate`, the result is added to y instead.
    package static func linear(_ x: UnsafePointer<Float>, rows m: Int, inputs k: Int, weight w: UnsafePointer<Float>, outputs n: Int,
                               bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, ldy: Int? = nil, accumulate: Bool = false) {
        oneThread
        let ldy = ldy ?? n
        if let bias {
            for row in 0..<m {
                let out = y + row * ldy
                if accumulate {
                    for j in 0..<n { out[j] += bias[j] }
                } else {
                    out.update(from: bias, count: n)
                }
            }
        }
        let beta: Float = bias == nil && !accumulate ? 0 : 1
        if m == 1 {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w, Int32(k), x, 1, beta, y, 1)
        } else {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, x, Int32(k), w, Int32(k), beta, y, Int32(ldy))
        }
    }

    /// Whether `linear` over `rows` rows gives each row the same bits wherever it sits among them, for
    /// this K and N: measured once per shape, by a product whose rows are all the same row. Some of
    /// OpenBLAS's kernels round a row by its place in the block: Haswell's (which Zen runs too)
    /// handles twelve rows at a time, the second six in another order.
    package static func roundsEveryRowAlike(rows m: Int, inputs k: Int, outputs n: Int) -> Bool {
        let shape = [m, k, n]
        if let known = placeInvariance.withLock({ $0[shape] }) { return known }
        var generator = SeededRandom(seed: 1)
        let row = (0..<k).map { _ in generator.nextFloat() - 0.5 }, w = (0..<(n * k)).map { _ in generator.nextFloat() - 0.5 }
        var y = [Float](repeating: 0, count: m * n)
        let x = Array([[Float]](repeating: row, count: m).joined())
        y.withUnsafeMutableBufferPointer { linear(x, rows: m, inputs: k, weight: w, outputs: n, bias: nil, into: $0.baseAddress!) }
        let invariant = (1..<m).allSatisfy { y[($0 * n)..<($0 * n + n)] == y[0..<n] }
        placeInvariance.withLock { $0[shape] = invariant }
        return invariant
    }

    private static let placeInvariance = Mutex<[[Int]: Bool]>([:])

    /// c[M, N] = α · a[M, K] · b (b is [K, N], or [N, K] when `transposeB`), with leading dimensions given.
    package static func gemm(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                             into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1) {
        oneThread
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// c[M, N] = α · op(a) · op(b) + β · c, op transposing when asked; a is [M, K] (or [K, M]
    /// transposed), b is [K, N] (or [N, K]); all row-major and contiguous.
    package static func product(_ a: UnsafePointer<Float>, transposeA: Bool = false, _ b: UnsafePointer<Float>, transposeB: Bool = false,
                                into c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0) {
        oneThread
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), beta, c, Int32(n))
    }

    /// The same product in double precision (for optimisers that need it, such as L-BFGS).
    package static func product(_ a: UnsafePointer<Double>, transposeA: Bool = false, _ b: UnsafePointer<Double>, transposeB: Bool = false,
                                into c: UnsafeMutablePointer<Double>, m: Int, n: Int, k: Int, alpha: Double = 1, beta: Double = 0) {
        oneThread
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), beta, c, Int32(n))
    }
}
