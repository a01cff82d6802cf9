import CkptSupport
import Foundation
import XCTest

/// `tune-head`, `few-shot` and `runs` on the committed TREC test features (500 rows, kept small so
/// the debug build runs them quickly), each run recorded in a ledger of the test's own.
final class WorkbenchCommandTests: XCTestCase {
    let features = Ckpt.fixtures + "/heads/trec-test-minilm.npy", labels = Ckpt.fixtures + "/data/trec-test.tsv"
    var data: [String] { ["--features", features, "--labels", labels] }

    private func ok(_ result: CkptResult, file: StaticString = #filePath, line: UInt = #line) -> CkptResult {
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        return result
    }

    func testGridSearchWritesTheBestHeadAndTheLedgerHoldsEveryTrial() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let ledger = ["--ledger", directory + "/ledger.sqlite"]
        let tuned = ok(try Ckpt.run(["tune-head"] + data + ["--search", "grid", "--heads", "linear,centroid,knn", "--folds", "3",
                                     "--output", directory + "/head", "--json", "--quiet"] + ledger))
        let study = try JSON.parse(tuned.stdout)
        let trials = study["trials"]!.array!
        XCTAssertEqual(trials.count, 9 + 1 + 6)
        XCTAssertEqual(trials.map { $0["head"]!.string! }, Array(repeating: "linear", count: 9) + ["centroid"] + Array(repeating: "knn", count: 6))
        let best = study["best"]!
        let bestMean = best["cv_mean"]!.double!
        XCTAssertEqual(bestMean, trials.map { $0["cv_mean"]!.double! }.max()!)
        XCTAssertTrue(trials.allSatisfy { $0["fold_scores"]!.array!.count == 3 && $0["state"]!.string! == "complete" })

        let head = try JSON.parse(String(contentsOfFile: directory + "/head/head.json", encoding: .utf8))
        XCTAssertEqual(head["training"]!["study"]!.string, study["study"]!.string)
        XCTAssertEqual(head["training"]!["trial"]!.int, best["trial"]!.int)
        XCTAssertEqual(head["kind"]!.string, trials[best["trial"]!.int!]["head"]!.string)
        _ = ok(try Ckpt.run(["evaluate", "--head", directory + "/head"] + data + ["--json"]))

        let id = study["study"]!.string!
        let shown = try JSON.parse(ok(try Ckpt.run(["runs", "show", id, "--json"] + ledger)).stdout)
        XCTAssertEqual(shown["kind"]!.string, "tune-head")
        XCTAssertEqual(shown["trials"]!.array!.count, 16)
        XCTAssertEqual(shown["best_trial"]!.int, best["trial"]!.int)
        XCTAssertEqual(shown["dataset"]!["rows"]!.int, 500)
        XCTAssertEqual(shown["dataset"]!["classes"]!["ABBR"]!.int, 9)
        XCTAssertNotNil(shown["finished"]!.string)

