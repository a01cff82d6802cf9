import CkptSupport
import Foundation
import Kernels
import TensorFormats
import XCTest
@testable import Transformers

/// A model keeps its token embedding table in bf16 for bf16 products (rounded as the products round
/// their operands) and wherever the checkpoint stores it in BF16 (as stored, in any precision), in
/// f32 otherwise; an output product that shares the table (a tied one) is packed from it, and where
/// that product's weights read back as the same values, the table is read from them: held once.
final class TokenTableTests: XCTestCase {
    /// The models of each family, the name of the token table in their checkpoints, and whether
    /// an output product shares it.
    static let models: [(directory: String, table: String, tied: Bool)] = [
        (BERTParityTests.root + "/maskedlm", "bert.embeddings.word_embeddings.weight", true),
        (GPT2ParityTests.root + "/bare", "wte.weight", true),
        (GPT2ParityTests.root + "/untied", "transformer.wte.weight", false),
    ]

    /// The model's token table, and the output product packed from it where it is tied.
    func table(of directory: String, precision: Precision) throws -> (table: TokenTable, tiedOutput: LinearWeight?) {
        let source = try ModelSource(path: directory)
        if source.config.json["model_type"]?.string == "gpt2" {
            let weights = try GPT2(source: source, precision: precision).weights
            return (weights.tokenEmbeddings, weights.output)
        }
        let weights = try BERT(source: source, precision: precision).weights
        return (weights.wordEmbeddings, weights.maskedLM?.decoder)
    }

    /// Every row of `table` as `copyRow` gives it.
    func rows(of table: TokenTable, count: Int, width: Int) -> [Float] {
        let row = FloatBuffer(width)
        return (0..<count).flatMap { id in
            table.copyRow(id, width: width, into: row.p)
            return Array(UnsafeBufferPointer(start: row.p, count: width))
        }
    }

    /// A copy of the model in `directory` with its weights stored as `dtype`.
    static func copy(of model: String, as dtype: DType, in directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: model + "/config.json", toPath: directory + "/config.json")
        _ = try Converter.convert(try Checkpoint(path: model), to: .safetensors(path: directory + "/model.safetensors"), dtype: dtype,
                                  selection: TensorSelection(), overwrite: false, threads: 1)
    }

    func testBF16ProductsHoldTheTableRoundedToBF16AndTheOthersInF32() throws {
        for (directory, name, tied) in Self.models {
            let view = try Checkpoint(path: directory).tensor(named: name)
            let stored = view.floats(), (count, width) = (view.shape[0], view.shape[1])
            let rounded = stored.map { FloatBits.float(fromBFloat16: FloatBits.bfloat16(from: $0)) }
            for precision in Precision.allCases {
                let (table, output) = try table(of: directory, precision: precision)
                XCTAssertEqual(rows(of: table, count: count, width: width), precision == .bf16 ? rounded : stored, "\(directory) \(precision)")
                switch table {
                case .output(let weight):
                    // Tied f32 and bf16 products whose weights read back (int8 ones are quantized).
                    XCTAssertTrue(weight === output && tied && precision != .int8, "\(directory) \(precision)")
                case .bf16(let bits):
                    XCTAssertEqual(precision, .bf16, "\(directory): a bf16 table for \(precision) products")
                    XCTAssertEqual(bits, stored.map(FloatBits.bfloat16(from:)), directory)
                    XCTAssertFalse(tied && output!.weightsReadable, "\(directory) \(precision): the table is held twice")
                case .f32(let values):
                    XCTAssertNotEqual(precision, .bf16, "\(directory): an f32 table for bf16 products")
                    XCTAssertEqual(values.array, stored, "\(directory) \(precision)")
                    XCTAssertFalse(tied && output!.weightsReadable, "\(directory) \(precision): the table is held twice")
                }
            }
        }
    }

    /// A BF16 table is kept as stored in every precision, or read from a tied output product
    /// packed from it: half the bytes, or none of its own; and the outputs of f32 products are
    /// exactly those of the same values widened into an f32 checkpoint.
    func testABF16TableIsKeptAsStoredInEveryPrecision() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-table-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (index, (model, name, _)) in Self.models.enumerated() {
            let halved = "\(root)/\(index)-bf16", widened = "\(root)/\(index)-f32"
            try Self.copy(of: model, as: .BF16, in: halved)
            try Self.copy(of: halved, as: .F32, in: widened)
            let view = try Checkpoint(path: halved).tensor(named: name)
            let stored = view.elements(as: UInt16.self)
            for precision in Precision.allCases {
                let (table, _) = try table(of: halved, precision: precision)
                XCTAssertEqual(rows(of: table, count: view.shape[0], width: view.shape[1]), stored.map(FloatBits.float(fromBFloat16:)),
                               "\(model) \(precision)")
                switch table {
                case .output: break  // read from the tied product's weights
                case .bf16(let bits): XCTAssertEqual(bits, stored, "\(model) \(precision)")
                case .f32: XCTFail("\(model) \(precision): a stored BF16 table was widened")
                }
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
