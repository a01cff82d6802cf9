import CkptSupport
import ArgumentParser
import Foundation
import TensorFormats
import Tokenizers
import Transformers

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score texts with a GPT-2 model: tokens, mean negative log-likelihood and perplexity.",
        discussion: """
            INPUT as for embed (.txt, .tsv/.csv with --text-column, .jsonl; default stdin). One row per text: \
            tsv `tokens<TAB>nll<TAB>perplexity`, or jsonl {"index", "tokens", "nll", "perplexity"}; nll is the \
            mean over the predicted tokens (all but the first), in nats. Texts longer than the context are \
            scored in windows of the context length every --stride tokens (transformers' recipe), each token \
            once. A text of fewer than two tokens has nothing to score (nan / null). The total over all texts \
            goes to stderr.
            """
    )

    enum Format: String, ExpressibleByArgument { case tsv, jsonl }

    @Option(help: "A GPT-2 model directory or .gguf file.")
    var model: String

    @Option(help: "Output: tsv or jsonl.")
    var format: Format = .tsv

    @Option(help: "Window step for texts longer than the context (default: half the context).")
    var stride: Int?

    @Option(help: "Column (TSV/CSV) or field (JSONL) holding the text.")
    var textColumn: String = "text"

    @OptionGroup var parallel: ThreadOptions

    @OptionGroup var numeric: PrecisionOption

    @Flag(help: "No total on stderr.")
    var quiet = false

    @Argument(help: "Input file (default: stdin).")
    var input: String?

    func validate() throws {
        if let stride, stride < 1 { throw ValidationError("--stride must be at least 1") }
    }

    func run() throws {
        try reportingFailure {
            let modelSource = try ModelSource(path: model)
            let gpt2 = try GPT2(source: modelSource, precision: numeric.requested())
            numeric.noteFallback(gpt2.precision, quiet: quiet)
            let tokenizer = try modelSource.tokenizer()
            let context = gpt2.config.maxPositions
            let step = stride ?? max(1, context / 2)
            guard step <= context else { throw ValidationError("--stride must be at most the context, \(context)") }
            let source = input ?? "-"
            let lines = try InputLines.lines(of: source, quiet: quiet)
            let texts = try attributing(to: InputLines.displayName(source)) {
                try TextInput.texts(lines, format: TextInput.format(of: source), column: textColumn)
            }
            var out = OutputBuffer()
            var total = PerplexityScore()
            for (index, text) in texts.enumerated() {
                let score = gpt2.perplexity(tokenizer.encodeIDs(text, addSpecialTokens: false), stride: step, threads: parallel.threads)
                total.add(score)
                switch format {
                case .tsv:
                    out.line("\(score.tokens)\t\(score.nll.map { "\($0)" } ?? "nan")\t\(score.perplexity.map { "\($0)" } ?? "nan")")
                case .jsonl:
                    func number(_ value: Double?) -> JSON { value.map { .number("\($0)") } ?? .null }
                    out.line(JSON.object([("index", .number("\(index)")), ("tokens", .number("\(score.tokens)")),
                                          ("nll", number(score.nll)), ("perplexity", number(score.perplexity))]).compactText)
                }
            }
            out.flush()
            if !quiet {
                let summary = total.nll.map { "mean nll \($0), perplexity \(total.perplexity!)" } ?? "nothing to score"
                printError("total: \(texts.count) texts, \(total.tokens) tokens, \(total.predicted) predicted; \(summary)")
            }
        }
    }
}
