#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Problems writing an output file.
public enum OutputError: Error, CustomStringConvertible, Sendable {
    case exists
    case cannotCreate(reason: String)
    case writeFailed(reason: String)
    case cannotRename(reason: String)

    public var description: String {
        switch self {
        case .exists: return "already exists"
        case .cannotCreate(let reason): return "cannot create: \(reason)"
        case .writeFailed(let reason): return "write failed: \(reason)"
        case .cannotRename(let reason): return "cannot move the finished file into place: \(reason)"
        }
    }
}

/// An output file written under a temporary name beside its destination and renamed into place by
/// `commit()`. Until then the destination is untouched; if the writer is dropped without a commit
/// (an error was thrown), the temporary file is removed — a failure never leaves a partial file.
public final class AtomicOutputFile {
    /// The path the file will have once committed.
    public let path: String
    private let temporaryPath: String
    private let descriptor: Int32
    private var committed = false
    /// Bytes written so far (the position of the next `write`).
    public private(set) var offset = 0

    /// Creates the temporary file. Throws `OutputError.exists` if `path` exists and `overwrite`
    /// is false.
    public init(path: String, overwrite: Bool) throws {
        self.path = path
        if !overwrite && access(path, F_OK) == 0 { throw FormatError(file: path, OutputError.exists) }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        temporaryPath = "\(directory).\(base).\(getpid()).ckpt-partial"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw FormatError(file: path, OutputError.cannotCreate(reason: String(cString: strerror(errno))))
        }
    }

    deinit {
        close(descriptor)
        if !committed { unlink(temporaryPath) }
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try pwriteAll(bytes, at: offset)
        offset += bytes.count
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Overwrites bytes already written at `position` (to patch a header once sizes are known).
    public func overwrite(_ bytes: [UInt8], at position: Int) throws {
        precondition(position + bytes.count <= offset, "overwrite past the written end")
        try bytes.withUnsafeBytes { try pwriteAll($0, at: position) }
    }

    private func pwriteAll(_ bytes: UnsafeRawBufferPointer, at position: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(position + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw FormatError(file: path, OutputError.writeFailed(reason: String(cString: strerror(errno))))
            }
            done += n
        }
    }

    /// Renames the finished file into place.
    public func commit() throws {
        guard rename(temporaryPath, path) == 0 else {
            throw FormatError(file: path, OutputError.cannotRename(reason: String(cString: strerror(errno))))
        }
        committed = true
    }
}
