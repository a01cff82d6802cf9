/// Problems with training data, features or head files; each message says what to fix.
public enum HeadTrainingError: Error, CustomStringConvertible, Sendable {
    case noExamples
    case singleClass(String)
    case countMismatch(features: Int, labels: Int)
    case nonFiniteFeature(row: Int, column: Int)
    case dimensionMismatch(expected: Int, found: Int)
    case validationTooSmall(fraction: Double)
    case emptyLabel(row: Int)
    case notATable
    case badHeadFile(String)
    case badFeatureFile(String)
    /// Features made otherwise (`these`, e.g. "precision f32") than `whose` (`those`).
    case otherFeatures(these: String, those: String, whose: String)
    case cacheUnwritable(String)

    public var description: String {
        switch self {
        case .noExamples: return "no labelled examples (the file has a header and nothing else?)"
        case .singleClass(let label):
            return "every example has the label '\(label)'; a classifier needs at least two classes"
        case .countMismatch(let features, let labels):
            return "\(features) feature rows but \(labels) labels; they must pair up one to one"
        case .nonFiniteFeature(let row, let column):
            return "feature row \(row) (0-based) holds a NaN or infinite value at column \(column)"
        case .dimensionMismatch(let expected, let found):
            return "features have \(found) columns but the head expects \(expected)"
        case .validationTooSmall(let fraction):
            return "a validation fraction of \(fraction) leaves no validation or no training examples"
        case .notATable: return "labelled data must be .tsv, .csv or .jsonl (a plain text file has no label column)"
        case .emptyLabel(let row): return "data row \(row) (1-based, header excluded) has an empty label"
        case .badHeadFile(let problem), .badFeatureFile(let problem): return problem
        case .otherFeatures(let these, let those, let whose):
            return "these features were made with \(these), but \(whose) with \(those); make them alike (ckpt embed's --pooling, --max-length, --precision)"
        case .cacheUnwritable(let reason):
            return "cannot write the feature cache (\(reason))"
        }
    }
}
