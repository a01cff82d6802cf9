import CkptSupport
import Kernels

/// What a search maximises: accuracy or the macro-averaged F1, as fractions.
public enum SearchMetric: String, Sendable, CaseIterable {
    case accuracy
    case macroF1 = "macro_f1"

    func score(_ report: ClassificationReport) -> Double { self == .accuracy ? report.accuracy : report.macroF1 }
}

/// K-fold cross-validation of head settings on one feature matrix: the folds' training and test
/// rows cut once; folds run side by side, one thread each, and the folds left over when they do not
/// fill the threads share the threads among them. Every fit gives the same result at any thread
/// count, so the scores do not depend on it.
public struct CrossValidation: Sendable {
    public let folds: StratifiedFolds
    public let metric: SearchMetric
    private let parts: [(train: FeatureMatrix, trainLabels: [String], test: FeatureMatrix, testLabels: [String])]
    /// Why the features cannot be trained on (a NaN or infinity), found once here rather than at
    /// every fold's fit; thrown by every call that fits.
    private let unusable: HeadTrainingError?

    public init(features: FeatureMatrix, labels: [String], folds: StratifiedFolds, metric: SearchMetric) {
        self.folds = folds
        self.metric = metric
        do { try features.checkFinite(); unusable = nil } catch { unusable = error }
        parts = (0..<folds.count).map { fold in
            let (train, test) = folds.split(fold)
            return (features.subset(train), train.map { labels[$0] }, features.subset(test), test.map { labels[$0] })
        }
    }

    /// One fold's fit: its score and, for a linear head, the L-BFGS parameters and curvature it
    /// ended with (where a fit of a nearby setting may start).
    struct FoldFit: Sendable {
        var score: Double
        var parameters: [Double]?
        var curvature: Curvature?
    }

    /// The metric on each fold in `which` (in that order) for a head trained with `settings`; each
    /// fold's fit starts from `starts[fold]` (parameters, and curvature if any) when given.
    func scores(_ settings: TrainingSettings, folds which: [Int], starts: [Int: (parameters: [Double], curvature: Curvature?)] = [:],
                threads: Int) throws -> [FoldFit] {
        try mapFolds(which, threads: threads) { fold, part, fitThreads, ownThreads in
            let fit = try HeadTrainer.train(part.train, labels: part.trainLabels, validation: nil, settings: settings, threads: fitThreads,
                                            start: starts[fold]?.parameters, curvature: starts[fold]?.curvature, progress: nil,
                                            checkingFeatures: false)
            return FoldFit(score: metric.score(try fit.head.report(part.test, truth: part.testLabels, threads: ownThreads)),
                           parameters: fit.parameters, curvature: fit.curvature)
        }
    }

    /// Scores of linear heads along `penalties` (see `HeadTrainer.linearPath`; a fit whose start
    /// meets the tolerance goes on to `startedTolerance`) and their solutions (without their curvature:
    /// only the path's next fit begins with it, and no trial starts from a grid point): [penalty][fold].
    func linearPathScores(_ penalties: [Double], settings: TrainingSettings, startedTolerance: Double, threads: Int) throws -> [[FoldFit]] {
        let byFold = try mapFolds(Array(0..<folds.count), threads: threads) { _, part, fitThreads, ownThreads in
            try HeadTrainer.linearPath(part.train, labels: part.trainLabels, penalties: penalties, settings: settings, threads: fitThreads,
                                       checkingFeatures: false, startedTolerance: startedTolerance)
                .map { FoldFit(score: metric.score(try $0.head.report(part.test, truth: part.testLabels, threads: ownThreads)),
                               parameters: $0.parameters) }
        }
        return penalties.indices.map { p in byFold.map { $0[p] } }
    }

    private typealias Part = (train: FeatureMatrix, trainLabels: [String], test: FeatureMatrix, testLabels: [String])

    /// `body(fold, its rows, the threads its fit's objective may use, the threads for its other
    /// work)` on the folds `which`, results in that order. Folds that run side by side pass all the
    /// threads to their objectives: a thread whose fold is done takes slices of the evaluations of
    /// folds still running (`Parallel.forEachIndex` nested in a region), so a short fit does not
    /// leave its core idle while a long one runs; their other work keeps one thread each.
    private func mapFolds<T: Sendable>(_ which: [Int], threads: Int, _ body: @Sendable (Int, Part, Int, Int) throws -> T) throws -> [T] {
        if let unusable { throw unusable }
        let results = ResultSlots<T>(count: which.count)
        let parts = self.parts
        let whole = which.count / threads * threads, rest = which.count - whole
        Parallel.forEachIndex(whole, threads: threads) { i in results.set(i, Result { try body(which[i], parts[which[i]], threads, 1) }) }
        Parallel.forEachIndex(rest, threads: rest) { i in
            results.set(whole + i, Result { try body(which[whole + i], parts[which[whole + i]], threads / rest, threads / rest) })
        }
        return try results.values.map { try $0!.get() }
    }
}
