import ArgumentParser
import CkptSupport
import Foundation
import Kernels
import Transformers

/// Times GPT-2's greedy generation in several precisions in one process, one step of each in turn,
/// so that the machine's drift falls on every precision alike (on some VMs the memory bandwidth
/// that bounds decoding moves by half from one second to the next); for tools/bench/precision.py.
/// A precision's rate is as `bench-generate`'s decode: new tokens over the time of the prompt's
/// prefill and every step; `step_tokens_per_second` leaves the prefill out (the rate of a long
/// context's steps). With `--caches`, each precision runs with each KV-cache element type, named
/// "precision/elements". Prints one JSON object.
struct BenchDecodePrecisions: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-decode-precisions", abstract: "Time GPT-2 decoding in several precisions, interleaved.", shouldDisplay: false)

    @Option var model: String
    @Option var threads: Int = 1
    @Option(parsing: .upToNextOption) var precisions: [Precision] = [.f32, .bf16, .int8]
    @Option var promptTokens: Int = 16
    @Option var newTokens: Int = 128
    @Option var rounds: Int = 3
    @Option(parsing: .upToNextOption) var caches: [KVCache.Elements] = []
    @Argument var file: String

    func run() throws {
        try reportingFailure {
            let loaded = try precisions.map { try TextGenerator(path: model, precision: $0) }
            // Routes: (generator, cache elements (nil: the model's), name).
            let routes: [(generator: TextGenerator, cache: KVCache.Elements?, name: String)] = caches.isEmpty
                ? zip(loaded, precisions).map { ($0, nil, $1.rawValue) }
                : zip(loaded, precisions).flatMap { generator, precision in caches.map { (generator, $0, "\(precision.rawValue)/\($0.rawValue)") } }
            let generators = routes.map(\.generator)
            let text = InputLines(try InputLines.read(file)).lines.joined(separator: "\n")
            let prompt = Array(generators[0].tokenizer.encodeIDs(text, addSpecialTokens: false).prefix(promptTokens))
            guard prompt.count == promptTokens else {
                throw ValidationError("\(file) has \(prompt.count) tokens; the benchmark needs \(promptTokens)")
            }
            let greedy = try SamplingSettings()
            var seconds = [Double](repeating: 0, count: generators.count), tokens = [Int](repeating: 0, count: generators.count)
            var stepSeconds = seconds
            var ids: [[Int32]] = []
            for _ in 0..<rounds {
                var decodings = generators.indices.map { i in
                    timed(&seconds[i]) {
                        generators[i].decoding(prompt, maxNewTokens: newTokens, sampling: greedy, threads: threads, cacheElements: routes[i].cache)
                    }
                }
                ids = Array(repeating: [], count: generators.count)
                var running = true
                while running {
                    running = false
                    for i in decodings.indices {
                        let start = seconds[i]
                        guard let id = timed(&seconds[i], { decodings[i].next() }) else { continue }
                        stepSeconds[i] += seconds[i] - start
                        ids[i].append(id)
                        tokens[i] += 1
                        running = true
                    }
                }
            }
            let rates = routes.indices.map { "\"\(routes[$0].name)\": \(Double(tokens[$0]) / seconds[$0])" }
            let stepRates = routes.indices.map { "\"\(routes[$0].name)\": \(Double(tokens[$0]) / stepSeconds[$0])" }
            let lists = routes.indices.map { "\"\(routes[$0].name)\": [\(ids[$0].map { "\($0)" }.joined(separator: ","))]" }
            print("""
                {"decode_tokens_per_second": {\(rates.joined(separator: ", "))}, \
                "step_tokens_per_second": {\(stepRates.joined(separator: ", "))}, "rounds": \(rounds), \
                "ids": {\(lists.joined(separator: ", "))}}
                """)
        }
    }

    /// body's result, its time added to `seconds`.
    private func timed<T>(_ seconds: inout Double, _ body: () -> T) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return body()
    }
}

extension KVCache.Elements: ExpressibleByArgument {}
