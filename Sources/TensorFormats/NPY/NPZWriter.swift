import CkptSupport
/// Writes `.npz` archives that NumPy's `np.load` reads: one `name.npy` member per tensor, with
/// the header `np.save` writes; stored like `np.savez` or deflated like `np.savez_compressed`.
///
/// bf16 has no NumPy type: it is written as a 2-byte void (`<V2`, the form an ml_dtypes bfloat16
/// array takes when NumPy saves it) and read back as bf16. float8 tensors are refused.
public enum NPZWriter {
    public static func write(_ tensors: [OutgoingTensor], to path: String, compress: Bool, overwrite: Bool) throws {
        let output = try AtomicOutputFile(path: path, overwrite: overwrite)
        try write(tensors, into: output, compress: compress)
        try output.commit()
    }

    static func write(_ tensors: [OutgoingTensor], into output: AtomicOutputFile, compress: Bool,
                      zip64Threshold: UInt64 = 0xFFFF_FFFF) throws {
        for tensor in tensors where NPYHeader.descr(for: tensor.info.dtype) == nil {
            throw FormatError(file: output.path, NPZError.unsupportedDType(tensor: tensor.info.name, tensor.info.dtype))
        }
        let zip = ZipWriter(output: output, zip64Threshold: zip64Threshold)
        for tensor in tensors {
            let header = NPYHeader.encode(dtype: tensor.info.dtype, descr: NPYHeader.descr(for: tensor.info.dtype)!,
                                          shape: tensor.info.shape)
            try zip.addMember(name: tensor.info.name + ".npy", deflate: compress) { emit in
                try header.withUnsafeBytes { try emit($0) }
                try tensor.stream(emit)
            }
        }
        try zip.finish()
    }
}
