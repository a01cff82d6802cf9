import CkptSupport

/// A tensor to write into a GGUF file: its name, its type in the file, its row-major shape, and a
/// function that hands its f32 values (row-major) to `emit` in pieces of whole rows.
public struct GGUFOutgoingTensor {
    public let name: String
    public let type: GGUFTensorType
    public let shape: [Int]
    public let values: (_ emit: ([Float]) throws -> Void) throws -> Void

    public init(name: String, type: GGUFTensorType, shape: [Int], values: @escaping (_ emit: ([Float]) throws -> Void) throws -> Void) {
        precondition(type != .q8_0 || (shape.last ?? 1) % Q8_0.blockValues == 0, "GGUFOutgoingTensor: Q8_0 rows must hold whole blocks")
        (self.name, self.type, self.shape, self.values) = (name, type, shape, values)
    }

    /// Bytes in the file.
    var byteCount: Int { shape.reduce(1, *) / type.block.values * type.block.bytes }
}

/// Writes GGUF version 3 files as the `gguf` package's GGUFWriter lays them out: header, metadata
/// in the order given, tensor infos, the data section at the alignment (32 unless
/// `general.alignment` says otherwise), each tensor padded to it. Through a temporary file.
public enum GGUFWriter {
    public static func write(metadata: [(String, GGUFValue)], tensors: [GGUFOutgoingTensor], to path: String, overwrite: Bool) throws {
        let alignment = metadata.first { $0.0 == "general.alignment" }?.1.int ?? 32
        var head = GGUFBytes()
        head.u32(GGUFLayout.magic)
        head.u32(3)
        head.u64(UInt64(tensors.count))
        head.u64(UInt64(metadata.count))
        for (key, value) in metadata {
            head.string(key)
            head.value(value)
        }
        var offset = 0
        for tensor in tensors {
            head.string(tensor.name)
            head.u32(UInt32(tensor.shape.count))
            for dimension in tensor.shape.reversed() { head.u64(UInt64(dimension)) }
            head.u32(tensor.type.rawValue)
            head.u64(UInt64(offset))
            offset += padded(tensor.byteCount, to: alignment)
        }
        head.bytes += [UInt8](repeating: 0, count: padded(head.bytes.count, to: alignment) - head.bytes.count)
        let file = try AtomicOutputFile(path: path, overwrite: overwrite)
        try file.write(head.bytes)
        for tensor in tensors {
            let start = file.offset
            try tensor.values { rows in try file.write(encode(rows, as: tensor.type)) }
            precondition(file.offset - start == tensor.byteCount, "GGUFWriter: '\(tensor.name)' emitted the wrong number of values")
            try file.write([UInt8](repeating: 0, count: padded(tensor.byteCount, to: alignment) - tensor.byteCount))
        }
        try file.commit()
    }

    private static func padded(_ n: Int, to alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// Values in the file's type: F32 as they are, F16 and BF16 rounded to nearest even, Q8_0 as ggml
    /// quantizes (`quantize_row_q8_0_ref`: d = max|x| / 127, q = roundf(x / d), d stored as f16).
    static func encode(_ values: [Float], as type: GGUFTensorType) -> [UInt8] {
        switch type {
        case .f32:
            return values.withUnsafeBytes { Array($0) }
        case .f16, .bf16:
            // Two bytes per value, little-endian, written straight into the output.
            return [UInt8](unsafeUninitializedCapacity: values.count * 2) { buffer, count in
                for (i, value) in values.enumerated() {
                    let bits = type == .f16 ? FloatBits.half(from: value) : FloatBits.bfloat16(from: value)
                    buffer[2 * i] = UInt8(truncatingIfNeeded: bits)
                    buffer[2 * i + 1] = UInt8(truncatingIfNeeded: bits >> 8)
                }
                count = values.count * 2
            }
        case .q8_0:
            var out = [UInt8]()
            out.reserveCapacity(values.count / Q8_0.blockValues * Q8_0.blockBytes)
            for start in stride(from: 0, to: values.count, by: Q8_0.blockValues) {
                let block = values[start..<(start + Q8_0.blockValues)]
                let d = block.reduce(Float(0)) { max($0, abs($1)) } / 127
                let inverse: Float = d == 0 ? 0 : 1 / d
                let scale = FloatBits.half(from: d)
                out.append(UInt8(scale & 0xFF))
                out.append(UInt8(scale >> 8))
                for x in block { out.append(UInt8(bitPattern: Int8((x * inverse).rounded()))) }
            }
            return out
        }
    }
}

/// Little-endian GGUF encoding of header fields and metadata values.
struct GGUFBytes {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += s.utf8
    }

    mutating func value(_ value: GGUFValue) {
        u32(value.type.rawValue)
        payload(value)
    }

    private mutating func payload(_ value: GGUFValue) {
        switch value {
        case .uint8(let v): bytes.append(v)
        case .int8(let v): bytes.append(UInt8(bitPattern: v))
        case .uint16(let v): withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        case .int16(let v): withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        case .uint32(let v): u32(v)
        case .int32(let v): withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        case .uint64(let v): u64(v)
        case .int64(let v): withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        case .float32(let v): u32(v.bitPattern)
        case .float64(let v): u64(v.bitPattern)
        case .bool(let v): bytes.append(v ? 1 : 0)
        case .string(let s): string(s)
        case .array(let type, let items):
            u32(type.rawValue)
            u64(UInt64(items.count))
            for item in items { payload(item) }
        }
    }
}

extension GGUFValue {
    /// The value's GGUF type.
    var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .uint64: .uint64
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .bool: .bool
        case .string: .string
        case .array: .array
        }
    }
}
