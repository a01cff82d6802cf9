import CkptSupport
import Foundation
import TensorFormats
import Tokenizers
import XCTest
@testable import Transformers

/// GGUF files written by the `gguf` package as llama.cpp's converter writes them (no ckpt keys;
/// tools/make_gguf_model_fixtures.py) read as models, against transformers run on the weights the
/// files hold: token ids exactly, BERT's mean-pooled features and GPT-2's logits and mean
/// negative log-likelihood within 1e-4.
final class GGUFModelTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures").path
    static let models = root + "/gguf/models"

    func golden() throws -> JSON { try JSON.read(file: Self.models + "/golden.json") }

    func texts() throws -> [String] { try XCTUnwrap(golden()["texts"]?.array?.compactMap(\.string)) }

    func testBERTFilesGiveTransformersFeatures() throws {
        for name in ["bert-f32", "bert-q8_0"] {
            let expected = try XCTUnwrap(golden()[name])
            let extractor = try FeatureExtractor(path: Self.models + "/\(name).gguf")
            XCTAssertEqual(extractor.settings, PoolingSettings(modes: [.mean], normalize: false, maxLength: nil), "llama.cpp's defaults")
            let texts = try texts()
            XCTAssertEqual(texts.map { extractor.tokenizer.encode($0).ids.map(Int.init) }, expected["ids"]?.array?.map { $0.array!.map { $0.int! } })
            let features = extractor.features(texts, threads: 2).values
            let reference = try XCTUnwrap(expected["features"]?.array?.flatMap { $0.array!.map { Float($0.double!) } })
            XCTAssertEqual(features.count, reference.count)
            let worst = zip(features, reference).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4, "\(name): features differ by up to \(worst)")
        }
    }

    func testGPT2FileGivesTransformersLogits() throws {
        let expected = try XCTUnwrap(golden()["gpt2-f16"])
        let source = try ModelSource(path: Self.models + "/gpt2-f16.gguf")
        let model = try GPT2(source: source), tokenizer = try source.tokenizer()
        XCTAssertFalse(model.config.tiedEmbeddings == false, "`output` is a copy of the token embedding: tied")
        XCTAssertEqual(try source.checkpoint().tensors.map(\.name).filter { $0.hasPrefix("lm_head") }, [])
        for (i, text) in try texts().enumerated() {
            let ids = tokenizer.encode(text).ids
            XCTAssertEqual(ids.map(Int.init), expected["ids"]?.array?[i].array?.map { $0.int! })
            let logits = model.logits(ids, cache: KVCache(for: model.config))
            let reference = try XCTUnwrap(expected["last_logits"]?.array?[i].array?.map { Float($0.double!) })
            let worst = zip(logits.prefix(reference.count), reference).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-4, "text \(i): logits differ by up to \(worst)")
            let nll = try XCTUnwrap(model.perplexity(ids, stride: 64).nll)
            XCTAssertEqual(nll, try XCTUnwrap(expected["mean_nll"]?.array?[i].double), accuracy: 1e-4)
        }
    }

    func testConfigAndTensorNamesComeBackAsHuggingFaceWrites() throws {
        let bert = try GGUFModel(path: Self.models + "/bert-f32.gguf")
        let original = try BERTConfig(directory: Self.root + "/bert/maskedlm")
        XCTAssertEqual(try BERTConfig(json: bert.config, path: bert.file.path), original)
        let source = try Checkpoint(path: Self.root + "/bert/maskedlm")
        for info in bert.checkpoint.tensors {
            XCTAssertEqual(try bert.checkpoint.tensor(named: info.name).floats(), try source.tensor(named: "bert." + info.name).floats(), info.name)
        }
        let gpt2 = try GGUFModel(path: Self.models + "/gpt2-f16.gguf")
        XCTAssertEqual(try GPT2Config(json: gpt2.config, path: gpt2.file.path), try GPT2Config(directory: Self.root + "/gpt2/lmhead"))
        let conv = try gpt2.checkpoint.tensor(named: "h.1.mlp.c_fc.weight")
        XCTAssertEqual(conv.shape, [16, 64], "Conv1D weights come back [in, out]")
        XCTAssertEqual(conv.floats(), try Checkpoint(path: Self.root + "/gpt2/lmhead").tensor(named: "transformer.h.1.mlp.c_fc.weight").floats())
    }

    func testFilesThatAreNotModelsAreRefusedByName() throws {
        let types = Self.root + "/gguf/valid/types.gguf"  // architecture "bert", but no model keys
        XCTAssertThrowsError(try ModelSource(path: types)) { error in
            XCTAssertEqual("\(error)", "\(types): the GGUF metadata lacks bert.block_count (a positive value), which the model needs")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-gguf-arch-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let llama = directory + "/llama.gguf"
        try GGUFWriter.write(metadata: [("general.architecture", .string("llama"))], tensors: [], to: llama, overwrite: true, threads: 1)
        XCTAssertThrowsError(try FeatureExtractor(path: llama)) { error in
            XCTAssertEqual("\(error)", "\(llama): general.architecture is 'llama'; ckpt runs GGUF files of bert and gpt2 models")
        }
    }
}
