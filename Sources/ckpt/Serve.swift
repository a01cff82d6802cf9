import ArgumentParser
import Foundation
import Kernels
import Serving

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An HTTP server for a model: OpenAI and TEI embedding routes, tokenization, head predictions, metrics.",
        discussion: """
            Routes: POST /v1/embeddings (OpenAI), POST /embed (Text Embeddings Inference), POST /tokenize, POST \
            /predict (with --head), GET /info, GET /health (503 while loading), GET /metrics (Prometheus). Requests \
            are queued and run in rounds of up to --max-batch-tokens tokens; every answer is what `ckpt embed` \
            computes for the same texts. Errors are JSON {"error", "error_type"}: 400 bad JSON or input, 413 body or \
            batch over the limits, 422 a text over the model's limit (unless --auto-truncate or "truncate": true), \
            429 queue full. SIGTERM or SIGINT: stop accepting, answer what is in flight, exit 0.
            """
    )

    @Option(help: "A model directory (config.json, weights, tokenizer files) or a .gguf file.")
    var model: String

    @Option(name: .customLong("head"), help: ArgumentHelp("A head for /predict, as NAME=HEAD_DIR (repeatable).", valueName: "NAME=HEAD_DIR"))
    var heads: [String] = []

    @Option(help: "Address to listen on (loopback unless told otherwise).")
    var host = "127.0.0.1"

    @Option(help: "Port (0: any free port, printed on stderr).")
    var port = 8080

    @OptionGroup var parallel: ThreadOptions

    @OptionGroup var numeric: PrecisionOption

    @Option(help: "Most tokens per round of the model.")
    var maxBatchTokens = 16_384

    @Option(help: "Requests queued or running at once; more are answered 429.")
    var maxConcurrentRequests = 512

    @Option(help: "Most texts per request; more are answered 413.")
    var maxClientBatchSize = 32

    @Option(help: "Most bytes per request body; more are answered 413.")
    var payloadLimit = 2_000_000

    @Flag(help: "Cut texts longer than the model's limit instead of answering 422.")
    var autoTruncate = false

    func validate() throws {
        for value in [maxBatchTokens, maxConcurrentRequests, maxClientBatchSize, payloadLimit] where value < 1 {
            throw ValidationError("the limits must be at least 1")
        }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0 ... 65535") }
        for head in heads where head.split(separator: "=", maxSplits: 1).count != 2 {
            throw ValidationError("--head takes NAME=HEAD_DIR, not '\(head)'")
        }
    }

    func run() async throws {
        var settings = ServerSettings(model: model)
        settings.heads = heads.map { let parts = $0.split(separator: "=", maxSplits: 1); return (String(parts[0]), String(parts[1])) }
        (settings.host, settings.port, settings.threads) = (host, port, parallel.threads)
        settings.precision = numeric.precision
        (settings.maxBatchTokens, settings.maxConcurrentRequests) = (maxBatchTokens, maxConcurrentRequests)
        (settings.maxClientBatchSize, settings.payloadLimit, settings.autoTruncate) = (maxClientBatchSize, payloadLimit, autoTruncate)
        do {
            try await EmbeddingServer.run(settings) { printError($0) }
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}
