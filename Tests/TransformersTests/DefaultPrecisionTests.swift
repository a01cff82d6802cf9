import CkptSupport
import Foundation
import Kernels
import TensorFormats
import XCTest
@testable import Transformers

/// The precision a model runs in when not told one follows the type transformers loads its weights
/// in by default (`dtype="auto"`, tools/make_dtype_default_fixtures.py): bf16 where transformers
/// loads bfloat16, f32 where it loads float32 or float16 (ckpt has no f16 products); and int8 for
/// ckpt's int8 checkpoints, which transformers does not load.
final class DefaultPrecisionTests: XCTestCase {
    static let root = BERTParityTests.root

    /// A copy of bertmodel in `directory`: its weights as `weights`, its config's dtype keys replaced by `settings`.
    func makeModel(in directory: String, settings: [(String, JSON)], weights: DType?, quantize: Bool = false) throws {
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = try XCTUnwrap(JSON.read(file: Self.root + "/bertmodel/config.json").object)
        let written = JSON.object(config.filter { $0.0 != "dtype" && $0.0 != "torch_dtype" } + settings)
        try written.compactText.write(toFile: directory + "/config.json", atomically: true, encoding: .utf8)
        _ = try Converter.convert(try Checkpoint(path: Self.root + "/bertmodel/model.safetensors"),
                                  to: .safetensors(path: directory + "/model.safetensors"), dtype: weights, quantize: quantize,
                                  selection: TensorSelection(), overwrite: false, threads: 1)
    }

    func testTheDefaultPrecisionIsTheTypeTransformersLoadsTheWeightsIn() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-dtype-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fixture = try JSON.read(file: Self.root + "/dtype-defaults.json")
        let cases = try XCTUnwrap(fixture["cases"]?.array)
        XCTAssertEqual(cases.count, 7)
        let types: [String: DType] = ["float32": .F32, "bfloat16": .BF16, "float16": .F16]
        for item in cases {
            let settings = try XCTUnwrap(item["config"]?.object), weights = try XCTUnwrap(item["weights"]?.string)
            let loaded = try XCTUnwrap(item["loaded"]?.string)
            try makeModel(in: directory, settings: settings, weights: try XCTUnwrap(types[weights]))
            let expected: Precision = loaded == "bfloat16" ? .bf16 : .f32
            let label = "config \(JSON.object(settings).compactText), \(weights) weights (transformers loads \(loaded))"
            XCTAssertEqual(try ModelSource(path: directory).storedPrecision(), expected, label)
            XCTAssertEqual(try BERT(path: directory).precision, expected, label)
        }
        // An int8 checkpoint runs in int8 whatever its copied config says.
        try makeModel(in: directory, settings: [("dtype", .string("float32"))], weights: nil, quantize: true)
        XCTAssertEqual(try ModelSource(path: directory).storedPrecision(), .int8)
        XCTAssertEqual(try BERT(path: directory).precision, .int8)
        XCTAssertEqual(try BERT(path: directory, precision: .f32).precision, .f32, "a precision given is the one run")
    }

    func testAConvertedConfigNamesTheWeightsTypeWhereItNamedTheOldOne() throws {
        let config = #"{"model_type": "bert", "torch_dtype": "float32", "hidden_size": 32}"#
        var files = ModelDirectoryFiles(files: [("config.json", Array(config.utf8)), ("vocab.txt", Array("a\n".utf8))], folders: [])
        files.recordDType("bfloat16")
        XCTAssertEqual(String(decoding: files.files[0].bytes, as: UTF8.self), #"{"model_type":"bert","dtype":"bfloat16","hidden_size":32}"# + "\n")
        XCTAssertEqual(files.files[1].bytes, Array("a\n".utf8))
        files = ModelDirectoryFiles(files: [("config.json", Array(#"{"hidden_size": 32}"#.utf8))], folders: [])
        files.recordDType("float16")
        XCTAssertEqual(String(decoding: files.files[0].bytes, as: UTF8.self), #"{"hidden_size":32,"dtype":"float16"}"# + "\n")
        files = ModelDirectoryFiles(files: [("config.json", Array("[1]".utf8))], folders: [])
        files.recordDType("bfloat16")
        XCTAssertEqual(files.files[0].bytes, Array("[1]".utf8), "a config that is not an object is left as it is")
    }
}
