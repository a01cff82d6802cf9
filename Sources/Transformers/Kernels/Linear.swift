import CBLAS

/// Matrix products through OpenBLAS. Matrices are row-major, contiguous `[Float]` buffers.
public enum BLAS {
    /// Threads OpenBLAS may use for one product.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    /// y[M, N] = x[M, K] · w[N, K]ᵀ (+ bias[N]): a PyTorch `nn.Linear` over M rows at once. With
    /// `accumulate`, the result is added to y instead (a fused residual). One row runs as a
    /// matrix-vector product, the shape of decoding one token. With `threads` > 1 and enough rows,
    /// the work is split over the threads, each running its own product on one OpenBLAS thread:
    /// OpenBLAS's own split of one product made a 512-token GPT-2 prefill at 2 threads slower than
    /// PyTorch's (616 against 785 tokens/s). The split is over the outputs when w is the larger
    /// operand, else over the rows: each thread packs all of the operand that is not split (its
    /// copy for the kernel), so the smaller one is the one packed twice.
    public static func linear(_ x: UnsafePointer<Float>, rows m: Int, inputs k: Int, weight w: UnsafePointer<Float>, outputs n: Int,
                              bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                              threads: Int = 1) {
        guard threads > 1 && m >= 64 * threads else {
            linearPart(x, rows: m, inputs: k, weight: w, outputs: n, bias: bias, into: y, rowStride: n, accumulate: accumulate)
            return
        }
        let operands = LinearOperands(x: x, w: w, bias: bias, y: y)
        if n > m {
            Parallel.forEachPart(of: 0..<n, threads: threads) { part in
                linearPart(operands.x, rows: m, inputs: k, weight: operands.w + part.lowerBound * k, outputs: part.count,
                           bias: operands.bias.map { $0 + part.lowerBound }, into: operands.y + part.lowerBound, rowStride: n,
                           accumulate: accumulate)
            }
        } else {
            Parallel.forEachPart(of: 0..<m, threads: threads) { part in
                linearPart(operands.x + part.lowerBound * k, rows: part.count, inputs: k, weight: operands.w, outputs: n, bias: operands.bias,
                           into: operands.y + part.lowerBound * n, rowStride: n, accumulate: accumulate)
            }
        }
    }

    /// `linear` on the calling thread, with y's rows `rowStride` floats apart (a block of columns of a wider y).
    private static func linearPart(_ x: UnsafePointer<Float>, rows m: Int, inputs k: Int, weight w: UnsafePointer<Float>, outputs n: Int,
                                   bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, rowStride: Int, accumulate: Bool) {
        if let bias {
            for row in 0..<m {
                let out = y + row * rowStride
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
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, x, Int32(k), w, Int32(k), beta, y,
                        Int32(rowStride))
        }
    }

    /// c[M, N] = α · a[M, K] · b (b is [K, N], or [N, K] when `transposeB`), with leading dimensions given.
    static func gemm(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                     into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, alpha: Float = 1) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }

    /// c[M, N] = α · op(a) · op(b) + β · c, op transposing when asked; a is [M, K] (or [K, M]
    /// transposed), b is [K, N] (or [N, K]); all row-major and contiguous.
    public static func product(_ a: UnsafePointer<Float>, transposeA: Bool = false, _ b: UnsafePointer<Float>, transposeB: Bool = false,
                               into c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), beta, c, Int32(n))
    }

    /// The same product in double precision (for optimisers that need it, such as L-BFGS).
    public static func product(_ a: UnsafePointer<Double>, transposeA: Bool = false, _ b: UnsafePointer<Double>, transposeB: Bool = false,
                               into c: UnsafeMutablePointer<Double>, m: Int, n: Int, k: Int, alpha: Double = 1, beta: Double = 0) {
        cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n), beta, c, Int32(n))
    }
}

/// The pointers of one `linear` its row parts share; each part writes only its own rows of y.
private struct LinearOperands: @unchecked Sendable {
    let x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
}
