import CkptSupport
/// A NumPy `.npz` archive: a zip of `.npy` members, member `name.npy` holding tensor `name`.
///
/// Opening reads the central directory and each member's `.npy` header (for deflated members, by
/// inflating only the header). Stored members are viewed in place; deflated ones are inflated when
/// fetched. CRC-32 is checked whenever a member's data is fetched.
public final class NPZFile: TensorReader {
    public let path: String
    public var formatName: String { compressed ? "npz (deflate)" : "npz" }
    public let tensors: [TensorInfo]
    public var metadata: [(String, String)] { [] }
    private let storage: FileBytes
    private let members: [String: (member: ZipMember, header: NPYHeader)]
    private let compressed: Bool

    public convenience init(path: String) throws { try self.init(path: path, storage: .mapping(path)) }

    /// Reads an archive held in `storage`.
    init(path: String, storage: FileBytes) throws {
        self.path = path
        self.storage = storage
        let (infos, members) = try attributing(to: path) { try Self.readMembers(storage.bytes) }
        tensors = infos
        self.members = members
        compressed = members.values.contains { $0.member.method == ZipMember.deflated }
    }

    private static func readMembers(_ bytes: UnsafeRawBufferPointer) throws -> ([TensorInfo], [String: (member: ZipMember, header: NPYHeader)]) {
        let archive = try ZipArchive(bytes)
        var infos: [TensorInfo] = []
        var table: [String: (member: ZipMember, header: NPYHeader)] = [:]
        for member in archive.members {
            guard member.name.hasSuffix(".npy") else { throw NPZError.notAnArray(member: member.name) }
            let name = String(member.name.dropLast(4))
            let header = try memberError(member.name) { try readHeader(member, bytes) }
            guard UInt64(header.headerSize) + UInt64(header.dataSize) == member.uncompressedSize else {
                throw NPZError.member(member.name, NPYError.dataSizeMismatch(
                    expected: header.dataSize, actual: Int(clamping: member.uncompressedSize) - header.headerSize))
            }
            infos.append(TensorInfo(name: name, dtype: header.dtype, shape: header.shape))
            table[name] = (member, header)
        }
        return (infos, table)
    }

    private static func readHeader(_ member: ZipMember, _ bytes: UnsafeRawBufferPointer) throws -> NPYHeader {
        let data = UnsafeRawBufferPointer(rebasing: bytes[member.dataOffset..<(member.dataOffset + Int(member.compressedSize))])
        if member.method == ZipMember.stored { return try NPYHeader(data) }
        // Inflate the preamble, learn the header size, then inflate the rest of the header.
        let inflater = try member.inflating { try Inflater(data) }
        var prefix = [UInt8](repeating: 0, count: NPYHeader.preambleSize)
        let got = try prefix.withUnsafeMutableBytes { buffer in try member.inflating { try inflater.read(into: buffer) } }
        let size = try NPYHeader.headerSize(preamble: prefix.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[0..<got]) })
        guard size > got else { return try prefix.withUnsafeBytes { try NPYHeader(UnsafeRawBufferPointer(rebasing: $0[0..<got])) } }
        var header = prefix + [UInt8](repeating: 0, count: size - got)
        let more = try header.withUnsafeMutableBytes { buffer in
            try member.inflating { try inflater.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[got...])) }
        }
        return try header.withUnsafeBytes { try NPYHeader(UnsafeRawBufferPointer(rebasing: $0[0..<(got + more)])) }
    }

    public func tensor(named name: String) throws -> TensorView {
        guard let (member, header) = members[name] else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        return try attributing(to: path) { try load(name: name, member: member, header: header) }
    }

    /// A C-order, little-endian stored member is handed over in place with its CRC check deferred.
    public func tensorForStreaming(named name: String) throws -> (view: TensorView, check: DeferredChecksum?) {
        guard let (member, header) = members[name] else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        let dataRange = header.headerSize..<Int(member.uncompressedSize)
        guard NPYData.isInPlace(header), let (bytes, check) = storage.uncheckedContents(of: member, covering: dataRange, file: path) else {
            return (try tensor(named: name), nil)
        }
        return (NPYData.view(name: name, header: header, data: UnsafeRawBufferPointer(rebasing: bytes[dataRange]), owner: storage.owner), check)
    }

    private func load(name: String, member: ZipMember, header: NPYHeader) throws -> TensorView {
        let (data, owner) = try storage.contents(of: member)
        return NPYData.view(name: name, header: header, data: UnsafeRawBufferPointer(rebasing: data[header.headerSize...]), owner: owner)
    }

    private static func memberError<T>(_ member: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as NPYError { throw NPZError.member(member, error) }
    }
}

/// Problems specific to `.npz` archives, beyond the zip and `.npy` rules.
public enum NPZError: Error, CustomStringConvertible, Sendable {
    case notAnArray(member: String)
    case member(String, NPYError)
    case unsupportedDType(tensor: String, DType)

    public var description: String {
        switch self {
        case .notAnArray(let member): return "member '\(member)' is not a .npy array"
        case .member(let member, let error): return "member '\(member)': \(error)"
        case .unsupportedDType(let tensor, let dtype):
            return "tensor '\(tensor)': NumPy has no \(dtype.rawValue) type; convert it to f32, f16 or bf16"
        }
    }
}
