import Kernels

/// Holding out part of the training data for validation.
public enum ValidationSplit {
    /// Row indices for training and validation: from each class, round(fraction · its count) rows
    /// drawn by the seeded generator, so every class keeps its share on both sides. Both lists are
    /// in increasing order.
    public static func stratified(labels: [String], fraction: Double, seed: UInt64) throws -> (train: [Int], valid: [Int]) {
        var random = SeededRandom(seed: seed)
        var valid: [Int] = []
        for label in LabelledDataset.classes(of: labels) {
            let rows = labels.indices.filter { labels[$0] == label }
            let take = Int((fraction * Double(rows.count)).rounded())
            valid += random.permutation(rows.count).prefix(take).map { rows[$0] }
        }
        let held = Set(valid)
        let train = labels.indices.filter { !held.contains($0) }
        guard !valid.isEmpty, !train.isEmpty else { throw HeadTrainingError.validationTooSmall(fraction: fraction) }
        return (train, valid.sorted())
    }

    /// `features` and `labels` (row for row) split as `stratified` splits the labels.
    public static func split(_ features: FeatureMatrix, labels: [String], fraction: Double, seed: UInt64) throws
        -> (train: (FeatureMatrix, [String]), valid: (FeatureMatrix, [String])) {
        let rows = try stratified(labels: labels, fraction: fraction, seed: seed)
        return ((features.subset(rows.train), rows.train.map { labels[$0] }), (features.subset(rows.valid), rows.valid.map { labels[$0] }))
    }
}
