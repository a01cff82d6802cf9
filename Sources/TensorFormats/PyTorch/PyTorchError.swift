/// The rules a PyTorch checkpoint (`torch.save`'s zip archive) can break, beyond the zip and
/// pickle rules.
public enum PyTorchError: Error, CustomStringConvertible, Sendable {
    case legacyFormat
    case notAnArchive
    case noDataPickle
    case severalDataPickles([String])
    case torchScript
    case dataPickleTooLarge(bytes: UInt64, limit: Int)
    case badByteOrder(String)
    case forbiddenGlobal(String)
    case badArguments(String, String)
    case badPersistentID(String)
    case missingStorage(key: String)
    case badStorageSize(key: String, elements: Int, dtype: DType)
    case storageSizeMismatch(key: String, elements: Int, dtype: DType, recordBytes: UInt64)
    case storageTypeConflict(key: String)
    case noStateDict(found: String)
    case tensorOutsideStorage(tensor: String, storage: String, problem: String)

    public var description: String {
        switch self {
        case .legacyFormat:
            return "legacy PyTorch format (saved before PyTorch 1.6, not a zip archive), which cannot be read without "
                + "running its pickle; if you trust the file, re-save it with a recent PyTorch: "
                + "python -c \"import torch, sys; torch.save(torch.load(sys.argv[1], weights_only=False), sys.argv[2])\" IN OUT"
        case .notAnArchive:
            return "not a PyTorch checkpoint: torch.save writes a zip archive, and this file is not one"
        case .noDataPickle:
            return "zip archive has no <name>/data.pkl member: not a torch.save checkpoint"
        case .severalDataPickles(let names):
            return "zip archive holds several checkpoints (\(names.joined(separator: ", ")))"
        case .torchScript:
            return "a TorchScript archive (torch.jit.save): it holds code, not a state dict; save model.state_dict() with torch.save instead"
        case .dataPickleTooLarge(let bytes, let limit):
            return "data.pkl is \(bytes) bytes, more than the \(limit) a state dict's pickle needs; refused to bound memory"
        case .badByteOrder(let text):
            return "byteorder record says '\(text)'; expected 'little' or 'big'"
        case .forbiddenGlobal(let name):
            return "data.pkl refers to '\(name)', which is not part of a state dict of tensors; refused without running anything "
                + "(only tensors, storages, OrderedDict and plain values are read)"
        case .badArguments(let function, let problem):
            return "data.pkl calls '\(function)' in a way torch.save never does: it \(problem)"
        case .badPersistentID(let found):
            return "data.pkl names a storage with \(found) instead of ('storage', type, key, location, size)"
        case .missingStorage(let key):
            return "data.pkl refers to storage '\(key)', which the archive does not hold (data/\(key) is missing)"
        case .badStorageSize(let key, let elements, let dtype):
            return "storage '\(key)' claims \(elements) \(dtype.rawValue) elements, which no storage can hold"
        case .storageSizeMismatch(let key, let elements, let dtype, let recordBytes):
            return "storage '\(key)' claims \(elements) \(dtype.rawValue) elements but its record holds \(recordBytes) bytes"
        case .storageTypeConflict(let key):
            return "storage '\(key)' is named with two different element types"
        case .noStateDict(let found):
            return "no state dict found: the checkpoint holds \(found), with no tensors at the top level or under "
                + TorchStateDict.nestingKeys.map { "'\($0)'" }.joined(separator: ", ")
        case .tensorOutsideStorage(let tensor, let storage, let problem):
            return "tensor '\(tensor)' \(problem) (storage '\(storage)')"
        }
    }
}
