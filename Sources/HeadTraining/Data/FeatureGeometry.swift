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

    /// a · bᵀ: [a.rows, b.rows], through the matmul engine with `b` packed as weights: the same
    /// bits at any thread count.
    public static func similarities(_ a: FeatureMatrix, _ b: FeatureMatrix, threads: Int) -> [Float] {
        precondition(a.dimension == b.dimension, "FeatureGeometry: dimensions differ")
        var out = [Float](repeating: 0, count: a.rows * b.rows)
        guard a.rows > 0 && b.rows > 0 else { return out }
        let packed = b.values.withUnsafeBufferPointer { LinearWeight($0.baseAddress!, outputs: b.rows, inputs: b.dimension) }
        a.values.withUnsafeBufferPointer { x in
            out.withUnsafeMutableBufferPointer { y in packed.apply(x.baseAddress!, rows: a.rows, bias: nil, into: y.baseAddress!, threads: threads) }
        }
        return out
    }
}
