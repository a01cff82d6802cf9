import Foundation
import CkptSupport
import TensorFormats
import XCTest

/// `--precision bf16|int8` from the shell: the same bytes at any thread count and batch size,
/// quantized checkpoints that give exactly the features of quantizing at load, heads that remember
/// their precision, and clear errors for bad precisions and broken int8 checkpoints.
final class PrecisionCommandTests: XCTestCase {
    let minilm = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"
    let gpt2 = Ckpt.fixtures + "/gpt2/bare"
    /// 9 to 81 tokens: attention over fewer and more than 64 keys (its f32 and bf16 routes in bf16 and int8).
    let sentences = (0..<40).map { "sentence \($0): " + String(repeating: "words of varied length ", count: 1 + $0 % 19) }.joined(separator: "\n") + "\n"

    func run(_ arguments: [String], input: String = "") throws -> CkptResult {
        let result = try Ckpt.run(arguments, input: input)
        XCTAssertEqual(result.status, 0, "\(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    func embed(_ model: String, _ options: [String], into path: String) throws -> Data {
        _ = try run(["embed", "--model", model, "--output", path, "--quiet", "--force"] + options, input: sentences)
        return try Data(contentsOf: URL(fileURLWithPath: path))
    }

    func testEveryPrecisionGivesTheSameBytesAtAnyThreadCountAndBatchSize() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        for precision in ["bf16", "int8"] {
            for model in [minilm, gpt2] {
                let reference = try embed(model, ["--precision", precision, "--batch-size", "64", "--threads", "1"], into: directory + "/a.npy")
                let other = try embed(model, ["--precision", precision, "--batch-size", "7", "--threads", "2"], into: directory + "/b.npy")
                XCTAssertEqual(other, reference, "\(model) \(precision): --batch-size 7 --threads 2 differs from --batch-size 64 --threads 1")
                let f32 = try embed(model, ["--precision", "f32"], into: directory + "/f32.npy")
                XCTAssertNotEqual(f32, reference, "\(model) \(precision) gave the f32 bytes")
            }
            let commands: [[String]] = [
                ["fill-mask", "--model", Ckpt.fixtures + "/bert/maskedlm", "--top-k", "5", "[MASK] dog runs over the [MASK] house"],
                ["generate", "--model", gpt2, "--prompt", "The meaning of life is", "--max-new-tokens", "30", "--format", "json", "--quiet"],
                ["perplexity", "--model", gpt2, "--format", "jsonl", Ckpt.fixtures + "/data/README.md"],
            ]
            for command in commands {
                let one = try run(command + ["--precision", precision, "--threads", "1"])
                let two = try run(command + ["--precision", precision, "--threads", "2"])
                XCTAssertFalse(one.stdout.isEmpty, command[0])
                XCTAssertEqual(two.stdout, one.stdout, "\(command[0]) --precision \(precision) at 2 threads")
            }
        }
    }

