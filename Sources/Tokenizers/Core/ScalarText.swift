/// Text as Unicode scalar values, each tagged with the index (in scalars) of the character of the
/// original text it came from. Normalizers rewrite it; offsets are read from the origins.
struct ScalarText {
    var scalars: [UInt32] = []
    var origins: [Int32] = []

    init() {}

    /// The scalars of `text`, numbered from 0, decoded straight from its UTF-8 storage.
    init(_ text: String) {
        load(text)
    }

    /// Replaces the contents with the scalars of `text`, keeping the storage's capacity.
    mutating func load(_ text: String) {
        scalars.removeAll(keepingCapacity: true)
        origins.removeAll(keepingCapacity: true)
        var text = text
        text.withUTF8 { bytes in
            scalars.reserveCapacity(bytes.count)
            origins.reserveCapacity(bytes.count)
            var i = 0
            var index: Int32 = 0
            let n = bytes.count
            while i < n {
                let lead = UInt32(bytes[i])
                var scalar: UInt32
                // A Swift String holds valid UTF-8, so continuation bytes need no checks.
                if lead < 0x80 {
                    scalar = lead
                    i += 1
                } else if lead < 0xE0 {
                    scalar = (lead & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
                    i += 2
                } else if lead < 0xF0 {
                    scalar = (lead & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
                    i += 3
                } else {
                    scalar = (lead & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                        | UInt32(bytes[i + 3] & 0x3F)
                    i += 4
                }
                scalars.append(scalar)
                origins.append(index)
                index += 1
            }
        }
    }

    /// The scalars of `range`, keeping their origins.
    init(_ other: ScalarText, _ range: Range<Int>) {
        scalars = Array(other.scalars[range])
        origins = Array(other.origins[range])
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
