/// BPE merge rules: for a pair of adjacent token ids, the rank of their merge (lower merges first)
/// and the id of the merged token. Open addressing over 64-bit pair keys.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var ranks: [UInt32]
    private var merged: [Int32]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: size)
        ranks = [UInt32](repeating: 0, count: size)
        merged = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 { UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right)) }

    @inline(__always)
    private static func slot(_ key: UInt64) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h)
    }

    /// (rank, merged id) of the pair, or nil if the pair never merges.
    @inline(__always)
    func merge(_ left: Int32, _ right: Int32) -> (rank: UInt32, id: Int32)? {
        let key = Self.key(left, right)
        var slot = Self.slot(key) & mask
        while true {
            let k = keys[slot]
            if k == key { return (ranks[slot], merged[slot]) }
            if k == Self.empty { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// Every rule as (left, right), in rank order (the order of the merges file).
    var pairsInRankOrder: [(left: Int32, right: Int32)] {
        keys.indices.filter { keys[$0] != Self.empty }.sorted { ranks[$0] < ranks[$1] }
            .map { (Int32(bitPattern: UInt32(keys[$0] >> 32)), Int32(bitPattern: UInt32(truncatingIfNeeded: keys[$0]))) }
    }

    /// Adds a merge; the first rule for a pair wins (later duplicates are ignored, as the reference does).
    mutating func insert(_ left: Int32, _ right: Int32, rank: UInt32, id: Int32) {
        if (count + 1) * 2 > keys.count { grow() }
        let key = Self.key(left, right)
        var slot = Self.slot(key) & mask
        while keys[slot] != Self.empty {
            if keys[slot] == key { return }
            slot = (slot + 1) & mask
        }
        keys[slot] = key
        ranks[slot] = rank
        merged[slot] = id
        count += 1
    }

    private mutating func grow() {
        let old = (keys, ranks, merged)
        self = MergeTable(capacity: keys.count)
        for i in 0..<old.0.count where old.0[i] != Self.empty {
            insert(Int32(truncatingIfNeeded: old.0[i] >> 32), Int32(truncatingIfNeeded: old.0[i]), rank: old.1[i], id: old.2[i])
        }
    }
}
