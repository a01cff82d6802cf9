import XCTest
import CkptSupport
@testable import Kernels

/// `LinearWeight` on each engine and in each precision: within 1e-4 of a double-precision sum of
/// the values the precision multiplies (bf16-rounded, or int8-quantized, then dequantized); the
/// same bits at any thread count; and each row's result independent of the other rows of the
/// product (its batch mates and the row count), which `embed --batch-size`, shards and a server's
/// batches rest on.
final class LinearWeightTests: XCTestCase {
    /// Shapes with one partial panel and one or more blocks of rows, and MiniLM's and GPT-2's widths.
    static let shapes = [(k: 70, n: 50), (k: 96, n: 333), (k: 384, n: 1152), (k: 768, n: 768)]

    func testProductsMatchADoublePrecisionSum() throws {
        for (engine, precision) in try routes() {
            for (k, n) in Self.shapes {
                let problem = Problem(m: 2 * LinearWeight.rowBlock + 5, k: k, n: n)
                let operands = problem.operands(precision)
                // Without accumulating, int8's sums take the output's place (dequantized in place), with a bias or none.
                for (accumulate, withBias) in [(false, true), (false, false), (true, true)] {
                    let y = problem.run(engine: engine, precision: precision, threads: 1, accumulate: accumulate, withBias: withBias)
                    // Every fifth row, the last partial block's rows among them.
                    let worst = stride(from: 0, to: problem.m, by: 5).flatMap { r in
                        (0..<n).map { j in abs(Double(y[r * n + j]) - problem.exact(r, j, accumulate, withBias: withBias, operands)) }
                    }.max()!
                    // int8 on engines without its instructions sums integers in f32, exact below 2^24.
                    let tolerance = precision == .int8 ? 1e-3 : 1e-4
                    XCTAssertLessThan(worst, tolerance,
                                      "\(engine) \(precision) [\(problem.m), \(k)] → \(n), accumulate \(accumulate), bias \(withBias): max difference \(worst)")
                }
            }
        }
    }

    func testReducedPrecisionsStayNearF32() throws {
        for (engine, precision) in try routes() where precision != .f32 {
            let problem = Problem(m: 40, k: 384, n: 333)
            let y = problem.run(engine: engine, precision: precision, threads: 1, accumulate: false)
            let f32 = problem.run(engine: engine, precision: .f32, threads: 1, accumulate: false)
            let error = zip(y, f32).map { Double(abs($0 - $1)) }.max()!, scale = f32.map { Double(abs($0)) }.max()!
            // bf16 keeps 8 bits of each operand, int8 about 7.
            XCTAssertLessThan(error / scale, precision == .bf16 ? 0.02 : 0.05, "\(engine) \(precision)")
            XCTAssertGreaterThan(error, 0, "\(engine) \(precision) gave the f32 result: nothing was rounded")
        }
    }

    func testNativeReducedPrecisionsWhereTheCPUHasThem() throws {
        let features = CPUInfo.current().features
        guard !oneDNNLimitedToAVX2 else { return }
        if features.contains("avx512f") {
            XCTAssertTrue(LinearWeight([Float](repeating: 1, count: 64), outputs: 8, inputs: 8, precision: .bf16, engine: .onednn).native)
        }
        if features.contains("avx512_vnni") {
            XCTAssertTrue(LinearWeight([Float](repeating: 1, count: 64), outputs: 8, inputs: 8, precision: .int8, engine: .onednn).native)
        }
        for precision in [Precision.bf16, .int8] {
            XCTAssertFalse(LinearWeight([Float](repeating: 1, count: 64), outputs: 8, inputs: 8, precision: precision, engine: .openblas).native)
        }
    }

    func testQuantizedWeightsGiveTheResultOfQuantizingAtLoad() throws {
        let problem = Problem(m: 70, k: 96, n: 200)
        let quantized = problem.w.withUnsafeBufferPointer { Int8Weights(quantizing: $0.baseAddress!, outputs: 200, inputs: 96) }
        XCTAssertEqual(quantized.values.map { abs(Int($0)) }.max(), 127)
        for engine in try engines() {
            let atLoad = problem.run(engine: engine, precision: .int8, threads: 2, accumulate: false)
            let weight = LinearWeight(.int8(quantized), outputs: 200, inputs: 96, precision: .int8, engine: engine)
            XCTAssertEqual(problem.run(weight, threads: 2, accumulate: false), atLoad, "\(engine)")
        }
    }

