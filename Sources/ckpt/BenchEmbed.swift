import ArgumentParser
import Foundation
import Kernels
import Transformers

/// Times feature extraction alone (model loaded, texts read before the clock starts) and reports
/// the achieved matrix-product rate against the engine's f32 rate on the model's own products
/// (`EngineRate`, MiniLM's shapes for models of up to 384 channels, else GPT-2's) and the vector
/// multiply-add peak of its precision (`VectorPeak`), for tools/bench/embed.py and precision.py.
struct BenchEmbed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-embed", abstract: "Time sentence-feature extraction.", shouldDisplay: false)

    @Option var model: String
    @Option var threads: Int = 1
    @Option var batchSize: Int = 32
    @Option var maxLength: Int?
    @Option var repeats: Int = 2
    @Option var precision: Precision = .f32
    @Argument var file: String

    func run() throws {
        try reportingFailure {
            let modelSource = try ModelSource(path: model)
            var settings = try modelSource.poolingSettings()
            if let maxLength { settings.maxLength = maxLength }
            let extractor = try FeatureExtractor(source: modelSource, settings: settings, precision: precision)
            let texts = InputLines(try InputLines.read(file)).lines
            // This machine's speed drifts by ±15 % from one second to the next (a shared host): the
            // peak is the median of products run before and after the workload, an average moment
            // as the workload's seconds are; the best of them is reported too.
            let shapes = extractor.model.hiddenSize <= 384 ? "MiniLM" : "GPT-2", engine = MatmulEngine.current
            let before = EngineRate.samples(model: shapes, engine: engine, precision: precision, threads: threads)
            let (best, flops) = bestTime(repeats: repeats) { extractor.run(texts, batchSize: batchSize, threads: threads).flops }
            let peaks = (before + EngineRate.samples(model: shapes, engine: engine, precision: precision, threads: threads)).sorted()
            let peak = (peaks[peaks.count / 2 - 1] + peaks[peaks.count / 2]) / 2
            // The ceiling of any route: no product runs faster than the multiply-add instructions alone.
            let vectorPeak = VectorPeak.measure(precision, threads: threads).map { "\($0)" } ?? "null"
            print("{\"seconds\": \(best), \"texts\": \(texts.count), \"gflops\": \(flops / best / 1e9), \"peak_gflops\": \(peak), \"best_peak_gflops\": \(peaks.last!), \"vector_peak_gflops\": \(vectorPeak), \"model_gflop\": \(flops / 1e9), \"engine\": \"\(engine.rawValue)\", \"precision\": \"\(precision.rawValue)\", \"peak_rss_bytes\": \(peakResidentBytes()), \"cpu\": \"\(CPUInfo.current().model)\"}")
        }
    }
}
