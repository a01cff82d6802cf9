/// A parser for the small subset of Python literals that `.npy` headers use: a dict with string
/// keys whose values are strings, booleans, integers or tuples of integers. Anything else (a
/// list `descr` for structured arrays, nested dicts) is refused. Nothing is evaluated.
struct PythonLiteral {
    struct HeaderDict {
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
    }

    private let scalars: [Unicode.Scalar]
    private var position = 0

    init(_ text: String) { scalars = Array(text.unicodeScalars) }

    private func fail(_ problem: String) -> NPYError { .malformedHeader(problem) }

    private mutating func skipSpace() {
        while position < scalars.count, [" ", "\t", "\n", "\r"].contains(scalars[position]) { position += 1 }
    }

    private mutating func consume(_ c: Unicode.Scalar) -> Bool {
        skipSpace()
        guard position < scalars.count, scalars[position] == c else { return false }
        position += 1
        return true
    }

    private mutating func string() throws -> String {
        skipSpace()
        guard position < scalars.count, scalars[position] == "'" || scalars[position] == "\"" else { throw fail("expected a string") }
        let quote = scalars[position]
        position += 1
        var out = String.UnicodeScalarView()
        while position < scalars.count, scalars[position] != quote {
            guard scalars[position] != "\\" else { throw fail("escapes in strings are not supported") }
            out.append(scalars[position])
            position += 1
        }
        guard position < scalars.count else { throw fail("unterminated string") }
        position += 1
        return String(out)
    }

    private mutating func integer() throws -> Int {
        skipSpace()
        let start = position
        while position < scalars.count, ("0"..."9").contains(scalars[position]) { position += 1 }
        guard position > start, let value = Int(String(String.UnicodeScalarView(scalars[start..<position]))) else {
            throw fail("expected a non-negative integer")
        }
        if position < scalars.count, scalars[position] == "L" { position += 1 }  // Python 2's long suffix
        return value
    }

    private mutating func word() -> String {
        skipSpace()
        let start = position
        while position < scalars.count, scalars[position].properties.isAlphabetic { position += 1 }
        return String(String.UnicodeScalarView(scalars[start..<position]))
    }

    private mutating func tuple() throws -> [Int] {
        guard consume("(") else { throw fail("'shape' must be a tuple") }
        var values: [Int] = []
        while !consume(")") {
            values.append(try integer())
            if consume(")") { break }
            guard consume(",") else { throw fail("expected ',' in the shape tuple") }
        }
        return values
    }

    /// Parses the header dict, which must hold exactly `descr`, `fortran_order` and `shape`.
    mutating func parseHeaderDict() throws -> HeaderDict {
        guard consume("{") else { throw fail("expected a dict") }
        var descr: String?
        var fortran: Bool?
        var shape: [Int]?
        while !consume("}") {
            let key = try string()
            guard consume(":") else { throw fail("expected ':' after '\(key)'") }
            switch key {
            case "descr":
                skipSpace()
                if position < scalars.count, scalars[position] == "[" { throw NPYError.unsupportedDType("structured (record) dtype") }
                descr = try string()
            case "fortran_order":
                switch word() {
                case "True": fortran = true
                case "False": fortran = false
                default: throw fail("'fortran_order' must be True or False")
                }
            case "shape":
                shape = try tuple()
            default:
                throw fail("unexpected key '\(key)'")
            }
            if consume("}") { break }
            guard consume(",") else { throw fail("expected ',' between entries") }
        }
        skipSpace()
        guard position == scalars.count else { throw fail("unexpected text after the dict") }
        guard let descr, let fortran, let shape else { throw fail("must hold 'descr', 'fortran_order' and 'shape'") }
        return HeaderDict(descr: descr, fortranOrder: fortran, shape: shape)
    }
}
