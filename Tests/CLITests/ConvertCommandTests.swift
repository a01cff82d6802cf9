import CkptSupport
import Foundation
import TensorFormats
import XCTest

final class ConvertCommandTests: XCTestCase {
    /// Every malformed fixture: exit 1, the expected one-line message naming the file, nothing written.
    func testMalformedInputsFailCleanly() throws {
        let expectations = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: Ckpt.fixtures + "/formats/malformed/expected.json"))) as! [String: Any]
        XCTAssertGreaterThanOrEqual(expectations.count, 25)
        for (file, expectation) in expectations {
            let input = Ckpt.fixtures + "/formats/malformed/" + file
            let expected: String
            if let message = expectation as? String {
                expected = "error: \(input): \(message)\n"
            } else {
                let detail = expectation as! [String: String]
                expected = "error: \(Ckpt.fixtures)/formats/malformed/\(detail["file"]!): \(detail["message"]!)\n"
            }
            let directory = try Ckpt.temporaryDirectory(self)
            for output in ["out.safetensors", "out.npz", "out/"] {
                let result = try Ckpt.run(["convert", input, directory + "/" + output])
                XCTAssertEqual(result.status, 1, file)
                XCTAssertEqual(result.stderr, expected, file)
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [], "\(file) left files behind")
            }
            let inspected = try Ckpt.run(["inspect", input])
            XCTAssertTrue(inspected.status == 0 || inspected.stderr == expected, file)
        }
    }

    func testRoundTripThroughEveryFormatKeepsEveryTensor() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let source = Ckpt.fixtures + "/formats/valid/arrays.npz"
        let steps = [(source, "a.safetensors", []), ("a.safetensors", "b.npz", ["--compress"]), ("b.npz", "c/", []),
                     ("c", "d.safetensors", [])]
        for (input, output, flags) in steps {
            let from = input.hasPrefix("/") ? input : directory + "/" + input
            let result = try Ckpt.run(["convert", from, directory + "/" + output, "--quiet"] + flags)
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(result.stderr, "")
        }
        let original = try Checkpoint(path: source)
        let final = try Checkpoint(path: directory + "/d.safetensors")
        XCTAssertEqual(Set(final.tensors.map(\.name)), Set(original.tensors.map(\.name)))
        for info in original.tensors {
            XCTAssertEqual(Array(try final.tensor(named: info.name).bytes), Array(try original.tensor(named: info.name).bytes), info.name)
            XCTAssertEqual(try final.tensor(named: info.name).info, info)
        }
        XCTAssertEqual(final.metadata.map(\.0), ["format"], "a model directory's shards are marked format=pt")
    }

    func testReportsWhatItWrote() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let result = try Ckpt.run(["convert", Ckpt.fixtures + "/formats/valid/mixed.safetensors", directory + "/m.safetensors",
                                   "--dtype", "bf16", "--exclude", "^layer"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "wrote 4 tensors (22 B, 3 cast to bf16) to \(directory)/m.safetensors\n")
        XCTAssertEqual(result.stdout, "")
    }

    func testRefusesToOverwriteWithoutForce() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let output = directory + "/x.npz"
        let input = Ckpt.fixtures + "/formats/valid/dtype_F32.safetensors"
        XCTAssertEqual(try Ckpt.run(["convert", input, output, "--quiet"]).status, 0)
        let again = try Ckpt.run(["convert", input, output])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stderr, "error: \(output): already exists (pass --force to overwrite it)\n")
        XCTAssertEqual(try Ckpt.run(["convert", input, output, "--force", "--quiet"]).status, 0)
    }

    func testErrorsNameTheOptionThatFixesThem() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let input = Ckpt.fixtures + "/formats/valid/dtype_F32.safetensors"
        let unmatched = try Ckpt.run(["convert", input, directory + "/x.safetensors", "--include", "^no such tensor$"])
        XCTAssertEqual(unmatched.status, 1)
        XCTAssertEqual(unmatched.stderr, "error: \(input): no tensor matches the include and exclude patterns; nothing to write (--include, --exclude)\n")
        let float8 = Ckpt.fixtures + "/formats/valid/dtype_F8_E4M3.safetensors"
        let npz = try Ckpt.run(["convert", float8, directory + "/x.npz"])
        XCTAssertEqual(npz.status, 1)
        XCTAssertTrue(npz.stderr.hasSuffix("NumPy has no F8_E4M3 type; convert it to f32, f16 or bf16 with --dtype\n"), npz.stderr)
    }

    func testUsageErrorsExitWith64() throws {
        let input = Ckpt.fixtures + "/formats/valid/dtype_F32.safetensors"
        for arguments in [
            ["convert", input, "out.bin"],
            ["convert", input, "out.safetensors", "--compress"],
            ["convert", input, "out/", "--max-shard-size", "lots"],
            ["convert", input, "out.npz", "--max-shard-size", "1GB"],
            ["convert", input, "out.npz", "--include", "(unclosed"],
            ["convert", input, "out.npz", "--dtype", "f8"],
        ] {
            let result = try Ckpt.run(arguments)
            XCTAssertEqual(result.status, 64, arguments.joined(separator: " ") + "\n" + result.stderr)
            XCTAssertTrue(result.stderr.contains("Error: "), result.stderr)
        }
    }

    /// A model directory converted into a directory brings its config, tokenizer and
    /// sentence-transformers files (read through links, as in a Hugging Face cache), checked for
    /// clashes before any weight is written.
    func testAModelDirectoryIntoADirectoryBringsItsOtherFiles() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let files = FileManager.default
        let model = directory + "/model", bare = Ckpt.fixtures + "/gpt2/bare"
        try files.createDirectory(atPath: model + "/1_Pooling", withIntermediateDirectories: true)
        try files.createDirectory(atPath: model + "/2_Normalize", withIntermediateDirectories: true)
        for name in ["config.json", "model.safetensors"] { try files.copyItem(atPath: bare + "/" + name, toPath: model + "/" + name) }
        for name in ["vocab.json", "merges.txt"] {
            try files.createSymbolicLink(atPath: model + "/" + name, withDestinationPath: URL(fileURLWithPath: bare + "/" + name).resolvingSymlinksInPath().path)
        }
        let modules = #"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}, "#
            + #"{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}, "#
            + #"{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#
        try Data(modules.utf8).write(to: URL(fileURLWithPath: model + "/modules.json"))
        try Data(#"{"word_embedding_dimension": 64, "pooling_mode_mean_tokens": true}"#.utf8).write(to: URL(fileURLWithPath: model + "/1_Pooling/config.json"))
        try Data("not a model file\n".utf8).write(to: URL(fileURLWithPath: model + "/README.md"))

        let output = directory + "/out"
        let result = try Ckpt.run(["convert", model, output + "/", "--dtype", "bf16", "--quiet"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let copied = ["vocab.json", "merges.txt", "modules.json", "1_Pooling/config.json"]
        XCTAssertEqual(Set(try files.subpathsOfDirectory(atPath: output)), Set(copied + ["config.json", "model.safetensors", "1_Pooling", "2_Normalize"]))
        // The config names the weights' new type, where it named their old one, as transformers'
        // save_pretrained writes it (so that both load them as bf16); its other fields are as they were.
        let original = try XCTUnwrap(JSON.read(file: model + "/config.json").object), written = try XCTUnwrap(JSON.read(file: output + "/config.json").object)
        XCTAssertEqual(original.first { $0.0 == "dtype" }?.1.string, "float16")
        XCTAssertEqual(written.map(\.0), original.map(\.0))
        XCTAssertEqual(JSON.object(written), JSON.object(original.map { $0.0 == "dtype" ? ($0.0, .string("bfloat16")) : $0 }))
        for path in copied {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output + "/" + path)), try Data(contentsOf: URL(fileURLWithPath: model + "/" + path)), path)
            XCTAssertNil(try? files.destinationOfSymbolicLink(atPath: output + "/" + path), "\(path) is a link, not a copy")
        }
        let generated = try Ckpt.run(["generate", "--model", output, "--prompt", "Hello", "--max-new-tokens", "3", "--quiet"])
        XCTAssertEqual(generated.status, 0, generated.stderr)

        let clash = directory + "/clash"
        try files.createDirectory(atPath: clash, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: clash + "/config.json"))
        let refused = try Ckpt.run(["convert", model, clash + "/"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(refused.stderr, "error: \(clash)/config.json: already exists (pass --force to overwrite it)\n")
        XCTAssertEqual(try files.contentsOfDirectory(atPath: clash), ["config.json"], "weights written before the clash was found")
        XCTAssertEqual(try Ckpt.run(["convert", model, clash + "/", "--force", "--quiet"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: clash + "/config.json")), try Data(contentsOf: URL(fileURLWithPath: model + "/config.json")))

        try Data(#"[{"path": "../escape", "type": "sentence_transformers.models.Pooling"}]"#.utf8).write(to: URL(fileURLWithPath: model + "/modules.json"))
        let escaping = try Ckpt.run(["convert", model, directory + "/escaping/"])
        XCTAssertEqual(escaping.status, 1)
        XCTAssertEqual(escaping.stderr,
                       "error: \(model)/modules.json: a module's path \"../escape\" is not the name of a folder inside the model directory\n")
        XCTAssertFalse(files.fileExists(atPath: directory + "/escaping"))
    }
}
