/// What a pickle means beyond plain values: which globals it may name, what calling them builds,
/// and what a persistent id refers to. The machine itself never executes anything; a host only
/// builds values from an allow-list.
protocol PickleHost: AnyObject {
    /// The value GLOBAL / STACK_GLOBAL / INST push for `module.name`; throws to refuse the global.
    func global(module: String, name: String) throws -> PickleValue
    /// What calling the accepted global `callable` with `arguments` builds (REDUCE, NEWOBJ, INST, OBJ).
    func call(_ callable: String, arguments: [PickleValue], heap: PickleHeap) throws -> PickleValue
    /// The object a persistent id (BINPERSID, PERSID) refers to.
    func persistentLoad(_ id: PickleValue, heap: PickleHeap) throws -> PickleValue
}

/// A restricted pickle interpreter for the opcodes of protocols 2 to 5 (and the protocol-0 text
/// forms of ints, floats, memo access and globals that they may contain).
///
/// It builds plain values (None, bools, ints, floats, strings, bytes, tuples, lists, dicts, sets)
/// and hands globals, calls and persistent ids to its host. Memory is bounded: every value pushed
/// or memoised counts against `maxValues`, and no length read from the pickle is trusted before it
/// is checked against the bytes that remain.
struct PickleMachine {
    /// The most values a pickle may push or memoise. A state dict needs about 40 per tensor, so
    /// this admits about 50,000 tensors while keeping what the machine holds near 100 MB.
    static let maxValues = 2_000_000

    private let bytes: UnsafeRawBufferPointer
    private let host: any PickleHost
    let heap = PickleHeap()
    private var position = 0
    private var opcodeOffset = 0
    private var opcode: UInt8 = 0
    private var stack: [PickleValue] = []
    /// Stack heights at each MARK; values below the last mark are out of reach, as in Python.
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var valueCount = 0
    private let maxValues: Int

    init(_ bytes: UnsafeRawBufferPointer, host: any PickleHost, maxValues: Int = PickleMachine.maxValues) {
        self.bytes = bytes
        self.host = host
        self.maxValues = maxValues
    }

    /// Runs the pickle to its STOP opcode and returns the value it leaves.
    mutating func run() throws -> PickleValue {
        while position < bytes.count {
            opcodeOffset = position
            opcode = bytes[position]
            position += 1
            if opcode == ascii(".") { return try stopValue() }
            try step()
        }
        throw PickleError.noStop
    }

