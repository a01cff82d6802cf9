import CkptSupport
import Kernels
import TensorFormats

/// Problems with a model's `config.json`.
public enum ConfigError: Error, CustomStringConvertible, Sendable {
    case missing(String)
    case unsupported(String)
    /// A model of another family than the one the caller runs (a BERT directory given to `generate`).
    case otherFamily(found: String, expected: String)

    public var description: String {
        switch self {
        case .missing(let field): return "config.json lacks \(field)"
        case .unsupported(let what): return "config.json asks for \(what), which ckpt does not support"
        case .otherFamily(let found, let expected):
            return "config.json has model_type \"\(found)\": this needs a \(expected) checkpoint (model_type \"\(expected)\")"
        }
    }
}

/// A model directory's `config.json`, read once by whichever model config or family check needs
/// it, with the field readers the model configs share.
struct ConfigFile {
    let json: JSON
    /// The file's path (for error messages).
    let path: String

    static func read(_ directory: String) throws -> ConfigFile {
        let path = FileSystem.directoryPrefix(directory) + "config.json"
        return ConfigFile(json: try JSON.read(file: path), path: path)
    }

    /// `dtype` (older configs: `torch_dtype`), the type transformers loads the weights in by default.
    var dtype: String? { json["dtype"]?.string ?? json["torch_dtype"]?.string }

    /// The first of `keys` present, which must be a positive integer (the others are older names).
    func positiveInt(_ keys: String...) throws -> Int {
        guard let value = keys.lazy.compactMap({ json[$0]?.int }).first, value > 0 else {
            throw FormatError(file: path, ConfigError.missing("a positive \"\(keys[0])\""))
        }
        return value
    }

    /// The activation `key` names (`fallback` when absent), refused if ckpt has no kernel for it.
    func activation(_ key: String, fallback: String) throws -> RowKernels.Activation {
        let name = json[key]?.string ?? fallback
        guard let activation = RowKernels.Activation(rawValue: name) else { throw unsupported("\(key) \"\(name)\"") }
        return activation
    }

    /// Refuses a config whose `model_type` (or, without one, whose fields) names another family than `expected`.
    func require(_ expected: ModelFamily) throws {
        let found = try ModelFamily(self)
        guard found == expected else { throw FormatError(file: path, ConfigError.otherFamily(found: found.rawValue, expected: expected.rawValue)) }
    }

    /// The error for a setting ckpt does not support.
    func unsupported(_ what: String) -> FormatError { FormatError(file: path, ConfigError.unsupported(what)) }
}
