import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// `ckpt train-head`, `predict` and `evaluate`, from texts (the real MiniLM) and from the committed
/// features; scores compared with scikit-learn's (fixtures/heads/reference.json).
final class HeadCommandTests: XCTestCase {
    let model = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"
    let train = Ckpt.fixtures + "/data/trec-train.tsv", test = Ckpt.fixtures + "/data/trec-test.tsv"
    let trainFeatures = Ckpt.fixtures + "/heads/trec-train-minilm.npy", testFeatures = Ckpt.fixtures + "/heads/trec-test-minilm.npy"

    func reference(_ features: String) throws -> (accuracy: Double, macroF1: Double) {
        let json = try JSON.parse(String(contentsOfFile: Ckpt.fixtures + "/heads/reference.json", encoding: .utf8))
        let scores = json["unweighted"]![features]!
        return (scores["accuracy"]!.double!, scores["macro_f1"]!.double!)
    }

    func evaluation(_ result: CkptResult) throws -> (accuracy: Double, macroF1: Double) {
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try JSON.parse(result.stdout)
        return (json["accuracy"]!.double!, json["macro_f1"]!.double!)
    }

    func testFromTextTheHeadScoresAsScikitLearnAndTheSecondRunUsesTheCache() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let cache = ["--cache-dir", directory + "/cache", "--quiet"]
        let trained = try Ckpt.run(["train-head", "--model", model, "--train", train, "--output", directory + "/head"] + cache)
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let scores = try evaluation(try Ckpt.run(["evaluate", "--head", directory + "/head", "--test", test, "--json"] + cache))
        let sklearn = try reference("float32_features")
        XCTAssertEqual(scores.accuracy, sklearn.accuracy, accuracy: 0.01)
        XCTAssertEqual(scores.macroF1, sklearn.macroF1, accuracy: 0.01)

        // Same texts, another head: every feature row comes from the cache.
        let again = try Ckpt.run(["train-head", "--model", model, "--train", train, "--output", directory + "/mlp",
                                  "--head", "mlp", "--epochs", "3", "--cache-dir", directory + "/cache"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("5452 of 5452 feature rows from the cache"), again.stderr)

        let predicted = try Ckpt.run(["predict", "--head", directory + "/head", "--top-k", "2", "--quiet", "--cache-dir", directory + "/cache"],
                                     in: nil, shell: false, input: "Who wrote Hamlet ?\nHow far is the Moon from the Earth ?\n")
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let rows = predicted.stdout.split(separator: "\n").map { $0.split(separator: "\t") }
        XCTAssertEqual(rows.map { $0.count }, [4, 4])
        XCTAssertEqual(rows.map { String($0[0]) }, ["HUM", "NUM"])
    }

