import Foundation
import TensorFormats
import XCTest
import Kernels
@testable import HeadTraining
import Transformers

final class HeadTrainingTests: XCTestCase {
    /// Two separable blobs in 3-D: class "a" around +1, "b" around −1.
    func blobs(_ n: Int = 40) -> (FeatureMatrix, [String]) {
        var random = SeededRandom(seed: 7)
        var values: [Float] = [], labels: [String] = []
        for i in 0..<n {
            let sign: Float = i % 2 == 0 ? 1 : -1
            for _ in 0..<3 { values.append(sign + (random.nextFloat() - 0.5)) }
            labels.append(i % 2 == 0 ? "a" : "b")
        }
        return (FeatureMatrix(rows: n, dimension: 3, values: values), labels)
    }

    func mlpSettings(seed: UInt64) -> TrainingSettings {
        var settings = TrainingSettings()
        settings.head = .mlp
        settings.optimizer = .adamw
        settings.epochs = 4
        settings.seed = seed
        return settings
    }

    func testSameSeedGivesTheSameHeadAndAnotherSeedAnother() throws {
        let train = try TRECFixtures.features("trec-train"), labels = try TRECFixtures.labels("trec-train")
        let rows = Array(0..<400)
        let subset = train.subset(rows), subsetLabels = rows.map { labels[$0] }
        let first = try HeadTrainer.train(subset, labels: subsetLabels, settings: mlpSettings(seed: 3), threads: 2).head
        let second = try HeadTrainer.train(subset, labels: subsetLabels, settings: mlpSettings(seed: 3), threads: 2).head
        let other = try HeadTrainer.train(subset, labels: subsetLabels, settings: mlpSettings(seed: 4), threads: 2).head
        XCTAssertEqual(first, second)
        XCTAssertNotEqual(first, other)
    }

    func testMLPHeadLearnsTREC() throws {
        let train = try TRECFixtures.features("trec-train"), test = try TRECFixtures.features("trec-test")
        let labels = try TRECFixtures.labels("trec-train"), testLabels = try TRECFixtures.labels("trec-test")
        var settings = mlpSettings(seed: 0)
        settings.epochs = 8
        let (trainPart, validPart) = try ValidationSplit.stratified(labels: labels, fraction: 0.1, seed: 0)
        let outcome = try HeadTrainer.train(train.subset(trainPart), labels: trainPart.map { labels[$0] },
                                            validation: (train.subset(validPart), validPart.map { labels[$0] }), settings: settings)
        let predicted = try outcome.head.predictions(test).map { outcome.head.labels[$0] }
        let accuracy = ClassificationReport(truth: testLabels, predicted: predicted, classes: outcome.head.labels).accuracy
        XCTAssertGreaterThan(accuracy, 0.88, "MLP head test accuracy \(accuracy)")
        XCTAssertNotNil(outcome.bestEpoch)
    }

    func testAdamWLinearHeadSeparatesBlobs() throws {
        let (features, labels) = blobs()
        var settings = TrainingSettings()
        settings.optimizer = .adamw
        settings.learningRate = 0.05
        settings.epochs = 30
        let head = try HeadTrainer.train(features, labels: labels, settings: settings).head
        XCTAssertEqual(try head.predictions(features).map { head.labels[$0] }, labels)
    }

    func testBadTrainingDataIsRefused() throws {
        let (features, labels) = blobs()
        XCTAssertThrowsError(try HeadTrainer.train(features, labels: labels.map { _ in "only" }, settings: TrainingSettings())) {
            XCTAssertEqual("\($0)", "every example has the label 'only'; a classifier needs at least two classes")
        }
        XCTAssertThrowsError(try HeadTrainer.train(features, labels: Array(labels.dropLast()), settings: TrainingSettings())) {
            XCTAssertEqual("\($0)", "40 feature rows but 39 labels; they must pair up one to one")
        }
        XCTAssertThrowsError(try HeadTrainer.train(FeatureMatrix(rows: 0, dimension: 3, values: []), labels: [], settings: TrainingSettings())) {
            XCTAssertEqual("\($0)", "no labelled examples (the file has a header and nothing else?)")
        }
        var poisoned = features
        poisoned.values[7] = .nan
        XCTAssertThrowsError(try HeadTrainer.train(poisoned, labels: labels, settings: TrainingSettings())) {
            XCTAssertEqual("\($0)", "feature row 2 (0-based) holds a NaN or infinite value at column 1")
        }
        // Cross-validation checks its matrix once, and every fit it would run refuses it.
        let folds = try StratifiedFolds(labels: labels, folds: 2)
        let validation = CrossValidation(features: poisoned, labels: labels, folds: folds, metric: .accuracy)
        XCTAssertThrowsError(try validation.scores(TrainingSettings(), folds: [0], threads: 1)) {
            XCTAssertEqual("\($0)", "feature row 2 (0-based) holds a NaN or infinite value at column 1")
        }
        XCTAssertThrowsError(try validation.linearPathScores([1e-3], settings: TrainingSettings(), startedTolerance: 1e-4, threads: 1)) {
            XCTAssertEqual("\($0)", "feature row 2 (0-based) holds a NaN or infinite value at column 1")
        }
        var infinite = features   // the last value: past the checker's last whole vector
        infinite.values[features.values.count - 1] = -.infinity
        XCTAssertThrowsError(try HeadTrainer.train(infinite, labels: labels, settings: TrainingSettings())) {
            XCTAssertEqual("\($0)", "feature row \(features.rows - 1) (0-based) holds a NaN or infinite value at column \(features.dimension - 1)")
        }
        XCTAssertThrowsError(try LabelledDataset(lines: ["label\ttext", "a\tx", "\ty"], format: .tsv, textColumn: "text", labelColumn: "label")) {
            XCTAssertEqual("\($0)", "data row 2 (1-based, header excluded) has an empty label")
        }
        XCTAssertThrowsError(try LabelledDataset(lines: ["a text"], format: .lines, textColumn: "text", labelColumn: "label")) {
            XCTAssertEqual("\($0)", "labelled data must be .tsv, .csv or .jsonl (a plain text file has no label column)")
        }
    }