        let hash = shown["dataset"]!["hash"]!.string!
        let bestRun = try JSON.parse(ok(try Ckpt.run(["runs", "best", "--dataset", hash, "--json"] + ledger)).stdout)
        XCTAssertEqual(bestRun["trial"]!["cv_mean"]!.double, bestMean)
        let csv = ok(try Ckpt.run(["runs", "export", "--format", "csv"] + ledger)).stdout.split(separator: "\n")
        XCTAssertEqual(csv.count, 17)
        XCTAssertTrue(csv[0].hasPrefix("study,kind,started,dataset,dataset_hash"))
        let jsonl = ok(try Ckpt.run(["runs", "export", "--format", "jsonl"] + ledger)).stdout.split(separator: "\n")
        XCTAssertEqual(try jsonl.map { try JSON.parse(String($0))["trial"]!.int! }, Array(0..<16))
        XCTAssertTrue(ok(try Ckpt.run(["runs", "list"] + ledger)).stdout.contains("\ttune-head\t"))
        XCTAssertEqual(ok(try Ckpt.run(["runs", "check"] + ledger)).stdout, "ok\n")
        XCTAssertEqual(try Ckpt.run(["runs", "show", "99"] + ledger).status, 1)
        let missing = try Ckpt.run(["runs", "list", "--ledger", directory + "/nowhere/ledger.sqlite"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("no ledger here yet"), missing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/nowhere"))
    }

    func testTheSameSeedGivesTheSameTrialsAndHeadBytesAtAnyThreadCount() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        func tune(_ threads: Int, _ seed: Int) throws -> (JSON, Data) {
            let out = directory + "/head-\(threads)-\(seed)"
            let result = ok(try Ckpt.run(["tune-head"] + data + ["--heads", "linear,knn", "--trials", "14", "--folds", "3", "--seed", "\(seed)",
                                          "--threads", "\(threads)", "--output", out, "--json", "--quiet", "--no-ledger"]))
            return (try JSON.parse(result.stdout), try Data(contentsOf: URL(fileURLWithPath: out + "/head.safetensors")))
        }
        let (one, oneHead) = try tune(1, 3), (two, twoHead) = try tune(2, 3), (other, _) = try tune(2, 4)
        XCTAssertEqual(one["trials"]!.array!.map { $0["params"]! }, two["trials"]!.array!.map { $0["params"]! })
        XCTAssertEqual(one["trials"]!.array!.map { $0["fold_scores"]! }, two["trials"]!.array!.map { $0["fold_scores"]! })
        XCTAssertEqual(oneHead, twoHead)
        XCTAssertNotEqual(one["trials"]!.array!.map { $0["params"]! }, other["trials"]!.array!.map { $0["params"]! })
    }

    func testTwoSearchesWriteOneLedgerAtOnce() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let ledger = directory + "/ledger.sqlite"
        let processes = try (0..<2).map { i -> Process in
            let p = Process()
            p.executableURL = Ckpt.executable
            p.arguments = ["tune-head"] + data + ["--trials", "12", "--folds", "3", "--seed", "\(i)", "--output", directory + "/head\(i)",
                                                   "--quiet", "--ledger", ledger]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
        for p in processes { p.waitUntilExit() }
        XCTAssertEqual(processes.map(\.terminationStatus), [0, 0])
        for id in ["1", "2"] {
            let shown = try JSON.parse(ok(try Ckpt.run(["runs", "show", id, "--json", "--ledger", ledger])).stdout)
            XCTAssertEqual(shown["trials"]!.array!.count, 12)
            XCTAssertNotNil(shown["finished"]!.string)
        }
        XCTAssertEqual(ok(try Ckpt.run(["runs", "check", "--ledger", ledger])).stdout, "ok\n")
        let compared = ok(try Ckpt.run(["runs", "compare", "1", "2", "--ledger", ledger])).stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(compared.first, "run\t1\t2\t≠")
        XCTAssertTrue(compared.contains("trials\t12\t12"), compared.joined(separator: "\n"))
        XCTAssertTrue(compared.contains { $0.hasPrefix("settings\t") && $0.hasSuffix("≠") }, "the seeds differ")
    }

    func testASearchKilledMidwayLeavesASoundLedgerWithItsFinishedTrials() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let ledger = directory + "/ledger.sqlite"
        let p = Process()
        p.executableURL = Ckpt.executable
        p.arguments = ["tune-head"] + data + ["--heads", "linear,knn,centroid", "--trials", "100000", "--folds", "3", "--output", directory + "/head",
                                               "--quiet", "--ledger", ledger]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        // The trial table streams: once four trial rows are out, four trials are committed.
        var seen = Data()
        while seen.split(separator: UInt8(ascii: "\n")).count < 5 {
            let chunk = out.fileHandleForReading.availableData
            XCTAssertFalse(chunk.isEmpty, "tune-head ended early")
            if chunk.isEmpty { break }
            seen += chunk
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertEqual(ok(try Ckpt.run(["runs", "check", "--ledger", ledger])).stdout, "ok\n")
        let shown = try JSON.parse(ok(try Ckpt.run(["runs", "show", "1", "--json", "--ledger", ledger])).stdout)
        XCTAssertGreaterThanOrEqual(shown["trials"]!.array!.count, 4)
        XCTAssertEqual(shown["finished"], .null)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/head/head.json"))
    }

