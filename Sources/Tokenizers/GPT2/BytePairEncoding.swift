/// Byte-level byte-pair encoding (GPT-2, RoBERTa): a piece's bytes start as one token each, then
/// adjacent pairs merge by rank — lowest rank first, leftmost first among equals — until no pair
/// has a rule. A heap keeps each merge O(log n), so a piece of a million characters costs about
/// n log n, not n².
final class BytePairEncoding: Sendable {
    let vocabulary: Vocabulary
    let merges: MergeTable
    /// Token id of each single byte (its byte-level character), -1 when the vocabulary lacks it.
    let byteIDs: [Int32]
    let unknownID: Int32?
    /// Words found whole in the vocabulary skip merging (the `ignore_merges` option).
    let ignoreMerges: Bool

    init(vocabulary: Vocabulary, merges: MergeTable, unknownToken: String?, ignoreMerges: Bool) throws {
        self.vocabulary = vocabulary
        self.merges = merges
        self.ignoreMerges = ignoreMerges
        byteIDs = (0..<256).map { vocabulary.id(ByteLevel.string([UInt8($0)])) ?? -1 }
        if let unknownToken {
            guard let id = vocabulary.id(unknownToken) else { throw TokenizerError.missingToken(unknownToken) }
            unknownID = id
        } else {
            unknownID = nil
        }
    }

    /// Builds the merge table from `(left, right)` token strings in rank order.
    static func mergeTable(_ pairs: [(String, String)], vocabulary: Vocabulary) throws -> MergeTable {
        var table = MergeTable(capacity: pairs.count)
        for (rank, (left, right)) in pairs.enumerated() {
            guard let a = vocabulary.id(left), let b = vocabulary.id(right) else {
                throw TokenizerError.invalidMerges("merge \(rank + 1) ('\(left) \(right)') uses a token missing from the vocabulary")
            }
            guard let merged = vocabulary.id(left + right) else {
                throw TokenizerError.invalidMerges("merge \(rank + 1) ('\(left) \(right)') makes '\(left + right)', which is not in the vocabulary")
            }
            table.insert(a, b, rank: UInt32(rank), id: merged)
        }
        return table
    }

    /// Scratch space for one thread: symbol lists, the heap and a cache of recent pieces. A struct
    /// passed `inout`, so that its arrays are checked for exclusive access at compile time rather
    /// than on every element access.
    struct Workspace {
        var ids: [Int32] = []
        var lengths: [Int32] = []
        var previous: [Int32] = []
        var next: [Int32] = []
        var heap: [UInt64] = []
        var cache = PieceCache()
    }

    /// The tokens of one piece (its UTF-8 `bytes`) as (id, byte length) pairs, appended to `out`.
    func tokenize(_ bytes: UnsafeRawBufferPointer, workspace w: inout Workspace, into out: inout [(id: Int32, length: Int32)]) {
        if w.cache.lookup(bytes, into: &out) { return }
        let start = out.count
        if ignoreMerges, let whole = vocabulary.table.value(Array(ByteLevel.string(bytes).utf8)) {
            out.append((whole, Int32(bytes.count)))
        } else {
            merge(bytes, &w, into: &out)
        }
        if bytes.count <= PieceCache.maxKeyLength { w.cache.store(bytes, out[start...]) }
    }

    private func merge(_ bytes: UnsafeRawBufferPointer, _ w: inout Workspace, into out: inout [(id: Int32, length: Int32)]) {
        let start = out.count
        Self.merge(bytes, merges: merges, byteIDs: byteIDs, &w, into: &out)
        guard let unknownID else {
            out.removeAll { $0.id < 0 }  // bytes the vocabulary lacks are dropped, as the reference does without an unk token
            return
        }
        for i in start..<out.count where out[i].id < 0 { out[i].id = unknownID }
    }

