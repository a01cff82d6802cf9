import CkptSupport
import Foundation
import Kernels
import TensorFormats
import XCTest
@testable import Transformers

/// A model keeps its token embedding table in bf16 for bf16 products (rounded as the products round
/// their operands) and wherever the checkpoint stores it in BF16 (as stored, in any precision), in
/// f32 otherwise; an output product that shares the table is packed from it, so it is held once.
final class TokenTableTests: XCTestCase {
    /// The models of each family, and the name of the token table in their checkpoints.
    static let models: [(directory: String, table: String)] = [
        (BERTParityTests.root + "/maskedlm", "bert.embeddings.word_embeddings.weight"),
        (GPT2ParityTests.root + "/bare", "wte.weight"),
        (GPT2ParityTests.root + "/untied", "transformer.wte.weight"),
    ]

    func table(of directory: String, precision: Precision) throws -> TokenTable {
        let source = try ModelSource(path: directory)
        if source.config.json["model_type"]?.string == "gpt2" { return try GPT2(source: source, precision: precision).weights.tokenEmbeddings }
        return try BERT(source: source, precision: precision).weights.wordEmbeddings
    }

    /// A copy of the model in `directory` with its weights stored as `dtype`.
    static func copy(of model: String, as dtype: DType, in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: model + "/config.json", toPath: directory + "/config.json")
        _ = try Converter.convert(try Checkpoint(path: model), to: .safetensors(path: directory + "/model.safetensors"), dtype: dtype,
                                  selection: TensorSelection(), overwrite: false, threads: 1)
    }

    func testBF16ProductsHoldTheTableRoundedToBF16AndTheOthersInF32() throws {
        for (directory, name) in Self.models {
            let view = try Checkpoint(path: directory).tensor(named: name)
            let stored = view.floats(), width = view.shape[1]
            let bf16 = try table(of: directory, precision: .bf16)
            guard case .bf16(let bits) = bf16 else { return XCTFail("\(directory) bf16: an f32 table") }
            XCTAssertEqual(bits, stored.map(FloatBits.bfloat16(from:)), directory)
            let row = FloatBuffer(width)
            bf16.copyRow(3, width: width, into: row.p)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: row.p, count: width)),
                           bits[(3 * width)..<(4 * width)].map(FloatBits.float(fromBFloat16:)), "\(directory): a row is looked up widened")
            for precision in [Precision.f32, .int8] {
                guard case .f32(let values) = try table(of: directory, precision: precision) else {
                    return XCTFail("\(directory) \(precision): a bf16 table")
                }
                XCTAssertEqual(values.array, stored, "\(directory) \(precision)")
            }
        }
    }

    /// A BF16 table is kept as stored in every precision: half the bytes, and the outputs of f32
    /// products are exactly those of the same values widened into an f32 checkpoint.
    func testABF16TableIsKeptAsStoredInEveryPrecision() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-table-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (index, (model, name)) in Self.models.enumerated() {
            let halved = "\(root)/\(index)-bf16", widened = "\(root)/\(index)-f32"
            try Self.copy(of: model, as: .BF16, in: halved)
            try Self.copy(of: halved, as: .F32, in: widened)
            let stored = try Checkpoint(path: halved).tensor(named: name).elements(as: UInt16.self)
            for precision in Precision.allCases {
                guard case .bf16(let bits) = try table(of: halved, precision: precision) else {
                    return XCTFail("\(model) \(precision): a stored BF16 table was widened")
                }
                XCTAssertEqual(bits, stored, "\(model) \(precision)")
            }
            if model.hasSuffix("maskedlm") {
                let g = try BERTParityTests.golden()
                let outputs = try [halved, widened].map { directory in
                    let bert = try BERT(path: directory, precision: .f32)
                    let hidden = bert.hiddenStates(ids: g.ids, typeIds: g.typeIds, mask: g.mask, batch: g.B, length: g.T)
                    return hidden + (try XCTUnwrap(bert.maskedLMLogits(hidden, rows: g.B * g.T)))
                }
                XCTAssertEqual(outputs[0], outputs[1], model)
            } else {
                let logits = try [halved, widened].map { directory in
                    let gpt2 = try GPT2(path: directory, precision: .f32)
                    let ids = (0..<16).map { Int32($0 * 37 % gpt2.config.vocabularySize) }
                    return gpt2.logits(ids, cache: KVCache(for: gpt2.config), allPositions: true)
                }
                XCTAssertEqual(logits[0], logits[1], model)
            }
        }
    }
}
