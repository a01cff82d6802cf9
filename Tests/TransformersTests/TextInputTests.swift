import CkptSupport
import XCTest
@testable import Transformers

final class TextInputTests: XCTestCase {
    func testCSVFollowsRFC4180Quoting() throws {
        let lines = ["label,text", "a,\"hello, world\"", "b,\"she said \"\"hi\"\"\"", "c,\"two", "lines\"", "d,plain"]
        XCTAssertEqual(try TextInput.texts(lines, format: .csv, column: "text"),
                       ["hello, world", "she said \"hi\"", "two\nlines", "plain"])
    }

    func testUnclosedQuoteNamesItsLine() {
        XCTAssertThrowsError(try TextInput.texts(["text", "ok", "\"never closed"], format: .csv, column: "text")) {
            XCTAssertEqual("\($0)", "line 3: a quoted field is never closed")
        }
    }

    func testTSVSplitsOnTabsWithoutQuoting() throws {
        XCTAssertEqual(try TextInput.table(["label\ttext", "x\t\"quoted\" stays", "y\t"], format: .tsv, columns: ["label", "text"]),
                       [["x", "\"quoted\" stays"], ["y", ""]])
        XCTAssertThrowsError(try TextInput.texts(["label\ttext", "only-label"], format: .tsv, column: "text")) {
            XCTAssertEqual("\($0)", "line 2 has no 'text' column")
        }
    }

    func testJSONLReadsTheNamedField() throws {
        XCTAssertEqual(try TextInput.texts(["{\"text\": \"é\"}", "", "{\"text\": \"b\", \"x\": 1}"], format: .jsonl, column: "text"), ["é", "b"])
        XCTAssertThrowsError(try TextInput.texts(["{\"text\": 3}"], format: .jsonl, column: "text")) {
            XCTAssertEqual("\($0)", "line 1 has no string field 'text'")
        }
    }
}
