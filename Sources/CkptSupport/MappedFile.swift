#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Problems opening a file.
public enum FileError: Error, CustomStringConvertible, Sendable {
    case cannotOpen(reason: String)
    case isDirectory
    case cannotMap(reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let reason): return "cannot open: \(reason)"
        case .isDirectory: return "is a directory, not a file"
        case .cannotMap(let reason): return "cannot memory-map: \(reason)"
        }
    }
}

/// A whole file mapped read-only into memory, and kept open for `read`. Tensor views into it stay
/// valid while it lives.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened with.
    public let path: String
    /// The file's bytes (empty for an empty file).
    public let bytes: UnsafeRawBufferPointer
    private let descriptor: Int32

    /// Maps `path` read-only. Throws `FormatError` naming the path when it cannot.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError(file: path, FileError.cannotOpen(reason: String(cString: strerror(errno)))) }
        func failing(_ error: FileError) -> FormatError {
            close(fd)
            return FormatError(file: path, error)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failing(.cannotOpen(reason: String(cString: strerror(errno)))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw failing(.isDirectory) }
        let size = Int(info.st_size)
        descriptor = fd
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw failing(.cannotMap(reason: String(cString: strerror(errno))))
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
        close(descriptor)
    }

    /// Copies the file's bytes under `range` (of `bytes`) into `destination` with `pread`, not
    /// through the mapping: the pages read stay in the system's file cache and do not join this
    /// process's resident memory, which a mapped page and the neighbours the kernel maps around it
    /// (64 KB, or a large folio of the file cache, whatever `madvise` says) would. False if the
    /// file no longer holds those bytes (it was cut short after it was mapped, or cannot be read).
    public func read(_ range: Range<Int>, into destination: UnsafeMutableRawPointer) -> Bool {
        precondition(range.lowerBound >= 0 && range.upperBound <= bytes.count, "MappedFile.read: \(range) is outside the \(bytes.count) bytes mapped")
        var done = 0
        while done < range.count {
            let count = pread(descriptor, destination + done, range.count - done, off_t(range.lowerBound + done))
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            done += count
        }
        return true
    }

    /// Tells the kernel that the pages under `range` will not be read again soon, so they leave
    /// this process's resident memory (they are re-read from the file if touched again). Streaming
    /// converters call this after each tensor to keep peak memory near one tensor, not one model.
    public func dropPages(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(bytes.count, (range.upperBound + page - 1) / page * page)
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }
}
