import XCTest
@testable import Kernels

/// `Ranking.top` against a stable descending sort, on few and many values, ties and NaN.
final class RankingTests: XCTestCase {
    func testTopKIsTheStableDescendingArgsort() {
        var random = SeededRandom(seed: 3)
        for count in [0, 1, 7, 100, 5000] {
            // Few distinct values, so that ties are common.
            let values = (0..<count).map { _ in Float(Int(random.nextFloat() * 20)) }
            let expected = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            for k in [1, 3, 50, count] where k <= max(count, 1) {
                XCTAssertEqual(Ranking.top(k, of: values), Array(expected.prefix(k)), "\(count) values, k = \(k)")
                XCTAssertEqual(values.withUnsafeBufferPointer { Ranking.top(k, of: $0) }, Array(expected.prefix(k)), "heap, \(count) values, k = \(k)")
            }
            XCTAssertEqual(Ranking.top(of: values), expected)
        }
    }

    func testNaNRanksLastAndSlicesKeepTheirIndices() {
        let values: [Float] = [1, .nan, 3, 3, .nan, 2]
        XCTAssertEqual(Ranking.top(of: values), [2, 3, 5, 0, 1, 4])
        XCTAssertEqual(Ranking.top(2, of: values[3...]), [3, 5])
        XCTAssertEqual(values.withUnsafeBufferPointer { Ranking.top(6, of: $0) }, [2, 3, 5, 0, 1, 4])
    }
}
