import CkptSupport
import Kernels

/// How a few-shot evaluation runs: `shots` examples per label, `repeats` experiments, the heads
/// fitted on each sample.
public struct FewShotSettings: Sendable {
    public var shots = 8
    public var repeats = 10
    public var heads: [HeadKind] = [.linear, .centroid, .knn]
    public var seed: UInt64 = 42
    /// Settings of the fits (head and optimizer set per head).
    public var base = TrainingSettings()

    public init() {}
}

/// The scores of one head over the experiments.
public struct FewShotScores: Sendable {
    public var head: HeadKind
    /// Accuracy and macro-F1 of each experiment, as fractions.
    public var accuracy: [Double]
    public var macroF1: [Double]

    public static func mean(_ x: [Double]) -> Double { x.reduce(0, +) / Double(max(x.count, 1)) }
    /// The population standard deviation (NumPy's `std`).
    public static func std(_ x: [Double]) -> Double {
        let m = mean(x)
        return (x.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(x.count, 1))).squareRoot()
    }
}

/// The few-shot protocol of MTEB's classification tasks: for each of R experiments, shuffle the
/// training row indices — the shuffled order carried from one experiment to the next — and keep
/// the first K rows of each label in that order; fit each head on those rows and score it on the
/// whole test set. The shuffle is `SeededRandom`'s Fisher–Yates permutation applied to the current
/// order (one generator for the run, seeded once), where MTEB uses NumPy's global generator.
/// The linear head is MTEB's `LogisticRegression(max_iter=100)`: λ = 1/n, gradient tolerance 1e-4,
/// at most 100 L-BFGS iterations.
public enum FewShotEvaluation {
    /// The training rows of each experiment, in sampled order.
    public static func samples(labels: [String], shots: Int, repeats: Int, seed: UInt64) -> [[Int]] {
        var random = SeededRandom(seed: seed)
        var order = Array(labels.indices)
        return (0..<repeats).map { _ in
            let permutation = random.permutation(order.count)
            order = permutation.map { order[$0] }
            var taken: [String: Int] = [:]
            return order.filter { row in
                guard taken[labels[row], default: 0] < shots else { return false }
                taken[labels[row], default: 0] += 1
                return true
            }
        }
    }

    /// Runs the protocol; experiments share the threads, one fit per thread, so the scores do not
    /// depend on the thread count.
    public static func run(train: FeatureMatrix, labels: [String], test: FeatureMatrix, testLabels: [String],
                           settings: FewShotSettings, threads: Int) throws -> [FewShotScores] {
        guard train.rows == labels.count else { throw HeadTrainingError.countMismatch(features: train.rows, labels: labels.count) }
        guard test.rows == testLabels.count else { throw HeadTrainingError.countMismatch(features: test.rows, labels: testLabels.count) }
        guard test.dimension == train.dimension else { throw HeadTrainingError.dimensionMismatch(expected: train.dimension, found: test.dimension) }
        try train.checkFinite()
        try test.checkFinite()
        let samples = self.samples(labels: labels, shots: settings.shots, repeats: settings.repeats, seed: settings.seed)
        let jobs = samples.indices.flatMap { r in settings.heads.indices.map { (r, $0) } }
        let results = ResultSlots<(Double, Double)>(count: jobs.count)
        Parallel.forEachIndex(jobs.count, threads: threads) { job in
            let (r, h) = jobs[job]
            results.set(job, Result {
                let rows = samples[r]
                let fit = try HeadTrainer.train(train.subset(rows), labels: rows.map { labels[$0] },
                                                settings: headSettings(settings.heads[h], settings.base), threads: 1)
                let report = try fit.head.report(test, truth: testLabels, threads: 1)
                return (report.accuracy, report.macroF1)
            })
        }
        let scores = try results.values.map { try $0!.get() }
        return settings.heads.indices.map { h in
            let mine = jobs.indices.filter { jobs[$0].1 == h }.map { scores[$0] }
            return FewShotScores(head: settings.heads[h], accuracy: mine.map(\.0), macroF1: mine.map(\.1))
        }
    }

    static func headSettings(_ head: HeadKind, _ base: TrainingSettings) -> TrainingSettings {
        var s = base
        s.head = head
        s.optimizer = head == .mlp ? .adamw : .lbfgs
        if head == .linear {
            s.epochs = 100
            s.tolerance = 1e-4
        }
        return s
    }
}
