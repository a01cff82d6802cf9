/// A problem found in a file: the file's path and the first rule it breaks.
///
/// Every file reader and writer of ckpt throws this, so a caller can print
/// `error: <file>: <problem>` without knowing which format was involved.
public struct FormatError: Error, CustomStringConvertible, Sendable {
    /// The file (or directory) the problem was found in.
    public let file: String
    /// What is wrong, as a per-format error enum (`SafeTensorsError`, `ZipError`, `NPYError`, …).
    public let problem: any Error & CustomStringConvertible & Sendable

    public init(file: String, _ problem: any Error & CustomStringConvertible & Sendable) {
        self.file = file
        self.problem = problem
    }

    public var description: String { "\(file): \(problem)" }
}

/// Runs `body`, attaching `file` to any error it throws that describes itself (per-format error
/// enums, JSON errors, tokenizer errors); a `FormatError` passes through unchanged.
@inline(__always) @discardableResult
public func attributing<T>(to file: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as FormatError {
        throw error
    } catch let error as any Error & CustomStringConvertible & Sendable {
        throw FormatError(file: file, error)
    }
}
