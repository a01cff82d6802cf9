import CkptSupport
import XCTest
@testable import HeadTraining

/// Cross-validation folds, the grid search and TPE against scikit-learn on the committed TREC
/// features (tools/make_workbench_fixtures.py).
final class WorkbenchReferenceTests: XCTestCase {
    func testFoldsAreScikitLearnsStratifiedKFold() throws {
        let folds = try StratifiedFolds(labels: try TRECFixtures.labels("trec-train"), folds: 5)
        XCTAssertEqual(folds.foldOfRow, try TRECFixtures.workbench()["folds"]!.array!.map { $0.int! })
        XCTAssertThrowsError(try StratifiedFolds(labels: ["a", "b", "a", "b"], folds: 3)) {
            XCTAssertEqual("\($0)", "3 folds but no class has more than 2 examples; use --folds 2 or fewer")
        }
        XCTAssertThrowsError(try StratifiedFolds(labels: ["a", "b"], folds: 2)) {
            XCTAssertEqual("\($0)", "2 folds but every class has a single example; cross-validation needs a class with at least 2")
        }
    }

    /// The grid over λ reaches LogisticRegressionCV's best mean CV accuracy within 0.2 points, and
    /// every λ's within 0.5 points, on the same folds and the same stopping rule, and the refitted
    /// head scores at least as well on the test set; the scores are the same at one and two threads.
    func testGridSearchReachesLogisticRegressionCV() throws {
        let (train, labels, test, testLabels) = try TRECFixtures.all()
        let reference = try TRECFixtures.workbench()["grid"]!
        let validation = CrossValidation(features: train, labels: labels, folds: try StratifiedFolds(labels: labels, folds: 5), metric: .accuracy)
        var settings = SearchSettings()
        settings.strategy = .grid
        let space = try SearchSpace(heads: [.linear])
        let records = try HeadSearch(space: space, validation: validation, settings: settings, threads: 2).run { _ in }
        XCTAssertEqual(records.map { $0.parameters["lambda"]!.number! }, reference["lambdas"]!.array!.map { $0.double! })
        let oneThread = try HeadSearch(space: space, validation: validation, settings: settings, threads: 1).run { _ in }
        XCTAssertEqual(oneThread.map(\.foldScores), records.map(\.foldScores))
        let sklearnScores = reference["cv_accuracy"]!.array!.map { $0.double! }
        for (record, sklearn) in zip(records, sklearnScores) {
            XCTAssertEqual(record.mean, sklearn, accuracy: 0.005, "λ = \(record.parameters["lambda"]!.number!)")
        }
        let best = HeadSearch.best(records)!
        let sklearnBest = sklearnScores.max()!
        XCTAssertGreaterThan(best.mean, sklearnBest - 0.002, "grid best \(best.mean) against LogisticRegressionCV's \(sklearnBest)")
        let search = HeadSearch(space: space, validation: validation, settings: settings, threads: 2)
        let head = try HeadTrainer.train(train, labels: labels, settings: search.trialSettings(best.parameters), threads: 2).head
        XCTAssertGreaterThanOrEqual(try head.report(test, truth: testLabels).accuracy, reference["test_accuracy"]!.double!)
    }

    /// TPE (on the first 1,500 training rows, 3 folds, to keep the test short): the same seed gives
    /// the same trials at any thread count, a different seed other trials, trials below the median
    /// are pruned, and 20 trials come within a point of the grid's best.
    func testTPEIsDeterministicAndFindsTheGoodRegion() throws {
        let (train, labels, _, _) = try TRECFixtures.all()
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
        let (train, labels, _, _) = try TRECFixtures.all()
        let validation = CrossValidation(features: train, labels: labels, folds: try StratifiedFolds(labels: labels, folds: 3), metric: .macroF1)
        var settings = SearchSettings()
        settings.trials = 3
        settings.warmStart = [(["lambda": .number(1e-5), "class_weight": .choice("none")], "study 4 trial 9")]
        let records = try HeadSearch(space: try SearchSpace(heads: [.linear]), validation: validation, settings: settings, threads: 2).run { _ in }
        XCTAssertEqual(records[0].parameters["lambda"], .number(1e-5))
        XCTAssertEqual(records[0].seededBy, "study 4 trial 9")
        XCTAssertNil(records[1].seededBy)
    }
}
