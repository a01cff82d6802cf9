import Kernels
import Transformers

/// The head shapes: a linear softmax classifier, one hidden ReLU layer before it, the nearest
/// class mean (cosine), or the k nearest training rows (cosine).
public enum HeadKind: String, Sendable, CaseIterable {
    case linear, mlp, centroid, knn
}

/// A classifier on frozen features. Network heads are `nn.Linear(D, K)`, or
/// `nn.Sequential(nn.Linear(D, H), nn.ReLU(), nn.Linear(H, K))` (dropout acts only while training,
/// so it has no module here and the layer names stay `0.*` and `2.*`). Scores are over `labels`,
/// in that order: logits for network heads, cosines for centroids, votes for kNN.
public struct ClassifierHead: Sendable, Equatable {
    /// What the head computes with.
    public enum Model: Sendable, Equatable {
        case network([DenseLayer])
        case centroid(NearestCentroid)
        case neighbours(NearestNeighbours)
    }

    public var labels: [String]
    public var model: Model

    public init(labels: [String], model: Model) {
        switch model {
        case .network(let layers):
            precondition(!layers.isEmpty && layers.count <= 2 && layers.last!.outputs == labels.count, "ClassifierHead: layers do not fit the labels")
        case .centroid(let centroid): precondition(centroid.classes == labels.count, "ClassifierHead: centroids do not fit the labels")
        case .neighbours(let neighbours): precondition(neighbours.classes == labels.count, "ClassifierHead: neighbours do not fit the labels")
        }
        self.labels = labels
        self.model = model
    }

    public init(labels: [String], layers: [DenseLayer]) { self.init(labels: labels, model: .network(layers)) }

    public var kind: HeadKind {
        switch model {
        case .network(let layers): return layers.count == 1 ? .linear : .mlp
        case .centroid: return .centroid
        case .neighbours: return .knn
        }
    }

    /// Length of the feature vectors the head takes.
    public var dimension: Int {
        switch model {
        case .network(let layers): return layers[0].inputs
        case .centroid(let centroid): return centroid.dimension
        case .neighbours(let neighbours): return neighbours.memory.dimension
        }
    }

    /// Scores [rows, classes]: logits (network heads), cosines to the class means (centroid), or
    /// votes (kNN).
    public func logits(_ features: FeatureMatrix, threads: Int = 1) throws -> [Float] {
        try checkDimension(features)
        switch model {
        case .network(let layers):
            var x = features.values
            for (i, layer) in layers.enumerated() {
                x = layer.forward(x, rows: features.rows)
                if i < layers.count - 1 { for j in x.indices where x[j] < 0 { x[j] = 0 } }
            }
            return x
        case .centroid(let centroid): return centroid.scores(features, threads: threads)
        case .neighbours(let neighbours): return neighbours.tally(features, threads: threads).votes
        }
    }

    /// Class probabilities [rows, classes].
    public func probabilities(_ features: FeatureMatrix, threads: Int = 1) throws -> [Float] {
        probabilities(fromLogits: try logits(features, threads: threads))
    }

    /// Class probabilities from scores already computed: the softmax of the logits, the softmax of
    /// 2·cos (centroid), the vote shares (kNN).
    public func probabilities(fromLogits logits: [Float]) -> [Float] {
        switch model {
        case .network:
            var p = logits
            RowKernels.softmaxRows(&p, n: labels.count)
            return p
        case .centroid(let centroid): return centroid.probabilities(fromScores: logits)
        case .neighbours(let neighbours): return neighbours.probabilities(fromScores: logits)
        }
    }

    /// Scores of the head's predictions on `features` against their true labels.
    public func report(_ features: FeatureMatrix, truth: [String], threads: Int = 1) throws -> ClassificationReport {
        ClassificationReport(truth: truth, predicted: try predictions(features, threads: threads).map { labels[$0] }, classes: labels)
    }

    /// The predicted class of each row: the highest score (the first on ties, as `argmax`); for
    /// kNN, ties in votes go to the larger summed similarity.
    public func predictions(_ features: FeatureMatrix, threads: Int = 1) throws -> [Int] {
        if case .neighbours(let neighbours) = model {
            try checkDimension(features)
            return neighbours.predictions(features, threads: threads)
        }
        let logits = try logits(features, threads: threads)
        let K = labels.count
        return (0..<features.rows).map { row in
            var best = 0
            for k in 1..<K where logits[row * K + k] > logits[row * K + best] { best = k }
            return best
        }
    }

    private func checkDimension(_ features: FeatureMatrix) throws {
        guard features.dimension == dimension else { throw HeadTrainingError.dimensionMismatch(expected: dimension, found: features.dimension) }
    }
}
