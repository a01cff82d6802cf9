import ArgumentParser
import CkptSupport
import ExperimentLedger
import Foundation

struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The experiment ledger from the shell: list, show, best, compare, export, check.",
        subcommands: [List.self, Show.self, Best.self, Compare.self, Export.self, Check.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per run: id, kind, start, dataset, model, best head and score, test accuracy.")
        @OptionGroup var ledger: LedgerOptions

        func run() throws {
            try reportingFailure {
                let ledger = try ledger.openExisting()
                let trials = Dictionary(grouping: try ledger.trials(), by: \.study)
                print("id\tkind\tstarted\tdataset\trows\tclasses\tmodel\tbest_head\tcv_mean\ttest_accuracy\ttrials\tseconds")
                for s in try ledger.studies() {
                    let best = s.bestTrial.flatMap { b in trials[s.id]?.first { $0.entry.number == b }?.entry }
                    print([String(s.id), s.kind, s.started, s.dataset.name, String(s.dataset.rows), String(s.dataset.classBalance.count),
                           s.model ?? "-", best?.head ?? "-", score(best?.mean),
                           score(s.test?["accuracy"]?.double), String(trials[s.id]?.count ?? 0),
                           s.seconds.map { String(format: "%.2f", $0) } ?? "unfinished"].joined(separator: "\t"))
                }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A run with its settings, dataset and every trial (--json: one object).")
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "Run id (see runs list).") var id: Int64
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try reportingFailure {
                let ledger = try ledger.openExisting()
                let study = try ledger.study(id)
                let trials = try ledger.trials(study: id)
                if json {
                    print(RunsJSON.study(study, trials: trials).compactText)
                    return
                }
                print("run \(study.id): \(study.kind), started \(study.started), " + (study.finished.map { "finished \($0)" } ?? "unfinished"))
                print("ckpt \(study.ckptVersion); model \(study.model ?? "-") (\(study.modelHash ?? "precomputed features"))")
                print("dataset \(study.dataset.name) (\(study.dataset.hash)): \(study.dataset.rows) rows, dimension \(study.dataset.dimension), "
                      + study.dataset.classBalance.map { "\($0.label) \($0.count)" }.joined(separator: ", "))
                print("settings \(study.settings.compactText)")
                if let output = study.output { print("output \(output)") }
                if let test = study.test { print("test \(test.compactText)") }
                print("trial\thead\tcv_mean\tcv_std\tstate\tseconds\tparams\tfold_scores")
                for t in trials.map(\.entry) {
                    print([String(t.number) + (t.number == study.bestTrial ? "*" : ""), t.head, score(t.mean),
                           score(t.std), t.state, String(format: "%.3f", t.seconds), t.parameters.compactText,
                           t.foldScores.map { String(format: "%.4f", $0) }.joined(separator: ",")].joined(separator: "\t"))
                }
            }
        }
    }

    struct Best: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The best trial recorded on a dataset (a data file, or its hash from runs show).")
        @OptionGroup var ledger: LedgerOptions
        @Option(help: "A data file (hashed as the runs hashed it) or a dataset hash.") var dataset: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try reportingFailure {
                let ledger = try ledger.openExisting()
                let hash = dataset.hasPrefix("crc32:") ? dataset : try contentHash([dataset])
                let studies = try ledger.studies(datasetHash: hash)
                let candidates = try studies.flatMap { s in try ledger.trials(study: s.id).filter { $0.entry.state == "complete" && $0.entry.mean != nil }.map { (s, $0.entry) } }
                guard let (study, trial) = candidates.max(by: { $0.1.mean! < $1.1.mean! || ($0.1.mean! == $1.1.mean! && $0.0.id > $1.0.id) }) else {
                    throw ValidationError("no finished trial on dataset \(hash) in \(ledger.path)")
                }
                if json {
                    print(JSON.object([("study", .number("\(study.id)")), ("kind", .string(study.kind)), ("trial", RunsJSON.trial(trial)),
                                       ("model", study.model.map { .string($0) } ?? .null), ("dataset", .string(hash))]).compactText)
                } else {
                    print(String(format: "run %lld trial %d: %@ cv_mean %.4f ± %.4f ", study.id, trial.number, trial.head, trial.mean!, trial.std ?? 0)
                          + trial.parameters.compactText + " (model \(study.model ?? "-"))")
                }
            }
        }
    }

    struct Compare: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Two runs side by side: dataset, model, settings, best trial, test scores.")
        @OptionGroup var ledger: LedgerOptions
        @Argument(help: "First run id.") var a: Int64
        @Argument(help: "Second run id.") var b: Int64

        func run() throws {
            try reportingFailure {
                let ledger = try ledger.openExisting()
                let runs = try [a, b].map { id -> (StoredStudy, TrialEntry?, Int) in
                    let s = try ledger.study(id)
                    let trials = try ledger.trials(study: id).map(\.entry)
                    return (s, trials.first { $0.number == s.bestTrial }, trials.count)
                }
                func line(_ name: String, _ value: (StoredStudy, TrialEntry?, Int) -> String) {
                    let (x, y) = (value(runs[0].0, runs[0].1, runs[0].2), value(runs[1].0, runs[1].1, runs[1].2))
                    print("\(name)\t\(x)\t\(y)" + (x == y ? "" : "\t≠"))
                }
                line("run") { s, _, _ in String(s.id) }
                line("kind") { s, _, _ in s.kind }
                line("dataset") { s, _, _ in s.dataset.hash }
                line("rows") { s, _, _ in String(s.dataset.rows) }
                line("model") { s, _, _ in s.modelHash ?? "-" }
                line("settings") { s, _, _ in s.settings.compactText }
                line("trials") { _, _, n in String(n) }
                line("best_head") { _, t, _ in t?.head ?? "-" }
                line("best_params") { _, t, _ in t?.parameters.compactText ?? "-" }
                line("cv_mean") { _, t, _ in score(t?.mean) }
                line("test_accuracy") { s, _, _ in score(s.test?["accuracy"]?.double) }
                line("test_macro_f1") { s, _, _ in score(s.test?["macro_f1"]?.double) }
                line("seconds") { s, _, _ in s.seconds.map { String(format: "%.2f", $0) } ?? "unfinished" }
            }
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every trial with its run's dataset and model, as CSV or JSON lines.")
        enum Format: String, ExpressibleByArgument { case csv, jsonl }
        @OptionGroup var ledger: LedgerOptions
        @Option(help: "csv or jsonl.") var format: Format = .csv

        func run() throws {
            try reportingFailure {
                let ledger = try ledger.openExisting()
                let studies = Dictionary(uniqueKeysWithValues: try ledger.studies().map { ($0.id, $0) })
                let columns = ["study", "kind", "started", "dataset", "dataset_hash", "rows", "classes", "dimension", "model", "model_hash",
                               "trial", "head", "params", "cv_mean", "cv_std", "fold_scores", "state", "seconds", "seeded_by"]
                var out = OutputBuffer()
                if format == .csv { out.line(columns.joined(separator: ",")) }
                for t in try ledger.trials() {
                    guard let s = studies[t.study] else { continue }
                    let e = t.entry
                    let values: [JSON] = [
                        .number("\(s.id)"), .string(s.kind), .string(s.started), .string(s.dataset.name), .string(s.dataset.hash),
                        .number("\(s.dataset.rows)"), .number("\(s.dataset.classBalance.count)"), .number("\(s.dataset.dimension)"),
                        s.model.map { .string($0) } ?? .null, s.modelHash.map { .string($0) } ?? .null, .number("\(e.number)"), .string(e.head),
                        e.parameters, e.mean.map { .number("\($0)") } ?? .null, e.std.map { .number("\($0)") } ?? .null,
                        .array(e.foldScores.map { .number("\($0)") }), .string(e.state), .number("\(e.seconds)"), e.seededBy.map { .string($0) } ?? .null,
                    ]
                    if format == .jsonl {
                        out.line(JSON.object(Array(zip(columns, values))).compactText)
                    } else {
                        out.line(values.map(RunsJSON.csvField).joined(separator: ","))
                    }
                }
                out.flush()
            }
        }
    }
}