    func testThreadCountsGiveTheSameBits() throws {
        for (engine, precision) in try routes() {
            for (k, n) in Self.shapes {
                // A single row (one decoded token: spread over panels) and several blocks with a short
                // last one (as whole rows at one thread where the weights are sliceable, as panels at more).
                for m in [1, 3 * LinearWeight.rowBlock + 17] {
                    let problem = Problem(m: m, k: k, n: n)
                    for accumulate in [false, true] {
                        let one = problem.run(engine: engine, precision: precision, threads: 1, accumulate: accumulate)
                        for threads in [2, 3] {
                            XCTAssertEqual(problem.run(engine: engine, precision: precision, threads: threads, accumulate: accumulate), one,
                                           "\(engine) \(precision) [\(m), \(k)] → \(n) at \(threads) threads, accumulate \(accumulate)")
                        }
                    }
                }
            }
        }
    }

    func testARowsResultDoesNotDependOnTheOtherRows() throws {
        for (engine, precision) in try routes() {
            for (k, n) in Self.shapes {
                let full = Problem(m: 2 * LinearWeight.rowBlock, k: k, n: n)
                let weight = LinearWeight(full.w, outputs: n, inputs: k, precision: precision, engine: engine)
                let reference = full.run(weight, threads: 2, accumulate: true)
                // Every row count up to two blocks, each product starting at a different row of the full one.
                // A product of one row (decoding's shape) may round differently from the same row in a
                // matrix product, except on oneDNN's AVX-512 kernels.
                let singleRowsMatch = engine == .onednn && CPUInfo.current().features.contains("avx512f") && !oneDNNLimitedToAVX2
                for m in (singleRowsMatch ? 1 : 2)...(2 * LinearWeight.rowBlock) {
                    let offset = (m * 7) % (2 * LinearWeight.rowBlock - m + 1)
                    let part = full.rows(offset..<(offset + m))
                    let y = part.run(weight, threads: 2, accumulate: true)
                    let expected = Array(reference[(offset * n)..<((offset + m) * n)])
                    if y != expected {
                        XCTFail("\(engine) \(precision) [\(k)] → \(n): rows \(offset)..<\(offset + m) as a product of \(m) rows differ from the same rows in \(full.m)")
                        break
                    }
                }
            }
        }
    }

    func testOneRowOverAPackPerPanelGivesTheRowsBitsInABlock() throws {
        // More outputs than are packed whole (a vocabulary's, as GPT-2's logits): a pack per panel,
        // which the one-row loop reads in runs that cross from one pack to the next.
        let (k, n) = (64, LinearWeight.wholeRowsOutputs + 108)
        let full = Problem(m: LinearWeight.rowBlock, k: k, n: n)
        let singleRowsMatch = CPUInfo.current().features.contains("avx512f") && !oneDNNLimitedToAVX2
        for (engine, precision) in try routes() {
            let weight = LinearWeight(full.w, outputs: n, inputs: k, precision: precision, engine: engine)
            XCTAssertFalse(weight.runsWholeRows)
            if engine == .onednn && singleRowsMatch && weight.native {
                XCTAssertTrue(weight.runsRowLoop, "\(precision)")
            }
            let reference = full.run(weight, threads: 2, accumulate: true)
            for row in [0, 37] {
                let one = full.rows(row..<(row + 1)).run(weight, threads: 1, accumulate: true)
                if engine == .onednn && singleRowsMatch {
                    XCTAssertEqual(one, Array(reference[(row * n)..<((row + 1) * n)]), "\(engine) \(precision) row \(row)")
                }
                for threads in [2, 3] {
                    XCTAssertEqual(full.rows(row..<(row + 1)).run(weight, threads: threads, accumulate: true), one,
                                   "\(engine) \(precision) row \(row) at \(threads) threads")
                }
            }
        }
    }

    func testWholeRowsGiveThePanelsBits() throws {
        let avx512 = CPUInfo.current().features.contains("avx512f") && !oneDNNLimitedToAVX2
        for precision in Precision.allCases {
            let problem = Problem(m: 8 * LinearWeight.rowBlock + 9, k: 384, n: 1152)
            let weight = LinearWeight(problem.w, outputs: 1152, inputs: 384, precision: precision, engine: .onednn)
            // oneDNN's AVX-512 f32 kernel sums each output in the same order whatever the panel's width.
            if avx512 && precision == .f32 { XCTAssertTrue(weight.runsWholeRows, "MiniLM's f32 weights were not sliceable") }
            guard weight.runsWholeRows else { continue }
            // 9 blocks: whole rows at 1 and 2 threads (runs of four blocks, then the short last
            // one), panels at 3.
            let panels = problem.run(weight, threads: 3, accumulate: true)
            for threads in [1, 2] {
                XCTAssertEqual(problem.run(weight, threads: threads, accumulate: true), panels, "\(precision) at \(threads) threads")
            }
            // Whole rows at 1 thread, panels at 2: 3 blocks (a run of two, then the short one), and
            // 6 blocks (a run of four, a run of one, then the short one).
            for fullBlocks in [2, 5] {
                let few = problem.rows(0..<(fullBlocks * LinearWeight.rowBlock + 5))
                XCTAssertEqual(few.run(weight, threads: 1, accumulate: true), few.run(weight, threads: 2, accumulate: true),
                               "\(precision), \(fullBlocks + 1) blocks")
            }
        }
    }

