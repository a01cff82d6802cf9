/// The transpose of `values` viewed as [rows, columns]: [columns, rows]. Copied in 32 × 32 tiles,
/// so that reads and writes both stay within cache lines already loaded.
@inlinable
public func transposed<T>(_ values: [T], rows: Int, columns: Int) -> [T] {
    precondition(values.count == rows * columns, "transposed: \(values.count) values are not [\(rows), \(columns)]")
    var result = values
    for r0 in stride(from: 0, to: rows, by: 32) {
        for c0 in stride(from: 0, to: columns, by: 32) {
            for r in r0..<min(r0 + 32, rows) { for c in c0..<min(c0 + 32, columns) { result[c * rows + r] = values[r * columns + c] } }
        }
    }
    return result
}
