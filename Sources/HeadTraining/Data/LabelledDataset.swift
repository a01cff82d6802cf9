import CkptSupport
import Transformers

/// Texts with string labels, read from a TSV/CSV table with a header or from JSONL.
public struct LabelledDataset: Sendable {
    public var texts: [String]
    public var labels: [String]

    public init(texts: [String], labels: [String]) {
        precondition(texts.count == labels.count, "LabelledDataset: texts and labels differ in count")
        self.texts = texts
        self.labels = labels
    }

    /// The `textColumn` and `labelColumn` of every row; errors name the line (see `TextInput`).
    public init(lines: [String], format: TextInput.Format, textColumn: String, labelColumn: String) throws {
        guard format != .lines else { throw HeadTrainingError.notATable }
        let rows = try TextInput.table(lines, format: format, columns: [labelColumn, textColumn])
        self.init(texts: rows.map { $0[1] }, labels: rows.map { $0[0] })
        if let empty = labels.firstIndex(of: "") { throw HeadTrainingError.emptyLabel(row: empty + 1) }
    }

    /// Labels alone, for precomputed features: a label per line of a plain text file, or the
    /// `labelColumn` of a table.
    public static func labels(lines: [String], format: TextInput.Format, labelColumn: String) throws -> [String] {
        let labels = try TextInput.texts(format == .lines ? lines.filter { !$0.isEmpty } : lines, format: format, column: labelColumn)
        if let empty = labels.firstIndex(of: "") { throw HeadTrainingError.emptyLabel(row: empty + 1) }
        return labels
    }

    public var count: Int { texts.count }

    /// The distinct labels in code-point order (as Python's `sorted` and scikit-learn's
    /// `LabelEncoder` order them), which fixes the class order of a head.
    public var classes: [String] { LabelledDataset.classes(of: labels) }

    public static func classes(of labels: [String]) -> [String] {
        Set(labels).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    }

    /// How many examples each class has, in class order.
    public var classCounts: [(label: String, count: Int)] { LabelledDataset.classCounts(of: labels) }

    public static func classCounts(of labels: [String]) -> [(label: String, count: Int)] {
        var counts: [String: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        return classes(of: labels).map { ($0, counts[$0]!) }
    }

    /// The rows at `indices`, in that order.
    public func subset(_ indices: [Int]) -> LabelledDataset {
        LabelledDataset(texts: indices.map { texts[$0] }, labels: indices.map { labels[$0] })
    }
}
