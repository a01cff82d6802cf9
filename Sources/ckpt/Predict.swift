import CkptSupport
import ArgumentParser
import Foundation
import HeadTraining
import Kernels
import TensorFormats
import Transformers

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify texts with a trained head.",
        discussion: """
            Texts are encoded by the model named in head.json (or --model) with the pooling the head was \
            trained with; or give --features. tsv: one line per input, label and probability (with --top-k, \
            that many label/probability pairs). jsonl: {"index", "label", "probability", "top", "logits"}.
            """
    )

    enum Format: String, ExpressibleByArgument { case tsv, jsonl }

    @Option(help: "A head directory written by train-head.")
    var head: String

    @Option(help: "Model directory or .gguf file (default: the one in head.json).")
    var model: String?

    @OptionGroup var inputs: FeatureOptions

    @Option(help: "Output: tsv or jsonl.")
    var format: Format = .tsv

    @Option(help: "Most probable labels to print per input.")
    var topK: Int = 1

    @Argument(help: "Input file: .txt, .tsv/.csv (--text-column), .jsonl (default: stdin).")
    var input: String?

    func validate() throws {
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if inputs.features != nil && input != nil { throw ValidationError("give texts (INPUT) or --features, not both") }
    }

    func run() throws {
        try reportingFailure {
            let saved = try SavedHead(directory: head)
            let features = try predictionFeatures(saved, head: head, model: model, inputs: inputs, source: input ?? "-")
            let logits = try attributing(to: inputs.features ?? head) { try saved.head.logits(features, threads: inputs.parallel.threads) }
            let probabilities = saved.head.probabilities(fromLogits: logits)
            let K = saved.head.labels.count
            var out = OutputBuffer()
            for row in 0..<features.rows {
                let p = Array(probabilities[(row * K)..<((row + 1) * K)])
                // Most probable first; equal probabilities keep class order.
                let ranked = Ranking.top(topK, of: p)
                switch format {
                case .tsv:
                    out.line(ranked.map { "\(saved.head.labels[$0])\t\(p[$0])" }.joined(separator: "\t"))
                case .jsonl:
                    let top = JSON.array(ranked.map { .object([("label", .string(saved.head.labels[$0])), ("probability", .number("\(p[$0])"))]) })
                    let object = JSON.object([
                        ("index", .number("\(row)")), ("label", .string(saved.head.labels[ranked[0]])),
                        ("probability", .number("\(p[ranked[0]])")), ("top", top),
                        ("logits", .array(logits[(row * K)..<((row + 1) * K)].map { .number("\($0)") })),
                    ])
                    out.line(object.compactText)
                }
            }
            out.flush()
        }
    }
}

/// The features a saved head is applied to: `--features`, or texts from `source` encoded by the
/// head's model (or `model`) with the head's pooling.
func predictionFeatures(_ saved: SavedHead, head: String, model: String?, inputs: FeatureOptions, source: String,
                        texts given: [String]? = nil) throws -> FeatureMatrix {
    if inputs.features != nil { return try inputs.precomputed(for: saved, head: head).features }
    let directory = try modelDirectory(for: saved, override: model, head: head)
    let extractor = try FeatureExtractor(path: directory, settings: saved.pooling, precision: inputs.numeric.requested(default: saved.precision))
    inputs.numeric.noteFallback(extractor.model.precision, quiet: inputs.quiet)
    let texts = try given ?? inputs.texts(source)
    return try inputs.encoding.encode(texts, extractor: extractor, cache: inputs.encoding.cache(for: extractor, model: directory), source: source)
}