    func testReportCountsUnseenLabelsWrongAndAveragesLikeScikitLearn() {
        // scikit-learn: accuracy_score = 0.5; f1_score(average="macro") over {a, b, c} = (1/2 + 2/3 + 0) / 3.
        let report = ClassificationReport(truth: ["a", "a", "b", "c"], predicted: ["a", "b", "b", "a"], classes: ["a", "b"])
        XCTAssertEqual(report.labels, ["a", "b", "c"])
        XCTAssertEqual(report.unseenLabels, ["c"])
        XCTAssertEqual(report.accuracy, 0.5)
        XCTAssertEqual(report.macroF1, (0.5 + 2.0 / 3 + 0) / 3, accuracy: 1e-12)
        XCTAssertEqual(report.confusion, [[1, 1, 0], [0, 1, 0], [1, 0, 0]])
        XCTAssertEqual(report.perClass.map(\.support), [2, 1, 1])
        // A class of the head that never occurs in truth or predictions is left out of the average.
        let narrow = ClassificationReport(truth: ["a", "b"], predicted: ["a", "b"], classes: ["a", "b", "z"])
        XCTAssertEqual(narrow.macroF1, 1)
    }

    func testSavedHeadRoundTripsAndBadHeadFilesAreRefused() throws {
        let directory = NSTemporaryDirectory() + "ckpt-head-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (features, labels) = blobs()
        var settings = mlpSettings(seed: 1)
        settings.hiddenSize = 8
        let head = try HeadTrainer.train(features, labels: labels, settings: settings).head
        let saved = SavedHead(head: head, model: "/models/x", pooling: .init(modes: [.mean], normalize: true, maxLength: 128),
                              training: settings.json(rows: 40), validation: nil)
        try saved.save(to: directory, overwrite: false)
        let loaded = try SavedHead(directory: directory)
        XCTAssertEqual(loaded.head, head)
        XCTAssertEqual(loaded.model, "/models/x")
        XCTAssertEqual(loaded.pooling, saved.pooling)
        XCTAssertEqual(try Checkpoint(path: directory + "/head.safetensors").tensors.map(\.name).sorted(), ["0.bias", "0.weight", "2.bias", "2.weight"])
        XCTAssertThrowsError(try saved.save(to: directory, overwrite: false)) {
            XCTAssertEqual("\($0)", directory + "/head.safetensors: already exists")
        }
        try #"{"kind": "linear", "labels": ["a", "b", "c"]}"#.write(toFile: directory + "/head.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SavedHead(directory: directory)) {
            XCTAssertEqual("\($0)", directory + "/head.safetensors: no tensor named 'weight'")
        }
        XCTAssertThrowsError(try SavedHead(directory: directory + "/nowhere")) {
            XCTAssertEqual("\($0)", directory + "/nowhere: no head.json here; is this a directory written by ckpt train-head?")
        }
    }

    func testStratifiedSplitKeepsEveryClassOnBothSides() throws {
        let labels = (0..<50).map { $0 < 10 ? "rare" : "common" }
        let (train, valid) = try ValidationSplit.stratified(labels: labels, fraction: 0.2, seed: 5)
        XCTAssertEqual(valid.filter { labels[$0] == "rare" }.count, 2)
        XCTAssertEqual(valid.count, 10)
        XCTAssertEqual(Set(train + valid), Set(0..<50))
        XCTAssertEqual(try ValidationSplit.stratified(labels: labels, fraction: 0.2, seed: 5).valid, valid)
        XCTAssertThrowsError(try ValidationSplit.stratified(labels: labels, fraction: 0.001, seed: 5))
    }
}
