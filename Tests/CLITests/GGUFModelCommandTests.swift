import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// A GGUF file as a model: every model command takes `--model x.gguf` and prints what it prints for
/// the directory the file was written from; `convert x.gguf DIR/` rebuilds that directory.
final class GGUFModelCommandTests: XCTestCase {
    let bert = Ckpt.fixtures + "/bert/maskedlm", gpt2 = Ckpt.fixtures + "/gpt2/lmhead"

    func gguf(_ model: String, _ directory: String, dtype: String = "f32", heads: Bool = false) throws -> String {
        let output = directory + "/" + (model as NSString).lastPathComponent + "-\(dtype)\(heads ? "-heads" : "").gguf"
        let result = try Ckpt.run(["convert", model, output, "--dtype", dtype, "--quiet"] + (heads ? ["--with-heads"] : []))
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
    /// with the same bytes (the masked-LM head and pooler only with `--with-heads`, as llama.cpp has
    /// no tensors for them); the tokenizer files give the same vocabulary. The GPT-2 fixture is F16,
    /// so it goes back as F16.
    func testRoundTripGivesBackTheTensorsAndVocabulary() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        for (model, back, heads, dropped) in [(bert, "bert", false, ["bert.pooler.", "cls."]), (bert, "bert-heads", true, []), (gpt2, "gpt2", false, [])] {
            let back = directory + "/back-\(back)/"
            let file = try gguf(model, directory, heads: heads)
            let result = try Ckpt.run(["convert", file, back, "--quiet"] + (model == gpt2 ? ["--dtype", "f16"] : []))
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
        XCTAssertEqual(try JSON.read(file: directory + "/back-bert-heads/config.json")["architectures"], .array([.string("BertForMaskedLM")]))
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
        XCTAssertTrue(result.stderr.contains("--with-heads"), result.stderr)
        XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
    }

    /// A file written `--with-heads` holds the masked-LM head as metadata: fill-mask on it prints
    /// what it prints for the directory, in F32 and in Q8_0 (whose encoder is quantized, its head not).
    func testAFileWithHeadsFillsMasksAsTheDirectoryDoes() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let arguments = ["fill-mask", "the [MASK] brown fox", "--top-k", "5"]
        let expected = try Ckpt.run(arguments + ["--model", bert])
        XCTAssertEqual(expected.status, 0, expected.stderr)
        let file = try gguf(bert, directory, heads: true)
        XCTAssertEqual(try Ckpt.run(arguments + ["--model", file]).stdout, expected.stdout)
        let inspect = try Ckpt.run(["inspect", file])
        XCTAssertTrue(inspect.stdout.contains("ckpt.head.cls.predictions.bias = [f32 × 99]"), inspect.stdout)
        let quantized = try Ckpt.run(arguments + ["--model", try gguf(bert, directory, dtype: "q8_0", heads: true)])
        XCTAssertEqual(quantized.status, 0, quantized.stderr)
    }

    /// `--with-heads` needs a BERT checkpoint that has a head, and a .gguf output; nothing is written otherwise.
    func testWithHeadsIsRefusedWhereThereIsNoHeadToCarry() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let headless = directory + "/headless/"
        XCTAssertEqual(try Ckpt.run(["convert", try gguf(bert, directory), headless, "--quiet"]).status, 0)
        for (model, message) in [(gpt2, "--with-heads carries BERT's pooler and masked-LM head; a GPT-2 file always holds its output matrix"),
                                 (headless, "--with-heads: the checkpoint has no pooler (pooler.*) or masked-LM head (cls.*) tensors to carry")] {
            let output = directory + "/refused.gguf"
            let result = try Ckpt.run(["convert", model, output, "--with-heads"])
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.stderr.hasPrefix("error: ") && result.stderr.hasSuffix(": \(message)\n"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: output))
        }
        XCTAssertEqual(try Ckpt.run(["convert", bert, directory + "/x.safetensors", "--with-heads"]).status, 64)
    }

    /// Head metadata that does not describe a tensor is refused by name when the file is read as a model.
    func testMalformedCkptMetadataIsRefused() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let source = try GGUFFile(path: try gguf(bert, directory, heads: true))
        let texts = directory + "/texts.txt"
        try "hello\n".write(toFile: texts, atomically: true, encoding: .utf8)
        let shapeKey = "ckpt.head.cls.predictions.bias.shape", valuesKey = "ckpt.head.cls.predictions.bias"
        let cases: [(String, GGUFValue, String)] = [
            (shapeKey, .array(.uint32, [.uint32(98)]), "the GGUF metadata's \(shapeKey) does not match the 99 values of \(valuesKey)"),
            (shapeKey, .array(.uint32, [.uint32(0)]), "the GGUF metadata's \(shapeKey) is missing or not an array of positive dimensions"),
            (shapeKey, .array(.uint32, [.uint32(1 << 31), .uint32(1 << 31), .uint32(1 << 31)]), "the GGUF metadata's \(shapeKey) does not match the 99 values of \(valuesKey)"),
            (valuesKey, .array(.int32, [.int32(1)]), "the GGUF metadata's \(valuesKey) is missing or not an array of float32"),
            ("ckpt.heads", .array(.string, [.string("cls.predictions.bias"), .string("cls.predictions.bias")]),
             "the GGUF metadata's ckpt.heads names 'cls.predictions.bias' twice, or a tensor the file already holds"),
            ("ckpt.heads", .array(.string, [.string("bert.embeddings.LayerNorm.bias")]),
             "the GGUF metadata's ckpt.heads names 'bert.embeddings.LayerNorm.bias' twice, or a tensor the file already holds"),
            ("ckpt.max_seq_length", .uint32(1), "the GGUF metadata's ckpt.max_seq_length is 1; it must be at least 2 tokens"),
        ]
        for (number, (key, value, message)) in cases.enumerated() {
            let path = directory + "/bad-\(number).gguf"
            let tensors = source.tensors.map { info in
                GGUFOutgoingTensor(name: info.name, type: .f32, sourceShape: info.shape, transpose: false) { try source.tensor(named: info.name) }
            }
            var metadata = source.keyValues.map { ($0.key, $0.key == key ? value : $0.value) }
            if !metadata.contains(where: { $0.0 == key }) { metadata.append((key, value)) }
            try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path, overwrite: false, threads: 1)
            let result = try Ckpt.run(["embed", texts, "--model", path, "--output", directory + "/out.jsonl", "--quiet"])
            XCTAssertEqual(result.status, 1)
            XCTAssertEqual(result.stderr, "error: \(path): \(message)\n")
        }
    }
}
