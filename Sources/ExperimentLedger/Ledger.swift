import CkptSupport
import Foundation

/// The experiment ledger: every `train-head`, `tune-head` and `few-shot` run (a study) and each
/// of its trials, in an SQLite file. WAL journaling and a busy timeout let several processes write
/// at once; each trial is committed on its own, so a run killed mid-search keeps every trial
/// finished before. The schema's version is SQLite's `user_version`; older ledgers are migrated
/// forward, newer ones and files that are not ckpt ledgers are refused and never written.
public final class Ledger {
    /// The schema this build writes.
    public static let schemaVersion = 1
    /// How long a run waits for another's write lock before giving up.
    static let busyMilliseconds: Int32 = 60_000
    let database: SQLiteDatabase
    public var path: String { database.path }

    /// Where the ledger lives unless told: `$CKPT_LEDGER`, else `$XDG_DATA_HOME/ckpt/ledger.sqlite`,
    /// else `~/.local/share/ckpt/ledger.sqlite`.
    public static var defaultPath: String {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["CKPT_LEDGER"], !path.isEmpty { return path }
        let data = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (environment["HOME"] ?? ".") + "/.local/share"
        return data + "/ckpt/ledger.sqlite"
    }

    /// Opens the ledger at `path`, creating it (and its directory) when missing.
    public init(path: String) throws {
        if let parent = path.range(of: "/", options: .backwards).map({ String(path[..<$0.lowerBound]) }), !parent.isEmpty,
           let failure = FileSystem.makeDirectories(parent) {
            throw FormatError(file: parent, OutputError.cannotCreate(reason: failure))
        }
        database = try attributing(to: path) { try SQLiteDatabase(path: path, busyMilliseconds: Ledger.busyMilliseconds) }
        try attributing(to: path) { try migrate() }
    }

    private func migrate() throws {
        // Reading the version first fails on a file that is not a database, before anything is written.
        let version = try schemaVersion()
        guard version <= Ledger.schemaVersion else { throw LedgerError.newerSchema(found: version, known: Ledger.schemaVersion) }
        if version < Ledger.schemaVersion {
            // Under the write lock, so that of two processes creating one ledger, one migrates and
            // the other then finds it current (never half made, never someone else's).
            try database.transaction {
                let current = try schemaVersion()
                guard current <= Ledger.schemaVersion else { throw LedgerError.newerSchema(found: current, known: Ledger.schemaVersion) }
                if current == 0 {
                    let tables = try database.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").compactMap { $0[0].string }
                    guard tables.isEmpty else { throw LedgerError.foreignDatabase(tables) }
                }
                for step in current..<Ledger.schemaVersion {
                    for statement in Ledger.migrations[step] { try database.query(statement) }
                }
                try database.query("PRAGMA user_version = \(Ledger.schemaVersion)")
            }
        }
        try database.queryRetryingWhileBusy("PRAGMA journal_mode = WAL", milliseconds: Int(Ledger.busyMilliseconds))
        try database.query("PRAGMA foreign_keys = ON")
    }

    private func schemaVersion() throws -> Int { Int(try database.query("PRAGMA user_version")[0][0].int ?? 0) }

    /// migrations[v]: the statements that take schema version v to v + 1.
    static let migrations: [[String]] = [[
        """
        CREATE TABLE studies (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,
            started TEXT NOT NULL,
            finished TEXT,
            ckpt_version TEXT NOT NULL,
            model TEXT,
            model_hash TEXT,
            dataset TEXT NOT NULL,
            dataset_hash TEXT NOT NULL,
            rows INTEGER NOT NULL,
            classes INTEGER NOT NULL,
            class_balance TEXT NOT NULL,
            dimension INTEGER NOT NULL,
            settings TEXT NOT NULL,
            best_trial INTEGER,
            test TEXT,
            seconds REAL,
            output TEXT
        )
        """,
        """
        CREATE TABLE trials (
            id INTEGER PRIMARY KEY,
            study_id INTEGER NOT NULL REFERENCES studies(id),
            number INTEGER NOT NULL,
            head TEXT NOT NULL,
            params TEXT NOT NULL,
            fold_scores TEXT NOT NULL,
            cv_mean REAL,
            cv_std REAL,
            state TEXT NOT NULL,
            seconds REAL NOT NULL,
            seeded_by TEXT,
            scores TEXT,
            UNIQUE (study_id, number)
        )
        """,
        "CREATE INDEX trials_by_study ON trials (study_id)",
        "CREATE INDEX studies_by_dataset ON studies (dataset_hash)",
    ]]

    /// Records the start of a study and returns its id.
    public func begin(_ study: StudyEntry) throws -> Int64 {
        try attributing(to: path) {
            try database.transaction {
                try database.query("""
                    INSERT INTO studies (kind, started, ckpt_version, model, model_hash, dataset, dataset_hash, rows, classes,
                                         class_balance, dimension, settings, output)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.text(study.kind), .text(Ledger.now()), .text(study.ckptVersion), study.model.map { .text($0) } ?? .null,
                          study.modelHash.map { .text($0) } ?? .null, .text(study.dataset.name), .text(study.dataset.hash),
                          .integer(Int64(study.dataset.rows)), .integer(Int64(study.dataset.classBalance.count)),
                          .text(study.dataset.balanceJSON.compactText), .integer(Int64(study.dataset.dimension)),
                          .text(study.settings.compactText), study.output.map { .text($0) } ?? .null])
                return database.lastInsertedRow
            }
        }
    }

    /// Records one finished trial of study `id`, committed at once.
    public func record(_ trial: TrialEntry, study id: Int64) throws {
        try attributing(to: path) {
            try database.transaction {
                try database.query("""
                    INSERT INTO trials (study_id, number, head, params, fold_scores, cv_mean, cv_std, state, seconds, seeded_by, scores)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, [.integer(id), .integer(Int64(trial.number)), .text(trial.head), .text(trial.parameters.compactText),
                          .text(JSON.array(trial.foldScores.map { .number("\($0)") }).compactText),
                          trial.mean.map { .real($0) } ?? .null, trial.std.map { .real($0) } ?? .null, .text(trial.state),
                          .real(trial.seconds), trial.seededBy.map { .text($0) } ?? .null, trial.scores.map { .text($0.compactText) } ?? .null])
            }
        }
    }

    /// Records how study `id` ended: its best trial, test scores and duration.
    public func finish(study id: Int64, bestTrial: Int?, test: JSON?, seconds: Double) throws {
        try attributing(to: path) {
            try database.transaction {
                try database.query("UPDATE studies SET finished = ?, best_trial = ?, test = ?, seconds = ? WHERE id = ?",
                                   [.text(Ledger.now()), bestTrial.map { .integer(Int64($0)) } ?? .null,
                                    test.map { .text($0.compactText) } ?? .null, .real(seconds), .integer(id)])
            }
        }
    }

    static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date())
    }
}
