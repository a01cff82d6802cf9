import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// PyTorch checkpoints on the command line (fixtures from tools/make_pytorch_fixtures.py): every
/// command reads them as it reads safetensors, and malicious pickles are refused without running.
final class PyTorchCommandTests: XCTestCase {
    let root = Ckpt.fixtures + "/pytorch"

    /// Each malicious file, through inspect and convert, and as the weights of a model directory
    /// through generate, run under a 1 GiB address-space limit: exit 1, one line naming the file
    /// and the reason, no canary (the file's payload would `touch ckpt-canary` in the working
    /// directory), nothing written.
    func testMaliciousPicklesExitOneRunNothingAndStayWithinMemory() throws {
        let expectations = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: root + "/malicious/expected.json"))) as! [String: String]
        for (file, fragment) in expectations {
            let work = try Ckpt.temporaryDirectory(self)
            let model = work + "/model"
            try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
            for name in ["config.json", "vocab.json", "merges.txt"] {
                try FileManager.default.copyItem(atPath: root + "/gpt2/" + name, toPath: model + "/" + name)
            }
            let input = root + "/malicious/" + file
            try FileManager.default.copyItem(atPath: input, toPath: model + "/pytorch_model.bin")
            let commands: [(arguments: String, file: String)] = [
                ("inspect '\(input)'", input),
                ("convert '\(input)' out.safetensors", input),
                ("generate --model model --prompt hi --max-new-tokens 2", "model/pytorch_model.bin"),
            ]
            for (arguments, named) in commands {
                let result = try Ckpt.run(["sh", "-c", "ulimit -v 1048576; exec '\(Ckpt.executable.path)' \(arguments)"],
                                          in: work, shell: true)
                XCTAssertEqual(result.status, 1, "\(file): \(arguments): \(result.stderr)")
                XCTAssertTrue(result.stderr.hasPrefix("error: \(named): "), "\(file): \(result.stderr)")
                XCTAssertTrue(result.stderr.contains(fragment), "\(file): \(result.stderr)")
                XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "\(file): \(result.stderr)")
                XCTAssertEqual(result.stdout, "")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work).sorted(), ["model"],
                           "\(file): a canary or an output file was written")
        }
    }

    func testConvertWritesWhatSaveFileOfTorchLoadWrites() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let result = try Ckpt.run(["convert", root + "/formats/views.bin", directory + "/views.safetensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "wrote 17 tensors (632 B) to \(directory)/views.safetensors\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/views.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: root + "/formats/views.reference.safetensors")))
    }

    func testGenerateAndEmbedReadAPyTorchModelDirectory() throws {
        let golden = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: Ckpt.fixtures + "/gpt2/golden.json"))) as! [String: Any]
        let reference = (golden["generations"] as! [[String: Any]])[0]
        let generated = try Ckpt.run(["generate", "--model", root + "/gpt2", "--prompt", reference["prompt"] as! String,
                                      "--max-new-tokens", "64", "--format", "json"])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        XCTAssertEqual(try JSON.parse(generated.stdout)["ids"]?.array?.compactMap(\.int), reference["ids"] as? [Int])

        let directory = try Ckpt.temporaryDirectory(self)
        let texts = golden["embed_texts"] as! [String]
        try (texts.joined(separator: "\n") + "\n").write(toFile: directory + "/texts.txt", atomically: true, encoding: .utf8)
        let embedded = try Ckpt.run(["embed", "--model", root + "/gpt2", directory + "/texts.txt", "--output", directory + "/f.npy"])
        XCTAssertEqual(embedded.status, 0, embedded.stderr)
        let features = try Checkpoint(path: directory + "/f.npy").tensor(named: "f").floats()
        let expected = try Checkpoint(path: Ckpt.fixtures + "/gpt2/golden.npz").tensor(named: "embed_last").floats()
        XCTAssertEqual(features.count, expected.count)
        XCTAssertLessThan(zip(features, expected).map { abs($0 - $1) }.max()!, 1e-4)
    }

    func testTrainHeadOnAPyTorchModelGivesTheSafetensorsModelsHead() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let lines = try String(contentsOfFile: Ckpt.fixtures + "/data/trec-train.tsv", encoding: .utf8).split(separator: "\n")
        try (lines.prefix(301).joined(separator: "\n") + "\n").write(toFile: directory + "/train.tsv", atomically: true, encoding: .utf8)
        for (name, model) in [("bin", root + "/gpt2"), ("safetensors", Ckpt.fixtures + "/gpt2/lmhead")] {
            let result = try Ckpt.run(["train-head", "--model", model, "--train", directory + "/train.tsv", "--output",
                                       directory + "/" + name, "--cache-dir", directory + "/cache-" + name, "--quiet"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/bin/head.safetensors")),
                       try Data(contentsOf: URL(fileURLWithPath: directory + "/safetensors/head.safetensors")))
    }
}
