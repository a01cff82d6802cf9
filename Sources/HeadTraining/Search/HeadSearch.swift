import CkptSupport
import Foundation

/// How trials are chosen: every point of the grid, or the tree-structured Parzen estimator.
public enum SearchStrategy: String, Sendable, CaseIterable {
    case grid, tpe
}

/// A trial ran on every fold, or was stopped early because it could not beat the median.
public enum TrialState: String, Sendable {
    case complete, pruned
}

/// One evaluated setting.
public struct TrialRecord: Sendable {
    /// 0-based position in the study.
    public var number: Int
    public var parameters: TrialParameters
    /// The metric on each fold evaluated, in fold order (fewer than the folds when pruned).
    public var foldScores: [Double]
    public var state: TrialState
    public var seconds: Double
    /// For a warm-started trial, where its parameters came from.
    public var seededBy: String?
    /// A finished linear trial's L-BFGS solution on each fold.
    public var solutions: [[Double]]?
    /// And the curvature each fold's fit ended with (kept for the best few trials only).
    var curvatures: [Curvature]?

    public var mean: Double { foldScores.reduce(0, +) / Double(max(foldScores.count, 1)) }
    /// The population standard deviation of the fold scores (NumPy's `std`).
    public var std: Double {
        let m = mean
        return (foldScores.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(foldScores.count, 1))).squareRoot()
    }
}

/// What a search does besides the space: how many trials, which metric, seed, time limit, the
/// fits' settings and the parameters to try first.
public struct SearchSettings: Sendable {
    public var strategy: SearchStrategy = .tpe
    /// TPE trials (the grid has as many as it has points).
    public var trials = 30
    public var seed: UInt64 = 0
    /// No trial starts after this many seconds.
    public var timeout: Double?
    /// Median pruning of TPE trials.
    public var prune = true
    /// Settings of every fit besides the searched parameters.
    public var base = TrainingSettings()
    /// Parameters evaluated before any other (warm start), with where each came from.
    public var warmStart: [(parameters: TrialParameters, source: String)] = []

    public init() {}
}

/// A hyper-parameter search by cross-validation. Fits of linear heads stop as scikit-learn's
/// `LogisticRegression` does by default (gradient tolerance 1e-4, at most 100 iterations); refit
/// the best setting on all the data with `trialSettings` too, as `LogisticRegressionCV` does.
public struct HeadSearch: Sendable {
    public let space: SearchSpace
    /// The cross-validation of each feature set, by `SearchSpace.features(of:)` ("" when the
    /// features are not searched); all on the same folds.
    public let validations: [String: CrossValidation]
    public let settings: SearchSettings
    public let threads: Int

    public init(space: SearchSpace, validation: CrossValidation, settings: SearchSettings, threads: Int) {
        self.init(space: space, validations: ["": validation], settings: settings, threads: threads)
    }

    /// A search whose trials pick their features (`space` searches pooling) among `validations`.
    public init(space: SearchSpace, validations: [String: CrossValidation], settings: SearchSettings, threads: Int) {
        self.space = space
        self.validations = validations
        self.settings = settings
        self.threads = max(1, threads)
    }

    /// Median pruning starts after this many finished trials, and never before this many folds.
    static let pruningStartupTrials = 5
    static let pruningWarmupFolds = 2

    /// The gradient tolerance of a TPE trial's fits, which start from another trial's solutions,
    /// and of a grid fit whose start (the path's previous minimum) already meets scikit-learn's
    /// 1e-4. At 1e-4, a start from a λ a few tens of per cent (with large weights, even ten times)
    /// stronger can pass at once, and the fit would repeat the other λ's scores rather than measure its own.
    static let warmStartTolerance = 3e-5
    /// How many of the best finished trials keep their fits' curvature for later trials to begin
    /// with (each holds 2 × 20 vectors of θ's size per fold).
    static let curvatureKeepers = 5