    /// f32 and bf16 weights read back as the products read them (OpenBLAS's plain panels, oneDNN's
    /// blocks of 64 outputs or plain layouts): in a pack of all outputs and in packs per panel with a narrow last
    /// one, k not a multiple of oneDNN's blocks of k. int8 weights are quantized: not read back.
    func testReadableWeightsGiveBackTheValuesTheProductsRead() throws {
        for (n, k) in [(200, 37), (LinearWeight.wholeRowsOutputs + 70, 24)] {
            let problem = Problem(m: 1, k: k, n: n)
            for (engine, precision) in try routes() {
                let weight = LinearWeight(problem.w, outputs: n, inputs: k, precision: precision, engine: engine)
                guard precision != .int8 else {
                    XCTAssertFalse(weight.weightsReadable, "\(engine): int8 weights read back")
                    continue
                }
                // oneDNN's f32 layouts: blocks of 64 outputs (AVX-512), plain (its GEMM, on AVX2).
                if engine == .openblas || precision == .f32 { XCTAssertTrue(weight.weightsReadable, "\(engine) \(precision) [\(n), \(k)]") }
                guard weight.weightsReadable else { continue }
                let row = [Float](repeating: .nan, count: k)
                let read = (0..<n).flatMap { output in
                    var row = row
                    row.withUnsafeMutableBufferPointer { weight.copyWeights(ofOutput: output, into: $0.baseAddress!) }
                    return row
                }
                XCTAssertEqual(read, problem.operands(precision).w.map(Float.init), "\(engine) \(precision) [\(n), \(k)]")
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

    /// Every engine in every precision.
    private func routes() throws -> [(MatmulEngine, Precision)] {
        try engines().flatMap { engine in Precision.allCases.map { (engine, $0) } }
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

    func run(engine: MatmulEngine, precision: Precision, threads: Int, accumulate: Bool, withBias: Bool = true) -> [Float] {
        run(LinearWeight(w, outputs: n, inputs: k, precision: precision, engine: engine), threads: threads, accumulate: accumulate, withBias: withBias)
    }

    func run(_ weight: LinearWeight, threads: Int, accumulate: Bool, withBias: Bool = true) -> [Float] {
        var y = accumulate ? start : [Float](repeating: .nan, count: m * n)
        x.withUnsafeBufferPointer { x in
            bias.withUnsafeBufferPointer { b in
                y.withUnsafeMutableBufferPointer { y in
                    weight.apply(x.baseAddress!, rows: m, bias: withBias ? b.baseAddress! : nil, into: y.baseAddress!, accumulate: accumulate,
                                 threads: threads)
                }
            }
        }
        return y
    }

    /// x and w as the precision multiplies them: as they are, rounded to bf16, or quantized
    /// (x per row, u8 asymmetric; w per output, s8 symmetric) and dequantized.
    func operands(_ precision: Precision) -> (x: [Double], w: [Double]) {
        switch precision {
        case .f32:
            return (x.map(Double.init), w.map(Double.init))
        case .bf16:
            func bf16(_ v: Float) -> Double {
                let bits = v.bitPattern, rounded = (bits &+ 0x7fff &+ ((bits >> 16) & 1)) & 0xffff_0000
                return Double(Float(bitPattern: rounded))
            }
            return (x.map(bf16), w.map(bf16))
        case .int8:
            let weights = w.withUnsafeBufferPointer { Int8Weights(quantizing: $0.baseAddress!, outputs: n, inputs: k) }
            let dequantizedW = weights.values.indices.map { Double(weights.values[$0]) * Double(weights.scales[$0 / k]) }
            let dequantizedX = (0..<m).flatMap { r -> [Double] in
                let row = x[(r * k)..<((r + 1) * k)]
                let low = min(0, row.min()!), high = max(0, row.max()!)
                let scale = (high - low) / 255, zero = (-low / scale).rounded(.toNearestOrEven)
                return row.map { Double(min(max(($0 * (1 / scale)).rounded(.toNearestOrEven) + zero, 0), 255) - zero) * Double(scale) }
            }
            return (dequantizedX, dequantizedW)
        }
    }

    func exact(_ r: Int, _ j: Int, _ accumulate: Bool, withBias: Bool, _ operands: (x: [Double], w: [Double])) -> Double {
        var sum = (withBias ? Double(bias[j]) : 0) + (accumulate ? Double(start[r * n + j]) : 0)
        for i in 0..<k { sum += operands.x[r * k + i] * operands.w[j * k + i] }
        return sum
    }
}