    private mutating func stopValue() throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw PickleError.emptyAtStop }
        return value
    }

    private mutating func step() throws {
        switch opcode {
        case 0x80:  // PROTO
            let version = Int(try u8())
            guard (2...5).contains(version) else { throw PickleError.unsupportedProtocol(version) }
        case 0x95:  // FRAME: a size hint for buffered readers; the data follows inline.
            _ = try take(8, "frame header")
        case ascii("("): try mark()
        case ascii("0"):  // POP: a value, or an empty MARK frame
            if let last = marks.last, stack.count == last { marks.removeLast() } else { _ = try pop() }
        case ascii("1"): _ = try popMark()
        case ascii("2"): try push(try top())
        case ascii("N"): try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case ascii("I"): try push(try textInt())
        case ascii("J"): try push(.int(Int(Int32(bitPattern: try u32()))))
        case ascii("K"): try push(.int(Int(try u8())))
        case ascii("M"): try push(.int(Int(try u16())))
        case ascii("L"): try push(try textLong())
        case 0x8A: try push(try long(length: UInt64(try u8())))
        case 0x8B:
            let length = Int32(bitPattern: try u32())
            guard length >= 0 else { throw PickleError.badTextArgument(opcode: name, offset: opcodeOffset) }
            try push(try long(length: UInt64(length)))
        case ascii("F"):
            guard let value = Double(try line()) else { throw PickleError.badTextArgument(opcode: name, offset: opcodeOffset) }
            try push(.float(value))
        case ascii("G"): try push(.float(Double(bitPattern: UInt64(bigEndian: try u64()))))
        case ascii("X"): try push(.string(try text(length: UInt64(try u32()))))
        case 0x8C: try push(.string(try text(length: UInt64(try u8()))))
        case 0x8D: try push(.string(try text(length: try u64())))
        case ascii("T"):  // BINSTRING: Python 2 str, read as UTF-8 text (torch.load's default encoding)
            let length = Int32(bitPattern: try u32())
            guard length >= 0 else { throw PickleError.badTextArgument(opcode: name, offset: opcodeOffset) }
            try push(.string(try text(length: UInt64(length))))
        case ascii("U"): try push(.string(try text(length: UInt64(try u8()))))
        case ascii("B"): try push(.bytes(Array(try take(UInt64(try u32()), "bytes"))))
        case ascii("C"): try push(.bytes(Array(try take(UInt64(try u8()), "bytes"))))
        case 0x8E, 0x96: try push(.bytes(Array(try take(try u64(), "bytes"))))
        case ascii(")"): try push(heap.add(.tuple([])))
        case ascii("t"): try push(heap.add(.tuple(try popMark())))
        case 0x85: try push(heap.add(.tuple([try pop()])))
        case 0x86:
            let second = try pop(), first = try pop()
            try push(heap.add(.tuple([first, second])))
        case 0x87:
            let third = try pop(), second = try pop(), first = try pop()
            try push(heap.add(.tuple([first, second, third])))
        case ascii("]"): try push(heap.add(.list([])))
        case ascii("l"): try push(heap.add(.list(try popMark())))
        case 0x8F: try push(heap.add(.set([])))
        case 0x91: try push(heap.add(.set(try popMark())))
        case ascii("}"): try push(heap.add(.dict([])))
        case ascii("d"): try push(heap.add(.dict(try pairs(try popMark()))))
        // The items are taken off the stack before the container below them is looked at.
        case ascii("a"):
            let item = try pop()
            try extend([item], "a list")
        case ascii("e"), 0x90:
            let items = try popMark()
            try extend(items, opcode == 0x90 ? "a set" : "a list")
        case ascii("s"):
            let value = try pop(), key = try pop()
            try insert([(key, value)])
        case ascii("u"):
            let items = try pairs(try popMark())
            try insert(items)
        case ascii("g"): try push(try memoValue(try textIndex()))
        case ascii("h"): try push(try memoValue(Int(try u8())))
        case ascii("j"): try push(try memoValue(Int(try u32())))
        case ascii("p"): try memoise(try textIndex())
        case ascii("q"): try memoise(Int(try u8()))
        case ascii("r"): try memoise(Int(try u32()))
        case 0x94: try memoise(memo.count)
        case ascii("c"):
            let module = try line(), name = try line()
            try push(try host.global(module: module, name: name))
        case 0x93:
            let name = try string(try pop()), module = try string(try pop())
            try push(try host.global(module: module, name: name))
        case ascii("R"), 0x81:  // REDUCE, NEWOBJ: callable(*arguments)
            let arguments = try tuple(try pop())
            try push(try call(try pop(), arguments))
        case 0x92:  // NEWOBJ_EX: keyword arguments are not used by any allowed global
            _ = try pop()
            let arguments = try tuple(try pop())
            try push(try call(try pop(), arguments))
        case ascii("i"):
            let module = try line(), name = try line()
            let callable = try host.global(module: module, name: name)
            try push(try call(callable, try popMark()))
        case ascii("o"):
            var items = try popMark()
            guard !items.isEmpty else { throw PickleError.stackUnderflow(opcode: name, offset: opcodeOffset) }
            let callable = items.removeFirst()
            try push(try call(callable, items))
        case ascii("b"):  // BUILD: sets an object's attributes, which no value read here has.
            _ = try pop()
            _ = try top()
        case ascii("Q"): try push(try host.persistentLoad(try pop(), heap: heap))
        case ascii("P"): try push(try host.persistentLoad(.string(try line()), heap: heap))
        case ascii("S"), ascii("V"), 0x82, 0x83, 0x84, 0x97, 0x98:
            throw PickleError.unsupportedOpcode(name, offset: opcodeOffset)
        default:
            throw PickleError.unknownOpcode(opcode, offset: opcodeOffset)
        }
    }

    // MARK: stack, marks and memo

    private mutating func push(_ value: PickleValue) throws {
        try count()
        stack.append(value)
    }

    private mutating func count() throws {
        valueCount += 1
        guard valueCount <= maxValues else { throw PickleError.tooManyValues(limit: maxValues) }
    }

    private mutating func mark() throws {
        try count()
        marks.append(stack.count)
    }

    private mutating func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw PickleError.stackUnderflow(opcode: name, offset: opcodeOffset) }
        return stack.removeLast()
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else {
            throw PickleError.stackUnderflow(opcode: name, offset: opcodeOffset)
        }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let start = marks.popLast() else { throw PickleError.noMark(opcode: name, offset: opcodeOffset) }
        let items = Array(stack[start...])
        stack.removeSubrange(start...)
        return items
    }

    private mutating func memoise(_ index: Int) throws {
        try count()
        memo[index] = try top()
    }

    private func memoValue(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw PickleError.memoMissing(index: index, offset: opcodeOffset) }
        return value
    }

    // MARK: containers and calls

    private func pairs(_ items: [PickleValue]) throws -> [(key: PickleValue, value: PickleValue)] {
        guard items.count % 2 == 0 else { throw PickleError.oddDictItems(offset: opcodeOffset) }
        return stride(from: 0, to: items.count, by: 2).map { (items[$0], items[$0 + 1]) }
    }

    private func extend(_ items: [PickleValue], _ expected: String) throws {
        let target = try top()
        guard case .object(let id) = target, heap.extend(id, with: items) else { throw wrongOperand(expected, target) }
    }

    private func insert(_ pairs: [(key: PickleValue, value: PickleValue)]) throws {
        let target = try top()
        guard case .object(let id) = target, heap.insert(id, pairs) else { throw wrongOperand("a dict", target) }
    }

    private func call(_ callable: PickleValue, _ arguments: [PickleValue]) throws -> PickleValue {
        guard case .global(let qualifiedName) = callable else { throw wrongOperand("a global to call", callable) }
        return try host.call(qualifiedName, arguments: arguments, heap: heap)
    }

    private func tuple(_ value: PickleValue) throws -> [PickleValue] {
        guard let items = heap.tuple(value) else { throw wrongOperand("an argument tuple", value) }
        return items
    }

    private func string(_ value: PickleValue) throws -> String {
        guard case .string(let text) = value else { throw wrongOperand("a string", value) }
        return text
    }

    private func wrongOperand(_ expected: String, _ found: PickleValue) -> PickleError {
        .wrongOperand(opcode: name, expected: expected, found: found.kind(in: heap), offset: opcodeOffset)
    }

    // MARK: reading operands

    private mutating func take(_ length: UInt64, _ what: String) throws -> UnsafeRawBufferPointer {
        guard length <= UInt64(bytes.count - position) else {
            throw PickleError.lengthPastEnd(what: what, length: length, offset: opcodeOffset)
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position..<(position + Int(length))])
        position += Int(length)
        return slice
    }

    private mutating func fixed<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        guard MemoryLayout<T>.size <= bytes.count - position else { throw PickleError.truncated(offset: opcodeOffset) }
        let value = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    private mutating func u8() throws -> UInt8 { try fixed(UInt8.self) }
    private mutating func u16() throws -> UInt16 { try fixed(UInt16.self) }
    private mutating func u32() throws -> UInt32 { try fixed(UInt32.self) }
    private mutating func u64() throws -> UInt64 { try fixed(UInt64.self) }

    private mutating func text(length: UInt64) throws -> String {
        String(decoding: try take(length, "string"), as: UTF8.self)
    }

    /// The text up to the next newline (protocol-0 arguments).
    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: ascii("\n")) else { throw PickleError.truncated(offset: opcodeOffset) }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<end]), as: UTF8.self)
        position = end + 1
        return text
    }

    /// A little-endian two's-complement integer of `length` bytes (LONG1, LONG4).
    private mutating func long(length: UInt64) throws -> PickleValue {
        let digits = try take(length, "integer")
        guard digits.count <= 8 else { return .bigInt }
        guard let last = digits.last else { return .int(0) }
        var value: UInt64 = last & 0x80 != 0 ? ~0 : 0
        for byte in digits.reversed() { value = value << 8 | UInt64(byte) }
        return .int(Int(Int64(bitPattern: value)))
    }

    /// INT's text: `00` and `01` are False and True (protocol 0's bools), else a decimal.
    private mutating func textInt() throws -> PickleValue {
        let text = try line()
        if text == "00" || text == "01" { return .bool(text == "01") }
        guard let value = Int(text) else { return try bigOrBad(text) }
        return .int(value)
    }

    /// LONG's text: a decimal with a trailing `L`.
    private mutating func textLong() throws -> PickleValue {
        let text = try line()
        let digits = text.hasSuffix("L") ? String(text.dropLast()) : text
        guard let value = Int(digits) else { return try bigOrBad(digits) }
        return .int(value)
    }

    private func bigOrBad(_ text: String) throws -> PickleValue {
        let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else {
            throw PickleError.badTextArgument(opcode: name, offset: opcodeOffset)
        }
        return .bigInt
    }

    private mutating func textIndex() throws -> Int {
        guard let index = Int(try line()), index >= 0 else { throw PickleError.badTextArgument(opcode: name, offset: opcodeOffset) }
        return index
    }

    /// The current opcode as pickletools names it, for messages.
    private var name: String { PickleOpcodeName.of(opcode) }
}

