import CBLAS
import Dispatch

/// Measures the machine's f32 matrix-product rate with one large `cblas_sgemm` (best of `repeats`),
/// the ceiling against which a model's achieved rate is judged.
public enum GEMMPeak {
    /// GFLOP/s of an n×n×n product with `threads` OpenBLAS threads.
    public static func measure(n: Int = 2048, threads: Int, repeats: Int = 5) -> Double {
        BLAS.setThreads(threads)
        let a = [Float](repeating: 0.5, count: n * n), b = a
        var c = [Float](repeating: 0, count: n * n)
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            c.withUnsafeMutableBufferPointer { out in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0,
                            out.baseAddress!, Int32(n))
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(n * n * n) / best / 1e9
    }
}

extension BERTConfig {
    /// Matrix-product FLOPs of one forward pass over a padded batch [B, T]: the Q/K/V, output and
    /// feed-forward projections and the two attention products, per layer (2 per multiply-add).
    public func forwardFLOPs(batch B: Int, length T: Int) -> Double {
        let N = Double(B * T), C = Double(hiddenSize), I = Double(intermediateSize)
        let projections = 2 * N * (4 * C * C + 2 * C * I)
        let attention = 2 * 2 * Double(B) * Double(T) * Double(T) * C
        return Double(layers) * (projections + attention)
    }
}
