import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// `ckpt convert MODEL_DIR out.gguf`: the bytes tools/verify_gguf.py checked with the `gguf` package
/// (llama.cpp's names, keys and tokenizer form; Q8_0 blocks bit-identical to gguf.quants.quantize;
/// with `--with-heads`, the masked-LM head's keys),
/// pinned by CRC-32, and what ckpt's own reader gets back.
final class GGUFConvertCommandTests: XCTestCase {
    let models = ["bert": Ckpt.fixtures + "/bert/maskedlm", "gpt2": Ckpt.fixtures + "/gpt2/lmhead"]

    func testConversionsAreTheBytesTheReferenceReaderChecked() throws {
        let pins = try XCTUnwrap(JSON.read(file: Ckpt.fixtures + "/gguf/conversions.json").object)
        XCTAssertEqual(pins.count, 9)
        let directory = try Ckpt.temporaryDirectory(self)
        for (key, crc) in pins {
            let parts = key.split(separator: "/").map(String.init), model = parts[0].split(separator: "+").map(String.init)
            let output = directory + "/\(model.joined(separator: "-"))-\(parts[1]).gguf"
            let heads = model.count > 1 ? ["--with-heads"] : []
            let result = try Ckpt.run(["convert", models[model[0]]!, output, "--dtype", parts[1], "--quiet"] + heads)
            XCTAssertEqual(result.status, 0, result.stderr)
            let file = try MappedFile(path: output)
            XCTAssertEqual(Int(CRC32.of(file.bytes)), crc.int, key)
        }
    }

    func testAnF32FileReadsBackAsTheCheckpointsTensors() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let output = directory + "/bert.gguf"
        XCTAssertEqual(try Ckpt.run(["convert", models["bert"]!, output, "--dtype", "f32", "--quiet"]).status, 0)
        let gguf = try Checkpoint(path: output), source = try Checkpoint(path: models["bert"]!)
        for (ours, theirs) in [("token_embd.weight", "bert.embeddings.word_embeddings.weight"), ("blk.1.ffn_down.weight", "bert.encoder.layer.1.output.dense.weight"),
                               ("blk.0.attn_output_norm.bias", "bert.encoder.layer.0.attention.output.LayerNorm.bias")] {
            XCTAssertEqual(try gguf.tensor(named: ours).floats(), try source.tensor(named: theirs).floats(), ours)
            XCTAssertEqual(gguf.tensors.first { $0.name == ours }?.shape, source.tensors.first { $0.name == theirs }?.shape)
        }
        let inspect = try Ckpt.run(["inspect", output])
        XCTAssertTrue(inspect.stdout.contains("format: gguf"))
        XCTAssertTrue(inspect.stdout.contains("metadata: general.architecture = bert"))
        XCTAssertTrue(inspect.stdout.contains("gguf: version 3, alignment 32; stored types: F32 × "), inspect.stdout)
    }

    func testAFileIsNotAModelDirectoryAndQ8NeedsGGUF() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let file = models["bert"]! + "/model.safetensors"
        let result = try Ckpt.run(["convert", file, directory + "/x.gguf"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(file): a GGUF file is written from a model directory (config.json, weights and tokenizer files)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/x.gguf"))
        XCTAssertEqual(try Ckpt.run(["convert", models["bert"]!, directory + "/x.safetensors", "--dtype", "q8_0"]).status, 64)
    }
}