    /// The settings a trial is fitted with on each fold.
    public func trialSettings(_ parameters: TrialParameters) -> TrainingSettings {
        var s = space.settings(for: parameters, base: settings.base)
        if s.optimizer == .lbfgs {
            s.tolerance = 1e-4
            s.epochs = 100
        }
        return s
    }

    /// Runs the study, calling `onTrial` with each trial as it finishes (in trial order).
    public func run(onTrial: (TrialRecord) throws -> Void) throws -> [TrialRecord] {
        let start = Date()
        var records: [TrialRecord] = []
        // The first trial always runs; no other starts after the timeout.
        func timeLeft() -> Bool { records.isEmpty || settings.timeout.map { Date().timeIntervalSince(start) < $0 } ?? true }
        func evaluate(_ number: Int, _ parameters: TrialParameters, seededBy: String?) throws -> TrialRecord {
            try self.evaluate(number, parameters, seededBy: seededBy, history: records)
        }
        func finish(_ record: TrialRecord) throws {
            records.append(record)
            let keepers = Set(records.indices.filter { records[$0].state == .complete }
                .sorted { records[$0].mean > records[$1].mean || (records[$0].mean == records[$1].mean && $0 < $1) }
                .prefix(HeadSearch.curvatureKeepers))
            for i in records.indices where !keepers.contains(i) { records[i].curvatures = nil }
            try onTrial(record)
        }
        switch settings.strategy {
        case .grid:
            let grid = space.grid(base: settings.base)
            let linear = Dictionary(grouping: grid.indices.filter { space.head(of: grid[$0]) == .linear }) { space.features(of: grid[$0]) }
            var path: [Int: (folds: [CrossValidation.FoldFit], seconds: Double)] = [:]
            for (number, parameters) in grid.enumerated() {
                guard timeLeft() else { break }
                let features = space.features(of: parameters)
                if let group = linear[features], number == group.first {
                    // The linear points of one feature set as one path per fold, strongest penalty first.
                    let began = Date()
                    let order = group.sorted { grid[$0]["lambda"]!.number! > grid[$1]["lambda"]!.number! }
                    let scores = try validation(features).linearPathScores(order.map { grid[$0]["lambda"]!.number! },
                                                                           settings: trialSettings(parameters),
                                                                           startedTolerance: HeadSearch.warmStartTolerance, threads: threads)
                    let seconds = Date().timeIntervalSince(began) / Double(group.count)
                    for (i, trial) in order.enumerated() { path[trial] = (scores[i], seconds) }
                }
                if let (folds, seconds) = path[number] {
                    let solutions = folds.compactMap(\.parameters)
                    try finish(TrialRecord(number: number, parameters: parameters, foldScores: folds.map(\.score), state: .complete, seconds: seconds,
                                           solutions: solutions.count == folds.count ? solutions : nil))
                } else {
                    try finish(try evaluate(number, parameters, seededBy: nil))
                }
            }
        case .tpe:
            var sampler = TreeParzenEstimator(space: space, seed: settings.seed)
            var seeds = settings.warmStart[...]
            for number in 0..<settings.trials {
                guard timeLeft() else { break }
                if let seed = seeds.popFirst() {
                    try finish(try evaluate(number, seed.parameters, seededBy: seed.source))
                    continue
                }
                let parameters = sampler.suggest(after: records.map { .init(parameters: $0.parameters, score: $0.state == .complete ? $0.mean : nil) })
                if let earlier = records.first(where: { $0.parameters == parameters && $0.state == .complete }) {
                    // The same setting gives the same scores: reuse them rather than fit again.
                    try finish(TrialRecord(number: number, parameters: parameters, foldScores: earlier.foldScores, state: .complete, seconds: 0,
                                           solutions: earlier.solutions, curvatures: earlier.curvatures))
                } else {
                    try finish(try evaluate(number, parameters, seededBy: nil))
                }
            }
        }
        return records
    }

