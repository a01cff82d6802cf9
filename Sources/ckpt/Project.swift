import Analysis
import ArgumentParser
import CkptSupport
import Foundation
import HeadTraining
import TensorFormats
import Transformers

struct Project: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Two-dimensional coordinates of features (PCA or t-SNE), as numbers, a scatter plot, or Embedding Projector files.",
        discussion: """
            Features from --features (with --labels), or encoded from INPUT by --model (labels from the --label-column \
            of a .tsv/.csv/.jsonl when it has one). --output by extension: .npy (float32 [N, 2]), .tsv (x, y and the \
            label, with a header), .svg or .png (a scatter plot coloured by label); default: TSV on stdout. --projector \
            DIR writes vectors.tsv, metadata.tsv and projector_config.json for TensorFlow's Embedding Projector. PCA \
            signs: each component's largest loading is positive. t-SNE follows openTSNE's defaults (PCA start, 250 \
            exaggerated steps, then --iterations); its final KL divergence goes to stderr.
            """
    )

    enum Method: String, ExpressibleByArgument, CaseIterable { case pca, tsne }

    @Option(help: "A model directory or .gguf file, to encode INPUT.")
    var model: String?

    @OptionGroup var source: FeatureOptions

    @Option(help: "pca or tsne.")
    var method: Method = .pca

    @Option(help: "t-SNE perplexity (about the number of close neighbours each point keeps).")
    var perplexity: Double = 30

    @Option(help: "t-SNE steps after early exaggeration (openTSNE's n_iter).")
    var iterations: Int = 750

    @Option(help: "Seed of t-SNE's initial jitter.")
    var seed: UInt64 = 0

    @Option(help: "Coordinates: .npy, .tsv, .svg or .png (default: TSV on stdout).")
    var output: String?

    @Option(help: "Write TensorFlow Embedding Projector files (vectors.tsv, metadata.tsv, projector_config.json) into this directory.")
    var projector: String?

    @Flag(help: "Overwrite existing output files.")
    var force = false

    @Argument(help: "Texts to encode with --model (.txt, .tsv, .csv, .jsonl).")
    var input: String?

    func validate() throws {
        if (source.features == nil) == (model == nil) { throw ValidationError("give either --features FILE or --model DIR with an INPUT file") }
        if model != nil && input == nil { throw ValidationError("--model needs an INPUT file of texts") }
        if source.features != nil && input != nil { throw ValidationError("INPUT is encoded with --model; with --features leave it out") }
        if let output, !["npy", "tsv", "svg", "png"].contains(fileExtension(output)) { throw ValidationError("--output must end in .npy, .tsv, .svg or .png") }
        if perplexity <= 0 { throw ValidationError("--perplexity must be positive") }
        if iterations < 0 { throw ValidationError("--iterations must be at least 0") }
    }

    func run() throws {
        try reportingFailure {
            let (features, labels, texts, origin) = try load()
            guard features.rows >= 2 else { throw FormatError(file: origin, AnalysisError.badInput("\(features.rows) row(s); a projection needs at least 2")) }
            let coordinates: [Double]
            switch method {
            case .pca:
                coordinates = PCA(features.values, rows: features.rows, dimension: features.dimension, components: 2, threads: source.parallel.threads)
                    .transform(features.values, rows: features.rows)
            case .tsne:
                var settings = TSNE.Settings()
                settings.perplexity = perplexity
                settings.iterations = iterations
                settings.seed = seed
                let embedding = try attributing(to: origin) {
                    try TSNE(features.values, rows: features.rows, dimension: features.dimension, settings: settings, threads: source.parallel.threads)
                }
                if !source.quiet { printError("t-SNE KL divergence: \(String(format: "%.4f", embedding.klDivergence))") }
                coordinates = embedding.embedding
            }
            try writeCoordinates(coordinates, labels: labels ?? [], title: "\(method == .pca ? "PCA" : "t-SNE") of \(origin)")
            if let projector {
                var metadata: [(name: String, values: [String])] = []
                if let labels { metadata.append(("label", labels)) }
                if let texts { metadata.append(("text", texts)) }
                try ProjectorFiles(features: features, metadata: metadata).write(to: projector, overwrite: force)
            }
        }
    }

    /// The features, their labels if any, their texts if encoded, and the file they came from.
    private func load() throws -> (FeatureMatrix, [String]?, [String]?, String) {
        if source.features != nil {
            let (matrix, labels, _) = try source.precomputed()
            return (matrix, labels, nil, source.features!)
        }
        let path = input!
        let dataset: LabelledDataset? = TextInput.format(of: path) == .lines ? nil : try labelled(path)
        let texts = try dataset?.texts ?? source.texts(path)
        let extractor = try source.encoding.extractor(for: model!)
        let features = try source.encoding.encode(texts, extractor: extractor, cache: source.encoding.cache(for: extractor, model: model!), source: path)
        return (features, dataset?.labels, texts, path)
    }

    /// The file's texts and labels, or nil when it has no label column.
    private func labelled(_ path: String) throws -> LabelledDataset? {
        do {
            return try source.dataset(path)
        } catch let error as FormatError {
            if case TextInputError.missingColumn(let column, _) = error.problem, column == source.labelColumn { return nil }
            throw error
        }
    }

    private func writeCoordinates(_ xy: [Double], labels: [String], title: String) throws {
        let n = xy.count / 2
        switch output.map(fileExtension) {
        case "npy":
            try NPYWriter.write(xy.map(Float.init), shape: [n, 2], to: output!, overwrite: force)
        case "svg":
            try writeOutput(Array(ScatterPlot(points: xy, labels: labels, title: title).svg.utf8), to: output, overwrite: force)
        case "png":
            try writeOutput(ScatterPlot(points: xy, labels: labels, title: title).png.encoded, to: output, overwrite: force)
        default:
            var lines = [labels.isEmpty ? "x\ty" : "x\ty\tlabel"]
            for i in 0..<n { lines.append("\(xy[2 * i])\t\(xy[2 * i + 1])" + (labels.isEmpty ? "" : "\t" + TextInput.tsvCell(labels[i]))) }
            try writeOutput(Array((lines.joined(separator: "\n") + "\n").utf8), to: output, overwrite: force)
        }
    }
}
