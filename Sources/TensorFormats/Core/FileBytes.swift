import CkptSupport

/// A reader's bytes and what keeps them alive: a mapped file, or (for in-memory input, as the
/// fuzzers give) any owner.
struct FileBytes {
    let bytes: UnsafeRawBufferPointer
    let owner: AnyObject

    /// `path` mapped read-only.
    static func mapping(_ path: String) throws -> FileBytes {
        let file = try MappedFile(path: path)
        return FileBytes(bytes: file.bytes, owner: file)
    }

    /// `range` of the bytes.
    subscript(range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }

    /// Releases the pages under `range` when the bytes come from a mapped file.
    func releasePages(_ range: Range<Int>) { (owner as? MappedFile)?.dropPages(range) }
}

/// Heap memory that a tensor view owns (inflated, byte-swapped or reordered data).
final class OwnedBytes: @unchecked Sendable {
    /// Exactly the requested number of bytes, 64-byte aligned.
    let buffer: UnsafeMutableRawBufferPointer
    private let allocation: UnsafeMutableRawBufferPointer

    init(count: Int) {
        allocation = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 64)
        buffer = UnsafeMutableRawBufferPointer(rebasing: allocation[0..<count])
    }

    deinit { allocation.deallocate() }
}
