import CkptSupport
import HeadTraining

/// The files TensorFlow's Embedding Projector (projector.tensorflow.org, TensorBoard) loads:
/// `vectors.tsv` (one row of features per point, tab-separated), `metadata.tsv` (one row per
/// point; a header row only when there is more than one column, as the Projector reads it) and
/// `projector_config.json` naming both. Rows in input order.
public struct ProjectorFiles: Sendable {
    public let features: FeatureMatrix
    /// Metadata columns by name, each with one value per row; empty for none.
    public let metadata: [(name: String, values: [String])]

    public init(features: FeatureMatrix, metadata: [(name: String, values: [String])]) {
        precondition(metadata.allSatisfy { $0.values.count == features.rows }, "ProjectorFiles: one metadata value per row")
        (self.features, self.metadata) = (features, metadata)
    }

    var vectors: String {
        let D = features.dimension
        var out = ""
        out.reserveCapacity(features.values.count * 10)
        for r in 0..<features.rows {
            out += features.values[(r * D)..<((r + 1) * D)].map { String($0) }.joined(separator: "\t") + "\n"
        }
        return out
    }

    var metadataTable: String {
        var lines = metadata.count > 1 ? [metadata.map { TextInput.tsvCell($0.name) }.joined(separator: "\t")] : []
        for r in 0..<features.rows { lines.append(metadata.map { TextInput.tsvCell($0.values[r]) }.joined(separator: "\t")) }
        return lines.joined(separator: "\n") + "\n"
    }

    var config: String {
        let metadataPath = metadata.isEmpty ? "" : #", "metadataPath": "metadata.tsv""#
        return #"{"embeddings": [{"tensorName": "ckpt features", "tensorShape": [\#(features.rows), \#(features.dimension)], "tensorPath": "vectors.tsv"\#(metadataPath)}]}"# + "\n"
    }

    /// Writes the files into `directory` (created if needed), each by temporary file and rename.
    public func write(to directory: String, overwrite: Bool) throws {
        if let problem = FileSystem.makeDirectories(directory) { throw FormatError(file: directory, OutputError.cannotCreate(reason: problem)) }
        let prefix = FileSystem.directoryPrefix(directory)
        var files = [("vectors.tsv", vectors), ("projector_config.json", config)]
        if !metadata.isEmpty { files.append(("metadata.tsv", metadataTable)) }
        for (name, text) in files {
            let file = try AtomicOutputFile(path: prefix + name, overwrite: overwrite)
            try file.write(Array(text.utf8))
            try file.commit()
        }
    }
}
