import CkptSupport
import Foundation
import XCTest
@testable import TensorFormats

/// Conversions through the library, checked against checksums of outputs that
/// tools/verify_format_outputs.py proved identical to the reference in NumPy, safetensors and PyTorch.
final class ConversionTests: XCTestCase {
    func testConversionsMatchTheVerifiedPins() throws {
        guard let records = try Fixtures.json("formats/conversions.json").array else { return XCTFail("conversions.json") }
        XCTAssertGreaterThanOrEqual(records.count, 20)
        for record in records {
            let directory = try Fixtures.temporaryDirectory(self)
            let outputName = record["output"]!.string!
            let output = directory + "/" + outputName
            let dtype = record["dtype"]?.string.map { ["f32": DType.F32, "f16": .F16, "bf16": .BF16][$0]! }
            let target = ConversionTarget.infer(output: output, compress: record["compress"]?.bool ?? false,
                                                maxShardSize: record["max_shard_size"]?.string.flatMap(ByteSize.parse))!
            let selection = try TensorSelection(include: record["include"]?.array?.map { $0.string! } ?? [],
                                                exclude: record["exclude"]?.array?.map { $0.string! } ?? [])
            _ = try Converter.convert(Checkpoint(path: Fixtures.path("formats/" + record["input"]!.string!)), to: target,
                                      dtype: dtype, selection: selection, overwrite: false, threads: 2)
            let expected = Dictionary(uniqueKeysWithValues: record["pins"]!.object!.map { ($0.0, UInt32($0.1.int!)) })
            XCTAssertEqual(try pins(of: output), expected, outputName)
        }
    }

    /// CRC-32 of each output file, or of each member of an npz (the form the generator pins).
    private func pins(of path: String) throws -> [String: UInt32] {
        if FileSystem.isDirectory(path) {
            return try Dictionary(uniqueKeysWithValues: FileSystem.listDirectory(path).map { name in
                (name, try fileCRC(path + "/" + name))
            })
        }
        if path.hasSuffix(".npz") {
            let file = try MappedFile(path: path)
            return try withExtendedLifetime(file) {
                Dictionary(uniqueKeysWithValues: try ZipArchive(file.bytes).members.map { ($0.name, $0.crc) })
            }
        }
        return [(path as NSString).lastPathComponent: try fileCRC(path)]
    }

    private func fileCRC(_ path: String) throws -> UInt32 {
        let file = try MappedFile(path: path)
        return withExtendedLifetime(file) { CRC32.of(file.bytes) }
    }

