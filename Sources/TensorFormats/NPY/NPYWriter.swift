import CkptSupport
/// Writes one array as a `.npy` file with the header `np.save` writes (through a temporary file).
public enum NPYWriter {
    public static func write(_ values: [Float], shape: [Int], to path: String, overwrite: Bool) throws {
        precondition(Shape.elementCount(shape) == values.count, "NPYWriter: values do not fill the shape")
        let output = try AtomicOutputFile(path: path, overwrite: overwrite)
        try output.write(NPYHeader.encode(dtype: .F32, descr: "<f4", shape: shape))
        try values.withUnsafeBytes { try output.write($0) }
        try output.commit()
    }
}
