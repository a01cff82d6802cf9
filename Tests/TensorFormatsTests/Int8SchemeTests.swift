import CkptSupport
import XCTest
@testable import TensorFormats

/// Which tensors `convert --dtype int8` quantizes, along which axis, the quantization itself, and
/// an int8 checkpoint read back as the weights it stands for.
final class Int8SchemeTests: XCTestCase {
    func testLinearWeightsAreQuantizedAlongTheirOutputs() {
        func axis(_ name: String, _ shape: [Int], _ dtype: DType = .F32) -> Int? {
            Int8Scheme.outputAxis(of: TensorInfo(name: name, dtype: dtype, shape: shape))
        }
        XCTAssertEqual(axis("encoder.layer.0.attention.self.query.weight", [384, 384]), 0)
        XCTAssertEqual(axis("pooler.dense.weight", [384, 384], .BF16), 0)
        XCTAssertEqual(axis("h.0.attn.c_attn.weight", [768, 2304]), 1)  // Conv1D: [in, out]
        XCTAssertEqual(axis("transformer.h.11.mlp.c_proj.weight", [3072, 768]), 1)
        XCTAssertEqual(axis("lm_head.weight", [50257, 768]), 0)
        XCTAssertNil(axis("embeddings.word_embeddings.weight", [30522, 384]))
        XCTAssertNil(axis("wte.weight", [50257, 768]))
        XCTAssertNil(axis("transformer.wpe.weight", [1024, 768]))
        XCTAssertNil(axis("encoder.layer.0.attention.output.LayerNorm.weight", [384]))
        XCTAssertNil(axis("encoder.layer.0.attention.self.query.bias", [384]))
        XCTAssertNil(axis("h.0.attn.c_attn.weight", [768, 2304], .I8))  // quantized already
    }

    func testAColumnQuantizationIsTheRowQuantizationOfTheTranspose() {
        // w [in 3, out 2]: each column's scale is its largest magnitude / 127.
        let w: [Float] = [1.1, -8, 0.5, 3, -2, 2]
        let columns = Int8Scheme.quantize(w, shape: [3, 2], outputAxis: 1)
        XCTAssertEqual(columns.scales, [2 / 127, 8 / 127])
        XCTAssertEqual(columns.values, [70, -127, 32, 48, -127, 32])
        let transposed: [Float] = [1.1, 0.5, -2, -8, 3, 2]
        let rows = transposed.withUnsafeBufferPointer { Int8Weights(quantizing: $0.baseAddress!, outputs: 2, inputs: 3) }
        XCTAssertEqual(rows.scales, columns.scales)
        XCTAssertEqual(columns.transposed(inputs: 3), rows)
    }

    func testAnInt8CheckpointReadsBackAsValueTimesScaleAlongItsOutputs() throws {
        let path = try Fixtures.temporaryDirectory(self) + "/int8.safetensors"
        func tensor<T>(_ name: String, _ dtype: DType, _ shape: [Int], _ values: [T]) -> OutgoingTensor {
            OutgoingTensor(info: TensorInfo(name: name, dtype: dtype, shape: shape)) { emit in try values.withUnsafeBytes { try emit($0) } }
        }
        try SafeTensorsWriter.write([
            tensor("dense.weight", .I8, [2, 3], [1, -2, 3, 4, 5, -127] as [Int8]),  // [out 2, in 3]: a scale per row
            tensor("dense.weight_scale", .F32, [2], [0.5, 2] as [Float]),
            tensor("h.0.mlp.c_fc.weight", .I8, [3, 2], [1, -2, 3, 4, 5, -127] as [Int8]),  // Conv1D [in 3, out 2]: per column
            tensor("h.0.mlp.c_fc.weight_scale", .F32, [2], [0.5, 2] as [Float]),
            tensor("dense.bias", .F32, [2], [7, 8] as [Float]),
            tensor("ids", .I8, [2], [1, 2] as [Int8]),  // an integer tensor without scales stays as it is
        ], metadata: [(Int8Scheme.metadataKey, Int8Scheme.metadataValue)], to: path, overwrite: false)
        let reader = try Checkpoint(path: path).dequantized.reader
        XCTAssertEqual(reader.tensors.map(\.name), ["dense.bias", "dense.weight", "h.0.mlp.c_fc.weight", "ids"])  // in file order
        XCTAssertEqual(reader.tensors.map(\.dtype), [.F32, .F32, .F32, .I8])
        XCTAssertTrue(reader.metadata.isEmpty)
        XCTAssertEqual(try reader.tensor(named: "dense.weight").floats(), [0.5, -1, 1.5, 8, 10, -254])
        XCTAssertEqual(try reader.tensor(named: "h.0.mlp.c_fc.weight").floats(), [0.5, -4, 1.5, 8, 2.5, -254])
        XCTAssertEqual(try reader.tensor(named: "dense.bias").floats(), [7, 8])
        XCTAssertThrowsError(try reader.tensor(named: "dense.weight_scale"))
    }
}
