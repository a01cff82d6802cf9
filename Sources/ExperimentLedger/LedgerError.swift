/// Problems with the ledger file; each message says what to do.
public enum LedgerError: Error, CustomStringConvertible, Sendable {
    case notADatabase
    case corrupt(String)
    case newerSchema(found: Int, known: Int)
    case foreignDatabase([String])
    case sqlite(String)
    case noSuchStudy(Int64)
    case missing

    public var description: String {
        switch self {
        case .notADatabase:
            return "not an SQLite database; ckpt leaves it untouched (choose another file with --ledger, or --no-ledger)"
        case .corrupt(let message):
            return "the ledger is damaged (\(message)); ckpt leaves it untouched (recover it with sqlite3 .recover, or choose another --ledger)"
        case .newerSchema(let found, let known):
            return "ledger schema version \(found) is newer than this ckpt's (\(known)); use a newer ckpt, or another --ledger"
        case .foreignDatabase(let tables):
            return "an SQLite database that is not a ckpt ledger (tables: \(tables.joined(separator: ", "))); ckpt leaves it untouched"
        case .sqlite(let message): return message
        case .noSuchStudy(let id): return "no run \(id) in the ledger (see ckpt runs list)"
        case .missing: return "no ledger here yet; train-head, tune-head and few-shot record their runs in one (or name it with --ledger)"
        }
    }
}
