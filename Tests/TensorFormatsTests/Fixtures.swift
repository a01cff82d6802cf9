import CkptSupport
import Foundation
import XCTest
@testable import TensorFormats

/// Paths into the repository's `fixtures/` folder and helpers the tests share.
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures").path

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func json(_ relative: String) throws -> JSON {
        try JSON.parse(String(contentsOfFile: path(relative), encoding: .utf8))
    }

    /// A fresh empty directory, removed when the test ends.
    static func temporaryDirectory(_ test: XCTestCase) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }
}

extension Array where Element == UInt8 {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

extension TensorView {
    var byteArray: [UInt8] { Array(bytes) }
}

func crc32<T>(_ values: [T]) -> UInt32 {
    values.withUnsafeBytes { CRC32.of($0) }
}
