import CkptSupport
import Foundation
import TensorFormats
import Synchronization
import XCTest
import Kernels
@testable import Transformers

/// The real sentence-transformers/all-MiniLM-L6-v2 (fetched by `make test` into .cache/) against
/// sentence-transformers' own embeddings of 240 varied sentences (tools/make_minilm_golden.py).
final class MiniLMReferenceTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let model = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? repository + "/.cache/models/all-MiniLM-L6-v2"

    func extractor(precision: Precision = .f32) throws -> FeatureExtractor {
        guard FileSystem.exists(Self.model + "/model.safetensors") else {
            XCTFail("the real MiniLM is not at \(Self.model): run `make test`, which fetches it")
            throw CocoaError(.fileNoSuchFile)
        }
        return try FeatureExtractor(path: Self.model, precision: precision)
    }

    func testSettingsComeFromTheSentenceTransformersFiles() throws {
        let settings = try extractor().settings
        XCTAssertEqual(settings, PoolingSettings(modes: [.mean], normalize: true, maxLength: 256))
    }

    /// The lowest cosine to sentence-transformers f32 that each precision keeps (ONNX Runtime's
    /// dynamic int8 quantization gave 0.892 on this set's kind of sentences).
    static let lowestCosine: [Precision: Float] = [.f32: 0.99999, .bf16: 0.9999, .int8: 0.99]

    func testEmbeddingsMatchSentenceTransformers() throws {
        for precision in Precision.allCases { try checkEmbeddings(precision) }
    }

    func checkEmbeddings(_ precision: Precision) throws {
        let extractor = try extractor(precision: precision)
        let lines = try String(contentsOfFile: Self.repository + "/fixtures/minilm/sentences.jsonl", encoding: .utf8)
            .split(separator: "\n").map { try JSON.parse(String($0)).string! }
        let golden = try Checkpoint(path: Self.repository + "/fixtures/minilm/embeddings.npy").tensor(named: "embeddings").floats()
        XCTAssertGreaterThanOrEqual(lines.count, 200)
        let (features, truncated) = extractor.features(lines, batchSize: 16, threads: 2)
        XCTAssertGreaterThan(truncated, 0, "the golden set includes texts past 256 tokens")
        let D = extractor.dimension
        var worst: (cosine: Float, line: Int) = (1, -1)
        for i in 0..<lines.count {
            let a = features[(i * D)..<((i + 1) * D)], b = golden[(i * D)..<((i + 1) * D)]
            let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            let cosine = dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
            if cosine < worst.cosine { worst = (cosine, i) }
        }
        print("MiniLM \(precision): lowest cosine to sentence-transformers f32 \(worst.cosine) over \(lines.count) sentences")
        XCTAssertGreaterThanOrEqual(worst.cosine, Self.lowestCosine[precision]!,
                                    "\(precision): lowest cosine \(worst.cosine) at line \(worst.line): \(lines[max(0, worst.line)].prefix(80))")
    }

    func testFeaturesDoNotDependOnBatching() throws {
        let extractor = try extractor()
        let texts = ["short", "a somewhat longer sentence about nothing in particular", "", "東京", String(repeating: "long ", count: 100)]
        let one = extractor.features(texts, batchSize: 1).values
        let all = extractor.features(texts, batchSize: 5).values
        XCTAssertLessThan(zip(one, all).map { abs($0 - $1) }.max()!, 1e-5)
    }

    func testBatchesRunSideBySideGiveTheSameRowsAsOneThread() throws {
        let extractor = try extractor()
        let texts = (0..<23).map { String(repeating: "word\($0) ", count: 1 + $0 * 7 % 19) }
        let serial = extractor.features(texts, batchSize: 3, threads: 1).values
        let calls = Mutex<[Int]>([])  // the extractor calls progress one call at a time
        let parallel = extractor.features(texts, batchSize: 3, threads: 2) { count in calls.withLock { $0.append(count) } }.values
        let counts = calls.withLock { $0 }
        XCTAssertEqual(parallel, serial, "each batch runs on one thread either way, so the rows must be identical")
        XCTAssertEqual(counts, counts.sorted(), "progress counts only go up")
        XCTAssertEqual(counts.count, 8)
        XCTAssertEqual(counts.last, texts.count)
    }

    /// Windows of texts give, in input order, each window's first index and exactly the rows of
    /// the whole run (the real sentences, truncated ones among them, in every precision); progress
    /// counts over all windows.
    func testWindowsGiveTheRowsOfTheWholeRun() throws {
        let lines = try String(contentsOfFile: Self.repository + "/fixtures/minilm/sentences.jsonl", encoding: .utf8)
            .split(separator: "\n").prefix(40).map { try JSON.parse(String($0)).string! } + ["", String(repeating: "long ", count: 300)]
        for precision in Precision.allCases {
            let extractor = try extractor(precision: precision)
            let whole = extractor.features(lines, batchSize: 8, threads: 2)
            var firsts: [Int] = [], rows: [Float] = []
            let calls = Mutex<[Int]>([])
            let truncated = extractor.forEachWindow(of: lines, window: 9, batchSize: 8, threads: 2, progress: { count in calls.withLock { $0.append(count) } }) {
                firsts.append($0)
                XCTAssertEqual($1.count, min(9, lines.count - $0) * extractor.dimension)
                rows += $1
            }
            XCTAssertEqual(firsts, Array(stride(from: 0, to: lines.count, by: 9)), "\(precision)")
            XCTAssertEqual(rows, whole.values, "\(precision): windows give the whole run's bits")
            XCTAssertEqual(truncated, whole.truncated)
            XCTAssertGreaterThan(truncated, 0)
            let counts = calls.withLock { $0 }
            XCTAssertEqual(counts, counts.sorted(), "progress counts only go up")
            XCTAssertEqual(counts.last, lines.count)
        }
    }

    /// The model written as GGUF and read back as a model: F32 gives the directory's very features,
    /// F16 a cosine of at least 0.9999 to them (the bar), over the golden sentences.
    func testGGUFFilesOfTheModelEmbedAsTheDirectory() throws {
        let reference = try extractor()
        let lines = try String(contentsOfFile: Self.repository + "/fixtures/minilm/sentences.jsonl", encoding: .utf8)
            .split(separator: "\n").prefix(60).map { try JSON.parse(String($0)).string! }
        let expected = reference.features(lines, batchSize: 16, threads: 2).values
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-minilm-gguf-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (target, lowest) in [(GGUFExport.Target.f32, Float(1)), (.f16, 0.9999)] {
            let path = directory + "/minilm-\(target).gguf"
            try GGUFExport.write(modelDirectory: Self.model, to: path, target: target, overwrite: true, threads: 2)
            let extractor = try FeatureExtractor(path: path)
            XCTAssertEqual(extractor.settings, reference.settings, "pooling, normalisation and max_seq_length travel in ckpt.* keys")
            XCTAssertEqual(extractor.tokenizer.encodeBatch(lines, threads: 2).map(\.ids), reference.tokenizer.encodeBatch(lines, threads: 2).map(\.ids))
            let features = extractor.features(lines, batchSize: 16, threads: 2).values
            if target == .f32 { XCTAssertEqual(features, expected, "F32 GGUF holds the very weights") }
            let D = extractor.dimension
            // Cosines in double precision: a float sum of 384 products of unit vectors is 1 only within ~1e-6.
            let worst = (0..<lines.count).map { i in
                let pairs = zip(features[(i * D)..<((i + 1) * D)], expected[(i * D)..<((i + 1) * D)]).map { (Double($0), Double($1)) }
                let dot = pairs.reduce(0) { $0 + $1.0 * $1.1 }, a = pairs.reduce(0) { $0 + $1.0 * $1.0 }, b = pairs.reduce(0) { $0 + $1.1 * $1.1 }
                return dot / (a * b).squareRoot()
            }.min()!
            print("MiniLM GGUF \(target): lowest cosine to the directory's features \(worst)")
            XCTAssertGreaterThanOrEqual(worst, Double(lowest) - 1e-9, "\(target)")
        }
    }
}
