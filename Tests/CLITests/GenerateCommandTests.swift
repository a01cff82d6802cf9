import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// `ckpt generate`, `ckpt perplexity` and `ckpt embed` on the tiny GPT-2 fixtures (tools/make_gpt2_fixtures.py).
final class GenerateCommandTests: XCTestCase {
    let model = Ckpt.fixtures + "/gpt2/bare"

    func golden() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Ckpt.fixtures + "/gpt2/golden.json"))) as! [String: Any]
    }

    func testGreedyJSONAndStreamedTextAreTransformersContinuations() throws {
        for case let reference as [String: Any] in try golden()["generations"] as! [Any] {
            let prompt = reference["prompt"] as! String
            let json = try Ckpt.run(["generate", "--model", model, "--prompt", prompt, "--max-new-tokens", "64", "--format", "json"])
            XCTAssertEqual(json.status, 0, json.stderr)
            let object = try JSON.parse(json.stdout.trimmingCharacters(in: .newlines))
            XCTAssertEqual(object["ids"]?.array?.compactMap(\.int), reference["ids"] as? [Int], prompt)
            XCTAssertEqual(object["prompt_ids"]?.array?.compactMap(\.int), reference["prompt_ids"] as? [Int], prompt)
            XCTAssertEqual(object["text"]?.string, reference["text"] as? String)
            XCTAssertTrue(json.stderr.contains("64 new tokens") && json.stderr.contains("stopped: length"), json.stderr)
            let text = try Ckpt.run(["generate", "--model", model, "--prompt", prompt, "--max-new-tokens", "64", "--quiet"])
            XCTAssertEqual(text.stdout, (reference["text"] as! String) + "\n")
            XCTAssertEqual(text.stderr, "")
        }
    }

    func testSamplingIsReproducibleBySeed() throws {
        func sample(_ seed: String) throws -> String {
            try Ckpt.run(["generate", "--model", model, "--prompt", "Hello", "--max-new-tokens", "12", "--temperature", "0.9",
                          "--top-k", "40", "--top-p", "0.95", "--seed", seed, "--format", "json", "--quiet"]).stdout
        }
        XCTAssertEqual(try sample("11"), try sample("11"))
        XCTAssertNotEqual(try sample("11"), try sample("12"))
    }

    func testBadSamplingValuesAndLongPromptsAreRefused() throws {
        for arguments in [["--top-p", "1.5"], ["--temperature", "-1"], ["--top-k", "0"], ["--max-new-tokens", "-3"]] {
            let result = try Ckpt.run(["generate", "--model", model] + arguments)
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
        }
        let long = String(repeating: " hello", count: 300)
        let refused = try Ckpt.run(["generate", "--model", model, "--prompt", long])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("the prompt is 300 tokens, more than the model's context of 128")
                      && refused.stderr.contains("--truncate-left"), refused.stderr)
        let cut = try Ckpt.run(["generate", "--model", model, "--prompt", long, "--truncate-left", "--max-new-tokens", "3"])
        XCTAssertEqual(cut.status, 0, cut.stderr)
        XCTAssertTrue(cut.stderr.contains("cut to its last 127 tokens"), cut.stderr)
        let missing = try Ckpt.run(["generate", "--model", Ckpt.fixtures + "/gpt2"])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("config.json"), missing.stderr)
    }

    func testPerplexityRowsAndTotal() throws {
        let references = (try golden()["perplexity"] as! [[String: Any]]).filter { $0["stride"] as! Int == 64 }
        let input = references.map { $0["text"] as! String }.joined(separator: "\n") + "\n"
        let result = try Ckpt.run(["perplexity", "--model", Ckpt.fixtures + "/gpt2/npz", "--stride", "64"], input: input)
        XCTAssertEqual(result.status, 0, result.stderr)
        let rows = result.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(rows.count, references.count)
        for (row, reference) in zip(rows, references) {
            XCTAssertEqual(Int(row[0]), reference["tokens"] as? Int)
            if let nll = reference["nll"] as? Double {
                XCTAssertEqual(Double(row[1])!, nll, accuracy: 1e-4 * nll)
                XCTAssertEqual(Double(row[2])!, reference["perplexity"] as! Double, accuracy: 1e-4 * (reference["perplexity"] as! Double))
            } else {
                XCTAssertEqual(Array(row[1...]), ["nan", "nan"])
            }
        }
        XCTAssertTrue(result.stderr.hasPrefix("total: 4 texts, 254 tokens, 250 predicted; mean nll "), result.stderr)
        let jsonl = try Ckpt.run(["perplexity", "--model", Ckpt.fixtures + "/gpt2/npz", "--format", "jsonl", "--quiet"], input: "x\n")
        XCTAssertEqual(jsonl.stdout, "{\"index\":0,\"tokens\":1,\"nll\":null,\"perplexity\":null}\n")
    }

    func testEmbedOnGPT2UsesLastTokenPooling() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let texts = try golden()["embed_texts"] as! [String]
        try (texts.joined(separator: "\n") + "\n").write(toFile: directory + "/texts.txt", atomically: true, encoding: .utf8)
        let result = try Ckpt.run(["embed", "--model", model, directory + "/texts.txt", "--output", directory + "/f.npy"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("1 text(s) longer than 128 tokens were truncated"), result.stderr)
        let features = try Checkpoint(path: directory + "/f.npy").tensor(named: "f").floats()
        let expected = try Checkpoint(path: Ckpt.fixtures + "/gpt2/golden.npz").tensor(named: "embed_last").floats()
        XCTAssertEqual(features.count, expected.count)
        XCTAssertLessThan(zip(features, expected).map { abs($0 - $1) }.max()!, 1e-4)
    }
}
