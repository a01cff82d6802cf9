import XCTest
@testable import Kernels

/// OpenBLAS's products as `LinearWeight` uses them.
final class BLASTests: XCTestCase {
    /// `roundsEveryRowAlike` answers what placing a row at each place of a block among other rows
    /// shows: whether its result is the same bits at every place. (Haswell's kernels, which AMD
    /// CPUs run, round the second six of every twelve rows otherwise; older Intel kernels do not.)
    func testTheRowRoundingProbeMatchesARowMovedThroughTheBlock() {
        var random = SeededRandom(seed: 3)
        for (k, n) in [(70, 50), (384, 128)] {
            let m = LinearWeight.rowBlock
            let w = (0..<(n * k)).map { _ in random.nextFloat() - 0.5 }, row = (0..<k).map { _ in random.nextFloat() - 0.5 }
            var results: [[Float]] = []
            for place in 0..<m {
                var x = (0..<(m * k)).map { _ in random.nextFloat() - 0.5 }
                x.replaceSubrange((place * k)..<(place * k + k), with: row)
                var y = [Float](repeating: 0, count: m * n)
                y.withUnsafeMutableBufferPointer { BLAS.linear(x, rows: m, inputs: k, weight: w, outputs: n, bias: nil, into: $0.baseAddress!) }
                results.append(Array(y[(place * n)..<(place * n + n)]))
            }
            let alike = results.allSatisfy { $0 == results[0] }
            XCTAssertEqual(BLAS.roundsEveryRowAlike(rows: m, inputs: k, outputs: n), alike, "[\(k)] → \(n) on \(MatmulEngine.openblas.kernel)")
        }
    }
}