extension Runs {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "SQLite's integrity check of the ledger: prints ok, or each problem and exits 1.")
        @OptionGroup var ledger: LedgerOptions

        func run() throws {
            try reportingFailure {
                let ledger = try ledger.openExisting()
                let problems = try ledger.integrityProblems()
                guard problems.isEmpty else {
                    problems.forEach { printError("\(ledger.path): \($0)") }
                    throw ExitCode.failure
                }
                print("ok")
            }
        }
    }
}

/// A score for a table: four decimals, or "-" when there is none.
private func score(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }

/// Ledger records as JSON and CSV fields.
enum RunsJSON {
    static func trial(_ t: TrialEntry) -> JSON {
        .object([("number", .number("\(t.number)")), ("head", .string(t.head)), ("params", t.parameters),
                 ("cv_mean", t.mean.map { .number("\($0)") } ?? .null), ("cv_std", t.std.map { .number("\($0)") } ?? .null),
                 ("fold_scores", .array(t.foldScores.map { .number("\($0)") })), ("state", .string(t.state)),
                 ("seconds", .number("\(t.seconds)")), ("seeded_by", t.seededBy.map { .string($0) } ?? .null), ("scores", t.scores ?? .null)])
    }

    static func study(_ s: StoredStudy, trials: [StoredTrial]) -> JSON {
        let classes: JSON = .object(s.dataset.classBalance.map { ($0.label, .number("\($0.count)")) })
        let dataset: JSON = .object([("name", .string(s.dataset.name)), ("hash", .string(s.dataset.hash)), ("rows", .number("\(s.dataset.rows)")),
                                     ("dimension", .number("\(s.dataset.dimension)")), ("classes", classes)])
        var members: [(String, JSON)] = [("id", .number("\(s.id)")), ("kind", .string(s.kind)), ("started", .string(s.started))]
        members.append(("finished", s.finished.map { .string($0) } ?? .null))
        members.append(("ckpt_version", .string(s.ckptVersion)))
        members.append(("model", s.model.map { .string($0) } ?? .null))
        members.append(("model_hash", s.modelHash.map { .string($0) } ?? .null))
        members.append(("dataset", dataset))
        members.append(("settings", s.settings))
        members.append(("best_trial", s.bestTrial.map { .number("\($0)") } ?? .null))
        members.append(("test", s.test ?? .null))
        members.append(("seconds", s.seconds.map { .number("\($0)") } ?? .null))
        members.append(("output", s.output.map { .string($0) } ?? .null))
        members.append(("trials", .array(trials.map { trial($0.entry) })))
        return .object(members)
    }

    /// A CSV field (RFC 4180): text as is, JSON for structures, quoted when it holds a comma, quote or line break.
    static func csvField(_ value: JSON) -> String {
        let text: String
        switch value {
        case .null: text = ""
        case .string(let s): text = s
        case .number(let n): text = n
        default: text = value.compactText
        }
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
