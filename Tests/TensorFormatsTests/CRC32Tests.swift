import XCTest
@testable import TensorFormats

/// CRC32 (carry-less folding for whole 16-byte blocks, zlib for the rest) against the textbook
/// bit-at-a-time CRC-32 over every length around the fold's block sizes and at odd offsets.
final class CRC32Tests: XCTestCase {
    static func reference(_ crc: UInt32, _ bytes: some Sequence<UInt8>) -> UInt32 {
        var c = ~crc
        for byte in bytes {
            c ^= UInt32(byte)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    func testCheckValue() {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32.of($0) }, 0xCBF4_3926)
    }

    func testEveryLengthAndOffsetMatchesTheBitwiseCRC() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        data.withUnsafeBytes { all in
            for offset in [0, 1, 3, 8] {
                for length in Array(0..<200) + [255, 256, 257, 1023, 1024, 4096, 4991] where offset + length <= all.count {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)])
                    XCTAssertEqual(CRC32.update(0x1234_5678, slice), Self.reference(0x1234_5678, slice), "offset \(offset), length \(length)")
                }
            }
            // Continuing a CRC over pieces gives the CRC of the whole.
            let whole = CRC32.of(all)
            let pieces = CRC32.update(CRC32.update(CRC32.of(UnsafeRawBufferPointer(rebasing: all[0..<77])), UnsafeRawBufferPointer(rebasing: all[77..<3001])),
                                      UnsafeRawBufferPointer(rebasing: all[3001...]))
            XCTAssertEqual(pieces, whole)
        }
    }
}
