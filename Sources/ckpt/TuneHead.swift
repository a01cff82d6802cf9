import ArgumentParser
import CkptSupport
import ExperimentLedger
import Foundation
import HeadTraining
import Kernels
import Transformers

extension SearchStrategy: ExpressibleByArgument {}
extension SearchMetric: ExpressibleByArgument {}

struct TuneHead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune-head",
        abstract: "Search head settings by stratified cross-validation, refit the best on all data, keep every trial in the ledger.",
        discussion: """
            Search space (per head in --heads): linear — λ of the L2 penalty, log scale 1e-6…1e2, and class \
            weighting none|balanced; mlp — hidden size 32…1024 (log), dropout 0…0.5, learning rate 1e-4…1e-2 (log), \
            class weighting; knn — k 1…50 (log), voting uniform|similarity; centroid — nothing; and the head \
            itself when more than one is named. --search-pooling (with --model) adds the features' pooling \
            (cls, max, mean, last) and L2 normalisation (false, true): the texts are encoded once with every \
            pooling (kept in the feature cache), and the best head is saved with its pooling, which predict uses.
            --search grid: linear λ = 1e-6, 1e-5, …, 1e2 (class weighting from --class-weight), each fold fitted \
            along the path from the strongest penalty down, every fit starting where the last ended; mlp hidden \
            128, 256, 512 × learning rate 1e-3, 3e-3; knn k = 1, 3, 5, 10, 20, 50 (uniform); centroid once.
            --search tpe (default): the tree-structured Parzen estimator with Optuna's defaults (10 random \
            start-up trials, 24 candidates, γ = min(⌈0.1·n⌉, 25)), deterministic under --seed; a trial whose \
            running mean after 2 or more folds is below the median of the finished trials' (from the 6th trial) \
            is pruned (--no-prune to keep all).
            Folds: scikit-learn's StratifiedKFold(--folds) without shuffling. Trial fits of linear heads stop as \
            scikit-learn's LogisticRegression defaults do (gradient tolerance 1e-4, at most 100 iterations), \
            except that a TPE trial's fits, which start from the solutions (and L-BFGS curvature) of the finished \
            trial nearest in λ with a penalty at least as strong, go on to a tolerance of 3e-5, so that they \
            measure the trial's own λ rather than stop where that trial ended, and so does a grid fit whose start \
            (the path's previous minimum) already meets 1e-4; the \
            best setting is refitted on all the training data to convergence and written as a head directory \
            whose head.json names the study and trial. --warm-start tries first the best settings of the (up to \
            3) past studies in the ledger nearest to this dataset (rows, classes, balance, dimension, encoder). \
            --json prints {"best": {"params", "cv_mean", "cv_std"}, "trials": [...], "test": {...}}.
            """
    )

    @Option(help: "A model directory or .gguf file to encode the texts with.")
    var model: String?

    @Option(help: "Labelled training data: .tsv/.csv with a header, or .jsonl.")
    var train: String?

    @Option(help: "Labelled test data, scored by the refitted head.")
    var test: String?

    @Option(help: "Precomputed test features (with --test-labels), for --features.")
    var testFeatures: String?

    @Option(help: "Labels of --test-features.")
    var testLabels: String?

    @OptionGroup var inputs: FeatureOptions

    @Option(help: "grid or tpe.")
    var search: SearchStrategy = .tpe

    @Option(help: "Heads to search, comma-separated: linear, mlp, centroid, knn.")
    var heads: String = "linear"

    @Option(help: "TPE trials.")
    var trials: Int = 30

    @Option(help: "Cross-validation folds (stratified).")
    var folds: Int = 5

    @Option(help: "accuracy or macro_f1.")
    var metric: SearchMetric = .accuracy

    @Option(help: "Class weights of the grid's linear and MLP heads: none or balanced.")
    var classWeight: ClassWeighting = .none

    @Option(help: "Seed of the sampler and of MLP initialisation.")
    var seed: UInt64 = 0

    @Option(help: "Start no trial after this many seconds.")
    var timeout: Double?

    @Flag(help: "Also search the features' pooling and normalisation (needs --model).")
    var searchPooling = false

    @Flag(help: "Keep every TPE trial to the last fold.")
    var noPrune = false

    @Flag(help: "Try first the best settings of the nearest past studies in the ledger.")
    var warmStart = false

    @OptionGroup var ledgerOptions: LedgerOptions

    @Option(help: "Head directory to write.")
    var output: String

    @Flag(help: "Overwrite an existing head.")
    var force = false

    @Flag(help: "Print the study as JSON.")
    var json = false

    var headKinds: [HeadKind] { (try? HeadList.parse(heads)) ?? [] }

    func validate() throws {
        if (model == nil) == (inputs.features == nil) { throw ValidationError("give either --model with --train, or --features with --labels") }
        if model != nil && train == nil { throw ValidationError("--model needs --train FILE") }
        if inputs.features != nil && (inputs.labels == nil || train != nil || test != nil) {
            throw ValidationError("--features needs --labels, and takes --test-features/--test-labels rather than --train/--test")
        }
        if (testFeatures == nil) != (testLabels == nil) { throw ValidationError("--test-features and --test-labels go together") }
        if testFeatures != nil && inputs.features == nil { throw ValidationError("--test-features goes with --features; with --model use --test") }
        if searchPooling && model == nil { throw ValidationError("--search-pooling encodes the texts itself: give --model with --train") }
        _ = try HeadList.parse(heads)
        if trials < 1 { throw ValidationError("--trials must be at least 1") }
        if folds < 2 { throw ValidationError("--folds must be at least 2") }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        try reportingFailure {
            let began = Date()
            let ledger = try ledgerOptions.open()
            let (data, testData) = try inputs.labelledSets(model: model, train: train, other: test, otherFeatures: testFeatures,
                                                           otherLabels: testLabels, everyPooling: searchPooling)
            let space = try SearchSpace(heads: headKinds, poolings: searchPooling ? PoolingMode.allCases.map(\.rawValue) : [])
            let foldSplit = try attributing(to: data.source) { try StratifiedFolds(labels: data.labels, folds: folds) }
            try data.features.checkFinite()
            let featureSets = searchPooling ? PooledFeatureSets.split(data.features, test: testData?.features, space: space)
                                            : ["": (train: data.features, test: testData?.features)]
            var search = SearchSettings()
            search.strategy = self.search
            search.trials = trials
            search.seed = seed
            search.timeout = timeout
            search.prune = !noPrune
            search.base.seed = seed
            search.base.classWeight = classWeight
            search.base.batchSize = inputs.batchSize
            // What the ledger keeps of the model and data: fingerprints read only for a ledger.
            let fingerprints = try ledger.map { _ in
                var dataset = try data.summary()
                // The ledger records one pooling's dimension, not that of the poolings side by side.
                if searchPooling { dataset.dimension /= PoolingMode.allCases.count }
                return (model: try data.ledgerModel(), dataset: dataset)
            }
            if warmStart, let ledger, let fingerprints {
                search.warmStart = try ledger.nearestStudies(to: fingerprints.dataset, modelHash: fingerprints.model.hash, limit: 3).compactMap { found in
                    space.trial(from: found.best.parameters).map { ($0, "study \(found.study.id) trial \(found.best.number)") }
                }
                if !inputs.quiet {
                    printError(search.warmStart.isEmpty ? "warm start: no past study in \(ledger.path) fits this search"
                               : "warm start from " + search.warmStart.map(\.source).joined(separator: ", "))
                }
            }
            let settingsJSON = JSON.object([
                ("search", .string(self.search.rawValue)), ("heads", .array(headKinds.map { .string($0.rawValue) })),
                ("trials", .number("\(trials)")), ("folds", .number("\(folds)")), ("metric", .string(metric.rawValue)),
                ("seed", .number("\(seed)")), ("class_weight", .string(classWeight.rawValue)), ("prune", .bool(!noPrune)),
                ("search_pooling", .bool(searchPooling)),
                ("warm_start", .array(search.warmStart.map { .string($0.source) })),
            ])
            let recorder = try StudyRecorder(ledger, try data.studyEntry(kind: "tune-head", settings: settingsJSON, output: absolutePath(output),
                                                                         model: fingerprints!.model, dataset: fingerprints!.dataset))
            let runner = HeadSearch(space: space, validations: featureSets.mapValues {
                CrossValidation(features: $0.train, labels: data.labels, folds: foldSplit, metric: metric)
            }, settings: search, threads: inputs.parallel.threads)
            var out = OutputBuffer()   // flushed after every trial row: the table streams through a pipe too
            if !json { out.line(TrialTable.header(metric: metric)) }
            let records = try runner.run { record in
                try recorder.record(TrialEntry(number: record.number, head: space.head(of: record.parameters).rawValue,
                                               parameters: space.json(record.parameters), foldScores: record.foldScores, mean: record.mean,
                                               std: record.std, state: record.state.rawValue, seconds: record.seconds, seededBy: record.seededBy))
                if !json {
                    out.line(TrialTable.row(record, space: space))
                    out.flush()
                }
            }
            guard let best = HeadSearch.best(records) else { throw SearchError.nothingToSearch }
            let refit = runner.trialSettings(best.parameters)
            let bestFeatures = featureSets[space.features(of: best.parameters)]!
            let outcome = try HeadTrainer.train(bestFeatures.train, labels: data.labels, settings: refit, threads: inputs.parallel.threads,
                                                start: HeadSearch.refitStart(best))
            var testScores: JSON?
            if let testData, let features = bestFeatures.test {
                let report = try outcome.head.report(features, truth: testData.labels, threads: inputs.parallel.threads)
                testScores = .object([("accuracy", .number("\(report.accuracy)")), ("macro_f1", .number("\(report.macroF1)"))])
            }
            var training = outcome.record(settings: refit, rows: data.labels.count)
            if case .object(var members) = training {
                members += [("study", recorder.name.map { .string($0) } ?? .null), ("ledger", recorder.id == nil ? .null : .string(ledgerOptions.path)),
                            ("trial", .number("\(best.number)")), ("cv_mean", .number("\(best.mean)")), ("cv_std", .number("\(best.std)"))]
                training = .object(members)
            }
            var pooling = data.origin?.pooling
            if searchPooling, let mode = best.parameters["pooling"]?.choice.flatMap(PoolingMode.init(rawValue:)) {
                pooling?.modes = [mode]
                pooling?.normalize = best.parameters["normalize"]?.choice == "true"
            }
            let saved = SavedHead(head: outcome.head, model: data.origin?.model, pooling: pooling,
                                  precision: data.origin?.precision, training: training, validation: nil)
            try saved.save(to: output, overwrite: force)
            try recorder.finish(bestTrial: best.number, test: testScores, seconds: Date().timeIntervalSince(began))
            let bestJSON = JSON.object([("trial", .number("\(best.number)")), ("params", space.json(best.parameters)),
                                        ("cv_mean", .number("\(best.mean)")), ("cv_std", .number("\(best.std)"))])
            if json {
                out.line(JSON.object([("study", recorder.name.map { .string($0) } ?? .null), ("best", bestJSON),
                                   ("trials", .array(records.map { TrialTable.json($0, space: space) })), ("test", testScores ?? .null)]).compactText)
            } else {
                out.line(String(format: "best: trial %d, %@ %.4f ± %.4f", best.number, metric.rawValue, best.mean, best.std) + " " + TrialTable.parameters(best.parameters, space: space))
                if let testScores {
                    out.line(String(format: "test: accuracy %.4f, macro-F1 %.4f", testScores["accuracy"]!.double!, testScores["macro_f1"]!.double!))
                }
            }
            out.flush()
            if !inputs.quiet {
                printError("\(records.count) trials in \(String(format: "%.2f", Date().timeIntervalSince(began))) s; head written to \(output)"
                           + (recorder.id.map { "; study \($0) in \(ledgerOptions.path)" } ?? ""))
            }
        }
    }
}

