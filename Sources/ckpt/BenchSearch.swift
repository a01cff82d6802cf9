import Analysis
import ArgumentParser
import Foundation
import HeadTraining
import Kernels
import TensorFormats

/// Times exact semantic search alone (corpus packed and queries read before the clock starts) and
/// reports the scoring products' rate against the engine's f32 rate on MiniLM's shapes, for
/// tools/bench/analysis.py; the hits go to `--hits` as .npy indices [queries, k] for the exactness check.
struct BenchSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-search", abstract: "Time exact semantic search over precomputed features.", shouldDisplay: false)

    @Option var corpus: String
    @Option var queries: String
    @Option var topK: Int = 10
    @Option var threads: Int = 1
    @Option var repeats: Int = 3
    @Option var hits: String?

    func run() throws {
        try reportingFailure {
            let corpus = try FeatureMatrix(file: self.corpus), queries = try FeatureMatrix(file: self.queries)
            let index = SemanticSearch(corpus: corpus)
            let engine = MatmulEngine.current
            let before = EngineRate.samples(model: "MiniLM", engine: engine, threads: threads)
            let (seconds, found) = bestTime(repeats: repeats) { index.search(queries, top: topK, threads: threads) }
            let peaks = (before + EngineRate.samples(model: "MiniLM", engine: engine, threads: threads)).sorted()
            let peak = (peaks[peaks.count / 2 - 1] + peaks[peaks.count / 2]) / 2
            if let hits {
                try NPYWriter.write(found.flatMap { $0.map { Float($0.index) } }, shape: [queries.rows, topK], to: hits, overwrite: true)
            }
            let flops = 2 * Double(queries.rows) * Double(corpus.rows) * Double(corpus.dimension)
            print("{\"seconds\": \(seconds), \"queries\": \(queries.rows), \"corpus\": \(corpus.rows), \"queries_per_second\": \(Double(queries.rows) / seconds), \"gflops\": \(flops / seconds / 1e9), \"peak_gflops\": \(peak), \"engine\": \"\(engine.rawValue)\", \"cpu\": \"\(CPUInfo.current().model)\"}")
        }
    }
}
