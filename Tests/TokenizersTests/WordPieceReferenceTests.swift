import XCTest
@testable import Tokenizers

/// all-MiniLM-L6-v2's WordPiece tokenizer against Hugging Face tokenizers on the whole corpus.
final class WordPieceReferenceTests: XCTestCase {
    let corpus = Golden.corpus

    func testCorpusIsLargeAndVaried() {
        XCTAssertGreaterThanOrEqual(corpus.count, 20_000)
    }

    func testTokenizerJSONMatchesReference() throws {
        let tokenizer = try Tokenizer(file: Golden.path("minilm/tokenizer.json"))
        assertMatchesGolden(tokenizer.encodeBatch(corpus, threads: 2), try Golden.rows("wordpiece"), inputs: corpus)
    }

    func testVocabTxtMatchesReference() throws {
        let tokenizer = try Tokenizer(file: Golden.path("minilm/vocab.txt"))
        assertMatchesGolden(tokenizer.encodeBatch(corpus, threads: 2), try Golden.rows("wordpiece"), inputs: corpus)
    }

    func testPairsWithLongestFirstTruncationMatchReference() throws {
        let tokenizer = try Tokenizer(directory: Golden.path("minilm"))
        let firsts = stride(from: 0, to: corpus.count - 1, by: 2).map { corpus[$0] }
        let seconds = stride(from: 1, to: corpus.count, by: 2).map { corpus[$0] }
        let encodings = tokenizer.encodeBatch(firsts, pairs: seconds, maxLength: 32, threads: 2)
        assertMatchesGolden(encodings, try Golden.rows("wordpiece_pairs_max32"), inputs: firsts, checkTypeIds: true)
    }

    func testSingleTruncationMatchesReference() throws {
        let tokenizer = try Tokenizer(directory: Golden.path("minilm"))
        assertMatchesGolden(tokenizer.encodeBatch(corpus, maxLength: 16, threads: 2), try Golden.rows("wordpiece_max16"), inputs: corpus)
    }

    func testEncodingDoesNotDependOnThreadCount() throws {
        let tokenizer = try Tokenizer(directory: Golden.path("minilm"))
        let sample = Array(corpus.prefix(3000))
        XCTAssertEqual(tokenizer.encodeBatch(sample, threads: 1), tokenizer.encodeBatch(sample, threads: 3))
    }

    func testDecodeJoinsPiecesAndSkipsSpecialTokens() throws {
        // The reference's clean-up only glues "n't" when it is one token; "isn ' t" is what it gives.
        let tokenizer = try Tokenizer(directory: Golden.path("minilm"))
        let encoding = tokenizer.encode("Hello, world! Tokenization isn't hard.")
        XCTAssertEqual(tokenizer.decode(encoding.ids), "hello, world! tokenization isn ' t hard.")
        XCTAssertEqual(tokenizer.decode(encoding.ids, skipSpecialTokens: false), "[CLS] hello, world! tokenization isn ' t hard. [SEP]")
    }

    func testUnsupportedComponentIsRefusedByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var text = try String(contentsOfFile: Golden.path("minilm/tokenizer.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"type\":\"BertNormalizer\"", with: "\"type\":\"NFKC\"")
        let path = directory.appendingPathComponent("tokenizer.json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Tokenizer(file: path)) { error in
            XCTAssertEqual("\(error)", "\(path): unsupported tokenizer component: normalizer NFKC")
        }
    }
}
