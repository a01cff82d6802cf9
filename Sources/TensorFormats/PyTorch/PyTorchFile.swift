import CkptSupport
/// A PyTorch checkpoint as `torch.save` writes it since PyTorch 1.6 (`pytorch_model.bin`, `.pt`,
/// `.pth`): a zip archive of `NAME/data.pkl`, the pickled state dict, and `NAME/data/KEY`, one
/// record of raw little-endian (or, per `NAME/byteorder`, big-endian) elements per storage.
///
/// The pickle is read by a restricted machine that builds tensors, storages, dicts and plain values
/// and refuses every other global by name: nothing in the file is ever executed. Tensors that are
/// contiguous in little-endian storages are viewed in place; transposed or strided views and
/// big-endian data are materialised. Tensors that shared a storage when saved (tied weights) read
/// the same record. Records are CRC-checked when read, unless the archive was saved without CRCs
/// (every CRC 0, `compute_crc32 = False`), which torch.load accepts. A state dict nested under
/// `state_dict`, `model_state_dict`, `model` or `module` is found.
public final class PyTorchFile: TensorReader {
    public let path: String
    public var formatName: String { "pytorch" }
    public let tensors: [TensorInfo]
    public var metadata: [(String, String)] { [] }
    private let storage: FileBytes
    private let records: [String: ZipMember]
    private let tensorsByName: [String: TorchTensor]
    private let bigEndian: Bool

    /// The largest `data.pkl` read: a state dict of 50,000 tensors pickles to about 15 MB.
    static let maxPickleBytes = 256 << 20

    public convenience init(path: String) throws { try self.init(path: path, storage: .mapping(path)) }

    /// Reads a checkpoint held in `storage`.
    init(path: String, storage: FileBytes) throws {
        self.path = path
        self.storage = storage
        let contents = try attributing(to: path) { try Self.read(storage) }
        tensors = contents.tensors.map { TensorInfo(name: $0.name, dtype: $0.tensor.storage.dtype, shape: $0.tensor.shape) }
        tensorsByName = Dictionary(contents.tensors.map { ($0.name, $0.tensor) }, uniquingKeysWith: { $1 })
        records = contents.records
        bigEndian = contents.bigEndian
    }

    private static func read(_ storage: FileBytes) throws -> (tensors: [(name: String, tensor: TorchTensor)], records: [String: ZipMember], bigEndian: Bool) {
        let archive: ZipArchive
        do { archive = try ZipArchive(storage.bytes) } catch ZipError.noEndRecord {
            throw isLegacy(storage.bytes) ? PyTorchError.legacyFormat : PyTorchError.notAnArchive
        }
        let pickles = archive.members.filter { $0.name.hasSuffix("/data.pkl") && $0.name.split(separator: "/").count == 2 }
        guard let pickle = pickles.first else { throw PyTorchError.noDataPickle }
        guard pickles.count == 1 else { throw PyTorchError.severalDataPickles(pickles.map(\.name)) }
        let prefix = String(pickle.name.dropLast("data.pkl".count))
        let byName = Dictionary(archive.members.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        if byName[prefix + "constants.pkl"] != nil { throw PyTorchError.torchScript }

        var bigEndian = false
        if let order = byName[prefix + "byteorder"] {
            let text = String(decoding: try storage.contents(of: order, zeroCRCMeansUnset: true).bytes.prefix(16), as: UTF8.self)
            guard text == "little" || text == "big" else { throw PyTorchError.badByteOrder(text) }
            bigEndian = text == "big"
        }
        let recordPrefix = prefix + "data/"
        var records: [String: ZipMember] = [:]
        for member in archive.members where member.name.hasPrefix(recordPrefix) {
            records[String(member.name.dropFirst(recordPrefix.count))] = member
        }

        guard pickle.uncompressedSize <= UInt64(maxPickleBytes) else {
            throw PyTorchError.dataPickleTooLarge(bytes: pickle.uncompressedSize, limit: maxPickleBytes)
        }
        let (pickleBytes, pickleOwner) = try storage.contents(of: pickle, zeroCRCMeansUnset: true)
        let host = TorchPickleHost { key, _ in records[key]?.uncompressedSize }
        var machine = PickleMachine(pickleBytes, host: host)
        let root = try withExtendedLifetime(pickleOwner) { try machine.run() }
        let tensors = try TorchStateDict.tensors(in: root, heap: machine.heap)
        return (tensors, records, bigEndian)
    }

    /// Whether the bytes begin as the pre-1.6 format does: a pickled magic number (protocol 2,
    /// LONG1 0x1950a86a20f9469cfc6c), or a tar archive (the format before that).
    private static func isLegacy(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
        if bytes.starts(with: magic) { return true }
        return bytes.count >= 262 && bytes[257..<262].elementsEqual("ustar".utf8)
    }

    /// A contiguous little-endian tensor is handed over in place with its storage's CRC check deferred.
    public func tensorForStreaming(named name: String) throws -> (view: TensorView, check: DeferredChecksum?) {
        guard let tensor = tensorsByName[name], let record = records[tensor.storage.key] else {
            throw FormatError(file: path, CheckpointError.noSuchTensor(name))
        }
        let info = TensorInfo(name: name, dtype: tensor.storage.dtype, shape: tensor.shape)
        let range = (tensor.offset * info.dtype.size)..<(tensor.offset * info.dtype.size + info.byteCount)
        guard tensor.isContiguous && !bigEndian,
              let (bytes, check) = storage.uncheckedContents(of: record, covering: range, zeroCRCMeansUnset: true, file: path) else {
            return (try self.tensor(named: name), nil)
        }
        return (TensorView(info: info, bytes: UnsafeRawBufferPointer(rebasing: bytes[range]), owner: storage.owner), check)
    }

    public func tensor(named name: String) throws -> TensorView {
        guard let tensor = tensorsByName[name], let record = records[tensor.storage.key] else {
            throw FormatError(file: path, CheckpointError.noSuchTensor(name))
        }
        let (data, owner) = try attributing(to: path) { try storage.contents(of: record, zeroCRCMeansUnset: true) }
        let info = TensorInfo(name: name, dtype: tensor.storage.dtype, shape: tensor.shape)
        let size = info.dtype.size
        if tensor.isContiguous && !bigEndian {
            let start = tensor.offset * size
            return TensorView(info: info, bytes: UnsafeRawBufferPointer(rebasing: data[start..<(start + info.byteCount)]), owner: owner)
        }
        let copy = OwnedBytes(count: info.byteCount)
        StridedCopy.gather(from: data, into: copy.buffer, offset: tensor.offset, shape: tensor.shape,
                           strides: tensor.strides, elementSize: size)
        if bigEndian { ByteOrder.swapElements(copy.buffer, elementSize: size) }
        return TensorView(info: info, bytes: UnsafeRawBufferPointer(copy.buffer), owner: copy)
    }
}

extension TorchTensor {
    /// Whether the elements lie in C order without gaps (axes of size 1 may have any stride).
    var isContiguous: Bool {
        var expected = 1
        for (size, stride) in zip(shape, strides).reversed() where size != 1 {
            if stride != expected { return false }
            expected *= size
        }
        return true
    }
}
