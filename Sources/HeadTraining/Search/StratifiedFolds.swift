/// Cross-validation folds that keep each class's share: the test folds of scikit-learn's
/// `StratifiedKFold(n_splits)` without shuffling, row for row. Classes are numbered in order of
/// first appearance; with the labels sorted by that number, the i-th of every `folds` labels goes
/// to fold i, and each class hands its fold places to its rows in file order.
public struct StratifiedFolds: Sendable, Equatable {
    public let count: Int
    /// The test fold of each row.
    public let foldOfRow: [Int]

    public init(labels: [String], folds: Int) throws {
        guard folds >= 2 else { throw SearchError.tooFewFolds(folds) }
        var firstSeen: [String: Int] = [:]
        let encoded = labels.map { label -> Int in
            if let c = firstSeen[label] { return c }
            firstSeen[label] = firstSeen.count
            return firstSeen.count - 1
        }
        let classes = firstSeen.count
        var counts = [Int](repeating: 0, count: classes)
        for c in encoded { counts[c] += 1 }
        guard let largest = counts.max(), largest >= folds else { throw SearchError.classesTooSmall(folds: folds, largest: counts.max() ?? 0) }
        // allocation[i][c]: how many rows of class c fold i tests, from the sorted labels taken every `folds`-th.
        var allocation = [[Int]](repeating: [Int](repeating: 0, count: classes), count: folds)
        var position = 0
        for c in 0..<classes {
            for _ in 0..<counts[c] {
                allocation[position % folds][c] += 1
                position += 1
            }
        }
        let places = (0..<classes).map { c in (0..<folds).flatMap { Array(repeating: $0, count: allocation[$0][c]) } }
        var next = [Int](repeating: 0, count: classes)
        var foldOfRow = [Int](repeating: 0, count: labels.count)
        for (row, c) in encoded.enumerated() {
            foldOfRow[row] = places[c][next[c]]
            next[c] += 1
        }
        count = folds
        self.foldOfRow = foldOfRow
    }

    /// Rows trained on and rows tested in `fold`, each in increasing order.
    public func split(_ fold: Int) -> (train: [Int], test: [Int]) {
        (foldOfRow.indices.filter { foldOfRow[$0] != fold }, foldOfRow.indices.filter { foldOfRow[$0] == fold })
    }
}
