/// GPT-2's byte-to-character alphabet: every byte maps to a printable character, so that any byte
/// sequence is a string of vocabulary characters. Printable Latin-1 bytes map to themselves; the
/// 68 others (controls, space, NBSP, soft hyphen) to U+0100 and up, in byte order.
enum ByteLevel {
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
            if printable {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    static let scalarToByte: [UInt32: UInt8] = {
        var inverse: [UInt32: UInt8] = [:]
        for (byte, scalar) in byteToScalar.enumerated() { inverse[scalar] = UInt8(byte) }
        return inverse
    }()

    /// The vocabulary string of raw bytes.
    static func string(_ bytes: some Sequence<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar(byteToScalar[Int($0)])! }))
    }

    /// The raw bytes a vocabulary string stands for (nil if it holds a non-alphabet character).
    static func bytes(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        for scalar in token.unicodeScalars {
            guard let byte = scalarToByte[scalar.value] else { return nil }
            out.append(byte)
        }
        return out
    }
}
