import ArgumentParser
import CkptSupport
import ExperimentLedger
import Foundation
import HeadTraining
import Transformers

struct FewShot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "few-shot",
        abstract: "How good an encoder is with a few labelled examples per class: MTEB's few-shot classification protocol.",
        discussion: """
            --repeats experiments, each sampling --shots examples per label from the training data (MTEB's \
            undersampler: the training row indices shuffled, the shuffle carried from one experiment to the \
            next, and the first K rows of each label kept; ckpt shuffles with its own seeded generator, \
            SplitMix64 Fisher–Yates, where MTEB uses NumPy's), fitting each head and scoring it on the whole \
            test set. The linear head is MTEB's LogisticRegression(max_iter=100) (λ = 1/n, tolerance 1e-4); \
            centroid and knn (--k) as train-head fits them. Prints mean ± std (population) of accuracy and \
            macro-F1 per head; --json prints {"shots", "repeats", "heads": {HEAD: {"accuracy_mean", \
            "accuracy_std", "macro_f1_mean", "macro_f1_std"}}} with fractions.
            """
    )

    @Option(help: "A model directory or .gguf file to encode the texts with.")
    var model: String?

    @Option(help: "Labelled training data to sample from: .tsv/.csv with a header, or .jsonl.")
    var train: String?

    @Option(help: "Labelled test data.")
    var test: String?

    @Option(help: "Precomputed test features (with --test-labels), for --features.")
    var testFeatures: String?

    @Option(help: "Labels of --test-features.")
    var testLabels: String?

    @OptionGroup var inputs: FeatureOptions

    @Option(help: "Examples per label in each experiment.")
    var shots: Int = 8

    @Option(help: "Experiments.")
    var repeats: Int = 10

    @Option(help: "Heads, comma-separated: linear, mlp, centroid, knn.")
    var heads: String = "linear,centroid,knn"

    @Option(name: .customLong("k"), help: "kNN: neighbours that vote.")
    var neighbours: Int = 10

    @Option(help: "Seed of the sampler (MTEB's is 42).")
    var seed: UInt64 = 42

    @OptionGroup var ledgerOptions: LedgerOptions

    @Flag(help: "Print JSON.")
    var json = false

    var headKinds: [HeadKind] { (try? HeadList.parse(heads)) ?? [] }

    func validate() throws {
        if (model == nil) == (inputs.features == nil) { throw ValidationError("give either --model with --train and --test, or --features with --labels") }
        if model != nil && (train == nil || test == nil) { throw ValidationError("--model needs --train FILE and --test FILE") }
        if inputs.features != nil && (inputs.labels == nil || testFeatures == nil || testLabels == nil || train != nil || test != nil) {
            throw ValidationError("--features needs --labels, --test-features and --test-labels")
        }
        _ = try HeadList.parse(heads)
        if shots < 1 { throw ValidationError("--shots must be at least 1") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
        if neighbours < 1 { throw ValidationError("--k must be at least 1") }
    }

    func run() throws {
        try reportingFailure {
            let began = Date()
            let ledger = try ledgerOptions.open()
            let (trainData, given) = try inputs.labelledSets(model: model, train: train, other: test, otherFeatures: testFeatures, otherLabels: testLabels)
            let testData = given!   // validate() requires a test set
            var settings = FewShotSettings()
            settings.shots = shots
            settings.repeats = repeats
            settings.heads = headKinds
            settings.seed = seed
            settings.base.neighbours = neighbours
            settings.base.seed = seed
            let recorder = try StudyRecorder(ledger, try trainData.studyEntry(kind: "few-shot", settings: .object([
                ("shots", .number("\(shots)")), ("repeats", .number("\(repeats)")), ("seed", .number("\(seed)")),
                ("heads", .array(headKinds.map { .string($0.rawValue) })), ("k", .number("\(neighbours)")),
                ("test", .string(testData.source)), ("test_hash", .string(try contentHash(testData.files))),
            ]), output: nil))
            let results = try FewShotEvaluation.run(train: trainData.features, labels: trainData.labels, test: testData.features,
                                                    testLabels: testData.labels, settings: settings, threads: inputs.parallel.threads)
            let seconds = Date().timeIntervalSince(began)
            for (number, r) in results.enumerated() {
                try recorder.record(TrialEntry(
                    number: number, head: r.head.rawValue, parameters: .object([("head", .string(r.head.rawValue)), ("shots", .number("\(shots)"))]),
                    foldScores: r.accuracy, mean: FewShotScores.mean(r.accuracy), std: FewShotScores.std(r.accuracy), state: "complete",
                    seconds: seconds / Double(results.count), scores: .object([("macro_f1", .array(r.macroF1.map { .number("\($0)") }))])))
            }
            let best = results.indices.max { FewShotScores.mean(results[$0].accuracy) < FewShotScores.mean(results[$1].accuracy) }
            try recorder.finish(bestTrial: best, test: nil, seconds: seconds)
            if json {
                let heads = JSON.object(results.map { r in
                    (r.head.rawValue, .object([
                        ("accuracy_mean", .number("\(FewShotScores.mean(r.accuracy))")), ("accuracy_std", .number("\(FewShotScores.std(r.accuracy))")),
                        ("macro_f1_mean", .number("\(FewShotScores.mean(r.macroF1))")), ("macro_f1_std", .number("\(FewShotScores.std(r.macroF1))")),
                    ]))
                })
                print(JSON.object([("shots", .number("\(shots)")), ("repeats", .number("\(repeats)")), ("heads", heads)]).compactText)
            } else {
                print("head\tshots\taccuracy\tmacro_f1")
                for r in results {
                    print("\(r.head.rawValue)\t\(shots)\t" + String(format: "%.2f ± %.2f\t%.2f ± %.2f", 100 * FewShotScores.mean(r.accuracy),
                                                                  100 * FewShotScores.std(r.accuracy), 100 * FewShotScores.mean(r.macroF1),
                                                                  100 * FewShotScores.std(r.macroF1)))
                }
            }
            if !inputs.quiet {
                printError("\(repeats) experiments of \(shots) shots per label in \(String(format: "%.2f", seconds)) s"
                           + (recorder.id.map { "; run \($0) in \(ledgerOptions.path)" } ?? ""))
            }
        }
    }
}
