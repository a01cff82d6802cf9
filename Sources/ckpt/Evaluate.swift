import CkptSupport
import ArgumentParser
import Foundation
import HeadTraining
import TensorFormats
import Transformers

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score a trained head on labelled data: accuracy, macro-F1, per-class scores, confusion matrix.",
        discussion: """
            Test labels the head never saw in training are reported and counted as wrong. --json prints \
            {"accuracy", "macro_f1", "per_class", "confusion", "labels"} with scores as fractions.
            """
    )

    @Option(help: "A head directory written by train-head.")
    var head: String

    @Option(help: "Model directory or .gguf file (default: the one in head.json).")
    var model: String?

    @Option(help: "Labelled test data: .tsv/.csv with a header, or .jsonl.")
    var test: String?

    @OptionGroup var inputs: FeatureOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if (test == nil) == (inputs.features == nil) { throw ValidationError("give --test FILE, or --features with --labels") }
        if inputs.features != nil && inputs.labels == nil { throw ValidationError("--features needs --labels") }
    }

    func run() throws {
        try reportingFailure {
            let saved = try SavedHead(directory: head)
            var truth: [String]
            let features: FeatureMatrix
            if let test {
                let data = try inputs.dataset(test)
                truth = data.labels
                features = try predictionFeatures(saved, head: head, model: model, inputs: inputs, source: test, texts: data.texts)
            } else {
                let (matrix, labels) = try inputs.precomputed(for: saved, head: head)
                (features, truth) = (matrix, labels!)
            }
            let report = try attributing(to: inputs.features ?? head) { try saved.head.report(features, truth: truth, threads: inputs.parallel.threads) }
            if !report.unseenLabels.isEmpty && !inputs.quiet {
                printError("warning: \(report.unseenCount) example(s) have labels the head was not trained on (\(report.unseenLabels.joined(separator: ", "))); counted as wrong")
            }
            print(json ? report.json.compactText : report.table, terminator: json ? "\n" : "")
        }
    }
}
