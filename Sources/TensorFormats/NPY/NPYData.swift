/// Turns `.npy` array data into a tensor view: little-endian C-order data is viewed in place;
/// big-endian data is byte-swapped and Fortran-order data reordered into a heap copy.
enum NPYData {
    static func view(name: String, header: NPYHeader, data: UnsafeRawBufferPointer, owner: AnyObject) -> TensorView {
        let info = TensorInfo(name: name, dtype: header.dtype, shape: header.shape)
        if isInPlace(header) { return TensorView(info: info, bytes: data, owner: owner) }
        let reorder = header.fortranOrder && header.shape.count > 1 && info.elementCount > 0
        let copy = OwnedBytes(count: data.count)
        if reorder {
            copyFortranToC(data, into: copy.buffer, shape: header.shape, elementSize: header.dtype.size)
        } else {
            copy.buffer.copyMemory(from: data)
        }
        if header.bigEndian { ByteOrder.swapElements(copy.buffer, elementSize: header.dtype.size) }
        return TensorView(info: info, bytes: UnsafeRawBufferPointer(copy.buffer), owner: copy)
    }

    /// Whether the array's bytes are already little-endian C order (viewed in place, not copied).
    static func isInPlace(_ header: NPYHeader) -> Bool {
        !header.bigEndian && !(header.fortranOrder && header.shape.count > 1 && header.shape.reduce(1, *) > 0)
    }

    /// Fortran order is a strided view: the first axis steps by one element.
    private static func copyFortranToC(_ source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                                       shape: [Int], elementSize: Int) {
        var fortranStrides = [Int](repeating: 1, count: shape.count)
        for axis in 1..<shape.count { fortranStrides[axis] = fortranStrides[axis - 1] * shape[axis - 1] }
        StridedCopy.gather(from: source, into: output, offset: 0, shape: shape, strides: fortranStrides, elementSize: elementSize)
    }
}