    func testPrecomputedFeaturesGiveScikitLearnsScores() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let trained = try Ckpt.run(["train-head", "--features", trainFeatures, "--labels", train, "--output", directory + "/head", "--quiet"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let scores = try evaluation(try Ckpt.run(["evaluate", "--head", directory + "/head", "--features", testFeatures, "--labels", test, "--json"]))
        let sklearn = try reference("float16_features")
        XCTAssertEqual(scores.accuracy, sklearn.accuracy, accuracy: 0.005)
        XCTAssertEqual(scores.macroF1, sklearn.macroF1, accuracy: 0.005)

        let head = try JSON.parse(String(contentsOfFile: directory + "/head/head.json", encoding: .utf8))
        XCTAssertEqual(head["labels"]!.array!.map { $0.string! }, ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"])
        XCTAssertEqual(head["model"], .null)
        XCTAssertEqual(head["training"]!["converged"], .bool(true))
        XCTAssertEqual(try Checkpoint(path: directory + "/head/head.safetensors").tensors.map { "\($0.name) \($0.shape)" },
                       ["bias [6]", "weight [6, 384]"])

        let jsonl = try Ckpt.run(["predict", "--head", directory + "/head", "--features", testFeatures, "--format", "jsonl"])
        XCTAssertEqual(jsonl.status, 0, jsonl.stderr)
        let lines = jsonl.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 500)
        let first = try JSON.parse(String(lines[0]))
        XCTAssertEqual(first["label"]!.string, "NUM")
        XCTAssertEqual(first["logits"]!.array!.count, 6)

        let table = try Ckpt.run(["evaluate", "--head", directory + "/head", "--features", testFeatures, "--labels", test])
        XCTAssertTrue(table.stdout.contains("accuracy                           0.9040        500"), table.stdout)
        XCTAssertTrue(table.stdout.contains("confusion matrix (rows: true label, columns: predicted)"), table.stdout)
    }

    func testBadInputsAreClearErrors() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        func write(_ name: String, _ text: String) throws -> String {
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
            return directory + "/" + name
        }
        func trainHead(_ extra: [String]) throws -> CkptResult {
            try Ckpt.run(["train-head", "--output", directory + "/out", "--quiet"] + extra)
        }
        let oneClass = try write("one.txt", String(repeating: "A\n", count: 5452))
        var result = try trainHead(["--features", trainFeatures, "--labels", oneClass])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: every example has the label 'A'; a classifier needs at least two classes\n")

        let short = try write("short.txt", "A\nB\n")
        result = try trainHead(["--features", trainFeatures, "--labels", short])
        XCTAssertEqual(result.stderr, "error: \(short): 5452 feature rows but 2 labels; they must pair up one to one\n")

        let headerOnly = try write("empty.tsv", "label\ttext\n")
        result = try trainHead(["--model", model, "--train", headerOnly, "--no-cache"])
        XCTAssertEqual(result.stderr, "error: no labelled examples (the file has a header and nothing else?)\n")

        let ragged = try write("ragged.tsv", "label\ttext\nA\tfine\nB\n")
        result = try trainHead(["--model", model, "--train", ragged, "--no-cache"])
        XCTAssertEqual(result.stderr, "error: \(ragged): line 3 has no 'text' column\n")

        var poisoned = try Checkpoint(path: testFeatures).tensor(named: "trec-test-minilm").floats()
        poisoned[3 * 384 + 5] = .infinity
        try NPYWriter.write(poisoned, shape: [500, 384], to: directory + "/poisoned.npy", overwrite: false)
        result = try trainHead(["--features", directory + "/poisoned.npy", "--labels", test])
        XCTAssertEqual(result.stderr, "error: feature row 3 (0-based) holds a NaN or infinite value at column 5\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/out/head.json"))

        // A test label the head never saw: reported, counted wrong, no crash.
        XCTAssertEqual(try trainHead(["--features", trainFeatures, "--labels", train]).status, 0)
        var labels = try String(contentsOfFile: test, encoding: .utf8).split(separator: "\n").map(String.init)
        labels[1] = "NEW\t" + labels[1].split(separator: "\t")[1]
        let relabelled = try write("relabelled.tsv", labels.joined(separator: "\n") + "\n")
        result = try Ckpt.run(["evaluate", "--head", directory + "/out", "--features", testFeatures, "--labels", relabelled, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "warning: 1 example(s) have labels the head was not trained on (NEW); counted as wrong\n")
        XCTAssertEqual(try JSON.parse(result.stdout)["labels"]!.array!.last, .string("NEW"))

        result = try trainHead(["--features", trainFeatures, "--labels", train])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(directory)/out/head.safetensors: already exists (pass --force to overwrite it)\n")

        result = try Ckpt.run(["predict", "--head", directory + "/out", "--quiet"], input: "a text\n")
        XCTAssertEqual(result.stderr, "error: \(directory)/out: this head was trained on precomputed features; pass --features, or --model to encode texts\n")

        // head.json's pooling, edited by hand: a token limit under 2 or a normalisation that is not a bool.
        let headJSON = directory + "/out/head.json"
        let saved = try String(contentsOfFile: headJSON, encoding: .utf8)
        for (pooling, problem) in [(#"{"modes":["mean"],"normalize":true,"max_length":1}"#, "'max_length' is 1; it must be a whole number of tokens, at least 2"),
                                   (#"{"modes":["mean"],"normalize":"yes","max_length":128}"#, "'normalize' is \"yes\"; it must be true or false")] {
            try saved.replacingOccurrences(of: #""pooling":null"#, with: #""pooling":"# + pooling).write(toFile: headJSON, atomically: true, encoding: .utf8)
            result = try Ckpt.run(["predict", "--head", directory + "/out", "--model", model, "--no-cache", "--quiet"], input: "a text\n")
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "error: \(headJSON): \(problem)\n")
            XCTAssertEqual(result.stdout, "")
        }
        try saved.write(toFile: headJSON, atomically: true, encoding: .utf8)

        XCTAssertEqual(try trainHead(["--features", trainFeatures]).status, 64)
        XCTAssertEqual(try trainHead(["--features", trainFeatures, "--labels", train, "--head", "mlp", "--optimizer", "lbfgs"]).status, 64)
        XCTAssertEqual(try trainHead(["--features", trainFeatures, "--labels", train, "--valid-fraction", "1.5"]).status, 64)
    }
}
