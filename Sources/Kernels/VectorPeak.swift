import CKernels
import CkptSupport
import Dispatch

/// Measures the CPU's vector multiply-add peak in each precision: chains of FMA (f32), VDPBF16PS
/// (bf16) or VPDPBUSD (int8) instructions on registers alone, no memory traffic. No product that
/// reads its operands from memory runs faster, so a model's FLOPs divided by this rate bound its
/// speed (AMX tiles, which oneDNN uses on CPUs that have them, are not counted).
public enum VectorPeak {
    /// Steps of the loop per call: about 4 ms on one core of a 2020s server CPU.
    static let steps = 1 << 20

    /// Independent chains of multiply-adds in the loop.
    public static let chains = Int(ckpt_vector_peak_chains())

    /// The instruction the peak loop runs, by vector width, e.g. "VPDPBUSD zmm"; nil where the CPU
    /// lacks it (bf16 needs AVX512-BF16, int8 AVX512-VNNI, f32 AVX2 with FMA).
    public static func instruction(_ precision: Precision) -> String? {
        switch (precision, multiplyAdds(precision)) {
        case (_, 0): nil
        case (.f32, 8): "VFMADD ymm"
        case (.f32, _): "VFMADD zmm"
        case (.bf16, _): "VDPBF16PS zmm"
        case (.int8, _): "VPDPBUSD zmm"
        }
    }

    /// GFLOP/s (a multiply-add counts two) of `threads` threads each running the loop, best of
    /// `count` samples; nil where the CPU lacks the instruction.
    public static func measure(_ precision: Precision, threads: Int, count: Int = 5, callsPerSample: Int = 8) -> Double? {
        let multiplyAdds = multiplyAdds(precision)
        guard multiplyAdds > 0 else { return nil }
        let expected = checksum(precision, steps: steps)
        let flops = 2 * Double(threads * callsPerSample * steps * chains * multiplyAdds)
        var best = Double.infinity
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            Parallel.forEachPart(of: 0..<threads, threads: threads) { _ in
                for _ in 0..<callsPerSample {
                    let sum = ckpt_vector_peak_run(precision.peakPrecision, Int64(steps))
                    precondition(sum == expected, "VectorPeak: the \(precision) loop summed \(sum), not \(expected)")
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return flops / best / 1e9
    }

    /// What `steps` steps of the loop sum to on this CPU: every multiply-add's product added once.
    static func checksum(_ precision: Precision, steps: Int) -> Double {
        let product = precision == .int8 ? 2 : 0x1p-20
        return Double(steps * chains * multiplyAdds(precision)) * product
    }

    static func multiplyAdds(_ precision: Precision) -> Int { Int(ckpt_vector_peak_multiply_adds(precision.peakPrecision)) }
}

extension Precision {
    /// The precision's code in CKernels' peak loop.
    var peakPrecision: ckpt_peak_precision {
        switch self {
        case .f32: CKPT_PEAK_F32
        case .bf16: CKPT_PEAK_BF16
        case .int8: CKPT_PEAK_INT8
        }
    }
}
