import Analysis
import Kernels
import Transformers
import XCTest

/// Attention probabilities against transformers' `output_attentions=True` (eager attention), and
/// rollout against NumPy's implementation of Abnar & Zuidema's formula.
final class AttentionReferenceTests: XCTestCase {
    func testBERTAttentionOfAPaddedBatchMatchesTransformers() throws {
        let g = try AnalysisFixtures.arrays("attention_bert.npz")
        let shape = g.shape("input_ids"), B = shape[0], T = shape[1]
        let model = try BERT(path: AnalysisFixtures.repository + "/fixtures/bert/bertmodel")
        let maps = model.attention(ids: try g.values("input_ids").map { Int32($0) }, typeIds: try g.values("token_type_ids").map { Int32($0) },
                                   mask: try g.values("attention_mask").map { Int32($0) }, batch: B, length: T, threads: 2)
        XCTAssertEqual([maps.layers, maps.batch, maps.heads, maps.length, maps.length], g.shape("attentions"))
        let difference = AnalysisFixtures.maxDifference(maps.values, try g.values("attentions"))
        XCTAssertLessThan(difference, 1e-5, "attention differs by up to \(difference)")
    }

    func testGPT2CausalAttentionMatchesTransformers() throws {
        let g = try AnalysisFixtures.arrays("attention_gpt2.npz")
        let T = g.shape("input_ids")[1]
        let model = try GPT2(path: AnalysisFixtures.repository + "/fixtures/gpt2/bare")
        let maps = model.attention(ids: try g.values("input_ids").map { Int32($0) }, batch: 1, length: T, threads: 2)
        let difference = AnalysisFixtures.maxDifference(maps.values, try g.values("attentions"))
        XCTAssertLessThan(difference, 1e-5, "attention differs by up to \(difference)")
        // Causal: nothing attends to a later token.
        let map = maps.map(layer: 1, sequence: 0, head: 0)
        for q in 0..<T { for k in (q + 1)..<T { XCTAssertEqual(map[map.startIndex + q * T + k], 0) } }
    }

    func testMiniLMAttentionOfATextAndAPairMatchesTransformers() throws {
        let model = try BERT(path: try AnalysisFixtures.requireMiniLM())
        let g = try AnalysisFixtures.arrays("attention_minilm.npz")
        for name in ["text", "pair"] {
            let ids = try g.values("ids_\(name)").map { Int32($0) }, T = ids.count
            let maps = model.attention(ids: ids, typeIds: try g.values("type_ids_\(name)").map { Int32($0) },
                                       mask: [Int32](repeating: 1, count: T), batch: 1, length: T, threads: 2)
            let difference = AnalysisFixtures.maxDifference(AttentionView(maps).values, try g.values("attentions_\(name)"))
            XCTAssertLessThan(difference, 1e-5, "\(name): attention differs by up to \(difference)")
        }
    }

    func testRolloutEqualsNumPyOnTheReferenceAttention() throws {
        let g = try AnalysisFixtures.arrays("attention_minilm.npz")
        for name in ["text", "pair"] {
            let shape = g.shape("attentions_\(name)")
            let view = AttentionView(layers: shape[0], heads: shape[1], length: shape[2], values: try g.values("attentions_\(name)"))
            let rollout = view.rollout(through: shape[0] - 1).flatMap { $0 }.map(Float.init)
            let difference = AnalysisFixtures.maxDifference(rollout, try g.values("rollout_\(name)"))
            XCTAssertLessThan(difference, 1e-6, "\(name): rollout differs by up to \(difference)")
        }
    }

    func testSelectionsKeepOnlyTheDimensionsAsked() throws {
        let view = AttentionView(layers: 2, heads: 3, length: 4, values: (0..<(2 * 3 * 16)).map { Float($0) / 96 })
        XCTAssertEqual(view.selection(.all, .all).shape, [2, 3, 4, 4])
        XCTAssertEqual(view.selection(.one(1), .all).shape, [3, 4, 4])
        XCTAssertEqual(view.selection(.all, .one(2)).shape, [2, 4, 4])
        XCTAssertEqual(view.selection(.one(0), .mean).shape, [4, 4])
        XCTAssertEqual(view.selection(.one(1), .one(2)).flattened, Array(view.map(layer: 1, head: 2)))
        // max of heads: the last head holds the largest values here.
        XCTAssertEqual(view.selection(.one(0), .max).flattened, Array(view.map(layer: 0, head: 2)))
        XCTAssertThrowsError(try view.validate(.one(2), .all)) { error in
            XCTAssertEqual("\(error)", "layer 2 does not exist; the model has 0 ... 1")
        }
        XCTAssertThrowsError(try view.validate(.all, .one(-1)))
    }
}
