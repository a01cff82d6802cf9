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
}
