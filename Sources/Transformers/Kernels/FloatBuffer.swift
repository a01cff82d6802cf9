/// Scratch memory for one forward pass: `count` zeroed floats, 64-byte aligned, freed with the buffer.
/// Kernels take its pointer directly, with no copy-on-write or exclusivity checks in the way.
final class FloatBuffer: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        p = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(1, count))
        p.initialize(repeating: 0, count: max(1, count))
    }

    deinit { p.deallocate() }

    var array: [Float] { Array(UnsafeBufferPointer(start: p, count: count)) }
}
