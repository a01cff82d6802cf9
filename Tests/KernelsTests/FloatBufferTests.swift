import XCTest
@testable import Kernels

/// Scratch buffers: zeroed, writable end to end, and on 2 MB boundaries when huge pages are asked
/// for (the kernel then backs them with 2 MB pages where it allows).
final class FloatBufferTests: XCTestCase {
    func testBuffersOfEverySizeAndKindStartZeroedAndHoldWhatIsWritten() {
        for (count, hugePages) in [(100, false), (100, true), (1 << 19, false), (3 << 19, true), ((5 << 19) + 3, true)] {
            let buffer = FloatBuffer(count, hugePages: hugePages)
            XCTAssertEqual(buffer.count, count)
            XCTAssertTrue((0..<count).allSatisfy { buffer.p[$0] == 0 }, "\(count) floats, hugePages \(hugePages)")
            for i in 0..<count { buffer.p[i] = Float(i % 1000) }
            XCTAssertEqual(buffer.p[count - 1], Float((count - 1) % 1000))
            if hugePages && count * 4 >= 1 << 20 {
                XCTAssertEqual(Int(bitPattern: buffer.p) % (1 << 21), 0, "a huge-page buffer of \(count) floats starts on a 2 MB boundary")
            }
        }
    }
}
