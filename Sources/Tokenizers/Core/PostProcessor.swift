/// How special tokens are put around one or two sequences, with their token type ids — the
/// reference's TemplateProcessing, to which BertProcessing and RobertaProcessing reduce.
public struct PostProcessor: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        case special(ids: [Int32], typeId: Int32)
        case sequence(second: Bool, typeId: Int32)
    }

    public var single: [Piece]
    public var pair: [Piece]
    /// Trim leading and trailing spaces (`Ġ`) from byte-level token offsets (ByteLevel/RoBERTa).
    public var trimOffsets = false
    /// With `trimOffsets`: the prefix space the pre-tokenizer added is not trimmed from the first token.
    public var addPrefixSpace = false

    /// `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]`, type ids 0 then 1.
    public static func bert(cls: Int32, sep: Int32) -> PostProcessor {
        PostProcessor(single: [.special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0), .special(ids: [sep], typeId: 0)],
                      pair: [.special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0), .special(ids: [sep], typeId: 0),
                             .sequence(second: true, typeId: 1), .special(ids: [sep], typeId: 1)])
    }

    /// `<s> A </s>` and `<s> A </s></s> B </s>`, all type ids 0.
    public static func roberta(cls: Int32, sep: Int32, trimOffsets: Bool, addPrefixSpace: Bool) -> PostProcessor {
        PostProcessor(single: [.special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0), .special(ids: [sep], typeId: 0)],
                      pair: [.special(ids: [cls], typeId: 0), .sequence(second: false, typeId: 0), .special(ids: [sep, sep], typeId: 0),
                             .sequence(second: true, typeId: 0), .special(ids: [sep], typeId: 0)],
                      trimOffsets: trimOffsets, addPrefixSpace: addPrefixSpace)
    }

    /// No special tokens (GPT-2), optionally trimming offsets.
    public static func none(trimOffsets: Bool = false, addPrefixSpace: Bool = false) -> PostProcessor {
        PostProcessor(single: [.sequence(second: false, typeId: 0)],
                      pair: [.sequence(second: false, typeId: 0), .sequence(second: true, typeId: 1)],
                      trimOffsets: trimOffsets, addPrefixSpace: addPrefixSpace)
    }

    /// Special tokens the template adds for one or two sequences.
    func addedCount(pair: Bool) -> Int {
        (pair ? self.pair : single).reduce(0) { count, piece in
            if case .special(let ids, _) = piece { return count + ids.count }
            return count
        }
    }

    func apply(_ first: consuming Encoding, _ second: Encoding?, addSpecialTokens: Bool) -> Encoding {
        if second == nil, let sequence = singleSequence { return wrap(first, at: sequence, addSpecialTokens: addSpecialTokens) }
        var out = Encoding()
        out.reserveCapacity(first.count + (second?.count ?? 0) + addedCount(pair: second != nil))
        for piece in second == nil ? single : pair {
            switch piece {
            case .special(let ids, let typeId):
                guard addSpecialTokens else { continue }
                for id in ids { out.append(id: id, offsets: 0..<0, typeId: typeId, special: true) }
            case .sequence(let isSecond, let typeId):
                // The template sets type ids even without special tokens.
                out.append(contentsOf: isSecond ? second! : first, typeId: typeId)
            }
        }
        return out
    }

    /// Where the one sequence of the single template stands and its type id; nil unless the
    /// template has exactly one sequence piece, the first sequence.
    private var singleSequence: (index: Int, typeId: Int32)? {
        func isSequence(_ piece: Piece) -> Bool { if case .sequence = piece { true } else { false } }
        guard let index = single.firstIndex(where: isSequence), case .sequence(false, let typeId) = single[index],
              !single[(index + 1)...].contains(where: isSequence) else { return nil }
        return (index, typeId)
    }

    /// The special ids the single template puts before its sequence (or after it); nil unless the
    /// template is one sequence with specials around it.
    func singleSpecialIDs(afterSequence: Bool) -> [Int32]? {
        guard let sequence = singleSequence else { return nil }
        let side = afterSequence ? single[(sequence.index + 1)...] : single[..<sequence.index]
        return side.flatMap { piece -> [Int32] in if case .special(let ids, _) = piece { ids } else { [] } }
    }

    /// One sequence wrapped in its own storage: the specials before it inserted, those after
    /// appended (no new encoding built and copied, as `apply` otherwise does for every text).
    private func wrap(_ sequence: consuming Encoding, at position: (index: Int, typeId: Int32), addSpecialTokens: Bool) -> Encoding {
        var out = sequence
        if position.typeId != 0 { out.typeIds = [Int32](repeating: position.typeId, count: out.count) }
        guard addSpecialTokens else { return out }
        for piece in single[..<position.index].reversed() {
            if case .special(let ids, let typeId) = piece { out.insertSpecial(ids, typeId: typeId, at: 0) }
        }
        for piece in single[(position.index + 1)...] {
            if case .special(let ids, let typeId) = piece { out.insertSpecial(ids, typeId: typeId, at: out.count) }
        }
        return out
    }
}
