import CBLAS
import Dispatch

/// Measures the machine's f32 matrix-product rate with a large `cblas_sgemm`: the ceiling against
/// which a model's achieved rate is judged.
public enum GEMMPeak {
    /// GFLOP/s of each of `repeats` n×n×n products with `threads` OpenBLAS threads.
    public static func samples(n: Int = 2048, threads: Int, repeats: Int = 10) -> [Double] {
        BLAS.setThreads(threads)
        let a = [Float](repeating: 0.5, count: n * n), b = a
        var c = [Float](repeating: 0, count: n * n)
        return (0..<repeats).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            c.withUnsafeMutableBufferPointer { out in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0,
                            out.baseAddress!, Int32(n))
            }
            return 2 * Double(n * n * n) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) / 1e9
        }
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
