import CkptSupport
import Foundation
import XCTest
@testable import TensorFormats

/// Reading a mapped tensor a chunk at a time: every element once, in order, with the bytes the
/// file holds, and the pages read leave the process's resident memory, so that a large tensor's
/// mapped pages are not all resident beside the copy made of them.
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
