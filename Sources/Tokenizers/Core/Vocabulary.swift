/// Token strings and their ids, keyed by UTF-8 bytes.
final class Vocabulary: Sendable {
    /// Token string of each id (an empty string for an id no token has).
    let tokens: [String]
    let table: ByteKeyedTable

    /// Builds from (token, id) pairs; throws if a token or an id appears twice, or if the ids run far
    /// past the number of tokens (ids index a table: a file must not make it absurdly large).
    init(_ entries: [(String, Int32)]) throws {
        if let (token, id) = entries.first(where: { $0.1 < 0 }) { throw TokenizerError.invalidVocabulary("negative id \(id) for '\(token)'") }
        let size = Int(entries.map(\.1).max().map { $0 + 1 } ?? 0)
        let limit = max(4 * entries.count, entries.count + 65_536)
        guard size <= limit else {
            throw TokenizerError.invalidVocabulary("ids run to \(size - 1) for \(entries.count) tokens (at most \(limit - 1) is accepted: ids number the tokens from 0)")
        }
        var tokens = [String](repeating: "", count: size)
        var seen = [Bool](repeating: false, count: size)
        var table = ByteKeyedTable(capacity: entries.count)
        for (token, id) in entries {
            guard !seen[Int(id)] else { throw TokenizerError.invalidVocabulary("id \(id) is given to two tokens") }
            guard table.insert(Array(token.utf8), id) else { throw TokenizerError.invalidVocabulary("token '\(token)' appears twice") }
            seen[Int(id)] = true
            tokens[Int(id)] = token
        }
        self.tokens = tokens
        self.table = table
    }

    var count: Int { table.count }

    func id(_ token: String) -> Int32? { table.value(token) }

    func token(_ id: Int32) -> String? {
        id >= 0 && Int(id) < tokens.count && !tokens[Int(id)].isEmpty ? tokens[Int(id)] : nil
    }
}
