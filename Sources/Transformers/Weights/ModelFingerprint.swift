import CkptSupport
import Synchronization
import TensorFormats

/// What identifies a model's weights, cheaply enough to check on every run.
public enum ModelFingerprint {
    /// The CRC-32 of every tensor of the directory's checkpoint (name, dtype, shape, bytes) and of
    /// `config.json`, with the byte count of the tensors, as `crc:bytes` in hex and decimal. Read
    /// once per directory and process (a feature cache, the ledger and shard manifests all ask).
    public static func weights(modelDirectory: String) throws -> String {
        if let known = known.withLock({ $0[modelDirectory] }) { return known }
        let checkpoint = try Checkpoint(path: modelDirectory)
        var crc: UInt32 = 0
        var bytes = 0
        for info in checkpoint.tensors {
            let view = try checkpoint.tensor(named: info.name)
            crc = Array("\(info.name) \(info.dtype) \(info.shape)".utf8).withUnsafeBytes { CRC32.update(crc, $0) }
            crc = CRC32.update(crc, view.bytes)
            view.releasePages()
            bytes += view.bytes.count
        }
        if let config = try? MappedFile(path: FileSystem.directoryPrefix(modelDirectory) + "config.json") {
            crc = CRC32.update(crc, config.bytes)
        }
        let fingerprint = "\(String(crc, radix: 16)):\(bytes)"
        known.withLock { $0[modelDirectory] = fingerprint }
        return fingerprint
    }

    private static let known = Mutex<[String: String]>([:])
}
