import CkptSupport
/// A tensor's name, element type and shape: what a file's header says, before any data is read.
public struct TensorInfo: Equatable, Sendable {
    public var name: String
    public var dtype: DType
    public var shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Number of elements (1 for a 0-d tensor, 0 for an empty one).
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of the tensor's data.
    public var byteCount: Int { elementCount * dtype.size }
}

/// A tensor's data as little-endian, C-order bytes, with what keeps those bytes alive.
///
/// For safetensors and stored npz members the bytes are a zero-copy view into the mapped file;
/// inflated, byte-swapped or Fortran-order data is materialised on the heap.
public struct TensorView: @unchecked Sendable {
    public let info: TensorInfo
    /// Exactly `info.byteCount` bytes.
    public let bytes: UnsafeRawBufferPointer
    let owner: AnyObject

    init(info: TensorInfo, bytes: UnsafeRawBufferPointer, owner: AnyObject) {
        precondition(bytes.count == info.byteCount, "TensorView: byte count does not match the shape")
        self.info = info
        self.bytes = bytes
        self.owner = owner
    }

    public var name: String { info.name }
    public var dtype: DType { info.dtype }
    public var shape: [Int] { info.shape }
    /// Whether the bytes are a mapped file's own pages (a zero-copy view), not data on the heap.
    public var isMapped: Bool { owner is MappedFile }

    /// The elements as f32 (see `ElementConversion.decode` for the rounding of wide types), read
    /// as `readReleasingPages` reads them.
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
            decode(into: buffer)
            count = info.elementCount
        }
    }

    /// The elements decoded to f32 into `output` (at least `info.elementCount` floats), as
    /// `floats()` decodes them; `buffer` as `readReleasingPages` takes it.
    public func decode(into output: UnsafeMutableBufferPointer<Float>, buffer: UnsafeMutableRawPointer? = nil) {
        precondition(output.count >= info.elementCount, "TensorView.decode: the output holds fewer floats than the tensor")
        guard info.dtype != .F32 else {
            // Stored as decoded: copied straight into the output, not through a chunk.
            if !bytes.isEmpty { copyBytes(0..<bytes.count, into: output.baseAddress!) }
            return releasePages()
        }
        readReleasingPages(buffer: buffer) { elements, bytes in
            ElementConversion.decode(bytes, as: info.dtype, into: UnsafeMutableBufferPointer(rebasing: output[elements]))
        }
    }

    /// The elements as they are stored, read as T (of the dtype's size: Int8 for I8, UInt16 for
    /// BF16 bits) with `copyBytes`, not through a mapping; a file's bytes need not be aligned for T.
    public func elements<T>(as type: T.Type) -> [T] {
        precondition(MemoryLayout<T>.size == info.dtype.size, "TensorView.elements: \(T.self) is not \(info.dtype.rawValue)'s size")
        let count = info.elementCount
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 { copyBytes(0..<bytes.count, into: buffer.baseAddress!) }
            initialized = count
        }
    }

    /// The most bytes `readReleasingPages` reads at a time: what its `buffer` must hold.
    public var chunkBytes: Int { min(info.elementCount, ElementConversion.chunk) * info.dtype.size }

    /// Runs `body` on the elements a million at a time (each chunk's range of elements and its
    /// bytes). A mapped file's chunks are copied with `copyBytes` into `buffer` (at least
    /// `chunkBytes`; nil: memory allocated for the call), not read through the mapping: a
    /// fault there maps neighbouring pages too (64 KB, or a large folio of the file cache), which
    /// releasing the tensor's own pages leaves resident. Pages of a chunk that were mapped all the
    /// same (touched before) are released after `body`.
    public func readReleasingPages(buffer: UnsafeMutableRawPointer? = nil, _ body: (Range<Int>, UnsafeRawBufferPointer) throws -> Void) rethrows {
        let count = info.elementCount, size = info.dtype.size, chunk = ElementConversion.chunk
        let allocated = isMapped && buffer == nil ? UnsafeMutableRawPointer.allocate(byteCount: max(1, chunkBytes), alignment: 64) : nil
        defer { allocated?.deallocate() }
        let copy = isMapped ? buffer ?? allocated : nil
        var start = 0
        while start < count {
            let elements = start ..< min(count, start + chunk), read = (elements.lowerBound * size) ..< (elements.upperBound * size)
            if let copy {
                copyBytes(read, into: copy)
                try body(elements, UnsafeRawBufferPointer(start: copy, count: read.count))
                releasePages(read)
            } else {
                try body(elements, UnsafeRawBufferPointer(rebasing: bytes[read]))
            }
            start = elements.upperBound
        }
    }

    /// Lets the operating system drop the pages under `byteRange` of this view (all of it by
    /// default) from memory when they come from a mapped file; a no-op for heap data. The view
    /// stays valid: touching those bytes again re-reads the file.
    public func releasePages(_ byteRange: Range<Int>? = nil) {
        guard let (file, range) = fileRange(byteRange ?? 0..<bytes.count) else { return }
        file.dropPages(range)
    }

    /// Copies the bytes under `byteRange` of this view into `destination`: from a mapped file with
    /// `MappedFile.read`, so that a table read a few rows at a time (a token table) does not bring
    /// its pages into this process's resident memory. A file cut short since it was mapped stops
    /// the process with a message naming it: the bytes it held are gone.
    public func copyBytes(_ byteRange: Range<Int>, into destination: UnsafeMutableRawPointer) {
        precondition(byteRange.lowerBound >= 0 && byteRange.upperBound <= bytes.count, "TensorView.copyBytes: \(byteRange) is outside the tensor")
        guard let (file, range) = fileRange(byteRange) else {
            return destination.copyMemory(from: bytes.baseAddress! + byteRange.lowerBound, byteCount: byteRange.count)
        }
        guard file.read(range, into: destination) else {
            fatalError("\(file.path): the file changed or became unreadable while tensor '\(name)' was in use")
        }
    }

    /// The mapped file under this view and the range of its bytes under `byteRange` of the view; nil for heap data.
    private func fileRange(_ byteRange: Range<Int>) -> (MappedFile, Range<Int>)? {
        guard let file = owner as? MappedFile, let base = file.bytes.baseAddress, let start = bytes.baseAddress else { return nil }
        let offset = start - base
        return (file, (offset + byteRange.lowerBound) ..< (offset + byteRange.upperBound))
    }
}