    /// Cross-validates one trial, folds in groups of `threads`; with pruning on, after each fold
    /// (from the second) the running mean is compared with the median of the finished trials'
    /// running means at that fold, in fold order, so the outcome does not depend on the grouping.
    /// A linear trial's fits start from the solutions of the finished linear trial with the same
    /// class weighting and features nearest in log λ among those with a penalty at least as strong (each fold from
    /// its own) — the direction of a regularisation path, so that a fit stopped by the iteration
    /// limit is no further along than a path would take it — beginning with that trial's
    /// curvature where it was kept, to `warmStartTolerance`.
    private func evaluate(_ number: Int, _ parameters: TrialParameters, seededBy: String?, history: [TrialRecord]) throws -> TrialRecord {
        let began = Date()
        var fit = trialSettings(parameters)
        let finished = history.filter { $0.state == .complete }
        let pruning = settings.strategy == .tpe && settings.prune && finished.count >= HeadSearch.pruningStartupTrials
        let donor = nearestDonor(to: parameters, among: finished)
        if donor != nil { fit.tolerance = min(fit.tolerance, HeadSearch.warmStartTolerance) }
        let validation = self.validation(space.features(of: parameters))
        var scores: [Double] = [], ends: [[Double]] = [], curvatures: [Curvature] = []
        var fold = 0
        func record(_ state: TrialState) -> TrialRecord {
            TrialRecord(number: number, parameters: parameters, foldScores: scores, state: state, seconds: Date().timeIntervalSince(began), seededBy: seededBy)
        }
        while fold < validation.folds.count {
            let group = Array(fold..<min(validation.folds.count, fold + threads))
            let starts = donor.map { d in
                Dictionary(uniqueKeysWithValues: group.map { ($0, (parameters: d.solutions![$0], curvature: d.curvatures?[$0])) })
            }
            let results = try validation.scores(fit, folds: group, starts: starts ?? [:], threads: threads)
            for result in results {
                scores.append(result.score)
                if let p = result.parameters { ends.append(p) }
                if let c = result.curvature { curvatures.append(c) }
                if pruning && scores.count >= HeadSearch.pruningWarmupFolds && scores.count < validation.folds.count {
                    let running = scores.reduce(0, +) / Double(scores.count)
                    let others = finished.map { $0.foldScores.prefix(scores.count).reduce(0, +) / Double(scores.count) }
                    if running < HeadSearch.median(others) { return record(.pruned) }
                }
            }
            fold += group.count
        }
        var finishedRecord = record(.complete)
        finishedRecord.solutions = ends.count == validation.folds.count ? ends : nil
        finishedRecord.curvatures = curvatures.count == validation.folds.count ? curvatures : nil
        return finishedRecord
    }

    private func nearestDonor(to parameters: TrialParameters, among finished: [TrialRecord]) -> TrialRecord? {
        guard let lambda = parameters["lambda"]?.number else { return nil }
        let donors = finished.filter {
            $0.solutions != nil && $0.parameters["class_weight"] == parameters["class_weight"] && $0.parameters["lambda"]!.number! >= lambda
                && space.features(of: $0.parameters) == space.features(of: parameters)
        }
        let nearest = donors.min { abs(log($0.parameters["lambda"]!.number! / lambda)) < abs(log($1.parameters["lambda"]!.number! / lambda)) }
        return nearest
    }

    private func validation(_ features: String) -> CrossValidation {
        guard let validation = validations[features] else { preconditionFailure("HeadSearch: no features '\(features)' to cross-validate on") }
        return validation
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// Where a refit of `trial` on all the data may start: the mean of its fold solutions (as
    /// `LogisticRegressionCV` starts its refit), nil for trials without them.
    public static func refitStart(_ trial: TrialRecord) -> [Double]? {
        guard let folds = trial.solutions, let first = folds.first else { return nil }
        return first.indices.map { i in folds.reduce(0) { $0 + $1[i] } / Double(folds.count) }
    }

    /// The best finished trial: the highest mean, the earlier on ties.
    public static func best(_ records: [TrialRecord]) -> TrialRecord? {
        records.filter { $0.state == .complete }.reduce(nil) { best, r in best.map { r.mean > $0.mean ? r : $0 } ?? r }
    }
}
