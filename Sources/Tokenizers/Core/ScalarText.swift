/// Text as Unicode scalar values, each tagged with the index (in scalars) of the character of the
/// original text it came from. Normalizers rewrite it; offsets are read from the origins.
struct ScalarText {
    var scalars: [UInt32] = []
    var origins: [Int32] = []

    init() {}

    /// The scalars of `text` (already valid UTF-8), numbered from `firstIndex`.
    init(_ text: Substring.UnicodeScalarView, firstIndex: Int = 0) {
        scalars.reserveCapacity(text.count)
        origins.reserveCapacity(text.count)
        var index = Int32(firstIndex)
        for scalar in text {
            scalars.append(scalar.value)
            origins.append(index)
            index += 1
        }
    }

    var count: Int { scalars.count }

    mutating func append(_ scalar: UInt32, origin: Int32) {
        scalars.append(scalar)
        origins.append(origin)
    }
}

/// Appends the UTF-8 encoding of `scalar` to `bytes`.
@inline(__always)
func appendUTF8(_ scalar: UInt32, to bytes: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        bytes.append(UInt8(scalar))
    case 0x80..<0x800:
        bytes.append(UInt8(0xC0 | (scalar >> 6)))
        bytes.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        bytes.append(UInt8(0xE0 | (scalar >> 12)))
        bytes.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        bytes.append(UInt8(0xF0 | (scalar >> 18)))
        bytes.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        bytes.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        bytes.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}
