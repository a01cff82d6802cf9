import CkptSupport
import Foundation
import TensorFormats
import Tokenizers
import XCTest
@testable import Transformers

/// Fill-mask top-5 against transformers (softmax of BertForMaskedLM's logits at each [MASK]).
final class FillMaskTests: XCTestCase {
    let directory = BERTParityTests.root + "/maskedlm"

    func testTopFiveIdsAndProbabilitiesMatchTransformers() throws {
        let golden = try JSON.parse(String(contentsOfFile: directory + "/fill_mask.json", encoding: .utf8)).array!
        let bert = try BERT(path: directory)
        let tokenizer = try Tokenizer(directory: directory)
        var checked = 0
        for text in Set(golden.map { $0["text"]!.string! }) {
            let predictions = try bert.fillMask(text, tokenizer: tokenizer, topK: 5)
            let expected = golden.filter { $0["text"]!.string! == text }
            XCTAssertEqual(predictions.map(\.position), expected.map { $0["position"]!.int! }, text)
            for (prediction, reference) in zip(predictions, expected) {
                XCTAssertEqual(prediction.candidates.map { Int($0.id) }, reference["ids"]!.array!.map { $0.int! }, text)
                for (candidate, p) in zip(prediction.candidates, reference["probabilities"]!.array!) {
                    XCTAssertEqual(Double(candidate.probability), p.double!, accuracy: 1e-6)
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, golden.count)
    }

    func testModelWithoutHeadOrTextWithoutMaskIsRefused() throws {
        let tokenizer = try Tokenizer(directory: directory)
        XCTAssertThrowsError(try BERT(path: BERTParityTests.root + "/bertmodel").fillMask("a [MASK]", tokenizer: tokenizer, topK: 1)) {
            XCTAssertEqual("\($0)", "the checkpoint has no masked-LM head (cls.predictions.*): fill-mask needs a BertForMaskedLM checkpoint, or a GGUF file written with --with-heads")
        }
        XCTAssertThrowsError(try BERT(path: directory).fillMask("no mask here", tokenizer: tokenizer, topK: 1)) {
            XCTAssertEqual("\($0)", "the text holds no [MASK] to fill")
        }
    }
}
