import CkptSupport
import Dispatch
/// Where a conversion writes, decided from the output path.
public enum ConversionTarget: Equatable, Sendable {
    case safetensors(path: String)
    case npz(path: String, compress: Bool)
    /// A model directory: `model.safetensors`, or shards plus an index past `maxShardSize` bytes.
    case directory(path: String, maxShardSize: Int)

    /// transformers' default `max_shard_size` for `save_pretrained`.
    public static let defaultMaxShardSize = 5_000_000_000

    /// The target an output path names: a directory (existing, or written with a trailing `/`),
    /// a `.safetensors` file or an `.npz` file; nil when the path names none of these.
    public static func infer(output: String, compress: Bool, maxShardSize: Int?) -> ConversionTarget? {
        if output.hasSuffix("/") || FileSystem.isDirectory(output) {
            return .directory(path: output, maxShardSize: maxShardSize ?? defaultMaxShardSize)
        }
        if output.hasSuffix(".safetensors") { return .safetensors(path: output) }
        if output.hasSuffix(".npz") { return .npz(path: output, compress: compress) }
        return nil
    }
}

/// Which tensors a conversion keeps: those matching any `include` pattern (all, when there is
/// none) and no `exclude` pattern. Patterns are regular expressions searched anywhere in the name.
public struct TensorSelection {
    private let include: [Regex<AnyRegexOutput>]
    private let exclude: [Regex<AnyRegexOutput>]

    /// Compiles the patterns; throws the regex error for an invalid one.
    public init(include: [String] = [], exclude: [String] = []) throws {
        self.include = try include.map { try Regex($0) }
        self.exclude = try exclude.map { try Regex($0) }
    }

    public func contains(_ name: String) -> Bool {
        (include.isEmpty || include.contains { name.contains($0) }) && !exclude.contains { name.contains($0) }
    }
}

/// What a conversion did.
public struct ConversionSummary: Sendable {
    public var tensorCount: Int
    /// Tensors whose element type was changed by `--dtype` (quantized ones, for int8).
    public var castCount: Int
    /// Bytes of tensor data written (headers not counted).
    public var dataBytes: Int
    /// The files written.
    public var files: [String]
}

/// Problems with a conversion request.
public enum ConversionError: Error, CustomStringConvertible, Sendable {
    case nothingSelected
    case nothingToQuantize
    case int8NeedsSafeTensors

    public var description: String {
        switch self {
        case .nothingSelected: return "no tensor matches the include and exclude patterns; nothing to write"
        case .nothingToQuantize: return "no linear-layer weight to quantize (2-d floating-point '….weight' tensors; is it int8 already?)"
        case .int8NeedsSafeTensors: return "int8 checkpoints are written as safetensors (a .safetensors file or a directory), not .npz"
        }
    }
}

/// Converts checkpoints between formats, streaming tensor by tensor: the source is memory-mapped,
/// each tensor is cast and written in chunks, and its pages are released once written, so peak
/// memory stays near one chunk rather than one model.
public enum Converter {
    /// Bytes handled per step: the most of a source tensor held in memory at once.
    static let chunkSize = 16 << 20

    /// Writes the selected tensors of `source` to `target`, casting floating-point tensors to
    /// `dtype` when given (integer and boolean tensors keep their type, as `model.half()` does).
    /// With `quantize`, linear layers' weights are written in ckpt's int8 scheme (`Int8Scheme`)
    /// instead, other tensors as `dtype` says. An int8 checkpoint's weights, given a `dtype`, are
    /// dequantized into it, without their scales (`Checkpoint.dequantized`). Casts run on `threads`
    /// threads. `progress`, when given, is called after each chunk with the source bytes done and in all.
    public static func convert(_ source: Checkpoint, to target: ConversionTarget, dtype: DType?, quantize: Bool = false,
                               selection: TensorSelection, overwrite: Bool, threads: Int,
                               progress: ((_ done: Int, _ total: Int) -> Void)? = nil) throws -> ConversionSummary {
        let checkpoint = dtype != nil && !quantize ? source.dequantized : source
        let storedTypes = Dictionary(source.tensors.map { ($0.name, $0.dtype) }) { first, _ in first }
        let selected = checkpoint.tensors.filter { selection.contains($0.name) }
        guard !selected.isEmpty else { throw FormatError(file: checkpoint.path, ConversionError.nothingSelected) }
        let totalBytes = selected.reduce(0) { $0 + $1.byteCount }
        var doneBytes = 0
        let report: (Int) -> Void = { bytes in
            doneBytes += bytes
            progress?(doneBytes, totalBytes)
        }
        var castCount = 0
        let outgoing = selected.flatMap { info -> [OutgoingTensor] in
            if quantize, let axis = Int8Scheme.outputAxis(of: info) {
                castCount += 1
                return quantized(checkpoint, info, outputAxis: axis, progress: report)
            }
            let outputType = dtype.flatMap { info.dtype.isFloatingPoint ? $0 : nil } ?? info.dtype
            if outputType != storedTypes[info.name] { castCount += 1 }
            var outputInfo = info
            outputInfo.dtype = outputType
            return [OutgoingTensor(info: outputInfo) { emit in
                let (view, check) = try checkpoint.tensorForStreaming(named: info.name)
                try stream(view, as: outputType, check: check, threads: threads, emit: emit, progress: report)
            }]
        }
        var metadata = checkpoint.metadata
        if quantize {
            guard castCount > 0 else { throw FormatError(file: checkpoint.path, ConversionError.nothingToQuantize) }
            metadata.removeAll { $0.0 == Int8Scheme.metadataKey }
            metadata.append((Int8Scheme.metadataKey, Int8Scheme.metadataValue))
        }
        var files: [String]
        switch target {
        case .safetensors(let path):
            try SafeTensorsWriter.write(outgoing, metadata: metadata, to: path, overwrite: overwrite)
            files = [path]
        case .npz(let path, let compress):
            guard !quantize else { throw FormatError(file: path, ConversionError.int8NeedsSafeTensors) }
            try NPZWriter.write(outgoing, to: path, compress: compress, overwrite: overwrite)
            files = [path]
        case .directory(let path, let maxShardSize):
            // save_pretrained marks every shard {"format": "pt"}; transformers refuses shards whose
            // metadata lacks a format.
            if !metadata.contains(where: { $0.0 == "format" }) { metadata.insert(("format", "pt"), at: 0) }
            let names = try ShardedSafeTensorsWriter.write(outgoing, metadata: metadata, directory: path,
                                                           maxShardSize: maxShardSize, overwrite: overwrite)
            files = names.map { FileSystem.directoryPrefix(path) + $0 }
        }
        return ConversionSummary(tensorCount: outgoing.count, castCount: castCount,
                                 dataBytes: outgoing.reduce(0) { $0 + $1.info.byteCount }, files: files)
    }

