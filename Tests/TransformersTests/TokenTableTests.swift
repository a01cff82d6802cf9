import CkptSupport
import Foundation
import Kernels
import TensorFormats
import XCTest
@testable import Transformers

/// A model reads its token embedding table in the checkpoint's own bytes where they are mapped (a
/// row at a time, from the file), rows for bf16 products rounded to bf16 as the products round
/// their operands, a table stored in BF16 as stored in every precision; where an output product
/// shares the table (a tied one) and its weights read back as the same values, from those weights:
/// never a copy of its own beside them. Only a table the reader had to make on the heap, not
/// BF16, is copied for bf16 products, as bf16 bits.
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
                case .stored(let view, let roundedToBF16):
                    XCTAssertTrue(view.isMapped && view.name.hasSuffix(name), "\(directory) \(precision)")
                    XCTAssertEqual(roundedToBF16, precision == .bf16, "\(directory) \(precision)")
                    XCTAssertFalse(tied && output!.weightsReadable, "\(directory) \(precision): the table is held twice")
                case .bf16: XCTFail("\(directory) \(precision): a mapped table was copied")
                }
            }
        }
    }

    /// A table that is heap data (an inflated npz member) is kept as that data for f32 and int8
    /// products, and copied as bf16 bits for bf16 ones (half its bytes); the rows are the same as
    /// the mapped table's in every precision.
    func testATableOnTheHeapIsKeptOrCopiedAsBF16() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-table-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (index, (model, name, _)) in Self.models.enumerated() {
            let directory = "\(root)/\(index)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: model + "/config.json", toPath: directory + "/config.json")
            _ = try Converter.convert(try Checkpoint(path: model), to: .npz(path: directory + "/model.npz", compress: true), dtype: nil,
                                      selection: TensorSelection(), overwrite: false, threads: 1)
            let stored = try Checkpoint(path: model).tensor(named: name), (count, width) = (stored.shape[0], stored.shape[1])
            for precision in Precision.allCases {
                let (mapped, _) = try table(of: model, precision: precision), (heap, _) = try table(of: directory, precision: precision)
                XCTAssertEqual(rows(of: heap, count: count, width: width), rows(of: mapped, count: count, width: width), "\(model) \(precision)")
                switch heap {
                case .output: XCTAssertNotEqual(precision, .int8, model)
                case .stored(let view, let roundedToBF16):
                    XCTAssertTrue(!view.isMapped && !roundedToBF16 && precision != .bf16, "\(model) \(precision)")
                case .bf16(let bits):
                    XCTAssertEqual(precision, .bf16, model)
                    XCTAssertEqual(bits, stored.floats().map(FloatBits.bfloat16(from:)), model)
                }
            }
        }
    }

    /// A tied table is asked for twice where its product is int8 (packed, then read as a table);
    /// a missing one is still listed once, in every precision.
    func testAMissingTiedTableIsListedOnce() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-table-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let model = GPT2ParityTests.root + "/bare"
        try FileManager.default.copyItem(atPath: model + "/config.json", toPath: directory + "/config.json")
        _ = try Converter.convert(try Checkpoint(path: model), to: .safetensors(path: directory + "/model.safetensors"), dtype: nil,
                                  selection: TensorSelection(exclude: ["^wte\\.weight$"]), overwrite: false, threads: 1)
        for precision in Precision.allCases {
            XCTAssertThrowsError(try GPT2(path: directory, precision: precision)) { error in
                XCTAssertEqual("\(error)", "\(directory)/model.safetensors: missing tensors: wte.weight (is this checkpoint the model its config.json names?)")
            }
        }
    }

    /// A BF16 table is read as stored in every precision, or from a tied output product packed
    /// from it; and the outputs of f32 products are exactly those of the same values widened into
    /// an f32 checkpoint.
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
                case .stored(let view, _): XCTAssertEqual(view.dtype, .BF16, "\(model) \(precision)")
                case .bf16: XCTFail("\(model) \(precision): a stored BF16 table was copied")
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
