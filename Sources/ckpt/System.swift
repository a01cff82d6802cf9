import CkptSupport
import ArgumentParser
import Foundation
import Kernels
import TensorFormats

/// `ckpt system`: what ckpt runs on here — the CPU, its instruction-set extensions, the engine and
/// kernel of each precision, the precision of attention, the threads — and with `--measure` the
/// engines' product rates, the vector multiply-add peak and the memory bandwidth, the peaks that the
/// benchmarks divide by.
struct System: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the CPU, the matrix-product engine and threads; --measure times the engines.",
        discussion: """
            The engine is oneDNN where it runs, else OpenBLAS; CKPT_ENGINE=onednn|openblas forces one. \
            --measure times a layer's products of MiniLM (384 channels) and GPT-2 124M (768) on every \
            engine, in each precision it runs natively (f32 on both; bf16 and int8 on oneDNN where the \
            CPU has the instructions), at 1 thread and at all threads (GFLOP/s, best of 10; int8 counts \
            its multiply-adds as FLOPs); the vector multiply-add peak of each precision (FMA, VDPBF16PS, \
            VPDPBUSD on registers alone, the ceiling of any product that reads memory); and the memory \
            read bandwidth that bounds decoding.
            """)

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Time each engine's products, the vector peak and the memory bandwidth (about half a minute).")
    var measure = false

    struct Rate {
        let engine: MatmulEngine, precision: Precision, products: String, threads: Int, gflops: Double
    }

    struct VectorRate {
        let precision: Precision, instruction: String, threads: Int, gflops: Double
    }

    /// The engines and precisions measured: each engine's native ones.
    private static let routes: [(MatmulEngine, Precision)] = MatmulEngine.allCases.flatMap { engine in
        Precision.allCases.filter(engine.runsNatively).map { (engine, $0) }
    }

    func run() throws {
        try reportingFailure {
            let cpu = CPUInfo.current(), engine = try MatmulEngine.selected()
            let threadCounts = Array(Set([1, cpu.cores])).sorted()
            var rates: [Rate] = [], vector: [VectorRate] = [], bandwidth: [(threads: Int, bytesPerSecond: Double)] = []
            if measure {
                for (candidate, precision) in Self.routes {
                    for products in ["MiniLM", "GPT-2"] {
                        for threads in threadCounts {
                            rates.append(Rate(engine: candidate, precision: precision, products: products, threads: threads,
                                              gflops: EngineRate.peak(model: products, engine: candidate, precision: precision, threads: threads, count: 10)))
                        }
                    }
                }
                vector = Precision.allCases.flatMap { precision in
                    VectorPeak.instruction(precision).map { instruction in
                        threadCounts.map { VectorRate(precision: precision, instruction: instruction, threads: $0, gflops: VectorPeak.measure(precision, threads: $0)!) }
                    } ?? []
                }
                bandwidth = threadCounts.map { ($0, MemoryBandwidth.measure(threads: $0)) }
            }
            print(json ? report(cpu, engine, rates, vector, bandwidth).compactText : table(cpu, engine, threadCounts, rates, vector, bandwidth),
                  terminator: json ? "\n" : "")
        }
    }

    private func report(_ cpu: CPUInfo, _ engine: MatmulEngine, _ rates: [Rate], _ vector: [VectorRate],
                        _ bandwidth: [(threads: Int, bytesPerSecond: Double)]) -> JSON {
        var members: [(String, JSON)] = [
            ("cpu", .object([("model", .string(cpu.model)), ("cores", .number("\(cpu.cores)")),
                             ("features", .array(cpu.features.map(JSON.string)))])),
            ("threads", .number("\(cpu.cores)")),
            ("precisions", .object(Precision.allCases.map { precision in
                (precision.rawValue, .object([("engine", .string(engine.rawValue)), ("kernel", .string(engine.kernel(precision))),
                                              ("native", .bool(engine.runsNatively(precision)))]))
            })),
            ("attention", .object([("bf16_above_keys", AttentionHead.bf16Gains ? .number("\(AttentionHead.maxKeys)") : .null)])),
        ]
        if measure {
            members.append(("measured", .array(rates.map {
                .object([("engine", .string($0.engine.rawValue)), ("precision", .string($0.precision.rawValue)), ("products", .string($0.products)),
                         ("threads", .number("\($0.threads)")), ("gflops", .number(String(format: "%.1f", $0.gflops)))])
            })))
            members.append(("vector_peak", .array(vector.map {
                .object([("precision", .string($0.precision.rawValue)), ("instruction", .string($0.instruction)),
                         ("threads", .number("\($0.threads)")), ("gflops", .number(String(format: "%.1f", $0.gflops)))])
            })))
            members.append(("memory_bandwidth", .array(bandwidth.map {
                .object([("threads", .number("\($0.threads)")), ("bytes_per_second", .number(String(format: "%.0f", $0.bytesPerSecond)))])
            })))
        }
        return .object(members)
    }

    private func table(_ cpu: CPUInfo, _ engine: MatmulEngine, _ threadCounts: [Int], _ rates: [Rate], _ vector: [VectorRate],
                       _ bandwidth: [(threads: Int, bytesPerSecond: Double)]) -> String {
        var lines = [
            "cpu        \(cpu.model)",
            "features   \(cpu.features.isEmpty ? "none of ckpt's" : cpu.features.joined(separator: " "))",
            "threads    \(cpu.cores) (the default of --threads)",
        ] + Precision.allCases.map { "\($0.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))\(engine.rawValue) (\(engine.kernel($0)))" } + [
            "attention  f32" + (AttentionHead.bf16Gains ? "; in bf16 and int8, bf16 (VDPBF16PS) over more than \(AttentionHead.maxKeys) keys" : ""),
        ]
        if measure {
            lines.append("")
            lines.append("products, GFLOP/s (a layer's products, best of 10)")
            let threadColumns = threadCounts.map { String(repeating: " ", count: 2) + "\($0) thread\($0 == 1 ? " " : "s")".leftPadded(10) }.joined()
            lines.append("engine    precision products" + threadColumns)
            for (candidate, precision) in Self.routes {
                for products in ["MiniLM", "GPT-2"] {
                    let row = threadCounts.map { threads in
                        rates.first { $0.engine == candidate && $0.precision == precision && $0.products == products && $0.threads == threads }!.gflops
                    }
                    lines.append(candidate.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + precision.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                                 + products.padding(toLength: 8, withPad: " ", startingAt: 0) + row.map { "  " + String(format: "%.1f", $0).leftPadded(10) }.joined())
                }
            }
            lines.append("")
            lines.append("vector multiply-add peak, GFLOP/s (\(VectorPeak.chains) chains on registers, no memory; best of 5)")
            lines.append("precision instruction       " + threadColumns)
            for precision in Precision.allCases {
                let row = vector.filter { $0.precision == precision }
                guard let instruction = row.first?.instruction else { continue }
                lines.append(precision.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + instruction.padding(toLength: 18, withPad: " ", startingAt: 0)
                             + row.map { "  " + String(format: "%.1f", $0.gflops).leftPadded(10) }.joined())
            }
            lines.append("memory read bandwidth: " + bandwidth.map { String(format: "%.1f GB/s", $0.bytesPerSecond / 1e9) + " at \($0.threads) thread\($0.threads == 1 ? "" : "s")" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
