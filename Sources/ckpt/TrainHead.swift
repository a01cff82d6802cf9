import CkptSupport
import ArgumentParser
import ExperimentLedger
import Foundation
import HeadTraining
import Kernels
import TensorFormats
import Transformers

struct TrainHead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-head",
        abstract: "Train a classifier head on frozen sentence features.",
        discussion: """
            Texts are encoded by --model with its own pooling (features cached on disk, so a second head on \
            the same data does not re-encode), or taken from --features with --labels. The default head is \
            linear, fitted with L-BFGS to convergence as scikit-learn's LogisticRegression: --weight-decay is \
            λ in mean loss + λ/2·‖W‖², default 1/n (scikit-learn's C = 1; λ = 1/(C·n)). --optimizer adamw \
            trains on mini-batches (the only choice for --head mlp), with early stopping when a validation \
            set is given. --head centroid keeps the mean of each class's L2-normalised features and predicts \
            the class of highest cosine; --head knn keeps the normalised training features and lets the --k \
            most similar vote (--voting uniform, or similarity: each vote worth its cosine; ties go to the \
            larger summed similarity). Writes head.safetensors and head.json into --output.
            """
    )

    @Option(help: "A model directory or .gguf file to encode the texts with.")
    var model: String?

    @Option(help: "Labelled training data: .tsv/.csv with a header, or .jsonl.")
    var train: String?

    @Option(help: "Labelled validation data (same format as --train).")
    var valid: String?

    @Option(help: "Hold out this fraction of the training data (per class) for validation.")
    var validFraction: Double?

    @OptionGroup var inputs: FeatureOptions

    @Option(help: "Head: linear, mlp (one hidden ReLU layer), centroid (nearest class mean) or knn.")
    var head: HeadKind = .linear

    @Option(name: .customLong("k"), help: "kNN: neighbours that vote.")
    var neighbours: Int = 10

    @Option(help: "kNN votes: uniform or similarity.")
    var voting: NeighbourVoting = .uniform

    @Option(help: "Optimizer: lbfgs (linear heads) or adamw (default: lbfgs for linear, adamw for mlp).")
    var optimizer: OptimizerKind?

    @Option(help: "L-BFGS: most iterations (default 1000). AdamW: epochs (default 100 linear, 50 mlp).")
    var epochs: Int?

    @Option(help: "AdamW learning rate.")
    var learningRate: Float = 1e-3

    @Option(help: "L2 penalty λ (L-BFGS; default 1/n) or decoupled weight decay (AdamW; default 0.01).")
    var weightDecay: Double?

    @Option(help: "MLP hidden units.")
    var hiddenSize: Int = 256

    @Option(help: "MLP dropout on the hidden layer while training.")
    var dropout: Float = 0.1

    @Option(help: "Class weights: none or balanced.")
    var classWeight: ClassWeighting = .none

    @Option(help: "AdamW with validation: epochs without improvement before stopping.")
    var patience: Int = 5

    @Option(help: "Seed for initialisation, shuffling, dropout and the validation split.")
    var seed: UInt64 = 0

    @Option(help: "Head directory to write.")
    var output: String

    @Flag(help: "Overwrite an existing head.")
    var force = false

    @OptionGroup var ledgerOptions: LedgerOptions

    func validate() throws {
        if (model == nil) == (inputs.features == nil) { throw ValidationError("give either --model with --train, or --features with --labels") }
        if model != nil && train == nil { throw ValidationError("--model needs --train FILE") }
        if inputs.features != nil && (inputs.labels == nil || train != nil || valid != nil) {
            throw ValidationError("--features needs --labels, and takes --valid-fraction rather than --train/--valid")
        }
        if valid != nil && validFraction != nil { throw ValidationError("give --valid or --valid-fraction, not both") }
        if let validFraction, !(validFraction > 0 && validFraction < 1) { throw ValidationError("--valid-fraction must be between 0 and 1") }
        if head == .mlp && optimizer == .lbfgs { throw ValidationError("an MLP head trains with --optimizer adamw") }
        if (head == .centroid || head == .knn) && optimizer != nil { throw ValidationError("a \(head.rawValue) head has no optimizer") }
        if neighbours < 1 { throw ValidationError("--k must be at least 1") }
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        if let weightDecay, !(weightDecay >= 0) { throw ValidationError("--weight-decay must be zero or positive") }
        if hiddenSize < 1 { throw ValidationError("--hidden-size must be at least 1") }
        if !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout must be in [0, 1)") }
        if patience < 1 { throw ValidationError("--patience must be at least 1") }
    }

    var settings: TrainingSettings {
        var s = TrainingSettings()
        s.head = head
        s.optimizer = optimizer ?? (head == .mlp ? .adamw : .lbfgs)
        s.epochs = epochs
        s.learningRate = learningRate
        s.weightDecay = weightDecay
        s.batchSize = inputs.batchSize
        s.hiddenSize = hiddenSize
        s.dropout = dropout
        s.classWeight = classWeight
        s.patience = patience
        s.seed = seed
        s.neighbours = neighbours
        s.voting = voting
        return s
    }

    func run() throws {
        try reportingFailure {
            let settings = self.settings
            let ledger = try ledgerOptions.open()
            let (data, given) = try inputs.labelledSets(model: model, train: train, other: valid, otherFeatures: nil, otherLabels: nil)
            var (features, labels, validation) = (data.features, data.labels, given.map { ($0.features, $0.labels) })
            if let validFraction {
                let split = try ValidationSplit.split(features, labels: labels, fraction: validFraction, seed: seed)
                ((features, labels), validation) = (split.train, split.valid)
            }
            let counts = LabelledDataset.classCounts(of: labels)
            if !inputs.quiet {
                printError("\(labels.count) training examples, \(counts.count) classes: " + counts.map { "\($0.label) \($0.count)" }.joined(separator: ", "))
            }
            let recorder = try StudyRecorder(ledger, try data.studyEntry(kind: "train-head", settings: settings.json(rows: labels.count),
                                                                         output: absolutePath(output)))
            let iterative = head == .linear || head == .mlp
            let bar = ProgressBar(total: iterative ? settings.resolvedEpochs : 0, unit: .items(settings.optimizer == .lbfgs ? "iterations" : "epochs"), quiet: inputs.quiet)
            let (fitSeconds, outcome) = try bestTime(repeats: 1) {
                try HeadTrainer.train(features, labels: labels, validation: validation, settings: settings,
                                      threads: inputs.parallel.threads) { bar.update($0) }
            }
            bar.finish()
            var metrics: JSON?
            var validationScores: [Double] = []
            if let (vf, vl) = validation {
                let report = try outcome.head.report(vf, truth: vl, threads: inputs.parallel.threads)
                metrics = report.validationRecord(rows: vl.count)
                validationScores = [report.accuracy]
                if !inputs.quiet { printError("validation: accuracy \(String(format: "%.4f", report.accuracy)), macro-F1 \(String(format: "%.4f", report.macroF1)) on \(vl.count) examples") }
            }
            let record = outcome.record(settings: settings, rows: labels.count)
            let saved = SavedHead(head: outcome.head, model: data.origin?.model, pooling: data.origin?.pooling, precision: data.origin?.precision,
                                  training: record, validation: metrics)
            try saved.save(to: output, overwrite: force)
            try recorder.record(TrialEntry(number: 0, head: head.rawValue, parameters: record, foldScores: validationScores,
                                           mean: validationScores.first, std: nil, state: "complete", seconds: fitSeconds, scores: metrics))
            try recorder.finish(bestTrial: 0, test: nil, seconds: fitSeconds)
            if !inputs.quiet {
                let how = !iterative ? "\(labels.count) training rows kept" : settings.optimizer == .lbfgs
                    ? "L-BFGS, \(outcome.iterations) iterations\(outcome.converged ? ", converged" : ", NOT converged (raise --epochs)")"
                    : "AdamW, \(outcome.iterations) epochs" + (outcome.bestEpoch.map { ", best validation loss at epoch \($0)" } ?? "")
                printError("\(head.rawValue) head (\(how), fitted in \(String(format: "%.3f", fitSeconds)) s) written to \(output)")
            }
        }
    }

}

/// `path` made absolute against the working directory (head.json must find the model from anywhere).
func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}
