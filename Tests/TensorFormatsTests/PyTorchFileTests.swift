import CkptSupport
import Foundation
import XCTest
@testable import TensorFormats

/// PyTorch checkpoints (torch.save's zip format) read without running their pickle, against
/// fixtures written by torch.save and their conversions by safetensors.torch.save_file
/// (tools/make_pytorch_fixtures.py).
final class PyTorchFileTests: XCTestCase {
    static let formatFiles = ["bert-f16", "bert-bf16", "views", "nested-model", "nested-state-dict", "protocol4",
                              "protocol5", "parameter", "big-endian", "deflated", "no-crc32"]

    func testConversionToSafetensorsIsByteIdenticalToSaveFileOfTorchLoad() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        for name in Self.formatFiles {
            let output = directory + "/\(name).safetensors"
            _ = try Converter.convert(Checkpoint(path: Fixtures.path("pytorch/formats/\(name).bin")), to: .safetensors(path: output),
                                      dtype: nil, selection: TensorSelection(), overwrite: false, threads: 2)
            let expected = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pytorch/formats/\(name).reference.safetensors")))
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: output)), expected, name)
        }
    }

    /// Conversion checks each stored member's CRC-32 in the same pass that copies it: a byte
    /// flipped inside a tensor (npz and PyTorch archives alike) fails the conversion with the
    /// reader's CRC message, and no output file is left. The check is the deferred one: a checkpoint
    /// hands the stored member over with its CRC left for the copy pass.
    func testACorruptedTensorFailsTheStreamingCheckAndLeavesNothing() throws {
        let directory = try Fixtures.temporaryDirectory(self)
        for (name, fileExtension) in [("pytorch/formats/bert-f16", "bin"), ("formats/valid/arrays", "npz")] {
            let source = Fixtures.path("\(name).\(fileExtension)")
            let checkpoint = try Checkpoint(path: source)
            let largest = try XCTUnwrap(checkpoint.tensors.max { $0.byteCount < $1.byteCount })
            XCTAssertNotNil(try checkpoint.tensorForStreaming(named: largest.name).check, name)
            let bytes = Data(try checkpoint.tensor(named: largest.name).bytes)
            var data = try Data(contentsOf: URL(fileURLWithPath: source))
            let at = try XCTUnwrap(data.range(of: bytes)).lowerBound + bytes.count / 2
            data[at] ^= 0xFF
            let corrupted = directory + "/corrupted.\(fileExtension)", output = directory + "/out.safetensors"
            try data.write(to: URL(fileURLWithPath: corrupted))
            XCTAssertThrowsError(try Converter.convert(Checkpoint(path: corrupted), to: .safetensors(path: output), dtype: .F32,
                                                       selection: TensorSelection(), overwrite: true, threads: 2)) { error in
                XCTAssertTrue("\(error)".hasPrefix("\(corrupted): member '"), "\(error)")
                XCTAssertTrue("\(error)".contains("(corrupted data)"), "\(error)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["corrupted.\(fileExtension)"], name)
            try FileManager.default.removeItem(atPath: corrupted)
        }
    }

    func testViewsAreReadAsTorchSeesThem() throws {
        let file = try PyTorchFile(path: Fixtures.path("pytorch/formats/views.bin"))
        let base = try file.tensor(named: "base").floats()  // [6, 5]
        let transposed = try file.tensor(named: "transposed")
        XCTAssertEqual(transposed.shape, [5, 6])
        XCTAssertEqual(transposed.floats(), (0..<30).map { base[($0 % 6) * 5 + $0 / 6] })
        XCTAssertEqual(try file.tensor(named: "row_slice").floats(), Array(base[10..<20]))
        XCTAssertEqual(try file.tensor(named: "column").floats(), (0..<6).map { base[$0 * 5 + 1] })
        XCTAssertEqual(try file.tensor(named: "scalar").floats(), [3.5])
        XCTAssertEqual(try file.tensor(named: "empty").shape, [0, 4])
        XCTAssertEqual(try file.tensor(named: "int64").floats(), [-3, -2, -1, 0, 1, 2, 3])
        // Tensors that shared a storage are views of the same bytes of the mapped file.
        let a = try file.tensor(named: "tied.a"), b = try file.tensor(named: "tied.b"), flat = try file.tensor(named: "tied.view")
        XCTAssertEqual(a.bytes.baseAddress, b.bytes.baseAddress)
        XCTAssertEqual(a.bytes.baseAddress, flat.bytes.baseAddress)
        XCTAssertEqual(flat.shape, [12])
    }

    func testBigEndianStoragesReadAsTheLittleEndianOriginal() throws {
        let little = try PyTorchFile(path: Fixtures.path("pytorch/formats/views.bin"))
        let big = try PyTorchFile(path: Fixtures.path("pytorch/formats/big-endian.bin"))
        XCTAssertEqual(big.tensors, little.tensors)
        for info in little.tensors {
            XCTAssertEqual(try big.tensor(named: info.name).byteArray, try little.tensor(named: info.name).byteArray, info.name)
        }
    }

    func testNestedStateDictsAreFound() throws {
        let flat = try PyTorchFile(path: Fixtures.path("pytorch/bert/pytorch_model.bin"))
        let nested = try PyTorchFile(path: Fixtures.path("pytorch/formats/nested-state-dict.bin"))
        XCTAssertEqual(nested.tensors, flat.tensors)
        XCTAssertEqual(try PyTorchFile(path: Fixtures.path("pytorch/formats/nested-model.bin")).tensors.count, 17)
    }

    func testModelDirectoriesFindPyTorchWeightsSingleAndSharded() throws {
        let single = try Checkpoint(path: Fixtures.path("pytorch/bert"))
        let sharded = try Checkpoint(path: Fixtures.path("pytorch/bert-sharded"))
        XCTAssertEqual(single.formatName, "pytorch")
        XCTAssertEqual(sharded.formatName, "sharded pytorch (2 shards)")
        XCTAssertEqual(Set(sharded.tensors.map(\.name)), Set(single.tensors.map(\.name)))
        let reference = try Checkpoint(path: Fixtures.path("bert/bertmodel"))
        for info in reference.tensors {
            XCTAssertEqual(try sharded.tensor(named: info.name).byteArray, try reference.tensor(named: info.name).byteArray, info.name)
        }
    }

    func testLegacyFormatIsRefusedWithHowToResave() {
        let path = Fixtures.path("pytorch/legacy.bin")
        XCTAssertThrowsError(try PyTorchFile(path: path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ": legacy PyTorch format"), "\(error)")
            XCTAssertTrue("\(error)".contains("torch.save(torch.load("), "\(error)")
        }
    }

    func testMaliciousPicklesAreRefusedWithTheReason() throws {
        guard let cases = try Fixtures.json("pytorch/malicious/expected.json").object else { return XCTFail("expected.json") }
        XCTAssertGreaterThanOrEqual(cases.count, 15)
        for (file, fragment) in cases {
            let path = Fixtures.path("pytorch/malicious/" + file)
            XCTAssertThrowsError(try PyTorchFile(path: path), file) { error in
                XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)")
                XCTAssertTrue("\(error)".contains(fragment.string!), "\(file): \(error)")
            }
        }
    }

    func testDamagedStorageIsCaughtByItsChecksum() throws {
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pytorch/formats/views.bin"))))
        let member = try XCTUnwrap(bytes.withUnsafeBytes { try ZipArchive($0) }.members.first { $0.name.hasSuffix("/data/0") })
        bytes[member.dataOffset + 3] ^= 0x40
        let path = try Fixtures.temporaryDirectory(self) + "/damaged.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try PyTorchFile(path: path).tensor(named: "base")) { error in
            XCTAssertTrue("\(error)".contains("data/0': CRC-32"), "\(error)")
        }
    }

    // MARK: the pickle machine on hand-made pickles

    /// Runs `pickle` as data.pkl of an archive holding `records` and returns the error, if any.
    private func archiveError(_ pickle: [UInt8], records: [String: [UInt8]] = [:]) throws -> String? {
        let path = try Fixtures.temporaryDirectory(self) + "/made.bin"
        let output = try AtomicOutputFile(path: path, overwrite: false)
        let zip = ZipWriter(output: output)
        for (name, data) in [("archive/data.pkl", pickle)] + records.map({ ("archive/data/" + $0.key, $0.value) }) {
            try zip.addMember(name: name, deflate: false) { emit in try data.withUnsafeBytes { try emit($0) } }
        }
        try zip.finish()
        try output.commit()
        do {
            _ = try PyTorchFile(path: path)
            return nil
        } catch {
            return "\(error)"
        }
    }

    private func text(_ string: String) -> [UInt8] {
        [0x58] + withUnsafeBytes(of: UInt32(string.utf8.count).littleEndian, Array.init) + Array(string.utf8)
    }

    /// `{"w": _rebuild_tensor_v2(storage '0' of `count` floats, 0, (size,), (1,), False, OrderedDict())}`
    /// with protocol-0 text forms (INT, LONG, GET/PUT) mixed in.
    private func tensorPickle(size: String, count: String) -> [UInt8] {
        var p: [UInt8] = [0x80, 2, UInt8(ascii: "}")] + Array("p0\n".utf8) + [UInt8(ascii: "(")] + text("w")
        p += Array("ctorch._utils\n_rebuild_tensor_v2\n((".utf8) + text("storage") + Array("ctorch\nFloatStorage\n".utf8)
        p += text("0") + text("cpu") + Array("L\(count)L\ntQI0\n(I\(size)\ntp1\n(I1\nt".utf8)
        p += [0x89] + Array("ccollections\nOrderedDict\n)RtRug0\n.".utf8)
        return p
    }

    func testTextOpcodesAndMemoBuildATensor() throws {
        XCTAssertNil(try archiveError(tensorPickle(size: "4", count: "4"), records: ["0": [UInt8](repeating: 0, count: 16)]))
    }

    func testGeometryAndStorageSizesAreChecked() throws {
        let record = ["0": [UInt8](repeating: 0, count: 16)]
        XCTAssertEqual(try archiveError(tensorPickle(size: "5", count: "4"), records: record)?.hasSuffix(
            "tensor 'w' has 5 elements but its storage holds 4 (an expanded view; save it with .contiguous()) (storage '0')"), true)
        XCTAssertEqual(try archiveError(tensorPickle(size: "4", count: "5"), records: record)?.hasSuffix(
            "storage '0' claims 5 F32 elements but its record holds 16 bytes"), true)
        // Found by fuzzing: a negative element count.
        XCTAssertEqual(try archiveError(tensorPickle(size: "4", count: "-1744830460"), records: record)?.hasSuffix(
            "storage '0' claims -1744830460 F32 elements, which no storage can hold"), true)
        XCTAssertEqual(try archiveError(tensorPickle(size: "4", count: "4611686018427387904"), records: record)?.hasSuffix(
            "storage '0' claims 4611686018427387904 F32 elements, which no storage can hold"), true)
        XCTAssertEqual(try archiveError(tensorPickle(size: "4", count: "4"))?.hasSuffix(
            "data.pkl refers to storage '0', which the archive does not hold (data/0 is missing)"), true)
    }

    func testMalformedPicklesGiveTheOpcodeAndOffset() throws {
        let cases: [([UInt8], String)] = [
            ([0x80, 2, UInt8(ascii: "a")], "pickle opcode APPEND at offset 2 needs more values than the stack holds"),
            ([0x80, 2, UInt8(ascii: "t")], "pickle opcode TUPLE at offset 2 has no MARK before it"),
            ([0x80, 2, 0xFF], "unknown pickle opcode 0xff at offset 2 (not a pickle, or damaged)"),
            ([0x80, 9], "pickle protocol 9 is not supported (protocols 2 to 5 are)"),
            ([0x80, 2, UInt8(ascii: "]")], "pickle has no STOP opcode (truncated)"),
            ([0x80, 2, UInt8(ascii: "J"), 1], "pickle ends in the middle of an opcode at offset 2 (truncated)"),
            ([0x80, 2, UInt8(ascii: "S")] + Array("'x'\n.".utf8), "pickle opcode STRING at offset 2 is not supported in checkpoints"),
            ([0x80, 2, UInt8(ascii: "N"), UInt8(ascii: "]"), UInt8(ascii: "u")], "pickle opcode SETITEMS at offset 4 has no MARK before it"),
            ([0x80, 2, UInt8(ascii: "K"), 1, UInt8(ascii: "N"), UInt8(ascii: "s")], "pickle opcode SETITEM at offset 5 needs more values than the stack holds"),
            ([0x80, 2, UInt8(ascii: "N"), UInt8(ascii: "N"), UInt8(ascii: "R")], "pickle opcode REDUCE at offset 4 expects an argument tuple but finds None"),
            ([0x80, 2, UInt8(ascii: "("), UInt8(ascii: "N"), UInt8(ascii: "d")], "pickle builds a dict from an odd number of items at offset 4"),
            ([0x80, 2, 0x8C, 2, UInt8(ascii: "o"), UInt8(ascii: "s"), 0x8C, 6] + Array("system".utf8) + [0x93],
             "data.pkl refers to 'os.system', which is not part of a state dict of tensors"),
            ([0x80, 2, UInt8(ascii: "]"), UInt8(ascii: ".")], "no state dict found: the checkpoint holds a list"),
        ]
        for (pickle, expected) in cases {
            let error = try archiveError(pickle)
            XCTAssertEqual(error?.contains(expected), true, "\(pickle): \(error ?? "no error")")
        }
    }

    /// Pickles the fuzzer found crashing (fixtures/pytorch/fuzz-found), run as the fuzz target runs
    /// them (every storage exists with the size it claims): each is refused with an error.
    func testPicklesFoundByFuzzingAreRefused() throws {
        let directory = Fixtures.path("pytorch/fuzz-found")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".pkl") }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let pickle = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
            XCTAssertThrowsError(try pickle.withUnsafeBytes { bytes in
                var machine = PickleMachine(bytes, host: TorchPickleHost { _, claimed in UInt64(claimed) })
                return try TorchStateDict.tensors(in: try machine.run(), heap: machine.heap)
            }, file)
        }
    }

    func testValueBudgetBoundsMemory() throws {
        let pickle: [UInt8] = [0x80, 2] + [UInt8](repeating: UInt8(ascii: "]"), count: 11) + [UInt8(ascii: ".")]
        try pickle.withUnsafeBytes { bytes in
            var machine = PickleMachine(bytes, host: TorchPickleHost { _, _ in nil }, maxValues: 10)
            XCTAssertThrowsError(try machine.run()) { error in
                XCTAssertEqual("\(error)", "pickle builds more than 10 values; refused to bound memory (no state dict needs that many)")
            }
        }
    }
}
