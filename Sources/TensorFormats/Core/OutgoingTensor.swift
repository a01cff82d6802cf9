import CkptSupport

/// A tensor to be written: its entry (name, element type, shape) and a producer that hands the
/// writer its `info.byteCount` bytes in order, in as many chunks as it likes, so that a converted
/// tensor never has to exist whole in memory.
public struct OutgoingTensor {
    public let info: TensorInfo
    public let produce: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void

    public init(info: TensorInfo, produce: @escaping (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) {
        self.info = info
        self.produce = produce
    }

    /// A tensor whose bytes are already in memory.
    public init(_ view: TensorView) {
        self.init(info: view.info) { emit in try emit(view.bytes) }
    }

    /// Runs the producer, checking it hands over exactly `info.byteCount` bytes.
    func stream(_ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var total = 0
        try produce { chunk in
            total += chunk.count
            try emit(chunk)
        }
        precondition(total == info.byteCount, "tensor '\(info.name)' produced \(total) bytes, expected \(info.byteCount)")
    }
}