    /// `ckpt convert model out/ --dtype int8`: a model directory whose weights are int8, its config
    /// and tokenizer files copied beside them.
    func quantizedCopy(of model: String, in directory: String) throws -> String {
        let output = directory + "/int8-" + URL(fileURLWithPath: model).lastPathComponent
        let result = try run(["convert", model, output + "/", "--dtype", "int8", "--quiet"])
        XCTAssertEqual(result.stderr, "")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output + "/config.json")), try Data(contentsOf: URL(fileURLWithPath: model + "/config.json")),
                       "an int8 checkpoint's config.json is the model's")
        return output
    }

    func testAnInt8CheckpointGivesExactlyTheFeaturesOfQuantizingAtLoad() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        // MiniLM's nn.Linear weights are [out, in]; GPT-2's Conv1D ones [in, out].
        for model in [minilm, gpt2] {
            let quantized = try quantizedCopy(of: model, in: directory)
            let inspect = try run(["inspect", quantized])
            XCTAssertTrue(inspect.stdout.contains("quantization: int8, "), inspect.stdout)
            XCTAssertTrue(inspect.stdout.contains("metadata: ckpt.quantization = int8 symmetric per output channel"), inspect.stdout)
            let atLoad = try embed(model, ["--precision", "int8"], into: directory + "/at-load.npy")
            let fromFile = try embed(quantized, ["--precision", "int8"], into: directory + "/from-file.npy")
            XCTAssertEqual(fromFile, atLoad, "\(model): the int8 checkpoint's features differ from quantizing at load")
        }
        let size = { (path: String) in try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int }
        let quantized = directory + "/int8-" + URL(fileURLWithPath: minilm).lastPathComponent + "/model.safetensors"
        XCTAssertLessThan(try size(quantized), try size(minilm + "/model.safetensors") * 2 / 3)
    }

    /// Without --precision an int8 checkpoint runs in int8 (in f32 its weights would carry int8's
    /// rounding at f32's cost), and a head trained on it, and a server of it, say so.
    func testAnInt8CheckpointRunsInInt8UnlessToldOtherwise() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let quantized = try quantizedCopy(of: gpt2, in: directory)
        let int8 = try embed(quantized, ["--precision", "int8"], into: directory + "/int8.npy")
        XCTAssertEqual(try embed(quantized, [], into: directory + "/default.npy"), int8)
        XCTAssertNotEqual(try embed(quantized, ["--precision", "f32"], into: directory + "/f32.npy"), int8)
        let commands: [[String]] = [
            // Sampled: greedy ids on this small random model are the same in f32 and int8.
            ["generate", "--model", quantized, "--prompt", "The meaning of life is", "--max-new-tokens", "40", "--temperature", "1", "--seed", "3",
             "--format", "json", "--quiet"],
            ["perplexity", "--model", quantized, "--format", "jsonl", Ckpt.fixtures + "/data/README.md"],
        ]
        for command in commands {
            XCTAssertEqual(try run(command).stdout, try run(command + ["--precision", "int8"]).stdout, command[0])
        }
        let train = Ckpt.fixtures + "/data/trec-train.tsv"
        let lines = try String(contentsOfFile: train, encoding: .utf8).split(separator: "\n").prefix(60).joined(separator: "\n") + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: directory + "/train.tsv"))
        _ = try run(["train-head", "--model", quantized, "--train", directory + "/train.tsv", "--output", directory + "/head",
                     "--no-cache", "--quiet", "--no-ledger"])
        let json = try String(contentsOfFile: directory + "/head/head.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"precision\":\"int8\""), json)
        let server = try ServerProcess(["--model", quantized])
        XCTAssertEqual(try JSON.parse(try XCTUnwrap(HTTPClient.request(server.port, "GET", "/info")).text)["precision"]?.string, "int8")
        XCTAssertEqual(server.stop(), 0)
    }

    func testAnInt8CheckpointConvertsBackToTheWeightsItStandsFor() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        for model in [minilm, gpt2] {
            let quantized = try quantizedCopy(of: model, in: directory)
            let name = URL(fileURLWithPath: model).lastPathComponent
            let expected = try embed(quantized, ["--precision", "f32"], into: directory + "/expected.npy")
            // Into f32, and into GGUF (no place for the scales there): value · scale, what --precision f32 runs.
            let f32 = directory + "/f32-" + name, gguf = directory + "/\(name).gguf"
            _ = try run(["convert", quantized, f32 + "/", "--dtype", "f32", "--quiet"])
            let note = try run(["convert", quantized, gguf]).stderr
            let weights = model == minilm ? 37 : 8
            XCTAssertTrue(note.contains("note: GGUF has no place for per-channel int8 scales, so the \(weights) int8 weights went in as the f32 values they stand for"), note)
            let inspect = try run(["inspect", f32]).stdout
            XCTAssertFalse(inspect.contains("_scale") || inspect.contains(" I8 ") || inspect.contains("quantization"), inspect)
            XCTAssertEqual(try embed(f32, ["--precision", "f32"], into: directory + "/f32.npy"), expected, "\(name): f32 from int8")
            XCTAssertEqual(try embed(gguf, ["--precision", "f32"], into: directory + "/gguf.npy"), expected, "\(name): GGUF from int8")
            // bf16 rounds those same values; --dtype keep copies the int8 checkpoint as it is.
            _ = try run(["convert", quantized, directory + "/a.safetensors", "--dtype", "bf16", "--quiet", "--force"])
            _ = try run(["convert", f32, directory + "/b.safetensors", "--dtype", "bf16", "--quiet", "--force"])
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/a.safetensors")),
                           try Data(contentsOf: URL(fileURLWithPath: directory + "/b.safetensors")), "\(name): bf16 from int8")
            _ = try run(["convert", quantized, directory + "/kept.safetensors", "--quiet", "--force"])
            XCTAssertTrue(try run(["inspect", directory + "/kept.safetensors"]).stdout.contains("quantization: int8, "))
        }
    }

    func testABrokenInt8CheckpointIsAnErrorNamingTheTensor() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let quantized = try quantizedCopy(of: Ckpt.fixtures + "/bert/bertmodel", in: directory)
        let weights = quantized + "/model.safetensors"
        let checkpoint = try Checkpoint(path: weights)
        let victim = "encoder.layer.0.attention.self.key.weight_scale"
        XCTAssertTrue(checkpoint.tensors.contains { $0.name == victim })
        func rewrite(_ change: (TensorInfo) -> [Float]?) throws {
            let tensors = try checkpoint.tensors.map { info -> OutgoingTensor in
                let view = try checkpoint.tensor(named: info.name)
                let bytes = change(info).map { values in values.withUnsafeBytes { Array($0) } } ?? Array(view.bytes)
                let shape = change(info).map { [$0.count] } ?? info.shape
                return OutgoingTensor(info: TensorInfo(name: info.name, dtype: info.dtype, shape: shape)) { emit in try bytes.withUnsafeBytes { try emit($0) } }
            }
            // `checkpoint` keeps the original's pages mapped after its file is replaced.
            try SafeTensorsWriter.write(tensors, metadata: checkpoint.metadata, to: weights + ".new", overwrite: true)
            try FileManager.default.removeItem(atPath: weights)
            try FileManager.default.moveItem(atPath: weights + ".new", toPath: weights)
        }
        try rewrite { $0.name == victim ? [1, 2, 3] : nil }
        var result = try Ckpt.run(["embed", "--model", quantized, "--precision", "int8", "--quiet"], input: "hello\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("int8 tensor 'encoder.layer.0.attention.self.key.weight': its scales '\(victim)' are F32 [3], need F32 [32]"),
                      result.stderr)
        XCTAssertEqual(result.stdout, "")

        try rewrite { $0.name == victim ? (0..<32).map { $0 == 5 ? .nan : 0.01 } : nil }
        let nonFinite = "int8 tensor 'encoder.layer.0.attention.self.key.weight': its scale for output 5 in '\(victim)' is nan, not a finite number"
        result = try Ckpt.run(["embed", "--model", quantized, "--precision", "bf16", "--quiet"], input: "hello\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains(nonFinite), result.stderr)
        XCTAssertEqual(result.stdout, "")
        result = try Ckpt.run(["convert", quantized, directory + "/f32.safetensors", "--dtype", "f32", "--quiet"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains(nonFinite), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/f32.safetensors"))

        _ = try run(["convert", weights, directory + "/no-scale.safetensors", "--exclude", "key\\.weight_scale$", "--quiet"])
        try FileManager.default.removeItem(atPath: weights)
        try FileManager.default.moveItem(atPath: directory + "/no-scale.safetensors", toPath: weights)
        result = try Ckpt.run(["embed", "--model", quantized, "--quiet"], input: "hello\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("int8 tensor 'encoder.layer.0.attention.self.key.weight' has no scales: 'encoder.layer.0.attention.self.key.weight_scale' is missing"),
                      result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    func testAnUnknownPrecisionIsAUsageErrorListingTheChoices() throws {
        let result = try Ckpt.run(["embed", "--model", minilm, "--precision", "fp8"], input: "hello\n")
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("Please provide one of 'f32', 'bf16' or 'int8'"), result.stderr)
        XCTAssertEqual(result.stdout, "")
        let npz = try Ckpt.run(["convert", minilm, "/tmp/never.npz", "--dtype", "int8"])
        XCTAssertEqual(npz.status, 64)
        XCTAssertTrue(npz.stderr.contains("--dtype int8 writes safetensors"), npz.stderr)
    }

    func testAHeadRemembersItsPrecisionAndPredictUsesIt() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let train = Ckpt.fixtures + "/data/trec-train.tsv"
        let lines = try String(contentsOfFile: train, encoding: .utf8).split(separator: "\n").prefix(120).joined(separator: "\n") + "\n"
        try Data(lines.utf8).write(to: URL(fileURLWithPath: directory + "/train.tsv"))
        _ = try run(["train-head", "--model", minilm, "--train", directory + "/train.tsv", "--output", directory + "/head", "--precision", "int8",
                     "--no-cache", "--quiet", "--ledger", directory + "/ledger.sqlite"])
        let json = try String(contentsOfFile: directory + "/head/head.json", encoding: .utf8)
        XCTAssertTrue(json.contains("\"precision\":\"int8\""), json)
        let study = try JSON.parse(try run(["runs", "show", "1", "--json", "--ledger", directory + "/ledger.sqlite"]).stdout)
        let made = study["settings"]!["features"]!
        XCTAssertEqual(made["precision"]!.string, "int8", "the ledger records the precision of the study's features")
        XCTAssertEqual(made["pooling"]!["modes"]!.array!.map(\.string), ["mean"])
        XCTAssertEqual(made["pooling"]!["normalize"]!.bool, true)
        let implied = try run(["predict", "--head", directory + "/head", "--no-cache", "--format", "jsonl", directory + "/train.tsv"])
        let explicit = try run(["predict", "--head", directory + "/head", "--no-cache", "--format", "jsonl", "--precision", "int8", directory + "/train.tsv"])
        let f32 = try run(["predict", "--head", directory + "/head", "--no-cache", "--format", "jsonl", "--precision", "f32", directory + "/train.tsv"])
        XCTAssertEqual(implied.stdout, explicit.stdout)
        XCTAssertNotEqual(f32.stdout, explicit.stdout, "predict --precision f32 should encode in f32")
    }

    func testAPrecisionTheEngineLacksRunsInF32WithANote() throws {
        let result = try Ckpt.run(["sh", "-c", "CKPT_ENGINE=openblas '\(Ckpt.executable.path)' embed --model '\(minilm)' --precision int8"],
                                  shell: true, input: "hello world\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("note: openblas has no int8 products on this CPU; the int8 values are multiplied in f32"), result.stderr)
        XCTAssertFalse(result.stdout.isEmpty)
    }
}
