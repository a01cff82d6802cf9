import CkptSupport
/// The rules a safetensors file can break, one case each.
public enum SafeTensorsError: Error, CustomStringConvertible, Sendable {
    case fileTooSmall(size: Int)
    case headerTooLarge(length: UInt64)
    case headerPastEnd(length: UInt64, fileSize: Int)
    case headerNotUTF8
    case headerNotObject
    case headerNotJSON(JSONError)
    case metadataNotStrings
    case malformedEntry(tensor: String, problem: String)
    case unknownDType(tensor: String, dtype: String)
    case duplicateTensor(String)
    case shapeOverflow(tensor: String)
    case offsetsReversed(tensor: String, begin: Int, end: Int)
    case gap(tensor: String, begin: Int, expected: Int)
    case overlap(tensor: String, begin: Int, previous: String, previousEnd: Int)
    case sizeMismatch(tensor: String, dtype: DType, shape: [Int], expected: Int, actual: Int)
    case pastEnd(tensor: String, end: Int, dataSize: Int)
    case trailingData(covered: Int, dataSize: Int)

    /// The largest header the reference reader accepts.
    static let maxHeaderLength: UInt64 = 100_000_000

    public var description: String {
        switch self {
        case .fileTooSmall(let size):
            return "file is \(size) bytes, too short for the 8-byte header length of a safetensors file"
        case .headerTooLarge(let length):
            return "header length \(length) exceeds the 100 MB limit (not a safetensors file, or a corrupted one)"
        case .headerPastEnd(let length, let fileSize):
            return "header length \(length) runs past the end of the \(fileSize)-byte file (truncated?)"
        case .headerNotUTF8:
            return "header is not valid UTF-8"
        case .headerNotObject:
            return "header is not a JSON object"
        case .headerNotJSON(let error):
            return "header is not valid JSON: \(error)"
        case .metadataNotStrings:
            return "__metadata__ must map strings to strings"
        case .malformedEntry(let tensor, let problem):
            return "tensor '\(tensor)': \(problem)"
        case .unknownDType(let tensor, let dtype):
            return "tensor '\(tensor)': unknown dtype '\(dtype)'"
        case .duplicateTensor(let name):
            return "tensor '\(name)' is listed twice in the header"
        case .shapeOverflow(let tensor):
            return "tensor '\(tensor)': shape is too large to address"
        case .offsetsReversed(let tensor, let begin, let end):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] end before they begin"
        case .gap(let tensor, let begin, let expected):
            return "tensor '\(tensor)': data starts at \(begin) but the previous tensor ends at \(expected) (gap in the data area)"
        case .overlap(let tensor, let begin, let previous, let previousEnd):
            return "tensor '\(tensor)': data at \(begin) overlaps tensor '\(previous)', which ends at \(previousEnd)"
        case .sizeMismatch(let tensor, let dtype, let shape, let expected, let actual):
            return "tensor '\(tensor)': \(dtype.rawValue) \(Shape.text(shape)) needs \(expected) bytes but data_offsets span \(actual)"
        case .pastEnd(let tensor, let end, let dataSize):
            return "tensor '\(tensor)': data ends at \(end), past the end of the \(dataSize)-byte data area (truncated?)"
        case .trailingData(let covered, let dataSize):
            return "tensors cover \(covered) bytes but the data area holds \(dataSize)"
        }
    }
}