    func testSafeTensorsToNpzAndBackKeepsEveryByteForEveryDType() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        for dtype in DType.allCases where NPYHeader.descr(for: dtype) != nil {
            let source = Fixtures.path("formats/valid/dtype_\(dtype.rawValue).safetensors")
            for compress in [false, true] {
                let npz = directory + "/\(dtype)-\(compress).npz"
                let back = directory + "/\(dtype)-\(compress).safetensors"
                _ = try Converter.convert(Checkpoint(path: source), to: .npz(path: npz, compress: compress), dtype: nil,
                                          selection: TensorSelection(), overwrite: false, threads: 2)
                _ = try Converter.convert(Checkpoint(path: npz), to: .safetensors(path: back), dtype: nil,
                                          selection: TensorSelection(), overwrite: false, threads: 2)
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: back)), try Data(contentsOf: URL(fileURLWithPath: source)),
                               "\(dtype) compress=\(compress)")
            }
        }
    }

    func testFloat8CannotBeWrittenToNpz() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let output = directory + "/f8.npz"
        XCTAssertThrowsError(try Converter.convert(Checkpoint(path: Fixtures.path("formats/valid/dtype_F8_E4M3.safetensors")),
                                                   to: .npz(path: output, compress: false), dtype: nil,
                                                   selection: TensorSelection(), overwrite: false, threads: 2)) { error in
            XCTAssertEqual("\(error)", "\(output): tensor 't': NumPy has no F8_E4M3 type; convert it to f32, f16 or bf16")
        }
        XCTAssertFalse(FileSystem.exists(output), "a failed conversion must leave no file")
        XCTAssertEqual(FileSystem.listDirectory(directory), [], "no temporary file left behind")
    }

    func testExistingOutputIsNotOverwrittenWithoutForce() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let output = directory + "/out.safetensors"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: output))
        let source = try Checkpoint(path: Fixtures.path("formats/valid/dtype_F32.safetensors"))
        XCTAssertThrowsError(try Converter.convert(source, to: .safetensors(path: output), dtype: nil,
                                                   selection: TensorSelection(), overwrite: false, threads: 2)) { error in
            XCTAssertEqual("\(error)", "\(output): already exists")
        }
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "keep me")
        _ = try Converter.convert(source, to: .safetensors(path: output), dtype: nil, selection: TensorSelection(), overwrite: true, threads: 2)
        XCTAssertEqual(try Checkpoint(path: output).tensors.map(\.name), ["t"])
    }

    func testSelectionThatMatchesNothingIsAnError() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        let source = Fixtures.path("formats/valid/mixed.safetensors")
        XCTAssertThrowsError(try Converter.convert(Checkpoint(path: source), to: .safetensors(path: directory + "/x.safetensors"),
                                                   dtype: nil, selection: TensorSelection(include: ["^nothing$"]),
                                                   overwrite: false, threads: 2)) { error in
            XCTAssertEqual("\(error)", "\(source): no tensor matches the include and exclude patterns; nothing to write")
        }
    }

    func testForcedZip64RecordsAreReadBack() throws {
        // Lowering the zip64 threshold to 0 writes every size and offset through zip64 fields and
        // records, as a > 4 GiB archive would; the reader must follow them all.
        let directory = try Fixtures.temporaryDirectory(self)
        let source = try Checkpoint(path: Fixtures.path("formats/valid/mixed.safetensors"))
        let tensors = try source.tensors.filter { !$0.name.hasPrefix("layer.f8") }.map { OutgoingTensor(try source.tensor(named: $0.name)) }
        for compress in [false, true] {
            let path = directory + "/zip64-\(compress).npz"
            let output = try AtomicOutputFile(path: path, overwrite: false)
            try NPZWriter.write(tensors, into: output, compress: compress, zip64Threshold: 0)
            try output.commit()
            let file = try MappedFile(path: path)
            withExtendedLifetime(file) {
                XCTAssertNotNil(file.bytes.firstRange(of: [0x50, 0x4B, 0x06, 0x06]), "zip64 end record present")
            }
            let reread = try Checkpoint(path: path)
            for tensor in tensors {
                XCTAssertEqual(try reread.tensor(named: tensor.info.name).byteArray, try source.tensor(named: tensor.info.name).byteArray)
            }
        }
    }

    func testShardPlanFollowsHuggingFaceHub() {
        func tensor(_ name: String, _ bytes: Int) -> OutgoingTensor {
            OutgoingTensor(info: TensorInfo(name: name, dtype: .U8, shape: [bytes])) { _ in }
        }
        let plan = ShardedSafeTensorsWriter.plan([tensor("a", 40), tensor("b", 40), tensor("big", 200), tensor("c", 30), tensor("d", 10)],
                                                 maxShardSize: 100)
        // "big" exceeds the limit and gets a shard of its own, placed before the shard being filled.
        XCTAssertEqual(plan.map { $0.map(\.info.name) }, [["big"], ["a", "b"], ["c", "d"]])
    }

    func testByteSizesParseLikeTransformers() {
        XCTAssertEqual(ByteSize.parse("5GB"), 5_000_000_000)
        XCTAssertEqual(ByteSize.parse("2GiB"), 2 << 30)
        XCTAssertEqual(ByteSize.parse("500mb"), 500_000_000)
        XCTAssertEqual(ByteSize.parse("1048576"), 1_048_576)
        XCTAssertNil(ByteSize.parse("lots"))
        XCTAssertNil(ByteSize.parse("-5MB"))
    }
}
