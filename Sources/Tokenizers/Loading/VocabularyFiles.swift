import CkptSupport

/// Reading the plain vocabulary formats: `vocab.txt` (WordPiece), `vocab.json` + `merges.txt`
/// (GPT-2 BPE) and tiktoken's `.tiktoken` rank files.
enum VocabularyFiles {
    /// The lines of a text file's bytes, without their line ends (`\n` or `\r\n`).
    /// Split on bytes: Swift's `Character` treats "\r\n" as one character.
    static func lines(in bytes: UnsafeRawBufferPointer) -> [Substring] {
        var lines: [Substring] = []
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            let end = i > start && bytes[i - 1] == 0x0D ? i - 1 : i
            lines.append(Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)))
            start = i + 1
        }
        if start < bytes.count {
            lines.append(Substring(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start...]), as: UTF8.self)))
        }
        return lines
    }

    static func vocabularyFromJSON(_ json: JSON) throws -> Vocabulary {
        guard let entries = json.object else { throw TokenizerError.invalidVocabulary("not a JSON object of token: id") }
        return try Vocabulary(entries.map { token, id in
            guard let id = id.int, let id32 = Int32(exactly: id) else { throw TokenizerError.invalidVocabulary("id of '\(token)' is not an integer") }
            return (token, id32)
        })
    }

    static func mergePair(_ line: String, number: Int) throws -> (String, String) {
        guard let space = line.firstIndex(of: " ") else { throw TokenizerError.invalidMerges("line \(number) is not 'left right'") }
        return (String(line[..<space]), String(line[line.index(after: space)...]))
    }

    /// The lines of a `.tiktoken` file: "base64(token bytes) rank" each. Returns the vocabulary
    /// (tokens in GPT-2's byte-level form, ids = ranks) and merge rules derived from the ranks: each
    /// token of two or more bytes is what BPE with the lower-ranked rules makes of its bytes, in two
    /// parts — those two parts are its merge.
    static func tiktoken(lines: [Substring]) throws -> (Vocabulary, MergeTable) {
        var ranked: [(bytes: [UInt8], rank: Int32)] = []
        for (number, line) in lines.enumerated() where !line.isEmpty {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let bytes = Base64.decode(parts[0]), let rank = Int32(parts[1]) else {
                throw TokenizerError.invalidVocabulary("line \(number + 1) is not 'base64 rank'")
            }
            ranked.append((bytes, rank))
        }
        let vocabulary = try Vocabulary(ranked.map { (ByteLevel.string($0.bytes), $0.rank) })
        let byteIDs = (0..<256).map { vocabulary.id(ByteLevel.string([UInt8($0)])) ?? -1 }
        var merges = MergeTable(capacity: ranked.count)
        var workspace = BytePairEncoding.Workspace()
        var parts: [(id: Int32, length: Int32)] = []
        for (bytes, rank) in ranked.sorted(by: { $0.rank < $1.rank }) where bytes.count > 1 {
            parts.removeAll(keepingCapacity: true)
            bytes.withUnsafeBytes { BytePairEncoding.merge($0, merges: merges, byteIDs: byteIDs, &workspace, into: &parts) }
            if parts.count == 2, parts[0].id >= 0, parts[1].id >= 0 {
                merges.insert(parts[0].id, parts[1].id, rank: UInt32(rank), id: rank)
            }
        }
        return (vocabulary, merges)
    }
}

/// Standard base64 (RFC 4648), as tiktoken files use it.
enum Base64 {
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    static func decode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0, bits = 0
        for c in text.utf8 {
            if c == UInt8(ascii: "=") { break }
            let v = values[Int(c)]
            guard v != 255 else { return nil }
            buffer = buffer << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
            }
        }
        return out
    }
}
