import CkptSupport

/// A GGUF file (versions 2 and 3), mapped and validated when opened: the header, every metadata
/// key and value (arrays included), every tensor's name, dimensions, type and offset are checked
/// against the file before use, so later access cannot fail. F32, F16 and BF16 tensors are viewed in
/// place; Q8_0 tensors are dequantized to F32 when read (value = int8 × the block's f16 scale).
///
/// GGUF lists dimensions fastest-varying first (ggml's `ne`); `tensors` gives shapes in row-major
/// order, as the other formats do (a [vocab, hidden] embedding is `ne` = [hidden, vocab]).
public final class GGUFFile: TensorReader {
    public let path: String
    public var formatName: String { "gguf" }
    public let version: UInt32
    /// Metadata in file order.
    public let keyValues: [(key: String, value: GGUFValue)]
    public let alignment: Int
    public let tensors: [TensorInfo]
    private let storage: FileBytes
    private let entries: [String: (info: TensorInfo, type: GGUFTensorType, range: Range<Int>)]

    /// Each tensor's type as stored.
    public var storedTypes: [String: GGUFTensorType] { entries.mapValues(\.type) }

    public var metadata: [(String, String)] { keyValues.map { ($0.key, $0.value.summary) } }

    /// The value of `key`, if present.
    public subscript(key: String) -> GGUFValue? { keyValues.first { $0.key == key }?.value }

    public convenience init(path: String) throws { try self.init(path: path, storage: .mapping(path)) }

    init(path: String, storage: FileBytes) throws {
        self.path = path
        self.storage = storage
        let parsed = try attributing(to: path) { try GGUFLayout(storage.bytes) }
        version = parsed.version
        keyValues = parsed.keyValues
        alignment = parsed.alignment
        let infos = parsed.tensors.map { TensorInfo(name: $0.name, dtype: $0.type.dtype, shape: $0.shape) }
        tensors = infos
        entries = Dictionary(uniqueKeysWithValues: zip(infos, parsed.tensors).map { ($0.name, ($0, $1.type, $1.range)) })
    }

    /// Whether two tensors hold the same type, shape and stored bytes (compared as stored: no
    /// Q8_0 tensor is dequantized for it).
    public func storedAlike(_ a: String, _ b: String) -> Bool {
        guard let x = entries[a], let y = entries[b] else { return false }
        return x.type == y.type && x.info.shape == y.info.shape && storage[x.range].elementsEqual(storage[y.range])
    }

    public func tensor(named name: String) throws -> TensorView {
        guard let (info, type, range) = entries[name] else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        let bytes = storage[range]
        guard type == .q8_0 else { return TensorView(info: info, bytes: bytes, owner: storage.owner) }
        let owned = OwnedBytes(count: info.elementCount * 4)
        Q8_0.dequantize(bytes, into: owned.buffer.bindMemory(to: Float.self))
        return TensorView(info: info, bytes: UnsafeRawBufferPointer(owned.buffer), owner: owned)
    }
}

extension GGUFTensorType {
    /// The element type a reader sees: F32/F16/BF16 as stored, Q8_0 as its dequantized F32.
    var dtype: DType {
        switch self {
        case .f32, .q8_0: .F32
        case .f16: .F16
        case .bf16: .BF16
        }
    }
}

/// The parsed, validated structure of a GGUF file.
struct GGUFLayout {
    struct Tensor {
        var name: String
        var type: GGUFTensorType
        /// Row-major shape (GGUF's `ne` reversed).
        var shape: [Int]
        /// Bytes in the file.
        var range: Range<Int>
    }

    var version: UInt32
    var keyValues: [(key: String, value: GGUFValue)] = []
    var alignment = 32
    var tensors: [Tensor] = []

    static let magic: UInt32 = 0x4655_4747  // "GGUF" read as a little-endian u32
    static let maxDimensions: UInt32 = 4
    static let maxNesting = 8

