import CkptSupport
import Foundation
import TensorFormats

/// Lines of text from files or stdin, split on "\n" bytes (a "\r" before it is dropped), decoded
/// as UTF-8 with invalid bytes replaced by U+FFFD — as Python's `errors="replace"` does.
struct InputLines {
    var lines: [String] = []
    /// 1-based numbers of lines that held invalid UTF-8.
    var invalidLines: [Int] = []

    /// Texts given as arguments: already valid Unicode, one per line whatever they hold.
    init(lines: [String]) { self.lines = lines }

    init(_ data: Data) {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var start = 0
            func take(_ end: Int) {
                var stop = end
                if stop > start && bytes[stop - 1] == 0x0D { stop -= 1 }
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<stop])
                if let valid = String(validating: slice, as: UTF8.self) {
                    lines.append(valid)
                } else {
                    lines.append(String(decoding: slice, as: UTF8.self))
                    invalidLines.append(lines.count)
                }
            }
            for i in 0..<bytes.count where bytes[i] == 0x0A {
                take(i)
                start = i + 1
            }
            if start < bytes.count { take(bytes.count) }
        }
    }

    /// `path` as messages name it ("-" is "<stdin>").
    static func displayName(_ path: String) -> String { path == "-" ? "<stdin>" : path }

    /// The lines of `path` ("-": stdin), warning on stderr (unless `quiet`) about invalid UTF-8.
    static func lines(of path: String, quiet: Bool) throws -> [String] {
        let input = InputLines(try read(path))
        if !input.invalidLines.isEmpty && !quiet {
            printError("warning: \(displayName(path)): \(input.invalidLines.count) line(s) held invalid UTF-8, replaced by U+FFFD (first: line \(input.invalidLines[0]))")
        }
        return input.lines
    }

    static func standardInput() -> InputLines { InputLines(FileHandle.standardInput.readDataToEndOfFile()) }

    /// All bytes of `path` ("-": stdin); works for pipes and devices as well as files.
    static func read(_ path: String) throws -> Data {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        guard !FileSystem.isDirectory(path), let handle = FileHandle(forReadingAtPath: path) else {
            throw FormatError(file: path, FileError.cannotOpen(reason: FileSystem.exists(path) ? "not a readable file" : "no such file"))
        }
        defer { try? handle.close() }
        return handle.readDataToEndOfFile()
    }
}

/// Buffered stdout for large outputs.
struct OutputBuffer {
    private var bytes: [UInt8] = []

    mutating func line(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(0x0A)
        if bytes.count > 1 << 20 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(bytes))
        bytes.removeAll(keepingCapacity: true)
    }
}
