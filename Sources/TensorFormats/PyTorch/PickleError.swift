/// The rules a pickle stream can break, as the restricted pickle machine finds them. Offsets are
/// byte positions in the pickle (`data.pkl`).
public enum PickleError: Error, CustomStringConvertible, Sendable {
    case truncated(offset: Int)
    case lengthPastEnd(what: String, length: UInt64, offset: Int)
    case unsupportedProtocol(Int)
    case unknownOpcode(UInt8, offset: Int)
    case unsupportedOpcode(String, offset: Int)
    case stackUnderflow(opcode: String, offset: Int)
    case noMark(opcode: String, offset: Int)
    case wrongOperand(opcode: String, expected: String, found: String, offset: Int)
    case memoMissing(index: Int, offset: Int)
    case badTextArgument(opcode: String, offset: Int)
    case oddDictItems(offset: Int)
    case tooManyValues(limit: Int)
    case noStop
    case emptyAtStop

    public var description: String {
        switch self {
        case .truncated(let offset):
            return "pickle ends in the middle of an opcode at offset \(offset) (truncated)"
        case .lengthPastEnd(let what, let length, let offset):
            return "pickle \(what) of \(length) bytes at offset \(offset) runs past the end of the pickle"
        case .unsupportedProtocol(let version):
            return "pickle protocol \(version) is not supported (protocols 2 to 5 are)"
        case .unknownOpcode(let byte, let offset):
            return "unknown pickle opcode 0x\(String(byte, radix: 16)) at offset \(offset) (not a pickle, or damaged)"
        case .unsupportedOpcode(let name, let offset):
            return "pickle opcode \(name) at offset \(offset) is not supported in checkpoints"
        case .stackUnderflow(let opcode, let offset):
            return "pickle opcode \(opcode) at offset \(offset) needs more values than the stack holds"
        case .noMark(let opcode, let offset):
            return "pickle opcode \(opcode) at offset \(offset) has no MARK before it"
        case .wrongOperand(let opcode, let expected, let found, let offset):
            return "pickle opcode \(opcode) at offset \(offset) expects \(expected) but finds \(found)"
        case .memoMissing(let index, let offset):
            return "pickle reads memo entry \(index) at offset \(offset), which was never stored"
        case .badTextArgument(let opcode, let offset):
            return "pickle opcode \(opcode) at offset \(offset) has a malformed text argument"
        case .oddDictItems(let offset):
            return "pickle builds a dict from an odd number of items at offset \(offset)"
        case .tooManyValues(let limit):
            return "pickle builds more than \(limit) values; refused to bound memory (no state dict needs that many)"
        case .noStop:
            return "pickle has no STOP opcode (truncated)"
        case .emptyAtStop:
            return "pickle stops with nothing on its stack"
        }
    }
}
