import Foundation
import XCTest

/// What ckpt promises about its bits: every command's output is the same at any `--threads`, and a
/// text's features are the same whatever batch or shard it lands in (on one machine and engine).
final class DeterminismCommandTests: XCTestCase {
    let minilm = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"
    let gpt2 = Ckpt.fixtures + "/gpt2/bare"

    /// The first 150 TREC test questions (varied lengths; enough for several batches of 64).
    func questions() throws -> String {
        let directory = try Ckpt.temporaryDirectory(self)
        let lines = try String(contentsOfFile: Ckpt.fixtures + "/data/trec-test.tsv", encoding: .utf8).split(separator: "\n").prefix(151)
        let path = directory + "/questions.tsv"
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func embed(_ model: String, _ input: String, _ options: [String], into path: String) throws -> Data {
        let result = try Ckpt.run(["embed", "--model", model, input, "--output", path, "--quiet"] + options)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try bytes(path)
    }

    func testEmbedBytesDoNotDependOnBatchSizeOrThreads() throws {
        let input = try questions()
        for model in [minilm, gpt2] {
            let directory = try Ckpt.temporaryDirectory(self)
            let reference = try embed(model, input, ["--batch-size", "64", "--threads", "1"], into: directory + "/reference.npy")
            for (batch, threads) in [("1", "2"), ("7", "2"), ("64", "2"), ("7", "1")] {
                let other = try embed(model, input, ["--batch-size", batch, "--threads", threads], into: directory + "/\(batch)-\(threads).npy")
                XCTAssertEqual(other, reference, "\(model): --batch-size \(batch) --threads \(threads) differs from --batch-size 64 --threads 1")
            }
        }
    }

    func testFourShardsConcatenateToTheBytesOfOneRun() throws {
        let input = try questions(), directory = try Ckpt.temporaryDirectory(self)
        let whole = try embed(minilm, input, [], into: directory + "/whole.npy")
        var rows = Data()
        for k in 0..<4 {
            let part = try embed(minilm, input, ["--shard", "\(k)/4"], into: directory + "/\(k).npy")
            rows += part.dropFirst(Self.npyHeaderBytes(part))
        }
        XCTAssertEqual(rows, whole.dropFirst(Self.npyHeaderBytes(whole)))
    }

    func testFillMaskGenerateAndPerplexityAreTheSameAtOneAndTwoThreads() throws {
        let commands: [[String]] = [
            ["fill-mask", "--model", Ckpt.fixtures + "/bert/maskedlm", "--top-k", "5", "[MASK] dog runs over the [MASK] house"],
            ["generate", "--model", gpt2, "--prompt", "The meaning of life is", "--max-new-tokens", "40", "--format", "json", "--quiet"],
            ["perplexity", "--model", gpt2, "--format", "jsonl", Ckpt.fixtures + "/data/README.md"],
        ]
        for command in commands {
            let one = try Ckpt.run(command + ["--threads", "1"]), two = try Ckpt.run(command + ["--threads", "2"])
            XCTAssertEqual(one.status, 0, one.stderr)
            XCTAssertFalse(one.stdout.isEmpty, command[0])
            XCTAssertEqual(two.stdout, one.stdout, "\(command[0]) at 2 threads")
        }
    }

    func testTrainHeadWritesTheSameHeadAtOneAndTwoThreads() throws {
        let directory = try Ckpt.temporaryDirectory(self)
        let train = try questions()
        for threads in ["1", "2"] {
            let result = try Ckpt.run(["train-head", "--model", minilm, "--train", train, "--output", directory + "/head-\(threads)",
                                       "--threads", threads, "--quiet"])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        XCTAssertEqual(try bytes(directory + "/head-2/head.safetensors"), try bytes(directory + "/head-1/head.safetensors"))
    }

    func testTheFeatureCacheServesOnlyTheEngineThatWroteIt() throws {
        let directory = try Ckpt.temporaryDirectory(self), train = try questions()
        func trainHead(engine: String) throws -> String {
            let command = "CKPT_ENGINE=\(engine) '\(Ckpt.executable.path)' train-head --model '\(minilm)' --train '\(train)'"
                + " --output '\(directory)/head' --force --cache-dir '\(directory)/cache'"
            let result = try Ckpt.run(["sh", "-c", command], shell: true)
            XCTAssertEqual(result.status, 0, result.stderr)
            return result.stderr
        }
        XCTAssertFalse(try trainHead(engine: "onednn").contains("from the cache"))
        XCTAssertFalse(try trainHead(engine: "openblas").contains("from the cache"), "oneDNN's rows served to OpenBLAS")
        XCTAssertTrue(try trainHead(engine: "onednn").contains("150 of 150 feature rows from the cache"))
    }

    /// The bf16 kernel (oneDNN's bf16 one, or its f32 one over widened weights) adds in its own order,
    /// so it must be chosen the same way in every run; a timed choice once flipped one run in six.
    func testEveryRunChoosesTheSameBf16Kernel() throws {
        var kernels = Set<String>()
        for _ in 0..<12 {
            let result = try Ckpt.run(["system", "--json"])
            XCTAssertEqual(result.status, 0, result.stderr)
            let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            let bf16 = (report?["precisions"] as? [String: Any])?["bf16"] as? [String: Any]
            kernels.insert(try XCTUnwrap(bf16?["kernel"] as? String, result.stdout))
        }
        XCTAssertEqual(kernels.count, 1, "bf16 kernels chosen: \(kernels.sorted())")
    }

    /// Attention runs in bf16 (over more than 64 keys) where the CPU has VDPBF16PS at twice the f32
    /// rate: on AMD cores with AVX512-BF16.
    func testSystemReportsWhereAttentionRunsInBF16() throws {
        let result = try Ckpt.run(["system", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let cpu = try XCTUnwrap(report["cpu"] as? [String: Any], result.stdout)
        let features = try XCTUnwrap(cpu["features"] as? [String], result.stdout), model = try XCTUnwrap(cpu["model"] as? String)
        let keys = try XCTUnwrap((report["attention"] as? [String: Any])?["bf16_above_keys"], result.stdout)
        if features.contains("avx512_bf16") && model.hasPrefix("AMD") {
            XCTAssertEqual(keys as? Int, 64, result.stdout)
            XCTAssertTrue(try Ckpt.run(["system"]).stdout.contains("\nattention  f32; in bf16 and int8, bf16 (VDPBF16PS) over more than 64 keys\n"))
        } else {
            XCTAssertTrue(keys is NSNull, result.stdout)
        }
    }

    func testAnUnknownEngineIsRefusedBeforeAnyWork() throws {
        let result = try Ckpt.run(["sh", "-c", "CKPT_ENGINE=cuda '\(Ckpt.executable.path)' embed --model '\(minilm)' --quiet"],
                                  shell: true, input: "hello\n")
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "error: CKPT_ENGINE: unknown matrix-product engine \"cuda\" (known: onednn, openblas)\n")
        XCTAssertEqual(result.stdout, "")
    }

    /// Bytes before an .npy file's data: magic, version, header length and header.
    static func npyHeaderBytes(_ data: Data) -> Int {
        let bytes = [UInt8](data.prefix(12))
        return bytes[6] == 1 ? 10 + Int(bytes[8]) + Int(bytes[9]) << 8
            : 12 + Int(bytes[8]) + Int(bytes[9]) << 8 + Int(bytes[10]) << 16 + Int(bytes[11]) << 24
    }
}
