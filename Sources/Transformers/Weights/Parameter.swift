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

    /// The transpose of `source` viewed as [rows, columns]: [columns, rows].
    convenience init(transposing source: Parameter, rows: Int, columns: Int) {
        precondition(source.count == rows * columns, "Parameter(transposing:): \(source.count) values are not [\(rows), \(columns)]")
        var values = [Float](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { values[c * rows + r] = source.pointer[r * columns + c] }
        }
        self.init(values)
    }

    deinit { pointer.deallocate() }

    var p: UnsafePointer<Float> { UnsafePointer(pointer) }
}
