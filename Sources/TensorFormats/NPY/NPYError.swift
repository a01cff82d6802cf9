/// The rules a `.npy` array (alone or inside an `.npz`) can break, one case each.
public enum NPYError: Error, CustomStringConvertible, Sendable {
    case badMagic
    case unsupportedVersion(major: UInt8, minor: UInt8)
    case truncatedHeader(needed: Int, available: Int)
    case headerTooLarge(length: Int)
    case headerNotText
    case malformedHeader(String)
    case objectArray
    case unsupportedDType(String)
    case shapeOverflow
    case dataSizeMismatch(expected: Int, actual: Int)

    /// Headers longer than this are refused (NumPy's own limit is 10 000 bytes by default).
    static let maxHeaderLength = 1 << 20

    public var description: String {
        switch self {
        case .badMagic: return "not a .npy array: bad magic bytes"
        case .unsupportedVersion(let major, let minor): return ".npy format version \(major).\(minor) is not supported (1.0, 2.0 and 3.0 are)"
        case .truncatedHeader(let needed, let available): return ".npy header needs \(needed) bytes but only \(available) are present (truncated)"
        case .headerTooLarge(let length): return ".npy header length \(length) exceeds the 1 MiB limit"
        case .headerNotText: return ".npy header is not valid text"
        case .malformedHeader(let problem): return "malformed .npy header: \(problem)"
        case .objectArray: return "object arrays (dtype 'O') hold pickled Python objects and are refused; save numeric arrays instead"
        case .unsupportedDType(let descr): return "unsupported .npy dtype '\(descr)'"
        case .shapeOverflow: return ".npy shape is too large to address"
        case .dataSizeMismatch(let expected, let actual): return ".npy header declares \(expected) data bytes but the array holds \(actual)"
        }
    }
}
