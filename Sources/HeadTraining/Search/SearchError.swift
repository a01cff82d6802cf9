/// Problems with a search's settings or data; each message says what to change.
public enum SearchError: Error, CustomStringConvertible, Sendable {
    case tooFewFolds(Int)
    case classesTooSmall(folds: Int, largest: Int)
    case nothingToSearch

    public var description: String {
        switch self {
        case .tooFewFolds(let folds): return "\(folds) folds: cross-validation needs at least 2"
        case .classesTooSmall(let folds, let largest) where largest < 2:
            return "\(folds) folds but every class has a single example; cross-validation needs a class with at least 2"
        case .classesTooSmall(let folds, let largest):
            return "\(folds) folds but no class has more than \(largest) examples; use --folds \(largest) or fewer"
        case .nothingToSearch: return "the search space is empty; name at least one head with --heads"
        }
    }
}
