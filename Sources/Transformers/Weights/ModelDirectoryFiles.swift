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
