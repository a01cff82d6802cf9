import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A connection to an SQLite file through the system's libsqlite3: statements with bound values,
/// rows read as text, numbers or nulls. The only code that touches the C API.
final class SQLiteDatabase {
    private let handle: OpaquePointer
    let path: String

    /// Opens (creating if missing) the database at `path`, waiting up to `busyMilliseconds` for
    /// other writers.
    init(path: String, busyMilliseconds: Int32) throws {
        var db: OpaquePointer?
        let status = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            throw LedgerError.sqlite(message)
        }
        handle = db
        self.path = path
        sqlite3_busy_timeout(db, busyMilliseconds)
        sqlite3_extended_result_codes(db, 1)
    }

    deinit { sqlite3_close(handle) }

    /// A value bound to a statement parameter or read from a row.
    enum Value: Equatable, Sendable {
        case null
        case integer(Int64)
        case real(Double)
        case text(String)

        var string: String? { if case .text(let s) = self { return s }; return nil }
        var int: Int64? { if case .integer(let i) = self { return i }; return nil }
        var double: Double? {
            switch self {
            case .real(let x): return x
            case .integer(let i): return Double(i)
            default: return nil
            }
        }
    }

    /// Runs `sql` with `values` bound to its `?` parameters and returns every row.
    @discardableResult
    func query(_ sql: String, _ values: [Value] = []) throws -> [[Value]] {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else { throw failure() }
        defer { sqlite3_finalize(statement) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            switch value {
            case .null: sqlite3_bind_null(statement, index)
            case .integer(let v): sqlite3_bind_int64(statement, index, v)
            case .real(let v): sqlite3_bind_double(statement, index, v)
            case .text(let v): sqlite3_bind_text(statement, index, v, -1, transient)
            }
        }
        var rows: [[Value]] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return rows }
            guard step == SQLITE_ROW else { throw failure() }
            rows.append((0..<sqlite3_column_count(statement)).map { column in
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
                case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
                case SQLITE_NULL: return .null
                default: return .text(sqlite3_column_text(statement, column).map { String(cString: $0) } ?? "")
                }
            })
        }
    }

    /// Runs `body` in an immediate transaction (the write lock taken at the start, so that two
    /// processes never both read and then both write), committed when it returns.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try query("COMMIT")
            return result
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }

    var lastInsertedRow: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `sql`, trying again every 10 ms for up to `milliseconds` while another connection holds
    /// the lock it needs — for statements SQLite answers "busy" without waiting, such as a change of
    /// journal mode while another connection is creating the same file.
    func queryRetryingWhileBusy(_ sql: String, milliseconds: Int) throws {
        var waited = 0
        while true {
            do {
                try query(sql)
                return
            } catch LedgerError.sqlite(_) where sqlite3_errcode(handle) & 0xff == SQLITE_BUSY && waited < milliseconds {
                usleep(10_000)
                waited += 10
            }
        }
    }

    private func failure() -> LedgerError {
        let code = sqlite3_errcode(handle) & 0xff
        let message = String(cString: sqlite3_errmsg(handle))
        switch code {
        case SQLITE_NOTADB: return .notADatabase
        case SQLITE_CORRUPT: return .corrupt(message)
        default: return .sqlite(message)
        }
    }
}