/// The trial table tune-head prints, and each trial as JSON.
enum TrialTable {
    static func header(metric: SearchMetric) -> String {
        "trial\thead\t\(metric.rawValue)_mean\t\(metric.rawValue)_std\tfolds\tseconds\tstate\tparams"
    }

    static func row(_ r: TrialRecord, space: SearchSpace) -> String {
        [String(r.number), space.head(of: r.parameters).rawValue, String(format: "%.4f", r.mean), String(format: "%.4f", r.std),
         String(r.foldScores.count), String(format: "%.3f", r.seconds), r.state.rawValue + (r.seededBy.map { " (from \($0))" } ?? ""),
         parameters(r.parameters, space: space)].joined(separator: "\t")
    }

    static func parameters(_ p: TrialParameters, space: SearchSpace) -> String {
        space.json(p).object!.filter { $0.0 != "head" }.map { "\($0.0)=\($0.1.compactText.replacingOccurrences(of: "\"", with: ""))" }.joined(separator: " ")
    }

    static func json(_ r: TrialRecord, space: SearchSpace) -> JSON {
        var members: [(String, JSON)] = [
            ("number", .number("\(r.number)")), ("head", .string(space.head(of: r.parameters).rawValue)), ("params", space.json(r.parameters)),
            ("cv_mean", .number("\(r.mean)")), ("cv_std", .number("\(r.std)")), ("fold_scores", .array(r.foldScores.map { .number("\($0)") })),
            ("state", .string(r.state.rawValue)), ("seconds", .number("\(r.seconds)")),
        ]
        if let seededBy = r.seededBy { members.append(("seeded_by", .string(seededBy))) }
        return .object(members)
    }
}
