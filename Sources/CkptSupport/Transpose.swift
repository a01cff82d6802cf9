/// The transpose of `values` viewed as [rows, columns]: [columns, rows] (see `transpose`).
@inlinable
public func transposed<T: BitwiseCopyable>(_ values: [T], rows: Int, columns: Int) -> [T] {
    precondition(values.count == rows * columns, "transposed: \(values.count) values are not [\(rows), \(columns)]")
    guard !values.isEmpty else { return values }
    var result = values
    values.withUnsafeBufferPointer { source in
        result.withUnsafeMutableBufferPointer { transpose(source.baseAddress!, rows: rows, columns: columns, into: $0.baseAddress!) }
    }
    return result
}

/// Writes the transpose of `source` [rows, columns] into `output` [columns, rows], an 8 × 8 tile
/// at a time: each output row's piece of a tile is written as one run of 8 from the 8 source rows,
/// whose lines stay in cache for the tile's 8 columns. (32 × 32 tiles copied element by element
/// wrote 32 lines a row apart, which share a cache set where a row is a multiple of 4 KB: 5× as
/// slow on GPT-2's [3072, 768] weights.)
@inlinable
public func transpose<T: BitwiseCopyable>(_ source: UnsafePointer<T>, rows: Int, columns: Int, into output: UnsafeMutablePointer<T>) {
    let tile = 8
    for r0 in stride(from: 0, to: rows, by: tile) {
        let height = min(tile, rows - r0)
        for c0 in stride(from: 0, to: columns, by: tile) {
            let width = min(tile, columns - c0)
            for c in 0..<width {
                let o = output + (c0 + c) * rows + r0, s = source + r0 * columns + c0 + c
                if height == tile {
                    o[0] = s[0]; o[1] = s[columns]; o[2] = s[2 * columns]; o[3] = s[3 * columns]
                    o[4] = s[4 * columns]; o[5] = s[5 * columns]; o[6] = s[6 * columns]; o[7] = s[7 * columns]
                } else {
                    for r in 0..<height { o[r] = s[r * columns] }
                }
            }
        }
    }
}
