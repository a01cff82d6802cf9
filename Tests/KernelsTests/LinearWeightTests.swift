import XCTest
@testable import Kernels

/// `LinearWeight` on each engine: within 1e-4 of a double-precision sum; the same bits at any
/// thread count; and each row's result independent of the other rows of the product (its batch
/// mates and the row count), which `embed --batch-size`, shards and a server's batches rest on.
final class LinearWeightTests: XCTestCase {
    /// Shapes with one partial panel and one or more blocks of rows, and MiniLM's and GPT-2's widths.
    static let shapes = [(k: 70, n: 50), (k: 96, n: 333), (k: 384, n: 1152), (k: 768, n: 768)]

    func testProductsMatchADoublePrecisionSum() throws {
        for engine in try engines() {
            for (k, n) in Self.shapes {
                let problem = Problem(m: 2 * LinearWeight.rowBlock + 5, k: k, n: n)
                for accumulate in [false, true] {
                    let y = problem.run(engine: engine, threads: 1, accumulate: accumulate)
                    // Every fifth row, the last partial block's rows among them.
                    let worst = stride(from: 0, to: problem.m, by: 5).flatMap { r in (0..<n).map { j in abs(Double(y[r * n + j]) - problem.exact(r, j, accumulate)) } }.max()!
                    XCTAssertLessThan(worst, 1e-4, "\(engine) [\(problem.m), \(k)] → \(n), accumulate \(accumulate): max difference \(worst)")
                }
            }
        }
    }

    func testThreadCountsGiveTheSameBits() throws {
        for engine in try engines() {
            for (k, n) in Self.shapes {
                // A single row (one decoded token: spread over panels) and several blocks with a short last one.
                for m in [1, 3 * LinearWeight.rowBlock + 17] {
                    let problem = Problem(m: m, k: k, n: n)
                    for accumulate in [false, true] {
                        let one = problem.run(engine: engine, threads: 1, accumulate: accumulate)
                        for threads in [2, 3] {
                            XCTAssertEqual(problem.run(engine: engine, threads: threads, accumulate: accumulate), one,
                                           "\(engine) [\(m), \(k)] → \(n) at \(threads) threads, accumulate \(accumulate)")
                        }
                    }
                }
            }
        }
    }

    func testARowsResultDoesNotDependOnTheOtherRows() throws {
        for engine in try engines() {
            for (k, n) in Self.shapes {
                let full = Problem(m: 2 * LinearWeight.rowBlock, k: k, n: n)
                let reference = full.run(engine: engine, threads: 2, accumulate: true)
                // Every row count up to two blocks, each product starting at a different row of the full one.
                // A product of one row (decoding's shape) may round differently from the same row in a
                // matrix product, except on oneDNN's AVX-512 kernels.
                for m in (engine == .openblas || !CPUInfo.current().features.contains("avx512f") || oneDNNLimitedToAVX2 ? 2 : 1)...(2 * LinearWeight.rowBlock) {
                    let offset = (m * 7) % (2 * LinearWeight.rowBlock - m + 1)
                    let part = full.rows(offset..<(offset + m))
                    let y = part.run(engine: engine, threads: 2, accumulate: true)
                    let expected = Array(reference[(offset * n)..<((offset + m) * n)])
                    if y != expected {
                        XCTFail("\(engine) [\(k)] → \(n): rows \(offset)..<\(offset + m) as a product of \(m) rows differ from the same rows in \(full.m)")
                        break
                    }
                }
            }
        }
    }

    func testWeightsKeepTheirShapeAndEngine() throws {
        for engine in try engines() {
            let weight = LinearWeight([Float](repeating: 1, count: 300 * 20), outputs: 300, inputs: 20, engine: engine)
            XCTAssertEqual(weight.engine, engine)
            XCTAssertEqual(weight.outputs, 300)
            XCTAssertEqual(weight.inputs, 20)
            XCTAssertGreaterThanOrEqual(weight.bytes, 300 * 20 * 4)
        }
    }

    /// Both engines where oneDNN runs (it does wherever libdnnl does: on any x86-64 CPU).
    private func engines() throws -> [MatmulEngine] {
        XCTAssertTrue(OneDNNProducts.available, "oneDNN cannot run products here")
        return MatmulEngine.allCases
    }
}

/// Whether oneDNN is held to AVX2 by its environment variable (as `make test` runs it once).
private let oneDNNLimitedToAVX2 = ProcessInfo.processInfo.environment["ONEDNN_MAX_CPU_ISA"]?.uppercased().hasPrefix("AVX2") ?? false

/// x [m, k], w [n, k], bias [n] and a starting y [m, n] of reproducible values in [-1, 1].
private struct Problem {
    let m: Int, k: Int, n: Int
    var x: [Float], w: [Float], bias: [Float], start: [Float]

    init(m: Int, k: Int, n: Int) {
        self.m = m
        self.k = k
        self.n = n
        var random = SeededRandom(seed: UInt64(m * 1_000_003 + k * 1009 + n))
        func values(_ count: Int) -> [Float] { (0..<count).map { _ in random.nextFloat() * 2 - 1 } }
        x = values(m * k)
        w = values(n * k)
        bias = values(n)
        start = values(m * n)
    }

    /// The same problem's rows `range` (x and the starting y).
    func rows(_ range: Range<Int>) -> Problem {
        var part = self
        part = Problem(copying: self, rows: range)
        return part
    }

    private init(copying p: Problem, rows range: Range<Int>) {
        m = range.count
        k = p.k
        n = p.n
        x = Array(p.x[(range.lowerBound * k)..<(range.upperBound * k)])
        w = p.w
        bias = p.bias
        start = Array(p.start[(range.lowerBound * n)..<(range.upperBound * n)])
    }

    func run(engine: MatmulEngine, threads: Int, accumulate: Bool) -> [Float] {
        let weight = LinearWeight(w, outputs: n, inputs: k, engine: engine)
        var y = accumulate ? start : [Float](repeating: .nan, count: m * n)
        x.withUnsafeBufferPointer { x in
            bias.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { y in
                    weight.apply(x.baseAddress!, rows: m, bias: b.baseAddress!, into: y.baseAddress!, accumulate: accumulate, threads: threads)
                }
            }
        }
        return y
    }

    func exact(_ r: Int, _ j: Int, _ accumulate: Bool) -> Double {
        var sum = Double(bias[j]) + (accumulate ? Double(start[r * n + j]) : 0)
        for i in 0..<k { sum += Double(x[r * k + i]) * Double(w[j * k + i]) }
        return sum
    }
}
