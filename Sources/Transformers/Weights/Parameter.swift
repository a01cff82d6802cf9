import Kernels
import TensorFormats

/// A weight tensor in f32, in memory the model owns (64-byte aligned, never moved), so kernels can
/// take its pointer for the model's lifetime.
final class Parameter: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ values: [Float]) {
        count = values.count
        pointer = Self.allocate(count)
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: count) }
    }

    /// The tensor's elements decoded to f32 straight into the parameter's memory, with no
    /// intermediate array (which for a token embedding held a second copy of the largest tensor),
    /// the view's mapped pages released as they are read.
    init(decoding view: TensorView) {
        count = view.info.elementCount
        pointer = Self.allocate(count)
        view.decode(into: UnsafeMutableBufferPointer(start: pointer, count: count))
    }

    private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * 4, alignment: 64).bindMemory(to: Float.self, capacity: max(1, count))
    }

    /// The parameters one after another (row blocks of a stacked matrix).
    convenience init(stacking parts: [Parameter]) {
        self.init(parts.flatMap { Array(UnsafeBufferPointer(start: $0.pointer, count: $0.count)) })
    }

    deinit { pointer.deallocate() }

    /// The values as an array.
    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    var p: UnsafePointer<Float> { UnsafePointer(pointer) }
}

extension LinearWeight {
    /// Packs a [outputs, inputs] parameter for products in `precision`.
    convenience init(_ parameter: Parameter, outputs: Int, inputs: Int, precision: Precision) {
        precondition(parameter.count == outputs * inputs, "LinearWeight: \(parameter.count) values are not [\(outputs), \(inputs)]")
        self.init(parameter.p, outputs: outputs, inputs: inputs, precision: precision)
    }
}
