import XCTest
@testable import HeadTraining

/// A linear fit beginning with a nearby penalty's L-BFGS curvature, TPE trials that start from a
/// finished trial's solutions, and grid fits whose start is the path's previous minimum.
final class CurvatureTests: XCTestCase {
    /// The first 1,500 rows of the TREC training features and their labels.
    private static func firstTRECRows() throws -> (FeatureMatrix, [String]) {
        let (train, labels, _, _) = try TRECFixtures.all()
        let rows = Array(0..<1500)
        return (train.subset(rows), rows.map { labels[$0] })
    }

    func testPairsMoveByThePenaltyChangeOverTheWeightsOnly() {
        let curvature = Curvature(pairs: [LBFGS.CorrectionPair(s: [1, 2, 3], y: [4, 5, 6], rho: 1.0 / 32)], penalty: 0.5)
        let moved = curvature.pairs(under: 0.25, weights: 2)
        XCTAssertEqual(moved.map(\.y), [[3.75, 4.5, 6]])
        XCTAssertEqual(moved[0].rho, 1 / (3.75 + 9 + 18))
        // A pair whose sᵀy would turn non-positive is dropped rather than kept with a negative ρ.
        XCTAssertTrue(Curvature(pairs: [LBFGS.CorrectionPair(s: [1], y: [0.1], rho: 10)], penalty: 1).pairs(under: 0, weights: 1).isEmpty)
    }

    /// From the solution of a nearby penalty, beginning with its curvature reaches the same minimum
    /// as beginning with none, at the tolerance of TPE trials that start so. (Whether it takes fewer
    /// iterations varies from fit to fit; over TPE studies it takes fewer: BENCHMARKS.md.)
    func testANearbyPenaltysCurvatureReachesTheSameMinimum() throws {
        let (x, y) = try Self.firstTRECRows()
        var settings = TrainingSettings()
        settings.tolerance = 1e-8
        settings.epochs = 1000
        settings.weightDecay = 1e-4
        let donor = try HeadTrainer.train(x, labels: y, validation: nil, settings: settings, threads: 2, start: nil, progress: nil,
                                          checkingFeatures: true)
        settings.weightDecay = 7e-5
        settings.tolerance = HeadSearch.warmStartTolerance
        let plain = try HeadTrainer.train(x, labels: y, validation: nil, settings: settings, threads: 2, start: donor.parameters,
                                          progress: nil, checkingFeatures: true)
        let curved = try HeadTrainer.train(x, labels: y, validation: nil, settings: settings, threads: 2, start: donor.parameters,
                                           curvature: donor.curvature, progress: nil, checkingFeatures: true)
        XCTAssertTrue(plain.converged && curved.converged)
        XCTAssertEqual(curved.loss, plain.loss, accuracy: 1e-5 * abs(plain.loss))
    }

    /// A TPE trial whose λ is close to a finished trial's does not stop where that trial ended: its
    /// fits move on to its own λ (their solutions differ from the donor's on every fold).
    func testAWarmStartedTrialMeasuresItsOwnPenalty() throws {
        let (x, trainLabels) = try Self.firstTRECRows()
        let validation = CrossValidation(features: x, labels: trainLabels,
                                         folds: try StratifiedFolds(labels: trainLabels, folds: 3), metric: .accuracy)
        var settings = SearchSettings()
        settings.warmStart = [1e-4, 8e-5].map { (parameters: ["lambda": .number($0), "class_weight": .choice("none")], source: "test") }
        settings.trials = 2
        let records = try HeadSearch(space: try SearchSpace(heads: [.linear]), validation: validation, settings: settings, threads: 2).run { _ in }
        let (donor, trial) = (records[0].solutions!, records[1].solutions!)
        for fold in 0..<3 { XCTAssertTrue(donor[fold] != trial[fold], "fold \(fold) repeated the donor's solution") }
    }

    /// Along the grid's path, the fit of a penalty whose start (the previous penalty's minimum)
    /// already meets the 1e-4 tolerance goes on to the warm-start tolerance instead of returning
    /// its start: on the TREC features at λ = 1e-5 then 0.99e-5, the start passes at 1e-4.
    func testAPathFitWhoseStartPassesMeasuresItsOwnPenalty() throws {
        let (x, y) = try Self.firstTRECRows()
        var settings = TrainingSettings()
        settings.tolerance = 1e-4
        settings.epochs = 100
        let path = { (started: Double?) in
            try HeadTrainer.linearPath(x, labels: y, penalties: [1e-5, 0.99e-5], settings: settings, threads: 2, checkingFeatures: true,
                                       startedTolerance: started)
        }
        let (plain, started) = (try path(nil), try path(HeadSearch.warmStartTolerance))
        XCTAssertEqual(plain[1].iterations, 0)
        XCTAssertEqual(plain[1].parameters, plain[0].parameters)
        XCTAssertGreaterThan(started[1].iterations, 0)
        XCTAssertNotEqual(started[1].parameters, started[0].parameters)
    }

    /// Along the grid's path each fit begins with the curvature the previous penalty's fit ended
    /// with: on the TREC features it reaches the minimum that a fit from the same start without
    /// that curvature reaches, in fewer iterations over the path.
    func testPathFitsBeginWithThePreviousPenaltysCurvature() throws {
        let (x, y) = try Self.firstTRECRows()
        var settings = TrainingSettings()
        settings.tolerance = 1e-6
        settings.epochs = 1000
        let penalties = [1e-2, 1e-3, 1e-4]
        let path = try HeadTrainer.linearPath(x, labels: y, penalties: penalties, settings: settings, threads: 2)
        var plainIterations = 0
        for i in 1..<penalties.count {
            var alone = settings
            alone.weightDecay = penalties[i]
            let plain = try HeadTrainer.train(x, labels: y, validation: nil, settings: alone, threads: 2, start: path[i - 1].parameters,
                                              progress: nil, checkingFeatures: true)
            XCTAssertTrue(plain.converged && path[i].converged)
            XCTAssertEqual(path[i].loss, plain.loss, accuracy: 1e-7 * abs(plain.loss), "λ = \(penalties[i])")
            plainIterations += plain.iterations
        }
        XCTAssertLessThan(path[1...].reduce(0) { $0 + $1.iterations }, plainIterations)
    }
}
