/// A JSON value with object keys in document order and numbers kept as their source text, so
/// 64-bit offsets survive exactly.
public enum JSON: Equatable, Sendable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSON])
    case object([(String, JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value of `key` in an object (the first, if repeated).
    public subscript(key: String) -> JSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var array: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var object: [(String, JSON)]? { if case .object(let o) = self { return o } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }

    /// A number written as a plain integer (no fraction or exponent) that fits `Int`.
    public var int: Int? {
        guard case .number(let text) = self, !text.utf8.contains(where: { $0 == 0x2E || $0 == 0x65 || $0 == 0x45 }) else { return nil }
        return Int(text)
    }

    /// Any number, as a Double.
    public var double: Double? { if case .number(let text) = self { return Double(text) } else { return nil } }
}

/// Why a JSON text could not be parsed; `offset` is the byte where the parser stopped.
public struct JSONError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let offset: Int
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

extension JSON {
    /// Parses RFC 8259 JSON from UTF-8 bytes. Rejects trailing data, unescaped control characters,
    /// invalid escapes and lone surrogates, and nesting deeper than 128 (as serde_json does).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSON {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected data after the value") }
        return value
    }

    /// Parses the JSON file at `path`; a parse error names the file.
    public static func read(file path: String) throws -> JSON {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { try attributing(to: path) { try parse(file.bytes) } }
    }

    /// Parses JSON from a string.
    public static func parse(_ text: String) throws -> JSON {
        var text = text
        return try text.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }
}

private struct JSONParser {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    static let maxDepth = 128

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func error(_ message: String) -> JSONError { JSONError(message: message, offset: position) }

    var atEnd: Bool { position >= bytes.count }
    var current: UInt8 { bytes[position] }

    mutating func skipWhitespace() {
        while !atEnd, [0x20, 0x09, 0x0A, 0x0D].contains(current) { position += 1 }
    }

    mutating func expect(_ literal: String) throws {
        let expected = Array(literal.utf8)
        guard position + expected.count <= bytes.count,
              bytes[position..<(position + expected.count)].elementsEqual(expected) else {
            throw error("expected '\(literal)'")
        }
        position += expected.count
    }

    mutating func value(depth: Int) throws -> JSON {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        guard !atEnd else { throw error("unexpected end of input") }
        switch current {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    mutating func object(depth: Int) throws -> JSON {
        position += 1
        var members: [(String, JSON)] = []
        skipWhitespace()
        if !atEnd && current == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard !atEnd, current == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try string()
            skipWhitespace()
            guard !atEnd, current == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard !atEnd else { throw error("unterminated object") }
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "}") { position += 1; return .object(members) }
            throw error("expected ',' or '}'")
        }
    }

    mutating func array(depth: Int) throws -> JSON {
        position += 1
        var elements: [JSON] = []
        skipWhitespace()
        if !atEnd && current == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth + 1))
            skipWhitespace()
            guard !atEnd else { throw error("unterminated array") }
            if current == UInt8(ascii: ",") { position += 1; continue }
            if current == UInt8(ascii: "]") { position += 1; return .array(elements) }
            throw error("expected ',' or ']'")
        }
    }

    mutating func number() throws -> String {
        let start = position
        func digits() -> Int {
            let from = position
            while !atEnd, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(current) { position += 1 }
            return position - from
        }
        if current == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        guard digits() > 0 else { throw error("invalid number") }
        if bytes[integerStart] == UInt8(ascii: "0") && position - integerStart > 1 { throw error("leading zero in number") }
        if !atEnd && current == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw error("invalid number") }
        }
        if !atEnd && (current == UInt8(ascii: "e") || current == UInt8(ascii: "E")) {
            position += 1
            if !atEnd && (current == UInt8(ascii: "+") || current == UInt8(ascii: "-")) { position += 1 }
            guard digits() > 0 else { throw error("invalid number") }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = current
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    mutating func string() throws -> String {
        position += 1
        var utf8: [UInt8] = []
        var runStart = position
        while true {
            guard !atEnd else { throw error("unterminated string") }
            let c = current
            if c == UInt8(ascii: "\"") {
                utf8.append(contentsOf: bytes[runStart..<position])
                position += 1
                break
            }
            if c < 0x20 { throw error("control character in string") }
            if c != UInt8(ascii: "\\") { position += 1; continue }
            utf8.append(contentsOf: bytes[runStart..<position])
            position += 1
            guard !atEnd else { throw error("unterminated escape") }
            let escape = current
            position += 1
            switch escape {
            case UInt8(ascii: "\""): utf8.append(0x22)
            case UInt8(ascii: "\\"): utf8.append(0x5C)
            case UInt8(ascii: "/"): utf8.append(0x2F)
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard position + 6 <= bytes.count, current == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                        throw error("lone leading surrogate in \\u escape")
                    }
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("lone trailing surrogate in \\u escape")
                }
                utf8.append(contentsOf: Array(String(Unicode.Scalar(scalar)!).utf8))
            default:
                throw error("invalid escape")
            }
            runStart = position
        }
        guard let text = String(validating: utf8, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return text
    }
}

extension JSON {
    /// Compact JSON text with strings escaped as serde_json escapes them (the safetensors
    /// reference writer's form): `"` `\` and control characters escaped, everything else raw UTF-8.
    public var compactText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let text): out += text
        case .string(let s): JSON.writeString(s, to: &out)
        case .array(let elements):
            out += "["
            for (i, element) in elements.enumerated() {
                if i > 0 { out += "," }
                element.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out += "," }
                JSON.writeString(key, to: &out)
                out += ":"
                value.write(to: &out)
            }
            out += "}"
        }
    }

    package static func writeString(_ s: String, to out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
