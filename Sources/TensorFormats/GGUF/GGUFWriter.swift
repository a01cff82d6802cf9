import CKernels
import CkptSupport

/// A tensor to write into a GGUF file: its name, its type in the file, and the checkpoint tensor it
/// holds (as f32 values converted to the type), stored as it is or transposed (a 2-D source).
public struct GGUFOutgoingTensor {
    public let name: String
    public let type: GGUFTensorType
    /// Row-major shape in the file.
    public let shape: [Int]
    let transpose: Bool
    let source: () throws -> TensorView

    /// `source` gives the tensor when it is written (so that one tensor is in memory at a time).
    public init(name: String, type: GGUFTensorType, sourceShape: [Int], transpose: Bool, source: @escaping () throws -> TensorView) {
        precondition(!transpose || sourceShape.count == 2, "GGUFOutgoingTensor: only a matrix is transposed")
        shape = transpose ? sourceShape.reversed() : sourceShape
        precondition(type != .q8_0 || (shape.last ?? 1) % Q8_0.blockValues == 0, "GGUFOutgoingTensor: Q8_0 rows must hold whole blocks")
        (self.name, self.type, self.transpose, self.source) = (name, type, transpose, source)
    }

    /// Bytes in the file.
    var byteCount: Int { shape.reduce(1, *) / type.block.values * type.block.bytes }
}

/// Writes GGUF version 3 files as the `gguf` package's GGUFWriter lays them out: header, metadata
/// in the order given, tensor infos, the data section at the alignment (32 unless
/// `general.alignment` says otherwise), each tensor padded to it. Through a temporary file.
///
/// Tensors stream a piece of rows at a time: gathered (when transposed) and converted on `threads`
/// threads, written, and their source pages released, so memory stays near one piece.
public enum GGUFWriter {
    /// Values converted and written per step.
    static let pieceValues = 1 << 22

    public static func write(metadata: [(String, GGUFValue)], tensors: [GGUFOutgoingTensor], to path: String, overwrite: Bool,
                             threads: Int) throws {
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
        // A piece is whole rows: at most pieceValues values, or one row if longer; 4 bytes per value at most.
        let capacity = max(pieceValues, tensors.map { $0.shape.last ?? 1 }.max() ?? 1)
        let gathered = UnsafeMutableBufferPointer<Float>.allocate(capacity: capacity)
        let encoded = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 4, alignment: 64)
        defer { gathered.deallocate(); encoded.deallocate() }
        for tensor in tensors {
            let start = file.offset
            let view = try tensor.source()
            try withFloats(view) { values in
                let columns = tensor.shape.last ?? 1, rows = columns == 0 ? 0 : values.count / columns
                let rowsPerPiece = max(1, pieceValues / max(1, columns))
                for first in stride(from: 0, to: rows, by: rowsPerPiece) {
                    let last = min(rows, first + rowsPerPiece), count = (last - first) * columns
                    if tensor.transpose {
                        let piece = UnsafeMutableBufferPointer(rebasing: gathered[0..<count])
                        gatherColumns(values, sourceColumns: rows, columns: first..<last, into: piece, threads: threads)
                        try writePiece(UnsafeBufferPointer(piece), as: tensor.type, scratch: encoded, to: file, threads: threads)
                    } else {
                        let piece = UnsafeBufferPointer(rebasing: values[(first * columns)..<(last * columns)])
                        try writePiece(piece, as: tensor.type, scratch: encoded, to: file, threads: threads)
                        view.releasePages((first * columns * view.dtype.size)..<(last * columns * view.dtype.size))
                    }
                }
            }
            view.releasePages()
            precondition(file.offset - start == tensor.byteCount, "GGUFWriter: '\(tensor.name)' wrote the wrong number of bytes")
            try file.write([UInt8](repeating: 0, count: padded(tensor.byteCount, to: alignment) - tensor.byteCount))
        }
        try file.commit()
    }

    private static func padded(_ n: Int, to alignment: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    /// The view's elements as f32: the mapped bytes themselves when they are aligned f32, else a decoded copy.
    private static func withFloats(_ view: TensorView, _ body: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        let count = view.info.elementCount
        if view.dtype == .F32, count > 0, Int(bitPattern: view.bytes.baseAddress) % MemoryLayout<Float>.alignment == 0 {
            try body(UnsafeBufferPointer(start: view.bytes.baseAddress!.assumingMemoryBound(to: Float.self), count: count))
        } else {
            try view.floats().withUnsafeBufferPointer(body)
        }
    }

    /// Columns `columns` of the row-major matrix `values` (`sourceColumns` wide) as rows of `out`:
    /// rows of the transpose, in 32 × 32 tiles, the columns split over `threads`.
    private static func gatherColumns(_ values: UnsafeBufferPointer<Float>, sourceColumns: Int, columns: Range<Int>,
                                      into out: UnsafeMutableBufferPointer<Float>, threads: Int) {
        let sourceRows = values.count / max(1, sourceColumns)
        let source = UncheckedSendable(values), target = UncheckedSendable(out)
        Parallel.forEachPart(of: columns, threads: out.count >= 1 << 16 ? threads : 1) { part in
            for c0 in stride(from: part.lowerBound, to: part.upperBound, by: 32) {
                for r0 in stride(from: 0, to: sourceRows, by: 32) {
                    for c in c0..<min(c0 + 32, part.upperBound) {
                        let row = (c - columns.lowerBound) * sourceRows
                        for r in r0..<min(r0 + 32, sourceRows) { target.value[row + r] = source.value[r * sourceColumns + c] }
                    }
                }
            }
        }
    }

    /// Converts `values` to `type` in `scratch` (on `threads` threads for large pieces) and appends them to `file`.
    private static func writePiece(_ values: UnsafeBufferPointer<Float>, as type: GGUFTensorType, scratch: UnsafeMutableRawBufferPointer,
                                   to file: AtomicOutputFile, threads: Int) throws {
        let byteCount = values.count / type.block.values * type.block.bytes
        encode(values, as: type, into: scratch, threads: values.count >= 1 << 16 ? threads : 1)
        try file.write(UnsafeRawBufferPointer(rebasing: scratch[0..<byteCount]))
    }

    /// Values in the file's type: F32 as they are, F16 and BF16 rounded to nearest even, Q8_0 as ggml
    /// quantizes (`quantize_row_q8_0_ref`: d = max|x| / 127, q = roundf(x / d), d stored as f16).
    static func encode(_ values: UnsafeBufferPointer<Float>, as type: GGUFTensorType, into out: UnsafeMutableRawBufferPointer, threads: Int) {
        let blocks = values.count / type.block.values
        let input = UncheckedSendable(values.baseAddress!), output = UncheckedSendable(out.baseAddress!)
        Parallel.forEachPart(of: 0..<blocks, threads: threads) { part in
            let x = input.value + part.lowerBound * type.block.values, n = Int64(part.count)
            let o = output.value + part.lowerBound * type.block.bytes
            switch type {
            case .f32: o.copyMemory(from: x, byteCount: part.count * 4)
            case .f16: ckpt_to_f16(x, o.assumingMemoryBound(to: UInt16.self), n)
            case .bf16: ckpt_to_bf16(x, o.assumingMemoryBound(to: UInt16.self), n)
            case .q8_0: ckpt_quantize_q8_0(x, o.assumingMemoryBound(to: UInt8.self), n)
            }
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