    init(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= 24 else { throw GGUFError.fileTooSmall(size: bytes.count) }
        var cursor = GGUFCursor(bytes)
        guard try cursor.u32("magic") == Self.magic else { throw GGUFError.badMagic }
        version = try cursor.u32("version")
        // A big-endian file's version reads byte-swapped (3 as 0x03000000).
        if version & 0xFFFF == 0 && version != 0 { throw GGUFError.bigEndian }
        guard version == 2 || version == 3 else { throw GGUFError.unsupportedVersion(version) }
        let tensorCount = try cursor.u64("tensor count"), keyCount = try cursor.u64("metadata count")
        // Each tensor info takes at least 24 bytes and each key/value 12: counts that cannot fit are refused before any loop.
        try cursor.check(count: tensorCount, minimumSize: 24, what: "tensor")
        try cursor.check(count: keyCount, minimumSize: 12, what: "metadata")
        var keys = Set<String>()
        for _ in 0..<keyCount {
            let key = try cursor.string("metadata key")
            guard keys.insert(key).inserted else { throw GGUFError.duplicateKey(key) }
            let value = try cursor.value(key: key, typeCode: try cursor.u32("value type of '\(key)'"), depth: 0)
            keyValues.append((key, value))
        }
        if let value = keyValues.first(where: { $0.key == "general.alignment" })?.value {
            guard case .uint32(let a) = value else { throw GGUFError.badAlignment("must be a u32") }
            guard a > 0 && a & (a - 1) == 0 else { throw GGUFError.badAlignment("is \(a), not a power of two") }
            alignment = Int(a)
        }
        var infos: [(name: String, type: GGUFTensorType, shape: [Int], offset: UInt64, size: Int)] = []
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let name = try cursor.string("tensor name")
            guard names.insert(name).inserted else { throw GGUFError.duplicateTensor(name) }
            let dimensions = try cursor.u32("dimension count of '\(name)'")
            guard dimensions <= Self.maxDimensions else { throw GGUFError.tooManyDimensions(tensor: name, dimensions: dimensions) }
            var ne: [Int] = []
            for _ in 0..<dimensions {
                guard let n = Int(exactly: try cursor.u64("dimension of '\(name)'")) else { throw GGUFError.shapeOverflow(tensor: name) }
                ne.append(n)
            }
            let code = try cursor.u32("type of '\(name)'")
            guard let type = GGUFTensorType(rawValue: code) else {
                if let known = GGUFTensorType.otherNames[code] { throw GGUFError.unsupportedTensorType(tensor: name, type: known) }
                throw GGUFError.unknownTensorType(tensor: name, type: code)
            }
            let offset = try cursor.u64("data offset of '\(name)'")
            // Every product of the dimensions, in any order and as f32 bytes, must fit: a zero
            // dimension must not hide an overflow of the others (the view multiplies in its own order).
            let nonzero = ne.filter { $0 != 0 } + [4]
            guard Shape.elementCount(nonzero) != nil, let count = Shape.elementCount(ne) else { throw GGUFError.shapeOverflow(tensor: name) }
            if type == .q8_0 && (ne.first ?? 1) % type.block.values != 0 { throw GGUFError.blockMisfit(tensor: name, rowLength: ne.first ?? 1) }
            let (size, overflow) = (count / type.block.values).multipliedReportingOverflow(by: type.block.bytes)
            guard !overflow else { throw GGUFError.shapeOverflow(tensor: name) }
            guard offset % UInt64(alignment) == 0 else { throw GGUFError.misalignedOffset(tensor: name, offset: offset, alignment: alignment) }
            infos.append((name, type, Array(ne.reversed()), offset, size))
        }
        let dataStart = (cursor.offset + alignment - 1) / alignment * alignment
        let dataSize = max(0, bytes.count - dataStart)
        for info in infos {
            let (end, overflow) = info.offset.addingReportingOverflow(UInt64(info.size))
            guard !overflow && end <= UInt64(dataSize) else {
                throw GGUFError.tensorPastEnd(tensor: info.name, end: overflow ? .max : end, dataSize: dataSize)
            }
        }
        // Neighbours by offset must not overlap; the one listed later in the file is named first.
        let byOffset = infos.indices.sorted { (infos[$0].offset, infos[$0].size, $0) < (infos[$1].offset, infos[$1].size, $1) }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where infos[a].offset + UInt64(infos[a].size) > infos[b].offset {
            throw GGUFError.overlap(tensor: infos[max(a, b)].name, previous: infos[min(a, b)].name)
        }
        tensors = infos.map { info in
            let start = dataStart + Int(info.offset)
            return Tensor(name: info.name, type: info.type, shape: info.shape, range: start..<(start + info.size))
        }
    }
}

