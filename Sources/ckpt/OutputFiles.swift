import CkptSupport
import Foundation

/// Writes bytes to `path` by temporary file and rename, or to stdout when `path` is nil.
func writeOutput(_ bytes: [UInt8], to path: String?, overwrite: Bool) throws {
    guard let path else {
        FileHandle.standardOutput.write(Data(bytes))
        return
    }
    let file = try AtomicOutputFile(path: path, overwrite: overwrite)
    try file.write(bytes)
    try file.commit()
}

/// The extension of `path` after its last dot, lower-cased ("" when none).
func fileExtension(_ path: String) -> String {
    guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return "" }
    return path[path.index(after: dot)...].lowercased()
}

/// Nested JSON arrays of numbers: `values` laid out by `shape` (row-major), each number as `format` writes it.
func nestedJSON<T>(_ values: [T], shape: [Int], format: (T) -> String) -> String {
    guard let first = shape.first else { return values.first.map(format) ?? "[]" }
    if shape.count == 1 { return "[" + values.map(format).joined(separator: ",") + "]" }
    let inner = shape.dropFirst().reduce(1, *)
    return "[" + (0..<first).map { i in
        nestedJSON(Array(values[(i * inner)..<((i + 1) * inner)]), shape: Array(shape.dropFirst()), format: format)
    }.joined(separator: ",") + "]"
}
