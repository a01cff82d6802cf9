#if canImport(Glibc)
import Glibc
#endif

/// Scratch memory for one forward pass: `count` zeroed floats, 64-byte aligned, freed with the buffer.
/// Kernels take its pointer directly, with no copy-on-write or exclusivity checks in the way.
///
/// Buffers of a megabyte or more are mapped from the kernel (zeroed pages, page-aligned) and
/// unmapped when freed. Through malloc, the activations of batches encoded side by side stayed in
/// each thread's arena between batches: 408 MB peak instead of 282 MB for two 32 × 128-token
/// batches of MiniLM.
package final class FloatBuffer: @unchecked Sendable {
    package let p: UnsafeMutablePointer<Float>
    package let count: Int
    /// The kernel mapping behind `p` (from its start, which huge-page alignment may move `p` past).
    private let mapping: (start: UnsafeMutableRawPointer, bytes: Int)?

    private static let mapThreshold = 1 << 20
    private static let hugePageBytes = 1 << 21

    /// `hugePages`: back a mapping with 2 MB pages where the kernel allows (transparent huge pages,
    /// in madvise mode too), for a large buffer read with long strides, such as the key-value cache.
    package init(_ count: Int, hugePages: Bool = false) {
        self.count = count
        let bytes = max(1, count) * 4
        let alignment = hugePages ? Self.hugePageBytes : 0
        if bytes >= Self.mapThreshold,
           let mapped = mmap(nil, bytes + alignment, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED {
            // A huge page needs a 2 MB-aligned address: map 2 MB more and start at the first boundary.
            let start = hugePages ? mapped.alignedUp(toMultipleOf: alignment) : mapped
            if hugePages { _ = madvise(start, bytes, MADV_HUGEPAGE) }
            p = start.bindMemory(to: Float.self, capacity: max(1, count))
            mapping = (mapped, bytes + alignment)
        } else {
            p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64).bindMemory(to: Float.self, capacity: max(1, count))
            p.initialize(repeating: 0, count: max(1, count))
            mapping = nil
        }
    }

    deinit {
        if let mapping { munmap(mapping.start, mapping.bytes) } else { p.deallocate() }
    }

    package var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
}
