/// A tokenized input as a model takes it: token ids (their strings: `Tokenizer.token(_:)`) with
/// their token type ids, attention mask and character offsets into the original text (`[start, end)` in Unicode scalars, as the
/// reference's Python API reports them; special and padding tokens have `(0, 0)`).
public struct Encoding: Equatable, Sendable {
    public var ids: [Int32] = []
    public var typeIds: [Int32] = []
    public var offsets: [Range<Int>] = []
    public var attentionMask: [Int32] = []
    public var specialTokensMask: [Int32] = []

    public init() {}

    public var count: Int { ids.count }

    mutating func append(id: Int32, offsets range: Range<Int>, typeId: Int32 = 0, special: Bool = false) {
        ids.append(id)
        typeIds.append(typeId)
        offsets.append(range)
        attentionMask.append(1)
        specialTokensMask.append(special ? 1 : 0)
    }

    /// Special tokens `ids` (offsets (0, 0)) inserted before token `index`.
    mutating func insertSpecial(_ inserted: [Int32], typeId: Int32, at index: Int) {
        let n = inserted.count
        ids.insert(contentsOf: inserted, at: index)
        typeIds.insert(contentsOf: repeatElement(typeId, count: n), at: index)
        offsets.insert(contentsOf: repeatElement(0..<0, count: n), at: index)
        attentionMask.insert(contentsOf: repeatElement(1, count: n), at: index)
        specialTokensMask.insert(contentsOf: repeatElement(1, count: n), at: index)
    }

    mutating func reserveCapacity(_ n: Int) {
        ids.reserveCapacity(n)
        typeIds.reserveCapacity(n)
        offsets.reserveCapacity(n)
        attentionMask.reserveCapacity(n)
        specialTokensMask.reserveCapacity(n)
    }

    /// Appends `other`'s tokens with every type id set to `typeId`.
    mutating func append(contentsOf other: Encoding, typeId: Int32) {
        ids += other.ids
        typeIds.append(contentsOf: repeatElement(typeId, count: other.count))
        offsets += other.offsets
        attentionMask += other.attentionMask
        specialTokensMask += other.specialTokensMask
    }

    mutating func append(contentsOf other: Encoding) {
        ids += other.ids
        typeIds += other.typeIds
        offsets += other.offsets
        attentionMask += other.attentionMask
        specialTokensMask += other.specialTokensMask
    }

    /// Drops every token from index `start` on, in place (no copy of what stays).
    mutating func removeTokens(from start: Int) {
        ids.removeSubrange(start...)
        typeIds.removeSubrange(start...)
        offsets.removeSubrange(start...)
        attentionMask.removeSubrange(start...)
        specialTokensMask.removeSubrange(start...)
    }

    /// Keeps the first `length` tokens (or the last, when `fromLeft`).
    mutating func truncate(to length: Int, fromLeft: Bool = false) {
        guard count > length else { return }
        let range = fromLeft ? (count - length)..<count : 0..<length
        ids = Array(ids[range])
        typeIds = Array(typeIds[range])
        offsets = Array(offsets[range])
        attentionMask = Array(attentionMask[range])
        specialTokensMask = Array(specialTokensMask[range])
    }
}
