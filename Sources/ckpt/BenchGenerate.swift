import CkptSupport
import ArgumentParser
import Foundation
import Kernels
import Transformers

/// Times GPT-2 decoding and prefill on the first tokens of a text file, and measures the memory
/// read bandwidth that bounds decoding, for tools/bench/generate.py. Prints one JSON object.
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-generate", abstract: "Time GPT-2 decoding and prefill.", shouldDisplay: false)

    @Option var model: String
    @Option var threads: Int = 1
    @Option var promptTokens: Int = 16
    @Option var newTokens: Int = 128
    @Option var prefillTokens: Int = 512
    @Option var repeats: Int = 3
    @Option var precision: Precision = .f32
    @Argument var file: String

    func run() throws {
        try reportingFailure {
            let generator = try TextGenerator(path: model, precision: precision)
            let text = InputLines(try InputLines.read(file)).lines.joined(separator: "\n")
            let ids = generator.tokenizer.encodeIDs(text, addSpecialTokens: false)
            guard ids.count >= max(promptTokens, prefillTokens) else {
                throw ValidationError("\(file) has \(ids.count) tokens; the benchmark needs \(max(promptTokens, prefillTokens))")
            }
            let greedy = try SamplingSettings()
            let decode = bestTime(repeats: repeats) {
                generator.generate(Array(ids.prefix(promptTokens)), maxNewTokens: newTokens, sampling: greedy, threads: threads).ids
            }
            let prefill = bestTime(repeats: repeats) {
                generator.model.logits(Array(ids.prefix(prefillTokens)), cache: generator.model.makeCache(capacity: prefillTokens), threads: threads)
            }
            let bandwidth = MemoryBandwidth.measure(threads: threads)
            print("""
                {"decode_tokens_per_second": \(Double(decode.result.count) / decode.seconds), \
                "prefill_tokens_per_second": \(Double(prefillTokens) / prefill.seconds), \
                "bandwidth_bytes_per_second": \(bandwidth), "weight_bytes_per_token": \(generator.model.weightBytesPerToken), \
                "precision": "\(precision.rawValue)", "peak_rss_bytes": \(peakResidentBytes()), \
                "ids": [\(decode.result.map { "\($0)" }.joined(separator: ","))]}
                """)
        }
    }
}
