import CkptSupport
import Kernels
import ArgumentParser
import Foundation
import TensorFormats
import Tokenizers
import Transformers

struct FillMask: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill-mask",
        abstract: "Predict the tokens behind each [MASK] (a BertForMaskedLM checkpoint).",
        discussion: "Prints one line per candidate: position of the mask among the tokens, token, id, probability."
    )

    @Option(help: "A model directory with a masked-LM head, or a GGUF file written with --with-heads.")
    var model: String

    @Option(help: "Candidates per mask.")
    var topK: Int = 5

    @OptionGroup var parallel: ThreadOptions

    @OptionGroup var numeric: PrecisionOption

    @Argument(help: "Text with one or more [MASK] tokens.")
    var text: String

    func validate() throws {
        if topK < 1 { throw ValidationError("--top-k must be at least 1") }
    }

    func run() throws {
        try reportingFailure {
            let modelSource = try ModelSource(path: model)
            let bert = try BERT(source: modelSource, precision: numeric.requested())
            numeric.noteFallback(bert.precision)
            let tokenizer = try modelSource.tokenizer()
            let predictions = try attributing(to: model) { try bert.fillMask(text, tokenizer: tokenizer, topK: topK, threads: parallel.threads) }
            var out = OutputBuffer()
            for prediction in predictions {
                for candidate in prediction.candidates {
                    out.line("\(prediction.position)\t\(tokenizer.token(candidate.id) ?? "")\t\(candidate.id)\t\(candidate.probability)")
                }
            }
            out.flush()
        }
    }
}
