import TensorFormats

/// Problems with a model's `config.json`.
public enum ConfigError: Error, CustomStringConvertible, Sendable {
    case missing(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .missing(let field): return "config.json lacks \(field)"
        case .unsupported(let what): return "config.json asks for \(what), which ckpt does not support"
        }
    }
}

/// A model directory's `config.json`, read once by whichever model config or family check needs it.
enum ConfigFile {
    /// The parsed file and its path (for error messages).
    static func read(_ directory: String) throws -> (json: JSON, path: String) {
        let path = FileSystem.directoryPrefix(directory) + "config.json"
        return (try JSON.read(file: path), path)
    }
}
