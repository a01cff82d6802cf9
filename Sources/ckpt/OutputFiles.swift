import CkptSupport
import Foundation

/// Writes bytes to `path` by temporary file and rename, or to stdout when `path` is nil.
func writeOutput(_ bytes: [UInt8], to path: String?, overwrite: Bool) throws {
    let output = try PiecewiseOutput(path: path, overwrite: overwrite)
    try output.write(bytes)
    try output.commit()
}

/// Output written a piece at a time: to `path` by temporary file and rename (`commit`), or to
/// stdout when `path` is nil.
final class PiecewiseOutput {
    private let file: AtomicOutputFile?

    init(path: String?, overwrite: Bool) throws {
        file = try path.map { try AtomicOutputFile(path: $0, overwrite: overwrite) }
    }

    func write(_ bytes: [UInt8]) throws {
        if let file { try file.write(bytes) } else { FileHandle.standardOutput.write(Data(bytes)) }
    }

    func commit() throws { try file?.commit() }
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
