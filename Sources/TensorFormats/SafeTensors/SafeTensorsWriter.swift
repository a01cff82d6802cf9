import CkptSupport
/// Writes safetensors files in the reference writer's layout: tensors ordered by descending
/// alignment class then by name (byte order), a compact JSON header with `__metadata__` first,
/// padded with spaces to a multiple of 8 bytes.
public enum SafeTensorsWriter {
    /// Writes `tensors` (and `metadata`, when not empty) to `path` through a temporary file.
    public static func write(_ tensors: [OutgoingTensor], metadata: [(String, String)], to path: String,
                             overwrite: Bool) throws {
        let output = try AtomicOutputFile(path: path, overwrite: overwrite)
        try write(tensors, metadata: metadata, into: output)
        try output.commit()
    }

    /// The order the reference writer lays tensors out in.
    static func referenceOrder(_ tensors: [OutgoingTensor]) -> [OutgoingTensor] {
        tensors.sorted { a, b in
            if a.info.dtype.safetensorsRank != b.info.dtype.safetensorsRank {
                return a.info.dtype.safetensorsRank > b.info.dtype.safetensorsRank
            }
            return a.info.name.utf8.lexicographicallyPrecedes(b.info.name.utf8)
        }
    }

    /// The header bytes (length prefix included) for tensors already in layout order.
    static func header(_ ordered: [TensorInfo], metadata: [(String, String)]) -> [UInt8] {
        var members: [(String, JSON)] = []
        if !metadata.isEmpty { members.append(("__metadata__", .object(metadata.map { ($0.0, .string($0.1)) }))) }
        var offset = 0
        for info in ordered {
            let end = offset + info.byteCount
            members.append((info.name, .object([
                ("dtype", .string(info.dtype.rawValue)),
                ("shape", .array(info.shape.map { .number(String($0)) })),
                ("data_offsets", .array([.number(String(offset)), .number(String(end))])),
            ])))
            offset = end
        }
        var json = Array(JSON.object(members).compactText.utf8)
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        return withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json
    }

    static func write(_ tensors: [OutgoingTensor], metadata: [(String, String)], into output: AtomicOutputFile) throws {
        let ordered = referenceOrder(tensors)
        try output.write(header(ordered.map(\.info), metadata: metadata))
        for tensor in ordered {
            try tensor.stream { try output.write($0) }
        }
    }
}
