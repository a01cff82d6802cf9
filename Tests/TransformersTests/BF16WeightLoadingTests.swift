import CkptSupport
import Foundation
import Kernels
import TensorFormats
import XCTest
@testable import Transformers

/// For bf16 products a linear weight is read straight into bf16 bits, whatever float type the
/// checkpoint stores (rounded to nearest even, as the products round their operands), so that
/// loading never holds an f32 copy of it; f32 and int8 products read it as f32.
final class BF16WeightLoadingTests: XCTestCase {
    static let weight = "encoder.layer.0.intermediate.dense.weight"

    func weights(in directory: String, precision: Precision) throws -> WeightSource {
        let checkpoint = try Checkpoint(path: directory + "/model.safetensors")
        return WeightSource(checkpoint: checkpoint, prefixes: BERTWeights.bertPrefix, aliases: [], precision: precision)
    }

    func matrix(in directory: String, precision: Precision) throws -> WeightMatrix {
        try weights(in: directory, precision: precision).matrix(Self.weight, [64, 32])
    }

    func testEveryFloatTypeIsReadAsBF16BitsForBF16Products() throws {
        let model = BERTParityTests.root + "/maskedlm"
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-bf16-load-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for dtype in [DType.F32, .F16, .BF16] {
            let directory = "\(root)/\(dtype.rawValue)"
            try TokenTableTests.copy(of: model, as: dtype, in: directory)
            let stored = try Checkpoint(path: directory + "/model.safetensors").tensor(named: "bert." + Self.weight).floats()
            guard case .bf16(let bits) = try matrix(in: directory, precision: .bf16) else {
                return XCTFail("\(dtype): bf16 products read an f32 copy")
            }
            XCTAssertEqual(bits, stored.map(FloatBits.bfloat16(from:)), "\(dtype)")
            for precision in [Precision.f32, .int8] {
                guard case .f32(let values) = try matrix(in: directory, precision: precision) else {
                    return XCTFail("\(dtype) \(precision): not read as f32")
                }
                XCTAssertEqual(values, stored, "\(dtype) \(precision)")
            }
        }
    }

    func testAMisshapenWeightIsStillAnErrorNamingIt() throws {
        let source = try weights(in: BERTParityTests.root + "/maskedlm", precision: .bf16)
        XCTAssertThrowsError(try source.matrix(Self.weight, [32, 64])) { error in
            XCTAssertTrue("\(error)".contains("bert." + Self.weight), "\(error)")
        }
    }
}
