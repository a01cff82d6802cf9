import CkptSupport
import XCTest
@testable import TensorFormats

/// GGUF files written by the `gguf` package (tools/make_gguf_fixtures.py): every tensor type ckpt
/// reads and every metadata value type, in versions 3 and 2.
final class GGUFReaderTests: XCTestCase {
    func testTensorsAndMetadataEqualWhatTheReferenceWrote() throws {
        let expected = try Fixtures.json("gguf/valid/types.json")
        for (file, version, alignment) in [("types.gguf", UInt32(3), 32), ("v2.gguf", 2, 64)] {
            let gguf = try GGUFFile(path: Fixtures.path("gguf/valid/" + file))
            XCTAssertEqual(gguf.version, version)
            XCTAssertEqual(gguf.alignment, alignment)
            XCTAssertEqual(gguf.tensors.map(\.name), ["f32", "f16", "bf16", "q8"])
            for (name, reference) in expected["tensors"]!.object! {
                let view = try gguf.tensor(named: name)
                XCTAssertEqual(view.info.shape, reference["shape"]!.array!.map { $0.int! }, name)
                XCTAssertEqual(gguf.storedTypes[name]?.name, reference["type"]!.string!)
                // Exact: F16/BF16 widen exactly, Q8_0 is int8 × an f16 scale in f32, as gguf.quants.dequantize computes it.
                XCTAssertEqual(try view.floats(), reference["values"]!.array!.map { Float($0.double!) }, "\(file): \(name)")
            }
            let metadata = expected["metadata"]!.object!
            for (key, value) in metadata {
                let found = try XCTUnwrap(gguf[key], key)
                switch value {
                case .string(let text) where key == "t.u64": XCTAssertEqual(found, .uint64(UInt64(text)!))
                case .string(let text): XCTAssertEqual(found.string, text, key)
                case .bool(let flag): XCTAssertEqual(found.bool, flag, key)
                case .array(let items):
                    XCTAssertEqual(found.array?.map { $0.string ?? $0.int.map(String.init) }, items.map { $0.string ?? $0.int.map(String.init) }, key)
                default: XCTAssertEqual(found.double, value.double, key)
                }
            }
            XCTAssertEqual(gguf["t.nested"], .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.int32, [.int32(3)])]))
            XCTAssertEqual(gguf["t.i8"], .int8(-100))
        }
    }

    func testAGGUFOpensAsACheckpoint() throws {
        let checkpoint = try Checkpoint(path: Fixtures.path("gguf/valid/types.gguf"))
        XCTAssertEqual(checkpoint.tensors.first { $0.name == "q8" }?.dtype, .F32)
        XCTAssertEqual(checkpoint.tensors.first { $0.name == "bf16" }?.dtype, .BF16)
    }
}
