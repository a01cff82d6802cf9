import TensorFormats
import XCTest
@testable import HeadTraining

/// The L-BFGS linear head against scikit-learn's LogisticRegression(C=1) on the same features: the
/// same accuracy and macro-F1 (±0.5 point) and, both being at the optimum of the same strictly
/// convex objective, the same test probabilities within 1e-4; and the same head, bit for bit, at
/// one and two threads.
final class LinearHeadReferenceTests: XCTestCase {
    func check(weighting: ClassWeighting, key: String) throws {
        let train = try TRECFixtures.features("trec-train"), test = try TRECFixtures.features("trec-test")
        let trainLabels = try TRECFixtures.labels("trec-train"), testLabels = try TRECFixtures.labels("trec-test")
        var settings = TrainingSettings()
        settings.classWeight = weighting
        let outcome = try HeadTrainer.train(train, labels: trainLabels, settings: settings)
        XCTAssertTrue(outcome.converged, "L-BFGS stopped after \(outcome.iterations) iterations without converging")
        let twoThreads = try HeadTrainer.train(train, labels: trainLabels, settings: settings, threads: 2)
        XCTAssertEqual(twoThreads.head, outcome.head, "the head depends on the thread count")
        let predicted = try outcome.head.predictions(test).map { outcome.head.labels[$0] }
        let report = ClassificationReport(truth: testLabels, predicted: predicted, classes: outcome.head.labels)
        let reference = try TRECFixtures.reference()[key]!
        let sklearn = reference["float16_features"]!
        XCTAssertEqual(outcome.head.labels, try TRECFixtures.reference()["classes"]!.array!.map { $0.string! })
        XCTAssertEqual(report.accuracy, sklearn["accuracy"]!.double!, accuracy: 0.005)
        XCTAssertEqual(report.macroF1, sklearn["macro_f1"]!.double!, accuracy: 0.005)
        // The optimum of a strictly convex problem: probabilities agree row by row.
        let probabilities = try outcome.head.probabilities(test)
        let golden = reference["test_probabilities"]!.array!.flatMap { $0.array!.map { Float($0.double!) } }
        let worst = zip(probabilities, golden).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-4, "largest probability difference from scikit-learn: \(worst)")
    }

    func testUnweightedHeadMatchesScikitLearn() throws { try check(weighting: .none, key: "unweighted") }

    func testBalancedHeadMatchesScikitLearn() throws { try check(weighting: .balanced, key: "balanced") }
}
