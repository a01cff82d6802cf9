/// Turns bytes arriving in pieces (one token's bytes at a time) into text that can be printed at
/// once: everything but the bytes of a character still unfinished at the end, which wait for the
/// next piece. Invalid bytes are not held: they print as U+FFFD, as decoding the whole text would.
public struct UTF8Stream: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The text that `bytes` completes.
    public mutating func append(_ bytes: [UInt8]) -> String {
        pending += bytes
        let held = Self.unfinishedSuffix(pending)
        let ready = pending[..<(pending.count - held)]
        defer { pending.removeFirst(ready.count) }
        return String(decoding: ready, as: UTF8.self)
    }

    /// Whatever is still held (an unfinished character becomes U+FFFD).
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the trailing bytes that begin a multi-byte character and could still be completed.
    static func unfinishedSuffix(_ bytes: [UInt8]) -> Int {
        for back in 1...min(3, max(1, bytes.count)) where back <= bytes.count {
            let byte = bytes[bytes.count - back]
            if byte & 0xC0 == 0x80 { continue }  // a continuation byte: look further back
            let needed = byte >= 0xF0 && byte <= 0xF4 ? 4 : byte >= 0xE0 && byte < 0xF0 ? 3 : byte >= 0xC2 && byte < 0xE0 ? 2 : 1
            return needed > back ? back : 0
        }
        return 0
    }
}
