import XCTest
@testable import TensorFormats

/// Files written by NumPy, safetensors and PyTorch (tools/make_format_fixtures.py) read back with
/// the same names, dtypes, shapes and bytes.
final class ReferenceFixtureTests: XCTestCase {
    func testEveryReferenceFileReadsWithIdenticalTensors() throws {
        guard let files = try Fixtures.json("formats/valid/expected.json").object else { return XCTFail("expected.json") }
        XCTAssertGreaterThanOrEqual(files.count, 20)
        for (file, tensors) in files {
            let checkpoint = try Checkpoint(path: Fixtures.path("formats/valid/" + file))
            let expected = tensors.array ?? []
            XCTAssertEqual(checkpoint.tensors.map(\.name), expected.map { $0["name"]!.string! }, file)
            for item in expected {
                let name = item["name"]!.string!
                let view = try checkpoint.tensor(named: name)
                XCTAssertEqual(view.dtype.rawValue, item["dtype"]!.string!, "\(file): \(name)")
                XCTAssertEqual(view.shape, item["shape"]!.array!.map { $0.int! }, "\(file): \(name)")
                XCTAssertEqual(view.byteArray.hex, item["hex"]!.string!, "\(file): \(name)")
            }
        }
    }

    func testSafeTensorsMetadataIsKeptInOrder() throws {
        let checkpoint = try Checkpoint(path: Fixtures.path("formats/valid/mixed.safetensors"))
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: checkpoint.metadata), ["format": "pt", "note": "ünïcode"])
    }

    func testModelDirectoryFindsTheShardIndex() throws {
        let checkpoint = try Checkpoint(path: Fixtures.path("formats/valid/sharded"))
        XCTAssertEqual(checkpoint.formatName, "sharded safetensors (2 shards)")
        XCTAssertEqual(checkpoint.tensors.count, 6)
    }

    func testWidenedValuesMatchTheStoredNumbers() throws {
        let checkpoint = try Checkpoint(path: Fixtures.path("formats/valid/bf16.npz"))
        XCTAssertEqual(try checkpoint.tensor(named: "w").floats(), [1.0, -2.5, 3.140625])
        let fortran = try Checkpoint(path: Fixtures.path("formats/valid/fortran.npz"))
        XCTAssertEqual(try fortran.tensor(named: "m23").floats(), [0, 1, 2, 3, 4, 5])
    }

    func testMissingTensorIsAnErrorNamingIt() throws {
        let checkpoint = try Checkpoint(path: Fixtures.path("formats/valid/mixed.safetensors"))
        XCTAssertThrowsError(try checkpoint.tensor(named: "nope")) { error in
            XCTAssertEqual("\(error)", Fixtures.path("formats/valid/mixed.safetensors") + ": no tensor named 'nope'")
        }
    }
}