    /// A linear weight as its int8 values (in its own layout) and its scales. The tensor is read
    /// whole (a row's scale needs all of it); each is quantized again for its second tensor rather
    /// than kept between the two writes.
    private static func quantized(_ checkpoint: Checkpoint, _ info: TensorInfo, outputAxis: Int,
                                  progress: @escaping (Int) -> Void) -> [OutgoingTensor] {
        func weights() throws -> Int8Weights {
            let view = try checkpoint.tensor(named: info.name)
            defer { view.releasePages() }
            return Int8Scheme.quantize(view.floats(), shape: info.shape, outputAxis: outputAxis)
        }
        let values = OutgoingTensor(info: TensorInfo(name: info.name, dtype: .I8, shape: info.shape)) { emit in
            try weights().values.withUnsafeBytes { try emit($0) }
            progress(info.byteCount)
        }
        let scales = OutgoingTensor(info: TensorInfo(name: info.name + Int8Scheme.scaleSuffix, dtype: .F32, shape: [info.shape[outputAxis]])) { emit in
            try weights().scales.withUnsafeBytes { try emit($0) }
        }
        return [values, scales]
    }

    /// Emits `view`'s data as `outputType`, a chunk at a time, releasing each source chunk's pages;
    /// runs `check` over the chunks as they pass (with two threads or more, on another thread while
    /// the chunk is written) and throws at the end if it fails (the output is then a temporary file
    /// that is never renamed into place).
    private static func stream(_ view: TensorView, as outputType: DType, check: DeferredChecksum?, threads: Int,
                               emit: (UnsafeRawBufferPointer) throws -> Void, progress: (Int) -> Void) throws {
        let check = check.map(UncheckedSendable.init)
        let elementSize = view.dtype.size
        let elementsPerChunk = max(1, chunkSize / elementSize)
        var start = 0
        let count = view.info.elementCount
        while start < count {
            let n = min(elementsPerChunk, count - start)
            let range = (start * elementSize)..<((start + n) * elementSize)
            let chunk = UnsafeRawBufferPointer(rebasing: view.bytes[range])
            let summed = DispatchGroup()
            defer { summed.wait() }  // also when the write throws: the sum reads the chunk
            if let check {
                let piece = UncheckedSendable(chunk)
                if threads > 1 {
                    DispatchQueue.global().async(group: summed) { check.value.update(piece.value) }
                } else {
                    check.value.update(chunk)
                }
            }
            if outputType == view.dtype {
                try emit(chunk)
            } else {
                try ElementConversion.cast(chunk, from: view.dtype, to: outputType, count: n, threads: threads, emit: emit)
            }
            summed.wait()
            view.releasePages(range)
            progress(range.count)
            start += n
        }
        try check?.value.finish()
    }
}

/// Byte sizes as people write them: `500MB`, `5GB`, `2GiB`, `1048576`.
public enum ByteSize {
    /// Parses a size; decimal units (KB, MB, GB, TB) are powers of 1000 and binary ones (KiB, MiB,
    /// GiB, TiB) powers of 1024, as transformers' `max_shard_size` reads them. Nil if malformed.
    public static func parse(_ text: String) -> Int? {
        let units: [(String, Double)] = [
            ("KIB", 0x1p10), ("MIB", 0x1p20), ("GIB", 0x1p30), ("TIB", 0x1p40),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        ]
        let upper = String(text.uppercased().filter { $0 != " " })
        let (number, scale) = units.first { upper.hasSuffix($0.0) }.map { (String(upper.dropLast($0.0.count)), $0.1) } ?? (upper, 1)
        guard let value = Double(number), value > 0, value * scale < 9e18 else { return nil }
        return Int(value * scale)
    }
}
