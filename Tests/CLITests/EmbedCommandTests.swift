import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// `ckpt embed` on the real all-MiniLM-L6-v2 (fetched by `make test`).
final class EmbedCommandTests: XCTestCase {
    let model = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"
    let trec = Ckpt.fixtures + "/data/trec-test.tsv"

    func rows(_ path: String) throws -> (values: [Float], shape: [Int]) {
        let checkpoint = try Checkpoint(path: path)
        let tensor = try checkpoint.tensor(named: checkpoint.tensors[0].name)
        return (tensor.floats(), tensor.shape)
    }

    func testTSVToNpyMatchesSentenceTransformers() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let result = try Ckpt.run(["embed", "--model", model, trec, "--output", directory + "/trec.npy", "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let (values, shape) = try rows(directory + "/trec.npy")
        XCTAssertEqual(shape, [500, 384])
        // The golden set's first 120 sentences are these questions, embedded by sentence-transformers.
        let golden = try Checkpoint(path: Ckpt.fixtures + "/minilm/embeddings.npy").tensor(named: "embeddings").floats()
        for i in 0..<120 {
            let cosine = zip(values[(i * 384)..<((i + 1) * 384)], golden[(i * 384)..<((i + 1) * 384)]).reduce(0) { $0 + $1.0 * $1.1 }
            XCTAssertGreaterThanOrEqual(cosine, 0.99999, "row \(i)")
        }
    }

    func testShardsConcatenateToTheWhole() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        XCTAssertEqual(try Ckpt.run(["embed", "--model", model, trec, "--output", directory + "/all.safetensors", "--quiet"]).status, 0)
        var parts: [Float] = []
        for k in 0..<3 {
            let result = try Ckpt.run(["embed", "--model", model, trec, "--shard", "\(k)/3", "--output", directory + "/\(k).npy", "--quiet"])
            XCTAssertEqual(result.status, 0, result.stderr)
            parts += try rows(directory + "/\(k).npy").values
        }
        let whole = try rows(directory + "/all.safetensors")
        XCTAssertEqual(whole.shape, [500, 384])
        XCTAssertEqual(parts.count, whole.values.count)
        XCTAssertLessThan(zip(parts, whole.values).map { abs($0 - $1) }.max()!, 1e-5)
    }

    /// More texts than `embed` encodes at a time (2,048): every output form holds all rows in
    /// input order, the same bits across the windows' boundary as each text encoded alone, and
    /// JSONL's indices run on across it.
    func testInputsLongerThanAWindowKeepEveryRowInOrder() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let texts = (0..<2_100).map { "question \($0): what is \(String(repeating: "very ", count: $0 % 7))far?" }
        try texts.joined(separator: "\n").write(toFile: directory + "/long.txt", atomically: true, encoding: .utf8)
        for output in ["all.npy", "all.safetensors", "all.jsonl"] {
            let result = try Ckpt.run(["embed", "--model", model, directory + "/long.txt", "--output", directory + "/" + output, "--threads", "2", "--quiet"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        let npy = try rows(directory + "/all.npy")
        XCTAssertEqual(npy.shape, [2_100, 384])
        XCTAssertEqual(try rows(directory + "/all.safetensors").values, npy.values)
        let lines = try String(contentsOfFile: directory + "/all.jsonl", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(try lines.map { try JSON.parse(String($0))["index"]!.int! }, Array(0..<2_100))
        // Texts on both sides of the boundary, embedded on their own.
        let around = Array(2_040..<2_056)
        try around.map { texts[$0] }.joined(separator: "\n").write(toFile: directory + "/around.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try Ckpt.run(["embed", "--model", model, directory + "/around.txt", "--output", directory + "/around.npy", "--quiet"]).status, 0)
        XCTAssertEqual(try rows(directory + "/around.npy").values, Array(npy.values[(2_040 * 384)..<(2_056 * 384)]))
    }

    func testJSONLOnStdoutWithOptions() throws {
        let result = try Ckpt.run(["embed", "--model", model, "--pooling", "cls", "--no-normalize", "--max-length", "8",
                                   Ckpt.fixtures + "/data/README.md"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n")
        let first = try JSON.parse(String(lines[0]))
        XCTAssertEqual(first["index"]?.int, 0)
        XCTAssertEqual(first["features"]?.array?.count, 384)
        XCTAssertTrue(result.stderr.contains("were truncated"), result.stderr)
    }

    func testMissingColumnFailsCleanly() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let result = try Ckpt.run(["embed", "--model", model, trec, "--text-column", "question", "--output", directory + "/x.npy"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(trec): no column 'question' in the header (columns: label, text); choose one with --text-column\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    func testJSONLRowWithoutTheFieldNamesTheLine() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let input = directory + "/in.jsonl"
        try Data("{\"text\": \"fine\"}\n{\"body\": \"no text\"}\n".utf8).write(to: URL(fileURLWithPath: input))
        let result = try Ckpt.run(["embed", "--model", model, input])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(input): line 2 has no string field 'text'\n")
    }

    func testModelDirectoryMissingAFileIsNamed() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        try FileManager.default.copyItem(atPath: model + "/model.safetensors", toPath: directory + "/model.safetensors")
        let result = try Ckpt.run(["embed", "--model", directory, trec])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(directory)/config.json: cannot open: No such file or directory\n")
    }

    func testATokenLimitUnderTwoIsAnErrorNamingTheFile() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        for name in try FileManager.default.contentsOfDirectory(atPath: model) where name != "sentence_bert_config.json" {
            try FileManager.default.createSymbolicLink(atPath: directory + "/" + name, withDestinationPath: model + "/" + name)
        }
        try #"{"max_seq_length": 1, "do_lower_case": false}"#.write(toFile: directory + "/sentence_bert_config.json", atomically: true, encoding: .utf8)
        let result = try Ckpt.run(["embed", "--model", directory, trec])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(directory)/sentence_bert_config.json: 'max_seq_length' is 1; it must be a whole number of tokens, at least 2\n")
        XCTAssertEqual(result.stdout, "")
    }

    func testBadOptionsAreUsageErrors() throws {
        for arguments in [["--output", "x.bin"], ["--shard", "3/3"], ["--shard", "x"], ["--batch-size", "0"]] {
            XCTAssertEqual(try Ckpt.run(["embed", "--model", model, trec] + arguments).status, 64, arguments.joined(separator: " "))
        }
    }
}

final class FillMaskCommandTests: XCTestCase {
    func testPrintsCandidatesPerMask() throws {
        let result = try Ckpt.run(["fill-mask", "--model", Ckpt.fixtures + "/bert/maskedlm", "--top-k", "2", "[MASK] dog runs over the [MASK] house"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: "\t") }
        XCTAssertEqual(rows.count, 4)
        XCTAssertEqual(rows.map { String($0[0]) }, ["1", "1", "6", "6"])
    }

    func testTextWithoutMaskFails() throws {
        let model = Ckpt.fixtures + "/bert/maskedlm"
        let result = try Ckpt.run(["fill-mask", "--model", model, "nothing to fill"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(model): the text holds no [MASK] to fill\n")
    }
}
