import CkptSupport
import Foundation
import Kernels
import TensorFormats
import XCTest
@testable import Transformers

/// A linear weight is packed with exactly the values its checkpoint stores, whatever float type
/// stores it and whichever way it reaches the packing — straight from the checkpoint's bytes (F32
/// for f32 and int8 products, BF16 for bf16 ones), or read into staging memory (rounded to bf16,
/// widened from f16, stacked, or transposed from GPT-2's Conv1D layout): f32 and int8 products
/// read the stored values, bf16 ones the values rounded to nearest even.
final class LinearWeightLoadingTests: XCTestCase {
    static let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-weight-load-\(UUID().uuidString)").path

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: root)
    }

    /// The model in `model` stored as `dtype`, and a `WeightSource` over it for `precision`.
    func source(_ model: String, stored dtype: DType, prefixes: [String], precision: Precision) throws -> WeightSource {
        let directory = "\(Self.root)/\((model as NSString).lastPathComponent)-\(dtype.rawValue)"
        if !FileManager.default.fileExists(atPath: directory) { try TokenTableTests.copy(of: model, as: dtype, in: directory) }
        return WeightSource(checkpoint: try Checkpoint(path: directory + "/model.safetensors"), prefixes: prefixes, aliases: [],
                            precision: precision)
    }

    /// The weights `weight` packs, as its products read them: read back where its weights are
    /// readable (f32, bf16), else (int8) its product of a few rows, which must be the bits of a
    /// weight packed from `expected` [outputs, inputs].
    func assertPacks(_ weight: LinearWeight, _ expected: [Float], precision: Precision, _ message: String) {
        let (outputs, inputs) = (weight.outputs, weight.inputs)
        XCTAssertEqual(expected.count, outputs * inputs, message)
        if precision == .int8 {
            let reference = LinearWeight(expected, outputs: outputs, inputs: inputs, precision: .int8)
            let x = (0..<(3 * inputs)).map { Float(($0 * 37) % 23) / 11 - 1 }
            XCTAssertEqual(product(weight, x), product(reference, x), message)
            return
        }
        XCTAssertTrue(weight.weightsReadable, message)
        let row = FloatBuffer(inputs)
        let packed = (0..<outputs).flatMap { output in
            weight.copyWeights(ofOutput: output, into: row.p)
            return Array(UnsafeBufferPointer(start: row.p, count: inputs))
        }
        let rounded = precision == .bf16 ? expected.map { FloatBits.float(fromBFloat16: FloatBits.bfloat16(from: $0)) } : expected
        XCTAssertEqual(packed, rounded, message)
    }

    func product(_ weight: LinearWeight, _ x: [Float]) -> [Float] {
        let rows = x.count / weight.inputs, y = FloatBuffer(rows * weight.outputs)
        x.withUnsafeBufferPointer { weight.apply($0.baseAddress!, rows: rows, bias: nil, into: y.p, threads: 1) }
        return Array(UnsafeBufferPointer(start: y.p, count: rows * weight.outputs))
    }

    func testEveryFloatTypeIsPackedAsStoredInEveryPrecision() throws {
        let bert = BERTParityTests.root + "/maskedlm", gpt2 = GPT2ParityTests.root + "/bare"
        let layer = "encoder.layer.0.", C = 32, I = 64, G = 16
        for dtype in [DType.F32, .F16, .BF16] {
            for precision in Precision.allCases {
                let message = "\(dtype) \(precision)"
                let weights = try source(bert, stored: dtype, prefixes: BERTWeights.bertPrefix, precision: precision)
                let checkpoint = try Checkpoint(path: "\(Self.root)/maskedlm-\(dtype.rawValue)/model.safetensors")
                func stored(_ name: String) throws -> [Float] { try checkpoint.tensor(named: "bert." + name).floats() }
                // One weight [outputs, inputs].
                assertPacks(try weights.linear(layer + "intermediate.dense.weight", outputs: I, inputs: C),
                            try stored(layer + "intermediate.dense.weight"), precision: precision, message)
                // Query, key and value stacked by outputs.
                let names = ["query", "key", "value"].map { layer + "attention.self.\($0).weight" }
                assertPacks(try weights.stackedLinear(names, outputs: C, inputs: C), try names.flatMap(stored), precision: precision, message)
                // GPT-2's Conv1D, stored [inputs, outputs].
                let conv = try source(gpt2, stored: dtype, prefixes: GPT2Weights.transformerPrefix, precision: precision)
                let byInput = try Checkpoint(path: "\(Self.root)/bare-\(dtype.rawValue)/model.safetensors").tensor(named: "h.0.mlp.c_fc.weight").floats()
                assertPacks(try conv.linear("h.0.mlp.c_fc.weight", outputs: I, inputs: G, storedInputsFirst: true),
                            transposed(byInput, rows: G, columns: I), precision: precision, message)
            }
        }
    }

    func testAMisshapenWeightIsStillAnErrorNamingIt() throws {
        for precision in Precision.allCases {
            let weights = try source(BERTParityTests.root + "/maskedlm", stored: .F32, prefixes: BERTWeights.bertPrefix, precision: precision)
            XCTAssertThrowsError(try weights.linear("encoder.layer.0.intermediate.dense.weight", outputs: 32, inputs: 64)) { error in
                XCTAssertTrue("\(error)".contains("bert.encoder.layer.0.intermediate.dense.weight"), "\(error)")
            }
        }
    }
}
