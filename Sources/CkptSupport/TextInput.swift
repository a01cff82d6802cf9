
/// Problems reading texts from an input file.
public enum TextInputError: Error, CustomStringConvertible, Sendable {
    case missingColumn(String, available: [String])
    case shortRow(line: Int, column: String)
    case badJSON(line: Int, problem: String)
    case missingField(line: Int, field: String)
    case unterminatedQuote(line: Int)
    case emptyFile

    public var description: String {
        switch self {
        case .missingColumn(let name, let available):
            return "no column '\(name)' in the header (columns: \(available.joined(separator: ", ")))"
        case .shortRow(let line, let column): return "line \(line) has no '\(column)' column"
        case .badJSON(let line, let problem): return "line \(line) is not a JSON object: \(problem)"
        case .missingField(let line, let field): return "line \(line) has no string field '\(field)'"
        case .unterminatedQuote(let line): return "line \(line): a quoted field is never closed"
        case .emptyFile: return "the file is empty (a header line is required)"
        }
    }
}

/// Texts from a file, by its extension: `.txt` (a text per line), `.tsv` (tab-separated with a
/// header, split on tabs without quoting), `.csv` (RFC 4180 quoting), `.jsonl` (a JSON object per
/// line). Line numbers in errors are 1-based and count the header.
public enum TextInput {
    public enum Format: Sendable { case lines, tsv, csv, jsonl }

    public static func format(of path: String) -> Format {
        if path.hasSuffix(".tsv") { return .tsv }
        if path.hasSuffix(".csv") { return .csv }
        if path.hasSuffix(".jsonl") || path.hasSuffix(".ndjson") { return .jsonl }
        return .lines
    }

    /// `text` made safe for one cell of a TSV file: tabs and line breaks, which would split the
    /// cell or its row, become spaces.
    public static func tsvCell(_ text: String) -> String { String(text.map { $0 == "\t" || $0.isNewline ? " " : $0 }) }

    /// The `column` field of every row (every line, for plain text).
    public static func texts(_ lines: [String], format: Format, column: String) throws -> [String] {
        try table(lines, format: format, columns: [column]).map { $0[0] }
    }

    /// The given columns of every row.
    public static func table(_ lines: [String], format: Format, columns: [String]) throws -> [[String]] {
        switch format {
        case .lines:
            return lines.map { [$0] }
        case .tsv, .csv:
            let rows = format == .tsv ? lines.map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
                                      : try csvRows(lines)
            guard let header = rows.first else { throw TextInputError.emptyFile }
            let indices = try columns.map { name in
                guard let i = header.firstIndex(of: name) else { throw TextInputError.missingColumn(name, available: header) }
                return i
            }
            return try rows.dropFirst().enumerated().map { number, row in
                try zip(indices, columns).map { i, name in
                    guard i < row.count else { throw TextInputError.shortRow(line: number + 2, column: name) }
                    return row[i]
                }
            }
        case .jsonl:
            return try lines.enumerated().filter { !$0.element.isEmpty }.map { number, line in
                let object: JSON
                do { object = try JSON.parse(line) } catch { throw TextInputError.badJSON(line: number + 1, problem: "\(error)") }
                return try columns.map { name in
                    guard let value = object[name]?.string else { throw TextInputError.missingField(line: number + 1, field: name) }
                    return value
                }
            }
        }
    }

    /// RFC 4180: fields separated by commas, optionally in double quotes; inside quotes "" is a
    /// quote and line breaks are part of the field.
    static func csvRows(_ lines: [String]) throws -> [[String]] {
        var rows: [[String]] = []
        var field = "", row: [String] = []
        var quoted = false, startLine = 0
        for (number, line) in lines.enumerated() {
            if !quoted { startLine = number + 1 }
            var scalars = line.unicodeScalars.makeIterator()
            var pendingQuote = false
            while let c = scalars.next() {
                if quoted {
                    if pendingQuote {
                        pendingQuote = false
                        if c == "\"" { field.unicodeScalars.append(c); continue }
                        quoted = false
                    } else if c == "\"" {
                        pendingQuote = true
                        continue
                    } else {
                        field.unicodeScalars.append(c)
                        continue
                    }
                }
                switch c {
                case ",": row.append(field); field = ""
                case "\"" where field.isEmpty: quoted = true
                default: field.unicodeScalars.append(c)
                }
            }
            if pendingQuote { quoted = false }
            if quoted {
                field += "\n"
            } else {
                row.append(field)
                rows.append(row)
                field = ""
                row = []
            }
        }
        if quoted { throw TextInputError.unterminatedQuote(line: startLine) }
        return rows
    }
}
