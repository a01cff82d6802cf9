import ArgumentParser
import CkptSupport
import Transformers

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Join the parts of a sharded `embed` run into one file, after checking their manifests.",
        discussion: """
            Each PART needs the PART.manifest.json that `embed --shard K/N --output PART` writes. The parts must \
            come from the same input, model and settings, cover shards 0 ... N-1 once each with contiguous rows, \
            and hold the bytes their manifests recorded; then .npy and .safetensors parts are streamed into one \
            array ("features") and .jsonl parts concatenated, in shard order. A missing, duplicate, foreign or \
            corrupt part is an error naming it, and nothing is written.
            """
    )

    @Option(help: "The merged file, of the parts' format (.npy, .safetensors or .jsonl).")
    var output: String

    @Flag(help: "Overwrite an existing output file.")
    var force = false

    @Flag(help: "No summary on stderr.")
    var quiet = false

    @Argument(help: "The parts, in any order.")
    var parts: [String]

    func validate() throws {
        if parts.isEmpty { throw ValidationError("give the parts to merge") }
    }

    func run() throws {
        try reportingFailure {
            let manifests = try ShardMerge.merge(parts, into: output, overwrite: force)
            if !quiet {
                printError("\(output): \(manifests.reduce(0) { $0 + $1.rows }) rows from \(manifests.count) parts")
            }
        }
    }
}
