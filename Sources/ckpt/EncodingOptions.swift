import ArgumentParser
import CkptSupport
import Foundation
import HeadTraining
import Transformers

/// How a command encodes texts with a model: the batch, the on-disk feature cache, the threads,
/// the precision, and whether it reports progress.
struct EncodingOptions: ParsableArguments {
    /// `--batch-size`'s help, here and in `embed`.
    static let batchSizeHelp = ArgumentHelp(
        "Most texts per forward pass (which also holds at most \(FeatureExtractor.batchTokens(.f32)) padded tokens, \(FeatureExtractor.batchTokens(.int8)) in int8, unless it is one text).")

    @Option(help: batchSizeHelp)
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

    /// Texts of an input file: a text per line, or the `column` of a table.
    func texts(_ path: String, column: String) throws -> [String] {
        let lines = try InputLines.lines(of: path, quiet: quiet)
        return try attributing(to: InputLines.displayName(path)) {
            try TextInput.texts(lines, format: TextInput.format(of: path), column: column)
        }
    }

    /// The extractor of `model` (its own pooling) in the precision these options ask for.
    func extractor(for model: String) throws -> FeatureExtractor {
        let extractor = try FeatureExtractor(path: model, precision: numeric.requested())
        numeric.noteFallback(extractor.model.precision, quiet: quiet)
        return extractor
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
        if result.truncated > 0 && !quiet {
            printError("note: \(result.truncated) text(s) longer than \(extractor.maxLength) tokens were truncated")
        }
        return result.features
    }
}
