/// Turns `.npy` array data into a tensor view: little-endian C-order data is viewed in place;
/// big-endian data is byte-swapped and Fortran-order data reordered into a heap copy.
enum NPYData {
    static func view(name: String, header: NPYHeader, data: UnsafeRawBufferPointer, owner: AnyObject) -> TensorView {
        let info = TensorInfo(name: name, dtype: header.dtype, shape: header.shape)
        let reorder = header.fortranOrder && header.shape.count > 1 && info.elementCount > 0
        if !header.bigEndian && !reorder { return TensorView(info: info, bytes: data, owner: owner) }
        let copy = OwnedBytes(count: data.count)
        if reorder {
            copyFortranToC(data, into: copy.buffer, shape: header.shape, elementSize: header.dtype.size)
        } else {
            copy.buffer.copyMemory(from: data)
        }
        if header.bigEndian { swapBytes(copy.buffer, elementSize: header.dtype.size) }
        return TensorView(info: info, bytes: UnsafeRawBufferPointer(copy.buffer), owner: copy)
    }

    private static func swapBytes(_ buffer: UnsafeMutableRawBufferPointer, elementSize: Int) {
        var offset = 0
        while offset < buffer.count {
            var low = offset, high = offset + elementSize - 1
            while low < high {
                buffer.swapAt(low, high)
                low += 1
                high -= 1
            }
            offset += elementSize
        }
    }

    /// Walks the output in C order with an odometer over the indices, reading each element from
    /// its Fortran-order position (first axis fastest).
    private static func copyFortranToC(_ source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                       shape: [Int], elementSize: Int) {
        var fortranStrides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
        var index = [Int](repeating: 0, count: shape.count)
        var sourceElement = 0
        let count = output.count / elementSize
        for element in 0..<count {
            UnsafeMutableRawBufferPointer(rebasing: output[(element * elementSize)..<((element + 1) * elementSize)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(sourceElement * elementSize)..<((sourceElement + 1) * elementSize)]))
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                sourceElement += fortranStrides[axis]
                if index[axis] < shape[axis] { break }
                sourceElement -= fortranStrides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
