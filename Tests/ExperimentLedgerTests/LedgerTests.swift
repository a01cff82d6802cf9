import CkptSupport
import Foundation
import XCTest
@testable import ExperimentLedger

final class LedgerTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "ckpt-ledger-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    private let dataset = DatasetSummary(name: "train.tsv", hash: "crc32:1234abcd:99", rows: 90,
                                         classBalance: [("a", 60), ("b", 30)], dimension: 8)

    private func entry(_ kind: String = "tune-head") -> StudyEntry {
        StudyEntry(kind: kind, ckptVersion: "test", model: "/m", modelHash: "crc32:ff:1", dataset: dataset,
                   settings: .object([("search", .string("tpe"))]), output: "/out")
    }

    func testStudiesAndTrialsComeBackAsRecorded() throws {
        let ledger = try Ledger(path: directory + "/sub/ledger.sqlite")
        let id = try ledger.begin(entry())
        try ledger.record(TrialEntry(number: 0, head: "linear", parameters: .object([("lambda", .number("0.001"))]),
                                     foldScores: [0.5, 0.75], mean: 0.625, std: 0.125, state: "complete", seconds: 0.25), study: id)
        try ledger.record(TrialEntry(number: 1, head: "knn", parameters: .object([("k", .number("3"))]), foldScores: [0.25],
                                     mean: 0.25, std: 0, state: "pruned", seconds: 0.5, seededBy: "study 7 trial 2"), study: id)
        try ledger.finish(study: id, bestTrial: 0, test: .object([("accuracy", .number("0.9"))]), seconds: 1.5)

        let studies = try Ledger(path: directory + "/sub/ledger.sqlite").studies()
        XCTAssertEqual(studies.count, 1)
        let study = studies[0]
        XCTAssertEqual(study.id, id)
        XCTAssertEqual(study.kind, "tune-head")
        XCTAssertEqual(study.dataset, dataset)
        XCTAssertEqual(study.bestTrial, 0)
        XCTAssertEqual(study.test?["accuracy"]?.double, 0.9)
        XCTAssertNotNil(study.finished)
        let trials = try ledger.trials(study: id)
        XCTAssertEqual(trials.map(\.entry.number), [0, 1])
        XCTAssertEqual(trials[0].entry.foldScores, [0.5, 0.75])
        XCTAssertEqual(trials[0].entry.parameters["lambda"]?.double, 0.001)
        XCTAssertEqual(trials[1].entry.state, "pruned")
        XCTAssertEqual(trials[1].entry.seededBy, "study 7 trial 2")
        XCTAssertEqual(try ledger.studies(datasetHash: "other").count, 0)
        XCTAssertEqual(try ledger.studies(datasetHash: dataset.hash).count, 1)
        XCTAssertThrowsError(try ledger.study(99)) { XCTAssertTrue("\($0)".contains("no run 99")) }
    }

    func testNearestStudiesRankByMetaFeaturesAndEncoder() throws {
        let ledger = try Ledger(path: directory + "/ledger.sqlite")
        func study(rows: Int, model: String, lambda: String) throws -> Int64 {
            var e = entry()
            e.dataset.rows = rows
            e.modelHash = model
            let id = try ledger.begin(e)
            try ledger.record(TrialEntry(number: 0, head: "linear", parameters: .object([("lambda", .number(lambda))]),
                                         foldScores: [0.9], mean: 0.9, std: 0, state: "complete", seconds: 0), study: id)
            try ledger.finish(study: id, bestTrial: 0, test: nil, seconds: 0)
            return id
        }
        let far = try study(rows: 100_000, model: "crc32:ff:1", lambda: "1")
        let near = try study(rows: 100, model: "crc32:ff:1", lambda: "0.01")
        let otherEncoder = try study(rows: 90, model: "crc32:00:1", lambda: "0.1")
        _ = try ledger.begin(entry())   // unfinished: never a seed
        let found = try ledger.nearestStudies(to: dataset, modelHash: "crc32:ff:1", limit: 5)
        XCTAssertEqual(found.map(\.study.id), [near, otherEncoder, far])
        XCTAssertEqual(found[0].best.parameters["lambda"]?.double, 0.01)
    }

    func testAFileThatIsNotSQLiteIsRefusedAndLeftAlone() throws {
        let path = directory + "/notes.sqlite"
        let text = String(repeating: "these are my notes, not a database\n", count: 200)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Ledger(path: path)) { error in
            XCTAssertTrue("\(error)".contains("not an SQLite database"), "\(error)")
            XCTAssertTrue("\(error)".contains(path), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), text)
    }

    func testANewerSchemaIsRefusedAndLeftAlone() throws {
        let path = directory + "/ledger.sqlite"
        do {
            let ledger = try Ledger(path: path)
            try ledger.database.query("PRAGMA user_version = 7")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Ledger(path: path)) { XCTAssertTrue("\($0)".contains("schema version 7 is newer"), "\($0)") }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
    }

    func testAnotherApplicationsDatabaseIsRefusedAndLeftAlone() throws {
        let path = directory + "/app.sqlite"
        do {
            let other = try SQLiteDatabase(path: path, busyMilliseconds: 1000)
            try other.query("CREATE TABLE customers (name TEXT)")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try Ledger(path: path)) { XCTAssertTrue("\($0)".contains("not a ckpt ledger (tables: customers)"), "\($0)") }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), before)
    }

    func testACorruptLedgerIsAnErrorNotACrash() throws {
        let path = directory + "/ledger.sqlite"
        do {
            let ledger = try Ledger(path: path)
            let id = try ledger.begin(entry())
            for n in 0..<200 {
                try ledger.record(TrialEntry(number: n, head: "linear", parameters: .object([]), foldScores: [0.5], mean: 0.5, std: 0,
                                             state: "complete", seconds: 0), study: id)
            }
            try ledger.database.query("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        XCTAssertGreaterThan(bytes.count, 8192)
        for i in 4096..<bytes.count { bytes[i] = UInt8(truncatingIfNeeded: i * 7919) }   // every page after the first scrambled
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try { let l = try Ledger(path: path); _ = try l.trials() }()) { error in
            XCTAssertTrue("\(error)".contains("damaged") || "\(error)".contains("malformed"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), bytes)
    }

    func testConnectionsCreatingOneLedgerAtOnceAllOpenIt() throws {
        for round in 0..<20 {
            let path = directory + "/fresh-\(round).sqlite"
            let failures = LockedCount()
            DispatchQueue.concurrentPerform(iterations: 6) { _ in
                do { _ = try Ledger(path: path) } catch { failures.add() }
            }
            XCTAssertEqual(failures.value, 0, "round \(round)")
        }
    }

    func testConnectionsWritingAtOnceLoseNothing() throws {
        let path = directory + "/ledger.sqlite"
        _ = try Ledger(path: path)
        let writers = 4, trialsEach = 50, study = entry()
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            let ledger = try! Ledger(path: path)
            let id = try! ledger.begin(study)
            for n in 0..<trialsEach {
                try! ledger.record(TrialEntry(number: n, head: "linear", parameters: .object([("w", .number("\(w)"))]), foldScores: [0.5],
                                              mean: 0.5, std: 0, state: "complete", seconds: 0), study: id)
            }
            try! ledger.finish(study: id, bestTrial: 0, test: nil, seconds: 0)
        }
        let ledger = try Ledger(path: path)
        XCTAssertEqual(try ledger.studies().count, writers)
        XCTAssertEqual(try ledger.trials().count, writers * trialsEach)
        XCTAssertEqual(try ledger.database.query("PRAGMA integrity_check")[0][0].string, "ok")
        XCTAssertEqual(try ledger.database.query("PRAGMA journal_mode")[0][0].string, "wal")
    }
}

/// A counter threads may add to.
private final class LockedCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
