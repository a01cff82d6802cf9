/// A weight tensor in f32, in memory the model owns (64-byte aligned, never moved), so kernels can
/// take its pointer for the model's lifetime.
final class Parameter: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(1, count))
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    deinit { pointer.deallocate() }

    var p: UnsafePointer<Float> { UnsafePointer(pointer) }
}
