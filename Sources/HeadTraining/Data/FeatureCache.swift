import CkptSupport
#if canImport(Glibc)
import Glibc
#endif
import Kernels
import TensorFormats
import Transformers

/// Sentence features kept on disk so that a second head trained on the same texts does not
/// re-encode them. One file per (model weights, pooling settings, precision, engine and kernel, and
/// ckpt's arithmetic revision: features are the same bits only on one engine and instruction set,
/// and from one revision of ckpt's kernels): a header naming that key, then
/// records `[u32 text bytes][text UTF-8][dimension × f32]` appended as texts are encoded. Lookups
/// compare the whole text, so two texts never share a record. A record cut short (a run killed
/// mid-write) is ignored; a file whose key or dimension differs is started afresh.
public final class FeatureCache {
    public let path: String
    private let key: String
    private let dimension: Int
    private var rows: [String: Int] = [:]
    private var values: [Float] = []

    private static let magic = Array("CKPTFEAT".utf8)

    /// Opens (or starts) the cache for `extractor`'s model and settings inside `directory`.
    public convenience init(directory: String, modelDirectory: String, extractor: FeatureExtractor) throws {
        let key = try FeatureCache.key(modelDirectory: modelDirectory, settings: extractor.settings, maxLength: extractor.maxLength,
                                       precision: extractor.model.precision)
        if let failure = FileSystem.makeDirectories(directory) {
            throw FormatError(file: directory, HeadTrainingError.cacheUnwritable(failure))
        }
        let name = String(Array(key.utf8).withUnsafeBytes { CRC32.of($0) }, radix: 16) + "-" + String(key.utf8.count, radix: 16)
        self.init(path: FileSystem.directoryPrefix(directory) + name + ".features", key: key, dimension: extractor.dimension)
    }

    init(path: String, key: String, dimension: Int) {
        self.path = path
        self.key = key
        self.dimension = dimension
        load()
    }

    /// How many texts the cache holds.
    public var count: Int { rows.count }

    /// Features of `texts` in order from `extractor`, through `cache` when there is one (see
    /// `features(_:extractor:...)`); without one every text is encoded and `hits` is 0.
    public static func features(_ texts: [String], extractor: FeatureExtractor, cache: FeatureCache?, batchSize: Int, threads: Int,
                                progress: (@Sendable (Int) -> Void)? = nil) throws -> (features: FeatureMatrix, hits: Int, truncated: Int) {
        if let cache { return try cache.features(texts, extractor: extractor, batchSize: batchSize, threads: threads, progress: progress) }
        let (values, truncated) = extractor.features(texts, batchSize: batchSize, threads: threads, progress: progress)
        return (FeatureMatrix(rows: texts.count, dimension: extractor.dimension, values: values), 0, truncated)
    }

    /// Features of `texts` in order, encoding (and storing) only those not cached yet; returns the
    /// number taken from the cache and the number truncated while encoding.
    public func features(_ texts: [String], extractor: FeatureExtractor, batchSize: Int, threads: Int,
                         progress: (@Sendable (Int) -> Void)? = nil) throws -> (features: FeatureMatrix, hits: Int, truncated: Int) {
        let hits = texts.filter { rows[$0] != nil }.count
        var missing: [String] = []
        var seen = Set<String>()
        for text in texts where rows[text] == nil && seen.insert(text).inserted { missing.append(text) }
        let encoded = extractor.features(missing, batchSize: batchSize, threads: threads, progress: progress)
        try append(missing, encoded.values)
        var out = [Float](); out.reserveCapacity(texts.count * dimension)
        for text in texts {
            let row = rows[text]!
            out += values[(row * dimension)..<((row + 1) * dimension)]
        }
        return (FeatureMatrix(rows: texts.count, dimension: dimension, values: out), hits, encoded.truncated)
    }

    private func load() {
        guard let file = try? MappedFile(path: path) else { return }
        let bytes = file.bytes
        guard let dimension = FeatureCache.headerDimension(bytes, key: key), dimension == self.dimension else { return }
        var offset = FeatureCache.header(key: key, dimension: dimension).count
        let rowBytes = dimension * 4
        while offset + 4 <= bytes.count {
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian)
            guard length <= bytes.count - offset - 4 - rowBytes else { break }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + 4 + length)]), as: UTF8.self)
            let start = offset + 4 + length
            if rows[text] == nil {
                rows[text] = rows.count
                for i in 0..<dimension { values.append(bytes.loadUnaligned(fromByteOffset: start + 4 * i, as: Float.self)) }
            }
            offset = start + rowBytes
        }
        // Anything after `offset` is a record cut short; cut it off so appends stay aligned.
        if offset < bytes.count { _ = truncate(path, off_t(offset)) }
    }

    private func append(_ texts: [String], _ features: [Float]) throws {
        guard !texts.isEmpty else { return }
        var record: [UInt8] = []
        if rows.isEmpty { record = FeatureCache.header(key: key, dimension: dimension) }
        for (i, text) in texts.enumerated() {
            let utf8 = Array(text.utf8)
            withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { record += $0 }
            record += utf8
            features[(i * dimension)..<((i + 1) * dimension)].withUnsafeBytes { record += $0 }
            rows[text] = rows.count
        }
        values += features
        // A fresh cache replaces whatever was there (another key, another dimension).
        let flags = rows.count == texts.count ? (O_WRONLY | O_CREAT | O_TRUNC) : (O_WRONLY | O_APPEND)
        let fd = open(path, flags, 0o644)
        guard fd >= 0 else { throw FormatError(file: path, HeadTrainingError.cacheUnwritable(String(cString: strerror(errno)))) }
        defer { close(fd) }
        let written = record.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == record.count else { throw FormatError(file: path, HeadTrainingError.cacheUnwritable(String(cString: strerror(errno)))) }
    }

    private static func header(key: String, dimension: Int) -> [UInt8] {
        var out = magic
        withUnsafeBytes(of: UInt32(dimension).littleEndian) { out += $0 }
        withUnsafeBytes(of: UInt32(key.utf8.count).littleEndian) { out += $0 }
        return out + Array(key.utf8)
    }

    private static func headerDimension(_ bytes: UnsafeRawBufferPointer, key: String) -> Int? {
        let expected = header(key: key, dimension: 0)
        guard bytes.count >= expected.count, Array(bytes[0..<8]) == magic,
              Array(bytes[12..<expected.count]) == Array(expected[12...]) else { return nil }
        return Int(bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self).littleEndian)
    }

    /// What the features depend on: every tensor of the checkpoint (name, dtype, shape, bytes),
    /// `config.json`, pooling, normalisation, the length limit, the precision, and the engine with its kernel.
    static func key(modelDirectory: String, settings: PoolingSettings, maxLength: Int, precision: Precision) throws -> String {
        let weights = try ModelFingerprint.weights(modelDirectory: modelDirectory)
        let modes = settings.modes.map(\.rawValue).joined(separator: "+")
        let engine = MatmulEngine.current
        return "weights=\(weights) pooling=\(modes) normalize=\(settings.normalize) max_length=\(maxLength)"
            + " precision=\(precision.rawValue) engine=\(engine.rawValue)/\(engine.kernel(precision))"
            + " arithmetic=\(FeatureExtractor.arithmeticRevision)"
    }
}
