import Kernels
import XCTest
@testable import Transformers

/// A model loaded for its hidden states (features, attention maps) leaves its output heads out: a
/// masked-LM decoder or an LM head is not packed (an int8 one would be a quantized copy of the
/// token table), and the hidden states are the same bits as the whole model's.
final class OutputHeadsTests: XCTestCase {
    /// The models with heads: BERT's tied masked-LM decoder, GPT-2's tied and untied LM head.
    static let models = [BERTParityTests.root + "/maskedlm", GPT2ParityTests.root + "/bare", GPT2ParityTests.root + "/untied"]

    /// Hidden states of a right-padded batch of two sequences (7 and 4 tokens), on 2 threads.
    func hiddenStates(_ model: any TokenEncoder) -> [Float] {
        let ids: [Int32] = [5, 17, 3, 50, 41, 8, 12, 9, 33, 2, 60, 0, 0, 0]
        let mask: [Int32] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]
        return model.hiddenStates(ids: ids, typeIds: [Int32](repeating: 0, count: ids.count), mask: mask, batch: 2, length: 7, threads: 2)
    }

    /// How `model` was loaded, and whether it holds a head (BERT's masked-LM head, GPT-2's LM head).
    func heads(of model: any TokenEncoder) -> (loaded: OutputHeads, held: Bool)? {
        if let bert = model as? BERT { return (bert.heads, bert.weights.maskedLM != nil) }
        if let gpt2 = model as? GPT2 { return (gpt2.heads, gpt2.weights.output != nil) }
        return nil
    }

    func testTheEncoderLeavesTheHeadsOutAndMakesTheWholeModelsHiddenStates() throws {
        for directory in Self.models {
            let source = try ModelSource(path: directory)
            for precision in Precision.allCases {
                let encoder = try source.loadEncoder(precision: precision)
                let whole: any TokenEncoder = source.family == .bert
                    ? try BERT(source: source, precision: precision) : try GPT2(source: source, precision: precision)
                let (encoderHeads, wholeHeads) = (try XCTUnwrap(heads(of: encoder)), try XCTUnwrap(heads(of: whole)))
                XCTAssertFalse(encoderHeads.held, "\(directory) \(precision)")
                XCTAssertEqual(encoderHeads.loaded, .omitted)
                XCTAssertTrue(wholeHeads.held, "\(directory) \(precision)")
                XCTAssertEqual(hiddenStates(encoder), hiddenStates(whole), "\(directory) \(precision)")
            }
        }
    }

    func testTheHeadsLeftOutAreListedAsUnused() throws {
        let bert = try BERT(path: BERTParityTests.root + "/maskedlm", heads: .omitted)
        XCTAssertEqual(bert.unusedTensors.filter { $0.hasPrefix("cls.predictions.") }.sorted(), [
            "cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias", "cls.predictions.transform.LayerNorm.weight",
            "cls.predictions.transform.dense.bias", "cls.predictions.transform.dense.weight",
        ])
        XCTAssertEqual(try BERT(path: BERTParityTests.root + "/maskedlm").unusedTensors.filter { $0.hasPrefix("cls.predictions.") }, [])
        XCTAssertEqual(try GPT2(path: GPT2ParityTests.root + "/untied", heads: .omitted).unusedTensors, ["lm_head.weight"])
        // A tied model's head is wte itself, which the encoder reads.
        XCTAssertEqual(try GPT2(path: GPT2ParityTests.root + "/lmhead", heads: .omitted).unusedTensors, [])
    }
}
