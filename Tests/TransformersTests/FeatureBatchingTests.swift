import XCTest
@testable import Transformers

/// How `FeatureExtractor` cuts length-sorted texts into batches: at most so many texts, and at most
/// so many padded tokens unless a text alone has more.
final class FeatureBatchingTests: XCTestCase {
    func testBatchesHoldAtMostTheTokenBudget() {
        let lengths = [300, 128, 128, 128, 40, 40, 40, 40, 40, 40, 40, 3]
        let batches = FeatureExtractor.batches(Array(lengths.indices), lengths: lengths, texts: 32, tokens: 256)
        XCTAssertEqual(batches, [[0], [1, 2], [3, 4], [5, 6, 7, 8, 9, 10], [11]])
    }

    func testBatchesHoldAtMostTheTextCount() {
        let lengths = [Int](repeating: 3, count: 10)
        let batches = FeatureExtractor.batches(Array(lengths.indices), lengths: lengths, texts: 4, tokens: 256)
        XCTAssertEqual(batches, [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
    }

    func testBatchesFollowTheOrderGiven() {
        let lengths = [5, 200, 0, 80]
        let batches = FeatureExtractor.batches([1, 3, 0, 2], lengths: lengths, texts: 32, tokens: 256)
        XCTAssertEqual(batches, [[1], [3, 0, 2]])
    }
}
