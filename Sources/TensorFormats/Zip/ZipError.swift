/// The rules a zip archive (an `.npz`) can break, one case each.
public enum ZipError: Error, CustomStringConvertible, Sendable {
    case noEndRecord
    case multiDisk
    case badZip64Locator
    case badZip64Record(offset: UInt64)
    case centralDirectoryOutOfRange(offset: UInt64, size: UInt64, fileSize: Int)
    case badCentralHeader(offset: Int)
    case entryCountMismatch(declared: UInt64, found: Int)
    case truncatedEntry(offset: Int)
    case badZip64Extra(member: String)
    case badLocalHeader(member: String, offset: Int)
    case nameMismatch(member: String, local: String)
    case dataOutOfRange(member: String)
    case encrypted(member: String)
    case unsupportedMethod(member: String, method: UInt16)
    case storedSizeMismatch(member: String, compressed: UInt64, uncompressed: UInt64)
    case implausibleSize(member: String, compressed: UInt64, uncompressed: UInt64)
    case badDeflateStream(member: String, reason: String)
    case sizeMismatch(member: String, declared: UInt64, actual: UInt64)
    case crcMismatch(member: String, declared: UInt32, actual: UInt32)
    case duplicateMember(String)
    case nameNotUTF8(offset: Int)

    public var description: String {
        switch self {
        case .noEndRecord:
            return "not a zip archive: no end-of-central-directory record (truncated or not an .npz?)"
        case .multiDisk:
            return "multi-disk zip archives are not supported"
        case .badZip64Locator:
            return "zip64 end-of-central-directory locator is damaged"
        case .badZip64Record(let offset):
            return "no zip64 end-of-central-directory record at offset \(offset)"
        case .centralDirectoryOutOfRange(let offset, let size, let fileSize):
            return "central directory (offset \(offset), \(size) bytes) lies outside the \(fileSize)-byte file"
        case .badCentralHeader(let offset):
            return "no central directory header at offset \(offset) (wrong central-directory offset?)"
        case .entryCountMismatch(let declared, let found):
            return "end record declares \(declared) members but the central directory holds \(found)"
        case .truncatedEntry(let offset):
            return "central directory entry at offset \(offset) runs past the directory's end"
        case .badZip64Extra(let member):
            return "member '\(member)': zip64 extra field is missing or too short"
        case .badLocalHeader(let member, let offset):
            return "member '\(member)': no local header at offset \(offset)"
        case .nameMismatch(let member, let local):
            return "member '\(member)': local header names it '\(local)'"
        case .dataOutOfRange(let member):
            return "member '\(member)': data runs past the end of the archive's data (truncated or lying sizes)"
        case .encrypted(let member):
            return "member '\(member)' is encrypted"
        case .unsupportedMethod(let member, let method):
            return "member '\(member)' uses compression method \(method); only stored (0) and deflate (8) are supported"
        case .storedSizeMismatch(let member, let compressed, let uncompressed):
            return "member '\(member)' is stored but declares \(compressed) stored and \(uncompressed) uncompressed bytes"
        case .implausibleSize(let member, let compressed, let uncompressed):
            return "member '\(member)' declares \(uncompressed) bytes from \(compressed) compressed bytes, more than deflate can produce"
        case .badDeflateStream(let member, let reason):
            return "member '\(member)': deflate stream is damaged (\(reason))"
        case .sizeMismatch(let member, let declared, let actual):
            return "member '\(member)' declares \(declared) uncompressed bytes but inflates to \(actual)"
        case .crcMismatch(let member, let declared, let actual):
            return "member '\(member)': CRC-32 is \(hex(actual)) but the archive says \(hex(declared)) (corrupted data)"
        case .duplicateMember(let name):
            return "member '\(name)' appears twice"
        case .nameNotUTF8(let offset):
            return "member name at offset \(offset) is flagged UTF-8 but is not"
        }
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
