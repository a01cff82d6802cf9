import CkptSupport
import Kernels

/// Cosine geometry of feature rows: unit-length rows and their pairwise dot products.
public enum FeatureGeometry {
    /// Each row divided by its L2 norm (a zero row stays zero), as scikit-learn's `normalize`.
    public static func normalised(_ features: FeatureMatrix) -> FeatureMatrix {
        let D = features.dimension
        var values = features.values
        for row in 0..<features.rows {
            var squares: Double = 0
            for j in 0..<D { let v = Double(values[row * D + j]); squares += v * v }
            guard squares > 0 else { continue }
            let scale = Float(1 / squares.squareRoot())
            for j in 0..<D { values[row * D + j] *= scale }
        }
        return FeatureMatrix(rows: features.rows, dimension: D, values: values)
    }

    /// a · bᵀ: [a.rows, b.rows]. Rows of `a` go in blocks of a size fixed by nothing but the row
    /// count, shared among `threads`, so the result does not depend on the thread count.
    public static func similarities(_ a: FeatureMatrix, _ b: FeatureMatrix, threads: Int) -> [Float] {
        precondition(a.dimension == b.dimension, "FeatureGeometry: dimensions differ")
        var out = [Float](repeating: 0, count: a.rows * b.rows)
        guard a.rows > 0 && b.rows > 0 else { return out }
        let (D, N) = (a.dimension, b.rows)
        a.values.withUnsafeBufferPointer { x in b.values.withUnsafeBufferPointer { w in out.withUnsafeMutableBufferPointer { y in
            let (x, w, y) = (UncheckedSendable(x.baseAddress!), UncheckedSendable(w.baseAddress!), UncheckedSendable(y.baseAddress!))
            let block = 64
            Parallel.forEachIndex((a.rows + block - 1) / block, threads: threads) { b in
                let rows = (b * block)..<min(a.rows, (b + 1) * block)
                BLAS.linear(x.value + rows.lowerBound * D, rows: rows.count, inputs: D, weight: w.value, outputs: N,
                            bias: nil, into: y.value + rows.lowerBound * N)
            }
        } } }
        return out
    }
}
