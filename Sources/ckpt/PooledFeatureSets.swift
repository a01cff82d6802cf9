import HeadTraining
import Transformers

/// The feature sets `tune-head --search-pooling` chooses among: features encoded with every pooling
/// mode side by side (`PoolingMode.allCases` order, not normalised) cut into one set per pooling
/// and normalisation, keyed by `SearchSpace.features(of:)`.
enum PooledFeatureSets {
    static func split(_ train: FeatureMatrix, test: FeatureMatrix?, space: SearchSpace) -> [String: (train: FeatureMatrix, test: FeatureMatrix?)] {
        let width = train.dimension / PoolingMode.allCases.count
        var sets: [String: (train: FeatureMatrix, test: FeatureMatrix?)] = [:]
        for (m, mode) in PoolingMode.allCases.enumerated() {
            for normalize in [false, true] {
                let columns = (m * width)..<((m + 1) * width)
                sets[space.features(of: ["pooling": .choice(mode.rawValue), "normalize": .choice("\(normalize)")])] =
                    (train.columns(columns, normalized: normalize), test?.columns(columns, normalized: normalize))
            }
        }
        return sets
    }
}
