import CkptSupport
import ArgumentParser
import Foundation
import Tokenizers

/// Times batch encoding alone (the file is read and the tokenizer loaded before the clock starts),
/// for tools/bench/tokenizers.py. Prints one JSON object.
struct BenchTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tokenize", abstract: "Time batch tokenization of a file's lines.", shouldDisplay: false)

    @Option var tokenizer: String
    @Option var threads: Int = 1
    @Option var repeats: Int = 3
    @Flag(help: "Encode the whole file as one text instead of line by line.") var whole = false
    @Flag(help: "Ids only (encodeIDsBatch), as tiktoken's encode_ordinary gives them.") var ids = false
    @Argument var file: String

    func run() throws {
        try reportingFailure {
            let loaded = try Tokenizer(file: tokenizer)
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            let lines = whole ? [String(decoding: data, as: UTF8.self)] : InputLines(data).lines
            let (best, tokens) = bestTime(repeats: repeats) {
                ids ? loaded.encodeIDsBatch(lines, threads: threads).reduce(0) { $0 + $1.count }
                    : loaded.encodeBatch(lines, threads: threads).reduce(0) { $0 + $1.count }
            }
            print("{\"seconds\": \(best), \"bytes\": \(data.count), \"lines\": \(lines.count), \"tokens\": \(tokens)}")
        }
    }
}