    func testLedgersThatAreNotOursAreRefusedAndLeftAlone() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let notes = directory + "/notes.txt"
        try String(repeating: "not a database\n", count: 100).write(toFile: notes, atomically: true, encoding: .utf8)
        let before = try Data(contentsOf: URL(fileURLWithPath: notes))
        for command in [["tune-head"] + data + ["--output", directory + "/head"], ["few-shot"] + data + ["--test-features", features, "--test-labels", labels],
                        ["runs", "list"]] {
            let result = try Ckpt.run(command + ["--ledger", notes])
            XCTAssertEqual(result.status, 1, command.joined(separator: " "))
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertTrue(result.stderr.contains(notes) && result.stderr.contains("not an SQLite database"), result.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: notes)), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/head"))
    }

    func testFewShotPrintsTheProtocolsScoresAndRecordsThem() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let ledger = ["--ledger", directory + "/ledger.sqlite"]
        let result = ok(try Ckpt.run(["few-shot"] + data + ["--test-features", features, "--test-labels", labels, "--shots", "4", "--repeats", "3",
                                      "--json", "--quiet"] + ledger))
        let json = try JSON.parse(result.stdout)
        XCTAssertEqual(json["shots"]!.int, 4)
        XCTAssertEqual(json["repeats"]!.int, 3)
        XCTAssertEqual(json["heads"]!.object!.map(\.0), ["linear", "centroid", "knn"])
        for (_, scores) in json["heads"]!.object! {
            for key in ["accuracy_mean", "accuracy_std", "macro_f1_mean", "macro_f1_std"] {
                XCTAssertTrue((0...1).contains(scores[key]!.double!), "\(key) \(scores)")
            }
        }
        let shown = try JSON.parse(ok(try Ckpt.run(["runs", "show", "1", "--json"] + ledger)).stdout)
        XCTAssertEqual(shown["kind"]!.string, "few-shot")
        XCTAssertEqual(shown["settings"]!["features"], .null, "precomputed features: no pooling or precision of ckpt's")
        XCTAssertEqual(shown["trials"]!.array!.map { $0["fold_scores"]!.array!.count }, [3, 3, 3])
        XCTAssertEqual(shown["trials"]!.array![0]["cv_mean"]!.double!, json["heads"]!["linear"]!["accuracy_mean"]!.double!, accuracy: 1e-12)
    }

    func testTheTimeoutStopsTheSearchAfterTheTrialsItStarted() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let result = ok(try Ckpt.run(["tune-head"] + data + ["--trials", "100000", "--folds", "3", "--timeout", "0.5", "--output", directory + "/head",
                                      "--json", "--quiet", "--no-ledger"]))
        let trials = try JSON.parse(result.stdout)["trials"]!.array!.count
        XCTAssertGreaterThanOrEqual(trials, 1)
        XCTAssertLessThan(trials, 1000)
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/head/head.safetensors"))
    }

    /// `--search-pooling` fits every trial on its own pooling's features: the texts are encoded once
    /// with every pooling (through the feature cache), and the scores of the (max, normalised) grid
    /// points are those of a search on `embed --pooling max --normalize` features; the head is saved
    /// with the best trial's pooling, and `evaluate` scores it as tune-head did.
    func testSearchingPoolingFitsEachTrialOnItsPoolingsFeatures() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let model = Ckpt.fixtures + "/bert/maskedlm"
        var rows = ["label\ttext"], kept: [String: Int] = [:]
        for line in try String(contentsOfFile: labels, encoding: .utf8).split(separator: "\n").dropFirst() {
            let label = String(line.split(separator: "\t")[0])
            guard ["DESC", "NUM", "ENTY", "LOC"].contains(label), kept[label, default: 0] < 15 else { continue }
            kept[label, default: 0] += 1
            rows.append(String(line))
        }
        let texts = directory + "/small.tsv"
        try (rows.joined(separator: "\n") + "\n").write(toFile: texts, atomically: true, encoding: .utf8)
        let search = ["tune-head", "--model", model, "--train", texts, "--test", texts, "--search-pooling", "--search", "grid", "--folds", "3",
                      "--output", directory + "/head", "--cache-dir", directory + "/cache", "--json", "--quiet", "--no-ledger", "--force"]
        let first = ok(try Ckpt.run(search))
        let study = try JSON.parse(first.stdout)
        let trials = study["trials"]!.array!
        XCTAssertEqual(trials.count, 4 * 2 * 9)
        let settings = Set(trials.map { $0["params"]!["pooling"]!.string! + " " + $0["params"]!["normalize"]!.string! })
        XCTAssertEqual(settings, Set(["cls", "max", "mean", "last"].flatMap { ["\($0) false", "\($0) true"] }))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/cache").count, 1)
        let again = try JSON.parse(ok(try Ckpt.run(search)).stdout)  // from the cache, the same study
        XCTAssertEqual(again["best"], study["best"])
        XCTAssertEqual(again["trials"]!.array!.map { $0["fold_scores"]! }, trials.map { $0["fold_scores"]! })

        let features = directory + "/max.npy"
        _ = ok(try Ckpt.run(["embed", texts, "--model", model, "--pooling", "max", "--normalize", "--output", features, "--quiet"]))
        let direct = try JSON.parse(ok(try Ckpt.run(["tune-head", "--features", features, "--labels", texts, "--search", "grid", "--folds", "3",
                                                     "--output", directory + "/direct", "--json", "--quiet", "--no-ledger"])).stdout)
        let sliced = trials.filter { $0["params"]!["pooling"]!.string! == "max" && $0["params"]!["normalize"]!.string! == "true" }
        XCTAssertEqual(sliced.map { $0["fold_scores"]! }, direct["trials"]!.array!.map { $0["fold_scores"]! })

        let best = study["best"]!["params"]!
        let head = try JSON.parse(String(contentsOfFile: directory + "/head/head.json", encoding: .utf8))
        XCTAssertEqual(head["pooling"]!["modes"], .array([best["pooling"]!]))
        XCTAssertEqual(head["pooling"]!["normalize"], .bool(best["normalize"]!.string! == "true"))
        let evaluated = try JSON.parse(ok(try Ckpt.run(["evaluate", "--head", directory + "/head", "--test", texts, "--json",
                                                        "--cache-dir", directory + "/cache"])).stdout)
        XCTAssertEqual(evaluated["accuracy"]!.double!, study["test"]!["accuracy"]!.double!)

        let refused = try Ckpt.run(["tune-head"] + data + ["--search-pooling", "--output", directory + "/refused", "--no-ledger"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.contains("--search-pooling encodes the texts itself"), refused.stderr)
    }

    func testBadSearchSettingsAreUsageErrors() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        for (arguments, message) in [(["--heads", "linear,forest"], "unknown head 'forest'"), (["--folds", "1"], "--folds must be at least 2"),
                                     (["--heads", "knn,knn"], "each head once"), (["--folds", "600"], "no class has more than")] {
            let result = try Ckpt.run(["tune-head"] + data + ["--output", directory + "/head", "--no-ledger"] + arguments)
            XCTAssertNotEqual(result.status, 0)
            XCTAssertTrue(result.stderr.contains(message), result.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/head"))
    }
}
