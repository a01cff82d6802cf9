import CkptSupport
import XCTest

/// `transpose` writes every element where the definition puts it, for shapes that are and are not
/// multiples of its 8 × 8 tiles, and for elements of each size the weights use.
final class TransposeTests: XCTestCase {
    func definition<T>(_ values: [T], rows: Int, columns: Int) -> [T] {
        (0..<(rows * columns)).map { i in values[(i % rows) * columns + i / rows] }
    }

    func testEveryElementLandsInItsTransposedPlace() {
        let shapes = (1...19).flatMap { rows in (1...19).map { (rows, $0) } } + [(64, 24), (24, 64), (768, 40), (33, 1025)]
        for (rows, columns) in shapes {
            let floats = (0..<(rows * columns)).map { Float($0) }
            XCTAssertEqual(transposed(floats, rows: rows, columns: columns), definition(floats, rows: rows, columns: columns), "\(rows) × \(columns)")
            let halves = floats.map { UInt16(Int($0) % 65_536) }, bytes = floats.map { Int8(truncatingIfNeeded: Int($0)) }
            XCTAssertEqual(transposed(halves, rows: rows, columns: columns), definition(halves, rows: rows, columns: columns))
            XCTAssertEqual(transposed(bytes, rows: rows, columns: columns), definition(bytes, rows: rows, columns: columns))
        }
        XCTAssertEqual(transposed([Float](), rows: 0, columns: 5), [])
    }
}
