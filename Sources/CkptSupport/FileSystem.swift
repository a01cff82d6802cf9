#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small file-system queries the readers and writers (and the other modules) share.
public enum FileSystem {
    /// Names in `directory`, hidden ones (starting with ".") left out; empty if it cannot be read.
    public static func listDirectory(_ directory: String) -> [String] {
        guard let stream = opendir(directory) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Creates `directory` and any missing parents (as `mkdir -p`); returns the `errno` text of
    /// the first failure, nil on success.
    public static func makeDirectories(_ directory: String) -> String? {
        var path = directory.hasPrefix("/") ? "" : "."
        for part in directory.split(separator: "/") {
            path += "/" + part
            if !isDirectory(path) && mkdir(path, 0o755) != 0 && errno != EEXIST { return String(cString: strerror(errno)) }
        }
        return nil
    }

    /// `path` with a trailing slash, for joining names onto a directory.
    public static func directoryPrefix(_ path: String) -> String { path.hasSuffix("/") ? path : path + "/" }
}