/// Reads little-endian values from untrusted bytes, every read checked against the end.
struct GGUFCursor {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    private mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard n >= 0 && n <= bytes.count - offset else { throw GGUFError.truncated(what: what(), offset: offset) }
        defer { offset += n }
        return UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
    }

    mutating func load<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        T(littleEndian: try take(MemoryLayout<T>.size, what()).loadUnaligned(as: T.self))
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 { try load(UInt32.self, what()) }
    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 { try load(UInt64.self, what()) }

    /// Refuses a count of items of at least `minimumSize` bytes each that the rest of the file cannot hold.
    func check(count: UInt64, minimumSize: Int, what: String) throws {
        let remaining = bytes.count - offset
        guard count <= UInt64(remaining / max(1, minimumSize)) else { throw GGUFError.countTooLarge(what: what, count: count, remaining: remaining) }
    }

    mutating func string(_ what: @autoclosure () -> String) throws -> String {
        let length = try u64("length of \(what())")
        guard length <= UInt64(bytes.count - offset) else { throw GGUFError.truncated(what: what(), offset: offset) }
        let raw = try take(Int(length), what())
        guard let text = String(validating: raw, as: UTF8.self) else { throw GGUFError.notUTF8(what: what()) }
        return text
    }

    mutating func value(key: String, typeCode: UInt32, depth: Int) throws -> GGUFValue {
        guard let type = GGUFValueType(rawValue: typeCode) else { throw GGUFError.unknownValueType(key: key, type: typeCode) }
        let what = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try load(UInt8.self, what))
        case .int8: return .int8(try load(Int8.self, what))
        case .uint16: return .uint16(try load(UInt16.self, what))
        case .int16: return .int16(try load(Int16.self, what))
        case .uint32: return .uint32(try load(UInt32.self, what))
        case .int32: return .int32(try load(Int32.self, what))
        case .uint64: return .uint64(try load(UInt64.self, what))
        case .int64: return .int64(try load(Int64.self, what))
        case .float32: return .float32(Float(bitPattern: try load(UInt32.self, what)))
        case .float64: return .float64(Double(bitPattern: try load(UInt64.self, what)))
        case .bool: return .bool(try load(UInt8.self, what) != 0)
        case .string: return .string(try string(what))
        case .array:
            guard depth < GGUFLayout.maxNesting else { throw GGUFError.nestingTooDeep(key: key) }
            let itemCode = try u32("array type of '\(key)'")
            guard let itemType = GGUFValueType(rawValue: itemCode) else { throw GGUFError.unknownValueType(key: key, type: itemCode) }
            let count = try u64("array length of '\(key)'")
            try check(count: count, minimumSize: itemType.minimumSize, what: "array '\(key)'")
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count { items.append(try value(key: key, typeCode: itemCode, depth: depth + 1)) }
            return .array(itemType, items)
        }
    }
}

/// ggml's Q8_0: blocks of 32 values, each block an f16 scale d then 32 int8 q; value = q × d.
enum Q8_0 {
    static let blockValues = 32, blockBytes = 34

    /// Dequantizes whole blocks of `bytes` into `out` (32 values per 34 bytes).
    static func dequantize(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(bytes.count / blockBytes * blockValues == out.count, "Q8_0: blocks do not fill the output")
        for block in 0..<(bytes.count / blockBytes) {
            let base = block * blockBytes
            let scale = FloatBits.float(fromHalf: UInt16(bytes[base]) | UInt16(bytes[base + 1]) << 8)
            for i in 0..<blockValues {
                out[block * blockValues + i] = Float(Int8(bitPattern: bytes[base + 2 + i])) * scale
            }
        }
    }
}
