import CkptSupport
import XCTest
@testable import TensorFormats

/// Which tensors `convert --dtype int8` quantizes, along which axis, and the quantization itself.
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
}
