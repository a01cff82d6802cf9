import Kernels

/// Prototypes (Snell et al. 2017) on cosine geometry: each class is the mean of its L2-normalised
/// training features; a row is scored by the cosine between its normalised features and each mean.
/// Probabilities are the softmax of −‖x̂ − ĉ‖² over unit vectors, i.e. of 2·cos.
public struct NearestCentroid: Sendable, Equatable {
    public let dimension: Int
    /// Class means of the normalised training rows, [classes, dimension], class order.
    public let centroids: [Float]

    public init(dimension: Int, centroids: [Float]) {
        precondition(dimension > 0 && centroids.count % dimension == 0, "NearestCentroid: centroids do not fill whole rows")
        self.dimension = dimension
        self.centroids = centroids
    }

    /// The means of the normalised rows of each class (`labels` are class indices below `classes`).
    public init(features: FeatureMatrix, labels: [Int], classes: Int) {
        let D = features.dimension
        let x = FeatureGeometry.normalised(features)
        var sums = [Double](repeating: 0, count: classes * D), counts = [Int](repeating: 0, count: classes)
        for (row, c) in labels.enumerated() {
            counts[c] += 1
            for j in 0..<D { sums[c * D + j] += Double(x.values[row * D + j]) }
        }
        self.init(dimension: D, centroids: (0..<(classes * D)).map { Float(sums[$0] / Double(max(counts[$0 / D], 1))) })
    }

    public var classes: Int { centroids.count / dimension }

    /// Cosine of each row with each centroid, [rows, classes].
    func scores(_ features: FeatureMatrix, threads: Int) -> [Float] {
        let unit = FeatureGeometry.normalised(FeatureMatrix(rows: classes, dimension: dimension, values: centroids))
        return FeatureGeometry.similarities(FeatureGeometry.normalised(features), unit, threads: threads)
    }

    func probabilities(fromScores scores: [Float]) -> [Float] {
        var p = scores.map { 2 * $0 }
        RowKernels.softmaxRows(&p, n: classes)
        return p
    }
}
