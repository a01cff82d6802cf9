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

    /// The parameters one after another (row blocks of a stacked matrix).
    convenience init(stacking parts: [Parameter]) {
        self.init(parts.flatMap { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) })
    }

    deinit { pointer.deallocate() }

    var p: UnsafePointer<Float> { UnsafePointer(pointer) }
}
