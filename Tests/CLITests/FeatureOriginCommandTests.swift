import Foundation
import CkptSupport
import TensorFormats
import XCTest

/// Features that say how they were made: `embed --output X.safetensors` records the model, pooling
/// and precision in the file's metadata (kept by `merge`); a head trained on the file takes them
/// over; features made otherwise than a head's, or than the training features, are refused.
final class FeatureOriginCommandTests: XCTestCase {
    let minilm = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"

    func run(_ arguments: [String], input: String = "") throws -> CkptResult {
        let result = try Ckpt.run(arguments, input: input)
        XCTAssertEqual(result.status, 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    /// The first `count` TREC training questions as train.tsv, texts.txt (their texts) and labels.txt.
    func data(_ directory: String, count: Int = 120) throws {
        let rows = try String(contentsOfFile: Ckpt.fixtures + "/data/trec-train.tsv", encoding: .utf8).split(separator: "\n").prefix(count + 1)
        let body = rows.dropFirst().map { $0.split(separator: "\t", maxSplits: 1) }
        try (rows.joined(separator: "\n") + "\n").write(toFile: directory + "/train.tsv", atomically: true, encoding: .utf8)
        try (body.map { String($0[1]) }.joined(separator: "\n") + "\n").write(toFile: directory + "/texts.txt", atomically: true, encoding: .utf8)
        try (body.map { String($0[0]) }.joined(separator: "\n") + "\n").write(toFile: directory + "/labels.txt", atomically: true, encoding: .utf8)
    }

    func embed(_ directory: String, _ options: [String], to name: String) throws -> String {
        _ = try run(["embed", "--model", minilm, "--output", directory + "/" + name, "--quiet", "--force"] + options + [directory + "/texts.txt"])
        return directory + "/" + name
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func testAHeadTrainedOnEmbeddedFeaturesKnowsHowTheyWereMade() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        try data(directory)
        let int8 = try embed(directory, ["--precision", "int8"], to: "int8.safetensors")
        let inspect = try run(["inspect", int8]).stdout
        XCTAssertTrue(inspect.contains("metadata: ckpt.features.model = \(minilm)\n"), inspect)
        XCTAssertTrue(inspect.contains("metadata: ckpt.features.pooling = {\"modes\":[\"mean\"],\"normalize\":true,\"max_length\":256}\n"), inspect)
        XCTAssertTrue(inspect.contains("metadata: ckpt.features.precision = int8\n"), inspect)

        let ledger = directory + "/ledger.sqlite"
        _ = try run(["train-head", "--features", int8, "--labels", directory + "/labels.txt", "--output", directory + "/from-features",
                     "--quiet", "--ledger", ledger])
        _ = try run(["train-head", "--model", minilm, "--precision", "int8", "--train", directory + "/train.tsv", "--output", directory + "/from-texts",
                     "--quiet", "--no-cache", "--ledger", ledger])
        // The same features make the same head, and head.json records the same model, pooling and precision.
        XCTAssertEqual(try bytes(directory + "/from-features/head.safetensors"), try bytes(directory + "/from-texts/head.safetensors"))
        let recorded = { (head: String) -> [JSON?] in
            let json = try JSON.read(file: directory + "/\(head)/head.json")
            return [json["model"], json["pooling"], json["precision"]]
        }
        XCTAssertEqual(try recorded("from-features"), try recorded("from-texts"))
        XCTAssertEqual(try recorded("from-features")[2], .string("int8"))
        let studies = try ["1", "2"].map { try JSON.parse(try run(["runs", "show", $0, "--json", "--ledger", ledger]).stdout) }
        XCTAssertEqual(studies[0]["settings"]?["features"]?["precision"]?.string, "int8", "the ledger records the file's precision")
        XCTAssertEqual(studies[0]["model"]?.string, minilm)
        XCTAssertNotNil(studies[0]["model_hash"]?.string)
        for key in ["model", "model_hash"] { XCTAssertEqual(studies[0][key], studies[1][key], key) }
        XCTAssertEqual(studies[0]["settings"]?["features"], studies[1]["settings"]?["features"])

        // Texts given to the head are encoded as its training features were: int8, without --model.
        let fromTexts = try run(["predict", "--head", directory + "/from-features", "--no-cache", "--format", "jsonl", directory + "/texts.txt"])
        let fromFile = try run(["predict", "--head", directory + "/from-features", "--features", int8, "--format", "jsonl"])
        XCTAssertEqual(fromTexts.stdout, fromFile.stdout)
        let f32Texts = try run(["predict", "--head", directory + "/from-features", "--no-cache", "--format", "jsonl", "--precision", "f32",
                                directory + "/texts.txt"])
        XCTAssertNotEqual(f32Texts.stdout, fromFile.stdout)
    }

    func testFeaturesMadeOtherwiseThanTheHeadsOrTheTrainingFeaturesAreRefused() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        try data(directory, count: 60)
        let int8 = try embed(directory, ["--precision", "int8"], to: "int8.safetensors")
        let f32 = try embed(directory, [], to: "f32.safetensors")
        let cls = try embed(directory, ["--precision", "int8", "--pooling", "cls"], to: "cls.safetensors")
        let bare = try embed(directory, [], to: "f32.npy")
        let head = directory + "/head", labels = directory + "/labels.txt"
        _ = try run(["train-head", "--features", int8, "--labels", labels, "--output", head, "--quiet", "--no-ledger"])

        let precision = "\(f32): these features were made with precision f32, but the head's training features (\(head)) with precision int8"
        let pooling = "\(cls): these features were made with pooling {\"modes\":[\"cls\"],\"normalize\":true,\"max_length\":256}, "
            + "but the head's training features (\(head)) with pooling {\"modes\":[\"mean\"],\"normalize\":true,\"max_length\":256}"
        let refusals: [([String], String)] = [
            (["predict", "--head", head, "--features", f32], precision),
            (["evaluate", "--head", head, "--features", f32, "--labels", labels], precision),
            (["predict", "--head", head, "--features", cls], pooling),
            (["few-shot", "--features", int8, "--labels", labels, "--test-features", f32, "--test-labels", labels, "--shots", "2", "--repeats", "1", "--no-ledger"],
             "\(f32): these features were made with precision f32, but --features \(int8) with precision int8"),
            (["tune-head", "--features", int8, "--labels", labels, "--test-features", cls, "--test-labels", labels, "--output", directory + "/tuned",
              "--no-ledger"], "\(cls): these features were made with pooling {\"modes\":[\"cls\"]"),
        ]
        for (arguments, message) in refusals {
            let result = try Ckpt.run(arguments + ["--quiet"])
            XCTAssertEqual(result.status, 1, arguments.joined(separator: " "))
            XCTAssertTrue(result.stderr.hasPrefix("error: " + message), "\(arguments[0]): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertEqual(result.stdout, "")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/tuned"))
        // Features that do not say how they were made are taken as they are.
        XCTAssertEqual(try run(["predict", "--head", head, "--features", bare]).stdout.split(separator: "\n").count, 60)
    }

    func testAMergedRunKeepsTheOriginAndABrokenOneIsAnErrorNamingTheFile() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        try data(directory, count: 30)
        let whole = try embed(directory, ["--precision", "bf16"], to: "whole.safetensors")
        let parts = try (0..<3).map { try embed(directory, ["--precision", "bf16", "--shard", "\($0)/3"], to: "part-\($0).safetensors") }
        _ = try run(["merge", "--output", directory + "/merged.safetensors"] + parts.reversed())
        XCTAssertEqual(try bytes(directory + "/merged.safetensors"), try bytes(whole))

        let checkpoint = try Checkpoint(path: whole)
        let values = try checkpoint.tensor(named: "features").floats()
        func rewritten(_ name: String, _ change: ([(String, String)]) -> [(String, String)]) throws -> String {
            let path = directory + "/" + name
            try SafeTensorsWriter.write([OutgoingTensor(info: checkpoint.tensors[0]) { emit in try values.withUnsafeBytes { try emit($0) } }],
                                        metadata: change(checkpoint.metadata), to: path, overwrite: true)
            return path
        }
        let cases = [
            (try rewritten("fp8.safetensors") { $0.map { $0.0 == "ckpt.features.precision" ? ($0.0, "fp8") : $0 } },
             "unknown precision \"fp8\" (known: f32, bf16, int8)"),
            (try rewritten("no-model.safetensors") { $0.filter { $0.0 != "ckpt.features.model" } },
             "its metadata records how the features were made but lacks 'ckpt.features.model'"),
            (try rewritten("pooling.safetensors") { $0.map { $0.0 == "ckpt.features.pooling" ? ($0.0, "{\"modes\":[\"sum\"]}") : $0 } },
             "unknown pooling mode \"sum\" (known: cls, max, mean, last)"),
            (try rewritten("short.safetensors") { $0.map { $0.0 == "ckpt.features.pooling" ? ($0.0, #"{"modes":["mean"],"normalize":true,"max_length":0}"#) : $0 } },
             "'max_length' is 0; it must be a whole number of tokens, at least 2"),
        ]
        for (path, problem) in cases {
            let result = try Ckpt.run(["train-head", "--features", path, "--labels", directory + "/labels.txt", "--output", directory + "/head",
                                       "--quiet", "--no-ledger"])
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "error: \(path): \(problem)\n")
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/head"))
        }
        // A model no longer where the file says is recorded without a fingerprint; the head still trains.
        let moved = try rewritten("moved.safetensors") { $0.map { $0.0 == "ckpt.features.model" ? ($0.0, "/nowhere/minilm") : $0 } }
        let ledger = directory + "/ledger.sqlite"
        _ = try run(["train-head", "--features", moved, "--labels", directory + "/labels.txt", "--output", directory + "/head", "--quiet", "--ledger", ledger])
        let study = try JSON.parse(try run(["runs", "show", "1", "--json", "--ledger", ledger]).stdout)
        XCTAssertEqual(study["model"], .string("/nowhere/minilm"))
        XCTAssertEqual(study["model_hash"], .null)
        XCTAssertEqual(try JSON.read(file: directory + "/head/head.json")["model"], .string("/nowhere/minilm"))
    }
}
