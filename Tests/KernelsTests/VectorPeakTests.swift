import CKernels
@testable import Kernels
import XCTest

/// The vector multiply-add peak that benchmarks read as the CPU's ceiling: its loop must run every
/// instruction it counts, on the instructions the CPU has.
final class VectorPeakTests: XCTestCase {
    private let features = CPUInfo.current().features

    /// Each instruction the CPU has is the loop's for its precision; one it lacks measures nothing.
    func testTheLoopRunsTheInstructionsTheCPUHas() {
        XCTAssertEqual(VectorPeak.instruction(.f32), features.contains("avx512f") ? "VFMADD zmm" : features.contains("fma") ? "VFMADD ymm" : nil)
        XCTAssertEqual(VectorPeak.instruction(.bf16), features.contains("avx512_bf16") ? "VDPBF16PS zmm" : nil)
        XCTAssertEqual(VectorPeak.instruction(.int8), features.contains("avx512_vnni") ? "VPDPBUSD zmm" : nil)
        for precision in Precision.allCases where VectorPeak.instruction(precision) == nil {
            XCTAssertNil(VectorPeak.measure(precision, threads: 1), "\(precision)")
            XCTAssertEqual(ckpt_vector_peak_run(precision.peakPrecision, 10), 0, "\(precision)")
        }
    }

    /// The sum of every lane after n steps is every product added once: 12 chains × the
    /// instruction's multiply-adds × n, each product 2^-20 (f32: 1 · 2^-20; bf16: the bf16 bits of
    /// 1 and 2^-20) or 2 (int8: 1 · 2). A loop the compiler shortened, or one that ran another
    /// instruction, would sum to something else.
    func testTheLoopSumsEveryProductOnce() {
        let cases: [(Precision, [String: Double], Double)] = [
            (.f32, ["VFMADD zmm": 16, "VFMADD ymm": 8], 0x1p-20),
            (.bf16, ["VDPBF16PS zmm": 32], 0x1p-20),
            (.int8, ["VPDPBUSD zmm": 64], 2),
        ]
        XCTAssertEqual(VectorPeak.chains, 12)
        for (precision, multiplyAdds, product) in cases {
            guard let instruction = VectorPeak.instruction(precision) else { continue }
            guard let perInstruction = multiplyAdds[instruction] else { XCTFail("unknown \(instruction)"); continue }
            for steps in [1, 7, 1000, 1 << 20] {
                XCTAssertEqual(ckpt_vector_peak_run(precision.peakPrecision, Int64(steps)), Double(steps) * 12 * perInstruction * product, "\(instruction), \(steps) steps")
            }
        }
    }

    /// Every instruction the CPU has gets a rate at one thread and at two (the loop checks its sums).
    func testEveryInstructionTheCPUHasGetsARate() throws {
        for precision in Precision.allCases where VectorPeak.instruction(precision) != nil {
            for threads in [1, 2] {
                let rate = try XCTUnwrap(VectorPeak.measure(precision, threads: threads, count: 2, callsPerSample: 1))
                XCTAssertTrue(rate.isFinite && rate > 0, "\(precision) at \(threads) threads: \(rate) GFLOP/s")
            }
        }
    }
}
