import CkptSupport
import ArgumentParser
import Foundation
import TensorFormats
import Transformers

extension PoolingMode: ExpressibleByArgument {}

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sentence features from a model directory, as sentence-transformers computes them.",
        discussion: """
            INPUT: .txt (a text per line), .tsv/.csv with a header (column --text-column), .jsonl (field \
            --text-column); absent or "-": lines from stdin. OUTPUT by extension: .npy (float32 [N, D], input \
            order), .safetensors (tensor "features", with the model, pooling and precision in its metadata, which \
            train-head --features carries into the head), .jsonl; default JSONL on stdout. Pooling, normalisation \
            and the length limit come from the model's sentence-transformers files unless given. With --shard K/N \
            and --output PART, PART.manifest.json records the input's checksum, the slice, the model and settings \
            and the part's checksum, which `ckpt merge` checks.
            """
    )

    @Option(help: "A model directory (config.json, weights, tokenizer files) or a .gguf file.")
    var model: String

    @Option(help: "Pooling: mean, cls, max or last (default: the model's 1_Pooling config, else mean).")
    var pooling: PoolingMode?

    @Flag(inversion: .prefixedNo, help: "L2-normalise features (default: as the model's modules.json says).")
    var normalize: Bool?

    @Option(help: "Most tokens per text, special tokens included (default: the model's max_seq_length).")
    var maxLength: Int?

    @Option(help: EncodingOptions.batchSizeHelp)
    var batchSize: Int = 32

    @OptionGroup var parallel: ThreadOptions

    @OptionGroup var numeric: PrecisionOption

    @Option(help: "Column (TSV/CSV) or field (JSONL) holding the text.")
    var textColumn: String = "text"

    @Option(help: "Process the K-th (0-based) of N contiguous equal slices of the input, as K/N.")
    var shard: String?

    @Option(help: "Output file: .npy, .safetensors or .jsonl (default: JSONL on stdout).")
    var output: String?

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    @Flag(help: "No progress bar, no notes.")
    var quiet = false

    @Flag(help: "List checkpoint tensors the model did not use.")
    var verbose = false

    @Argument(help: "Input file (default: stdin).")
    var input: String?

    func validate() throws {
        if let output, !(output.hasSuffix(".npy") || output.hasSuffix(".safetensors") || output.hasSuffix(".jsonl")) {
            throw ValidationError("--output must end in .npy, .safetensors or .jsonl")
        }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if let maxLength, maxLength < PoolingSettings.fewestTokens {
            throw ValidationError("--max-length must be at least \(PoolingSettings.fewestTokens)")
        }
        if shard != nil && shardRange(count: 0) == nil { throw ValidationError("--shard takes K/N with 0 ≤ K < N, e.g. 0/4") }
    }

    /// K and N of `--shard K/N`.
    private var shardIndices: (k: Int, n: Int)? {
        guard let shard else { return nil }
        let parts = shard.split(separator: "/")
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n > 0, (0..<n).contains(k) else { return nil }
        return (k, n)
    }

    /// The slice of `count` texts this shard covers.
    private func shardRange(count: Int) -> Range<Int>? {
        guard shard != nil else { return 0..<count }
        guard let (k, n) = shardIndices else { return nil }
        return (count * k / n)..<(count * (k + 1) / n)
    }

    func run() throws {
        try reportingFailure {
            let modelSource = try ModelSource(path: model)
            var settings = try modelSource.poolingSettings()
            if let pooling { settings.modes = [pooling] }
            if let normalize { settings.normalize = normalize }
            if let maxLength { settings.maxLength = maxLength }
            let extractor = try FeatureExtractor(source: modelSource, settings: settings, precision: numeric.requested())
            numeric.noteFallback(extractor.model.precision, quiet: quiet)
            if verbose { for name in extractor.model.unusedTensors { printError("unused: \(name)") } }

            let source = input ?? "-"
            let lines = try InputLines.lines(of: source, quiet: quiet)
            let texts = try attributing(to: InputLines.displayName(source)) {
                try TextInput.texts(lines, format: TextInput.format(of: source), column: textColumn)
            }
            let range = shardRange(count: texts.count)!
            let bar = ProgressBar(total: range.count, unit: .items("texts"), quiet: quiet)
            let origin = FeatureOrigin(model: absolutePath(model), pooling: extractor.settings, precision: extractor.model.precision)
            var truncated = 0
            try write(rows: range.count, dimension: extractor.dimension, firstIndex: range.lowerBound, origin: origin) { body in
                truncated = try extractor.forEachWindow(of: Array(texts[range]), window: Self.window, batchSize: batchSize,
                                                        threads: parallel.threads, progress: { bar.update($0) }, body)
            }
            bar.finish()
            if truncated > 0 && !quiet {
                printError("note: \(truncated) text(s) longer than \(extractor.maxLength) tokens were truncated")
            }
            if let shard = shardIndices, let output {
                try ShardManifest(inputChecksum: ShardManifest.checksum(texts: texts), inputRows: texts.count, shard: shard.k, shards: shard.n,
                                  firstRow: range.lowerBound, rows: range.count, modelWeights: ModelFingerprint.weights(modelDirectory: model),
                                  pooling: extractor.settings.modes.map(\.rawValue).joined(separator: "+"), normalize: extractor.settings.normalize,
                                  maxLength: extractor.maxLength, precision: extractor.model.precision.rawValue,
                                  format: fileExtension(output), dimension: extractor.dimension,
                                  outputChecksum: ShardManifest.checksum(file: output))
                    .write(forPart: output, overwrite: force)
            }
        }
    }

    /// Texts encoded, then written, at a time: their features and JSON lines are all the output
    /// memory holds (for MiniLM's 384 floats, 3.1 MB and about 9 MB), whatever the input's length.
    static let window = 2048

    /// Writes the features `extract` hands over, a window at a time, to `output`; a .safetensors
    /// file also records their `origin`.
    private func write(rows: Int, dimension: Int, firstIndex: Int, origin: FeatureOrigin,
                       _ extract: @escaping ((_ first: Int, _ features: [Float]) throws -> Void) throws -> Void) throws {
        // The writers' `emit` is used only while they wait for `extract`.
        func features(to emit: (UnsafeRawBufferPointer) throws -> Void) throws {
            try withoutActuallyEscaping(emit) { emit in try extract { _, features in try features.withUnsafeBytes { try emit($0) } } }
        }
        switch output {
        case let path? where path.hasSuffix(".npy"):
            try NPYWriter.write(shape: [rows, dimension], to: path, overwrite: force, features)
        case let path? where path.hasSuffix(".safetensors"):
            let info = TensorInfo(name: "features", dtype: .F32, shape: [rows, dimension])
            let tensor = OutgoingTensor(info: info, produce: features)
            try SafeTensorsWriter.write([tensor], metadata: origin.metadata, to: path, overwrite: force)
        default:
            let lines = try PiecewiseOutput(path: output, overwrite: force)
            try extract { first, features in
                var text: [UInt8] = []
                for row in 0..<(features.count / dimension) {
                    text += Array("{\"index\":\(firstIndex + first + row),\"features\":[".utf8)
                    text += Array(features[(row * dimension)..<((row + 1) * dimension)].map { "\($0)" }.joined(separator: ",").utf8)
                    text += Array("]}\n".utf8)
                }
                try lines.write(text)
            }
            try lines.commit()
        }
    }
}
