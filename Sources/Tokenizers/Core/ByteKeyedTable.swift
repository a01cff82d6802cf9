/// A hash table from byte strings to integer values, for vocabularies: keys are compared as UTF-8
/// bytes (never as Swift `String`s, whose equality treats canonically equivalent text as equal),
/// and lookups take a byte buffer without building a key object.
struct ByteKeyedTable: Sendable {
    private var arena: [UInt8] = []
    /// Per slot: key offset in `arena` (or -1 when empty), key length, value.
    private var offsets: [Int32]
    private var lengths: [Int32]
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        offsets = [Int32](repeating: -1, count: size)
        lengths = [Int32](repeating: 0, count: size)
        values = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> Int {
        // FNV-1a over the bytes, then a final mix so that short keys spread over the slots.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// The value of `key`, or nil.
    @inline(__always)
    func value(_ key: UnsafeRawBufferPointer) -> Int32? {
        var slot = Self.hash(key) & mask
        return arena.withUnsafeBytes { arenaBytes in
            while true {
                let offset = offsets[slot]
                if offset < 0 { return nil }
                if Int(lengths[slot]) == key.count,
                   memcmpEqual(arenaBytes.baseAddress! + Int(offset), key.baseAddress, key.count) {
                    return values[slot]
                }
                slot = (slot + 1) & mask
            }
        }
    }

    func value(_ key: [UInt8]) -> Int32? { key.withUnsafeBytes { value($0) } }
    func value(_ key: String) -> Int32? { value(Array(key.utf8)) }

    /// Sets `key` to `value`; returns false (and changes nothing) if the key was present.
    @discardableResult
    mutating func insert(_ key: [UInt8], _ value: Int32) -> Bool {
        if (count + 1) * 2 > offsets.count { grow() }
        let hash = key.withUnsafeBytes { Self.hash($0) }
        var slot = hash & mask
        while offsets[slot] >= 0 {
            if Int(lengths[slot]) == key.count && arena[Int(offsets[slot])..<(Int(offsets[slot]) + key.count)].elementsEqual(key) {
                return false
            }
            slot = (slot + 1) & mask
        }
        offsets[slot] = Int32(arena.count)
        lengths[slot] = Int32(key.count)
        values[slot] = value
        arena.append(contentsOf: key)
        count += 1
        return true
    }

    private mutating func grow() {
        let old = (offsets, lengths, values, arena)
        self = ByteKeyedTable(capacity: offsets.count)
        for slot in 0..<old.0.count where old.0[slot] >= 0 {
            let start = Int(old.0[slot])
            insert(Array(old.3[start..<(start + Int(old.1[slot]))]), old.2[slot])
        }
    }
}

@inline(__always)
private func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer?, _ count: Int) -> Bool {
    guard count > 0, let b else { return true }
    for i in 0..<count where a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) {
        return false
    }
    return true
}
