import Kernels

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

    /// The transpose of `source` viewed as [rows, columns]: [columns, rows]. Copied in 32 × 32
    /// tiles, so that reads and writes both stay within cache lines already loaded.
    convenience init(transposing source: Parameter, rows: Int, columns: Int) {
        precondition(source.count == rows * columns, "Parameter(transposing:): \(source.count) values are not [\(rows), \(columns)]")
        self.init([Float](repeating: 0, count: rows * columns))
        let tile = 32
        for r0 in Swift.stride(from: 0, to: rows, by: tile) {
            for c0 in Swift.stride(from: 0, to: columns, by: tile) {
                for r in r0..<min(r0 + tile, rows) {
                    for c in c0..<min(c0 + tile, columns) { pointer[c * rows + r] = source.pointer[r * columns + c] }
                }
            }
        }
    }

    deinit { pointer.deallocate() }

    var p: UnsafePointer<Float> { UnsafePointer(pointer) }
}

extension LinearWeight {
    /// Packs a [outputs, inputs] parameter for the engine.
    convenience init(_ parameter: Parameter, outputs: Int, inputs: Int) {
        precondition(parameter.count == outputs * inputs, "LinearWeight: \(parameter.count) values are not [\(outputs), \(inputs)]")
        self.init(parameter.p, outputs: outputs, inputs: inputs)
    }
}

extension WeightSource {
    /// The [outputs, inputs] matrix `name` (an nn.Linear weight), packed for the engine.
    func linear(_ name: String, outputs: Int, inputs: Int) throws -> LinearWeight {
        LinearWeight(try tensor(name, [outputs, inputs]), outputs: outputs, inputs: inputs)
    }
}
