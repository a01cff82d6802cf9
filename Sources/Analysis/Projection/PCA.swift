import CkptSupport
import Kernels

/// Principal component analysis of feature rows, as scikit-learn's `PCA`: columns centred, the
/// leading eigenvectors of the covariance, coordinates = centred rows · components. Computed in
/// double precision; each entry of the covariance is one thread's dot product, so the result is the
/// same bits at any thread count. Sign convention (scikit-learn's `svd_flip` on the components):
/// the largest-magnitude loading of each component is positive.
public struct PCA: Sendable {
    /// [components, D] row-major, unit rows.
    public let components: [Double]
    /// Variance along each component (eigenvalue / (N − 1)).
    public let explainedVariance: [Double]
    public let mean: [Double]
    public let dimension: Int

    /// Fits `count` components to `rows` rows of `dimension` features (row-major).
    public init(_ values: [Float], rows N: Int, dimension D: Int, components count: Int = 2, threads: Int) {
        precondition(values.count == N * D && count <= D && N >= 2, "PCA: need [N ≥ 2, D] values and at most D components")
        dimension = D
        var mean = [Double](repeating: 0, count: D)
        for n in 0..<N { for j in 0..<D { mean[j] += Double(values[n * D + j]) } }
        for j in 0..<D { mean[j] /= Double(N) }
        self.mean = mean
        // Centred columns, one after another: each covariance entry is a dot product of two of them.
        var columns = [Double](repeating: 0, count: N * D)
        for n in 0..<N { for j in 0..<D { columns[j * N + n] = Double(values[n * D + j]) - mean[j] } }
        var covariance = [Double](repeating: 0, count: D * D)
        columns.withUnsafeBufferPointer { x in
            covariance.withUnsafeMutableBufferPointer { c in
                let (x, c) = (UncheckedSendable(x.baseAddress!), UncheckedSendable(c.baseAddress!))
                Parallel.forEachIndex(D, threads: threads) { i in
                    let a = x.value + i * N
                    for j in i..<D {
                        let b = x.value + j * N
                        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, n = 0
                        while n + 4 <= N {
                            s0 += a[n] * b[n]; s1 += a[n + 1] * b[n + 1]; s2 += a[n + 2] * b[n + 2]; s3 += a[n + 3] * b[n + 3]
                            n += 4
                        }
                        while n < N { s0 += a[n] * b[n]; n += 1 }
                        c.value[i * D + j] = (s0 + s1) + (s2 + s3)
                        c.value[j * D + i] = c.value[i * D + j]
                    }
                }
            }
        }
        let (vectors, values) = SymmetricEigen.leading(count, of: covariance, size: D)
        var components = vectors
        for c in 0..<count {
            let row = components[(c * D)..<((c + 1) * D)]
            let largest = row.indices.max { abs(components[$0]) < abs(components[$1]) }!
            if components[largest] < 0 { for j in row.indices { components[j] = -components[j] } }
        }
        self.components = components
        explainedVariance = values.map { $0 / Double(N - 1) }
    }

    /// Coordinates of rows (row-major [N, D]) on the components: [N, components].
    public func transform(_ values: [Float], rows N: Int) -> [Double] {
        let D = dimension, K = components.count / D
        var out = [Double](repeating: 0, count: N * K)
        for n in 0..<N {
            for c in 0..<K {
                var s = 0.0
                for j in 0..<D { s += (Double(values[n * D + j]) - mean[j]) * components[c * D + j] }
                out[n * K + c] = s
            }
        }
        return out
    }
}
