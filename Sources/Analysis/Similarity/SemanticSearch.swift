import CkptSupport
import HeadTraining
import Kernels

/// Exact semantic search: every corpus row scored against each query by cosine similarity, through
/// the matmul engine with the (unit-length) corpus packed once as weights, and the best `k` kept.
/// Brute force, so the result is the true top k; a query's scores are the same bits at any thread
/// count and whichever other queries it is searched with.
public struct SemanticSearch: Sendable {
    /// One result: the corpus row and its cosine similarity to the query.
    public struct Hit: Sendable, Equatable {
        public let index: Int
        public let score: Float
    }

    private let corpus: LinearWeight
    public let count: Int
    public let dimension: Int

    /// Packs `corpus` rows, L2-normalised, for products.
    public init(corpus: FeatureMatrix) {
        let unit = FeatureGeometry.normalised(corpus)
        count = unit.rows
        dimension = unit.dimension
        self.corpus = unit.values.withUnsafeBufferPointer { LinearWeight($0.baseAddress!, outputs: max(1, unit.rows), inputs: unit.dimension) }
    }

    /// The best `k` corpus rows for each query row, highest cosine first (ties to the lower index).
    public func search(_ queries: FeatureMatrix, top k: Int, threads: Int) -> [[Hit]] {
        precondition(queries.dimension == dimension, "SemanticSearch: query and corpus dimensions differ")
        guard count > 0 else { return Array(repeating: [], count: queries.rows) }
        if queries.rows == 1 {
            // A lone query runs as two rows (itself twice): a one-row product may take another
            // kernel (OpenBLAS's matrix-vector one) whose last bits differ from the row's in a block.
            let twice = FeatureMatrix(rows: 2, dimension: dimension, values: queries.values + queries.values)
            return [search(twice, top: k, threads: threads)[0]]
        }
        let unit = FeatureGeometry.normalised(queries), N = count
        // Query blocks of whole row blocks of the product (a shorter one is padded to a whole one on
        // some engines, so 83 rows cost what 128 do), up to 256 rows or 32 MB of scores; at least
        // one row block, whose scores are a sixth of the packed corpus's size.
        let rowBlock = LinearWeight.rowBlock
        let block = max(rowBlock, min(256, (1 << 23) / N) / rowBlock * rowBlock)
        var results = [[Hit]](repeating: [], count: queries.rows)
        var scores = [Float](repeating: 0, count: block * N)
        for first in stride(from: 0, to: queries.rows, by: block) {
            let rows = min(block, queries.rows - first)
            unit.values.withUnsafeBufferPointer { x in
                scores.withUnsafeMutableBufferPointer { y in
                    corpus.apply(x.baseAddress! + first * dimension, rows: rows, bias: nil, into: y.baseAddress!, threads: threads)
                }
            }
            let found = ResultSlots<[Hit]>(count: rows)
            scores.withUnsafeBufferPointer { all in
                let all = UncheckedSendable(all)
                Parallel.forEachIndex(rows, threads: threads) { r in
                    let row = UnsafeBufferPointer(rebasing: all.value[(r * N)..<((r + 1) * N)])
                    found.set(r, .success(Ranking.top(k, of: row).map { Hit(index: $0, score: row[$0]) }))
                }
            }
            for (r, hits) in found.values.enumerated() { results[first + r] = try! hits!.get() }
        }
        return results
    }
}
