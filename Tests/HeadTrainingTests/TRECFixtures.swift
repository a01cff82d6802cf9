import CkptSupport
import Foundation
import TensorFormats
import HeadTraining

/// The committed TREC features (all-MiniLM-L6-v2 by sentence-transformers, stored as float16) and
/// what scikit-learn reached on them (tools/make_head_fixtures.py).
enum TRECFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let directory = repository + "/fixtures/heads/"

    static func labels(_ name: String) throws -> [String] {
        let lines = try String(contentsOfFile: repository + "/fixtures/data/\(name).tsv", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        return try LabelledDataset(lines: lines.last == "" ? Array(lines.dropLast()) : lines, format: .tsv,
                                   textColumn: "text", labelColumn: "label").labels
    }

    static func features(_ name: String) throws -> FeatureMatrix { try FeatureMatrix(file: directory + "\(name)-minilm.npy") }

    static func reference() throws -> JSON {
        try JSON.parse(String(contentsOfFile: directory + "reference.json", encoding: .utf8))
    }
}

extension TRECFixtures {
    /// tools/make_workbench_fixtures.py's references: folds, grid search, centroid and kNN heads, few-shot.
    /// Training features and labels, test features and labels.
    static func all() throws -> (FeatureMatrix, [String], FeatureMatrix, [String]) {
        (try features("trec-train"), try labels("trec-train"), try features("trec-test"), try labels("trec-test"))
    }

    static func workbench() throws -> JSON {
        try JSON.parse(String(contentsOfFile: directory + "workbench.json", encoding: .utf8))
    }
}
