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
/// on-disk feature cache), or a precomputed matrix with its labels. The encoding options' values
/// read as its own (`inputs.quiet`, `inputs.parallel`).
@dynamicMemberLookup
struct FeatureOptions: ParsableArguments {
    @Option(help: "Features precomputed in a .npy (or the one tensor of a .safetensors/.npz), instead of encoding texts.")
    var features: String?

    @Option(help: "Labels for --features: a label per line, or a .tsv/.csv/.jsonl with --label-column.")
    var labels: String?

    @Option(help: "Column (TSV/CSV) or field (JSONL) holding the text.")
    var textColumn: String = "text"

    @Option(help: "Column (TSV/CSV) or field (JSONL) holding the label.")
    var labelColumn: String = "label"

    @OptionGroup var encoding: EncodingOptions

    subscript<T>(dynamicMember path: KeyPath<EncodingOptions, T>) -> T { encoding[keyPath: path] }

    /// Rows of a labelled file (texts and labels).
    func dataset(_ path: String) throws -> LabelledDataset {
        let lines = try InputLines.lines(of: path, quiet: encoding.quiet)
        return try attributing(to: path) {
            try LabelledDataset(lines: lines, format: TextInput.format(of: path), textColumn: textColumn, labelColumn: labelColumn)
        }
    }

    /// Texts of an input file (a text per line, or the text column of a table).
    func texts(_ path: String) throws -> [String] { try encoding.texts(path, column: textColumn) }

    /// The precomputed features, their labels (`--features`, `--labels`) and how they were made, when the file says.
    func precomputed() throws -> (features: FeatureMatrix, labels: [String]?, origin: FeatureOrigin?) {
        let file = try Checkpoint(path: features!)
        let matrix = try FeatureMatrix(checkpoint: file), origin = try FeatureOrigin(checkpoint: file)
        guard let labels else { return (matrix, nil, origin) }
        let lines = try InputLines.lines(of: labels, quiet: encoding.quiet)
        let values = try attributing(to: labels) {
            try LabelledDataset.labels(lines: lines, format: TextInput.format(of: labels), labelColumn: labelColumn)
        }
        guard values.count == matrix.rows else {
            throw FormatError(file: labels, HeadTrainingError.countMismatch(features: matrix.rows, labels: values.count))
        }
        return (matrix, values, origin)
    }

    /// The precomputed features and labels for `saved`, the head in `head`; features that record
    /// another pooling or precision than its training features had are an error.
    func precomputed(for saved: SavedHead, head: String) throws -> (features: FeatureMatrix, labels: [String]?) {
        let given = try precomputed()
        if let (these, trained) = given.origin?.difference(from: saved.pooling, saved.precision) {
            throw FormatError(file: features!, HeadTrainingError.otherFeatures(these: these, those: trained, whose: "the head's training features (\(head))"))
        }
        return (given.features, given.labels)
    }
}

/// The model directory a saved head's features come from: `--model`, else the one in head.json.
func modelDirectory(for saved: SavedHead, override: String?, head: String) throws -> String {
    if let override { return override }
    guard let model = saved.model else {
        throw FormatError(file: head, HeadTrainingError.badHeadFile("this head was trained on precomputed features; pass --features, or --model to encode texts"))
    }
    return model
}
