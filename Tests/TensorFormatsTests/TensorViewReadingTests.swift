import CkptSupport
import Foundation
import XCTest
@testable import TensorFormats

/// Reading a mapped tensor a chunk at a time: every element once, in order, with the bytes the
/// file holds, copied out of the file without bringing its pages (or their neighbours) into the
/// process's resident memory; pages touched before are released once read. Copying a few of its bytes at a
/// time (`copyBytes`, a token table's rows) gives the bytes the file holds without bringing its
/// pages into resident memory.
final class TensorViewReadingTests: XCTestCase {
    /// A safetensors file with one F16 tensor of more than a chunk (1 << 20 elements), 5 MB.
    private func checkpoint() throws -> (Checkpoint, [UInt16]) {
        let count = (5 << 19) + 77
        let halves = (0..<count).map { UInt16(truncatingIfNeeded: $0 &* 40_503) & 0x7BFF }  // finite halves
        let path = try Fixtures.temporaryDirectory(self) + "/big.safetensors"
        let info = TensorInfo(name: "w", dtype: .F16, shape: [count])
        try SafeTensorsWriter.write([OutgoingTensor(info: info) { emit in try halves.withUnsafeBytes { try emit($0) } }],
                                    metadata: [], to: path, overwrite: false)
        return (try Checkpoint(path: path), halves)
    }

    func testChunksCoverEveryElementOnceInOrder() throws {
        let (checkpoint, halves) = try checkpoint()
        let view = try checkpoint.tensor(named: "w")
        var next = 0, read: [UInt16] = []
        view.readReleasingPages { elements, bytes in
            XCTAssertEqual(elements.lowerBound, next)
            XCTAssertLessThanOrEqual(elements.count, 1 << 20)
            XCTAssertEqual(bytes.count, elements.count * 2)
            read += bytes.bindMemory(to: UInt16.self)
            next = elements.upperBound
        }
        XCTAssertEqual(next, halves.count)
        XCTAssertEqual(read, halves)
        XCTAssertEqual(view.floats(), halves.map { FloatBits.float(fromHalf: $0) })
    }

    func testReadPagesLeaveResidentMemory() throws {
        let (checkpoint, halves) = try checkpoint()
        let view = try checkpoint.tensor(named: "w")
        let mapped = halves.count * 2
        // Touching every page makes the mapping resident; reading it chunk by chunk releases it.
        var sum = 0
        for offset in stride(from: 0, to: mapped, by: 4096) { sum &+= Int(view.bytes[offset]) }
        XCTAssertGreaterThan(try residentBytes(of: view.bytes.baseAddress!), mapped / 2, "checksum \(sum)")
        let floats = view.floats()
        XCTAssertEqual(floats.count, halves.count)
        XCTAssertLessThan(try residentBytes(of: view.bytes.baseAddress!), 64 << 10)
    }

    /// Small tensors side by side, every third one decoded and every third one read as stored:
    /// the values are the file's, and no page of the mapping becomes resident (a read through the
    /// mapping brought in its neighbours' pages, which releasing its own left resident).
    func testReadingTensorsLeavesNoMappedPagesResident() throws {
        let count = 1000, tensors = 300
        let values = (0..<tensors).map { t in (0..<count).map { Float(t * count + $0) / 7 } }
        let outgoing = values.enumerated().map { t, row in
            let dtype: DType = t % 2 == 0 ? .F32 : .F16
            return OutgoingTensor(info: TensorInfo(name: String(format: "t%03d", t), dtype: dtype, shape: [count])) { emit in
                if dtype == .F32 { try row.withUnsafeBytes { try emit($0) } }
                else { try row.map { FloatBits.half(from: $0) }.withUnsafeBytes { try emit($0) } }
            }
        }
        let path = try Fixtures.temporaryDirectory(self) + "/many.safetensors"
        try SafeTensorsWriter.write(outgoing, metadata: [], to: path, overwrite: false)
        let checkpoint = try Checkpoint(path: path)
        let base = try checkpoint.tensor(named: "t000").bytes.baseAddress!
        let before = try residentBytes(of: base)
        for t in stride(from: 0, to: tensors, by: 3) {
            let view = try checkpoint.tensor(named: String(format: "t%03d", t))
            XCTAssertEqual(view.floats(), t % 2 == 0 ? values[t] : values[t].map { FloatBits.float(fromHalf: FloatBits.half(from: $0)) })
        }
        for t in stride(from: 1, to: tensors, by: 3) {
            let view = try checkpoint.tensor(named: String(format: "t%03d", t))
            let stored = t % 2 == 0 ? view.elements(as: UInt32.self).map { Float(bitPattern: $0) }
                                    : view.elements(as: UInt16.self).map { FloatBits.float(fromHalf: $0) }
            XCTAssertEqual(stored, t % 2 == 0 ? values[t] : values[t].map { FloatBits.float(fromHalf: FloatBits.half(from: $0)) })
        }
        XCTAssertLessThanOrEqual(try residentBytes(of: base), before)
    }

