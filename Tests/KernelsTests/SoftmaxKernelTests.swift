import XCTest
@testable import Kernels

/// The softmax kernel over the first n entries of strided rows: vector blocks masked past n, a
/// scalar remainder only when the stride is not a whole number of vectors.
final class SoftmaxKernelTests: XCTestCase {
    func testRowsMatchADoublePrecisionSoftmaxAndZeroWhatLiesPastN() {
        for (n, stride) in [(24, 32), (32, 32), (1, 16), (20, 37), (37, 37), (0, 16), (70, 80), (5, 5), (17, 17), (250, 256), (449, 512)] {
            let rows = 3
            var x = (0..<(rows * stride)).map { Float(sin(Double($0) * 0.7) * 9) }
            let input = x
            // Entries past n hold what a score buffer may hold there: anything, even NaN, or a
            // score larger than every real one.
            for r in 0..<rows { for i in n..<stride { x[r * stride + i] = i % 2 == 0 ? .nan : 10_000 } }
            x.withUnsafeMutableBufferPointer { RowKernels.softmaxRows($0.baseAddress!, rows: rows, n: n, stride: stride) }
            for r in 0..<rows {
                let row = input[(r * stride)..<(r * stride + n)].map(Double.init)
                let peak = row.max() ?? 0
                let sum = row.reduce(0) { $0 + exp($1 - peak) }
                for i in 0..<stride {
                    let expected = i < n ? exp(row[i] - peak) / sum : 0
                    XCTAssertEqual(Double(x[r * stride + i]), expected, accuracy: 1e-6, "n \(n), stride \(stride), row \(r), entry \(i)")
                }
            }
        }
    }
}
