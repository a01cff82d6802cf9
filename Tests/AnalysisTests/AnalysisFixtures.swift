import CkptSupport
import Foundation
import TensorFormats
import XCTest

/// Paths and readers of fixtures/analysis (tools/make_analysis_fixtures.py) and the real MiniLM.
enum AnalysisFixtures {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let root = repository + "/fixtures/analysis"
    static let minilm = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? repository + "/.cache/models/all-MiniLM-L6-v2"

    /// The named arrays of an .npz fixture as float32 (ints and float64 converted).
    static func arrays(_ name: String) throws -> (values: (String) throws -> [Float], shape: (String) -> [Int]) {
        let file = try Checkpoint(path: root + "/" + name)
        return ({ try file.tensor(named: $0).floats() }, { key in file.tensors.first { $0.name == key }!.shape })
    }

    static func json(_ name: String) throws -> JSON { try JSON.read(file: root + "/" + name) }

    /// Fails the test (rather than skipping it) when `make test` has not fetched the real MiniLM.
    static func requireMiniLM() throws -> String {
        guard FileSystem.exists(minilm + "/model.safetensors") else {
            XCTFail("the real MiniLM is not at \(minilm): run `make test`, which fetches it")
            throw CocoaError(.fileNoSuchFile)
        }
        return minilm
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count, "arrays of \(a.count) and \(b.count) values")
        return zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}
