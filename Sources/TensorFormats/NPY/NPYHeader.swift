/// The header of a `.npy` array: `\x93NUMPY`, version, header length (2 bytes in 1.0, 4 in 2.0
/// and 3.0), then a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`
/// padded with spaces and a newline.
struct NPYHeader: Equatable {
    var dtype: DType
    var bigEndian: Bool
    var fortranOrder: Bool
    var shape: [Int]
    /// Bytes before the array data: magic, version, length and dict.
    var headerSize: Int

    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    /// Bytes needed to learn the header's full size.
    static let preambleSize = 12

    /// The size of the whole header, from its first `preambleSize` bytes (or fewer, if the
    /// array is shorter — then it is truncated).
    static func headerSize(preamble: UnsafeRawBufferPointer) throws -> Int {
        guard preamble.count >= 10 else { throw NPYError.truncatedHeader(needed: 10, available: preamble.count) }
        guard preamble.prefix(6).elementsEqual(magic) else { throw NPYError.badMagic }
        let major = preamble[6], minor = preamble[7]
        guard (1...3).contains(major), minor == 0 else { throw NPYError.unsupportedVersion(major: major, minor: minor) }
        let length: Int
        let prefix: Int
        if major == 1 {
            length = Int(UInt16(preamble[8]) | UInt16(preamble[9]) << 8)
            prefix = 10
        } else {
            guard preamble.count >= 12 else { throw NPYError.truncatedHeader(needed: 12, available: preamble.count) }
            length = Int(UInt32(preamble[8]) | UInt32(preamble[9]) << 8 | UInt32(preamble[10]) << 16 | UInt32(preamble[11]) << 24)
            prefix = 12
        }
        guard length <= NPYError.maxHeaderLength else { throw NPYError.headerTooLarge(length: length) }
        return prefix + length
    }

    /// Parses a complete header (`bytes` holds at least `headerSize(preamble:)` bytes).
    init(_ bytes: UnsafeRawBufferPointer) throws {
        let size = try Self.headerSize(preamble: UnsafeRawBufferPointer(rebasing: bytes.prefix(Self.preambleSize)))
        guard bytes.count >= size else { throw NPYError.truncatedHeader(needed: size, available: bytes.count) }
        let dictStart = bytes[6] == 1 ? 10 : 12
        let dictBytes = UnsafeRawBufferPointer(rebasing: bytes[dictStart..<size])
        // Versions 1 and 2 are latin-1, version 3 UTF-8.
        let text: String
        if bytes[6] == 3 {
            guard let utf8 = String(validating: dictBytes, as: UTF8.self) else { throw NPYError.headerNotText }
            text = utf8
        } else {
            text = String(String.UnicodeScalarView(dictBytes.map { Unicode.Scalar($0) }))
        }
        var literal = PythonLiteral(text)
        let dict = try literal.parseHeaderDict()

        let descr = dict.descr
        if descr.contains("O") { throw NPYError.objectArray }
        guard let (dtype, bigEndian) = Self.dtype(fromDescr: descr) else { throw NPYError.unsupportedDType(descr) }
        guard Shape.byteCount(dict.shape, dtype) != nil else { throw NPYError.shapeOverflow }
        self.dtype = dtype
        self.bigEndian = bigEndian
        self.fortranOrder = dict.fortranOrder
        self.shape = dict.shape
        self.headerSize = size
    }

    init(dtype: DType, shape: [Int]) {
        self.dtype = dtype
        self.bigEndian = false
        self.fortranOrder = false
        self.shape = shape
        self.headerSize = 0
    }

    var dataSize: Int { Shape.byteCount(shape, dtype)! }

    /// NumPy's type string for `descr` → our dtype and whether the bytes are big-endian.
    /// `V2` (a 2-byte void, how NumPy saves an ml_dtypes bfloat16 array) reads as BF16.
    static func dtype(fromDescr descr: String) -> (DType, Bool)? {
        guard descr.count >= 3, let order = descr.first, "<>|=".contains(order) else { return nil }
        let code = String(descr.dropFirst())
        let table: [String: DType] = [
            "f2": .F16, "f4": .F32, "f8": .F64,
            "i1": .I8, "i2": .I16, "i4": .I32, "i8": .I64,
            "u1": .U8, "u2": .U16, "u4": .U32, "u8": .U64,
            "b1": .BOOL, "V2": .BF16,
        ]
        guard let dtype = table[code] else { return nil }
        return (dtype, order == ">" && dtype.size > 1)
    }

    /// The type string NumPy writes for `dtype` (nil for float8, which NumPy cannot hold).
    static func descr(for dtype: DType) -> String? {
        switch dtype {
        case .F16: return "<f2"
        case .F32: return "<f4"
        case .F64: return "<f8"
        case .BF16: return "<V2"
        case .I8: return "|i1"
        case .I16: return "<i2"
        case .I32: return "<i4"
        case .I64: return "<i8"
        case .U8: return "|u1"
        case .U16: return "<u2"
        case .U32: return "<u4"
        case .U64: return "<u8"
        case .BOOL: return "|b1"
        case .F8_E4M3, .F8_E5M2: return nil
        }
    }

    /// The header NumPy's `np.save` writes for a C-order little-endian array: the dict with room
    /// for the first axis to grow to 21 digits, padded so the data starts at a multiple of 64,
    /// version 1.0 unless the header needs 2.0's longer length field.
    static func encode(dtype: DType, descr: String, shape: [Int]) -> [UInt8] {
        let shapeText: String
        switch shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(shape[0]),)"
        default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        if let first = shape.first { dict += String(repeating: " ", count: max(0, 21 - String(first).count)) }
        var body = Array(dict.utf8)
        // NumPy pads by 64 − (prefix + length) mod 64: a full 64 spaces when already aligned.
        let length = body.count + 1  // the final newline
        let version1 = length + 64 - (10 + length) % 64 <= 65535
        let prefix = version1 ? 10 : 12
        let padding = 64 - (prefix + length) % 64
        body.append(contentsOf: repeatElement(UInt8(ascii: " "), count: padding))
        body.append(UInt8(ascii: "\n"))
        var header = magic + [version1 ? 1 : 2, 0]
        if version1 {
            header += [UInt8(body.count & 0xFF), UInt8(body.count >> 8)]
        } else {
            header += withUnsafeBytes(of: UInt32(body.count).littleEndian, Array.init)
        }
        return header + body
    }
}
