import CkptSupport
import Foundation
import TensorFormats
import XCTest
@testable import Tokenizers

/// The test corpus and the reference's outputs for it (tools/make_tokenizer_fixtures.py).
enum Golden {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures/tokenizers").path

    static func path(_ relative: String) -> String { root + "/" + relative }

    /// The corpus lines (JSON strings, one per line, so they may hold any character).
    static let corpus: [String] = jsonLines(try! Data(contentsOf: URL(fileURLWithPath: path("corpus.jsonl")))).map { $0.string! }

    /// Rows of a gzip-compressed JSON-lines golden file.
    static func rows(_ name: String) throws -> [JSON] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(name + ".jsonl.gz")))
        return jsonLines(Data(try data.withUnsafeBytes { try Gzip.decompress($0) }))
    }

    private static func jsonLines(_ data: Data) -> [JSON] {
        data.split(separator: 0x0A).map { line in line.withUnsafeBytes { try! JSON.parse($0) } }
    }

    static func ints(_ json: JSON?) -> [Int32] { json?.array?.map { Int32($0.int!) } ?? [] }

    static func offsets(_ json: JSON?) -> [Range<Int>] {
        let flat = json?.array?.map { $0.int! } ?? []
        return stride(from: 0, to: flat.count, by: 2).map { flat[$0]..<flat[$0 + 1] }
    }
}

extension XCTestCase {
    /// Compares encodings with the golden rows; reports how many lines differ and shows the first few.
    func assertMatchesGolden(_ encodings: [Encoding], _ rows: [JSON], inputs: [String], checkOffsets: Bool = true,
                             checkTypeIds: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(encodings.count, rows.count, file: file, line: line)
        var mismatches: [Int] = []
        for (i, (encoding, row)) in zip(encodings, rows).enumerated() {
            var same = encoding.ids == Golden.ints(row["ids"])
            if checkOffsets { same = same && encoding.offsets == Golden.offsets(row["offsets"]) }
            if checkTypeIds { same = same && encoding.typeIds == Golden.ints(row["type_ids"]) }
            if !same { mismatches.append(i) }
        }
        for i in mismatches.prefix(3) {
            print("line \(i): \(inputs[i].debugDescription.prefix(200))\n  ckpt: \(encodings[i].ids) \(encodings[i].offsets.map { [$0.lowerBound, $0.upperBound] })\n  ref:  \(Golden.ints(rows[i]["ids"])) \(Golden.offsets(rows[i]["offsets"]).map { [$0.lowerBound, $0.upperBound] })")
        }
        XCTAssertEqual(mismatches.count, 0, "\(mismatches.count) of \(rows.count) lines differ from the reference", file: file, line: line)
    }
}
