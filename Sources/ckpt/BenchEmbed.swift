import ArgumentParser
import Foundation
import Transformers

/// Times feature extraction alone (model loaded, texts read before the clock starts) and reports
/// the achieved matrix-product rate against this machine's f32 GEMM peak, for tools/bench/embed.py.
struct BenchEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-embed", abstract: "Time sentence-feature extraction.", shouldDisplay: false)

    @Option var model: String
    @Option var threads: Int = 1
    @Option var batchSize: Int = 32
    @Option var maxLength: Int?
    @Option var repeats: Int = 2
    @Argument var file: String

    func run() throws {
        try reportingFailure {
            var settings = try PoolingSettings(modelDirectory: model)
            if let maxLength { settings.maxLength = maxLength }
            let extractor = try FeatureExtractor(directory: model, settings: settings)
            let texts = InputLines(try InputLines.read(file)).lines
            let (best, flops) = bestTime(repeats: repeats) { extractor.run(texts, batchSize: batchSize, threads: threads).flops }
            let peak = GEMMPeak.measure(threads: threads)
            print("{\"seconds\": \(best), \"texts\": \(texts.count), \"gflops\": \(flops / best / 1e9), \"peak_gflops\": \(peak), \"model_gflop\": \(flops / 1e9)}")
        }
    }
}
