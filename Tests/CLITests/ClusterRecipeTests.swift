import CkptSupport
import Foundation
import XCTest

/// The cluster recipes of deploy/ run locally: their commands as N concurrent processes with the
/// environment Kubernetes (an Indexed Job) or Slurm (an array job) gives each worker, then their
/// merge step; the merged file must equal one `ckpt embed` over the whole input, byte for byte. And
/// `ckpt merge` refusing the parts it must refuse.
final class ClusterRecipeTests: XCTestCase {
    let model = ProcessInfo.processInfo.environment["CKPT_MINILM"] ?? Ckpt.repository.path + "/.cache/models/all-MiniLM-L6-v2"
    let deploy = Ckpt.repository.path + "/deploy"

    /// A work directory with 200 TREC questions as input.txt and the whole run's features, in `precision`, as whole.npy.
    func workspace(precision: String = "f32") throws -> String {
        let directory = try Ckpt.temporaryDirectory(self)
        let questions = try String(contentsOfFile: Ckpt.fixtures + "/data/trec-test.tsv", encoding: .utf8)
            .split(separator: "\n").dropFirst().prefix(200).map { $0.split(separator: "\t", maxSplits: 1)[1] }
        try (questions.joined(separator: "\n") + "\n").write(toFile: directory + "/input.txt", atomically: true, encoding: .utf8)
        let whole = try Ckpt.run(["embed", "--model", model, "--precision", precision, "--output", directory + "/whole.npy", "--quiet", directory + "/input.txt"])
        XCTAssertEqual(whole.status, 0, whole.stderr)
        return directory
    }

