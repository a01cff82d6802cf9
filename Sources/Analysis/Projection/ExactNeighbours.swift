import CkptSupport
import Kernels

/// Exact nearest neighbours by squared Euclidean distance, through the matmul engine:
/// ‖x − y‖² = ‖x‖² + ‖y‖² − 2 x·y, in blocks of query rows.
enum ExactNeighbours {
    /// For each row, the `k` nearest other rows ([N, k], nearest first; ties to the lower index) and
    /// their squared distances (clamped at 0).
    static func nearest(_ k: Int, _ features: [Float], rows N: Int, dimension D: Int, threads: Int) -> (indices: [Int32], distances: [Float]) {
        let norms = (0..<N).map { i in (0..<D).reduce(Float(0)) { $0 + features[i * D + $1] * features[i * D + $1] } }
        var indices = [Int32](repeating: 0, count: N * k), distances = [Float](repeating: 0, count: N * k)
        let packed = features.withUnsafeBufferPointer { LinearWeight($0.baseAddress!, outputs: N, inputs: D) }
        let block = 256
        var products = [Float](repeating: 0, count: block * N)
        for first in stride(from: 0, to: N, by: block) {
            let rows = min(block, N - first)
            features.withUnsafeBufferPointer { x in
                products.withUnsafeMutableBufferPointer { y in
                    packed.apply(x.baseAddress! + first * D, rows: rows, bias: nil, into: y.baseAddress!, threads: threads)
                }
            }
            indices.withUnsafeMutableBufferPointer { ib in
                distances.withUnsafeMutableBufferPointer { db in
                    let (ib, db) = (UncheckedSendable(ib.baseAddress!), UncheckedSendable(db.baseAddress!))
                    let products = products
                    Parallel.forEachPart(of: 0..<rows, threads: threads) { part in
                        // Negated squared distances: the nearest rank highest.
                        var row = [Float](repeating: 0, count: N)
                        for r in part {
                            let i = first + r
                            for j in 0..<N { row[j] = j == i ? -.infinity : -max(0, norms[i] + norms[j] - 2 * products[r * N + j]) }
                            let best = row.withUnsafeBufferPointer { Ranking.top(k, of: $0) }
                            for (n, j) in best.enumerated() {
                                ib.value[i * k + n] = Int32(j)
                                db.value[i * k + n] = -row[j]
                            }
                        }
                    }
                }
            }
        }
        return (indices, distances)
    }
}
