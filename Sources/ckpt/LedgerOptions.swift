import ArgumentParser
import CkptSupport
import ExperimentLedger
import Foundation
import HeadTraining
import Transformers

/// `--ledger FILE` / `--no-ledger`: where the commands that fit heads record their runs.
struct LedgerOptions: ParsableArguments {
    @Option(help: "The experiment ledger (SQLite; default: $CKPT_LEDGER, else $XDG_DATA_HOME/ckpt/ledger.sqlite, else ~/.local/share/ckpt/ledger.sqlite).")
    var ledger: String?

    @Flag(help: "Record nothing in the ledger.")
    var noLedger = false

    func validate() throws {
        if ledger != nil && noLedger { throw ValidationError("give --ledger FILE or --no-ledger, not both") }
    }

    var path: String { ledger ?? Ledger.defaultPath }

    /// The ledger to record in, or nil with --no-ledger.
    func open() throws -> Ledger? { noLedger ? nil : try Ledger(path: path) }

    /// The ledger to read: an error if there is none yet (nothing is created).
    func openExisting() throws -> Ledger {
        guard FileSystem.exists(path) else {
            throw FormatError(file: path, LedgerError.missing)
        }
        return try Ledger(path: path)
    }
}

/// A study being recorded: its id in the ledger (nil when nothing is recorded) and the ledger.
struct StudyRecorder {
    let ledger: Ledger?
    let id: Int64?

    init(_ ledger: Ledger?, _ entry: @autoclosure () throws -> StudyEntry) throws {
        self.ledger = ledger
        id = try ledger.map { try $0.begin(entry()) }
    }

    func record(_ trial: TrialEntry) throws {
        if let ledger, let id { try ledger.record(trial, study: id) }
    }

    func finish(bestTrial: Int?, test: JSON?, seconds: Double) throws {
        if let ledger, let id { try ledger.finish(study: id, bestTrial: bestTrial, test: test, seconds: seconds) }
    }

    /// "study N in FILE" for head.json and notes, or nil.
    var name: String? { id.map { "\($0)" } }
}

/// The version the ledger records.
let ckptVersion = "0.1.0"
