import CkptSupport
import Foundation
import Kernels

/// The input similarities of t-SNE, as openTSNE computes them: each point's k = ⌊3 × perplexity⌋
/// nearest neighbours (exact, squared Euclidean distances), a Gaussian over them whose precision is
/// bisected until its entropy is log(perplexity) (within 1e-8, at most 200 steps), then
/// symmetrised, P = (P + Pᵀ) / 2, and normalised to sum 1. Stored as compressed sparse rows.
struct Affinities: Sendable {
    /// Row i's entries are `columns[rowStart[i] ..< rowStart[i + 1]]` with `values` alongside.
    let rowStart: [Int]
    let columns: [Int32]
    let values: [Double]

    init(_ features: [Float], rows N: Int, dimension D: Int, perplexity: Double, threads: Int) {
        let k = min(N - 1, Int(3 * perplexity))
        let (neighbours, distances) = ExactNeighbours.nearest(k, features, rows: N, dimension: D, threads: threads)
        let conditional = Self.calibrated(distances, rows: N, k: k, perplexity: perplexity, threads: threads)
        // P + Pᵀ: every (i, j, p) and (j, i, p), merged by row and column.
        var entries: [(row: Int32, column: Int32, value: Double)] = []
        entries.reserveCapacity(2 * N * k)
        for i in 0..<N {
            for n in 0..<k {
                let j = neighbours[i * k + n], p = conditional[i * k + n]
                entries.append((Int32(i), j, p))
                entries.append((j, Int32(i), p))
            }
        }
        entries.sort { ($0.row, $0.column) < ($1.row, $1.column) }
        var counts = [Int](repeating: 0, count: N), columns: [Int32] = [], values: [Double] = []
        var total = 0.0, previous: (Int32, Int32)? = nil
        for entry in entries {
            if let previous, previous == (entry.row, entry.column) {
                values[values.count - 1] += entry.value
            } else {
                columns.append(entry.column)
                values.append(entry.value)
                counts[Int(entry.row)] += 1
            }
            previous = (entry.row, entry.column)
            total += entry.value
        }
        var rowStart = [0]
        for count in counts { rowStart.append(rowStart.last! + count) }
        self.rowStart = rowStart
        self.columns = columns
        self.values = values.map { $0 / total }
    }

    /// Row-normalised Gaussian weights over each row's k neighbour distances (squared), the
    /// precision τ of exp(−d² τ / 2) bisected as openTSNE's `compute_gaussian_perplexity`.
    private static func calibrated(_ distances: [Float], rows N: Int, k: Int, perplexity: Double, threads: Int) -> [Double] {
        var out = [Double](repeating: 0, count: N * k)
        let target = log(perplexity)
        out.withUnsafeMutableBufferPointer { buffer in
            let p = UncheckedSendable(buffer.baseAddress!)
            Parallel.forEachPart(of: 0..<N, threads: threads) { rows in
                var weights = [Double](repeating: 0, count: k)
                for i in rows {
                    let d = (0..<k).map { Double(distances[i * k + $0]) }
                    let nearest = d.min() ?? 0
                    var tau = 1.0, low = -Double.infinity, high = Double.infinity
                    for _ in 0..<200 {
                        var sum = 0.0
                        for j in 0..<k { weights[j] = exp(-(d[j] - nearest) * tau * 0.5); sum += weights[j] }
                        var spread = 0.0
                        for j in 0..<k { spread += weights[j] / sum * (d[j] - nearest) }
                        let entropy = log(sum) + tau * 0.5 * spread
                        let difference = entropy - target
                        if abs(difference) <= 1e-8 { break }
                        if difference > 0 {
                            low = tau
                            tau = high.isInfinite ? tau * 2 : (tau + high) / 2
                        } else {
                            high = tau
                            tau = low.isInfinite ? tau / 2 : (tau + low) / 2
                        }
                    }
                    let sum = weights.reduce(0, +)
                    for j in 0..<k { p.value[i * k + j] = weights[j] / sum }
                }
            }
        }
        return out
    }
}
