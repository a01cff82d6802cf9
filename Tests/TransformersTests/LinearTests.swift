import XCTest
@testable import Transformers

/// `BLAS.linear`, within 1e-4 of a double-precision sum, and the same bit for bit on any number of
/// OpenBLAS threads (what makes `--threads` leave GPT-2's logits and generated ids unchanged).
final class LinearTests: XCTestCase {
    func testProductsOnOpenBLASThreadsGiveTheOneThreadResult() {
        // More rows than outputs, more outputs than rows, and the 512 rows of a long prefill.
        for (m, k, n) in [(301, 70, 50), (200, 70, 333), (512, 96, 384)] {
            checkThreads(m: m, k: k, n: n)
        }
    }

    func checkThreads(m: Int, k: Int, n: Int) {
        var seed: UInt64 = 7
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2001 - 1000) / 1000
        }
        let x = (0..<(m * k)).map { _ in next() }, w = (0..<(n * k)).map { _ in next() }, bias = (0..<n).map { _ in next() }
        let start = (0..<(m * n)).map { _ in next() }
        func run(threads: Int, accumulate: Bool) -> [Float] {
            BLAS.setThreads(threads)
            defer { BLAS.setThreads(1) }
            var y = start
            x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in bias.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { y in
                    BLAS.linear(x.baseAddress!, rows: m, inputs: k, weight: w.baseAddress!, outputs: n, bias: b.baseAddress!,
                                into: y.baseAddress!, accumulate: accumulate)
                }
            } } }
            return y
        }
        for accumulate in [false, true] {
            let one = run(threads: 1, accumulate: accumulate), context = "\(m) × \(k) → \(n), accumulate \(accumulate)"
            XCTAssertEqual(run(threads: 2, accumulate: accumulate), one, context)
            XCTAssertEqual(run(threads: 3, accumulate: accumulate), one, context)
            var worst: Float = 0
            for i in 0..<m {
                for j in 0..<n {
                    var sum = Double(bias[j]) + (accumulate ? Double(start[i * n + j]) : 0)
                    for t in 0..<k { sum += Double(x[i * k + t]) * Double(w[j * k + t]) }
                    worst = max(worst, abs(Float(sum) - one[i * n + j]))
                }
            }
            XCTAssertLessThan(worst, 1e-4, context)
        }
    }

    /// Ending OpenBLAS's idle threads (before our own kernels run on the cores) leaves products
    /// exact: the next threaded product starts them again.
    func testProductsAfterEndingOpenBLASThreads() {
        let m = 256, k = 256, n = 256
        let x = (0..<(m * k)).map { Float(($0 * 7) % 23) / 23 - 0.5 }, w = (0..<(n * k)).map { Float(($0 * 5) % 19) / 19 - 0.5 }
        func product() -> [Float] {
            var y = [Float](repeating: .nan, count: m * n)
            x.withUnsafeBufferPointer { x in w.withUnsafeBufferPointer { w in y.withUnsafeMutableBufferPointer { y in
                BLAS.linear(x.baseAddress!, rows: m, inputs: k, weight: w.baseAddress!, outputs: n, bias: nil, into: y.baseAddress!)
            } } }
            return y
        }
        BLAS.setThreads(2)
        defer { BLAS.setThreads(1) }
        let before = product()
        XCTAssertTrue(BLAS.endIdleThreads(), "the Debian OpenBLAS (pthreads) exports blas_thread_shutdown_")
        XCTAssertTrue(BLAS.endIdleThreads())   // twice in a row: nothing left to end
        XCTAssertEqual(product(), before)
        XCTAssertEqual(before[0], (0..<k).reduce(Float(0)) { $0 + x[$1] * w[$1] }, accuracy: 1e-3)
    }
}
