import CkptSupport
import XCTest
@testable import TensorFormats

final class JSONTests: XCTestCase {
    func testParsesNestedValuesInOrder() throws {
        let value = try JSON.parse(#"{"b": [1, -2.5e3, true, null], "a": {"x": "\u00e9\n\ud83d\ude00"}}"#)
        XCTAssertEqual(value.object?.map(\.0), ["b", "a"])
        XCTAssertEqual(value["b"]?.array?[0].int, 1)
        XCTAssertEqual(value["b"]?.array?[1].double, -2500)
        XCTAssertEqual(value["a"]?["x"]?.string, "é\n😀")
    }

    func testKeepsLargeIntegersExact() throws {
        XCTAssertEqual(try JSON.parse("[9007199254740993]").array?[0].int, 9_007_199_254_740_993)
    }

    func testRejectsWhatSerdeRejects() {
        for bad in ["{", "[1,]", "{\"a\" 1}", "01", "\"\\ud800\"", "\"a\u{01}\"", "[1] x", String(repeating: "[", count: 200)] {
            XCTAssertThrowsError(try JSON.parse(bad), bad)
        }
    }

    func testWritesStringsAsSerdeDoes() {
        XCTAssertEqual(JSON.string("é\"\\\n\u{01}\u{7F}").compactText, "\"é\\\"\\\\\\n\\u0001\u{7F}\"")
    }
}
