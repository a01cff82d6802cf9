import Kernels
import Tokenizers

/// Why generation stopped.
public enum StopReason: String, Sendable {
    /// The model produced `<|endoftext|>` (kept as the last id, as transformers' generate keeps it).
    case endOfText = "eos"
    /// `maxNewTokens` were produced.
    case maxNewTokens = "length"
    /// The context is full: prompt + new tokens reached the model's positions.
    case context
}

/// Problems with a prompt.
public enum GenerationError: Error, CustomStringConvertible, Sendable, Equatable {
    case promptTooLong(tokens: Int, context: Int)

    public var description: String {
        switch self {
        case .promptTooLong(let tokens, let context):
            return "the prompt is \(tokens) tokens, more than the model's context of \(context) minus one for a new token; "
                + "shorten it, or truncate it on the left to its last \(context - 1) tokens"
        }
    }
}

/// Continues prompts with a GPT-2: the prompt in one prefill, then one token at a time against the
/// KV cache, each chosen by the `Sampler`, until `<|endoftext|>`, `maxNewTokens` or a full context.
public final class TextGenerator: @unchecked Sendable {
    public let model: GPT2
    public let tokenizer: Tokenizer

    public init(model: GPT2, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads the model (its products in `precision`) and tokenizer of a GPT-2 directory or GGUF file.
    public convenience init(path: String, precision: Precision = .f32) throws {
        let source = try ModelSource(path: path)
        try self.init(model: GPT2(source: source, precision: precision), tokenizer: source.tokenizer())
    }

    /// The prompt's token ids: empty text starts from `<|endoftext|>`, as transformers' generate
    /// starts from the BOS token. A prompt that leaves no room for a new token is an error, or
    /// loses its first tokens with `truncateLeft` (`dropped` counts them).
    public func promptIds(_ text: String, truncateLeft: Bool = false) throws -> (ids: [Int32], dropped: Int) {
        var ids = tokenizer.encodeIDs(text, addSpecialTokens: false)
        if ids.isEmpty { ids = [model.config.endOfText] }
        let dropped = max(0, ids.count - (model.config.maxPositions - 1))
        if dropped > 0 {
            guard truncateLeft else { throw GenerationError.promptTooLong(tokens: ids.count, context: model.config.maxPositions) }
            ids.removeFirst(dropped)
        }
        return (ids, dropped)
    }

    /// New token ids after `prompt` (at most `maxNewTokens`), and why generation stopped;
    /// `onToken` sees each id as it is chosen.
    public func generate(_ prompt: [Int32], maxNewTokens: Int, sampling: SamplingSettings, threads: Int = 1,
                         onToken: (Int32) -> Void = { _ in }) -> (ids: [Int32], stop: StopReason) {
        precondition(!prompt.isEmpty && prompt.count < model.config.maxPositions, "generate: the prompt must leave room for a token")
        guard maxNewTokens > 0 else { return ([], .maxNewTokens) }
        let cache = KVCache(for: model.config)
        var sampler = Sampler(sampling)
        var logits = model.logits(prompt, cache: cache, threads: threads)
        var new: [Int32] = []
        while true {
            let next = sampler.next(logits)
            new.append(next)
            onToken(next)
            if next == model.config.endOfText { return (new, .endOfText) }
            if new.count == maxNewTokens { return (new, .maxNewTokens) }
            if cache.remaining == 0 { return (new, .context) }
            logits = model.logits([next], cache: cache, threads: threads)
        }
    }
}
