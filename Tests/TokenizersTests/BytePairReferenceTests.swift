import CkptSupport
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

    func testIDsAloneAreTheEncodingsIDsForEveryTokenizerForm() throws {
        // WordPiece takes encode's route and GPT-2's files the ids-only one; all must agree with the
        // full encoding.
        for file in ["gpt2/tokenizer.json", "gpt2/gpt2.tiktoken", "gpt2/vocab.json", "minilm/tokenizer.json"] {
            let tokenizer = try Tokenizer(file: Golden.path(file))
            let full = tokenizer.encodeBatch(corpus, threads: 2).map(\.ids)
            let ids = tokenizer.encodeIDsBatch(corpus, threads: 2)
            let first = full.indices.first { full[$0] != ids[$0] }
            XCTAssertNil(first, "\(file): line \(first.map { String($0) } ?? "") \(first.map { corpus[$0].debugDescription } ?? "")")
            XCTAssertEqual(tokenizer.encodeIDs("a<|endoftext|>b [CLS] x", addSpecialTokens: false),
                           tokenizer.encode("a<|endoftext|>b [CLS] x", addSpecialTokens: false).ids, file)
        }
        let tiktoken = try Tokenizer(file: Golden.path("gpt2/gpt2.tiktoken"))
        let golden = try Golden.rows("gpt2_tiktoken").map { Golden.ints($0["ids"]) }
        let differing = zip(tiktoken.encodeIDsBatch(corpus, threads: 1), golden).filter { $0 != $1 }.count
        XCTAssertEqual(differing, 0, "lines whose ids differ from tiktoken's")
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

/// RoBERTa-style settings on the GPT-2 vocabulary — a prefix space, `<s> A </s></s> B </s>`
/// around pairs (with GPT-2's `<|endoftext|>` standing in for both) and trimmed offsets — and
/// padding, against the reference.
final class PrefixSpaceAndPaddingTests: XCTestCase {
    func testPrefixSpaceRobertaPairsAndTrimmedOffsetsMatchReference() throws {
        let base = try JSON.parse(String(contentsOfFile: Golden.path("gpt2/tokenizer.json"), encoding: .utf8))
        let overrides = try JSON.parse(String(contentsOfFile: Golden.path("gpt2/roberta-style-components.json"), encoding: .utf8))
        let patched = JSON.object(base.object!.map { key, value in (key, overrides[key] ?? value) })
        let tokenizer = try TokenizerJSON.load(patched)
        let corpus = Golden.corpus
        let firsts = stride(from: 0, to: corpus.count - 1, by: 2).map { corpus[$0] }
        let seconds = stride(from: 1, to: corpus.count, by: 2).map { corpus[$0] }
        assertMatchesGolden(tokenizer.encodeBatch(firsts, pairs: seconds, threads: 2), try Golden.rows("gpt2_roberta_style"),
                            inputs: firsts, checkTypeIds: true)
    }

    func testPaddingToLongestAndMultipleMatchesReference() throws {
        let tokenizer = try Tokenizer(directory: Golden.path("minilm"))
        let rows = try Golden.rows("wordpiece_padded")
        let padding = Padding(padID: 0, multipleOf: 8)
        var padded: [Encoding] = []
        for start in stride(from: 0, to: 700, by: 7) {
            var batch = tokenizer.encodeBatch(Array(Golden.corpus[start..<(start + 7)]), threads: 1)
            padding.apply(&batch)
            padded += batch
        }
        assertMatchesGolden(padded, rows, inputs: Array(Golden.corpus.prefix(700)))
        XCTAssertEqual(padded.map(\.attentionMask), rows.map { Golden.ints($0["attention_mask"]) })
    }
}
