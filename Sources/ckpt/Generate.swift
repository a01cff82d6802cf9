import CkptSupport
import ArgumentParser
import Dispatch
import Foundation
import TensorFormats
import Transformers

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a GPT-2 model.",
        discussion: """
            --temperature 0 (the default) is greedy decoding, token for token what transformers' generate \
            gives. Generation stops at <|endoftext|>, after --max-new-tokens, or when the context is full. \
            text: the continuation streamed as it is made (a character split over tokens waits for its last \
            byte). json: {"prompt_ids": [...], "ids": [...new ids...], "text": "..."}. An empty prompt starts \
            from <|endoftext|>.
            """
    )

    enum Format: String, ExpressibleByArgument { case text, json }

    @Option(help: "A GPT-2 model directory (config.json, weights, tokenizer files) or .gguf file.")
    var model: String

    @Option(help: "The text to continue.")
    var prompt: String = ""

    @Option(help: "Most tokens to generate.")
    var maxNewTokens: Int = 50

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Sample only among the K most likely tokens.")
    var topK: Int?

    @Option(help: "Sample only among the most likely tokens whose probabilities sum to P (0 < P ≤ 1).")
    var topP: Float?

    @Option(help: "Seed of the sampler: the same seed gives the same text.")
    var seed: UInt64 = 0

    @Option(help: "Output: text or json.")
    var format: Format = .text

    @Flag(help: "Keep the last tokens of a prompt longer than the context instead of failing.")
    var truncateLeft = false

    @OptionGroup var parallel: ThreadOptions

    @OptionGroup var numeric: PrecisionOption

    @Flag(help: "No speed note on stderr.")
    var quiet = false

    func validate() throws {
        if maxNewTokens < 0 { throw ValidationError("--max-new-tokens must be at least 0") }
        do {
            _ = try sampling()
        } catch let error as SamplingError {
            let option = switch error { case .temperature: "--temperature"; case .topK: "--top-k"; case .topP: "--top-p" }
            throw ValidationError("\(option): \(error)")
        }
    }

    private func sampling() throws -> SamplingSettings {
        try SamplingSettings(temperature: temperature, topK: topK, topP: topP, seed: seed)
    }

    func run() throws {
        try reportingFailure {
            let generator = try TextGenerator(path: model, precision: numeric.requested())
            numeric.noteFallback(generator.model.precision, quiet: quiet)
            let (ids, dropped) = try attributing(to: model) { try generator.promptIds(prompt, truncateLeft: truncateLeft) }
            if dropped > 0 && !quiet {
                printError("note: the prompt was cut to its last \(ids.count) tokens to fit the context")
            }
            var stream = UTF8Stream()
            let start = DispatchTime.now().uptimeNanoseconds
            let (new, stop) = generator.generate(ids, maxNewTokens: maxNewTokens, sampling: try sampling(), threads: parallel.threads) { id in
                guard format == .text else { return }
                let text = stream.append(generator.tokenizer.decodeBytes([id]))
                if !text.isEmpty { FileHandle.standardOutput.write(Data(text.utf8)) }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            switch format {
            case .text:
                FileHandle.standardOutput.write(Data((stream.finish() + "\n").utf8))
            case .json:
                let object = JSON.object([
                    ("prompt_ids", .array(ids.map { .number("\($0)") })), ("ids", .array(new.map { .number("\($0)") })),
                    ("text", .string(generator.tokenizer.decode(new))),
                ])
                FileHandle.standardOutput.write(Data((object.compactText + "\n").utf8))
            }
            if !quiet {
                let rate = Double(new.count) / max(seconds, 1e-9)
                printError("\(new.count) new tokens after \(ids.count) prompt tokens in \(String(format: "%.2f", seconds)) s "
                           + "(\(String(format: "%.1f", rate)) tokens/s); stopped: \(stop.rawValue)")
            }
        }
    }
}
