import CkptSupport
import Foundation
import XCTest

final class TokenizeCommandTests: XCTestCase {
    let minilm = Ckpt.fixtures + "/tokenizers/minilm"
    let gpt2 = Ckpt.fixtures + "/tokenizers/gpt2/gpt2.tiktoken"

    func run(_ arguments: [String], stdin: String) throws -> CkptResult {
        let directory = try Ckpt.temporaryDirectory(self)
        let input = directory + "/input.txt"
        try Data(stdin.utf8).write(to: URL(fileURLWithPath: input))
        return try Ckpt.run(["sh", "-c", "exec \"$0\" \"$@\" < \"\(input)\"", Ckpt.executable.path] + arguments, shell: true)
    }

    func testIdsOnePerLineWithSpecialTokens() throws {
        let result = try Ckpt.run(["tokenize", "--model", minilm, "Hello, world!", "naïve café"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "101 7592 1010 2088 999 102\n101 15743 7668 102\n")
    }

    func testTokensAndJSONFormats() throws {
        let tokens = try Ckpt.run(["tokenize", "--tokenizer", gpt2, "--format", "tokens", "Hello world"])
        XCTAssertEqual(tokens.stdout, "Hello Ġworld\n")
        let json = try Ckpt.run(["tokenize", "--model", minilm, "--format", "json", "--pair", "a b", "c"])
        XCTAssertEqual(json.stdout, #"{"ids":[101,1037,1038,102,1039,102],"type_ids":[0,0,0,0,1,1],"tokens":["[CLS]","a","b","[SEP]","c","[SEP]"],"offsets":[[0,0],[0,1],[2,3],[0,0],[0,1],[0,0]],"attention_mask":[1,1,1,1,1,1]}"# + "\n")
    }

    func testStdinLinesPairsAndTruncation() throws {
        let result = try run(["tokenize", "--model", minilm, "--pair", "--max-length", "6"], stdin: "one two three four\tfive six\r\nseven\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "101 2028 2048 102 2274 102\n101 2698 102 102\n")
    }

    func testInvalidUTF8IsReplacedWithACountOrRefusedWhenStrict() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let input = directory + "/bad.txt"
        try Data([0x61, 0xFF, 0x62, 0x0A, 0x63, 0x0A]).write(to: URL(fileURLWithPath: input))
        let lenient = try Ckpt.run(["sh", "-c", "exec \"$0\" tokenize --tokenizer \"$1\" < \"$2\"", Ckpt.executable.path, gpt2, input], shell: true)
        XCTAssertEqual(lenient.status, 0)
        XCTAssertEqual(lenient.stdout, "64 4210 65\n66\n")  // a U+FFFD b: U+FFFD is bytes EF BF BD, token 4210
        XCTAssertEqual(lenient.stderr, "warning: 1 input line(s) held invalid UTF-8, replaced by U+FFFD (first: line 1)\n")
        let strict = try Ckpt.run(["sh", "-c", "exec \"$0\" tokenize --strict --tokenizer \"$1\" < \"$2\"", Ckpt.executable.path, gpt2, input], shell: true)
        XCTAssertEqual(strict.status, 1)
        XCTAssertEqual(strict.stderr, "error: <stdin>: line 1 is not valid UTF-8\n")
    }

    func testDecodeRoundTrips() throws {
        let encoded = try Ckpt.run(["tokenize", "--tokenizer", gpt2, "Grüße, 世界 🥲!"])
        let decoded = try run(["tokenize", "--tokenizer", gpt2, "--decode"], stdin: encoded.stdout)
        XCTAssertEqual(decoded.stdout, "Grüße, 世界 🥲!\n")
        let bad = try run(["tokenize", "--tokenizer", gpt2, "--decode"], stdin: "1 2 99999\n")
        XCTAssertEqual(bad.status, 64)
    }

    func testMissingTokenizerFilesAreNamed() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let result = try Ckpt.run(["tokenize", "--model", directory, "x"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(directory): no tokenizer files (looked for tokenizer.json, vocab.txt, vocab.json + merges.txt, *.tiktoken)\n")
    }

    /// Inputs the fuzzer found (`make fuzz`): each refused with its one-line message.
    func testFuzzFoundTokenizerFilesAreRefused() throws {
        let root = Ckpt.fixtures + "/tokenizers/fuzz-found/"
        let expected = try XCTUnwrap(JSON.read(file: root + "expected.json").object)
        XCTAssertFalse(expected.isEmpty)
        for (file, message) in expected {
            let result = try Ckpt.run(["tokenize", "--tokenizer", root + file, "hello"])
            XCTAssertEqual(result.status, 1, file)
            XCTAssertEqual(result.stderr, "error: \(root + file): \(message.string!)\n")
        }
    }

    func testModelOrTokenizerIsRequired() throws {
        XCTAssertEqual(try Ckpt.run(["tokenize", "x"]).status, 64)
        XCTAssertEqual(try Ckpt.run(["tokenize", "--model", minilm, "--tokenizer", gpt2, "x"]).status, 64)
    }
}
