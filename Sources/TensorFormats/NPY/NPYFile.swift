import CkptSupport
/// A single `.npy` array as a checkpoint of one tensor, named after the file (`features.npy` →
/// `features`).
public final class NPYFile: TensorReader {
    public let path: String
    public var formatName: String { "npy" }
    public let tensors: [TensorInfo]
    public var metadata: [(String, String)] { [] }
    private let storage: FileBytes
    private let header: NPYHeader

    public init(path: String) throws {
        self.path = path
        storage = try .mapping(path)
        let bytes = storage.bytes
        header = try attributing(to: path) {
            let header = try NPYHeader(bytes)
            guard bytes.count - header.headerSize == header.dataSize else {
                throw NPYError.dataSizeMismatch(expected: header.dataSize, actual: bytes.count - header.headerSize)
            }
            return header
        }
        let file = path.split(separator: "/").last.map(String.init) ?? path
        tensors = [TensorInfo(name: String(file.dropLast(4)), dtype: header.dtype, shape: header.shape)]
    }

    public func tensor(named name: String) throws -> TensorView {
        guard name == tensors[0].name else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        return NPYData.view(name: name, header: header, data: storage[header.headerSize..<storage.bytes.count], owner: storage.owner)
    }
}