    /// The merge loop: (id, byte length) of each final symbol, -1 for a byte without an id.
    static func merge(_ bytes: UnsafeRawBufferPointer, merges: MergeTable, byteIDs: [Int32], _ w: inout Workspace,
                      into out: inout [(id: Int32, length: Int32)]) {
        let n = bytes.count
        w.ids.removeAll(keepingCapacity: true)
        w.lengths.removeAll(keepingCapacity: true)
        w.previous.removeAll(keepingCapacity: true)
        w.next.removeAll(keepingCapacity: true)
        w.heap.removeAll(keepingCapacity: true)
        for (i, byte) in bytes.enumerated() {
            w.ids.append(byteIDs[Int(byte)])
            w.lengths.append(1)
            w.previous.append(Int32(i - 1))
            w.next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        // Heap entries: rank in the high 32 bits, left position in the low — min-heap order is the
        // reference's (rank, then position).
        for i in 0..<max(0, n - 1) {
            if let m = merges.merge(w.ids[i], w.ids[i + 1]) { heapPush(&w.heap, UInt64(m.rank) << 32 | UInt64(i)) }
        }
        while let top = heapPop(&w.heap) {
            let rank = UInt32(top >> 32)
            let position = Int(top & 0xFFFF_FFFF)
            guard w.lengths[position] > 0 else { continue }  // merged away
            let right = Int(w.next[position])
            guard right >= 0, let m = merges.merge(w.ids[position], w.ids[right]), m.rank == rank else { continue }  // stale
            w.ids[position] = m.id
            w.lengths[position] += w.lengths[right]
            w.lengths[right] = 0
            let after = Int(w.next[right])
            w.next[position] = Int32(after)
            if after >= 0 { w.previous[after] = Int32(position) }
            let before = Int(w.previous[position])
            if before >= 0, let left = merges.merge(w.ids[before], m.id) {
                heapPush(&w.heap, UInt64(left.rank) << 32 | UInt64(before))
            }
            if after >= 0, let next = merges.merge(m.id, w.ids[after]) {
                heapPush(&w.heap, UInt64(next.rank) << 32 | UInt64(position))
            }
        }
        var i = n > 0 ? 0 : -1
        while i >= 0 {
            out.append((w.ids[i], w.lengths[i]))
            i = Int(w.next[i])
        }
    }
}

/// A bounded cache from piece bytes to their tokens, stored flat (no allocation per entry);
/// cleared when full (pieces repeat heavily in real text, so the hit rate stays high).
struct PieceCache {
    static let maxKeyLength = 64
    /// Most pieces kept; the table starts small and grows, so a single short encode stays cheap.
    static let capacity = 1 << 15
    private var table = ByteKeyedTable()
    /// Per entry: where its tokens start in `tokens`, and how many there are.
    private var spans: [(start: Int32, count: Int32)] = []
    private var tokens: [(id: Int32, length: Int32)] = []

    /// Appends the cached tokens of `key` to `out`; false if the key is not cached.
    func lookup(_ key: UnsafeRawBufferPointer, into out: inout [(id: Int32, length: Int32)]) -> Bool {
        guard key.count <= Self.maxKeyLength, let index = table.value(key) else { return false }
        let span = spans[Int(index)]
        tokens.withUnsafeBufferPointer { stored in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: stored[Int(span.start)..<Int(span.start + span.count)]))
        }
        return true
    }

    mutating func store(_ key: UnsafeRawBufferPointer, _ result: ArraySlice<(id: Int32, length: Int32)>) {
        if spans.count >= Self.capacity {
            table = ByteKeyedTable()
            spans.removeAll(keepingCapacity: true)
            tokens.removeAll(keepingCapacity: true)
        }
        if table.insert(Array(key), Int32(spans.count)) {
            spans.append((Int32(tokens.count), Int32(result.count)))
            tokens.append(contentsOf: result)
        }
    }
}

@inline(__always)
func heapPush(_ heap: inout [UInt64], _ value: UInt64) {
    heap.append(value)
    var child = heap.count - 1
    while child > 0 {
        let parent = (child - 1) / 2
        if heap[parent] <= heap[child] { break }
        heap.swapAt(parent, child)
        child = parent
    }
}

@inline(__always)
func heapPop(_ heap: inout [UInt64]) -> UInt64? {
    guard let top = heap.first else { return nil }
    let last = heap.removeLast()
    if !heap.isEmpty {
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= heap.count { break }
            let right = left + 1
            let smallest = right < heap.count && heap[right] < heap[left] ? right : left
            if heap[parent] <= heap[smallest] { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
    return top
}
