import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// A GGUF file as a model: every model command takes `--model x.gguf` and prints what it prints for
/// the directory the file was written from; `convert x.gguf DIR/` rebuilds that directory.
final class GGUFModelCommandTests: XCTestCase {
    let bert = Ckpt.fixtures + "/bert/maskedlm", gpt2 = Ckpt.fixtures + "/gpt2/lmhead"

    func gguf(_ model: String, _ directory: String, dtype: String = "f32") throws -> String {
        let output = directory + "/" + (model as NSString).lastPathComponent + "-\(dtype).gguf"
        let result = try Ckpt.run(["convert", model, output, "--dtype", dtype, "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return output
    }

    func testModelCommandsGiveTheDirectorysOutput() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let texts = directory + "/texts.txt"
        try "the quick brown fox\nHello, world!\na b c\n".write(toFile: texts, atomically: true, encoding: .utf8)
        let bertFile = try gguf(bert, directory), gpt2File = try gguf(gpt2, directory)
        let commands: [(String, String, [String])] = [
            (bert, bertFile, ["embed", texts, "--output", "OUT.jsonl", "--quiet"]),
            (bert, bertFile, ["tokenize", "--model", "MODEL", "Hello, unaffable world!"]),
            (bert, bertFile, ["attention", "Hello world", "--format", "json", "--output", "OUT.json", "--quiet"]),
            (gpt2, gpt2File, ["perplexity", texts, "--quiet"]),
            (gpt2, gpt2File, ["generate", "--prompt", "Hello", "--max-new-tokens", "6", "--seed", "3", "--quiet"]),
            (gpt2, gpt2File, ["embed", texts, "--output", "OUT.jsonl", "--quiet"]),
        ]
        for (number, (model, file, arguments)) in commands.enumerated() {
            var outputs: [String] = []
            for (index, path) in [model, file].enumerated() {
                var args = arguments.map { $0 == "MODEL" ? path : $0.replacingOccurrences(of: "OUT", with: directory + "/out\(number)-\(index)") }
                if !args.contains(path) { args += ["--model", path] }
                let result = try Ckpt.run(args)
                XCTAssertEqual(result.status, 0, "\(args): \(result.stderr)")
                let written = args.first { $0.hasPrefix(directory + "/out") }
                outputs.append(try written.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? result.stdout)
            }
            XCTAssertFalse(outputs[0].isEmpty, "\(arguments)")
            XCTAssertEqual(outputs[0], outputs[1], "\(arguments[0]) differs between the directory and its F32 GGUF file")
        }
    }

    func testTrainHeadTakesAGGUFModel() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let train = directory + "/train.tsv"
        try (["label\ttext"] + (0..<12).map { "\($0 % 2 == 0 ? "even" : "odd")\tsentence number \($0) \($0 % 2 == 0 ? "the" : "a") fox" }).joined(separator: "\n")
            .write(toFile: train, atomically: true, encoding: .utf8)
        let file = try gguf(bert, directory)
        let result = try Ckpt.run(["train-head", "--model", file, "--train", train, "--output", directory + "/head", "--no-cache", "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let head = try JSON.read(file: directory + "/head/head.json")
        XCTAssertEqual(head["model"]?.string, file)
    }

    /// safetensors → GGUF F32 → safetensors: the tensors GGUF carries come back under their own names
    /// with the same bytes (the masked-LM head and pooler are not carried, as llama.cpp); the
    /// tokenizer files give the same vocabulary. The GPT-2 fixture is F16, so it goes back as F16.
    func testRoundTripGivesBackTheTensorsAndVocabulary() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        for (model, back, dropped) in [(bert, "bert", ["bert.pooler.", "cls."]), (gpt2, "gpt2", [])] {
            let back = directory + "/back-\(back)/"
            let result = try Ckpt.run(["convert", try gguf(model, directory), back, "--quiet"] + (model == gpt2 ? ["--dtype", "f16"] : []))
            XCTAssertEqual(result.status, 0, result.stderr)
            let source = try Checkpoint(path: model), rebuilt = try Checkpoint(path: back)
            let carried = source.tensors.filter { info in !dropped.contains { info.name.hasPrefix($0) } }
            XCTAssertEqual(Set(rebuilt.tensors.map(\.name)), Set(carried.map(\.name)))
            for info in carried {
                let a = try source.tensor(named: info.name), b = try rebuilt.tensor(named: info.name)
                XCTAssertEqual(b.info, a.info)
                XCTAssertTrue(a.bytes.elementsEqual(b.bytes), info.name)
            }
        }
        XCTAssertEqual(try String(contentsOfFile: directory + "/back-bert/vocab.txt", encoding: .utf8),
                       try String(contentsOfFile: bert + "/vocab.txt", encoding: .utf8))
        let merges = { (path: String) in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#version") } }
        XCTAssertEqual(try merges(directory + "/back-gpt2/merges.txt"), try merges(gpt2 + "/merges.txt"))
        let vocabulary = { (path: String) in try XCTUnwrap(JSON.read(file: path).object).map { "\($0.0) \($0.1.int!)" }.sorted() }
        XCTAssertEqual(try vocabulary(directory + "/back-gpt2/vocab.json"), try vocabulary(gpt2 + "/vocab.json"))
        let config = try JSON.read(file: directory + "/back-gpt2/config.json")
        XCTAssertEqual(config["tie_word_embeddings"], .bool(true))
        XCTAssertEqual(config["activation_function"]?.string, "gelu_new")
    }

    func testConvertingToSafetensorsUsesHuggingFaceNames() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let output = directory + "/gpt2.safetensors"
        let result = try Ckpt.run(["convert", try gguf(gpt2, directory), output, "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let names = try Checkpoint(path: output).tensors.map(\.name)
        XCTAssertTrue(names.contains("transformer.h.1.mlp.c_fc.weight"), "\(names)")
        XCTAssertFalse(names.contains { $0.hasPrefix("blk.") })
    }

    func testAMaskedLMCommandNamesWhatTheFileLacks() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let file = try gguf(bert, directory)
        let result = try Ckpt.run(["fill-mask", "--model", file, "the [MASK] fox"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.hasPrefix("error: \(file): "), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }
}
