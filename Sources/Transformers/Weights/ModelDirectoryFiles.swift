import CkptSupport

/// A model directory's files that are not its weights.
public enum ModelDirectoryError: Error, CustomStringConvertible, Sendable {
    /// A sentence-transformers module whose `path` is not the name of a folder inside the directory.
    case modulePathOutside(String)

    public var description: String {
        switch self {
        case .modulePathOutside(let path):
            return "a module's path \"\(path)\" is not the name of a folder inside the model directory"
        }
    }
}

/// The files of a Hugging Face model directory other than its weights, by path within it: the
/// configuration, the tokenizer's files and sentence-transformers' settings. `ckpt convert` writes
/// them beside the weights it writes into a directory, so that the output is a model directory too.
public struct ModelDirectoryFiles {
    public var files: [(path: String, bytes: [UInt8])]
    /// Folders to create even when empty (sentence-transformers' `2_Normalize` holds no file).
    public var folders: [String]

    /// The top-level files a model directory may hold besides its weights (and `*.tiktoken`).
    static let names = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                        "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "modules.json", "sentence_bert_config.json",
                        "config_sentence_transformers.json"]

    public init(files: [(path: String, bytes: [UInt8])], folders: [String]) {
        self.files = files
        self.folders = folders
    }

    /// Reads those of `directory` that it holds: `names`, `*.tiktoken` files, and the folder of each
    /// module that `modules.json` names, with its `config.json` if it has one.
    public init(copying directory: String) throws {
        let root = FileSystem.directoryPrefix(directory)
        let present = FileSystem.listDirectory(directory)
        var paths = Self.names.filter(present.contains) + present.filter { $0.hasSuffix(".tiktoken") }.sorted()
        var folders: [String] = []
        if present.contains("modules.json") {
            for module in try JSON.read(file: root + "modules.json").array ?? [] {
                guard let path = module["path"]?.string, !path.isEmpty else { continue }
                guard !path.contains("/"), path != ".", path != ".." else {
                    throw FormatError(file: root + "modules.json", ModelDirectoryError.modulePathOutside(path))
                }
                guard FileSystem.isDirectory(root + path) else { continue }
                if FileSystem.exists(root + path + "/config.json") { paths.append(path + "/config.json") } else { folders.append(path) }
            }
        }
        self.files = try paths.map { path in
            let file = try MappedFile(path: root + path)
            return withExtendedLifetime(file) { (path, Array(file.bytes)) }
        }
        self.folders = folders
    }

    /// Sets `config.json`'s `dtype` to `name` ("float32", "float16" or "bfloat16"), in place of an
    /// older `torch_dtype`, as transformers' `save_pretrained` writes it for weights of that type:
    /// both transformers and ckpt then load the weights as they are stored
    /// (`Precision.stored(in:configDType:)`). A config that is not a JSON object is left as it is.
    public mutating func recordDType(_ name: String) {
        guard let index = files.firstIndex(where: { $0.path == "config.json" }),
              let fields = (try? files[index].bytes.withUnsafeBytes { try JSON.parse($0) })?.object else { return }
        var written = fields.filter { $0.0 != "dtype" && $0.0 != "torch_dtype" }
        // Every field before the first of the two keys is kept, so that index is its place in `written` too.
        let position = fields.firstIndex { $0.0 == "dtype" || $0.0 == "torch_dtype" } ?? written.count
        written.insert(("dtype", .string(name)), at: position)
        files[index].bytes = Array((JSON.object(written).compactText + "\n").utf8)
    }

    /// The files' paths in `directory`.
    public func paths(in directory: String) -> [String] { files.map { FileSystem.directoryPrefix(directory) + $0.path } }

    /// Writes the folders and files into `directory` (which exists), each file under a temporary name
    /// first; returns the files' paths there.
    public func write(into directory: String, overwrite: Bool) throws -> [String] {
        let root = FileSystem.directoryPrefix(directory)
        for folder in Set(folders + files.compactMap { $0.path.contains("/") ? String($0.path.split(separator: "/")[0]) : nil }).sorted() {
            if let problem = FileSystem.makeDirectories(root + folder) { throw FormatError(file: root + folder, OutputError.cannotCreate(reason: problem)) }
        }
        for (path, bytes) in files {
            let output = try AtomicOutputFile(path: root + path, overwrite: overwrite)
            try output.write(bytes)
            try output.commit()
        }
        return paths(in: directory)
    }
}