@inline(__always) private func ascii(_ character: Unicode.Scalar) -> UInt8 { UInt8(ascii: character) }

/// Opcode names as Python's pickletools prints them.
enum PickleOpcodeName {
    static func of(_ opcode: UInt8) -> String { names[opcode] ?? "0x" + String(opcode, radix: 16) }

    private static let names: [UInt8: String] = [
        0x80: "PROTO", 0x95: "FRAME", 0x2E: "STOP", 0x28: "MARK", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP",
        0x4E: "NONE", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x49: "INT", 0x4A: "BININT", 0x4B: "BININT1",
        0x4D: "BININT2", 0x4C: "LONG", 0x8A: "LONG1", 0x8B: "LONG4", 0x46: "FLOAT", 0x47: "BINFLOAT",
        0x58: "BINUNICODE", 0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x54: "BINSTRING",
        0x55: "SHORT_BINSTRING", 0x53: "STRING", 0x56: "UNICODE", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
        0x8E: "BINBYTES8", 0x96: "BYTEARRAY8", 0x29: "EMPTY_TUPLE", 0x74: "TUPLE", 0x85: "TUPLE1",
        0x86: "TUPLE2", 0x87: "TUPLE3", 0x5D: "EMPTY_LIST", 0x6C: "LIST", 0x61: "APPEND", 0x65: "APPENDS",
        0x7D: "EMPTY_DICT", 0x64: "DICT", 0x73: "SETITEM", 0x75: "SETITEMS", 0x8F: "EMPTY_SET",
        0x90: "ADDITEMS", 0x91: "FROZENSET", 0x67: "GET", 0x68: "BINGET", 0x6A: "LONG_BINGET", 0x70: "PUT",
        0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x94: "MEMOIZE", 0x63: "GLOBAL", 0x93: "STACK_GLOBAL",
        0x52: "REDUCE", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x69: "INST", 0x6F: "OBJ", 0x62: "BUILD",
        0x51: "BINPERSID", 0x50: "PERSID", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
        0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
}
