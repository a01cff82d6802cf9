import COneDNN

extension MatmulEngine {
    /// c[M, N] = α · a[M, K] · b (b is [K, N], or [N, K] when `transposeB`), with leading
    /// dimensions given, on the calling thread: for products whose shape changes from call to call
    /// (attention over a sequence's own length, or a growing context), which have no weights to
    /// pack. The same operands and shape give the same bits on one engine.
    package func gemm(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                      into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1) {
        switch self {
        case .onednn:
            let status = ckpt_dnnl_gemm(transposeB ? 1 : 0, Int64(m), Int64(n), Int64(k), alpha, a, Int64(lda), b, Int64(ldb), c, Int64(ldc))
            precondition(status == 0, "oneDNN GEMM failed with status \(status)")
        case .openblas:
            BLAS.gemm(a, lda: lda, b, ldb: ldb, transposeB: transposeB, into: c, ldc: ldc, m: m, n: n, k: k, alpha: alpha)
        }
    }
}
