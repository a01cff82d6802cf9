import CkptSupport
/// Writes one array as a `.npy` file with the header `np.save` writes (through a temporary file).
public enum NPYWriter {
    public static func write(_ values: [Float], shape: [Int], to path: String, overwrite: Bool) throws {
        precondition(Shape.elementCount(shape) == values.count, "NPYWriter: values do not fill the shape")
        try write(shape: shape, to: path, overwrite: overwrite) { emit in try values.withUnsafeBytes { try emit($0) } }
    }

    /// Writes a float32 array of `shape` whose bytes `body` hands to `emit` piece by piece (little-endian,
    /// row-major), so that large arrays stream from their sources. Nothing is left at `path` if `body`
    /// throws or emits a different number of bytes than the shape holds.
    public static func write(shape: [Int], to path: String, overwrite: Bool,
                             _ body: (_ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let output = try AtomicOutputFile(path: path, overwrite: overwrite)
        let header = NPYHeader.encode(dtype: .F32, descr: "<f4", shape: shape)
        try output.write(header)
        try body { try output.write($0) }
        precondition(output.offset == header.count + 4 * (Shape.elementCount(shape) ?? -1), "NPYWriter: the bytes emitted do not fill the shape")
        try output.commit()
    }
}
