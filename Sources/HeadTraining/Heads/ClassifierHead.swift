import Kernels
import Transformers

/// The two head shapes: a linear softmax classifier, or one hidden ReLU layer before it.
public enum HeadKind: String, Sendable, CaseIterable {
    case linear, mlp
}

/// A classifier on frozen features: `nn.Linear(D, K)`, or `nn.Sequential(nn.Linear(D, H),
/// nn.ReLU(), nn.Linear(H, K))` (dropout acts only while training, so it has no module here and
/// the layer names stay `0.*` and `2.*`). Outputs are logits over `labels`, in that order.
public struct ClassifierHead: Sendable, Equatable {
    public var labels: [String]
    public var layers: [DenseLayer]

    public init(labels: [String], layers: [DenseLayer]) {
        precondition(!layers.isEmpty && layers.count <= 2 && layers.last!.outputs == labels.count, "ClassifierHead: layers do not fit the labels")
        self.labels = labels
        self.layers = layers
    }

    public var kind: HeadKind { layers.count == 1 ? .linear : .mlp }
    /// Length of the feature vectors the head takes.
    public var dimension: Int { layers[0].inputs }

    /// Logits [rows, classes].
    public func logits(_ features: FeatureMatrix) throws -> [Float] {
        guard features.dimension == dimension else { throw HeadTrainingError.dimensionMismatch(expected: dimension, found: features.dimension) }
        var x = features.values
        for (i, layer) in layers.enumerated() {
            x = layer.forward(x, rows: features.rows)
            if i < layers.count - 1 { for j in x.indices where x[j] < 0 { x[j] = 0 } }
        }
        return x
    }

    /// Class probabilities [rows, classes]: the softmax of the logits.
    public func probabilities(_ features: FeatureMatrix) throws -> [Float] { probabilities(fromLogits: try logits(features)) }

    /// The softmax of logits [rows, classes] already computed.
    public func probabilities(fromLogits logits: [Float]) -> [Float] {
        var p = logits
        RowKernels.softmaxRows(&p, n: labels.count)
        return p
    }

    /// Scores of the head's predictions on `features` against their true labels.
    public func report(_ features: FeatureMatrix, truth: [String]) throws -> ClassificationReport {
        ClassificationReport(truth: truth, predicted: try predictions(features).map { labels[$0] }, classes: labels)
    }

    /// The most probable class of each row (the first on ties, as `argmax`).
    public func predictions(_ features: FeatureMatrix) throws -> [Int] {
        let logits = try logits(features)
        let K = labels.count
        return (0..<features.rows).map { row in
            var best = 0
            for k in 1..<K where logits[row * K + k] > logits[row * K + best] { best = k }
            return best
        }
    }
}
