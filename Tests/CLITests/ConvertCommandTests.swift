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
}
