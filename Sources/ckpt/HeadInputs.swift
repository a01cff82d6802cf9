import CkptSupport
import ArgumentParser
import Foundation
import HeadTraining
import TensorFormats
import Transformers

extension HeadKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ClassWeighting: ExpressibleByArgument {}
extension NeighbourVoting: ExpressibleByArgument {}

/// Where the features of the head commands come from: texts encoded by a model (through the
/// on-disk feature cache), or a precomputed matrix with its labels.
struct FeatureOptions: ParsableArguments {
    @Option(help: "Features precomputed in a .npy (or the one tensor of a .safetensors/.npz), instead of encoding texts.")
    var features: String?

    @Option(help: "Labels for --features: a label per line, or a .tsv/.csv/.jsonl with --label-column.")
    var labels: String?

    @Option(help: "Column (TSV/CSV) or field (JSONL) holding the text.")
    var textColumn: String = "text"

    @Option(help: "Column (TSV/CSV) or field (JSONL) holding the label.")
    var labelColumn: String = "label"

    @Option(help: "Texts per forward pass.")
    var batchSize: Int = 32

    @Option(help: "Where encoded features are kept (default: $XDG_CACHE_HOME/ckpt/features or ~/.cache/ckpt/features).")
    var cacheDir: String?

    @Flag(help: "Encode every text afresh and keep nothing.")
    var noCache = false

    @OptionGroup var parallel: ThreadOptions

    @OptionGroup var numeric: PrecisionOption

    @Flag(help: "No progress bar, no notes.")
    var quiet = false

    func validate() throws {
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    }

    var cacheDirectory: String {
        if let cacheDir { return cacheDir }
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (environment["HOME"] ?? ".") + "/.cache"
        return base + "/ckpt/features"
    }

    /// Rows of a labelled file (texts and labels).
    func dataset(_ path: String) throws -> LabelledDataset {
        let lines = try readLines(path)
        return try attributing(to: path) {
            try LabelledDataset(lines: lines, format: TextInput.format(of: path), textColumn: textColumn, labelColumn: labelColumn)
        }
    }

    /// Texts of an input file (a text per line, or the text column of a table).
    func texts(_ path: String) throws -> [String] {
        let lines = try readLines(path)
        return try attributing(to: InputLines.displayName(path)) {
            try TextInput.texts(lines, format: TextInput.format(of: path), column: textColumn)
        }
    }

    /// The precomputed features and their labels (`--features`, `--labels`).
    func precomputed() throws -> (FeatureMatrix, [String]?) {
        let matrix = try FeatureMatrix(file: features!)
        guard let labels else { return (matrix, nil) }
        let lines = try readLines(labels)
        let values = try attributing(to: labels) {
            try LabelledDataset.labels(lines: lines, format: TextInput.format(of: labels), labelColumn: labelColumn)
        }
        guard values.count == matrix.rows else {
            throw FormatError(file: labels, HeadTrainingError.countMismatch(features: matrix.rows, labels: values.count))
        }
        return (matrix, values)
    }

    /// The feature cache for `extractor` on `model` (nil with --no-cache). Opening one checksums
    /// the model's weights, so a command opens it once.
    func cache(for extractor: FeatureExtractor, model: String) throws -> FeatureCache? {
        noCache ? nil : try FeatureCache(directory: cacheDirectory, modelDirectory: model, extractor: extractor)
    }

    /// Features of the texts of `source` from `extractor`, taken from `cache` where it has them.
    func encode(_ texts: [String], extractor: FeatureExtractor, cache: FeatureCache?, source: String) throws -> FeatureMatrix {
        let bar = ProgressBar(total: texts.count, unit: .items("texts"), quiet: quiet)
        defer { bar.finish() }
        let result = try FeatureCache.features(texts, extractor: extractor, cache: cache, batchSize: batchSize, threads: parallel.threads) {
            bar.update($0)
        }
        if let cache, !quiet && result.hits > 0 {
            printError("\(InputLines.displayName(source)): \(result.hits) of \(texts.count) feature rows from the cache (\(cache.path))")
        }
        note(truncated: result.truncated, limit: extractor.maxLength)
        return result.features
    }

    private func note(truncated: Int, limit: Int) {
        if truncated > 0 && !quiet { printError("note: \(truncated) text(s) longer than \(limit) tokens were truncated") }
    }

    private func readLines(_ path: String) throws -> [String] { try InputLines.lines(of: path, quiet: quiet) }
}

/// The model directory a saved head's features come from: `--model`, else the one in head.json.
func modelDirectory(for saved: SavedHead, override: String?, head: String) throws -> String {
    if let override { return override }
    guard let model = saved.model else {
        throw FormatError(file: head, HeadTrainingError.badHeadFile("this head was trained on precomputed features; pass --features, or --model to encode texts"))
    }
    return model
}
