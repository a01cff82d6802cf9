import CkptSupport
/// A readable tensor file (or set of files): what every format's reader provides.
public protocol TensorReader: AnyObject {
    /// The file or index the tensors come from.
    var path: String { get }
    /// A short name of the format, as `ckpt inspect` prints it.
    var formatName: String { get }
    /// Every tensor, in file order, as its header describes it (no data is read to list them).
    var tensors: [TensorInfo] { get }
    /// String metadata stored with the tensors (safetensors' `__metadata__`), in file order.
    var metadata: [(String, String)] { get }
    /// The data of one tensor. Throws `FormatError` if it cannot be read (bad CRC, bad stream).
    func tensor(named name: String) throws -> TensorView
    /// The tensor for reading once, front to back: readers whose members carry a CRC-32 may hand the
    /// bytes over unchecked with the check to run during that pass (`DeferredChecksum`), so the data
    /// is read once rather than twice. Whoever reads this way must finish the check before trusting
    /// what it wrote (a converter writes to a temporary file and renames it only afterwards).
    func tensorForStreaming(named name: String) throws -> (view: TensorView, check: DeferredChecksum?)
}

/// A zip member's CRC-32 check left for the one pass a streaming reader makes over a tensor's
/// bytes: the member's bytes before and after the tensor are summed here, the tensor's bytes by
/// `update` as they are read, and `finish` throws if the sum is not the declared one.
public final class DeferredChecksum {
    let after: UnsafeRawBufferPointer
    let expected: UInt32
    let member: String
    let file: String
    private var crc: UInt32

    init(before: UnsafeRawBufferPointer, after: UnsafeRawBufferPointer, expected: UInt32, member: String, file: String) {
        (self.after, self.expected, self.member, self.file) = (after, expected, member, file)
        crc = CRC32.of(before)
    }

    /// Adds the next bytes of the tensor, in order.
    public func update(_ bytes: UnsafeRawBufferPointer) { crc = CRC32.update(crc, bytes) }

    /// Throws the reader's CRC error if the member's bytes do not sum to the declared CRC-32.
    public func finish() throws {
        let actual = CRC32.update(crc, after)
        guard actual == expected else { throw FormatError(file: file, ZipError.crcMismatch(member: member, declared: expected, actual: actual)) }
    }
}

extension TensorReader {
    /// Readers without member checksums read the tensor as `tensor(named:)` does.
    public func tensorForStreaming(named name: String) throws -> (view: TensorView, check: DeferredChecksum?) {
        (try tensor(named: name), nil)
    }
}
