import CkptSupport
import XCTest
@testable import TensorFormats

/// Every malformed fixture is refused with the expected message naming the file, and never crashes.
final class MalformedFixtureTests: XCTestCase {
    func testEveryMalformedFileGivesItsExpectedError() throws {
        try checkMalformed(in: "formats/malformed", atLeast: 25)
    }

    func testEveryMalformedGGUFFileGivesItsExpectedError() throws {
        try checkMalformed(in: "gguf/malformed", atLeast: 15)
        try checkMalformed(in: "gguf/fuzz-found", atLeast: 1)
    }

    private func checkMalformed(in folder: String, atLeast minimum: Int) throws {
        guard let cases = try Fixtures.json(folder + "/expected.json").object else { return XCTFail("expected.json") }
        XCTAssertGreaterThanOrEqual(cases.count, minimum)
        for (file, expectation) in cases {
            let path = Fixtures.path(folder + "/" + file)
            let expected: String
            if let message = expectation.string {
                expected = "\(path): \(message)"
            } else {
                expected = Fixtures.path(folder + "/" + expectation["file"]!.string!) + ": " + expectation["message"]!.string!
            }
            do {
                let checkpoint = try Checkpoint(path: path)
                for info in checkpoint.tensors { _ = try checkpoint.tensor(named: info.name) }
                XCTFail("\(file): read without error")
            } catch {
                XCTAssertEqual("\(error)", expected, file)
            }
        }
    }

    func testRandomCorruptionOfValidFilesNeverCrashes() throws {
        // Flip bytes and cut files at many places; every outcome must be a value or a FormatError.
        for file in ["valid/mixed.safetensors", "valid/arrays.npz", "valid/arrays_compressed.npz", "valid/versions.npz",
                     "../pytorch/formats/views.bin", "../pytorch/formats/deflated.bin", "../gguf/valid/types.gguf"] {
            let original = try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.path("formats/" + file))))
            let directory = try Fixtures.temporaryDirectory(self)
            var generator = SplitMix(seed: 42)
            for trial in 0..<300 {
                var bytes = original
                if trial % 3 == 0 {
                    bytes = Array(bytes.prefix(Int(generator.next() % UInt64(bytes.count))))
                } else {
                    for _ in 0..<(1 + trial % 4) {
                        bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                    }
                }
                let path = directory + "/" + (file as NSString).lastPathComponent
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                do {
                    let checkpoint = try Checkpoint(path: path)
                    for info in checkpoint.tensors { _ = try checkpoint.tensor(named: info.name).floats() }
                } catch let error as FormatError {
                    XCTAssertTrue(error.description.hasPrefix(path + ": "))
                }
            }
        }
    }
}

/// A small deterministic random generator for the corruption test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
