import Foundation
import CkptSupport
import Kernels
import TensorFormats
import Transformers

/// What a training run produced.
public struct TrainingOutcome: Sendable {
    public var head: ClassifierHead
    /// L-BFGS iterations, or AdamW epochs run.
    public var iterations: Int
    /// The training objective at the end (mean weighted loss, plus the L2 term for L-BFGS).
    public var loss: Double
    /// L-BFGS: the gradient tolerance was met (always true for AdamW, which has no such test).
    public var converged: Bool
    /// AdamW with validation: the epoch whose weights were kept, and its validation loss.
    public var bestEpoch: Int?
    public var validationLoss: Double?
    /// L-BFGS: the minimiser's θ in double precision (W [K, D], then b [K]), from which a fit of a
    /// nearby setting can start.
    public var parameters: [Double]?
    /// L-BFGS: the curvature the fit ended with, for a fit of a nearby penalty to begin with.
    var curvature: Curvature?
}

extension TrainingOutcome {
    /// The `training` record of head.json: `settings` (for `rows` training examples) and how the
    /// run went — iterations, final loss, convergence (L-BFGS), the epoch kept (early stopping).
    public func record(settings: TrainingSettings, rows: Int) -> JSON {
        var members = settings.members(rows: rows)
        guard settings.head == .linear || settings.head == .mlp else { return .object(members) }
        members += [("iterations", .number("\(iterations)")), ("final_loss", .number("\(loss)"))]
        if settings.optimizer == .lbfgs { members.append(("converged", .bool(converged))) }
        if let bestEpoch { members.append(("best_epoch", .number("\(bestEpoch)"))) }
        return .object(members)
    }
}

/// Fits a classifier head on frozen features (centroid and kNN heads only store what they need).
public enum HeadTrainer {
    /// Trains on `features` labelled `labels` (strings; classes in code-point order). `validation`
    /// drives early stopping for AdamW (rows with labels unseen in training are left out of it).
    /// `progress` is called after every iteration or epoch with its number. L-BFGS starts from
    /// `start` (the `parameters` of an earlier fit with as many classes) when given, else from zero.
    public static func train(_ features: FeatureMatrix, labels: [String], validation: (FeatureMatrix, [String])? = nil,
                             settings: TrainingSettings, threads: Int = 1, start: [Double]? = nil,
                             progress: ((Int) -> Void)? = nil) throws -> TrainingOutcome {
        try train(features, labels: labels, validation: validation, settings: settings, threads: threads, start: start, progress: progress,
                  checkingFeatures: true)
    }

    /// `train`, leaving the check that `features` are finite to the caller when `checkingFeatures`
    /// is false (cross-validation checks its matrix once, not again at every fold's fit); an L-BFGS
    /// fit from `start` begins with `curvature` when given (see `Curvature`).
    static func train(_ features: FeatureMatrix, labels: [String], validation: (FeatureMatrix, [String])?, settings: TrainingSettings,
                      threads: Int, start: [Double]?, curvature: Curvature? = nil, progress: ((Int) -> Void)?,
                      checkingFeatures: Bool) throws -> TrainingOutcome {
        guard features.rows == labels.count else { throw HeadTrainingError.countMismatch(features: features.rows, labels: labels.count) }
        guard features.rows > 0 else { throw HeadTrainingError.noExamples }
        if checkingFeatures { try features.checkFinite() }
        let classes = LabelledDataset.classes(of: labels)
        guard classes.count >= 2 else { throw HeadTrainingError.singleClass(classes[0]) }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let y = labels.map { index[$0]! }
        let weights = sampleWeights(y, classes: classes.count, weighting: settings.classWeight)
        var valid: (FeatureMatrix, [Int])?
        if let (vf, vl) = validation {
            guard vf.rows == vl.count else { throw HeadTrainingError.countMismatch(features: vf.rows, labels: vl.count) }
            try vf.checkFinite()
            let known = vl.indices.filter { index[vl[$0]] != nil }
            valid = (vf.subset(known), known.map { index[vl[$0]]! })
        }
        switch (settings.head, settings.optimizer) {
        case (.centroid, _):
            let head = ClassifierHead(labels: classes, model: .centroid(NearestCentroid(features: features, labels: y, classes: classes.count)))
            return TrainingOutcome(head: head, iterations: 0, loss: .nan, converged: true)
        case (.knn, _):
            let memory = NearestNeighbours(features: features, labels: y, classes: classes.count, k: settings.neighbours, voting: settings.voting)
            return TrainingOutcome(head: ClassifierHead(labels: classes, model: .neighbours(memory)), iterations: 0, loss: .nan, converged: true)
        case (_, .lbfgs):
            precondition(settings.head == .linear, "L-BFGS fits linear heads only")
            var theta = start.flatMap { $0.count == classes.count * (features.dimension + 1) ? $0 : nil } ?? []
            return fitLBFGS(features, y, classes: classes, weights: weights, penalty: settings.resolvedWeightDecay(rows: features.rows),
                            settings: settings, threads: threads, from: &theta, curvature: theta.isEmpty ? nil : curvature, progress: progress)
        case (_, .adamw):
            return MiniBatchTrainer(features: features, labels: y, classes: classes, sampleWeights: weights, settings: settings)
                .fit(validation: valid, progress: progress)
        }
    }

