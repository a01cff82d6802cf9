import CkptSupport

/// Another reader's tensors under other names, some 2-D ones transposed, and any f32 tensors held
/// in memory after them: how a GGUF file is read under the names and layouts of the Hugging Face
/// checkpoint it stands for (with the head tensors ckpt keeps in its metadata).
public final class RenamedReader: TensorReader {
    /// One tensor: `name` as presented, `source` as the underlying reader names it.
    public struct Entry: Sendable {
        public var name: String
        public var source: String
        /// Whether the presented tensor is the source's 2-D transpose.
        public var transpose: Bool

        public init(name: String, source: String, transpose: Bool) {
            self.name = name
            self.source = source
            self.transpose = transpose
        }
    }

    public let base: any TensorReader
    public let tensors: [TensorInfo]
    private let entries: [String: (info: TensorInfo, entry: Entry)]
    private let resident: [String: TensorView]
    public var path: String { base.path }
    public var formatName: String { base.formatName }
    public var metadata: [(String, String)] { [] }

    /// Presents `entries` of `base`, in their order, then `resident` (f32 values with their names and
    /// shapes); a missing source or a transposed tensor that is not 2-D is an error naming it.
    public init(_ base: any TensorReader, entries: [Entry], resident: [(name: String, shape: [Int], values: [Float])] = []) throws {
        self.base = base
        let sources = Dictionary(base.tensors.map { ($0.name, $0) }) { first, _ in first }
        var infos: [TensorInfo] = []
        var table: [String: (info: TensorInfo, entry: Entry)] = [:]
        for entry in entries {
            guard var info = sources[entry.source] else { throw FormatError(file: base.path, CheckpointError.noSuchTensor(entry.source)) }
            if entry.transpose {
                guard info.shape.count == 2 else { throw FormatError(file: base.path, CheckpointError.notAMatrix(entry.source, info.shape)) }
                info.shape.reverse()
            }
            info.name = entry.name
            infos.append(info)
            table[entry.name] = (info, entry)
        }
        var views: [String: TensorView] = [:]
        for tensor in resident {
            precondition(tensor.values.count == tensor.shape.reduce(1, *), "resident tensor \(tensor.name): values do not fill its shape")
            let info = TensorInfo(name: tensor.name, dtype: .F32, shape: tensor.shape)
            views[tensor.name] = TensorView(resident: info, values: tensor.values)
            infos.append(info)
        }
        tensors = infos
        self.entries = table
        self.resident = views
    }

    public func tensor(named name: String) throws -> TensorView {
        if let view = resident[name] { return view }
        guard let (info, entry) = entries[name] else { throw FormatError(file: path, CheckpointError.noSuchTensor(name)) }
        let view = try base.tensor(named: entry.source)
        guard entry.transpose else { return view.renamed(info) }
        defer { view.releasePages() }
        return view.transposed(as: info)
    }
}

extension TensorView {
    /// f32 `values` held in memory, described by `info` (F32, as many elements).
    init(resident info: TensorInfo, values: [Float]) {
        let owned = OwnedBytes(count: info.byteCount)
        values.withUnsafeBytes { owned.buffer.copyMemory(from: $0) }
        self.init(info: info, bytes: UnsafeRawBufferPointer(owned.buffer), owner: owned)
    }

    /// The same bytes under `info` (same type and element count).
    func renamed(_ info: TensorInfo) -> TensorView { TensorView(info: info, bytes: bytes, owner: owner) }

    /// This 2-D tensor's transpose, copied, described by `info` (the reversed shape).
    func transposed(as info: TensorInfo) -> TensorView {
        let rows = shape[0], columns = shape[1], size = dtype.size
        let owned = OwnedBytes(count: info.byteCount)
        for r0 in stride(from: 0, to: rows, by: 32) {
            for c0 in stride(from: 0, to: columns, by: 32) {
                for r in r0..<min(r0 + 32, rows) {
                    for c in c0..<min(c0 + 32, columns) {
                        let from = (r * columns + c) * size, to = (c * rows + r) * size
                        owned.buffer.baseAddress!.advanced(by: to).copyMemory(from: bytes.baseAddress!.advanced(by: from), byteCount: size)
                    }
                }
            }
        }
        return TensorView(info: info, bytes: UnsafeRawBufferPointer(owned.buffer), owner: owned)
    }
}