    func testCopiedBytesAreTheFilesAndStayOutOfResidentMemory() throws {
        let (checkpoint, halves) = try checkpoint()
        let view = try checkpoint.tensor(named: "w")
        XCTAssertTrue(view.isMapped)
        view.releasePages()
        // Rows of 384 halves, every one of them, in an order that jumps about the file.
        let row = 384 * 2, rows = halves.count * 2 / row
        var copied = [UInt8](repeating: 0, count: rows * row)
        for n in 0..<rows {
            let index = n * 7919 % rows
            copied.withUnsafeMutableBytes { view.copyBytes((index * row)..<((index + 1) * row), into: $0.baseAddress! + index * row) }
        }
        XCTAssertEqual(copied, halves.withUnsafeBytes { Array($0[0..<(rows * row)]) })
        XCTAssertLessThan(try residentBytes(of: view.bytes.baseAddress!), 64 << 10)
        // An odd range, to the last byte.
        var tail = [UInt8](repeating: 0, count: 77)
        tail.withUnsafeMutableBytes { view.copyBytes((halves.count * 2 - 77)..<(halves.count * 2), into: $0.baseAddress!) }
        XCTAssertEqual(tail, halves.withUnsafeBytes { Array($0.suffix(77)) })
    }

    func testCopiedBytesOfHeapDataAreTheTensors() throws {
        let (checkpoint, halves) = try checkpoint()
        let npz = try Fixtures.temporaryDirectory(self) + "/big.npz"
        _ = try Converter.convert(checkpoint, to: .npz(path: npz, compress: true), dtype: nil, selection: TensorSelection(),
                                  overwrite: false, threads: 1)
        let view = try Checkpoint(path: npz).tensor(named: "w")
        XCTAssertFalse(view.isMapped, "an inflated member is heap data")
        var copied = [UInt8](repeating: 0, count: 1000)
        copied.withUnsafeMutableBytes { view.copyBytes(5000..<6000, into: $0.baseAddress!) }
        XCTAssertEqual(copied, halves.withUnsafeBytes { Array($0[5000..<6000]) })
    }

    /// `MappedFile.read` says so when the file no longer holds the bytes asked for: `copyBytes`
    /// then stops the process naming the file, where touching the mapping would raise SIGBUS.
    func testReadingPastAFileCutShortFails() throws {
        let path = try Fixtures.temporaryDirectory(self) + "/cut.bin"
        try Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0) }).write(to: URL(fileURLWithPath: path))
        let file = try MappedFile(path: path)
        var bytes = [UInt8](repeating: 0, count: 100)
        XCTAssertTrue(bytes.withUnsafeMutableBytes { file.read(9_900..<10_000, into: $0.baseAddress!) })
        XCTAssertEqual(bytes, (9_900..<10_000).map { UInt8(truncatingIfNeeded: $0) })
        XCTAssertEqual(truncate(path, 9_950), 0)
        XCTAssertFalse(bytes.withUnsafeMutableBytes { file.read(9_900..<10_000, into: $0.baseAddress!) })
        XCTAssertTrue(bytes.withUnsafeMutableBytes { file.read(9_800..<9_900, into: $0.baseAddress!) })
    }

    /// The resident bytes of the mapping that holds `address`, from /proc/self/smaps.
    private func residentBytes(of address: UnsafeRawPointer) throws -> Int {
        // Read to the end: /proc files report a size of 0.
        guard let data = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/smaps")).readToEnd() else { throw NoMapping() }
        let smaps = String(decoding: data, as: UTF8.self)
        var inside = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), let space = line.firstIndex(of: " "), dash < space,
               let start = UInt(line[..<dash], radix: 16), let end = UInt(line[line.index(after: dash)..<space], radix: 16) {
                inside = (start..<end).contains(UInt(bitPattern: address))
            } else if inside, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ")[1])! * 1024
            }
        }
        throw NoMapping()
    }

    private struct NoMapping: Error {}
}
