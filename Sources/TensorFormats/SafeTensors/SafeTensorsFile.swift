import CkptSupport
/// A safetensors file, mapped and validated: every rule of the reference reader is checked when it
/// is opened, so later tensor access cannot fail.
///
/// Layout: 8-byte little-endian header length N, N bytes of JSON header, then the data area, in
/// which each tensor's `data_offsets` are relative to the data area's start.
public final class SafeTensorsFile: TensorReader {
    public let path: String
    public var formatName: String { "safetensors" }
    public let tensors: [TensorInfo]
    public let metadata: [(String, String)]
    private let storage: FileBytes
    private let dataStart: Int
    private let entries: [String: SafeTensorsHeader.Entry]

    /// Opens and validates `path`. Throws `FormatError` with the first problem found.
    public convenience init(path: String) throws { try self.init(path: path, storage: .mapping(path)) }

    /// Validates a safetensors file held in `storage`.
    init(path: String, storage: FileBytes) throws {
        self.path = path
        self.storage = storage
        let header = try attributing(to: path) { try SafeTensorsHeader(storage.bytes) }
        tensors = header.entries.map(\.info)
        metadata = header.metadata
        dataStart = header.dataStart
        entries = Dictionary(uniqueKeysWithValues: header.entries.map { ($0.info.name, $0) })
    }

    public func tensor(named name: String) throws -> TensorView {
        guard let entry = entries[name] else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        let range = (dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound)
        return TensorView(info: entry.info, bytes: storage[range], owner: storage.owner)
    }
}

/// The parsed and validated header of a safetensors file.
struct SafeTensorsHeader {
    struct Entry {
        var info: TensorInfo
        var range: Range<Int>
    }
    /// Entries in data order.
    var entries: [Entry]
    var metadata: [(String, String)]
    /// Offset of the data area in the file.
    var dataStart: Int

    init(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= 8 else { throw SafeTensorsError.fileTooSmall(size: bytes.count) }
        let length = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard length <= SafeTensorsError.maxHeaderLength else { throw SafeTensorsError.headerTooLarge(length: length) }
        guard 8 + Int(length) <= bytes.count else { throw SafeTensorsError.headerPastEnd(length: length, fileSize: bytes.count) }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + Int(length))])
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw SafeTensorsError.headerNotUTF8 }
        // The reference refuses a header that does not start with '{' before parsing it.
        guard headerBytes.first == UInt8(ascii: "{") else { throw SafeTensorsError.headerNotObject }
        let json: JSON
        do { json = try JSON.parse(headerBytes) } catch let error as JSONError { throw SafeTensorsError.headerNotJSON(error) }
        guard let members = json.object else { throw SafeTensorsError.headerNotObject }

        var metadata: [(String, String)] = []
        var entries: [Entry] = []
        var seen = Set<String>()
        for (name, value) in members {
            guard seen.insert(name).inserted else { throw SafeTensorsError.duplicateTensor(name) }
            if name == "__metadata__" {
                guard let pairs = value.object else { throw SafeTensorsError.metadataNotStrings }
                for (key, item) in pairs {
                    guard let text = item.string else { throw SafeTensorsError.metadataNotStrings }
                    metadata.append((key, text))
                }
                continue
            }
            entries.append(try Self.entry(name: name, value))
        }
        entries.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }

        let dataSize = bytes.count - 8 - Int(length)
        var end = 0
        var previous = ""
        for entry in entries {
            let name = entry.info.name
            if entry.range.lowerBound < end {
                throw SafeTensorsError.overlap(tensor: name, begin: entry.range.lowerBound, previous: previous, previousEnd: end)
            }
            if entry.range.lowerBound > end {
                throw SafeTensorsError.gap(tensor: name, begin: entry.range.lowerBound, expected: end)
            }
            if entry.range.upperBound > dataSize {
                throw SafeTensorsError.pastEnd(tensor: name, end: entry.range.upperBound, dataSize: dataSize)
            }
            end = entry.range.upperBound
            previous = name
        }
        guard end == dataSize else { throw SafeTensorsError.trailingData(covered: end, dataSize: dataSize) }
        self.entries = entries
        self.metadata = metadata
        self.dataStart = 8 + Int(length)
    }

    private static func entry(name: String, _ value: JSON) throws -> Entry {
        guard value.object != nil else { throw SafeTensorsError.malformedEntry(tensor: name, problem: "entry is not an object") }
        guard let dtypeName = value["dtype"]?.string else {
            throw SafeTensorsError.malformedEntry(tensor: name, problem: "missing or non-string 'dtype'")
        }
        guard let dtype = DType(rawValue: dtypeName) else { throw SafeTensorsError.unknownDType(tensor: name, dtype: dtypeName) }
        guard let dims = value["shape"]?.array else {
            throw SafeTensorsError.malformedEntry(tensor: name, problem: "missing or non-array 'shape'")
        }
        var shape: [Int] = []
        for dim in dims {
            guard let n = dim.int, n >= 0 else {
                throw SafeTensorsError.malformedEntry(tensor: name, problem: "'shape' must hold non-negative integers")
            }
            shape.append(n)
        }
        guard let offsets = value["data_offsets"]?.array, offsets.count == 2,
              let begin = offsets[0].int, let end = offsets[1].int, begin >= 0, end >= 0 else {
            throw SafeTensorsError.malformedEntry(tensor: name, problem: "'data_offsets' must be two non-negative integers")
        }
        guard end >= begin else { throw SafeTensorsError.offsetsReversed(tensor: name, begin: begin, end: end) }
        guard let expected = Shape.byteCount(shape, dtype) else { throw SafeTensorsError.shapeOverflow(tensor: name) }
        guard expected == end - begin else {
            throw SafeTensorsError.sizeMismatch(tensor: name, dtype: dtype, shape: shape, expected: expected, actual: end - begin)
        }
        return Entry(info: TensorInfo(name: name, dtype: dtype, shape: shape), range: begin..<end)
    }
}
