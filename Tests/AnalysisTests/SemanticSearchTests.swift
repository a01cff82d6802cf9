import XCTest
import Kernels
import HeadTraining
@testable import Analysis

/// Search in query blocks: every query gets the hits it gets when searched alone, whichever block
/// it lands in and at any thread count, and the hits are the brute-force top k.
final class SemanticSearchTests: XCTestCase {
    func matrix(rows: Int, dimension: Int, seed: UInt64) -> FeatureMatrix {
        var random = SeededRandom(seed: seed)
        return FeatureMatrix(rows: rows, dimension: dimension, values: (0..<(rows * dimension)).map { _ in random.nextFloat() * 2 - 1 })
    }

    func testAQueryGetsItsOwnHitsInAnyBlock() {
        // 70,000 corpus rows make blocks of 64 queries, so 150 queries span three blocks, the last short.
        let corpus = matrix(rows: 70_000, dimension: 24, seed: 1), queries = matrix(rows: 150, dimension: 24, seed: 2)
        let search = SemanticSearch(corpus: corpus)
        let together = search.search(queries, top: 5, threads: 2)
        XCTAssertEqual(search.search(queries, top: 5, threads: 1), together, "the hits depend on the thread count")
        let unitCorpus = FeatureGeometry.normalised(corpus), unitQueries = FeatureGeometry.normalised(queries)
        for q in [0, 63, 64, 127, 128, 149] {
            let alone = FeatureMatrix(rows: 1, dimension: 24, values: Array(queries.values[(q * 24)..<((q + 1) * 24)]))
            XCTAssertEqual(search.search(alone, top: 5, threads: 2)[0], together[q], "query \(q) differs in its block")
            // The brute-force top 5 in float64, ties within 1e-5 allowed to trade places.
            let scores = (0..<corpus.rows).map { i in
                (0..<24).reduce(0.0) { $0 + Double(unitCorpus.values[i * 24 + $1]) * Double(unitQueries.values[q * 24 + $1]) }
            }
            let best = scores.indices.sorted { scores[$0] > scores[$1] }
            for (rank, hit) in together[q].enumerated() {
                XCTAssertEqual(Double(hit.score), scores[best[rank]], accuracy: 1e-5, "query \(q) rank \(rank)")
                XCTAssertEqual(scores[hit.index], scores[best[rank]], accuracy: 1e-5, "query \(q) rank \(rank): index \(hit.index)")
            }
        }
    }
}
