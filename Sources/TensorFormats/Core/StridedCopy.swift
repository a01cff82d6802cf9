/// Copies a strided view into C order.
enum StridedCopy {
    /// Fills `output` with the elements of the view of `source` that starts at element `offset`
    /// and steps `strides[i]` elements along axis `i`, in C order. Walks the output with an
    /// odometer over all axes but the last, copying each innermost row element by element. The
    /// caller must have checked that the view lies inside `source`.
    static func gather(from source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                       offset: Int, shape: [Int], strides: [Int], elementSize: Int) {
        guard output.count > 0 else { return }
        let shape = shape.isEmpty ? [1] : shape
        let strides = strides.isEmpty ? [1] : strides
        let inner = shape[shape.count - 1], innerStride = strides[strides.count - 1] * elementSize
        var index = [Int](repeating: 0, count: shape.count)
        var sourceOffset = offset * elementSize
        var outputOffset = 0
        while outputOffset < output.count {
            var from = sourceOffset
            for _ in 0..<inner {
                (output.baseAddress! + outputOffset).copyMemory(from: source.baseAddress! + from, byteCount: elementSize)
                outputOffset += elementSize
                from += innerStride
            }
            var axis = shape.count - 2
            while axis >= 0 {
                index[axis] += 1
                sourceOffset += strides[axis] * elementSize
                if index[axis] < shape[axis] { break }
                sourceOffset -= strides[axis] * elementSize * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
