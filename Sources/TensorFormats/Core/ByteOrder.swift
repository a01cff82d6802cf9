/// Big-endian data (an `.npy` with `>f4`, a checkpoint saved on a big-endian machine) made
/// little-endian in place.
enum ByteOrder {
    /// Reverses the bytes of each `elementSize`-byte element of `buffer`.
    static func swapElements(_ buffer: UnsafeMutableRawBufferPointer, elementSize: Int) {
        guard elementSize > 1 else { return }
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
}
