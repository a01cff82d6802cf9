import TensorFormats
import XCTest
@testable import Tokenizers

/// GPT-2's byte-level BPE against Hugging Face tokenizers and tiktoken on the whole corpus, from
/// each file form the vocabulary comes in.
final class BytePairReferenceTests: XCTestCase {
    let corpus = Golden.corpus

    func testTokenizerJSONMatchesHuggingFace() throws {
        let tokenizer = try Tokenizer(file: Golden.path("gpt2/tokenizer.json"))
        assertMatchesGolden(tokenizer.encodeBatch(corpus, threads: 2), try Golden.rows("gpt2"), inputs: corpus)
    }

    func testTiktokenRanksMatchTiktoken() throws {
        let tokenizer = try Tokenizer(file: Golden.path("gpt2/gpt2.tiktoken"))
        assertMatchesGolden(tokenizer.encodeBatch(corpus, threads: 2), try Golden.rows("gpt2_tiktoken"), inputs: corpus, checkOffsets: false)
    }

    func testVocabJSONAndMergesMatchHuggingFace() throws {
        let tokenizer = try Tokenizer(file: Golden.path("gpt2/vocab.json"))
        assertMatchesGolden(tokenizer.encodeBatch(corpus, threads: 2), try Golden.rows("gpt2"), inputs: corpus)
    }

    func testDecodingReturnsEveryLineExactly() throws {
        let tokenizer = try Tokenizer(file: Golden.path("gpt2/tokenizer.json"))
        let encodings = tokenizer.encodeBatch(corpus, threads: 2)
        let failures = zip(corpus, encodings).filter { line, encoding in
            !tokenizer.decode(encoding.ids, skipSpecialTokens: false).utf8.elementsEqual(line.utf8)
        }
        XCTAssertEqual(failures.count, 0, "first: \(failures.first.map { $0.0.debugDescription } ?? "")")
    }

    func testEndOfTextIsRecognisedInText() throws {
        let tokenizer = try Tokenizer(file: Golden.path("gpt2/gpt2.tiktoken"))
        XCTAssertEqual(tokenizer.encode("a<|endoftext|>b").ids, [64, 50256, 65])
        XCTAssertEqual(tokenizer.vocabularySize, 50257)
    }

}

/// Inputs of megabytes in one line (a 10 MB line, 1 MB runs of one character): ids equal to the
/// reference's, pinned as count and CRC-32 by tools/make_tokenizer_fixtures.py.
final class HugeInputTests: XCTestCase {
    func testHugeInputsMatchReference() throws {
        let pins = try JSON.parse(String(contentsOfFile: Golden.path("huge_inputs.json"), encoding: .utf8))
        let joined = Golden.corpus.joined(separator: " ")
        let inputs = ["a×2^20": String(repeating: "a", count: 1 << 20), "space×2^20": String(repeating: " ", count: 1 << 20),
                      "🥲×2^18": String(repeating: "🥲", count: 1 << 18),
                      "corpus×5": Array(repeating: joined, count: 5).joined(separator: " ")]
        XCTAssertGreaterThan(inputs["corpus×5"]!.utf8.count, 10_000_000)
        for (model, tokenizer) in [("wordpiece", try Tokenizer(directory: Golden.path("minilm"))),
                                   ("gpt2", try Tokenizer(file: Golden.path("gpt2/tokenizer.json")))] {
            for (name, text) in inputs {
                let ids = tokenizer.encode(text).ids
                let pin = pins["\(model) \(name)"]!
                XCTAssertEqual(ids.count, pin["count"]!.int!, "\(model) \(name)")
                XCTAssertEqual(ids.withUnsafeBytes { CRC32.of($0) }, UInt32(pin["crc"]!.int!), "\(model) \(name)")
            }
        }
    }
}
