import Foundation
import TensorFormats
import XCTest

final class InspectCommandTests: XCTestCase {
    func testTableMatchesSnapshot() throws {
        let result = try Ckpt.run(["inspect", "formats/valid/mixed.safetensors"], in: Ckpt.fixtures)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, try String(contentsOfFile: Ckpt.fixtures + "/cli/inspect_mixed.txt", encoding: .utf8))
        XCTAssertEqual(result.stderr, "")
    }

    func testJSONMatchesSnapshot() throws {
        let result = try Ckpt.run(["inspect", "--json", "formats/valid/sharded"], in: Ckpt.fixtures)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, try String(contentsOfFile: Ckpt.fixtures + "/cli/inspect_sharded.json", encoding: .utf8))
    }

    func testControlCharactersInNamesAndMetadataAreEscaped() throws {
        let path = try Ckpt.temporaryDirectory(self) + "/hostile.safetensors"
        let info = TensorInfo(name: "w\u{1b}[2J", dtype: .F32, shape: [1])
        try SafeTensorsWriter.write([OutgoingTensor(info: info) { emit in try [Float(1)].withUnsafeBytes { try emit($0) } }],
                                    metadata: [("note\n", "first line\nsecond\u{1b}[31m line")], to: path, overwrite: false)
        let result = try Ckpt.run(["inspect", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("\u{1b}"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nw\\u{1b}[2J  F32"), result.stdout)
        XCTAssertTrue(result.stdout.contains("\nmetadata: note\\u{a} = first line\\u{a}second\\u{1b}[31m line\n"), result.stdout)
    }

    func testAModelSaysThePrecisionItRunsIn() throws {
        let directory = try Ckpt.temporaryDirectory(self), model = Ckpt.fixtures + "/bert/maskedlm"
        func inspect(_ arguments: [String]) throws -> String {
            let result = try Ckpt.run(["inspect"] + arguments)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stdout
        }
        XCTAssertTrue(try inspect([model]).hasSuffix("\nprecision: the model runs in f32 unless --precision says otherwise (as its checkpoint is stored)\n"))
        XCTAssertFalse(try inspect([model + "/model.safetensors"]).contains("precision:"), "weights alone are no model")
        XCTAssertFalse(try inspect(["--json", model + "/model.safetensors"]).contains(#""precision""#))
        for (dtype, precision) in [("bf16", "bf16"), ("int8", "int8")] {
            XCTAssertEqual(try Ckpt.run(["convert", model, directory + "/\(dtype)/", "--dtype", dtype, "--quiet"]).status, 0)
            XCTAssertTrue(try inspect([directory + "/" + dtype]).contains("\nprecision: the model runs in \(precision) unless"), dtype)
            XCTAssertTrue(try inspect(["--json", directory + "/" + dtype]).hasSuffix(#","precision":"\#(precision)"}"# + "\n"), dtype)
        }
    }

    func testMissingPathFailsWithOneLine() throws {
        let result = try Ckpt.run(["inspect", "no/such/model.safetensors"])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: no/such/model.safetensors: no such file or directory\n")
        XCTAssertEqual(result.stdout, "")
    }

    func testDirectoryWithoutWeightsSaysWhatWasLookedFor() throws {
        // The Trainer's training_args.bin is a pickle of settings, not weights: only named .bin files are taken.
        let directory = try Ckpt.temporaryDirectory(self)
        try Data("not weights".utf8).write(to: URL(fileURLWithPath: directory + "/training_args.bin"))
        let result = try Ckpt.run(["inspect", directory])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: \(directory): no weights found (looked for model.safetensors.index.json, model.safetensors, "
                       + "model.npz, pytorch_model.bin.index.json, pytorch_model.bin, *.safetensors, *.npz, *.pt, *.pth)\n")
    }
}
