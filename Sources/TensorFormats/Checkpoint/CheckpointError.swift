/// Problems finding weights or tensors in a checkpoint.
public enum CheckpointError: Error, CustomStringConvertible, Sendable {
    case noSuchTensor(String)
    case notAMatrix(String, [Int])
    case noWeights(lookedFor: String)
    case severalWeightFiles([String])
    case unknownFormat
    case notFound

    public var description: String {
        switch self {
        case .noSuchTensor(let name): return "no tensor named '\(name)'"
        case .notAMatrix(let name, let shape): return "tensor '\(name)' has shape \(shape), not a matrix"
        case .noWeights(let lookedFor): return "no weights found (looked for \(lookedFor))"
        case .severalWeightFiles(let names): return "several weight files (\(names.joined(separator: ", "))); name the one to use"
        case .unknownFormat: return "unknown checkpoint format: expected .safetensors, .gguf, .safetensors.index.json, .npz, .npy, a PyTorch .bin/.pt/.pth, .bin.index.json or a model directory"
        case .notFound: return "no such file or directory"
        }
    }
}
