/// Greedy longest-match-first WordPiece, as BERT uses it: each word is cut into the longest
/// vocabulary entries from the left, pieces after the first carrying the `##` prefix; a word with
/// no such cut, or longer than `maxInputCharsPerWord` characters, becomes the unknown token.
final class WordPiece: Sendable {
    let vocabulary: Vocabulary
    let unknownID: Int32
    let continuingSubwordPrefix: String
    let maxInputCharsPerWord: Int
    /// Entries that start with the prefix, keyed by what follows it: lookups need no concatenation.
    private let continuations: ByteKeyedTable

    init(vocabulary: Vocabulary, unknownToken: String, continuingSubwordPrefix: String = "##",
         maxInputCharsPerWord: Int = 100) throws {
        guard let unknownID = vocabulary.id(unknownToken) else { throw TokenizerError.missingToken(unknownToken) }
        self.vocabulary = vocabulary
        self.unknownID = unknownID
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
        var continuations = ByteKeyedTable(capacity: vocabulary.count)
        let prefix = Array(continuingSubwordPrefix.utf8)
        for (id, token) in vocabulary.tokens.enumerated() {
            let bytes = Array(token.utf8)
            if !prefix.isEmpty, bytes.starts(with: prefix) { continuations.insert(Array(bytes[prefix.count...]), Int32(id)) }
        }
        self.continuations = continuations
    }

    /// Appends the pieces of `word` (normalized scalars `range` of `text`) to `encoding`.
    func tokenize(_ text: ScalarText, _ range: Range<Int>, into encoding: inout Encoding, bytes: inout [UInt8],
                  boundaries: inout [Int]) {
        let first = Int(text.origins[range.lowerBound])
        let last = Int(text.origins[range.upperBound - 1]) + 1
        if range.count > maxInputCharsPerWord {
            encoding.append(id: unknownID, offsets: first..<last)
            return
        }
        // UTF-8 of the word, with the byte offset where each scalar starts (and the end).
        bytes.removeAll(keepingCapacity: true)
        boundaries.removeAll(keepingCapacity: true)
        for i in range {
            boundaries.append(bytes.count)
            appendUTF8(text.scalars[i], to: &bytes)
        }
        boundaries.append(bytes.count)
        let mark = encoding.count
        let n = range.count
        var start = 0
        bytes.withUnsafeBytes { word in
            while start < n {
                var end = n
                var found: Int32?
                while start < end {
                    let piece = UnsafeRawBufferPointer(rebasing: word[boundaries[start]..<boundaries[end]])
                    found = start == 0 ? vocabulary.table.value(piece) : continuations.value(piece)
                    if found != nil { break }
                    end -= 1
                }
                guard let id = found else {
                    start = -1
                    return
                }
                let origin = Int(text.origins[range.lowerBound + start])
                let originEnd = Int(text.origins[range.lowerBound + end - 1]) + 1
                encoding.append(id: id, offsets: origin..<originEnd)
                start = end
            }
        }
        if start < 0 {
            encoding.removeTokens(from: mark)
            encoding.append(id: unknownID, offsets: first..<last)
        }
    }
}
