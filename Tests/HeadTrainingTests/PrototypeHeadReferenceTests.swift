import CkptSupport
import XCTest
@testable import HeadTraining

/// Centroid and kNN heads and the few-shot protocol against NumPy and scikit-learn on the committed
/// TREC features (tools/make_workbench_fixtures.py). Their similarities run on the matmul engine,
/// so `make test` runs these on every engine.
final class PrototypeHeadReferenceTests: XCTestCase {
    private func checkHead(_ settings: TrainingSettings, reference: JSON, threads: Int) throws {
        let (train, labels, test, _) = try TRECFixtures.all()
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

    /// The sampler draws what the Python port of it draws; centroid and kNN scores equal NumPy's on
    /// every experiment, the linear head's mean accuracy is within half a point of scikit-learn's,
    /// and each head's mean is within one standard deviation of the protocol run with MTEB's sampler.
    func testFewShotMatchesTheReferenceProtocol() throws {
        let (train, labels, test, testLabels) = try TRECFixtures.all()
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