    static func sampleWeights(_ y: [Int], classes: Int, weighting: ClassWeighting) -> [Double] {
        guard weighting == .balanced else { return [Double](repeating: 1, count: y.count) }
        var counts = [Int](repeating: 0, count: classes)
        for c in y { counts[c] += 1 }
        return y.map { Double(y.count) / Double(classes * counts[$0]) }
    }

    /// L-BFGS from `theta` (zeros when empty), which is left at the minimum found, beginning with
    /// `curvature`'s pairs when given.
    private static func fitLBFGS(_ features: FeatureMatrix, _ y: [Int], classes: [String], weights: [Double], penalty: Double,
                                 settings: TrainingSettings, threads: Int, from theta: inout [Double], curvature: Curvature? = nil,
                                 progress: ((Int) -> Void)?) -> TrainingOutcome {
        let objective = SoftmaxObjective(features: features, labels: y, classes: classes.count, sampleWeights: weights,
                                         penalty: penalty, threads: threads)
        if theta.isEmpty { theta = [Double](repeating: 0, count: objective.parameterCount) }
        let K = classes.count, D = features.dimension
        var optimizer = LBFGS(maxIterations: settings.resolvedEpochs, gradientTolerance: settings.tolerance)
        optimizer.initialPairs = curvature?.pairs(under: penalty, weights: K * D) ?? []
        BLAS.endIdleThreads()   // the fit runs no products, only its own kernels on its own threads
        let outcome = optimizer.minimize(&theta, { objective.evaluate($0, &$1, coarse: $2) }) { iteration, _ in progress?(iteration) }
        let layer = DenseLayer(inputs: D, outputs: K, weight: theta[0..<(K * D)].map(Float.init), bias: theta[(K * D)...].map(Float.init))
        return TrainingOutcome(head: ClassifierHead(labels: classes, layers: [layer]), iterations: outcome.iterations,
                               loss: outcome.value, converged: outcome.converged, parameters: theta,
                               curvature: Curvature(pairs: outcome.pairs, penalty: penalty))
    }

    /// Linear heads for each L2 penalty of `penalties`, fitted in that order, each L-BFGS run
    /// starting from the previous minimum (as scikit-learn's regularisation path does): from the
    /// strongest penalty down, each start is close to the next minimum. Each run also begins with
    /// the curvature the previous one ended with (see `Curvature`), which scikit-learn's path does
    /// not keep. Settings other than the penalty as `train` takes them.
    public static func linearPath(_ features: FeatureMatrix, labels: [String], penalties: [Double], settings: TrainingSettings,
                                  threads: Int) throws -> [TrainingOutcome] {
        try linearPath(features, labels: labels, penalties: penalties, settings: settings, threads: threads, checkingFeatures: true)
    }

    /// `linearPath`, the finiteness check left to the caller when `checkingFeatures` is false (as for
    /// `train`). With `startedTolerance`, a fit whose start (the previous minimum) already meets the
    /// gradient tolerance goes on to that smaller one, so that it does not return its start.
    static func linearPath(_ features: FeatureMatrix, labels: [String], penalties: [Double], settings: TrainingSettings,
                           threads: Int, checkingFeatures: Bool, startedTolerance: Double? = nil) throws -> [TrainingOutcome] {
        guard features.rows == labels.count else { throw HeadTrainingError.countMismatch(features: features.rows, labels: labels.count) }
        if checkingFeatures { try features.checkFinite() }
        let classes = LabelledDataset.classes(of: labels)
        guard classes.count >= 2 else { throw HeadTrainingError.singleClass(classes.first ?? "") }
        let index = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        let y = labels.map { index[$0]! }
        let weights = sampleWeights(y, classes: classes.count, weighting: settings.classWeight)
        // The first fit starts from W = 0 with the bias at the log class shares — the minimum for
        // W = 0, close to the minimum under a strong penalty.
        let D = features.dimension, K = classes.count
        var shares = [Double](repeating: 0, count: K)
        for (row, c) in y.enumerated() { shares[c] += weights[row] }
        var theta = [Double](repeating: 0, count: K * D) + shares.map { log($0 / shares.reduce(0, +)) }
        var outcomes: [TrainingOutcome] = []
        for penalty in penalties {
            let curvature = outcomes.last?.curvature
            var outcome = fitLBFGS(features, y, classes: classes, weights: weights, penalty: penalty, settings: settings, threads: threads,
                                   from: &theta, curvature: curvature, progress: nil)
            if outcome.iterations == 0, let startedTolerance, !outcomes.isEmpty {
                var tighter = settings
                tighter.tolerance = min(settings.tolerance, startedTolerance)
                outcome = fitLBFGS(features, y, classes: classes, weights: weights, penalty: penalty, settings: tighter, threads: threads,
                                   from: &theta, curvature: curvature, progress: nil)
            }
            outcomes.append(outcome)
        }
        return outcomes
    }
}
