/// The rules a GGUF file can break, one case each (ggml's docs/gguf.md is the spec).
public enum GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    case fileTooSmall(size: Int)
    case badMagic
    case bigEndian
    case unsupportedVersion(UInt32)
    case truncated(what: String, offset: Int)
    case countTooLarge(what: String, count: UInt64, remaining: Int)
    case notUTF8(what: String)
    case unknownValueType(key: String, type: UInt32)
    case nestingTooDeep(key: String)
    case duplicateKey(String)
    case badAlignment(String)
    case tooManyDimensions(tensor: String, dimensions: UInt32)
    case shapeOverflow(tensor: String)
    case unknownTensorType(tensor: String, type: UInt32)
    case unsupportedTensorType(tensor: String, type: String)
    case blockMisfit(tensor: String, rowLength: Int)
    case misalignedOffset(tensor: String, offset: UInt64, alignment: Int)
    case tensorPastEnd(tensor: String, end: UInt64, dataSize: Int)
    case overlap(tensor: String, previous: String)
    case duplicateTensor(String)

    public var description: String {
        switch self {
        case .fileTooSmall(let size): "file is \(size) bytes, too short for a GGUF header (24 bytes)"
        case .badMagic: "not a GGUF file (the first 4 bytes are not \"GGUF\")"
        case .bigEndian: "a big-endian GGUF file; only little-endian files are read"
        case .unsupportedVersion(let v): "GGUF version \(v) is not supported (versions 2 and 3 are)"
        case .truncated(let what, let offset): "\(what) at byte \(offset) runs past the end of the file (truncated?)"
        case .countTooLarge(let what, let count, let remaining):
            "\(what) count \(count) cannot fit in the \(remaining) bytes left in the file"
        case .notUTF8(let what): "\(what) is not valid UTF-8"
        case .unknownValueType(let key, let type): "metadata '\(key)' has unknown value type \(type)"
        case .nestingTooDeep(let key): "metadata '\(key)' nests arrays more than 8 deep"
        case .duplicateKey(let key): "metadata key '\(key)' appears twice"
        case .badAlignment(let problem): "general.alignment \(problem)"
        case .tooManyDimensions(let tensor, let n): "tensor '\(tensor)' has \(n) dimensions (GGUF allows at most 4)"
        case .shapeOverflow(let tensor): "tensor '\(tensor)': its dimensions' product overflows"
        case .unknownTensorType(let tensor, let type): "tensor '\(tensor)' has unknown type \(type)"
        case .unsupportedTensorType(let tensor, let type):
            "tensor '\(tensor)' is \(type), which ckpt does not read (F32, F16, BF16 and Q8_0 are read)"
        case .blockMisfit(let tensor, let length): "tensor '\(tensor)' is Q8_0 with rows of \(length) values, not a multiple of its 32-value blocks"
        case .misalignedOffset(let tensor, let offset, let alignment): "tensor '\(tensor)' starts at data offset \(offset), not a multiple of the alignment \(alignment)"
        case .tensorPastEnd(let tensor, let end, let dataSize): "tensor '\(tensor)' ends at data offset \(end), past the \(dataSize)-byte data section (truncated?)"
        case .overlap(let tensor, let previous): "tensor '\(tensor)' overlaps tensor '\(previous)'"
        case .duplicateTensor(let name): "tensor '\(name)' appears twice"
        }
    }
}
