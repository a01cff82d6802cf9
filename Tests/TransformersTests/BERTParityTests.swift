import CkptSupport
import Foundation
import TensorFormats
import XCTest
@testable import Transformers

/// BERT against transformers on tiny random checkpoints (tools/make_bert_fixtures.py): the same
/// weights in every layout people download must give the reference's outputs within 1e-4.
final class BERTParityTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures/bert").path

    struct Golden {
        let ids, typeIds, mask: [Int32]
        let B, T: Int
        let hidden, pooled, logits: [Float]
    }

    static func golden() throws -> Golden {
        let file = try Checkpoint(path: root + "/golden.npz")
        func ints(_ name: String) throws -> [Int32] { try file.tensor(named: name).floats().map { Int32($0) } }
        let shape = file.tensors.first { $0.name == "input_ids" }!.shape
        return Golden(ids: try ints("input_ids"), typeIds: try ints("token_type_ids"), mask: try ints("attention_mask"),
                      B: shape[0], T: shape[1], hidden: try file.tensor(named: "last_hidden_state").floats(),
                      pooled: try file.tensor(named: "pooler_output").floats(), logits: try file.tensor(named: "mlm_logits").floats())
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    func testHiddenStatesAndPoolerMatchTransformersInEveryLayout() throws {
        let g = try Self.golden()
        for layout in ["bertmodel", "bertmodel-npz", "legacy", "../pytorch/bert", "../pytorch/bert-sharded"] {
            let model = try BERT(path: Self.root + "/" + layout)
            let hidden = model.hiddenStates(ids: g.ids, typeIds: g.typeIds, mask: g.mask, batch: g.B, length: g.T)
            let difference = maxDifference(hidden, g.hidden)
            XCTAssertLessThan(difference, 1e-4, "\(layout): hidden states differ by up to \(difference)")
            let pooled = try XCTUnwrap(model.pooled(hidden, batch: g.B, length: g.T))
            XCTAssertLessThan(maxDifference(pooled, g.pooled), 1e-4, layout)
        }
    }

    func testPyTorchCheckpointsGiveExactlyTheSafetensorsOutputs() throws {
        let g = try Self.golden()
        let reference = try BERT(path: Self.root + "/bertmodel")
            .hiddenStates(ids: g.ids, typeIds: g.typeIds, mask: g.mask, batch: g.B, length: g.T)
        for layout in ["../pytorch/bert", "../pytorch/bert-sharded"] {
            let hidden = try BERT(path: Self.root + "/" + layout)
                .hiddenStates(ids: g.ids, typeIds: g.typeIds, mask: g.mask, batch: g.B, length: g.T)
            XCTAssertEqual(hidden, reference, layout)
        }
    }

    func testHalfPrecisionWeightsAreWidened() throws {
        let g = try Self.golden()
        let model = try BERT(path: Self.root + "/bertmodel-f16")
        let hidden = model.hiddenStates(ids: g.ids, typeIds: g.typeIds, mask: g.mask, batch: g.B, length: g.T)
        // f16 weights are the f32 weights rounded: outputs stay close, not identical.
        XCTAssertLessThan(maxDifference(hidden, g.hidden), 2e-2)
    }

    func testMaskedLMLogitsMatchTransformers() throws {
        let g = try Self.golden()
        let model = try BERT(path: Self.root + "/maskedlm")
        XCTAssertFalse(model.hasPooler)
        let hidden = model.hiddenStates(ids: g.ids, typeIds: g.typeIds, mask: g.mask, batch: g.B, length: g.T)
        let logits = try XCTUnwrap(model.maskedLMLogits(hidden, rows: g.B * g.T))
        let difference = maxDifference(logits, g.logits)
        XCTAssertLessThan(difference, 1e-4, "logits differ by up to \(difference)")
    }

    func testPaddingDoesNotChangeRealTokens() throws {
        // The same sequence alone and padded inside a batch gives the same hidden states.
        let g = try Self.golden()
        let model = try BERT(path: Self.root + "/bertmodel")
        let length = Int(g.mask[0..<g.T].reduce(0, +))
        let alone = model.hiddenStates(ids: Array(g.ids[0..<length]), typeIds: Array(g.typeIds[0..<length]),
                                       mask: [Int32](repeating: 1, count: length), batch: 1, length: length)
        let batched = model.hiddenStates(ids: g.ids, typeIds: g.typeIds, mask: g.mask, batch: g.B, length: g.T)
        XCTAssertLessThan(maxDifference(alone, Array(batched[0..<(length * model.config.hiddenSize)])), 1e-5)
    }

    func testMissingTensorsAreListedByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-bert-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Self.root + "/bertmodel/config.json", toPath: directory + "/config.json")
        let source = try Checkpoint(path: Self.root + "/bertmodel")
        _ = try Converter.convert(source, to: .safetensors(path: directory + "/model.safetensors"), dtype: nil,
                                  selection: TensorSelection(exclude: ["layer\\.1\\.attention\\.self", "pooler"]), overwrite: false, threads: 2)
        XCTAssertThrowsError(try BERT(path: directory)) { error in
            XCTAssertEqual("\(error)", "\(directory)/model.safetensors: missing tensors: encoder.layer.1.attention.self.query.weight, encoder.layer.1.attention.self.key.weight, encoder.layer.1.attention.self.value.weight, encoder.layer.1.attention.self.query.bias, encoder.layer.1.attention.self.key.bias, … (6 in all) (is this checkpoint the model its config.json names?)")
        }
    }

    func testUnsupportedPositionEmbeddingIsRefused() throws {
        let json = try JSON.parse(#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 8, "position_embedding_type": "relative_key"}"#)
        XCTAssertThrowsError(try BERTConfig(json: json, path: "config.json")) { error in
            XCTAssertEqual("\(error)", "config.json: config.json asks for position_embedding_type \"relative_key\" (only \"absolute\"), which ckpt does not support")
        }
    }

    func testAModelOfTheOtherFamilyIsRefusedByName() throws {
        let bert = try JSON.parse(#"{"model_type": "bert", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 8}"#)
        XCTAssertThrowsError(try GPT2Config(json: bert, path: "config.json")) { error in
            XCTAssertEqual("\(error)", "config.json: config.json has model_type \"bert\": this needs a gpt2 checkpoint (model_type \"gpt2\")")
        }
        // Without a model_type, GPT-2's field names tell the family apart.
        let gpt2 = try JSON.parse(#"{"vocab_size": 10, "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 8, "eos_token_id": 0}"#)
        XCTAssertNoThrow(try GPT2Config(json: gpt2, path: "config.json"))
        XCTAssertThrowsError(try BERTConfig(json: gpt2, path: "config.json")) { error in
            XCTAssertEqual("\(error)", "config.json: config.json has model_type \"gpt2\": this needs a bert checkpoint (model_type \"bert\")")
        }
    }
}