    /// Runs `/bin/sh -c script` (or `/bin/sh script` when `file`) for each environment at once; all must succeed.
    func runConcurrently(_ script: String, file: Bool = false, environments: [[String: String]]) throws {
        let processes = try environments.map { extra -> (Process, Pipe) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = file ? [script] : ["-c", script]
            var environment = ProcessInfo.processInfo.environment
            environment["PATH"] = Ckpt.executable.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
            environment.merge(extra) { $1 }
            process.environment = environment
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            return (process, errors)
        }
        for (process, errors) in processes {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, message)
        }
    }

    func paths(_ directory: String) -> [String: String] {
        ["MODEL": model, "INPUT": directory + "/input.txt", "PARTS": directory + "/parts", "DATA": directory]
    }

    /// With the Job's env as written but PRECISION (f32 there) set to bf16, as a user would.
    func testKubernetesIndexedJobAndMergeEqualOneRunInBF16() throws {
        let directory = try workspace(precision: "bf16")
        let yaml = try String(contentsOfFile: deploy + "/kubernetes/embed-job.yaml", encoding: .utf8)
        let lines = yaml.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertTrue(lines.contains("completionMode: Indexed"))
        let completions = try XCTUnwrap(lines.first { $0.hasPrefix("completions:") }.flatMap { Int($0.dropFirst("completions:".count).trimmingCharacters(in: .whitespaces)) })
        // The Job's env entries (name, then value) and its two scripts (the line after each `args:`).
        var environment: [String: String] = [:]
        for (i, line) in lines.enumerated() where line.hasPrefix("- name: ") && lines[i + 1].hasPrefix("value: ") {
            environment[String(line.dropFirst("- name: ".count))] = String(lines[i + 1].dropFirst("value: ".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        XCTAssertEqual(environment["SHARDS"], String(completions))
        XCTAssertEqual(environment["PRECISION"], "f32")
        environment["PRECISION"] = "bf16"
        let scripts = lines.indices.filter { lines[$0] == "args:" }.map { String(lines[$0 + 1].dropFirst(2)) }
        XCTAssertEqual(scripts.count, 2)
        environment.merge(paths(directory)) { $1 }
        try runConcurrently(scripts[0], environments: (0..<completions).map { environment.merging(["JOB_COMPLETION_INDEX": String($0)]) { $1 } })
        try runConcurrently(scripts[1], environments: [environment])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/features.npy")), try Data(contentsOf: URL(fileURLWithPath: directory + "/whole.npy")))
    }

    func testSlurmArrayAndMergeEqualOneRunInInt8() throws {
        let directory = try workspace(precision: "int8")
        let sbatch = try String(contentsOfFile: deploy + "/slurm/embed-array.sbatch", encoding: .utf8)
        let array = try XCTUnwrap(sbatch.split(separator: "\n").first { $0.hasPrefix("#SBATCH --array=0-") })
        let tasks = try XCTUnwrap(Int(array.dropFirst("#SBATCH --array=0-".count))) + 1
        try runConcurrently(deploy + "/slurm/embed-array.sbatch", file: true, environments: (0..<tasks).map {
            paths(directory).merging(["SLURM_ARRAY_TASK_ID": String($0), "SLURM_ARRAY_TASK_COUNT": String(tasks), "SLURM_CPUS_PER_TASK": "1",
                                        "PRECISION": "int8"]) { $1 }
        })
        try runConcurrently(deploy + "/slurm/merge.sbatch", file: true, environments: [paths(directory)])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: directory + "/features.npy")), try Data(contentsOf: URL(fileURLWithPath: directory + "/whole.npy")))
        let submit = try String(contentsOfFile: deploy + "/slurm/submit.sh", encoding: .utf8)
        XCTAssertTrue(submit.contains("--dependency=afterok:\"$array\""))
    }

    func testMergeRefusesMissingForeignDifferentAndTruncatedParts() throws {
        let directory = try workspace()
        func embed(_ k: Int, _ extra: [String] = [], input: String = "/input.txt", to name: String) throws {
            let result = try Ckpt.run(["embed", "--model", model, "--shard", "\(k)/4", "--output", directory + "/" + name, "--quiet"] + extra + [directory + input])
            XCTAssertEqual(result.status, 0, result.stderr)
        }
        for k in 0..<4 { try embed(k, to: "part-\(k).npy") }
        let parts = (0..<4).map { directory + "/part-\($0).npy" }
        let merged = directory + "/merged.npy"
        XCTAssertEqual(try Ckpt.run(["merge", "--output", merged, "--quiet"] + parts.reversed()).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: merged)), try Data(contentsOf: URL(fileURLWithPath: directory + "/whole.npy")))

        // Another input (the same questions but one), a part with max pooling, a truncated part.
        let other = try String(contentsOfFile: directory + "/input.txt", encoding: .utf8).replacingOccurrences(of: "?", with: "!")
        try other.write(toFile: directory + "/other.txt", atomically: true, encoding: .utf8)
        try embed(2, input: "/other.txt", to: "foreign-2.npy")
        try embed(2, ["--pooling", "max"], to: "max-2.npy")
        try embed(2, ["--precision", "bf16"], to: "bf16-2.npy")
        let truncated = directory + "/truncated-2.npy"
        try Data(try Data(contentsOf: URL(fileURLWithPath: parts[2])).prefix(4000)).write(to: URL(fileURLWithPath: truncated))
        try FileManager.default.copyItem(atPath: parts[2] + ".manifest.json", toPath: truncated + ".manifest.json")

        let cases: [([String], String)] = [
            ([parts[0], parts[1], parts[3]], "\(parts[0]): no part for shard 2 of 4"),
            ([parts[0], parts[1], parts[1], parts[2], parts[3]], "\(parts[1]): is shard 1 of 4, as is \(parts[1])"),
            ([parts[0], parts[1], directory + "/foreign-2.npy", parts[3]], "\(directory)/foreign-2.npy: was made with another input"),
            ([parts[0], parts[1], directory + "/max-2.npy", parts[3]], "\(directory)/max-2.npy: was made with another pooling (max)"),
            ([parts[0], parts[1], directory + "/bf16-2.npy", parts[3]], "\(directory)/bf16-2.npy: was made with another precision (bf16)"),
            ([parts[0], parts[1], truncated, parts[3]], "\(truncated): its bytes (CRC-32:size "),
        ]
        for (arguments, message) in cases {
            let result = try Ckpt.run(["merge", "--output", directory + "/refused.npy"] + arguments)
            XCTAssertEqual(result.status, 1, message)
            XCTAssertTrue(result.stderr.hasPrefix("error: " + message), result.stderr)
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1)
            XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/refused.npy"))
        }
        let noManifest = directory + "/bare.npy"
        try FileManager.default.copyItem(atPath: parts[0], toPath: noManifest)
        XCTAssertTrue(try Ckpt.run(["merge", "--output", directory + "/refused.npy", noManifest]).stderr
            .hasPrefix("error: \(noManifest): no manifest beside it"))
    }
}
