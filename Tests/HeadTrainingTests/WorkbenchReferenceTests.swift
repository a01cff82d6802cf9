import CkptSupport
import XCTest
@testable import HeadTraining

/// Centroid and kNN heads, cross-validation folds, the grid search and the few-shot protocol
/// against NumPy and scikit-learn on the committed TREC features (tools/make_workbench_fixtures.py).
final class WorkbenchReferenceTests: XCTestCase {
    private func trec() throws -> (FeatureMatrix, [String], FeatureMatrix, [String]) {
        (try TRECFixtures.features("trec-train"), try TRECFixtures.labels("trec-train"),
         try TRECFixtures.features("trec-test"), try TRECFixtures.labels("trec-test"))
    }

    private func checkHead(_ settings: TrainingSettings, reference: JSON, threads: Int) throws {
        let (train, labels, test, _) = try trec()
        let head = try HeadTrainer.train(train, labels: labels, settings: settings).head
        XCTAssertEqual(try head.predictions(test, threads: threads).map { head.labels[$0] }, reference["predictions"]!.array!.map { $0.string! })
        let golden = reference["probabilities"]!.array!.flatMap { $0.array!.map { Float($0.double!) } }
        let worst = zip(try head.probabilities(test, threads: threads), golden).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-5, "largest probability difference from NumPy: \(worst)")
    }

    func testCentroidHeadEqualsNumPy() throws {
        var settings = TrainingSettings()
        settings.head = .centroid
        try checkHead(settings, reference: try TRECFixtures.workbench()["centroid"]!, threads: 2)
    }

    func testKNNHeadsEqualNumPy() throws {
        for (k, voting) in [(10, NeighbourVoting.uniform), (5, .similarity)] {
            var settings = TrainingSettings()
            settings.head = .knn
            settings.neighbours = k
            settings.voting = voting
            for threads in [1, 2] {
                try checkHead(settings, reference: try TRECFixtures.workbench()["knn"]!["\(k)-\(voting.rawValue)"]!, threads: threads)
            }
        }
    }

    func testFoldsAreScikitLearnsStratifiedKFold() throws {
        let folds = try StratifiedFolds(labels: try TRECFixtures.labels("trec-train"), folds: 5)
        XCTAssertEqual(folds.foldOfRow, try TRECFixtures.workbench()["folds"]!.array!.map { $0.int! })
        XCTAssertThrowsError(try StratifiedFolds(labels: ["a", "b", "a", "b"], folds: 3)) {
            XCTAssertEqual("\($0)", "3 folds but no class has more than 2 examples; use --folds 2 or fewer")
        }
    }

    /// The grid over λ reaches LogisticRegressionCV's best mean CV accuracy within 0.2 points, on
    /// the same folds and the same stopping rule, and the refitted head scores at least as well on
    /// the test set; the scores are the same at one and two threads.
    func testGridSearchReachesLogisticRegressionCV() throws {
        let (train, labels, test, testLabels) = try trec()
        let reference = try TRECFixtures.workbench()["grid"]!
        let validation = CrossValidation(features: train, labels: labels, folds: try StratifiedFolds(labels: labels, folds: 5), metric: .accuracy)
        var settings = SearchSettings()
        settings.strategy = .grid
        let space = try SearchSpace(heads: [.linear])
        let records = try HeadSearch(space: space, validation: validation, settings: settings, threads: 2).run { _ in }
        XCTAssertEqual(records.map { $0.parameters["lambda"]!.number! }, reference["lambdas"]!.array!.map { $0.double! })
        let oneThread = try HeadSearch(space: space, validation: validation, settings: settings, threads: 1).run { _ in }
        XCTAssertEqual(oneThread.map(\.foldScores), records.map(\.foldScores))
        let best = HeadSearch.best(records)!
        let sklearnBest = reference["cv_accuracy"]!.array!.map { $0.double! }.max()!
        XCTAssertGreaterThan(best.mean, sklearnBest - 0.002, "grid best \(best.mean) against LogisticRegressionCV's \(sklearnBest)")
        let search = HeadSearch(space: space, validation: validation, settings: settings, threads: 2)
        let head = try HeadTrainer.train(train, labels: labels, settings: search.trialSettings(best.parameters), threads: 2).head
        XCTAssertGreaterThanOrEqual(try head.report(test, truth: testLabels).accuracy, reference["test_accuracy"]!.double!)
    }

    /// TPE (on the first 1,500 training rows, 3 folds, to keep the test short): the same seed gives
    /// the same trials at any thread count, a different seed other trials, trials below the median
    /// are pruned, and 20 trials come within a point of the grid's best.
    func testTPEIsDeterministicAndFindsTheGoodRegion() throws {
        let (train, labels, _, _) = try trec()
        let rows = Array(0..<1500)
        let validation = CrossValidation(features: train.subset(rows), labels: rows.map { labels[$0] },
                                         folds: try StratifiedFolds(labels: rows.map { labels[$0] }, folds: 3), metric: .accuracy)
        let space = try SearchSpace(heads: [.linear, .centroid])
        let run = { (threads: Int, seed: UInt64, strategy: SearchStrategy) throws -> [TrialRecord] in
            var s = SearchSettings()
            s.trials = 20
            s.seed = seed
            s.strategy = strategy
            return try HeadSearch(space: space, validation: validation, settings: s, threads: threads).run { _ in }
        }
        let (a, b, other) = (try run(1, 7, .tpe), try run(2, 7, .tpe), try run(2, 8, .tpe))
        XCTAssertEqual(a.map(\.parameters), b.map(\.parameters))
        XCTAssertEqual(a.map(\.foldScores), b.map(\.foldScores))
        XCTAssertEqual(a.map(\.state), b.map(\.state))
        XCTAssertNotEqual(a.map(\.parameters), other.map(\.parameters))
        XCTAssertEqual(a.count, 20)
        XCTAssertTrue(a.contains { $0.state == .pruned }, "no trial was pruned")
        XCTAssertTrue(a.allSatisfy { $0.state == .complete ? $0.foldScores.count == 3 : $0.foldScores.count == 2 })
        let grid = try run(2, 0, .grid)
        XCTAssertEqual(grid.count, 10)   // nine λ and the centroid
        XCTAssertGreaterThan(HeadSearch.best(a)!.mean, HeadSearch.best(grid)!.mean - 0.01)
    }

    /// A warm start's parameters are the first trials, marked with where they came from.
    func testWarmStartTrialsComeFirst() throws {
        let (train, labels, _, _) = try trec()
        let validation = CrossValidation(features: train, labels: labels, folds: try StratifiedFolds(labels: labels, folds: 3), metric: .macroF1)
        var settings = SearchSettings()
        settings.trials = 3
        settings.warmStart = [(["lambda": .number(1e-5), "class_weight": .choice("none")], "study 4 trial 9")]
        let records = try HeadSearch(space: try SearchSpace(heads: [.linear]), validation: validation, settings: settings, threads: 2).run { _ in }
        XCTAssertEqual(records[0].parameters["lambda"], .number(1e-5))
        XCTAssertEqual(records[0].seededBy, "study 4 trial 9")
        XCTAssertNil(records[1].seededBy)
    }

    /// The sampler draws what the Python port of it draws; centroid and kNN scores equal NumPy's on
    /// every experiment, the linear head's mean accuracy is within half a point of scikit-learn's,
    /// and each head's mean is within one standard deviation of the protocol run with MTEB's sampler.
    func testFewShotMatchesTheReferenceProtocol() throws {
        let (train, labels, test, testLabels) = try trec()
        let reference = try TRECFixtures.workbench()["few_shot"]!
        let samples = FewShotEvaluation.samples(labels: labels, shots: 8, repeats: 10, seed: 42)
        XCTAssertEqual(Array(samples.prefix(2)), reference["samples"]!.array!.map { $0.array!.map { $0.int! } })
        var settings = FewShotSettings()
        settings.repeats = 10
        let results = try FewShotEvaluation.run(train: train, labels: labels, test: test, testLabels: testLabels, settings: settings, threads: 2)
        XCTAssertEqual(results.map(\.head), [.linear, .centroid, .knn])
        for r in results {
            let golden = reference[r.head.rawValue]!
            let accuracy = golden["accuracy"]!.array!.map { $0.double! }, macroF1 = golden["macro_f1"]!.array!.map { $0.double! }
            if r.head == .linear {
                XCTAssertEqual(FewShotScores.mean(r.accuracy), FewShotScores.mean(accuracy), accuracy: 0.005)
            } else {
                XCTAssertEqual(r.accuracy, accuracy, "\(r.head)")
                for (x, y) in zip(r.macroF1, macroF1) { XCTAssertEqual(x, y, accuracy: 1e-12, "\(r.head)") }
            }
            let mteb = try TRECFixtures.workbench()["mteb_protocol"]![r.head.rawValue]!
            XCTAssertEqual(FewShotScores.mean(r.accuracy), mteb["accuracy_mean"]!.double!, accuracy: mteb["accuracy_std"]!.double!, "\(r.head)")
        }
        let oneThread = try FewShotEvaluation.run(train: train, labels: labels, test: test, testLabels: testLabels, settings: settings, threads: 1)
        XCTAssertEqual(oneThread.map(\.accuracy), results.map(\.accuracy))
    }
}
